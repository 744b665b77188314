#!/usr/bin/env bash
# Local stack: Azurite (in memory) + the textdetector module archiving the looping demo
# video (its live preview on HEALTH_PORT, 8081) + the review dashboard, whose Live page
# embeds that preview. Ctrl-C stops all three.
# The storage account key is generated per run (or taken from STACK_ACCOUNT_KEY) and
# handed to each process in its environment; it is never written to disk.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=$ROOT/.venv/bin/python
AZURITE=$ROOT/.tools/node_modules/.bin/azurite-blob
[ -x "$AZURITE" ] || bash scripts/test-deps.d/30-azurite-chromium.sh

ACCOUNT=${STACK_ACCOUNT:-edgearchive}
KEY=${STACK_ACCOUNT_KEY:-$("$PY" -c 'import base64,secrets;print(base64.b64encode(secrets.token_bytes(32)).decode())')}
PORT=${STACK_BLOB_PORT:-$("$PY" -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')}
CONN="DefaultEndpointsProtocol=http;AccountName=$ACCOUNT;AccountKey=$KEY;BlobEndpoint=http://127.0.0.1:$PORT/$ACCOUNT;"

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "stack stopped"
}
trap stop INT TERM EXIT

AZURITE_ACCOUNTS="$ACCOUNT:$KEY" "$AZURITE" --blobHost 127.0.0.1 --blobPort "$PORT" \
  --inMemoryPersistence --disableTelemetry --skipApiVersionCheck >/dev/null &
pids+=($!)
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.1
done

HEALTH=${HEALTH_PORT:-8081}
(cd iot-edge-solution/modules/reviewdashboard && \
  DASHBOARD_PREVIEW_URLS=${DASHBOARD_PREVIEW_URLS:-http://127.0.0.1:$HEALTH/preview} \
  DASHBOARD_STORAGE_CONNECTION_STRING="$CONN" exec "$PY" main.py) &
pids+=($!)
echo "review dashboard: http://${DASHBOARD_HOST:-127.0.0.1}:${DASHBOARD_PORT:-8090}/  (Ctrl-C stops the stack)"

(cd iot-edge-solution/modules/textdetector && \
  ARCHIVE_CONNECTION_STRING="$CONN" LOOP=${LOOP:-true} QUIET=${QUIET:-true} \
  ARCHIVE_INTERVAL=${ARCHIVE_INTERVAL:-2} HEALTH_PORT=$HEALTH exec "$PY" main.py "$@") &
pids+=($!)
wait "${pids[-1]}"
