// smtpkit tests: the Asio client driver (smtpkit/asio/client.hpp) against the Asio server driver
// and against scripted servers on 127.0.0.1: connecting (resolving, each address in turn, a
// refused port), whole transactions over DATA and BDAT with the bytes compared, pipelining in
// one write, several transactions on a connection, per-recipient results, LMTP, AUTH with the
// trace masking the credentials, the STARTTLS hook (absent: refused without sending anything
// more; present: the session starts over), timeouts, a server that drops the connection or
// breaks the protocol, a failing message source, and the completion tokens (callbacks,
// use_future, and co_await where the compiler has it).
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

// The driver needs Asio, and Asio needs exceptions: without either this file tests nothing.
#if __has_include(<asio.hpp>) && defined(__cpp_exceptions)

#  include <algorithm>   // count, find
#  include <atomic>      // atomic
#  include <chrono>      // milliseconds
#  include <cstddef>     // size_t
#  include <cstring>     // memcpy
#  include <functional>  // function
#  include <future>      // future
#  include <memory>      // make_unique, shared_ptr
#  include <mutex>       // mutex
#  include <smtpkit/asio/client.hpp>
#  include <smtpkit/asio/server.hpp>
#  include <string>        // string
#  include <system_error>  // system_error
#  include <thread>        // thread
#  include <vector>        // vector

namespace {

namespace sa = smtpkit::asio;
using tcp = ::asio::ip::tcp;
using namespace std::chrono_literals;
using smtpkit::errc;

// --- a real server: the Asio server driver --------------------------------------------------

/// What the server's handlers saw.
struct record {
  std::mutex mu;
  std::vector<std::string> messages;
  std::vector<std::string> mail_from;
  std::vector<std::string> rcpt_to;
  std::vector<std::string> auth;  // "MECH authcid password"
  std::vector<smtpkit::errc> refused;
};

/// Accepts everything but recipients whose local-part starts with "no" (550) or "later" (450).
class keeping_handler : public sa::connection_handler {
 public:
  explicit keeping_handler(record& r) : r_(r) {}
  void on_mail(sa::connection&, const smtpkit::server_events::mail_received& e,
               sa::decision d) override {
    std::lock_guard<std::mutex> lock(r_.mu);
    r_.mail_from.emplace_back(e.from.address().local_part());
    d.accept();
  }
  void on_rcpt(sa::connection&, const smtpkit::server_events::rcpt_received& e,
               sa::decision d) override {
    const std::string local(e.to.address().local_part());
    {
      std::lock_guard<std::mutex> lock(r_.mu);
      r_.rcpt_to.push_back(local);
    }
    if (local.rfind("no", 0) == 0)
      d.reject({550, smtpkit::enhanced_status{5, 1, 1}, "No such user", {}});
    else if (local.rfind("later", 0) == 0)
      d.reject({450, smtpkit::enhanced_status{4, 2, 1}, "Try later", {}});
    else
      d.accept();
  }
  void on_data(sa::connection&, std::string_view bytes) override { body_.append(bytes); }
  void on_message(sa::connection&, const smtpkit::server_events::message_complete&,
                  sa::decision d) override {
    {
      std::lock_guard<std::mutex> lock(r_.mu);
      r_.messages.push_back(body_);
    }
    body_.clear();
    while (d) d.accept();
  }
  void on_message_refused(sa::connection&, smtpkit::errc why) override {
    std::lock_guard<std::mutex> lock(r_.mu);
    r_.refused.push_back(why);
    body_.clear();
  }
  void on_auth(sa::connection&, const smtpkit::server_events::auth_credentials& e,
               sa::decision d) override {
    {
      std::lock_guard<std::mutex> lock(r_.mu);
      r_.auth.push_back(std::string(e.mechanism) + " " + std::string(e.authcid) + " " +
                        std::string(e.password));
    }
    if (e.password == "pa55word")
      d.accept();
    else
      d.reject({535, smtpkit::enhanced_status{5, 7, 8}, "Authentication credentials invalid", {}});
  }

 private:
  record& r_;
  std::string body_;
};

/// A server on its own io_context and thread.
struct test_server {
  ::asio::io_context ioc;
  std::unique_ptr<sa::server> srv;
  tcp::endpoint ep;
  std::thread thread;

  explicit test_server(record& r, sa::server_options o = {}) {
    o.session.hostname = "mx.test";
    auto& f = o.session.features;
    f.pipelining = f.size = f.eightbitmime = f.chunking = f.smtputf8 = f.dsn = true;
    f.enhanced_status_codes = true;
    srv = std::make_unique<sa::server>(ioc, std::move(o), [&r](const sa::connection_info&) {
      return std::make_unique<keeping_handler>(r);
    });
    std::error_code ec;
    ep = srv->listen({::asio::ip::make_address("127.0.0.1"), 0}, ec);
    REQUIRE_FALSE(ec);
    thread = std::thread([this] { ioc.run(); });
  }
  ~test_server() {
    srv->abort_all();
    if (thread.joinable()) thread.join();
  }
};

// --- a scripted server: a thread with a blocking socket -------------------------------------

/// One accepted connection of a scripted server.
struct peer {
  tcp::socket s;
  std::string in;
  std::vector<std::string> lines;  // every line received, without CRLF

  explicit peer(tcp::socket sock) : s(std::move(sock)) {}
  void send(const std::string& bytes) {
    std::error_code ec;
    ::asio::write(s, ::asio::buffer(bytes), ec);
  }
  /// Returns the next line without CRLF, or "<eof>".
  std::string line() {
    std::error_code ec;
    const std::size_t n = ::asio::read_until(s, ::asio::dynamic_buffer(in), "\r\n", ec);
    if (ec) return "<eof>";
    std::string l = in.substr(0, n - 2);
    in.erase(0, n);
    lines.push_back(l);
    return l;
  }
  /// Reads lines up to and including "." (a DATA body); returns them joined with CRLF.
  std::string body() {
    std::string b;
    for (std::string l = line(); l != "." && l != "<eof>"; l = line()) b += l + "\r\n";
    return b;
  }
  /// Returns true when the client closed the connection (reads until EOF, 5 s at most).
  bool wait_eof() {
    char buf[4096];
    for (;;) {
      std::error_code ec;
      const std::size_t n = s.read_some(::asio::buffer(buf), ec);
      if (ec) return ec == ::asio::error::eof || ec == ::asio::error::connection_reset;
      in.append(buf, n);
    }
  }
};

/// A server that runs @p script once for its first connection, on its own thread.
struct scripted_server {
  ::asio::io_context ioc;
  tcp::acceptor acceptor{ioc, tcp::endpoint(::asio::ip::make_address("127.0.0.1"), 0)};
  tcp::endpoint ep = acceptor.local_endpoint();
  std::thread thread;
  std::vector<std::string> lines;  // what the client sent, when the script is over
  std::atomic<bool> done{false};

  explicit scripted_server(std::function<void(peer&)> script, int connections = 1) {
    thread = std::thread([this, script, connections] {
      for (int i = 0; i < connections; ++i) {
        std::error_code ec;
        tcp::socket s = acceptor.accept(ec);
        if (ec) return;
        peer p(std::move(s));
        script(p);
        lines.insert(lines.end(), p.lines.begin(), p.lines.end());
      }
      done = true;
    });
  }
  ~scripted_server() {
    std::error_code ignored;
    acceptor.close(ignored);
    if (thread.joinable()) thread.join();
  }
  /// Waits for the script to end (5 s at most) and returns the lines the client sent.
  std::vector<std::string> finish() {
    if (thread.joinable()) thread.join();
    return lines;
  }
};

/// Reads an EHLO and answers it with @p caps lines after the domain.
void answer_ehlo(peer& p, const std::vector<std::string>& caps) {
  const std::string l = p.line();
  CHECK(l.rfind("EHLO ", 0) == 0);
  std::string r = "250";
  r += caps.empty() ? " " : "-";
  r += "mx.test\r\n";
  for (std::size_t i = 0; i < caps.size(); ++i)
    r += "250" + std::string(i + 1 == caps.size() ? " " : "-") + caps[i] + "\r\n";
  p.send(r);
}

// --- the client side ------------------------------------------------------------------------

sa::client_options plain_options() {
  sa::client_options o;
  o.session.helo_name = "client.test";
  o.session.tls = smtpkit::tls_policy::never;
  o.connect_timeout = 2s;
  return o;
}

/// Runs @p ioc until it has no more work, 10 s at most.
void run(::asio::io_context& ioc) {
  ioc.run_for(10s);
  ioc.restart();
}

std::vector<tcp::endpoint> at(const tcp::endpoint& ep) {
  return {ep};
}

/// A port on 127.0.0.1 where nothing listens (bound, then closed).
tcp::endpoint closed_port() {
  ::asio::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(::asio::ip::make_address("127.0.0.1"), 0));
  const tcp::endpoint ep = a.local_endpoint();
  a.close();
  return ep;
}

/// Connects, sends one message, quits; returns the error of each step.
struct one_shot {
  std::error_code connect, send, quit;
  sa::server_reply connect_reply;
  sa::send_result result;
};

one_shot send_one(const tcp::endpoint& ep, sa::envelope env, const std::string& message,
                  sa::client_options o = plain_options()) {
  ::asio::io_context ioc;
  sa::client c(ioc, std::move(o));
  sa::string_source src(message);
  one_shot r;
  c.async_connect(at(ep), "mx.test", [&](std::error_code ec, sa::server_reply rep) {
    r.connect = ec;
    r.connect_reply = std::move(rep);
    if (ec) return;
    c.async_send(std::move(env), src, [&](std::error_code e, sa::send_result res) {
      r.send = e;
      r.result = std::move(res);
      c.async_quit([&](std::error_code q) { r.quit = q; });
    });
  });
  run(ioc);
  return r;
}

sa::envelope make_envelope(std::vector<std::string> to, std::string from = "alice@example.org") {
  sa::envelope e;
  e.from = std::move(from);
  e.to = std::move(to);
  return e;
}

}  // namespace

TEST_CASE("asio client: one message over DATA, bytes as the server sees them") {
  record r;
  test_server ts(r);
  const std::string msg = "Subject: t\r\n\r\n.leading dot\r\nbare LF\nbare CR\rend";
  const one_shot o = send_one(ts.ep, make_envelope({"bob@example.net"}), msg);
  CHECK_FALSE(o.connect);
  CHECK(o.connect_reply.code == 250);
  CHECK_FALSE(o.send);
  CHECK(o.result.accepted);
  CHECK(o.result.stage == smtpkit::client_command::data_end);
  CHECK(o.result.delivered == 1);
  REQUIRE(o.result.recipients.size() == 1);
  CHECK(o.result.recipients[0].accepted);
  CHECK(o.result.recipients[0].delivered);
  CHECK(o.result.recipients[0].reply.code == 250);
  CHECK(o.result.reply.code == 250);
  CHECK_FALSE(o.quit);
  std::lock_guard<std::mutex> lock(r.mu);
  REQUIRE(r.messages.size() == 1);
  // Line ends made CRLF (RFC 5321 2.3.8), the dot unstuffed again, the last line ended.
  CHECK(r.messages[0] == "Subject: t\r\n\r\n.leading dot\r\nbare LF\r\nbare CR\r\nend\r\n");
  CHECK(r.mail_from == std::vector<std::string>{"alice"});
}

TEST_CASE("asio client: PIPELINING sends MAIL, every RCPT and DATA in one write") {
  scripted_server ss([](peer& p) {
    p.send("220 mx.test ESMTP\r\n");
    answer_ehlo(p, {"PIPELINING", "8BITMIME", "SIZE 100000"});
    // One read gets the whole group: the client wrote it at once.
    char buf[4096];
    std::error_code ec;
    std::size_t n = 0;
    std::string got;
    while (got.find("DATA\r\n") == std::string::npos) {
      n = p.s.read_some(::asio::buffer(buf), ec);
      if (ec) break;
      got.append(buf, n);
      p.lines.push_back("<segment>");
    }
    p.in = got;
    CHECK(p.line() == "MAIL FROM:<alice@example.org> SIZE=19 BODY=8BITMIME");
    CHECK(p.line() == "RCPT TO:<b1@example.net>");
    CHECK(p.line() == "RCPT TO:<no@example.net>");
    CHECK(p.line() == "RCPT TO:<b3@example.net>");
    CHECK(p.line() == "DATA");
    p.send(
        "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 No such user\r\n250 2.1.5 Ok\r\n"
        "354 go ahead\r\n");
    CHECK(p.body() == "Subject: caf\xc3\xa9\r\n\r\n");
    p.send("250 2.0.0 queued\r\n");
    CHECK(p.line() == "QUIT");
    p.send("221 2.0.0 Bye\r\n");
    CHECK(p.wait_eof());
  });
  sa::envelope env = make_envelope({"b1@example.net", "no@example.net", "b3@example.net"});
  env.mail.set_size(19);
  CHECK_FALSE(env.mail.set_body(smtpkit::body_type::eight_bit_mime));
  const one_shot o = send_one(ss.ep, env, "Subject: caf\xc3\xa9\r\n\r\n");
  CHECK_FALSE(o.send);
  CHECK(o.result.accepted);
  CHECK(o.result.delivered == 2);
  REQUIRE(o.result.recipients.size() == 3);
  CHECK(o.result.recipients[0].accepted);
  CHECK_FALSE(o.result.recipients[1].accepted);
  CHECK(o.result.recipients[1].reply.code == 550);
  CHECK(o.result.recipients[1].reply.text == "No such user");
  CHECK(o.result.recipients[1].reply.raw == "550 5.1.1 No such user\r\n");
  CHECK_FALSE(o.result.recipients[1].delivered);
  CHECK(o.result.recipients[2].delivered);
  CHECK(o.result.reply.text == "queued");
  CHECK_FALSE(o.quit);
  const auto lines = ss.finish();
  CHECK(std::count(lines.begin(), lines.end(), "<segment>") == 1);
}

TEST_CASE(
    "asio client: several transactions on one connection; a refused one leaves the next "
    "intact") {
  record r;
  test_server ts(r);
  ::asio::io_context ioc;
  sa::client c(ioc, plain_options());
  const std::string m1 = "Subject: one\r\n\r\n1\r\n", m2 = "Subject: two\r\n\r\n2\r\n";
  sa::string_source s1(m1), s2(m2), s3(m2);
  std::vector<std::string> log;
  c.async_connect(at(ts.ep), "mx.test", [&](std::error_code ec, sa::server_reply) {
    REQUIRE_FALSE(ec);
    c.async_send(make_envelope({"b@example.net"}), s1, [&](std::error_code e1, sa::send_result r1) {
      log.push_back("1 " + e1.message() + " " + std::to_string(r1.accepted));
      // Every recipient refused: the transaction ends before DATA.
      c.async_send(make_envelope({"no1@example.net", "no2@example.net"}), s2,
                   [&](std::error_code e2, sa::send_result r2) {
                     log.push_back("2 " + std::to_string(e2.value()) + " " +
                                   std::to_string(r2.accepted) + " " +
                                   std::string(smtpkit::to_string(r2.stage)));
                     c.async_send(make_envelope({"c@example.net"}), s3,
                                  [&](std::error_code e3, sa::send_result r3) {
                                    log.push_back("3 " + std::to_string(e3.value()) + " " +
                                                  std::to_string(r3.accepted));
                                    c.async_quit([&](std::error_code q) {
                                      log.push_back("quit " + std::to_string(q.value()));
                                    });
                                  });
                   });
    });
  });
  run(ioc);
  CHECK(log == std::vector<std::string>{"1 Success 1", "2 0 0 rcpt", "3 0 1", "quit 0"});
  std::lock_guard<std::mutex> lock(r.mu);
  CHECK(r.messages == std::vector<std::string>{m1, m2});
  CHECK(r.rcpt_to == std::vector<std::string>{"b", "no1", "no2", "c"});
}

TEST_CASE("asio client: the client keeps its own copy of helo_name") {
  scripted_server ss([](peer& p) {
    p.send("220 mx.test ESMTP\r\n");
    CHECK(p.line() == "EHLO copied.example");
    p.send("250 mx.test\r\n");
    CHECK(p.line() == "QUIT");
    p.send("221 Bye\r\n");
    p.wait_eof();
  });
  ::asio::io_context ioc;
  std::unique_ptr<sa::client> c;
  {
    std::string name = "copied.example";
    sa::client_options o = plain_options();
    o.session.helo_name = name;
    c = std::make_unique<sa::client>(ioc, o);
    name.assign(name.size(), 'x');  // the view now shows other text, then dies
  }
  std::error_code connect_ec = make_error_code(errc::invalid_state), quit_ec;
  c->async_connect(at(ss.ep), "mx.test", [&](std::error_code ec, sa::server_reply) {
    connect_ec = ec;
    c->async_quit([&](std::error_code q) { quit_ec = q; });
  });
  run(ioc);
  CHECK_FALSE(connect_ec);
  CHECK_FALSE(quit_ec);
}

TEST_CASE("asio client: BDAT chunks carry a large message with bare line ends intact") {
  record r;
  test_server ts(r);
  std::string msg = "Subject: big\r\n\r\n";
  for (int i = 0; msg.size() < 300000; ++i)
    msg += "line " + std::to_string(i) + (i % 3 ? "\n" : "\r\n");
  std::string want;
  for (char ch : msg) {
    if (ch == '\n' && (want.empty() || want.back() != '\r')) want += '\r';
    want += ch;
  }
  sa::envelope env = make_envelope({"b@example.net"});
  env.chunking = true;
  const one_shot o = send_one(ts.ep, env, msg);
  CHECK_FALSE(o.send);
  CHECK(o.result.accepted);
  CHECK(o.result.stage == smtpkit::client_command::data_end);
  std::lock_guard<std::mutex> lock(r.mu);
  REQUIRE(r.messages.size() == 1);
  CHECK(r.messages[0].size() == want.size());
  CHECK(r.messages[0] == want);
}

TEST_CASE("asio client: a 1 MiB message over DATA is streamed, never held whole") {
  record r;
  test_server ts(r);
  // A source that makes its octets as it goes: the driver reads it in bounded pieces.
  struct counting_source : sa::message_source {
    std::size_t left = 1 << 20;
    std::size_t largest = 0;
    std::size_t read(char* buf, std::size_t n, std::error_code&) override {
      largest = n > largest ? n : largest;
      const std::size_t k = n < left ? n : left;
      for (std::size_t i = 0; i < k; ++i) buf[i] = (left - i - 1) % 64 == 0 ? '\n' : '.';
      left -= k;
      return k;
    }
  } src;
  ::asio::io_context ioc;
  sa::client c(ioc, plain_options());
  std::error_code send_ec;
  c.async_connect(at(ts.ep), "mx.test", [&](std::error_code ec, sa::server_reply) {
    REQUIRE_FALSE(ec);
    c.async_send(make_envelope({"b@example.net"}), src, [&](std::error_code e, sa::send_result) {
      send_ec = e;
      c.async_quit([](std::error_code) {});
    });
  });
  run(ioc);
  CHECK_FALSE(send_ec);
  CHECK(src.left == 0);
  CHECK(src.largest <= 65536);
  std::lock_guard<std::mutex> lock(r.mu);
  REQUIRE(r.messages.size() == 1);
  CHECK(r.messages[0].size() == (1u << 20) + (1u << 20) / 64);  // every LF became CRLF
}

TEST_CASE("asio client: LMTP gets one result per recipient after the message") {
  record r;
  sa::server_options so;
  so.session.features.lmtp = true;
  test_server ts(r, so);
  sa::client_options co = plain_options();
  co.session.lmtp = true;
  const one_shot o =
      send_one(ts.ep, make_envelope({"a@example.net", "no@example.net", "c@example.net"}),
               "Subject: lmtp\r\n\r\nx\r\n", co);
  CHECK_FALSE(o.send);
  CHECK(o.result.accepted);
  CHECK(o.result.delivered == 2);
  REQUIRE(o.result.recipients.size() == 3);
  CHECK(o.result.recipients[0].delivered);
  CHECK(o.result.recipients[0].delivery.code == 250);
  CHECK_FALSE(o.result.recipients[1].accepted);
  CHECK_FALSE(o.result.recipients[1].delivered);
  CHECK(o.result.recipients[1].delivery.empty());
  CHECK(o.result.recipients[2].delivered);
}

TEST_CASE("asio client: addresses are checked before anything is sent") {
  record r;
  test_server ts(r);
  struct bad_case {
    std::string from, to;
    errc want;
  };
  for (const bad_case& b : {bad_case{"alice@example.org", "bob@exa\r\nmple.net", errc::bad_domain},
                            bad_case{"alice@example.org", "no-at-sign", errc::bad_path},
                            bad_case{"al ice@example.org", "bob@example.net", errc::bad_local_part},
                            bad_case{"alice@example.org", "", errc::bad_local_part}}) {
    INFO(b.from << " -> " << b.to);
    const one_shot o = send_one(ts.ep, make_envelope({b.to}, b.from), "x\r\n");
    CHECK_FALSE(o.connect);
    CHECK(o.send == b.want);
    CHECK_FALSE(o.quit);
  }
  const one_shot none = send_one(ts.ep, make_envelope({}), "x\r\n");
  CHECK(none.send == errc::bad_path);
  std::lock_guard<std::mutex> lock(r.mu);
  CHECK(r.mail_from.empty());
  CHECK(r.messages.empty());
}

TEST_CASE("asio client: a message over the server's SIZE is refused before MAIL") {
  record r;
  sa::server_options so;
  so.session.limits.max_message_size = 1000;
  test_server ts(r, so);
  sa::envelope env = make_envelope({"b@example.net"});
  env.mail.set_size(5000);
  const one_shot o = send_one(ts.ep, env, std::string(5000, 'x'));
  CHECK(o.send == errc::message_too_large);
  CHECK_FALSE(o.quit);
  std::lock_guard<std::mutex> lock(r.mu);
  CHECK(r.mail_from.empty());
}

TEST_CASE("asio client: the null reverse-path") {
  record r;
  test_server ts(r);
  const one_shot o = send_one(ts.ep, make_envelope({"b@example.net"}, ""), "x\r\n");
  CHECK_FALSE(o.send);
  CHECK(o.result.accepted);
  std::lock_guard<std::mutex> lock(r.mu);
  CHECK(r.mail_from == std::vector<std::string>{""});
}

TEST_CASE("asio client: connecting tries each address in turn; a refused port fails") {
  record r;
  test_server ts(r);
  const tcp::endpoint dead = closed_port();
  {
    ::asio::io_context ioc;
    sa::client c(ioc, plain_options());
    std::error_code got = make_error_code(errc::invalid_state);
    c.async_connect({dead, ts.ep}, "mx.test", [&](std::error_code ec, sa::server_reply rep) {
      got = ec;
      CHECK(rep.code == 250);
      CHECK(c.remote_endpoint() == ts.ep);
      c.async_quit([](std::error_code) {});
    });
    run(ioc);
    CHECK_FALSE(got);
  }
  {
    ::asio::io_context ioc;
    sa::client c(ioc, plain_options());
    std::error_code got;
    c.async_connect({dead}, "mx.test", [&](std::error_code ec, sa::server_reply) { got = ec; });
    run(ioc);
    CHECK(got == ::asio::error::connection_refused);
  }
  {  // By name, through the resolver.
    ::asio::io_context ioc;
    sa::client c(ioc, plain_options());
    std::error_code got = make_error_code(errc::invalid_state);
    c.async_connect("127.0.0.1", std::to_string(ts.ep.port()),
                    [&](std::error_code ec, sa::server_reply) {
                      got = ec;
                      c.async_quit([](std::error_code) {});
                    });
    run(ioc);
    CHECK_FALSE(got);
  }
  {
    ::asio::io_context ioc;
    sa::client c(ioc, plain_options());
    std::error_code got;
    c.async_connect("no-such-host.invalid", "25",
                    [&](std::error_code ec, sa::server_reply) { got = ec; });
    run(ioc);
    CHECK(got);
  }
}

TEST_CASE("asio client: each connection attempt is bounded by connect_timeout") {
  // A listener whose queue is full (backlog 0, one connection waiting): Linux drops the SYNs
  // of the next ones, so their connect() hangs.
  ::asio::io_context side;
  tcp::acceptor full(side);
  full.open(tcp::v4());
  full.bind(tcp::endpoint(::asio::ip::make_address("127.0.0.1"), 0));
  full.listen(0);
  const tcp::endpoint hung = full.local_endpoint();
  tcp::socket filler(side);
  filler.connect(hung);
  record r;
  test_server ts(r);
  sa::client_options o = plain_options();
  o.connect_timeout = 200ms;
  {
    ::asio::io_context ioc;
    sa::client c(ioc, o);
    std::error_code got;
    const auto t0 = std::chrono::steady_clock::now();
    c.async_connect({hung}, "mx.test", [&](std::error_code ec, sa::server_reply) { got = ec; });
    run(ioc);
    const auto waited = std::chrono::steady_clock::now() - t0;
    CHECK(got == std::errc::timed_out);
    CHECK(waited >= 190ms);
    CHECK(waited < 3s);
  }
  {  // The next address is tried after the timeout.
    ::asio::io_context ioc;
    sa::client c(ioc, o);
    std::error_code got = make_error_code(errc::invalid_state);
    c.async_connect({hung, ts.ep}, "mx.test", [&](std::error_code ec, sa::server_reply) {
      got = ec;
      CHECK(c.remote_endpoint() == ts.ep);
      c.async_quit([](std::error_code) {});
    });
    run(ioc);
    CHECK_FALSE(got);
  }
}

TEST_CASE("asio client: a refused greeting, a 421 and a garbled one") {
  struct want {
    std::string greeting;
    errc error;
    int code;
  };
  for (const want& w : {want{"554 5.3.2 go away\r\n", errc::session_closed, 554},
                        want{"421 4.3.2 busy\r\n", errc::session_closed, 421},
                        want{"hello there\r\n", errc::protocol_error, 0}}) {
    INFO(w.greeting);
    scripted_server ss([&](peer& p) {
      p.send(w.greeting);
      if (w.code == 554) {  // RFC 5321 3.1: the client says QUIT
        CHECK(p.line() == "QUIT");
        p.send("221 Bye\r\n");
      }
      p.wait_eof();
    });
    ::asio::io_context ioc;
    sa::client c(ioc, plain_options());
    std::error_code got;
    sa::server_reply rep;
    c.async_connect(at(ss.ep), "mx.test", [&](std::error_code ec, sa::server_reply r) {
      got = ec;
      rep = std::move(r);
    });
    run(ioc);
    CHECK(got == w.error);
    if (w.code == 421) CHECK(rep.code == 421);
    if (w.code == 554) CHECK(rep.code == 554);  // the refusal, not the 221 to QUIT
  }
}

TEST_CASE("asio client: STARTTLS offered under require, and no TLS engine: nothing more is sent") {
  scripted_server ss([](peer& p) {
    p.send("220 mx.test ESMTP\r\n");
    answer_ehlo(p, {"PIPELINING", "STARTTLS", "AUTH PLAIN"});
    CHECK(p.line() == "STARTTLS");
    p.send("220 2.0.0 Ready to start TLS\r\n");
    CHECK(p.wait_eof());  // the client closes: no MAIL, no AUTH, no message in clear
  });
  sa::client_options o = plain_options();
  o.session.tls = smtpkit::tls_policy::require;
  const one_shot r = send_one(ss.ep, make_envelope({"b@example.net"}), "secret message\r\n", o);
  CHECK(r.connect == std::errc::protocol_not_supported);
  const auto lines = ss.finish();
  CHECK(lines == std::vector<std::string>{"EHLO client.test", "STARTTLS"});
}

TEST_CASE("asio client: STARTTLS not offered under require ends the session with QUIT") {
  scripted_server ss([](peer& p) {
    p.send("220 mx.test ESMTP\r\n");
    answer_ehlo(p, {"PIPELINING"});
    CHECK(p.line() == "QUIT");
    p.send("221 Bye\r\n");
    p.wait_eof();
  });
  sa::client_options o = plain_options();
  o.session.tls = smtpkit::tls_policy::require;
  const one_shot r = send_one(ss.ep, make_envelope({"b@example.net"}), "x\r\n", o);
  CHECK(r.connect == errc::tls_required);
}

namespace {
/// A "TLS" stream for the hook's plumbing: it passes octets through the socket unchanged and
/// counts what went through it.
struct passthrough_stream final : sa::client_stream {
  sa::client_socket& s;
  std::shared_ptr<std::atomic<int>> ops;
  passthrough_stream(sa::client_socket& sock, std::shared_ptr<std::atomic<int>> n)
      : s(sock), ops(std::move(n)) {}
  void async_read_some(::asio::mutable_buffer b, handler h) override {
    ++*ops;
    s.async_read_some(b, std::move(h));
  }
  void async_write(::asio::const_buffer b, handler h) override {
    ++*ops;
    ::asio::async_write(s, b, std::move(h));
  }
  void close() noexcept override {}
};
}  // namespace

TEST_CASE("asio client: the start_tls hook: the session starts over on the new stream") {
  scripted_server ss([](peer& p) {
    p.send("220 mx.test ESMTP\r\n");
    answer_ehlo(p, {"STARTTLS"});
    CHECK(p.line() == "STARTTLS");
    p.send("220 2.0.0 Ready\r\n250 injected\r\n");  // bytes after the 220 are discarded
    answer_ehlo(p, {"PIPELINING", "AUTH PLAIN"});   // EHLO again, "over TLS"
    CHECK(p.line() == "MAIL FROM:<alice@example.org>");
    CHECK(p.line() == "RCPT TO:<b@example.net>");
    CHECK(p.line() == "DATA");
    p.send("250 Ok\r\n250 Ok\r\n354 go\r\n");
    CHECK(p.body() == "hi\r\n");
    p.send("250 Ok\r\n");
    CHECK(p.line() == "QUIT");
    p.send("221 Bye\r\n");
    p.wait_eof();
  });
  auto ops = std::make_shared<std::atomic<int>>(0);
  std::atomic<int> hook_calls{0};
  std::string server_name;
  sa::client_options o = plain_options();
  o.session.tls = smtpkit::tls_policy::require;
  o.start_tls = [&, ops](sa::client_socket& s, const std::string& name, auto done) {
    ++hook_calls;
    server_name = name;
    done({}, std::make_unique<passthrough_stream>(s, ops));
  };
  const one_shot r = send_one(ss.ep, make_envelope({"b@example.net"}), "hi\r\n", o);
  CHECK_FALSE(r.connect);
  CHECK_FALSE(r.send);
  CHECK(r.result.accepted);
  CHECK_FALSE(r.quit);
  CHECK(hook_calls == 1);
  CHECK(server_name == "mx.test");
  CHECK(*ops >= 4);  // every read and write after the handshake went through the stream
}

TEST_CASE("asio client: a failed TLS handshake closes the connection") {
  scripted_server ss([](peer& p) {
    p.send("220 mx.test ESMTP\r\n");
    answer_ehlo(p, {"STARTTLS"});
    CHECK(p.line() == "STARTTLS");
    p.send("220 2.0.0 Ready\r\n");
    CHECK(p.wait_eof());
  });
  sa::client_options o = plain_options();
  o.session.tls = smtpkit::tls_policy::require;
  o.start_tls = [](sa::client_socket&, const std::string&, auto done) {
    done(make_error_code(std::errc::connection_aborted), nullptr);
  };
  const one_shot r = send_one(ss.ep, make_envelope({"b@example.net"}), "x\r\n", o);
  CHECK(r.connect == std::errc::connection_aborted);
}

TEST_CASE("asio client: AUTH PLAIN and LOGIN; the trace masks the credentials") {
  record r;
  sa::server_options so;
  so.session.features.auth_plain = so.session.features.auth_login = true;
  test_server ts(r, so);
  for (const bool good : {true, false}) {
    std::vector<std::string> trace;
    sa::client_options o = plain_options();
    o.session.allow_plaintext_auth = true;
    o.trace = [&](sa::trace_kind k, std::string_view l) {
      trace.push_back(std::string(k == sa::trace_kind::sent       ? "C: "
                                  : k == sa::trace_kind::received ? "S: "
                                                                  : "* ") +
                      std::string(l));
    };
    ::asio::io_context ioc;
    sa::client c(ioc, o);
    smtpkit::sasl::plain_client plain("alice", good ? "pa55word" : "hunter2");
    smtpkit::sasl::login_client login("alice", good ? "pa55word" : "hunter2");
    std::error_code auth_ec = make_error_code(errc::invalid_state);
    sa::auth_result res;
    c.async_connect(at(ts.ep), "mx.test", [&](std::error_code ec, sa::server_reply) {
      REQUIRE_FALSE(ec);
      c.async_auth({&login, &plain}, [&](std::error_code e, sa::auth_result a) {
        auth_ec = e;
        res = std::move(a);
        c.async_quit([](std::error_code) {});
      });
    });
    run(ioc);
    CHECK(res.mechanism == "PLAIN");  // the stronger of the two
    if (good) {
      CHECK_FALSE(auth_ec);
      CHECK(res.success);
      CHECK(res.reply.code == 235);
    } else {
      CHECK(auth_ec == errc::auth_failed);
      CHECK(res.reply.code == 535);
    }
    bool masked = false;
    for (const std::string& l : trace) {
      CHECK(l.find("pa55word") == std::string::npos);
      CHECK(l.find("hunter2") == std::string::npos);
      CHECK(l.find("AGFsaWNl") == std::string::npos);  // base64 of "\0alice"
      masked |= l == "C: AUTH PLAIN <secret>";
    }
    CHECK(masked);
    CHECK(std::find(trace.begin(), trace.end(), "C: EHLO client.test") != trace.end());
    CHECK(trace.front().rfind("* connected to 127.0.0.1 port ", 0) == 0);
  }
  // LOGIN asked for by name: its two responses are masked too.
  std::vector<std::string> trace;
  sa::client_options o = plain_options();
  o.session.allow_plaintext_auth = true;
  o.trace = [&](sa::trace_kind k, std::string_view l) {
    if (k == sa::trace_kind::sent) trace.emplace_back(l);
  };
  ::asio::io_context ioc;
  sa::client c(ioc, o);
  smtpkit::sasl::login_client login("alice", "pa55word");
  std::error_code auth_ec = make_error_code(errc::invalid_state);
  c.async_connect(at(ts.ep), "mx.test", [&](std::error_code ec, sa::server_reply) {
    REQUIRE_FALSE(ec);
    c.async_auth(login, [&](std::error_code e, sa::auth_result) {
      auth_ec = e;
      c.async_quit([](std::error_code) {});
    });
  });
  run(ioc);
  CHECK_FALSE(auth_ec);
  CHECK(trace ==
        std::vector<std::string>{"EHLO client.test", "AUTH LOGIN", "<secret>", "<secret>", "QUIT"});
  std::lock_guard<std::mutex> lock(r.mu);
  CHECK(r.auth.size() == 3);
}

TEST_CASE("asio client: AUTH without TLS is refused locally unless allowed") {
  record r;
  sa::server_options so;
  so.session.features.auth_plain = true;
  test_server ts(r, so);
  ::asio::io_context ioc;
  sa::client c(ioc, plain_options());
  smtpkit::sasl::plain_client plain("alice", "pa55word");
  smtpkit::sasl::xoauth2_client xoauth("alice", "token");
  std::vector<std::error_code> got;
  c.async_connect(at(ts.ep), "mx.test", [&](std::error_code ec, sa::server_reply) {
    REQUIRE_FALSE(ec);
    c.async_auth(plain, [&](std::error_code e, sa::auth_result) {
      got.push_back(e);
      c.async_quit([](std::error_code) {});
    });
  });
  run(ioc);
  REQUIRE(got.size() == 1);
  CHECK(got[0] == errc::tls_required);
  std::lock_guard<std::mutex> lock(r.mu);
  CHECK(r.auth.empty());
}

TEST_CASE("asio client: timeouts: a silent greeting, a silent DATA") {
  {
    scripted_server ss([](peer& p) { p.wait_eof(); });
    sa::client_options o = plain_options();
    o.session.timeouts.greeting = 200;
    ::asio::io_context ioc;
    sa::client c(ioc, o);
    std::error_code got;
    const auto t0 = std::chrono::steady_clock::now();
    c.async_connect(at(ss.ep), "mx.test", [&](std::error_code ec, sa::server_reply) { got = ec; });
    run(ioc);
    const auto waited = std::chrono::steady_clock::now() - t0;
    CHECK(got == errc::timeout);
    CHECK(waited >= 190ms);
    CHECK(waited < 3s);
  }
  {
    scripted_server ss([](peer& p) {
      p.send("220 mx.test ESMTP\r\n");
      answer_ehlo(p, {"PIPELINING"});
      p.line();
      p.line();
      p.line();
      p.send("250 Ok\r\n250 Ok\r\n");  // and no 354
      p.wait_eof();
    });
    sa::client_options o = plain_options();
    o.session.timeouts.data_init = 200;
    const one_shot r = send_one(ss.ep, make_envelope({"b@example.net"}), "x\r\n", o);
    CHECK(r.send == errc::timeout);
    CHECK(r.result.stage == smtpkit::client_command::data);
    CHECK_FALSE(r.result.accepted);
    CHECK(r.quit == errc::timeout);
  }
}

TEST_CASE("asio client: the server drops the connection in the middle of the message") {
  scripted_server ss([](peer& p) {
    p.send("220 mx.test ESMTP\r\n");
    answer_ehlo(p, {"PIPELINING"});
    p.line();
    p.line();
    p.line();
    p.send("250 Ok\r\n250 Ok\r\n354 go\r\n");
    p.line();  // the first line of the message, then gone
    std::error_code ignored;
    p.s.shutdown(tcp::socket::shutdown_both, ignored);
    p.s.close(ignored);
  });
  std::string big = "Subject: x\r\n\r\n";
  while (big.size() < 4 << 20) big += std::string(900, 'y') + "\r\n";
  const one_shot r = send_one(ss.ep, make_envelope({"b@example.net"}), big);
  CHECK(r.send == errc::connection_lost);
  CHECK_FALSE(r.result.accepted);
}

TEST_CASE("asio client: a 421 in the middle of a transaction") {
  scripted_server ss([](peer& p) {
    p.send("220 mx.test ESMTP\r\n");
    answer_ehlo(p, {});
    CHECK(p.line() == "MAIL FROM:<alice@example.org>");
    p.send("421 4.3.2 shutting down\r\n");
    p.wait_eof();
  });
  const one_shot r = send_one(ss.ep, make_envelope({"b@example.net"}), "x\r\n");
  CHECK(r.send == errc::session_closed);
  CHECK(r.result.reply.code == 421);
  CHECK(r.quit == errc::session_closed);
}

TEST_CASE("asio client: overlong and broken replies end the session with a protocol error") {
  for (const std::string& bad : {std::string(2000, '2') + "\r\n", std::string("250-a\r\n251 b\r\n"),
                                 std::string("250 ok\n")}) {
    scripted_server ss([&](peer& p) {
      p.send("220 mx.test ESMTP\r\n");
      answer_ehlo(p, {});
      p.line();
      p.send(bad);
      p.wait_eof();
    });
    const one_shot r = send_one(ss.ep, make_envelope({"b@example.net"}), "x\r\n");
    CHECK(r.send == errc::protocol_error);
  }
}

TEST_CASE("asio client: replies one byte at a time") {
  scripted_server ss([](peer& p) {
    auto slow = [&](const std::string& s) {
      for (char ch : s) {
        p.send(std::string(1, ch));
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    };
    slow("220 mx.test ESMTP\r\n");
    CHECK(p.line() == "EHLO client.test");
    slow("250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
    p.line();
    p.line();
    p.line();
    slow("250 Ok\r\n250 Ok\r\n354 go\r\n");
    CHECK(p.body() == "x\r\n");
    slow("250 2.0.0 Ok\r\n");
    CHECK(p.line() == "QUIT");
    slow("221 Bye\r\n");
    p.wait_eof();
  });
  const one_shot r = send_one(ss.ep, make_envelope({"b@example.net"}), "x\r\n");
  CHECK_FALSE(r.send);
  CHECK(r.result.accepted);
  CHECK_FALSE(r.quit);
}

TEST_CASE("asio client: a source that fails closes the connection without ending the message") {
  record r;
  test_server ts(r);
  struct failing_source : sa::message_source {
    int calls = 0;
    std::size_t read(char* buf, std::size_t n, std::error_code& ec) override {
      if (++calls > 1) {
        ec = make_error_code(std::errc::io_error);
        return 0;
      }
      const std::string part = "Subject: partial\r\n\r\nfirst part\r\n";
      const std::size_t k = part.size() < n ? part.size() : n;
      std::memcpy(buf, part.data(), k);
      return k;
    }
  } src;
  ::asio::io_context ioc;
  sa::client c(ioc, plain_options());
  std::error_code send_ec, quit_ec;
  c.async_connect(at(ts.ep), "mx.test", [&](std::error_code ec, sa::server_reply) {
    REQUIRE_FALSE(ec);
    c.async_send(make_envelope({"b@example.net"}), src, [&](std::error_code e, sa::send_result) {
      send_ec = e;
      c.async_quit([&](std::error_code q) { quit_ec = q; });
    });
  });
  run(ioc);
  CHECK(send_ec == std::errc::io_error);
  CHECK(quit_ec);
  // The server saw the connection end inside DATA: no message.
  for (int i = 0; i < 100; ++i) {
    {
      std::lock_guard<std::mutex> lock(r.mu);
      if (!r.refused.empty()) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  std::lock_guard<std::mutex> lock(r.mu);
  CHECK(r.messages.empty());
  CHECK(r.refused.size() == 1);
}

TEST_CASE("asio client: one operation at a time; operations need a connection") {
  record r;
  test_server ts(r);
  ::asio::io_context ioc;
  sa::client c(ioc, plain_options());
  sa::string_source src("x\r\n");
  std::vector<std::string> log;
  c.async_send(make_envelope({"b@example.net"}), src, [&](std::error_code e, sa::send_result) {
    log.push_back("send before connect: " +
                  std::string(e == errc::invalid_state ? "invalid_state" : e.message()));
  });
  c.async_connect(at(ts.ep), "mx.test", [&](std::error_code ec, sa::server_reply) {
    log.push_back("connect: " + std::to_string(ec.value()));
    c.async_quit([&](std::error_code q) { log.push_back("quit: " + std::to_string(q.value())); });
  });
  c.async_quit([&](std::error_code q) {
    log.push_back("quit while connecting: " +
                  std::string(q == errc::invalid_state ? "invalid_state" : q.message()));
  });
  run(ioc);
  CHECK(log == std::vector<std::string>{"send before connect: invalid_state",
                                        "quit while connecting: invalid_state", "connect: 0",
                                        "quit: 0"});
}

TEST_CASE("asio client: close() aborts a pending operation") {
  scripted_server ss([](peer& p) { p.wait_eof(); });
  ::asio::io_context ioc;
  sa::client c(ioc, plain_options());
  std::error_code got;
  c.async_connect(at(ss.ep), "mx.test", [&](std::error_code ec, sa::server_reply) { got = ec; });
  ::asio::steady_timer t(ioc, 50ms);
  t.async_wait([&](std::error_code) { c.close(); });
  run(ioc);
  CHECK(got == ::asio::error::operation_aborted);
}

TEST_CASE("asio client: use_future, with the io_context on another thread") {
  record r;
  test_server ts(r);
  ::asio::io_context ioc;
  auto guard = ::asio::make_work_guard(ioc);
  std::thread runner([&] { ioc.run_for(20s); });
  sa::client c(ioc, plain_options());
  sa::string_source src("Subject: future\r\n\r\nok\r\n");
  std::future<sa::server_reply> connected =
      c.async_connect(at(ts.ep), "mx.test", ::asio::use_future);
  CHECK(connected.get().code == 250);
  std::future<sa::send_result> sent =
      c.async_send(make_envelope({"b@example.net"}), src, ::asio::use_future);
  CHECK(sent.get().accepted);
  std::future<void> quit = c.async_quit(::asio::use_future);
  CHECK_NOTHROW(quit.get());
  // An error becomes the future's exception.
  std::future<sa::send_result> after =
      c.async_send(make_envelope({"b@example.net"}), src, ::asio::use_future);
  CHECK_THROWS_AS(after.get(), std::system_error);
  guard.reset();
  runner.join();
  std::lock_guard<std::mutex> lock(r.mu);
  CHECK(r.messages == std::vector<std::string>{"Subject: future\r\n\r\nok\r\n"});
}

#  if defined(ASIO_HAS_CO_AWAIT)
TEST_CASE("asio client: co_await with use_awaitable") {
  record r;
  test_server ts(r);
  ::asio::io_context ioc;
  sa::client c(ioc, plain_options());
  sa::string_source src("Subject: coroutine\r\n\r\nok\r\n");
  bool accepted = false;
  // Made outside the coroutine: GCC 12 miscompiles a braced list of strings inside one.
  const sa::envelope env = make_envelope({"b@example.net"});
  const std::vector<tcp::endpoint> eps = at(ts.ep);
  ::asio::co_spawn(
      ioc,
      [&]() -> ::asio::awaitable<void> {
        co_await c.async_connect(eps, std::string("mx.test"), ::asio::use_awaitable);
        const sa::send_result res = co_await c.async_send(env, src, ::asio::use_awaitable);
        accepted = res.accepted;
        co_await c.async_quit(::asio::use_awaitable);
      },
      ::asio::detached);
  run(ioc);
  CHECK(accepted);
}
#  endif

#endif  // Asio and exceptions
