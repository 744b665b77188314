"""A real HTTP MJPEG camera for the tests: multipart/x-mixed-replace JPEGs, any number of
clients, surviving client reconnects (unlike ffmpeg's one-client `-listen 1`).

    python testing/mjpeg_camera.py VIDEO PORT [PATH] [WIDTH] [FPS]

Like a camera, one thread decodes the looping video at FPS and publishes the newest
JPEG; every client of http://127.0.0.1:PORT/PATH (default "cam") gets each new frame.
Any other path answers 404. Prints "ready" on stdout once it listens.
"""

from __future__ import annotations

import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2

BOUNDARY = "frame"


class Camera:
    """Decodes the video in a loop at `fps`; `wait(seen)` returns the next JPEG."""

    def __init__(self, video: str, width: int, fps: float) -> None:
        self.video, self.width, self.period = video, width, 1.0 / fps
        self.jpeg: bytes = b""
        self.number = 0
        self.changed = threading.Condition()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        capture = cv2.VideoCapture(self.video)
        next_at = time.monotonic()
        while True:
            ok, image = capture.read()
            if not ok:
                capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                continue
            height = round(image.shape[0] * self.width / image.shape[1])
            jpeg = cv2.imencode(".jpg", cv2.resize(image, (self.width, height)))[1].tobytes()
            with self.changed:
                self.jpeg, self.number = jpeg, self.number + 1
                self.changed.notify_all()
            next_at += self.period
            time.sleep(max(0.0, next_at - time.monotonic()))

    def wait(self, seen: int) -> tuple[int, bytes]:
        with self.changed:
            self.changed.wait_for(lambda: self.number > seen, timeout=5)
            return self.number, self.jpeg


def handler(camera: Camera, path: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path.split("?")[0] != path:
                self.send_error(404, "no such camera")
                return
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.end_headers()
            seen = 0
            try:
                while True:
                    seen, jpeg = camera.wait(seen)
                    self.wfile.write(
                        f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                        f"Content-Length: {len(jpeg)}\r\n\r\n".encode()
                        + jpeg
                        + b"\r\n"
                    )
            except (BrokenPipeError, ConnectionResetError):
                return

        def log_message(self, *args: object) -> None:
            return

    return Handler


def main(argv: list[str]) -> int:
    video, port = argv[1], int(argv[2])
    path = "/" + (argv[3] if len(argv) > 3 else "cam")
    width = int(argv[4]) if len(argv) > 4 else 320
    fps = float(argv[5]) if len(argv) > 5 else 15.0
    server = ThreadingHTTPServer(("127.0.0.1", port), handler(Camera(video, width, fps), path))
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
