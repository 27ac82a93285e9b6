"""Deep ensemble (Lakshminarayanan et al., "Simple and scalable predictive uncertainty estimation
using deep ensembles", NeurIPS 2017) of M deterministic binary networks (docs/design.md "Deep
ensemble").

Members: replicate (training seed) s of the ensemble is made of the deterministic networks trained
with seeds s·M, s·M + 1, …, s·M + M − 1 (:meth:`DeepEnsemble.members`), so no two replicates share
a member and the replicates the verdicts compare over seeds stay independent. Member seeds that are
also the deterministic method's own seeds (0, 1, 2 for replicate 0 with M = 5) reuse its cached
checkpoints: the ensemble's rows and the deterministic rows may then share networks, which a
comparison between those two rows must keep in mind (each row's replicates are still independent).

Prediction: the mean of the members' predictive distributions, p̄ = (1/M) Σ_m softmax(z_m); the
members are deterministic, so a run's T MC samples are T copies of it (no mutual information).

Hardware: **M crossbar copies**, one per member, each holding its member's weights (rewriting the
MTJ weights between sequential passes would cost a write per cell per image). Every per-copy term
of the cost model is M times one member's: crossbar reads, sense amplifiers and bit-serial input
periphery per image; tiles, cells and sense-amplifier area. The copies are priced as M networks
evaluated in turn, so the modelled latency is M times one member's too (running them concurrently
would give one member's latency; not credited). No dropout modules, no random draws.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn

from spindrop.methods.base import HardwarePlan, Member, Method
from spindrop.registry import register_method


@dataclass(frozen=True)
class EnsembleConfig:
    """members: M, the number of deterministic binary networks (≥ 2; 5 as Lakshminarayanan et al.)."""

    members: int = 5

    def __post_init__(self) -> None:
        if self.members < 2:
            raise ValueError(f"an ensemble needs members >= 2, not {self.members}: pass e.g. members=5")


class EnsembleNetwork(nn.Module):
    """The members evaluated side by side; forward returns log p̄, the log of the mean of their
    softmax outputs (so softmax(forward(x)) = p̄)."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: Tensor) -> Tensor:
        log_probs = torch.stack([m(x).log_softmax(-1) for m in self.members])
        return torch.logsumexp(log_probs, 0) - torch.log(torch.tensor(float(len(self.members))))


@register_method
class DeepEnsemble(Method):
    """M deterministic binary networks of distinct training seeds; the prediction is their mean."""

    name = "ensemble"
    Config = EnsembleConfig
    stochastic = False
    summary = "deep ensemble of M deterministic BNNs (Lakshminarayanan et al. 2017), M crossbar copies"

    def members(self, seed: int) -> tuple[Member, ...]:
        m = self.config.members
        return tuple(Member("deterministic", (), seed * m + k) for k in range(m))

    def combine(self, networks: list[nn.Module]) -> nn.Module:
        return EnsembleNetwork(networks)

    def hardware_plan(self, model: nn.Module, input_shape: tuple[int, ...]) -> HardwarePlan:
        """One member's layers (``model`` is one member's architecture), built M times."""
        return replace(super().hardware_plan(model, input_shape), copies=self.config.members)
