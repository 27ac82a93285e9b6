"""Compiled CPU kernels (docs/performance.md "The SpinDrop kernel").

Each kernel is one C file beside this package, compiled on first use for this machine and cached
(:mod:`spindrop.kernels.build`); where it cannot be built, the pure-torch implementation is used.
"""
from __future__ import annotations

from . import wordline


def backends() -> dict[str, str]:
    """The implementation each kernel's caller uses on this machine: ``"compiled"`` or ``"torch"``.

    Part of every code fingerprint (:func:`spindrop.fingerprint.code_fingerprint`): the two
    implementations draw different (identically distributed) random bits, so a checkpoint or
    result computed with one is not reused by the other.
    """
    return {"wordline": "compiled" if wordline.available() else "torch"}
