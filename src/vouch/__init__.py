"""vouch: Python releases that several independent parties can verify."""

__version__ = "0.1.0"
