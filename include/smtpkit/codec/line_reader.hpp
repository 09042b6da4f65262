// smtpkit codec: line framing. Splits the bytes a peer sends into CRLF-terminated lines,
// incrementally, over input that arrives in chunks split anywhere, without copying.
// RFC 5321 2.3.8 (lines end in CRLF; a bare CR or LF is not a line end), 4.1.1 (command lines),
// 4.2 (reply lines), 4.5.3.1.4 - 4.5.3.1.6 (line length limits, the CRLF counted).
//
// Rules:
//  1. A line ends at CRLF and nowhere else. A bare LF or a bare CR inside a line does not end it:
//     the line runs to the next CRLF and is refused as a whole (errc::bare_lf / errc::bare_cr),
//     reported when that CRLF arrives.
//  2. Under bare_newline_policy::normalize a bare LF ends the line as if it were CRLF (Postfix's
//     smtpd_forbid_bare_newline = normalize). A bare CR is still refused with errc::bare_cr:
//     no mainstream MTA takes a lone CR as a line end, and a CR that a terminal or log would
//     render as a line break must not reach a parser as part of one line.
//  3. A line holding a NUL octet is refused as a whole (errc::nul_byte).
//  4. The limit counts the line end as two octets (a line ended by a normalized bare LF counts as
//     if it ended in CRLF). A longer line yields errc::line_too_long once, as soon as the reader
//     can tell, or when its end arrives if it arrived whole. The reader then discards bytes up to
//     and including the next line end and reports them as consumed, so the owner never holds
//     more than `limit` octets of one line. Framing is back in sync at the next line.
//  5. A refused line yields exactly one error, the first that applies of: line_too_long,
//     nul_byte, bare_lf, bare_cr.
//  6. No byte is scanned twice: the reader keeps a scan offset into the current line. Only a
//     trailing CR, whose meaning depends on the next byte, is looked at again.
//  7. Zero-copy and allocation-free: lines are views into the caller's bytes.
//  8. On x86-64 (SSE2) the scan tests 16 bytes at a time and skips those with no octet at or
//     below CR; the first such octet goes through exactly the decisions of the portable byte
//     loop, so both give identical results. Defining SMTPKIT_NO_SIMD (the same way in every
//     translation unit) builds only the portable loop.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>  // size_t
#include <limits>   // numeric_limits
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>     // errc
#include <smtpkit/core/leniency.hpp>  // bare_newline_policy
#include <string_view>                // string_view

#if defined(__SSE2__) && !defined(SMTPKIT_NO_SIMD)
#  include <emmintrin.h>  // _mm_loadu_si128, _mm_min_epu8, _mm_cmpeq_epi8, _mm_movemask_epi8
#  define SMTPKIT_LINE_SSE2 1
#else
#  define SMTPKIT_LINE_SSE2 0
#endif

SMTPKIT_NAMESPACE_BEGIN

/// What line_reader::next() found.
enum class line_status : unsigned char {
  need_more = 0,  ///< no complete line yet: drop `consumed` bytes, add input, call again
  line = 1,       ///< a well-formed line is in `line`
  error = 2,      ///< a refused line (or the start of an over-long one); see `error`
};

/// The outcome of one line_reader::next() call.
struct line_result {
  /// What was found.
  line_status status = line_status::need_more;
  /// The line without its line end, a view into the input. For errc::nul_byte, errc::bare_lf
  /// and errc::bare_cr it holds the refused line (for a log or a better reply); for
  /// errc::line_too_long and need_more it is empty.
  /// @warning Points into the bytes given to next(); valid as long as those bytes are.
  std::string_view line{};
  /// The reason, when status is line_status::error: errc::line_too_long, errc::nul_byte,
  /// errc::bare_lf or errc::bare_cr. Unspecified otherwise.
  errc error{};
  /// How many bytes the caller must drop from the front of its input, whatever the status.
  std::size_t consumed = 0;
};

/// Incremental CRLF line framer with a per-reader length limit (see the rules at the top of
/// line_reader.hpp).
///
/// Contract: the owner keeps the received bytes in its own buffer and passes all of its
/// unconsumed bytes to next(). After every call it drops `consumed` bytes from the front (after
/// using `line`, which points into them). After need_more it calls next() again with the same
/// remaining bytes plus whatever has arrived since; the reader remembers how far it has scanned
/// and does not look at those bytes again.
class line_reader {
 public:
  /// Makes a reader for lines of at most @p limit octets, the line end counted (512 for command
  /// and reply lines, RFC 5321 4.5.3.1.4-5; 1000 for text lines, 4.5.3.1.6). 0 means no limit.
  /// @param policy what a bare LF does (see bare_newline_policy).
  explicit line_reader(std::size_t limit,
                       bare_newline_policy policy = bare_newline_policy::reject) noexcept
      : limit_(limit == 0 ? std::numeric_limits<std::size_t>::max() : limit), policy_(policy) {}

  /// Scans @p unconsumed for the next line.
  /// @param unconsumed every byte the owner holds and has not dropped yet.
  /// @return need_more (drop `consumed`, which is non-zero only while an over-long line is being
  ///         discarded), line (drop `consumed`, which covers the line end), or error with
  ///         errc::line_too_long (reject the line with "500 5.5.2 Line too long"; the rest of it
  ///         is discarded silently), errc::nul_byte, errc::bare_lf or errc::bare_cr (the whole
  ///         line, up to its line end, is covered by `consumed`; reply 500 or 501).
  line_result next(std::string_view unconsumed) noexcept;

  /// Forgets any partial line (for example after STARTTLS, when the owner drops its buffer).
  void reset() noexcept {
    scan_ = 0;
    faults_ = 0;
    discarding_ = false;
  }

  /// Returns the limit given at construction (the largest size_t for "no limit").
  std::size_t limit() const noexcept { return limit_; }
  /// Returns the bare LF policy given at construction.
  bare_newline_policy policy() const noexcept { return policy_; }
  /// Returns true while the rest of an over-long line is being discarded.
  bool discarding() const noexcept { return discarding_; }

 private:
  static constexpr unsigned char fault_bare_cr = 1;
  static constexpr unsigned char fault_bare_lf = 2;
  static constexpr unsigned char fault_nul = 4;

  std::size_t limit_;
  std::size_t scan_ = 0;      // bytes of the current line already scanned
  unsigned char faults_ = 0;  // fault_* bits seen in the current line so far
  bool discarding_ = false;   // dropping the rest of an over-long line
  bare_newline_policy policy_;
};

inline line_result line_reader::next(std::string_view unconsumed) noexcept {
  const char* const p = unconsumed.data();
  const std::size_t n = unconsumed.size();
  const bool normalize = policy_ == bare_newline_policy::normalize;
  if (SMTPKIT_UNLIKELY(scan_ > n)) {  // the owner dropped bytes it had not been told to drop
    scan_ = 0;
    faults_ = 0;
  }
  std::size_t base = 0;  // where the current line starts in the input
  std::size_t i = scan_;
  for (;;) {
    std::size_t end = 0;   // where the line's content ends
    std::size_t next = 0;  // where the following line starts; 0 while no line end is found
    while (i < n) {
#if SMTPKIT_LINE_SSE2
      // Skip 16 octets above CR at a time; otherwise go to the first octet at or below CR.
      if (n - i >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
        const auto low = static_cast<unsigned>(
            _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8('\r')), v)));
        if (SMTPKIT_LIKELY(low == 0)) {
          i += 16;
          continue;
        }
        i += static_cast<std::size_t>(__builtin_ctz(low));
      }
#endif
      const auto c = static_cast<unsigned char>(p[i]);
      if (SMTPKIT_LIKELY(c > '\r')) {
        ++i;
        continue;
      }
      if (c == '\r') {
        if (i + 1 == n) break;  // its meaning depends on the next byte
        if (p[i + 1] == '\n') {
          end = i;
          next = i + 2;
          break;
        }
        faults_ |= fault_bare_cr;
      } else if (c == '\n') {  // a LF after a CR was taken with the CR: this one is bare
        if (normalize) {
          end = i;
          next = i + 1;
          break;
        }
        faults_ |= fault_bare_lf;
      } else if (c == '\0') {
        faults_ |= fault_nul;
      }
      ++i;
    }

    if (next == 0) {  // no line end yet; i is n, or n - 1 at a trailing CR
      if (discarding_) {
        scan_ = 0;
        return {line_status::need_more, {}, errc{}, i};
      }
      if (i != base && i - base + 2 > limit_) {  // even the earliest line end is too late
        discarding_ = true;
        faults_ = 0;
        scan_ = 0;
        return {line_status::error, {}, errc::line_too_long, i};
      }
      scan_ = i - base;
      return {line_status::need_more, {}, errc{}, base};
    }

    const unsigned char faults = faults_;
    faults_ = 0;
    scan_ = 0;
    if (discarding_) {  // the end of an over-long line: back in sync
      discarding_ = false;
      base = i = next;
      continue;
    }
    const std::string_view line(p + base, end - base);
    if (end - base + 2 > limit_) return {line_status::error, {}, errc::line_too_long, next};
    if (faults & fault_nul) return {line_status::error, line, errc::nul_byte, next};
    if (faults & fault_bare_lf) return {line_status::error, line, errc::bare_lf, next};
    if (faults & fault_bare_cr) return {line_status::error, line, errc::bare_cr, next};
    return {line_status::line, line, errc{}, next};
  }
}

SMTPKIT_NAMESPACE_END

#undef SMTPKIT_LINE_SSE2
