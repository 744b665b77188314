#!/usr/bin/env bash
# Frame archive and review dashboard tests: the Azurite storage emulator (npm, pinned,
# into the git-ignored .tools/ folder) and Debian's headless Chromium (apt).
# Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
AZURITE_VERSION=3.37.0
TOOLS=.tools

sudo_cmd() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

installed=$(node -e "try{console.log(require('./$TOOLS/node_modules/azurite/package.json').version)}catch(e){}" 2>/dev/null || true)
if [ "$installed" != "$AZURITE_VERSION" ]; then
  if ! command -v npm >/dev/null; then
    echo "installing nodejs and npm (apt)"
    sudo_cmd apt-get update -qq
    sudo_cmd apt-get install -y -qq nodejs npm >/dev/null
  fi
  echo "installing azurite@$AZURITE_VERSION into $TOOLS/"
  mkdir -p "$TOOLS"
  npm install --prefix "$TOOLS" --no-save --no-audit --no-fund --loglevel=error \
    "azurite@$AZURITE_VERSION" >/dev/null
fi

if [ ! -x /usr/bin/chromium ]; then
  echo "installing chromium (apt)"
  sudo_cmd apt-get update -qq
  sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
