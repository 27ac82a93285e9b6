"""Training curves: the CSV log's format, the mean over seeds a curve shows, the report's plot.

The logs here are written in the format Lightning's CSVLogger gives BNNClassifier's per-epoch
values (the validation and the training values of an epoch in separate rows); the real writer
is exercised by tests/reports/test_smoke_run_output.py.
"""
from __future__ import annotations

import math

import pandas as pd
import pytest
from PIL import Image
from rich.console import Console

from reports.plots import DPI, method_curves, training_curves
from reports.render import render_report
from reports.results import Results
from spindrop.training.curves import CURVES, csv_logger, log_dir, read_curves
from spindrop.training.spec import TrainSpec

from .report_fake_store import METHODS, build_fake_store


def _values(key: str, epoch: int) -> dict[str, float]:
    """Distinct, checkable values per (key, epoch)."""
    base = sum(map(ord, key)) % 7 / 10
    return {"train/loss": 2.0 / (epoch + 1) + base, "train/acc": 0.5 + 0.1 * epoch + base / 10,
            "val/acc": 0.55 + 0.1 * epoch, "val/nll": 1.5 / (epoch + 1) + base}


def write_log(out, key: str, epochs: int, steps_per_epoch: int = 8) -> None:
    rows = []
    for e in range(epochs):
        v, step = _values(key, e), (e + 1) * steps_per_epoch - 1
        rows.append({"epoch": e, "step": step, "val/acc": v["val/acc"], "val/nll": v["val/nll"]})
        rows.append({"epoch": e, "step": step, "train/acc": v["train/acc"], "train/loss": v["train/loss"]})
    path = log_dir(out, key) / "metrics.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["epoch", "step", "train/acc", "train/loss", "val/acc", "val/nll"]).to_csv(
        path, index=False)


@pytest.fixture(scope="module")
def curves_out(tmp_path_factory):
    """The fake store, its accuracy cells pointing at training logs: 3 epochs each, except
    ``scale``'s seed 1 (no log) and ``my_method`` (no key: a store written before the logs)."""
    out = tmp_path_factory.mktemp("curves_run")
    store = build_fake_store(out)
    for cell in store.cells():
        k = cell.key
        if k.suite != "accuracy" or cell.status != "ok" or k.method == "my_method":
            continue
        key = f"{k.dataset}-{k.method}-{k.seed}"
        cell.extras["checkpoint_key"] = key
        store.put(cell)
        if (k.method, k.seed) != ("scale", 1):
            write_log(out, key, epochs=3)
    return out


def test_read_curves_merges_the_rows_of_an_epoch(tmp_path):
    write_log(tmp_path, "abc", epochs=2)
    curves = read_curves(tmp_path, "abc")
    assert list(curves.columns) == list(CURVES) and list(curves.index) == [0, 1]
    for e in (0, 1):
        assert curves.loc[e].to_dict() == pytest.approx(_values("abc", e))
    assert read_curves(tmp_path, "missing") is None


def test_csv_logger_replaces_a_stale_log_under_the_same_key(tmp_path):
    spec = TrainSpec(dataset="mnist", model="lenet5", width=0.5, method="deterministic")
    write_log(tmp_path, spec.key(), epochs=3)
    logger = csv_logger(tmp_path, spec)
    assert not log_dir(tmp_path, spec.key()).exists()  # the CSV writer would append to it
    assert logger.log_dir.rstrip("/") == str(log_dir(tmp_path, spec.key()))


def test_one_curve_per_method_mean_over_the_seeds_with_a_log(curves_out):
    curves = method_curves(Results.load(curves_out), "mnist", "lenet5")
    assert set(curves) == set(METHODS) - {"my_method"}
    for label, (curve, n) in curves.items():
        seeds = [0] if label == "scale" else [0, 1]
        assert n == len(seeds)
        for e in range(3):
            for column in CURVES:
                want = sum(_values(f"mnist-{label}-{s}", e)[column] for s in seeds) / len(seeds)
                assert math.isclose(curve.loc[e, column], want, rel_tol=1e-12), (label, e, column)


def test_no_plot_without_logs(fake_out, tmp_path):
    assert training_curves(Results.load(fake_out), "mnist", "lenet5", tmp_path / "t.png") is None


def test_report_shows_a_training_plot_per_dataset_and_model(curves_out):
    report = render_report(curves_out, curves_out / "report_with_curves", console=Console(quiet=True))
    text = report.read_text()
    for dataset, model, title in (("mnist", "lenet5", "MNIST"), ("cifar10", "vgg_small", "CIFAR-10")):
        png = report.parent / f"training_{dataset}_{model}.png"
        assert f"](training_{dataset}_{model}.png)" in text and f"Training curves — {title}" in text
        with Image.open(png) as img:
            assert img.size == (round(8.8 * DPI), round(7.0 * DPI))
            colours = img.convert("RGB").getcolors(maxcolors=1 << 16)
            assert colours is None or len(colours) > 50  # drawn, not blank
