#!/usr/bin/env bash
# smtpkit: the one test command. On a fresh Debian machine it installs what is missing, then
# builds and runs every test:
#   1. release   gcc, C++17, Release: unit, transcript, fuzz-replay, interop and bench-smoke tests
#   2. sanitize  clang, C++20, ASan+UBSan: everything but interop
#   3. noexcept  gcc, C++17, -fno-exceptions -fno-rtti: the core's tests
#   4. fuzz      clang libFuzzer, a short bounded run of every target (scripts/fuzz.sh)
#   5. format    clang-format --dry-run on our sources
# Every build uses -Werror. Exits non-zero on any failure.
#
# Usage: scripts/test.sh            (from anywhere; builds go to build/test-*)
# Environment: SMTPKIT_TEST_JOBS (default: nproc)
# SPDX-License-Identifier: MIT
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/deps.sh
source scripts/deps.sh
smtpkit_install_deps build interop

jobs=${SMTPKIT_TEST_JOBS:-$(nproc)}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

total_pass=0
total_fail=0
failed_builds=()

# run_build NAME CXX [cmake args...]: configure, build and run ctest in build/test-NAME.
run_build() {
  local name=$1 cxx=$2
  shift 2
  local dir="build/test-$name"
  echo "=== [$name] configure and build ($cxx)"
  mkdir -p "$dir"
  if ! CXX=$cxx cmake -S . -B "$dir" "${generator[@]}" -DSMTPKIT_WERROR=ON "$@" >"$dir.configure.log" 2>&1; then
    cat "$dir.configure.log"; failed_builds+=("$name (configure)"); return 0
  fi
  if ! cmake --build "$dir" -j "$jobs"; then
    failed_builds+=("$name (build)"); return 0
  fi
  echo "=== [$name] ctest"
  local log="$dir.ctest.log"
  set +e
  local exclude=()
  [[ -n ${CTEST_EXCLUDE:-} ]] && exclude=(-LE "$CTEST_EXCLUDE")
  (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 600 "${exclude[@]}") 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  set -e
  local line pass fail
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1 || true)
  if [[ -n $line ]]; then
    fail=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
    pass=$(( $(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line") - fail ))
    total_pass=$((total_pass + pass)); total_fail=$((total_fail + fail))
  fi
  [[ $rc -eq 0 ]] || failed_builds+=("$name (tests)")
}

mkdir -p build
start=$(date +%s)
CTEST_EXCLUDE= run_build release g++ -DCMAKE_BUILD_TYPE=Release
CTEST_EXCLUDE=interop run_build sanitize clang++ -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_STANDARD=20 \
  -DSMTPKIT_SANITIZE=address,undefined -DSMTPKIT_BUILD_BENCH=OFF
CTEST_EXCLUDE=interop run_build noexcept g++ -DCMAKE_BUILD_TYPE=Release -DSMTPKIT_NO_EXCEPTIONS=ON \
  -DSMTPKIT_BUILD_BENCH=OFF -DSMTPKIT_BUILD_EXAMPLES=OFF

if [[ -x scripts/fuzz.sh ]]; then
  echo "=== [fuzz] a short bounded run of every target"
  if scripts/fuzz.sh "${SMTPKIT_FUZZ_SECONDS:-10}"; then
    total_pass=$((total_pass + 1))
  else
    total_fail=$((total_fail + 1)); failed_builds+=("fuzz")
  fi
fi

echo "=== [format] clang-format --dry-run"
mapfile -t sources < <(git ls-files 'include/*.hpp' 'tests/*.cpp' 'tests/*.hpp' 'fuzz/*.cpp' \
  'fuzz/*.hpp' 'examples/*.cpp' 'examples/*.hpp' 'bench/*.cpp' 'bench/*.hpp' 2>/dev/null)
if ((${#sources[@]} == 0)) || clang-format --dry-run -Werror "${sources[@]}"; then
  total_pass=$((total_pass + 1))
else
  total_fail=$((total_fail + 1)); failed_builds+=("format")
fi
echo "test.sh took $(( $(date +%s) - start )) s"

echo
if ((${#failed_builds[@]})); then
  echo "FAILED: ${failed_builds[*]}"
fi
echo "total: $total_pass passed, $total_fail failed"
((${#failed_builds[@]} == 0))
