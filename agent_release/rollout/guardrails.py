"""Guardrails on recent traffic: error-rate breach, cost overrun, safety incident.

Evaluated by the auto-rollback sensor on every tick (and by the simulated rollout on every watch
window of data time) against the thresholds in force at the flag's current step
(:mod:`agent_release.rollout.thresholds`). A breach pulls the flag.

* **error rate** — breach when the one-sided 97.5% Wilson *lower* bound of the candidate's
  error rate (conversations with an assistant error) over the window exceeds the alert
  threshold, once the candidate served ``min_conversations`` in the window. Using the lower
  bound, not the point estimate, keeps the false-alarm rate of a sensor that looks every few
  minutes low, while a real spike (e.g. +6 points) clears it within one window.
* **cost overrun** — candidate cost per resolution / baseline cost per resolution (same window;
  at 100% the baseline of the last step that had one) above the alert ratio, once the candidate
  has ``min_resolutions`` resolutions (point estimate, as in the canary guardrail).
* **safety incident** — candidate conversations with a safety incident in the window above the
  alert count (the spec's ``safety_incidents_max``, 0 by default: one incident pulls the flag).

Evidence strings carry counts, rates, windows and thresholds — never conversation content.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from agent_release.rollout.thresholds import AlertThresholds
from agent_release.rollout.traffic import WindowSummary

Z_ONE_SIDED = 1.959963984540054  # 97.5% one-sided


def wilson_lower(x: int, n: int, z: float = Z_ONE_SIDED) -> float:
    if n <= 0:
        return 0.0
    p = x / n
    den = 1 + z * z / n
    c = (p + z * z / (2 * n)) / den
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, c - h)


@dataclass(frozen=True)
class GuardrailCheck:
    name: str  # error_rate | cost_overrun | safety_incidents
    evaluated: bool
    breached: bool
    value: float | None
    statistic: float | None  # what is compared with the threshold (lower bound, ratio, count)
    threshold: float
    evidence: str


@dataclass
class GuardrailReport:
    window: WindowSummary
    thresholds: AlertThresholds
    checks: list[GuardrailCheck] = field(default_factory=list)

    @property
    def breaches(self) -> list[GuardrailCheck]:
        return [c for c in self.checks if c.breached]

    @property
    def breached(self) -> bool:
        return bool(self.breaches)

    def reason(self) -> str:
        if not self.breached:
            return "no guardrail breached"
        return "; ".join(f"guardrail {c.name}: {c.evidence}" for c in self.breaches)

    def evidence(self) -> dict:
        return {"window": self.window.to_dict(), "thresholds": self.thresholds.to_dict(),
                "checks": [asdict(c) for c in self.checks]}


def evaluate(window: WindowSummary, thresholds: AlertThresholds, *, min_conversations: int = 200,
             min_resolutions: int = 100, reference_cost_per_resolution: float | None = None) -> GuardrailReport:
    rep = GuardrailReport(window, thresholds)
    c, b = window.candidate, window.baseline
    span = f"{window.start:%Y-%m-%d %H:%M}–{window.end:%H:%M} UTC"
    at = f"at {thresholds.percentage:g}%"

    # ---- error rate
    if c.conversations >= min_conversations:
        lo = wilson_lower(c.errors, c.conversations)
        base = f"baseline {b.error_rate:.2%} (n={b.conversations:,})" if b.conversations else (
            f"reference baseline {thresholds.baseline_error_rate:.2%}")
        rep.checks.append(GuardrailCheck(
            "error_rate", True, lo > thresholds.error_rate_max, c.error_rate, lo, thresholds.error_rate_max,
            f"candidate error rate {c.error_rate:.2%} (97.5% lower bound {lo:.2%}, {c.errors:,}/{c.conversations:,} "
            f"conversations, {span}) vs alert {thresholds.error_rate_max:.2%} {at}; {base}"))
    else:
        rep.checks.append(GuardrailCheck(
            "error_rate", False, False, c.error_rate if c.conversations else None, None, thresholds.error_rate_max,
            f"not evaluated: {c.conversations} candidate conversations < {min_conversations} ({span})"))

    # ---- cost overrun
    ref = b.cost_per_resolution if b.resolved >= min_resolutions else None
    ref_label = "baseline (same window)"
    if ref is None:
        ref = reference_cost_per_resolution or thresholds.baseline_cost_per_resolution
        ref_label = "reference baseline (last step with one)"
    cpr = c.cost_per_resolution
    if c.resolved >= min_resolutions and cpr is not None and ref:
        ratio = cpr / ref
        rep.checks.append(GuardrailCheck(
            "cost_overrun", True, ratio > thresholds.cost_overrun_ratio, ratio, ratio, thresholds.cost_overrun_ratio,
            f"candidate cost per resolution ${cpr:.5f} vs {ref_label} ${ref:.5f} = {ratio:.3f}x "
            f"({c.resolved:,} resolutions, {span}) vs alert {thresholds.cost_overrun_ratio:.3f}x {at}"))
    else:
        rep.checks.append(GuardrailCheck(
            "cost_overrun", False, False, None, None, thresholds.cost_overrun_ratio,
            f"not evaluated: {c.resolved} candidate resolutions (< {min_resolutions}) or no baseline reference"))

    # ---- safety incidents
    n = c.safety_incidents
    rep.checks.append(GuardrailCheck(
        "safety_incidents", c.conversations > 0, n > thresholds.safety_incidents_max, float(n), float(n),
        float(thresholds.safety_incidents_max),
        f"{n} safety incident(s) in {c.conversations:,} candidate conversations ({span}) vs alert > "
        f"{thresholds.safety_incidents_max} {at}; baseline {b.safety_incidents} in {b.conversations:,}"))
    return rep
