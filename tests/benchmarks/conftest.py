"""Performance gates: each benchmark times a candidate and its baseline in the same run and
asserts on the ratio (absolute timings depend on the machine). Run with
``make bench`` (= ``pytest tests/benchmarks --benchmark-enable --benchmark-only``); in the
default test run the bodies execute once, on small sizes, as smoke tests and the gates are
skipped. Every gate's times and ratio are printed in the terminal summary (docs/performance.md).
"""
from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import torch

RESULTS: list[str] = []


@pytest.fixture(autouse=True)
def _threads():
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(old)


def full_size(benchmark) -> bool:
    """True when the gates are checked (``--benchmark-enable``): use the issue's sizes; else
    the smoke run uses small ones."""
    return not benchmark.disabled


def ratio_gate(benchmark, candidate: Callable[[], object],
               baseline: Callable[[], object] | dict[str, Callable[[], object]], max_ratio: float,
               rounds: int = 5) -> None:
    """Time ``candidate`` with pytest-benchmark and the baseline(s) in the same process, one round
    of every baseline before each round of the candidate (interleaved, so a change of the
    machine's load during the gate affects both alike), min over ``rounds`` after one warm-up
    round; with several named baselines the fastest counts. Assert min(candidate)/min(baseline)
    <= ``max_ratio`` and record both times and the ratio."""
    baselines = baseline if isinstance(baseline, dict) else {"baseline": baseline}
    samples: dict[str, list[float]] = {name: [] for name in baselines}

    def baseline_round() -> None:
        for name, fn in baselines.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)

    benchmark.pedantic(candidate, setup=baseline_round, rounds=rounds, iterations=1, warmup_rounds=1)
    if benchmark.disabled:
        pytest.skip("benchmarks disabled: ratio gate not checked (run `make bench`)")
    times = {name: min(s[1:]) for name, s in samples.items()}  # s[0]: the warm-up round
    best = min(times, key=times.get)
    ours = benchmark.stats.stats.min
    ratio = ours / times[best]
    benchmark.extra_info.update({"ratio_to_baseline": ratio, "baseline": best,
                                 **{f"baseline_{k}_s": v for k, v in times.items()}})
    others = ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in times.items())
    RESULTS.append(f"{benchmark.name}: candidate {ours * 1e3:.1f} ms; {others}; "
                   f"ratio {ratio:.3f} (gate <= {max_ratio})")
    assert ratio <= max_ratio, f"candidate is {ratio:.2f}× its baseline '{best}' (gate {max_ratio}×)"


def pytest_terminal_summary(terminalreporter):
    if RESULTS:
        terminalreporter.section("ratio gates (min of rounds)")
        for line in RESULTS:
            terminalreporter.write_line(line)
