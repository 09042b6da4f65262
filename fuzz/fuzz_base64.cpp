// smtpkit fuzzing: base64 (codec/base64.hpp), strict RFC 4648 4 as SMTP AUTH uses it
// (RFC 4954 4).
//
// Properties, for the whole input and for each of its lines:
//  1. The two decoders (into a byte_writer, into a caller's buffer) agree; a refused input is
//     errc::bad_base64 whatever the room, and a failed call appends nothing.
//  2. Strictness makes the encoding unique: a decoded input encodes back to itself, and its
//     decoded size is base64_decoded_size().
//  3. Any bytes encode to base64_encoded_size() characters that decode back to them, with both
//     encoders agreeing; output_full when the room is short, with nothing appended.
//  4. is_base64(), the check the command parser applies to AUTH and SASL responses, accepts
//     exactly what the decoder accepts.
// SPDX-License-Identifier: MIT
#include <cstddef>  // size_t
#include <cstdint>  // uint8_t
#include <smtpkit/codec/base64.hpp>
#include <smtpkit/core/buffer.hpp>
#include <string>        // string
#include <string_view>   // string_view
#include <system_error>  // error_code

#include "fuzz_support.hpp"

namespace {

using namespace smtpkit;

void check_decode(std::string_view in) {
  std::string out(base64_max_decoded_size(in.size()) + 8, '\0');
  // Into a byte_writer with room to spare.
  byte_writer w(&out[0], out.size());
  w.append("ab");
  const std::error_code e = decode_base64(in, w);
  // Into a buffer of the exact size.
  const std::size_t want = base64_decoded_size(in);
  SMTPKIT_FUZZ_CHECK(want <= base64_max_decoded_size(in.size()));
  std::string buf(want, '\0');
  const result<std::string_view> r = decode_base64(in, want == 0 ? nullptr : &buf[0], want);
  SMTPKIT_FUZZ_CHECK(is_base64(in) == !e);
  if (e) {
    SMTPKIT_FUZZ_CHECK(e == errc::bad_base64 && w.size() == 2);
    SMTPKIT_FUZZ_CHECK(!r && r.error() == errc::bad_base64);
    // Short of room, a bad input is still bad_base64.
    char tiny[2];
    byte_writer t(tiny, sizeof tiny);
    SMTPKIT_FUZZ_CHECK(decode_base64(in, t) == errc::bad_base64 && t.size() == 0);
    return;
  }
  SMTPKIT_FUZZ_CHECK(r.has_value() && r->size() == want);
  const std::string_view decoded = w.view().substr(2);
  SMTPKIT_FUZZ_CHECK(decoded == *r);
  SMTPKIT_FUZZ_CHECK(in.size() % 4 == 0 && decoded.size() == base64_decoded_size(in));
  // Property 2: the encoding is unique.
  std::string enc(base64_encoded_size(decoded.size()), '\0');
  const result<std::string_view> back =
      encode_base64(decoded, enc.empty() ? nullptr : &enc[0], enc.size());
  SMTPKIT_FUZZ_CHECK(back.has_value() && *back == in);
  // One byte short of room: output_full, nothing written.
  if (want != 0) {
    char small[8];
    byte_writer s(small, want - 1 < sizeof small ? want - 1 : sizeof small);
    if (want - 1 < sizeof small) {
      SMTPKIT_FUZZ_CHECK(decode_base64(in, s) == errc::output_full && s.size() == 0);
      SMTPKIT_FUZZ_CHECK(decode_base64(in, small, want - 1).error() == errc::output_full);
    }
  }
}

void check_encode(std::string_view raw) {
  const std::size_t n = base64_encoded_size(raw.size());
  SMTPKIT_FUZZ_CHECK(n % 4 == 0 && n / 4 * 3 >= raw.size() && n / 4 * 3 < raw.size() + 3);
  std::string a(n + 3, '\0');
  byte_writer w(&a[0], a.size());
  w.append("ab");
  SMTPKIT_FUZZ_CHECK(!encode_base64(raw, w));
  const std::string_view enc = w.view().substr(2);
  SMTPKIT_FUZZ_CHECK(enc.size() == n);
  std::string b(n, '\0');
  const result<std::string_view> r = encode_base64(raw, n == 0 ? nullptr : &b[0], n);
  SMTPKIT_FUZZ_CHECK(r.has_value() && *r == enc);
  for (char c : enc) SMTPKIT_FUZZ_CHECK(ascii::is_alnum(c) || c == '+' || c == '/' || c == '=');
  // Decodes back.
  std::string dec(raw.size(), '\0');
  const result<std::string_view> d =
      decode_base64(enc, raw.empty() ? nullptr : &dec[0], dec.size());
  SMTPKIT_FUZZ_CHECK(d.has_value() && *d == raw);
  // Short of room.
  if (n != 0) {
    byte_writer s(&b[0], n - 1);
    SMTPKIT_FUZZ_CHECK(encode_base64(raw, s) == errc::output_full && s.size() == 0);
    SMTPKIT_FUZZ_CHECK(encode_base64(raw, &b[0], n - 1).error() == errc::output_full);
  }
}

void check(std::string_view in) {
  check_decode(in);
  check_encode(in);
  smtpkit_fuzz::for_each_line(in, [](std::string_view line) {
    const smtpkit_fuzz::exact_copy c(line);
    check_decode(c.view());
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  smtpkit_fuzz::run_plain_and_alphabet(data, size, check);
  // And mapped into the base64 alphabet, where the decoder has most to decide.
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/===\r\n";
  std::string mapped(smtpkit_fuzz::as_view(data, size));
  for (char& c : mapped) c = alphabet[static_cast<unsigned char>(c) % (sizeof alphabet - 1)];
  const smtpkit_fuzz::exact_copy copy(mapped);
  check(copy.view());
  return 0;
}
