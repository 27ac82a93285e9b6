"""A model registered by the tests only (like a user's model in their own package): the model tests
are parametrised over ``spindrop.list_models()``, so it is exercised with no test code of its own."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn

from spindrop.models.layers import classifier, conv_bn, fc_bn, flat_size
from spindrop.models.registry import MODELS, register_model, scaled

EXAMPLE_MODEL = "example_tiny_cnn"


def example_tiny_cnn(in_shape: tuple[int, int, int], num_classes: int = 10, width: float = 1.0) -> nn.Sequential:
    """Example test-only model: conv(16, 3×3)-pool-conv(32, 3×3)-FC(64)-FC(classes), channels × width."""
    a, b, f = (scaled(n, width) for n in (16, 32, 64))
    features = nn.Sequential(*conv_bn(in_shape[0], a, 3, 1, binary_input=False, pool=True),
                             *conv_bn(a, b, 3, 1), nn.Flatten())
    n = flat_size(features, in_shape)
    return nn.Sequential(*features, *fc_bn(n, f), *classifier(f, num_classes))


@contextmanager
def example_model() -> Iterator[None]:
    """Register the example model for the duration of the block."""
    register_model(EXAMPLE_MODEL, input_shape=(1, 12, 12), test_shape=(1, 6, 6))(example_tiny_cnn)
    try:
        yield
    finally:
        MODELS.pop(EXAMPLE_MODEL, None)
