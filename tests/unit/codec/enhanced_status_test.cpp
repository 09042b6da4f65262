// Tests for smtpkit/codec/enhanced_status.hpp: RFC 3463 status codes, parsed strictly, matched
// with reply codes and formatted.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <smtpkit/codec/enhanced_status.hpp>
#include <string>

#include "alloc_counter.hpp"

using smtpkit::enhanced_status;
using smtpkit::errc;

namespace {
std::string format(enhanced_status st) {
  char buf[smtpkit::enhanced_status_max_size];
  return std::string(buf, smtpkit::format_enhanced_status(st, buf));
}
}  // namespace

// RFC 3463 2:
//   status-code = class "." subject "." detail
//   class = "2"/"4"/"5"
//   subject = 1*3digit
//   detail = 1*3digit
TEST_CASE("status-code: class, subject and detail from RFC 3463 examples") {
  struct example {
    const char* text;
    enhanced_status st;
  };
  const example examples[] = {
      {"2.0.0", {2, 0, 0}},          // RFC 3463 3.1 other or undefined status, success
      {"5.1.1", {5, 1, 1}},          // RFC 3463 3.2 bad destination mailbox address
      {"4.2.2", {4, 2, 2}},          // RFC 3463 3.3 mailbox full
      {"5.7.1", {5, 7, 1}},          // RFC 3463 3.8 delivery not authorized
      {"4.5.3", {4, 5, 3}},          // RFC 5321 452 too many recipients
      {"5.3.4", {5, 3, 4}},          // RFC 3463 3.4 message too big
      {"2.6.10", {2, 6, 10}},        // two-digit detail
      {"5.999.999", {5, 999, 999}},  // the widest
      {"4.100.0", {4, 100, 0}},
  };
  for (const auto& e : examples) {
    INFO(std::string(e.text));
    const auto r = smtpkit::parse_enhanced_status(e.text);
    REQUIRE(r.has_value());
    CHECK(*r == e.st);
    CHECK(r->valid());
    CHECK(format(*r) == e.text);
  }
}

TEST_CASE("status-code: malformed statuses are refused") {
  const char* bad[] = {
      "",        "2",        "2.",       "2.0",       "2.0.",   "1.0.0",  "3.0.0",
      "6.0.0",   "0.0.0",    "22.0.0",   "2.0.0.",    "2.0.0 ", " 2.0.0", "2..0",
      "2.0..0",  "2.1000.0", "2.0.1000", "2.01.0",    "2.0.01", "2.00.0", "2.0.00",
      "2.a.0",   "2.0.a",    "2,0,0",    "2-0-0",     "x.0.0",  "2.0.0x", "2.-1.0",
      "5.1.1\r", "5.1\n.1",  "2.1.5000", "2.0.0.0.0", "+2.0.0",
  };
  for (const char* s : bad) {
    INFO(std::string(s));
    const auto r = smtpkit::parse_enhanced_status(s);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == errc::bad_enhanced_status);
  }
  // A NUL in the middle (the array above ends strings at NUL).
  CHECK_FALSE(smtpkit::parse_enhanced_status(std::string_view("2.0\0.0", 6)).has_value());
}

TEST_CASE("a zero field is a single 0; leading zeros are refused") {
  CHECK(smtpkit::parse_enhanced_status("2.0.0").has_value());
  CHECK(smtpkit::parse_enhanced_status("2.10.0").has_value());
  CHECK(smtpkit::parse_enhanced_status("2.100.100").has_value());
  CHECK_FALSE(smtpkit::parse_enhanced_status("2.010.0").has_value());
  CHECK_FALSE(smtpkit::parse_enhanced_status("2.0.010").has_value());
}

TEST_CASE("parse_enhanced_status_prefix reads a status at the start of a text") {
  enhanced_status st;
  CHECK(smtpkit::parse_enhanced_status_prefix("2.1.5 Ok", st) == 5);
  CHECK(st == enhanced_status{2, 1, 5});
  CHECK(smtpkit::parse_enhanced_status_prefix("5.7.133 Authentication required", st) == 7);
  CHECK(st == enhanced_status{5, 7, 133});
  // The character after it is not examined...
  CHECK(smtpkit::parse_enhanced_status_prefix("4.4.1:", st) == 5);
  // ... but a fourth digit makes it no status at all.
  const enhanced_status before = st;
  CHECK(smtpkit::parse_enhanced_status_prefix("2.1.5000", st) == 0);
  CHECK(smtpkit::parse_enhanced_status_prefix("Ok", st) == 0);
  CHECK(smtpkit::parse_enhanced_status_prefix("", st) == 0);
  CHECK(st == before);  // untouched on failure
}

TEST_CASE("class_matches: the class is the reply code's first digit") {
  CHECK(smtpkit::class_matches({2, 1, 0}, 250));
  CHECK(smtpkit::class_matches({4, 5, 3}, 452));
  CHECK(smtpkit::class_matches({5, 1, 1}, 550));
  CHECK_FALSE(smtpkit::class_matches({5, 1, 1}, 250));
  CHECK_FALSE(smtpkit::class_matches({2, 0, 0}, 354));  // 3xx has no enhanced status
  CHECK_FALSE(smtpkit::class_matches({2, 0, 0}, 199));
  CHECK_FALSE(smtpkit::class_matches({2, 0, 0}, 2000));
  CHECK_FALSE(smtpkit::class_matches({3, 0, 0}, 354));  // not a valid status
  CHECK_FALSE(smtpkit::class_matches({2, 1000, 0}, 250));
}

TEST_CASE("valid(): class 2, 4 or 5 and fields up to 999") {
  CHECK(enhanced_status{2, 0, 0}.valid());
  CHECK(enhanced_status{5, 999, 999}.valid());
  CHECK_FALSE(enhanced_status{}.valid());
  CHECK_FALSE(enhanced_status{3, 0, 0}.valid());
  CHECK_FALSE(enhanced_status{2, 1000, 0}.valid());
  CHECK_FALSE(enhanced_status{2, 0, 1000}.valid());
  CHECK(enhanced_status{2, 0, 0} != enhanced_status{2, 0, 1});
}

TEST_CASE("write_enhanced_status appends, refuses invalid statuses and full buffers") {
  char mem[16];
  smtpkit::byte_writer w(mem, sizeof mem);
  CHECK(!smtpkit::write_enhanced_status(w, {5, 7, 1}));
  CHECK(w.view() == "5.7.1");
  std::error_code ec = smtpkit::write_enhanced_status(w, {3, 0, 0});
  CHECK((ec == errc::invalid_argument));
  ec = smtpkit::write_enhanced_status(w, {2, 1000, 0});
  CHECK((ec == errc::invalid_argument));
  CHECK(w.view() == "5.7.1");
  ec = smtpkit::write_enhanced_status(w, {4, 100, 100});  // 9 bytes, 11 free
  CHECK(!ec);
  ec = smtpkit::write_enhanced_status(w, {2, 0, 0});  // 5 bytes, 2 free
  CHECK((ec == errc::output_full));
  CHECK(w.view() == "5.7.14.100.100");
}

TEST_CASE("format then parse gives the same status for every subject and detail") {
  for (std::uint8_t cls : {std::uint8_t{2}, std::uint8_t{4}, std::uint8_t{5}}) {
    for (std::uint16_t v = 0; v <= 999; ++v) {
      const enhanced_status a{cls, v, static_cast<std::uint16_t>(999 - v)};
      const auto r = smtpkit::parse_enhanced_status(format(a));
      REQUIRE(r.has_value());
      CHECK(*r == a);
    }
  }
}

TEST_CASE("parsing and formatting allocate nothing") {
  smtpkit_test::alloc_scope allocs;
  char buf[smtpkit::enhanced_status_max_size];
  std::size_t n = 0;
  for (int i = 0; i < 100; ++i) {
    const auto r = smtpkit::parse_enhanced_status("5.1.1");
    n += smtpkit::format_enhanced_status(*r, buf);
  }
  CHECK(n == 500);
  CHECK(allocs.count() == 0);
}

TEST_CASE("statuses are usable at compile time") {
  static_assert(smtpkit::parse_enhanced_status("4.7.0").value() == enhanced_status{4, 7, 0}, "");
  static_assert(!smtpkit::parse_enhanced_status("4.07.0").has_value(), "");
  static_assert(smtpkit::class_matches({4, 7, 0}, 421), "");
  // The same calls at run time give the same answers.
  const auto r = smtpkit::parse_enhanced_status("4.7.0");
  REQUIRE(r.has_value());
  CHECK(*r == enhanced_status{4, 7, 0});
  CHECK_FALSE(smtpkit::parse_enhanced_status("4.07.0").has_value());
  CHECK(smtpkit::class_matches(*r, 421));
  CHECK_FALSE(smtpkit::class_matches(*r, 521));
}
