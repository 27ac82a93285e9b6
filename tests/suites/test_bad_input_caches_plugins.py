"""Bad input of the last two classes (issue 27): caches and plugins. A corrupt cache entry is a
miss (one warning, the entry rebuilt), never an error; a plugin that cannot register is one line,
exit 2, with the store's finished cells unchanged."""
from __future__ import annotations

import importlib
import logging
import sys
import uuid

import pytest
import torch

from spindrop import registry
from spindrop.data import load_split
from spindrop.store import ResultStore
from suites.run import EXIT_USAGE, main

from .runner_helpers import FINISHED, assert_one_line, finished, tree
from .test_run_errors import BASE


def test_a_corrupt_decoded_data_entry_is_a_miss(tmp_path, data_root, monkeypatch, caplog):
    monkeypatch.setenv("SPINDROP_CACHE", str(tmp_path / "cache"))
    first = load_split("mnist", "test", data_root)
    (entry,) = (tmp_path / "cache" / "decoded").glob("mnist-test-*.pt")
    entry.write_bytes(entry.read_bytes()[:2000])  # cut short, as by a full disk or a killed copy
    with caplog.at_level(logging.WARNING, logger="spindrop.cache"):
        again = load_split("mnist", "test", data_root)
    assert torch.equal(again.images, first.images) and torch.equal(again.labels, first.labels)
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "spindrop.cache"]
    assert str(entry) in warning and "unreadable" in warning and "decoding mnist/test again" in warning
    assert entry.stat().st_size > 2000  # replaced by a readable entry
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="spindrop.cache"):
        assert torch.equal(load_split("mnist", "test", data_root).labels, first.labels)
    assert not caplog.records


@pytest.fixture
def plugin_module(tmp_path, monkeypatch):
    """``write(source)`` → the name of an importable module with that source; registry restored after."""
    registry.discover()  # the built-in methods registered first: their modules do not register twice
    saved, discovered = dict(registry._REGISTRY), registry._discovered
    names = []
    (tmp_path / "plugins").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path / "plugins"))

    def write(source: str) -> str:
        name = f"spindrop_test_plugin_{uuid.uuid4().hex[:8]}"
        (tmp_path / "plugins" / f"{name}.py").write_text(source)
        names.append(name)
        return name

    yield write
    registry._REGISTRY.clear()
    registry._REGISTRY.update(saved)
    registry._discovered = discovered
    for name in names:
        sys.modules.pop(name, None)
    importlib.invalidate_caches()


TAKEN_NAME = '''
from spindrop import Method, register_method

@register_method
class Spatial(Method):
    name = "spatial"
'''

NO_P = '''
from dataclasses import dataclass
from spindrop import Method, register_method

@dataclass(frozen=True)
class Config:
    strength: float

@register_method
class Needy(Method):
    name = "needy_{tag}"
    Config = Config
'''


def test_a_plugin_taking_a_registered_name(plugin_module, finished_store, in_process, capsys):
    module = plugin_module(TAKEN_NAME)
    before = tree(finished_store)
    rc = main([*BASE, "--plugin", module, "--out", str(finished_store)])
    assert_one_line(rc, EXIT_USAGE, capsys.readouterr(),
                    [f"plugin '{module}' failed to import", "method name 'spatial' is already registered",
                     "choose another name"])
    assert tree(finished_store) == before
    assert finished(ResultStore(finished_store), FINISHED)


def test_a_plugin_method_whose_config_cannot_be_built(plugin_module, finished_store, in_process, capsys):
    tag = uuid.uuid4().hex[:6]
    module = plugin_module(NO_P.format(tag=tag))
    before = tree(finished_store)
    rc = main([*BASE[:-1], f"needy_{tag}", "--plugin", module, "--out", str(finished_store)])
    assert_one_line(rc, EXIT_USAGE, capsys.readouterr(),
                    [f"method 'needy_{tag}' cannot be configured", "strength",
                     f"--method-param needy_{tag}.NAME=VALUE"])
    assert tree(finished_store) == before
