"""The result store: one JSON file per finished cell, written atomically.

Layout under the output folder::

    results/cells/<suite>/<cell id>.json   one finished (or failed) cell each
    results/metadata.json                 versions, profile, git commit, preset, runs
    results/results.csv                   every number, long format (re-written after a run)

A cell is written the moment it finishes (temp file + ``os.replace``), so a killed run
loses nothing that was finished and a rerun skips every cell already ``ok``; failed cells
are retried.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from .base import Target

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
    def of(cls, suite: str, target: Target, profile: str, mc_samples: int) -> "CellKey":
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
    """A finished cell: its key, status, metrics (name → value), each metric's kind
    (measured/modelled), plot data (``extras``) and timing."""

    key: CellKey
    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    extras: dict = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict:
        d = asdict(self)
        d["key"]["params"] = dict(self.key.params)
        return d

    @classmethod
    def from_json(cls, d: dict) -> "Cell":
        key = dict(d["key"])
        key["params"] = tuple(sorted(key["params"].items()))
        return cls(**{**d, "key": CellKey(**key)})


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file and a rename (atomic on POSIX)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except BaseException:  # a failed write (disk full, interrupt) leaves no temp file behind
        tmp.unlink(missing_ok=True)
        raise


class ResultStore:
    """Cells of one output folder."""

    def __init__(self, out: str | Path) -> None:
        self.root = Path(out) / "results"

    def _path(self, key: CellKey) -> Path:
        return self.root / "cells" / key.suite / f"{key.id}.json"

    def get(self, key: CellKey) -> Cell | None:
        path = self._path(key)
        if not path.exists():
            return None
        return Cell.from_json(json.loads(path.read_text()))

    def done(self, key: CellKey) -> bool:
        cell = self.get(key)
        return cell is not None and cell.status == "ok"

    def put(self, cell: Cell) -> None:
        atomic_write_text(self._path(cell.key), json.dumps(cell.to_json(), indent=1, default=float))

    def cells(self) -> list[Cell]:
        return [Cell.from_json(json.loads(p.read_text()))
                for p in sorted((self.root / "cells").glob("*/*.json"))]

    def frame(self) -> pd.DataFrame:
        """Every number in long format: one row per (cell, metric)."""
        rows = []
        for cell in self.cells():
            base = {"suite": cell.key.suite, **{k: v for k, v in asdict(cell.key).items() if k != "params"}}
            base["params"] = ",".join(f"{k}={v}" for k, v in cell.key.params)
            base["status"] = cell.status
            if cell.status != "ok":
                rows.append({**base, "metric": None, "value": float("nan"), "kind": None,
                             "error": cell.error})
                continue
            for name, value in cell.metrics.items():
                rows.append({**base, "metric": name, "value": value, "kind": cell.kinds.get(name),
                             "error": None})
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
