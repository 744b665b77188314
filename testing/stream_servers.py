"""Real live-stream servers for the tests, each killable and restartable on its address.

- `rtsp_camera`: GStreamer's RTSP server (testing/rtsp_server.py, run by the system
  Python with PyGObject) serving the demo video as H.264 RTP, looping.
- `mjpeg_camera`: an HTTP MJPEG camera (testing/mjpeg_camera.py, multipart/x-mixed-replace).
- `tcp_stream`: ffmpeg sending the demo video as H.264 in MPEG-TS to one TCP client at a time;
  ffmpeg's `listen=1` serves one client and exits, so it is restarted after each client,
  like a server that accepts a reconnect.

`kill()` is a crash (SIGKILL, no goodbye to clients); `start()` brings the server back on
the same port. Each server's stderr goes to its own log file (kept across restarts, never a
pipe nobody reads, which a chatty server would fill and block on); `log_tail()` gives its
end for a failing test's message. The Debian tools come from
scripts/test-deps.d/40-streams.sh; where one is missing the fixture skips with the reason
(fails under CI=true).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from components import need
from ports import steady_port

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MODULE = REPO / "iot-edge-solution" / "modules" / "textdetector"
DEMO_VIDEO = MODULE / "local_data" / "demo_video.mp4"
SYSTEM_PYTHON = "/usr/bin/python3"
INSTALL = "run scripts/test-deps.d/40-streams.sh"


def listening(port: int) -> bool:
    """Whether a socket listens on `port`, checked without connecting to it (a connect
    would use up the one client ffmpeg's listen mode serves)."""
    suffix = f":{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = [line.split() for line in Path(table).read_text().splitlines()[1:]]
        except OSError:
            continue
        if any(row[1].endswith(suffix) and row[3] == "0A" for row in rows):
            return True
    return False


class StreamServer:
    """One server process; with `respawn`, started again whenever it exits until killed."""

    def __init__(
        self, name: str, url: str, port: int, command: list[str], respawn: bool = False
    ) -> None:
        self.name, self.url, self.port = name, url, port
        self.command, self.respawn = command, respawn
        self.process: subprocess.Popen | None = None
        self._wanted = threading.Event()
        self._lock = threading.Lock()
        self._keeper: threading.Thread | None = None
        log = tempfile.NamedTemporaryFile(prefix=f"{name}-", suffix=".log", delete=False)
        log.close()
        self.log = Path(log.name)

    def start(self, timeout_s: float = 20.0) -> StreamServer:
        """Start (again) on the same port; returns once it listens."""
        self._wanted.set()
        self._spawn()
        if self.respawn:
            self._keeper = threading.Thread(
                target=self._keep, name=f"{self.name}-keeper", daemon=True
            )
            self._keeper.start()
        self.wait_listening(timeout_s)
        return self

    def wait_listening(self, timeout_s: float = 20.0) -> None:
        """Wait until the server listens (again, after a respawn)."""
        deadline = time.monotonic() + timeout_s
        while not listening(self.port):
            if self.process is not None and self.process.poll() is not None and not self.respawn:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}: {self.log_tail()}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(
                    f"{self.name} did not listen on {self.port} within {timeout_s} s"
                )
            time.sleep(0.05)

    def _spawn(self) -> None:
        with self._lock, self.log.open("ab") as log:
            log.write(f"--- {time.strftime('%H:%M:%S')} start\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def _keep(self) -> None:
        while self._wanted.is_set():
            process = self.process
            if process is not None:
                process.wait()
            if self._wanted.is_set():
                time.sleep(0.05)
                if self._wanted.is_set():
                    self._spawn()

    def log_tail(self, chars: int = 1500) -> str:
        """The end of the server's stderr log (all its runs), for a test's message."""
        try:
            return self.log.read_bytes()[-chars:].decode(errors="replace")
        except OSError:
            return ""

    def kill(self) -> None:
        """Crash the server: SIGKILL, no goodbye; the port is free again afterwards."""
        self._wanted.clear()
        with self._lock:
            process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)
        if self._keeper is not None:
            self._keeper.join(5)
            self._keeper = None

    def close(self) -> None:
        """Stop for good: kill the server and delete its log file."""
        self.kill()
        self.log.unlink(missing_ok=True)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def rtsp_server(video: Path = DEMO_VIDEO, path: str = "cam", width: int = 320) -> StreamServer:
    port = steady_port()  # restartable: its port stays free while it is down
    return StreamServer(
        "rtsp",
        f"rtsp://127.0.0.1:{port}/{path}",
        port,
        [SYSTEM_PYTHON, str(HERE / "rtsp_server.py"), str(video), str(port), path, str(width)],
    )


def mjpeg_server(
    video: Path = DEMO_VIDEO, path: str = "cam", width: int = 320, fps: float = 15.0
) -> StreamServer:
    port = steady_port()  # restartable: its port stays free while it is down
    return StreamServer(
        "mjpeg",
        f"http://127.0.0.1:{port}/{path}",
        port,
        [
            sys.executable,
            str(HERE / "mjpeg_camera.py"),
            str(video),
            str(port),
            path,
            str(width),
            str(fps),
        ],
    )


def tcp_server(video: Path = DEMO_VIDEO, width: int = 320) -> StreamServer:
    port = steady_port()  # restartable: its port stays free while it is down
    url = f"tcp://127.0.0.1:{port}"
    return StreamServer(
        "mpegts",
        url,
        port,
        [
            "ffmpeg",
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-re",
            "-stream_loop",
            "-1",
            "-i",
            str(video),
            "-an",
            "-vf",
            f"scale={width}:-2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
            "-g",
            "15",
            "-f",
            "mpegts",
            f"{url}?listen=1",
        ],
        respawn=True,
    )


def rtsp_available() -> bool:
    if not Path(SYSTEM_PYTHON).exists() or not shutil.which("gst-inspect-1.0"):
        return False
    probe = (
        "import gi; gi.require_version('Gst', '1.0'); "
        "gi.require_version('GstRtspServer', '1.0'); "
        "from gi.repository import Gst; Gst.init(None); "
        "assert all(Gst.ElementFactory.find(e) for e in "
        "('x264enc', 'qtdemux', 'avdec_mpeg4', 'rtph264pay'))"
    )
    return subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True).returncode == 0


AVAILABLE: dict[str, Callable[[], bool]] = {
    "rtsp": rtsp_available,
    "mjpeg": lambda: True,
    "mpegts": lambda: shutil.which("ffmpeg") is not None,
}
FACTORIES: dict[str, Callable[[], StreamServer]] = {
    "rtsp": rtsp_server,
    "mjpeg": mjpeg_server,
    "mpegts": tcp_server,
}


def serve(kind: str) -> Iterator[StreamServer]:
    """Start a server of `kind` (rtsp, mjpeg, mpegts) for one test; always stopped after."""
    need(DEMO_VIDEO.is_file(), "demo video missing: run `make setup`")
    need(AVAILABLE[kind](), f"{kind} test server needs Debian packages: {INSTALL}")
    server = FACTORIES[kind]().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def rtsp_camera() -> Iterator[StreamServer]:
    yield from serve("rtsp")


@pytest.fixture
def mjpeg_camera() -> Iterator[StreamServer]:
    yield from serve("mjpeg")


@pytest.fixture
def tcp_stream() -> Iterator[StreamServer]:
    yield from serve("mpegts")


@pytest.fixture(params=["rtsp", "mjpeg", "mpegts"])
def live_stream(request) -> Iterator[StreamServer]:
    """Each of the three servers in turn."""
    yield from serve(request.param)
