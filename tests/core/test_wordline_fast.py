"""SpinDrop's two fast conv paths, the compiled kernel (spindrop/kernels/wordline.c) and the torch
path (row-flattened windows, float mask written by the comparison), against their plain reference
(:func:`spindrop.methods.sites.wordline_mac_reference`) and against the exact moments of the
gated MAC.

With all-ones weights and inputs, output y at a window counts the kept word lines that read the
input: y ~ Binomial(n_in, 1 − p_q), n_in = taps inside the image, p_q = round(p·2^8)/2^8 (the
mask precision, spindrop.methods.base.MASK_BITS). Mean and variance are checked to 4 sigma per
window (4.5 for the largest of all windows).
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from spindrop.binary import BinaryConv2d
from spindrop.kernels import wordline as wordline_kernel
from spindrop.methods.base import MASK_LEVELS, DropoutConfig
from spindrop.methods.sites import WordLineSite, wordline_mac_reference

P = 0.3
P_Q = round(P * MASK_LEVELS) / MASK_LEVELS
N = 4000  # images (independent passes)


@pytest.fixture(params=["kernel", "torch"])
def fast_path(request, monkeypatch):
    """Which fast path ``WordLineSite`` takes: the compiled kernel, or the torch path (the kernel
    reported unavailable, as on a machine without a C compiler)."""
    if request.param == "kernel" and not wordline_kernel.available():
        pytest.skip("no C compiler: the kernel is not built here")
    if request.param == "torch":
        monkeypatch.setattr(wordline_kernel, "supports", lambda x: False)
    return request.param


def _layer(c_in: int, c_out: int, k: int, pad: int, ones: bool = False, seed: int = 0) -> BinaryConv2d:
    layer = BinaryConv2d(c_in, c_out, k, padding=pad)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        w = torch.ones(c_out, c_in, k, k) if ones else torch.rand(c_out, c_in, k, k, generator=g) - 0.5
        layer.weight.copy_(w)
    return layer


@pytest.mark.parametrize("k,pad,hw", [(3, 1, 9), (5, 0, 10), (5, 2, 7), (1, 0, 4), (3, 0, 3)])
def test_fast_path_without_drops_is_the_convolution(k, pad, hw, fast_path):
    layer = _layer(3, 5, k, pad, seed=k + pad)
    site = WordLineSite(DropoutConfig(p=0.0))
    site.mc = True
    x = torch.randn(4, 3, hw, hw).sign()
    with torch.no_grad():
        expect = F.conv2d(x, layer.binary_weight(), padding=pad)
        assert torch.equal(site(layer, x), expect)
        assert torch.equal(wordline_mac_reference(site, layer, x), expect)


def _taps_inside(hw: int, k: int, pad: int) -> torch.Tensor:
    """Taps per window that read the image (not padding), shape (H_out, W_out)."""
    pos = torch.arange(hw + 2 * pad - k + 1)
    per_axis = torch.stack([((pos - pad + t >= 0) & (pos - pad + t < hw)) for t in range(k)]).sum(0)
    return per_axis[:, None] * per_axis[None, :]


@pytest.mark.parametrize("path", ["fast", "reference"])
def test_gated_mac_mean_variance_and_fresh_bits_per_window(path, fast_path):
    c, k, pad, hw = 2, 3, 1, 6
    layer = _layer(c, 1, k, pad, ones=True)
    site = WordLineSite(DropoutConfig(p=P))
    site.mc = True
    x = torch.ones(N, c, hw, hw)
    torch.manual_seed(11)
    with torch.no_grad():
        y = (site(layer, x) if path == "fast" else wordline_mac_reference(site, layer, x))[:, 0]
    n_in = c * _taps_inside(hw, k, pad).double()
    mean, var = n_in * (1 - P_Q), n_in * P_Q * (1 - P_Q)
    # sample mean: sd sqrt(var/N); sample variance: sd ≈ sqrt((μ4 − σ⁴)/N), binomial μ4
    mu4 = n_in * P_Q * (1 - P_Q) * (1 + 3 * (n_in - 2) * P_Q * (1 - P_Q))
    z_mean = (y.double().mean(0) - mean) / (var / N).sqrt()
    z_var = (y.double().var(0) - var) / ((mu4 - var ** 2) / N).sqrt()
    # 36 windows: the largest of 36 |z| stays < 4.5 with probability > 0.999 (4 sigma each)
    assert z_mean.abs().max() < 4.5, z_mean
    assert z_var.abs().max() < 4.5, z_var
    # neighbouring windows read overlapping inputs but draw their own bits: uncorrelated
    a, b = y[:, 2, 2].double(), y[:, 2, 3].double()
    corr = ((a - a.mean()) * (b - b.mean())).mean() / (a.std() * b.std())
    assert abs(corr) < 4 / math.sqrt(N), corr


def test_fast_and_reference_agree_on_a_random_layer(fast_path):
    """Mean and variance of every output of a random ±1 layer (fast vs reference, 4 sigma on the
    difference of means; variances within 4 sigma of each other)."""
    layer = _layer(4, 3, 3, 1, seed=5)
    site = WordLineSite(DropoutConfig(p=P))
    site.mc = True
    x = torch.randn(1, 4, 5, 5).sign().expand(N, -1, -1, -1).contiguous()
    torch.manual_seed(12)
    with torch.no_grad():
        fast = site(layer, x).double()
        ref = wordline_mac_reference(site, layer, x).double()
    var = (fast.var(0) + ref.var(0)) / 2
    z = (fast.mean(0) - ref.mean(0)) / (2 * var / N).sqrt()
    assert z.abs().max() < 4.5, z  # 75 outputs: max of |z| stays < 4.5 with probability > 0.999
    ratio = fast.var(0) / ref.var(0)
    assert ((ratio - 1).abs() < 4 * math.sqrt(4 / N) + 0.02).all(), ratio


def test_fast_path_gradient_matches_reference_given_the_same_mask(fast_path):
    """Training: with p = 0 both paths are the convolution, so their gradients must agree."""
    layer = _layer(3, 4, 3, 1, seed=2)
    site = WordLineSite(DropoutConfig(p=0.0))
    site.train()
    x = torch.randn(2, 3, 6, 6, requires_grad=True)
    (site(layer, x) ** 2).sum().backward()
    g_fast, gw_fast = x.grad.clone(), layer.weight.grad.clone()
    x.grad = None
    layer.weight.grad = None
    (wordline_mac_reference(site, layer, x) ** 2).sum().backward()
    assert torch.allclose(g_fast, x.grad, atol=1e-3) and torch.allclose(gw_fast, layer.weight.grad, atol=1e-3)


def _replayed_sampler(seed: int):
    """A sampler that draws the same keep bits for the same shape every call (so both paths,
    which ask for the true windows (B, C_in, k_h, k_w, H_out, W_out), get one identical mask)."""
    def sample(shape, module_dims, p, device):
        return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) >= p
    return sample


@pytest.mark.parametrize(("k", "pad"), [(3, 1), (5, 2), (3, 0)])
def test_fast_path_output_and_gradients_equal_the_reference_under_the_same_mask(k, pad):
    """Training with p = 0.3: given one mask, the hand-written backward (batched GEMMs, slice-add
    col2im) must give the reference's output, input gradient and weight gradient."""
    layer = _layer(3, 4, k, pad, seed=3)
    site = WordLineSite(DropoutConfig(p=P))
    site.train()
    site.sampler = _replayed_sampler(7)
    x = torch.randn(3, 3, 7, 6, generator=torch.Generator().manual_seed(1)).requires_grad_()
    g = torch.randn_like(wordline_mac_reference(site, layer, x))
    results = []
    for path in (site, lambda layer, x: wordline_mac_reference(site, layer, x)):
        x.grad, layer.weight.grad = None, None
        y = path(layer, x)
        (y * g).sum().backward()
        results.append((y.detach(), x.grad.clone(), layer.weight.grad.clone()))
    (y_fast, gx_fast, gw_fast), (y_ref, gx_ref, gw_ref) = results
    assert (y_ref != layer.mac(x.detach())).any()  # the mask drops something
    assert torch.allclose(y_fast, y_ref, atol=1e-5)
    assert torch.allclose(gx_fast, gx_ref, atol=1e-5) and torch.allclose(gw_fast, gw_ref, atol=1e-5)
