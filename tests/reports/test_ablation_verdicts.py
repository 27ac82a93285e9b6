"""Paired verdicts on the open readings (reports.ablation): the paired t-test over seeds and Holm's
correction over one (dataset, model), recomputed here with scipy and by hand; no verdict below 3 seeds."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from scipy import stats

from reports.ablation import ablation_lines

DEFAULT = {"acc": 0.90, "nll": 0.30, "ECE": 0.02, "ood/entropy/AUROC": 0.80}


def _extras(shifts: dict[str, float], noise: float) -> dict:
    other = {m: v + shifts.get(m, 0.0) + noise for m, v in DEFAULT.items()}
    return {"readings": {"spindrop_redraw_image": {"title": "SpinDrop: redraw per image", "other": other,
                                                   "default": dict(DEFAULT)}}}


def _res(cells: list[tuple[int, dict]]):
    return SimpleNamespace(targets=lambda: [("mnist", "lenet5")],
                           extras=lambda suite, d, m: {"spindrop": cells} if suite == "ablation" else {})


def test_verdicts_are_paired_t_with_holm():
    noise = [0.001, -0.002, 0.0015, 0.0005]
    # accuracy drops by 5 points at every seed (a clear difference); the others move by noise only
    cells = [(s, _extras({"acc": -0.05}, n)) for s, n in enumerate(noise)]
    lines = ablation_lines(_res(cells))
    rows = [line for line in lines if line.startswith("| spindrop |")]
    assert len(rows) == 4
    p = {}
    for metric in DEFAULT:
        other = [c[1]["readings"]["spindrop_redraw_image"]["other"][metric] for c in cells]
        p[metric] = stats.ttest_rel(other, [DEFAULT[metric]] * 4).pvalue
    order = sorted(p, key=p.get)
    holm, running = {}, 0.0
    for rank, metric in enumerate(order):  # Holm written out: max over j ≤ i of (m − j + 1)·p_(j)
        running = max(running, min(1.0, (4 - rank) * p[metric]))
        holm[metric] = running
    acc = next(r for r in rows if "| accuracy |" in r)
    assert f"| {p['acc']:.3g} | {holm['acc']:.3g} | **differs** |" in acc
    assert "-4.99 pt" in acc or "-5.00 pt" in acc or "-4.98 pt" in acc
    for r in rows:
        if r is not acc:
            assert r.endswith("| no difference shown |")


@pytest.mark.parametrize("seeds", [1, 2])
def test_no_verdict_below_three_seeds(seeds):
    cells = [(s, _extras({"acc": -0.05}, 0.001 * s)) for s in range(seeds)]
    text = "\n".join(ablation_lines(_res(cells)))
    assert f"No verdict: {seeds} training seed(s)" in text and "| **differs** |" not in text


def test_no_section_without_ablation_cells():
    assert ablation_lines(SimpleNamespace(targets=lambda: [("mnist", "lenet5")], extras=lambda s, d, m: {})) == []
