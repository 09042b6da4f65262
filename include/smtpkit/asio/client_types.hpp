// smtpkit asio: the values of the Asio client driver (smtpkit/asio/client.hpp): what the
// application gives it (client_options, envelope, a message_source) and gets back
// (server_reply, send_result, auth_result), and the types of the TLS hook.
// RFC 5321 (4.2 replies, 3.3 transactions), RFC 2033 4.2 (LMTP results per recipient), RFC 4954
// (AUTH), RFC 3207 (STARTTLS).
// Only files under include/smtpkit/asio/ include Asio.
// SPDX-License-Identifier: MIT
#pragma once

#include <asio.hpp>    // ip::tcp, mutable_buffer, const_buffer
#include <chrono>      // milliseconds
#include <cstddef>     // size_t
#include <cstring>     // memcpy
#include <functional>  // function
#include <memory>      // unique_ptr
#include <optional>    // optional
#include <smtpkit/client.hpp>
#include <smtpkit/core/config.hpp>
#include <string>        // string
#include <string_view>   // string_view
#include <system_error>  // error_code
#include <vector>        // vector

SMTPKIT_NAMESPACE_BEGIN

namespace asio {

/// A reply kept after the session's buffer moved on.
struct server_reply {
  int code = 0;                             ///< the reply code; 0 when there was no reply
  std::optional<enhanced_status> enhanced;  ///< the first line's enhanced status code
  std::string text;  ///< the first line's text (the server's: print it with escape_for_display)
  std::string raw;   ///< the whole reply as received, every line with its code and CRLF

  /// Returns true when no reply was kept.
  bool empty() const noexcept { return code == 0; }
  /// Copies @p r.
  static server_reply from(const reply& r) {
    server_reply s;
    s.assign(r);
    return s;
  }
  /// Copies @p r into this one (reusing its storage).
  void assign(const reply& r) {
    code = r.code();
    enhanced = r.enhanced();
    text.assign(r.text());
    raw.assign(r.raw());
  }
};

/// Where a message's octets come from: read in order, once per transaction, on the client's
/// strand. The driver converts line ends to CRLF and dot-stuffs (DATA) as it sends.
class message_source {
 public:
  virtual ~message_source() = default;
  /// Reads up to @p n octets into @p buf.
  /// @return how many were read; 0 at the end of the message (or with @p ec set on error:
  ///         then the connection is closed without ending the message).
  virtual std::size_t read(char* buf, std::size_t n, std::error_code& ec) = 0;
};

/// A message held in memory.
/// @warning Views @p text: it must live until the send completes.
class string_source final : public message_source {
 public:
  explicit string_source(std::string_view text) noexcept : text_(text) {}
  std::size_t read(char* buf, std::size_t n, std::error_code&) override {
    const std::size_t k = n < text_.size() - pos_ ? n : text_.size() - pos_;
    if (k != 0) std::memcpy(buf, text_.data() + pos_, k);
    pos_ += k;
    return k;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

/// One mail transaction to send.
struct envelope {
  /// The reverse-path's mailbox ("alice@example.org"), or "" for the null reverse-path "<>".
  std::string from;
  /// The recipients' mailboxes, in order (at most limits::max_recipients).
  std::vector<std::string> to;
  /// MAIL parameters (SIZE, BODY, RET, ENVID, ...). Those the server does not offer are left
  /// out; SMTPUTF8 is added when an address holds UTF-8. @warning Its views must live until
  /// the send completes.
  mail_parameters mail{};
  /// RCPT parameters for every recipient (NOTIFY, ORCPT; sent when the server offers DSN).
  rcpt_parameters rcpt{};
  /// Sends the message in BDAT chunks (RFC 3030) when the server offers CHUNKING; DATA
  /// otherwise.
  bool chunking = false;
};

/// What happened to one recipient.
struct recipient_outcome {
  bool accepted = false;   ///< RCPT got a 2xx reply
  server_reply reply;      ///< the reply to RCPT (empty when none came)
  bool delivered = false;  ///< LMTP: the message reached this recipient
  server_reply delivery;   ///< LMTP: the reply after the message for this recipient
};

/// The outcome of one transaction (client::async_send).
struct send_result {
  /// The server accepted the message: for every RCPT-accepted recipient in SMTP, for at least
  /// one in LMTP (see recipients[i].delivered).
  bool accepted = false;
  /// Where the transaction was decided (client_events::transaction_done::stage).
  client_command stage = client_command::data_end;
  std::size_t delivered = 0;                  ///< recipients that took the message
  std::vector<recipient_outcome> recipients;  ///< one per envelope::to, in order
  server_reply reply;  ///< the last reply of the transaction (the message's, or the refusal)
};

/// The outcome of client::async_auth.
struct auth_result {
  bool success = false;   ///< the server answered 235
  std::string mechanism;  ///< the mechanism used
  /// The server's last challenge, decoded (XOAUTH2 and OAUTHBEARER put a JSON error status
  /// there).
  std::string server_message;
  server_reply reply;  ///< the final reply
};

/// What a trace line is.
enum class trace_kind : unsigned char {
  sent = 0,      ///< a line the client sent (without its CRLF)
  received = 1,  ///< a line the server sent (without its CRLF)
  info = 2,      ///< what the driver did: "connected to 192.0.2.1 port 25", "starting TLS"
};

/// The socket type of a client.
using client_socket = ::asio::ip::tcp::socket;

/// A byte stream over the socket that replaces it for the session's bytes: TLS, made by
/// client_options::start_tls. Its operations are started on the client's strand, one read and
/// one write at a time.
class client_stream {
 public:
  using handler = std::function<void(const std::error_code&, std::size_t)>;
  virtual ~client_stream() = default;
  /// Reads some octets into @p b.
  virtual void async_read_some(::asio::mutable_buffer b, handler h) = 0;
  /// Writes all of @p b.
  virtual void async_write(::asio::const_buffer b, handler h) = 0;
  /// Ends the stream (a TLS close_notify, say); the driver then closes the socket.
  virtual void close() noexcept = 0;
};

/// Starts TLS over @p socket for @p server_name (the host the application connected to), and
/// calls @p done with the TLS stream, or with an error (the connection then closes).
using tls_starter = std::function<void(
    client_socket& socket, const std::string& server_name,
    std::function<void(const std::error_code&, std::unique_ptr<client_stream>)> done)>;

/// How a client connects and runs its session.
struct client_options {
  /// The session's configuration: helo_name, TLS policy, LMTP, limits, RFC 5321 timeouts...
  /// The client copies helo_name: the view need not outlive the client's construction.
  client_config session{};
  /// Bound on each connection attempt (each address of the host). 0: the system's.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
  /// Octets asked for in each read.
  std::size_t read_size = 16384;
  /// The TLS engine's entry point (rule 6 of client.hpp); empty in a build without one.
  tls_starter start_tls;
  /// Called with every line sent and received (rule 7 of client.hpp), on the client's strand.
  std::function<void(trace_kind, std::string_view)> trace;
};

}  // namespace asio

SMTPKIT_NAMESPACE_END
