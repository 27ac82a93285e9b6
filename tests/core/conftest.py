"""Fixtures of the core tests.

The example plugin in ``plugin_example/`` (a package plus its ``*.dist-info`` declaring the
entry point ``my_method = spindrop_example_plugin.my_method`` in group ``spindrop.methods``)
is put on ``sys.path`` while the core tests are collected and while each core test module
runs, so ``spindrop.list_methods()`` (read at collection time) includes ``my_method`` and
every method-parametrised test covers it with no test code of its own. Outside tests/core
it is removed again (path, registry entry, imported modules), so other test folders see the
registry as installed.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from .helpers import example_plugin, registered_methods
from .model_example import example_model


def _explicitly_parametrized(metafunc: pytest.Metafunc, name: str) -> bool:
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0]
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        if name in names:
            return True
    return False


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test taking ``method_name`` (and not parametrizing it itself) runs once per method
    in the registry, as found at collection time."""
    if "method_name" in metafunc.fixturenames and not _explicitly_parametrized(metafunc, "method_name"):
        metafunc.parametrize("method_name", registered_methods())


@pytest.fixture(scope="module", autouse=True)
def _example_plugin_installed() -> Iterator[None]:
    with example_plugin(), example_model():
        yield
