"""SpinDrop's per-window masks need an explicit im2col: gate the strided-view implementation
against ``F.unfold`` + mask + matmul (the plain implementation it replaced)."""
import torch
import torch.nn.functional as F

from spindrop.binary import BinaryConv2d
from spindrop.methods.base import DropoutConfig, ideal_keep_mask
from spindrop.methods.sites import WordLineSite
from .conftest import ratio_gate


def _unfold_reference(layer: BinaryConv2d, x: torch.Tensor) -> torch.Tensor:
    cols = F.unfold(x, layer.kernel_size, layer.dilation, layer.padding, layer.stride)
    cols = cols * ideal_keep_mask(tuple(cols.shape), (1,), 0.2, x.device).to(x.dtype)
    out = layer.binary_weight().flatten(1) @ cols
    return out.view(x.shape[0], layer.out_channels, x.shape[2], x.shape[3])


def test_wordline_site_faster_than_unfold(benchmark):
    torch.manual_seed(0)
    layer = BinaryConv2d(16, 32, 3, padding=1)
    site = WordLineSite(DropoutConfig(p=0.2))
    x = torch.randn(64, 16, 32, 32).sign()
    with torch.no_grad():
        ratio_gate(benchmark, lambda: site(layer, x), lambda: _unfold_reference(layer, x), max_ratio=0.9)
