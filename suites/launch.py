"""Launchers: compute a run's cells in other processes or as Slurm jobs, through submitit.

``--launcher inline`` (the default) computes every cell in the runner's own process
(:func:`suites.run.execute`) and needs nothing beyond the package. ``local`` and ``slurm`` hand
the work to submitit (docs/design.md, "Launchers"; ``pip install spindrop-bench[cluster]``):

* The pending cells are split into **units**, one per target (every pending suite of one
  dataset × model × method × seed), so a network is trained by exactly one unit and its test
  predictions are shared by its suites as inline. Each unit writes its cells to the shared result
  store (atomic per-cell files) and trains under its checkpoint key's lock
  (:func:`spindrop.training.fit.train`).
* ``local``: submitit's ``LocalExecutor`` starts each unit as a process on this machine; the
  executor runs whatever it is given, so the runner hands it at most ``--jobs`` units at a time.
  With ``--jobs`` > 1 every unit uses one intra-op thread (the processes share the cores); with
  ``--gpus-per-unit G`` the unit in slot *k* sees GPUs ``kG … kG+G−1`` only.
* ``slurm``: submitit's ``SlurmExecutor`` submits all units as one job array (no sbatch script
  to write); Slurm runs ``--jobs`` of them at a time (``%`` array throttle). A unit uses
  ``--cpus-per-unit`` intra-op threads.
* The runner (the parent) holds the output folder's lock for the whole run, shows one progress bar
  over the units, collects each unit's tally (cells computed, failed with their errors) or, if a
  unit died, stores its unfinished cells as failed with the unit's error; Ctrl+C or SIGTERM
  cancels every unit it submitted. A unit stops by itself once its run no longer holds the folder
  (:func:`suites.lock.held_by`: the parent was SIGKILLed). Finished cells are kept either way, so
  a rerun resumes. The report is rendered once, by the runner, after the last unit.
"""
from __future__ import annotations

import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

from rich.console import Console
from rich.markup import escape

from reports.console import make_console, make_progress
from spindrop.store import Cell, ResultStore, State

from .base import Target
from .cells import CellRunner, PendingCell, Plan, Tally, target_label
from .lock import held_by

INLINE = "inline"
INSTALL_HINT = "pip install 'spindrop-bench[cluster]'"

LOCAL_TIME_MIN = 30 * 24 * 60
"""Default wall-clock limit of a local unit (submitit's own default, 2 minutes, would stop real runs)."""
SLURM_TIME_MIN = 240
"""Default ``--time`` of a Slurm unit; pass ``--time-min`` for what your partition allows."""
WATCH_INTERVAL_S = 1.0
"""How often a unit checks that its run still holds the output folder."""
EXIT_ORPHANED = 3
"""Exit status of a unit that stopped because its run no longer holds the output folder."""


class LaunchError(Exception):
    """A launcher cannot be used as asked (one line; the runner exits with status 2)."""


@dataclass(frozen=True)
class LaunchOptions:
    """Where the cells are computed (``--launcher`` and its options; the defaults are the CLI's).

    ``jobs``: units at once (local processes, or the Slurm array's throttle). ``time_min``: one
    unit's wall-clock limit in minutes (None: :data:`LOCAL_TIME_MIN` / :data:`SLURM_TIME_MIN`).
    ``partition``, ``account``, ``mem_gb`` (None: the cluster's defaults) and ``slurm_options``
    (further ``sbatch`` options, name → value) are Slurm's; ``cpus_per_unit`` is Slurm's
    ``--cpus-per-task`` and the unit's intra-op threads there; ``gpus_per_unit`` is GPUs per unit
    (Slurm ``--gpus-per-node``; local: the slot's own GPUs); ``setup``: shell lines run before
    each unit starts (``module load ...``, activating a virtualenv).
    """

    launcher: str = INLINE
    jobs: int = 1
    time_min: int | None = None
    partition: str | None = None
    account: str | None = None
    cpus_per_unit: int = 1
    gpus_per_unit: int = 0
    mem_gb: float | None = None
    setup: tuple[str, ...] = ()
    slurm_options: tuple[tuple[str, str], ...] = ()

    @property
    def inline(self) -> bool:
        return self.launcher == INLINE


@dataclass(frozen=True)
class Backend:
    """One launcher: how its submitit executor is built (``build(submitit, options, folder)``),
    whether this process throttles submissions to ``--jobs`` (``throttle_here``: the executor
    runs all it is given) or submits every unit at once as an array (the scheduler throttles),
    the executor parameters of submission slot *k* (``slot_parameters``), the intra-op threads of
    a unit, whether its units run on this machine (then this machine's devices and memory are
    checked up front), and how long cancelled units are waited for (``settle_s``)."""

    build: Callable[[ModuleType, LaunchOptions, Path], Any]
    throttle_here: bool
    slot_parameters: Callable[[LaunchOptions, int], dict]
    threads: Callable[[LaunchOptions], int | None]
    here: bool
    settle_s: float


def _local_executor(submitit: ModuleType, options: LaunchOptions, folder: Path) -> Any:
    executor = submitit.LocalExecutor(folder=folder)
    executor.update_parameters(timeout_min=options.time_min or LOCAL_TIME_MIN, setup=list(options.setup))
    return executor


def _local_slot(options: LaunchOptions, slot: int) -> dict:
    g = options.gpus_per_unit
    return {"gpus_per_node": g, "visible_gpus": tuple(range(slot * g, (slot + 1) * g))}


def _slurm_executor(submitit: ModuleType, options: LaunchOptions, folder: Path) -> Any:
    executor = submitit.SlurmExecutor(folder=folder)
    executor.update_parameters(
        job_name="spindrop-bench", time=options.time_min or SLURM_TIME_MIN, partition=options.partition,
        account=options.account, cpus_per_task=options.cpus_per_unit, gpus_per_node=options.gpus_per_unit or None,
        mem=None if options.mem_gb is None else f"{math.ceil(options.mem_gb * 1024)}M",
        array_parallelism=options.jobs, setup=list(options.setup) or None,
        additional_parameters=dict(options.slurm_options) or None)
    return executor


BACKENDS: dict[str, Backend] = {
    "local": Backend(_local_executor, throttle_here=True, slot_parameters=_local_slot,
                     threads=lambda o: 1 if o.jobs > 1 else None, here=True, settle_s=10.0),
    "slurm": Backend(_slurm_executor, throttle_here=False, slot_parameters=lambda o, slot: {},
                     threads=lambda o: o.cpus_per_unit, here=False, settle_s=0.0),
}
LAUNCHERS = (INLINE, *BACKENDS)


def runs_here(options: LaunchOptions) -> bool:
    """Whether the cells are computed on this machine (inline or local)."""
    return options.inline or BACKENDS[options.launcher].here


def import_submitit(launcher: str) -> ModuleType:
    try:
        import submitit
    except ImportError:
        raise LaunchError(f"--launcher {launcher} needs submitit, which is not installed: "
                          f"{INSTALL_HINT}") from None
    return submitit


def check(options: LaunchOptions, accelerator: str, gpus_here: int) -> None:
    """Refuse options that cannot work (one line each)."""
    if options.jobs < 1:
        raise LaunchError(f"--jobs {options.jobs} must be >= 1")
    if options.cpus_per_unit < 1 or options.gpus_per_unit < 0:
        raise LaunchError("--cpus-per-unit must be >= 1 and --gpus-per-unit >= 0")
    if options.inline:
        return
    import_submitit(options.launcher)
    if BACKENDS[options.launcher].here and accelerator.lower() in ("gpu", "cuda"):
        need = options.jobs * options.gpus_per_unit
        if options.gpus_per_unit == 0:
            raise LaunchError(f"--launcher local --accelerator {accelerator}: each unit sees only its own GPUs; "
                              "pass --gpus-per-unit 1")
        if need > gpus_here:
            raise LaunchError(f"--jobs {options.jobs} × --gpus-per-unit {options.gpus_per_unit} = {need} GPUs, "
                              f"this machine has {gpus_here}; pass fewer --jobs")


@dataclass(frozen=True)
class Unit:
    """The pending cells of one target, computed by one process (``run_unit``): the plan narrowed
    to the target, the plugins to import first, the token of the run that launched it (see
    :func:`suites.lock.held_by`), the git commit recorded in its cells and its intra-op threads
    (None: torch's default)."""

    plan: Plan
    cells: tuple[PendingCell, ...]
    plugins: tuple[str, ...]
    run: str
    commit: str | None
    threads: int | None

    @property
    def target(self) -> Target:
        return self.plan.targets[0]


def make_units(plan: Plan, pending: Sequence[PendingCell], plugins: Sequence[str], run: str,
               commit: str | None, threads: int | None) -> list[Unit]:
    """One unit per target with pending cells, in plan order."""
    by_target: dict[Target, list[PendingCell]] = {}
    for cell in pending:
        by_target.setdefault(cell.target, []).append(cell)
    return [Unit(replace(plan, targets=[target]), tuple(cells), tuple(plugins), run, commit, threads)
            for target, cells in by_target.items()]


def run_unit(unit: Unit) -> Tally:
    """Compute a unit's cells in this (launched) process and return their tally."""
    import torch

    from spindrop.registry import load_plugin

    _stop_when_orphaned(unit.plan.out, unit.run)
    if unit.threads is not None:
        torch.set_num_threads(unit.threads)
    for module in unit.plugins:
        load_plugin(module)
    console = make_console()
    tally = Tally()
    with make_progress(console) as progress:
        CellRunner(unit.plan, progress, unit.commit).compute_all(unit.cells, tally, console)
    return tally


def _stop_when_orphaned(out: Path, run: str) -> None:
    """End this process (exit :data:`EXIT_ORPHANED`) as soon as ``run`` no longer holds ``out``.
    Every file the unit writes is written atomically, so stopping anywhere loses only unfinished work."""
    def watch() -> None:
        while held_by(out, run):
            time.sleep(WATCH_INTERVAL_S)
        print(f"the run {run} no longer holds {out}; this unit stops", flush=True)
        os._exit(EXIT_ORPHANED)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt in the block (so that the units get cancelled), and so does
    SIGINT even where it was inherited as ignored (a run started in the background by a script or
    under ``nohup``): a child inherits an ignored SIGINT, and submitit cancels a local unit by sending
    its controller SIGINT, so controllers started while it is ignored could never be cancelled."""
    def interrupt(signum, frame) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_units(executor: Any, fn: Callable, units: Sequence, backend: Backend, options: LaunchOptions,
              on_done: Callable[[Any, Any], None], poll_s: float = 0.2) -> None:
    """Submit ``fn(unit)`` for every unit through ``executor`` and call ``on_done(unit, job)`` as
    each job ends. With ``backend.throttle_here`` at most ``options.jobs`` are submitted at a time,
    each into a free slot (:attr:`Backend.slot_parameters`); otherwise all go at once as one array.
    On any exception (Ctrl+C, SIGTERM) every unfinished job is cancelled before it propagates."""
    queue = list(units)
    width = options.jobs if backend.throttle_here else len(queue)
    free = list(range(width))
    running: list[tuple[Any, Any, int]] = []
    try:
        with _sigterm_as_interrupt():
            while queue or running:
                n = min(len(free), len(queue))
                if n:
                    batch, queue = queue[:n], queue[n:]
                    slots, free = free[:n], free[n:]
                    _submit(executor, fn, batch, slots, backend, options, running)
                ended = [entry for entry in running if entry[1].done()]
                for entry in ended:
                    running.remove(entry)
                    free.append(entry[2])
                    on_done(entry[0], entry[1])
                if not ended:
                    time.sleep(poll_s)
    except BaseException:
        _cancel([job for _, job, _ in running], backend.settle_s)
        raise


def _submit(executor: Any, fn: Callable, units: Sequence, slots: Sequence[int], backend: Backend,
            options: LaunchOptions, running: list[tuple[Any, Any, int]]) -> None:
    """Submit ``units`` and add (unit, job, slot) to ``running`` as each job starts, so that an
    interrupt between two submissions still finds every started job there to cancel."""
    if not backend.throttle_here:
        with executor.batch():  # one job array: its jobs start together when the batch closes
            jobs = [executor.submit(fn, unit) for unit in units]
        running.extend(zip(units, jobs, slots))
        return
    for unit, slot in zip(units, slots):
        executor.update_parameters(**backend.slot_parameters(options, slot))
        running.append((unit, executor.submit(fn, unit), slot))


def _cancel(jobs: Sequence, settle_s: float) -> None:
    """Cancel ``jobs``; wait up to ``settle_s`` for them to end."""
    for job in jobs:
        job.cancel(check=False)
    deadline = time.monotonic() + settle_s
    while time.monotonic() < deadline and not all(job.done() for job in jobs):
        time.sleep(0.1)


def job_error(job: Any, exc: BaseException) -> str:
    """One line for a unit that ended without a result: the last line of its trace (the
    exception) when it raised, submitit's reason otherwise; and where its log is."""
    text = str(exc)
    sections = text.split("-" * 22)
    lines = (sections[1] if len(sections) > 2 else text).strip().splitlines()
    reason = (lines[-1] if len(sections) > 2 else lines[0]) if lines else type(exc).__name__
    return f"unit {job.job_id} ended without a result: {reason} (log: {job.paths.stderr})"


def execute_units(plan: Plan, console: Console, options: LaunchOptions, plugins: Sequence[str], run: str,
                  commit: str | None) -> Tally:
    """Run every unfinished or stale cell of ``plan`` in units through ``options.launcher``
    (the runner holds the output folder's lock with token ``run``)."""
    backend = BACKENDS[options.launcher]
    submitit = import_submitit(options.launcher)
    tally = Tally()
    store = ResultStore(plan.out)
    with make_progress(console) as progress:
        pending = CellRunner(plan, progress, commit).pending(tally)
        units = make_units(plan, pending, plugins, run, commit, backend.threads(options))
        if not units:
            return tally
        folder = plan.out / "launch" / run
        console.print(f"{len(pending)} cells in {len(units)} units, {options.jobs} at a time "
                      f"({options.launcher}); unit logs: {folder}", markup=False, highlight=False)
        bar = progress.add_task(f"units ({options.launcher})", total=len(units))

        def on_done(unit: Unit, job: Any) -> None:
            exc = job.exception()
            result = _unit_failed(unit, store, job_error(job, exc)) if exc is not None else job.result()
            for line in result.errors:
                console.print(f"[red]failed[/] {escape(line.removeprefix('failed '))}")
            tally.add(result)
            progress.update(bar, advance=1, description=f"units ({options.launcher}): {target_label(unit.target)} "
                                                        f"done ({result.done} ok, {result.failed} failed)")

        run_units(backend.build(submitit, options, folder), run_unit, units, backend, options, on_done)
    return tally


def _unit_failed(unit: Unit, store: ResultStore, error: str) -> Tally:
    """The tally of a unit that died: the cells it finished count as done; the others are stored
    as failed with ``error``."""
    tally = Tally()
    for cell in unit.cells:
        state, _, _ = store.state(cell.key, cell.provenance)
        if state is State.DONE:
            tally.done += 1
            continue
        store.put(Cell(cell.key, "failed", error=error, provenance=cell.provenance, git_commit=unit.commit))
        tally.failed += 1
        tally.errors.append(f"failed {cell.key.label()}: {error}")
    return tally
