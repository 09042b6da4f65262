// smtpkit client: the events a client session emits. RFC 5321 4.2 and 4.3.2 (replies and the
// commands they answer), RFC 2920 3.1 (one reply per pipelined command), RFC 2033 4.2 (LMTP: a
// reply per recipient after the message), RFC 3207 (STARTTLS), RFC 4954 (AUTH).
//
// Rules:
//  1. Every reply the server sends becomes one reply_received event, in the order received, and
//     names the command it answers. Milestone events (ready, recipient_result, ...) follow the
//     reply_received of the reply that caused them.
//  2. Views in events (replies, capabilities' strings, server messages) are valid until the next
//     call to next_event() or receive(). ready::capabilities points into the session and stays
//     valid until the next EHLO (after STARTTLS).
//  3. Events never carry credentials.
//  4. The session ends with exactly one closed event, which then repeats (the end is sticky).
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>                  // size_t
#include <smtpkit/codec/ehlo.hpp>   // ehlo_capabilities
#include <smtpkit/codec/reply.hpp>  // reply
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>  // errc
#include <string_view>             // string_view
#include <variant>                 // variant

SMTPKIT_NAMESPACE_BEGIN

/// What a reply answers: a command, the greeting, or the end of message data.
enum class client_command : unsigned char {
  greeting = 0,  ///< the server's opening 220 (RFC 5321 3.1)
  ehlo = 1,      ///< EHLO
  helo = 2,      ///< HELO (after EHLO got 500 or 502)
  lhlo = 3,      ///< LHLO (LMTP)
  starttls = 4,  ///< STARTTLS
  auth = 5,      ///< AUTH or a SASL response line
  mail = 6,      ///< MAIL FROM
  rcpt = 7,      ///< RCPT TO
  data = 8,      ///< DATA (the 354, or its refusal)
  data_end = 9,  ///< the end of message data (CRLF.CRLF)
  bdat = 10,     ///< BDAT (a chunk; the LAST one ends the message)
  rset = 11,     ///< RSET
  noop = 12,     ///< NOOP
  quit = 13,     ///< QUIT
  none = 14,     ///< no command: a reply nobody asked for (a 421 before the server closes)
};

/// Returns the name of @p c ("ehlo", "data_end"), or "" for a value not listed.
constexpr std::string_view to_string(client_command c) noexcept {
  constexpr std::string_view names[] = {"greeting", "ehlo", "helo", "lhlo", "starttls",
                                        "auth",     "mail", "rcpt", "data", "data_end",
                                        "bdat",     "rset", "noop", "quit", "none"};
  const auto i = static_cast<unsigned>(c);
  return i < 15 ? names[i] : std::string_view();
}

namespace client_events {

/// Nothing to do until more input arrives, output is sent, or the application acts.
struct need_data {};

/// A reply from the server, matched to the command it answers (every reply, in order).
struct reply_received {
  client_command command = client_command::greeting;
  /// The recipient's index for rcpt (0 for the first rcpt_to() of the transaction) and for an
  /// LMTP data_end or BDAT LAST reply; the chunk's index for bdat; 0 otherwise.
  std::size_t index = 0;
  reply response;  ///< the reply (print it with escape_for_display())
};

/// The opening is done: greeting, EHLO (or HELO, or LHLO), STARTTLS and EHLO again as the
/// policy asks. The application may now authenticate and send mail.
struct ready {
  /// What the server offers (nothing after HELO). Its strings point into the session: domain,
  /// greeting and the AUTH mechanism lists are kept; raw (so keywords()) is empty.
  ehlo_capabilities capabilities;
  bool esmtp = true;  ///< false after the HELO fallback: no extension can be used
  bool tls = false;   ///< the transport is TLS (implicit, or after STARTTLS)
};

/// The server accepted STARTTLS: the driver starts the TLS handshake now and calls
/// tls_started() when it completes. Every byte received after the 220 was discarded, and bytes
/// received before tls_started() will be too (RFC 3207 5, response injection).
struct start_tls {};

/// An AUTH exchange ended.
struct auth_done {
  bool success = false;        ///< the server answered 235
  std::string_view mechanism;  ///< the mechanism used ("PLAIN")
  /// The server's last challenge, decoded: for XOAUTH2 and OAUTHBEARER a JSON error status
  /// (RFC 7628 3.2.2). Empty when there was none, or when it was not valid base64.
  std::string_view server_message;
  /// errc{} when the server decided; errc::auth_cancelled when the client cancelled with "*"
  /// (the mechanism could not answer a challenge); errc::auth_line_too_long when a response
  /// would have been over limits::auth_line; errc::bad_base64 for a challenge that was not
  /// base64.
  errc error{};
  reply response;  ///< the final reply (235, or the refusal)
};

/// The server answered one RCPT TO.
struct recipient_result {
  std::size_t index = 0;  ///< the recipient: 0 for the first rcpt_to() of the transaction
  bool accepted = false;  ///< a 2xx reply
  reply response;
};

/// The server answered DATA with 354: the application sends the message with send_body() and
/// ends it with end_body().
struct body_ready {};

/// LMTP (RFC 2033 4.2): the outcome of the message for one accepted recipient.
struct delivery_result {
  std::size_t index = 0;   ///< the recipient, as in recipient_result
  bool delivered = false;  ///< a 2xx reply
  reply response;
};

/// A mail transaction is over: every reply to its commands has been read (or none will come).
struct transaction_done {
  bool accepted = false;  ///< the message was accepted (for at least one recipient in LMTP)
  /// Where it was decided: data_end or bdat (the message's reply, success or not), mail (MAIL
  /// refused), rcpt (no recipient accepted), data (DATA refused), rset or quit (abandoned by
  /// the application), or the command awaiting a reply when the session ended.
  client_command stage = client_command::data_end;
  /// errc{} when the server's replies decided; otherwise why the session ended the
  /// transaction: errc::timeout, errc::connection_lost, errc::protocol_error,
  /// errc::session_closed (a 421).
  errc error{};
  std::size_t recipients = 0;  ///< recipients that accepted the message
  reply response;              ///< the last reply of the transaction (empty when none)
};

/// The server broke the protocol (a malformed reply, a reply nobody asked for, a code that
/// cannot answer the command, a malformed EHLO reply). The session ends: closed follows.
struct protocol_error {
  errc code = errc::protocol_error;  ///< errc::bare_lf, errc::line_too_long, errc::bad_reply, ...
};

/// The session is over: send what pending_output() still holds if the connection allows (as
/// the server session does), then close it.
struct closed {
  /// errc{} after a QUIT the application asked for; errc::session_closed when the server
  /// refused or ended the session (554 or 421 greeting, a 421, EHLO/HELO refused);
  /// errc::tls_required when the policy needed TLS and the server did not give it;
  /// errc::timeout, errc::connection_lost, or errc::protocol_error.
  errc reason{};
};

}  // namespace client_events

/// Everything client_session::next_event() can return.
using client_event =
    std::variant<client_events::need_data, client_events::reply_received, client_events::ready,
                 client_events::start_tls, client_events::auth_done,
                 client_events::recipient_result, client_events::body_ready,
                 client_events::delivery_result, client_events::transaction_done,
                 client_events::protocol_error, client_events::closed>;

SMTPKIT_NAMESPACE_END
