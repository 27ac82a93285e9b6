"""Reports of a result store: rich tables, Markdown with PNG plots, CSV/JSON
(:func:`render_report`), and the store as a pandas DataFrame (:func:`load`).

The names are imported on first use (PEP 562): matplotlib and Lightning load only when a report
is rendered, and ``python -m reports.render`` runs its module once, without runpy's warning about
a module imported by its own package.
"""
from __future__ import annotations

import importlib

_LAZY = {"load": "frame", "render_report": "render", "ReportError": "results"}

__all__ = ["ReportError", "load", "render_report"]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
