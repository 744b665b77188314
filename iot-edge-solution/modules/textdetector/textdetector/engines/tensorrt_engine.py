"""TensorRT engine for NVIDIA GPUs (TensorRT 10 + pycuda), imported only when chosen."""
from __future__ import annotations

from ..config import EngineSettings
from ..errors import EngineUnavailableError

INSTALL_HINT = ("TensorRT runs in the amd64-cuda dev container or on a Jetson (JetPack 6); "
                "set USE_TENSOR_RT=false to use ONNX Runtime on the CPU")


def _require_tensorrt():
    try:
        import tensorrt  # noqa: F401
        import pycuda.driver  # noqa: F401
    except ImportError as exc:
        raise EngineUnavailableError(
            f"USE_TENSOR_RT is true but {exc.name or 'tensorrt'} is not installed; "
            + INSTALL_HINT) from None


class TensorRTEngine:
    """Placeholder until the TensorRT engine lands: checks what is installed."""

    name = "tensorrt"

    @classmethod
    def open(cls, settings: EngineSettings) -> "TensorRTEngine":
        _require_tensorrt()
        raise EngineUnavailableError("the TensorRT engine is not implemented yet; "
                                     + INSTALL_HINT)
