"""Datasets decoded from the real files under the data root; checksum and missing-file errors."""
import gzip
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from spindrop.data import (
    CIFAR10_CLASSES,
    DataError,
    channel_stats,
    checksums,
    dataset_info,
    datasets,
    list_datasets,
    load_split,
    load_tinyimagenet32,
    resolve_cache_dir,
    resolve_data_root,
    tinyimagenet_overlap,
    verify_dataset,
)
from spindrop.data import root as root_module
from spindrop.naming import UnknownNameError

# SOURCES.md (canonical MNIST label counts)
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _counts(split) -> list[int]:
    return torch.bincount(split.labels, minlength=len(split.classes)).tolist()


def _check_split(split, name: str, n: int) -> None:
    info = dataset_info(name)
    assert split.images.dtype == torch.uint8 and split.labels.dtype == torch.int64
    assert tuple(split.images.shape) == (n, *info.shape)
    assert split.labels.shape == (n,)
    assert len(split.classes) == info.num_classes


def test_registry():
    assert list_datasets() == ["animal_mnist", "cifar10", "fashion_mnist", "mnist", "tinyimagenet32"]
    assert dataset_info("cifar10").shape == (3, 32, 32)
    assert dataset_info("tinyimagenet32").splits == ("test",)
    with pytest.raises(UnknownNameError, match="unknown dataset"):
        dataset_info("svhn")
    with pytest.raises(ValueError, match="splits"):
        load_split("tinyimagenet32", "train")


def test_mnist(splits):
    train, test = splits("mnist", "train"), splits("mnist", "test")
    _check_split(train, "mnist", 60_000)
    _check_split(test, "mnist", 10_000)
    assert _counts(train) == MNIST_TRAIN_COUNTS
    assert _counts(test) == MNIST_TEST_COUNTS


def test_fashion_mnist(splits):
    train, test = splits("fashion_mnist", "train"), splits("fashion_mnist", "test")
    _check_split(train, "fashion_mnist", 60_000)
    _check_split(test, "fashion_mnist", 10_000)
    assert _counts(train) == [6000] * 10 and _counts(test) == [1000] * 10
    assert train.classes[0] == "T-shirt/top" and train.classes[9] == "Ankle boot"


def test_animal_mnist(splits):
    """SOURCES.md: 10,000 white silhouettes on black, 1,000 per class, pixel mean 0.2728; one split."""
    test = splits("animal_mnist", "test")
    _check_split(test, "animal_mnist", 10_000)
    assert _counts(test) == [1000] * 10 and test.classes[0] == "bear" and test.classes[9] == "zebra"
    assert test.images.double().mean().item() / 255 == pytest.approx(0.2728, abs=5e-4)
    assert dataset_info("animal_mnist").splits == ("test",)


def test_cifar10(splits):
    train, test = splits("cifar10", "train"), splits("cifar10", "test")
    _check_split(train, "cifar10", 50_000)
    _check_split(test, "cifar10", 10_000)
    assert _counts(train) == [5000] * 10 and _counts(test) == [1000] * 10
    assert train.classes == CIFAR10_CLASSES


def test_tinyimagenet32(data_root, splits):
    tin = splits("tinyimagenet32", "test")
    _check_split(tin, "tinyimagenet32", 10_000)
    assert _counts(tin) == [50] * 200
    overlap = tinyimagenet_overlap(data_root)
    assert len(overlap) == 24  # SOURCES.md: 24 of 200 classes show CIFAR-10 concepts
    assert {"cat", "dog", "frog", "bird"} <= set(overlap.values())
    far = load_tinyimagenet32(data_root, exclude_overlap=True)
    assert len(far) == 8_800 and len(far.classes) == 176
    assert not set(far.classes) & set(overlap)
    assert _counts(far) == [50] * 176
    # renumbered labels still point at the right images
    for k in (0, 175):
        original = tin.classes.index(far.classes[k])
        assert torch.equal(far.images[far.labels == k], tin.images[tin.labels == original])


@pytest.mark.parametrize("name, expected", [
    ("mnist", (0.1307,)),                 # SOURCES.md
    ("fashion_mnist", (0.2860,)),         # SOURCES.md
    ("cifar10", (0.4913, 0.4821, 0.4465)),  # SOURCES.md (JPEG copy)
])
def test_channel_means(data_root, name, expected):
    mean, std = channel_stats(name, data_root)
    assert mean == pytest.approx(expected, abs=1e-3)
    assert len(std) == len(expected) and all(0.2 < s < 0.4 for s in std)


def test_channel_stats_match_direct_computation(splits, data_root):
    x = splits("mnist", "train").images.numpy()
    mean, std = channel_stats("mnist", data_root)
    assert mean[0] == pytest.approx(x.mean(dtype=np.float64) / 255, abs=1e-12)
    assert std[0] == pytest.approx(x.std(dtype=np.float64) / 255, abs=1e-9)


def test_second_load_comes_from_cache(data_root, splits, monkeypatch):
    splits("cifar10", "test")
    info, _ = datasets._REGISTRY["cifar10"]

    def no_decode(paths, split):
        raise AssertionError("decoded again instead of reading the cache")
    monkeypatch.setitem(datasets._REGISTRY, "cifar10", (info, no_decode))
    again = load_split("cifar10", "test", data_root)
    assert torch.equal(again.images, splits("cifar10", "test").images)


def test_verify_dataset_on_real_files(data_root):
    for name in list_datasets():
        verify_dataset(name, data_root)


# --------------------------------------------------------------------------- fake data roots

@pytest.fixture
def fake_env(tmp_path, monkeypatch):
    """A fresh cache dir and data root under tmp_path, nothing shared with the real cache."""
    cache, root = tmp_path / "cache", tmp_path / "root"
    root.mkdir()
    monkeypatch.setenv("SPINDROP_CACHE", str(cache))
    monkeypatch.delenv("SPINDROP_DATA_ROOT", raising=False)
    checksums.clear_memo()
    yield root, cache
    checksums.clear_memo()


def _copy_mnist_test(real_root: Path, root: Path) -> list[str]:
    rels = list(dataset_info("mnist").sources["test"])
    for rel in rels:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(real_root / rel, root / rel)
    return rels


def test_checksum_mismatch(data_root, fake_env):
    root, cache = fake_env
    images_rel, labels_rel = _copy_mnist_test(data_root, root)
    real = checksums.read_sums(data_root)
    wrong = "0" * 64
    (root / "SHA256SUMS").write_text(f"{real[images_rel]}  {images_rel}\n{wrong}  {labels_rel}\n")
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    with pytest.raises(DataError) as err:
        load_split("mnist", "test", root)
    message = str(err.value)
    assert "\n" not in message
    assert str(root / labels_rel) in message
    assert "000000000000" in message and real[labels_rel][:12] in message
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before  # nothing written
    assert not (cache / "decoded").exists()


def test_missing_file(fake_env):
    root, _ = fake_env
    (root / "SHA256SUMS").write_text("")
    with pytest.raises(DataError) as err:
        load_split("mnist", "train", root)
    message = str(err.value)
    assert message.startswith(f"missing file {root / 'mnist/train-images-idx3-ubyte.gz'}: ")
    assert "SPINDROP_DATA_ROOT" in message and "\n" not in message
    assert list(root.iterdir()) == [root / "SHA256SUMS"]


def test_fake_root_decodes_into_tmp_cache_only(data_root, fake_env):
    root, cache = fake_env
    _copy_mnist_test(data_root, root)
    shutil.copyfile(data_root / "SHA256SUMS", root / "SHA256SUMS")
    split = load_split("mnist", "test", root)
    assert len(split) == 10_000
    assert resolve_cache_dir() == cache
    assert len(list((cache / "decoded").glob("mnist-test-*.pt"))) == 1
    assert {p.name for p in root.rglob("*") if p.is_file()} == {
        "SHA256SUMS", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}


def test_hash_memo_survives_a_new_process(data_root, fake_env, monkeypatch):
    root, _ = fake_env
    _, labels_rel = _copy_mnist_test(data_root, root)
    path = root / labels_rel
    calls = []
    real_hash = checksums.hash_file
    monkeypatch.setattr(checksums, "hash_file", lambda p: calls.append(p) or real_hash(p))
    digest = checksums.file_sha256(path)
    assert calls == [path.resolve()]
    checksums.file_sha256(path)
    assert len(calls) == 1                 # in-process memo
    checksums.clear_memo()                 # as if a new process started
    assert checksums.file_sha256(path) == digest
    assert len(calls) == 1                 # served from <cache>/sha256-memo.json
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    checksums.file_sha256(path)
    assert len(calls) == 2                 # mtime changed → hashed again


def test_unlisted_file_is_hashed_with_a_warning(data_root, fake_env, caplog):
    root, _ = fake_env
    _copy_mnist_test(data_root, root)
    with caplog.at_level(logging.WARNING, logger="spindrop.data.checksums"):
        assert len(load_split("mnist", "test", root)) == 10_000
    assert "not listed" in caplog.text


def test_corrupt_idx_header(fake_env):
    root, _ = fake_env
    rels = dataset_info("mnist").sources["test"]
    (root / "mnist").mkdir()
    for rel in rels:
        with gzip.open(root / rel, "wb") as fh:
            fh.write(b"\x00\x00\x0d\x03" + bytes(16))
    with pytest.raises(DataError, match="not an unsigned-byte IDX file"):
        load_split("mnist", "test", root)


def test_resolve_data_root(tmp_path, monkeypatch):
    monkeypatch.setenv("SPINDROP_DATA_ROOT", str(tmp_path))
    assert resolve_data_root() == tmp_path.resolve()
    other = tmp_path / "other"
    other.mkdir()
    assert resolve_data_root(other) == other.resolve()
    with pytest.raises(DataError, match="SPINDROP_DATA_ROOT"):
        resolve_data_root(tmp_path / "absent")
    monkeypatch.delenv("SPINDROP_DATA_ROOT")
    project = tmp_path / "project"
    (tmp_path / "shared" / "datasets").mkdir(parents=True)
    monkeypatch.setattr(root_module, "PROJECT_ROOT", project)
    assert resolve_data_root() == (tmp_path / "shared" / "datasets").resolve()


def test_project_root_is_parent_of_package():
    assert root_module.PROJECT_ROOT == Path(datasets.__file__).resolve().parents[2]


def test_resolve_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SPINDROP_CACHE", str(tmp_path / "c"))
    assert resolve_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("SPINDROP_CACHE")
    assert resolve_cache_dir() == Path.home() / ".cache" / "spindrop-bench"
