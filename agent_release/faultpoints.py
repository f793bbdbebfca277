"""Named crash points for the fault-injection suite and for crash drills.

``AGENT_RELEASE_FAULT_POINT=<name>`` makes the process kill itself with SIGKILL (no cleanup, no
``finally``, exactly like ``kill -9``) when it reaches :func:`reached` ``(<name>)``. Unset (always, outside
the fault-injection tests and drills) it costs one environment lookup. A name that is not in
:data:`POINTS` is refused with an error naming the valid ones (a typo must not make a drill pass
silently because the crash never happened).

Points (``<area>:<boundary>``):

* ``lake:before_rename`` — a lake write's temporary file is written and fsync'd, not yet renamed;
* ``lake:before_publish_rename`` — a staged partition is about to be renamed into its published table;
* ``flag_txn:after_intent`` / ``after_flag_write`` / ``after_audit`` / ``after_decision`` — the
  four boundaries of a flag transaction (agent_release/rollout/journal.py).

Used by ``agent_release_tests/test_fault_injection.py`` and ``test_operations_faults.py``.
"""

from __future__ import annotations

import os
import signal

ENV = "AGENT_RELEASE_FAULT_POINT"

POINTS = (
    "lake:before_rename", "lake:before_publish_rename",
    "flag_txn:after_intent", "flag_txn:after_flag_write", "flag_txn:after_audit", "flag_txn:after_decision",
)


def armed() -> str:
    """The armed point ("" when none); raises ``ValueError`` for an unknown name."""
    value = os.environ.get(ENV, "").strip()
    if value and value not in POINTS:
        raise ValueError(f"{ENV} must be one of {', '.join(POINTS)} (got {value!r})")
    return value


def reached(name: str) -> None:
    """SIGKILL this process if the fault point ``name`` is armed."""
    if name not in POINTS:
        raise ValueError(f"unknown fault point {name!r}")
    if os.environ.get(ENV) and armed() == name:
        os.kill(os.getpid(), signal.SIGKILL)
