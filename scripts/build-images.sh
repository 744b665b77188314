#!/usr/bin/env bash
# Build the module images and the CPU dev container with podman: no Docker engine and no
# registry needed.
#
#   scripts/build-images.sh [--arch amd64|arm64] [--base local|production] [--tag VERSION]
#                           [IMAGE...]
#
# --base local (the default) first makes a Debian bookworm base with mmdebstrap
# (python3 + python3-venv, no registry involved) and passes it to every Dockerfile as
# BASE_IMAGE. --base production passes nothing: each Dockerfile's default base is pulled
# from its registry (python:3.12-slim-bookworm, the dev containers image, JetPack).
# IMAGE is textdetector, reviewdashboard, devcontainer and/or trainer (default: all four;
# trainer, amd64 only, is skipped on arm64 unless named). Module
# images are tagged <registry>/<module>:<version>-<platform>, the names `iotedgedev genconfig`
# writes into the deployment manifests (registry: CONTAINER_REGISTRY_ADDRESS from the
# environment or .env, else localhost:5000); the dev container edge-vision-devcontainer:<arch>;
# the trainer (train-rec, PyTorch) <registry>/textdetector-train:<version>-amd64.
# Environment: ARCH, BASE, TAG (same as the flags), CA_BUNDLE (CA certificates pip trusts
# during builds), DEBIAN_MIRROR (for mmdebstrap; default Debian's).
set -euo pipefail
shopt -s inherit_errexit  # a failing step inside $(...) stops the script too
cd "$(dirname "$0")/.."
REPO=$PWD
SOLUTION=iot-edge-solution
ARCH=${ARCH:-amd64}
BASE=${BASE:-local}
TAG=${TAG:-}
IMAGES=()

die() { echo "error: $*" >&2; exit 1; }
usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --arch) ARCH=${2:?--arch needs a value}; shift 2 ;;
    --base) BASE=${2:?--base needs a value}; shift 2 ;;
    --tag) TAG=${2:?--tag needs a value}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    textdetector|reviewdashboard|devcontainer|trainer) IMAGES+=("$1"); shift ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
NAMED=${#IMAGES[@]}
[ "$NAMED" -gt 0 ] || IMAGES=(textdetector reviewdashboard devcontainer trainer)
case "$ARCH" in
  amd64) PLATFORM=amd64 ;;
  arm64|arm64v8) ARCH=arm64; PLATFORM=arm64v8 ;;
  *) die "--arch must be amd64 or arm64, not '$ARCH'" ;;
esac
if [ "$ARCH" = arm64 ] && [[ " ${IMAGES[*]} " == *" trainer "* ]]; then
  [ "$NAMED" -eq 0 ] || die "the trainer image is built for amd64 only (train on an x86-64 machine or cluster)"
  IMAGES=(textdetector reviewdashboard devcontainer)
fi
case "$BASE" in local|production) ;; *) die "--base must be local or production" ;; esac
command -v podman > /dev/null || die "podman is missing: bash scripts/test-deps.d/60-images.sh"
native=$(uname -m | sed 's/x86_64/amd64/; s/aarch64/arm64/')
if [ "$ARCH" != "$native" ] && [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] \
    && [ ! -e /proc/sys/fs/binfmt_misc/qemu-x86_64 ]; then
  die "building $ARCH images on $native needs QEMU: apt-get install qemu-user-static" \
    "binfmt-support arch-test (and 'mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc'" \
    "where it is not mounted)"
fi

# This kind of VM: crun cannot set up cgroups (hybrid mode), and the default ulimits are
# too low for pip. A containers.conf in the git-ignored .tools/ fixes both for podman and
# buildah, unless the caller brings their own CONTAINERS_CONF.
if [ -z "${CONTAINERS_CONF:-}" ]; then
  mkdir -p .tools/containers
  CONTAINERS_CONF=$REPO/.tools/containers/containers.conf
  {
    echo '[containers]'
    echo 'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]'
    if command -v runc > /dev/null; then printf '[engine]\nruntime = "runc"\n'; fi
  } > "$CONTAINERS_CONF"
  export CONTAINERS_CONF
fi

# pip inside a build reaches PyPI with the host's CA bundle (mounted read-only, never
# copied into a layer). Only PyPI's public defaults apply inside: the host's pip
# configuration is not seen by the build.
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
# Docker format: OCI images would drop HEALTHCHECK and SHELL.
# BUILDPLATFORM is set by docker buildx but not by every buildah: the stages that run
# natively (`FROM --platform=$BUILDPLATFORM`) need it on a cross build.
BUILD_OPTS=(--platform "linux/$ARCH" --build-arg "BUILDPLATFORM=linux/$native" --format docker
            --network host --layers)
if [ -f "$CA_BUNDLE" ]; then
  BUILD_OPTS+=(--volume "$CA_BUNDLE:/etc/ssl/certs/build-ca.crt:ro"
               --build-arg PIP_CERT=/etc/ssl/certs/build-ca.crt)
fi

local_base() {  # local_base <amd64|arm64>: the local base image's name, made if missing
  local arch=$1 image="localhost/edge-vision-base:bookworm-$1"
  if podman image exists "$image"; then echo "$image"; return; fi
  command -v mmdebstrap > /dev/null || die "mmdebstrap is missing: scripts/test-deps.d/60-images.sh"
  local work; work=$(mktemp -d)
  echo "making $image with mmdebstrap" >&2
  # python3-venv for the image's /opt/venv, python3-pip and make for the dev container,
  # libglib2.0-0 for OpenCV.
  mmdebstrap --quiet --variant=minbase --architectures="$arch" \
    --include=python3,python3-venv,python3-pip,ca-certificates,libglib2.0-0,make \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --customize-hook='chroot "$1" apt-get clean' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/*' \
    bookworm "$work/rootfs.tar" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"} >&2
  podman import --quiet --arch "$arch" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' "$work/rootfs.tar" "$image" > /dev/null
  rm -rf "$work"
  echo "$image"
}

version() {  # the module's image version from its module.json
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["image"]["tag"]["version"])' \
    "$SOLUTION/modules/$1/module.json"
}

context() {  # the module's build context: its module.json's contextPath, from its folder
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["image"]["contextPath"])' \
    "$SOLUTION/modules/$1/module.json"
}

build() {  # build <context> <dockerfile> <tag> [extra podman build args...]
  local context=$1 dockerfile=$2 tag=$3; shift 3
  local start=$SECONDS
  echo "building $tag from $dockerfile"
  podman build "${BUILD_OPTS[@]}" "${BASE_ARGS[@]}" "$@" -f "$dockerfile" -t "$tag" "$context"
  echo "built $tag in $((SECONDS - start)) s ($(podman image inspect --format '{{.Size}}' "$tag") B)"
}

registry() {  # where the images go: CONTAINER_REGISTRY_ADDRESS (environment, then .env)
  local address=${CONTAINER_REGISTRY_ADDRESS:-}
  if [ -z "$address" ] && [ -f .env ]; then
    address=$(sed -n 's/^CONTAINER_REGISTRY_ADDRESS=//p' .env | tail -n 1)
  fi
  echo "${address:-localhost:5000}"
}

BASE_ARGS=()
if [ "$BASE" = local ]; then
  target_base=$(local_base "$ARCH")
  # The arm64 textdetector makes its models and demo video natively on the build machine.
  native_base=$(local_base "$native")
  BASE_ARGS=(--build-arg "BASE_IMAGE=$target_base" --build-arg "ASSETS_BASE_IMAGE=$native_base")
fi

REGISTRY=$(registry)
for image in "${IMAGES[@]}"; do
  if [ "$image" = trainer ]; then  # the textdetector's train-rec with PyTorch (not for devices)
    dir=$SOLUTION/modules/textdetector
    build "$dir/$(context textdetector)" "$dir/Dockerfile.train.$PLATFORM" \
      "$REGISTRY/textdetector-train:${TAG:-$(version textdetector)}-$PLATFORM"
    continue
  fi
  if [ "$image" = devcontainer ]; then
    build . .devcontainer/Dockerfile "localhost/edge-vision-devcontainer:$ARCH" \
      --build-arg CUDA_SUPPORT=nocuda --build-arg "TARGETARCH=$ARCH" --target base
    continue
  fi
  dir=$SOLUTION/modules/$image
  dockerfile=$dir/Dockerfile.$PLATFORM
  [ -f "$dockerfile" ] || die "$dockerfile does not exist"
  build "$dir/$(context "$image")" "$dockerfile" \
    "$REGISTRY/$image:${TAG:-$(version "$image")}-$PLATFORM"
done
