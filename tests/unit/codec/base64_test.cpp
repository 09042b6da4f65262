// Tests for smtpkit/codec/base64.hpp: RFC 4648 base64, strict decoding, into a byte_writer or a
// caller's buffer.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cstdint>
#include <smtpkit/codec/base64.hpp>
#include <string>

#include "alloc_counter.hpp"
#include "guard_page.hpp"

using smtpkit::errc;

namespace {

std::string encode(std::string_view in) {
  std::string out(smtpkit::base64_encoded_size(in.size()), '\0');
  smtpkit::byte_writer w(&out[0], out.size());
  const std::error_code ec = smtpkit::encode_base64(in, w);
  REQUIRE(!ec);
  REQUIRE(w.size() == out.size());
  return out;
}

/// Decodes @p in (placed against a guard page) into a byte_writer; returns the bytes, or sets
/// @p err.
std::string decode(std::string_view in, errc* err = nullptr) {
  const smtpkit_test::guarded_copy g(in);
  char mem[1024];
  smtpkit::byte_writer w(mem, sizeof mem);
  const std::error_code ec = smtpkit::decode_base64(g.view(), w);
  if (err) *err = ec ? static_cast<errc>(ec.value()) : errc{};
  if (ec) CHECK(w.size() == 0);
  // The validate-only entry point agrees with the decoder on every input.
  CHECK(smtpkit::is_base64(g.view()) == !ec);
  // The caller-buffer form agrees.
  char buf[1024];
  const auto r = smtpkit::decode_base64(g.view(), buf, sizeof buf);
  CHECK(r.has_value() == !ec);
  if (r) CHECK(*r == w.view());
  if (!r && ec) CHECK(r.error() == static_cast<errc>(ec.value()));
  return std::string(w.view());
}

errc decode_error(std::string_view in) {
  errc e{};
  decode(in, &e);
  return e;
}

}  // namespace

// RFC 4648 4, Table 1: The Base 64 Alphabet
//   0 A  ... 25 Z, 26 a ... 51 z, 52 0 ... 61 9, 62 +, 63 /, (pad) =
TEST_CASE("RFC 4648 alphabet: every value encodes to its character") {
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::size_t v = 0; v < 64; ++v) {
    // Three bytes whose first 6 bits are v, the rest zero: "v" then "AAA".
    const char bytes[3] = {static_cast<char>(v << 2), 0, 0};
    const std::string e = encode(std::string_view(bytes, 3));
    CHECK(e[0] == alphabet[v]);
    CHECK(e.substr(1) == "AAA");
    CHECK(decode(e) == std::string(bytes, 3));
  }
}

// RFC 4648 10: Test Vectors
TEST_CASE("RFC 4648 test vectors") {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& v : vectors) {
    INFO(std::string(v.first));
    CHECK(encode(v.first) == v.second);
    CHECK(decode(v.second) == v.first);
  }
}

TEST_CASE("SASL examples: RFC 4954 AUTH PLAIN and the LOGIN prompts") {
  // RFC 4954 4 / 8: "AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=" is authzid "test", authcid "test",
  // password "1234", separated by NUL.
  const std::string plain(
      "test\0test\0"
      "1234",
      14);
  CHECK(encode(plain) == "dGVzdAB0ZXN0ADEyMzQ=");
  CHECK(decode("dGVzdAB0ZXN0ADEyMzQ=") == plain);
  CHECK(decode("VXNlcm5hbWU6") == "Username:");
  CHECK(decode("UGFzc3dvcmQ6") == "Password:");
  CHECK(encode("Password:") == "UGFzc3dvcmQ6");
}

TEST_CASE("strict decoding: padding is required and must be right") {
  CHECK(decode_error("Zg") == errc::bad_base64);   // no padding
  CHECK(decode_error("Zg=") == errc::bad_base64);  // short padding
  CHECK(decode_error("Zm8") == errc::bad_base64);
  CHECK(decode_error("Zm9vY") == errc::bad_base64);  // length not a multiple of 4
  CHECK(decode_error("Z===") == errc::bad_base64);   // three pads
  CHECK(decode_error("====") == errc::bad_base64);
  CHECK(decode_error("Zm9v====") == errc::bad_base64);  // a whole quantum of padding
  CHECK(decode_error("Zg==Zg==") == errc::bad_base64);  // padding before the end
  CHECK(decode_error("Zm8=Zm9v") == errc::bad_base64);
  CHECK(decode_error("Zm=v") == errc::bad_base64);  // '=' inside a quantum
  CHECK(decode_error("=m9v") == errc::bad_base64);
  CHECK(decode_error("Zg=A") == errc::bad_base64);
  CHECK(decode_error("Zg==\r\n") == errc::bad_base64);
}

TEST_CASE("strict decoding: no whitespace, no characters outside the alphabet") {
  CHECK(decode_error("Zm9v\r\n") == errc::bad_base64);
  CHECK(decode_error("Zm 9v") == errc::bad_base64);
  CHECK(decode_error(" Zm9v") == errc::bad_base64);
  CHECK(decode_error("Zm9\tv") == errc::bad_base64);
  CHECK(decode_error("Zm9vYmFy\n") == errc::bad_base64);
  CHECK(decode_error("Zm9-") == errc::bad_base64);  // base64url
  CHECK(decode_error("Zm9_") == errc::bad_base64);
  CHECK(decode_error(std::string_view("Zm9\0", 4)) == errc::bad_base64);
  CHECK(decode_error("Zm9\xc3") == errc::bad_base64);
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    const bool in_alphabet = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                             (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';
    std::string s = "AAAA";
    s[1] = ch;
    INFO(c);
    CHECK((decode_error(s) == errc{}) == in_alphabet);
  }
}

// RFC 4648 3.5: "the pad bits MUST be set to zero by conforming encoders"; we refuse others,
// so that every byte string has exactly one encoding.
TEST_CASE("strict decoding: non-zero trailing bits are refused") {
  CHECK(decode_error("Zh==") == errc::bad_base64);  // 'h' = 33 leaves bits 0001
  CHECK(decode_error("Zm9=") == errc::bad_base64);  // '9' = 61 leaves bits 01
  CHECK(decode_error("Zg==") == errc{});
  CHECK(decode_error("Zm8=") == errc{});
  // Every "xy==" and "xyz=": it decodes exactly when it is the canonical encoding.
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::size_t ok2 = 0;
  std::size_t ok3 = 0;
  for (char a : alphabet) {
    for (char b : alphabet) {
      const std::string two{a, b, '=', '='};
      char out[3];
      const auto r2 = smtpkit::decode_base64(two, out, sizeof out);
      if (r2) {
        ++ok2;
        CHECK(encode(*r2) == two);
      }
      for (char c : alphabet) {
        const std::string three{a, b, c, '='};
        const auto r3 = smtpkit::decode_base64(three, out, sizeof out);
        if (r3) {
          ++ok3;
          REQUIRE(r3->size() == 2);
          REQUIRE(encode(*r3) == three);
        }
      }
    }
  }
  CHECK(ok2 == 256);    // one encoding per byte value
  CHECK(ok3 == 65536);  // one per pair of bytes
}

// RFC 4648 3.5: "the pad bits MUST be set to zero by conforming encoders"; is_base64 refuses
// what decode_base64 refuses, so the command parser and writers (which use it) agree with it.
TEST_CASE("is_base64: validation only, the same verdict as decoding") {
  static_assert(smtpkit::is_base64(""), "constexpr");
  static_assert(smtpkit::is_base64("QQ=="), "constexpr");
  static_assert(!smtpkit::is_base64("QR=="), "constexpr");
  CHECK(smtpkit::is_base64("dGVzdA=="));
  CHECK(smtpkit::is_base64("Zm9vYg=="));
  CHECK(smtpkit::is_base64("Zm9vYmE="));
  CHECK_FALSE(smtpkit::is_base64("QR=="));  // low 4 bits of 'R' are not zero
  CHECK_FALSE(smtpkit::is_base64("QUF="));  // low 2 bits of 'F' are not zero
  CHECK_FALSE(smtpkit::is_base64("dGVzdA"));
  CHECK_FALSE(smtpkit::is_base64("===="));
  CHECK_FALSE(smtpkit::is_base64("dG=zdA=="));
  CHECK_FALSE(smtpkit::is_base64("dGVz dA="));
}

TEST_CASE("round trip: every byte value and every length up to 300") {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  CHECK(decode(encode(all)) == all);
  std::uint32_t seed = 99;
  for (std::size_t len = 0; len <= 300; ++len) {
    std::string s;
    for (std::size_t i = 0; i < len; ++i) {
      seed = seed * 1664525u + 1013904223u;
      s.push_back(static_cast<char>(seed >> 24));
    }
    const std::string e = encode(s);
    CHECK(e.size() == smtpkit::base64_encoded_size(len));
    CHECK(smtpkit::base64_decoded_size(e) == len);
    CHECK(decode(e) == s);
  }
}

TEST_CASE("size helpers") {
  CHECK(smtpkit::base64_encoded_size(0) == 0);
  CHECK(smtpkit::base64_encoded_size(1) == 4);
  CHECK(smtpkit::base64_encoded_size(2) == 4);
  CHECK(smtpkit::base64_encoded_size(3) == 4);
  CHECK(smtpkit::base64_encoded_size(4) == 8);
  CHECK(smtpkit::base64_encoded_size(12288) == 16384);
  CHECK(smtpkit::base64_max_decoded_size(0) == 0);
  CHECK(smtpkit::base64_max_decoded_size(4) == 3);
  CHECK(smtpkit::base64_max_decoded_size(7) == 3);
  CHECK(smtpkit::base64_max_decoded_size(16384) == 12288);
  CHECK(smtpkit::base64_decoded_size("") == 0);
  CHECK(smtpkit::base64_decoded_size("Zg==") == 1);
  CHECK(smtpkit::base64_decoded_size("Zm8=") == 2);
  CHECK(smtpkit::base64_decoded_size("Zm9v") == 3);
  CHECK(smtpkit::base64_decoded_size("Zm9vYg==") == 4);
  CHECK(smtpkit::base64_decoded_size("Zg") == 0);
  static_assert(smtpkit::base64_encoded_size(5) == 8, "");
  static_assert(smtpkit::base64_decoded_size("Zm9vYmE=") == 5, "");
}

TEST_CASE("encode and decode refuse output that does not fit, appending nothing") {
  char mem[8];
  smtpkit::byte_writer w(mem, sizeof mem);
  CHECK(w.append("ab"));
  std::error_code ec = smtpkit::encode_base64("foobar", w);  // 8 characters, 6 free
  CHECK((ec == errc::output_full));
  CHECK(w.view() == "ab");
  ec = smtpkit::encode_base64("fooba", w);  // also 8
  CHECK((ec == errc::output_full));
  ec = smtpkit::encode_base64("foo", w);
  CHECK(!ec);
  CHECK(w.view() == "abZm9v");
  ec = smtpkit::decode_base64("Zm9v", w);  // 3 bytes, 2 free
  CHECK((ec == errc::output_full));
  CHECK(w.view() == "abZm9v");
  ec = smtpkit::decode_base64("Zm8=", w);  // 2 bytes, 2 free
  CHECK(!ec);
  CHECK(w.view() == "abZm9vfo");
  // bad_base64 wins over output_full.
  ec = smtpkit::decode_base64("Zm9v!!!!", w);
  CHECK((ec == errc::bad_base64));
  ec = smtpkit::decode_base64("Zm9vYmFy", w);
  CHECK((ec == errc::output_full));

  char small[4];
  const auto e1 = smtpkit::encode_base64("foob", small, sizeof small);
  REQUIRE_FALSE(e1.has_value());
  CHECK(e1.error() == errc::output_full);
  const auto e2 = smtpkit::encode_base64("foo", small, sizeof small);
  REQUIRE(e2.has_value());
  CHECK(*e2 == "Zm9v");
  CHECK(e2->data() == small);
  char two[2];
  const auto d1 = smtpkit::decode_base64("Zm9v", two, sizeof two);
  REQUIRE_FALSE(d1.has_value());
  CHECK(d1.error() == errc::output_full);
  const auto d2 = smtpkit::decode_base64("Zm9v####", two, sizeof two);
  CHECK(d2.error() == errc::bad_base64);
  const auto d3 = smtpkit::decode_base64("Zm8=", two, sizeof two);
  REQUIRE(d3.has_value());
  CHECK(*d3 == "fo");
  CHECK(smtpkit::decode_base64("", nullptr, 0).has_value());
  CHECK(smtpkit::encode_base64("", nullptr, 0).has_value());
}

TEST_CASE("long inputs cross the internal block size (192 bytes / 256 characters)") {
  for (std::size_t len : {191u, 192u, 193u, 384u, 385u, 386u, 700u}) {
    std::string s(len, '\0');
    for (std::size_t i = 0; i < len; ++i) s[i] = static_cast<char>(i * 7 + 3);
    const std::string e = encode(s);
    INFO(len);
    CHECK(decode(e) == s);
    // A bad character in the last block, or in the first, fails the whole decode.
    std::string bad_last = e;
    bad_last[e.size() - 5] = '*';
    CHECK(decode_error(bad_last) == errc::bad_base64);
    std::string bad_first = e;
    bad_first[1] = '*';
    CHECK(decode_error(bad_first) == errc::bad_base64);
  }
}

TEST_CASE("encoding and decoding allocate nothing") {
  char mem[256];
  smtpkit::byte_writer w(mem, sizeof mem);
  smtpkit_test::alloc_scope allocs;
  const std::error_code a = smtpkit::encode_base64("hello world", w);
  const std::error_code b = smtpkit::decode_base64("aGVsbG8gd29ybGQ=", w);
  const std::error_code c = smtpkit::decode_base64("aGVsbG8gd29ybGQ", w);
  const std::size_t count = allocs.count();
  CHECK(count == 0);
  CHECK(!a);
  CHECK(!b);
  CHECK((c == errc::bad_base64));
  CHECK(w.view() == "aGVsbG8gd29ybGQ=hello world");
}
