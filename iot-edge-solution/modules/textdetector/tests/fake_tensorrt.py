"""A FAKE `tensorrt` + `pycuda.driver` pair, for plumbing tests on machines without a GPU.

This is not TensorRT. It imitates the small part of the TensorRT 10 / pycuda API the
engine uses (builder, optimisation profile, named tensors, `set_input_shape`,
`execute_async_v3`, device buffers addressed by integers, streams) so that the engine's
plumbing can be exercised here: the cache, the precision policy, the FP16-vs-FP32 check,
buffer reuse and release. "Inference" runs the real ONNX model with ONNX Runtime on the
CPU; "FP16" rounds the output through float16, and `FakeTrt.fp16_damage` makes it wrong
on purpose. The real engine is tested on a real GPU by tests/integration/test_gpu_real.py.
"""

from __future__ import annotations

import json
import types
from typing import Any

import numpy as np
import onnxruntime as ort

MAGIC = b"FAKE-TRT-PLAN\n"


class FakeCuda:
    """Fake pycuda.driver: host-memory "device" buffers registered by integer address."""

    def __init__(self) -> None:
        self.buffers: dict[int, FakeCuda.Allocation] = {}
        self.allocations = 0
        self.freed = 0
        self.contexts: list[Any] = []
        self.detached = 0
        self.capability = (8, 6)
        self.next_address = 0x1000
        cuda = self

        class Allocation:
            def __init__(self, nbytes: int) -> None:
                self.data = np.zeros(nbytes, np.uint8)
                self.address = cuda.next_address
                cuda.next_address += nbytes + 256
                cuda.buffers[self.address] = self
                cuda.allocations += 1

            def __int__(self) -> int:
                return self.address

            def free(self) -> None:
                cuda.buffers.pop(self.address, None)
                cuda.freed += 1

        class Context:
            def push(self) -> None:
                cuda.contexts.append(self)

            @staticmethod
            def pop() -> None:
                cuda.contexts.pop()

            def detach(self) -> None:
                cuda.detached += 1

        class Device:
            def __init__(self, index: int) -> None:
                self.index = index

            def compute_capability(self) -> tuple[int, int]:
                return cuda.capability

            def make_context(self) -> Context:
                context = Context()
                cuda.contexts.append(context)
                return context

        class Stream:
            handle = 7

            def synchronize(self) -> None:
                pass

        self.Allocation, self.Context, self.Device, self.Stream = (
            Allocation,
            Context,
            Device,
            Stream,
        )

    # The module-level functions of pycuda.driver.
    def init(self) -> None:
        pass

    def mem_alloc(self, nbytes: int) -> Any:
        return self.Allocation(nbytes)

    @staticmethod
    def pagelocked_empty(count: int, dtype: Any) -> np.ndarray:
        return np.empty(count, dtype)

    @staticmethod
    def memcpy_htod_async(dest: Any, host: np.ndarray, stream: Any) -> None:
        raw = np.ascontiguousarray(host).view(np.uint8).ravel()
        dest.data[: raw.size] = raw

    @staticmethod
    def memcpy_dtoh_async(host: np.ndarray, src: Any, stream: Any) -> None:
        raw = host.view(np.uint8).reshape(-1)
        raw[:] = src.data[: raw.size]

    def module(self) -> types.ModuleType:
        driver = types.ModuleType("pycuda.driver")
        for name in (
            "init",
            "mem_alloc",
            "pagelocked_empty",
            "memcpy_htod_async",
            "memcpy_dtoh_async",
        ):
            setattr(driver, name, getattr(self, name))
        driver.Device, driver.Context, driver.Stream = self.Device, self.Context, self.Stream
        return driver


class FakeTrt:
    """Fake tensorrt module state: counts builds, records builder settings."""

    def __init__(self, cuda: FakeCuda, version: str = "10.99.0") -> None:
        self.cuda = cuda
        self.version = version
        self.fast_fp16 = True
        self.fp16_damage = False
        self.builds: list[str] = []
        self.workspace: list[int] = []
        self.refuse_plans = False

    def module(self) -> types.ModuleType:  # noqa: C901 - one fake API surface
        fake = self
        trt = types.ModuleType("tensorrt")
        trt.__version__ = self.version
        trt.Logger = type("Logger", (), {"WARNING": 2, "__init__": lambda s, level=2: None})
        trt.MemoryPoolType = types.SimpleNamespace(WORKSPACE="workspace")
        trt.BuilderFlag = types.SimpleNamespace(FP16="fp16")
        trt.TensorIOMode = types.SimpleNamespace(INPUT="input", OUTPUT="output")
        trt.DataType = types.SimpleNamespace(FLOAT="float")
        trt.nptype = lambda dtype: np.float32

        class Network:
            def __init__(self) -> None:
                self.model = b""

            def get_input(self, index: int) -> Any:
                return types.SimpleNamespace(name="x")

        class OnnxParser:
            num_errors = 0

            def __init__(self, network: Network, logger: Any) -> None:
                self.network = network

            def parse(self, model: bytes) -> bool:
                self.network.model = model
                return True

        class Profile:
            def set_shape(self, name: str, low: Any, opt: Any, high: Any) -> None:
                self.shapes = {"name": name, "min": list(low), "opt": list(opt), "max": list(high)}

        class Config:
            def __init__(self) -> None:
                self.fp16, self.profiles = False, []

            def set_memory_pool_limit(self, pool: str, size: int) -> None:
                fake.workspace.append(size)

            def set_flag(self, flag: str) -> None:
                self.fp16 = flag == "fp16"

            def add_optimization_profile(self, profile: Profile) -> None:
                self.profiles.append(profile.shapes)

        class Builder:
            def __init__(self, logger: Any) -> None:
                self.platform_has_fast_fp16 = fake.fast_fp16

            def create_network(self, flags: int = 0) -> Network:
                return Network()

            def create_builder_config(self) -> Config:
                return Config()

            def create_optimization_profile(self) -> Profile:
                return Profile()

            def build_serialized_network(self, network: Network, config: Config) -> bytes:
                fake.builds.append("fp16" if config.fp16 else "fp32")
                meta = {"fp16": config.fp16, "profile": config.profiles[0]}
                return MAGIC + json.dumps(meta).encode() + b"\n" + network.model

        class Context:
            def __init__(self, engine: Engine) -> None:
                self.engine, self.addresses, self.shape = engine, {}, None

            def set_tensor_address(self, name: str, address: int) -> None:
                self.addresses[name] = address

            def set_input_shape(self, name: str, shape: tuple) -> bool:
                profile = self.engine.meta["profile"]
                self.shape = tuple(shape)
                return all(
                    lo <= v <= hi for lo, v, hi in zip(profile["min"], shape, profile["max"])
                )

            def get_tensor_shape(self, name: str) -> tuple:
                n, _, h, w = self.shape
                return (n, 1, h, w)

            def execute_async_v3(self, stream: int) -> bool:
                size = int(np.prod(self.shape))
                source = fake.cuda.buffers[self.addresses["x"]]
                batch = source.data[: size * 4].view(np.float32).reshape(self.shape)
                out = self.engine.session.run(None, {"x": batch})[0]
                if self.engine.meta["fp16"]:
                    out = out.astype(np.float16).astype(np.float32)
                    if fake.fp16_damage:
                        out = out * 0.5
                raw = np.ascontiguousarray(out).view(np.uint8).ravel()
                fake.cuda.buffers[self.addresses["sigmoid_0.tmp_0"]].data[: raw.size] = raw
                return True

        class Engine:
            num_io_tensors = 2

            def __init__(self, meta: dict, model: bytes) -> None:
                self.meta = meta
                self.session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])

            def get_tensor_name(self, index: int) -> str:
                return ["x", "sigmoid_0.tmp_0"][index]

            def get_tensor_mode(self, name: str) -> str:
                return "input" if name == "x" else "output"

            def get_tensor_dtype(self, name: str) -> str:
                return "float"

            def get_tensor_shape(self, name: str) -> tuple:
                return (-1, 3, -1, -1) if name == "x" else (-1, 1, -1, -1)

            def create_execution_context(self) -> Context:
                return Context(self)

        class Runtime:
            def __init__(self, logger: Any) -> None:
                pass

            def deserialize_cuda_engine(self, plan: bytes) -> Engine | None:
                if fake.refuse_plans or not plan.startswith(MAGIC):
                    return None
                header, _, model = plan[len(MAGIC) :].partition(b"\n")
                return Engine(json.loads(header), model)

        trt.Builder, trt.Runtime, trt.OnnxParser = Builder, Runtime, OnnxParser
        return trt


def install(monkeypatch: Any) -> tuple[FakeTrt, FakeCuda]:
    """Put the fakes in sys.modules as `tensorrt`, `pycuda` and `pycuda.driver`."""
    cuda = FakeCuda()
    trt = FakeTrt(cuda)
    driver = cuda.module()
    package = types.ModuleType("pycuda")
    package.driver = driver
    monkeypatch.setitem(__import__("sys").modules, "tensorrt", trt.module())
    monkeypatch.setitem(__import__("sys").modules, "pycuda", package)
    monkeypatch.setitem(__import__("sys").modules, "pycuda.driver", driver)
    return trt, cuda
