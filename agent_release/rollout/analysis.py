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
  (soak duration, minimum conversations per arm) still applies;
* segments too small to be judged in the step window are reported "not judged" but do not hold
  the step: the canary's EXPAND required the segment coverage at the canary's share over its
  soak, and every later step has more traffic; a judged segment shown worse still blocks the step.

The step calls the canary's ``decide`` with ``require_weekly_cycle=False``: one implementation of
the statistics and of the decision rule (harm blocks, comparative guardrails on lower confidence
bounds, segments judged only with power, unjudged-traffic limit).
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
            "segments_not_judged": d.segments_not_judged, "metrics_harmed": d.metrics_harmed,
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
    dec = cd.decide(sspec, data, as_of=as_of, looks_so_far=[], canary_start=step_start, policy=policy,
                    require_weekly_cycle=False, require_segment_coverage=False)
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
