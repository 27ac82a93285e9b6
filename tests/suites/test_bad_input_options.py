"""Every option, environment variable and launcher prerequisite is checked before any work (issue 27,
observation 3): one line on stderr naming the option and the fix, exit 2, the store's files unchanged
(bytes and mtimes). The checks are one step (:mod:`suites.checks`), so the meta tests at the end hold
every option of the parser to it."""
from __future__ import annotations

import argparse

import pytest

import reports.render
from spindrop.store import Cell, CellKey, ResultStore
from suites.checks import SEED_MAX, Distinct, validate
from suites.run import build_parser, main

from .runner_helpers import FINISHED, SMOKE, assert_one_line, finished, tree
from .test_run_errors import BASE, replaced

CASES = {
    # id: (argv without --out, substrings of the one line: the option, the problem, the fix)
    "seeds-negative": (replaced("--seeds", "-1"), ["--seeds", "-1 is not a seed", f"[0, {SEED_MAX}]"]),
    "seeds-beyond-numpy": (replaced("--seeds", "99999999999999999999"),
                           ["--seeds", "99999999999999999999 is not a seed", f"[0, {SEED_MAX}]"]),
    "seeds-not-a-number": (replaced("--seeds", "zero"), ["--seeds", "zero is not a seed"]),
    # `--seeds 0 0 1` claimed 3 cells and stored 2: refused (README "Usage")
    "seeds-duplicate": (replaced("--seeds", "0", "0", "1"), ["--seeds", "0 given twice", "pass each value once"]),
    "methods-duplicate": (replaced("--methods", "spatial", "spatial"), ["--methods", "spatial given twice"]),
    "suite-duplicate": (replaced("--suite", "accuracy", "accuracy"), ["--suite", "accuracy given twice"]),
    "reference-unknown": (replaced("--reference", "nope"), ["unknown method 'nope'", "known methods:"]),
    "reference-not-run": (replaced("--reference", "spindrop"),
                          ["--reference spindrop is not among --methods (spatial)", "add it to --methods"]),
    "devices-0": (replaced("--devices", "0"), ["--devices", "0 is not a device choice", "auto"]),
    "devices-negative": (replaced("--devices", "-1"), ["--devices", "-1 is not a device choice"]),
    "devices-repeated-index": (replaced("--devices", "0,0"), ["--devices", "0,0 is not a device choice", "distinct"]),
    "mc-samples-negative": (replaced("--mc-samples", "-3"), ["--mc-samples", "-3 must be >= 1"]),
    "p-not-a-number": (replaced("--p", "high"), ["--p", "high is outside [0, 1)"]),
    "unknown-preset": (replaced("--preset", "nvsim"), ["unknown hardware preset 'nvsim'", "known hardware presets:"]),
    "unknown-model": (replaced("--models", "lenet"), ["unknown model 'lenet'", "known models:"]),
    "unknown-option": ([*BASE, "--sedes", "1"], ["unrecognized arguments: --sedes 1", "--help"]),
    "jobs-0": (replaced("--jobs", "0"), ["--jobs", "0 must be >= 1"]),
    "cpus-per-unit-0": (replaced("--cpus-per-unit", "0"), ["--cpus-per-unit", "0 must be >= 1"]),
    "gpus-per-unit-negative": (replaced("--gpus-per-unit", "-1"), ["--gpus-per-unit", "-1 must be >= 0"]),
    "time-min-0": (replaced("--time-min", "0"), ["--time-min", "0 must be >= 1"]),
    "mem-gb-0": (replaced("--mem-gb", "0"), ["--mem-gb", "0 must be > 0"]),
    "slurm-option-no-value": (replaced("--slurm-option", "qos"), ["--slurm-option qos", "KEY=VALUE"]),
    "method-param-format": (replaced("--method-param", "spatial"), ["--method-param", "NAME.PARAM=VALUE"]),
    "method-param-unknown-method": (replaced("--method-param", "spatail.p=0.1"),
                                    ["--method-param spatail.p=0.1", "'spatail' is not a registered method"]),
    "method-param-method-not-run": (replaced("--method-param", "scale.placement=mac"),
                                    ["--method-param scale.placement=mac", "not among --methods"]),
    "method-param-unknown-param": (replaced("--method-param", "spatial.grouping=element"),
                                   ["spatial.grouping=element", "no parameter grouping", "fc_grouping"]),
    "method-param-bad-choice": (replaced("--method-param", "spatial.fc_grouping=pixel"),
                                ["spatial.fc_grouping=pixel", "must be one of 'channel', 'element'", "'pixel'"]),
    "method-param-bad-type": (replaced("--method-param", "spatial.rescale=maybe"),
                              ["spatial.rescale=maybe", "rescale must be bool", "'maybe'"]),
    "method-param-p-range": (replaced("--method-param", "spatial.p=1.5"), ["p=1.5 is outside [0, 1)"]),
    "method-param-twice": ([*BASE, "--method-param", "spatial.p=0.1", "--method-param", "spatial.p=0.3"],
                           ["--method-param spatial.p=0.3", "given twice"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_option_is_one_line_exit_2_store_unchanged(case, finished_store, in_process, capsys):
    argv, expected = CASES[case]
    before = tree(finished_store)
    rc = main([*argv, "--out", str(finished_store)])
    assert_one_line(rc, 2, capsys.readouterr(), expected)
    assert tree(finished_store) == before
    assert finished(ResultStore(finished_store), FINISHED)


ENVIRONMENT = {
    # id: (variable, value under tmp_path ({tmp} replaced), substrings of the one line)
    "cache-is-a-file": ("SPINDROP_CACHE", "{tmp}/a-file", ["$SPINDROP_CACHE=", "a-file is not a folder",
                                                           "set SPINDROP_CACHE to a writable folder"]),
    "cache-not-writable": ("SPINDROP_CACHE", "{tmp}/a-file/cache", ["$SPINDROP_CACHE=", "is not writable",
                                                                    "set SPINDROP_CACHE"]),
    "data-root-missing": ("SPINDROP_DATA_ROOT", "{tmp}/no-data", ["no-data ($SPINDROP_DATA_ROOT) is not a folder",
                                                                  "--data-root", "SPINDROP_DATA_ROOT"]),
}


@pytest.mark.parametrize("case", list(ENVIRONMENT))
def test_bad_environment_is_one_line_exit_2_store_unchanged(case, finished_store, in_process, tmp_path,
                                                            monkeypatch, capsys):
    variable, value, expected = ENVIRONMENT[case]
    (tmp_path / "a-file").write_text("not a folder")  # as root, chmod does not stop writes: a path below a file
    monkeypatch.setenv(variable, value.format(tmp=tmp_path))
    before = tree(finished_store)
    rc = main([*BASE, "--out", str(finished_store)])
    assert_one_line(rc, 2, capsys.readouterr(), expected)
    assert tree(finished_store) == before
    assert (tmp_path / "a-file").read_text() == "not a folder"


def test_reference_among_the_stores_methods_is_accepted(finished_store, in_process):
    """A run adding a method to a store may compare it with a method whose cells the store holds."""
    args = build_parser().parse_args([*replaced("--reference", "mc_dropout"), "--out", str(finished_store)])
    with pytest.raises(Exception, match="--reference mc_dropout is not among --methods"):
        validate(args)
    ResultStore(finished_store).put(Cell(CellKey(**{**FINISHED.__dict__, "method": "mc_dropout"}), "ok"))
    assert validate(args).methods == ["spatial"]


def test_the_seeds_are_checked_before_any_cell(finished_store, in_process, capsys):
    """`--seeds -1` failed every measured cell with numpy's message: now nothing is computed."""
    rc = main([*SMOKE, "--suite", "accuracy", "calibration", "--methods", "spatial", "deterministic",
               "--seeds", "1", "-1", "--out", str(finished_store)])
    captured = capsys.readouterr()
    assert_one_line(rc, 2, captured, ["--seeds", "-1 is not a seed"])
    assert "cells computed" not in captured.out and "Seed must be between" not in captured.err


# -- every option is held to the same checks ------------------------------------------------------

def _options() -> list[argparse.Action]:
    return [a for a in build_parser()._actions if a.option_strings and a.dest != "help"]


def test_no_option_takes_an_unchecked_number():
    """A number option converts with a checking type (range included), never a bare int or float."""
    bare = [a.option_strings[0] for a in _options() if a.type in (int, float)]
    assert bare == []


def test_every_list_option_naming_cells_refuses_repeats():
    """The list options that name cells refuse a value given twice (each would claim a cell)."""
    cells = {"--suite", "--methods", "--datasets", "--models", "--seeds"}
    assert {a.option_strings[0] for a in _options() if isinstance(a, Distinct)} == cells


def test_render_reference_not_in_the_store(finished_store, capsys):
    before = tree(finished_store)
    rc = reports.render.main([str(finished_store), "--reference", "mc_dropuot", "--quiet"])
    assert_one_line(rc, 2, capsys.readouterr(), ["--reference mc_dropuot", "has no cell of it", "pass one of spatial"])
    assert tree(finished_store) == before
