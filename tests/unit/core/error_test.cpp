// Tests for smtpkit/core/error.hpp: stable values, names, category, fatality.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cstddef>  // size_t
#include <smtpkit/core/error.hpp>
#include <string>  // string

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

// Every enumerator with its value and name. A renumbered, renamed or unnamed enumerator fails
// here, and so does a new one until it is added to the table (the loop over 0..699 finds it).
TEST_CASE("every errc has its fixed value and its name") {
  struct entry {
    errc e;
    int value;
    const char* name;
  };
  const entry all[] = {
      {errc::line_too_long, 100, "line_too_long"},
      {errc::bare_lf, 101, "bare_lf"},
      {errc::bare_cr, 102, "bare_cr"},
      {errc::nul_byte, 103, "nul_byte"},
      {errc::incomplete, 104, "incomplete"},
      {errc::unknown_command, 200, "unknown_command"},
      {errc::syntax_error, 201, "syntax_error"},
      {errc::bad_path, 202, "bad_path"},
      {errc::bad_local_part, 203, "bad_local_part"},
      {errc::bad_domain, 204, "bad_domain"},
      {errc::bad_address_literal, 205, "bad_address_literal"},
      {errc::path_too_long, 206, "path_too_long"},
      {errc::local_part_too_long, 207, "local_part_too_long"},
      {errc::domain_too_long, 208, "domain_too_long"},
      {errc::bad_parameter, 209, "bad_parameter"},
      {errc::duplicate_parameter, 210, "duplicate_parameter"},
      {errc::unknown_parameter, 211, "unknown_parameter"},
      {errc::bad_utf8, 212, "bad_utf8"},
      {errc::bad_xtext, 213, "bad_xtext"},
      {errc::bad_base64, 214, "bad_base64"},
      {errc::bad_reply_code, 215, "bad_reply_code"},
      {errc::reply_code_mismatch, 216, "reply_code_mismatch"},
      {errc::bad_reply, 217, "bad_reply"},
      {errc::bad_enhanced_status, 218, "bad_enhanced_status"},
      {errc::bad_bdat, 219, "bad_bdat"},
      {errc::invalid_argument, 220, "invalid_argument"},
      {errc::space_after_colon, 221, "space_after_colon"},
      {errc::bad_number, 222, "bad_number"},
      {errc::bad_sequence, 300, "bad_sequence"},
      {errc::invalid_state, 301, "invalid_state"},
      {errc::reply_pending, 302, "reply_pending"},
      {errc::too_many_recipients, 400, "too_many_recipients"},
      {errc::message_too_large, 401, "message_too_large"},
      {errc::error_budget_exhausted, 402, "error_budget_exhausted"},
      {errc::text_line_too_long, 403, "text_line_too_long"},
      {errc::auth_line_too_long, 404, "auth_line_too_long"},
      {errc::output_full, 405, "output_full"},
      {errc::reply_too_long, 406, "reply_too_long"},
      {errc::timeout, 500, "timeout"},
      {errc::session_closed, 501, "session_closed"},
      {errc::tls_required, 502, "tls_required"},
      {errc::connection_lost, 503, "connection_lost"},
      {errc::protocol_error, 504, "protocol_error"},
      {errc::auth_failed, 600, "auth_failed"},
      {errc::auth_cancelled, 601, "auth_cancelled"},
      {errc::auth_required, 602, "auth_required"},
      {errc::auth_mechanism_unsupported, 603, "auth_mechanism_unsupported"},
  };
  CHECK(sizeof all / sizeof all[0] == 47);
  for (const entry& x : all) {
    INFO(x.name);
    CHECK(static_cast<int>(x.e) == x.value);
    CHECK(std::string(smtpkit::to_string(x.e)) == x.name);
    CHECK(std::error_code(x.e).message() == x.name);
  }
  // Values in between name nothing.
  for (int v = 0; v < 700; ++v) {
    bool listed = false;
    for (const entry& x : all) listed = listed || x.value == v;
    if (!listed) CHECK(std::string(smtpkit::to_string(static_cast<errc>(v))) == "unknown");
  }
}
