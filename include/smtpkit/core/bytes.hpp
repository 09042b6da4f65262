// smtpkit core: byte and ASCII helpers shared by every parser and writer.
// RFC 5234 core rules (ALPHA, DIGIT, HEXDIG, VCHAR, WSP) and case-insensitive comparison.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>  // size_t
#include <cstdint>  // uint8_t, uint64_t
#include <cstring>  // memchr
#include <smtpkit/core/config.hpp>
#include <string_view>  // string_view

SMTPKIT_NAMESPACE_BEGIN

namespace ascii {

/// RFC 5234 ALPHA.
constexpr bool is_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
/// RFC 5234 DIGIT.
constexpr bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}
/// ALPHA / DIGIT.
constexpr bool is_alnum(char c) noexcept {
  return is_alpha(c) || is_digit(c);
}
/// RFC 5234 HEXDIG, either case.
constexpr bool is_hex(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
/// RFC 5234 VCHAR (%x21-7E).
constexpr bool is_vchar(char c) noexcept {
  return c >= 0x21 && c <= 0x7e;
}
/// RFC 5234 WSP (SP / HTAB).
constexpr bool is_wsp(char c) noexcept {
  return c == ' ' || c == '\t';
}
/// True for an octet with the high bit set.
constexpr bool is_8bit(char c) noexcept {
  return static_cast<unsigned char>(c) >= 0x80;
}
/// Lowercases an ASCII letter; other octets are returned as they are.
constexpr char to_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
/// Uppercases an ASCII letter; other octets are returned as they are.
constexpr char to_upper(char c) noexcept {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}
/// Value of a hex digit. @pre is_hex(c).
constexpr int hex_value(char c) noexcept {
  return is_digit(c) ? c - '0' : (to_lower(c) - 'a' + 10);
}

/// Returns true when @p a and @p b are equal ignoring ASCII case.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  return true;
}

/// Returns true when @p s starts with @p prefix, ignoring ASCII case.
constexpr bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

/// Returns true when @p s holds a CR, LF or NUL (what no writer may put inside a field).
constexpr bool has_ctl_break(std::string_view s) noexcept {
  for (char c : s)
    if (c == '\r' || c == '\n' || c == '\0') return true;
  return false;
}

/// Parses a decimal number of at most 20 digits without overflow.
/// Returns false on an empty string, a non-digit, or a value over @p max.
constexpr bool parse_uint(std::string_view s, std::uint64_t& out,
                          std::uint64_t max = ~std::uint64_t{0}) noexcept {
  if (s.empty() || s.size() > 20) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (max - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

}  // namespace ascii

namespace detail {
/// Returns the index of the first @p c in @p s at or after @p from, or npos. Uses memchr.
inline std::size_t find_byte(std::string_view s, char c, std::size_t from = 0) noexcept {
  if (from >= s.size()) return std::string_view::npos;
  const void* p = std::memchr(s.data() + from, c, s.size() - from);
  return p ? static_cast<std::size_t>(static_cast<const char*>(p) - s.data())
           : std::string_view::npos;
}
}  // namespace detail

SMTPKIT_NAMESPACE_END
