// The single header, included in two translation units linked together: catches a definition
// that is not inline (an ODR violation at link time). Built with -fno-exceptions -fno-rtti.
// SPDX-License-Identifier: MIT
#include "smtpkit.hpp"

int second_tu() noexcept;

int main() {
  smtpkit::server_config cfg;
  cfg.hostname = "mx.example.org";
  smtpkit::server_session s(cfg);
  if (s.state() != smtpkit::server_state::connected) return 1;
  const auto c = smtpkit::parse_command("MAIL FROM:<a@example.org> SIZE=10");
  if (!c || smtpkit::verb_of(*c) != smtpkit::verb::mail) return 2;
  return second_tu();
}
