#!/usr/bin/env bash
# smtpkit server benchmark: smtpkit-sink (no Maildir) against Postfix's smtp-sink on loopback,
# the same load for both, in two shapes:
#   conn_per_msg  Postfix's smtp-source, a new connection per message (lock-step, no pipelining)
#   pipelined     smtpkit-pipeline-load (bench/pipeline_load.cpp): sessions that keep their
#                 connection and pipeline each transaction (RFC 2920)
# For each server and shape it prints messages per second and the server's CPU time per message
# (user + system of the server process, from /proc/PID/stat before and after the load), then the
# ratios smtpkit-sink / smtp-sink beside the targets. Servers run on CPU 0 and the load on CPU 1
# (taskset): where they run alone changes lock-step throughput threefold.
#
#   bench/sink_bench.sh [--quick]
#
# --quick runs a small load only, to prove that the benchmark works (the sink_bench_smoke test);
# there a missing Postfix is skipped rather than an error. The binaries come from a Release
# build in build/bench-release, made here, unless SMTPKIT_SINK and SMTPKIT_PIPELINE_LOAD name
# them. Other knobs (environment): SMTPKIT_BENCH_SESSIONS (20), SMTPKIT_BENCH_SIZE (1024),
# SMTPKIT_BENCH_CONN_MESSAGES (20000), SMTPKIT_BENCH_PIPE_MESSAGES (200000; more than the other
# shape, since /proc counts CPU time in 10 ms ticks and a pipelined message costs little).
#
# Rules:
#  1. Loopback only: every server listens on 127.0.0.1, on a free port.
#  2. Bounded: each load runs under `timeout`, each server start is awaited for 5 s at most; a
#     normal run takes about a minute.
#  3. Servers are stopped by PID, and the temporary folder is removed, however the script ends.
#  4. Output is key=value lines; status 0 when every load ran (whether or not targets are met),
#     1 when a server or a load failed, 2 when a needed tool is missing.
# SPDX-License-Identifier: MIT
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
quick=0
for a in "$@"; do
  case $a in
    --quick) quick=1 ;;
    -h | --help)
      sed -n '2,/^# SPDX/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "sink_bench: unknown argument '$a'" >&2
      exit 2
      ;;
  esac
done

sessions=${SMTPKIT_BENCH_SESSIONS:-20}
size=${SMTPKIT_BENCH_SIZE:-1024}
conn_messages=${SMTPKIT_BENCH_CONN_MESSAGES:-20000}
pipe_messages=${SMTPKIT_BENCH_PIPE_MESSAGES:-200000}
warmup=500
load_timeout=120
if ((quick)); then
  conn_messages=200 pipe_messages=2000 warmup=20 load_timeout=30
fi

die() {
  echo "sink_bench: $*" >&2
  exit 1
}

# --- tools ---------------------------------------------------------------------------------------

find_tool() { command -v "$1" 2>/dev/null || { [[ -x /usr/sbin/$1 ]] && echo "/usr/sbin/$1"; } || true; }
postfix_sink=$(find_tool smtp-sink)
postfix_source=$(find_tool smtp-source)
if [[ -z $postfix_sink || -z $postfix_source ]]; then
  if ((quick)); then
    postfix_sink='' postfix_source=''
  else
    echo "sink_bench: needs Postfix's smtp-sink and smtp-source (Debian: apt-get install postfix)" >&2
    exit 2
  fi
fi

sink=${SMTPKIT_SINK:-}
load=${SMTPKIT_PIPELINE_LOAD:-}
if [[ -z $sink || -z $load ]]; then
  build=$root/build/bench-release
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DSMTPKIT_BUILD_TESTS=OFF -DSMTPKIT_BUILD_EXAMPLES=ON -DSMTPKIT_BUILD_BENCH=ON >/dev/null ||
    die "cmake configure failed"
  cmake --build "$build" --target smtpkit-sink smtpkit_pipeline_load >/dev/null ||
    die "build failed (smtpkit-sink needs standalone Asio: apt-get install libasio-dev)"
  sink=$build/examples/sink/smtpkit-sink
  load=$build/bench/smtpkit-pipeline-load
fi
[[ -x $sink && -x $load ]] || die "missing $sink or $load"

# Servers on CPU 0, the load on CPU 1, when there are two CPUs and taskset.
server_pin=() client_pin=()
cpus=$(nproc 2>/dev/null || echo 1)
if ((cpus >= 2)) && command -v taskset >/dev/null; then
  server_pin=(taskset -c 0) client_pin=(taskset -c 1)
fi
hz=$(getconf CLK_TCK)

work=$(mktemp -d "${TMPDIR:-/tmp}/sink_bench.XXXXXX")
server_pid=
stop_server() {
  [[ -n $server_pid ]] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}
# shellcheck disable=SC2317  # called by the trap
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

echo "cpus=$cpus pinned=$([[ ${#server_pin[@]} -gt 0 ]] && echo yes || echo no)" \
  "load_avg=$(cut -d' ' -f1 /proc/loadavg) sessions=$sessions size=$size" \
  "conn_messages=$conn_messages pipe_messages=$pipe_messages"

# --- servers -------------------------------------------------------------------------------------

# Prints "utime+stime" of process $1, in clock ticks.
cpu_ticks() {
  local s
  s=$(<"/proc/$1/stat") || return 1
  s=${s##*) } # the fields after "pid (comm) ", from field 3 (state) on
  # shellcheck disable=SC2086  # word splitting wanted
  set -- $s
  echo $((${12} + ${13}))
}

# Returns 0 when 127.0.0.1:$1 is listening.
listening() {
  local hex
  hex=$(printf '0100007F:%04X' "$1")
  awk -v a="$hex" '$2 == a && $4 == "0A" { found = 1 } END { exit !found }' /proc/net/tcp
}

# Prints a port below the ephemeral range that nothing uses on 127.0.0.1.
free_port() {
  local p hex
  for _ in $(seq 100); do
    p=$((10000 + RANDOM % 20000))
    hex=$(printf ':%04X ' "$p")
    grep -q "$hex" /proc/net/tcp /proc/net/tcp6 2>/dev/null || {
      echo "$p"
      return 0
    }
  done
  return 1
}

# Starts server $1 (smtpkit-sink or smtp-sink) on CPU 0; sets server_pid and port.
start_server() {
  port=
  case $1 in
    smtpkit-sink)
      : >"$work/sink.out"
      "${server_pin[@]}" "$sink" --listen 127.0.0.1:0 --hostname sink.bench.example --quiet \
        >"$work/sink.out" 2>"$work/server.err" &
      server_pid=$!
      for _ in $(seq 100); do
        port=$(sed -n 's/^listening on 127\.0\.0\.1://p' "$work/sink.out")
        [[ -n $port ]] && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.05
      done
      ;;
    smtp-sink)
      local user=()
      (($(id -u) == 0)) && user=(-u nobody) # as root, smtp-sink must drop privileges
      for _ in 1 2 3; do
        port=$(free_port) || break
        "${server_pin[@]}" "$postfix_sink" "${user[@]}" -h sink.bench.example \
          "127.0.0.1:$port" 1024 >/dev/null 2>"$work/server.err" &
        server_pid=$!
        for _ in $(seq 100); do
          listening "$port" && return 0
          kill -0 "$server_pid" 2>/dev/null || break
          sleep 0.05
        done
        stop_server
      done
      ;;
  esac
  cat "$work/server.err" >&2 2>/dev/null || true
  stop_server
  die "$1 did not start"
}

# --- loads ---------------------------------------------------------------------------------------

# Runs shape $1 with $2 messages against 127.0.0.1:$port.
run_load() {
  local shape=$1 n=$2
  case $shape in
    conn_per_msg)
      timeout "$load_timeout" "${client_pin[@]}" "$postfix_source" -s "$sessions" -l "$size" \
        -m "$n" -M load.bench.example -f load@bench.example -t sink@bench.example \
        "127.0.0.1:$port" >"$work/load.out" 2>"$work/load.err" || return 1
      # smtp-source reports a refused or failed transaction on stderr.
      [[ ! -s $work/load.err ]]
      ;;
    pipelined)
      timeout "$load_timeout" "${client_pin[@]}" "$load" --connect "127.0.0.1:$port" \
        --sessions "$sessions" --messages "$n" --size "$size" --timeout "$((load_timeout - 5))" \
        >"$work/load.out" 2>"$work/load.err"
      ;;
  esac
}

# Measures server $2 under shape $1; prints its line and sets rate[$2] and cpu[$2].
declare -A rate cpu
measure() {
  local shape=$1 server=$2 n c0 c1 t0 t1
  n=$([[ $shape == conn_per_msg ]] && echo "$conn_messages" || echo "$pipe_messages")
  start_server "$server"
  run_load "$shape" "$warmup" || {
    cat "$work/load.err" >&2
    die "$shape warm-up against $server failed"
  }
  c0=$(cpu_ticks "$server_pid")
  t0=$(date +%s%N)
  run_load "$shape" "$n" || {
    cat "$work/load.out" "$work/load.err" >&2
    die "$shape load against $server failed"
  }
  t1=$(date +%s%N)
  c1=$(cpu_ticks "$server_pid") || die "$server died during the load"
  stop_server
  rate[$server]=$(awk -v n="$n" -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f", n * 1e9 / ns }')
  cpu[$server]=$(awk -v n="$n" -v t=$((c1 - c0)) -v hz="$hz" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
  echo "shape=$shape server=$server messages=$n" \
    "seconds=$(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.3f", ns / 1e9 }')" \
    "msgs_per_s=${rate[$server]} cpu_us_per_msg=${cpu[$server]}"
}

all_met=yes
# Prints the ratio line of shape $1 against targets: messages per second >= $2, CPU <= $3.
ratios() {
  local shape=$1 want_rate=$2 want_cpu=$3 r c met
  r=$(awk -v a="${rate[smtpkit-sink]}" -v b="${rate[smtp-sink]}" 'BEGIN { printf "%.2f", a / b }')
  c=$(awk -v a="${cpu[smtpkit-sink]}" -v b="${cpu[smtp-sink]}" \
    'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }')
  met=$(awk -v r="$r" -v c="$c" -v wr="$want_rate" -v wc="$want_cpu" \
    'BEGIN { print (r >= wr && c != "inf" && c <= wc) ? "yes" : "no" }')
  [[ $met == yes ]] || all_met=no
  echo "shape=$shape ratio=smtpkit-sink/smtp-sink msgs_per_s=$r cpu_per_msg=$c" \
    "target_msgs_per_s=$want_rate target_cpu_per_msg=$want_cpu met=$met"
}

for shape in conn_per_msg pipelined; do
  if [[ -z $postfix_sink ]]; then
    echo "shape=$shape server=smtp-sink skipped=not_installed"
    [[ $shape == conn_per_msg ]] && continue # smtp-source drives this shape
    measure "$shape" smtpkit-sink
    continue
  fi
  measure "$shape" smtp-sink
  measure "$shape" smtpkit-sink
  if [[ $shape == conn_per_msg ]]; then
    ratios "$shape" 1.0 0.8
  else
    ratios "$shape" 1.2 0.8
  fi
done
[[ -n $postfix_sink ]] && echo "targets_met=$all_met"
exit 0
