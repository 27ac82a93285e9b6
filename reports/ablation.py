"""Paired verdicts on what the open readings change (the ``ablation`` suite, measured).

For every (dataset, model), method row and open reading the suite measured (extras ``readings``:
per training seed the other reading's and the default's accuracy, NLL, ECE and main-OOD entropy
AUROC, on the same data, seed and mask seeds), the difference other − default is tested over the
training seeds by the paired t-test (:func:`spindrop.stats.paired_t`), and the family of all such
tests of one (dataset, model) is corrected by Holm's step-down method (:func:`spindrop.stats.holm`;
docs/design.md "Statistics"). Below :data:`spindrop.stats.MIN_SEEDS` seeds no verdict is stated: the
suite's own tables then describe those networks (an image bootstrap), not the readings.
"""
from __future__ import annotations

import math

from spindrop.report_spec import PERCENT, leaf
from spindrop.stats import ALPHA, MIN_SEEDS, holm, paired_t

from .results import Results, dataset_name

SUITE = "ablation"
LABELS = {"acc": "accuracy", "nll": "NLL", "ECE": "ECE", "ood/entropy/AUROC": "OOD AUROC (entropy)"}


def _points(metric: str, value: float) -> str:
    """A difference in points for a fraction-valued metric, else as is."""
    return f"{100 * value:+.2f} pt" if leaf(metric) in PERCENT else f"{value:+.3f}"


def _pairs(readings: list[dict], name: str, metric: str) -> list[tuple[float, float]]:
    """(other, default) of ``metric`` per training seed that measured reading ``name``."""
    found = [(r[name]["other"].get(metric), r[name]["default"].get(metric)) for r in readings if name in r]
    return [(a, b) for a, b in found if a is not None and b is not None]


def ablation_lines(res: Results) -> list[str]:
    """The Markdown section (empty without ablation cells)."""
    blocks = []
    for dataset, model in res.targets():
        cells = res.extras(SUITE, dataset, model)
        tests = []
        for label, seeds in cells.items():
            readings = [e.get("readings", {}) for _, e in seeds]
            for name in dict.fromkeys(n for r in readings for n in r):
                title = next(r[name]["title"] for r in readings if name in r)
                for metric, text in LABELS.items():
                    tests.append((label, title, metric, text, _pairs(readings, name, metric)))
        if not tests:
            continue
        seeds_min = min(len(p) for *_, p in tests)
        heading = f"### {dataset_name(dataset)} / {model}"
        if seeds_min < MIN_SEEDS:
            blocks += [heading, "", f"No verdict: {seeds_min} training seed(s) per reading; a paired t-test over "
                       f"seeds needs at least {MIN_SEEDS}. The Δ columns of the tables above describe these "
                       "networks, not the readings.", ""]
            continue
        results = [paired_t([a for a, _ in pairs], [b for _, b in pairs]) for *_, pairs in tests]
        adjusted = holm([t.p for t in results])
        rows = []
        for (label, title, metric, text, _), t, p_holm in zip(tests, results, adjusted):
            differs = not math.isnan(p_holm) and p_holm < ALPHA
            interval = "—" if math.isnan(t.low) else f"[{_points(metric, t.low)}, {_points(metric, t.high)}]"
            p_text = "—" if math.isnan(t.p) else f"{t.p:.3g}"
            holm_text = "—" if math.isnan(p_holm) else f"{p_holm:.3g}"
            rows.append(f"| {label} | {title} | {text} | {_points(metric, t.estimate)} {interval} | {t.seeds} | "
                        f"{p_text} | {holm_text} | {'**differs**' if differs else 'no difference shown'} |")
        blocks += [heading, "", "| method | reading | metric | Δ = other − default [95 % t] | seeds | p | p (Holm) "
                   "| verdict |", "|:---|:---|:---|---:|---:|---:|---:|:---|", *rows, ""]
    if not blocks:
        return []
    return ["## What the open readings change: paired verdicts over seeds (measured)", "",
            "Each open reading against the default on the same data, seeds and mask seeds (the `ablation` "
            "suite): the paired t-test over training seeds of other − default, Holm-corrected over all the "
            f"tests of one dataset and model; a reading **differs** where the corrected p < {ALPHA:g}.", "",
            *blocks]
