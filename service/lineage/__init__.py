"""Lineage: how each innovation travelled from site to site and how it changed on the way."""
