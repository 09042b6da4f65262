// smtpkit tests: command lines. RFC 5321 4.1.1, RFC 2033, RFC 3030, RFC 3207, RFC 4954,
// RFC 6531. Every line sits against a guard page (the verb dispatch reads four octets at once).
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cstdint>   // uint64_t
#include <fstream>   // ifstream
#include <iterator>  // istreambuf_iterator
#include <smtpkit/codec/command.hpp>
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
using smtpkit::verb;

namespace {

// Parses a line placed against a guard page; the copy lives as long as the result is used.
struct line_case {
  smtpkit_test::guarded_copy copy;
  smtpkit::result<smtpkit::command> r;
  explicit line_case(std::string_view line, const smtpkit::limits& lim = {},
                     const smtpkit::leniency& len = {})
      : copy(line), r(smtpkit::parse_command(copy.view(), lim, len)) {}
  errc error() const { return r ? errc{} : r.error(); }
  verb v() const { return smtpkit::verb_of(*r); }
  template <class T>
  const T& as() const {
    const T* p = std::get_if<T>(&*r);
    REQUIRE(p != nullptr);
    return *p;
  }
};

errc error_of(std::string_view line, const smtpkit::leniency& len = {}) {
  return line_case(line, {}, len).error();
}

}  // namespace

TEST_CASE("command: every verb, in any case") {
  const struct {
    std::string_view line;
    verb v;
  } cases[] = {
      {"HELO relay.example.org", verb::helo},
      {"EHLO relay.example.org", verb::ehlo},
      {"LHLO relay.example.org", verb::lhlo},
      {"MAIL FROM:<a@b>", verb::mail},
      {"RCPT TO:<a@b>", verb::rcpt},
      {"DATA", verb::data},
      {"BDAT 10", verb::bdat},
      {"RSET", verb::rset},
      {"NOOP", verb::noop},
      {"QUIT", verb::quit},
      {"VRFY Smith", verb::vrfy},
      {"EXPN Example-People", verb::expn},
      {"HELP", verb::help},
      {"STARTTLS", verb::starttls},
      {"AUTH PLAIN", verb::auth},
      {"ehlo relay.example.org", verb::ehlo},
      {"Mail From:<a@b>", verb::mail},
      {"rcpt to:<a@b>", verb::rcpt},
      {"data", verb::data},
      {"sTaRtTlS", verb::starttls},
      {"QuIt", verb::quit},
  };
  for (const auto& c : cases) {
    INFO(c.line);
    line_case l(c.line);
    REQUIRE(l.r);
    CHECK(l.v() == c.v);
  }
  CHECK(smtpkit::to_string(verb::starttls) == "STARTTLS");
  CHECK(smtpkit::to_string(verb::lhlo) == "LHLO");
  CHECK(smtpkit::to_string(static_cast<verb>(99)).empty());
}

TEST_CASE("command: an unknown verb is 500 material, apart from bad arguments") {
  const std::string_view lines[] = {"",
                                    "D",
                                    "DAT",
                                    "FOO",
                                    "FOO BAR",
                                    "MAILX FROM:<a@b>",
                                    "DATAX",
                                    "STAR",
                                    "STARTTL",
                                    "STARTTLSX",
                                    "MAIL\tFROM:<a@b>",
                                    "XEXP",
                                    "TURN",
                                    "ETRN x",
                                    "SEND FROM:<a@b>",
                                    " MAIL FROM:<a@b>",
                                    "M\xc3\xa1IL FROM:<a@b>",
                                    "HEL0 x",
                                    std::string_view("DA\0A", 4)};
  for (std::string_view line : lines) {
    INFO(line);
    CHECK(error_of(line) == errc::unknown_command);
  }
}

TEST_CASE("command: line length, CRLF included (RFC 5321 4.5.3.1.4)") {
  const std::string at_limit = "NOOP " + std::string(505, 'x');  // 510 + CRLF = 512
  CHECK(line_case(at_limit).r);
  CHECK(error_of(at_limit + "x") == errc::line_too_long);
  CHECK(error_of("XXXX " + std::string(600, 'x')) == errc::line_too_long);
  smtpkit::limits lim;
  lim.command_line = 20;
  CHECK(line_case("MAIL FROM:<ab@b.c>", lim).r);  // 18 + CRLF = 20
  CHECK(line_case("MAIL FROM:<abc@b.c>", lim).error() == errc::line_too_long);
  // AUTH lines have their own limit (RFC 4954 4: at least 12288).
  const std::string resp(12000, 'A');
  CHECK(line_case("AUTH PLAIN " + resp).r);
  CHECK(error_of("AUTH PLAIN " + std::string(12276, 'A')) == errc::auth_line_too_long);
}

// data = "DATA" CRLF ; rset = "RSET" CRLF ; quit = "QUIT" CRLF ; starttls = "STARTTLS" CRLF
TEST_CASE("command: DATA, RSET, QUIT and STARTTLS take no argument") {
  for (std::string_view line :
       {"DATA ", "DATA x", "RSET now", "QUIT bye", "STARTTLS x", "QUIT ", "DATA\r", "RSET\n"}) {
    INFO(line);
    const errc e = error_of(line);
    CHECK((e == errc::syntax_error || e == errc::unknown_command));
  }
  CHECK(error_of("DATA x") == errc::syntax_error);
  CHECK(error_of("STARTTLS x") == errc::syntax_error);
  CHECK(error_of("DATA\r") == errc::unknown_command);  // not SP after the verb
}

// ehlo = "EHLO" SP ( Domain / address-literal ) CRLF
// helo = "HELO" SP Domain CRLF
TEST_CASE("command: HELO, EHLO, LHLO") {
  line_case e("EHLO mail.example.com");
  REQUIRE(e.r);
  CHECK(e.as<smtpkit::ehlo_command>().domain.text() == "mail.example.com");
  CHECK(e.as<smtpkit::ehlo_command>().domain.kind() == smtpkit::host_kind::domain);
  line_case lit("EHLO [192.0.2.25]");
  REQUIRE(lit.r);
  CHECK(lit.as<smtpkit::ehlo_command>().domain.kind() == smtpkit::host_kind::ipv4);
  CHECK(line_case("HELO [IPv6:::1]").r);  // clients without a name (RFC 5321 4.1.4)
  CHECK(line_case("LHLO lmtp.example").as<smtpkit::lhlo_command>().domain.text() == "lmtp.example");
  CHECK(line_case("EHLO b\xc3\xbc"
                  "cher.example")
            .as<smtpkit::ehlo_command>()
            .domain.utf8());
  CHECK(error_of("EHLO") == errc::syntax_error);  // EHLO requires an argument
  CHECK(error_of("HELO") == errc::syntax_error);
  CHECK(error_of("EHLO ") == errc::syntax_error);
  CHECK(error_of("EHLO  a") == errc::bad_domain);
  CHECK(error_of("EHLO a b") == errc::bad_domain);
  CHECK(error_of("EHLO a.") == errc::bad_domain);
  CHECK(error_of("EHLO a_b") == errc::bad_domain);
  CHECK(error_of("EHLO [1.2.3]") == errc::bad_address_literal);
  CHECK(error_of("EHLO " + std::string(256, 'a')) == errc::bad_domain);  // a 256-octet label
}

// mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF
TEST_CASE("command: MAIL FROM") {
  line_case l("MAIL FROM:<alice@a.b.c.example.info> SIZE=1674249 BODY=8BITMIME SMTPUTF8");
  REQUIRE(l.r);
  const auto& m = l.as<smtpkit::mail_command>();
  CHECK(m.from.address().local_part() == "alice");
  CHECK(m.from.address().domain() == "a.b.c.example.info");
  CHECK(m.params.size() == std::optional<std::uint64_t>(1674249));
  CHECK(m.params.body() == smtpkit::body_type::eight_bit_mime);
  CHECK(m.params.smtputf8());
  line_case null("MAIL FROM:<>");
  REQUIRE(null.r);
  CHECK(null.as<smtpkit::mail_command>().from.is_null());
  CHECK(line_case("mail from:<a@b>").r);
  CHECK(line_case("MAIL FROM:<@a,@b:c@d>").as<smtpkit::mail_command>().from.address().domain() ==
        "d");
  CHECK(error_of("MAIL") == errc::syntax_error);
  CHECK(error_of("MAIL FROM") == errc::syntax_error);
  CHECK(error_of("MAIL FROM <a@b>") == errc::syntax_error);
  CHECK(error_of("MAIL TO:<a@b>") == errc::syntax_error);
  CHECK(error_of("MAIL FROM=<a@b>") == errc::syntax_error);
  CHECK(error_of("MAIL FROM:") == errc::bad_path);
  CHECK(error_of("MAIL FROM:a@b") == errc::bad_path);
  CHECK(error_of("MAIL FROM:<postmaster>") == errc::bad_path);
  CHECK(error_of("MAIL FROM:<a@b> ") == errc::syntax_error);
  CHECK(error_of("MAIL FROM:<a@b>x") == errc::syntax_error);
  CHECK(error_of("MAIL FROM:<a@b>  SIZE=1") == errc::bad_parameter);
  CHECK(error_of("MAIL FROM:<a@b> SIZE=x") == errc::bad_parameter);
  CHECK(error_of("MAIL FROM:<a@b> SIZE=1 SIZE=2") == errc::duplicate_parameter);
  CHECK(error_of("MAIL FROM:<a@b> ENVID=a+zz") == errc::bad_xtext);
  CHECK(error_of("MAIL FROM:<a b@c>") == errc::bad_local_part);
  CHECK(error_of("MAIL FROM:<a@b>\r") == errc::syntax_error);  // a bare CR is never accepted
}

TEST_CASE("command: a space after the colon is accepted by default, refused on request") {
  line_case l("MAIL FROM: <a@b>");
  REQUIRE(l.r);
  CHECK(l.as<smtpkit::mail_command>().from.address().local_part() == "a");
  CHECK(line_case("RCPT TO: <a@b>").r);
  smtpkit::leniency strict;
  strict.refuse_space_after_colon = true;
  CHECK(error_of("MAIL FROM: <a@b>", strict) == errc::space_after_colon);
  CHECK(error_of("RCPT TO: <a@b>", strict) == errc::space_after_colon);
  CHECK(error_of("MAIL FROM:<a@b>", strict) == errc{});
  CHECK(error_of("MAIL FROM:  <a@b>") == errc::bad_path);  // one SP only
}

// rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path )
//        [SP Rcpt-parameters] CRLF
TEST_CASE("command: RCPT TO") {
  line_case l(
      "RCPT TO:<support@mx1.example-mail.de> NOTIFY=SUCCESS,FAILURE "
      "ORCPT=rfc822;support@mx1.example-mail.de");
  REQUIRE(l.r);
  const auto& r = l.as<smtpkit::rcpt_command>();
  CHECK(r.to.address().local_part() == "support");
  CHECK(r.params.notify() == (smtpkit::dsn_notify::success | smtpkit::dsn_notify::failure));
  CHECK(r.params.orcpt_address() == "support@mx1.example-mail.de");
  line_case pm("RCPT TO:<Postmaster>");
  REQUIRE(pm.r);
  CHECK(pm.as<smtpkit::rcpt_command>().to.is_postmaster());
  CHECK(line_case("rcpt to:<postmaster@example.com>").r);
  CHECK(error_of("RCPT TO:<>") == errc::bad_path);
  CHECK(error_of("RCPT TO") == errc::syntax_error);
  CHECK(error_of("RCPT FROM:<a@b>") == errc::syntax_error);
  CHECK(error_of("RCPT TO:<a@b> NOTIFY=NEVER,DELAY") == errc::bad_parameter);
  // An unknown or misplaced parameter parses; the application answers 555.
  line_case unknown("RCPT TO:<a@b> X-FOO=1 SIZE=3");
  REQUIRE(unknown.r);
  CHECK(unknown.as<smtpkit::rcpt_command>().params.unknown_count() == 1);
  CHECK(unknown.as<smtpkit::rcpt_command>().params.misplaced_count() == 1);
}

// bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ] CRLF
// chunk-size = 1*DIGIT ; end-marker = "LAST"   (RFC 3030 2)
TEST_CASE("command: BDAT") {
  line_case b("BDAT 86");
  REQUIRE(b.r);
  CHECK(b.as<smtpkit::bdat_command>().size == 86);
  CHECK_FALSE(b.as<smtpkit::bdat_command>().last);
  line_case last("bdat 0 last");
  REQUIRE(last.r);
  CHECK(last.as<smtpkit::bdat_command>().size == 0);
  CHECK(last.as<smtpkit::bdat_command>().last);
  CHECK(line_case("BDAT 18446744073709551615 LAST").as<smtpkit::bdat_command>().size ==
        18446744073709551615ull);
  for (std::string_view bad :
       {"BDAT", "BDAT ", "BDAT x", "BDAT -1", "BDAT 1 LASTX", "BDAT 1  LAST", "BDAT 1 LAST ",
        "BDAT 1 FIRST", "BDAT 1x", "BDAT 18446744073709551616", "BDAT  1",
        "BDAT 00000000000000000000018446744073709551616", "BDAT 100000000000000000000"}) {
    INFO(bad);
    CHECK(error_of(bad) == errc::bad_bdat);
  }
  // chunk-size = 1*DIGIT has no length bound: leading zeros do not count toward 20 digits.
  CHECK(line_case("BDAT 000000000000000000001").as<smtpkit::bdat_command>().size == 1);
  CHECK(line_case("BDAT 0000000000000000000000000000000 LAST").as<smtpkit::bdat_command>().size ==
        0);
  CHECK(line_case("BDAT 00000000000000000000018446744073709551615")
            .as<smtpkit::bdat_command>()
            .size == 18446744073709551615ull);
}

// noop = "NOOP" [ SP String ] CRLF ; help = "HELP" [ SP String ] CRLF
// String = Atom / Quoted-string
TEST_CASE("command: NOOP and HELP") {
  CHECK(line_case("NOOP").as<smtpkit::noop_command>().text.empty());
  CHECK(line_case("NOOP hello").as<smtpkit::noop_command>().text == "hello");
  CHECK(line_case("NOOP \"hello world\"").as<smtpkit::noop_command>().text == "\"hello world\"");
  CHECK(line_case("HELP MAIL").as<smtpkit::help_command>().text == "MAIL");
  CHECK(line_case("HELP").as<smtpkit::help_command>().text.empty());
  CHECK(error_of("NOOP ") == errc::syntax_error);
  CHECK(error_of("NOOP hello world") == errc::syntax_error);
  CHECK(error_of("HELP a.b") == errc::syntax_error);  // an Atom has no dot
  CHECK(error_of("NOOP \"x") == errc::syntax_error);
  CHECK(error_of("NOOP \xff") == errc::bad_utf8);
}

// vrfy = "VRFY" SP String CRLF ; expn = "EXPN" SP String CRLF
// RFC 6531 3.7.4.2: vrfy = "VRFY" SP String [ SP "SMTPUTF8" ] CRLF
TEST_CASE("command: VRFY and EXPN") {
  CHECK(line_case("VRFY Smith").as<smtpkit::vrfy_command>().argument == "Smith");  // 3.5.3
  CHECK(line_case("VRFY John.Smith").as<smtpkit::vrfy_command>().argument == "John.Smith");
  CHECK(line_case("VRFY \"John Smith\"").as<smtpkit::vrfy_command>().argument == "\"John Smith\"");
  CHECK(line_case("VRFY smith@example.com").as<smtpkit::vrfy_command>().argument ==
        "smith@example.com");
  CHECK(line_case("VRFY <smith@example.com>").as<smtpkit::vrfy_command>().argument ==
        "<smith@example.com>");
  line_case u("VRFY Anv\xc3\xa4ndaren SMTPUTF8");
  REQUIRE(u.r);
  CHECK(u.as<smtpkit::vrfy_command>().argument == "Anv\xc3\xa4ndaren");
  CHECK(u.as<smtpkit::vrfy_command>().smtputf8);
  CHECK(u.as<smtpkit::vrfy_command>().utf8);
  CHECK(line_case("EXPN Example-People").as<smtpkit::expn_command>().argument == "Example-People");
  CHECK(line_case("expn list smtputf8").as<smtpkit::expn_command>().smtputf8);
  CHECK(error_of("VRFY") == errc::syntax_error);
  CHECK(error_of("VRFY ") == errc::syntax_error);
  CHECK(error_of("VRFY John Smith") == errc::syntax_error);
  CHECK(error_of("VRFY a SMTPUTF8 x") == errc::syntax_error);
  CHECK(error_of("VRFY <a@b") == errc::bad_path);
  CHECK(error_of("VRFY a@b..c") == errc::bad_domain);
  CHECK(error_of("VRFY (x)") == errc::syntax_error);
  // The same fault as the BODY= one fuzz_esmtp_params found: the case fold (OR 0x20) also
  // turned 0x18 into the '8' of SMTPUTF8.
  CHECK(error_of("VRFY a SMTPUTF\x18") == errc::syntax_error);
  CHECK(error_of("EXPN a smtputf\x18") == errc::syntax_error);
  // And in MAIL parameters: BODY=\x18BITMIME is not 8BITMIME.
  CHECK(error_of("MAIL FROM:<a@b> BODY=\x18"
                 "BITMIME") == errc::bad_parameter);
}

// auth = "AUTH" SP sasl-mech [SP initial-response] ; initial-response = base64 / "="
// sasl-mech = 1*20mech-char ; mech-char = UPPER-ALPHA / DIGIT / HYPHEN / UNDERSCORE
// (RFC 4422 3.1; smtpkit accepts lower-case letters too, as Postfix and Cyrus SASL do)
TEST_CASE("command: AUTH") {
  line_case a("AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=");  // RFC 4954 4
  REQUIRE(a.r);
  CHECK(a.as<smtpkit::auth_command>().mechanism == "PLAIN");
  CHECK(a.as<smtpkit::auth_command>().initial_response == "dGVzdAB0ZXN0ADEyMzQ=");
  CHECK(line_case("AUTH PLAIN =").as<smtpkit::auth_command>().initial_response == "=");
  CHECK(line_case("AUTH LOGIN").as<smtpkit::auth_command>().initial_response.empty());
  CHECK(line_case("auth SCRAM-SHA-256").r);
  CHECK(line_case("AUTH X_OAUTH2 dGVzdA==").r);
  CHECK(line_case("AUTH ABCDEFGHIJKLMNOPQRST").r);  // 20 characters
  CHECK(error_of("AUTH ABCDEFGHIJKLMNOPQRSTU") == errc::syntax_error);
  CHECK(line_case("AUTH plain").as<smtpkit::auth_command>().mechanism == "plain");
  CHECK(line_case("AUTH Scram-Sha-256 =").as<smtpkit::auth_command>().mechanism == "Scram-Sha-256");
  CHECK(line_case("AUTH abcdefghijklmnopqrst").r);                      // 20 characters
  CHECK(error_of("AUTH abcdefghijklmnopqrstu") == errc::syntax_error);  // 21
  for (std::string_view bad : {"AUTH PL.AIN", "AUTH PL/AIN", "AUTH pl\xC3\xA4in",
                               "AUTH PLAIN=", "AUTH P+LAIN", "AUTH \tPLAIN"}) {
    INFO(bad);
    CHECK(error_of(bad) == errc::syntax_error);
  }
  CHECK(error_of("AUTH") == errc::syntax_error);
  CHECK(error_of("AUTH ") == errc::syntax_error);
  CHECK(error_of("AUTH PLAIN ") == errc::syntax_error);
  CHECK(error_of("AUTH PLAIN abc") == errc::bad_base64);
  CHECK(error_of("AUTH PLAIN ab=c") == errc::bad_base64);
  CHECK(error_of("AUTH PLAIN ====") == errc::bad_base64);
  CHECK(error_of("AUTH PLAIN a b") == errc::bad_base64);
  CHECK(error_of("AUTH PLAIN dGVzdA== x") == errc::bad_base64);
  // base64 (RFC 4648 3.5): the pad bits must be zero, as decode_base64 requires.
  CHECK(error_of("AUTH PLAIN QR==") == errc::bad_base64);
  CHECK(error_of("AUTH PLAIN QUF=") == errc::bad_base64);
  CHECK(line_case("AUTH PLAIN QQ==").r);
}

TEST_CASE("command: SASL response lines") {
  smtpkit_test::guarded_copy star("*");
  const auto c = smtpkit::parse_sasl_response(star.view());
  REQUIRE(c);
  CHECK(c->cancel);
  const auto empty = smtpkit::parse_sasl_response("");
  REQUIRE(empty);
  CHECK_FALSE(empty->cancel);
  CHECK(empty->data.empty());
  smtpkit_test::guarded_copy data("dGVzdA==");
  const auto d = smtpkit::parse_sasl_response(data.view());
  REQUIRE(d);
  CHECK(d->data == "dGVzdA==");
  CHECK(smtpkit::parse_sasl_response("dGVzdA").error() == errc::bad_base64);
  CHECK(smtpkit::parse_sasl_response("**").error() == errc::bad_base64);
  CHECK(smtpkit::parse_sasl_response("=").error() == errc::bad_base64);
  CHECK(smtpkit::parse_sasl_response("QR==").error() == errc::bad_base64);  // RFC 4648 3.5
  CHECK(smtpkit::parse_sasl_response("QUF=").error() == errc::bad_base64);
  CHECK(smtpkit::parse_sasl_response(std::string(12288, 'A')).error() == errc::auth_line_too_long);
}

TEST_CASE("command: values compare by content") {
  line_case a("MAIL FROM:<a@b> SIZE=1 BODY=7BIT");
  line_case b("mail from: <a@b> body=7bit size=1");
  line_case c("MAIL FROM:<a@b> SIZE=2");
  REQUIRE(a.r);
  REQUIRE(b.r);
  REQUIRE(c.r);
  CHECK(*a.r == *b.r);
  CHECK(*a.r != *c.r);
  line_case d("RCPT TO:<a@b>");
  CHECK(*a.r != *d.r);  // different verbs
  CHECK(*line_case("QUIT").r == *line_case("quit").r);
}

namespace {

std::vector<std::string> corpus_lines() {
  std::ifstream in(SMTPKIT_TEST_CORPUS_DIR "/commands.smtp", std::ios::binary);
  REQUIRE(in.good());
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < data.size()) {
    const std::size_t end = data.find("\r\n", pos);
    REQUIRE(end != std::string::npos);
    lines.push_back(data.substr(pos, end - pos));
    pos = end + 2;
  }
  return lines;
}

}  // namespace

TEST_CASE("command: every line of bench/corpus/commands.smtp parses") {
  const std::vector<std::string> lines = corpus_lines();
  CHECK(lines.size() == 8573);
  std::size_t mail = 0;
  std::size_t rcpt = 0;
  for (const std::string& line : lines) {
    const smtpkit::result<smtpkit::command> r = smtpkit::parse_command(line);
    INFO(line);
    REQUIRE(r.has_value());
    mail += smtpkit::verb_of(*r) == verb::mail ? 1u : 0u;
    rcpt += smtpkit::verb_of(*r) == verb::rcpt ? 1u : 0u;
    if (smtpkit::verb_of(*r) == verb::mail) {
      CHECK(std::get_if<smtpkit::mail_command>(&*r)->params.unknown_count() == 0);
    }
  }
  CHECK(mail == 1662);
  CHECK(rcpt == 3153);
}

TEST_CASE("command: parsing allocates nothing") {
  const std::vector<std::string> lines = corpus_lines();
  std::size_t ok = 0;
  {
    smtpkit_test::alloc_scope scope;
    for (const std::string& line : lines) ok += smtpkit::parse_command(line).has_value() ? 1u : 0u;
    ok += smtpkit::parse_command("VRFY <a@b> SMTPUTF8").has_value() ? 1u : 0u;
    ok += smtpkit::parse_command("AUTH PLAIN dGVzdA==").has_value() ? 1u : 0u;
    ok += smtpkit::parse_command("BDAT 5 LAST").has_value() ? 1u : 0u;
    CHECK(scope.count() == 0);
  }
  CHECK(ok == lines.size() + 3);
}
