"""Flag backends for release rollouts: one interface, a local store (embedded default) and Unleash.

>>> from agent_release.flags import backend_for
>>> flags = backend_for("local")
>>> flags.set_percentage("support-bot-2", 25, reason="step 25% entered", actor="cli:alice")  # doctest: +SKIP
>>> flags.kill("support-bot-2", reason="error-rate breach", actor="sensor:rollout_guardrail_sensor")  # doctest: +SKIP

* :class:`~agent_release.flags.base.FlagBackend` — ``get`` / ``percentage`` / ``set_percentage`` /
  ``kill`` / ``probe_write``; every change is a row in ``rollout.flag_audit``.
* :class:`~agent_release.flags.local.LocalFlagBackend` — ``data/flags/flags.json`` with file locking.
* :class:`~agent_release.flags.unleash.UnleashFlagBackend` — Unleash Admin API (gradual rollout,
  stickiness ``userId``, ``groupId`` = flag name).

How the same rollout maps onto LaunchDarkly and Statsig: ``agent_release/flags/PROVIDERS.md``.
"""

from __future__ import annotations

import os
from typing import Any

from agent_release.flags.base import FlagBackend, FlagChange, FlagError, FlagState, ProbeResult

BACKENDS = ("local", "unleash")

__all__ = ["BACKENDS", "FlagBackend", "FlagChange", "FlagError", "FlagState", "ProbeResult", "backend_for",
           "flag_name"]


def flag_name(spec: Any) -> str:
    """The release's flag: ``rollout.flag_name`` or the release id."""
    return spec.rollout.flag_name or spec.release_id


def backend_for(spec_or_name: Any = None, *, audit: Any = None, **kw: Any) -> FlagBackend:
    """The backend a release spec names (``rollout.flag_backend``), or one by name.

    ``AGENT_RELEASE_FLAG_BACKEND`` overrides the spec (e.g. ``local`` on a laptop for a spec that
    says ``unleash``). Unleash settings come from ``AGENT_RELEASE_UNLEASH_*`` unless passed in ``kw``
    (``url``, ``admin_token``, ``project``, ``environment``).
    """
    if spec_or_name is None or isinstance(spec_or_name, str):
        name = spec_or_name or "local"
    else:
        name = spec_or_name.rollout.flag_backend
    name = os.environ.get("AGENT_RELEASE_FLAG_BACKEND") or name
    if name == "local":
        from agent_release.flags.local import LocalFlagBackend

        return LocalFlagBackend(kw.get("path"), audit=audit)
    if name == "unleash":
        from agent_release.flags.unleash import UnleashFlagBackend

        if "url" in kw or "admin_token" in kw:
            env = os.environ.get
            return UnleashFlagBackend(
                kw.get("url", env("AGENT_RELEASE_UNLEASH_URL", "")),
                kw.get("admin_token", env("AGENT_RELEASE_UNLEASH_ADMIN_TOKEN", "")),
                project=kw.get("project", env("AGENT_RELEASE_UNLEASH_PROJECT", "default")),
                environment=kw.get("environment", env("AGENT_RELEASE_UNLEASH_ENVIRONMENT", "production")),
                audit=audit)
        return UnleashFlagBackend.from_env(audit=audit)
    raise FlagError(f"unknown flag backend {name!r}; one of {', '.join(BACKENDS)}")
