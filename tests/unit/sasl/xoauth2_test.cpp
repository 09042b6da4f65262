// Unit tests for smtpkit/sasl/xoauth2.hpp: XOAUTH2, client side.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <smtpkit/sasl/xoauth2.hpp>
#include <string>

using smtpkit::byte_writer;
using smtpkit::sasl::step_status;
using smtpkit::sasl::xoauth2_client;

namespace {
std::string start(xoauth2_client& m, step_status expect) {
  char buf[256];
  byte_writer w(buf, sizeof buf);
  CHECK(m.start(w) == expect);
  return std::string(w.view());
}
}  // namespace

// initial response = "user=" user %x01 "auth=Bearer " b64token %x01 %x01
TEST_CASE("XOAUTH2 writes user and bearer token (Google's example)") {
  xoauth2_client m("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg");
  CHECK(m.name() == "XOAUTH2");
  CHECK(start(m, step_status::send) ==
        "user=someuser@example.com\x01"
        "auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01");
}

TEST_CASE("XOAUTH2 answers the error challenge with an empty response, once") {
  xoauth2_client m("u@example.com", "tok");
  CHECK(!start(m, step_status::send).empty());
  char buf[8];
  byte_writer w(buf, sizeof buf);
  CHECK(m.step("{\"status\":\"401\"}", w) == step_status::send);
  CHECK(w.size() == 0);
  CHECK(m.step("{\"status\":\"401\"}", w) == step_status::failed);
  CHECK(!start(m, step_status::send).empty());  // a new exchange
  CHECK(m.step("{}", w) == step_status::send);
}

// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
TEST_CASE("XOAUTH2 refuses users and tokens it cannot encode") {
  xoauth2_client no_user("", "tok");
  CHECK(start(no_user, step_status::failed).empty());
  xoauth2_client soh_user(
      "a\x01"
      "b",
      "tok");
  CHECK(start(soh_user, step_status::failed).empty());
  for (const char* bad : {"", "has space", "tab\t", "=leading", "a=b", "quo\"te", "semi;"}) {
    xoauth2_client m("u@example.com", bad);
    CHECK(start(m, step_status::failed).empty());
  }
  for (const char* good : {"a", "a-b.c_d~e+f/g", "abc==", "A1="}) {
    xoauth2_client m("u@example.com", good);
    CHECK(!start(m, step_status::send).empty());
  }
}
