"""BNNClassifier's logged training curves: per epoch, the means over the images of every batch
(an uneven last batch weighs by its size), logged once per epoch."""
from __future__ import annotations

import warnings

import pandas as pd
import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import CSVLogger
from torch.utils.data import DataLoader, TensorDataset

from spindrop.training.module import BNNClassifier
from spindrop.training.spec import TrainSpec


class _BatchLosses(pl.Callback):
    def __init__(self) -> None:
        self.rows: list[tuple[int, float, int]] = []

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        self.rows.append((trainer.current_epoch, float(outputs["loss"]), len(batch[1])))


@pytest.mark.parametrize("method", ["deterministic", "spindrop"])
def test_epoch_means_weigh_every_image_once(tmp_path, method):
    g = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(10, 1, 28, 28, generator=g), torch.randint(0, 10, (10,), generator=g))
    spec = TrainSpec(dataset="mnist", model="lenet5", width=0.5, method=method, epochs=2, batch_size=4)
    record = _BatchLosses()
    trainer = pl.Trainer(max_epochs=2, accelerator="cpu", devices=1, logger=CSVLogger(tmp_path, name="log"),
                         enable_checkpointing=False, enable_model_summary=False, enable_progress_bar=False,
                         limit_val_batches=0, num_sanity_val_steps=0, callbacks=[record])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(BNNClassifier(spec, (1, 28, 28), 10), DataLoader(data, batch_size=4))
    logged = pd.read_csv(next(tmp_path.rglob("metrics.csv"))).dropna(subset=["train/loss"]).set_index("epoch")
    rows = pd.DataFrame(record.rows, columns=["epoch", "loss", "n"])
    assert rows.groupby("epoch")["n"].apply(list).tolist() == [[4, 4, 2]] * 2
    expect = rows.assign(weighted=rows.loss * rows.n).groupby("epoch").apply(lambda r: r.weighted.sum() / r.n.sum())
    assert logged.index.tolist() == [0, 1]
    assert torch.allclose(torch.tensor(logged["train/loss"].to_numpy()), torch.tensor(expect.to_numpy()), atol=1e-6)
    correct = logged["train/acc"] * 10  # accuracy over the 10 images: a whole number of them
    assert ((correct - correct.round()).abs() < 1e-6).all() and logged["train/acc"].between(0, 1).all()


@pytest.mark.parametrize("method", ["deterministic", "spindrop", "spatial", "scale"])
def test_latent_weights_stay_clipped_at_a_large_learning_rate(method):
    """BinaryNet's clip (Courbariaux et al. 2016, Alg. 1): after every optimiser step each binary
    layer's latent weights lie in [−1, 1]. Adam's first steps move a weight by about lr, so at
    lr = 5 unclipped weights leave [−1, 1] at once; some must sit on the bound (the clip acted)."""
    from spindrop.binary import binary_layers
    g = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(16, 1, 28, 28, generator=g), torch.randint(0, 10, (16,), generator=g))
    spec = TrainSpec(dataset="mnist", model="lenet5", width=0.5, method=method, epochs=1, batch_size=4, lr=5.0)
    module = BNNClassifier(spec, (1, 28, 28), 10)
    trainer = pl.Trainer(max_epochs=1, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                         enable_model_summary=False, enable_progress_bar=False, limit_val_batches=0,
                         num_sanity_val_steps=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(module, DataLoader(data, batch_size=4))
    layers = binary_layers(module.model)
    assert layers
    for name, layer in layers:
        w = layer.weight.detach()
        assert w.abs().max() <= 1.0, f"{name}: latent weights reach {w.abs().max():.3g} after training"
        assert (w.abs() == 1.0).any(), f"{name}: no weight on the bound; the test would not see a missing clip"
