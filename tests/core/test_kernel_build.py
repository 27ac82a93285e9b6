"""Building, caching and loading the compiled kernels (spindrop/kernels/build.py), and their place
in the code fingerprint."""
from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spindrop import fingerprint, kernels
from spindrop.kernels import bitpack, build, levels, wordline

SOURCE = "int answer(void) { return %d; }\n"


@pytest.fixture
def source(tmp_path, monkeypatch):
    """A one-function C source, built into a cache of its own."""
    monkeypatch.setenv("SPINDROP_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SPINDROP_KERNELS", raising=False)
    path = tmp_path / "answer.c"
    path.write_text(SOURCE % 42)
    build.load.cache_clear()
    yield path
    build.load.cache_clear()


def _answer(lib: ctypes.CDLL | None) -> int:
    assert lib is not None
    return lib.answer()


def _built(cache: Path) -> list[Path]:
    return sorted(cache.rglob("*.so"))


def test_builds_once_and_reuses_the_cached_library(source, tmp_path):
    assert _answer(build.load(source)) == 42
    [library] = _built(tmp_path / "cache")
    stamp = library.stat().st_mtime_ns
    build.load.cache_clear()
    assert _answer(build.load(source)) == 42
    assert _built(tmp_path / "cache") == [library] and library.stat().st_mtime_ns == stamp


def test_an_edited_source_is_built_anew(source, tmp_path):
    assert _answer(build.load(source)) == 42
    source.write_text(SOURCE % 7)
    build.load.cache_clear()
    assert _answer(build.load(source)) == 7
    assert len(_built(tmp_path / "cache")) == 2


def test_a_corrupt_cached_library_is_a_miss(source, tmp_path):
    library = tmp_path / "cache" / "kernels" / build.build_key(source) / "answer.so"
    library.parent.mkdir(parents=True)
    library.write_bytes(b"not a shared library")  # e.g. a disk error: the build itself renames into place
    assert _answer(build.load(source)) == 42


def test_without_a_compiler_it_warns_once_and_gives_none(source, monkeypatch):
    monkeypatch.setenv("CC", "false")
    with pytest.warns(RuntimeWarning, match="pure-torch path"):
        assert build.load(source) is None
    assert build.load(source) is None  # memoised: no second warning, no second build


def test_spindrop_kernels_torch_turns_them_off(source, tmp_path, monkeypatch):
    monkeypatch.setenv("SPINDROP_KERNELS", "torch")
    assert build.load(source) is None
    assert not (tmp_path / "cache").exists()


def test_c_sources_and_the_backend_are_part_of_the_code_fingerprint(monkeypatch):
    assert Path(wordline.__file__).with_name("wordline.c") in fingerprint.package_files("spindrop")
    before = fingerprint.code_fingerprint(["spindrop"], [], [])
    other = kernels.backends()["wordline"] != "compiled"
    monkeypatch.setattr(wordline, "available", lambda: other)
    assert fingerprint.code_fingerprint(["spindrop"], [], []) != before


LOAD_IN_A_CHILD = """
import sys
from pathlib import Path
from spindrop.kernels import build
lib = build.load(Path(sys.argv[1]))
print(lib.answer() if lib is not None else "none")
"""


def _load_in_a_child(source: Path) -> subprocess.CompletedProcess:
    """Load ``source``'s library in a fresh interpreter (a SIGBUS there would not end pytest)."""
    return subprocess.run([sys.executable, "-c", LOAD_IN_A_CHILD, str(source)], capture_output=True,
                          text=True, timeout=120, env=os.environ.copy())


def test_a_truncated_cached_library_is_rebuilt_not_loaded(source, tmp_path):
    """Issue 27, item 5: a cached library cut to its first 2,000 bytes killed every later run
    with SIGBUS; it must fail its recorded checksum and be built again. Built in a child too: a
    library this process had mapped would take pytest down with SIGBUS when cut in place."""
    assert _load_in_a_child(source).stdout.split() == ["42"]
    [library] = _built(tmp_path / "cache")
    intact = library.read_bytes()
    library.write_bytes(intact[:2000])
    done = _load_in_a_child(source)
    assert done.returncode == 0, f"the child died ({done.returncode}): {done.stderr[-500:]}"
    assert done.stdout.split() == ["42"] and not done.stderr
    assert library.stat().st_size == len(intact)
    assert _load_in_a_child(source).stdout.split() == ["42"]  # and the rebuilt one is reused


def test_a_library_without_its_checksum_record_is_rebuilt(source, tmp_path):
    assert _answer(build.load(source)) == 42
    [library] = _built(tmp_path / "cache")
    library.with_name(library.name + ".sha256").unlink()
    stamp = library.stat().st_mtime_ns
    build.load.cache_clear()
    assert _answer(build.load(source)) == 42
    assert library.stat().st_mtime_ns != stamp and library.with_name(library.name + ".sha256").exists()


def test_the_bit_packed_kernel_is_in_no_code_fingerprint(monkeypatch):
    """Its numbers equal the fp32 path's (tests/core/test_bitpack.py), so neither editing its sources
    nor whether it is built may make a cell stale; editing another kernel still does."""
    assert kernels.exact_sources() <= set(fingerprint.package_files("spindrop"))
    before = fingerprint.code_fingerprint(["spindrop"], [], [])
    real = fingerprint.source_digest
    monkeypatch.setattr(fingerprint, "source_digest",
                        lambda p: "edited" if Path(p).resolve() in kernels.exact_sources() else real(p))
    monkeypatch.setattr(bitpack, "available", lambda: not bitpack.available())
    assert fingerprint.code_fingerprint(["spindrop"], [], []) == before
    monkeypatch.setattr(fingerprint, "source_digest", lambda p: "edited" if Path(p).name == "wordline.c" else real(p))
    assert fingerprint.code_fingerprint(["spindrop"], [], []) != before


def test_the_keep_byte_generator_is_a_backend_of_the_code_fingerprint(monkeypatch):
    """It draws other (identically distributed) bytes than torch's random_, so it can change a number."""
    assert Path(levels.__file__).with_name("levels.c") in fingerprint.package_files("spindrop")
    before = fingerprint.code_fingerprint(["spindrop"], [], [])
    other = not levels.available()
    monkeypatch.setattr(levels, "available", lambda: other)
    assert fingerprint.code_fingerprint(["spindrop"], [], []) != before
