"""MNIST-C style digit corruptions (Mu & Gilmer, arXiv 1906.02337) and the per-dataset families.

Properties only (no accuracies): uint8 shapes, determinism under the seed, perturbation strength
(mean |x' − x|) growing with severity, and what each operation does on synthetic images.
"""
import math

import pytest
import torch

from spindrop.data import CORRUPTIONS, corrupt, list_corruptions
from spindrop.data.shift import CORRUPTION_SETS

DIGITS = list_corruptions("mnist")
RANDOM = {"shot_noise", "impulse_noise", "motion_blur", "shear", "rotate", "translate", "dotted_line", "zigzag"}


@pytest.fixture(scope="module")
def digits(splits) -> torch.Tensor:
    return splits("mnist", "test").images[::100]   # 100 images


def test_families_per_dataset():
    assert set(CORRUPTION_SETS) == {"mnist", "fashion_mnist", "cifar10"}
    assert list_corruptions("fashion_mnist") == DIGITS
    assert not set(DIGITS) & set(list_corruptions("cifar10"))
    assert set(list_corruptions()) == set(CORRUPTIONS) == set(DIGITS) | set(list_corruptions("cifar10"))
    with pytest.raises(ValueError, match="no corruptions defined for 'svhn'"):
        list_corruptions("svhn")


@pytest.mark.parametrize("name", DIGITS)
def test_deterministic_and_stronger_with_severity(digits, name):
    distances = []
    for severity in range(1, 6):
        out = corrupt(digits, name, severity, seed=0)
        assert out.dtype == torch.uint8 and out.shape == digits.shape
        assert torch.equal(out, corrupt(digits, name, severity, seed=0))
        distances.append((out.double() - digits.double()).abs().mean().item())
    assert distances[0] > 0 and distances == sorted(distances), distances
    if name in RANDOM:
        assert not torch.equal(corrupt(digits, name, 3, seed=0), corrupt(digits, name, 3, seed=1))


def test_impulse_noise_replaces_the_share_a():
    grey = torch.full((200, 1, 28, 28), 128, dtype=torch.uint8)
    a = CORRUPTIONS["impulse_noise"][4]
    out = corrupt(grey, "impulse_noise", 5)
    n = out.numel()
    for value in (0, 255):   # a/2 each, 4-sigma binomial bound
        k = (out == value).sum().item()
        assert abs(k - n * a / 2) <= 4 * math.sqrt(n * a / 2 * (1 - a / 2))
    assert ((out == 0) | (out == 255) | (out == 128)).all()


def test_shot_noise_zero_counts_follow_poisson():
    grey = torch.full((400, 1, 28, 28), 128, dtype=torch.uint8)
    for severity in (1, 5):
        lam = CORRUPTIONS["shot_noise"][severity - 1]
        out = corrupt(grey, "shot_noise", severity)
        q = math.exp(-lam * 128 / 255)   # P(Poisson(λx) = 0)
        n, k = out.numel(), (out == 0).sum().item()
        assert abs(k - n * q) <= 4 * math.sqrt(n * q * (1 - q)), (severity, k / n, q)


def test_brightness_adds_b_and_clips():
    img = torch.tensor([0, 100, 250], dtype=torch.uint8).view(1, 1, 1, 3)
    b = CORRUPTIONS["brightness"][0]
    expected = (torch.tensor([0.0, 100.0, 250.0]) / 255 + b).clamp(0, 1).mul(255).round()
    assert corrupt(img, "brightness", 1).view(-1).double().tolist() == expected.double().tolist()


def test_affine_corruptions_keep_a_centred_dot_centred():
    dot = torch.zeros(1, 1, 29, 29, dtype=torch.uint8)
    dot[..., 14, 14] = 255
    for name in ("shear", "scale", "rotate"):
        out = corrupt(dot, name, 5)
        assert out[..., 14, 14].item() > 0 and out.sum() > 0, name   # the centre is the fixed point
    moved = corrupt(dot, "translate", 5)
    assert moved[..., 14, 14].item() == 0   # shifted by 6 px


def test_rotate_uses_both_directions():
    bar = torch.zeros(64, 1, 28, 28, dtype=torch.uint8)
    bar[..., 14, 4:24] = 255
    out = corrupt(bar, "rotate", 3).double()
    upper_right = out[..., :14, 14:].sum((1, 2, 3)) > out[..., 14:, 14:].sum((1, 2, 3))
    assert 0 < upper_right.sum().item() < 64    # some images turn one way, the rest the other


def test_strokes_are_white_and_only_added():
    black = torch.zeros(20, 1, 28, 28, dtype=torch.uint8)
    for name in ("dotted_line", "zigzag"):
        counts = [(corrupt(black, name, s) == 255).sum().item() for s in range(1, 6)]
        assert counts == sorted(counts) and counts[0] > 0, name
        assert set(corrupt(black, name, 5).unique().tolist()) <= {0, 255}
