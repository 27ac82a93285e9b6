"""The Markdown report (``REPORT.md``): conventions, run, tables, paper claims, plots, failures.

Every number comes from :mod:`reports.tables`, :mod:`reports.claims` or the store's metadata;
this module only lays them out. Each table's header line says whether its numbers are
measured (trained networks on real data) or modelled (the hardware cost model).
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from .ablation import ablation_lines
from .claims import (
    PAPER_CLAIM,
    PAPER_MODULE_RATIO,
    CandidateSetting,
    Claims,
    candidate_lines,
    candidate_setting,
)
from .device import realised_p_lines
from .findings import Comparison, comparisons, findings_lines
from .plots import Plot
from .results import Results, dataset_name
from .robustness import robustness_lines
from .tables import STALE_MARK, Table, energy_unit, to_markdown
from .tradeoff import tradeoff_lines
from .tuning import tuning_lines

CONVENTIONS = """\
- **Accuracy** is top-1 of the MC predictive mean p̄ = (1/T) Σ_t p_t; "Det. acc" is one deterministic
  pass with the dropout masks off.
- **NLL** = −log (1/T) Σ_t p_t(y), with the probability clamped at 1e-12; **Brier** = Σ_c (p̄_c − 1[c = y])²,
  summed over classes, averaged over images.
- **ECE**: 15 uniform bins, L1, top-label confidence; bin k holds [k/15, (k+1)/15) and a confidence of
  exactly 1.0 goes to the last bin (not to an extra bin, as torchmetrics does, issue #3510).
  **MCE**: the largest |acc − conf| over non-empty bins; over a nearly empty bin it is noise, so it is
  not in the tables: `results.csv` has it with `test/cal/MCE_images`, the number of images in that bin.
- **OOD**: OOD is the positive class; scores are predictive entropy, mutual information (epistemic) and
  1 − max softmax probability (MSP); AUROC, AUPR-Out (OOD positive), AUPR-In (ID positive, score
  negated; OpenOOD's pair, so the ID:OOD base rate cannot mislead) and FPR at 95 % TPR from all scores at
  once. The OOD sets are grouped as the data module declares them: **near** (real datasets) and **far**
  (synthetic noise), each with its own mean; the headline OOD quantity is the near mean. **% OOD
  detected**: share of OOD samples whose predictive entropy exceeds the 95th percentile of the entropies
  of held-out in-distribution *validation* images (not the test images it is compared with).
- **Shift**: accuracy and ECE on corrupted test images, averaged over the profile's severities.
- **Measured** numbers come from trained networks on real data; **modelled** numbers come from the
  MTJ-crossbar cost model (dropout modules, random draws, energy per image for T MC samples) and are
  never measurements.
- Values are the mean ± sample standard deviation (ddof = 1) over seeds; the std is left out with one
  seed or zero spread. Percentages are ×100. ↑ / ↓: higher / lower is better.
- **Intervals** (measured numbers, in brackets) are 95 %: with several seeds the Student-t interval over
  seeds, as computed; one that passes the metric's range (0–100 % for rates, ≥ 0 for NLL) is marked ‡:
  fewer seeds than that metric needs, the interval cannot be read. With one seed the percentile
  bootstrap over the test (and OOD) images, 1,000 resamples: it describes that one network. Every
  cell's own bootstrap interval (`ci_low`, `ci_high`, `n` images) is in `results.csv`.
- **Verdicts** ("significant", bold) come from the **paired t-test over training seeds** (per-seed
  differences of two methods trained with the same seeds, S − 1 degrees of freedom, two-sided), never
  from an image bootstrap. Each section that states verdicts declares its **family** and controls the
  family-wise error rate at 5 % with **Holm–Bonferroni**: the opening section's family is every
  comparison of one dataset and model; a table's family is its columns' best-vs-runner-up comparisons.
  **Below 3 seeds no verdict is stated and no measured value is bold: one seed describes one network,
  not a method.** `comparisons.csv` has each difference's test, seeds, raw and Holm-adjusted p.
- **Bold**: a measured value is bold only when it is the best of its column **and** its difference to
  the runner-up is significant in its table's family; the notes under the table say which family and
  why a best is not bold. A modelled value (exact) is bold when it is the best; nothing is bold where
  all values are equal.
- **—** marks a number that does not exist for that method (the mutual information of a network without
  dropout is 0 by construction, so its OOD AUROC would only measure tie-breaking; a method without dropout
  modules has no dropout energy) or that was not measured; it is never bold."""

PAPER = "Ahmed et al., *Spatial-SpinDrop*, arXiv 2306.10185 (IEEE TNANO 2024)"


def _run_lines(res: Results) -> list[str]:
    run, versions = res.run, res.run.get("versions") or {}
    ok = sum(c.status == "ok" for c in res.cells)
    lines = [
        f"- Profile: `{res.profile}`; MC samples T = {res.mc_samples}; "
        f"dropout probability p = {run.get('p', 'not recorded')}"
        + ("; the tuned methods ran at their selected values instead (\"Tuned operating points\")"
           if run.get("tuning") else ""),
        _preset_line(res, run),
        f"- Git commit: `{run.get('git_commit') or 'not recorded'}`",
        "- Versions: " + (", ".join(f"{k} {v}" for k, v in versions.items()) or "not recorded"),
        f"- Command: `{run.get('command', 'not recorded')}`; started {run.get('started', '?')}, "
        f"finished {run.get('finished', '?')}; it computed {run.get('cells_done', '?')} cells in "
        f"{run.get('seconds', float('nan')):.0f} s (measured wall time)",
        f"- Cells: {ok} ok, {len(res.cells) - ok} failed",
    ]
    if not run:
        lines.append("- No run of this profile is recorded in `results/metadata.json` (the run was "
                     "interrupted or the store was written by other means).")
    if res.left_out:
        others = "; ".join(f"`{p}` with T = {t} ({n} cells)" for p, t, n in res.left_out)
        lines.append(f"- Not shown here (other profile or T; in `results.csv`): {others}")
    datasets = dict.fromkeys(d for d, _ in res.targets())
    lines.append("- Datasets: " + ", ".join(f"`{d}` = {dataset_name(d)}" for d in datasets))
    if "cifar10" in datasets:
        lines.append("- CIFAR-10 (JPEG copy): the images were JPEG-compressed by the source repository, so "
                     "accuracies are close to, not equal to, those on the original CIFAR-10.")
    return lines


def _preset_line(res: Results, run: dict) -> str:
    """Which numbers a hardware preset priced (the modelled ones) and which measured numbers came from
    masks drawn by its device model (cells whose ``masks`` provenance names a device)."""
    presets = res.presets()
    device = Counter(c.provenance["masks"]["preset"] for c in res.cells if isinstance(c.provenance.get("masks"), dict))
    if device:
        measured = ("**Measured** numbers of " + ", ".join(f"{n} cells with `{name}`" for name, n in device.items())
                    + " come from networks trained with ideal masks and evaluated with MC masks drawn by the preset's "
                    "device model (variation, stuck-at faults, p drift: docs/hardware.md); other measured numbers "
                    "use ideal Bernoulli masks")
    else:
        measured = ("**Measured** numbers come from networks trained and evaluated with ideal Bernoulli masks (the "
                    "preset's device is ideal, which realises them exactly)")
    measured += "; the robustness section draws its masks from the preset's device with swept non-idealities"
    if not presets:
        return f"- Hardware preset of the run: `{run.get('hardware_preset', 'not recorded')}`. {measured}"
    used = ", ".join(f"`{name}` ({n} cells)" for name, n in presets.items())
    return f"- Hardware preset: {used}; it prices the **modelled** numbers. {measured}"


def _stale_lines(res: Results) -> list[str]:
    stale = res.stale()
    if not stale:
        return []
    return ["## Stale cells", "",
            f"Kept with `--reuse-stale` although what computed them changed; their rows are marked {STALE_MARK}. "
            "Rerun without `--reuse-stale` to recompute them.", "",
            *(f"- `{c.key.label()}`: {', '.join(c.stale)}" for c in stale), ""]


def _energy(pj_a: float, pj_b: float) -> tuple[str, str]:
    unit, factor = energy_unit(max(abs(pj_a), abs(pj_b)))
    return f"{pj_a * factor:,.2f} {unit}", f"{pj_b * factor:,.2f} {unit}"


def _claims_lines(claims: list[Claims], setting: CandidateSetting) -> list[str]:
    lines = ["## Paper claims vs this suite (modelled)", "",
             f"{PAPER}, abstract: \"…{PAPER_CLAIM}…\". The abstract names no baseline for either factor and no "
             "kernel size, and the full paper is not at hand, so which network, baseline and energy terms its "
             "factors cover is not known here. Below, SpinDrop / MC-SpatialDropout from this suite's cost model "
             "— all **modelled**, with the same method parameters; SpinDrop is one plausible baseline, not the "
             "paper's stated one. A k×k conv layer gives k² (k²·C_in word-line modules vs C_in channel "
             f"modules), so the abstract's {PAPER_MODULE_RATIO:g}× matches a 3×3 conv; an FC layer that reads a "
             "plain vector needs one module per input under both methods, and the flatten→FC layer C·H·W "
             "(SpinDrop) vs C (Spatial, `fc_grouping=channel`) or C·H·W (`fc_grouping=element`), which pulls "
             "the network ratio below the per-layer one.", ""]
    if not claims:
        return [*lines, "No (dataset, model) has hardware cells of both `spindrop` and `spatial`.", "",
                *candidate_lines(setting)]
    for c in claims:
        params = f", {c.params}" if c.params else ""
        lines += [f"### {dataset_name(c.dataset)} / {c.model} ({c.label}{params}, T = {c.mc_samples})", "",
                  "| binary-input conv layer | kernel | SpinDrop modules | Spatial modules | ratio (modelled) "
                  "| formula | paper (per network layer) |",
                  "|:---|:---:|---:|---:|---:|:---|---:|"]
        for lr in c.layers:
            lines.append(f"| `{lr.layer}` | {lr.kernel[0]}×{lr.kernel[1]} | {lr.spindrop:,} | {lr.spatial:,} | "
                         f"{lr.ratio:.2f}× | {lr.formula} | {PAPER_MODULE_RATIO:g}× |")
        lines += ["", "| quantity | SpinDrop | Spatial | ratio (modelled) | paper | formula |",
                  "|:---|---:|---:|---:|---:|:---|"]
        for r in c.ratios:
            a, b = _energy(r.spindrop, r.spatial) if r.unit == "pJ" else (f"{r.spindrop:,.0f}", f"{r.spatial:,.0f}")
            paper = f"{r.paper:g}× {r.paper_scope}".strip()
            lines.append(f"| {r.name} | {a} | {b} | {r.value:.2f}× | {paper} | {r.formula} = {a} / {b} |")
        lines.append("")
    return [*lines, *candidate_lines(setting)]


def _failed_lines(res: Results) -> list[str]:
    failed = res.failed()
    lines = ["## Failed cells", ""]
    if not failed:
        return [*lines, "None.", ""]
    return [*lines, *(f"- `{c.key.label()}`: {' '.join(str(c.error).split())}" for c in failed), ""]


def _plot_lines(plots: list[Plot], report_dir: Path) -> list[str]:
    lines = ["## Plots", ""]
    if not plots:
        return [*lines, "No plot data in the store.", ""]
    target = None
    for p in plots:
        if (p.dataset, p.model) != target:
            target = (p.dataset, p.model)
            lines += [f"### {dataset_name(p.dataset)} / {p.model}", ""]
        rel = Path(os.path.relpath(p.path, report_dir)).as_posix()
        lines += [f"![{p.title} — {dataset_name(p.dataset)} / {p.model}]({rel})", ""]
    return lines


def report_markdown(res: Results, tables: list[Table], claims: list[Claims], plots: list[Plot],
                    report_dir: Path, found: list[Comparison] | None = None,
                    rendered_by: str = "python -m reports.render") -> str:
    """The full report; image links and the store's path are relative to ``report_dir`` (where
    REPORT.md goes); ``found``: the paired comparisons of the opening section (default:
    :func:`reports.findings.comparisons`); ``rendered_by``: the command that rendered it."""
    found = comparisons(res) if found is None else found
    store = Path(os.path.relpath(Path(res.out) / "results", report_dir)).as_posix()
    lines = ["# spindrop-bench report", "",
             f"Rendered by `{rendered_by}` from the result store `{store}` (relative to this file); every number "
             "is also in `results.csv` / `results.json` next to this file.", "",
             *findings_lines(res, found), "## Conventions", "", CONVENTIONS, "", "## Run", "", *_run_lines(res), "",
             *tuning_lines(res)]
    for group in dict.fromkeys(t.group for t in tables):  # tables come in group order
        in_group = [t for t in tables if t.group == group]
        kinds = " and ".join(dict.fromkeys(t.kind for t in in_group))
        lines += [f"## {group} ({kinds})", ""]
        for table in in_group:
            lines += [to_markdown(table), ""]
    lines += [*ablation_lines(res), *robustness_lines(res), *realised_p_lines(res), *tradeoff_lines(res, report_dir),
              *_claims_lines(claims, candidate_setting(res)), *_plot_lines(plots, report_dir), *_stale_lines(res),
              *_failed_lines(res)]
    return "\n".join(lines)
