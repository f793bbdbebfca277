"""Flag backends: the local store's behaviour and audit trail, and the Unleash backend's Admin API
calls (against an in-process fake; the real server is in test_unleash_integration.py)."""

from __future__ import annotations

import json
import multiprocessing as mp

import httpx
import numpy as np
import pytest

from agent_release import bucketing
from agent_release.flags import FlagError, backend_for
from agent_release.flags.audit import AUDIT_TABLE, FlagAuditLog, MemoryAuditLog
from agent_release.flags.local import LocalFlagBackend
from agent_release.flags.unleash import UnleashFlagBackend


def test_local_backend_set_kill_and_audit_trail(home):
    flags = backend_for("local")
    assert flags.get("bot").exists is False and flags.percentage("bot") == 0
    flags.set_percentage("bot", 5, reason="canary share", actor="controller:test", release_id="r1")
    flags.set_percentage("bot", 25, reason="step 25% entered", actor="controller:test", release_id="r1")
    noop = flags.set_percentage("bot", 25, reason="again", actor="controller:test")
    assert noop.noop
    kill = flags.kill("bot", reason="error-rate breach", actor="sensor:rollout_guardrail_sensor", release_id="r1",
                      evidence={"error_rate": 0.08})
    assert not kill.noop and flags.percentage("bot") == 0 and not flags.get("bot").enabled
    assert flags.kill("bot", reason="again", actor="sensor:rollout_guardrail_sensor").noop  # already off: no row

    audit = FlagAuditLog.default().read("bot")
    assert audit.height == 3  # no-ops are not changes
    rows = audit.to_dicts()
    assert [(r["from_effective_percentage"], r["to_effective_percentage"]) for r in rows] == [(0, 5), (5, 25), (25, 0)]
    assert rows[2]["action"] == "kill" and rows[2]["actor"] == "sensor:rollout_guardrail_sensor"
    assert rows[2]["reason"] == "error-rate breach" and json.loads(rows[2]["evidence_json"]) == {"error_rate": 0.08}
    assert all(r["changed_at"] is not None and r["release_id"] == "r1" for r in rows)

    # the audit is a DuckDB-queryable lake table
    from agent_release.warehouse import Lake

    with Lake.default().connect() as con:
        got = con.execute(f"SELECT action, to_effective_percentage FROM {AUDIT_TABLE} ORDER BY changed_at").fetchall()
    assert got == [("set", 5.0), ("set", 25.0), ("kill", 0.0)]


def test_local_backend_requires_reason_and_actor(home):
    flags = backend_for("local")
    with pytest.raises(ValueError, match="reason"):
        flags.set_percentage("bot", 5, reason=" ", actor="x")
    with pytest.raises(ValueError, match="actor"):
        flags.kill("bot", reason="why", actor="")
    with pytest.raises(ValueError, match="0-100"):
        flags.set_percentage("bot", 101, reason="why", actor="x")


def test_local_backend_serves_the_unleash_cohort(home):
    flags = LocalFlagBackend(audit=MemoryAuditLog())
    flags.set_percentage("support-bot-2", 25, reason="r", actor="a")
    ids = [f"u_{i:064x}" for i in range(2000)]
    served = np.array([flags.is_enabled("support-bot-2", u) for u in ids])
    assert (served == bucketing.in_rollout_many("support-bot-2", ids, 25)).all()
    assert 0.2 < served.mean() < 0.3


def test_probe_write_round_trip(home):
    flags = LocalFlagBackend(audit=MemoryAuditLog())
    missing = flags.probe_write("nope")
    assert not missing.ok and "does not exist" in missing.error
    flags.set_percentage("bot", 50, reason="r", actor="a")
    v = flags.get("bot").version
    pr = flags.probe_write("bot")
    assert pr.ok and pr.state.percentage == 50 and pr.state.version != v  # really written
    assert len(flags.audit.changes) == 1  # the probe is not a change


def _writer(args):
    home, k = args
    import os

    os.environ["AGENT_RELEASE_HOME"] = home
    from agent_release.flags import backend_for

    b = backend_for("local")
    n = 0
    for i in range(8):
        n += not b.set_percentage("shared", 10 * k + i + 1, reason=f"w{k}", actor=f"cli:w{k}").noop
    return n


def test_concurrent_writers_lose_no_change(home):
    with mp.get_context("spawn").Pool(4) as pool:
        changed = sum(pool.map(_writer, [(str(home), k) for k in range(4)]))
    audit = FlagAuditLog.default().read("shared")
    assert audit.height == changed == 32
    assert int(backend_for("local").get("shared").version) == 32


# --------------------------------------------------------------------------- Unleash (fake server)


class FakeUnleash:
    """Just enough of the Admin API (as served by unleash-server 7.5.1) to exercise the backend."""

    def __init__(self, env: str = "production"):
        self.env = env
        self.features: dict[str, dict] = {}
        self.calls: list[tuple[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "*:*.admin"
        path = request.url.path
        self.calls.append((request.method, path))
        parts = path.split("/")  # ['', 'api', 'admin', 'projects', p, 'features', name, ...]
        if request.method == "POST" and len(parts) == 6:
            body = json.loads(request.content)
            self.features[body["name"]] = {"name": body["name"], "environments": [
                {"name": "development", "enabled": False, "strategies": []},
                {"name": self.env, "enabled": False, "strategies": []}]}
            return httpx.Response(201, json=self.features[body["name"]])
        name = parts[6]
        f = self.features.get(name)
        if f is None:
            return httpx.Response(404, json={"message": "not found"})
        if request.method == "GET" and len(parts) == 7:
            return httpx.Response(200, json=f)
        env = next(e for e in f["environments"] if e["name"] == parts[8])
        if path.endswith("/on") or path.endswith("/off"):
            env["enabled"] = path.endswith("/on")
            return httpx.Response(200)
        body = json.loads(request.content)
        if request.method == "POST":  # add strategy
            s = dict(body, id=f"s{len(self.calls)}", disabled=False)
            env["strategies"].append(s)
            return httpx.Response(200, json=s)
        if request.method == "PUT":
            s = next(s for s in env["strategies"] if s["id"] == parts[10])
            s.update(body)
            return httpx.Response(200, json=s)
        return httpx.Response(405)


def test_unleash_backend_configures_a_gradual_rollout_on_userid():
    fake = FakeUnleash()
    b = UnleashFlagBackend("http://unleash.test/api", "*:*.admin", transport=httpx.MockTransport(fake),
                           audit=MemoryAuditLog())
    assert not b.get("support-bot-2").exists
    b.set_percentage("support-bot-2", 5, reason="canary", actor="controller:test")
    env = fake.features["support-bot-2"]["environments"][1]
    assert env["enabled"] is True
    assert env["strategies"][0]["name"] == "flexibleRollout"
    assert env["strategies"][0]["parameters"] == {"rollout": "5", "stickiness": "userId", "groupId": "support-bot-2"}
    # strategy before switching on (no default-strategy moment at 100%)
    kinds = [(m, p.rsplit("/", 1)[-1]) for m, p in fake.calls if m == "POST"]
    assert kinds.index(("POST", "strategies")) < kinds.index(("POST", "on"))
    b.set_percentage("support-bot-2", 50, reason="step", actor="controller:test")
    assert len(env["strategies"]) == 1 and env["strategies"][0]["parameters"]["rollout"] == "50"
    assert b.percentage("support-bot-2") == 50
    b.kill("support-bot-2", reason="breach", actor="sensor:x")
    assert env["enabled"] is False and env["strategies"][0]["parameters"]["rollout"] == "0"
    assert b.percentage("support-bot-2") == 0
    assert b.probe_write("support-bot-2").ok
    assert [(c.from_effective, c.to_effective) for c in b.audit.changes] == [(0, 5), (5, 50), (50, 0)]
    with pytest.raises(FlagError, match="whole percent"):
        b.set_percentage("support-bot-2", 2.5, reason="r", actor="a")


def test_unleash_backend_refuses_a_flag_with_foreign_strategies():
    fake = FakeUnleash()
    b = UnleashFlagBackend("http://unleash.test", "*:*.admin", transport=httpx.MockTransport(fake),
                           audit=MemoryAuditLog())
    b.set_percentage("f", 10, reason="r", actor="a")
    fake.features["f"]["environments"][1]["strategies"].append(
        {"id": "x", "name": "default", "parameters": {}, "constraints": [], "disabled": False})
    with pytest.raises(FlagError, match="other enabled strategies"):
        b.get("f")
    assert not b.probe_write("f").ok  # readiness fails: the served cohort is not the computed one


def test_backend_for_unknown_and_missing_config(monkeypatch):
    with pytest.raises(FlagError, match="unknown flag backend"):
        backend_for("launchdarkly")
    monkeypatch.delenv("AGENT_RELEASE_UNLEASH_URL", raising=False)
    with pytest.raises(FlagError, match="AGENT_RELEASE_UNLEASH_URL"):
        backend_for("unleash")
