"""Which spec a live release is watched under: the last known good spec, by hash.

A live rollout's protection (auto-rollback thresholds, the model pin, rollback readiness) must
never depend on its spec *file* staying valid. Every time a release's spec parses, its canonical
form is recorded in ``rollout.spec_snapshots`` (one row per spec hash, partition per release).
The watches then resolve, per release:

* the file is valid and the live rollout (the spec hash of the release's latest rollout decision)
  runs under the same hash, or there is no live rollout → the file's spec;
* the file is valid but its criteria differ from the live rollout's (another spec hash; a wording
  change of ``description`` does not change the hash) → the live rollout stays watched under the
  **live** spec (its thresholds, model pins and state), and the change is reported: the new
  criteria are applied explicitly — the controller enters a step under them only after the gate
  and the canary have decided on the new spec;
* the file is invalid (YAML error, a typo in a field) or gone → the live spec (or, with no live
  rollout, the last known good one), and an alert naming file, line, column and field.

Other releases are never affected: resolution is per release and never raises.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from agent_release.release_spec import ReleaseSpec, SpecError, parse

SNAPSHOTS = "rollout.spec_snapshots"

SNAPSHOT_SCHEMA: dict[str, pl.DataType] = {
    "release_id": pl.String, "spec_hash": pl.String, "spec_json": pl.String, "source": pl.String,
    "recorded_at": pl.Datetime("us", "UTC"),
}

SNAPSHOT_COLUMN_DOCS: dict[str, str] = {
    "release_id": "Release.",
    "spec_hash": "Spec content hash (every criterion; the description excluded).",
    "spec_json": "The canonical spec (defaults filled in) as JSON: what a live rollout is watched under "
                 "when its file is later broken or changed.",
    "source": "Where the spec was read (file path).",
    "recorded_at": "When this spec hash was first seen (wall clock, UTC).",
}


def _read(lake, release_id: str) -> pl.DataFrame:
    if release_id not in lake.partitions(SNAPSHOTS):
        return pl.DataFrame(schema=SNAPSHOT_SCHEMA)
    return lake.read(SNAPSHOTS, partition=release_id).cast(SNAPSHOT_SCHEMA, strict=False).select(
        list(SNAPSHOT_SCHEMA))


def remember(lake, spec: ReleaseSpec, source: str = "") -> bool:
    """Record ``spec`` (idempotent by hash). Returns True when a new hash was recorded."""
    have = _read(lake, spec.release_id)
    if spec.spec_hash in set(have["spec_hash"].to_list()):
        return False
    with lake.locked("spec_snapshots"):
        have = _read(lake, spec.release_id)
        if spec.spec_hash in set(have["spec_hash"].to_list()):
            return False
        row = pl.DataFrame([{
            "release_id": spec.release_id, "spec_hash": spec.spec_hash,
            "spec_json": json.dumps(spec.to_dict(), default=list, sort_keys=True), "source": source,
            "recorded_at": datetime.now(UTC)}], schema=SNAPSHOT_SCHEMA)
        lake.write(SNAPSHOTS, pl.concat([have, row], how="vertical"), partition=spec.release_id)
    return True


def _from_json(text: str, spec_hash: str) -> ReleaseSpec:
    spec = parse(json.loads(text), source="rollout.spec_snapshots")
    # the hash the rollout's rows carry is the hash of record (a later code change of defaults must
    # not detach a live rollout from its own decisions)
    return ReleaseSpec(**{**spec.__dict__, "spec_hash": spec_hash})


def snapshot(lake, release_id: str, spec_hash: str) -> ReleaseSpec | None:
    d = _read(lake, release_id).filter(pl.col("spec_hash") == spec_hash)
    return _from_json(d["spec_json"][0], spec_hash) if d.height else None


def last_known_good(lake, release_id: str) -> ReleaseSpec | None:
    d = _read(lake, release_id).sort("recorded_at")
    return _from_json(d["spec_json"][-1], d["spec_hash"][-1]) if d.height else None


def live_spec_hash(lake, release_id: str) -> str | None:
    """Spec hash of the release's latest rollout decision (the rollout that owns the flag)."""
    from agent_release.rollout.store import read_decisions

    d = read_decisions(lake, release_id)
    return None if d.height == 0 else str(d.sort("seq")["spec_hash"][-1])


@dataclass(frozen=True)
class WatchedSpec:
    """What a watch uses for one release, and what is wrong with its file (if anything)."""

    release_id: str
    spec: ReleaseSpec | None  # None: nothing known to watch under (never-valid file, no live rollout)
    file_spec: ReleaseSpec | None
    error: SpecError | None  # the file's error (located: file, line, column, field)
    live_hash: str | None
    problem: str = ""  # "" | spec_invalid | criteria_changed | spec_unknown

    @property
    def message(self) -> str:
        rid = self.release_id
        if self.problem == "spec_invalid":
            under = (f"still watched under the last known good spec {self.spec.spec_hash}" if self.spec
                     else "no valid spec was ever recorded: NOT watched")
            return f"{rid}: spec file invalid — {self.error}; {under}"
        if self.problem == "criteria_changed":
            return (f"{rid}: spec file criteria changed ({self.live_hash} → {self.file_spec.spec_hash}) under a live "
                    f"rollout; the live rollout stays watched under its spec {self.live_hash}; the new criteria apply "
                    "only when the controller enters a step under them (after gate and canary on the new spec)")
        if self.problem == "spec_unknown":
            return (f"{rid}: the live rollout's spec {self.live_hash} was never recorded; watched under the file's "
                    f"spec {self.file_spec.spec_hash}")
        return f"{rid}: spec {self.spec.spec_hash if self.spec else '?'}"

    @property
    def problem_key(self) -> str:
        """Identifies one episode of the problem (one alert row per episode)."""
        if self.problem == "spec_invalid":
            return hashlib.sha256(f"{self.error}".encode()).hexdigest()[:12]
        if self.problem == "criteria_changed":
            return f"{self.live_hash}->{self.file_spec.spec_hash}"
        return ""


def resolve(lake, release_id: str, *, releases_dir: Path | None = None) -> WatchedSpec:
    """The spec a watch of ``release_id`` must use now (see module doc). Never raises for a bad file."""
    from agent_release import release_spec as rs

    rdir = releases_dir or rs.releases_dir()
    path = rdir / f"{release_id}.yaml"
    file_spec, error = None, None
    try:
        if not path.exists():
            raise SpecError("<file>", "spec file not found", file=str(path))
        file_spec = rs.load(path)
    except SpecError as exc:
        error = exc
    live = live_spec_hash(lake, release_id)
    if file_spec is not None:
        try:
            remember(lake, file_spec, str(path))
        except OSError:  # recording must never stop a watch
            pass
        if live is None or live == file_spec.spec_hash:
            return WatchedSpec(release_id, file_spec, file_spec, None, live)
        live_spec = snapshot(lake, release_id, live)
        if live_spec is None:
            return WatchedSpec(release_id, file_spec, file_spec, None, live, "spec_unknown")
        return WatchedSpec(release_id, live_spec, file_spec, None, live, "criteria_changed")
    spec = (snapshot(lake, release_id, live) if live else None) or last_known_good(lake, release_id)
    return WatchedSpec(release_id, spec, None, error, live, "spec_invalid")
