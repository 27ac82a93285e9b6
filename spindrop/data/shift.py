"""Out-of-distribution sets and corrupted (shifted) test sets, built from real test images.

Everything is deterministic: each set draws from its own ``torch.Generator`` seeded with
``seed`` plus a fixed offset derived from the set's name (CRC-32), so adding a set never changes
another. All outputs are uint8 tensors (N, C, H, W) shaped like the in-distribution images, to be
normalised exactly like them (``SpinDataModule.normalize``).
"""
from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from .datasets import channel_stats, dataset_info, load_split, load_tinyimagenet32

# OOD sets per in-distribution dataset (docs/design.md "Data").
OOD_SETS: dict[str, tuple[str, ...]] = {
    "mnist": ("fashion_mnist", "animal_mnist", "gaussian_noise", "uniform_noise"),
    "fashion_mnist": ("mnist", "animal_mnist", "gaussian_noise", "uniform_noise"),
    "cifar10": ("tinyimagenet32", "tinyimagenet32_far", "mnist32", "fashion_mnist32",
                "gaussian_noise", "uniform_noise"),
}

# Corruption parameter per severity 1..5. Two families: CIFAR-10-C style for natural images,
# MNIST-C style for digits (CORRUPTION_SETS says which dataset uses which).
#   CIFAR-10-C style (Hendrycks & Dietterich, ICLR 2019, make_cifar_c.py):
#   gaussian_noise: σ of additive N(0, σ²) noise on pixels in [0, 1]; CIFAR-10-C values.
#   blur:           σ in pixels of a Gaussian blur; CIFAR-10-C ``gaussian_blur`` values.
#   contrast:       factor c in x' = (x − m)·c + m, m the per-image, per-channel mean;
#                   CIFAR-10-C values.
#   rotation:       angle in degrees, counter-clockwise as displayed, bilinear, zero fill;
#                   not in CIFAR-10-C, chosen here in the style of rotated-MNIST shift
#                   benchmarks (Ovadia et al., NeurIPS 2019).
#   MNIST-C style (Mu & Gilmer, arXiv 1906.02337, one severity each there): the operations of
#   MNIST-C, with five severities calibrated here so that the deterministic quick LeNet-5 falls
#   gradually from ≈ 95 % to ≈ 60 % accuracy (table and command in docs/design.md "Shift on digits").
#   Random choices (signs, directions, line positions) are drawn per image from the corruption's
#   own generator, the same at every severity, so only the strength changes with severity.
#   shot_noise:     photon count λ in x' = Poisson(λ·x)/λ (fewer photons = more noise).
#   impulse_noise:  share a of pixels replaced, half by 0 and half by 1 (salt and pepper).
#   motion_blur:    σ in pixels of the one-sided Gaussian trail, along a direction uniform in
#                   [−45°, 45°] per image (MNIST-C: ImageMagick motion blur, random angle).
#   shear:          horizontal shear factor, random sign per image.
#   scale:          zoom factor about the centre (< 1 shrinks the digit), zero fill.
#   rotate:         angle in degrees, random sign per image.
#   translate:      shift in pixels, direction uniform per image, bilinear, zero fill.
#   brightness:     b added to every pixel (MNIST-C: + b on the HSV value channel), clipped.
#   dotted_line:    number of random dotted lines (one dot every 3 px) drawn in white.
#   zigzag:         segments of one random zigzag (a polyline through random points), in white.
CORRUPTIONS: dict[str, tuple[float, ...]] = {
    "gaussian_noise": (0.04, 0.06, 0.08, 0.09, 0.10),
    "blur": (0.4, 0.6, 0.7, 0.8, 1.0),
    "contrast": (0.75, 0.5, 0.4, 0.3, 0.15),
    "rotation": (15.0, 30.0, 45.0, 60.0, 90.0),
    "shot_noise": (1.6, 1.0, 0.7, 0.45, 0.3),
    "impulse_noise": (0.03, 0.05, 0.075, 0.105, 0.16),
    "motion_blur": (2.8, 4.2, 5.0, 5.9, 6.7),
    "shear": (0.55, 0.7, 0.85, 0.97, 1.1),
    "scale": (0.78, 0.7, 0.66, 0.615, 0.575),
    "rotate": (17.0, 24.0, 30.0, 35.0, 41.0),
    "translate": (1.5, 2.4, 3.0, 3.5, 4.0),
    "brightness": (0.11, 0.23, 0.32, 0.37, 0.44),
    "dotted_line": (1.0, 3.0, 5.0, 7.0, 10.0),
    "zigzag": (1.0, 2.0, 3.0, 4.0, 5.0),
}
# Corruption family per dataset.
CORRUPTION_SETS: dict[str, tuple[str, ...]] = {
    "cifar10": ("gaussian_noise", "blur", "contrast", "rotation"),
    "mnist": ("shot_noise", "impulse_noise", "motion_blur", "shear", "scale", "rotate", "translate",
              "brightness", "dotted_line", "zigzag"),
}
CORRUPTION_SETS["fashion_mnist"] = CORRUPTION_SETS["mnist"]
SEVERITIES = (1, 2, 3, 4, 5)


def _generator(seed: int, name: str) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(name.encode()))


def _to_uint8(x: Tensor) -> Tensor:
    """[0, 1] floats → uint8 with rounding and clamping."""
    return (x.clamp(0.0, 1.0) * 255.0).round().to(torch.uint8)


def _cap(images: Tensor, n: int | None, gen: torch.Generator) -> Tensor:
    """The first ``n`` images after a seeded permutation (all of them, permuted, if n is None)."""
    perm = torch.randperm(len(images), generator=gen)
    return images[perm if n is None else perm[:n]]


def pad_to_rgb32(images: Tensor) -> Tensor:
    """1×28×28 uint8 → 3×32×32: zero-pad 2 px on each side, repeat the grey channel."""
    return F.pad(images, (2, 2, 2, 2)).expand(-1, 3, -1, -1).contiguous()


NEAR, FAR = "near", "far"
"""The OOD groups, like OpenOOD's near/far split (Zhang et al., "OpenOOD v1.5", arXiv 2306.09301): real
datasets are near-OOD, synthetic noise is far-OOD. The report averages each group on its own; its
headline OOD quantity is the near mean (docs/design.md "Statistics")."""
NOISE_OOD_SETS = ("gaussian_noise", "uniform_noise")
"""The synthetic OOD sets (far-OOD; they read no file)."""


@dataclass(frozen=True)
class RealOODSet:
    """A real OOD set: the registered ``dataset`` whose files it reads and how its images are made
    (``load(root)`` → uint8 (N, C, H, W)). The one place that knows which dataset a set reads.
    ``group``: near-OOD unless OpenOOD puts the set far from its ID data (MNIST for CIFAR-10)."""

    dataset: str
    load: Callable[[Path | str | None], Tensor]
    group: str = NEAR


def _test_split(dataset: str, pad: bool = False, group: str = NEAR) -> RealOODSet:
    """The test split of ``dataset``, padded to 3×32×32 when ``pad`` (``pad_to_rgb32``)."""
    def load(root: Path | str | None) -> Tensor:
        images = load_split(dataset, "test", root).images
        return pad_to_rgb32(images) if pad else images
    return RealOODSet(dataset, load, group)


def _tinyimagenet(exclude_overlap: bool = False) -> RealOODSet:
    """Tiny ImageNet's validation images at 32×32 (``load_tinyimagenet32``)."""
    return RealOODSet("tinyimagenet32",
                      lambda root: load_tinyimagenet32(root, exclude_overlap=exclude_overlap).images)


# The real OOD sets (the noise sets read no file).
REAL_OOD_SETS: dict[str, RealOODSet] = {
    "tinyimagenet32": _tinyimagenet(),
    "tinyimagenet32_far": _tinyimagenet(exclude_overlap=True),
    # OpenOOD v1.5 puts MNIST far from CIFAR-10 (and Tiny ImageNet near)
    "mnist32": _test_split("mnist", pad=True, group=FAR),
    "fashion_mnist32": _test_split("fashion_mnist", pad=True, group=FAR),
    "mnist": _test_split("mnist"),
    "fashion_mnist": _test_split("fashion_mnist"),
    "animal_mnist": _test_split("animal_mnist"),
}


def ood_group(set_name: str) -> str:
    """'near' or 'far': the group of an OOD set (real sets: their ``group``; noise sets: far)."""
    if set_name in REAL_OOD_SETS:
        return REAL_OOD_SETS[set_name].group
    if set_name in NOISE_OOD_SETS:
        return FAR
    raise ValueError(f"unknown OOD set {set_name!r}; known: {', '.join([*REAL_OOD_SETS, *NOISE_OOD_SETS])}")


def ood_source_datasets(id_name: str) -> tuple[str, ...]:
    """The registered datasets whose files the OOD sets of ``id_name`` read."""
    return tuple(dict.fromkeys(REAL_OOD_SETS[s].dataset for s in OOD_SETS.get(id_name, ())
                               if s in REAL_OOD_SETS))


def gaussian_noise_set(id_name: str, n: int, gen: torch.Generator,
                       root: Path | str | None = None) -> Tensor:
    """n images of per-channel N(mean_c, std_c²) noise (ID train statistics), clamped to [0, 1]."""
    mean, std = (torch.tensor(v).view(1, -1, 1, 1) for v in channel_stats(id_name, root))
    shape = (n, *dataset_info(id_name).shape)
    return _to_uint8(mean + std * torch.randn(shape, generator=gen))


def uniform_noise_set(id_name: str, n: int, gen: torch.Generator) -> Tensor:
    """n images of i.i.d. uniform pixels in {0, …, 255}."""
    shape = (n, *dataset_info(id_name).shape)
    return torch.randint(0, 256, shape, generator=gen, dtype=torch.uint8)


def ood_sets(id_name: str, root: str | Path | None = None, n: int | None = None,
             seed: int = 0) -> dict[str, Tensor]:
    """OOD image sets for in-distribution dataset ``id_name`` (see ``OOD_SETS``).

    Real sets come from test splits (Tiny ImageNet: its validation images); ``n`` caps each set
    to the first n images after a seeded permutation. Noise sets have ``n`` images, or as many as
    the ID test split when n is None.
    """
    if id_name not in OOD_SETS:
        raise ValueError(f"no OOD sets defined for {id_name!r}; known: {', '.join(OOD_SETS)}")
    count = n if n is not None else len(load_split(id_name, "test", root))
    out = {}
    for name in OOD_SETS[id_name]:
        gen = _generator(seed, name)
        if name == "gaussian_noise":
            out[name] = gaussian_noise_set(id_name, count, gen, root)
        elif name == "uniform_noise":
            out[name] = uniform_noise_set(id_name, count, gen)
        else:
            out[name] = _cap(REAL_OOD_SETS[name].load(root), n, gen)
    return out


# --------------------------------------------------------------------------- corruptions

def _gaussian_noise(x: Tensor, sigma: float, gen: torch.Generator) -> Tensor:
    return x + sigma * torch.randn(x.shape, generator=gen)


def _blur(x: Tensor, sigma: float, gen: torch.Generator) -> Tensor:
    """Separable Gaussian blur, kernel radius ceil(3σ), replicate padding, per channel.

    Each 1-D pass is a convolution written as unfold·kernel: on the CPU this measured about
    8× faster than a grouped ``conv2d`` (0.13 s vs 1.0 s for 10k CIFAR images, torch 2.13).
    """
    radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    x = F.pad(x, (radius, radius, radius, radius), mode="replicate")
    x = x.unfold(3, len(k), 1) @ k
    return x.unfold(2, len(k), 1) @ k


def _contrast(x: Tensor, factor: float, gen: torch.Generator) -> Tensor:
    mean = x.mean(dim=(2, 3), keepdim=True)
    return (x - mean) * factor + mean


def _rotation(x: Tensor, degrees: float, gen: torch.Generator) -> Tensor:
    """Rotate counter-clockwise (as displayed, y axis down) about the centre; zero fill."""
    a = math.radians(degrees)
    theta = torch.tensor([[math.cos(a), -math.sin(a), 0.0],
                          [math.sin(a), math.cos(a), 0.0]], dtype=x.dtype)
    grid = F.affine_grid(theta.expand(len(x), 2, 3), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _affine(x: Tensor, theta: Tensor) -> Tensor:
    """Per-image affine warp: ``theta`` (N, 2, 3) maps output to input coordinates (normalised,
    centre 0); bilinear, zero fill."""
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _signs(n: int, gen: torch.Generator) -> Tensor:
    return torch.randint(0, 2, (n,), generator=gen).float() * 2 - 1


def _shot_noise(x: Tensor, photons: float, gen: torch.Generator) -> Tensor:
    return torch.poisson(x * photons, generator=gen) / photons


def _impulse_noise(x: Tensor, amount: float, gen: torch.Generator) -> Tensor:
    u = torch.rand(x.shape, generator=gen)
    return torch.where(u < amount / 2, 0.0, torch.where(u < amount, 1.0, x))


def _motion_blur(x: Tensor, sigma: float, gen: torch.Generator) -> Tensor:
    """x' = Σ_k w_k · x shifted by k px along the image's direction, w_k ∝ exp(−k²/2σ²),
    k = 0..ceil(3σ) (a one-sided trail, as ImageMagick's motion blur)."""
    angle = (torch.rand(len(x), generator=gen) * 2 - 1) * math.pi / 4
    steps = torch.arange(math.ceil(3 * sigma) + 1, dtype=x.dtype)
    weights = torch.exp(-0.5 * (steps / sigma) ** 2)
    weights = weights / weights.sum()
    eye = torch.eye(2, 3).expand(len(x), 2, 3)
    out = torch.zeros_like(x)
    for k, w in zip(steps.tolist(), weights.tolist()):
        shift = torch.stack([torch.cos(angle), torch.sin(angle)], 1) * (2 * k / x.shape[-1])
        out += w * _affine(x, torch.cat([eye[:, :, :2], eye[:, :, 2:] - shift.unsqueeze(-1)], 2))
    return out


def _shear(x: Tensor, factor: float, gen: torch.Generator) -> Tensor:
    theta = torch.eye(2, 3).repeat(len(x), 1, 1)
    theta[:, 0, 1] = factor * _signs(len(x), gen)
    return _affine(x, theta)


def _scale(x: Tensor, factor: float, gen: torch.Generator) -> Tensor:
    theta = torch.zeros(len(x), 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0 / factor
    return _affine(x, theta)


def _rotate(x: Tensor, degrees: float, gen: torch.Generator) -> Tensor:
    a = math.radians(degrees) * _signs(len(x), gen)
    theta = torch.zeros(len(x), 2, 3)
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = a.cos(), -a.sin(), a.sin(), a.cos()
    return _affine(x, theta)


def _translate(x: Tensor, pixels: float, gen: torch.Generator) -> Tensor:
    phi = torch.rand(len(x), generator=gen) * 2 * math.pi
    theta = torch.eye(2, 3).repeat(len(x), 1, 1)
    theta[:, 0, 2] = -2 * pixels * phi.cos() / x.shape[-1]
    theta[:, 1, 2] = -2 * pixels * phi.sin() / x.shape[-2]
    return _affine(x, theta)


def _brightness(x: Tensor, offset: float, gen: torch.Generator) -> Tensor:
    return x + offset


# At most 10 dotted lines and 5 zigzag segments; positions are drawn for all of them at every
# severity, so a higher severity adds strokes to those of the lower ones.
MAX_LINES, MAX_SEGMENTS = 10, 5


def _draw(x: Tensor, points: Tensor) -> Tensor:
    """Set the pixels nearest to ``points`` (N, M, 2) as (row, col) to 1 in every channel."""
    n, _, h, w = x.shape
    rc = points.round().long()
    inside = (rc[..., 0] >= 0) & (rc[..., 0] < h) & (rc[..., 1] >= 0) & (rc[..., 1] < w)
    idx = torch.where(inside, rc[..., 0] * w + rc[..., 1], h * w)
    hit = torch.zeros(n, h * w + 1, dtype=torch.bool).scatter_(1, idx, True)[:, :-1].view(n, 1, h, w)
    return torch.where(hit, 1.0, x)


def _along(a: Tensor, b: Tensor, step: float) -> Tensor:
    """Points every ``step`` px from a to b, for (..., 2) endpoints: (..., K, 2), K from the
    image diagonal (points past b repeat b)."""
    length = (b - a).norm(dim=-1, keepdim=True).clamp_min(1e-6)
    t = torch.arange(0, 64, step)  # 64 px > the diagonal of a 32×32 image
    frac = (t.view(*([1] * (a.dim() - 1)), -1) / length).clamp(max=1.0)
    return a.unsqueeze(-2) + frac.unsqueeze(-1) * (b - a).unsqueeze(-2)


def _dotted_line(x: Tensor, lines: float, gen: torch.Generator) -> Tensor:
    h, w = x.shape[-2:]
    ends = torch.rand(len(x), MAX_LINES, 2, 2, generator=gen) * torch.tensor([h - 1, w - 1])
    pts = _along(ends[:, : int(lines), 0], ends[:, : int(lines), 1], 3.0)
    return _draw(x, pts.flatten(1, 2))


def _zigzag(x: Tensor, segments: float, gen: torch.Generator) -> Tensor:
    """One zigzag per image: a polyline through random points, its first ``segments`` segments."""
    h, w = x.shape[-2:]
    corners = torch.rand(len(x), MAX_SEGMENTS + 1, 2, generator=gen) * torch.tensor([h - 1, w - 1])
    n = int(segments)
    pts = _along(corners[:, :n], corners[:, 1:n + 1], 0.5)
    return _draw(x, pts.flatten(1, 2))


_CORRUPT_FNS: dict[str, Callable[[Tensor, float, torch.Generator], Tensor]] = {
    "gaussian_noise": _gaussian_noise,
    "blur": _blur,
    "contrast": _contrast,
    "rotation": _rotation,
    "shot_noise": _shot_noise,
    "impulse_noise": _impulse_noise,
    "motion_blur": _motion_blur,
    "shear": _shear,
    "scale": _scale,
    "rotate": _rotate,
    "translate": _translate,
    "brightness": _brightness,
    "dotted_line": _dotted_line,
    "zigzag": _zigzag,
}


def list_corruptions(dataset: str | None = None) -> list[str]:
    """The corruptions of ``dataset``'s family (``CORRUPTION_SETS``), or every corruption."""
    if dataset is None:
        return list(CORRUPTIONS)
    if dataset not in CORRUPTION_SETS:
        raise ValueError(f"no corruptions defined for {dataset!r}; known: {', '.join(CORRUPTION_SETS)}")
    return list(CORRUPTION_SETS[dataset])


def corrupt(images: Tensor, name: str, severity: int, seed: int = 0) -> Tensor:
    """Corrupt uint8 images (N, C, H, W) with ``name`` at ``severity`` in 1..5; returns uint8.

    The image is taken to [0, 1], transformed with the parameter ``CORRUPTIONS[name][severity-1]``,
    clamped and rounded back. Random draws come from a generator seeded by ``seed`` and ``name``.
    """
    if name not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {name!r}; known: {', '.join(CORRUPTIONS)}")
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, not {severity!r}")
    if images.dtype != torch.uint8 or images.dim() != 4:
        raise ValueError("corrupt expects uint8 images of shape (N, C, H, W)")
    x = images.float() / 255.0
    return _to_uint8(_CORRUPT_FNS[name](x, CORRUPTIONS[name][severity - 1], _generator(seed, name)))
