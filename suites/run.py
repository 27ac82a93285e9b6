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
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import torch
from rich.console import Console
from rich.markup import escape
from rich.table import Table

import hardware
import spindrop
from reports.console import make_console, make_progress
from spindrop.data import DataError, dataset_info, list_datasets, load_split, resolve_data_root, verify_dataset
from spindrop.data.root import disk_full
from spindrop.models import list_models, model_info
from spindrop.registry import PluginError, get_method, list_methods, load_plugin, method_class
from spindrop.store import ResultStore
from spindrop.training import PROFILES, Profile, TrainerOptions, get_profile

from .base import SUITES, Target, list_suites
from .cells import CellRunner, Plan, Tally
from .launch import INLINE, LAUNCHERS, SLURM_TIME_MIN, LaunchError, LaunchOptions, execute_units, runs_here
from .launch import check as check_launch
from .lock import FolderBusy, output_lock

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """Bad input: reported as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m suites.run",
        description="Train binary networks with every dropout method and measure accuracy, "
                    "calibration, OOD detection, shift robustness, dropout modules and energy.",
        epilog="Example: python -m suites.run --all            (quick profile, MNIST + CIFAR-10)\n"
               "         python -m suites.run --suite accuracy ood --methods spatial spindrop --profile smoke",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    what = ap.add_argument_group("what to run")
    what.add_argument("--all", action="store_true", help="every suite, every registered method, the profile's datasets")
    what.add_argument("--suite", nargs="+", metavar="NAME", help=f"suites to run (of: {', '.join(list_suites())})")
    what.add_argument("--methods", nargs="+", metavar="NAME", help="methods (default: every registered method)")
    what.add_argument("--datasets", nargs="+", metavar="NAME", help="in-distribution datasets (default: the profile's)")
    what.add_argument("--models", nargs="+", metavar="NAME", help="models (default: the profile's model per dataset)")
    what.add_argument("--list", action="store_true",
                      help="list methods, suites, datasets, models, profiles, presets and exit")
    how = ap.add_argument_group("how")
    how.add_argument("--profile", default="quick", help=f"one of {', '.join(PROFILES)} (default: quick)")
    how.add_argument("--seeds", nargs="+", type=int, metavar="N", help="training seeds (default: the profile's)")
    how.add_argument("--mc-samples", type=int, metavar="T", help="MC samples per prediction (default: the profile's)")
    how.add_argument("--p", type=float,
                     help="dropout probability for every method that has one (default: the profile's)")
    how.add_argument("--preset", default=hardware.DEFAULT.name,
                     help=f"hardware preset (default: {hardware.DEFAULT.name})")
    how.add_argument("--plugin", nargs="+", default=[], metavar="MODULE",
                     help="import these modules first so that their methods register")
    io = ap.add_argument_group("input and output")
    io.add_argument("--data-root", help="folder with the datasets (default: $SPINDROP_DATA_ROOT or ../shared/datasets)")
    io.add_argument("--out", default="runs", help="output folder: checkpoints, result store, report (default: runs)")
    io.add_argument("--no-report", action="store_true", help="do not render the report at the end")
    io.add_argument("--reference", default="mc_dropout", metavar="METHOD",
                    help="method the report compares every other with (paired differences; default: mc_dropout)")
    io.add_argument("--reuse-stale", action="store_true",
                    help="keep finished cells whose code, preset, parameters, profile or data changed "
                         "since they were computed (the report marks them) instead of recomputing them")
    lt = ap.add_argument_group("Lightning (passed to pytorch_lightning.Trainer)")
    lt.add_argument("--accelerator", default="cpu", help="cpu, gpu, auto, ... (default: cpu)")
    lt.add_argument("--devices", default="1", help="number of devices or 'auto' (default: 1)")
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
    la.add_argument("--jobs", type=int, default=1, metavar="N",
                    help="units at once (local: processes, each with one intra-op thread when N > 1; "
                         "slurm: the array's throttle) (default: 1)")
    la.add_argument("--time-min", type=int, metavar="MIN",
                    help=f"wall-clock limit of one unit in minutes (default: slurm {SLURM_TIME_MIN}, local 30 days)")
    la.add_argument("--partition", help="Slurm partition (default: the cluster's)")
    la.add_argument("--account", help="Slurm account (default: yours)")
    la.add_argument("--cpus-per-unit", type=int, default=1, metavar="N",
                    help="Slurm --cpus-per-task, also the unit's intra-op threads (default: 1)")
    la.add_argument("--gpus-per-unit", type=int, default=0, metavar="N",
                    help="GPUs per unit (Slurm --gpus-per-node; local: unit k sees its own N GPUs) (default: 0)")
    la.add_argument("--mem-gb", type=float, metavar="GB", help="Slurm memory per unit (default: the partition's)")
    la.add_argument("--setup", nargs="+", default=[], metavar="CMD",
                    help="shell lines run before each unit, e.g. 'source .venv/bin/activate'")
    la.add_argument("--slurm-option", nargs="+", default=[], metavar="KEY=VALUE",
                    help="further sbatch options, e.g. qos=normal constraint=a100")


def launch_options(args: argparse.Namespace) -> LaunchOptions:
    extra = []
    for item in args.slurm_option:
        key, sep, value = item.partition("=")
        if not (sep and key):
            raise UsageError(f"--slurm-option {item}: expected KEY=VALUE, e.g. qos=normal")
        extra.append((key, value))
    return LaunchOptions(args.launcher, args.jobs, args.time_min, args.partition, args.account, args.cpus_per_unit,
                         args.gpus_per_unit, args.mem_gb, tuple(args.setup), tuple(extra))


def _method_params(name: str, p: float) -> tuple[tuple[str, object], ...]:
    cls = method_class(name)
    fields = getattr(cls.Config, "__dataclass_fields__", {})
    params = {"p": p} if "p" in fields else {}
    get_method(name, **params)  # validates (p outside [0, 1) raises ValueError, a wrong type TypeError)
    return tuple(sorted(params.items()))


def _check_names(kind: str, names: list[str], known: list[str]) -> None:
    for name in names:
        if name not in known:
            raise UsageError(spindrop.naming.unknown_name(kind, name, known))


def _check_out(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-probe-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"output folder {out} is not writable ({exc.strerror}); "
                         "pass --out DIR with a writable folder") from None


def make_plan(args: argparse.Namespace) -> Plan:
    try:
        for module in args.plugin:
            load_plugin(module)
        profile = get_profile(args.profile)
    except (PluginError, LookupError) as exc:
        raise UsageError(str(exc)) from None
    if not (args.all or args.suite):
        raise UsageError("nothing to run: pass --all, or --suite NAME ... (see --help)")
    suites = list_suites() if args.all and not args.suite else args.suite
    _check_names("suite", suites, list_suites())
    methods = args.methods or list_methods()
    _check_names("method", methods, list_methods())
    datasets = args.datasets or list(profile.datasets)
    _check_names("dataset", datasets, sorted(profile.train))
    _check_names("model", args.models or [], list_models())
    if args.mc_samples is not None and args.mc_samples < 1:
        raise UsageError(f"--mc-samples {args.mc_samples} must be >= 1")
    p = profile.p if args.p is None else args.p
    if not 0.0 <= p < 1.0:  # also when no chosen method has a p (it would be recorded all the same)
        raise UsageError(f"--p {p} is outside [0, 1): pass e.g. --p 0.2")
    try:
        params = {m: _method_params(m, p) for m in methods}
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None
    launch = launch_options(args)
    try:
        check_launch(launch, args.accelerator, torch.cuda.device_count())
    except LaunchError as exc:
        raise UsageError(str(exc)) from None
    if runs_here(launch):  # Slurm units run on other machines: their devices and memory are not ours
        _check_accelerator(args.accelerator)
    if args.preset not in hardware.list_presets():
        raise UsageError(spindrop.naming.unknown_name("hardware preset", args.preset, hardware.list_presets()))
    try:
        data_root = resolve_data_root(args.data_root)
        if any(SUITES[s].needs_training for s in suites):
            for dataset in datasets:
                verify_dataset(dataset, data_root)
    except DataError as exc:
        raise UsageError(str(exc)) from None
    out = Path(args.out)
    _check_out(out)
    seeds = args.seeds or list(profile.seeds)
    targets = [Target(d, model, profile.plan(d).width, m, params[m], seed)
               for d in datasets for model in (args.models or [profile.plan(d).model])
               for m in methods for seed in seeds]
    devices = int(args.devices) if str(args.devices).isdigit() else args.devices
    mc_samples = args.mc_samples or profile.eval.mc_samples
    if runs_here(launch) and any(SUITES[s].needs_training for s in suites):
        _check_mc_memory(mc_samples, profile, datasets, data_root)
    return Plan(profile, suites, targets, out, data_root, mc_samples, p, args.preset,
                TrainerOptions(args.accelerator, devices, args.strategy), args.reuse_stale)


def _check_accelerator(accelerator: str) -> None:
    """Refuse a GPU accelerator on a machine without one before anything is loaded."""
    found = {"gpu": torch.cuda.is_available, "cuda": torch.cuda.is_available,
             "mps": torch.backends.mps.is_available}.get(accelerator.lower())
    if found is not None and not found():
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise UsageError(f"--accelerator {accelerator}: no such device on this machine (torch "
                         f"{torch.__version__}, {build}, sees none); pass --accelerator cpu")


MC_MEMORY_FRACTION = 0.25
"""At most this share of the machine's memory may hold one set's MC probabilities (T·N·C float32)."""


def _memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _check_mc_memory(T: int, profile: Profile, datasets: list[str], data_root: Path) -> None:
    """Refuse a T whose MC probabilities (T × images × classes float32, held for one evaluated
    set at a time) would not fit in a quarter of the machine's memory."""
    budget = int(_memory_bytes() * MC_MEMORY_FRACTION)
    for dataset in datasets:
        plan, info = profile.evaluation(dataset), dataset_info(dataset)
        sizes = [plan.test_subset, plan.ood_subset, plan.shift_subset]
        n = max(s if s is not None else len(load_split(dataset, "test", data_root)) for s in sizes)
        need = T * n * info.num_classes * 4
        if need > budget:
            fit = budget // (n * info.num_classes * 4)
            raise UsageError(f"--mc-samples {T} needs {need / 2**30:,.1f} GiB to hold the MC probabilities of "
                             f"{n:,} {dataset} images × {info.num_classes} classes (T·N·C·4 bytes), more than "
                             f"{MC_MEMORY_FRACTION:.0%} of this machine's {_memory_bytes() / 2**30:.0f} GiB; "
                             f"pass --mc-samples {fit} or fewer")


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


def _git_commit() -> str | None:
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
    args = build_parser().parse_args(argv)
    command = " ".join(["python -m suites.run", *(argv if argv is not None else sys.argv[1:])])
    try:
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
    commit = _git_commit()
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
            report = render_report(plan.out, console=console, reference=args.reference,
                               rendered_by="python -m suites.run")
        except KeyboardInterrupt:
            print(f"interrupted while rendering the report: finished cells are kept in {store.root}; "
                  f"`python -m reports.render {plan.out}` renders it", file=sys.stderr)
            return EXIT_INTERRUPTED
        console.print(f"[bold green]report[/]: {report}")
    return EXIT_FAILED if tally.failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
