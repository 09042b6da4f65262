// smtpkit core: named leniencies. Strict by default; each flag names the attack it opens.
// SPDX-License-Identifier: MIT
#pragma once

#include <smtpkit/core/config.hpp>

SMTPKIT_NAMESPACE_BEGIN

/// What to do with a bare LF or bare CR (one not part of CRLF).
enum class bare_newline_policy : unsigned char {
  /// Default. A bare LF or CR never ends a line: the line runs to the next CRLF and is refused
  /// as a whole (a command with 500/501, a message with one 5xx after its end).
  reject = 0,
  /// As Postfix's `smtpd_forbid_bare_newline = normalize`: a line ended by a bare LF is taken as
  /// if it ended in CRLF. End of data still needs CRLF.CRLF exactly, so `\n.\n` and the like can
  /// never end a message (SMTP smuggling, CVE-2023-51764 class).
  /// @warning A relay that normalizes must dot-stuff on the way out (smtpkit's writer does).
  normalize = 1,
};

/// Departures from strict RFC 5321 behaviour. Every flag defaults to the strict choice.
struct leniency {
  /// Bare LF / bare CR in commands and message data. See bare_newline_policy.
  bare_newline_policy bare_newline = bare_newline_policy::reject;
  /// Refuses "MAIL FROM: <a@b>" (space after the colon), which RFC 5321 4.1.2 does not allow
  /// but Postfix and Exim accept and some clients (Poco, mailio) send. Off by default, so such
  /// clients interoperate; the space opens no attack (the path is still parsed strictly).
  bool refuse_space_after_colon = false;
  /// Accepts 8-bit octets in a message to a server that did not advertise 8BITMIME.
  /// @warning The next hop may mangle or refuse the message.
  bool allow_8bit_without_8bitmime = false;
};

SMTPKIT_NAMESPACE_END
