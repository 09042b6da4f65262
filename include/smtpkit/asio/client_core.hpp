// smtpkit asio: the state behind smtpkit::asio::client (client.hpp, whose rules it follows):
// connecting to each address in turn, the loop that feeds the client_session and drains its
// events, the start_tls hook, writing, reading, closing and the RFC 5321 4.5.3.2 timers. The
// operations' steps are in client_operations.hpp.
// Only files under include/smtpkit/asio/ include Asio.
// SPDX-License-Identifier: MIT
#pragma once

#include <asio.hpp>    // strand, ip::tcp, steady_timer, async_write, post, dispatch, prefer
#include <chrono>      // steady_clock, milliseconds
#include <cstddef>     // size_t
#include <cstdint>     // uint32_t, uint64_t
#include <cstring>     // memcpy, memmove
#include <functional>  // function
#include <memory>      // shared_ptr, unique_ptr, enable_shared_from_this
#include <smtpkit/asio/client_types.hpp>
#include <smtpkit/client.hpp>
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>
#include <string>        // string, to_string
#include <string_view>   // string_view
#include <system_error>  // error_code, errc
#include <tuple>         // make_tuple, apply
#include <type_traits>   // decay_t, is_constructible_v
#include <utility>       // move, forward
#include <variant>       // visit, holds_alternative
#include <vector>        // vector

SMTPKIT_NAMESPACE_BEGIN

namespace asio {

namespace detail {

/// A move-only, type-erased completion handler that is posted to its associated executor with
/// outstanding work tracked until then (rule 2 of client.hpp).
template <class Signature>
class completion;

template <class... Args>
class completion<void(Args...)> {
 public:
  completion() noexcept = default;
  template <class Handler>
  completion(Handler&& h, const ::asio::any_io_executor& fallback)
      : impl_(new impl<std::decay_t<Handler>>(std::forward<Handler>(h), fallback)) {}

  explicit operator bool() const noexcept { return impl_ != nullptr; }

  /// Posts the handler with @p args; afterwards this is empty.
  void complete(Args... args) {
    std::unique_ptr<base> p = std::move(impl_);
    if (p) p->post(std::move(args)...);
  }

 private:
  struct base {
    virtual ~base() = default;
    virtual void post(Args... args) = 0;
  };
  template <class H>
  struct impl final : base {
    using executor = ::asio::associated_executor_t<H, ::asio::any_io_executor>;
    H handler;
    executor ex;
    // Outstanding work on the handler's executor, when it is an I/O executor (use_future's
    // and the system executor need none).
    ::asio::any_io_executor work;
    impl(H&& h, const ::asio::any_io_executor& fallback)
        : handler(std::move(h)), ex(::asio::get_associated_executor(handler, fallback)) {
      if constexpr (std::is_constructible_v<::asio::any_io_executor, executor>)
        work = ::asio::prefer(::asio::any_io_executor(ex),
                              ::asio::execution::outstanding_work.tracked);
    }
    void post(Args... args) override {
      ::asio::any_io_executor keep = std::move(work);
      ::asio::post(ex, [h = std::move(handler), a = std::make_tuple(std::move(args)...),
                        keep]() mutable { std::apply(std::move(h), std::move(a)); });
    }
  };
  std::unique_ptr<base> impl_;
};

/// Assembles trace lines from the bytes of one direction (rule 7 of client.hpp).
class trace_lines {
 public:
  /// Calls @p emit for every line completed by @p bytes; a line over 4096 octets is passed in
  /// pieces, so memory stays bounded.
  template <class Emit>
  void feed(std::string_view bytes, Emit&& emit) {
    while (!bytes.empty()) {
      const std::size_t lf = bytes.find('\n');
      const std::size_t take = lf == std::string_view::npos ? bytes.size() : lf + 1;
      partial_.append(bytes.data(), take);
      bytes.remove_prefix(take);
      if (lf != std::string_view::npos) {
        partial_.pop_back();
        if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
        emit(std::string_view(partial_));
        partial_.clear();
      } else if (partial_.size() > 4096) {
        emit(std::string_view(partial_));
        partial_.clear();
      }
    }
  }
  void clear() noexcept { partial_.clear(); }

 private:
  std::string partial_;
};

/// The state of a client; shared with its pending handlers so that it outlives them.
class client_core : public std::enable_shared_from_this<client_core> {
 public:
  using clock = std::chrono::steady_clock;
  using strand_type = ::asio::strand<::asio::any_io_executor>;
  using timer_type = ::asio::basic_waitable_timer<clock>;

  client_core(const ::asio::any_io_executor& ex, client_options o)
      : options_(std::move(o)),
        strand_(::asio::make_strand(ex)),
        socket_(strand_),
        resolver_(strand_),
        timer_(strand_),
        connect_timer_(strand_),
        helo_name_(options_.session.helo_name) {
    if (options_.read_size < 512) options_.read_size = 512;
    // Each connection makes a session from this configuration: it views the client's copy.
    options_.session.helo_name = helo_name_;
  }

  strand_type& strand() noexcept { return strand_; }
  const client_options& options() const noexcept { return options_; }
  const client_session* session() const noexcept { return session_.get(); }
  ::asio::ip::tcp::endpoint remote_endpoint() const noexcept { return remote_; }

  // --- operations (on the strand) --------------------------------------------------------------

  void start_connect(completion<void(std::error_code, server_reply)> done, std::string host,
                     std::string service) {
    if (!idle_for_new_op()) {
      done.complete(make_error_code(errc::invalid_state), server_reply{});
      return;
    }
    reset_connection();
    op_ = op_kind::connect;
    connect_done_ = std::move(done);
    host_ = std::move(host);
    auto self = shared_from_this();
    const std::uint64_t generation = ++connect_generation_;
    resolver_.async_resolve(
        host_, service,
        [self, generation](const std::error_code& ec,
                           ::asio::ip::tcp::resolver::results_type results) {
          self->guarded([&] {
            if (self->op_ != op_kind::connect || generation != self->connect_generation_) return;
            if (ec) {
              self->finish_connect(ec);
              return;
            }
            self->endpoints_.assign(results.begin(), results.end());
            self->next_endpoint_ = 0;
            self->last_connect_error_ = make_error_code(std::errc::host_unreachable);
            self->try_next_endpoint();
          });
        });
  }

  void start_connect_endpoints(completion<void(std::error_code, server_reply)> done,
                               std::vector<::asio::ip::tcp::endpoint> eps, std::string host) {
    if (!idle_for_new_op()) {
      done.complete(make_error_code(errc::invalid_state), server_reply{});
      return;
    }
    reset_connection();
    op_ = op_kind::connect;
    connect_done_ = std::move(done);
    host_ = std::move(host);
    ++connect_generation_;
    endpoints_.clear();
    for (const auto& ep : eps) endpoints_.emplace_back(ep, "", "");
    next_endpoint_ = 0;
    last_connect_error_ = make_error_code(std::errc::host_unreachable);
    try_next_endpoint();
  }

  void start_auth(completion<void(std::error_code, auth_result)> done,
                  std::vector<sasl::client_mechanism*> candidates, bool exact) {
    if (!idle_for_new_op() || !session_ready()) {
      done.complete(make_error_code(closed_error_or(errc::invalid_state)), auth_result{});
      return;
    }
    op_ = op_kind::auth;
    auth_done_ = std::move(done);
    auth_result_ = auth_result{};
    candidates_ = std::move(candidates);
    auth_exact_ = exact;
    auth_started_ = false;
    pump();
  }

  void start_send(completion<void(std::error_code, send_result)> done, envelope env,
                  message_source& source) {
    if (!idle_for_new_op() || !session_ready()) {
      done.complete(make_error_code(closed_error_or(errc::invalid_state)), send_result{});
      return;
    }
    send_.reset();
    send_.env = std::move(env);  // the paths below view these strings: parse after the move
    send_.source = &source;
    send_.result.recipients.resize(send_.env.to.size());
    const std::error_code e = prepare_envelope();
    if (e) {
      done.complete(e, std::move(send_.result));
      return;
    }
    if (!body_) body_.reset(new char[body_capacity]);
    op_ = op_kind::send;
    send_done_ = std::move(done);
    pump();
  }

  void start_quit(completion<void(std::error_code)> done) {
    if (!idle_for_new_op()) {
      done.complete(make_error_code(errc::invalid_state));
      return;
    }
    if (!session_ || finished_ || session_->state() == client_state::closed) {
      const bool quit_done =
          session_ && session_->state() == client_state::closed && close_reason_ == errc{};
      done.complete(quit_done ? std::error_code()
                              : make_error_code(closed_error_or(errc::session_closed)));
      return;
    }
    op_ = op_kind::quit;
    quit_done_ = std::move(done);
    pump();
  }

  /// Closes the connection at once; a pending operation fails with operation_aborted.
  void close_now() {
    fail_op(make_error_code(::asio::error::operation_aborted));
    finish();
  }

 private:
  enum class op_kind : unsigned char { none, connect, auth, send, quit };
  static constexpr std::size_t body_capacity = 65536;

  struct send_state {
    envelope env;
    reverse_path from;
    std::vector<forward_path> rcpts;
    message_source* source = nullptr;
    send_result result;
    std::size_t next_rcpt = 0;
    std::size_t body_pos = 0;  // in the body buffer: octets sent
    std::size_t body_len = 0;  // octets read
    std::error_code failure;   // a local failure after MAIL: reported instead
    bool mail_sent = false;
    bool data_sent = false;  // DATA, or the first BDAT chunk
    bool source_done = false;
    bool end_sent = false;  // the final ".", or BDAT LAST
    bool rset_sent = false;
    void reset() {
      env = envelope{};
      from = reverse_path{};
      rcpts.clear();
      source = nullptr;
      result = send_result{};
      next_rcpt = body_pos = body_len = 0;
      failure.clear();
      mail_sent = data_sent = source_done = end_sent = rset_sent = false;
    }
  };

  // --- helpers ----------------------------------------------------------------------------------

  bool idle_for_new_op() const noexcept { return op_ == op_kind::none; }
  bool session_ready() const noexcept {
    return session_ && !finished_ && session_->state() == client_state::ready;
  }
  /// The error a new operation gets on a session that has ended, or @p otherwise.
  errc closed_error_or(errc otherwise) const noexcept {
    if (session_ && (finished_ || session_->state() == client_state::closed))
      return close_reason_ == errc{} ? errc::session_closed : close_reason_;
    return otherwise;
  }

  template <typename F>
  void guarded(F&& f) noexcept {
#if defined(__cpp_exceptions)
    try {
      f();
    } catch (...) {
      try {
        fail_op(make_error_code(std::errc::not_enough_memory));
      } catch (...) {
      }
      finish();
    }
#else
    f();
#endif
  }

  void trace(trace_kind k, std::string_view line) {
    if (options_.trace) options_.trace(k, line);
  }

  // --- connecting ----------------------------------------------------------------------------

  void reset_connection() {
    std::error_code ignored;
    if (tls_) tls_->close();
    tls_.reset();
    socket_.close(ignored);
    timer_.cancel();
    connect_timer_.cancel();
    ++timer_generation_;
    timer_armed_ = false;
    session_.reset();
    ++conn_generation_;  // handlers of the previous connection's reads and writes do nothing
    rpos_ = rend_ = wlen_ = 0;
    reading_ = writing_ = peer_eof_ = eof_told_ = write_failed_ = false;
    finished_ = closing_ = tls_starting_ = auth_trace_ = false;
    close_reason_ = errc{};
    last_reply_ = server_reply{};
    sent_lines_.clear();
    received_lines_.clear();
  }

  void try_next_endpoint() {
    if (next_endpoint_ >= endpoints_.size()) {
      finish_connect(last_connect_error_);
      return;
    }
    const ::asio::ip::tcp::endpoint ep = endpoints_[next_endpoint_++].endpoint();
    std::error_code ignored;
    socket_.close(ignored);
    auto self = shared_from_this();
    const std::uint64_t generation = ++connect_generation_;
    if (options_.connect_timeout.count() > 0) {
      connect_timer_.expires_after(options_.connect_timeout);
      connect_timer_.async_wait([self, generation](const std::error_code& ec) {
        if (ec || generation != self->connect_generation_) return;
        self->connect_timed_out_ = true;
        std::error_code ignore;
        self->socket_.close(ignore);  // the pending connect completes with operation_aborted
      });
    }
    connect_timed_out_ = false;
    socket_.async_connect(ep, [self, generation, ep](const std::error_code& ec) {
      self->guarded([&] {
        if (generation != self->connect_generation_ || self->op_ != op_kind::connect) return;
        self->connect_timer_.cancel();
        ++self->connect_generation_;  // a timer already queued must not close this socket
        if (ec) {
          self->last_connect_error_ =
              self->connect_timed_out_ ? make_error_code(std::errc::timed_out) : ec;
          self->try_next_endpoint();
          return;
        }
        self->on_connected(ep);
      });
    });
  }

  void on_connected(const ::asio::ip::tcp::endpoint& ep) {
    std::error_code ignored;
    socket_.set_option(::asio::ip::tcp::no_delay(true), ignored);
    remote_ = ep;
    if (options_.trace)
      trace(trace_kind::info,
            "connected to " + ep.address().to_string() + " port " + std::to_string(ep.port()));
    session_ = std::make_unique<client_session>(options_.session);
    if (!rbuf_) rbuf_.reset(new char[options_.read_size]);
    last_activity_ = clock::now();
    last_kind_ = timeout_kind::none;
    if (options_.session.implicit_tls) {
      begin_tls();
      return;
    }
    pump();
  }

  void finish_connect(const std::error_code& ec) {
    if (op_ != op_kind::connect) return;
    op_ = op_kind::none;
    connect_done_.complete(ec, last_reply_);
  }

  // --- TLS -----------------------------------------------------------------------------------

  void begin_tls() {
    if (!options_.start_tls) {
      // Rule 6: nothing more goes over this connection, in clear or otherwise.
      fail_op(make_error_code(std::errc::protocol_not_supported));
      finish();
      return;
    }
    tls_starting_ = true;
    trace(trace_kind::info, "starting TLS");
    auto self = shared_from_this();
    options_.start_tls(
        socket_, host_,
        [self, generation = conn_generation_](const std::error_code& ec,
                                              std::unique_ptr<client_stream> s) {
          ::asio::dispatch(
              self->strand_,
              [self, generation, ec, p = std::shared_ptr<client_stream>(std::move(s))]() mutable {
                if (generation != self->conn_generation_) return;
                self->guarded([&] { self->on_tls_started(ec, std::move(p)); });
              });
        });
  }

  void on_tls_started(const std::error_code& ec, std::shared_ptr<client_stream> s) {
    tls_starting_ = false;
    if (finished_) return;
    if (ec || !s) {
      fail_op(ec ? ec : make_error_code(std::errc::protocol_error));
      finish();
      return;
    }
    tls_ = std::move(s);
    rpos_ = rend_ = 0;  // nothing read before the handshake counts (RFC 3207 5)
    last_activity_ = clock::now();
    if (session_->state() == client_state::tls_pending) session_->tls_started();
    pump();
  }

  // --- the loop ------------------------------------------------------------------------------

  /// Feeds the session, handles its events, advances the operation, then writes, reads and
  /// arms the timer.
  void pump() {
    if (in_pump_ || !session_ || finished_) return;
    in_pump_ = true;
    for (int round = 0; round < 100000 && !finished_; ++round) {
      bool progress = false;
      if (rpos_ < rend_) {
        const std::size_t n =
            session_->receive(std::string_view(rbuf_.get() + rpos_, rend_ - rpos_));
        if (n != 0 && options_.trace) {
          received_lines_.feed(std::string_view(rbuf_.get() + rpos_, n),
                               [this](std::string_view l) { trace(trace_kind::received, l); });
        }
        rpos_ += n;
        progress |= n != 0;
      } else if (peer_eof_ && !eof_told_) {
        eof_told_ = true;
        session_->receive_eof();
        progress = true;
      }
      progress |= drain_events();
      if (finished_) break;
      progress |= step_operation();
      if (!progress) break;
    }
    in_pump_ = false;
    if (finished_) return;
    flush();
    maybe_read();
    maybe_close();
    update_timer();
  }

  bool drain_events() {
    bool any = false;
    for (;;) {
      client_event ev = session_->next_event();
      if (std::holds_alternative<client_events::need_data>(ev)) return any;
      any = true;
      std::visit([this](auto& e) { on_event(e); }, ev);
      if (std::holds_alternative<client_events::closed>(ev) || finished_) return any;
    }
  }

  void on_event(client_events::need_data&) {}
  void on_event(client_events::reply_received& e) {
    // The reply that decided is kept: the 221 to the session's own QUIT after a refusal (a 554
    // greeting, STARTTLS required) says nothing.
    if (e.command != client_command::quit) last_reply_.assign(e.response);
  }
  void on_event(client_events::ready&) {
    if (op_ == op_kind::connect) finish_connect({});
  }
  void on_event(client_events::start_tls&) {
    begin_tls();
  }
  void on_event(client_events::auth_done& e) {
    auth_trace_ = false;
    if (op_ != op_kind::auth) return;
    auth_result_.success = e.success;
    auth_result_.mechanism.assign(e.mechanism);
    auth_result_.server_message.assign(e.server_message);
    auth_result_.reply = server_reply::from(e.response);
    std::error_code ec;
    if (e.error != errc{})
      ec = e.error;
    else if (!e.success)
      ec = errc::auth_failed;
    op_ = op_kind::none;
    auth_done_.complete(ec, std::move(auth_result_));
  }
  void on_event(client_events::recipient_result& e) {
    if (op_ != op_kind::send || e.index >= send_.result.recipients.size()) return;
    recipient_outcome& r = send_.result.recipients[e.index];
    r.accepted = e.accepted;
    r.reply = server_reply::from(e.response);
  }
  void on_event(client_events::body_ready&) {}
  void on_event(client_events::delivery_result& e) {
    if (op_ != op_kind::send || e.index >= send_.result.recipients.size()) return;
    recipient_outcome& r = send_.result.recipients[e.index];
    r.delivered = e.delivered;
    r.delivery = server_reply::from(e.response);
  }
  void on_event(client_events::transaction_done& e) {
    if (op_ != op_kind::send) return;
    send_result& r = send_.result;
    r.accepted = e.accepted;
    r.stage = e.stage;
    r.delivered = e.recipients;
    r.reply = server_reply::from(e.response);
    if (r.reply.empty()) r.reply = last_reply_;
    if (!session_->config().lmtp && e.accepted) {
      for (auto& rc : r.recipients) rc.delivered = rc.accepted;
    }
    std::error_code ec = send_.failure;
    if (!ec && e.error != errc{}) ec = e.error;
    op_ = op_kind::none;
    send_done_.complete(ec, std::move(r));
  }
  void on_event(client_events::protocol_error&) {}
  void on_event(client_events::closed& e) {
    close_reason_ = e.reason;
    fail_op(make_error_code(e.reason == errc{} ? errc::session_closed : e.reason));
    closing_ = true;  // send what is left (a QUIT), then close
  }

  /// Completes the pending operation with @p ec (the session ended, or the connection broke).
  void fail_op(const std::error_code& ec) {
    const op_kind k = op_;
    op_ = op_kind::none;
    switch (k) {
      case op_kind::none:
        break;
      case op_kind::connect:
        connect_done_.complete(ec, last_reply_);
        break;
      case op_kind::auth:
        auth_result_.reply = last_reply_;
        auth_done_.complete(ec, std::move(auth_result_));
        break;
      case op_kind::send:
        send_.result.reply = last_reply_;
        send_done_.complete(send_.failure ? send_.failure : ec, std::move(send_.result));
        break;
      case op_kind::quit:
        // QUIT answered (or the server closed after it): success.
        quit_done_.complete(close_reason_ == errc{} && session_ &&
                                    session_->state() == client_state::closed
                                ? std::error_code()
                                : ec);
        break;
    }
  }

  // --- operations (client_operations.hpp) -------------------------------------------------

  /// Advances the pending operation as far as the session allows; returns true when it did
  /// something (wrote a command, read the message, completed).
  bool step_operation();
  /// Returns true for the errors after which a step waits for a reply or a write.
  static bool must_wait(const std::error_code& e) noexcept;
  /// Starts the AUTH exchange once the session allows it.
  bool step_auth();
  /// Sends QUIT once the session allows it.
  bool step_quit();
  /// Checks every address before anything is written (rule 4 of client.hpp).
  std::error_code prepare_envelope();
  /// MAIL, every RCPT, then DATA and the message (or step_bdat()).
  bool step_send();
  /// Sends the message in BDAT chunks: each is sent once the one after it has been read, so
  /// the last one carries LAST.
  bool step_bdat();
  /// Reads from the source until the body buffer holds at least @p want octets past body_pos
  /// or the source ends. Returns false when the source failed (the connection is closing).
  bool fill_body(std::size_t want);
  /// A local failure after MAIL, before the message: RSET ends the transaction, and the send
  /// completes with @p e once its replies are in.
  bool abandon(const std::error_code& e);
  /// The message cannot be finished: close without the final "." (rule 4 of client.hpp).
  void fail_source(const std::error_code& e);

  // --- writing -------------------------------------------------------------------------------

  void flush() {
    if (writing_ || finished_ || tls_starting_ || !session_) return;
    const std::string_view out = session_->pending_output();
    if (out.empty()) return;
    if (write_failed_) {
      session_->consume_output(out.size());
      return;
    }
    if (wbuf_.size() < out.size()) wbuf_.resize(out.size() < 16384 ? 16384 : out.size());
    std::memcpy(wbuf_.data(), out.data(), out.size());
    wlen_ = out.size();
    session_->consume_output(out.size());
    if (options_.trace) trace_sent(std::string_view(wbuf_.data(), wlen_));
    writing_ = true;
    auto self = shared_from_this();
    const std::uint64_t generation = conn_generation_;
    auto done = [self, generation](const std::error_code& ec, std::size_t) {
      if (generation != self->conn_generation_) return;
      self->guarded([&] { self->on_written(ec); });
    };
    if (tls_)
      tls_->async_write(::asio::buffer(wbuf_.data(), wlen_), done);
    else
      ::asio::async_write(socket_, ::asio::buffer(wbuf_.data(), wlen_), done);
  }

  void trace_sent(std::string_view bytes) {
    sent_lines_.feed(bytes, [this](std::string_view l) {
      if (!auth_trace_) {
        trace(trace_kind::sent, l);
        return;
      }
      // AUTH MECH [initial-response], then responses: only the verb, the mechanism and the
      // cancel line "*" are shown.
      if (l.size() > 5 && ascii::iequals(l.substr(0, 5), "AUTH ")) {
        const std::size_t sp = l.find(' ', 5);
        if (sp == std::string_view::npos) {
          trace(trace_kind::sent, l);
        } else {
          std::string masked(l.substr(0, sp));
          masked += " <secret>";
          trace(trace_kind::sent, masked);
        }
      } else if (l == "*") {
        trace(trace_kind::sent, l);
      } else {
        trace(trace_kind::sent, "<secret>");
      }
    });
  }

  void on_written(const std::error_code& ec) {
    writing_ = false;
    if (finished_) return;
    if (ec) {
      // The server is gone: drop what is left to send and let the session wind down.
      write_failed_ = true;
      peer_eof_ = true;
      rpos_ = rend_ = 0;
    } else {
      last_activity_ = clock::now();
    }
    pump();
  }

  // --- reading -------------------------------------------------------------------------------

  void maybe_read() {
    if (reading_ || finished_ || closing_ || tls_starting_ || !session_) return;
    if (peer_eof_ || rpos_ < rend_ || !session_->wants_read()) return;
    reading_ = true;
    auto self = shared_from_this();
    const std::uint64_t generation = conn_generation_;
    auto done = [self, generation](const std::error_code& ec, std::size_t n) {
      if (generation != self->conn_generation_) return;
      self->guarded([&] { self->on_read(ec, n); });
    };
    if (tls_)
      tls_->async_read_some(::asio::buffer(rbuf_.get(), options_.read_size), done);
    else
      socket_.async_read_some(::asio::buffer(rbuf_.get(), options_.read_size), done);
  }

  void on_read(const std::error_code& ec, std::size_t n) {
    reading_ = false;
    if (finished_) return;
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
    if (!closing_ || writing_ ||
        (session_ && !session_->pending_output().empty() && !write_failed_))
      return;
    finish();
  }

  void finish() noexcept {
    if (finished_) return;
    finished_ = true;
    closing_ = false;
    std::error_code ignored;
    if (tls_) tls_->close();
    socket_.shutdown(::asio::socket_base::shutdown_both, ignored);
    socket_.close(ignored);
    timer_.cancel();
    connect_timer_.cancel();
    ++timer_generation_;
    timer_armed_ = false;
#if defined(__cpp_exceptions)
    try {
#endif
      // A connection that ends under an operation (the server dropped it, a TLS failure):
      // the operation learns why.
      if (op_ != op_kind::none) {
        errc why = errc::connection_lost;
        if (session_ && session_->state() == client_state::closed && close_reason_ != errc{})
          why = close_reason_;
        fail_op(make_error_code(why));
      }
#if defined(__cpp_exceptions)
    } catch (...) {
    }
#endif
  }

  // --- time ----------------------------------------------------------------------------------

  clock::time_point wanted_deadline() {
    if (finished_ || !session_ || tls_starting_) return clock::time_point::max();
    const deadline t = session_->current_timeout();
    if (t.kind != last_kind_) {
      last_kind_ = t.kind;
      last_activity_ = clock::now();
    }
    std::uint32_t ms = t.milliseconds;
    if (t.kind == timeout_kind::none && writing_) {
      const client_timeouts& to = session_->config().timeouts;
      ms = session_->phase() == transaction_phase::body ? to.data_block : to.command;
    }
    if (ms == 0) return clock::time_point::max();
    return last_activity_ + std::chrono::milliseconds(ms);
  }

  void update_timer() {
    const clock::time_point d = wanted_deadline();
    if (d == clock::time_point::max()) return;  // an armed timer recomputes when it fires
    if (timer_armed_ && armed_for_ <= d) return;
    timer_armed_ = true;
    armed_for_ = d;
    const std::uint64_t generation = ++timer_generation_;
    timer_.expires_at(d);
    auto self = shared_from_this();
    timer_.async_wait([self, generation](const std::error_code&) {
      self->guarded([&] { self->on_timer(generation); });
    });
  }

  void on_timer(std::uint64_t generation) {
    if (generation != timer_generation_ || finished_) return;
    timer_armed_ = false;
    const clock::time_point d = wanted_deadline();
    if (clock::now() < d) {
      update_timer();
      return;
    }
    if (d == clock::time_point::max()) return;
    if (session_->state() == client_state::closed || closing_) {  // the server stopped reading
      finish();
      return;
    }
    session_->timeout();
    pump();
  }

  client_options options_;
  strand_type strand_;
  client_socket socket_;
  ::asio::ip::tcp::resolver resolver_;
  timer_type timer_;
  timer_type connect_timer_;
  std::unique_ptr<client_session> session_;
  std::shared_ptr<client_stream> tls_;
  std::string helo_name_;  // client_config::helo_name, copied
  std::string host_;
  ::asio::ip::tcp::endpoint remote_;
  std::vector<::asio::ip::basic_resolver_entry<::asio::ip::tcp>> endpoints_;
  std::size_t next_endpoint_ = 0;
  std::error_code last_connect_error_;
  std::uint64_t connect_generation_ = 0;
  std::uint64_t conn_generation_ = 0;
  bool connect_timed_out_ = false;

  std::unique_ptr<char[]> rbuf_;
  std::size_t rpos_ = 0, rend_ = 0;  // read and not yet taken by the session
  std::vector<char> wbuf_;
  std::size_t wlen_ = 0;
  std::unique_ptr<char[]> body_;

  op_kind op_ = op_kind::none;
  completion<void(std::error_code, server_reply)> connect_done_;
  completion<void(std::error_code, auth_result)> auth_done_;
  completion<void(std::error_code, send_result)> send_done_;
  completion<void(std::error_code)> quit_done_;
  auth_result auth_result_;
  std::vector<sasl::client_mechanism*> candidates_;
  bool auth_exact_ = false;
  bool auth_started_ = false;
  send_state send_;

  server_reply last_reply_;
  errc close_reason_{};
  trace_lines sent_lines_;
  trace_lines received_lines_;

  clock::time_point last_activity_{};
  clock::time_point armed_for_{};
  std::uint64_t timer_generation_ = 0;
  timeout_kind last_kind_ = timeout_kind::none;

  bool in_pump_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool write_failed_ = false;
  bool peer_eof_ = false;
  bool eof_told_ = false;
  bool closing_ = false;
  bool finished_ = false;
  bool timer_armed_ = false;
  bool tls_starting_ = false;
  bool auth_trace_ = false;
};

}  // namespace detail

}  // namespace asio

SMTPKIT_NAMESPACE_END

#include <smtpkit/asio/client_operations.hpp>
