#!/usr/bin/env bash
# Installs every build and test dependency of smtpspec from Debian 12 packages.
# Idempotent and non-interactive: safe to run again, never prompts.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  g++ clang-14 libclang-rt-14-dev
  libboost-dev libssl-dev openssl
  libtomlplusplus-dev libcli11-dev libfmt-dev nlohmann-json3-dev libpugixml-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libxml2-utils iproute2
  # The HTML report's browser test (reports/tests/browser/): headless Chromium
  # driven by a standard-library Python script; FreeFont has the Unicode control
  # pictures (␍ ␊ ␀) the transcripts use, so the saved screenshot shows no tofu.
  chromium python3 fonts-freefont-ttf
  # Real SMTP clients for the client suite's integration test (ci/realclients.sh).
  curl msmtp swaks libnet-ssleay-perl
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
