#!/usr/bin/env bash
# The train extra (torch, onnx) that `train-rec` and its tests need, into the project venv.
# Idempotent: pip leaves pinned packages that are present alone. Only this script
# installs into the project venv, so it runs alongside the others:
# test-deps: background
set -euo pipefail
VENV=${VENV:-.venv}
REQ=iot-edge-solution/modules/textdetector/requirements-train.txt
if "$VENV/bin/python" - "$REQ" <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version
pins = [l.split("#")[0].strip() for l in open(sys.argv[1]) if "==" in l.split("#")[0]]
try:
    sys.exit(any(version(p.split("==")[0]) != p.split("==")[1] for p in pins))
except PackageNotFoundError:
    sys.exit(1)
PY
then
  exit 0
fi
echo "installing the train extra (torch, onnx) for train-rec"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
