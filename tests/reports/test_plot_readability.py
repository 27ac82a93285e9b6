"""Figures a reader can compare: the reliability legend shows the colours drawn, and the labels of
accuracy vs energy never overlap (measured with matplotlib's renderer on the drawn figures)."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from reports import plots
from reports.results import Stat


class _Stub:
    """What the two figures read from :class:`reports.results.Results`."""

    mc_samples = 10

    def __init__(self, labels: list[str], bins: dict | None = None) -> None:
        self._labels, self._bins = labels, bins

    def labels(self, *args) -> list[str]:
        return list(self._labels)

    def extras(self, *args) -> dict:
        return {label: [(0, {"reliability": self._bins})] for label in self._labels}

    def stats(self, *args) -> dict:
        return {label: Stat(0.05, None, 1, 0.04, 0.06) for label in self._labels}


@pytest.fixture
def figures(monkeypatch) -> list:
    """The figures the drawing functions save, drawn."""
    saved: list = []

    def keep(fig, path):
        fig.canvas.draw()
        saved.append(fig)
        return path
    monkeypatch.setattr(plots, "_save", keep)
    return saved


def _mode_colour(image: np.ndarray, box, inset: float = 0.3) -> tuple[int, ...]:
    """The most frequent colour on a 7 × 7 grid inside ``box`` (display coordinates, origin at the
    bottom left), its edges ``inset`` of the size in from each side: thin lines crossing it (an
    error bar, the diagonal) do not change it."""
    height = image.shape[0]
    xs = np.linspace(box.x0 + inset * box.width, box.x1 - inset * box.width, 7)
    ys = np.linspace(box.y0 + inset * box.height, box.y1 - inset * box.height, 7)
    return Counter(tuple(image[height - 1 - int(y), int(x), :3]) for x in xs for y in ys).most_common(1)[0][0]


def test_the_reliability_legend_shows_the_colours_drawn(tmp_path, figures):
    """Every filled region (accuracy bars, over- and under-confident gaps) is drawn in the colour of
    its legend swatch, as rendered: no translucent layer mixes into a colour the legend lacks."""
    count = np.zeros(15)
    count[6:] = 500
    conf = (np.arange(15) + 0.5) / 15
    acc = np.clip(conf + np.where(np.arange(15) % 2 == 0, 0.18, -0.18), 0.05, 0.95)  # both kinds of gap
    bins = {"count": count.tolist(), "confidence": conf.tolist(), "accuracy": acc.tolist()}
    plots.reliability(_Stub(["a", "b"], bins), "mnist", "lenet5", tmp_path / "r.png")
    (fig,) = figures
    renderer = fig.canvas.get_renderer()
    image = np.asarray(fig.canvas.buffer_rgba())
    legend = fig.legends[0]
    swatches = {text.get_text(): handle for text, handle in zip(legend.get_texts(), legend.legend_handles)}
    checked = 0
    for ax in fig.axes:
        for container in ax.containers:
            if not hasattr(container, "patches"):
                continue  # the error bars
            swatch = swatches[container.get_label()]
            expected = _mode_colour(image, swatch.get_window_extent(renderer), inset=0.2)
            for patch in container.patches:
                box = patch.get_window_extent(renderer)
                if box.width >= 8 and box.height >= 8:
                    assert _mode_colour(image, box) == expected, container.get_label()
                    checked += 1
    assert {"accuracy", "over-confident gap", "under-confident gap"} <= set(swatches) and checked > 10


def _boxes_apart(boxes) -> bool:
    return not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


@pytest.mark.parametrize("spread", [0.0, 0.02, 1.0], ids=["same point", "close", "apart"])
def test_accuracy_energy_labels_do_not_overlap(tmp_path, figures, monkeypatch, spread):
    """Six methods at one point, close together or apart: each point carries its method's label,
    and no two labels' boxes intersect, none leaves its panel."""
    labels = ["deterministic", "mc_dropout", "spindrop", "spatial", "scale", "my_method"]
    acc = [0.9 + spread * 0.01 * i for i in range(len(labels))]
    points = {label: (Stat(a, None, 1, a - 0.01, a + 0.01), Stat(300.0 * (1 + spread * i), None, 1))
              for i, (label, a) in enumerate(zip(labels, acc))}
    panels = [("total energy", "", points), ("dropout-module energy", "", points)]
    monkeypatch.setattr(plots, "accuracy_energy_points", lambda res, dataset, model: panels)
    plots.accuracy_energy(_Stub(labels), "mnist", "lenet5", tmp_path / "a.png")
    (fig,) = figures
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        texts = [t for t in ax.texts]
        assert sorted(t.get_text() for t in texts) == sorted(labels)
        boxes = [t.get_window_extent(renderer) for t in texts]
        assert _boxes_apart(boxes)
        inside = ax.get_window_extent(renderer)
        assert all(inside.x0 <= b.x0 and b.x1 <= inside.x1 and inside.y0 <= b.y0 and b.y1 <= inside.y1 for b in boxes)
