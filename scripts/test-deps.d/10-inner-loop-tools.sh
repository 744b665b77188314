#!/usr/bin/env bash
# Inner-loop checks: the Dev Containers CLI (npm, pinned) and the IoT Edge Dev Tool (PyPI,
# pinned, in its own virtual environment: its dependencies are older than ours), both in
# the git-ignored .tools/ folder. hadolint, dockerfile-parse and the IoT Edge JSON Schemas
# come from requirements-dev.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
DEVCONTAINERS_CLI_VERSION=0.89.0
TOOLS=.tools
CLI="$TOOLS/node_modules/.bin/devcontainer"
IOTEDGEDEV_VERSION=3.3.9
IOTEDGEDEV_VENV="$TOOLS/iotedgedev"

# The installed version, asked of the package metadata (no pipe: `grep -q` closing it early
# made `pip show` fail under pipefail, and the tool was reinstalled on every run).
iotedgedev_installed() {
  "$IOTEDGEDEV_VENV/bin/python" -c \
    'import importlib.metadata as m; print(m.version("iotedgedev"))' 2>/dev/null || true
}
if [ ! -x "$IOTEDGEDEV_VENV/bin/iotedgedev" ] || \
   [ "$(iotedgedev_installed)" != "$IOTEDGEDEV_VERSION" ]; then
  echo "installing iotedgedev==$IOTEDGEDEV_VERSION into $IOTEDGEDEV_VENV/"
  python3 -m venv "$IOTEDGEDEV_VENV"
  "$IOTEDGEDEV_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "iotedgedev==$IOTEDGEDEV_VERSION"
fi

installed=$(node -p "require('./$TOOLS/node_modules/@devcontainers/cli/package.json').version" \
  2>/dev/null || true)
if [ -x "$CLI" ] && [ "$installed" = "$DEVCONTAINERS_CLI_VERSION" ]; then
  exit 0
fi
if ! command -v npm > /dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing nodejs and npm (Debian packages)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm > /dev/null
fi
echo "installing @devcontainers/cli@$DEVCONTAINERS_CLI_VERSION into $TOOLS/"
mkdir -p "$TOOLS"
npm install --silent --no-audit --no-fund --save-exact --prefix "$TOOLS" \
  "@devcontainers/cli@$DEVCONTAINERS_CLI_VERSION"
