"""The tuning step on smoke networks: it reads the validation split and nothing else (every
binding of the data loader's ``load_split`` recorded; OOD and shifted sets refused), selects by
the protocol's rule from its own validation table, and a second call is a cache hit."""
from __future__ import annotations

import sys

import pytest

import spindrop.data.loader as loader
import spindrop.data.shift as shift
from spindrop.training import get_profile
from spindrop.tuning import select
from suites.tune import tune_method

from .test_suite_contract import UntrainedWorkbench


@pytest.fixture
def reads(monkeypatch):
    """Every (dataset, split) read through any module's binding of ``load_split``; the OOD and
    corrupted sets fail the test if asked for."""
    seen = []
    original = loader.load_split

    def recorded(name, split, root=None):
        seen.append((name, split))
        return original(name, split, root)

    for module in list(sys.modules.values()):
        if getattr(module, "load_split", None) is original:
            monkeypatch.setattr(module, "load_split", recorded)
    for name in ("ood_sets", "corrupt"):
        for module in list(sys.modules.values()):
            if getattr(module, name, None) is getattr(shift, name):
                monkeypatch.setattr(module, name, lambda *a, _n=name, **k: pytest.fail(f"the tuner called {_n}"))
    return seen


def test_tuner_reads_only_the_validation_split_and_caches(data_root, tmp_path, reads):
    bench = UntrainedWorkbench(get_profile("smoke"), tmp_path, data_root)
    key, record = tune_method(bench, "mnist", "mc_dropout")
    assert set(reads) == {("mnist", "train")}, reads
    assert not bench._test and not bench._test_preds, "the tuner must not load or predict the test set"
    assert [dict(t.params)["p"] for t in record.trials] == [0.05, 0.1, 0.2, 0.3]
    assert record.selected == select(record.trials).params
    assert (tmp_path / "tuning").is_dir()
    fresh = UntrainedWorkbench(get_profile("smoke"), tmp_path, data_root)
    assert tune_method(fresh, "mnist", "mc_dropout") == (key, record)
    assert not fresh._val_preds, "a cached selection evaluates nothing"


@pytest.mark.parametrize(("argv", "message"), [
    (["--methods", "mc_dropot"], "did you mean 'mc_dropout'"),
    (["--methods", "deterministic"], "declares no tuning grid"),
    (["--datasets", "svhn", "--profile", "smoke"], "no training plan for dataset 'svhn'"),
])
def test_cli_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    from suites.tune import main
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
