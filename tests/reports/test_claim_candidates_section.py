"""The paper-claims section (reports.claims, reports.markdown): the abstract's wording quoted, no
baseline claimed for it, no "per 3×3" scope, no candidate picked after the fact; the candidate table
at the run's own p, T and preset, both network-level module ratios with their formula, every candidate
labelled modelled, and the module ratios checked against arithmetic written out here from the layer
geometry."""
from __future__ import annotations

import math

import pytest

import spindrop
from hardware import event_energy, get_preset
from reports.claims import (
    PAPER_CLAIM,
    REFERENCE_MODELS,
    CandidateSetting,
    candidate_lines,
    candidate_setting,
    reference_candidates,
)
from reports.results import Results

# Layer geometry written out by hand (width 1). Binary-input layers only.
#   VGG-small 3×32×32: convs 2..6 read C_in = 128, 128, 256, 256, 512 (3×3); the flatten→FC reads the
#   512×4×4 map; the second FC reads 1024 inputs.
#   LeNet-5 1×28×28: conv2 reads 6 channels (5×5); the flatten→FC reads 16×5×5; the second FC 120.
VGG_CONV = (128, 128, 256, 256, 512)
HAND = {
    "vgg_small": {"spindrop": 9 * sum(VGG_CONV) + 512 * 4 * 4 + 1024,
                  "channel": sum(VGG_CONV) + 512 + 1024,
                  "element": sum(VGG_CONV) + 512 * 4 * 4 + 1024},
    "lenet5": {"spindrop": 25 * 6 + 16 * 5 * 5 + 120, "channel": 6 + 16 + 120, "element": 6 + 16 * 5 * 5 + 120},
}


@pytest.fixture(scope="module")
def section(rendered) -> str:
    text = rendered[0].read_text()
    return text.split("## Paper claims vs this suite", 1)[1].split("\n## ", 1)[0]


def test_both_network_module_ratios_with_formula(section):
    assert "Σ_l m_l(SpinDrop) / Σ_l m_l(Spatial)" in section
    for counts in HAND.values():
        for reading in ("channel", "element"):
            ratio = counts["spindrop"] / counts[reading]
            line = f"{counts['spindrop']:,} / {counts[reading]:,} = {ratio:.2f}× ({reading})"
            assert line in section, line
    # the numbers
    assert "20,736 / 2,816 = 7.36× (channel)" in section and "20,736 / 10,496 = 1.98× (element)" in section
    assert "670 / 142 = 4.72× (channel)" in section


def test_candidates_are_modelled_and_the_quantity_is_not_known(section):
    assert "not known" in section and "on the reference models (modelled)" in section
    cands = reference_candidates(CandidateSetting(0.2, 20, "low_barrier"))
    assert {c.model for c in cands} == {name for name, _ in REFERENCE_MODELS}
    assert all(c.label == "modelled" for c in cands)
    table = section.split("| model | quantity | FC reading |", 1)[1].split("\n\n", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert len(rows) == len(cands) and all(f"| {c.model} | {c.quantity} | {c.reading} |" in row
                                           for c, row in zip(cands, rows))


def test_candidate_module_ratios_match_the_geometry():
    cands = reference_candidates()
    for model, counts in HAND.items():
        for reading in ("channel", "element"):
            (c,) = [c for c in cands if (c.model, c.quantity, c.reading) == (model, "network dropout modules", reading)]
            assert (c.spindrop, c.spatial) == (counts["spindrop"], counts[reading])


def test_wording_is_the_abstracts(section):
    """The claim as the abstract words it (per network layer, no baseline named), nothing narrower."""
    assert PAPER_CLAIM in section
    assert "per network layer" in PAPER_CLAIM and "names no baseline" in section
    assert "per 3×3" not in section and "less energy than SpinDrop" not in section
    assert "Nearest" not in section and "nearest 94.11× among these would be a choice made after" in section


def test_candidates_at_the_runs_p_T_and_preset(section, fake_out):
    """The fake store's run: p = 0.2, T = 20, preset low_barrier (not the default); the candidates are
    priced there: the dropout-module energies equal draws × the low-barrier event energy."""
    setting = candidate_setting(Results.load(fake_out))
    assert setting == CandidateSetting(0.2, 20, "low_barrier")
    assert "this run's p = 0.2, T = 20 and preset `low_barrier`" in section
    event = event_energy(get_preset("low_barrier").mtj, 0.2).total
    for c in reference_candidates(setting):
        if c.quantity == "dropout-module energy":
            assert c.spindrop > 0 and c.spatial > 0
    lenet = spindrop.build_model("lenet5", (1, 28, 28), 10, 1.0)
    (c,) = [c for c in reference_candidates(setting)
            if (c.model, c.quantity, c.reading) == ("lenet5", "dropout-module energy", "channel")]
    draws = spindrop.get_method("spindrop", p=0.2).hardware_plan(lenet, (1, 28, 28)).total_draws
    assert math.isclose(c.spindrop, 20 * draws * event, rel_tol=1e-9)


def test_unknown_preset_prices_no_candidate():
    lines = candidate_lines(CandidateSetting(0.2, 20, "no_such_preset"))
    assert any("Not computed" in line and "`no_such_preset`" in line for line in lines)
    assert not any(line.startswith("| ") for line in lines)


def test_lines_are_markdown_table_rows_of_equal_width():
    table = [line for line in candidate_lines() if line.startswith("|")]
    assert len({line.count(" | ") for line in table[2:]}) == 1 and len(table) == len(reference_candidates()) + 2


def test_spatial_runs_pair_with_spindrop_on_the_parameters_spindrop_has():
    from types import SimpleNamespace

    from reports.claims import _spatial_partners
    labels = {("spindrop", "p=0.2,rescale=False"): "spindrop",
              ("spatial", "fc_grouping=channel,p=0.2,rescale=False"): "spatial (channel)",
              ("spatial", "fc_grouping=element,p=0.2,rescale=False"): "spatial (element)",
              ("spatial", "fc_grouping=channel,p=0.1,rescale=False"): "spatial (p=0.1)"}
    res = SimpleNamespace(method_labels=labels)
    assert [label for _, label in _spatial_partners(res, "p=0.2,rescale=False")] == [
        "spatial (channel)", "spatial (element)"]
    assert [label for _, label in _spatial_partners(res, "p=0.3,rescale=False")] == []


def _modules_cell(method: str, dataset: str, p: float, tuning: str | None):
    from spindrop.store import MODELLED, Cell, CellKey
    from suites import get_suite

    from .report_fake_store import PROFILE, TARGETS, T, _Bench, _modelled
    model, width = TARGETS[dataset][:2]
    key = CellKey(suite="modules", dataset=dataset, model=model, width=width, method=method, params=(("p", p),),
                  seed=0, profile=PROFILE, mc_samples=T)
    metrics, extras = _modelled("modules", dataset, method)
    return Cell(key, "ok", metrics, {k: MODELLED for k in metrics}, extras, None, 1.0,
                {"tuning": tuning} if tuning else {}, report=get_suite("modules").report(list(metrics), _Bench()))


@pytest.mark.parametrize(("tuned", "pairs"), [
    (True, [("mnist", "tuned: SpinDrop p=0.1, Spatial p=0.3"), ("cifar10", "tuned: SpinDrop p=0.3, Spatial p=0.1")]),
    (False, []),  # hand-set runs at different p are different operating points: no pair
])
def test_tuned_spindrop_and_spatial_pair_per_dataset_at_their_own_p(tmp_path, tuned, pairs):
    from reports.claims import paper_claims
    from spindrop.store import ResultStore
    store = ResultStore(tmp_path)
    for dataset, (sd_p, sp_p) in {"mnist": (0.1, 0.3), "cifar10": (0.3, 0.1)}.items():
        store.put(_modules_cell("spindrop", dataset, sd_p, "k-sd-" + dataset if tuned else None))
        store.put(_modules_cell("spatial", dataset, sp_p, "k-sp-" + dataset if tuned else None))
    res = Results.load(tmp_path)
    assert sorted((c.dataset, c.params) for c in paper_claims(res)) == sorted(pairs)
    if tuned:
        assert {res.label(c.key) for c in res.cells} == {"spindrop", "spatial"}
