#!/usr/bin/env bash
# Triton tests: a real Triton Inference Server from PyPI nvidia-pytriton (it bundles
# tritonserver with the Python backend; the ONNX models run through ONNX Runtime inside
# it). pytriton needs numpy<2 and a system CPython 3.11, so it gets its own venv in the
# git-ignored .tools/triton/. Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=.tools/triton
PYTRITON_VERSION=0.7.0
PINS=("nvidia-pytriton==$PYTRITON_VERSION" "numpy==1.26.4" "onnxruntime==1.31.1")

sudo_cmd() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ! -x /usr/bin/python3.11 ] || ! /usr/bin/python3.11 -c "import ensurepip" 2>/dev/null; then
  echo "installing python3.11 and python3.11-venv (apt) for the Triton server"
  sudo_cmd apt-get update -qq
  sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.11 \
    python3.11-venv >/dev/null
fi
installed=$("$VENV/bin/python" -c \
  "import importlib.metadata as m; print(m.version('nvidia-pytriton'))" 2>/dev/null || true)
if [ "$installed" != "$PYTRITON_VERSION" ]; then
  echo "installing nvidia-pytriton $PYTRITON_VERSION into $VENV/"
  mkdir -p .tools
  /usr/bin/python3.11 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${PINS[@]}"
fi
