// smtpkit server: what a server session offers and enforces. RFC 5321, RFC 1869 (EHLO
// extensions), RFC 2033 (LMTP), RFC 3207 (STARTTLS), RFC 4954 (AUTH).
// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>  // uint32_t
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/leniency.hpp>
#include <smtpkit/core/limits.hpp>
#include <string_view>  // string_view

SMTPKIT_NAMESPACE_BEGIN

/// The ESMTP extensions a server advertises in its EHLO reply, and the policies tied to them.
struct server_features {
  bool pipelining = true;             ///< RFC 2920
  bool size = true;                   ///< RFC 1870, advertises limits::max_message_size
  bool eightbitmime = true;           ///< RFC 6152
  bool binarymime = false;            ///< RFC 3030 (needs chunking)
  bool chunking = false;              ///< RFC 3030 BDAT
  bool smtputf8 = false;              ///< RFC 6531
  bool dsn = false;                   ///< RFC 3461
  bool enhanced_status_codes = true;  ///< RFC 2034: then every reply carries an RFC 3463 code
  bool starttls = false;              ///< RFC 3207: offered while the connection is not yet TLS
  bool auth_plain = false;            ///< RFC 4616 PLAIN
  bool auth_login = false;            ///< draft-murchison-sasl-login LOGIN
  /// MAIL needs a successful AUTH first (530 5.7.0). No open relay by accident.
  bool auth_required = false;
  /// MAIL and AUTH need TLS first (530 5.7.0), and AUTH is not advertised before TLS.
  bool tls_required = false;
  /// When STARTTLS is offered, AUTH is advertised only after TLS unless this is true.
  bool auth_before_tls = false;
  bool vrfy = true;   ///< VRFY answered with 252 (false: 502)
  bool lmtp = false;  ///< RFC 2033: LHLO instead of EHLO/HELO, a reply per recipient
};

/// Timeouts in milliseconds (RFC 5321 4.5.3.2.7: a server waits at least 5 minutes).
struct server_timeouts {
  std::uint32_t command = 300000;  ///< waiting for the next command
  std::uint32_t data = 300000;     ///< waiting for message data or a BDAT chunk
  std::uint32_t auth = 300000;     ///< waiting for a SASL response
};

/// Configuration of one server session. Views must outlive the session's construction only:
/// the session copies what it keeps.
struct server_config {
  std::string_view hostname = "localhost";  ///< in the 220, 250 and 421 replies
  std::string_view greeting = "ESMTP";      ///< text after the host name in the 220 greeting
  smtpkit::limits limits{};                 ///< per session; RFC 5321 4.5.3 defaults
  smtpkit::leniency leniency{};             ///< all strict by default
  server_features features{};
  server_timeouts timeouts{};
  /// Whether the transport is TLS from the first byte (implicit TLS, RFC 8314): then STARTTLS
  /// is not offered and the trace says ESMTPS.
  bool implicit_tls = false;
};

SMTPKIT_NAMESPACE_END
