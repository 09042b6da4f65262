// smtpkit tests: replays client transcripts (transcript.hpp) against a client_session, with the
// server's bytes whole, split at every point, and byte by byte.
//
// In a client transcript S: lines are the input and C: lines the expected output. The server's
// bytes are cut into segments at every D: (application action) and T: (driver) line; after a
// segment has been received and its events handled, the actions and driver steps that follow it
// run in order.
//
// Settings ("!" lines): tls=never|opportunistic|require, implicit_tls, lmtp, plaintext_auth,
// pipelining=0, allow_8bit, helo=NAME, max_recipients=N, command_line=N, reply_line=N,
// auth_line=N, max_reply_lines=N.
//
// Actions (D: lines), each optionally followed by "-> errc_name" (the error it must return):
//   mail_from <path> [params]     rcpt_to <path> [params]     (as on the wire, escapes as C>)
//   data   end_body   rset   noop   quit
//   body TEXT                     send_body() of TEXT (escapes as C>), all of it
//   bdat TEXT / bdat_last TEXT    one BDAT chunk of TEXT (escapes as C>)
//   auth plain USER PASS [AUTHZID] | auth login USER PASS | auth xoauth2 USER TOKEN
//   auth oauthbearer USER TOKEN [HOST PORT]     the named mechanism, exactly
//   auth any USER PASS            the strongest of PLAIN and LOGIN the server offers
//   auth any_token USER TOKEN     the strongest of XOAUTH2 and OAUTHBEARER
//   timeout_is KIND MS            current_timeout() must be {KIND, MS} (KIND: none, greeting,
//                                 reply, data_init, data_block, data_term)
//   state_is STATE                state() must be STATE (greeting, opening, tls_pending, ready,
//                                 closing, closed)
//
// Event log lines (for E: lines):
//   reply CMD CODE                            (every reply; CMD from to_string(client_command))
//   ready esmtp|helo [tls]                    start_tls   body_ready
//   auth_done ok|failed MECH CODE [error=E] [message=TEXT]
//   recipient N accepted|refused CODE         delivery N delivered|failed CODE
//   transaction_done accepted recipients=N | transaction_done failed stage=S [error=E]
//   protocol_error E                          closed [E]
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>  // size_t
#include <cstdlib>  // strtoull
#include <memory>   // unique_ptr
#include <smtpkit/client.hpp>
#include <sstream>      // stringstream
#include <string>       // string
#include <type_traits>  // decay_t, is_same_v
#include <variant>      // holds_alternative, visit
#include <vector>       // vector

#include "transcript.hpp"

namespace smtpkit_test {

/// What one replay produced.
struct client_run {
  std::string output;               ///< every byte the client sent
  std::vector<std::string> events;  ///< event log lines
  std::string failure;              ///< non-empty when an action or the driver misbehaved
};

/// The server's bytes of a scenario, cut at D: and T: lines, with the steps after each cut.
struct client_plan {
  std::vector<std::string> segments;                ///< server bytes between stops
  std::vector<std::vector<transcript_step>> stops;  ///< the D:/T: steps after each segment
};

/// Cuts a scenario's server bytes at its D: and T: lines.
inline client_plan make_client_plan(const transcript& t) {
  client_plan p;
  p.segments.emplace_back();
  p.stops.emplace_back();
  for (const auto& s : t.steps) {
    using k = transcript_step::kind;
    if (s.what == k::server) {
      if (!p.stops.back().empty()) {
        p.segments.emplace_back();
        p.stops.emplace_back();
      }
      p.segments.back() += s.text;
    } else if (s.what == k::action || s.what == k::driver) {
      p.stops.back().push_back(s);
    }
  }
  return p;
}

/// Builds the client configuration that a scenario's "!" settings ask for.
inline smtpkit::client_config client_config_for(const transcript& t) {
  smtpkit::client_config c;
  c.helo_name = "client.example";
  auto num = [&](const char* key, std::size_t def) {
    const std::string v = t.setting(key);
    return v.empty() ? def : static_cast<std::size_t>(std::strtoull(v.c_str(), nullptr, 10));
  };
  const std::string tls = t.setting("tls", "opportunistic");
  c.tls = tls == "never"     ? smtpkit::tls_policy::never
          : tls == "require" ? smtpkit::tls_policy::require
                             : smtpkit::tls_policy::opportunistic;
  c.implicit_tls = !t.setting("implicit_tls").empty();
  c.lmtp = !t.setting("lmtp").empty();
  c.allow_plaintext_auth = !t.setting("plaintext_auth").empty();
  c.pipelining = t.setting("pipelining", "1") == "1";
  c.leniency.allow_8bit_without_8bitmime = !t.setting("allow_8bit").empty();
  c.limits.max_recipients = num("max_recipients", c.limits.max_recipients);
  c.limits.command_line = num("command_line", c.limits.command_line);
  c.limits.reply_line = num("reply_line", c.limits.reply_line);
  c.limits.auth_line = num("auth_line", c.limits.auth_line);
  c.max_reply_lines = num("max_reply_lines", c.max_reply_lines);
  return c;
}

namespace detail {

inline std::string code_of(const smtpkit::reply& r) {
  return std::to_string(r.code());
}

inline std::string state_name(smtpkit::client_state s) {
  switch (s) {
    case smtpkit::client_state::greeting:
      return "greeting";
    case smtpkit::client_state::opening:
      return "opening";
    case smtpkit::client_state::tls_pending:
      return "tls_pending";
    case smtpkit::client_state::ready:
      return "ready";
    case smtpkit::client_state::closing:
      return "closing";
    case smtpkit::client_state::closed:
      return "closed";
  }
  return "?";
}

inline std::string timeout_name(smtpkit::timeout_kind k) {
  switch (k) {
    case smtpkit::timeout_kind::none:
      return "none";
    case smtpkit::timeout_kind::greeting:
      return "greeting";
    case smtpkit::timeout_kind::reply:
      return "reply";
    case smtpkit::timeout_kind::data_init:
      return "data_init";
    case smtpkit::timeout_kind::data_block:
      return "data_block";
    case smtpkit::timeout_kind::data_term:
      return "data_term";
    case smtpkit::timeout_kind::auth:
      return "auth";
    case smtpkit::timeout_kind::next_command:
      return "next_command";
  }
  return "?";
}

/// Returns the log line of an event (see the header comment).
inline std::string log_line(const smtpkit::client_event& e) {
  namespace ev = smtpkit::client_events;
  return std::visit(
      [](auto&& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, ev::need_data>) {
          return "need_data";
        } else if constexpr (std::is_same_v<T, ev::reply_received>) {
          return "reply " + std::string(smtpkit::to_string(x.command)) + " " + code_of(x.response);
        } else if constexpr (std::is_same_v<T, ev::ready>) {
          return std::string("ready ") + (x.esmtp ? "esmtp" : "helo") + (x.tls ? " tls" : "");
        } else if constexpr (std::is_same_v<T, ev::start_tls>) {
          return "start_tls";
        } else if constexpr (std::is_same_v<T, ev::auth_done>) {
          std::string s = std::string("auth_done ") + (x.success ? "ok " : "failed ") +
                          std::string(x.mechanism) + " " + code_of(x.response);
          if (x.error != smtpkit::errc{}) s += std::string(" error=") + smtpkit::to_string(x.error);
          if (!x.server_message.empty()) s += " message=" + std::string(x.server_message);
          return s;
        } else if constexpr (std::is_same_v<T, ev::recipient_result>) {
          return "recipient " + std::to_string(x.index) +
                 (x.accepted ? " accepted " : " refused ") + code_of(x.response);
        } else if constexpr (std::is_same_v<T, ev::body_ready>) {
          return "body_ready";
        } else if constexpr (std::is_same_v<T, ev::delivery_result>) {
          return "delivery " + std::to_string(x.index) +
                 (x.delivered ? " delivered " : " failed ") + code_of(x.response);
        } else if constexpr (std::is_same_v<T, ev::transaction_done>) {
          if (x.accepted)
            return "transaction_done accepted recipients=" + std::to_string(x.recipients);
          std::string s =
              "transaction_done failed stage=" + std::string(smtpkit::to_string(x.stage));
          if (x.error != smtpkit::errc{}) s += std::string(" error=") + smtpkit::to_string(x.error);
          return s;
        } else if constexpr (std::is_same_v<T, ev::protocol_error>) {
          return std::string("protocol_error ") + smtpkit::to_string(x.code);
        } else if constexpr (std::is_same_v<T, ev::closed>) {
          return x.reason == smtpkit::errc{}
                     ? std::string("closed")
                     : std::string("closed ") + smtpkit::to_string(x.reason);
        } else {
          return "?";
        }
      },
      e);
}

/// Splits "words... -> errc" into the words and the expected error name ("" for success).
inline std::vector<std::string> split_action(const std::string& a, std::string& expect) {
  std::string body = a;
  const auto arrow = a.find(" -> ");
  if (arrow != std::string::npos) {
    expect = a.substr(arrow + 4);
    body = a.substr(0, arrow);
  }
  std::vector<std::string> words;
  std::stringstream in(body);
  std::string w;
  while (in >> w) words.push_back(w);
  return words;
}

}  // namespace detail

/// Drives one session through a scenario, the server's bytes cut as @p chunks says (one list of
/// chunks per segment of make_client_plan()).
inline client_run run_client(const transcript& t, const client_plan& plan,
                             const std::vector<std::vector<std::string_view>>& chunks) {
  namespace ev = smtpkit::client_events;
  client_run run;
  const smtpkit::client_config cfg = client_config_for(t);
  smtpkit::client_session s(cfg);
  // Everything an action hands the session must outlive it (mechanisms, their credentials).
  std::vector<std::unique_ptr<std::string>> keep;
  std::vector<std::unique_ptr<smtpkit::sasl::client_mechanism>> mechs;
  auto store = [&keep](std::string v) -> std::string_view {
    keep.push_back(std::make_unique<std::string>(std::move(v)));
    return *keep.back();
  };
  bool closed = false;

  auto flush = [&]() {
    run.output += std::string(s.pending_output());
    s.consume_output(s.pending_output().size());
  };
  auto drain = [&]() {
    for (int guard = 0; guard < 100000; ++guard) {
      const smtpkit::client_event e = s.next_event();
      if (std::holds_alternative<ev::need_data>(e)) {
        if (s.wants_write()) {
          flush();
          continue;
        }
        return;
      }
      run.events.push_back(detail::log_line(e));
      if (std::holds_alternative<ev::closed>(e)) {
        if (closed) {
          run.events.pop_back();  // the sticky repeat is logged once
        }
        closed = true;
        flush();
        return;
      }
    }
    run.failure += "event loop did not settle; ";
  };

  auto act = [&](const std::string& a) {
    std::string expect;
    const std::vector<std::string> w = detail::split_action(a, expect);
    if (w.empty()) return;
    std::error_code err;
    const std::string& v = w[0];
    auto rest_after = [&](std::size_t skip_words) {
      // the raw text after the first skip_words words (for bodies with spaces)
      std::size_t pos = 0;
      std::string body = a.substr(0, a.find(" -> "));
      for (std::size_t i = 0; i < skip_words; ++i) {
        pos = body.find(' ', pos);
        if (pos == std::string::npos) return std::string();
        ++pos;
      }
      return body.substr(pos);
    };
    if (v == "mail_from" || v == "rcpt_to") {
      const std::string_view path = store(smtpkit_test::detail::unescape(w.size() > 1 ? w[1] : ""));
      std::string params_text;
      for (std::size_t i = 2; i < w.size(); ++i)
        params_text += (i > 2 ? " " : "") + smtpkit_test::detail::unescape(w[i]);
      const std::string_view params = store(params_text);
      if (v == "mail_from") {
        const auto p = smtpkit::parse_reverse_path(path);
        const auto m = smtpkit::parse_mail_parameters(params);
        if (!p || !m) {
          run.failure += "bad mail_from arguments: " + a + "; ";
          return;
        }
        err = s.mail_from(*p, *m);
      } else {
        const auto p = smtpkit::parse_forward_path(path);
        const auto r = smtpkit::parse_rcpt_parameters(params);
        if (!p || !r) {
          run.failure += "bad rcpt_to arguments: " + a + "; ";
          return;
        }
        err = s.rcpt_to(*p, *r);
      }
    } else if (v == "data") {
      err = s.data();
    } else if (v == "end_body") {
      err = s.end_body();
    } else if (v == "rset") {
      err = s.rset();
    } else if (v == "noop") {
      err = s.noop();
    } else if (v == "quit") {
      err = s.quit();
    } else if (v == "body") {
      const std::string text = smtpkit_test::detail::unescape(rest_after(1));
      std::string_view rest(text);
      for (int stuck = 0; !rest.empty();) {
        const std::size_t n = s.send_body(rest);
        rest.remove_prefix(n);
        if (n == 0) {
          if (!s.wants_write() || ++stuck > 3) {
            err = smtpkit::errc::invalid_state;
            break;
          }
          flush();
        }
      }
    } else if (v == "bdat" || v == "bdat_last") {
      const std::string text = smtpkit_test::detail::unescape(rest_after(1));
      err = s.bdat(store(text), v == "bdat_last");
    } else if (v == "auth" && w.size() >= 4) {
      using namespace smtpkit::sasl;
      const std::string_view user = store(w[2]);
      const std::string_view secret = store(w[3]);
      if (w[1] == "plain") {
        const std::string_view authzid = store(w.size() > 4 ? w[4] : "");
        mechs.push_back(std::make_unique<plain_client>(user, secret, authzid));
        err = s.auth(*mechs.back());
      } else if (w[1] == "login") {
        mechs.push_back(std::make_unique<login_client>(user, secret));
        err = s.auth(*mechs.back());
      } else if (w[1] == "xoauth2") {
        mechs.push_back(std::make_unique<xoauth2_client>(user, secret));
        err = s.auth(*mechs.back());
      } else if (w[1] == "oauthbearer") {
        const std::string_view host = store(w.size() > 4 ? w[4] : "");
        const auto port = static_cast<std::uint16_t>(w.size() > 5 ? std::stoul(w[5]) : 0);
        mechs.push_back(std::make_unique<oauthbearer_client>(user, secret, host, port));
        err = s.auth(*mechs.back());
      } else if (w[1] == "any") {
        mechs.push_back(std::make_unique<login_client>(user, secret));
        mechs.push_back(std::make_unique<plain_client>(user, secret));
        err = s.auth({mechs[mechs.size() - 2].get(), mechs.back().get()});
      } else if (w[1] == "any_token") {
        mechs.push_back(std::make_unique<xoauth2_client>(user, secret));
        mechs.push_back(std::make_unique<oauthbearer_client>(user, secret));
        err = s.auth({mechs[mechs.size() - 2].get(), mechs.back().get()});
      } else {
        run.failure += "unknown mechanism: " + a + "; ";
        return;
      }
    } else if (v == "timeout_is" && w.size() == 3) {
      const smtpkit::deadline d = s.current_timeout();
      const std::string got = detail::timeout_name(d.kind) + " " + std::to_string(d.milliseconds);
      if (got != w[1] + " " + w[2]) run.failure += "timeout is " + got + ", not " + a + "; ";
      return;
    } else if (v == "state_is" && w.size() == 2) {
      if (detail::state_name(s.state()) != w[1])
        run.failure += "state is " + detail::state_name(s.state()) + ", not " + w[1] + "; ";
      return;
    } else {
      run.failure += "unknown action: " + a + "; ";
      return;
    }
    const std::string got = err ? smtpkit::to_string(static_cast<smtpkit::errc>(err.value())) : "";
    if (got != expect)
      run.failure += "D: " + a + " returned " + (got.empty() ? "success" : got) + "; ";
  };

  drain();
  for (std::size_t seg = 0; seg < plan.segments.size(); ++seg) {
    if (seg < chunks.size()) {
      for (std::string_view c : chunks[seg]) {
        int stuck = 0;
        while (!c.empty()) {
          drain();
          const std::size_t n = s.receive(c);
          c.remove_prefix(n);
          if (n == 0 && ++stuck > 3) {
            run.failure += "session took no input; ";
            break;
          }
        }
      }
    }
    drain();
    for (const auto& step : plan.stops[seg]) {
      if (step.what == transcript_step::kind::action) {
        act(step.text);
      } else if (step.text == "tls") {
        if (s.tls_started()) run.failure += "tls_started refused; ";
      } else if (step.text == "eof") {
        s.receive_eof();
      } else if (step.text == "timeout") {
        s.timeout();
      } else {
        run.failure += "unknown driver step: " + step.text + "; ";
      }
      drain();
    }
  }
  flush();
  return run;
}

/// Returns the client bytes a scenario expects (its C: and C> lines).
inline std::string expected_client_bytes(const transcript& t) {
  std::string out;
  for (const auto& s : t.steps)
    if (s.what == transcript_step::kind::client) out += s.text;
  return out;
}

}  // namespace smtpkit_test
