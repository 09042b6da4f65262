// smtpkit tests: replays transcript scenarios (transcript.hpp) against a server_session, with
// the client's bytes whole, split at every point, and byte by byte.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>  // size_t
#include <cstdlib>  // strtoul
#include <smtpkit/server.hpp>
#include <sstream>      // stringstream
#include <string>       // string
#include <type_traits>  // decay_t, is_same_v
#include <variant>      // holds_alternative, visit
#include <vector>       // vector

#include "transcript.hpp"

namespace smtpkit_test {

/// What one replay produced.
struct server_run {
  std::string output;                 ///< every byte the server sent
  std::vector<std::string> events;    ///< event names (with a detail), data chunks left out
  std::vector<std::string> messages;  ///< contents of messages that completed
  std::string failure;                ///< non-empty when the driver saw the session misbehave
};

/// Builds the server configuration that a scenario's "!" settings ask for.
inline smtpkit::server_config server_config_for(const transcript& t) {
  smtpkit::server_config c;
  c.hostname = "mx.example.org";
  auto num = [&](const char* key, std::size_t def) {
    const std::string v = t.setting(key);
    return v.empty() ? def : static_cast<std::size_t>(std::strtoull(v.c_str(), nullptr, 10));
  };
  auto& f = c.features;
  f.lmtp = !t.setting("lmtp").empty();
  f.chunking = !t.setting("chunking").empty();
  f.binarymime = !t.setting("binarymime").empty();
  f.smtputf8 = !t.setting("smtputf8").empty();
  f.dsn = !t.setting("dsn").empty();
  f.starttls = !t.setting("starttls").empty();
  f.tls_required = !t.setting("tls_required").empty();
  f.auth_required = !t.setting("auth_required").empty();
  f.auth_before_tls = !t.setting("auth_before_tls").empty();
  f.auth_plain = f.auth_login = !t.setting("auth").empty();
  f.pipelining = t.setting("pipelining", "1") == "1";
  f.enhanced_status_codes = t.setting("enhanced", "1") == "1";
  f.vrfy = t.setting("vrfy", "1") == "1";
  c.limits.max_recipients = num("max_recipients", c.limits.max_recipients);
  c.limits.max_message_size = num("max_size", static_cast<std::size_t>(c.limits.max_message_size));
  c.limits.text_line = num("text_line", c.limits.text_line);
  c.limits.max_errors = num("max_errors", c.limits.max_errors);
  c.limits.max_auth_failures = num("max_auth_failures", c.limits.max_auth_failures);
  if (t.setting("bare_lf") == "normalize")
    c.leniency.bare_newline = smtpkit::bare_newline_policy::normalize;
  c.implicit_tls = !t.setting("implicit_tls").empty();
  return c;
}

namespace detail {

/// Turns "reject 550 5.1.1 No such user" into a reply; code and text only when given.
inline bool parse_answer(const std::string& a, bool& positive, smtpkit::reply_spec& r,
                         std::string& text_store) {
  std::stringstream in(a);
  std::string word;
  in >> word;
  positive = word == "accept";
  int code = 0;
  if (!(in >> code)) return false;  // default reply
  r.code = code;
  std::string rest;
  std::getline(in, rest);
  if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
  const auto sp = rest.find(' ');
  const auto st = smtpkit::parse_enhanced_status(rest.substr(0, sp));
  if (st) {
    r.enhanced = *st;
    rest = sp == std::string::npos ? "" : rest.substr(sp + 1);
  }
  text_store = rest;
  r.text = text_store;
  return true;
}

}  // namespace detail

/// Drives one session through a scenario with the client's bytes cut as @p chunks says (one
/// list of chunks per segment between driver steps).
inline server_run run_server(const transcript& t,
                             const std::vector<std::vector<std::string_view>>& chunks) {
  namespace ev = smtpkit::server_events;
  server_run run;
  const smtpkit::server_config cfg = server_config_for(t);
  smtpkit::server_session s(cfg);
  // "A: PREFIX = ANSWER": the first event whose log line starts with PREFIX gets ANSWER.
  struct rule {
    std::string prefix, answer;
    bool used = false;
  };
  std::vector<rule> rules;
  for (const auto& a : t.app_answers()) {
    const auto eq = a.find(" = ");
    if (eq == std::string::npos) {
      run.failure += "A: line without ' = ': " + a + "; ";
      continue;
    }
    rules.push_back({a.substr(0, eq), a.substr(eq + 3)});
  }
  auto find_answer = [&](const std::string& logged, std::string& out) {
    for (auto& r : rules) {
      if (!r.used && logged.rfind(r.prefix, 0) == 0) {
        r.used = true;
        out = r.answer;
        return true;
      }
    }
    return false;
  };
  std::string body;
  bool closed = false;

  auto answer = [&](bool default_positive) {
    bool positive = default_positive;
    smtpkit::reply_spec r;
    std::string text, rule_answer;
    bool custom = false;
    if (find_answer(run.events.back(), rule_answer))
      custom = detail::parse_answer(rule_answer, positive, r, text);
    std::error_code e;
    if (custom)
      e = positive ? s.accept(r) : s.reject(r);
    else if (positive)
      e = s.accept();
    else
      e = s.reject(
          {535, smtpkit::enhanced_status{5, 7, 8}, "Authentication credentials invalid", {}});
    if (e) run.failure += "decision refused: " + e.message() + "; ";
  };

  auto drain = [&]() {
    for (int guard = 0; guard < 100000; ++guard) {
      auto e = s.next_event();
      if (std::holds_alternative<ev::need_data>(e)) {
        if (s.wants_write()) {
          run.output += std::string(s.pending_output());
          s.consume_output(s.pending_output().size());
          continue;
        }
        return;
      }
      std::visit(
          [&](auto&& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, ev::session_started>) {
              run.events.push_back("session_started");
              answer(true);
            } else if constexpr (std::is_same_v<T, ev::helo_received>) {
              run.events.push_back("helo_received " + std::string(x.domain.text()));
              answer(true);
            } else if constexpr (std::is_same_v<T, ev::mail_received>) {
              run.events.push_back("mail_received <" + std::string(x.from.address().local_part()) +
                                   (x.from.is_null() ? "" : "@") +
                                   std::string(x.from.address().domain()) + ">");
              answer(true);
            } else if constexpr (std::is_same_v<T, ev::rcpt_received>) {
              run.events.push_back(
                  "rcpt_received <" + std::string(x.to.address().local_part()) +
                  (x.to.is_postmaster() && x.to.address().domain().empty() ? "" : "@") +
                  std::string(x.to.address().domain()) + ">");
              answer(true);
            } else if constexpr (std::is_same_v<T, ev::data_started>) {
              run.events.push_back("data_started");
              body.clear();
              answer(true);
            } else if constexpr (std::is_same_v<T, ev::data_chunk>) {
              body += std::string(x.bytes);
            } else if constexpr (std::is_same_v<T, ev::message_complete>) {
              run.events.push_back("message_complete " + std::to_string(x.size));
              if (x.size != body.size()) run.failure += "message size mismatch; ";
              run.messages.push_back(body);
              body.clear();
              const std::size_t n = cfg.features.lmtp ? x.recipients : 1;
              for (std::size_t i = 0; i < n; ++i) answer(true);
            } else if constexpr (std::is_same_v<T, ev::message_refused>) {
              run.events.push_back(std::string("message_refused ") + smtpkit::to_string(x.reason));
              body.clear();
            } else if constexpr (std::is_same_v<T, ev::auth_credentials>) {
              run.events.push_back("auth_credentials " + std::string(x.mechanism) + " " +
                                   std::string(x.authcid));
              answer(x.authcid == "user" && x.password == "secret");
            } else if constexpr (std::is_same_v<T, ev::start_tls>) {
              run.events.push_back("start_tls");
            } else if constexpr (std::is_same_v<T, ev::rset_received>) {
              run.events.push_back("rset_received");
            } else if constexpr (std::is_same_v<T, ev::quit_received>) {
              run.events.push_back("quit_received");
            } else if constexpr (std::is_same_v<T, ev::protocol_error>) {
              run.events.push_back(std::string("protocol_error ") + smtpkit::to_string(x.code));
            } else if constexpr (std::is_same_v<T, ev::closed>) {
              run.events.push_back("closed");
              closed = true;
            }
          },
          e);
      if (closed) {
        run.output += std::string(s.pending_output());
        s.consume_output(s.pending_output().size());
        return;
      }
    }
    run.failure += "event loop did not settle; ";
  };

  const auto steps = t.driver_steps();
  for (std::size_t seg = 0; seg < chunks.size() && !closed; ++seg) {
    for (std::string_view c : chunks[seg]) {
      int stuck = 0;
      while (!c.empty() && !closed) {
        drain();
        if (closed) break;
        const std::size_t n = s.receive(c);
        c.remove_prefix(n);
        if (n == 0 && ++stuck > 3) {
          run.failure += "session took no input; ";
          break;
        }
      }
    }
    drain();
    if (seg < steps.size() && !closed) {
      const std::string& d = steps[seg];
      if (d == "tls") {
        if (s.tls_started()) run.failure += "tls_started refused; ";
      } else if (d == "eof") {
        s.receive_eof();
      } else if (d == "timeout") {
        s.timeout();
      } else if (d == "shutdown") {
        s.shutdown();
      } else if (d == "shutdown-now") {
        s.shutdown(true);
      }
      drain();
    }
  }
  return run;
}

/// Returns true when @p want appears in @p got in order (other events may come between).
inline bool has_subsequence(const std::vector<std::string>& got,
                            const std::vector<std::string>& want) {
  std::size_t i = 0;
  for (const auto& g : got)
    if (i < want.size() && g == want[i]) ++i;
  return i == want.size();
}

}  // namespace smtpkit_test
