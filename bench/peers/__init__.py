"""Peer apps for bench/compare.py: what Spread's request path is measured against."""
