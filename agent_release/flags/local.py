"""The embedded default flag store: a small JSON file in the project's own storage.

``data/flags/flags.json`` (under ``AGENT_RELEASE_HOME``) holds, per flag, ``enabled``,
``percentage``, a ``version`` counter, and who/when of the last write. Every read-modify-write
runs under an exclusive ``fcntl`` lock (``data/flags/flags.json.lock``) and the file is replaced
atomically (temporary file + fsync + ``os.replace``), so the rollout asset, the auto-rollback
sensor and ``agent-release rollback`` can write concurrently without losing a change, and a
reader never sees half a file.

Serving: :meth:`LocalFlagBackend.is_enabled` applies the Unleash rule
(:func:`agent_release.bucketing.in_rollout` with ``groupId`` = the flag name), which is what the
simulated live traffic uses to route users — so the local store and an Unleash server configured
by :class:`~agent_release.flags.unleash.UnleashFlagBackend` serve the same cohort.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from agent_release.flags.base import FlagBackend, FlagError, FlagState

STORE_FORMAT = 1


def default_store_path() -> Path:
    from agent_release.config import paths

    return paths().data / "flags" / "flags.json"


class LocalFlagBackend(FlagBackend):
    name = "local"

    def __init__(self, path: str | Path | None = None, audit=None):
        super().__init__(audit)
        self.path = Path(path) if path else default_store_path()

    # -------------------------------------------------------------- storage
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(str(self.path) + ".lock", "a+") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def _load(self) -> dict:
        if not self.path.exists():
            return {"format": STORE_FORMAT, "flags": {}}
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError) as exc:
            raise FlagError(f"local flag store {self.path} is unreadable ({type(exc).__name__})") from None
        if not isinstance(data, dict) or not isinstance(data.get("flags"), dict):
            raise FlagError(f"local flag store {self.path} has an unexpected shape")
        return data

    def _save(self, data: dict) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")
        with open(tmp, "w") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    @staticmethod
    def _state(flag: str, entry: dict | None) -> FlagState:
        if entry is None:
            return FlagState(flag, "local", False, False, 0.0, "")
        return FlagState(flag, "local", True, bool(entry["enabled"]), float(entry["percentage"]),
                         str(entry.get("version", 0)))

    # -------------------------------------------------------------- backend
    def _read(self, flag: str) -> FlagState:
        with self._locked():
            return self._state(flag, self._load()["flags"].get(flag))

    def _write(self, flag: str, *, enabled: bool, percentage: float, reason: str, actor: str) -> FlagState:
        with self._locked():
            data = self._load()
            old = data["flags"].get(flag) or {"version": 0}
            entry = {
                "enabled": bool(enabled), "percentage": float(percentage), "version": int(old.get("version", 0)) + 1,
                "updated_at": datetime.now(UTC).isoformat(), "updated_by": actor,
                "stickiness": "userId", "group_id": flag,
            }
            data["flags"][flag] = entry
            data["format"] = STORE_FORMAT
            self._save(data)
            return self._state(flag, self._load()["flags"].get(flag))

    # -------------------------------------------------------------- serving
    def is_enabled(self, flag: str, user_id: str) -> bool:
        """The Unleash rule on the stored percentage (what the simulated traffic uses)."""
        from agent_release.bucketing import in_rollout

        return in_rollout(flag, user_id, self.percentage(flag))

    def flags(self) -> dict[str, FlagState]:
        with self._locked():
            return {k: self._state(k, v) for k, v in self._load()["flags"].items()}
