#!/usr/bin/env bash
# Set up saline on a fresh Debian 12 machine (as root): the Debian packages the
# states and tests drive, and a virtualenv in .venv with saline installed into it.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

packages=$(grep -v '^\s*#' .ci/apt-packages.txt | grep -v '^\s*$' | grep -vx 'drbd-utils' | sort -u)
echo "==> apt: installing $(echo $packages | wc -w) packages"
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq $packages >/dev/null
# drbd-utils recommends a mail stack we do not want (see ../shared/lab/NOTES.md).
apt-get install -y -qq --no-install-recommends drbd-utils >/dev/null

echo "==> python: .venv with saline and its test dependencies"
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q '.[test]'
echo "==> ready: .venv/bin/saline, .venv/bin/saline-master, .venv/bin/saline-agent"
