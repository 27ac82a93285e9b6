"""The tuning protocol (docs/design.md "Tuning protocol").

Each method declares its tunable parameters and their values beside its parameters
(``Config.GRID``, :meth:`spindrop.Method.grid`). Every setting of the grid is trained and its MC
predictive evaluated on the **validation split** (held out of the train split; never a test or OOD
set), and the selected setting is, among the settings whose validation accuracy is within
:data:`ACC_WINDOW` (1 point) of the best one, the one of least validation NLL (ties: the first in grid
order). A selection is cached like a checkpoint (:class:`TuningCache`), keyed by everything that
changes it, and kept as a :class:`TuneRecord` with its validation table, which the run records.
"""
from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..data.root import atomic_write

log = logging.getLogger("spindrop.tuning")

ACC_WINDOW = 0.01
"""Settings within this much validation accuracy of the best are eligible (1 point)."""

Params = tuple[tuple[str, object], ...]


@dataclass(frozen=True)
class Trial:
    """One setting of the grid and its validation accuracy and NLL (MC predictive)."""

    params: Params
    val_acc: float
    val_nll: float


def grid_settings(grid: Mapping[str, Sequence[object]]) -> list[Params]:
    """Every setting of ``grid`` (parameter → values), parameters in name order, values in the
    declared order (the first parameter varies slowest)."""
    names = sorted(grid)
    return [tuple(zip(names, values)) for values in itertools.product(*(grid[n] for n in names))]


def select(trials: Sequence[Trial], window: float = ACC_WINDOW) -> Trial:
    """Among the trials within ``window`` of the best validation accuracy, the one of least
    validation NLL (ties: the first)."""
    if not trials:
        raise ValueError("no trial to select from: the grid is empty")
    best = max(t.val_acc for t in trials)
    eligible = [t for t in trials if t.val_acc >= best - window - 1e-12]
    return min(eligible, key=lambda t: t.val_nll)


@dataclass(frozen=True)
class TuneRecord:
    """A selection: what was tuned (``subject``: method, dataset, model, …), the grid, every trial
    (the validation table) and the selected setting."""

    subject: dict
    grid: dict[str, list]
    trials: tuple[Trial, ...]
    selected: Params

    def to_json(self) -> dict:
        return {"subject": self.subject, "grid": self.grid, "selected": [list(p) for p in self.selected],
                "trials": [{"params": [list(p) for p in t.params], "val_acc": t.val_acc, "val_nll": t.val_nll}
                           for t in self.trials]}

    @classmethod
    def from_json(cls, d: dict) -> TuneRecord:
        def params(items: list) -> Params:
            return tuple((str(k), v) for k, v in items)
        return cls(dict(d["subject"]), {k: list(v) for k, v in d["grid"].items()},
                   tuple(Trial(params(t["params"]), float(t["val_acc"]), float(t["val_nll"])) for t in d["trials"]),
                   params(d["selected"]))


def search(objective: Callable[[Params], tuple[float, float]], grid: Mapping[str, Sequence[object]],
           subject: dict) -> TuneRecord:
    """Evaluate ``objective`` (setting → validation accuracy, NLL) on every setting of ``grid`` and
    select one (:func:`select`)."""
    trials = tuple(Trial(p, *objective(p)) for p in grid_settings(grid))
    return TuneRecord(subject, {k: list(v) for k, v in grid.items()}, trials, select(trials).params)


class TuningCache:
    """Selections under ``<root>/tuning/<key>.json``; ``key`` digests everything the selection depends
    on (the caller's). An unreadable or mismatching entry is a miss (a warning), never an error."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root) / "tuning"

    def get(self, key: str) -> TuneRecord | None:
        path = self.root / f"{key}.json"
        if not path.exists():
            return None
        try:
            return TuneRecord.from_json(json.loads(path.read_text()))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.warning("tuning cache entry %s is unreadable (%s); tuning again", path, type(exc).__name__)
            return None

    def put(self, key: str, record: TuneRecord) -> Path:
        path = self.root / f"{key}.json"
        data = json.dumps(record.to_json(), indent=1, default=str).encode()
        atomic_write(path, lambda fh: fh.write(data))
        return path
