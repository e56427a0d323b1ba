"""Moved to ``riskengine.service.stored_books`` (a name that says what it is).
This alias goes in the next release."""

from riskengine._moved import moved_module

__getattr__ = moved_module("riskengine.service.books", "riskengine.service.stored_books")
