"""Run profiles as data (aihwkit-style presets): what is trained, how long, how it is measured.

* ``smoke``: seconds; tiny subsets; what the tests use.
* ``quick``: real results on a 2-core CPU in well under 15 minutes (the default of ``--all``).
* ``standard``: conclusions with verdicts (5 seeds, tuned methods, T = 20; VGG-small ×1/8 with 3×3
  convolutions on MNIST, LeNet-5 ×2 on Fashion-MNIST with its full test set) on a 2-core CPU in under
  2 hours (its CIFAR-10 plan runs on request).
* ``paper``: full-size networks and epochs for a GPU.
* ``gpu``: CIFAR-10 at the papers' scale (VGG-small ×1, every method, T = 20, full test set) in
  about 7 minutes on one H200 (``scripts/gpu_reference.sh``, docs/gpu.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

from ..naming import UnknownNameError

Precision = Literal["32-true", "bf16-mixed"]
PRECISIONS: tuple[str, ...] = get_args(Precision)  # the keys of spindrop.training.precision.AUTOCAST_DTYPES
"""Training precisions a plan may name (Lightning's names). Binary layers multiply ±1 (or 0)
inputs by ±1 weights, exact in bf16 with fp32 accumulation; only the first layer's real-valued
input and the classifier's are rounded to bf16 (8 significant bits)."""


@dataclass(frozen=True)
class TrainPlan:
    """How one dataset is trained within a profile.

    model/width: topology and channel-width multiplier; epochs, batch_size, lr: Adam with a
    cosine schedule to 0 over all steps; train_subset: images of the training split used
    (None = all but the validation split); augment: random crop + flip (CIFAR recipe);
    precision: Lightning's precision of the training, also the autocast of MC inference
    (one of :data:`PRECISIONS`; ``"bf16-mixed"``: bf16 autocast over fp32 weights);
    method_epochs: (method, epochs) pairs that replace ``epochs`` for the methods they name
    (a method too slow for the profile's budget, said in the profile's comment).
    """

    model: str
    width: float
    epochs: int
    batch_size: int = 128
    lr: float = 5e-3
    train_subset: int | None = None
    augment: bool = False
    precision: Precision = "32-true"
    method_epochs: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision {self.precision!r} is not one of {', '.join(PRECISIONS)}")

    def epochs_for(self, method: str) -> int:
        """Training epochs of ``method``: its ``method_epochs`` entry, else ``epochs``."""
        return dict(self.method_epochs).get(method, self.epochs)


@dataclass(frozen=True)
class FaultSweep:
    """The sweep of the ``robustness`` suite (docs/hardware.md "Fault and variation models"); each
    axis is swept alone from the ideal device, whose point (0) is always measured as the reference.

    sigma: relative device-to-device σ of Δ and I_c0 (both); stuck_drop/stuck_keep: shares of
    modules stuck at drop/keep; p_drift: relative errors δ of the programmed p (p·(1 + δ));
    draws: seeded chips (module draws, and MC mask seeds) per point;
    test_subset/ood_subset: images of the test set and of the main OOD set per evaluation
    (None = the evaluation plan's subsets).
    """

    sigma: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2)
    stuck_drop: tuple[float, ...] = (0.01, 0.05, 0.1, 0.2)
    stuck_keep: tuple[float, ...] = (0.01, 0.05, 0.1, 0.2)
    p_drift: tuple[float, ...] = (-0.1, -0.05, 0.05, 0.1)
    draws: int = 5
    test_subset: int | None = None
    ood_subset: int | None = None


@dataclass(frozen=True)
class EvalPlan:
    """How trained models are measured.

    mc_samples: T (the profile's default plan sets it for every dataset);
    test_subset/ood_subset/shift_subset: images per set (None = all);
    severities: corruption severities of the shift suite;
    faults: the robustness suite's sweep;
    mc_sweep: the numbers of MC samples of the ``tsweep`` suite, ascending: every T is a prefix of
    one sequence of max(mc_sweep) passes on the same trained networks (docs/design.md "T sweep").
    """

    mc_samples: int = 20
    test_subset: int | None = None
    ood_subset: int | None = None
    shift_subset: int | None = 2000
    severities: tuple[int, ...] = (1, 3, 5)
    faults: FaultSweep = FaultSweep()
    mc_sweep: tuple[int, ...] = (1, 2, 4, 8, 16, 32)

    def __post_init__(self) -> None:
        sweep = self.mc_sweep
        if not sweep or any(t < 1 for t in sweep) or list(sweep) != sorted(set(sweep)):
            raise ValueError(f"mc_sweep={sweep} must be distinct MC sample counts >= 1 in ascending order")


@dataclass(frozen=True)
class Profile:
    """A named preset: a training plan per in-distribution dataset and an evaluation plan.

    eval: the evaluation plan (its ``mc_samples`` is the run's T); eval_for: per-dataset
    evaluation plans that replace it for the sets they name (T stays the profile's);
    datasets: the in-distribution datasets a plain ``--all`` runs; seeds: training seeds;
    p: default dropout probability; val_size: images held out of the training split;
    suite_seeds: suites measured on only some of the run's seeds (the others' cells are not planned),
    for suites whose cost would not fit the profile's budget on every seed (said in the profile's
    comment); at least 3 each, so that their verdicts can be stated (docs/design.md "Statistics");
    tune_seed: training seed of the tuning networks when the run selects each method's
    parameters by the tuning protocol (:mod:`spindrop.tuning`, docs/design.md "Tuning protocol");
    None: methods run at their defaults (or ``--p``/``--method-param``). It is not one of ``seeds``, so
    the replicates that verdicts use are not the networks their parameters were selected on.
    """

    name: str
    summary: str
    train: dict[str, TrainPlan]
    eval: EvalPlan
    eval_for: dict[str, EvalPlan] = field(default_factory=dict)
    datasets: tuple[str, ...] = ("mnist", "cifar10")
    seeds: tuple[int, ...] = (0,)
    p: float = 0.2
    val_size: int = 5000
    suite_seeds: dict[str, tuple[int, ...]] = field(default_factory=dict)
    tune_seed: int | None = None

    def __post_init__(self) -> None:
        for suite, seeds in self.suite_seeds.items():
            if len(set(seeds)) < 3:
                raise ValueError(f"profile '{self.name}': suite_seeds[{suite!r}] = {seeds} has fewer than 3 "
                                 "distinct seeds, too few for a verdict; give 3 or more")

    def measures(self, suite: str, seed: int) -> bool:
        """Whether ``suite`` is measured on training seed ``seed`` (:attr:`suite_seeds`)."""
        return seed in self.suite_seeds.get(suite, (seed,))

    def evaluation(self, dataset: str) -> EvalPlan:
        """The evaluation plan of ``dataset`` (the default unless ``eval_for`` names it)."""
        return self.eval_for.get(dataset, self.eval)

    def plan(self, dataset: str) -> TrainPlan:
        try:
            return self.train[dataset]
        except KeyError:
            raise LookupError(f"profile '{self.name}' has no training plan for dataset '{dataset}'; "
                              f"it covers {', '.join(sorted(self.train))}") from None


SMOKE = Profile(
    name="smoke",
    summary="seconds: tiny subsets and networks; for tests",
    train={
        "mnist": TrainPlan("lenet5", 0.5, epochs=1, batch_size=64, train_subset=512),
        "fashion_mnist": TrainPlan("lenet5", 0.5, epochs=1, batch_size=64, train_subset=512),
        "cifar10": TrainPlan("vgg_small", 0.0625, epochs=1, batch_size=64, train_subset=256),
    },
    eval=EvalPlan(mc_samples=4, test_subset=256, ood_subset=128, shift_subset=64, severities=(3,), mc_sweep=(1, 2, 4),
                  faults=FaultSweep(sigma=(0.05,), stuck_drop=(0.2,), stuck_keep=(0.2,), p_drift=(0.1,), draws=2)),
    val_size=256,
)

QUICK = Profile(
    name="quick",
    summary="real results on a 2-core CPU in well under 15 minutes",
    # LeNet-5 ×2 for 3 epochs reached 98.3 % on MNIST (×1: 97.8 %; ×2 for 2 epochs: 98.0 %);
    # the CIFAR-10 net is small and short so that both datasets fit the 15-minute budget.
    train={
        "mnist": TrainPlan("lenet5", 2.0, epochs=3, batch_size=128, lr=5e-3),
        "fashion_mnist": TrainPlan("lenet5", 2.0, epochs=3, batch_size=128, lr=5e-3),
        "cifar10": TrainPlan("vgg_small", 0.125, epochs=2, batch_size=128, lr=5e-3, train_subset=6000),
    },
    # the T sweep ends at the run's T = 10, so it reuses the accuracy suite's passes (no extra inference)
    eval=EvalPlan(mc_samples=10, test_subset=5000, ood_subset=500, shift_subset=250, severities=(1, 5),
                  mc_sweep=(1, 2, 5, 10),
                  # robustness: 9 points + the reference, 2 chips, 500 + 250 images (docs/hardware.md §7);
                  # σ where the device still works (0.5–2 %)
                  faults=FaultSweep(sigma=(0.005, 0.01, 0.02), stuck_drop=(0.05, 0.2), stuck_keep=(0.05, 0.2),
                                    p_drift=(-0.1, 0.1), draws=2, test_subset=500, ood_subset=250)),
    # SpinDrop's per-window masks make CIFAR-10 MC inference ~20 images/s here: smaller sets.
    eval_for={"cifar10": EvalPlan(mc_samples=10, test_subset=1000, ood_subset=100, shift_subset=100,
                                  severities=(1, 5), mc_sweep=(1, 2, 5, 10),
                                  # robustness on the tiny CIFAR-10 net: the largest point of each axis,
                                  # 2 chips, 200 + 100 images (SpinDrop's MC inference bounds it here)
                                  faults=FaultSweep(sigma=(0.2,), stuck_drop=(0.2,), stuck_keep=(0.2,),
                                                    p_drift=(0.1,), draws=2, test_subset=200, ood_subset=100))},
)

PAPER = Profile(
    name="paper",
    summary="full-size networks and epochs, for a GPU",
    train={
        "mnist": TrainPlan("lenet5", 1.0, epochs=50, batch_size=256, lr=5e-3),
        "fashion_mnist": TrainPlan("lenet5", 1.0, epochs=50, batch_size=256, lr=5e-3),
        "cifar10": TrainPlan("vgg_small", 1.0, epochs=150, batch_size=256, lr=5e-3, augment=True),
    },
    eval=EvalPlan(mc_samples=20, severities=(1, 2, 3, 4, 5), shift_subset=None),
    seeds=(0, 1, 2),
)

STANDARD = Profile(
    name="standard",
    summary="conclusions on a 2-core CPU in under 2 hours: MNIST (VGG-small ×1/8, 3×3 convolutions) and "
            "Fashion-MNIST (LeNet-5 ×2), 5 seeds, tuned methods, T = 20",
    # Between quick and paper (issue 11; docs/design.md "Profiles" has the measured times). Issue 21: at least
    # 5 seeds (a verdict is a paired t-test over seeds; with 3 its t-quantile is 4.30) and one network with
    # 3×3 convolutions (the papers' 9× concerns 3×3 layers; LeNet-5 has 5×5 only): VGG-small ×1/8 on MNIST,
    # 2 epochs on 20,000 training images (measured: 94.7 % validation, 93.8 % deterministic test accuracy
    # on 2,000 images, mc_dropout; Fashion-MNIST with the same plan reached only 80.6 / 80.3 %).
    # Sized by a one-seed probe of every suite at this round's code on the idle 2-core CPU (seconds per
    # seed, MNIST VGG, training included; docs/design.md "Profiles"): deterministic 43, ensemble 84 (four
    # more members), MC-Dropout 91, Scale 136, Spatial 67, SpinDrop 295, of which the ablation suite
    # (a retraining per open reading) 255 and the fault sweep about 150 s. So the ablation and the fault
    # sweep run on 3 of the 5 seeds (suite_seeds; 3 is the least a verdict needs); the VGG dataset
    # evaluates fewer images (eval_for): 1,000 test images, 200 per OOD set, 100 shift images at
    # severities 1 and 5, and its fault sweep is the σ axis only (8 chips, 100 + 100 images); Fashion-MNIST
    # trains 3 epochs (5 before: its training dominated its cells). The tuning step (issue 22; tune seed
    # 1000) trains 20 settings per dataset first. CIFAR-10 VGG-small ×1/4 for 8 epochs reached 72.5 %
    # deterministic test accuracy (573 s per fit, measured); it does not fit the 2-hour budget, so a plain
    # --all leaves it out and --datasets cifar10 runs it.
    train={
        "mnist": TrainPlan("vgg_small", 0.125, epochs=2, batch_size=128, lr=5e-3, train_subset=20000),
        "fashion_mnist": TrainPlan("lenet5", 2.0, epochs=3, batch_size=128, lr=5e-3),
        "cifar10": TrainPlan("vgg_small", 0.25, epochs=8, batch_size=128, lr=5e-3),
    },
    eval=EvalPlan(mc_samples=20, test_subset=None, ood_subset=1000, shift_subset=1000, severities=(1, 3, 5),
                  # σ where the device still works (0.5–2 %: module p 5–95 % range 0.15–0.26 to 0.07–0.54;
                  # at 5 % it is 0.01–1.0, docs/hardware.md §7), the largest point of the other axes,
                  # 8 chips per training seed (an interval on the chip mean), 250 + 250 images
                  faults=FaultSweep(sigma=(0.005, 0.01, 0.02), stuck_drop=(0.2,), stuck_keep=(0.2,), p_drift=(0.1,),
                                    draws=8, test_subset=250, ood_subset=250)),
    eval_for={"mnist": EvalPlan(mc_samples=20, test_subset=1000, ood_subset=200, shift_subset=100, severities=(1, 5),
                                faults=FaultSweep(sigma=(0.01,), stuck_drop=(), stuck_keep=(), p_drift=(),
                                                  draws=8, test_subset=100, ood_subset=100))},
    datasets=("mnist", "fashion_mnist"),
    seeds=(0, 1, 2, 3, 4),
    suite_seeds={"ablation": (0, 1, 2), "robustness": (0, 1, 2)},
    val_size=2000,
    tune_seed=1000,  # issue 22: every method with a grid is tuned on the validation split first
)

GPU = Profile(
    name="gpu",
    summary="CIFAR-10 at the papers' scale on one GPU: VGG-small ×1, every method, T = 20, full test "
            "set, every OOD and shift set; about 7 minutes on an H200 (estimate)",
    # Sized for 8 minutes of H200 compute (issue 26; docs/gpu.md has the estimate): anchors measured
    # on an H200 with a plain-torch probe, VGG-small ×1 trains at 35–45k images/s in bf16 with the data
    # resident (~1.3 s per epoch of 45,000 images; ~2 s through Lightning, estimate) and reached 82 %
    # in 15 epochs; MC-Dropout T = 20 over the 10,000 test images 0.9 s. 20 epochs is the least the
    # issue asks; more do not fit beside the evaluation. SpinDrop trains 8 epochs: its GPU path is
    # the torch fast path (per-window masks on the k²-times expanded patches: 10.2 s for T = 20 over
    # the test set on the H200, 11x MC-Dropout; 3.4x MC-Dropout per training step on the CPU at
    # width 1/8), about 8 s per epoch by that ratio (estimate), so 20 epochs alone would take 2.7 of
    # the 7 minutes. Its accuracy is therefore not comparable with the other methods' at equal
    # training (docs/gpu.md says so). One seed (3 do not fit): the report is descriptive only.
    train={"cifar10": TrainPlan("vgg_small", 1.0, epochs=20, batch_size=256, lr=5e-3, augment=True,
                                precision="bf16-mixed", method_epochs=(("spindrop", 8),))},
    eval=EvalPlan(mc_samples=20, test_subset=None, ood_subset=2000, shift_subset=1000, severities=(1, 3, 5),
                  # the largest point of each axis, 2 chips, 1,000 + 1,000 images per evaluation
                  faults=FaultSweep(sigma=(0.2,), stuck_drop=(0.2,), stuck_keep=(0.2,), p_drift=(0.1,), draws=2,
                                    test_subset=1000, ood_subset=1000)),
    datasets=("cifar10",),
    seeds=(0,),
)

PROFILES: dict[str, Profile] = {p.name: p for p in (SMOKE, QUICK, STANDARD, PAPER, GPU)}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise UnknownNameError("profile", name, PROFILES) from None
