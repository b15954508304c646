"""A knowledge graph of immigration detention: GDP country updates as validated linked data."""

__version__ = "0.1.0"
