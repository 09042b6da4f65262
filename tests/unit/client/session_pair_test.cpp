// A client_session and a server_session connected by an in-memory link (h11's ConnectionPair):
// whole transactions, pipelined and not, DATA and BDAT, AUTH PLAIN and LOGIN, LMTP, STARTTLS and
// refusals, checking that what one side sends the other parses to the same thing.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <algorithm>  // find
#include <functional>
#include <memory>
#include <smtpkit/client.hpp>
#include <smtpkit/server.hpp>
#include <string>
#include <variant>
#include <vector>

#include "client_runner.hpp"

namespace cev = smtpkit::client_events;
namespace sev = smtpkit::server_events;

namespace {

/// What the server application saw.
struct server_seen {
  std::vector<std::string> mail_from;  ///< "<path> params" as parsed
  std::vector<std::string> rcpt_to;
  std::vector<std::string> messages;     ///< message contents
  std::vector<std::string> credentials;  ///< "MECH authcid password"
  std::vector<std::string> events;
};

/// The two sessions and the link between them. The server application accepts everything
/// unless `decide` answers an event itself (returning true).
class session_pair {
 public:
  session_pair(const smtpkit::client_config& c, const smtpkit::server_config& s)
      : client(c), server(s) {}

  smtpkit::client_session client;
  smtpkit::server_session server;
  std::vector<std::string> client_log;  ///< client event log lines (client_runner format)
  std::vector<smtpkit::reply> last_replies;
  std::string client_wire;  ///< every byte the client sent
  server_seen seen;
  std::function<bool(const smtpkit::server_event&, smtpkit::server_session&)> decide;
  /// Called on every client event, after it is logged (to act on it).
  std::function<void(const smtpkit::client_event&)> on_client_event;
  /// Replies seen by the client, re-written as "code [x.y.z] text" of the first line.
  std::vector<std::string> replies;

  /// Moves bytes and events until neither side has anything to do.
  void settle() {
    for (int round = 0; round < 10000; ++round) {
      bool moved = false;
      moved |= drain_server();
      moved |= drain_client();
      if (client.wants_write()) {
        const std::string_view out = client.pending_output();
        const std::size_t n = server.receive(out);
        client_wire += std::string(out.substr(0, n));
        client.consume_output(n);
        moved |= n != 0;
      }
      if (server.wants_write()) {
        const std::string_view out = server.pending_output();
        const std::size_t n = client.receive(out);
        server.consume_output(n);
        moved |= n != 0;
      }
      if (!moved) return;
    }
    FAIL("the pair did not settle");
  }

  bool has_client_event(const std::string& line) const {
    for (const auto& l : client_log)
      if (l == line) return true;
    return false;
  }

 private:
  std::string body_;
  bool client_closed_ = false;
  bool server_closed_ = false;

  bool drain_client() {
    bool any = false;
    while (!client_closed_) {
      const smtpkit::client_event e = client.next_event();
      if (std::holds_alternative<cev::need_data>(e)) return any;
      any = true;
      client_log.push_back(smtpkit_test::detail::log_line(e));
      if (const auto* r = std::get_if<cev::reply_received>(&e)) {
        std::string line = std::to_string(r->response.code());
        if (const auto st = r->response.enhanced())
          line += " " + std::to_string(st->cls) + "." + std::to_string(st->subject) + "." +
                  std::to_string(st->detail);
        line += " " + std::string(r->response.text());
        replies.push_back(line);
      }
      if (on_client_event) on_client_event(e);
      if (std::holds_alternative<cev::closed>(e)) client_closed_ = true;  // it repeats
    }
    return any;
  }

  bool drain_server() {
    bool any = false;
    while (!server_closed_) {
      const smtpkit::server_event e = server.next_event();
      if (std::holds_alternative<sev::need_data>(e)) return any;
      any = true;
      if (const auto* c = std::get_if<sev::data_chunk>(&e)) {
        body_ += std::string(c->bytes);
        continue;
      }
      if (const auto* m = std::get_if<sev::mail_received>(&e)) {
        seen.mail_from.push_back(path_text(m->from.address(), m->from.is_null()) +
                                 params_text(m->params));
      } else if (const auto* r = std::get_if<sev::rcpt_received>(&e)) {
        std::string p = path_text(r->to.address(), false);
        if (r->params.notify() != smtpkit::dsn_notify::none) p += " NOTIFY";
        seen.rcpt_to.push_back(p);
      }
      if (decide && decide(e, server)) continue;
      if (std::holds_alternative<sev::mail_received>(e) ||
          std::holds_alternative<sev::rcpt_received>(e)) {
        // accepted below
      } else if (const auto* done = std::get_if<sev::message_complete>(&e)) {
        seen.messages.push_back(body_);
        body_.clear();
        const std::size_t n = server.config().features.lmtp ? done->recipients : 1;
        for (std::size_t i = 0; i < n; ++i) REQUIRE(!server.accept());
        continue;
      } else if (const auto* a = std::get_if<sev::auth_credentials>(&e)) {
        seen.credentials.push_back(std::string(a->mechanism) + " " + std::string(a->authcid) + " " +
                                   std::string(a->password));
        if (a->password == "secret") {
          REQUIRE(!server.accept());
        } else {
          REQUIRE(!server.reject({535, smtpkit::enhanced_status{5, 7, 8}, "Bad credentials", {}}));
        }
        continue;
      } else if (std::holds_alternative<sev::start_tls>(e)) {
        seen.events.push_back("start_tls");
        continue;
      } else if (std::holds_alternative<sev::closed>(e)) {
        seen.events.push_back("closed");
        server_closed_ = true;  // it repeats
        continue;
      } else if (std::holds_alternative<sev::quit_received>(e) ||
                 std::holds_alternative<sev::rset_received>(e) ||
                 std::holds_alternative<sev::protocol_error>(e) ||
                 std::holds_alternative<sev::message_refused>(e)) {
        continue;
      }
      (void)server.accept();
    }
    return any;
  }

  static std::string path_text(const smtpkit::mailbox& m, bool null) {
    if (null) return "<>";
    return "<" + std::string(m.local_part()) + "@" + std::string(m.domain()) + ">";
  }
  static std::string params_text(const smtpkit::mail_parameters& p) {
    std::string s;
    if (p.size()) s += " SIZE=" + std::to_string(*p.size());
    if (p.body() == smtpkit::body_type::eight_bit_mime) s += " BODY=8BITMIME";
    if (p.smtputf8()) s += " SMTPUTF8";
    if (!p.auth().empty()) s += " AUTH=" + std::string(p.auth());
    return s;
  }
};

smtpkit::client_config client_cfg() {
  smtpkit::client_config c;
  c.helo_name = "client.example";
  return c;
}

smtpkit::server_config server_cfg() {
  smtpkit::server_config s;
  s.hostname = "mx.example.org";
  return s;
}

const smtpkit::reverse_path& path_a() {
  static const std::string text = "<a@example.org>";
  static const smtpkit::reverse_path p = *smtpkit::parse_reverse_path(text);
  return p;
}

smtpkit::forward_path rcpt(const std::string& text) {
  static std::vector<std::unique_ptr<std::string>> keep;
  keep.push_back(std::make_unique<std::string>(text));
  return *smtpkit::parse_forward_path(*keep.back());
}

void send_message(session_pair& p, std::string_view body) {
  REQUIRE(p.client.phase() == smtpkit::transaction_phase::body);
  while (!body.empty()) {
    body.remove_prefix(p.client.send_body(body));
    p.settle();
  }
  REQUIRE(!p.client.end_body());
  p.settle();
}

}  // namespace

TEST_CASE("pair: one message without pipelining; paths, replies and content survive the trip") {
  smtpkit::server_config sc = server_cfg();
  sc.features.pipelining = false;
  session_pair p(client_cfg(), sc);
  p.decide = [](const smtpkit::server_event& e, smtpkit::server_session& s) {
    const auto* r = std::get_if<sev::rcpt_received>(&e);
    if (r == nullptr || r->to.address().local_part() != "nobody") return false;
    REQUIRE(!s.reject({550, smtpkit::enhanced_status{5, 1, 1}, "No such user", {}}));
    return true;
  };
  p.settle();
  REQUIRE(p.client.state() == smtpkit::client_state::ready);
  CHECK(!p.client.pipelining());
  CHECK(p.client.capabilities().domain == "mx.example.org");
  CHECK(p.client.capabilities().max_size == sc.limits.max_message_size);

  smtpkit::mail_parameters mp;
  mp.set_size(40);
  REQUIRE(!mp.set_body(smtpkit::body_type::eight_bit_mime));
  REQUIRE(!p.client.mail_from(path_a(), mp));
  CHECK(p.client.rcpt_to(rcpt("<b@example.org>")) == smtpkit::errc::reply_pending);
  p.settle();
  REQUIRE(!p.client.rcpt_to(rcpt("<b@example.org>")));
  p.settle();
  REQUIRE(!p.client.rcpt_to(rcpt("<nobody@example.org>")));
  p.settle();
  REQUIRE(!p.client.data());
  p.settle();
  const std::string body = "Subject: pair\n\n.leading dot\n..two\nend\r\n";
  send_message(p, body);
  REQUIRE(!p.client.quit());
  p.settle();

  REQUIRE(p.seen.mail_from.size() == 1);
  CHECK(p.seen.mail_from[0] == "<a@example.org> SIZE=40 BODY=8BITMIME");
  CHECK(p.seen.rcpt_to == std::vector<std::string>{"<b@example.org>", "<nobody@example.org>"});
  REQUIRE(p.seen.messages.size() == 1);
  CHECK(p.seen.messages[0] == "Subject: pair\r\n\r\n.leading dot\r\n..two\r\nend\r\n");
  CHECK(p.has_client_event("recipient 0 accepted 250"));
  CHECK(p.has_client_event("recipient 1 refused 550"));
  CHECK(p.has_client_event("transaction_done accepted recipients=1"));
  CHECK(p.has_client_event("closed"));
  // The reply the server application chose reaches the client as it was written.
  CHECK(std::find(p.replies.begin(), p.replies.end(), "550 5.1.1 No such user") != p.replies.end());
  CHECK(p.seen.events.back() == "closed");
}

TEST_CASE("pair: a pipelined batch; per-recipient results are exact") {
  session_pair p(client_cfg(), server_cfg());
  p.decide = [](const smtpkit::server_event& e, smtpkit::server_session& s) {
    const auto* r = std::get_if<sev::rcpt_received>(&e);
    if (r == nullptr || r->to.address().local_part()[0] != 'x') return false;
    REQUIRE(!s.reject({450, smtpkit::enhanced_status{4, 2, 1}, "Try later", {}}));
    return true;
  };
  p.settle();
  REQUIRE(p.client.pipelining());
  REQUIRE(!p.client.mail_from(path_a()));
  for (const char* r : {"<r0@example.org>", "<x1@example.org>", "<r2@example.org>",
                        "<x3@example.org>", "<r4@example.org>"})
    REQUIRE(!p.client.rcpt_to(rcpt(r)));
  REQUIRE(!p.client.data());
  CHECK(p.client.awaiting_replies() == 7);
  // The whole batch goes out in one write.
  CHECK(p.client.pending_output().find("DATA\r\n") != std::string_view::npos);
  p.settle();
  send_message(p, "hello\r\n");
  CHECK(p.has_client_event("recipient 0 accepted 250"));
  CHECK(p.has_client_event("recipient 1 refused 450"));
  CHECK(p.has_client_event("recipient 2 accepted 250"));
  CHECK(p.has_client_event("recipient 3 refused 450"));
  CHECK(p.has_client_event("recipient 4 accepted 250"));
  CHECK(p.has_client_event("transaction_done accepted recipients=3"));
  CHECK(p.seen.rcpt_to.size() == 5);
  CHECK(p.seen.messages == std::vector<std::string>{"hello\r\n"});
}

TEST_CASE("pair: BDAT chunks, pipelined, with line ends made CRLF") {
  smtpkit::server_config sc = server_cfg();
  sc.features.chunking = true;
  session_pair p(client_cfg(), sc);
  p.settle();
  REQUIRE(p.client.capabilities().has(smtpkit::ehlo_extension::chunking));
  REQUIRE(!p.client.mail_from(path_a()));
  REQUIRE(!p.client.rcpt_to(rcpt("<b@example.org>")));
  REQUIRE(!p.client.bdat("Subject: chunks\n\n.not stuffed\r", false));
  REQUIRE(!p.client.bdat("\nsecond\n", false));
  REQUIRE(!p.client.bdat("last", true));
  p.settle();
  REQUIRE(p.seen.messages.size() == 1);
  // BDAT adds nothing at the end: the message is what the chunks hold.
  CHECK(p.seen.messages[0] == "Subject: chunks\r\n\r\n.not stuffed\r\nsecond\r\nlast");
  CHECK(p.has_client_event("transaction_done accepted recipients=1"));
}

TEST_CASE("pair: several transactions, a refused one followed by RSET") {
  session_pair p(client_cfg(), server_cfg());
  int mails = 0;
  p.decide = [&mails](const smtpkit::server_event& e, smtpkit::server_session& s) {
    if (!std::holds_alternative<sev::mail_received>(e) || ++mails != 1) return false;
    REQUIRE(!s.reject({550, smtpkit::enhanced_status{5, 7, 1}, "Sender refused", {}}));
    return true;
  };
  p.settle();
  REQUIRE(!p.client.mail_from(path_a()));
  REQUIRE(!p.client.rcpt_to(rcpt("<b@example.org>")));
  REQUIRE(!p.client.data());
  p.settle();
  CHECK(p.has_client_event("transaction_done failed stage=mail"));
  CHECK(p.has_client_event("reply rset 250"));
  CHECK(p.client_wire.find("RSET\r\n") != std::string::npos);
  REQUIRE(!p.client.mail_from(path_a()));
  REQUIRE(!p.client.rcpt_to(rcpt("<b@example.org>")));
  REQUIRE(!p.client.data());
  p.settle();
  send_message(p, "second\r\n");
  CHECK(p.has_client_event("transaction_done accepted recipients=1"));
  CHECK(p.seen.messages == std::vector<std::string>{"second\r\n"});
}

TEST_CASE("pair: AUTH PLAIN and LOGIN reach the server with the same credentials") {
  for (const char* which : {"PLAIN", "LOGIN"}) {
    INFO(which);
    smtpkit::server_config sc = server_cfg();
    sc.features.auth_plain = sc.features.auth_login = true;
    sc.features.auth_required = true;
    sc.implicit_tls = true;
    smtpkit::client_config cc = client_cfg();
    cc.implicit_tls = true;
    session_pair p(cc, sc);
    p.settle();
    REQUIRE(p.client.capabilities().has(smtpkit::auth_mechanism::login));
    smtpkit::sasl::plain_client plain("user", "secret");
    smtpkit::sasl::login_client login("user", "secret");
    smtpkit::sasl::plain_client wrong("user", "wrong");
    REQUIRE(!p.client.auth(wrong));
    p.settle();
    CHECK(p.has_client_event("auth_done failed PLAIN 535"));
    REQUIRE(!p.client.auth(std::string(which) == "PLAIN"
                               ? static_cast<smtpkit::sasl::client_mechanism&>(plain)
                               : login));
    p.settle();
    CHECK(p.client.authenticated());
    CHECK(p.server.authenticated());
    REQUIRE(p.seen.credentials.size() == 2);
    CHECK(p.seen.credentials[1] == std::string(which) + " user secret");
    smtpkit::mail_parameters mp;
    REQUIRE(!mp.set_auth("<>"));
    REQUIRE(!p.client.mail_from(path_a(), mp));
    p.settle();
    CHECK(p.seen.mail_from == std::vector<std::string>{"<a@example.org> AUTH=<>"});
  }
}

TEST_CASE("pair: the strongest common mechanism is PLAIN") {
  smtpkit::server_config sc = server_cfg();
  sc.features.auth_plain = sc.features.auth_login = true;
  smtpkit::client_config cc = client_cfg();
  cc.allow_plaintext_auth = true;  // the server offers AUTH without TLS
  session_pair p(cc, sc);
  p.settle();
  smtpkit::sasl::plain_client plain("user", "secret");
  smtpkit::sasl::login_client login("user", "secret");
  REQUIRE(!p.client.auth({&login, &plain}));
  p.settle();
  CHECK(p.has_client_event("auth_done ok PLAIN 235"));
}

TEST_CASE("pair: LMTP, one reply per recipient after the message") {
  smtpkit::server_config sc = server_cfg();
  sc.features.lmtp = true;
  smtpkit::client_config cc = client_cfg();
  cc.lmtp = true;
  session_pair p(cc, sc);
  int deliveries = 0;
  p.decide = [&deliveries](const smtpkit::server_event& e, smtpkit::server_session& s) {
    if (const auto* r = std::get_if<sev::rcpt_received>(&e)) {
      if (r->to.address().local_part() != "gone") return false;
      REQUIRE(!s.reject({550, smtpkit::enhanced_status{5, 1, 1}, "No such user", {}}));
      return true;
    }
    const auto* m = std::get_if<sev::message_complete>(&e);
    if (m == nullptr) return false;
    REQUIRE(m->recipients == 2);
    REQUIRE(!s.accept());
    REQUIRE(!s.reject({452, smtpkit::enhanced_status{4, 2, 2}, "Mailbox full", {}}));
    deliveries += 2;
    return true;
  };
  p.settle();
  REQUIRE(p.has_client_event("ready esmtp"));
  REQUIRE(!p.client.mail_from(path_a()));
  REQUIRE(!p.client.rcpt_to(rcpt("<r0@example.org>")));
  REQUIRE(!p.client.rcpt_to(rcpt("<gone@example.org>")));
  REQUIRE(!p.client.rcpt_to(rcpt("<r2@example.org>")));
  REQUIRE(!p.client.data());
  p.settle();
  send_message(p, "lmtp body\r\n");
  CHECK(deliveries == 2);
  CHECK(p.has_client_event("recipient 1 refused 550"));
  CHECK(p.has_client_event("delivery 0 delivered 250"));
  CHECK(p.has_client_event("delivery 2 failed 452"));
  CHECK(p.has_client_event("transaction_done accepted recipients=1"));
}

TEST_CASE("pair: STARTTLS, both sides hand over, EHLO again") {
  smtpkit::server_config sc = server_cfg();
  sc.features.starttls = true;
  sc.features.auth_plain = true;  // advertised only after TLS
  smtpkit::client_config cc = client_cfg();
  cc.tls = smtpkit::tls_policy::require;
  session_pair p(cc, sc);
  p.settle();
  REQUIRE(p.client.state() == smtpkit::client_state::tls_pending);
  REQUIRE(p.server.state() == smtpkit::server_state::tls_pending);
  REQUIRE(!p.server.tls_started());
  REQUIRE(!p.client.tls_started());
  p.settle();
  CHECK(p.has_client_event("ready esmtp tls"));
  CHECK(p.client.capabilities().has(smtpkit::ehlo_extension::auth));
  CHECK(!p.client.capabilities().has(smtpkit::ehlo_extension::starttls));
  CHECK(p.server.tls_active());
}

TEST_CASE("pair: local refusals send nothing; a server shutdown ends the client") {
  smtpkit::server_config sc = server_cfg();
  sc.limits.max_message_size = 1000;
  session_pair p(client_cfg(), sc);
  p.settle();
  smtpkit::mail_parameters big;
  big.set_size(1001);
  const std::size_t before = p.client_wire.size();
  CHECK(p.client.mail_from(path_a(), big) == smtpkit::errc::message_too_large);
  static const std::string utf8_text = "<j\xC3\xB6rg@example.org>";
  const auto utf8 = smtpkit::parse_reverse_path(utf8_text);
  REQUIRE(utf8);
  CHECK(p.client.mail_from(*utf8) == smtpkit::errc::bad_utf8);  // no SMTPUTF8 offered
  p.settle();
  CHECK(p.client_wire.size() == before);
  REQUIRE(!p.client.mail_from(path_a()));
  p.settle();
  p.server.shutdown(true);
  p.settle();
  CHECK(p.has_client_event("transaction_done failed stage=mail error=session_closed"));
  CHECK(p.has_client_event("closed session_closed"));
}
