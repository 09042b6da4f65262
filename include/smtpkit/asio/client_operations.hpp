// smtpkit asio: the operations of the client driver, step by step (declared in
// client_core.hpp): AUTH, a mail transaction over DATA or BDAT with its message streamed from a
// message_source, and QUIT. Each step asks the session for what the next command may be; when
// the session says errc::reply_pending or errc::output_full the step waits for the next reply
// or the next write and runs again.
// RFC 5321 3.3 (MAIL, RCPT, DATA), RFC 2920 (commands pipelined as the session allows),
// RFC 3030 2 (BDAT chunks, LAST on the final one), RFC 4954 (AUTH), RFC 5321 4.1.1.10 (QUIT).
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>  // size_t
#include <cstring>  // memmove
#include <smtpkit/asio/client_core.hpp>
#include <smtpkit/client.hpp>
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>
#include <string>        // string
#include <system_error>  // error_code

SMTPKIT_NAMESPACE_BEGIN

namespace asio {
namespace detail {

inline bool client_core::step_operation() {
  switch (op_) {
    case op_kind::auth:
      return step_auth();
    case op_kind::send:
      return step_send();
    case op_kind::quit:
      return step_quit();
    default:
      return false;
  }
}

inline bool client_core::must_wait(const std::error_code& e) noexcept {
  return e == errc::reply_pending || e == errc::output_full;
}

inline bool client_core::step_auth() {
  if (auth_started_) return false;
  sasl::client_mechanism* mech =
      auth_exact_ ? (candidates_.empty() ? nullptr : candidates_.front())
                  : sasl::choose(session_->capabilities(), candidates_.data(), candidates_.size());
  auth_trace_ = true;  // the AUTH line and the responses that follow carry credentials
  const std::error_code e = mech ? session_->auth(*mech) : session_->auth({});
  if (must_wait(e)) {
    auth_trace_ = false;
    return false;
  }
  if (e) {
    auth_trace_ = false;
    op_ = op_kind::none;
    auth_done_.complete(e, std::move(auth_result_));
    return true;
  }
  auth_started_ = true;
  return true;
}

inline bool client_core::step_quit() {
  if (session_->state() != client_state::ready) return false;  // closing: QUIT already sent
  const std::error_code e = session_->quit();
  if (must_wait(e)) return false;
  if (e) {  // in the middle of a message: there is no polite way out
    fail_op(e);
    finish();
  }
  return true;
}

/// Checks every address before anything is written (rule 4 of client.hpp).
inline std::error_code client_core::prepare_envelope() {
  send_state& s = send_;
  const limits& lim = options_.session.limits;
  bool utf8 = false;
  if (!s.env.from.empty()) {
    const result<mailbox> m = parse_mailbox(s.env.from, lim);
    if (!m) return m.error();
    s.from = reverse_path(*m);
    utf8 |= m->utf8();
  }
  if (s.env.to.empty()) return errc::bad_path;
  if (s.env.to.size() > lim.max_recipients) return errc::too_many_recipients;
  s.rcpts.reserve(s.env.to.size());
  for (const std::string& t : s.env.to) {
    const result<mailbox> m = parse_mailbox(t, lim);
    if (!m) return m.error();
    s.rcpts.emplace_back(*m);
    utf8 |= m->utf8();
  }
  if (utf8) s.env.mail.set_smtputf8(true);  // so that MAIL refuses it, not a later RCPT
  return {};
}

inline bool client_core::step_send() {
  send_state& s = send_;
  bool progress = false;
  if (!s.mail_sent) {
    const std::error_code e = session_->mail_from(s.from, s.env.mail);
    if (must_wait(e)) return false;
    if (e) {
      op_ = op_kind::none;
      send_done_.complete(e, std::move(s.result));
      return true;
    }
    s.mail_sent = progress = true;
  }
  if (s.failure && !s.rset_sent) return abandon(s.failure) || progress;
  if (s.rset_sent || session_->phase() == transaction_phase::none ||
      session_->phase() == transaction_phase::ending)
    return progress;  // waiting for the transaction's last replies
  while (s.next_rcpt < s.rcpts.size()) {
    const std::error_code e = session_->rcpt_to(s.rcpts[s.next_rcpt], s.env.rcpt);
    if (must_wait(e)) return progress;
    if (e) return abandon(e) || progress;
    ++s.next_rcpt;
    progress = true;
  }
  const bool bdat = s.env.chunking && session_->capabilities().has(ehlo_extension::chunking);
  if (bdat) return step_bdat() || progress;
  if (!s.data_sent) {
    const std::error_code e = session_->data();
    if (must_wait(e)) return progress;
    if (e) return abandon(e) || progress;
    s.data_sent = progress = true;
  }
  if (session_->phase() != transaction_phase::body) return progress;
  while (!s.end_sent) {
    if (s.body_pos == s.body_len && !s.source_done) {
      if (!fill_body(1)) return true;
      progress = true;
      continue;
    }
    if (s.body_pos < s.body_len) {
      const std::size_t n =
          session_->send_body(std::string_view(body_.get() + s.body_pos, s.body_len - s.body_pos));
      if (n == 0) return progress;  // the output is full: wait for the write
      s.body_pos += n;
      progress = true;
      continue;
    }
    const std::error_code e = session_->end_body();
    if (must_wait(e)) return progress;
    if (e) {
      fail_source(e);
      return true;
    }
    s.end_sent = progress = true;
  }
  return progress;
}

/// Sends the message in BDAT chunks: each is sent once the one after it has been read, so
/// the last one carries LAST.
inline bool client_core::step_bdat() {
  send_state& s = send_;
  bool progress = false;
  while (!s.end_sent) {
    // A chunk never grows past max_chunk_size() once its line ends are CRLF.
    std::size_t chunk = session_->max_chunk_size() / 2;
    if (chunk > body_capacity / 2) chunk = body_capacity / 2;
    if (chunk == 0) chunk = 1;
    if (!s.source_done && s.body_len - s.body_pos <= chunk) {
      if (s.body_pos != 0) {
        std::memmove(body_.get(), body_.get() + s.body_pos, s.body_len - s.body_pos);
        s.body_len -= s.body_pos;
        s.body_pos = 0;
      }
      if (!fill_body(chunk + 1)) return true;
      progress = true;
      continue;
    }
    const std::size_t left = s.body_len - s.body_pos;
    const bool last = s.source_done && left <= chunk;
    const std::size_t n = last ? left : chunk;
    const std::error_code e = session_->bdat(std::string_view(body_.get() + s.body_pos, n), last);
    if (must_wait(e)) return progress;
    if (e) {
      if (!s.data_sent) return abandon(e) || progress;
      fail_source(e);
      return true;
    }
    s.data_sent = true;
    s.body_pos += n;
    if (last) s.end_sent = true;
    progress = true;
    if (session_->phase() == transaction_phase::none ||
        session_->phase() == transaction_phase::ending)
      break;  // every recipient refused: the session ended the transaction
  }
  return progress;
}

/// Reads from the source until the body buffer holds at least @p want octets past body_pos
/// or the source ends. Returns false when the source failed (the connection is closing).
inline bool client_core::fill_body(std::size_t want) {
  send_state& s = send_;
  if (s.body_pos == s.body_len) s.body_pos = s.body_len = 0;
  while (!s.source_done && s.body_len - s.body_pos < want && s.body_len < body_capacity) {
    std::error_code ec;
    const std::size_t n = s.source->read(body_.get() + s.body_len, body_capacity - s.body_len, ec);
    if (ec) {
      fail_source(ec);
      return false;
    }
    if (n == 0) s.source_done = true;
    s.body_len += n;
  }
  return true;
}

/// A local failure after MAIL, before the message: RSET ends the transaction, and the send
/// completes with @p e once its replies are in.
inline bool client_core::abandon(const std::error_code& e) {
  send_.failure = e;
  const std::error_code r = session_->rset();
  if (must_wait(r)) return false;  // retried on the next round: failure stays set
  send_.rset_sent = true;
  if (r) {
    fail_op(e);
    finish();
  }
  return true;
}

/// The message cannot be finished: close without the final "." (rule 4 of client.hpp).
inline void client_core::fail_source(const std::error_code& e) {
  send_.failure = e;
  fail_op(e);
  finish();
}

}  // namespace detail
}  // namespace asio

SMTPKIT_NAMESPACE_END
