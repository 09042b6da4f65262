#!/usr/bin/env bash
# smtpkit: builds and runs the libFuzzer targets (fuzz/fuzz_*.cpp) with clang.
#
# Usage:
#   scripts/fuzz.sh [SECONDS]   build into build/fuzz (-DSMTPKIT_BUILD_FUZZ=ON) and run every
#                               target for SECONDS (default 60), two at a time; print, per
#                               target, executions, executions per second, coverage and
#                               findings. New inputs go to build/fuzz/corpus/<target>; a finding
#                               is left in build/fuzz/findings/<target>/ and makes the script
#                               exit 1.
#   scripts/fuzz.sh --coverage  line coverage of include/smtpkit by the committed corpora
#                               (clang source-based coverage of the replay programs), one
#                               figure per header, then totals for codec/ and server/.
#   scripts/fuzz.sh --report    print the table of the last run again (from build/fuzz/logs).
#   scripts/fuzz.sh --merge     fold what the runs found into fuzz/corpus/<target>: libFuzzer
#                               -merge=1 of the committed corpus and the new inputs into a
#                               minimal set, each file named by its SHA-256. The inputs of fixed
#                               findings live apart, in fuzz/corpus/regressions/<target>/ (add
#                               them there by hand, named by SHA-256); a merge keeps them.
# Environment: SMTPKIT_FUZZ_JOBS (parallel runs, default 2), SMTPKIT_FUZZ_TARGETS (names to run,
# e.g. "fuzz_reply fuzz_path"; default all), SMTPKIT_FUZZ_ARGS (more libFuzzer flags),
# SMTPKIT_FUZZ_CXXFLAGS (more compiler flags, e.g. -DSMTPKIT_NO_SIMD to fuzz the portable scans).
# SPDX-License-Identifier: MIT
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/deps.sh
source scripts/deps.sh
smtpkit_install_deps build

mode=run
seconds=60
case "${1:-}" in
  --coverage) mode=coverage ;;
  --merge) mode=merge ;;
  --report) mode=report ;;
  -h | --help)
    sed -n '2,/^# SPDX/p' "$0" | sed 's/^# \{0,1\}//' | grep -v SPDX
    exit 0
    ;;
  '') ;;
  *)
    if [[ $1 =~ ^[0-9]+$ ]]; then
      seconds=$1
    else
      echo "usage: scripts/fuzz.sh [SECONDS | --coverage | --merge | --report]" >&2
      exit 2
    fi
    ;;
esac

jobs=${SMTPKIT_FUZZ_JOBS:-2}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

# The clang that goes with the libFuzzer runtime of libclang-rt-14-dev.
cxx=
for c in clang++-14 clang++; do
  if command -v "$c" >/dev/null; then
    cxx=$c
    break
  fi
done
[[ -n $cxx ]] || { echo "fuzz.sh: clang++ not found" >&2; exit 2; }

# The targets, from the sources.
targets=()
if [[ -n ${SMTPKIT_FUZZ_TARGETS:-} ]]; then
  read -r -a targets <<<"$SMTPKIT_FUZZ_TARGETS"
else
  for f in fuzz/fuzz_*.cpp; do
    targets+=("$(basename "$f" .cpp)")
  done
fi

# Session targets take whole conversations; parsers take a few lines.
max_len() {
  case $1 in
    fuzz_server_*) echo 65536 ;;
    *) echo 4096 ;;
  esac
}

build_fuzzers() {
  local dir=build/fuzz
  mkdir -p "$dir"
  echo "=== build: $cxx, -DSMTPKIT_BUILD_FUZZ=ON, in $dir"
  if ! cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_CXX_FLAGS="${SMTPKIT_FUZZ_CXXFLAGS:-}" \
      -DSMTPKIT_BUILD_FUZZ=ON -DSMTPKIT_BUILD_TESTS=OFF -DSMTPKIT_BUILD_EXAMPLES=OFF \
      -DSMTPKIT_BUILD_BENCH=OFF -DSMTPKIT_INSTALL=OFF >"$dir/configure.log" 2>&1; then
    cat "$dir/configure.log"
    exit 2
  fi
  cmake --build "$dir" -j "$jobs" --target "${targets[@]}"
}

fuzzer() {
  echo "build/fuzz/fuzz/$1"
}

# run_one NAME SECONDS: one bounded run; the log goes to build/fuzz/logs/NAME.log.
run_one() {
  local name=$1 secs=$2
  local work=build/fuzz/corpus/$name art=build/fuzz/findings/$name
  mkdir -p "$work" "$art" build/fuzz/logs
  local seeds=()
  [[ -d fuzz/corpus/$name ]] && seeds+=("fuzz/corpus/$name")
  [[ -d fuzz/corpus/regressions/$name ]] && seeds+=("fuzz/corpus/regressions/$name")
  local extra=()
  [[ -n ${SMTPKIT_FUZZ_ARGS:-} ]] && read -r -a extra <<<"$SMTPKIT_FUZZ_ARGS"
  set +e
  "$(fuzzer "$name")" -max_total_time="$secs" -rss_limit_mb=2048 -max_len="$(max_len "$name")" \
    -timeout=30 -dict=fuzz/dict/smtp.dict -artifact_prefix="$art/" -print_final_stats=1 \
    "${extra[@]}" "$work" "${seeds[@]}" >"build/fuzz/logs/$name.log" 2>&1
  echo $? >"build/fuzz/logs/$name.rc"
  set -e
}

# stat LOG KEY: a value of libFuzzer's -print_final_stats.
stat() {
  sed -n "s/^stat::$2: *//p" "$1" 2>/dev/null | tail -1 || true
}

report() {
  local failed=0
  printf '\n%-28s %8s %12s %9s %7s %8s %7s %6s  %s\n' target seconds executions exec/s cov ft corpus new findings
  local name log rc execs rate cov ft corp newu findings status secs
  for name in "${targets[@]}"; do
    log=build/fuzz/logs/$name.log
    rc=$(cat "build/fuzz/logs/$name.rc" 2>/dev/null || echo 99)
    execs=$(stat "$log" number_of_executed_units)
    rate=$(stat "$log" average_exec_per_sec)
    newu=$(stat "$log" new_units_added)
    # The last status line: "#N ... cov: C ft: F corp: K/..."
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2 || true)
    ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2 || true)
    corp=$(grep -oE 'corp: [0-9]+' "$log" | tail -1 | cut -d' ' -f2 || true)
    secs=$(sed -nE 's/^Done [0-9]+ runs in ([0-9]+) second.*/\1/p' "$log" 2>/dev/null | tail -1 || true)
    findings=$(find "build/fuzz/findings/$name" -type f \( -name 'crash-*' -o -name 'leak-*' \
      -o -name 'timeout-*' -o -name 'oom-*' \) 2>/dev/null | wc -l || true)
    status=none
    if [[ $rc != 0 || $findings != 0 ]]; then
      status="$findings (exit $rc; see build/fuzz/findings/$name/ and build/fuzz/logs/$name.log)"
      failed=1
    fi
    printf '%-28s %8s %12s %9s %7s %8s %7s %6s  %s\n' "$name" "${secs:-?}" "${execs:-?}" \
      "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${newu:-?}" "$status"
  done
  return $failed
}

run_all() {
  build_fuzzers
  rm -rf build/fuzz/findings build/fuzz/logs
  echo "=== running ${#targets[@]} targets for ${seconds}s each, $jobs at a time"
  local name running=0
  for name in "${targets[@]}"; do
    if ((running >= jobs)); then
      wait -n || true
      running=$((running - 1))
    fi
    echo "--- $name"
    run_one "$name" "$seconds" &
    running=$((running + 1))
  done
  wait || true
  report
}

merge_all() {
  build_fuzzers
  local name tmp f sum
  for name in "${targets[@]}"; do
    [[ -d build/fuzz/corpus/$name ]] || continue
    tmp=build/fuzz/merge/$name
    rm -rf "$tmp"
    mkdir -p "$tmp" "fuzz/corpus/$name"
    # The regression inputs count as covered already (they are kept apart, in
    # fuzz/corpus/regressions/, and taken out of the merged set again below).
    local regressions=fuzz/corpus/regressions/$name
    if [[ -d $regressions ]]; then cp "$regressions"/* "$tmp"/ 2>/dev/null || true; fi
    # -use_counters=0: keep one input per coverage edge, not per hit count, so that the committed
    # corpus stays small (the runs keep their fuller corpus in build/fuzz/corpus).
    "$(fuzzer "$name")" -merge=1 -use_counters=0 -rss_limit_mb=2048 -max_len="$(max_len "$name")" \
      -timeout=30 "$tmp" "fuzz/corpus/$name" "build/fuzz/corpus/$name" \
      >"build/fuzz/merge/$name.log" 2>&1 || {
      echo "fuzz.sh: merge of $name failed, see build/fuzz/merge/$name.log" >&2
      exit 1
    }
    if [[ -d $regressions ]]; then
      for f in "$regressions"/*; do rm -f "$tmp/$(basename "$f")"; done
    fi
    # Name every file by its SHA-256 (nghttp2's convention), then replace the committed set.
    for f in "$tmp"/*; do
      [[ -f $f ]] || continue
      sum=$(sha256sum "$f" | cut -d' ' -f1)
      [[ $f == "$tmp/$sum" ]] || mv -f "$f" "$tmp/$sum"
    done
    find "fuzz/corpus/$name" -type f -delete
    cp "$tmp"/* "fuzz/corpus/$name"/ 2>/dev/null || true
    printf '%-28s %6s inputs, %8s bytes\n' "$name" "$(find "fuzz/corpus/$name" -type f | wc -l)" \
      "$(cat "fuzz/corpus/$name"/* 2>/dev/null | wc -c)"
  done
}

coverage() {
  local profdata=llvm-profdata-14 cov=llvm-cov-14
  if ! command -v "$profdata" >/dev/null || ! command -v "$cov" >/dev/null; then
    echo "installing: llvm-14"
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
      llvm-14 >/dev/null
  fi
  local dir=build/fuzz-coverage
  mkdir -p "$dir"
  echo "=== build: replay programs with source-based coverage, in $dir"
  if ! cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_CXX_FLAGS="-fprofile-instr-generate -fcoverage-mapping" \
      -DCMAKE_EXE_LINKER_FLAGS="-fprofile-instr-generate" -DSMTPKIT_BUILD_TESTS=ON \
      -DSMTPKIT_BUILD_FUZZ=OFF -DSMTPKIT_BUILD_EXAMPLES=OFF -DSMTPKIT_BUILD_BENCH=OFF \
      -DSMTPKIT_INSTALL=OFF >"$dir/configure.log" 2>&1; then
    cat "$dir/configure.log"
    exit 2
  fi
  local replays=() name
  for name in "${targets[@]}"; do replays+=("${name}_replay"); done
  # A clean build, so that every program carries the same version of the headers (llvm-cov
  # drops the counts of functions whose versions differ between programs).
  cmake --build "$dir" -j "$jobs" --clean-first --target "${replays[@]}"
  rm -rf "$dir/profiles"
  mkdir -p "$dir/profiles"
  local objects=() start end
  local dirs
  for name in "${targets[@]}"; do
    dirs=("fuzz/corpus/$name")
    [[ -d fuzz/corpus/regressions/$name ]] && dirs+=("fuzz/corpus/regressions/$name")
    start=$(date +%s%N)
    LLVM_PROFILE_FILE="$dir/profiles/$name.profraw" "$dir/fuzz/${name}_replay" "${dirs[@]}" \
      >/dev/null
    end=$(date +%s%N)
    printf '%-28s %6s inputs replayed in %6s ms\n' "$name" \
      "$(find "${dirs[@]}" -type f | wc -l)" "$(((end - start) / 1000000))"
    objects+=(-object "$dir/fuzz/${name}_replay")
  done
  "$profdata" merge -sparse "$dir"/profiles/*.profraw -o "$dir/corpus.profdata"
  "$cov" export -summary-only -instr-profile="$dir/corpus.profdata" "${objects[@]:1}" \
    "$root/include/smtpkit" >"$dir/summary.json"
  python3 - "$dir/summary.json" "$root/include/" <<'EOF'
import json, sys
data = json.load(open(sys.argv[1]))
prefix = sys.argv[2]
groups = {}
print("\n%-44s %13s %8s" % ("header (line coverage by the corpora)", "lines", "cover"))
for f in sorted(data["data"][0]["files"], key=lambda f: f["filename"]):
    name = f["filename"]
    if not name.startswith(prefix):
        continue
    rel = name[len(prefix):]
    lines = f["summary"]["lines"]
    print("%-44s %6d/%-6d %7.1f%%" % (rel, lines["covered"], lines["count"], lines["percent"]))
    parts = rel.split("/")
    group = "/".join(parts[:2]) + "/" if len(parts) > 2 else parts[0]
    c, n = groups.get(group, (0, 0))
    groups[group] = (c + lines["covered"], n + lines["count"])
print()
for g, (c, n) in sorted(groups.items()):
    print("%-44s %6d/%-6d %7.1f%%" % ("total " + g, c, n, 100.0 * c / n if n else 0.0))
EOF
}

case $mode in
  run) run_all ;;
  merge) merge_all ;;
  report) report ;;
  coverage) coverage ;;
esac
