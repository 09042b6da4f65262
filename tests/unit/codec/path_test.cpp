// smtpkit tests: mailboxes, domains, address literals, reverse- and forward-paths.
// RFC 5321 4.1.2, 4.1.3, 4.5.3.1; RFC 6531 3.3. Every input sits against a guard page.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cstddef>  // size_t
#include <random>   // mt19937
#include <smtpkit/codec/path.hpp>
#include <string>       // string
#include <string_view>  // string_view
#include <vector>       // vector

#include "alloc_counter.hpp"
#include "guard_page.hpp"

using smtpkit::errc;
using smtpkit::host_kind;

namespace {

// What a parse gave, copied out of the guarded input.
struct parsed {
  bool ok = false;
  errc error{};
  bool is_null = false;
  bool postmaster = false;
  std::string local;
  std::string domain;
  host_kind kind = host_kind::domain;
  bool quoted = false;
  bool utf8 = false;
};

parsed from_mailbox(const smtpkit::mailbox& m) {
  parsed p;
  p.ok = true;
  p.local = std::string(m.local_part());
  p.domain = std::string(m.domain());
  p.kind = m.domain_kind();
  p.quoted = m.quoted();
  p.utf8 = m.utf8();
  return p;
}

parsed rev(std::string_view in, const smtpkit::limits& lim = {}) {
  smtpkit_test::guarded_copy g(in);
  const auto r = smtpkit::parse_reverse_path(g.view(), lim);
  if (!r) {
    parsed p;
    p.error = r.error();
    return p;
  }
  parsed p = from_mailbox(r->address());
  p.is_null = r->is_null();
  return p;
}

parsed fwd(std::string_view in, const smtpkit::limits& lim = {}) {
  smtpkit_test::guarded_copy g(in);
  const auto r = smtpkit::parse_forward_path(g.view(), lim);
  if (!r) {
    parsed p;
    p.error = r.error();
    return p;
  }
  parsed p = from_mailbox(r->address());
  p.postmaster = r->is_postmaster();
  return p;
}

parsed host(std::string_view in, const smtpkit::limits& lim = {}) {
  smtpkit_test::guarded_copy g(in);
  const auto r = smtpkit::parse_host(g.view(), lim);
  parsed p;
  if (!r) {
    p.error = r.error();
    return p;
  }
  p.ok = true;
  p.domain = std::string(r->text());
  p.kind = r->kind();
  p.utf8 = r->utf8();
  return p;
}

// The error of a forward-path parse (errc{} when it parsed).
errc fwd_error(std::string_view in, const smtpkit::limits& lim = {}) {
  const parsed p = fwd(in, lim);
  return p.ok ? errc{} : p.error;
}

bool ok(std::error_code ec) {
  return !ec;
}

std::string repeat(char c, std::size_t n) {
  return std::string(n, c);
}

// A domain of exactly n (> 0) octets made of labels of at most 63.
std::string domain_of(std::size_t n) {
  std::string d;
  std::size_t left = n;
  while (left > 64) {
    d += repeat('d', 62) + ".";
    left -= 63;
  }
  if (left == 64) {
    d += repeat('e', 31) + ".";
    left -= 32;
  }
  d += repeat('f', left);
  return d;
}

}  // namespace

// Reverse-path = Path / "<>"
// Path         = "<" [ A-d-l ":" ] Mailbox ">"
TEST_CASE("path: Reverse-path and the null path") {
  parsed p = rev("<>");
  REQUIRE(p.ok);
  CHECK(p.is_null);
  CHECK(p.local.empty());
  p = rev("<Smith@bar.com>");  // RFC 5321 D.1
  REQUIRE(p.ok);
  CHECK_FALSE(p.is_null);
  CHECK(p.local == "Smith");
  CHECK(p.domain == "bar.com");
  CHECK(p.kind == host_kind::domain);
  CHECK_FALSE(p.quoted);
  CHECK_FALSE(p.utf8);
  CHECK(rev("").error == errc::bad_path);
  CHECK(rev("<").error == errc::bad_path);
  CHECK(rev("<a@b").error == errc::bad_path);
  CHECK(rev("a@b").error == errc::bad_path);
  CHECK(rev("<a@b> ").error == errc::bad_path);
  CHECK(rev("<a@b>>").error == errc::bad_path);
  CHECK(rev("<<a@b>").error == errc::bad_local_part);
  CHECK(rev("<a>").error == errc::bad_path);  // no domain: only RCPT's <Postmaster>
  CHECK(rev("<postmaster>").error == errc::bad_path);
  CHECK(rev("< a@b>").error == errc::bad_local_part);
}

// Forward-path = Path
// rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path )
TEST_CASE("path: Forward-path and <Postmaster>") {
  parsed p = fwd("<Jones@foo.com>");  // RFC 5321 D.1
  REQUIRE(p.ok);
  CHECK(p.local == "Jones");
  CHECK(p.domain == "foo.com");
  CHECK_FALSE(p.postmaster);
  for (std::string_view pm : {"<Postmaster>", "<postmaster>", "<POSTMASTER>", "<pOsTmAsTeR>"}) {
    INFO(pm);
    p = fwd(pm);
    REQUIRE(p.ok);
    CHECK(p.postmaster);
    CHECK(p.local == pm.substr(1, 10));
    CHECK(p.domain.empty());
  }
  p = fwd("<Postmaster@example.com>");
  REQUIRE(p.ok);
  CHECK_FALSE(p.postmaster);  // an ordinary mailbox
  CHECK(p.local == "Postmaster");
  CHECK(fwd("<>").error == errc::bad_path);
  CHECK(fwd("<postmaste>").error == errc::bad_path);
  CHECK(fwd("<postmasterx>").error == errc::bad_path);
  CHECK(fwd("<@a:postmaster>").error == errc::bad_path);
  const smtpkit::forward_path made = smtpkit::forward_path::postmaster();
  CHECK(made.is_postmaster());
  CHECK(made.address().local_part() == "Postmaster");
  CHECK(made.address().domain().empty());
  smtpkit_test::guarded_copy g("<POSTMASTER>");
  const auto parsed_pm = smtpkit::parse_forward_path(g.view());
  REQUIRE(parsed_pm);
  CHECK(*parsed_pm != made);  // the word is kept as sent
  CHECK(parsed_pm->is_postmaster());
}

// A-d-l     = At-domain *( "," At-domain )
// At-domain = "@" Domain
TEST_CASE("path: A-d-l source routes are checked and dropped") {
  parsed p = fwd("<@hosta.int,@jkl.org:userc@d.bar.org>");  // RFC 5321 C
  REQUIRE(p.ok);
  CHECK(p.local == "userc");
  CHECK(p.domain == "d.bar.org");
  p = rev("<@a:b@c>");
  REQUIRE(p.ok);
  CHECK(p.local == "b");
  CHECK(fwd_error("<@a,b:c@d>") == errc::bad_path);
  CHECK(fwd_error("<@a c@d>") == errc::bad_path);
  CHECK(fwd_error("<@a>") == errc::bad_path);
  CHECK(fwd_error("<@a,>") == errc::bad_path);
  CHECK(fwd_error("<@:c@d>") == errc::bad_domain);
  CHECK(fwd_error("<@-a:c@d>") == errc::bad_domain);
  CHECK(fwd_error("<@[1.2.3.4]:c@d>") == errc::bad_domain);  // A-d-l takes Domain only
  CHECK(fwd_error("<@b\xc3\xbc:c@d>") == errc::bad_path);    // ASCII only (it is dropped)
  CHECK(fwd_error("<@a:postmaster>") == errc::bad_path);
}

// Mailbox    = Local-part "@" ( Domain / address-literal )
// Local-part = Dot-string / Quoted-string
// Dot-string = Atom *("."  Atom)
// Atom       = 1*atext
TEST_CASE("path: Dot-string local-parts") {
  parsed p = fwd("<john.q.public@example.com>");
  REQUIRE(p.ok);
  CHECK(p.local == "john.q.public");
  // Every atext octet (RFC 5322 3.2.3).
  p = fwd("<!#$%&'*+-/=?^_`{|}~09AZaz@example.com>");
  REQUIRE(p.ok);
  CHECK(p.local == "!#$%&'*+-/=?^_`{|}~09AZaz");
  CHECK(fwd("<a+tag@example.com>").local == "a+tag");
  CHECK(fwd_error("<.a@b>") == errc::bad_local_part);
  CHECK(fwd_error("<a.@b>") == errc::bad_local_part);
  CHECK(fwd_error("<a..b@c>") == errc::bad_local_part);
  CHECK(fwd_error("<a b@c>") == errc::bad_local_part);
  CHECK(fwd_error("<(a)@c>") == errc::bad_local_part);
  CHECK(fwd_error("<a,b@c>") == errc::bad_local_part);
  CHECK(fwd_error("<a:b@c>") == errc::bad_local_part);
  CHECK(fwd_error("<a[b@c>") == errc::bad_local_part);
  CHECK(fwd_error("<@>") == errc::bad_domain);
  CHECK(fwd_error("<a@b@c>") == errc::bad_domain);
}

// Quoted-string   = DQUOTE *QcontentSMTP DQUOTE
// QcontentSMTP    = qtextSMTP / quoted-pairSMTP
// quoted-pairSMTP = %d92 %d32-126
// qtextSMTP       = %d32-33 / %d35-91 / %d93-126
TEST_CASE("path: Quoted-string local-parts") {
  parsed p = fwd("<\"John Smith\"@example.com>");
  REQUIRE(p.ok);
  CHECK(p.quoted);
  CHECK(p.local == "\"John Smith\"");  // as sent, quotes included
  CHECK(fwd("<\"a\\\"b\"@x>").local == "\"a\\\"b\"");
  CHECK(fwd("<\"a\\\\b\"@x>").ok);
  CHECK(fwd("<\"\"@x>").ok);  // *QcontentSMTP may be empty
  CHECK(fwd("<\"a@b.c\"@x>").local == "\"a@b.c\"");
  CHECK(fwd("<\"<>[]:;,.\"@x>").ok);                       // specials are qtext
  CHECK(fwd("<\"\\ \"@x>").ok);                            // quoted-pair of SP
  CHECK(fwd_error("<\"a@x>") == errc::bad_local_part);     // unterminated
  CHECK(fwd_error("<\"a\"b@x>") == errc::bad_local_part);  // text after the quote
  CHECK(fwd_error("<\"a\x01\"@x>") == errc::bad_local_part);
  CHECK(fwd_error("<\"a\x7f\"@x>") == errc::bad_local_part);
  CHECK(fwd_error("<\"a\\\x01\"@x>") == errc::bad_local_part);  // quoted-pair of a CTL
  CHECK(fwd_error("<\"a\\\"@x>") == errc::bad_local_part);      // the pair eats the quote
  CHECK(fwd_error("<\"a\"\"b\"@x>") == errc::bad_local_part);
}

// Domain     = sub-domain *("." sub-domain)
// sub-domain = Let-dig [Ldh-str]
// Let-dig    = ALPHA / DIGIT
// Ldh-str    = *( ALPHA / DIGIT / "-" ) Let-dig
TEST_CASE("path: Domain, sub-domain, Let-dig, Ldh-str") {
  CHECK(host("foo.com").ok);
  CHECK(host("a").ok);
  CHECK(host("3com.com").ok);
  CHECK(host("a-b.c--d.e").ok);
  CHECK(host("xn--bcher-kva.example").ok);
  CHECK(host("EXAMPLE.COM").domain == "EXAMPLE.COM");
  CHECK(host("").error == errc::bad_domain);
  CHECK(host("-a.com").error == errc::bad_domain);
  CHECK(host("a-.com").error == errc::bad_domain);
  CHECK(host("a.-b").error == errc::bad_domain);
  CHECK(host("a..b").error == errc::bad_domain);
  CHECK(host(".a").error == errc::bad_domain);
  CHECK(host("a.").error == errc::bad_domain);  // no trailing root dot in SMTP
  CHECK(host("a_b.com").error == errc::bad_domain);
  CHECK(host("a b").error == errc::bad_domain);
  CHECK(host("a.com ").error == errc::bad_domain);
  CHECK(fwd_error("<a@-b>") == errc::bad_domain);
  CHECK(fwd_error("<a@b->") == errc::bad_domain);
  CHECK(fwd_error("<a@b..c>") == errc::bad_domain);
  CHECK(fwd_error("<a@b_c>") == errc::bad_domain);
  CHECK(fwd_error("<a@>") == errc::bad_domain);
  // Labels are at most 63 octets (RFC 1035 2.3.4).
  CHECK(host(repeat('a', 63) + ".com").ok);
  CHECK(host(repeat('a', 64) + ".com").error == errc::bad_domain);
  CHECK(fwd(("<x@" + repeat('a', 63) + ">")).ok);
  CHECK(fwd_error("<x@" + repeat('a', 64) + ">") == errc::bad_domain);
}

// address-literal       = "[" ( IPv4-address-literal / IPv6-address-literal /
//                               General-address-literal ) "]"
// IPv4-address-literal  = Snum 3("."  Snum)
// Snum                  = 1*3DIGIT  ; representing a decimal integer value in the range 0-255
TEST_CASE("path: IPv4 address literals") {
  parsed p = fwd("<user@[192.0.2.1]>");
  REQUIRE(p.ok);
  CHECK(p.domain == "[192.0.2.1]");
  CHECK(p.kind == host_kind::ipv4);
  for (std::string_view good : {"[0.0.0.0]", "[255.255.255.255]", "[01.002.3.4]", "[1.2.3.4]"}) {
    INFO(good);
    CHECK(host(good).kind == host_kind::ipv4);
  }
  for (std::string_view bad :
       {"[256.1.1.1]", "[1.2.3]", "[1.2.3.4.5]", "[1.2.3.]", "[.1.2.3]", "[1..2.3]", "[0001.2.3.4]",
        "[1.2.3.4 ]", "[]", "[1.2.3.4", "[a.b.c.d]", "[-1.2.3.4]"}) {
    INFO(bad);
    CHECK(host(bad).error == errc::bad_address_literal);
  }
  CHECK(host("[1.2.3.4]x").error == errc::bad_address_literal);
  smtpkit_test::guarded_copy g("[192.0.2.1]");
  const auto h = smtpkit::parse_host(g.view());
  REQUIRE(h);
  CHECK(h->address() == "192.0.2.1");
  CHECK(h->is_address_literal());
}

// IPv6-address-literal = "IPv6:" IPv6-addr
// IPv6-addr    = IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp
// IPv6-hex     = 1*4HEXDIG
// IPv6-full    = IPv6-hex 7(":" IPv6-hex)
// IPv6-comp    = [IPv6-hex *5(":" IPv6-hex)] "::" [IPv6-hex *5(":" IPv6-hex)]
//                ; The "::" represents at least 2 16-bit groups of zeros. No more than 6
//                ; groups in addition to the "::" may be present.
// IPv6v4-full  = IPv6-hex 5(":" IPv6-hex) ":" IPv4-address-literal
// IPv6v4-comp  = [IPv6-hex *3(":" IPv6-hex)] "::" [IPv6-hex *3(":" IPv6-hex) ":"]
//                IPv4-address-literal
//                ; The "::" represents at least 2 16-bit groups of zeros. No more than 4
//                ; groups in addition to the "::" and IPv4-address-literal may be present.
TEST_CASE("path: IPv6 address literals, all four forms") {
  for (std::string_view good : {
           "[IPv6:2001:db8:0:0:0:0:0:1]",  // IPv6-full
           "[IPv6:2001:DB8:ABCD:EF01:2345:6789:ABCD:EF01]", "[IPv6:2001:db8::1]", "[IPv6:::1]",
           "[IPv6:::]", "[IPv6:1::]",  // IPv6-comp
           "[IPv6:1:2:3:4:5:6::]", "[IPv6:::1:2:3:4:5:6]", "[IPv6:1:2:3::4:5:6]",
           "[IPv6:0:0:0:0:0:ffff:192.0.2.1]",                // IPv6v4-full
           "[IPv6:::ffff:192.0.2.1]", "[IPv6:::192.0.2.1]",  // IPv6v4-comp
           "[IPv6:1:2:3:4::192.0.2.1]", "[IPv6:1:2::3:4:192.0.2.1]", "[ipv6:::1]",
           "[IPV6:::1]",  // ABNF strings are case-insensitive
       }) {
    INFO(good);
    const parsed p = host(good);
    CHECK(p.ok);
    CHECK(p.kind == host_kind::ipv6);
  }
  for (std::string_view bad : {
           "[IPv6:1:2:3:4:5:6:7]",      // 7 groups, no "::"
           "[IPv6:1:2:3:4:5:6:7:8:9]",  // 9 groups
           "[IPv6:1:2:3:4:5:6:7::]",    // 7 groups besides "::" (RFC 5321 allows 6)
           "[IPv6:1::2::3]",
           "[IPv6::::]",
           "[IPv6::1]",
           "[IPv6:1:]",
           "[IPv6:]",
           "[IPv6:12345::]",
           "[IPv6:g::1]",
           "[IPv6:1:2:3:4:5::1.2.3.4]",  // 5 groups with v4
           "[IPv6:1:2:3:4:5:1.2.3.4]",   // v4-full needs 6 groups
           "[IPv6:::1.2.3.256]",
           "[IPv6:::1.2.3.4:5]",
           "[IPv6:1.2.3.4]",
       }) {
    INFO(bad);
    CHECK(host(bad).error == errc::bad_address_literal);
  }
  smtpkit_test::guarded_copy g("[IPv6:2001:db8::1]");
  const auto h = smtpkit::parse_host(g.view());
  REQUIRE(h);
  CHECK(h->address() == "2001:db8::1");
}

// General-address-literal = Standardized-tag ":" 1*dcontent
// Standardized-tag        = Ldh-str
// dcontent                = %d33-90 / %d94-126
TEST_CASE("path: General address literals") {
  parsed p = host("[x-tag:some:content!]");
  REQUIRE(p.ok);
  CHECK(p.kind == host_kind::general);
  CHECK(fwd("<a@[tag:c]>").kind == host_kind::general);
  for (std::string_view bad :
       {"[tag-:x]", "[-:x]", "[:x]", "[tag:]", "[t_g:x]", "[tag:a b]", "[tag:a\\b]", "[tag:a[b]"}) {
    INFO(bad);
    CHECK(host(bad).error == errc::bad_address_literal);
  }
  smtpkit_test::guarded_copy g("[x-tag:content]");
  const auto h = smtpkit::parse_host(g.view());
  REQUIRE(h);
  CHECK(h->address() == "x-tag:content");
}

// RFC 6531 3.3: sub-domain =/ U-label; atext =/ UTF8-non-ascii; qtextSMTP =/ UTF8-non-ascii
TEST_CASE("path: UTF-8 addresses (RFC 6531) are validated and flagged") {
  parsed p = fwd("<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a>");
  REQUIRE(p.ok);
  CHECK(p.utf8);
  CHECK(fwd("<jos\xc3\xa9@example.com>").utf8);
  CHECK(fwd("<a@b\xc3\xbc"
            "cher.example>")
            .utf8);
  CHECK(fwd("<\"\xc3\xa9 x\"@example.com>").utf8);
  CHECK(fwd("<\xf0\x9f\x98\x80@example.com>").utf8);  // 4-octet form
  CHECK_FALSE(fwd("<a@b.example>").utf8);
  CHECK(host("b\xc3\xbc"
             "cher.example")
            .utf8);
  for (std::string_view bad : {
           "<\xc0\xaf@x>",          // overlong "/"
           "<\xe0\x80\xaf@x>",      // overlong, 3 octets
           "<\xed\xa0\x80@x>",      // a surrogate
           "<\xf4\x90\x80\x80@x>",  // above U+10FFFF
           "<\xe2\x82@x>",          // truncated
           "<\x80@x>",              // a lone continuation octet
           "<\xff@x>",
           "<a@b\xc3>",
           "<\"\xc3\"@x>",
       }) {
    INFO(bad);
    CHECK(fwd_error(bad) == errc::bad_utf8);
  }
  CHECK(host("-\xc3\xbc").error == errc::bad_domain);  // U-label hyphen rules
  CHECK(host("\xc3\xbc-").error == errc::bad_domain);
}

TEST_CASE("path: limits, each with its own error") {
  // Local-part: 64 octets (RFC 5321 4.5.3.1.1).
  CHECK(fwd("<" + repeat('l', 64) + "@x>").ok);
  CHECK(fwd_error("<" + repeat('l', 65) + "@x>") == errc::local_part_too_long);
  CHECK(fwd_error("<\"" + repeat('l', 63) + "\"@x>") == errc::local_part_too_long);  // as sent
  // Domain: 255 octets (4.5.3.1.2); the path limit is raised to see the domain limit alone.
  smtpkit::limits wide;
  wide.path = 1000;
  CHECK(fwd("<a@" + domain_of(255) + ">", wide).ok);
  CHECK(fwd_error("<a@" + domain_of(256) + ">", wide) == errc::domain_too_long);
  CHECK(host(domain_of(255)).ok);
  CHECK(host(domain_of(256)).error == errc::domain_too_long);
  // Path: 256 octets with the angle brackets (4.5.3.1.3).
  const std::string local = repeat('l', 64);
  CHECK(fwd("<" + local + "@" + domain_of(189) + ">").ok);  // 256
  CHECK(fwd_error("<" + local + "@" + domain_of(190) + ">") == errc::path_too_long);
  CHECK(rev("<" + local + "@" + domain_of(189) + ">").ok);
  CHECK(rev("<" + local + "@" + domain_of(190) + ">").error == errc::path_too_long);
  // A source route counts towards the path.
  CHECK(fwd_error("<@" + domain_of(60) + ":" + local + "@" + domain_of(150) + ">") ==
        errc::path_too_long);
  // Smaller limits apply too.
  smtpkit::limits tight;
  tight.local_part = 3;
  tight.domain = 5;
  tight.path = 12;
  CHECK(fwd("<abc@d.com>", tight).ok);
  CHECK(fwd_error("<abcd@d.com>", tight) == errc::local_part_too_long);
  CHECK(fwd_error("<abc@dd.com>", tight) == errc::domain_too_long);
  tight.domain = 50;
  CHECK(fwd("<abc@dd.com>", tight).ok);  // 12 octets: at the limit
  tight.path = 11;
  CHECK(fwd_error("<abc@dd.com>", tight) == errc::path_too_long);
}

TEST_CASE("path: parse_mailbox and make_mailbox") {
  smtpkit_test::guarded_copy g("john.smith@example.com");
  auto m = smtpkit::parse_mailbox(g.view());
  REQUIRE(m);
  CHECK(m->local_part() == "john.smith");
  CHECK(m->domain() == "example.com");
  CHECK(m->size() == 22);
  smtpkit_test::guarded_copy g2("a@b ");
  CHECK(smtpkit::parse_mailbox(g2.view()).error() == errc::bad_domain);
  smtpkit_test::guarded_copy g3("<a@b>");
  CHECK(smtpkit::parse_mailbox(g3.view()).error() == errc::bad_local_part);
  smtpkit_test::guarded_copy g4("a");
  CHECK(smtpkit::parse_mailbox(g4.view()).error() == errc::bad_path);
  const std::string long_box = repeat('l', 64) + "@" + domain_of(190);  // "<" + it + ">" = 257
  CHECK(smtpkit::parse_mailbox(long_box).error() == errc::path_too_long);

  m = smtpkit::make_mailbox("john.smith", "example.com");
  REQUIRE(m);
  CHECK(m->local_part() == "john.smith");
  CHECK_FALSE(m->quoted());
  m = smtpkit::make_mailbox("\"john smith\"", "[192.0.2.1]");
  REQUIRE(m);
  CHECK(m->quoted());
  CHECK(m->domain_kind() == host_kind::ipv4);
  CHECK(smtpkit::make_mailbox("john smith", "example.com").error() == errc::bad_local_part);
  CHECK(smtpkit::make_mailbox("", "example.com").error() == errc::bad_local_part);
  CHECK(smtpkit::make_mailbox("a", "").error() == errc::bad_domain);
  CHECK(smtpkit::make_mailbox("a", "b..c").error() == errc::bad_domain);
  CHECK(smtpkit::make_mailbox("a", "[1.2.3]").error() == errc::bad_address_literal);
  CHECK(smtpkit::make_mailbox("a\r\nRCPT TO:<x@y>", "b").error() == errc::bad_local_part);
  CHECK(smtpkit::make_mailbox("a", "b\r\n").error() == errc::bad_domain);
  CHECK(smtpkit::make_mailbox(repeat('l', 65), "b").error() == errc::local_part_too_long);
  CHECK(smtpkit::make_mailbox("a", domain_of(256)).error() == errc::domain_too_long);
  CHECK(smtpkit::make_mailbox(repeat('l', 64), domain_of(190)).error() == errc::path_too_long);
  CHECK(smtpkit::make_mailbox("\xc3\xa9", "x")->utf8());
}

TEST_CASE("path: quote_local_part and unquote_local_part") {
  char buf[128];
  auto quote = [&](std::string_view text) {
    smtpkit::byte_writer w(buf, sizeof buf);
    REQUIRE(ok(smtpkit::quote_local_part(text, w)));
    return std::string(w.view());
  };
  auto unquote = [&](std::string_view wire) {
    smtpkit::byte_writer w(buf, sizeof buf);
    REQUIRE(ok(smtpkit::unquote_local_part(wire, w)));
    return std::string(w.view());
  };
  CHECK(quote("john.smith") == "john.smith");  // a Dot-string stays as it is (RFC 5321 4.1.2)
  CHECK(quote("john smith") == "\"john smith\"");
  CHECK(quote("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(quote("") == "\"\"");
  CHECK(quote(".a") == "\".a\"");
  CHECK(quote("jos\xc3\xa9") == "jos\xc3\xa9");
  CHECK(unquote("\"a\\\"b\"") == "a\"b");
  CHECK(unquote("x.y") == "x.y");
  CHECK(unquote("\"\"") == "");
  for (std::string_view text : {"john smith", "a\"b\\c", "", "@", "..", "x y z", "a@b.c"}) {
    INFO(text);
    const std::string wire = quote(text);
    CHECK(smtpkit::make_mailbox(wire, "example.com"));
    CHECK(unquote(wire) == text);
  }
  smtpkit::byte_writer w(buf, sizeof buf);
  CHECK(smtpkit::quote_local_part("a\x01", w).value() == static_cast<int>(errc::invalid_argument));
  CHECK(smtpkit::quote_local_part("a\r\nb", w).value() == static_cast<int>(errc::invalid_argument));
  CHECK(smtpkit::quote_local_part("\xff", w).value() == static_cast<int>(errc::invalid_argument));
  CHECK(smtpkit::unquote_local_part("a..b", w).value() == static_cast<int>(errc::invalid_argument));
  CHECK(w.size() == 0);
  char two[2];
  smtpkit::byte_writer small(two, sizeof two);
  CHECK(smtpkit::quote_local_part("a b", small).value() == static_cast<int>(errc::output_full));
  CHECK(smtpkit::unquote_local_part("\"abc\"", small).value() ==
        static_cast<int>(errc::output_full));
  CHECK(small.size() == 0);
}

TEST_CASE("path: equality compares the wire forms") {
  smtpkit_test::guarded_copy a("<a@b.example>");
  smtpkit_test::guarded_copy b("<a@b.example>");
  smtpkit_test::guarded_copy c("<A@b.example>");
  const auto pa = smtpkit::parse_reverse_path(a.view());
  const auto pb = smtpkit::parse_reverse_path(b.view());
  const auto pc = smtpkit::parse_reverse_path(c.view());
  REQUIRE(pa);
  REQUIRE(pb);
  REQUIRE(pc);
  CHECK(*pa == *pb);
  CHECK(*pa != *pc);  // local-parts are case-sensitive
  CHECK(smtpkit::reverse_path() != *pa);
  CHECK(smtpkit::reverse_path().is_null());
  CHECK(smtpkit::reverse_path(pa->address()) == *pa);
  const auto made = smtpkit::make_mailbox("a", "b.example");
  REQUIRE(made);
  CHECK(*made == pa->address());
  CHECK(smtpkit::forward_path(*made).address() == *made);
  CHECK_FALSE(smtpkit::forward_path(*made).is_postmaster());
}

namespace {

// Classifies 16 octets with the SIMD code (if built) and with the table, and compares.
template <smtpkit::detail::window_kind K>
void check_classify(const char* q, const char* begin, const char* end) {
  namespace d = smtpkit::detail;
  const d::chunk a = d::classify16<K>(q, begin, end);
  const d::chunk b = d::classify16_table<K>(q, static_cast<std::size_t>(end - q));
  CHECK(a.m0 == b.m0);
  CHECK(a.m1 == b.m1);
  CHECK(a.m2 == b.m2);
  CHECK(a.m3 == b.m3);
  CHECK(a.m4 == b.m4);
  CHECK(a.m5 == b.m5);
}

template <smtpkit::detail::window_kind K>
void check_all_octets() {
  std::vector<char> buf(64, 'a');
  for (int c = 0; c < 256; ++c) {
    for (std::size_t at = 0; at < 16; ++at) {
      buf.assign(64, 'a');
      buf[16 + at] = static_cast<char>(c);
      const char* const base = buf.data();
      // A whole chunk, a tail that can load backwards, and a tail that must copy.
      check_classify<K>(base + 16, base, base + 64);
      check_classify<K>(base + 16, base, base + 16 + at + 1);
      check_classify<K>(base + 16, base + 16, base + 16 + at + 1);
    }
  }
}

}  // namespace

TEST_CASE("path: the window classes agree with the table for every octet and lane") {
  namespace d = smtpkit::detail;
  check_all_octets<d::window_kind::domain>();
  check_all_octets<d::window_kind::local>();
  check_all_octets<d::window_kind::path>();
  check_all_octets<d::window_kind::param>();
}

TEST_CASE("path: the fast paths decide exactly as the scalar grammar (random inputs)") {
  namespace d = smtpkit::detail;
  const std::string_view pieces[] = {
      "a",    "Z",     "0",     "9",       ".",          "-",    "_",    "+",
      "@",    "<",     ">",     "\"",      "\\",         "[",    "]",    ":",
      ",",    " ",     "!",     "~",       "\xc3\xa9",   "\xff", "\x01", "example",
      ".com", "xn--x", "IPv6:", "1.2.3.4", "postmaster", "@a,",  "@b:",  std::string_view("\0", 1)};
  std::mt19937 rng(5321);
  smtpkit::limits lim;
  int accepted = 0;
  for (int iter = 0; iter < 30000; ++iter) {
    std::string s;
    if (rng() % 4 != 0) s = "<";
    const int n = static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) s += pieces[rng() % (sizeof pieces / sizeof pieces[0])];
    if (rng() % 4 != 0) s += ">";
    if (rng() % 3 == 0) s += " SIZE=1";
    smtpkit_test::guarded_copy g(s);
    const char* const b = g.view().data();
    const char* const e = b + g.view().size();
    INFO(s);
    for (d::path_mode mode : {d::path_mode::reverse, d::path_mode::forward}) {
      if (b == e) break;
      const char* p1 = b;
      const char* p2 = b;
      smtpkit::mailbox m1;
      smtpkit::mailbox m2;
      const errc e1 = d::scan_path(p1, b, e, lim, mode, m1, true);
      const errc e2 = d::scan_path(p2, b, e, lim, mode, m2, false);
      REQUIRE(e1 == e2);
      if (e1 == d::no_error) {
        ++accepted;
        CHECK(p1 == p2);
        CHECK(m1 == m2);
        CHECK(m1.quoted() == m2.quoted());
        CHECK(m1.utf8() == m2.utf8());
        CHECK(m1.domain_kind() == m2.domain_kind());
      }
    }
    const char* p1 = b;
    const char* p2 = b;
    bool u1 = false;
    bool u2 = false;
    errc e1 = d::scan_domain_name(p1, b, e, true, u1, true);
    errc e2 = d::scan_domain_name(p2, b, e, true, u2, false);
    REQUIRE(e1 == e2);
    if (e1 == d::no_error) CHECK((p1 == p2 && u1 == u2));
    p1 = p2 = b;
    u1 = u2 = false;
    e1 = d::scan_dot_string(p1, b, e, u1, true);
    e2 = d::scan_dot_string(p2, b, e, u2, false);
    REQUIRE(e1 == e2);
    if (e1 == d::no_error) CHECK((p1 == p2 && u1 == u2));
  }
  CHECK(accepted > 100);  // the generator reaches the accepting paths
}

TEST_CASE("path: parsing allocates nothing") {
  const std::string in[] = {"<alice@a.b.c.example.info>", "<\"x y\"@[IPv6:::1]>", "<>", "<@a:b@c>",
                            "<Postmaster>"};
  smtpkit_test::alloc_scope scope;
  for (const std::string& s : in) {
    const auto r = smtpkit::parse_forward_path(s);
    const auto q = smtpkit::parse_reverse_path(s);
    CHECK((r.has_value() || q.has_value()));
  }
  CHECK(smtpkit::parse_host("mail.example.com"));
  CHECK(smtpkit::make_mailbox("a", "b"));
  CHECK(scope.count() == 0);
}
