"""Provenance of a result cell: everything besides its key that changes its numbers.

A cell's *key* (:class:`spindrop.store.CellKey`) names what was measured: suite × target × profile
name × T; its file is found by the key. Its *provenance* is a dict of components, each a
JSON value, that the suite declares it depends on (:attr:`suites.base.Suite.provenance`):

========== ============================================================ =====================
component  value                                                        stale reason
========== ============================================================ =====================
code       fingerprint of the code that computes it                     code changed
           (:func:`cell_code_fingerprint`)
method     the method's resolved parameters (defaults included)         method parameters changed
profile    digest of the dataset's training and evaluation plans        profile changed
data       digest of the SHA256SUMS entries of the files read           data changed
trainer    digest of the Lightning trainer options                      trainer options changed
preset     the hardware preset's name and a digest of its values        preset changed
masks      "ideal", or the preset's name and a digest of its MTJ model   mask device changed
           when its non-idealities make the MC masks device-drawn
========== ============================================================ =====================

A stored cell whose provenance differs from the current one is *stale*: the runner recomputes
it and says why (docs/design.md "Provenance and staleness").
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from spindrop.fingerprint import imports_fingerprint, module_file
from spindrop.registry import list_methods, method_class

from .base import Suite

CORE_PACKAGES = ("spindrop", "baselines", "hardware", "suites")
"""Packages whose sources can change a number (``reports`` only lays numbers out)."""

DATA_MODULES = ("spindrop/training/profiles.py", "hardware/presets.py")
"""Modules of pure data: their *values* are provenance components of their own."""


BENCH_MODULE = "suites.workbench"
"""The module every suite measures through (training, MC prediction, the cost model)."""


def cell_code_fingerprint(method: str, suite: type[Suite]) -> str:
    """Fingerprint of the code behind a cell: its suite's and its method's modules and what they
    import, directly or not, from the core packages and from their own packages, plus the same of
    the workbench (:func:`spindrop.fingerprint.imports_fingerprint`). Not in it: modules none of
    them imports (the runner, the list of suites in ``suites/__init__.py``, other suites), the
    modules of other registered methods (the cost model's comparison imports a constant of
    ``spatial``, which computes no other method's numbers) and the data modules (their values are
    provenance components of their own)."""
    repo = Path(__file__).resolve().parents[1]
    owners = [method_class(method), suite]
    others = [method_class(m) for m in list_methods() if m != method]
    packages = dict.fromkeys([*CORE_PACKAGES, *(c.__module__.partition(".")[0] for c in owners)])
    return imports_fingerprint([*(c.__module__ for c in owners), BENCH_MODULE], packages,
                               exclude=[*(module_file(c) for c in others), *(repo / m for m in DATA_MODULES)],
                               include=[module_file(c) for c in owners])


def json_value(value: object) -> object:
    """``value`` as it reads back from JSON (tuples become lists), so comparisons are exact."""
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return json_value(asdict(value))
    return value
