"""Guardrails on recent traffic: error-rate breach, cost overrun, safety incident.

Evaluated by the auto-rollback sensor on every tick (and by the simulated rollout on every watch
window of data time) against the thresholds **in force at the flag's current step** (recorded in
the ENTER row of the step; :mod:`agent_release.rollout.thresholds`). A breach pulls the flag.
All bounds are one-sided at 97.5% (z = 1.96), so a sensor that looks every few minutes rarely
fires on noise while a real regression clears the bound within one window.

* **error rate** — relative to the baseline, with an absolute cap. Let ``e`` be the alert in
  force, ``b_ref`` the reference baseline it was scaled around (the baseline measured at the last
  step that had one; ``None`` when not known — never 0), ``a = max(e − b_ref, 0)`` the **allowance**
  (the excess over the baseline tolerated at this step; with ``b_ref`` unknown, ``a = e − b̂`` of
  the window's own baseline arm) and ``cap`` the spec's ``canary.error_rate_max``.
  Once the candidate served ``min_conversations`` in the window:

  1. *window baseline* — the same window's baseline arm has ``min_conversations`` too: breach when
     the Newcombe (Wilson hybrid) lower bound of ``candidate − baseline`` exceeds ``a``;
  2. *reference baseline* — no (or too small a) baseline arm, e.g. at 100%: breach when the Wilson
     lower bound of the candidate's rate minus ``b_ref`` exceeds ``a``;
  3. *absolute* — no baseline arm and no reference known: breach when the Wilson lower bound of the
     candidate's rate exceeds ``cap`` (the spec's own maximum, unscaled);
  4. and always: the Wilson lower bound of the candidate's rate above ``cap`` breaches — a bad
     baseline never raises the candidate's allowance beyond the spec's absolute maximum.

* **cost overrun** — the lower bound of the ratio of costs per resolution (candidate / baseline)
  above the alert ratio in force. Cost per resolution of an arm is ``Σcost / Σresolved`` over its
  conversations; the variance of its log is the delta-method variance of a ratio of means
  (per-conversation cost and resolved indicator, with their covariance); the two arms add. At 100%
  (no baseline arm with ``min_resolutions`` resolutions) the reference cost per resolution of the
  last step with a baseline is a known constant and only the candidate's variance counts. Needs
  ``min_resolutions`` candidate resolutions.
* **safety incident** — candidate conversations with a safety incident in the window above the
  alert count (the spec's ``safety_incidents_max``, 0 by default: one incident pulls the flag).

A check that lacks data is **not evaluated** (``evaluated=False``) and is reported as such —
never as "no breach": the report's :attr:`GuardrailReport.status` is "not evaluated" as soon as any
check is (a breach of an evaluated check is still "breach"). Unknown cost (conversations whose
assistant turns carry no ``cost_usd``, in the candidate arm or the baseline arm used as reference)
is never $0: the cost check is then "not evaluated (cost unknown: N conversations)".

Evidence strings carry counts, rates, windows and thresholds — never conversation content.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from agent_release.rollout.thresholds import AlertThresholds
from agent_release.rollout.traffic import ArmSummary, WindowSummary

Z_ONE_SIDED = 1.959963984540054  # 97.5% one-sided


def _wilson(x: int, n: int, z: float) -> tuple[float, float]:
    from agent_release.stats import wilson_interval

    lo, hi = wilson_interval(x, n, z)
    return max(0.0, lo), min(1.0, hi)


def wilson_lower(x: int, n: int, z: float = Z_ONE_SIDED) -> float:
    return 0.0 if n <= 0 else _wilson(x, n, z)[0]


def wilson_upper(x: int, n: int, z: float = Z_ONE_SIDED) -> float:
    return 1.0 if n <= 0 else _wilson(x, n, z)[1]


def diff_lower(x1: int, n1: int, x2: int, n2: int, z: float = Z_ONE_SIDED) -> float:
    """One-sided lower confidence bound of ``p1 − p2`` (Newcombe's hybrid score method 10)."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u2 = wilson_lower(x1, n1, z), wilson_upper(x2, n2, z)
    return (p1 - p2) - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)


def log_cpr_variance(a: ArmSummary) -> float | None:
    """Delta-method variance of ``log(Σcost / Σresolved)`` from the per-conversation moments."""
    n = a.conversations
    if n < 2 or not a.resolved or a.cost_usd <= 0 or a.cost_sq is None or a.cost_resolved is None:
        return None
    mx, my = a.cost_usd / n, a.resolved / n
    sxx = max(0.0, (a.cost_sq - n * mx * mx) / (n - 1))
    syy = my * (1 - my) * n / (n - 1)
    sxy = (a.cost_resolved - n * mx * my) / (n - 1)
    v = (sxx / mx ** 2 + syy / my ** 2 - 2 * sxy / (mx * my)) / n
    return max(v, 0.0)


@dataclass(frozen=True)
class GuardrailCheck:
    name: str  # error_rate | cost_overrun | safety_incidents
    evaluated: bool
    breached: bool
    value: float | None  # the point estimate (rate, ratio, count)
    statistic: float | None  # what is compared with ``threshold`` (the deciding rule's lower bound / count)
    threshold: float
    evidence: str
    rule: str = ""  # which rule decided (error rate: window_baseline | reference_baseline | absolute | cap)
    detail: dict = field(default_factory=dict)


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

    @property
    def not_evaluated(self) -> list[GuardrailCheck]:
        return [c for c in self.checks if not c.evaluated]

    @property
    def status(self) -> str:
        """``breach`` (any evaluated check breached) | ``not evaluated`` (any guardrail — error rate,
        cost, safety — lacked data: no verdict, never "no breach") | ``no breach``."""
        if self.breached:
            return "breach"
        if self.not_evaluated:
            return "not evaluated"
        return "no breach"

    def reason(self) -> str:
        if self.breached:
            return "; ".join(f"guardrail {c.name}: {c.evidence}" for c in self.breaches)
        if self.status == "not evaluated":
            return "guardrails not evaluated: " + "; ".join(f"{c.name} {c.evidence}" for c in self.not_evaluated)
        return "no guardrail breached"

    def evidence(self) -> dict:
        return {"window": self.window.to_dict(), "thresholds": self.thresholds.to_dict(), "status": self.status,
                "checks": [asdict(c) for c in self.checks]}


def _error_check(c: ArmSummary, b: ArmSummary, thr: AlertThresholds, min_conversations: int,
                 span: str, at: str) -> GuardrailCheck:
    cap = thr.error_rate_cap if thr.error_rate_cap is not None else thr.error_rate_max
    if c.conversations < min_conversations:
        return GuardrailCheck(
            "error_rate", False, False, c.error_rate if c.conversations else None, None, cap,
            f"not evaluated: {c.conversations} candidate conversations < {min_conversations} ({span})",
            rule="not_evaluated")
    lo_c = wilson_lower(c.errors, c.conversations)
    b_ref = thr.baseline_error_rate
    detail: dict = {"candidate_rate": c.error_rate, "candidate_lower": lo_c, "cap": cap,
                    "alert_in_force": thr.error_rate_max, "reference_baseline": b_ref}
    if b.conversations >= min_conversations:
        rule = "window_baseline"
        excess_lo = diff_lower(c.errors, c.conversations, b.errors, b.conversations)
        allowance = thr.error_rate_allowance
        if allowance is None:  # no reference: the spec's maximum measured from this window's baseline
            allowance = max(0.0, thr.error_rate_max - b.error_rate)
        base = (f"baseline {b.error_rate:.2%} ({b.errors:,}/{b.conversations:,}, same window): excess "
                f"{c.error_rate - b.error_rate:+.2%}, 97.5% lower bound {excess_lo:+.2%} vs allowance {allowance:+.2%}")
    elif b_ref is not None:
        rule = "reference_baseline"
        excess_lo = lo_c - b_ref
        allowance = thr.error_rate_allowance
        base = (f"no baseline arm in the window (n={b.conversations:,}): reference baseline {b_ref:.2%} "
                f"(last step with one): excess lower bound {excess_lo:+.2%} vs allowance {allowance:+.2%}")
    else:
        rule, excess_lo, allowance = "absolute", None, None
        base = (f"no baseline arm in the window (n={b.conversations:,}) and no reference baseline known: "
                f"absolute rule, lower bound vs the spec's maximum {cap:.2%}")
    detail.update(rule=rule, excess_lower=excess_lo, allowance=allowance)
    rel_breach = excess_lo is not None and excess_lo > allowance
    cap_breach = lo_c > cap
    if rel_breach:
        decided, stat, th = rule, excess_lo, allowance
    elif cap_breach or excess_lo is None:
        decided, stat, th = ("cap" if excess_lo is not None else "absolute"), lo_c, cap
    else:
        decided, stat, th = rule, excess_lo, allowance
    capped = (f"; candidate lower bound {lo_c:.2%} above the spec's absolute maximum {cap:.2%}"
              if cap_breach and excess_lo is not None else "")
    return GuardrailCheck(
        "error_rate", True, rel_breach or cap_breach, c.error_rate, stat, th,
        f"candidate error rate {c.error_rate:.2%} (97.5% lower bound {lo_c:.2%}, {c.errors:,}/{c.conversations:,} "
        f"conversations, {span}) {at}; {base}{capped}", rule=decided, detail=detail)


def _cost_check(c: ArmSummary, b: ArmSummary, thr: AlertThresholds, min_resolutions: int,
                reference_cost_per_resolution: float | None, span: str, at: str) -> GuardrailCheck:
    k = thr.cost_overrun_ratio
    if c.cost_unknown or (b.resolved >= min_resolutions and b.cost_unknown):
        n = c.cost_unknown + (b.cost_unknown if b.resolved >= min_resolutions else 0)
        return GuardrailCheck("cost_overrun", False, False, None, None, k,
                              f"not evaluated (cost unknown: {n} conversations — {c.cost_unknown} candidate, "
                              f"{b.cost_unknown} baseline — without cost_usd; unknown is never $0) ({span})",
                              rule="not_evaluated", detail={"cost_unknown_candidate": c.cost_unknown,
                                                            "cost_unknown_baseline": b.cost_unknown})
    same = b.resolved >= min_resolutions and b.cost_per_resolution
    ref = b.cost_per_resolution if same else (reference_cost_per_resolution or thr.baseline_cost_per_resolution)
    cpr = c.cost_per_resolution
    if c.resolved < min_resolutions or cpr is None or not ref:
        return GuardrailCheck("cost_overrun", False, False, None, None, k,
                              f"not evaluated: {c.resolved} candidate resolutions (< {min_resolutions}) "
                              "or no baseline reference", rule="not_evaluated")
    ratio = cpr / ref
    vc = log_cpr_variance(c)
    vb = log_cpr_variance(b) if same else 0.0
    if vc is None or vb is None:
        return GuardrailCheck("cost_overrun", False, False, ratio, None, k,
                              f"not evaluated: no per-conversation cost moments for the interval (ratio {ratio:.3f}x)",
                              rule="not_evaluated")
    se = math.sqrt(vc + vb)
    lo = math.exp(math.log(ratio) - Z_ONE_SIDED * se) if ratio > 0 else 0.0
    label = "baseline (same window)" if same else "reference baseline (last step with one; taken as known)"
    return GuardrailCheck(
        "cost_overrun", True, lo > k, ratio, lo, k,
        f"candidate cost per resolution ${cpr:.5f} vs {label} ${ref:.5f} = {ratio:.3f}x (97.5% lower bound "
        f"{lo:.3f}x, {c.resolved:,} resolutions, {span}) vs alert {k:.3f}x {at}",
        rule="window_baseline" if same else "reference_baseline",
        detail={"ratio": ratio, "lower": lo, "se_log": se, "reference": ref})


def evaluate(window: WindowSummary, thresholds: AlertThresholds, *, min_conversations: int = 200,
             min_resolutions: int = 100, reference_cost_per_resolution: float | None = None) -> GuardrailReport:
    rep = GuardrailReport(window, thresholds)
    c, b = window.candidate, window.baseline
    span = f"{window.start:%Y-%m-%d %H:%M}–{window.end:%H:%M} UTC"
    at = f"at {thresholds.percentage:g}%"
    rep.checks.append(_error_check(c, b, thresholds, min_conversations, span, at))
    rep.checks.append(_cost_check(c, b, thresholds, min_resolutions, reference_cost_per_resolution, span, at))
    n = c.safety_incidents
    rep.checks.append(GuardrailCheck(
        "safety_incidents", c.conversations > 0, n > thresholds.safety_incidents_max, float(n), float(n),
        float(thresholds.safety_incidents_max),
        f"{n} safety incident(s) in {c.conversations:,} candidate conversations ({span}) vs alert > "
        f"{thresholds.safety_incidents_max} {at}; baseline {b.safety_incidents} in {b.conversations:,}",
        rule="count"))
    return rep
