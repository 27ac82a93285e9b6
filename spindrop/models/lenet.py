"""Binary LeNet-5 (LeCun et al., 1998)."""
from __future__ import annotations

from torch import nn

from .layers import classifier, conv_bn, fc_bn, flat_size
from .registry import register_model, scaled


@register_model("lenet5", input_shape=(1, 28, 28))
def binary_lenet5(in_shape: tuple[int, int, int], num_classes: int = 10,
                  width: float = 1.0, binary_classifier: bool = False) -> nn.Sequential:
    """6C5-MP-16C5-MP-FC120-FC84-FC(classes), channels × width.

    conv1 is padded by 2 on 28×28 inputs (the classic 32×32 receptive field). binary_classifier:
    the classifier binarises its input and takes a dropout site (:func:`.layers.classifier`).
    """
    c1, c2, f1, f2 = (scaled(n, width) for n in (6, 16, 120, 84))
    pad = 2 if in_shape[-1] == 28 else 0
    features = nn.Sequential(*conv_bn(in_shape[0], c1, 5, pad, binary_input=False, pool=True),
                             *conv_bn(c1, c2, 5, 0, pool=True), nn.Flatten())
    n = flat_size(features, in_shape)
    return nn.Sequential(*features, *fc_bn(n, f1), *fc_bn(f1, f2), *classifier(f2, num_classes, binary_classifier))


@register_model("lenet5_bc", input_shape=(1, 28, 28))
def binary_lenet5_bc(in_shape: tuple[int, int, int], num_classes: int = 10,
                     width: float = 1.0) -> nn.Sequential:
    """LeNet-5 with a BinaryNet last layer: the classifier binarises its input (a dropout site)."""
    return binary_lenet5(in_shape, num_classes, width, binary_classifier=True)
