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
editing one method's file makes only its results stale. :func:`imports_fingerprint` is narrower:
the files a set of modules imports, directly or not, within named packages (:func:`import_closure`),
so that a result depends on the code that computes it and not on modules it never imports (such
as the list of registered suites).

**Data.** A data file's digest is its line in ``<root>/SHA256SUMS`` (the file is verified against
it when it is read), or its sha256 where SHA256SUMS does not list it.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import json
import os
from collections.abc import Iterable
from functools import cache, lru_cache
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


@cache
def _module_file(name: str, roots: tuple[tuple[str, tuple[Path, ...]], ...]) -> Path | None:
    """The source file of module ``name`` if it lies in one of ``roots`` (package → folders);
    memoised (a module does not appear or vanish while a process computes fingerprints)."""
    top, _, rest = name.partition(".")
    for folder in dict(roots).get(top, ()):
        if folder.suffix == ".py":  # a top-level module, not a package
            return folder if not rest else None
        base = folder.joinpath(*rest.split(".")) if rest else folder
        for path in (base / "__init__.py", base.with_suffix(".py")):
            if path.is_file():
                return path.resolve()
    return None


def _dynamic_target(call: ast.Call, package: str) -> list[str] | None:
    """What ``importlib.import_module(name, __name__)`` in a package's ``__init__`` imports: the one
    submodule a constant ``name`` names, or None (= any submodule); [] for any other call."""
    func = call.func
    called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if called != "import_module" or len(call.args) != 2:
        return []  # an absolute import_module(name) loads a plugin named at run time, not the package's code
    first = call.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.startswith("."):
        return [f"{package}{first.value}"]
    return None


@lru_cache(maxsize=1024)
def _imported_names(path: str, module: str, size: int, mtime_ns: int) -> tuple[tuple[str, ...], bool]:
    """(modules, any submodule): the names ``path`` (module ``module``) imports anywhere in its
    body (functions and ``TYPE_CHECKING`` blocks included), with ``from X import n`` giving both X
    and X.n; and whether it imports a submodule chosen at run time (lazy ``__getattr__``)."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    names: list[str] = []
    any_submodule = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Call):
            target = _dynamic_target(node, package)
            if target is None:
                any_submodule = True
            else:
                names += target
    return tuple(dict.fromkeys(names)), any_submodule


@lru_cache(maxsize=4096)
def _dependencies(path: str, module: str, size: int, mtime_ns: int,
                  roots: tuple[tuple[str, tuple[Path, ...]], ...]) -> tuple[tuple[str, str], ...]:
    """(file, module) of every module within ``roots`` that module ``module`` (file ``path``)
    imports directly (:func:`_imported_names`; every module of its folder for a lazy import)."""
    names, any_submodule = _imported_names(path, module, size, mtime_ns)
    if any_submodule:
        names += tuple(f"{module}.{p.stem}" for p in Path(path).parent.glob("*.py") if p.name != "__init__.py")
    found: dict[str, str] = {}
    for name in names:
        file = _module_file(name, roots)
        if file is not None:
            found.setdefault(str(file), name)
    return tuple(found.items())


def import_closure(modules: Iterable[str], packages: Iterable[str]) -> list[Path]:
    """The source files that ``modules`` import, directly or through each other, within
    ``packages`` (top-level names; other imports are not followed), sorted.

    Imports are read from the syntax tree (every ``import`` anywhere in a module). A package's
    ``__init__`` counts when a module imports the package or a name from it, not when a module
    only imports one of its submodules (``from .base import Suite`` does not make the list of
    registered suites in ``suites/__init__.py`` part of what a suite computes). A package whose
    ``__init__`` imports a submodule chosen at run time (PEP 562 lazy names) counts as importing
    every module of its folder. C sources (:data:`SOURCE_PATTERNS`) count with the folder of any
    module in the closure.
    """
    roots: dict[str, list[Path]] = {}
    for package in packages:
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):  # e.g. __main__, which has no spec
            spec = None
        if spec is not None and spec.submodule_search_locations is None and spec.origin:
            roots[package] = [Path(spec.origin).resolve()]
        else:
            roots[package] = [Path(p).resolve() for p in (spec.submodule_search_locations or [])] if spec else []
    frozen = tuple((package, tuple(folders)) for package, folders in roots.items())
    found: dict[str, str] = {}
    starts = ((_module_file(name, frozen), name) for name in modules)
    todo = [(str(file), name) for file, name in starts if file is not None]
    while todo:
        source, name = todo.pop()
        if source in found:
            continue
        found[source] = name
        st = os.stat(source)
        todo += [dep for dep in _dependencies(source, name, st.st_size, st.st_mtime_ns, frozen) if dep[0] not in found]
    files = {Path(p) for p in found}
    c_sources = {c.resolve() for folder in {p.parent for p in files}
                 for pattern in SOURCE_PATTERNS if pattern != "*.py" for c in folder.glob(pattern)}
    return sorted(files | c_sources)


def imports_fingerprint(modules: Iterable[str], packages: Iterable[str], exclude: Iterable[Path] = (),
                        include: Iterable[Path] = ()) -> str:
    """Fingerprint of the code behind ``modules``: the files of their :func:`import_closure`
    within ``packages`` without those in ``exclude`` and with those in ``include``, named relative
    to their package, and the compiled-kernel backends (:func:`spindrop.kernels.backends`)."""
    packages = tuple(packages)
    skipped = {Path(p).resolve() for p in exclude}
    files = {f for f in import_closure(modules, packages) if f not in skipped} | {Path(p).resolve() for p in include}
    return digest(files_fingerprint(files, _package_roots(packages)), backends())


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
