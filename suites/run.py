"""The runner: ``python -m suites.run --all`` measures every registered method with every suite.

Each finished cell (suite × dataset × model × method × seed) goes to the result store at
once with its provenance; a rerun skips finished cells whose provenance still matches, and
recomputes failed and stale ones (saying why they were stale); a failed cell is recorded with
its error and the others go on. One run at a time holds the output folder. The cells are computed
in this process (``--launcher inline``) or in units, one per target, as local processes or Slurm jobs
(``--launcher local|slurm``, :mod:`suites.launch`). Exit status: 0 all cells ok, 1 some cell
failed, 2 bad input, 130 interrupted (finished cells kept).
"""
from __future__ import annotations

import argparse
import logging
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

import hardware
import spindrop
from reports.console import make_console, make_progress
from spindrop.data import dataset_info, list_datasets
from spindrop.data.root import disk_full
from spindrop.models import list_models, model_info
from spindrop.registry import PluginError, list_methods, load_plugin, method_class
from spindrop.store import ResultStore
from spindrop.training import PROFILES, TrainerOptions

from .base import SUITES, Target, list_suites
from .cells import CellRunner, Plan, Tally
from .checks import (
    DEFAULT_REFERENCE,
    SEED_MAX,
    Distinct,
    Parser,
    UsageError,
    count,
    devices,
    launch_options,
    method_param,
    positive_float,
    positive_int,
    probability,
    seed,
    validate,
)
from .launch import INLINE, LAUNCHERS, SLURM_TIME_MIN, execute_units
from .lock import FolderBusy, output_lock
from .tune import tune_plan

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    """The command line; every value is checked by its ``type`` here and against the rest by
    :func:`suites.checks.validate` (one line, exit 2, before any work)."""
    ap = Parser(
        prog="python -m suites.run",
        description="Train binary networks with every dropout method and measure accuracy, "
                    "calibration, OOD detection, shift robustness, dropout modules and energy.",
        epilog="Example: python -m suites.run --all            (quick profile, MNIST + CIFAR-10)\n"
               "         python -m suites.run --suite accuracy ood --methods spatial spindrop --profile smoke",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    what = ap.add_argument_group("what to run")
    what.add_argument("--all", action="store_true", help="every suite, every registered method, the profile's datasets")
    what.add_argument("--suite", nargs="+", action=Distinct, metavar="NAME",
                      help=f"suites to run (of: {', '.join(list_suites())})")
    what.add_argument("--methods", nargs="+", action=Distinct, metavar="NAME",
                      help="methods (default: every registered method)")
    what.add_argument("--datasets", nargs="+", action=Distinct, metavar="NAME",
                      help="in-distribution datasets (default: the profile's)")
    what.add_argument("--models", nargs="+", action=Distinct, metavar="NAME",
                      help="models (default: the profile's model per dataset)")
    what.add_argument("--list", action="store_true",
                      help="list methods, suites, datasets, models, profiles, presets and exit")
    how = ap.add_argument_group("how")
    how.add_argument("--profile", default="quick", help=f"one of {', '.join(PROFILES)} (default: quick)")
    how.add_argument("--seeds", nargs="+", type=seed, action=Distinct, metavar="N",
                     help=f"training seeds, each once, in [0, {SEED_MAX}] (default: the profile's)")
    how.add_argument("--mc-samples", type=positive_int, metavar="T",
                     help="MC samples per prediction, >= 1 (default: the profile's)")
    how.add_argument("--p", type=probability,
                     help="dropout probability in [0, 1) for every method that has one (default: the profile's; a "
                          "profile with a tune seed, e.g. standard, selects each method's p on the validation split "
                          "unless --p, or a --method-param of that method, is given)")
    how.add_argument("--method-param", action="append", type=method_param, default=[], metavar="NAME.PARAM=VALUE",
                     help="set one parameter of one method, typed by its config (repeatable), e.g. "
                          "spatial.fc_grouping=element, spindrop.padding_draws=false, scale.placement=post_bn; "
                          "it is part of the cells' key and the report's row label")
    how.add_argument("--preset", default=hardware.DEFAULT.name,
                     help=f"hardware preset (default: {hardware.DEFAULT.name})")
    how.add_argument("--plugin", nargs="+", default=[], metavar="MODULE",
                     help="import these modules first so that their methods register")
    io = ap.add_argument_group("input and output")
    io.add_argument("--data-root", help="folder with the datasets (default: $SPINDROP_DATA_ROOT or ../shared/datasets)")
    io.add_argument("--out", default="runs", help="output folder: checkpoints, result store, report (default: runs)")
    io.add_argument("--no-report", action="store_true", help="do not render the report at the end")
    io.add_argument("--reference", metavar="METHOD",
                    help="method the report compares every other with (paired differences; one of --methods or "
                         f"of the store's; default: {DEFAULT_REFERENCE})")
    io.add_argument("--reuse-stale", action="store_true",
                    help="keep finished cells whose code, preset, parameters, profile or data changed "
                         "since they were computed (the report marks them) instead of recomputing them")
    lt = ap.add_argument_group("Lightning (passed to pytorch_lightning.Trainer)")
    lt.add_argument("--accelerator", default="cpu", help="cpu, gpu, auto, ... (default: cpu)")
    lt.add_argument("--devices", default="1", type=devices,
                    help="number of devices >= 1, device indices such as 0,1, or 'auto' (default: 1)")
    lt.add_argument("--strategy", default="auto", help="e.g. ddp (default: auto)")
    add_launcher_arguments(ap)
    return ap


def add_launcher_arguments(ap: argparse.ArgumentParser) -> None:
    """``--launcher`` and its options (suites.launch; local and slurm need submitit)."""
    la = ap.add_argument_group("launcher (local and slurm run the cells in units through submitit: "
                               "pip install 'spindrop-bench[cluster]')")
    la.add_argument("--launcher", default=INLINE, choices=LAUNCHERS,
                    help="inline: every cell in this process (default); local: units as processes on this "
                         "machine; slurm: units as a Slurm job array (one unit = all suites of one target)")
    la.add_argument("--jobs", type=positive_int, default=1, metavar="N",
                    help="units at once (local: processes, each with one intra-op thread when N > 1; "
                         "slurm: the array's throttle) (default: 1)")
    la.add_argument("--time-min", type=positive_int, metavar="MIN",
                    help=f"wall-clock limit of one unit in minutes (default: slurm {SLURM_TIME_MIN}, local 30 days)")
    la.add_argument("--partition", help="Slurm partition (default: the cluster's)")
    la.add_argument("--account", help="Slurm account (default: yours)")
    la.add_argument("--cpus-per-unit", type=positive_int, default=1, metavar="N",
                    help="Slurm --cpus-per-task, also the unit's intra-op threads (default: 1)")
    la.add_argument("--gpus-per-unit", type=count, default=0, metavar="N",
                    help="GPUs per unit (Slurm --gpus-per-node; local: unit k sees its own N GPUs) (default: 0)")
    la.add_argument("--mem-gb", type=positive_float, metavar="GB",
                    help="Slurm memory per unit (default: the partition's)")
    la.add_argument("--setup", nargs="+", default=[], metavar="CMD",
                    help="shell lines run before each unit, e.g. 'source .venv/bin/activate'")
    la.add_argument("--slurm-option", nargs="+", default=[], metavar="KEY=VALUE",
                    help="further sbatch options, e.g. qos=normal constraint=a100")


def make_plan(args: argparse.Namespace) -> Plan:
    """The run's plan, built only after every check of :mod:`suites.checks` passed."""
    req = validate(args)
    profile = req.profile
    targets = [Target(d, model, profile.plan(d).width, m, req.method_params[m], seed)
               for d in req.datasets for model in (args.models or [profile.plan(d).model])
               for m in req.methods for seed in req.seeds]
    return Plan(profile, req.suites, targets, Path(args.out), req.data_root, req.mc_samples, req.p, args.preset,
                TrainerOptions(args.accelerator, args.devices, args.strategy), args.reuse_stale,
                tuple(req.tuned_methods))


def list_everything(console: Console) -> None:
    table = Table("kind", "name", "description", box=None, show_header=False)
    for name in list_methods():
        table.add_row("method", name, method_class(name).summary)
    for name, cls in SUITES.items():
        table.add_row("suite", name, f"({cls.kind}) {cls.summary}")
    for name in list_datasets():
        table.add_row("dataset", name, dataset_info(name).description)
    for name in list_models():
        table.add_row("model", name, model_info(name).summary)
    for prof in PROFILES.values():
        table.add_row("profile", prof.name, f"{prof.summary}; datasets {', '.join(prof.datasets)}")
    for name in hardware.list_presets():
        table.add_row("preset", name, hardware.get_preset(name).summary)
    console.print(table, markup=False)


def git_commit() -> str | None:
    """The checkout's commit, with ``-dirty`` when tracked files differ from it (None outside git)."""
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=40"], capture_output=True,
                              text=True, check=True, cwd=Path(__file__).resolve().parent).stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def _versions() -> dict[str, str]:
    import pytorch_lightning
    import torch
    import torchmetrics
    return {"python": platform.python_version(), "torch": torch.__version__,
            "pytorch_lightning": pytorch_lightning.__version__, "torchmetrics": torchmetrics.__version__,
            "spindrop": spindrop.__version__}


def execute(plan: Plan, console: Console, commit: str | None) -> Tally:
    """Run every unfinished or stale cell (keeping stale ones with ``plan.reuse_stale``) in this
    process: the inline launcher. ``commit`` is recorded in the cells."""
    tally = Tally()
    with make_progress(console) as progress:
        runner = CellRunner(plan, progress, commit)
        runner.compute_all(runner.pending(tally), tally, console)
    return tally


class _ConsoleWarnings(logging.Handler):
    """Shows the cache's warnings (unreadable cells or checkpoints: recomputed) on the console."""

    def __init__(self, console: Console) -> None:
        super().__init__(logging.WARNING)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        self.console.print(f"[yellow]warning[/]: {escape(record.getMessage())}")


def main(argv: list[str] | None = None) -> int:
    console = make_console()
    command = " ".join(["python -m suites.run", *(argv if argv is not None else sys.argv[1:])])
    try:
        args = build_parser().parse_args(argv)
        if args.list:
            for module in args.plugin:
                load_plugin(module)
            list_everything(console)
            return EXIT_OK
        plan = make_plan(args)
        with output_lock(plan.out, command) as run:
            return _run(plan, args, console, command, run)
    except (UsageError, PluginError, FolderBusy) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: finished cells are kept; rerun the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a full disk anywhere (a cell, a checkpoint, the report): one line
        full = disk_full(exc)
        if full is None:
            raise
        print(f"error: {full}; finished cells are kept", file=sys.stderr)
        return EXIT_FAILED


def _run(plan: Plan, args: argparse.Namespace, console: Console, command: str, run: str) -> int:
    store = ResultStore(plan.out)
    launch = launch_options(args)
    commit = git_commit()
    info = {"profile": plan.profile.name, "mc_samples": plan.mc_samples, "p": plan.p,
            "hardware_preset": plan.preset, "versions": _versions(), "git_commit": commit,
            "command": command, "started": datetime.now(UTC).isoformat(),
            "methods": sorted({t.method for t in plan.targets}), "suites": plan.suites,
            "reuse_stale": plan.reuse_stale, "launcher": launch.launcher, "jobs": launch.jobs}
    cache_log = logging.getLogger("spindrop.cache")
    handler = _ConsoleWarnings(console)
    cache_log.addHandler(handler)
    start = time.perf_counter()
    try:
        plan = tune_plan(plan, lambda line: console.print(escape(line)))
        info["tuning"] = [{"dataset": d, "model": m, "method": method, "record": key}
                          for (d, m, method), key in plan.tuning.items()]
        tally = (execute(plan, console, commit) if launch.inline
                 else execute_units(plan, console, launch, args.plugin, run, commit))
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted[/]: finished cells are kept in {store.root}; rerun to resume")
        return EXIT_INTERRUPTED
    finally:
        cache_log.removeHandler(handler)
    from .staleness import mark_stale_cells  # the report marks every stale row it shows, not only this run's
    mark_stale_cells(plan)
    info.update(finished=datetime.now(UTC).isoformat(), seconds=time.perf_counter() - start,
                cells_done=tally.done, cells_skipped=tally.skipped, cells_failed=tally.failed,
                cells_stale=tally.stale, stale_reasons=dict(tally.reasons), cells_kept_stale=tally.kept_stale)
    store.record_run(info)
    csv = store.export()
    console.print(f"{tally.summary(info['seconds'])}; every number: {csv}")
    if not args.no_report:
        from reports.render import render_report  # matplotlib: imported only to render
        try:
            report = render_report(plan.out, console=console, reference=args.reference or DEFAULT_REFERENCE,
                                   rendered_by="python -m suites.run")
        except KeyboardInterrupt:
            print(f"interrupted while rendering the report: finished cells are kept in {store.root}; "
                  f"`python -m reports.render {plan.out}` renders it", file=sys.stderr)
            return EXIT_INTERRUPTED
        console.print(f"[bold green]report[/]: {report}")
    return EXIT_FAILED if tally.failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
