// smtpkit sasl: PLAIN, client side. RFC 4616 2 (the message), RFC 4954 4 (sent as the initial
// response of AUTH PLAIN).
//
//   message  = [authzid] UTF8NUL authcid UTF8NUL passwd
//   authcid  = 1*SAFE ; MUST accept up to 255 octets
//   authzid  = 1*SAFE ; MUST accept up to 255 octets
//   passwd   = 1*SAFE ; MUST accept up to 255 octets
//   SAFE     = UTF1 / UTF2 / UTF3 / UTF4 ; any UTF-8 encoded Unicode character except NUL
//
// Rules:
//  1. PLAIN is client-first: start() writes the whole message; there is no second message.
//  2. An empty authcid or password, or a NUL in any field, fails start() (nothing is sent).
//  3. The password goes only into the writer given to start(); use PLAIN over TLS only (the
//     session refuses AUTH without TLS unless the application allows it).
// SPDX-License-Identifier: MIT
#pragma once

#include <smtpkit/core/buffer.hpp>  // byte_writer
#include <smtpkit/core/config.hpp>
#include <smtpkit/sasl/mechanism.hpp>
#include <string_view>  // string_view

SMTPKIT_NAMESPACE_BEGIN

namespace sasl {

/// PLAIN (RFC 4616) for a client: one message with the identities and the password.
/// @warning Holds views of the credentials: they must outlive every exchange.
class plain_client final : public client_mechanism {
 public:
  /// Makes the mechanism.
  /// @param authcid the authentication identity (the user name).
  /// @param password the password.
  /// @param authzid the authorization identity, or "" to act as @p authcid.
  plain_client(std::string_view authcid, std::string_view password,
               std::string_view authzid = {}) noexcept
      : authcid_(authcid), password_(password), authzid_(authzid) {}

  /// Returns "PLAIN".
  std::string_view name() const noexcept override { return "PLAIN"; }

  /// Writes authzid NUL authcid NUL passwd.
  /// @return step_status::send, or step_status::failed (an empty authcid or password, a NUL in a
  ///         field, or no room in @p out).
  step_status start(byte_writer& out) noexcept override {
    if (authcid_.empty() || password_.empty() || detail::contains(authzid_, '\0') ||
        detail::contains(authcid_, '\0') || detail::contains(password_, '\0'))
      return step_status::failed;
    const char nul[1] = {'\0'};
    const std::string_view sep(nul, 1);
    return detail::append_all(out, {authzid_, sep, authcid_, sep, password_}) ? step_status::send
                                                                              : step_status::failed;
  }

  /// PLAIN has no second message: any challenge fails the exchange.
  step_status step(std::string_view, byte_writer&) noexcept override { return step_status::failed; }

 private:
  std::string_view authcid_;
  std::string_view password_;
  std::string_view authzid_;
};

}  // namespace sasl

SMTPKIT_NAMESPACE_END
