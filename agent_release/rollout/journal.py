"""One transaction per flag change: intent → flag write → audit row + decision row, journaled.

Every flag change a rollout makes (the controller entering a step, a rollback by the sensor, a
person, the UI job or the CLI) goes through :func:`change_flag`, which holds the flag's lock
(:func:`agent_release.flags.base.flag_lock`) from the read of the current state to the last record, so

1. concurrent writers are serialised: of eight concurrent rollbacks exactly one changes the flag and
   writes one audit row; the others see the flag off (a manual rollback still records the person's
   decision, "flag was already off", without an audit row — nothing changed);
2. the **intent** (the planned flag change, its audit row and its decision row) is appended to the
   flag's journal ``data/flags/journal/<flag>.jsonl`` and fsync'd *before* the flag is written;
   then the flag, the audit row (``rollout.flag_audit``) and the decision row
   (``rollout.decisions``) are written; then a ``done`` record;
3. a crash (kill -9) between any two writes is repaired by :func:`recover`, which every
   transaction, every guardrail-sensor tick and every controller run calls first under the same
   lock. The journal says what was meant:

   * the flag already shows the intended state → the missing audit and/or decision rows are
     written (both are idempotent by id, so whatever was already written is not duplicated);
   * the flag still shows the old state → a **rollback** (``kill``) is completed (protection is
     never lost to a crash); a traffic **increase** (``set``) that never reached the flag is
     abandoned — nothing changed, nothing is recorded, and the controller decides it again on
     its next run (its decision ids are deterministic);
   * the flag shows neither (changed outside, e.g. in the Unleash UI) → superseded, recorded
     in the journal only.

The journal is append-only JSON lines; a torn last line (a crash mid-append, before the flag was
touched) is ignored. Rows carry no PII: reasons, rates and thresholds only.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from agent_release import faultpoints
from agent_release.flags.base import FlagBackend, FlagChange
from agent_release.rollout import store

log = logging.getLogger(__name__)


def journal_path(lake, flag: str) -> Path:
    from agent_release.flags.audit import _partition_for

    return Path(lake.root).parent / "flags" / "journal" / f"{_partition_for(flag)}.jsonl"


def _append(lake, flag: str, record: dict) -> None:
    p = journal_path(lake, flag)
    p.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(dict(record, at=datetime.now(UTC).isoformat()), default=str, sort_keys=True) + "\n"
    fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def entries(lake, flag: str) -> list[dict]:
    """Journal records of ``flag``, oldest first (a torn or unreadable line is skipped)."""
    p = journal_path(lake, flag)
    if not p.exists():
        return []
    out = []
    for line in p.read_text(errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and rec.get("txn"):
            out.append(rec)
    return out


def pending(lake, flag: str) -> list[dict]:
    """Intents with no closing record (done / repaired / completed / abandoned / superseded / failed)."""
    recs = entries(lake, flag)
    closed = {r["txn"] for r in recs if r.get("state") != "intent"}
    return [r for r in recs if r.get("state") == "intent" and r["txn"] not in closed]


# --------------------------------------------------------------------------- row (de)serialisation
_DT_FIELDS = [k for k, t in store.DECISION_SCHEMA.items() if isinstance(t, pl.Datetime)]


def _encode_row(row: dict | None) -> dict | None:
    if row is None:
        return None
    out = {}
    for k, v in row.items():
        if isinstance(v, datetime):
            v = v.isoformat()
        elif k.endswith("_json") and v is not None and not isinstance(v, str):
            v = store._jsonify(v)
        out[k] = v
    return out


def _decode_row(row: dict | None) -> dict | None:
    if row is None:
        return None
    out = dict(row)
    for k in _DT_FIELDS:
        if isinstance(out.get(k), str):
            out[k] = datetime.fromisoformat(out[k])
    return out


def _change_from(rec: dict) -> FlagChange:
    c = dict(rec["change"])
    for k in ("changed_at", "data_time"):
        if isinstance(c.get(k), str):
            c[k] = datetime.fromisoformat(c[k])
    c.pop("from_effective_percentage", None)
    c.pop("to_effective_percentage", None)
    return FlagChange(**c)


# --------------------------------------------------------------------------- transaction
@dataclass
class TxnResult:
    change: FlagChange
    decision: dict | None  # the decision row added (None: none, or already present)
    repaired: list[dict] = field(default_factory=list)  # what recover() fixed first


def change_flag(backend: FlagBackend, lake, *, flag: str, action: str, percentage: float, reason: str, actor: str,
                release_id: str, data_time: datetime | None = None, evidence: dict[str, Any] | None = None,
                decision_for: Callable[[FlagChange], dict | None] | None = None) -> TxnResult:
    """Change ``flag`` (``action`` ``set`` to ``percentage`` or ``kill``) and write its audit row and
    the decision row ``decision_for(planned_change)`` returns, as one journaled transaction (module
    doc). ``decision_for`` also sees no-op changes (``change.noop``): return ``None`` to record nothing."""
    enabled = action != "kill"
    pct = float(percentage) if enabled else 0.0
    with backend.lock(flag):
        repaired = recover(backend, lake, flag, actor=actor)
        change = backend.plan_change(flag, action, enabled, pct, reason=reason, actor=actor, release_id=release_id,
                                     data_time=data_time, evidence=evidence)
        row = decision_for(change) if decision_for else None
        if change.noop:
            added = store.append_decisions(lake, release_id, [row]) if row else []
            return TxnResult(change, added[0] if added else None, repaired)
        txn = change.change_id
        _append(lake, flag, {"txn": txn, "state": "intent", "flag": flag, "release_id": release_id,
                             "action": action, "from": [change.from_enabled, change.from_percentage],
                             "to": [change.to_enabled, change.to_percentage], "actor": actor,
                             "change": change.to_row(), "decision": _encode_row(row)})
        faultpoints.reached("flag_txn:after_intent")
        try:
            change = backend.apply_change(change)
        except Exception as exc:
            # the write did not (verifiably) happen: the next recover() compares the flag with the intent
            log.error("flag %s: write failed (%s); the journal keeps the intent", flag, type(exc).__name__)
            raise
        faultpoints.reached("flag_txn:after_flag_write")
        backend.record_change(change)
        faultpoints.reached("flag_txn:after_audit")
        added = store.append_decisions(lake, release_id, [row]) if row else []
        faultpoints.reached("flag_txn:after_decision")
        _append(lake, flag, {"txn": txn, "state": "done"})
        return TxnResult(change, added[0] if added else None, repaired)


def recover(backend: FlagBackend, lake, flag: str, *, actor: str) -> list[dict]:
    """Finish or close every pending intent of ``flag`` (module doc). Returns one record per intent."""
    todo = pending(lake, flag)
    if not todo:
        return []
    out = []
    with backend.lock(flag):
        for rec in pending(lake, flag):
            cur = backend.get(flag)
            state = (bool(cur.exists and cur.enabled), float(cur.percentage if cur.exists else 0.0))
            want = (bool(rec["to"][0]), float(rec["to"][1]))
            was = (bool(rec["from"][0]), float(rec["from"][1]))
            change = _change_from(rec)
            row = _decode_row(rec.get("decision"))
            note = {"journal_txn": rec["txn"], "repaired_by": actor, "repaired_at": datetime.now(UTC).isoformat()}
            if state == want or (not want[0] and not state[0]):
                outcome = "repaired"  # the flag write happened; the records may not have
                change = FlagChange(**{**change.__dict__, "backend_version": cur.version})
            elif state == was and rec["action"] == "kill":
                outcome = "completed"  # a rollback that never reached the flag: protection first
                change = backend.apply_change(change)
            elif state == was:
                _append(lake, flag, {"txn": rec["txn"], "state": "abandoned", "by": actor,
                                     "why": "a traffic increase that never reached the flag; the controller "
                                            "decides it again"})
                out.append({"txn": rec["txn"], "outcome": "abandoned"})
                continue
            else:
                _append(lake, flag, {"txn": rec["txn"], "state": "superseded", "by": actor,
                                     "why": f"flag now {state}, neither {was} nor {want}: changed outside"})
                out.append({"txn": rec["txn"], "outcome": "superseded"})
                continue
            backend.record_change(change)
            if row is not None:
                ev = json.loads(row.get("evidence_json") or "{}")
                ev["journal"] = dict(note, outcome=outcome)
                row = dict(row, evidence_json=json.dumps(ev, default=str, sort_keys=True))
                store.append_decisions(lake, rec["release_id"], [row])
            _append(lake, flag, {"txn": rec["txn"], "state": outcome, "by": actor})
            log.warning("flag %s: journal transaction %s %s by %s", flag, rec["txn"], outcome, actor)
            out.append({"txn": rec["txn"], "outcome": outcome})
    return out
