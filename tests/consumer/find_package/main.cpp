// Parses a command and writes a reply through the installed headers.
// SPDX-License-Identifier: MIT
#include <smtpkit.hpp>

int main() {
  const auto c = smtpkit::parse_command("RCPT TO:<postmaster>");
  if (!c || smtpkit::verb_of(*c) != smtpkit::verb::rcpt) return 1;
  char buf[64];
  smtpkit::byte_writer w(buf, sizeof buf);
  if (smtpkit::write_reply(w, {250, smtpkit::enhanced_status{2, 1, 5}, "Ok", {}})) return 2;
  return w.view() == "250 2.1.5 Ok\r\n" ? 0 : 3;
}
