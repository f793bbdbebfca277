"""Agents: one interface (:class:`Agent` → :class:`AgentReply`), two implementations.

* :class:`HttpAgent` — any OpenAI-compatible ``/v1/chat/completions`` endpoint (pinned model,
  retries with backoff, usage/cost accounting, model-mismatch check);
* :class:`SimulatedAgent` — deterministic simulated support agents whose behaviour per version
  comes from ``profiles/<version>.yaml`` (the embedded default), also served over HTTP by
  :mod:`agent_release.agents.server`.

``make_agent(config)`` builds either from a plain dict (see :func:`make_agent`).
"""

from __future__ import annotations

from typing import Any

from agent_release.agents.base import (
    Agent, AgentReply, ConfigError, Price, compute_cost, price_for, prices,
)
from agent_release.agents.simulated import Decision, Profile, SimulatedAgent, list_profiles, load_profile

__all__ = [
    "Agent", "AgentReply", "ConfigError", "Decision", "HttpAgent", "Price", "Profile", "SimulatedAgent",
    "compute_cost", "list_profiles", "load_profile", "make_agent", "price_for", "prices",
]

_SIMULATED_KEYS = {"kind", "version", "seed", "model", "realtime", "latency_scale"}
_HTTP_KEYS = {"kind", "base_url", "model", "version", "api_key_env", "timeout_s", "max_retries", "concurrency",
              "backoff_base_s", "backoff_max_s", "retry_after_max_s", "transport", "latency_header", "extra_body",
              "headers"}


def __getattr__(name: str) -> Any:  # lazy: httpx is only imported when an HTTP agent is used
    if name == "HttpAgent":
        from agent_release.agents.http import HttpAgent

        return HttpAgent
    raise AttributeError(name)


def make_agent(config: dict[str, Any]) -> Agent:
    """Build an agent from a config dict.

    ``{"kind": "simulated", "version": "support-bot@2", "seed": 1}`` (optional ``model``: the
    pinned model — a reply whose profile model differs is flagged ``model_mismatch``;
    ``realtime``/``latency_scale``: actually sleep the simulated latency), or
    ``{"kind": "http", "base_url": ..., "model": ..., "api_key_env": ..., "timeout_s": ...,
    "max_retries": ..., "version": ..., "concurrency": ...}``.
    """
    if not isinstance(config, dict):
        raise ConfigError("agent config must be a mapping")
    kind = config.get("kind", "simulated")
    if kind == "simulated":
        unknown = set(config) - _SIMULATED_KEYS
        if unknown:
            raise ConfigError(f"simulated agent config: unknown keys {sorted(unknown)}")
        if not config.get("version"):
            raise ConfigError("simulated agent config: 'version' is required (e.g. support-bot@2)")
        return SimulatedAgent(
            load_profile(config["version"]), seed=config.get("seed"), pinned_model=config.get("model"),
            realtime=bool(config.get("realtime", False)), latency_scale=float(config.get("latency_scale", 1.0)),
        )
    if kind == "http":
        from agent_release.agents.http import HttpAgent

        unknown = set(config) - _HTTP_KEYS
        if unknown:
            raise ConfigError(f"http agent config: unknown keys {sorted(unknown)}")
        for key in ("base_url", "model"):
            if not config.get(key):
                raise ConfigError(f"http agent config: '{key}' is required")
        kw = {k: v for k, v in config.items()
              if k not in ("kind", "base_url", "model") and (v is not None or k == "latency_header")}
        return HttpAgent(config["base_url"], config["model"], **kw)
    raise ConfigError(f"agent config: unknown kind {kind!r} (simulated | http)")
