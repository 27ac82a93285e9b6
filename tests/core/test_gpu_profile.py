"""The ``gpu`` profile's declaration (issue 26) and the bf16 autocast it trains and predicts under,
on the CPU (autocast's rules are the same code on both devices)."""
import os

import pytest
import torch
import torch.nn.functional as F

from spindrop.data.shift import CORRUPTION_SETS, OOD_SETS
from spindrop.mc import mc_predict
from spindrop.models import build_model
from spindrop.registry import get_method, list_methods
from spindrop.store import Target
from spindrop.training import TrainPlan, get_profile
from spindrop.training.precision import AUTOCAST_DTYPES, autocast
from spindrop.training.profiles import PRECISIONS
from suites.workbench import Workbench

GPU = get_profile("gpu")


def test_gpu_profile_runs_cifar10_at_the_papers_scale():
    assert GPU.datasets == ("cifar10",) and set(GPU.train) == {"cifar10"}
    plan = GPU.plan("cifar10")
    assert (plan.model, plan.width) == ("vgg_small", 1.0)
    assert plan.augment and plan.train_subset is None and plan.precision == "bf16-mixed"
    assert plan.epochs >= 20
    # only SpinDrop trains shorter (the profile's comment says why), and it does train
    assert {m for m, _ in plan.method_epochs} <= {"spindrop"} and all(e >= 1 for _, e in plan.method_epochs)
    assert all(plan.epochs_for(m) == plan.epochs for m in list_methods() if m != "spindrop")


def test_gpu_profile_measures_every_set_with_t20_on_the_full_test_set():
    ev = GPU.evaluation("cifar10")
    assert GPU.eval.mc_samples == 20 and ev.mc_samples == 20
    assert ev.test_subset is None  # all 10,000 test images
    assert ev.ood_subset and ev.shift_subset and ev.severities  # every OOD set and corruption is measured
    assert OOD_SETS["cifar10"] and CORRUPTION_SETS["cifar10"]


def test_every_method_is_a_target_of_the_gpu_profile(tmp_path):
    from spindrop.data import DataError, resolve_data_root
    try:
        root = resolve_data_root()
    except DataError as err:
        pytest.skip(f"real data not available: {err}")
    bench = Workbench(GPU, tmp_path, root)
    for method in list_methods():
        spec = bench.spec(Target("cifar10", "vgg_small", 1.0, method, (), 0))
        assert spec.precision == "bf16-mixed" and spec.augment and spec.batch_size == 256
        assert spec.epochs == GPU.plan("cifar10").epochs_for(method)


def test_a_plan_names_a_known_precision_and_per_method_epochs():
    with pytest.raises(ValueError, match="precision"):
        TrainPlan("vgg_small", 1.0, epochs=1, precision="fp8")
    plan = TrainPlan("vgg_small", 1.0, epochs=5, method_epochs=(("spindrop", 2),))
    assert plan.epochs_for("spindrop") == 2 and plan.epochs_for("mc_dropout") == 5
    assert set(PRECISIONS) == set(AUTOCAST_DTYPES)


def test_autocast_of_a_precision():
    x = torch.randn(4, 8)
    w = torch.randn(8, 3)
    with autocast("32-true", torch.device("cpu")):
        assert (x @ w).dtype == torch.float32
    with autocast("bf16-mixed", torch.device("cpu")):
        assert (x @ w).dtype == torch.bfloat16
    with pytest.raises(ValueError, match="precision"):
        autocast("64-true", torch.device("cpu"))


@pytest.fixture
def torch_paths(monkeypatch):
    """SpinDrop on its torch fast path (the GPU's), not the CPU kernel."""
    from spindrop.kernels import wordline
    monkeypatch.setattr(wordline, "supports", lambda x: False)
    monkeypatch.setitem(os.environ, "SPINDROP_KERNELS", "torch")


@pytest.mark.parametrize("method", list_methods())
def test_every_method_trains_under_bf16_autocast(method, torch_paths):
    torch.manual_seed(0)
    model = get_method(method).attach(build_model("vgg_small", (3, 8, 8), 10, 0.0625))
    x, y = torch.randn(6, 3, 8, 8), torch.randint(0, 10, (6,))
    with autocast("bf16-mixed", torch.device("cpu")):
        loss = F.cross_entropy(model(x), y)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.dtype == p.dtype, name
        assert torch.isfinite(p.grad).all(), name


def test_spindrop_under_bf16_matches_fp32_on_the_same_masks(torch_paths):
    """Same seed, same keep bits: a SpinDrop layer's torch fast path under bf16 autocast gives the
    fp32 output exactly (integer sums of ±1 products below 2^8 are exact in bf16) and its gradients
    to bf16's precision."""
    from spindrop.binary import BinaryConv2d
    torch.manual_seed(1)
    layer = BinaryConv2d(16, 8, 3, padding=1)  # k²·C_in = 144 word lines: |sums| <= 144 < 2^8
    get_method("spindrop").attach(torch.nn.Sequential(BinaryConv2d(3, 16, 3, padding=1, binary_input=False), layer))
    x = torch.randn(4, 16, 8, 8)
    upstream = torch.randint(-2, 3, (4, 8, 8, 8)).float()

    def run(precision):
        xin = x.clone().requires_grad_(True)
        layer.zero_grad()
        torch.manual_seed(7)
        with autocast(precision, torch.device("cpu")):
            out = layer(xin)
        (out.float() * upstream).sum().backward()
        return out, xin.grad, layer.weight.grad.clone()

    out32, gx32, gw32 = run("32-true")
    out16, gx16, gw16 = run("bf16-mixed")
    assert out16.dtype == torch.bfloat16 and out32.dtype == torch.float32
    assert torch.equal(out16.float(), out32)
    assert gx16.dtype == torch.float32 and gw16.dtype == torch.float32
    assert torch.allclose(gx16, gx32, rtol=1e-2, atol=1e-2)
    assert torch.allclose(gw16, gw32, rtol=1e-2, atol=2.0)  # sums of 4·80 products: bf16 spacing <= 4


def test_mc_inference_under_bf16_autocast_returns_fp32_probabilities(torch_paths):
    model = get_method("spindrop").attach(build_model("vgg_small", (3, 8, 8), 10, 0.125)).eval()
    with autocast("bf16-mixed", torch.device("cpu")):
        out = mc_predict(model, torch.randn(4, 3, 8, 8), T=3, seed=0)
    assert out.probs.dtype == torch.float32 and torch.isfinite(out.probs).all()
    assert torch.allclose(out.probs.sum(-1), torch.ones(3, 4), atol=1e-3)
