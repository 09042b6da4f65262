// smtpkit codec internals: the checks of the xtext, ORCPT and AUTH= values of the ESMTP
// parameters smtpkit knows. RFC 3461 4 (xtext), 4.2 (ORCPT), RFC 6533 3 (utf-8 addr-type),
// RFC 4954 5 (AUTH=).
//
// Rules:
//  1. Each scan_* function starts at a value and, on success, leaves its pointer at the end
//     of the value; on failure it returns errc::bad_parameter, or errc::bad_xtext /
//     errc::bad_utf8 where that is what is wrong.
//  2. ORCPT's address is checked beyond its syntax: for an addr-type other than "utf-8" every
//     hexchar decodes to printable US-ASCII, %x20-7E (RFC 3461 4.2); for "utf-8" each
//     "\x{...}" is an RFC 6533 HEXPOINT.
//  3. AUTH='s mailbox is checked against the limits: in place when it has no hexchar,
//     otherwise decoded into a stack buffer (max_auth_path); nothing allocates.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>                              // size_t
#include <smtpkit/codec/detail/char_class.hpp>  // cls, cc_xchar, no_error
#include <smtpkit/codec/detail/utf8.hpp>        // utf8_length
#include <smtpkit/codec/path.hpp>               // parse_mailbox
#include <smtpkit/codec/xtext.hpp>              // xtext_decode, xtext_decoded_size
#include <smtpkit/core/bytes.hpp>               // detail::find_byte, ascii::hex_value
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>   // errc
#include <smtpkit/core/limits.hpp>  // limits
#include <smtpkit/core/result.hpp>  // result
#include <string_view>              // string_view

SMTPKIT_NAMESPACE_BEGIN
namespace detail {

/// Case-insensitive compare of a value with a lower-case literal of letters, digits and "-".
inline bool value_is(std::string_view v, std::string_view lower_lit) noexcept {
  if (v.size() != lower_lit.size()) return false;
  for (std::size_t i = 0; i < v.size(); ++i)
    if ((v[i] | 0x20) != lower_lit[i]) return false;
  return true;
}

/// Returns true when @p p is at the end of a parameter (SP or the end of the text).
constexpr bool at_param_end(const char* p, const char* end) noexcept {
  return p == end || *p == ' ';
}

/// Scans an xtext run at @p p up to the first octet that is neither an xchar nor a hexchar.
/// Returns errc::bad_xtext for a "+" not followed by two upper-case hex digits.
inline errc scan_xtext(const char*& p, const char* end) noexcept {
  const char* q = p;
  errc e = no_error;
  for (;;) {
    while (q < end && (cls(*q) & cc_xchar)) ++q;
    if (q == end || *q != '+') break;
    if (end - q < 3 || !(xtext_class(q[1]) & 2u) || !(xtext_class(q[2]) & 2u)) {
      e = errc::bad_xtext;
      break;
    }
    q += 3;
  }
  p = q;
  return e;
}

/// Returns the error for an xtext-valued parameter that stopped at @p p before its end: an
/// octet esmtp-value allows but xtext does not is errc::bad_xtext, anything else
/// errc::bad_parameter.
inline errc xtext_end_error(const char* p) noexcept {
  return (cls(*p) & (cc_value | cc_high)) ? errc::bad_xtext : errc::bad_parameter;
}

/// Scans the xtext of an ORCPT address of any addr-type but "utf-8" at @p p, as scan_xtext;
/// every hexchar must also decode to printable US-ASCII, %x20-7E (RFC 3461 4.2: the address
/// "MUST consist entirely of printable (graphic and white space) characters from the US-ASCII
/// repertoire"), errc::bad_parameter otherwise.
inline errc scan_orcpt_xtext(const char*& p, const char* end) noexcept {
  const char* const s = p;
  const errc e = scan_xtext(p, end);
  if (e != no_error) return e;
  // scan_xtext passed every "+" in [s, p) with two upper-case hex digits after it.
  for (std::size_t i = find_byte(std::string_view(s, static_cast<std::size_t>(p - s)), '+');
       i != std::string_view::npos;
       i = find_byte(std::string_view(s, static_cast<std::size_t>(p - s)), '+', i + 3)) {
    const unsigned v = xtext_hex_value(s[i + 1]) * 16 + xtext_hex_value(s[i + 2]);
    if (v < 0x20 || v > 0x7e) return errc::bad_parameter;
  }
  return no_error;
}

/// Returns true when the @p n hex digits at @p h are an RFC 6533 HEXPOINT: no leading zero
/// (except the 2-digit forms), no surrogate, at most U+10FFFF, never U+0000, and of the ASCII
/// range only what QCHAR cannot carry.
/// @code
/// HEXPOINT = ( ( "0"/"1" ) %x31-39 ) / "10" / "20" /
///            "2B" / "3D" / "7F" /         ; all xtext-specials
///            "5C" / (HEXDIG8 HEXDIG) /    ; 2-digit forms
///            ( NZHEXDIG 2(HEXDIG) ) /     ; 3-digit forms
///            ( NZDHEXDIG 3(HEXDIG) ) /    ; 4-digit forms excluding
///            ( "D" %x30-37 2(HEXDIG) ) /  ; ... surrogate
///            ( NZHEXDIG 4(HEXDIG) ) /     ; 5-digit forms
///            ( "10" 4*HEXDIG )            ; 6-digit forms
/// @endcode
/// @pre the @p n octets at @p h are HEXDIG (either case, RFC 5234 2.3).
constexpr bool is_hexpoint(const char* h, std::size_t n) noexcept {
  const char c0 = ascii::to_upper(h[0]);
  const char c1 = ascii::to_upper(h[1]);
  switch (n) {
    case 2: {
      if ((c0 == '0' || c0 == '1') && c1 >= '1' && c1 <= '9') return true;
      const int v = ascii::hex_value(c0) * 16 + ascii::hex_value(c1);
      return v == 0x10 || v == 0x20 || v == 0x2B || v == 0x3D || v == 0x7F || v == 0x5C ||
             v >= 0x80;
    }
    case 3:
    case 5:
      return c0 != '0';
    case 4:
      return c0 != '0' && (c0 != 'D' || (c1 >= '0' && c1 <= '7'));
    case 6:
      return c0 == '1' && c1 == '0';
    default:
      return false;
  }
}

/// Checks an RFC 6533 utf-8-addr-xtext / utf-8-addr-unitext at @p p: 1*( QCHAR /
/// UTF8-non-ascii / "\x{" HEXPOINT "}" ), QCHAR = %x21-2a / %x2c-3c / %x3e-5b / %x5d-7e.
/// On success @p p is at the end of the parameter.
inline errc scan_utf8_addr(const char*& p, const char* end) noexcept {
  const char* q = p;
  while (q < end && *q != ' ') {
    const char c = *q;
    if (c >= 0x21 && c <= 0x7e && c != '+' && c != '=' && c != '\\') {
      ++q;
    } else if (c == '\\') {
      if (end - q < 5 || q[1] != 'x' || q[2] != '{') return errc::bad_parameter;
      q += 3;
      const char* const h = q;
      while (q < end && (cls(*q) & cc_hex)) ++q;
      if (q - h < 2 || q - h > 6 || q == end || *q != '}' ||
          !is_hexpoint(h, static_cast<std::size_t>(q - h)))
        return errc::bad_parameter;
      ++q;
    } else if (cls(c) & cc_high) {
      const std::size_t n = utf8_length(q, end);
      if (n == 0) return errc::bad_utf8;
      q += n;
    } else {
      return errc::bad_parameter;
    }
  }
  if (q == p) return errc::bad_parameter;
  p = q;
  return no_error;
}

/// Checks an ORCPT value at @p p: addr-type ";" xtext, addr-type = atom, the address not
/// empty; for addr-type "utf-8", the address as RFC 6533 specifies. On success @p p is past
/// it and @p type / @p address view its two parts.
inline errc scan_orcpt(const char*& p, const char* end, std::string_view& type,
                       std::string_view& address) noexcept {
  const char* q = p;
  while (q < end && (cls(*q) & cc_atext) && *q != '=') ++q;
  if (q == p || q == end || *q != ';') return errc::bad_parameter;
  type = std::string_view(p, static_cast<std::size_t>(q - p));
  const char* const a = ++q;
  if (value_is(type, "utf-8")) {
    const errc e = scan_utf8_addr(q, end);
    if (e != no_error) return e;
  } else {
    const errc e = scan_orcpt_xtext(q, end);
    if (e != no_error) return e;
    if (!at_param_end(q, end)) return xtext_end_error(q);
    if (q == a) return errc::bad_parameter;
  }
  address = std::string_view(a, static_cast<std::size_t>(q - a));
  p = q;
  return no_error;
}

/// The largest limits::path honoured for an AUTH= mailbox that holds hexchars: such a mailbox
/// is decoded into a stack buffer of max_auth_path - 2 octets (no allocation). A larger
/// limits::path counts as this value there; a mailbox without hexchars is checked in place,
/// against limits::path as it is.
inline constexpr std::size_t max_auth_path = 4096;

/// Checks a decoded AUTH= value: the xtext @p v decodes to a Mailbox within @p lim (a Mailbox
/// inside a Path: its size + 2 is at most lim.path, and at most max_auth_path).
inline errc check_auth_mailbox(std::string_view v, const limits& lim) noexcept {
  if (find_byte(v, '+') == std::string_view::npos)  // xchar only: the text is the mailbox
    return parse_mailbox(v, lim) ? no_error : errc::bad_parameter;
  const std::size_t path = lim.path < max_auth_path ? lim.path : max_auth_path;
  const std::size_t n = xtext_decoded_size(v);
  if (n == std::string_view::npos) return errc::bad_xtext;
  if (path < 2 || n > path - 2) return errc::bad_parameter;
  char buf[max_auth_path - 2];
  const result<std::size_t> d = xtext_decode(v, buf, sizeof buf);
  if (!d) return d.error() == errc::bad_xtext ? errc::bad_xtext : errc::bad_parameter;
  return parse_mailbox(std::string_view(buf, *d), lim) ? no_error : errc::bad_parameter;
}

/// Checks an AUTH= value at @p p (RFC 4954 5): "<>" or the xtext encoding of a Mailbox. On
/// success @p p is past it.
inline errc scan_auth(const char*& p, const char* end, const limits& lim) noexcept {
  const char* q = p;
  if (end - q >= 2 && q[0] == '<' && q[1] == '>') {
    q += 2;
    if (!at_param_end(q, end)) return errc::bad_parameter;
    p = q;
    return no_error;
  }
  const errc e = scan_xtext(q, end);
  if (e != no_error) return e;
  if (!at_param_end(q, end)) return xtext_end_error(q);
  if (q == p) return errc::bad_parameter;
  const errc m = check_auth_mailbox(std::string_view(p, static_cast<std::size_t>(q - p)), lim);
  if (m != no_error) return m;
  p = q;
  return no_error;
}

}  // namespace detail
SMTPKIT_NAMESPACE_END
