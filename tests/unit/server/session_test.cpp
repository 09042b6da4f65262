// Unit tests for smtpkit/server/session.hpp beyond the transcripts: the decision API, memory
// bounds, back-pressure, deadlines and the TLS hand-over.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <smtpkit/server.hpp>
#include <string>
#include <variant>

#include "alloc_counter.hpp"

namespace ev = smtpkit::server_events;

namespace {

/// Drains events, answering every decision with its default, and returns the output.
std::string pump(smtpkit::server_session& s, std::string* body = nullptr) {
  std::string out;
  for (;;) {
    auto e = s.next_event();
    if (std::holds_alternative<ev::need_data>(e)) {
      if (s.wants_write()) {
        out += std::string(s.pending_output());
        s.consume_output(s.pending_output().size());
        continue;
      }
      return out;
    }
    if (auto* c = std::get_if<ev::data_chunk>(&e)) {
      if (body) body->append(c->bytes.data(), c->bytes.size());
      continue;
    }
    if (std::holds_alternative<ev::closed>(e)) {
      out += std::string(s.pending_output());
      s.consume_output(s.pending_output().size());
      return out;
    }
    if (std::holds_alternative<ev::session_started>(e) ||
        std::holds_alternative<ev::helo_received>(e) ||
        std::holds_alternative<ev::mail_received>(e) ||
        std::holds_alternative<ev::rcpt_received>(e) ||
        std::holds_alternative<ev::data_started>(e) ||
        std::holds_alternative<ev::message_complete>(e))
      REQUIRE(!s.accept());
  }
}

}  // namespace

TEST_CASE("a whole session allocates nothing after construction") {
  smtpkit::server_config cfg;
  cfg.hostname = "mx.example.org";
  smtpkit::server_session s(cfg);
  const std::string client =
      "EHLO c.example\r\nMAIL FROM:<a@c.example> SIZE=100 BODY=8BITMIME\r\n"
      "RCPT TO:<b@mx.example.org>\r\nDATA\r\n";
  const std::string body = "Subject: x\r\n\r\n..dot\r\nline\r\n.\r\nQUIT\r\n";
  std::string out, got;
  got.reserve(1024);  // the test's own buffer must not allocate inside the measured scope
  smtpkit_test::alloc_scope allocs;
  // The strings above were made before the scope; appending to `out` may allocate, so
  // measure the session's own calls only.
  std::size_t session_allocs = 0;
  auto step = [&](std::string_view in) {
    const std::size_t before = allocs.count();
    CHECK(s.receive(in) == in.size());
    for (;;) {
      auto e = s.next_event();
      if (std::holds_alternative<ev::need_data>(e)) break;
      if (auto* c = std::get_if<ev::data_chunk>(&e)) {
        got.append(c->bytes.data(), c->bytes.size());
        continue;
      }
      if (std::holds_alternative<ev::closed>(e)) break;
      if (std::holds_alternative<ev::quit_received>(e)) continue;
      (void)s.accept();
    }
    const auto pending = s.pending_output();
    s.consume_output(pending.size());
    session_allocs += allocs.count() - before;
  };
  step(client);
  step(body);
  CHECK(session_allocs == 0);
  CHECK(got == "Subject: x\r\n\r\n.dot\r\nline\r\n");
  CHECK(s.state() == smtpkit::server_state::closed);
}

TEST_CASE("decisions: misuse is a local error and changes nothing") {
  smtpkit::server_session s(smtpkit::server_config{});
  CHECK((s.accept() == smtpkit::errc::invalid_state));
  auto e = s.next_event();
  REQUIRE(std::holds_alternative<ev::session_started>(e));
  CHECK_FALSE(s.wants_read());  // a decision is pending
  CHECK(s.current_timeout().kind == smtpkit::timeout_kind::none);
  CHECK((s.accept({550, std::nullopt, "no", {}}) == smtpkit::errc::invalid_argument));
  CHECK((s.reject({250, std::nullopt, "yes", {}}) == smtpkit::errc::invalid_argument));
  CHECK((s.reject({550, std::nullopt, "bad\r\ntext", {}}) == smtpkit::errc::invalid_argument));
  CHECK(std::holds_alternative<ev::need_data>(s.next_event()));  // still held
  CHECK(s.pending_output().empty());
  CHECK(!s.accept());
  CHECK(s.pending_output() == "220 localhost ESMTP\r\n");
  CHECK(s.wants_read());
  CHECK(s.current_timeout().kind == smtpkit::timeout_kind::next_command);
  CHECK(s.current_timeout().milliseconds == 300000);
  CHECK((s.tls_started() == smtpkit::errc::invalid_state));
}

TEST_CASE("receive takes only what fits, and pipelined replies are never lost") {
  smtpkit::server_config cfg;
  cfg.hostname = "mx";
  smtpkit::server_session s(cfg);
  std::string noops;
  for (int i = 0; i < 3000; ++i) noops += "NOOP\r\n";  // 18000 octets: more than the buffers hold
  std::string_view in = noops;
  std::string out;
  int rounds = 0;
  while (!in.empty() && rounds++ < 1000) {
    const std::size_t n = s.receive(in);
    CHECK(n <= in.size());
    in.remove_prefix(n);
    out += pump(s);
  }
  out += pump(s);
  CHECK(in.empty());
  std::size_t oks = 0;
  for (std::size_t p = out.find("250 2.0.0 Ok\r\n"); p != std::string::npos;
       p = out.find("250 2.0.0 Ok\r\n", p + 1))
    ++oks;
  CHECK(oks == 3000);
}

TEST_CASE("deadlines follow the state: command, data, auth, none") {
  smtpkit::server_config cfg;
  cfg.timeouts.command = 1000;
  cfg.timeouts.data = 2000;
  cfg.timeouts.auth = 3000;
  cfg.features.auth_plain = true;
  smtpkit::server_session s(cfg);
  pump(s);
  s.receive("EHLO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b@c>\r\nDATA\r\n");
  pump(s);
  CHECK(s.state() == smtpkit::server_state::data);
  CHECK(s.current_timeout().kind == smtpkit::timeout_kind::data_block);
  CHECK(s.current_timeout().milliseconds == 2000);
  s.receive(".\r\nAUTH PLAIN\r\n");
  pump(s);
  CHECK(s.state() == smtpkit::server_state::auth);
  CHECK(s.current_timeout().milliseconds == 3000);
  s.timeout();
  CHECK(s.state() == smtpkit::server_state::closed);
  CHECK(s.current_timeout().kind == smtpkit::timeout_kind::none);
  CHECK(pump(s).find("421 4.4.2") != std::string::npos);
  CHECK_FALSE(s.wants_read());
}

TEST_CASE("STARTTLS: bytes that arrive before the handshake completes are discarded") {
  smtpkit::server_config cfg;
  cfg.features.starttls = true;
  smtpkit::server_session s(cfg);
  pump(s);
  s.receive("EHLO c\r\nSTARTTLS\r\n");
  std::string out;
  bool start = false;
  for (;;) {
    auto e = s.next_event();
    if (std::holds_alternative<ev::start_tls>(e))
      start = true;
    else if (std::holds_alternative<ev::need_data>(e))
      break;
    else
      (void)s.accept();
  }
  REQUIRE(start);
  CHECK_FALSE(s.wants_read());
  CHECK(s.receive("MAIL FROM:<injected@c>\r\n") == 24);  // taken and dropped
  CHECK(std::holds_alternative<ev::need_data>(s.next_event()));
  CHECK(!s.tls_started());
  CHECK(s.tls_active());
  CHECK(s.state() == smtpkit::server_state::greeted);
  s.consume_output(s.pending_output().size());
  s.receive("NOOP\r\n");
  CHECK(pump(s) == "250 2.0.0 Ok\r\n");
}

TEST_CASE("sessions hold little state beside their buffers") {
  MESSAGE("sizeof(server_session) = ", sizeof(smtpkit::server_session));
  CHECK(sizeof(smtpkit::server_session) <= 4096);
}

TEST_CASE("an endless line never stops the reading: wants_read() stays true while discarding") {
  smtpkit::server_session s(smtpkit::server_config{});
  pump(s);
  const std::string junk(1 << 20, 'x');  // 1 MiB without CRLF, offered in 64 KiB reads
  std::string_view rest = junk;
  std::string out;
  for (int rounds = 0; !rest.empty() && rounds < 10000; ++rounds) {
    out += pump(s);
    REQUIRE(s.wants_read());  // a driver that waits for it must not stall
    rest.remove_prefix(s.receive(rest.substr(0, 65536)));
  }
  CHECK(rest.empty());
  std::string_view tail = "\r\nNOOP\r\n";
  for (int rounds = 0; !tail.empty() && rounds < 100; ++rounds) {
    out += pump(s);
    tail.remove_prefix(s.receive(tail));
  }
  out += pump(s);
  CHECK(out == "500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r\n");
}

TEST_CASE("a configuration that validate() refuses still greets well-formed") {
  smtpkit::server_config cfg;
  cfg.hostname = "bad host";
  cfg.greeting = "ESMTP\r\n250 injected";
  CHECK((smtpkit::server_session::validate(cfg) == smtpkit::errc::invalid_argument));
  smtpkit::server_session s(cfg);
  CHECK(pump(s) == "220 localhost ESMTP\r\n");
}
