"""The ablation suite (issue 23): every switch of :data:`suites.ablation.SWITCHES` measured on the
same data and seeds on the smoke profile, not-applicable switches None, Δ = other − default, and the
report section "What the open readings change" declared by the suite."""
from __future__ import annotations

import math

import pytest

from spindrop.store import Target
from suites import list_suites
from suites.ablation import METRICS, SWITCHES, MethodParamSwitch, ModelSwitch
from suites.run import EXIT_OK, main

from .runner_helpers import SMOKE, cells

APPLIES = {"deterministic": {"binary_classifier"}, "spindrop": {"spindrop_redraw_image", "binary_classifier"},
           "scale": {"scale_dropped_zero", "binary_classifier"}}


def test_switches_build_the_other_readings_target():
    t = Target("mnist", "lenet5", 0.5, "spindrop", (("p", 0.2),), 3)
    by_name = {s.name: s for s in SWITCHES}
    other = by_name["spindrop_redraw_image"].variant(t)
    assert other == Target("mnist", "lenet5", 0.5, "spindrop", (("p", 0.2), ("redraw", "image")), 3)
    assert by_name["spindrop_redraw_image"].variant(other) is None  # already the other reading
    assert by_name["scale_dropped_zero"].variant(t) is None          # another method's switch
    assert by_name["binary_classifier"].variant(t) == Target("mnist", "lenet5_bc", 0.5, "spindrop", (("p", 0.2),), 3)
    assert by_name["binary_classifier"].variant(Target("mnist", "mlp", 1.0, "spindrop", (), 0)) is None
    # a method made of other trained networks takes its members' reading: no M more trainings
    assert by_name["binary_classifier"].variant(Target("mnist", "lenet5", 0.5, "ensemble", (), 0)) is None
    assert by_name["binary_classifier"].variant(Target("mnist", "lenet5", 0.5, "deterministic", (), 0)) is not None
    assert {type(s) for s in SWITCHES} == {MethodParamSwitch, ModelSwitch}
    assert "ablation" in list_suites()  # registered: --all runs it in every profile


@pytest.fixture(scope="module")
def run(tmp_path_factory, data_root):
    out = tmp_path_factory.mktemp("ablation")
    mp = pytest.MonkeyPatch()
    mp.setenv("SPINDROP_DATA_ROOT", str(data_root))
    mp.setenv("COLUMNS", "200")
    try:
        rc = main(["--suite", "ablation", *SMOKE, "--methods", *APPLIES, "--seeds", "0", "--out", str(out)])
    finally:
        mp.undo()
    return rc, out


def test_ablation_cells_on_smoke(run):
    rc, out = run
    assert rc == EXIT_OK
    found = {c["key"]["method"]: c for c in cells(out)}
    assert set(found) == set(APPLIES)
    for method, cell in found.items():
        metrics, default = cell["metrics"], cell["extras"]["default"]
        assert set(cell["kinds"].values()) == {"measured"}
        for switch in SWITCHES:
            for _, m in METRICS:
                value, delta = metrics[f"ablation/{switch.name}/{m}"], metrics[f"ablation/{switch.name}/delta/{m}"]
                if switch.name in APPLIES[method]:
                    assert value is not None and 0.0 <= value or m == "nll", (method, switch.name, m)
                    assert math.isclose(delta, value - default[m], abs_tol=1e-9)
                else:
                    assert value is None and delta is None
        assert cell["extras"]["variants"]["binary_classifier"] == "lenet5_bc"


def test_ablation_section_in_the_report(run):
    _, out = run
    text = (out / "report" / "REPORT.md").read_text()
    assert "## What the open readings change (measured)" in text
    section = text.split("## What the open readings change", 1)[1].split("\n## ", 1)[0]
    for switch in SWITCHES:
        assert switch.title in section
    assert "Δ Acc %" in section and "Δ OOD AUROC (entropy) %" in section


def test_ablation_verdict_section_says_one_seed_gives_none(run):
    _, out = run
    text = (out / "report" / "REPORT.md").read_text()
    section = text.split("## What the open readings change: paired verdicts over seeds (measured)", 1)[1]
    assert "No verdict: 1 training seed(s) per reading" in section.split("\n## ", 1)[0]
