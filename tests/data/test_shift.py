"""OOD sets and corruptions built from the real test images."""
import math

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from spindrop.data import CORRUPTIONS, OOD_SETS, channel_stats, corrupt, list_corruptions, ood_sets, pad_to_rgb32
from spindrop.data.shift import FAR, NEAR, ood_group


def _rows(images: torch.Tensor) -> set[bytes]:
    return {img.numpy().tobytes() for img in images}


def test_mnist_ood_sets(data_root, splits):
    sets = ood_sets("mnist", data_root, n=200, seed=0)
    assert list(sets) == ["fashion_mnist", "animal_mnist", "gaussian_noise", "uniform_noise"]
    for images in sets.values():
        assert images.dtype == torch.uint8 and images.shape == (200, 1, 28, 28)
    assert _rows(sets["fashion_mnist"]) <= _rows(splits("fashion_mnist", "test").images)
    assert _rows(sets["animal_mnist"]) <= _rows(splits("animal_mnist", "test").images)
    again = ood_sets("mnist", data_root, n=200, seed=0)
    assert all(torch.equal(sets[k], again[k]) for k in sets)
    other = ood_sets("mnist", data_root, n=200, seed=1)
    assert not any(torch.equal(sets[k], other[k]) for k in sets)


def test_fashion_mnist_ood_sets(data_root):
    assert list(ood_sets("fashion_mnist", data_root, n=10)) == list(OOD_SETS["fashion_mnist"])


def test_cifar10_ood_sets_full_size(data_root, splits):
    sets = ood_sets("cifar10", data_root)
    sizes = {k: len(v) for k, v in sets.items()}
    assert sizes == {"tinyimagenet32": 10_000, "tinyimagenet32_far": 8_800, "mnist32": 10_000,
                     "fashion_mnist32": 10_000, "gaussian_noise": 10_000, "uniform_noise": 10_000}
    for images in sets.values():
        assert images.dtype == torch.uint8 and images.shape[1:] == (3, 32, 32)
    assert _rows(sets["tinyimagenet32_far"]) < _rows(splits("tinyimagenet32", "test").images)
    mnist32 = sets["mnist32"]
    assert mnist32[:, :, :2].eq(0).all() and mnist32[:, :, :, -2:].eq(0).all()
    assert torch.equal(mnist32[:, 0], mnist32[:, 2])
    assert _rows(mnist32) == _rows(pad_to_rgb32(splits("mnist", "test").images))


def test_noise_sets_follow_the_id_statistics(data_root):
    sets = ood_sets("cifar10", data_root, n=2000, seed=3)
    mean, std = channel_stats("cifar10", data_root)
    g = sets["gaussian_noise"].double() / 255
    # clamping to [0, 1] cuts about as much from each tail for these means (≈ 0.47, σ ≈ 0.25)
    assert g.mean((0, 2, 3)).tolist() == pytest.approx(mean, abs=0.01)
    assert g.std((0, 2, 3)).tolist() == pytest.approx(std, abs=0.02)
    u = sets["uniform_noise"]
    assert u.min() == 0 and u.max() == 255
    assert u.double().mean().item() == pytest.approx(127.5, abs=0.5)


@pytest.mark.parametrize("id_name", list(OOD_SETS))
def test_real_ood_sets_read_only_their_declared_dataset(id_name, data_root, monkeypatch):
    """``REAL_OOD_SETS`` is the one source of which dataset a set reads: building the sets reads
    exactly the declared datasets (besides the ID set's own statistics), and every real set is
    declared there."""
    from spindrop.data import datasets, shift
    read: set[str] = set()
    real_load = datasets.load_split

    def recording(name, split, root=None):
        read.add(name)
        return real_load(name, split, root)
    monkeypatch.setattr(shift, "load_split", recording)
    monkeypatch.setattr(datasets, "load_split", recording)
    noise = {"gaussian_noise", "uniform_noise"}
    assert set(OOD_SETS[id_name]) - noise <= set(shift.REAL_OOD_SETS)
    for name in set(OOD_SETS[id_name]) - noise:
        read.clear()
        shift.REAL_OOD_SETS[name].load(data_root)
        assert read == {shift.REAL_OOD_SETS[name].dataset}
    assert set(shift.ood_source_datasets(id_name)) == {
        shift.REAL_OOD_SETS[s].dataset for s in OOD_SETS[id_name] if s not in noise}


@pytest.mark.parametrize("id_name", list(OOD_SETS))
def test_every_ood_set_has_a_near_or_far_group(id_name):
    """Real datasets near, synthetic noise far (OpenOOD's split; MNIST is far from CIFAR-10 there);
    MNIST and Fashion-MNIST have two real near-OOD sets, so their near mean is over two."""
    groups = {s: ood_group(s) for s in OOD_SETS[id_name]}
    assert {s for s, g in groups.items() if g == FAR} >= {"gaussian_noise", "uniform_noise"}
    assert set(groups.values()) == {NEAR, FAR}
    if id_name in ("mnist", "fashion_mnist"):
        assert [s for s, g in groups.items() if g == NEAR] == [
            "fashion_mnist" if id_name == "mnist" else "mnist", "animal_mnist"]
    with pytest.raises(ValueError, match="unknown OOD set"):
        ood_group("svhn")


def test_ood_sets_unknown_dataset():
    with pytest.raises(ValueError, match="no OOD sets"):
        ood_sets("tinyimagenet32", n=1)


@pytest.fixture(scope="module")
def cifar_sample(splits) -> torch.Tensor:
    return splits("cifar10", "test").images[::50]   # 200 images, 20 per class


def test_list_corruptions():
    assert list_corruptions("cifar10") == ["gaussian_noise", "blur", "contrast", "rotation"]
    assert all(len(params) == 5 for params in CORRUPTIONS.values())


@pytest.mark.parametrize("name", ["gaussian_noise", "blur", "contrast", "rotation"])
def test_corruptions_are_deterministic_and_grow_with_severity(cifar_sample, name):
    distances = []
    for severity in range(1, 6):
        out = corrupt(cifar_sample, name, severity, seed=0)
        assert out.dtype == torch.uint8 and out.shape == cifar_sample.shape
        assert torch.equal(out, corrupt(cifar_sample, name, severity, seed=0))
        distances.append((out.double() - cifar_sample.double()).abs().mean().item())
    assert distances[0] > 0
    if name != "rotation":  # a larger angle need not move pixel values further (90° vs 60°)
        assert distances == sorted(distances)


def test_gaussian_noise_sigma_and_seed():
    grey = torch.full((100, 3, 32, 32), 128, dtype=torch.uint8)
    out = corrupt(grey, "gaussian_noise", 5, seed=0)
    # σ = 0.10 on [0, 1] → 25.5 grey levels, no clamping this far from 0 and 255
    assert (out.double() - 128).std().item() == pytest.approx(25.5, rel=0.02)
    assert not torch.equal(out, corrupt(grey, "gaussian_noise", 5, seed=1))


def test_blur_matches_scipy(cifar_sample):
    for severity, sigma in enumerate(CORRUPTIONS["blur"], 1):
        x = cifar_sample[:8].double().numpy() / 255
        radius = math.ceil(3 * sigma)
        want = gaussian_filter(x, sigma=(0, 0, sigma, sigma), mode="nearest",
                               radius=(0, 0, radius, radius))
        want = np.clip(np.round(want * 255), 0, 255)
        got = corrupt(cifar_sample[:8], "blur", severity).numpy().astype(float)
        assert np.abs(got - want).max() <= 1  # float32 vs float64 rounding at .5


def test_contrast_keeps_the_channel_means(cifar_sample):
    out = corrupt(cifar_sample, "contrast", 5).double()
    x = cifar_sample.double()
    # (x − m)·c + m keeps m; rounding moves it by at most ½ grey level
    assert (out.mean((2, 3)) - x.mean((2, 3))).abs().max().item() <= 0.5
    # deviations from m shrink by c = 0.15 (plus rounding noise)
    spread = (out - out.mean((2, 3), keepdim=True)).std() / (x - x.mean((2, 3), keepdim=True)).std()
    assert spread.item() == pytest.approx(0.15, abs=0.01)


def test_rotation_by_90_degrees_is_exact(splits):
    images = splits("mnist", "test").images[:50]
    assert CORRUPTIONS["rotation"][4] == 90.0
    # counter-clockwise as displayed: torch.rot90 from the row axis towards the column axis
    assert torch.equal(corrupt(images, "rotation", 5), torch.rot90(images, 1, (2, 3)))


def test_corrupt_rejects_bad_arguments(cifar_sample):
    with pytest.raises(ValueError, match="unknown corruption"):
        corrupt(cifar_sample, "fog", 1)
    with pytest.raises(ValueError, match="severity"):
        corrupt(cifar_sample, "blur", 6)
    with pytest.raises(ValueError, match="uint8"):
        corrupt(cifar_sample.float(), "blur", 1)
