"""SpinDrop's cost (goal 2 of issue 13, docs/performance.md): its fast conv path against the
plain reference, its MC inference against our MC-Dropout (≤ 2×), and its training steps against
the other methods' (≤ 1.5×)."""
import pytest
import torch
import torch.nn.functional as F

import spindrop
from spindrop.binary import BinaryConv2d, clip_latent_weights
from spindrop.kernels import wordline as wordline_kernel
from spindrop.methods.base import DropoutConfig
from spindrop.methods.sites import WordLineSite, wordline_mac_reference

from .conftest import full_size, ratio_gate
from .test_mc_bench import NETWORKS, _ours, _sizes


@pytest.mark.parametrize("path", ["kernel", "torch"])
def test_fast_wordline_site_faster_than_reference(benchmark, path, monkeypatch):
    """The compiled kernel, and the torch path (taken on the GPU, with a device model's sampler or
    without a C compiler), against the plain reference on one VGG-small ×1/8 conv layer."""
    if path == "kernel" and not wordline_kernel.available():
        pytest.skip("no C compiler: the kernel is not built here")
    if path == "torch":
        monkeypatch.setattr(wordline_kernel, "supports", lambda x: False)
    torch.manual_seed(0)
    layer = BinaryConv2d(16, 16, 3, padding=1)
    site = WordLineSite(DropoutConfig(p=0.2))
    site.mc = True
    x = torch.randn(128 if full_size(benchmark) else 4, 16, 32, 32).sign()
    with torch.no_grad():
        ratio_gate(benchmark, lambda: site(layer, x), lambda: wordline_mac_reference(site, layer, x),
                   max_ratio=0.6)


@pytest.mark.parametrize("net", list(NETWORKS))
def test_spindrop_mc_within_2x_mc_dropout(benchmark, net):
    batch, T = _sizes(benchmark)
    x = torch.randn(batch, *NETWORKS[net][1])
    ours, base = _ours(net, "spindrop"), _ours(net, "mc_dropout")
    ratio_gate(benchmark, lambda: spindrop.mc_predict(ours, x, T=T), lambda: spindrop.mc_predict(base, x, T=T),
               max_ratio=2.0, rounds=3)


def _train_steps(net: str, method: str, batch: int, steps: int):
    """``steps`` training steps (forward, cross-entropy, backward, Adam, latent-weight clipping)."""
    model = _ours(net, method).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, *NETWORKS[net][1], generator=g)
    y = torch.randint(0, 10, (batch,), generator=g)

    def run():
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()
            clip_latent_weights(model)
    return run


@pytest.mark.parametrize("net", ["lenet5_x2", "vgg_small_x1/8"])
def test_spindrop_training_within_1_5x(benchmark, net):
    batch, steps = (128, 5) if full_size(benchmark) else (8, 1)
    ratio_gate(benchmark, _train_steps(net, "spindrop", batch, steps),
               {m: _train_steps(net, m, batch, steps) for m in ("mc_dropout", "spatial")},
               max_ratio=1.5, rounds=3)
