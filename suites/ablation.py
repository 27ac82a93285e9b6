"""Ablation suite: what each open reading changes (measured; docs/design.md "Interpretations").

The seed papers leave some choices open that decide measured results; each is a switch with a
documented default (:data:`SWITCHES`). For a target trained under the default reading, the suite
trains the same target under the other reading (same data, seed, recipe and MC mask seeds: only the
switch differs) and measures both on the same test images and the main OOD set (the first of
:data:`spindrop.data.shift.OOD_SETS`, Fashion-MNIST for MNIST): accuracy, NLL and ECE of the MC
predictive mean and the entropy AUROC (:func:`suites.robustness.point_metrics`). Keys:
``ablation/<switch>/<metric>`` (the other reading) and ``ablation/<switch>/delta/<metric>`` (other −
default), each with bootstrap replicates on the shared image resamples (the delta's replicate b is
the difference of the two networks' replicates b: a paired interval over images for this one pair of
networks; the verdict over seeds, a paired t-test with Holm's correction, is the report's:
:mod:`reports.ablation`, from the extras ``readings``). A switch that does not apply
to the target (e.g. SpinDrop's ``redraw`` for MC-Dropout, or a target already trained under the other
reading) gives None ("—").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from spindrop.data.shift import OOD_SETS, ood_sets, ood_source_datasets
from spindrop.models import BINARY_CLASSIFIER
from spindrop.registry import get_method
from spindrop.report_spec import ReportColumn, ReportTable, metric_format
from spindrop.stats import Replicates
from spindrop.store import MEASURED

from .base import Suite, SuiteResult, Target, register_suite
from .robustness import point_metrics, point_replicates

if TYPE_CHECKING:
    from torch import Tensor

    from .workbench import Workbench

PREFIX = "ablation"
METRICS = (("Acc", "acc"), ("NLL", "nll"), ("ECE", "ECE"), ("OOD AUROC (entropy)", "ood/entropy/AUROC"))
"""(label, metric) measured per reading: names of :func:`suites.robustness.point_metrics`."""


@dataclass(frozen=True)
class Switch:
    """One open reading: ``name`` (its key), ``title`` (the report's table), and the other reading's
    target for a target trained under the default (None: the switch does not apply)."""

    name: str
    title: str

    def variant(self, target: Target) -> Target | None:
        raise NotImplementedError


@dataclass(frozen=True)
class MethodParamSwitch(Switch):
    """A method parameter: ``param`` = ``value`` instead of its default, for ``method`` only."""

    method: str = ""
    param: str = ""
    value: object = None

    def variant(self, target: Target) -> Target | None:
        params = target.method_params
        if target.method != self.method or params.get(self.param) == self.value:
            return None
        params[self.param] = self.value
        return Target(target.dataset, target.model, target.width, target.method, tuple(sorted(params.items())),
                      target.seed)


@dataclass(frozen=True)
class ModelSwitch(Switch):
    """A model option: the registered variant ``variants[model]`` instead of the model, for every method
    that is one network. A method made of other trained networks (the deep ensemble's members) does
    not apply: its reading is its members' (their method's row shows it), and it would cost M more
    trainings per target."""

    variants: tuple[tuple[str, str], ...] = ()

    def variant(self, target: Target) -> Target | None:
        model = dict(self.variants).get(target.model)
        if model is None or get_method(target.method, **target.method_params).members(target.seed):
            return None
        return Target(target.dataset, model, target.width, target.method, target.params, target.seed)


SWITCHES: tuple[Switch, ...] = (
    MethodParamSwitch("spindrop_redraw_image", "SpinDrop: redraw per image instead of per window",
                      method="spindrop", param="redraw", value="image"),
    MethodParamSwitch("scale_dropped_zero", "Scale-Dropout: dropped scale α → 0 instead of α → 1",
                      method="scale", param="dropped_value", value=0.0),
    ModelSwitch("binary_classifier", "BinaryNet last layer: binarised classifier input with a dropout site",
                variants=tuple(sorted(BINARY_CLASSIFIER.items()))),
)


def _key(switch: Switch, metric: str, delta: bool = False) -> str:
    return f"{PREFIX}/{switch.name}/{'delta/' if delta else ''}{metric}"


@register_suite
class AblationSuite(Suite):
    name = "ablation"
    group = "What the open readings change"
    kind = MEASURED
    summary = "each open reading's effect on accuracy, NLL, ECE and OOD AUROC, same data and seeds (measured)"

    def data_sources(self, dataset: str) -> tuple[str, ...]:
        return (dataset, *ood_source_datasets(dataset))

    def report_tables(self, metric_names: list[str], bench: Workbench) -> list[ReportTable]:
        """One table per switch: the other reading's values and their differences from the default (no
        "best": the rows are methods, the comparison is between readings)."""
        def columns(switch: Switch) -> tuple[ReportColumn, ...]:
            found = []
            for label, m in METRICS:
                unit = " %" if metric_format(m) == "percent" else ""
                for name, key in ((label, _key(switch, m)), (f"Δ {label}", _key(switch, m, True))):
                    if key in metric_names:
                        found.append(ReportColumn(name + unit, (key,), None, metric_format(m)))
            return tuple(found)

        return [ReportTable(f"{s.title}: other reading, and Δ = other − default", columns(s)) for s in SWITCHES]

    def run(self, bench: Workbench, target: Target) -> SuiteResult:
        labels = bench.test_set(target.dataset)[1]
        main_ood = OOD_SETS[target.dataset][0]
        ood_images = ood_sets(target.dataset, bench.data_root, n=bench.profile.evaluation(target.dataset).ood_subset,
                              seed=0)[main_ood]
        reps = Replicates()
        sets = ("test", f"ood/{main_ood}")
        with reps.timed():
            w_test, w_ood = reps.weights(sets[0], len(labels)), reps.weights(sets[1], len(ood_images))

        def measure(t: Target) -> tuple[dict[str, float | None], dict[str, Tensor]]:
            test, _ = bench.test_predictions(t)  # shared with the accuracy, calibration and ood suites
            ood = bench.predict(t, ood_images, f"ood/{main_ood}")
            with reps.timed():
                boot = point_replicates(w_test, w_ood, test, labels, ood)
            return point_metrics(test, labels, ood), boot

        default = measure(target)
        metrics: dict[str, float | None] = {}
        variants: dict[str, str | None] = {}
        readings: dict[str, dict] = {}
        for switch in SWITCHES:
            other = switch.variant(target)
            variants[switch.name] = None if other is None else other.model if other.model != target.model \
                else ",".join(f"{k}={v}" for k, v in other.params)
            found = measure(other) if other is not None else None
            if found is not None:
                readings[switch.name] = {"title": switch.title, "other": {m: found[0][m] for _, m in METRICS},
                                         "default": {m: default[0][m] for _, m in METRICS}}
            for _, m in METRICS:
                value, base = (found[0][m], default[0][m]) if found is not None else (None, None)
                metrics[_key(switch, m)] = value
                metrics[_key(switch, m, True)] = None if value is None or base is None else value - base
                if found is not None and value is not None and base is not None:
                    scope = sets if m.startswith("ood/") else sets[:1]
                    reps.add(_key(switch, m), scope, found[1][m])
                    reps.add(_key(switch, m, True), scope, found[1][m] - default[1][m])
        extras = {"ood_set": main_ood, "variants": variants, "readings": readings,
                  "default": {m: default[0][m] for _, m in METRICS},
                  "images": {"test": len(labels), "ood": len(ood_images)}}
        return SuiteResult(metrics, extras, reps)
