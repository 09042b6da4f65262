// smtpkit codec internals: decimal numbers of up to 20 digits converted eight digits at a
// time (SWAR), for SIZE= (RFC 1870: size-value = 1*20DIGIT) on the parameter fast path.
//
// Rules:
//  1. Only 1 to 20 ASCII digits are accepted, and only values that fit 64 bits.
//  2. Loads end at the end of the digits and never start before the start of the input
//     passed in; shorter inputs take the digit-by-digit loop.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>                        // size_t
#include <cstdint>                        // uint64_t
#include <smtpkit/codec/detail/load.hpp>  // load_le64
#include <smtpkit/core/bytes.hpp>         // ascii::is_digit
#include <smtpkit/core/config.hpp>

SMTPKIT_NAMESPACE_BEGIN
namespace detail {

/// Converts 8 ASCII octets (the first in the low byte of @p x) to their decimal value; false
/// when one is not a digit.
constexpr bool convert8(std::uint64_t x, std::uint64_t& out) noexcept {
  if ((x & 0xF0F0F0F0F0F0F0F0ull) != 0x3030303030303030ull ||
      ((x + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) != 0x3030303030303030ull)
    return false;
  x -= 0x3030303030303030ull;
  x = x * 10 + (x >> 8);
  x = (((x & 0x000000FF000000FFull) * (100 + (1000000ull << 32))) +
       (((x >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32)))) >>
      32;
  out = x;
  return true;
}

/// Parses the @p n octets at @p v as 1*20DIGIT into a 64-bit number; false for anything
/// else or an overflow. Up to 16 digits are converted eight at a time with loads that end at
/// v + n and never start before @p begin.
inline bool parse_digits(const char* v, std::size_t n, const char* begin,
                         std::uint64_t& out) noexcept {
  if (n == 0 || n > 20) return false;
  const char* const end = v + n;
  if (n <= 8 && end - begin >= 8) {
    // Octets before v are replaced by "0" digits.
    const std::uint64_t keep = ~std::uint64_t{0} << (8 * (8 - n));
    const std::uint64_t x = (load_le64(end - 8) & keep) | (0x3030303030303030ull & ~keep);
    return convert8(x, out);
  }
  if (n <= 16 && end - begin >= 16) {
    const std::uint64_t keep = ~std::uint64_t{0} << (8 * (16 - n));
    const std::uint64_t hi = (load_le64(end - 16) & keep) | (0x3030303030303030ull & ~keep);
    std::uint64_t h = 0;
    std::uint64_t l = 0;
    if (!convert8(hi, h) || !convert8(load_le64(end - 8), l)) return false;
    out = h * 100000000ull + l;
    return true;
  }
  std::uint64_t x = 0;
  for (const char* q = v; q < end; ++q) {
    if (!ascii::is_digit(*q)) return false;
    const auto d = static_cast<std::uint64_t>(*q - '0');
    if (x > (~std::uint64_t{0} - d) / 10) return false;
    x = x * 10 + d;
  }
  out = x;
  return true;
}

}  // namespace detail
SMTPKIT_NAMESPACE_END
