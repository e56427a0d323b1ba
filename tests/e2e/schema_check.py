"""Strict checking of a JSON answer against a response model of the API: every value
validates, and every key is one the model documents (but where the model allows more)."""

from __future__ import annotations

import types
import typing

from pydantic import BaseModel


def undocumented_keys(model, value, path: str = "$") -> list[str]:
    """Paths of the keys in ``value`` that ``model`` (a pydantic model or a type built of
    them: lists, dicts, unions, optionals) does not document."""
    origin = typing.get_origin(model)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(model) if a is not type(None)]
        if value is None:
            return []
        found = [undocumented_keys(a, value, path) for a in options]
        return min(found, key=len) if found else []
    if origin is list and isinstance(value, list):
        (item,) = typing.get_args(model)
        return [k for i, v in enumerate(value) for k in undocumented_keys(item, v, f"{path}[{i}]")]
    if origin is dict and isinstance(value, dict):
        _, item = typing.get_args(model)
        return [k for n, v in value.items() for k in undocumented_keys(item, v, f"{path}.{n}")]
    if isinstance(model, type) and issubclass(model, BaseModel) and isinstance(value, dict):
        fields = model.model_fields
        out = []
        if model.model_config.get("extra") != "allow":
            out += [f"{path}.{k}" for k in value if k not in fields]
        for name, info in fields.items():
            if name in value:
                out += undocumented_keys(info.annotation, value[name], f"{path}.{name}")
        return out
    return []


def check(model, value) -> None:
    """``value`` validates against ``model`` and has no undocumented key."""
    from pydantic import TypeAdapter

    TypeAdapter(model).validate_python(value, strict=False)
    extra = undocumented_keys(model, value)
    assert not extra, f"keys the response model of {model} does not document: {extra[:10]}"
