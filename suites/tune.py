"""The tuning step of the protocol (:mod:`spindrop.tuning`, docs/design.md "Tuning protocol") on a
run's workbench: every setting of a method's declared grid is trained on the profile's plan and
evaluated by its MC predictive on the **validation split** only (:meth:`Workbench.validation_predictions`);
the selection is cached under ``<out>/tuning`` like a checkpoint."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from spindrop.data import DataError, resolve_data_root
from spindrop.fingerprint import digest
from spindrop.metrics import accuracy, nll
from spindrop.naming import unknown_name
from spindrop.registry import get_method, list_methods
from spindrop.store import Target
from spindrop.training import get_profile
from spindrop.tuning import TuneRecord, TuningCache, grid_settings, search

from .cells import Plan
from .checks import key_params

if TYPE_CHECKING:
    from .workbench import Workbench


def params_text(params: tuple[tuple[str, object], ...]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params)


def tune_method(bench: Workbench, dataset: str, method: str, seed: int = 0,
                model: str | None = None) -> tuple[str, TuneRecord]:
    """The selection of ``method``'s grid on ``dataset`` (``model``: default the plan's) with training
    seed ``seed`` and its cache key: from the cache when a selection with the same key exists, else
    searched (and cached). The key digests the grid and the checkpoint key of every setting's network
    (training code, data, profile plan, trainer, seed) with the evaluation's T and mask device."""
    plan = bench.profile.plan(dataset)
    model = model or plan.model
    grid = get_method(method).grid()

    def target(params: tuple[tuple[str, object], ...]) -> Target:
        return Target(dataset, model, plan.width, method, tuple(sorted(params)), seed)

    def objective(params: tuple[tuple[str, object], ...]) -> tuple[float, float]:
        out, labels = bench.validation_predictions(target(params))
        return accuracy(out.mean, labels), nll(out.mean, labels)

    subject = {"method": method, "dataset": dataset, "model": model, "width": plan.width, "seed": seed,
               "profile": bench.profile.name, "T": bench.T}
    key = digest(subject, grid, [bench.spec(target(p)).key() for p in grid_settings(grid)],
                 bench.mask_device())  # None: ideal masks; else the device model's values
    cache = TuningCache(bench.out)
    record = cache.get(key)
    if record is None:
        record = search(objective, grid, subject)
        cache.put(key, record)
    return key, record


def tune_plan(plan: Plan, progress: Callable[[str], None] = print) -> Plan:
    """``plan`` with each of ``plan.tune``'s methods run at its selection on every (dataset, model) of the plan:
    the tuning step of the runner (``python -m suites.run`` with a profile that has a ``tune_seed``).
    Each selection is searched (or read from ``<out>/tuning``) on the validation split with the
    profile's tuning seed; its targets take the selected parameters and ``plan.tuning`` maps
    (dataset, model, method) to the record's key, which goes into every cell's provenance."""
    from .workbench import Workbench  # Lightning: only when something is tuned
    seed = plan.profile.tune_seed
    if seed is None or not plan.tune:
        return plan
    bench = Workbench(plan.profile, plan.out, plan.data_root, plan.options, plan.mc_samples, preset=plan.preset)
    chosen: dict[tuple[str, str, str], tuple[str, tuple[tuple[str, object], ...]]] = {}
    for dataset, model in dict.fromkeys((t.dataset, t.model) for t in plan.targets):
        for method in plan.tune:
            progress(f"tuning {method} on {dataset}/{model} (validation split, seed {seed}, "
                     f"{len(grid_settings(get_method(method).grid()))} settings)")
            key, record = tune_method(bench, dataset, method, seed, model)
            chosen[dataset, model, method] = key, key_params(method, dict(record.selected))
            progress(f"  selected {params_text(record.selected)}")
    targets = [replace(t, params=chosen[t.dataset, t.model, t.method][1]) if (t.dataset, t.model, t.method) in chosen
               else t for t in plan.targets]
    return replace(plan, targets=list(dict.fromkeys(targets)),
                   tuning={k: key for k, (key, _) in chosen.items()})


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m suites.tune",
        description="The tuning protocol's step: train every setting of each method's declared grid (Config.GRID) on "
                    "the profile's plan and select, on the validation split only, the least validation NLL among "
                    "the settings within 1 point of the best validation accuracy. Prints each validation table and "
                    "the --method-param options that run the selection (python -m suites.run).")
    ap.add_argument("--profile", default="quick", help="profile whose training plan and T are used (default: quick)")
    ap.add_argument("--datasets", nargs="+", metavar="NAME", help="datasets (default: the profile's)")
    ap.add_argument("--methods", nargs="+", metavar="NAME", help="methods (default: every method with a grid)")
    ap.add_argument("--seed", type=int, default=0, help="training seed of the tuning networks (default: 0)")
    ap.add_argument("--out", type=Path, default=Path("runs"),
                    help="output folder: checkpoints and tuning/ (default: runs)")
    ap.add_argument("--data-root", type=Path, help="data root (default: $SPINDROP_DATA_ROOT, else ../shared/datasets)")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        profile = get_profile(args.profile)
        methods = args.methods or [m for m in list_methods() if get_method(m).grid()]
        for name in methods:
            if name not in list_methods():
                raise LookupError(unknown_name("method", name, list_methods()))
            if not get_method(name).grid():
                raise LookupError(f"method '{name}' declares no tuning grid (its Config has no GRID); leave it out")
        datasets = args.datasets or list(profile.datasets)
        for dataset in datasets:
            profile.plan(dataset)
        data_root = resolve_data_root(args.data_root)
    except (LookupError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from .workbench import Workbench  # Lightning: only when something is tuned
    bench = Workbench(profile, args.out, data_root)
    for dataset in datasets:
        for method in methods:
            _, record = tune_method(bench, dataset, method, args.seed)
            print(f"{dataset} {method} (validation split, T = {bench.T}, seed {args.seed}):")
            for t in record.trials:
                mark = "  <- selected" if t.params == record.selected else ""
                print(f"  {params_text(t.params):<30} acc {100 * t.val_acc:6.2f} %  NLL {t.val_nll:.4f}{mark}")
            print("  run with: " + " ".join(f"--method-param {method}.{k}={v}" for k, v in record.selected))
    return 0


if __name__ == "__main__":
    sys.exit(main())
