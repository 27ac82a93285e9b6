"""The committed reference reports' verdicts recompute from their ``results.csv`` alone (issue 21):
per-seed values of each comparison's metrics (the mean over a group's sets, e.g. the near-OOD
AUROCs) → scipy's paired t-test → Holm–Bonferroni over each (dataset, model) family reproduces
every row of ``comparisons.csv``: raw p, Holm p and "significant". With fewer than 3 seeds no row
is significant and none carries a p-value."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

REPORTS = Path(__file__).resolve().parents[2] / "reports"
FOLDERS = sorted(p.parent for p in REPORTS.glob("*/comparisons.csv") if (p.parent / "results.csv").is_file())


def holm(p: list[float]) -> list[float]:
    """Holm's step-down adjustment, written out: the k-th smallest p times (m − k), running max, ≤ 1."""
    order = np.argsort(p)
    adjusted, running = [0.0] * len(p), 0.0
    for rank, i in enumerate(order):
        running = max(running, (len(p) - rank) * p[i])
        adjusted[i] = min(1.0, running)
    return adjusted


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_every_verdict_recomputes_from_results_csv(folder):
    results = pd.read_csv(folder / "results.csv")
    results = results[results["status"] == "ok"]
    table = pd.read_csv(folder / "comparisons.csv")
    assert len(table), f"{folder.name}: comparisons.csv is empty"
    for (dataset, model), family in table.groupby(["dataset", "model"]):
        rows = results[(results["dataset"] == dataset) & (results["model"] == model)]
        raw = []
        for row in family.itertuples():
            if row.seeds < 3:
                assert not row.significant and pd.isna(row.p), f"{folder.name}: a verdict from {row.seeds} seed(s)"
                continue
            values = rows[rows["metric"].isin(row.metrics.split())].groupby(["method", "seed"])["value"].mean()
            a, b = values[row.method], values[row.versus]
            seeds = sorted(set(a.index) & set(b.index))
            assert len(seeds) == row.seeds
            raw.append(scipy_stats.ttest_rel(a[seeds].to_numpy(), b[seeds].to_numpy()).pvalue)
            assert row.delta == pytest.approx(float((a[seeds] - b[seeds]).mean()), abs=1e-9)
        tested = family[family["seeds"] >= 3]
        if not raw:
            continue
        assert tested["p"].to_numpy() == pytest.approx(raw, rel=1e-6)
        assert tested["p_holm"].to_numpy() == pytest.approx(holm(raw), rel=1e-6)
        assert tested["significant"].tolist() == [p < 0.05 for p in holm(raw)]
