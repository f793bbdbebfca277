"""Canary exit decision: EXPAND, HOLD or ROLLBACK, with the evidence.

Two artefacts:

* :func:`render_exit_criteria` -- the exit-criteria document, Markdown generated from the
  release spec (and the :class:`DecisionPolicy`) BEFORE the canary starts; its hash
  (:func:`exit_criteria_hash`) is cited by every decision, so a decision can only be read against
  the criteria that were registered for it.
* :func:`decide` -- one look at the canary: ``decide(spec, traffic, as_of, looks_so_far)``.

Order of evaluation (and precedence of the outcome)
--------------------------------------------------
0. **No data** (no conversation served by the candidate, or none by the baseline, before
   ``as_of``) -> HOLD. Never a pass.
1. **Absolute guardrails** on everything the candidate served (valid whatever the comparison
   looks like): safety incidents > ``safety_incidents_max``; candidate error rate >
   ``error_rate_max`` (point estimate, once the candidate served
   ``guardrail_min_conversations``) -> ROLLBACK with the evidence.
2. **Data integrity** -- if broken, the metrics are NOT interpreted and the decision is HOLD
   (chosen over ROLLBACK: a broken comparison says nothing about the candidate, and rolling back
   on it would hide the bug that broke it; fix the assignment/logging, then look again):

   * sample-ratio mismatch: chi-square goodness of fit of *users* per served arm against the
     flag's expected share (``floor(traffic_percent)/100``: Unleash buckets users in whole percent),
     p < 0.001 (``stats.srm_check``). Users, not conversations, because users are the unit the
     flag randomises; conversations of one user are correlated and would inflate the chi-square;
   * flag/serving mismatches above ``max_mismatch_share`` of the canary's conversations;
   * a pre-canary representativeness verdict of HOLD (when one is passed in).
3. **Comparative guardrail**: cost per resolution candidate / baseline > ``cost_overrun_ratio``
   (point estimate, once the candidate has ``cost_guardrail_min_resolutions``) -> ROLLBACK.
4. **Minimum soak**: ``min_soak_days`` elapsed since the first candidate conversation, all 7
   weekdays seen, ``min_conversations_per_arm`` per arm -> otherwise HOLD "too early".
5. **Exit metrics** (from the spec): one-sided non-inferiority with the registered margins --
   Farrington-Manning score test for rates (resolution, error, thumbs-up), Welch t for CSAT,
   cluster bootstrap by user for p95 latency (ratio; normal interval on the log ratio with the
   bootstrap standard error, so that the small nominal levels of early looks are resolvable),
   delta method on per-user totals for cost per resolution. Users are the randomisation unit:
   FM and Welch run on Rao-Scott effective counts (each arm's counts divided by its design effect
   over users, floored at 1) -- with ~3.6 conversations per user the design effect of resolution is
   ~1.25, which plain FM would ignore. Repeated daily looks: Lan-DeMets
   O'Brien-Fleming-type alpha spending over information fraction = soak days / max_soak_days
   (``stats.group_sequential_bounds``). Multiplicity across metrics: Holm step-down in which each
   step's level is itself spent group-sequentially (the graphical group-sequential procedure
   of Maurer & Bretz 2013 with Holm weights): step j compares the j-th smallest p-value with the
   nominal level of an O'Brien-Fleming plan at ``alpha / (m - j)``.
6. **Segments / slow burn** (only once the metrics are tested): a segment where the candidate is
   significantly WORSE than the baseline by more than the margin blocks expansion -- one-sided
   superiority test of baseline over candidate beyond the margin (p = 1 - p of the
   non-inferiority test), Holm-corrected across all segment tests at ``alpha``. Checked:
   resolution per locale / persona (the spec's ``segments``), CSAT per conversation-length bucket
   (tone drift on long conversations), escalation hand-off quality. The reason names the segment.
7. **EXPAND** only with >= ``required_passing`` metrics non-inferior, no guardrail breach, no
   significantly worse segment and the minimum soak met; otherwise HOLD (inconclusive); after
   ``max_soak_days`` the HOLD says the soak is exhausted.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np

from agent_release import stats
from agent_release.canary import cohort_stats as cs
from agent_release.release_spec import CANARY_METRICS

EXPAND, HOLD, ROLLBACK = "EXPAND", "HOLD", "ROLLBACK"

#: metric -> (higher_is_better, scale, test description)
_FM = "Farrington-Manning score test, difference of proportions (Rao-Scott: counts / design effect by user)"
METRICS: dict[str, tuple[bool, str, str]] = {
    "resolution_rate": (True, "diff", _FM),
    "error_rate": (False, "diff", _FM),
    "thumbs_up_rate": (True, "diff", _FM),
    "csat": (True, "diff", "Welch t-test with shifted null, difference of means (Rao-Scott effective n by user)"),
    "p95_latency_ms": (False, "ratio", "cluster bootstrap by user of the p95 ratio (log-normal interval)"),
    "cost_per_resolution": (False, "ratio", "ratio of sums, delta method on per-user totals"),
}


@dataclass(frozen=True)
class DecisionPolicy:
    """Decision settings that are not in the release spec. Rendered into the exit-criteria
    document (so they are covered by its hash)."""

    srm_threshold: float = 0.001
    max_mismatch_share: float = 0.01  # of the conversations assigned to or served by the candidate
    guardrail_min_conversations: int = 200
    cost_guardrail_min_resolutions: int = 100
    segment_min_conversations: int = 30  # per arm, else the segment is not tested
    resolution_segment_margin: float | None = None  # None: the spec's resolution_rate margin (or 0.02)
    csat_segment_margin: float | None = None  # None: the spec's csat margin (or 0.15)
    handoff_margin: float = 0.05
    length_buckets: tuple[int, ...] = (1, 3, 6, 10)  # lower edges, assistant turns
    soak_grace_hours: float = 1.0  # the first candidate conversation arrives a little after the flag flips
    spending: str = "obrien-fleming"
    n_boot: int = 1000
    bootstrap_seed: int = 20261102


# =========================================================================== exit criteria


def _fmt_margin(name: str, margin: float) -> str:
    hib, scale, _ = METRICS[name]
    if scale == "ratio":
        return f"candidate <= {margin:g} x baseline"
    if name == "csat":
        return f"candidate >= baseline - {margin:g} points (1-5 scale)"
    sign = "-" if hib else "+"
    word = ">=" if hib else "<="
    return f"candidate {word} baseline {sign} {margin * 100:g} pts"


def _seg_margins(spec: Any, policy: DecisionPolicy) -> tuple[float, float]:
    margins = {m.name: m.margin for m in spec.canary.metrics}
    res = policy.resolution_segment_margin if policy.resolution_segment_margin is not None else margins.get(
        "resolution_rate", 0.02)
    csat = policy.csat_segment_margin if policy.csat_segment_margin is not None else margins.get("csat", 0.15)
    return float(res), float(csat)


def _planned_looks(spec: Any) -> list[float]:
    c = spec.canary
    return [d / c.max_soak_days for d in range(c.min_soak_days, c.max_soak_days + 1)]


def render_exit_criteria(spec: Any, policy: DecisionPolicy | None = None) -> str:
    """The exit-criteria document (Markdown), written from the spec before the canary starts."""
    policy = policy or DecisionPolicy()
    c = spec.canary
    m = len(c.metrics)
    flag = spec.rollout.flag_name or spec.release_id
    res_m, csat_m = _seg_margins(spec, policy)
    lines = [
        f"# Canary exit criteria: {spec.release_id}",
        "",
        f"- Release spec hash: `{spec.spec_hash}`",
        f"- Baseline: `{spec.baseline.version}` (model `{spec.baseline.model}`)",
        f"- Candidate: `{spec.candidate.version}` (model `{spec.candidate.model}`)",
        f"- Flag `{flag}`: {c.traffic_percent:g}% of users (Unleash gradual rollout on user id, "
        f"expected user share {math.floor(c.traffic_percent) / 100:.2%}); cohort = served agent version, "
        "checked against the user's flag assignment",
        "",
        "Written before the canary starts. Every decision row cites this document's hash; a "
        "decision computed under another hash does not count.",
        "",
        "## 1. Data integrity (checked first; failure -> HOLD, metrics not interpreted)",
        f"- Sample-ratio mismatch: chi-square of users per served arm vs the expected share; "
        f"p < {policy.srm_threshold:g} -> HOLD \"sample ratio mismatch\".",
        f"- Flag/serving mismatches (a canary user served by the baseline or vice versa): excluded from "
        f"the comparison and counted; more than {policy.max_mismatch_share:.1%} of the canary's "
        "conversations -> HOLD.",
        "- Pre-canary cohort representativeness (locale, channel, persona) verdict HOLD -> HOLD.",
        "",
        "## 2. Guardrails (any look; breach -> ROLLBACK)",
        f"- Safety incidents on candidate conversations > {c.safety_incidents_max}.",
        f"- Candidate error rate (conversations with an assistant error) > {c.error_rate_max:.1%} "
        f"(point estimate, from {policy.guardrail_min_conversations} candidate conversations).",
        f"- Candidate cost per resolution > {c.cost_overrun_ratio:g} x baseline (point estimate, from "
        f"{policy.cost_guardrail_min_resolutions} candidate resolutions; requires intact data).",
        "",
        "## 3. Minimum soak (else HOLD \"too early\")",
        f"- At least {c.min_soak_days} days since the canary started (flag on, else the first candidate "
        f"conversation; {policy.soak_grace_hours:g} h grace) and every weekday seen (a full weekly cycle).",
        f"- At least {c.min_conversations_per_arm} conversations per arm.",
        f"- Maximum soak {c.max_soak_days} days (information fraction = soak days / {c.max_soak_days}).",
        "",
        "## 4. Exit metrics (one-sided non-inferiority, margins registered here)",
        "",
        "| metric | non-inferior when | H0 (rejected to pass) | test |",
        "|---|---|---|---|",
    ]
    for met in c.metrics:
        hib, scale, test = METRICS[met.name]
        if scale == "ratio":
            h0 = f"ratio >= {met.margin:g}"
        else:
            unit = 1 if met.name == "csat" else 100
            u = "" if met.name == "csat" else " pts"
            h0 = f"diff <= -{met.margin * unit:g}{u}" if hib else f"diff >= +{met.margin * unit:g}{u}"
        lines.append(f"| {met.name} | {_fmt_margin(met.name, met.margin)} | {h0} | {test} |")
    lines += [
        "",
        "Differences are candidate - baseline; ratios candidate / baseline. Rates count conversations; "
        "latency counts assistant turns, resampled by user; CSAT counts rated conversations.",
        "",
        "Users are the randomisation unit and their conversations are correlated, so every test accounts for "
        "clustering by user: rates and CSAT divide each arm's counts by its design effect (cluster-robust over "
        "iid variance, floored at 1; Rao & Scott 1992), p95 latency resamples users, cost per resolution uses "
        "per-user totals.",
        "",
        "## 5. Repeated looks and multiplicity",
        f"- One-sided alpha = {c.alpha:g} for the family of {m} exit metrics, Holm step-down "
        f"(step j tests at alpha/(m - j)).",
        f"- Each step's level is spent over the daily looks with a Lan-DeMets O'Brien-Fleming-type "
        f"spending function; looks are planned daily from day {c.min_soak_days} to day {c.max_soak_days} "
        "(no alpha is spent before the minimum soak). Unplanned extra looks are allowed "
        "(Lan-DeMets): pass the looks actually taken.",
        "",
        "Nominal one-sided level at each planned look (first Holm step, alpha/m; later steps are larger):",
        "",
        "| day | information fraction | cumulative alpha spent | nominal level |",
        "|---|---|---|---|",
    ]
    fr = _planned_looks(spec)
    plan = stats.group_sequential_bounds(fr, c.alpha / m, policy.spending)
    for t, cum, nom in zip(plan.information_fractions, plan.cumulative_alpha, plan.nominal_alphas, strict=True):
        lines.append(f"| {t * c.max_soak_days:.0f} | {t:.3f} | {cum:.2e} | {nom:.2e} |")
    buckets = _bucket_labels(policy.length_buckets)
    lines += [
        "",
        "## 6. Segments and slow burn (block expansion; reason names the segment)",
        f"- Resolution per {', '.join(c.segments) or '(no segment dimension)'}: blocked when the candidate is "
        f"significantly worse than the baseline by more than {res_m * 100:g} pts.",
        f"- CSAT per conversation length ({', '.join(buckets)} assistant turns): blocked when "
        f"significantly worse by more than {csat_m:g} points (tone drift on long conversations).",
        f"- Escalation hand-off quality (share of escalations handed off complete): blocked when "
        f"significantly worse by more than {policy.handoff_margin * 100:g} pts.",
        f"- Test: one-sided superiority of baseline over candidate beyond the margin (Farrington-Manning / "
        f"Welch on Rao-Scott effective counts), Holm-corrected across all segment tests at alpha = {c.alpha:g}; segments with fewer than "
        f"{policy.segment_min_conversations} conversations in an arm are reported, not tested.",
        "",
        "## 7. Decision",
        f"- EXPAND: at least {c.required_passing} of {m} exit metrics non-inferior, no guardrail breach, "
        "no significantly worse segment, minimum soak met, data intact.",
        "- ROLLBACK: a guardrail breach.",
        "- HOLD: anything else (too early, inconclusive, data integrity, a worse segment); after the "
        "maximum soak a HOLD means the candidate was not shown non-inferior.",
        "",
        f"Settings: bootstrap {policy.n_boot} resamples (seed {policy.bootstrap_seed}); "
        f"segment margins resolution {res_m:g}, CSAT {csat_m:g}, hand-off {policy.handoff_margin:g}.",
        "",
    ]
    return "\n".join(lines)


def exit_criteria_hash(spec: Any, policy: DecisionPolicy | None = None, doc: str | None = None) -> str:
    """SHA-256 (16 hex) of the exit-criteria document."""
    if doc is None:
        try:
            return _cached_hash(spec, policy or DecisionPolicy())
        except TypeError:  # unhashable spec-like object
            doc = render_exit_criteria(spec, policy)
    return hashlib.sha256(doc.encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=64)
def _cached_hash(spec: Any, policy: DecisionPolicy) -> str:
    return hashlib.sha256(render_exit_criteria(spec, policy).encode()).hexdigest()[:16]


def _bucket_labels(edges: Sequence[int]) -> list[str]:
    out = []
    for i, lo in enumerate(edges):
        hi = edges[i + 1] - 1 if i + 1 < len(edges) else None
        out.append(f"{lo}+" if hi is None else (f"{lo}" if hi == lo else f"{lo}-{hi}"))
    return out


# =========================================================================== results


@dataclass
class MetricResult:
    name: str
    test: str
    higher_is_better: bool
    scale: str  # "diff" | "ratio"
    value_candidate: float | None
    value_baseline: float | None
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    ci_level: float | None  # two-sided level of [ci_low, ci_high] = 1 - 2 * alpha_adjusted
    margin: float
    threshold: float
    p_value: float | None
    alpha_adjusted: float | None  # nominal one-sided level this metric was compared with
    holm_step: int | None
    passed: bool
    n_candidate: int
    n_baseline: int
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        if self.estimate is None:
            return f"{self.name}: not tested ({self.note})"
        est, lo, hi, thr = (_fmt_est(self.name, v) for v in (self.estimate, self.ci_low, self.ci_high,
                                                                 self.threshold))
        verdict = "non-inferior" if self.passed else "NOT shown non-inferior"
        if not self.passed and self._significantly_worse():
            verdict = "significantly WORSE than the margin"
        return (
            f"{self.name}: {verdict}: {est} ({self.ci_level:.1%} CI [{lo}, {hi}], margin {thr}), "
            f"p={_fmt_p(self.p_value)} vs level {_fmt_p(self.alpha_adjusted)}"
        )

    def _significantly_worse(self) -> bool:
        if self.ci_low is None or self.ci_high is None:
            return False
        return self.ci_high < self.threshold if self.higher_is_better else self.ci_low > self.threshold


@dataclass
class SegmentFinding:
    check: str  # resolution | csat_by_length | handoff
    dimension: str
    segment: str
    n_candidate: int
    n_baseline: int
    value_candidate: float | None
    value_baseline: float | None
    estimate: float | None  # candidate - baseline
    ci_low: float | None  # two-sided 95%
    ci_high: float | None
    margin: float
    p_value: float | None  # one-sided: candidate worse than baseline by more than the margin
    p_adjusted: float | None  # Holm across all segment tests
    flagged: bool
    tested: bool
    deff_candidate: float = 1.0  # design effect by user (Rao-Scott) used in the test
    deff_baseline: float = 1.0
    reason: str = ""


@dataclass
class GuardrailResult:
    name: str
    value: float | None
    threshold: float
    breached: bool
    evaluated: bool
    evidence: str


@dataclass
class CanaryDecision:
    release_id: str
    spec_hash: str
    criteria_doc_hash: str
    as_of: datetime | None
    decision: str
    reasons: list[str]
    metrics: list[MetricResult] = field(default_factory=list)
    segments: list[SegmentFinding] = field(default_factory=list)
    guardrails: list[GuardrailResult] = field(default_factory=list)
    srm: dict[str, Any] | None = None
    soak: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    mismatches: dict[str, Any] = field(default_factory=dict)
    information_fraction: float | None = None
    look_fractions: list[float] = field(default_factory=list)
    metrics_tested: bool = False
    required_passing: int = 0
    alpha: float = 0.05
    representativeness: dict[str, Any] | None = None
    policy: dict[str, Any] = field(default_factory=dict)

    @property
    def metrics_passed(self) -> int:
        return sum(m.passed for m in self.metrics)

    @property
    def segments_flagged(self) -> list[str]:
        return [f"{s.dimension} {s.segment}" if s.dimension != s.check else s.segment
                for s in self.segments if s.flagged]

    @property
    def summary(self) -> str:
        head = self.reasons[0] if self.reasons else ""
        return f"{self.decision}: {head} [exit criteria {self.criteria_doc_hash}]"

    def to_row(self) -> dict[str, Any]:
        """Flat dict for one row of ``canary.decisions`` (see :data:`DECISION_COLUMN_DOCS`)."""
        row: dict[str, Any] = {
            "release_id": self.release_id,
            "spec_hash": self.spec_hash,
            "criteria_doc_hash": self.criteria_doc_hash,
            "as_of": self.as_of,
            "decision": self.decision,
            "reasons": list(self.reasons),
            "metrics_tested": self.metrics_tested,
            "metrics_passed": self.metrics_passed,
            "required_passing": self.required_passing,
        }
        by_name = {m.name: m for m in self.metrics}
        for name in CANARY_METRICS:
            m = by_name.get(name)
            row[f"{name}_estimate"] = m.estimate if m else None
            row[f"{name}_ci_low"] = m.ci_low if m else None
            row[f"{name}_ci_high"] = m.ci_high if m else None
            row[f"{name}_margin"] = m.margin if m else None
            row[f"{name}_p_value"] = m.p_value if m else None
            row[f"{name}_alpha_adjusted"] = m.alpha_adjusted if m else None
            row[f"{name}_passed"] = m.passed if m else None
        srm = self.srm or {}
        row.update(
            segments_flagged=self.segments_flagged,
            segments_tested=sum(s.tested for s in self.segments),
            guardrails_breached=[g.name for g in self.guardrails if g.breached],
            safety_incidents=self.counts.get("safety_incidents_candidate"),
            srm_p_value=srm.get("p_value"),
            srm_expected_share=srm.get("expected_share"),
            srm_observed_share=srm.get("observed_share"),
            soak_start=self.soak.get("start"),
            soak_days=self.soak.get("days"),
            weekdays_seen=self.soak.get("weekdays_seen"),
            information_fraction=self.information_fraction,
            look_fractions=list(self.look_fractions),
            n_candidate=self.counts.get("conversations_candidate"),
            n_baseline=self.counts.get("conversations_baseline"),
            users_candidate=self.counts.get("users_candidate"),
            users_baseline=self.counts.get("users_baseline"),
            mismatched_conversations=self.mismatches.get("mismatched_conversations"),
            mismatch_share=self.mismatches.get("mismatch_share_of_canary"),
            representativeness_verdict=(self.representativeness or {}).get("verdict"),
            alpha=self.alpha,
            alpha_spending="lan-demets " + self.policy.get("spending", "obrien-fleming"),
            multiplicity="holm (sequential levels)",
            details_json=json.dumps(self.details(), default=_json_default, sort_keys=True),
        )
        return row

    def to_markdown(self) -> str:
        """Readable summary for asset metadata: decision, reasons, metric table, flagged segments."""
        lines = [f"**{self.decision}** at {self.as_of:%Y-%m-%d %H:%M} UTC (exit criteria `{self.criteria_doc_hash}`, "
                 f"spec `{self.spec_hash}`)" if self.as_of else f"**{self.decision}**", ""]
        lines += [f"- {r}" for r in self.reasons]
        if self.metrics:
            lines += ["", "| metric | candidate | baseline | estimate | CI | margin | p | level | pass |",
                      "|---|---|---|---|---|---|---|---|---|"]
            for m in self.metrics:
                ci = (f"[{_fmt_est(m.name, m.ci_low)}, {_fmt_est(m.name, m.ci_high)}]"
                      if m.ci_low is not None else "")
                vals = [_fmt_val(m.name, m.value_candidate), _fmt_val(m.name, m.value_baseline)]
                lines.append(
                    f"| {m.name} | {vals[0]} | {vals[1]} | {_fmt_est(m.name, m.estimate)} | {ci} | "
                    f"{_fmt_est(m.name, m.threshold)} | {_fmt_p(m.p_value)} | {_fmt_p(m.alpha_adjusted)} | "
                    f"{'yes' if m.passed else 'no'} |")
        flagged = [s for s in self.segments if s.flagged]
        if flagged:
            lines += ["", "Segments blocking expansion:"] + [f"- {s.reason}" for s in flagged]
        n_c, n_b = self.counts.get("conversations_candidate"), self.counts.get("conversations_baseline")
        if n_c is not None:
            mism = self.mismatches.get("mismatched_conversations", 0)
            lines += ["", f"Conversations analysed: candidate {n_c:,}, baseline {n_b:,}; mismatched {mism:,}; "
                          f"soak {self.soak.get('days', 0):.1f} days"]
        return "\n".join(lines)

    def details(self) -> dict[str, Any]:
        return {
            "metrics": [asdict(m) for m in self.metrics],
            "segments": [asdict(s) for s in self.segments],
            "guardrails": [asdict(g) for g in self.guardrails],
            "srm": self.srm,
            "soak": self.soak,
            "counts": self.counts,
            "mismatches": self.mismatches,
            "representativeness": self.representativeness,
            "policy": self.policy,
        }

    def metric_rows(self) -> list[dict[str, Any]]:
        """Long format: one row per exit metric (for ``canary.decision_metrics``)."""
        out = []
        for m in self.metrics:
            d = asdict(m)
            d.pop("details")
            d.update(release_id=self.release_id, as_of=self.as_of, criteria_doc_hash=self.criteria_doc_hash,
                     description=m.describe())
            out.append(d)
        return out

    def segment_rows(self) -> list[dict[str, Any]]:
        """One row per segment test (for ``canary.decision_segments``)."""
        return [dict(asdict(s), release_id=self.release_id, as_of=self.as_of) for s in self.segments]


def _json_default(o: Any) -> Any:
    if isinstance(o, (datetime, date)):
        return o.isoformat()
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    return str(o)


DECISION_COLUMN_DOCS: dict[str, str] = {
    "release_id": "Release id (data/releases/<id>.yaml).",
    "spec_hash": "Content hash of the release spec the decision was computed under.",
    "criteria_doc_hash": "Hash of the exit-criteria document (rendered from the spec before the canary).",
    "as_of": "Look time (UTC): conversations started before it were used.",
    "decision": "EXPAND | HOLD | ROLLBACK.",
    "reasons": "Why, most important first; names metrics, segments and guardrails with their evidence.",
    "metrics_tested": "Whether the exit metrics were tested at this look (false when too early, data "
    "broken, or rolled back); alpha is only spent at looks where this is true.",
    "metrics_passed": "Exit metrics shown non-inferior at this look.",
    "required_passing": "Exit metrics that must pass (spec canary.required_passing).",
    **{f"{n}_{k}": t for n in CANARY_METRICS for k, t in (
        ("estimate", "candidate - baseline (ratio candidate / baseline for p95 latency and cost per resolution); "
                     "NULL when not tested or not in the spec."),
        ("ci_low", "Lower end of the two-sided (1 - 2 x alpha_adjusted) interval."),
        ("ci_high", "Upper end of the same interval; the end on the harmful side is the one-sided bound."),
        ("margin", "Registered non-inferiority margin (absolute; ratio for p95 latency / cost)."),
        ("p_value", "One-sided p-value of H0: candidate worse than baseline by at least the margin."),
        ("alpha_adjusted", "Nominal level the p-value was compared with (Holm step x O'Brien-Fleming spending "
                           "at this look)."),
        ("passed", "p_value <= alpha_adjusted (non-inferior)."),
    )},
    "segments_flagged": "Segments where the candidate is significantly worse beyond the margin "
    "(e.g. 'locale es-ES', 'turns 10+', 'handoff').",
    "segments_tested": "Number of segment tests in the Holm family.",
    "guardrails_breached": "Guardrails breached: safety_incidents, error_rate, cost_overrun.",
    "safety_incidents": "Safety incidents on conversations served by the candidate.",
    "srm_p_value": "Sample-ratio-mismatch chi-square p-value (users per served arm vs expected share).",
    "srm_expected_share": "Expected candidate share of users (flag percentage, whole percent).",
    "srm_observed_share": "Observed candidate share of users.",
    "soak_start": "First conversation served by the candidate (UTC).",
    "soak_days": "Days from soak_start to as_of.",
    "weekdays_seen": "Distinct weekdays with candidate traffic (7 = full weekly cycle).",
    "information_fraction": "min(1, soak_days / max_soak_days).",
    "look_fractions": "Information fractions of all looks counted for alpha spending, this one last.",
    "n_candidate": "Conversations analysed in the candidate cohort (mismatches excluded).",
    "n_baseline": "Conversations analysed in the baseline cohort.",
    "users_candidate": "Distinct users analysed in the candidate cohort.",
    "users_baseline": "Distinct users analysed in the baseline cohort.",
    "mismatched_conversations": "Conversations served by the arm the user's flag assignment does not say.",
    "mismatch_share": "mismatched_conversations / conversations assigned to or served by the candidate.",
    "representativeness_verdict": "Pre-canary cohort representativeness verdict (OK | HOLD), if given.",
    "alpha": "One-sided family-wise alpha of the exit metrics (spec canary.alpha).",
    "alpha_spending": "Alpha-spending function over the looks.",
    "multiplicity": "Multiplicity correction across exit metrics.",
    "details_json": "Everything above and more (per-metric details, segment tests, guardrail evidence), as JSON.",
}


# =========================================================================== helpers


def _fmt_p(p: float | None) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    if p < 1e-4:
        return f"{p:.1e}"
    return f"{p:.4f}" if p < 0.01 else f"{p:.3f}"


def _fmt_est(name: str, v: float | None) -> str:
    if v is None or not np.isfinite(v):
        return "n/a"
    scale = METRICS[name][1] if name in METRICS else "diff"
    if scale == "ratio":
        return f"{v:.3f}x"
    if name in ("csat", "csat_by_length"):
        return f"{v:+.2f}"
    return f"{v * 100:+.1f} pts"


def _fmt_val(name: str, v: float | None) -> str:
    if v is None or not np.isfinite(v):
        return "n/a"
    if name in ("resolution_rate", "error_rate", "thumbs_up_rate"):
        return f"{v:.2%}"
    if name == "p95_latency_ms":
        return f"{v:,.0f} ms"
    if name == "cost_per_resolution":
        return f"${v:.4f}"
    return f"{v:.3f}"


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _wilson(x: int, n: int, z: float = cs.Z95) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    p = x / n
    den = 1 + z * z / n
    c = (p + z * z / (2 * n)) / den
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return c - h, c + h


def _look_fractions(current: float, looks_so_far: Sequence[Any] | None, soak_start: datetime, spec: Any,
                    grace_hours: float = 0.0) -> list[float]:
    """Information fractions of the looks that count for alpha spending (current last)."""
    c = spec.canary
    t_min = (c.min_soak_days - grace_hours / 24.0) / c.max_soak_days
    if looks_so_far is None:
        prior = [t for t in _planned_looks(spec) if t < current - 1e-9]
    else:
        prior = []
        for look in looks_so_far:
            if isinstance(look, (int, float)) and not isinstance(look, bool):
                t = float(look)
            else:
                lt = cs.to_utc_naive(look)
                t = (lt - soak_start).total_seconds() / 86400.0 / c.max_soak_days
            t = min(t, 1.0)
            if t >= t_min - 1e-9 and t < current - 1e-9:
                prior.append(t)
    prior = sorted(set(round(t, 9) for t in prior))
    return prior + [current]


@functools.lru_cache(maxsize=256)
def _nominal_cached(fractions: tuple[float, ...], alpha: float, spending: str) -> float:
    return stats.nominal_alpha_at_look(list(fractions), alpha, spending)


def _nominal(fractions: list[float], alpha: float, spending: str) -> float:
    """Nominal one-sided level at the last of ``fractions`` for an alpha-spending plan at ``alpha``."""
    return _nominal_cached(tuple(round(f, 9) for f in fractions), round(alpha, 15), spending)


class _P95Test:
    """p95 latency ratio candidate / baseline: cluster (user) bootstrap of each arm's p95 via
    ``stats.bootstrap_quantile_draws``; ``sd`` = bootstrap SD of log(ratio). The p-value and
    interval use the normal approximation on the log ratio with that SD, which can resolve the
    small nominal levels of early looks (a percentile interval from 1000 resamples cannot go
    below ~1e-3)."""

    def __init__(self, lat_c, users_c, lat_b, users_b, q: float, n_boot: int, seed: int):
        ss = np.random.SeedSequence(seed)
        rc, rb = (np.random.default_rng(s) for s in ss.spawn(2))
        self.qc, dc, self.kc = stats.bootstrap_quantile_draws(lat_c, q, n_boot, rc, users_c)
        self.qb, db, self.kb = stats.bootstrap_quantile_draws(lat_b, q, n_boot, rb, users_b)
        self.est = self.qc / self.qb
        logr = np.log(dc / db)
        self.sd = float(np.std(logr, ddof=1))
        self.draws = dc / db

    def p_value(self, margin: float) -> float:
        from scipy.stats import norm

        if self.sd <= 0:
            return 0.0 if self.est < margin else 1.0
        z = (math.log(margin) - math.log(self.est)) / self.sd
        return float(norm.sf(z))

    def interval(self, level: float) -> tuple[float, float]:
        from scipy.stats import norm

        z = float(norm.isf(level))
        return self.est * math.exp(-z * self.sd), self.est * math.exp(z * self.sd)


# =========================================================================== data access


def _arm_counts(data: cs.CohortData, as_of: datetime | None) -> dict[str, Any]:
    cond, params = cs._as_of_filter(as_of)
    out: dict[str, Any] = {}
    rows = data.fetch(
        f"""SELECT cohort, count(*), count(DISTINCT user_idx), sum(has_outcome::INTEGER), sum(resolved),
                   sum(has_error::INTEGER), count(thumb_up), sum(thumb_up), count(csat), sum(cost),
                   count(handoff_complete), sum(handoff_complete)
            FROM {{facts}} WHERE cohort IS NOT NULL AND {cond} GROUP BY cohort""",
        params,
    )
    keys = ("conversations", "users", "outcomes", "resolved", "errors", "thumbs", "thumbs_up", "csat_n", "cost",
            "handoffs", "handoffs_complete")
    for arm in ("candidate", "baseline"):
        for k in keys:
            out[f"{k}_{arm}"] = 0
    for r in rows:
        for k, v in zip(keys, r[1:], strict=True):
            out[f"{k}_{r[0]}"] = (float(v) if k == "cost" else int(v or 0))
    served = data.fetch(
        f"""SELECT count(*), sum(has_error::INTEGER), sum(safety), min(ts), max(ts),
                   count(DISTINCT isodow(ts))
            FROM {{facts}} WHERE served = 'candidate' AND {cond}""",
        params,
    )[0]
    out.update(
        served_candidate=int(served[0]), served_candidate_errors=int(served[1] or 0),
        safety_incidents_candidate=int(served[2] or 0), soak_start=served[3], last_candidate=served[4],
        weekdays_seen=int(served[5] or 0),
    )
    b = data.fetch(
        f"SELECT count(*), sum(has_error::INTEGER), sum(safety) FROM {{facts}} WHERE served = 'baseline' AND {cond}",
        params,
    )[0]
    out.update(served_baseline=int(b[0]), served_baseline_errors=int(b[1] or 0),
               safety_incidents_baseline=int(b[2] or 0))
    return out


def _np(data: cs.CohortData, query: str, params: list) -> dict[str, np.ndarray]:
    return data.con.execute(query.replace("{facts}", cs._q(data.table)), params).fetchnumpy()


# =========================================================================== decide


def decide(
    spec: Any,
    traffic: Any,
    as_of: datetime | date | str | None = None,
    looks_so_far: Sequence[Any] | None = None,
    *,
    representativeness: Any = None,
    expected_share: float | None = None,
    policy: DecisionPolicy | None = None,
    eligible_locales: Sequence[str] | None = None,
    canary_start: datetime | str | None = None,
) -> CanaryDecision:
    """One look at the canary. See the module docstring for the rules and their order.

    ``traffic``: a :class:`~agent_release.canary.cohort_stats.CohortData` (prepared facts; reuse
    it across looks), or anything :func:`cohort_stats.load` accepts (polars DataFrame / Arrow table
    / Parquet path in the conversation-log contract).
    ``as_of``: look time; conversations started before it are used (a ``date`` means the end of
    that UTC day; None = all data, look time = the last conversation).
    ``looks_so_far``: earlier looks at which the metrics were tested (times, or information
    fractions); looks before the minimum soak are ignored (no alpha spent there). ``None`` assumes
    the planned schedule: one look per day since ``min_soak_days``.
    ``representativeness``: the pre-canary :class:`bucketing.RepresentativenessResult` (HOLD -> HOLD).
    ``expected_share``: candidate share of users the flag should produce (default
    ``floor(traffic_percent) / 100``; pass it when a targeting constraint changes it).
    ``canary_start``: when the flag was switched on (default: the first candidate conversation);
    the soak is measured from it, with ``policy.soak_grace_hours`` of grace on the minimum.
    """
    policy = policy or DecisionPolicy()
    c = spec.canary
    doc_hash = exit_criteria_hash(spec, policy)
    data = traffic if isinstance(traffic, cs.CohortData) else cs.load(traffic, spec,
                                                                        eligible_locales=eligible_locales)
    t_asof = cs.to_utc_naive(as_of)
    if t_asof is None:
        last = data.time_range()[1]
        t_asof = last
    dec = CanaryDecision(
        release_id=spec.release_id, spec_hash=spec.spec_hash, criteria_doc_hash=doc_hash, as_of=t_asof,
        decision=HOLD, reasons=[], required_passing=c.required_passing, alpha=c.alpha,
        policy=asdict(policy),
    )
    if representativeness is not None:
        dec.representativeness = {"verdict": representativeness.verdict, "reason": representativeness.reason}
    if t_asof is None:
        dec.reasons = ["no data: the traffic is empty (never a pass)"]
        return dec

    # as_of=None means "everything": include the last conversation itself
    filt = t_asof if as_of is not None else None
    counts = _arm_counts(data, filt)
    dec.counts = {k: v for k, v in counts.items() if k not in ("soak_start", "last_candidate")}
    dec.mismatches = data.mismatches(filt)
    n_c, n_b = counts["conversations_candidate"], counts["conversations_baseline"]

    # ---- 0. no data
    if counts["served_candidate"] == 0 or counts["served_baseline"] == 0:
        missing = "candidate" if counts["served_candidate"] == 0 else "baseline"
        dec.reasons = [f"no data: no conversation served by the {missing} before {t_asof:%Y-%m-%d %H:%M} UTC "
                       "(never a pass)"]
        return dec

    soak_start: datetime = cs.to_utc_naive(canary_start) or counts["soak_start"]
    soak_days = max(0.0, (t_asof - soak_start).total_seconds() / 86400.0)
    dec.soak = {"start": soak_start, "days": round(soak_days, 4), "weekdays_seen": counts["weekdays_seen"],
                "min_soak_days": c.min_soak_days, "max_soak_days": c.max_soak_days}
    t_info = min(1.0, soak_days / c.max_soak_days)
    dec.information_fraction = round(t_info, 6)

    # ---- 1. absolute guardrails
    rollback: list[str] = []
    n_sc = counts["served_candidate"]
    inc = counts["safety_incidents_candidate"]
    g_safety = GuardrailResult(
        "safety_incidents", float(inc), float(c.safety_incidents_max), inc > c.safety_incidents_max, True,
        f"{inc} safety incident(s) in {n_sc:,} candidate conversations (allowed {c.safety_incidents_max}; "
        f"baseline {counts['safety_incidents_baseline']} in {counts['served_baseline']:,})",
    )
    err_rate = counts["served_candidate_errors"] / n_sc
    base_err = counts["served_baseline_errors"] / max(counts["served_baseline"], 1)
    lo, hi = _wilson(counts["served_candidate_errors"], n_sc)
    enough = n_sc >= policy.guardrail_min_conversations
    g_error = GuardrailResult(
        "error_rate", err_rate, c.error_rate_max, bool(enough and err_rate > c.error_rate_max), enough,
        f"candidate error rate {_pct(err_rate)} (95% CI {_pct(lo)}-{_pct(hi)}, n={n_sc:,}) vs max "
        f"{_pct(c.error_rate_max)}; baseline {_pct(base_err)}"
        + ("" if enough else f" (not evaluated below {policy.guardrail_min_conversations} conversations)"),
    )
    dec.guardrails = [g_safety, g_error]
    for g in (g_safety, g_error):
        if g.breached:
            rollback.append(f"guardrail {g.name}: {g.evidence}")

    # ---- 2. data integrity
    integrity: list[str] = []
    share = expected_share if expected_share is not None else math.floor(c.traffic_percent) / 100.0
    if 0 < share < 1:
        srm = stats.srm_check(counts["users_candidate"], counts["users_baseline"], share, policy.srm_threshold)
        dec.srm = srm.to_dict()
        if srm.mismatch:
            integrity.append(
                f"sample ratio mismatch: candidate has {counts['users_candidate']:,} of "
                f"{counts['users_candidate'] + counts['users_baseline']:,} users = {srm.observed_share:.2%} vs "
                f"expected {share:.2%} (chi2={srm.chi2:.1f}, p={_fmt_p(srm.p_value)} < {policy.srm_threshold:g}); "
                "metrics not interpreted"
            )
    mm = dec.mismatches
    if mm["mismatched_conversations"] and mm["mismatch_share_of_canary"] > policy.max_mismatch_share:
        integrity.append(
            f"flag/serving mismatch: {mm['mismatched_conversations']:,} conversations served by the arm the "
            f"flag does not assign ({mm['canary_users_served_baseline']:,} canary-user conversations served by "
            f"the baseline, {mm['non_canary_users_served_candidate']:,} other conversations served by the "
            f"candidate) = {mm['mismatch_share_of_canary']:.1%} of the canary's conversations > "
            f"{policy.max_mismatch_share:.1%}"
        )
    if representativeness is not None and not representativeness.ok:
        integrity.append(f"cohort not representative: {representativeness.reason}")

    if rollback:
        dec.decision = ROLLBACK
        dec.reasons = rollback + integrity
        return dec
    if integrity:
        dec.decision = HOLD
        dec.reasons = integrity
        return dec

    # ---- 3. comparative guardrail: cost overrun
    pu = _per_user(data, filt)
    cost_res = None
    if counts["resolved_candidate"] > 0 and counts["resolved_baseline"] > 0 and counts["cost_baseline"] > 0:
        cost_res = _cost_ratio(pu, c.cost_overrun_ratio, c.alpha)
    enough = counts["resolved_candidate"] >= policy.cost_guardrail_min_resolutions and cost_res is not None
    if cost_res is not None:
        ratio = cost_res.estimate
        g_cost = GuardrailResult(
            "cost_overrun", ratio, c.cost_overrun_ratio, bool(enough and ratio > c.cost_overrun_ratio), enough,
            f"cost per resolution candidate ${cost_res.details['ratio_candidate']:.4f} vs baseline "
            f"${cost_res.details['ratio_baseline']:.4f} = {ratio:.3f}x ({cost_res.confidence:.0%} CI "
            f"{cost_res.ci_low:.3f}-{cost_res.ci_high:.3f}x) vs max {c.cost_overrun_ratio:g}x"
            + ("" if enough else f" (not evaluated below {policy.cost_guardrail_min_resolutions} resolutions)"),
        )
    else:
        g_cost = GuardrailResult("cost_overrun", None, c.cost_overrun_ratio, False, False,
                                 "no resolutions yet in one arm: not evaluated")
    dec.guardrails.append(g_cost)
    if g_cost.breached:
        dec.decision = ROLLBACK
        dec.reasons = [f"guardrail cost_overrun: {g_cost.evidence}"]
        return dec

    # ---- 4. minimum soak
    early: list[str] = []
    if soak_days < c.min_soak_days - policy.soak_grace_hours / 24.0:
        early.append(f"soak {soak_days:.1f} days < minimum {c.min_soak_days}")
    if counts["weekdays_seen"] < 7:
        early.append(f"{counts['weekdays_seen']}/7 weekdays seen (need a full weekly cycle)")
    for arm, n in (("candidate", n_c), ("baseline", n_b)):
        if n < c.min_conversations_per_arm:
            early.append(f"{arm} has {n:,} conversations < minimum {c.min_conversations_per_arm:,}")
    if early:
        dec.decision = HOLD
        dec.reasons = ["too early: " + "; ".join(early)]
        return dec

    # ---- 5. exit metrics
    dec.metrics_tested = True
    dec.look_fractions = _look_fractions(t_info, looks_so_far, soak_start, spec, policy.soak_grace_hours)
    dec.metrics = _test_metrics(data, filt, spec, pu, dec.look_fractions, policy)
    # ---- 6. segments and slow burn
    dec.segments = _segments(data, filt, spec, policy, pu)

    passed = [m for m in dec.metrics if m.passed]
    failed = [m for m in dec.metrics if not m.passed]
    flagged = [s for s in dec.segments if s.flagged]
    ok_metrics = len(passed) >= c.required_passing
    if ok_metrics and not flagged:
        dec.decision = EXPAND
        dec.reasons = [
            f"{len(passed)} of {len(dec.metrics)} exit metrics non-inferior (need {c.required_passing}); no "
            f"guardrail breach; no segment significantly worse ({sum(s.tested for s in dec.segments)} tested); "
            f"soak {soak_days:.1f} days",
        ] + [m.describe() for m in dec.metrics]
        return dec
    reasons: list[str] = []
    for s in flagged:
        reasons.append(f"segment significantly worse: {s.reason}")
    if not ok_metrics:
        reasons.append(
            f"inconclusive: {len(passed)} of {len(dec.metrics)} exit metrics shown non-inferior "
            f"(need {c.required_passing})"
        )
    elif flagged:
        reasons.append(
            f"totals pass ({len(passed)} of {len(dec.metrics)} exit metrics non-inferior) but "
            f"{len(flagged)} segment(s) block expansion"
        )
    reasons += [m.describe() for m in failed]
    if t_info >= 1.0:
        reasons.append(
            f"maximum soak ({c.max_soak_days} days) reached without meeting the exit criteria: roll back or "
            "re-plan under a new spec"
        )
    dec.decision = HOLD
    dec.reasons = reasons
    return dec


# ------------------------------------------------------------------ clustering by user
#
# Conversations of one user are correlated (same issue types, device, patience), so a test that
# treats conversations as independent understates the variance. Rates and CSAT use the Rao-Scott
# adjustment (Rao & Scott, Biometrics 1992;48:577-85): each arm's counts are divided by its
# design effect ``deff = Var_cluster / Var_iid`` (cluster-robust variance over users vs the
# binomial / iid variance, floored at 1) and the registered test (Farrington-Manning, Welch) is
# run on the effective counts: the estimate is unchanged, the variance grows by ``deff``.
# p95 latency uses the cluster bootstrap; cost per resolution the delta method on user totals.

_PU = ("n_out", "res", "conv", "err", "th", "up", "cost", "hn", "hx", "cs_n", "cs_s", "cs_ss")


def _per_user(data: cs.CohortData, as_of: datetime | None) -> dict[str, dict[str, np.ndarray]]:
    """Per-user totals per analysed arm (one row per user): the clusters of every test."""
    cond, params = cs._as_of_filter(as_of)
    a = _np(data, f"""
        SELECT cohort,
               sum(has_outcome::INTEGER)::DOUBLE AS n_out, sum(resolved)::DOUBLE AS res,
               count(*)::DOUBLE AS conv, sum(has_error::INTEGER)::DOUBLE AS err,
               count(thumb_up)::DOUBLE AS th, coalesce(sum(thumb_up), 0)::DOUBLE AS up,
               sum(cost)::DOUBLE AS cost,
               count(handoff_complete)::DOUBLE AS hn, coalesce(sum(handoff_complete), 0)::DOUBLE AS hx,
               count(csat)::DOUBLE AS cs_n, coalesce(sum(csat), 0)::DOUBLE AS cs_s,
               coalesce(sum(csat * csat), 0)::DOUBLE AS cs_ss
        FROM {{facts}} WHERE cohort IS NOT NULL AND {cond} GROUP BY cohort, user_idx""", params)
    out: dict[str, dict[str, np.ndarray]] = {}
    for arm in ("candidate", "baseline"):
        sel = a["cohort"] == arm
        out[arm] = {k: np.asarray(a[k][sel], dtype=float) for k in _PU}
    return out


def design_effect_rate(x: np.ndarray, n: np.ndarray) -> float:
    """Design effect of a proportion ``sum x / sum n`` over clusters with totals ``(x_k, n_k)``:
    ``[K/(K-1) sum (x_k - p n_k)^2 / N^2] / [p (1 - p) / (N - 1)]``, floored at 1 (both variances
    with the same small-sample convention, so all-singleton clusters give exactly 1)."""
    x = np.asarray(x, float)
    n = np.asarray(n, float)
    keep = n > 0
    x, n = x[keep], n[keep]
    k = x.size
    big_n = n.sum()
    if k < 2 or big_n <= 0:
        return 1.0
    p = x.sum() / big_n
    v_iid = p * (1 - p) / (big_n - 1)
    if v_iid <= 0:
        return 1.0
    v_cl = k / (k - 1) * float(np.sum((x - p * n) ** 2)) / big_n**2
    return max(1.0, v_cl / v_iid)


def design_effect_mean(s: np.ndarray, ss: np.ndarray, m: np.ndarray) -> float:
    """Design effect of a mean over clusters with per-cluster sum ``s``, sum of squares ``ss`` and
    count ``m``: cluster-robust variance of the mean over ``s^2 / N`` (floored at 1)."""
    s, ss, m = (np.asarray(v, float) for v in (s, ss, m))
    keep = m > 0
    s, ss, m = s[keep], ss[keep], m[keep]
    k, big_n = s.size, m.sum()
    if k < 2 or big_n < 2:
        return 1.0
    ybar = s.sum() / big_n
    var_el = (ss.sum() - big_n * ybar**2) / (big_n - 1)
    if var_el <= 0:
        return 1.0
    v_cl = k / (k - 1) * float(np.sum((s - ybar * m) ** 2)) / big_n**2
    return max(1.0, v_cl / (var_el / big_n))


def welch_noninferiority_summary(
    mean_c: float, var_c: float, n_c: float, mean_b: float, var_b: float, n_b: float,
    margin: float, alpha: float, deff_c: float = 1.0, deff_b: float = 1.0,
) -> stats.NonInferiorityResult:
    """Welch non-inferiority (higher is better) from summary statistics, on Rao-Scott effective
    sample sizes ``n / deff``. With ``deff = 1`` it is exactly ``stats.mean_noninferiority``
    (statsmodels ``ttest_ind(usevar='unequal', value=-margin)``)."""
    from scipy.stats import t as tdist

    ec, eb = n_c / deff_c, n_b / deff_b
    vc, vb = var_c / ec, var_b / eb
    se = math.sqrt(vc + vb)
    df = (vc + vb) ** 2 / (vc**2 / (ec - 1) + vb**2 / (eb - 1)) if se > 0 else float(ec + eb - 2)
    d = mean_c - mean_b
    tc = float(tdist.ppf(1 - alpha, df))
    lo, hi = d - tc * se, d + tc * se
    stat = (d + margin) / se if se > 0 else math.copysign(math.inf, d + margin)
    p = float(tdist.sf(stat, df))
    return stats.NonInferiorityResult(
        method="welch t (shifted null), rao-scott effective n", estimate=float(d), ci_low=float(lo),
        ci_high=float(hi), bound=float(lo), threshold=-margin, statistic=float(stat), p_value=p, margin=margin,
        alpha=alpha, n_candidate=int(n_c), n_baseline=int(n_b), passed=bool(lo > -margin), higher_is_better=True,
        confidence=1 - 2 * alpha,
        details={"mean_candidate": mean_c, "mean_baseline": mean_b, "df": float(df), "se": se,
                 "deff_candidate": deff_c, "deff_baseline": deff_b},
    )


def _fm(xc: float, nc: float, xb: float, nb: float, dc: float, db: float, margin: float, hib: bool, alpha: float):
    r = stats.farrington_manning_noninferiority(xc / dc, nc / dc, xb / db, nb / db, margin, hib, alpha)
    r.details.update(deff_candidate=dc, deff_baseline=db, x_candidate=int(round(xc)), x_baseline=int(round(xb)),
                     n_candidate=int(round(nc)), n_baseline=int(round(nb)))
    return r


def _cost_ratio(pu: dict[str, dict[str, np.ndarray]], margin: float, alpha: float):
    c, b = pu["candidate"], pu["baseline"]
    return stats.ratio_of_sums_noninferiority(
        c["cost"], c["res"], None, b["cost"], b["res"], None,  # rows are users: already clustered
        margin_ratio=max(margin, 1.0 + 1e-9), higher_is_better=False, alpha=alpha,
    )


def _csat_stats(u: dict[str, np.ndarray]) -> tuple[float, float, float, float]:
    n = u["cs_n"].sum()
    if n < 2:
        return float("nan"), float("nan"), float(n), 1.0
    mean = u["cs_s"].sum() / n
    var = (u["cs_ss"].sum() - n * mean**2) / (n - 1)
    return float(mean), float(max(var, 0.0)), float(n), design_effect_mean(u["cs_s"], u["cs_ss"], u["cs_n"])


def _test_metrics(data: cs.CohortData, as_of: datetime | None, spec: Any, pu: dict, fractions: list[float],
                  policy: DecisionPolicy) -> list[MetricResult]:
    c = spec.canary
    cond, params = cs._as_of_filter(as_of)
    C, B = pu["candidate"], pu["baseline"]
    results: dict[str, MetricResult] = {}
    runners: dict[str, Any] = {}  # name -> callable(alpha) -> NonInferiorityResult, or ("p95", _P95Test)
    rate_cols = {"resolution_rate": ("res", "n_out"), "error_rate": ("err", "conv"), "thumbs_up_rate": ("up", "th")}

    for met in c.metrics:
        name, margin = met.name, met.margin
        hib, scale, test = METRICS[name]
        run = None
        vc = vb = None
        n_c = n_b = 0
        if name in rate_cols:
            xk, nk = rate_cols[name]
            xc, nc, xb, nb = C[xk].sum(), C[nk].sum(), B[xk].sum(), B[nk].sum()
            n_c, n_b = nc, nb
            if nc > 0 and nb > 0:
                vc, vb = xc / nc, xb / nb
                dc, db = design_effect_rate(C[xk], C[nk]), design_effect_rate(B[xk], B[nk])
                run = (lambda a1, a2, a3, a4, d1, d2, m, h: (
                    lambda al: _fm(a1, a2, a3, a4, d1, d2, m, h, al)))(xc, nc, xb, nb, dc, db, margin, hib)
        elif name == "csat":
            mc, varc, n_c, dc = _csat_stats(C)
            mb, varb, n_b, db = _csat_stats(B)
            if n_c >= 2 and n_b >= 2:
                vc, vb = mc, mb
                run = (lambda a: (lambda al: welch_noninferiority_summary(*a, margin, al, dc, db)))(
                    (mc, varc, n_c, mb, varb, n_b))
        elif name == "p95_latency_ms":
            a = {arm: _np(data, f"SELECT user_idx, unnest(latencies) AS lat FROM {{facts}} WHERE cohort = ? AND "
                                f"{cond}", [arm] + params) for arm in ("candidate", "baseline")}
            n_c, n_b = a["candidate"]["lat"].size, a["baseline"]["lat"].size
            if n_c >= 20 and n_b >= 20:
                p95 = _P95Test(a["candidate"]["lat"], a["candidate"]["user_idx"], a["baseline"]["lat"],
                               a["baseline"]["user_idx"], 0.95, policy.n_boot, policy.bootstrap_seed)
                vc, vb = p95.qc, p95.qb
                run = ("p95", p95)
        elif name == "cost_per_resolution":
            n_c, n_b = C["conv"].sum(), B["conv"].sum()
            if C["res"].sum() > 0 and B["res"].sum() > 0 and B["cost"].sum() > 0:
                cr = _cost_ratio(pu, margin, c.alpha)
                vc, vb = cr.details["ratio_candidate"], cr.details["ratio_baseline"]
                run = (lambda m: (lambda al: _cost_ratio(pu, m, al)))(margin)
        results[name] = MetricResult(
            name=name, test=test, higher_is_better=hib, scale=scale, value_candidate=vc, value_baseline=vb,
            estimate=None, ci_low=None, ci_high=None, ci_level=None, margin=margin,
            threshold=(margin if scale == "ratio" else (-margin if hib else margin)), p_value=None,
            alpha_adjusted=None, holm_step=None, passed=False, n_candidate=int(n_c), n_baseline=int(n_b),
            note="" if run is not None else "insufficient data",
        )
        runners[name] = run

    # p-values (independent of alpha)
    pvals: dict[str, float] = {}
    for name, run in runners.items():
        if run is None:
            continue
        pvals[name] = run[1].p_value(results[name].margin) if isinstance(run, tuple) else float(run(c.alpha).p_value)
    # Holm step-down with group-sequential levels (untestable metrics count in m: conservative)
    m = len(c.metrics)
    order = sorted(pvals, key=lambda k: (pvals[k], k))
    still = True
    for j, name in enumerate(order):
        level = _nominal(fractions, c.alpha / (m - j), policy.spending)
        ok = still and pvals[name] <= level
        if not ok:
            still = False
        res = results[name]
        res.p_value = pvals[name]
        res.alpha_adjusted = level
        res.holm_step = j + 1
        res.passed = bool(ok)
        lvl = min(max(level, 1e-15), 0.4999)
        run = runners[name]
        if isinstance(run, tuple):
            p95 = run[1]
            lo, hi = p95.interval(lvl)
            res.estimate, res.ci_low, res.ci_high = float(p95.est), lo, hi
            res.details = {"q_candidate": p95.qc, "q_baseline": p95.qb, "sd_log_ratio": p95.sd,
                           "clusters_candidate": p95.kc, "clusters_baseline": p95.kb, "n_boot": policy.n_boot}
        else:
            r = run(lvl)
            res.estimate, res.ci_low, res.ci_high = float(r.estimate), float(r.ci_low), float(r.ci_high)
            res.details = {k: v for k, v in r.details.items() if isinstance(v, (int, float, str, bool))}
            res.details["statistic"] = float(r.statistic)
        res.ci_level = 1 - 2 * lvl
    return [results[mt.name] for mt in c.metrics]


def _grouped_rate(df: Any) -> dict[tuple[str, str], tuple[float, float, float]]:
    """(segment, arm) -> (X, N, deff) from per-user rows (seg, cohort, x, n)."""
    import polars as pl

    g = df.group_by("seg", "cohort").agg(
        X=pl.col("x").sum(), N=pl.col("n").sum(), K=(pl.col("n") > 0).sum(),
        Sxx=(pl.col("x") ** 2).sum(), Sxn=(pl.col("x") * pl.col("n")).sum(), Snn=(pl.col("n") ** 2).sum())
    out = {}
    for r in g.iter_rows(named=True):
        big_n, k = r["N"], r["K"]
        deff = 1.0
        if big_n > 1 and k >= 2:
            p = r["X"] / big_n
            v_iid = p * (1 - p) / (big_n - 1)
            v_cl = k / (k - 1) * (r["Sxx"] - 2 * p * r["Sxn"] + p * p * r["Snn"]) / big_n**2
            deff = max(1.0, v_cl / v_iid) if v_iid > 0 else 1.0
        out[(str(r["seg"]), r["cohort"])] = (float(r["X"]), float(big_n), float(deff))
    return out


def _grouped_mean(df: Any) -> dict[tuple[str, str], tuple[float, float, float, float]]:
    """(segment, arm) -> (mean, var, N, deff) from per-user rows (seg, cohort, s, ss, m)."""
    import polars as pl

    g = df.group_by("seg", "cohort").agg(
        S=pl.col("s").sum(), SS=pl.col("ss").sum(), N=pl.col("m").sum(), K=(pl.col("m") > 0).sum(),
        Ss2=(pl.col("s") ** 2).sum(), Ssm=(pl.col("s") * pl.col("m")).sum(), Smm=(pl.col("m") ** 2).sum())
    out = {}
    for r in g.iter_rows(named=True):
        big_n, k = r["N"], r["K"]
        if big_n < 2:
            out[(str(r["seg"]), r["cohort"])] = (float("nan"), float("nan"), float(big_n), 1.0)
            continue
        ybar = r["S"] / big_n
        var = max((r["SS"] - big_n * ybar**2) / (big_n - 1), 0.0)
        deff = 1.0
        if k >= 2 and var > 0:
            v_cl = k / (k - 1) * (r["Ss2"] - 2 * ybar * r["Ssm"] + ybar**2 * r["Smm"]) / big_n**2
            deff = max(1.0, v_cl / (var / big_n))
        out[(str(r["seg"]), r["cohort"])] = (float(ybar), float(var), float(big_n), float(deff))
    return out


def _segments(data: cs.CohortData, as_of: datetime | None, spec: Any, policy: DecisionPolicy,
              pu: dict[str, dict[str, np.ndarray]]) -> list[SegmentFinding]:
    from scipy.stats import norm
    from scipy.stats import t as tdist

    c = spec.canary
    cond, params = cs._as_of_filter(as_of)
    res_m, csat_m = _seg_margins(spec, policy)
    tests: list[dict[str, Any]] = []

    def add_rate(check: str, dim: str, seg: str, cc: tuple, bb: tuple, margin: float) -> None:
        (xc, nc, dc), (xb, nb, db) = cc, bb
        tests.append({"check": check, "dimension": dim, "segment": seg, "nc": nc, "nb": nb, "margin": margin,
                      "vc": xc / nc if nc else None, "vb": xb / nb if nb else None, "kind": "rate",
                      "args": (xc, nc, xb, nb, dc, db)})

    for dim in c.segments:
        if dim not in ("locale", "persona", "channel"):
            continue
        df = data.sql(f"""SELECT {dim} AS seg, cohort, sum(resolved)::DOUBLE AS x,
                                 sum(has_outcome::INTEGER)::DOUBLE AS n
                          FROM {{facts}} WHERE cohort IS NOT NULL AND {cond}
                          GROUP BY {dim}, cohort, user_idx""", params)
        g = _grouped_rate(df)
        for seg in sorted({k[0] for k in g}):
            add_rate("resolution", dim, seg, g.get((seg, "candidate"), (0.0, 0.0, 1.0)),
                     g.get((seg, "baseline"), (0.0, 0.0, 1.0)), res_m)
    # CSAT by conversation length (tone drift)
    edges = list(policy.length_buckets)
    labels = _bucket_labels(edges)
    case = "CASE " + " ".join(
        f"WHEN turns >= {lo} THEN '{lab}'" for lo, lab in reversed(list(zip(edges, labels, strict=True)))) + " END"
    df = data.sql(f"""SELECT {case} AS seg, cohort, sum(csat)::DOUBLE AS s, sum(csat * csat)::DOUBLE AS ss,
                             count(csat)::DOUBLE AS m
                      FROM {{facts}} WHERE cohort IS NOT NULL AND csat IS NOT NULL AND {cond}
                      GROUP BY seg, cohort, user_idx""", params)
    gm = _grouped_mean(df)
    nan4 = (float("nan"), float("nan"), 0.0, 1.0)
    for lab in labels:
        mc = gm.get((lab, "candidate"), nan4)
        mb = gm.get((lab, "baseline"), nan4)
        tests.append({"check": "csat_by_length", "dimension": "turns", "segment": lab, "nc": mc[2], "nb": mb[2],
                      "margin": csat_m, "kind": "mean", "args": (mc, mb),
                      "vc": mc[0] if mc[2] else None, "vb": mb[0] if mb[2] else None})
    # escalation hand-off quality
    C, B = pu["candidate"], pu["baseline"]
    if C["hn"].sum() or B["hn"].sum():
        add_rate("handoff", "handoff", "escalation hand-off complete",
                 (C["hx"].sum(), C["hn"].sum(), design_effect_rate(C["hx"], C["hn"])),
                 (B["hx"].sum(), B["hn"].sum(), design_effect_rate(B["hx"], B["hn"])), policy.handoff_margin)

    # one-sided "candidate worse than baseline beyond the margin" p-values
    findings: list[SegmentFinding] = []
    tested_idx = []
    for t in tests:
        ok = t["nc"] >= policy.segment_min_conversations and t["nb"] >= policy.segment_min_conversations
        f = SegmentFinding(check=t["check"], dimension=t["dimension"], segment=t["segment"],
                           n_candidate=int(t["nc"]), n_baseline=int(t["nb"]), value_candidate=t["vc"],
                           value_baseline=t["vb"], estimate=None, ci_low=None, ci_high=None, margin=t["margin"],
                           p_value=None, p_adjusted=None, flagged=False, tested=ok)
        if ok:
            if t["kind"] == "rate":
                xc, nc, xb, nb, dc, db = t["args"]
                f.deff_candidate, f.deff_baseline = dc, db
                z = stats.farrington_manning_z(xc / dc, nc / dc, xb / db, nb / db, -t["margin"])
                f.p_value = float(norm.cdf(z))  # H1: p_c - p_b < -margin
                r = _fm(xc, nc, xb, nb, dc, db, t["margin"], True, 0.025)
            else:
                (m1, v1, n1, d1), (m2, v2, n2, d2) = t["args"]
                f.deff_candidate, f.deff_baseline = d1, d2
                r = welch_noninferiority_summary(m1, v1, n1, m2, v2, n2, t["margin"], 0.025, d1, d2)
                f.p_value = float(tdist.cdf(r.statistic, r.details["df"]))  # H1: mean_c - mean_b < -margin
            f.estimate, f.ci_low, f.ci_high = float(r.estimate), float(r.ci_low), float(r.ci_high)
            tested_idx.append(len(findings))
        findings.append(f)
    if tested_idx:
        adj = stats.holm_adjust([findings[i].p_value for i in tested_idx], c.alpha)
        for i, pa_, rej in zip(tested_idx, adj.adjusted, adj.reject, strict=True):
            f = findings[i]
            f.p_adjusted = float(pa_)
            f.flagged = bool(rej)
            f.reason = _segment_reason(f, len(tested_idx))
    return findings


def _segment_reason(f: SegmentFinding, m: int) -> str:
    if f.check == "csat_by_length":
        what = f"turns {f.segment}: CSAT {f.estimate:+.2f} (candidate {f.value_candidate:.2f} vs baseline " \
               f"{f.value_baseline:.2f}), 95% CI [{f.ci_low:+.2f}, {f.ci_high:+.2f}]"
        margin = f"-{f.margin:g}-point margin"
    else:
        label = "hand-off complete" if f.check == "handoff" else "resolution"
        head = f"{f.dimension} {f.segment}" if f.check == "resolution" else "escalation hand-off"
        what = (f"{head}: {label} {f.estimate * 100:+.1f} pts (candidate {f.value_candidate:.1%} vs baseline "
                f"{f.value_baseline:.1%}), 95% CI [{f.ci_low * 100:+.1f}, {f.ci_high * 100:+.1f}] pts")
        margin = f"-{f.margin * 100:g}-pt margin"
    return (f"{what}, p={_fmt_p(f.p_value)} (Holm-adjusted over {m} segment tests {_fmt_p(f.p_adjusted)}); "
            f"{'worse than the ' + margin if f.flagged else 'not significantly worse than the ' + margin}")
