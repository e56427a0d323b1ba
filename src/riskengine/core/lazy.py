"""``scipy.stats`` imported on first use: it costs about a second at start-up, which every
command-line run would otherwise pay even when it never needs a distribution."""

from __future__ import annotations


class _LazyModule:
    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        import importlib

        return getattr(importlib.import_module(self._name), attr)


stats = _LazyModule("scipy.stats")
qmc = _LazyModule("scipy.stats.qmc")
