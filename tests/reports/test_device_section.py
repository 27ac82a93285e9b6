"""The report's device-model section (reports.device): every preset's realised p at the run's p,
labelled modelled, its histogram, and the one-module failure probability, equal to hardware.realised."""
from __future__ import annotations

from dataclasses import replace

import pytest

from hardware import get_preset, list_presets
from hardware.realised import realised_p, unit_failure
from reports.device import spark


@pytest.fixture(scope="module")
def section(rendered) -> str:
    text = rendered[0].read_text()
    return text.split("## Device model: the drop probability the modules realise (modelled)", 1)[1].split("\n## ", 1)[0]


def test_one_row_per_preset_with_the_modelled_numbers(section):
    assert "At this run's p = 0.2" in section and "All **modelled**" in section
    for name in list_presets():
        mtj = get_preset(name).mtj
        r = realised_p(mtj, 0.2)
        row = next(line for line in section.splitlines() if line.startswith(f"| preset `{name}` |"))
        assert f"| {r.mean:.3f} | {r.q05:.3f} | {r.q95:.3f} | `{spark(r.shares)}` |" in row
        assert row.endswith(f"| {100 * unit_failure(mtj, 0.2):.3g} % |")


def test_spark_heights():
    assert spark((0.0, 0.5, 1.0)) == " ▄█"
    assert spark((0.25, 0.25)) == "██"
    assert len(spark(tuple([0.1] * 10))) == 10


def test_robustness_sigmas_get_rows():
    """The σ values of the run's robustness cells (their extras ``axes``) each get a row on the run's
    preset without its non-idealities."""
    from types import SimpleNamespace

    from reports.device import realised_p_lines, swept_sigmas

    extras = {"axes": {"sigma": {"values": [0.0, 0.005, 0.02]}}}
    res = SimpleNamespace(run={"p": 0.2, "hardware_preset": "nvsim_sttram_variation"},
                          targets=lambda: [("mnist", "lenet5")],
                          extras=lambda suite, d, m: {"spindrop": [(0, extras)]} if suite == "robustness" else {})
    assert swept_sigmas(res) == [0.005, 0.02]
    rows = [line for line in realised_p_lines(res) if "robustness sweep" in line]
    assert len(rows) == 2 and "`nvsim_sttram_variation`, σ of Δ and I_c0 = 0.5 %" in rows[0]
    varied = replace(get_preset("nvsim_sttram").mtj, sigma_delta=0.02, sigma_ic0=0.02)
    assert f"| {realised_p(varied, 0.2).mean:.3f} |" in rows[1]
