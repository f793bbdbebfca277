"""Rollback readiness: can we still get out? Checked before every step and continuously past 50%.

Two probes, both must pass:

1. **The baseline agent still answers.** Rolling back sends every user to the baseline; if the
   baseline deployment is gone (scaled to zero, its model retired, its endpoint broken), a
   rollback would turn a regression into an outage. The probe sends one chat completion to the
   baseline's OpenAI-compatible endpoint and needs an HTTP 200 with a choice. A simulated
   baseline is served on loopback with :func:`agent_release.agents.server.serve_in_thread`
   (the same server the replay uses); an ``http`` baseline is probed at its ``base_url``. Up to
   ``attempts`` tries, so one transient error of a stochastic agent does not block a step.
2. **The flag can be changed.** A no-op write round trip through the flag backend
   (:meth:`~agent_release.flags.base.FlagBackend.probe_write`): write the current state again
   and read it back. A store that cannot be written (read-only disk, revoked token, Unleash down)
   fails it.

A failed check blocks the next step (the controller HOLDs with the reason); every check is a
row in ``rollout.readiness``.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

PROBE_MESSAGE = [{"role": "user", "content": "Readiness probe: please reply OK."}]


@dataclass(frozen=True)
class ProbeOutcome:
    ok: bool
    latency_ms: float
    detail: str


@dataclass
class ReadinessResult:
    ok: bool
    baseline: ProbeOutcome
    flag: ProbeOutcome
    percentage: float
    purpose: str
    data_time: datetime | None = None
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def reason(self) -> str:
        if self.ok:
            return "rollback ready: baseline answers, flag writable"
        bad = []
        if not self.baseline.ok:
            bad.append(f"baseline agent does not answer ({self.baseline.detail})")
        if not self.flag.ok:
            bad.append(f"flag cannot be changed ({self.flag.detail})")
        return "rollback readiness failed: " + "; ".join(bad)

    def to_row(self, release_id: str, flag: str, actor: str) -> dict:
        return {
            "check_id": uuid.uuid4().hex, "release_id": release_id, "flag": flag, "checked_at": self.checked_at,
            "data_time": self.data_time, "purpose": self.purpose, "percentage": self.percentage, "ok": self.ok,
            "baseline_ok": self.baseline.ok, "baseline_latency_ms": self.baseline.latency_ms,
            "baseline_detail": self.baseline.detail, "flag_ok": self.flag.ok,
            "flag_latency_ms": self.flag.latency_ms, "flag_detail": self.flag.detail, "actor": actor,
        }

    def to_dict(self) -> dict:
        return {"ok": self.ok, "purpose": self.purpose, "percentage": self.percentage,
                "baseline": self.baseline.__dict__, "flag": self.flag.__dict__,
                "data_time": self.data_time.isoformat() if self.data_time else None}


def probe_chat(base_url: str, model: str, *, api_key: str | None = None, timeout_s: float = 10.0,
               attempts: int = 3) -> ProbeOutcome:
    """One chat completion against an OpenAI-compatible endpoint (``base_url`` with or without /v1)."""
    import httpx

    url = base_url.rstrip("/")
    url = url + ("/chat/completions" if url.endswith("/v1") else "/v1/chat/completions")
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    body = {"model": model, "messages": PROBE_MESSAGE, "max_tokens": 16,
            "metadata": {"conversation_id": "readiness-probe", "locale": "en-US"}}
    last = ""
    t0 = time.perf_counter()
    for i in range(max(1, attempts)):
        t0 = time.perf_counter()
        try:
            r = httpx.post(url, json=body, headers=headers, timeout=timeout_s)
            ms = (time.perf_counter() - t0) * 1000
            if r.status_code == 200 and (r.json().get("choices") or []):
                return ProbeOutcome(True, round(ms, 2), f"HTTP 200 in {ms:.0f} ms (attempt {i + 1})")
            last = f"HTTP {r.status_code}" + ("" if r.status_code != 200 else " without choices")
        except (httpx.HTTPError, ValueError) as exc:
            last = f"{type(exc).__name__}"
        time.sleep(0.05 * (i + 1))
    return ProbeOutcome(False, round((time.perf_counter() - t0) * 1000, 2), f"{last} after {attempts} attempt(s)")


class BaselineProbe:
    """Probes the release's baseline. For a simulated baseline it serves the profile on loopback
    for the lifetime of the context (``with BaselineProbe(spec) as probe: probe()``); ``url``
    overrides the endpoint (tests point it at a faulty server)."""

    def __init__(self, spec, *, url: str | None = None, attempts: int = 3):
        self.spec = spec
        self.url = url
        self.attempts = attempts
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> BaselineProbe:
        b = self.spec.baseline
        if self.url is None:
            if b.kind == "http":
                self.url = b.base_url
            else:
                from agent_release.agents.server import serve_in_thread

                self.url = self._stack.enter_context(serve_in_thread(b.version, seed=b.seed, latency_scale=0.0))
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def __call__(self) -> ProbeOutcome:
        b = self.spec.baseline
        key = os.environ.get(b.api_key_env) if (b.kind == "http" and b.api_key_env) else None
        return probe_chat(self.url or "", b.model, api_key=key, timeout_s=min(b.timeout_s, 10.0),
                          attempts=self.attempts)


def check(spec, backend, flag: str, *, baseline_probe: Callable[[], ProbeOutcome], purpose: str,
          data_time: datetime | None = None) -> ReadinessResult:
    base = baseline_probe()
    pr = backend.probe_write(flag)
    fl = ProbeOutcome(pr.ok, round(pr.seconds * 1000, 2),
                      (f"no-op write read back {pr.state.describe()}" if pr.ok and pr.state else pr.error) or "failed")
    pct = pr.state.effective_percentage if pr.state else 0.0
    return ReadinessResult(base.ok and fl.ok, base, fl, pct, purpose, data_time)


@contextlib.contextmanager
def baseline_probe_for(spec, url: str | None = None) -> Iterator[Callable[[], ProbeOutcome]]:
    with BaselineProbe(spec, url=url) as probe:
        yield probe


def summary(results: list[ReadinessResult]) -> str:
    ok = sum(r.ok for r in results)
    return json.dumps({"checks": len(results), "ok": ok, "failed": len(results) - ok})
