"""The result store: one JSON file per finished cell, written atomically.

Layout under the output folder::

    results/cells/<suite>/<cell id>.json   one finished (or failed) cell each
    results/cells/<suite>/<cell id>.npz    its metrics' bootstrap replicates (measured cells)
    results/metadata.json                 versions, profile, git commit, preset, runs
    results/results.csv                   every number, long format (re-written after a run)

A cell is written the moment it finishes (temp file + ``os.replace``), so a killed run
loses nothing that was finished and a rerun skips every cell already ``ok`` whose provenance
(:mod:`suites.provenance`) still matches; failed and stale cells are recomputed. A cell file
that cannot be read (truncated or edited by hand) is a missing cell: a warning is logged and it
is recomputed.

A measured cell holds each metric's 95 % bootstrap interval (``intervals``: ci_low, ci_high, n)
and, beside it, the replicates the interval came from (:class:`spindrop.stats.Replicates`), which
the report pairs across methods. The side file is written (atomically) before its cell, and the
cell records its sha256; a side file that is missing, corrupt or not the one its cell recorded is
read as "no replicates" (the report then shows no paired interval), never as an error. Cells
written before intervals existed load with none.
"""
from __future__ import annotations

import hashlib
import json
import logging
import zipfile
from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from spindrop.data.root import atomic_write
from spindrop.stats import Replicates

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("spindrop.cache")

REASONS = {"code": "code changed", "method_params": "method parameters changed",
           "profile": "profile changed", "data": "data changed", "trainer": "trainer options changed",
           "preset": "preset changed", "masks": "mask device changed"}


@dataclass(frozen=True)
class Target:
    """One trained configuration that suites measure."""

    dataset: str
    model: str
    width: float
    method: str
    params: tuple[tuple[str, object], ...]
    seed: int

    @property
    def method_params(self) -> dict[str, object]:
        return dict(self.params)


def stale_reasons(stored: dict, current: dict) -> list[str]:
    """Why a stored cell's provenance does not match the current one ([] if it does).

    A component the stored cell lacks (a cell written before it was recorded) is a mismatch.
    """
    return [REASONS.get(name, f"{name} changed") for name in current if stored.get(name) != current[name]]


MEASURED = "measured"
MODELLED = "modelled"


@dataclass(frozen=True)
class CellKey(Target):
    """What a cell measures: one suite on a target (dataset × model × method with parameters
    × seed), within a profile and number of MC samples."""

    suite: str
    profile: str
    mc_samples: int

    @classmethod
    def of(cls, suite: str, target: Target, profile: str, mc_samples: int) -> CellKey:
        return cls(**asdict(target), suite=suite, profile=profile, mc_samples=mc_samples)

    @property
    def id(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def label(self) -> str:
        params = ",".join(f"{k}={v}" for k, v in self.params)
        return f"{self.suite}: {self.dataset}/{self.model} {self.method}({params}) seed {self.seed}"


@dataclass
class Cell:
    """A finished cell: its key, status, metrics (name → value; None = not applicable), each
    metric's kind (measured/modelled), plot data (``extras``), timing, and where it came from:
    ``provenance`` (compared on every run), the ``git_commit`` of the code that computed it, and
    ``stale`` (the reasons, when a run kept it although its provenance no longer matched);
    ``intervals``: metric → {"ci_low", "ci_high", "n"} (95 % bootstrap over its n images);
    ``replicates``: sha256 of the side file holding the replicates (None: no side file);
    ``report``: the suite's group and tables (:class:`spindrop.report_spec.SuiteReport` as JSON;
    None in cells written before suites declared them: the report then lays them out generically)."""

    key: CellKey
    status: str
    metrics: dict[str, float | None] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    extras: dict = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    provenance: dict = field(default_factory=dict)
    git_commit: str | None = None
    stale: list[str] = field(default_factory=list)
    intervals: dict[str, dict[str, float | int]] = field(default_factory=dict)
    replicates: str | None = None
    report: dict | None = None

    def to_json(self) -> dict:
        d = asdict(self)
        d["key"]["params"] = dict(self.key.params)
        return d

    @classmethod
    def from_json(cls, d: dict) -> Cell:
        key = dict(d["key"])
        key["params"] = tuple(sorted(key["params"].items()))
        return cls(**{**d, "key": CellKey(**key)})


class State(Enum):
    """A cell's state in the store with respect to the current provenance."""

    MISSING = "missing"
    DONE = "done"
    STALE = "stale"
    FAILED = "failed"


def atomic_write_text(path: Path, text: str | bytes) -> None:
    """Write ``text`` (or bytes) to ``path`` atomically (:func:`spindrop.data.root.atomic_write`)."""
    data = text if isinstance(text, bytes) else text.encode()
    atomic_write(path, lambda fh: fh.write(data))


class ResultStore:
    """Cells of one output folder."""

    def __init__(self, out: str | Path) -> None:
        self.root = Path(out) / "results"

    def _path(self, key: CellKey) -> Path:
        return self.root / "cells" / key.suite / f"{key.id}.json"

    @staticmethod
    def _read(path: Path) -> Cell | None:
        """The cell in ``path``; None (and a warning) if it cannot be read."""
        try:
            return Cell.from_json(json.loads(path.read_text()))
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("result cell %s is unreadable (%s); treating it as missing", path, type(exc).__name__)
            return None

    def get(self, key: CellKey) -> Cell | None:
        path = self._path(key)
        return self._read(path) if path.exists() else None

    def state(self, key: CellKey, provenance: dict) -> tuple[State, Cell | None, list[str]]:
        """(state, stored cell, stale reasons) of ``key`` against the current ``provenance``."""
        cell = self.get(key)
        if cell is None:
            return State.MISSING, None, []
        if cell.status != "ok":
            return State.FAILED, cell, []
        reasons = stale_reasons(cell.provenance, provenance)
        return (State.STALE if reasons else State.DONE), cell, reasons

    def put(self, cell: Cell, replicates: Replicates | None = None) -> None:
        """Write ``cell``; with ``replicates``, write its side file first and record its sha256 in it."""
        if replicates is not None:
            data = replicates.to_bytes()
            atomic_write_text(self._path(cell.key).with_suffix(".npz"), data)
            cell = replace(cell, replicates=hashlib.sha256(data).hexdigest())
        atomic_write_text(self._path(cell.key), json.dumps(cell.to_json(), indent=1, default=float))

    def replicates(self, cell: Cell) -> Replicates | None:
        """The replicates of ``cell``; None if it has none, or its side file is missing, corrupt or
        not the one the cell recorded (a warning is logged for the last three)."""
        if cell.replicates is None:
            return None
        path = self._path(cell.key).with_suffix(".npz")
        try:
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() != cell.replicates:
                raise ValueError("its sha256 is not the one its cell recorded")
            return Replicates.from_bytes(data)
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
            log.warning("bootstrap replicates %s unusable (%s); no paired intervals for this cell", path, exc)
            return None

    def cells(self) -> list[Cell]:
        """Every readable cell (an unreadable one is skipped with a warning)."""
        read = (self._read(p) for p in sorted((self.root / "cells").glob("*/*.json")))
        return [c for c in read if c is not None]

    def frame(self) -> pd.DataFrame:
        """Every number in long format: one row per (cell, metric)."""
        rows = []
        for cell in self.cells():
            base = {"suite": cell.key.suite, **{k: v for k, v in asdict(cell.key).items() if k != "params"}}
            base["params"] = ",".join(f"{k}={v}" for k, v in cell.key.params)
            base["status"] = cell.status
            base.update(provenance_columns(cell))
            if cell.status != "ok":
                rows.append({**base, "metric": None, "value": float("nan"), "kind": None,
                             "error": cell.error})
                continue
            for name, value in cell.metrics.items():
                ci = cell.intervals.get(name, {})
                rows.append({**base, "metric": name, "value": float("nan") if value is None else value,
                             "ci_low": ci.get("ci_low", float("nan")), "ci_high": ci.get("ci_high", float("nan")),
                             "n": ci.get("n"), "kind": cell.kinds.get(name), "error": None})
        import pandas as pd  # only when a frame is asked for: the CLI starts without it
        return pd.DataFrame(rows)

    def read_metadata(self) -> dict:
        path = self.root / "metadata.json"
        return json.loads(path.read_text()) if path.exists() else {"runs": []}

    def record_run(self, info: dict) -> None:
        meta = self.read_metadata()
        meta["runs"] = [*meta.get("runs", []), info]
        meta["latest"] = info
        atomic_write_text(self.root / "metadata.json", json.dumps(meta, indent=1, default=str))

    def export(self) -> Path:
        path = self.root / "results.csv"
        frame = self.frame()
        atomic_write_text(path, frame.to_csv(index=False))
        return path


def provenance_columns(cell: Cell) -> dict[str, object]:
    """The columns of ``results.csv`` that trace a row to what produced it (``tuning``: the key of the
    tuning record its parameters were selected by, docs/design.md "Tuning protocol"; empty if set by hand)."""
    prov = cell.provenance
    preset = prov.get("preset") or {}
    return {"method_params": json.dumps(prov["method_params"], sort_keys=True) if "method_params" in prov else None,
            "preset": preset.get("name"), "code": prov.get("code"), "data": prov.get("data"),
            "tuning": prov.get("tuning"), "git_commit": cell.git_commit, "stale": "; ".join(cell.stale) or None}
