"""Compile a C kernel on first use, cache the shared library, load it with ``ctypes``.

The library is built with the system C compiler (``$CC``, else ``cc``) for this machine
(``-O3 -march=native -fopenmp``; OpenMP is the same ``libgomp`` torch loads) and cached under
``<cache dir>/kernels/<key>/`` (``$SPINDROP_CACHE`` or ``~/.cache/spindrop-bench``, as for decoded
data). The key digests everything that changes the binary: the source, the flags, the compiler's
version and the CPU's instruction-set flags, so an edited source or another machine builds anew,
and a half-written library is never loaded (it is written under a temporary name and renamed).

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


def _build(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        done = subprocess.run([*_compiler(), *FLAGS, "-o", tmp, str(source)], capture_output=True,
                              text=True, timeout=300)
        if done.returncode != 0:
            raise OSError((done.stderr.strip().splitlines() or ["no output"])[0])
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@cache
def load(source: Path) -> ctypes.CDLL | None:
    """The compiled library of ``source`` (built on first use), or None where it cannot be built
    or ``SPINDROP_KERNELS=torch``."""
    if not enabled():
        return None
    try:
        target = resolve_cache_dir() / "kernels" / build_key(source) / f"{source.stem}.so"
        if target.exists():
            try:
                return ctypes.CDLL(str(target))
            except OSError:  # a corrupt cached library is a miss: build it again
                pass
        _build(source, target)
        return ctypes.CDLL(str(target))
    except (OSError, subprocess.SubprocessError) as exc:
        warnings.warn(f"the compiled kernel {source.name} is not available ({exc}); using the "
                      f"pure-torch path (slower). Install a C compiler with OpenMP (gcc) to build it.",
                      RuntimeWarning, stacklevel=2)
        return None
