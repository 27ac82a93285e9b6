"""One wording for "unknown name" errors across registries."""
from __future__ import annotations

import difflib
from collections.abc import Iterable


def unknown_name(kind: str, name: str, known: Iterable[str]) -> str:
    """``unknown <kind> 'x' (did you mean 'y'?); known <kind>s: a, b, c``."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown {kind} '{name}'{hint}; known {kind}s: {', '.join(known)}"
