"""Server-side SVG charts that draw ranges honestly: a figure is its stated [lower, upper], never a point it
does not state. Solid = the part every value the source allows reaches; pale with a dashed outline = the part
only some reach; an open bound runs to the plot's edge and ends in an arrow; a hollow circle marks an excluded
bound. Each chart carries a title and a description (its text alternative); the page puts a table of the same
numbers beside it. Every text that comes from data is escaped: the markup is ours alone."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from app.web.numbers import grouped


@dataclass(frozen=True)
class Span:
    """A stated range; None = open. Exact figures have lower == upper, both inclusive."""

    lower: float | None
    upper: float | None
    lower_inclusive: bool = True
    upper_inclusive: bool = True

    @property
    def exact(self) -> bool:
        return self.lower is not None and self.lower == self.upper

    @property
    def finite_max(self) -> float:
        return max(v for v in (self.lower, self.upper, 0.0) if v is not None)


def span_of(metric: dict[str, object]) -> Span:
    def num(key: str) -> float | None:
        value = metric.get(key)
        return float(value) if isinstance(value, int | float) else None

    return Span(
        num("lower"),
        num("upper"),
        metric.get("lower_inclusive") is not False,
        metric.get("upper_inclusive") is not False,
    )


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if step * magnitude >= value:
            return step * magnitude
    return 10.0 * magnitude


def _ticks(lo: float, hi: float, count: int = 4) -> list[float]:
    step = (hi - lo) / count
    return [lo + i * step for i in range(count + 1)]


def _short(value: float) -> str:
    if abs(value) >= 1e9:
        return f"{value / 1e9:g}bn"
    if abs(value) >= 1e6:
        return f"{value / 1e6:g}M"
    if abs(value) >= 1e3:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def _svg(width: int, height: int, title: str, desc: str, body: list[str], css: str = "chart") -> Markup:
    # Ids from the content (deterministic: the same page renders to the same bytes, and so the same ETag).
    ident = "c" + hashlib.sha256(f"{title}\n{desc}".encode()).hexdigest()[:10]
    return Markup(  # noqa: S704 (our markup; data text escaped)
        f'<svg class="{css}" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{ident}t {ident}d" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}t">{escape(title)}</title><desc id="{ident}d">{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _arrow(x_from: float, x_to: float, y: float) -> str:
    """A line to the plot's edge with an arrowhead: no upper bound stated."""
    return (
        f'<line class="open-arrow" x1="{x_from:.1f}" y1="{y:.1f}" x2="{x_to - 6:.1f}" y2="{y:.1f}"/>'
        f'<path class="arrow-head" d="M{x_to - 9:.1f},{y - 5:.1f} L{x_to:.1f},{y:.1f} L{x_to - 9:.1f},{y + 5:.1f} z"/>'
    )


def _range_marks(span: Span, x: float, y: float, h: float, scale: float, edge: float, cls: str) -> list[str]:
    """One stated range drawn from 0: solid to the lower bound, pale to the upper, an arrow where it is open."""
    out: list[str] = []
    lower = span.lower if span.lower is not None else 0.0
    x_lower = x + lower * scale
    if x_lower > x:
        out.append(f'<rect class="{cls}" x="{x:.1f}" y="{y:.1f}" width="{x_lower - x:.1f}" height="{h:.1f}"/>')
    if span.exact:
        out.append(
            f'<line class="exact-tick" x1="{x_lower:.1f}" y1="{y - 2:.1f}" x2="{x_lower:.1f}" y2="{y + h + 2:.1f}"/>'
        )
        return out
    x_upper = edge if span.upper is None else x + span.upper * scale
    if x_upper > x_lower:
        out.append(
            f'<rect class="range-part" x="{x_lower:.1f}" y="{y:.1f}" width="{x_upper - x_lower:.1f}" height="{h:.1f}"/>'
        )
    if span.upper is None:
        out.append(_arrow(x_lower, edge, y + h / 2))
    if span.lower is not None:
        fill = "bound-closed" if span.lower_inclusive else "bound-open"
        out.append(f'<circle class="{fill}" cx="{x_lower:.1f}" cy="{y + h / 2:.1f}" r="{min(h / 2, 5):.1f}"/>')
    return out


@dataclass(frozen=True)
class Bar:
    label: str
    span: Span
    text: str  # the value as printed
    cls: str = "bar"


def _axis(x0: float, x1: float, y: float, lo: float, hi: float, top: float) -> list[str]:
    out = [f'<line class="axis" x1="{x0}" y1="{y}" x2="{x1}" y2="{y}"/>']
    for tick in _ticks(lo, hi):
        tx = x0 + (tick - lo) / (hi - lo) * (x1 - x0)
        out.append(f'<line class="grid" x1="{tx:.1f}" y1="{top}" x2="{tx:.1f}" y2="{y}"/>')
        out.append(f'<text class="tick" x="{tx:.1f}" y="{y + 16}" text-anchor="middle">{_short(tick)}</text>')
    return out


def range_rows(bars: Sequence[Bar], title: str, desc: str, width: int = 560) -> Markup:
    """Horizontal rows of stated ranges on one shared axis from 0."""
    label_w, right, row_h = 190, 40, 34
    x0, x1 = label_w, width - right
    hi = _nice_max(max((b.span.finite_max for b in bars), default=1.0) * 1.12)
    scale = (x1 - x0) / hi
    height = 20 + row_h * len(bars) + 24
    body: list[str] = []
    body += _axis(x0, x1, 20 + row_h * len(bars), 0, hi, 10)
    for i, bar in enumerate(bars):
        y = 20 + i * row_h + 8
        body.append(f'<text class="label" x="{label_w - 8}" y="{y + 13}" text-anchor="end">{escape(bar.label)}</text>')
        body += _range_marks(bar.span, x0, y, 18, scale, x1, bar.cls)
        end = bar.span.lower if bar.span.upper is None else bar.span.upper
        tx = min(x0 + (end or 0) * scale + 8, x1 - 4)
        anchor = "end" if tx >= x1 - 60 else "start"
        if bar.span.upper is None:
            tx, anchor = x0 + (bar.span.lower or 0) * scale - 8, "end"
            if tx - x0 < 90:
                tx, anchor = x1 - 4, "end"
        body.append(
            f'<text class="value" x="{tx:.1f}" y="{y - 2 if bar.span.upper is None else y + 13}" '
            f'text-anchor="{anchor}">{escape(bar.text)}</text>'
        )
    return _svg(width, height, title, desc, body)


def paired_bars(
    rows: Sequence[tuple[str, Span, str, Span, str]], names: tuple[str, str], title: str, desc: str, width: int = 560
) -> Markup:
    """Two figures per row side by side on one axis (e.g. persons and cases per destination)."""
    label_w, right, row_h, h = 130, 70, 46, 15
    x0, x1 = label_w, width - right
    hi = _nice_max(max((max(a.finite_max, b.finite_max) for _, a, _, b, _ in rows), default=1.0) * 1.05)
    scale = (x1 - x0) / hi
    legend_h = 26
    height = legend_h + row_h * len(rows) + 26
    body = [
        f'<rect class="bar" x="{x0}" y="4" width="14" height="12"/>'
        f'<text class="legend" x="{x0 + 20}" y="14">{escape(names[0])}</text>',
        f'<rect class="bar-alt" x="{x0 + 120}" y="4" width="14" height="12"/>'
        f'<text class="legend" x="{x0 + 140}" y="14">{escape(names[1])}</text>',
    ]
    body += _axis(x0, x1, legend_h + row_h * len(rows), 0, hi, legend_h)
    for i, (label, a, a_text, b, b_text) in enumerate(rows):
        y = legend_h + i * row_h + 6
        body.append(f'<text class="label" x="{label_w - 8}" y="{y + 19}" text-anchor="end">{escape(label)}</text>')
        for offset, span, text, cls in ((0, a, a_text, "bar"), (h + 2, b, b_text, "bar-alt")):
            body += _range_marks(span, x0, y + offset, h, scale, x1, cls)
            tx = x0 + (span.upper if span.upper is not None else span.finite_max) * scale + 5
            body.append(f'<text class="value" x="{tx:.1f}" y="{y + offset + 12}">{escape(text)}</text>')
    return _svg(width, height, title, desc, body)


@dataclass(frozen=True)
class Part:
    label: str
    span: Span


def stacked_against_total(
    parts: Sequence[Part], total: Span, parts_label: str, total_label: str, title: str, desc: str, width: int = 560
) -> Markup:
    """The parts stacked in one bar against the total's stated range, and, when the two ends are too close to
    tell apart at full scale, a zoomed strip around them with the gap measured."""
    label_w, right = 150, 30
    x0, x1 = label_w, width - right
    parts_lower = sum(p.span.lower or 0 for p in parts)
    parts_open = any(p.span.upper is None for p in parts)
    parts_upper = None if parts_open else sum(p.span.upper or 0 for p in parts)
    ends = [v for v in (parts_lower, parts_upper, total.lower, total.upper) if v is not None]
    hi = _nice_max(max(ends) * 1.15)
    scale = (x1 - x0) / hi
    body: list[str] = []
    y = 14
    body.append(f'<text class="label" x="{label_w - 8}" y="{y + 19}" text-anchor="end">{escape(parts_label)}</text>')
    x = float(x0)
    for i, part in enumerate(parts):
        w = (part.span.lower or 0) * scale
        body.append(f'<rect class="seg seg{i % 4}" x="{x:.1f}" y="{y}" width="{w:.1f}" height="28"/>')
        if w > 50:
            body.append(
                f'<text class="seg-label" x="{x + w / 2:.1f}" y="{y + 19}" text-anchor="middle">'
                f"{escape(part.label)}</text>"
            )
        x += w
    extra = Span(parts_lower, parts_upper) if parts_upper != parts_lower else None
    if extra is not None:
        body += [m for m in _range_marks(extra, x0, y, 28, scale, x1, "none") if "range-part" in m or "arrow" in m]

    y2 = y + 48
    body.append(f'<text class="label" x="{label_w - 8}" y="{y2 + 19}" text-anchor="end">{escape(total_label)}</text>')
    body += _range_marks(total, x0, y2, 28, scale, x1, "bar-total")
    axis_y = y2 + 44
    body += _axis(x0, x1, axis_y, 0, hi, 6)
    height = axis_y + 26
    # Zoom: the two ends within 2% of the axis of each other cannot be told apart at this scale.
    total_end = total.lower if total.lower is not None else total.upper
    if total_end is not None and abs(parts_lower - total_end) < 0.02 * hi:
        a, b = sorted((parts_lower, total_end))
        gap = b - a
        pad = max(gap * 1.5, 1.0)
        lo, zhi = a - pad, b + pad
        zscale = (x1 - x0) / (zhi - lo)
        top = height + 26
        body.append(
            f'<text class="zoom-title" x="{x0}" y="{top - 8}">Zoomed in on the two ends: a gap of {grouped(gap)}</text>'
        )
        px = x0 + (parts_lower - lo) * zscale
        body.append(
            f'<rect class="seg seg{(len(parts) - 1) % 4}" x="{x0}" y="{top}" width="{px - x0:.1f}" height="20"/>'
        )
        body.append(
            f'<text class="label" x="{label_w - 8}" y="{top + 15}" text-anchor="end">{escape(parts_label)}</text>'
        )
        t_lower = total.lower if total.lower is not None else lo
        tx = x0 + (t_lower - lo) * zscale
        ty = top + 30
        body.append(f'<rect class="bar-total" x="{x0}" y="{ty}" width="{tx - x0:.1f}" height="20"/>')
        body.append(
            f'<text class="label" x="{label_w - 8}" y="{ty + 15}" text-anchor="end">{escape(total_label)}</text>'
        )
        if total.upper is None:
            body.append(f'<rect class="range-part" x="{tx:.1f}" y="{ty}" width="{x1 - tx:.1f}" height="20"/>')
            body.append(_arrow(tx, x1, ty + 10))
        if total.lower is not None:
            fill = "bound-closed" if total.lower_inclusive else "bound-open"
            body.append(f'<circle class="{fill}" cx="{tx:.1f}" cy="{ty + 10}" r="5"/>')
        gx0, gx1 = sorted((px, tx))
        gy = ty + 34
        body.append(
            f'<line class="gap" x1="{gx0:.1f}" y1="{gy}" x2="{gx1:.1f}" y2="{gy}"/>'
            f'<line class="gap" x1="{gx0:.1f}" y1="{gy - 5}" x2="{gx0:.1f}" y2="{gy + 5}"/>'
            f'<line class="gap" x1="{gx1:.1f}" y1="{gy - 5}" x2="{gx1:.1f}" y2="{gy + 5}"/>'
            f'<text class="value" x="{(gx0 + gx1) / 2:.1f}" y="{gy + 16}" text-anchor="middle">'
            f"{grouped(gap)}</text>"
        )
        # Ticks at the two ends compared: the numbers the gap is measured between.
        axis_y = gy + 24
        body.append(f'<line class="axis" x1="{x0}" y1="{axis_y}" x2="{x1}" y2="{axis_y}"/>')
        for value, x in ((parts_lower, px), (t_lower, tx)):
            body.append(f'<line class="grid" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{axis_y}"/>')
            anchor = "end" if x == gx0 else "start"
            body.append(
                f'<text class="tick" x="{x:.1f}" y="{axis_y + 16}" text-anchor="{anchor}">{grouped(value)}</text>'
            )
        height = axis_y + 26
    return _svg(width, height, title, desc, body)


def ratio_band(
    points: Sequence[tuple[str, float, bool]],
    minimum: float | None,
    band: tuple[float, float] | None,
    title: str,
    desc: str,
    width: int = 560,
) -> Markup:
    """Ratios per row on a log axis, against a minimum (a line) and a band (shaded). (label, ratio, highlighted)."""
    label_w, right, row_h = 190, 30, 24
    x0, x1 = label_w, width - right
    values = [v for _, v, _ in points if v > 0] + [v for v in (minimum, *(band or ())) if v]
    lo = 10 ** math.floor(math.log10(min(values) * 0.8))
    hi = 10 ** math.ceil(math.log10(max(values) * 1.2))

    def px(v: float) -> float:
        return x0 + (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * (x1 - x0)

    top, bottom = 8, 8 + row_h * len(points)
    body: list[str] = []
    if band is not None:
        body.append(
            f'<rect class="band" x="{px(band[0]):.1f}" y="{top}" width="{px(band[1]) - px(band[0]):.1f}" '
            f'height="{bottom - top}"/>'
        )
    decade = lo
    body.append(f'<line class="axis" x1="{x0}" y1="{bottom}" x2="{x1}" y2="{bottom}"/>')
    while decade <= hi:
        body.append(
            f'<line class="grid" x1="{px(decade):.1f}" y1="{top}" x2="{px(decade):.1f}" y2="{bottom}"/>'
            f'<text class="tick" x="{px(decade):.1f}" y="{bottom + 16}" text-anchor="middle">{decade:g}</text>'
        )
        decade *= 10
    if minimum is not None:
        body.append(f'<line class="minimum" x1="{px(minimum):.1f}" y1="{top}" x2="{px(minimum):.1f}" y2="{bottom}"/>')
    for i, (label, value, highlighted) in enumerate(points):
        y = top + i * row_h + row_h / 2
        cls = "dot dot-highlight" if highlighted else "dot"
        body.append(
            f'<text class="label{" label-strong" if highlighted else ""}" x="{label_w - 8}" y="{y + 4:.1f}" '
            f'text-anchor="end">{escape(label)}</text>'
        )
        body.append(f'<circle class="{cls}" cx="{px(value):.1f}" cy="{y:.1f}" r="{6 if highlighted else 4}"/>')
        body.append(f'<text class="value" x="{px(value) + 9:.1f}" y="{y + 4:.1f}">{value:.2f}</text>')
    return _svg(width, bottom + 26, title, desc, body)


def timeline(
    parts: Sequence[tuple[str, float, float]], span: tuple[str, float, float], title: str, desc: str, width: int = 560
) -> Markup:
    """Periods (label, start year, end year, fractional) against the span they should tile."""
    label_w, right, row_h = 150, 30, 30
    x0, x1 = label_w, width - right
    lo, hi = min(span[1], *(p[1] for p in parts)), max(span[2], *(p[2] for p in parts))
    scale = (x1 - x0) / (hi - lo)
    rows = [span, *parts]
    body: list[str] = []
    for i, (label, start, end) in enumerate(rows):
        y = 8 + i * row_h
        cls = "bar-total" if i == 0 else f"seg seg{(i - 1) % 4}"
        body.append(f'<text class="label" x="{label_w - 8}" y="{y + 16}" text-anchor="end">{escape(label)}</text>')
        body.append(
            f'<rect class="{cls}" x="{x0 + (start - lo) * scale:.1f}" y="{y}" '
            f'width="{(end - start) * scale:.1f}" height="22"/>'
        )
    bottom = 8 + row_h * len(rows)
    body.append(f'<line class="axis" x1="{x0}" y1="{bottom}" x2="{x1}" y2="{bottom}"/>')
    year = math.ceil(lo)
    step = 5
    while year <= hi:
        if year % step == 0:
            x = x0 + (year - lo) * scale
            body.append(
                f'<line class="grid" x1="{x:.1f}" y1="8" x2="{x:.1f}" y2="{bottom}"/>'
                f'<text class="tick" x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{year}</text>'
            )
        year += 1
    return _svg(width, bottom + 26, title, desc, body)


def row_range(span: Span, scale_max: float, width: int = 120, height: int = 14) -> Markup:
    """A small range bar for a table row (decorative: the words sit in the next cell)."""
    x0, x1 = 2.0, width - 4.0
    scale = (x1 - x0) / scale_max if scale_max > 0 else 0.0
    body = [f'<line class="track" x1="{x0}" y1="{height / 2}" x2="{x1}" y2="{height / 2}"/>']
    body += _range_marks(span, x0, 3, height - 6, scale, x1, "bar")
    return Markup(  # noqa: S704 (our markup; no data text)
        f'<svg class="row-range" viewBox="0 0 {width} {height}" aria-hidden="true" focusable="false" '
        f'xmlns="http://www.w3.org/2000/svg">' + "".join(body) + "</svg>"
    )
