"""Method parameters are type-checked against their config (issue 8: ``get_method("spatial", p="x")``
raised ``TypeError: '<=' not supported`` from inside the config); every registered method's
resolved parameters round-trip."""
from __future__ import annotations

import dataclasses
import typing

import pytest

import spindrop


def _fields(method_name: str) -> dict[str, object]:
    config = spindrop.method_class(method_name).Config
    return {f.name: typing.get_type_hints(config)[f.name] for f in dataclasses.fields(config)}


WRONG = {float: "x", bool: 1, int: 0.5, str: 3}


def test_wrong_type_names_the_parameter_and_the_expected_type(method_name):
    for name, annotation in _fields(method_name).items():
        bad = WRONG.get(annotation, object())
        with pytest.raises(TypeError) as info:
            spindrop.get_method(method_name, **{name: bad})
        msg = str(info.value)
        assert f"'{method_name}'" in msg and f"parameter {name} must be" in msg and repr(bad) in msg, msg


def test_spatial_p_as_a_string_is_refused():
    with pytest.raises(TypeError, match=r"parameter p must be float, got 'x' \(str\)"):
        spindrop.get_method("spatial", p="x")


def test_bool_is_not_a_number_and_an_int_p_becomes_a_float():
    with pytest.raises(TypeError, match="parameter p must be float, got True"):
        spindrop.get_method("spatial", p=True)
    assert spindrop.get_method("spatial", p=0).params()["p"] == 0.0
    assert isinstance(spindrop.get_method("spatial", p=0).params()["p"], float)


def test_resolved_parameters_recreate_the_same_method(method_name):
    method = spindrop.get_method(method_name)
    again = spindrop.get_method(method_name, **method.params())
    assert again.params() == method.params()
