// smtpkit asio: the Asio server driver. Listeners (IPv4 and IPv6) accept connections, and one
// driver per connection runs a server_session (smtpkit/server.hpp) over a TCP socket: it feeds
// the session what it reads, hands the session's events to the application's handler, writes the
// session's replies, arms the session's timers and closes the connection when the session ends.
// RFC 5321 4.5.3.2 (timeouts), 3.8 and 4.2.3 (421 on shutdown), RFC 2920 (replies coalesced per
// batch of pipelined commands), RFC 2033 (one reply per LMTP recipient).
//
// Rules:
//  1. Everything a connection does runs on its own strand: its reads, writes, timer, the
//     handler's callbacks, and every answer to a decision (an answer given on another thread is
//     dispatched to the strand). One io_context may run on any number of threads.
//  2. Decisions may be answered later: a handler keeps its smtpkit::asio::decision and answers
//     it when it knows (after a database lookup, say). While it waits the session holds, nothing
//     is read, and the event's views stay valid. A decision dropped unanswered is refused with
//     "451 4.3.0", so a connection never hangs on a forgotten answer.
//  3. Replies are coalesced: after each batch of events the driver writes all of
//     pending_output() in one write, never one write per reply.
//  4. Memory is bounded per connection: one read buffer (server_options::read_size), the
//     session's fixed buffers and one write buffer. No reading while a read's bytes are not yet
//     taken by the session, while a decision is pending, or while unsent output exceeds
//     server_options::max_unsent_output (back-pressure).
//  5. Timers: the driver arms the session's current_timeout(), counted from the last byte
//     received (or the last change of kind); when it passes the session sends 421 and closes.
//     A peer that stops reading our replies is cut off after the command timeout; a closing
//     connection is cut off after server_options::close_linger.
//  6. Graceful stop: listeners close, idle sessions get 421 at once, a transaction in flight is
//     finished or, after the grace period, refused with 421; then io_context::run() returns.
//  7. No exception escapes a completion handler of the driver: one thrown by an application
//     handler (or an allocation) ends that connection only.
// Only files under include/smtpkit/asio/ include Asio.
// SPDX-License-Identifier: MIT
#pragma once

#include <asio.hpp>    // io_context, strand, ip::tcp, steady_timer, async_write, dispatch
#include <atomic>      // atomic
#include <chrono>      // steady_clock, milliseconds
#include <cstddef>     // size_t
#include <cstdint>     // uint64_t
#include <cstring>     // memcpy
#include <functional>  // function
#include <list>        // list
#include <memory>      // shared_ptr, unique_ptr, weak_ptr
#include <mutex>       // mutex, lock_guard
#include <optional>    // optional
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>
#include <smtpkit/server.hpp>
#include <string>        // string
#include <string_view>   // string_view
#include <system_error>  // error_code
#include <type_traits>   // decay_t, is_same_v
#include <utility>       // move
#include <variant>       // visit, holds_alternative
#include <vector>        // vector

SMTPKIT_NAMESPACE_BEGIN

namespace asio {

/// The executor every connection and listener runs on: a strand of the io_context.
using strand_type = ::asio::strand<::asio::io_context::executor_type>;
/// The socket type of a connection.
using socket_type = ::asio::basic_stream_socket<::asio::ip::tcp, strand_type>;

/// How the server runs its connections.
struct server_options {
  /// The configuration of every session (features, limits, leniency, timeouts). The server
  /// copies the hostname and greeting it views.
  server_config session{};
  /// Connections served at once; one over it gets "421 4.3.2 ... too many connections".
  std::size_t max_connections = 1000;
  /// Bytes asked for in each read (allocated once per connection, at its first read).
  std::size_t read_size = 65536;
  /// No reading while more than this many reply bytes are waiting to be sent (back-pressure).
  std::size_t max_unsent_output = 8192;
  /// Bound on flushing the last reply and reading the peer's leftovers once a session ended.
  std::chrono::milliseconds close_linger{5000};
  /// Bytes of leftovers read (and dropped) after a session ended before the socket closes.
  std::size_t close_drain = 1u << 20;
};

/// Who a connection is with.
struct connection_info {
  std::uint64_t id = 0;              ///< 1, 2, 3 ... in accept order, per server
  ::asio::ip::tcp::endpoint remote;  ///< the peer's address and port
  ::asio::ip::tcp::endpoint local;   ///< the listener's address and port
};

/// Counters of a server; every field is a snapshot.
struct server_stats {
  std::uint64_t accepted = 0;  ///< connections given a session
  std::uint64_t refused = 0;   ///< connections over max_connections, sent 421
  std::size_t active = 0;      ///< connections open now
};

class connection;

/// Answers one pending decision of a session (see server/events.hpp), now or later, from any
/// thread. Move-only. A decision destroyed unanswered is refused with "451 4.3.0".
/// For an LMTP message_complete, it takes one answer per accepted recipient (remaining()).
class decision {
 public:
  /// Makes an empty decision (answers nothing).
  decision() noexcept = default;
  decision(decision&& o) noexcept
      : conn_(std::move(o.conn_)),
        work_(std::move(o.work_)),
        generation_(o.generation_),
        remaining_(o.remaining_) {
    o.work_.reset();
    o.remaining_ = 0;
  }
  decision& operator=(decision&& o) noexcept {
    if (this != &o) {
      drop();
      conn_ = std::move(o.conn_);
      work_.reset();
      if (o.work_) work_.emplace(std::move(*o.work_));  // a work guard is not assignable
      generation_ = o.generation_;
      remaining_ = o.remaining_;
      o.work_.reset();
      o.remaining_ = 0;
    }
    return *this;
  }
  decision(const decision&) = delete;
  decision& operator=(const decision&) = delete;
  ~decision() { drop(); }

  /// Answers with the session's default positive reply (250, 354, 235 ...).
  void accept() { answer(mode::accept, nullptr); }
  /// Answers with @p r, a 2xx reply (or 3xx for DATA). Its text is copied when the answer
  /// comes from another thread. A reply the session refuses is replaced by the default one.
  void accept(const reply_spec& r) { answer(mode::accept_with, &r); }
  /// Answers with @p r, a 4xx or 5xx reply. A reply the session refuses (not 4xx/5xx, or
  /// holding CR/LF) is replaced by "451 4.3.0 Error: local problem".
  void reject(const reply_spec& r) { answer(mode::reject_with, &r); }

  /// Returns how many answers are still owed (0 once answered; recipients left for LMTP).
  std::size_t remaining() const noexcept { return remaining_; }
  /// Returns true while an answer is owed.
  explicit operator bool() const noexcept { return remaining_ != 0; }

 private:
  friend class connection;
  enum class mode : unsigned char { accept, accept_with, reject_with, reject_default };
  decision(std::shared_ptr<connection> c, strand_type ex, std::uint64_t generation,
           std::size_t count) noexcept
      : conn_(std::move(c)), work_(std::in_place, ex), generation_(generation), remaining_(count) {}
  void answer(mode m, const reply_spec* r);
  void drop() noexcept;

  std::shared_ptr<connection> conn_;
  // Keeps io_context::run() from returning while an answer is owed: a session waiting on the
  // application has no I/O in progress.
  std::optional<::asio::executor_work_guard<strand_type>> work_;
  std::uint64_t generation_ = 0;
  std::size_t remaining_ = 0;
};

/// The application's side of one connection: the server makes one per connection (through the
/// factory given to it) and calls it on the connection's strand. Every decision event comes
/// with a decision to answer, now or later. The defaults accept everything but AUTH.
/// @warning Views in events are valid only during the call (and, for a decision event, until it
///          is answered): copy what must live longer.
class connection_handler {
 public:
  virtual ~connection_handler() = default;

  /// A new connection; accept() sends the 220 greeting, reject() a 554.
  virtual void on_connect(connection& c, decision d);
  /// HELO, EHLO or LHLO.
  virtual void on_helo(connection& c, const server_events::helo_received& e, decision d);
  /// MAIL FROM.
  virtual void on_mail(connection& c, const server_events::mail_received& e, decision d);
  /// RCPT TO.
  virtual void on_rcpt(connection& c, const server_events::rcpt_received& e, decision d);
  /// DATA (not called for BDAT: its first on_data() comes right after RCPT).
  virtual void on_data_start(connection& c, decision d);
  /// Message content, dot-unstuffed, in order.
  virtual void on_data(connection& c, std::string_view bytes);
  /// The end of a message that broke no limit. LMTP: @p d takes one answer per recipient.
  virtual void on_message(connection& c, const server_events::message_complete& e, decision d);
  /// A message refused by the session or cut off (timeout, lost connection, stop): drop it.
  virtual void on_message_refused(connection& c, errc reason);
  /// AUTH PLAIN or LOGIN credentials. The default refuses (535).
  /// @warning e.password is a secret: never log it.
  virtual void on_auth(connection& c, const server_events::auth_credentials& e, decision d);
  /// RSET: drop the transaction.
  virtual void on_rset(connection& c);
  /// QUIT: the session said 221 and closes.
  virtual void on_quit(connection& c);
  /// The session answered bad input by itself (for logs and counters).
  virtual void on_protocol_error(connection& c, const server_events::protocol_error& e);
  /// The connection is closed; the last call. Must not throw.
  virtual void on_close(connection& c) noexcept;
};

namespace detail {

/// State shared by a server, its listeners and its connections (which may outlive the server
/// object while they finish).
struct server_core {
  ::asio::io_context& ioc;
  server_options options;
  std::string hostname;
  std::string greeting;
  std::string busy_reply;  // the 421 for connections over the limit
  std::function<std::unique_ptr<connection_handler>(const connection_info&)> factory;

  std::mutex mu;
  std::list<std::weak_ptr<connection>> connections;  // guarded by mu
  std::atomic<std::size_t> active{0};
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> next_id{1};
  std::atomic<bool> stopping{false};
  std::chrono::milliseconds stop_grace{0};  // guarded by mu

  server_core(::asio::io_context& c, server_options o,
              std::function<std::unique_ptr<connection_handler>(const connection_info&)> f)
      : ioc(c),
        options(std::move(o)),
        hostname(options.session.hostname),
        greeting(options.session.greeting),
        factory(std::move(f)) {
    options.session.hostname = hostname;
    options.session.greeting = greeting;
    busy_reply = "421 ";
    if (options.session.features.enhanced_status_codes) busy_reply += "4.3.2 ";
    busy_reply += hostname.substr(0, 200);
    busy_reply += " Error: too many connections, try again later\r\n";
  }
};

/// A reply copied out of the caller's views, for an answer that crosses threads.
struct owned_reply {
  int code = 0;
  std::optional<enhanced_status> enhanced;
  std::string text;
  std::vector<std::string> more;
  std::vector<std::string_view> more_views;

  explicit owned_reply(const reply_spec& r) : code(r.code), enhanced(r.enhanced), text(r.text) {
    more.reserve(r.more.size());
    for (std::string_view l : r.more) more.emplace_back(l);
    for (const std::string& l : more) more_views.emplace_back(l);
  }
  reply_spec spec() const noexcept {
    return reply_spec{code, enhanced, text, line_list(more_views.data(), more_views.size())};
  }
};

}  // namespace detail

/// One connection: a socket, a server_session and the application's handler, on one strand.
/// Made by the server; handlers see it as `connection&`.
class connection : public std::enable_shared_from_this<connection> {
 public:
  using clock = std::chrono::steady_clock;

  /// Returns who the connection is with.
  const connection_info& info() const noexcept { return info_; }
  /// Returns the session (state(), authenticated(), greeting(), tls_active() ...).
  /// @pre Called on the connection's strand (in a handler callback).
  const server_session& session() const noexcept { return session_; }
  /// Returns the connection's strand, to run work on it.
  strand_type executor() const noexcept { return strand_; }
  /// Returns the handler the factory made for this connection.
  connection_handler& handler() noexcept { return *handler_; }

  /// Ends the connection at once, from any thread: no reply, a message in flight is dropped.
  void abort() {
    ::asio::dispatch(strand_, [self = shared_from_this()] { self->finish(); });
  }

  connection(std::shared_ptr<detail::server_core> core, socket_type socket, connection_info info)
      : core_(std::move(core)),
        socket_(std::move(socket)),
        strand_(socket_.get_executor()),
        timer_(strand_),
        session_(core_->options.session),
        info_(std::move(info)) {}

  ~connection() {
    if (registered_) {
      std::lock_guard<std::mutex> lock(core_->mu);
      core_->connections.erase(self_in_list_);
    }
    core_->active.fetch_sub(1);  // the slot server::start_connection took
  }

  /// Starts the connection (on its strand): registers it, makes its handler, greets.
  void start() {
    {
      std::lock_guard<std::mutex> lock(core_->mu);
      self_in_list_ = core_->connections.insert(core_->connections.end(), weak_from_this());
      registered_ = true;
    }
    last_activity_ = clock::now();
    handler_ = core_->factory(info_);
    if (!handler_) {
      finish();
      return;
    }
    if (core_->stopping.load()) begin_stop(core_->stop_grace);
    pump();
  }

  /// Starts a graceful stop of this connection (on its strand): an idle session gets 421 now,
  /// one in a transaction after it ends or, at the latest, after @p grace.
  void begin_stop(std::chrono::milliseconds grace) {
    if (finished_ || stop_requested_) return;
    stop_requested_ = true;
    stop_deadline_ = clock::now() + grace;
    session_.shutdown();
    pump();
  }

 private:
  friend class decision;
  friend class server;

  // --- answers -------------------------------------------------------------------------------

  void answer(std::uint64_t generation, decision::mode m, const reply_spec* r) {
    if (strand_.running_in_this_thread()) {
      apply(generation, m, r);
      return;
    }
    std::shared_ptr<detail::owned_reply> copy;
    if (r) copy = std::make_shared<detail::owned_reply>(*r);
    ::asio::dispatch(strand_, [self = shared_from_this(), generation, m, copy] {
      self->guarded([&] {
        if (copy) {
          const reply_spec spec = copy->spec();
          self->apply(generation, m, &spec);
        } else {
          self->apply(generation, m, nullptr);
        }
      });
    });
  }

  void apply(std::uint64_t generation, decision::mode m, const reply_spec* r) {
    if (finished_ || generation != generation_) return;
    static constexpr reply_spec local_problem{
        451, enhanced_status{4, 3, 0}, "Error: local problem", {}};
    std::error_code e;
    switch (m) {
      case decision::mode::accept:
        e = session_.accept();
        break;
      case decision::mode::accept_with:
        e = session_.accept(*r);
        if (e == errc::invalid_argument) e = session_.accept();
        break;
      case decision::mode::reject_with:
        e = session_.reject(*r);
        if (e == errc::invalid_argument) e = session_.reject(local_problem);
        break;
      case decision::mode::reject_default:
        e = session_.reject(local_problem);
        break;
    }
    if (e == errc::output_full) {
      // The reply does not fit behind the output not yet sent: answer again after the write.
      retry_.emplace(r ? std::optional<detail::owned_reply>(detail::owned_reply(*r)) : std::nullopt,
                     m, generation);
      flush();
      return;
    }
    if (!in_pump_) pump();
  }

  decision make_decision(std::size_t count = 1) {
    return decision(shared_from_this(), strand_, ++generation_, count);
  }

  // --- the loop ------------------------------------------------------------------------------

  /// Feeds the session, hands out its events, then writes, reads and arms the timer.
  void pump() {
    if (finished_ || in_pump_) return;
    in_pump_ = true;
    if (retry_) {
      auto pending = std::move(*retry_);
      retry_.reset();
      const auto& [reply, m, generation] = pending;
      if (reply) {
        const reply_spec spec = reply->spec();
        apply(generation, m, &spec);
      } else {
        apply(generation, m, nullptr);
      }
    }
    drain_events();
    while (!finished_ && !session_over_) {
      if (feed() != 0) {
        drain_events();
        continue;
      }
      if (peer_eof_ && !eof_told_ && rpos_ == rend_) {
        eof_told_ = true;
        session_.receive_eof();
        drain_events();
        continue;
      }
      break;
    }
    in_pump_ = false;
    if (finished_) return;
    flush();
    maybe_close();
    maybe_read();
    update_timer();
  }

  /// Returns true when the session may be given input: not closed and not waiting on a
  /// decision. (server_session::wants_read() also says false while its buffer looks full, but
  /// the next receive() first drops what the last event consumed, so the driver offers anyway.)
  bool can_take_input() const noexcept {
    return session_.state() != server_state::closed &&
           session_.current_timeout().kind != timeout_kind::none;
  }

  /// Offers the bytes read and not yet taken; returns how many the session took.
  std::size_t feed() noexcept {
    std::size_t fed = 0;
    while (rpos_ < rend_ && can_take_input()) {
      const std::size_t n = session_.receive(std::string_view(rbuf_.get() + rpos_, rend_ - rpos_));
      if (n == 0) break;
      rpos_ += n;
      fed += n;
    }
    return fed;
  }

  void drain_events() {
    for (;;) {
      server_event ev = session_.next_event();
      if (std::holds_alternative<server_events::need_data>(ev)) return;
      if (std::holds_alternative<server_events::closed>(ev)) {
        session_over_ = true;
        close_deadline_ = clock::now() + core_->options.close_linger;
        return;
      }
      guarded([&] { std::visit([this](auto& e) { dispatch(e); }, ev); });
      if (finished_) return;
    }
  }

  template <typename F>
  void guarded(F&& f) noexcept {
#if defined(__cpp_exceptions)
    try {
      f();
    } catch (...) {
      finish();
    }
#else
    f();
#endif
  }

  void dispatch(server_events::need_data&) {}
  void dispatch(server_events::closed&) {}
  void dispatch(server_events::session_started&) {
    handler_->on_connect(*this, make_decision());
  }
  void dispatch(server_events::helo_received& e) {
    handler_->on_helo(*this, e, make_decision());
  }
  void dispatch(server_events::mail_received& e) {
    handler_->on_mail(*this, e, make_decision());
  }
  void dispatch(server_events::rcpt_received& e) {
    handler_->on_rcpt(*this, e, make_decision());
  }
  void dispatch(server_events::data_started&) {
    handler_->on_data_start(*this, make_decision());
  }
  void dispatch(server_events::data_chunk& e) {
    handler_->on_data(*this, e.bytes);
  }
  void dispatch(server_events::message_complete& e) {
    const std::size_t n = session_.config().features.lmtp && e.recipients != 0 ? e.recipients : 1;
    handler_->on_message(*this, e, make_decision(n));
  }
  void dispatch(server_events::message_refused& e) {
    handler_->on_message_refused(*this, e.reason);
  }
  void dispatch(server_events::auth_credentials& e) {
    handler_->on_auth(*this, e, make_decision());
  }
  void dispatch(server_events::start_tls&) {
    // This driver has no TLS: a session configured to offer STARTTLS cannot go on.
    finish();
  }
  void dispatch(server_events::rset_received&) {
    handler_->on_rset(*this);
  }
  void dispatch(server_events::quit_received&) {
    handler_->on_quit(*this);
  }
  void dispatch(server_events::protocol_error& e) {
    handler_->on_protocol_error(*this, e);
  }

  // --- writing -------------------------------------------------------------------------------

  std::size_t unsent() const noexcept {
    return (writing_ ? wlen_ : 0) + session_.pending_output().size();
  }

  void flush() {
    if (writing_ || finished_) return;
    const std::string_view out = session_.pending_output();
    if (out.empty()) return;
    if (write_failed_) {
      session_.consume_output(out.size());
      return;
    }
    if (wbuf_.size() < out.size()) wbuf_.resize(out.size() < 8192 ? 8192 : out.size());
    std::memcpy(wbuf_.data(), out.data(), out.size());
    wlen_ = out.size();
    session_.consume_output(out.size());
    writing_ = true;
    ::asio::async_write(socket_, ::asio::buffer(wbuf_.data(), wlen_),
                        [self = shared_from_this()](const std::error_code& ec, std::size_t) {
                          self->guarded([&] { self->on_written(ec); });
                        });
  }

  void on_written(const std::error_code& ec) {
    writing_ = false;
    if (finished_) return;
    if (ec) {
      // The peer is gone: drop what is left to send and let the session wind down.
      write_failed_ = true;
      peer_eof_ = true;
      rpos_ = rend_ = 0;
      if (!eof_told_) {
        eof_told_ = true;
        session_.receive_eof();
      }
    } else {
      last_activity_ = clock::now();
    }
    pump();
  }

  // --- reading -------------------------------------------------------------------------------

  void maybe_read() {
    if (reading_ || finished_ || closing_) return;
    if (peer_eof_ || rpos_ < rend_ || session_over_) return;
    if (!can_take_input() || unsent() > core_->options.max_unsent_output) return;
    start_read();
  }

  void start_read() {
    if (!rbuf_) rbuf_.reset(new char[core_->options.read_size]);
    reading_ = true;
    socket_.async_read_some(::asio::buffer(rbuf_.get(), core_->options.read_size),
                            [self = shared_from_this()](const std::error_code& ec, std::size_t n) {
                              self->guarded([&] { self->on_read(ec, n); });
                            });
  }

  void on_read(const std::error_code& ec, std::size_t n) {
    reading_ = false;
    if (finished_) return;
    if (closing_) {  // draining leftovers after the session ended
      drained_ += n;
      if (ec || drained_ > core_->options.close_drain) {
        finish();
        return;
      }
      start_read();
      return;
    }
    if (ec) {
      peer_eof_ = true;
    } else {
      rpos_ = 0;
      rend_ = n;
      last_activity_ = clock::now();
    }
    pump();
  }

  // --- closing -------------------------------------------------------------------------------

  void maybe_close() {
    if (!session_over_ || closing_ || writing_ || !session_.pending_output().empty()) return;
    closing_ = true;
    std::error_code ignored;
    socket_.shutdown(::asio::socket_base::shutdown_send, ignored);
    if (peer_eof_ || write_failed_) {
      finish();
      return;
    }
    // Nothing unread: close now (a plain FIN). Otherwise read what the peer still sends until it
    // closes (bounded by close_linger and close_drain), so that closing with unread data does
    // not reset the connection before the last reply arrives.
    std::error_code e;
    const std::size_t unread = socket_.available(e);
    if (e || (unread == 0 && rpos_ == rend_)) {
      finish();
      return;
    }
    if (!reading_) start_read();
  }

  void finish() noexcept {
    if (finished_) return;
    finished_ = true;
    std::error_code ignored;
    socket_.shutdown(::asio::socket_base::shutdown_both, ignored);
    socket_.close(ignored);
    timer_.cancel();
    ++timer_generation_;
    if (!handler_) return;
    handler_->on_close(*this);
    // Destroy the handler after the current call returns (a handler may be on the stack now);
    // this also drops any decision it kept, which would otherwise keep the connection alive.
#if defined(__cpp_exceptions)
    try {
#endif
      ::asio::post(strand_, [self = shared_from_this()] { self->handler_.reset(); });
#if defined(__cpp_exceptions)
    } catch (...) {
    }
#endif
  }

  // --- time ----------------------------------------------------------------------------------

  clock::time_point wanted_deadline() {
    if (finished_) return clock::time_point::max();
    if (session_over_) return close_deadline_;
    const deadline t = session_.current_timeout();
    if (t.kind != last_kind_) {
      last_kind_ = t.kind;
      last_activity_ = clock::now();
    }
    std::uint32_t ms = t.milliseconds;
    if (t.kind == timeout_kind::none && writing_) ms = session_.config().timeouts.command;
    clock::time_point d = clock::time_point::max();
    if (ms != 0) d = last_activity_ + std::chrono::milliseconds(ms);
    if (stop_requested_ && !hard_stopped_ && stop_deadline_ < d) d = stop_deadline_;
    return d;
  }

  void update_timer() {
    const clock::time_point d = wanted_deadline();
    if (d == clock::time_point::max()) return;  // an armed timer recomputes when it fires
    if (timer_armed_ && armed_for_ <= d) return;
    timer_armed_ = true;
    armed_for_ = d;
    const std::uint64_t generation = ++timer_generation_;
    timer_.expires_at(d);
    timer_.async_wait([self = shared_from_this(), generation](const std::error_code&) {
      self->guarded([&] { self->on_timer(generation); });
    });
  }

  void on_timer(std::uint64_t generation) {
    if (generation != timer_generation_ || finished_) return;
    timer_armed_ = false;
    const clock::time_point now = clock::now();
    const clock::time_point d = wanted_deadline();
    if (now < d) {
      update_timer();
      return;
    }
    if (session_over_) {  // the last reply or the peer's leftovers took too long
      finish();
      return;
    }
    if (stop_requested_ && !hard_stopped_ && now >= stop_deadline_) {
      hard_stopped_ = true;
      session_.shutdown(true);
      pump();
      return;
    }
    if (session_.current_timeout().kind == timeout_kind::none) {  // the peer stopped reading
      finish();
      return;
    }
    session_.timeout();
    pump();
  }

  struct retry_answer {
    std::optional<detail::owned_reply> reply;
    decision::mode m;
    std::uint64_t generation;
    retry_answer(std::optional<detail::owned_reply> r, decision::mode mm, std::uint64_t g)
        : reply(std::move(r)), m(mm), generation(g) {}
  };

  std::shared_ptr<detail::server_core> core_;
  socket_type socket_;
  strand_type strand_;
  ::asio::basic_waitable_timer<clock, ::asio::wait_traits<clock>, strand_type> timer_;
  server_session session_;
  connection_info info_;
  std::unique_ptr<connection_handler> handler_;
  std::list<std::weak_ptr<connection>>::iterator self_in_list_{};
  bool registered_ = false;

  std::unique_ptr<char[]> rbuf_;
  std::size_t rpos_ = 0, rend_ = 0;  // bytes read and not yet taken by the session
  std::vector<char> wbuf_;
  std::size_t wlen_ = 0;
  std::size_t drained_ = 0;
  std::optional<retry_answer> retry_;
  std::uint64_t generation_ = 0;  // of the pending decision

  clock::time_point last_activity_{};
  clock::time_point stop_deadline_ = clock::time_point::max();
  clock::time_point close_deadline_ = clock::time_point::max();
  clock::time_point armed_for_{};
  std::uint64_t timer_generation_ = 0;
  timeout_kind last_kind_ = timeout_kind::none;

  bool reading_ = false;
  bool writing_ = false;
  bool write_failed_ = false;
  bool peer_eof_ = false;
  bool eof_told_ = false;
  bool in_pump_ = false;
  bool session_over_ = false;
  bool closing_ = false;
  bool finished_ = false;
  bool timer_armed_ = false;
  bool stop_requested_ = false;
  bool hard_stopped_ = false;
};

// --- decision ------------------------------------------------------------------------------------

inline void decision::answer(mode m, const reply_spec* r) {
  if (remaining_ == 0 || !conn_) return;
  --remaining_;
  std::shared_ptr<connection> c = remaining_ == 0 ? std::move(conn_) : conn_;
  c->answer(generation_, m, r);
  if (remaining_ == 0) work_.reset();  // after the answer is queued on the strand
}

inline void decision::drop() noexcept {
#if defined(__cpp_exceptions)
  try {
#endif
    while (remaining_ != 0 && conn_) answer(mode::reject_default, nullptr);
#if defined(__cpp_exceptions)
  } catch (...) {  // an allocation failed crossing threads: end the connection
    if (conn_) conn_->abort();
  }
#endif
  conn_.reset();
  work_.reset();
  remaining_ = 0;
}

// --- default handler ---------------------------------------------------------------------------

inline void connection_handler::on_connect(connection&, decision d) {
  d.accept();
}
inline void connection_handler::on_helo(connection&, const server_events::helo_received&,
                                        decision d) {
  d.accept();
}
inline void connection_handler::on_mail(connection&, const server_events::mail_received&,
                                        decision d) {
  d.accept();
}
inline void connection_handler::on_rcpt(connection&, const server_events::rcpt_received&,
                                        decision d) {
  d.accept();
}
inline void connection_handler::on_data_start(connection&, decision d) {
  d.accept();
}
inline void connection_handler::on_data(connection&, std::string_view) {}
inline void connection_handler::on_message(connection&, const server_events::message_complete&,
                                           decision d) {
  while (d) d.accept();
}
inline void connection_handler::on_message_refused(connection&, errc) {}
inline void connection_handler::on_auth(connection&, const server_events::auth_credentials&,
                                        decision d) {
  d.reject({535, enhanced_status{5, 7, 8}, "Authentication credentials invalid", {}});
}
inline void connection_handler::on_rset(connection&) {}
inline void connection_handler::on_quit(connection&) {}
inline void connection_handler::on_protocol_error(connection&,
                                                  const server_events::protocol_error&) {}
inline void connection_handler::on_close(connection&) noexcept {}

// --- server --------------------------------------------------------------------------------------

/// An SMTP (or LMTP) server on an io_context: listeners, connections, and a graceful stop.
///
/// @code
/// asio::io_context ioc;
/// smtpkit::asio::server srv(ioc, options, [](const smtpkit::asio::connection_info&) {
///   return std::make_unique<my_handler>();
/// });
/// std::error_code ec;
/// auto ep = srv.listen({asio::ip::make_address("127.0.0.1"), 2525}, ec);
/// ioc.run();   // on one thread, or on several
/// @endcode
class server {
 public:
  /// A function that makes the handler of each new connection; returning null refuses the
  /// connection (it is closed at once).
  using handler_factory =
      std::function<std::unique_ptr<connection_handler>(const connection_info&)>;

  /// Makes a server on @p ioc; nothing listens until listen().
  server(::asio::io_context& ioc, server_options options, handler_factory factory)
      : core_(std::make_shared<detail::server_core>(ioc, std::move(options), std::move(factory))) {}
  server(const server&) = delete;
  server& operator=(const server&) = delete;
  /// Closes the listeners. Connections still open run on until they end (stop() ends them).
  ~server() { close_listeners(); }

  /// Listens on @p endpoint (port 0 picks a free port). IPv6 listeners are IPv6-only, so
  /// "[::]:N" and "0.0.0.0:N" can both be used.
  /// @return the endpoint actually bound; on failure @p ec is set (the system's error: address
  ///         in use, permission denied ...) and the returned endpoint is unspecified.
  ::asio::ip::tcp::endpoint listen(const ::asio::ip::tcp::endpoint& endpoint, std::error_code& ec) {
    auto l = std::make_shared<listener>(core_->ioc);
    auto& a = l->acceptor;
    ec.clear();
    a.open(endpoint.protocol(), ec);
    if (!ec) a.set_option(::asio::socket_base::reuse_address(true), ec);
    if (!ec && endpoint.address().is_v6()) a.set_option(::asio::ip::v6_only(true), ec);
    if (!ec) a.bind(endpoint, ec);
    if (!ec) a.listen(::asio::socket_base::max_listen_connections, ec);
    if (!ec) {
      const ::asio::ip::tcp::endpoint bound = a.local_endpoint(ec);
      if (!ec) {
        {
          std::lock_guard<std::mutex> lock(listeners_mu_);
          listeners_.push_back(l);
        }
        ::asio::dispatch(a.get_executor(), [core = core_, l] { accept_next(core, l); });
        return bound;
      }
    }
    std::error_code ignored;
    a.close(ignored);
    return endpoint;
  }

  /// Stops gracefully, from any thread: listeners close, idle sessions get "421 4.3.2 ...
  /// shutting down" now, a transaction in flight is finished and then gets 421, or gets 421
  /// (and is dropped) once @p grace has passed. io_context::run() returns when all are closed.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(10000)) {
    std::vector<std::shared_ptr<connection>> open;
    {
      std::lock_guard<std::mutex> lock(core_->mu);
      core_->stop_grace = grace;
      core_->stopping.store(true);
      for (auto& w : core_->connections)
        if (auto c = w.lock()) open.push_back(std::move(c));
    }
    close_listeners();
    for (auto& c : open)
      ::asio::dispatch(c->executor(), [c, grace] { c->guarded([&] { c->begin_stop(grace); }); });
  }

  /// Ends every connection at once, from any thread (no reply; messages in flight dropped).
  void abort_all() {
    std::vector<std::shared_ptr<connection>> open;
    {
      std::lock_guard<std::mutex> lock(core_->mu);
      core_->stopping.store(true);
      for (auto& w : core_->connections)
        if (auto c = w.lock()) open.push_back(std::move(c));
    }
    close_listeners();
    for (auto& c : open) c->abort();
  }

  /// Returns the server's counters.
  server_stats stats() const noexcept {
    return {core_->accepted.load(), core_->refused.load(), core_->active.load()};
  }

  /// Returns the options in force (hostname and greeting view the server's copies).
  const server_options& options() const noexcept { return core_->options; }

 private:
  struct listener {
    ::asio::basic_socket_acceptor<::asio::ip::tcp, strand_type> acceptor;
    std::optional<::asio::steady_timer> backoff;
    explicit listener(::asio::io_context& ioc) : acceptor(::asio::make_strand(ioc)) {}
  };

  void close_listeners() {
    std::vector<std::shared_ptr<listener>> ls;
    {
      std::lock_guard<std::mutex> lock(listeners_mu_);
      ls.swap(listeners_);
    }
    for (auto& l : ls)
      ::asio::dispatch(l->acceptor.get_executor(), [l] {
        std::error_code ignored;
        l->acceptor.close(ignored);
        if (l->backoff) l->backoff->cancel();
      });
  }

  static void accept_next(const std::shared_ptr<detail::server_core>& core,
                          const std::shared_ptr<listener>& l) {
    if (!l->acceptor.is_open()) return;
    l->acceptor.async_accept(::asio::make_strand(core->ioc),
                             [core, l](const std::error_code& ec, socket_type s) {
                               on_accept(core, l, ec, std::move(s));
                             });
  }

  static void on_accept(const std::shared_ptr<detail::server_core>& core,
                        const std::shared_ptr<listener>& l, const std::error_code& ec,
                        socket_type s) {
    if (ec == ::asio::error::operation_aborted || !l->acceptor.is_open()) return;
    if (ec) {
      // Out of descriptors or memory: wait a moment rather than spin, then go on accepting.
#if defined(__cpp_exceptions)
      try {
#endif
        if (!l->backoff) l->backoff.emplace(core->ioc);
        l->backoff->expires_after(std::chrono::milliseconds(100));
        l->backoff->async_wait(
            ::asio::bind_executor(l->acceptor.get_executor(), [core, l](const std::error_code& e) {
              if (!e) accept_next(core, l);
            }));
#if defined(__cpp_exceptions)
      } catch (...) {
      }
#endif
      return;
    }
    start_connection(core, std::move(s));
    accept_next(core, l);
  }

  static void start_connection(const std::shared_ptr<detail::server_core>& core, socket_type s) {
    std::error_code ignored;
    s.set_option(::asio::ip::tcp::no_delay(true), ignored);
    // Take a slot first, so that listeners on several threads never overshoot the limit.
    const bool stopping = core->stopping.load();
    if (stopping || core->active.fetch_add(1) >= core->options.max_connections) {
      if (!stopping) core->active.fetch_sub(1);
      core->refused.fetch_add(1);
      refuse(core, std::move(s));
      return;
    }
    connection_info info;
    info.id = core->next_id.fetch_add(1);
    info.remote = s.remote_endpoint(ignored);
    info.local = s.local_endpoint(ignored);
    std::shared_ptr<connection> c;
#if defined(__cpp_exceptions)
    try {
#endif
      c = std::make_shared<connection>(core, std::move(s), std::move(info));
#if defined(__cpp_exceptions)
    } catch (...) {
      core->active.fetch_sub(1);  // no connection, so no destructor to give the slot back
      return;
    }
#endif
    // From here the connection's destructor gives the slot back.
    core->accepted.fetch_add(1);
    ::asio::dispatch(c->executor(), [c] { c->guarded([&] { c->start(); }); });
  }

  /// Sends the "too many connections" 421 and closes.
  static void refuse(const std::shared_ptr<detail::server_core>& core, socket_type s) {
    auto sock = std::make_shared<socket_type>(std::move(s));
    ::asio::async_write(*sock, ::asio::buffer(core->busy_reply),
                        [core, sock](const std::error_code&, std::size_t) {
                          std::error_code ignored;
                          sock->shutdown(::asio::socket_base::shutdown_both, ignored);
                          sock->close(ignored);
                        });
  }

  std::shared_ptr<detail::server_core> core_;
  std::mutex listeners_mu_;
  std::vector<std::shared_ptr<listener>> listeners_;
};

}  // namespace asio

SMTPKIT_NAMESPACE_END
