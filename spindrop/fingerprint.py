"""Fingerprints of what produces a number: the source code and the data files.

A cached result (a checkpoint, a result cell) is keyed by these fingerprints, so that editing the
code that computes it, or replacing a data file, makes the cached entry *stale* instead of being
silently reused (docs/design.md "Provenance and staleness").

**Code.** A source file's digest is the sha256 of its abstract syntax tree with docstrings removed
(``ast.dump`` without line numbers): comments, docstrings, blank lines and formatting do not
change it; any change to what the code does does. A C kernel's digest is the sha256 of its text.
A *code fingerprint* combines the digests of a set of files. :func:`code_fingerprint` splits the
packages into a shared core and per-plugin files: the module that defines a registered method
(e.g. ``spindrop/methods/scale.py`` or a plugin's file) counts only for that method's results, so
editing one method's file makes only its results stale.

**Data.** A data file's digest is its line in ``<root>/SHA256SUMS`` (the file is verified against
it when it is read), or its sha256 where SHA256SUMS does not list it.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from .kernels import backends, exact_sources


def digest(*parts: object) -> str:
    """16 hex digits of the sha256 of the JSON of ``parts`` (sorted keys; str() for the rest)."""
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


@lru_cache(maxsize=1024)
def _source_digest(path: str, size: int, mtime_ns: int) -> str:
    text = Path(path).read_text(encoding="utf-8")
    if not path.endswith(".py"):  # a C kernel: its text is its fingerprint
        return hashlib.sha256(text.encode()).hexdigest()
    try:
        normal = ast.dump(_strip_docstrings(ast.parse(text)), include_attributes=False)
    except SyntaxError:  # not Python we can parse: the raw text is its own fingerprint
        normal = text
    return hashlib.sha256(normal.encode()).hexdigest()


def source_digest(path: str | Path) -> str:
    """sha256 of a Python file's docstring-free syntax tree, or of a C file's text (memoised by
    size and mtime)."""
    st = Path(path).stat()
    return _source_digest(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


SOURCE_PATTERNS = ("*.py", "*.c")
"""Source files of a package: its Python modules and its C kernels (:mod:`spindrop.kernels`)."""


def package_files(package: str) -> list[Path]:
    """The source files (:data:`SOURCE_PATTERNS`) of an importable package (sorted), or [] if it
    is not importable."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return []
    files: list[Path] = []
    for location in spec.submodule_search_locations:
        files += [p.resolve() for pattern in SOURCE_PATTERNS for p in Path(location).rglob(pattern)]
    return sorted(set(files))


def module_file(obj: type) -> Path:
    """The source file that defines a class (a method, a suite)."""
    return Path(inspect.getsourcefile(obj) or inspect.getfile(obj)).resolve()


def files_fingerprint(files: Iterable[Path], relative_to: dict[Path, str] | None = None) -> str:
    """Fingerprint of a set of source files (their names relative to their package and digests),
    without the kernels that change no number (:func:`spindrop.kernels.exact_sources`)."""
    entries = []
    for path in sorted(set(files) - exact_sources()):
        name = next((f"{pkg}/{path.relative_to(root)}" for root, pkg in (relative_to or {}).items()
                     if path.is_relative_to(root)), path.name)
        entries.append((name, source_digest(path)))
    return digest(entries)


def _package_roots(packages: Iterable[str]) -> dict[Path, str]:
    roots = {}
    for package in packages:
        spec = importlib.util.find_spec(package)
        for location in (spec.submodule_search_locations or []) if spec else []:
            roots[Path(location).resolve()] = package
    return roots


def code_fingerprint(packages: Iterable[str], owners: Iterable[type], plugin_classes: Iterable[type],
                     exclude: Iterable[Path] = ()) -> str:
    """Fingerprint of the code that computes a result owned by the classes ``owners``.

    The result depends on the core (every source file of ``packages`` except the files that
    define one of ``plugin_classes``, e.g. every registered method and suite, and the files in
    ``exclude``: modules of pure data such as profiles and presets, whose *values* are keyed
    separately) and on the files that define its ``owners`` (its method, its suite). So editing
    the file of method A changes the fingerprint of A's results and of no other method's.
    Which implementation each compiled kernel's caller uses here (:func:`spindrop.kernels.backends`)
    is part of it too.
    """
    packages = tuple(packages)
    skipped = {module_file(c) for c in plugin_classes} | {Path(p).resolve() for p in exclude}
    core = [f for pkg in packages for f in package_files(pkg) if f not in skipped]
    own = {module_file(c) for c in owners}
    return digest(files_fingerprint([*core, *own], _package_roots(packages)), backends())
