// smtpkit client: the receiving side of client_session (declared in client/session.hpp): reading
// replies, matching each to the command it answers, and the events that follow.
// RFC 5321 3.1 (greeting: 220, 554, 421), 3.2 (EHLO, HELO fallback), 4.2 and 4.3.2 (which
// codes answer which command), 3.8 (421), RFC 2920 3.1 (pipelined replies, in order),
// RFC 2033 4.2 (LMTP replies per recipient), RFC 3030 2 (BDAT replies), RFC 3207 4.2 and 5
// (STARTTLS), RFC 4954 4 (AUTH: 334 continuation, 235, cancel with "*"), RFC 7628 3.2.2.
//
// Rules:
//  1. A reply is read only when no event of the previous one is waiting, and when the output
//     buffer has room for what the session may have to write in answer (a SASL response, RSET,
//     QUIT, EHLO, "."); otherwise next_event() returns need_data and the driver sends output.
//  2. The reply being handled stays at the front of the input buffer, unconsumed, until its
//     last event is returned; the events view it. Then it is dropped.
//  3. A code that cannot answer the command (a 3xx to anything but DATA and AUTH, anything but
//     354 to DATA, anything but 220 to the greeting and STARTTLS, anything but 250 to EHLO and
//     HELO, anything but 235 or 334 as a positive AUTH reply) is a protocol error.
// SPDX-License-Identifier: MIT
#pragma once

#include <smtpkit/client/session.hpp>

SMTPKIT_NAMESPACE_BEGIN

namespace detail {
/// Parses the reply to EHLO @p r without its last line when that line is empty ("250" or
/// "250 "; Postfix's smtp-sink ends its EHLO reply so): the lines before it are copied into
/// @p buf (@p cap octets), the one before made the last, and parsed from there.
/// @return the capabilities (viewing @p buf), or errc::bad_reply.
inline result<ehlo_capabilities> parse_ehlo_reply_without_empty_line(const reply& r, char* buf,
                                                                     std::size_t cap,
                                                                     const limits& lim) noexcept {
  const std::string_view raw = r.raw();  // every line ends with CRLF
  if (r.line_count() < 2 || raw.size() < 6) return errc::bad_reply;
  const std::size_t last = raw.rfind('\n', raw.size() - 3) + 1;  // where the last line starts
  const std::string_view line = raw.substr(last, raw.size() - 2 - last);
  if ((line != "250" && line != "250 ") || last > cap) return errc::bad_reply;
  std::memcpy(buf, raw.data(), last);
  const std::size_t prev = std::string_view(buf, last - 2).rfind('\n');
  buf[prev == std::string_view::npos ? 3 : prev + 4] = ' ';  // "250-" becomes "250 "
  const result<reply> shorter = parse_reply(std::string_view(buf, last), lim, r.line_count());
  if (!shorter) return errc::bad_reply;
  return parse_ehlo_reply(*shorter, lim);
}

constexpr bool is_positive(int code) noexcept {
  return code >= 200 && code < 300;
}
constexpr bool is_negative(int code) noexcept {
  return code >= 400;
}
}  // namespace detail

inline client_event client_session::next_event() noexcept {
  if (notes_size_ != 0) return pop_note();
  if (held_ != 0) {  // rule 2: the previous reply's events are all out
    input_.consume(held_);
    held_ = 0;
    current_ = reply{};
  }
  if (state_ == client_state::closed) return client_events::closed{close_reason_};
  if (state_ == client_state::tls_pending) {
    if (!eof_) return client_events::need_data{};
    close_now(errc::connection_lost);  // the server left during the handshake
    return pop_note();
  }
  return read_reply();
}

inline client_event client_session::pop_note() noexcept {
  const note n = notes_[notes_head_];
  notes_head_ = (notes_head_ + 1) % max_notes;
  --notes_size_;
  const reply r = n.with_reply ? current_ : reply{};
  switch (n.kind) {
    case note_kind::reply:
      return client_events::reply_received{n.command, n.index, r};
    case note_kind::ready:
      return client_events::ready{caps_, esmtp_, tls_active()};
    case note_kind::start_tls:
      // Rule 5 of session.hpp: whatever followed the 220 is never read (response injection).
      input_.clear();
      held_ = 0;
      current_ = reply{};
      reader_.reset();
      return client_events::start_tls{};
    case note_kind::auth_done: {
      const char* chal = sasl_.get() + sasl_raw_size(cfg_.limits) + cfg_.limits.auth_line;
      return client_events::auth_done{n.flag, mech_name_, std::string_view(chal, challenge_size_),
                                      n.error, r};
    }
    case note_kind::recipient:
      return client_events::recipient_result{n.index, n.flag, r};
    case note_kind::body_ready:
      return client_events::body_ready{};
    case note_kind::delivery:
      return client_events::delivery_result{n.index, n.flag, r};
    case note_kind::done:
      return client_events::transaction_done{n.flag, n.command, n.error, n.index, r};
    case note_kind::protocol_error:
      return client_events::protocol_error{n.error};
    case note_kind::closed:
      return client_events::closed{n.error};
  }
  return client_events::need_data{};
}

inline client_event client_session::read_reply() noexcept {
  // Rule 1: room for the session's answer (a SASL response may be as long as auth_line).
  const bool auth = queue_size_ != 0 && front().command == client_command::auth;
  const std::size_t room = auth ? cfg_.limits.auth_line + 8 : own_reserve();
  if (output_.space() < room) return client_events::need_data{};
  const reply_result r = reader_.read(input_.view());
  if (r.status == reply_status::error) {
    fail_protocol(r.error);
    return pop_note();
  }
  if (r.status == reply_status::need_more) {
    if (eof_) return on_eof();
    return client_events::need_data{};
  }
  held_ = r.consumed;
  current_ = r.value;
  on_reply(current_);
  return notes_size_ != 0 ? pop_note() : next_event();
}

inline client_event client_session::on_eof() noexcept {
  if (state_ == client_state::closing && queue_size_ != 0 &&
      front().command == client_command::quit) {
    close_now(close_reason_);  // the server closed instead of (or after) its 221
  } else {
    abort_transaction(errc::connection_lost, false);
    close_now(errc::connection_lost);
  }
  return pop_note();
}

inline void client_session::timeout() noexcept {
  if (state_ == client_state::closed) return;
  abort_transaction(errc::timeout, false);
  if (state_ == client_state::closing && close_reason_ != errc{}) {
    close_now(close_reason_);  // the session was ending for that reason anyway
    return;
  }
  close_now(errc::timeout);
}

inline std::error_code client_session::tls_started() noexcept {
  if (state_ != client_state::tls_pending) return errc::invalid_state;
  tls_ = true;
  input_.clear();
  held_ = 0;
  current_ = reply{};
  reader_.reset();
  // RFC 3207 4.2: the client discards what it knew from the server and asks again.
  caps_ = ehlo_capabilities{};
  esmtp_ = false;
  state_ = client_state::opening;
  send_hello();
  return {};
}

inline deadline client_session::current_timeout() const noexcept {
  const client_timeouts& t = cfg_.timeouts;
  if (state_ == client_state::closed || state_ == client_state::tls_pending) return {};
  if (tx_ == transaction_phase::body && !output_.empty())
    return {timeout_kind::data_block, t.data_block};
  if (queue_size_ == 0) return {};
  const entry& e = queue_[queue_head_];
  switch (e.command) {
    case client_command::greeting:
      return {timeout_kind::greeting, t.greeting};
    case client_command::mail:
      return {timeout_kind::reply, t.mail};
    case client_command::rcpt:
      return {timeout_kind::reply, t.rcpt};
    case client_command::data:
      return {timeout_kind::data_init, t.data_init};
    case client_command::data_end:
      return {timeout_kind::data_term, t.data_term};
    case client_command::bdat:
      return e.last ? deadline{timeout_kind::data_term, t.data_term}
                    : deadline{timeout_kind::data_block, t.data_block};
    default:
      return {timeout_kind::reply, t.command};
  }
}

inline void client_session::on_reply(const reply& r) noexcept {
  const int code = r.code();
  if (queue_size_ == 0) {  // rule 3 of session.hpp: nobody asked
    add_note({note_kind::reply, client_command::none, false, true, errc{}, 0});
    if (code == 421) {
      abort_transaction(errc::session_closed, true);
      close_now(errc::session_closed);
    } else {
      fail_protocol(errc::protocol_error);
    }
    return;
  }
  entry& e = front();
  std::uint32_t index = e.index;
  if ((e.command == client_command::data_end || (e.command == client_command::bdat && e.last)) &&
      cfg_.lmtp && !e.dummy && tx_data_.accepted != 0) {
    index = static_cast<std::uint32_t>(next_accepted());
  }
  add_note({note_kind::reply, e.command, false, true, errc{}, index});
  // Names the stage of a transaction that this reply ends by breaking the protocol.
  struct answering_scope {
    client_command& slot;
    ~answering_scope() { slot = client_command::none; }
  } scope{answering_};
  if (e.in_transaction) answering_ = e.command;
  // RFC 5321 3.8: 421 answers any command and the server closes the connection.
  if (code == 421 && e.command != client_command::quit) {
    abort_transaction(errc::session_closed, true);
    close_now(errc::session_closed);
    return;
  }
  bool ok = true;
  switch (e.command) {
    case client_command::greeting:
    case client_command::ehlo:
    case client_command::helo:
    case client_command::lhlo:
    case client_command::starttls:
      ok = on_opening_reply(e, r);
      break;
    case client_command::auth:
      ok = on_auth_reply(r);
      break;
    case client_command::mail:
    case client_command::rcpt:
    case client_command::data:
    case client_command::data_end:
    case client_command::bdat:
      ok = on_transaction_reply(e, r);
      break;
    case client_command::rset:
    case client_command::noop:
    case client_command::none:
      ok = code / 100 != 3;
      pop_entry();
      break;
    case client_command::quit:
      pop_entry();
      close_now(close_reason_);
      return;
  }
  if (!ok) {
    fail_protocol(errc::protocol_error);
    return;
  }
  finish_transaction_if_over(true);
}

inline bool client_session::on_opening_reply(const entry& e, const reply& r) noexcept {
  const client_command c = e.command;
  const int code = r.code();
  pop_entry();
  if (c == client_command::greeting || c == client_command::starttls) {
    if (code == 220) {
      if (c == client_command::greeting) {
        state_ = client_state::opening;
        send_hello();
      } else {
        state_ = client_state::tls_pending;
        add_note({note_kind::start_tls});
      }
      return true;
    }
    if (!detail::is_negative(code)) return false;
    if (c == client_command::greeting) {
      start_quit(errc::session_closed);  // RFC 5321 3.1: the server waits for QUIT after 554
    } else if (cfg_.tls == tls_policy::require) {
      start_quit(errc::tls_required);  // no downgrade
    } else {
      state_ = client_state::ready;  // opportunistic: go on without TLS
      add_note({note_kind::ready});
    }
    return true;
  }
  // EHLO, HELO, LHLO
  if (code == 250) {
    if (c == client_command::helo) {
      caps_ = ehlo_capabilities{};
      esmtp_ = false;
    } else {
      result<ehlo_capabilities> caps = parse_ehlo_reply(r, cfg_.limits);
      if (!caps && caps.error() == errc::bad_reply) {
        // An empty last line is taken as no capability (the SASL scratch is free during the
        // opening; store_capabilities() copies what the session keeps).
        caps = detail::parse_ehlo_reply_without_empty_line(r, sasl_.get(), sasl_size(cfg_.limits),
                                                           cfg_.limits);
        if (!caps) caps = errc::bad_reply;
      }
      if (!caps) {
        // A malformed capability list: the server's extensions cannot be trusted.
        fail_protocol(caps.error());
        return true;
      }
      store_capabilities(*caps);
      esmtp_ = true;
    }
    continue_opening();
    return true;
  }
  if (!detail::is_negative(code)) return false;
  if (c == client_command::ehlo && (code == 500 || code == 502)) {
    write_own(helo_command{host_});  // RFC 5321 3.2: the server does not know EHLO
    push_entry({client_command::helo});
  } else {
    start_quit(errc::session_closed);
  }
  return true;
}

inline void client_session::continue_opening() noexcept {
  const bool offered = esmtp_ && caps_.has(ehlo_extension::starttls);
  if (!tls_active() && cfg_.tls != tls_policy::never && offered) {
    write_own(starttls_command{});
    push_entry({client_command::starttls});
    return;
  }
  if (!tls_active() && cfg_.tls == tls_policy::require) {
    start_quit(errc::tls_required);  // the server hides STARTTLS (or HELO): no downgrade
    return;
  }
  state_ = client_state::ready;
  add_note({note_kind::ready});
}

inline void client_session::store_capabilities(const ehlo_capabilities& c) noexcept {
  caps_ = c;
  byte_writer w(caps_buf_.get(), caps_size(cfg_.limits));
  auto keep = [&w](std::string_view s) {
    const std::size_t at = w.size();
    w.append(s);  // each string comes from one reply line: it fits (caps_size())
    return std::string_view(w.view().data() + at, w.size() - at);
  };
  caps_.domain = keep(c.domain);
  caps_.greeting = keep(c.greeting);
  caps_.auth_params = keep(c.auth_params);
  caps_.legacy_auth_params = keep(c.legacy_auth_params);
  caps_.raw = {};
}

inline bool client_session::on_auth_reply(const reply& r) noexcept {
  const int code = r.code();
  pop_entry();
  if (code == 334) {
    const std::size_t raw_cap = sasl_raw_size(cfg_.limits);
    char* const raw = sasl_.get();
    char* const b64 = raw + raw_cap;
    char* const chal = b64 + cfg_.limits.auth_line;
    // The challenge: base64 on the 334 line (RFC 4954 4), kept for auth_done.
    challenge_size_ = 0;
    const result<std::string_view> dec = decode_base64(r.text(), chal, cfg_.limits.reply_line);
    if (dec) challenge_size_ = dec->size();
    byte_writer out = output_.back_writer();
    std::error_code e;
    if (ir_deferred_) {  // the initial response that did not fit on the AUTH line
      ir_deferred_ = false;
      e = write_sasl_response(out, std::string_view(b64, deferred_ir_), cfg_.limits);
      if (e) auth_error_ = errc::auth_line_too_long;
    } else if (!dec) {
      auth_error_ = errc::bad_base64;
    } else {
      byte_writer resp(raw, raw_cap);
      const sasl::step_status st = mech_ ? mech_->step(*dec, resp) : sasl::step_status::failed;
      if (st == sasl::step_status::send || st == sasl::step_status::done) {
        const result<std::string_view> enc = encode_base64(resp.view(), b64, cfg_.limits.auth_line);
        e = enc ? write_sasl_response(out, *enc, cfg_.limits) : make_error_code(errc::output_full);
        if (e) auth_error_ = errc::auth_line_too_long;
      } else {
        auth_error_ = errc::auth_cancelled;
      }
    }
    if (auth_error_ != errc{}) {
      out = output_.back_writer();
      write_sasl_cancel(out);  // RFC 4954 4: "*" ends the exchange; the server answers 501
    }
    output_.commit(out.size());
    wipe_sasl();
    push_entry({client_command::auth});
    return true;
  }
  if (code != 235 && !detail::is_negative(code)) return false;
  ir_deferred_ = false;
  wipe_sasl();
  if (code == 235) authenticated_ = true;
  add_note({note_kind::auth_done, client_command::auth, code == 235, true, auth_error_, 0});
  return true;
}

inline bool client_session::on_transaction_reply(entry& e, const reply& r) noexcept {
  const int code = r.code();
  const bool positive = detail::is_positive(code);
  transaction& t = tx_data_;
  switch (e.command) {
    case client_command::mail:
      pop_entry();
      if (code / 100 == 3) return false;
      if (!positive) fail_transaction(client_command::mail);
      return true;
    case client_command::rcpt: {
      const std::uint32_t index = e.index;
      pop_entry();
      if (code / 100 == 3) return false;
      ++t.rcpt_replies;
      if (positive) {
        ++t.accepted;
        if (index < cfg_.limits.max_recipients)
          accepted_[index / 8] =
              static_cast<unsigned char>(accepted_[index / 8] | 1u << (index % 8));
      } else if (index < cfg_.limits.max_recipients) {
        accepted_[index / 8] =
            static_cast<unsigned char>(accepted_[index / 8] & ~(1u << (index % 8)));
      }
      add_note({note_kind::recipient, client_command::rcpt, positive, true, errc{}, index});
      return true;
    }
    case client_command::data:
      pop_entry();
      if (code == 354) {
        if (t.failed || t.accepted == 0) {
          // RFC 2920 3.1: DATA accepted with no valid recipient: end the empty message.
          fail_transaction(client_command::rcpt);
          stuffer_.reset();
          byte_writer w = output_.back_writer();
          stuffer_.finish(w);
          output_.commit(w.size());
          entry end{client_command::data_end, true};
          end.dummy = true;
          push_entry(end);
          return true;
        }
        stuffer_.reset();
        tx_ = transaction_phase::body;
        add_note({note_kind::body_ready});
        return true;
      }
      if (!detail::is_negative(code)) return false;
      fail_transaction(t.accepted == 0 ? client_command::rcpt : client_command::data);
      return true;
    default:  // data_end, bdat
      break;
  }
  if (code / 100 == 3) return false;
  const bool ends_message = e.command == client_command::data_end || e.last;
  if (!ends_message) {  // a BDAT chunk that is not the last
    pop_entry();
    if (!positive) fail_transaction(t.accepted == 0 ? client_command::rcpt : client_command::bdat);
    return true;
  }
  if (e.replies == 0) e.replies = cfg_.lmtp && t.accepted != 0 && !e.dummy ? t.accepted : 1;
  const client_command stage = e.command;
  const bool lmtp = cfg_.lmtp && !e.dummy && t.accepted != 0;
  if (lmtp) {
    const std::uint32_t index = static_cast<std::uint32_t>(t.lmtp_cursor - 1);
    add_note({note_kind::delivery, stage, positive, true, errc{}, index});
    if (positive) ++t.delivered;
  } else if (positive) {
    t.delivered = t.accepted;
  }
  if (--e.replies == 0) {
    pop_entry();
    if (t.accepted == 0)
      fail_transaction(client_command::rcpt);
    else if (t.delivered == 0)
      fail_transaction(stage);
    if (tx_ != transaction_phase::none) tx_ = transaction_phase::ending;
  }
  return true;
}

inline std::size_t client_session::next_accepted() noexcept {
  transaction& t = tx_data_;
  const std::uint32_t limit = t.rcpts_sent < cfg_.limits.max_recipients
                                  ? t.rcpts_sent
                                  : static_cast<std::uint32_t>(cfg_.limits.max_recipients);
  while (t.lmtp_cursor < limit && (accepted_[t.lmtp_cursor / 8] & (1u << (t.lmtp_cursor % 8))) == 0)
    ++t.lmtp_cursor;
  return t.lmtp_cursor++;
}

SMTPKIT_NAMESPACE_END
