"""Reports of a result store: rich tables, Markdown with PNG plots, CSV/JSON (:func:`render`)."""
import warnings

# `python -m reports.render` imports this package, and so reports.render, before runpy runs that
# module again as __main__; runpy warns about the double import. It is harmless here (render.py
# has no import-time side effects), and the CLI must keep stderr to its one-line errors.
warnings.filterwarnings("ignore", message=r"'reports\.render' found in sys\.modules", category=RuntimeWarning)

from .frame import load  # noqa: E402
from .render import render  # noqa: E402  (after the filter above)
from .results import ReportError  # noqa: E402

__all__ = ["ReportError", "load", "render"]
