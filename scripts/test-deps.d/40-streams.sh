#!/usr/bin/env bash
# Live-stream tests: real stream servers the sources reconnect to. Debian's ffmpeg serves
# MPEG-TS over TCP; GStreamer's RTSP server (run by the system Python through
# PyGObject) serves a video as H.264 (x264enc lives in plugins-ugly).
# Idempotent: installs only what is missing.
set -euo pipefail
missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
command -v gst-launch-1.0 >/dev/null 2>&1 || missing+=(gstreamer1.0-tools)
have_element() { gst-inspect-1.0 "$1" >/dev/null 2>&1; }
if command -v gst-inspect-1.0 >/dev/null 2>&1; then
  have_element qtdemux || missing+=(gstreamer1.0-plugins-good)
  have_element videoconvert || missing+=(gstreamer1.0-plugins-base)
  have_element h264parse || missing+=(gstreamer1.0-plugins-bad)
  have_element x264enc || missing+=(gstreamer1.0-plugins-ugly)
  have_element avdec_h264 || missing+=(gstreamer1.0-libav)
else
  missing+=(gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
            gstreamer1.0-plugins-ugly gstreamer1.0-libav)
fi
if ! /usr/bin/python3 -c "import gi; gi.require_version('GstRtspServer', '1.0')" \
     >/dev/null 2>&1; then
  missing+=(python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "installing ${missing[*]} for the live-stream tests"
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
