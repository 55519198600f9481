"""Small inline SVG charts for the dashboard: bar sparklines and a multi-series line chart.

Markup is built with format_html, so every label is escaped and every number is formatted by
us; the result is safe to put straight into a template. No JavaScript, no external files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

PALETTE = ("#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2")


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def sparkline(values: Sequence[float], *, width: int = 120, height: int = 24, label: str = "",
              color: str = "#2563eb", failed: Sequence[float] | None = None) -> SafeString:
    """Bars, one per value (per minute), scaled to the largest; `failed` draws red bars on top."""
    count = max(len(values), 1)
    peak = max([*values, 1])
    step = width / count
    bars = []
    for index, value in enumerate(values):
        if value <= 0:
            continue
        h = max(value / peak * (height - 2), 1.0)
        bars.append(format_html('<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>', _n(index * step),
                                _n(height - h), _n(max(step - 0.5, 0.5)), _n(h), color))
        bad = failed[index] if failed else 0
        if bad > 0:
            hb = max(bad / peak * (height - 2), 1.0)
            bars.append(format_html('<rect x="{}" y="{}" width="{}" height="{}" fill="#dc2626"/>',
                                    _n(index * step), _n(height - hb), _n(max(step - 0.5, 0.5)), _n(hb)))
    return format_html(
        '<svg class="spark" role="img" width="{}" height="{}" viewBox="0 0 {} {}"><title>{}</title>'
        '<line x1="0" y1="{}" x2="{}" y2="{}" stroke="#d1d5db"/>{}</svg>',
        width, height, width, height, label, _n(height - 0.5), width, _n(height - 0.5),
        format_html_join("", "{}", ((bar,) for bar in bars)))


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M")


def line_chart(series: Mapping[str, Sequence[tuple[float, float]]], *, width: int = 640, height: int = 180,
               label: str = "") -> SafeString:
    """One polyline per named series of (epoch seconds, value) points, with time and value axes."""
    points = [p for line in series.values() for p in line]
    if not points:
        return format_html('<p class="empty">{}</p>', "No readings in this window.")
    left, bottom, top = 40, 20, 8
    t0, t1 = min(t for t, _ in points), max(t for t, _ in points)
    peak = max(max(v for _, v in points), 1)
    span = max(t1 - t0, 1.0)

    def xy(t: float, v: float) -> str:
        x = left + (t - t0) / span * (width - left - 8)
        y = top + (1 - v / peak) * (height - top - bottom)
        return f"{_n(x)},{_n(y)}"

    lines = format_html_join("", '<polyline fill="none" stroke="{}" stroke-width="2" points="{}"><title>{}'
                             '</title></polyline>',
                             ((PALETTE[i % len(PALETTE)], " ".join(xy(t, v) for t, v in line), name)
                              for i, (name, line) in enumerate(series.items())))
    dots = format_html_join("", '<circle cx="{}" cy="{}" r="2.5" fill="{}"/>',
                            ((*xy(t, v).split(","), PALETTE[i % len(PALETTE)])
                             for i, line in enumerate(series.values()) for t, v in line))
    legend = format_html_join("", '<text x="{}" y="{}" fill="{}" font-size="11">{}</text>',
                              ((left + 8 + 110 * i, top + 10, PALETTE[i % len(PALETTE)], name)
                               for i, name in enumerate(series)))
    axis_y = height - bottom
    return format_html(
        '<svg class="chart" role="img" width="{w}" height="{h}" viewBox="0 0 {w} {h}"><title>{label}</title>'
        '<line x1="{l}" y1="{t}" x2="{l}" y2="{ay}" stroke="#9ca3af"/>'
        '<line x1="{l}" y1="{ay}" x2="{w}" y2="{ay}" stroke="#9ca3af"/>'
        '<text x="{lx}" y="{ty}" font-size="11" text-anchor="end">{peak}</text>'
        '<text x="{lx}" y="{ay}" font-size="11" text-anchor="end">0</text>'
        '<text x="{l}" y="{h}" font-size="11">{start}</text>'
        '<text x="{w}" y="{h}" font-size="11" text-anchor="end">{end}</text>{lines}{dots}{legend}</svg>',
        w=width, h=height, label=label, l=left, t=top, ay=axis_y, lx=left - 4, ty=top + 8, peak=_n(peak),
        start=_clock(t0), end=_clock(t1), lines=lines, dots=dots, legend=legend)
