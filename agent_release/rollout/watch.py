"""One tick of each live watch (plain logic; the Dagster sensors in ``defs/rollout`` call these).

* :func:`guardrail_tick` — auto-rollback: guardrails on the last ``window_hours`` of live traffic
  against the thresholds in force; a breach pulls the flag and records why, with the evidence.
  Idempotent: when the flag is already off there is nothing to watch and nothing is written.
* :func:`model_pin_tick` — the model ids live traffic reports vs the pinned ones; a change
  freezes the rollout and opens a new release (once).
* :func:`readiness_tick` — rollback readiness, continuously once the flag is at 50% or more.

Live traffic: the latest step's traffic in ``rollout.live_conversations`` (the embedded
simulation writes it), or a file / folder of conversation logs (``AGENT_RELEASE_LIVE_SOURCE``,
read through the intake contract). The data clock is the traffic's, not the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import polars as pl

from agent_release.flags import FlagBackend, flag_name
from agent_release.rollout import actions, guardrails, readiness, store
from agent_release.rollout import traffic as tr
from agent_release.rollout.plan import plan_steps
from agent_release.rollout.thresholds import AlertThresholds, scaled_thresholds, volume_at_stake


@dataclass
class TickResult:
    release_id: str
    action: str  # none | skip | rollback | freeze | readiness_failed | readiness_ok
    message: str
    details: dict = field(default_factory=dict)


def recent_traffic(spec, lake, source: str = "synthetic") -> pl.DataFrame | None:
    if source == "synthetic":
        return tr.latest_step_traffic(lake, spec.release_id)[1]
    from agent_release.intake import read_source

    frame = read_source(source).valid
    return frame.filter(pl.col("agent_version").is_in([spec.candidate.version, spec.baseline.version]))


def _window(spec, frame: pl.DataFrame, window_hours: float, since: datetime | None):
    facts = tr.facts(frame, spec)
    end = tr.data_clock(frame)
    start = end - timedelta(hours=window_hours)
    if since is not None:
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        start = max(start, since)
    return facts, tr.summarize(facts, start, end)


def thresholds_in_force(spec, state: store.RolloutState, pct: float, window: tr.WindowSummary,
                        s_min: float = 0.2) -> AlertThresholds:
    """The thresholds the controller recorded when it entered the step; when the flag was set
    outside the controller, the same formula with V0 at the canary share on this window."""
    thr = state.thresholds()
    if thr is not None and thr.percentage == pct:
        return thr
    f0 = plan_steps(spec)[0].percentage
    b = window.baseline.error_rate if window.baseline.conversations else 0.0
    c = window.candidate.error_rate
    r = window.conversations_per_hour
    vol = volume_at_stake(r, pct, c, b, reference_bad_per_hour=r * f0 / 100.0 * c)
    return scaled_thresholds(spec, pct, volume=vol if c > 0 else None, baseline_error_rate=b,
                             baseline_cost_per_resolution=window.baseline.cost_per_resolution, s_min=s_min)


def guardrail_tick(spec, backend: FlagBackend, lake, *, actor: str, window_hours: float = 6.0,
                   source: str = "synthetic", min_conversations: int = 200) -> TickResult:
    rid = spec.release_id
    flag = flag_name(spec)
    pct = backend.percentage(flag)
    if pct <= 0:
        return TickResult(rid, "skip", f"{rid}: flag {flag} is off; nothing to watch")
    frame = recent_traffic(spec, lake, source)
    if frame is None or frame.height == 0:
        return TickResult(rid, "none", f"{rid}: no live traffic yet")
    state = store.rollout_state(lake, rid, spec.spec_hash)
    facts, w = _window(spec, frame, window_hours, state.entered_at)
    thr = thresholds_in_force(spec, state, pct, w)
    ref = thr.baseline_cost_per_resolution
    rep = guardrails.evaluate(w, thr, min_conversations=min_conversations, reference_cost_per_resolution=ref)
    if not rep.breached:
        return TickResult(rid, "none", f"{rid} at {pct:g}%: no breach ({thr.describe()})",
                          {"evidence": rep.evidence()})
    res = actions.rollback(spec, backend, lake, actor=actor, reason=f"auto-rollback at {pct:g}%: {rep.reason()}",
                           evidence=rep.evidence(), data_time=w.end, skip_if_off=True)
    return TickResult(rid, "rollback" if res.changed else "skip", res.message + f" — {rep.reason()}",
                      {"evidence": rep.evidence(), "decision": res.decision})


def model_pin_tick(spec, backend: FlagBackend, lake, *, actor: str, window_hours: float = 6.0,
                   source: str = "synthetic", releases_dir=None) -> TickResult:
    rid = spec.release_id
    state = store.rollout_state(lake, rid, spec.spec_hash)
    if state.status in ("FROZEN", "ROLLED_BACK", "NOT_STARTED"):
        return TickResult(rid, "skip", f"{rid}: rollout {state.status}")
    frame = recent_traffic(spec, lake, source)
    if frame is None or frame.height == 0:
        return TickResult(rid, "none", f"{rid}: no live traffic yet")
    _, w = _window(spec, frame, window_hours, state.entered_at)
    drifts = actions.model_drift(spec, w.models)
    if not drifts:
        return TickResult(rid, "none", f"{rid}: models as pinned")
    row = actions.freeze(spec, backend, lake, drifts, actor=actor, evidence={"window": w.to_dict()},
                         data_time=w.end, releases_dir=releases_dir)
    if row is None:
        return TickResult(rid, "skip", f"{rid}: already frozen")
    return TickResult(rid, "freeze", row["reason"], {"decision": row, "new_release_id": row["new_release_id"]})


def readiness_tick(spec, backend: FlagBackend, lake, *, actor: str, baseline_url: str | None = None,
                   min_percentage: float = 50.0) -> TickResult:
    rid = spec.release_id
    flag = flag_name(spec)
    pct = backend.percentage(flag)
    if pct < min_percentage:
        return TickResult(rid, "skip", f"{rid}: flag at {pct:g}% (< {min_percentage:g}%): not watched continuously")
    with readiness.BaselineProbe(spec, url=baseline_url) as probe:
        res = readiness.check(spec, backend, flag, baseline_probe=probe, purpose="continuous")
    store.append_readiness(lake, rid, [res.to_row(rid, flag, actor)])
    return TickResult(rid, "readiness_ok" if res.ok else "readiness_failed", f"{rid} at {pct:g}%: {res.reason()}",
                      {"readiness": res.to_dict()})
