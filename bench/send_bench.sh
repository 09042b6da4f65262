#!/usr/bin/env bash
# smtpkit benchmark: smtpkit-send --batch against Postfix's smtp-source (-d: every message over
# one connection), each delivering the same number of 1 KiB messages to Postfix's smtp-sink on
# 127.0.0.1, with smtp-sink on CPU 0 and the client on CPU 1 (taskset). Prints, for each client,
# messages per second and the client's CPU time (user + system) per message, and the ratios
# smtpkit-send / smtp-source. smtp-source does not pipeline; smtpkit-send does (RFC 2920), so the
# targets are at least 2x smtp-source's messages per second with at most 0.8x its CPU per
# message. The rounds alternate the two clients; the medians are what counts.
#
# usage: bench/send_bench.sh [SMTPKIT_SEND]
#   SMTPKIT_SEND              the smtpkit-send to measure (default: built in build/send-bench)
#   SMTPKIT_BENCH_MESSAGES    messages per client and round (default 20000)
#   SMTPKIT_BENCH_ROUNDS      rounds (default 3)
# Needs python3, taskset and Postfix's smtp-sink and smtp-source (Debian: postfix).
# SPDX-License-Identifier: MIT
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
messages=${SMTPKIT_BENCH_MESSAGES:-20000}
rounds=${SMTPKIT_BENCH_ROUNDS:-3}
[[ $messages =~ ^[0-9]+$ && $messages -ge 1 && $messages -le 1000000 ]] ||
  { echo "SMTPKIT_BENCH_MESSAGES: 1..1000000" >&2; exit 64; }
[[ $rounds =~ ^[0-9]+$ && $rounds -ge 1 && $rounds -le 20 ]] ||
  { echo "SMTPKIT_BENCH_ROUNDS: 1..20" >&2; exit 64; }

tool() {
  command -v "$1" 2>/dev/null || { [[ -x /usr/sbin/$1 ]] && echo "/usr/sbin/$1"; } ||
    { echo "send_bench: $1 is not installed (Debian: apt-get install postfix)" >&2; exit 69; }
}
sink_bin=$(tool smtp-sink)
source_bin=$(tool smtp-source)
command -v python3 >/dev/null || { echo "send_bench: python3 is needed" >&2; exit 69; }

send=${1:-}
if [[ -z $send ]]; then
  build=$root/build/send-bench
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DSMTPKIT_BUILD_TESTS=OFF -DSMTPKIT_BUILD_BENCH=OFF -DSMTPKIT_BUILD_EXAMPLES=ON >/dev/null
  timeout 900 cmake --build "$build" --target smtpkit-send >/dev/null
  send=$build/examples/send/smtpkit-send
fi
[[ -x $send ]] || { echo "send_bench: no smtpkit-send at $send" >&2; exit 69; }

# smtp-sink on CPU 0, the clients on CPU 1, when there are two.
server_cpu=(taskset -c 0)
client_cpu=(taskset -c 1)
if [[ $(nproc) -lt 2 ]] || ! command -v taskset >/dev/null; then
  echo "send_bench: fewer than 2 CPUs (or no taskset): not pinning" >&2
  server_cpu=()
  client_cpu=()
fi

work=$(mktemp -d)
sink_pid=
cleanup() {
  if [[ -n $sink_pid ]]; then
    kill "$sink_pid" 2>/dev/null || true
    wait "$sink_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# The messages: $messages files of exactly 1024 octets (CRLF line ends).
python3 - "$work/batch" "$messages" <<'PY'
import os, sys
folder, n = sys.argv[1], int(sys.argv[2])
os.mkdir(folder)
for i in range(n):
    head = ("From: <a@example.org>\r\nTo: <b@example.net>\r\nDate: Mon, 1 Jan 2024 00:00:00 "
            "+0000\r\nMessage-ID: <%d.bench@example.org>\r\nSubject: bench %d\r\n\r\n" % (i, i))
    body = ("%d" % i + "X" * 77 + "\r\n") * 13
    m = (head + body).encode()
    m = m[:1022] + b"\r\n" if len(m) >= 1024 else m[:-2] + b"Y" * (1024 - len(m)) + b"\r\n"
    with open(os.path.join(folder, "m%07d.eml" % i), "wb") as f:
        f.write(m)
PY

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sink_args=()
[[ $(id -u) -eq 0 ]] && sink_args=(-u nobody)
"${server_cpu[@]}" "$sink_bin" "${sink_args[@]}" "127.0.0.1:$port" 1000 >/dev/null 2>&1 &
sink_pid=$!
python3 - "$port" <<'PY'
import socket, sys, time
for _ in range(200):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit("smtp-sink did not start")
PY

# Runs a client; prints "wall user sys" (seconds) of the child alone, or fails.
measure() {
  python3 - "$@" <<'PY'
import os, subprocess, sys, time
t0 = time.monotonic()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
err = p.stderr.read()
_, status, ru = os.wait4(p.pid, 0)
wall = time.monotonic() - t0
code = os.waitstatus_to_exitcode(status)
if code != 0:
    sys.stderr.write("%s exited with %d: %s\n" % (os.path.basename(sys.argv[-1]), code,
                                                 err.decode(errors="replace")[-500:]))
    sys.exit(1)
print("%.6f %.6f %.6f" % (wall, ru.ru_utime, ru.ru_stime))
PY
}

run_send() {
  measure timeout 300 "${client_cpu[@]}" "$send" --server "127.0.0.1:$port" --starttls never \
    --helo bench.example --from a@example.org --to b@example.net --batch "$work/batch"
}
run_source() {
  # -l 910: with smtp-source's own header fields the message is about 1 KiB too.
  measure timeout 300 "${client_cpu[@]}" "$source_bin" -d -s 1 -m "$messages" -l 910 \
    -M bench.example -f a@example.org -t b@example.net "127.0.0.1:$port"
}

echo "send_bench: $messages messages of 1 KiB per client and round, $rounds round(s);" \
  "smtp-sink on 127.0.0.1:$port${server_cpu:+ (CPU 0, clients on CPU 1)}"
results=$work/results
: >"$results"
for ((r = 1; r <= rounds; r++)); do
  for client in source send; do
    read -r wall user sys < <("run_$client")
    echo "$client $wall $user $sys" >>"$results"
    python3 - "$client" "$r" "$messages" "$wall" "$user" "$sys" <<'PY'
import sys
client, r, n, wall, user, sys_ = sys.argv[1], sys.argv[2], int(sys.argv[3]), *map(float, sys.argv[4:])
name = "smtpkit-send --batch" if client == "send" else "smtp-source -d"
print("  round %s  %-21s %9.0f messages/s  %7.1f us CPU/message (user %.2f s, sys %.2f s)"
      % (r, name, n / wall, (user + sys_) * 1e6 / n, user, sys_))
PY
  done
done

python3 - "$results" "$messages" <<'PY'
import statistics, sys
n = int(sys.argv[2])
rows = [l.split() for l in open(sys.argv[1])]
def figures(client):
    rate = statistics.median(n / float(w) for c, w, u, s in rows if c == client)
    cpu = statistics.median((float(u) + float(s)) * 1e6 / n for c, w, u, s in rows if c == client)
    return rate, cpu
send_rate, send_cpu = figures("send")
src_rate, src_cpu = figures("source")
print("medians:")
print("  smtp-source -d        %9.0f messages/s  %7.1f us CPU/message" % (src_rate, src_cpu))
print("  smtpkit-send --batch  %9.0f messages/s  %7.1f us CPU/message" % (send_rate, send_cpu))
print("ratios smtpkit-send / smtp-source: messages/s %.2fx (target >= 2x), "
      "CPU/message %.2fx (target <= 0.8x)" % (send_rate / src_rate, send_cpu / src_cpu))
PY
