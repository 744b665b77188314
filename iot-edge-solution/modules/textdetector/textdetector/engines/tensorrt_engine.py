"""TensorRT engine for NVIDIA GPUs (TensorRT 10 + pycuda), imported only when chosen.

Named-tensor API only (`set_input_shape`, `set_tensor_address`, `execute_async_v3`,
`set_memory_pool_limit`). The engine is built once from the ONNX model with a profile
covering every shape the configured resize can produce, cached on disk, and run with
device buffers, pinned host buffers and a stream allocated once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..config import EngineSettings
from ..errors import EngineUnavailableError, KitError, ModelError
from ..models import sha256_of, verify_model
from . import trt_cache
from .base import TensorSpec, dims, model_metadata
from .precision import PrecisionCheck, choose_precision, has_fast_fp16
from .trt_profile import ShapeOutOfProfileError, ShapeProfile

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "TensorRT runs in the amd64-cuda dev container or on a Jetson (JetPack 6); "
    "set USE_TENSOR_RT=false to use ONNX Runtime on the CPU"
)


class EngineRefusedError(Exception):
    """TensorRT could not deserialise a cached engine (other version, other GPU, damage)."""


def _require_tensorrt() -> tuple[Any, Any]:
    try:
        import pycuda.driver as cuda
        import tensorrt as trt
    except ImportError as exc:
        raise EngineUnavailableError(
            f"USE_TENSOR_RT is true but {exc.name or 'tensorrt'} is not installed; " + INSTALL_HINT
        ) from None
    major = str(getattr(trt, "__version__", "0")).split(".")[0]
    if not major.isdigit() or int(major) < 10:
        raise EngineUnavailableError(
            f"TensorRT {getattr(trt, '__version__', '?')} is too old: 10 or newer is needed "
            "(JetPack 6.1+); " + INSTALL_HINT
        )
    return trt, cuda


class _Gpu:
    """One CUDA context on GPU 0, pushed around every use so any thread can call `run`."""

    def __init__(self, cuda: Any) -> None:
        self.cuda = cuda
        try:
            cuda.init()
            self.device = cuda.Device(0)
            self.context = self.device.make_context()
        except Exception as exc:  # pycuda raises its own error types
            raise EngineUnavailableError(f"no usable CUDA GPU ({exc}); " + INSTALL_HINT) from None
        self.context.pop()

    @property
    def capability(self) -> str:
        major, minor = self.device.compute_capability()
        return f"{major}.{minor}"

    def __enter__(self) -> _Gpu:
        self.context.push()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cuda.Context.pop()

    def release(self) -> None:
        if self.context is not None:
            self.context.detach()
            self.context = None


class _Runner:
    """One deserialised engine with its execution context, buffers and stream (made once)."""

    def __init__(
        self, trt: Any, cuda: Any, runtime: Any, payload: bytes, profile: ShapeProfile
    ) -> None:
        self.cuda, self.profile = cuda, profile
        self.engine = runtime.deserialize_cuda_engine(payload)
        if self.engine is None:
            raise EngineRefusedError("deserialize_cuda_engine returned nothing")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if n not in inputs]
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelError(f"expected a model with one input and one output, got {names}")
        for name in names:
            if np.dtype(trt.nptype(self.engine.get_tensor_dtype(name))) != np.float32:
                raise ModelError(f"expected float32 model tensors; {name!r} is not")
        self.input, self.output = inputs[0], outputs[0]
        if not self.context.set_input_shape(self.input, tuple(profile.max)):
            raise ModelError(f"TensorRT refused the profile's largest shape {profile.max}")
        out_max = tuple(self.context.get_tensor_shape(self.output))
        self.out_spec = dims(self.engine.get_tensor_shape(self.output))
        self.host_in = cuda.pagelocked_empty(int(np.prod(profile.max)), np.float32)
        self.host_out = cuda.pagelocked_empty(int(np.prod(out_max)), np.float32)
        self.dev_in = cuda.mem_alloc(self.host_in.nbytes)
        self.dev_out = cuda.mem_alloc(self.host_out.nbytes)
        self.stream = cuda.Stream()
        self.context.set_tensor_address(self.input, int(self.dev_in))
        self.context.set_tensor_address(self.output, int(self.dev_out))

    def run(self, batch: np.ndarray) -> np.ndarray:
        self.profile.check(batch.shape)
        if not self.context.set_input_shape(self.input, tuple(batch.shape)):
            raise ShapeOutOfProfileError(f"TensorRT refused input shape {tuple(batch.shape)}")
        host_in = self.host_in[: batch.size].reshape(batch.shape)
        np.copyto(host_in, batch)
        self.cuda.memcpy_htod_async(self.dev_in, host_in, self.stream)
        if not self.context.execute_async_v3(self.stream.handle):
            raise KitError("TensorRT inference failed (see the TensorRT log above)")
        shape = tuple(self.context.get_tensor_shape(self.output))
        host_out = self.host_out[: int(np.prod(shape))].reshape(shape)
        self.cuda.memcpy_dtoh_async(host_out, self.dev_out, self.stream)
        self.stream.synchronize()
        return host_out.copy()

    def close(self) -> None:
        for buffer in (getattr(self, "dev_in", None), getattr(self, "dev_out", None)):
            if buffer is not None:
                buffer.free()
        self.dev_in = self.dev_out = None
        self.context = self.engine = None


class _Factory:
    """Builds engines for one model and GPU, and loads them through the cache."""

    def __init__(
        self,
        trt: Any,
        cuda: Any,
        gpu: _Gpu,
        model: Path,
        settings: EngineSettings,
        profile: ShapeProfile,
    ) -> None:
        self.trt, self.cuda, self.gpu = trt, cuda, gpu
        self.settings, self.profile = settings, profile
        self.logger = trt.Logger(trt.Logger.WARNING)
        self.builder = trt.Builder(self.logger)
        self.runtime = trt.Runtime(self.logger)
        self.model = model
        self.model_sha256 = sha256_of(self.model)

    def key(self, precision: str) -> trt_cache.CacheKey:
        return trt_cache.CacheKey(
            self.model_sha256,
            str(self.trt.__version__),
            self.gpu.capability,
            precision,
            self.profile.as_dict(),
            self.settings.trt_fp16_min_iou if precision == "fp16" else None,
        )

    def path(self, key: trt_cache.CacheKey) -> Path:
        return self.settings.trt_cache_dir / key.file_name(self.model.stem)

    def build(self, precision: str) -> bytes:
        trt = self.trt
        log.info(
            "building the TensorRT %s engine for %s; the first build can take several "
            "minutes (longer on a Jetson), later starts load it from %s",
            precision.upper(),
            self.model.name,
            self.settings.trt_cache_dir,
        )
        start = time.perf_counter()
        network = self.builder.create_network(0)
        parser = trt.OnnxParser(network, self.logger)
        if not parser.parse(self.model.read_bytes()):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise ModelError(f"TensorRT cannot parse {self.model}: {errors}")
        config = self.builder.create_builder_config()
        config.set_memory_pool_limit(
            trt.MemoryPoolType.WORKSPACE, self.settings.trt_workspace_mb << 20
        )
        if precision == "fp16":
            config.set_flag(trt.BuilderFlag.FP16)
        profile = self.builder.create_optimization_profile()
        profile.set_shape(
            network.get_input(0).name, self.profile.min, self.profile.opt, self.profile.max
        )
        config.add_optimization_profile(profile)
        serialized = self.builder.build_serialized_network(network, config)
        if serialized is None:
            raise EngineUnavailableError(
                "TensorRT could not build an engine for the model (see its log above); "
                "try a larger TRT_WORKSPACE_MB or TRT_PRECISION=fp32"
            )
        log.info(
            "TensorRT %s engine built in %.0f s", precision.upper(), time.perf_counter() - start
        )
        return bytes(serialized)

    def runner(self, payload: bytes) -> _Runner:
        """Load an engine just built; TensorRT refusing its own plan is a user-facing error."""
        try:
            return _Runner(self.trt, self.cuda, self.runtime, payload, self.profile)
        except EngineRefusedError as exc:
            raise EngineUnavailableError(
                f"TensorRT could not load the engine it just built ({exc})"
            ) from None

    def cached(self, precision: str) -> tuple[trt_cache.CacheEntry | None, _Runner | None]:
        """The cache entry for `precision` and, if it holds an engine, its runner."""
        key = self.key(precision)
        entry = trt_cache.read(self.path(key), key)
        if entry is None or not entry.payload:
            return entry, None
        try:
            return entry, _Runner(self.trt, self.cuda, self.runtime, entry.payload, self.profile)
        except EngineRefusedError as exc:
            trt_cache.invalidate(self.path(key), str(exc))
            return None, None

    def save(self, precision: str, payload: bytes, meta: dict[str, Any]) -> None:
        key = self.key(precision)
        path = self.path(key)
        trt_cache.write(path, key, payload, meta)
        trt_cache.prune_stale(path, key, self.model.stem)

    def load_or_build(self, precision: str) -> _Runner:
        _, runner = self.cached(precision)
        if runner is not None:
            return runner
        payload = self.build(precision)
        self.save(precision, payload, {})
        return self.runner(payload)


class TensorRTEngine:
    """Runs a one-input, one-output model with TensorRT; `precision` says what was chosen."""

    name = "tensorrt"

    def __init__(
        self,
        runner: _Runner,
        gpu: _Gpu,
        precision: str,
        note: str,
        metadata: dict[str, str] | None = None,
    ) -> None:
        self._runner, self._gpu = runner, gpu
        self.precision, self.precision_note = precision, note
        self.profile = runner.profile
        self.inputs = (TensorSpec(runner.input, (None,) * len(runner.profile.min)),)
        self.outputs = (TensorSpec(runner.output, runner.out_spec),)
        self.metadata = metadata or {}

    @classmethod
    def open(
        cls,
        model_path: Path,
        settings: EngineSettings,
        profile: ShapeProfile,
        fp16_check: PrecisionCheck | None = None,
    ) -> TensorRTEngine:
        """Build (or load from the cache) an engine for `profile`'s input shapes.

        FP16 is kept only where `fp16_check` accepts it against FP32 (TRT_FP16_MIN_IOU).
        """
        trt, cuda = _require_tensorrt()
        verify_model(model_path)
        gpu = _Gpu(cuda)
        try:
            with gpu:
                factory = _Factory(trt, cuda, gpu, model_path, settings, profile)
                major, minor = (int(v) for v in gpu.capability.split("."))
                fast = has_fast_fp16(factory.builder, (major, minor))
                first, why = choose_precision(settings.trt_precision, fast)
                if first == "fp32":
                    runner, precision, note = factory.load_or_build("fp32"), "fp32", why
                else:
                    runner, precision, note = _fp16_or_fallback(factory, settings, fp16_check)
        except BaseException:
            gpu.release()
            raise
        log.info(
            "TensorRT %s engine on GPU sm%s: %s (%s); input profile %s..%s",
            trt.__version__,
            gpu.capability,
            precision.upper(),
            note,
            profile.min,
            profile.max,
        )
        return cls(runner, gpu, precision, note, model_metadata(model_path))

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        batch = np.ascontiguousarray(feeds[self._runner.input], np.float32)
        with self._gpu:
            return {self._runner.output: self._runner.run(batch)}

    def close(self) -> None:
        if self._runner is None:
            return
        with self._gpu:
            self._runner.close()
        self._runner = None  # type: ignore[assignment]  # closed: run() is not called again
        self._gpu.release()


def _fp16_or_fallback(
    factory: _Factory, settings: EngineSettings, check: PrecisionCheck | None
) -> tuple[_Runner, str, str]:
    """FP16 if the task's check accepts it against FP32, else FP32 (logged)."""
    min_score = settings.trt_fp16_min_iou
    entry, runner = factory.cached("fp16")
    if entry is not None and entry.meta.get("rejected"):
        note = (
            f"FP16 was rejected on this GPU before (agreement "
            f"{entry.meta.get('mean_iou', 0.0):.3f} < {min_score})"
        )
        log.warning("%s: using FP32", note)
        return factory.load_or_build("fp32"), "fp32", note
    if entry is not None and runner is not None:
        return runner, "fp16", str(entry.meta.get("note", "FP16 (cached)"))
    payload = factory.build("fp16")
    if min_score <= 0:
        note = "FP16, agreement check disabled (TRT_FP16_MIN_IOU=0)"
        factory.save("fp16", payload, {"note": note})
        return factory.runner(payload), "fp16", note
    fp32, fp16 = factory.load_or_build("fp32"), factory.runner(payload)
    agreement = check(fp32.run, fp16.run) if check is not None else None
    if agreement is None:
        return _unchecked(factory, settings, fp32, fp16)
    if agreement.accepted(min_score):
        fp32.close()
        note = f"FP16, {agreement.summary}"
        factory.save("fp16", payload, {"note": note, "mean_iou": agreement.score})
        return fp16, "fp16", note
    fp16.close()
    note = f"FP16 rejected: {agreement.summary} < TRT_FP16_MIN_IOU {min_score}"
    log.warning("%s: falling back to FP32", note)
    factory.save("fp16", b"", {"rejected": True, "mean_iou": agreement.score})
    return fp32, "fp32", note


def _unchecked(
    factory: _Factory, settings: EngineSettings, fp32: _Runner, fp16: _Runner
) -> tuple[_Runner, str, str]:
    """No check data: FP16 only when asked for explicitly, else FP32."""
    if settings.trt_precision == "fp16":
        fp32.close()
        note = "FP16 unchecked: no check frames"
        log.warning(note)
        return fp16, "fp16", note
    fp16.close()
    note = "FP16 not verified (no check frames)"
    log.warning("%s: using FP32", note)
    return fp32, "fp32", note
