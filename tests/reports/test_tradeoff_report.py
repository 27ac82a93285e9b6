"""The report's quality-against-energy section (reports.tradeoff) on a hand-made store: the Pareto
marks and the "cheapest within δ" rows equal the ones worked out by hand from the stored numbers."""
from __future__ import annotations

import re

from reports.results import Results
from reports.tradeoff import tradeoff_lines
from spindrop.report_spec import LOWER
from spindrop.store import MEASURED, MODELLED, Cell, CellKey, ResultStore, Target
from spindrop.tradeoff import Quality, TradeOff

POINTS = (1, 2, 4)
# (method, T) → mean NLL (seeds 0/1 are mean ∓ 0.01) and modelled energy (pJ)
NLL = {("deterministic", T): 0.30 for T in POINTS} | {("mc_dropout", 1): 0.35, ("mc_dropout", 2): 0.28,
                                                      ("mc_dropout", 4): 0.25}
ENERGY = {("deterministic", T): 10_000.0 for T in POINTS} | {("mc_dropout", T): 5_000.0 + 10_000.0 * T
                                                             for T in POINTS}
DECL = TradeOff("tsweep_energy", "tsweep/T{T}/hw/energy/total_pJ", POINTS,
                (Quality(("tsweep/T{T}/test/nll",), "NLL", LOWER, "number", (0.01, 0.05)),))


def _store(out):
    store = ResultStore(out)
    for method in ("deterministic", "mc_dropout"):
        params = (("p", 0.2),) if method == "mc_dropout" else ()
        for seed, sign in ((0, -1), (1, 1)):
            target = Target("mnist", "lenet5", 0.5, method, params, seed)
            nll = {f"tsweep/T{T}/test/nll": NLL[method, T] + sign * 0.01 for T in POINTS}
            energy = {f"tsweep/T{T}/hw/energy/total_pJ": ENERGY[method, T] for T in POINTS}
            store.put(Cell(CellKey.of("tsweep", target, "smoke", 4), "ok", nll, dict.fromkeys(nll, MEASURED),
                           {"tradeoff": DECL.to_json()}))
            store.put(Cell(CellKey.of("tsweep_energy", target, "smoke", 4), "ok", energy,
                           dict.fromkeys(energy, MODELLED)))


def _rows(lines: list[str], header: str) -> list[list[str]]:
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


def test_pareto_marks_and_cheapest_within_delta_by_hand(tmp_path):
    _store(tmp_path / "out")
    lines = tradeoff_lines(Results.load(tmp_path / "out"), tmp_path / "report")
    assert lines[0].startswith("## Quality against energy")
    rows = _rows(lines, "| Configuration |")
    # by increasing energy: the deterministic network (10 nJ, the same at every T: one row), then
    # MC-Dropout T=1 (15 nJ, NLL 0.35: dominated), T=2 (25 nJ, 0.28) and T=4 (45 nJ, 0.25): on the set
    names = [r[0] for r in rows]
    assert names == ["deterministic, T=1,2,4", "mc_dropout, T=1", "mc_dropout, T=2", "mc_dropout, T=4"]
    assert [r[3] == "◆" for r in rows] == [True, False, True, True]
    assert [r[2] for r in rows] == ["10.00", "15.00", "25.00", "45.00"]
    assert rows[3][1].startswith("0.250")
    # best mean 0.25 (MC-Dropout T=4); within 0.01 only itself; within 0.05 the deterministic network at 10 nJ
    cheapest = _rows(lines, "| δ |")
    assert [(r[0], r[1], r[4]) for r in cheapest] == [("0.01", "mc_dropout, T=4", "1.000"),
                                                       ("0.05", "deterministic, T=1,2,4", f"{10 / 45:.3f}")]
    image = re.search(r"\]\((.+\.png)\)", "\n".join(lines)).group(1)
    assert (tmp_path / "report" / image).stat().st_size > 0


def test_no_declaration_no_section(tmp_path):
    store = ResultStore(tmp_path / "out")
    target = Target("mnist", "lenet5", 0.5, "deterministic", (), 0)
    store.put(Cell(CellKey.of("accuracy", target, "smoke", 4), "ok", {"test/acc": 0.9}, {"test/acc": MEASURED}))
    assert tradeoff_lines(Results.load(tmp_path / "out"), tmp_path / "report") == []


def test_unreadable_declaration_is_left_out(tmp_path):
    _store(tmp_path / "out")
    store = ResultStore(tmp_path / "out")
    for cell in store.cells():
        if cell.key.suite == "tsweep":
            store.put(Cell(**{**cell.__dict__, "extras": {"tradeoff": {"energy": "written by older code"}}}))
    assert tradeoff_lines(Results.load(tmp_path / "out"), tmp_path / "report") == []


def test_a_network_that_does_not_sample_is_one_configuration_over_T():
    """The mean of T identical float32 passes differs from one pass in the last bits: the T values of a
    deterministic network are still one configuration (one row, one energy), not one per rounding."""
    from types import SimpleNamespace

    from reports.results import Stat
    from reports.tradeoff import configurations
    from spindrop.tradeoff import Quality, TradeOff

    def stats(suite, dataset, model, metrics):
        T = int(metrics[0].split("/")[0][1:])
        if suite == "energy":
            return {"deterministic": Stat(131652.7136, None, 1), "mc_dropout": Stat(1000.0 * T, None, 1)}
        return {"deterministic": Stat(0.179232916 + (1.3e-9 if T >= 16 else 0.0), 0.01, 5),
                "mc_dropout": Stat(0.2 - T / 1000, 0.01, 5)}

    res = SimpleNamespace(stats=stats, suites=lambda: ["tsweep", "energy"])
    decl = TradeOff("energy", "T{T}/hw/energy/total_pJ", (1, 8, 16, 32),
                    (Quality(("T{T}/test/nll",), "NLL", "lower", "float3", (0.01,)),))
    names = [c.name for c in configurations(res, "tsweep", decl, decl.qualities[0], "mnist", "lenet5")]
    assert names == ["mc_dropout, T=1", "mc_dropout, T=8", "mc_dropout, T=16", "mc_dropout, T=32",
                     "deterministic, T=1,8,16,32"]
