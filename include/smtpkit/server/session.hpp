// smtpkit server: the server session, a sans-I/O SMTP/LMTP state machine.
// RFC 5321 (3, 4.1.1, 4.1.4 command order, 4.2 replies, 4.5.3 limits), RFC 2920 (PIPELINING),
// RFC 1870 (SIZE), RFC 6152 (8BITMIME), RFC 3030 (CHUNKING, BINARYMIME), RFC 6531 (SMTPUTF8),
// RFC 3461 (DSN), RFC 2034 (ENHANCEDSTATUSCODES), RFC 3207 (STARTTLS), RFC 4954 (AUTH),
// RFC 2033 (LMTP).
//
// Rules:
//  1. Bytes in, events out, decisions in, bytes out. The session does no I/O and reads no
//     clock; current_timeout() says which timer the driver arms, timeout() says it fired.
//  2. Every command-order rule lives in server_transitions (server/transitions.hpp), and the
//     session consults it before anything else.
//  3. A decision event (see server/events.hpp) holds the session: until accept() or reject(),
//     next_event() returns need_data and wants_read() is false, so pipelined commands wait in
//     order and the views in the event stay valid.
//  4. The session answers bad input by itself with the RFC reply and also reports it as
//     protocol_error; errors count against limits::max_errors, after which it sends 421 and
//     closes. Fatal conditions are sticky: once closed, next_event() returns closed.
//  5. Nothing received inside a message is ever taken as a command: DATA ends at CRLF.CRLF
//     only, a BDAT chunk is counted to its last octet (even when the chunk is refused), and the
//     bytes after a STARTTLS line are discarded until tls_started().
//  6. Memory is bounded: the input, output and SASL buffers are allocated once, at
//     construction, from limits; a message is streamed out as data_chunk events, never held.
// SPDX-License-Identifier: MIT
#pragma once

#include <cassert>   // assert
#include <cstddef>   // size_t
#include <cstdint>   // uint64_t
#include <cstring>   // memset
#include <memory>    // unique_ptr
#include <optional>  // optional
#include <smtpkit/codec/base64.hpp>
#include <smtpkit/codec/bdat.hpp>
#include <smtpkit/codec/command.hpp>
#include <smtpkit/codec/data.hpp>
#include <smtpkit/codec/ehlo.hpp>
#include <smtpkit/codec/enhanced_status.hpp>
#include <smtpkit/codec/line_reader.hpp>
#include <smtpkit/codec/reply.hpp>
#include <smtpkit/core/buffer.hpp>
#include <smtpkit/core/bytes.hpp>
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>
#include <smtpkit/server/config.hpp>
#include <smtpkit/server/events.hpp>
#include <smtpkit/server/transitions.hpp>
#include <smtpkit/session_time.hpp>
#include <string_view>   // string_view
#include <system_error>  // error_code

SMTPKIT_NAMESPACE_BEGIN

/// A sans-I/O SMTP (or LMTP) server session: one per connection.
///
/// A driver loop:
/// @code
/// for (;;) {
///   for (auto ev = s.next_event(); !std::holds_alternative<server_events::need_data>(ev);
///        ev = s.next_event())
///     std::visit(app, ev);                     // app calls s.accept() / s.reject() for decisions
///   if (s.wants_write()) { send(s.pending_output()); s.consume_output(n); continue; }
///   if (!s.wants_read()) break;                // closed (or waiting on the application)
///   read with s.current_timeout() -> s.receive(bytes) / s.receive_eof() / s.timeout();
/// }
/// @endcode
class server_session {
 public:
  /// Makes a session; the only allocations of its life happen here (input, output and SASL
  /// buffers sized from @p cfg.limits). The first event is session_started.
  explicit server_session(const server_config& cfg)
      : cfg_(cfg),
        hostname_(copy_hostname(cfg.hostname)),
        input_(input_capacity(cfg.limits)),
        output_(output_capacity),
        sasl_(new char[sasl_capacity(cfg.limits)]),
        // A bare LF never ends a command line (CVE-2023-51764 class): the normalize leniency
        // applies to message content only.
        commands_(command_reader_limit(cfg), bare_newline_policy::reject),
        sasl_lines_(cfg.limits.auth_line, bare_newline_policy::reject),
        data_(cfg.limits.text_line, cfg.leniency.bare_newline) {
    cfg_.hostname = std::string_view(hostname_.get(), cfg.hostname.size());
    if (detail::check_ehlo_domain(cfg.hostname, limits{}.domain) != errc{})
      cfg_.hostname = "localhost";
    for (char c : cfg.greeting)
      if (!detail::is_reply_text_octet(c)) cfg_.greeting = "ESMTP";
  }

  /// Checks a configuration before a session is made from it.
  /// @return an empty error_code, or errc::invalid_argument: the hostname is not a domain or
  ///         address literal of at most 255 octets (a session made anyway uses "localhost"),
  ///         or the greeting holds a control octet (a session made anyway says "ESMTP").
  static std::error_code validate(const server_config& cfg) noexcept {
    if (detail::check_ehlo_domain(cfg.hostname, limits{}.domain) != errc{})
      return errc::invalid_argument;
    for (char c : cfg.greeting)
      if (!detail::is_reply_text_octet(c)) return errc::invalid_argument;
    return {};
  }

  server_session(const server_session&) = delete;
  server_session& operator=(const server_session&) = delete;
  ~server_session() { wipe_sasl(); }

  // --- bytes in ------------------------------------------------------------------------------

  /// Takes as many of @p bytes as fit in the input buffer.
  /// @return how many bytes were taken; the driver offers the rest again later. While TLS is
  ///         being started or after close, every byte is taken and discarded.
  std::size_t receive(std::string_view bytes) noexcept {
    apply_consume();
    if (state_ == server_state::tls_pending || state_ == server_state::closed || eof_)
      return bytes.size();
    return input_.write(bytes);
  }

  /// Tells the session that the peer closed its side. Complete commands already received are
  /// still processed; an unfinished message is dropped (message_refused, connection_lost).
  void receive_eof() noexcept { eof_ = true; }

  // --- events out ----------------------------------------------------------------------------

  /// Returns the next event. Call it until it returns need_data.
  /// @warning Views in the event are valid until the next next_event() or receive().
  server_event next_event() noexcept;

  // --- decisions -----------------------------------------------------------------------------

  /// Answers the pending decision with its default positive reply.
  /// @return errc::invalid_state when no decision is pending; errc::output_full when the
  ///         output buffer cannot take the reply now (send pending_output() and call again).
  std::error_code accept() noexcept { return decide(true, nullptr); }
  /// Answers the pending decision with @p r, which must be positive (2xx, or 3xx for DATA).
  /// @return errc::invalid_state, errc::invalid_argument (not a positive reply, or a reply
  ///         write_reply() refuses), errc::output_full.
  std::error_code accept(const reply_spec& r) noexcept { return decide(true, &r); }
  /// Answers the pending decision with @p r, which must be 4xx or 5xx. When ENHANCEDSTATUSCODES
  /// is on and @p r has no enhanced status, "X.0.0" is added (RFC 3463 "other").
  /// @return errc::invalid_state, errc::invalid_argument, errc::output_full.
  std::error_code reject(const reply_spec& r) noexcept { return decide(false, &r); }

  // --- bytes out -----------------------------------------------------------------------------

  /// Returns every byte ready to be sent, contiguous.
  std::string_view pending_output() const noexcept { return output_.view(); }
  /// Marks the first @p n bytes of pending_output() as sent.
  void consume_output(std::size_t n) noexcept { output_.consume(n); }

  // --- time, TLS, shutdown -------------------------------------------------------------------

  /// Returns the timer the driver should arm now (RFC 5321 4.5.3.2).
  deadline current_timeout() const noexcept {
    if (state_ == server_state::closed || pending_ != pending::none) return {};
    if (state_ == server_state::data || state_ == server_state::bdat)
      return {timeout_kind::data_block, cfg_.timeouts.data};
    if (state_ == server_state::auth) return {timeout_kind::auth, cfg_.timeouts.auth};
    return {timeout_kind::next_command, cfg_.timeouts.command};
  }

  /// The timer fired: sends "421 4.4.2 ... timeout" and closes. An unfinished message is
  /// dropped (message_refused with errc::timeout).
  void timeout() noexcept { fatal(errc::timeout, 421, {4, 4, 2}, "Error: timeout exceeded"); }

  /// The TLS handshake that followed start_tls completed: the session forgets everything it
  /// knew (RFC 3207 4.2) and waits for EHLO again.
  /// @return errc::invalid_state unless a start_tls event was emitted and not yet answered.
  std::error_code tls_started() noexcept {
    if (state_ != server_state::tls_pending) return errc::invalid_state;
    tls_ = true;
    state_ = server_state::greeted;
    reset_session_knowledge();
    return {};
  }

  /// Starts a graceful stop: an idle session gets "421 4.3.2 ... shutting down" at once; one in
  /// the middle of a transaction finishes it (the driver bounds how long) and then gets 421.
  /// With @p now, the 421 is sent at once whatever the state (the message in flight is dropped).
  void shutdown(bool now = false) noexcept {
    stopping_ = true;
    if (now || idle()) fatal(errc::session_closed, 421, {4, 3, 2}, "Service shutting down");
  }

  // --- state ---------------------------------------------------------------------------------

  /// Returns where the session stands (see server/transitions.hpp).
  server_state state() const noexcept { return state_; }
  /// Returns true when the driver should read: not closed, no end of input seen, no decision
  /// pending, not starting TLS, and room in the input buffer (counting the bytes the last event
  /// consumed, which receive() drops before it takes more).
  bool wants_read() const noexcept {
    return state_ != server_state::closed && state_ != server_state::tls_pending && !eof_ &&
           pending_ == pending::none && (input_.space() != 0 || consume_ != 0);
  }
  /// Returns true when pending_output() is not empty.
  bool wants_write() const noexcept { return !output_.empty(); }
  /// Returns true once the transport is TLS (implicit, or after STARTTLS).
  bool tls_active() const noexcept { return tls_ || cfg_.implicit_tls; }
  /// Returns true after a successful AUTH.
  bool authenticated() const noexcept { return authenticated_; }
  /// Returns the greeting verb of the session (helo, ehlo or lhlo) once one was accepted.
  std::optional<verb> greeting() const noexcept { return greeting_; }
  /// Returns the configuration in force (its hostname views the session's own copy).
  const server_config& config() const noexcept { return cfg_; }

 private:
  enum class pending : unsigned char { none, connect, helo, mail, rcpt, data, message, auth };
  static constexpr std::size_t output_capacity = 8192;
  // Room kept free in the output buffer before a command is taken: the longest reply the
  // session writes by itself (the EHLO reply) plus a 421 that may follow it.
  static constexpr std::size_t output_reserve = 1024;

  static std::size_t input_capacity(const limits& l) noexcept {
    const std::size_t line = l.auth_line > l.command_line ? l.auth_line : l.command_line;
    return line + 4096 > 16384 ? line + 4096 : 16384;
  }
  // LOGIN keeps the user name while the password arrives: room for two decoded responses.
  static std::size_t sasl_capacity(const limits& l) noexcept { return 2 * l.auth_line; }
  static std::size_t command_reader_limit(const server_config& c) noexcept {
    // AUTH with an initial response may be as long as limits::auth_line (RFC 4954 4);
    // parse_command() holds every other verb to limits::command_line.
    const bool auth = c.features.auth_plain || c.features.auth_login;
    return auth && c.limits.auth_line > c.limits.command_line ? c.limits.auth_line
                                                              : c.limits.command_line;
  }
  static std::unique_ptr<char[]> copy_hostname(std::string_view h) {
    std::unique_ptr<char[]> p(new char[h.size() + 1]);
    if (!h.empty()) std::memcpy(p.get(), h.data(), h.size());
    p[h.size()] = '\0';
    return p;
  }

  // --- replies -------------------------------------------------------------------------------

  bool enhanced_on() const noexcept { return cfg_.features.enhanced_status_codes; }

  /// Appends one reply; the enhanced status is dropped when ENHANCEDSTATUSCODES is off.
  void say(int code, enhanced_status st, std::string_view text) noexcept {
    byte_writer w = output_.back_writer();
    reply_spec r{code, std::nullopt, text, {}};
    if (enhanced_on() && st.valid()) r.enhanced = st;
    const std::error_code e = write_reply(w, r, output_capacity);
    assert(!e && "the session's own replies always fit and are well-formed");
    if (!e) output_.commit(w.size());
  }
  /// Appends a reply that never carries an enhanced status (220 greeting, 250 to HELO, 354).
  void say_plain(int code, std::string_view text) noexcept { say(code, {}, text); }
  /// Appends a SASL challenge: continue-req = "334" SP [base64] CRLF (RFC 4954 4); the SP is
  /// there even when the challenge is empty.
  void say_challenge(std::string_view b64) noexcept {
    byte_writer w = output_.back_writer();
    if (w.append("334 ") && w.append(b64) && w.append("\r\n")) output_.commit(w.size());
  }

  /// Answers bad input: the reply, an error against the budget, and a protocol_error event.
  server_event refuse(errc why, int code, enhanced_status st, std::string_view text) noexcept {
    say(code, st, text);
    count_error();
    return server_events::protocol_error{why, code};
  }
  void count_error() noexcept {
    if (++errors_ >= cfg_.limits.max_errors)
      fatal(errc::error_budget_exhausted, 421, {4, 7, 0}, "Error: too many errors");
  }
  void fatal(errc why, int code, enhanced_status st, std::string_view text) noexcept {
    if (state_ == server_state::closed) return;
    if (state_ == server_state::data || state_ == server_state::bdat ||
        state_ == server_state::bdat_open || pending_ == pending::message)
      dropped_ = why;
    char buf[300];
    byte_writer t(buf, sizeof buf);
    t.append(cfg_.hostname.substr(0, 200));
    t.push(' ');
    t.append(text);
    say(code, st, t.view());
    close();
  }
  void close() noexcept {
    state_ = server_state::closed;
    pending_ = pending::none;
    wipe_sasl();
  }

  // --- helpers -------------------------------------------------------------------------------

  bool idle() const noexcept {
    return pending_ == pending::none &&
           (state_ == server_state::connected || state_ == server_state::greeted ||
            state_ == server_state::ready || state_ == server_state::refused);
  }
  void apply_consume() noexcept {
    input_.consume(consume_);
    consume_ = 0;
  }
  void reset_transaction() noexcept {
    recipients_ = 0;
    body_ = body_type::none;
    smtputf8_ = false;
    message_size_ = 0;
    message_error_ = errc{};
  }
  void reset_session_knowledge() noexcept {
    reset_transaction();
    greeting_.reset();
    authenticated_ = false;
    auth_failures_ = 0;
    input_.clear();
    consume_ = 0;
    commands_.reset();
    sasl_lines_.reset();
  }
  void wipe_sasl() noexcept {
    if (sasl_) {
      volatile char* p = sasl_.get();
      for (std::size_t i = 0; i < sasl_capacity(cfg_.limits); ++i) p[i] = 0;
    }
  }
  bool auth_offered() const noexcept {
    const auto& f = cfg_.features;
    if (!f.auth_plain && !f.auth_login) return false;
    if (tls_active()) return true;
    if (f.tls_required) return false;
    return !f.starttls || f.auth_before_tls;
  }
  bool starttls_offered() const noexcept { return cfg_.features.starttls && !tls_active(); }

  server_event on_command_line() noexcept;
  server_event on_command(const command& c, std::string_view line) noexcept;
  server_event on_helo(verb v, const host& domain) noexcept;
  server_event on_mail(const mail_command& m) noexcept;
  server_event on_rcpt(const rcpt_command& r) noexcept;
  server_event on_bdat(const bdat_command& b, errc refusal) noexcept;
  server_event on_auth(const auth_command& a) noexcept;
  server_event on_sasl_line() noexcept;
  server_event on_sasl_response(std::string_view b64) noexcept;
  server_event on_data_bytes() noexcept;
  server_event on_bdat_bytes() noexcept;
  server_event end_of_chunk(bool last) noexcept;
  server_event end_of_message() noexcept;
  server_event on_eof() noexcept;
  void send_ehlo_reply() noexcept;
  std::error_code decide(bool positive, const reply_spec* r) noexcept;
  std::error_code write_decision(const reply_spec& r) noexcept;

  server_config cfg_;
  std::unique_ptr<char[]> hostname_;
  fixed_buffer input_;
  fixed_buffer output_;
  std::unique_ptr<char[]> sasl_;  // decoded SASL responses (secret; wiped after use)
  line_reader commands_;
  line_reader sasl_lines_;
  data_reader data_;
  bdat_reader chunks_;

  server_state state_ = server_state::connected;
  pending pending_ = pending::none;
  std::size_t consume_ = 0;     // input bytes to drop before the next step
  std::size_t errors_ = 0;      // replies to bad input (limits::max_errors)
  std::size_t recipients_ = 0;  // accepted recipients in this transaction
  std::size_t lmtp_left_ = 0;   // LMTP replies still owed for the message
  std::size_t auth_failures_ = 0;
  std::uint64_t message_size_ = 0;  // octets of the message so far (DATA or all BDAT chunks)
  std::size_t sasl_user_ = 0;       // LOGIN: length of the user name held in sasl_
  errc message_error_{};            // why the message in progress will be refused
  errc dropped_{};                  // a message in flight was dropped by close
  body_type body_ = body_type::none;
  body_type last_body_ = body_type::none;  // of the MAIL awaiting a decision
  bool last_smtputf8_ = false;             // of the MAIL awaiting a decision
  bool last_unknown_ = false;              // the MAIL/RCPT awaiting a decision has unknown params
  verb helo_verb_ = verb::ehlo;            // of the greeting awaiting a decision
  std::optional<verb> greeting_;
  unsigned char auth_mech_ = 0;  // 1 PLAIN, 2 LOGIN
  unsigned char auth_step_ = 0;  // LOGIN: 0 user name expected, 1 password expected
  bool chunk_refused_ = false;   // the BDAT chunk being read is discarded, then refused
  bool chunk_done_ = false;  // the chunk's last bytes went out; its reply comes on the next call
  bool data_end_ = false;    // the data reader reported the end (its last bytes sent)
  bool smtputf8_ = false;
  bool tls_ = false;
  bool authenticated_ = false;
  bool eof_ = false;
  bool stopping_ = false;
  bool quit_ = false;
};

// --- implementation ------------------------------------------------------------------------------

inline server_event server_session::next_event() noexcept {
  apply_consume();
  if (pending_ != pending::none) return server_events::need_data{};
  switch (state_) {
    case server_state::connected:
      pending_ = pending::connect;
      return server_events::session_started{};
    case server_state::closed:
      if (dropped_ != errc{}) {
        const errc why = dropped_;
        dropped_ = errc{};
        return server_events::message_refused{why};
      }
      if (quit_) {
        quit_ = false;
        return server_events::quit_received{};
      }
      return server_events::closed{};
    case server_state::tls_pending:
      return server_events::need_data{};
    case server_state::data:
      return on_data_bytes();
    case server_state::bdat:
      if (chunk_done_) return end_of_chunk(chunks_.message_complete());
      return on_bdat_bytes();
    case server_state::auth:
      return on_sasl_line();
    default:
      return on_command_line();
  }
}

inline server_event server_session::on_eof() noexcept {
  const bool in_message = state_ == server_state::data || state_ == server_state::bdat ||
                          state_ == server_state::bdat_open;
  close();
  if (in_message) return server_events::message_refused{errc::connection_lost};
  return server_events::closed{};
}

inline server_event server_session::on_command_line() noexcept {
  if (output_.space() < output_reserve) return server_events::need_data{};
  if (stopping_ && idle()) {  // a graceful stop takes no new command, even a pipelined one
    fatal(errc::session_closed, 421, {4, 3, 2}, "Service shutting down");
    return next_event();
  }
  const line_result r = commands_.next(input_.view());
  consume_ = r.consumed;
  if (r.status == line_status::need_more) {
    if (eof_) return on_eof();
    if (stopping_ && idle()) {
      fatal(errc::session_closed, 421, {4, 3, 2}, "Service shutting down");
      return next_event();
    }
    return server_events::need_data{};
  }
  if (r.status == line_status::error) {
    switch (r.error) {
      case errc::line_too_long:
        return refuse(r.error, 500, {5, 5, 2}, "Error: line too long");
      case errc::bare_lf:
        return refuse(r.error, 500, {5, 5, 2}, "Error: bare <LF> received");
      case errc::bare_cr:
        return refuse(r.error, 500, {5, 5, 2}, "Error: bare <CR> received");
      default:
        return refuse(r.error, 500, {5, 5, 2}, "Error: invalid character in command");
    }
  }
  const result<command> c = parse_command(r.line, cfg_.limits, cfg_.leniency);
  if (!c) {
    const errc e = c.error();
    const bool is_mail = ascii::istarts_with(r.line, "MAIL");
    const bool is_rcpt = ascii::istarts_with(r.line, "RCPT");
    switch (e) {
      case errc::unknown_command:
        return refuse(e, 500, {5, 5, 2}, "Error: command not recognized");
      case errc::line_too_long:
        return refuse(e, 500, {5, 5, 2}, "Error: line too long");
      case errc::bad_path:
      case errc::bad_local_part:
      case errc::bad_domain:
      case errc::bad_address_literal:
      case errc::bad_utf8:
        if (is_mail) return refuse(e, 501, {5, 1, 7}, "Error: bad sender address syntax");
        if (is_rcpt) return refuse(e, 501, {5, 1, 3}, "Error: bad recipient address syntax");
        return refuse(e, 501, {5, 5, 4}, "Error: syntax error in parameters or arguments");
      case errc::path_too_long:
      case errc::local_part_too_long:
      case errc::domain_too_long:
        return refuse(e, 501, {5, 5, 4}, "Error: path too long");
      case errc::bad_bdat:
        // The chunk size cannot be known, so the bytes that follow cannot be told apart from
        // commands: answer and close rather than read message content as commands.
        say(501, {5, 5, 4}, "Error: invalid BDAT command");
        fatal(errc::bad_bdat, 421, {4, 7, 0}, "Error: cannot resynchronize after BDAT");
        return server_events::protocol_error{e, 501};
      default:
        return refuse(e, 501, {5, 5, 4}, "Error: syntax error in parameters or arguments");
    }
  }
  return on_command(*c, r.line);
}

inline server_event server_session::on_command(const command& c, std::string_view) noexcept {
  const verb v = verb_of(c);
  // LMTP takes LHLO only; SMTP does not know LHLO (RFC 2033 4.1).
  if ((v == verb::lhlo) != cfg_.features.lmtp &&
      (v == verb::lhlo || v == verb::helo || v == verb::ehlo))
    return refuse(errc::unknown_command, 500, {5, 5, 1},
                  cfg_.features.lmtp ? "Error: use LHLO" : "Error: command not recognized");
  if (v == verb::bdat) {
    const auto& b = std::get<bdat_command>(c);
    // Rule 5: even when CHUNKING is off, the chunk's size is known, so its octets are read and
    // discarded rather than run as commands.
    return on_bdat(b, cfg_.features.chunking ? errc{} : errc::unknown_command);
  }
  if (v == verb::quit) {
    say(221, {2, 0, 0}, "Bye");
    const bool in_message = state_ == server_state::bdat_open;
    close();
    if (in_message) dropped_ = errc::connection_lost;
    quit_ = true;
    return next_event();
  }
  // A command this configuration does not offer is "not implemented" in every state.
  if ((v == verb::starttls && !cfg_.features.starttls) ||
      (v == verb::auth && !cfg_.features.auth_plain && !cfg_.features.auth_login))
    return refuse(errc::unknown_command, 502, {5, 5, 1}, "Error: command not implemented");
  if (!command_allowed(v, state_)) {
    return refuse(errc::bad_sequence, 503, {5, 5, 1}, sequence_refusal(v, state_));
  }
  switch (v) {
    case verb::helo:
      return on_helo(v, std::get<helo_command>(c).domain);
    case verb::ehlo:
      return on_helo(v, std::get<ehlo_command>(c).domain);
    case verb::lhlo:
      return on_helo(v, std::get<lhlo_command>(c).domain);
    case verb::mail:
      return on_mail(std::get<mail_command>(c));
    case verb::rcpt:
      return on_rcpt(std::get<rcpt_command>(c));
    case verb::data:
      if (body_ == body_type::binary_mime)
        return refuse(errc::bad_sequence, 503, {5, 5, 1}, "Error: BINARYMIME needs BDAT");
      pending_ = pending::data;
      return server_events::data_started{};
    case verb::rset:
      reset_transaction();
      if (state_ != server_state::greeted) state_ = server_state::ready;
      say(250, {2, 0, 0}, "Ok");
      return server_events::rset_received{};
    case verb::noop:
      say(250, {2, 0, 0}, "Ok");
      return next_event();
    case verb::help:
      say(214, {2, 0, 0}, "See RFC 5321");
      return next_event();
    case verb::vrfy:
      if (!cfg_.features.vrfy)
        return refuse(errc::unknown_command, 502, {5, 5, 1}, "Error: VRFY not supported");
      say(252, {2, 5, 2}, "Cannot VRFY user, but will accept message and attempt delivery");
      return next_event();
    case verb::expn:
      return refuse(errc::unknown_command, 502, {5, 5, 1}, "Error: EXPN not supported");
    case verb::starttls:
      if (tls_active())
        return refuse(errc::bad_sequence, 503, {5, 5, 1}, "Error: TLS already active");
      say(220, {2, 0, 0}, "Ready to start TLS");
      // Rule 5: nothing received after the STARTTLS line survives (CVE-2011-0411 class).
      input_.clear();
      consume_ = 0;
      commands_.reset();
      state_ = server_state::tls_pending;
      return server_events::start_tls{};
    case verb::auth:
      return on_auth(std::get<auth_command>(c));
    default:
      return refuse(errc::unknown_command, 502, {5, 5, 1}, "Error: command not implemented");
  }
}

inline server_event server_session::on_helo(verb v, const host& domain) noexcept {
  // EHLO/HELO/LHLO ends any transaction (RFC 5321 4.1.4), accepted or not.
  reset_transaction();
  state_ = greeting_ ? server_state::ready : server_state::greeted;
  helo_verb_ = v;
  pending_ = pending::helo;
  return server_events::helo_received{v, domain};
}

inline server_event server_session::on_mail(const mail_command& m) noexcept {
  const auto& f = cfg_.features;
  const bool esmtp = greeting_ != verb::helo;
  if (f.tls_required && !tls_active())
    return refuse(errc::tls_required, 530, {5, 7, 0}, "Must issue a STARTTLS command first");
  if (f.auth_required && !authenticated_)
    return refuse(errc::auth_required, 530, {5, 7, 0}, "Authentication required");
  const auto& p = m.params;
  const bool extensions = p.size() || p.body() != body_type::none || p.smtputf8() ||
                          p.ret() != dsn_ret::none || !p.envid().empty() || !p.auth().empty() ||
                          p.requiretls() || p.misplaced_count() != 0;
  if (extensions && !esmtp)
    return refuse(errc::unknown_parameter, 555, {5, 5, 4}, "Error: parameters need EHLO");
  if (p.misplaced_count() != 0)
    return refuse(errc::bad_parameter, 555, {5, 5, 4}, "Error: RCPT parameter in MAIL");
  if ((p.size() && !f.size) || (p.body() == body_type::eight_bit_mime && !f.eightbitmime) ||
      (p.body() == body_type::binary_mime && !(f.binarymime && f.chunking)) ||
      (p.smtputf8() && !f.smtputf8) ||
      ((p.ret() != dsn_ret::none || !p.envid().empty()) && !f.dsn) ||
      (!p.auth().empty() && !auth_offered()) || p.requiretls())
    return refuse(errc::unknown_parameter, 555, {5, 5, 4}, "Error: unsupported parameter");
  if (p.size() && cfg_.limits.max_message_size != 0 && *p.size() > cfg_.limits.max_message_size)
    return refuse(errc::message_too_large, 552, {5, 3, 4},
                  "Error: message size exceeds fixed limit");
  if (m.from.address().utf8() && !p.smtputf8())
    return refuse(errc::bad_utf8, 553, {5, 6, 7}, "Error: UTF-8 address needs SMTPUTF8");
  last_body_ = p.body();
  last_smtputf8_ = p.smtputf8();
  last_unknown_ = p.unknown_count() != 0;
  pending_ = pending::mail;
  return server_events::mail_received{m.from, m.params, p.unknown_count() != 0};
}

inline server_event server_session::on_rcpt(const rcpt_command& r) noexcept {
  const auto& p = r.params;
  if (p.misplaced_count() != 0)
    return refuse(errc::bad_parameter, 555, {5, 5, 4}, "Error: MAIL parameter in RCPT");
  if ((p.notify() != dsn_notify::none || !p.orcpt_type().empty()) && !cfg_.features.dsn)
    return refuse(errc::unknown_parameter, 555, {5, 5, 4}, "Error: unsupported parameter");
  if (r.to.address().utf8() && !smtputf8_)
    return refuse(errc::bad_utf8, 553, {5, 6, 7}, "Error: UTF-8 address needs SMTPUTF8");
  if (recipients_ >= cfg_.limits.max_recipients) {
    // Not an error against the budget: the transaction goes on with the recipients accepted.
    say(452, {4, 5, 3}, "Error: too many recipients");
    return server_events::protocol_error{errc::too_many_recipients, 452};
  }
  last_unknown_ = p.unknown_count() != 0;
  pending_ = pending::rcpt;
  return server_events::rcpt_received{r.to, r.params, p.unknown_count() != 0};
}

inline void server_session::send_ehlo_reply() noexcept {
  const auto& f = cfg_.features;
  ehlo_config e;
  e.domain = cfg_.hostname;
  auto offer = [&e](bool on, ehlo_extension x) {
    if (on) e.extensions |= static_cast<std::uint32_t>(x);
  };
  offer(f.pipelining, ehlo_extension::pipelining);
  offer(f.size, ehlo_extension::size);
  offer(starttls_offered(), ehlo_extension::starttls);
  offer(auth_offered(), ehlo_extension::auth);
  offer(f.enhanced_status_codes, ehlo_extension::enhanced_status_codes);
  offer(f.eightbitmime, ehlo_extension::eight_bit_mime);
  offer(f.binarymime && f.chunking, ehlo_extension::binary_mime);
  offer(f.dsn, ehlo_extension::dsn);
  offer(f.smtputf8, ehlo_extension::smtputf8);
  offer(f.chunking, ehlo_extension::chunking);
  e.max_size = cfg_.limits.max_message_size;
  if (auth_offered()) {
    if (f.auth_plain) e.auth |= static_cast<std::uint32_t>(auth_mechanism::plain);
    if (f.auth_login) e.auth |= static_cast<std::uint32_t>(auth_mechanism::login);
  }
  byte_writer w = output_.back_writer();
  const std::error_code err = write_ehlo_reply(w, e, output_capacity);
  assert(!err && "the hostname was checked at construction");
  if (!err) output_.commit(w.size());
}

inline std::error_code server_session::write_decision(const reply_spec& r) noexcept {
  reply_spec spec = r;
  if (!enhanced_on()) {
    spec.enhanced.reset();
  } else if (!spec.enhanced && r.code >= 200 && r.code < 300 && pending_ != pending::connect &&
             pending_ != pending::helo) {
    spec.enhanced = enhanced_status{2, 0, 0};
  } else if (!spec.enhanced && r.code >= 400 && pending_ != pending::connect) {
    spec.enhanced = enhanced_status{static_cast<std::uint8_t>(r.code / 100), 0, 0};
  }
  byte_writer w = output_.back_writer();
  const std::error_code e = write_reply(w, spec, output_capacity);
  if (e) return e == errc::output_full ? e : make_error_code(errc::invalid_argument);
  output_.commit(w.size());
  return {};
}

inline std::error_code server_session::decide(bool positive, const reply_spec* r) noexcept {
  if (pending_ == pending::none || state_ == server_state::closed) return errc::invalid_state;
  if (r) {
    // A positive answer is 2xx, and 3xx only to DATA, so the wire never contradicts the state.
    const bool ok_code = positive
                             ? (r->code >= 200 && r->code < (pending_ == pending::data ? 400 : 300))
                             : (r->code >= 400);
    if (!ok_code || r->code > 599) return errc::invalid_argument;
    const std::error_code e = write_decision(*r);
    if (e) return e;
  } else if (output_.space() < output_reserve) {
    return errc::output_full;
  }
  const pending p = pending_;
  pending_ = pending::none;
  switch (p) {
    case pending::connect:
      if (positive) {
        if (!r) {
          char text[300];
          byte_writer t(text, sizeof text);
          t.append(cfg_.hostname.substr(0, 200));
          t.push(' ');
          t.append(cfg_.greeting.substr(0, 90));
          say_plain(220, t.view());
        }
        state_ = server_state::greeted;
      } else {
        state_ = server_state::refused;
      }
      break;
    case pending::helo:
      if (positive) {
        if (!r) {
          if (helo_verb_ == verb::helo)
            say_plain(250, cfg_.hostname);
          else
            send_ehlo_reply();
        }
        greeting_ = helo_verb_;
        state_ = server_state::ready;
      } else {
        count_error();
      }
      break;
    case pending::mail:
      if (positive) {
        if (!r && last_unknown_) {
          say(555, {5, 5, 4}, "Error: unsupported parameter");
          count_error();
          break;
        }
        if (!r) say(250, {2, 1, 0}, "Ok");
        state_ = server_state::mail;
        recipients_ = 0;
        body_ = last_body_;
        smtputf8_ = last_smtputf8_;
      } else {
        count_error();
      }
      break;
    case pending::rcpt:
      if (positive) {
        if (!r && last_unknown_) {
          say(555, {5, 5, 4}, "Error: unsupported parameter");
          count_error();
          break;
        }
        if (!r) say(250, {2, 1, 5}, "Ok");
        ++recipients_;
        state_ = server_state::rcpt;
      } else {
        count_error();
      }
      break;
    case pending::data:
      if (positive) {
        if (!r) say_plain(354, "End data with <CR><LF>.<CR><LF>");
        data_.reset();
        message_size_ = 0;
        message_error_ = errc{};
        data_end_ = false;
        state_ = server_state::data;
      } else {
        count_error();
      }
      break;
    case pending::message:
      if (!r) say(250, {2, 0, 0}, "Ok: message accepted");
      if (--lmtp_left_ != 0) {
        pending_ = pending::message;  // LMTP: a reply per accepted recipient
        return {};
      }
      reset_transaction();
      state_ = server_state::ready;
      if (stopping_) fatal(errc::session_closed, 421, {4, 3, 2}, "Service shutting down");
      break;
    case pending::auth:
      wipe_sasl();
      if (positive) {
        if (!r) say(235, {2, 7, 0}, "Authentication successful");
        authenticated_ = true;
      } else {
        if (!r) say(535, {5, 7, 8}, "Authentication credentials invalid");
        if (++auth_failures_ >= cfg_.limits.max_auth_failures)
          fatal(errc::auth_failed, 421, {4, 7, 0}, "Error: too many failed authentications");
        else
          count_error();
      }
      break;
    case pending::none:
      break;
  }
  return {};
}

SMTPKIT_NAMESPACE_END

// The message phase (DATA, BDAT) and AUTH live in their own headers.
#include <smtpkit/server/session_auth.hpp>
#include <smtpkit/server/session_message.hpp>
