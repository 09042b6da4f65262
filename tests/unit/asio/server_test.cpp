// smtpkit tests: the Asio server driver (smtpkit/asio/server.hpp), a server on an io_context
// talking to blocking client sockets in the same test: greeting and pipelined transactions with
// coalesced replies, decisions answered later from another thread, a dropped decision, the
// connection limit, the idle timeout, graceful stop (idle, in flight, past the grace period),
// back-pressure, LMTP, several threads, and a handler that throws.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

// The driver needs Asio, and Asio needs exceptions: without either this file tests nothing.
#if __has_include(<asio.hpp>) && defined(__cpp_exceptions)

#  include <sys/socket.h>  // setsockopt, SO_RCVTIMEO, send, MSG_DONTWAIT
#  include <sys/time.h>    // timeval

#  include <atomic>   // atomic
#  include <cerrno>   // errno, EAGAIN
#  include <chrono>   // milliseconds
#  include <cstddef>  // size_t
#  include <memory>   // make_unique, shared_ptr
#  include <mutex>    // mutex
#  include <smtpkit/asio/server.hpp>
#  include <stdexcept>  // runtime_error
#  include <string>     // string
#  include <thread>     // thread
#  include <typeinfo>   // typeid
#  include <vector>     // vector

namespace {

namespace sa = smtpkit::asio;
using tcp = ::asio::ip::tcp;
using namespace std::chrono_literals;

/// What the handlers of one server saw (shared by every connection; guarded by mu).
struct record {
  std::mutex mu;
  std::vector<std::string> messages;
  std::vector<smtpkit::errc> refused;
  std::atomic<int> closed{0};
  std::atomic<int> connects{0};
};

/// A handler that accepts everything and keeps the messages it gets.
class keeping_handler : public sa::connection_handler {
 public:
  explicit keeping_handler(record& r) : r_(r) {}
  void on_connect(sa::connection&, sa::decision d) override {
    ++r_.connects;
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
  void on_close(sa::connection&) noexcept override { ++r_.closed; }

 protected:
  record& r_;
  std::string body_;
};

/// A server on its own io_context, run by @p threads threads until stopped.
struct test_server {
  ::asio::io_context ioc;
  std::unique_ptr<sa::server> srv;
  tcp::endpoint ep;
  std::vector<std::thread> threads;

  test_server(sa::server_options o, sa::server::handler_factory f, int nthreads = 1) {
    o.session.hostname = "mx.test";
    srv = std::make_unique<sa::server>(ioc, std::move(o), std::move(f));
    std::error_code ec;
    ep = srv->listen({::asio::ip::make_address("127.0.0.1"), 0}, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(ep.port() != 0);
    for (int i = 0; i < nthreads; ++i) threads.emplace_back([this] { ioc.run(); });
  }
  /// Stops gracefully and waits until every connection is closed and run() returned.
  void stop(std::chrono::milliseconds grace = 2000ms) {
    srv->stop(grace);
    join();
  }
  void join() {
    for (auto& t : threads)
      if (t.joinable()) t.join();
  }
  ~test_server() {
    if (!threads.empty() && threads[0].joinable()) {
      srv->abort_all();
      join();
    }
  }
};

/// A blocking client with a receive timeout, so that a failing test fails instead of hanging.
struct client {
  ::asio::io_context ioc;
  tcp::socket s{ioc};
  std::string in;

  explicit client(const tcp::endpoint& ep) {
    s.connect(ep);
    timeval tv{5, 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  void send(const std::string& bytes) { ::asio::write(s, ::asio::buffer(bytes)); }
  /// Reads one whole reply (every line of a multiline reply); "" on EOF or timeout.
  std::string reply() {
    std::string whole;
    for (;;) {
      std::error_code ec;
      const std::size_t n = ::asio::read_until(s, ::asio::dynamic_buffer(in), "\r\n", ec);
      if (ec) return whole;
      const std::string line = in.substr(0, n);
      in.erase(0, n);
      whole += line;
      if (line.size() < 4 || line[3] != '-') return whole;
    }
  }
  /// Returns true when the server closed the connection (EOF) within the receive timeout.
  bool closed_by_peer() {
    char b[256];
    std::error_code ec;
    for (;;) {
      s.read_some(::asio::buffer(b), ec);
      if (ec) return ec == ::asio::error::eof || ec == ::asio::error::connection_reset;
    }
  }
};

sa::server::handler_factory keep(record& r) {
  return [&r](const sa::connection_info&) { return std::make_unique<keeping_handler>(r); };
}

}  // namespace

TEST_CASE("asio server: a pipelined transaction gets its replies in order, coalesced") {
  record r;
  test_server ts({}, keep(r));
  client c(ts.ep);
  CHECK(c.reply() == "220 mx.test ESMTP\r\n");
  c.send("EHLO client.test\r\n");
  const std::string ehlo = c.reply();
  CHECK(ehlo.rfind("250-mx.test\r\n", 0) == 0);
  CHECK(ehlo.find("250-PIPELINING\r\n") != std::string::npos);
  // RFC 2920: MAIL, RCPT and DATA go in one batch; their replies come back in order.
  c.send(
      "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nRCPT TO:<c@example.org>\r\n"
      "DATA\r\n");
  CHECK(c.reply() == "250 2.1.0 Ok\r\n");
  CHECK(c.reply() == "250 2.1.5 Ok\r\n");
  CHECK(c.reply() == "250 2.1.5 Ok\r\n");
  CHECK(c.reply() == "354 End data with <CR><LF>.<CR><LF>\r\n");
  c.send("Subject: t\r\n\r\n..dot\r\nbody\r\n.\r\nQUIT\r\n");
  CHECK(c.reply() == "250 2.0.0 Ok: message accepted\r\n");
  CHECK(c.reply() == "221 2.0.0 Bye\r\n");
  CHECK(c.closed_by_peer());
  ts.stop();
  REQUIRE(r.messages.size() == 1);
  CHECK(r.messages[0] == "Subject: t\r\n\r\n.dot\r\nbody\r\n");
  CHECK(r.closed == 1);
  CHECK(ts.srv->stats().accepted == 1);
  CHECK(ts.srv->stats().active == 0);
}

TEST_CASE("asio server: replies to a pipelined batch arrive in one write") {
  record r;
  test_server ts({}, keep(r));
  client c(ts.ep);
  CHECK(c.reply() == "220 mx.test ESMTP\r\n");
  c.send("EHLO client.test\r\n");
  c.reply();
  std::string batch;
  for (int i = 0; i < 50; ++i) batch += "NOOP\r\n";
  c.send(batch);
  // The fifty replies were written at once, so one read gets them all (one loopback segment).
  std::string got;
  int reads = 0;
  while (got.size() < 50 * 14) {
    char b[4096];
    std::error_code ec;
    const std::size_t n = c.s.read_some(::asio::buffer(b), ec);
    REQUIRE_FALSE(ec);
    got.append(b, n);
    ++reads;
  }
  CHECK(reads == 1);
  CHECK(got.size() == 50 * 14);  // "250 2.0.0 Ok\r\n" fifty times
  ts.stop();
}

TEST_CASE("asio server: a decision answered later, from another thread") {
  record r;
  struct slow_rcpt : keeping_handler {
    using keeping_handler::keeping_handler;
    void on_rcpt(sa::connection& c, const smtpkit::server_events::rcpt_received& e,
                 sa::decision d) override {
      CHECK(c.session().state() == smtpkit::server_state::mail);
      const std::string local(e.to.address().local_part());  // copy: the view ends with the call
      std::thread([d = std::move(d), local]() mutable {
        std::this_thread::sleep_for(50ms);
        if (local == "nobody") {
          d.reject({550, smtpkit::enhanced_status{5, 1, 1}, "No such user here", {}});
        } else {
          const std::string text = "Looked up " + local;
          d.accept({250, smtpkit::enhanced_status{2, 1, 5}, text, {}});
        }
      }).detach();
    }
  };
  test_server ts(
      {}, [&r](const sa::connection_info&) { return std::make_unique<slow_rcpt>(r); }, 2);
  client c(ts.ep);
  c.reply();
  c.send("EHLO client.test\r\n");
  c.reply();
  c.send(
      "MAIL FROM:<a@example.org>\r\nRCPT TO:<nobody@example.org>\r\n"
      "RCPT TO:<joe@example.org>\r\nNOOP\r\n");
  CHECK(c.reply() == "250 2.1.0 Ok\r\n");
  CHECK(c.reply() == "550 5.1.1 No such user here\r\n");
  CHECK(c.reply() == "250 2.1.5 Looked up joe\r\n");
  CHECK(c.reply() == "250 2.0.0 Ok\r\n");
  ts.stop();
}

TEST_CASE("asio server: concurrency 1 runs connections on the io_context, without strands") {
  record r;
  // The same later answer from another thread as above, and a pipelined transaction, on a
  // server told that one thread runs its io_context: the answer is dispatched to the
  // io_context's executor, and io_context::run() waits for it.
  struct slow_mail : keeping_handler {
    using keeping_handler::keeping_handler;
    void on_mail(sa::connection& c, const smtpkit::server_events::mail_received&,
                 sa::decision d) override {
#  if defined(__cpp_rtti)
      CHECK(c.executor().target_type() == typeid(::asio::io_context::executor_type));
#  endif
      std::thread([d = std::move(d)]() mutable {
        std::this_thread::sleep_for(50ms);
        d.accept();
      }).detach();
    }
  };
  sa::server_options o;
  o.concurrency = 1;
  test_server ts(o, [&r](const sa::connection_info&) { return std::make_unique<slow_mail>(r); });
  client c(ts.ep);
  CHECK(c.reply() == "220 mx.test ESMTP\r\n");
  c.send("EHLO client.test\r\n");
  c.reply();
  c.send(
      "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nbody\r\n.\r\n"
      "QUIT\r\n");
  CHECK(c.reply() == "250 2.1.0 Ok\r\n");
  CHECK(c.reply() == "250 2.1.5 Ok\r\n");
  CHECK(c.reply() == "354 End data with <CR><LF>.<CR><LF>\r\n");
  CHECK(c.reply() == "250 2.0.0 Ok: message accepted\r\n");
  CHECK(c.reply() == "221 2.0.0 Bye\r\n");
  CHECK(c.closed_by_peer());
  ts.stop();
  REQUIRE(r.messages.size() == 1);
  CHECK(r.messages[0] == "body\r\n");
}

TEST_CASE("asio server: a decision dropped unanswered is refused with 451") {
  record r;
  struct forgetful : keeping_handler {
    using keeping_handler::keeping_handler;
    void on_mail(sa::connection&, const smtpkit::server_events::mail_received&,
                 sa::decision) override {}
  };
  test_server ts({}, [&r](const sa::connection_info&) { return std::make_unique<forgetful>(r); });
  client c(ts.ep);
  c.reply();
  c.send("HELO client.test\r\nMAIL FROM:<a@example.org>\r\n");
  CHECK(c.reply() == "250 mx.test\r\n");
  CHECK(c.reply() == "451 4.3.0 Error: local problem\r\n");
  ts.stop();
}

TEST_CASE("asio server: an answer that does not fit behind unsent replies waits for the write") {
  record r;
  // Each RCPT is answered with a 6 KB multiline reply: two of them do not fit in the session's
  // output buffer at once, so the second answer is applied after the first is written.
  struct verbose : keeping_handler {
    using keeping_handler::keeping_handler;
    std::string line = std::string(100, 'v');
    std::vector<std::string_view> lines = std::vector<std::string_view>(60, line);
    void on_rcpt(sa::connection&, const smtpkit::server_events::rcpt_received&,
                 sa::decision d) override {
      d.accept({250, smtpkit::enhanced_status{2, 1, 5}, "Ok",
                smtpkit::line_list(lines.data(), lines.size())});
    }
  };
  test_server ts({}, [&r](const sa::connection_info&) { return std::make_unique<verbose>(r); });
  client c(ts.ep);
  c.reply();
  c.send("EHLO c\r\n");
  c.reply();
  c.send(
      "MAIL FROM:<a@b.example>\r\nRCPT TO:<x@d.example>\r\nRCPT TO:<y@d.example>\r\n"
      "RCPT TO:<z@d.example>\r\nNOOP\r\n");
  CHECK(c.reply() == "250 2.1.0 Ok\r\n");
  for (int i = 0; i < 3; ++i) {
    const std::string rr = c.reply();
    CHECK(rr.size() == 14 + 60 * 112);  // "250-2.1.5 Ok" CRLF, then 60 lines of 100 octets
    CHECK(rr.rfind("250-2.1.5 Ok\r\n", 0) == 0);
  }
  CHECK(c.reply() == "250 2.0.0 Ok\r\n");
  ts.stop();
}

TEST_CASE("asio server: a connection over the limit gets 421") {
  record r;
  sa::server_options o;
  o.max_connections = 1;
  test_server ts(o, keep(r));
  client a(ts.ep);
  CHECK(a.reply() == "220 mx.test ESMTP\r\n");
  client b(ts.ep);
  CHECK(b.reply() == "421 4.3.2 mx.test Error: too many connections, try again later\r\n");
  CHECK(b.closed_by_peer());
  a.send("QUIT\r\n");
  CHECK(a.reply() == "221 2.0.0 Bye\r\n");
  CHECK(a.closed_by_peer());
  a.s.close();
  // The slot is free again.
  for (int i = 0; i < 100 && ts.srv->stats().active != 0; ++i) std::this_thread::sleep_for(10ms);
  client d(ts.ep);
  CHECK(d.reply() == "220 mx.test ESMTP\r\n");
  CHECK(ts.srv->stats().refused == 1);
  ts.stop();
}

TEST_CASE("asio server: the idle timeout sends 421 and closes; a partial message is dropped") {
  record r;
  sa::server_options o;
  o.session.timeouts.command = 200;
  o.session.timeouts.data = 300;
  test_server ts(o, keep(r));
  {
    client c(ts.ep);
    CHECK(c.reply() == "220 mx.test ESMTP\r\n");
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(c.reply() == "421 4.4.2 mx.test Error: timeout exceeded\r\n");
    const auto waited = std::chrono::steady_clock::now() - t0;
    CHECK(waited >= 150ms);
    CHECK(waited < 3000ms);
    CHECK(c.closed_by_peer());
  }
  {
    client c(ts.ep);
    c.reply();
    c.send("HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n");
    c.reply();
    c.reply();
    c.reply();
    CHECK(c.reply().rfind("354 ", 0) == 0);
    c.send("Subject: partial\r\n");  // then nothing more
    CHECK(c.reply() == "421 4.4.2 mx.test Error: timeout exceeded\r\n");
    CHECK(c.closed_by_peer());
  }
  ts.stop();
  CHECK(r.messages.empty());
  REQUIRE(r.refused.size() == 1);
  CHECK(r.refused[0] == smtpkit::errc::timeout);
}

TEST_CASE("asio server: graceful stop: idle sessions get 421, a message in flight finishes") {
  record r;
  test_server ts({}, keep(r));
  client idle(ts.ep);
  CHECK(idle.reply() == "220 mx.test ESMTP\r\n");
  client busy(ts.ep);
  busy.reply();
  busy.send("HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n");
  for (int i = 0; i < 4; ++i) busy.reply();
  busy.send("Subject: in flight\r\n");
  std::this_thread::sleep_for(50ms);
  ts.srv->stop(5000ms);
  CHECK(idle.reply() == "421 4.3.2 mx.test Service shutting down\r\n");
  CHECK(idle.closed_by_peer());
  busy.send("\r\nbody\r\n.\r\n");
  CHECK(busy.reply() == "250 2.0.0 Ok: message accepted\r\n");
  CHECK(busy.reply() == "421 4.3.2 mx.test Service shutting down\r\n");
  CHECK(busy.closed_by_peer());
  ts.join();  // run() returned: nothing left
  REQUIRE(r.messages.size() == 1);
  CHECK(r.messages[0] == "Subject: in flight\r\n\r\nbody\r\n");
  // The listener is closed.
  ::asio::io_context x;
  tcp::socket s(x);
  std::error_code ec;
  s.connect(ts.ep, ec);
  CHECK(ec);
}

TEST_CASE("asio server: graceful stop refuses a transaction that outlasts the grace period") {
  record r;
  test_server ts({}, keep(r));
  client busy(ts.ep);
  busy.reply();
  busy.send("HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n");
  for (int i = 0; i < 4; ++i) busy.reply();
  busy.send("Subject: too slow\r\n");
  std::this_thread::sleep_for(50ms);
  const auto t0 = std::chrono::steady_clock::now();
  ts.srv->stop(300ms);
  CHECK(busy.reply() == "421 4.3.2 mx.test Service shutting down\r\n");
  CHECK(std::chrono::steady_clock::now() - t0 >= 250ms);
  CHECK(busy.closed_by_peer());
  ts.join();
  CHECK(r.messages.empty());
  REQUIRE(r.refused.size() == 1);
  CHECK(r.refused[0] == smtpkit::errc::session_closed);
}

TEST_CASE("asio server: back-pressure: a client that never reads cannot make the server buffer") {
  record r;
  test_server ts({}, keep(r));
  client c(ts.ep);
  c.reply();
  c.send("EHLO c\r\n");
  c.reply();
  // Send NOOPs without reading a reply: the server stops reading once its replies cannot be
  // sent, so our sends eventually block (EAGAIN) long before 256 MiB.
  std::string noops;
  for (int i = 0; i < 10000; ++i) noops += "NOOP\r\n";
  std::size_t sent = 0;
  bool blocked = false;
  const auto t0 = std::chrono::steady_clock::now();
  while (sent < (256u << 20) && std::chrono::steady_clock::now() - t0 < 20s) {
    const ssize_t n = ::send(c.s.native_handle(), noops.data(), noops.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        // Give the server a moment; blocked twice in a row means it stopped reading.
        std::this_thread::sleep_for(100ms);
        const ssize_t m = ::send(c.s.native_handle(), noops.data(), noops.size(), MSG_DONTWAIT);
        if (m < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          blocked = true;
          break;
        }
        if (m > 0) sent += static_cast<std::size_t>(m);
        continue;
      }
      break;
    }
    sent += static_cast<std::size_t>(n);
  }
  MESSAGE("bytes sent before the server stopped reading: " << sent);
  CHECK(blocked);
  CHECK(sent < (64u << 20));
  ts.srv->abort_all();
  ts.join();
}

TEST_CASE("asio server: LMTP gets one reply per recipient") {
  record r;
  struct lmtp_handler : keeping_handler {
    using keeping_handler::keeping_handler;
    void on_message(sa::connection&, const smtpkit::server_events::message_complete& e,
                    sa::decision d) override {
      CHECK(e.recipients == 2);
      CHECK(d.remaining() == 2);
      d.accept();
      d.reject({452, smtpkit::enhanced_status{4, 2, 2}, "Mailbox full", {}});
      CHECK_FALSE(d);
    }
  };
  sa::server_options o;
  o.session.features.lmtp = true;
  test_server ts(o, [&r](const sa::connection_info&) { return std::make_unique<lmtp_handler>(r); });
  client c(ts.ep);
  c.reply();
  c.send(
      "LHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@d.example>\r\nRCPT TO:<y@d.example>\r\n"
      "DATA\r\n");
  c.reply();
  for (int i = 0; i < 3; ++i) c.reply();
  CHECK(c.reply().rfind("354 ", 0) == 0);
  c.send("x\r\n.\r\n");
  CHECK(c.reply() == "250 2.0.0 Ok: message accepted\r\n");
  CHECK(c.reply() == "452 4.2.2 Mailbox full\r\n");
  ts.stop();
}

TEST_CASE("asio server: many clients on several threads") {
  record r;
  test_server ts({}, keep(r), 4);
  constexpr int clients = 16, each = 5;
  std::vector<std::thread> ts_clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < clients; ++i)
    ts_clients.emplace_back([&, i] {
      client c(ts.ep);
      if (c.reply().rfind("220 ", 0) != 0) return;
      c.send("EHLO c\r\n");
      c.reply();
      for (int m = 0; m < each; ++m) {
        c.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n");
        c.reply();
        c.reply();
        c.reply();
        c.send("n " + std::to_string(i) + " " + std::to_string(m) + "\r\n.\r\n");
        if (c.reply() == "250 2.0.0 Ok: message accepted\r\n") ++ok;
      }
      c.send("QUIT\r\n");
      c.reply();
    });
  for (auto& t : ts_clients) t.join();
  CHECK(ok == clients * each);
  ts.stop();
  CHECK(r.messages.size() == static_cast<std::size_t>(clients * each));
  CHECK(r.closed == clients);
}

TEST_CASE("asio server: a handler that throws ends its connection only") {
  record r;
  struct thrower : keeping_handler {
    using keeping_handler::keeping_handler;
    void on_helo(sa::connection&, const smtpkit::server_events::helo_received& e,
                 sa::decision d) override {
      if (e.domain.text() == "boom") throw std::runtime_error("handler failed");
      d.accept();
    }
  };
  test_server ts({}, [&r](const sa::connection_info&) { return std::make_unique<thrower>(r); });
  client a(ts.ep);
  a.reply();
  a.send("HELO boom\r\n");
  CHECK(a.closed_by_peer());
  client b(ts.ep);
  CHECK(b.reply() == "220 mx.test ESMTP\r\n");
  b.send("HELO fine\r\n");
  CHECK(b.reply() == "250 mx.test\r\n");
  ts.stop();
  CHECK(r.closed == 2);
}

TEST_CASE("asio server: listens on IPv6 and refuses a busy port") {
  record r;
  ::asio::io_context ioc;
  sa::server srv(ioc, {}, keep(r));
  std::error_code ec;
  const tcp::endpoint v6 = srv.listen({::asio::ip::make_address("::1"), 0}, ec);
  if (ec) {
    MESSAGE("no IPv6 loopback here: " << ec.message());
  } else {
    CHECK(v6.address().is_v6());
    CHECK(v6.port() != 0);
  }
  const tcp::endpoint v4 = srv.listen({::asio::ip::make_address("127.0.0.1"), 0}, ec);
  REQUIRE_FALSE(ec);
  sa::server other(ioc, {}, keep(r));
  other.listen(v4, ec);
  CHECK(ec);  // address in use
  srv.stop();
  other.stop();
  ioc.run();
}

#endif  // Asio and exceptions
