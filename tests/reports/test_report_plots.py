"""PNG plots: one of each kind per (dataset, model), non-trivial, at the expected pixel size."""
from __future__ import annotations

import pytest
from PIL import Image

from reports.plots import DPI, grid_size

from .report_fake_store import METHODS, TARGETS

KINDS = ("reliability", "accuracy_energy", "energy", "entropy")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dataset", list(TARGETS))
def test_png_written_and_non_trivial(rendered, kind, dataset):
    path = rendered[0].parent / f"{kind}_{dataset}_{TARGETS[dataset][0]}.png"
    assert path.stat().st_size > 30_000
    with Image.open(path) as img:
        assert img.format == "PNG"
        width, height = img.size
        if kind in ("reliability", "entropy"):  # one panel per method
            expected = grid_size(len(METHODS))
            assert (width, height) == (round(expected[0] * DPI), round(expected[1] * DPI))
        else:
            assert width >= 800 and height >= 400
        colours = img.convert("RGB").getcolors(maxcolors=1 << 16)
        assert colours is None or len(colours) > 50  # drawn, not blank
