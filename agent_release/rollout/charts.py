"""Inline SVG of a rollout over data time: the flag's percentage (top) and, per watch window, the
candidate's error rate with its 97.5% lower bound against the alert threshold in force (bottom) —
the threshold steps down as the traffic at stake grows. No JS, no CDN."""

from __future__ import annotations

from datetime import datetime

import polars as pl

W, H, PAD = 860, 420, 56


def _x(t: datetime, t0: datetime, t1: datetime) -> float:
    span = max((t1 - t0).total_seconds(), 1.0)
    return PAD + (W - 2 * PAD) * (t - t0).total_seconds() / span


def timeline_svg(decisions: pl.DataFrame, watch: pl.DataFrame | None) -> str:
    if decisions.height == 0:
        return "<p>(no decisions)</p>"
    d = decisions.sort("seq")
    times = [t for t in d["data_time"].to_list() if t is not None]
    if watch is not None and watch.height:
        times += watch["window_end"].to_list() + watch["window_start"].to_list()
    t0, t1 = min(times), max(times)
    top_h, bot_y0 = 150, 200
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{W}' height='{H}' font-family='sans-serif' "
             "font-size='11'>",
             f"<text x='{PAD}' y='16' font-size='13'>flag % over data time</text>"]

    def ytop(p: float) -> float:
        return 24 + top_h * (1 - p / 100.0)

    pts, last_p = [], 0.0
    for r in d.iter_rows(named=True):
        if r["data_time"] is None:
            continue
        x = _x(r["data_time"], t0, t1)
        pts += [(x, ytop(last_p)), (x, ytop(r["to_percentage"] or 0.0))]
        last_p = r["to_percentage"] or 0.0
        color = {"ROLLBACK": "#c0392b", "FREEZE": "#8e44ad", "HOLD": "#e67e22", "COMPLETE": "#27ae60"}.get(
            r["decision"], "#2c3e50")
        parts.append(f"<circle cx='{x:.1f}' cy='{ytop(last_p):.1f}' r='4' fill='{color}'>"
                     f"<title>{r['decision']} {last_p:g}% — {str(r['reason'])[:200]}</title></circle>")
        anchor = "end" if x > W - 160 else "start"
        tx = x - 5 if anchor == "end" else x + 5
        parts.append(f"<text x='{tx:.1f}' y='{ytop(last_p) - 6:.1f}' fill='{color}' text-anchor='{anchor}'>"
                     f"{r['decision']} {last_p:g}%</text>")
    pts.append((W - PAD, ytop(last_p)))
    parts.append("<polyline fill='none' stroke='#2c3e50' stroke-width='2' points='"
                 + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts) + "'/>")
    for p in (0, 50, 100):
        parts.append(f"<text x='{PAD - 30}' y='{ytop(p) + 4:.1f}'>{p}%</text>")

    if watch is not None and watch.height:
        w = watch.sort("window_start")
        vals = [v for c in ("candidate_error_rate", "error_rate_alert") for v in w[c].to_list() if v is not None]
        top = max(vals + [0.01]) * 1.15
        bot_h = H - bot_y0 - 30

        def yb(v: float) -> float:
            return bot_y0 + bot_h * (1 - v / top)

        parts.append(f"<text x='{PAD}' y='{bot_y0 - 8}' font-size='13'>candidate error rate per watch window "
                     "(dot), 97.5% lower bound (tick), alert threshold (red)</text>")
        for r in w.iter_rows(named=True):
            xa, xb = _x(r["window_start"], t0, t1), _x(r["window_end"], t0, t1)
            xm = (xa + xb) / 2
            parts.append(f"<line x1='{xa:.1f}' x2='{xb:.1f}' y1='{yb(r['error_rate_alert']):.1f}' "
                         f"y2='{yb(r['error_rate_alert']):.1f}' stroke='#c0392b' stroke-width='2'/>")
            if r["candidate_conversations"]:
                parts.append(f"<circle cx='{xm:.1f}' cy='{yb(r['candidate_error_rate']):.1f}' r='2.5' "
                             f"fill='#2980b9'><title>{r['candidate_error_rate']:.2%} "
                             f"(n={r['candidate_conversations']})</title></circle>")
            if r["error_rate_lower_bound"] is not None:
                parts.append(f"<line x1='{xm - 3:.1f}' x2='{xm + 3:.1f}' y1='{yb(r['error_rate_lower_bound']):.1f}' "
                             f"y2='{yb(r['error_rate_lower_bound']):.1f}' stroke='#2980b9'/>")
        for v in (0.0, top / 2, top):
            parts.append(f"<text x='{PAD - 44}' y='{yb(v) + 4:.1f}'>{v:.1%}</text>")
    parts.append(f"<text x='{PAD}' y='{H - 6}'>{t0:%Y-%m-%d %H:%M}</text>"
                 f"<text x='{W - PAD - 90}' y='{H - 6}'>{t1:%Y-%m-%d %H:%M}</text></svg>")
    return "".join(parts)
