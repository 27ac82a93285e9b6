"""The method registry (timm style): ``@register_method``, ``list_methods()``, ``get_method()``.

Methods come from two places, both through :func:`register_method`:

1. installed packages that declare an entry point in the group ``spindrop.methods`` (the entry
   point names a module, which registers on import, or a :class:`Method` class). The built-in
   methods are registered this way too (``pyproject.toml``), so this core module names no
   package above it;
2. modules named at run time: :func:`load_plugin` (``--plugin my_pkg.my_method``).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Container
from importlib import metadata
from typing import Any

from .methods.base import Method
from .naming import UnknownNameError

ENTRY_POINT_GROUP = "spindrop.methods"

_REGISTRY: dict[str, type[Method]] = {}
_discovered = False


class PluginError(ImportError):
    """A plugin module or entry point could not be loaded."""


class UnknownMethodError(UnknownNameError):
    """No method is registered under the requested name."""


def register_method(cls: type[Method]) -> type[Method]:
    """Class decorator: register ``cls`` under ``cls.name``. A duplicate name is an error."""
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        raise TypeError(f"{cls!r} is not a spindrop Method subclass")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"{cls.__qualname__}.name must be an identifier string, got {name!r}")
    existing = _REGISTRY.get(name)
    if existing is not None and existing is not cls:
        raise ValueError(f"method name '{name}' is already registered by "
                         f"{existing.__module__}.{existing.__qualname__}; choose another name")
    _REGISTRY[name] = cls
    return cls


def load_plugin(module: str) -> None:
    """Import ``module`` so that the methods it decorates get registered."""
    try:
        importlib.import_module(module)
    except Exception as exc:
        raise PluginError(f"plugin '{module}' failed to import ({type(exc).__name__}: {exc}); "
                          "check that it is installed or on PYTHONPATH") from exc


def load_entry_points(group: str, register: Callable[[Any], object] = lambda obj: None,
                      skip: Container[str] = ()) -> None:
    """Load every installed entry point of ``group`` (but those named in ``skip``) and pass each
    loaded object to ``register`` (a module registers on import; a class may be registered by it).
    Any failure is one :class:`PluginError` naming the entry point and its group. The method, suite
    and cost-model registries all discover their plugins through this one function."""
    for ep in metadata.entry_points(group=group):
        if ep.name in skip:
            continue
        try:
            register(ep.load())
        except Exception as exc:
            raise PluginError(f"entry point '{ep.name} = {ep.value}' in group '{group}' "
                              f"failed to load ({type(exc).__name__}: {exc})") from exc


def _register_if_method(obj: object) -> None:
    if isinstance(obj, type) and issubclass(obj, Method):
        register_method(obj)  # idempotent for the same class; a taken name is an error


def _load_entry_points() -> None:
    load_entry_points(ENTRY_POINT_GROUP, _register_if_method)


def discover(refresh: bool = False) -> None:
    """Load the installed entry points, built-in methods included (once, or again on refresh)."""
    global _discovered
    if _discovered and not refresh:
        return
    _load_entry_points()
    if not metadata.entry_points(group=ENTRY_POINT_GROUP):
        raise PluginError(f"no entry point in group '{ENTRY_POINT_GROUP}': spindrop-bench is not installed "
                          "in this environment; run `pip install -e .` (or `make test`) from the checkout")
    _discovered = True


def list_methods() -> list[str]:
    """Names of all registered methods, sorted."""
    discover()
    return sorted(_REGISTRY)


def method_class(name: str) -> type[Method]:
    """The class registered as ``name``; an unknown name lists the known ones."""
    discover()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownMethodError("method", name, _REGISTRY) from None


def get_method(name: str, **params: object) -> Method:
    """An instance of method ``name`` with validated parameters."""
    return method_class(name)(**params)
