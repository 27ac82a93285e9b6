"""MC inference modes (DESIGN.md: on this 2-core CPU a loop of passes beat repeating the
batch). Gate: the default mode is not slower than the other one, and reusing the
deterministic prefix is not slower than recomputing it."""
import torch

import spindrop
from spindrop.mc import DEFAULT_MODE
from .conftest import ratio_gate

OTHER = {"loop": "batched", "batched": "loop"}[DEFAULT_MODE]


def _model():
    torch.manual_seed(0)
    model = spindrop.build_model("lenet5", (1, 28, 28), width=1.0)
    return spindrop.get_method("spatial").attach(model).eval()


def test_default_mode_not_slower(benchmark):
    model, x = _model(), torch.randn(256, 1, 28, 28)
    ratio_gate(benchmark, lambda: spindrop.mc_predict(model, x, T=20, mode=DEFAULT_MODE),
               lambda: spindrop.mc_predict(model, x, T=20, mode=OTHER), max_ratio=1.1)


def test_prefix_reuse_not_slower(benchmark):
    model, x = _model(), torch.randn(256, 1, 28, 28)
    ratio_gate(benchmark, lambda: spindrop.mc_predict(model, x, T=20, reuse_prefix=True),
               lambda: spindrop.mc_predict(model, x, T=20, reuse_prefix=False), max_ratio=1.0)
