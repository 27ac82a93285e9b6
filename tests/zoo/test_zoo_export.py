"""``python -m suites.zoo export`` of a run with a deep ensemble: the ensemble is not an entry (it is
made of the deterministic networks of other seeds, which have no cells of their own here and whose
checkpoints the ensemble's cell does not name as its own); every other network is."""
from __future__ import annotations

from suites.run import EXIT_OK
from suites.run import main as run_main
from suites.zoo import main as zoo_main


def test_export_skips_the_ensemble_and_exports_the_rest(tmp_path, data_root, monkeypatch, capsys):
    monkeypatch.setenv("SPINDROP_DATA_ROOT", str(data_root))
    out = tmp_path / "run"
    rc = run_main(["--suite", "accuracy", "--profile", "smoke", "--datasets", "mnist", "--methods", "deterministic",
                   "ensemble", "--seeds", "0", "--out", str(out), "--no-report"])
    assert rc == EXIT_OK, capsys.readouterr().out
    capsys.readouterr()
    assert zoo_main(["export", str(out), "--out", str(tmp_path / "zoo")]) == EXIT_OK
    printed = capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "zoo").glob("*.json")) == ["mnist-lenet5x0.5-deterministic-smoke-s0.json"]
    assert "1 entries" in printed
