"""Where the data lives (read-only) and where decoded copies are cached.

Order of precedence for the data root: an explicit path (the CLI's ``--data-root``), the
environment variable ``SPINDROP_DATA_ROOT``, then ``<project root>/../shared/datasets``.
The data root is never written to; every derived file goes to the cache directory.
"""
from __future__ import annotations

import errno
import os
import tempfile
import threading
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


DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
"""errno values of a write refused for want of space (device full, quota exceeded)."""


class DiskFullError(OSError):
    """A write refused for want of space: an environment fault, not a failure of what was computed."""

    def __init__(self, path: Path | str) -> None:
        super().__init__(errno.ENOSPC, f"no space left on device while writing {path}: free space and rerun",
                         str(path))

    def __str__(self) -> str:
        return str(self.strerror)


def disk_full(exc: BaseException) -> DiskFullError | None:
    """``exc`` (or an exception it was raised from or during) as a :class:`DiskFullError` when it is a
    write refused for want of space, naming the file it names; else None."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, DiskFullError):
            return cause
        if isinstance(cause, OSError) and cause.errno in DISK_FULL:
            return DiskFullError(cause.filename or "the output folder")
        cause = cause.__cause__ or cause.__context__
    return None


_umask_lock = threading.Lock()


def current_umask() -> int:
    """The process's umask, read without changing it where Linux reports it (``/proc/self/status``),
    else set and restored at once under a lock (``os.umask`` can only be read by setting it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write ``path`` through a temporary file in the same folder and ``os.replace`` it into place.

    ``write`` fills the open file; its return value (e.g. a byte count) is ignored.
    Readers never see a half-written file; concurrent writers of the same content are harmless
    (the last replace wins). The file gets the mode any program's new file gets, 0666 less the
    umask (``mkstemp`` creates it 0600, which would hide a shared output folder from colleagues).
    A write refused for want of space raises :class:`DiskFullError` naming ``path``; the temporary
    file is removed and a previous ``path`` is left as it was.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise (DiskFullError(path) if exc.errno in DISK_FULL else exc) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o666 & ~current_umask())
            write(fh)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in DISK_FULL and not isinstance(exc, DiskFullError):
            raise DiskFullError(path) from exc
        raise
