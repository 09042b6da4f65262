// smtpkit sasl: the step interface of a SASL mechanism, and the choice of the strongest mechanism
// both sides have. RFC 4422 3 (the exchange: an optional initial response, then challenges and
// responses until the server's outcome), RFC 4954 4 (its SMTP profile: AUTH, 334, "*").
//
// Rules:
//  1. A mechanism reads and writes raw octets. Base64 (RFC 4954 4), the AUTH line, the "334"
//     replies and the "*" cancel line are the session's business, not the mechanism's.
//  2. A client mechanism is driven by its session: start() once per exchange (it writes the
//     initial response of a client-first mechanism), then step() once per server challenge.
//     The same object may run another exchange: start() begins afresh.
//  3. step_status is shared with server mechanisms: a server mechanism's step() takes the
//     client's response and writes the next challenge (send), or ends the exchange (done,
//     failed).
//  4. A mechanism refuses, with step_status::failed from start() and before anything is sent,
//     credentials that its encoding cannot carry (a NUL inside a PLAIN field, a token outside
//     the RFC 6750 b64token alphabet, ...).
//  5. Mechanisms do not allocate and do not copy credentials: they hold views that the
//     application keeps alive until the exchange ends. They never write credentials anywhere
//     but the byte_writer they are given.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>                  // size_t
#include <initializer_list>         // initializer_list
#include <smtpkit/codec/ehlo.hpp>   // ehlo_capabilities
#include <smtpkit/core/buffer.hpp>  // byte_writer
#include <smtpkit/core/bytes.hpp>   // ascii::iequals
#include <smtpkit/core/config.hpp>
#include <string_view>  // string_view

SMTPKIT_NAMESPACE_BEGIN

namespace sasl {

/// What a mechanism's start() or step() did.
enum class step_status : unsigned char {
  send = 0,    ///< a message was written for the peer (it may be empty): send it
  wait = 1,    ///< nothing to send now: wait for the peer (a server-first mechanism's start)
  done = 2,    ///< the exchange is complete on this side (a server mechanism: authenticated)
  failed = 3,  ///< the exchange cannot go on (client: cancel with "*"; server: refuse it)
};

/// The client side of a SASL mechanism (RFC 4422 3).
///
/// @warning Implementations hold views of the credentials they were given: those must outlive
///          every exchange the mechanism takes part in.
class client_mechanism {
 public:
  virtual ~client_mechanism() = default;

  /// Returns the mechanism's registered name ("PLAIN"): an RFC 4422 3.1 sasl-mech.
  virtual std::string_view name() const noexcept = 0;

  /// Starts an exchange.
  /// @param out receives the initial response of a client-first mechanism, raw (not base64).
  /// @return step_status::send (an initial response was written), step_status::wait (the
  ///         mechanism speaks second), or step_status::failed (the credentials cannot be
  ///         encoded, or @p out is too small; nothing must be sent).
  virtual step_status start(byte_writer& out) noexcept = 0;

  /// Answers a server challenge.
  /// @param challenge the challenge, decoded from base64.
  /// @param out receives the response, raw.
  /// @return step_status::send (respond with what was written, possibly nothing) or
  ///         step_status::failed (cancel the exchange).
  virtual step_status step(std::string_view challenge, byte_writer& out) noexcept = 0;

 protected:
  client_mechanism() = default;
  client_mechanism(const client_mechanism&) = default;
  client_mechanism& operator=(const client_mechanism&) = default;
};

/// Returns how strong smtpkit rates the mechanism named @p name (any case), higher is
/// stronger: SCRAM-SHA-256 6, CRAM-MD5 5, OAUTHBEARER 4, XOAUTH2 3, PLAIN 2, LOGIN 1, any other
/// name 0. Token mechanisms rank above passwords (a bearer token is scoped and revocable);
/// PLAIN ranks above LOGIN (one round trip, and a defined encoding of the identities).
constexpr int strength(std::string_view name) noexcept {
  constexpr std::string_view order[] = {"LOGIN",       "PLAIN",    "XOAUTH2",
                                        "OAUTHBEARER", "CRAM-MD5", "SCRAM-SHA-256"};
  for (int i = 0; i < 6; ++i)
    if (ascii::iequals(name, order[i])) return i + 1;
  return 0;
}

/// Chooses, among @p candidates, the strongest mechanism that the server lists in @p caps
/// (its AUTH or AUTH= line). Ties go to the candidate given first; null pointers are skipped.
/// @return the mechanism, or nullptr when the server offers none of them.
inline client_mechanism* choose(const ehlo_capabilities& caps, client_mechanism* const* candidates,
                                std::size_t count) noexcept {
  client_mechanism* best = nullptr;
  int best_strength = -1;
  for (std::size_t i = 0; i < count; ++i) {
    client_mechanism* m = candidates[i];
    if (m == nullptr || !caps.has_mechanism(m->name())) continue;
    const int s = strength(m->name());
    if (s > best_strength) {
      best = m;
      best_strength = s;
    }
  }
  return best;
}

/// Chooses among a list of candidates; see choose(const ehlo_capabilities&,
/// client_mechanism* const*, std::size_t).
inline client_mechanism* choose(const ehlo_capabilities& caps,
                                std::initializer_list<client_mechanism*> candidates) noexcept {
  return choose(caps, candidates.begin(), candidates.size());
}

namespace detail {

/// Appends every piece; returns false (the caller fails the step) when one does not fit.
inline bool append_all(byte_writer& out, std::initializer_list<std::string_view> parts) noexcept {
  const std::size_t mark = out.mark();
  for (std::string_view p : parts) {
    if (!out.append(p)) {
      out.rollback(mark);
      return false;
    }
  }
  return true;
}

/// Returns true when @p s holds the octet @p c.
constexpr bool contains(std::string_view s, char c) noexcept {
  for (char x : s)
    if (x == c) return true;
  return false;
}

/// RFC 6750 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
constexpr bool is_b64token(std::string_view s) noexcept {
  std::size_t i = 0;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (!(ascii::is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' ||
          c == '/'))
      break;
  }
  if (i == 0) return false;
  for (; i < s.size(); ++i)
    if (s[i] != '=') return false;
  return true;
}

}  // namespace detail

}  // namespace sasl

SMTPKIT_NAMESPACE_END
