"""Benchmark integrity (issue 8): no stale or meaningless number reaches a report.

Each test reproduces one observed fault: a cell kept after the hardware preset changed, a cell kept
after its method's source changed, a deterministic network's mutual information reported as a
number, identical masks on the test and the OOD sets, a truncated cell file, a checkpoint killed
mid-write, two runs on one output folder.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading

import pandas as pd
import pytest
import torch

import spindrop
from spindrop.mc import mc_predict
from spindrop.store import ResultStore
from suites.lock import output_lock
from suites.run import EXIT_OK, EXIT_USAGE, main
from suites.workbench import mask_seed

from .runner_helpers import REPO, SMOKE, cell_files, cells, run_cli, summary


def _stdout(capsys) -> str:
    return " ".join(capsys.readouterr().out.split())


def test_changing_the_preset_recomputes_the_energy_cell(tmp_path, in_process, capsys):
    argv = ["--suite", "energy", *SMOKE, "--methods", "spindrop", "--no-report", "--out", str(tmp_path)]
    assert main(argv) == EXIT_OK
    first = cells(tmp_path)[0]
    capsys.readouterr()
    assert main([*argv, "--preset", "nvsim_sttram_supply"]) == EXIT_OK
    out = _stdout(capsys)
    assert summary(out) == (1, 0, 0)
    assert "1 of them recomputed because stale (preset changed: 1)" in out
    second = cells(tmp_path)[0]
    assert second["provenance"]["preset"]["name"] == "nvsim_sttram_supply"
    assert second["metrics"]["hw/energy/dropout_pJ"] != first["metrics"]["hw/energy/dropout_pJ"]
    capsys.readouterr()
    assert main([*argv, "--preset", "nvsim_sttram_supply"]) == EXIT_OK
    assert summary(_stdout(capsys)) == (0, 1, 0)


def test_changing_a_presets_values_under_its_name_makes_its_cells_stale(tmp_path, in_process, capsys,
                                                                         monkeypatch):
    """A cell's provenance holds a digest of its preset's values, not only its name: editing
    ``hardware/presets.py`` (here: a new sense-amplifier energy under the same name) recomputes
    the cells that preset priced, with the reason "preset changed"."""
    import dataclasses

    from hardware import presets
    argv = ["--suite", "energy", *SMOKE, "--methods", "spindrop", "--no-report", "--out", str(tmp_path)]
    assert main(argv) == EXIT_OK
    first = cells(tmp_path)[0]
    name = presets.DEFAULT.name
    assert first["provenance"]["preset"]["name"] == name
    monkeypatch.setitem(presets.PRESETS, name, dataclasses.replace(
        presets.PRESETS[name], sense_amp_energy=2 * presets.PRESETS[name].sense_amp_energy))
    capsys.readouterr()
    assert main(argv) == EXIT_OK
    out = _stdout(capsys)
    assert summary(out) == (1, 0, 0)
    assert "1 of them recomputed because stale (preset changed: 1)" in out
    second = cells(tmp_path)[0]
    assert second["provenance"]["preset"]["name"] == name
    assert second["metrics"] != first["metrics"]  # the sense energy is part of the priced energy


def test_reuse_stale_keeps_and_marks_the_cell(tmp_path, in_process, capsys):
    argv = ["--suite", "energy", *SMOKE, "--methods", "spindrop", "--out", str(tmp_path)]
    assert main([*argv, "--no-report"]) == EXIT_OK
    before = cells(tmp_path)[0]
    capsys.readouterr()
    assert main([*argv, "--preset", "nvsim_sttram_supply", "--reuse-stale"]) == EXIT_OK
    out = _stdout(capsys)
    assert summary(out) == (0, 1, 0) and "1 stale cells kept" in out
    kept = cells(tmp_path)[0]
    assert kept["metrics"] == before["metrics"] and kept["stale"] == ["preset changed"]
    report = (tmp_path / "report" / "REPORT.md").read_text()
    assert "stale" in report.lower() and "preset changed" in report
    # the CSV row names it too
    assert "preset changed" in (tmp_path / "results" / "results.csv").read_text()


def test_reuse_stale_marks_every_stale_row_the_report_shows(tmp_path, in_process, capsys):
    """A rerun with --reuse-stale of one method marks the other method's stale cell too: the report
    shows both rows, so both carry the mark (before, only the cells the run touched did)."""
    argv = ["--suite", "energy", *SMOKE, "--out", str(tmp_path)]
    assert main([*argv, "--methods", "spindrop", "spatial", "--no-report"]) == EXIT_OK
    assert main([*argv, "--methods", "spindrop", "--preset", "nvsim_sttram_supply", "--reuse-stale"]) == EXIT_OK
    assert {c["key"]["method"]: c["stale"] for c in cells(tmp_path)} == {"spindrop": ["preset changed"],
                                                                       "spatial": ["preset changed"]}
    report = (tmp_path / "report" / "REPORT.md").read_text()
    rows = [line.split("|")[1].strip() for line in report.splitlines() if line.startswith("| spindrop")
            or line.startswith("| spatial")]
    assert rows and all(row.endswith("†") for row in rows), rows
    # the preset of the cells matches again: no longer stale, no mark
    assert main([*argv, "--methods", "spindrop", "--no-report"]) == EXIT_OK
    assert all(c["stale"] == [] for c in cells(tmp_path))


def test_deterministic_mutual_information_is_not_applicable(tmp_path, in_process, capsys):
    argv = ["--suite", "ood", *SMOKE, "--methods", "deterministic", "spatial", "--out", str(tmp_path)]
    assert main(argv) == EXIT_OK
    by_method = {c["key"]["method"]: c["metrics"] for c in cells(tmp_path)}
    det, spatial = by_method["deterministic"], by_method["spatial"]
    mi_keys = [k for k in det if "/mutual_info/" in k]
    assert mi_keys and all(det[k] is None for k in mi_keys)
    assert all(spatial[k] is not None for k in mi_keys)
    assert all(det[k] is not None for k in det if "/entropy/" in k)  # entropy is a real score for it
    report = (tmp_path / "report" / "REPORT.md").read_text()
    section = report[report.index("mutual information score"):]
    row = next(line for line in section.splitlines() if line.startswith("| deterministic"))
    assert set(c.strip() for c in row.split("|")[2:-2]) == {"—"}, row


def test_mutual_information_of_a_network_without_sites_is_exactly_zero():
    model = torch.nn.Sequential(torch.nn.Linear(4, 3))
    out = mc_predict(model, torch.randn(64, 4), T=7)
    assert not out.stochastic and out.probs.shape == (7, 64, 3)
    assert torch.equal(out.mutual_info, torch.zeros(64))


def test_each_evaluated_set_gets_its_own_masks():
    seeds = {mask_seed(0, name, 0) for name in ("test", "ood/fashion_mnist", "ood/gaussian_noise",
                                                 "shift/rotate/1", "shift/rotate/5")}
    assert len(seeds) == 5
    assert mask_seed(0, "test", 0) != mask_seed(0, "test", 500) != mask_seed(1, "test", 0)


def test_the_same_images_under_two_set_names_get_different_mc_samples(data_root, tmp_path):
    from spindrop.training import get_profile
    from suites.base import Target
    from suites.workbench import Workbench
    profile = get_profile("smoke")
    bench = Workbench(profile, tmp_path, data_root)
    target = Target("mnist", "lenet5", profile.plan("mnist").width, "spatial", (("p", 0.2),), 0)
    images, _ = bench.test_set("mnist")
    a = bench.predict(target, images[:32], "test")
    b = bench.predict(target, images[:32], "ood/fashion_mnist")
    again = bench.predict(target, images[:32], "test")
    assert torch.equal(a.probs, again.probs)  # seeded
    assert not torch.equal(a.probs, b.probs)


def test_a_truncated_cell_file_is_recomputed_with_a_warning(tmp_path, in_process, capsys):
    argv = ["--suite", "modules", *SMOKE, "--methods", "spatial", "spindrop", "--no-report", "--out", str(tmp_path)]
    assert main(argv) == EXIT_OK
    damaged = cell_files(tmp_path)[0]
    text = damaged.read_text()
    damaged.write_text(text[: len(text) // 2])
    capsys.readouterr()
    assert main(argv) == EXIT_OK
    out = _stdout(capsys)
    assert "warning" in out and "unreadable" in out and damaged.name in out
    assert summary(out) == (1, 1, 0)
    assert json.loads(damaged.read_text())["status"] == "ok"


PLUGIN = '''
from spindrop import LayerHardware, Method, register_method
from spindrop.methods.sites import ChannelSite

SCALE = {scale}


@register_method
class EditedMethod(Method):
    name = "edited_method"
    summary = "a plugin whose source file the test edits"

    def make_site(self, layer):
        return ChannelSite(self.config)

    def layer_hardware(self, geom):
        return LayerHardware(modules=SCALE * geom.in_channels, draws=geom.in_channels)
'''


def test_editing_one_method_file_recomputes_exactly_its_cells(tmp_path, cli_env):
    """--all --profile smoke twice around an edit of the plugin's source: only its cells are recomputed;
    a comment-only edit recomputes nothing."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    source = plugins / "edited_plugin.py"
    source.write_text(PLUGIN.format(scale=1))
    env = {**cli_env, "PYTHONPATH": f"{plugins}:{cli_env['PYTHONPATH']}"}
    argv = ["--all", *SMOKE, "--methods", "spatial", "edited_method", "--plugin", "edited_plugin",
            "--no-report", "--out", str(tmp_path / "out")]
    first = run_cli(argv, env)
    assert first.returncode == EXIT_OK, first.stdout + first.stderr
    n_suites = summary(first.stdout)[0] // 2
    before = {c["key"]["method"]: c["metrics"]["hw/modules"] for c in cells(tmp_path / "out")
              if c["key"]["suite"] == "modules"}
    source.write_text(PLUGIN.format(scale=1) + "\n# a comment changes nothing that computes a number\n")
    assert summary(run_cli(argv, env).stdout) == (0, 2 * n_suites, 0)
    source.write_text(PLUGIN.format(scale=2))
    edited = run_cli(argv, env)
    assert summary(edited.stdout) == (n_suites, n_suites, 0)
    assert f"{n_suites} of them recomputed because stale (code changed: {n_suites})" in " ".join(edited.stdout.split())
    modules = {c["key"]["method"]: c["metrics"]["hw/modules"] for c in cells(tmp_path / "out")
               if c["key"]["suite"] == "modules"}
    assert modules == {"edited_method": 2 * before["edited_method"], "spatial": before["spatial"]}


KILL_DURING_SAVE = '''
import os, signal, sys
import torch
import spindrop.training.fit as fit
real_save = torch.save

def dying_save(obj, fh, *args, **kwargs):
    real_save(obj, fh, *args, **kwargs)
    fh.flush()
    fh.truncate(fh.tell() // 2)  # leave a half-written file behind, then die
    os.kill(os.getpid(), signal.SIGKILL)

fit.torch.save = dying_save
from suites.run import main
sys.exit(main(sys.argv[1:]))
'''


def test_a_run_killed_during_a_checkpoint_write_resumes(tmp_path, cli_env):
    out = tmp_path / "out"
    argv = ["--suite", "accuracy", *SMOKE, "--methods", "spatial", "--no-report", "--out", str(out)]
    killed = subprocess.run([sys.executable, "-c", KILL_DURING_SAVE, *argv], cwd=REPO, env=cli_env,
                            capture_output=True, text=True, timeout=240)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert not list((out / "checkpoints").glob("*.pt"))  # only the temp file was written
    resumed = run_cli(argv, cli_env)
    assert resumed.returncode == EXIT_OK, resumed.stdout + resumed.stderr
    assert summary(resumed.stdout) == (1, 0, 0)
    assert len(list((out / "checkpoints").glob("*.pt"))) == 1
    assert not [p for p in (out / "checkpoints").iterdir() if ".tmp" in p.name]


def test_a_second_run_on_the_same_folder_is_refused_naming_the_holder(tmp_path, in_process, capsys):
    out = tmp_path / "out"
    argv = ["--suite", "modules", *SMOKE, "--methods", "spatial", "--no-report", "--out", str(out)]
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f'''
        import sys, time
        from pathlib import Path
        from suites.lock import output_lock
        with output_lock(Path({str(out)!r}), "python -m suites.run --all (the holder)"):
            print("locked", flush=True)
            time.sleep(60)
        ''')], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        rc = main(argv)
        err = capsys.readouterr().err.strip()
        assert rc == EXIT_USAGE and len(err.splitlines()) == 1
        assert f"pid {holder.pid}" in err and "(the holder)" in err and "pass another --out" in err
        assert not (out / "results").exists()
    finally:
        holder.kill()
        holder.wait()
    assert main(argv) == EXIT_OK  # the OS released the killed holder's lock


def test_the_lock_is_released_on_exceptions_and_interrupts(tmp_path):
    for error in (RuntimeError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(error)):
            with output_lock(tmp_path):
                raise error
        with output_lock(tmp_path):  # free again
            pass
    assert not (tmp_path / ".lock-holder.json").exists()


def test_concurrent_locks_in_one_process_exclude_each_other(tmp_path):
    from suites.lock import FolderBusy
    entered = threading.Event()
    release = threading.Event()

    def hold():
        with output_lock(tmp_path, "first"):
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert entered.wait(10)
        with pytest.raises(FolderBusy, match="first"):
            with output_lock(tmp_path, "second"):
                pass
    finally:
        release.set()
        thread.join()


def test_result_rows_carry_their_provenance(tmp_path, in_process):
    argv = ["--suite", "modules", *SMOKE, "--methods", "spindrop", "--no-report", "--out", str(tmp_path)]
    assert main(argv) == EXIT_OK
    csv = pd.read_csv(tmp_path / "results" / "results.csv")
    row = csv.iloc[0]
    assert json.loads(row["method_params"]) == spindrop.get_method("spindrop", p=0.2).params()
    assert row["preset"] == "nvsim_sttram" and len(row["code"]) == 16
    cell = ResultStore(tmp_path).cells()[0]
    assert cell.provenance["preset"]["name"] == "nvsim_sttram" and cell.provenance["code"] == row["code"]
