// Tests for smtpkit/core/error.hpp: stable values, names, category, fatality.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <smtpkit/core/error.hpp>

using smtpkit::errc;

TEST_CASE("errc values are stable and grouped by range") {
  CHECK(static_cast<int>(errc::line_too_long) == 100);
  CHECK(static_cast<int>(errc::unknown_command) == 200);
  CHECK(static_cast<int>(errc::bad_sequence) == 300);
  CHECK(static_cast<int>(errc::too_many_recipients) == 400);
  CHECK(static_cast<int>(errc::timeout) == 500);
  CHECK(static_cast<int>(errc::auth_failed) == 600);
}

TEST_CASE("error codes live in the smtpkit category and name themselves") {
  std::error_code ec = errc::bare_lf;
  CHECK(ec.category().name() == std::string("smtpkit"));
  CHECK(ec.message() == "bare_lf");
  CHECK((ec == errc::bare_lf));
  CHECK((ec != errc::bare_cr));
  CHECK(std::string(smtpkit::to_string(static_cast<errc>(9999))) == "unknown");
}

TEST_CASE("only session-ending errors are fatal") {
  CHECK(smtpkit::is_fatal(errc::timeout));
  CHECK(smtpkit::is_fatal(errc::error_budget_exhausted));
  CHECK_FALSE(smtpkit::is_fatal(errc::syntax_error));
  CHECK_FALSE(smtpkit::is_fatal(errc::line_too_long));
}
