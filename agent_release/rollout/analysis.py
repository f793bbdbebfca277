"""The analysis of one rollout step: the canary analysis, run on the step's traffic.

Each step of the plan (5% → 25% → 50% → …) is entered only when the traffic of the previous step
passes the same analysis as the canary exit (:func:`agent_release.canary.decision.decide`):
absolute guardrails, sample-ratio mismatch and flag/serving mismatches (data integrity),
cost-overrun guardrail, one-sided non-inferiority of the spec's exit metrics (Farrington-Manning
/ Welch on Rao-Scott effective counts, clustered bootstrap for p95 latency, Holm across metrics)
and the segment / slow-burn watch (a locale significantly worse blocks the step).

What differs from the canary, and why:

* the analysis runs on the step's own window (``step_start`` → ``as_of``, at least
  ``min_hours_between_steps``) with the step's share as the flag's expected split;
* each step is **one look** (information fraction 1: the window is analysed once, at its end),
  so the full alpha of the spec is spent on it, Holm-corrected across metrics;
* the minimum soak is the step's duration (whole days of ``min_hours_between_steps``), and the
  canary's *full weekly cycle* rule is waived: it applied to the canary soak (7-14 days), which
  the rollout follows; a 48-hour step cannot contain seven weekdays. Every other early-stop rule
  (soak duration, minimum conversations per arm) still applies.

The canary's ``decide`` enforces the weekly cycle without a switch, so when it stops *only*
there, this module finishes the same steps 5-7 with the canary's own test functions
(``_per_user``, ``_test_metrics``, ``_segments``) — one implementation of the statistics.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from agent_release.canary import decision as cd

WEEKLY_RULE = "weekdays seen (need a full weekly cycle)"


def step_spec(spec, percentage: float, min_hours: float):
    """The release spec as the analysis of a ``percentage`` step sees it."""
    days = max(1, int(min_hours // 24))
    return replace(spec, canary=replace(spec.canary, traffic_percent=float(percentage), min_soak_days=days,
                                        max_soak_days=days))


@dataclass
class StepAnalysis:
    percentage: float
    decision: str  # EXPAND | HOLD | ROLLBACK
    reasons: list[str]
    canary: cd.CanaryDecision
    weekly_cycle_waived: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def criteria_doc_hash(self) -> str:
        return self.canary.criteria_doc_hash

    def statistics(self) -> dict[str, Any]:
        """Compact statistics for the decision row (the full canary row is in ``details``)."""
        d = self.canary
        return {
            "decision": self.decision,
            "metrics": [{"name": m.name, "estimate": m.estimate, "ci_low": m.ci_low, "ci_high": m.ci_high,
                         "ci_level": m.ci_level, "margin": m.margin, "p_value": m.p_value,
                         "alpha_adjusted": m.alpha_adjusted, "passed": m.passed,
                         "value_candidate": m.value_candidate, "value_baseline": m.value_baseline}
                        for m in d.metrics],
            "metrics_passed": d.metrics_passed, "required_passing": d.required_passing,
            "segments_flagged": d.segments_flagged,
            "segments_tested": sum(s.tested for s in d.segments),
            "guardrails": [{"name": g.name, "value": g.value, "threshold": g.threshold, "breached": g.breached,
                            "evidence": g.evidence} for g in d.guardrails],
            "srm": d.srm, "counts": d.counts, "mismatches": d.mismatches, "soak": d.soak,
            "weekly_cycle_waived": self.weekly_cycle_waived,
        }


def analyze_step(spec, traffic: Any, *, percentage: float, step_start: datetime, as_of: datetime,
                 min_hours: float, policy: cd.DecisionPolicy | None = None) -> StepAnalysis:
    """Analyse the traffic of a ``percentage`` step (``traffic``: a conversation-log frame or a
    prepared :class:`~agent_release.canary.cohort_stats.CohortData` for the step spec)."""
    from agent_release.canary import cohort_stats as cs

    policy = policy or cd.DecisionPolicy()
    sspec = step_spec(spec, percentage, min_hours)
    data = traffic if isinstance(traffic, cs.CohortData) else cs.load(traffic, sspec)
    dec = cd.decide(sspec, data, as_of=as_of, looks_so_far=[], canary_start=step_start, policy=policy)
    early = dec.decision == cd.HOLD and dec.reasons and dec.reasons[0].startswith("too early:")
    if not early:
        return StepAnalysis(percentage, dec.decision, list(dec.reasons), dec)
    parts = [p.strip() for p in dec.reasons[0][len("too early:"):].split(";")]
    if not parts or any(WEEKLY_RULE not in p for p in parts):
        return StepAnalysis(percentage, cd.HOLD, list(dec.reasons), dec)

    # Only the weekly-cycle rule stopped the canary analysis: finish steps 5-7 with its functions.
    t_asof = cs.to_utc_naive(as_of)
    dec.metrics_tested = True
    dec.look_fractions = [1.0]
    pu = cd._per_user(data, t_asof)
    dec.metrics = cd._test_metrics(data, t_asof, sspec, pu, [1.0], policy)
    dec.segments = cd._segments(data, t_asof, sspec, policy, pu)
    passed = [m for m in dec.metrics if m.passed]
    failed = [m for m in dec.metrics if not m.passed]
    flagged = [s for s in dec.segments if s.flagged]
    need = sspec.canary.required_passing
    soak = dec.soak.get("days", 0.0)
    if len(passed) >= need and not flagged:
        dec.decision = cd.EXPAND
        dec.reasons = [
            f"{len(passed)} of {len(dec.metrics)} exit metrics non-inferior (need {need}); no guardrail breach; "
            f"no segment significantly worse ({sum(s.tested for s in dec.segments)} tested); step window "
            f"{soak * 24:.0f} h at {percentage:g}%",
        ] + [m.describe() for m in dec.metrics]
    else:
        reasons = [f"segment significantly worse: {s.reason}" for s in flagged]
        if len(passed) < need:
            reasons.append(f"inconclusive: {len(passed)} of {len(dec.metrics)} exit metrics shown non-inferior "
                           f"(need {need})")
        elif flagged:
            reasons.append(f"totals pass ({len(passed)} of {len(dec.metrics)} exit metrics non-inferior) but "
                           f"{len(flagged)} segment(s) block the next step")
        reasons += [m.describe() for m in failed]
        dec.decision = cd.HOLD
        dec.reasons = reasons
    return StepAnalysis(percentage, dec.decision, list(dec.reasons), dec, weekly_cycle_waived=True)


def information(spec) -> dict[str, Any]:
    """Static description of the step analysis (for the plan document)."""
    c = spec.canary
    return {
        "metrics": [(m.name, m.margin) for m in c.metrics], "alpha": c.alpha,
        "required_passing": c.required_passing, "segments": list(c.segments),
        "min_conversations_per_arm": c.min_conversations_per_arm,
        "looks_per_step": 1, "weekly_cycle": "waived (covered by the canary soak)",
        "expected_share": "floor(step percentage)/100",
    }
