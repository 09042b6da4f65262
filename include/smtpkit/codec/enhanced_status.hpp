// smtpkit codec: enhanced mail system status codes ("class.subject.detail", e.g. 5.1.1).
// RFC 3463 section 2 (syntax), RFC 2034 section 4 (placement in SMTP reply text), RFC 5248.
//
// Rules:
//  1. A status is valid when class is 2, 4 or 5 and subject and detail are 0..999. Only valid
//     statuses are parsed, compared with a reply code or written.
//  2. Parsing is strict: each field is 1 to 3 digits without a leading zero (so "0" but never
//     "00" or "01"); nothing else may appear in the string parsed.
//  3. A status belongs to a reply only when its class equals the reply code's first digit
//     (RFC 3463 2: the class "is the same as the first digit of the reply code").
//  4. Nothing here allocates or throws.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>  // size_t
#include <cstdint>  // uint8_t, uint16_t
#include <smtpkit/core/buffer.hpp>
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>
#include <smtpkit/core/result.hpp>
#include <string_view>   // string_view
#include <system_error>  // error_code

SMTPKIT_NAMESPACE_BEGIN

/// An RFC 3463 enhanced status code, e.g. {5, 1, 1} for "5.1.1".
struct enhanced_status {
  std::uint8_t cls = 0;       ///< class: 2 (success), 4 (persistent transient), 5 (permanent)
  std::uint16_t subject = 0;  ///< subject, 0..999
  std::uint16_t detail = 0;   ///< detail, 0..999

  /// Returns true when the class is 2, 4 or 5 and subject and detail are at most 999.
  constexpr bool valid() const noexcept {
    return (cls == 2 || cls == 4 || cls == 5) && subject <= 999 && detail <= 999;
  }
  friend constexpr bool operator==(enhanced_status a, enhanced_status b) noexcept {
    return a.cls == b.cls && a.subject == b.subject && a.detail == b.detail;
  }
  friend constexpr bool operator!=(enhanced_status a, enhanced_status b) noexcept {
    return !(a == b);
  }
};

/// The longest text form of a status: "5.999.999".
inline constexpr std::size_t enhanced_status_max_size = 9;

namespace detail {

/// Reads 1 to 3 digits without a leading zero at s[i]. Returns the value, or -1.
constexpr int read_status_field(std::string_view s, std::size_t& i) noexcept {
  const std::size_t start = i;
  int v = 0;
  while (i < s.size() && i - start < 4 && s[i] >= '0' && s[i] <= '9') {
    v = v * 10 + (s[i] - '0');
    ++i;
  }
  const std::size_t n = i - start;
  if (n == 0 || n > 3) return -1;
  if (n > 1 && s[start] == '0') return -1;
  return v;
}

/// A status read from the start of a text, packed in one integer so that hot loops keep it in
/// a register: bits 0-7 its length (0 when there is none), 8-15 class, 16-31 subject, 32-47
/// detail.
using packed_status = std::uint64_t;

constexpr std::size_t packed_size(packed_status p) noexcept {
  return static_cast<std::size_t>(p & 0xff);
}
constexpr enhanced_status unpack_status(packed_status p) noexcept {
  return enhanced_status{static_cast<std::uint8_t>(p >> 8), static_cast<std::uint16_t>(p >> 16),
                         static_cast<std::uint16_t>(p >> 32)};
}

/// Reads a status at the start of @p s; see parse_enhanced_status_prefix().
constexpr packed_status read_status_prefix(std::string_view s) noexcept {
  if (s.size() < 5) return 0;
  const char c = s[0];
  if ((c != '2' && c != '4' && c != '5') || s[1] != '.') return 0;
  std::size_t i = 2;
  const int subject = read_status_field(s, i);
  if (subject < 0 || i >= s.size() || s[i] != '.') return 0;
  ++i;
  const int det = read_status_field(s, i);
  if (det < 0) return 0;
  return i | static_cast<packed_status>(c - '0') << 8 | static_cast<packed_status>(subject) << 16 |
         static_cast<packed_status>(det) << 32;
}

}  // namespace detail

/// Parses an enhanced status code at the start of @p s.
/// Returns the number of characters it takes (5 to 9), or 0 when @p s does not start with a
/// well-formed status. The character after the status (if any) is not examined, except that a
/// fourth digit in subject or detail makes the whole prefix malformed.
/// @param s text that may start with "class.subject.detail".
/// @param out receives the status when the return value is not 0.
constexpr std::size_t parse_enhanced_status_prefix(std::string_view s,
                                                   enhanced_status& out) noexcept {
  const detail::packed_status p = detail::read_status_prefix(s);
  if (p != 0) out = detail::unpack_status(p);
  return detail::packed_size(p);
}

/// Parses a whole string as an RFC 3463 status-code.
/// @code
/// status-code = class "." subject "." detail
/// class       = "2" / "4" / "5"
/// subject     = 1*3digit
/// detail      = 1*3digit
/// @endcode
/// Leading zeros are refused ("0" is fine, "00" and "01" are not).
/// @return the status, or errc::bad_enhanced_status when @p s is anything else.
constexpr result<enhanced_status> parse_enhanced_status(std::string_view s) noexcept {
  const detail::packed_status p = detail::read_status_prefix(s);
  if (p == 0 || detail::packed_size(p) != s.size()) return errc::bad_enhanced_status;
  return detail::unpack_status(p);
}

/// Returns true when @p st is valid and its class equals the first digit of @p reply_code
/// (RFC 3463 2). A 3xx code matches no status.
constexpr bool class_matches(enhanced_status st, int reply_code) noexcept {
  return st.valid() && reply_code >= 200 && reply_code <= 599 && st.cls == reply_code / 100;
}

/// Formats @p st as "class.subject.detail" into @p out.
/// @pre st.valid(); @p out has room for enhanced_status_max_size characters.
/// @return the number of characters written (5 to 9).
constexpr std::size_t format_enhanced_status(enhanced_status st, char* out) noexcept {
  std::size_t n = 0;
  out[n++] = static_cast<char>('0' + st.cls);
  out[n++] = '.';
  for (int pass = 0; pass < 2; ++pass) {
    const unsigned v = pass == 0 ? st.subject : st.detail;
    if (v >= 100) out[n++] = static_cast<char>('0' + v / 100);
    if (v >= 10) out[n++] = static_cast<char>('0' + v / 10 % 10);
    out[n++] = static_cast<char>('0' + v % 10);
    if (pass == 0) out[n++] = '.';
  }
  return n;
}

/// Appends @p st as "class.subject.detail" to @p out.
/// @return an empty error_code; errc::invalid_argument when @p st is not valid;
///         errc::output_full when it does not fit (nothing is appended on error).
inline std::error_code write_enhanced_status(byte_writer& out, enhanced_status st) noexcept {
  if (!st.valid()) return errc::invalid_argument;
  char buf[enhanced_status_max_size];
  const std::size_t n = format_enhanced_status(st, buf);
  if (!out.append(std::string_view(buf, n))) return errc::output_full;
  return {};
}

SMTPKIT_NAMESPACE_END
