"""The command line as a user runs it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from textdetector.config import EngineSettings
from textdetector.engines import resolve_engine
from textdetector.errors import SourceError
from textdetector.sources.capture import check_sources

MODULE_DIR = Path(__file__).resolve().parents[2]


def run(python, *args, env=None, timeout=120):
    # Not the OPENCV_* values importing textdetector put into this test process: the
    # module under test must choose them from its own LOG_LEVEL.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("OPENCV_")}
    full_env = {**inherited, **(env or {})}
    return subprocess.run(
        [python, "main.py", *args],
        cwd=MODULE_DIR,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(done, code, fragment):
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and fragment in errors[0], done.stderr


@pytest.mark.slow
def test_run_prints_a_line_per_frame(python, demo_video):
    done = run(python, "--max-frames", "3")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("frame")]
    assert len(lines) == 3 and "text region" in lines[0]
    assert "done: 3 frames" in done.stdout


@pytest.mark.slow
def test_run_writes_json_lines(python, demo_video, tmp_path):
    out = tmp_path / "out.jsonl"
    done = run(python, "--max-frames", "6", "--quiet", env={"JSON_OUTPUT": str(out)})
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["frame"] for r in records] == list(range(6))
    assert records[-1]["count"] > 0 and records[-1]["width"] == 1280
    assert "frame     0" not in done.stdout  # quiet: no per-frame lines


def test_help_documents_every_variable(python):
    done = run(python, "--help")
    assert done.returncode == 0
    for name in (
        "CAMERA_PATH",
        "USE_TENSOR_RT",
        "MODEL_PATH",
        "DET_THRESH",
        "LOOP",
        "MAX_FRAMES",
        "JSON_OUTPUT",
        "ORT_THREADS",
        "DET_LIMIT_SIDE_LEN",
    ):
        assert name in done.stdout
    for secret in ("IOTHUB_CONNECTION_STRING", "ARCHIVE_CONNECTION_STRING"):
        assert secret in done.stdout  # environment only, but documented
    assert "--iothub-connection-string" not in done.stdout


@pytest.mark.slow
def test_json_on_stdout_is_pure_json(python, demo_video):
    """`main.py --json-output - | jq`: every stdout line is JSON, the rest is on stderr."""
    done = run(python, "--json-output", "-", "--max-frames", "5")
    assert done.returncode == 0, done.stderr
    counts = [json.loads(line)["count"] for line in done.stdout.splitlines()]
    assert len(counts) == 5
    assert "done: 5 frames" in done.stderr
    assert sum(line.startswith("frame ") for line in done.stderr.splitlines()) == 5


@pytest.mark.slow
def test_closed_pipe_ends_quietly_with_status_0(python, demo_video):
    """`main.py --json-output - | head -n 2`: two lines, then a quiet exit 0."""
    proc = subprocess.Popen(
        [python, "main.py", "--json-output", "-", "--quiet"],
        cwd=MODULE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = [proc.stdout.readline(), proc.stdout.readline()]
    proc.stdout.close()  # what `head` does after its lines
    _, err = proc.communicate(timeout=120)
    assert [json.loads(line)["frame"] for line in lines] == [0, 1]
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err


@pytest.mark.slow
def test_ffmpeg_chatter_is_silenced_unless_debug(python, model_path, tmp_path):
    """A text file named .mkv: one error line, FFmpeg's own lines only with LOG_LEVEL=debug."""
    fake = tmp_path / "clip.mkv"
    fake.write_text("not a video\n" * 100)
    done = run(python, "--camera-path", str(fake))
    assert_one_line_error(done, 4, "cannot decode")
    assert "EBML" not in done.stderr + done.stdout and "matroska" not in done.stderr
    loud = run(python, "--camera-path", str(fake), "--log-level", "debug")
    assert_one_line_error(loud, 4, "cannot decode")
    native = loud.stderr + loud.stdout  # OpenCV writes its (and FFmpeg's) log to stdout
    assert "EBML" in native or "matroska" in native


def test_console_script_is_installed(python):
    """`textdetector` (pyproject console script) is the same command as main.py."""
    script = Path(python).with_name("textdetector")
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("textdetector ")
    module = subprocess.run(
        [python, "-m", "textdetector", "--version"], capture_output=True, text=True, timeout=60
    )
    assert module.returncode == 0 and module.stdout == done.stdout


@pytest.mark.parametrize(
    "env, code, fragment",
    [
        ({"DET_BOX_THRESH": "high"}, 2, "DET_BOX_THRESH"),
        ({"USE_TENSOR_RT": "sure"}, 2, "USE_TENSOR_RT"),
        ({"MAX_FRAMES": "-3"}, 2, "MAX_FRAMES"),
        ({"USE_TENSOR_RT": "TRUE"}, 5, "USE_TENSOR_RT is true but"),
        ({"MODEL_PATH": "/nonexistent/model.onnx"}, 3, "model file not found"),
        ({"CAMERA_PATH": "/nonexistent/video.mp4"}, 4, "video file not found"),
        ({"CAMERA_PATH": "/dev/video42"}, 4, "camera /dev/video42 not found"),
    ],
)
@pytest.mark.slow
def test_bad_environment_gives_one_clear_error(python, demo_video, env, code, fragment):
    assert_one_line_error(run(python, env=env), code, fragment)


def test_use_tensor_rt_logs_one_deprecation_line(python, demo_video):
    done = run(python, env={"USE_TENSOR_RT": "true"})
    lines = [line for line in done.stderr.splitlines() if "deprecated" in line]
    assert len(lines) == 1 and lines[0].startswith("WARNING"), done.stderr
    assert "ENGINE=tensorrt" in lines[0] and "DeprecationWarning" not in done.stderr


def test_a_camera_path_typo_fails_before_the_models_load(python, demo_video, tmp_path):
    """A CAMERA_PATH naming a missing file (here the second of two) fails in one line
    at once: no engine is opened, no model file named, before the error."""
    typo = tmp_path / "demo_vidoe.mp4"
    start = time.monotonic()
    done = run(python, env={"CAMERA_PATH": f"{demo_video}|{typo}", "LOG_LEVEL": "info"})
    elapsed = time.monotonic() - start
    assert_one_line_error(done, 4, f"video file not found: {typo}")
    loading = [
        line
        for line in done.stderr.splitlines()
        if "textdetector.engines" in line or ".onnx" in line
    ]
    assert loading == [], done.stderr
    assert elapsed < 10, f"took {elapsed:.1f} s"


def test_the_up_front_source_check_leaves_live_sources_alone(tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not checked for content here")
    check_sources(f"0|rtsp://127.0.0.1:1/none|{video}")  # cameras by index, streams: at open
    with pytest.raises(SourceError, match="names no source"):
        check_sources(" | ")
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with pytest.raises(SourceError, match="empty"):
        check_sources(f"{video}|{empty}")


@pytest.mark.slow
def test_corrupt_model_is_named(python, copy_model):
    path = copy_model()
    path.write_bytes(path.read_bytes()[:-10])
    assert_one_line_error(run(python, env={"MODEL_PATH": str(path)}), 3, str(path))


@pytest.mark.slow
def test_zero_byte_and_non_video_files(python, model_path, tmp_path):
    empty = tmp_path / "empty.mkv"
    empty.write_bytes(b"")
    assert_one_line_error(run(python, "--camera-path", str(empty)), 4, "empty")
    text = tmp_path / "notes.avi"
    text.write_text("not a video\n" * 100)
    assert_one_line_error(run(python, "--camera-path", str(text)), 4, "cannot decode")


@pytest.mark.slow
def test_detect_prints_json(python, page_image_path, tmp_path):
    done = run(python, "detect", str(page_image_path), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    result = data["results"][0]
    assert data["engine"] == resolve_engine(EngineSettings())  # OpenVINO on x86-64
    assert result["source"] == str(page_image_path) and result["count"] >= 4
    assert len(result["boxes"][0]) == 4 and "inference_ms" in result["timings"]


@pytest.mark.slow
def test_detect_folder_and_bad_image(python, page_image_path, tmp_path):
    (tmp_path / "page.png").write_bytes(page_image_path.read_bytes())
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff not really")
    done = run(python, "detect", str(tmp_path))
    assert done.returncode == 4
    assert "page.png:" in done.stdout and "text regions" in done.stdout
    assert "not a readable image" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_detect_page_reads_every_line_in_reading_order(python, page_image_path):
    """The 384x191 page photo: the short side is raised for the detector (RapidOCR's
    rule), so all seven lines are found, and `lines` come top to bottom."""
    done = run(python, "detect", str(page_image_path), "--json")
    lines = [line["text"] for line in json.loads(done.stdout)["results"][0]["lines"]]
    assert len(lines) == 7, lines
    assert lines[0] == "Region-based segmentation" and "markers = np" in lines[-1]


@pytest.mark.slow
def test_detect_bad_images_get_a_result_or_one_line(python, model_path, tmp_path):
    """A 1x1 image, a CMYK JPEG, a 16-bit PNG, a 20000x20000 PNG: a result each; an
    empty file: one readable line. Never a traceback."""
    from PIL import Image

    cv2.imwrite(str(tmp_path / "one.png"), np.full((1, 1, 3), 128, np.uint8))
    Image.new("CMYK", (200, 100), (0, 0, 0, 0)).save(tmp_path / "cmyk.jpg")
    deep = (np.random.default_rng(1).random((60, 200, 3)) * 65535).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "deep.png"), deep)
    cv2.imwrite(str(tmp_path / "huge.png"), np.zeros((20000, 20000), np.uint8))
    (tmp_path / "empty.jpg").write_bytes(b"")
    done = run(python, "detect", str(tmp_path), "--json", timeout=300)
    assert done.returncode == 4 and "Traceback" not in done.stderr
    results = {Path(r["source"]).name: r for r in json.loads(done.stdout)["results"]}
    assert "not a readable image" in results["empty.jpg"]["error"]
    assert [line for line in done.stderr.splitlines() if "error" in line] == [
        f"error: not a readable image: {tmp_path / 'empty.jpg'}"
    ]
    for name, size in [
        ("one.png", (1, 1)),
        ("cmyk.jpg", (200, 100)),
        ("deep.png", (200, 60)),
        ("huge.png", (20000, 20000)),
    ]:
        assert (results[name]["width"], results[name]["height"]) == size
        assert results[name]["count"] == 0


@pytest.mark.slow
def test_detect_empty_folder(python, model_path, tmp_path):
    done = run(python, "detect", str(tmp_path))
    assert done.returncode == 4 and "no images found" in done.stderr


@pytest.mark.slow
def test_sigterm_stops_cleanly(python, demo_video):
    import signal
    import time

    proc = subprocess.Popen(
        [python, "main.py", "--loop"],
        cwd=MODULE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("frame"):
                break
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "done:" in out and "Traceback" not in err
