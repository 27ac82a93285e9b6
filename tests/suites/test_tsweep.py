"""The T sweep on smoke networks: its values at the run's T are the accuracy, calibration and OOD
suites' (same networks, seeds and masks; intervals too), whether the sweep reuses their passes
(T_max = T) or runs its own longer sequence (T_max > T: the run's T is a prefix of it); the
modelled energy grows by the same amount per added pass."""
from __future__ import annotations

import pytest

from spindrop.store import Target
from spindrop.training import get_profile
from suites import get_suite
from suites.tsweep import key, near_ood

from .test_suite_contract import UntrainedWorkbench

SUITE_OF = {"test/acc": "accuracy", "test/nll": "accuracy", "test/cal/ECE": "calibration"}


def _bench(tmp_path, data_root, T: int) -> UntrainedWorkbench:
    return UntrainedWorkbench(get_profile("smoke"), tmp_path, data_root, mc_samples=T)


def _target(bench, method: str) -> Target:
    plan = bench.profile.plan("mnist")
    return Target("mnist", plan.model, plan.width, method, (("p", 0.2),) if method != "deterministic" else (), 0)


@pytest.mark.parametrize("T", [4, 2])  # smoke's mc_sweep is (1, 2, 4): T = T_max, and T a prefix of T_max
@pytest.mark.parametrize("method", ["mc_dropout", "spindrop", "deterministic"])
def test_sweep_at_the_runs_T_equals_the_other_suites(tmp_path, data_root, method, T):
    bench = _bench(tmp_path, data_root, T)
    target = _target(bench, method)
    sweep = get_suite("tsweep").run(bench, target)
    others = {name: get_suite(name).run(bench, target) for name in ("accuracy", "calibration", "ood")}
    pairs = {**SUITE_OF, **{f"ood/{ood_set}/{s}/AUROC": "ood" for s in ("entropy", "mutual_info")
                            for ood_set in near_ood("mnist")}}
    for metric, suite in pairs.items():
        theirs = others[suite]
        assert sweep.metrics[key(T, metric)] == theirs.metrics[metric], (metric, suite)
        if theirs.metrics[metric] is not None:
            assert sweep.intervals()[key(T, metric)] == pytest.approx(theirs.intervals()[metric], abs=1e-6), metric
    assert set(sweep.metrics) >= {key(t, "test/acc") for t in (1, 2, 4)}


def test_mutual_information_of_one_pass_is_not_applicable(tmp_path, data_root):
    bench = _bench(tmp_path, data_root, 4)
    metrics = get_suite("tsweep").run(bench, _target(bench, "mc_dropout")).metrics
    assert near_ood("mnist") == ("fashion_mnist", "animal_mnist")  # the real sets; the noise sets are far
    for ood_set in near_ood("mnist"):
        assert metrics[key(1, f"ood/{ood_set}/mutual_info/AUROC")] is None
        assert metrics[key(2, f"ood/{ood_set}/mutual_info/AUROC")] is not None


@pytest.mark.parametrize("method", ["mc_dropout", "deterministic"])
def test_energy_per_T(tmp_path, data_root, method):
    bench = _bench(tmp_path, data_root, 4)
    target = _target(bench, method)
    energy = get_suite("tsweep_energy").run(bench, target).metrics
    e = {T: energy[key(T, "hw/energy/total_pJ")] for T in (1, 2, 4)}
    assert e[4] == pytest.approx(get_suite("energy").run(bench, target).metrics["hw/energy/total_pJ"], rel=1e-12)
    if method == "deterministic":  # one pass whatever T is
        assert e[1] == e[2] == e[4]
    else:  # a fixed prefix plus the same energy per added pass
        assert e[4] - e[2] == pytest.approx(2 * (e[2] - e[1]), rel=1e-9) and e[2] > e[1]
