"""``traced_once``: inside it a model's geometry is traced by one forward pass, outside by one per call,
with the same result."""
from __future__ import annotations

from spindrop import build_model
from spindrop.geometry import trace_geometry, traced_once


def _count_forwards(model) -> list[int]:
    calls = [0]
    model.register_forward_pre_hook(lambda m, args: calls.__setitem__(0, calls[0] + 1))
    return calls


def test_inside_the_block_one_forward_per_model_and_shape():
    model = build_model("lenet5", (1, 28, 28), 10, 0.5)
    calls = _count_forwards(model)
    plain = trace_geometry(model, (1, 28, 28))
    trace_geometry(model, (1, 28, 28))
    assert calls[0] == 2
    with traced_once():
        first = trace_geometry(model, (1, 28, 28))
        again = trace_geometry(model, (1, 28, 28))
        with traced_once():  # nested: the same memo
            trace_geometry(model, (1, 28, 28))
        other = build_model("lenet5", (1, 28, 28), 10, 0.5)
        trace_geometry(other, (1, 28, 28))
    assert calls[0] == 3 and first == again == plain
    trace_geometry(model, (1, 28, 28))  # after the block: traced again
    assert calls[0] == 4
