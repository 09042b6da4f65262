// smtpkit sasl: XOAUTH2, client side (Google's and Microsoft's OAuth 2.0 mechanism for SMTP,
// the predecessor of RFC 7628 OAUTHBEARER), with the bearer token of RFC 6750 2.1.
//
//   initial response = "user=" user %x01 "auth=Bearer " b64token %x01 %x01
//
// Rules:
//  1. XOAUTH2 is client-first: start() writes the whole initial response.
//  2. A server that refuses the token sends a 334 challenge holding a JSON error (the session
//     hands it to the application in auth_done::server_message); the client answers it with an
//     empty response and the server then sends its 5xx. A second challenge fails the exchange.
//  3. An empty user, a user holding %x01, or a token outside the RFC 6750 b64token alphabet
//     fails start() (nothing is sent).
// SPDX-License-Identifier: MIT
#pragma once

#include <smtpkit/core/buffer.hpp>  // byte_writer
#include <smtpkit/core/config.hpp>
#include <smtpkit/sasl/mechanism.hpp>
#include <string_view>  // string_view

SMTPKIT_NAMESPACE_BEGIN

namespace sasl {

/// XOAUTH2 for a client: the user and an OAuth 2.0 bearer token in one message.
/// @warning Holds views of the user and token: they must outlive every exchange.
class xoauth2_client final : public client_mechanism {
 public:
  /// Makes the mechanism for @p user (usually the mail address) and the access @p token.
  xoauth2_client(std::string_view user, std::string_view token) noexcept
      : user_(user), token_(token) {}

  /// Returns "XOAUTH2".
  std::string_view name() const noexcept override { return "XOAUTH2"; }

  /// Writes "user=" user ^A "auth=Bearer " token ^A ^A.
  /// @return step_status::send, or step_status::failed (see rule 3, or no room in @p out).
  step_status start(byte_writer& out) noexcept override {
    errors_ = 0;
    if (user_.empty() || detail::contains(user_, '\x01') || detail::contains(user_, '\0') ||
        !detail::is_b64token(token_))
      return step_status::failed;
    return detail::append_all(out, {"user=", user_,
                                    "\x01"
                                    "auth=Bearer ",
                                    token_, "\x01\x01"})
               ? step_status::send
               : step_status::failed;
  }

  /// Answers the server's error challenge with an empty response (once).
  step_status step(std::string_view, byte_writer&) noexcept override {
    return errors_++ == 0 ? step_status::send : step_status::failed;
  }

 private:
  std::string_view user_;
  std::string_view token_;
  unsigned char errors_ = 0;  // error challenges answered in this exchange
};

}  // namespace sasl

SMTPKIT_NAMESPACE_END
