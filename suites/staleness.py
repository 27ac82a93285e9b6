"""Marking the stale cells of a store that a run did not touch, so the report marks every stale row.

A run checks the provenance of the cells it plans (:meth:`suites.cells.CellRunner.pending`); the
report shows every cell of the run's profile and T, those of other methods, seeds and suites
included. :func:`mark_stale_cells` compares each of them with the current provenance too and
records the reasons in the cell (``Cell.stale``; none when it matches again), so each stale row
the report shows is marked † (docs/design.md "Provenance and staleness").
"""
from __future__ import annotations

from dataclasses import replace

from spindrop.registry import list_methods
from spindrop.store import ResultStore, Target, stale_reasons

from .base import get_suite, list_suites
from .cells import Plan
from .workbench import Workbench


def mark_stale_cells(plan: Plan) -> int:
    """Record in every ok cell of ``plan``'s profile and T whether its provenance still matches the
    current one (under the plan's preset, trainer options and data); a cell whose suite or method
    is not registered in this process is left as it is. Returns the number of stale cells."""
    store = ResultStore(plan.out)
    bench = Workbench(plan.profile, plan.out, plan.data_root, plan.options, plan.mc_samples, preset=plan.preset)
    suites, methods = set(list_suites()), set(list_methods())
    stale = 0
    for cell in store.cells():
        key = cell.key
        if (cell.status != "ok" or (key.profile, key.mc_samples) != (plan.profile.name, plan.mc_samples)
                or key.suite not in suites or key.method not in methods):
            continue
        target = Target(key.dataset, key.model, key.width, key.method, key.params, key.seed)
        reasons = stale_reasons(cell.provenance, bench.provenance(get_suite(key.suite), target))
        if reasons != cell.stale:
            store.put(replace(cell, stale=reasons))
        stale += bool(reasons)
    return stale
