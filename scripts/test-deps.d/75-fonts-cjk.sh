#!/usr/bin/env bash
# The CJK-capable label font (WenQuanYi Micro Hei, 5 MB, Latin and CJK) that
# textdetector.drawing draws readings with: annotated archive frames, the live preview,
# --save-video, detect --annotate. Without it labels fall back to Pillow's built-in font
# (CJK characters as boxes). Idempotent: installs only when missing.
set -euo pipefail
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "installing fonts-wqy-microhei for drawn labels"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends fonts-wqy-microhei >/dev/null
