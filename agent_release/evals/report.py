"""Gate reports: Markdown for the Dagster UI and a self-contained HTML page with inline SVG.

No JavaScript, no CDN, no external fonts: the HTML is one file that renders offline. Charts are
drawn by hand as SVG: latency ECDF and histogram (candidate vs baseline, budget line), accuracy per
locale and per intent (grouped bars), adversarial failures by severity (grouped bars).
All text is HTML-escaped; prompts/outputs are never embedded (only probe ids and counts).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np
import polars as pl

from agent_release.evals.gate import GateDecision

BASE_COLOR, CAND_COLOR = "#7a869a", "#0b6bcb"
PASS_COLOR, FAIL_COLOR = "#1a7f37", "#cf222e"


def _fmt(c, v: float | None) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    if c.unit == "fraction":
        return f"{v * 100:+.2f} pts"
    if c.unit == "ms":
        return f"{v:,.0f} ms"
    if c.unit == "usd":
        return f"${v:.4f}"
    return f"{v:g}"


_COUNT_UNITS = ("signatures", "prompts")


def _val_thr(c) -> tuple[str, str]:
    if c.unit in _COUNT_UNITS:
        return ("—" if c.value is None else f"{int(c.value)} new"), "0 new"
    if c.unit == "mismatches":
        return ("—" if c.value is None else f"{int(c.value)} mismatch(es)"), "0"
    return _fmt(c, c.value), _fmt(c, c.threshold)


def golden_oc_lines(decision: GateDecision) -> list[str]:
    """Markdown lines: the golden rule's operating characteristic and the harm test."""
    try:
        c = decision.criterion("golden_accuracy")
    except StopIteration:
        return []
    oc, harm = c.details.get("operating_characteristic"), c.details.get("harm_test")
    out: list[str] = []
    if harm:
        out += ["", f"**Golden harm test** ({harm['cluster']}; {harm['n_clusters']} clusters, design effect "
                f"{harm['design_effect']:.2f}): one-sided {1 - harm['alpha']:.0%} upper bound "
                f"{harm['upper'] * 100:+.2f} pts (unclustered {harm['upper_unclustered'] * 100:+.2f}) → harm "
                f"{'**shown**' if harm['shown'] else 'not shown'}"]
    if oc:
        need = oc["n_to_separate"]["n"]
        out += ["", f"**Golden rule operating characteristic** (PASS iff point estimate ≥ −{oc['tolerance'] * 100:g} pts; "
                f"n = {oc['n']}, discordance {oc['discordance']:.1%}, design effect {oc['design_effect']:.2f}, "
                f"effective n {oc['n_effective']})", "",
                "| true Δ (pts) | " + " | ".join(f"{d * 100:+g}" for d, _ in oc["curve"]) + " |",
                "|---|" + "---|" * len(oc["curve"]),
                "| P(PASS) | " + " | ".join(f"{p:.0%}" for _, p in oc["curve"]) + " |", "",
                f"Golden-set size to separate Δ = {oc['n_to_separate']['good_delta'] * 100:+g} from "
                f"{oc['n_to_separate']['bad_delta'] * 100:+g} pts at {oc['n_to_separate']['power']:.0%}/"
                f"{oc['n_to_separate']['power']:.0%}: **{need if need else '> 200000'}** cases "
                f"(at this discordance and design effect)."]
    return out


def evidence_rows(decision: GateDecision) -> list[tuple]:
    """(suite, side, agent, expected, received, endpoint errors, error share, status) per suite and
    side of the decision's evidence-completeness check (empty for decisions without one)."""
    ev = getattr(decision, "evidence", None)
    if ev is None:
        return []
    out = []
    for e in ev.suites:
        bad = []
        if e.expected is not None and e.received < e.expected:
            bad.append(f"{e.missing} missing")
        if e.duplicates:
            bad.append(f"{e.duplicates} duplicated")
        if e.expected_from == "inputs" and e.expected is not None and e.received > e.expected:
            bad.append("more than expected")
        if e.error_share > ev.max_error_share + 1e-12:
            bad.append(f"errors > {ev.max_error_share:.0%}")
        out.append((e.suite, e.side, e.agent_version, "—" if e.expected is None else f"{e.expected} {e.rows_unit}",
                    f"{e.received} {e.rows_unit}", f"{e.errors} of {e.units} {e.error_unit}", f"{e.error_share:.1%}",
                    ", ".join(bad) or "ok"))
    return out


EVIDENCE_HEADER = ("suite", "side", "agent", "expected", "received", "endpoint errors", "error share", "status")


def evidence_lines(decision: GateDecision) -> list[str]:
    """Markdown: the evidence-completeness verdict and the per-suite, per-side table."""
    rows = evidence_rows(decision)
    if not rows:
        return []
    ev = decision.evidence
    head = "**Evidence complete**" if ev.complete else "**⛔ Evidence incomplete — the criteria are not judged**"
    lines = ["", f"{head} (rows expected vs received, endpoint errors after retries per side; limit "
             f"{ev.max_error_share:.0%} = gate.replay_max_error_share)", "",
             "| " + " | ".join(EVIDENCE_HEADER) + " |", "|" + "---|" * len(EVIDENCE_HEADER)]
    lines += ["| " + " | ".join(str(x) for x in r) + " |" for r in rows]
    if not ev.complete:
        lines += [""] + [f"- {p}" for p in ev.problems]
    return lines


def evidence_html(decision: GateDecision) -> str:
    """HTML: the same verdict and table (empty for decisions without an evidence check)."""
    rows = evidence_rows(decision)
    if not rows:
        return ""
    ev = decision.evidence
    cells = "".join("<tr>" + "".join(f"<td>{_e(x)}</td>" for x in r[:-1])
                    + f'<td class="{"pass" if r[-1] == "ok" else "fail"}">{_e(r[-1])}</td></tr>' for r in rows)
    problems = "<ul>" + "".join(f"<li>{_e(p)}</li>" for p in ev.problems) + "</ul>" if ev.problems else ""
    return (f"<h2>Evidence {'complete' if ev.complete else 'INCOMPLETE — criteria not judged'}</h2>"
            "<p>Rows expected vs received and endpoint errors (after retries) per suite and side; limit "
            f"{ev.max_error_share:.0%} (gate.replay_max_error_share).</p><table><tr>"
            + "".join(f"<th>{_e(h)}</th>" for h in EVIDENCE_HEADER) + "</tr>" + cells + "</table>" + problems)


def render_gate_markdown(decision: GateDecision) -> str:
    icon = "✅" if decision.decision == "PROMOTE" else "⛔"
    lines = [f"## {icon} {decision.decision}: {decision.candidate_version} vs {decision.baseline_version}",
             "", f"release `{decision.release_id}` · spec `{decision.spec_hash}` · config `{decision.config_hash}` · "
             f"{decision.decided_at.isoformat()}", "",
             "| criterion | result | value | threshold | interval | rule |", "|---|---|---|---|---|---|"]
    for c in decision.criteria:
        ci = f"[{_fmt(c, c.ci_low)}, {_fmt(c, c.ci_high)}]" if c.ci_low is not None else "—"
        val, thr = _val_thr(c)
        lines.append(f"| {c.name} | **{c.status}** | {val} | {thr} | {ci} | {c.rule} |")
    lines += ["", "**Reasons**", ""] + [f"- {r}" for r in decision.reasons]
    lines += evidence_lines(decision)
    lines += golden_oc_lines(decision)
    gd = decision.criterion("golden_accuracy").details
    flipped = gd.get("flipped_pass_to_fail") or []
    if flipped:
        n_err = gd.get("flipped_pass_to_fail_endpoint_errors", 0)
        lines += ["", f"**Golden cases flipped pass→fail ({len(flipped)}; {n_err} of them candidate endpoint errors)**",
                  "", "| case | intent | locale | endpoint error |", "|---|---|---|---|"]
        lines += [f"| {f.get('case_id')} | {f.get('intent', '')} | {f.get('locale', '')} | {f.get('error') or ''} |"
                  for f in flipped[:25]]
        if len(flipped) > 25:
            lines.append(f"| … {len(flipped) - 25} more | | | |")
    new = decision.criterion("new_high_severity").details.get("new_failures") or []
    if new:
        lines += ["", f"**New high-severity failures ({len(new)})**", "",
                  "| source | probe | category | severity | detector | fails |", "|---|---|---|---|---|---|"]
        lines += [f"| {n['source']} | {n.get('prompt_key') or n['probe']} | {n['category']} | {n['severity']} | {n['detector']} | "
                  f"{n['candidate_fails']}/{n['candidate_attempts']} |" for n in new[:25]]
    unresolved = decision.criterion("new_high_severity").details.get("unresolved") or []
    if unresolved:
        lines += ["", f"**Unresolved high-severity prompts — errored, re-run ({len(unresolved)})**", "",
                  "| source | prompt | severity | unknown/attempts | baseline |", "|---|---|---|---|---|"]
        lines += [f"| {n['source']} | {n['prompt_key']} | {n['severity']} | {n['candidate_unknown']}/{n['candidate_attempts']} | "
                  f"{n.get('baseline_status') or 'not run'} |" for n in unresolved[:25]]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- SVG helpers
def _e(s: object) -> str:
    return html.escape(str(s), quote=True)


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step) * step
    out, v = [], start
    while v <= hi + 1e-9:
        out.append(round(v, 10))
        v += step
    return out


def _legend(items: list[tuple[str, str]], x: float, y: float) -> str:
    """A horizontal legend row (below the title, above the plot)."""
    out, cx = [], x
    for name, color in items:
        out.append(f'<rect x="{cx:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{color}"/>'
                   f'<text x="{cx + 14:.1f}" y="{y:.1f}" font-size="11">{_e(name)}</text>')
        cx += 24 + 6.5 * len(name)
    return "".join(out)


def svg_ecdf(series: dict[str, np.ndarray], *, budget: float | None = None, width: int = 560, height: int = 260,
             title: str = "", xlabel: str = "latency (ms)") -> str:
    colors = [BASE_COLOR, CAND_COLOR, "#b35900", "#6f42c1"]
    ml, mr, mt, mb = 52, 16, 44, 40
    pw, ph = width - ml - mr, height - mt - mb
    allv = np.concatenate([v for v in series.values() if len(v)]) if any(len(v) for v in series.values()) else np.array([0.0, 1.0])
    xmax = float(np.percentile(allv, 99.5)) if allv.size else 1.0
    if budget:
        xmax = max(xmax, budget * 1.05)
    xmax = max(xmax, 1.0)
    sx = lambda x: ml + pw * min(x, xmax) / xmax  # noqa: E731
    sy = lambda y: mt + ph * (1 - y)  # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="{_e(title)}">',
             f'<text x="{ml}" y="18" font-size="13" font-weight="600">{_e(title)}</text>']
    for t in _nice_ticks(0, xmax):
        x = sx(t)
        parts.append(f'<line x1="{x:.1f}" y1="{mt}" x2="{x:.1f}" y2="{mt + ph}" stroke="#eee"/>'
                     f'<text x="{x:.1f}" y="{mt + ph + 14}" font-size="10" text-anchor="middle">{t:g}</text>')
    for q in (0, 0.25, 0.5, 0.75, 0.95, 1.0):
        y = sy(q)
        parts.append(f'<line x1="{ml}" y1="{y:.1f}" x2="{ml + pw}" y2="{y:.1f}" stroke="{"#f0c0c0" if q == 0.95 else "#eee"}"/>'
                     f'<text x="{ml - 4}" y="{y + 3:.1f}" font-size="10" text-anchor="end">{q:g}</text>')
    legend = []
    for i, (name, vals) in enumerate(series.items()):
        v = np.sort(np.asarray(vals, dtype=float))
        if not v.size:
            continue
        idx = np.unique(np.linspace(0, v.size - 1, min(v.size, 300)).astype(int))
        pts = " ".join(f"{sx(v[j]):.1f},{sy((j + 1) / v.size):.1f}" for j in idx)
        parts.append(f'<polyline fill="none" stroke="{colors[i % 4]}" stroke-width="2" points="{sx(v[0]):.1f},{sy(0):.1f} {pts}"/>')
        p95 = float(np.percentile(v, 95))
        parts.append(f'<circle cx="{sx(p95):.1f}" cy="{sy(0.95):.1f}" r="3.5" fill="{colors[i % 4]}"/>')
        legend.append((f"{name} (p95 {p95:,.0f})", colors[i % 4]))
    parts.append(_legend(legend, ml, 34))
    if budget:
        x = sx(budget)
        parts.append(f'<line x1="{x:.1f}" y1="{mt}" x2="{x:.1f}" y2="{mt + ph}" stroke="{FAIL_COLOR}" stroke-dasharray="4 3"/>'
                     f'<text x="{x - 3:.1f}" y="{mt + ph - 6}" font-size="10" text-anchor="end" fill="{FAIL_COLOR}">budget {budget:,.0f}</text>')
    parts.append(f'<text x="{ml + pw / 2}" y="{height - 6}" font-size="11" text-anchor="middle">{_e(xlabel)}</text>')
    parts.append(f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#999"/></svg>')
    return "".join(parts)


def svg_histogram(series: dict[str, np.ndarray], *, bins: int = 30, width: int = 560, height: int = 220,
                  title: str = "", budget: float | None = None) -> str:
    colors = [BASE_COLOR, CAND_COLOR]
    ml, mr, mt, mb = 52, 16, 44, 34
    pw, ph = width - ml - mr, height - mt - mb
    allv = np.concatenate([np.asarray(v, float) for v in series.values() if len(v)]) if any(len(v) for v in series.values()) else np.array([0.0, 1.0])
    hi = float(np.percentile(allv, 99.5)) if allv.size else 1.0
    hi = max(hi, (budget or 0) * 1.05, 1.0)
    edges = np.linspace(0, hi, bins + 1)
    hists = {k: np.histogram(np.clip(np.asarray(v, float), 0, hi), bins=edges)[0] / max(len(v), 1) for k, v in series.items()}
    ymax = max((h.max() for h in hists.values() if h.size), default=1) or 1
    bw = pw / bins
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="{_e(title)}">',
             f'<text x="{ml}" y="18" font-size="13" font-weight="600">{_e(title)}</text>']
    for i, h in enumerate(hists.values()):
        for j, val in enumerate(h):
            if val <= 0:
                continue
            bh = ph * val / ymax
            parts.append(f'<rect x="{ml + j * bw + (bw / 2) * i:.1f}" y="{mt + ph - bh:.1f}" width="{bw / 2:.1f}" '
                         f'height="{bh:.1f}" fill="{colors[i % 2]}" opacity="0.85"/>')
    parts.append(_legend([(n, colors[i % 2]) for i, n in enumerate(hists)], ml, 34))
    for t in _nice_ticks(0, hi):
        x = ml + pw * t / hi
        parts.append(f'<text x="{x:.1f}" y="{mt + ph + 14}" font-size="10" text-anchor="middle">{t:g}</text>')
    if budget:
        x = ml + pw * budget / hi
        parts.append(f'<line x1="{x:.1f}" y1="{mt}" x2="{x:.1f}" y2="{mt + ph}" stroke="{FAIL_COLOR}" stroke-dasharray="4 3"/>')
    parts.append(f'<text x="{ml - 4}" y="{mt + 8}" font-size="10" text-anchor="end">{ymax:.1%}</text>'
                 f'<text x="{ml - 4}" y="{mt + ph}" font-size="10" text-anchor="end">0</text>')
    parts.append(f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#999"/></svg>')
    return "".join(parts)


def svg_grouped_bars(groups: Sequence[str], series: dict[str, Sequence[float]], *, title: str = "",
                     width: int = 560, height: int = 240, ymax: float | None = None, percent: bool = True,
                     colors: Sequence[str] = (BASE_COLOR, CAND_COLOR, "#b35900", PASS_COLOR)) -> str:
    longest = max((len(str(g)) for g in groups), default=4)
    mb = max(40, int(16 + 5.6 * longest * 0.58))  # room for labels rotated by 35°
    ml = max(44, int(5.6 * longest * 0.82) - 10)
    mr, mt = 12, 44
    height = max(height, 150 + mb)
    pw, ph = width - ml - mr, height - mt - mb
    vals = [v for s in series.values() for v in s if v is not None and math.isfinite(v)]
    top = ymax if ymax is not None else (max(vals) if vals else 1) or 1
    if not percent:
        top = max(top, 4)
    ng, ns = max(len(groups), 1), max(len(series), 1)
    gw = pw / ng
    bw = gw * 0.8 / ns
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="{_e(title)}">',
             f'<text x="{ml}" y="18" font-size="13" font-weight="600">{_e(title)}</text>']
    for t in _nice_ticks(0, top, 4):
        if not percent and t != int(t):
            continue
        y = mt + ph * (1 - t / top)
        lab = f"{t:.0%}" if percent else f"{t:g}"
        parts.append(f'<line x1="{ml}" y1="{y:.1f}" x2="{ml + pw}" y2="{y:.1f}" stroke="#eee"/>'
                     f'<text x="{ml - 4}" y="{y + 3:.1f}" font-size="10" text-anchor="end">{lab}</text>')
    for gi, g in enumerate(groups):
        gx = ml + gi * gw + gw * 0.1
        for si, (name, s) in enumerate(series.items()):
            v = s[gi] if gi < len(s) else None
            if v is None or not math.isfinite(v):
                continue
            bh = ph * min(v, top) / top
            parts.append(f'<rect x="{gx + si * bw:.1f}" y="{mt + ph - bh:.1f}" width="{bw:.1f}" height="{bh:.1f}" '
                         f'fill="{colors[si % len(colors)]}"><title>{_e(name)} {_e(g)}: '
                         f'{(f"{v:.1%}" if percent else f"{v:g}")}</title></rect>')
        cx = ml + gi * gw + gw / 2
        parts.append(f'<text x="{cx:.1f}" y="{mt + ph + 12}" font-size="10" text-anchor="end" '
                     f'transform="rotate(-35 {cx:.1f} {mt + ph + 12})">{_e(g)}</text>')
    parts.append(_legend([(n, colors[si % len(colors)]) for si, n in enumerate(series)], ml, 34))
    parts.append(f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#999"/></svg>')
    return "".join(parts)


# --------------------------------------------------------------------------- HTML page
def _accuracy_by(golden: pl.DataFrame, col: str, base: str, cand: str) -> tuple[list[str], dict[str, list[float]]]:
    t = golden.group_by("agent_version", col).agg(pl.col("passed").cast(pl.Float64).mean().alias("acc"))
    groups = sorted(t[col].drop_nulls().unique().to_list())
    out = {}
    for agent in (base, cand):
        m = {r[col]: r["acc"] for r in t.filter(pl.col("agent_version") == agent).iter_rows(named=True)}
        out[agent] = [m.get(g) for g in groups]
    return groups, out


def render_gate_report_html(decision: GateDecision, *, golden_results: pl.DataFrame | None = None,
                            findings: pl.DataFrame | None = None, latency_inputs: pl.DataFrame | None = None,
                            scenario_summary: pl.DataFrame | None = None, title: str | None = None) -> str:
    from agent_release.evals.gate import _latency_turns

    base, cand = decision.baseline_version, decision.candidate_version
    ok = decision.decision == "PROMOTE"
    title = title or f"Pre-prod gate — {decision.release_id}"
    rows = []
    for c in decision.criteria:
        ci = f"[{_fmt(c, c.ci_low)}, {_fmt(c, c.ci_high)}]" if c.ci_low is not None else "—"
        val, thr = _val_thr(c)
        rows.append(f'<tr><td>{_e(c.name)}</td><td class="{"pass" if c.passed else "fail"}">{c.status}</td>'
                    f'<td>{_e(val)}</td><td>{_e(thr)}</td><td>{_e(ci)}</td><td>{_e(c.rule)}</td><td>{_e(c.reason)}</td></tr>')
    charts = []
    budget = decision.criterion("p95_latency").threshold
    turns = _latency_turns(latency_inputs) if latency_inputs is not None else pl.DataFrame()
    if not turns.is_empty():
        series = {a: turns.filter(pl.col("agent_version") == a)["latency_ms"].to_numpy() for a in (base, cand)}
        charts.append(svg_ecdf(series, budget=budget, title="Latency per assistant turn — ECDF (dot = p95)"))
        charts.append(svg_histogram(series, budget=budget, title="Latency per assistant turn — histogram"))
    if golden_results is not None and not golden_results.is_empty():
        for col in ("locale", "intent"):
            if col in golden_results.columns:
                g, s = _accuracy_by(golden_results, col, base, cand)
                charts.append(svg_grouped_bars(g, s, title=f"Golden accuracy per {col}", ymax=1.0))
    if findings is not None and not findings.is_empty():
        sev = ["low", "medium", "high", "critical"]
        f = findings.filter(pl.col("passed") == False).group_by("agent_version", "severity").agg(pl.len().alias("n"))  # noqa: E712
        s = {a: [float(f.filter((pl.col("agent_version") == a) & (pl.col("severity") == x))["n"].sum()) for x in sev]
             for a in (base, cand)}
        charts.append(svg_grouped_bars(sev, s, title="Adversarial failures by severity (count)", percent=False))
        cats = sorted(findings["category"].unique().to_list())
        fc = findings.filter(pl.col("passed") == False).group_by("agent_version", "category").agg(pl.len().alias("n"))  # noqa: E712
        s2 = {a: [float(fc.filter((pl.col("agent_version") == a) & (pl.col("category") == x))["n"].sum()) for x in cats]
              for a in (base, cand)}
        charts.append(svg_grouped_bars(cats, s2, title="Adversarial failures by category (count)", percent=False))
    flipped = decision.criterion("golden_accuracy").details.get("flipped_pass_to_fail") or []
    new = decision.criterion("new_high_severity").details.get("new_failures") or []
    extra = []
    if flipped:
        n_err = decision.criterion("golden_accuracy").details.get("flipped_pass_to_fail_endpoint_errors", 0)
        extra.append(f"<h2>Golden cases flipped pass→fail ({len(flipped)}; {n_err} of them candidate endpoint errors)</h2>"
                     "<table><tr><th>case</th><th>intent</th><th>locale</th><th>endpoint error</th></tr>"
                     + "".join(f"<tr><td>{_e(x.get('case_id'))}</td><td>{_e(x.get('intent', ''))}</td>"
                               f"<td>{_e(x.get('locale', ''))}</td><td>{_e(x.get('error') or '')}</td></tr>"
                               for x in flipped) + "</table>")
    if new:
        extra.append("<h2>New high-severity failures</h2><table><tr><th>source</th><th>probe</th><th>category</th>"
                     "<th>severity</th><th>detector</th><th>fails</th><th>signature</th></tr>"
                     + "".join(f"<tr><td>{_e(n['source'])}</td><td>{_e(n['probe'])}</td><td>{_e(n['category'])}</td>"
                               f"<td>{_e(n['severity'])}</td><td>{_e(n['detector'])}</td>"
                               f"<td>{n['candidate_fails']}/{n['candidate_attempts']}</td><td><code>{_e(n['failure_signature'])}</code></td></tr>"
                               for n in new) + "</table>")
    oc_md = golden_oc_lines(decision)
    if oc_md:
        ps = [ln for ln in oc_md if ln and not ln.startswith("|")]
        table = [ln for ln in oc_md if ln.startswith("|") and not ln.startswith("|---")]
        body = "".join(f"<p>{_e(ln.replace('**', ''))}</p>" for ln in ps[:2])
        if table:
            body += "<table>" + "".join("<tr>" + "".join(f"<td>{_e(x.strip())}</td>" for x in ln.strip("|").split("|")) + "</tr>"
                                        for ln in table) + "</table>"
        body += "".join(f"<p>{_e(ln.replace('**', ''))}</p>" for ln in ps[2:])
        extra.append("<h2>Golden rule: harm test and operating characteristic</h2>" + body)
    if scenario_summary is not None and not scenario_summary.is_empty():
        cols = [c for c in ("agent_version", "kind", "scenarios", "pass_rate", "pass_at_k", "pass_hat_k") if c in scenario_summary.columns]
        extra.append("<h2>Scenario battery</h2><table><tr>" + "".join(f"<th>{_e(c)}</th>" for c in cols) + "</tr>"
                     + "".join("<tr>" + "".join(f"<td>{_e(f'{r[c]:.1%}' if isinstance(r[c], float) else r[c])}</td>" for c in cols) + "</tr>"
                               for r in scenario_summary.select(cols).iter_rows(named=True)) + "</table>")
    css = ("body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#1f2328;max-width:1200px}"
           "table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #d0d7de;padding:4px 8px;font-size:13px;"
           "text-align:left;vertical-align:top}th{background:#f6f8fa}.pass{color:#1a7f37;font-weight:700}"
           ".fail{color:#cf222e;font-weight:700}.banner{padding:12px 16px;border-radius:6px;font-size:20px;font-weight:700;"
           "color:#fff}.charts{display:flex;flex-wrap:wrap;gap:16px}.charts svg{border:1px solid #eee;background:#fff}"
           "code{font-size:12px}")
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{_e(title)}</title>"
            f"<style>{css}</style></head><body><h1>{_e(title)}</h1>"
            f'<div class="banner" style="background:{PASS_COLOR if ok else FAIL_COLOR}">{_e(decision.decision)}: '
            f"{_e(cand)} vs {_e(base)}</div>"
            f"<p>spec <code>{_e(decision.spec_hash)}</code> · config <code>{_e(decision.config_hash)}</code> · "
            f"decided {_e(decision.decided_at.isoformat())}</p>"
            "<h2>Criteria</h2><table><tr><th>criterion</th><th>result</th><th>value</th><th>threshold</th>"
            "<th>interval</th><th>rule</th><th>reason</th></tr>" + "".join(rows) + "</table>"
            "<h2>Reasons</h2><ul>" + "".join(f"<li>{_e(r)}</li>" for r in decision.reasons) + "</ul>"
            + evidence_html(decision) +
            '<h2>Charts</h2><div class="charts">' + "".join(charts) + "</div>" + "".join(extra) +
            "</body></html>")
