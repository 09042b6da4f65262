// smtpkit server: the events a server session emits. RFC 5321 4.1 (commands), RFC 3030 (BDAT),
// RFC 4954 (AUTH), RFC 3207 (STARTTLS), RFC 2033 (LMTP).
//
// Rules:
//  1. Events marked "decision" hold the session until the application calls accept() or
//     reject(); later pipelined commands wait, so replies stay in order.
//  2. Views in events point into the session's input buffer: valid until the next call to
//     next_event() or receive().
//  3. Credentials are never part of a printable event field: the password is a secret view.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <smtpkit/codec/command.hpp>
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>
#include <string_view>  // string_view
#include <variant>      // variant

SMTPKIT_NAMESPACE_BEGIN

namespace server_events {

/// Nothing to do until more input arrives, output is sent, or a decision is taken.
struct need_data {};

/// A new connection. Decision: accept() sends the 220 greeting, reject() a 554 (then the session
/// answers every command with 503 until QUIT, as RFC 5321 3.1 asks).
struct session_started {};

/// HELO, EHLO or LHLO. Decision: accept() sends 250 (with the capabilities for EHLO/LHLO).
struct helo_received {
  verb kind = verb::ehlo;  ///< helo, ehlo or lhlo
  host domain;             ///< the client's domain or address literal
};

/// MAIL FROM. Decision: accept() sends "250 2.1.0 Ok" unless the command carries a parameter
/// smtpkit does not know: then the default is "555 5.5.4 Unsupported parameter", and an
/// application that knows the parameter accepts with an explicit reply.
struct mail_received {
  reverse_path from;
  mail_parameters params;
  bool unknown_parameters = false;  ///< a parameter with param_keyword::unknown is present
};

/// RCPT TO. Decision: accept() sends "250 2.1.5 Ok" (555 for unknown parameters, as above).
struct rcpt_received {
  forward_path to;
  rcpt_parameters params;
  bool unknown_parameters = false;
};

/// DATA after at least one accepted recipient. Decision: accept() sends 354.
struct data_started {};

/// Message content, dot-unstuffed (DATA) or raw (BDAT), in order. Not a decision.
struct data_chunk {
  std::string_view bytes;
};

/// The end of a message whose content was delivered through data_chunk events and that broke no
/// limit. Decision: accept() sends "250 2.0.0 Ok"; in LMTP mode, accept() or reject() is called
/// once per accepted recipient, in order (RFC 2033 4.2).
struct message_complete {
  std::uint64_t size = 0;      ///< octets delivered through data_chunk
  std::size_t recipients = 0;  ///< accepted recipients of the transaction
  bool chunked = false;        ///< sent with BDAT
};

/// A message the session refused by itself after its end (too large, a bare LF or CR, a text
/// line over the limit); the transaction is over and the application must drop what it stored.
struct message_refused {
  errc reason = errc::message_too_large;
};

/// AUTH PLAIN or LOGIN finished its exchange. Decision: accept() sends 235, reject() a 535 (or
/// any reply given). After max_auth_failures refusals the session closes with 421.
/// @warning password is a secret: never log it.
struct auth_credentials {
  std::string_view mechanism;  ///< "PLAIN" or "LOGIN"
  std::string_view authzid;    ///< authorization identity (PLAIN only; may be empty)
  std::string_view authcid;    ///< authentication identity (the user name)
  std::string_view password;   ///< secret: compare in constant time, never print
};

/// The session sent "220 Ready to start TLS": the driver starts the TLS handshake now and calls
/// tls_started() when it completes. Every byte received after the STARTTLS line was discarded.
struct start_tls {};

/// RSET: the transaction (if any) is over; the application drops what it stored.
struct rset_received {};

/// The client sent QUIT; the session sent 221 and closes once output is flushed.
struct quit_received {};

/// The session answered bad input by itself (500/501/503/452/552/...); for logs and counters.
struct protocol_error {
  errc code = errc::syntax_error;
  int reply_code = 500;
};

/// The session is over: flush pending_output(), then close the connection.
struct closed {};

}  // namespace server_events

/// Everything next_event() can return.
using server_event = std::variant<
    server_events::need_data, server_events::session_started, server_events::helo_received,
    server_events::mail_received, server_events::rcpt_received, server_events::data_started,
    server_events::data_chunk, server_events::message_complete, server_events::message_refused,
    server_events::auth_credentials, server_events::start_tls, server_events::rset_received,
    server_events::quit_received, server_events::protocol_error, server_events::closed>;

SMTPKIT_NAMESPACE_END
