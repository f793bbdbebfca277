"""Actions on a live rollout: roll back (pull the flag), freeze on a model-version change, and hold
(record that the rollout must not advance: a stalled live feed).

Used by everything that can act — the controller, the auto-rollback sensor, the model-pin
sensor, the manual-rollback job and ``agent-release rollback`` — so they all leave the same
records: an audit row in ``rollout.flag_audit`` (written by the flag backend) and a decision row
in ``rollout.decisions`` with the reason, the evidence and the input-manifest hash.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent_release.flags import FlagBackend, flag_name
from agent_release.rollout import store


def manifest_hash(spec) -> str | None:
    """The input-manifest hash of ``spec``'s inputs (``None`` if it cannot be computed: an action that
    protects users — a rollback — must never fail because an input file is unreadable)."""
    try:
        from agent_release.manifest import input_manifest

        return input_manifest(spec).manifest_hash
    except Exception:  # noqa: BLE001
        return None


@dataclass(frozen=True)
class RollbackResult:
    release_id: str
    flag: str
    changed: bool  # False: the flag was already off (no audit row)
    from_percentage: float
    decision: dict | None  # the decision row written (None when skipped)
    message: str


def rollback(spec, backend: FlagBackend, lake, *, reason: str, actor: str, evidence: dict | None = None,
             data_time: datetime | None = None, skip_if_off: bool = False,
             decision_id: str | None = None, config_hash: str | None = None,
             manifest: str | None = None) -> RollbackResult:
    """Pull the release's flag (disabled, 0%) and record why.

    Works at every step, 100% included. ``skip_if_off``: when the flag is already off, write
    nothing at all (the sensor's idempotence); otherwise a manual rollback of an already-off flag
    is still recorded as a decision (the person's intent), without a flag change.
    """
    from agent_release.rollout import journal

    flag = flag_name(spec)
    mhash = manifest or manifest_hash(spec)

    def decision_for(change) -> dict | None:
        if change.noop and skip_if_off:
            return None
        state = store.rollout_state(lake, spec.release_id, spec.spec_hash)
        return {
            "decision_id": decision_id or uuid.uuid4().hex, "spec_hash": spec.spec_hash, "decision": store.ROLLBACK,
            "step_index": state.step_index, "from_percentage": change.from_effective, "to_percentage": 0.0,
            "flag": flag, "flag_backend": backend.name, "data_time": data_time, "actor": actor,
            "reason": reason if not change.noop else f"{reason} (flag was already off)",
            "reasons_json": [reason], "evidence_json": dict(evidence or {}, flag_change_id=None if change.noop
                                                             else change.change_id),
            "inputs_json": {"flag_before": {"enabled": change.from_enabled, "percentage": change.from_percentage},
                            "rollout_status_before": state.status},
            "config_hash": config_hash, "manifest_hash": mhash,
        }

    res = journal.change_flag(backend, lake, flag=flag, action="kill", percentage=0.0, reason=reason, actor=actor,
                              release_id=spec.release_id, data_time=data_time, evidence=evidence,
                              decision_for=decision_for)
    change = res.change
    if change.noop and skip_if_off:
        return RollbackResult(spec.release_id, flag, False, 0.0, None, "flag already off: nothing to do")
    msg = (f"{spec.release_id}: flag {flag} pulled from {change.from_effective:g}% to 0% by {actor}"
           if not change.noop else f"{spec.release_id}: flag {flag} was already off; rollback recorded")
    return RollbackResult(spec.release_id, flag, not change.noop, change.from_effective, res.decision, msg)


# --------------------------------------------------------------------------- model pinning


@dataclass(frozen=True)
class ModelDrift:
    side: str  # candidate | baseline
    pinned: str
    reported: dict[str, int]  # model -> conversations (only models other than the pinned one)

    @property
    def new_model(self) -> str:
        return max(self.reported.items(), key=lambda kv: (kv[1], kv[0]))[0]

    def describe(self) -> str:
        rep = ", ".join(f"{m!r} in {n:,} conversations" for m, n in sorted(self.reported.items()))
        return f"{self.side} pinned to {self.pinned!r} but live traffic reports {rep}"


def model_drift(spec, models: dict[str, dict[str, int]], *, min_conversations: int = 1) -> list[ModelDrift]:
    """Compare the model ids live traffic reports per arm with the pinned ones."""
    out = []
    for side, pinned in (("candidate", spec.candidate.model), ("baseline", spec.baseline.model)):
        other = {m: n for m, n in (models.get(side) or {}).items() if m != pinned and n >= min_conversations}
        if other:
            out.append(ModelDrift(side, pinned, other))
    return out


def _slug(model: str) -> str:
    s = re.sub(r"[^a-z0-9._-]+", "-", model.lower()).strip("-._")
    return s or hashlib.sha256(model.encode()).hexdigest()[:8]


def new_release_id(release_id: str, model: str) -> str:
    """``<id>-model-<short>``: short = slug of the model id, shortened with a hash to fit 64 chars."""
    slug = _slug(model)
    rid = f"{release_id}-model-{slug}"
    if len(rid) <= 64:
        return rid
    h = hashlib.sha256(model.encode()).hexdigest()[:8]
    room = 64 - len(release_id) - len("-model-") - 9
    if room < 4:
        return f"{release_id[:40]}-model-{h}"
    return f"{release_id}-model-{slug[:room].rstrip('-._')}-{h}"


def open_model_release(spec, drifts: list[ModelDrift], *, detected_at: datetime | None = None,
                       releases_dir: Path | None = None) -> tuple[str, Path, bool]:
    """Write ``data/releases/<id>-model-<short>.yaml``: the old spec with the model(s) live traffic
    reports, a description saying why, and everything else unchanged (same criteria, its own
    flag). It is a new release: it must pass pre-prod again before any traffic moves to it.
    Returns (release id, path, created) — ``created`` False when the file already existed."""
    import yaml

    from agent_release import release_spec as rs

    rdir = releases_dir or rs.releases_dir()
    src = rdir / f"{spec.release_id}.yaml"
    raw = (yaml.safe_load(src.read_text()) if src.exists()
           else json.loads(json.dumps(spec.to_dict(), default=list)))
    main = next((d for d in drifts if d.side == "candidate"), drifts[0])
    rid = new_release_id(spec.release_id, main.new_model)
    path = rdir / f"{rid}.yaml"
    if path.exists():
        return rid, path, False
    raw = dict(raw)
    raw["release_id"] = rid
    for d in drifts:
        side = dict(raw.get(d.side) or {})
        side["model"] = d.new_model
        raw[d.side] = side
    when = (detected_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    raw["description"] = (
        f"Derived from {spec.release_id} (spec {spec.spec_hash}) after live traffic reported a model other than "
        f"the pinned one ({'; '.join(d.describe() for d in drifts)}; detected {when}). Same criteria; must pass "
        f"pre-prod again. " + str(raw.get("description") or "")).strip()
    if isinstance(raw.get("rollout"), dict) and raw["rollout"].get("flag_name") in (None, spec.release_id):
        raw["rollout"] = {k: v for k, v in raw["rollout"].items() if k != "flag_name"}  # its own flag
    rs.parse(raw)  # validate before writing (raises SpecError naming the field)
    header = (f"# Release spec opened automatically by the model-version pin of {spec.release_id}.\n"
              f"# {main.describe()}.\n# It is a new release: pre-prod (gate) must pass before any rollout.\n")
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(header + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
    tmp.replace(path)
    return rid, path, True


def freeze(spec, backend: FlagBackend, lake, drifts: list[ModelDrift], *, actor: str, evidence: dict | None = None,
           data_time: datetime | None = None, releases_dir: Path | None = None,
           decision_id: str | None = None, config_hash: str | None = None,
           manifest: str | None = None) -> dict | None:
    """Freeze the rollout (no further step; the flag stays where it is and the guardrail watch
    goes on) and open the new release. Idempotent: a frozen rollout is not frozen again."""
    state = store.rollout_state(lake, spec.release_id, spec.spec_hash)
    if state.status == "FROZEN":
        return None
    rid, path, created = open_model_release(spec, drifts, detected_at=data_time, releases_dir=releases_dir)
    flag = flag_name(spec)
    pct = backend.percentage(flag)
    reason = (f"model version changed: {'; '.join(d.describe() for d in drifts)}. Rollout frozen at {pct:g}%; "
              f"new release {rid} opened ({path.name}{'' if created else ', already existed'}) — it must pass "
              "pre-prod again")
    row = {
        "decision_id": decision_id or uuid.uuid4().hex, "spec_hash": spec.spec_hash, "decision": store.FREEZE,
        "step_index": state.step_index, "from_percentage": pct, "to_percentage": pct, "flag": flag,
        "flag_backend": backend.name, "data_time": data_time, "actor": actor, "reason": reason,
        "reasons_json": [reason], "new_release_id": rid,
        "evidence_json": dict(evidence or {}, drifts=[d.__dict__ for d in drifts], new_spec=str(path),
                              new_spec_created=created),
        "config_hash": config_hash, "manifest_hash": manifest or manifest_hash(spec),
    }
    added = store.append_decisions(lake, spec.release_id, [row])
    return added[0] if added else None


def hold(spec, backend: FlagBackend, lake, *, reason: str, actor: str, kind: str, decision_id: str,
         evidence: dict | None = None, data_time: datetime | None = None, thresholds: dict | None = None,
         manifest: str | None = None) -> dict | None:
    """Record a HOLD outside the controller (the flag stays; the controller enters no further step;
    the guardrail watch goes on). ``decision_id`` makes it idempotent (one row per episode)."""
    state = store.rollout_state(lake, spec.release_id, spec.spec_hash)
    if state.terminal:
        return None
    flag = flag_name(spec)
    pct = backend.percentage(flag)
    row = {
        "decision_id": decision_id, "spec_hash": spec.spec_hash, "decision": store.HOLD,
        "step_index": state.step_index, "from_percentage": pct, "to_percentage": pct, "flag": flag,
        "flag_backend": backend.name, "data_time": data_time, "actor": actor, "reason": reason,
        "reasons_json": [reason], "evidence_json": dict(evidence or {}), "thresholds_json": thresholds,
        "inputs_json": {"hold_kind": kind, "rollout_status_before": state.status},
        "manifest_hash": manifest or manifest_hash(spec),
    }
    added = store.append_decisions(lake, spec.release_id, [row])
    return added[0] if added else None


def evidence_json(d: dict[str, Any]) -> str:
    return json.dumps(d, default=str, sort_keys=True)
