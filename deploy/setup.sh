#!/usr/bin/env bash
# Set up saline on a fresh Debian 12 machine (as root): the Debian packages the
# states and tests drive, and a virtualenv in .venv with saline installed into it.
#
#   bash deploy/setup.sh            development: .venv in this checkout, with the test tools
#   bash deploy/setup.sh --system   a real node: /opt/saline (a virtualenv: Debian 12 refuses a
#                                   system-wide pip install), saline* linked into /usr/local/bin,
#                                   the systemd units installed (not enabled)
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
mode=dev
case "${1:-}" in
    "") ;;
    --system) mode=system ;;
    *) echo "usage: $0 [--system]" >&2; exit 1 ;;
esac
prefix=${SALINE_PREFIX:-/opt/saline}

packages=$(grep -v '^\s*#' .ci/apt-packages.txt | grep -v '^\s*$' | grep -vx 'drbd-utils' | sort -u)
echo "==> apt: installing $(echo $packages | wc -w) packages"
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq $packages >/dev/null
# drbd-utils recommends a mail stack we do not want (see ../shared/lab/NOTES.md).
apt-get install -y -qq --no-install-recommends drbd-utils >/dev/null

if [[ $mode == system ]]; then
    echo "==> python: virtualenv $prefix with saline"
    python3 -m venv "$prefix"
    "$prefix/bin/pip" install -q --upgrade pip
    "$prefix/bin/pip" install -q .
    cp README.md "$prefix/README.md"
    for cmd in saline saline-master saline-agent; do
        ln -sfn "$prefix/bin/$cmd" "/usr/local/bin/$cmd"
    done
    echo "==> systemd: units into /etc/systemd/system (enable the one this node runs)"
    install -m 0644 deploy/systemd/saline-master.service deploy/systemd/saline-agent.service /etc/systemd/system/
    [[ -d /etc/saline ]] || install -d -m 0750 /etc/saline
    if [[ -d /run/systemd/system ]]; then systemctl daemon-reload; fi
    echo "==> ready: write /etc/saline/agent.yaml (or master.yaml), then"
    echo "    systemctl enable --now saline-agent    (or saline-master on the master)"
    exit 0
fi

echo "==> python: .venv with saline and its test dependencies"
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q '.[test]'
echo "==> ready: .venv/bin/saline, .venv/bin/saline-master, .venv/bin/saline-agent"
