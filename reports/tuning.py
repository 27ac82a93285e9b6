"""The report's "Tuned operating points": for every method whose cells ran at parameters the tuning
protocol selected (docs/design.md "Tuning protocol"), the selected values and the validation table
they were selected from, read from the tuning records the cells' provenance names."""
from __future__ import annotations

from spindrop.tuning import ACC_WINDOW, TuneRecord, TuningCache

from .results import Results, dataset_name


def tuning_records(res: Results) -> dict[tuple[str, str, str], TuneRecord | None]:
    """(dataset, model, method) → the tuning record its cells name (None: the record is missing
    from ``<out>/tuning``), in the report's cell order."""
    cache = TuningCache(res.out)
    keys = {(c.key.dataset, c.key.model, c.key.method): c.provenance["tuning"]
            for c in res.cells if c.status == "ok" and c.provenance.get("tuning")}
    return {k: cache.get(key) for k, key in keys.items()}


def _params(params: tuple[tuple[str, object], ...]) -> str:
    return ", ".join(f"{k} = {v}" for k, v in params)


def _at_edge(record: TuneRecord) -> list[str]:
    """The selected numeric values that are the smallest or largest of their grid, as ``name = value``."""
    found = []
    for name, value in record.selected:
        values = record.grid.get(name, [])
        numeric = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(numeric) > 1 and value in (min(numeric), max(numeric)):
            found.append(f"{name} = {value}, the {'smallest' if value == min(numeric) else 'largest'} tried")
    return found


def tuning_lines(res: Results) -> list[str]:
    """The section, or nothing when no cell ran at tuned parameters."""
    records = tuning_records(res)
    if not records:
        return []
    lines = ["## Tuned operating points (measured on the validation split)", "",
             "Each method with a declared grid was trained at every setting of it (one network per setting, "
             "training seed below, not one of the report's seeds) and its MC predictive evaluated on the "
             "validation split only (images held out of training; no test or OOD set). Selected: among the "
             f"settings within {100 * ACC_WINDOW:.0f} point of the best validation accuracy, the least validation "
             "NLL. Every cell of the method on that dataset ran at the selected values (its provenance names the "
             "record, `tuning/<key>.json` beside the result store).", ""]
    for (dataset, model, method), record in records.items():
        if record is None:
            lines += [f"- {dataset_name(dataset)} / {model} {method}: the tuning record its cells name is missing "
                      "from the output folder's `tuning/`", ""]
            continue
        subject = record.subject
        edges = _at_edge(record)
        edge = (f" Selected at the edge of the grid ({', '.join(edges)}): a value beyond it was not tried "
                "and might be better still." if edges else "")
        lines += [f"### {dataset_name(dataset)} / {model}: {method} → {_params(record.selected)}", "",
                  f"Seed {subject.get('seed')}, T = {subject.get('T')}, profile `{subject.get('profile')}`.{edge}",
                  "",
                  "| setting | val. accuracy % | val. NLL | |", "|---|---:|---:|---|"]
        for t in record.trials:
            mark = "selected" if t.params == record.selected else ""
            lines.append(f"| {_params(t.params)} | {100 * t.val_acc:.2f} | {t.val_nll:.4f} | {mark} |")
        lines.append("")
    return lines
