"""The bit-packed inference path (spindrop/kernels/bitpack.c) equals the fp32 path exactly.

Kernel level: ``binary_mac`` against ``F.conv2d`` / ``F.linear`` of the gated ±1 input (padding,
strides, odd channel counts, K not a multiple of 64, every keep layout, ±0 and NaN inputs), with
the VPOPCNTDQ popcount and with the portable one forced. Model level: for every registered
method × model, logits and the MC predictive under one seed are identical with the kernel and
with it turned off (the fp32 path); without a compiler the fp32 path runs after one warning.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import spindrop
from spindrop.binary import BinaryLinear, binary_layers
from spindrop.kernels import bitpack, build, wordline
from spindrop.mc import mc_sampling

from .helpers import build as build_model
from .helpers import registered_models

pytestmark = pytest.mark.skipif(not bitpack.available(), reason="no C compiler: the bit-packed kernel is not built")


@pytest.fixture(params=["vector", "portable"])
def popcount(request):
    """Run a test with the AVX-512 popcount (where compiled in) and with the portable one forced."""
    bitpack.force_portable(request.param == "portable")
    assert bitpack.vector_popcount() is False or request.param == "vector"
    yield request.param
    bitpack.force_portable(False)


def _ternary(x: torch.Tensor, keep: torch.Tensor | None, threshold: int) -> torch.Tensor:
    """The fp32 path's gated input: spindrop.binary.sign(x) times the keep bits."""
    signs = (x >= 0).float() * 2 - 1
    return signs if keep is None else signs * (keep.view(torch.uint8) >= threshold).float()


CONVS = [  # (B, C, H, W, O, k, stride, padding)
    (2, 16, 8, 8, 16, 3, 1, 1),
    (3, 5, 7, 6, 9, 3, 1, 1),      # odd channels, K = 45
    (2, 67, 5, 5, 13, 3, 2, 1),    # kw·C = 201 bits per row segment, stride 2
    (2, 3, 9, 9, 10, 5, 1, 0),     # 5×5, no padding
    (4, 130, 6, 7, 17, 1, 2, 0),   # 1×1 stride-2 shortcut, C > 128
    (1, 64, 4, 4, 8, 3, 1, 2),     # padding wider than the kernel's reach
    (1, 70, 3, 131, 5, 3, 1, 1),   # rows of > 2·64 pixels and > 64 channels (packed in 64 × 64 blocks)
]


@pytest.mark.parametrize("geometry", CONVS, ids=lambda g: "x".join(map(str, g)))
@pytest.mark.parametrize("layout", ["all", "element", "channel", "bool"])
@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last], ids=["nchw", "nhwc"])
def test_conv_equals_fp32_conv_of_the_gated_input(geometry, layout, memory_format, popcount):
    b, c, h, w, o, k, stride, padding = geometry
    g = torch.Generator().manual_seed(sum(geometry))
    x = torch.randn(b, c, h, w, generator=g)
    x[0, 0, 0, :2] = torch.tensor([0.0, -0.0])  # sign(±0) = +1
    x[-1, -1, -1, -1] = float("nan")            # sign(NaN) = −1
    weight = torch.randn(o, c, k, k, generator=g)
    keep, threshold = {
        "all": (None, 1),
        "element": (torch.randint(0, 256, (b, c, h, w), generator=g, dtype=torch.uint8), 51),
        "channel": (torch.randint(0, 256, (b, c, 1, 1), generator=g, dtype=torch.uint8), 128),
        "bool": (torch.rand(b, c, h, w, generator=g) < 0.7, 1),
    }[layout]
    out = bitpack.binary_mac(x.contiguous(memory_format=memory_format), weight, keep, threshold,
                             (stride, stride), (padding, padding))
    expected = F.conv2d(_ternary(x, keep, threshold), (weight >= 0).float() * 2 - 1, None, stride, padding)
    assert out.shape == expected.shape and torch.equal(out, expected)


WORDLINE_CONVS = [  # (B, C, H, W, O, k, padding): stride 1, as SpinDrop's compiled kernel
    (2, 16, 11, 13, 16, 3, 1),     # 143 windows: two full tiles of 64 and a partial one
    (3, 5, 7, 6, 9, 3, 1),         # odd channels, K = 45
    (2, 67, 9, 9, 13, 3, 0),       # kw·C = 201 bits per row segment
    (2, 3, 9, 9, 10, 5, 2),        # 5×5
    (1, 130, 3, 5, 8, 1, 0),       # 1×1, C > 128
    (1, 64, 4, 4, 8, 3, 2),        # padding wider than the kernel's reach
]


def _fp32_wordline(x, weight, thresholds, seed, padding):
    """SpinDrop's conv on the fp32 path: the compiled kernel's own output and the plain im2col
    product with its mask (``wordline.keep_mask``); both must agree with each other."""
    kernel = weight.shape[2:]
    signs = (weight >= 0).float() * 2 - 1
    compiled = wordline.wordline_conv(_ternary(x, None, 1), signs.flatten(1), kernel, (padding, padding),
                                      thresholds, 1.0, seed)
    mask = wordline.keep_mask(tuple(x.shape), kernel, (padding, padding), thresholds, 1.0, seed)
    patches = F.unfold(_ternary(x, None, 1), kernel, padding=padding) * mask.flatten(1, 3).flatten(2)
    plain = (signs.flatten(1) @ patches).view(compiled.shape)
    assert torch.equal(compiled, plain)
    return compiled


@pytest.mark.skipif(not wordline.available(), reason="no C compiler: SpinDrop's compiled kernel is not built")
@pytest.mark.parametrize("geometry", WORDLINE_CONVS, ids=lambda g: "x".join(map(str, g)))
@pytest.mark.parametrize("rows", ["one", "per_word_line"])
@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last], ids=["nchw", "nhwc"])
def test_wordline_conv_equals_the_fp32_path_under_one_seed(geometry, rows, memory_format, popcount):
    """SpinDrop's packed conv draws the compiled kernel's bits (one per image, word line and
    window; thresholds per word line include 0 = always kept and 256 = stuck at drop)."""
    b, c, h, w, o, k, padding = geometry
    g = torch.Generator().manual_seed(sum(geometry))
    x, weight = torch.randn(b, c, h, w, generator=g), torch.randn(o, c, k, k, generator=g)
    x[0, 0, 0, :2] = torch.tensor([0.0, -0.0])
    thresholds = (torch.full((c * k * k,), 51, dtype=torch.int32) if rows == "one"
                  else torch.randint(0, 257, (c * k * k,), generator=g, dtype=torch.int32))
    if rows == "per_word_line":
        thresholds[:2] = torch.tensor([0, 256], dtype=torch.int32)
    seed = int(torch.randint(0, 2**62, (), generator=g))
    out = bitpack.wordline_mac(x.contiguous(memory_format=memory_format), weight, thresholds, seed,
                               (padding, padding))
    expected = _fp32_wordline(x, weight, thresholds, seed, padding)
    assert out.shape == expected.shape and torch.equal(out, expected)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last], ids=["nchw", "nhwc"])
def test_wordline_conv_binary_only_declines_real_inputs(layout, popcount):
    """Training's fp32 path multiplies real values; the packed kernel takes over only where the input
    is all ±1 (checked while packing) and otherwise writes nothing and returns None."""
    weight, thresholds = torch.randn(4, 3, 3, 3), torch.full((27,), 51, dtype=torch.int32)
    signs = torch.randn(2, 3, 5, 6).sign().contiguous(memory_format=layout)
    packed = bitpack.wordline_mac(signs, weight, thresholds, 9, (1, 1), binary_only=True)
    assert packed is not None and torch.equal(packed, bitpack.wordline_mac(signs, weight, thresholds, 9, (1, 1)))
    for value in (0.5, 0.0, float("nan")):
        real = signs.clone()
        real[1, 2, 4, 5] = value
        assert bitpack.wordline_mac(real, weight, thresholds, 9, (1, 1), binary_only=True) is None


def test_wordline_conv_draws_p_per_word_line():
    """With thresholds t per word line, the share of dropped inputs is t/256 (4 sigma)."""
    x, weight = torch.ones(8, 4, 16, 16), torch.ones(1, 4, 3, 3)
    thresholds = torch.tensor([0, 26, 128, 230] * 9, dtype=torch.int32)
    for r in range(4):  # one word line at a time: y = its kept inputs over the windows
        single = torch.zeros(4 * 9, dtype=torch.int32) + 256
        single[r * 9] = thresholds[r]  # word line (c = r, i = 0, j = 0)
        out = bitpack.wordline_mac(x, weight, single, 1234 + r, (0, 0))
        n, kept = out.numel(), out.sum().item()
        p = thresholds[r].item() / 256
        assert abs((n - kept) / n - p) <= 4 * (p * (1 - p) / n) ** 0.5 + 1e-12, (r, kept, n)


@pytest.mark.parametrize("rows", [1, 3])
@pytest.mark.parametrize("fc", [False, True])
def test_output_scale_is_the_fp32_product(rows, fc, popcount):
    """Scale-Dropout's factors (one per image and output channel, or one row for all images) are
    applied in the kernel's output: the same fp32 product as the fp32 path's ``mac · s``."""
    g = torch.Generator().manual_seed(rows)
    x = torch.randn(3, 19, generator=g) if fc else torch.randn(3, 19, 6, 5, generator=g)
    weight = torch.randn(11, 19, generator=g) if fc else torch.randn(11, 19, 3, 3, generator=g)
    scale = torch.rand(rows, 11, generator=g) * 3 - 1
    signs = (weight >= 0).float() * 2 - 1
    if fc:
        out = bitpack.binary_mac(x, weight, scale=scale)
        expected = F.linear(_ternary(x, None, 1), signs) * scale
    else:
        out = bitpack.binary_mac(x, weight, None, 1, (1, 1), (1, 1), scale)
        expected = F.conv2d(_ternary(x, None, 1), signs, None, 1, 1) * scale[:, :, None, None]
    assert torch.equal(out, expected)


@pytest.mark.parametrize("n", [1, 63, 64, 65, 1000])
def test_fully_connected_equals_fp32_linear(n, popcount):
    g = torch.Generator().manual_seed(n)
    x, weight = torch.randn(5, n, generator=g), torch.randn(11, n, generator=g)
    keep = torch.randint(0, 256, (5, n), generator=g, dtype=torch.uint8)
    out = bitpack.binary_mac(x, weight, keep, 51)
    assert torch.equal(out, F.linear(_ternary(x, keep, 51), (weight >= 0).float() * 2 - 1))


def test_thread_count_does_not_change_the_result():
    g = torch.Generator().manual_seed(3)
    x, weight = torch.randn(4, 20, 9, 9, generator=g), torch.randn(12, 20, 3, 3, generator=g)
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = bitpack.binary_mac(x, weight, None, 1, (1, 1), (1, 1))
        torch.set_num_threads(2)
        assert torch.equal(bitpack.binary_mac(x, weight, None, 1, (1, 1), (1, 1)), one)
    finally:
        torch.set_num_threads(old)


class _CountCalls:
    def __init__(self, monkeypatch):
        self.calls = 0
        inner = bitpack.binary_mac

        def counting(*args, **kwargs):
            self.calls += 1
            return inner(*args, **kwargs)
        monkeypatch.setattr(bitpack, "binary_mac", counting)


def _logits(model, x, seed, mc):
    torch.random.default_generator.manual_seed(seed)
    with torch.no_grad(), mc_sampling(model, mc):
        return model(x)


@pytest.mark.parametrize("model_name", registered_models())
@pytest.mark.parametrize("width", [0.125, 0.3])  # 0.3: odd channel counts (e.g. 5, 19, 38)
def test_model_logits_and_mc_predictive_equal_the_fp32_path(method_name, model_name, width, monkeypatch):
    model, method, shape = build_model(model_name, method_name, width=width)
    model.eval()
    x = torch.randn(6, *shape, generator=torch.Generator().manual_seed(1))
    counter = _CountCalls(monkeypatch)
    for mc in (True, False):
        packed = _logits(model, x, 5, mc)
        with bitpack.turned_off():
            reference = _logits(model, x, 5, mc)
        assert torch.equal(packed, reference), f"{method_name} on {model_name}: mc={mc}"
    packed_mc = spindrop.mc_predict(model, x, T=3, seed=7)
    with bitpack.turned_off():
        reference_mc = spindrop.mc_predict(model, x, T=3, seed=7)
    assert torch.equal(packed_mc.probs, reference_mc.probs)
    # SpinDrop's convs draw their bits per window in their own packed kernel (wordline_mac)
    packable = [layer for _, layer in binary_layers(model) if layer.binary_input
                and (method_name != "spindrop" or isinstance(layer, BinaryLinear))]
    if method_name in {"deterministic", "mc_dropout", "spatial", "scale", "spindrop"} and packable:
        assert counter.calls > 0, "the bit-packed path did not run"


def test_training_and_autograd_keep_the_fp32_path(monkeypatch):
    model, _, shape = build_model("vgg_small", "mc_dropout")
    counter = _CountCalls(monkeypatch)
    x = torch.randn(4, *shape)
    model.train()
    model(x).sum().backward()
    model.eval()
    model(x)  # eval with autograd on: fp32 (a caller may differentiate it)
    assert counter.calls == 0


@pytest.mark.skipif(not wordline.available(), reason="no C compiler: SpinDrop's compiled kernel is not built")
def test_spindrop_training_forward_is_bit_packed_with_the_same_numbers(monkeypatch):
    """A SpinDrop training step takes its conv outputs from the packed kernel (same bits, same
    integers) and its gradients from the compiled fp32 kernel: loss and every gradient are equal to
    the step with the packed kernel turned off."""
    model, _, shape = build_model("vgg_small", "spindrop", width=0.3)
    model.train()
    x = torch.randn(4, *shape, generator=torch.Generator().manual_seed(2))
    calls = []
    inner = bitpack.wordline_mac
    monkeypatch.setattr(bitpack, "wordline_mac", lambda *a, **k: calls.append(1) or inner(*a, **k))

    def step():
        model.zero_grad()
        torch.random.default_generator.manual_seed(3)
        loss = model(x).logsumexp(-1).sum()
        loss.backward()
        return loss.detach(), [q.grad.clone() for q in model.parameters() if q.grad is not None]

    loss, grads = step()
    assert calls, "the packed forward did not run"
    with bitpack.turned_off():
        reference_loss, reference_grads = step()
    assert torch.equal(loss, reference_loss)
    assert len(grads) == len(reference_grads) and all(map(torch.equal, grads, reference_grads))


def test_rescaled_dropout_keeps_the_fp32_path(monkeypatch):
    """Kept inputs × 1/(1 − p) are not ±1: that MAC is not an integer sum, so it is not packed."""
    model, _, shape = build_model("mlp", "mc_dropout", rescale=True)
    counter = _CountCalls(monkeypatch)
    spindrop.mc_predict(model, torch.randn(4, *shape), T=2, seed=0)
    sites_calls = counter.calls
    model2, _, _ = build_model("mlp", "deterministic")
    spindrop.mc_predict(model2, torch.randn(4, *shape), T=2, seed=0)
    assert sites_calls == 0 and counter.calls > 0


def test_without_a_compiler_the_fp32_path_runs_after_one_warning(monkeypatch, tmp_path):
    model, _, shape = build_model("lenet5", "mc_dropout")
    x = torch.randn(3, *shape)
    with bitpack.turned_off():
        expected = spindrop.mc_predict(model, x, T=2, seed=3).probs
    monkeypatch.setenv("CC", "false")
    monkeypatch.setenv("SPINDROP_CACHE", str(tmp_path))
    build.load.cache_clear()
    bitpack._library.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="bitpack.c is not available") as caught:
            assert torch.equal(spindrop.mc_predict(model, x, T=2, seed=3).probs, expected)
            assert torch.equal(spindrop.mc_predict(model, x, T=2, seed=3).probs, expected)
        assert len([w for w in caught if "bitpack" in str(w.message)]) == 1
    finally:
        build.load.cache_clear()
        bitpack._library.cache_clear()


def test_packed_weights_follow_in_place_updates_of_the_weight():
    """The kernel packs a weight once per version: an in-place update must be seen."""
    g = torch.Generator().manual_seed(4)
    x, weight = torch.randn(3, 6, 5, 5, generator=g), torch.randn(4, 6, 3, 3, generator=g)
    before = bitpack.binary_mac(x, weight, None, 1, (1, 1), (1, 1))
    weight.neg_()
    after = bitpack.binary_mac(x, weight, None, 1, (1, 1), (1, 1))
    assert torch.equal(after, F.conv2d((x >= 0).float() * 2 - 1, (weight >= 0).float() * 2 - 1, None, 1, 1))
    assert not torch.equal(after, before)
