"""Monte-Carlo inference: T stochastic forward passes with the dropout sites sampling.

Two modes, both kept (docs/design.md "MC inference"):

* ``loop``: T forward passes of the batch (default: on the 2-core CPU it was faster).
* ``batched``: the batch repeated T times along the batch dimension, in chunks of at most
  ``chunk`` replicas so memory stays bounded; every row of the repeated batch is an
  independent pass of one image (all sites draw per image), so both modes sample alike.

The deterministic prefix, the top-level stages of an ``nn.Sequential`` model before the first
stage holding a dropout site, is computed once and reused by every pass.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Literal, TypedDict, Unpack

import torch
from torch import Tensor, nn

from .methods.base import dropout_sites
from .metrics.uncertainty import max_softmax, mutual_information, predictive_entropy

Mode = Literal["loop", "batched"]
DEFAULT_MODE: Mode = "loop"
DEFAULT_MAX_ROWS = 4096


@dataclass
class MCOutput:
    """Per-sample class probabilities ``probs`` of shape (T, B, C) and their summaries.

    ``stochastic`` is False for a network without dropout sites: its T samples are one pass
    repeated, so its mutual information is exactly 0 by construction (not computed).
    """

    probs: Tensor
    stochastic: bool = True

    @property
    def mean(self) -> Tensor:
        """Predictive mean p̄ = (1/T) Σ_t p_t, shape (B, C)."""
        return self.probs.mean(0)

    @property
    def entropy(self) -> Tensor:
        """Predictive entropy H[p̄] (nats), shape (B,)."""
        return predictive_entropy(self.probs)

    @property
    def mutual_info(self) -> Tensor:
        """Mutual information H[p̄] − (1/T) Σ_t H[p_t] (epistemic), shape (B,); exactly 0 for a
        non-stochastic network (computing it would give float rounding noise)."""
        if not self.stochastic:
            return torch.zeros(self.probs.shape[1], dtype=self.probs.dtype, device=self.probs.device)
        return mutual_information(self.probs)

    @property
    def msp(self) -> Tensor:
        """Maximum softmax probability of the predictive mean, shape (B,)."""
        return max_softmax(self.probs)


@contextmanager
def mc_sampling(model: nn.Module, enabled: bool = True) -> Iterator[None]:
    """Turn MC sampling of every dropout site on (or off) for the duration of the block."""
    state = [(s, s.mc) for s in dropout_sites(model)]
    for s, _ in state:
        s.mc = enabled
    try:
        yield
    finally:
        for s, mc in state:
            s.mc = mc


def split_prefix(model: nn.Module) -> tuple[nn.Module, nn.Module]:
    """(prefix, rest): the deterministic leading stages of a Sequential model and the rest.

    Models that are not ``nn.Sequential`` have an empty prefix.
    """
    if not isinstance(model, nn.Sequential):
        return nn.Sequential(), model
    stages = list(model)
    first = next((i for i, m in enumerate(stages) if dropout_sites(m)), len(stages))
    return nn.Sequential(*stages[:first]), nn.Sequential(*stages[first:])


@contextmanager
def _seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed the RNG for the block and restore the previous state afterwards."""
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        yield


@torch.no_grad()
def mc_predict(model: nn.Module, x: Tensor, T: int = 20, mode: Mode = DEFAULT_MODE,
               chunk: int | None = None, seed: int | None = None, reuse_prefix: bool = True) -> MCOutput:
    """T MC samples of ``model`` on batch ``x``.

    ``chunk``: replicas per forward in ``batched`` mode (default: rows bounded by 4096).
    ``seed``: seeds the mask draws (the global RNG state is restored afterwards).
    A model without dropout sites is evaluated once and its output repeated T times.
    """
    if T < 1:
        raise ValueError(f"number of MC samples T={T} must be >= 1")
    if mode not in ("loop", "batched"):
        raise ValueError(f"unknown MC mode '{mode}'; use 'loop' or 'batched'")
    was_training = model.training
    model.eval()
    try:
        with nullcontext() if seed is None else _seeded(seed, x.device):
            if not dropout_sites(model):
                return MCOutput(model(x).softmax(-1).float().unsqueeze(0).expand(T, -1, -1), stochastic=False)
            prefix, rest = split_prefix(model) if reuse_prefix else (nn.Sequential(), model)
            h = prefix(x)
            if mode == "loop":
                with mc_sampling(model):
                    logits = torch.stack([rest(h) for _ in range(T)])
            else:
                chunk = chunk or max(1, DEFAULT_MAX_ROWS // max(1, x.shape[0]))
                parts = []
                for start in range(0, T, chunk):
                    r = min(chunk, T - start)
                    with mc_sampling(model):
                        out = rest(h.repeat(r, *([1] * (h.dim() - 1))))
                    parts.append(out.view(r, x.shape[0], -1))
                logits = torch.cat(parts)
    finally:
        model.train(was_training)
    return MCOutput(logits.softmax(-1).float())


class MCOptions(TypedDict, total=False):
    """The keyword options of :func:`mc_predict` that :func:`mc_predict_loader` passes on
    (``seed`` it takes itself)."""

    mode: Mode
    chunk: int | None
    reuse_prefix: bool


def mc_predict_loader(model: nn.Module, batches: Iterable[tuple[Tensor, Tensor]], T: int = 20,
                      device: torch.device | str = "cpu", seed: int | None = None,
                      **kwargs: Unpack[MCOptions]) -> tuple[MCOutput, Tensor]:
    """MC predictions over a whole loader: probabilities (T, N, C) and labels (N,).

    ``kwargs`` go to :func:`mc_predict`; with a ``seed``, batch i uses ``seed + i``.
    """
    probs, labels, stochastic = [], [], False
    for i, (x, y) in enumerate(batches):
        out = mc_predict(model, x.to(device), T, seed=None if seed is None else seed + i, **kwargs)
        stochastic |= out.stochastic
        probs.append(out.probs.cpu())
        labels.append(y.cpu())
    return MCOutput(torch.cat(probs, 1), stochastic=stochastic), torch.cat(labels)
