"""The rollout controller: walk the plan step by step in data time, record every decision.

:meth:`RolloutController.play` resumes the release's rollout from its recorded state
(``rollout.decisions``, current spec hash) and advances it as far as the evidence allows:

1. **Start** (no decision yet): set the flag to the canary share — ENTER step 0.
2. **Each step** (flag at ``p``): the step's live traffic is simulated with the percentage *read
   from the flag backend* (``p``, or 0 if someone pulled the flag) for ``step_hours`` of data
   time and written to ``rollout.live_conversations``. Every ``watch_hours`` window is watched
   as the sensors would: model versions as pinned (else FREEZE + new release), guardrails
   against the thresholds in force (else ROLLBACK, flag pulled), and — past 50% — rollback
   readiness (recorded in ``rollout.readiness``).
3. **End of a step below 100%**: the step analysis (:mod:`~agent_release.rollout.analysis`);
   ROLLBACK on a guardrail, HOLD when it does not pass (the play stops there; the flag stays),
   else the readiness check before the step (HOLD if it fails), the volume at stake at the next
   step and the thresholds scaled to it, then the flag is set and the ENTER row written.
4. **End of the 100% step** without a breach: COMPLETE.

Fail closed on missing evidence: a step whose watch windows were not all evaluated (a window with
fewer than ``min_watch_conversations`` candidate conversations has no verdict — it is never read
as "no breach") or whose traffic stops more than the maximum feed lag before the step's end
(``AGENT_RELEASE_FEED_MAX_LAG_MINUTES``, default 30) is HELD, neither ENTERed nor COMPLETEd. A
step entered under another input manifest than the current one (price table, golden set,
agent profile, decision code …; see :mod:`agent_release.manifest`) is HELD with "inputs changed
since the step was entered" — the rollout is not restarted and the flag is not touched. Inputs
that cannot be verified (the manifest cannot be computed now, or none was recorded at the step's
ENTER) are HELD too ("inputs cannot be verified"): never ENTER or COMPLETE; a rollback needs no
manifest (its row then carries none). Every other row carries the input-manifest hash.

Terminal states (COMPLETE, ROLLED_BACK, FROZEN) are never resumed. Controller decisions have
deterministic ids (release, spec hash, run config, step, decision, data time), so re-running a
play after a crash or on a finished rollout neither duplicates nor loses a row.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from agent_release.flags import FlagBackend, flag_name
from agent_release.rollout import actions, guardrails, journal, readiness, specs, store
from agent_release.rollout import traffic as tr
from agent_release.rollout.plan import plan_steps
from agent_release.rollout.thresholds import (
    AlertThresholds,
    scaled_thresholds,
    spec_thresholds,
    volume_at_stake,
)
from agent_release.rollout.watch import judged_window

log = logging.getLogger(__name__)

WATCH = "rollout.watch"
DEFAULT_START = datetime(2026, 11, 16, tzinfo=UTC)  # the day the 14-day canary of the examples ends


@dataclass(frozen=True)
class RolloutConfig:
    """How the embedded simulation plays the rollout (the *what* is in the release spec)."""

    scenario: str = "noninferior"
    rate_per_hour: float = 1500.0
    seed: int = 11
    step_hours: float | None = None  # None: the spec's min_hours_between_steps
    watch_hours: float = 6.0
    injections: tuple[tr.Injection, ...] = ()
    start: datetime = DEFAULT_START
    s_min: float = 0.2
    n_boot: int = 400
    min_watch_conversations: int = 200
    until_percentage: float | None = None  # stop right after entering this share (tests)

    def hours(self, spec) -> float:
        h = float(self.step_hours or spec.rollout.min_hours_between_steps)
        if h < spec.rollout.min_hours_between_steps:
            raise ValueError(f"step_hours {h:g} < the spec's min_hours_between_steps "
                             f"{spec.rollout.min_hours_between_steps:g}")
        return h

    def config_hash(self) -> str:
        d = asdict(self)
        d.pop("until_percentage")
        d["injections"] = [asdict(i) for i in self.injections]
        return hashlib.sha256(json.dumps(d, default=str, sort_keys=True).encode()).hexdigest()[:12]

    def describe(self) -> dict:
        return {"scenario": self.scenario, "rate_per_hour": self.rate_per_hour, "seed": self.seed,
                "step_hours": self.step_hours, "watch_hours": self.watch_hours,
                "injections": [f"{i.kind}{':' + i.value if i.value else ''}@{i.percentage:g}" for i in self.injections],
                "start": self.start.isoformat(), "s_min": self.s_min}


@dataclass
class PlayResult:
    release_id: str
    status: str
    percentage: float
    decisions: pl.DataFrame  # all decisions of this spec hash
    added: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    message: str = ""

    def timeline(self) -> list[tuple]:
        out = []
        for r in self.decisions.sort("seq").iter_rows(named=True):
            out.append((r["data_time"], r["decision"], r["from_percentage"], r["to_percentage"],
                        r["volume_at_stake_bad_per_hour"], r["error_rate_alert"], r["cost_overrun_alert"],
                        r["actor"], r["reason"]))
        return out

    def render(self) -> str:
        lines = []
        for t, dec, a, b, vol, err, cost, _actor, reason in self.timeline():
            when = t.strftime("%Y-%m-%d %H:%M") if t else "—"
            move = f"{(a or 0):g}%→{(b or 0):g}%"
            extra = ""
            if vol is not None:
                extra += f" | at stake {vol:.1f} bad conv/h"
            if err is not None:
                extra += f" | alerts err>{err:.2%} cost>{cost:.3f}x"
            lines.append(f"{when}  {dec:<8} {move:<10}{extra}\n      {reason[:300]}")
        return "\n".join(lines)


def _did(*parts: Any) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:24]


class RolloutController:
    def __init__(self, spec, backend: FlagBackend, lake, config: RolloutConfig | None = None, *,
                 actor: str = "controller:rollout/decisions", baseline_url: str | None = None,
                 baseline_probe: Callable[[], readiness.ProbeOutcome] | None = None,
                 context: dict | None = None):
        self.spec = spec
        self.backend = backend
        self.lake = lake
        self.config = config or RolloutConfig()
        self.actor = actor
        self.baseline_url = baseline_url
        self._probe = baseline_probe
        self.context = context or {}  # extra inputs recorded with every decision (canary decision, source)
        self.flag = flag_name(spec)
        self.steps = plan_steps(spec)
        self.hours = self.config.hours(spec)
        self.chash = self.config.config_hash()
        self.manifest_error: str | None = None
        try:
            from agent_release.manifest import input_manifest

            self.manifest = input_manifest(spec)
        except Exception as exc:  # noqa: BLE001 - an unreadable input must not stop a rollback; no step is entered
            log.exception("input manifest of %s could not be computed", spec.release_id)
            self.manifest = None
            self.manifest_error = type(exc).__name__  # the error type only, never the content
        self.manifest_hash = self.manifest.manifest_hash if self.manifest else None

    # ------------------------------------------------------------------ helpers
    def _row(self, decision: str, step_index: int | None, a: float, b: float, t: datetime | None, reasons: list[str],
             **kw: Any) -> dict:
        row = {
            "decision_id": _did(self.spec.release_id, self.spec.spec_hash, self.chash, step_index, decision, t),
            "spec_hash": self.spec.spec_hash, "decision": decision, "step_index": step_index,
            "from_percentage": a, "to_percentage": b, "flag": self.flag, "flag_backend": self.backend.name,
            "data_time": t, "actor": self.actor, "reason": reasons[0] if reasons else "", "reasons_json": reasons,
            "config_hash": self.chash, "manifest_hash": self.manifest_hash,
            "inputs_json": dict(self.context, run_config=self.config.describe(),
                                input_manifest=self.manifest.components if self.manifest else None,
                                **kw.pop("inputs", {})),
        }
        thr: AlertThresholds | None = kw.pop("thresholds", None)
        if thr is not None:
            row.update(thresholds_json=thr.to_dict(), threshold_scale=thr.scale, error_rate_alert=thr.error_rate_max,
                       cost_overrun_alert=thr.cost_overrun_ratio, safety_incidents_alert=thr.safety_incidents_max)
            if thr.volume is not None:
                row.update(conversations_per_hour=thr.volume.conversations_per_hour,
                           volume_at_stake_bad_per_hour=thr.volume.bad_per_hour,
                           excess_bad_per_hour=thr.volume.excess_bad_per_hour)
        row.update(kw)
        return row

    def _record(self, rows: list[dict]) -> list[dict]:
        return store.append_decisions(self.lake, self.spec.release_id, rows)

    def _enter(self, row: dict, percentage: float, t: datetime | None, *, reason: str | None = None,
               evidence: dict | None = None) -> list[dict]:
        """ENTER a step: set the flag and record the decision as one journaled transaction
        (rollout/journal.py) — a crash between the flag write and the rows is repaired on the next tick."""
        def decision_for(change) -> dict:
            return dict(row, from_percentage=change.from_effective)

        res = journal.change_flag(self.backend, self.lake, flag=self.flag, action="set", percentage=percentage,
                                  reason=reason or row["reason"], actor=self.actor, release_id=self.spec.release_id,
                                  data_time=t, evidence=evidence, decision_for=decision_for)
        return [res.decision] if res.decision else []

    def _readiness(self, probe, purpose: str, t: datetime) -> readiness.ReadinessResult:
        res = readiness.check(self.spec, self.backend, self.flag, baseline_probe=probe, purpose=purpose, data_time=t)
        store.append_readiness(self.lake, self.spec.release_id,
                               [res.to_row(self.spec.release_id, self.flag, self.actor)])
        return res

    # ------------------------------------------------------------------ play
    def play(self) -> PlayResult:
        import time

        t0 = time.perf_counter()
        added: list[dict] = []
        journal.recover(self.backend, self.lake, self.flag, actor=self.actor)
        specs.remember(self.lake, self.spec)
        state = store.rollout_state(self.lake, self.spec.release_id, self.spec.spec_hash)
        if state.terminal:
            return self._result(added, t0, f"rollout already {state.status} (recorded); nothing to do")
        if state.status == "NOT_STARTED" and self.manifest_hash is None:
            # no ENTER (hence no flag change) on inputs that cannot be verified
            added += self._record([self._unverifiable(state)])
            return self._result(added, t0, "")
        if state.status == "NOT_STARTED":
            p0 = self.steps[0].percentage
            t = self.config.start
            thr = spec_thresholds(self.spec, p0)
            row = self._row(store.ENTER, 0, self.backend.percentage(self.flag), p0, t,
                            [f"rollout starts at the canary share ({p0:g}%): flag set to the share the canary ran at"],
                            thresholds=thr)
            added += self._enter(row, p0, t)
        with (readiness.BaselineProbe(self.spec, url=self.baseline_url) if self._probe is None
              else _Given(self._probe)) as probe:
            while True:
                state = store.rollout_state(self.lake, self.spec.release_id, self.spec.spec_hash)
                if state.terminal or (state.last and state.last["decision"] == store.HOLD):
                    break
                step = self.steps[state.step_index]
                if (self.config.until_percentage is not None and step.percentage >= self.config.until_percentage):
                    break
                changed = self._inputs_changed(state)
                if changed is not None:
                    added += self._record([changed])
                    break
                new, stop = self._advance(state, step, probe)
                added += new
                if stop:
                    break
        return self._result(added, t0, "")

    def _inputs_changed(self, state: store.RolloutState) -> dict | None:
        """A HOLD row when the current step was entered under another input manifest — or when the
        inputs cannot be verified (no manifest recorded at the step's ENTER, or none computable now):
        an unverifiable input is never read as "unchanged"."""
        if not state.manifest_hash or not self.manifest_hash:
            return self._unverifiable(state)
        if state.manifest_hash == self.manifest_hash:
            return None
        d = store.read_decisions(self.lake, self.spec.release_id).filter(
            (pl.col("spec_hash") == self.spec.spec_hash) & (pl.col("decision") == store.ENTER)).sort("seq")
        old = json.loads(d.row(-1, named=True)["inputs_json"] or "{}").get("input_manifest") if d.height else None
        names = self.manifest.changed(old) if old else ["(not recorded)"]
        pct = self.backend.percentage(self.flag)
        reason = (f"hold at {pct:g}%: inputs changed since the step was entered (manifest {state.manifest_hash} → "
                  f"{self.manifest_hash}: {', '.join(names)}); the step's decisions were pre-registered on the "
                  "old inputs — no further step is entered (the flag and the auto-rollback watch stay)")
        return self._row(store.HOLD, state.step_index, pct, pct, state.entered_at, [reason],
                         thresholds=state.thresholds(),
                         inputs={"hold_kind": "inputs_changed", "entered_manifest_hash": state.manifest_hash,
                                 "changed_components": names})

    def _unverifiable(self, state: store.RolloutState) -> dict:
        """HOLD: the inputs cannot be verified (neither ENTER nor COMPLETE; the flag is not touched and
        the auto-rollback watch — which needs no manifest — goes on)."""
        pct = self.backend.percentage(self.flag)
        if self.manifest_hash is None:
            why = f"the current input manifest cannot be computed ({self.manifest_error or 'unknown error'})"
        else:
            why = "no input manifest was recorded when the step was entered"
        reason = (f"hold at {pct:g}%: inputs cannot be verified — {why}; no further step is entered "
                  "(the flag and the auto-rollback watch stay)")
        step = state.step_index if state.step_index is not None else 0
        return self._row(store.HOLD, step, pct, pct, state.entered_at or self.config.start, [reason],
                         thresholds=state.thresholds(),
                         inputs={"hold_kind": "inputs_unverifiable", "entered_manifest_hash": state.manifest_hash,
                                 "manifest_error": self.manifest_error})

    def _result(self, added: list[dict], t0: float, msg: str) -> PlayResult:
        import time

        state = store.rollout_state(self.lake, self.spec.release_id, self.spec.spec_hash)
        d = store.read_decisions(self.lake, self.spec.release_id).filter(pl.col("spec_hash") == self.spec.spec_hash)
        return PlayResult(self.spec.release_id, state.status, self.backend.percentage(self.flag), d, added,
                          round(time.perf_counter() - t0, 2), msg or f"rollout {state.status} at {state.percentage:g}%")

    def _advance(self, state: store.RolloutState, step, probe) -> tuple[list[dict], bool]:
        spec, cfg = self.spec, self.config
        t0: datetime = (state.entered_at.astimezone(UTC) if state.entered_at.tzinfo
                        else state.entered_at.replace(tzinfo=UTC))
        t1 = t0 + timedelta(hours=self.hours)
        thr = state.thresholds() or spec_thresholds(spec, step.percentage)
        if thr.error_rate_cap is None:
            thr = replace(thr, error_rate_cap=spec.canary.error_rate_max)

        # The flag is the source of truth for what users get.
        fs = self.backend.get(self.flag)
        if fs.exists and not fs.enabled:
            res = actions.rollback(spec, self.backend, self.lake, actor=self.actor, data_time=t0,
                                   reason="flag found off: pulled outside the controller; the rollout stops",
                                   decision_id=_did(spec.release_id, spec.spec_hash, self.chash, "external-off", t0),
                                   config_hash=self.chash, manifest=self.manifest_hash)
            return ([res.decision] if res.decision else []), True
        if fs.effective_percentage != step.percentage:
            journal.change_flag(self.backend, self.lake, flag=self.flag, action="set", percentage=step.percentage,
                                actor=self.actor, release_id=spec.release_id, data_time=t0,
                                reason=f"re-applying recorded step {step.index} ({step.percentage:g}%): flag was at "
                                       f"{fs.effective_percentage:g}%")
        pct = self.backend.percentage(self.flag)

        frame, truth = tr.simulate_step(spec, percentage=pct, start=t0, hours=self.hours, scenario=cfg.scenario,
                                        rate_per_hour=cfg.rate_per_hour, seed=cfg.seed, step_index=step.index,
                                        injections=list(cfg.injections))
        tr.write_step_traffic(self.lake, spec.release_id, step.index, frame)
        facts = tr.facts(frame, spec)
        inputs = {"step_window": [t0.isoformat(), t1.isoformat()], "traffic": {
            "source": "simulation", "scenario": truth.get("scenario"), "conversations": truth["conversations"],
            "conversations_candidate": truth["conversations_candidate"], "seed": truth.get("seed"),
            "candidate_model_reported": truth.get("candidate_model", spec.candidate.model)},
            "flag_percentage_read": pct}

        # ---- watch the step, window by window, as the sensors would
        watch_rows = []
        unjudged: list[str] = []
        ref_cpr = thr.baseline_cost_per_resolution
        for a, b in tr.windows(t0, t1, cfg.watch_hours):
            w, rep = judged_window(facts, a, b, t0, thr, min_conversations=cfg.min_watch_conversations,
                                   reference_cost_per_resolution=ref_cpr)
            drifts = actions.model_drift(spec, w.models)
            ready = None
            if pct >= 50:
                ready = self._readiness(probe, "continuous", b)
            watch_rows.append(_watch_row(spec.release_id, step.index, pct, w, rep, thr, ready))
            if rep.status == "not evaluated":  # any guardrail without a verdict (error rate, cost, safety)
                unjudged.append(f"{a:%m-%d %H:%M}–{b:%H:%M} ({rep.reason()[:200]})")
            if drifts:
                self._write_watch(step.index, watch_rows)
                row = actions.freeze(spec, self.backend, self.lake, drifts, actor=self.actor,
                                     evidence={"window": w.to_dict()}, data_time=b, config_hash=self.chash,
                                     manifest=self.manifest_hash,
                                     decision_id=_did(spec.release_id, spec.spec_hash, self.chash, step.index,
                                                      store.FREEZE, b))
                return ([row] if row else []), True
            if rep.breached:
                self._write_watch(step.index, watch_rows)
                res = actions.rollback(spec, self.backend, self.lake, actor=self.actor + " (guardrail watch)",
                                       reason=f"auto-rollback at {pct:g}%: {rep.reason()}", evidence=rep.evidence(),
                                       data_time=b, config_hash=self.chash, manifest=self.manifest_hash,
                                       decision_id=_did(spec.release_id, spec.spec_hash, self.chash, step.index,
                                                        store.ROLLBACK, b))
                return ([res.decision] if res.decision else []), True
        self._write_watch(step.index, watch_rows)

        whole = tr.summarize(facts, t0, t1)
        inputs["step_summary"] = whole.to_dict()
        gap = self._evidence_gap(frame, t1, unjudged)
        if gap is not None:
            row = self._row(store.HOLD, step.index, pct, pct, t1, [f"hold at {pct:g}%: {gap}"], thresholds=thr,
                            inputs=dict(inputs, hold_kind="evidence_incomplete", windows_not_evaluated=unjudged))
            return self._record([row]), True
        if step.index == len(self.steps) - 1:  # 100%: watched without a breach
            row = self._row(store.COMPLETE, step.index, pct, pct, t1,
                            [f"100% watched for {self.hours:g} h of data time without a guardrail breach "
                             f"({whole.candidate.conversations:,} conversations, error rate "
                             f"{whole.candidate.error_rate:.2%} vs alert {thr.error_rate_max:.2%})"],
                            thresholds=thr, inputs=inputs)
            return self._record([row]), True

        # ---- the step analysis
        from agent_release.canary.decision import ROLLBACK, DecisionPolicy
        from agent_release.rollout.analysis import analyze_step

        an = analyze_step(spec, frame, percentage=pct, step_start=t0.replace(tzinfo=None),
                          as_of=t1.replace(tzinfo=None), min_hours=self.hours,
                          policy=DecisionPolicy(n_boot=cfg.n_boot))
        stats = an.statistics()
        nxt = self.steps[step.index + 1]
        b_rate = (whole.baseline.error_rate if whole.baseline.conversations >= cfg.min_watch_conversations
                  else thr.baseline_error_rate)  # the reference carried to the next step (never 0 by default)
        ref = (thr.volume.reference_bad_per_hour if thr.volume is not None
               else whole.conversations_per_hour * (step.percentage / 100.0) * whole.candidate.error_rate)
        vol = volume_at_stake(whole.conversations_per_hour, nxt.percentage, whole.candidate.error_rate,
                              whole.candidate.error_rate if b_rate is None else b_rate, ref)
        new_thr = scaled_thresholds(spec, nxt.percentage, volume=vol, baseline_error_rate=b_rate,
                                    baseline_cost_per_resolution=whole.baseline.cost_per_resolution or ref_cpr,
                                    s_min=cfg.s_min)
        common = dict(statistics_json=stats, criteria_doc_hash=an.criteria_doc_hash, inputs=inputs)
        if an.decision == ROLLBACK:
            res = actions.rollback(spec, self.backend, self.lake, actor=self.actor,
                                   reason=f"step {pct:g}% analysis: {an.reasons[0]}",
                                   evidence={"statistics": stats}, data_time=t1, config_hash=self.chash,
                                   manifest=self.manifest_hash,
                                   decision_id=_did(spec.release_id, spec.spec_hash, self.chash, step.index,
                                                    store.ROLLBACK, t1))
            return ([res.decision] if res.decision else []), True
        if an.decision != "EXPAND":
            row = self._row(store.HOLD, step.index, pct, pct, t1,
                            [f"hold at {pct:g}%: the step analysis does not pass — {an.reasons[0]}"] + an.reasons[1:],
                            thresholds=thr,
                            **common)
            row.update(volume_at_stake_bad_per_hour=vol.bad_per_hour, excess_bad_per_hour=vol.excess_bad_per_hour,
                       conversations_per_hour=vol.conversations_per_hour)
            return self._record([row]), True
        ready = self._readiness(probe, "pre-step", t1)
        if not ready.ok:
            row = self._row(store.HOLD, step.index, pct, pct, t1,
                            [f"hold at {pct:g}%: {ready.reason()} — the next step ({nxt.percentage:g}%) is blocked"]
                            + an.reasons, thresholds=thr, readiness_ok=False, readiness_json=ready.to_dict(),
                            **common)
            row.update(volume_at_stake_bad_per_hour=vol.bad_per_hour, excess_bad_per_hour=vol.excess_bad_per_hour,
                       conversations_per_hour=vol.conversations_per_hour)
            return self._record([row]), True
        n_metrics = len(an.canary.metrics)
        reason = (f"enter {nxt.percentage:g}%: step {pct:g}% passed ({stats['metrics_passed']}/{n_metrics} "
                  f"exit metrics non-inferior, no segment worse of {stats['segments_tested']} tested, no guardrail "
                  f"breach in {self.hours:g} h); rollback ready; at stake at {nxt.percentage:g}%: "
                  f"{vol.bad_per_hour:.1f} bad conversations/hour ({vol.excess_bad_per_hour:.1f} above baseline) → "
                  f"alerts {new_thr.describe()}")
        row = self._row(store.ENTER, nxt.index, pct, nxt.percentage, t1, [reason] + an.reasons[1:],
                        thresholds=new_thr, readiness_ok=True, readiness_json=ready.to_dict(), **common)
        added = self._enter(row, nxt.percentage, t1, reason=reason[:500],
                            evidence={"decision_id": row["decision_id"], "metrics_passed": stats["metrics_passed"],
                                      "volume_at_stake": vol.to_dict()})
        return added, False

    def _evidence_gap(self, frame: pl.DataFrame, t1: datetime, unjudged: list[str]) -> str | None:
        """Why the step's evidence is incomplete (``None`` if it is complete): a watch window without a
        verdict, or traffic that stops more than the maximum feed lag before the step's end."""
        from agent_release.rollout.watch import feed_max_lag_minutes

        last = tr.last_conversation(frame)
        lag = feed_max_lag_minutes()
        if last is None or (t1 - last) > timedelta(minutes=lag):
            when = f"{last:%Y-%m-%d %H:%M} UTC" if last else "never"
            gap = (t1 - last).total_seconds() / 60.0 if last else float("inf")
            return (f"live feed stalled: last conversation at {when}, lag {gap:.0f} min > {lag:g} min before the "
                    "step's end — the step's evidence is partial; the next step is not entered")
        if unjudged:
            return (f"guardrails not evaluated in {len(unjudged)} watch window(s) ({'; '.join(unjudged[:3])}) — "
                    "no verdict is not 'no breach'; the next step is not entered")
        return None

    def _write_watch(self, step_index: int, rows: list[dict]) -> None:
        if rows:
            df = pl.DataFrame(rows, infer_schema_length=None, schema_overrides={
                "readiness_ok": pl.Boolean, "baseline_error_rate": pl.Float64, "error_rate_lower_bound": pl.Float64,
                "cost_ratio": pl.Float64, "cost_ratio_lower_bound": pl.Float64, "error_excess_lower_bound": pl.Float64,
                "error_allowance": pl.Float64, "error_rate_cap": pl.Float64, "reference_baseline_error_rate": pl.Float64})
            self.lake.write(WATCH, df, partition=tr.step_partition(self.spec.release_id, step_index))


class _Given:
    def __init__(self, fn):
        self.fn = fn

    def __enter__(self):
        return self.fn

    def __exit__(self, *exc):
        return None


def _watch_row(rid: str, step_index: int, pct: float, w: tr.WindowSummary, rep: guardrails.GuardrailReport,
               thr: AlertThresholds, ready) -> dict:
    chk = {c.name: c for c in rep.checks}
    e = chk.get("error_rate")
    co = chk.get("cost_overrun")
    return {
        "release_id": rid, "step_index": step_index, "flag_percentage": pct, "window_start": w.start,
        "window_end": w.end, "candidate_conversations": w.candidate.conversations,
        "baseline_conversations": w.baseline.conversations, "candidate_error_rate": w.candidate.error_rate,
        "baseline_error_rate": w.baseline.error_rate if w.baseline.conversations else None,
        "error_rate_lower_bound": e.detail.get("candidate_lower") if e else None,
        "error_rate_alert": thr.error_rate_max, "error_rule": e.detail.get("rule", e.rule) if e else None,
        "reference_baseline_error_rate": thr.baseline_error_rate,
        "error_excess_lower_bound": e.detail.get("excess_lower") if e else None,
        "error_allowance": e.detail.get("allowance") if e else None,
        "error_rate_cap": e.detail.get("cap", thr.error_rate_cap) if e else thr.error_rate_cap,
        "cost_ratio": co.value if co else None, "cost_ratio_lower_bound": co.statistic if co else None,
        "cost_overrun_alert": thr.cost_overrun_ratio,
        "safety_incidents": w.candidate.safety_incidents, "safety_incidents_alert": thr.safety_incidents_max,
        "breached": rep.breached, "verdict": rep.status, "readiness_ok": None if ready is None else ready.ok,
    }
