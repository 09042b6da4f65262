// Tests for smtpkit/codec/bdat.hpp: BDAT chunks pass through exactly, over input split anywhere.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <smtpkit/codec/bdat.hpp>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "alloc_counter.hpp"
#include "guard_page.hpp"
#include "split.hpp"

namespace {

using smtpkit::bdat_reader;
using smtpkit::bdat_status;
using smtpkit::errc;

// doctest cannot print a std::error_code: compare errc values and booleans instead.
errc code_of(std::error_code ec) {
  return ec ? static_cast<errc>(ec.value()) : errc{};
}
bool failed(std::error_code ec) {
  return static_cast<bool>(ec);
}

struct passed {
  std::string data;
  bool complete = false;
  bool last = false;
  std::string rest;  // bytes left to the owner after the chunk
  bool contract_ok = true;
};

// Plays the owner: appends each chunk to its buffer and calls next() on a guarded copy until the
// reader needs more or the chunk is complete.
passed read_chunk(bdat_reader& r, const std::vector<std::string_view>& chunks) {
  passed p;
  std::string buf;
  std::size_t fed = 0;
  for (; fed < chunks.size() && !p.complete; ++fed) {
    buf.append(chunks[fed].data(), chunks[fed].size());
    for (;;) {
      const smtpkit_test::guarded_copy g(buf);
      const smtpkit::bdat_result res = r.next(g.view());
      if (res.consumed != res.data.size() || res.consumed > buf.size()) p.contract_ok = false;
      if (!res.data.empty() && res.data.data() != g.view().data()) p.contract_ok = false;
      if (res.status == bdat_status::chunk && res.data.empty()) p.contract_ok = false;
      if (res.status != bdat_status::complete && res.last) p.contract_ok = false;
      p.data.append(res.data.data(), res.data.size());
      buf.erase(0, res.consumed);
      if (res.status == bdat_status::complete) {
        p.complete = true;
        p.last = res.last;
        break;
      }
      if (res.status != bdat_status::chunk) break;
      if (buf.empty()) break;
    }
  }
  p.rest = buf;
  for (; fed < chunks.size(); ++fed) p.rest.append(chunks[fed].data(), chunks[fed].size());
  return p;
}

}  // namespace

// RFC 3030 2:
//   bdat-cmd   ::= "BDAT" SP chunk-size [ SP end-marker ] CR LF
//   chunk-size ::= 1*DIGIT
//   end-marker ::= "LAST"
// "The BDAT verb takes two arguments.  The first argument indicates the length, in octets, of
// the binary data chunk."
TEST_CASE("bdat_reader: exactly chunk-size octets, in every split") {
  // In the manner of the RFC 3030 examples: BDAT <size> LAST, the octets, the next command.
  const std::string message =
      "To: Susan@random.com\r\nFrom: Sam@random.com\r\nSubject: Test\r\n\r\nHello, Susan.\r\n";
  REQUIRE(message.size() < 100);
  const std::string input = message + "QUIT\r\n";
  smtpkit_test::for_each_split(input, [&](const smtpkit_test::split_case& c) {
    INFO(c.name);
    bdat_reader r;
    CHECK_FALSE(failed(r.start(message.size(), true)));
    const passed p = read_chunk(r, c.chunks);
    CHECK(p.contract_ok);
    CHECK(p.complete);
    CHECK(p.last);
    CHECK(p.data == message);
    CHECK(p.rest == "QUIT\r\n");
    CHECK(r.message_complete());
    CHECK(r.message_size() == message.size());
  });
}

TEST_CASE("bdat_reader: no dot-stuffing and no line rules inside a chunk") {
  // RFC 3030 2: data is sent "without any ... transparency": a CRLF.CRLF, bare LF, bare CR
  // and NUL are all just octets.
  const std::string binary = std::string("\r\n.\r\n..\n\r\0\xff", 11);
  const std::string input = binary + "BDAT 0 LAST\r\n";
  smtpkit_test::for_each_split(input, [&](const smtpkit_test::split_case& c) {
    INFO(c.name);
    bdat_reader r;
    CHECK_FALSE(failed(r.start(binary.size(), false)));
    const passed p = read_chunk(r, c.chunks);
    CHECK(p.contract_ok);
    CHECK(p.complete);
    CHECK_FALSE(p.last);
    CHECK(p.data == binary);
    CHECK(p.rest == "BDAT 0 LAST\r\n");
    CHECK_FALSE(r.message_complete());
  });
}

// RFC 3030 2: "The last BDAT command MAY have a byte-count of zero indicating there is no
// additional data to be sent."
TEST_CASE("bdat_reader: BDAT 0 LAST completes at once") {
  bdat_reader r;
  CHECK_FALSE(failed(r.start(0, true)));
  const auto res = r.next("QUIT\r\n");
  CHECK(res.status == bdat_status::complete);
  CHECK(res.last);
  CHECK(res.data.empty());
  CHECK(res.consumed == 0);
  CHECK(r.message_complete());
  // Also with nothing received yet.
  bdat_reader e;
  CHECK_FALSE(failed(e.start(0, true)));
  CHECK(e.next({}).status == bdat_status::complete);
  // BDAT 0 without LAST is an empty chunk too.
  bdat_reader z;
  CHECK_FALSE(failed(z.start(0, false)));
  const auto zr = z.next("x");
  CHECK(zr.status == bdat_status::complete);
  CHECK_FALSE(zr.last);
  CHECK(zr.consumed == 0);
}

TEST_CASE("bdat_reader: a message in several chunks") {
  bdat_reader r;
  std::string got;
  const std::string parts[] = {"Subject: x\r\n", "\r\n", "body\r\n"};
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK_FALSE(failed(r.start(parts[i].size(), i == 2)));
    const std::string received = parts[i] + "BDAT ...";  // the views point into it
    const auto res = r.next(received);
    CHECK(res.status == bdat_status::complete);
    CHECK(res.last == (i == 2));
    got += std::string(res.data);
  }
  CHECK(got == "Subject: x\r\n\r\nbody\r\n");
  CHECK(r.message_size() == got.size());
  CHECK(r.message_complete());
}

TEST_CASE("bdat_reader: partial input gives chunk, then complete") {
  bdat_reader r;
  CHECK_FALSE(failed(r.start(10, false)));
  auto res = r.next("abcd");
  CHECK(res.status == bdat_status::chunk);
  CHECK(res.data == "abcd");
  CHECK(res.consumed == 4);
  CHECK(r.remaining() == 6);
  CHECK(r.active());
  res = r.next({});
  CHECK(res.status == bdat_status::need_more);
  CHECK(res.consumed == 0);
  res = r.next("efghijNOOP\r\n");
  CHECK(res.status == bdat_status::complete);
  CHECK(res.data == "efghij");
  CHECK(res.consumed == 6);
  CHECK_FALSE(res.last);
  CHECK(r.remaining() == 0);
  CHECK_FALSE(r.active());
  CHECK(r.next("NOOP\r\n").status == bdat_status::idle);
}

TEST_CASE("bdat_reader: a chunk larger than memory is counted, not held") {
  bdat_reader r;
  const std::uint64_t huge = std::uint64_t{1} << 40;
  CHECK_FALSE(failed(r.start(huge, true)));
  const std::string block(4096, 'b');
  std::uint64_t passed_through = 0;
  for (int i = 0; i < 100; ++i) {
    const auto res = r.next(block);
    CHECK(res.status == bdat_status::chunk);
    CHECK(res.consumed == block.size());
    passed_through += res.consumed;
  }
  CHECK(r.remaining() == huge - passed_through);
  CHECK(r.message_size() == passed_through);
}

// RFC 3030 2: "Any BDAT command sent after the BDAT LAST is illegal and MUST be replied to with
// a 503 "Bad sequence of commands" reply code."
TEST_CASE("bdat_reader: misuse is refused with invalid_state and changes nothing") {
  bdat_reader r;
  CHECK(r.next("abc").status == bdat_status::idle);
  CHECK_FALSE(failed(r.start(5, false)));
  CHECK(code_of(r.start(3, true)) == errc::invalid_state);  // the chunk is incomplete
  CHECK(r.remaining() == 5);
  auto res = r.next("12345");
  CHECK(res.status == bdat_status::complete);
  CHECK_FALSE(res.last);
  CHECK_FALSE(failed(r.start(2, true)));
  res = r.next("67");
  CHECK(res.status == bdat_status::complete);
  CHECK(res.last);
  CHECK(code_of(r.start(1, false)) == errc::invalid_state);  // after LAST
  CHECK(r.next("x").status == bdat_status::idle);
  r.reset();
  CHECK_FALSE(r.message_complete());
  CHECK(r.message_size() == 0);
  CHECK_FALSE(failed(r.start(1, true)));
  res = r.next("x");
  CHECK(res.status == bdat_status::complete);
  CHECK(res.data == "x");
}

TEST_CASE("bdat_reader: reset drops a chunk in progress") {
  bdat_reader r;
  CHECK_FALSE(failed(r.start(100, false)));
  CHECK(r.next("partial").status == bdat_status::chunk);
  r.reset();
  CHECK_FALSE(r.active());
  CHECK(r.remaining() == 0);
  CHECK(r.next("x").status == bdat_status::idle);
}

TEST_CASE("bdat_reader: reading allocates nothing") {
  const std::string input = std::string(300, 'q') + "BDAT 0 LAST\r\n";
  bdat_reader r;
  std::uint64_t total = 0;
  smtpkit_test::alloc_scope allocs;
  CHECK_FALSE(failed(r.start(300, true)));
  std::string_view rest = input;
  for (std::size_t piece = 7;; piece += 7) {
    const auto res = r.next(rest.substr(0, piece));
    rest.remove_prefix(res.consumed);
    total += res.consumed;
    if (res.status == bdat_status::complete) break;
  }
  CHECK(allocs.count() == 0);
  CHECK(total == 300);
  CHECK(rest == "BDAT 0 LAST\r\n");
}
