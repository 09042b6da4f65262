// smtpkit core: the limits of one session or parser. RFC 5321 4.5.3.
//
// Rules:
//  1. Limits are fields of each instance; there are no global setters.
//  2. Every limit has one error code and one reply (named beside each field).
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <smtpkit/core/config.hpp>

SMTPKIT_NAMESPACE_BEGIN

/// Bounds on every input that a peer controls. Defaults are the RFC 5321 4.5.3 minimums.
struct limits {
  /// Command line, verb to CRLF inclusive. RFC 5321 4.5.3.1.4: 512 octets.
  /// Over it: errc::line_too_long, "500 5.5.2 Line too long".
  std::size_t command_line = 512;
  /// Reply line, code to CRLF inclusive. RFC 5321 4.5.3.1.5: 512 octets.
  /// Over it: errc::line_too_long, a protocol error on the client.
  std::size_t reply_line = 512;
  /// Text line of a message, CRLF inclusive. RFC 5321 4.5.3.1.6: 1000 octets; 0 for no limit.
  /// Over it: errc::text_line_too_long, one 5xx after the end of the message.
  std::size_t text_line = 1000;
  /// Local-part. RFC 5321 4.5.3.1.1: 64 octets. Over it: errc::local_part_too_long, 501.
  std::size_t local_part = 64;
  /// Domain. RFC 5321 4.5.3.1.2: 255 octets. Over it: errc::domain_too_long, 501.
  std::size_t domain = 255;
  /// Path, angle brackets included. RFC 5321 4.5.3.1.3: 256 octets.
  /// Over it: errc::path_too_long, 501.
  std::size_t path = 256;
  /// Recipients in one transaction. RFC 5321 4.5.3.1.8: at least 100.
  /// Over it: errc::too_many_recipients, "452 4.5.3 Too many recipients".
  std::size_t max_recipients = 100;
  /// Message size in octets (advertised with SIZE, RFC 1870); 0 for no limit.
  /// Over it: errc::message_too_large, "552 5.3.4 Message too big".
  std::uint64_t max_message_size = 10u * 1024u * 1024u;
  /// Errors (4xx/5xx replies to bad input) before the session is closed with 421.
  /// Over it: errc::error_budget_exhausted.
  std::size_t max_errors = 20;
  /// AUTH command and SASL response lines. RFC 4954 4: at least 12288 octets.
  /// Over it: errc::auth_line_too_long, "500 5.5.6 Authentication Exchange line is too long".
  std::size_t auth_line = 12288;
  /// Failed AUTH attempts before the session is closed with 421.
  std::size_t max_auth_failures = 3;
};

SMTPKIT_NAMESPACE_END
