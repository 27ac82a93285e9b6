"""Extending the suite the documented way (issue 27, item 7).

A plugin suite registered through a ``spindrop.suites`` entry point (no ``--plugin``) runs, gets
bootstrap intervals from :func:`suites.base.mean_replicates`, has its declared plot drawn, and
leaves every finished cell of the store fresh: a cell's code fingerprint covers the code that
computes it (its suite's module and what it imports), not the list of suites.
"""
from __future__ import annotations

import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from spindrop import fingerprint
from spindrop.fingerprint import import_closure
from suites import base
from suites.base import SUITES, list_suites
from suites.provenance import BENCH_MODULE, CORE_PACKAGES, cell_code_fingerprint
from suites.run import EXIT_OK, main

from .runner_helpers import REPO, SMOKE, cell_bytes, cells, summary

EXTRA_SUITE = '''
from spindrop.plot_spec import PlotSpec
from spindrop.store import MEASURED
from suites.base import Suite, SuiteResult, mean_replicates


class ExtraSuite(Suite):
    """Test-only: accuracy of the MC predictive mean and of the first MC sample alone."""

    name = "extra"
    group = "Extra"
    kind = MEASURED
    summary = "test-only suite"

    def run(self, bench, target):
        out, labels = bench.test_predictions(target)
        per_image = {"extra/mean/acc": (out.mean.argmax(-1) == labels).double(),
                     "extra/first/acc": (out.probs[0].argmax(-1) == labels).double()}
        return SuiteResult({m: float(v.mean()) for m, v in per_image.items()}, replicates=mean_replicates(per_image))

    def plots(self, metric_names):
        return [PlotSpec("Extra accuracy", "MC samples averaged", "accuracy", (1.0, 2.0),
                         ("extra/first/acc", "extra/mean/acc"))]
'''


@pytest.fixture
def extra_suite(tmp_path, monkeypatch) -> Iterator[None]:
    """``extra`` installed as a plugin package would be: a module on the path and an entry point
    in the group ``spindrop.suites`` naming its class."""
    folder = tmp_path / "plugin"
    folder.mkdir()
    (folder / "spindrop_extra_suite.py").write_text(EXTRA_SUITE)
    monkeypatch.syspath_prepend(str(folder))
    entry = metadata.EntryPoint("extra", "spindrop_extra_suite:ExtraSuite", base.ENTRY_POINT_GROUP)
    real = metadata.entry_points

    def entry_points(**params):
        return [entry] if params.get("group") == base.ENTRY_POINT_GROUP else real(**params)
    monkeypatch.setattr(metadata, "entry_points", entry_points)
    monkeypatch.setattr(base, "_discovered", False)
    yield
    SUITES.pop("extra", None)
    sys.modules.pop("spindrop_extra_suite", None)


def _edited(monkeypatch, path: Path) -> None:
    """Make ``path`` look edited to the code fingerprints (its digest changes)."""
    real = fingerprint.source_digest
    target = path.resolve()
    monkeypatch.setattr(fingerprint, "source_digest",
                        lambda p: "edited" + real(p) if Path(p).resolve() == target else real(p))


def test_a_suite_added_through_an_entry_point_leaves_every_finished_cell_fresh(tmp_path, in_process, capsys,
                                                                              monkeypatch, extra_suite):
    argv = [*SMOKE, "--methods", "deterministic", "spindrop", "--out", str(tmp_path)]
    assert main(["--suite", "accuracy", "energy", *argv, "--no-report"]) == EXIT_OK
    finished = cell_bytes(tmp_path)
    assert len(finished) == 4
    # a built-in suite is added by importing it in suites/__init__.py: that file changes too
    _edited(monkeypatch, REPO / "suites" / "__init__.py")
    capsys.readouterr()
    assert main(["--suite", "accuracy", "energy", "extra", *argv]) == EXIT_OK  # no --plugin
    out = " ".join(capsys.readouterr().out.split())
    assert summary(out) == (2, 4, 0) and "stale" not in out
    now = cell_bytes(tmp_path)
    assert {k: now[k] for k in finished} == finished  # not recomputed, not rewritten, not marked stale
    extra = [c for c in cells(tmp_path) if c["key"]["suite"] == "extra"]
    assert len(extra) == 2
    for cell in extra:  # intervals from mean_replicates: around the value, over the test images
        for metric, value in cell["metrics"].items():
            ci = cell["intervals"][metric]
            assert ci["ci_low"] <= value <= ci["ci_high"] and ci["ci_high"] - ci["ci_low"] > 0
            assert ci["n"] == extra[0]["intervals"]["extra/mean/acc"]["n"] > 0
    report = (tmp_path / "report" / "REPORT.md").read_text()
    assert "## Extra (measured)" in report and "![Extra accuracy" in report
    assert "Rendered by `python -m suites.run` from the result store `../results`" in report
    assert list((tmp_path / "report").glob("extra_extra_accuracy_*.png"))
    assert "extra" in list_suites()


def _closure(suite: str) -> set[Path]:
    return set(import_closure([SUITES[suite].__module__, "spindrop.methods.spindrop_wordline", BENCH_MODULE],
                              CORE_PACKAGES))


@pytest.mark.parametrize("suite", list_suites())
def test_a_cells_code_fingerprint_covers_what_its_suite_imports_and_nothing_else(suite, monkeypatch):
    cls = SUITES[suite]
    before = cell_code_fingerprint("spindrop", cls)
    closure = _closure(suite)
    unrelated = [REPO / "suites" / "__init__.py", REPO / "suites" / "run.py", REPO / "suites" / "launch.py",
                 *(Path(sys.modules[SUITES[s].__module__].__file__) for s in list_suites()
                   if Path(sys.modules[SUITES[s].__module__].__file__).resolve() not in closure)]
    for path in unrelated:
        with monkeypatch.context() as m:
            _edited(m, path)
            assert cell_code_fingerprint("spindrop", cls) == before, f"{path} is in the fingerprint of {suite}"
    for path in (Path(sys.modules[cls.__module__].__file__), REPO / "spindrop" / "store.py",
                 REPO / "suites" / "workbench.py"):
        assert path.resolve() in closure
        with monkeypatch.context() as m:
            _edited(m, path)
            assert cell_code_fingerprint("spindrop", cls) != before, f"{path} is not in the fingerprint of {suite}"


def test_mean_replicates_are_the_means_on_the_shared_resamples():
    import torch

    from spindrop.stats import resample_weights
    from suites.base import mean_replicates
    x = (torch.arange(50) % 3 == 0).double()
    reps = mean_replicates({"m": x}, "test")
    w = resample_weights("test", 50, reps.values["m"].shape[0])
    expect = [(w[b].double() * x).sum().item() / 50 for b in range(w.shape[0])]
    assert reps.values["m"].tolist() == pytest.approx(expect, rel=1e-6)
    assert reps.sets["m"] == ("test",) and reps.sizes["test"] == 50
    with pytest.raises(ValueError, match="one length"):
        mean_replicates({"a": x, "b": x[:10]})


def test_a_broken_suite_entry_point_is_one_line(tmp_path, in_process, capsys, monkeypatch):
    entry = metadata.EntryPoint("broken", "spindrop_no_such_suite_module:Suite", base.ENTRY_POINT_GROUP)
    real = metadata.entry_points
    monkeypatch.setattr(metadata, "entry_points",
                        lambda **params: [entry] if params.get("group") == base.ENTRY_POINT_GROUP else real(**params))
    monkeypatch.setattr(base, "_discovered", False)
    assert main(["--suite", "accuracy", *SMOKE, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "spindrop.suites" in err and "spindrop_no_such_suite_module" in err
    assert not (tmp_path / "results").exists()
