// smtpkit codec: the DATA phase. dot_stuffer (client side, outgoing) and data_reader (server
// side, incoming: a streaming, smuggling-safe dot-unstuffer).
// RFC 5321 4.1.1.4 (DATA, end of mail data is CRLF "." CRLF), 4.5.2 (transparency:
// dot-stuffing), 2.3.8 (CRLF only), 4.5.3.1.6 (text line 1000 octets, CRLF included, the
// stuffed dot not counted).
//
// Rules:
//  1. End of data is CRLF "." CRLF and nothing else. "\n.\n", "\r.\n", "\n.\r\n", "\r\n.\n" and
//     "\r.\r\n" never end a message (SMTP smuggling, CVE-2023-51764 class); what follows them
//     stays message content. The CRLF that ends the DATA command counts as the first CRLF, so
//     ".\r\n" right at the start is an empty message.
//  2. The CRLF before the final "." belongs to the body (RFC 5321 4.1.1.4); the "." CRLF does
//     not. A body therefore always ends in CRLF or is empty.
//  3. A line starts after CRLF, and, under bare_newline_policy::normalize only, after a bare LF
//     (which is then delivered as CRLF). A bare CR never starts a line. The leading "." of a
//     line is removed (RFC 5321 4.5.2); only a line that starts after a real CRLF can end the
//     message.
//  4. Faults do not stop the reader: a bare LF, a bare CR and a text line over the limit are
//     recorded, and the owner refuses the message with one 5xx after its end (error()). Under
//     normalize a bare LF is still recorded (saw_bare_lf()) but is not an error; a bare CR is
//     never converted and is always an error.
//  5. For the text line limit every LF ends a line, and a line counts as if it ended in CRLF
//     (its content, without the removed leading dot, plus two).
//  6. Zero-copy: body bytes are views into the caller's input (a normalized bare LF is a view of
//     a static "\r\n"). At most two bytes (a line-start "." and a CR after it, or one trailing
//     CR) are left unconsumed to be looked at again with the next input.
//  7. On x86-64 (SSE2) the reader tests 64 bytes at a time with 16-byte compares and skips
//     blocks of ordinary CRLF text without per-byte work; any other block goes through exactly
//     the decisions of the portable byte loop. Both give identical results, call by call.
//     Defining SMTPKIT_NO_SIMD (the same way in every translation unit) builds only the portable
//     loop.
//  8. dot_stuffer emits CRLF line ends only (a bare LF or bare CR in its input becomes CRLF),
//     doubles every line-start ".", and never splits the expansion of one input byte across
//     calls: each input byte is either taken with all it expands to, or not taken.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>                  // size_t
#include <cstdint>                  // uint64_t
#include <limits>                   // numeric_limits
#include <smtpkit/core/buffer.hpp>  // byte_writer
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>     // errc, make_error_code
#include <smtpkit/core/leniency.hpp>  // bare_newline_policy
#include <string_view>                // string_view
#include <system_error>               // error_code

#if defined(__SSE2__) && !defined(SMTPKIT_NO_SIMD)
#  include <emmintrin.h>  // _mm_loadu_si128, _mm_cmpeq_epi8, _mm_movemask_epi8
#  define SMTPKIT_DATA_SSE2 1
#else
#  define SMTPKIT_DATA_SSE2 0
#endif

SMTPKIT_NAMESPACE_BEGIN

namespace detail {

/// True when data_reader::next() and dot_stuffer use the SSE2 scan on this build.
inline constexpr bool data_simd = SMTPKIT_DATA_SSE2 != 0;

/// Returns the index of the first CR or LF in [from, to) of @p p, or @p to.
template <bool Simd>
inline std::size_t find_cr_or_lf(const char* p, std::size_t from, std::size_t to) noexcept {
  std::size_t i = from;
#if SMTPKIT_DATA_SSE2
  if constexpr (Simd) {
    const __m128i lf = _mm_set1_epi8('\n');
    const __m128i cr = _mm_set1_epi8('\r');
    for (; to - i >= 16; i += 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
      const int m = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr)));
      if (m != 0) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(m)));
    }
  }
#endif
  for (; i < to; ++i)
    if (p[i] == '\n' || p[i] == '\r') return i;
  return to;
}

#if SMTPKIT_DATA_SSE2
/// Returns one past the last LF in [from, to) of @p p, or 0 when there is none.
inline std::size_t last_lf_end(const char* p, std::size_t from, std::size_t to) noexcept {
  const __m128i lf = _mm_set1_epi8('\n');
  std::size_t e = to;
  for (; e - from >= 16; e -= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + e - 16));
    const auto m = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf)));
    if (m != 0) return e - 16 + 32 - static_cast<std::size_t>(__builtin_clz(m));
  }
  for (; e > from; --e)
    if (p[e - 1] == '\n') return e;
  return 0;
}
#endif

}  // namespace detail

/// Dot-stuffs a message for DATA (RFC 5321 4.5.2), streaming over input split anywhere.
///
/// Lines are ended with CRLF on the wire whatever the input used: a bare LF and a bare CR each
/// become CRLF, so no bare LF is ever sent. A "." that starts a line is doubled. finish() ends
/// the message with CRLF "." CRLF (adding the CRLF only when the message did not end with a
/// line end). After finish() the stuffer is ready for the next message.
///
/// Lines are neither wrapped nor measured: a line over 1000 octets (RFC 5321 4.5.3.1.6) goes out
/// as it is, and a strict server refuses the message after its end. Encode such content
/// (quoted-printable, base64) before stuffing, or send it with BDAT.
class dot_stuffer {
 public:
  /// Stuffs as much of @p in as fits into @p out.
  /// @pre @p out has room for at least 2 bytes whenever progress is wanted: a doubled dot and a
  ///      CRLF for a bare LF are never split, so with less room such a byte is not taken.
  /// @return how many bytes of @p in were taken (possibly fewer than its size when @p out is
  ///         full: drain @p out and pass the rest again). An input byte is taken only with all
  ///         the bytes it expands to. Bytes may be written even when none is taken (the line
  ///         end that completes a CR seen in the previous call).
  std::size_t write(std::string_view in, byte_writer& out) noexcept {
    return write_impl<detail::data_simd>(in, out);
  }
  /// The same as write() with the portable scan (the results are identical).
  std::size_t write_scalar(std::string_view in, byte_writer& out) noexcept {
    return write_impl<false>(in, out);
  }

  /// Ends the message: CRLF when the last line is unterminated, then "." CRLF. Then resets.
  /// @return an empty error_code, or errc::output_full (nothing written; drain @p out and call
  ///         again; at most 5 bytes are needed).
  std::error_code finish(byte_writer& out) noexcept {
    std::string_view tail = ".\r\n";
    if (pending_cr_) {
      tail = "\n.\r\n";
    } else if (!line_start_) {
      tail = "\r\n.\r\n";
    }
    if (!out.append(tail)) return make_error_code(errc::output_full);
    reset();
    return {};
  }

  /// Forgets the message in progress.
  void reset() noexcept {
    line_start_ = true;
    pending_cr_ = false;
  }

  /// Returns true when the next input byte starts a line.
  bool at_line_start() const noexcept { return line_start_; }

 private:
  template <bool Simd>
  std::size_t write_impl(std::string_view in, byte_writer& out) noexcept;

  bool line_start_ = true;   // the next byte starts a line
  bool pending_cr_ = false;  // a CR was written and its LF is not yet known
};

template <bool Simd>
std::size_t dot_stuffer::write_impl(std::string_view in, byte_writer& out) noexcept {
  const char* const p = in.data();
  const std::size_t n = in.size();
  std::size_t i = 0;
  while (i < n) {
    const char c = p[i];
    if (pending_cr_) {
      pending_cr_ = false;
      if (!out.push('\n')) {  // completes the CRLF, whatever comes next
        pending_cr_ = true;
        break;
      }
      line_start_ = true;
      if (c == '\n') ++i;  // the CR's own LF
      continue;
    }
    if (c == '\r') {  // its LF, or the one that completes a bare CR, follows
      if (!out.push('\r')) break;
      pending_cr_ = true;
      line_start_ = false;
      ++i;
    } else if (c == '\n') {  // a bare LF
      if (!out.append("\r\n")) break;
      line_start_ = true;
      ++i;
    } else if (c == '.' && line_start_) {
      if (!out.append("..")) break;
      line_start_ = false;
      ++i;
    } else {  // a run of bytes copied as they are
      const std::size_t room = out.space();
      if (room == 0) break;
      const std::size_t to = n - i < room ? n : i + room;
      const std::size_t j = detail::find_cr_or_lf<Simd>(p, i + 1, to);
      out.append(std::string_view(p + i, j - i));
      line_start_ = false;
      i = j;
    }
  }
  return i;
}

/// What data_reader::next() found.
enum class data_status : unsigned char {
  need_more = 0,  ///< no body bytes to deliver now: drop `consumed`, add input, call again
  chunk = 1,      ///< body bytes are in `data`
  end = 2,        ///< the end of data was found; `data` holds the last body bytes (maybe none)
};

/// The outcome of one data_reader::next() call.
struct data_result {
  /// What was found.
  data_status status = data_status::need_more;
  /// Unstuffed body bytes: a view into the input, or of a static "\r\n" for a normalized bare LF.
  /// @warning Valid as long as the bytes given to next() are.
  std::string_view data{};
  /// How many bytes the caller must drop from the front of its input, whatever the status.
  /// After end, the bytes that follow (pipelined commands) are not consumed.
  std::size_t consumed = 0;
};

/// Reads the body of a DATA command: unstuffs dots and finds the end of data, streaming over
/// input split anywhere, with no copy (see the rules at the top of data.hpp).
///
/// Contract: as for line_reader. The owner passes all its unconsumed bytes, starting right after
/// the DATA command's CRLF, drops `consumed` bytes after each call (after using `data`), and
/// calls again with the rest plus new input. Each chunk covers as many bytes as it can: it ends
/// only at a removed leading dot, a normalized bare LF, a CR whose next byte has not arrived,
/// or the end of the input.
class data_reader {
 public:
  /// Makes a reader.
  /// @param text_line_limit the longest text line, CRLF included (RFC 5321 4.5.3.1.6: 1000);
  ///        0 for no limit.
  /// @param policy what a bare LF does (see bare_newline_policy). No policy lets anything but
  ///        CRLF "." CRLF end the message.
  explicit data_reader(std::size_t text_line_limit = 1000,
                       bare_newline_policy policy = bare_newline_policy::reject) noexcept
      : limit_(text_line_limit == 0 ? std::numeric_limits<std::size_t>::max() : text_line_limit),
        normalize_(policy == bare_newline_policy::normalize) {}

  /// Delivers the next body bytes of @p unconsumed.
  /// @return need_more, chunk, or end (further calls return end with nothing consumed until
  ///         reset()). Faults never stop the reader; see error().
  data_result next(std::string_view unconsumed) noexcept {
    return next_impl<detail::data_simd>(unconsumed);
  }
  /// The same as next() with the portable scan (the results are identical).
  data_result next_scalar(std::string_view unconsumed) noexcept {
    return next_impl<false>(unconsumed);
  }

  /// Prepares for a new message (same limit and policy).
  void reset() noexcept {
    body_size_ = 0;
    line_len_ = 0;
    line_start_ = start_crlf;
    finished_ = false;
    bare_lf_ = false;
    bare_cr_ = false;
    long_line_ = false;
  }

  /// Returns true once the end of data has been found.
  bool finished() const noexcept { return finished_; }
  /// Returns the number of body octets delivered so far (after unstuffing; a normalized bare LF
  /// counts 2), for SIZE (RFC 1870).
  std::uint64_t body_size() const noexcept { return body_size_; }
  /// Returns true when a bare LF was seen (whatever the policy).
  bool saw_bare_lf() const noexcept { return bare_lf_; }
  /// Returns true when a bare CR was seen.
  bool saw_bare_cr() const noexcept { return bare_cr_; }
  /// Returns true when a text line was over the limit.
  bool saw_long_line() const noexcept { return long_line_; }

  /// Returns why the message must be refused, once it has ended, or an empty error_code.
  /// @return errc::bare_lf (only under bare_newline_policy::reject), else errc::bare_cr, else
  ///         errc::text_line_too_long. The owner sends one 5xx (e.g. "550 5.6.0" or "500 5.5.2")
  ///         after the end of data, never in the middle of it.
  std::error_code error() const noexcept {
    if (bare_lf_ && !normalize_) return make_error_code(errc::bare_lf);
    if (bare_cr_) return make_error_code(errc::bare_cr);
    if (long_line_) return make_error_code(errc::text_line_too_long);
    return {};
  }

 private:
  static constexpr unsigned char start_none = 0;  // mid-line
  static constexpr unsigned char start_crlf = 1;  // after CRLF: "." CRLF would end the message
  static constexpr unsigned char start_lf = 2;    // after a normalized bare LF: unstuff only

  template <bool Simd>
  data_result next_impl(std::string_view in) noexcept;

  data_result deliver(data_status s, const char* p, std::size_t from, std::size_t to,
                      std::size_t consumed) noexcept {
    body_size_ += to - from;
    return {s, std::string_view(p + from, to - from), consumed};
  }

  std::size_t limit_;
  std::uint64_t body_size_ = 0;
  std::size_t line_len_ = 0;  // content octets of the current line already consumed
  unsigned char line_start_ = start_crlf;
  bool normalize_;
  bool finished_ = false;
  bool bare_lf_ = false;
  bool bare_cr_ = false;
  bool long_line_ = false;
};

template <bool Simd>
data_result data_reader::next_impl(std::string_view in) noexcept {
  if (finished_) return {data_status::end, {}, 0};
  const char* const p = in.data();
  const std::size_t n = in.size();
  if (n == 0) return {};

  std::size_t begin = 0;  // first byte to deliver
  if (line_start_ != start_none && p[0] == '.') {
    if (line_start_ == start_crlf) {
      if (n < 2 || (p[1] == '\r' && n < 3)) return {};  // ".", ".\r": wait for the next byte
      if (p[1] == '\r' && p[2] == '\n') {
        finished_ = true;
        return {data_status::end, {}, 3};
      }
    }
    begin = 1;  // the leading dot is removed
  }
  line_start_ = start_none;

  // Line length bookkeeping: the current line started at `ls` in the input, with `carry`
  // content octets before the input began.
  std::size_t ls = begin;
  std::size_t carry = line_len_;

  // Why the scan stopped.
  enum class stop_kind { none, held_cr, bare_lf, dot };
  stop_kind stop = stop_kind::none;
  std::size_t at = n;  // where it stopped

  // Handles the LF at q, which CR precedes when @p crlf. Returns true to stop the scan.
  const auto on_lf = [&](std::size_t q, bool crlf) noexcept -> bool {
    if (!crlf) {
      if (normalize_) {
        stop = stop_kind::bare_lf;
        at = q;
        return true;
      }
      bare_lf_ = true;
    }
    if (carry + (q - ls) - static_cast<std::size_t>(crlf) + 2 > limit_) long_line_ = true;
    carry = 0;
    ls = q + 1;
    if (crlf && q + 1 < n && p[q + 1] == '.') {
      stop = stop_kind::dot;
      at = q + 1;
      return true;
    }
    return false;
  };

  // The portable scan of [from, to), to <= n. Returns true when it stopped.
  const auto scan = [&](std::size_t from, std::size_t to) noexcept -> bool {
    for (std::size_t k = from; k < to; ++k) {
      const auto c = static_cast<unsigned char>(p[k]);
      if (SMTPKIT_LIKELY(c > '\r')) continue;
      if (c == '\r') {
        if (k + 1 == n) {
          stop = stop_kind::held_cr;
          at = k;
          return true;
        }
        if (p[k + 1] != '\n') bare_cr_ = true;
      } else if (c == '\n') {
        if (on_lf(k, k > 0 && p[k - 1] == '\r')) return true;
      }
    }
    return false;
  };

  std::size_t i = begin;
#if SMTPKIT_DATA_SSE2
  // 64-byte blocks, each with the two bytes after it in the input. A block is clean when the
  // portable scan would find nothing in it but CRLF line ends with no "." after them. Clean
  // blocks need no per-byte work; the line start is brought up to date only when a line could
  // have reached the limit (rarely, for ordinary lines), before a block that is not clean, and
  // at the end. Other blocks are handled from bit masks
  // exactly as the portable scan handles them, so both paths give the same result. The
  // shortcut needs lines of 64 octets or more to be allowed, so that only the first line end in
  // a block can be over the limit.
  if constexpr (Simd) {
    if (limit_ >= 128) {
      // Locals of the hot loop, which no lambda captures, so that they stay in registers.
      const char* const d = in.data();
      const std::size_t len = in.size();
      const std::size_t lim = limit_;
      std::size_t hot_ls = ls;
      std::size_t hot_carry = carry;
      // Clean blocks do not track line ends, so hot_ls is exact only as of `known`; any LF in
      // [known, i) is looked for (once) when the exact line start is needed.
      std::size_t known = i;
      const __m128i vlf = _mm_set1_epi8('\n');
      const __m128i vcr = _mm_set1_epi8('\r');
      const __m128i vdot = _mm_set1_epi8('.');
      // Within a block that passes the CR/LF pairing test, a LF at j+1 is exactly a CR at j, so
      // "LF followed by '.'" is tested as "CR at j and '.' at j+2". That covers the LFs at
      // [i+1, i+65); the LF at a block's first byte was covered by the block before, if that
      // one was clean, and otherwise sends the block to the mask path.
      bool check_first = true;
      // Marks, in the 16 bytes at q, a CR not followed by LF, a LF (one byte on) not preceded by
      // CR, and a CR whose LF is followed by ".".
      const auto bad16 = [vlf, vcr, vdot](const char* q) noexcept {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
        const __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 1));
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 2));
        const __m128i c = _mm_cmpeq_epi8(v, vcr);
        return _mm_or_si128(_mm_xor_si128(c, _mm_cmpeq_epi8(w, vlf)),
                            _mm_and_si128(c, _mm_cmpeq_epi8(x, vdot)));
      };
      while (len - i > 65) {
        const char* const b = d + i;
        const __m128i bad = _mm_or_si128(_mm_or_si128(bad16(b), bad16(b + 16)),
                                         _mm_or_si128(bad16(b + 32), bad16(b + 48)));
        check_first = (_mm_movemask_epi8(bad) != 0) | (check_first & (b[0] == '\n'));
        if (SMTPKIT_LIKELY(!check_first)) {
          if (SMTPKIT_UNLIKELY(hot_carry + (i + 64 - hot_ls) + 2 > lim)) {
            // A line could reach the limit in this block: bring the line start up to date (to
            // i, then to i + 64). Only the first line end in this block can be over the limit.
            const std::size_t last = detail::last_lf_end(d, known, i);
            if (last != 0) {
              hot_ls = last;
              hot_carry = 0;
            }
            std::uint64_t lfs = 0;
            for (std::size_t k = 0; k < 64; k += 16) {
              const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + k));
              lfs |= static_cast<std::uint64_t>(
                         static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, vlf))))
                     << k;
            }
            if (lfs != 0) {  // every LF here ends a CRLF
              const std::size_t first = i + static_cast<std::size_t>(__builtin_ctzll(lfs));
              if (hot_carry + (first - hot_ls) - 1 + 2 > lim) long_line_ = true;
              hot_carry = 0;
              hot_ls = i + 64 - static_cast<std::size_t>(__builtin_clzll(lfs));
            }
            known = i + 64;
          }
          i += 64;
          continue;
        }
        // Not clean: the same work as scan(i, i + 64), from bit masks.
        std::uint64_t lfs = 0;
        std::uint64_t crs = 0;
        for (std::size_t k = 0; k < 64; k += 16) {
          const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + k));
          lfs |= static_cast<std::uint64_t>(
                     static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, vlf))))
                 << k;
          crs |= static_cast<std::uint64_t>(
                     static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, vcr))))
                 << k;
        }
        const std::uint64_t next_lf =
            (lfs >> 1) | (static_cast<std::uint64_t>(b[64] == '\n') << 63);
        const std::uint64_t after_cr =
            (crs << 1) | static_cast<std::uint64_t>(i > 0 && b[-1] == '\r');
        std::uint64_t lone_cr = crs & ~next_lf;  // bare CRs (those before a stop count)
        const std::size_t last = detail::last_lf_end(d, known, i);  // the line start, exact
        if (last != 0) {
          hot_ls = last;
          hot_carry = 0;
        }
        ls = hot_ls;
        carry = hot_carry;
        for (std::uint64_t m = lfs; m != 0; m &= m - 1) {
          const auto k = static_cast<unsigned>(__builtin_ctzll(m));
          if (on_lf(i + k, ((after_cr >> k) & 1u) != 0)) {
            lone_cr &= (std::uint64_t{1} << k) - 1u;
            break;
          }
        }
        hot_ls = ls;
        hot_carry = carry;
        if (lone_cr != 0) bare_cr_ = true;
        if (stop != stop_kind::none) break;
        i += 64;
        known = i;
      }
      if (stop == stop_kind::none) {  // the line start, exact for the portable scan of the tail
        const std::size_t last = detail::last_lf_end(d, known, i);
        if (last != 0) {
          hot_ls = last;
          hot_carry = 0;
        }
        ls = hot_ls;
        carry = hot_carry;
      }
    }
  }
#endif
  if (stop == stop_kind::none) scan(i, n);

  switch (stop) {
    case stop_kind::none:
      // Everything was taken. A final CRLF leaves the next input at a line start.
      line_len_ = carry + (n - ls);
      if (n >= 2 && p[n - 1] == '\n' && p[n - 2] == '\r') line_start_ = start_crlf;
      if (begin == n) return {data_status::need_more, {}, n};
      return deliver(data_status::chunk, p, begin, n, n);
    case stop_kind::held_cr:
      line_len_ = carry + (at - ls);
      if (begin == at) return {data_status::need_more, {}, at};
      return deliver(data_status::chunk, p, begin, at, at);
    case stop_kind::bare_lf:
      if (at > begin) {  // deliver what precedes it; the LF comes first in the next call
        line_len_ = carry + (at - ls);
        return deliver(data_status::chunk, p, begin, at, at);
      }
      bare_lf_ = true;
      if (carry + (at - ls) + 2 > limit_) long_line_ = true;
      line_len_ = 0;
      line_start_ = start_lf;
      body_size_ += 2;
      return {data_status::chunk, std::string_view("\r\n", 2), at + 1};
    case stop_kind::dot:
      break;
  }
  // A "." after CRLF at `at`: the end of data, a stuffed dot, or not known yet.
  line_len_ = 0;
  const std::size_t left = n - at - 1;
  if (left >= 2 && p[at + 1] == '\r' && p[at + 2] == '\n') {
    finished_ = true;
    return deliver(data_status::end, p, begin, at, at + 3);
  }
  if (left == 0 || (left == 1 && p[at + 1] == '\r')) {
    line_start_ = start_crlf;  // look at the dot again with more input
    return deliver(data_status::chunk, p, begin, at, at);
  }
  return deliver(data_status::chunk, p, begin, at, at + 1);
}

SMTPKIT_NAMESPACE_END

#undef SMTPKIT_DATA_SSE2
