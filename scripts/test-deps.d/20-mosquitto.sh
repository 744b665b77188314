#!/usr/bin/env bash
# The MQTT broker the IoT Hub tests run against (plays the IoT Hub / edgeHub endpoint
# over TLS on 127.0.0.1:8883) and the MQTT sink and snapshot-source tests start on free
# ports (MQTT v5; plain, TLS and client-certificate listeners), plus the openssl CLI for
# the throwaway test CA and certificates.
# Idempotent: installs only what is missing.
set -euo pipefail
missing=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "installing ${missing[*]} for the IoT Hub and MQTT tests"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
