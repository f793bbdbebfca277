"""The flag-backend interface: read a release flag's rollout percentage, set it, kill it — and
an audit row for every change.

A *release flag* is one gradual-rollout flag per release (``spec.rollout.flag_name``, default the
release id), keyed on the user id exactly as :mod:`agent_release.bucketing` computes it
(Unleash ``flexibleRollout``: ``murmur3("<flag>:<userId>") % 100 + 1 <= percentage``,
stickiness ``userId``, ``groupId`` = flag name). So the cohort the pipeline computes from the
data is the cohort the flag service serves, on every backend.

Every write goes through :meth:`FlagBackend.set_percentage` / :meth:`FlagBackend.kill`, which

1. read the current state,
2. do nothing (and write no audit row) when the state would not change — so a second rollback
   is a no-op, which makes the auto-rollback sensor idempotent,
3. write the new state through the backend and read it back (a write that did not stick raises
   :class:`FlagError`),
4. append one row to the audit log (``rollout.flag_audit``): when (wall clock, and the data time
   of the simulation), from → to, why, who (a person, ``cli:<user>``, or ``sensor:<name>``),
   with the evidence as JSON.

:meth:`FlagBackend.probe_write` is the rollback-readiness round trip: write the current state
again (a no-op write), read it back, time it; no audit row (nothing changed).
"""

from __future__ import annotations

import abc
import contextlib
import fcntl
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class FlagError(RuntimeError):
    """A flag could not be read or written (the message names the flag and the backend)."""


@dataclass(frozen=True)
class FlagState:
    """What a flag serves now."""

    flag: str
    backend: str
    exists: bool
    enabled: bool
    percentage: float  # configured rollout percentage (0-100)
    version: str = ""  # store version / Unleash strategy id: changes on every write

    @property
    def effective_percentage(self) -> float:
        """Share of users served the candidate: 0 when the flag is off or missing."""
        return float(self.percentage) if (self.exists and self.enabled) else 0.0

    def describe(self) -> str:
        if not self.exists:
            return f"{self.flag}: not created ({self.backend})"
        return f"{self.flag}: {'on' if self.enabled else 'OFF'} at {self.percentage:g}% ({self.backend})"


@dataclass(frozen=True)
class FlagChange:
    """One change of a flag (one row of ``rollout.flag_audit``). ``noop`` changes are not audited."""

    change_id: str
    flag: str
    backend: str
    release_id: str | None
    action: str  # set | kill
    from_enabled: bool
    from_percentage: float
    to_enabled: bool
    to_percentage: float
    reason: str
    actor: str
    changed_at: datetime
    data_time: datetime | None = None
    evidence_json: str = "{}"
    backend_version: str = ""
    noop: bool = False

    @property
    def from_effective(self) -> float:
        return self.from_percentage if self.from_enabled else 0.0

    @property
    def to_effective(self) -> float:
        return self.to_percentage if self.to_enabled else 0.0

    def to_row(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("noop")
        d["from_effective_percentage"] = self.from_effective
        d["to_effective_percentage"] = self.to_effective
        return d


@dataclass(frozen=True)
class ProbeResult:
    """Outcome of a no-op write round trip (rollback readiness)."""

    flag: str
    backend: str
    ok: bool
    seconds: float
    state: FlagState | None
    error: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def _now() -> datetime:
    return datetime.now(UTC)


def _check_percentage(p: float) -> float:
    p = float(p)
    if not 0.0 <= p <= 100.0:
        raise ValueError(f"rollout percentage must be within 0-100, got {p:g}")
    return p


_LOCKS: dict[str, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()
_HELD = threading.local()


@contextlib.contextmanager
def flag_lock(lock_dir: Path | None, flag: str) -> Iterator[None]:
    """One exclusive lock per flag, held across read → write → audit (→ decision): two writers can
    never both see the old state and both change it. Inter-process (``fcntl`` on
    ``<lock_dir>/flag-<flag>.lock``) when a lock directory is known, in-process otherwise;
    re-entrant within a thread (a transaction may call the backend's own locked methods)."""
    part = re.sub(r"[^A-Za-z0-9._-]", "_", flag).lstrip(".") or "_"
    key = str(Path(lock_dir) / f"flag-{part}.lock") if lock_dir else f"memory:{flag}"
    with _LOCKS_GUARD:
        rl = _LOCKS.setdefault(key, threading.RLock())
    with rl:
        held: dict = getattr(_HELD, "held", None) or {}
        _HELD.held = held
        depth = held.get(key, (0, None))[0]
        fh = held.get(key, (0, None))[1]
        if depth == 0 and lock_dir:
            Path(lock_dir).mkdir(parents=True, exist_ok=True)
            fh = open(key, "a+")  # noqa: SIM115 - closed below when the outermost holder leaves
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        held[key] = (depth + 1, fh)
        try:
            yield
        finally:
            depth, fh = held[key]
            if depth == 1:
                del held[key]
                if fh is not None:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
                    fh.close()
            else:
                held[key] = (depth - 1, fh)


class FlagBackend(abc.ABC):
    """Base class: subclasses implement :meth:`_read` and :meth:`_write` only."""

    name: str = "abstract"

    def __init__(self, audit: Any | None = None):
        #: where audit rows go: an object with ``append(FlagChange)`` (default: the lake table
        #: ``rollout.flag_audit`` of the current project home, see :class:`~agent_release.flags.audit.FlagAuditLog`)
        self._audit = audit

    # -------------------------------------------------------------- to implement
    @abc.abstractmethod
    def _read(self, flag: str) -> FlagState:
        """Current state (``exists=False`` when the flag was never created)."""

    @abc.abstractmethod
    def _write(self, flag: str, *, enabled: bool, percentage: float, reason: str, actor: str) -> FlagState:
        """Make the flag serve ``percentage`` (``enabled``); create it if missing; return the state read back."""

    # -------------------------------------------------------------- public API
    @property
    def audit(self):
        if self._audit is None:
            from agent_release.flags.audit import FlagAuditLog

            self._audit = FlagAuditLog.default()
        return self._audit

    def get(self, flag: str) -> FlagState:
        return self._read(flag)

    def percentage(self, flag: str) -> float:
        """Effective rollout percentage (0 when off or missing)."""
        return self.get(flag).effective_percentage

    def set_percentage(self, flag: str, percentage: float, *, reason: str, actor: str,
                       release_id: str | None = None, data_time: datetime | None = None,
                       evidence: dict[str, Any] | None = None) -> FlagChange:
        """Serve ``percentage``% of users (enables the flag). Audited unless nothing changes."""
        return self._change(flag, "set", True, _check_percentage(percentage), reason=reason, actor=actor,
                            release_id=release_id, data_time=data_time, evidence=evidence)

    def kill(self, flag: str, *, reason: str, actor: str, release_id: str | None = None,
             data_time: datetime | None = None, evidence: dict[str, Any] | None = None) -> FlagChange:
        """Pull the flag: disabled and 0% — every user back on the baseline. Audited unless already off."""
        return self._change(flag, "kill", False, 0.0, reason=reason, actor=actor, release_id=release_id,
                            data_time=data_time, evidence=evidence)

    def probe_write(self, flag: str) -> ProbeResult:
        """Rollback readiness: write the current state again, read it back, time it. No audit row."""
        t0 = time.perf_counter()
        try:
            before = self._read(flag)
            if not before.exists:
                return ProbeResult(flag, self.name, False, time.perf_counter() - t0, before,
                                   error="flag does not exist: nothing to roll back with")
            after = self._write(flag, enabled=before.enabled, percentage=before.percentage,
                                reason="readiness probe (no-op write)", actor="readiness-probe")
            again = self._read(flag)
        except Exception as exc:  # noqa: BLE001 - any failure means "cannot change the flag"
            return ProbeResult(flag, self.name, False, time.perf_counter() - t0, None,
                               error=f"{type(exc).__name__}: {exc}"[:500])
        want = (before.enabled, before.percentage)
        ok = (again.enabled, again.percentage) == want == (after.enabled, after.percentage)
        return ProbeResult(flag, self.name, ok, time.perf_counter() - t0, again,
                           error="" if ok else f"read-back {again.describe()} differs from {before.describe()}")

    # -------------------------------------------------------------- transactions
    def lock(self, flag: str):
        """The flag's lock (see :func:`flag_lock`): in the audit log's lock directory when it has one."""
        return flag_lock(getattr(self.audit, "lock_dir", None), flag)

    def plan_change(self, flag: str, action: str, enabled: bool, percentage: float, *, reason: str, actor: str,
                    release_id: str | None = None, data_time: datetime | None = None,
                    evidence: dict[str, Any] | None = None) -> FlagChange:
        """Read the current state and describe the change (``noop`` when nothing would change).
        Call under :meth:`lock`; nothing is written."""
        if not reason or not reason.strip():
            raise ValueError("a flag change needs a reason")
        if not actor or not actor.strip():
            raise ValueError("a flag change needs an actor (person, cli:<user> or sensor:<name>)")
        before = self._read(flag)
        change = FlagChange(
            change_id=uuid.uuid4().hex, flag=flag, backend=self.name, release_id=release_id, action=action,
            from_enabled=bool(before.exists and before.enabled),
            from_percentage=float(before.percentage if before.exists else 0.0),
            to_enabled=enabled, to_percentage=float(percentage), reason=reason.strip(), actor=actor.strip(),
            changed_at=_now(), data_time=data_time,
            evidence_json=json.dumps(evidence or {}, default=str, sort_keys=True), backend_version=before.version,
        )
        same = before.exists and before.enabled == enabled and float(before.percentage) == float(percentage)
        if same or (action == "kill" and before.effective_percentage == 0.0 and not before.enabled):
            return FlagChange(**{**change.__dict__, "noop": True})
        return change

    def apply_change(self, change: FlagChange) -> FlagChange:
        """Write the planned change through the backend and verify it stuck (``FlagError`` if not)."""
        after = self._write(change.flag, enabled=change.to_enabled, percentage=change.to_percentage,
                            reason=change.reason, actor=change.actor)
        if after.enabled != change.to_enabled or float(after.percentage) != float(change.to_percentage):
            raise FlagError(f"flag {change.flag!r} on {self.name}: wrote {'on' if change.to_enabled else 'off'} "
                            f"{change.to_percentage:g}% but read back {after.describe()}")
        return FlagChange(**{**change.__dict__, "backend_version": after.version})

    def record_change(self, change: FlagChange) -> None:
        """The audit row of an applied change (idempotent by ``change_id`` on the lake audit log)."""
        self.audit.append(change)

    # -------------------------------------------------------------- internals
    def _change(self, flag: str, action: str, enabled: bool, percentage: float, *, reason: str, actor: str,
                release_id: str | None, data_time: datetime | None, evidence: dict[str, Any] | None) -> FlagChange:
        with self.lock(flag):
            change = self.plan_change(flag, action, enabled, percentage, reason=reason, actor=actor,
                                      release_id=release_id, data_time=data_time, evidence=evidence)
            if change.noop:
                return change
            change = self.apply_change(change)
            self.record_change(change)
            return change
