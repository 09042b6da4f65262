// smtpkit codec internals: windows, up to 64 octets classified at once (SSE2 where the target
// has it), for the fast paths of the path, command and ESMTP parameter parsers.
//
// A window gives, for each class of a token kind, one bit per octet at p, p+1, ... (at most
// 64, never at or past the end of the input). The fast paths use windows to accept common
// input with a few bit operations instead of a loop and a branch per octet; whatever a fast
// path cannot decide goes to the scalar scanners, which remain the one statement of the
// grammar. Define SMTPKIT_NO_SIMD to use the portable table code (it gives the same bits).
//
// Rules:
//  1. A window never reads at or past the end of the input: a last chunk shorter than 16
//     octets is loaded as the 16 octets that end at the end (when [begin, end) holds so many)
//     or from a copy.
//  2. The SIMD and the portable code give the same bits (the tests compare them).
//  3. SMTPKIT_CODEC_INLINE forces inlining of the mask helpers; it is an internal macro,
//     #undef'd at the end of smtpkit.hpp (which includes every header that uses it).
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>                              // size_t
#include <cstdint>                              // uint64_t
#include <cstring>                              // memcpy
#include <smtpkit/codec/detail/char_class.hpp>  // cls
#include <smtpkit/core/config.hpp>

#if defined(__SSE2__) && !defined(SMTPKIT_NO_SIMD)
#  include <emmintrin.h>  // SSE2 intrinsics (part of the x86-64 baseline)
#endif

// The window helpers return small structs of masks; inlined, they stay in registers, while a
// call returns them through memory and the caller's wider reloads stall store forwarding.
#if defined(__GNUC__) || defined(__clang__)
#  define SMTPKIT_CODEC_INLINE [[gnu::always_inline]] inline
#elif defined(_MSC_VER)
#  define SMTPKIT_CODEC_INLINE __forceinline
#else
#  define SMTPKIT_CODEC_INLINE inline
#endif

SMTPKIT_NAMESPACE_BEGIN
namespace detail {

/// Returns the number of trailing zero bits of @p v (64 for 0).
inline unsigned ctz64(std::uint64_t v) noexcept {
  if (v == 0) return 64;
#if defined(__GNUC__) || defined(__clang__)
  return static_cast<unsigned>(__builtin_ctzll(v));
#else
  unsigned n = 0;
  while (!(v & 1u)) {
    v >>= 1;
    ++n;
  }
  return n;
#endif
}

/// Returns a mask of the low @p n bits. @pre n < 64.
constexpr std::uint64_t low_bits(unsigned n) noexcept {
  return (std::uint64_t{1} << n) - 1u;
}

/// The token kinds a window classifies for, and the meaning of its masks m[0..5].
enum class window_kind : unsigned char {
  domain,  ///< m0: ALPHA / DIGIT / "-" / "."; m1: "."; m2: "-"
  local,   ///< m0: ALPHA / DIGIT / "." / "-" / "_" / "+"; m1: "."
  path,    ///< m0: ALPHA / DIGIT; m1: "."; m2: "-"; m3: "_" / "+"; m4: "@"; m5: ">"
  param,   ///< m0: VCHAR (%d33-126); m1: "="; m2: "+"; m3: SP
};

/// The masks of a window; bit i describes the octet at p + i.
struct window {
  std::uint64_t m0 = 0;
  std::uint64_t m1 = 0;
  std::uint64_t m2 = 0;
  std::uint64_t m3 = 0;
  std::uint64_t m4 = 0;
  std::uint64_t m5 = 0;
  unsigned size = 0;  ///< octets covered; bits at and above it are 0
};

/// The masks of one chunk of 16 octets.
struct chunk {
  unsigned m0 = 0;
  unsigned m1 = 0;
  unsigned m2 = 0;
  unsigned m3 = 0;
  unsigned m4 = 0;
  unsigned m5 = 0;
};

/// The classes of one octet for @p K, as bits 0..5 (the portable definition).
template <window_kind K>
constexpr unsigned octet_classes(char c) noexcept {
  const bool alnum = (cls(c) & cc_let_dig) != 0;
  switch (K) {
    case window_kind::domain:
      return (alnum || c == '-' || c == '.' ? 1u : 0u) | (c == '.' ? 2u : 0u) |
             (c == '-' ? 4u : 0u);
    case window_kind::local:
      return (alnum || c == '.' || c == '-' || c == '_' || c == '+' ? 1u : 0u) |
             (c == '.' ? 2u : 0u);
    case window_kind::path:
      return (alnum ? 1u : 0u) | (c == '.' ? 2u : 0u) | (c == '-' ? 4u : 0u) |
             (c == '_' || c == '+' ? 8u : 0u) | (c == '@' ? 16u : 0u) | (c == '>' ? 32u : 0u);
    case window_kind::param:
      return ((cls(c) & cc_vchar) != 0 ? 1u : 0u) | (c == '=' ? 2u : 0u) | (c == '+' ? 4u : 0u) |
             (c == ' ' ? 8u : 0u);
  }
  return 0;
}

/// Classifies the @p n (1 to 16) octets at @p q with the table.
template <window_kind K>
inline chunk classify16_table(const char* q, std::size_t n) noexcept {
  chunk c;
  for (std::size_t i = 0; i < n && i < 16; ++i) {
    const unsigned k = octet_classes<K>(q[i]);
    c.m0 |= (k & 1u) << i;
    c.m1 |= ((k >> 1) & 1u) << i;
    c.m2 |= ((k >> 2) & 1u) << i;
    c.m3 |= ((k >> 3) & 1u) << i;
    c.m4 |= ((k >> 4) & 1u) << i;
    c.m5 |= ((k >> 5) & 1u) << i;
  }
  return c;
}

#if defined(__SSE2__) && !defined(SMTPKIT_NO_SIMD)
SMTPKIT_CODEC_INLINE __m128i eq8(__m128i x, char c) noexcept {
  return _mm_cmpeq_epi8(x, _mm_set1_epi8(c));
}
SMTPKIT_CODEC_INLINE unsigned mask8(__m128i v) noexcept {
  unsigned m = static_cast<unsigned>(_mm_movemask_epi8(v));
#  if defined(__GNUC__) && !defined(__clang__)
  // An empty asm keeps the mask in a register: GCC's SLP vectorizer would otherwise pack the
  // masks of a chunk into a vector through the stack, and the reload stalls store forwarding.
  __asm__("" : "+r"(m));
#  endif
  return m;
}
/// ALPHA / DIGIT lanes: x | 0x20 in "a".."z", or x in "0".."9" (signed ranges from -128).
SMTPKIT_CODEC_INLINE __m128i alnum16(__m128i x) noexcept {
  const __m128i lower = _mm_or_si128(x, _mm_set1_epi8(0x20));
  const __m128i alpha =
      _mm_cmplt_epi8(_mm_add_epi8(lower, _mm_set1_epi8(static_cast<char>(0x80 - 'a'))),
                     _mm_set1_epi8(static_cast<char>(-128 + 26)));
  const __m128i digit =
      _mm_cmplt_epi8(_mm_add_epi8(x, _mm_set1_epi8(static_cast<char>(0x80 - '0'))),
                     _mm_set1_epi8(static_cast<char>(-128 + 10)));
  return _mm_or_si128(alpha, digit);
}

/// Classifies the 16 octets in @p x with SSE2 (the same bits as classify16_table).
template <window_kind K>
SMTPKIT_CODEC_INLINE chunk classify_vector(__m128i x) noexcept {
  chunk c;
  if (K == window_kind::param) {
    // VCHAR: greater than SP as a signed octet (so not >= 0x80), and not DEL.
    c.m0 = mask8(_mm_andnot_si128(eq8(x, 127), _mm_cmpgt_epi8(x, _mm_set1_epi8(32))));
    c.m1 = mask8(eq8(x, '='));
    c.m2 = mask8(eq8(x, '+'));
    c.m3 = mask8(eq8(x, ' '));
    return c;
  }
  const __m128i alnum = alnum16(x);
  const __m128i dot = eq8(x, '.');
  const __m128i hyphen = eq8(x, '-');
  if (K == window_kind::path) {
    c.m0 = mask8(alnum);
    c.m1 = mask8(dot);
    c.m2 = mask8(hyphen);
    c.m3 = mask8(_mm_or_si128(eq8(x, '_'), eq8(x, '+')));
    c.m4 = mask8(eq8(x, '@'));
    c.m5 = mask8(eq8(x, '>'));
    return c;
  }
  __m128i run = _mm_or_si128(alnum, _mm_or_si128(dot, hyphen));
  if (K == window_kind::local) run = _mm_or_si128(run, _mm_or_si128(eq8(x, '_'), eq8(x, '+')));
  c.m0 = mask8(run);
  c.m1 = mask8(dot);
  if (K == window_kind::domain) c.m2 = mask8(hyphen);
  return c;
}

/// Classifies the octets at @p q, of which @p n (< 16) remain, reading only inside
/// [@p begin, @p end): the 16 octets that end at @p end when there are so many, or a copy.
template <window_kind K>
SMTPKIT_CODEC_INLINE chunk classify_tail(const char* q, std::size_t n, const char* begin,
                                         const char* end) noexcept {
  chunk c;
  unsigned shift = 0;
  __m128i x;
  if (end - begin >= 16) {
    x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(end - 16));
    shift = static_cast<unsigned>(16 - n);  // q's octets are the top n lanes
  } else {
    alignas(16) char buf[16] = {};
    std::memcpy(buf, q, n);
    x = _mm_load_si128(reinterpret_cast<const __m128i*>(buf));
  }
  c = classify_vector<K>(x);
  const unsigned valid = (1u << n) - 1u;
  c.m0 = (c.m0 >> shift) & valid;
  c.m1 = (c.m1 >> shift) & valid;
  c.m2 = (c.m2 >> shift) & valid;
  c.m3 = (c.m3 >> shift) & valid;
  c.m4 = (c.m4 >> shift) & valid;
  c.m5 = (c.m5 >> shift) & valid;
  return c;
}

/// Classifies up to 16 octets at @p q (fewer when the input ends).
template <window_kind K>
SMTPKIT_CODEC_INLINE chunk classify16(const char* q, const char* begin, const char* end) noexcept {
  const auto n = static_cast<std::size_t>(end - q);
  if (n >= 16) return classify_vector<K>(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
  return classify_tail<K>(q, n, begin, end);
}
#else
template <window_kind K>
SMTPKIT_CODEC_INLINE chunk classify16(const char* q, const char*, const char* end) noexcept {
  return classify16_table<K>(q, static_cast<std::size_t>(end - q));
}
#endif

/// Returns the mask of a chunk's octets that let a window of kind @p K go on to the next chunk.
template <window_kind K>
constexpr unsigned window_continues(const chunk& c) noexcept {
  switch (K) {
    case window_kind::domain:
    case window_kind::local:
      return c.m0;
    case window_kind::path:
      return c.m0 | c.m1 | c.m2 | c.m3 | c.m4;  // stops at ">" or anything unusual
    case window_kind::param:
      return c.m0 | c.m3;
  }
  return 0;
}

/// Adds chunk @p I (octets 16 I .. 16 I + 15 from @p p) to @p w. Returns false when the
/// window is complete (the chunk ends the token or the input).
template <window_kind K, unsigned I>
SMTPKIT_CODEC_INLINE bool add_chunk(window& w, const char* p, const char* begin,
                                    const char* end) noexcept {
  const char* const q = p + 16 * I;
  const chunk c = classify16<K>(q, begin, end);
  w.m0 |= static_cast<std::uint64_t>(c.m0) << (16 * I);
  w.m1 |= static_cast<std::uint64_t>(c.m1) << (16 * I);
  w.m2 |= static_cast<std::uint64_t>(c.m2) << (16 * I);
  w.m3 |= static_cast<std::uint64_t>(c.m3) << (16 * I);
  w.m4 |= static_cast<std::uint64_t>(c.m4) << (16 * I);
  w.m5 |= static_cast<std::uint64_t>(c.m5) << (16 * I);
  if (end - q <= 16) {
    w.size = static_cast<unsigned>(end - p);
    return false;
  }
  w.size = 16 * (I + 1);
  return window_continues<K>(c) == 0xFFFFu;
}

/// Classifies the octets at @p p (@pre p < end) for @p K, 16 at a time, until a chunk holds
/// an octet that ends the kind's token, the input ends, or 64 octets are done.
template <window_kind K>
SMTPKIT_CODEC_INLINE window make_window(const char* p, const char* begin,
                                        const char* end) noexcept {
  window w;
  if (add_chunk<K, 0>(w, p, begin, end) && add_chunk<K, 1>(w, p, begin, end) &&
      add_chunk<K, 2>(w, p, begin, end))
    add_chunk<K, 3>(w, p, begin, end);
  return w;
}

/// Returns the number of leading octets of the window in mask @p ok, or -1 when the window
/// ended inside the run before the input did (the fast path cannot decide then).
inline int window_run(std::uint64_t ok, unsigned size, const char* p, const char* end) noexcept {
  const unsigned run = ctz64(~ok);
  if (run > 63 || (run == size && p + run != end)) return -1;
  return static_cast<int>(run);
}

}  // namespace detail
SMTPKIT_NAMESPACE_END
