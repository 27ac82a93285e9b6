"""Verify data files against ``<root>/SHA256SUMS`` (the format written by ``sha256sum``).

Each line of SHA256SUMS is ``<64 hex digits><two spaces or " *"><path relative to the root>``.
A file's sha256 is computed once per process and remembered by (path, size, mtime) both in
memory and in ``<cache>/sha256-memo.json``, so a later process does not re-hash an unchanged
large file. The digest also keys the decoded-data cache.

A file that SHA256SUMS does not list (or a root without SHA256SUMS, e.g. a folder of freshly
downloaded canonical files) is hashed but cannot be verified; this is logged at WARNING level.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from .errors import DataError
from .root import atomic_write, resolve_cache_dir

log = logging.getLogger(__name__)

SUMS_FILE = "SHA256SUMS"
MEMO_FILE = "sha256-memo.json"
_CHUNK = 1 << 20

_memo: dict[tuple[str, int, int], str] = {}


def read_sums(root: Path) -> dict[str, str]:
    """``{relative path: sha256 hex}`` from ``<root>/SHA256SUMS``; empty when the file is absent."""
    sums_path = root / SUMS_FILE
    if not sums_path.is_file():
        return {}
    sums = {}
    for number, line in enumerate(sums_path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or len(parts[0]) != 64:
            raise DataError(f"malformed line {number} in {sums_path}: expected '<sha256>  <path>' "
                            "as written by sha256sum; regenerate it with "
                            f"`cd {root} && sha256sum <files> > {SUMS_FILE}`")
        sums[parts[1].lstrip("*").strip()] = parts[0].lower()
    return sums


def _memo_path() -> Path:
    return resolve_cache_dir() / MEMO_FILE


def _read_disk_memo() -> dict[str, list]:
    try:
        data = json.loads(_memo_path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_disk_memo(path: str, size: int, mtime_ns: int, digest: str) -> None:
    memo = _read_disk_memo()
    memo[path] = [size, mtime_ns, digest]
    atomic_write(_memo_path(), lambda fh: fh.write(json.dumps(memo, indent=0).encode()))


def hash_file(path: Path) -> str:
    """sha256 hex digest of the whole file (no memo)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 of ``path``, memoised by (resolved path, size, mtime_ns) in memory and on disk."""
    path = path.resolve()
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key in _memo:
        return _memo[key]
    entry = _read_disk_memo().get(key[0])
    if isinstance(entry, list) and len(entry) == 3 and tuple(entry[:2]) == key[1:]:
        digest = str(entry[2])
    else:
        digest = hash_file(path)
        _write_disk_memo(key[0], st.st_size, st.st_mtime_ns, digest)
    _memo[key] = digest
    return digest


def verify_file(root: Path, relpath: str, hint: str) -> str:
    """Check ``<root>/<relpath>`` exists and matches SHA256SUMS; return its sha256.

    ``hint`` completes the one-line DataError for a missing file (how to provide it).
    """
    path = root / relpath
    if not path.is_file():
        raise DataError(f"missing file {path}: {hint}")
    digest = file_sha256(path)
    expected = read_sums(root).get(relpath)
    if expected is None:
        log.warning("%s is not listed in %s; using it unverified", path, root / SUMS_FILE)
    elif expected != digest:
        raise DataError(f"checksum mismatch for {path}: expected sha256 {expected[:12]}…, got "
                        f"{digest[:12]}…: replace the file with the canonical one or correct "
                        f"{root / SUMS_FILE}")
    return digest


def clear_memo() -> None:
    """Forget the in-process memo (the on-disk memo stays); used by tests."""
    _memo.clear()
