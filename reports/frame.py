"""The result store as a tidy pandas DataFrame, for notebooks: ``reports.load("runs")``.

One row per (cell, metric), from :meth:`spindrop.store.ResultStore.frame`, with typed columns:

* ``metric`` (string), ``value`` (float64; NaN where the metric does not apply to the method, or
  for a failed cell), ``kind`` (string: ``measured`` or ``modelled``);
* what the cell measured: ``method``, ``params`` (``p=0.2``), ``dataset``, ``model`` (strings),
  ``width`` (float64), ``seed`` (int64), ``suite``, ``profile`` (strings), ``mc_samples`` (int64);
* ``status`` (``ok``/``failed``) and ``error`` (strings);
* every further column of the store (provenance such as ``git_commit``) as the store writes it.

Text columns are pandas' ``string`` dtype (missing = ``<NA>``), so the frame filters, groups
and pivots without categorical surprises.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .results import Results

# The tidy columns first, in this order, with their dtypes; the store's other columns follow.
COLUMNS = {"metric": "string", "value": "float64", "kind": "string", "method": "string", "params": "string",
           "dataset": "string", "model": "string", "width": "float64", "seed": "int64", "suite": "string",
           "profile": "string", "mc_samples": "int64", "status": "string", "error": "string"}


def load(out: str | Path) -> pd.DataFrame:
    """Every number of the result store under ``out`` (the ``--out`` folder of a run).

    Raises :class:`reports.ReportError` when ``out`` holds no store or the store has no cells.
    """
    frame = Results.load(out).all_frame
    typed = pd.DataFrame({name: frame[name].astype(dtype) for name, dtype in COLUMNS.items() if name in frame})
    rest = frame[[c for c in frame.columns if c not in COLUMNS]]
    return pd.concat([typed, rest], axis=1)
