// smtpkit codec: base64 (RFC 4648 section 4, the standard alphabet with '=' padding), as used
// by SMTP AUTH (RFC 4954 4: challenges, responses and initial responses).
//
// Rules:
//  1. Decoding is strict (RFC 4648 3.1-3.5): the length is a multiple of 4; every character is
//     in the alphabet; '=' appears only as the last one or two characters of the last quantum;
//     the bits that padding leaves over are zero (so every byte string has exactly one
//     encoding); no whitespace, no line breaks. Anything else is errc::bad_base64.
//  2. The empty string encodes to, and decodes from, the empty string. (SASL's "=" for an empty
//     response, RFC 4954 4, is the caller's business, not base64.)
//  3. Output goes into a byte_writer or a caller's buffer; on any error nothing is appended (the
//     writer is rolled back) and the caller's buffer holds unspecified bytes.
//  4. Table-driven, no allocation, no exceptions.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>  // size_t
#include <cstdint>  // uint8_t, uint32_t
#include <smtpkit/core/buffer.hpp>
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>
#include <smtpkit/core/result.hpp>
#include <string_view>   // string_view
#include <system_error>  // error_code

SMTPKIT_NAMESPACE_BEGIN

/// Returns the length of the base64 form of @p n bytes: 4 * ceil(n / 3).
/// @pre n <= SIZE_MAX / 4 * 3 (the result must fit a size_t).
constexpr std::size_t base64_encoded_size(std::size_t n) noexcept {
  return (n / 3 + (n % 3 != 0 ? 1 : 0)) * 4;
}

/// Returns the most bytes that @p n base64 characters decode to: n / 4 * 3.
constexpr std::size_t base64_max_decoded_size(std::size_t n) noexcept {
  return n / 4 * 3;
}

/// Returns how many bytes @p encoded decodes to when it is well formed: its length / 4 * 3 less
/// one per trailing '=' (at most two). For input that decode_base64() refuses the value means
/// nothing beyond being at most base64_max_decoded_size(encoded.size()).
constexpr std::size_t base64_decoded_size(std::string_view encoded) noexcept {
  const std::size_t n = base64_max_decoded_size(encoded.size());
  if (n == 0) return 0;
  const std::size_t end = encoded.size() / 4 * 4;
  std::size_t pad = 0;
  if (encoded[end - 1] == '=') ++pad;
  if (pad == 1 && encoded[end - 2] == '=') ++pad;
  return n - pad;
}

namespace detail {

/// RFC 4648 Table 1, value to character.
inline constexpr char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Character to value (0-63), or 0xFF for a character outside the alphabet (including '=').
struct base64_table {
  std::uint8_t value[256];
  constexpr base64_table() noexcept : value() {
    for (auto& v : value) v = 0xFF;
    for (int i = 0; i < 64; ++i)
      value[static_cast<unsigned char>(base64_alphabet[i])] = static_cast<std::uint8_t>(i);
  }
};
inline constexpr base64_table base64_decode_table{};

constexpr std::uint32_t b64v(char c) noexcept {
  return base64_decode_table.value[static_cast<unsigned char>(c)];
}

/// Encodes @p n bytes at @p in into base64_encoded_size(n) characters at @p out.
inline void encode_base64_block(const char* in, std::size_t n, char* out) noexcept {
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16 |
                            static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8 |
                            static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 2]));
    *out++ = base64_alphabet[v >> 18];
    *out++ = base64_alphabet[(v >> 12) & 63];
    *out++ = base64_alphabet[(v >> 6) & 63];
    *out++ = base64_alphabet[v & 63];
  }
  if (i < n) {
    const bool two = i + 2 == n;
    const std::uint32_t v =
        static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16 |
        (two ? static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8 : 0u);
    *out++ = base64_alphabet[v >> 18];
    *out++ = base64_alphabet[(v >> 12) & 63];
    *out++ = two ? base64_alphabet[(v >> 6) & 63] : '=';
    *out++ = '=';
  }
}

/// Decodes @p n characters (a multiple of 4) at @p in. When @p last, the final quantum may end
/// in "=" or "==". Writes to @p out unless it is null (validation only).
/// Returns the number of bytes decoded, or npos when the input is not strict base64.
constexpr std::size_t decode_base64_block(const char* in, std::size_t n, bool last,
                                          char* out) noexcept {
  constexpr std::size_t bad = static_cast<std::size_t>(-1);
  std::size_t full = n;
  if (last && n != 0 && in[n - 1] == '=') full = n - 4;  // the padded quantum, handled below
  std::size_t w = 0;
  for (std::size_t i = 0; i < full; i += 4) {
    const std::uint32_t a = b64v(in[i]), b = b64v(in[i + 1]), c = b64v(in[i + 2]),
                        d = b64v(in[i + 3]);
    if (((a | b | c | d) & 0x80) != 0) return bad;
    const std::uint32_t v = a << 18 | b << 12 | c << 6 | d;
    if (out) {
      out[w] = static_cast<char>(v >> 16);
      out[w + 1] = static_cast<char>((v >> 8) & 0xFF);
      out[w + 2] = static_cast<char>(v & 0xFF);
    }
    w += 3;
  }
  if (full == n) return w;
  // "xx==" or "xxx=", with the bits the padding leaves over all zero (RFC 4648 3.5).
  const char* q = in + full;
  const std::uint32_t a = b64v(q[0]), b = b64v(q[1]);
  if (((a | b) & 0x80) != 0) return bad;
  if (q[2] == '=') {
    if ((b & 0x0F) != 0) return bad;
    if (out) out[w] = static_cast<char>((a << 2 | b >> 4) & 0xFF);
    return w + 1;
  }
  const std::uint32_t c = b64v(q[2]);
  if ((c & 0x80) != 0 || (c & 0x03) != 0) return bad;
  const std::uint32_t v = a << 18 | b << 12 | c << 6;
  if (out) {
    out[w] = static_cast<char>(v >> 16);
    out[w + 1] = static_cast<char>((v >> 8) & 0xFF);
  }
  return w + 2;
}

}  // namespace detail

/// Returns true when @p in is strict base64 (see the rules at the top of this file), exactly
/// when decode_base64() would accept it; validates only, writes nothing. "" is valid.
constexpr bool is_base64(std::string_view in) noexcept {
  return in.size() % 4 == 0 && detail::decode_base64_block(in.data(), in.size(), true, nullptr) !=
                                   static_cast<std::size_t>(-1);
}

/// Encodes @p in into @p out (RFC 4648 4, with padding, no line breaks).
/// @return an empty error_code, or errc::output_full when base64_encoded_size(in.size())
///   characters do not fit (nothing is appended then).
inline std::error_code encode_base64(std::string_view in, byte_writer& out) noexcept {
  if (in.size() > out.space() / 4 * 3 + 2 || base64_encoded_size(in.size()) > out.space())
    return errc::output_full;
  const std::size_t mark = out.mark();
  char buf[256];  // 192 input bytes at a time
  for (std::size_t i = 0; i < in.size(); i += 192) {
    const std::size_t n = in.size() - i < 192 ? in.size() - i : 192;
    detail::encode_base64_block(in.data() + i, n, buf);
    if (!out.append(std::string_view(buf, base64_encoded_size(n)))) {
      out.rollback(mark);
      return errc::output_full;
    }
  }
  return {};
}

/// Encodes @p in into the @p capacity bytes at @p out.
/// @return a view of the encoded characters at @p out, or errc::output_full when
///   base64_encoded_size(in.size()) exceeds @p capacity.
inline result<std::string_view> encode_base64(std::string_view in, char* out,
                                              std::size_t capacity) noexcept {
  if (in.size() > capacity / 4 * 3 + 2 || base64_encoded_size(in.size()) > capacity)
    return errc::output_full;
  detail::encode_base64_block(in.data(), in.size(), out);
  return std::string_view(out, base64_encoded_size(in.size()));
}

/// Decodes @p in, strictly (see the rules at the top of this file), into @p out.
/// @code
/// base64 alphabet (RFC 4648 Table 1): A-Z a-z 0-9 + /, and "=" for padding
/// @endcode
/// @return an empty error_code; errc::bad_base64 when @p in is not strict base64 (checked
///   first); errc::output_full when the bytes do not fit. Nothing is appended on error.
inline std::error_code decode_base64(std::string_view in, byte_writer& out) noexcept {
  if (in.size() % 4 != 0) return errc::bad_base64;
  if (base64_decoded_size(in) > out.space()) {
    const std::size_t ok = detail::decode_base64_block(in.data(), in.size(), true, nullptr);
    return ok == static_cast<std::size_t>(-1) ? errc::bad_base64 : errc::output_full;
  }
  const std::size_t mark = out.mark();
  char buf[192];  // 256 input characters at a time
  for (std::size_t i = 0; i < in.size(); i += 256) {
    const std::size_t n = in.size() - i < 256 ? in.size() - i : 256;
    const std::size_t got = detail::decode_base64_block(in.data() + i, n, i + n == in.size(), buf);
    if (got == static_cast<std::size_t>(-1)) {
      out.rollback(mark);
      return errc::bad_base64;
    }
    if (!out.append(std::string_view(buf, got))) {
      out.rollback(mark);
      return errc::output_full;
    }
  }
  return {};
}

/// Decodes @p in, strictly, into the @p capacity bytes at @p out.
/// @return a view of the decoded bytes at @p out; errc::bad_base64 when @p in is not strict
///   base64 (checked first); errc::output_full when they do not fit in @p capacity.
inline result<std::string_view> decode_base64(std::string_view in, char* out,
                                              std::size_t capacity) noexcept {
  if (in.size() % 4 != 0) return errc::bad_base64;
  const bool fits = base64_decoded_size(in) <= capacity;
  const std::size_t got =
      detail::decode_base64_block(in.data(), in.size(), true, fits ? out : nullptr);
  if (got == static_cast<std::size_t>(-1)) return errc::bad_base64;
  if (!fits) return errc::output_full;
  return std::string_view(out, got);
}

SMTPKIT_NAMESPACE_END
