"""No function shares a dotted name with a module (issue 9): ``import hardware.cost as c`` must give
the module, not a function of the package that happens to carry the module's name."""
from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

PACKAGES = ("spindrop", "baselines", "hardware", "suites", "reports")


def _submodules() -> list[str]:
    names = []
    for package in PACKAGES:
        module = importlib.import_module(package)
        names += [info.name for info in pkgutil.walk_packages(module.__path__, f"{package}.")]
    return names


@pytest.mark.parametrize("name", _submodules())
def test_a_module_is_what_its_dotted_name_gives(name):
    module = importlib.import_module(name)
    parent, _, leaf = name.rpartition(".")
    attribute = getattr(importlib.import_module(parent), leaf)
    assert isinstance(attribute, types.ModuleType) and attribute is module, (
        f"{parent}.{leaf} is {attribute!r}, which hides the module {name}")
