"""Rollout records in the lake: every decision (``rollout.decisions``) and every rollback-readiness
check (``rollout.readiness``), and the rollout state derived from them.

Decisions are written by several processes (the rollout asset, the auto-rollback and
model-pin sensors, the manual-rollback job, the CLI), so rows are appended, one partition file
per release, read-append-rewrite under an exclusive file lock with an atomic replace (the lake's
write). Rows carry a ``decision_id``; appending an id already present does nothing, so a re-run
of the (deterministic) simulated rollout never duplicates a row.

State of a release's rollout (rows of the *current* spec hash, in ``seq`` order):
``NOT_STARTED`` (no row) → ``ACTIVE`` (last row ENTER) / ``HELD`` (last row HOLD: the flag stays at
the step; the analysis did not pass, readiness failed, the live feed stalled, or the inputs changed
since the step was entered) → one of the terminal states
``COMPLETE`` (100% watched without a breach), ``ROLLED_BACK`` (flag pulled: by the sensor, a
person, or the controller), ``FROZEN`` (the model live traffic reports is not the pinned one: a
new release was opened). A terminal rollout is never resumed: rolling back is final for that
spec; ship a new release (or a new spec hash, which must pass the gate again).

Input manifest: state stays keyed by the **spec hash** (a new spec hash is a new rollout). Every
row also records the input-manifest hash; :attr:`RolloutState.manifest_hash` is the one the current
step was entered under. A different current manifest (a price table, golden set, agent profile or
decision-code change) does *not* restart or discard a live rollout — the flag and the auto-rollback
watch stay as they are — but the controller records a HOLD "inputs changed since the step was
entered" and enters no further step (the decisions the step rests on were pre-registered on other
inputs). Rows written before the column existed have no manifest hash and are not judged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

DECISIONS = "rollout.decisions"
READINESS = "rollout.readiness"
PLANS = "rollout.plans"

ENTER, HOLD, ROLLBACK, FREEZE, COMPLETE = "ENTER", "HOLD", "ROLLBACK", "FREEZE", "COMPLETE"
TERMINAL = {ROLLBACK: "ROLLED_BACK", FREEZE: "FROZEN", COMPLETE: "COMPLETE"}

DECISION_SCHEMA: dict[str, pl.DataType] = {
    "decision_id": pl.String, "release_id": pl.String, "spec_hash": pl.String, "seq": pl.Int64,
    "decision": pl.String, "step_index": pl.Int64, "from_percentage": pl.Float64, "to_percentage": pl.Float64,
    "flag": pl.String, "flag_backend": pl.String, "data_time": pl.Datetime("us", "UTC"),
    "decided_at": pl.Datetime("us", "UTC"), "actor": pl.String, "reason": pl.String, "reasons_json": pl.String,
    "conversations_per_hour": pl.Float64, "volume_at_stake_bad_per_hour": pl.Float64,
    "excess_bad_per_hour": pl.Float64, "threshold_scale": pl.Float64, "error_rate_alert": pl.Float64,
    "cost_overrun_alert": pl.Float64, "safety_incidents_alert": pl.Int64, "readiness_ok": pl.Boolean,
    "inputs_json": pl.String, "statistics_json": pl.String, "thresholds_json": pl.String,
    "evidence_json": pl.String, "readiness_json": pl.String, "criteria_doc_hash": pl.String,
    "config_hash": pl.String, "new_release_id": pl.String, "manifest_hash": pl.String,
}

DECISION_COLUMN_DOCS: dict[str, str] = {
    "decision_id": "Unique id (deterministic for the controller, so re-runs never duplicate).",
    "release_id": "Release (partition).",
    "spec_hash": "Content hash of the release spec the decision was made under.",
    "seq": "Order of the decision within the release.",
    "decision": "ENTER (step entered, flag set) | HOLD (stay at the step) | ROLLBACK (flag pulled) | "
                "FREEZE (model version changed; rollout frozen, new release opened) | COMPLETE (100% watched).",
    "step_index": "Index of the step in the plan (0 = the canary share).",
    "from_percentage": "Flag percentage before the decision.",
    "to_percentage": "Flag percentage after the decision.",
    "flag": "Flag name.",
    "flag_backend": "local | unleash.",
    "data_time": "Data time of the decision (simulated / live traffic clock).",
    "decided_at": "Wall-clock time the row was written.",
    "actor": "controller:<asset> | sensor:<name> | cli:<user> | dagster:<run>.",
    "reason": "First reason, readable.",
    "reasons_json": "All reasons (JSON list).",
    "conversations_per_hour": "Measured traffic R (both arms) on the analysed window.",
    "volume_at_stake_bad_per_hour": "Expected bad (errored) conversations per hour at the next step: R * f_next * c.",
    "excess_bad_per_hour": "Part of it above the baseline: R * f_next * max(c - b, 0).",
    "threshold_scale": "s = clamp(sqrt(V0/V), s_min, 1) applied to the guardrail alerts.",
    "error_rate_alert": "Error-rate alert threshold in force after the decision.",
    "cost_overrun_alert": "Cost-per-resolution ratio alert in force after the decision.",
    "safety_incidents_alert": "Safety incidents tolerated per watch window after the decision.",
    "readiness_ok": "Rollback readiness before the step (baseline answers, flag writable).",
    "inputs_json": "Inputs: windows, traffic source/scenario, flag state, canary decision.",
    "statistics_json": "The step analysis: metrics, intervals, p-values, guardrails, counts, SRM.",
    "thresholds_json": "Alert thresholds with the volume at stake and the formula.",
    "evidence_json": "Evidence of a rollback / freeze (guardrail checks, model counts).",
    "readiness_json": "Rollback-readiness check details.",
    "criteria_doc_hash": "Hash of the canary exit-criteria document of the step analysis.",
    "config_hash": "Hash of the rollout run configuration (scenario, rate, seed, step hours).",
    "new_release_id": "FREEZE: the release opened for the new model.",
    "manifest_hash": "Input-manifest hash (agent_release.manifest: spec, golden set, corpora, battery, detectors, "
                     "price table, agent profiles, decision code) the decision was made on; a step entered under "
                     "another manifest is HELD ('inputs changed since the step was entered'), not restarted.",
}

READINESS_SCHEMA: dict[str, pl.DataType] = {
    "check_id": pl.String, "release_id": pl.String, "flag": pl.String, "checked_at": pl.Datetime("us", "UTC"),
    "data_time": pl.Datetime("us", "UTC"), "purpose": pl.String, "percentage": pl.Float64, "ok": pl.Boolean,
    "baseline_ok": pl.Boolean, "baseline_latency_ms": pl.Float64, "baseline_detail": pl.String,
    "flag_ok": pl.Boolean, "flag_latency_ms": pl.Float64, "flag_detail": pl.String, "actor": pl.String,
}

READINESS_COLUMN_DOCS: dict[str, str] = {
    "check_id": "Unique id.", "release_id": "Release.", "flag": "Flag name.",
    "checked_at": "Wall-clock time.", "data_time": "Data time (simulation clock) when known.",
    "purpose": "pre-step (before entering a step) | continuous (watch past 50%).",
    "percentage": "Flag percentage at the check.", "ok": "Both checks passed.",
    "baseline_ok": "The baseline agent answered a chat completion.",
    "baseline_latency_ms": "Wall-clock latency of the probe.", "baseline_detail": "Probe outcome.",
    "flag_ok": "A no-op write round trip on the flag succeeded and read back the same state.",
    "flag_latency_ms": "Round-trip latency.", "flag_detail": "Probe outcome.", "actor": "Who ran the check.",
}


def _now() -> datetime:
    return datetime.now(UTC)


def _default(o: Any) -> Any:
    if isinstance(o, datetime):
        return o.isoformat()
    if hasattr(o, "item") and callable(o.item):  # numpy scalars
        return o.item()
    if hasattr(o, "isoformat"):
        return o.isoformat()
    return str(o)


def _jsonify(v: Any) -> str | None:
    if v is None:
        return None
    return v if isinstance(v, str) else json.dumps(v, default=_default, sort_keys=True)


def _normalize(row: dict, schema: dict) -> dict:
    out = {}
    for k in schema:
        v = row.get(k)
        if k.endswith("_json"):
            v = _jsonify(v) if v is not None else ("[]" if k == "reasons_json" else "{}")
        out[k] = v
    return out


def append_decisions(lake, release_id: str, rows: list[dict]) -> list[dict]:
    """Append decision rows (``seq`` and ``decided_at`` filled in); returns the rows actually added."""
    if not rows:
        return []
    with lake.locked("rollout_decisions"):
        old = read_decisions(lake, release_id)
        have = set(old["decision_id"].to_list())
        seq = int(old["seq"].max()) + 1 if old.height else 0
        new = []
        for r in rows:
            if r["decision_id"] in have:
                continue
            have.add(r["decision_id"])
            r = dict(r, release_id=release_id, seq=seq, decided_at=r.get("decided_at") or _now())
            seq += 1
            new.append(_normalize(r, DECISION_SCHEMA))
        if new:
            df = pl.concat([old, pl.DataFrame(new, schema=DECISION_SCHEMA)], how="vertical")
            lake.write(DECISIONS, df, partition=release_id)
    return new


def read_decisions(lake, release_id: str | None = None) -> pl.DataFrame:
    if release_id is None:
        if not lake.exists(DECISIONS):
            return pl.DataFrame(schema=DECISION_SCHEMA)
        df = lake.read(DECISIONS)
    elif release_id in lake.partitions(DECISIONS):
        df = lake.read(DECISIONS, partition=release_id)
    else:
        return pl.DataFrame(schema=DECISION_SCHEMA)
    return df.cast(DECISION_SCHEMA, strict=False).select(list(DECISION_SCHEMA)).sort("release_id", "seq")


def append_readiness(lake, release_id: str, rows: list[dict]) -> None:
    if not rows:
        return
    with lake.locked("rollout_readiness"):
        part = release_id
        new = pl.DataFrame([_normalize(r, READINESS_SCHEMA) for r in rows], schema=READINESS_SCHEMA)
        if part in lake.partitions(READINESS):
            old = (lake.read(READINESS, partition=part).cast(READINESS_SCHEMA, strict=False)
                   .select(list(READINESS_SCHEMA)))
            have = set(old["check_id"].to_list())
            new = new.filter(~pl.col("check_id").is_in(list(have)))
            new = pl.concat([old, new], how="vertical")
        lake.write(READINESS, new, partition=part)


def read_readiness(lake, release_id: str) -> pl.DataFrame:
    if release_id not in lake.partitions(READINESS):
        return pl.DataFrame(schema=READINESS_SCHEMA)
    return lake.read(READINESS, partition=release_id).cast(READINESS_SCHEMA, strict=False).sort("checked_at")


@dataclass(frozen=True)
class RolloutState:
    release_id: str
    spec_hash: str
    status: str  # NOT_STARTED | ACTIVE | HELD | COMPLETE | ROLLED_BACK | FROZEN
    step_index: int | None
    percentage: float  # flag percentage per the last decision
    entered_at: datetime | None  # data time of the last ENTER
    last: dict | None  # the last decision row
    manifest_hash: str | None = None  # input-manifest hash the current step was entered under

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL.values()

    def thresholds(self):
        from agent_release.rollout.thresholds import AlertThresholds

        for r in ([self.last] if self.last else []):
            if r.get("thresholds_json") and r["thresholds_json"] not in ("{}", "null"):
                return AlertThresholds.from_dict(json.loads(r["thresholds_json"]))
        return None


def rollout_state(lake, release_id: str, spec_hash: str) -> RolloutState:
    d = read_decisions(lake, release_id).filter(pl.col("spec_hash") == spec_hash)
    if d.height == 0:
        return RolloutState(release_id, spec_hash, "NOT_STARTED", None, 0.0, None, None)
    rows = d.sort("seq").to_dicts()
    last = rows[-1]
    enters = [r for r in rows if r["decision"] == ENTER]
    last_enter = enters[-1] if enters else None
    # thresholds in force: those of the last ENTER (HOLD rows keep the step's thresholds)
    status = TERMINAL.get(last["decision"], "HELD" if last["decision"] == HOLD else "ACTIVE")
    pct = float(last["to_percentage"]) if last["to_percentage"] is not None else 0.0
    state_last = dict(last)
    if last["decision"] == HOLD and last_enter is not None and (not last.get("thresholds_json")
                                                                 or last["thresholds_json"] in ("{}", "null")):
        state_last["thresholds_json"] = last_enter["thresholds_json"]
    return RolloutState(release_id, spec_hash, status,
                        int(last_enter["step_index"]) if last_enter else None, pct,
                        last_enter["data_time"] if last_enter else None, state_last,
                        last_enter.get("manifest_hash") if last_enter else None)


def reference_baseline(lake, release_id: str, spec_hash: str | None = None,
                       baseline_version: str | None = None) -> tuple[float | None, float | None, str]:
    """The reference baseline (error rate, cost per resolution) of the release: the one recorded in
    the thresholds of the latest decision row that has one — rows of ``spec_hash`` first, then any
    row of the release measured on the same ``baseline_version`` (a spec edit must not lose the
    reference) — else the canary's baseline cohort. ``(None, None, why)`` when none is known:
    callers must not assume 0."""
    d = read_decisions(lake, release_id)
    if d.height == 0:
        return canary_reference_baseline(lake, release_id)
    rows = d.sort("seq", descending=True).to_dicts()
    order = ([r for r in rows if r["spec_hash"] == spec_hash] if spec_hash else []) + [
        r for r in rows if not spec_hash or r["spec_hash"] != spec_hash]
    for r in order:
        tj = r.get("thresholds_json")
        if not tj or tj in ("{}", "null"):
            continue
        t = json.loads(tj)
        if t.get("baseline_error_rate") is None:
            continue
        if r["spec_hash"] != spec_hash and baseline_version and t.get("baseline_version") != baseline_version:
            continue
        return (float(t["baseline_error_rate"]), t.get("baseline_cost_per_resolution"),
                f"recorded at {r['decision']} of step {r['step_index']} ({str(r['data_time'])[:16]})")
    return canary_reference_baseline(lake, release_id)


def canary_reference_baseline(lake, release_id: str) -> tuple[float | None, float | None, str]:
    """The baseline cohort as the canary's latest look measured it (its ``error_rate`` and, when an
    exit metric, ``cost_per_resolution``): the reference of last resort when no rollout step recorded
    one. ``(None, None, why)`` when the canary did not measure it."""
    from agent_release.decision_log import canary_look_metrics

    try:
        m = canary_look_metrics(lake, release_id)
    except Exception:  # noqa: BLE001 - no canary tables: no reference, never 0
        return None, None, "no recorded reference baseline"
    if m.is_empty() or "name" not in m.columns:
        return None, None, "no recorded reference baseline"
    vals = {r["name"]: r.get("value_baseline") for r in m.to_dicts()}
    b = vals.get("error_rate")
    if b is None:
        return None, None, "no recorded reference baseline (the canary's exit metrics have no error_rate)"
    as_of = str(m["as_of"][0])[:16] if "as_of" in m.columns else "?"
    return float(b), vals.get("cost_per_resolution"), f"the canary's baseline cohort (look of {as_of})"
