#!/usr/bin/env bash
# smtpkit: the one test command. On a fresh Debian machine it installs what is missing, then
# builds and runs every test: a Release build (gcc), an ASan+UBSan build (clang), and a build with
# -fno-exceptions -fno-rtti. Every build uses -Werror. Exits non-zero on any failure.
#
# Usage: scripts/test.sh            (from anywhere; builds go to build/test-*)
# Environment: SMTPKIT_TEST_JOBS (default: nproc)
# SPDX-License-Identifier: MIT
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/deps.sh
source scripts/deps.sh
smtpkit_install_deps build

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
  (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 600) 2>&1 | tee "$log"
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
run_build release g++ -DCMAKE_BUILD_TYPE=Release
run_build sanitize clang++ -DCMAKE_BUILD_TYPE=Debug -DSMTPKIT_SANITIZE=address,undefined \
  -DSMTPKIT_BUILD_BENCH=OFF
run_build noexcept g++ -DCMAKE_BUILD_TYPE=Release -DSMTPKIT_NO_EXCEPTIONS=ON \
  -DSMTPKIT_BUILD_BENCH=OFF -DSMTPKIT_BUILD_EXAMPLES=OFF

echo
if ((${#failed_builds[@]})); then
  echo "FAILED: ${failed_builds[*]}"
fi
echo "total: $total_pass passed, $total_fail failed"
((${#failed_builds[@]} == 0))
