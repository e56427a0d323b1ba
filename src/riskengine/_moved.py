"""Aliases for modules and names that moved: they still answer for one release, with a
``DeprecationWarning`` that says where the name went."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any


def moved_module(old: str, new: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` for module ``old``, whose names now live in module ``new``."""

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        try:
            value = getattr(importlib.import_module(new), name)
        except AttributeError:
            raise AttributeError(f"module {old!r} has no attribute {name!r}") from None
        warnings.warn(
            f"{old}.{name} moved to {new}.{name}; import it from there (this alias goes in the "
            "next release).",
            DeprecationWarning,
            stacklevel=2,
        )
        return value

    return __getattr__


def moved_names(where: str, names: dict[str, tuple[str, str]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for module ``where`` whose old ``names`` map to (module, new
    name)."""

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {where!r} has no attribute {name!r}")
        module, new = names[name]
        warnings.warn(
            f"{where}.{name} is now {module}.{new}; use that (this alias goes in the next "
            "release).",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(module), new)

    return __getattr__
