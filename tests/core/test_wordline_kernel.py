"""SpinDrop's compiled kernel (spindrop/kernels/wordline.c) against the plain reference
(:func:`spindrop.methods.sites.wordline_mac_reference`) under the kernel's own mask, and the
statistics of the keep bits its forward pass applies, read from its output
(docs/performance.md "The SpinDrop kernel")."""
from __future__ import annotations

import math

import pytest
import torch

from spindrop.binary import BinaryConv2d
from spindrop.kernels import wordline as kernel
from spindrop.methods.base import MASK_LEVELS, DropoutConfig, keep_threshold
from spindrop.methods.sites import WordLineSite, wordline_mac_reference

pytestmark = pytest.mark.skipif(not kernel.available(), reason="no C compiler: the kernel is not built here")

P = 0.3


def _layer(c_in: int, c_out: int, k: int, pad: int, seed: int) -> BinaryConv2d:
    layer = BinaryConv2d(c_in, c_out, k, padding=pad)
    with torch.no_grad():
        layer.weight.copy_(torch.rand(layer.weight.shape, generator=torch.Generator().manual_seed(seed)) - 0.5)
    return layer


def _site(rescale: bool, mask: torch.Tensor | None = None) -> WordLineSite:
    """A training-mode site; with ``mask`` its sampler returns those keep bits (the reference path)."""
    site = WordLineSite(DropoutConfig(p=P, rescale=rescale))
    site.train()
    if mask is not None:
        site.sampler = lambda shape, module_dims, p, device: (mask > 0).reshape(shape)
    return site


# (C_in, C_out, k, padding, H, W, batch): windows per image not a multiple of the 64-window tile,
# C_out not a multiple of the 8-row micro-kernel, k²·C_in not a multiple of 8, 1×1 and 5×5 kernels
GEOMETRIES = [(3, 5, 3, 1, 7, 9, 3), (2, 16, 5, 2, 6, 13, 2), (4, 3, 1, 0, 11, 10, 2), (5, 17, 3, 0, 12, 12, 1),
              (16, 8, 3, 1, 8, 8, 4)]


@pytest.mark.parametrize("rescale", [False, True])
@pytest.mark.parametrize(("c_in", "c_out", "k", "pad", "h", "w", "batch"), GEOMETRIES)
def test_kernel_output_and_gradients_equal_the_reference_under_its_mask(c_in, c_out, k, pad, h, w, batch, rescale):
    layer = _layer(c_in, c_out, k, pad, seed=c_in + k)
    x = torch.randn(batch, c_in, h, w, generator=torch.Generator().manual_seed(2)).requires_grad_()
    threshold, scale, seed = keep_threshold(P), 1 / (1 - P) if rescale else 1.0, 12345
    mask = kernel.keep_mask(tuple(x.shape), (k, k), (pad, pad), threshold, scale, seed)
    results = []
    for run in (lambda: kernel.wordline_conv(x, layer.binary_weight().flatten(1), (k, k), (pad, pad), threshold,
                                             scale, seed),
                lambda: wordline_mac_reference(_site(rescale, mask), layer, x)):
        x.grad, layer.weight.grad = None, None
        y = run()
        (y * torch.linspace(-1, 1, y.numel()).view_as(y)).sum().backward()
        results.append((y.detach(), x.grad.clone(), layer.weight.grad.clone()))
    (y_k, gx_k, gw_k), (y_r, gx_r, gw_r) = results
    assert (mask == 0).any() and (mask == scale).any() and ((mask == 0) | (mask == scale)).all()
    assert torch.allclose(y_k, y_r, atol=1e-4)
    assert torch.allclose(gx_k, gx_r, atol=1e-4)
    assert torch.allclose(gw_k, gw_r, atol=1e-4, rtol=1e-4)


def test_the_site_takes_the_kernel_and_torch_seeding_reproduces_it(monkeypatch):
    layer = _layer(3, 4, 3, 1, seed=1)
    site = WordLineSite(DropoutConfig(p=P))
    site.mc = True
    x = torch.randn(2, 3, 6, 6).sign()
    calls = []
    real = kernel.wordline_conv
    monkeypatch.setattr(kernel, "wordline_conv", lambda *a, **kw: calls.append(a) or real(*a, **kw))
    with torch.no_grad():
        torch.manual_seed(5)
        a = site(layer, x)
        torch.manual_seed(5)
        b = site(layer, x)
        c = site(layer, x)
    assert len(calls) == 3
    assert torch.equal(a, b) and not torch.equal(b, c)


def test_thread_count_does_not_change_the_result():
    layer = _layer(8, 6, 3, 1, seed=4)
    x = torch.randn(5, 8, 10, 10).requires_grad_()
    threads = torch.get_num_threads()
    out = []
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            x.grad, layer.weight.grad = None, None
            y = kernel.wordline_conv(x, layer.binary_weight().flatten(1), (3, 3), (1, 1), keep_threshold(P), 1.0, 9)
            y.sum().backward()
            out.append((y.detach(), x.grad.clone(), layer.weight.grad.clone()))
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(out[0][0], out[1][0]) and torch.equal(out[0][1], out[1][1])
    assert torch.allclose(out[0][2], out[1][2], atol=1e-5)  # the ∂W reduction order differs


def _realised_mask(shape: tuple[int, int, int, int], k: int, pad: int, thresholds: torch.Tensor | int,
                   seed: int) -> torch.Tensor:
    """The keep multipliers the kernel's forward pass applies to inputs of ``shape`` = (B, C, H, W)
    with ``pad`` and ``seed``, read from its output: the same padded geometry without padding, an
    all-ones input and the identity as W (one output per word line), so output (b, r, l) is the
    gate of word line r at window l of image b. Layout (B, C, k, k, H_out, W_out), as keep_mask's."""
    batch, channels, height, width = shape
    rows = channels * k * k
    ones = torch.ones(batch, channels, height + 2 * pad, width + 2 * pad)
    out = kernel.wordline_conv(ones, torch.eye(rows), (k, k), (0, 0), thresholds, 1.0, seed)
    return out.reshape(batch, channels, k, k, *out.shape[2:])


def test_keep_mask_is_the_mask_the_forward_pass_applies():
    args = ((3, 5, 9, 70), 3, 1)
    assert torch.equal(kernel.keep_mask(args[0], (3, 3), (1, 1), keep_threshold(P), 1.0, 8),
                       _realised_mask(*args, keep_threshold(P), 8))


def test_keep_bits_have_rate_one_minus_p_and_no_correlation_between_neighbours():
    """2.6 M bits, as the forward pass applies them: the keep rate is 1 − round(p·2^8)/2^8 to
    4 sigma, and neighbours along every axis (image, channel, tap, window row, window column) are
    uncorrelated to 4 sigma."""
    shape = (16, 8, 3, 3, 40, 50)
    mask = _realised_mask((16, 8, 40, 50), 3, 1, keep_threshold(P), 77).double()
    assert mask.shape == shape
    q = 1 - round(P * MASK_LEVELS) / MASK_LEVELS
    n = mask.numel()
    assert abs(mask.mean().item() - q) < 4 * math.sqrt(q * (1 - q) / n)
    centred = mask - q
    for dim in range(mask.dim()):
        a, b = centred.narrow(dim, 0, shape[dim] - 1), centred.narrow(dim, 1, shape[dim] - 1)
        corr = (a * b).mean().item() / (q * (1 - q))
        assert abs(corr) < 4 / math.sqrt(a.numel()), (dim, corr)


def test_seeds_give_different_bits_and_p_zero_keeps_everything():
    args = ((2, 3, 9, 9), 3, 1)
    a = _realised_mask(*args, keep_threshold(P), 1)
    b = _realised_mask(*args, keep_threshold(P), 2)
    assert not torch.equal(a, b)
    assert torch.equal(_realised_mask(*args, keep_threshold(P), 1), a)
    assert (_realised_mask(*args, keep_threshold(0.0), 1) == 1).all()


def test_per_word_line_thresholds_set_each_word_line_keep_rate():
    """Thresholds 0 (always kept) … 2^8 (stuck at drop): word line k keeps 1 − t_k/2^8 of its
    draws, to 4 sigma over 16 images × 1,600 windows."""
    thresholds = torch.tensor([0, 1, 64, 128, 200, 255, 256, 51, 0], dtype=torch.int32)
    mask = _realised_mask((16, 1, 40, 40), 3, 1, thresholds, 3).double()
    rates = mask.mean(dim=(0, 1, 4, 5)).reshape(-1)
    q = 1 - thresholds.double() / MASK_LEVELS
    n = mask[:, :, 0, 0].numel()
    assert (mask[:, 0, 0, 0] == 1).all() and (mask[:, 0, 2, 0] == 0).all()  # t = 0 and t = 2^8: exact
    assert ((rates - q).abs() <= 4 * (q * (1 - q) / n).sqrt() + 1e-12).all(), (rates, q)


class _ThresholdSampler:
    """A sampler with fixed per-module thresholds, the protocol of the device model's sampler."""

    def __init__(self, thresholds: torch.Tensor) -> None:
        self.thresholds = thresholds

    def module_thresholds(self, module_shape, p, device):
        assert tuple(module_shape) == tuple(self.thresholds.shape)
        return self.thresholds

    def __call__(self, shape, module_dims, p, device):
        raise AssertionError("the kernel path draws the bits itself")


def test_a_sampler_with_module_thresholds_takes_the_kernel_and_equals_the_reference():
    layer = _layer(3, 4, 3, 1, seed=6)
    thresholds = torch.randint(0, MASK_LEVELS + 1, (3, 3, 3), generator=torch.Generator().manual_seed(1))
    site = WordLineSite(DropoutConfig(p=P))
    site.mc = True
    site.sampler = _ThresholdSampler(thresholds)
    x = torch.randn(2, 3, 7, 8).sign()
    torch.manual_seed(4)
    seed = kernel.draw_seed()
    mask = kernel.keep_mask(tuple(x.shape), (3, 3), (1, 1), thresholds, 1.0, seed)
    reference = WordLineSite(DropoutConfig(p=P))
    reference.mc = True
    reference.sampler = lambda shape, module_dims, p, device: (mask > 0).reshape(shape)
    with torch.no_grad():
        torch.manual_seed(4)
        assert torch.allclose(site(layer, x), wordline_mac_reference(reference, layer, x), atol=1e-5)
