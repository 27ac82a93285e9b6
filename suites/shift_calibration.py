"""Calibration of the shift suite's corruptions: the deterministic network's accuracy per
corruption and severity (docs/design.md "Shift on digits").

    python -m suites.shift_calibration --out DIR [--dataset mnist] [--images 1000] [--profile quick]

Loads (or trains) the deterministic network of the profile under DIR, as the runner does.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from spindrop.data import corrupt, list_corruptions, load_split, seeded_subset
from spindrop.data.shift import SEVERITIES
from spindrop.training import get_profile

from .base import Target
from .workbench import Workbench


def calibration_table(out: Path, data_root: str | Path | None = None, dataset: str = "mnist",
                      images: int = 1000, profile: str = "quick") -> str:
    """Measured accuracy of the deterministic network of ``profile`` on ``dataset`` under every
    corruption of the dataset's family at severities 1..5, on ``images`` test images (a seeded
    subset), as a Markdown table. The network is trained under ``out`` if it is not there yet.
    """
    prof = get_profile(profile)
    bench = Workbench(prof, out, data_root)
    plan = prof.plan(dataset)
    model = bench.trained(Target(dataset, plan.model, plan.width, "deterministic", (), 0)).model.eval()
    split = load_split(dataset, "test", data_root)
    idx = seeded_subset(len(split.labels), images, seed=1)
    x, y = (split.images, split.labels) if idx is None else (split.images[idx], split.labels[idx])
    normalize = bench.datamodule(dataset).normalize

    def accuracy(batch: torch.Tensor) -> float:
        with torch.no_grad():
            return (model(normalize(batch)).argmax(-1) == y).double().mean().item() * 100

    lines = [f"Accuracy % (measured) of the deterministic `{profile}` {plan.model} ×{plan.width:g} on "
             f"{len(y)} {dataset} test images; clean: {accuracy(x):.1f} %.", "",
             "| corruption | " + " | ".join(f"s{s}" for s in SEVERITIES) + " |",
             "|---|" + "---:|" * len(SEVERITIES)]
    for name in list_corruptions(dataset):
        accs = [accuracy(corrupt(x, name, s, seed=0)) for s in SEVERITIES]
        lines.append(f"| {name} | " + " | ".join(f"{a:.1f}" for a in accs) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m suites.shift_calibration",
                                 description="Calibration table of the corruptions (docs/design.md).")
    ap.add_argument("--out", type=Path, required=True, help="output folder holding (or to hold) the checkpoint")
    ap.add_argument("--data-root", type=Path, default=None)
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--profile", default="quick")
    args = ap.parse_args(argv)
    print(calibration_table(args.out, args.data_root, args.dataset, args.images, args.profile))


if __name__ == "__main__":
    main()
