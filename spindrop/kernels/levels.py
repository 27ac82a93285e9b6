"""Uniform random 64-bit words from a compiled counter-based generator (``levels.c``).

Word q of a call is SplitMix64's mix64(seed + (q + 1)·γ) (Steele, Lea & Flood, OOPSLA 2014, the
generator of ``wordline.c``), with ``seed`` drawn from torch's default generator, so
``torch.manual_seed`` and ``mc_predict(seed=…)`` reproduce them. Filled in parallel and
vectorised: the keep bytes of every dropout site (:func:`spindrop.methods.base.uniform_levels`)
cost a fraction of torch's ``random_`` (mt19937, one word after another), which bounded the
bit-packed MC inference (docs/performance.md "The bit-packed inference path"). The words differ
from ``random_``'s (the same distribution), so which generator ran is a backend of the code
fingerprint (:func:`spindrop.kernels.backends`).
"""
from __future__ import annotations

import ctypes
from functools import cache
from pathlib import Path

import torch
from torch import Tensor

from .build import load

_SOURCE = Path(__file__).with_name("levels.c")
PARALLEL_WORDS = 1 << 16
"""Fewer words than this are filled by one thread (a parallel region costs more than they do)."""


@cache
def _library() -> ctypes.CDLL | None:
    lib = load(_SOURCE)
    if lib is not None:
        lib.lv_fill.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_uint64, ctypes.c_int]
    return lib


def available() -> bool:
    """Whether the compiled generator can be used (built here, and not turned off)."""
    return _library() is not None


def random_words(n: int) -> Tensor:
    """``n`` uniform int64 words (CPU), seeded by one draw from torch's default generator."""
    lib = _library()
    if lib is None:
        raise RuntimeError("the compiled generator is not available here: check kernels.levels.available first")
    seed = int(torch.empty((), dtype=torch.int64).random_())
    out = torch.empty(n, dtype=torch.int64)
    lib.lv_fill(out.data_ptr(), n, seed, torch.get_num_threads() if n >= PARALLEL_WORDS else 1)
    return out
