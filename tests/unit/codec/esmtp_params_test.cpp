// smtpkit tests: MAIL and RCPT ESMTP parameters. RFC 5321 4.1.2, RFC 1870, RFC 6152, RFC 3030,
// RFC 6531, RFC 3461, RFC 6533, RFC 4954 5, RFC 8689. Every input sits against a guard page.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cstdint>  // uint64_t
#include <random>   // mt19937
#include <smtpkit/codec/esmtp_params.hpp>
#include <string>       // string
#include <string_view>  // string_view
#include <vector>       // vector

#include "alloc_counter.hpp"
#include "guard_page.hpp"

using smtpkit::body_type;
using smtpkit::dsn_notify;
using smtpkit::dsn_ret;
using smtpkit::errc;
using smtpkit::param_keyword;

namespace {

errc errc_of(std::error_code ec) {
  return static_cast<errc>(ec.value());
}

// Parses Mail-parameters against a guard page; the copy lives as long as the result is used.
struct mail_case {
  smtpkit_test::guarded_copy copy;
  smtpkit::result<smtpkit::mail_parameters> r;
  explicit mail_case(std::string_view in, const smtpkit::limits& lim = {})
      : copy(in), r(smtpkit::parse_mail_parameters(copy.view(), lim)) {}
  errc error() const { return r ? errc{} : r.error(); }
};

struct rcpt_case {
  smtpkit_test::guarded_copy copy;
  smtpkit::result<smtpkit::rcpt_parameters> r;
  explicit rcpt_case(std::string_view in)
      : copy(in), r(smtpkit::parse_rcpt_parameters(copy.view())) {}
  errc error() const { return r ? errc{} : r.error(); }
};

errc mail_error(std::string_view in) {
  return mail_case(in).error();
}
errc rcpt_error(std::string_view in) {
  return rcpt_case(in).error();
}

std::vector<std::string> keywords(const smtpkit::param_list& list) {
  std::vector<std::string> v;
  for (const smtpkit::esmtp_param& q : list) {
    std::string s(q.keyword);
    if (q.has_value) s += "=" + std::string(q.value);
    v.push_back(s);
  }
  return v;
}

}  // namespace

// Mail-parameters = esmtp-param *(SP esmtp-param)
// esmtp-param     = esmtp-keyword ["=" esmtp-value]
// esmtp-keyword   = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
// esmtp-value     = 1*(%d33-60 / %d62-126)  ; RFC 6531 3.3: =/ UTF8-non-ascii
TEST_CASE("esmtp: the generic esmtp-param grammar") {
  smtpkit_test::guarded_copy g("X-A=1 B 9c-=v\xc3\xa9 D=<>@[]");
  const auto list = smtpkit::parse_esmtp_params(g.view());
  REQUIRE(list);
  CHECK(keywords(*list) == std::vector<std::string>{"X-A=1", "B", "9c-=v\xc3\xa9", "D=<>@[]"});
  CHECK(list->size() == 4);
  CHECK_FALSE(list->empty());
  const auto empty = smtpkit::parse_esmtp_params("");
  REQUIRE(empty);
  CHECK(empty->empty());
  for (std::string_view bad :
       {" A", "A ", "A  B", "-A", "A_B", "A=", "A=b=c", "A=\x01", "=b", "A=b c=", "A\tB"}) {
    INFO(bad);
    smtpkit_test::guarded_copy c(bad);
    CHECK(smtpkit::parse_esmtp_params(c.view()).error() == errc::bad_parameter);
  }
  smtpkit_test::guarded_copy u("A=\xff");
  CHECK(smtpkit::parse_esmtp_params(u.view()).error() == errc::bad_utf8);
  smtpkit_test::guarded_copy d("A=1 B a=2");
  CHECK(smtpkit::parse_esmtp_params(d.view()).error() == errc::duplicate_parameter);
  CHECK(smtpkit::classify_param("size") == param_keyword::size);
  CHECK(smtpkit::classify_param("SMTPUTF8") == param_keyword::smtputf8);
  CHECK(smtpkit::classify_param("RequireTLS") == param_keyword::requiretls);
  CHECK(smtpkit::classify_param("Notify") == param_keyword::notify);
  CHECK(smtpkit::classify_param("SIZ") == param_keyword::unknown);
  CHECK(smtpkit::classify_param("SIZE_") == param_keyword::unknown);
  CHECK(smtpkit::classify_param("S\x01ZE") == param_keyword::unknown);
  CHECK(smtpkit::to_string(param_keyword::orcpt) == "ORCPT");
  CHECK(smtpkit::is_mail_param(param_keyword::auth));
  CHECK(smtpkit::is_rcpt_param(param_keyword::orcpt));
  CHECK_FALSE(smtpkit::is_rcpt_param(param_keyword::size));
}

// size-param = "SIZE=" size-value ; size-value = 1*20DIGIT   (RFC 1870)
TEST_CASE("esmtp: SIZE") {
  mail_case c("SIZE=1674249");
  REQUIRE(c.r);
  CHECK(c.r->size() == std::optional<std::uint64_t>(1674249));
  CHECK(mail_case("size=0").r->size() == std::optional<std::uint64_t>(0));
  CHECK(mail_case("SIZE=18446744073709551615").r->size() ==
        std::optional<std::uint64_t>(18446744073709551615ull));
  CHECK(mail_case("SIZE=0000000000000000001").r->size() == std::optional<std::uint64_t>(1));
  CHECK_FALSE(mail_case("").r->size().has_value());
  for (std::string_view bad : {"SIZE=18446744073709551616", "SIZE=123456789012345678901",
                               "SIZE=12a", "SIZE=-1", "SIZE=", "SIZE", "SIZE=1.5", "SIZE=+1"}) {
    INFO(bad);
    CHECK(mail_error(bad) == errc::bad_parameter);
  }
  CHECK(mail_error("SIZE=1 size=2") == errc::duplicate_parameter);
  // 1*20DIGIT counts digits, leading zeros included: 21 or more digits are refused even when the
  // value fits, alone (scalar path) and after other parameters (window path).
  CHECK(mail_case("SIZE=00000000000000000001").r->size() == std::optional<std::uint64_t>(1));
  for (std::string_view bad :
       {"SIZE=000000000000000000001", "SIZE=00000000000000000000001",
        "BODY=7BIT SIZE=000000000000000000001", "X=1 SIZE=0000000000000000000000000000001 Y"}) {
    INFO(bad);
    CHECK(mail_error(bad) == errc::bad_parameter);
  }
}

// body-value = "7BIT" / "8BITMIME" / "BINARYMIME"   (RFC 6152, RFC 3030)
TEST_CASE("esmtp: BODY") {
  CHECK(mail_case("BODY=7BIT").r->body() == body_type::seven_bit);
  CHECK(mail_case("BODY=8BITMIME").r->body() == body_type::eight_bit_mime);
  CHECK(mail_case("body=8bitmime").r->body() == body_type::eight_bit_mime);
  CHECK(mail_case("BODY=BINARYMIME").r->body() == body_type::binary_mime);
  CHECK(mail_case("Body=BinaryMime").r->body() == body_type::binary_mime);
  CHECK(mail_case("").r->body() == body_type::none);
  for (std::string_view bad : {"BODY=8BIT", "BODY=", "BODY", "BODY=7BITS", "BODY=8BITMIMEX",
                               "BODY=BINARY", "BODY=quoted-printable"}) {
    INFO(bad);
    CHECK(mail_error(bad) == errc::bad_parameter);
  }
  // Found by fuzz_esmtp_params: the case fold (OR 0x20) also turned 0x18 into '8' and 0x17 into
  // '7', so "BODY=\x18BITMIME" and "BODY=\x17BIT" were taken for 8BITMIME and 7BIT.
  CHECK(mail_error("BODY=\x18"
                   "BITMIME") == errc::bad_parameter);
  CHECK(mail_error("BODY=\x17"
                   "BIT") == errc::bad_parameter);
  CHECK(mail_error("SIZE=1 BODY=\x18"
                   "BITMIME SMTPUTF8") == errc::bad_parameter);
}

// SMTPUTF8 takes no value (RFC 6531 3.4); REQUIRETLS takes no value (RFC 8689 4).
TEST_CASE("esmtp: SMTPUTF8 and REQUIRETLS") {
  mail_case c("SMTPUTF8 REQUIRETLS");
  REQUIRE(c.r);
  CHECK(c.r->smtputf8());
  CHECK(c.r->requiretls());
  CHECK_FALSE(mail_case("").r->smtputf8());
  CHECK(mail_error("SMTPUTF8=yes") == errc::bad_parameter);
  CHECK(mail_error("REQUIRETLS=1") == errc::bad_parameter);
  CHECK(mail_error("SMTPUTF8 smtputf8") == errc::duplicate_parameter);
  // Found by fuzz_esmtp_params: an octet other than SP after a keyword without a value was
  // taken as the separator ("SMTPUTF8\x16RET=HDRS" parsed as two parameters).
  CHECK(mail_error(std::string_view("SMTPUTF8\x16RET=HDRS", 17)) == errc::bad_parameter);
  CHECK(mail_error("REQUIRETLS<RET=HDRS") == errc::bad_parameter);
  CHECK(mail_error("SIZE=1 SMTPUTF8\t") == errc::bad_parameter);
}

// ret-value = "FULL" / "HDRS"   (RFC 3461 4.3)
TEST_CASE("esmtp: RET") {
  CHECK(mail_case("RET=FULL").r->ret() == dsn_ret::full);
  CHECK(mail_case("RET=hdrs").r->ret() == dsn_ret::hdrs);
  CHECK(mail_case("").r->ret() == dsn_ret::none);
  for (std::string_view bad : {"RET=HDR", "RET=FULLY", "RET=", "RET", "RET=NONE"}) {
    INFO(bad);
    CHECK(mail_error(bad) == errc::bad_parameter);
  }
}

// envid-parameter = "ENVID=" xtext   (RFC 3461 4.4)
TEST_CASE("esmtp: ENVID") {
  mail_case c("ENVID=QQ314159");  // RFC 3461 6.1
  REQUIRE(c.r);
  CHECK(c.r->envid() == "QQ314159");
  CHECK(mail_case("ENVID=a+2Bb").r->envid() == "a+2Bb");  // kept encoded
  CHECK(mail_error("ENVID=a+zz") == errc::bad_xtext);
  CHECK(mail_error("ENVID=a+2b") == errc::bad_xtext);
  CHECK(mail_error("ENVID=\xc3\xa9") == errc::bad_xtext);
  CHECK(mail_error("ENVID=") == errc::bad_parameter);
  CHECK(mail_error("ENVID") == errc::bad_parameter);
  CHECK(mail_error("ENVID=a=b") == errc::bad_parameter);
}

// auth-param = "AUTH=" ( mailbox / "<>" ), the mailbox xtext-encoded   (RFC 4954 5)
TEST_CASE("esmtp: AUTH=") {
  CHECK(mail_case("AUTH=<>").r->auth() == "<>");
  mail_case c("AUTH=e+3Dmc2@example.com");  // RFC 4954 5: e=mc2@example.com
  REQUIRE(c.r);
  CHECK(c.r->auth() == "e+3Dmc2@example.com");
  CHECK(mail_case("AUTH=\"a+20b\"@[192.0.2.1]").r);
  CHECK(mail_error("AUTH=user") == errc::bad_parameter);  // not a mailbox
  CHECK(mail_error("AUTH=a+2b@x") == errc::bad_xtext);
  CHECK(mail_error("AUTH=a+20b@x") == errc::bad_parameter);  // decodes to "a b@x"
  CHECK(mail_error("AUTH=") == errc::bad_parameter);
  // The decoded mailbox is bounded by limits (path, local part, domain), not by a fixed buffer.
  {
    std::string domain;
    for (int i = 0; i < 20; ++i) domain += std::string(60, static_cast<char>('a' + i)) + ".";
    domain += "example";
    const std::string auth = "AUTH=a+2Bb@" + domain;  // decodes to a+b@..., 1231 octets
    smtpkit::limits lim;
    CHECK(mail_case(auth, lim).error() == errc::bad_parameter);  // over the default path 256
    lim.path = 1300;
    lim.domain = 1300;
    CHECK(mail_case(auth, lim).r->auth() == auth.substr(5));
    lim.path = 1234;  // the mailbox is 1231 octets, the path 1233
    CHECK(mail_case(auth, lim).r);
    lim.path = 1232;
    CHECK(mail_case(auth, lim).error() == errc::bad_parameter);
    lim.path = 1300;
    CHECK(mail_case("AUTH=ab@" + domain, lim).r);  // no hexchar: checked in place
    lim.path = 100000;
    lim.domain = 100000;
    CHECK(mail_case(auth, lim).r);
  }
  CHECK(mail_error("AUTH") == errc::bad_parameter);
  CHECK(mail_error("AUTH=<>x") == errc::bad_parameter);
  // The decoded mailbox is held to the limits.
  smtpkit::limits lim;
  lim.local_part = 2;
  CHECK(mail_case("AUTH=abc@x", lim).error() == errc::bad_parameter);
  CHECK(mail_case("AUTH=ab@x", lim).r);
}

// notify-esmtp-value  = "NEVER" / 1#notify-list-element
// notify-list-element = "SUCCESS" / "FAILURE" / "DELAY"   (RFC 3461 4.1)
TEST_CASE("esmtp: NOTIFY") {
  CHECK(rcpt_case("NOTIFY=NEVER").r->notify() == dsn_notify::never);
  CHECK(rcpt_case("NOTIFY=SUCCESS").r->notify() == dsn_notify::success);
  CHECK(rcpt_case("NOTIFY=SUCCESS,FAILURE").r->notify() ==
        (dsn_notify::success | dsn_notify::failure));
  CHECK(rcpt_case("notify=delay,failure,success").r->notify() ==
        (dsn_notify::success | dsn_notify::failure | dsn_notify::delay));
  CHECK(rcpt_case("").r->notify() == dsn_notify::none);
  for (std::string_view bad :
       {"NOTIFY=NEVER,SUCCESS", "NOTIFY=SUCCESS,NEVER", "NOTIFY=SUCCESS,SUCCESS",
        "NOTIFY=", "NOTIFY", "NOTIFY=SUCCESS,", "NOTIFY=,SUCCESS", "NOTIFY=SUCCES",
        "NOTIFY=SUCCESSX", "NOTIFY=ALWAYS", "NOTIFY=SUCCESS;FAILURE"}) {
    INFO(bad);
    CHECK(rcpt_error(bad) == errc::bad_parameter);
  }
  CHECK(smtpkit::has(dsn_notify::success | dsn_notify::delay, dsn_notify::delay));
  CHECK_FALSE(smtpkit::has(dsn_notify::success, dsn_notify::delay));
  CHECK(smtpkit::is_valid(dsn_notify::never));
  CHECK(smtpkit::is_valid(dsn_notify::none));
  CHECK_FALSE(smtpkit::is_valid(dsn_notify::never | dsn_notify::success));
  CHECK_FALSE(smtpkit::is_valid(static_cast<dsn_notify>(16)));
}

// orcpt-parameter = "ORCPT=" original-recipient-address
// original-recipient-address = addr-type ";" xtext ; addr-type = atom   (RFC 3461 4.2)
// utf-8-addr-xtext = 1*(QCHAR / EmbeddedUnicodeChar)   (RFC 6533 3)
TEST_CASE("esmtp: ORCPT") {
  rcpt_case c("ORCPT=rfc822;Bob@Example.COM");  // RFC 3461 6.2
  REQUIRE(c.r);
  CHECK(c.r->orcpt_type() == "rfc822");
  CHECK(c.r->orcpt_address() == "Bob@Example.COM");
  CHECK(rcpt_case("ORCPT=RFC822;joe+2Bsmith@example.com").r->orcpt_address() ==
        "joe+2Bsmith@example.com");
  CHECK(rcpt_case("ORCPT=x-local;anything!").r->orcpt_type() == "x-local");
  CHECK(rcpt_case("ORCPT=utf-8;a\\x{E9}b@example.com").r);
  CHECK(rcpt_case("ORCPT=UTF-8;\xc3\xa9@example.com").r);  // utf-8-addr-unitext
  CHECK(rcpt_error("ORCPT=rfc822") == errc::bad_parameter);
  CHECK(rcpt_error("ORCPT=;a@b") == errc::bad_parameter);
  CHECK(rcpt_error("ORCPT=rfc822;") == errc::bad_parameter);
  CHECK(rcpt_error("ORCPT=rf(c;a@b") == errc::bad_parameter);
  CHECK(rcpt_error("ORCPT=rfc822;a+zz") == errc::bad_xtext);
  CHECK(rcpt_error("ORCPT=rfc822;\xc3\xa9") == errc::bad_xtext);
  CHECK(rcpt_error("ORCPT=utf-8;a+b") == errc::bad_parameter);
  CHECK(rcpt_error("ORCPT=utf-8;a\\x{}") == errc::bad_parameter);
  CHECK(rcpt_error("ORCPT=utf-8;a\\x{1234567}") == errc::bad_parameter);
  CHECK(rcpt_error("ORCPT=utf-8;a\\y") == errc::bad_parameter);
  CHECK(rcpt_error("ORCPT=utf-8;\xc3") == errc::bad_utf8);
  CHECK(rcpt_error("ORCPT") == errc::bad_parameter);
}

// RFC 3461 4.2: the address "MUST consist entirely of printable (graphic and white space)
// characters from the US-ASCII repertoire": every hexchar decodes to %x20-7E.
TEST_CASE("esmtp: ORCPT xtext decodes to printable US-ASCII") {
  CHECK(rcpt_case("ORCPT=rfc822;a+20b+2B+3D+7E").r->orcpt_address() == "a+20b+2B+3D+7E");
  for (std::string_view bad : {"ORCPT=rfc822;a+0Ab", "ORCPT=rfc822;a+00", "ORCPT=rfc822;+1F",
                               "ORCPT=rfc822;a+7F", "ORCPT=rfc822;a+80", "ORCPT=rfc822;a+C3+A9",
                               "ORCPT=x-local;+0D+0A", "NOTIFY=NEVER ORCPT=rfc822;a+09b"}) {
    INFO(bad);
    CHECK(rcpt_error(bad) == errc::bad_parameter);
  }
  smtpkit::rcpt_parameters r;
  CHECK(errc_of(r.set_orcpt("rfc822", "a+0Ab")) == errc::invalid_argument);
  CHECK(errc_of(r.set_orcpt("rfc822", "a+20b")) == errc{});
}

// EmbeddedUnicodeChar = %x5C.78 "{" HEXPOINT "}"   (RFC 6533 3)
// HEXPOINT = ( ( "0"/"1" ) %x31-39 ) / "10" / "20" / "2B" / "3D" / "7F" / "5C" /
//            (HEXDIG8 HEXDIG) / ( NZHEXDIG 2(HEXDIG) ) / ( NZDHEXDIG 3(HEXDIG) ) /
//            ( "D" %x30-37 2(HEXDIG) ) / ( NZHEXDIG 4(HEXDIG) ) / ( "10" 4*HEXDIG )
TEST_CASE("esmtp: ORCPT utf-8 HEXPOINT") {
  for (std::string_view hex :
       {"01",   "19",    "10",    "20",     "2B",     "3D",    "7F",   "5C",
        "80",   "e9",    "FF",    "100",    "FFF",    "1000",  "D7FF", "E000",
        "FFFF", "10000", "FFFFF", "100000", "10FFFF", "10ffff"}) {
    INFO(hex);
    CHECK(rcpt_case("ORCPT=utf-8;a\\x{" + std::string(hex) + "}b").r);
  }
  for (std::string_view hex :
       {"00", "0A", "1F", "21", "41", "7E", "0E9", "00E9", "000E9", "0000E9", "D800", "DFFF",
        "dc00", "110000", "1FFFFF", "200000", "FFFFFF", "0", "1234567"}) {
    INFO(hex);
    CHECK(rcpt_error("ORCPT=utf-8;a\\x{" + std::string(hex) + "}b") == errc::bad_parameter);
  }
  smtpkit::rcpt_parameters r;
  CHECK(errc_of(r.set_orcpt("utf-8", "a\\x{D800}")) == errc::invalid_argument);
  CHECK(errc_of(r.set_orcpt("utf-8", "a\\x{E9}")) == errc{});
}

TEST_CASE("esmtp: unknown and misplaced parameters are kept, in order, and counted") {
  mail_case c("MT-PRIORITY=3 SIZE=10 NOTIFY=NEVER X-FOO BODY=7BIT");
  REQUIRE(c.r);
  CHECK(c.r->size() == std::optional<std::uint64_t>(10));
  CHECK(c.r->body() == body_type::seven_bit);
  CHECK(keywords(c.r->extensions()) ==
        std::vector<std::string>{"MT-PRIORITY=3", "NOTIFY=NEVER", "X-FOO"});
  CHECK(c.r->unknown_count() == 2);
  CHECK(c.r->misplaced_count() == 1);  // NOTIFY belongs to RCPT
  // A misplaced parameter's value is not checked (it is not the verb's).
  CHECK(mail_case("ORCPT=whatever").r->misplaced_count() == 1);

  rcpt_case r("SIZE=5 NOTIFY=FAILURE X=1");
  REQUIRE(r.r);
  CHECK(r.r->notify() == dsn_notify::failure);
  CHECK(r.r->misplaced_count() == 1);
  CHECK(r.r->unknown_count() == 1);
  CHECK(keywords(r.r->extensions()) == std::vector<std::string>{"SIZE=5", "X=1"});

  CHECK(mail_error("X-FOO=1 x-foo=2") == errc::duplicate_parameter);
  CHECK(mail_error("NOTIFY=NEVER notify=never") == errc::duplicate_parameter);
  CHECK(mail_error("X=\xff") == errc::bad_utf8);
  CHECK(mail_case("X=\xc3\xa9").r);
  CHECK(mail_case("").r->extensions().empty());
}

TEST_CASE("esmtp: parameter strings over 65535 octets are refused") {
  std::string s = "X=";
  s.append(70000, 'a');
  CHECK(mail_error(s) == errc::bad_parameter);
  CHECK(rcpt_error(s) == errc::bad_parameter);
}

TEST_CASE("esmtp: equality follows the content, not the order of the typed parameters") {
  mail_case a("SIZE=1 BODY=7BIT X=1 Y");
  mail_case b("body=7bit X=1 size=1 Y");
  mail_case c("SIZE=1 BODY=7BIT Y X=1");
  REQUIRE(a.r);
  REQUIRE(b.r);
  REQUIRE(c.r);
  CHECK(*a.r == *b.r);
  CHECK(*a.r != *c.r);  // extensions keep their order
  rcpt_case d("NOTIFY=SUCCESS,FAILURE");
  rcpt_case e("NOTIFY=FAILURE,SUCCESS");
  CHECK(*d.r == *e.r);
  CHECK(*d.r != smtpkit::rcpt_parameters());
}

TEST_CASE("esmtp: setters check what they are given") {
  smtpkit::mail_parameters m;
  m.set_size(42);
  CHECK(m.size() == std::optional<std::uint64_t>(42));
  m.set_size(std::nullopt);
  CHECK_FALSE(m.size().has_value());
  CHECK(errc_of(m.set_body(body_type::binary_mime)) == errc{});
  CHECK(m.body() == body_type::binary_mime);
  CHECK(errc_of(m.set_body(static_cast<body_type>(9))) == errc::invalid_argument);
  CHECK(errc_of(m.set_ret(dsn_ret::hdrs)) == errc{});
  CHECK(m.ret() == dsn_ret::hdrs);
  CHECK(errc_of(m.set_ret(static_cast<dsn_ret>(3))) == errc::invalid_argument);
  m.set_smtputf8(true);
  m.set_requiretls(true);
  CHECK(m.smtputf8());
  CHECK(m.requiretls());
  m.set_smtputf8(false);
  CHECK_FALSE(m.smtputf8());
  CHECK(m.requiretls());
  CHECK(m.body() == body_type::binary_mime);  // flags share an octet: the others stay
  CHECK(m.ret() == dsn_ret::hdrs);
  CHECK(errc_of(m.set_envid("QQ+2B1")) == errc{});
  CHECK(errc_of(m.set_envid("a b")) == errc::invalid_argument);
  CHECK(errc_of(m.set_envid("a\r\n")) == errc::invalid_argument);
  CHECK(m.envid() == "QQ+2B1");
  CHECK(errc_of(m.set_auth("<>")) == errc{});
  CHECK(errc_of(m.set_auth("e+3Dmc2@example.com")) == errc{});
  CHECK(errc_of(m.set_auth("nobody")) == errc::invalid_argument);
  CHECK(errc_of(m.set_auth("a@b\r\n")) == errc::invalid_argument);
  CHECK(m.auth() == "e+3Dmc2@example.com");
  CHECK(errc_of(m.set_extensions("MT-PRIORITY=3 X-FOO")) == errc{});
  CHECK(m.unknown_count() == 2);
  CHECK(errc_of(m.set_extensions("X SIZE=1")) == errc::invalid_argument);  // use set_size
  CHECK(errc_of(m.set_extensions("X x")) == errc::invalid_argument);
  CHECK(errc_of(m.set_extensions("X=a b")) == errc{});
  CHECK(errc_of(m.set_extensions("X=\r\n")) == errc::invalid_argument);
  CHECK(errc_of(m.set_extensions("X ")) == errc::invalid_argument);
  CHECK(keywords(m.extensions()) == std::vector<std::string>{"X=a", "b"});
  CHECK(errc_of(m.set_extensions("")) == errc{});
  CHECK(m.extensions().empty());
  CHECK(errc_of(m.set_envid("")) == errc{});
  CHECK(m.envid().empty());

  smtpkit::rcpt_parameters r;
  CHECK(errc_of(r.set_notify(dsn_notify::delay | dsn_notify::failure)) == errc{});
  CHECK(errc_of(r.set_notify(dsn_notify::never | dsn_notify::delay)) == errc::invalid_argument);
  CHECK(r.notify() == (dsn_notify::delay | dsn_notify::failure));
  CHECK(errc_of(r.set_orcpt("rfc822", "a+2Bb@example.com")) == errc{});
  CHECK(errc_of(r.set_orcpt("rfc822", "a+zz")) == errc::invalid_argument);
  CHECK(errc_of(r.set_orcpt("rfc822", "")) == errc::invalid_argument);
  CHECK(errc_of(r.set_orcpt("", "a")) == errc::invalid_argument);
  CHECK(errc_of(r.set_orcpt("a;b", "a")) == errc::invalid_argument);
  CHECK(errc_of(r.set_orcpt("a=b", "a")) == errc::invalid_argument);
  CHECK(errc_of(r.set_orcpt("utf-8", "\xc3\xa9@x")) == errc{});
  CHECK(errc_of(r.set_orcpt("utf-8", "a+b")) == errc::invalid_argument);
  CHECK(r.orcpt_type() == "utf-8");
  CHECK(errc_of(r.set_orcpt("", "")) == errc{});
  CHECK(r.orcpt_type().empty());
  CHECK(errc_of(r.set_extensions("NOTIFY=NEVER")) == errc::invalid_argument);
}

TEST_CASE("esmtp: the fast path decides exactly as the scalar path (random inputs)") {
  namespace d = smtpkit::detail;
  const std::string_view params[] = {"SIZE=123",
                                     "SIZE=12345678901234567",
                                     "SIZE=99999999999999999999",
                                     "SIZE=000000000000000000001",
                                     "SIZE=x",
                                     "SIZE=",
                                     "BODY=8BITMIME",
                                     "BODY=7bit",
                                     "BODY=binarymime",
                                     "BODY=8bit",
                                     "SMTPUTF8",
                                     "SMTPUTF8=1",
                                     "RET=FULL",
                                     "RET=hdrs",
                                     "RET=x",
                                     "ENVID=ab+2Bc",
                                     "ENVID=abc",
                                     "ENVID=a+zz",
                                     "AUTH=<>",
                                     "AUTH=a@b.c",
                                     "AUTH=a",
                                     "NOTIFY=SUCCESS,FAILURE",
                                     "NOTIFY=NEVER",
                                     "NOTIFY=never,delay",
                                     "ORCPT=rfc822;a@b",
                                     "ORCPT=rfc822;a+2Bb",
                                     "ORCPT=utf-8;a\\x{E9}b",
                                     "ORCPT=rfc822;",
                                     "X-FOO",
                                     "X-FOO=bar",
                                     "x-foo=1",
                                     "REQUIRETLS",
                                     "A=b=c",
                                     "=x",
                                     "SIZE",
                                     "-X=1",
                                     "X=\xc3\xa9",
                                     "X=\xff",
                                     "X=\x01",
                                     ""};
  std::mt19937 rng(3461);
  smtpkit::limits lim;
  int accepted = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string t;
    const int n = 1 + static_cast<int>(rng() % 5);
    for (int i = 0; i < n; ++i) {
      if (i != 0) t += rng() % 16 != 0 ? " " : "  ";
      t += params[rng() % (sizeof params / sizeof params[0])];
    }
    // Sometimes with text before it, so that tail loads can reach back.
    const std::string pre = rng() % 2 ? "MAIL FROM:<a@b> " : "";
    smtpkit_test::guarded_copy g(pre + t);
    const char* const begin = g.view().data();
    const std::string_view text = g.view().substr(pre.size());
    INFO(t);
    smtpkit::mail_parameters m1;
    smtpkit::mail_parameters m2;
    errc e1 = d::param_access::parse(text, begin, lim, d::mail_keywords, m1, true);
    errc e2 = d::param_access::parse(text, begin, lim, d::mail_keywords, m2, false);
    REQUIRE(e1 == e2);
    if (e1 == d::no_error) {
      ++accepted;
      CHECK(m1 == m2);
    }
    smtpkit::rcpt_parameters r1;
    smtpkit::rcpt_parameters r2;
    e1 = d::param_access::parse(text, begin, lim, d::rcpt_keywords, r1, true);
    e2 = d::param_access::parse(text, begin, lim, d::rcpt_keywords, r2, false);
    REQUIRE(e1 == e2);
    if (e1 == d::no_error) CHECK(r1 == r2);
  }
  CHECK(accepted > 500);
}

TEST_CASE("esmtp: SIZE digits are converted eight at a time, exactly") {
  std::mt19937_64 rng(1870);
  for (int i = 0; i < 2000; ++i) {
    const std::uint64_t v = rng() >> (rng() % 64);
    const std::string text = "SIZE=" + std::to_string(v);
    mail_case c(text);
    REQUIRE(c.r);
    CHECK(c.r->size() == std::optional<std::uint64_t>(v));
  }
}

TEST_CASE("esmtp: parsing allocates nothing") {
  const std::string mail = "SIZE=1674249 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ1 X-Y=z";
  const std::string rcpt = "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;support@mx1.example-mail.de";
  smtpkit_test::alloc_scope scope;
  const auto m = smtpkit::parse_mail_parameters(mail);
  const auto r = smtpkit::parse_rcpt_parameters(rcpt);
  CHECK(m.has_value());
  CHECK(r.has_value());
  CHECK(m->unknown_count() == 1);
  CHECK(scope.count() == 0);
}
