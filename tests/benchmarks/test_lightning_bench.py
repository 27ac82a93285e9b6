"""Lightning overhead (goal 5 of issue 13): one training epoch through
:class:`spindrop.training.BNNClassifier` and a ``pytorch_lightning.Trainer`` against a bare
PyTorch loop doing the same steps (same network, Adam with the module's parameter groups and
cosine schedule, cross-entropy, the loss check, latent-weight clipping) on small synthetic data."""
import math
import warnings

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from spindrop.binary import clip_latent_weights
from spindrop.training.module import BNNClassifier, param_groups
from spindrop.training.spec import TrainSpec

from .conftest import full_size, ratio_gate

SHAPE = (1, 28, 28)


def _data(n: int, batch: int) -> DataLoader:
    g = torch.Generator().manual_seed(0)
    return DataLoader(TensorDataset(torch.randn(n, *SHAPE, generator=g), torch.randint(0, 10, (n,), generator=g)),
                      batch_size=batch)


def _spec() -> TrainSpec:
    return TrainSpec(dataset="mnist", model="lenet5", width=2.0, method="spindrop", epochs=1)


def _lightning(loader: DataLoader):
    def run():
        torch.manual_seed(0)
        module = BNNClassifier(_spec(), SHAPE, 10)
        trainer = pl.Trainer(max_epochs=1, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                             enable_model_summary=False, enable_progress_bar=False, limit_val_batches=0,
                             num_sanity_val_steps=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trainer.fit(module, train_dataloaders=loader)
    return run


def _bare(loader: DataLoader):
    def run():
        torch.manual_seed(0)
        model = BNNClassifier(_spec(), SHAPE, 10).model.train()
        opt = torch.optim.Adam(param_groups(model, _spec().lr), lr=_spec().lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=len(loader))
        for x, y in loader:
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            assert math.isfinite(loss.item())
            (logits.argmax(-1) == y).float().mean().item()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            clip_latent_weights(model)
    return run


def test_lightning_epoch_within_1_15x_bare_loop(benchmark):
    loader = _data(*((2048, 128) if full_size(benchmark) else (64, 32)))
    ratio_gate(benchmark, _lightning(loader), _bare(loader), max_ratio=1.15, rounds=10)
