"""Export a result store's trained networks as model-zoo entries (:mod:`spindrop.zoo`).

    python -m suites.zoo export RUN_DIR [--out DIR] [--datasets ...] [--methods ...] [--seeds ...]
    python -m suites.zoo list

Every network a run trained (its ``accuracy`` cells name the checkpoints) becomes one entry: its
packed weights and a JSON record whose numbers are the stored network's, evaluated by
:func:`spindrop.zoo.evaluate_entry` with the run's profile, T and seed, so ``spindrop.zoo.load``
followed by that evaluation reproduces them exactly. The run's own cell values are kept in the
record's ``source``. Default ``--out``: the zoo shipped with the package (``$SPINDROP_ZOO`` if set).
Exit status: 0 exported, 2 bad input (no store, no checkpoint).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

import hardware
from spindrop import zoo
from spindrop.data import DataError, resolve_data_root
from spindrop.fingerprint import code_fingerprint as code_fingerprint_of
from spindrop.registry import get_method, list_methods, method_class
from spindrop.store import ResultStore

from .run import git_commit

EXIT_OK, EXIT_USAGE = 0, 2


def code_fingerprint(method: str) -> str:
    """Fingerprint of the code behind a record's numbers: the core packages (the zoo, the evaluator, the
    MTJ cost model) and the method's own module (:func:`spindrop.fingerprint.code_fingerprint`)."""
    return code_fingerprint_of(("spindrop", "baselines", "hardware"), [method_class(method)],
                               [method_class(m) for m in list_methods()])


def export_store(run: Path, out: Path | None, data_root: Path, datasets: list[str] | None = None,
                 methods: list[str] | None = None, seeds: list[int] | None = None) -> list[dict]:
    """Export every trained network of the store under ``run`` (filtered by dataset, method, seed).
    A method made of other networks (:meth:`spindrop.Method.members`, the deep ensemble) is not an
    entry: its members are (the deterministic networks of their seeds)."""
    store = ResultStore(run)
    cells = [c for c in store.cells() if c.key.suite == "accuracy" and c.status == "ok"
             and (not datasets or c.key.dataset in datasets) and (not methods or c.key.method in methods)
             and (seeds is None or c.key.seed in seeds)
             and not get_method(c.key.method, **dict(c.key.params)).members(c.key.seed)]
    if not cells:
        raise FileNotFoundError(f"no finished accuracy cells in {store.root}: run `python -m suites.run --out {run}` "
                                "first (the accuracy cells name the trained checkpoints)")
    commit = git_commit()
    records = []
    for cell in cells:
        path = run / "checkpoints" / f"{cell.extras['checkpoint_key']}.pt"
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint {path} of {cell.key.label()} is missing; rerun the run to train it")
        arch = zoo.Architecture(cell.key.dataset, cell.key.model, cell.key.width, cell.key.method,
                                dict(cell.key.params))
        net = arch.build()
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=False)["state_dict"])
        source = {"run": str(run), "checkpoint_key": cell.extras["checkpoint_key"], "run_git_commit": cell.git_commit,
                  "run_metrics": {k: v for k, v in cell.metrics.items() if k in ("test/acc", "test/nll")}}
        preset = (cell.provenance.get("preset") or {}).get("name") or hardware.DEFAULT.name
        records.append(zoo.export(net.eval(), arch, seed=cell.key.seed, profile=cell.key.profile,
                                  T=cell.key.mc_samples, root=out, data_root=data_root,
                                  code=code_fingerprint(cell.key.method), commit=commit, source=source,
                                  preset=preset))
    return records


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m suites.zoo", description="The model zoo: export a run's networks, "
                                 "list the entries.")
    sub = ap.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="export every network a run trained as a zoo entry")
    ex.add_argument("run", type=Path, help="output folder of a run (the one holding results/ and checkpoints/)")
    ex.add_argument("--out", type=Path, help="zoo folder to write (default: the package's zoo, or $SPINDROP_ZOO)")
    ex.add_argument("--datasets", nargs="+", metavar="NAME", help="only these datasets")
    ex.add_argument("--methods", nargs="+", metavar="NAME", help="only these methods")
    ex.add_argument("--seeds", nargs="+", type=int, metavar="N", help="only these seeds")
    ex.add_argument("--data-root", help="folder with the datasets (default: $SPINDROP_DATA_ROOT or ../shared/datasets)")
    sub.add_parser("list", help="list the zoo's entries")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "list":
        if not zoo.names():
            print(f"the zoo ({zoo.zoo_root()}) has no entries; export a run's: python -m suites.zoo export RUN_DIR")
        for name in zoo.names():
            print(name)
        return EXIT_OK
    try:
        records = export_store(args.run, args.out, resolve_data_root(args.data_root), args.datasets, args.methods,
                               args.seeds)
    except (FileNotFoundError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    root = zoo.zoo_root(args.out)
    size = sum((root / f"{r['name']}.{ext}").stat().st_size for r in records for ext in ("json", "npz"))
    for rec in records:
        acc = rec["metrics"]["test/acc"]
        print(f"{rec['name']}: acc {acc['value']:.4f} [{acc['ci_low']:.4f}, {acc['ci_high']:.4f}], "
              f"{rec['weights']['bytes']:,} bytes of weights")
    print(f"{len(records)} entries, {size:,} bytes in all (weights and records) in {root}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
