// smtpkit tests: conversations as data. A transcript file (tests/transcripts/*.smtp) holds
// scenarios written as C:/S: lines, readable as a spec (llhttp's Markdown tests, h11's tr()).
//
// Format, one directive per line:
//   # text                  a comment
//   === name                starts a scenario
//   ! key=value ...         configuration for the scenario (read by the session's runner)
//   C: text                 the client sends text + CRLF
//   C> text                 the client sends text with escapes (\r \n \t \\ \xNN), nothing added
//   S: text                 the server is expected to send text + CRLF
//   S> text                 the server is expected to send text with escapes, nothing added
//   A: EVENT = ANSWER       the application's answer to the first decision event whose log line
//                           (as in E: lines) starts with EVENT; ANSWER is accept, accept CODE
//                           [X.Y.Z] TEXT or reject CODE [X.Y.Z] TEXT. Other decisions get the
//                           default positive reply (AUTH: only user "user", password "secret")
//   E: name                 an event the session is expected to emit, in order (others may come
//                           between; see the runner)
//   M> text                 the application is expected to receive this message content (escapes
//                           as C>), for the next message_complete
//   T: tls | eof | timeout | shutdown | shutdown-now
//                           the driver finishes a TLS handshake, sees end of input, or sees its
//                           timer fire, after all client bytes written above have been received
//
// Client transcripts (client_*.smtp, replayed by client_runner.hpp) read the same lines from the
// other side: S: and S> lines are the input (what the server sends), C: and C> lines the output
// the client session is expected to produce, E: lines its events, and T: lines (tls, eof,
// timeout) happen after all server bytes written above have been received. One more directive:
//   D: action [args] [-> errc]
//                           the application calls an action of the client session after all
//                           server bytes written above have been received and its events
//                           handled; "-> errc" names the error the call must return (by
//                           to_string(errc)), otherwise it must succeed. The actions and their
//                           arguments are listed in client_runner.hpp.
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>  // size_t
#include <cstdio>   // fprintf
#include <cstdlib>  // abort
#include <fstream>  // ifstream
#include <sstream>  // stringstream
#include <string>   // string
#include <vector>   // vector

namespace smtpkit_test {

/// One step of a scenario.
struct transcript_step {
  enum class kind { client, server, app, event, driver, message, action } what;
  std::string text;  ///< bytes (client/server), or the directive's argument
};

/// One scenario of a transcript file.
struct transcript {
  std::string name;
  std::string file;
  std::size_t line = 0;
  std::vector<std::string> config;  ///< key=value words from "!" lines
  std::vector<transcript_step> steps;

  /// Returns the client's bytes, each driver step ending a segment.
  std::vector<std::string> client_segments() const {
    std::vector<std::string> segs(1);
    for (const auto& s : steps) {
      if (s.what == transcript_step::kind::client) segs.back() += s.text;
      if (s.what == transcript_step::kind::driver) segs.emplace_back();
    }
    return segs;
  }
  /// Returns everything the server is expected to send.
  std::string server_bytes() const {
    std::string out;
    for (const auto& s : steps)
      if (s.what == transcript_step::kind::server) out += s.text;
    return out;
  }
  /// Returns the driver steps in order ("tls", "eof", "timeout").
  std::vector<std::string> driver_steps() const {
    std::vector<std::string> out;
    for (const auto& s : steps)
      if (s.what == transcript_step::kind::driver) out.push_back(s.text);
    return out;
  }
  /// Returns the queued application answers in order.
  std::vector<std::string> app_answers() const {
    std::vector<std::string> out;
    for (const auto& s : steps)
      if (s.what == transcript_step::kind::app) out.push_back(s.text);
    return out;
  }
  /// Returns the expected events in order.
  std::vector<std::string> events() const {
    std::vector<std::string> out;
    for (const auto& s : steps)
      if (s.what == transcript_step::kind::event) out.push_back(s.text);
    return out;
  }
  /// Returns the expected message contents in order.
  std::vector<std::string> messages() const {
    std::vector<std::string> out;
    for (const auto& s : steps)
      if (s.what == transcript_step::kind::message) out.push_back(s.text);
    return out;
  }
  /// Returns the value of a "! key=value" setting, or @p def.
  std::string setting(const std::string& key, const std::string& def = "") const {
    for (const auto& kv : config) {
      if (kv == key) return "1";
      if (kv.size() > key.size() && kv.compare(0, key.size(), key) == 0 && kv[key.size()] == '=')
        return kv.substr(key.size() + 1);
    }
    return def;
  }
};

namespace detail {
/// Reports a malformed transcript file and stops (the tests also build without exceptions).
[[noreturn]] inline void transcript_error(const std::string& msg) {
  std::fprintf(stderr, "transcript: %s\n", msg.c_str());
  std::abort();
}

inline std::string unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    const char c = s[++i];
    switch (c) {
      case 'r':
        out += '\r';
        break;
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case '0':
        out += '\0';
        break;
      case 'x':
        if (i + 2 >= s.size()) transcript_error("bad \\x escape in: " + s);
        out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
        i += 2;
        break;
      default:
        out += c;
    }
  }
  return out;
}
}  // namespace detail

/// Reads every scenario of a transcript file. A malformed file stops the program with a message.
inline std::vector<transcript> load_transcripts(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) detail::transcript_error("cannot open " + path);
  std::vector<transcript> out;
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("=== ", 0) == 0) {
      out.push_back(transcript{line.substr(4), path, n, {}, {}});
      continue;
    }
    if (out.empty()) detail::transcript_error(path + ":" + std::to_string(n) + ": no scenario");
    auto& t = out.back();
    if (line[0] == '!') {
      std::stringstream words(line.substr(1));
      std::string w;
      while (words >> w) t.config.push_back(w);
      continue;
    }
    if (line.size() < 2 || (line[1] != ':' && line[1] != '>'))
      detail::transcript_error(path + ":" + std::to_string(n) + ": unknown line: " + line);
    std::string arg = line.size() > 3 ? line.substr(3) : std::string();
    if (line.size() == 3 && line[2] == ' ') arg.clear();
    using k = transcript_step::kind;
    const bool raw = line[1] == '>';
    switch (line[0]) {
      case 'C':
        t.steps.push_back({k::client, raw ? detail::unescape(arg) : arg + "\r\n"});
        break;
      case 'S':
        t.steps.push_back({k::server, raw ? detail::unescape(arg) : arg + "\r\n"});
        break;
      case 'A':
        t.steps.push_back({k::app, arg});
        break;
      case 'E':
        t.steps.push_back({k::event, arg});
        break;
      case 'T':
        t.steps.push_back({k::driver, arg});
        break;
      case 'M':
        t.steps.push_back({k::message, detail::unescape(arg)});
        break;
      case 'D':
        t.steps.push_back({k::action, arg});
        break;
      default:
        detail::transcript_error(path + ":" + std::to_string(n) + ": unknown line: " + line);
    }
  }
  return out;
}

}  // namespace smtpkit_test
