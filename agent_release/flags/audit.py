"""The flag audit trail: one row per flag change in the lake table ``rollout.flag_audit``.

Storage follows the lake's rules (Parquet, atomic replace): one partition file per flag. An
append reads the flag's partition, adds the row and writes the file back with an atomic rename,
under an exclusive file lock (``data/.locks/flag_audit.lock``), so concurrent writers (the rollout
asset, a sensor, the CLI) never lose a row; an analyst reading ``rollout.flag_audit`` sees the
file before or after, never half of it. Flag changes are rare (a handful per release), so
rewriting a partition of a few rows per change costs nothing.

No PII: reasons and evidence carry counts, rates and thresholds, never conversation content.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

AUDIT_TABLE = "rollout.flag_audit"

AUDIT_SCHEMA: dict[str, pl.DataType] = {
    "change_id": pl.String, "flag": pl.String, "backend": pl.String, "release_id": pl.String,
    "action": pl.String, "from_enabled": pl.Boolean, "from_percentage": pl.Float64,
    "to_enabled": pl.Boolean, "to_percentage": pl.Float64, "from_effective_percentage": pl.Float64,
    "to_effective_percentage": pl.Float64, "reason": pl.String, "actor": pl.String,
    "changed_at": pl.Datetime("us", "UTC"), "data_time": pl.Datetime("us", "UTC"),
    "evidence_json": pl.String, "backend_version": pl.String,
}

AUDIT_COLUMN_DOCS: dict[str, str] = {
    "change_id": "Unique id of the change.",
    "flag": "Flag name (the release's rollout flag; Unleash feature name).",
    "backend": "local | unleash.",
    "release_id": "Release the flag belongs to (NULL when changed outside a release context).",
    "action": "set (serve a percentage) | kill (disabled, 0%).",
    "from_enabled": "Flag enabled before the change.",
    "from_percentage": "Configured rollout percentage before the change.",
    "to_enabled": "Flag enabled after the change.",
    "to_percentage": "Configured rollout percentage after the change.",
    "from_effective_percentage": "Share of users on the candidate before (0 when disabled).",
    "to_effective_percentage": "Share of users on the candidate after (0 when disabled).",
    "reason": "Why (free text written by the controller, the sensor or the person).",
    "actor": "Who: controller:<asset>, sensor:<sensor name>, cli:<user>, dagster:<run id>.",
    "changed_at": "Wall-clock time of the change (UTC).",
    "data_time": "Data time of the change in the simulation / live traffic clock (UTC), when known.",
    "evidence_json": "The evidence behind the change (statistics, thresholds, windows) as JSON.",
    "backend_version": "Store version (local) or strategy id (Unleash) after the change.",
}


def _partition_for(flag: str) -> str:
    p = re.sub(r"[^A-Za-z0-9._-]", "_", flag).lstrip(".")
    return p or "_"


@dataclass
class FlagAuditLog:
    """Append-only audit log over the lake (``Lake`` root + lock directory)."""

    lake_root: Path
    lock_dir: Path

    @classmethod
    def default(cls) -> FlagAuditLog:
        from agent_release.config import paths

        p = paths()
        return cls(p.lake, p.locks)

    @classmethod
    def for_home(cls, home: Path | str) -> FlagAuditLog:
        from agent_release.config import Paths

        p = Paths(Path(home).resolve())
        return cls(p.lake, p.locks)

    def _lake(self):
        from agent_release.warehouse import Lake

        return Lake(self.lake_root)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        with open(self.lock_dir / "flag_audit.lock", "a+") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def append(self, change) -> None:
        row = pl.DataFrame([change.to_row()], schema=AUDIT_SCHEMA)
        lake = self._lake()
        part = _partition_for(change.flag)
        with self._locked():
            if part in lake.partitions(AUDIT_TABLE):
                old = lake.read(AUDIT_TABLE, partition=part).cast(AUDIT_SCHEMA, strict=False)
                if change.change_id in set(old["change_id"].to_list()):
                    return
                row = pl.concat([old.select(list(AUDIT_SCHEMA)), row], how="vertical")
            lake.write(AUDIT_TABLE, row, partition=part)

    def read(self, flag: str | None = None) -> pl.DataFrame:
        """Audit rows (of one flag, or all), oldest first."""
        lake = self._lake()
        if flag is not None:
            part = _partition_for(flag)
            if part not in lake.partitions(AUDIT_TABLE):
                return pl.DataFrame(schema=AUDIT_SCHEMA)
            df = lake.read(AUDIT_TABLE, partition=part)
        elif lake.exists(AUDIT_TABLE):
            df = lake.read(AUDIT_TABLE)
        else:
            return pl.DataFrame(schema=AUDIT_SCHEMA)
        return df.cast(AUDIT_SCHEMA, strict=False).sort("changed_at")


class MemoryAuditLog:
    """In-memory audit sink (tests, dry runs)."""

    def __init__(self) -> None:
        self.changes: list = []

    def append(self, change) -> None:
        self.changes.append(change)
