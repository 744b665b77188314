"""A real RTSP camera for the tests: serves a video file as H.264 RTP, looping for ever.

Run by the system Python (GStreamer's RTSP server through PyGObject, from the Debian
packages gir1.2-gst-rtsp-server-1.0, gstreamer1.0-rtsp and python3-gi):

    /usr/bin/python3 testing/rtsp_server.py VIDEO PORT [PATH] [WIDTH]

The stream is rtsp://127.0.0.1:PORT/PATH (PATH defaults to "cam"). Each client gets its
own pipeline from the start of the file; the file loops gaplessly (segment seeks), so
the stream never ends. Prints "ready" on stdout once it listens.
"""

import os
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def pipeline(video: str, width: int) -> str:
    """decode, scale, encode H.264 (low latency, a key frame every second), packetise."""
    return (
        f"( filesrc location=\"{video}\" ! qtdemux name=demux ! decodebin ! videoconvert ! "
        f"videoscale ! video/x-raw,width={int(width)},pixel-aspect-ratio=1/1 ! "
        "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! "
        "rtph264pay name=pay0 pt=96 config-interval=1 )"
    )


def loop_media(_factory, media) -> None:
    """Loop each client's file gaplessly with segment seeks.

    The RTSP PLAY request seeks the pipeline itself (without the segment flag), so the
    first segment seek follows it; each end of segment then seeks back to the start.
    """
    bin_ = media.get_element()
    demux = bin_.get_by_name("demux")
    state = {"looping": False}

    def on_event(_pad, info):
        if info.get_event().type == Gst.EventType.SEGMENT_DONE:
            GLib.idle_add(seek, media, Gst.SeekFlags.NONE)
        return Gst.PadProbeReturn.OK

    def on_state(_media, new_state) -> None:
        if new_state == Gst.State.PLAYING and not state["looping"]:
            state["looping"] = True
            GLib.idle_add(seek, media, Gst.SeekFlags.FLUSH)

    demux.connect(
        "pad-added", lambda _d, pad: pad.add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM, on_event)
    )
    media.connect("new-state", on_state)


def seek(media, extra) -> bool:
    pipe = media.get_element().get_parent()
    if pipe is not None:
        pipe.seek(
            1.0,
            Gst.Format.TIME,
            Gst.SeekFlags.SEGMENT | extra,
            Gst.SeekType.SET,
            0,
            Gst.SeekType.NONE,
            -1,
        )
    return False


def main(argv: list) -> int:
    video, port = argv[1], argv[2]
    path = argv[3] if len(argv) > 3 else "cam"
    width = int(argv[4]) if len(argv) > 4 else 640
    os.environ.setdefault("GST_DEBUG", "2")  # warnings and errors: the harness logs stderr
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(pipeline(video, width))
    factory.set_shared(False)
    factory.set_eos_shutdown(False)
    factory.connect("media-configure", loop_media)
    server.get_mount_points().add_factory("/" + path, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on port {port}", file=sys.stderr)
        return 1
    print("ready", flush=True)
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
