// smtpkit fuzzing: helpers shared by the fuzz targets. Works with any compiler (the replay
// programs are built with gcc too), so it does not use clang's FuzzedDataProvider.
//
// Rules:
//  1. Every parse runs on an exact-size heap copy of its bytes (fmt's
//     FMT_FUZZ_SEPARATE_ALLOCATION), so that ASan sees a read one past the end. Incremental
//     readers get a fresh exact copy of the owner's unconsumed bytes at every call, so that a
//     reader keeping a pointer across calls, or reading past what it was given, is caught.
//  2. Parse targets also run on the input mapped into the RFC 5321 alphabet (stalwart's
//     into_alphabet), so that the fuzzer reaches grammar paths, not only the first refusal.
//  3. Splits of incremental input come from a generator seeded by a hash of the input, so that
//     plain protocol text works as a seed; stateful targets read their choices from the end of
//     the input (provider), their data from the front.
//  4. A failed property aborts with a message (SMTPKIT_FUZZ_CHECK); libFuzzer keeps the input.
//  5. The server session targets share one driver (server_driver): it feeds the client's bytes
//     in pieces, answers decisions, drains output and calls the session's other entry points,
//     all as control bytes say, and checks the session's invariants at every step.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>   // size_t
#include <cstdint>   // uint8_t, uint64_t
#include <cstdio>    // fprintf
#include <cstdlib>   // abort
#include <cstring>   // memcpy
#include <memory>    // unique_ptr
#include <optional>  // optional
#include <smtpkit/server.hpp>
#include <string>        // string
#include <string_view>   // string_view
#include <system_error>  // error_code
#include <variant>       // get_if, holds_alternative
#include <vector>        // vector

namespace smtpkit_fuzz {

/// Fails the run loudly (libFuzzer reports it as a crash with the input).
#define SMTPKIT_FUZZ_CHECK(cond)                                                    \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

/// Returns the fuzz input as a string_view (empty for a null pointer).
inline std::string_view as_view(const std::uint8_t* data, std::size_t size) noexcept {
  return size == 0 ? std::string_view()
                   : std::string_view(reinterpret_cast<const char*>(data), size);
}

/// Reads choices and pieces from the fuzz input: control bytes are taken from the end, data
/// from the front, so that mutations of one seldom disturb the other. Once the input is used
/// up every choice reads 0, so 0 is always the ordinary choice.
class provider {
 public:
  provider(const std::uint8_t* data, std::size_t size) noexcept
      : data_(as_view(data, size).data()), size_(size) {}
  explicit provider(std::string_view s) noexcept : data_(s.data()), size_(s.size()) {}

  /// Returns a control byte (0 when exhausted).
  std::uint8_t byte() noexcept {
    if (size_ == 0) return 0;
    --size_;
    return static_cast<std::uint8_t>(data_[size_]);
  }
  /// Returns a number in [lo, hi] from control bytes.
  std::size_t range(std::size_t lo, std::size_t hi) noexcept {
    if (hi <= lo) return lo;
    const std::size_t span = hi - lo;
    std::size_t v = 0;
    for (std::size_t s = span; s != 0; s >>= 8) v = (v << 8) | byte();
    return span == ~std::size_t{0} ? lo + v : lo + v % (span + 1);
  }
  bool boolean() noexcept { return (byte() & 1) != 0; }
  /// Takes up to @p n data bytes from the front.
  std::string_view take(std::size_t n) noexcept {
    if (n > size_) n = size_;
    std::string_view s(data_, n);
    data_ += n;
    size_ -= n;
    return s;
  }
  /// Takes all remaining bytes.
  std::string_view rest() noexcept { return take(size_); }
  std::size_t remaining() const noexcept { return size_; }

 private:
  const char* data_;
  std::size_t size_;
};

/// Maps arbitrary bytes into the alphabet SMTP parsers care about (stalwart's into_alphabet), so
/// the fuzzer reaches grammar paths instead of the first "invalid character" check.
inline std::string into_alphabet(std::string_view in) {
  static constexpr char alphabet[] =
      "\r\n.:<>@[]\" =+-,;\\AaBbDEFHILMNOPRSTUXZ0123456789\t\x80\xc3\xa9";
  std::string out(in.size(), ' ');
  for (std::size_t i = 0; i < in.size(); ++i)
    out[i] = alphabet[static_cast<unsigned char>(in[i]) % (sizeof alphabet - 1)];
  return out;
}

/// Copies @p s into an exact-size heap buffer so that ASan catches a read one past its end.
class exact_copy {
 public:
  explicit exact_copy(std::string_view s) {
    // A size no allocation can have never reaches memcpy (which gcc -O3 cannot otherwise tell,
    // and warns about under -fno-exceptions).
    const std::size_t n = s.size() <= max_size ? s.size() : 0;
    if (n != 0) {
      buf_.reset(new char[n]);
      std::memcpy(buf_.get(), s.data(), n);
    }
    view_ = std::string_view(buf_.get(), n);
  }
  exact_copy(const exact_copy&) = delete;
  exact_copy& operator=(const exact_copy&) = delete;
  std::string_view view() const noexcept { return view_; }

 private:
  static constexpr std::size_t max_size = std::size_t{1} << 40;
  std::unique_ptr<char[]> buf_;
  std::string_view view_;
};

/// Runs @p f(std::string_view) on an exact copy of the input, then on an exact copy of the input
/// mapped into the RFC 5321 alphabet.
template <class F>
void run_plain_and_alphabet(const std::uint8_t* data, std::size_t size, F&& f) {
  const std::string_view in = as_view(data, size);
  {
    const exact_copy c(in);
    f(c.view());
  }
  const std::string mapped = into_alphabet(in);
  const exact_copy c(mapped);
  f(c.view());
}

/// Returns the FNV-1a hash of @p s (seeds the split generator).
inline std::uint64_t hash_bytes(std::string_view s) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

/// A small deterministic generator (splitmix64) for split points.
class rng {
 public:
  explicit rng(std::uint64_t seed) noexcept : state_(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  /// Returns a number in [0, n); 0 when n is 0.
  std::size_t below(std::size_t n) noexcept {
    return n == 0 ? 0 : static_cast<std::size_t>(next() % n);
  }

 private:
  std::uint64_t state_;
};

/// Returns the size of the next piece of @p left bytes: one byte, a few, up to a hundred, or
/// everything, each about equally often (at least 1 when @p left is not 0).
inline std::size_t piece_size(rng& r, std::size_t left) noexcept {
  if (left == 0) return 0;
  std::size_t n = left;
  switch (r.below(4)) {
    case 0:
      n = 1;
      break;
    case 1:
      n = 2 + r.below(15);
      break;
    case 2:
      n = 17 + r.below(100);
      break;
    default:
      break;
  }
  return n < left ? n : left;
}

/// Calls @p f(std::string_view) for each line of @p s ended by LF, without its LF and a CR
/// before it, and for a last unterminated line.
template <class F>
void for_each_line(std::string_view s, F&& f) {
  while (!s.empty()) {
    const std::size_t lf = s.find('\n');
    std::string_view line = s.substr(0, lf);
    if (!line.empty() && line.back() == '\r' && lf != std::string_view::npos) line.remove_suffix(1);
    f(line);
    if (lf == std::string_view::npos) break;
    s.remove_prefix(lf + 1);
  }
}

/// The bytes an incremental reader's owner holds: the whole input is known up front; `avail`
/// of it has "arrived", `done` of it was consumed. Each call to view() hands the reader a fresh
/// exact copy of the unconsumed, arrived bytes (so they move in memory between calls, as the
/// reader contracts allow, and a read past their end is caught).
class owner_buffer {
 public:
  explicit owner_buffer(std::string_view all) noexcept : all_(all) {}
  /// Makes @p n more bytes arrive.
  void arrive(std::size_t n) noexcept {
    avail_ = n < all_.size() - avail_ ? avail_ + n : all_.size();
  }
  /// Returns an exact copy of the held bytes; valid until the next call.
  std::string_view view() {
    copy_.reset();
    copy_.reset(new exact_copy(all_.substr(done_, avail_ - done_)));
    return copy_->view();
  }
  /// Drops @p n held bytes. Fails the run when the reader consumed more than it held.
  void consume(std::size_t n) noexcept {
    SMTPKIT_FUZZ_CHECK(n <= avail_ - done_);
    done_ += n;
  }
  std::size_t held() const noexcept { return avail_ - done_; }
  std::size_t arrived() const noexcept { return avail_; }
  std::size_t consumed() const noexcept { return done_; }
  bool all_arrived() const noexcept { return avail_ == all_.size(); }
  /// Returns the offset in the whole input of a view taken from the last view().
  std::size_t offset_of(std::string_view v) const noexcept {
    return done_ + static_cast<std::size_t>(v.data() - copy_->view().data());
  }
  /// Returns true when @p v lies inside the last view().
  bool inside(std::string_view v) const noexcept {
    const std::string_view c = copy_->view();
    if (v.empty()) return true;
    return v.data() >= c.data() && v.data() + v.size() <= c.data() + c.size();
  }

 private:
  std::string_view all_;
  std::size_t avail_ = 0;
  std::size_t done_ = 0;
  std::unique_ptr<exact_copy> copy_;
};

// ---- the server session driver ----------------------------------------------------------

/// Draws a server configuration from three control bytes and two limit bytes. All zero gives
/// the defaults with AUTH PLAIN/LOGIN, STARTTLS, CHUNKING, SMTPUTF8 and DSN on, so that a seed
/// of plain client text reaches every state.
inline smtpkit::server_config server_config_from(provider& p) {
  smtpkit::server_config c;
  const std::uint8_t a = p.byte();
  const std::uint8_t b = p.byte();
  const std::uint8_t x = p.byte();
  auto& f = c.features;
  f.pipelining = (a & 1) == 0;
  f.size = (a & 2) == 0;
  f.eightbitmime = (a & 4) == 0;
  f.enhanced_status_codes = (a & 8) == 0;
  f.vrfy = (a & 16) == 0;
  f.chunking = (a & 32) == 0;
  f.binarymime = (a & 64) == 0;
  f.smtputf8 = (a & 128) == 0;
  f.dsn = (b & 1) == 0;
  f.starttls = (b & 2) == 0;
  f.auth_plain = (b & 4) == 0;
  f.auth_login = (b & 8) == 0;
  f.auth_required = (b & 16) != 0;
  f.tls_required = (b & 32) != 0;
  f.auth_before_tls = (b & 64) == 0;
  f.lmtp = (b & 128) != 0;
  c.implicit_tls = (x & 1) != 0;
  if (x & 2) c.leniency.bare_newline = smtpkit::bare_newline_policy::normalize;
  c.leniency.refuse_space_after_colon = (x & 4) != 0;
  c.leniency.allow_8bit_without_8bitmime = (x & 8) != 0;
  static constexpr std::string_view hosts[] = {"mx.example.org", "[192.0.2.1]", "a",
                                               "bad host name"};
  c.hostname = hosts[(x >> 4) & 3];
  // The last greeting holds CR LF, which server_session::validate() refuses; a session made
  // from it anyway must still greet well-formed.
  static constexpr std::string_view bad_greeting = "ESMTP\r\n250 injected";
  static constexpr std::string_view greetings[] = {
      "ESMTP", "",
      "ESMTP a greeting longer than the ninety octets the session keeps of it, so that it is cut "
      "somewhere in the middle of this sentence",
      bad_greeting};
  c.greeting = greetings[(x >> 6) & 3];
  const std::uint8_t l = p.byte();
  const std::uint8_t m = p.byte();
  static constexpr std::size_t recipients[] = {100, 1, 2, 5};
  static constexpr std::uint64_t sizes[] = {10u * 1024u * 1024u, 0, 10, 1000};
  static constexpr std::size_t text_lines[] = {1000, 0, 20, 78};
  static constexpr std::size_t errors[] = {20, 0, 3, 100};
  static constexpr std::size_t command_lines[] = {512, 80, 1000, 40};
  static constexpr std::size_t auth_lines[] = {12288, 100, 1000, 40};
  static constexpr std::size_t auth_failures[] = {3, 1, 2, 10};
  c.limits.max_recipients = recipients[l & 3];
  c.limits.max_message_size = sizes[(l >> 2) & 3];
  c.limits.text_line = text_lines[(l >> 4) & 3];
  c.limits.max_errors = errors[(l >> 6) & 3];
  c.limits.command_line = command_lines[m & 3];
  c.limits.auth_line = auth_lines[(m >> 2) & 3];
  c.limits.max_auth_failures = auth_failures[(m >> 4) & 3];
  return c;
}

/// Drives a server_session as a client and an application would, with every choice drawn from
/// control bytes, and checks on every step:
///  - no crash and no hang (every loop is bounded);
///  - every byte of output is part of a well-formed reply (reply_reader), the output never
///    exceeds the session's buffer, and a full drain leaves no partial reply;
///  - no event breaks the transaction model: no MAIL or RCPT while a message is being received
///    (between data_started accepted, or the first BDAT chunk, and message_complete or
///    message_refused), message data only inside a message, a message's size and recipients
///    as counted from the events and decisions, and within limits;
///  - a decision can be answered exactly when one is pending, the session never wedges with a
///    full input buffer, and nothing received before a TLS handshake survives it;
///  - once closed, the session stays closed and takes (and drops) every byte.
class server_driver {
 public:
  server_driver(const smtpkit::server_config& cfg, provider& p)
      : cfg_(cfg),
        s_(cfg),
        p_(p),
        replies_(smtpkit::limits{}, 1000),
        trace_(std::getenv("SMTPKIT_FUZZ_TRACE") != nullptr) {
    const std::size_t line = cfg.limits.auth_line > cfg.limits.command_line
                                 ? cfg.limits.auth_line
                                 : cfg.limits.command_line;
    input_capacity_ = line + 4096 > 16384 ? line + 4096 : 16384;
  }

  server_driver(const server_driver&) = delete;
  server_driver& operator=(const server_driver&) = delete;

  smtpkit::server_session& session() noexcept { return s_; }
  bool closed() const noexcept { return closed_; }
  bool authenticated() const noexcept { return authenticated_; }
  bool in_transaction() const noexcept { return in_txn_; }
  std::size_t recipients() const noexcept { return rcpts_; }
  /// Returns the contents of the messages completed since the last call, in order.
  std::vector<std::string> take_messages() { return std::move(messages_); }
  /// Returns the credentials of the AUTH exchanges finished since the last call.
  std::vector<std::string> take_credentials() { return std::move(credentials_); }

  /// Offers @p bytes as the client's next bytes: they are received in pieces of sizes drawn
  /// from control bytes, with events, decisions and output handled between pieces.
  void send(std::string_view bytes) {
    pending_in_.append(bytes.data(), bytes.size());
    for (int guard = 0; !pending_in_.empty(); ++guard) {
      SMTPKIT_FUZZ_CHECK(guard < 1000000);
      step();
      const std::size_t n = p_.byte() == 0 ? pending_in_.size() : 1 + p_.range(0, 63);
      const std::string_view piece(pending_in_.data(),
                                   n < pending_in_.size() ? n : pending_in_.size());
      std::size_t took = s_.receive(piece);
      trace("receive", piece.substr(0, took));
      SMTPKIT_FUZZ_CHECK(took <= piece.size());
      if (closed_ || s_.state() == smtpkit::server_state::tls_pending)
        SMTPKIT_FUZZ_CHECK(took == piece.size());  // dropped, not held
      if (took == 0) {
        // The session holds a decision or a full buffer: once everything is answered and all
        // output sent, it must take input again (it never wedges on its own buffer).
        settle(false);
        took = s_.receive(piece);
        SMTPKIT_FUZZ_CHECK(took != 0 && took <= piece.size());
      }
      pending_in_.erase(0, took);
    }
    step();
  }

  /// Processes events and output once, and maybe calls one of the other entry points.
  void step() {
    pump(true);
    check_timeout();
    drain(p_.byte() == 0 ? ~std::size_t{0} : p_.range(0, 600));
    switch (p_.byte()) {
      case 1:
        trace("timeout()");
        timeout();
        break;
      case 2:
        shutdown_ = true;
        trace("shutdown()");
        s_.shutdown(false);
        pump(true);
        break;
      case 3:
        shutdown_ = true;
        trace("shutdown(true)");
        if (s_.state() != smtpkit::server_state::closed) expect_421_ = true;
        s_.shutdown(true);
        SMTPKIT_FUZZ_CHECK(s_.state() == smtpkit::server_state::closed);
        pump(true);
        break;
      case 4:
        trace("receive_eof()");
        s_.receive_eof();
        eof_ = true;
        pump(true);
        break;
      case 5:
        if (pending_ == kind::none) SMTPKIT_FUZZ_CHECK(s_.accept() == smtpkit::errc::invalid_state);
        break;
      case 6:
        if (s_.state() != smtpkit::server_state::tls_pending)
          SMTPKIT_FUZZ_CHECK(s_.tls_started() == smtpkit::errc::invalid_state);
        break;
      default:
        break;
    }
    if (s_.state() == smtpkit::server_state::tls_pending) handshake();
  }

  /// The timer fired.
  void timeout() {
    const bool was_closed = closed_ || s_.state() == smtpkit::server_state::closed;
    s_.timeout();
    SMTPKIT_FUZZ_CHECK(s_.state() == smtpkit::server_state::closed);
    if (!was_closed) expect_421_ = true;
    pump(true);
  }

  /// Answers everything with its default and drains all output until nothing moves.
  void settle(bool allow_defer) {
    for (int i = 0; i < 8; ++i) {
      pump(allow_defer);
      drain(~std::size_t{0});
      if (s_.state() == smtpkit::server_state::tls_pending) handshake();
    }
    check_live();
  }

  /// The client is done: end of input, then everything must wind down to closed.
  void finish() {
    if (!pending_in_.empty()) send({});
    s_.receive_eof();
    eof_ = true;
    for (int i = 0; i < 16 && !closed_; ++i) {
      pump(false);
      drain(~std::size_t{0});
      if (s_.state() == smtpkit::server_state::tls_pending) {
        SMTPKIT_FUZZ_CHECK(!s_.tls_started());
      }
    }
    SMTPKIT_FUZZ_CHECK(closed_);
    drain(~std::size_t{0});
    SMTPKIT_FUZZ_CHECK(output_.empty() && !replies_.failed());
    // Closed stays closed.
    SMTPKIT_FUZZ_CHECK(std::holds_alternative<smtpkit::server_events::closed>(s_.next_event()));
    SMTPKIT_FUZZ_CHECK(!s_.wants_read() && !s_.wants_write());
    SMTPKIT_FUZZ_CHECK(s_.current_timeout().kind == smtpkit::timeout_kind::none);
    SMTPKIT_FUZZ_CHECK(s_.receive("QUIT\r\n") == 6);
    SMTPKIT_FUZZ_CHECK(s_.accept() == smtpkit::errc::invalid_state);
    if (expect_421_) SMTPKIT_FUZZ_CHECK(saw_421_);
  }

 private:
  enum class kind { none, connect, helo, mail, rcpt, data, message, auth };

  /// The TLS handshake after start_tls: maybe bytes first (which must vanish), then done.
  void handshake() {
    const std::uint8_t b = p_.byte();
    if (b & 1) {
      SMTPKIT_FUZZ_CHECK(s_.receive("EHLO injected\r\nMAIL FROM:<x@y>\r\n") == 32);
    }
    if (b & 2) return;  // not yet
    trace("tls_started()");
    SMTPKIT_FUZZ_CHECK(!s_.tls_started());
    tls_ = true;
    authenticated_ = false;
    SMTPKIT_FUZZ_CHECK(s_.state() == smtpkit::server_state::greeted && s_.tls_active());
    SMTPKIT_FUZZ_CHECK(!s_.authenticated() && !s_.greeting());
    if (!eof_ && !stopping()) {
      // Nothing received before the handshake survives it (CVE-2011-0411 class).
      SMTPKIT_FUZZ_CHECK(
          std::holds_alternative<smtpkit::server_events::need_data>(s_.next_event()));
    }
  }

  bool stopping() const noexcept { return shutdown_; }

  /// Calls next_event() until need_data or closed, answering decisions.
  void pump(bool allow_defer) {
    for (int guard = 0;; ++guard) {
      SMTPKIT_FUZZ_CHECK(guard < 1000000);
      SMTPKIT_FUZZ_CHECK(s_.pending_output().size() <= 8192);
      if (pending_ != kind::none && !answer(allow_defer)) return;
      if (closed_) return;
      const smtpkit::server_event e = s_.next_event();
      SMTPKIT_FUZZ_CHECK(s_.pending_output().size() <= 8192);
      if (std::holds_alternative<smtpkit::server_events::need_data>(e)) {
        if (pending_ == kind::none) return;
        continue;
      }
      on_event(e);
    }
  }

  /// Checks the deadline the session asks for (RFC 5321 4.5.3.2): none while closed or while
  /// the application decides, the data timeout inside a message, the AUTH one in a SASL
  /// exchange, the command one otherwise.
  void check_timeout() {
    const smtpkit::deadline dl = s_.current_timeout();
    const smtpkit::server_state st = s_.state();
    SMTPKIT_FUZZ_CHECK(s_.wants_write() == !s_.pending_output().empty());
    if (st == smtpkit::server_state::closed || pending_ != kind::none) {
      SMTPKIT_FUZZ_CHECK(dl.kind == smtpkit::timeout_kind::none && dl.milliseconds == 0);
    } else if (st == smtpkit::server_state::data || st == smtpkit::server_state::bdat) {
      SMTPKIT_FUZZ_CHECK(dl.kind == smtpkit::timeout_kind::data_block &&
                         dl.milliseconds == cfg_.timeouts.data);
    } else if (st == smtpkit::server_state::auth) {
      SMTPKIT_FUZZ_CHECK(dl.kind == smtpkit::timeout_kind::auth &&
                         dl.milliseconds == cfg_.timeouts.auth);
    } else if (st != smtpkit::server_state::tls_pending) {
      SMTPKIT_FUZZ_CHECK(dl.kind == smtpkit::timeout_kind::next_command &&
                         dl.milliseconds == cfg_.timeouts.command);
    }
  }

  /// Checks that an idle, drained session that is waiting for input can take some.
  void check_live() {
    if (pending_ != kind::none || closed_ || eof_) return;
    if (s_.state() == smtpkit::server_state::tls_pending ||
        s_.state() == smtpkit::server_state::closed)
      return;
    if (!s_.pending_output().empty()) return;
    SMTPKIT_FUZZ_CHECK(s_.wants_read());
  }

  /// Sends (consumes) up to @p n bytes of output and checks they are whole replies.
  void drain(std::size_t n) {
    const std::string_view out = s_.pending_output();
    if (n > out.size()) n = out.size();
    if (n != 0) trace("sent", out.substr(0, n));
    output_.append(out.data(), n);
    s_.consume_output(n);
    for (;;) {
      const smtpkit::reply_result r = replies_.read(output_);
      SMTPKIT_FUZZ_CHECK(r.status != smtpkit::reply_status::error);
      if (r.status == smtpkit::reply_status::need_more) break;
      check_reply(r.value);
      output_.erase(0, r.consumed);
    }
    // The session writes whole replies: once all is sent, nothing is left half-read.
    if (s_.pending_output().empty()) SMTPKIT_FUZZ_CHECK(output_.empty());
  }

  void check_reply(const smtpkit::reply& r) {
    if (r.code() == 421) saw_421_ = true;
    if (!cfg_.features.enhanced_status_codes) {
      for (const smtpkit::reply_line& line : r.lines()) SMTPKIT_FUZZ_CHECK(!line.enhanced);
    }
  }

  /// Answers the pending decision; returns false when the control bytes defer it.
  bool answer(bool allow_defer) {
    if (s_.state() == smtpkit::server_state::closed) {
      // Closed (timeout, shutdown) while the decision was pending: it is void.
      SMTPKIT_FUZZ_CHECK(s_.accept() == smtpkit::errc::invalid_state);
      pending_ = kind::none;
      return true;
    }
    const std::uint8_t b = p_.byte();
    if (allow_defer && (b & 15) == 15) return false;
    bool positive = true;
    bool custom = false;
    smtpkit::reply_spec spec;
    switch ((b >> 1) & 7) {
      case 0:
      case 1:
      case 2:
        break;  // accept()
      case 3:
        positive = false;  // reject with a plain 550
        custom = true;
        spec = {550, std::nullopt, "Rejected", {}};
        break;
      case 4:
      case 5: {
        custom = true;
        static constexpr int codes[] = {250, 251, 252, 220, 235, 354, 299, 200, 334, 399, 400, 199};
        spec.code = codes[p_.byte() % 12];
        make_text(spec);
        break;
      }
      default: {
        custom = true;
        positive = false;
        static constexpr int codes[] = {421, 450, 451, 452, 500, 501, 503, 535,
                                        550, 552, 553, 554, 599, 400, 250, 600};
        spec.code = codes[p_.byte() % 16];
        make_text(spec);
        break;
      }
    }
    if (pending_ == kind::auth && (b & 1)) positive = !positive;  // vary AUTH outcomes more
    if (pending_ == kind::auth && !custom) {
      // A refusal needs a reply; the default one.
      if (!positive) {
        custom = true;
        spec = {535, std::nullopt, "Authentication credentials invalid", {}};
      }
    }
    trace(positive ? (custom ? "accept(reply)" : "accept()") : "reject(reply)");
    std::error_code e = decide(positive, custom, spec);
    if (e == smtpkit::errc::invalid_argument) {
      // A custom reply the session refuses; fall back to the ordinary answer.
      SMTPKIT_FUZZ_CHECK(custom);
      custom = positive ? false : true;
      spec = {550, std::nullopt, "Rejected", {}};
      e = decide(positive, custom, spec);
    }
    if (e == smtpkit::errc::output_full) {
      drain(~std::size_t{0});
      e = decide(positive, custom, spec);
    }
    SMTPKIT_FUZZ_CHECK(!e);
    decided(positive, custom);
    return true;
  }

  std::error_code decide(bool positive, bool custom, const smtpkit::reply_spec& spec) {
    if (!custom) return s_.accept();
    return positive ? s_.accept(spec) : s_.reject(spec);
  }

  void make_text(smtpkit::reply_spec& spec) {
    const std::uint8_t t = p_.byte();
    text_.assign(p_.take(t & 63));
    if ((t & 64) == 0) text_ = into_alphabet(text_);
    spec.text = text_;
    if (t & 128) {
      smtpkit::enhanced_status st;
      st.cls = static_cast<std::uint8_t>(p_.byte() & 1 ? spec.code / 100 : p_.byte() % 6);
      st.subject = static_cast<std::uint16_t>(p_.byte() % 8);
      st.detail = static_cast<std::uint16_t>(p_.byte() % 8);
      spec.enhanced = st;
    }
  }

  /// Updates the model after a decision was taken.
  void decided(bool positive, bool custom) {
    const kind k = pending_;
    pending_ = kind::none;
    switch (k) {
      case kind::connect:
        break;
      case kind::helo:
        break;
      case kind::mail:
        if (positive && (custom || !last_unknown_)) {
          in_txn_ = true;
          rcpts_ = 0;
        }
        break;
      case kind::rcpt:
        if (positive && (custom || !last_unknown_)) ++rcpts_;
        break;
      case kind::data:
        if (positive) {
          in_message_ = true;
          bdat_ = false;
          message_.clear();
        }
        break;
      case kind::message:
        if (--owed_ != 0) {
          pending_ = kind::message;  // LMTP: one answer per recipient
          return;
        }
        SMTPKIT_FUZZ_CHECK(s_.accept() == smtpkit::errc::invalid_state);
        end_transaction();
        break;
      case kind::auth:
        if (positive) authenticated_ = true;
        break;
      case kind::none:
        SMTPKIT_FUZZ_CHECK(false);
        break;
    }
  }

  void end_transaction() {
    in_txn_ = false;
    in_message_ = false;
    bdat_ = false;
    rcpts_ = 0;
    message_.clear();
  }

  void on_event(const smtpkit::server_event& e) {
    namespace ev = smtpkit::server_events;
    static constexpr const char* names[] = {
        "need_data",       "session_started",  "helo_received", "mail_received",
        "rcpt_received",   "data_started",     "data_chunk",    "message_complete",
        "message_refused", "auth_credentials", "start_tls",     "rset_received",
        "quit_received",   "protocol_error",   "closed"};
    std::string detail;
    if (const auto* c = std::get_if<ev::data_chunk>(&e)) detail = std::string(c->bytes);
    if (const auto* pe = std::get_if<ev::protocol_error>(&e))
      detail = std::string(smtpkit::to_string(pe->code)) + " " + std::to_string(pe->reply_code);
    if (const auto* mr = std::get_if<ev::message_refused>(&e))
      detail = smtpkit::to_string(mr->reason);
    trace(names[e.index()], detail);
    const smtpkit::limits& lim = cfg_.limits;
    if (std::holds_alternative<ev::session_started>(e)) {
      SMTPKIT_FUZZ_CHECK(!started_);
      started_ = true;
      pending_ = kind::connect;
    } else if (const auto* h = std::get_if<ev::helo_received>(&e)) {
      SMTPKIT_FUZZ_CHECK(!in_message_ || bdat_);
      SMTPKIT_FUZZ_CHECK((h->kind == smtpkit::verb::lhlo) == cfg_.features.lmtp);
      SMTPKIT_FUZZ_CHECK(!h->domain.empty() && h->domain.text().size() <= lim.domain);
      end_transaction();  // EHLO ends any transaction, accepted or not
      pending_ = kind::helo;
    } else if (const auto* m = std::get_if<ev::mail_received>(&e)) {
      SMTPKIT_FUZZ_CHECK(!in_message_ && !in_txn_);
      if (cfg_.features.auth_required) SMTPKIT_FUZZ_CHECK(authenticated_);
      if (cfg_.features.tls_required) SMTPKIT_FUZZ_CHECK(s_.tls_active());
      const smtpkit::mailbox& box = m->from.address();
      SMTPKIT_FUZZ_CHECK(box.local_part().size() <= lim.local_part &&
                         box.domain().size() <= lim.domain);
      if (m->params.size() && lim.max_message_size != 0)
        SMTPKIT_FUZZ_CHECK(*m->params.size() <= lim.max_message_size);
      last_unknown_ = m->unknown_parameters;
      SMTPKIT_FUZZ_CHECK(last_unknown_ == (m->params.unknown_count() != 0));
      pending_ = kind::mail;
    } else if (const auto* r = std::get_if<ev::rcpt_received>(&e)) {
      SMTPKIT_FUZZ_CHECK(!in_message_ && in_txn_);
      SMTPKIT_FUZZ_CHECK(rcpts_ < lim.max_recipients);
      SMTPKIT_FUZZ_CHECK(!r->to.empty());
      last_unknown_ = r->unknown_parameters;
      pending_ = kind::rcpt;
    } else if (std::holds_alternative<ev::data_started>(e)) {
      SMTPKIT_FUZZ_CHECK(!in_message_ && in_txn_ && rcpts_ >= 1);
      pending_ = kind::data;
    } else if (const auto* c = std::get_if<ev::data_chunk>(&e)) {
      if (!in_message_) {
        // The first chunk of a BDAT message.
        SMTPKIT_FUZZ_CHECK(cfg_.features.chunking && in_txn_ && rcpts_ >= 1);
        SMTPKIT_FUZZ_CHECK(s_.state() == smtpkit::server_state::bdat);
        in_message_ = true;
        bdat_ = true;
        message_.clear();
      }
      SMTPKIT_FUZZ_CHECK(!c->bytes.empty() && c->bytes.size() <= input_capacity_);
      message_.append(c->bytes.data(), c->bytes.size());
      if (lim.max_message_size != 0) SMTPKIT_FUZZ_CHECK(message_.size() <= lim.max_message_size);
    } else if (const auto* mc = std::get_if<ev::message_complete>(&e)) {
      if (!in_message_) {
        // A BDAT message whose every chunk was empty.
        SMTPKIT_FUZZ_CHECK(cfg_.features.chunking && in_txn_ && mc->chunked && mc->size == 0);
        in_message_ = true;
        bdat_ = true;
      }
      SMTPKIT_FUZZ_CHECK(mc->size == message_.size() && mc->chunked == bdat_);
      SMTPKIT_FUZZ_CHECK(mc->recipients == rcpts_ && rcpts_ >= 1 && rcpts_ <= lim.max_recipients);
      if (lim.max_message_size != 0) SMTPKIT_FUZZ_CHECK(mc->size <= lim.max_message_size);
      messages_.push_back(message_);
      owed_ = cfg_.features.lmtp ? mc->recipients : 1;
      pending_ = kind::message;
    } else if (const auto* mr = std::get_if<ev::message_refused>(&e)) {
      const smtpkit::errc why = mr->reason;
      SMTPKIT_FUZZ_CHECK(
          why == smtpkit::errc::message_too_large || why == smtpkit::errc::bare_lf ||
          why == smtpkit::errc::bare_cr || why == smtpkit::errc::text_line_too_long ||
          why == smtpkit::errc::connection_lost || why == smtpkit::errc::timeout ||
          why == smtpkit::errc::session_closed || why == smtpkit::errc::error_budget_exhausted ||
          why == smtpkit::errc::bad_bdat || why == smtpkit::errc::auth_failed);
      if (why == smtpkit::errc::bare_lf)
        SMTPKIT_FUZZ_CHECK(cfg_.leniency.bare_newline == smtpkit::bare_newline_policy::reject);
      end_transaction();
    } else if (const auto* a = std::get_if<ev::auth_credentials>(&e)) {
      SMTPKIT_FUZZ_CHECK(!authenticated_ && !in_txn_ && !in_message_);
      SMTPKIT_FUZZ_CHECK((a->mechanism == "PLAIN" && cfg_.features.auth_plain) ||
                         (a->mechanism == "LOGIN" && cfg_.features.auth_login));
      SMTPKIT_FUZZ_CHECK(a->password.size() <= lim.auth_line && a->authcid.size() <= lim.auth_line);
      credentials_.push_back(std::string(a->mechanism) + ":" + std::string(a->authzid) + ":" +
                             std::string(a->authcid) + ":" + std::string(a->password));
      pending_ = kind::auth;
    } else if (std::holds_alternative<ev::start_tls>(e)) {
      SMTPKIT_FUZZ_CHECK(cfg_.features.starttls && !tls_ && !cfg_.implicit_tls);
      SMTPKIT_FUZZ_CHECK(!in_txn_ && !in_message_);
      SMTPKIT_FUZZ_CHECK(s_.state() == smtpkit::server_state::tls_pending);
      SMTPKIT_FUZZ_CHECK(!s_.wants_read());
    } else if (std::holds_alternative<ev::rset_received>(e)) {
      SMTPKIT_FUZZ_CHECK(!in_message_ || bdat_);
      end_transaction();
    } else if (std::holds_alternative<ev::quit_received>(e)) {
      SMTPKIT_FUZZ_CHECK(s_.state() == smtpkit::server_state::closed && !in_message_);
    } else if (const auto* pe = std::get_if<ev::protocol_error>(&e)) {
      SMTPKIT_FUZZ_CHECK(pe->reply_code >= 400 && pe->reply_code <= 599);
      // A refused BDAT chunk ends the transaction with no other event (RFC 3030 2 leaves the
      // state after a 503 to BDAT indeterminate).
      const smtpkit::server_state st = s_.state();
      if (st == smtpkit::server_state::ready || st == smtpkit::server_state::greeted)
        end_transaction();
    } else if (std::holds_alternative<ev::closed>(e)) {
      SMTPKIT_FUZZ_CHECK(!in_message_);
      SMTPKIT_FUZZ_CHECK(s_.state() == smtpkit::server_state::closed);
      closed_ = true;
      end_transaction();
    }
  }

  /// With SMTPKIT_FUZZ_TRACE set, prints what the driver does (to explain a finding).
  void trace(const char* what, std::string_view detail = {}) const {
    if (!trace_) return;
    std::string d;
    for (char c : detail.substr(0, 300)) {
      const auto u = static_cast<unsigned char>(c);
      if (u >= 0x20 && u < 0x7f && c != '\\') {
        d += c;
      } else {
        char hex[8];
        std::snprintf(hex, sizeof hex, "\\x%02x", u);
        d += hex;
      }
    }
    std::fprintf(stderr, "[state %d] %s %s\n", static_cast<int>(s_.state()), what, d.c_str());
  }

  smtpkit::server_config cfg_;
  smtpkit::server_session s_;
  provider& p_;
  smtpkit::reply_reader replies_;
  bool trace_ = false;
  std::size_t input_capacity_ = 0;
  std::string pending_in_;  // client bytes not yet taken by receive()
  std::string output_;      // output sent but not yet read as whole replies
  std::string text_;        // the text of a custom reply
  std::string message_;     // the content of the message in progress
  std::vector<std::string> messages_;
  std::vector<std::string> credentials_;
  kind pending_ = kind::none;
  std::size_t owed_ = 0;  // answers still owed to message_complete (LMTP: one per recipient)
  std::size_t rcpts_ = 0;
  bool started_ = false;
  bool in_txn_ = false;
  bool in_message_ = false;
  bool bdat_ = false;
  bool last_unknown_ = false;
  bool authenticated_ = false;
  bool tls_ = false;
  bool eof_ = false;
  bool shutdown_ = false;
  bool closed_ = false;
  bool expect_421_ = false;
  bool saw_421_ = false;
};

}  // namespace smtpkit_fuzz
