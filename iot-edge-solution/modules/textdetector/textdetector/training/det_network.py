"""The detector as a trainable torch network, loaded from the shipped ONNX weights.

The same route as the recogniser (`network.py`): PaddleOCR's PyTorch definition of
`PP-OCRv6_det_small` from the pinned `rapidocr` wheel, fused as the ONNX export has it
(backbone and neck re-parameterised, the binarize head's two BatchNorms folded into the
convolutions before them), then every ONNX convolution's weights copied onto the torch
layer in the same place of the forward order. The output is the probability map
(N, 1, H, W), as the shipped model's.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from ..errors import ModelError
from .architectures import DET_ARCHITECTURES, architecture_of
from .network import _fuse, _Graph, arch_config

PROBE = (1, 3, 64, 64)  # the input traced to find the forward order


def det_architecture_of(model_path: Path) -> str:
    """The network definition of a shipped detector file, else ModelError."""
    return architecture_of(model_path, DET_ARCHITECTURES, "train-det")


class DetNetwork(nn.Module):
    """Backbone, neck and binarize head of a PP-OCR detector; returns the text
    probability map (N, 1, H, W). Always in eval mode: BatchNorm statistics stay frozen."""

    def __init__(self, config: dict) -> None:
        super().__init__()
        from rapidocr.inference_engine.pytorch.networks.architectures.base_model import (
            BaseModel,
        )

        base = BaseModel(config).eval()  # the neck's outputs differ in training mode
        _fuse(base.backbone)
        base.neck.rep()  # rapidocr's module method (re-parameterised branches)
        binarize = base.head.binarize
        binarize.conv_bn1 = nn.Identity()  # folded into conv1 by the export
        binarize.conv_bn2 = nn.Identity()  # folded into conv2 (a transposed conv)
        self.base = base

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x)
        maps = out["maps"] if isinstance(out, dict) else out
        return maps[:, :1]

    def train(self, mode: bool = True) -> DetNetwork:
        return super().train(False)


def _onnx_convs(model: onnx.ModelProto) -> list[list[np.ndarray]]:
    """[weight, bias?] of each Conv and ConvTranspose node in graph order (a bias folded
    into a following Add is taken from there)."""
    graph = _Graph.of(model)
    layers = []
    for node in model.graph.node:
        if node.op_type not in ("Conv", "ConvTranspose"):
            continue
        tensors = [graph.weights[n] for n in node.input[1:] if n in graph.weights]
        if len(tensors) == 1 and (bias := graph.bias_after(node)) is not None:
            tensors.append(bias.reshape(-1))
        layers.append(tensors)
    return layers


def _torch_convs(net: nn.Module) -> list[nn.Conv2d | nn.ConvTranspose2d]:
    """The convolutions of `net` in forward order (a traced pass)."""
    order: list[nn.Conv2d | nn.ConvTranspose2d] = []
    kinds = (nn.Conv2d, nn.ConvTranspose2d)
    hooks = [
        m.register_forward_hook(lambda mod, _i, _o: order.append(mod))
        for m in net.modules()
        if type(m) in kinds
    ]
    with torch.no_grad():
        net(torch.zeros(PROBE))
    for hook in hooks:
        hook.remove()
    return order


def _assign(module: nn.Conv2d | nn.ConvTranspose2d, tensors: list[np.ndarray]) -> None:
    weight = torch.from_numpy(np.array(tensors[0], copy=True))
    if tuple(module.weight.shape) != tuple(weight.shape):
        raise ModelError(f"a layer's shape {tuple(module.weight.shape)} != ONNX {weight.shape}")
    with torch.no_grad():
        module.weight.copy_(weight)
        if len(tensors) == 2:
            if module.bias is None:
                module.bias = nn.Parameter(
                    torch.zeros(module.weight.shape[0 if isinstance(module, nn.Conv2d) else 1])
                )
            module.bias.copy_(torch.from_numpy(np.array(tensors[1], copy=True)))
        elif module.bias is not None:
            module.bias.zero_()


def det_from_onnx(model_path: Path, architecture: str | None = None) -> DetNetwork:
    """The torch detector holding the weights of the ONNX file `model_path`."""
    net = DetNetwork(arch_config(architecture or det_architecture_of(model_path)))
    ours, theirs = _torch_convs(net), _onnx_convs(onnx.load(str(model_path)))
    if len(ours) != len(theirs):
        raise ModelError(
            f"the ONNX graph's convolutions ({len(theirs)}) do not line up with the network "
            f"definition's ({len(ours)})"
        )
    for module, tensors in zip(ours, theirs):
        _assign(module, tensors)
    return net.eval()


def export_det(net: DetNetwork, path: Path) -> Path:
    """`net` as ONNX with the shipped interface: input `x` (N, 3, H, W), output
    `fetch_name_0` (N, 1, H, W), batch and sides dynamic."""
    from .export import INPUT, OPSET, OUTPUT

    axes = {0: "n", 2: "h", 3: "w"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on constant folding
        torch.onnx.export(
            net.eval(),
            (torch.zeros(1, 3, 320, 320),),
            str(path),
            input_names=[INPUT],
            output_names=[OUTPUT],
            dynamic_axes={INPUT: axes, OUTPUT: axes},
            opset_version=OPSET,
            dynamo=False,
        )
    onnx.checker.check_model(str(path))
    return path


def onnx_maps(path: Path, blob: np.ndarray) -> np.ndarray:
    """The probability map ONNX Runtime computes for `blob` (N, 3, H, W) with `path`."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {session.get_inputs()[0].name: blob})[0])


def map_difference(net: DetNetwork, path: Path, blob: np.ndarray) -> float:
    """Largest difference between `net`'s probability map and the ONNX file's."""
    with torch.no_grad():
        ours = net(torch.from_numpy(blob)).numpy()
    return float(np.abs(ours - onnx_maps(path, blob)).max())
