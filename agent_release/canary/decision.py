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
   looks like): safety incidents > ``safety_incidents_max``; the one-sided lower confidence bound
   (level ``policy.guardrail_alpha``, Rao-Scott effective n) of the candidate error rate >
   ``error_rate_max`` -- an absolute allowance the baseline never raises -> ROLLBACK.
2. **Data integrity** -- if broken, the metrics are NOT interpreted and the decision is HOLD
   (chosen over ROLLBACK: a broken comparison says nothing about the candidate, and rolling back
   on it would hide the bug that broke it; fix the assignment/logging, then look again):

   * sample-ratio mismatch: chi-square goodness of fit of *users* per served arm against the
     flag's expected share (``floor(traffic_percent)/100``: Unleash buckets users in whole percent),
     p < 0.001 (``stats.srm_check``). Users, not conversations, because users are the unit the
     flag randomises; conversations of one user are correlated and would inflate the chi-square;
   * flag/serving mismatches above ``max_mismatch_share`` of the canary's conversations;
   * a pre-canary representativeness verdict of HOLD (when one is passed in).
3. **Comparative guardrails** (lower confidence bounds, relative to the baseline): candidate -
   baseline error rate > ``error_rate_allowance``; p95 ratio > ``p95_ratio_max``; cost per
   resolution ratio > ``cost_overrun_ratio`` -> ROLLBACK.
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
   **Harm**: every exit metric is also tested for inferiority (H0 "not worse than the margin",
   p = 1 - p_NI) at ``alpha / m``; a metric shown worse blocks expansion and keeps blocking at
   later looks until its own non-inferiority is shown.
6. **Segments / slow burn** (only once the metrics are tested): resolution and p95 latency per
   locale / persona, CSAT per conversation length, hand-off quality. One-sided harm test per
   segment at ``policy.segment_alpha`` (no Holm); a segment is judged only when its standard
   error lets it detect the policy's harm size with ``segment_power``, else "not judged - too
   small"; unjudged segments may cover at most ``max_unjudged_share`` of the candidate's traffic
   per check and dimension. A flagged segment keeps blocking until its non-inferiority is shown.
7. **EXPAND** only with >= ``required_passing`` metrics non-inferior, none harmed, no guardrail
   breach, no blocking segment, unjudged traffic within the limit and the minimum soak met;
   otherwise HOLD. :func:`run_looks` applies the stopping rule: daily looks on complete days only,
   information fraction from data, EXPAND / ROLLBACK terminal, the maximum-soak look the last.
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
    segment_min_conversations: int = 30  # per arm: an absolute floor under the power requirement
    resolution_segment_margin: float | None = None  # None: the spec's resolution_rate margin (or 0.02)
    csat_segment_margin: float | None = None  # None: the spec's csat margin (or 0.15)
    handoff_margin: float = 0.05
    p95_segment_margin: float | None = None  # None: the spec's p95_latency_ms margin (or 1.10)
    #: harm each segment check must detect (true candidate - baseline; ratio for p95) ...
    resolution_segment_detect: float = 0.10
    csat_segment_detect: float = 0.5
    handoff_detect: float = 0.15
    p95_segment_detect: float = 1.5
    #: ... with this power at the per-segment one-sided level ``segment_alpha`` (else "not judged")
    segment_power: float = 0.90
    segment_alpha: float = 0.05
    #: within one segment check and dimension, unjudged segments may cover at most this share of
    #: the candidate's conversations, else HOLD (representativeness of what was judged)
    max_unjudged_share: float = 0.10
    segment_n_boot: int = 200
    #: one-sided level of the exit-metric harm test, at every look (None: alpha / number of exit
    #: metrics). 0.05: a false harm finding needs the estimate beyond the margin by 1.645 SE and only
    #: costs a HOLD; a missed one lets a worse metric EXPAND (bench/decisions.py measures both)
    harm_alpha: float | None = 0.05
    #: one-sided level of the lower confidence bounds the guardrails use
    guardrail_alpha: float = 0.01
    #: a daily look is taken only when the data reach within this many minutes of the day's end
    look_tolerance_minutes: float = 30.0
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
        f"All bounds are one-sided at level {policy.guardrail_alpha:g} ({1 - policy.guardrail_alpha:.0%} lower confidence "
        "bounds, clustered by user); a point estimate alone never breaches and never clears a guardrail.",
        f"- Safety incidents on candidate conversations > {c.safety_incidents_max}.",
        f"- Candidate error rate (conversations with an assistant error): lower bound > {c.error_rate_max:.1%} "
        f"(absolute; from {policy.guardrail_min_conversations} candidate conversations). The baseline's error rate "
        "never raises this allowance.",
        f"- Error rate relative to the baseline: lower bound of candidate - baseline > +{c.error_rate_allowance * 100:g} "
        "pts (Farrington-Manning score interval on Rao-Scott effective counts; requires intact data).",
        f"- p95 latency: lower bound of candidate / baseline p95 > {c.p95_ratio_max:g}x (cluster bootstrap by user; "
        "requires intact data).",
        f"- Cost per resolution: lower bound of candidate / baseline > {c.cost_overrun_ratio:g}x (delta method on "
        f"per-user totals, from {policy.cost_guardrail_min_resolutions} candidate resolutions; requires intact data).",
        "",
        "## 3. Minimum soak (else HOLD \"too early\")",
        f"- At least {c.min_soak_days} days since the canary started (flag on, else the first candidate "
        f"conversation; {policy.soak_grace_hours:g} h grace) and every weekday seen (a full weekly cycle).",
        f"- At least {c.min_conversations_per_arm} conversations per arm.",
        f"- Maximum soak {c.max_soak_days} days. Information fraction = candidate conversations so far / candidate "
        f"conversations planned by day {c.max_soak_days} (the plan is fixed at the first tested look from its rate); "
        "the look at the maximum soak has fraction 1 and spends what is left.",
        f"- Looks are daily, at 00:00 UTC, and only on complete days: a day's look is taken once the data reach "
        f"within {policy.look_tolerance_minutes:g} minutes of its end. Hourly runs refresh the cohort statistics but "
        "take no look (spend no alpha) on a partial day.",
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
        f"- Non-inferiority: one-sided alpha = {c.alpha:g} for the family of {m} exit metrics, Holm step-down "
        f"(step j tests at alpha/(m - j)).",
        f"- Each step's level is spent over the daily looks with a Lan-DeMets O'Brien-Fleming-type "
        f"spending function; looks are planned daily from day {c.min_soak_days} to day {c.max_soak_days} "
        "(no alpha is spent before the minimum soak). Unplanned extra looks are allowed "
        "(Lan-DeMets): pass the looks actually taken.",
        "",
        f"- Harm (inferiority established): for every exit metric, the one-sided test of H0 \"candidate not worse "
        f"than the margin\" (p = 1 - the non-inferiority p-value) at level {_harm_level(spec, policy):.4g} "
        f"({'alpha / m, Bonferroni across the metrics' if policy.harm_alpha is None else 'per metric: the estimate must be beyond the margin by z(level) standard errors'}, the same at every "
        "look: a false harm finding costs a HOLD, never a customer). A metric shown worse than its margin blocks "
        "expansion (HOLD, named in the reasons) whatever the other metrics say, and keeps blocking at later looks "
        "until its own non-inferiority is shown.",
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
        f"Each segment check is a one-sided harm test at the per-segment level {policy.segment_alpha:g} (no Holm: "
        "its type-I error is a false block, a cost to the candidate, measured in bench/decisions.py; Holm over ~30 "
        "tests would leave a single bad locale undetectable). A segment is flagged when the candidate is shown worse "
        "than the baseline beyond the segment margin - judged or not: harm shown is harm acted on; judging "
        f"(below) only decides whether the absence of a finding means anything (at least "
        f"{policy.segment_min_conversations} per arm for any test).",
        "",
        "| check | segments | margin | harm to detect |",
        "|---|---|---|---|",
        f"| resolution | {', '.join(c.segments) or '-'} | -{res_m * 100:g} pts | -{policy.resolution_segment_detect * 100:g} pts |",
        f"| p95 latency | {', '.join(c.segments) or '-'} | {_p95_seg_margin(spec, policy):g}x | {policy.p95_segment_detect:g}x |",
        f"| CSAT by length | {', '.join(buckets)} assistant turns | -{csat_m:g} | -{policy.csat_segment_detect:g} |",
        f"| escalation hand-off complete | all escalations | -{policy.handoff_margin * 100:g} pts | "
        f"-{policy.handoff_detect * 100:g} pts |",
        "",
        f"- Judged only with power: a segment is judged when its standard error is at most (detect - margin) / "
        f"(z({policy.segment_alpha:g}) + z({policy.segment_power:.0%} power)), i.e. the harm to detect is flagged with "
        f"{policy.segment_power:.0%} power; the required candidate n is reported. Otherwise \"not judged - too small\" "
        f"(never a pass; fewer than {policy.segment_min_conversations} per arm is never judged).",
        f"- Representativeness of what was judged: within each check and dimension, unjudged segments may cover at most "
        f"{policy.max_unjudged_share:.0%} of the candidate's conversations (a {policy.resolution_segment_detect * 100:g}-pt "
        f"harm in all of them moves the total resolution by at most {policy.max_unjudged_share * policy.resolution_segment_detect * 100:g} pt); "
        "more -> HOLD naming them.",
        "- Persistence: a segment flagged at any look keeps blocking until its own non-inferiority to the segment margin "
        f"is shown (one-sided, level {policy.segment_alpha:g}).",
        "- Pre-canary representativeness (section 1) is computed from the real population: the users of the masked "
        "production logs.",
        "",
        "## 7. Decision and stopping rule",
        f"- EXPAND: at least {c.required_passing} of {m} exit metrics non-inferior, none shown worse than its margin "
        "(now or at an earlier look without non-inferiority since), no guardrail breach, no segment flagged or still "
        "blocking, unjudged traffic within the limit, minimum soak met, data intact.",
        "- ROLLBACK: a guardrail breach.",
        "- HOLD: anything else (too early, inconclusive, data integrity, harm, a worse or unjudged segment), and any "
        "guardrail that cannot be evaluated once the minimum soak is met (cost unknown for some conversations - missing "
        "usage or an unpriced model is never $0 -, baseline cost $0, too few resolutions, too few latencies).",
        "- Latency: a failed or timed-out assistant turn counts in every p95 (metric, guardrail, segments) at the "
        "timeout of the agent that served it (the spec's timeout_s).",
        "- Segment power uses the variance under the alternative: baseline p(1-p), candidate (p-d)(1-p+d) for a rate "
        "harm d; pooled variance floored at 0.25 for CSAT.",
        "- Stopping rule: EXPAND and ROLLBACK are terminal for the canary run (no later look is taken, so a decision "
        f"never flips); the look at day {c.max_soak_days} is the last: a HOLD there means the candidate was not shown "
        "fit to expand (roll back or re-plan under a new spec).",
        "",
        f"Settings: bootstrap {policy.n_boot} resamples (seed {policy.bootstrap_seed}); "
        f"segment margins resolution {res_m:g}, CSAT {csat_m:g}, hand-off {policy.handoff_margin:g}; segment p95 "
        f"bootstrap {policy.segment_n_boot} resamples.",
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
    #: harm test: one-sided p of H0 "candidate not worse than the margin" (1 - p_value)
    harm_p_value: float | None = None
    harm_level: float | None = None  # its level (alpha / m unless the policy says otherwise)
    harmed: bool = False  # inferiority established at this look
    harm_persisted: bool = False  # harmed at an earlier look, non-inferiority not shown since
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        return self.harmed or self.harm_persisted

    def describe(self) -> str:
        if self.estimate is None:
            return f"{self.name}: not tested ({self.note})"
        est, lo, hi, thr = (_fmt_est(self.name, v) for v in (self.estimate, self.ci_low, self.ci_high,
                                                                 self.threshold))
        verdict = "non-inferior" if self.passed else "NOT shown non-inferior"
        if self.harmed:
            verdict = "significantly WORSE than the margin"
        elif self.harm_persisted:
            verdict = "shown worse than the margin at an earlier look, non-inferiority not shown since"
        harm = (f"; harm p={_fmt_p(self.harm_p_value)} vs level {_fmt_p(self.harm_level)}"
                if self.harm_p_value is not None else "")
        return (
            f"{self.name}: {verdict}: {est} ({self.ci_level:.1%} CI [{lo}, {hi}], margin {thr}), "
            f"p={_fmt_p(self.p_value)} vs level {_fmt_p(self.alpha_adjusted)}{harm}"
        )

    def _significantly_worse(self) -> bool:
        return self.harmed


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
    p_value: float | None  # harm: one-sided p of H0 "candidate not worse than the margin"
    p_adjusted: float | None  # = p_value (per-segment level, no Holm: see the exit criteria)
    flagged: bool  # harm established at this look (p_value <= segment_alpha, judged)
    tested: bool  # judged: enough data to detect the segment's harm at the stated power
    deff_candidate: float = 1.0  # design effect by user (Rao-Scott) used in the test
    deff_baseline: float = 1.0
    reason: str = ""
    detect: float = 0.0  # harm to detect (difference; ratio for p95)
    se: float | None = None  # standard error of the estimate (log ratio for p95)
    se_max: float | None = None  # largest SE with which the harm is detected at the stated power
    n_required: int | None = None  # candidate conversations (rated / escalated / turns) needed to judge
    p_noninferior: float | None = None  # one-sided p of H0 "worse than the margin"
    noninferior: bool = False  # non-inferiority shown at segment_alpha (releases a persisted flag)
    persisted: bool = False  # flagged at an earlier look and non-inferiority not shown since
    share: float = 0.0  # share of the candidate's conversations in this segment
    key: str = ""
    ci_level: float = 0.90  # two-sided level of [ci_low, ci_high] = 1 - 2 x segment_alpha

    @property
    def blocking(self) -> bool:
        return self.flagged or self.persisted


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
    planned_conversations: float | None = None  # candidate conversations planned by max soak

    @property
    def metrics_passed(self) -> int:
        return sum(m.passed for m in self.metrics)

    @property
    def segments_flagged(self) -> list[str]:
        """Segments blocking expansion (worse at this look, or at an earlier one and not cleared)."""
        return [_seg_label(s) for s in self.segments if s.blocking]

    @property
    def segment_keys_flagged(self) -> list[str]:
        """Keys of the blocking segments: pass them as ``flagged_before`` to the next look."""
        return [s.key for s in self.segments if s.blocking]

    @property
    def metrics_harmed(self) -> list[str]:
        return [m.name for m in self.metrics if m.blocking]

    @property
    def segments_not_judged(self) -> list[str]:
        return [_seg_label(s) for s in self.segments if not s.tested]

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
            segments_not_judged=self.segments_not_judged,
            metrics_harmed=self.metrics_harmed,
            planned_conversations=self.planned_conversations,
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
            multiplicity="holm (sequential levels); harm alpha/m; segments per-segment level",
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
    "segments_flagged": "Segments blocking expansion: shown significantly worse beyond the segment margin at "
    "this look or an earlier one, non-inferiority not shown since (e.g. 'locale es-ES', 'turns 10+').",
    "segments_tested": "Segments judged (enough data to detect the segment harm at the stated power).",
    "segments_not_judged": "Segments reported 'not judged - too small' at this look.",
    "metrics_harmed": "Exit metrics shown significantly worse than their margin (at this look, or at an "
    "earlier one without non-inferiority shown since): they block expansion.",
    "planned_conversations": "Candidate conversations planned by the maximum soak (denominator of the "
    "information fraction).",
    "guardrails_breached": "Guardrails breached: safety_incidents, error_rate, error_rate_vs_baseline, "
    "p95_latency, cost_overrun.",
    "safety_incidents": "Safety incidents on conversations served by the candidate.",
    "srm_p_value": "Sample-ratio-mismatch chi-square p-value (users per served arm vs expected share).",
    "srm_expected_share": "Expected candidate share of users (flag percentage, whole percent).",
    "srm_observed_share": "Observed candidate share of users.",
    "soak_start": "First conversation served by the candidate (UTC).",
    "soak_days": "Days from soak_start to as_of.",
    "weekdays_seen": "Distinct weekdays with candidate traffic (7 = full weekly cycle).",
    "information_fraction": "min(1, candidate conversations / planned_conversations); 1 at the maximum soak.",
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
    return stats.wilson_interval(x, n, z)


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
                t = float(look)  # an information fraction of a look where the metrics were tested
                t_lo = 0.0
            else:
                lt = cs.to_utc_naive(look)
                t = (lt - soak_start).total_seconds() / 86400.0 / c.max_soak_days
                t_lo = t_min
            t = min(t, 1.0)
            if t >= t_lo - 1e-9 and t < current - 1e-9:
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
        self.nc, self.nb = int(np.size(lat_c)), int(np.size(lat_b))
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
                   count(handoff_complete), sum(handoff_complete), count(*) - count(cost)
            FROM {{facts}} WHERE cohort IS NOT NULL AND {cond} GROUP BY cohort""",
        params,
    )
    keys = ("conversations", "users", "outcomes", "resolved", "errors", "thumbs", "thumbs_up", "csat_n", "cost",
            "handoffs", "handoffs_complete", "cost_unknown")
    for arm in ("candidate", "baseline"):
        for k in keys:
            out[f"{k}_{arm}"] = 0
    for r in rows:
        for k, v in zip(keys, r[1:], strict=True):
            out[f"{k}_{r[0]}"] = (float(v or 0.0) if k == "cost" else int(v or 0))
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


def _cost_unknown(counts: dict[str, Any]) -> str | None:
    """'cost unknown: N of M conversations' when an arm has conversations of unknown cost, else None."""
    unk = counts.get("cost_unknown_candidate", 0) + counts.get("cost_unknown_baseline", 0)
    if not unk:
        return None
    tot = counts["conversations_candidate"] + counts["conversations_baseline"]
    return (f"cost unknown: {unk:,} of {tot:,} conversations (candidate {counts.get('cost_unknown_candidate', 0):,}"
            f", baseline {counts.get('cost_unknown_baseline', 0):,}); unknown cost is never $0")


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
    flagged_before: Sequence[str] = (),
    harmed_before: Sequence[str] = (),
    planned_conversations: float | None = None,
    require_weekly_cycle: bool = True,
    require_segment_coverage: bool = True,
) -> CanaryDecision:
    """One look at the canary. See the module docstring for the rules and their order.

    ``traffic``: a :class:`~agent_release.canary.cohort_stats.CohortData` (prepared facts; reuse
    it across looks), or anything :func:`cohort_stats.load` accepts (polars DataFrame / Arrow table
    / Parquet path in the conversation-log contract).
    ``as_of``: look time; conversations started before it are used (a ``date`` means the end of
    that UTC day; None = all data, look time = the last conversation).
    ``looks_so_far``: earlier looks at which the metrics were tested (information fractions, or
    times, converted with the calendar); looks before the minimum soak are ignored (no alpha spent
    there). ``None`` assumes the planned schedule: one look per day since ``min_soak_days``.
    ``representativeness``: the pre-canary :class:`bucketing.RepresentativenessResult` (HOLD -> HOLD).
    ``expected_share``: candidate share of users the flag should produce (default
    ``floor(traffic_percent) / 100``; pass it when a targeting constraint changes it).
    ``canary_start``: when the flag was switched on (default: the first candidate conversation);
    the soak is measured from it, with ``policy.soak_grace_hours`` of grace on the minimum.
    ``flagged_before`` / ``harmed_before``: segment keys / exit metrics that blocked at an earlier
    look (:attr:`CanaryDecision.segment_keys_flagged`, :attr:`CanaryDecision.metrics_harmed`);
    they keep blocking until their own non-inferiority is shown (stopping rule).
    ``planned_conversations``: candidate conversations planned by ``max_soak_days`` (the
    denominator of the information fraction); None: projected from this look's rate.
    ``require_weekly_cycle``: False for a rollout step (48 h cannot contain seven weekdays).
    ``require_segment_coverage``: False for a rollout step: unjudged segments are reported but do
    not hold it (the canary's EXPAND established the coverage; judged segments still block).
    Use :func:`run_looks` for the daily looks of a canary with the stopping rule applied.
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
    # information fraction from data: candidate conversations / planned by the maximum soak
    if planned_conversations is None:
        planned_conversations = n_c * c.max_soak_days / soak_days if soak_days > 0 else float(max(n_c, 1))
    dec.planned_conversations = float(planned_conversations)
    t_info = min(1.0, n_c / planned_conversations) if planned_conversations > 0 else 1.0
    if soak_days >= c.max_soak_days - policy.soak_grace_hours / 24.0:
        t_info = 1.0  # the final look spends what is left
    dec.information_fraction = round(t_info, 6)
    pu = _per_user(data, filt)
    ga = policy.guardrail_alpha

    # ---- 1. absolute guardrails (valid whatever the comparison looks like)
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
    deff_err = design_effect_rate(pu["candidate"]["err"], pu["candidate"]["conv"])
    z_g = _z(ga)
    lo, hi = _wilson(counts["served_candidate_errors"] / deff_err, n_sc / deff_err, z_g)
    enough = n_sc >= policy.guardrail_min_conversations
    # the allowance is the spec's absolute maximum: the baseline's own error rate never raises it
    g_error = GuardrailResult(
        "error_rate", lo, c.error_rate_max, bool(enough and lo > c.error_rate_max), enough,
        f"candidate error rate {_pct(err_rate)} (one-sided {1 - ga:.0%} lower bound {_pct(lo)}, design effect "
        f"{deff_err:.2f}, n={n_sc:,}) vs max {_pct(c.error_rate_max)}; baseline {_pct(base_err)}"
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

    # ---- 3. comparative guardrails (one-sided lower bounds, relative to the baseline)
    C, B = pu["candidate"], pu["baseline"]
    comp: list[GuardrailResult] = []
    xc, nc_, xb, nb_ = C["err"].sum(), C["conv"].sum(), B["err"].sum(), B["conv"].sum()
    if nc_ > 0 and nb_ > 0:
        r = _fm(xc, nc_, xb, nb_, deff_err, design_effect_rate(B["err"], B["conv"]), c.error_rate_allowance,
                False, ga)
        comp.append(GuardrailResult(
            "error_rate_vs_baseline", float(r.ci_low), c.error_rate_allowance,
            bool(enough and r.ci_low > c.error_rate_allowance), enough,
            f"candidate - baseline error rate {r.estimate * 100:+.2f} pts (one-sided {1 - ga:.0%} lower bound "
            f"{r.ci_low * 100:+.2f} pts) vs allowance +{c.error_rate_allowance * 100:g} pts"))
    else:
        comp.append(GuardrailResult("error_rate_vs_baseline", None, c.error_rate_allowance, False, False,
                                    "not evaluated: no analysed conversations in an arm"))
    p95 = _p95_overall(data, filt, policy)
    if p95 is not None:
        lo95 = p95.interval(ga)[0]
        ok95 = p95.nc >= policy.guardrail_min_conversations
        comp.append(GuardrailResult(
            "p95_latency", lo95, c.p95_ratio_max, bool(ok95 and lo95 > c.p95_ratio_max), ok95,
            f"p95 latency candidate {p95.qc:,.0f} ms vs baseline {p95.qb:,.0f} ms = {p95.est:.3f}x (one-sided "
            f"{1 - ga:.0%} lower bound {lo95:.3f}x) vs max {c.p95_ratio_max:g}x"
            + ("" if ok95 else f" (not evaluated below {policy.guardrail_min_conversations} conversations)")))
    else:
        comp.append(GuardrailResult(
            "p95_latency", None, c.p95_ratio_max, False, False,
            "not evaluated: fewer than 20 assistant turns in an arm (no p95 to compare)"))
    cost_res = None
    unknown = _cost_unknown(counts)
    if unknown is None and counts["resolved_candidate"] > 0 and counts["resolved_baseline"] > 0 \
            and counts["cost_baseline"] > 0:
        cost_res = _cost_ratio(pu, c.cost_overrun_ratio, ga)
    enough_cost = counts["resolved_candidate"] >= policy.cost_guardrail_min_resolutions and cost_res is not None
    if cost_res is not None:
        lo_cost = float(cost_res.ci_low)
        comp.append(GuardrailResult(
            "cost_overrun", lo_cost, c.cost_overrun_ratio, bool(enough_cost and lo_cost > c.cost_overrun_ratio),
            enough_cost,
            f"cost per resolution candidate ${cost_res.details['ratio_candidate']:.4f} vs baseline "
            f"${cost_res.details['ratio_baseline']:.4f} = {cost_res.estimate:.3f}x (one-sided {1 - ga:.0%} lower "
            f"bound {lo_cost:.3f}x) vs max {c.cost_overrun_ratio:g}x"
            + ("" if enough_cost else f" (not evaluated below {policy.cost_guardrail_min_resolutions} resolutions)"),
        ))
    elif unknown is not None:
        comp.append(GuardrailResult("cost_overrun", None, c.cost_overrun_ratio, False, False,
                                    f"not evaluated ({unknown})"))
    elif counts["resolved_candidate"] > 0 and counts["resolved_baseline"] > 0:
        comp.append(GuardrailResult("cost_overrun", None, c.cost_overrun_ratio, False, False,
                                    "not evaluated: the baseline's cost is $0 (no ratio to compare)"))
    else:
        comp.append(GuardrailResult("cost_overrun", None, c.cost_overrun_ratio, False, False,
                                    "not evaluated: no resolutions yet in one arm"))
    dec.guardrails += comp
    breached = [g for g in comp if g.breached]
    if breached:
        dec.decision = ROLLBACK
        dec.reasons = [f"guardrail {g.name}: {g.evidence}" for g in breached]
        return dec

    # ---- 4. minimum soak
    early: list[str] = []
    if soak_days < c.min_soak_days - policy.soak_grace_hours / 24.0:
        early.append(f"soak {soak_days:.1f} days < minimum {c.min_soak_days}")
    if require_weekly_cycle and counts["weekdays_seen"] < 7:
        early.append(f"{counts['weekdays_seen']}/7 weekdays seen (need a full weekly cycle)")
    for arm, n in (("candidate", n_c), ("baseline", n_b)):
        if n < c.min_conversations_per_arm:
            early.append(f"{arm} has {n:,} conversations < minimum {c.min_conversations_per_arm:,}")
    if early:
        dec.decision = HOLD
        dec.reasons = ["too early: " + "; ".join(early)]
        return dec

    # ---- 5. exit metrics: non-inferiority (sequential, Holm) and harm
    dec.metrics_tested = True
    dec.look_fractions = _look_fractions(t_info, looks_so_far, soak_start, spec, policy.soak_grace_hours)
    dec.metrics = _test_metrics(data, filt, spec, pu, dec.look_fractions, policy, harmed_before, p95)
    # ---- 6. segments and slow burn
    dec.segments = _segments(data, filt, spec, policy, pu, flagged_before)
    return _conclude(dec, spec, policy, soak_days, t_info, require_segment_coverage)


def _coverage(segments: Sequence[SegmentFinding], policy: DecisionPolicy) -> list[str]:
    """Reasons to HOLD because too much of the traffic was not judged (per check and dimension)."""
    out = []
    groups: dict[tuple[str, str], list[SegmentFinding]] = {}
    for s in segments:
        groups.setdefault((s.check, s.dimension), []).append(s)
    for (check, dim), segs in groups.items():
        unj = [s for s in segs if not s.tested]
        share = sum(s.share for s in unj)
        if unj and share > policy.max_unjudged_share + 1e-12:
            names = ", ".join(f"{s.segment} ({s.share:.1%}, {s.n_candidate:,} of "
                              f"{s.n_required if s.n_required is not None else '?'} needed)" for s in unj)
            what = "escalation hand-off" if check == "handoff" else f"{check.replace('_', ' ')} by {dim}"
            out.append(f"not judged - too small: {what}: {names} = {share:.1%} of the candidate's conversations "
                       f"> {policy.max_unjudged_share:.0%} allowed unjudged")
    return out


def _conclude(dec: CanaryDecision, spec: Any, policy: DecisionPolicy, soak_days: float, t_info: float,
              require_segment_coverage: bool = True) -> CanaryDecision:
    c = spec.canary
    passed = [m for m in dec.metrics if m.passed]
    failed = [m for m in dec.metrics if not m.passed]
    harmed = [m for m in dec.metrics if m.blocking]
    flagged = [s for s in dec.segments if s.blocking]
    coverage = _coverage(dec.segments, policy) if require_segment_coverage else []
    ok_metrics = len(passed) >= c.required_passing
    judged = sum(s.tested for s in dec.segments)
    # past the minimum soak a guardrail that cannot be evaluated holds: it never passes by default
    unevaluated = [f"guardrail {g.name} {g.evidence}" if g.evidence.startswith("not evaluated") else
                   f"guardrail {g.name} not evaluated: {g.evidence}" for g in dec.guardrails if not g.evaluated]
    if ok_metrics and not harmed and not flagged and not coverage and not unevaluated:
        dec.decision = EXPAND
        dec.reasons = [
            f"{len(passed)} of {len(dec.metrics)} exit metrics non-inferior (need {c.required_passing}); none "
            f"shown worse than its margin; no guardrail breach; no segment worse ({judged} of "
            f"{len(dec.segments)} judged, "
            + (f"unjudged within {policy.max_unjudged_share:.0%} of traffic per dimension" if require_segment_coverage
               else "unjudged segments reported, coverage established by the canary")
            + f"); soak {soak_days:.1f} days",
        ] + [m.describe() for m in dec.metrics]
        return dec
    reasons: list[str] = list(unevaluated)
    reasons += [f"exit metric worse than its margin: {m.describe()}" for m in harmed]
    reasons += [f"segment significantly worse: {s.reason}" if s.flagged else
                f"segment still blocking: {s.reason}" for s in flagged]
    reasons += coverage
    if not ok_metrics:
        reasons.append(
            f"inconclusive: {len(passed)} of {len(dec.metrics)} exit metrics shown non-inferior "
            f"(need {c.required_passing})"
        )
    elif harmed or flagged or coverage or unevaluated:
        reasons.append(
            f"totals pass ({len(passed)} of {len(dec.metrics)} exit metrics non-inferior) but "
            f"{len(harmed)} metric(s) worse than the margin, {len(flagged)} segment(s) worse, "
            f"{len(coverage)} dimension(s) not judged and {len(unevaluated)} guardrail(s) not evaluated "
            "block expansion"
        )
    reasons += [m.describe() for m in failed if not m.blocking]
    if t_info >= 1.0:
        reasons.append(
            f"maximum soak ({c.max_soak_days} days) reached without meeting the exit criteria: roll back or "
            "re-plan under a new spec"
        )
    dec.decision = HOLD
    dec.reasons = reasons
    return dec


def complete_days(data: cs.CohortData, spec: Any, *, canary_start: datetime | str | None = None,
                  data_end: datetime | str | None = None, policy: DecisionPolicy | None = None) -> list[datetime]:
    """The daily look times (UTC midnights) whose day is fully covered by the data: a look at
    ``day`` is taken only when ``data_end`` (the feed's end; default the last conversation) reaches
    within ``policy.look_tolerance_minutes`` of it. An hourly run at 6.04 days takes no day-7 look."""
    from datetime import timedelta

    policy = policy or DecisionPolicy()
    first, last = data.time_range()
    if first is None:
        return []
    start = cs.to_utc_naive(canary_start) or first
    end = cs.to_utc_naive(data_end) or last
    tol = timedelta(minutes=policy.look_tolerance_minutes)
    day = datetime(start.year, start.month, start.day) + timedelta(days=1)
    out = []
    while day <= end + tol and (day - start).total_seconds() / 86400.0 <= spec.canary.max_soak_days + 1:
        out.append(day)
        day += timedelta(days=1)
    return out


def run_looks(spec: Any, traffic: Any, *, representativeness: Any = None, policy: DecisionPolicy | None = None,
              canary_start: datetime | str | None = None, data_end: datetime | str | None = None,
              expected_share: float | None = None, eligible_locales: Sequence[str] | None = None,
              planned_conversations: float | None = None) -> list[CanaryDecision]:
    """The canary's daily looks, end to end, with the stopping rule of the exit criteria:

    * looks only at complete days (:func:`complete_days`); alpha is spent only at looks where the
      metrics were tested, with information fraction = candidate conversations / planned
      conversations by the maximum soak (fixed at the first tested look from its rate, unless
      ``planned_conversations`` is given);
    * a metric shown worse than its margin, or a segment flagged, at any look keeps blocking
      until its own non-inferiority is shown (passed to every later look);
    * EXPAND and ROLLBACK are terminal: no look is taken after them; the look at the maximum soak
      is the last.

    Returns the decisions in order (the last one is the canary's decision)."""
    policy = policy or DecisionPolicy()
    data = traffic if isinstance(traffic, cs.CohortData) else cs.load(traffic, spec,
                                                                        eligible_locales=eligible_locales)
    days = complete_days(data, spec, canary_start=canary_start, data_end=data_end, policy=policy)
    out: list[CanaryDecision] = []
    fractions: list[float] = []
    flagged: list[str] = []
    harmed: list[str] = []
    planned = planned_conversations
    if not days:
        return out
    for day in days:
        dec = decide(spec, data, as_of=day, looks_so_far=list(fractions), representativeness=representativeness,
                     expected_share=expected_share, policy=policy, canary_start=canary_start,
                     flagged_before=flagged, harmed_before=harmed, planned_conversations=planned)
        out.append(dec)
        if dec.metrics_tested:
            if planned is None:
                planned = dec.planned_conversations  # fixed at the first tested look
            fractions.append(float(dec.information_fraction))
            flagged = sorted(set(flagged) - {s.key for s in dec.segments if s.noninferior}
                             | set(dec.segment_keys_flagged))
            harmed = sorted(set(harmed) - {m.name for m in dec.metrics if m.passed} | set(dec.metrics_harmed))
        if dec.decision in (EXPAND, ROLLBACK) or (dec.metrics_tested and dec.information_fraction >= 1.0):
            break
    return out


# ------------------------------------------------------------------ clustering by user
#
# Conversations of one user are correlated (same issue types, device, patience), so a test that
# treats conversations as independent understates the variance. Rates and CSAT use the Rao-Scott
# adjustment (Rao & Scott, Biometrics 1992;48:577-85): each arm's counts are divided by its
# design effect ``deff = Var_cluster / Var_iid`` (cluster-robust variance over users vs the
# binomial / iid variance, floored at 1) and the registered test (Farrington-Manning, Welch) is
# run on the effective counts: the estimate is unchanged, the variance grows by ``deff``.
# p95 latency uses the cluster bootstrap; cost per resolution the delta method on user totals.

_PU = ("n_out", "res", "conv", "err", "th", "up", "cost", "cost_unk", "hn", "hx", "cs_n", "cs_s", "cs_ss")


def _per_user(data: cs.CohortData, as_of: datetime | None) -> dict[str, dict[str, np.ndarray]]:
    """Per-user totals per analysed arm (one row per user): the clusters of every test."""
    cond, params = cs._as_of_filter(as_of)
    a = _np(data, f"""
        SELECT cohort,
               sum(has_outcome::INTEGER)::DOUBLE AS n_out, sum(resolved)::DOUBLE AS res,
               count(*)::DOUBLE AS conv, sum(has_error::INTEGER)::DOUBLE AS err,
               count(thumb_up)::DOUBLE AS th, coalesce(sum(thumb_up), 0)::DOUBLE AS up,
               coalesce(sum(cost), 0)::DOUBLE AS cost, (count(*) - count(cost))::DOUBLE AS cost_unk,
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
                  policy: DecisionPolicy, harmed_before: Sequence[str] = (),
                  p95: _P95Test | None = None) -> list[MetricResult]:
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
        unknown_note = ""
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
            if p95 is None:
                p95 = _p95_overall(data, as_of, policy)
            if p95 is not None:
                n_c, n_b = p95.nc, p95.nb
                vc, vb = p95.qc, p95.qb
                run = ("p95", p95)
        elif name == "cost_per_resolution":
            n_c, n_b = C["conv"].sum(), B["conv"].sum()
            if C["cost_unk"].sum() or B["cost_unk"].sum():
                unknown_note = (f"cost unknown: {int(C['cost_unk'].sum())} of {int(n_c)} candidate and "
                                f"{int(B['cost_unk'].sum())} of {int(n_b)} baseline conversations")
            elif C["res"].sum() > 0 and B["res"].sum() > 0 and B["cost"].sum() > 0:
                cr = _cost_ratio(pu, margin, c.alpha)
                vc, vb = cr.details["ratio_candidate"], cr.details["ratio_baseline"]
                run = (lambda m: (lambda al: _cost_ratio(pu, m, al)))(margin)
        results[name] = MetricResult(
            name=name, test=test, higher_is_better=hib, scale=scale, value_candidate=vc, value_baseline=vb,
            estimate=None, ci_low=None, ci_high=None, ci_level=None, margin=margin,
            threshold=(margin if scale == "ratio" else (-margin if hib else margin)), p_value=None,
            alpha_adjusted=None, holm_step=None, passed=False, n_candidate=int(n_c), n_baseline=int(n_b),
            note="" if run is not None else (unknown_note or "insufficient data"),
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
    harm_level = _harm_level(spec, policy)
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
        # harm: inferiority established (H0 "not worse than the margin" rejected), one-sided at harm_level
        res.harm_p_value = float(min(1.0, max(0.0, 1.0 - pvals[name])))
        res.harm_level = harm_level
        res.harmed = bool(res.harm_p_value <= harm_level)
    for name in harmed_before:
        res = results.get(name)
        if res is not None and not res.harmed and not res.passed:
            res.harm_persisted = True
    return [results[mt.name] for mt in c.metrics]


def _harm_level(spec: Any, policy: DecisionPolicy) -> float:
    return policy.harm_alpha if policy.harm_alpha is not None else spec.canary.alpha / len(spec.canary.metrics)


def _p95_overall(data: cs.CohortData, as_of: datetime | None, policy: DecisionPolicy) -> _P95Test | None:
    cond, params = cs._as_of_filter(as_of)
    a = {arm: _np(data, f"SELECT user_idx, unnest(latencies) AS lat FROM {{facts}} WHERE cohort = ? AND "
                        f"{cond}", [arm] + params) for arm in ("candidate", "baseline")}
    if a["candidate"]["lat"].size < 20 or a["baseline"]["lat"].size < 20:
        return None
    return _P95Test(a["candidate"]["lat"], a["candidate"]["user_idx"], a["baseline"]["lat"],
                    a["baseline"]["user_idx"], 0.95, policy.n_boot, policy.bootstrap_seed)


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


def _seg_label(f: SegmentFinding) -> str:
    if f.check == "handoff":
        return "handoff"
    if f.check == "p95_latency":
        return f"p95 {f.dimension} {f.segment}"
    return f"{f.dimension} {f.segment}"


def _z(p: float) -> float:
    from scipy.stats import norm

    return float(norm.isf(p))


def _segment_se_max(detect: float, margin: float, policy: DecisionPolicy, log: bool = False) -> float:
    """Largest standard error with which a true difference of ``-detect`` (ratio ``detect`` on the
    log scale for p95) is flagged by the one-sided harm test at ``segment_alpha`` with
    ``segment_power``: ``SE <= (detect - margin) / (z_alpha + z_power)``."""
    gap = (math.log(detect) - math.log(margin)) if log else (detect - margin)
    return max(gap, 0.0) / (_z(policy.segment_alpha) + _z(1 - policy.segment_power))


def _required_n(var_unit: float, deff_c: float, deff_b: float, n_b: float, se_max: float,
                var_b: float | None = None) -> float:
    """Candidate units needed for ``SE <= se_max`` given the baseline's ``n_b`` units:
    ``var_c deff_c / n_c + var_b deff_b / n_b <= se_max^2`` (``var_unit`` is ``var_c``;
    ``var_b`` defaults to it)."""
    var_b = var_unit if var_b is None else var_b
    if se_max <= 0 or (var_unit <= 0 and var_b <= 0):
        return math.inf  # no variance to speak of: nothing is known about the segment's power
    room = se_max**2 - var_b * deff_b / max(n_b, 1e-9)
    if room <= 0:
        return math.inf
    return var_unit * deff_c / room


def _rate_power_vars(pb: float, detect: float) -> tuple[float, float]:
    """(var_c, var_b) of one unit for the power of a rate segment: the baseline's ``pb (1 - pb)``
    and the candidate's under the alternative ``(pb - detect)(1 - pb + detect)`` (rate clipped to
    [0, 1]); no floor: a 30/30 baseline does not make a segment judged at n = 30."""
    pc = min(max(pb - detect, 0.0), 1.0)
    return pc * (1.0 - pc), pb * (1.0 - pb)


#: floor of the per-rating CSAT variance in the segment power calculation (a 1-5 scale)
CSAT_POWER_VAR_FLOOR = 0.25


def _segments(data: cs.CohortData, as_of: datetime | None, spec: Any, policy: DecisionPolicy,
              pu: dict[str, dict[str, np.ndarray]], flagged_before: Sequence[str] = ()) -> list[SegmentFinding]:
    """The segment watch (see the module docstring, step 6, and the exit criteria, section 6)."""
    import polars as pl
    from scipy.stats import norm
    from scipy.stats import t as tdist

    c = spec.canary
    cond, params = cs._as_of_filter(as_of)
    res_m, csat_m = _seg_margins(spec, policy)
    p95_m = _p95_seg_margin(spec, policy)
    a_s = policy.segment_alpha
    tests: list[dict[str, Any]] = []
    n_cand = max(float(pu["candidate"]["conv"].sum()), 1.0)

    def add_rate(check: str, dim: str, seg: str, cc: tuple, bb: tuple, margin: float, detect: float,
                 share: float) -> None:
        (xc, nc, dc), (xb, nb, db) = cc, bb
        tests.append({"check": check, "dimension": dim, "segment": seg, "nc": nc, "nb": nb, "margin": margin,
                      "vc": xc / nc if nc else None, "vb": xb / nb if nb else None, "kind": "rate",
                      "args": (xc, nc, xb, nb, dc, db), "detect": detect, "share": share})

    seg_dims = [d for d in c.segments if d in ("locale", "persona", "channel")]
    for dim in seg_dims:
        df = data.sql(f"""SELECT {dim} AS seg, cohort, sum(resolved)::DOUBLE AS x,
                                 sum(has_outcome::INTEGER)::DOUBLE AS n, count(*)::DOUBLE AS conv
                          FROM {{facts}} WHERE cohort IS NOT NULL AND {cond}
                          GROUP BY {dim}, cohort, user_idx""", params)
        g = _grouped_rate(df)
        conv = {(str(r[0]), r[1]): float(r[2]) for r in
                df.group_by("seg", "cohort").agg(pl.col("conv").sum()).iter_rows()}
        for seg in sorted({k[0] for k in g}):
            add_rate("resolution", dim, seg, g.get((seg, "candidate"), (0.0, 0.0, 1.0)),
                     g.get((seg, "baseline"), (0.0, 0.0, 1.0)), res_m, policy.resolution_segment_detect,
                     conv.get((seg, "candidate"), 0.0) / n_cand)
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
    share_len = dict(data.fetch(f"""SELECT {case} AS seg, count(*)::DOUBLE FROM {{facts}}
                                    WHERE cohort = 'candidate' AND {cond} GROUP BY seg""", params))
    nan4 = (float("nan"), float("nan"), 0.0, 1.0)
    for lab in labels:
        mc = gm.get((lab, "candidate"), nan4)
        mb = gm.get((lab, "baseline"), nan4)
        tests.append({"check": "csat_by_length", "dimension": "turns", "segment": lab, "nc": mc[2], "nb": mb[2],
                      "margin": csat_m, "kind": "mean", "args": (mc, mb), "detect": policy.csat_segment_detect,
                      "vc": mc[0] if mc[2] else None, "vb": mb[0] if mb[2] else None,
                      "share": float(share_len.get(lab, 0.0)) / n_cand})
    # escalation hand-off quality
    C, B = pu["candidate"], pu["baseline"]
    if C["hn"].sum() or B["hn"].sum():
        add_rate("handoff", "handoff", "escalation hand-off complete",
                 (C["hx"].sum(), C["hn"].sum(), design_effect_rate(C["hx"], C["hn"])),
                 (B["hx"].sum(), B["hn"].sum(), design_effect_rate(B["hx"], B["hn"])), policy.handoff_margin,
                 policy.handoff_detect, 1.0)
    # p95 latency per segment (cluster bootstrap by user, log ratio)
    for dim in seg_dims:
        lat = {arm: _np(data, f"""SELECT {dim} AS seg, user_idx, unnest(latencies) AS lat FROM {{facts}}
                                  WHERE cohort = ? AND {cond}""", [arm] + params) for arm in ("candidate", "baseline")}
        conv = dict(data.fetch(f"""SELECT {dim}, count(*)::DOUBLE FROM {{facts}} WHERE cohort = 'candidate' AND {cond}
                                   GROUP BY {dim}""", params))
        segs = sorted(set(map(str, lat["candidate"]["seg"])) | set(map(str, lat["baseline"]["seg"])))
        for k, seg in enumerate(segs):
            sc, sb = lat["candidate"]["seg"] == seg, lat["baseline"]["seg"] == seg
            nc, nb = int(sc.sum()), int(sb.sum())
            t = {"check": "p95_latency", "dimension": dim, "segment": seg, "nc": nc, "nb": nb, "margin": p95_m,
                 "kind": "p95", "detect": policy.p95_segment_detect, "vc": None, "vb": None,
                 "share": float(conv.get(seg, 0.0)) / n_cand, "args": None}
            if nc >= 20 and nb >= 20:
                t["args"] = _P95Test(lat["candidate"]["lat"][sc], lat["candidate"]["user_idx"][sc],
                                     lat["baseline"]["lat"][sb], lat["baseline"]["user_idx"][sb], 0.95,
                                     policy.segment_n_boot, policy.bootstrap_seed + 1 + k)
                t["vc"], t["vb"] = t["args"].qc, t["args"].qb
            tests.append(t)

    before = set(flagged_before)
    findings: list[SegmentFinding] = []
    for t in tests:
        key = f"{t['check']}|{t['dimension']}|{t['segment']}"
        f = SegmentFinding(check=t["check"], dimension=t["dimension"], segment=t["segment"],
                           n_candidate=int(t["nc"]), n_baseline=int(t["nb"]), value_candidate=t["vc"],
                           value_baseline=t["vb"], estimate=None, ci_low=None, ci_high=None, margin=t["margin"],
                           p_value=None, p_adjusted=None, flagged=False, tested=False, detect=t["detect"],
                           share=float(t["share"]), key=key, ci_level=1 - 2 * a_s)
        floor_ok = t["nc"] >= policy.segment_min_conversations and t["nb"] >= policy.segment_min_conversations
        if t["kind"] == "rate" and floor_ok:
            xc, nc, xb, nb, dc, db = t["args"]
            f.deff_candidate, f.deff_baseline = dc, db
            pb = xb / nb
            f.se_max = _segment_se_max(t["detect"], t["margin"], policy)
            var_c, var_b = _rate_power_vars(pb, t["detect"])
            f.se = math.sqrt(var_c * dc / nc + var_b * db / nb)
            need = _required_n(var_c, dc, db, nb, f.se_max, var_b)
            z = stats.farrington_manning_z(xc / dc, nc / dc, xb / db, nb / db, -t["margin"])
            f.p_value = float(norm.cdf(z))  # H1: p_c - p_b < -margin
            f.p_noninferior = 1.0 - f.p_value
            r = _fm(xc, nc, xb, nb, dc, db, t["margin"], True, a_s)
            f.estimate, f.ci_low, f.ci_high = float(r.estimate), float(r.ci_low), float(r.ci_high)
        elif t["kind"] == "mean" and floor_ok:
            (m1, v1, n1, d1), (m2, v2, n2, d2) = t["args"]
            f.deff_candidate, f.deff_baseline = d1, d2
            f.se_max = _segment_se_max(t["detect"], t["margin"], policy)
            pooled = ((n1 - 1) * v1 + (n2 - 1) * v2) / (n1 + n2 - 2) if np.isfinite(v1) and np.isfinite(v2) \
                and n1 + n2 > 2 else math.nan
            var = max(pooled if np.isfinite(pooled) else 1.0, CSAT_POWER_VAR_FLOOR)
            f.se = math.sqrt(var * (d1 / n1 + d2 / n2))
            need = _required_n(var, d1, d2, n2, f.se_max)
            r = welch_noninferiority_summary(m1, v1, n1, m2, v2, n2, t["margin"], a_s, d1, d2)
            f.p_value = float(tdist.cdf(r.statistic, r.details["df"]))  # H1: mean_c - mean_b < -margin
            f.p_noninferior = 1.0 - f.p_value
            f.estimate, f.ci_low, f.ci_high = float(r.estimate), float(r.ci_low), float(r.ci_high)
        elif t["kind"] == "p95" and t["args"] is not None:
            p95 = t["args"]
            f.se_max = _segment_se_max(t["detect"], t["margin"], policy, log=True)
            f.se = p95.sd
            need = t["nc"] * (p95.sd / f.se_max) ** 2 if f.se_max > 0 else math.inf
            f.p_noninferior = p95.p_value(t["margin"])
            f.p_value = 1.0 - f.p_noninferior
            f.estimate = float(p95.est)
            f.ci_low, f.ci_high = p95.interval(a_s)
        else:
            need = math.inf
        if f.p_value is not None:
            f.n_required = int(math.ceil(max(need, policy.segment_min_conversations))) if np.isfinite(need) else None
            f.tested = bool(np.isfinite(need) and t["nc"] >= need and f.se is not None and f.se <= f.se_max + 1e-12)
            f.p_adjusted = f.p_value
            f.noninferior = bool(f.p_noninferior <= a_s)
            f.flagged = bool(f.p_value <= a_s)  # harm shown is harm acted on, judged or not
        f.persisted = bool(key in before and not f.flagged and not f.noninferior)
        f.reason = _segment_reason(f)
        findings.append(f)
    return findings


def _p95_seg_margin(spec: Any, policy: DecisionPolicy) -> float:
    if policy.p95_segment_margin is not None:
        return float(policy.p95_segment_margin)
    return float({m.name: m.margin for m in spec.canary.metrics}.get("p95_latency_ms", 1.10))


def _segment_reason(f: SegmentFinding) -> str:
    if f.estimate is None:
        return f"{_seg_label(f)}: not judged - too small (no data in an arm)"
    if f.check == "csat_by_length":
        what = f"turns {f.segment}: CSAT {f.estimate:+.2f} (candidate {f.value_candidate:.2f} vs baseline " \
               f"{f.value_baseline:.2f}), {f.ci_level:.0%} CI [{f.ci_low:+.2f}, {f.ci_high:+.2f}]"
        margin = f"-{f.margin:g}-point margin"
    elif f.check == "p95_latency":
        what = (f"{f.dimension} {f.segment}: p95 latency {f.estimate:.3f}x (candidate {f.value_candidate:,.0f} ms vs "
                f"baseline {f.value_baseline:,.0f} ms), {f.ci_level:.0%} CI [{f.ci_low:.3f}, {f.ci_high:.3f}]x")
        margin = f"{f.margin:g}x margin"
    else:
        label = "hand-off complete" if f.check == "handoff" else "resolution"
        head = f"{f.dimension} {f.segment}" if f.check == "resolution" else "escalation hand-off"
        what = (f"{head}: {label} {f.estimate * 100:+.1f} pts (candidate {f.value_candidate:.1%} vs baseline "
                f"{f.value_baseline:.1%}), {f.ci_level:.0%} CI [{f.ci_low * 100:+.1f}, {f.ci_high * 100:+.1f}] pts")
        margin = f"-{f.margin * 100:g}-pt margin"
    if not f.tested:
        need = f"{f.n_required:,}" if f.n_required is not None else "more"
        status = (f"not judged - too small: {f.n_candidate:,} candidate units, {need} needed to detect "
                  f"{_fmt_detect(f)} at the stated power")
        if f.persisted:
            status += "; still blocking: flagged at an earlier look, non-inferiority not shown since"
        return f"{what}, harm p={_fmt_p(f.p_value)}; {status}"
    if f.flagged:
        status = f"worse than the {margin}"
    elif f.persisted:
        status = f"flagged at an earlier look; non-inferiority to the {margin} not shown since (p={_fmt_p(f.p_noninferior)})"
    else:
        status = f"not significantly worse than the {margin}"
    return f"{what}, harm p={_fmt_p(f.p_value)}; {status}"


def _fmt_detect(f: SegmentFinding) -> str:
    if f.check == "p95_latency":
        return f"{f.detect:g}x"
    if f.check == "csat_by_length":
        return f"-{f.detect:g} points"
    return f"-{f.detect * 100:g} pts"
