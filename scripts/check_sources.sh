#!/usr/bin/env bash
# smtpkit: checks of the source tree that no compiler makes (DESIGN.md "Layers").
#  1. Only include/smtpkit/asio/ includes Asio; only include/smtpkit/wolfssl/ includes wolfSSL.
#  2. core/ and codec/ include nothing above them, and no I/O, clock or stream header.
#  3. Sources are ASCII (RFC examples with UTF-8 use escapes).
# SPDX-License-Identifier: MIT
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
fail=0
report() { echo "check_sources: $*"; fail=1; }

bad=$(grep -rlE '#\s*include\s*[<"](asio\.hpp|asio/)' include | grep -v '^include/smtpkit/asio/')
[[ -n $bad ]] && report "Asio included outside include/smtpkit/asio/: $bad"
bad=$(grep -rlE '#\s*include\s*[<"]wolfssl/' include | grep -v '^include/smtpkit/wolfssl/')
[[ -n $bad ]] && report "wolfSSL included outside include/smtpkit/wolfssl/: $bad"
bad=$(grep -rlE '#\s*include\s*<smtpkit(\.hpp|/(server|client|sasl|dns|asio|wolfssl|session_time))' include/smtpkit/core include/smtpkit/codec)
[[ -n $bad ]] && report "core/ or codec/ includes a higher layer: $bad"
bad=$(grep -rlE '#\s*include\s*<smtpkit/codec' include/smtpkit/core)
[[ -n $bad ]] && report "core/ includes codec/: $bad"
bad=$(grep -rlE '#\s*include\s*<(sys/socket\.h|netinet/|unistd\.h|thread|chrono|ctime|time\.h|iostream|fstream|cstdio|mutex|future|condition_variable)>' include/smtpkit/core include/smtpkit/codec include/smtpkit/server include/smtpkit/client include/smtpkit/sasl include/smtpkit/*.hpp include/smtpkit.hpp 2>/dev/null)
[[ -n $bad ]] && report "the sans-I/O core includes I/O, clock, thread or stream headers: $bad"
bad=$(grep -rlP '[^\x00-\x7F]' include tests/unit tests/support fuzz/*.cpp fuzz/*.hpp examples bench/*.cpp bench/*.hpp scripts CMakeLists.txt 2>/dev/null)
[[ -n $bad ]] && report "non-ASCII bytes in: $bad"
if ((fail == 0)); then echo "check_sources: ok"; fi
exit $fail
