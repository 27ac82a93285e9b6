"""Launchers (suites.launch) without training: submitit's local executor running small stand-in
units (at most --jobs at a time, each slot its own GPUs, cancelled on Ctrl+C and SIGTERM, a
failed unit reported in one line), the Slurm job array it would submit (fake sbatch/scancel on
PATH: no cluster here), the lock a unit watches, and the optional dependency."""
from __future__ import annotations

import _thread
import os
import signal
import sys
import threading
import time
from itertools import accumulate
from pathlib import Path

import pytest

from spindrop.store import Cell, CellKey, ResultStore
from spindrop.training import TrainerOptions, get_profile
from suites.base import Target
from suites.cells import PendingCell, Plan
from suites.launch import (
    BACKENDS,
    LaunchError,
    LaunchOptions,
    Unit,
    _cancel,
    _submit,
    _unit_failed,
    check,
    import_submitit,
    job_error,
    run_units,
)
from suites.lock import HOLDER_FILE, held_by, output_lock
from suites.run import EXIT_OK, EXIT_USAGE, build_parser, launch_options, main

from .runner_helpers import REPO, SMOKE, processes_under

submitit = pytest.importorskip("submitit")
HELPERS = Path(__file__).resolve().parent
LOCAL = BACKENDS["local"]


@pytest.fixture
def unit_path(monkeypatch) -> None:
    """Local units are new processes: they import the stand-in functions from this folder."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HELPERS), str(REPO), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.syspath_prepend(str(HELPERS))



def test_local_runs_at_most_jobs_units_at_a_time(tmp_path, unit_path):
    from launch_helpers import timed_sleep

    options = LaunchOptions("local", jobs=2)
    spans = []
    run_units(LOCAL.build(submitit, options, tmp_path), timed_sleep, [2.5] * 3, LOCAL, options,
              lambda unit, job: spans.append(job.result()))
    assert len(spans) == 3
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    assert max(accumulate(step for _, step in events)) == 2  # two ran together, never three


def test_local_slots_get_their_own_gpus(tmp_path, unit_path):
    """submitit's local executor sets CUDA_VISIBLE_DEVICES; slot k of --gpus-per-unit G sees kG..kG+G-1,
    and with no GPUs asked for, a unit sees none."""
    options = LaunchOptions("local", jobs=2, gpus_per_unit=2)
    seen = []
    run_units(LOCAL.build(submitit, options, tmp_path / "gpu"), os.getenv, ["CUDA_VISIBLE_DEVICES"] * 2, LOCAL,
              options, lambda unit, job: seen.append(job.result()))
    assert sorted(seen) == ["0,1", "2,3"]
    cpu = LaunchOptions("local", jobs=1)
    run_units(LOCAL.build(submitit, cpu, tmp_path / "cpu"), os.getenv, ["CUDA_VISIBLE_DEVICES"], LOCAL, cpu,
              lambda unit, job: seen.append(job.result()))
    assert seen[-1] == ""


@pytest.mark.parametrize("how", ["sigterm", "ctrl_c", "sigterm, started with SIGINT ignored"])
def test_killing_the_parent_cancels_its_units(tmp_path, unit_path, how):
    """Also when the run inherited SIGINT as ignored (started in the background by a script, or
    under nohup): submitit cancels a unit with SIGINT, which its controller must not inherit ignored.
    (The autouse fixture ``_keep_sigint_handler`` restores the SIGINT handler afterwards.)"""
    from launch_helpers import timed_sleep

    if how.endswith("ignored"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    options = LaunchOptions("local", jobs=2)
    executor = LOCAL.build(submitit, options, tmp_path)
    submitted = []
    submit = executor.submit
    executor.submit = lambda fn, *args: submitted.append(submit(fn, *args)) or submitted[-1]

    def interrupt() -> None:
        while len(submitted) < 2 or len(processes_under(tmp_path)) < 4:  # 2 controllers + 2 units
            time.sleep(0.05)
        if how.startswith("sigterm"):
            os.kill(os.getpid(), signal.SIGTERM)
        else:
            _thread.interrupt_main()

    handler = signal.getsignal(signal.SIGTERM)
    threading.Thread(target=interrupt, daemon=True).start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_units(executor, timed_sleep, [120] * 3, LOCAL, options, lambda unit, job: None)
    assert len(submitted) == 2  # the third unit was never submitted
    deadline = time.monotonic() + 30  # the runner waits up to 10 s; on a loaded machine it may take longer
    while processes_under(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_under(tmp_path) == []
    assert all(job.done() for job in submitted)
    assert time.monotonic() - start < 60  # cancelled, not waited for
    assert signal.getsignal(signal.SIGTERM) is handler  # the runner's handler is gone again
    if how.endswith("ignored"):
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN  # and SIGINT is ignored again


def test_a_failed_unit_is_one_line_with_its_exception_and_log(tmp_path, unit_path):
    from launch_helpers import fail

    job = LOCAL.build(submitit, LaunchOptions("local"), tmp_path).submit(fail, "no such network 42")
    exc = job.exception()
    line = job_error(job, exc)
    assert "\n" not in line
    assert "ValueError: no such network 42" in line
    assert str(job.paths.stderr) in line


def _unit(tmp_path: Path, suites: list[str]) -> Unit:
    target = Target("mnist", "lenet5", 0.5, "spatial", (("p", 0.2),), 0)
    plan = Plan(get_profile("smoke"), suites, [target], tmp_path, tmp_path, 4, 0.2, "x", TrainerOptions())
    cells = tuple(PendingCell(target, s, CellKey.of(s, target, "smoke", 4), {"code": s}) for s in suites)
    return Unit(plan, cells, (), "run", "abc123", 1)


def test_a_dead_units_finished_cells_count_and_the_rest_are_stored_failed(tmp_path):
    unit = _unit(tmp_path, ["modules", "accuracy"])
    store = ResultStore(tmp_path)
    finished = Cell(unit.cells[0].key, "ok", {"hw/modules": 3.0}, {"hw/modules": "modelled"},
                    provenance=unit.cells[0].provenance)
    store.put(finished)
    tally = _unit_failed(unit, store, "unit 17 ended without a result: killed")
    assert (tally.done, tally.failed) == (1, 1)
    assert store.get(unit.cells[0].key) == finished
    failed = store.get(unit.cells[1].key)
    error = "unit 17 ended without a result: killed"
    assert (failed.status, failed.error, failed.git_commit) == ("failed", error, "abc123")
    assert tally.errors == [f"failed {unit.cells[1].key.label()}: unit 17 ended without a result: killed"]


FAKE_SLURM = {
    "srun": "#!/bin/sh\nexit 0\n",
    "sbatch": '#!/bin/sh\ncat "$1" > "$SLURM_RECORD/sbatch.txt"\necho "Submitted batch job 4242"\n',
    "scancel": '#!/bin/sh\necho "$@" >> "$SLURM_RECORD/scancel.txt"\n',
}


def test_slurm_submits_one_throttled_array_with_the_options_asked_for(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in FAKE_SLURM.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("SLURM_RECORD", str(tmp_path))
    args = build_parser().parse_args(
        ["--all", "--launcher", "slurm", "--jobs", "3", "--partition", "gpu", "--account", "lab", "--time-min", "90",
         "--cpus-per-unit", "4", "--gpus-per-unit", "1", "--mem-gb", "16", "--setup", "source /opt/venv/bin/activate",
         "--slurm-option", "qos=high", "constraint=a100"])
    options = launch_options(args)
    backend = BACKENDS["slurm"]
    folder = tmp_path / "launch"
    running: list = []
    _submit(backend.build(submitit, options, folder), os.getenv, ["HOME"] * 5, range(5), backend, options, running)
    jobs = [job for _, job, _ in running]
    script = (tmp_path / "sbatch.txt").read_text().splitlines()
    for flag in ("--job-name=spindrop-bench", "--partition=gpu", "--account=lab", "--time=90", "--cpus-per-task=4",
                 "--gpus-per-node=1", "--mem=16384M", "--array=0-4%3", "--qos=high", "--constraint=a100"):
        assert f"#SBATCH {flag}" in script
    assert "source /opt/venv/bin/activate" in script
    command = script[-1]
    assert command.startswith("srun ") and f"-u -m submitit.core._submit {folder}" in command
    assert command.split()[command.split().index("-u") - 1] == sys.executable
    assert [job.job_id for job in jobs] == [f"4242_{i}" for i in range(5)]
    assert backend.threads(options) == 4
    _cancel(jobs, backend.settle_s)
    assert (tmp_path / "scancel.txt").read_text().split() == [f"4242_{i}" for i in range(5)]


def test_launcher_options_are_checked():
    with pytest.raises(LaunchError, match="--jobs 0 must be >= 1"):
        check(LaunchOptions("local", jobs=0), "cpu", 0)
    with pytest.raises(LaunchError, match="pass --gpus-per-unit 1"):
        check(LaunchOptions("local", jobs=2), "gpu", 2)
    with pytest.raises(LaunchError, match="= 4 GPUs, this machine has 2"):
        check(LaunchOptions("local", jobs=2, gpus_per_unit=2), "gpu", 2)
    check(LaunchOptions("slurm", jobs=8, gpus_per_unit=1), "gpu", 0)  # Slurm's GPUs are the nodes'


def test_bad_launcher_input_is_one_line(tmp_path, in_process, capsys):
    for extra, message in ((["--launcher", "local", "--jobs", "0"], "--jobs: 0 must be >= 1"),
                           (["--launcher", "slurm", "--slurm-option", "qos"],
                            "--slurm-option qos: expected KEY=VALUE")):
        assert main(["--suite", "modules", *SMOKE, *extra, "--out", str(tmp_path)]) == EXIT_USAGE
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err


def test_inline_needs_no_submitit_and_the_others_name_the_extra(tmp_path, in_process, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "submitit", None)  # as if not installed: importing it raises ImportError
    with pytest.raises(LaunchError, match=r"pip install 'spindrop-bench\[cluster\]'"):
        import_submitit("local")
    args = ["--suite", "modules", *SMOKE, "--methods", "deterministic", "--no-report"]
    assert main([*args, "--out", str(tmp_path / "inline")]) == EXIT_OK
    assert main([*args, "--launcher", "local", "--out", str(tmp_path / "local")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err == ("error: --launcher local needs submitit, which is not installed: "
                   "pip install 'spindrop-bench[cluster]'\n")


def test_a_unit_sees_whether_its_run_still_holds_the_folder(tmp_path):
    with output_lock(tmp_path, "test") as run:
        assert held_by(tmp_path, run)
        assert not held_by(tmp_path, "another run")
    assert not held_by(tmp_path, run)  # released
    (tmp_path / HOLDER_FILE).write_text(f'{{"run": "{run}"}}')  # a SIGKILLed holder leaves its file
    assert not held_by(tmp_path, run)


def test_two_processes_asking_for_one_network_train_it_once(tmp_path, data_root, monkeypatch):
    """The checkpoint key's lock (spindrop.training.fit.train) around lookup and training: of two
    concurrent callers one trains, the other waits and loads its checkpoint. (Threads here: each
    lock object opens its own descriptor, and OS file locks exclude those as they do processes.)"""
    import spindrop.training.fit as fit
    from spindrop.training import TrainSpec

    spec = fit.fingerprinted(TrainSpec(dataset="mnist", model="lenet5", width=0.5, method="spatial",
                                       method_params={"p": 0.2}, epochs=1, batch_size=128, lr=0.005,
                                       train_subset=512, val_size=256, seed=0), data_root)
    written: list[str] = []

    def fake_fit(spec, out, data_root, options, callbacks):
        time.sleep(0.5)  # long enough for the other caller to look for the checkpoint meanwhile
        written.append(spec.key())
        return "trained"

    monkeypatch.setattr(fit, "_fit", fake_fit)
    monkeypatch.setattr(fit, "load_trained", lambda spec, out: "loaded" if written else None)
    got: list[str] = []
    callers = [threading.Thread(target=lambda: got.append(fit.train(spec, tmp_path, data_root))) for _ in range(2)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    assert sorted(got) == ["loaded", "trained"]
    assert written == [spec.key()]

