"""``python -m suites.throughput``: training images/s from each checkpoint's fit, MC images/s timed."""
from __future__ import annotations

import csv
import json
import os
from dataclasses import asdict

import pytest
import torch

from spindrop.data import load_split
from spindrop.training import TrainSpec
from spindrop.training.module import build_network
from suites import throughput


def _checkpoint(out, spec: TrainSpec, seconds: float, name: str | None = None, mtime: float | None = None) -> None:
    folder = out / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    name = name or spec.method
    model = build_network(spec, (1, 28, 28), 10)
    torch.save({"state_dict": model.state_dict(), "spec": asdict(spec), "train_seconds": seconds},
               folder / f"{name}.pt")
    (folder / f"{name}.json").write_text(json.dumps({"spec": asdict(spec), "train_seconds": seconds}))
    if mtime is not None:
        os.utime(folder / f"{name}.pt", (mtime, mtime))


def test_throughput_table_of_every_checkpoint(tmp_path, data_root):
    for method, seconds in (("mc_dropout", 4.0), ("spindrop", 10.0)):
        _checkpoint(tmp_path, TrainSpec("mnist", "lenet5", 0.5, method, epochs=3, val_size=5000,
                                        fingerprints=(("code", "x"),)), seconds)
    rows = throughput.measure(tmp_path, torch.device("cpu"), T=2, images=60, data_root=data_root)
    assert [r.spec.method for r in rows] == ["mc_dropout", "spindrop"]
    n_train = len(load_split("mnist", "train", data_root)) - 5000
    for r, seconds in zip(rows, (4.0, 10.0)):
        row = r.row()
        assert row["train_images"] == n_train and row["train_images_per_s"] == round(3 * n_train / seconds)
        assert row["mc_images"] == 60 and row["mc_samples"] == 2 and row["mc_seconds"] > 0
        assert row["mc_passes_per_s"] == pytest.approx(2 * row["mc_images_per_s"], rel=0.01, abs=2)
    csv_path, md_path = throughput.write(rows, tmp_path / "table", torch.device("cpu"))
    assert [r["method"] for r in csv.DictReader(csv_path.open())] == ["mc_dropout", "spindrop"]
    assert "| spindrop | lenet5 ×0.5 | 32-true | 3 |" in md_path.read_text()


def test_a_folder_without_checkpoints_is_a_usage_error(tmp_path, capsys):
    assert throughput.main([str(tmp_path)]) == 2
    assert "no checkpoints/ folder" in capsys.readouterr().err


def test_of_several_checkpoints_of_one_recipe_the_newest_counts(tmp_path):
    spec = TrainSpec("mnist", "lenet5", 0.5, "mc_dropout", epochs=3)
    _checkpoint(tmp_path, spec.with_fingerprints(code="old"), 9.0, name="old", mtime=1_000_000)
    _checkpoint(tmp_path, spec.with_fingerprints(code="new"), 4.0, name="new", mtime=2_000_000)
    _checkpoint(tmp_path, TrainSpec("mnist", "lenet5", 0.5, "spindrop", epochs=3), 5.0)
    found = sorted((s.method, seconds) for s, _, seconds in throughput.latest_checkpoints(tmp_path))
    assert found == [("mc_dropout", 4.0), ("spindrop", 5.0)]
