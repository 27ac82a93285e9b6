"""The result store as a tidy pandas DataFrame, for notebooks: ``reports.load("runs")``.

One row per (cell, metric), from :meth:`spindrop.store.ResultStore.frame`, with typed columns:

* ``metric`` (string), ``value`` (float64; NaN where the metric does not apply to the method, or
  for a failed cell), ``kind`` (string: ``measured`` or ``modelled``);
* what the cell measured: ``method``, ``params`` (``p=0.2``), ``dataset``, ``model`` (strings),
  ``width`` (float64), ``seed`` (int64), ``suite``, ``profile`` (strings), ``mc_samples`` (int64);
* ``status`` (``ok``/``failed``) and ``error`` (strings);
* the cell's bootstrap interval ``ci_low``, ``ci_high`` and its number of images ``n`` (float64);
* its provenance ``method_params``, ``preset``, ``code``, ``data``, ``tuning``, ``git_commit`` and ``stale``
  (strings; :func:`spindrop.store.provenance_columns`);
* every further column of the store as the store writes it.

Text columns are pandas' ``string`` dtype (missing = ``<NA>``), so the frame filters, groups
and pivots without categorical surprises.

``load`` also reads a rendered report folder (``reports/standard``), which holds no store: its
``results.csv``, or else its ``results.json``. ``results.json`` has one entry per cell
(:func:`results_json`: the cell's key, status and provenance once, its metrics nested); files
written before that layout, with the long rows of ``results.csv`` repeated in JSON, load too.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from .results import ReportError, Results

# The tidy columns first, in this order, with their dtypes; the store's other columns follow.
COLUMNS = {"metric": "string", "value": "float64", "kind": "string", "method": "string", "params": "string",
           "dataset": "string", "model": "string", "width": "float64", "seed": "int64", "suite": "string",
           "profile": "string", "mc_samples": "int64", "status": "string", "error": "string",
           "ci_low": "float64", "ci_high": "float64", "n": "float64", "method_params": "string", "preset": "string",
           "code": "string", "data": "string", "tuning": "string", "git_commit": "string", "stale": "string"}

METRIC_COLUMNS = ("value", "ci_low", "ci_high", "n", "kind")
"""Columns of the long frame that belong to one metric of a cell; all others (but ``metric``)
belong to the cell."""

CELLS_LAYOUT = "cells"


def _plain(value: object) -> object:
    """A frame value as JSON: NaN and missing values → None, numpy scalars → Python ones."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def results_json(frame: pd.DataFrame, metadata: dict) -> dict:
    """The content of a report's ``results.json``: ``{"layout": "cells", "metadata": ...,
    "columns": [...], "cells": [{<cell columns>, "metrics": {name: {value, ci_low, ci_high, n,
    kind}}}]}``, each cell's key, status, error and provenance written once (a failed cell has no
    metrics); ``columns`` keeps the long frame's column order for :func:`frame_from_json`."""
    per_cell = [c for c in frame.columns if c != "metric" and c not in METRIC_COLUMNS]
    cells: dict[tuple, dict] = {}
    for row in frame.to_dict(orient="records"):
        head = {c: _plain(row[c]) for c in per_cell}
        cell = cells.setdefault(tuple(json.dumps(v) for v in head.values()), {**head, "metrics": {}})
        if _plain(row.get("metric")) is not None:
            cell["metrics"][row["metric"]] = {c: _plain(row[c]) for c in METRIC_COLUMNS if c in row}
    return {"layout": CELLS_LAYOUT, "metadata": metadata, "columns": list(frame.columns), "cells": list(cells.values())}


def results_json_text(frame: pd.DataFrame, metadata: dict) -> str:
    """:func:`results_json` as text: one line per cell (compact, and a rerun's diff shows the cells
    that changed)."""
    data = results_json(frame, metadata)
    cells = ",\n".join(json.dumps(c, separators=(",", ":")) for c in data.pop("cells"))
    head = json.dumps(data, indent=1, default=str)
    return f'{head[:-2]},\n "cells": [\n{cells}\n]\n}}\n'


def frame_from_json(data: dict) -> pd.DataFrame:
    """The long frame of a ``results.json``: the per-cell layout of :func:`results_json`, or the
    earlier layout (``{"metadata": ..., "rows": [...]}``, one entry per metric row)."""
    if data.get("layout") != CELLS_LAYOUT:
        return pd.DataFrame(data["rows"])
    rows = []
    for cell in data["cells"]:
        head = {k: v for k, v in cell.items() if k != "metrics"}
        if not cell["metrics"]:
            rows.append({**head, "metric": None, "value": math.nan})
        rows += [{**head, "metric": name, **values} for name, values in cell["metrics"].items()]
    frame = pd.DataFrame(rows)
    return frame[[c for c in data["columns"] if c in frame.columns]]


def _read(out: Path) -> pd.DataFrame:
    """The long frame of a store, or of a report folder's ``results.csv`` or ``results.json``."""
    if (out / "results" / "cells").is_dir():
        return Results.load(out).all_frame
    if (out / "results.csv").is_file():
        frame = pd.read_csv(out / "results.csv")
        return frame.assign(params=frame["params"].fillna(""))  # a method without parameters: "", as stored
    if (out / "results.json").is_file():
        return frame_from_json(json.loads((out / "results.json").read_text()))
    raise ReportError(f"no result store or report in {out} (expected {out / 'results' / 'cells'}, or results.csv "
                      "of a rendered report folder); pass the --out folder of a run or a report folder")


def load(out: str | Path) -> pd.DataFrame:
    """Every number of the result store under ``out`` (the ``--out`` folder of a run), or of a
    rendered report folder (e.g. ``reports/standard``: its ``results.csv`` or ``results.json``).

    Raises :class:`reports.ReportError` when ``out`` holds neither, or the store has no cells.
    """
    frame = _read(Path(out))
    typed = pd.DataFrame({name: frame[name].astype(dtype) for name, dtype in COLUMNS.items() if name in frame})
    rest = frame[[c for c in frame.columns if c not in COLUMNS]]
    return pd.concat([typed, rest], axis=1)
