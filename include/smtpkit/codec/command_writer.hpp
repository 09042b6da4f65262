// smtpkit codec: command lines out. The client side of RFC 5321 4.1.1, RFC 2033 (LHLO),
// RFC 3030 (BDAT), RFC 3207 (STARTTLS), RFC 4954 4 (AUTH and SASL response lines), with the
// ESMTP parameters of esmtp_params.hpp.
//
// Rules:
//  1. A writer never emits what parse_command() (or parse_sasl_response()) refuses: paths and
//     hosts are validated types, and every other field is checked again here with the
//     parser's own functions. A field that fails is errc::invalid_argument.
//  2. parse_command(write_command(x)) == x for every x that write_command() accepts, with the
//     same limits.
//  3. Output is canonical: upper-case verbs, "MAIL FROM:<...>" without a space, typed
//     parameters in a fixed order (SIZE BODY SMTPUTF8 RET ENVID AUTH REQUIRETLS; NOTIFY ORCPT)
//     followed by the extensions as they were given. Every line ends in CRLF.
//  4. Writers append into a byte_writer and never allocate. On any error nothing is appended
//     (errc::invalid_argument when the command is invalid, whatever the space; otherwise
//     errc::output_full when it does not fit).
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>                         // size_t
#include <cstdint>                         // uint64_t
#include <smtpkit/codec/command.hpp>       // command types, detail checks
#include <smtpkit/codec/esmtp_params.hpp>  // mail_parameters, rcpt_parameters
#include <smtpkit/codec/path.hpp>          // reverse_path, forward_path
#include <smtpkit/core/buffer.hpp>         // byte_writer
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>   // errc, make_error_code
#include <smtpkit/core/limits.hpp>  // limits
#include <string_view>              // string_view
#include <system_error>             // error_code
#include <variant>                  // get_if

SMTPKIT_NAMESPACE_BEGIN

namespace detail {

/// Appends to a byte_writer while counting the would-be length, so that a too-long line is
/// told apart from a full buffer; rolls back on failure.
class line_out {
 public:
  explicit line_out(byte_writer& w) noexcept : w_(w), mark_(w.mark()) {}

  void put(std::string_view s) noexcept {
    len_ += s.size();
    ok_ = ok_ && w_.append(s);
  }
  void put(char c) noexcept {
    ++len_;
    ok_ = ok_ && w_.push(c);
  }
  void put_uint(std::uint64_t v) noexcept {
    std::size_t d = 1;
    for (std::uint64_t t = v; t >= 10; t /= 10) ++d;
    len_ += d;
    ok_ = ok_ && w_.append_uint(v);
  }
  /// Ends the line with CRLF and checks it against @p max_line (CRLF included).
  std::error_code finish(std::size_t max_line) noexcept {
    put("\r\n");
    if (len_ > max_line) return fail(errc::invalid_argument);
    if (!ok_) return fail(errc::output_full);
    return {};
  }
  /// Drops what was appended and returns @p e.
  std::error_code fail(errc e) noexcept {
    w_.rollback(mark_);
    return make_error_code(e);
  }

 private:
  byte_writer& w_;
  std::size_t mark_;
  std::size_t len_ = 0;
  bool ok_ = true;
};

inline void put_mailbox(line_out& o, const mailbox& m) noexcept {
  o.put(m.local_part());
  if (!m.domain().empty()) {
    o.put('@');
    o.put(m.domain());
  }
}

/// Returns true when @p m fits the local-part, domain and path limits (it is valid already).
inline bool mailbox_fits(const mailbox& m, const limits& lim) noexcept {
  return m.local_part().size() <= lim.local_part && m.domain().size() <= lim.domain &&
         m.size() + 2 <= lim.path;
}

inline void put_extensions(line_out& o, const param_list& list) noexcept {
  for (const esmtp_param& q : list) {
    o.put(' ');
    o.put(q.keyword);
    if (q.has_value) {
      o.put('=');
      o.put(q.value);
    }
  }
}

/// Returns true when @p text is empty or an RFC 5321 String, alone.
inline bool valid_string_argument(std::string_view text) noexcept {
  if (text.empty()) return true;
  const char* p = text.data();
  const char* const end = p + text.size();
  bool utf8 = false;
  return scan_string(p, end, utf8) == no_error && p == end;
}

/// Returns true when @p arg is a VRFY/EXPN argument, alone.
inline bool valid_lookup_argument(std::string_view arg, const limits& lim) noexcept {
  const char* p = arg.data();
  const char* const end = p + arg.size();
  bool utf8 = false;
  return !arg.empty() && scan_lookup_argument(p, arg.data(), end, lim, utf8) == no_error &&
         p == end;
}

template <verb V>
inline std::error_code write_greeting(byte_writer& out, const greeting_command<V>& c,
                                      const limits& lim) noexcept {
  line_out o(out);
  if (c.domain.empty() || c.domain.text().size() > lim.domain)
    return o.fail(errc::invalid_argument);
  o.put(to_string(V));
  o.put(' ');
  o.put(c.domain.text());
  return o.finish(lim.command_line);
}

template <verb V>
inline std::error_code write_bare(byte_writer& out, const limits& lim) noexcept {
  line_out o(out);
  o.put(to_string(V));
  return o.finish(lim.command_line);
}

template <verb V>
inline std::error_code write_text(byte_writer& out, std::string_view text,
                                  const limits& lim) noexcept {
  line_out o(out);
  if (!valid_string_argument(text)) return o.fail(errc::invalid_argument);
  o.put(to_string(V));
  if (!text.empty()) {
    o.put(' ');
    o.put(text);
  }
  return o.finish(lim.command_line);
}

template <verb V>
inline std::error_code write_lookup(byte_writer& out, const lookup_command<V>& c,
                                    const limits& lim) noexcept {
  line_out o(out);
  if (!valid_lookup_argument(c.argument, lim)) return o.fail(errc::invalid_argument);
  o.put(to_string(V));
  o.put(' ');
  o.put(c.argument);
  if (c.smtputf8) o.put(" SMTPUTF8");
  return o.finish(lim.command_line);
}

}  // namespace detail

/// Writes "HELO domain\r\n". @return an empty error_code, errc::invalid_argument (an empty
/// host, or one over limits::domain or the line limit), or errc::output_full.
inline std::error_code write_command(byte_writer& out, const helo_command& c,
                                     const limits& lim = limits{}) noexcept {
  return detail::write_greeting(out, c, lim);
}
/// Writes "EHLO domain\r\n". Errors as for HELO.
inline std::error_code write_command(byte_writer& out, const ehlo_command& c,
                                     const limits& lim = limits{}) noexcept {
  return detail::write_greeting(out, c, lim);
}
/// Writes "LHLO domain\r\n". Errors as for HELO.
inline std::error_code write_command(byte_writer& out, const lhlo_command& c,
                                     const limits& lim = limits{}) noexcept {
  return detail::write_greeting(out, c, lim);
}

/// Writes "MAIL FROM:<path> params\r\n".
/// @return an empty error_code, errc::invalid_argument (a parameter the parser would refuse,
///         a path over limits::path, a line over limits::command_line), or errc::output_full.
inline std::error_code write_command(byte_writer& out, const mail_command& c,
                                     const limits& lim = limits{}) noexcept {
  detail::line_out o(out);
  const mail_parameters& m = c.params;
  // The typed parameters were checked when set; the limits may differ from those in force
  // then, so what depends on them is checked again.
  if (!detail::mailbox_fits(c.from.address(), lim) ||
      (!m.auth().empty() && m.auth() != "<>" &&
       detail::check_auth_mailbox(m.auth(), lim) != detail::no_error))
    return o.fail(errc::invalid_argument);
  o.put("MAIL FROM:<");
  detail::put_mailbox(o, c.from.address());
  o.put('>');
  if (const std::optional<std::uint64_t> size = m.size()) {
    o.put(" SIZE=");
    o.put_uint(*size);
  }
  switch (m.body()) {
    case body_type::seven_bit:
      o.put(" BODY=7BIT");
      break;
    case body_type::eight_bit_mime:
      o.put(" BODY=8BITMIME");
      break;
    case body_type::binary_mime:
      o.put(" BODY=BINARYMIME");
      break;
    case body_type::none:
      break;
  }
  if (m.smtputf8()) o.put(" SMTPUTF8");
  if (m.ret() == dsn_ret::full) o.put(" RET=FULL");
  if (m.ret() == dsn_ret::hdrs) o.put(" RET=HDRS");
  if (!m.envid().empty()) {
    o.put(" ENVID=");
    o.put(m.envid());
  }
  if (!m.auth().empty()) {
    o.put(" AUTH=");
    o.put(m.auth());
  }
  if (m.requiretls()) o.put(" REQUIRETLS");
  detail::put_extensions(o, m.extensions());
  return o.finish(lim.command_line);
}

/// Writes "RCPT TO:<path> params\r\n".
/// @return an empty error_code, errc::invalid_argument (an empty path, a parameter the parser
///         would refuse, a line over limits::command_line), or errc::output_full.
inline std::error_code write_command(byte_writer& out, const rcpt_command& c,
                                     const limits& lim = limits{}) noexcept {
  detail::line_out o(out);
  const rcpt_parameters& r = c.params;
  if (c.to.empty() || !detail::mailbox_fits(c.to.address(), lim))
    return o.fail(errc::invalid_argument);
  o.put("RCPT TO:<");
  detail::put_mailbox(o, c.to.address());
  o.put('>');
  const dsn_notify notify = r.notify();
  if (notify != dsn_notify::none) {
    o.put(" NOTIFY=");
    if (notify == dsn_notify::never) {
      o.put("NEVER");
    } else {
      const char* sep = "";
      if (has(notify, dsn_notify::success)) {
        o.put("SUCCESS");
        sep = ",";
      }
      if (has(notify, dsn_notify::failure)) {
        o.put(sep);
        o.put("FAILURE");
        sep = ",";
      }
      if (has(notify, dsn_notify::delay)) {
        o.put(sep);
        o.put("DELAY");
      }
    }
  }
  if (!r.orcpt_type().empty()) {
    o.put(" ORCPT=");
    o.put(r.orcpt_type());
    o.put(';');
    o.put(r.orcpt_address());
  }
  detail::put_extensions(o, r.extensions());
  return o.finish(lim.command_line);
}

/// Writes "DATA\r\n". @return an empty error_code, errc::invalid_argument
/// (limits::command_line under 6 octets) or errc::output_full.
inline std::error_code write_command(byte_writer& out, const data_command&,
                                     const limits& lim = limits{}) noexcept {
  return detail::write_bare<verb::data>(out, lim);
}
/// Writes "RSET\r\n". @return an empty error_code, errc::invalid_argument
/// (limits::command_line under 6 octets) or errc::output_full.
inline std::error_code write_command(byte_writer& out, const rset_command&,
                                     const limits& lim = limits{}) noexcept {
  return detail::write_bare<verb::rset>(out, lim);
}
/// Writes "QUIT\r\n". @return an empty error_code, errc::invalid_argument
/// (limits::command_line under 6 octets) or errc::output_full.
inline std::error_code write_command(byte_writer& out, const quit_command&,
                                     const limits& lim = limits{}) noexcept {
  return detail::write_bare<verb::quit>(out, lim);
}
/// Writes "STARTTLS\r\n". @return an empty error_code, errc::invalid_argument
/// (limits::command_line under 10 octets) or errc::output_full.
inline std::error_code write_command(byte_writer& out, const starttls_command&,
                                     const limits& lim = limits{}) noexcept {
  return detail::write_bare<verb::starttls>(out, lim);
}

/// Writes "BDAT size[ LAST]\r\n". @return an empty error_code, errc::invalid_argument (over
/// limits::command_line) or errc::output_full.
inline std::error_code write_command(byte_writer& out, const bdat_command& c,
                                     const limits& lim = limits{}) noexcept {
  detail::line_out o(out);
  o.put("BDAT ");
  o.put_uint(c.size);
  if (c.last) o.put(" LAST");
  return o.finish(lim.command_line);
}

/// Writes "NOOP[ text]\r\n". @return an empty error_code, errc::invalid_argument (@p text is
/// not an Atom or a Quoted-string) or errc::output_full.
inline std::error_code write_command(byte_writer& out, const noop_command& c,
                                     const limits& lim = limits{}) noexcept {
  return detail::write_text<verb::noop>(out, c.text, lim);
}
/// Writes "HELP[ topic]\r\n". Errors as for NOOP.
inline std::error_code write_command(byte_writer& out, const help_command& c,
                                     const limits& lim = limits{}) noexcept {
  return detail::write_text<verb::help>(out, c.text, lim);
}

/// Writes "VRFY argument[ SMTPUTF8]\r\n". @return an empty error_code, errc::invalid_argument
/// (not a String, Mailbox or Path) or errc::output_full.
inline std::error_code write_command(byte_writer& out, const vrfy_command& c,
                                     const limits& lim = limits{}) noexcept {
  return detail::write_lookup(out, c, lim);
}
/// Writes "EXPN argument[ SMTPUTF8]\r\n". Errors as for VRFY.
inline std::error_code write_command(byte_writer& out, const expn_command& c,
                                     const limits& lim = limits{}) noexcept {
  return detail::write_lookup(out, c, lim);
}

/// Writes "AUTH mechanism[ initial-response]\r\n" (RFC 4954 4). The initial response is
/// already base64, or "=" for an empty one; empty means none.
/// @return an empty error_code, errc::invalid_argument (not an RFC 4422 mechanism name, of
///         either case; not base64; or over limits::auth_line) or errc::output_full.
inline std::error_code write_command(byte_writer& out, const auth_command& c,
                                     const limits& lim = limits{}) noexcept {
  detail::line_out o(out);
  if (!detail::is_sasl_mech(c.mechanism) ||
      (!c.initial_response.empty() &&
       detail::check_initial_response(c.initial_response) != detail::no_error))
    return o.fail(errc::invalid_argument);
  o.put("AUTH ");
  o.put(c.mechanism);
  if (!c.initial_response.empty()) {
    o.put(' ');
    o.put(c.initial_response);
  }
  return o.finish(lim.auth_line);
}

/// Writes any command. See the overload for each command type.
inline std::error_code write_command(byte_writer& out, const command& c,
                                     const limits& lim = limits{}) noexcept {
  switch (verb_of(c)) {
    case verb::helo:
      return write_command(out, *std::get_if<helo_command>(&c), lim);
    case verb::ehlo:
      return write_command(out, *std::get_if<ehlo_command>(&c), lim);
    case verb::lhlo:
      return write_command(out, *std::get_if<lhlo_command>(&c), lim);
    case verb::mail:
      return write_command(out, *std::get_if<mail_command>(&c), lim);
    case verb::rcpt:
      return write_command(out, *std::get_if<rcpt_command>(&c), lim);
    case verb::data:
      return write_command(out, *std::get_if<data_command>(&c), lim);
    case verb::bdat:
      return write_command(out, *std::get_if<bdat_command>(&c), lim);
    case verb::rset:
      return write_command(out, *std::get_if<rset_command>(&c), lim);
    case verb::noop:
      return write_command(out, *std::get_if<noop_command>(&c), lim);
    case verb::quit:
      return write_command(out, *std::get_if<quit_command>(&c), lim);
    case verb::vrfy:
      return write_command(out, *std::get_if<vrfy_command>(&c), lim);
    case verb::expn:
      return write_command(out, *std::get_if<expn_command>(&c), lim);
    case verb::help:
      return write_command(out, *std::get_if<help_command>(&c), lim);
    case verb::starttls:
      return write_command(out, *std::get_if<starttls_command>(&c), lim);
    case verb::auth:
      return write_command(out, *std::get_if<auth_command>(&c), lim);
  }
  return make_error_code(errc::invalid_argument);
}

/// Writes "AUTH mechanism[ initial-response]\r\n"; see write_command(byte_writer&,
/// const auth_command&).
inline std::error_code write_auth(byte_writer& out, std::string_view mechanism,
                                  std::string_view initial_response = {},
                                  const limits& lim = limits{}) noexcept {
  return write_command(out, auth_command{mechanism, initial_response}, lim);
}

/// Writes a SASL response line (RFC 4954 4): @p base64 and CRLF; "" writes an empty response.
/// @return an empty error_code, errc::invalid_argument (not base64, or over limits::auth_line)
///         or errc::output_full.
inline std::error_code write_sasl_response(byte_writer& out, std::string_view base64,
                                           const limits& lim = limits{}) noexcept {
  detail::line_out o(out);
  if (!is_base64(base64)) return o.fail(errc::invalid_argument);
  o.put(base64);
  return o.finish(lim.auth_line);
}

/// Writes the SASL cancel line "*\r\n" (RFC 4954 4). @return an empty error_code or
/// errc::output_full.
inline std::error_code write_sasl_cancel(byte_writer& out) noexcept {
  detail::line_out o(out);
  o.put('*');
  return o.finish(3);
}

SMTPKIT_NAMESPACE_END
