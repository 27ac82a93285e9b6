"""``spindrop.evaluate``: score any trained binary network the way the suites score theirs.

Given a network built from :mod:`spindrop.binary` layers (with or without dropout sites), a
dataset and a method, it measures on the dataset's test set and OOD sets, with the profile's
subsets and T: accuracy, NLL, Brier, ECE/MCE, the deterministic-pass accuracy, the selective-prediction
risks (AURC, E-AURC, AUGRC), OOD AUROC / AUPR / FPR95 per set and score with the near-OOD and far-OOD
means, and "% detected" with its threshold from the validation split of the run with this seed (the
profile's ``val_size`` images held out of the train split), each with its 95 % bootstrap interval
(:mod:`spindrop.evaluation.measures`, the suites' own code), and prices it on a registered cost
model (modules, draws, energy per image at T, :mod:`spindrop.evaluation.costing`). Masks are
seeded as the runner seeds them (:func:`spindrop.evaluation.predict.mask_seed`), so a network the
runner trained with seed s and evaluated here with ``seed=s`` and the run's profile gets the run's
numbers exactly.
"""
from __future__ import annotations

import copy
import statistics
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ..binary import binary_layers
from ..data import channel_stats, dataset_info, ood_sets
from ..data.shift import ood_group
from ..methods.base import Method, dropout_sites
from ..naming import UnknownNameError
from ..registry import get_method
from ..stats import Replicates
from ..store import MEASURED, MODELLED
from ..training.profiles import get_profile
from .costing import Priced, get_cost_model
from .measures import Measured, calibration, classification, ood, selective
from .predict import deterministic_images, predict_images, test_images

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ("metric", "value", "ci_low", "ci_high", "n", "kind", "unit", "note")


class InputShapeError(ValueError):
    """The network does not take the dataset's images."""


def evaluate(model: nn.Module, dataset: str, *, method: str | Method | None = None, T: int | None = None,
             seed: int = 0, profile: str = "standard", data_root: str | Path | None = None,
             device: str | torch.device = "cpu", cost_model: str = "mtj", **cost_options: object) -> pd.DataFrame:
    """Measure and price a trained network; one row per metric.

    ``method``: the method of the network's dropout sites (a name or a :class:`Method`); a network
    without sites gets the method's sites attached (a copy: MC dropout at test time on a network
    trained without it); None: a network without sites is deterministic, one with sites is measured
    but not priced. ``T``: MC samples (default: the profile's); ``seed``: the mask seed (the
    training seed of a run's network); ``profile``: which test and OOD subsets (``smoke``, ``quick``,
    ``standard``: the full test set and 1,000 images per OOD set). ``cost_options`` go to the cost
    model (``mtj``: ``preset=...``).

    Columns: ``metric`` (the suites' keys: ``test/acc``, ``test/cal/ECE``, ``ood/<set>/<score>/AUROC``,
    ``hw/energy/total_nJ`` ...), ``value`` (NaN: not applicable), ``ci_low``/``ci_high``/``n`` (95 %
    bootstrap interval over the ``n`` images; measured metrics only), ``kind`` (measured/modelled),
    ``unit``, ``note``. ``frame.attrs`` holds the dataset, method, parameters, T, seed and profile.
    Raises :class:`InputShapeError` when the network does not take the dataset's images.
    """
    import pandas as pd  # the frame only: importing spindrop stays light

    info = dataset_info(dataset)
    chosen = get_profile(profile)
    plan = chosen.evaluation(dataset)
    T = chosen.eval.mc_samples if T is None else T
    if not (isinstance(T, int) and T >= 1):
        raise ValueError(f"number of MC samples T={T!r} must be an int >= 1")
    check_input(model, info.shape, dataset)
    network, resolved = with_method(model, method)
    mean, std = channel_stats(dataset, data_root)
    from ..data.loader import normalize, validation_split  # Lightning: imported on first use
    norm = partial(normalize, mean=mean, std=std)
    images, labels = test_images(dataset, data_root, plan.test_subset)
    test = predict_images(network, images, norm, T, seed, "test", device)
    det = deterministic_images(network, images, norm, device)
    val = validation_split(dataset, data_root, chosen.val_size, seed)
    reference = predict_images(network, val.images, norm, T, seed, "val", device)
    sets = ood_sets(dataset, data_root, n=plan.ood_subset, seed=0)
    found = ood(test, ((name, predict_images(network, x, norm, T, seed, f"ood/{name}", device))
                       for name, x in sets.items()), reference)
    measured = [classification(test, labels, det), calibration(test, labels), selective(test, labels), found,
                group_means(found)]
    priced = price(network, resolved, info.shape, T, cost_model, **cost_options)
    rows = [row for m in measured for row in _measured_rows(m)] + _priced_rows(priced)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame.attrs.update(dataset=dataset, method=resolved.name if resolved else None,
                       method_params=resolved.params() if resolved else {}, T=T, seed=seed, profile=profile,
                       test_images=len(labels), hardware_note=priced.note, stochastic=test.stochastic)
    return frame


def group_means(found: Measured) -> Measured:
    """The near-OOD and far-OOD means (:func:`spindrop.data.shift.ood_group`) of every per-set OOD
    metric, ``ood/<near|far>/<score>/<metric>``: the mean of the sets' values, its replicates the
    mean of theirs (replicate j of every set shares the ID resample j, so their mean is replicate j of
    the mean); not applicable where a member is."""
    members: dict[str, list[str]] = {}
    for key in found.metrics:
        parts = key.split("/")
        if len(parts) == 4 and parts[0] == "ood":
            members.setdefault(f"ood/{ood_group(parts[1])}/{parts[2]}/{parts[3]}", []).append(key)
    reps = found.replicates
    means = Replicates(fingerprints=dict(reps.fingerprints), sizes=dict(reps.sizes))
    metrics: dict[str, float | None] = {}
    for name, keys in members.items():
        values = [found.metrics[k] for k in keys]
        metrics[name] = None if any(v is None for v in values) else statistics.fmean(v for v in values if v is not None)
        if metrics[name] is not None and all(k in reps.values for k in keys):
            means.values[name] = np.mean([reps.values[k] for k in keys], axis=0)
            means.sets[name] = tuple(dict.fromkeys(s for k in keys for s in reps.sets[k]))
    return Measured(metrics, means)


def check_input(model: nn.Module, shape: tuple[int, ...], dataset: str) -> None:
    """Raise :class:`InputShapeError` (one line, both shapes) if ``model`` cannot take one image of
    ``shape`` (C, H, W)."""
    was_training = model.training
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, *shape, device=next(model.parameters(), torch.zeros(0)).device))
    except RuntimeError as exc:
        raise InputShapeError(f"{dataset} images are {_shape(shape)} but the network takes "
                              f"{expected_input(model)} ({str(exc).splitlines()[0]})") from None
    finally:
        model.train(was_training)


def expected_input(model: nn.Module) -> str:
    """What the first layer with weights of ``model`` takes, e.g. ``(3, H, W)`` or ``3072 features``."""
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return f"({module.in_channels}, H, W) (its first layer '{name}' has {module.in_channels} input channels)"
        if isinstance(module, nn.Linear):
            return f"{module.in_features} features (its first layer '{name}')"
    return "another shape"


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def with_method(model: nn.Module, method: str | Method | None) -> tuple[nn.Module, Method | None]:
    """(network to evaluate, its method): ``model`` itself when its sites are ``method``'s (or when
    no method is named), else a copy with ``method``'s sites attached. A network whose sites are not
    the ones ``method`` installs is an error (it would be priced as another method)."""
    resolved = get_method(method) if isinstance(method, str) else method
    sites = dropout_sites(model)
    if resolved is None:
        return model, None if sites else get_method("deterministic")
    if not sites:
        return resolved.attach(copy.deepcopy(model)), resolved
    expected, found = (_site_types(net) for net in (resolved.attach(copy.deepcopy(model)), model))
    if expected != found:
        raise ValueError(f"the network's dropout sites ({', '.join(sorted(set(found.values()) - {'NoneType'}))}) are "
                         f"not those method '{resolved.name}' installs "
                         f"({', '.join(sorted(set(expected.values()) - {'NoneType'})) or 'none'}); "
                         "pass the method the network was built with")
    return model, resolved


def _site_types(model: nn.Module) -> dict[str, str]:
    """Binary layer name → the class of its dropout site ("NoneType": none)."""
    return {name: type(layer.site).__name__ for name, layer in binary_layers(model)}


def price(model: nn.Module, method: Method | None, shape: tuple[int, ...], T: int, cost_model: str,
          **options: object) -> Priced:
    """The cost model's numbers, or a note saying why there are none."""
    if method is None:
        return Priced(note="not priced: the network has dropout sites but no method was named "
                           "(pass method=NAME, the method it was built with)")
    if not binary_layers(model):
        return Priced(note="not priced: the network has no spindrop.binary layers (BinaryConv2d, "
                           "BinaryLinear), the only layers a crossbar cost model prices")
    try:
        return get_cost_model(cost_model)(model, method, shape, T, **options)
    except UnknownNameError as exc:
        return Priced(note=f"not priced: {exc} (install spindrop-bench, or import the package of the cost model)")


def _measured_rows(m: Measured) -> list[dict]:
    rows = []
    for metric, value in m.metrics.items():
        low = high = n = None
        if value is not None and metric in m.replicates.values:
            low, high, n = m.replicates.interval(metric)
        rows.append({"metric": metric, "value": float("nan") if value is None else value, "ci_low": low,
                     "ci_high": high, "n": n, "kind": MEASURED, "unit": "", "note": ""})
    return rows


UNPRICED = ("hw/modules", "hw/draws", "hw/energy/total_nJ")
"""The rows a network that was not priced still gets (value NaN, the note saying why)."""


def _priced_rows(priced: Priced) -> list[dict]:
    found = priced.metrics or dict.fromkeys(UNPRICED)
    return [{"metric": metric, "value": float("nan") if value is None else value, "ci_low": None, "ci_high": None,
             "n": None, "kind": MODELLED, "unit": priced.units.get(metric, ""), "note": priced.note}
            for metric, value in found.items()]
