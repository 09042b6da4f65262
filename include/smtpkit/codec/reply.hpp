// smtpkit codec: SMTP replies. reply_reader parses single and multiline replies incrementally
// (the client side); write_reply() formats them (the server side).
// RFC 5321 4.2 (Reply-line, Reply-code, textstring), 4.2.1 (reply code digits),
// 4.5.3.1.5 (reply line 512 octets), RFC 2034 4 and RFC 3463 2 (enhanced status codes at the
// start of each line's text), RFC 6531 (UTF-8 in reply text).
//
// Rules:
//  1. A reply is zero or more lines "Reply-code '-' [text] CRLF" and one last line
//     "Reply-code [SP [text]] CRLF". Every line of one reply carries the same code
//     (errc::reply_code_mismatch). A code is three digits: 2-5, then 0-5, then 0-9
//     (errc::bad_reply_code). After the code comes '-', SP or CRLF, nothing else (errc::bad_reply).
//  2. Lines end with CRLF and nothing else: a LF not after a CR is errc::bare_lf, a CR not before
//     a LF is errc::bare_cr. Text is HT, SP, printable ASCII and octets 0x80-0xFF (UTF-8 text
//     from RFC 6531 servers, e.g. a UTF-8 address echoed back); NUL is errc::nul_byte, any other
//     control octet or DEL is errc::bad_reply. "250 " followed by CRLF is taken as empty text.
//  3. Bounds: a line, code to CRLF inclusive, is at most max_line octets (RFC 5321 4.5.3.1.5:
//     512; errc::line_too_long, reported as soon as max_line octets hold no CRLF); a reply is at
//     most max_lines lines (errc::reply_too_long). Both are reader constructor arguments, so a
//     reply never needs more than max_lines * max_line octets of the owner's buffer.
//  4. A line is checked left to right and the first fault wins: octets (bare LF/CR, NUL, control
//     octets, length) while framing, then code, separator and code mismatch once the CRLF is
//     found. The outcome does not depend on how the input was split into chunks.
//  5. Errors are sticky: a client cannot resynchronise with a server that breaks the reply
//     syntax, so after an error every read() returns the same error until reset().
//  6. An enhanced status code ("x.y.z" followed by SP or the end of the text) is split from a
//     line's text only when its class equals the reply code's first digit (so never on 3xx).
//     reply::enhanced() is the first line's; reply_line::enhanced each line's own.
//  7. Zero-copy: a reply and its lines are views into the bytes given to read() (or to
//     parse_reply()). The reader keeps offsets, never pointers, between calls.
//  8. write_reply() emits only what the reader accepts, and the reader gives back the same code,
//     enhanced status and line texts (parse(write(x)) == x). On failure it appends nothing.
//  9. Nothing here allocates or throws.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>           // size_t, ptrdiff_t
#include <cstdint>           // uint16_t, uint32_t, uint64_t
#include <cstring>           // memcpy, memchr
#include <initializer_list>  // initializer_list
#include <iterator>          // forward_iterator_tag
#include <optional>          // optional
#include <smtpkit/codec/enhanced_status.hpp>
#include <smtpkit/core/buffer.hpp>
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>
#include <smtpkit/core/limits.hpp>
#include <smtpkit/core/result.hpp>
#include <string_view>   // string_view
#include <system_error>  // error_code

SMTPKIT_NAMESPACE_BEGIN

namespace detail {

/// Finds an enhanced status code at the start of a line's @p text whose class digit is
/// @p class_digit (the reply code's first digit) and which is followed by SP or the end of the
/// text. Returns the status packed, its length counting the SP after it (the octets to drop
/// from the text), or 0 when there is none.
constexpr packed_status split_enhanced_status(std::string_view text, char class_digit) noexcept {
  if (text.size() < 5 || text[0] != class_digit || text[1] != '.') return 0;
  // Fast path for one-digit subject and detail ("2.1.5 Ok"), the common case.
  const auto d2 = static_cast<unsigned>(static_cast<unsigned char>(text[2]) - '0');
  const auto d4 = static_cast<unsigned>(static_cast<unsigned char>(text[4]) - '0');
  if (d2 <= 9 && text[3] == '.' && d4 <= 9 && (text.size() == 5 || text[5] == ' ') &&
      (class_digit == '2' || class_digit == '4' || class_digit == '5')) {
    return (text.size() == 5 ? 5u : 6u) | static_cast<packed_status>(class_digit - '0') << 8 |
           static_cast<packed_status>(d2) << 16 | static_cast<packed_status>(d4) << 32;
  }
  const packed_status p = read_status_prefix(text);
  const std::size_t n = packed_size(p);
  if (n == 0 || n == text.size()) return p;
  if (text[n] != ' ') return 0;
  return p + 1;
}

/// True for an octet allowed in reply text: HT, SP..'~', 0x80..0xFF.
constexpr bool is_reply_text_octet(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return (u >= 0x20 && u != 0x7f) || u == '\t';
}

/// Returns a non-zero value when one of the eight octets in @p v is below 0x20 or is 0x7F.
/// Octets 0x80-0xFF are ordinary here. Exact as a whole-word test (no false positives when no
/// octet qualifies); which octet qualifies is found byte by byte.
inline std::uint64_t special_octets(std::uint64_t v) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ull;
  constexpr std::uint64_t highs = 0x8080808080808080ull;
  const std::uint64_t below_space = (v - ones * 0x20) & ~v & highs;
  const std::uint64_t d = v ^ (ones * 0x7f);
  const std::uint64_t del = (d - ones) & ~d & highs;
  return below_space | del;
}

/// Returns the index (0-7) of the first octet flagged by special_octets() in a word loaded from
/// memory, or 8 when the platform cannot tell it without a byte loop. @pre mask != 0.
inline unsigned first_special_octet(std::uint64_t mask) noexcept {
#if (defined(__GNUC__) || defined(__clang__)) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  // The lowest flagged octet is a true one: borrows in special_octets() only run upwards.
  return static_cast<unsigned>(__builtin_ctzll(mask)) >> 3;
#else
  (void)mask;
  return 8;
#endif
}

inline std::uint64_t load_u64(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

/// Returns the value of a reply code at @p p, or -1 when p[0..2] is not %x32-35 %x30-35 %x30-39.
inline int read_reply_code(const char* p) noexcept {
  const unsigned a = static_cast<unsigned char>(p[0]) - unsigned{'2'};
  const unsigned b = static_cast<unsigned char>(p[1]) - unsigned{'0'};
  const unsigned c = static_cast<unsigned char>(p[2]) - unsigned{'0'};
  if (a > 3 || b > 5 || c > 9) return -1;
  return static_cast<int>(200 + a * 100 + b * 10 + c);
}

}  // namespace detail

/// One line of a parsed reply, as the reply's line iterator yields it.
/// @warning Views into the reply's bytes; valid as long as those bytes.
struct reply_line {
  std::string_view text;      ///< text after the code, separator and enhanced status (if any)
  std::string_view raw_text;  ///< text after the code and separator, enhanced status included
  std::optional<enhanced_status> enhanced;  ///< this line's enhanced status, when it has one
  bool last = false;                        ///< true for the final line ("code SP" or "code")
};

/// Iterates the lines of a parsed reply. A forward iterator over reply_line values.
class reply_line_iterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = reply_line;
  using difference_type = std::ptrdiff_t;
  using pointer = const reply_line*;
  using reference = const reply_line&;

  constexpr reply_line_iterator() noexcept = default;
  /// Makes an iterator at the line starting at @p p. @pre [p, end) holds whole, valid lines.
  reply_line_iterator(const char* p, const char* end) noexcept : p_(p), end_(end) { load(); }

  reference operator*() const noexcept { return line_; }
  pointer operator->() const noexcept { return &line_; }
  reply_line_iterator& operator++() noexcept {
    p_ = next_;
    load();
    return *this;
  }
  reply_line_iterator operator++(int) noexcept {
    reply_line_iterator old = *this;
    ++*this;
    return old;
  }
  friend bool operator==(const reply_line_iterator& a, const reply_line_iterator& b) noexcept {
    return a.p_ == b.p_;
  }
  friend bool operator!=(const reply_line_iterator& a, const reply_line_iterator& b) noexcept {
    return a.p_ != b.p_;
  }

 private:
  void load() noexcept {
    if (p_ == end_) return;
    const auto* lf =
        static_cast<const char*>(std::memchr(p_, '\n', static_cast<std::size_t>(end_ - p_)));
    next_ = lf + 1;
    const auto len = static_cast<std::size_t>(lf - 1 - p_);  // without CRLF
    const std::string_view content(p_, len);
    line_.raw_text = len > 4 ? content.substr(4) : std::string_view(p_ + len, 0);
    line_.last = len == 3 || content[3] == ' ';
    const detail::packed_status sp = detail::split_enhanced_status(line_.raw_text, p_[0]);
    line_.text = line_.raw_text.substr(detail::packed_size(sp));
    if (sp != 0)
      line_.enhanced = detail::unpack_status(sp);
    else
      line_.enhanced.reset();
  }

  const char* p_ = nullptr;
  const char* end_ = nullptr;
  const char* next_ = nullptr;
  reply_line line_{};
};

/// The lines of a parsed reply, for range-for.
class reply_line_range {
 public:
  constexpr reply_line_range() noexcept = default;
  constexpr explicit reply_line_range(std::string_view raw) noexcept : raw_(raw) {}
  reply_line_iterator begin() const noexcept { return {raw_.data(), raw_.data() + raw_.size()}; }
  reply_line_iterator end() const noexcept {
    return {raw_.data() + raw_.size(), raw_.data() + raw_.size()};
  }

 private:
  std::string_view raw_{};
};

/// A parsed reply: its code, its first line's enhanced status and text, and its raw bytes.
/// Made by reply_reader and parse_reply(); a default reply (code 0) holds nothing.
/// @warning Views into the bytes given to the reader; valid as long as those bytes.
class reply {
 public:
  constexpr reply() noexcept = default;

  /// Returns the reply code (200..559).
  int code() const noexcept { return code_; }
  /// Returns the first line's enhanced status (RFC 3463), when it has one.
  std::optional<enhanced_status> enhanced() const noexcept {
    if (enhanced_.cls == 0) return std::nullopt;
    return enhanced_;
  }
  /// Returns the first line's text, without code, separator and enhanced status.
  std::string_view text() const noexcept { return text_; }
  /// Returns the number of lines (1 for a single-line reply).
  std::size_t line_count() const noexcept { return lines_; }
  /// Returns true for a reply of more than one line.
  bool multiline() const noexcept { return lines_ > 1; }
  /// Returns the whole reply as received: every line with its code and CRLF.
  std::string_view raw() const noexcept { return raw_; }
  /// Returns the lines, for range-for (each a reply_line).
  reply_line_range lines() const noexcept { return reply_line_range(raw_); }

  /// Returns true when both replies have the same code and the same lines (each line's
  /// enhanced status and text); the raw bytes may differ ("250 " vs "250" for empty text).
  friend bool operator==(const reply& a, const reply& b) noexcept {
    if (a.code_ != b.code_ || a.lines_ != b.lines_) return false;
    auto ia = a.lines().begin();
    auto ib = b.lines().begin();
    for (std::size_t i = 0; i < a.lines_; ++i, ++ia, ++ib)
      if (ia->text != ib->text || ia->enhanced != ib->enhanced) return false;
    return true;
  }
  friend bool operator!=(const reply& a, const reply& b) noexcept { return !(a == b); }

 private:
  friend class reply_reader;
  reply(std::string_view raw, std::string_view text, enhanced_status enhanced, std::uint32_t lines,
        std::uint16_t code) noexcept
      : raw_(raw), text_(text), enhanced_(enhanced), lines_(lines), code_(code) {}

  std::string_view raw_{};
  std::string_view text_{};
  enhanced_status enhanced_{};  // class 0: none
  std::uint32_t lines_ = 0;
  std::uint16_t code_ = 0;
};

/// What reply_reader::read() found.
enum class reply_status : unsigned char {
  need_more = 0,  ///< no complete reply yet: call again with the same bytes plus more
  reply = 1,      ///< a complete reply (reply_result::value); drop reply_result::consumed bytes
  error = 2,      ///< the reply stream is broken (reply_result::error); the session must end
};

/// The outcome of one reply_reader::read() call.
struct reply_result {
  reply_status status = reply_status::need_more;
  reply value{};             ///< the reply, when status == reply_status::reply
  errc error{};              ///< the error, when status == reply_status::error
  std::size_t consumed = 0;  ///< bytes the reply took (status == reply), else 0
};

/// Incremental parser of SMTP replies over bytes that arrive in chunks split anywhere.
///
/// The owner keeps received bytes in its own buffer and passes the bytes it has not consumed
/// yet, always starting at the first byte of the reply being read. After need_more, the next
/// call passes the same bytes again followed by new ones (they may have moved in memory).
/// After a reply, the owner drops `consumed` bytes and calls again for the next reply
/// (pipelined replies may already be there). The reader remembers how far it has checked, so
/// feeding a reply one byte at a time costs O(n) in total.
class reply_reader {
 public:
  /// The default bound on the lines of one reply. EHLO replies run to 10-20 lines and HELP a
  /// little more; 100 lines of 512 octets bound a reply at 51,200 octets.
  static constexpr std::size_t default_max_lines = 100;

  /// Makes a reader.
  /// @param lim limits; lim.reply_line bounds a line, code to CRLF inclusive (default 512).
  /// @param max_lines the most lines one reply may have (at least 1).
  /// @pre lim.reply_line >= 5 (it is raised to 5 otherwise: "250" CRLF must fit).
  explicit reply_reader(const limits& lim = limits{},
                        std::size_t max_lines = default_max_lines) noexcept
      : max_line_(lim.reply_line < 5 ? 5 : lim.reply_line),
        max_lines_(max_lines == 0 ? 1 : max_lines) {}

  /// Reads the next reply from @p unconsumed.
  /// @param unconsumed the owner's bytes not consumed yet, starting at the current reply.
  /// @return need_more (consumed 0); reply with `value` and `consumed`; or error with one of:
  ///   errc::line_too_long (a line over max_line octets), errc::bare_lf, errc::bare_cr,
  ///   errc::nul_byte, errc::bad_reply (a control octet in the text, or a bad separator),
  ///   errc::bad_reply_code, errc::reply_code_mismatch, errc::reply_too_long (more than
  ///   max_lines lines). Errors are sticky: the client should end the session (RFC 5321 4.2
  ///   gives no way to resynchronise); reset() clears them.
  /// @warning `value` holds views into @p unconsumed.
  reply_result read(std::string_view unconsumed) noexcept;

  /// Returns true after an error (until reset()).
  bool failed() const noexcept { return error_ != errc{}; }
  /// Returns the sticky error, or errc{} when none.
  errc error() const noexcept { return error_; }
  /// Forgets the partial reply and any error, e.g. after STARTTLS or on a new connection.
  void reset() noexcept {
    restart();
    error_ = errc{};
  }
  /// Returns the line length bound in octets, code to CRLF inclusive.
  std::size_t max_line() const noexcept { return max_line_; }
  /// Returns the bound on the lines of one reply.
  std::size_t max_lines() const noexcept { return max_lines_; }

 private:
  void restart() noexcept {
    line_start_ = scan_ = lines_ = first_cr_ = 0;
    code_ = 0;
  }
  reply_result suspend(std::size_t line, std::size_t pos, std::size_t lines, int code,
                       std::size_t first_cr) noexcept {
    line_start_ = line;
    scan_ = pos;
    lines_ = lines;
    code_ = code;
    first_cr_ = first_cr;
    return {};
  }
  reply_result fail(errc e) noexcept {
    error_ = e;
    restart();
    return reply_result{reply_status::error, {}, e, 0};
  }

  std::size_t max_line_;
  std::size_t max_lines_;
  // A partial reply, as offsets into the bytes (which may move between calls):
  std::size_t line_start_ = 0;  // the line being framed
  std::size_t scan_ = 0;        // its first octet not yet checked
  std::size_t lines_ = 0;       // complete lines so far
  std::size_t first_cr_ = 0;    // the CR ending the first line
  int code_ = 0;                // the first line's code
  errc error_{};
};

inline reply_result reply_reader::read(std::string_view unconsumed) noexcept {
  if (SMTPKIT_UNLIKELY(error_ != errc{})) return reply_result{reply_status::error, {}, error_, 0};
  const char* const base = unconsumed.data();
  const std::size_t size = unconsumed.size();
  if (SMTPKIT_UNLIKELY(size < scan_)) restart();  // not the bytes seen before: start over

  // The state lives in locals while the loop runs and goes back to members only when the
  // reply is incomplete (stores and reloads of members would stall the hot path).
  std::size_t line = line_start_;
  std::size_t pos = scan_;
  std::size_t lines = lines_;
  int first_code = code_;
  std::size_t first_cr = first_cr_;
  for (;;) {
    // Framing: find the CR of the CRLF that ends the line; every octet before it must be text.
    const std::size_t cap = line + max_line_;  // the LF must sit before cap
    const std::size_t limit = size < cap ? size : cap;
    std::size_t cr;
    for (;;) {
      if (pos + 8 <= limit) {
        const std::uint64_t mask = detail::special_octets(detail::load_u64(base + pos));
        if (mask == 0) {
          pos += 8;
          continue;
        }
        const unsigned first = detail::first_special_octet(mask);
        if (first < 8) {
          pos += first;
          if (base[pos] == '\t') {
            ++pos;
            continue;
          }
        } else {
          const std::size_t stop = pos + 8;
          while (pos < stop && detail::is_reply_text_octet(base[pos])) ++pos;
          if (pos == stop) continue;  // only HT in that word
        }
      } else {
        while (pos < limit && detail::is_reply_text_octet(base[pos])) ++pos;
        if (pos == limit) {
          if (limit == cap) return fail(errc::line_too_long);
          return suspend(line, pos, lines, first_code, first_cr);
        }
      }
      // base[pos] is not text.
      const char c = base[pos];
      if (c == '\r') {
        if (pos + 1 >= cap) return fail(errc::line_too_long);
        if (pos + 1 >= size) return suspend(line, pos, lines, first_code, first_cr);
        if (base[pos + 1] != '\n') return fail(errc::bare_cr);
        cr = pos;
        break;
      }
      if (c == '\n') return fail(errc::bare_lf);
      if (c == '\0') return fail(errc::nul_byte);
      return fail(errc::bad_reply);
    }

    // Syntax: code, separator, same code as the first line.
    const char* const p = base + line;
    const std::size_t len = cr - line;
    if (SMTPKIT_UNLIKELY(len < 3)) return fail(errc::bad_reply_code);
    const int code = detail::read_reply_code(p);
    if (SMTPKIT_UNLIKELY(code < 0)) return fail(errc::bad_reply_code);
    bool last = true;
    if (len > 3) {
      if (p[3] == '-')
        last = false;
      else if (SMTPKIT_UNLIKELY(p[3] != ' '))
        return fail(errc::bad_reply);
    }
    if (lines == 0) {
      first_code = code;
      first_cr = cr;
    } else if (SMTPKIT_UNLIKELY(code != first_code)) {
      return fail(errc::reply_code_mismatch);
    }
    ++lines;
    line = cr + 2;
    pos = line;
    if (last) break;
    if (SMTPKIT_UNLIKELY(lines >= max_lines_)) return fail(errc::reply_too_long);
  }

  // The first line's text and enhanced status, from its offsets.
  const std::size_t text_begin = first_cr > 4 ? 4 : first_cr;
  std::string_view text(base + text_begin, first_cr - text_begin);
  const detail::packed_status sp = detail::split_enhanced_status(text, base[0]);
  text.remove_prefix(detail::packed_size(sp));
  if (scan_ != 0) restart();  // a partial reply was suspended
  // Built in place (a prvalue): a named result would be copied through the stack.
  return reply_result{
      reply_status::reply,
      reply(std::string_view(base, line), text, detail::unpack_status(sp),
            static_cast<std::uint32_t>(lines), static_cast<std::uint16_t>(first_code)),
      errc{}, line};
}

/// Parses @p bytes as exactly one complete reply.
/// @param bytes one reply, every line with its CRLF, and nothing after it.
/// @return the reply; errc::incomplete when @p bytes ends inside the reply; errc::bad_reply when
///   bytes follow the reply; or any error of reply_reader::read().
/// @warning The reply holds views into @p bytes.
inline result<reply> parse_reply(std::string_view bytes, const limits& lim = limits{},
                                 std::size_t max_lines = reply_reader::default_max_lines) noexcept {
  reply_reader rd(lim, max_lines);
  reply_result r = rd.read(bytes);
  if (r.status == reply_status::error) return r.error;
  if (r.status == reply_status::need_more) return errc::incomplete;
  if (r.consumed != bytes.size()) return errc::bad_reply;
  return r.value;
}

/// A non-owning list of text lines (pointer and count), for multiline replies.
/// @warning The strings and the array must outlive the list.
class line_list {
 public:
  constexpr line_list() noexcept = default;
  /// Makes a list of the @p count strings at @p lines.
  constexpr line_list(const std::string_view* lines, std::size_t count) noexcept
      : data_(lines), size_(count) {}
  /// Makes a list of the strings in an array. Implicit, so that an array of lines can be
  /// passed wherever a line_list is taken.
  template <std::size_t N>
  // NOLINTNEXTLINE(google-explicit-constructor,hicpp-explicit-conversions): see above
  constexpr line_list(const std::string_view (&lines)[N]) noexcept : data_(lines), size_(N) {}

  constexpr const std::string_view* begin() const noexcept { return data_; }
  constexpr const std::string_view* end() const noexcept { return data_ + size_; }
  constexpr std::size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr std::string_view operator[](std::size_t i) const noexcept { return data_[i]; }

 private:
  const std::string_view* data_ = nullptr;
  std::size_t size_ = 0;
};

/// A reply to write: code, optional enhanced status, the first (or only) line's text and, for a
/// multiline reply, the texts of the following lines. The enhanced status, when given, is
/// written at the start of every line (RFC 2034 4).
/// @code
/// write_reply(out, {250, enhanced_status{2, 1, 0}, "Ok"});            // 250 2.1.0 Ok
/// const std::string_view help[] = {"HELO EHLO MAIL", "RCPT DATA"};
/// write_reply(out, {214, std::nullopt, "Commands:", help});           // 214-Commands: ...
/// @endcode
/// @warning A non-owning view of the texts.
struct reply_spec {
  int code = 0;                               ///< 200..559 (digits 2-5, 0-5, 0-9)
  std::optional<enhanced_status> enhanced{};  ///< its class must equal the code's first digit
  std::string_view text{};                    ///< first line's text (may be empty)
  line_list more{};                           ///< texts of the following lines (multiline)
};

namespace detail {

/// Checks one line's text for write_reply(): errc::invalid_argument when it holds an octet the
/// reader refuses, or (without an enhanced status) starts like a status the reader would split.
constexpr errc check_reply_text(std::string_view text, bool has_enhanced,
                                char class_digit) noexcept {
  for (char c : text)
    if (!is_reply_text_octet(c)) return errc::invalid_argument;
  if (!has_enhanced && split_enhanced_status(text, class_digit) != 0) return errc::invalid_argument;
  return errc{};
}

inline bool append_reply_line(byte_writer& out, const char* code, char sep, std::string_view status,
                              std::string_view text) noexcept {
  if (!out.append(std::string_view(code, 3))) return false;
  const bool bare = sep == ' ' && status.empty() && text.empty();  // "250" CRLF
  if (!bare && !out.push(sep)) return false;
  if (!status.empty()) {
    if (!out.append(status)) return false;
    if (!text.empty() && !out.push(' ')) return false;
  }
  return out.append(text) && out.append("\r\n");
}

}  // namespace detail

/// Appends @p spec as wire bytes: "code SP [status SP] text CRLF" for one line, or
/// "code-..." lines followed by a "code SP ..." line. A line with no status and no text is
/// written "code CRLF" (last line) or "code-" CRLF.
/// @param out where the bytes go.
/// @param spec the reply.
/// @param max_line the longest line allowed, code to CRLF inclusive (RFC 5321 4.5.3.1.5: 512).
/// @return an empty error_code, or:
///   errc::invalid_argument - a code outside 200..559 or with a second digit over 5; an enhanced
///     status that is not valid or whose class is not the code's first digit; a text holding CR,
///     LF, NUL, another control octet or DEL; a text that starts like an enhanced status while
///     spec.enhanced is empty (the reader would split it off);
///   errc::line_too_long - a line longer than @p max_line;
///   errc::output_full - @p out has no room.
/// Nothing is appended on error.
inline std::error_code write_reply(byte_writer& out, const reply_spec& spec,
                                   std::size_t max_line = limits{}.reply_line) noexcept {
  if (spec.code < 200 || spec.code > 599 || spec.code / 10 % 10 > 5) return errc::invalid_argument;
  char code[3] = {static_cast<char>('0' + spec.code / 100),
                  static_cast<char>('0' + spec.code / 10 % 10),
                  static_cast<char>('0' + spec.code % 10)};
  char status_buf[enhanced_status_max_size];
  std::string_view status;
  if (spec.enhanced) {
    if (!class_matches(*spec.enhanced, spec.code)) return errc::invalid_argument;
    status = std::string_view(status_buf, format_enhanced_status(*spec.enhanced, status_buf));
  }
  const std::size_t count = 1 + spec.more.size();
  for (std::size_t i = 0; i < count; ++i) {
    const std::string_view text = i == 0 ? spec.text : spec.more[i - 1];
    const errc e = detail::check_reply_text(text, spec.enhanced.has_value(), code[0]);
    if (e != errc{}) return e;
    const bool bare = i + 1 == count && status.empty() && text.empty();  // "250" CRLF
    const std::size_t len = 3 + (bare ? 0 : 1) +
                            (status.empty() ? 0 : status.size() + (text.empty() ? 0 : 1)) +
                            text.size() + 2;
    if (len > max_line) return errc::line_too_long;
  }
  const std::size_t mark = out.mark();
  for (std::size_t i = 0; i < count; ++i) {
    const std::string_view text = i == 0 ? spec.text : spec.more[i - 1];
    if (!detail::append_reply_line(out, code, i + 1 == count ? ' ' : '-', status, text)) {
      out.rollback(mark);
      return errc::output_full;
    }
  }
  return {};
}

/// Appends a reply whose lines are @p lines (one line each; an empty list writes one line with
/// no text). Otherwise as write_reply(byte_writer&, const reply_spec&, std::size_t).
/// @code
/// write_reply(out, 250, std::nullopt, {"mx.example.net", "PIPELINING", "8BITMIME"});
/// @endcode
inline std::error_code write_reply(byte_writer& out, int code,
                                   std::optional<enhanced_status> enhanced,
                                   std::initializer_list<std::string_view> lines,
                                   std::size_t max_line = limits{}.reply_line) noexcept {
  reply_spec spec{code, enhanced, {}, {}};
  if (lines.size() != 0) {
    spec.text = *lines.begin();
    spec.more = line_list(lines.begin() + 1, lines.size() - 1);
  }
  return write_reply(out, spec, max_line);
}

SMTPKIT_NAMESPACE_END
