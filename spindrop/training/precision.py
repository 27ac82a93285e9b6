"""The autocast of a training precision, for the passes Lightning does not drive (MC inference).

Lightning applies a plan's ``precision`` to training and validation; MC inference runs the same
network outside Lightning, under the same autocast, so a network trained in bf16 is measured as
it was trained (docs/gpu.md).
"""
from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import torch

AUTOCAST_DTYPES: dict[str, torch.dtype | None] = {"32-true": None, "bf16-mixed": torch.bfloat16}
"""Lightning precision → autocast dtype (None: no autocast, fp32 throughout)."""


def autocast(precision: str, device: torch.device) -> AbstractContextManager[object]:
    """``torch.autocast`` on ``device`` for ``precision`` (a no-op context for ``"32-true"``)."""
    try:
        dtype = AUTOCAST_DTYPES[precision]
    except KeyError:
        raise ValueError(f"precision {precision!r} is not one of {', '.join(AUTOCAST_DTYPES)}") from None
    return nullcontext() if dtype is None else torch.autocast(device.type, dtype=dtype)
