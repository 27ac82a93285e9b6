"""Performance gates: each benchmark times a candidate and its baseline in the same run and
asserts on the ratio (absolute timings depend on the machine). Run with
``make bench`` (= ``pytest tests/benchmarks --benchmark-enable --benchmark-only``); in the
default test run the bodies execute once as smoke tests and the gates are skipped."""
from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _threads():
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(old)


def ratio_gate(benchmark, candidate, baseline, max_ratio: float, rounds: int = 5):
    """Time ``candidate`` with pytest-benchmark and ``baseline`` the same way (same process,
    min over ``rounds``); assert min(candidate)/min(baseline) <= ``max_ratio``."""
    import time
    benchmark.pedantic(candidate, rounds=rounds, iterations=1, warmup_rounds=1)
    if benchmark.disabled:
        baseline()
        pytest.skip("benchmarks disabled: ratio gate not checked (run `make bench`)")
    times = []
    baseline()
    for _ in range(rounds):
        start = time.perf_counter()
        baseline()
        times.append(time.perf_counter() - start)
    ratio = benchmark.stats.stats.min / min(times)
    benchmark.extra_info["ratio_to_baseline"] = ratio
    assert ratio <= max_ratio, f"candidate is {ratio:.2f}× its baseline (gate {max_ratio}×)"
