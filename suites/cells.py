"""Computing a plan's cells in one process: which cells are pending, and the loop that computes them.

The inline runner (:func:`suites.run.execute`) and every launched unit (:mod:`suites.launch`) use
this same code, so a cell is computed, recorded and counted the same way wherever it runs. The
classes here are pickled to launched units, which is why they do not live in ``suites.run`` (run
as ``__main__`` by ``python -m suites.run``, its classes could not be unpickled elsewhere).
"""
from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress

from spindrop.data.root import disk_full
from spindrop.store import Cell, CellKey, ResultStore, State
from spindrop.training import Profile, TrainerOptions

from .base import Target, get_suite


@dataclass
class Plan:
    """What a run computes: ``suites`` × ``targets`` under ``profile`` with T = ``mc_samples``,
    the hardware ``preset`` and the Lightning ``options``, into the output folder ``out``;
    ``tune``: the methods whose parameters the tuning step selects before any cell runs;
    ``tuning``: (dataset, model, method) → the key of the tuning record whose selection the targets of
    that method run at (:func:`suites.tune.tune_plan`), part of their cells' provenance."""

    profile: Profile
    suites: list[str]
    targets: list[Target]
    out: Path
    data_root: Path
    mc_samples: int
    p: float
    preset: str
    options: TrainerOptions
    reuse_stale: bool = False
    tune: tuple[str, ...] = ()
    tuning: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def provenance(self, target: Target, provenance: dict) -> dict:
        """``provenance`` with the tuning record the target's parameters came from, if they were tuned."""
        key = self.tuning.get((target.dataset, target.model, target.method))
        return provenance if key is None else {**provenance, "tuning": key}


@dataclass
class Tally:
    """What a run did: cells computed, skipped (finished), failed (with ``errors``, one line per
    failed cell); stale cells recomputed and their reasons; stale cells kept (``--reuse-stale``)."""

    done: int = 0
    skipped: int = 0
    failed: int = 0
    stale: int = 0
    reasons: Counter = field(default_factory=Counter)
    kept_stale: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        """Count ``other``'s cells too (a launched unit's tally into the run's)."""
        self.done += other.done
        self.skipped += other.skipped
        self.failed += other.failed
        self.stale += other.stale
        self.reasons.update(other.reasons)
        self.kept_stale += other.kept_stale
        self.errors += other.errors

    def summary(self, seconds: float) -> str:
        line = f"{self.done} cells computed, {self.skipped} already finished, {self.failed} failed in {seconds:.0f} s"
        if self.stale:
            why = ", ".join(f"{reason}: {n}" for reason, n in self.reasons.most_common())
            line += f"; {self.stale} of them recomputed because stale ({why})"
        if self.kept_stale:
            line += f"; {self.kept_stale} stale cells kept (--reuse-stale; marked in the report)"
        return line


@dataclass(frozen=True)
class PendingCell:
    """A cell to compute: its target, suite, store key and current provenance."""

    target: Target
    suite: str
    key: CellKey
    provenance: dict


def target_label(target: Target) -> str:
    return f"{target.dataset}/{target.model} {target.method} seed {target.seed}"


def non_finite(metrics: dict[str, float | None]) -> str | None:
    """The error of a cell whose metrics hold NaN or inf (None: every metric is finite or not
    applicable). None is the only "not applicable" ("—" in the report); a NaN is never stored as a
    number of an ok cell."""
    bad = [f"{name}={value}" for name, value in metrics.items()
           if isinstance(value, (int, float)) and not math.isfinite(value)]
    if not bad:
        return None
    return (f"NonFiniteMetrics: {', '.join(bad)} not finite (a division by zero or the log of 0 in the "
            "suite's metric); a metric that does not exist for a method must be None (shown as '—'), never NaN")


class CellRunner:
    """Computes a plan's cells in this process: one :class:`Workbench` (each target trained once,
    its test predictions shared by the suites), ``progress`` showing the network in training, every
    cell written to the store at once with the git ``commit`` of the code that computed it."""

    def __init__(self, plan: Plan, progress: Progress, commit: str | None) -> None:
        from .progress import InterruptWatch, TrainingBar  # Lightning: imported only when cells run
        from .workbench import Workbench
        self.plan = plan
        self.progress = progress
        self.store = ResultStore(plan.out)
        self.commit = commit
        self.label = ""
        self.watch = InterruptWatch()
        self.bench = Workbench(plan.profile, plan.out, plan.data_root, plan.options, plan.mc_samples,
                               callbacks=lambda: [TrainingBar(progress, self.label), self.watch],
                               preset=plan.preset)
        self._failures: dict[Target, str] = {}

    def pending(self, tally: Tally) -> list[PendingCell]:
        """Every unfinished, failed or stale cell of the plan (stale ones are kept instead with
        ``plan.reuse_stale``), counting the skipped and stale ones in ``tally``."""
        todo = []
        for target in self.plan.targets:
            for suite_name in self.plan.suites:
                if not self.plan.profile.measures(suite_name, target.seed):
                    continue
                suite = get_suite(suite_name)
                key = CellKey.of(suite_name, target, self.plan.profile.name, self.plan.mc_samples)
                provenance = self.plan.provenance(target, self.bench.provenance(suite, target))
                state, cell, reasons = self.store.state(key, provenance)
                if state is State.DONE:
                    if cell.stale:  # its provenance matches again: no longer stale
                        self.store.put(Cell(**{**cell.__dict__, "stale": []}))
                    tally.skipped += 1
                elif state is State.STALE and self.plan.reuse_stale:
                    if cell.stale != reasons:
                        self.store.put(Cell(**{**cell.__dict__, "stale": reasons}))
                    tally.skipped += 1
                    tally.kept_stale += 1
                else:
                    tally.stale += bool(reasons)
                    tally.reasons.update(reasons)
                    todo.append(PendingCell(target, suite_name, key, provenance))
        return todo

    def compute_all(self, cells: Sequence[PendingCell], tally: Tally, console: Console) -> None:
        """Compute ``cells`` in order, one progress task over them."""
        overall = self.progress.add_task("cells", total=len(cells))
        for cell in cells:
            self.progress.update(overall, description=f"{cell.suite}: {target_label(cell.target)}")
            self.compute(cell, tally, console)
            self.progress.advance(overall)

    def compute(self, pending: PendingCell, tally: Tally, console: Console) -> None:
        """Compute one cell and store it: ``ok`` with its metrics, or ``failed`` with its error
        (the run goes on; a target whose training failed fails its other training suites with
        the same error instead of training again)."""
        suite, target = get_suite(pending.suite), pending.target
        self.label = target_label(target)
        start = time.perf_counter()
        error = self._failures.get(target) if suite.needs_training else None
        if error is None:
            try:
                result = suite.run(self.bench, target)
            except SystemExit:
                if self.watch.seen:  # Ctrl+C during training (Lightning turned it into exit 1)
                    raise KeyboardInterrupt from None
                raise
            except Exception as exc:  # a failed cell is recorded; the run goes on
                if disk_full(exc):  # not the cell's failure: the run stops, the cell stays pending
                    raise
                error = f"{type(exc).__name__}: {exc}"
                if suite.needs_training and not self.bench.has_trained(target):
                    self._failures[target] = error
            else:
                error = non_finite(result.metrics)
        seconds = time.perf_counter() - start
        if error is None:
            self.store.put(Cell(pending.key, "ok", result.metrics, {k: suite.kind for k in result.metrics},
                                result.extras, None, seconds, pending.provenance, self.commit,
                                intervals=result.intervals(), report=suite.report(list(result.metrics), self.bench)),
                           result.replicates)
            tally.done += 1
        else:
            self.store.put(Cell(pending.key, "failed", error=error, seconds=seconds,
                                provenance=pending.provenance, git_commit=self.commit))
            line = f"failed {pending.key.label()}: {error}"
            console.print(f"[red]failed[/] {escape(line.removeprefix('failed '))}")
            tally.failed += 1
            tally.errors.append(line)
