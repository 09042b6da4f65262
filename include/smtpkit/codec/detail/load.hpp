// smtpkit codec internals: little-endian loads of 2, 4 and 8 octets and the matching tags of
// literals, so that a scanner compares a keyword ("MAIL", "8BITMIME") with one load and one
// compare, case folded with an OR.
//
// Rules:
//  1. Loads read exactly the octets they name; the caller guarantees they are in bounds.
//  2. The byte order is little-endian on every target (the loads are written byte by byte,
//     which compilers turn into one load on little-endian targets).
// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>  // uint32_t, uint64_t
#include <smtpkit/core/config.hpp>

SMTPKIT_NAMESPACE_BEGIN
namespace detail {

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

}  // namespace detail
SMTPKIT_NAMESPACE_END
