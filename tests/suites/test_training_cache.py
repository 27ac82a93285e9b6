"""spindrop.training: seeded training is reproducible on CPU, a checkpoint is reused instead of
retraining, the checkpoint key tracks every field (resolved method parameters, code, data and trainer
options included), an unreadable checkpoint is retrained, and a NaN loss fails (as a failed cell in a run)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

import spindrop
import suites.workbench
from spindrop.training import TrainingDiverged, TrainSpec, load_trained, train
from spindrop.training.fit import TrainerOptions, checkpoint_path, fingerprinted
from spindrop.training.module import BNNClassifier
from suites.run import EXIT_FAILED, main

from .runner_helpers import SMOKE, cells, summary

# smoke size: MNIST, LeNet-5 at width 0.5, one epoch on 512 images, 256 held out
SPEC = TrainSpec(dataset="mnist", model="lenet5", width=0.5, method="spatial", method_params={"p": 0.2},
                 epochs=1, batch_size=64, train_subset=512, val_size=256, seed=0)


def _blob(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)


def _same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_root):
    """SPEC trained in two fresh output folders, and SPEC with another seed."""
    outs = {name: tmp_path_factory.mktemp(name) for name in ("a", "b", "seed1")}
    runs = {"a": train(SPEC, outs["a"], data_root), "b": train(SPEC, outs["b"], data_root),
            "seed1": train(dataclasses.replace(SPEC, seed=1), outs["seed1"], data_root)}
    return outs, runs


def test_same_spec_and_seed_train_identical_weights_and_metrics(trained, data_root):
    outs, runs = trained
    a, b = runs["a"], runs["b"]
    spec = fingerprinted(SPEC, data_root)
    assert not a.reused and not b.reused
    assert a.checkpoint == checkpoint_path(outs["a"], spec) and a.checkpoint.exists()
    assert a.checkpoint.name == b.checkpoint.name == f"{spec.key()}.pt"
    assert _same_weights(a.model.state_dict(), b.model.state_dict())
    blob_a, blob_b = _blob(a.checkpoint), _blob(b.checkpoint)
    assert _same_weights(blob_a["state_dict"], blob_b["state_dict"])
    assert blob_a["val_acc"] == blob_b["val_acc"] and 0.0 < blob_a["val_acc"] <= 1.0
    assert blob_a["spec"] == blob_b["spec"] == dataclasses.asdict(spec)


def test_another_seed_trains_other_weights(trained):
    _, runs = trained
    assert not _same_weights(runs["a"].model.state_dict(), runs["seed1"].model.state_dict())


def test_the_same_spec_again_reuses_the_checkpoint_without_training(trained, data_root, monkeypatch):
    outs, runs = trained
    mtime = runs["a"].checkpoint.stat().st_mtime_ns

    def no_fit(*args, **kwargs):
        raise AssertionError("Trainer.fit was called for a checkpointed spec")

    monkeypatch.setattr(pl.Trainer, "fit", no_fit)
    again = train(SPEC, outs["a"], data_root)
    assert again.reused
    assert again.checkpoint == runs["a"].checkpoint
    assert again.checkpoint.stat().st_mtime_ns == mtime
    assert _same_weights(again.model.state_dict(), runs["a"].model.state_dict())
    assert not again.model.training
    assert load_trained(fingerprinted(dataclasses.replace(SPEC, seed=2), data_root), outs["a"]) is None
    # another seed is another checkpoint: it would train (and here hits the patched fit)
    with pytest.raises(AssertionError, match="Trainer.fit was called"):
        train(dataclasses.replace(SPEC, seed=2), outs["a"], data_root)


def test_key_changes_with_every_field_that_changes_the_weights():
    assert SPEC.key() == dataclasses.replace(SPEC).key()
    assert SPEC.key() == TrainSpec(**{**dataclasses.asdict(SPEC), "method_params": {"p": 0.2}}).key()
    changed = {"seed": 1, "method_params": {"p": 0.3}, "method": "spindrop", "width": 1.0, "epochs": 2,
               "lr": 1e-2, "batch_size": 32, "train_subset": 256, "val_size": 128, "augment": True,
               "model": "mlp", "dataset": "fashion_mnist"}
    keys = {field: dataclasses.replace(SPEC, **{field: value}).key() for field, value in changed.items()}
    assert SPEC.key() not in keys.values()
    assert len(set(keys.values())) == len(keys)
    assert all(len(k) == 16 and int(k, 16) >= 0 for k in keys.values())


def test_key_hashes_resolved_method_parameters(monkeypatch):
    """Defaults count: passing a default explicitly is the same network; changing a default is not."""
    implicit = dataclasses.replace(SPEC, method_params={})
    explicit = dataclasses.replace(SPEC, method_params={"p": 0.2, "rescale": False})
    assert implicit.key() == explicit.key() == SPEC.key()
    config = type(spindrop.get_method("spatial").config)
    before = implicit.key()
    monkeypatch.setattr(config, "__init__", _with_default(config.__init__, rescale=True))
    assert spindrop.get_method("spatial").params()["rescale"] is True
    assert implicit.key() != before
    assert explicit.key() == before  # the explicit value did not change


def _with_default(init, **defaults):
    def patched(self, **kwargs):
        init(self, **{**defaults, **kwargs})
    return patched


def test_key_changes_with_code_data_and_trainer_fingerprints(data_root):
    spec = fingerprinted(SPEC, data_root)
    assert dict(spec.fingerprints).keys() == {"code", "data", "trainer"}
    assert fingerprinted(SPEC, data_root).key() == spec.key()
    variants = [spec.with_fingerprints(code="0" * 16), spec.with_fingerprints(data="0" * 16),
                fingerprinted(SPEC, data_root, TrainerOptions(devices=2)),
                fingerprinted(SPEC, data_root, TrainerOptions(accelerator="gpu"))]
    keys = {v.key() for v in variants}
    assert len(keys) == len(variants) and spec.key() not in keys
    # the method's own source file is part of its code fingerprint, another method's is not
    other = fingerprinted(dataclasses.replace(SPEC, method="spindrop"), data_root)
    assert dict(other.fingerprints)["code"] != dict(spec.fingerprints)["code"]


@pytest.mark.parametrize("damage", ["zero-bytes", "truncated", "not-a-checkpoint"])
def test_unreadable_checkpoint_is_a_miss_and_retrains(damage, trained, data_root, tmp_path, caplog):
    outs, runs = trained
    spec = fingerprinted(SPEC, data_root)
    out = tmp_path / "out"
    path = checkpoint_path(out, spec)
    path.parent.mkdir(parents=True)
    good = runs["a"].checkpoint.read_bytes()
    path.write_bytes({"zero-bytes": b"", "truncated": good[: len(good) // 2],
                      "not-a-checkpoint": b"{\"weights\": 1}"}[damage])
    with caplog.at_level("WARNING", logger="spindrop.cache"):
        assert load_trained(spec, out) is None
        again = train(SPEC, out, data_root)
    assert not again.reused and "unreadable" in caplog.text and "retraining" in caplog.text
    assert _same_weights(again.model.state_dict(), runs["a"].model.state_dict())  # same seed, same weights
    assert load_trained(spec, out) is not None  # the checkpoint was rewritten whole


def _nan_forward(methods: set[str]):
    original = BNNClassifier.forward

    def forward(self, x):
        y = original(self, x)
        return y * float("nan") if self.spec.method in methods else y
    return forward


def test_nan_loss_raises_training_diverged(tmp_path, data_root, monkeypatch):
    monkeypatch.setattr(BNNClassifier, "forward", _nan_forward({"spatial"}))
    with pytest.raises(TrainingDiverged, match=r"training loss is nan .*lower the learning rate"):
        train(SPEC, tmp_path, data_root)
    assert not checkpoint_path(tmp_path, fingerprinted(SPEC, data_root)).exists()
    assert not list((tmp_path / "checkpoints").glob("*"))  # no (partial) checkpoint at all


def test_diverged_training_becomes_a_failed_cell_and_the_run_goes_on(tmp_path, in_process, monkeypatch, capsys):
    monkeypatch.setattr(BNNClassifier, "forward", _nan_forward({"spatial"}))
    calls: list[str] = []
    original_train = suites.workbench.train

    def counting_train(spec, *args, **kwargs):
        calls.append(spec.method)
        return original_train(spec, *args, **kwargs)

    monkeypatch.setattr(suites.workbench, "train", counting_train)
    argv = ["--suite", "accuracy", "calibration", *SMOKE, "--methods", "spatial", "deterministic",
            "--no-report", "--out", str(tmp_path)]
    assert main(argv) == EXIT_FAILED
    assert summary(capsys.readouterr().out) == (2, 0, 2)
    # spatial was tried once: its calibration cell reuses the recorded failure instead of retraining
    assert sorted(calls) == ["deterministic", "spatial"]
    got = {(c["key"]["suite"], c["key"]["method"]): c for c in cells(tmp_path)}
    assert set(got) == {(s, m) for s in ("accuracy", "calibration") for m in ("spatial", "deterministic")}
    for suite in ("accuracy", "calibration"):
        failed, ok = got[suite, "spatial"], got[suite, "deterministic"]
        assert failed["status"] == "failed" and failed["metrics"] == {}
        assert failed["error"].startswith("TrainingDiverged: training loss is nan")
        assert ok["status"] == "ok" and ok["error"] is None and ok["metrics"]
    assert len(list((tmp_path / "checkpoints").glob("*.pt"))) == 1
