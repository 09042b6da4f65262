// Unit tests for smtpkit/client/transitions.hpp and the names of smtpkit/client/events.hpp.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <smtpkit/client/transitions.hpp>

using smtpkit::action_allowed;
using smtpkit::client_action;
using smtpkit::client_command;
using smtpkit::transaction_phase;

TEST_CASE("MAIL and AUTH only outside a transaction") {
  for (auto a : {client_action::mail, client_action::auth}) {
    CHECK(action_allowed(a, transaction_phase::none));
    for (auto p : {transaction_phase::envelope, transaction_phase::data_wait,
                   transaction_phase::body, transaction_phase::bdat, transaction_phase::ending})
      CHECK(!action_allowed(a, p));
  }
}

TEST_CASE("RCPT and DATA in the envelope; BDAT in the envelope and between chunks") {
  CHECK(action_allowed(client_action::rcpt, transaction_phase::envelope));
  CHECK(!action_allowed(client_action::rcpt, transaction_phase::bdat));
  CHECK(action_allowed(client_action::data, transaction_phase::envelope));
  CHECK(!action_allowed(client_action::data, transaction_phase::bdat));
  CHECK(action_allowed(client_action::bdat, transaction_phase::envelope));
  CHECK(action_allowed(client_action::bdat, transaction_phase::bdat));
  CHECK(!action_allowed(client_action::bdat, transaction_phase::ending));
  CHECK(action_allowed(client_action::body, transaction_phase::body));
  CHECK(!action_allowed(client_action::body, transaction_phase::data_wait));
}

TEST_CASE("RSET, NOOP and QUIT never inside the message or after DATA") {
  for (auto a : {client_action::rset, client_action::noop, client_action::quit}) {
    CHECK(action_allowed(a, transaction_phase::none));
    CHECK(action_allowed(a, transaction_phase::envelope));
    CHECK(action_allowed(a, transaction_phase::bdat));
    CHECK(action_allowed(a, transaction_phase::ending));
    CHECK(!action_allowed(a, transaction_phase::body));
    CHECK(!action_allowed(a, transaction_phase::data_wait));
  }
}

TEST_CASE("the commands that end a pipelined group (RFC 2920 3.1)") {
  for (auto c :
       {client_command::ehlo, client_command::helo, client_command::lhlo, client_command::starttls,
        client_command::auth, client_command::data, client_command::noop, client_command::quit})
    CHECK(smtpkit::ends_group(c));
  for (auto c : {client_command::mail, client_command::rcpt, client_command::rset,
                 client_command::bdat, client_command::data_end})
    CHECK(!smtpkit::ends_group(c));
}

TEST_CASE("client_command names") {
  CHECK(smtpkit::to_string(client_command::greeting) == "greeting");
  CHECK(smtpkit::to_string(client_command::data_end) == "data_end");
  CHECK(smtpkit::to_string(client_command::none) == "none");
  CHECK(smtpkit::to_string(static_cast<client_command>(200)).empty());
}
