"""LightningModule: any registered model × any registered method."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, cast

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor

from ..binary import clip_latent_weights
from ..models import build_model
from ..registry import get_method
from .spec import TrainSpec

if TYPE_CHECKING:
    from pytorch_lightning.utilities.types import OptimizerLRSchedulerConfig


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite."""


def build_network(spec: TrainSpec, in_shape: tuple[int, int, int], num_classes: int) -> torch.nn.Module:
    """The model of ``spec`` with its method's dropout sites installed."""
    model = build_model(spec.model, in_shape, num_classes, spec.width)
    return get_method(spec.method, **spec.method_params).attach(model)


def param_groups(model: torch.nn.Module, lr: float) -> list[dict]:
    """Optimiser parameter groups: the own parameters of a module with an ``lr_multiplier``
    attribute (e.g. a dropout site's learnable scale) train with lr × multiplier, all others
    with lr."""
    special = [(cast(float, m.lr_multiplier), list(m.parameters(recurse=False)))
               for m in model.modules() if hasattr(m, "lr_multiplier")]
    taken = {id(p) for _, params in special for p in params}
    rest = [p for p in model.parameters() if id(p) not in taken]
    return [{"params": rest, "lr": lr}] + [{"params": params, "lr": lr * mult} for mult, params in special if params]


class BNNClassifier(pl.LightningModule):
    """Cross-entropy training of a binary network; latent weights clipped after every step.

    Optimiser: Adam (BinaryNet, Courbariaux et al. 2016, trains with Adam) with a cosine
    schedule from ``lr`` to 0 over all steps. Logged once per epoch (the training curves of
    :mod:`spindrop.training.curves`): ``train/loss`` and ``train/acc``, means over the images of
    the epoch's training passes (masks sampled), ``val/acc`` and ``val/nll`` (cross-entropy) of a
    deterministic validation pass (sites return their expectation).
    """

    def __init__(self, spec: TrainSpec, in_shape: tuple[int, int, int], num_classes: int) -> None:
        super().__init__()
        self.spec = spec
        self.model = build_network(spec, in_shape, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)

    def on_train_epoch_start(self) -> None:
        self._epoch_totals = [0.0, 0.0, 0]  # Σ loss·n, Σ correct, Σ n over the epoch's batches

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y)
        value = loss.item()
        if not math.isfinite(value):
            raise TrainingDiverged(f"training loss is {value} at epoch {self.current_epoch}, "
                                   f"batch {batch_idx} of {self.spec.label()}; lower the learning rate")
        totals = self._epoch_totals
        totals[0] += value * len(y)
        totals[1] += (logits.argmax(-1) == y).sum().item()
        totals[2] += len(y)
        # The epoch means (over images, as Lightning's on_epoch reduction) are logged once, at the
        # last batch: Lightning's bookkeeping of a logged value is most of its per-step overhead
        # (docs/performance.md "Lightning overhead").
        if batch_idx + 1 == self.trainer.num_training_batches:
            self.log("train/loss", totals[0] / totals[2], on_step=False, on_epoch=True)
            self.log("train/acc", totals[1] / totals[2], on_step=False, on_epoch=True)
        return loss

    def on_train_batch_end(self, outputs: object, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        clip_latent_weights(self.model)

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        x, y = batch
        logits = self(x)
        self.log("val/acc", (logits.argmax(-1) == y).float().mean())
        self.log("val/nll", F.cross_entropy(logits, y))

    def configure_optimizers(self) -> OptimizerLRSchedulerConfig:
        opt = torch.optim.Adam(param_groups(self.model, self.spec.lr), lr=self.spec.lr)
        steps = max(1, int(self.trainer.estimated_stepping_batches))
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
