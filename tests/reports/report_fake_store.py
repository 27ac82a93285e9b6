"""A fake result store for the report tests (imported by ``conftest.py`` and the tests).

It holds what a ``quick`` run would write for two datasets (mnist/lenet5 and
cifar10/vgg_small), six methods (the five built-in ones and a plugin ``my_method``), two seeds
and all six suites, with seeded random measured numbers, cost-model-shaped hardware numbers
and one failed cell. Tests compute expected values by hand from the stored cells.

Each ok cell stores its suite's report layout as the runner does (:meth:`suites.base.Suite.report`),
except :data:`LEGACY` (one cell written before suites declared layouts) and the suites named in
``build_fake_store(legacy_suites=...)``, whose cells hold none.
"""
from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np

from spindrop.stats import Replicates
from spindrop.store import MEASURED, MODELLED, Cell, CellKey, ResultStore
from suites import get_suite

METHODS = ("deterministic", "mc_dropout", "spindrop", "spatial", "scale", "my_method")
SEEDS = (0, 1)
T = 20
PROFILE = "quick"
FAILED = ("accuracy", "cifar10", "my_method", 1)
FAILED_ERROR = "RuntimeError: fake failure for the report tests"
LEGACY = ("shift", "mnist", "scale", 0)
"""(suite, dataset, method, seed) of the cell stored without a report layout."""
# dataset → (model, width, OOD sets, layers as (name, kind, kernel, binary_input, in_channels))
TARGETS = {
    "mnist": ("lenet5", 1.0, ("fashion_mnist", "gaussian_noise", "uniform_noise"),
              (("0", "conv", 5, False, 1), ("3", "conv", 5, True, 6), ("7", "fc", 1, True, 400),
               ("9", "fc", 1, True, 120), ("11", "fc", 1, False, 84))),
    "cifar10": ("vgg_small", 0.125, ("tinyimagenet32", "tinyimagenet32_far", "mnist32", "fashion_mnist32",
                                     "gaussian_noise", "uniform_noise"),
                (("0", "conv", 3, False, 3), ("2", "conv", 3, True, 16), ("5", "conv", 3, True, 16),
                 ("7", "conv", 3, True, 32), ("10", "conv", 3, True, 32), ("12", "conv", 3, True, 64),
                 ("16", "fc", 1, True, 1024), ("18", "fc", 1, True, 128), ("20", "fc", 1, False, 128))),
}
CORRUPTIONS = ("gaussian_noise", "blur", "contrast", "rotation")
SEVERITIES = (1, 3, 5)
# pJ per crossbar read / sense event of the whole network per pass, and per dropout-module event part
PASS_PJ = {"mnist": (9500.0, 410.0), "cifar10": (300000.0, 11000.0)}
EVENT_PJ = {"write": 0.047, "read": 0.019, "reset": 0.052}


def _modules(method: str, kind: str, k: int, binary: bool, c_in: int) -> int:
    if not binary or method in ("deterministic", "scale"):
        return 0
    if kind == "fc" or method == "spatial":
        return c_in
    return {"spindrop": k * k * c_in, "mc_dropout": 4 * c_in, "my_method": 2 * c_in}[method]


def _layers(dataset: str, method: str) -> list[dict]:
    return [{"name": name, "kind": kind, "kernel": [k, k], "binary_input": binary,
             "modules": _modules(method, kind, k, binary, c_in), "draws": 3 * _modules(method, kind, k, binary, c_in)}
            for name, kind, k, binary, c_in in TARGETS[dataset][3]]


def _reliability(rng: random.Random, acc: float) -> dict:
    conf, accs, count = [], [], []
    for i in range(15):
        empty = i < 4
        centre = (i + 0.5) / 15 if i < 14 else 0.985
        conf.append(None if empty else centre)
        accs.append(float("nan") if empty else min(1.0, max(0.0, centre - rng.uniform(0.0, 0.1) * (1 - acc) * 5)))
        count.append(0 if empty else int(5 + 400 * (i / 14) ** 6))
    # the keys of spindrop.metrics.CalibrationBins.to_dict(), which the calibration suite stores
    return {"edges": [i / 15 for i in range(16)], "confidence": conf, "accuracy": accs, "count": count}


def _entropy_hist(rng: random.Random, sets: tuple[str, ...]) -> dict:
    edges = [i * math.log(10) / 30 for i in range(31)]
    def bump(centre: float) -> list[int]:
        return [int(200 * math.exp(-((i - centre) / 4) ** 2)) + rng.randint(0, 3) for i in range(30)]
    return {"edges": edges, "id": bump(2), **{s: bump(8 + 3 * j) for j, s in enumerate(sets)}}


def _measured(suite: str, dataset: str, rng: random.Random) -> tuple[dict, dict]:
    base = 0.95 if dataset == "mnist" else 0.7
    acc = base + rng.uniform(-0.03, 0.03)
    if suite == "accuracy":
        return {"test/acc": acc, "test/nll": 0.1 + rng.uniform(0, 0.5), "test/brier": 0.05 + rng.uniform(0, 0.3),
                "test/cal/ECE": rng.uniform(0.005, 0.08), "test/cal/MCE": rng.uniform(0.05, 0.3),
                "test/det/acc": acc - rng.uniform(0, 0.05)}, {}
    if suite == "calibration":
        return ({"test/cal/ECE": rng.uniform(0.005, 0.08), "test/cal/MCE": rng.uniform(0.05, 0.3)},
                {"reliability": _reliability(rng, acc)})
    if suite == "ood":
        sets = TARGETS[dataset][2]
        metrics = {}
        for s in sets:
            for score in ("entropy", "mutual_info", "one_minus_msp"):
                metrics |= {f"ood/{s}/{score}/AUROC": rng.uniform(0.6, 0.99),
                            f"ood/{s}/{score}/AUPR_In": rng.uniform(0.8, 0.99),
                            f"ood/{s}/{score}/AUPR_Out": rng.uniform(0.3, 0.9),
                            f"ood/{s}/{score}/FPR95": rng.uniform(0.05, 0.8)}
                if score == "entropy":
                    metrics[f"ood/{s}/entropy/detected"] = rng.uniform(0.1, 0.95)
        return metrics, {"entropy_hist": _entropy_hist(rng, sets)}
    metrics = {}
    for c in CORRUPTIONS:
        for sev in SEVERITIES:
            metrics[f"shift/{c}/{sev}/acc"] = acc - 0.04 * sev * rng.uniform(0.2, 1.0)
            metrics[f"shift/{c}/{sev}/ECE"] = 0.01 * sev * rng.uniform(0.5, 2.0)
    return metrics, {}


def _modelled(suite: str, dataset: str, method: str) -> tuple[dict, dict]:
    layers = _layers(dataset, method)
    shared = 1 if method == "scale" else 0
    per_pass = sum(layer["draws"] for layer in layers) + (sum(layer["binary_input"] for layer in layers)
                                                           if method == "scale" else 0)
    passes = 1 if method == "deterministic" else T
    if suite == "modules":
        return ({"hw/modules": shared + sum(layer["modules"] for layer in layers), "hw/draws": per_pass * T,
                 "hw/draws_per_pass": per_pass, "hw/tiles": 9 if dataset == "mnist" else 26},
                {"layers": layers, "shared_modules": shared})
    read, sense = PASS_PJ[dataset]
    parts = {"crossbar_read": read * passes, "sense_amp": sense * passes}
    parts |= {f"dropout_{p}": per_pass * T * e for p, e in EVENT_PJ.items()}
    parts["dropout"] = sum(parts[f"dropout_{p}"] for p in EVENT_PJ)
    parts["total"] = parts["crossbar_read"] + parts["sense_amp"] + parts["dropout"]
    return {f"hw/energy/{k}_pJ": v for k, v in parts.items()}, {}


def _replicates(metrics: dict, rng: np.random.Generator) -> Replicates:
    """Bootstrap replicates of the measured metrics: value + N(0, 0.002²) on one shared fake resample."""
    reps = Replicates(fingerprints={"test": "fake"}, sizes={"test": 1000})
    for name, value in metrics.items():
        reps.values[name] = (value + rng.normal(0, 0.002, 200)).astype(np.float32)
        reps.sets[name] = ("test",)
    return reps


class _Bench:
    """What :meth:`suites.base.Suite.report` reads of a workbench: the number of MC samples."""

    T = T


def build_fake_store(out: Path, legacy_suites: tuple[str, ...] = ()) -> ResultStore:
    """Write the fake store (and a recorded run) under ``out``; returns it. The cells of
    ``legacy_suites`` (and the :data:`LEGACY` cell) hold no report layout."""
    store = ResultStore(out)
    rng = random.Random(0)
    np_rng = np.random.default_rng(0)
    for dataset, (model, width, _, _) in TARGETS.items():
        for method in METHODS:
            params = () if method == "deterministic" else (("p", 0.2),)
            for seed in SEEDS:
                for suite in ("accuracy", "calibration", "ood", "shift", "modules", "energy"):
                    key = CellKey(suite=suite, dataset=dataset, model=model, width=width, method=method,
                                  params=params, seed=seed, profile=PROFILE, mc_samples=T)
                    if (suite, dataset, method, seed) == FAILED:
                        store.put(Cell(key, "failed", error=FAILED_ERROR, seconds=1.0))
                        continue
                    modelled = suite in ("modules", "energy")
                    metrics, extras = (_modelled(suite, dataset, method) if modelled
                                       else _measured(suite, dataset, rng))
                    kind = MODELLED if modelled else MEASURED
                    reps = None if modelled else _replicates(metrics, np_rng)
                    legacy = suite in legacy_suites or (suite, dataset, method, seed) == LEGACY
                    report = None if legacy else get_suite(suite).report(list(metrics), _Bench())
                    store.put(Cell(key, "ok", metrics, {k: kind for k in metrics}, extras, None, 2.0,
                                   report=report), reps)
    store.record_run({"profile": PROFILE, "mc_samples": T, "p": 0.2, "hardware_preset": "low_barrier",
                      "versions": {"python": "3.11.2", "torch": "2.13.0", "pytorch_lightning": "2.5.0",
                                   "torchmetrics": "1.6.0"},
                      "git_commit": "0123456789abcdef0123456789abcdef01234567",
                      "command": "python -m suites.run --all", "started": "2025-01-01T00:00:00+00:00",
                      "finished": "2025-01-01T00:10:00+00:00"})
    return store
