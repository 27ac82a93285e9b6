"""Render the report of a result store: ``python -m reports.render <out> [--report-dir DIR] [--quiet]``.

Reads ``<out>/results`` (nothing is recomputed, so re-rendering is cheap) and writes into the
report folder (default ``<out>/report``): ``REPORT.md``, its PNG plots, ``results.csv`` and
``results.json`` (every number of the store with its kind measured/modelled; the CSV in long format, one
row per metric, the JSON one entry per cell: :func:`reports.frame.results_json`).
The rich tables go to the console. Exit status: 0 written, 1 the disk is full, 2 no store or an
empty one, 130 interrupted (each failure one line on stderr; the store is only read).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
from rich.console import Console

from spindrop.data.root import disk_full
from spindrop.report_spec import DEFAULT_REFERENCE
from spindrop.store import ResultStore, atomic_write_text

from .claims import candidate_setting, paper_claims, reference_candidates
from .console import make_console
from .findings import comparisons
from .frame import results_json_text
from .markdown import report_markdown
from .plots import render_plots
from .results import ReportError, Results
from .tables import build_tables, to_rich

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def render_report(out: Path, report_dir: Path | None = None, console: Console | None = None,
                  reference: str = "mc_dropout", rendered_by: str = "reports.render_report") -> Path:
    """Write the report of the store in ``out`` and return the path of its ``REPORT.md``.

    ``report_dir``: where to write (default ``<out>/report``); ``console``: where the rich
    tables go (default: :func:`reports.console.make_console`, a stdout console as wide as a table
    needs when stdout is not a terminal; pass ``Console(quiet=True)`` for none); ``rendered_by``:
    the command the report names as its renderer.
    Raises :class:`ReportError` when ``out`` has no store or the store has no cells.
    """
    res = Results.load(out, reference)
    report_dir = Path(report_dir) if report_dir is not None else Path(out) / "report"
    report_dir.mkdir(parents=True, exist_ok=True)
    tables = build_tables(res)
    found = comparisons(res)  # paired differences vs `reference`: forest plots, opening section, comparisons.csv
    # the claim candidates first (0.2 s alone; their torch threads would contend with the figures' workers)
    reference_candidates(candidate_setting(res))
    plots = render_plots(res, report_dir, found)  # in worker processes where it can
    report = report_dir / "REPORT.md"
    atomic_write_text(report, report_markdown(res, tables, paper_claims(res), plots, report_dir, found,
                                                rendered_by))
    atomic_write_text(report_dir / "comparisons.csv", pd.DataFrame([c.row() for c in found]).to_csv(index=False))
    atomic_write_text(report_dir / "results.csv", res.all_frame.to_csv(index=False))
    atomic_write_text(report_dir / "results.json", results_json_text(res.all_frame, res.meta))
    console = console if console is not None else make_console()
    for table in tables:
        console.print(to_rich(table))
    return report


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m reports.render",
        description="Render the report of a result store written by `python -m suites.run`: rich tables on "
                    "the terminal, REPORT.md with PNG plots, results.csv and results.json. Nothing is "
                    "recomputed.")
    ap.add_argument("out", type=Path, help="output folder of a run (the one holding results/), e.g. runs")
    ap.add_argument("--report-dir", type=Path, metavar="DIR", help="where to write the report (default: OUT/report)")
    ap.add_argument("--quiet", action="store_true", help="do not print the tables; print only the report path")
    ap.add_argument("--reference", metavar="METHOD",
                    help="method every other is compared with, by paired differences; one with cells in the "
                         f"store (default: {DEFAULT_REFERENCE})")
    return ap


def _reference(args: argparse.Namespace) -> str:
    """``--reference``, checked against the methods of the store's cells (:class:`ReportError`
    naming them); the default when not given."""
    if args.reference is None:
        return DEFAULT_REFERENCE
    methods = sorted({c.key.method for c in ResultStore(args.out).cells()})
    if methods and args.reference not in methods:
        raise ReportError(f"--reference {args.reference}: the store in {args.out} has no cell of it; "
                          f"pass one of {', '.join(methods)}")
    return args.reference


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        report = render_report(args.out, args.report_dir, make_console(quiet=args.quiet), _reference(args),
                               "python -m reports.render")
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: the report may be incomplete; the store is unchanged, rerun to render it",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a full disk while writing the report: one line
        full = disk_full(exc)
        if full is None:
            raise
        print(f"error: {full}; the store is unchanged", file=sys.stderr)
        return EXIT_FAILED
    print(report)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
