"""Audit: would each production agent pass its canary exit criteria if they were applied today?

For every production agent, the written canary exit-criteria document of the release that put it
(or kept it) in production is read back (``canary.exit_criteria`` in the lake, else
``data/reports/<release>/canary_exit_criteria.md``; when neither exists it is rendered from the spec
and the audit says so) and checked against the spec as it is now (``canary.decision.exit_criteria_hash``
— a document written under an edited spec is reported as stale). Then each criterion of the document
is evaluated on live data:

* **today** = the agent's live conversations over the last ``window_days`` (default: the spec's
  ``min_soak_days``, a full weekly cycle) up to ``as_of`` (the newest data);
* **reference** = what the criteria compared against during the canary: the *baseline arm* of that
  release's canary (``canary.live_conversations``) over the first ``min_soak_days`` of the soak — the
  agent the candidate had to be non-inferior to. For an agent that *was* the baseline (the incumbent),
  the reference is its own canary-period traffic: the audit then asks whether it is still as good as
  when the criteria were written.

Criteria (the sections of the document):

1. data integrity — sample-ratio mismatch, flag/serving mismatches and representativeness concern a
   randomised two-arm comparison; a single production agent has none: ``N/A``;
2. guardrails — safety incidents ≤ ``safety_incidents_max``; error rate ≤ ``error_rate_max``; cost per
   resolution ≤ ``cost_overrun_ratio`` × reference;
3. minimum soak — ``window_days`` of data, every weekday seen, ≥ ``min_conversations_per_arm``;
4. exit metrics — the same one-sided non-inferiority tests and margins as the canary
   (Farrington–Manning on Rao–Scott effective counts for rates, Welch for CSAT, cluster bootstrap by
   user for the p95 latency ratio, delta method on per-user totals for cost per resolution), at one
   look: Holm step-down at the spec's ``alpha`` (no alpha spending — there is one look);
   ≥ ``required_passing`` must pass;
5. segments — resolution per segment of the spec's dimensions: significantly worse than the reference
   beyond the margin (one-sided, Holm across segments) blocks;
6. decision — EXPAND-equivalent ("would pass") only if all of the above pass; a guardrail breach
   reads as "would roll back".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import polars as pl

from agent_release.monitoring._sql import q

AUDIT = "monitoring.audit"
PASS, FAIL, NA = "PASS", "FAIL", "N/A"


@dataclass
class Criterion:
    section: str
    criterion: str
    threshold: str
    value: str
    status: str
    detail: str = ""


@dataclass
class AgentAudit:
    agent_version: str
    release_id: str | None
    criteria_doc_hash: str | None
    document_source: str
    document_current: bool | None
    as_of: datetime | None
    window: tuple[datetime | None, datetime | None]
    reference: tuple[datetime | None, datetime | None, str]
    criteria: list[Criterion] = field(default_factory=list)
    verdict: str = ""
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[dict]:
        return [{"as_of": self.as_of, "agent_version": self.agent_version, "release_id": self.release_id,
                 "criteria_doc_hash": self.criteria_doc_hash, "document_source": self.document_source,
                 "document_current": self.document_current, "window_start": self.window[0],
                 "window_end": self.window[1], "reference": self.reference[2], "section": c.section,
                 "criterion": c.criterion, "threshold": c.threshold, "value": c.value, "status": c.status,
                 "detail": c.detail, "verdict": self.verdict} for c in self.criteria]

    def to_text(self) -> str:
        w0, w1 = self.window
        r0, r1, rl = self.reference
        lines = [f"{self.agent_version}: {self.verdict}",
                 f"  exit criteria: release {self.release_id} (document {self.criteria_doc_hash}, {self.document_source}"
                 + ("" if self.document_current is None else (", matches the current spec" if self.document_current
                                                               else ", STALE: the spec changed since it was written")) + ")",
                 f"  today: {w0:%Y-%m-%d %H:%M} .. {w1:%Y-%m-%d %H:%M} UTC" if w0 and w1 else "  today: no data",
                 f"  reference: {rl}" + (f", {r0:%Y-%m-%d} .. {r1:%Y-%m-%d}" if r0 and r1 else "")]
        width = max((len(c.criterion) for c in self.criteria), default=10)
        section = None
        for c in self.criteria:
            if c.section != section:
                section = c.section
                lines.append(f"  [{section}]")
            lines.append(f"    {c.status:<4}  {c.criterion:<{width}}  {c.value}  (criterion: {c.threshold})"
                         + (f" — {c.detail}" if c.detail else ""))
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_markdown(self) -> str:
        lines = [f"# Audit — `{self.agent_version}` against the canary exit criteria of `{self.release_id}`", "",
                 f"**{self.verdict}**", "", f"- Exit-criteria document `{self.criteria_doc_hash}` ({self.document_source})"]
        if self.window[0]:
            lines.append(f"- Today: {self.window[0]:%Y-%m-%d %H:%M} – {self.window[1]:%Y-%m-%d %H:%M} UTC")
        lines.append(f"- Reference: {self.reference[2]}")
        lines += ["", "| section | criterion | value | criterion | status | detail |", "|---|---|---|---|---|---|"]
        for c in self.criteria:
            lines.append(f"| {c.section} | {c.criterion} | {c.value} | {c.threshold} | {c.status} | {c.detail} |")
        lines += [""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- data
_PER_USER = """
SELECT user_id,
       count(*)::DOUBLE AS conv,
       sum((outcome IS NOT NULL)::INTEGER)::DOUBLE AS n_out,
       sum((outcome = 'resolved')::INTEGER)::DOUBLE AS res,
       sum(coalesce(list_bool_or(list_transform(messages, lambda m: m.error IS NOT NULL)), FALSE)::INTEGER)::DOUBLE AS err,
       count(CASE thumb WHEN 'up' THEN 1 WHEN 'down' THEN 0 END)::DOUBLE AS th,
       coalesce(sum(CASE thumb WHEN 'up' THEN 1 WHEN 'down' THEN 0 END), 0)::DOUBLE AS up,
       count(csat)::DOUBLE AS cs_n, coalesce(sum(csat), 0)::DOUBLE AS cs_s, coalesce(sum(csat * csat), 0)::DOUBLE AS cs_ss,
       sum(coalesce(list_sum(list_transform(messages, lambda m: m.cost_usd)), 0.0))::DOUBLE AS cost,
       sum(coalesce(TRY_CAST(json_extract_string(extra_json, '$.safety_incident') AS INTEGER), 0))::DOUBLE AS safety
FROM {rel} GROUP BY user_id
"""


def _arm(con: duckdb.DuckDBPyConnection, rel: str) -> dict[str, Any]:
    pu = q(con, _PER_USER.format(rel=rel))
    arr = {c: pu[c].to_numpy().astype(float) for c in pu.columns if c != "user_id"}
    lat = q(con, f"""SELECT user_id, unnest(list_transform(list_filter(messages, lambda m: m.role = 'assistant'
                     AND m.latency_ms IS NOT NULL), lambda m: m.latency_ms)) AS lat FROM {rel}""")
    arr["lat"] = lat["lat"].to_numpy().astype(float)
    arr["lat_user"] = lat["user_id"].to_numpy()
    days = con.execute(f"SELECT count(DISTINCT dayofweek(ts)), min(ts), max(ts) FROM {rel}").fetchall()[0]
    arr["weekdays"], arr["first"], arr["last"] = days
    return arr


def _seg_rates(con: duckdb.DuckDBPyConnection, rel: str, dim: str) -> pl.DataFrame:
    expr = "coalesce(json_extract_string(extra_json, '$.persona'), 'unknown')" if dim == "persona" else f"coalesce({dim}, 'unknown')"
    return q(con, f"""SELECT {expr} AS seg, user_id, sum((outcome = 'resolved')::INTEGER)::DOUBLE AS x,
                             sum((outcome IS NOT NULL)::INTEGER)::DOUBLE AS n
                      FROM {rel} GROUP BY ALL""")


def load_document(lake, paths, spec) -> tuple[str, str, str]:
    """(document, hash, source) of the written exit criteria of ``spec``."""
    from agent_release.canary.decision import exit_criteria_hash, render_exit_criteria

    if lake.exists("canary.exit_criteria") and spec.release_id in lake.partitions("canary.exit_criteria"):
        r = lake.read("canary.exit_criteria", partition=spec.release_id).row(0, named=True)
        return r["document_md"], r["criteria_doc_hash"], "canary.exit_criteria"
    f = paths.reports / spec.release_id / "canary_exit_criteria.md"
    if f.exists():
        doc = f.read_text()
        return doc, exit_criteria_hash(spec, doc=doc), str(f.relative_to(paths.home)) if f.is_relative_to(paths.home) else str(f)
    doc = render_exit_criteria(spec)
    return doc, exit_criteria_hash(spec, doc=doc), "not written yet: rendered from the spec now"


def _fmt_rate(v: float | None) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2%}"


def audit_agent(lake, paths, pa: Any, *, as_of: datetime | None = None, window_days: int | None = None,
                stream_tables: list[str] | None = None, n_boot: int = 500, seed: int = 20261102) -> AgentAudit:
    """Audit one production agent (``pa``: a :class:`~agent_release.monitoring.production.ProductionAgent`)."""
    from agent_release import stats
    from agent_release.canary.decision import (
        DecisionPolicy, design_effect_mean, design_effect_rate, exit_criteria_hash, welch_noninferiority_summary,
    )
    from agent_release.monitoring.production import register_stream
    from agent_release.release_spec import load_release, list_releases

    v = pa.version
    rid = pa.release_id
    if rid is None:  # configured agent: the newest release naming it
        for r in reversed(list_releases()):
            s = load_release(r)
            if v in (s.baseline.version, s.candidate.version):
                rid = r
                break
    if rid is None:
        a = AgentAudit(v, None, None, "none", None, as_of, (None, None), (None, None, "none"))
        a.verdict = "NO EXIT CRITERIA (no release names this agent)"
        return a
    spec = load_release(rid)
    c = spec.canary
    policy = DecisionPolicy()
    doc, doc_hash, source = load_document(lake, paths, spec)
    current = doc_hash == exit_criteria_hash(spec, policy)
    window_days = window_days or c.min_soak_days
    con = duckdb.connect()
    register_stream(con, lake, [v], tables=stream_tables, name="today_all")
    if as_of is None:
        as_of = con.execute("SELECT max(ts) FROM today_all").fetchall()[0][0]
    audit = AgentAudit(v, rid, doc_hash, source, current, as_of, (None, None), (None, None, ""))
    if as_of is None:
        audit.verdict = "NO LIVE DATA"
        return audit
    w0 = as_of - timedelta(days=window_days)
    con.execute("CREATE TEMP TABLE today AS SELECT * FROM today_all WHERE ts > ? AND ts <= ?", [w0, as_of])
    # reference: the baseline arm of the release's canary, first min_soak_days of the soak
    ref_version = spec.baseline.version
    con.execute("CREATE TEMP TABLE ref_all AS SELECT * FROM today_all WHERE FALSE")
    if lake.exists("canary.live_conversations") and rid in lake.partitions("canary.live_conversations"):
        register_stream(con, lake, None, tables=[str(lake.table_dir("canary.live_conversations") / f"{rid}.parquet")],
                        name="canary_all")
        soak0 = con.execute("SELECT min(ts) FROM canary_all WHERE agent_version = ?", [spec.candidate.version]).fetchall()[0][0]
        soak0 = soak0 or con.execute("SELECT min(ts) FROM canary_all").fetchall()[0][0]
        con.execute("CREATE OR REPLACE TEMP TABLE ref_all AS SELECT * FROM canary_all WHERE agent_version = ? AND ts >= ? "
                    "AND ts < ?", [ref_version, soak0, soak0 + timedelta(days=c.min_soak_days)])
    T, R = _arm(con, "today"), _arm(con, "ref_all")
    audit.window = (T["first"], T["last"])
    label = (f"baseline arm ({ref_version}) of the {rid} canary, first {c.min_soak_days} days of the soak"
             if ref_version != v else f"its own traffic as the baseline arm of the {rid} canary, first "
             f"{c.min_soak_days} days of the soak")
    audit.reference = (R["first"], R["last"], label)
    if R["first"] is not None and T["first"] is not None and T["first"] < R["last"] - timedelta(hours=1):
        audit.notes.append("today's window overlaps the reference period (little live data yet): comparisons are "
                           "biased towards passing")
    crit = audit.criteria
    n_t, n_r = int(T["conv"].sum()), int(R["conv"].sum())
    # 1. data integrity
    for name in ("sample-ratio mismatch", "flag/serving mismatches", "cohort representativeness"):
        crit.append(Criterion("1. data integrity", name, "two randomised arms", "-", NA,
                              "a single production agent has no randomised comparison"))
    # 2. guardrails
    safety = int(T["safety"].sum())
    crit.append(Criterion("2. guardrails", "safety incidents", f"<= {c.safety_incidents_max}", str(safety),
                          PASS if safety <= c.safety_incidents_max else FAIL))
    err = T["err"].sum() / n_t if n_t else None
    if n_t >= policy.guardrail_min_conversations and err is not None:
        crit.append(Criterion("2. guardrails", "error rate", f"<= {c.error_rate_max:.1%}", _fmt_rate(err),
                              PASS if err <= c.error_rate_max else FAIL, f"{int(T['err'].sum())}/{n_t} conversations"))
    else:
        crit.append(Criterion("2. guardrails", "error rate", f"<= {c.error_rate_max:.1%}", _fmt_rate(err), NA,
                              f"fewer than {policy.guardrail_min_conversations} conversations"))
    cpr_t = T["cost"].sum() / T["res"].sum() if T["res"].sum() else None
    cpr_r = R["cost"].sum() / R["res"].sum() if R["res"].sum() else None
    if cpr_t is not None and cpr_r and T["res"].sum() >= policy.cost_guardrail_min_resolutions:
        ratio = cpr_t / cpr_r
        crit.append(Criterion("2. guardrails", "cost per resolution vs reference", f"<= {c.cost_overrun_ratio:g}x",
                              f"{ratio:.3f}x (${cpr_t:.4f} vs ${cpr_r:.4f})",
                              PASS if ratio <= c.cost_overrun_ratio else FAIL))
    else:
        crit.append(Criterion("2. guardrails", "cost per resolution vs reference", f"<= {c.cost_overrun_ratio:g}x",
                              "n/a", NA, "no resolutions or no reference"))
    guardrail_breach = any(x.status == FAIL for x in crit if x.section == "2. guardrails")
    # 3. minimum soak
    span = ((T["last"] - T["first"]).total_seconds() / 86400) if T["first"] else 0.0
    soak_ok = span >= window_days - policy.soak_grace_hours / 24 and (T["weekdays"] or 0) == 7
    crit.append(Criterion("3. minimum soak", "days of live data, every weekday seen",
                          f">= {window_days} days, 7 weekdays", f"{span:.1f} days, {T['weekdays'] or 0} weekdays",
                          PASS if soak_ok else FAIL))
    crit.append(Criterion("3. minimum soak", "conversations", f">= {c.min_conversations_per_arm}", f"{n_t:,}",
                          PASS if n_t >= c.min_conversations_per_arm else FAIL, f"reference {n_r:,}"))
    # 4. exit metrics
    rate_cols = {"resolution_rate": ("res", "n_out", True), "error_rate": ("err", "conv", False),
                 "thumbs_up_rate": ("up", "th", True)}
    results: dict[str, Any] = {}
    for met in c.metrics:
        name, margin = met.name, met.margin
        try:
            if name in rate_cols:
                xk, nk, hib = rate_cols[name]
                dt, dr = design_effect_rate(T[xk], T[nk]), design_effect_rate(R[xk], R[nk])
                r = stats.farrington_manning_noninferiority(T[xk].sum() / dt, T[nk].sum() / dt, R[xk].sum() / dr,
                                                            R[nk].sum() / dr, margin, hib, c.alpha)
                vals = (T[xk].sum() / T[nk].sum(), R[xk].sum() / R[nk].sum())
            elif name == "csat":
                def cs(a):
                    n = a["cs_n"].sum()
                    m = a["cs_s"].sum() / n
                    return m, max(0.0, (a["cs_ss"].sum() - n * m * m) / (n - 1)), n, design_effect_mean(a["cs_s"], a["cs_ss"], a["cs_n"])
                mt, vt, nt, dt = cs(T)
                mr, vr, nr, dr = cs(R)
                r = welch_noninferiority_summary(mt, vt, nt, mr, vr, nr, margin, c.alpha, dt, dr)
                vals = (mt, mr)
            elif name == "p95_latency_ms":
                r = stats.quantile_ratio_noninferiority(T["lat"], T["lat_user"], R["lat"], R["lat_user"], q=0.95,
                                                        margin_ratio=margin, alpha=c.alpha, n_boot=n_boot, seed=seed)
                vals = (float(np.quantile(T["lat"], 0.95)), float(np.quantile(R["lat"], 0.95)))
            elif name == "cost_per_resolution":
                r = stats.ratio_of_sums_noninferiority(T["cost"], T["res"], None, R["cost"], R["res"], None,
                                                       margin_ratio=max(margin, 1 + 1e-9), alpha=c.alpha)
                vals = (cpr_t, cpr_r)
            else:
                continue
            results[name] = (r, vals)
        except (ValueError, ZeroDivisionError, FloatingPointError) as exc:
            results[name] = (None, (None, None), str(exc))
    m = len(c.metrics)
    order = sorted((k for k, v in results.items() if v[0] is not None), key=lambda k: results[k][0].p_value)
    still, passed = True, 0
    holm: dict[str, tuple[float, bool]] = {}
    for j, name in enumerate(order):
        level = c.alpha / (m - j)
        ok = still and results[name][0].p_value <= level
        still = still and ok
        holm[name] = (level, ok)
        passed += ok
    for met in c.metrics:
        res = results.get(met.name)
        thr = _threshold(met.name, met.margin)
        if res is None or res[0] is None:
            crit.append(Criterion("4. exit metrics", met.name, thr, "n/a", FAIL,
                                  "not testable: " + (res[2] if res and len(res) > 2 else "no data")))
            continue
        r, (vt, vr) = res
        level, ok = holm[met.name]
        crit.append(Criterion("4. exit metrics", f"{met.name} non-inferior to reference", thr,
                              f"{_val(met.name, vt)} vs {_val(met.name, vr)} (est {_est(met.name, r.estimate)}, "
                              f"bound {_est(met.name, r.bound)})", PASS if ok else FAIL,
                              f"p={r.p_value:.2g} vs Holm level {level:.3g}"))
    crit.append(Criterion("4. exit metrics", "metrics non-inferior", f">= {c.required_passing} of {m}",
                          f"{passed} of {m}", PASS if passed >= c.required_passing else FAIL))
    # 5. segments
    res_margin = next((mm.margin for mm in c.metrics if mm.name == "resolution_rate"), 0.02)
    seg_tests = []
    for dim in c.segments:
        if dim not in ("locale", "persona", "channel"):
            continue
        st, sr = _seg_rates(con, "today", dim), _seg_rates(con, "ref_all", dim)
        for seg in sorted(set(st["seg"].to_list()) | set(sr["seg"].to_list())):
            a, b = st.filter(pl.col("seg") == seg), sr.filter(pl.col("seg") == seg)
            if a["n"].sum() < policy.segment_min_conversations or b["n"].sum() < policy.segment_min_conversations:
                continue
            da = design_effect_rate(a["x"].to_numpy(), a["n"].to_numpy())
            db = design_effect_rate(b["x"].to_numpy(), b["n"].to_numpy())
            r = stats.farrington_manning_noninferiority(a["x"].sum() / da, a["n"].sum() / da, b["x"].sum() / db,
                                                        b["n"].sum() / db, res_margin, True, c.alpha)
            seg_tests.append((f"{dim} {seg}", 1 - r.p_value, a["x"].sum() / a["n"].sum(), b["x"].sum() / b["n"].sum()))
    flagged = []
    if seg_tests:
        adj = stats.holm_adjust([t[1] for t in seg_tests], alpha=c.alpha)
        flagged = [(t, p) for t, p, rej in zip(seg_tests, adj.adjusted, adj.reject, strict=True) if rej]
    crit.append(Criterion("5. segments", "no segment significantly worse (resolution)",
                          f"worse by more than {res_margin * 100:g} pts, Holm at {c.alpha:g}",
                          f"{len(flagged)} of {len(seg_tests)} segments flagged", FAIL if flagged else PASS,
                          "; ".join(f"{t[0]}: {t[2]:.1%} vs {t[3]:.1%} (p_adj={p:.2g})" for t, p in flagged[:5])))
    # 6. decision
    if guardrail_breach:
        audit.verdict = "WOULD ROLL BACK today (guardrail breach)"
    elif all(x.status in (PASS, NA) for x in crit):
        audit.verdict = "WOULD PASS today (every exit criterion met)"
    else:
        failing = [x.criterion for x in crit if x.status == FAIL]
        audit.verdict = "WOULD NOT PASS today: " + "; ".join(failing[:4])
    if not current:
        audit.notes.append("the written exit-criteria document does not match the current spec (stale)")
    con.close()
    return audit


def _threshold(name: str, margin: float) -> str:
    if name in ("p95_latency_ms", "cost_per_resolution"):
        return f"<= {margin:g}x reference"
    if name == "csat":
        return f">= reference - {margin:g}"
    if name == "error_rate":
        return f"<= reference + {margin * 100:g} pts"
    return f">= reference - {margin * 100:g} pts"


def _val(name: str, v: float | None) -> str:
    if v is None:
        return "n/a"
    if name.endswith("_rate"):
        return f"{v:.2%}"
    if name == "p95_latency_ms":
        return f"{v:.0f} ms"
    if name == "cost_per_resolution":
        return f"${v:.4f}"
    return f"{v:.3f}"


def _est(name: str, v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if name in ("p95_latency_ms", "cost_per_resolution"):
        return f"{v:.3f}x"
    if name == "csat":
        return f"{v:+.3f}"
    return f"{v * 100:+.2f} pts"


def audit_all(lake, paths, agents: list[Any], **kw: Any) -> list[AgentAudit]:
    return [audit_agent(lake, paths, pa, **kw) for pa in agents]


def frame(audits: list[AgentAudit]) -> pl.DataFrame:
    rows = [r for a in audits for r in a.rows()]
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()
