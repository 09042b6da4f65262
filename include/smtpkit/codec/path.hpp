// smtpkit codec: mailboxes, domains, address literals and the reverse- and forward-paths of
// MAIL and RCPT. RFC 5321 4.1.2 (Path, Mailbox, Local-part, Domain), 4.1.3 (address
// literals), 4.5.3.1.1-3 (size limits); RFC 6531 3.3 (UTF-8 in local-parts and domains).
//
// Rules:
//  1. Parsed values are views into the caller's input: nothing is copied, nothing allocates.
//     host, mailbox, reverse_path and forward_path can only be made by a parser or a checked
//     factory, so each holds text the parser accepts and a writer can emit it unchecked.
//  2. Strict RFC 5321 grammar. A local-part is a Dot-string or a Quoted-string; a domain is
//     sub-domains of Let-dig [Ldh-str] (at most 63 octets each, RFC 1035 2.3.4), or an address
//     literal: IPv4, IPv6 in the four forms of 4.1.3, or a tagged General-address-literal.
//  3. UTF-8 (RFC 6531) is accepted in atoms, quoted-strings and domain labels when it is well
//     formed (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF). The value
//     says so (utf8()), so that a server can require the SMTPUTF8 parameter.
//  4. Lengths are checked against limits: local-part (errc::local_part_too_long), domain
//     (errc::domain_too_long) and path, angle brackets included (errc::path_too_long). A
//     local-part is measured as sent (quotes and backslashes included).
//  5. A source route (A-d-l, "<@a,@b:user@c>") is checked (ASCII domains only) and dropped,
//     as RFC 5321 4.1.2 and appendix C ask; it counts towards the path limit.
//  6. Values compare equal when their wire forms are byte-for-byte equal.
//  7. Speed: common input is accepted by fast paths that classify up to 64 octets at once
//     (SSE2 where the target has it; SMTPKIT_NO_SIMD selects the portable code). A fast path
//     only accepts; everything else goes to the scalar scanners, which are the grammar. The
//     tests run both on random input and require the same answer.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>                  // size_t
#include <cstdint>                  // uint16_t, uint32_t, uint64_t
#include <cstring>                  // memcpy
#include <smtpkit/core/buffer.hpp>  // byte_writer
#include <smtpkit/core/bytes.hpp>   // ascii::iequals
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>   // errc, make_error_code
#include <smtpkit/core/limits.hpp>  // limits
#include <smtpkit/core/result.hpp>  // result
#include <string_view>              // string_view
#include <system_error>             // error_code

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

/// What the domain part of a mailbox (or a HELO/EHLO argument) is.
enum class host_kind : unsigned char {
  domain = 0,   ///< a Domain: "mail.example.com" (U-labels allowed, see host::utf8())
  ipv4 = 1,     ///< "[192.0.2.1]"
  ipv6 = 2,     ///< "[IPv6:2001:db8::1]"
  general = 3,  ///< "[tag:content]", a General-address-literal
};

namespace detail {

// ---- octet classes shared by the codec parsers (one 256-entry table, one load per octet) ----

inline constexpr std::uint16_t cc_atext = 1u << 0;     ///< RFC 5322 atext
inline constexpr std::uint16_t cc_qtext = 1u << 1;     ///< qtextSMTP: %d32-33 / %d35-91 / %d93-126
inline constexpr std::uint16_t cc_dcontent = 1u << 2;  ///< dcontent: %d33-90 / %d94-126
inline constexpr std::uint16_t cc_ldh = 1u << 3;       ///< ALPHA / DIGIT / "-"
inline constexpr std::uint16_t cc_let_dig = 1u << 4;   ///< ALPHA / DIGIT
inline constexpr std::uint16_t cc_value = 1u << 5;     ///< esmtp-value: %d33-60 / %d62-126
inline constexpr std::uint16_t cc_hex = 1u << 6;       ///< HEXDIG, either case
inline constexpr std::uint16_t cc_mech = 1u << 7;    ///< RFC 4422 mech-char: UPPER / DIGIT / - / _
inline constexpr std::uint16_t cc_base64 = 1u << 8;  ///< RFC 4648 base64 alphabet (no "=")
inline constexpr std::uint16_t cc_digit = 1u << 9;   ///< DIGIT
inline constexpr std::uint16_t cc_high = 1u << 10;   ///< an octet >= 0x80
inline constexpr std::uint16_t cc_pair = 1u << 11;   ///< quoted-pairSMTP second octet: %d32-126
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
    if (upper || lower || digit) f |= cc_atext | cc_ldh | cc_let_dig | cc_base64;
    if (digit) f |= cc_digit;
    if (upper || digit || c == '-' || c == '_') f |= cc_mech;
    if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) f |= cc_hex;
    if (c == '-') f |= cc_ldh;
    if (c == '+' || c == '/') f |= cc_base64;
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

/// Loads 4 octets as a little-endian integer (one load on little-endian targets).
inline std::uint32_t load_le32(const char* p) noexcept {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(p[0])) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(p[1])) << 8) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(p[2])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(p[3])) << 24);
}
/// Loads 2 octets as a little-endian integer.
inline std::uint32_t load_le16(const char* p) noexcept {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(p[0])) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(p[1])) << 8);
}
/// Loads 8 octets as a little-endian integer.
inline std::uint64_t load_le64(const char* p) noexcept {
  return static_cast<std::uint64_t>(load_le32(p)) |
         (static_cast<std::uint64_t>(load_le32(p + 4)) << 32);
}
/// The little-endian integer of the first 4 octets of a literal, to compare with load_le32.
constexpr std::uint32_t tag32(const char* s) noexcept {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(s[0])) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[1])) << 8) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[2])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[3])) << 24);
}
/// The little-endian integer of the first 2 octets of a literal.
constexpr std::uint32_t tag16(const char* s) noexcept {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(s[0])) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[1])) << 8);
}
/// The little-endian integer of the first 8 octets of a literal.
constexpr std::uint64_t tag64(const char* s) noexcept {
  return static_cast<std::uint64_t>(tag32(s)) | (static_cast<std::uint64_t>(tag32(s + 4)) << 32);
}
/// OR-ing 0x20 into letters lowercases them; digits and "-" already have the bit, so on
/// ALPHA / DIGIT / "-" text a compare after the OR is a case-insensitive compare.
inline constexpr std::uint32_t lower32 = 0x20202020u;
inline constexpr std::uint32_t lower16 = 0x2020u;
inline constexpr std::uint64_t lower64 = 0x2020202020202020ull;

/// The "no error" value of errc (no enumerator has the value 0).
inline constexpr errc no_error = errc{};

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

// ---- windows: up to 64 octets classified at once (SSE2 where the target has it) ----------
//
// A window gives, for each class of a token kind, one bit per octet at p, p+1, ... (at most
// 64, never at or past the end of the input). The fast paths use windows to accept common
// input with a few bit operations instead of a loop and a branch per octet; whatever a fast
// path cannot decide goes to the scalar scanners, which remain the one statement of the
// grammar. Define SMTPKIT_NO_SIMD to use the portable table code (it gives the same bits).

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

/// Returns true when the "." bits @p dots (of a run of @p n > 0 octets) make atoms or labels:
/// no "." first, last, or next to another "."; nor, with the "-" bits @p hyphens, a "-" at
/// the start or end of a label.
constexpr bool well_dotted(std::uint64_t dots, std::uint64_t hyphens, unsigned n) noexcept {
  const std::uint64_t edges = dots | hyphens;
  return ((edges & 1u) | ((edges >> (n - 1)) & 1u) | (dots & (dots >> 1)) |
          (hyphens & (dots << 1)) | (hyphens & (dots >> 1))) == 0;
}

/// Scans a Dot-string local-part (atoms of atext or UTF-8 separated by single dots).
/// On success @p p is past it. Stops at the first octet that cannot continue it.
inline errc scan_dot_string(const char*& p, const char* begin, const char* end, bool& utf8,
                            bool fast = true) noexcept {
  if (fast && p < end) {
    // Fast path: a Dot-string of ALPHA / DIGIT / . - _ + followed by "@".
    const window w = make_window<window_kind::local>(p, begin, end);
    const int run = window_run(w.m0, w.size, p, end);
    if (run > 0 && p + run < end && p[run] == '@' &&
        well_dotted(w.m1 & low_bits(static_cast<unsigned>(run)), 0, static_cast<unsigned>(run))) {
      p += run;
      return no_error;
    }
  }
  const char* q = p;  // a local copy stays in a register
  for (;;) {
    const char* const atom = q;
    for (;;) {
      while (q < end && (cls(*q) & cc_atext)) ++q;
      if (q == end || !(cls(*q) & cc_high)) break;
      const std::size_t n = utf8_length(q, end);
      if (n == 0) {
        p = q;
        return errc::bad_utf8;
      }
      q += n;
      utf8 = true;
    }
    if (q == atom) {
      p = q;
      return errc::bad_local_part;
    }
    if (q == end || *q != '.') {
      p = q;
      return no_error;
    }
    ++q;
  }
}

/// Scans a Quoted-string at @p p (which is at its DQUOTE). On success @p p is past the closing
/// DQUOTE.
inline errc scan_quoted_string(const char*& p, const char* end, bool& utf8) noexcept {
  const char* q = p + 1;
  errc e = errc::bad_local_part;
  while (q < end) {
    const char c = *q;
    const std::uint16_t k = cls(c);
    if (k & cc_qtext) {
      ++q;
    } else if (c == '"') {
      ++q;
      e = no_error;
      break;
    } else if (c == '\\') {
      if (end - q < 2 || !(cls(q[1]) & cc_pair)) break;
      q += 2;
    } else if (k & cc_high) {
      const std::size_t n = utf8_length(q, end);
      if (n == 0) {
        e = errc::bad_utf8;
        break;
      }
      q += n;
      utf8 = true;
    } else {
      break;
    }
  }
  p = q;
  return e;
}

/// Scans a Local-part (Dot-string / Quoted-string).
inline errc scan_local_part(const char*& p, const char* begin, const char* end, bool& quoted,
                            bool& utf8, bool fast = true) noexcept {
  if (p < end && *p == '"') {
    quoted = true;
    return scan_quoted_string(p, end, utf8);
  }
  quoted = false;
  return scan_dot_string(p, begin, end, utf8, fast);
}

/// Scans a Domain: sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str] or, when
/// @p allow_utf8, a label with UTF-8 (RFC 6531 U-label; hyphen rules as for ASCII). ASCII
/// labels are at most 63 octets. Stops at the first octet that cannot continue it.
inline errc scan_domain_name(const char*& p, const char* begin, const char* end, bool allow_utf8,
                             bool& utf8, bool fast = true) noexcept {
  if (fast && p < end) {
    // Fast path: ASCII labels, not followed by UTF-8, checked with the window's bits.
    const window w = make_window<window_kind::domain>(p, begin, end);
    const int run = window_run(w.m0, w.size, p, end);
    if (run > 0 && (p + run == end || !(cls(p[run]) & cc_high))) {
      const auto n = static_cast<unsigned>(run);
      if (well_dotted(w.m1 & low_bits(n), w.m2 & low_bits(n), n)) {
        p += run;
        return no_error;
      }
    }
  }
  const char* q = p;  // a local copy stays in a register
  errc e = errc::bad_domain;
  for (;;) {
    const char* const label = q;
    bool ascii = true;
    if (q == end || *q == '-') break;
    for (;;) {
      while (q < end && (cls(*q) & cc_ldh)) ++q;
      if (q == end || !allow_utf8 || !(cls(*q) & cc_high)) break;
      const std::size_t n = utf8_length(q, end);
      if (n == 0) {
        p = q;
        return errc::bad_utf8;
      }
      q += n;
      ascii = false;
    }
    if (q == label || q[-1] == '-') break;
    if (!ascii) {
      utf8 = true;
    } else if (q - label > 63) {
      break;
    }
    if (q == end || *q != '.') {
      e = no_error;
      break;
    }
    ++q;
  }
  p = q;
  return e;
}

/// Returns true when @p s is an IPv4-address-literal: Snum 3("." Snum), Snum = 1*3DIGIT <= 255.
constexpr bool is_ipv4_literal(std::string_view s) noexcept {
  std::size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part != 0) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
    unsigned v = 0;
    std::size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && digits < 3) {
      v = v * 10 + static_cast<unsigned>(s[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || v > 255) return false;
  }
  return i == s.size();
}

/// Returns true when @p s is an IPv6-addr of RFC 5321 4.1.3: IPv6-full, IPv6-comp (at most 6
/// groups besides "::"), IPv6v4-full or IPv6v4-comp (at most 4 groups besides "::").
constexpr bool is_ipv6_addr(std::string_view s) noexcept {
  const std::size_t n = s.size();
  std::size_t i = 0;
  std::size_t groups = 0;
  bool compressed = false;
  bool v4 = false;
  if (n >= 2 && s[0] == ':' && s[1] == ':') {
    compressed = true;
    i = 2;
  } else if (n == 0 || s[0] == ':') {
    return false;
  }
  while (i < n) {
    std::size_t k = i;
    bool dotted = false;
    while (k < n && s[k] != ':') {
      if (s[k] == '.') dotted = true;
      ++k;
    }
    const std::string_view token = s.substr(i, k - i);
    if (dotted) {
      if (k != n || !is_ipv4_literal(token)) return false;
      v4 = true;
      break;
    }
    if (token.empty() || token.size() > 4) return false;
    for (char c : token)
      if (!(cls(c) & cc_hex)) return false;
    ++groups;
    if (k == n) break;
    if (k + 1 < n && s[k + 1] == ':') {
      if (compressed) return false;
      compressed = true;
      i = k + 2;
    } else {
      i = k + 1;
      if (i == n) return false;
    }
  }
  if (v4) return compressed ? groups <= 4 : groups == 6;
  return compressed ? groups <= 6 : groups == 8;
}

/// Returns true when @p s is an Ldh-str: *( ALPHA / DIGIT / "-" ) Let-dig.
constexpr bool is_ldh_str(std::string_view s) noexcept {
  if (s.empty() || !(cls(s.back()) & cc_let_dig)) return false;
  for (char c : s)
    if (!(cls(c) & cc_ldh)) return false;
  return true;
}

/// Scans an address-literal at @p p (which is at its "["). On success @p p is past the "]".
inline errc scan_address_literal(const char*& p, const char* end, host_kind& kind) noexcept {
  const char* const s = p + 1;
  const char* q = s;
  while (q < end && (cls(*q) & cc_dcontent)) ++q;
  if (q == end || *q != ']' || q == s) return errc::bad_address_literal;
  const std::string_view content(s, static_cast<std::size_t>(q - s));
  const std::size_t colon = content.find(':');
  if (colon == std::string_view::npos) {
    if (!is_ipv4_literal(content)) return errc::bad_address_literal;
    kind = host_kind::ipv4;
  } else {
    const std::string_view tag = content.substr(0, colon);
    if (ascii::iequals(tag, "IPv6")) {
      if (!is_ipv6_addr(content.substr(colon + 1))) return errc::bad_address_literal;
      kind = host_kind::ipv6;
    } else {
      // General-address-literal = Standardized-tag ":" 1*dcontent; the content was scanned.
      if (!is_ldh_str(tag) || colon + 1 == content.size()) return errc::bad_address_literal;
      kind = host_kind::general;
    }
  }
  p = q + 1;
  return no_error;
}

/// Scans a Domain or an address-literal.
inline errc scan_host(const char*& p, const char* begin, const char* end, host_kind& kind,
                      bool& utf8, bool fast = true) noexcept {
  if (p < end && *p == '[') return scan_address_literal(p, end, kind);
  kind = host_kind::domain;
  return scan_domain_name(p, begin, end, true, utf8, fast);
}

struct path_access;

/// The largest size a view in a parsed value can have (sizes are stored in 16 bits, which
/// keeps a parsed command small enough to be returned without a block copy).
inline constexpr std::size_t max_view_size = 0xFFFF;

}  // namespace detail

/// A validated Domain or address literal: the argument of HELO/EHLO/LHLO and the part of a
/// mailbox after "@". Made by parse_host() or a path parser only.
/// @warning Holds a view: valid while the parsed text lives.
class host {
 public:
  /// Makes an empty host (which no writer accepts).
  constexpr host() noexcept = default;

  /// Returns the host as sent: "mail.example.com", "[192.0.2.1]", "[IPv6:::1]".
  constexpr std::string_view text() const noexcept { return {data_, size_}; }
  /// Returns which grammar the host matched.
  constexpr host_kind kind() const noexcept { return kind_; }
  /// Returns true when a label holds UTF-8 (a U-label; needs SMTPUTF8).
  constexpr bool utf8() const noexcept { return utf8_; }
  /// Returns true for "[...]" address literals.
  constexpr bool is_address_literal() const noexcept { return kind_ != host_kind::domain; }
  /// Returns true for a default-constructed host.
  constexpr bool empty() const noexcept { return size_ == 0; }
  /// Returns the address inside an address literal without the brackets, and without the
  /// "IPv6:" tag: "192.0.2.1", "2001:db8::1", "x-tag:content". Returns text() for a domain.
  constexpr std::string_view address() const noexcept {
    switch (kind_) {
      case host_kind::domain:
        return text();
      case host_kind::ipv6:
        return text().substr(6, size_ - 7u);
      case host_kind::ipv4:
      case host_kind::general:
        break;
    }
    return text().substr(1, size_ - 2u);
  }

  friend constexpr bool operator==(const host& a, const host& b) noexcept {
    return a.text() == b.text();
  }
  friend constexpr bool operator!=(const host& a, const host& b) noexcept { return !(a == b); }

 private:
  friend struct detail::path_access;
  friend class mailbox;

  const char* data_ = nullptr;
  std::uint16_t size_ = 0;
  host_kind kind_ = host_kind::domain;
  bool utf8_ = false;
};

/// A validated Mailbox (RFC 5321 4.1.2): Local-part "@" ( Domain / address-literal ). Made by
/// parse_mailbox(), make_mailbox() or a path parser only.
/// @warning Holds views: valid while the parsed text lives.
class mailbox {
 public:
  /// Makes an empty mailbox (the one inside a null reverse-path).
  constexpr mailbox() noexcept = default;

  /// Returns the local-part as sent: a Dot-string, or a Quoted-string with its quotes and
  /// backslashes (see quoted(); unquote_local_part() gives its content). Case-sensitive.
  constexpr std::string_view local_part() const noexcept { return {local_, local_size_}; }
  /// Returns the domain or address literal as sent ("example.com", "[192.0.2.1]").
  constexpr std::string_view domain() const noexcept { return {domain_, domain_size_}; }
  /// Returns the domain as a host (kind(), address()).
  constexpr host domain_host() const noexcept {
    host h;
    h.data_ = domain_;
    h.size_ = domain_size_;
    h.kind_ = kind_;
    h.utf8_ = (flags_ & domain_utf8_flag) != 0;
    return h;
  }
  /// Returns which grammar the domain matched.
  constexpr host_kind domain_kind() const noexcept { return kind_; }
  /// Returns true when the local-part is a Quoted-string.
  constexpr bool quoted() const noexcept { return (flags_ & quoted_flag) != 0; }
  /// Returns true when the local-part or the domain holds UTF-8 (RFC 6531; needs SMTPUTF8).
  constexpr bool utf8() const noexcept {
    return (flags_ & (local_utf8_flag | domain_utf8_flag)) != 0;
  }
  /// Returns true for a default-constructed mailbox.
  constexpr bool empty() const noexcept { return local_size_ == 0; }
  /// Returns the octets local-part "@" domain takes on the wire.
  constexpr std::size_t size() const noexcept {
    return std::size_t{local_size_} + (domain_size_ == 0 ? 0u : 1u + domain_size_);
  }

  friend constexpr bool operator==(const mailbox& a, const mailbox& b) noexcept {
    return a.local_part() == b.local_part() && a.domain() == b.domain();
  }
  friend constexpr bool operator!=(const mailbox& a, const mailbox& b) noexcept {
    return !(a == b);
  }

 private:
  friend struct detail::path_access;
  friend class forward_path;
  static constexpr std::uint8_t quoted_flag = 1;
  static constexpr std::uint8_t local_utf8_flag = 2;
  static constexpr std::uint8_t domain_utf8_flag = 4;
  static constexpr std::uint8_t postmaster_flag = 8;  // used by forward_path only

  const char* local_ = nullptr;
  const char* domain_ = nullptr;
  std::uint16_t local_size_ = 0;
  std::uint16_t domain_size_ = 0;
  host_kind kind_ = host_kind::domain;
  std::uint8_t flags_ = 0;
};

/// A reverse-path (RFC 5321 4.1.2): "<" Mailbox ">" or the null path "<>".
/// @warning Holds views: valid while the parsed text lives.
class reverse_path {
 public:
  /// Makes the null reverse-path "<>".
  constexpr reverse_path() noexcept = default;
  /// Makes the path "<m>"; an empty @p m makes the null path.
  constexpr explicit reverse_path(const mailbox& m) noexcept : box_(m) {}

  /// Returns true for the null reverse-path "<>" (bounces, RFC 5321 4.5.5).
  constexpr bool is_null() const noexcept { return box_.empty(); }
  /// Returns the mailbox; empty for the null path.
  constexpr const mailbox& address() const noexcept { return box_; }

  friend constexpr bool operator==(const reverse_path& a, const reverse_path& b) noexcept {
    return a.box_ == b.box_;
  }
  friend constexpr bool operator!=(const reverse_path& a, const reverse_path& b) noexcept {
    return !(a == b);
  }

 private:
  friend struct detail::path_access;
  mailbox box_;
};

/// A forward-path (RFC 5321 4.1.2): "<" Mailbox ">", or "<Postmaster>" (any case), which RCPT
/// accepts without a domain (RFC 5321 4.1.1.3, 4.5.1).
/// @warning Holds views: valid while the parsed text lives.
class forward_path {
 public:
  /// Makes an empty forward-path (which no writer accepts).
  constexpr forward_path() noexcept = default;
  /// Makes the path "<m>".
  constexpr explicit forward_path(const mailbox& m) noexcept : box_(m) {
    box_.flags_ = static_cast<std::uint8_t>(box_.flags_ & ~mailbox::postmaster_flag);
  }

  /// Returns the path "<Postmaster>".
  static constexpr forward_path postmaster() noexcept {
    forward_path f;
    f.box_.local_ = "Postmaster";
    f.box_.local_size_ = 10;
    f.box_.flags_ = mailbox::postmaster_flag;
    return f;
  }

  /// Returns true for "<Postmaster>" without a domain. "<Postmaster@domain>" is an ordinary
  /// mailbox (compare its local-part to see it).
  constexpr bool is_postmaster() const noexcept {
    return (box_.flags_ & mailbox::postmaster_flag) != 0;
  }
  /// Returns the mailbox. For "<Postmaster>", local_part() is the word as sent and domain()
  /// is empty.
  constexpr const mailbox& address() const noexcept { return box_; }
  /// Returns true for a default-constructed path.
  constexpr bool empty() const noexcept { return box_.empty(); }

  friend constexpr bool operator==(const forward_path& a, const forward_path& b) noexcept {
    return a.box_ == b.box_ && a.is_postmaster() == b.is_postmaster();
  }
  friend constexpr bool operator!=(const forward_path& a, const forward_path& b) noexcept {
    return !(a == b);
  }

 private:
  friend struct detail::path_access;
  mailbox box_;
};

namespace detail {

/// Which special forms a path may take.
enum class path_mode : unsigned char {
  reverse,  ///< "<>" allowed
  forward,  ///< "<Postmaster>" allowed
  plain,    ///< neither
};

/// Builds the validated types; the only way besides their public constructors.
struct path_access {
  static constexpr host make_host(const char* data, std::size_t size, host_kind kind,
                                  bool utf8) noexcept {
    host h;
    h.data_ = data;
    h.size_ = static_cast<std::uint16_t>(size);
    h.kind_ = kind;
    h.utf8_ = utf8;
    return h;
  }
  static constexpr void set_local(mailbox& m, const char* data, std::size_t size, bool quoted,
                                  bool utf8) noexcept {
    m.local_ = data;
    m.local_size_ = static_cast<std::uint16_t>(size);
    m.flags_ = static_cast<std::uint8_t>((quoted ? mailbox::quoted_flag : 0u) |
                                         (utf8 ? mailbox::local_utf8_flag : 0u));
  }
  static constexpr void set_domain(mailbox& m, const char* data, std::size_t size, host_kind kind,
                                   bool utf8) noexcept {
    m.domain_ = data;
    m.domain_size_ = static_cast<std::uint16_t>(size);
    m.kind_ = kind;
    if (utf8) m.flags_ = static_cast<std::uint8_t>(m.flags_ | mailbox::domain_utf8_flag);
  }
  static constexpr void set_domain(mailbox& m, const host& h) noexcept {
    set_domain(m, h.data_, h.size_, h.kind_, h.utf8_);
  }
  static constexpr void set_postmaster(mailbox& m) noexcept {
    m.flags_ = static_cast<std::uint8_t>(m.flags_ | mailbox::postmaster_flag);
  }
  static inline errc parse_host(std::string_view text, const limits& lim, host& out) noexcept;
  static inline errc parse_path(std::string_view text, const limits& lim, path_mode mode,
                                mailbox& out) noexcept;
  static constexpr mailbox& box(reverse_path& r) noexcept { return r.box_; }
  static constexpr mailbox& box(forward_path& f) noexcept { return f.box_; }
  static constexpr forward_path make_forward(const mailbox& m) noexcept {
    forward_path f;
    f.box_ = m;
    return f;
  }
};

/// Scans local-part "@" host at @p p and checks the local-part and domain limits. On success
/// @p p is past the host. Error precedence: grammar first, then local-part, then domain size.
inline errc scan_mailbox(const char*& p, const char* begin, const char* end, const limits& lim,
                         mailbox& out, bool fast = true) noexcept {
  const char* const local = p;
  bool quoted = false;
  bool local_utf8 = false;
  errc e = scan_local_part(p, begin, end, quoted, local_utf8, fast);
  if (e != no_error) return e;
  const auto local_size = static_cast<std::size_t>(p - local);
  if (p == end || *p != '@') return (p == end || *p == '>') ? errc::bad_path : errc::bad_local_part;
  if (local_size > lim.local_part || local_size > max_view_size) return errc::local_part_too_long;
  ++p;
  const char* const dom = p;
  host_kind kind = host_kind::domain;
  bool dom_utf8 = false;
  e = scan_host(p, begin, end, kind, dom_utf8, fast);
  if (e != no_error) return e;
  const auto dom_size = static_cast<std::size_t>(p - dom);
  if (dom_size > lim.domain || dom_size > max_view_size) return errc::domain_too_long;
  path_access::set_local(out, local, local_size, quoted, local_utf8);
  path_access::set_domain(out, dom, dom_size, kind, dom_utf8);
  return no_error;
}

/// Scans a Path (or "<>" / "<Postmaster>" as @p mode allows) at @p p and checks every limit.
/// On success @p p is past the ">" and @p out holds the mailbox (empty for "<>"; with the
/// postmaster flag for "<Postmaster>").
inline errc scan_path(const char*& p, const char* begin, const char* end, const limits& lim,
                      path_mode mode, mailbox& out, bool fast = true) noexcept {
  const char* const start = p;
  if (p == end || *p != '<') return errc::bad_path;
  ++p;
  if (p == end) return errc::bad_path;
  if (*p == '>') {
    if (mode != path_mode::reverse) return errc::bad_path;
    ++p;
    return no_error;
  }
  if (mode == path_mode::forward && end - p >= 11 && p[10] == '>' &&
      ascii::iequals(std::string_view(p, 10), "postmaster")) {
    path_access::set_local(out, p, 10, false, false);
    path_access::set_postmaster(out);
    p += 11;
    return no_error;
  }
  if (fast && *p != '@') {
    // Fast path: "<" local "@" domain ">" of the usual octets, checked from one window.
    const window w = make_window<window_kind::path>(p, begin, end);
    const unsigned gt = ctz64(w.m5);  // the ">" (64 when none in the window)
    const unsigned at = ctz64(w.m4);  // the first "@"
    if (gt < 64 && at != 0 && at + 1 < gt) {
      const std::uint64_t alnum = w.m0;
      const std::uint64_t dots = w.m1;
      const std::uint64_t hyphens = w.m2;
      const std::uint64_t local = low_bits(at);
      const std::uint64_t domain = low_bits(gt) & ~low_bits(at + 1);
      const unsigned dom_size = gt - at - 1;
      if (((alnum | dots | hyphens | w.m3) & local) == local &&
          ((alnum | dots | hyphens) & domain) == domain && well_dotted(dots & local, 0, at) &&
          well_dotted((dots & domain) >> (at + 1), (hyphens & domain) >> (at + 1), dom_size) &&
          at <= lim.local_part && dom_size <= lim.domain && gt + 2 <= lim.path) {
        path_access::set_local(out, p, at, false, false);
        path_access::set_domain(out, p + at + 1, dom_size, host_kind::domain, false);
        p += gt + 1;
        return no_error;
      }
    }
  } else if (*p == '@') {
    // A-d-l = At-domain *( "," At-domain ); At-domain = "@" Domain. Checked, then dropped.
    for (;;) {
      ++p;
      bool ignored = false;
      const errc e = scan_domain_name(p, begin, end, false, ignored, fast);
      if (e != no_error) return e;
      if (p == end) return errc::bad_path;
      if (*p == ',') {
        ++p;
        if (p == end || *p != '@') return errc::bad_path;
        continue;
      }
      if (*p != ':') return errc::bad_path;
      ++p;
      break;
    }
  }
  const errc e = scan_mailbox(p, begin, end, lim, out, fast);
  if (e != no_error) return e;
  if (p == end || *p != '>') return p == end ? errc::bad_path : errc::bad_domain;
  ++p;
  if (static_cast<std::size_t>(p - start) > lim.path) return errc::path_too_long;
  return no_error;
}

/// Makes the error of a whole-string parse that stopped early.
constexpr errc trailing_error(host_kind kind) noexcept {
  return kind == host_kind::domain ? errc::bad_domain : errc::bad_address_literal;
}

/// Parses the whole of @p text as a host into @p out.
inline errc path_access::parse_host(std::string_view text, const limits& lim, host& out) noexcept {
  const char* p = text.data();
  const char* const end = p + text.size();
  bool utf8 = false;
  const errc e = scan_host(p, text.data(), end, out.kind_, utf8);
  if (e != no_error) return e;
  if (p != end) return trailing_error(out.kind_);
  if (text.size() > lim.domain || text.size() > max_view_size) return errc::domain_too_long;
  out.data_ = text.data();
  out.size_ = static_cast<std::uint16_t>(text.size());
  out.utf8_ = utf8;
  return no_error;
}

/// Parses the whole of @p text as a path into @p out.
inline errc path_access::parse_path(std::string_view text, const limits& lim, path_mode mode,
                                    mailbox& out) noexcept {
  const char* p = text.data();
  const char* const end = p + text.size();
  const errc e = scan_path(p, text.data(), end, lim, mode, out);
  if (e != no_error) return e;
  return p == end ? no_error : errc::bad_path;
}

}  // namespace detail

/// Parses @p text, the whole of it, as a Domain or an address-literal (RFC 5321 4.1.2, 4.1.3):
/// a HELO/EHLO argument or the part of a mailbox after "@".
/// @param text the host as sent, e.g. "mail.example.com" or "[IPv6:2001:db8::1]".
/// @param lim limits.domain bounds its size.
/// @return the host, or errc::bad_domain, errc::bad_address_literal, errc::bad_utf8,
///         errc::domain_too_long (501 in a command).
/// @warning The result views @p text.
inline result<host> parse_host(std::string_view text, const limits& lim = limits{}) noexcept {
  // Built in place (one named result): copying a value assembled from narrow stores stalls
  // store forwarding.
  result<host> r{host()};
  const errc e = detail::path_access::parse_host(text, lim, r.value());
  if (e != detail::no_error) r = e;
  return r;
}

/// Parses @p text, the whole of it, as a Mailbox: Local-part "@" ( Domain / address-literal ),
/// without angle brackets.
/// @param lim bounds the local-part, the domain, and the path "<" mailbox ">" it would make.
/// @return the mailbox, or errc::bad_path (no "@"), errc::bad_local_part, errc::bad_domain,
///         errc::bad_address_literal, errc::bad_utf8, errc::local_part_too_long,
///         errc::domain_too_long, errc::path_too_long.
/// @warning The result views @p text.
inline result<mailbox> parse_mailbox(std::string_view text, const limits& lim = limits{}) noexcept {
  result<mailbox> r{mailbox()};
  const char* p = text.data();
  const char* const end = p + text.size();
  errc e = detail::scan_mailbox(p, text.data(), end, lim, r.value());
  if (e == detail::no_error && p != end) e = detail::trailing_error(r.value().domain_kind());
  if (e == detail::no_error && text.size() + 2 > lim.path) e = errc::path_too_long;
  if (e != detail::no_error) r = e;
  return r;
}

/// Makes a mailbox from a local-part in its wire form (a Dot-string, or a Quoted-string with
/// its quotes; quote_local_part() makes one from any text) and a domain or address literal.
/// @return the mailbox, or the errors of parse_local_part/parse_host: errc::bad_local_part,
///         errc::bad_utf8, errc::bad_domain, errc::bad_address_literal,
///         errc::local_part_too_long, errc::domain_too_long, errc::path_too_long.
/// @warning The result views @p local_part and @p domain.
inline result<mailbox> make_mailbox(std::string_view local_part, std::string_view domain,
                                    const limits& lim = limits{}) noexcept {
  const char* p = local_part.data();
  const char* const end = p + local_part.size();
  bool quoted = false;
  bool utf8 = false;
  const errc e = detail::scan_local_part(p, local_part.data(), end, quoted, utf8);
  if (e != detail::no_error) return e;
  if (p != end) return errc::bad_local_part;
  if (local_part.size() > lim.local_part || local_part.size() > detail::max_view_size)
    return errc::local_part_too_long;
  host h;
  const errc d = detail::path_access::parse_host(domain, lim, h);
  if (d != detail::no_error) return d;
  if (local_part.size() + domain.size() + 3 > lim.path) return errc::path_too_long;
  result<mailbox> r{mailbox()};
  detail::path_access::set_local(r.value(), local_part.data(), local_part.size(), quoted, utf8);
  detail::path_access::set_domain(r.value(), h);
  return r;
}

/// Parses @p text, the whole of it, as a Reverse-path: Path / "<>" (RFC 5321 4.1.2). A source
/// route is checked and dropped.
/// @return the path, or errc::bad_path, errc::bad_local_part, errc::bad_domain,
///         errc::bad_address_literal, errc::bad_utf8, errc::local_part_too_long,
///         errc::domain_too_long, errc::path_too_long (all 501 in MAIL).
/// @warning The result views @p text.
inline result<reverse_path> parse_reverse_path(std::string_view text,
                                               const limits& lim = limits{}) noexcept {
  result<reverse_path> r{reverse_path()};
  const errc e = detail::path_access::parse_path(text, lim, detail::path_mode::reverse,
                                                 detail::path_access::box(r.value()));
  if (e != detail::no_error) r = e;
  return r;
}

/// Parses @p text, the whole of it, as a Forward-path, or "<Postmaster>" in any case
/// (RFC 5321 4.1.1.3). A source route is checked and dropped.
/// @return the path, or the errors of parse_reverse_path() ("<>" is errc::bad_path).
/// @warning The result views @p text.
inline result<forward_path> parse_forward_path(std::string_view text,
                                               const limits& lim = limits{}) noexcept {
  result<forward_path> r{forward_path()};
  const errc e = detail::path_access::parse_path(text, lim, detail::path_mode::forward,
                                                 detail::path_access::box(r.value()));
  if (e != detail::no_error) r = e;
  return r;
}

/// Appends the content of a local-part: a Dot-string as it is, a Quoted-string without its
/// quotes and with each quoted-pair replaced by its octet ("\"a\\\"b\"" gives a"b).
/// @return an empty error_code, errc::invalid_argument (@p local_part is not a Local-part) or
///         errc::output_full. On error nothing is appended.
inline std::error_code unquote_local_part(std::string_view local_part, byte_writer& out) noexcept {
  const char* p = local_part.data();
  const char* const end = p + local_part.size();
  bool quoted = false;
  bool utf8 = false;
  if (detail::scan_local_part(p, local_part.data(), end, quoted, utf8) != detail::no_error ||
      p != end)
    return make_error_code(errc::invalid_argument);
  if (!quoted) {
    if (!out.append(local_part)) return make_error_code(errc::output_full);
    return {};
  }
  const std::size_t mark = out.mark();
  for (std::size_t i = 1; i + 1 < local_part.size(); ++i) {
    if (local_part[i] == '\\') ++i;
    if (!out.push(local_part[i])) {
      out.rollback(mark);
      return make_error_code(errc::output_full);
    }
  }
  return {};
}

/// Appends the wire form of a local-part whose content is @p text: @p text itself when it is
/// a Dot-string, otherwise a Quoted-string with "\"" and "\\" escaped (RFC 5321 4.1.2 asks
/// for the unquoted form whenever it is possible).
/// @return an empty error_code, errc::invalid_argument (@p text holds a control character,
///         DEL, or ill-formed UTF-8, which no local-part can carry) or errc::output_full. On
///         error nothing is appended.
inline std::error_code quote_local_part(std::string_view text, byte_writer& out) noexcept {
  const char* p = text.data();
  const char* const end = p + text.size();
  bool utf8 = false;
  if (!text.empty() && detail::scan_dot_string(p, text.data(), end, utf8) == detail::no_error &&
      p == end) {
    if (!out.append(text)) return make_error_code(errc::output_full);
    return {};
  }
  for (p = text.data(); p < end;) {
    const std::uint16_t k = detail::cls(*p);
    if (k & detail::cc_pair) {
      ++p;
    } else if (k & detail::cc_high) {
      const std::size_t n = detail::utf8_length(p, end);
      if (n == 0) return make_error_code(errc::invalid_argument);
      p += n;
    } else {
      return make_error_code(errc::invalid_argument);
    }
  }
  const std::size_t mark = out.mark();
  bool ok = out.push('"');
  for (char c : text) {
    if (c == '"' || c == '\\') ok = ok && out.push('\\');
    ok = ok && out.push(c);
  }
  ok = ok && out.push('"');
  if (!ok) {
    out.rollback(mark);
    return make_error_code(errc::output_full);
  }
  return {};
}

SMTPKIT_NAMESPACE_END
