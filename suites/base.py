"""The suite interface and registry.

A suite declares what it needs (``needs_training``), which report group its metrics belong
to, and whether its numbers are measured (from trained networks on data) or modelled (from
the hardware cost model). ``run`` yields namespaced metrics (and optional plot data) for one
target: a (dataset, model, method, parameters, seed) combination.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from spindrop.naming import unknown_name

if TYPE_CHECKING:
    from .workbench import Workbench


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


@dataclass
class SuiteResult:
    metrics: dict[str, float]
    extras: dict = field(default_factory=dict)


class Suite:
    name: ClassVar[str]
    group: ClassVar[str]
    kind: ClassVar[str]
    needs_training: ClassVar[bool] = True
    summary: ClassVar[str] = ""

    def run(self, bench: "Workbench", target: Target) -> SuiteResult:
        raise NotImplementedError


SUITES: dict[str, type[Suite]] = {}


def register_suite(cls: type[Suite]) -> type[Suite]:
    if cls.name in SUITES:
        raise ValueError(f"suite '{cls.name}' is already registered")
    SUITES[cls.name] = cls
    return cls


def list_suites() -> list[str]:
    return list(SUITES)


def get_suite(name: str) -> Suite:
    if name not in SUITES:
        raise LookupError(unknown_name("suite", name, SUITES))
    return SUITES[name]()
