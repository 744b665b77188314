"""Weight-space merge of the fine-tuned and shipped recognisers (WiSE-FT).

Fine-tuning on one domain wears away some of what the shipped model read well. Moving
the fine-tuned weights part of the way back towards the shipped ones,
`alpha * tuned + (1 - alpha) * shipped`, keeps most of the domain gain and gives back
much of the general reading (Wortsman et al., "Robust fine-tuning of zero-shot models",
CVPR 2022). `alpha` is chosen on the domain val split only: the smallest of `ALPHAS`
that keeps `KEEP_GAIN` of what fine-tuning gained there over the shipped model. The
project's evaluation sets are never looked at here; the gates measure them afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import torch

log = logging.getLogger(__name__)
ALPHAS = (0.5, 0.6, 0.7, 0.8, 0.9)  # tried in this order; 1.0 (no merge) is the fallback
KEEP_GAIN = 0.9  # share of the val gain over the shipped model the merge must keep


def interpolate(
    tuned: Mapping[str, torch.Tensor], shipped: Mapping[str, torch.Tensor], alpha: float
) -> dict[str, torch.Tensor]:
    """`alpha * tuned + (1 - alpha) * shipped` for every floating-point tensor.

    Integer buffers (BatchNorm's step counter) stay the tuned ones. A classifier grown
    by --add-chars has rows the shipped model lacks: the shared rows (all but the new
    ones, which sit just before the last) are interpolated, the new rows stay tuned.
    """
    merged = {}
    for name, value in tuned.items():
        base = shipped.get(name)
        if base is None or not value.is_floating_point():
            merged[name] = value.clone()
        elif base.shape == value.shape:
            merged[name] = alpha * value + (1.0 - alpha) * base.to(value.device)
        else:
            merged[name] = _grown(value, base.to(value.device), alpha)
    return merged


def _grown(value: torch.Tensor, base: torch.Tensor, alpha: float) -> torch.Tensor:
    """A grown classifier tensor: shared leading rows and the last row interpolated."""
    out = value.clone()
    shared = base.shape[0] - 1
    out[:shared] = alpha * value[:shared] + (1.0 - alpha) * base[:shared]
    out[-1] = alpha * value[-1] + (1.0 - alpha) * base[-1]
    return out


def choose(
    net: torch.nn.Module,
    shipped: Mapping[str, torch.Tensor],
    accuracy: Callable[[], float],
    stock: float,
    alphas: tuple[float, ...] = ALPHAS,
) -> tuple[float, list[dict[str, float]]]:
    """Load into `net` the merge of the smallest of `alphas` whose val accuracy keeps
    KEEP_GAIN of the fine-tuned weights' gain over `stock` (the shipped model's val
    accuracy); returns alpha and what each try measured."""
    tuned = {k: v.detach().clone() for k, v in net.state_dict().items()}
    best = accuracy()
    tries = [{"alpha": 1.0, "val": best}]
    floor = stock + KEEP_GAIN * (best - stock)
    for alpha in alphas if best > stock else ():
        net.load_state_dict(interpolate(tuned, shipped, alpha))
        value = accuracy()
        tries.append({"alpha": alpha, "val": value})
        if value >= floor - 1e-9:
            log.info("weights merged at alpha %.1f: val %.3f (fine-tuned %.3f)", alpha, value, best)
            return alpha, tries
    net.load_state_dict(tuned)
    log.info("no merge kept val at %.3f or more: the fine-tuned weights stay", floor)
    return 1.0, tries
