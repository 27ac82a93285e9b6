"""Binary ResNet-18 with the CIFAR stem (He et al., 2016), Bi-Real-style shortcuts.

Every binary conv carries its own real-valued shortcut (Liu et al., "Bi-Real Net", ECCV
2018): y = BN(conv(sign(x))) + shortcut(x), which keeps the real-valued information flow a
binary ResNet needs. Down-sampling shortcuts are binary 1×1 convs with stride 2 (+ BN).
"""
from __future__ import annotations

from torch import Tensor, nn

from ..binary import BinaryConv2d
from .layers import classifier
from .registry import register_model, scaled


class BinaryBasicBlock(nn.Module):
    """Two 3×3 binary convs, each with a real-valued shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = BinaryConv2d(c_in, c_out, 3, stride=stride, padding=1)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(BinaryConv2d(c_in, c_out, 1, stride=stride), nn.BatchNorm2d(c_out))
        self.conv2 = BinaryConv2d(c_out, c_out, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn1(self.conv1(x)) + self.shortcut(x)
        return self.bn2(self.conv2(out)) + out


@register_model("resnet18", input_shape=(3, 32, 32), test_shape=(3, 8, 8))
def binary_resnet18(in_shape: tuple[int, int, int], num_classes: int = 10,
                    width: float = 1.0) -> nn.Sequential:
    """CIFAR stem (3×3 conv, no max-pool) → 4 stages × 2 blocks (64, 128, 256, 512)·width → pool → classifier."""
    widths = [scaled(n, width) for n in (64, 128, 256, 512)]
    stages: list[nn.Module] = [BinaryConv2d(in_shape[0], widths[0], 3, padding=1, binary_input=False),
                               nn.BatchNorm2d(widths[0])]
    c_in = widths[0]
    for i, c in enumerate(widths):
        for j in range(2):
            stages.append(BinaryBasicBlock(c_in, c, stride=2 if (i > 0 and j == 0) else 1))
            c_in = c
    stages += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), *classifier(c_in, num_classes)]
    return nn.Sequential(*stages)
