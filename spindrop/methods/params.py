"""Type checks of method parameters against their config dataclass's annotations.

``get_method("spatial", p="x")`` must say which parameter is wrong and what it expects, not fail
later inside a comparison. Supported annotations: ``bool``, ``int``, ``float`` (an int is
accepted and converted), ``str``, ``Literal[...]``, and unions of these with ``None``.
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
