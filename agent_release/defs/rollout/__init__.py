"""Rollout: the plan, the step-by-step rollout with its decisions, the automatic rollback sensor,
the one-click manual rollback, rollback readiness and the model-version pin; one partition per
release. Logic lives in ``agent_release.rollout`` and ``agent_release.flags``."""

import json
import os
from datetime import UTC, datetime

import dagster as dg
import polars as pl

from agent_release.defs.evals import gate_status
from agent_release.defs.meta import md_rows, md_table
from agent_release.defs.partitions import RELEASES, releases_partitions
from agent_release.defs.resources import WarehouseResource

PLANS = "rollout.plans"
_COMMON = dict(partitions_def=releases_partitions, group_name="rollout")


class FlagBackendResource(dg.ConfigurableResource):
    """Which flag service the rollout writes to. ``backend`` "" = the release spec's
    ``rollout.flag_backend`` (``$AGENT_RELEASE_FLAG_BACKEND`` overrides). Unleash settings come from
    ``AGENT_RELEASE_UNLEASH_URL`` / ``_ADMIN_TOKEN`` / ``_PROJECT`` / ``_ENVIRONMENT``."""

    backend: str = ""

    def for_spec(self, spec, warehouse: WarehouseResource):
        from agent_release.flags import backend_for
        from agent_release.flags.audit import FlagAuditLog

        p = warehouse.paths()
        audit = FlagAuditLog(p.lake, p.locks)
        name = self.backend or None
        kw = {"path": p.data / "flags" / "flags.json"}
        return backend_for(name or spec, audit=audit, **kw)


class RolloutSimulationResource(dg.ConfigurableResource):
    """How the embedded default plays the rollout's live traffic, step by step in data time.

    The canary's simulation tells the support-bot-2 story (Spanish regression: the canary HOLDs).
    The rollout simulates each step with its own true effects: ``scenario`` (default
    ``noninferior`` — the candidate as fixed after the canary), optionally an incident injected at
    one step (``inject``: ``error_spike@50``, ``cost_overrun@25``, ``safety_incidents@100``,
    ``model:<model id>@25``). Traffic is ignored when AGENT_RELEASE_LIVE_SOURCE points at real logs
    (the sensors then watch those)."""

    scenario: str = ""  # "" = $AGENT_RELEASE_ROLLOUT_SCENARIO or "noninferior"
    rate_per_hour: float = 0.0  # 0 = $AGENT_RELEASE_ROLLOUT_RATE or 1500 conversations/hour
    seed: int = 11
    step_hours: float = 0.0  # 0 = the spec's min_hours_between_steps (48)
    watch_hours: float = 6.0
    inject: str = ""  # "" = $AGENT_RELEASE_ROLLOUT_INJECT
    start: str = ""  # "" = end of the canary's live traffic (or 2026-11-16T00:00Z)

    def config(self, start: datetime):
        from agent_release.rollout.controller import RolloutConfig
        from agent_release.rollout.traffic import Injection

        return RolloutConfig(
            scenario=self.scenario or os.environ.get("AGENT_RELEASE_ROLLOUT_SCENARIO", "noninferior"),
            rate_per_hour=self.rate_per_hour or float(os.environ.get("AGENT_RELEASE_ROLLOUT_RATE", "1500")),
            seed=self.seed, step_hours=self.step_hours or None, watch_hours=self.watch_hours,
            injections=tuple(Injection.parse_many(self.inject or os.environ.get("AGENT_RELEASE_ROLLOUT_INJECT", ""))),
            start=datetime.fromisoformat(self.start) if self.start else start,
        )


def _spec(context):
    from agent_release.release_spec import load_release

    return load_release(context.partition_key)


def _require_promoted(lake, spec) -> None:
    decision, _, _, status = gate_status(lake, spec.release_id)
    if status != "PROMOTE":
        raise dg.Failure(description=f"release {spec.release_id} is not promoted by the pre-prod gate "
                                     f"(status {status}); no rollout", metadata={"gate_status": status})


def _canary_context(lake, rid: str) -> dict:
    """The canary's current exit decision (last look of its latest evaluation, from the decision
    history) and whether it still holds for the release's inputs as they are now."""
    from agent_release.decision_log import latest_canary_decision

    last = latest_canary_decision(lake, rid)
    if last is None:
        return {"canary_decision": None}
    reasons = last.get("reasons")
    reasons = json.loads(reasons) if isinstance(reasons, str) else list(reasons or [])
    ctx = {"canary_decision": last["decision"], "canary_as_of": str(last["as_of"]),
           "canary_reason": (reasons or [""])[0][:300], "canary_decision_id": last.get("decision_id"),
           "canary_evaluation_id": last.get("evaluation_id"), "canary_manifest_hash": last.get("manifest_hash")}
    try:
        from agent_release.manifest import input_manifest
        from agent_release.release_spec import load_release

        ctx["current_manifest_hash"] = input_manifest(load_release(rid)).manifest_hash
    except Exception as exc:  # noqa: BLE001 - spec gone or invalid: the look cannot be shown to hold
        ctx["current_manifest_hash"] = f"invalid ({type(exc).__name__})"
    ctx["canary_current"] = ctx["canary_manifest_hash"] == ctx["current_manifest_hash"]
    return ctx


def _require_canary_expand(lake, rid: str) -> None:
    """Scaled prod starts only from a canary whose latest look says EXPAND, decided on the inputs
    as they are now (same input-manifest hash: a look made before any input changed is stale)."""
    ctx = _canary_context(lake, rid)
    if ctx["canary_decision"] != "EXPAND":
        raise dg.Failure(
            description=(f"release {rid}: the canary has not said EXPAND (latest look: "
                         f"{ctx['canary_decision'] or 'none'}); the rollout cannot start"),
            metadata={"canary_decision": str(ctx["canary_decision"]), "canary_reason": ctx.get("canary_reason", "")},
        )
    if not ctx["canary_current"]:
        raise dg.Failure(
            description=(f"release {rid}: the canary's EXPAND is stale — decided on input manifest "
                         f"{ctx['canary_manifest_hash']}, the release's inputs are now {ctx['current_manifest_hash']}; "
                         "re-run the canary exit decision; the rollout cannot start"),
            metadata={"canary_decision": "EXPAND (stale)", "canary_manifest_hash": str(ctx["canary_manifest_hash"]),
                      "current_manifest_hash": str(ctx["current_manifest_hash"])},
        )


def _start_after_canary(lake, rid: str) -> datetime:
    """The rollout starts where the canary's live traffic ends (next midnight, data time)."""
    from datetime import timedelta

    from agent_release.rollout.controller import DEFAULT_START

    if "canary.live_conversations" in lake.tables() and rid in lake.partitions("canary.live_conversations"):
        t = pl.scan_parquet(lake.table_dir("canary.live_conversations") / f"{rid}.parquet").select(
            pl.col("started_at").max()).collect().item()
        if t is not None:
            t = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
            day = t.replace(hour=0, minute=0, second=0, microsecond=0)
            return day if day == t else day + timedelta(days=1)
    return DEFAULT_START


@dg.asset(
    key=["rollout", "plan"], deps=[["canary", "exit_decision"]], kinds={"python", "markdown"}, **_COMMON,
    description=(
        "The rollout plan, written from the release spec before the rollout starts: steps "
        "(canary share → 25 → 50 → 100%), at least 48 h of data time between steps, what each step "
        "must pass (the canary analysis on the step's traffic, no guardrail breach, rollback "
        "readiness, pinned models) and how alert thresholds tighten with the volume at stake."
    ),
)
def rollout_plan(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                 rollout_simulation: RolloutSimulationResource) -> dg.MaterializeResult:
    from agent_release.rollout.plan import plan_hash, plan_steps, render_plan

    spec = _spec(context)
    lake = warehouse.lake()
    _require_promoted(lake, spec)
    _require_canary_expand(lake, spec.release_id)
    cfg = rollout_simulation.config(_start_after_canary(lake, spec.release_id))
    doc = render_plan(spec, step_hours=cfg.hours(spec), watch_hours=cfg.watch_hours, s_min=cfg.s_min)
    out = warehouse.paths().reports / spec.release_id
    out.mkdir(parents=True, exist_ok=True)
    (out / "rollout_plan.md").write_text(doc)
    lake.write(PLANS, pl.DataFrame([{
        "release_id": spec.release_id, "spec_hash": spec.spec_hash, "plan_hash": plan_hash(doc),
        "steps": json.dumps([s.percentage for s in plan_steps(spec)]),
        "min_hours_between_steps": spec.rollout.min_hours_between_steps, "flag_backend": spec.rollout.flag_backend,
        "written_at": datetime.now(UTC), "document_md": doc}]), partition=spec.release_id)
    warehouse.publish()
    return dg.MaterializeResult(metadata={
        "dagster/row_count": 1, "plan_hash": plan_hash(doc), "spec_hash": spec.spec_hash,
        "steps": " → ".join(f"{s.percentage:g}%" for s in plan_steps(spec)),
        "document": dg.MetadataValue.md(doc), "path": dg.MetadataValue.path(str(out / "rollout_plan.md")),
    })


@dg.asset(
    key=["rollout", "decisions"], deps=[["rollout", "plan"]], kinds={"python", "duckdb"}, **_COMMON,
    description=(
        "The rollout, step by step in data time: each step's live traffic (simulated from the flag's "
        "percentage in the embedded default), watched every few hours (guardrails with thresholds scaled "
        "to the volume at stake, pinned model versions, rollback readiness past 50%), analysed at the end "
        "of the step (the canary analysis), then ENTER the next step / HOLD / ROLLBACK / FREEZE / COMPLETE. "
        "Every decision is a row in rollout.decisions; every flag change a row in rollout.flag_audit."
    ),
)
def rollout_decisions(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                      rollout_simulation: RolloutSimulationResource,
                      flag_backend: FlagBackendResource) -> dg.MaterializeResult:
    from agent_release.rollout.charts import timeline_svg
    from agent_release.rollout.controller import RolloutController

    spec = _spec(context)
    lake = warehouse.lake()
    _require_promoted(lake, spec)
    backend = flag_backend.for_spec(spec, warehouse)
    cfg = rollout_simulation.config(_start_after_canary(lake, spec.release_id))
    canary = _canary_context(lake, spec.release_id)
    canary["rollout_traffic"] = (f"simulation scenario {cfg.scenario!r} (the canary's simulation story may differ: "
                                 "the rollout re-measures the canary share on its own traffic)")
    ctl = RolloutController(spec, backend, lake, cfg, context=canary,
                            actor=f"controller:rollout/decisions run {context.run.run_id[:8]}")
    res = ctl.play()
    warehouse.publish()
    out = warehouse.paths().reports / spec.release_id
    out.mkdir(parents=True, exist_ok=True)
    watch = _watch_frame(lake, spec.release_id)
    (out / "rollout.html").write_text(
        "<!doctype html><meta charset='utf-8'><title>Rollout — " + spec.release_id + "</title>"
        "<body style='font-family:sans-serif'><h1>Rollout — " + spec.release_id + "</h1>"
        + timeline_svg(res.decisions, watch) + "<pre>" + _html_escape(res.render()) + "</pre></body>")
    context.log.info(f"rollout {spec.release_id}: {res.status} at {res.percentage:g}% ({res.seconds:.1f}s)")
    backend_flag = spec.rollout.flag_name or spec.release_id
    audit = backend.audit.read(backend_flag)
    return dg.MaterializeResult(metadata={
        "status": res.status, "flag_percentage": res.percentage, "flag": backend_flag,
        "flag_backend": backend.name, "dagster/row_count": res.decisions.height, "seconds": res.seconds,
        "decisions": dg.MetadataValue.md(md_rows(
            ["data time", "decision", "flag", "bad conv/h at stake", "error alert", "cost alert", "reason"],
            [(str(t)[:16] if t else "", d, f"{a or 0:g}% → {b or 0:g}%",
              "" if v is None else f"{v:.1f}", "" if e is None else f"{e:.2%}", "" if c is None else f"{c:.3f}x",
              r[:160]) for t, d, a, b, v, e, c, _, r in res.timeline()], width=170)),
        "flag_audit": dg.MetadataValue.md(md_table(audit.select(
            "changed_at", "action", "from_effective_percentage", "to_effective_percentage", "actor", "reason"),
            width=120)),
        "chart": dg.MetadataValue.path(str(out / "rollout.html")),
        "run_config": dg.MetadataValue.json(cfg.describe()),
    })


def _watch_frame(lake, rid: str) -> pl.DataFrame | None:
    from agent_release.rollout.controller import WATCH

    parts = [p for p in lake.partitions(WATCH) if p.startswith(f"{rid}--step")]
    if not parts:
        return None
    return pl.concat([lake.read(WATCH, partition=p) for p in parts], how="diagonal_relaxed").sort("window_start")


def _html_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dg.asset_check(asset=rollout_decisions,
                description="The rollout is not rolled back, frozen or held and its spec file is valid and unchanged "
                            "under a live rollout (WARN: the decisions say why).")
def rollout_healthy(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    from agent_release.rollout.specs import resolve
    from agent_release.rollout.store import rollout_state

    lake = warehouse.lake()
    rid = context.run.tags.get("dagster/partition")
    rows = []
    for r in ([rid] if rid else context.instance.get_dynamic_partitions(RELEASES)):
        w = resolve(lake, r)
        if w.spec is None:
            rows.append((r, "SPEC INVALID", "?", w.message[:200]))
            continue
        st = rollout_state(lake, r, w.spec.spec_hash)
        verdict = _latest_watch_verdict(lake, r, st.step_index)
        rows.append((r, st.status if not w.problem else f"{st.status} ({w.problem})", f"{st.percentage:g}%",
                     verdict if not w.problem else f"{verdict}; {w.message[:200]}"))
    bad = [r for r in rows if r[1].split(" ")[0] in ("ROLLED_BACK", "FROZEN", "HELD", "SPEC")
           or "(" in r[1] or r[3] == "not evaluated"]
    return dg.AssetCheckResult(passed=bool(rows) and not bad, severity=dg.AssetCheckSeverity.WARN,
                               metadata={"rollouts": dg.MetadataValue.md(
                                   md_rows(["release", "status", "flag", "latest watch window"], rows))})


def _latest_watch_verdict(lake, rid: str, step_index: int | None) -> str:
    """Verdict of the latest watch window of the current step: breach | no breach | not evaluated
    (too little data: no verdict) | "" (no watch recorded)."""
    from agent_release.rollout.controller import WATCH
    from agent_release.rollout.traffic import step_partition

    if step_index is None or step_partition(rid, step_index) not in lake.partitions(WATCH):
        return ""
    w = lake.read(WATCH, partition=step_partition(rid, step_index)).sort("window_start")
    if w.height == 0:
        return ""
    last = w.row(-1, named=True)
    if "verdict" in w.columns and last["verdict"]:
        return str(last["verdict"])
    return "breach" if last["breached"] else "no breach"


rollout_job = dg.define_asset_job(
    "rollout_release", selection=dg.AssetSelection.groups("rollout"),
    description="Roll a promoted release out step by step (plan, then the rollout with its decisions).",
)


# --------------------------------------------------------------------------- manual rollback


class ManualRollbackConfig(dg.Config):
    reason: str = "manual rollback from the Dagster UI"
    actor: str = ""  # who; "" = dagster:<run id>


@dg.op(description="Pull the release's flag (disabled, 0%) and record the reason; works at every step.")
def pull_flag(context: dg.OpExecutionContext, config: ManualRollbackConfig, warehouse: WarehouseResource,
              flag_backend: FlagBackendResource) -> None:
    from agent_release.rollout.actions import rollback

    spec = _spec(context)
    backend = flag_backend.for_spec(spec, warehouse)
    res = rollback(spec, backend, warehouse.lake(), reason=config.reason,
                   actor=config.actor or f"dagster:{context.run.run_id[:8]}")
    warehouse.publish()
    context.log.warning(res.message)
    context.log_event(dg.AssetObservation(asset_key=dg.AssetKey(["rollout", "decisions"]),
                                          partition=spec.release_id,
                                          metadata={"manual_rollback": res.message, "reason": config.reason}))


@dg.job(
    name="manual_rollback", partitions_def=releases_partitions, tags={"kind": "rollback"},
    description=("One-click rollback: choose the release (partition) and Launch — the default config "
                 "records 'manual rollback from the Dagster UI'; edit `reason` to say why. Pulls the flag "
                 "at any step (100% included), writes the audit and decision rows."),
)
def manual_rollback_job():
    pull_flag()


# --------------------------------------------------------------------------- sensors


def _watched(context, lake) -> list:
    """Every registered release with the spec its watches use (rollout/specs.py: the last known
    good spec when the file is broken, the live rollout's when its criteria changed). Never raises:
    one bad spec affects no other release."""
    from agent_release.rollout.specs import resolve

    out = []
    for rid in context.instance.get_dynamic_partitions(RELEASES):
        try:
            out.append(resolve(lake, rid))
        except Exception as exc:  # noqa: BLE001 - e.g. an unreadable snapshot: say so, go on with the others
            context.log.error(f"{rid}: could not resolve the spec to watch under ({type(exc).__name__})")
    return out


def _releases(context, lake) -> list:
    """The specs to watch (see :func:`_watched`); releases with no spec known at all are skipped."""
    return [w.spec for w in _watched(context, lake) if w.spec is not None]


def _observation(rid: str, **meta) -> dg.AssetObservation:
    return dg.AssetObservation(asset_key=dg.AssetKey(["rollout", "decisions"]), partition=rid,
                               metadata={k: (dg.MetadataValue.json(v) if isinstance(v, (dict, list)) else v)
                                         for k, v in meta.items()})


def _live_source() -> str:
    return os.environ.get("AGENT_RELEASE_LIVE_SOURCE", "synthetic")


#: a live rollout whose guardrails had no verdict on this many consecutive sensor ticks AND for longer
#: than the maximum feed lag is held (a step's first minutes at low traffic are not yet judgeable)
NOT_EVALUATED_HOLD_TICKS = 3


def _watch_hold(spec, backend, lake, actor: str, kind: str, reason: str, key: str,
                evidence: dict | None = None) -> dict | None:
    """A HOLD row (rollout/actions.hold) for a live (ACTIVE) rollout whose guardrail watch has no
    verdict; one row per step and ``kind``/``key`` (idempotent). ``None`` when nothing is recorded."""
    import hashlib

    from agent_release.rollout import actions, store

    state = store.rollout_state(lake, spec.release_id, spec.spec_hash)
    if state.status != "ACTIVE":
        return None
    did = hashlib.sha256(f"{spec.release_id}|{spec.spec_hash}|{kind}|{key}|{state.entered_at}".encode()).hexdigest()
    thr = state.thresholds()
    return actions.hold(spec, backend, lake, reason=reason, actor=actor, kind=kind, decision_id=did[:24],
                        evidence=evidence, data_time=datetime.now(UTC), thresholds=thr.to_dict() if thr else None)


class GuardrailActionConfig(dg.Config):
    decision_id: str


@dg.op(description="Confirm what a sensor did (it already acted: the flag is pulled / the rollout held): finish "
                   "any crashed flag transaction, check a ROLLBACK left the flag off (pull it again if not), "
                   "refresh the warehouse and show the decision row.")
def confirm_guardrail_action(context: dg.OpExecutionContext, config: GuardrailActionConfig,
                             warehouse: WarehouseResource, flag_backend: FlagBackendResource) -> None:
    from agent_release.rollout import actions, journal, store
    from agent_release.rollout.specs import resolve

    lake = warehouse.lake()
    rid = context.partition_key
    rows = store.read_decisions(lake, rid).filter(pl.col("decision_id") == config.decision_id)
    if rows.height == 0:
        raise dg.Failure(description=f"{rid}: decision {config.decision_id} is not in rollout.decisions")
    row = rows.row(0, named=True)
    w = resolve(lake, rid)
    if w.spec is None:
        raise dg.Failure(description=f"{rid}: no valid spec known to confirm the action under — {w.message}")
    backend = flag_backend.for_spec(w.spec, warehouse)
    actor = f"dagster:{context.run.run_id[:8]} (guardrail_action)"
    repaired = journal.recover(backend, lake, row["flag"], actor=actor)
    state = backend.get(row["flag"])
    if row["decision"] == store.ROLLBACK and state.effective_percentage > 0:
        res = actions.rollback(w.spec, backend, lake, actor=actor, skip_if_off=True,
                               reason=f"confirming {row['decision_id']}: flag found on after the sensor's rollback")
        context.log.error(res.message)
        state = backend.get(row["flag"])
    warehouse.publish()
    context.log.info(f"{rid}: {row['decision']} by {row['actor']}: {row['reason']}")
    context.log_event(dg.AssetObservation(
        asset_key=dg.AssetKey(["rollout", "decisions"]), partition=rid,
        metadata={"decision": row["decision"], "decision_id": row["decision_id"], "actor": row["actor"],
                  "reason": str(row["reason"])[:2000], "flag_now": state.describe(),
                  "journal_repaired": dg.MetadataValue.json(repaired)}))


@dg.job(name="guardrail_action", partitions_def=releases_partitions, tags={"kind": "guardrail"},
        description=("One run per action of the guardrail sensor (auto-rollback, HOLD on a stalled feed, an unjudged "
                     "watch or a broken spec), launched by the sensor itself: the tick that acted is a SUCCESS with "
                     "its run, and the run confirms and shows the decision."))
def guardrail_action_job():
    confirm_guardrail_action()


@dg.sensor(
    name="rollout_guardrail_sensor", minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
    jobs=[guardrail_action_job],
    description=("Automatic rollback: on every tick, for every release whose flag is on, evaluates the "
                 "guardrails (error-rate breach, cost overrun, safety incident) on the last 6 h of live "
                 "traffic against the thresholds in force at the current step (recorded when the step was "
                 "entered), and pulls the flag without a human on a breach, recording why with the evidence. "
                 "A stalled live feed (newest conversation older than AGENT_RELEASE_FEED_MAX_LAG_MINUTES, "
                 "default 30, on the candidate arm) raises a staleness alert (observation + HOLD decision row), "
                 "never a silent 'no breach'; a window too small to judge reads 'not evaluated' and "
                 f"{NOT_EVALUATED_HOLD_TICKS} consecutive such ticks spanning more than the feed lag HOLD the rollout; a watch that fails "
                 "(exception) is an observation and a HOLD naming the error type. Idempotent: a pulled flag "
                 "is not watched, so a second tick does nothing more."),
)
def rollout_guardrail_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource,
                             flag_backend: FlagBackendResource):
    from agent_release.rollout.watch import feed_max_lag_minutes, guardrail_tick

    lake = warehouse.lake()
    actor = "sensor:rollout_guardrail_sensor"
    events, msgs = [], []
    try:
        cur = json.loads(context.cursor or "{}")
        streaks: dict = cur.get("not_evaluated", {})
        alerted: dict = cur.get("spec_alerts", {})
    except (ValueError, AttributeError):
        streaks, alerted = {}, {}
    runs: list[dg.RunRequest] = []
    for w in _watched(context, lake):
        if w.problem:
            # every tick logs the error; the observation (and HOLD row) once per episode
            first = alerted.get(w.release_id) != f"{w.problem}:{w.problem_key}"
            _spec_alert(context, w, flag_backend, warehouse, lake, actor, events if first else [], runs)
            alerted[w.release_id] = f"{w.problem}:{w.problem_key}"
        else:
            alerted.pop(w.release_id, None)
        if w.spec is None:
            msgs.append(w.message)
            continue
        spec = w.spec
        rid = spec.release_id
        backend = None
        try:
            backend = flag_backend.for_spec(spec, warehouse)
            tick = guardrail_tick(spec, backend, lake, actor=actor, source=_live_source())
        except Exception as exc:  # noqa: BLE001 - one broken release must not stop the others
            # no verdict is not "no breach": record it (the error type only, never the data content)
            err = type(exc).__name__
            context.log.error(f"{rid}: guardrail watch failed: {err}")
            row = None
            try:
                if backend is not None:
                    row = _watch_hold(spec, backend, lake, actor, "watch_error",
                                      f"guardrail watch failed ({err}): guardrails not evaluated — the rollout is "
                                      "held (no further step; the flag stays)", err, {"error_type": err})
            except Exception as exc2:  # noqa: BLE001
                context.log.error(f"{rid}: could not record the HOLD: {type(exc2).__name__}")
            _act(runs, rid, row)
            events.append(_observation(rid, guardrail_watch_error=err, hold_recorded=row is not None))
            msgs.append(f"{rid}: guardrail watch failed ({err})")
            streaks.pop(rid, None)
            continue
        msgs.append(tick.message)
        now = datetime.now(UTC)
        if tick.action == "not_evaluated":
            prev = streaks.get(rid)
            prev = prev if isinstance(prev, dict) else {"n": 0, "since": now.isoformat()}
            streaks[rid] = {"n": int(prev.get("n", 0)) + 1, "since": prev.get("since") or now.isoformat()}
        else:
            streaks.pop(rid, None)
        if tick.action == "not_evaluated":
            since = datetime.fromisoformat(streaks[rid]["since"])
            minutes = (now - since).total_seconds() / 60.0
        if (tick.action == "not_evaluated" and streaks[rid]["n"] >= NOT_EVALUATED_HOLD_TICKS
                and minutes >= feed_max_lag_minutes()):
            n_ticks = streaks[rid]["n"]
            row = _watch_hold(spec, backend, lake, actor, "not_evaluated",
                              f"guardrails not evaluated on {n_ticks} consecutive sensor ticks over {minutes:.0f} min "
                              f"(> feed lag {feed_max_lag_minutes():g} min) — no verdict is "
                              "not 'no breach'; the rollout is held (no further step; the flag stays): "
                              + tick.message[:1500], "streak", tick.details.get("evidence"))
            context.log.error(tick.message)
            _act(runs, rid, row)
            events.append(_observation(rid, not_evaluated_alert=tick.message[:2000], hold_recorded=row is not None,
                                       consecutive_ticks=n_ticks))
            continue
        if tick.action == "rollback":
            _act(runs, rid, tick.details.get("decision"))
            context.log.warning(tick.message)
            events.append(_observation(spec.release_id, auto_rollback=tick.message[:2000],
                                       evidence=tick.details.get("evidence", {})))
        elif tick.action == "repaired":
            context.log.warning(tick.message)
            events.append(_observation(spec.release_id, journal_repaired=tick.message[:2000]))
        elif tick.action == "stale":
            _act(runs, rid, tick.details.get("decision"))
            context.log.error(tick.message)
            events.append(_observation(spec.release_id, staleness_alert=tick.message[:2000],
                                       hold_recorded=bool(tick.details.get("hold_recorded")),
                                       evidence=tick.details.get("evidence", {})))
        elif tick.action == "not_evaluated":
            context.log.warning(tick.message)
    if events:
        warehouse.publish()
    cursor = json.dumps({"not_evaluated": streaks, "spec_alerts": alerted}, sort_keys=True)
    if runs:  # the tick acted: one guardrail_action run per decision (the tick is a SUCCESS, not SKIPPED)
        return dg.SensorResult(run_requests=runs, asset_events=events, cursor=cursor)
    return dg.SensorResult(skip_reason="; ".join(msgs)[:4000] or "no release registered", asset_events=events,
                           cursor=cursor)


def _act(runs: list, rid: str, row: dict | None) -> None:
    """A decision row the sensor wrote → a ``guardrail_action`` run (run key = decision id, so a
    decision gets one run however many ticks see it)."""
    if not row or not row.get("decision_id"):
        return
    runs.append(dg.RunRequest(
        run_key=f"{rid}:{row['decision_id']}", partition_key=rid, job_name="guardrail_action",
        run_config={"ops": {"confirm_guardrail_action": {"config": {"decision_id": row["decision_id"]}}}},
        tags={"agent_release/release": rid, "agent_release/decision": str(row.get("decision")),
              "agent_release/decision_id": row["decision_id"]}))


def _spec_alert(context, w, flag_backend, warehouse, lake, actor: str, events: list, runs: list) -> None:
    """A live release whose spec file is invalid or whose criteria changed: an error in the log, an
    observation naming file, line, column and field, and a HOLD row (once per episode) while its
    rollout is live — it stays watched under the spec in force (w.spec)."""
    rid = w.release_id
    context.log.error(w.message)
    row = None
    if w.spec is not None and w.problem in ("spec_invalid", "criteria_changed"):
        try:
            row = _watch_hold(w.spec, flag_backend.for_spec(w.spec, warehouse), lake, actor, w.problem,
                              f"{w.message} — the rollout is held (no further step; the flag and the auto-rollback "
                              "watch stay)", w.problem_key,
                              {"spec_error": w.error.to_dict() if w.error else None, "live_spec_hash": w.live_hash,
                               "file_spec_hash": w.file_spec.spec_hash if w.file_spec else None})
        except Exception as exc:  # noqa: BLE001
            context.log.error(f"{rid}: could not record the HOLD: {type(exc).__name__}")
    _act(runs, rid, row)
    meta = {"spec_alert": w.message[:2000], "spec_problem": w.problem, "hold_recorded": row is not None,
            "watched_under_spec": w.spec.spec_hash if w.spec else "none"}
    if w.error is not None:
        meta.update(spec_file=str(w.error.file), spec_line=w.error.line or 0, spec_column=w.error.column or 0,
                    spec_field=w.error.field)
    events.append(_observation(rid, **meta))


@dg.sensor(
    name="model_version_pin_sensor", minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
    jobs=[guardrail_action_job],
    description=("Model versions are pinned: compares the model id live traffic reports (per arm) with the "
                 "release spec. A change freezes the rollout (no further step; the flag stays and the "
                 "guardrail sensor keeps watching) and opens a new release data/releases/<id>-model-<model>.yaml "
                 "that must pass pre-prod again (registered as a partition at once)."),
)
def model_version_pin_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource,
                             flag_backend: FlagBackendResource):
    from agent_release.rollout.watch import model_pin_tick

    lake = warehouse.lake()
    actor = "sensor:model_version_pin_sensor"
    events, msgs, new = [], [], []
    runs: list[dg.RunRequest] = []
    for spec in _releases(context, lake):
        try:
            tick = model_pin_tick(spec, flag_backend.for_spec(spec, warehouse), lake, actor=actor,
                                  source=_live_source())
        except Exception as exc:  # noqa: BLE001
            context.log.error(f"{spec.release_id}: model pin watch failed: {type(exc).__name__}: {exc}")
            continue
        msgs.append(tick.message)
        if tick.action == "freeze":
            context.log.warning(tick.message)
            _act(runs, spec.release_id, tick.details.get("decision"))
            new.append(tick.details["new_release_id"])
            events.append(_observation(spec.release_id, frozen=tick.message[:2000],
                                       new_release_id=tick.details["new_release_id"]))
    known = set(context.instance.get_dynamic_partitions(RELEASES))
    new = [r for r in new if r not in known]
    if events:
        warehouse.publish()
    return dg.SensorResult(
        run_requests=runs or None, skip_reason=None if runs else ("; ".join(msgs)[:4000] or "no release registered"),
        asset_events=events,
        dynamic_partitions_requests=[dg.AddDynamicPartitionsRequest(RELEASES, new)] if new else None)


@dg.sensor(
    name="rollback_readiness_sensor", minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.RUNNING,
    description=("Rollback readiness, continuously once a release's flag is at 50% or more: the baseline agent "
                 "still answers (a chat completion to its endpoint; a simulated baseline is served on "
                 "loopback) and the flag can be changed (a no-op write round trip). Every check is a row in "
                 "rollout.readiness; a failure is logged as an error and blocks the next step."),
)
def rollback_readiness_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource,
                              flag_backend: FlagBackendResource):
    from agent_release.rollout.watch import readiness_tick

    lake = warehouse.lake()
    actor = "sensor:rollback_readiness_sensor"
    msgs = []
    for spec in _releases(context, lake):
        try:
            tick = readiness_tick(spec, flag_backend.for_spec(spec, warehouse), lake, actor=actor)
        except Exception as exc:  # noqa: BLE001
            context.log.error(f"{spec.release_id}: readiness watch failed: {type(exc).__name__}: {exc}")
            continue
        if tick.action == "readiness_failed":
            context.log.error(tick.message)
        msgs.append(tick.message)
    return dg.SensorResult(skip_reason="; ".join(msgs)[:4000] or "no release registered")


defs = dg.Definitions(
    assets=[rollout_plan, rollout_decisions],
    asset_checks=[rollout_healthy],
    jobs=[rollout_job, manual_rollback_job, guardrail_action_job],
    sensors=[rollout_guardrail_sensor, model_version_pin_sensor, rollback_readiness_sensor],
    resources={"rollout_simulation": RolloutSimulationResource(), "flag_backend": FlagBackendResource()},
)
