"""The tuning step of the protocol (:mod:`spindrop.tuning`, docs/design.md "Tuning protocol") on a
run's workbench: every setting of a method's declared grid is trained on the profile's plan and
evaluated by its MC predictive on the **validation split** only (:meth:`Workbench.validation_predictions`);
the selection is cached under ``<out>/tuning`` like a checkpoint."""
from __future__ import annotations

import argparse
import sys
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

if TYPE_CHECKING:
    from .workbench import Workbench


def params_text(params: tuple[tuple[str, object], ...]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params)


def tune_method(bench: Workbench, dataset: str, method: str, seed: int = 0) -> TuneRecord:
    """The selection of ``method``'s grid on ``dataset`` with training seed ``seed``: from the cache
    when a selection with the same key exists, else searched (and cached). The key digests the
    grid and the checkpoint key of every setting's network (training code, data, profile plan,
    trainer, seed) with the evaluation's T and mask device."""
    plan = bench.profile.plan(dataset)
    grid = get_method(method).grid()

    def target(params: tuple[tuple[str, object], ...]) -> Target:
        return Target(dataset, plan.model, plan.width, method, tuple(sorted(params)), seed)

    def objective(params: tuple[tuple[str, object], ...]) -> tuple[float, float]:
        out, labels = bench.validation_predictions(target(params))
        return accuracy(out.mean, labels), nll(out.mean, labels)

    subject = {"method": method, "dataset": dataset, "model": plan.model, "width": plan.width, "seed": seed,
               "profile": bench.profile.name, "T": bench.T}
    key = digest(subject, grid, [bench.spec(target(p)).key() for p in grid_settings(grid)],
                 bench.mask_device())  # None: ideal masks; else the device model's values
    cache = TuningCache(bench.out)
    record = cache.get(key)
    if record is None:
        record = search(objective, grid, subject)
        cache.put(key, record)
    return record


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
            record = tune_method(bench, dataset, method, args.seed)
            print(f"{dataset} {method} (validation split, T = {bench.T}, seed {args.seed}):")
            for t in record.trials:
                mark = "  <- selected" if t.params == record.selected else ""
                print(f"  {params_text(t.params):<30} acc {100 * t.val_acc:6.2f} %  NLL {t.val_nll:.4f}{mark}")
            print("  run with: " + " ".join(f"--method-param {method}.{k}={v}" for k, v in record.selected))
    return 0


if __name__ == "__main__":
    sys.exit(main())
