"""Shared state of a run: trains each target once and caches predictions for all suites.

Suites ask the workbench for what they need; nothing is computed until asked, so a rerun
whose cells are all finished loads no data and trains nothing.
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict
from pathlib import Path

import torch
from torch import Tensor

from hardware import CostReport, MTJConfig, cost_report, device_masks, get_preset
from hardware.presets import DEFAULT as DEFAULT_PRESET
from spindrop.data import SpinDataModule, dataset_fingerprint, dataset_info, seeded_subset
from spindrop.data.loader import validation_split
from spindrop.evaluation.predict import EVAL_BATCH, deterministic_images, mask_seed, predict_images, test_images
from spindrop.fingerprint import digest
from spindrop.mc import MCOutput
from spindrop.methods.base import HardwarePlan
from spindrop.registry import get_method
from spindrop.training import Profile, Trained, TrainerOptions, TrainSpec, build_network, train
from spindrop.training.fit import fingerprinted
from spindrop.training.precision import autocast

from .base import Suite, Target
from .provenance import cell_code_fingerprint, json_value

__all__ = ["EVAL_BATCH", "Workbench", "mask_seed"]


class NonFiniteError(ValueError):
    """Predictions that are not numbers: no metric computed from them means anything."""


def finite(out: MCOutput, where: str) -> MCOutput:
    """``out`` if every probability is finite; else :class:`NonFiniteError` saying on how many images
    of the set ``where`` the network's eval-mode outputs are NaN or infinite. A cell computed from
    them would show an artefact (an accuracy from the arg-max of NaNs, a NaN NLL shown as "not
    applicable"), so it fails instead."""
    bad = int((~torch.isfinite(out.probs)).any(-1).any(0).sum())
    if bad:
        raise NonFiniteError(f"MC predictions contain NaN or inf on {bad} of {out.probs.shape[1]} images of {where} "
                             "(the network's outputs in eval mode are not finite), so every metric of this cell "
                             "(accuracy, NLL, calibration, AUROC, ...) would be void")
    return out


class Workbench:
    """Trains targets on demand (each once) and evaluates them with MC sampling."""

    def __init__(self, profile: Profile, out: Path, data_root: str | Path | None,
                 options: TrainerOptions = TrainerOptions(), mc_samples: int | None = None,
                 callbacks: Callable[[], list] = list, preset: str = DEFAULT_PRESET.name) -> None:
        self.profile = profile
        self.out = Path(out)
        self.data_root = data_root
        self.options = options
        self.T = mc_samples or profile.eval.mc_samples
        self.callbacks = callbacks
        self.preset = preset
        self._trained: dict[Target, Trained] = {}
        self._data: dict[str, SpinDataModule] = {}
        self._test_preds: dict[Target, MCOutput] = {}
        self._test: dict[str, tuple[Tensor, Tensor]] = {}
        self._val_preds: dict[Target, tuple[MCOutput, Tensor]] = {}
        self._code_fingerprints: dict[tuple[str, type[Suite]], str] = {}

    @property
    def device(self) -> torch.device:
        gpu = self.options.accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available()
        return torch.device("cuda" if gpu else "cpu")

    def autocast(self, target: Target) -> AbstractContextManager[object]:
        """The autocast the target's network was trained under (its plan's precision), for MC
        inference on :attr:`device`."""
        return autocast(self.profile.plan(target.dataset).precision, self.device)

    def spec(self, target: Target) -> TrainSpec:
        """The training spec of ``target`` with its provenance fingerprints (the checkpoint key)."""
        plan = self.profile.plan(target.dataset)
        return fingerprinted(TrainSpec(dataset=target.dataset, model=target.model, width=target.width,
                                       method=target.method, method_params=target.method_params,
                                       epochs=plan.epochs_for(target.method), batch_size=plan.batch_size, lr=plan.lr,
                                       train_subset=plan.train_subset, val_size=self.profile.val_size,
                                       augment=plan.augment, seed=target.seed, precision=plan.precision),
                             self.data_root, self.options)

    def provenance(self, suite: Suite, target: Target) -> dict:
        """The provenance components ``suite`` declares, for ``target`` (see suites.provenance)."""
        components = {
            "code": lambda: self._code(target.method, type(suite)),
            "method_params": lambda: get_method(target.method, **target.method_params).params(),
            "profile": lambda: digest(asdict(self.profile.plan(target.dataset)),
                                      asdict(self.profile.evaluation(target.dataset)), self.profile.val_size),
            "data": lambda: dataset_fingerprint(suite.data_sources(target.dataset), self.data_root),
            "trainer": lambda: digest(asdict(self.options)),
            "preset": lambda: {"name": self.preset, "values": digest(asdict(get_preset(self.preset)))},
            "masks": lambda: self._masks_provenance(),
        }
        return json_value({name: components[name]() for name in suite.provenance})

    def mask_device(self) -> MTJConfig | None:
        """The device model the measured suites draw MC masks from: the preset's MTJ when it has
        non-idealities (variation, stuck-at faults, p drift), else None (ideal Bernoulli masks,
        which an ideal device realises exactly). Networks are always trained with ideal masks."""
        mtj = get_preset(self.preset).mtj
        return None if mtj.ideal else mtj

    def _masks_provenance(self) -> object:
        mtj = self.mask_device()
        return "ideal" if mtj is None else {"preset": self.preset, "device": digest(asdict(mtj))}

    def _code(self, method: str, suite: type[Suite]) -> str:
        if (method, suite) not in self._code_fingerprints:  # sources do not change during a run
            self._code_fingerprints[method, suite] = cell_code_fingerprint(method, suite)
        return self._code_fingerprints[method, suite]

    def has_trained(self, target: Target) -> bool:
        return target in self._trained

    def adopt(self, target: Target, model: torch.nn.Module, source: Path) -> None:
        """Measure ``model`` as the target's trained network instead of training one: a network
        trained elsewhere (``python -m suites.evaluate``), read from ``source``."""
        self._trained[target] = Trained(self.spec(target), model.eval(), Path(source), True, 0.0)

    def trained(self, target: Target) -> Trained:
        """The target's trained network: trained once (or reloaded from its checkpoint); a method
        made of other networks (:meth:`spindrop.Method.members`, e.g. a deep ensemble) gets its
        members trained as targets of their own and combined."""
        if target not in self._trained:
            method = get_method(target.method, **target.method_params)
            members = [self.trained(Target(target.dataset, target.model, target.width, m.method, m.params, m.seed))
                       for m in method.members(target.seed)]
            self._trained[target] = (
                Trained(self.spec(target), method.combine([m.model for m in members]), members[0].checkpoint,
                        all(m.reused for m in members), sum(m.train_seconds for m in members)) if members
                else train(self.spec(target), self.out, self.data_root, self.options, callbacks=self.callbacks()))
        return self._trained[target]

    def datamodule(self, dataset: str) -> SpinDataModule:
        if dataset not in self._data:
            self._data[dataset] = SpinDataModule(dataset, root=self.data_root)
        return self._data[dataset]

    def test_set(self, dataset: str) -> tuple[Tensor, Tensor]:
        """The (seeded subset of the) test split as uint8 images and labels."""
        if dataset not in self._test:
            self._test[dataset] = test_images(dataset, self.data_root, self.profile.evaluation(dataset).test_subset)
        return self._test[dataset]

    def predict(self, target: Target, images: Tensor, set_name: str, T: int | None = None) -> MCOutput:
        """T MC samples (default: the run's) of the target's network on uint8 ``images`` of the set
        ``set_name`` (masks seeded per set and batch: :func:`mask_seed`), with masks from
        :meth:`mask_device` (chip = the target's seed, the chip the energy suite prices)."""
        return self.predict_on(target, images, set_name, self.mask_device(), chip=target.seed, T=T)

    @torch.no_grad()
    def predict_on(self, target: Target, images: Tensor, set_name: str, mtj: MTJConfig | None,
                   chip: int, T: int | None = None) -> MCOutput:
        """As :meth:`predict`, with masks drawn by the modules of chip ``chip`` of device ``mtj``
        (:func:`hardware.device_masks`; None: ideal Bernoulli masks)."""
        model = self.trained(target).model.to(self.device)
        normalize = self.datamodule(target.dataset).normalize
        with device_masks(model, mtj, chip), self.autocast(target):
            return finite(predict_images(model, images, normalize, T or self.T, target.seed, set_name, self.device),
                          f"'{set_name}'")

    def test_predictions(self, target: Target) -> tuple[MCOutput, Tensor]:
        images, labels = self.test_set(target.dataset)
        if target not in self._test_preds:  # shared by the accuracy, calibration and ood suites
            self._test_preds[target] = self.predict(target, images, "test")
        return self._test_preds[target], labels

    def validation_predictions(self, target: Target) -> tuple[MCOutput, Tensor]:
        """T MC samples on the validation split the target's network was trained without (held
        out of the train split with the target's seed: :func:`spindrop.data.loader.validation_split`);
        reads no test or OOD image. What post-hoc steps are fitted on."""
        if target not in self._val_preds:
            spec = self.spec(target)
            split = validation_split(target.dataset, self.data_root, spec.val_size, spec.seed)
            self._val_preds[target] = self.predict(target, split.images, "val"), split.labels
        return self._val_preds[target]

    @torch.no_grad()
    def deterministic_predictions(self, target: Target) -> MCOutput:
        """One pass with the masks off (every site at its expectation), as a T = 1 output."""
        images, _ = self.test_set(target.dataset)
        with self.autocast(target):
            return finite(deterministic_images(self.trained(target).model, images,
                                               self.datamodule(target.dataset).normalize, self.device),
                          "'test' (deterministic pass)")

    def shift_set(self, dataset: str) -> tuple[Tensor, Tensor]:
        """The test images the corruptions are applied to (a seeded subset of the test set)."""
        images, labels = self.test_set(dataset)
        idx = seeded_subset(len(labels), self.profile.evaluation(dataset).shift_subset, seed=1)
        return (images, labels) if idx is None else (images[idx], labels[idx])

    def untrained_network(self, target: Target) -> torch.nn.Module:
        info = dataset_info(target.dataset)
        return build_network(self.spec(target), info.shape, info.num_classes)

    def hardware_plan(self, target: Target) -> HardwarePlan:
        info = dataset_info(target.dataset)
        return get_method(target.method, **target.method_params).hardware_plan(
            self.untrained_network(target), info.shape)

    def cost(self, target: Target, T: int | None = None) -> CostReport:
        """Modelled cost per image of T-sample MC inference (default: the run's T) on the run's hardware preset; with a
        non-ideal device the dropout events are priced at the realised p_i of chip = the target's
        seed (the modules :meth:`predict` draws masks from)."""
        info = dataset_info(target.dataset)
        method = get_method(target.method, **target.method_params)
        return cost_report(self.untrained_network(target), method, info.shape, T=T or self.T, preset=self.preset,
                    model_name=target.model, chip_seed=target.seed)
