"""Bad input: one line on stderr naming the problem and the fix, exit status 2, nothing finished lost;
and ``--list``."""
from __future__ import annotations

import importlib
import sys
import uuid

import pytest
import torch

from spindrop.store import ResultStore
from suites import list_suites
from suites.run import EXIT_OK, EXIT_USAGE, main

from .runner_helpers import BUILTIN_METHODS, FINISHED, SMOKE, assert_one_line, finished, run_cli, tree

BASE = ["--suite", "accuracy", *SMOKE, "--methods", "spatial"]

def replaced(option: str, *values: str, argv: list[str] = BASE) -> list[str]:
    """``argv`` with the values of ``option`` replaced (or the option added)."""
    if option not in argv:
        return [*argv, option, *values]
    i = argv.index(option)
    j = i + 1
    while j < len(argv) and not argv[j].startswith("--"):
        j += 1
    return [*argv[:i + 1], *values, *argv[j:]]


@pytest.fixture
def raising_plugin(tmp_path, monkeypatch):
    """Name of an importable module that raises on import."""
    name = f"spindrop_broken_plugin_{uuid.uuid4().hex[:8]}"
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / f"{name}.py").write_text('raise RuntimeError("plugin exploded on import")\n')
    monkeypatch.syspath_prepend(str(tmp_path / "plugins"))
    yield name
    sys.modules.pop(name, None)
    importlib.invalidate_caches()


CASES = {
    # id: (argv without --out, substrings the one-line message must hold: the problem, then the fix)
    "unknown-method": (replaced("--methods", "spindorp"),
                       ["unknown method 'spindorp'", "did you mean 'spindrop'?", "known methods:"]),
    "unknown-suite": (replaced("--suite", "acuracy"),
                      ["unknown suite 'acuracy'", "did you mean 'accuracy'?", "known suites:"]),
    "unknown-dataset": (replaced("--datasets", "mnsit"),
                        ["unknown dataset 'mnsit'", "did you mean 'mnist'?", "known datasets:"]),
    "unknown-profile": (replaced("--profile", "smok"),
                        ["unknown profile 'smok'", "did you mean 'smoke'?", "known profiles:"]),
    "p-above-1": (replaced("--p", "1.5"), ["1.5", "outside [0, 1)", "--p 0.2"]),
    "p-negative": (replaced("--p", "-0.1"), ["-0.1", "outside [0, 1)", "--p 0.2"]),
    # no chosen method has a p: the value is still nonsense (and would be recorded in the report)
    "p-above-1-no-dropout": (replaced("--p", "1.5", argv=replaced("--methods", "deterministic")),
                             ["1.5", "outside [0, 1)", "--p 0.2"]),
    "missing-data-root": (replaced("--data-root", "/nonexistent/spindrop-data"),
                          ["/nonexistent/spindrop-data", "is not a folder", "--data-root", "SPINDROP_DATA_ROOT"]),
    "mc-samples-0": (replaced("--mc-samples", "0"), ["--mc-samples: 0 must be >= 1"]),
    "mc-samples-beyond-memory": (replaced("--mc-samples", "1000000000"),
                                 ["--mc-samples 1000000000 needs", "GiB", "T·N·C·4 bytes", "pass --mc-samples"]),
    "no-action": ([*SMOKE, "--methods", "spatial"], ["nothing to run", "--all", "--suite"]),
    "plugin-not-found": (replaced("--plugin", "no_such_module_xyz"),
                         ["plugin 'no_such_module_xyz'", "ModuleNotFoundError", "installed or on PYTHONPATH"]),
    "list-plugin-not-found": (["--list", "--plugin", "no_such_module_xyz"],
                              ["plugin 'no_such_module_xyz'", "ModuleNotFoundError", "PYTHONPATH"]),
}


if not torch.cuda.is_available():
    CASES["gpu-without-gpu"] = (replaced("--accelerator", "gpu"),
                                ["--accelerator gpu", "no such device on this machine", "--accelerator cpu"])


def assert_usage_error(rc: int, captured, expected: list[str]) -> str:
    return assert_one_line(rc, EXIT_USAGE, captured, expected)


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_2_with_one_line_and_keeps_the_store(case, finished_store, in_process, capsys):
    argv, expected = CASES[case]
    before = tree(finished_store)
    rc = main([*argv, "--out", str(finished_store)])
    assert_usage_error(rc, capsys.readouterr(), expected)
    assert tree(finished_store) == before  # nothing lost, nothing added
    assert finished(ResultStore(finished_store), FINISHED)


def test_plugin_that_raises_on_import(raising_plugin, finished_store, in_process, capsys):
    before = tree(finished_store)
    rc = main([*BASE, "--plugin", raising_plugin, "--out", str(finished_store)])
    assert_usage_error(rc, capsys.readouterr(),
                       [f"plugin '{raising_plugin}'", "RuntimeError: plugin exploded on import", "PYTHONPATH"])
    assert tree(finished_store) == before


def test_unwritable_output_folder(tmp_path, in_process, capsys):
    # the tests run as root, for whom chmod does not stop writes: use a folder below a regular file
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = blocker / "out"
    rc = main([*BASE, "--out", str(out)])
    assert_usage_error(rc, capsys.readouterr(), [str(out), "not writable", "pass --out DIR"])
    assert blocker.read_text() == "not a folder"
    assert list(tmp_path.iterdir()) == [blocker]


def test_real_exit_status_and_stderr_of_a_subprocess(tmp_path, cli_env):
    out = tmp_path / "out"
    proc = run_cli([*replaced("--methods", "spindorp"), "--out", str(out)], cli_env, timeout=120)
    assert proc.returncode == EXIT_USAGE, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith("error: unknown method 'spindorp' (did you mean 'spindrop'?)")
    assert proc.stdout == ""
    assert not out.exists()


def _listed(stdout: str, kind: str) -> list[str]:
    return [line.split()[1] for line in stdout.splitlines() if line.split()[:1] == [kind]]


def test_list_shows_methods_and_suites(capsys):
    assert main(["--list"]) == EXIT_OK
    captured = capsys.readouterr()
    assert captured.err == ""
    methods, suites = _listed(captured.out, "method"), _listed(captured.out, "suite")
    assert sorted(set(methods)) == sorted(methods), f"a method is listed twice: {methods}"
    assert set(BUILTIN_METHODS) <= set(methods)
    assert sorted(suites) == sorted(list_suites())
