// Tests for smtpkit/core/bytes.hpp: RFC 5234 core rules and helpers.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cstdint>
#include <smtpkit/core/bytes.hpp>

namespace ascii = smtpkit::ascii;

TEST_CASE("RFC 5234 core rules: ALPHA, DIGIT, HEXDIG, VCHAR, WSP") {
  // ALPHA = %x41-5A / %x61-7A ; DIGIT = %x30-39 ; VCHAR = %x21-7E ; WSP = SP / HTAB
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    CHECK(ascii::is_alpha(ch) == ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)));
    CHECK(ascii::is_digit(ch) == (c >= 0x30 && c <= 0x39));
    CHECK(ascii::is_vchar(ch) == (c >= 0x21 && c <= 0x7e));
    CHECK(ascii::is_wsp(ch) == (c == 0x20 || c == 0x09));
    CHECK(ascii::is_8bit(ch) == (c >= 0x80));
  }
  CHECK(ascii::is_hex('f'));
  CHECK(ascii::is_hex('F'));
  CHECK_FALSE(ascii::is_hex('g'));
  CHECK(ascii::hex_value('B') == 11);
}

TEST_CASE("case-insensitive comparison is ASCII only") {
  CHECK(ascii::iequals("MAIL", "mail"));
  CHECK_FALSE(ascii::iequals("MAIL", "MAI"));
  CHECK_FALSE(ascii::iequals("\xc3\x89", "\xc3\xa9"));
  CHECK(ascii::istarts_with("mail from:", "MAIL FROM:"));
  CHECK_FALSE(ascii::istarts_with("MAIL", "MAIL FROM:"));
}

TEST_CASE("parse_uint refuses overflow, signs and empties") {
  std::uint64_t v = 0;
  CHECK(ascii::parse_uint("18446744073709551615", v));
  CHECK(v == 18446744073709551615ull);
  CHECK_FALSE(ascii::parse_uint("18446744073709551616", v));
  CHECK_FALSE(ascii::parse_uint("", v));
  CHECK_FALSE(ascii::parse_uint("-1", v));
  CHECK_FALSE(ascii::parse_uint("1 ", v));
  CHECK(ascii::parse_uint("100", v, 100));
  CHECK_FALSE(ascii::parse_uint("101", v, 100));
}

TEST_CASE("has_ctl_break finds CR, LF and NUL") {
  CHECK(ascii::has_ctl_break(std::string_view("a\rb")));
  CHECK(ascii::has_ctl_break(std::string_view("a\nb")));
  CHECK(ascii::has_ctl_break(std::string_view("a\0b", 3)));
  CHECK_FALSE(ascii::has_ctl_break("a b"));
}

TEST_CASE("find_byte") {
  CHECK(smtpkit::detail::find_byte("abc\r\n", '\n') == 4);
  CHECK(smtpkit::detail::find_byte("abc", '\n') == std::string_view::npos);
  CHECK(smtpkit::detail::find_byte("abc", 'a', 5) == std::string_view::npos);
}
