// smtpkit tests: command writers. What they emit parses back to the same value; what the
// parser would refuse (CR, LF, NUL in fields, bad grammar, over-long lines) they refuse.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <fstream>   // ifstream
#include <iterator>  // istreambuf_iterator
#include <random>    // mt19937
#include <smtpkit/codec/command_writer.hpp>
#include <string>       // string
#include <string_view>  // string_view
#include <variant>      // get_if
#include <vector>       // vector

#include "alloc_counter.hpp"
#include "guard_page.hpp"

#ifndef SMTPKIT_TEST_CORPUS_DIR
#  error "SMTPKIT_TEST_CORPUS_DIR must name bench/corpus"
#endif

using smtpkit::errc;

namespace {

errc errc_of(std::error_code ec) {
  return static_cast<errc>(ec.value());
}

// Writes @p c and returns the bytes, or "" after checking that nothing was appended.
template <class Command>
std::string write(const Command& c, errc expect = errc{}, const smtpkit::limits& lim = {}) {
  char buf[16384];
  smtpkit::byte_writer w(buf, sizeof buf);
  REQUIRE(w.append("prefix"));  // a failed write leaves what was there before
  const errc e = errc_of(smtpkit::write_command(w, c, lim));
  CHECK(e == expect);
  if (e != errc{}) {
    CHECK(w.view() == "prefix");
    return {};
  }
  return std::string(w.view().substr(6));
}

// Parses @p line (CRLF included) against a guard page and checks it equals @p expected.
void check_parses_to(const std::string& wire, const smtpkit::command& expected,
                     const smtpkit::limits& lim = {}) {
  INFO(wire);
  REQUIRE(wire.size() >= 2);
  CHECK(wire.substr(wire.size() - 2) == "\r\n");
  const std::string_view line = std::string_view(wire).substr(0, wire.size() - 2);
  CHECK(line.find('\r') == std::string_view::npos);  // CR, LF and NUL only end the line
  CHECK(line.find('\n') == std::string_view::npos);
  CHECK(line.find('\0') == std::string_view::npos);
  smtpkit_test::guarded_copy g(line);
  const auto r = smtpkit::parse_command(g.view(), lim);
  REQUIRE(r.has_value());
  CHECK(*r == expected);
}

// parse(write(parse(line))) == parse(line).
void round_trip(std::string_view line, const smtpkit::limits& lim = {}) {
  INFO(line);
  smtpkit_test::guarded_copy g(line);
  const auto x = smtpkit::parse_command(g.view(), lim);
  REQUIRE(x.has_value());
  char buf[16384];
  smtpkit::byte_writer w(buf, sizeof buf);
  REQUIRE(errc_of(smtpkit::write_command(w, *x, lim)) == errc{});
  check_parses_to(std::string(w.view()), *x, lim);
}

smtpkit::mailbox box(std::string_view local, std::string_view domain) {
  const auto m = smtpkit::make_mailbox(local, domain);
  REQUIRE(m.has_value());
  return *m;
}

smtpkit::host host_of(std::string_view text) {
  const auto h = smtpkit::parse_host(text);
  REQUIRE(h.has_value());
  return *h;
}

}  // namespace

TEST_CASE("writer: canonical wire forms") {
  CHECK(write(smtpkit::ehlo_command{host_of("client.example")}) == "EHLO client.example\r\n");
  CHECK(write(smtpkit::helo_command{host_of("[192.0.2.1]")}) == "HELO [192.0.2.1]\r\n");
  CHECK(write(smtpkit::lhlo_command{host_of("x")}) == "LHLO x\r\n");
  CHECK(write(smtpkit::data_command{}) == "DATA\r\n");
  CHECK(write(smtpkit::rset_command{}) == "RSET\r\n");
  CHECK(write(smtpkit::quit_command{}) == "QUIT\r\n");
  CHECK(write(smtpkit::starttls_command{}) == "STARTTLS\r\n");
  CHECK(write(smtpkit::bdat_command{1000, false}) == "BDAT 1000\r\n");
  CHECK(write(smtpkit::bdat_command{0, true}) == "BDAT 0 LAST\r\n");
  CHECK(write(smtpkit::noop_command{}) == "NOOP\r\n");
  CHECK(write(smtpkit::noop_command{"\"x y\""}) == "NOOP \"x y\"\r\n");
  CHECK(write(smtpkit::help_command{"MAIL"}) == "HELP MAIL\r\n");
  CHECK(write(smtpkit::vrfy_command{"<a@b>", true, false}) == "VRFY <a@b> SMTPUTF8\r\n");
  CHECK(write(smtpkit::expn_command{"list", false, false}) == "EXPN list\r\n");
  CHECK(write(smtpkit::auth_command{"PLAIN", "dGVzdA=="}) == "AUTH PLAIN dGVzdA==\r\n");
  CHECK(write(smtpkit::auth_command{"LOGIN", ""}) == "AUTH LOGIN\r\n");
  CHECK(write(smtpkit::auth_command{"PLAIN", "="}) == "AUTH PLAIN =\r\n");
  // The writer takes any case, as the parser does.
  CHECK(write(smtpkit::auth_command{"plain", "="}) == "AUTH plain =\r\n");

  smtpkit::mail_command m;
  CHECK(write(m) == "MAIL FROM:<>\r\n");
  m.from = smtpkit::reverse_path(box("alice", "example.org"));
  m.params.set_size(1674249);
  REQUIRE(errc_of(m.params.set_body(smtpkit::body_type::eight_bit_mime)) == errc{});
  m.params.set_smtputf8(true);
  REQUIRE(errc_of(m.params.set_ret(smtpkit::dsn_ret::hdrs)) == errc{});
  REQUIRE(errc_of(m.params.set_envid("QQ314159")) == errc{});
  REQUIRE(errc_of(m.params.set_auth("<>")) == errc{});
  m.params.set_requiretls(true);
  REQUIRE(errc_of(m.params.set_extensions("MT-PRIORITY=3")) == errc{});
  CHECK(write(m) ==
        "MAIL FROM:<alice@example.org> SIZE=1674249 BODY=8BITMIME SMTPUTF8 RET=HDRS "
        "ENVID=QQ314159 AUTH=<> REQUIRETLS MT-PRIORITY=3\r\n");

  smtpkit::rcpt_command r;
  r.to = smtpkit::forward_path(box("bob", "example.net"));
  REQUIRE(errc_of(r.params.set_notify(smtpkit::dsn_notify::failure | smtpkit::dsn_notify::delay |
                                      smtpkit::dsn_notify::success)) == errc{});
  REQUIRE(errc_of(r.params.set_orcpt("rfc822", "bob@example.net")) == errc{});
  CHECK(write(r) ==
        "RCPT TO:<bob@example.net> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;bob@example.net\r\n");
  REQUIRE(errc_of(r.params.set_notify(smtpkit::dsn_notify::never)) == errc{});
  REQUIRE(errc_of(r.params.set_orcpt("", "")) == errc{});
  CHECK(write(r) == "RCPT TO:<bob@example.net> NOTIFY=NEVER\r\n");
  r.to = smtpkit::forward_path::postmaster();
  r.params = smtpkit::rcpt_parameters();
  CHECK(write(r) == "RCPT TO:<Postmaster>\r\n");
}

TEST_CASE("writer: parsed commands are written back canonically") {
  smtpkit_test::guarded_copy g("mail from: <a@b> body=7bit size=1 x-y=Z");
  const auto x = smtpkit::parse_command(g.view());
  REQUIRE(x.has_value());
  char buf[256];
  smtpkit::byte_writer w(buf, sizeof buf);
  REQUIRE(errc_of(smtpkit::write_command(w, *x)) == errc{});
  CHECK(w.view() == "MAIL FROM:<a@b> SIZE=1 BODY=7BIT x-y=Z\r\n");
  smtpkit_test::guarded_copy route("RCPT TO:<@relay.example:user@host.example> NOTIFY=never");
  const auto y = smtpkit::parse_command(route.view());
  REQUIRE(y.has_value());
  w.clear();
  REQUIRE(errc_of(smtpkit::write_command(w, *y)) == errc{});
  CHECK(w.view() == "RCPT TO:<user@host.example> NOTIFY=NEVER\r\n");  // the route is dropped
}

TEST_CASE("writer: parse(write(x)) == x, handpicked") {
  for (std::string_view line :
       {"EHLO mail.example.com",
        "HELO [IPv6:2001:db8::1]",
        "LHLO b\xc3\xbc"
        "cher.example",
        "MAIL FROM:<>",
        "MAIL FROM:<\"john smith\"@[192.0.2.1]> SIZE=0",
        "MAIL FROM:<jos\xc3\xa9@example.com> SMTPUTF8 BODY=BINARYMIME",
        "MAIL FROM:<a@b> RET=FULL ENVID=a+2Bb AUTH=e+3Dmc2@example.com REQUIRETLS",
        "MAIL FROM:<a@b> NOTIFY=NEVER X-A=1 X-B X-C=\xc3\xa9",
        "RCPT TO:<Postmaster>",
        "RCPT TO:<POSTMASTER>",
        "RCPT TO:<postmaster@example.com>",
        "RCPT TO:<a@[tag:x]> NOTIFY=DELAY,SUCCESS ORCPT=utf-8;a\\x{E9}",
        "RCPT TO:<a@b> SIZE=3 ORCPT=x-type;+2B",
        "DATA",
        "BDAT 18446744073709551615 LAST",
        "RSET",
        "NOOP",
        "NOOP x",
        "QUIT",
        "VRFY Smith",
        "VRFY \"John Smith\" SMTPUTF8",
        "EXPN <list@example.com>",
        "EXPN a.b@c",
        "HELP",
        "HELP DATA",
        "STARTTLS",
        "AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=",
        "AUTH CRAM-MD5",
        "AUTH XOAUTH2 ="}) {
    round_trip(line);
  }
}

namespace {

std::vector<std::string> corpus_lines() {
  std::ifstream in(SMTPKIT_TEST_CORPUS_DIR "/commands.smtp", std::ios::binary);
  REQUIRE(in.good());
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> lines;
  for (std::size_t pos = 0; pos < data.size();) {
    const std::size_t end = data.find("\r\n", pos);
    REQUIRE(end != std::string::npos);
    lines.push_back(data.substr(pos, end - pos));
    pos = end + 2;
  }
  return lines;
}

}  // namespace

TEST_CASE("writer: parse(write(x)) == x over bench/corpus/commands.smtp") {
  const std::vector<std::string> lines = corpus_lines();
  REQUIRE(lines.size() == 8573);
  std::size_t same_bytes = 0;
  for (const std::string& line : lines) {
    const auto x = smtpkit::parse_command(line);
    REQUIRE(x.has_value());
    char buf[1024];
    smtpkit::byte_writer w(buf, sizeof buf);
    REQUIRE(errc_of(smtpkit::write_command(w, *x)) == errc{});
    const std::string_view wire = w.view();
    const auto y = smtpkit::parse_command(wire.substr(0, wire.size() - 2));
    INFO(line);
    REQUIRE(y.has_value());
    CHECK(*y == *x);
    same_bytes += wire.substr(0, wire.size() - 2) == line ? 1u : 0u;
  }
  CHECK(same_bytes == lines.size());  // the corpus is written canonically already
}

TEST_CASE("writer: parse(write(x)) == x for random parsed commands") {
  const std::string_view verbs[] = {"MAIL FROM:", "RCPT TO:", "mail from: ", "VRFY ", "EXPN "};
  const std::string_view pieces[] = {"<",
                                     ">",
                                     "a",
                                     "b.c",
                                     "@",
                                     "\"q q\"",
                                     "[1.2.3.4]",
                                     "<a@b>",
                                     "<>",
                                     "<x@y.z>",
                                     " SIZE=5",
                                     " BODY=7BIT",
                                     " SMTPUTF8",
                                     " NOTIFY=NEVER",
                                     " ORCPT=rfc822;x",
                                     " X-Y=z",
                                     " RET=FULL",
                                     " ENVID=e",
                                     " AUTH=<>",
                                     "postmaster",
                                     "\xc3\xa9",
                                     "-",
                                     ".",
                                     " ",
                                     "@d:"};
  std::mt19937 rng(7);
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string line(verbs[rng() % (sizeof verbs / sizeof verbs[0])]);
    const int n = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < n; ++k) line += pieces[rng() % (sizeof pieces / sizeof pieces[0])];
    smtpkit_test::guarded_copy g(line);
    const auto x = smtpkit::parse_command(g.view());
    if (!x) continue;
    ++parsed;
    round_trip(line);
  }
  CHECK(parsed > 200);
}

TEST_CASE("writer: refuses what the parser would refuse") {
  // Values made empty by default construction.
  write(smtpkit::ehlo_command{}, errc::invalid_argument);
  write(smtpkit::rcpt_command{}, errc::invalid_argument);
  // Strings checked with the parser's own grammar.
  write(smtpkit::noop_command{"two words"}, errc::invalid_argument);
  write(smtpkit::noop_command{"x\r\nRSET"}, errc::invalid_argument);
  write(smtpkit::help_command{"a.b"}, errc::invalid_argument);
  write(smtpkit::vrfy_command{"", false, false}, errc::invalid_argument);
  write(smtpkit::vrfy_command{"a b", false, false}, errc::invalid_argument);
  write(smtpkit::vrfy_command{"a\r\nDATA", false, false}, errc::invalid_argument);
  write(smtpkit::expn_command{"<a@b", false, false}, errc::invalid_argument);
  write(smtpkit::auth_command{"pl.ain", ""}, errc::invalid_argument);
  write(smtpkit::auth_command{"", ""}, errc::invalid_argument);
  write(smtpkit::auth_command{"PLAIN", "abc"}, errc::invalid_argument);
  write(smtpkit::auth_command{"PLAIN", "dGVzdA==\r\n"}, errc::invalid_argument);
  write(smtpkit::auth_command{"ABCDEFGHIJKLMNOPQRSTU", ""}, errc::invalid_argument);
  // Line length: the same limits the parser applies.
  smtpkit::limits lim;
  lim.command_line = 12;
  write(smtpkit::noop_command{"abcdefg"}, errc::invalid_argument, lim);  // 12 + CRLF
  CHECK(write(smtpkit::noop_command{"abcde"}, errc{}, lim) == "NOOP abcde\r\n");
  lim.command_line = 5;  // "DATA\r\n" is 6 octets
  write(smtpkit::data_command{}, errc::invalid_argument, lim);
  write(smtpkit::rset_command{}, errc::invalid_argument, lim);
  write(smtpkit::quit_command{}, errc::invalid_argument, lim);
  write(smtpkit::starttls_command{}, errc::invalid_argument, lim);
  write(smtpkit::bdat_command{1, true}, errc::invalid_argument, lim);
  lim.command_line = 6;
  CHECK(write(smtpkit::data_command{}, errc{}, lim) == "DATA\r\n");
  lim = smtpkit::limits();
  lim.auth_line = 20;
  write(smtpkit::auth_command{"PLAIN", "dGVzdGluZw=="}, errc::invalid_argument, lim);
  // A mailbox made under wider limits is refused under the writer's.
  smtpkit::limits wide;
  wide.local_part = 100;
  const std::string local(80, 'l');  // the mailbox views it
  const auto big = smtpkit::make_mailbox(local, "x", wide);
  REQUIRE(big.has_value());
  smtpkit::mail_command m;
  m.from = smtpkit::reverse_path(*big);
  write(m, errc::invalid_argument);
  CHECK(!write(m, errc{}, wide).empty());
  smtpkit::mail_command a;
  smtpkit::limits loose;
  loose.local_part = 100;
  const std::string encoded = std::string(70, 'u') + "@x";
  REQUIRE(errc_of(a.params.set_auth(encoded, loose)) == errc{});
  write(a, errc::invalid_argument);  // AUTH= holds a mailbox over the default limits
  smtpkit::host h = host_of("example.com");
  smtpkit::limits narrow;
  narrow.domain = 5;
  write(smtpkit::ehlo_command{h}, errc::invalid_argument, narrow);
}

TEST_CASE("writer: no way to smuggle CR, LF or NUL through a field") {
  const std::string_view evil[] = {"a\r\nRSET", "a\nb", "a\rb", std::string_view("a\0b", 3)};
  for (std::string_view e : evil) {
    INFO(e);
    CHECK_FALSE(smtpkit::make_mailbox(e, "example.com").has_value());
    CHECK_FALSE(smtpkit::make_mailbox("a", e).has_value());
    CHECK_FALSE(smtpkit::parse_host(e).has_value());
    smtpkit::mail_parameters m;
    CHECK(errc_of(m.set_envid(e)) == errc::invalid_argument);
    CHECK(errc_of(m.set_auth(e)) == errc::invalid_argument);
    CHECK(errc_of(m.set_extensions(e)) == errc::invalid_argument);
    smtpkit::rcpt_parameters r;
    CHECK(errc_of(r.set_orcpt("rfc822", e)) == errc::invalid_argument);
    CHECK(errc_of(r.set_orcpt(e, "x")) == errc::invalid_argument);
    write(smtpkit::noop_command{e}, errc::invalid_argument);
    write(smtpkit::vrfy_command{e, false, false}, errc::invalid_argument);
    write(smtpkit::auth_command{e, ""}, errc::invalid_argument);
    char buf[64];
    smtpkit::byte_writer w(buf, sizeof buf);
    CHECK(errc_of(smtpkit::write_sasl_response(w, e)) == errc::invalid_argument);
  }
}

TEST_CASE("writer: a full buffer is output_full and leaves the buffer as it was") {
  smtpkit::mail_command m;
  m.from = smtpkit::reverse_path(box("someone", "example.org"));
  m.params.set_size(123456);
  const std::string_view expected = "MAIL FROM:<someone@example.org> SIZE=123456\r\n";
  for (std::size_t cap = 0; cap <= expected.size(); ++cap) {
    char buf[64];
    smtpkit::byte_writer w(buf, cap);
    const errc e = errc_of(smtpkit::write_command(w, m));
    INFO(cap);
    if (cap < expected.size()) {
      CHECK(e == errc::output_full);
      CHECK(w.size() == 0);
    } else {
      CHECK(e == errc{});
      CHECK(w.view() == expected);
    }
  }
  // A command the parser would refuse is invalid_argument even when it would not fit.
  char tiny[2];
  smtpkit::byte_writer w(tiny, sizeof tiny);
  CHECK(errc_of(smtpkit::write_command(w, smtpkit::noop_command{"a b"})) == errc::invalid_argument);
  smtpkit::limits lim;
  lim.command_line = 8;
  CHECK(errc_of(smtpkit::write_command(w, smtpkit::noop_command{"abcdef"}, lim)) ==
        errc::invalid_argument);
  CHECK(errc_of(smtpkit::write_command(w, smtpkit::quit_command{})) == errc::output_full);
}

TEST_CASE("writer: AUTH and SASL response lines") {
  char buf[128];
  smtpkit::byte_writer w(buf, sizeof buf);
  CHECK(errc_of(smtpkit::write_auth(w, "PLAIN", "dGVzdAB0ZXN0ADEyMzQ=")) == errc{});
  CHECK(errc_of(smtpkit::write_sasl_response(w, "dGVzdA==")) == errc{});
  CHECK(errc_of(smtpkit::write_sasl_response(w, "")) == errc{});
  CHECK(errc_of(smtpkit::write_sasl_cancel(w)) == errc{});
  CHECK(w.view() == "AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\ndGVzdA==\r\n\r\n*\r\n");
  CHECK(errc_of(smtpkit::write_sasl_response(w, "dGVzdA")) == errc::invalid_argument);
  CHECK(errc_of(smtpkit::write_sasl_response(w, "*")) == errc::invalid_argument);
  // Non-zero pad bits (RFC 4648 3.5): smtpkit's own decoder would refuse them.
  CHECK(errc_of(smtpkit::write_sasl_response(w, "QR==")) == errc::invalid_argument);
  CHECK(errc_of(smtpkit::write_auth(w, "PLAIN", "QUF=")) == errc::invalid_argument);
  smtpkit::limits lim;
  lim.auth_line = 10;
  CHECK(errc_of(smtpkit::write_sasl_response(w, "dGVzdGluZw==", lim)) == errc::invalid_argument);
  // Each written response parses back to itself.
  for (std::string_view data : {"", "dGVzdA==", "AAAA", "YWJjZA=="}) {
    char b[64];
    smtpkit::byte_writer o(b, sizeof b);
    REQUIRE(errc_of(smtpkit::write_sasl_response(o, data)) == errc{});
    const auto r = smtpkit::parse_sasl_response(o.view().substr(0, o.size() - 2));
    REQUIRE(r.has_value());
    CHECK(r->data == data);
    CHECK_FALSE(r->cancel);
  }
  char b[8];
  smtpkit::byte_writer o(b, sizeof b);
  REQUIRE(errc_of(smtpkit::write_sasl_cancel(o)) == errc{});
  CHECK(smtpkit::parse_sasl_response(o.view().substr(0, 1))->cancel);
  smtpkit::byte_writer none(b, 2);
  CHECK(errc_of(smtpkit::write_sasl_cancel(none)) == errc::output_full);
  CHECK(none.size() == 0);
}

TEST_CASE("writer: writing allocates nothing") {
  smtpkit_test::guarded_copy g("MAIL FROM:<a@b.example> SIZE=5 BODY=8BITMIME X-Y=1");
  const auto x = smtpkit::parse_command(g.view());
  REQUIRE(x.has_value());
  char buf[256];
  smtpkit_test::alloc_scope scope;
  smtpkit::byte_writer w(buf, sizeof buf);
  CHECK(errc_of(smtpkit::write_command(w, *x)) == errc{});
  CHECK(errc_of(smtpkit::write_command(w, smtpkit::quit_command{})) == errc{});
  CHECK(errc_of(smtpkit::write_sasl_response(w, "dGVzdA==")) == errc{});
  CHECK(scope.count() == 0);
}
