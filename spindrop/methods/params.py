"""Type checks of method parameters against their config dataclass's annotations.

``get_method("spatial", p="x")`` must say which parameter is wrong and what it expects, not fail
later inside a comparison. Supported annotations: ``bool``, ``int``, ``float`` (an int is
accepted and converted), ``str``, ``Literal[...]``, and unions of these with ``None``.
:func:`parse_param` reads a value written on a command line (``--method-param``) by the same
annotations, then checks it the same way.
"""
from __future__ import annotations

import types
import typing
from dataclasses import fields
from typing import Any, Literal, Union


def _accepts(annotation: Any, value: object) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(_accepts(arg, value) for arg in typing.get_args(annotation))
    if origin is Literal:
        return value in typing.get_args(annotation)
    if annotation is type(None):
        return value is None
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True  # an annotation this checker does not know: the config validates it


def _describe(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(arg) for arg in typing.get_args(annotation))
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def check_param_types(method: str, config: type, params: dict[str, object]) -> dict[str, object]:
    """``params`` checked against ``config``'s field annotations; ints given for float fields
    become floats (so ``p=0`` and ``p=0.0`` are the same parameters). Raises TypeError naming the
    parameter, the expected type and the value."""
    hints = typing.get_type_hints(config)
    checked = dict(params)
    for f in fields(config):
        if f.name not in params:
            continue
        annotation, value = hints.get(f.name, Any), params[f.name]
        if not _accepts(annotation, value):
            raise TypeError(f"method '{method}' parameter {f.name} must be {_describe(annotation)}, "
                            f"got {value!r} ({type(value).__name__})")
        if annotation is float and isinstance(value, int):
            checked[f.name] = float(value)
    return checked


_BOOLS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _from_text(annotation: Any, text: str) -> object:
    """``text`` converted as ``annotation`` reads it; the text itself where it does not convert
    (:func:`check_param_types` then names the expected type)."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        for arg in typing.get_args(annotation):
            value = _from_text(arg, text)
            if _accepts(arg, value):
                return value
        return text
    if origin is Literal:
        return next((a for a in typing.get_args(annotation) if str(a) == text), text)
    if annotation is type(None):
        return None if text.lower() in ("none", "null") else text
    if annotation is bool:
        return _BOOLS.get(text.lower(), text)
    for kind in (int, float):
        if annotation is kind:
            try:
                return kind(text)
            except ValueError:
                return text
    return text


def parse_param(method: str, config: type, name: str, text: str) -> object:
    """Parameter ``name`` of ``method``'s ``config`` written as ``text`` (``--method-param
    method.name=text``): converted by the field's annotation (bool: true/false, int, float, a
    Literal's value, None: none), then checked by :func:`check_param_types`. ValueError for a name
    the config does not have, TypeError for a value it does not accept."""
    known = [f.name for f in fields(config)]
    if name not in known:
        raise ValueError(f"method '{method}' has no parameter {name}; its parameters are {', '.join(known) or 'none'}")
    annotation = typing.get_type_hints(config).get(name, Any)
    return check_param_types(method, config, {name: _from_text(annotation, text)})[name]
