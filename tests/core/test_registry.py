"""The method registry: names, errors, run-time plugins and entry-point plugins."""
from __future__ import annotations

import importlib
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

import spindrop
from spindrop import PluginError, UnknownMethodError, registry
from spindrop.methods.base import Method

from .helpers import PLUGIN_METHOD, PLUGIN_PACKAGE

_CREATED: set[str] = set()  # top-level module names the tests below write


@pytest.fixture
def clean_registry():
    """Restore the registry and its discovery flag, and forget the modules the test wrote."""
    saved, discovered = dict(registry._REGISTRY), registry._discovered
    yield
    registry._REGISTRY.clear()
    registry._REGISTRY.update(saved)
    registry._discovered = discovered
    for name in [m for m in sys.modules if m.split(".")[0] in _CREATED]:
        del sys.modules[name]
    importlib.invalidate_caches()


def _unique(prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    _CREATED.add(name)
    return name


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


METHOD_SOURCE = """
    from spindrop import LayerHardware, Method, register_method
    from spindrop.methods.sites import ElementwiseSite

    {decorator}
    class {cls}(Method):
        name = "{name}"

        def make_site(self, layer):
            return ElementwiseSite(self.config)

        def layer_hardware(self, geom):
            return LayerHardware(geom.input_elements, geom.input_elements)
"""


def test_builtins_are_registered():
    assert {"deterministic", "mc_dropout", "spindrop", "spatial", "scale"} <= set(spindrop.list_methods())
    assert spindrop.list_methods() == sorted(spindrop.list_methods())


def test_duplicate_name_is_an_error(clean_registry):
    class Impostor(Method):
        name = "spindrop"

    with pytest.raises(ValueError, match="already registered"):
        spindrop.register_method(Impostor)
    assert spindrop.method_class("spindrop") is not Impostor
    # registering the same class again is harmless
    cls = spindrop.method_class("spatial")
    assert spindrop.register_method(cls) is cls


def test_register_rejects_non_methods_and_bad_names(clean_registry):
    with pytest.raises(TypeError):
        spindrop.register_method(object)

    class BadName(Method):
        name = "not an identifier"

    with pytest.raises(ValueError, match="identifier"):
        spindrop.register_method(BadName)


def test_unknown_name_lists_known_and_suggests_closest():
    with pytest.raises(UnknownMethodError) as info:
        spindrop.get_method("spindorp")
    msg = str(info.value)
    assert "did you mean 'spindrop'" in msg
    for name in spindrop.list_methods():
        assert name in msg
    assert isinstance(info.value, LookupError)


def test_unknown_name_without_close_match_has_no_suggestion():
    with pytest.raises(UnknownMethodError) as info:
        spindrop.get_method("zzzzzzzzzzzz")
    assert "did you mean" not in str(info.value)
    assert "deterministic" in str(info.value)


def test_load_plugin_registers_module_from_path(tmp_path, monkeypatch, clean_registry):
    module, name = _unique("plug_mod"), _unique("plug_method")
    _write(tmp_path / f"{module}.py",
           METHOD_SOURCE.format(decorator="@register_method", cls="PlugMethod", name=name))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert name not in spindrop.list_methods()
    spindrop.load_plugin(module)
    assert name in spindrop.list_methods()
    method = spindrop.get_method(name, p=0.3)
    assert method.params()["p"] == 0.3
    model = spindrop.build_model("mlp", (1, 28, 28), 10, 0.125)
    method.attach(model)
    assert spindrop.dropout_sites(model)


def test_failing_plugin_import_raises_one_line_plugin_error(tmp_path, monkeypatch, clean_registry):
    module = _unique("broken_plug")
    _write(tmp_path / f"{module}.py", """
        raise RuntimeError("boom: missing dependency")
    """)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError) as info:
        spindrop.load_plugin(module)
    msg = str(info.value)
    assert "\n" not in msg
    assert module in msg and "RuntimeError" in msg and "boom" in msg
    assert isinstance(info.value, ImportError)
    assert isinstance(info.value.__cause__, RuntimeError)


def test_missing_plugin_module_raises_plugin_error(clean_registry):
    module = _unique("no_such_plugin")
    with pytest.raises(PluginError, match=module) as info:
        spindrop.load_plugin(module)
    assert "\n" not in str(info.value)


def _dist(tmp_path: Path, package: str, entry_points: str) -> None:
    """A package and its dist-info, as pip leaves them in site-packages."""
    dist = tmp_path / f"{package}-0.1.0.dist-info"
    _write(dist / "METADATA", f"""\
        Metadata-Version: 2.1
        Name: {package.replace('_', '-')}
        Version: 0.1.0
    """)
    _write(dist / "entry_points.txt", "[spindrop.methods]\n" + entry_points)
    _write(tmp_path / package / "__init__.py", "")


def test_entry_point_module_is_discovered(tmp_path, monkeypatch, clean_registry):
    package, name = _unique("ep_pkg"), _unique("ep_method")
    _dist(tmp_path, package, f"{name} = {package}.{name}\n")
    _write(tmp_path / package / f"{name}.py",
           METHOD_SOURCE.format(decorator="@register_method", cls="EPMethod", name=name))
    assert name not in spindrop.list_methods()
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.discover(refresh=True)
    assert name in spindrop.list_methods()
    assert spindrop.method_class(name).__module__ == f"{package}.{name}"


def test_entry_point_naming_a_class_is_registered(tmp_path, monkeypatch, clean_registry):
    package, name = _unique("ep_cls_pkg"), _unique("ep_cls_method")
    _dist(tmp_path, package, f"{name} = {package}.impl:ClassMethod\n")
    _write(tmp_path / package / "impl.py",
           METHOD_SOURCE.format(decorator="", cls="ClassMethod", name=name))  # not decorated
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.discover(refresh=True)
    assert name in spindrop.list_methods()
    assert spindrop.method_class(name).__name__ == "ClassMethod"


def test_entry_point_class_with_a_taken_name_is_an_error(tmp_path, monkeypatch, clean_registry):
    """A third-party class declaring a built-in's name must not be silently ignored (the user
    would run the built-in believing it is the plugin): duplicate names are errors."""
    package = _unique("ep_dup_pkg")
    _dist(tmp_path, package, f"spatial = {package}.impl:Impostor\n")
    _write(tmp_path / package / "impl.py",
           METHOD_SOURCE.format(decorator="", cls="Impostor", name="spatial"))
    builtin = spindrop.method_class("spatial")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="already registered") as info:
        registry.discover(refresh=True)
    assert "\n" not in str(info.value)
    assert spindrop.method_class("spatial") is builtin


def test_broken_entry_point_raises_plugin_error(tmp_path, monkeypatch, clean_registry):
    package = _unique("ep_broken_pkg")
    _dist(tmp_path, package, f"broken = {package}.missing_module\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="broken") as info:
        registry.discover(refresh=True)
    assert "\n" not in str(info.value)


def test_example_plugin_is_listed_through_its_entry_point():
    """conftest installs plugin_example/ (package + dist-info) like a pip install."""
    from importlib import metadata

    eps = {ep.name: ep.value for ep in metadata.entry_points(group=registry.ENTRY_POINT_GROUP)}
    assert eps.get(PLUGIN_METHOD) == f"{PLUGIN_PACKAGE}.my_method"
    assert PLUGIN_METHOD in spindrop.list_methods()
    assert spindrop.method_class(PLUGIN_METHOD).__module__ == f"{PLUGIN_PACKAGE}.my_method"
