"""Small inline SVG charts for the risk board and the evaluation PDFs (matplotlib is not
installed, and an SVG string needs nothing but the template; WeasyPrint renders it)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

COLOURS = ("#1f6feb", "#d1242f", "#2da44e", "#bf8700", "#8250df")


def _empty(width: int, height: int, text: str = "") -> SafeString:
    """A chart with nothing to draw says so, instead of leaving a blank space (in the PDFs a
    reader could take it for a rendering fault)."""
    text = text or gettext("No data for this period.")
    return mark_safe(
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">'
        f'<text x="4" y="{min(height - 4, 16)}" font-size="11" fill="#666">{escape(text)}</text>'
        "</svg>"
    )


def _scale(values: Sequence[float], low: float, high: float, size: float) -> list[float]:
    span = (high - low) or 1.0
    return [size - (v - low) / span * size for v in values]


def sparkline(values: Sequence[float], *, width: int = 160, height: int = 32) -> SafeString:
    """A line of the values, oldest first; the last value marked."""
    if len(values) < 2:
        return _empty(width, height, gettext("No data yet."))
    low, high = min(values), max(values)
    ys = _scale(values, low, high, height - 4)
    step = (width - 4) / (len(values) - 1)
    points = " ".join(f"{2 + i * step:.1f},{2 + y:.1f}" for i, y in enumerate(ys))
    last_x, last_y = 2 + (len(values) - 1) * step, 2 + ys[-1]
    return mark_safe(
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">'
        f'<polyline fill="none" stroke="{COLOURS[0]}" stroke-width="1.5" points="{points}"/>'
        f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2.5" fill="{COLOURS[1]}"/></svg>'
    )


def bars(
    items: Sequence[tuple[str, float]], *, width: int = 420, bar: int = 16, label: int = 130
) -> SafeString:
    """Horizontal bars with labels and values."""
    if not items:
        return _empty(width, bar + 10)
    height = max(len(items), 1) * (bar + 6) + 4
    top = max((v for _, v in items), default=0) or 1
    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">']
    for i, (name, value) in enumerate(items):
        y = 4 + i * (bar + 6)
        length = (width - label - 60) * value / top
        parts.append(
            f'<text x="0" y="{y + bar - 4}" font-size="11">{escape(str(name))}</text>'
            f'<rect x="{label}" y="{y}" width="{length:.1f}" height="{bar}" '
            f'fill="{COLOURS[i % len(COLOURS)]}"/>'
            f'<text x="{label + length + 4:.1f}" y="{y + bar - 4}" font-size="11">'
            f"{escape(_fmt(value))}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def lines(
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    labels: Sequence[str] = (),
    width: int = 480,
    height: int = 180,
) -> SafeString:
    """Several lines on one scale (e.g. predicted against realised volatility), with a legend."""
    values = [v for _, s in series for v in s]
    if not values or max(len(s) for _, s in series) < 2:
        return _empty(width, 24)
    low, high = min(min(values), 0.0), max(values)
    plot_h, left = height - 40, 44
    n = max(len(s) for _, s in series)
    step = (width - left - 8) / (n - 1)
    parts = [
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">',
        f'<line x1="{left}" y1="4" x2="{left}" y2="{plot_h + 4}" stroke="#888"/>',
        f'<line x1="{left}" y1="{plot_h + 4}" x2="{width - 4}" y2="{plot_h + 4}" stroke="#888"/>',
        f'<text x="0" y="12" font-size="10">{escape(_fmt(high))}</text>',
        f'<text x="0" y="{plot_h + 4}" font-size="10">{escape(_fmt(low))}</text>',
    ]
    for k, (name, s) in enumerate(series):
        ys = _scale(s, low, high, plot_h)
        points = " ".join(f"{left + i * step:.1f},{4 + y:.1f}" for i, y in enumerate(ys))
        colour = COLOURS[k % len(COLOURS)]
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"/>'
            f'<rect x="{left + 10 + k * 150}" y="{height - 14}" width="10" height="10" '
            f'fill="{colour}"/><text x="{left + 24 + k * 150}" y="{height - 5}" '
            f'font-size="11">{escape(name)}</text>'
        )
    if labels:
        for i in (0, n - 1):
            parts.append(
                f'<text x="{left + i * step - (40 if i else 0):.1f}" y="{plot_h + 18}" '
                f'font-size="10">{escape(labels[i])}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def _fmt(value: float) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
