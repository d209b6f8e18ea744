"""A self-contained SVG of an XmR chart, in the NHS "Making Data Count" style.

:func:`render_spc_svg` draws an :class:`~service.analysis.schemas.SpcResult`: the series, each
point coloured by its type (improvement blue, concern orange, neutral purple, common cause
grey), each phase's mean (solid) and process limits (dashed), the target (dashed red) and the
periods along the x axis. Every text that reaches the document is escaped; no scripts, fonts
or links to anything outside it.
"""

from __future__ import annotations

import math

from service.analysis.schemas import SpcResult
from service.svg import FONT, coord, escape, nice_ticks, number

WIDTH = 800
HEIGHT = 420
LEFT, RIGHT, TOP, BOTTOM = 72, 24, 48, 96

COLOURS = {
    "special_cause_improvement": "#41B6E6",  # NHS light blue
    "special_cause_concern": "#ED8B00",  # NHS orange
    "special_cause_neutral": "#330072",  # NHS purple
    "common_cause": "#768692",  # NHS mid grey
}
LABELS = {
    "special_cause_improvement": "Improvement",
    "special_cause_concern": "Concern",
    "special_cause_neutral": "Special cause",
    "common_cause": "Common cause",
}
LINE = "#425563"  # NHS dark grey
TARGET = "#DA291C"  # NHS red
MAX_X_LABELS = 12


def render_spc_svg(result: SpcResult, title: str, unit: str | None = None, target: float | None = None) -> str:
    """An SVG document (a string) drawing ``result``; ``unit`` labels the y axis."""
    points = result.points
    n = len(points)
    levels = [p.value for p in points]
    for phase in result.phases:
        levels += [phase.upper_limit, phase.lower_limit, phase.mean]
    if target is not None and math.isfinite(target):
        levels.append(target)
    else:
        target = None
    low, high = min(levels), max(levels)
    if high - low <= 0:
        pad = abs(high) * 0.1 or 1.0
        low, high = low - pad, high + pad
    else:
        pad = (high - low) * 0.06
        low, high = low - pad, high + pad

    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM

    inset = 10  # keep the first and last points off the axes

    def x(i: int) -> float:
        return LEFT + inset + (plot_w - 2 * inset) * i / (n - 1)

    def y(v: float) -> float:
        return TOP + plot_h * (high - v) / (high - low)

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="spc-title spc-desc" '
        f'font-family="{FONT}" font-size="12">',
        f'<title id="spc-title">{escape(title)}</title>',
        f'<desc id="spc-desc">Statistical process control (XmR) chart of {n} points in {len(result.phases)} '
        f"phase(s); variation: {escape(result.variation)}"
        + (f"; assurance: {escape(result.assurance)}" if result.assurance else "")
        + ".</desc>",
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#FFFFFF"/>',
        f'<text class="chart-title" x="{LEFT}" y="28" font-size="16" font-weight="bold" fill="{LINE}">'
        f"{escape(title)}</text>",
    ]

    # y axis, grid and ticks
    out.append('<g class="y-axis">')
    for tick in nice_ticks(low, high):
        ty = y(tick)
        out.append(
            f'<line x1="{LEFT}" y1="{coord(ty)}" x2="{WIDTH - RIGHT}" y2="{coord(ty)}" stroke="#E8EDEE" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{LEFT - 6}" y="{coord(ty + 4)}" text-anchor="end" fill="{LINE}">{escape(number(tick))}</text>'
        )
    out.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="{LINE}" stroke-width="1"/>')
    if unit:
        cy = TOP + plot_h / 2
        out.append(
            f'<text class="y-label" x="16" y="{coord(cy)}" text-anchor="middle" fill="{LINE}" '
            f'transform="rotate(-90 16 {coord(cy)})">{escape(unit)}</text>'
        )
    out.append("</g>")

    # x axis with period (or index) labels, thinned to at most MAX_X_LABELS
    out.append('<g class="x-axis">')
    out.append(
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" stroke="{LINE}" '
        'stroke-width="1"/>'
    )
    every = max(1, math.ceil(n / MAX_X_LABELS))
    for p in points:
        if p.index % every and p.index != n - 1:
            continue
        label = p.period.isoformat() if p.period is not None else str(p.index)
        lx, ly = x(p.index), TOP + plot_h + 14
        out.append(
            f'<text x="{coord(lx)}" y="{coord(ly)}" text-anchor="end" fill="{LINE}" font-size="11" '
            f'transform="rotate(-40 {coord(lx)} {coord(ly)})">{escape(label)}</text>'
        )
    out.append("</g>")

    # per phase: mean (solid), process limits (dashed)
    starts = [ph.start for ph in result.phases]
    ends = [*starts[1:], n]
    out.append('<g class="phases">')
    for ph, end in zip(result.phases, ends, strict=True):
        x1, x2 = coord(x(ph.start)), coord(x(end - 1))
        out.append(
            f'<line class="mean" x1="{x1}" y1="{coord(y(ph.mean))}" x2="{x2}" y2="{coord(y(ph.mean))}" '
            f'stroke="{LINE}" stroke-width="1.5"><title>Mean {escape(number(ph.mean))}</title></line>'
        )
        for cls, level, name in (
            ("limit upper-limit", ph.upper_limit, "Upper process limit"),
            ("limit lower-limit", ph.lower_limit, "Lower process limit"),
        ):
            out.append(
                f'<line class="{cls}" x1="{x1}" y1="{coord(y(level))}" x2="{x2}" y2="{coord(y(level))}" '
                f'stroke="{LINE}" stroke-width="1" stroke-dasharray="6 4"><title>{name} {escape(number(level))}'
                "</title></line>"
            )
        if ph.start > 0:
            bx = coord((x(ph.start - 1) + x(ph.start)) / 2)
            out.append(
                f'<line class="rebase" x1="{bx}" y1="{TOP}" x2="{bx}" y2="{TOP + plot_h}" stroke="#AEB7BD" '
                'stroke-width="1" stroke-dasharray="2 3"/>'
            )
    out.append("</g>")

    if target is not None:
        target_y = coord(y(target))
        out.append(
            f'<line class="target" x1="{LEFT}" y1="{target_y}" x2="{WIDTH - RIGHT}" y2="{target_y}" stroke="{TARGET}" '
            f'stroke-width="1.5" stroke-dasharray="8 4"><title>Target {escape(number(target))}</title></line>'
        )

    # the series and its points
    path = " ".join(f"{coord(x(p.index))},{coord(y(p.value))}" for p in points)
    out.append(f'<polyline class="series" points="{path}" fill="none" stroke="#AEB7BD" stroke-width="1.5"/>')
    radius = 3.5 if n <= 60 else 2.5 if n <= 300 else 1.5
    out.append('<g class="points">')
    for p in points:
        when = p.period.isoformat() if p.period is not None else f"#{p.index}"
        rules = f" ({', '.join(p.rules)})" if p.rules else ""
        out.append(
            f'<circle class="point {p.point_type}" cx="{coord(x(p.index))}" cy="{coord(y(p.value))}" r="{radius}" '
            f'fill="{COLOURS[p.point_type]}"><title>{escape(when)}: {escape(number(p.value))} - '
            f"{escape(LABELS[p.point_type])}{escape(rules)}</title></circle>"
        )
    out.append("</g>")

    # legend: the point types present, then the lines
    out.append('<g class="legend">')
    lx = float(LEFT)
    ly = HEIGHT - 14
    present = [t for t in COLOURS if any(p.point_type == t for p in points)]
    for t in present:
        out.append(f'<circle cx="{coord(lx + 4)}" cy="{ly - 4}" r="4" fill="{COLOURS[t]}"/>')
        out.append(f'<text x="{coord(lx + 12)}" y="{ly}" fill="{LINE}" font-size="11">{escape(LABELS[t])}</text>')
        lx += 30 + 6.5 * len(LABELS[t])
    lines = [("Mean", LINE, ""), ("Process limits", LINE, ' stroke-dasharray="6 4"')]
    if target is not None:
        lines.append(("Target", TARGET, ' stroke-dasharray="8 4"'))
    for name, colour, dash in lines:
        out.append(
            f'<line x1="{coord(lx)}" y1="{ly - 4}" x2="{coord(lx + 18)}" y2="{ly - 4}" stroke="{colour}"{dash}/>'
        )
        out.append(f'<text x="{coord(lx + 22)}" y="{ly}" fill="{LINE}" font-size="11">{name}</text>')
        lx += 38 + 6.5 * len(name)
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)
