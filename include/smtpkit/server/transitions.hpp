// smtpkit server: the command-order rules of RFC 5321 4.1.4, RFC 3030, RFC 3207 and RFC 4954,
// in one table. The server session consults it before it acts on any command.
//
// Rules:
//  1. A state is where the session stands between commands; a command either is allowed in
//     the current state or gets the 503 (or 530) reply the table names, and changes nothing.
//  2. EHLO, HELO and LHLO are allowed in every command state and end any transaction; RSET,
//     NOOP, HELP, VRFY, EXPN and QUIT are allowed in every command state.
//  3. MAIL needs a greeting and no transaction; RCPT needs MAIL; DATA needs an accepted RCPT and
//     no BDAT chunk before it; BDAT needs an accepted RCPT (a refused BDAT's chunk is still read).
//  4. STARTTLS and AUTH are allowed only outside a transaction.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>  // uint16_t
#include <smtpkit/codec/command.hpp>
#include <smtpkit/core/config.hpp>
#include <string_view>  // string_view

SMTPKIT_NAMESPACE_BEGIN

/// Where a server session stands.
enum class server_state : unsigned char {
  connected = 0,    ///< waiting for the application to accept the connection
  greeted = 1,      ///< 220 sent; no EHLO/HELO yet (again so after STARTTLS)
  ready = 2,        ///< greeted by the client; no transaction
  mail = 3,         ///< MAIL accepted; no recipient yet
  rcpt = 4,         ///< at least one recipient accepted
  data = 5,         ///< reading DATA content
  bdat = 6,         ///< reading a BDAT chunk
  bdat_open = 7,    ///< between BDAT chunks of one message
  auth = 8,         ///< in a SASL exchange, waiting for a response line
  tls_pending = 9,  ///< 220 to STARTTLS sent; waiting for tls_started()
  refused = 10,     ///< the connection was refused with 554: only QUIT is answered with 221
  closed = 11,      ///< over
};

namespace detail {

constexpr std::uint16_t state_bit(server_state s) noexcept {
  return static_cast<std::uint16_t>(1u << static_cast<unsigned>(s));
}

/// The states in which commands are read.
constexpr std::uint16_t command_states =
    state_bit(server_state::greeted) | state_bit(server_state::ready) |
    state_bit(server_state::mail) | state_bit(server_state::rcpt) |
    state_bit(server_state::bdat_open) | state_bit(server_state::refused);

/// One row of the table: the states where a verb is allowed and the reply text otherwise.
struct transition_rule {
  std::uint16_t allowed;
  std::string_view refusal;  ///< text of the 503 5.5.1 reply
};

constexpr transition_rule rule_for(verb v) noexcept {
  using s = server_state;
  constexpr std::uint16_t any = command_states & ~state_bit(s::refused);
  constexpr std::uint16_t outside = state_bit(s::greeted) | state_bit(s::ready);
  switch (v) {
    case verb::helo:
    case verb::ehlo:
    case verb::lhlo:
      return {any, "Error: send QUIT"};
    case verb::mail:
      return {state_bit(s::ready), "Error: nested MAIL command"};
    case verb::rcpt:
      return {state_bit(s::mail) | state_bit(s::rcpt), "Error: need MAIL command"};
    case verb::data:
      return {state_bit(s::rcpt), "Error: need RCPT command"};
    case verb::bdat:
      return {state_bit(s::rcpt) | state_bit(s::bdat_open), "Error: need RCPT command"};
    case verb::rset:
    case verb::noop:
    case verb::help:
    case verb::vrfy:
    case verb::expn:
      return {any, "Error: send QUIT"};
    case verb::quit:
      return {command_states, ""};
    case verb::starttls:
      return {outside, "Error: MAIL transaction in progress"};
    case verb::auth:
      return {state_bit(s::ready), "Error: MAIL transaction in progress"};
  }
  return {0, "Error: bad sequence of commands"};
}

}  // namespace detail

/// Returns true when @p v may be taken in state @p s (RFC 5321 4.1.4 and the extensions).
constexpr bool command_allowed(verb v, server_state s) noexcept {
  return (detail::rule_for(v).allowed & detail::state_bit(s)) != 0;
}

/// Returns the text of the 503 reply for @p v in state @p s.
constexpr std::string_view sequence_refusal(verb v, server_state s) noexcept {
  if (s == server_state::refused) return "Error: send QUIT";
  if (s == server_state::greeted && v != verb::starttls) return "Error: send HELO/EHLO first";
  if ((v == verb::data || v == verb::bdat) && s == server_state::ready)
    return "Error: need MAIL command";
  if (v == verb::data && s == server_state::mail) return "Error: no valid recipients";
  if (v == verb::data && s == server_state::bdat_open) return "Error: DATA after BDAT";
  return detail::rule_for(v).refusal;
}

SMTPKIT_NAMESPACE_END
