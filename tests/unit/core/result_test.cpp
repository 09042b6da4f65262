// Tests for smtpkit/core/result.hpp.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <smtpkit/core/result.hpp>
#include <string_view>

TEST_CASE("result holds a value or an error") {
  smtpkit::result<std::string_view> ok = std::string_view("abc");
  REQUIRE(ok);
  CHECK(*ok == "abc");
  CHECK(ok->size() == 3);
  CHECK_FALSE(static_cast<bool>(ok.error_code()));

  smtpkit::result<int> bad = smtpkit::errc::bad_path;
  CHECK_FALSE(bad.has_value());
  CHECK(bad.error() == smtpkit::errc::bad_path);
  CHECK((bad.error_code() == smtpkit::errc::bad_path));
}
