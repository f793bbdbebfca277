"""Synthetic production-shape data: conversation logs with PII ground truth (``logs``).

``from agent_release.synth import generate, write_jsonl, pii_frame`` — names are resolved lazily so
``python -m agent_release.synth.logs`` runs without a double-import warning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Generated", "decoy_frame", "generate", "pii_frame", "write_jsonl"]

if TYPE_CHECKING:  # pragma: no cover
    from agent_release.synth.logs import Generated, decoy_frame, generate, pii_frame, write_jsonl


def __getattr__(name: str) -> Any:
    if name in __all__:
        from agent_release.synth import logs

        return getattr(logs, name)
    raise AttributeError(f"module 'agent_release.synth' has no attribute {name!r}")
