// smtpkit asio: the application's side of a connection of the Asio server driver: the
// connection_handler it implements, and the decision through which it answers a session's
// decision events (MAIL, RCPT, end of message, AUTH ...), now or later, from any thread. Part of
// the Asio server driver (include <smtpkit/asio/server.hpp>). RFC 5321 3.3 and 4.2 (the replies
// a decision gives), RFC 2033 4.2 (one answer per LMTP recipient), RFC 4954 (AUTH).
//
// Rules:
//  1. A decision is answered once (once per accepted recipient for an LMTP message); later
//     answers do nothing. A decision destroyed unanswered is refused with "451 4.3.0".
//  2. While a decision is owed past the callback that gave it, io_context::run() does not
//     return: the session waiting on the application has no I/O in progress, but the
//     connection is not over. The connection holds that work, not the decision, so that an
//     answer given within the callback costs no more than a function call.
//  3. Handler callbacks run on the connection's executor, one at a time.
// Only files under include/smtpkit/asio/ include Asio.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>                  // size_t
#include <cstdint>                  // uint64_t
#include <memory>                   // shared_ptr
#include <smtpkit/codec/reply.hpp>  // reply_spec
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>     // errc
#include <smtpkit/server/events.hpp>  // server_events
#include <string_view>                // string_view
#include <utility>                    // move

SMTPKIT_NAMESPACE_BEGIN

namespace asio {

class connection;

namespace detail {

/// How a decision is answered.
enum class answer_mode : unsigned char { accept, accept_with, reject_with, reject_default };

/// What a decision answers: the connection waiting for it (connection.hpp). An interface, so
/// that a decision needs nothing but this header.
class decision_target {
 public:
  virtual ~decision_target() = default;
  /// Applies an answer to the decision numbered @p generation; from any thread (an answer from
  /// another thread is copied and dispatched to the connection's executor).
  virtual void answer(std::uint64_t generation, answer_mode m, const reply_spec* r) = 0;
  /// Ends the connection at once, from any thread.
  virtual void abort() = 0;
};

}  // namespace detail

/// Answers one pending decision of a session (see server/events.hpp), now or later, from any
/// thread. Move-only. A decision destroyed unanswered is refused with "451 4.3.0".
/// For an LMTP message_complete, it takes one answer per accepted recipient (remaining()).
class decision {
 public:
  /// Makes an empty decision (answers nothing).
  decision() noexcept = default;
  decision(decision&& o) noexcept
      : target_(std::move(o.target_)), generation_(o.generation_), remaining_(o.remaining_) {
    o.remaining_ = 0;
  }
  decision& operator=(decision&& o) noexcept {
    if (this != &o) {
      drop();
      target_ = std::move(o.target_);
      generation_ = o.generation_;
      remaining_ = o.remaining_;
      o.remaining_ = 0;
    }
    return *this;
  }
  decision(const decision&) = delete;
  decision& operator=(const decision&) = delete;
  ~decision() { drop(); }

  /// Answers with the session's default positive reply (250, 354, 235 ...).
  void accept() { answer(detail::answer_mode::accept, nullptr); }
  /// Answers with @p r, a 2xx reply (or 3xx for DATA). Its text is copied when the answer
  /// comes from another thread. A reply the session refuses is replaced by the default one.
  void accept(const reply_spec& r) { answer(detail::answer_mode::accept_with, &r); }
  /// Answers with @p r, a 4xx or 5xx reply. A reply the session refuses (not 4xx/5xx, or
  /// holding CR/LF) is replaced by "451 4.3.0 Error: local problem".
  void reject(const reply_spec& r) { answer(detail::answer_mode::reject_with, &r); }

  /// Returns how many answers are still owed (0 once answered; recipients left for LMTP).
  std::size_t remaining() const noexcept { return remaining_; }
  /// Returns true while an answer is owed.
  explicit operator bool() const noexcept { return remaining_ != 0; }

 private:
  friend class connection;
  decision(std::shared_ptr<detail::decision_target> t, std::uint64_t generation,
           std::size_t count) noexcept
      : target_(std::move(t)), generation_(generation), remaining_(count) {}

  void answer(detail::answer_mode m, const reply_spec* r) {
    if (remaining_ == 0 || !target_) return;
    --remaining_;
    std::shared_ptr<detail::decision_target> t = remaining_ == 0 ? std::move(target_) : target_;
    t->answer(generation_, m, r);
  }

  void drop() noexcept {
#if defined(__cpp_exceptions)
    try {
#endif
      while (remaining_ != 0 && target_) answer(detail::answer_mode::reject_default, nullptr);
#if defined(__cpp_exceptions)
    } catch (...) {  // an allocation failed crossing threads: end the connection
      if (target_) target_->abort();
    }
#endif
    target_.reset();
    remaining_ = 0;
  }

  std::shared_ptr<detail::decision_target> target_;
  std::uint64_t generation_ = 0;
  std::size_t remaining_ = 0;
};

/// The application's side of one connection: the server makes one per connection (through the
/// factory given to it) and calls it on the connection's executor. Every decision event comes
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

// --- default handler -----------------------------------------------------------------------------

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

}  // namespace asio

SMTPKIT_NAMESPACE_END
