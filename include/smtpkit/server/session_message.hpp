// smtpkit server: the message phase of server_session: DATA content through the
// smuggling-safe data_reader (RFC 5321 4.1.1.4, 4.5.2), BDAT chunks through bdat_reader
// (RFC 3030), SIZE enforcement after the end (RFC 1870), and the end-of-message decision
// (one reply per recipient in LMTP, RFC 2033 4.2).
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <smtpkit/server/session.hpp>
#include <string_view>  // string_view

SMTPKIT_NAMESPACE_BEGIN

inline server_event server_session::on_bdat(const bdat_command& b, errc refusal) noexcept {
  // Rule 5: the chunk is read to its last octet whatever the answer will be.
  apply_consume();  // the chunk starts right after the BDAT line
  chunk_refused_ = false;
  if (refusal != errc{} || !command_allowed(verb::bdat, state_)) {
    chunk_refused_ = true;
    message_error_ = refusal != errc{} ? refusal : errc::bad_sequence;
  } else if (state_ == server_state::rcpt) {
    message_error_ = errc{};
    chunks_.reset();  // the first chunk of a message
  }
  if (chunk_refused_) chunks_.reset();
  (void)chunks_.start(b.size, b.last);  // cannot fail: reset() above, or after a complete chunk
  state_ = server_state::bdat;
  return on_bdat_bytes();
}

inline server_event server_session::on_bdat_bytes() noexcept {
  const bdat_result r = chunks_.next(input_.view());
  consume_ = r.consumed;
  if (r.status == bdat_status::need_more) {
    if (eof_) return on_eof();
    return server_events::need_data{};
  }
  if (!chunk_refused_ && !r.data.empty()) {
    const std::uint64_t max = cfg_.limits.max_message_size;
    if (max != 0 && chunks_.message_size() > max) {
      message_error_ = errc::message_too_large;
      chunk_refused_ = true;
    } else {
      message_size_ = chunks_.message_size();
      if (r.status == bdat_status::complete) chunk_done_ = true;
      return server_events::data_chunk{r.data};
    }
  }
  if (r.status == bdat_status::chunk) return server_events::need_data{};
  return end_of_chunk(r.last);
}

inline server_event server_session::end_of_chunk(bool last) noexcept {
  chunk_done_ = false;
  if (chunk_refused_) {
    const errc why = message_error_;
    reset_transaction();
    state_ = greeting_ ? server_state::ready : server_state::greeted;
    if (why == errc::message_too_large) {
      say(552, {5, 3, 4}, "Error: message size exceeds fixed limit");
      count_error();
      return server_events::message_refused{why};
    }
    if (why == errc::unknown_command)
      return refuse(why, 502, {5, 5, 1}, "Error: command not implemented");
    return refuse(errc::bad_sequence, 503, {5, 5, 1},
                  greeting_ ? "Error: need RCPT command" : "Error: send HELO/EHLO first");
  }
  if (last) return end_of_message();
  char text[64];
  byte_writer t(text, sizeof text);
  t.append_uint(message_size_);
  t.append(" octets received");
  say(250, {2, 0, 0}, t.view());
  state_ = server_state::bdat_open;
  return next_event();
}

inline server_event server_session::on_data_bytes() noexcept {
  if (!data_end_) {
    const data_result r = data_.next(input_.view());
    consume_ = r.consumed;
    if (r.status == data_status::need_more) {
      if (eof_) return on_eof();
      return server_events::need_data{};
    }
    if (r.status == data_status::end) data_end_ = true;
    if (!r.data.empty()) {
      message_size_ += r.data.size();
      if (cfg_.limits.max_message_size != 0 && message_size_ > cfg_.limits.max_message_size)
        message_error_ = errc::message_too_large;
      if (message_error_ == errc{} && !data_.error()) return server_events::data_chunk{r.data};
    }
    if (!data_end_) return next_event();
  }
  data_end_ = false;
  if (message_error_ == errc{}) {
    const std::error_code e = data_.error();
    if (e) message_error_ = static_cast<errc>(e.value());
  }
  if (message_error_ != errc{}) {
    const errc why = message_error_;
    reset_transaction();
    state_ = server_state::ready;
    switch (why) {
      case errc::message_too_large:
        say(552, {5, 3, 4}, "Error: message size exceeds fixed limit");
        break;
      case errc::bare_lf:
        say(550, {5, 6, 0}, "Error: bare <LF> in message");
        break;
      case errc::bare_cr:
        say(550, {5, 6, 0}, "Error: bare <CR> in message");
        break;
      default:
        say(550, {5, 6, 0}, "Error: message line too long");
        break;
    }
    count_error();
    return server_events::message_refused{why};
  }
  return end_of_message();
}

inline server_event server_session::end_of_message() noexcept {
  pending_ = pending::message;
  lmtp_left_ = cfg_.features.lmtp ? recipients_ : 1;
  const bool chunked = state_ == server_state::bdat;
  return server_events::message_complete{message_size_, recipients_, chunked};
}

SMTPKIT_NAMESPACE_END
