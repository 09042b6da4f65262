// smtpkit client: text from the server made safe to show on a terminal or in a log line. Reply
// text is the server's to choose (RFC 5321 4.2 textstring; RFC 6531 allows UTF-8), and a
// terminal acts on control characters (escape sequences, C1 controls such as CSI, bidi
// overrides that reorder what is shown), so the tools never print it raw.
//
// Rules:
//  1. Printable ASCII (SP to '~') and well-formed UTF-8 (RFC 3629) are kept, except the code
//     points below, and the backslash, which is doubled so that the output reads back without
//     ambiguity.
//  2. CR, LF and HT become "\r", "\n" and "\t"; every other C0 control, DEL, and every octet
//     that is not part of well-formed UTF-8 becomes "\xNN" (upper-case hex).
//  3. C1 controls (U+0080-U+009F), the line and paragraph separators (U+2028, U+2029) and the
//     bidirectional controls (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) become
//     "\uXXXX".
//  4. Output goes into a byte_writer; an input character is escaped whole or not at all.
//  5. Nothing here allocates or throws.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>                 // size_t
#include <cstdint>                 // uint32_t
#include <smtpkit/codec/path.hpp>  // detail::utf8_length
#include <smtpkit/core/buffer.hpp>
#include <smtpkit/core/config.hpp>
#include <string_view>  // string_view

SMTPKIT_NAMESPACE_BEGIN

namespace detail {

/// Returns the code point of the well-formed UTF-8 sequence of @p n octets at @p p.
constexpr std::uint32_t utf8_code_point(const char* p, std::size_t n) noexcept {
  auto b = [p](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(p[i]));
  };
  if (n == 2) return (b(0) & 0x1Fu) << 6 | (b(1) & 0x3Fu);
  if (n == 3) return (b(0) & 0x0Fu) << 12 | (b(1) & 0x3Fu) << 6 | (b(2) & 0x3Fu);
  return (b(0) & 0x07u) << 18 | (b(1) & 0x3Fu) << 12 | (b(2) & 0x3Fu) << 6 | (b(3) & 0x3Fu);
}

/// Returns true for the code points of rule 3.
constexpr bool is_display_control(std::uint32_t cp) noexcept {
  return (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

inline constexpr char display_hex[] = "0123456789ABCDEF";

}  // namespace detail

/// Returns the most octets escape_for_display() can write for @p n input octets (every octet
/// written as "\xNN").
constexpr std::size_t escaped_size_max(std::size_t n) noexcept {
  return n * 4;
}

/// Appends @p text to @p out with the escapes of the rules at the top of this file.
/// @return how many octets of @p text were written, whole characters only: all of them, or
///         fewer when @p out is full (give it more room and pass the rest again).
inline std::size_t escape_for_display(std::string_view text, byte_writer& out) noexcept {
  const char* const begin = text.data();
  const char* const end = begin + text.size();
  const char* p = begin;
  while (p < end) {
    const auto c = static_cast<unsigned char>(*p);
    if (c >= 0x20 && c < 0x7F) {
      const char* q = p;
      while (q < end && static_cast<unsigned char>(*q) >= 0x20 &&
             static_cast<unsigned char>(*q) < 0x7F && *q != '\\')
        ++q;
      if (q != p) {
        const std::size_t room = out.space();
        const std::size_t n =
            static_cast<std::size_t>(q - p) < room ? static_cast<std::size_t>(q - p) : room;
        out.append(std::string_view(p, n));
        p += n;
        if (p != q) break;
        continue;
      }
      if (!out.append("\\\\")) break;  // *p == '\\'
      ++p;
      continue;
    }
    if (c < 0x80) {
      const char* esc = c == '\r' ? "\\r" : c == '\n' ? "\\n" : c == '\t' ? "\\t" : nullptr;
      if (esc != nullptr) {
        if (!out.append(esc)) break;
      } else {
        const char hex[4] = {'\\', 'x', detail::display_hex[c >> 4], detail::display_hex[c & 15]};
        if (!out.append(std::string_view(hex, 4))) break;
      }
      ++p;
      continue;
    }
    const std::size_t n = detail::utf8_length(p, end);
    if (n == 0) {
      const char hex[4] = {'\\', 'x', detail::display_hex[c >> 4], detail::display_hex[c & 15]};
      if (!out.append(std::string_view(hex, 4))) break;
      ++p;
      continue;
    }
    const std::uint32_t cp = detail::utf8_code_point(p, n);
    if (detail::is_display_control(cp)) {
      const char u[6] = {'\\',
                         'u',
                         detail::display_hex[cp >> 12 & 15],
                         detail::display_hex[cp >> 8 & 15],
                         detail::display_hex[cp >> 4 & 15],
                         detail::display_hex[cp & 15]};
      if (!out.append(std::string_view(u, 6))) break;
    } else if (!out.append(std::string_view(p, n))) {
      break;
    }
    p += n;
  }
  return static_cast<std::size_t>(p - begin);
}

SMTPKIT_NAMESPACE_END
