"""Where the data lives (read-only) and where decoded copies are cached.

Order of precedence for the data root: an explicit path (the CLI's ``--data-root``), the
environment variable ``SPINDROP_DATA_ROOT``, then ``<project root>/../shared/datasets``.
The data root is never written to; every derived file goes to the cache directory.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .errors import DataError

DATA_ROOT_ENV = "SPINDROP_DATA_ROOT"
CACHE_ENV = "SPINDROP_CACHE"

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def resolve_data_root(path: str | os.PathLike[str] | None = None) -> Path:
    """The data root: ``path``, else ``$SPINDROP_DATA_ROOT``, else ``<project>/../shared/datasets``.

    Raises DataError when the chosen folder does not exist.
    """
    if path is not None:
        root, origin = Path(path), "the given path"
    elif os.environ.get(DATA_ROOT_ENV):
        root, origin = Path(os.environ[DATA_ROOT_ENV]), f"${DATA_ROOT_ENV}"
    else:
        root, origin = PROJECT_ROOT.parent / "shared" / "datasets", "the default"
    root = root.expanduser().resolve()
    if not root.is_dir():
        raise DataError(f"data root {root} ({origin}) is not a folder: pass --data-root or set "
                        f"{DATA_ROOT_ENV} to the folder holding mnist/, fashion-mnist/, "
                        "cifar10-jpeg.tar.gz and SHA256SUMS")
    return root


def resolve_cache_dir() -> Path:
    """The cache directory: ``$SPINDROP_CACHE``, else ``~/.cache/spindrop-bench`` (not created here)."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "spindrop-bench"


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write ``path`` through a temporary file in the same folder and ``os.replace`` it into place.

    ``write`` fills the open file; its return value (e.g. a byte count) is ignored.
    Readers never see a half-written file; concurrent writers of the same content are harmless
    (the last replace wins).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
