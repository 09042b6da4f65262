// smtpkit sasl: LOGIN, client side. draft-murchison-sasl-login-00 (the server asks for the user
// name, then for the password, each in its own challenge), RFC 4954 4 (the SMTP profile).
//
// Rules:
//  1. LOGIN is server-first: start() writes nothing; the first challenge is answered with the
//     user name and the second with the password, whatever their text ("Username:",
//     "User Name", ... as servers vary). A third challenge fails the exchange.
//  2. An empty user name fails start() (nothing is sent).
//  3. LOGIN sends the password as it is (base64 is no protection): use it over TLS only.
// SPDX-License-Identifier: MIT
#pragma once

#include <smtpkit/core/buffer.hpp>  // byte_writer
#include <smtpkit/core/config.hpp>
#include <smtpkit/sasl/mechanism.hpp>
#include <string_view>  // string_view

SMTPKIT_NAMESPACE_BEGIN

namespace sasl {

/// LOGIN for a client: the user name, then the password, each in answer to a challenge.
/// @warning Holds views of the credentials: they must outlive every exchange.
class login_client final : public client_mechanism {
 public:
  /// Makes the mechanism for @p user and @p password.
  login_client(std::string_view user, std::string_view password) noexcept
      : user_(user), password_(password) {}

  /// Returns "LOGIN".
  std::string_view name() const noexcept override { return "LOGIN"; }

  /// Begins an exchange. @return step_status::wait, or step_status::failed for an empty user.
  step_status start(byte_writer&) noexcept override {
    step_ = 0;
    return user_.empty() ? step_status::failed : step_status::wait;
  }

  /// Answers the first challenge with the user name and the second with the password.
  /// @return step_status::send, or step_status::failed (a third challenge, or no room).
  step_status step(std::string_view, byte_writer& out) noexcept override {
    if (step_ > 1) return step_status::failed;
    if (!out.append(step_ == 0 ? user_ : password_)) return step_status::failed;
    ++step_;
    return step_status::send;
  }

 private:
  std::string_view user_;
  std::string_view password_;
  unsigned char step_ = 0;  // challenges answered in this exchange
};

}  // namespace sasl

SMTPKIT_NAMESPACE_END
