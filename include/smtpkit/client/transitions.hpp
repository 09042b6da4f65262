// smtpkit client: the order rules of the client side, in one table. RFC 5321 4.1.4 (command
// order) and 4.3.2 (replies), RFC 2920 3.1 (which commands end a pipelined group), RFC 3030 2
// (BDAT), RFC 3207 4 and RFC 4954 4 (STARTTLS and AUTH outside transactions). The client
// session consults it before it writes anything for the application.
//
// Rules:
//  1. The application acts only once the session is ready (the opening is the session's own).
//     In any other state an action is errc::invalid_state; once closed, errc::session_closed.
//  2. Within ready, what an action may do depends on the transaction's phase (the table below);
//     an action the phase does not allow is errc::invalid_state and changes nothing.
//  3. An allowed action is written at once when no reply is awaited, or when PIPELINING is in
//     use and no awaited command ends a group (EHLO, HELO, LHLO, STARTTLS, AUTH, DATA, NOOP,
//     QUIT: their outcome changes what may follow). Otherwise it is errc::reply_pending.
//  4. One transaction at a time: MAIL waits until every reply of the previous transaction has
//     been read (errc::reply_pending while they are awaited).
// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>  // uint8_t
#include <smtpkit/client/events.hpp>
#include <smtpkit/core/config.hpp>

SMTPKIT_NAMESPACE_BEGIN

/// Where a client session stands.
enum class client_state : unsigned char {
  greeting = 0,     ///< waiting for the server's 220
  opening = 1,      ///< EHLO/HELO/LHLO and STARTTLS in progress (the session's own commands)
  tls_pending = 2,  ///< start_tls emitted; waiting for tls_started()
  ready = 3,        ///< the application may authenticate, send mail, RSET, NOOP and QUIT
  closing = 4,      ///< QUIT sent; waiting for the 221 (or the end of the connection)
  closed = 5,       ///< over
};

/// Where the current mail transaction stands, on the sending side.
enum class transaction_phase : unsigned char {
  none = 0,       ///< no transaction: MAIL may start one
  envelope = 1,   ///< MAIL sent: RCPT, DATA or BDAT may follow
  data_wait = 2,  ///< DATA sent: waiting for the 354
  body = 3,       ///< 354 received: the message is being sent (send_body(), end_body())
  bdat = 4,       ///< BDAT chunks sent, the LAST one not yet
  ending = 5,     ///< nothing more to send; waiting for the transaction's last replies
};

/// The application's actions on a client session.
enum class client_action : unsigned char {
  auth = 0,  ///< auth()
  mail = 1,  ///< mail_from()
  rcpt = 2,  ///< rcpt_to()
  data = 3,  ///< data()
  body = 4,  ///< send_body(), end_body()
  bdat = 5,  ///< bdat()
  rset = 6,  ///< rset()
  noop = 7,  ///< noop()
  quit = 8,  ///< quit()
};

namespace detail {

constexpr std::uint8_t phase_bit(transaction_phase p) noexcept {
  return static_cast<std::uint8_t>(1u << static_cast<unsigned>(p));
}

/// The phases in which each action is allowed.
constexpr std::uint8_t allowed_phases(client_action a) noexcept {
  using p = transaction_phase;
  // RSET, NOOP and QUIT are commands, so never inside the message; after DATA they would
  // follow a command that ends a group.
  constexpr std::uint8_t commands =
      phase_bit(p::none) | phase_bit(p::envelope) | phase_bit(p::bdat) | phase_bit(p::ending);
  switch (a) {
    case client_action::auth:
    case client_action::mail:
      return phase_bit(p::none);
    case client_action::rcpt:
    case client_action::data:
      return phase_bit(p::envelope);
    case client_action::body:
      return phase_bit(p::body);
    case client_action::bdat:
      return phase_bit(p::envelope) | phase_bit(p::bdat);
    case client_action::rset:
    case client_action::noop:
    case client_action::quit:
      return commands;
  }
  return 0;
}

}  // namespace detail

/// Returns true when action @p a is allowed in transaction phase @p p (rule 2).
constexpr bool action_allowed(client_action a, transaction_phase p) noexcept {
  return (detail::allowed_phases(a) & detail::phase_bit(p)) != 0;
}

/// Returns true for a command that must be the last of a pipelined group (RFC 2920 3.1,
/// RFC 3207 4, RFC 4954 4): no command may be sent after it before its reply is read.
constexpr bool ends_group(client_command c) noexcept {
  switch (c) {
    case client_command::greeting:
    case client_command::ehlo:
    case client_command::helo:
    case client_command::lhlo:
    case client_command::starttls:
    case client_command::auth:
    case client_command::data:
    case client_command::noop:
    case client_command::quit:
      return true;
    default:
      return false;
  }
}

SMTPKIT_NAMESPACE_END
