"""OpenVINO engine: real OpenVINO on the real models, compared with real ONNX Runtime."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import LOCAL_DATA, MODULE_DIR, need

from textdetector.detector.postprocess import DBPostProcess
from textdetector.detector.preprocess import input_size, to_blob
from textdetector.engines import run_single
from textdetector.engines.base import AsyncEngine, overlapped, pipelined
from textdetector.engines.onnxruntime_engine import OnnxRuntimeEngine
from textdetector.engines.openvino_engine import OpenVinoEngine, cpu_supports
from textdetector.errors import EngineUnavailableError, ModelError

REC_MODEL = LOCAL_DATA / "ch_PP-OCRv4_rec_infer.onnx"
HAVE_OPENVINO = importlib.util.find_spec("openvino") is not None


@pytest.fixture(scope="module")
def openvino_present() -> None:
    need(HAVE_OPENVINO, "openvino not installed: pip install -r requirements.txt")


def blob_of(frame: np.ndarray) -> np.ndarray:
    return to_blob(frame, input_size(frame.shape[0], frame.shape[1], 960))


@pytest.fixture(scope="module")
def ov_det(openvino_present, model_path: Path) -> OpenVinoEngine:
    engine = OpenVinoEngine.open(model_path, "fp32", requests=2)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def ort_det(model_path: Path) -> OnnxRuntimeEngine:
    engine = OnnxRuntimeEngine.open(model_path)
    return lambda blob: run_single(engine, blob)


def feeds(engine: OpenVinoEngine, blob: np.ndarray) -> dict[str, np.ndarray]:
    return {engine.inputs[0].name: blob}


def prob(engine: OpenVinoEngine, blob: np.ndarray) -> np.ndarray:
    return engine.run(feeds(engine, blob))[engine.outputs[0].name]


def test_specs_and_explicit_fp32(ov_det):
    assert ov_det.name == "openvino"
    assert isinstance(ov_det, AsyncEngine) and not issubclass(OnnxRuntimeEngine, AsyncEngine)
    assert [(s.name, s.shape, s.dtype) for s in ov_det.inputs] == [
        ("x", (None, 3, None, None), "float32")
    ]
    assert ov_det.outputs[0].name == "sigmoid_0.tmp_0"
    assert ov_det.precision == "f32"  # never OpenVINO's own default


def test_metadata_matches_onnx_custom_metadata(openvino_present):
    """The recogniser's `character` dictionary, read by OpenVINO, equals ORT's reading."""
    import onnxruntime as ort

    need(REC_MODEL.is_file(), "recognition model missing: run `make setup`")
    engine = OpenVinoEngine.open(REC_MODEL)
    expected = ort.InferenceSession(str(REC_MODEL)).get_modelmeta().custom_metadata_map
    assert engine.metadata["character"] == expected["character"]
    assert len(engine.metadata["character"].splitlines()) == 6623


def test_fp32_matches_onnxruntime_and_boxes_identical(ov_det, ort_det, demo_frames):
    post = DBPostProcess()
    for frame in (demo_frames[60], demo_frames[120]):
        blob = blob_of(frame)
        ours, reference = prob(ov_det, blob), ort_det(blob)
        assert float(np.abs(ours - reference).max()) < 1e-3
        a, b = post(ours[0, 0], frame.shape[:2]), post(reference[0, 0], frame.shape[:2])
        assert len(a) > 3
        np.testing.assert_array_equal(a.boxes, b.boxes)


def test_static_throughput_boxes_identical(openvino_present, model_path, ort_det, demo_frames):
    """The other configuration the engine offers: static shapes, THROUGHPUT streams."""
    engine = OpenVinoEngine.open(model_path, "fp32", "throughput", shapes="static")
    post, frame = DBPostProcess(), demo_frames[60]
    blob = blob_of(frame)
    ours, reference = prob(engine, blob), ort_det(blob)
    np.testing.assert_array_equal(
        post(ours[0, 0], frame.shape[:2]).boxes, post(reference[0, 0], frame.shape[:2]).boxes
    )


def test_dynamic_shapes_one_compile(ov_det):
    for h, w in ((480, 640), (544, 960), (64, 96)):
        out = prob(ov_det, np.zeros((1, 3, h, w), np.float32))
        assert out.shape == (1, 1, h, w)
    assert ov_det.compiled_shapes == [()]


@pytest.mark.slow
def test_static_shapes_lru(openvino_present, model_path):
    engine = OpenVinoEngine.open(model_path, shapes="static", cache_size=2)
    sizes = ((64, 96), (96, 64), (64, 96), (128, 128))
    for h, w in sizes:
        assert prob(engine, np.zeros((1, 3, h, w), np.float32)).shape == (1, 1, h, w)
    assert [key[0][1] for key in engine.compiled_shapes] == [(1, 3, 64, 96), (1, 3, 128, 128)]


@pytest.mark.slow
def test_async_results_in_order_and_equal_to_sync(ov_det, demo_frames):
    blobs = [blob_of(demo_frames[i]) for i in (30, 60, 120)]
    expected = [prob(ov_det, b) for b in blobs]
    first = ov_det.start(feeds(ov_det, blobs[0]))
    second = ov_det.start(feeds(ov_det, blobs[1]))  # N+1 submitted before N is collected
    name = ov_det.outputs[0].name
    np.testing.assert_array_equal(ov_det.wait(first)[name], expected[0])
    np.testing.assert_array_equal(ov_det.wait(second)[name], expected[1])
    with pytest.raises(ValueError, match="already collected"):
        ov_det.wait(first)
    got = [out[name] for _, out in overlapped(ov_det, blobs, lambda b: feeds(ov_det, b))]
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


def test_wrong_input_name_is_one_line(ov_det):
    with pytest.raises(ValueError, match=r"expected inputs \['x'\], got \['image'\]"):
        ov_det.run({"image": np.zeros((1, 3, 32, 32), np.float32)})


def test_bf16_only_where_native(openvino_present, model_path):
    if cpu_supports("bf16"):
        assert OpenVinoEngine.open(model_path, "bf16").precision == "bf16"
    else:
        with pytest.raises(EngineUnavailableError, match="no native BF16"):
            OpenVinoEngine.open(model_path, "bf16")


def test_bad_model_files_are_one_line(openvino_present, model_path, tmp_path):
    garbage = tmp_path / "broken.onnx"
    garbage.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot load model .*broken.onnx: "):
        OpenVinoEngine.open(garbage)
    with pytest.raises(ModelError, match="model file not found"):
        OpenVinoEngine.open(tmp_path / "absent.onnx")
    with pytest.raises(ModelError, match="is not quantized: run `make quantize`"):
        OpenVinoEngine.open(model_path, "int8")


def test_missing_openvino_gives_clear_error(model_path):
    """OpenVINO IS installed here, so a real subprocess hides it: a meta-path finder
    placed first refuses `import openvino`, as on a machine without the package."""
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'openvino':\n"
        "            raise ImportError('blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from pathlib import Path\n"
        "from textdetector.engines.openvino_engine import OpenVinoEngine\n"
        "from textdetector.errors import EngineUnavailableError\n"
        "try:\n"
        f"    OpenVinoEngine.open(Path({str(model_path)!r}))\n"
        "except EngineUnavailableError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=MODULE_DIR, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("OpenVINO is not installed: pip install openvino")


def test_overlapped_stopped_early_frees_its_requests(ov_det):
    """After a loop stops early, the request that was in flight is back in the pool."""
    blob = np.zeros((1, 3, 64, 64), np.float32)
    loop = overlapped(ov_det, [blob] * 4, lambda b: feeds(ov_det, b))
    next(loop)
    loop.close()  # frame 2 was in flight
    pool = ov_det._cache[()]
    assert len(pool.free) == pool.size >= 2


def test_threads_sharing_an_engine_each_with_two_in_flight_never_wait(ov_det):
    """Four threads (the HTTP service's workers) each run `pipelined` on one engine whose
    pool starts at two requests: none waits on another (a fixed pool would deadlock)."""
    blob = np.zeros((1, 3, 64, 64), np.float32)
    reference = prob(ov_det, blob)
    outputs: list[np.ndarray] = []

    def work() -> None:
        outputs.extend(pipelined(ov_det, [blob] * 3))

    workers = [threading.Thread(target=work, daemon=True) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not any(worker.is_alive() for worker in workers) and len(outputs) == 12
    assert all(np.array_equal(out, reference) for out in outputs)
    pool = ov_det._cache[()]
    assert len(pool.free) == pool.size
