"""Binary multilayer perceptron."""
from __future__ import annotations

from torch import nn

from .layers import classifier, fc_bn
from .registry import register_model, scaled


@register_model("mlp", input_shape=(1, 28, 28))
def binary_mlp(in_shape: tuple[int, int, int], num_classes: int = 10, width: float = 1.0,
               hidden: int = 512, depth: int = 3) -> nn.Sequential:
    """Flatten → ``depth`` binary FC layers of ``hidden``·width units → classifier.

    The first FC layer sees the image (full-precision input); the others binarise theirs.
    """
    n_in = in_shape[0] * in_shape[1] * in_shape[2]
    h = scaled(hidden, width)
    layers: list[nn.Module] = [nn.Flatten(), *fc_bn(n_in, h, binary_input=False)]
    for _ in range(depth - 1):
        layers += fc_bn(h, h)
    layers += classifier(h, num_classes)
    return nn.Sequential(*layers)
