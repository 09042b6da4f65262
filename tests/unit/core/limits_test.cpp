// smtpkit tests: the defaults of core/limits.hpp are the RFC 5321 4.5.3 minimums (and the RFC
// 4954 4 AUTH line), and core/leniency.hpp is strict by default. A changed default must fail
// here first.
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cstdint>  // uint64_t
#include <smtpkit.hpp>

// The umbrella header leaves no internal macro behind.
#ifdef SMTPKIT_CODEC_INLINE
#  error "smtpkit.hpp must #undef SMTPKIT_CODEC_INLINE"
#endif

TEST_CASE("limits: defaults are the RFC minimums") {
  const smtpkit::limits lim;
  CHECK(lim.command_line == 512);    // RFC 5321 4.5.3.1.4: command line, CRLF included
  CHECK(lim.reply_line == 512);      // RFC 5321 4.5.3.1.5: reply line, CRLF included
  CHECK(lim.text_line == 1000);      // RFC 5321 4.5.3.1.6: text line, CRLF included
  CHECK(lim.local_part == 64);       // RFC 5321 4.5.3.1.1
  CHECK(lim.domain == 255);          // RFC 5321 4.5.3.1.2
  CHECK(lim.path == 256);            // RFC 5321 4.5.3.1.3: angle brackets included
  CHECK(lim.max_recipients == 100);  // RFC 5321 4.5.3.1.8: at least 100 recipients
  CHECK(lim.auth_line == 12288);     // RFC 4954 4: at least 12288 octets
  // smtpkit's own choices (no RFC value).
  CHECK(lim.max_message_size == std::uint64_t{10} * 1024 * 1024);
  CHECK(lim.max_errors == 20);
  CHECK(lim.max_auth_failures == 3);
}

TEST_CASE("limits: usable in constant expressions") {
  constexpr smtpkit::limits lim{};
  static_assert(lim.command_line == 512, "constexpr default");
  CHECK(lim.path == 256);
}

TEST_CASE("leniency: strict by default") {
  const smtpkit::leniency len;
  CHECK(len.bare_newline == smtpkit::bare_newline_policy::reject);
  CHECK_FALSE(len.allow_8bit_without_8bitmime);
  // The one default leniency: "MAIL FROM: <a@b>" is accepted (see leniency.hpp).
  CHECK_FALSE(len.refuse_space_after_colon);
  CHECK(static_cast<int>(smtpkit::bare_newline_policy::reject) == 0);
  CHECK(static_cast<int>(smtpkit::bare_newline_policy::normalize) == 1);
}
