// smtpkit core: error codes. Errors are values (no exceptions in the core).
//
// Rules:
//  1. Every enumerator has an explicit, stable value. Values are appended, never renumbered.
//  2. Ranges: 1xx framing, 2xx syntax, 3xx sequence, 4xx limits, 5xx session, 6xx SASL,
//     7xx DNS, 8xx TLS.
//  3. is_fatal() says whether the error ends a session; fatal errors are sticky.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>  // uint16_t
#include <smtpkit/core/config.hpp>
#include <string>        // std::string (error_category::message)
#include <system_error>  // error_code, error_category

SMTPKIT_NAMESPACE_BEGIN

/// smtpkit's error codes.
enum class errc : std::uint16_t {
  // 1xx framing
  line_too_long = 100,  ///< a line exceeded its limit (command 512, reply 512, text 1000)
  bare_lf = 101,        ///< a LF not preceded by CR
  bare_cr = 102,        ///< a CR not followed by LF
  nul_byte = 103,       ///< a NUL octet where none may appear
  incomplete = 104,     ///< input ended inside a line, reply or message

  // 2xx syntax
  unknown_command = 200,      ///< the verb is not an SMTP command
  syntax_error = 201,         ///< the command or its arguments do not match the grammar
  bad_path = 202,             ///< a reverse-path or forward-path is malformed
  bad_local_part = 203,       ///< a local-part is neither a dot-string nor a quoted-string
  bad_domain = 204,           ///< a domain is malformed
  bad_address_literal = 205,  ///< an address literal ([1.2.3.4], [IPv6:...]) is malformed
  path_too_long = 206,        ///< path over 256 octets (RFC 5321 4.5.3.1.3)
  local_part_too_long = 207,  ///< local-part over 64 octets (RFC 5321 4.5.3.1.1)
  domain_too_long = 208,      ///< domain over 255 octets (RFC 5321 4.5.3.1.2)
  bad_parameter = 209,        ///< an ESMTP parameter is malformed or has a bad value
  duplicate_parameter = 210,  ///< an ESMTP parameter is given twice
  unknown_parameter = 211,    ///< an ESMTP parameter is not known (555)
  bad_utf8 = 212,             ///< ill-formed UTF-8 where RFC 6531 allows UTF-8
  bad_xtext = 213,            ///< malformed xtext (RFC 3461 4)
  bad_base64 = 214,           ///< malformed base64 (RFC 4648, strict)
  bad_reply_code = 215,       ///< a reply code is not 2xx-5xx or not three digits
  reply_code_mismatch = 216,  ///< lines of a multiline reply carry different codes
  bad_reply = 217,            ///< a reply line is malformed (separator, text)
  bad_enhanced_status = 218,  ///< an enhanced status code (RFC 3463) is malformed
  bad_bdat = 219,             ///< a BDAT command's size or LAST keyword is malformed
  invalid_argument = 220,     ///< a field given to a writer holds CR, LF, NUL or is malformed
  space_after_colon = 221,    ///< "MAIL FROM: <a@b>" under the strict setting
  bad_number = 222,           ///< a number is malformed or out of range

  // 3xx sequence
  bad_sequence = 300,   ///< a command out of order (503)
  invalid_state = 301,  ///< an action in a state that does not allow it (local misuse)
  reply_pending = 302,  ///< an action while a reply is awaited and pipelining is off

  // 4xx limits
  too_many_recipients = 400,     ///< more recipients than the limit (452 4.5.3)
  message_too_large = 401,       ///< message over SIZE (552 5.3.4)
  error_budget_exhausted = 402,  ///< too many errors in one session (421)
  text_line_too_long = 403,      ///< a message line over the text line limit
  auth_line_too_long = 404,      ///< an AUTH line over its limit
  output_full = 405,             ///< the output buffer cannot take the bytes now
  reply_too_long = 406,          ///< a multiline reply over the reader's line count bound

  // 5xx session
  timeout = 500,          ///< a RFC 5321 4.5.3.2 timeout passed (421)
  session_closed = 501,   ///< the session is closed; nothing more can be done
  tls_required = 502,     ///< the command needs TLS first (530 5.7.0)
  connection_lost = 503,  ///< the peer closed the connection unexpectedly
  protocol_error = 504,   ///< the peer broke the protocol beyond recovery

  // 6xx SASL
  auth_failed = 600,                 ///< credentials refused (535)
  auth_cancelled = 601,              ///< the client cancelled the exchange with "*"
  auth_required = 602,               ///< MAIL before AUTH when AUTH is required (530 5.7.0)
  auth_mechanism_unsupported = 603,  ///< no such or no common mechanism (504)
};

/// Returns the enumerator's name (e.g. "line_too_long"), or "unknown" for a value not listed.
constexpr const char* to_string(errc e) noexcept {
  switch (e) {
    case errc::line_too_long:
      return "line_too_long";
    case errc::bare_lf:
      return "bare_lf";
    case errc::bare_cr:
      return "bare_cr";
    case errc::nul_byte:
      return "nul_byte";
    case errc::incomplete:
      return "incomplete";
    case errc::unknown_command:
      return "unknown_command";
    case errc::syntax_error:
      return "syntax_error";
    case errc::bad_path:
      return "bad_path";
    case errc::bad_local_part:
      return "bad_local_part";
    case errc::bad_domain:
      return "bad_domain";
    case errc::bad_address_literal:
      return "bad_address_literal";
    case errc::path_too_long:
      return "path_too_long";
    case errc::local_part_too_long:
      return "local_part_too_long";
    case errc::domain_too_long:
      return "domain_too_long";
    case errc::bad_parameter:
      return "bad_parameter";
    case errc::duplicate_parameter:
      return "duplicate_parameter";
    case errc::unknown_parameter:
      return "unknown_parameter";
    case errc::bad_utf8:
      return "bad_utf8";
    case errc::bad_xtext:
      return "bad_xtext";
    case errc::bad_base64:
      return "bad_base64";
    case errc::bad_reply_code:
      return "bad_reply_code";
    case errc::reply_code_mismatch:
      return "reply_code_mismatch";
    case errc::bad_reply:
      return "bad_reply";
    case errc::bad_enhanced_status:
      return "bad_enhanced_status";
    case errc::bad_bdat:
      return "bad_bdat";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::space_after_colon:
      return "space_after_colon";
    case errc::bad_number:
      return "bad_number";
    case errc::bad_sequence:
      return "bad_sequence";
    case errc::invalid_state:
      return "invalid_state";
    case errc::reply_pending:
      return "reply_pending";
    case errc::too_many_recipients:
      return "too_many_recipients";
    case errc::message_too_large:
      return "message_too_large";
    case errc::error_budget_exhausted:
      return "error_budget_exhausted";
    case errc::text_line_too_long:
      return "text_line_too_long";
    case errc::auth_line_too_long:
      return "auth_line_too_long";
    case errc::output_full:
      return "output_full";
    case errc::reply_too_long:
      return "reply_too_long";
    case errc::timeout:
      return "timeout";
    case errc::session_closed:
      return "session_closed";
    case errc::tls_required:
      return "tls_required";
    case errc::connection_lost:
      return "connection_lost";
    case errc::protocol_error:
      return "protocol_error";
    case errc::auth_failed:
      return "auth_failed";
    case errc::auth_cancelled:
      return "auth_cancelled";
    case errc::auth_required:
      return "auth_required";
    case errc::auth_mechanism_unsupported:
      return "auth_mechanism_unsupported";
  }
  return "unknown";
}

/// Returns true for errors after which a session cannot go on (it sends 421 and closes).
constexpr bool is_fatal(errc e) noexcept {
  switch (e) {
    case errc::error_budget_exhausted:
    case errc::timeout:
    case errc::session_closed:
    case errc::connection_lost:
    case errc::protocol_error:
      return true;
    default:
      return false;
  }
}

namespace detail {
class error_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "smtpkit"; }
  std::string message(int ev) const override { return to_string(static_cast<errc>(ev)); }
};
}  // namespace detail

/// Returns the "smtpkit" error category (one instance per program).
inline const std::error_category& error_category() noexcept {
  static const detail::error_category_impl instance;
  return instance;
}

/// Makes a std::error_code in the "smtpkit" category.
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

SMTPKIT_NAMESPACE_END

template <>
struct std::is_error_code_enum<smtpkit::errc> : std::true_type {};
