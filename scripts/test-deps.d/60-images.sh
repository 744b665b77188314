#!/usr/bin/env bash
# Module images without a Docker engine or registry (scripts/build-images.sh, `make images`):
# podman and buildah build and run them, runc runs them where crun cannot, mmdebstrap makes
# the local Debian base image. Idempotent: installs only what is missing.
set -euo pipefail
missing=()
for tool in podman buildah mmdebstrap runc; do
  command -v "$tool" > /dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing+=("$tool")
done
# Rootless podman needs these; as root they are harmless.
command -v newuidmap > /dev/null 2>&1 || missing+=(uidmap)
command -v slirp4netns > /dev/null 2>&1 || missing+=(slirp4netns)
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing ${missing[*]} for the image builds"
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" > /dev/null
