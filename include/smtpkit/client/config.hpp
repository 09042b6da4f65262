// smtpkit client: what a client session asks of the server and enforces on itself.
// RFC 5321 (4.1.1.1 EHLO/HELO, 4.5.3.2 timeouts), RFC 2033 (LMTP), RFC 2920 (PIPELINING),
// RFC 3030 (CHUNKING), RFC 3207 (STARTTLS), RFC 4954 (AUTH), RFC 8314 (implicit TLS).
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>  // size_t
#include <cstdint>  // uint32_t
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/leniency.hpp>
#include <smtpkit/core/limits.hpp>
#include <string_view>  // string_view

SMTPKIT_NAMESPACE_BEGIN

/// When the client uses STARTTLS (RFC 3207).
enum class tls_policy : unsigned char {
  /// Never sends STARTTLS, even when the server offers it.
  never = 0,
  /// Default. Sends STARTTLS when the server offers it; goes on without TLS when it does not, or
  /// when the server refuses STARTTLS (454). A network attacker can force plain text: use
  /// require where that matters.
  opportunistic = 1,
  /// Sends STARTTLS and goes on only over TLS: a server that does not offer STARTTLS, or refuses
  /// it, gets QUIT and nothing else (no MAIL, no AUTH, no message; closed with
  /// errc::tls_required). Implicit TLS (client_config::implicit_tls) satisfies it.
  require = 2,
};

/// Timeouts in milliseconds, RFC 5321 4.5.3.2 (the minimums a client should wait).
struct client_timeouts {
  std::uint32_t greeting = 300000;    ///< the initial 220 (4.5.3.2.1, 5 minutes)
  std::uint32_t mail = 300000;        ///< the reply to MAIL (4.5.3.2.2, 5 minutes)
  std::uint32_t rcpt = 300000;        ///< the reply to RCPT (4.5.3.2.3, 5 minutes)
  std::uint32_t data_init = 120000;   ///< the 354 to DATA (4.5.3.2.4, 2 minutes)
  std::uint32_t data_block = 180000;  ///< sending each block of the message, and the reply to a
                                      ///< BDAT chunk that is not the last (4.5.3.2.5, 3 minutes)
  std::uint32_t data_term = 600000;   ///< the reply to the end of data or to BDAT LAST
                                      ///< (4.5.3.2.6, 10 minutes)
  std::uint32_t command = 300000;     ///< the reply to any other command (EHLO, STARTTLS, AUTH,
                                      ///< RSET, NOOP, QUIT): 5 minutes, as for MAIL
};

/// Configuration of one client session. Views need outlive the session's construction only: the
/// session copies what it keeps.
struct client_config {
  /// The client's name in EHLO, HELO or LHLO: a domain or an address literal ("[192.0.2.1]").
  /// A name that is neither makes validate() fail; a session made anyway uses "localhost".
  std::string_view helo_name = "localhost";
  /// Bounds on what the server sends (reply_line) and on what the client writes (command_line,
  /// auth_line, local_part, domain, path, max_recipients per transaction).
  smtpkit::limits limits{};
  /// Only allow_8bit_without_8bitmime applies: then BODY=8BITMIME is dropped rather than the
  /// message refused when the server does not offer 8BITMIME.
  smtpkit::leniency leniency{};
  client_timeouts timeouts{};
  tls_policy tls = tls_policy::opportunistic;
  /// The transport is TLS from the first byte (RFC 8314, port 465): STARTTLS is never sent and
  /// tls_policy::require is satisfied.
  bool implicit_tls = false;
  /// LMTP (RFC 2033): LHLO instead of EHLO (no HELO fallback), and one reply per accepted
  /// recipient after the message.
  bool lmtp = false;
  /// Sends credentials (AUTH) over a connection without TLS. Off by default: AUTH before TLS
  /// fails with errc::tls_required. @warning Turning it on exposes the password or token to
  /// anyone on the path.
  bool allow_plaintext_auth = false;
  /// Uses PIPELINING (RFC 2920) when the server offers it. When false, or not offered, an action
  /// while a reply is awaited fails with errc::reply_pending.
  bool pipelining = true;
  /// The most lines one server reply may have (an EHLO reply has 10-20). With
  /// limits::reply_line it bounds the input buffer: max_reply_lines * reply_line octets.
  std::size_t max_reply_lines = 100;
};

SMTPKIT_NAMESPACE_END
