// Tests for smtpkit/codec/ehlo.hpp: the EHLO reply into capabilities (fed through the reply
// reader whole, split at every point and byte by byte) and the EHLO reply writer.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cstdio>
#include <smtpkit/codec/ehlo.hpp>
#include <string>
#include <vector>

#include "alloc_counter.hpp"
#include "guard_page.hpp"
#include "split.hpp"

using smtpkit::auth_mechanism;
using smtpkit::ehlo_extension;
using smtpkit::errc;

namespace {

/// Capabilities copied out of their views.
struct caps_copy {
  std::string domain, greeting, auth_params, legacy_auth_params;
  std::uint32_t extensions = 0;
  std::uint64_t max_size = 0;
  std::uint32_t auth = 0;
  std::vector<std::string> keywords;  // "KEYWORD|params"
  std::vector<std::string> unknown;

  bool operator==(const caps_copy& o) const {
    return domain == o.domain && greeting == o.greeting && auth_params == o.auth_params &&
           legacy_auth_params == o.legacy_auth_params && extensions == o.extensions &&
           max_size == o.max_size && auth == o.auth && keywords == o.keywords &&
           unknown == o.unknown;
  }
};

caps_copy copy_of(const smtpkit::ehlo_capabilities& c) {
  caps_copy o;
  o.domain = std::string(c.domain);
  o.greeting = std::string(c.greeting);
  o.auth_params = std::string(c.auth_params);
  o.legacy_auth_params = std::string(c.legacy_auth_params);
  o.extensions = c.extensions;
  o.max_size = c.max_size;
  o.auth = c.auth;
  for (const auto& k : c.keywords())
    o.keywords.push_back(std::string(k.keyword) + "|" + std::string(k.params));
  for (const auto& k : c.unknown_keywords()) o.unknown.emplace_back(k.keyword);
  return o;
}

/// The outcome of reading one EHLO reply and parsing its capabilities.
struct ehlo_outcome {
  bool ok = false;
  errc error{};
  caps_copy caps;
  bool operator==(const ehlo_outcome& o) const {
    return ok == o.ok && error == o.error && (!ok || caps == o.caps);
  }
};

/// Reads @p input with reply_reader (every split, each chunk against a guard page) and parses
/// the reply as EHLO capabilities. Every split must give the same outcome.
ehlo_outcome parse_all(std::string_view input) {
  ehlo_outcome whole;
  bool first = true;
  smtpkit_test::for_each_split(input, [&](const smtpkit_test::split_case& c) {
    INFO(c.name);
    smtpkit::reply_reader rd;
    std::string pending;
    ehlo_outcome o;
    bool done = false;
    for (std::string_view chunk : c.chunks) {
      pending.append(chunk.data(), chunk.size());
      const smtpkit_test::guarded_copy g(pending);
      const auto r = rd.read(g.view());
      if (r.status == smtpkit::reply_status::need_more) continue;
      REQUIRE(r.status == smtpkit::reply_status::reply);
      CHECK(r.consumed == input.size());
      const auto caps = smtpkit::parse_ehlo_reply(r.value);
      o.ok = caps.has_value();
      if (caps) {
        o.caps = copy_of(*caps);
      } else {
        o.error = caps.error();
      }
      done = true;
      break;
    }
    REQUIRE(done);
    if (first) {
      whole = o;
      first = false;
    } else {
      CHECK(o == whole);
    }
  });
  return whole;
}

caps_copy caps_of(std::string_view input) {
  const ehlo_outcome o = parse_all(input);
  REQUIRE(o.ok);
  return o.caps;
}

errc error_of(std::string_view input) {
  const ehlo_outcome o = parse_all(input);
  REQUIRE_FALSE(o.ok);
  return o.error;
}

std::uint32_t bit(ehlo_extension e) {
  return static_cast<std::uint32_t>(e);
}
std::uint32_t bit(auth_mechanism m) {
  return static_cast<std::uint32_t>(m);
}

}  // namespace

// RFC 5321 4.1.1.1:
//   ehlo-ok-rsp    = ( "250" SP Domain [ SP ehlo-greet ] CRLF )
//                    / ( "250-" Domain [ SP ehlo-greet ] CRLF
//                    *( "250-" ehlo-line CRLF )
//                    "250" SP ehlo-line CRLF )
//   ehlo-greet     = 1*(%d0-9 / %d11-12 / %d14-127)
//   ehlo-line      = ehlo-keyword *( SP ehlo-param )
//   ehlo-keyword   = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
//   ehlo-param     = 1*(%d33-126)
TEST_CASE("ehlo-ok-rsp: the RFC 5321 D.1 example") {
  const caps_copy c = caps_of(
      "250-foo.com greets bar.com\r\n"
      "250-8BITMIME\r\n"
      "250-SIZE\r\n"
      "250-DSN\r\n"
      "250 HELP\r\n");
  CHECK(c.domain == "foo.com");
  CHECK(c.greeting == "greets bar.com");
  CHECK(c.extensions ==
        (ehlo_extension::eight_bit_mime | ehlo_extension::size | ehlo_extension::dsn));
  CHECK(c.max_size == 0);  // SIZE without a number: no fixed limit
  CHECK(c.unknown == std::vector<std::string>{"HELP"});
  CHECK(c.keywords == std::vector<std::string>{"8BITMIME|", "SIZE|", "DSN|", "HELP|"});
}

TEST_CASE("ehlo-ok-rsp: a single line, with and without greeting") {
  const caps_copy a = caps_of("250 mx.example.net\r\n");
  CHECK(a.domain == "mx.example.net");
  CHECK(a.greeting.empty());
  CHECK(a.extensions == 0);
  CHECK(a.keywords.empty());
  const caps_copy b = caps_of("250 mx.example.net Hello client.example.org [192.0.2.1]\r\n");
  CHECK(b.domain == "mx.example.net");
  CHECK(b.greeting == "Hello client.example.org [192.0.2.1]");
  // An address literal for a server without a name.
  CHECK(caps_of("250 [192.0.2.25]\r\n").domain == "[192.0.2.25]");
  CHECK(caps_of("250 [IPv6:2001:db8::1] hi\r\n").domain == "[IPv6:2001:db8::1]");
}

TEST_CASE("every known keyword sets its bit, in any case") {
  const caps_copy c = caps_of(
      "250-mx.example.net\r\n"
      "250-PIPELINING\r\n"
      "250-size 52428800\r\n"
      "250-8bitmime\r\n"
      "250-StartTLS\r\n"
      "250-AUTH PLAIN\r\n"
      "250-CHUNKING\r\n"
      "250-BINARYMIME\r\n"
      "250-SMTPUTF8\r\n"
      "250-DSN\r\n"
      "250-EnhancedStatusCodes\r\n"
      "250 REQUIRETLS\r\n");
  CHECK(c.extensions == smtpkit::all_ehlo_extensions);
  CHECK(c.max_size == 52428800);
  CHECK(c.unknown.empty());
  for (std::uint32_t b = 1; b <= smtpkit::all_ehlo_extensions; b <<= 1) {
    const auto e = static_cast<ehlo_extension>(b);
    INFO(std::string(smtpkit::keyword_name(e)));
    CHECK(smtpkit::find_extension(smtpkit::keyword_name(e)) == e);
  }
  CHECK(smtpkit::find_extension("HELP") == ehlo_extension{});
  CHECK(smtpkit::find_extension("") == ehlo_extension{});
  CHECK(smtpkit::find_extension("PIPELININGX") == ehlo_extension{});
  CHECK(smtpkit::keyword_name(static_cast<ehlo_extension>(1u << 20)).empty());
}

TEST_CASE("the corpus EHLO reply (bench/corpus/ehlo_reply.smtp)") {
  const std::string path = std::string(SMTPKIT_TEST_CORPUS_DIR) + "/ehlo_reply.smtp";
  std::FILE* f = std::fopen(path.c_str(), "rb");
  REQUIRE(f != nullptr);
  char buf[4096];
  const std::size_t n = std::fread(buf, 1, sizeof buf, f);
  std::fclose(f);
  const caps_copy c = caps_of(std::string_view(buf, n));
  CHECK_FALSE(c.domain.empty());
  CHECK((c.extensions & bit(ehlo_extension::pipelining)) != 0);
}

// RFC 1870 4:  size-param ::= [SP 1*DIGIT]; 0 (or no number) means no fixed maximum.
TEST_CASE("SIZE: with a number, without one, and 0") {
  CHECK(caps_of("250-a.b\r\n250 SIZE 10240000\r\n").max_size == 10240000);
  CHECK(caps_of("250-a.b\r\n250 SIZE\r\n").max_size == 0);
  CHECK(caps_of("250-a.b\r\n250 SIZE 0\r\n").max_size == 0);
  CHECK(caps_of("250-a.b\r\n250 SIZE 18446744073709551615\r\n").max_size ==
        18446744073709551615ull);
  CHECK(error_of("250-a.b\r\n250 SIZE 18446744073709551616\r\n") == errc::bad_number);
  CHECK(error_of("250-a.b\r\n250 SIZE 10M\r\n") == errc::bad_number);
  CHECK(error_of("250-a.b\r\n250 SIZE -1\r\n") == errc::bad_number);
  CHECK(error_of("250-a.b\r\n250 SIZE 1 2\r\n") == errc::bad_number);
  CHECK(error_of("250-a.b\r\n250 SIZE 000000000000000000001\r\n") == errc::bad_number);
}

// RFC 4954 3: "AUTH" SP mechanism list; the legacy "AUTH=" form is merged.
TEST_CASE("AUTH: known mechanisms as bits, unknown ones kept, AUTH= merged") {
  const caps_copy c = caps_of(
      "250-mx.example.net\r\n"
      "250-AUTH PLAIN LOGIN GSSAPI XOAUTH2\r\n"
      "250 AUTH=LOGIN CRAM-MD5 NTLM\r\n");
  CHECK((c.extensions & bit(ehlo_extension::auth)) != 0);
  CHECK(c.auth == (auth_mechanism::plain | auth_mechanism::login | auth_mechanism::xoauth2 |
                   auth_mechanism::cram_md5));
  CHECK(c.auth_params == "PLAIN LOGIN GSSAPI XOAUTH2");
  CHECK(c.legacy_auth_params == "LOGIN CRAM-MD5 NTLM");
  CHECK(c.keywords ==
        std::vector<std::string>{"AUTH|PLAIN LOGIN GSSAPI XOAUTH2", "AUTH|LOGIN CRAM-MD5 NTLM"});
  CHECK(c.unknown.empty());

  const auto caps = smtpkit::parse_ehlo_reply(
      "250-mx.example.net\r\n250-AUTH oauthbearer scram-sha-256 GSSAPI\r\n250 AUTH=NTLM\r\n");
  REQUIRE(caps.has_value());
  CHECK(caps->has(auth_mechanism::oauthbearer));
  CHECK(caps->has(auth_mechanism::scram_sha_256));
  CHECK_FALSE(caps->has(auth_mechanism::plain));
  CHECK(caps->has_mechanism("gssapi"));
  CHECK(caps->has_mechanism("NTLM"));
  CHECK_FALSE(caps->has_mechanism("KERBEROS_V4"));
  CHECK(caps->has(ehlo_extension::auth));
  CHECK_FALSE(caps->has(ehlo_extension::starttls));
  for (const auto& k : caps->keywords()) {
    CHECK(k.known == ehlo_extension::auth);
    CHECK(k.keyword == "AUTH");
  }
  // Only the legacy form.
  const caps_copy l = caps_of("250-x.y\r\n250 AUTH=LOGIN PLAIN\r\n");
  CHECK(l.auth == (auth_mechanism::plain | auth_mechanism::login));
  CHECK(l.auth_params.empty());
  // "AUTH" SP sasl-mech *(SP sasl-mech) (RFC 4954 3): at least one mechanism. "AUTH=" alone
  // and "AUTH" alone offer nothing: no AUTH bit, kept as unknown keywords, and no error.
  for (std::string_view in : {"250-x.y\r\n250 AUTH=\r\n", "250-x.y\r\n250 AUTH\r\n",
                              "250-x.y\r\n250-AUTH\r\n250 AUTH=\r\n"}) {
    INFO(in);
    const caps_copy e = caps_of(in);
    CHECK(e.auth == 0);
    CHECK(e.extensions == 0);
    CHECK(e.auth_params.empty());
    CHECK(e.legacy_auth_params.empty());
    CHECK(e.unknown == std::vector<std::string>(e.keywords.size(), "AUTH"));
  }
  // An empty "AUTH" line beside a real one: the real one counts.
  const caps_copy mixed = caps_of("250-x.y\r\n250-AUTH\r\n250 AUTH=LOGIN\r\n");
  CHECK(mixed.extensions == bit(ehlo_extension::auth));
  CHECK(mixed.auth == bit(auth_mechanism::login));
  CHECK(mixed.unknown == std::vector<std::string>{"AUTH"});

  for (std::uint32_t b = 1; b <= smtpkit::all_auth_mechanisms; b <<= 1) {
    const auto m = static_cast<auth_mechanism>(b);
    CHECK(smtpkit::find_mechanism(smtpkit::mechanism_name(m)) == m);
  }
  CHECK(smtpkit::find_mechanism("GSSAPI") == auth_mechanism{});
  CHECK(smtpkit::mechanism_name(static_cast<auth_mechanism>(1u << 20)).empty());
}

TEST_CASE("unknown keywords are kept, in order, with their params") {
  const auto caps = smtpkit::parse_ehlo_reply(
      "250-mx.example.com Hello\r\n"
      "250-XCLIENT NAME ADDR PROTO HELO\r\n"
      "250-PIPELINING\r\n"
      "250-X-EXPS GSSAPI NTLM\r\n"
      "250-ETRN\r\n"
      "250-VRFY\r\n"
      "250 XRDST\r\n");
  REQUIRE(caps.has_value());
  std::vector<std::string> names;
  std::vector<std::string> words;
  for (const auto& k : caps->unknown_keywords()) {
    names.emplace_back(k.keyword);
    CHECK(k.known == ehlo_extension{});
    CHECK_FALSE(k.legacy_auth);
    for (std::string_view w : k.words()) words.emplace_back(w);
  }
  CHECK(names == std::vector<std::string>{"XCLIENT", "X-EXPS", "ETRN", "VRFY", "XRDST"});
  CHECK(words == std::vector<std::string>{"NAME", "ADDR", "PROTO", "HELO", "GSSAPI", "NTLM"});
  std::size_t all = 0;
  for (const auto& k : caps->keywords()) all += k.keyword.empty() ? 0u : 1u;
  CHECK(all == 6);
  auto it = caps->keywords().begin();
  CHECK(it->keyword == "XCLIENT");
  auto old = it++;
  CHECK(old->keyword == "XCLIENT");
  CHECK(it->known == ehlo_extension::pipelining);
}

TEST_CASE("word_range splits on SP") {
  std::vector<std::string> w;
  for (std::string_view s : smtpkit::word_range("  a bb  ccc ")) w.emplace_back(s);
  CHECK(w == std::vector<std::string>{"a", "bb", "ccc"});
  CHECK(smtpkit::word_range("").begin() == smtpkit::word_range("").end());
  CHECK(smtpkit::word_range("   ").begin() == smtpkit::word_range("   ").end());
}

TEST_CASE("ehlo-line: malformed capability lines are refused") {
  const char* bad[] = {
      "250-a.b\r\n250 -PIPELINING\r\n",        // keyword starts with '-'
      "250-a.b\r\n250 PIPE_LINING\r\n",        // '_' is not a keyword character
      "250-a.b\r\n250 PIPELINING \r\n",        // SP with no param
      "250-a.b\r\n250 SIZE  100\r\n",          // two SPs
      "250-a.b\r\n250 X-A b\tc\r\n",           // HT in a param
      "250-a.b\r\n250 X-A caf\xc3\xa9\r\n",    // 8-bit in a param
      "250-a.b\r\n250 \r\n",                   // empty line
      "250-a.b\r\n250\r\n",                    // "250" SP ehlo-line: a keyword is needed
      "250-a.b\r\n250- X\r\n250 Y\r\n",        // leading SP
      "250-a.b\r\n250 AUTH=PLAIN  LOGIN\r\n",  // two SPs in the legacy form
      "250-a.b\r\n250 AUTH= PLAIN\r\n",        // SP after '='
      "250-a.b\r\n250 SIZE=100\r\n",           // '=' in a keyword
  };
  for (const char* in : bad) {
    INFO(std::string(in));
    CHECK(error_of(in) == errc::bad_reply);
  }
}

TEST_CASE("the first line's name is taken as given: display only, bounded in length") {
  // A server named against the Domain rule must not make a client fail its delivery.
  CHECK(caps_of("250 a_b.c\r\n").domain == "a_b.c");
  CHECK(caps_of("250 mail_gw greets you\r\n").greeting == "greets you");
  CHECK(caps_of("250 a..b\r\n").domain == "a..b");
  CHECK(caps_of("250 [1.2.3.4\r\n").domain == "[1.2.3.4");
  CHECK(caps_of("250 \r\n").domain.empty());
  CHECK(caps_of("250-\r\n250 PIPELINING\r\n").extensions == bit(ehlo_extension::pipelining));
  CHECK(caps_of("250 a-b.c-d.e\r\n").domain == "a-b.c-d.e");
  CHECK(caps_of("250 xn--bcher-kva.example\r\n").domain == "xn--bcher-kva.example");
  CHECK(caps_of("250 b\xc3\xbc"
                "cher.example\r\n")
            .domain ==
        "b\xc3\xbc"
        "cher.example");
  CHECK(caps_of("250 localhost\r\n").domain == "localhost");
  // 255 octets is the most (RFC 5321 4.5.3.1.2).
  std::string d;
  while (d.size() < 255) d += "abcdefghi.";
  d.resize(255);
  if (d.back() == '.') d.back() = 'x';
  CHECK(caps_of("250 " + d + "\r\n").domain == d);
  CHECK(error_of("250 " + d + "x\r\n") == errc::domain_too_long);
}

TEST_CASE("only a 250 reply is an EHLO reply") {
  CHECK(error_of("550 5.7.1 go away\r\n") == errc::bad_reply_code);
  CHECK(error_of("502 5.5.1 EHLO not implemented\r\n") == errc::bad_reply_code);
  CHECK(error_of("251 a.b\r\n") == errc::bad_reply_code);
  const auto bytes = smtpkit::parse_ehlo_reply("250-a.b\r\n250 X\n");
  REQUIRE_FALSE(bytes.has_value());
  CHECK(bytes.error() == errc::bare_lf);
  CHECK(smtpkit::parse_ehlo_reply("250-a.b\r\n").error() == errc::incomplete);
}

TEST_CASE("capabilities are views into the reply") {
  const std::string in = "250-mx.example.net hi\r\n250-AUTH PLAIN\r\n250 X-Y z\r\n";
  const auto caps = smtpkit::parse_ehlo_reply(in);
  REQUIRE(caps.has_value());
  CHECK(caps->domain.data() == in.data() + 4);
  CHECK(caps->raw.data() == in.data());
  CHECK(caps->raw.size() == in.size());
  CHECK(caps->auth_params.data() == in.data() + 32);
}

TEST_CASE("parsing an EHLO reply allocates nothing") {
  const std::string in =
      "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-AUTH PLAIN LOGIN\r\n"
      "250-X-FOO bar\r\n250 CHUNKING\r\n";
  smtpkit_test::alloc_scope allocs;
  const auto caps = smtpkit::parse_ehlo_reply(in);
  std::size_t unknown = 0;
  for (const auto& k : caps->unknown_keywords()) unknown += k.keyword.size();
  const bool gssapi = caps->has_mechanism("GSSAPI");
  const std::size_t count = allocs.count();
  CHECK(count == 0);
  CHECK(unknown == 5);
  CHECK_FALSE(gssapi);
}

// ---------------------------------------------------------------------------------------------
// write_ehlo_reply

namespace {
std::string written(const smtpkit::ehlo_config& cfg, errc* err = nullptr,
                    std::size_t max_line = 512) {
  static char mem[4096];
  smtpkit::byte_writer w(mem, sizeof mem);
  const std::error_code ec = smtpkit::write_ehlo_reply(w, cfg, max_line);
  if (err) *err = ec ? static_cast<errc>(ec.value()) : errc{};
  if (ec) CHECK(w.size() == 0);
  return std::string(w.view());
}
errc write_error(const smtpkit::ehlo_config& cfg, std::size_t max_line = 512) {
  errc e{};
  written(cfg, &e, max_line);
  return e;
}
smtpkit::ehlo_config base_config() {
  smtpkit::ehlo_config cfg;
  cfg.domain = "mx.example.net";
  return cfg;
}
}  // namespace

TEST_CASE("write_ehlo_reply: the domain line alone is a single-line reply") {
  CHECK(written(base_config()) == "250 mx.example.net\r\n");
  smtpkit::ehlo_config cfg = base_config();
  cfg.greeting = "Hello client.example.org";
  CHECK(written(cfg) == "250 mx.example.net Hello client.example.org\r\n");
}

TEST_CASE("write_ehlo_reply: every extension, in a fixed order") {
  smtpkit::ehlo_config cfg = base_config();
  cfg.extensions = smtpkit::all_ehlo_extensions;
  cfg.max_size = 52428800;
  cfg.auth = auth_mechanism::plain | auth_mechanism::login;
  cfg.legacy_auth = true;
  const std::string_view extra[] = {"XCLIENT NAME ADDR", "ETRN"};
  cfg.extra = extra;
  CHECK(written(cfg) ==
        "250-mx.example.net\r\n"
        "250-PIPELINING\r\n"
        "250-SIZE 52428800\r\n"
        "250-STARTTLS\r\n"
        "250-AUTH PLAIN LOGIN\r\n"
        "250-AUTH=PLAIN LOGIN\r\n"
        "250-ENHANCEDSTATUSCODES\r\n"
        "250-8BITMIME\r\n"
        "250-BINARYMIME\r\n"
        "250-DSN\r\n"
        "250-SMTPUTF8\r\n"
        "250-CHUNKING\r\n"
        "250-REQUIRETLS\r\n"
        "250-XCLIENT NAME ADDR\r\n"
        "250 ETRN\r\n");
}

TEST_CASE("write_ehlo_reply: SIZE without a limit, every mechanism, extra mechanisms") {
  smtpkit::ehlo_config cfg = base_config();
  cfg.extensions = ehlo_extension::size | ehlo_extension::auth;
  cfg.auth = smtpkit::all_auth_mechanisms;
  cfg.other_mechanisms = "GSSAPI NTLM";
  CHECK(written(cfg) ==
        "250-mx.example.net\r\n250-SIZE\r\n"
        "250 AUTH PLAIN LOGIN XOAUTH2 OAUTHBEARER CRAM-MD5 SCRAM-SHA-256 GSSAPI NTLM\r\n");
  cfg.auth = 0;
  cfg.other_mechanisms = "GSSAPI";
  CHECK(written(cfg) == "250-mx.example.net\r\n250-SIZE\r\n250 AUTH GSSAPI\r\n");
  // sasl-mech = 1*20mech-char (RFC 4422 3.1), checked as for the AUTH command: any case.
  cfg.other_mechanisms = "gssapi X_Y-2";
  CHECK(written(cfg) == "250-mx.example.net\r\n250-SIZE\r\n250 AUTH gssapi X_Y-2\r\n");
}

TEST_CASE("write_ehlo_reply refuses what parse_ehlo_reply would refuse") {
  smtpkit::ehlo_config cfg = base_config();
  cfg.domain = "";
  CHECK(write_error(cfg) == errc::invalid_argument);
  cfg.domain = "bad domain";
  CHECK(write_error(cfg) == errc::invalid_argument);
  cfg.domain = "a..b";
  CHECK(write_error(cfg) == errc::invalid_argument);
  cfg.domain = std::string_view("a.b\r\n250 x", 11);
  CHECK(write_error(cfg) == errc::invalid_argument);
  cfg = base_config();
  cfg.greeting = "hi\r\n250-STARTTLS";
  CHECK(write_error(cfg) == errc::invalid_argument);
  cfg.greeting = std::string_view("a\0b", 3);
  CHECK(write_error(cfg) == errc::invalid_argument);

  cfg = base_config();
  cfg.extensions = 1u << 20;  // no such extension
  CHECK(write_error(cfg) == errc::invalid_argument);
  cfg.extensions = bit(ehlo_extension::auth);  // AUTH with no mechanism
  CHECK(write_error(cfg) == errc::invalid_argument);
  cfg.extensions = 0;
  cfg.auth = bit(auth_mechanism::plain);  // mechanisms without AUTH
  CHECK(write_error(cfg) == errc::invalid_argument);
  cfg.auth = 1u << 20;
  cfg.extensions = bit(ehlo_extension::auth);
  CHECK(write_error(cfg) == errc::invalid_argument);
  cfg.auth = bit(auth_mechanism::plain);
  cfg.extensions = 0;
  cfg.legacy_auth = true;
  CHECK(write_error(cfg) == errc::invalid_argument);

  cfg = base_config();
  cfg.extensions = bit(ehlo_extension::auth);
  for (const char* m : {"GSS/API", " GSSAPI", "GSSAPI ", "A  B", "PLAIN", "plain", "GSS.API",
                        "ABCDEFGHIJKLMNOPQRSTU", "X\r\nY"}) {
    INFO(std::string(m));
    cfg.other_mechanisms = m;
    CHECK(write_error(cfg) == errc::invalid_argument);
  }

  cfg = base_config();
  for (const char* line : {"", " X", "X ", "X  Y", "-X", "X_Y", "PIPELINING", "size 10",
                           "AUTH=PLAIN", "X\tY", "X\r\n250 Y"}) {
    INFO(std::string(line));
    const std::string_view extra[] = {line};
    cfg.extra = extra;
    CHECK(write_error(cfg) == errc::invalid_argument);
  }
}

TEST_CASE("write_ehlo_reply: line limit and full output") {
  smtpkit::ehlo_config cfg = base_config();
  cfg.greeting = "hello";
  CHECK(written(cfg).size() == 26);  // "250 mx.example.net hello" CRLF
  CHECK(write_error(cfg, 26) == errc{});
  CHECK(write_error(cfg, 25) == errc::line_too_long);
  const std::string longest(500, 'X');
  const std::string_view extra[] = {longest};
  cfg.extra = extra;
  CHECK(write_error(cfg, 506) == errc{});
  CHECK(write_error(cfg, 505) == errc::line_too_long);

  cfg = base_config();
  cfg.extensions = ehlo_extension::pipelining | ehlo_extension::chunking;
  char mem[40];
  smtpkit::byte_writer w(mem, sizeof mem);
  CHECK(w.append("ab"));
  const std::error_code ec = smtpkit::write_ehlo_reply(w, cfg);
  CHECK((ec == errc::output_full));
  CHECK(w.view() == "ab");
}

TEST_CASE("round trip: parse_ehlo_reply reads back what write_ehlo_reply wrote") {
  std::uint32_t seed = 7;
  auto next = [&seed](std::uint32_t n) {
    seed = seed * 1664525u + 1013904223u;
    return (seed >> 8) % n;
  };
  const char* extras[] = {"XCLIENT NAME ADDR", "ETRN", "VRFY", "X-EXPS GSSAPI NTLM", "HELP"};
  for (int iter = 0; iter < 500; ++iter) {
    smtpkit::ehlo_config cfg = base_config();
    cfg.greeting = next(2) ? "" : "greets you";
    cfg.extensions = next(smtpkit::all_ehlo_extensions + 1);
    cfg.max_size = next(3) == 0 ? 0 : next(1u << 30);
    if (cfg.extensions & bit(ehlo_extension::auth)) {
      cfg.auth = next(smtpkit::all_auth_mechanisms + 1);
      cfg.other_mechanisms = (cfg.auth == 0 || next(2)) ? "GSSAPI" : "";
      cfg.legacy_auth = next(2) == 0;
    }
    std::vector<std::string_view> extra;
    for (std::uint32_t i = next(4); i > 0; --i) extra.emplace_back(extras[next(5)]);
    cfg.extra = smtpkit::line_list(extra.data(), extra.size());
    errc e{};
    const std::string bytes = written(cfg, &e);
    INFO(bytes);
    REQUIRE(e == errc{});
    const auto caps = smtpkit::parse_ehlo_reply(bytes);
    REQUIRE(caps.has_value());
    CHECK(caps->domain == cfg.domain);
    CHECK(caps->greeting == cfg.greeting);
    CHECK(caps->extensions == cfg.extensions);
    CHECK(caps->max_size == (caps->has(ehlo_extension::size) ? cfg.max_size : 0));
    CHECK(caps->auth == cfg.auth);
    if (!cfg.other_mechanisms.empty()) CHECK(caps->has_mechanism(cfg.other_mechanisms));
    std::size_t i = 0;
    for (const auto& k : caps->unknown_keywords()) {
      REQUIRE(i < extra.size());
      CHECK(std::string(k.keyword) + (k.params.empty() ? "" : " ") + std::string(k.params) ==
            extra[i]);
      ++i;
    }
    CHECK(i == extra.size());
  }
}

TEST_CASE("writing an EHLO reply allocates nothing") {
  smtpkit::ehlo_config cfg = base_config();
  cfg.extensions = smtpkit::all_ehlo_extensions;
  cfg.auth = smtpkit::all_auth_mechanisms;
  char mem[1024];
  smtpkit::byte_writer w(mem, sizeof mem);
  smtpkit_test::alloc_scope allocs;
  const std::error_code ec = smtpkit::write_ehlo_reply(w, cfg);
  const std::size_t count = allocs.count();
  CHECK(count == 0);
  CHECK(!ec);
}
