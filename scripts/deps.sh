# smtpkit: installs the Debian packages a script needs, only when something is missing.
# Sourced by scripts/test.sh and scripts/demo.sh. Usage: smtpkit_install_deps build|interop
# SPDX-License-Identifier: MIT

smtpkit_install_deps() {
  local want=(cmake ninja-build g++ clang libclang-rt-14-dev doctest-dev libasio-dev
              libwolfssl-dev pkgconf python3)
  local missing=()
  local p
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  echo "installing: ${missing[*]}"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}
