"""Zoo entries: a network's packed weights (``<name>.npz``, :mod:`spindrop.zoo.pack`) and its JSON
record (``<name>.json``), in the spirit of RobustBench's model records: what the network is (dataset,
model, width, method with its resolved parameters, training profile and seed), how it was evaluated
(profile, T, seed, ``number_forward_passes``), its measured numbers with their 95 % intervals, its
modelled cost, and where it came from (code fingerprint, git commit, the weights' sha256)."""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from ..data import dataset_info
from ..registry import get_method
from ..store import atomic_write_text
from ..training.spec import TrainSpec
from .pack import pack_state, unpack_state

if TYPE_CHECKING:
    import pandas as pd

ZOO_ROOT = Path(__file__).resolve().parent / "entries"
"""The zoo shipped with the package."""


def zoo_root(root: str | Path | None = None) -> Path:
    """``root``, else ``$SPINDROP_ZOO``, else the zoo shipped with the package (:data:`ZOO_ROOT`)."""
    return Path(root if root is not None else os.environ.get("SPINDROP_ZOO", ZOO_ROOT))

RECORD_METRICS = re.compile(r"^(test/(acc|nll|brier|cal/ECE)|ood/[^/]+/entropy/AUROC"
                            r"|hw/(modules|draws|energy/total_nJ))$")
"""The numbers a record keeps (the evaluator's frame has them all; results.csv has the rest)."""

EVAL_THREADS = 1
"""Intra-op threads of a record's evaluation: binary networks are sensitive to the order of float
sums, so a record is reproduced exactly with the same thread count (docs/design.md "Model zoo")."""


class ZooError(LookupError):
    """No such entry, or an entry whose files do not match its record."""


@dataclass(frozen=True)
class Architecture:
    """What rebuilds an entry's network: dataset (input shape, classes), model, width, method."""

    dataset: str
    model: str
    width: float
    method: str
    method_params: Mapping[str, object]

    def build(self) -> nn.Module:
        """The untrained network with the method's dropout sites."""
        from ..training.module import build_network  # Lightning: imported on first use
        info = dataset_info(self.dataset)
        spec = TrainSpec(self.dataset, self.model, self.width, self.method, dict(self.method_params))
        return build_network(spec, info.shape, info.num_classes)

    def name(self, seed: int, profile: str) -> str:
        """``<dataset>-<model>x<width>-<method>-<profile>-s<seed>``, e.g. ``mnist-lenet5x2-spatial-quick-s0``."""
        return f"{self.dataset}-{self.model}x{self.width:g}-{self.method}-{profile}-s{seed}"


def names(root: str | Path | None = None) -> list[str]:
    """Names of the entries under ``root`` (default: :func:`zoo_root`), sorted."""
    return sorted(p.stem for p in zoo_root(root).glob("*.json"))


def record(name: str, root: str | Path | None = None) -> dict:
    """The JSON record of entry ``name``."""
    path = zoo_root(root) / f"{name}.json"
    if not path.is_file():
        known = names(root)
        raise ZooError(f"no zoo entry '{name}' in {zoo_root(root)}; entries: {', '.join(known) or 'none'}")
    return json.loads(path.read_text())


def load(name: str, root: str | Path | None = None) -> nn.Module:
    """Entry ``name``'s network in eval mode with its method's dropout sites, ready for
    :func:`spindrop.mc_predict` (or :func:`spindrop.evaluate` with the record's method)."""
    rec = record(name, root)
    data = weights_path(rec, root).read_bytes()
    if hashlib.sha256(data).hexdigest() != rec["weights"]["sha256"]:
        raise ZooError(f"zoo entry '{name}': {rec['weights']['file']} is not the file its record names "
                       "(sha256 differs); export it again")
    net = architecture(rec).build()
    net.load_state_dict(unpack_state(data))
    return net.eval()


def weights_path(rec: Mapping, root: str | Path | None = None) -> Path:
    """The packed weights of the entry with record ``rec``."""
    return zoo_root(root) / rec["weights"]["file"]


def architecture(rec: Mapping) -> Architecture:
    return Architecture(rec["dataset"], rec["model"], float(rec["width"]), rec["method"], rec["method_params"])


@contextmanager
def threads(n: int) -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def evaluate_entry(net: nn.Module, rec: Mapping, data_root: str | Path | None = None) -> pd.DataFrame:
    """:func:`spindrop.evaluate` of ``net`` as the record ``rec`` was evaluated (profile, T, seed,
    :data:`EVAL_THREADS` threads)."""
    from ..evaluation import evaluate
    ev = rec["evaluation"]
    options = {} if ev.get("preset") is None else {"preset": ev["preset"]}
    with threads(EVAL_THREADS):
        return evaluate(net, rec["dataset"], method=rec["method"], T=ev["T"], seed=ev["seed"], profile=ev["profile"],
                        data_root=data_root, **options)


def export(net: nn.Module, arch: Architecture, *, seed: int, profile: str, T: int | None = None,
           root: str | Path | None = None, data_root: str | Path | None = None, code: str | None = None,
           commit: str | None = None, source: Mapping[str, object] | None = None,
           preset: str | None = None) -> dict:
    """Write ``net`` (trained with ``seed`` under ``profile``) as a zoo entry under ``root`` and return
    its record (``preset``: the cost model's hardware preset, None: its default). The record's numbers
    are those of the *stored* network, evaluated by :func:`evaluate_entry`, so loading the entry and
    evaluating it again reproduces them exactly."""
    from ..training.profiles import get_profile
    root = zoo_root(root)
    name = arch.name(seed, profile)
    data = pack_state(net)
    atomic_write_text(root / f"{name}.npz", data)
    method = get_method(arch.method, **dict(arch.method_params))
    T = get_profile(profile).eval.mc_samples if T is None else T
    rec: dict = {
        "name": name, "dataset": arch.dataset, "model": arch.model, "width": arch.width, "method": arch.method,
        "method_params": method.params(), "profile": profile, "seed": seed,
        "evaluation": {"profile": profile, "T": T, "seed": seed, "threads": EVAL_THREADS, "masks": "ideal",
                       "preset": preset},
        "weights": {"file": f"{name}.npz", "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                    "format": "binary weights bit-packed (numpy.packbits of W >= 0), other tensors fp32"},
        "code_fingerprint": code, "git_commit": commit, "source": dict(source or {}),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    stored = load_packed(arch, data)
    frame = evaluate_entry(stored, rec, data_root)
    rec["number_forward_passes"] = T if frame.attrs["stochastic"] else 1
    rec["metrics"] = {row.metric: {"value": _number(row.value), "ci_low": _number(row.ci_low),
                                   "ci_high": _number(row.ci_high), "n": None if row.n is None else _number(row.n),
                                   "kind": row.kind, "unit": row.unit}
                      for row in frame.itertuples() if RECORD_METRICS.match(row.metric)}
    rec["hardware_note"] = frame.attrs["hardware_note"]
    atomic_write_text(root / f"{name}.json", json.dumps(rec, indent=1))
    return rec


def load_packed(arch: Architecture, data: bytes) -> nn.Module:
    net = arch.build()
    net.load_state_dict(unpack_state(data))
    return net.eval()


def _number(value: object) -> float | None:
    """A JSON number (NaN and missing: null)."""
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if number != number else number
