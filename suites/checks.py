"""Checking a run's inputs before any work: every option, environment variable and launcher
prerequisite, each failure one line (:class:`UsageError`, exit status 2).

Two kinds of check, each applied the same way to every option:

* **a value on its own**: the option's argparse ``type`` (:func:`seed`, :func:`positive_int`,
  :func:`probability`, :func:`devices`, :func:`method_param`, ...) and, for a list that names cells,
  the :class:`Distinct` action (each value once: ``--seeds 0 0 1`` would claim three cells and
  store two). :class:`Parser` reports a bad value as a :class:`UsageError`, not argparse's usage block;
* **a value against the others, the registries, the environment and the machine**: the functions
  registered with :func:`check`, which :func:`validate` runs in order on a :class:`Request` (the
  command line resolved with the profile's defaults).

A new option gets a ``type`` (and ``Distinct`` if it lists cells) and, if it depends on anything
else, a registered check. ``suites.run.make_plan`` builds the plan only after :func:`validate`
passed, so nothing is loaded, trained or written for a run whose inputs are wrong.
"""
from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import MISSING, fields
from functools import cached_property
from pathlib import Path
from typing import NoReturn

import torch

import hardware
from spindrop.data import DataError, dataset_info, load_split, resolve_data_root, verify_dataset
from spindrop.data.root import CACHE_ENV, resolve_cache_dir
from spindrop.methods.params import parse_param
from spindrop.models import list_models
from spindrop.naming import unknown_name
from spindrop.registry import PluginError, get_method, list_methods, load_plugin, method_class
from spindrop.report_spec import DEFAULT_REFERENCE as DEFAULT_REFERENCE
from spindrop.store import ResultStore
from spindrop.training import Profile, get_profile

from .base import SUITES, list_suites
from .launch import LaunchError, LaunchOptions, runs_here
from .launch import check as check_launch

SEED_MAX = 2**32 - 1
"""Largest training seed: numpy's (and Lightning's ``seed_everything``) seed range is [0, 2^32 − 1]."""



class UsageError(Exception):
    """Bad input: reported as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are a :class:`UsageError` (one line, exit 2), not argparse's
    usage block and exit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see --help)")


class Distinct(argparse.Action):
    """``nargs="+"`` action refusing a value given twice (each names cells of the run)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option: str | None = None) -> None:
        items = list(values) if isinstance(values, list) else [values]
        twice = sorted({str(v) for v in items if items.count(v) > 1})
        if twice:
            raise argparse.ArgumentError(self, f"{', '.join(twice)} given twice: pass each value once")
        setattr(namespace, self.dest, items)


def seed(text: str) -> int:
    """A training seed: an integer in [0, :data:`SEED_MAX`]."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"{text} is not a seed: pass integers in [0, {SEED_MAX}]")
    return value


def _integer(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text} is not an integer") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"{text} must be >= {low}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1 (MC samples, jobs, CPUs, minutes)."""
    return _integer(text, 1)


def count(text: str) -> int:
    """An integer >= 0 (GPUs per unit)."""
    return _integer(text, 0)


def positive_float(text: str) -> float:
    """A number > 0 (memory in GB)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} must be > 0")
    return value


def probability(text: str) -> float:
    """A dropout probability in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"{text} is outside [0, 1): pass e.g. --p 0.2")
    return value


def devices(text: str) -> int | str:
    """Lightning's ``devices``: a number >= 1, a list of device indices (``0,1``) or ``auto``."""
    if text == "auto":
        return text
    if text.isdigit() and int(text) >= 1:
        return int(text)
    indices = text.split(",")
    if "," in text and all(i.isdigit() for i in indices) and len(set(indices)) == len(indices):
        return text
    raise argparse.ArgumentTypeError(f"{text} is not a device choice: pass a number of devices >= 1, "
                                     "distinct device indices such as 0,1, or auto")


def method_param(text: str) -> tuple[str, str, str]:
    """``NAME.PARAM=VALUE`` → (method, parameter, value text); the value is typed by the method's
    config in :meth:`Request.method_params`."""
    target, sep, value = text.partition("=")
    method, dot, param = target.partition(".")
    if not (sep and dot and method and param):
        raise argparse.ArgumentTypeError(f"{text} is not NAME.PARAM=VALUE, e.g. spatial.fc_grouping=element")
    return method, param, value


class Request:
    """A run's inputs: the parsed command line and what follows from it with the profile's defaults.
    Each value is resolved once, when a check (or the plan) first asks for it."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    @cached_property
    def profile(self) -> Profile:
        try:
            return get_profile(self.args.profile)
        except LookupError as exc:
            raise UsageError(str(exc)) from None

    @cached_property
    def suites(self) -> list[str]:
        return list_suites() if self.args.all and not self.args.suite else list(self.args.suite)

    @cached_property
    def methods(self) -> list[str]:
        return self.args.methods or list_methods()

    @cached_property
    def datasets(self) -> list[str]:
        return self.args.datasets or list(self.profile.datasets)

    @cached_property
    def seeds(self) -> list[int]:
        return self.args.seeds or list(self.profile.seeds)

    @cached_property
    def p(self) -> float:
        return self.profile.p if self.args.p is None else self.args.p

    @cached_property
    def tuned_methods(self) -> list[str]:
        """Methods whose parameters the run selects by the tuning protocol: with a profile that has a
        ``tune_seed`` and suites that train, every method with a grid, unless ``--p`` or a
        ``--method-param`` of that method sets its parameters by hand."""
        if self.profile.tune_seed is None or self.args.p is not None or not self.trains:
            return []
        by_hand = {method for method, _, _ in self.args.method_param}
        return [m for m in self.methods if m not in by_hand and get_method(m).grid()]

    @cached_property
    def mc_samples(self) -> int:
        return self.args.mc_samples or self.profile.eval.mc_samples

    @cached_property
    def trains(self) -> bool:
        """Whether a chosen suite trains networks (and so reads data and holds MC predictions)."""
        return any(SUITES[s].needs_training for s in self.suites)

    @cached_property
    def launch(self) -> LaunchOptions:
        return launch_options(self.args)

    @cached_property
    def data_root(self) -> Path:
        try:
            return resolve_data_root(self.args.data_root)
        except DataError as exc:
            raise UsageError(str(exc)) from None

    @cached_property
    def method_params(self) -> dict[str, tuple[tuple[str, object], ...]]:
        """method → the parameters in its cells' keys: ``p`` (the run's) where the method has one,
        and every ``--method-param`` whose value differs from the config's default (so a default
        given explicitly names the same cells as no option)."""
        given: dict[str, dict[str, object]] = {m: {} for m in self.methods}
        for method, param, text in self.args.method_param:
            option = f"--method-param {method}.{param}={text}"
            if method not in given:
                known = self.methods if method in list_methods() else list_methods()
                where = "among --methods" if method in list_methods() else "a registered method"
                raise UsageError(f"{option}: '{method}' is not {where}; methods: {', '.join(known)}")
            if param in given[method]:
                raise UsageError(f"{option}: {method}.{param} is given twice; pass it once")
            try:
                given[method][param] = parse_param(method, method_class(method).Config, param, text)
            except (ValueError, TypeError) as exc:
                raise UsageError(f"{option}: {exc}") from None
        out: dict[str, tuple[tuple[str, object], ...]] = {}
        for method, overrides in given.items():
            config = method_class(method).Config
            names = {f.name for f in fields(config)}
            params: dict[str, object] = {"p": self.p} if "p" in names else {}
            try:
                resolved = get_method(method, **{**params, **overrides}).params()
            except (ValueError, TypeError) as exc:  # a config's own message may not name its method
                text = str(exc) if f"'{method}'" in str(exc) else (
                    f"method '{method}' cannot be configured ({exc}): pass --method-param {method}.NAME=VALUE")
                raise UsageError(text) from None
            out[method] = key_params(method, {**params, **{k: resolved[k] for k in overrides}})
        return out


def key_params(method: str, params: dict[str, object]) -> tuple[tuple[str, object], ...]:
    """The parameters that name ``method``'s cells, sorted: ``p`` always, every other parameter only
    where it differs from the config's default (so a default given explicitly, by ``--method-param``
    or by a tuning selection, names the same cells as none)."""
    defaults = config_defaults(method_class(method).Config)
    return tuple(sorted((k, v) for k, v in params.items() if k == "p" or defaults.get(k) != v))


def config_defaults(config: type) -> dict[str, object]:
    """The default value of every field of a config dataclass that has one."""
    found = {}
    for f in fields(config):
        if f.default is not MISSING:
            found[f.name] = f.default
        elif f.default_factory is not MISSING:
            found[f.name] = f.default_factory()
    return found


def launch_options(args: argparse.Namespace) -> LaunchOptions:
    extra = []
    for item in args.slurm_option:
        key, sep, value = item.partition("=")
        if not (sep and key):
            raise UsageError(f"--slurm-option {item}: expected KEY=VALUE, e.g. qos=normal")
        extra.append((key, value))
    return LaunchOptions(args.launcher, args.jobs, args.time_min, args.partition, args.account, args.cpus_per_unit,
                         args.gpus_per_unit, args.mem_gb, tuple(args.setup), tuple(extra))


CHECKS: list[Callable[[Request], None]] = []
"""The checks :func:`validate` runs, in registration order (cheap ones first)."""


def check(fn: Callable[[Request], None]) -> Callable[[Request], None]:
    """Register ``fn(request)`` (raises :class:`UsageError`) as a check of every run."""
    CHECKS.append(fn)
    return fn


def validate(args: argparse.Namespace) -> Request:
    """Run every registered check on ``args``; the first failure raises :class:`UsageError`."""
    request = Request(args)
    for fn in CHECKS:
        fn(request)
    return request


def _names(kind: str, names: list[str], known: list[str]) -> None:
    for name in names:
        if name not in known:
            raise UsageError(unknown_name(kind, name, known))


@check
def plugins(req: Request) -> None:
    """Plugins import (their methods and suites register) before any name is checked."""
    try:
        for module in req.args.plugin:
            load_plugin(module)
    except PluginError as exc:
        raise UsageError(str(exc)) from None


@check
def action(req: Request) -> None:
    req.profile  # noqa: B018 (resolving it checks --profile)
    if not (req.args.all or req.args.suite):
        raise UsageError("nothing to run: pass --all, or --suite NAME ... (see --help)")


@check
def names(req: Request) -> None:
    """Every named suite, method, dataset (of the profile), model and preset is registered."""
    _names("suite", req.suites, list_suites())
    _names("method", req.methods, list_methods())
    _names("dataset", req.datasets, sorted(req.profile.train))
    _names("model", req.args.models or [], list_models())
    _names("hardware preset", [req.args.preset], hardware.list_presets())


@check
def reference(req: Request) -> None:
    """``--reference``: a registered method this run measures, or one whose cells the store holds."""
    name = req.args.reference
    if name is None:
        return
    _names("method", [name], list_methods())
    if name in req.methods:
        return
    store = ResultStore(req.args.out)
    if (store.root / "cells").is_dir() and any(c.key.method == name for c in store.cells()):
        return
    raise UsageError(f"--reference {name} is not among --methods ({', '.join(req.methods)}) and {req.args.out} "
                     f"holds no cell of it: add it to --methods, or pass --reference one of them")


@check
def method_parameters(req: Request) -> None:
    """``--p`` and every ``--method-param`` typed and accepted by each method's config."""
    req.method_params  # noqa: B018 (resolving them checks them)


@check
def launcher(req: Request) -> None:
    """The launcher's options and prerequisites (submitit, GPUs for the local units)."""
    try:
        check_launch(req.launch, req.args.accelerator, torch.cuda.device_count())
    except LaunchError as exc:
        raise UsageError(str(exc)) from None


@check
def accelerator(req: Request) -> None:
    """A GPU accelerator on a machine without one, or more devices than it has, is refused before
    anything is loaded (Slurm units run on other machines: their devices are not ours)."""
    if not runs_here(req.launch):
        return
    name = req.args.accelerator
    probes: dict[str, Callable[[], bool]] = {"gpu": torch.cuda.is_available, "cuda": torch.cuda.is_available,
                                             "mps": torch.backends.mps.is_available}
    found = probes.get(name.lower())
    if found is not None and not found():
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise UsageError(f"--accelerator {name}: no such device on this machine (torch "
                         f"{torch.__version__}, {build}, sees none); pass --accelerator cpu")
    wanted = req.args.devices
    if name.lower() in ("gpu", "cuda") and isinstance(wanted, int) and wanted > torch.cuda.device_count():
        raise UsageError(f"--devices {wanted}: this machine has {torch.cuda.device_count()} GPUs; "
                         f"pass --devices {torch.cuda.device_count()} or fewer")


@check
def cache(req: Request) -> None:
    """The decoded-data and kernel cache (``$SPINDROP_CACHE``) is a writable folder."""
    folder = resolve_cache_dir()
    origin = f"${CACHE_ENV}={os.environ[CACHE_ENV]}" if os.environ.get(CACHE_ENV) else f"the cache {folder}"
    fix = f"set {CACHE_ENV} to a writable folder (or unset it for ~/.cache/spindrop-bench)"
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{origin} is not a folder: {fix}")
    _writable(folder, f"{origin} is not writable", fix)


@check
def data(req: Request) -> None:
    """The data root exists and holds every dataset a training suite reads, as its SHA256SUMS say."""
    try:
        root = req.data_root
        if req.trains:
            for dataset in req.datasets:
                verify_dataset(dataset, root)
    except DataError as exc:
        raise UsageError(str(exc)) from None


@check
def output(req: Request) -> None:
    """``--out`` is (or can be made) a writable folder."""
    _writable(Path(req.args.out), f"output folder {req.args.out} is not writable",
              "pass --out DIR with a writable folder")


def _writable(folder: Path, problem: str, fix: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-probe-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"{problem} ({exc.strerror}): {fix}") from None


MC_MEMORY_FRACTION = 0.25
"""At most this share of the machine's memory may hold one set's MC probabilities (T·N·C float32)."""


def _memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


@check
def mc_memory(req: Request) -> None:
    """Refuse a T whose MC probabilities (T × images × classes float32, held for one evaluated set at
    a time) would not fit in a quarter of the machine's memory (checked where the cells run here)."""
    if not (runs_here(req.launch) and req.trains):
        return
    T, budget = req.mc_samples, int(_memory_bytes() * MC_MEMORY_FRACTION)
    for dataset in req.datasets:
        plan, info = req.profile.evaluation(dataset), dataset_info(dataset)
        sizes = [plan.test_subset, plan.ood_subset, plan.shift_subset]
        n = max(s if s is not None else len(load_split(dataset, "test", req.data_root)) for s in sizes)
        need = T * n * info.num_classes * 4
        if need > budget:
            fit = budget // (n * info.num_classes * 4)
            raise UsageError(f"--mc-samples {T} needs {need / 2**30:,.1f} GiB to hold the MC probabilities of "
                             f"{n:,} {dataset} images × {info.num_classes} classes (T·N·C·4 bytes), more than "
                             f"{MC_MEMORY_FRACTION:.0%} of this machine's {_memory_bytes() / 2**30:.0f} GiB; "
                             f"pass --mc-samples {fit} or fewer")
