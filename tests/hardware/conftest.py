"""Make ``import hardware`` resolve to the package in this checkout.

The editable install's import finder was generated before ``hardware/__init__.py`` existed and
maps ``hardware`` to a namespace package, which pytest (no cwd on ``sys.path``) would pick up;
putting the repository root first on ``sys.path`` lets the regular package win. Re-running
``pip install -e . --no-deps`` makes this unnecessary.
"""
import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
if "hardware" in sys.modules and getattr(sys.modules["hardware"], "__file__", None) is None:
    del sys.modules["hardware"]  # a namespace package imported earlier in the session
