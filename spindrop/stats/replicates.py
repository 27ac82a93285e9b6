"""Bootstrap replicates of one cell's metrics, and their compact file format.

A measured cell keeps, per metric, its B replicates on the shared resamples of the sets the metric
was computed from (float32, 4 kB per metric for B = 1000) and, per set, the fingerprint of those
resamples. That is all a paired comparison needs at report time: on shared resamples the
replicate of a difference is the difference of the replicates, so the per-image outcomes
themselves need not be kept (docs/design.md "Statistics").

File format: an ``.npz`` (``numpy.savez_compressed``) with one array ``r/<metric>`` per metric and
``meta``, a JSON string {"sets": {metric: [set, ...]}, "fingerprints": {set: digest}}; it loads
without pickle.
"""
from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from torch import Tensor

from .bootstrap import RESAMPLES, resample_weights, weighted_mean, weights_fingerprint
from .intervals import LEVEL, percentile_interval


@dataclass
class Replicates:
    """metric → (B,) replicates; metric → the sets it was resampled over; set → fingerprint;
    ``sizes``: set → number of images; ``seconds``: time spent computing them."""

    values: dict[str, np.ndarray] = field(default_factory=dict)
    sets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    fingerprints: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @contextmanager
    def timed(self) -> Iterator[None]:
        """Adds the time spent inside the block to ``seconds``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - start

    def weights(self, set_name: str, n: int) -> Tensor:
        """The shared resamples (B, n) of a set, recording its fingerprint and size."""
        self.fingerprints[set_name] = weights_fingerprint(set_name, n, RESAMPLES)
        self.sizes[set_name] = n
        return resample_weights(set_name, n, RESAMPLES)

    def add(self, metric: str, sets: tuple[str, ...], replicates: Tensor) -> None:
        self.values[metric] = replicates.detach().cpu().numpy().astype(np.float32)
        self.sets[metric] = tuple(sets)

    def interval(self, metric: str, level: float = LEVEL) -> tuple[float, float, int]:
        """(ci_low, ci_high, n) of a metric: its percentile interval and its number of images
        (summed over its sets, e.g. ID + OOD for an OOD metric)."""
        low, high = percentile_interval(self.values[metric], level)
        return low, high, sum(self.sizes[s] for s in self.sets[metric])

    def pairs_with(self, other: Replicates, metric: str) -> bool:
        """Whether replicate j of ``metric`` is computed on the same images in both."""
        return (metric in self.values and metric in other.values and self.sets[metric] == other.sets[metric]
                and all(self.fingerprints.get(s) == other.fingerprints.get(s) for s in self.sets[metric])
                and self.values[metric].shape == other.values[metric].shape)

    def to_bytes(self) -> bytes:
        meta = {"sets": {m: list(s) for m, s in self.sets.items()}, "fingerprints": self.fingerprints,
                "sizes": self.sizes}
        buffer = io.BytesIO()
        np.savez_compressed(buffer, meta=np.array(json.dumps(meta)),
                            **{f"r/{m}": v for m, v in self.values.items()})  # type: ignore[arg-type]  # numpy's stub types **kwds against allow_pickle: bool
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Replicates:
        """Raises ValueError (or OSError, KeyError) on a file that is not a replicates file."""
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            values = {k.removeprefix("r/"): npz[k].astype(np.float32) for k in npz.files if k.startswith("r/")}
        return cls(values, {m: tuple(s) for m, s in meta["sets"].items()}, dict(meta["fingerprints"]),
                   {s: int(n) for s, n in meta["sizes"].items()})


def mean_replicates(per_image: dict[str, Tensor], set_name: str = "test") -> Replicates:
    """Bootstrap replicates of metrics that are means over the images of one set, the API for a
    suite's intervals and paired comparisons: ``per_image`` maps each metric name to its per-image
    values x (n,) (e.g. 1.0 where the prediction is correct, for accuracy); replicate b of a metric
    is Σ_i W_bi x_i / n on the set's shared resamples W (:func:`spindrop.stats.resample_weights`,
    the same for every method's cells on that set, so the report pairs them).

    A statistic that is not a mean: ``reps = Replicates()``, ``w = reps.weights(set_name, n)`` (the
    (B, n) resample weights), then ``reps.add(metric, (set_name,), values)`` with the statistic of
    each row of ``w`` (B,), as :func:`spindrop.stats.calibration_replicates` does for ECE."""
    sizes = {len(v) for v in per_image.values()}
    if len(sizes) != 1:
        raise ValueError(f"per-image values of one set must have one length, got {sorted(sizes)}")
    reps = Replicates()
    with reps.timed():
        w = reps.weights(set_name, sizes.pop())
        for metric, values in per_image.items():
            reps.add(metric, (set_name,), weighted_mean(w, values))
    return reps
