"""LightningModule: any registered model × any registered method."""
from __future__ import annotations

import math

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor

from ..binary import clip_latent_weights
from ..models import build_model
from ..registry import get_method
from .spec import TrainSpec


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite."""


def build_network(spec: TrainSpec, in_shape: tuple[int, int, int], num_classes: int) -> torch.nn.Module:
    """The model of ``spec`` with its method's dropout sites installed."""
    model = build_model(spec.model, in_shape, num_classes, spec.width)
    return get_method(spec.method, **spec.method_params).attach(model)


class BNNClassifier(pl.LightningModule):
    """Cross-entropy training of a binary network; latent weights clipped after every step.

    Optimiser: Adam (BinaryNet, Courbariaux et al. 2016, trains with Adam) with a cosine
    schedule from ``lr`` to 0 over all steps. Validation: deterministic pass (sites return
    their expectation), logged as ``val/acc``.
    """

    def __init__(self, spec: TrainSpec, in_shape: tuple[int, int, int], num_classes: int) -> None:
        super().__init__()
        self.spec = spec
        self.model = build_network(spec, in_shape, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        if not math.isfinite(loss.item()):
            raise TrainingDiverged(f"training loss is {loss.item()} at epoch {self.current_epoch}, "
                                   f"batch {batch_idx} of {self.spec.label()}; lower the learning rate")
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        clip_latent_weights(self.model)

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        x, y = batch
        self.log("val/acc", (self(x).argmax(-1) == y).float().mean(), prog_bar=True)

    def configure_optimizers(self):
        opt = torch.optim.Adam(self.parameters(), lr=self.spec.lr)
        steps = max(1, int(self.trainer.estimated_stepping_batches))
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
