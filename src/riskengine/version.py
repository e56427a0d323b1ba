"""riskengine's version (layer 0: reports carry it in ``provenance.code_version``)."""

__version__ = "0.1.0"
