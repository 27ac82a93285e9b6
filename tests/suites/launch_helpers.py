"""Functions that the launcher tests run as units in submitit's processes (imported there by
name, so they live in a module of their own; the tests put this folder on ``PYTHONPATH``)."""
from __future__ import annotations

import time


def timed_sleep(seconds: float) -> tuple[float, float]:
    """Sleep; return (start, end) wall-clock times."""
    start = time.time()
    time.sleep(seconds)
    return start, time.time()


def fail(message: str) -> None:
    raise ValueError(message)
