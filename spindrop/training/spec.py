"""What identifies a trained network: everything that changes its weights.

The checkpoint key hashes the recipe (dataset, model, width, method with its *resolved*
parameters — defaults included, so passing a default explicitly does not retrain and changing a
default does —, epochs, batch, learning rate, subsets, augmentation, seed, precision) and the provenance
fingerprints: the training code, the data files and the trainer options that change the result
(accelerator, devices × batch = effective batch, strategy). See docs/design.md "Provenance and
staleness".
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ..fingerprint import code_fingerprint, digest
from ..registry import list_methods, method_class
from .profiles import Precision

TRAINING_PACKAGES = ("spindrop",)
"""Packages whose code trains a network (the method's own module is added per method)."""

DATA_MODULES = ("training/profiles.py",)
"""Modules of pure data under ``spindrop/``: their values reach the key through the spec itself."""


@dataclass(frozen=True)
class TrainSpec:
    """One training run: dataset × model × method (with parameters) × recipe × seed.

    ``fingerprints`` ((name, value) pairs: code, data, trainer) are filled by
    :func:`spindrop.training.fit.fingerprinted`; :meth:`key` hashes them with the recipe.
    """

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
    precision: Precision = "32-true"
    fingerprints: tuple[tuple[str, str], ...] = ()

    def resolved_params(self) -> dict[str, object]:
        """The method's parameters with its defaults filled in (validated)."""
        return method_class(self.method)(**self.method_params).params()

    def key(self) -> str:
        """Checkpoint key: 16 hex digits of the sha256 of the recipe with resolved parameters
        and the fingerprints."""
        return digest({**asdict(self), "method_params": self.resolved_params(),
                       "fingerprints": dict(self.fingerprints)})

    def label(self) -> str:
        params = ",".join(f"{k}={v}" for k, v in sorted(self.method_params.items()))
        return f"{self.dataset}/{self.model}x{self.width}/{self.method}({params})/seed{self.seed}"

    def with_fingerprints(self, **values: str) -> TrainSpec:
        """A copy with these fingerprints set (others kept)."""
        return replace(self, fingerprints=tuple(sorted({**dict(self.fingerprints), **values}.items())))


def training_code_fingerprint(method: str) -> str:
    """Fingerprint of the code that trains a network with ``method``: the ``spindrop`` package
    (except every method's own module and the profile data) plus ``method``'s own module."""
    package = Path(__file__).resolve().parents[1]
    return code_fingerprint(TRAINING_PACKAGES, [method_class(method)],
                            [method_class(m) for m in list_methods()],
                            exclude=[package / m for m in DATA_MODULES])


@dataclass(frozen=True)
class TrainerOptions:
    """Options passed to :class:`pytorch_lightning.Trainer` (``--accelerator`` etc.)."""

    accelerator: str = "cpu"
    devices: int | str = 1
    strategy: str = "auto"
