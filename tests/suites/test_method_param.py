"""``--method-param NAME.PARAM=VALUE`` (issue 27, observation 8): a method's parameter set on the
command line is typed by its config, part of the cells' key (so the variant never overwrites the
default's cells) and of their provenance and checkpoint, and named in the report's row label."""
from __future__ import annotations

import json

from spindrop.store import ResultStore
from suites.checks import validate
from suites.run import EXIT_OK, build_parser, main

from .runner_helpers import SMOKE

BASE = ["--suite", "accuracy", *SMOKE, "--methods", "spatial", "mc_dropout"]


def key_params(tmp_path, *extra: str) -> dict:
    args = build_parser().parse_args([*BASE, *extra, "--out", str(tmp_path / "out")])
    return validate(args).method_params


def test_the_parameter_enters_the_key_and_a_default_given_explicitly_does_not(tmp_path, in_process):
    plain = key_params(tmp_path)
    assert plain == {"spatial": (("p", 0.2),), "mc_dropout": (("p", 0.2),)}
    assert key_params(tmp_path, "--method-param", "spatial.fc_grouping=element") == {
        **plain, "spatial": (("fc_grouping", "element"), ("p", 0.2))}
    assert key_params(tmp_path, "--method-param", "spatial.fc_grouping=channel") == plain  # the default
    assert key_params(tmp_path, "--method-param", "spatial.p=0.1", "--p", "0.3") == {
        "spatial": (("p", 0.1),), "mc_dropout": (("p", 0.3),)}


def test_a_run_with_a_method_param_keys_records_and_labels_it(tmp_path, in_process, capsys):
    out = tmp_path / "out"
    rc = main([*BASE[:-1], "--method-param", "spatial.fc_grouping=element", "--out", str(out)])
    assert rc == EXIT_OK, capsys.readouterr().out
    (cell,) = ResultStore(out).cells()
    assert dict(cell.key.params) == {"fc_grouping": "element", "p": 0.2}
    assert cell.provenance["method_params"]["fc_grouping"] == "element"
    (spec,) = (out / "checkpoints").glob("*.json")
    assert json.loads(spec.read_text())["spec"]["method_params"] == {"fc_grouping": "element", "p": 0.2}
    report = (out / "report" / "REPORT.md").read_text()
    assert "| spatial (fc_grouping=element,p=0.2) |" in report
