"""Races between concurrent writers, each run many times, and faults under concurrent load.

Every race test takes ``rounds``: 5 in the default run, 50 under ``-m slow``
(``python3 dev.py test -m slow tests/concurrency``).
"""

from __future__ import annotations

import pytest

ROUNDS = pytest.mark.parametrize("rounds", [5, pytest.param(50, marks=pytest.mark.slow)], ids=["5", "50"])
