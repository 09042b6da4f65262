// Transcript tests for smtpkit/server/session.hpp: every scenario in
// tests/transcripts/server_*.smtp replayed whole, split at every point, and byte by byte.
// SPDX-License-Identifier: MIT
#include <dirent.h>  // opendir, readdir
#include <doctest/doctest.h>

#include <algorithm>  // sort
#include <string>
#include <vector>

#include "server_runner.hpp"

namespace {

std::vector<std::string> transcript_files() {
  std::vector<std::string> out;
  const std::string dir = SMTPKIT_TEST_TRANSCRIPT_DIR;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name.rfind("server_", 0) == 0 && name.size() > 5 &&
          name.compare(name.size() - 5, 5, ".smtp") == 0)
        out.push_back(dir + "/" + name);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

using chunk_plan = std::vector<std::vector<std::string_view>>;

std::string visible(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\r')
      out += "\\r";
    else if (c == '\n')
      out += "\\n\n";
    else if (static_cast<unsigned char>(c) < 0x20)
      out += "\\x" + std::to_string(c);
    else
      out += c;
  }
  return out;
}

/// Replays one way of cutting the input; returns false (after reporting) when it failed, so a
/// broken scenario reports once, not once per split point.
bool check_run(const smtpkit_test::transcript& t, const chunk_plan& plan, const std::string& how) {
  const auto run = smtpkit_test::run_server(t, plan);
  INFO("scenario: ", t.name, " (", t.file, ":", t.line, "), input ", how);
  bool ok = true;
  if (run.failure != "") {
    FAIL_CHECK("driver: ", run.failure);
    ok = false;
  }
  if (run.output != t.server_bytes()) {
    FAIL_CHECK("server output differs.\n--- expected:\n", visible(t.server_bytes()), "--- got:\n",
               visible(run.output));
    ok = false;
  }
  if (!smtpkit_test::has_subsequence(run.events, t.events())) {
    std::string got;
    for (const auto& e : run.events) got += e + " | ";
    FAIL_CHECK("events expected in order were not all seen; got: ", got);
    ok = false;
  }
  const auto msgs = t.messages();
  if (!msgs.empty() && run.messages != msgs) {
    std::string got;
    for (const auto& m : run.messages) got += "[" + visible(m) + "] ";
    FAIL_CHECK("messages differ; got: ", got);
    ok = false;
  }
  return ok;
}

void check_transcript(const smtpkit_test::transcript& t) {
  const auto segs = t.client_segments();
  chunk_plan whole;
  for (const auto& s : segs) whole.push_back({std::string_view(s)});
  if (!check_run(t, whole, "whole")) return;
  std::size_t total = 0;
  for (const auto& s : segs) total += s.size();
  // Split at every point of the whole client stream.
  for (std::size_t p = 1; p < total; ++p) {
    chunk_plan plan;
    std::size_t base = 0;
    for (const auto& s : segs) {
      std::vector<std::string_view> c;
      const std::string_view v(s);
      if (p > base && p < base + s.size()) {
        c.push_back(v.substr(0, p - base));
        c.push_back(v.substr(p - base));
      } else {
        c.push_back(v);
      }
      plan.push_back(c);
      base += s.size();
    }
    if (!check_run(t, plan, "split at " + std::to_string(p))) return;
  }
  chunk_plan bytes;
  for (const auto& s : segs) {
    std::vector<std::string_view> c;
    for (std::size_t i = 0; i < s.size(); ++i) c.push_back(std::string_view(s).substr(i, 1));
    bytes.push_back(c);
  }
  check_run(t, bytes, "byte by byte");
}

void check_file(const std::string& name) {
  const std::string path = std::string(SMTPKIT_TEST_TRANSCRIPT_DIR) + "/" + name;
  const auto scenarios = smtpkit_test::load_transcripts(path);
  REQUIRE(!scenarios.empty());
  for (const auto& t : scenarios) check_transcript(t);
}

}  // namespace

TEST_CASE("every server transcript file has a test case") {
  const std::vector<std::string> covered = {"server_basic.smtp",        "server_chunking_lmtp.smtp",
                                            "server_limits.smtp",       "server_pipelining.smtp",
                                            "server_sequence.smtp",     "server_smuggling.smtp",
                                            "server_starttls_auth.smtp"};
  std::vector<std::string> found;
  for (const auto& f : transcript_files()) found.push_back(f.substr(f.rfind('/') + 1));
  CHECK(found == covered);
}

TEST_CASE("server transcript: basic sessions (RFC 5321 D.1)") {
  check_file("server_basic.smtp");
}
TEST_CASE("server transcript: CHUNKING, LMTP, SMTPUTF8, DSN") {
  check_file("server_chunking_lmtp.smtp");
}
TEST_CASE("server transcript: limits") {
  check_file("server_limits.smtp");
}
TEST_CASE("server transcript: PIPELINING (RFC 2920)") {
  check_file("server_pipelining.smtp");
}
TEST_CASE("server transcript: command order and syntax") {
  check_file("server_sequence.smtp");
}
TEST_CASE("server transcript: SMTP smuggling and bare line ends") {
  check_file("server_smuggling.smtp");
}
TEST_CASE("server transcript: STARTTLS and AUTH") {
  check_file("server_starttls_auth.smtp");
}
