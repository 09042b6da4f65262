// smtpkit codec internals: the octet classes shared by the codec parsers (path, command and
// ESMTP parameter scanners): one 256-entry table, one load per octet. RFC 5321 4.1.2 (atext,
// qtextSMTP, dcontent, Let-dig, Ldh-str, esmtp-value), RFC 3461 4 (xchar), RFC 5234 (HEXDIG).
//
// Rules:
//  1. Each class is one bit of a 16-bit entry; cls(c) returns every class of an octet.
//  2. The table is built at compile time; it holds no state.
//  3. Scanners return errc values; no_error is success.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>  // uint16_t
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>  // errc

SMTPKIT_NAMESPACE_BEGIN
namespace detail {

inline constexpr std::uint16_t cc_atext = 1u << 0;     ///< RFC 5322 atext
inline constexpr std::uint16_t cc_qtext = 1u << 1;     ///< qtextSMTP: %d32-33 / %d35-91 / %d93-126
inline constexpr std::uint16_t cc_dcontent = 1u << 2;  ///< dcontent: %d33-90 / %d94-126
inline constexpr std::uint16_t cc_ldh = 1u << 3;       ///< ALPHA / DIGIT / "-"
inline constexpr std::uint16_t cc_let_dig = 1u << 4;   ///< ALPHA / DIGIT
inline constexpr std::uint16_t cc_value = 1u << 5;     ///< esmtp-value: %d33-60 / %d62-126
inline constexpr std::uint16_t cc_hex = 1u << 6;       ///< HEXDIG, either case
inline constexpr std::uint16_t cc_digit = 1u << 9;     ///< DIGIT
inline constexpr std::uint16_t cc_high = 1u << 10;     ///< an octet >= 0x80
inline constexpr std::uint16_t cc_pair = 1u << 11;     ///< quoted-pairSMTP second octet: %d32-126
inline constexpr std::uint16_t cc_domain_run = 1u << 13;  ///< ALPHA / DIGIT / "-" / "."
inline constexpr std::uint16_t cc_local_run = 1u << 14;   ///< ALPHA / DIGIT / . - _ +
inline constexpr std::uint16_t cc_vchar = 1u << 15;       ///< VCHAR: %d33-126
inline constexpr std::uint16_t cc_xchar = 1u << 12;       ///< RFC 3461 xchar: %d33-126 but "+" "="

struct char_table {
  std::uint16_t cls[256];
};

constexpr char_table make_char_table() noexcept {
  char_table t{};
  for (int c = 0; c < 256; ++c) {
    unsigned f = 0;
    const bool upper = c >= 'A' && c <= 'Z';
    const bool lower = c >= 'a' && c <= 'z';
    const bool digit = c >= '0' && c <= '9';
    if (upper || lower || digit) f |= cc_atext | cc_ldh | cc_let_dig;
    if (digit) f |= cc_digit;
    if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) f |= cc_hex;
    if (c == '-') f |= cc_ldh;
    switch (c) {
      case '!':
      case '#':
      case '$':
      case '%':
      case '&':
      case '\'':
      case '*':
      case '+':
      case '-':
      case '/':
      case '=':
      case '?':
      case '^':
      case '_':
      case '`':
      case '{':
      case '|':
      case '}':
      case '~':
        f |= cc_atext;
        break;
      default:
        break;
    }
    if ((c >= 32 && c <= 33) || (c >= 35 && c <= 91) || (c >= 93 && c <= 126)) f |= cc_qtext;
    if ((c >= 33 && c <= 90) || (c >= 94 && c <= 126)) f |= cc_dcontent;
    if ((c >= 33 && c <= 60) || (c >= 62 && c <= 126)) f |= cc_value;
    if (c >= 32 && c <= 126) f |= cc_pair;
    if (c >= 33 && c <= 126 && c != '+' && c != '=') f |= cc_xchar;
    if (upper || lower || digit || c == '-' || c == '.') f |= cc_domain_run;
    if (upper || lower || digit || c == '-' || c == '.' || c == '_' || c == '+') f |= cc_local_run;
    if (c >= 33 && c <= 126) f |= cc_vchar;
    if (c >= 0x80) f |= cc_high;
    t.cls[c] = static_cast<std::uint16_t>(f);
  }
  return t;
}

inline constexpr char_table char_classes = make_char_table();

/// Returns the class bits of octet @p c.
constexpr std::uint16_t cls(char c) noexcept {
  return char_classes.cls[static_cast<unsigned char>(c)];
}

/// The "no error" value of errc (no enumerator has the value 0).
inline constexpr errc no_error = errc{};

}  // namespace detail
SMTPKIT_NAMESPACE_END
