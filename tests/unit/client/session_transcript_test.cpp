// Transcript tests for smtpkit/client/session.hpp: every scenario in
// tests/transcripts/client_*.smtp replayed with the server's bytes whole, split at every point,
// and byte by byte.
// SPDX-License-Identifier: MIT
#include <dirent.h>  // opendir, readdir
#include <doctest/doctest.h>

#include <algorithm>  // sort
#include <string>
#include <vector>

#include "client_runner.hpp"

namespace {

std::vector<std::string> transcript_files() {
  std::vector<std::string> out;
  const std::string dir = SMTPKIT_TEST_TRANSCRIPT_DIR;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name.rfind("client_", 0) == 0 && name.size() > 5 &&
          name.compare(name.size() - 5, 5, ".smtp") == 0)
        out.push_back(name);
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
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += "\\x" + std::to_string(static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out;
}

/// Returns true when @p want appears in @p got in order (other events may come between).
bool events_in_order(const std::vector<std::string>& got, const std::vector<std::string>& want) {
  std::size_t i = 0;
  for (const auto& g : got)
    if (i < want.size() && g == want[i]) ++i;
  return i == want.size();
}

/// Replays one way of cutting the input; returns false (after reporting) when it failed, so a
/// broken scenario reports once, not once per split point.
bool check_run(const smtpkit_test::transcript& t, const smtpkit_test::client_plan& plan,
               const chunk_plan& chunks, const std::string& how) {
  const auto run = smtpkit_test::run_client(t, plan, chunks);
  INFO("scenario: ", t.name, " (", t.file, ":", t.line, "), input ", how);
  bool ok = true;
  if (!run.failure.empty()) {
    FAIL_CHECK("driver: ", run.failure);
    ok = false;
  }
  const std::string want = smtpkit_test::expected_client_bytes(t);
  if (run.output != want) {
    FAIL_CHECK("client output differs.\n--- expected:\n", visible(want), "--- got:\n",
               visible(run.output));
    ok = false;
  }
  if (!events_in_order(run.events, t.events())) {
    std::string got;
    for (const auto& e : run.events) got += e + " | ";
    FAIL_CHECK("events expected in order were not all seen; got: ", got);
    ok = false;
  }
  return ok;
}

void check_transcript(const smtpkit_test::transcript& t) {
  const auto plan = smtpkit_test::make_client_plan(t);
  const auto& segs = plan.segments;
  chunk_plan whole;
  for (const auto& s : segs) whole.push_back({std::string_view(s)});
  if (!check_run(t, plan, whole, "whole")) return;
  std::size_t total = 0;
  for (const auto& s : segs) total += s.size();
  for (std::size_t p = 1; p < total; ++p) {
    chunk_plan cut;
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
      cut.push_back(c);
      base += s.size();
    }
    if (!check_run(t, plan, cut, "split at " + std::to_string(p))) return;
  }
  chunk_plan bytes;
  for (const auto& s : segs) {
    std::vector<std::string_view> c;
    for (std::size_t i = 0; i < s.size(); ++i) c.push_back(std::string_view(s).substr(i, 1));
    bytes.push_back(c);
  }
  check_run(t, plan, bytes, "byte by byte");
}

void check_file(const std::string& name) {
  const std::string path = std::string(SMTPKIT_TEST_TRANSCRIPT_DIR) + "/" + name;
  const auto scenarios = smtpkit_test::load_transcripts(path);
  REQUIRE(!scenarios.empty());
  for (const auto& t : scenarios) check_transcript(t);
}

}  // namespace

TEST_CASE("every client transcript file has a test case") {
  const std::vector<std::string> covered = {"client_auth.smtp",       "client_basic.smtp",
                                            "client_hostile.smtp",    "client_lmtp_bdat.smtp",
                                            "client_pipelining.smtp", "client_refusals.smtp",
                                            "client_starttls.smtp"};
  CHECK(transcript_files() == covered);
}

TEST_CASE("client transcript: basic sessions (RFC 5321 D.1, 3.1, 3.2)") {
  check_file("client_basic.smtp");
}
TEST_CASE("client transcript: PIPELINING (RFC 2920)") {
  check_file("client_pipelining.smtp");
}
TEST_CASE("client transcript: STARTTLS policy and response injection (RFC 3207)") {
  check_file("client_starttls.smtp");
}
TEST_CASE("client transcript: AUTH PLAIN, LOGIN, XOAUTH2, OAUTHBEARER (RFC 4954, RFC 7628)") {
  check_file("client_auth.smtp");
}
TEST_CASE("client transcript: LMTP and BDAT (RFC 2033, RFC 3030)") {
  check_file("client_lmtp_bdat.smtp");
}
TEST_CASE("client transcript: local refusals and parameters") {
  check_file("client_refusals.smtp");
}
TEST_CASE("client transcript: hostile and broken servers") {
  check_file("client_hostile.smtp");
}
