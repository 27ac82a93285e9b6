"""Console output of a run (terminal or not): a console wide enough for the result tables, and
progress that is live on a terminal and line-based elsewhere.

On a terminal the bars are live. Elsewhere (a pipe, ``| tee``, a CI log) nothing can be redrawn
in place, so :func:`make_progress` gives a :class:`LineProgress` that prints one line per new
description instead (a cell starts, a training epoch ends), and :func:`make_console` gives a
console wide enough that the result tables are printed whole rather than cut at 80 columns.
Only ``rich`` is imported here, so a command that only prints starts fast.
"""
from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

# Width of a console that is not a terminal: rich would otherwise use 80 columns (or $COLUMNS) and
# fold or cut wider tables; a table is printed at its natural width, which stays far below this.
PIPE_WIDTH = 1000


def make_console(quiet: bool = False) -> Console:
    """A stdout console: the terminal's width on a terminal, :data:`PIPE_WIDTH` elsewhere;
    ``quiet`` prints nothing."""
    console = Console(quiet=quiet)
    return console if console.is_terminal else Console(width=PIPE_WIDTH, quiet=quiet)


def make_progress(console: Console) -> Progress:
    """Live bars on a terminal; a :class:`LineProgress` on any other console."""
    if not console.is_terminal:
        return LineProgress(console)
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False)


class LineProgress(Progress):
    """Progress without a live display, for consoles that are not terminals: prints a task's
    description whenever it changes, one plain line each."""

    def __init__(self, console: Console) -> None:
        super().__init__(console=console, disable=True)

    def update(self, task_id: TaskID, *, description: str | None = None, **kwargs) -> None:
        task = next(t for t in self.tasks if t.id == task_id)
        if description is not None and description != task.description:
            self.console.print(description.rstrip(), markup=False, highlight=False)
        super().update(task_id, description=description, **kwargs)
