"""Binary VGG-small, the BinaryNet CIFAR-10 network (Courbariaux et al., 2016)."""
from __future__ import annotations

from torch import nn

from .layers import classifier, conv_bn, fc_bn, flat_size
from .registry import register_model, scaled


@register_model("vgg_small", input_shape=(3, 32, 32), test_shape=(3, 8, 8))
def binary_vgg_small(in_shape: tuple[int, int, int], num_classes: int = 10,
                     width: float = 1.0, binary_classifier: bool = False) -> nn.Sequential:
    """2×128C3-MP-2×256C3-MP-2×512C3-MP-2×FC1024-FC(classes), channels × width.

    binary_classifier: the classifier binarises its input and takes a dropout site
    (:func:`.layers.classifier`).
    """
    a, b, c, f = (scaled(n, width) for n in (128, 256, 512, 1024))
    features = nn.Sequential(
        *conv_bn(in_shape[0], a, 3, 1, binary_input=False), *conv_bn(a, a, 3, 1, pool=True),
        *conv_bn(a, b, 3, 1), *conv_bn(b, b, 3, 1, pool=True),
        *conv_bn(b, c, 3, 1), *conv_bn(c, c, 3, 1, pool=True),
        nn.Flatten(),
    )
    n = flat_size(features, in_shape)
    return nn.Sequential(*features, *fc_bn(n, f), *fc_bn(f, f), *classifier(f, num_classes, binary_classifier))


@register_model("vgg_small_bc", input_shape=(3, 32, 32), test_shape=(3, 8, 8))
def binary_vgg_small_bc(in_shape: tuple[int, int, int], num_classes: int = 10,
                        width: float = 1.0) -> nn.Sequential:
    """VGG-small with a BinaryNet last layer: the classifier binarises its input (a dropout site)."""
    return binary_vgg_small(in_shape, num_classes, width, binary_classifier=True)
