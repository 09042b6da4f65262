// smtpkit client: the client session, a sans-I/O SMTP/LMTP state machine.
// RFC 5321 (3.1 greeting, 3.2 EHLO/HELO, 3.3 mail transactions, 4.1.4 order, 4.2 replies,
// 4.5.3.2 timeouts), RFC 2920 (PIPELINING), RFC 1870 (SIZE), RFC 6152 (8BITMIME), RFC 3030
// (CHUNKING, BINARYMIME), RFC 6531 (SMTPUTF8), RFC 3461 (DSN), RFC 8689 (REQUIRETLS), RFC 3207
// (STARTTLS), RFC 4954 (AUTH), RFC 2033 (LMTP), RFC 8314 (implicit TLS).
//
// Rules:
//  1. Bytes in, events out, actions in, bytes out. The session does no I/O and reads no clock:
//     current_timeout() says which RFC 5321 4.5.3.2 timer the driver arms, timeout() that it
//     fired.
//  2. The opening is the session's own: the greeting, EHLO (HELO after 500/502; LHLO in LMTP),
//     STARTTLS as client_config::tls asks, EHLO again over TLS. Then ready, and the application
//     acts (auth(), mail_from(), ...); what it may do when is the table of
//     client/transitions.hpp.
//  3. Every command awaiting a reply sits in a bounded queue, in the order sent; each reply is
//     matched to the command at its head (RFC 2920 3.1), so per-recipient results are exact
//     under pipelining. A reply nobody asked for is a protocol error (a 421 ends the session).
//  4. The server's input is never trusted: a malformed reply, a code that cannot answer the
//     command, or a malformed EHLO reply ends the session with protocol_error, with memory
//     bounded by limits::reply_line and client_config::max_reply_lines. A 421 ends it too.
//  5. STARTTLS (RFC 3207 5): on the 220 every byte already received is discarded, so is every
//     byte received before tls_started(); then the session forgets the capabilities and sends
//     EHLO again. Under tls_policy::require no MAIL, AUTH or message is ever sent without TLS.
//  6. Credentials go only over TLS unless client_config::allow_plaintext_auth. SASL buffers
//     are wiped after each step; events never carry credentials.
//  7. Local refusals happen before anything is written: a message over the server's SIZE, an
//     8-bit body without 8BITMIME, UTF-8 addresses without SMTPUTF8, REQUIRETLS without TLS or
//     without the server's REQUIRETLS. Parameters the server does not offer are left out
//     (SIZE, BODY=7BIT, RET, ENVID, NOTIFY, ORCPT, AUTH=).
//  8. A message is streamed: send_body() dot-stuffs into the output buffer what fits (bare LF
//     and bare CR become CRLF), bdat() sends one chunk; the session never holds a message.
//  9. A failed transaction is followed by RSET; every transaction ends with one
//     transaction_done event after all of its replies. Fatal conditions are sticky: once
//     closed, next_event() returns closed and actions return errc::session_closed.
// 10. Memory is allocated once, at construction (input, output, queue and SASL buffers sized
//     from the configuration); nothing after.
// SPDX-License-Identifier: MIT
#pragma once

#include <cassert>  // assert
#include <cstddef>  // size_t
#include <cstdint>  // uint32_t, uint64_t
#include <cstring>  // memcpy
#include <memory>   // unique_ptr
#include <smtpkit/client/body.hpp>
#include <smtpkit/client/config.hpp>
#include <smtpkit/client/events.hpp>
#include <smtpkit/client/transitions.hpp>
#include <smtpkit/codec/base64.hpp>
#include <smtpkit/codec/command.hpp>
#include <smtpkit/codec/command_writer.hpp>
#include <smtpkit/codec/data.hpp>
#include <smtpkit/codec/ehlo.hpp>
#include <smtpkit/codec/esmtp_params.hpp>
#include <smtpkit/codec/path.hpp>
#include <smtpkit/codec/reply.hpp>
#include <smtpkit/core/buffer.hpp>
#include <smtpkit/core/config.hpp>
#include <smtpkit/core/error.hpp>
#include <smtpkit/sasl/mechanism.hpp>
#include <smtpkit/session_time.hpp>
#include <string_view>   // string_view
#include <system_error>  // error_code

SMTPKIT_NAMESPACE_BEGIN

/// A sans-I/O SMTP (or LMTP) client session: one per connection.
///
/// A driver loop:
/// @code
/// for (;;) {
///   for (auto ev = s.next_event(); !std::holds_alternative<client_events::need_data>(ev);
///        ev = s.next_event())
///     std::visit(app, ev);          // app calls s.mail_from(), s.rcpt_to(), s.send_body(), ...
///   if (s.wants_write()) { send(s.pending_output()); s.consume_output(n); continue; }
///   if (!s.wants_read()) break;     // closed (or starting TLS: handshake, then tls_started())
///   read with s.current_timeout() -> s.receive(bytes) / s.receive_eof() / s.timeout();
/// }
/// @endcode
class client_session {
 public:
  /// Makes a session; the only allocations of its life happen here. The session then waits
  /// for the server's greeting.
  explicit client_session(const client_config& cfg)
      : cfg_(sanitize(cfg)),
        name_(new char[cfg_.helo_name.size() + 1]),
        input_(cfg_.max_reply_lines * cfg_.limits.reply_line + cfg_.limits.reply_line),
        output_(cfg_.limits.auth_line + 4096 > 16384 ? cfg_.limits.auth_line + 4096 : 16384),
        queue_cap_(cfg_.limits.max_recipients + 16),
        queue_(new entry[queue_cap_]),
        accepted_(new unsigned char[cfg_.limits.max_recipients / 8 + 1]),
        sasl_(new char[sasl_size(cfg_.limits)]),
        caps_buf_(new char[caps_size(cfg_.limits)]),
        reader_(cfg_.limits, cfg_.max_reply_lines) {
    std::memcpy(name_.get(), cfg_.helo_name.data(), cfg_.helo_name.size());
    cfg_.helo_name = std::string_view(name_.get(), cfg_.helo_name.size());
    host_ = *parse_host(cfg_.helo_name, cfg_.limits);
    push_entry({client_command::greeting});
  }

  /// Checks a configuration before a session is made from it.
  /// @return an empty error_code, or errc::invalid_argument: helo_name is not a domain or an
  ///         address literal (a session made anyway uses "localhost"); limits::reply_line under
  ///         5, limits::command_line under 64, limits::auth_line under limits::command_line,
  ///         limits::max_recipients or max_reply_lines 0 (a session raises them).
  static std::error_code validate(const client_config& cfg) noexcept {
    const limits& l = cfg.limits;
    if (!parse_host(cfg.helo_name, l) || l.reply_line < 5 || l.command_line < 64 ||
        l.auth_line < l.command_line || l.max_recipients == 0 || cfg.max_reply_lines == 0)
      return errc::invalid_argument;
    return {};
  }

  client_session(const client_session&) = delete;
  client_session& operator=(const client_session&) = delete;
  ~client_session() { wipe_sasl(); }

  // --- bytes in ------------------------------------------------------------------------------

  /// Takes as many of @p bytes as fit in the input buffer.
  /// @return how many bytes were taken; the driver offers the rest again later. While TLS is
  ///         being started, after receive_eof() and once closed, every byte is taken and
  ///         discarded (rule 5).
  std::size_t receive(std::string_view bytes) noexcept {
    if (state_ == client_state::tls_pending || state_ == client_state::closed || eof_)
      return bytes.size();
    const char* const before = input_.view().data();
    const std::size_t n = input_.write(bytes);
    if (held_ != 0 && input_.view().data() != before) current_ = held_reply();  // moved
    return n;
  }

  /// Tells the session that the server closed the connection. Replies already received are
  /// still processed; then the session ends (closed with errc{} after QUIT, otherwise
  /// errc::connection_lost; a transaction in progress ends with errc::connection_lost).
  void receive_eof() noexcept { eof_ = true; }

  // --- events out ----------------------------------------------------------------------------

  /// Returns the next event. Call it until it returns need_data.
  /// @warning Views in the event are valid until the next next_event() or receive().
  client_event next_event() noexcept;

  // --- actions -------------------------------------------------------------------------------
  // Every action fails with errc::session_closed once closed, errc::invalid_state when the
  // session or the transaction is not where the action may happen (client/transitions.hpp),
  // errc::reply_pending when a reply must be read first (rule 3 of client/transitions.hpp),
  // errc::output_full when the output buffer cannot take the command now (send
  // pending_output() and call again). A failed action writes nothing and changes nothing.

  /// Authenticates with @p mech (RFC 4954), which the server must list.
  /// @return as above, or: errc::tls_required (no TLS and allow_plaintext_auth is off);
  ///         errc::auth_mechanism_unsupported (the server does not offer AUTH or @p mech);
  ///         errc::invalid_argument (the mechanism refused its credentials);
  ///         errc::auth_line_too_long (the initial response cannot fit limits::auth_line).
  ///         errc::invalid_state also after a successful AUTH (RFC 4954 4).
  /// @warning @p mech must live until auth_done.
  std::error_code auth(sasl::client_mechanism& mech) noexcept { return start_auth(&mech, true); }
  /// Authenticates with the strongest of @p candidates that the server offers
  /// (sasl::strength()). Errors as auth(sasl::client_mechanism&).
  std::error_code auth(std::initializer_list<sasl::client_mechanism*> candidates) noexcept {
    return start_auth(sasl::choose(caps_, candidates), false);
  }

  /// Starts a transaction: MAIL FROM:<from> with the parameters of @p params that the server
  /// offers (rule 7; SMTPUTF8 is added when @p from is a UTF-8 address).
  /// @return as above, or: errc::message_too_large (@p params.size() over the server's SIZE);
  ///         errc::unknown_parameter (BODY=8BITMIME without 8BITMIME, unless
  ///         leniency::allow_8bit_without_8bitmime; BODY=BINARYMIME without BINARYMIME and
  ///         CHUNKING); errc::bad_utf8 (a UTF-8 address or SMTPUTF8 without the server's
  ///         SMTPUTF8); errc::tls_required (REQUIRETLS without TLS or without the server's
  ///         REQUIRETLS); errc::invalid_argument (what write_command() refuses).
  /// @warning The session keeps nothing of @p from and @p params once it returns.
  std::error_code mail_from(const reverse_path& from, const mail_parameters& params = {}) noexcept;

  /// Adds a recipient: RCPT TO:<to>; NOTIFY and ORCPT only when the server offers DSN. Its
  /// reply becomes recipient_result with index = the number of rcpt_to() before it.
  /// @return as above, or: errc::bad_utf8 (a UTF-8 address in a transaction without
  ///         SMTPUTF8); errc::too_many_recipients (over limits::max_recipients);
  ///         errc::invalid_argument (what write_command() refuses).
  std::error_code rcpt_to(const forward_path& to, const rcpt_parameters& params = {}) noexcept;

  /// Sends DATA; after the 354 comes body_ready. When every recipient was refused already,
  /// nothing is sent and the transaction ends (transaction_done, stage rcpt).
  /// @return as above; errc::invalid_state also before any rcpt_to() and for BODY=BINARYMIME.
  std::error_code data() noexcept;

  /// Dot-stuffs as much of @p bytes as fits into the output buffer (after body_ready).
  /// @return how many bytes were taken (0 when the output is full, or outside the body phase:
  ///         see phase()). Send pending_output() and pass the rest again.
  std::size_t send_body(std::string_view bytes) noexcept;

  /// Ends the message: CRLF (if the last line lacks one), ".", CRLF.
  /// @return as above (errc::invalid_state outside the body phase).
  std::error_code end_body() noexcept;

  /// Sends one BDAT chunk (RFC 3030), with "LAST" when @p last. A text body gets CRLF line
  /// ends (client/body.hpp); BODY=BINARYMIME is sent untouched. When every recipient was
  /// refused already, nothing is sent and the transaction ends (stage rcpt).
  /// @return as above, or errc::unknown_command (the server does not offer CHUNKING);
  ///         errc::output_full also when the chunk can never fit (see max_chunk_size()).
  std::error_code bdat(std::string_view chunk, bool last) noexcept;

  /// Sends RSET. A transaction whose envelope is still open ends (stage rset).
  std::error_code rset() noexcept;
  /// Sends NOOP.
  std::error_code noop() noexcept;
  /// Sends QUIT; the session closes after the 221 (closed with errc{}). A transaction whose
  /// envelope is still open ends (stage quit).
  std::error_code quit() noexcept;

  // --- bytes out -----------------------------------------------------------------------------

  /// Returns every byte ready to be sent, contiguous.
  std::string_view pending_output() const noexcept { return output_.view(); }
  /// Marks the first @p n bytes of pending_output() as sent.
  void consume_output(std::size_t n) noexcept { output_.consume(n); }

  // --- time and TLS --------------------------------------------------------------------------

  /// Returns the timer the driver should arm now (RFC 5321 4.5.3.2): greeting, reply (MAIL,
  /// RCPT and other commands), data_init (354), data_block (sending the message; a BDAT chunk's
  /// reply), data_term (end of data, BDAT LAST), or none when nothing is awaited from the
  /// server.
  deadline current_timeout() const noexcept;

  /// The timer fired: the session ends (closed with errc::timeout, a transaction in progress
  /// with errc::timeout).
  void timeout() noexcept;

  /// The TLS handshake that followed start_tls completed: the session discards what it
  /// received and knew, and sends EHLO (LHLO) again.
  /// @return errc::invalid_state unless a start_tls event was emitted and not yet answered.
  std::error_code tls_started() noexcept;

  // --- state ---------------------------------------------------------------------------------

  /// Returns where the session stands.
  client_state state() const noexcept { return state_; }
  /// Returns where the current transaction stands.
  transaction_phase phase() const noexcept { return tx_; }
  /// Returns what the server offered in its last EHLO (nothing before, or after HELO). The
  /// strings are the session's copies (raw is empty).
  const ehlo_capabilities& capabilities() const noexcept { return caps_; }
  /// Returns true once the transport is TLS (implicit, or after STARTTLS).
  bool tls_active() const noexcept { return tls_ || cfg_.implicit_tls; }
  /// Returns true after a successful AUTH.
  bool authenticated() const noexcept { return authenticated_; }
  /// Returns true when commands are pipelined (configured, and offered by the server).
  bool pipelining() const noexcept {
    return cfg_.pipelining && esmtp_ && caps_.has(ehlo_extension::pipelining);
  }
  /// Returns how many commands await a reply.
  std::size_t awaiting_replies() const noexcept { return queue_size_; }
  /// Returns the size of the largest chunk, counted after its line ends became CRLF (a bare LF
  /// takes two octets), that bdat() takes once pending_output() has been sent.
  std::size_t max_chunk_size() const noexcept {
    return output_.capacity() - own_reserve() - 32;  // 32: "BDAT <20 digits> LAST" CRLF
  }
  /// Returns true when the driver should read: not closed, not starting TLS, no end of input
  /// seen, and room in the input buffer.
  bool wants_read() const noexcept {
    return state_ != client_state::closed && state_ != client_state::tls_pending && !eof_ &&
           input_.space() != 0;
  }
  /// Returns true when pending_output() is not empty.
  bool wants_write() const noexcept { return !output_.empty(); }
  /// Returns the configuration in force (helo_name views the session's own copy).
  const client_config& config() const noexcept { return cfg_; }

 private:
  /// A command awaiting its reply.
  struct entry {
    client_command command = client_command::greeting;
    bool in_transaction = false;  // belongs to the current mail transaction
    bool last = false;            // BDAT LAST
    bool dummy = false;           // the "." sent after a 354 with no recipient
    std::uint32_t index = 0;      // recipient or chunk index
    std::uint32_t replies = 1;    // replies still expected (LMTP: one per recipient; 0: unknown)
  };
  /// An event waiting to be returned; with_reply events carry the reply being held.
  enum class note_kind : unsigned char {
    reply,
    ready,
    start_tls,
    auth_done,
    recipient,
    body_ready,
    delivery,
    done,
    protocol_error,
    closed
  };
  struct note {
    note_kind kind = note_kind::reply;
    client_command command = client_command::greeting;  // reply: its command; done: stage
    bool flag = false;                                  // accepted, success, delivered
    bool with_reply = false;
    errc error{};
    std::uint32_t index = 0;  // reply / recipient index; done: recipients
  };
  /// The mail transaction in progress (at most one, rule 4 of client/transitions.hpp).
  struct transaction {
    std::uint32_t rcpts_sent = 0;
    std::uint32_t rcpt_replies = 0;
    std::uint32_t accepted = 0;     // recipients accepted
    std::uint32_t delivered = 0;    // recipients that accepted the message
    std::uint32_t outstanding = 0;  // queue entries of the transaction
    std::uint32_t chunks = 0;
    std::uint32_t lmtp_cursor = 0;  // next accepted recipient to match an LMTP reply with
    client_command stage = client_command::data_end;
    bool failed = false;
    bool smtputf8 = false;
    bool binary = false;      // BODY=BINARYMIME
    bool pending_cr = false;  // a BDAT chunk ended in CR
  };
  static constexpr std::size_t max_notes = 16;

  static client_config sanitize(client_config c) noexcept {
    limits& l = c.limits;
    if (!parse_host(c.helo_name, l)) c.helo_name = "localhost";
    if (l.reply_line < 5) l.reply_line = 5;
    if (l.command_line < 64) l.command_line = 64;
    if (l.auth_line < l.command_line) l.auth_line = l.command_line;
    if (l.max_recipients == 0) l.max_recipients = 1;
    if (c.max_reply_lines == 0) c.max_reply_lines = 1;
    return c;
  }
  // SASL scratch: raw messages (secret), their base64 (secret), a decoded challenge. The raw
  // part is as large as the base64 one, so that a response too long for limits::auth_line is
  // told apart (errc::auth_line_too_long) from one the mechanism could not write at all.
  static std::size_t sasl_raw_size(const limits& l) noexcept { return l.auth_line; }
  static std::size_t sasl_size(const limits& l) noexcept {
    return sasl_raw_size(l) + l.auth_line + l.reply_line;
  }
  // Capability strings kept after the EHLO reply is gone: domain, greeting, two AUTH lists.
  static std::size_t caps_size(const limits& l) noexcept { return 256 + 3 * l.reply_line; }
  // Output room the application leaves for the session's own commands (EHLO, RSET, QUIT, ".").
  std::size_t own_reserve() const noexcept { return cfg_.limits.command_line + 8; }

  // --- queue and notes -----------------------------------------------------------------------
  bool push_entry(const entry& e) noexcept {
    if (queue_size_ == queue_cap_) return false;
    queue_[(queue_head_ + queue_size_) % queue_cap_] = e;
    ++queue_size_;
    if (ends_group(e.command)) ++group_ends_;
    if (e.in_transaction) ++tx_data_.outstanding;
    return true;
  }
  entry& front() noexcept { return queue_[queue_head_]; }
  void pop_entry() noexcept {
    const entry& e = front();
    if (ends_group(e.command)) --group_ends_;
    if (e.in_transaction && tx_data_.outstanding != 0) --tx_data_.outstanding;
    queue_head_ = (queue_head_ + 1) % queue_cap_;
    --queue_size_;
  }
  void clear_queue() noexcept { queue_head_ = queue_size_ = group_ends_ = 0; }
  void add_note(const note& n) noexcept {
    assert(notes_size_ < max_notes && "a reply yields at most a few events");
    if (notes_size_ == max_notes) return;
    notes_[(notes_head_ + notes_size_) % max_notes] = n;
    ++notes_size_;
  }
  client_event pop_note() noexcept;
  reply held_reply() const noexcept {
    const result<reply> r =
        parse_reply(input_.view().substr(0, held_), cfg_.limits, cfg_.max_reply_lines);
    return r ? *r : reply{};
  }

  // --- writing -------------------------------------------------------------------------------
  template <class Command>
  bool write_own(const Command& c) noexcept {
    byte_writer w = output_.back_writer();
    const std::error_code e = write_command(w, c, cfg_.limits);
    assert(!e && "the output reserve holds the session's own commands");
    if (e) return false;
    output_.commit(w.size());
    return true;
  }
  /// Writes an application's command, keeping own_reserve() free.
  template <class Command>
  std::error_code write_app(const Command& c) noexcept {
    byte_writer w = output_.back_writer();
    const std::error_code e = write_command(w, c, cfg_.limits);
    if (e) return e;
    if (w.space() < own_reserve()) return errc::output_full;
    output_.commit(w.size());
    return {};
  }
  /// Returns a writer over the output's free space less @p keep octets.
  byte_writer limited_writer(std::size_t keep) noexcept {
    byte_writer t = output_.back_writer();
    const std::size_t cap = t.capacity() > keep ? t.capacity() - keep : 0;
    // The writer's memory is the output buffer's own, writable storage.
    return byte_writer(const_cast<char*>(t.view().data()), cap);
  }
  void send_hello() noexcept {
    if (cfg_.lmtp) {
      write_own(lhlo_command{host_});
      push_entry({client_command::lhlo});
    } else {
      write_own(ehlo_command{host_});
      push_entry({client_command::ehlo});
    }
  }
  void start_quit(errc reason) noexcept {
    write_own(quit_command{});
    push_entry({client_command::quit});
    state_ = client_state::closing;
    close_reason_ = reason;
  }

  // --- session end ---------------------------------------------------------------------------
  void close_now(errc reason) noexcept {
    state_ = client_state::closed;
    close_reason_ = reason;
    clear_queue();
    mech_ = nullptr;
    wipe_sasl();
    add_note({note_kind::closed, client_command::none, false, false, reason, 0});
  }
  /// Ends a transaction in progress because the session ends.
  void abort_transaction(errc why, bool with_reply) noexcept {
    if (tx_ == transaction_phase::none) return;
    client_command stage = tx_data_.stage;
    if (!tx_data_.failed) {
      if (answering_ != client_command::none)
        stage = answering_;
      else if (queue_size_ != 0 && front().in_transaction)
        stage = front().command;
      else if (tx_ == transaction_phase::body)
        stage = client_command::data_end;
      else if (tx_ == transaction_phase::data_wait)
        stage = client_command::data;
      else
        stage = tx_data_.rcpts_sent != 0 ? client_command::rcpt : client_command::mail;
    }
    add_note({note_kind::done, stage, false, with_reply, why, 0});
    tx_ = transaction_phase::none;
  }
  /// Ends the session because the server broke the protocol (rule 4).
  void fail_protocol(errc code) noexcept {
    abort_transaction(errc::protocol_error, false);
    add_note({note_kind::protocol_error, client_command::none, false, false, code, 0});
    close_now(errc::protocol_error);
  }
  void wipe_sasl() noexcept {
    volatile char* p = sasl_.get();
    const std::size_t n = sasl_raw_size(cfg_.limits) + cfg_.limits.auth_line;
    for (std::size_t i = 0; i < n; ++i) p[i] = 0;
  }

  // --- transactions --------------------------------------------------------------------------
  void fail_transaction(client_command stage) noexcept {
    if (!tx_data_.failed) {
      tx_data_.failed = true;
      tx_data_.stage = stage;
    }
    if (tx_ != transaction_phase::none) tx_ = transaction_phase::ending;
  }
  bool all_recipients_refused() const noexcept {
    return tx_data_.rcpt_replies == tx_data_.rcpts_sent && tx_data_.accepted == 0;
  }
  void finish_transaction_if_over(bool with_reply) noexcept;
  std::error_code check_action(client_action a) const noexcept;
  std::error_code start_auth(sasl::client_mechanism* mech, bool exact) noexcept;

  // --- replies -------------------------------------------------------------------------------
  client_event read_reply() noexcept;
  client_event on_eof() noexcept;
  void on_reply(const reply& r) noexcept;
  bool on_opening_reply(const entry& e, const reply& r) noexcept;
  bool on_auth_reply(const reply& r) noexcept;
  bool on_transaction_reply(entry& e, const reply& r) noexcept;
  void store_capabilities(const ehlo_capabilities& c) noexcept;
  void continue_opening() noexcept;
  std::size_t next_accepted() noexcept;

  client_config cfg_;
  std::unique_ptr<char[]> name_;  // helo_name, copied
  host host_;
  fixed_buffer input_;
  fixed_buffer output_;
  std::size_t queue_cap_;
  std::unique_ptr<entry[]> queue_;
  std::unique_ptr<unsigned char[]> accepted_;  // bitmap: recipients accepted (LMTP matching)
  std::unique_ptr<char[]> sasl_;
  std::unique_ptr<char[]> caps_buf_;
  reply_reader reader_;
  dot_stuffer stuffer_;

  std::size_t queue_head_ = 0;
  std::size_t queue_size_ = 0;
  std::size_t group_ends_ = 0;  // awaited commands that end a pipelined group
  note notes_[max_notes];
  std::size_t notes_head_ = 0;
  std::size_t notes_size_ = 0;
  std::size_t held_ = 0;  // octets of the reply at the input's front that events view
  reply current_{};       // that reply
  client_command answering_ = client_command::none;  // the transaction command it answers

  client_state state_ = client_state::greeting;
  transaction_phase tx_ = transaction_phase::none;
  transaction tx_data_{};
  ehlo_capabilities caps_{};
  errc close_reason_{};
  bool esmtp_ = false;
  bool tls_ = false;
  bool eof_ = false;
  bool authenticated_ = false;

  // AUTH exchange
  sasl::client_mechanism* mech_ = nullptr;
  std::string_view mech_name_;
  std::size_t deferred_ir_ = 0;  // base64 initial response waiting for the first 334
  bool ir_deferred_ = false;
  errc auth_error_{};
  std::size_t challenge_size_ = 0;
};

// --- actions (the sending side) ----------------------------------------------------------------

inline std::error_code client_session::check_action(client_action a) const noexcept {
  if (state_ == client_state::closed) return errc::session_closed;
  if (state_ != client_state::ready) return errc::invalid_state;
  if ((a == client_action::mail || a == client_action::auth) && tx_ == transaction_phase::ending)
    return errc::reply_pending;  // one transaction at a time
  if (!action_allowed(a, tx_)) return errc::invalid_state;
  if (a == client_action::body) return {};
  if (a == client_action::auth) return queue_size_ == 0 ? std::error_code() : errc::reply_pending;
  if (queue_size_ == 0) return {};
  if (!pipelining() || group_ends_ != 0 || queue_size_ == queue_cap_) return errc::reply_pending;
  return {};
}

inline std::error_code client_session::start_auth(sasl::client_mechanism* mech,
                                                  bool exact) noexcept {
  if (const std::error_code e = check_action(client_action::auth)) return e;
  if (authenticated_) return errc::invalid_state;
  if (!tls_active() && !cfg_.allow_plaintext_auth) return errc::tls_required;
  if (!caps_.has(ehlo_extension::auth) || mech == nullptr ||
      (exact && !caps_.has_mechanism(mech->name())))
    return errc::auth_mechanism_unsupported;
  const std::string_view name = mech->name();
  const std::size_t raw_cap = sasl_raw_size(cfg_.limits);
  char* const raw = sasl_.get();
  char* const b64 = raw + raw_cap;
  byte_writer ir(raw, raw_cap);
  const sasl::step_status st = mech->start(ir);
  if (st != sasl::step_status::send && st != sasl::step_status::wait) {
    wipe_sasl();
    return errc::invalid_argument;
  }
  std::string_view initial;
  bool defer = false;
  if (st == sasl::step_status::send) {
    const result<std::string_view> enc = encode_base64(ir.view(), b64, cfg_.limits.auth_line);
    if (!enc || enc->size() + 2 > cfg_.limits.auth_line) {
      wipe_sasl();
      return errc::auth_line_too_long;
    }
    initial = enc->empty() ? std::string_view("=") : *enc;
    // RFC 4954 4: an initial response that would make the AUTH line longer than the command
    // line limit is sent after the first 334 instead.
    defer = 5 + name.size() + 1 + initial.size() + 2 > cfg_.limits.command_line;
  }
  byte_writer w = output_.back_writer();
  const std::error_code e = write_auth(w, name, defer ? std::string_view() : initial, cfg_.limits);
  if (e || w.space() < own_reserve()) {
    wipe_sasl();
    return e ? e : errc::output_full;
  }
  output_.commit(w.size());
  // Only the deferred response (base64, at the start of its buffer) is kept.
  if (defer) std::memmove(b64, initial.data(), initial.size());
  volatile char* v = raw;
  for (std::size_t i = 0; i < raw_cap; ++i) v[i] = 0;
  if (!defer) wipe_sasl();
  deferred_ir_ = defer ? initial.size() : 0;
  ir_deferred_ = defer;
  mech_ = mech;
  mech_name_ = name;
  auth_error_ = errc{};
  challenge_size_ = 0;
  push_entry({client_command::auth});
  return {};
}

inline std::error_code client_session::mail_from(const reverse_path& from,
                                                 const mail_parameters& params) noexcept {
  if (const std::error_code e = check_action(client_action::mail)) return e;
  const auto offers = [this](ehlo_extension x) { return esmtp_ && caps_.has(x); };
  mail_parameters p = params;
  // Local refusals (rule 7), before anything is written.
  if (p.size() && offers(ehlo_extension::size) && caps_.max_size != 0 && *p.size() > caps_.max_size)
    return errc::message_too_large;
  if (p.body() == body_type::eight_bit_mime && !offers(ehlo_extension::eight_bit_mime)) {
    if (!cfg_.leniency.allow_8bit_without_8bitmime) return errc::unknown_parameter;
    p.set_body(body_type::none);
  }
  if (p.body() == body_type::binary_mime &&
      !(offers(ehlo_extension::binary_mime) && offers(ehlo_extension::chunking)))
    return errc::unknown_parameter;
  const bool utf8 = from.address().utf8() || p.smtputf8();
  if (utf8 && !offers(ehlo_extension::smtputf8)) return errc::bad_utf8;
  if (p.requiretls() && (!tls_active() || !offers(ehlo_extension::requiretls)))
    return errc::tls_required;
  if (cfg_.tls == tls_policy::require && !tls_active()) return errc::tls_required;
  // Parameters the server does not offer are left out.
  if (!offers(ehlo_extension::size)) p.set_size(std::nullopt);
  if (p.body() == body_type::seven_bit && !offers(ehlo_extension::eight_bit_mime))
    p.set_body(body_type::none);
  p.set_smtputf8(utf8);
  if (!offers(ehlo_extension::dsn)) {
    p.set_ret(dsn_ret::none);
    p.set_envid({});
  }
  if (!offers(ehlo_extension::auth)) p.set_auth({});
  if (!esmtp_ && p.extensions().size() != 0) return errc::unknown_parameter;
  if (const std::error_code e = write_app(mail_command{from, p})) return e;
  tx_data_ = transaction{};
  tx_data_.smtputf8 = utf8;
  tx_data_.binary = p.body() == body_type::binary_mime;
  tx_ = transaction_phase::envelope;
  push_entry({client_command::mail, true});
  return {};
}

inline std::error_code client_session::rcpt_to(const forward_path& to,
                                               const rcpt_parameters& params) noexcept {
  if (const std::error_code e = check_action(client_action::rcpt)) return e;
  if (to.address().utf8() && !tx_data_.smtputf8) return errc::bad_utf8;
  if (tx_data_.rcpts_sent >= cfg_.limits.max_recipients) return errc::too_many_recipients;
  rcpt_parameters p = params;
  if (!(esmtp_ && caps_.has(ehlo_extension::dsn))) {
    p.set_notify(dsn_notify::none);
    p.set_orcpt({}, {});
  }
  if (!esmtp_ && p.extensions().size() != 0) return errc::unknown_parameter;
  if (const std::error_code e = write_app(rcpt_command{to, p})) return e;
  push_entry({client_command::rcpt, true, false, false, tx_data_.rcpts_sent});
  ++tx_data_.rcpts_sent;
  return {};
}

inline std::error_code client_session::data() noexcept {
  if (const std::error_code e = check_action(client_action::data)) return e;
  if (tx_data_.rcpts_sent == 0 || tx_data_.binary) return errc::invalid_state;
  if (all_recipients_refused()) {  // nothing to send the message to
    fail_transaction(client_command::rcpt);
    finish_transaction_if_over(false);
    return {};
  }
  if (const std::error_code e = write_app(data_command{})) return e;
  push_entry({client_command::data, true});
  tx_ = transaction_phase::data_wait;
  return {};
}

inline std::size_t client_session::send_body(std::string_view bytes) noexcept {
  if (state_ != client_state::ready || tx_ != transaction_phase::body) return 0;
  byte_writer w = limited_writer(own_reserve());
  const std::size_t n = stuffer_.write(bytes, w);
  output_.commit(w.size());
  return n;
}

inline std::error_code client_session::end_body() noexcept {
  if (const std::error_code e = check_action(client_action::body)) return e;
  byte_writer w = output_.back_writer();
  if (const std::error_code e = stuffer_.finish(w)) return e;
  output_.commit(w.size());
  entry e{client_command::data_end, true};
  e.replies = cfg_.lmtp && tx_data_.accepted != 0 ? tx_data_.accepted : 1;
  push_entry(e);
  tx_ = transaction_phase::ending;
  return {};
}

inline std::error_code client_session::bdat(std::string_view chunk, bool last) noexcept {
  if (const std::error_code e = check_action(client_action::bdat)) return e;
  if (tx_data_.rcpts_sent == 0) return errc::invalid_state;
  if (!caps_.has(ehlo_extension::chunking)) return errc::unknown_command;
  if (all_recipients_refused()) {
    fail_transaction(client_command::rcpt);
    finish_transaction_if_over(false);
    return {};
  }
  bool pending_cr = tx_data_.pending_cr;
  const std::uint64_t size =
      tx_data_.binary ? chunk.size() : detail::crlf_normalized_size(chunk, pending_cr, last);
  byte_writer w = limited_writer(own_reserve());
  if (const std::error_code e = write_command(w, bdat_command{size, last}, cfg_.limits)) return e;
  if (size > w.space()) return errc::output_full;
  if (tx_data_.binary)
    w.append(chunk);
  else
    detail::write_crlf_normalized(chunk, pending_cr, last, w);
  output_.commit(w.size());
  tx_data_.pending_cr = pending_cr;
  entry e{client_command::bdat, true, last, false, tx_data_.chunks};
  e.replies = last ? 0 : 1;  // LAST: one per accepted recipient in LMTP, known at its reply
  push_entry(e);
  ++tx_data_.chunks;
  tx_ = last ? transaction_phase::ending : transaction_phase::bdat;
  return {};
}

inline std::error_code client_session::rset() noexcept {
  if (const std::error_code e = check_action(client_action::rset)) return e;
  if (const std::error_code e = write_app(rset_command{})) return e;
  const bool open = tx_ == transaction_phase::envelope || tx_ == transaction_phase::bdat;
  push_entry({client_command::rset});
  if (open) {
    fail_transaction(client_command::rset);
    finish_transaction_if_over(false);
  }
  return {};
}

inline std::error_code client_session::noop() noexcept {
  if (const std::error_code e = check_action(client_action::noop)) return e;
  if (const std::error_code e = write_app(noop_command{})) return e;
  push_entry({client_command::noop});
  return {};
}

inline std::error_code client_session::quit() noexcept {
  if (const std::error_code e = check_action(client_action::quit)) return e;
  if (const std::error_code e = write_app(quit_command{})) return e;
  const bool open = tx_ == transaction_phase::envelope || tx_ == transaction_phase::bdat;
  push_entry({client_command::quit});
  state_ = client_state::closing;
  close_reason_ = errc{};
  if (open) {
    fail_transaction(client_command::quit);
    finish_transaction_if_over(false);
  }
  return {};
}

inline void client_session::finish_transaction_if_over(bool with_reply) noexcept {
  if (tx_ != transaction_phase::ending || tx_data_.outstanding != 0) return;
  const transaction& t = tx_data_;
  const bool accepted = !t.failed && t.delivered != 0;
  const std::uint32_t recipients = t.failed ? 0 : t.delivered;
  add_note({note_kind::done, t.failed ? t.stage : client_command::data_end, accepted, with_reply,
            errc{}, recipients});
  tx_ = transaction_phase::none;
  const client_command s = t.stage;
  // Rule 9: RSET after a transaction refused before its end (the server may still hold it),
  // unless the application already queued one.
  bool rset_queued = false;
  for (std::size_t i = 0; i < queue_size_; ++i)
    rset_queued |= queue_[(queue_head_ + i) % queue_cap_].command == client_command::rset;
  if (t.failed && state_ == client_state::ready && !rset_queued &&
      (s == client_command::mail || s == client_command::rcpt || s == client_command::data ||
       s == client_command::bdat)) {
    write_own(rset_command{});
    push_entry({client_command::rset});
  }
}

SMTPKIT_NAMESPACE_END

#include <smtpkit/client/session_receive.hpp>
