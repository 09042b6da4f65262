#!/usr/bin/env bash
# smtpkit demo: builds the two tools (smtpkit-sink and smtpkit-send), starts smtpkit-sink on a
# free loopback port with a Maildir in a temporary folder, sends the message of the classic
# example session (EHLO, MAIL FROM, RCPT TO, DATA with "Subject: Hello" / "This is a test
# email.", QUIT) with smtpkit-send --trace, so that the conversation is shown, prints the stored
# message, and stops the sink by its PID. Installs what is missing with apt-get.
# SPDX-License-Identifier: MIT
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/deps.sh
source scripts/deps.sh
smtpkit_install_deps build

build=build/demo
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
echo "== building the tools"
cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DSMTPKIT_BUILD_TESTS=OFF \
  -DSMTPKIT_BUILD_BENCH=OFF -DSMTPKIT_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" --target smtpkit-sink smtpkit-send -j "$(nproc)" >/dev/null
sink=$build/examples/sink/smtpkit-sink
send=$build/examples/send/smtpkit-send

work=$(mktemp -d)
sink_pid=
cleanup() {
  [[ -n $sink_pid ]] && kill "$sink_pid" 2>/dev/null && wait "$sink_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

"$sink" --listen 127.0.0.1:0 --hostname demo.smtpkit.test --maildir "$work/Maildir" \
  >"$work/sink.out" 2>"$work/sink.err" &
sink_pid=$!
for _ in $(seq 100); do
  grep -q '^listening on ' "$work/sink.out" && break
  sleep 0.05
done
addr=$(sed -n 's/^listening on //p' "$work/sink.out" | head -1)
[[ -n $addr ]] || { echo "smtpkit-sink did not start"; cat "$work/sink.err"; exit 1; }
port=${addr##*:}
echo "== smtpkit-sink is listening on $addr"

printf 'Subject: Hello\r\n\r\nThis is a test email.\r\n' >"$work/message.eml"
echo "== the conversation (C: smtpkit-send, S: smtpkit-sink)"
# The sink offers no STARTTLS (and this build has no TLS engine): --starttls never.
status=0
timeout 60 "$send" --server "127.0.0.1:$port" --starttls never --helo client.example --trace \
  --from alice@example.com --to bob@example.org --message "$work/message.eml" 2>&1 || status=$?
echo "== smtpkit-send exited with status $status"

echo "== the stored message"
stored=("$work"/Maildir/new/*)
if [[ -e ${stored[0]} ]]; then
  for f in "${stored[@]}"; do
    echo "-- $f"
    cat "$f"
  done
else
  echo "(none; the sink said:)"
  cat "$work/sink.err"
fi
kill "$sink_pid" 2>/dev/null || true
wait "$sink_pid" 2>/dev/null || true
sink_pid=
echo "== smtpkit-sink stopped"
exit "$status"
