// smtpkit codec: xtext, the encoding of DSN and AUTH= parameter values. RFC 3461 section 4
// (used by RFC 3461 ENVID and ORCPT, and by RFC 4954 section 5 AUTH=).
//
//   xtext   = *( xchar / hexchar )
//   xchar   = any ASCII CHAR between "!" (33) and "~" (126) inclusive, except for "+" and "="
//   hexchar = ASCII "+" immediately followed by two upper case hexadecimal digits
//
// Rules:
//  1. Decoding is strict: a "+" must be followed by two UPPER-case hex digits, and every other
//     octet must be an xchar. Anything else is errc::bad_xtext.
//  2. Encoding never fails on content: every octet that is not an xchar becomes "+XX" (upper
//     case), so xtext_decode(xtext_encode(b)) == b for every byte string b, and the encoder's
//     output is the shortest xtext for b.
//  3. Nothing allocates. Output goes into a byte_writer or a caller buffer; a failed call
//     leaves the output as it was.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>                  // size_t
#include <cstdint>                  // uint8_t
#include <smtpkit/core/buffer.hpp>  // byte_writer
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>   // errc, make_error_code
#include <smtpkit/core/result.hpp>  // result
#include <string_view>              // string_view
#include <system_error>             // error_code

SMTPKIT_NAMESPACE_BEGIN

namespace detail {

/// xtext octet classes: 1 = xchar, 2 = upper-case hex digit (0-9, A-F).
struct xtext_table {
  std::uint8_t cls[256];
};

constexpr xtext_table make_xtext_table() noexcept {
  xtext_table t{};
  for (int c = 0; c < 256; ++c) {
    std::uint8_t v = 0;
    if (c >= 33 && c <= 126 && c != '+' && c != '=') v = static_cast<std::uint8_t>(v | 1u);
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')) v = static_cast<std::uint8_t>(v | 2u);
    t.cls[c] = v;
  }
  return t;
}

inline constexpr xtext_table xtext_classes = make_xtext_table();
inline constexpr char xtext_hex_digits[] = "0123456789ABCDEF";

constexpr std::uint8_t xtext_class(char c) noexcept {
  return xtext_classes.cls[static_cast<unsigned char>(c)];
}
constexpr unsigned xtext_hex_value(char c) noexcept {
  return c <= '9' ? static_cast<unsigned>(c - '0') : static_cast<unsigned>(c - 'A' + 10);
}

/// Returns the decoded size of @p s, or npos when @p s is not xtext.
constexpr std::size_t xtext_scan(std::string_view s) noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); ++n) {
    const char c = s[i];
    if (xtext_class(c) & 1u) {
      ++i;
    } else if (c == '+' && s.size() - i >= 3 && (xtext_class(s[i + 1]) & 2u) &&
               (xtext_class(s[i + 2]) & 2u)) {
      i += 3;
    } else {
      return std::string_view::npos;
    }
  }
  return n;
}

}  // namespace detail

/// Returns true when @p c is an xchar (RFC 3461 4): "!" to "~" except "+" and "=".
constexpr bool is_xchar(char c) noexcept {
  return (detail::xtext_class(c) & 1u) != 0;
}

/// Returns true when @p s is xtext (RFC 3461 4), strictly: "+" followed by two upper-case hex
/// digits, every other octet an xchar. The empty string is xtext.
constexpr bool is_xtext(std::string_view s) noexcept {
  return detail::xtext_scan(s) != std::string_view::npos;
}

/// Returns the number of octets xtext_decode() produces from @p s.
/// @pre is_xtext(s); otherwise returns std::string_view::npos.
constexpr std::size_t xtext_decoded_size(std::string_view s) noexcept {
  return detail::xtext_scan(s);
}

/// Returns the number of octets xtext_encode() produces from @p raw.
constexpr std::size_t xtext_encoded_size(std::string_view raw) noexcept {
  std::size_t n = 0;
  for (char c : raw) n += is_xchar(c) ? 1u : 3u;
  return n;
}

/// Decodes the xtext @p in into @p buf (capacity @p cap).
/// @return the number of octets written, or errc::bad_xtext (malformed input) or
///         errc::output_full (the decoded form does not fit; nothing is written).
inline result<std::size_t> xtext_decode(std::string_view in, char* buf, std::size_t cap) noexcept {
  const std::size_t n = detail::xtext_scan(in);
  if (n == std::string_view::npos) return errc::bad_xtext;
  if (n > cap) return errc::output_full;
  std::size_t o = 0;
  for (std::size_t i = 0; i < in.size(); ++o) {
    if (in[i] == '+') {
      buf[o] = static_cast<char>((detail::xtext_hex_value(in[i + 1]) << 4) |
                                 detail::xtext_hex_value(in[i + 2]));
      i += 3;
    } else {
      buf[o] = in[i++];
    }
  }
  return o;
}

/// Decodes the xtext @p in and appends the octets to @p out.
/// @return an empty error_code, errc::bad_xtext (malformed input) or errc::output_full (the
///         decoded form does not fit). On error nothing is appended.
inline std::error_code xtext_decode(std::string_view in, byte_writer& out) noexcept {
  const std::size_t n = detail::xtext_scan(in);
  if (n == std::string_view::npos) return make_error_code(errc::bad_xtext);
  if (n > out.space()) return make_error_code(errc::output_full);
  for (std::size_t i = 0; i < in.size();) {
    if (in[i] == '+') {
      out.push(static_cast<char>((detail::xtext_hex_value(in[i + 1]) << 4) |
                                 detail::xtext_hex_value(in[i + 2])));
      i += 3;
    } else {
      out.push(in[i++]);
    }
  }
  return {};
}

/// Encodes any octets @p raw as xtext into @p buf (capacity @p cap): xchars are copied, every
/// other octet becomes "+XX" with upper-case hex.
/// @return the number of octets written, or errc::output_full (nothing is written).
inline result<std::size_t> xtext_encode(std::string_view raw, char* buf, std::size_t cap) noexcept {
  if (xtext_encoded_size(raw) > cap) return errc::output_full;
  std::size_t o = 0;
  for (char c : raw) {
    if (is_xchar(c)) {
      buf[o++] = c;
    } else {
      const auto u = static_cast<unsigned char>(c);
      buf[o++] = '+';
      buf[o++] = detail::xtext_hex_digits[u >> 4];
      buf[o++] = detail::xtext_hex_digits[u & 15u];
    }
  }
  return o;
}

/// Encodes any octets @p raw as xtext and appends them to @p out.
/// @return an empty error_code, or errc::output_full (nothing is appended).
inline std::error_code xtext_encode(std::string_view raw, byte_writer& out) noexcept {
  if (xtext_encoded_size(raw) > out.space()) return make_error_code(errc::output_full);
  for (char c : raw) {
    if (is_xchar(c)) {
      out.push(c);
    } else {
      const auto u = static_cast<unsigned char>(c);
      out.push('+');
      out.push(detail::xtext_hex_digits[u >> 4]);
      out.push(detail::xtext_hex_digits[u & 15u]);
    }
  }
  return {};
}

SMTPKIT_NAMESPACE_END
