"""Alert thresholds that tighten as the traffic at stake grows.

The spec's guardrails (``canary.error_rate_max``, ``canary.cost_overrun_ratio``,
``canary.safety_incidents_max``) were registered for the canary share. At 50% or 100% the same
thresholds would let a regression hurt ten or twenty times more customers before an alert
fires, so the controller scales them to the **volume at stake** at each step.

Volume at stake
---------------
Measured on the traffic of the step just analysed (data time):

* ``R`` — conversations per hour through the flag's population (both arms);
* ``c`` — the candidate's bad-conversation rate (conversations with an assistant error; the
  unit of the error-rate guardrail); ``b`` — the baseline's (at 100% there is no baseline any
  more: ``b`` is carried over from the last step that had one);
* next step's share ``f = p_next / 100``.

``V = R · f · c`` is the **expected number of bad conversations per hour at the next step** (shown
in every ENTER/HOLD row), and ``X = R · f · max(c − b, 0)`` the part of it in excess of what the
baseline would produce. ``V₀`` is the same volume at the first step of the plan (the canary
share), where the spec's thresholds apply unchanged.

Scaling
-------
``s = clamp( sqrt(V₀ / V), s_min, 1 )``  (``s_min`` = 0.2 by default)

* error-rate alert: ``e = b + (e_max − b) · s``   (the allowed excess over the baseline shrinks);
  the guardrail itself compares the candidate *with the baseline*: the allowance in force is
  ``a = max(e − b, 0) = max(e_max − b, 0) · s`` (see :mod:`agent_release.rollout.guardrails`), and the
  spec's ``e_max`` stays an absolute cap (``error_rate_cap``) that no baseline can raise.
  ``b`` unknown (no step with a baseline arm yet, e.g. the first ENTER): ``b`` is recorded as
  ``None`` — never 0 — and ``e = e_max`` (the guardrail then measures the allowance against the
  window's own baseline arm, or falls back to the absolute rule when there is none).
* cost-overrun alert: ``k = 1 + (k_max − 1) · s``   (cost per resolution, candidate / baseline)
* safety incidents per watch window: ``floor(n_max · s)``   (0 stays 0)

Why the square root: the auto-rollback watch fires when the one-sided 97.5% Wilson *lower*
bound of the candidate's error rate over a watch window exceeds ``e``. Over a window of
``h`` hours the candidate serves ``n = R·f·h`` conversations, so the noise of the rate scales as
``1/sqrt(V)``. Shrinking the allowed excess by ``sqrt(V₀/V)`` keeps the alert at the same number
of standard errors above the baseline at every step — the false-alarm rate stays put — while the
absolute excess harm tolerated per hour, ``R·f·(e − b) ∝ sqrt(V)``, grows only with the square root
of the exposure: 20× the traffic tolerates 4.5× the excess bad conversations per hour, not 20×.
``s_min`` stops the thresholds from shrinking below what a watch window can resolve.

Example (support-bot-2: ``e_max`` 5%, ``k_max`` 1.25, baseline error ≈ 2.3%, same ``R`` and
``c`` at every step): 5% → s=1 (e = 5.0%, k = 1.25); 25% → s=0.45 (3.5%, 1.11);
50% → s=0.32 (3.2%, 1.08); 100% → s=0.22 (2.9%, 1.06).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

FORMULA = ("s = clamp(sqrt(V0 / V), s_min, 1); V = R * f_next * c (bad conversations/hour at the next step); "
           "error alert e = b + (e_max - b) * s; cost alert k = 1 + (k_max - 1) * s; "
           "safety alert n = floor(n_max * s)")


@dataclass(frozen=True)
class VolumeAtStake:
    conversations_per_hour: float  # R
    next_percentage: float  # p_next
    candidate_bad_rate: float  # c
    baseline_bad_rate: float  # b
    bad_per_hour: float  # V = R * f * c
    excess_bad_per_hour: float  # X = R * f * max(c - b, 0)
    reference_bad_per_hour: float  # V0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class AlertThresholds:
    """Guardrail thresholds in force while the flag serves ``percentage``."""

    percentage: float
    scale: float
    error_rate_max: float
    cost_overrun_ratio: float
    safety_incidents_max: int
    baseline_error_rate: float | None  # reference baseline b (None = not known; never assumed 0)
    baseline_cost_per_resolution: float | None
    volume: VolumeAtStake | None = None
    formula: str = FORMULA
    #: the spec's absolute error-rate maximum (canary.error_rate_max): a candidate whose error rate
    #: is shown above it breaches whatever the baseline does (None in rows written before it existed)
    error_rate_cap: float | None = None
    #: the baseline agent version the reference baseline was measured on
    baseline_version: str | None = None

    @property
    def error_rate_allowance(self) -> float | None:
        """Allowed excess of the candidate's error rate over the baseline's: ``max(e - b, 0)``
        (``None`` when the reference baseline ``b`` is not known)."""
        if self.baseline_error_rate is None:
            return None
        return max(0.0, self.error_rate_max - self.baseline_error_rate)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["volume"] = self.volume.to_dict() if self.volume else None
        return d

    @property
    def _cap(self) -> float:
        return self.error_rate_cap if self.error_rate_cap is not None else self.error_rate_max

    @classmethod
    def from_dict(cls, d: dict) -> AlertThresholds:
        vol = d.get("volume")
        return cls(**{**{k: v for k, v in d.items() if k in cls.__dataclass_fields__},
                      "volume": VolumeAtStake(**vol) if vol else None})

    def describe(self) -> str:
        a = self.error_rate_allowance
        err = (f"error rate > baseline + {a:.2%} (alert {self.error_rate_max:.2%} at reference baseline "
               f"{self.baseline_error_rate:.2%}; cap {self._cap:.2%})" if a is not None
               else f"error rate > {self.error_rate_max:.2%} (no reference baseline)")
        return (f"at {self.percentage:g}%: {err}, cost/resolution > "
                f"{self.cost_overrun_ratio:.3f}x baseline, safety incidents > {self.safety_incidents_max} "
                f"(scale {self.scale:.2f})")


def volume_at_stake(conversations_per_hour: float, next_percentage: float, candidate_bad_rate: float,
                    baseline_bad_rate: float, reference_bad_per_hour: float | None = None) -> VolumeAtStake:
    f = next_percentage / 100.0
    v = conversations_per_hour * f * candidate_bad_rate
    x = conversations_per_hour * f * max(candidate_bad_rate - baseline_bad_rate, 0.0)
    return VolumeAtStake(float(conversations_per_hour), float(next_percentage), float(candidate_bad_rate),
                         float(baseline_bad_rate), float(v), float(x),
                         float(reference_bad_per_hour if reference_bad_per_hour is not None else v))


def scale_for(volume: float, reference: float, s_min: float = 0.2) -> float:
    if volume <= 0 or reference <= 0:
        return 1.0
    return float(min(1.0, max(s_min, math.sqrt(reference / volume))))


def scaled_thresholds(spec, percentage: float, *, volume: VolumeAtStake | None, baseline_error_rate: float | None,
                      baseline_cost_per_resolution: float | None = None, s_min: float = 0.2) -> AlertThresholds:
    """The thresholds in force at ``percentage`` given the volume at stake there (``None`` = the
    spec's own thresholds, scale 1). ``baseline_error_rate`` ``None`` = no reference baseline known:
    recorded as such (never taken as 0), and the error alert is the spec's ``e_max``."""
    c = spec.canary
    s = 1.0 if volume is None else scale_for(volume.bad_per_hour, volume.reference_bad_per_hour, s_min)
    b = None if baseline_error_rate is None else float(baseline_error_rate)
    if b is None or c.error_rate_max <= b:
        e = c.error_rate_max
    else:
        e = b + (c.error_rate_max - b) * s
    k = 1.0 + (c.cost_overrun_ratio - 1.0) * s if c.cost_overrun_ratio > 1.0 else c.cost_overrun_ratio
    n = int(math.floor(c.safety_incidents_max * s + 1e-9))
    return AlertThresholds(float(percentage), round(s, 6), round(float(e), 6), round(float(k), 6), n,
                           None if b is None else round(b, 6), baseline_cost_per_resolution, volume,
                           error_rate_cap=float(c.error_rate_max),
                           baseline_version=getattr(getattr(spec, "baseline", None), "version", None))


def spec_thresholds(spec, percentage: float, baseline_error_rate: float | None = None,
                    baseline_cost_per_resolution: float | None = None) -> AlertThresholds:
    """Unscaled (the canary's) thresholds. The reference baseline defaults to *unknown* (``None``),
    not 0: a baseline of 0 would turn every error into excess (issue 14's false rollback at 100%)."""
    return scaled_thresholds(spec, percentage, volume=None, baseline_error_rate=baseline_error_rate,
                             baseline_cost_per_resolution=baseline_cost_per_resolution)
