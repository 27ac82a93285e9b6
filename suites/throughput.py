"""Throughput of every network a run trained: training images/s (from its fit) and MC images/s.

``python -m suites.throughput OUT [--accelerator gpu]`` reads the checkpoints under ``OUT/checkpoints``
and writes ``throughput.csv`` and ``throughput.md`` (to ``--to``, default OUT). Both numbers are
measured, on this machine:

* training: epochs × training images / the fit's wall time, as recorded with the checkpoint
  (Lightning's fit: every epoch's validation pass and the set-up included);
* MC inference: the first ``--images`` test images (all by default), T samples each, in batches
  of :data:`suites.workbench.EVAL_BATCH` as the suites predict, under the precision the
  network was trained with; timed after one warm-up batch, the device synchronised before each
  clock reading. images/s counts images (each with T passes); passes/s counts forward passes.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from spindrop.data import dataset_info, load_split
from spindrop.data.loader import SpinDataModule
from spindrop.mc import mc_predict
from spindrop.training import TrainSpec
from spindrop.training.module import build_network
from spindrop.training.precision import autocast

from .workbench import EVAL_BATCH, mask_seed

COLUMNS = ("method", "model", "width", "dataset", "seed", "precision", "epochs", "train_images", "fit_seconds",
           "train_images_per_s", "mc_samples", "mc_images", "mc_seconds", "mc_images_per_s", "mc_passes_per_s")


@dataclass
class Throughput:
    """One trained network's measured rates (see the module's docstring)."""

    spec: TrainSpec
    train_images: int
    fit_seconds: float
    mc_samples: int
    mc_images: int
    mc_seconds: float

    def row(self) -> dict[str, object]:
        s = self.spec
        return {"method": s.method, "model": s.model, "width": s.width, "dataset": s.dataset, "seed": s.seed,
                "precision": s.precision, "epochs": s.epochs, "train_images": self.train_images,
                "fit_seconds": round(self.fit_seconds, 2),
                "train_images_per_s": round(s.epochs * self.train_images / self.fit_seconds),
                "mc_samples": self.mc_samples, "mc_images": self.mc_images, "mc_seconds": round(self.mc_seconds, 3),
                "mc_images_per_s": round(self.mc_images / self.mc_seconds),
                "mc_passes_per_s": round(self.mc_images * self.mc_samples / self.mc_seconds)}


def _spec(blob: dict) -> TrainSpec:
    fields = {k: v for k, v in blob.items() if k in TrainSpec.__dataclass_fields__}
    fields["fingerprints"] = tuple(tuple(pair) for pair in fields.get("fingerprints", ()))
    return TrainSpec(**fields)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.no_grad()
def mc_seconds(model: torch.nn.Module, images: torch.Tensor, norm: Callable[[torch.Tensor], torch.Tensor], T: int,
               precision: str, device: torch.device) -> float:
    """Seconds of T-sample MC inference over uint8 ``images`` on ``device`` (after one warm-up batch)."""
    model = model.to(device).eval()
    with autocast(precision, device):
        mc_predict(model, norm(images[:EVAL_BATCH]).to(device), T, seed=0)
        _sync(device)
        start = time.perf_counter()
        for i in range(0, len(images), EVAL_BATCH):
            mc_predict(model, norm(images[i:i + EVAL_BATCH]).to(device), T,
                       seed=mask_seed(0, "throughput", i)).probs.cpu()
        _sync(device)
    return time.perf_counter() - start


def latest_checkpoints(out: Path) -> list[tuple[TrainSpec, Path, float]]:
    """(spec, weights, fit seconds) of each network checkpointed under ``out``: of several checkpoints
    of one recipe (stale ones left by older code or data) the newest."""
    newest: dict[str, tuple[float, TrainSpec, Path, float]] = {}
    for meta in (Path(out) / "checkpoints").glob("*.json"):
        weights = meta.with_suffix(".pt")
        if not weights.is_file():
            continue
        info = json.loads(meta.read_text())
        spec = _spec(info["spec"])
        label = f"{spec.label()}/{spec.epochs}/{spec.precision}"
        mtime = weights.stat().st_mtime
        if label not in newest or mtime > newest[label][0]:
            newest[label] = (mtime, spec, weights, float(info["train_seconds"]))
    return [(spec, weights, seconds) for _, spec, weights, seconds in newest.values()]


def measure(out: Path, device: torch.device, T: int, images: int | None,
            data_root: str | Path | None = None) -> list[Throughput]:
    """The throughput of every network checkpointed under ``out`` (:func:`latest_checkpoints`),
    ordered by dataset, model, method and seed."""
    found = []
    splits: dict[str, tuple[int, torch.Tensor]] = {}
    for spec, weights, fit_seconds in latest_checkpoints(out):
        if spec.dataset not in splits:
            test = load_split(spec.dataset, "test", data_root).images
            splits[spec.dataset] = (len(load_split(spec.dataset, "train", data_root)),
                                    test if images is None else test[:images])
        n_split, test = splits[spec.dataset]
        n_train = n_split - spec.val_size if spec.train_subset is None else min(n_split - spec.val_size,
                                                                                spec.train_subset)
        shape = dataset_info(spec.dataset)
        model = build_network(spec, shape.shape, shape.num_classes)
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=False)["state_dict"])
        normalize = SpinDataModule(spec.dataset, root=data_root).normalize
        seconds = mc_seconds(model, test, normalize, T, spec.precision, device)
        found.append(Throughput(spec, n_train, fit_seconds, T, len(test), seconds))
    return sorted(found, key=lambda t: (t.spec.dataset, t.spec.model, t.spec.method, t.spec.seed))


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({torch.get_num_threads()} threads)"


def write(rows: list[Throughput], to: Path, device: torch.device) -> tuple[Path, Path]:
    """``throughput.csv`` and ``throughput.md`` in ``to``."""
    to.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = to / "throughput.csv", to / "throughput.md"
    with csv_path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(r.row() for r in rows)
    lines = [f"# Throughput on {device_name(device)} (measured)", "",
             f"torch {torch.__version__}. Training: epochs × training images / the fit's wall time (Lightning, "
             "validation passes and set-up included). MC: T-sample inference over the test images in batches of "
             f"{EVAL_BATCH}, after a warm-up batch, under the training precision; images/s counts images (T passes "
             "each), passes/s forward passes.", "",
             "| method | model | precision | epochs | fit s | training images/s | T | MC images | MC s "
             "| MC images/s | MC passes/s |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        v = r.row()
        lines.append(f"| {v['method']} | {v['model']} ×{v['width']:g} | {v['precision']} | {v['epochs']} "
                     f"| {v['fit_seconds']:.1f} | {v['train_images_per_s']:,} | {v['mc_samples']} | {v['mc_images']:,} "
                     f"| {v['mc_seconds']:.2f} | {v['mc_images_per_s']:,} | {v['mc_passes_per_s']:,} |")
    md_path.write_text("\n".join(lines) + "\n")
    return csv_path, md_path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m suites.throughput", description=__doc__.splitlines()[0])
    ap.add_argument("out", help="a run's output folder (with checkpoints/)")
    ap.add_argument("--accelerator", default="cpu", help="cpu or gpu (default: cpu)")
    ap.add_argument("--mc-samples", type=int, default=20, metavar="T", help="MC samples per image (default: 20)")
    ap.add_argument("--images", type=int, metavar="N", help="test images to time (default: all)")
    ap.add_argument("--data-root", help="folder with the datasets (default: $SPINDROP_DATA_ROOT)")
    ap.add_argument("--to", help="folder for throughput.csv/.md (default: OUT)")
    args = ap.parse_args(argv)
    gpu = args.accelerator in ("gpu", "cuda")
    if gpu and not torch.cuda.is_available():
        print(f"error: --accelerator {args.accelerator}: torch sees no GPU here; pass --accelerator cpu",
              file=sys.stderr)
        return 2
    if not (Path(args.out) / "checkpoints").is_dir():
        print(f"error: {args.out} has no checkpoints/ folder: pass a run's --out folder", file=sys.stderr)
        return 2
    device = torch.device("cuda" if gpu else "cpu")
    rows = measure(Path(args.out), device, args.mc_samples, args.images, args.data_root)
    paths = write(rows, Path(args.to or args.out), device)
    print(Path(paths[1]).read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
