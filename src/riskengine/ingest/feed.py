"""Moved to ``riskengine.ingest.exchange`` (a name that says what it is).
This alias goes in the next release."""

from riskengine._moved import moved_module

__getattr__ = moved_module("riskengine.ingest.feed", "riskengine.ingest.exchange")
