"""A profile's ``suite_seeds``: a suite too costly for every seed of the profile is measured on some
of them (at least 3, so that its verdicts can be stated); the runner plans no cell of it on the others."""
from __future__ import annotations

from dataclasses import replace

import pytest

from spindrop.store import ResultStore
from spindrop.training import PROFILES
from suites.run import EXIT_OK, main


def test_fewer_than_three_seeds_for_a_suite_is_refused():
    with pytest.raises(ValueError, match="fewer than 3 distinct seeds"):
        replace(PROFILES["smoke"], suite_seeds={"robustness": (0, 1, 1)})


def test_measures_only_the_declared_seeds():
    profile = replace(PROFILES["smoke"], suite_seeds={"ood": (0, 2, 4)})
    assert [s for s in range(6) if profile.measures("ood", s)] == [0, 2, 4]
    assert all(profile.measures("accuracy", s) for s in range(6))


def test_the_runner_plans_the_suite_on_its_seeds_only(tmp_path, in_process, monkeypatch, capsys):
    monkeypatch.setitem(PROFILES, "smoke", replace(PROFILES["smoke"], suite_seeds={"modules": (1, 2, 3)}))
    out = tmp_path / "out"
    rc = main(["--suite", "accuracy", "modules", "--profile", "smoke", "--datasets", "mnist", "--methods",
               "deterministic", "--seeds", "0", "1", "--out", str(out), "--no-report"])
    assert rc == EXIT_OK, capsys.readouterr().out
    cells = sorted((c.key.suite, c.key.seed) for c in ResultStore(out).cells())
    assert cells == [("accuracy", 0), ("accuracy", 1), ("modules", 1)]
