#!/usr/bin/env bash
# smtpkit demo: builds the tools, starts smtpkit-sink on a free loopback port with a Maildir in a
# temporary folder, sends the classic example message (HELO, MAIL FROM, RCPT TO, DATA with
# "Subject: Hello" / "This is a test email.", QUIT) with the conversation shown, prints the stored
# message, and stops the sink. Installs what is missing with apt-get.
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
targets=(smtpkit-sink)
grep -q 'smtpkit-send' "$build/build.ninja" 2>/dev/null && targets+=(smtpkit-send)
cmake --build "$build" --target "${targets[@]}" -j "$(nproc)" >/dev/null
sink=$(find "$build" -type f -name smtpkit-sink -perm -u+x | head -1)
send=$(find "$build" -type f -name smtpkit-send -perm -u+x | head -1)

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
echo "== the conversation"
if [[ -n $send ]]; then
  "$send" --server "127.0.0.1:$port" --starttls never --helo client.example --trace \
    --from alice@example.com --to bob@example.org --message "$work/message.eml"
else
  python3 - "$port" "$work/message.eml" <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example")
s.set_debuglevel(1)
s.helo("client.example")
s.sendmail("alice@example.com", ["bob@example.org"], open(sys.argv[2], "rb").read())
s.quit()
PY
fi

echo "== the stored message"
for f in "$work"/Maildir/new/*; do
  echo "-- $f"
  cat "$f"
done
echo "== done"
