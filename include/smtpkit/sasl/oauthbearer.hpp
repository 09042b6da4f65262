// smtpkit sasl: OAUTHBEARER, client side. RFC 7628 3.1 (the client response), 3.2.2 and 3.2.3
// (the server's error challenge and the client's answer), RFC 5801 4 (the GS2 header and
// saslname escaping), RFC 6750 2.1 (b64token).
//
//   kvsep        = %x01
//   key          = 1*(ALPHA)
//   value        = *(VCHAR / SP / HTAB / CR / LF )
//   kvpair       = key "=" value kvsep
//   client-resp  = (gs2-header kvsep *kvpair kvsep) / kvsep
//   gs2-header   = gs2-cb-flag "," [ gs2-authzid ] ","   ; here always "n"
//   gs2-authzid  = "a=" saslname                          ; "," as "=2C", "=" as "=3D"
//   auth-value   = "Bearer" 1*SP b64token
//
// Rules:
//  1. OAUTHBEARER is client-first: start() writes "n,a=<user>," ^A ["host=" host ^A]
//     ["port=" port ^A] "auth=Bearer " token ^A ^A (the order of RFC 7628 4.1's example).
//  2. A server that refuses the token sends a 334 challenge holding a JSON error (RFC 7628
//     3.2.2); the client answers it with a single %x01 (3.2.3) and the server then sends its
//     5xx. A second challenge fails the exchange.
//  3. A user holding NUL, a host that is not VCHARs, or a token outside the RFC 6750 b64token
//     alphabet fails start() (nothing is sent). An empty user leaves the authzid out.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>                  // uint16_t
#include <smtpkit/core/buffer.hpp>  // byte_writer
#include <smtpkit/core/bytes.hpp>   // ascii::is_vchar
#include <smtpkit/core/config.hpp>
#include <smtpkit/sasl/mechanism.hpp>
#include <string_view>  // string_view

SMTPKIT_NAMESPACE_BEGIN

namespace sasl {

/// OAUTHBEARER (RFC 7628) for a client: the user, the server's host and port, and an OAuth 2.0
/// bearer token in one message.
/// @warning Holds views of its arguments: they must outlive every exchange.
class oauthbearer_client final : public client_mechanism {
 public:
  /// Makes the mechanism.
  /// @param user the authorization identity (usually the mail address); "" to leave it out.
  /// @param token the access token (RFC 6750 b64token).
  /// @param host the server's host name as the client knows it, or "" to leave it out.
  /// @param port the server's port, or 0 to leave it out.
  oauthbearer_client(std::string_view user, std::string_view token, std::string_view host = {},
                     std::uint16_t port = 0) noexcept
      : user_(user), token_(token), host_(host), port_(port) {}

  /// Returns "OAUTHBEARER".
  std::string_view name() const noexcept override { return "OAUTHBEARER"; }

  /// Writes the client response of rule 1.
  /// @return step_status::send, or step_status::failed (see rule 3, or no room in @p out).
  step_status start(byte_writer& out) noexcept override {
    errors_ = 0;
    if (detail::contains(user_, '\0') || !detail::is_b64token(token_)) return step_status::failed;
    for (char c : host_)
      if (!ascii::is_vchar(c)) return step_status::failed;
    const std::size_t mark = out.mark();
    bool ok = out.append("n,");
    if (!user_.empty()) {
      ok = ok && out.append("a=");
      for (char c : user_) {  // saslname (RFC 5801 4)
        if (c == ',')
          ok = ok && out.append("=2C");
        else if (c == '=')
          ok = ok && out.append("=3D");
        else
          ok = ok && out.push(c);
      }
    }
    ok = ok && out.append(",\x01");
    if (!host_.empty()) ok = ok && detail::append_all(out, {"host=", host_, "\x01"});
    if (port_ != 0) ok = ok && out.append("port=") && out.append_uint(port_) && out.push('\x01');
    ok = ok && detail::append_all(out, {"auth=Bearer ", token_, "\x01\x01"});
    if (!ok) {
      out.rollback(mark);
      return step_status::failed;
    }
    return step_status::send;
  }

  /// Answers the server's error challenge (RFC 7628 3.2.2) with a single %x01 (3.2.3), once.
  step_status step(std::string_view, byte_writer& out) noexcept override {
    if (errors_++ != 0 || !out.push('\x01')) return step_status::failed;
    return step_status::send;
  }

 private:
  std::string_view user_;
  std::string_view token_;
  std::string_view host_;
  std::uint16_t port_ = 0;
  unsigned char errors_ = 0;  // error challenges answered in this exchange
};

}  // namespace sasl

SMTPKIT_NAMESPACE_END
