// smtpkit codec internals: the IPv4 and IPv6 forms of an address literal. RFC 5321 4.1.3
// (IPv4-address-literal, IPv6-addr: IPv6-full, IPv6-comp, IPv6v4-full, IPv6v4-comp).
//
// Rules:
//  1. The checks take the text inside the brackets, after any "IPv6:" tag, and only say
//     whether it matches; they neither allocate nor convert.
//  2. Strict RFC 5321 grammar: Snum is 1*3DIGIT of at most 255 (leading zeros allowed, as
//     the grammar allows them); IPv6 groups are 1*4HEXDIG, "::" at most once.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>                              // size_t
#include <smtpkit/codec/detail/char_class.hpp>  // cls, cc_hex
#include <smtpkit/core/config.hpp>
#include <string_view>  // string_view

SMTPKIT_NAMESPACE_BEGIN
namespace detail {

/// Returns true when @p s is an IPv4-address-literal: Snum 3("." Snum), Snum = 1*3DIGIT <= 255.
constexpr bool is_ipv4_literal(std::string_view s) noexcept {
  std::size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part != 0) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
    unsigned v = 0;
    std::size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && digits < 3) {
      v = v * 10 + static_cast<unsigned>(s[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || v > 255) return false;
  }
  return i == s.size();
}

/// Returns true when @p s is an IPv6-addr of RFC 5321 4.1.3: IPv6-full, IPv6-comp (at most 6
/// groups besides "::"), IPv6v4-full or IPv6v4-comp (at most 4 groups besides "::").
constexpr bool is_ipv6_addr(std::string_view s) noexcept {
  const std::size_t n = s.size();
  std::size_t i = 0;
  std::size_t groups = 0;
  bool compressed = false;
  bool v4 = false;
  if (n >= 2 && s[0] == ':' && s[1] == ':') {
    compressed = true;
    i = 2;
  } else if (n == 0 || s[0] == ':') {
    return false;
  }
  while (i < n) {
    std::size_t k = i;
    bool dotted = false;
    while (k < n && s[k] != ':') {
      if (s[k] == '.') dotted = true;
      ++k;
    }
    const std::string_view token = s.substr(i, k - i);
    if (dotted) {
      if (k != n || !is_ipv4_literal(token)) return false;
      v4 = true;
      break;
    }
    if (token.empty() || token.size() > 4) return false;
    for (char c : token)
      if (!(cls(c) & cc_hex)) return false;
    ++groups;
    if (k == n) break;
    if (k + 1 < n && s[k + 1] == ':') {
      if (compressed) return false;
      compressed = true;
      i = k + 2;
    } else {
      i = k + 1;
      if (i == n) return false;
    }
  }
  if (v4) return compressed ? groups <= 4 : groups == 6;
  return compressed ? groups <= 6 : groups == 8;
}

}  // namespace detail
SMTPKIT_NAMESPACE_END
