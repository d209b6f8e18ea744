"""What every SVG chart Spread draws shares: escaping, numbers for people, coordinates, ticks.

The charts themselves (``service.analysis.svg`` for SPC, ``service.campaigns.svg`` for campaign
progress) are self-contained documents: no scripts, fonts, images or links to anything outside.
"""

from __future__ import annotations

import html
import math
import re

FONT = "Frutiger, Arial, Helvetica, sans-serif"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def escape(s: str) -> str:
    """Escaped for XML text and attributes, without characters XML 1.0 forbids."""
    return html.escape(_NOT_XML.sub("", s), quote=True)


def number(v: float, figures: int = 6) -> str:
    """A number for people: up to ``figures`` significant figures, whole numbers with separators."""
    if v == 0:
        return "0"
    if 1e-4 <= abs(v) < 1e12:
        shown = f"{v:,.{figures}g}" if abs(v) < 10 ** (figures - 1) else f"{v:,.0f}"
        return shown if "e" not in shown else f"{v:.{figures}g}"
    return f"{v:.4g}"


def coord(v: float) -> str:
    """A coordinate."""
    return f"{v:.2f}"


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Round-numbered ticks between ``low`` and ``high`` (at most 21); the two ends when floats run out."""
    raw = (high - low) / count
    if not (math.isfinite(raw) and raw > 0):
        return [low, high]
    magnitude = 10.0 ** math.floor(math.log10(raw))
    # Subnormal spans can leave no candidate step: fall back to the two ends.
    step = next((m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw), 0.0)
    if not (step > 0 and math.isfinite(low / step) and math.isfinite(high / step)):
        return [low, high]
    first, last = math.ceil(low / step), math.floor(high / step)
    if last - first > 20:
        return [low, high]
    return [0.0 if k == 0 else k * step for k in range(first, last + 1)]
