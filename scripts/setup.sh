#!/usr/bin/env bash
# Prepare a development environment: .venv with the dev requirements, the pinned models
# (checksum-verified), the demo video and the recognition evaluation set. Idempotent and
# quick when nothing changed.
# Usage: scripts/setup.sh [--run | --test]
#   --run   only what `make run` needs: the runtime requirements, the models, the demo video
#   --test  also what the tests run against (scripts/test-deps.d/)
set -euo pipefail
cd "$(dirname "$0")/.."
LEVEL=dev
case "${1:-}" in
  "") ;;
  --run) LEVEL=run ;;
  --test) LEVEL=test ;;
  *) echo "usage: scripts/setup.sh [--run | --test] (not: $1)" >&2; exit 2 ;;
esac
MODULE=iot-edge-solution/modules/textdetector
VENV=.venv
PYTHON=${PYTHON:-python3}
# Extra `venv` options; the dev containers set --system-site-packages so that .venv reuses
# the packages (and TensorRT) their image installed.
VENV_OPTIONS=${VENV_OPTIONS:-}

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
    echo "error: Python 3.10 or newer is needed (found $("$PYTHON" --version 2>&1))" >&2; exit 1; }
  echo "creating $VENV"
  # shellcheck disable=SC2086  # word splitting of the options is intended
  "$PYTHON" -m venv $VENV_OPTIONS "$VENV"
fi

# One stamp per level: the dev set holds the runtime set, so either stamp will do for --run.
stamp="$VENV/.requirements.sha256"
run_stamp="$VENV/.requirements-run.sha256"
wanted=$(cat "$MODULE"/requirements*.txt iot-edge-solution/modules/*/pyproject.toml \
  iot-edge-solution/modules/reviewdashboard/requirements.txt scripts/setup.sh \
  | sha256sum | cut -d' ' -f1)
installed() { [ "$(cat "$1" 2>/dev/null)" = "$wanted" ]; }
pip_install() { "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@"; }
if installed "$stamp" || { [ "$LEVEL" = run ] && installed "$run_stamp"; }; then
  :
else
  echo "installing requirements into $VENV"
  pip_install --upgrade pip
  if [ "$LEVEL" = run ]; then
    # The demo video's DejaVu fonts ship with matplotlib (tools/make_demo_video.py): its
    # pin, from requirements-dev.txt.
    pip_install -r "$MODULE/requirements.txt" "$(grep -E '^matplotlib==' "$MODULE/requirements-dev.txt")"
  else
    pip_install -r "$MODULE/requirements-dev.txt"
    # Third-party reference for parity tests and benchmarks, without its GUI OpenCV.
    pip_install --no-deps rapidocr-onnxruntime==1.4.4
  fi
  # The modules and the package they share, editable: the `textdetector` command, imports
  # without path edits. The build backend's "Editable installation" notice (a UserWarning
  # about folders named like the package) is informational and silenced here only.
  PYTHONWARNINGS=ignore::UserWarning pip_install --no-deps -e iot-edge-solution/modules/common \
    -e "$MODULE" -e iot-edge-solution/modules/reviewdashboard
  if [ "$LEVEL" = run ]; then echo "$wanted" > "$run_stamp"; else echo "$wanted" > "$stamp"; fi
fi

"$VENV/bin/python" "$MODULE/tools/fetch_models.py"
"$VENV/bin/python" "$MODULE/tools/make_demo_video.py"
[ "$LEVEL" = run ] && exit 0
"$VENV/bin/python" "$MODULE/tools/make_eval_set.py"

if [ "$LEVEL" = test ]; then
  # A script marked `# test-deps: background` installs into a target no other script
  # touches and runs alongside the rest (a download overlaps the others' downloads);
  # its failure fails the set-up all the same.
  in_background() { grep -q '^# test-deps: background$' "$1"; }
  background=()
  trap 'kill ${background[@]+"${background[@]}"} 2>/dev/null || true' EXIT
  for script in scripts/test-deps.d/*.sh; do
    [ -e "$script" ] || continue
    if in_background "$script"; then
      bash "$script" &
      background+=("$!")
    fi
  done
  for script in scripts/test-deps.d/*.sh; do
    [ -e "$script" ] || continue
    in_background "$script" || bash "$script"
  done
  for pid in ${background[@]+"${background[@]}"}; do wait "$pid"; done
  background=()
fi
