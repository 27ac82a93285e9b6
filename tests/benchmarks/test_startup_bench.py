"""Start-up of the command line (issue 13): listing, help and re-rendering must not import Lightning
or matplotlib when they do not train or plot. Gate: each command's wall time against a bare
``python -c "import torch"`` timed the same way in the same run (torch is the floor: the method
registry is made of torch modules). Each gate prints both times."""
from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import ratio_gate

TORCH = [sys.executable, "-c", "import torch"]


def _run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, capture_output=True)


@pytest.mark.parametrize("args", [["--list"], ["--help"]], ids=["list", "help"])
def test_cli_starts_close_to_importing_torch(benchmark, args):
    ratio_gate(benchmark, lambda: _run([sys.executable, "-m", "suites.run", *args]), lambda: _run(TORCH),
               max_ratio=1.6, rounds=3)


HEAVY = ("pytorch_lightning", "matplotlib", "torchmetrics", "scipy", "pandas")


def test_importing_the_runner_does_not_import_lightning_or_matplotlib():
    probe = f"import sys, suites.run, reports; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]", out
