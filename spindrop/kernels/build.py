"""Compile a C kernel on first use, cache the shared library, load it with ``ctypes``.

The library is built with the system C compiler (``$CC``, else ``cc``) for this machine
(``-O3 -march=native -fopenmp``; OpenMP is the same ``libgomp`` torch loads) and cached under
``<cache dir>/kernels/<key>/`` (``$SPINDROP_CACHE`` or ``~/.cache/spindrop-bench``, as for decoded
data). The key digests everything that changes the binary: the source, the flags, the compiler's
version and the CPU's instruction-set flags, so an edited source or another machine builds anew,
and a half-written library is never loaded (it is written under a temporary name and renamed).
The build also records the library's sha256 in ``<name>.so.sha256`` (written after the library,
atomically); a cached library is loaded only when its digest matches, so a truncated or altered
file (which ``dlopen`` may map and then crash on with SIGBUS) is a cache miss and is built again.

``SPINDROP_KERNELS=torch`` turns the compiled kernels off (the pure-torch paths are used); a
kernel that cannot be built is reported once as a warning, and the torch path is used.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shlex
import subprocess
import tempfile
import warnings
from collections.abc import Callable
from functools import cache
from pathlib import Path

from ..data.root import resolve_cache_dir

FLAGS = ("-O3", "-march=native", "-fopenmp", "-shared", "-fPIC", "-std=c11")


def enabled() -> bool:
    """False when ``SPINDROP_KERNELS=torch`` asks for the pure-torch paths."""
    return os.environ.get("SPINDROP_KERNELS", "").strip().lower() != "torch"


def _cpu_flags() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    return next((line for line in text.splitlines() if line.startswith(("flags", "Features"))), "")


def _compiler() -> list[str]:
    return shlex.split(os.environ.get("CC", "cc"))


def build_key(source: Path) -> str:
    """Digest of what the library depends on: source, flags, compiler version, CPU flags."""
    version = subprocess.run([*_compiler(), "--version"], capture_output=True, text=True, timeout=30).stdout
    parts = (source.read_bytes(), " ".join(FLAGS).encode(), version.encode(), _cpu_flags().encode(),
             platform.machine().encode())
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:16]


def _checksum_path(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _intact(target: Path) -> bool:
    """Whether the cached library ``target`` is the one its build recorded (sha256 sidecar)."""
    try:
        return _checksum_path(target).read_text().strip() == _sha256(target)
    except OSError:  # no library, or no record of it (an interrupted build, an older cache)
        return False


def _replace_atomically(path: Path, write: Callable[[str], object]) -> None:
    """Run ``write(tmp)`` on a temporary file beside ``path`` and rename it into place."""
    fd, tmp = tempfile.mkstemp(suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _compile(source: Path, out: str) -> None:
    done = subprocess.run([*_compiler(), *FLAGS, "-o", out, str(source)], capture_output=True,
                          text=True, timeout=300)
    if done.returncode != 0:
        raise OSError((done.stderr.strip().splitlines() or ["no output"])[0])


def _build(source: Path, target: Path) -> None:
    """Compile ``source`` into ``target``, then record its sha256 beside it (both renamed into
    place, the record last, so a record always describes a complete library)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _replace_atomically(target, lambda tmp: _compile(source, tmp))
    digest = _sha256(target)
    _replace_atomically(_checksum_path(target), lambda tmp: Path(tmp).write_text(digest + "\n"))


@cache
def load(source: Path) -> ctypes.CDLL | None:
    """The compiled library of ``source`` (built on first use), or None where it cannot be built
    or ``SPINDROP_KERNELS=torch``."""
    if not enabled():
        return None
    try:
        target = resolve_cache_dir() / "kernels" / build_key(source) / f"{source.stem}.so"
        if _intact(target):
            try:
                return ctypes.CDLL(str(target))
            except OSError:  # a library that does not load here is a miss too: build it again
                pass
        _build(source, target)
        return ctypes.CDLL(str(target))
    except (OSError, subprocess.SubprocessError) as exc:
        warnings.warn(f"the compiled kernel {source.name} is not available ({exc}); using the "
                      f"pure-torch path (slower). Install a C compiler with OpenMP (gcc) to build it.",
                      RuntimeWarning, stacklevel=2)
        return None
