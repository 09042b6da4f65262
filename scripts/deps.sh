# smtpkit: installs the Debian packages the scripts need, only when something is missing.
# Sourced by scripts/test.sh and scripts/demo.sh.
# Usage: smtpkit_install_deps build          compilers, CMake, doctest, Asio, wolfSSL
#        smtpkit_install_deps build interop  and the real SMTP peers the interop tests drive
# SPDX-License-Identifier: MIT

smtpkit_install_deps() {
  local want=(cmake ninja-build g++ clang libclang-rt-14-dev llvm doctest-dev libasio-dev
              libwolfssl-dev pkgconf python3 clang-format)
  local group
  for group in "$@"; do
    if [[ $group == interop ]]; then
      want+=(postfix swaks msmtp curl python3-aiosmtpd openssl dnsmasq-base procps)
    fi
  done
  local missing=()
  local p
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  echo "installing: ${missing[*]}"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  # Postfix asks how to configure itself; the tests run their own instances on loopback.
  echo "postfix postfix/main_mailer_type select No configuration" | "${sudo[@]}" debconf-set-selections
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}
