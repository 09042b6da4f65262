// Unit tests for smtpkit/sasl/login.hpp: LOGIN, client side.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <smtpkit/sasl/login.hpp>
#include <string>

using smtpkit::byte_writer;
using smtpkit::sasl::login_client;
using smtpkit::sasl::step_status;

namespace {
std::string step(login_client& m, std::string_view challenge, step_status expect) {
  char buf[64];
  byte_writer w(buf, sizeof buf);
  CHECK(m.step(challenge, w) == expect);
  return std::string(w.view());
}
}  // namespace

TEST_CASE("LOGIN answers the user name, then the password, whatever the challenges say") {
  login_client m("user", "secret");
  CHECK(m.name() == "LOGIN");
  char buf[8];
  byte_writer w(buf, sizeof buf);
  CHECK(m.start(w) == step_status::wait);
  CHECK(w.size() == 0);
  CHECK(step(m, "Username:", step_status::send) == "user");
  CHECK(step(m, "Password:", step_status::send) == "secret");
  CHECK(step(m, "More?", step_status::failed).empty());
  // start() begins afresh
  CHECK(m.start(w) == step_status::wait);
  CHECK(step(m, "User Name", step_status::send) == "user");
}

TEST_CASE("LOGIN refuses an empty user name; an empty password is sent as it is") {
  login_client none("", "secret");
  char buf[8];
  byte_writer w(buf, sizeof buf);
  CHECK(none.start(w) == step_status::failed);
  login_client empty_pw("user", "");
  CHECK(empty_pw.start(w) == step_status::wait);
  CHECK(step(empty_pw, "Username:", step_status::send) == "user");
  CHECK(step(empty_pw, "Password:", step_status::send).empty());
}

TEST_CASE("LOGIN fails when the writer is too small") {
  login_client m("a-long-user-name", "secret");
  char buf[4];
  byte_writer w(buf, sizeof buf);
  CHECK(m.start(w) == step_status::wait);
  CHECK(m.step("Username:", w) == step_status::failed);
}
