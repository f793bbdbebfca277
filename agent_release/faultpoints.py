"""Named crash points for the fault-injection suite.

``AGENT_RELEASE_FAULT_POINT=<name>`` makes the process kill itself with SIGKILL (no cleanup, no
``finally``, exactly like ``kill -9``) when it reaches :func:`reached` ``(<name>)``. Unset (always, outside
the fault-injection tests) it costs one environment lookup. Points are named ``<area>:<boundary>``,
e.g. ``flag_txn:after_flag_write`` — see ``agent_release_tests/test_fault_injection.py``.
"""

from __future__ import annotations

import os
import signal

ENV = "AGENT_RELEASE_FAULT_POINT"


def reached(name: str) -> None:
    """SIGKILL this process if the fault point ``name`` is armed."""
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
