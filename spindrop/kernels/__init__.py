"""Compiled CPU kernels (docs/performance.md "The SpinDrop kernel").

Each kernel is one C file beside this package, compiled on first use for this machine and cached
(:mod:`spindrop.kernels.build`); where it cannot be built, the pure-torch implementation is used.
"""
from __future__ import annotations

from pathlib import Path

from . import bitpack, levels, wordline


def backends() -> dict[str, str]:
    """The implementation each kernel's caller uses on this machine: ``"compiled"`` or ``"torch"``.

    Part of every code fingerprint (:func:`spindrop.fingerprint.code_fingerprint`): the two
    implementations draw different (identically distributed) random bits, so a checkpoint or
    result computed with one is not reused by the other.
    """
    return {"wordline": "compiled" if wordline.available() else "torch",
            "levels": "compiled" if levels.available() else "torch"}


def exact_sources() -> frozenset[Path]:
    """Sources of the kernels whose numbers equal the fp32 path's bit for bit (the bit-packed
    MAC: integer sums, tests/core/test_bitpack.py). They cannot change a result, so no code
    fingerprint contains them (:func:`spindrop.fingerprint.files_fingerprint`) and their backend
    is not in :func:`backends`: building them, or not, or editing them, makes no cell stale."""
    source = Path(bitpack.__file__).resolve()
    return frozenset({source, source.with_name("bitpack.c")})
