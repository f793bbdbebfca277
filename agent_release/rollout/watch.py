"""One tick of each live watch (plain logic; the Dagster sensors in ``defs/rollout`` call these).

* :func:`guardrail_tick` — auto-rollback: guardrails on the last ``window_hours`` of live traffic
  against the thresholds **in force** (those recorded in the ENTER row of the current step — never
  the spec's unscaled canary thresholds when a step's own are known); a breach pulls the flag and
  records why, with the evidence. Idempotent: when the flag is already off there is nothing to
  watch and nothing is written. A window with too few conversations is reported "not evaluated",
  never "no breach". **Staleness**: while the flag is > 0, a live feed whose newest conversation is
  older than the maximum feed lag (``AGENT_RELEASE_FEED_MAX_LAG_MINUTES``, default 30) — measured on
  the **candidate arm** (the flag is > 0: the candidate must be logging; a baseline still logging does
  not make the feed fresh) — raises a
  staleness alert and records a HOLD ("live feed stalled: …"; one row per stall, keyed by the last
  conversation) so the controller enters no further step; the guardrails still run on what data
  there is (a breach still pulls the flag). The staleness clock is the wall clock for a real live
  source; the embedded simulation writes a whole step at once in data time, so the sensor does not
  judge its freshness (the controller checks each step's coverage itself).
* :func:`model_pin_tick` — the model ids live traffic reports vs the pinned ones; a change
  freezes the rollout and opens a new release (once).
* :func:`readiness_tick` — rollback readiness, continuously once the flag is at 50% or more.

Live traffic: the latest step's traffic in ``rollout.live_conversations`` (the embedded
simulation writes it), or a file / folder of conversation logs (``AGENT_RELEASE_LIVE_SOURCE``,
read through the intake contract). The data clock is the traffic's, not the wall clock.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, replace
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
    action: str  # none | not_evaluated | stale | skip | repaired | rollback | freeze | readiness_failed | readiness_ok
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


MAX_WINDOW_FACTOR = 4  # a window too small to judge is widened back up to 4x its length


def judged_window(facts: pl.DataFrame, start: datetime, end: datetime, floor: datetime | None,
                  thr: AlertThresholds, *, min_conversations: int, reference_cost_per_resolution: float | None,
                  max_factor: int = MAX_WINDOW_FACTOR) -> tuple[tr.WindowSummary, guardrails.GuardrailReport]:
    """Guardrails on ``[start, end)``; when the window has too few candidate conversations to judge
    (e.g. a night at 5%), it is widened back (2x, 3x … ``max_factor`` x its length, never before
    ``floor``, the step's start) until it can be judged — so every stretch of data time gets a
    verdict where the data allow one, and is reported "not evaluated" where it does not."""
    hours = (end - start).total_seconds() / 3600.0
    w = tr.summarize(facts, start, end)
    rep = guardrails.evaluate(w, thr, min_conversations=min_conversations,
                              reference_cost_per_resolution=reference_cost_per_resolution)
    k = 2
    while rep.status == "not evaluated" and k <= max_factor:
        a = end - timedelta(hours=hours * k)
        if floor is not None:
            a = max(a, _utc(floor))
        if a >= w.start:
            break
        w = tr.summarize(facts, a, end)
        rep = guardrails.evaluate(w, thr, min_conversations=min_conversations,
                                  reference_cost_per_resolution=reference_cost_per_resolution)
        k += 1
    return w, rep


DEFAULT_FEED_MAX_LAG_MINUTES = 30.0


def feed_max_lag_minutes() -> float:
    """Maximum age of the newest live conversation before the feed counts as stalled
    (``AGENT_RELEASE_FEED_MAX_LAG_MINUTES``, default 30)."""
    v = os.environ.get("AGENT_RELEASE_FEED_MAX_LAG_MINUTES", "")
    return float(v) if v.strip() else DEFAULT_FEED_MAX_LAG_MINUTES


def thresholds_in_force(spec, state: store.RolloutState, pct: float, window: tr.WindowSummary,
                        s_min: float = 0.2, lake=None, min_conversations: int = 200) -> AlertThresholds:
    """The thresholds the controller recorded when it entered the step (the spec's absolute cap
    filled in for rows written before it was recorded). When none are recorded for ``pct`` (the
    flag was set outside the controller, or the spec changed): the same formula with V0 at the
    canary share on this window, around the window's own baseline when it has one, else the
    release's recorded reference baseline, else *unknown* (absolute rule) — never 0."""
    thr = state.thresholds()
    if thr is not None and thr.percentage == pct:
        return thr if thr.error_rate_cap is not None else replace(thr, error_rate_cap=spec.canary.error_rate_max)
    f0 = plan_steps(spec)[0].percentage
    b: float | None = None
    ref_cpr = None
    if window.baseline.conversations >= min_conversations:
        b, ref_cpr = window.baseline.error_rate, window.baseline.cost_per_resolution
    elif lake is not None:
        b, ref_cpr, _ = store.reference_baseline(lake, spec.release_id, spec.spec_hash, spec.baseline.version)
    c = window.candidate.error_rate
    r = window.conversations_per_hour
    vol = volume_at_stake(r, pct, c, c if b is None else b, reference_bad_per_hour=r * f0 / 100.0 * c)
    return scaled_thresholds(spec, pct, volume=vol if c > 0 else None, baseline_error_rate=b,
                             baseline_cost_per_resolution=ref_cpr, s_min=s_min)


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def guardrail_tick(spec, backend: FlagBackend, lake, *, actor: str, window_hours: float = 6.0,
                   source: str = "synthetic", min_conversations: int = 200, now: datetime | None = None,
                   max_feed_lag_minutes: float | None = None) -> TickResult:
    """``now``: the staleness clock (``None`` = the wall clock for a real source; the simulation's
    feed is not judged, see the module doc)."""
    from agent_release.rollout import journal

    rid = spec.release_id
    flag = flag_name(spec)
    repaired = journal.recover(backend, lake, flag, actor=actor)  # a crashed flag change is finished first
    pct = backend.percentage(flag)
    if pct <= 0:
        return TickResult(rid, "repaired" if repaired else "skip",
                          f"{rid}: flag {flag} is off; nothing to watch"
                          + (f" (journal: {', '.join(r['outcome'] for r in repaired)})" if repaired else ""),
                          {"repaired": repaired})
    max_lag = feed_max_lag_minutes() if max_feed_lag_minutes is None else float(max_feed_lag_minutes)
    if now is None and source != "synthetic":
        now = datetime.now(UTC)
    frame = recent_traffic(spec, lake, source)
    state = store.rollout_state(lake, rid, spec.spec_hash)
    if frame is None or frame.height == 0:
        if now is not None and state.status in ("ACTIVE", "HELD"):
            return _stale(spec, backend, lake, actor, pct, None, now, max_lag, state, None)
        return TickResult(rid, "none", f"{rid}: no live traffic yet (guardrails not evaluated)")
    facts, w = _window(spec, frame, window_hours, state.entered_at)
    thr = thresholds_in_force(spec, state, pct, w, lake=lake, min_conversations=min_conversations)
    w, rep = judged_window(facts, w.start, w.end, state.entered_at, thr, min_conversations=min_conversations,
                           reference_cost_per_resolution=thr.baseline_cost_per_resolution)
    if rep.breached:
        res = actions.rollback(spec, backend, lake, actor=actor,
                               reason=f"auto-rollback at {pct:g}%: {rep.reason()}", evidence=rep.evidence(),
                               data_time=w.end, skip_if_off=True)
        return TickResult(rid, "rollback" if res.changed else "skip", res.message + f" — {rep.reason()}",
                          {"evidence": rep.evidence(), "decision": res.decision})
    # staleness on the candidate arm: with the flag > 0 the candidate must be logging — a baseline
    # that keeps logging must not make a candidate feed that stopped look fresh
    last = tr.last_conversation(facts.filter(pl.col("arm") == "candidate"))
    if now is not None and (last is None or (_utc(now) - last) > timedelta(minutes=max_lag)):
        return _stale(spec, backend, lake, actor, pct, last, _utc(now), max_lag, state, rep)
    if rep.status == "not evaluated":
        return TickResult(rid, "not_evaluated", f"{rid} at {pct:g}%: NOT EVALUATED — {rep.reason()} "
                          f"({thr.describe()})", {"evidence": rep.evidence()})
    return TickResult(rid, "none", f"{rid} at {pct:g}%: no breach ({thr.describe()})",
                      {"evidence": rep.evidence()})


def _stale(spec, backend, lake, actor: str, pct: float, last: datetime | None, now: datetime, max_lag: float,
           state: store.RolloutState, rep) -> TickResult:
    rid = spec.release_id
    if last is None:
        reason = f"live feed stalled: no live candidate conversation at all while the flag is at {pct:g}%"
    else:
        lag = (now - last).total_seconds() / 60.0
        reason = (f"live feed stalled: last conversation at {last:%Y-%m-%d %H:%M} UTC (candidate arm), lag "
                  f"{lag:.0f} min > "
                  f"{max_lag:g} min; the rollout is held at {pct:g}% (guardrails cannot see current traffic)")
    did = hashlib.sha256(f"{rid}|{spec.spec_hash}|feed-stalled|{last}".encode()).hexdigest()[:24]
    thr = state.thresholds()
    evidence = {"last_conversation": last.isoformat() if last else None, "now": now.isoformat(),
                "max_lag_minutes": max_lag, "guardrails": rep.evidence() if rep is not None else None}
    row = actions.hold(spec, backend, lake, reason=reason, actor=actor, kind="feed_stalled", decision_id=did,
                       evidence=evidence, data_time=now, thresholds=thr.to_dict() if thr else None)
    return TickResult(rid, "stale", f"{rid}: STALE — {reason}",
                      {"evidence": evidence, "decision": row, "hold_recorded": row is not None})


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
