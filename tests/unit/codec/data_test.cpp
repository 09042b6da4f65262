// Tests for smtpkit/codec/data.hpp: dot-stuffing out, smuggling-safe dot-unstuffing in, over
// input split anywhere, with the SSE2 and the portable scan compared on every input.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <smtpkit/codec/data.hpp>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "alloc_counter.hpp"
#include "guard_page.hpp"
#include "split.hpp"

namespace {

using smtpkit::bare_newline_policy;
using smtpkit::byte_writer;
using smtpkit::data_reader;
using smtpkit::data_status;
using smtpkit::dot_stuffer;
using smtpkit::errc;

constexpr auto reject = bare_newline_policy::reject;

// doctest cannot print a std::error_code: compare errc values and booleans instead.
errc code_of(std::error_code ec) {
  return ec ? static_cast<errc>(ec.value()) : errc{};
}
bool failed(std::error_code ec) {
  return static_cast<bool>(ec);
}
constexpr auto normalize = bare_newline_policy::normalize;

// ---------------------------------------------------------------------------------------------
// A reference model of the unstuffing rules, written for clarity, not speed: it walks the whole
// input byte by byte and delivers what the incremental reader must have delivered once all of
// the input has been offered (everything but an undecided tail).

struct model {
  std::string body;
  bool ended = false;
  std::string rest;  // what follows the end of data
  bool bare_lf = false;
  bool bare_cr = false;
  bool long_line = false;
};

model reference(std::string_view in, bare_newline_policy policy, std::size_t limit) {
  const std::size_t lim = limit == 0 ? std::numeric_limits<std::size_t>::max() : limit;
  enum { mid_line, after_crlf, after_lf } start = after_crlf;
  model m;
  std::size_t len = 0;  // octets of the current line so far, a CR included
  std::size_t pos = 0;
  const std::size_t n = in.size();
  while (pos < n) {
    if (start != mid_line && in[pos] == '.') {
      if (start == after_crlf) {
        if (in.substr(pos, 3) == ".\r\n") {
          m.ended = true;
          m.rest = std::string(in.substr(pos + 3));
          return m;
        }
        if (pos + 1 == n || (in[pos + 1] == '\r' && pos + 2 == n)) return m;  // undecided
      }
      ++pos;  // a leading dot is removed
      start = mid_line;
      continue;
    }
    start = mid_line;
    const char c = in[pos];
    if (c == '\r') {
      if (pos + 1 == n) return m;  // its LF may follow
      if (in[pos + 1] != '\n') m.bare_cr = true;
      m.body += c;
      ++len;
      ++pos;
    } else if (c == '\n') {
      const bool after_cr = pos > 0 && in[pos - 1] == '\r';
      if (!after_cr) {
        m.bare_lf = true;
        if (policy == normalize) {
          if (len + 2 > lim) m.long_line = true;
          m.body += "\r\n";
          len = 0;
          start = after_lf;
          ++pos;
          continue;
        }
      }
      if (len - (after_cr ? 1 : 0) + 2 > lim) m.long_line = true;
      m.body += '\n';
      len = 0;
      start = after_cr ? after_crlf : mid_line;
      ++pos;
    } else {
      m.body += c;
      ++len;
      ++pos;
    }
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// The owner of a receive buffer, driving a data_reader.

struct unstuffed {
  std::string body;
  bool ended = false;
  std::string rest;  // held bytes and unfed input after the end (or at the end of the input)
  std::vector<std::string> trace;  // "<status>/<data>/<consumed>" for each call
  bool contract_ok = true;
  std::size_t calls = 0;
};

enum class path { simd, scalar };

smtpkit::data_result call(data_reader& r, std::string_view in, path p) {
  return p == path::simd ? r.next(in) : r.next_scalar(in);
}

// Appends each chunk to the buffer and calls next() on a copy of the buffer placed before a
// guard page, until need_more or end.
unstuffed unstuff(data_reader& r, const std::vector<std::string_view>& chunks, path p) {
  unstuffed u;
  std::string buf;
  std::size_t fed = 0;
  for (; fed < chunks.size() && !u.ended; ++fed) {
    buf.append(chunks[fed].data(), chunks[fed].size());
    for (;;) {
      const smtpkit_test::guarded_copy g(buf);
      const smtpkit::data_result res = call(r, g.view(), p);
      ++u.calls;
      const std::string_view view = g.view();
      const bool inside =
          res.data.empty() || (res.data.data() >= view.data() &&
                               res.data.data() + res.data.size() <= view.data() + view.size());
      if (res.consumed > buf.size()) u.contract_ok = false;
      if (res.status == data_status::chunk && res.data.empty()) u.contract_ok = false;
      if (res.status == data_status::need_more && !res.data.empty()) u.contract_ok = false;
      if (!inside && res.data != "\r\n") u.contract_ok = false;
      u.trace.push_back(std::to_string(static_cast<int>(res.status)) + "/" + std::string(res.data) +
                        "/" + std::to_string(res.consumed));
      u.body.append(res.data.data(), res.data.size());
      buf.erase(0, res.consumed);
      if (res.status == data_status::end) {
        u.ended = true;
        const auto again = call(r, buf, p);  // stays at the end, takes nothing
        if (again.status != data_status::end || again.consumed != 0 || !again.data.empty())
          u.contract_ok = false;
        break;
      }
      if (res.status == data_status::need_more) break;
    }
  }
  u.rest = buf;
  for (; fed < chunks.size(); ++fed) u.rest.append(chunks[fed].data(), chunks[fed].size());
  return u;
}

std::vector<std::string_view> whole(std::string_view s) {
  return {s};
}

std::vector<std::string_view> random_pieces(std::string_view s, std::mt19937& rng,
                                            std::size_t max_piece) {
  std::vector<std::string_view> out;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t k = 1 + rng() % max_piece;
    out.push_back(s.substr(i, k));
    i += k;
  }
  return out;
}

// Reads @p chunks with both scans and the model; checks they all agree, and returns the result.
unstuffed check_against_model(std::string_view input, const std::vector<std::string_view>& chunks,
                              bare_newline_policy policy, std::size_t limit) {
  const model m = reference(input, policy, limit);
  data_reader fast(limit, policy);
  data_reader slow(limit, policy);
  const unstuffed a = unstuff(fast, chunks, path::simd);
  const unstuffed b = unstuff(slow, chunks, path::scalar);
  CHECK(a.contract_ok);
  CHECK(b.contract_ok);
  CHECK(a.trace == b.trace);  // identical call by call, not only in the end
  CHECK(a.body == m.body);
  CHECK(a.ended == m.ended);
  if (m.ended) CHECK(a.rest == m.rest);
  CHECK(fast.saw_bare_lf() == m.bare_lf);
  CHECK(fast.saw_bare_cr() == m.bare_cr);
  CHECK(fast.saw_long_line() == m.long_line);
  CHECK(slow.saw_bare_lf() == m.bare_lf);
  CHECK(slow.saw_bare_cr() == m.bare_cr);
  CHECK(slow.saw_long_line() == m.long_line);
  CHECK(fast.body_size() == a.body.size());
  CHECK(slow.body_size() == b.body.size());
  CHECK(fast.finished() == m.ended);
  return a;
}

struct expect {
  expect(std::string b, bool e = true, std::string r = {}, bool lf = false, bool cr = false,
         bool ll = false)
      : body(std::move(b)), ended(e), rest(std::move(r)), bare_lf(lf), bare_cr(cr), long_line(ll) {}
  std::string body;
  bool ended;
  std::string rest;
  bool bare_lf;
  bool bare_cr;
  bool long_line;
};

// Every split of @p input, both scans, and the model, against the expected result.
void check_message(std::string_view input, const expect& e, bare_newline_policy policy = reject,
                   std::size_t limit = 1000) {
  smtpkit_test::for_each_split(input, [&](const smtpkit_test::split_case& c) {
    INFO(c.name);
    data_reader r(limit, policy);
    const unstuffed u = unstuff(r, c.chunks, path::simd);
    CHECK(u.contract_ok);
    CHECK(u.body == e.body);
    CHECK(u.ended == e.ended);
    CHECK(u.rest == e.rest);
    CHECK(r.saw_bare_lf() == e.bare_lf);
    CHECK(r.saw_bare_cr() == e.bare_cr);
    CHECK(r.saw_long_line() == e.long_line);
    CHECK(r.body_size() == e.body.size());
    check_against_model(input, c.chunks, policy, limit);
  });
}

// ---------------------------------------------------------------------------------------------
// The owner of a send buffer, driving a dot_stuffer with an output buffer of @p cap bytes.

enum class stuff_path { simd, scalar };

std::string stuff(const std::vector<std::string_view>& chunks, std::size_t cap,
                  stuff_path p = stuff_path::simd, bool* stuck = nullptr) {
  dot_stuffer s;
  std::string out;
  std::vector<char> mem(cap);
  for (std::string_view rest : chunks) {
    while (!rest.empty()) {
      byte_writer w(mem.data(), mem.size());
      const std::size_t took = p == stuff_path::simd ? s.write(rest, w) : s.write_scalar(rest, w);
      out.append(w.view().data(), w.size());
      rest.remove_prefix(took);
      if (took == 0 && w.size() == 0) {  // no progress with an empty buffer: a bug
        if (stuck) *stuck = true;
        return out;
      }
    }
  }
  char tail[5];
  byte_writer w(tail, sizeof tail);
  if (s.finish(w)) {
    if (stuck) *stuck = true;
  }
  out.append(w.view().data(), w.size());
  return out;
}

std::string stuff_whole(std::string_view in) {
  return stuff({in}, in.size() * 3 + 8);
}

// x with every line end made CRLF, and a final CRLF when it lacked one: what unstuff(stuff(x))
// must give.
std::string normalized(std::string_view x) {
  std::string out;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i] == '\r') {
      out += "\r\n";
      if (i + 1 < x.size() && x[i + 1] == '\n') ++i;
    } else if (x[i] == '\n') {
      out += "\r\n";
    } else {
      out += x[i];
    }
  }
  if (!x.empty() && x.back() != '\n' && x.back() != '\r') out += "\r\n";
  return out;
}

// True when every CR is followed by LF and every LF preceded by CR.
bool crlf_only(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && (i + 1 == s.size() || s[i + 1] != '\n')) return false;
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return false;
  }
  return true;
}

std::string lines(std::size_t count, std::size_t width, char fill = 'm') {
  std::string s;
  for (std::size_t i = 0; i < count; ++i) s += std::string(width, fill) + "\r\n";
  return s;
}

}  // namespace

// =============================================================================================
// data_reader

TEST_CASE("data_reader: the SSE2 scan is built where SSE2 exists") {
#if defined(__SSE2__) && !defined(SMTPKIT_NO_SIMD)
  CHECK(smtpkit::detail::data_simd);
#else
  CHECK_FALSE(smtpkit::detail::data_simd);
#endif
}

// RFC 5321 4.1.1.4: "The mail data are terminated by a line containing only a period, that is,
// the character sequence "<CRLF>.<CRLF>", where the first <CRLF> is actually the terminator of
// the previous line."
TEST_CASE("data_reader: CRLF . CRLF ends the message; the first CRLF is body") {
  check_message("Subject: hi\r\n\r\nHello.\r\n.\r\n", {"Subject: hi\r\n\r\nHello.\r\n"});
  check_message("\r\n.\r\n", {"\r\n"});
}

TEST_CASE("data_reader: an empty message right after DATA") {
  // The DATA command's CRLF is the first CRLF of the end sequence.
  check_message(".\r\n", {""});
  check_message(".\r\nQUIT\r\n", {"", true, "QUIT\r\n"});
}

TEST_CASE("data_reader: bytes after the end are not consumed (pipelining)") {
  check_message("a\r\n.\r\nMAIL FROM:<b@c>\r\nRCPT TO:<d@e>\r\n",
                {"a\r\n", true, "MAIL FROM:<b@c>\r\nRCPT TO:<d@e>\r\n"});
}

// RFC 5321 4.5.2: "If the first character is a period and there are other characters on the
// line, the first character is deleted."
TEST_CASE("data_reader: a leading dot is removed (RFC 5321 4.5.2)") {
  check_message("..\r\n.\r\n", {".\r\n"});
  check_message("...\r\n.\r\n", {"..\r\n"});
  check_message("a\r\n..b\r\n.c\r\n. \r\n.\r\n", {"a\r\n.b\r\nc\r\n \r\n"});
  check_message(".a.b.\r\n.\r\n", {"a.b.\r\n"});  // only the first dot
  check_message("x.\r\n.\r\n", {"x.\r\n"});       // a dot that does not start a line stays
}

TEST_CASE("data_reader: a dot followed by CR and not LF is stuffing") {
  check_message(".\rx\r\n.\r\n", {"\rx\r\n", true, "", false, true});
  check_message("a\r\n.\r\r\n.\r\n", {"a\r\n\r\r\n", true, "", false, true});
}

// SMTP smuggling (CVE-2023-51764 and kin): none of these ends a message, under either policy,
// and what follows stays message content.
TEST_CASE("data_reader: smuggling sequences never end a message (reject)") {
  const std::string smuggled = "MAIL FROM:<evil@x>\r\nRCPT TO:<v@y>\r\nDATA\r\nforged\r\n";
  struct variant {
    const char* seq;
    std::string body;  // what the sequence becomes in the body
    bool bare_lf;
    bool bare_cr;
  };
  const variant variants[] = {
      {"\n.\n", "\n.\n", true, false},      // no line start after a bare LF: the dot stays
      {"\r.\n", "\r.\n", true, true},       //
      {"\n.\r\n", "\n.\r\n", true, false},  //
      {"\r\n.\n", "\r\n\n", true, false},   // a true line start: the dot is stuffing
      {"\r.\r\n", "\r.\r\n", false, true},  //
      {"\n.\n\r\n", "\n.\n\r\n", true, false},
  };
  for (const variant& v : variants) {
    INFO("sequence " << std::string_view(v.seq));
    const std::string input = "hello" + std::string(v.seq) + smuggled + ".\r\n";
    check_message(input, {"hello" + v.body + smuggled, true, "", v.bare_lf, v.bare_cr});
    data_reader r;
    const auto u = unstuff(r, whole(input), path::simd);
    CHECK(failed(r.error()));
    CHECK(u.body.find("forged") != std::string::npos);
  }
}

TEST_CASE("data_reader: smuggling sequences never end a message (normalize)") {
  const std::string smuggled = "MAIL FROM:<evil@x>\r\nRCPT TO:<v@y>\r\nDATA\r\nforged\r\n";
  struct variant {
    const char* seq;
    std::string body;
    bool bare_lf;
    bool bare_cr;
  };
  const variant variants[] = {
      {"\n.\n", "\r\n\r\n", true, false},    // LF -> CRLF, the dot at a line start removed
      {"\r.\n", "\r.\r\n", true, true},      // a bare CR starts no line: the dot stays
      {"\n.\r\n", "\r\n\r\n", true, false},  //
      {"\r\n.\n", "\r\n\r\n", true, false},  //
      {"\r.\r\n", "\r.\r\n", false, true},   //
  };
  for (const variant& v : variants) {
    INFO("sequence " << std::string_view(v.seq));
    const std::string input = "hello" + std::string(v.seq) + smuggled + ".\r\n";
    check_message(input, {"hello" + v.body + smuggled, true, "", v.bare_lf, v.bare_cr}, normalize);
  }
}

TEST_CASE("data_reader: smuggling sequences right after DATA") {
  // The dot after DATA's CRLF is stuffing (not followed by CRLF); the one after a bare LF is
  // not at a line start, and the CRLF after it is just a line end.
  check_message(".\n.\r\n", {"\n.\r\n", false, "", true, false});
  check_message("\n.\n.\r\n", {"\n.\n.\r\n", false, "", true, false});
  // Under normalize both dots start lines (after bare LFs) and are removed; neither ends.
  check_message("\n.\n.\r\n", {"\r\n\r\n\r\n", false, "", true, false}, normalize);
  check_message("\r.\r\n.\r\n", {"\r.\r\n", true, "", false, true});
}

TEST_CASE("data_reader: smuggling sequences at every offset against the 64-byte blocks") {
  const char* seqs[] = {"\n.\n",   "\r.\n",  "\n.\r\n", "\r\n.\n",     "\r.\r\n",
                        "\r\n.\r", "\r\n.x", "\r\n..",  "\r\r\n.\r\n", "\r\n.\r\n"};
  std::mt19937 rng(7);
  for (const char* seq : seqs) {
    for (std::size_t pad = 0; pad < 140; ++pad) {
      INFO("sequence " << std::string_view(seq) << " after " << pad);
      std::string input = std::string(pad, 'p');
      for (std::size_t i = 10; i < pad; i += 23) input[i - 1] = '\r', input[i] = '\n';
      input += seq;
      input += lines(3, 70) + "tail\r\n.\r\nNEXT\r\n";
      for (auto policy : {reject, normalize}) {
        check_against_model(input, whole(input), policy, 1000);
        check_against_model(input, random_pieces(input, rng, 90), policy, 1000);
      }
    }
  }
}

TEST_CASE("data_reader: the end sequence split at every point") {
  const std::string body = lines(3, 66, 'b');
  check_message(body + ".\r\nQUIT\r\n", {body, true, "QUIT\r\n"});
}

TEST_CASE("data_reader: undecided bytes stay with the owner") {
  data_reader r;
  auto res = r.next("ab\r\n.");
  CHECK(res.status == data_status::chunk);
  CHECK(res.data == "ab\r\n");
  CHECK(res.consumed == 4);  // the dot stays: it may begin the end sequence
  res = r.next(".");
  CHECK(res.status == data_status::need_more);
  CHECK(res.consumed == 0);
  res = r.next(".\r");
  CHECK(res.status == data_status::need_more);
  CHECK(res.consumed == 0);
  res = r.next(".\r\n");
  CHECK(res.status == data_status::end);
  CHECK(res.data.empty());
  CHECK(res.consumed == 3);
  CHECK(r.finished());

  data_reader t;
  res = t.next("xy\r");  // a trailing CR waits for the next byte
  CHECK(res.status == data_status::chunk);
  CHECK(res.data == "xy");
  CHECK(res.consumed == 2);
  res = t.next("\r");
  CHECK(res.status == data_status::need_more);
  CHECK(res.consumed == 0);
  CHECK(t.next("").status == data_status::need_more);
}

TEST_CASE("data_reader: a chunk covers many lines") {
  const std::string body = lines(40, 70);
  data_reader r;
  const std::string input = body + ".\r\n";
  const auto res = r.next(input);
  CHECK(res.status == data_status::end);
  CHECK(res.data == body);
  CHECK(res.consumed == input.size());
  CHECK(res.data.data() == input.data());
  // A stuffed dot splits the body in two views (the dot is not body).
  data_reader s;
  const std::string dotted = lines(20, 70) + ".dot\r\n" + lines(20, 70) + ".\r\n";
  const auto u = unstuff(s, whole(dotted), path::simd);
  CHECK(u.calls == 2);
  CHECK(u.body == lines(20, 70) + "dot\r\n" + lines(20, 70));
}

TEST_CASE("data_reader: normalize delivers a bare LF as a static CRLF") {
  data_reader r(1000, normalize);
  auto res = r.next("a\nb");
  CHECK(res.status == data_status::chunk);
  CHECK(res.data == "a");
  CHECK(res.consumed == 1);
  res = r.next("\nb");
  CHECK(res.status == data_status::chunk);
  CHECK(res.data == "\r\n");
  CHECK(res.consumed == 1);
  CHECK(r.saw_bare_lf());
  CHECK_FALSE(failed(r.error()));
  // A "." line after a bare LF is unstuffed to an empty line and does not end the message.
  check_message("a\nb\n.\r\n", {"a\r\nb\r\n\r\n", false, "", true, false}, normalize);
  check_message("a\nb\r\n.\r\n", {"a\r\nb\r\n", true, "", true, false}, normalize);
  check_message("\n\n.\r\n", {"\r\n\r\n\r\n", false, "", true, false}, normalize);
  check_message("a\n.b\r\n.\r\n", {"a\r\nb\r\n", true, "", true, false}, normalize);
}

TEST_CASE("data_reader: faults are recorded, not fatal, and reported by priority") {
  data_reader r;
  const auto u =
      unstuff(r, whole("a\rb\nc\r\n" + std::string(1200, 'l') + "\r\n.\r\n"), path::simd);
  CHECK(u.ended);
  CHECK(r.saw_bare_lf());
  CHECK(r.saw_bare_cr());
  CHECK(r.saw_long_line());
  CHECK(code_of(r.error()) == errc::bare_lf);
  data_reader n(1000, normalize);
  unstuff(n, whole("a\rb\nc\r\n" + std::string(1200, 'l') + "\r\n.\r\n"), path::simd);
  CHECK(code_of(n.error()) == errc::bare_cr);
  data_reader l;
  unstuff(l, whole(std::string(1200, 'l') + "\r\n.\r\n"), path::simd);
  CHECK(code_of(l.error()) == errc::text_line_too_long);
  data_reader ok;
  unstuff(ok, whole("fine\r\n.\r\n"), path::simd);
  CHECK_FALSE(failed(ok.error()));
}

// RFC 5321 4.5.3.1.6: "The maximum total length of a text line including the <CRLF> is 1000
// octets (not counting the leading dot duplicated for transparency)."
TEST_CASE("data_reader: text line limit" * doctest::test_suite("slow")) {
  const std::string l998(998, 't');
  check_message(l998 + "\r\n.\r\n", {l998 + "\r\n"});
  check_message(l998 + "t\r\n.\r\n", {l998 + "t\r\n", true, "", false, false, true});
  check_message("." + l998 + "\r\n.\r\n", {l998 + "\r\n"});  // the stuffed dot is not counted
  // A line ended by a normalized bare LF counts as if it ended in CRLF.
  check_message(l998 + "\n\r\n.\r\n", {l998 + "\r\n\r\n", true, "", true, false, false}, normalize);
  check_message(l998 + "t\n\r\n.\r\n", {l998 + "t\r\n\r\n", true, "", true, false, true},
                normalize);
  check_message(std::string(5000, 'u') + "\r\n.\r\n", {std::string(5000, 'u') + "\r\n"}, reject, 0);
  check_message("abc\r\n.\r\n", {"abc\r\n", true, "", false, false, true}, reject, 4);
}

TEST_CASE("data_reader: ordinary lines never count as long, however many") {
  // Many short lines pass through the SSE2 blocks that skip line bookkeeping.
  for (std::size_t limit : {std::size_t{128}, std::size_t{200}, std::size_t{1000}}) {
    for (std::size_t width :
         {std::size_t{1}, std::size_t{60}, std::size_t{72}, limit - 3, limit - 2}) {
      INFO("limit " << limit << " width " << width);
      const std::string input = lines(4000 / (width + 2) + 40, width) + ".\r\n";
      data_reader r(limit);
      const auto u = unstuff(r, whole(input), path::simd);
      CHECK(u.ended);
      CHECK_FALSE(r.saw_long_line());
      const std::string over =
          lines(30, 70) + std::string(limit - 1, 'o') + "\r\n" + lines(30, 70) + ".\r\n";
      data_reader o(limit);
      unstuff(o, whole(over), path::simd);
      CHECK(o.saw_long_line());
    }
  }
}

TEST_CASE("data_reader: line lengths around the limit, both scans, many layouts") {
  std::mt19937 rng(11);
  for (std::size_t limit : {std::size_t{127}, std::size_t{128}, std::size_t{129}, std::size_t{300},
                            std::size_t{1000}}) {
    for (int round = 0; round < 40; ++round) {
      std::string input;
      while (input.size() < 3000) {
        const std::size_t w = limit - 6 + rng() % 10;
        input += std::string(w % 3 == 0 ? 1 : 0, '.') + std::string(w, 'w') + "\r\n";
        input += lines(rng() % 5, rng() % 90);
      }
      input += ".\r\n";
      INFO("limit " << limit << " round " << round);
      check_against_model(input, whole(input), reject, limit);
      check_against_model(input, random_pieces(input, rng, 300), reject, limit);
    }
  }
}

TEST_CASE("data_reader: random inputs, both scans against the model" *
          doctest::test_suite("slow")) {
  std::mt19937 rng(2024);
  const char alphabet[] = {'a', 'b', '.', '.', '\r', '\n', '\r', '\n', ' ', '\0', 'z', 'q'};
  for (int round = 0; round < 3000; ++round) {
    std::string input;
    const std::size_t len = rng() % 700;
    const bool structured = rng() % 2 == 0;
    while (input.size() < len) {
      if (structured) {  // mostly CRLF lines, now and then a fault or a dot
        const std::size_t w = rng() % 90;
        if (rng() % 6 == 0) input += '.';
        for (std::size_t i = 0; i < w; ++i) input += static_cast<char>('a' + rng() % 26);
        const unsigned e = static_cast<unsigned>(rng() % 20);
        input += e == 0 ? "\n" : e == 1 ? "\r" : e == 2 ? "\r\n.\r\n" : "\r\n";
      } else {
        input += alphabet[rng() % sizeof alphabet];
      }
    }
    const std::size_t limits[] = {0, 5, 64, 128, 130, 200, 1000};
    const std::size_t limit = limits[rng() % 7];
    const auto policy = rng() % 2 ? reject : normalize;
    INFO("round " << round);
    check_against_model(input, whole(input), policy, limit);
    check_against_model(input, random_pieces(input, rng, 1 + rng() % 200), policy, limit);
  }
}

TEST_CASE("data_reader: reset reads the next message") {
  data_reader r;
  const std::string input = "one\n\r\n.\r\ntwo\r\n.\r\n";
  auto u = unstuff(r, whole(input), path::simd);
  CHECK(u.body == "one\n\r\n");
  CHECK(r.saw_bare_lf());
  CHECK(u.rest == "two\r\n.\r\n");
  r.reset();
  CHECK_FALSE(r.finished());
  CHECK_FALSE(r.saw_bare_lf());
  CHECK(r.body_size() == 0);
  u = unstuff(r, whole(u.rest), path::simd);
  CHECK(u.body == "two\r\n");
  CHECK(u.ended);
  CHECK_FALSE(failed(r.error()));
}

TEST_CASE("data_reader: body size for SIZE (RFC 1870)") {
  data_reader r;
  const std::string body = lines(100, 78) + "..x\r\n";
  unstuff(r, whole(body + ".\r\n"), path::simd);
  CHECK(r.body_size() == body.size() - 1);  // one stuffed dot removed
  data_reader n(1000, normalize);
  unstuff(n, whole(std::string("a\nb\r\n.\r\n")), path::simd);
  CHECK(n.body_size() == 6);  // "a\r\nb\r\n"
}

TEST_CASE("data_reader: reading allocates nothing") {
  const std::string input = lines(50, 70) + "..dot\r\na\nb\rc\r\n" + lines(10, 1200) + ".\r\nQUIT";
  data_reader r;
  data_reader s(1000, normalize);
  std::size_t calls = 0;
  smtpkit_test::alloc_scope allocs;
  for (data_reader* d : {&r, &s}) {
    std::string_view rest = input;
    for (;;) {
      const auto res = d->next(rest);
      rest.remove_prefix(res.consumed);
      ++calls;
      if (res.status != data_status::chunk) break;
    }
  }
  CHECK(allocs.count() == 0);
  CHECK(r.finished());
  CHECK(s.finished());
  CHECK(calls > 4);
}

// =============================================================================================
// dot_stuffer

// RFC 5321 4.5.2: "Before sending a line of mail text, the SMTP client checks the first
// character of the line.  If it is a period, one additional period is inserted at the
// beginning of the line."
TEST_CASE("dot_stuffer: doubles a leading dot and ends with CRLF . CRLF") {
  CHECK(stuff_whole("a\r\n.b\r\n") == "a\r\n..b\r\n.\r\n");
  CHECK(stuff_whole(".\r\n") == "..\r\n.\r\n");
  CHECK(stuff_whole("..\r\n") == "...\r\n.\r\n");
  CHECK(stuff_whole("a.b\r\n") == "a.b\r\n.\r\n");
  CHECK(stuff_whole("") == ".\r\n");
  CHECK(stuff_whole("\r\n") == "\r\n.\r\n");
}

TEST_CASE("dot_stuffer: the final CRLF is added only when missing") {
  CHECK(stuff_whole("abc") == "abc\r\n.\r\n");
  CHECK(stuff_whole("abc\r\n") == "abc\r\n.\r\n");
  CHECK(stuff_whole("abc\n") == "abc\r\n.\r\n");
  CHECK(stuff_whole("abc\r") == "abc\r\n.\r\n");
  CHECK(stuff_whole(".") == "..\r\n.\r\n");
}

TEST_CASE("dot_stuffer: no bare LF or bare CR is ever sent") {
  CHECK(stuff_whole("a\nb") == "a\r\nb\r\n.\r\n");
  CHECK(stuff_whole("a\rb") == "a\r\nb\r\n.\r\n");
  CHECK(stuff_whole("a\r\r\nb") == "a\r\n\r\nb\r\n.\r\n");
  CHECK(stuff_whole("\n.\n") == "\r\n..\r\n.\r\n");  // a smuggling attempt, made harmless
  CHECK(stuff_whole("\r.\r") == "\r\n..\r\n.\r\n");
  CHECK(stuff_whole("x\n\r.\r\n") == "x\r\n\r\n..\r\n.\r\n");
}

TEST_CASE("dot_stuffer: every split and every output size give the same bytes") {
  const std::string input = ".a\r\nb\n.c\r.\r\n..\r\rd.\n\n.";
  const std::string expected = stuff_whole(input);
  CHECK(expected == "..a\r\nb\r\n..c\r\n..\r\n...\r\n\r\nd.\r\n\r\n..\r\n.\r\n");
  smtpkit_test::for_each_split(input, [&](const smtpkit_test::split_case& c) {
    INFO(c.name);
    for (std::size_t cap = 2; cap <= 9; ++cap) {  // 2: the largest unsplittable expansion
      INFO("cap " << cap);
      bool stuck = false;
      CHECK(stuff(c.chunks, cap, stuff_path::simd, &stuck) == expected);
      CHECK(stuff(c.chunks, cap, stuff_path::scalar, &stuck) == expected);
      CHECK_FALSE(stuck);
    }
  });
}

TEST_CASE("dot_stuffer: back-pressure takes a byte only with all it expands to") {
  dot_stuffer s;
  char mem[1];
  byte_writer w(mem, sizeof mem);
  CHECK(s.write("\n", w) == 0);  // "\r\n" does not fit
  CHECK(w.size() == 0);
  CHECK(s.write(".", w) == 0);  // ".." does not fit
  CHECK(w.size() == 0);
  CHECK(s.write("ab", w) == 1);
  CHECK(w.view() == "a");
  w.clear();
  CHECK(s.write("\r", w) == 1);
  CHECK(w.view() == "\r");
  w.clear();
  CHECK(s.write("x", w) == 0);  // completes the bare CR first
  CHECK(w.view() == "\n");
  w.clear();
  CHECK(s.write("x", w) == 1);
  CHECK(w.view() == "x");
}

TEST_CASE("dot_stuffer: finish refuses a full buffer and writes nothing") {
  dot_stuffer s;
  char big[64];
  byte_writer w(big, sizeof big);
  CHECK(s.write("abc", w) == 3);
  char small[4];
  byte_writer t(small, sizeof small);
  CHECK(code_of(s.finish(t)) == errc::output_full);
  CHECK(t.size() == 0);
  char room[5];
  byte_writer u(room, sizeof room);
  CHECK_FALSE(failed(s.finish(u)));
  CHECK(u.view() == "\r\n.\r\n");
  // After finish the stuffer starts a new message.
  CHECK(s.at_line_start());
  w.clear();
  CHECK(s.write(".", w) == 1);
  CHECK(w.view() == "..");
}

TEST_CASE("dot_stuffer: reset forgets the message in progress") {
  dot_stuffer s;
  char mem[16];
  byte_writer w(mem, sizeof mem);
  s.write("abc\r", w);
  s.reset();
  w.clear();
  CHECK(s.finish(w).value() == 0);
  CHECK(w.view() == ".\r\n");
}

TEST_CASE("dot_stuffer: long runs go through the SSE2 search and the portable one alike") {
  std::string input;
  for (int i = 0; i < 50; ++i)
    input += std::string(static_cast<std::size_t>(i * 7 % 130), 'r') + "\r\n.";
  input += std::string(200, 's') + "\n" + std::string(33, 't') + "\r";
  const std::string expected = stuff({input}, 4096, stuff_path::scalar);
  CHECK(stuff({input}, 4096, stuff_path::simd) == expected);
  CHECK(stuff({input}, 17, stuff_path::simd) == expected);
  CHECK(crlf_only(expected));
}

TEST_CASE("dot_stuffer: writing allocates nothing") {
  const std::string input = lines(30, 70) + ".dot\nbare\rcr\r\n";
  char mem[256];
  dot_stuffer s;
  std::size_t total = 0;
  smtpkit_test::alloc_scope allocs;
  std::string_view rest = input;
  while (!rest.empty()) {
    byte_writer w(mem, sizeof mem);
    rest.remove_prefix(s.write(rest, w));
    total += w.size();
  }
  byte_writer w(mem, sizeof mem);
  CHECK_FALSE(failed(s.finish(w)));
  CHECK(allocs.count() == 0);
  CHECK(total > input.size());
}

// =============================================================================================
// Both together

TEST_CASE("unstuff(stuff(x)) is x with CRLF line ends, for many generated messages") {
  std::mt19937 rng(99);
  const char* ends[] = {"\r\n", "\r\n", "\r\n", "\n", "\r", ""};
  for (int round = 0; round < 1500; ++round) {
    std::string x;
    const std::size_t nlines = rng() % 30;
    for (std::size_t l = 0; l < nlines; ++l) {
      const unsigned shape = static_cast<unsigned>(rng() % 8);
      if (shape == 0) x += ".";
      if (shape == 1) x += "..";
      const std::size_t w = shape == 2 ? 0 : rng() % 120;
      for (std::size_t i = 0; i < w; ++i) {
        const unsigned c = static_cast<unsigned>(rng() % 40);
        x += c == 0 ? '.' : c == 1 ? '\t' : static_cast<char>(' ' + c);
      }
      x += l + 1 == nlines ? ends[rng() % 6] : ends[rng() % 5];
    }
    INFO("round " << round);
    const std::string wire = stuff(random_pieces(x, rng, 1 + rng() % 100), 2 + rng() % 63,
                                   rng() % 2 ? stuff_path::simd : stuff_path::scalar);
    CHECK(crlf_only(wire));
    REQUIRE(wire.size() >= 3);
    CHECK(wire.compare(wire.size() - 3, 3, ".\r\n") == 0);
    for (path p : {path::simd, path::scalar}) {
      data_reader r(0);
      const unstuffed u = unstuff(r, random_pieces(wire, rng, 1 + rng() % 150), p);
      CHECK(u.contract_ok);
      CHECK(u.ended);
      CHECK(u.rest.empty());
      CHECK(u.body == normalized(x));
      CHECK_FALSE(failed(r.error()));
      CHECK(r.body_size() == normalized(x).size());
    }
  }
}
