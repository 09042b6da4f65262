// smtpkit asio: the Asio client driver. It resolves a host, connects to each of its addresses in
// turn (each attempt bounded by a connect timeout), and runs a client_session
// (smtpkit/client.hpp) over the TCP connection: it feeds the session what it reads, carries out
// the application's operations (authenticate, send a message, quit) as fast as the session
// allows, writes the session's output, arms the session's timers and closes the connection when
// the session ends. Operations take any Asio completion token: a callback, asio::use_future, or
// asio::use_awaitable where the compiler has coroutines (ASIO_HAS_CO_AWAIT).
// RFC 5321 (3.1 greeting, 3.3 transactions, 3.8 421, 4.5.3.2 timeouts), RFC 2920 (pipelining:
// the session batches commands, the driver writes each batch at once), RFC 3030 (BDAT), RFC 3207
// (STARTTLS: the start_tls hook), RFC 4954 (AUTH), RFC 2033 (LMTP), RFC 8314 (implicit TLS).
//
// Rules:
//  1. Everything a client does runs on its own strand: reads, writes, timers, the session and
//     the operations. One operation at a time: another one started while the first is pending
//     completes at once with errc::invalid_state.
//  2. Completion handlers are never called from inside the initiating function: they are
//     posted to the handler's associated executor (the client's strand by default), with
//     outstanding work held on it while the operation is pending.
//  3. A message is streamed from a message_source, chunk by chunk, through the session's
//     dot-stuffer (DATA) or in BDAT chunks; it is never held whole. Memory is bounded: one read
//     buffer, one write buffer of the session's output size, one body buffer.
//  4. Every address of a transaction is checked before MAIL is written, and the session refuses
//     locally (SIZE, 8BITMIME, SMTPUTF8) before MAIL too: a failure before the message sends
//     nothing of it. A message_source that fails in the middle of the message closes the
//     connection without the final "." (a truncated message is never delivered).
//  5. Timers: the session's current_timeout(), counted from the last byte read or written (or
//     the last change of kind), and the RFC 5321 4.5.3.2.5 data block timeout while a write of
//     the message is in progress. When one passes, the session ends with errc::timeout.
//  6. TLS: the driver has no TLS engine of its own. When the session asks for TLS (after the 220
//     to STARTTLS, or at once with client_config::implicit_tls) it calls
//     client_options::start_tls, which wraps the socket in a client_stream; without one, the
//     connection is closed and the operation fails with std::errc::protocol_not_supported, so
//     neither credentials nor a message ever go in clear against the policy.
//  7. client_options::trace sees every line sent and received; the lines of an AUTH exchange
//     that carry credentials are replaced by "<secret>" before it sees them.
//  8. No exception escapes a completion handler of the driver: one thrown inside it (an
//     allocation, a trace callback) closes the connection and fails the pending operation.
// Only files under include/smtpkit/asio/ include Asio.
// SPDX-License-Identifier: MIT
#pragma once

#include <asio.hpp>  // io_context, any_io_executor, async_initiate, dispatch, ip::tcp
#include <memory>    // shared_ptr, make_shared
#include <smtpkit/asio/client_core.hpp>
#include <smtpkit/asio/client_types.hpp>
#include <smtpkit/client.hpp>
#include <smtpkit/core/config.hpp>
#include <string>        // string
#include <system_error>  // error_code
#include <utility>       // move, forward
#include <vector>        // vector

SMTPKIT_NAMESPACE_BEGIN

namespace asio {

/// An SMTP (or LMTP) client connection on Asio: connect, authenticate, send messages, quit.
///
/// @code
/// asio::io_context ioc;
/// smtpkit::asio::client c(ioc, options);
/// c.async_connect("mail.example.org", "587", [&](std::error_code ec, smtpkit::asio::server_reply)
/// {
///   if (ec) return;
///   auto env = std::make_shared<smtpkit::asio::envelope>();
///   env->from = "alice@example.org";
///   env->to = {"bob@example.net"};
///   auto msg = std::make_shared<smtpkit::asio::string_source>(text);
///   c.async_send(*env, *msg, [&, msg](std::error_code e, smtpkit::asio::send_result r) {
///     c.async_quit([](std::error_code) {});
///   });
/// });
/// ioc.run();
/// @endcode
///
/// Every operation takes a completion token; with asio::use_future it returns a future (of the
/// result, or throwing std::system_error), and with asio::use_awaitable it can be co_awaited.
/// @warning Operations run one at a time (rule 1 of this file).
class client {
 public:
  /// Makes a client on @p ex; nothing happens until async_connect().
  client(const ::asio::any_io_executor& ex, client_options options)
      : core_(std::make_shared<detail::client_core>(ex, std::move(options))) {}
  /// Makes a client on @p ioc.
  client(::asio::io_context& ioc, client_options options)
      : client(ioc.get_executor(), std::move(options)) {}
  client(const client&) = delete;
  client& operator=(const client&) = delete;
  /// Closes the connection; a pending operation completes with operation_aborted.
  ~client() { close(); }

  /// Returns the client's strand: everything of the client runs there.
  detail::client_core::strand_type get_executor() const noexcept { return core_->strand(); }

  /// Resolves @p host, connects to each address in turn (client_options::connect_timeout
  /// each), reads the greeting and runs the opening (EHLO or LHLO, STARTTLS as the policy
  /// asks) until the session is ready. A client that was connected is reconnected.
  /// Completion: void(std::error_code, server_reply), the reply being the last one read (the
  /// EHLO reply; or the greeting or reply that refused the session, never the 221 to the QUIT
  /// that followed).
  /// Errors: the resolver's (asio::error::host_not_found ...); the last connection attempt's
  /// (connection_refused, std::errc::timed_out ...); errc::session_closed (a 554 or 421
  /// greeting, EHLO and HELO refused); errc::tls_required (the policy wants TLS and the server
  /// does not offer STARTTLS or refuses it); std::errc::protocol_not_supported (TLS is needed
  /// and client_options::start_tls is empty); errc::timeout, errc::connection_lost,
  /// errc::protocol_error; errc::invalid_state (another operation is pending).
  template <class Token>
  auto async_connect(std::string host, std::string service, Token&& token) {
    return ::asio::async_initiate<Token, void(std::error_code, server_reply)>(
        [core = core_](auto handler, std::string h, std::string s) {
          detail::completion<void(std::error_code, server_reply)> c(std::move(handler),
                                                                    core->strand());
          ::asio::dispatch(core->strand(),
                           [core, c = std::move(c), h = std::move(h), s = std::move(s)]() mutable {
                             core->start_connect(std::move(c), std::move(h), std::move(s));
                           });
        },
        token, std::move(host), std::move(service));
  }

  /// Connects to @p endpoints in turn, as async_connect(host, service), with @p server_name
  /// given to the TLS hook. Completion and errors as above.
  template <class Token>
  auto async_connect(std::vector<::asio::ip::tcp::endpoint> endpoints, std::string server_name,
                     Token&& token) {
    return ::asio::async_initiate<Token, void(std::error_code, server_reply)>(
        [core = core_](auto handler, std::vector<::asio::ip::tcp::endpoint> eps, std::string name) {
          detail::completion<void(std::error_code, server_reply)> c(std::move(handler),
                                                                    core->strand());
          ::asio::dispatch(core->strand(), [core, c = std::move(c), eps = std::move(eps),
                                            name = std::move(name)]() mutable {
            core->start_connect_endpoints(std::move(c), std::move(eps), std::move(name));
          });
        },
        token, std::move(endpoints), std::move(server_name));
  }

  /// Authenticates with @p mech (RFC 4954), which the server must offer.
  /// Completion: void(std::error_code, auth_result).
  /// Errors: errc::auth_failed (the server refused: see auth_result::reply, 535 for bad
  /// credentials, 4xx for a temporary failure); errc::tls_required (no TLS and
  /// client_config::allow_plaintext_auth is off); errc::auth_mechanism_unsupported;
  /// errc::invalid_argument (the mechanism refused its credentials); errc::auth_line_too_long;
  /// errc::auth_cancelled, errc::bad_base64 (a challenge the mechanism could not answer); the
  /// session's end (errc::timeout, errc::connection_lost, errc::session_closed,
  /// errc::protocol_error); errc::invalid_state (not connected, after a successful AUTH, or
  /// another operation pending).
  /// @warning @p mech must live until the completion.
  template <class Token>
  auto async_auth(sasl::client_mechanism& mech, Token&& token) {
    return initiate_auth({&mech}, true, std::forward<Token>(token));
  }

  /// Authenticates with the strongest of @p candidates that the server offers
  /// (sasl::strength()). Completion and errors as above.
  /// @warning The mechanisms must live until the completion.
  template <class Token>
  auto async_auth(std::vector<sasl::client_mechanism*> candidates, Token&& token) {
    return initiate_auth(std::move(candidates), false, std::forward<Token>(token));
  }

  /// Sends one message: MAIL, RCPT for each recipient, DATA (or BDAT), the message from
  /// @p source, and reads every reply. Several sends may follow each other on one connection.
  /// Completion: void(std::error_code, send_result). An empty error_code means the server's
  /// replies decided: send_result::accepted and each recipient's outcome say what they were.
  /// Errors, before anything of the transaction is sent: the path parser's (errc::bad_path,
  /// errc::bad_domain, errc::bad_local_part ...: an address is malformed or holds CR, LF or
  /// NUL); errc::too_many_recipients; errc::message_too_large (envelope::mail's SIZE is over
  /// the server's); errc::unknown_parameter (8BITMIME or BINARYMIME not offered);
  /// errc::bad_utf8 (a UTF-8 address and no SMTPUTF8); errc::tls_required.
  /// Errors later: the session's end (errc::timeout, errc::connection_lost,
  /// errc::session_closed, errc::protocol_error); the source's error (the connection is then
  /// closed without ending the message). errc::invalid_state: not connected or another
  /// operation pending.
  /// @warning @p source must live until the completion; envelope::mail's views too.
  template <class Token>
  auto async_send(envelope env, message_source& source, Token&& token) {
    return ::asio::async_initiate<Token, void(std::error_code, send_result)>(
        [core = core_](auto handler, envelope e, message_source* src) {
          detail::completion<void(std::error_code, send_result)> c(std::move(handler),
                                                                   core->strand());
          ::asio::dispatch(core->strand(),
                           [core, c = std::move(c), e = std::move(e), src]() mutable {
                             core->start_send(std::move(c), std::move(e), *src);
                           });
        },
        token, std::move(env), &source);
  }

  /// Sends QUIT and waits for the 221 (or for the server to close); then the connection is
  /// closed. Completion: void(std::error_code): empty after a QUIT, otherwise why the session
  /// ended before (errc::session_closed, errc::timeout, errc::connection_lost ...).
  template <class Token>
  auto async_quit(Token&& token) {
    return ::asio::async_initiate<Token, void(std::error_code)>(
        [core = core_](auto handler) {
          detail::completion<void(std::error_code)> c(std::move(handler), core->strand());
          ::asio::dispatch(core->strand(),
                           [core, c = std::move(c)]() mutable { core->start_quit(std::move(c)); });
        },
        token);
  }

  /// Closes the connection at once, from any thread (no QUIT); a pending operation completes
  /// with asio::error::operation_aborted.
  void close() {
    if (!core_) return;
    ::asio::dispatch(core_->strand(), [core = core_] { core->close_now(); });
  }

  /// Returns the session of the current connection (capabilities(), tls_active() ...), or
  /// nullptr before the first connection.
  /// @warning Call it on the client's strand (in a completion handler when the io_context
  ///          runs on one thread); the session is replaced by the next async_connect().
  const client_session* session() const noexcept { return core_->session(); }

  /// Returns the address of the server connected to (after async_connect() completed).
  ::asio::ip::tcp::endpoint remote_endpoint() const noexcept { return core_->remote_endpoint(); }

  /// Returns the options in force.
  const client_options& options() const noexcept { return core_->options(); }

 private:
  template <class Token>
  auto initiate_auth(std::vector<sasl::client_mechanism*> candidates, bool exact, Token&& token) {
    return ::asio::async_initiate<Token, void(std::error_code, auth_result)>(
        [core = core_](auto handler, std::vector<sasl::client_mechanism*> m, bool x) {
          detail::completion<void(std::error_code, auth_result)> c(std::move(handler),
                                                                   core->strand());
          ::asio::dispatch(core->strand(), [core, c = std::move(c), m = std::move(m), x]() mutable {
            core->start_auth(std::move(c), std::move(m), x);
          });
        },
        token, std::move(candidates), exact);
  }

  std::shared_ptr<detail::client_core> core_;
};

}  // namespace asio

SMTPKIT_NAMESPACE_END
