"""Fixtures of the report tests: the fake store of :mod:`report_fake_store` and one rendering
of it, shared by the tests of this folder."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from reports.render import render_report

from .report_fake_store import build_fake_store


@pytest.fixture(scope="session")
def fake_out(tmp_path_factory) -> Path:
    """Output folder holding the fake store."""
    out = tmp_path_factory.mktemp("fake_run")
    build_fake_store(out)
    return out


@pytest.fixture(scope="session")
def rendered(fake_out) -> tuple[Path, str]:
    """(REPORT.md path, console text) of one rendering of the fake store."""
    buffer = io.StringIO()
    report = render_report(fake_out, console=Console(file=buffer, width=200, color_system=None))
    return report, buffer.getvalue()
