// Unit tests for smtpkit/client/session.hpp beyond the transcripts: allocation, memory bounds,
// back-pressure, the lifetime of views, configuration checks and the TLS hand-over.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <smtpkit/client.hpp>
#include <string>
#include <variant>
#include <vector>

#include "alloc_counter.hpp"
#include "client_runner.hpp"

namespace ev = smtpkit::client_events;

namespace {

/// Feeds @p in whole, handling events as they come; returns their log lines.
std::vector<std::string> feed(smtpkit::client_session& s, std::string_view in,
                              std::string* out = nullptr) {
  std::vector<std::string> log;
  for (;;) {
    for (;;) {
      const smtpkit::client_event e = s.next_event();
      if (std::holds_alternative<ev::need_data>(e)) break;
      log.push_back(smtpkit_test::detail::log_line(e));
      if (std::holds_alternative<ev::closed>(e)) break;
    }
    if (s.wants_write()) {
      if (out) *out += std::string(s.pending_output());
      s.consume_output(s.pending_output().size());
      continue;
    }
    if (in.empty()) return log;
    const std::size_t n = s.receive(in);
    if (n == 0) return log;
    in.remove_prefix(n);
  }
}

bool has(const std::vector<std::string>& log, const std::string& line) {
  for (const auto& l : log)
    if (l == line) return true;
  return false;
}

smtpkit::client_config config() {
  smtpkit::client_config c;
  c.helo_name = "client.example";
  return c;
}

}  // namespace

TEST_CASE("a whole session allocates nothing after construction") {
  smtpkit::client_config cfg = config();
  cfg.allow_plaintext_auth = true;
  smtpkit::client_session s(cfg);
  const auto from = smtpkit::parse_reverse_path("<a@example.org>");
  const auto to1 = smtpkit::parse_forward_path("<b@example.org>");
  const auto to2 = smtpkit::parse_forward_path("<c@example.org>");
  REQUIRE(from);
  REQUIRE(to1);
  REQUIRE(to2);
  smtpkit::mail_parameters params;
  params.set_size(100);
  REQUIRE(!params.set_body(smtpkit::body_type::eight_bit_mime));
  smtpkit::sasl::plain_client plain("user", "secret");
  smtpkit::sasl::login_client login("user", "secret");
  const std::string greeting = "220 mx.example.org ESMTP\r\n";
  const std::string ehlo =
      "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10485760\r\n250-8BITMIME\r\n"
      "250-CHUNKING\r\n250 AUTH PLAIN LOGIN\r\n";
  const std::string batch1 = "235 2.7.0 Ok\r\n250 Ok\r\n250 Ok\r\n550 No\r\n354 go\r\n";
  const std::string batch2 = "250 queued\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n221 Bye\r\n";

  std::size_t session_allocs = 0;
  std::size_t events = 0;
  std::size_t output = 0;
  smtpkit_test::alloc_scope allocs;
  auto count = [&](auto&& call) {
    const std::size_t before = allocs.count();
    call();
    session_allocs += allocs.count() - before;
  };
  auto pump = [&](std::string_view in) {
    count([&] {
      while (!in.empty()) in.remove_prefix(s.receive(in));
      for (;;) {
        const smtpkit::client_event e = s.next_event();
        if (std::holds_alternative<ev::need_data>(e)) {
          if (!s.wants_write()) break;
          output += s.pending_output().size();
          s.consume_output(s.pending_output().size());
          continue;
        }
        ++events;
        if (std::holds_alternative<ev::closed>(e)) break;
      }
    });
  };
  pump(greeting);
  pump(ehlo);
  CHECK(s.state() == smtpkit::client_state::ready);
  count([&] { CHECK(!s.auth({&login, &plain})); });
  pump("");
  pump(batch1.substr(0, 14));  // the 235
  count([&] {
    CHECK(!s.mail_from(*from, params));
    CHECK(!s.rcpt_to(*to1));
    CHECK(!s.rcpt_to(*to2));
    CHECK(!s.data());
  });
  pump(batch1.substr(14));
  count([&] {
    CHECK(s.send_body("Subject: x\r\n\r\n.dot\nbody\n") == 24);
    CHECK(!s.end_body());
  });
  pump(batch2.substr(0, 12));
  count([&] {
    CHECK(!s.mail_from(*from));
    CHECK(!s.rcpt_to(*to1));
    CHECK(!s.bdat("chunk one\n", false));
    CHECK(!s.bdat("chunk two\n", true));
    CHECK(!s.quit());
  });
  pump(batch2.substr(12));
  CHECK(s.state() == smtpkit::client_state::closed);
  CHECK(events > 20);
  CHECK(output > 150);
  CHECK(session_allocs == 0);
}

TEST_CASE("validate() refuses a bad configuration; a session made anyway is sane") {
  smtpkit::client_config c = config();
  CHECK(!smtpkit::client_session::validate(c));
  c.helo_name = "bad name!";
  CHECK(smtpkit::client_session::validate(c) == smtpkit::errc::invalid_argument);
  smtpkit::client_session s(c);
  CHECK(s.config().helo_name == "localhost");
  std::string out;
  feed(s, "220 mx ESMTP\r\n", &out);
  CHECK(out == "EHLO localhost\r\n");
  c = config();
  c.helo_name = "[192.0.2.1]";
  CHECK(!smtpkit::client_session::validate(c));
  c.limits.reply_line = 4;
  CHECK(smtpkit::client_session::validate(c) == smtpkit::errc::invalid_argument);
  c = config();
  c.max_reply_lines = 0;
  CHECK(smtpkit::client_session::validate(c) == smtpkit::errc::invalid_argument);
  c = config();
  c.limits.auth_line = 100;
  CHECK(smtpkit::client_session::validate(c) == smtpkit::errc::invalid_argument);
}

TEST_CASE("the helo name is the session's own copy") {
  std::string name = "client.example";
  smtpkit::client_config c;
  c.helo_name = name;
  smtpkit::client_session s(c);
  name.assign("XXXXXXXXXXXXXX");
  std::string out;
  feed(s, "220 mx ESMTP\r\n", &out);
  CHECK(out == "EHLO client.example\r\n");
}

TEST_CASE("tls_started() only after start_tls; bytes before it are discarded") {
  smtpkit::client_session s(config());
  CHECK(s.tls_started() == smtpkit::errc::invalid_state);
  std::string out;
  auto log = feed(s, "220 mx ESMTP\r\n250-mx\r\n250 STARTTLS\r\n220 go\r\n", &out);
  CHECK(has(log, "start_tls"));
  CHECK(s.state() == smtpkit::client_state::tls_pending);
  CHECK(!s.wants_read());
  CHECK(s.current_timeout().kind == smtpkit::timeout_kind::none);
  CHECK(s.receive("250 injected\r\n") == 14);  // taken and dropped
  CHECK(std::holds_alternative<ev::need_data>(s.next_event()));
  CHECK(!s.tls_started());
  CHECK(s.tls_active());
  CHECK(s.tls_started() == smtpkit::errc::invalid_state);
  log = feed(s, "250-mx\r\n250 AUTH PLAIN\r\n", &out);
  CHECK(has(log, "ready esmtp tls"));
  CHECK(out == "EHLO client.example\r\nSTARTTLS\r\nEHLO client.example\r\n");
  CHECK(s.capabilities().has(smtpkit::ehlo_extension::auth));
  CHECK(!s.capabilities().has(smtpkit::ehlo_extension::starttls));
}

TEST_CASE("the input buffer is bounded and applies back-pressure") {
  smtpkit::client_config c = config();
  c.limits.reply_line = 64;
  c.max_reply_lines = 2;
  smtpkit::client_session s(c);
  const std::string flood(1000, 'x');
  const std::size_t n = s.receive(flood);
  CHECK(n == 3 * 64);  // max_reply_lines * reply_line + reply_line
  CHECK(!s.wants_read());
  CHECK(s.receive(flood) == 0);
  const auto e = s.next_event();
  REQUIRE(std::holds_alternative<ev::protocol_error>(e));
  CHECK(std::get<ev::protocol_error>(e).code == smtpkit::errc::line_too_long);
  CHECK(std::holds_alternative<ev::closed>(s.next_event()));
  CHECK(std::holds_alternative<ev::closed>(s.next_event()));  // sticky
  CHECK(s.receive(flood) == flood.size());                    // discarded once closed
  CHECK(!s.wants_read());
}

TEST_CASE("a reply's views stay valid when receive() moves the input") {
  smtpkit::client_config c = config();
  c.limits.reply_line = 64;
  c.max_reply_lines = 2;  // a 192-octet input buffer
  smtpkit::client_session s(c);
  feed(s, "220 mx ESMTP\r\n250-mx\r\n250 PIPELINING\r\n");
  const auto from = smtpkit::parse_reverse_path("<a@example.org>");
  const auto to = smtpkit::parse_forward_path("<b@example.org>");
  REQUIRE(!s.mail_from(*from));
  REQUIRE(!s.rcpt_to(*to));
  s.consume_output(s.pending_output().size());
  // Fill the buffer so that the reply to RCPT sits far from its start.
  const std::string mail_reply = "250 " + std::string(50, 'm') + "\r\n";
  const std::string rcpt_reply = "550 5.1.1 recipient unknown\r\n";
  REQUIRE(s.receive(mail_reply) == mail_reply.size());
  REQUIRE(s.receive(rcpt_reply) == rcpt_reply.size());
  auto e = s.next_event();  // reply mail
  REQUIRE(std::holds_alternative<ev::reply_received>(e));
  e = s.next_event();  // reply rcpt: the reply is now held at the front of the input
  REQUIRE(std::holds_alternative<ev::reply_received>(e));
  CHECK(std::get<ev::reply_received>(e).command == smtpkit::client_command::rcpt);
  // More input forces the buffer to compact: the held reply moves.
  const std::string more(120, 'z');
  CHECK(s.receive(more) == more.size());
  e = s.next_event();
  REQUIRE(std::holds_alternative<ev::recipient_result>(e));
  const auto& r = std::get<ev::recipient_result>(e);
  CHECK(!r.accepted);
  CHECK(r.response.code() == 550);
  CHECK(r.response.text() == "recipient unknown");
  CHECK(r.response.raw() == rcpt_reply);
}

TEST_CASE("capabilities outlive the EHLO reply") {
  smtpkit::client_session s(config());
  auto log = feed(s, "220 mx ESMTP\r\n");
  REQUIRE(s.receive("250-mx.example.org greets you\r\n250-SIZE 1000\r\n250 AUTH PLAIN X-FOO\r\n") >
          0);
  std::string domain;
  for (;;) {
    const auto e = s.next_event();
    if (const auto* r = std::get_if<ev::ready>(&e)) {
      domain = std::string(r->capabilities.domain);
      break;
    }
    REQUIRE(!std::holds_alternative<ev::need_data>(e));
  }
  CHECK(domain == "mx.example.org");
  CHECK(std::holds_alternative<ev::need_data>(s.next_event()));
  CHECK(s.receive(std::string(300, 'q')) == 300);  // overwrite the input buffer
  const auto& caps = s.capabilities();
  CHECK(caps.domain == "mx.example.org");
  CHECK(caps.greeting == "greets you");
  CHECK(caps.max_size == 1000);
  CHECK(caps.has_mechanism("x-foo"));
  CHECK(caps.has(smtpkit::auth_mechanism::plain));
  CHECK(caps.raw.empty());
}

TEST_CASE("send_body() takes what fits and leaves room for the session's own commands") {
  smtpkit::client_session s(config());
  feed(s, "220 mx ESMTP\r\n250 mx\r\n");
  CHECK(s.send_body("x") == 0);  // not in a message
  REQUIRE(!s.mail_from(*smtpkit::parse_reverse_path("<a@example.org>")));
  feed(s, "250 Ok\r\n");
  REQUIRE(!s.rcpt_to(*smtpkit::parse_forward_path("<b@example.org>")));
  feed(s, "250 Ok\r\n");
  REQUIRE(!s.data());
  feed(s, "354 go\r\n");
  REQUIRE(s.phase() == smtpkit::transaction_phase::body);
  std::string body;
  for (int i = 0; i < 4000; ++i) body += "line " + std::to_string(i) + "\n.\n";
  std::string_view rest(body);
  std::string wire;
  std::size_t rounds = 0;
  while (!rest.empty()) {
    const std::size_t n = s.send_body(rest);
    rest.remove_prefix(n);
    CHECK(s.current_timeout().kind == smtpkit::timeout_kind::data_block);
    wire += std::string(s.pending_output());
    s.consume_output(s.pending_output().size());
    ++rounds;
  }
  CHECK(rounds > 2);  // the output buffer is bounded
  REQUIRE(!s.end_body());
  wire += std::string(s.pending_output());
  CHECK(wire.size() == body.size() + 4000 * 3 + 3);  // CR per LF, a dot per "." line, ".\r\n"
  CHECK(wire.compare(0, 13, "line 0\r\n..\r\nl") == 0);
  CHECK(wire.compare(wire.size() - 5, 5, "\r\n.\r\n") == 0);
}

TEST_CASE("commands that do not fit the output buffer are refused whole") {
  smtpkit::client_config c = config();
  c.limits.max_recipients = 1000;
  smtpkit::client_session s(c);
  feed(s, "220 mx ESMTP\r\n250-mx\r\n250 PIPELINING\r\n");
  const std::string addr = "<" + std::string(60, 'r') + "@" + std::string(60, 'd') + "." +
                           std::string(60, 'e') + "." + std::string(60, 'f') + ".example>";
  const auto to = smtpkit::parse_forward_path(addr);
  REQUIRE(to);
  REQUIRE(!s.mail_from(*smtpkit::parse_reverse_path("<a@example.org>")));
  std::error_code e;
  std::size_t sent = 0;
  while (!(e = s.rcpt_to(*to))) ++sent;
  CHECK(e == smtpkit::errc::output_full);
  CHECK(sent > 10);
  const std::size_t held = s.pending_output().size();
  CHECK(held + c.limits.command_line + 8 <= 16384 + 8);
  CHECK(s.rcpt_to(*to) == smtpkit::errc::output_full);
  CHECK(s.pending_output().size() == held);  // nothing written
  CHECK(s.awaiting_replies() == sent + 1);
  s.consume_output(held);
  CHECK(!s.rcpt_to(*to));
}

TEST_CASE("a BDAT chunk that can never fit is refused; max_chunk_size() fits") {
  smtpkit::client_session s(config());
  feed(s, "220 mx ESMTP\r\n250-mx\r\n250-CHUNKING\r\n250 PIPELINING\r\n");
  REQUIRE(!s.mail_from(*smtpkit::parse_reverse_path("<a@example.org>")));
  REQUIRE(!s.rcpt_to(*smtpkit::parse_forward_path("<b@example.org>")));
  s.consume_output(s.pending_output().size());
  const std::string big(s.max_chunk_size() + 32, 'x');
  CHECK(s.bdat(big, false) == smtpkit::errc::output_full);
  CHECK(s.pending_output().empty());
  CHECK(!s.bdat(std::string_view(big).substr(32), false));
  CHECK(s.pending_output().size() == s.max_chunk_size() + std::string("BDAT \r\n").size() +
                                         std::to_string(s.max_chunk_size()).size());
  s.consume_output(s.pending_output().size());
  // A text chunk grows with its line ends: half of it as bare LFs fills the buffer.
  const std::string lfs(s.max_chunk_size() / 2 + 16, '\n');
  CHECK(s.bdat(lfs, false) == smtpkit::errc::output_full);
  CHECK(!s.bdat(std::string_view(lfs).substr(16), true));
}

TEST_CASE("deadlines come from the configuration") {
  smtpkit::client_config c = config();
  c.timeouts.greeting = 1111;
  c.timeouts.command = 2222;
  c.timeouts.mail = 3333;
  smtpkit::client_session s(c);
  CHECK(s.current_timeout().kind == smtpkit::timeout_kind::greeting);
  CHECK(s.current_timeout().milliseconds == 1111);
  feed(s, "220 mx ESMTP\r\n");
  CHECK(s.current_timeout().kind == smtpkit::timeout_kind::reply);
  CHECK(s.current_timeout().milliseconds == 2222);
  feed(s, "250 mx\r\n");
  CHECK(s.current_timeout().kind == smtpkit::timeout_kind::none);
  REQUIRE(!s.mail_from(*smtpkit::parse_reverse_path("<a@example.org>")));
  CHECK(s.current_timeout().milliseconds == 3333);
  s.timeout();
  auto log = feed(s, "");
  CHECK(has(log, "transaction_done failed stage=mail error=timeout"));
  CHECK(has(log, "closed timeout"));
  CHECK(s.current_timeout().kind == smtpkit::timeout_kind::none);
}

TEST_CASE("auth() with no candidate the server offers, or a null one") {
  smtpkit::client_config c = config();
  c.implicit_tls = true;
  smtpkit::client_session s(c);
  feed(s, "220 mx ESMTP\r\n250-mx\r\n250 AUTH PLAIN\r\n");
  smtpkit::sasl::login_client login("u", "p");
  CHECK(s.auth({&login}) == smtpkit::errc::auth_mechanism_unsupported);
  CHECK(s.auth({nullptr}) == smtpkit::errc::auth_mechanism_unsupported);
  smtpkit::sasl::plain_client bad("", "p");
  CHECK(s.auth(bad) == smtpkit::errc::invalid_argument);
  CHECK(s.pending_output().empty());
  smtpkit::sasl::plain_client good("u", "p");
  CHECK(!s.auth({&login, &good}));
  CHECK(s.pending_output() == "AUTH PLAIN AHUAcA==\r\n");
}

TEST_CASE("once the server breaks the protocol the session is closed for good") {
  smtpkit::client_session s(config());
  feed(s, "220 mx ESMTP\r\n250-mx\r\n250 PIPELINING\r\n");
  REQUIRE(!s.mail_from(*smtpkit::parse_reverse_path("<a@example.org>")));
  REQUIRE(!s.rcpt_to(*smtpkit::parse_forward_path("<b@example.org>")));
  REQUIRE(s.receive("250 Ok\n") == 7);
  std::vector<std::string> log;
  for (int i = 0; i < 10; ++i) log.push_back(smtpkit_test::detail::log_line(s.next_event()));
  CHECK(log[0] == "transaction_done failed stage=mail error=protocol_error");
  CHECK(log[1] == "protocol_error bare_lf");
  for (std::size_t i = 2; i < log.size(); ++i) CHECK(log[i] == "closed protocol_error");
  CHECK(!s.wants_read());
  CHECK(s.receive("250 Ok\r\n") == 8);  // discarded
  CHECK(s.rset() == smtpkit::errc::session_closed);
  CHECK(s.current_timeout().kind == smtpkit::timeout_kind::none);
}
