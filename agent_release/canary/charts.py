"""Inline SVG charts of the canary cohort statistics (no JavaScript, no CDN).

* :func:`render_metric_chart_svg` -- one metric over the soak, both cohorts, with the 95%
  interval as a band (Wilson for rates, normal for CSAT, order-statistic interval for p95).
* :func:`render_segment_chart_svg` -- the same per segment (e.g. per locale) as small multiples
  on a shared y axis, so a segment where the candidate drifts away stands out.

Input is the frame of :func:`agent_release.canary.cohort_stats.cohort_stats`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import polars as pl

COLORS = {"baseline": "#4C72B0", "candidate": "#DD8452"}

#: metric -> (value column, band low, band high, label, kind)
METRIC_COLUMNS: dict[str, tuple[str, str | None, str | None, str, str]] = {
    "resolution_rate": ("resolution_rate", "resolution_rate_ci_low", "resolution_rate_ci_high", "Resolution rate",
                        "pct"),
    "error_rate": ("error_rate", "error_rate_ci_low", "error_rate_ci_high", "Error rate (conversations)", "pct"),
    "thumbs_up_rate": ("thumbs_up_rate", "thumbs_up_rate_ci_low", "thumbs_up_rate_ci_high", "Thumbs-up rate",
                       "pct"),
    "csat": ("csat_mean", "csat_ci_low", "csat_ci_high", "CSAT (mean, 1-5)", "num"),
    "p95_latency_ms": ("latency_p95_ms", "latency_p95_ci_low_ms", "latency_p95_ci_high_ms",
                       "p95 latency per assistant turn (ms)", "ms"),
    "p50_latency_ms": ("latency_p50_ms", None, None, "p50 latency per assistant turn (ms)", "ms"),
    "p99_latency_ms": ("latency_p99_ms", None, None, "p99 latency per assistant turn (ms)", "ms"),
    "cost_per_resolution": ("cost_per_resolution", None, None, "Cost per resolution (USD)", "usd"),
    "escalation_rate": ("escalation_rate", None, None, "Escalation rate", "pct"),
    "abandonment_rate": ("abandonment_rate", None, None, "Abandonment rate", "pct"),
    "handoff_complete_rate": ("handoff_complete_rate", None, None, "Escalations handed off complete", "pct"),
}


def _fmt(v: float, kind: str) -> str:
    if kind == "pct":
        return f"{v * 100:.1f}%"
    if kind == "ms":
        return f"{v:,.0f}"
    if kind == "usd":
        return f"${v:.4f}"
    return f"{v:.2f}"


def _ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    if not math.isfinite(lo) or not math.isfinite(hi):
        return []
    if hi <= lo:
        hi = lo + (abs(lo) * 0.1 or 1.0)
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((s * mag for s in (1, 2, 2.5, 5, 10) if s * mag >= raw), default=raw)
    start = math.ceil(lo / step) * step
    out, v = [], start
    while v <= hi + 1e-12 and len(out) < 12:
        out.append(round(v, 12))
        v += step
    return out


def _select(stats: pl.DataFrame, metric: str, period: str, dimension: str, segment: str | None) -> pl.DataFrame:
    if metric not in METRIC_COLUMNS:
        raise ValueError(f"unknown metric {metric!r}; one of {', '.join(METRIC_COLUMNS)}")
    f = stats.filter((pl.col("period") == period) & (pl.col("dimension") == dimension))
    if segment is not None:
        f = f.filter(pl.col("segment") == segment)
    return f.sort("day")


def _panel(
    rows: pl.DataFrame, metric: str, x0: float, y0: float, w: float, h: float, days: list[Any],
    ylo: float, yhi: float, kind: str, *, title: str | None, y_labels: bool = True, x_labels: bool = True,
    reference: float | None = None,
) -> list[str]:
    col, lo_c, hi_c, _, _ = METRIC_COLUMNS[metric]
    out: list[str] = []
    nd = max(len(days) - 1, 1)
    dindex = {d: i for i, d in enumerate(days)}

    def sx(d: Any) -> float:
        return x0 + w * dindex[d] / nd

    def sy(v: float) -> float:
        return y0 + h - h * (v - ylo) / (yhi - ylo)

    out.append(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{w:.1f}" height="{h:.1f}" fill="#fff" stroke="#ccc"/>')
    for t in _ticks(ylo, yhi):
        y = sy(t)
        out.append(f'<line x1="{x0:.1f}" x2="{x0 + w:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        if y_labels:
            out.append(f'<text x="{x0 - 4:.1f}" y="{y + 3:.1f}" text-anchor="end" font-size="10" fill="#555">'
                       f"{html.escape(_fmt(t, kind))}</text>")
    if reference is not None and ylo <= reference <= yhi:
        y = sy(reference)
        out.append(f'<line x1="{x0:.1f}" x2="{x0 + w:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#999" '
                   'stroke-dasharray="4 3"/>')
    if title:
        out.append(f'<text x="{x0 + 4:.1f}" y="{y0 + 12:.1f}" font-size="11" font-weight="bold" fill="#333">'
                   f"{html.escape(title)}</text>")
    if x_labels and days:
        max_labels = max(2, int(w // 48))
        step = max(1, math.ceil(len(days) / max_labels))
        last = len(days) - 1
        for i, d in enumerate(days):
            if i % step == 0 or (i == last and last % step >= max(1, step / 2)):
                out.append(f'<text x="{sx(d):.1f}" y="{y0 + h + 13:.1f}" text-anchor="middle" font-size="10" '
                           f'fill="#555">{html.escape(_day_label(d))}</text>')
    for cohort in ("baseline", "candidate"):
        r = rows.filter(pl.col("cohort") == cohort)
        r = r.filter(pl.col(col).is_not_null() & pl.col(col).is_finite())
        if r.height == 0:
            continue
        color = COLORS[cohort]
        if lo_c and hi_c:
            b = r.filter(pl.col(lo_c).is_not_null() & pl.col(hi_c).is_not_null())
            if b.height >= 1:
                top = [(sx(d), sy(min(v, yhi))) for d, v in zip(b["day"], b[hi_c], strict=True)]
                bot = [(sx(d), sy(max(v, ylo))) for d, v in zip(b["day"], b[lo_c], strict=True)]
                if len(top) == 1:  # a single day: draw a short vertical interval
                    (x, yt), (_, yb) = top[0], bot[0]
                    out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{yt:.1f}" y2="{yb:.1f}" stroke="{color}" '
                               'stroke-opacity="0.4" stroke-width="6"/>')
                else:
                    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in top + bot[::-1])
                    out.append(f'<polygon points="{pts}" fill="{color}" fill-opacity="0.18" stroke="none"/>')
        pts = " ".join(f"{sx(d):.1f},{sy(v):.1f}" for d, v in zip(r["day"], r[col], strict=True))
        out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>')
        for d, v in zip(r["day"], r[col], strict=True):
            out.append(f'<circle cx="{sx(d):.1f}" cy="{sy(v):.1f}" r="2" fill="{color}"><title>{cohort} '
                       f"{html.escape(_day_label(d))}: {html.escape(_fmt(v, kind))}</title></circle>")
    return out


def _day_label(d: Any) -> str:
    return d.strftime("%m-%d") if hasattr(d, "strftime") else str(d)


def _range(rows: pl.DataFrame, metric: str) -> tuple[float, float]:
    col, lo_c, hi_c, _, _ = METRIC_COLUMNS[metric]
    vals: list[float] = []
    for c in (col, lo_c, hi_c):
        if c:
            s = rows[c].drop_nulls()
            s = s.filter(s.is_finite())
            vals += s.to_list()
    if not vals:
        return 0.0, 1.0
    lo, hi = min(vals), max(vals)
    pad = (hi - lo) * 0.08 or (abs(hi) * 0.05 or 0.5)
    lo, hi = lo - pad, hi + pad
    if METRIC_COLUMNS[metric][4] == "pct":
        lo, hi = max(lo, 0.0), min(hi, 1.0)
    return lo, hi


def _legend(x: float, y: float) -> list[str]:
    out = []
    for i, cohort in enumerate(("baseline", "candidate")):
        xx = x + i * 95
        out.append(f'<rect x="{xx:.1f}" y="{y - 8:.1f}" width="14" height="8" fill="{COLORS[cohort]}"/>')
        out.append(f'<text x="{xx + 18:.1f}" y="{y:.1f}" font-size="11" fill="#333">{cohort}</text>')
    return out


def render_metric_chart_svg(
    daily_stats: pl.DataFrame,
    metric: str,
    *,
    period: str = "cumulative",
    dimension: str = "overall",
    segment: str | None = "all",
    title: str | None = None,
    width: int = 640,
    height: int = 260,
    reference: float | None = None,
) -> str:
    """SVG of ``metric`` per day for both cohorts with the 95% interval band.

    ``period='cumulative'`` (default) shows the estimate as the soak accumulates;
    ``'day'`` shows each day alone. ``reference`` draws a dashed horizontal line (e.g. a
    guardrail threshold).
    """
    rows = _select(daily_stats, metric, period, dimension, segment)
    _, _, _, label, kind = METRIC_COLUMNS[metric]
    days = sorted(set(rows["day"].to_list()))
    head = title or f"{label}: {period}" + ("" if dimension == "overall" else f", {dimension} {segment}")
    ml, mr, mt, mb = 64, 16, 34, 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" role="img" aria-label="{html.escape(head)}">',
        f'<text x="{ml}" y="16" font-size="13" font-weight="bold" fill="#222">{html.escape(head)}</text>',
        *_legend(width - 200, 18),
    ]
    if not days:
        parts.append(f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" fill="#888">no data'
                     "</text></svg>")
        return "\n".join(parts)
    ylo, yhi = _range(rows, metric)
    if reference is not None:
        ylo, yhi = min(ylo, reference), max(yhi, reference)
    parts += _panel(rows, metric, ml, mt, width - ml - mr, height - mt - mb, days, ylo, yhi, kind, title=None,
                    reference=reference)
    parts.append("</svg>")
    return "\n".join(parts)


def render_segment_chart_svg(
    daily_stats: pl.DataFrame,
    metric: str,
    dimension: str = "locale",
    *,
    period: str = "cumulative",
    segments: Sequence[str] | None = None,
    columns: int = 4,
    panel_width: int = 200,
    panel_height: int = 130,
    title: str | None = None,
) -> str:
    """Small multiples: ``metric`` over the soak per segment of ``dimension`` (e.g. per locale),
    both cohorts with interval bands, shared y axis."""
    rows = _select(daily_stats, metric, period, dimension, None)
    _, _, _, label, kind = METRIC_COLUMNS[metric]
    segs = list(segments) if segments is not None else sorted(set(rows["segment"].to_list()))
    days = sorted(set(rows["day"].to_list()))
    ncol = max(1, min(columns, len(segs) or 1))
    nrow = max(1, math.ceil(len(segs) / ncol))
    ml, gap, mt, mb = 60, 18, 34, 22
    width = ml + ncol * (panel_width + gap)
    height = mt + nrow * (panel_height + mb + gap)
    head = title or f"{label} by {dimension}: {period}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" role="img" aria-label="{html.escape(head)}">',
        f'<text x="{ml}" y="16" font-size="13" font-weight="bold" fill="#222">{html.escape(head)}</text>',
        *_legend(width - 200, 18),
    ]
    if not segs or not days:
        parts.append(f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" fill="#888">no data'
                     "</text></svg>")
        return "\n".join(parts)
    ylo, yhi = _range(rows.filter(pl.col("segment").is_in(segs)), metric)
    for i, seg in enumerate(segs):
        r, c = divmod(i, ncol)
        x0 = ml + c * (panel_width + gap)
        y0 = mt + r * (panel_height + mb + gap)
        parts += _panel(rows.filter(pl.col("segment") == seg), metric, x0, y0, panel_width, panel_height, days,
                        ylo, yhi, kind, title=str(seg), y_labels=(c == 0))
    parts.append("</svg>")
    return "\n".join(parts)
