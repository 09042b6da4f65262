// Tests for smtpkit/codec/line_reader.hpp: CRLF framing over input split anywhere, bare CR/LF,
// NUL, per-reader limits, resynchronisation after an over-long line, and the owner contract.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cstddef>
#include <smtpkit/codec/line_reader.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "alloc_counter.hpp"
#include "guard_page.hpp"
#include "split.hpp"

namespace {

using smtpkit::bare_newline_policy;
using smtpkit::errc;
using smtpkit::line_reader;
using smtpkit::line_status;

// What the owner saw: "L:<line>" for a line, "E:<error>:<refused line>" for an error.
struct framed {
  std::vector<std::string> events;
  std::string rest;          // bytes still held at the end
  std::size_t max_held = 0;  // the most bytes the owner held after a need_more
  bool contract_ok = true;   // every result obeyed the documented shape
};

// Plays the owner of a session buffer: appends each chunk, calls next() on a copy of its
// unconsumed bytes placed before a guard page, drops `consumed`, until need_more.
framed frame(line_reader& r, const std::vector<std::string_view>& chunks) {
  framed out;
  std::string buf;
  for (std::string_view chunk : chunks) {
    buf.append(chunk.data(), chunk.size());
    for (;;) {
      const smtpkit_test::guarded_copy g(buf);
      const smtpkit::line_result res = r.next(g.view());
      if (res.consumed > buf.size()) out.contract_ok = false;
      if (res.status == line_status::line) {
        out.events.push_back("L:" + std::string(res.line));
      } else if (res.status == line_status::error) {
        out.events.push_back(std::string("E:") + smtpkit::to_string(res.error) + ":" +
                             std::string(res.line));
      } else if (!res.line.empty()) {
        out.contract_ok = false;
      }
      if (res.status != line_status::need_more && res.consumed == 0) out.contract_ok = false;
      buf.erase(0, res.consumed);
      if (res.status == line_status::need_more) break;
    }
    if (buf.size() > out.max_held) out.max_held = buf.size();
  }
  out.rest = buf;
  return out;
}

// Frames @p input in every way for_each_split cuts it and checks that each gives @p expected.
void check_all_splits(std::size_t limit, bare_newline_policy policy, std::string_view input,
                      const std::vector<std::string>& expected, std::string_view rest = {}) {
  smtpkit_test::for_each_split(input, [&](const smtpkit_test::split_case& c) {
    INFO(c.name);
    line_reader r(limit, policy);
    const framed f = frame(r, c.chunks);
    CHECK(f.contract_ok);
    CHECK(f.events == expected);
    CHECK(f.rest == rest);
  });
}

void check_all_splits(std::string_view input, const std::vector<std::string>& expected,
                      std::string_view rest = {}) {
  check_all_splits(512, bare_newline_policy::reject, input, expected, rest);
}

}  // namespace

// RFC 5234 B.1:   CRLF = CR LF   ; Internet standard newline
// RFC 5321 2.3.8: lines "terminated by the sequence ASCII character "CR" (hex value 0D) followed
//                 immediately by ASCII character "LF" (hex value 0A)".
TEST_CASE("line_reader: lines end at CRLF, in every split") {
  check_all_splits("EHLO client.example.com\r\nMAIL FROM:<a@b.example>\r\n",
                   {"L:EHLO client.example.com", "L:MAIL FROM:<a@b.example>"});
  check_all_splits("\r\n\r\nNOOP\r\n", {"L:", "L:", "L:NOOP"});
  // RFC 5321 4.2.1: a multiline reply is one line per CRLF.
  check_all_splits("250-smtp.example.com Hello\r\n250-SIZE 1000000\r\n250 HELP\r\n",
                   {"L:250-smtp.example.com Hello", "L:250-SIZE 1000000", "L:250 HELP"});
}

TEST_CASE("line_reader: an unfinished line stays with the owner") {
  check_all_splits("NOOP\r\nRSET", {"L:NOOP"}, "RSET");
  check_all_splits("NOOP\r\nRSET\r", {"L:NOOP"}, "RSET\r");
  check_all_splits("", {}, "");
}

// RFC 5321 2.3.8: "a bare CR or LF ... should not be treated as a line terminator" (and 4.1.4:
// servers MUST NOT recognize a bare LF as a line end).
TEST_CASE("line_reader: a bare LF does not end a line; the whole line is refused") {
  check_all_splits("NOOP\nRSET\r\nQUIT\r\n", {"E:bare_lf:NOOP\nRSET", "L:QUIT"});
  check_all_splits("\n\r\n", {"E:bare_lf:\n"});
  check_all_splits("A\n\n\nB\r\n", {"E:bare_lf:A\n\n\nB"});
}

TEST_CASE("line_reader: a bare CR does not end a line; the whole line is refused") {
  check_all_splits("NO\rOP\r\nQUIT\r\n", {"E:bare_cr:NO\rOP", "L:QUIT"});
  check_all_splits("NOOP\r\r\n", {"E:bare_cr:NOOP\r"});
  check_all_splits("\r\r\r\n", {"E:bare_cr:\r\r"});
  check_all_splits("A\rB\r", {}, "A\rB\r");  // the last CR waits for its LF
}

TEST_CASE("line_reader: a NUL refuses the line") {
  const std::string in("MAIL FROM:<a\0b@c>\r\nNOOP\r\n", 25);
  check_all_splits(in, {std::string("E:nul_byte:MAIL FROM:<a\0b@c>", 28), "L:NOOP"});
}

TEST_CASE("line_reader: one error per line, by priority") {
  // nul_byte before bare_lf before bare_cr, wherever they are in the line.
  const std::string nul_lf("A\rB\nC\0D\r\n", 9);
  check_all_splits(nul_lf, {std::string("E:nul_byte:A\rB\nC\0D", 18)});
  check_all_splits("A\rB\nC\r\n", {"E:bare_lf:A\rB\nC"});
  check_all_splits("A\nB\rC\r\n", {"E:bare_lf:A\nB\rC"});
  // line_too_long before all of them.
  const std::string long_bad = std::string("\n\r\0", 3) + std::string(20, 'x') + "\r\nOK\r\n";
  check_all_splits(10, bare_newline_policy::reject, long_bad, {"E:line_too_long:", "L:OK"});
}

TEST_CASE("line_reader: normalize takes a bare LF as a line end, never a bare CR") {
  const auto norm = bare_newline_policy::normalize;
  check_all_splits(512, norm, "NOOP\nRSET\r\nQUIT\n", {"L:NOOP", "L:RSET", "L:QUIT"});
  check_all_splits(512, norm, "\n\n", {"L:", "L:"});
  check_all_splits(512, norm, "A\rB\n", {"E:bare_cr:A\rB"});
  check_all_splits(512, norm, "A\r\r\nB\n", {"E:bare_cr:A\r", "L:B"});
  const std::string nul("A\0\n", 3);
  check_all_splits(512, norm, nul, {std::string("E:nul_byte:A\0", 13)});
  check_all_splits(512, norm, "A\r", {}, "A\r");
}

// RFC 5321 4.5.3.1.4: "The maximum total length of a command line including the command word
// and the <CRLF> is 512 octets."
TEST_CASE("line_reader: the limit counts the CRLF") {
  const std::string ok510(510, 'a');
  check_all_splits(ok510 + "\r\n", {"L:" + ok510});
  check_all_splits(ok510 + "b\r\nNOOP\r\n", {"E:line_too_long:", "L:NOOP"});
  // A line that a normalized bare LF ends counts as if it ended in CRLF.
  check_all_splits(512, bare_newline_policy::normalize, ok510 + "\n", {"L:" + ok510});
  check_all_splits(512, bare_newline_policy::normalize, ok510 + "b\nNOOP\n",
                   {"E:line_too_long:", "L:NOOP"});
  // Small limits: 2 allows only empty lines; 1 allows nothing.
  check_all_splits(2, bare_newline_policy::reject, "\r\na\r\n\r\n",
                   {"L:", "E:line_too_long:", "L:"});
  check_all_splits(1, bare_newline_policy::reject, "\r\n", {"E:line_too_long:"});
}

TEST_CASE("line_reader: text lines of 1000 octets (RFC 5321 4.5.3.1.6)") {
  const std::string ok998(998, 't');
  check_all_splits(1000, bare_newline_policy::reject, ok998 + "\r\n", {"L:" + ok998});
  check_all_splits(1000, bare_newline_policy::reject, ok998 + "t\r\n", {"E:line_too_long:"});
}

TEST_CASE("line_reader: an over-long line is reported once and framing resynchronises") {
  // limit 10: "12345678\r\n" fits, one more octet does not.
  check_all_splits(10, bare_newline_policy::reject, "12345678\r\n123456789\r\nNOOP\r\n",
                   {"L:12345678", "E:line_too_long:", "L:NOOP"});
  // Bare LFs and CRs inside the discarded part do not end it.
  check_all_splits(10, bare_newline_policy::reject, "0123456789\n\rabc\nxyz\r\nQUIT\r\n",
                   {"E:line_too_long:", "L:QUIT"});
  // Under normalize a bare LF ends the discarded line too.
  check_all_splits(10, bare_newline_policy::normalize, "0123456789abc\nQUIT\n",
                   {"E:line_too_long:", "L:QUIT"});
  // Two over-long lines in a row give two errors.
  check_all_splits(4, bare_newline_policy::reject, "abcdef\r\nghijkl\r\nab\r\n",
                   {"E:line_too_long:", "E:line_too_long:", "L:ab"});
}

TEST_CASE("line_reader: the owner never holds more than the limit of one line") {
  const std::size_t limit = 512;
  const std::string huge =
      std::string(100000, 'x') + "\r" + std::string(5000, 'y') + "\r\nNOOP\r\n";
  for (std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{100}, std::size_t{511},
                            std::size_t{512}, std::size_t{4096}}) {
    INFO("piece " << piece);
    std::vector<std::string_view> chunks;
    for (std::size_t i = 0; i < huge.size(); i += piece)
      chunks.push_back(std::string_view(huge).substr(i, piece));
    line_reader r(limit);
    const framed f = frame(r, chunks);
    CHECK(f.events == std::vector<std::string>{"E:line_too_long:", "L:NOOP"});
    // Held after a need_more: less than the limit (the partial line, or one CR).
    CHECK(f.max_held < limit);
    CHECK(f.rest.empty());
  }
}

TEST_CASE("line_reader: discarding reports bytes as consumed and keeps a trailing CR") {
  line_reader r(8);
  auto res = r.next("0123456789");
  CHECK(res.status == line_status::error);
  CHECK(res.error == errc::line_too_long);
  CHECK(res.consumed == 10);
  CHECK(r.discarding());
  res = r.next("abc\r");
  CHECK(res.status == line_status::need_more);
  CHECK(res.consumed == 3);  // the CR stays: it may start the CRLF
  res = r.next("\r\nok\r\n");
  CHECK(res.status == line_status::line);
  CHECK(res.line == "ok");
  CHECK(res.consumed == 6);
  CHECK_FALSE(r.discarding());
}

TEST_CASE("line_reader: a result points into the input and says what to drop") {
  line_reader r(512);
  const std::string_view in = "HELO x\r\nNOOP\r\n";
  auto res = r.next(in);
  REQUIRE(res.status == line_status::line);
  CHECK(res.line == "HELO x");
  CHECK(res.line.data() == in.data());
  CHECK(res.consumed == 8);
  res = r.next(in.substr(8));
  REQUIRE(res.status == line_status::line);
  CHECK(res.line.data() == in.data() + 8);
  CHECK(res.consumed == 6);
  res = r.next(in.substr(14));
  CHECK(res.status == line_status::need_more);
  CHECK(res.consumed == 0);
}

TEST_CASE("line_reader: bytes already scanned are not scanned again") {
  // White-box proof of linear work: after need_more the reader resumes at its scan offset, so
  // changing a byte it has already seen does not change its verdict.
  line_reader r(512);
  std::string buf = "ab";
  CHECK(r.next(buf).status == line_status::need_more);
  buf[0] = '\0';  // had the reader rescanned, it would now refuse the line (nul_byte)
  buf += "c\r\n";
  const auto res = r.next(buf);
  REQUIRE(res.status == line_status::line);
  CHECK(res.line == std::string_view("\0bc", 3));
}

TEST_CASE("line_reader: a long line fed byte by byte") {
  const std::string line = std::string(500, 'q') + "\r\n";
  line_reader r(1000);
  std::string buf;
  std::size_t lines = 0;
  for (char c : line) {
    buf.push_back(c);
    const auto res = r.next(buf);
    if (res.status == line_status::line) {
      ++lines;
      CHECK(res.line.size() == 500);
    }
    buf.erase(0, res.consumed);
  }
  CHECK(lines == 1);
  CHECK(buf.empty());
}

TEST_CASE("line_reader: no limit") {
  const std::string big(70000, 'z');
  check_all_splits(0, bare_newline_policy::reject, big.substr(0, 3000) + "\r\n",
                   {"L:" + big.substr(0, 3000)});
  line_reader r(0);
  const auto res = r.next(big + "\r\n");
  CHECK(res.status == line_status::line);
  CHECK(res.line.size() == big.size());
}

TEST_CASE("line_reader: reset forgets a partial line") {
  line_reader r(10);
  CHECK(r.next("0123456789abc").error == errc::line_too_long);
  CHECK(r.discarding());
  r.reset();
  CHECK_FALSE(r.discarding());
  auto res = r.next("NOOP\r\n");
  CHECK(res.status == line_status::line);
  CHECK(res.line == "NOOP");
  // A partial line with a fault, then reset: the fault is forgotten.
  CHECK(r.next("A\nB").status == line_status::need_more);
  r.reset();
  res = r.next("QUIT\r\n");
  CHECK(res.status == line_status::line);
  CHECK(res.line == "QUIT");
}

TEST_CASE("line_reader: an owner that drops unannounced bytes does not break the reader") {
  line_reader r(512);
  CHECK(r.next("abcdef").status == line_status::need_more);
  const auto res = r.next("x\r\n");  // fewer bytes than were scanned
  CHECK(res.status == line_status::line);
  CHECK(res.line == "x");
}

TEST_CASE("line_reader: accessors") {
  const line_reader a(512);
  CHECK(a.limit() == 512);
  CHECK(a.policy() == bare_newline_policy::reject);
  const line_reader b(0, bare_newline_policy::normalize);
  CHECK(b.limit() == static_cast<std::size_t>(-1));
  CHECK(b.policy() == bare_newline_policy::normalize);
}

TEST_CASE("line_reader: framing allocates nothing") {
  const std::string_view in =
      "EHLO a\r\nNOOP\nX\r\n0123456789012345678901234567890123456789\r\nQUIT\r\n";
  line_reader r(32);
  std::size_t lines = 0;
  std::size_t errors = 0;
  smtpkit_test::alloc_scope allocs;
  std::string_view rest = in;
  for (;;) {
    const auto res = r.next(rest);
    rest.remove_prefix(res.consumed);
    if (res.status == line_status::need_more) break;
    if (res.status == line_status::line) ++lines;
    if (res.status == line_status::error) ++errors;
  }
  CHECK(allocs.count() == 0);
  CHECK(lines == 2);
  CHECK(errors == 2);
}
