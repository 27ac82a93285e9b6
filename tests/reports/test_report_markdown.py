"""REPORT.md: conventions header, run information, every group, the paper-claims ratios
(checked against a hand computation from the fixture cells), plots, failures; CSV/JSON exports."""
from __future__ import annotations

import json
import re
import statistics

import pandas as pd
import pytest

from reports.claims import paper_claims
from reports.results import Results
from spindrop.store import ResultStore

from .report_fake_store import FAILED_ERROR


@pytest.fixture(scope="module")
def text(rendered) -> str:
    return rendered[0].read_text()


def _mean(cells, suite, dataset, method, metric) -> float:
    return statistics.fmean(c.metrics[metric] for c in cells if c.status == "ok" and
                            (c.key.suite, c.key.dataset, c.key.method) == (suite, dataset, method))


def test_conventions_header(text):
    conventions = text.split("## Conventions", 1)[1].split("## Run", 1)[0]
    for phrase in ("15 uniform bins", "L1", "top-label", "exactly 1.0 goes to the last bin",
                   "−log (1/T) Σ_t p_t(y)", "clamped", "summed over classes", "OOD is the positive class",
                   "entropy", "mutual information", "1 − max softmax probability",
                   "95th percentile", "**Measured**", "**modelled**"):
        assert phrase in conventions, phrase


def test_run_information(text):
    run = text.split("## Run", 1)[1].split("\n## ", 1)[0]
    for phrase in ("`quick`", "T = 20", "p = 0.2", "`low_barrier`", "0123456789abcdef0123456789abcdef01234567",
                   "torch 2.13.0", "torchmetrics 1.6.0", "CIFAR-10 (JPEG copy)"):
        assert phrase in run, phrase


def test_every_group_with_its_kind(text):
    headings = re.findall(r"^## (.+)$", text, flags=re.M)
    groups = ["Classification (measured)", "Calibration (measured)", "OOD (measured)", "Shift (measured)",
              "Hardware (modelled)", "Paper claims vs this suite (modelled)"]
    assert [h for h in headings if h in groups] == groups
    assert text.count("— measured, mean ± std over seeds [95 % interval]") > 0
    assert text.count("— modelled, mean ± std") > 0


def test_paper_claims_by_hand(fake_out, text):
    cells = ResultStore(fake_out).cells()
    claims = {c.dataset: c for c in paper_claims(Results.load(fake_out))}
    assert set(claims) == {"mnist", "cifar10"}
    section = text.split("## Paper claims vs this suite", 1)[1].split("\n## ", 1)[0]
    assert "9×" in section and "94.11×" in section and "2306.10185" in section
    for dataset in ("mnist", "cifar10"):
        sd_layers, sp_layers = ({layer["name"]: layer for layer in next(
            c for c in cells if (c.key.suite, c.key.dataset, c.key.method, c.key.seed)
            == ("modules", dataset, method, 0)).extras["layers"]} for method in ("spindrop", "spatial"))
        conv = [n for n, layer in sd_layers.items() if layer["kind"] == "conv" and layer["binary_input"]]
        expected_layers = {n: sd_layers[n]["modules"] / sp_layers[n]["modules"] for n in conv}
        assert {lr.layer: lr.ratio for lr in claims[dataset].layers} == expected_layers
        k = 5 if dataset == "mnist" else 3
        assert set(expected_layers.values()) == {k * k}
        ratios = {
            "network dropout modules": _mean(cells, "modules", dataset, "spindrop", "hw/modules")
            / _mean(cells, "modules", dataset, "spatial", "hw/modules"),
            "dropout-module energy per image": _mean(cells, "energy", dataset, "spindrop", "hw/energy/dropout_pJ")
            / _mean(cells, "energy", dataset, "spatial", "hw/energy/dropout_pJ"),
            "total energy per image": _mean(cells, "energy", dataset, "spindrop", "hw/energy/total_pJ")
            / _mean(cells, "energy", dataset, "spatial", "hw/energy/total_pJ"),
        }
        assert {r.name: r.value for r in claims[dataset].ratios} == pytest.approx(ratios, rel=1e-12)
        for name, value in ratios.items():
            assert re.search(rf"^\| {name} \|.*\| {value:.2f}× \|", section, flags=re.M), name
    assert "| `2` | 3×3 | 144 | 16 | 9.00× | k²·C_in / C_in = 3·3 = 9 | 9× |" in section


def test_plots_embedded_with_relative_links(rendered, text):
    report, _ = rendered
    links = re.findall(r"!\[[^]]*\]\(([^)]+)\)", text)
    assert len(links) == 10  # reliability, accuracy-energy, energy, entropy, forest × 2 targets
    for link in links:
        assert not link.startswith("/") and (report.parent / link).is_file(), link


def test_failed_cells_section(text):
    failed = text.split("## Failed cells", 1)[1]
    assert "accuracy: cifar10/vgg_small my_method(p=0.2) seed 1" in failed and FAILED_ERROR in failed


def test_csv_and_json_hold_every_number(fake_out, rendered):
    frame = ResultStore(fake_out).frame()
    csv = pd.read_csv(rendered[0].parent / "results.csv")
    data = json.loads((rendered[0].parent / "results.json").read_text())
    assert len(csv) == len(frame) == sum(max(len(c["metrics"]), 1) for c in data["cells"])
    assert set(csv["kind"].dropna()) == {"measured", "modelled"}
    assert data["metadata"]["latest"]["profile"] == "quick"
    assert csv["value"].sum() == pytest.approx(frame["value"].sum())


def test_console_got_the_tables(rendered):
    _, console = rendered
    assert "Classification — MNIST / lenet5 — measured" in console
    assert "modelled" in console and "my_method" in console
