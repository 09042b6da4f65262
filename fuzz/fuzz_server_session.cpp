// smtpkit fuzzing: the server session (server/session.hpp) under an arbitrary byte stream from
// the "client", cut at arbitrary points, with the application's decisions, the timer, TLS, end
// of input and shutdown also drawn from the input. RFC 5321, RFC 2920, RFC 3030, RFC 3207,
// RFC 4954, RFC 2033.
//
// The client's bytes come from the front of the input, the control bytes from its end (so a
// transcript followed by a few control bytes is a good seed). server_driver (fuzz_support.hpp)
// checks the session's invariants on every step: well-formed replies only, bounded output and
// input, no transaction while a message is being received, decisions answerable exactly when
// pending, no wedge on a full buffer, nothing surviving a TLS handshake, closed stays closed.
// SPDX-License-Identifier: MIT
#include <cstddef>  // size_t
#include <cstdint>  // uint8_t
#include <smtpkit/server.hpp>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  smtpkit_fuzz::provider p(data, size);
  const smtpkit::server_config cfg = smtpkit_fuzz::server_config_from(p);
  smtpkit_fuzz::server_driver d(cfg, p);
  while (p.remaining() != 0 && !d.closed()) {
    // Control byte 0 (or none left): the rest of the client's bytes at once.
    const std::size_t n = p.byte() == 0 ? p.remaining() : p.range(1, 256);
    d.send(p.take(n));
  }
  d.finish();
  return 0;
}
