// Tests for smtpkit/codec/reply.hpp: the incremental reply reader (fed whole, split at every
// point and byte by byte, each chunk against a guard page) and the reply writer.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <smtpkit/codec/reply.hpp>
#include <string>
#include <vector>

#include "alloc_counter.hpp"
#include "guard_page.hpp"
#include "split.hpp"

using smtpkit::enhanced_status;
using smtpkit::errc;
using smtpkit::reply_status;

namespace {

/// A reply copied out of the reader's views (the bytes they point into do not last).
struct reply_copy {
  int code = 0;
  std::optional<enhanced_status> enhanced;
  std::string text;
  std::string raw;
  std::size_t line_count = 0;
  std::vector<std::string> texts;
  std::vector<std::optional<enhanced_status>> line_enhanced;
  std::vector<bool> last;

  bool operator==(const reply_copy& o) const {
    return code == o.code && enhanced == o.enhanced && text == o.text && raw == o.raw &&
           line_count == o.line_count && texts == o.texts && line_enhanced == o.line_enhanced &&
           last == o.last;
  }
};

reply_copy copy_of(const smtpkit::reply& r) {
  reply_copy c;
  c.code = r.code();
  c.enhanced = r.enhanced();
  c.text = std::string(r.text());
  c.raw = std::string(r.raw());
  c.line_count = r.line_count();
  for (const smtpkit::reply_line& l : r.lines()) {
    c.texts.emplace_back(l.text);
    c.line_enhanced.push_back(l.enhanced);
    c.last.push_back(l.last);
  }
  return c;
}

/// What a reader made of a whole stream.
struct outcome {
  std::vector<reply_copy> replies;
  std::optional<errc> error;
  std::size_t left = 0;  ///< bytes unconsumed at the end (an incomplete reply); 0 on error

  bool operator==(const outcome& o) const {
    return replies == o.replies && error == o.error && left == o.left;
  }
};

/// Feeds the chunks of @p c the way a session does: it appends each chunk to its buffer and
/// passes the unconsumed bytes, copied against a guard page (at a new address each call, which
/// also proves the reader keeps offsets, not pointers).
outcome feed(const smtpkit_test::split_case& c, smtpkit::reply_reader& rd) {
  outcome out;
  std::string pending;
  for (std::string_view chunk : c.chunks) {
    pending.append(chunk.data(), chunk.size());
    for (;;) {
      const smtpkit_test::guarded_copy g(pending);
      const smtpkit::reply_result r = rd.read(g.view());
      if (r.status == reply_status::need_more) {
        REQUIRE(r.consumed == 0);
        break;
      }
      if (r.status == reply_status::error) {
        out.error = r.error;  // fatal: the rest of the input does not matter
        return out;
      }
      REQUIRE(r.consumed != 0);
      REQUIRE(r.consumed <= pending.size());
      CHECK(r.value.raw().data() == g.view().data());  // a view into the input
      CHECK(r.value.raw().size() == r.consumed);
      out.replies.push_back(copy_of(r.value));
      pending.erase(0, r.consumed);
    }
  }
  out.left = pending.size();
  return out;
}

/// Reads @p input whole, at every split point and byte by byte; every way must give the same
/// outcome, which is returned.
outcome read_all(std::string_view input, const smtpkit::limits& lim = smtpkit::limits{},
                 std::size_t max_lines = smtpkit::reply_reader::default_max_lines) {
  outcome whole;
  bool first = true;
  smtpkit_test::for_each_split(input, [&](const smtpkit_test::split_case& c) {
    INFO(c.name);
    smtpkit::reply_reader rd(lim, max_lines);
    const outcome o = feed(c, rd);
    if (first) {
      whole = o;
      first = false;
    } else {
      CHECK(o == whole);
    }
  });
  if (first) {  // empty input: for_each_split still calls once with "whole"
    smtpkit::reply_reader rd(lim, max_lines);
    CHECK(rd.read({}).status == reply_status::need_more);
  }
  return whole;
}

/// Reads @p input (every split) and returns its one reply.
reply_copy one_reply(std::string_view input) {
  const outcome o = read_all(input);
  REQUIRE_FALSE(o.error.has_value());
  REQUIRE(o.replies.size() == 1);
  CHECK(o.left == 0);
  return o.replies.front();
}

/// Reads @p input (every split) and returns the error it ends with.
errc error_of(std::string_view input, const smtpkit::limits& lim = smtpkit::limits{},
              std::size_t max_lines = smtpkit::reply_reader::default_max_lines) {
  const outcome o = read_all(input, lim, max_lines);
  REQUIRE(o.error.has_value());
  return *o.error;
}

smtpkit::limits reply_line_limit(std::size_t n) {
  smtpkit::limits lim;
  lim.reply_line = n;
  return lim;
}

}  // namespace

// RFC 5321 4.2:
//   Reply-line     = *( Reply-code "-" [ textstring ] CRLF )
//                    Reply-code [ SP textstring ] CRLF
//   Reply-code     = %x32-35 %x30-35 %x30-39
//   textstring     = 1*(%d09 / %d32-126) ; HT, SP, Printable US-ASCII
TEST_CASE("Reply-line: a single-line reply (RFC 5321 4.2 and D.1 examples)") {
  const reply_copy r = one_reply("250 OK\r\n");
  CHECK(r.code == 250);
  CHECK(r.text == "OK");
  CHECK(r.line_count == 1);
  CHECK(r.raw == "250 OK\r\n");
  CHECK_FALSE(r.enhanced.has_value());
  CHECK(r.texts == std::vector<std::string>{"OK"});
  CHECK(r.last == std::vector<bool>{true});

  const reply_copy g = one_reply("220 foo.com Simple Mail Transfer Service Ready\r\n");
  CHECK(g.code == 220);
  CHECK(g.text == "foo.com Simple Mail Transfer Service Ready");

  const reply_copy d = one_reply("354 Start mail input; end with <CRLF>.<CRLF>\r\n");
  CHECK(d.code == 354);
  CHECK(d.text == "Start mail input; end with <CRLF>.<CRLF>");
  CHECK(one_reply("221 foo.com Service closing transmission channel\r\n").code == 221);
  CHECK(one_reply("550 No such user here\r\n").code == 550);
}

TEST_CASE("Reply-line: a multiline reply (RFC 5321 4.2.1 and D.1 EHLO example)") {
  const std::string in =
      "250-foo.com greets bar.com\r\n"
      "250-8BITMIME\r\n"
      "250-SIZE\r\n"
      "250-DSN\r\n"
      "250 HELP\r\n";
  const reply_copy r = one_reply(in);
  CHECK(r.code == 250);
  CHECK(r.line_count == 5);
  CHECK(r.text == "foo.com greets bar.com");
  CHECK(r.raw == in);
  CHECK(r.texts ==
        std::vector<std::string>{"foo.com greets bar.com", "8BITMIME", "SIZE", "DSN", "HELP"});
  CHECK(r.last == std::vector<bool>{false, false, false, false, true});

  // RFC 5321 4.2.1's own example.
  const reply_copy e = one_reply(
      "250-First line\r\n"
      "250-Second line\r\n"
      "250-234 Text beginning with numbers\r\n"
      "250 The last line\r\n");
  CHECK(e.texts == std::vector<std::string>{"First line", "Second line",
                                            "234 Text beginning with numbers", "The last line"});
}

TEST_CASE("Reply-line: text-less lines (\"[ SP textstring ]\", \"[ textstring ]\")") {
  const reply_copy bare = one_reply("250\r\n");
  CHECK(bare.code == 250);
  CHECK(bare.text.empty());
  CHECK(bare.line_count == 1);

  const reply_copy dash = one_reply("250-\r\n250-\r\n250\r\n");
  CHECK(dash.line_count == 3);
  CHECK(dash.texts == std::vector<std::string>{"", "", ""});
  CHECK(dash.last == std::vector<bool>{false, false, true});

  // "250 " CRLF (SP, then no text) is taken as empty text.
  const reply_copy sp = one_reply("250 \r\n");
  CHECK(sp.text.empty());
  CHECK(one_reply("421-\r\n421 \r\n").texts == std::vector<std::string>{"", ""});
}

TEST_CASE("textstring: HT, SP, printable ASCII and 8-bit (UTF-8) octets") {
  CHECK(one_reply("250 a\tb\r\n").text == "a\tb");
  CHECK(one_reply("250 \t\r\n").text == "\t");
  CHECK(one_reply("250  two spaces\r\n").text == " two spaces");
  std::string all = "250 ";
  for (int c = 0x20; c <= 0x7e; ++c) all.push_back(static_cast<char>(c));
  all += "\r\n";
  CHECK(one_reply(all).text.size() == 0x7f - 0x20);
  // RFC 6531: a server may echo a UTF-8 address in the text.
  CHECK(one_reply("550 5.1.1 <pel\xc3\xa9@example.com>: unknown\r\n").text ==
        "<pel\xc3\xa9@example.com>: unknown");
  std::string high = "250 ";
  for (int c = 0x80; c <= 0xff; ++c) high.push_back(static_cast<char>(c));
  high += "\r\n";
  CHECK(one_reply(high).text.size() == 0x80);
}

TEST_CASE("Reply-code: every valid code and every invalid digit") {
  for (int code = 200; code <= 559; ++code) {
    if (code / 10 % 10 > 5) continue;
    char buf[16];
    std::snprintf(buf, sizeof buf, "%d x\r\n", code);
    smtpkit::reply_reader rd;
    const auto r = rd.read(buf);
    REQUIRE(r.status == reply_status::reply);
    CHECK(r.value.code() == code);
  }
  // First digit %x32-35, second %x30-35, third %x30-39.
  CHECK(error_of("150 x\r\n") == errc::bad_reply_code);
  CHECK(error_of("650 x\r\n") == errc::bad_reply_code);
  CHECK(error_of("050 x\r\n") == errc::bad_reply_code);
  CHECK(error_of("260 x\r\n") == errc::bad_reply_code);
  CHECK(error_of("599 x\r\n") == errc::bad_reply_code);
  CHECK(error_of("25a x\r\n") == errc::bad_reply_code);
  CHECK(error_of("2x0 x\r\n") == errc::bad_reply_code);
  CHECK(error_of("x50 x\r\n") == errc::bad_reply_code);
  CHECK(error_of("\xb2"
                 "50 x\r\n") == errc::bad_reply_code);
  CHECK(error_of(" 250 x\r\n") == errc::bad_reply_code);
  // Too short to hold a code.
  CHECK(error_of("\r\n") == errc::bad_reply_code);
  CHECK(error_of("2\r\n") == errc::bad_reply_code);
  CHECK(error_of("25\r\n") == errc::bad_reply_code);
  CHECK(error_of("250-ok\r\n25\r\n") == errc::bad_reply_code);
}

TEST_CASE("after the code comes '-', SP or CRLF, nothing else") {
  CHECK(error_of("2500 x\r\n") == errc::bad_reply);
  CHECK(error_of("250x\r\n") == errc::bad_reply);
  CHECK(error_of("250\tok\r\n") == errc::bad_reply);
  CHECK(error_of("250_ok\r\n") == errc::bad_reply);
  CHECK(error_of("250-a\r\n250=b\r\n") == errc::bad_reply);
}

TEST_CASE("all lines of a reply carry the same code") {
  CHECK(error_of("250-a\r\n251 b\r\n") == errc::reply_code_mismatch);
  CHECK(error_of("250-a\r\n250-b\r\n550 c\r\n") == errc::reply_code_mismatch);
  CHECK(error_of("550-a\r\n250 b\r\n") == errc::reply_code_mismatch);
  // A bad code on a later line is a bad code, not a mismatch.
  CHECK(error_of("250-a\r\n2x0 b\r\n") == errc::bad_reply_code);
}

TEST_CASE("lines end with CRLF only: bare LF and bare CR are errors") {
  CHECK(error_of("250 ok\n") == errc::bare_lf);
  CHECK(error_of("250\n") == errc::bare_lf);
  CHECK(error_of("\n") == errc::bare_lf);
  CHECK(error_of("250 o\nk\r\n") == errc::bare_lf);
  CHECK(error_of("250-a\r\n250 b\n") == errc::bare_lf);
  CHECK(error_of("250-a\n250 b\r\n") == errc::bare_lf);
  CHECK(error_of("250 a\rb\r\n") == errc::bare_cr);
  CHECK(error_of("250 a\r\r\n") == errc::bare_cr);
  CHECK(error_of("250\r250 x\r\n") == errc::bare_cr);
  CHECK(error_of("\r\r\n") == errc::bare_cr);
  CHECK(error_of("250 a\n\r\n") == errc::bare_lf);
  // A CR as the last byte so far may still be followed by LF.
  const outcome o = read_all("250 ok\r");
  CHECK_FALSE(o.error.has_value());
  CHECK(o.replies.empty());
  CHECK(o.left == 7);
}

TEST_CASE("NUL, control octets and DEL are refused in text") {
  CHECK(error_of(std::string("250 a\0b\r\n", 9)) == errc::nul_byte);
  CHECK(error_of(std::string("\0", 1)) == errc::nul_byte);
  CHECK(error_of("250 a\x01"
                 "b\r\n") == errc::bad_reply);
  CHECK(error_of("250 a\x1b[31mred\r\n") == errc::bad_reply);
  CHECK(error_of("250 a\x7f\r\n") == errc::bad_reply);
  CHECK(error_of("250 \x0b\r\n") == errc::bad_reply);
  CHECK(error_of("250 \x0c\r\n") == errc::bad_reply);
  for (int c = 1; c < 0x20; ++c) {
    if (c == '\t' || c == '\r' || c == '\n') continue;
    std::string in = "250 abcdefghijklmnop";
    in[static_cast<std::size_t>(4 + c % 16)] = static_cast<char>(c);  // every word position
    in += "\r\n";
    INFO(c);
    CHECK(error_of(in) == errc::bad_reply);
  }
}

TEST_CASE("the first fault in a line wins, however the input is split") {
  // Octets are framed before the code is looked at.
  CHECK(error_of("2\x01"
                 "0 x\r\n") == errc::bad_reply);
  CHECK(error_of("xx\n") == errc::bare_lf);
  CHECK(error_of("250 a\x01\r") == errc::bad_reply);
  CHECK(error_of("250 a\x7f\n") == errc::bad_reply);
  CHECK(error_of("250 a\n\x01") == errc::bare_lf);
}

// RFC 5321 4.5.3.1.5: "The maximum total length of a reply line including the reply code and
// the <CRLF> is 512 octets."
TEST_CASE("reply line limit: 512 octets, code to CRLF inclusive") {
  const std::string fits = "250 " + std::string(506, 'a') + "\r\n";  // 512
  REQUIRE(fits.size() == 512);
  smtpkit::reply_reader rd;
  CHECK(rd.read(fits).status == reply_status::reply);

  const std::string over = "250 " + std::string(507, 'a') + "\r\n";  // 513
  smtpkit::reply_reader rd2;
  const auto r = rd2.read(over);
  REQUIRE(r.status == reply_status::error);
  CHECK(r.error == errc::line_too_long);

  // The error comes as soon as the limit passes without a CRLF, not at the CRLF.
  const std::string no_end(512, 'a');
  smtpkit::reply_reader rd3;
  CHECK(rd3.read(std::string_view(no_end).substr(0, 511)).status == reply_status::need_more);
  const auto r3 = rd3.read(no_end);
  REQUIRE(r3.status == reply_status::error);
  CHECK(r3.error == errc::line_too_long);
  // 511 octets then CR: the LF would be octet 513.
  smtpkit::reply_reader rd4;
  const auto r4 = rd4.read("250 " + std::string(507, 'a') + "\r");
  REQUIRE(r4.status == reply_status::error);
  CHECK(r4.error == errc::line_too_long);
}

TEST_CASE("reply line limit is the reader's, for every line, across splits") {
  const smtpkit::limits lim = reply_line_limit(12);
  // "250-0123456" CRLF is 13; "250-012345" CRLF is 12.
  CHECK(read_all("250-012345\r\n250 0123456\r\n", lim).error == errc::line_too_long);
  const outcome ok = read_all("250-012345\r\n250 abcdef\r\n", lim);
  REQUIRE(ok.replies.size() == 1);
  CHECK(ok.replies[0].line_count == 2);
  CHECK(error_of("250 0123456789abcdef", lim) == errc::line_too_long);
  CHECK(error_of("250 01234567\r", lim) == errc::line_too_long);
  // A tiny limit is raised to 5: "250" CRLF always fits.
  smtpkit::reply_reader tiny(reply_line_limit(0));
  CHECK(tiny.max_line() == 5);
  CHECK(tiny.read("250\r\n").status == reply_status::reply);
}

TEST_CASE("a reply has at most max_lines lines") {
  CHECK(read_all("250-a\r\n250-b\r\n250 c\r\n", {}, 3).replies.size() == 1);
  CHECK(error_of("250-a\r\n250-b\r\n250-c\r\n250 d\r\n", {}, 3) == errc::reply_too_long);
  // The error comes with the line that goes over, before its successors arrive.
  CHECK(error_of("250-a\r\n250-b\r\n250-c\r\n", {}, 3) == errc::reply_too_long);
  CHECK(error_of("250-a\r\n", {}, 1) == errc::reply_too_long);
  CHECK(read_all("250 a\r\n", {}, 1).replies.size() == 1);
  smtpkit::reply_reader zero({}, 0);  // raised to 1
  CHECK(zero.max_lines() == 1);
  std::string many;
  for (int i = 0; i < 100; ++i) many += "250-x\r\n";
  smtpkit::reply_reader rd;
  CHECK(rd.read(many + "250 end\r\n").status == reply_status::error);
  CHECK(rd.error() == errc::reply_too_long);
  smtpkit::reply_reader rd2;
  const std::string ninety_nine = many.substr(7) + "250 end\r\n";  // 100 lines
  CHECK(rd2.read(ninety_nine).status == reply_status::reply);
}

TEST_CASE("pipelined replies come one per call; the rest waits") {
  const std::string in =
      "250 2.1.0 Ok\r\n"
      "250 2.1.5 Ok\r\n"
      "550 5.1.1 <x@y>: Recipient address rejected\r\n"
      "354 End data with <CR><LF>.<CR><LF>\r\n"
      "250-partial";
  const outcome o = read_all(in);
  REQUIRE(o.replies.size() == 4);
  CHECK(o.replies[0].code == 250);
  CHECK(o.replies[1].enhanced == enhanced_status{2, 1, 5});
  CHECK(o.replies[2].code == 550);
  CHECK(o.replies[2].text == "<x@y>: Recipient address rejected");
  CHECK(o.replies[3].code == 354);
  CHECK_FALSE(o.error.has_value());
  CHECK(o.left == 11);

  smtpkit::reply_reader rd;
  std::string_view rest = in;
  const auto a = rd.read(rest);
  REQUIRE(a.status == reply_status::reply);
  CHECK(a.consumed == 14);
  rest.remove_prefix(a.consumed);
  const auto b = rd.read(rest);
  REQUIRE(b.status == reply_status::reply);
  CHECK(b.value.raw() == "250 2.1.5 Ok\r\n");
}

TEST_CASE("errors are sticky until reset()") {
  smtpkit::reply_reader rd;
  CHECK_FALSE(rd.failed());
  const auto e = rd.read("250 a\n");
  REQUIRE(e.status == reply_status::error);
  CHECK(e.consumed == 0);
  CHECK(rd.failed());
  CHECK(rd.error() == errc::bare_lf);
  const auto again = rd.read("250 fine\r\n");
  CHECK(again.status == reply_status::error);
  CHECK(again.error == errc::bare_lf);
  rd.reset();
  CHECK_FALSE(rd.failed());
  CHECK(rd.error() == errc{});
  CHECK(rd.read("250 fine\r\n").status == reply_status::reply);
}

TEST_CASE("reset() forgets a partial reply (STARTTLS: buffered replies are discarded)") {
  smtpkit::reply_reader rd;
  CHECK(rd.read("250-a\r\n250-b").status == reply_status::need_more);
  rd.reset();
  const auto r = rd.read("220 ready\r\n");
  REQUIRE(r.status == reply_status::reply);
  CHECK(r.value.code() == 220);
  CHECK(r.value.line_count() == 1);
}

TEST_CASE("fewer bytes than seen before restarts the reply instead of misreading") {
  smtpkit::reply_reader rd;
  CHECK(rd.read("250-abc\r\n250 de").status == reply_status::need_more);
  CHECK(rd.read("").status == reply_status::need_more);
  const auto r = rd.read("250 xyz\r\n");
  REQUIRE(r.status == reply_status::reply);
  CHECK(r.value.line_count() == 1);
  CHECK(r.value.text() == "xyz");
}

// RFC 2034 4 / RFC 3463 2: the enhanced status code starts each line's text, followed by SP.
//   status-code = class "." subject "." detail
TEST_CASE("enhanced status codes are split from each line's text") {
  const reply_copy a = one_reply("250 2.1.0 Sender <a@b> OK\r\n");
  CHECK(a.enhanced == enhanced_status{2, 1, 0});
  CHECK(a.text == "Sender <a@b> OK");

  const reply_copy m = one_reply(
      "550-5.1.1 The email account that you tried to reach does not exist.\r\n"
      "550-5.1.1 Please try double-checking the recipient's email address.\r\n"
      "550 5.1.1 https://support.example.com/mail/?p=NoSuchUser\r\n");
  CHECK(m.enhanced == enhanced_status{5, 1, 1});
  CHECK(m.text == "The email account that you tried to reach does not exist.");
  CHECK(m.texts[2] == "https://support.example.com/mail/?p=NoSuchUser");
  for (const auto& e : m.line_enhanced) CHECK(e == enhanced_status{5, 1, 1});

  // A status alone, without text.
  const reply_copy alone = one_reply("250 2.0.0\r\n");
  CHECK(alone.enhanced == enhanced_status{2, 0, 0});
  CHECK(alone.text.empty());
  // Only the first SP goes with the status.
  CHECK(one_reply("250 2.0.0  x\r\n").text == " x");
}

TEST_CASE("text that only looks like an enhanced status stays text") {
  struct example {
    const char* in;
    const char* text;
  };
  const example examples[] = {
      {"250 5.1.1 wrong class\r\n", "5.1.1 wrong class"},        // class is not the code's
      {"354 2.0.0 go ahead\r\n", "2.0.0 go ahead"},              // 3xx never has one
      {"250 2.01.0 leading zero\r\n", "2.01.0 leading zero"},    // RFC 3463 field syntax
      {"250 2.0.0x\r\n", "2.0.0x"},                              // not followed by SP
      {"250 2.0.0.1 four\r\n", "2.0.0.1 four"},                  // not followed by SP
      {"250 2.1000.0 wide\r\n", "2.1000.0 wide"},                // subject over 3 digits
      {"250 2.0 short\r\n", "2.0 short"},                        // two fields
      {"250 2.0.0\tx\r\n", "2.0.0\tx"},                          // HT is not SP
      {"250  2.0.0 x\r\n", " 2.0.0 x"},                          // not at the start
      {"550 4.0.0 class 4 on 5xx\r\n", "4.0.0 class 4 on 5xx"},  // class mismatch
  };
  for (const auto& e : examples) {
    INFO(std::string(e.in));
    const reply_copy r = one_reply(e.in);
    CHECK_FALSE(r.enhanced.has_value());
    CHECK(r.text == e.text);
  }
}

TEST_CASE("each line has its own enhanced status; the reply's is the first line's") {
  const reply_copy r = one_reply("250-mx.example.net\r\n250-2.0.0 b\r\n250 c\r\n");
  CHECK_FALSE(r.enhanced.has_value());
  CHECK(r.text == "mx.example.net");
  REQUIRE(r.line_enhanced.size() == 3);
  CHECK_FALSE(r.line_enhanced[0].has_value());
  CHECK(r.line_enhanced[1] == enhanced_status{2, 0, 0});
  CHECK_FALSE(r.line_enhanced[2].has_value());
  CHECK(r.texts == std::vector<std::string>{"mx.example.net", "b", "c"});

  smtpkit::reply_reader rd;
  const auto x = rd.read("452-4.5.3 a\r\n452 4.5.3 b\r\n");
  REQUIRE(x.status == reply_status::reply);
  for (const auto& l : x.value.lines()) {
    CHECK(l.raw_text.substr(0, 6) == "4.5.3 ");
    CHECK(l.text.size() == 1);
  }
}

TEST_CASE("reply views point into the input") {
  const std::string in = "250-first\r\n250 2.0.0 second\r\n";
  smtpkit::reply_reader rd;
  const auto r = rd.read(in);
  REQUIRE(r.status == reply_status::reply);
  CHECK(r.value.raw().data() == in.data());
  CHECK(r.value.text().data() == in.data() + 4);
  auto it = r.value.lines().begin();
  CHECK(it->raw_text.data() == in.data() + 4);
  ++it;
  CHECK(it->text.data() == in.data() + 21);
  CHECK(it->raw_text == "2.0.0 second");
  auto old = it++;
  CHECK(old->last);
  CHECK(it == r.value.lines().end());
  CHECK(r.value.multiline());
  const smtpkit::reply none;
  CHECK(none.code() == 0);
  CHECK(none.lines().begin() == none.lines().end());
}

TEST_CASE("reply equality compares code and each line's status and text") {
  const auto a = smtpkit::parse_reply("250-x\r\n250 2.0.0 y\r\n");
  const auto b = smtpkit::parse_reply("250-x\r\n250 2.0.0 y\r\n");
  const auto c = smtpkit::parse_reply("250-x\r\n250 y\r\n");
  const auto d = smtpkit::parse_reply("250 \r\n");
  const auto e = smtpkit::parse_reply("250\r\n");
  const auto f = smtpkit::parse_reply("251\r\n");
  REQUIRE((a && b && c && d && e && f));
  CHECK(*a == *b);
  CHECK(*a != *c);
  CHECK(*d == *e);  // "250 " and "250" both mean no text
  CHECK(*e != *f);
  CHECK(*a != *e);
}

TEST_CASE("parse_reply takes exactly one complete reply") {
  const auto ok = smtpkit::parse_reply("221 2.0.0 Bye\r\n");
  REQUIRE(ok.has_value());
  CHECK(ok->code() == 221);
  CHECK(ok->enhanced() == enhanced_status{2, 0, 0});
  const auto part = smtpkit::parse_reply("250-a\r\n");
  REQUIRE_FALSE(part.has_value());
  CHECK(part.error() == errc::incomplete);
  const auto extra = smtpkit::parse_reply("250 a\r\n250 b\r\n");
  REQUIRE_FALSE(extra.has_value());
  CHECK(extra.error() == errc::bad_reply);
  const auto bad = smtpkit::parse_reply("250 a\n");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error() == errc::bare_lf);
  CHECK(smtpkit::parse_reply("").error() == errc::incomplete);
  const auto lim = smtpkit::parse_reply("250-a\r\n250 b\r\n", {}, 1);
  CHECK(lim.error() == errc::reply_too_long);
}

TEST_CASE("reading replies allocates nothing") {
  const std::string in =
      "220 mx.example.net ESMTP\r\n250-mx.example.net\r\n250-PIPELINING\r\n250 2.0.0 OK\r\n"
      "550 5.1.1 nope\r\n";
  smtpkit::reply_reader rd;
  std::size_t replies = 0;
  std::size_t lines = 0;
  bool errors = false;
  smtpkit_test::alloc_scope allocs;
  std::size_t start = 0;
  for (std::size_t end = 1; end <= in.size(); ++end) {  // byte by byte
    for (;;) {
      const auto r = rd.read(std::string_view(in).substr(start, end - start));
      if (r.status == reply_status::error) errors = true;
      if (r.status != reply_status::reply) break;
      for (const auto& l : r.value.lines()) lines += l.text.empty() ? 0u : 1u;
      start += r.consumed;
      ++replies;
    }
  }
  const std::size_t count = allocs.count();
  CHECK(count == 0);
  CHECK_FALSE(errors);
  CHECK(replies == 3);
  CHECK(lines == 5);
  CHECK(start == in.size());
}

namespace {
std::string read_corpus(const char* name) {
  const std::string path = std::string(SMTPKIT_TEST_CORPUS_DIR) + "/" + name;
  std::string data;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  REQUIRE(f != nullptr);
  char buf[65536];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.append(buf, n);
  std::fclose(f);
  return data;
}
}  // namespace

TEST_CASE("every reply in bench/corpus/replies.smtp parses (11,176 replies)") {
  const std::string data = read_corpus("replies.smtp");
  std::size_t lf = 0;
  for (char c : data) lf += c == '\n' ? 1u : 0u;
  smtpkit::reply_reader rd;
  std::string_view rest = data;
  std::size_t replies = 0;
  std::size_t lines = 0;
  std::size_t with_status = 0;
  while (!rest.empty()) {
    const auto r = rd.read(rest);
    REQUIRE(r.status == reply_status::reply);
    lines += r.value.line_count();
    with_status += r.value.enhanced() ? 1u : 0u;
    rest.remove_prefix(r.consumed);
    ++replies;
  }
  CHECK(replies == 11176);
  CHECK(lines == 21176);
  CHECK(lines == lf);
  CHECK(with_status > 0);

  // The same stream in 1000-byte chunks (replies cut anywhere) gives the same replies.
  smtpkit::reply_reader rd2;
  std::string pending;
  std::size_t replies2 = 0;
  for (std::size_t at = 0; at < data.size(); at += 1000) {
    pending.append(data, at, 1000);
    std::string_view view = pending;
    for (;;) {
      const auto r = rd2.read(view);
      REQUIRE(r.status != reply_status::error);
      if (r.status == reply_status::need_more) break;
      view.remove_prefix(r.consumed);
      ++replies2;
    }
    pending.erase(0, pending.size() - view.size());
  }
  CHECK(replies2 == 11176);
  CHECK(pending.empty());
}

TEST_CASE("bench/corpus/ehlo_reply.smtp is one multiline 250 reply") {
  const std::string data = read_corpus("ehlo_reply.smtp");
  const outcome o = read_all(data);
  REQUIRE(o.replies.size() == 1);
  CHECK(o.replies[0].code == 250);
  CHECK(o.replies[0].line_count > 1);
  CHECK(o.left == 0);
}

// ---------------------------------------------------------------------------------------------
// write_reply

namespace {
/// Writes @p spec into a fresh buffer; returns the bytes, or the error in @p err.
std::string written(const smtpkit::reply_spec& spec, errc* err = nullptr,
                    std::size_t max_line = 512) {
  static char mem[8192];
  smtpkit::byte_writer w(mem, sizeof mem);
  const std::error_code ec = smtpkit::write_reply(w, spec, max_line);
  if (err) *err = ec ? static_cast<errc>(ec.value()) : errc{};
  if (ec) CHECK(w.size() == 0);  // nothing appended on error
  return std::string(w.view());
}
errc write_error(const smtpkit::reply_spec& spec, std::size_t max_line = 512) {
  errc e{};
  written(spec, &e, max_line);
  return e;
}
}  // namespace

TEST_CASE("write_reply: single-line replies") {
  CHECK(written({250, std::nullopt, "OK"}) == "250 OK\r\n");
  CHECK(written({250, enhanced_status{2, 1, 0}, "Ok"}) == "250 2.1.0 Ok\r\n");
  CHECK(written({250, std::nullopt, ""}) == "250\r\n");
  CHECK(written({250, enhanced_status{2, 0, 0}, ""}) == "250 2.0.0\r\n");
  CHECK(written({554, enhanced_status{5, 7, 1}, "Relay access denied"}) ==
        "554 5.7.1 Relay access denied\r\n");
  CHECK(written({220, std::nullopt, "mx.example.net ESMTP"}) == "220 mx.example.net ESMTP\r\n");
  CHECK(written({354, std::nullopt, "End data with <CR><LF>.<CR><LF>"}) ==
        "354 End data with <CR><LF>.<CR><LF>\r\n");
  CHECK(written({250, std::nullopt, "caf\xc3\xa9"}) == "250 caf\xc3\xa9\r\n");
  CHECK(written({250, std::nullopt, "a\tb"}) == "250 a\tb\r\n");
}

TEST_CASE("write_reply: multiline replies, from an array or an initializer list") {
  const std::string_view more[] = {"PIPELINING", "", "8BITMIME"};
  CHECK(written({250, std::nullopt, "mx.example.net", more}) ==
        "250-mx.example.net\r\n250-PIPELINING\r\n250-\r\n250 8BITMIME\r\n");
  const std::string_view two[] = {"b"};
  CHECK(written({550, enhanced_status{5, 1, 1}, "a", two}) == "550-5.1.1 a\r\n550 5.1.1 b\r\n");
  CHECK(written({550, enhanced_status{5, 1, 1}, "", smtpkit::line_list(two, 1)}) ==
        "550-5.1.1\r\n550 5.1.1 b\r\n");
  const std::string_view last_empty[] = {""};
  CHECK(written({250, std::nullopt, "a", last_empty}) == "250-a\r\n250\r\n");

  char mem[256];
  smtpkit::byte_writer w(mem, sizeof mem);
  CHECK(!smtpkit::write_reply(w, 214, std::nullopt, {"Commands:", "HELO EHLO", "End"}));
  CHECK(w.view() == "214-Commands:\r\n214-HELO EHLO\r\n214 End\r\n");
  w.clear();
  CHECK(!smtpkit::write_reply(w, 250, std::nullopt, {}));
  CHECK(w.view() == "250\r\n");
  w.clear();
  CHECK(!smtpkit::write_reply(w, 452, enhanced_status{4, 5, 3}, {"Too many recipients"}));
  CHECK(w.view() == "452 4.5.3 Too many recipients\r\n");
}

TEST_CASE("write_reply refuses codes the reader would refuse") {
  for (int code : {0, 99, 199, 100, 150, 600, 999, 1250, -250, 260, 299, 370, 465, 590}) {
    INFO(code);
    CHECK(write_error({code, std::nullopt, "x"}) == errc::invalid_argument);
  }
  CHECK(write_error({200, std::nullopt, "x"}) == errc{});
  CHECK(write_error({559, std::nullopt, "x"}) == errc{});
}

TEST_CASE("write_reply refuses enhanced statuses that are invalid or of another class") {
  CHECK(write_error({250, enhanced_status{5, 1, 1}, "x"}) == errc::invalid_argument);
  CHECK(write_error({354, enhanced_status{2, 0, 0}, "x"}) == errc::invalid_argument);
  CHECK(write_error({250, enhanced_status{2, 1000, 0}, "x"}) == errc::invalid_argument);
  CHECK(write_error({250, enhanced_status{}, "x"}) == errc::invalid_argument);
}

TEST_CASE("write_reply refuses CR, LF, NUL, control octets and DEL in any line") {
  for (const char* t : {"a\rb", "a\nb", "\r\n", "a\x01", "\x7f", "\x1b[0m", "x\x0b"}) {
    INFO(std::string(t));
    CHECK(write_error({250, std::nullopt, t}) == errc::invalid_argument);
    const std::string_view more[] = {"ok", t};
    CHECK(write_error({250, std::nullopt, "first", more}) == errc::invalid_argument);
  }
  CHECK(write_error({250, std::nullopt, std::string_view("a\0b", 3)}) == errc::invalid_argument);
  // The smuggling shape: a CRLF inside a text would start a new reply.
  CHECK(write_error({250, std::nullopt, "Ok\r\n250 fake"}) == errc::invalid_argument);
}

TEST_CASE("write_reply refuses text that would read back as an enhanced status") {
  CHECK(write_error({250, std::nullopt, "2.0.0 Ok"}) == errc::invalid_argument);
  CHECK(write_error({250, std::nullopt, "2.0.0"}) == errc::invalid_argument);
  const std::string_view more[] = {"5.1.1 x"};
  CHECK(write_error({550, std::nullopt, "a", more}) == errc::invalid_argument);
  // Fine when it would not be split: other class, 3xx, no SP after it, or after a status.
  CHECK(written({250, std::nullopt, "5.1.1 x"}) == "250 5.1.1 x\r\n");
  CHECK(written({354, std::nullopt, "2.0.0 x"}) == "354 2.0.0 x\r\n");
  CHECK(written({250, std::nullopt, "2.0.0:"}) == "250 2.0.0:\r\n");
  CHECK(written({250, enhanced_status{2, 0, 0}, "2.0.0 x"}) == "250 2.0.0 2.0.0 x\r\n");
}

TEST_CASE("write_reply refuses a line over the limit") {
  const std::string t506(506, 'a');  // "250 " + 506 + CRLF = 512
  CHECK(written({250, std::nullopt, t506}).size() == 512);
  CHECK(write_error({250, std::nullopt, t506 + "a"}) == errc::line_too_long);
  const std::string t500(500, 'a');  // "250 2.0.0 " + 500 + CRLF = 512
  CHECK(written({250, enhanced_status{2, 0, 0}, t500}).size() == 512);
  CHECK(write_error({250, enhanced_status{2, 0, 0}, t500 + "a"}) == errc::line_too_long);
  const std::string_view more[] = {"ok", std::string_view(t506.data(), 506)};
  CHECK(write_error({250, std::nullopt, "x", more}, 100) == errc::line_too_long);
  CHECK(write_error({250, std::nullopt, ""}, 4) == errc::line_too_long);
  CHECK(write_error({250, std::nullopt, ""}, 5) == errc{});
}

TEST_CASE("write_reply appends nothing when the output is full") {
  char mem[20];
  smtpkit::byte_writer w(mem, sizeof mem);
  CHECK(w.append("X"));
  const std::string_view more[] = {"second line"};
  const std::error_code ec = smtpkit::write_reply(w, {250, std::nullopt, "first", more});
  CHECK((ec == errc::output_full));
  CHECK(w.view() == "X");
  CHECK(!smtpkit::write_reply(w, {250, std::nullopt, "first"}));  // 11 bytes fit
  CHECK(w.view() == "X250 first\r\n");
}

TEST_CASE("round trip: the reader gives back what write_reply wrote") {
  std::uint32_t seed = 12345;
  auto next = [&seed](std::uint32_t n) {
    seed = seed * 1664525u + 1013904223u;
    return (seed >> 8) % n;
  };
  const char alphabet[] = "abc XYZ 0123456789.-:<>@\t\x80\xc3\xa9";
  for (int iter = 0; iter < 2000; ++iter) {
    int code;
    do {
      code = 200 + static_cast<int>(next(360));
    } while (code / 10 % 10 > 5);
    std::optional<enhanced_status> enh;
    if (code / 100 != 3 && next(2) == 0)
      enh = enhanced_status{static_cast<std::uint8_t>(code / 100),
                            static_cast<std::uint16_t>(next(1000)),
                            static_cast<std::uint16_t>(next(1000))};
    std::vector<std::string> texts(1 + next(4));
    for (auto& t : texts) {
      const std::uint32_t len = next(3) == 0 ? 0 : next(40);
      for (std::uint32_t i = 0; i < len; ++i) t.push_back(alphabet[next(sizeof alphabet - 1)]);
      if (!enh && t.size() >= 5 && t[0] == static_cast<char>('0' + code / 100)) t[0] = 'x';
    }
    std::vector<std::string_view> more(texts.begin() + 1, texts.end());
    const smtpkit::reply_spec spec{code, enh, texts[0],
                                   smtpkit::line_list(more.data(), more.size())};
    errc e{};
    const std::string bytes = written(spec, &e);
    INFO(bytes);
    REQUIRE(e == errc{});
    const auto r = smtpkit::parse_reply(bytes);
    REQUIRE(r.has_value());
    CHECK(r->code() == code);
    CHECK(r->enhanced() == enh);
    CHECK(r->line_count() == texts.size());
    CHECK(r->text() == texts[0]);
    std::size_t i = 0;
    for (const auto& l : r->lines()) {
      CHECK(l.text == texts[i]);
      CHECK(l.enhanced == enh);
      CHECK(l.last == (i + 1 == texts.size()));
      ++i;
    }
    // parse -> write -> parse gives the same reply again.
    std::vector<std::string_view> again;
    for (const auto& l : r->lines()) again.push_back(l.text);
    std::vector<std::string_view> again_more(again.begin() + 1, again.end());
    const std::string bytes2 = written({r->code(), r->enhanced(), again[0],
                                        smtpkit::line_list(again_more.data(), again_more.size())});
    CHECK(bytes2 == bytes);
  }
}

TEST_CASE("writing replies allocates nothing") {
  char mem[512];
  smtpkit::byte_writer w(mem, sizeof mem);
  const std::string_view more[] = {"PIPELINING", "8BITMIME"};
  smtpkit_test::alloc_scope allocs;
  CHECK(!smtpkit::write_reply(w, {250, std::nullopt, "mx.example.net", more}));
  CHECK(!smtpkit::write_reply(w, {550, enhanced_status{5, 1, 1}, "no"}));
  CHECK(!smtpkit::write_reply(w, 250, std::nullopt, {"a", "b"}));
  CHECK(allocs.count() == 0);
}
