"""Moved to ``riskengine.pricing.compiled`` (a name that says what it is).
This alias goes in the next release."""

from riskengine._moved import moved_module

__getattr__ = moved_module("riskengine.pricing.book", "riskengine.pricing.compiled")
