"""Spread: a registry of how NHS innovations travel from site to site and change on the way."""

__version__ = "0.1.0"
