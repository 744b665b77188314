"""The recogniser as a trainable torch network, loaded from the shipped ONNX weights.

PaddleOCR's PyTorch definitions of the PP-OCR networks ship in the pinned `rapidocr`
wheel (`inference_engine/pytorch/networks`, `arch_config.yaml`); the ONNX export of the
same network holds its weights with every Conv+BatchNorm (and re-parameterised depthwise
branch) fused. So the torch network is built, fused the same way (`rep()`), and each ONNX
weight is copied onto the torch parameter in the same place of the forward order.
`check_parity` then shows the torch forward equals ONNX Runtime before anything trains.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

from ..errors import ModelError
from .architectures import architecture_of

RAPIDOCR_VERSION = "3.10.0"
# The stem's 2x2 'same' convolutions pad a copy of their input: expected, not a fault.
warnings.filterwarnings("ignore", message="Using padding='same' with even kernel")


def arch_config(name: str) -> dict:
    """The `arch_config.yaml` entry of `name` from the pinned rapidocr wheel."""
    try:
        import rapidocr
        import rapidocr.inference_engine.pytorch.networks as networks
        import yaml  # type: ignore[import-untyped]  # no stubs installed
    except ImportError as exc:  # pragma: no cover - the train extra installs it
        raise ModelError(f"train-rec needs rapidocr=={RAPIDOCR_VERSION} ({exc})") from None
    version = getattr(rapidocr, "__version__", RAPIDOCR_VERSION)
    if version != RAPIDOCR_VERSION:
        raise ModelError(f"train-rec needs rapidocr=={RAPIDOCR_VERSION}, found {version}")
    configs = yaml.safe_load((Path(networks.__file__).parent / "arch_config.yaml").read_text())
    if name not in configs:
        raise ModelError(f"no network definition for {name} in rapidocr {version}")
    return copy.deepcopy(configs[name])


class Recogniser(nn.Module):
    """Backbone, CTC neck and CTC classifier of a PP-OCR recogniser; returns logits
    (N, steps, classes). Always run in eval mode: BatchNorm statistics stay frozen and the
    pooling keeps its inference shape while the weights are fine-tuned."""

    def __init__(self, config: dict) -> None:
        super().__init__()
        from rapidocr.inference_engine.pytorch.networks.architectures.base_model import (
            BaseModel,
        )

        base = BaseModel(config)
        _fuse(base.backbone)  # the fused layout the ONNX export has
        self.backbone = base.backbone
        self.encoder = base.head.ctc_encoder
        self.fc = base.head.ctc_head.fc

    @property
    def classes(self) -> int:
        return int(self.fc.out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.encoder(self.backbone(x)))

    def train(self, mode: bool = True) -> Recogniser:
        return super().train(False)


def _fuse(backbone: nn.Module) -> None:
    """`rep()` the backbone, keeping 'same' padding where the definition asked for it
    (its fusing turns a 2x2 'same' convolution into an unpadded one)."""
    same = [n for n, m in backbone.named_modules() if getattr(m, "padding", None) == "same"]
    backbone.rep()  # type: ignore[operator]  # rapidocr's module method
    modules = dict(backbone.named_modules())
    for name in same:
        fused = modules.get(name) or modules.get(name.rsplit(".", 1)[0])
        if isinstance(fused, nn.Conv2d):
            fused.padding = "same"


STAGES = ("conv1", "blocks2", "blocks3", "blocks4", "blocks5", "blocks6")


def freeze(net: Recogniser, stages: int) -> int:
    """Keep the first `stages` backbone stages as shipped; returns the trainable count."""
    for name in STAGES[:stages]:
        for parameter in getattr(net.backbone, name).parameters():
            parameter.requires_grad_(False)
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


class Probabilities(nn.Module):
    """The exported graph: softmax over the classes, as the shipped model outputs."""

    def __init__(self, net: Recogniser) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(x), dim=2)


@dataclass
class _Graph:
    """An ONNX graph's initializers and, per tensor, the nodes consuming it."""

    weights: dict[str, np.ndarray]
    consumers: dict[str, list[onnx.NodeProto]]

    @classmethod
    def of(cls, model: onnx.ModelProto) -> _Graph:
        weights = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
        consumers: dict[str, list[onnx.NodeProto]] = {}
        for node in model.graph.node:
            for name in node.input:
                consumers.setdefault(name, []).append(node)
        return cls(weights, consumers)

    def constant_of(self, node: onnx.NodeProto) -> np.ndarray | None:
        found = [self.weights[n] for n in node.input if n in self.weights]
        return found[0] if len(found) == 1 else None

    def follow(self, output: str, op: str) -> onnx.NodeProto | None:
        """The single `op` node consuming `output` through Identity nodes, if any."""
        nodes = self.consumers.get(output, [])
        while len(nodes) == 1 and nodes[0].op_type == "Identity":
            nodes = self.consumers.get(nodes[0].output[0], [])
        return nodes[0] if len(nodes) == 1 and nodes[0].op_type == op else None

    def bias_after(self, node: onnx.NodeProto) -> np.ndarray | None:
        add = self.follow(node.output[0], "Add")
        return None if add is None else self.constant_of(add)


def _onnx_layers(model: onnx.ModelProto) -> Iterator[tuple[str, list[np.ndarray]]]:
    """(kind, tensors) of each weighted layer in graph order: conv [w, b?], bn [w, b, mean,
    var], linear [w (out, in), b?], layernorm [w, b]."""
    graph = _Graph.of(model)
    for node in model.graph.node:
        if node.op_type == "Conv":
            tensors = [graph.weights[n] for n in node.input[1:] if n in graph.weights]
            bias = None if len(tensors) > 1 else graph.bias_after(node)
            yield "conv", tensors + ([bias.reshape(-1)] if bias is not None else [])
        elif node.op_type == "BatchNormalization":
            yield "bn", [graph.weights[n] for n in node.input[1:5]]
        elif node.op_type == "MatMul" and node.input[1] in graph.weights:
            bias = graph.bias_after(node)
            weight = graph.weights[node.input[1]].T
            yield "linear", [weight] + ([bias] if bias is not None else [])
        elif node.op_type == "Div" and (mul := graph.follow(node.output[0], "Mul")) is not None:
            scale = graph.constant_of(mul)
            shift = graph.bias_after(mul)
            if scale is not None and shift is not None:
                yield "layernorm", [scale.reshape(-1), shift.reshape(-1)]


def _torch_layers(net: nn.Module) -> list[tuple[str, str, nn.Module]]:
    """(kind, name, module) of each weighted layer in forward order (a traced pass)."""
    kinds = {
        nn.Conv2d: "conv",
        nn.BatchNorm2d: "bn",
        nn.Linear: "linear",
        nn.LayerNorm: "layernorm",
    }
    order: list[tuple[str, str, nn.Module]] = []
    hooks = [
        module.register_forward_hook(
            lambda mod, _i, _o, name=name: order.append((kinds[type(mod)], name, mod))
        )
        for name, module in net.named_modules()
        if type(module) in kinds
    ]
    with torch.no_grad():
        net(torch.zeros(1, 3, 48, 320))
    for hook in hooks:
        hook.remove()
    return order


def _assign(kind: str, name: str, module: nn.Module, tensors: list[np.ndarray]) -> None:
    names = ["weight", "bias", "running_mean", "running_var"] if kind == "bn" else ["weight"]
    if kind != "bn" and getattr(module, "bias", None) is not None:
        names.append("bias")
    targets = [t for t in (getattr(module, n) for n in names) if isinstance(t, torch.Tensor)]
    if len(targets) != len(tensors):
        raise ModelError(f"{name}: ONNX gives {len(tensors)} tensors, torch has {len(targets)}")
    for target, value in zip(targets, tensors):
        if tuple(target.shape) != value.shape:
            raise ModelError(f"{name}: shape {tuple(target.shape)} != ONNX {value.shape}")
        with torch.no_grad():
            target.copy_(torch.from_numpy(np.array(value, copy=True)))


def load_onnx_weights(net: Recogniser, model: onnx.ModelProto) -> int:
    """Copy every ONNX weight onto `net`; ModelError when the layouts differ. Returns the
    number of layers set."""
    ours, theirs = _torch_layers(net), list(_onnx_layers(model))
    if [k for k, _, _ in ours] != [k for k, _ in theirs]:
        raise ModelError(
            f"the ONNX graph's layers ({len(theirs)}) do not line up with the network "
            f"definition's ({len(ours)})"
        )
    for (kind, name, module), (_, tensors) in zip(ours, theirs):
        _assign(kind, name, module, tensors)
    return len(ours)


def from_onnx(model_path: Path, architecture: str | None = None) -> Recogniser:
    """The torch recogniser holding the weights of the ONNX file `model_path`."""
    model = onnx.load(str(model_path))
    net = Recogniser(arch_config(architecture or architecture_of(model_path)))
    classes = model.graph.output[0].type.tensor_type.shape.dim[-1].dim_value
    if classes and classes != net.classes:
        raise ModelError(f"{model_path.name} outputs {classes} classes, the network {net.classes}")
    load_onnx_weights(net, model)
    return net.eval()


def grow_classes(net: Recogniser, added: int) -> None:
    """Append `added` classes before the last one (the space stays last): new rows start
    from the blank's bias minus a margin so the model does not pick them before it learns."""
    if added <= 0:
        return
    old = net.fc
    fc = nn.Linear(old.in_features, old.out_features + added)
    with torch.no_grad():
        fc.weight[: -1 - added].copy_(old.weight[:-1])
        fc.bias[: -1 - added].copy_(old.bias[:-1])
        fc.weight[-1].copy_(old.weight[-1])
        fc.bias[-1].copy_(old.bias[-1])
        fc.weight[-1 - added : -1].normal_(0.0, 0.01, generator=torch.Generator().manual_seed(0))
        fc.bias[-1 - added : -1].fill_(float(old.bias.min()))
    net.fc = fc


PARITY_TOLERANCE = 1e-4  # largest probability difference torch may have against ORT


def check_parity(net: Recogniser, model_path: Path, crops: list[np.ndarray]) -> dict[str, float]:
    """Torch against ONNX Runtime on `crops` before training: the largest probability
    difference and the share of steps whose argmax differs; ModelError beyond tolerance."""
    import onnxruntime as ort

    from .batches import model_input

    x = model_input(crops)
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    reference = session.run(None, {session.get_inputs()[0].name: x})[0]
    with torch.no_grad():
        ours = torch.softmax(net(torch.from_numpy(x).to(next(net.parameters()).device)), 2)
    ours_np = ours.cpu().numpy()
    report = {
        "crops": float(len(crops)),
        "max_abs_diff": float(np.abs(ours_np - reference).max()),
        "argmax_differs": float((ours_np.argmax(2) != reference.argmax(2)).mean()),
    }
    if report["max_abs_diff"] > PARITY_TOLERANCE:
        raise ModelError(
            f"the torch network differs from {model_path.name} by "
            f"{report['max_abs_diff']:.2e} (> {PARITY_TOLERANCE}) before training"
        )
    return report
