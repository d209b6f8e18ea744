"""A self-contained SVG of a campaign's progress: the cumulative total against its trajectory.

:func:`render_progress_svg` draws the trajectory (baseline at the start, through each
milestone, to the target at the due date; dashed), the milestones (diamonds), the target
(dashed red), the cumulative total at the end of each period (solid blue, with points) and
the ``asOf`` date. Every text that reaches the document is escaped; nothing outside it is
referenced (no scripts, fonts, images or links).
"""

from __future__ import annotations

import calendar
import datetime as dt

from service.campaigns.schemas import Campaign, Progress
from service.svg import FONT, coord, escape, nice_ticks, number

WIDTH = 800
HEIGHT = 440
LEFT, RIGHT, TOP, BOTTOM = 80, 28, 64, 96
BLUE = "#005EB8"  # NHS blue: the cumulative total
GREY = "#425563"  # NHS dark grey: axes, text, trajectory
MID = "#768692"
RED = "#DA291C"  # NHS red: the target
GREEN = "#009639"
STATUS_COLOURS = {"met": GREEN, "on_track": BLUE, "off_track": RED, "no_data": MID}
STATUS_LABELS = {"met": "target met", "on_track": "on track", "off_track": "off track", "no_data": "no data yet"}


def _num(v: float) -> str:
    return number(v, figures=4)


def _add_months(d: dt.date, months: int) -> dt.date:
    month = d.month - 1 + months
    year = d.year + month // 12
    month = month % 12 + 1
    return dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def period_end(start: dt.date, period: str) -> dt.date:
    """The last day of the period that begins on ``start``."""
    if period == "week":
        return start + dt.timedelta(days=6)
    return _add_months(start, 3 if period == "quarter" else 1) - dt.timedelta(days=1)


def _date_ticks(first: dt.date, last: dt.date) -> list[dt.date]:
    """First days of months (or quarters, or years) between two dates, at most about 10."""
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    for step in (1, 2, 3, 6, 12, 24, 60):
        if months / step <= 10:
            break
    tick = dt.date(first.year, first.month, 1)
    if step >= 12:
        tick = dt.date(first.year, 1, 1)
    elif step > 1:
        tick = dt.date(first.year, ((first.month - 1) // step) * step + 1, 1)
    ticks = []
    while tick <= last:
        if tick >= first:
            ticks.append(tick)
        tick = _add_months(tick, step)
    return ticks


def _tick_label(d: dt.date, span_days: int) -> str:
    return d.strftime("%Y") if span_days > 3 * 365 and d.month == 1 else d.strftime("%b %Y")


def render_progress_svg(progress: Progress, campaign: Campaign, unit: str | None = None) -> str:
    """An SVG document (a string) drawing ``progress`` for ``campaign``."""
    aim = campaign.aim
    first, last = campaign.starts_on, max(campaign.ends_on, aim.due_on)
    span = max((last - first).days, 1)
    trajectory = [(first, aim.baseline)]
    trajectory += [(m.on, m.target) for m in campaign.milestones if first < m.on < aim.due_on]
    trajectory += [(aim.due_on, aim.target), (last, aim.target)]
    points = [
        (min(period_end(p.period_start, progress.period), progress.as_of, last), p.value) for p in progress.series
    ]
    levels = [0.0, aim.baseline, aim.target, progress.overall.value, *(v for _, v in points)]
    high = max(levels) * 1.08 or 1.0
    low = min(0.0, min(levels))

    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM

    def x(d: dt.date) -> float:
        return LEFT + plot_w * min(max((d - first).days, 0), span) / span

    def y(v: float) -> float:
        return TOP + plot_h * (high - v) / (high - low)

    overall = progress.overall
    status = STATUS_LABELS.get(overall.status, overall.status)
    summary = (
        f"{_num(overall.value)} of {_num(overall.target)}"
        + (f" {unit}" if unit else "")
        + f" by {progress.as_of.isoformat()}: {status} (expected {_num(overall.expected_by_now)})"
    )
    if overall.projected_completion:
        verb = (
            "target reached in the period from" if overall.status == "met" else "at this pace, the target is reached on"
        )
        summary += f"; {verb} {overall.projected_completion.isoformat()}"
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="progress-title progress-desc" '
        f'font-family="{FONT}" font-size="12">',
        f'<title id="progress-title">{escape(campaign.name)}</title>',
        f'<desc id="progress-desc">Cumulative {escape(aim.measure_code)} for the campaign against its trajectory. '
        f"{escape(summary)}.</desc>",
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#FFFFFF"/>',
        f'<text class="chart-title" x="{LEFT}" y="26" font-size="16" font-weight="bold" fill="{GREY}">'
        f"{escape(campaign.name)}</text>",
        f'<text class="chart-summary" x="{LEFT}" y="46" fill="{STATUS_COLOURS.get(overall.status, GREY)}">'
        f"{escape(summary)}</text>",
    ]

    out.append('<g class="y-axis">')
    for tick in nice_ticks(low, high):
        ty = y(tick)
        out.append(
            f'<line x1="{LEFT}" y1="{coord(ty)}" x2="{WIDTH - RIGHT}" y2="{coord(ty)}" stroke="#E8EDEE" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{LEFT - 8}" y="{coord(ty + 4)}" text-anchor="end" fill="{GREY}">{escape(_num(tick))}</text>'
        )
    out.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="{GREY}" stroke-width="1"/>')
    label = escape(f"cumulative {aim.measure_code}" + (f" ({unit})" if unit else ""))
    out.append(
        f'<text x="18" y="{coord(TOP + plot_h / 2)}" text-anchor="middle" fill="{GREY}" '
        f'transform="rotate(-90 18 {coord(TOP + plot_h / 2)})">{label}</text>'
    )
    out.append("</g>")

    out.append('<g class="x-axis">')
    base_y = TOP + plot_h
    out.append(f'<line x1="{LEFT}" y1="{base_y}" x2="{WIDTH - RIGHT}" y2="{base_y}" stroke="{GREY}" stroke-width="1"/>')
    for day in _date_ticks(first, last):
        tx = x(day)
        out.append(f'<line x1="{coord(tx)}" y1="{base_y}" x2="{coord(tx)}" y2="{base_y + 5}" stroke="{GREY}"/>')
        out.append(
            f'<text x="{coord(tx)}" y="{base_y + 20}" text-anchor="middle" fill="{GREY}">'
            f"{escape(_tick_label(day, span))}</text>"
        )
    out.append("</g>")

    target_y = y(aim.target)
    out.append(
        f'<line class="target" x1="{LEFT}" y1="{coord(target_y)}" x2="{WIDTH - RIGHT}" y2="{coord(target_y)}" '
        f'stroke="{RED}" stroke-width="1.5" stroke-dasharray="6 4"/>'
    )
    out.append(
        f'<text x="{LEFT + 6}" y="{coord(target_y - 6)}" fill="{RED}">'
        f"target {escape(_num(aim.target))} by {aim.due_on.isoformat()}</text>"
    )
    path = " ".join(f"{coord(x(d))},{coord(y(v))}" for d, v in trajectory)
    out.append(
        f'<polyline class="trajectory" points="{path}" fill="none" stroke="{MID}" stroke-width="2" '
        f'stroke-dasharray="8 5"/>'
    )
    for m in campaign.milestones:
        if first < m.on < aim.due_on:
            mx, my = x(m.on), y(m.target)
            out.append(
                f'<path class="milestone" d="M{coord(mx)},{coord(my - 6)} L{coord(mx + 6)},{coord(my)} L{coord(mx)},{coord(my + 6)} '
                f'L{coord(mx - 6)},{coord(my)} Z" fill="#FFFFFF" stroke="{GREY}" stroke-width="1.5">'
                f"<title>milestone {escape(_num(m.target))} by {m.on.isoformat()}</title></path>"
            )

    if first <= progress.as_of <= last:
        ax = x(progress.as_of)
        out.append(
            f'<line class="as-of" x1="{coord(ax)}" y1="{TOP}" x2="{coord(ax)}" y2="{base_y}" stroke="{GREY}" '
            f'stroke-width="1" stroke-dasharray="2 3"/>'
        )
        anchor, dx = ("end", -4) if ax > LEFT + plot_w * 0.8 else ("start", 4)
        out.append(
            f'<text x="{coord(ax + dx)}" y="{base_y - 6}" text-anchor="{anchor}" fill="{GREY}">'
            f"as of {progress.as_of.isoformat()}</text>"
        )

    if points:
        line = " ".join(f"{coord(x(d))},{coord(y(v))}" for d, v in points)
        out.append(f'<polyline class="cumulative" points="{line}" fill="none" stroke="{BLUE}" stroke-width="2.5"/>')
        for (d, v), p in zip(points, progress.series, strict=True):
            out.append(
                f'<circle class="point" cx="{coord(x(d))}" cy="{coord(y(v))}" r="3.5" fill="{BLUE}">'
                f"<title>{escape(p.period_start.isoformat())}: {escape(_num(v))} "
                f"(expected {escape(_num(p.expected))})</title></circle>"
            )

    legend_y = HEIGHT - 28
    items = [
        (f'<line x1="0" y1="0" x2="24" y2="0" stroke="{BLUE}" stroke-width="2.5"/>', "cumulative total"),
        (f'<line x1="0" y1="0" x2="24" y2="0" stroke="{MID}" stroke-width="2" stroke-dasharray="8 5"/>', "trajectory"),
        (f'<path d="M12,-6 L18,0 L12,6 L6,0 Z" fill="#FFFFFF" stroke="{GREY}" stroke-width="1.5"/>', "milestone"),
        (f'<line x1="0" y1="0" x2="24" y2="0" stroke="{RED}" stroke-width="1.5" stroke-dasharray="6 4"/>', "target"),
    ]
    out.append(f'<g class="legend" transform="translate({LEFT} {legend_y})">')
    for i, (mark, text) in enumerate(items):
        out.append(f'<g transform="translate({i * 150} 0)">{mark}<text x="30" y="4" fill="{GREY}">{text}</text></g>')
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)
