"""``--method-param NAME.PARAM=VALUE``: a value written as text is converted by the field's annotation
of the method's config and checked by the same type checks as ``get_method`` (spindrop.methods.params)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

from spindrop.methods.params import parse_param
from spindrop.registry import list_methods, method_class


@dataclass(frozen=True)
class Config:
    p: float = 0.2
    draws: int = 1
    rescale: bool = False
    placement: Literal["mac", "post_bn"] = "mac"
    bits: Literal[4, 8] = 8
    limit: float | None = None
    tag: str = "x"


@pytest.mark.parametrize(("name", "text", "value"), [
    ("p", "0.1", 0.1), ("p", "1", 1.0), ("draws", "3", 3), ("rescale", "true", True), ("rescale", "False", False),
    ("rescale", "0", False), ("placement", "post_bn", "post_bn"), ("bits", "4", 4), ("limit", "none", None),
    ("limit", "2.5", 2.5), ("tag", "none", "none"),
])
def test_text_is_converted_by_the_annotation(name, text, value):
    got = parse_param("m", Config, name, text)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize(("name", "text", "message"), [
    ("p", "high", "parameter p must be float, got 'high'"),
    ("draws", "1.5", "parameter draws must be int, got '1.5'"),
    ("rescale", "maybe", "parameter rescale must be bool, got 'maybe'"),
    ("placement", "classifier", "must be one of 'mac', 'post_bn', got 'classifier'"),
    ("bits", "16", "must be one of 4, 8, got '16'"),
])
def test_a_value_the_config_does_not_accept_names_the_parameter_and_type(name, text, message):
    with pytest.raises(TypeError, match=message):
        parse_param("m", Config, name, text)


def test_an_unknown_parameter_lists_the_known_ones():
    with pytest.raises(ValueError, match="method 'm' has no parameter q; its parameters are p, draws, rescale"):
        parse_param("m", Config, "q", "1")


@pytest.mark.parametrize("method", list_methods())
def test_every_default_of_every_method_reads_back_from_its_text(method):
    """Each registered method's parameters can be set on the command line: the text of a default
    value converts back to that value."""
    config = method_class(method).Config
    for name, value in vars(config()).items():
        assert parse_param(method, config, name, str(value)) == value
