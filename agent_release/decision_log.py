"""Append-only decision history: every gate decision and every canary look ever made.

Decisions are data that must survive being superseded: a BLOCK followed by a PROMOTE keeps both
rows, so a reviewer can always see what was decided, when, and on which inputs. So decisions are
never written over. Each append writes *new* partition files into the Parquet lake
(``<release_id>__<UTC timestamp>__<short id>``; see :class:`agent_release.warehouse.Lake`), and
the "current" tables analysts query (``evals.gate_decisions``, ``canary.decisions``,
``canary.decision_metrics``, ``canary.decision_segments``) are views over the history
(``agent_release.warehouse.DERIVED_VIEWS``).

Every row carries the input-manifest hash (:mod:`agent_release.manifest`) of the inputs it was
decided on, and a deterministic ``decision_id``; appending an id already present is a no-op, so a
re-run after a crash never duplicates a decision. The check-then-write runs under an exclusive
file lock (several processes decide: assets, sensors, the CLI).

* Gate: :func:`append_gate_decision`, :func:`gate_history`, :func:`current_gate_decision` (the
  last *recorded*, by ``seq`` then ``recorded_at`` — append order, never the caller-supplied
  ``decided_at``, which a caller could set in the past or future), :func:`gate_staleness` (is it still valid for the
  inputs as they are now, and which inputs changed).
* Canary: one *evaluation* (a run of the exit decision over the soak so far: one row per daily
  look, plus metric and segment rows) is appended whole by :func:`append_canary_looks`;
  :func:`canary_looks` / :func:`latest_canary_decision` read the latest evaluation of a release.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from agent_release.catalog import (
    CANARY_DECISION_HISTORY,
    CANARY_METRIC_HISTORY,
    CANARY_SEGMENT_HISTORY,
    GATE_DECISION_HISTORY,
    INPUT_MANIFESTS,
)

__all__ = [
    "GATE_DECISION_HISTORY", "CANARY_DECISION_HISTORY", "CANARY_METRIC_HISTORY", "CANARY_SEGMENT_HISTORY",
    "INPUT_MANIFESTS", "GateStatus", "append_gate_decision", "gate_history", "current_gate_decision",
    "gate_staleness", "append_canary_looks", "canary_history", "canary_looks", "canary_look_metrics",
    "canary_look_segments", "latest_canary_decision", "evaluation_id_for", "record_input_manifests",
]

#: columns that are bookkeeping, not content (left out of the content hash)
_BOOKKEEPING = {"decision_id", "seq", "decided_at", "recorded_at", "content_hash", "previous_decision_id"}


# ------------------------------------------------------------------------------------ helpers
def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _sha(*parts: Any) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(str(p).encode())
        h.update(b"\x1f")
    return h.hexdigest()


def _default(o: Any) -> Any:
    if isinstance(o, (datetime, date)):
        return o.isoformat()
    if hasattr(o, "item") and callable(o.item):  # numpy scalars
        return o.item()
    return str(o)


def _flat(row: dict) -> dict:
    """Nested values (lists, dicts, tuples) become JSON strings (as ``defs.meta.json_flat``)."""
    return {k: (json.dumps(v, default=_default, sort_keys=True, ensure_ascii=False)
                if isinstance(v, (dict, list, tuple)) else v) for k, v in row.items()}


def _content_hash(row: dict) -> str:
    body = {k: v for k, v in row.items() if k not in _BOOKKEEPING}
    return _sha(json.dumps(body, default=_default, sort_keys=True, ensure_ascii=False))[:24]


def _release_parts(lake, table: str, release_id: str) -> list[str]:
    return [p for p in lake.partitions(table) if p.startswith(release_id + "__")]


def _read(lake, table: str, release_id: str | None) -> pl.DataFrame:
    parts = lake.partitions(table) if release_id is None else _release_parts(lake, table, release_id)
    if not parts:
        return pl.DataFrame()
    df = pl.concat([lake.read(table, partition=p) for p in parts], how="diagonal_relaxed")
    if release_id is not None and "release_id" in df.columns:
        df = df.filter(pl.col("release_id") == release_id)
    return df


def _frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, infer_schema_length=None)


# ------------------------------------------------------------------------------------ gate
def gate_history(lake, release_id: str | None = None) -> pl.DataFrame:
    """Every gate decision ever recorded (of one release, or all), in append order (``seq``, then
    ``recorded_at``) — the caller-supplied ``decided_at`` never reorders the history."""
    df = _read(lake, GATE_DECISION_HISTORY, release_id)
    if df.is_empty():
        return df
    return df.sort("release_id", "seq", "recorded_at")


def current_gate_decision(lake, release_id: str) -> dict | None:
    """The release's last *recorded* gate decision (by ``seq``, then ``recorded_at``), or None."""
    df = gate_history(lake, release_id)
    return df.row(-1, named=True) if df.height else None


def append_gate_decision(lake, row: dict, *, manifest) -> dict:
    """Append one gate decision row (``GateDecision.to_row()``) made on ``manifest``
    (:class:`agent_release.manifest.InputManifest`); returns the row as stored.

    Adds ``manifest_hash``, ``manifest_json``, ``decided_at`` (now) when missing, and the
    bookkeeping columns ``seq``, ``recorded_at``, ``content_hash``, ``previous_decision_id`` and
    ``decision_id``. Without an explicit ``decision_id`` the id is a hash of the row's content and
    of the release's previous decision: re-running a decision identical to the latest one appends
    nothing, while the same decision made again after a different one (BLOCK → PROMOTE → BLOCK) is
    a new row. Appending a ``decision_id`` already present is a no-op (returns the stored row).
    """
    row = _flat(dict(row))
    rid = row.get("release_id")
    if not rid:
        raise ValueError("a gate decision row needs a release_id")
    row["manifest_hash"] = manifest.manifest_hash
    row.setdefault("manifest_json", manifest.to_json())
    row["decided_at"] = row.get("decided_at") or _now().replace(microsecond=0)
    content = _content_hash(row)
    with lake.locked("gate_decision_history"):
        hist = gate_history(lake, rid)
        prev = hist.row(-1, named=True) if hist.height else None  # the last recorded row (append order)
        ids = set(hist["decision_id"].to_list()) if hist.height else set()
        explicit = row.get("decision_id")
        if explicit and explicit in ids:
            return hist.filter(pl.col("decision_id") == explicit).row(0, named=True)
        if not explicit and prev is not None and prev.get("content_hash") == content:
            return prev  # a re-run of the decision in force: nothing new was decided
        did = explicit or "gate-" + _sha(content, prev["decision_id"] if prev else "")[:20]
        if did in ids:
            return hist.filter(pl.col("decision_id") == did).row(0, named=True)
        now = _now()
        row.update(
            decision_id=did, seq=int(hist["seq"].max()) + 1 if hist.height else 0, recorded_at=now,
            content_hash=content, previous_decision_id=prev["decision_id"] if prev else None,
        )
        lake.write(GATE_DECISION_HISTORY, _frame([row]), partition=f"{rid}__{_stamp(now)}__{did[-10:]}")
        _write_manifest(lake, rid, manifest.manifest_hash, manifest.to_json(), None, now)
    return row


class GateStatus(tuple):
    """``(decision, decision_spec_hash, current_spec_hash, status)`` — the shape callers unpack —
    with the details as attributes: ``decision_id``, ``decided_at``, ``decision_manifest_hash``,
    ``current_manifest_hash``, ``changed`` (names of the input-manifest components that differ)
    and ``reasons`` (why the status is what it is, readable)."""

    def __new__(cls, decision: str, decision_spec_hash: str, current_spec_hash: str, status: str, *,
                decision_id: str | None = None, decided_at: Any = None, decision_manifest_hash: str = "",
                current_manifest_hash: str = "", changed: tuple[str, ...] = (), reasons: tuple[str, ...] = ()):
        self = super().__new__(cls, (decision, decision_spec_hash, current_spec_hash, status))
        self.decision, self.status = decision, status
        self.decision_spec_hash, self.current_spec_hash = decision_spec_hash, current_spec_hash
        self.decision_id, self.decided_at = decision_id, decided_at
        self.decision_manifest_hash, self.current_manifest_hash = decision_manifest_hash, current_manifest_hash
        self.changed, self.reasons = tuple(changed), tuple(reasons)
        return self

    def __getnewargs_ex__(self):
        return tuple(self), {k: getattr(self, k) for k in (
            "decision_id", "decided_at", "decision_manifest_hash", "current_manifest_hash", "changed", "reasons")}


def _components(manifest_json: str | None) -> dict[str, str] | None:
    if not manifest_json:
        return None
    try:
        return dict(json.loads(manifest_json).get("components") or {})
    except (ValueError, AttributeError):
        return None


def gate_staleness(lake, release_id: str, current=None, *, current_spec_hash: str = "",
                   error: str | None = None) -> GateStatus:
    """The release's current gate decision judged against ``current`` (the release's input
    manifest as it is now, :func:`agent_release.manifest.input_manifest`).

    Status: ``NO DECISION`` (none recorded), ``STALE`` (any input changed since the decision —
    ``changed`` names the components — or the current manifest cannot be computed: ``error``),
    else the decision itself (``PROMOTE`` / ``BLOCK``)."""
    d = current_gate_decision(lake, release_id)
    if d is None:
        return GateStatus("none", "", current_spec_hash, "NO DECISION",
                          reasons=("no gate decision recorded for this release",))
    common = dict(decision_id=d.get("decision_id"), decided_at=d.get("decided_at"),
                  decision_manifest_hash=d.get("manifest_hash") or "")
    dec, dec_spec = d.get("decision") or "none", d.get("spec_hash") or ""
    if current is None:
        return GateStatus(dec, dec_spec, current_spec_hash, "STALE", **common,
                          reasons=(f"the release's current inputs cannot be read ({error or 'unknown'}); "
                                   "the decision cannot be shown to still hold",))
    cur_spec = current_spec_hash or current.components.get("spec", "")
    if d.get("manifest_hash") == current.manifest_hash:
        return GateStatus(dec, dec_spec, cur_spec, dec, **common, current_manifest_hash=current.manifest_hash,
                          reasons=(f"decided on the current inputs (manifest {current.manifest_hash})",))
    old = _components(d.get("manifest_json"))
    changed = tuple(current.changed(old)) if old is not None else ()
    what = ", ".join(changed) if changed else "unknown (the decision records no manifest components)"
    return GateStatus(dec, dec_spec, cur_spec, "STALE", **common, current_manifest_hash=current.manifest_hash,
                      changed=changed,
                      reasons=(f"inputs changed since the {dec} of {d.get('decided_at')}: {what} "
                               f"(manifest {d.get('manifest_hash') or 'none'} → {current.manifest_hash}); "
                               "re-run the gate",))


# ------------------------------------------------------------------ current input manifests
def _write_manifest(lake, rid: str, mhash: str | None, mjson: str | None, error: str | None,
                    now: datetime) -> None:
    lake.write(INPUT_MANIFESTS, pl.DataFrame(
        [{"release_id": rid, "manifest_hash": mhash, "manifest_json": mjson, "checked_at": now, "error": error}],
        schema={"release_id": pl.String, "manifest_hash": pl.String, "manifest_json": pl.String,
                "checked_at": pl.Datetime("us", "UTC"), "error": pl.String}), partition=rid)


def record_input_manifests(lake, release_ids: list[str] | None = None) -> dict[str, str | None]:
    """Recompute the current input manifest of each release that has gate decisions (or of
    ``release_ids``) and store it in ``evals.input_manifests`` (one partition per release,
    rewritten only when the hash changed), so the ``evals.gate_decisions`` view can say STALE.
    This is a current-state snapshot, not a decision. Returns release → current hash (None when
    the spec cannot be loaded)."""
    from agent_release.manifest import input_manifest
    from agent_release.release_spec import load_release

    if release_ids is None:
        parts = lake.partitions(GATE_DECISION_HISTORY)
        release_ids = sorted({p.split("__", 1)[0] for p in parts})
    out: dict[str, str | None] = {}
    now = _now()
    for rid in release_ids:
        try:
            m = input_manifest(load_release(rid))
            mhash, mjson, err = m.manifest_hash, m.to_json(), None
        except Exception as exc:  # noqa: BLE001 - spec deleted or invalid: the view says STALE
            mhash, mjson, err = None, None, f"{type(exc).__name__}"
        out[rid] = mhash
        if rid in lake.partitions(INPUT_MANIFESTS):
            old = lake.read(INPUT_MANIFESTS, partition=rid).row(0, named=True)
            if old.get("manifest_hash") == mhash and old.get("error") == err:
                continue
        _write_manifest(lake, rid, mhash, mjson, err, now)
    return out


# ------------------------------------------------------------------------------------ canary
def evaluation_id_for(release_id: str, *parts: Any) -> str:
    """A deterministic evaluation id from what the evaluation rests on (e.g. the manifest hash,
    the exit-criteria hash and the data watermark): the same inputs give the same id, so
    re-materializing the exit decision on unchanged data appends nothing."""
    return "eval-" + _sha(release_id, *parts)[:20]


def append_canary_looks(lake, release_id: str, looks: list[dict], metric_rows: list[dict],
                        segment_rows: list[dict], *, manifest_hash: str, evaluation_id: str) -> dict:
    """Append one canary evaluation: its looks (``CanaryDecision.to_row()``, one per daily look,
    in order), their metric rows and segment rows, tagged with ``evaluation_id``, an increasing
    ``evaluation_seq`` and ``manifest_hash``. Re-appending an ``evaluation_id`` already recorded
    for the release does nothing. Metric and segment rows are written before the looks, which
    commit the evaluation; a crash between leaves uncommitted files that the re-run replaces (same
    partition name), so nothing is ever duplicated. Returns a summary dict."""
    if not looks:
        return {"appended": False, "reason": "no looks", "evaluation_id": evaluation_id}
    with lake.locked("canary_decision_history"):
        hist = _read(lake, CANARY_DECISION_HISTORY, release_id)
        if hist.height and evaluation_id in set(hist["evaluation_id"].to_list()):
            seq = hist.filter(pl.col("evaluation_id") == evaluation_id)["evaluation_seq"][0]
            return {"appended": False, "reason": "evaluation already recorded", "evaluation_id": evaluation_id,
                    "evaluation_seq": int(seq), "looks": 0}
        eval_seq = int(hist["evaluation_seq"].max()) + 1 if hist.height else 0
        now = _now()
        short = _sha(evaluation_id)[:10]
        orphan = next((p for t in (CANARY_METRIC_HISTORY, CANARY_SEGMENT_HISTORY)
                       for p in _release_parts(lake, t, release_id) if p.endswith("__" + short)), None)
        part = orphan or f"{release_id}__{_stamp(now)}__{short}"
        tag = {"release_id": release_id, "evaluation_id": evaluation_id, "evaluation_seq": eval_seq,
               "manifest_hash": manifest_hash, "recorded_at": now}
        look_rows, by_as_of = [], {}
        for i, r in enumerate(looks):
            r = _flat(dict(r))
            did = "look-" + _sha(release_id, evaluation_id, i, _default(r.get("as_of")))[:20]
            by_as_of.setdefault(_default(r.get("as_of")), did)
            look_rows.append({**r, **tag, "look_seq": i, "decision_id": did})

        def child(rows: list[dict], kind: str) -> list[dict]:
            out = []
            for j, r in enumerate(rows):
                r = _flat(dict(r))
                look = by_as_of.get(_default(r.get("as_of")))
                out.append({**r, **tag, "look_decision_id": look,
                            "row_id": f"{kind}-" + _sha(evaluation_id, j, look)[:20]})
            return out

        if metric_rows:
            lake.write(CANARY_METRIC_HISTORY, _frame(child(metric_rows, "metric")), partition=part)
        if segment_rows:
            lake.write(CANARY_SEGMENT_HISTORY, _frame(child(segment_rows, "segment")), partition=part)
        lake.write(CANARY_DECISION_HISTORY, _frame(look_rows), partition=part)
    return {"appended": True, "evaluation_id": evaluation_id, "evaluation_seq": eval_seq,
            "looks": len(look_rows), "partition": part}


def canary_history(lake, release_id: str | None = None) -> pl.DataFrame:
    """Every canary look of every evaluation (of one release, or all)."""
    df = _read(lake, CANARY_DECISION_HISTORY, release_id)
    return df.sort("release_id", "evaluation_seq", "look_seq") if df.height else df


def _latest_eval(df: pl.DataFrame) -> pl.DataFrame:
    if df.is_empty():
        return df
    return df.filter(pl.col("evaluation_seq") == pl.col("evaluation_seq").max())


def canary_looks(lake, release_id: str) -> pl.DataFrame:
    """The looks of the release's latest canary evaluation, sorted by ``as_of`` (empty if none)."""
    df = _latest_eval(canary_history(lake, release_id))
    return df.sort("as_of", "look_seq") if df.height else df


def latest_canary_decision(lake, release_id: str) -> dict | None:
    """The last look of the release's latest canary evaluation (the current exit decision)."""
    df = canary_looks(lake, release_id)
    return df.row(-1, named=True) if df.height else None


def _latest_children(lake, table: str, release_id: str) -> pl.DataFrame:
    looks = canary_looks(lake, release_id)
    if looks.is_empty():
        return pl.DataFrame()
    df = _read(lake, table, release_id)
    if df.is_empty():
        return df
    return df.filter(pl.col("evaluation_id") == looks["evaluation_id"][0])


def canary_look_metrics(lake, release_id: str) -> pl.DataFrame:
    """Metric rows of the release's latest canary evaluation."""
    return _latest_children(lake, CANARY_METRIC_HISTORY, release_id)


def canary_look_segments(lake, release_id: str) -> pl.DataFrame:
    """Segment rows of the release's latest canary evaluation."""
    return _latest_children(lake, CANARY_SEGMENT_HISTORY, release_id)
