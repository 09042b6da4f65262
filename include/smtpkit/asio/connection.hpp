// smtpkit asio: one connection of the Asio server driver. It runs a server_session
// (smtpkit/server.hpp) over a TCP socket: it feeds the session what it reads, hands the
// session's events to the application's connection_handler, writes the session's replies, arms
// the session's timers and closes the socket when the session ends. Part of the Asio server
// driver (include <smtpkit/asio/server.hpp>). RFC 5321 4.5.3.2 (timeouts), 3.8 and 4.2.3 (421
// on shutdown), RFC 2920 (replies coalesced per batch of pipelined commands), RFC 2033 (one
// reply per LMTP recipient).
//
// Rules:
//  1. Everything a connection does runs on its executor: its reads, writes, timer, the
//     handler's callbacks, and every answer to a decision (an answer given on another thread is
//     dispatched to the executor). The executor is a strand of the connection's own, so one
//     io_context may run on any number of threads; with server_options::concurrency 1 it is the
//     io_context's executor, and the one thread that runs it serializes the connection.
//  2. Decisions may be answered later: a handler keeps its smtpkit::asio::decision and answers
//     it when it knows (after a database lookup, say). While it waits the session holds, nothing
//     is read, the event's views stay valid, and the connection keeps io_context::run() from
//     returning. A decision dropped unanswered is refused with "451 4.3.0", so a connection
//     never hangs on a forgotten answer.
//  3. Replies are coalesced: after each batch of events the driver sends all of
//     pending_output() in one write, never one write per reply. The write is tried at once
//     from the session's buffer; only what the socket does not take is copied and left to an
//     asynchronous write.
//  4. Memory is bounded per connection: one read buffer (server_options::read_size), the
//     session's fixed buffers and one write buffer. No reading while a read's bytes are not yet
//     taken by the session, while a decision is pending, or while unsent output exceeds
//     server_options::max_unsent_output (back-pressure).
//  5. Timers: the driver arms the session's current_timeout(), counted from the last byte
//     received (or the last change of kind); when it passes the session sends 421 and closes.
//     A peer that stops reading our replies is cut off after the command timeout; a closing
//     connection is cut off after server_options::close_linger.
//  6. Graceful stop (begin_stop): an idle session gets 421 at once, a transaction in flight is
//     finished or, after the grace period, refused with 421.
//  7. No exception escapes a completion handler of the driver: one thrown by an application
//     handler (or an allocation) ends that connection only.
// Only files under include/smtpkit/asio/ include Asio.
// SPDX-License-Identifier: MIT
#pragma once

#include <asio.hpp>                  // any_io_executor, steady_timer, async_write, dispatch, post
#include <atomic>                    // atomic
#include <chrono>                    // steady_clock, milliseconds
#include <cstddef>                   // size_t
#include <cstdint>                   // uint64_t, uint32_t
#include <cstring>                   // memcpy
#include <functional>                // function
#include <list>                      // list
#include <memory>                    // shared_ptr, unique_ptr, weak_ptr, enable_shared_from_this
#include <mutex>                     // mutex, lock_guard
#include <optional>                  // optional
#include <smtpkit/asio/handler.hpp>  // connection_handler, decision
#include <smtpkit/asio/server_options.hpp>  // server_options, connection_info, executor_type
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>  // errc
#include <smtpkit/server.hpp>      // server_session, server_event, deadline
#include <string>                  // string
#include <string_view>             // string_view
#include <system_error>            // error_code
#include <utility>                 // move
#include <variant>                 // visit, holds_alternative
#include <vector>                  // vector

SMTPKIT_NAMESPACE_BEGIN

namespace asio {

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

/// One connection: a socket, a server_session and the application's handler, on one executor.
/// Made by the server; handlers see it as `connection&`.
class connection : public std::enable_shared_from_this<connection>, public detail::decision_target {
 public:
  using clock = std::chrono::steady_clock;

  /// Returns who the connection is with.
  const connection_info& info() const noexcept { return info_; }
  /// Returns the session (state(), authenticated(), greeting(), tls_active() ...).
  /// @pre Called on the connection's executor (in a handler callback).
  const server_session& session() const noexcept { return session_; }
  /// Returns the connection's executor (see rule 1), to run work on it.
  executor_type executor() const noexcept { return executor_; }
  /// Returns the handler the factory made for this connection.
  connection_handler& handler() noexcept { return *handler_; }

  /// Ends the connection at once, from any thread: no reply, a message in flight is dropped.
  void abort() override {
    ::asio::dispatch(executor_, [self = shared_from_this()] { self->finish(); });
  }

  connection(std::shared_ptr<detail::server_core> core, socket_type socket, connection_info info)
      : core_(std::move(core)),
        socket_(std::move(socket)),
        executor_(socket_.get_executor()),
        // The server made the executor a strand unless concurrency is 1 (Asio's target<>()
        // does not check the type).
        strand_(core_->options.concurrency == 1 ? nullptr : executor_.target<strand_type>()),
        timer_(executor_),
        session_(core_->options.session),
        info_(std::move(info)) {}

  ~connection() {
    if (registered_) {
      std::lock_guard<std::mutex> lock(core_->mu);
      core_->connections.erase(self_in_list_);
    }
    core_->active.fetch_sub(1);  // the slot server::start_connection took
  }

  /// Starts the connection (on its executor): registers it, makes its handler, greets.
  void start() {
    {
      std::lock_guard<std::mutex> lock(core_->mu);
      self_in_list_ = core_->connections.insert(core_->connections.end(), weak_from_this());
      registered_ = true;
    }
    last_activity_ = clock::now();
    std::error_code ignored;
    socket_.non_blocking(true, ignored);  // for the direct writes of flush()
    handler_ = core_->factory(info_);
    if (!handler_) {
      finish();
      return;
    }
    if (core_->stopping.load()) begin_stop(core_->stop_grace);
    pump();
  }

  /// Starts a graceful stop of this connection (on its executor): an idle session gets 421 now,
  /// one in a transaction after it ends or, at the latest, after @p grace.
  void begin_stop(std::chrono::milliseconds grace) {
    if (finished_ || stop_requested_) return;
    stop_requested_ = true;
    stop_deadline_ = clock::now() + grace;
    session_.shutdown();
    pump();
  }

 private:
  friend class server;

  // --- answers -------------------------------------------------------------------------------

  /// Returns true when the calling thread runs this connection's executor now.
  bool on_executor() const noexcept {
    return strand_ ? strand_->running_in_this_thread()
                   : core_->ioc.get_executor().running_in_this_thread();
  }

  void answer(std::uint64_t generation, detail::answer_mode m, const reply_spec* r) override {
    if (on_executor()) {
      settle(generation);
      apply(generation, m, r);
      return;
    }
    std::shared_ptr<detail::owned_reply> copy;
    if (r) copy = std::make_shared<detail::owned_reply>(*r);
    ::asio::dispatch(executor_, [self = shared_from_this(), generation, m, copy] {
      self->settle(generation);
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

  void apply(std::uint64_t generation, detail::answer_mode m, const reply_spec* r) {
    if (finished_ || generation != generation_) return;
    static constexpr reply_spec local_problem{
        451, enhanced_status{4, 3, 0}, "Error: local problem", {}};
    std::error_code e;
    switch (m) {
      case detail::answer_mode::accept:
        e = session_.accept();
        break;
      case detail::answer_mode::accept_with:
        e = session_.accept(*r);
        if (e == errc::invalid_argument) e = session_.accept();
        break;
      case detail::answer_mode::reject_with:
        e = session_.reject(*r);
        if (e == errc::invalid_argument) e = session_.reject(local_problem);
        break;
      case detail::answer_mode::reject_default:
        e = session_.reject(local_problem);
        break;
    }
    if (e == errc::output_full && session_.pending_output().empty()) {
      // Longer than the session's whole output buffer: it never fits, so answer as for a reply
      // the session refuses.
      e = m == detail::answer_mode::accept_with ? session_.accept()
                                                : session_.reject(local_problem);
    }
    if (e == errc::output_full) {
      // The reply does not fit behind the output not yet sent: answer again once it is sent
      // (at once when the socket takes it all, else after the write; see pump()).
      retry_.emplace(r ? std::optional<detail::owned_reply>(detail::owned_reply(*r)) : std::nullopt,
                     m, generation);
      flush();
      if (!in_pump_ && !writing_) pump();
      return;
    }
    if (!in_pump_) pump();
  }

  decision make_decision(std::size_t count = 1) {
    answers_owed_ = count;
    return decision(shared_from_this(), ++generation_, count);
  }

  /// After a callback that got a decision: while its answer is owed, keeps io_context::run()
  /// from returning (the session waits with no I/O in progress).
  void hold_while_owed() {
    if (answers_owed_ != 0 && !owed_work_) owed_work_.emplace(core_->ioc.get_executor());
  }

  /// Counts an answer to the decision numbered @p generation (on the executor, before it is
  /// applied); the last one owed releases the hold.
  void settle(std::uint64_t generation) noexcept {
    if (generation != generation_ || answers_owed_ == 0) return;
    if (--answers_owed_ == 0) owed_work_.reset();
  }

  // --- the loop ------------------------------------------------------------------------------

  /// Feeds the session, hands out its events, then writes, reads and arms the timer.
  void pump() {
    if (finished_ || in_pump_) return;
    in_pump_ = true;
    do {
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
      // An answer that waited for room: flush() sent what was in the way at once, so answer
      // again now (after an asynchronous write, on_written() pumps again instead).
    } while (!finished_ && retry_ && !writing_);
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
    hold_while_owed();
  }
  void dispatch(server_events::helo_received& e) {
    handler_->on_helo(*this, e, make_decision());
    hold_while_owed();
  }
  void dispatch(server_events::mail_received& e) {
    handler_->on_mail(*this, e, make_decision());
    hold_while_owed();
  }
  void dispatch(server_events::rcpt_received& e) {
    handler_->on_rcpt(*this, e, make_decision());
    hold_while_owed();
  }
  void dispatch(server_events::data_started&) {
    handler_->on_data_start(*this, make_decision());
    hold_while_owed();
  }
  void dispatch(server_events::data_chunk& e) {
    handler_->on_data(*this, e.bytes);
  }
  void dispatch(server_events::message_complete& e) {
    const std::size_t n = session_.config().features.lmtp && e.recipients != 0 ? e.recipients : 1;
    handler_->on_message(*this, e, make_decision(n));
    hold_while_owed();
  }
  void dispatch(server_events::message_refused& e) {
    handler_->on_message_refused(*this, e.reason);
  }
  void dispatch(server_events::auth_credentials& e) {
    handler_->on_auth(*this, e, make_decision());
    hold_while_owed();
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
    std::string_view out = session_.pending_output();
    if (out.empty()) return;
    if (write_failed_) {
      session_.consume_output(out.size());
      return;
    }
    // Rule 3: send at once from the session's buffer; the socket usually takes it all, and then
    // the replies cost no copy, no completion handler and no trip through the executor.
    std::error_code err;
    const std::size_t sent = socket_.write_some(::asio::buffer(out.data(), out.size()), err);
    if (err && err != ::asio::error::would_block && err != ::asio::error::try_again) {
      // The peer is gone: handled as a failed asynchronous write, once this call is over.
      writing_ = true;
      ::asio::post(executor_, [self = shared_from_this(), err] {
        self->guarded([&] { self->on_written(err); });
      });
      return;
    }
    if (sent != 0) {
      session_.consume_output(sent);
      last_activity_ = clock::now();
      out = session_.pending_output();
      if (out.empty()) return;
    }
    // The rest waits in the connection's write buffer for an asynchronous write.
    if (wcap_ < out.size()) {
      wcap_ = out.size() < 8192 ? 8192 : out.size();
      wbuf_.reset(new char[wcap_]);
    }
    std::memcpy(wbuf_.get(), out.data(), out.size());
    wlen_ = out.size();
    session_.consume_output(out.size());
    writing_ = true;
    ::asio::async_write(socket_, ::asio::buffer(wbuf_.get(), wlen_),
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
    if (peer_eof_ || write_failed_) {
      finish();
      return;
    }
    // Nothing unread: close now (a plain FIN). Otherwise half-close and read what the peer still
    // sends until it closes (bounded by close_linger and close_drain), so that closing with
    // unread data does not reset the connection before the last reply arrives.
    std::error_code e;
    const std::size_t unread = socket_.available(e);
    if (e || (unread == 0 && rpos_ == rend_)) {
      finish();
      return;
    }
    socket_.shutdown(::asio::socket_base::shutdown_send, e);
    if (!reading_) start_read();
  }

  void finish() noexcept {
    if (finished_) return;
    finished_ = true;
    std::error_code ignored;
    socket_.close(ignored);  // a FIN, or a reset when the peer's bytes are left unread
    timer_.cancel();
    ++timer_generation_;
    if (!handler_) return;
    handler_->on_close(*this);
    // Destroy the handler after the current call returns (a handler may be on the stack now);
    // this also drops any decision it kept, which would otherwise keep the connection alive.
#if defined(__cpp_exceptions)
    try {
#endif
      ::asio::post(executor_, [self = shared_from_this()] { self->handler_.reset(); });
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
    detail::answer_mode m;
    std::uint64_t generation;
    retry_answer(std::optional<detail::owned_reply> r, detail::answer_mode mm, std::uint64_t g)
        : reply(std::move(r)), m(mm), generation(g) {}
  };

  std::shared_ptr<detail::server_core> core_;
  socket_type socket_;
  executor_type executor_;
  const strand_type* strand_;  // executor_'s target when it is a strand, else null
  ::asio::basic_waitable_timer<clock, ::asio::wait_traits<clock>, executor_type> timer_;
  server_session session_;
  connection_info info_;
  std::unique_ptr<connection_handler> handler_;
  std::list<std::weak_ptr<connection>>::iterator self_in_list_{};
  bool registered_ = false;

  std::unique_ptr<char[]> rbuf_;
  std::size_t rpos_ = 0, rend_ = 0;  // bytes read and not yet taken by the session
  std::unique_ptr<char[]> wbuf_;     // what the socket did not take at once (rule 3)
  std::size_t wcap_ = 0, wlen_ = 0;
  std::size_t drained_ = 0;
  std::optional<retry_answer> retry_;
  std::uint64_t generation_ = 0;  // of the pending decision
  std::size_t answers_owed_ = 0;  // to it, not yet given
  std::optional<::asio::executor_work_guard<::asio::io_context::executor_type>> owed_work_;

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

}  // namespace asio

SMTPKIT_NAMESPACE_END
