"""What identifies a trained network: everything that changes its weights."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

# Bump when a code change alters what a given TrainSpec trains, so old checkpoints are not reused.
CHECKPOINT_FORMAT = 1


@dataclass(frozen=True)
class TrainSpec:
    """One training run: dataset × model × method (with parameters) × recipe × seed."""

    dataset: str
    model: str
    width: float
    method: str
    method_params: dict = field(default_factory=dict)
    epochs: int = 3
    batch_size: int = 128
    lr: float = 5e-3
    train_subset: int | None = None
    val_size: int = 5000
    augment: bool = False
    seed: int = 0

    def key(self) -> str:
        """Checkpoint key: sha256 of the spec (and the checkpoint format), 16 hex digits."""
        blob = json.dumps({"format": CHECKPOINT_FORMAT, **asdict(self)}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def label(self) -> str:
        params = ",".join(f"{k}={v}" for k, v in sorted(self.method_params.items()))
        return f"{self.dataset}/{self.model}x{self.width}/{self.method}({params})/seed{self.seed}"
