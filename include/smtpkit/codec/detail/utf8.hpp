// smtpkit codec internals: the check of one UTF-8 sequence, as RFC 6531 3.3 admits in
// atoms, quoted strings, domain labels and esmtp-values. RFC 3629 4 (UTF8-non-ascii).
//
// Rules:
//  1. Only well-formed sequences pass: no overlong forms, no surrogates, nothing above
//     U+10FFFF, nothing truncated by the end of the input.
//  2. Reads never go past the end given.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>  // size_t
#include <smtpkit/core/config.hpp>

SMTPKIT_NAMESPACE_BEGIN
namespace detail {

/// Returns the length (2 to 4) of the well-formed UTF8-non-ascii sequence at @p p (RFC 3629
/// section 4), or 0 when it is ill-formed (overlong, surrogate, above U+10FFFF, truncated).
inline std::size_t utf8_length(const char* p, const char* end) noexcept {
  const auto b0 = static_cast<unsigned char>(p[0]);
  const auto avail = static_cast<std::size_t>(end - p);
  auto cont = [](char c) { return (static_cast<unsigned char>(c) & 0xC0u) == 0x80u; };
  if (b0 < 0xC2) return 0;
  if (b0 < 0xE0) return avail >= 2 && cont(p[1]) ? 2 : 0;
  if (b0 < 0xF0) {
    if (avail < 3) return 0;
    const auto b1 = static_cast<unsigned char>(p[1]);
    const unsigned lo = b0 == 0xE0 ? 0xA0u : 0x80u;
    const unsigned hi = b0 == 0xED ? 0x9Fu : 0xBFu;
    return b1 >= lo && b1 <= hi && cont(p[2]) ? 3 : 0;
  }
  if (b0 < 0xF5) {
    if (avail < 4) return 0;
    const auto b1 = static_cast<unsigned char>(p[1]);
    const unsigned lo = b0 == 0xF0 ? 0x90u : 0x80u;
    const unsigned hi = b0 == 0xF4 ? 0x8Fu : 0xBFu;
    return b1 >= lo && b1 <= hi && cont(p[2]) && cont(p[3]) ? 4 : 0;
  }
  return 0;
}

}  // namespace detail
SMTPKIT_NAMESPACE_END
