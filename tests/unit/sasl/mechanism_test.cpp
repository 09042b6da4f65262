// Unit tests for smtpkit/sasl/mechanism.hpp: mechanism strength and the choice of the strongest
// mechanism both sides have.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <smtpkit/codec/ehlo.hpp>
#include <smtpkit/sasl/login.hpp>
#include <smtpkit/sasl/mechanism.hpp>
#include <smtpkit/sasl/oauthbearer.hpp>
#include <smtpkit/sasl/plain.hpp>
#include <smtpkit/sasl/xoauth2.hpp>

namespace sasl = smtpkit::sasl;

TEST_CASE("strength ranks tokens over passwords and PLAIN over LOGIN, any case") {
  CHECK(sasl::strength("SCRAM-SHA-256") > sasl::strength("CRAM-MD5"));
  CHECK(sasl::strength("CRAM-MD5") > sasl::strength("OAUTHBEARER"));
  CHECK(sasl::strength("OAUTHBEARER") > sasl::strength("XOAUTH2"));
  CHECK(sasl::strength("XOAUTH2") > sasl::strength("PLAIN"));
  CHECK(sasl::strength("plain") > sasl::strength("login"));
  CHECK(sasl::strength("LOGIN") == 1);
  CHECK(sasl::strength("GSSAPI") == 0);
  CHECK(sasl::strength("") == 0);
}

TEST_CASE("choose takes the strongest mechanism the server lists") {
  auto caps = smtpkit::parse_ehlo_reply(
      std::string_view("250-mx.example.org\r\n250-AUTH LOGIN PLAIN\r\n250 AUTH=LOGIN XOAUTH2\r\n"));
  REQUIRE(caps);
  sasl::plain_client plain("u", "p");
  sasl::login_client login("u", "p");
  sasl::xoauth2_client xoauth2("u", "t");
  sasl::oauthbearer_client oauthbearer("u", "t");
  CHECK(sasl::choose(*caps, {&login, &plain}) == &plain);
  CHECK(sasl::choose(*caps, {&plain, &login}) == &plain);
  CHECK(sasl::choose(*caps, {&login}) == &login);
  // XOAUTH2 is only on the legacy AUTH= line; it still counts.
  CHECK(sasl::choose(*caps, {&plain, &xoauth2, &oauthbearer}) == &xoauth2);
  CHECK(sasl::choose(*caps, {&oauthbearer}) == nullptr);
  CHECK(sasl::choose(*caps, {nullptr, &login}) == &login);
  CHECK(sasl::choose(*caps, {}) == nullptr);
}

TEST_CASE("choose finds nothing when the server offers no AUTH") {
  auto caps = smtpkit::parse_ehlo_reply(std::string_view("250 mx.example.org\r\n"));
  REQUIRE(caps);
  sasl::plain_client plain("u", "p");
  CHECK(sasl::choose(*caps, {&plain}) == nullptr);
}
