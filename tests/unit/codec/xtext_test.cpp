// smtpkit tests: xtext (RFC 3461 section 4), strict decoding and canonical encoding.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cstddef>  // size_t
#include <smtpkit/codec/xtext.hpp>
#include <string>        // string
#include <string_view>   // string_view
#include <system_error>  // error_code

#include "alloc_counter.hpp"
#include "guard_page.hpp"

using smtpkit::errc;

namespace {

// The errc in @p ec (errc{} when empty), so that doctest compares enum values.
errc errc_of(std::error_code ec) {
  return static_cast<errc>(ec.value());
}

// True for an empty error_code (doctest cannot print a std::error_code).
bool ok(std::error_code ec) {
  return !ec;
}

// Decodes @p in (placed against a guard page) into a string, or returns the error.
struct decoded {
  bool ok = false;
  errc error{};
  std::string text;
};

decoded decode(std::string_view in) {
  smtpkit_test::guarded_copy g(in);
  char buf[256];
  smtpkit::byte_writer w(buf, sizeof buf);
  decoded d;
  const std::error_code ec = smtpkit::xtext_decode(g.view(), w);
  d.ok = !ec;
  d.error = errc_of(ec);
  d.text = std::string(w.view());
  return d;
}

std::string encode(std::string_view raw) {
  char buf[1024];
  smtpkit::byte_writer w(buf, sizeof buf);
  REQUIRE(ok(smtpkit::xtext_encode(raw, w)));
  return std::string(w.view());
}

}  // namespace

// xtext = *( xchar / hexchar )
// xchar = any ASCII CHAR between "!" (33) and "~" (126) inclusive, except for "+" and "=".
TEST_CASE("xtext: xchar is %d33-126 except + and =") {
  for (int c = 0; c < 256; ++c) {
    const bool expected = c >= 33 && c <= 126 && c != '+' && c != '=';
    INFO("octet " << c);
    CHECK(smtpkit::is_xchar(static_cast<char>(c)) == expected);
  }
  CHECK(smtpkit::is_xtext(""));
  CHECK(smtpkit::is_xtext("QQ35932771"));
  CHECK(smtpkit::is_xtext("!\"#$%&'()*,-./:;<>?@[\\]^_`{|}~"));
  CHECK_FALSE(smtpkit::is_xtext("a b"));    // SP
  CHECK_FALSE(smtpkit::is_xtext("a=b"));    // "=" is never an xchar
  CHECK_FALSE(smtpkit::is_xtext("a\x7f"));  // DEL
  CHECK_FALSE(smtpkit::is_xtext("caf\xc3\xa9"));
}

// hexchar = ASCII "+" immediately followed by two upper case hexadecimal digits
TEST_CASE("xtext: hexchar needs two UPPER-case hex digits") {
  CHECK(smtpkit::is_xtext("+2B"));
  CHECK(smtpkit::is_xtext("a+3Db"));
  CHECK(smtpkit::is_xtext("+00+FF+0A"));
  CHECK_FALSE(smtpkit::is_xtext("+2b"));   // lower case
  CHECK_FALSE(smtpkit::is_xtext("+G0"));   // not hex
  CHECK_FALSE(smtpkit::is_xtext("+2"));    // truncated
  CHECK_FALSE(smtpkit::is_xtext("+"));     // bare plus
  CHECK_FALSE(smtpkit::is_xtext("ab+"));   // plus at the end
  CHECK_FALSE(smtpkit::is_xtext("+ 20"));  // not adjacent
}

TEST_CASE("xtext: decoding, RFC 3461 examples") {
  // RFC 3461 4.2: "ORCPT=rfc822;joe+2Bsmith@example.com" carries joe+smith@example.com.
  decoded d = decode("joe+2Bsmith@example.com");
  CHECK(d.ok);
  CHECK(d.text == "joe+smith@example.com");
  d = decode("a+3Db");
  CHECK(d.text == "a=b");
  d = decode("+20+0D+0A");
  CHECK(d.text == " \r\n");
  d = decode("");
  CHECK(d.ok);
  CHECK(d.text.empty());
  d = decode("+FF");
  CHECK(d.text == "\xff");
  CHECK(smtpkit::xtext_decoded_size("a+2Bb") == 3);
  CHECK(smtpkit::xtext_decoded_size("a+2b") == std::string_view::npos);
}

TEST_CASE("xtext: decoding refuses what is not xtext, and writes nothing") {
  for (std::string_view bad : {"+2b", "a b", "x=y", "+", "+4", "\x01", "ok+ZZ"}) {
    INFO(bad);
    const decoded d = decode(bad);
    CHECK_FALSE(d.ok);
    CHECK(d.error == errc::bad_xtext);
    CHECK(d.text.empty());
  }
}

TEST_CASE("xtext: decoding into a full writer or a small buffer") {
  char one[1];
  smtpkit::byte_writer w(one, sizeof one);
  CHECK(errc_of(smtpkit::xtext_decode("ab", w)) == errc::output_full);
  CHECK(w.size() == 0);

  char buf[4];
  smtpkit::result<std::size_t> r = smtpkit::xtext_decode("a+2Bc", buf, sizeof buf);
  REQUIRE(r);
  CHECK(*r == 3);
  CHECK(std::string_view(buf, *r) == "a+c");
  r = smtpkit::xtext_decode("abcde", buf, sizeof buf);
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::output_full);
  r = smtpkit::xtext_decode("a+2b", buf, sizeof buf);
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::bad_xtext);
}

TEST_CASE("xtext: encoding escapes exactly the octets that are not xchar, in upper case") {
  CHECK(encode("joe+smith@example.com") == "joe+2Bsmith@example.com");
  CHECK(encode("a=b") == "a+3Db");
  CHECK(encode("a b\r\n") == "a+20b+0D+0A");
  CHECK(encode(std::string_view("\0\xff", 2)) == "+00+FF");
  CHECK(encode("") == "");
  CHECK(smtpkit::xtext_encoded_size("a=b") == 5);

  char small[4];
  smtpkit::byte_writer w(small, sizeof small);
  CHECK(errc_of(smtpkit::xtext_encode("a=b", w)) == errc::output_full);
  CHECK(w.size() == 0);
  smtpkit::result<std::size_t> r = smtpkit::xtext_encode("a=b", small, sizeof small);
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::output_full);
  char big[8];
  r = smtpkit::xtext_encode("=", big, sizeof big);
  REQUIRE(r);
  CHECK(std::string_view(big, *r) == "+3D");
}

TEST_CASE("xtext: decode(encode(b)) == b for every octet, and encode is canonical") {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  const std::string enc = encode(all);
  CHECK(smtpkit::is_xtext(enc));
  CHECK(enc.size() == smtpkit::xtext_encoded_size(all));
  const decoded d = decode(enc);
  REQUIRE(d.ok);
  CHECK(d.text == all);
  // A non-canonical encoding decodes to the same octets; encoding gives the short form back.
  CHECK(decode("+41").text == "A");
  CHECK(encode("A") == "A");
}

TEST_CASE("xtext: no allocation") {
  char buf[64];
  smtpkit_test::alloc_scope scope;
  smtpkit::byte_writer w(buf, sizeof buf);
  CHECK(ok(smtpkit::xtext_decode("joe+2Bsmith@example.com", w)));
  CHECK(ok(smtpkit::xtext_encode("a=b", w)));
  CHECK(smtpkit::is_xtext("QQ35932771"));
  CHECK(scope.count() == 0);
}
