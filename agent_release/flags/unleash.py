"""Unleash backend: the release flag as an Unleash feature flag, through the Admin API (httpx).

The flag is configured so that Unleash serves exactly the cohort :mod:`agent_release.bucketing`
computes:

* feature flag ``<flag>`` (type ``release``) in project ``<project>`` (default ``default``),
  created if missing;
* in environment ``<environment>`` one strategy ``flexibleRollout`` (the *gradual rollout*
  strategy) with ``rollout`` = the percentage (whole percent, as Unleash evaluates it),
  ``stickiness`` = ``userId`` and ``groupId`` = the flag name, no constraints;
* the environment switched on for a percentage > 0 and **off** for a kill (every SDK then
  answers false at once, whatever the strategy says); the strategy's rollout is set to 0 too.

Any other enabled strategy on the environment would widen the cohort beyond what the pipeline
computes, so reading such a flag raises :class:`FlagError` (rollback readiness then fails and
the rollout holds) rather than report a percentage that is not what users get.

Admin API calls (Unleash 5-7; checked against unleash-server 7.5.1):

====================================================================  ===============================
``GET    /api/admin/projects/{p}/features/{flag}``                      read (404 = missing)
``POST   /api/admin/projects/{p}/features``  ``{"name", "type"}``      create
``POST   /api/admin/projects/{p}/features/{flag}/environments/{env}/strategies``        add strategy
``PUT    /api/admin/projects/{p}/features/{flag}/environments/{env}/strategies/{id}``   update strategy
``POST   /api/admin/projects/{p}/features/{flag}/environments/{env}/on`` | ``/off``     enable / disable
====================================================================  ===============================

Authentication: an admin API token in the ``Authorization`` header (a server started with
``INIT_ADMIN_API_TOKENS="*:*.<secret>"`` accepts ``*:*.<secret>``). SDKs read with a backend
(client) token scoped to the environment (``INIT_CLIENT_API_TOKENS="default:<env>.<secret>"``).

Configuration from the environment (see :func:`UnleashFlagBackend.from_env`):
``AGENT_RELEASE_UNLEASH_URL`` (e.g. ``http://unleash.internal:4242``),
``AGENT_RELEASE_UNLEASH_ADMIN_TOKEN``, ``AGENT_RELEASE_UNLEASH_PROJECT`` (``default``),
``AGENT_RELEASE_UNLEASH_ENVIRONMENT`` (``production``).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

from agent_release.flags.base import FlagBackend, FlagError, FlagState

STRATEGY = "flexibleRollout"


class UnleashFlagBackend(FlagBackend):
    name = "unleash"

    def __init__(self, url: str, admin_token: str, *, project: str = "default", environment: str = "production",
                 timeout_s: float = 10.0, audit=None, transport: Any = None):
        super().__init__(audit)
        if not url:
            raise FlagError("Unleash URL is not set (AGENT_RELEASE_UNLEASH_URL)")
        if not admin_token:
            raise FlagError("Unleash admin token is not set (AGENT_RELEASE_UNLEASH_ADMIN_TOKEN)")
        import httpx

        base = url.rstrip("/")
        if base.endswith("/api"):
            base = base[: -len("/api")]
        self.url = base
        self.project = project
        self.environment = environment
        self._http = httpx.Client(base_url=base, timeout=timeout_s, transport=transport,
                                  headers={"Authorization": admin_token, "Content-Type": "application/json",
                                           "Accept": "application/json"})

    @classmethod
    def from_env(cls, audit=None, **kw) -> UnleashFlagBackend:
        return cls(os.environ.get("AGENT_RELEASE_UNLEASH_URL", ""),
                   os.environ.get("AGENT_RELEASE_UNLEASH_ADMIN_TOKEN", ""),
                   project=os.environ.get("AGENT_RELEASE_UNLEASH_PROJECT", "default"),
                   environment=os.environ.get("AGENT_RELEASE_UNLEASH_ENVIRONMENT", "production"),
                   audit=audit, **kw)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> UnleashFlagBackend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -------------------------------------------------------------- HTTP
    def _p(self, flag: str | None = None) -> str:
        path = f"/api/admin/projects/{quote(self.project, safe='')}/features"
        return path if flag is None else f"{path}/{quote(flag, safe='')}"

    def _env(self, flag: str) -> str:
        return f"{self._p(flag)}/environments/{quote(self.environment, safe='')}"

    def _call(self, method: str, path: str, json_body: Any = None, ok: tuple[int, ...] = (200, 201, 202, 204)):
        import httpx

        try:
            r = self._http.request(method, path, json=json_body)
        except httpx.HTTPError as exc:
            raise FlagError(f"Unleash {self.url}: {method} {path} failed: {type(exc).__name__}: {exc}") from None
        if r.status_code not in ok:
            msg = ""
            try:
                msg = (r.json() or {}).get("message", "")
            except ValueError:
                msg = r.text[:200]
            raise FlagError(f"Unleash {self.url}: {method} {path} -> HTTP {r.status_code} {msg}".strip())
        return r

    def _feature(self, flag: str) -> dict | None:
        r = self._call("GET", self._p(flag), ok=(200, 404))
        return None if r.status_code == 404 else r.json()

    def _environment(self, feature: dict, flag: str) -> dict:
        for env in feature.get("environments") or []:
            if env.get("name") == self.environment:
                return env
        raise FlagError(f"Unleash flag {flag!r} has no environment {self.environment!r} in project {self.project!r}")

    def _our_strategy(self, env: dict, flag: str) -> dict | None:
        mine, others = None, []
        for s in env.get("strategies") or []:
            if s.get("disabled"):
                continue
            params = s.get("parameters") or {}
            if s.get("name") == STRATEGY and params.get("groupId") == flag and mine is None:
                mine = s
            else:
                others.append(s.get("name"))
        if others:
            raise FlagError(
                f"Unleash flag {flag!r} ({self.environment}) has other enabled strategies {others}: the served "
                "cohort would not be the one the pipeline computes; remove them")
        if mine is not None:
            params = mine.get("parameters") or {}
            if mine.get("constraints") or params.get("stickiness") != "userId":
                raise FlagError(f"Unleash flag {flag!r}: strategy {mine.get('id')} must have stickiness userId and "
                                "no constraints")
        return mine

    @staticmethod
    def _params(flag: str, percentage: float) -> dict:
        return {"name": STRATEGY, "constraints": [],
                "parameters": {"rollout": str(int(round(percentage))), "stickiness": "userId", "groupId": flag}}

    # -------------------------------------------------------------- backend
    def _read(self, flag: str) -> FlagState:
        feature = self._feature(flag)
        if feature is None:
            return FlagState(flag, self.name, False, False, 0.0, "")
        env = self._environment(feature, flag)
        strat = self._our_strategy(env, flag)
        pct = float((strat or {}).get("parameters", {}).get("rollout", 0) or 0)
        return FlagState(flag, self.name, True, bool(env.get("enabled")) and strat is not None, pct,
                         str((strat or {}).get("id", "")))

    def _write(self, flag: str, *, enabled: bool, percentage: float, reason: str, actor: str) -> FlagState:
        if abs(percentage - round(percentage)) > 1e-9:
            raise FlagError(f"Unleash rolls out in whole percent; {percentage:g}% is not one")
        feature = self._feature(flag)
        if feature is None:
            self._call("POST", self._p(), {"name": flag, "type": "release",
                                           "description": f"Release rollout flag (agent_release): {reason}"[:200]})
            feature = self._feature(flag) or {}
        env = self._environment(feature, flag)
        strat = self._our_strategy(env, flag)
        body = self._params(flag, percentage if enabled else 0.0)
        if not enabled:  # kill: switch the environment off first — SDKs stop serving at once
            if env.get("enabled"):
                self._call("POST", f"{self._env(flag)}/off")
            if strat is not None:
                self._call("PUT", f"{self._env(flag)}/strategies/{strat['id']}", body)
        else:
            # strategy first, then switch on: enabling an environment without a strategy would
            # make Unleash add its default strategy (100%) for a moment
            if strat is None:
                self._call("POST", f"{self._env(flag)}/strategies", body)
            else:
                self._call("PUT", f"{self._env(flag)}/strategies/{strat['id']}", body)
            if not env.get("enabled"):
                self._call("POST", f"{self._env(flag)}/on")
        state = self._read(flag)
        if not enabled:
            # FlagState.enabled is False once the environment is off; report the configured 0%
            return FlagState(flag, self.name, True, False, 0.0 if state.percentage == 0 else state.percentage,
                             state.version)
        return state

    def client_features(self, client_token: str) -> dict:
        """What SDKs get (``GET /api/client/features`` with a backend token)."""
        import httpx

        r = httpx.get(f"{self.url}/api/client/features", headers={"Authorization": client_token}, timeout=10.0)
        r.raise_for_status()
        return r.json()
