"""Evaluate a network trained elsewhere, or a zoo entry, into a result store beside the reference methods.

    python -m suites.evaluate --checkpoint my_net.pt --model lenet5 --dataset mnist --method spatial
    python -m suites.evaluate --zoo mnist-lenet5x2-spatial-quick-s0
    python -m suites.evaluate --list-zoo

The network is measured by the suites themselves (the same cells, keys, provenance, intervals and
report as a run: :class:`suites.cells.CellRunner` with the network adopted instead of trained), under
the row label ``--name`` (default: the checkpoint's file name, or the zoo entry's name), so a run's
report into the same ``--out`` shows it beside the built-in methods. ``--checkpoint`` takes a state
dict saved with ``torch.save(net.state_dict(), FILE)`` (or a runner checkpoint) of the registered
``--model`` at ``--width`` with ``--method``'s dropout sites (``--plugin`` registers a model or method
of your own). Exit status: 0 all cells ok, 1 some cell failed, 2 bad input.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import torch
from rich.console import Console
from torch import nn

import hardware
from reports.console import make_console, make_progress
from spindrop import zoo
from spindrop.data import DataError, dataset_info, resolve_data_root, verify_dataset
from spindrop.models import list_models
from spindrop.naming import UnknownNameError
from spindrop.registry import PluginError, get_method, list_methods, load_plugin, method_class
from spindrop.store import CellKey, ResultStore, State
from spindrop.training import PROFILES, TrainerOptions, TrainSpec, build_network, get_profile

from .base import SUITES, Target
from .cells import CellRunner, PendingCell, Plan, Tally
from .checks import DEFAULT_REFERENCE
from .lock import FolderBusy, output_lock
from .run import git_commit

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_SUITES = ("accuracy", "calibration", "ood", "selective", "modules", "energy")


class UsageError(Exception):
    """Bad input: one line, exit status 2."""


@dataclass(frozen=True)
class Adopted:
    """A network to measure: its target (the architecture and method the suites compute with), the row
    label its cells are stored under, where it was read from and the sha256 of that file."""

    target: Target
    label: str
    network: nn.Module
    source: Path
    sha256: str


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m suites.evaluate",
        description="Measure a network trained elsewhere (or a zoo entry) with the suites, into a result "
                    "store and its report beside the reference methods. Nothing is trained.",
        epilog="Example: python -m suites.evaluate --checkpoint my_net.pt --model lenet5 --dataset mnist "
               "--method spatial --out runs",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    what = ap.add_mutually_exclusive_group(required=True)
    what.add_argument("--checkpoint", type=Path, metavar="FILE", help="state dict of the network (torch.save)")
    what.add_argument("--zoo", metavar="NAME", help="a zoo entry (spindrop.zoo.names())")
    what.add_argument("--list-zoo", action="store_true", help="list the zoo's entries and exit")
    net = ap.add_argument_group("the network of --checkpoint")
    net.add_argument("--model", help=f"registered model (of: {', '.join(list_models())})")
    net.add_argument("--dataset", help="in-distribution dataset it was trained on")
    net.add_argument("--method", help="method of its dropout sites (default: deterministic, no sites)")
    net.add_argument("--width", type=float, help="channel-width multiplier (default: the profile's for the dataset)")
    net.add_argument("--p", type=float, help="the method's drop probability (default: the profile's)")
    net.add_argument("--name", help="row label in the report (default: the checkpoint's file name)")
    net.add_argument("--seed", type=int, default=0, help="mask seed, as a run's training seed (default: 0)")
    how = ap.add_argument_group("how")
    how.add_argument("--suite", nargs="+", metavar="NAME", default=list(DEFAULT_SUITES),
                     help=f"suites (default: {' '.join(DEFAULT_SUITES)})")
    how.add_argument("--profile", default="quick",
                     help=f"test/OOD subsets and T, as a run of this profile (of: {', '.join(PROFILES)}; default: "
                          "quick; a zoo entry: its own)")
    how.add_argument("--mc-samples", type=int, metavar="T", help="MC samples (default: the profile's)")
    how.add_argument("--preset", default=hardware.DEFAULT.name,
                     help=f"hardware preset (default: {hardware.DEFAULT.name})")
    how.add_argument("--plugin", nargs="+", default=[], metavar="MODULE", help="import these modules first")
    io = ap.add_argument_group("input and output")
    io.add_argument("--data-root", help="folder with the datasets (default: $SPINDROP_DATA_ROOT or ../shared/datasets)")
    io.add_argument("--out", default="runs", help="output folder: result store and report (default: runs)")
    io.add_argument("--no-report", action="store_true", help="do not render the report")
    io.add_argument("--reference", default=DEFAULT_REFERENCE, metavar="METHOD",
                    help="method the report compares every other with (default: mc_dropout)")
    return ap


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise UsageError(f"--checkpoint {path}: no such file") from None
    except Exception as exc:  # any unreadable file is bad input, whatever torch raised
        raise UsageError(f"--checkpoint {path} is not a torch state dict ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:160]})") from None
    state = blob.get("state_dict", blob) if isinstance(blob, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UsageError(f"--checkpoint {path} holds no state dict; save one with torch.save(net.state_dict(), FILE)")
    return state


def from_checkpoint(args: argparse.Namespace, profile: str) -> Adopted:
    """The network of ``--checkpoint``: the registered model with the method's sites, its weights loaded."""
    if not (args.model and args.dataset):
        raise UsageError("--checkpoint needs --model and --dataset (and --method for a network with dropout sites)")
    plan = get_profile(profile)
    method = args.method or "deterministic"
    for kind, name, known in (("model", args.model, list_models()), ("method", method, list_methods())):
        if name not in known:
            raise UsageError(str(UnknownNameError(kind, name, known)))
    try:
        info = dataset_info(args.dataset)
    except LookupError as exc:
        raise UsageError(str(exc)) from None
    width = args.width if args.width is not None else (plan.plan(args.dataset).width if args.dataset in plan.train
                                                       else 1.0)
    fields = getattr(method_class(method).Config, "__dataclass_fields__", {})
    p = plan.p if args.p is None else args.p
    params = tuple(sorted({"p": p}.items())) if "p" in fields else ()
    try:
        get_method(method, **dict(params))
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None
    label = args.name or args.checkpoint.stem
    if label in list_methods():
        raise UsageError(f"--name {label} is the name of a registered method; pass another --name for your network")
    network = build_network(TrainSpec(args.dataset, args.model, width, method, dict(params)), info.shape,
                            info.num_classes)
    try:
        network.load_state_dict(_read_state(args.checkpoint))
    except RuntimeError as exc:
        raise UsageError(f"--checkpoint {args.checkpoint} does not fit {args.model} x{width:g} with {method}'s sites "
                         f"({' '.join(str(exc).split())[:200]}); pass the --model, --width and --method it was "
                         "trained with") from None
    return Adopted(Target(args.dataset, args.model, width, method, params, args.seed), label, network,
                   args.checkpoint, _sha256(args.checkpoint))


def from_zoo(name: str) -> Adopted:
    """The network of zoo entry ``name``, labelled with the entry's name."""
    try:
        rec = zoo.record(name)
        network = zoo.load(name)
    except zoo.ZooError as exc:
        raise UsageError(str(exc)) from None
    arch = zoo.architecture(rec)
    fields = getattr(method_class(arch.method).Config, "__dataclass_fields__", {})
    params = tuple(sorted((k, v) for k, v in rec["method_params"].items() if k == "p" and "p" in fields))
    source = zoo.weights_path(rec)
    return Adopted(Target(arch.dataset, arch.model, arch.width, arch.method, params, rec["evaluation"]["seed"]),
                   name, network, source, rec["weights"]["sha256"])


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_plan(args: argparse.Namespace) -> tuple[Plan, Adopted]:
    try:
        for module in args.plugin:
            load_plugin(module)
        profile = zoo.record(args.zoo)["evaluation"]["profile"] if args.zoo else args.profile
        chosen = get_profile(profile)
    except (PluginError, LookupError) as exc:
        raise UsageError(str(exc)) from None
    for suite in args.suite:
        if suite not in SUITES:
            raise UsageError(str(UnknownNameError("suite", suite, SUITES)))
    if args.mc_samples is not None and args.mc_samples < 1:
        raise UsageError(f"--mc-samples {args.mc_samples} must be >= 1")
    if args.preset not in hardware.list_presets():
        raise UsageError(str(UnknownNameError("hardware preset", args.preset, hardware.list_presets())))
    adopted = from_zoo(args.zoo) if args.zoo else from_checkpoint(args, profile)
    try:
        data_root = resolve_data_root(args.data_root)
        verify_dataset(adopted.target.dataset, data_root)
    except DataError as exc:
        raise UsageError(str(exc)) from None
    T = args.mc_samples or chosen.eval.mc_samples
    plan = Plan(chosen, list(args.suite), [adopted.target], Path(args.out), data_root, T, chosen.p, args.preset,
                TrainerOptions())
    return plan, adopted


def measure(plan: Plan, adopted: Adopted, console: Console, commit: str | None) -> Tally:
    """Compute (or skip, when finished with the same provenance) the cells of ``adopted`` under its label."""
    tally = Tally()
    store = ResultStore(plan.out)
    with make_progress(console) as progress:
        runner = CellRunner(plan, progress, commit)
        runner.bench.adopt(adopted.target, adopted.network, adopted.source)
        todo = []
        for suite in plan.suites:
            key = CellKey.of(suite, replace(adopted.target, method=adopted.label),
                             plan.profile.name, plan.mc_samples)
            provenance = {**runner.bench.provenance(SUITES[suite](), adopted.target),
                          "network": {"method": adopted.target.method, "sha256": adopted.sha256}}
            state, _, reasons = store.state(key, provenance)
            if state is State.DONE:
                tally.skipped += 1
                continue
            tally.stale += bool(reasons)
            tally.reasons.update(reasons)
            todo.append(PendingCell(adopted.target, suite, key, provenance))
        runner.compute_all(todo, tally, console)
    return tally


def main(argv: list[str] | None = None) -> int:
    console = make_console()
    args = build_parser().parse_args(argv)
    if args.list_zoo:
        if not zoo.names():
            console.print(f"the zoo ({zoo.zoo_root()}) has no entries; export a run's: "
                          "python -m suites.zoo export RUN_DIR", markup=False)
        for name in zoo.names():
            rec = zoo.record(name)
            acc = rec["metrics"].get("test/acc", {}).get("value")
            console.print(f"{name}  {rec['dataset']}/{rec['model']} x{rec['width']:g} {rec['method']}  "
                          f"T={rec['evaluation']['T']}  acc={'n/a' if acc is None else f'{acc:.4f}'}", markup=False)
        return EXIT_OK
    command = " ".join(["python -m suites.evaluate", *(argv if argv is not None else sys.argv[1:])])
    try:
        plan, adopted = make_plan(args)
        with output_lock(plan.out, command):
            return _run(plan, adopted, args, console, command)
    except (UsageError, PluginError, FolderBusy) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _run(plan: Plan, adopted: Adopted, args: argparse.Namespace, console: Console, command: str) -> int:
    commit = git_commit()
    start = time.perf_counter()
    tally = measure(plan, adopted, console, commit)
    store = ResultStore(plan.out)
    store.record_run({"profile": plan.profile.name, "mc_samples": plan.mc_samples, "p": plan.p,
                      "hardware_preset": plan.preset, "git_commit": commit, "command": command,
                      "started": datetime.now(UTC).isoformat(), "seconds": time.perf_counter() - start,
                      "methods": [adopted.label], "suites": plan.suites, "cells_done": tally.done,
                      "cells_skipped": tally.skipped, "cells_failed": tally.failed})
    csv = store.export()
    console.print(f"{tally.summary(time.perf_counter() - start)}; every number: {csv}")
    if not args.no_report:
        from reports.render import render_report  # matplotlib: imported only to render
        report = render_report(plan.out, console=console, reference=args.reference)
        console.print(f"report: {report}")
    return EXIT_FAILED if tally.failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
