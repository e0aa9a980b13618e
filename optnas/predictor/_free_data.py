"""Free statistics of a JointSpace's candidates: the pretraining targets of FBNetV3's predictor.

FBNetV3 (Dai et al., CVPR 2021, Sec. 3.2, "predictor pretraining") pretrains the encoder on
statistics that cost no training: FLOPs and parameters. ``"costs"`` is that: exact
``(log MACs, log params)`` from the analytic count. ``"costs+synflow"`` adds a zero-cost proxy
computed at initialization, log SynFlow (Tanaka et al., NeurIPS 2020; used as a NAS proxy by
Abdelfattah et al., ICLR 2021): ``sum |theta * dR/dtheta|`` for ``R`` the summed output of the
network with absolute weights on an all-ones input. It builds each candidate's network, about
30-70 ms a candidate on one CPU thread for the built-in presets (``benchmarks/zero_cost.py``),
against microseconds for the cost count, so it is computed once per pretraining sample and cached
on disk with the pretrained encoder.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from optnas._errors import ConfigError
from optnas.cost import count_columns
from optnas.space import Arch, JointSpace

__all__ = ["FREE_DATA", "free_data_proxy", "synflow_score"]

FloatArray = npt.NDArray[np.float64]
ProxyFn = Callable[[FloatArray], FloatArray]

#: The choices of ``PredictorConfig.free_data``.
FREE_DATA = ("costs", "costs+synflow")


def synflow_score(arch: Arch, num_classes: int, *, seed: int = 0) -> float:
    """log SynFlow of ``arch`` at initialization (weights drawn with ``seed``; BN in eval mode)."""
    import torch

    from optnas.models import build
    from optnas.space import Recipe

    net = build(arch, Recipe(dropout=0.0, stochastic_depth=0.0), num_classes, seed=seed).double().eval()
    with torch.no_grad():
        for value in net.state_dict().values():
            if value.is_floating_point():
                value.abs_()
    x = torch.ones(1, 3, arch.resolution, arch.resolution, dtype=torch.float64)
    net(x).sum().backward()
    total = sum(float((p * p.grad).detach().abs().sum()) for p in net.parameters() if p.grad is not None)
    return float(np.log(max(total, np.finfo(float).tiny)))


def free_data_proxy(space: JointSpace, num_classes: int, kind: str = "costs") -> tuple[ProxyFn, str]:
    """The proxy function (column rows -> ``(n, k)`` statistics) of ``kind`` and its cache key."""
    if kind not in FREE_DATA:
        raise ConfigError("predictor.free_data", kind, f"expected one of {list(FREE_DATA)}")

    def costs(cols: FloatArray) -> FloatArray:
        cost = count_columns(space, cols, num_classes)
        return np.stack([np.log(cost.macs.astype(float)), np.log(cost.params.astype(float))], axis=1)

    if kind == "costs":
        return costs, "analytic"
    scores: dict[str, float] = {}  # per architecture: many candidates differ in their recipe only

    def with_synflow(cols: FloatArray) -> FloatArray:
        out = np.empty(len(cols))
        for i, (arch, _) in enumerate(space.iter_candidates(np.asarray(cols, dtype=float))):
            if not isinstance(arch, Arch):
                raise ConfigError("predictor.free_data", kind, "needs optnas' own blocks, not a torchvision arch")
            key = str(arch)
            if key not in scores:
                scores[key] = synflow_score(arch, num_classes)
            out[i] = scores[key]
        return np.concatenate([costs(cols), out[:, None]], axis=1)

    return with_synflow, "analytic+synflow"
