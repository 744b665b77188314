#!/usr/bin/env bash
# The fourteen-segment display font (DSEG14) the display evaluation set is rendered in
# (`make eval`, the REC_PATTERN end-to-end test). Idempotent: installs only when missing.
set -euo pipefail
[ -e /usr/share/fonts/truetype/dseg/DSEG14Classic-Regular.ttf ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "installing fonts-dseg for the fourteen-segment display set"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends fonts-dseg >/dev/null
