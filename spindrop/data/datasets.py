"""Dataset registry and decoders for the real files under the data root (see its SOURCES.md).

Every split is decoded once into uint8 tensors and cached as a torch ``.pt`` file in the cache
directory, keyed by the sha256 of its source files, so a changed source file is never served
from a stale cache. JPEG/PNG members are read from the tar archives in memory and decoded with
PIL; nothing is extracted to disk and nothing is written under the data root.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
import tarfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from ..naming import UnknownNameError
from .checksums import file_sha256, read_sums, verify_file
from .errors import DataError
from .root import atomic_write, resolve_cache_dir, resolve_data_root

log = logging.getLogger("spindrop.cache")
"""The cache's warnings (an unreadable entry is decoded again), shown on the runner's console."""

CACHE_VERSION = 1

MNIST_CLASSES = tuple(str(d) for d in range(10))
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                         "Sneaker", "Bag", "Ankle boot")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                   "truck")

_ROOT_HINT = "or pass --data-root / set SPINDROP_DATA_ROOT"


@dataclass(frozen=True, eq=False)
class TensorSplit:
    """One split held in memory: ``images`` uint8 (N, C, H, W), ``labels`` int64 (N,)."""

    images: Tensor
    labels: Tensor
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, index: Tensor) -> TensorSplit:
        """The samples at ``index`` (a LongTensor of positions), same classes."""
        return TensorSplit(self.images[index], self.labels[index], self.classes)


@dataclass(frozen=True)
class DatasetInfo:
    """Static description of a registered dataset.

    ``shape`` is (C, H, W); ``sources`` maps each split to its files relative to the data root;
    ``hint`` says how to provide a missing file (``{root}`` is filled in).
    """

    name: str
    shape: tuple[int, int, int]
    num_classes: int
    sources: Mapping[str, tuple[str, ...]]
    hint: str
    description: str

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(self.sources)


Decoder = Callable[[list[Path], str], dict[str, TensorSplit]]
_REGISTRY: dict[str, tuple[DatasetInfo, Decoder]] = {}


def register_dataset(name: str, *, shape: tuple[int, int, int], num_classes: int,
                     sources: Mapping[str, tuple[str, ...]], hint: str,
                     description: str) -> Callable[[Decoder], Decoder]:
    """Decorator: register ``decode(source paths, split) -> {split: TensorSplit}`` as ``name``.

    The decoder may also return other splits that share the same source files (both splits
    of one archive); each is cached.
    """
    def decorate(decode: Decoder) -> Decoder:
        if name in _REGISTRY:
            raise ValueError(f"dataset {name!r} is already registered")
        info = DatasetInfo(name, shape, num_classes, dict(sources), hint, description)
        _REGISTRY[name] = (info, decode)
        return decode
    return decorate


def list_datasets() -> list[str]:
    """Names of the registered datasets."""
    return sorted(_REGISTRY)


def dataset_info(name: str) -> DatasetInfo:
    """Shape (C, H, W), number of classes, splits and source files of a registered dataset."""
    try:
        return _REGISTRY[name][0]
    except KeyError:
        raise UnknownNameError("dataset", name, list_datasets()) from None


def _check_split(info: DatasetInfo, split: str) -> None:
    if split not in info.sources:
        raise ValueError(f"dataset {info.name!r} has splits {info.splits}, not {split!r}")


def source_key(name: str, split: str, root: str | Path | None = None) -> str:
    """Verify the split's source files and hash their sha256 digests into a 16-hex cache key."""
    info = dataset_info(name)
    _check_split(info, split)
    data_root = resolve_data_root(root)
    hint = info.hint.format(root=data_root) + " " + _ROOT_HINT
    lines = [f"{rel} {verify_file(data_root, rel, hint)}" for rel in info.sources[split]]
    lines.append(f"v{CACHE_VERSION}")
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def seeded_subset(n_total: int, n: int | None, seed: int) -> Tensor | None:
    """Indices of a seeded random subset of size ``n`` (None = everything, in order)."""
    if n is None or n >= n_total:
        return None
    g = torch.Generator().manual_seed(seed)
    return torch.randperm(n_total, generator=g)[:n]


def dataset_fingerprint(names: Iterable[str], root: str | Path | None = None) -> str:
    """16 hex digits identifying the files of the datasets ``names`` (every split): their lines in
    ``<root>/SHA256SUMS`` (no file is read), or their sha256 where SHA256SUMS does not list them.

    A replaced data file changes it, so results computed from the old file become stale.
    """
    data_root = resolve_data_root(root)
    sums = read_sums(data_root)
    entries = sorted({(rel, sums.get(rel) or file_sha256(data_root / rel))
                      for name in set(names) for files in dataset_info(name).sources.values() for rel in files})
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()[:16]


def verify_dataset(name: str, root: str | Path | None = None) -> None:
    """Check that every source file of every split exists and matches SHA256SUMS."""
    for split in dataset_info(name).splits:
        source_key(name, split, root)


def _decoded_path(name: str, split: str, key: str) -> Path:
    return resolve_cache_dir() / "decoded" / f"{name}-{split}-{key}.pt"


def _save_split(path: Path, split: TensorSplit) -> None:
    payload = {"images": split.images, "labels": split.labels, "classes": list(split.classes)}
    atomic_write(path, lambda fh: torch.save(payload, fh))


def _load_split(path: Path) -> TensorSplit:
    payload = torch.load(path, weights_only=True)
    return TensorSplit(payload["images"], payload["labels"], tuple(payload["classes"]))


def load_split(name: str, split: str, root: str | Path | None = None) -> TensorSplit:
    """Load ``split`` of dataset ``name``: from the cache, or decoded from the verified sources
    (every split the decoder yields is then cached)."""
    info = dataset_info(name)
    decode = _REGISTRY[name][1]
    key = source_key(name, split, root)
    path = _decoded_path(name, split, key)
    if path.is_file():
        try:
            return _load_split(path)
        except Exception as exc:  # a truncated or foreign entry is a miss: decoded again and replaced
            log.warning("decoded cache entry %s is unreadable (%s); decoding %s/%s again",
                        path, type(exc).__name__, name, split)
    data_root = resolve_data_root(root)
    decoded = decode([data_root / rel for rel in info.sources[split]], split)
    for produced, data in decoded.items():
        _save_split(_decoded_path(name, produced, key), data)
    return decoded[split]


# --------------------------------------------------------------------------- IDX (MNIST-like)

def read_idx(path: Path) -> np.ndarray:
    """Parse a gzipped IDX file (LeCun's MNIST format) of unsigned bytes.

    Header: two zero bytes, a type byte (0x08 = ubyte), the number of dimensions d, then d
    big-endian uint32 sizes; the data follow in C order.
    """
    try:
        with gzip.open(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as err:
        raise DataError(f"cannot read {path} as gzip ({err}): replace it with the canonical "
                        "IDX .gz file") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path} is not an unsigned-byte IDX file (bad magic {raw[:4].hex()}): "
                        "replace it with the canonical IDX .gz file")
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise DataError(f"{path} holds {data.size} bytes of data but its header says {dims}: "
                        "replace it with the canonical IDX .gz file")
    return data.reshape(dims)


def _idx_sources(folder: str) -> dict[str, tuple[str, ...]]:
    return {split: (f"{folder}/{prefix}-images-idx3-ubyte.gz", f"{folder}/{prefix}-labels-idx1-ubyte.gz")
            for split, prefix in (("train", "train"), ("test", "t10k"))}


def _decode_idx(paths: list[Path], split: str, classes: tuple[str, ...]) -> dict[str, TensorSplit]:
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"{paths[0]} and {paths[1]} do not pair up (shapes {images.shape}, "
                        f"{labels.shape}): replace them with the canonical IDX .gz files")
    return {split: TensorSplit(torch.from_numpy(images.copy()).unsqueeze(1),
                               torch.from_numpy(labels.astype(np.int64)), classes)}


@register_dataset("mnist", shape=(1, 28, 28), num_classes=10, sources=_idx_sources("mnist"),
                  hint="put the canonical MNIST IDX .gz files under {root}/mnist/",
                  description="MNIST (LeCun, Cortes, Burges), IDX files")
def _mnist(paths: list[Path], split: str) -> dict[str, TensorSplit]:
    return _decode_idx(paths, split, MNIST_CLASSES)


@register_dataset("fashion_mnist", shape=(1, 28, 28), num_classes=10,
                  sources=_idx_sources("fashion-mnist"),
                  hint="put the canonical Fashion-MNIST IDX .gz files under {root}/fashion-mnist/",
                  description="Fashion-MNIST (Xiao, Rasul, Vollgraf 2017), IDX files")
def _fashion_mnist(paths: list[Path], split: str) -> dict[str, TensorSplit]:
    return _decode_idx(paths, split, FASHION_MNIST_CLASSES)


ANIMAL_MNIST_CLASSES = ("bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep", "zebra")


@register_dataset("animal_mnist", shape=(1, 28, 28), num_classes=10,
                  sources={"test": ("animal-mnist/images-idx3-ubyte.gz", "animal-mnist/labels-idx1-ubyte.gz")},
                  hint="put the Animal-MNIST IDX .gz files (images-idx3-ubyte.gz, labels-idx1-ubyte.gz) under "
                       "{root}/animal-mnist/",
                  description="Animal-MNIST (animal silhouettes, 10 classes, MIT licence), IDX files; one split, "
                              "a real near-OOD set for MNIST and Fashion-MNIST")
def _animal_mnist(paths: list[Path], split: str) -> dict[str, TensorSplit]:
    return _decode_idx(paths, split, ANIMAL_MNIST_CLASSES)


# --------------------------------------------------------------------------- image tarballs

def _decode_image(data: bytes, where: str, size: tuple[int, int]) -> np.ndarray:
    """Decode one JPEG/PNG member to an (H, W, 3) uint8 RGB array of the expected size."""
    try:
        with Image.open(io.BytesIO(data), formats=("JPEG", "PNG")) as img:
            arr = np.asarray(img if img.mode == "RGB" else img.convert("RGB"))
    except OSError as err:
        raise DataError(f"cannot decode {where} ({err}): replace the archive with the canonical "
                        "one") from None
    if arr.shape[:2] != size:
        raise DataError(f"{where} is {arr.shape[1]}x{arr.shape[0]}, expected {size[1]}x{size[0]}: "
                        "replace the archive with the canonical one")
    return arr


def _stack(items: list[tuple[int, str, np.ndarray]], classes: tuple[str, ...]) -> TensorSplit:
    """Sort by (label, member name) and stack into a TensorSplit."""
    items.sort(key=lambda t: (t[0], t[1]))
    images = torch.from_numpy(np.stack([a for _, _, a in items])).permute(0, 3, 1, 2).contiguous()
    labels = torch.tensor([lab for lab, _, _ in items], dtype=torch.int64)
    return TensorSplit(images, labels, classes)


@register_dataset("cifar10", shape=(3, 32, 32), num_classes=10,
                  sources={"train": ("cifar10-jpeg.tar.gz",), "test": ("cifar10-jpeg.tar.gz",)},
                  hint="put cifar10-jpeg.tar.gz (train|test/<class>/*.jpg) into {root}",
                  description="CIFAR-10 (JPEG copy; Krizhevsky 2009)")
def _cifar10(paths: list[Path], split: str) -> dict[str, TensorSplit]:
    """Both splits of ``cifar10-jpeg.tar.gz``: members ``<split>/<class>/NNNN.jpg``."""
    index = {c: i for i, c in enumerate(CIFAR10_CLASSES)}
    items: dict[str, list[tuple[int, str, np.ndarray]]] = {"train": [], "test": []}
    with tarfile.open(paths[0], "r|gz") as tar:
        for member in tar:
            if not member.isfile():
                continue
            parts = member.name.split("/")
            if len(parts) != 3 or parts[0] not in items or parts[1] not in index:
                raise DataError(f"unexpected member {member.name} in {paths[0]}: expected "
                                "train|test/<cifar10 class>/<name>.jpg; replace the archive")
            data = _read_member(tar, member, paths[0])
            where = f"{paths[0]}:{member.name}"
            items[parts[0]].append((index[parts[1]], parts[2], _decode_image(data, where, (32, 32))))
    return {split: _stack(found, CIFAR10_CLASSES) for split, found in items.items()}


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo, archive: Path) -> bytes:
    """The bytes of ``member`` of the open ``tar`` (read from ``archive``)."""
    fh = tar.extractfile(member)
    if fh is None:
        raise DataError(f"member {member.name} of {archive} is not a regular file: replace the archive")
    return fh.read()


TINY_ARCHIVE = "tinyimagenet-val-32.tar.gz"
_TINY_DIR = "tinyimagenet-val-32"
_TINY_HINT = (f"put {TINY_ARCHIVE} ({_TINY_DIR}/classes.tsv, {_TINY_DIR}/val/<wnid>/*.png) "
              "into {root}")


def _parse_classes_tsv(text: str, where: str) -> dict[str, str]:
    """``{wnid: cifar10_overlap}`` from classes.tsv (columns wnid, words, cifar10_overlap)."""
    lines = text.splitlines()
    if not lines or lines[0].split("\t") != ["wnid", "words", "cifar10_overlap"]:
        raise DataError(f"{where} lacks the header 'wnid<TAB>words<TAB>cifar10_overlap': "
                        "replace the archive with the canonical one")
    overlap = {}
    for line in lines[1:]:
        cols = line.split("\t")
        if cols[0]:
            overlap[cols[0]] = cols[2].strip() if len(cols) > 2 else ""
    return overlap


@register_dataset("tinyimagenet32", shape=(3, 32, 32), num_classes=200,
                  sources={"test": (TINY_ARCHIVE,)}, hint=_TINY_HINT,
                  description="Tiny ImageNet validation set resized to 32x32 (OOD for CIFAR-10)")
def _tinyimagenet32(paths: list[Path], split: str) -> dict[str, TensorSplit]:
    """``tinyimagenet-val-32/val/<wnid>/NNNNN.png``; classes from classes.tsv, sorted by wnid."""
    index: dict[str, int] = {}
    items: list[tuple[int, str, np.ndarray]] = []
    with tarfile.open(paths[0], "r|gz") as tar:
        for member in tar:
            if not member.isfile():
                continue
            data = _read_member(tar, member, paths[0])
            where = f"{paths[0]}:{member.name}"
            if member.name == f"{_TINY_DIR}/classes.tsv":
                wnids = sorted(_parse_classes_tsv(data.decode(), where))
                index = {w: i for i, w in enumerate(wnids)}
                continue
            parts = member.name.split("/")
            if len(parts) != 4 or parts[1] != "val" or parts[2] not in index:
                raise DataError(f"unexpected member {member.name} in {paths[0]}: expected "
                                f"{_TINY_DIR}/classes.tsv first, then {_TINY_DIR}/val/<wnid>/"
                                "<name>.png; replace the archive")
            items.append((index[parts[2]], parts[3], _decode_image(data, where, (32, 32))))
    return {"test": _stack(items, tuple(index))}


def tinyimagenet_overlap(root: str | Path | None = None) -> dict[str, str]:
    """``{wnid: CIFAR-10 concept}`` for the Tiny ImageNet classes flagged in classes.tsv.

    Reads only the archive's first members (classes.tsv precedes the images).
    """
    source_key("tinyimagenet32", "test", root)
    path = resolve_data_root(root) / TINY_ARCHIVE
    with tarfile.open(path, "r|gz") as tar:
        for member in tar:
            if member.name == f"{_TINY_DIR}/classes.tsv":
                text = _read_member(tar, member, path).decode()
                return {w: c for w, c in _parse_classes_tsv(text, f"{path}:{member.name}").items()
                        if c}
    raise DataError(f"{path} has no {_TINY_DIR}/classes.tsv: replace the archive with the "
                    "canonical one")


def load_tinyimagenet32(root: str | Path | None = None, exclude_overlap: bool = False) -> TensorSplit:
    """Tiny ImageNet-32; with ``exclude_overlap`` the classes flagged as CIFAR-10 concepts
    (``cifar10_overlap`` column of classes.tsv) are dropped and labels renumbered."""
    split = load_split("tinyimagenet32", "test", root)
    if not exclude_overlap:
        return split
    overlap = tinyimagenet_overlap(root)
    kept = tuple(c for c in split.classes if c not in overlap)
    keep_mask = torch.tensor([c not in overlap for c in split.classes])
    new_label = torch.cumsum(keep_mask.long(), 0) - 1
    mask = keep_mask[split.labels]
    return TensorSplit(split.images[mask], new_label[split.labels[mask]], kept)


# --------------------------------------------------------------------------- channel statistics

def channel_stats(name: str, root: str | Path | None = None) -> tuple[tuple[float, ...],
                                                                          tuple[float, ...]]:
    """Per-channel (mean, std) of the TRAIN split's pixels scaled to [0, 1].

    Exact, from a 256-bin histogram per channel: mean = Σ_v v·n_v / (255·N),
    std = sqrt(Σ_v (v/255)²·n_v / N − mean²) (population std over all pixels).
    Cached as JSON in the cache dir, keyed like the decoded train split (source sha256).
    """
    if "train" not in dataset_info(name).splits:
        raise ValueError(f"dataset {name!r} has no train split to take channel statistics from")
    path = resolve_cache_dir() / "stats" / f"{name}-train-{source_key(name, 'train', root)}.json"
    if path.is_file():
        stats = json.loads(path.read_text())
        return tuple(stats["mean"]), tuple(stats["std"])
    train = load_split(name, "train", root)
    values = torch.arange(256, dtype=torch.float64) / 255.0
    means, stds = [], []
    for c in range(train.images.shape[1]):
        counts = torch.bincount(train.images[:, c].reshape(-1), minlength=256).double()
        total = counts.sum()
        mean = float((values * counts).sum() / total)
        var = float((values.square() * counts).sum() / total) - mean * mean
        means.append(mean)
        stds.append(max(var, 0.0) ** 0.5)
    payload = json.dumps({"mean": means, "std": stds}).encode()
    atomic_write(path, lambda fh: fh.write(payload))
    return tuple(means), tuple(stds)
