"""One error type and one wording for "unknown name" errors across every registry (methods, models,
suites, datasets, profiles, hardware presets)."""
from __future__ import annotations

import difflib
from collections.abc import Iterable


def unknown_name(kind: str, name: str, known: Iterable[str]) -> str:
    """``unknown <kind> 'x' (did you mean 'y'?); known <kind>s: a, b, c``."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown {kind} '{name}'{hint}; known {kind}s: {', '.join(known)}"


class UnknownNameError(LookupError):
    """A registry has nothing under the requested name; the message lists what it has."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        super().__init__(unknown_name(kind, name, known))
