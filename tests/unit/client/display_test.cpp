// Unit tests for smtpkit/client/display.hpp: server text made safe for a terminal.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <smtpkit/client/display.hpp>
#include <string>
#include <string_view>

namespace {
std::string shown(std::string_view in) {
  std::string buf(smtpkit::escaped_size_max(in.size()), '\0');
  smtpkit::byte_writer w(&buf[0], buf.size());
  CHECK(smtpkit::escape_for_display(in, w) == in.size());
  return std::string(w.view());
}
}  // namespace

TEST_CASE("printable ASCII and UTF-8 are kept; the backslash is doubled") {
  CHECK(shown("250 2.0.0 Ok: queued as 4ABC") == "250 2.0.0 Ok: queued as 4ABC");
  CHECK(shown("") == "");
  CHECK(shown("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x93\xA7") ==
        "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x93\xA7");
  CHECK(shown("C:\\path") == "C:\\\\path");
}

TEST_CASE("control characters are escaped") {
  CHECK(shown("a\r\nb\tc") == "a\\r\\nb\\tc");
  CHECK(shown("\x1b[2J") == "\\x1B[2J");  // clear screen
  CHECK(shown(std::string_view("\0", 1)) == "\\x00");
  CHECK(shown("\x7f") == "\\x7F");
  CHECK(shown("\x07") == "\\x07");
}

TEST_CASE("octets that are not well-formed UTF-8 are escaped one by one") {
  CHECK(shown("\xff\xfe") == "\\xFF\\xFE");
  CHECK(shown("\xC3") == "\\xC3");                    // truncated
  CHECK(shown("\xC0\xAF") == "\\xC0\\xAF");           // overlong "/"
  CHECK(shown("\xED\xA0\x80") == "\\xED\\xA0\\x80");  // a surrogate
  CHECK(shown("\x9b"
              "31m") == "\\x9B31m");  // a raw 8-bit CSI
}

TEST_CASE("C1 controls, line separators and bidi overrides are escaped as \\uXXXX") {
  CHECK(shown("\xC2\x9B"
              "31m") == "\\u009B31m");    // CSI as UTF-8
  CHECK(shown("\xC2\x85") == "\\u0085");  // NEL
  CHECK(shown("\xE2\x80\xAE"
              "gnp.exe") == "\\u202Egnp.exe");  // right-to-left override
  CHECK(shown("\xE2\x80\xA8") == "\\u2028");
  CHECK(shown("\xE2\x81\xA6x\xE2\x81\xA9") == "\\u2066x\\u2069");
  CHECK(shown("\xD8\x9C") == "\\u061C");
  CHECK(shown("\xC2\xA0") == "\xC2\xA0");  // NBSP is printable
}

TEST_CASE("a full writer stops at a character boundary; the rest can follow") {
  const std::string_view in = "ab\r\xC3\xA9z";
  char small[4];
  smtpkit::byte_writer w(small, sizeof small);
  const std::size_t n = smtpkit::escape_for_display(in, w);
  CHECK(n == 3);  // "ab" and "\r" as "\\r"
  CHECK(w.view() == "ab\\r");
  char rest[8];
  smtpkit::byte_writer w2(rest, sizeof rest);
  CHECK(smtpkit::escape_for_display(in.substr(n), w2) == in.size() - n);
  CHECK(w2.view() == "\xC3\xA9z");
  char one[1];
  smtpkit::byte_writer w3(one, sizeof one);
  CHECK(smtpkit::escape_for_display("\n", w3) == 0);  // "\\n" does not fit
  CHECK(w3.size() == 0);
}
