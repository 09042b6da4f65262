#!/usr/bin/env bash
# Installs smtpkit from a build tree into a scratch prefix, then configures, builds and runs the
# find_package consumer against it. Usage: run.sh SOURCE_DIR BUILD_DIR WORK_DIR
# SPDX-License-Identifier: MIT
set -euo pipefail
src=$1 build=$2 work=$3
rm -rf "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/tests/consumer/find_package" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
"$work/consumer/consumer"
echo "find_package consumer: ok"
