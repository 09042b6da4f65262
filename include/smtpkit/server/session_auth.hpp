// smtpkit server: AUTH in server_session (RFC 4954): PLAIN (RFC 4616) and LOGIN, the
// initial response, "=" for an empty response, "*" to cancel, responses decoded into the
// session's SASL buffer (wiped after each decision), and the credentials decision.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <smtpkit/server/session.hpp>
#include <string_view>  // string_view

SMTPKIT_NAMESPACE_BEGIN

inline server_event server_session::on_auth(const auth_command& a) noexcept {
  if (authenticated_)
    return refuse(errc::bad_sequence, 503, {5, 5, 1}, "Error: already authenticated");
  if (!auth_offered())
    return refuse(errc::tls_required, 530, {5, 7, 0}, "Must issue a STARTTLS command first");
  if (ascii::iequals(a.mechanism, "PLAIN") && cfg_.features.auth_plain) {
    auth_mech_ = 1;
  } else if (ascii::iequals(a.mechanism, "LOGIN") && cfg_.features.auth_login) {
    auth_mech_ = 2;
  } else {
    return refuse(errc::auth_mechanism_unsupported, 504, {5, 5, 4},
                  "Error: unsupported authentication mechanism");
  }
  auth_step_ = 0;
  sasl_user_ = 0;
  if (!a.initial_response.empty()) return on_sasl_response(a.initial_response);
  state_ = server_state::auth;
  say_challenge(auth_mech_ == 1 ? "" : "VXNlcm5hbWU6");  // LOGIN: "Username:"
  return next_event();
}

inline server_event server_session::on_sasl_line() noexcept {
  const line_result r = sasl_lines_.next(input_.view());
  consume_ = r.consumed;
  if (r.status == line_status::need_more) {
    if (eof_) return on_eof();
    return server_events::need_data{};
  }
  state_ = server_state::ready;
  if (r.status == line_status::error) {
    if (r.error == errc::line_too_long)
      return refuse(errc::auth_line_too_long, 500, {5, 5, 6},
                    "Error: authentication exchange line is too long");
    return refuse(r.error, 501, {5, 5, 2}, "Error: invalid character in response");
  }
  if (r.line == "*")
    return refuse(errc::auth_cancelled, 501, {5, 7, 0}, "Authentication cancelled");
  return on_sasl_response(r.line);
}

inline server_event server_session::on_sasl_response(std::string_view b64) noexcept {
  state_ = server_state::ready;
  // "=" is an empty response (RFC 4954 4).
  std::string_view decoded;
  const std::size_t room = sasl_capacity(cfg_.limits) - sasl_user_;
  if (b64 != "=") {
    byte_writer w(sasl_.get() + sasl_user_, room);
    if (decode_base64(b64, w))
      return refuse(errc::bad_base64, 501, {5, 5, 2}, "Error: invalid base64 data");
    decoded = std::string_view(sasl_.get() + sasl_user_, w.size());
  }
  if (auth_mech_ == 2 && auth_step_ == 0) {  // LOGIN user name; ask for the password
    if (decoded.find('\0') != std::string_view::npos)
      return refuse(errc::syntax_error, 501, {5, 5, 2}, "Error: invalid user name");
    sasl_user_ = decoded.size();
    auth_step_ = 1;
    state_ = server_state::auth;
    say_challenge("UGFzc3dvcmQ6");  // "Password:"
    return next_event();
  }
  server_events::auth_credentials creds;
  if (auth_mech_ == 1) {  // PLAIN: authzid NUL authcid NUL passwd (RFC 4616 2)
    const std::size_t a = decoded.find('\0');
    const std::size_t b = a == std::string_view::npos ? a : decoded.find('\0', a + 1);
    if (b == std::string_view::npos || decoded.find('\0', b + 1) != std::string_view::npos ||
        b == a + 1 || b + 1 == decoded.size())
      return refuse(errc::syntax_error, 501, {5, 5, 2}, "Error: invalid PLAIN response");
    creds = {"PLAIN", decoded.substr(0, a), decoded.substr(a + 1, b - a - 1),
             decoded.substr(b + 1)};
  } else {
    creds = {"LOGIN", {}, std::string_view(sasl_.get(), sasl_user_), decoded};
  }
  pending_ = pending::auth;
  return creds;
}

SMTPKIT_NAMESPACE_END
