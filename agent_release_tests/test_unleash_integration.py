"""Against a REAL Unleash server: the Unleash Python SDK serves exactly the cohort the pipeline
computes.

``scripts/unleash_harness.py`` installs ``unleash-server@7.5.1`` from npm into a cache outside
git (first run ~20-45 s), starts a throwaway PostgreSQL 15 cluster and the server on loopback
(~5 s), and tears both down. If the server cannot be installed or started, these tests FAIL
with the harness's message — they never skip.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from agent_release import bucketing

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

HARNESS = Path(__file__).resolve().parent.parent / "scripts" / "unleash_harness.py"


def _harness():
    spec = importlib.util.spec_from_file_location("unleash_harness", HARNESS)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["unleash_harness"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def server():
    """(server, None) or (None, why it could not start) — each test then FAILS with the reason."""
    h = _harness()
    try:
        cm = h.unleash_server()
        srv = cm.__enter__()
    except h.HarnessError as exc:
        yield None, str(exc)
        return
    try:
        yield srv, None
    finally:
        cm.__exit__(None, None, None)


def _need(server):
    """Called in the test body, so a server that cannot start is a test FAILURE (not an error/skip)."""
    srv, error = server
    if srv is None:
        pytest.fail(f"could not start a real Unleash server for the integration test: {error}", pytrace=False)
    return srv


def _sdk(srv, tmp_path):
    try:
        from UnleashClient import UnleashClient
        from UnleashClient.utils import InstanceAllowType
    except ImportError:
        pytest.fail("the Unleash Python SDK is not installed: pip install UnleashClient (pyproject extra 'test')",
                    pytrace=False)
    client = UnleashClient(url=srv.api_url, app_name="agent-release-it", environment=srv.environment,
                           custom_headers={"Authorization": srv.client_token}, refresh_interval=1,
                           disable_metrics=True, disable_registration=True, cache_directory=str(tmp_path),
                           multiple_instance_mode=InstanceAllowType.SILENTLY_ALLOW)
    client.initialize_client()
    return client


def _served_rollout(backend, srv, flag: str) -> str | None:
    for f in backend.client_features(srv.client_token).get("features", []):
        if f["name"] == flag:
            if not f.get("enabled"):
                return "off"
            return f["strategies"][0]["parameters"]["rollout"] if f.get("strategies") else None
    return None


def _sdk_answers(srv, tmp_path, backend, flag: str, expect: str, ids: list[str]) -> np.ndarray:
    """Wait until the server serves the new configuration to SDKs, then ask a fresh SDK client."""
    deadline = time.monotonic() + 20
    while _served_rollout(backend, srv, flag) != expect:
        assert time.monotonic() < deadline, f"Unleash never served {flag} = {expect}"
        time.sleep(0.2)
    client = _sdk(srv, tmp_path)
    try:
        return np.array([client.is_enabled(flag, {"userId": u}) for u in ids])
    finally:
        client.destroy()


def test_sdk_serves_exactly_the_cohort_bucketing_computes(server, tmp_path, home):
    unleash = _need(server)
    from agent_release.flags.audit import FlagAuditLog
    from agent_release.flags.unleash import UnleashFlagBackend

    flag = "support-bot-2"
    ids = [f"u_{i:064x}" for i in range(3000)]  # hash-like ids, as in the masked logs
    with UnleashFlagBackend(unleash.url, unleash.admin_token, environment=unleash.environment,
                            audit=FlagAuditLog.default()) as b:
        for pct in (1, 5, 25, 50, 100):
            b.set_percentage(flag, pct, reason=f"step {pct}%", actor="controller:integration-test", release_id=flag)
            got = _sdk_answers(unleash, tmp_path, b, flag, str(pct), ids)
            want = bucketing.in_rollout_many(flag, ids, pct)
            assert (got == want).all(), f"{pct}%: {(got != want).sum()} users differ"
            assert b.get(flag).effective_percentage == pct
        assert b.probe_write(flag).ok
        b.kill(flag, reason="integration test kill", actor="sensor:rollout_guardrail_sensor")
        got = _sdk_answers(unleash, tmp_path, b, flag, "off", ids)
        assert not got.any() and b.percentage(flag) == 0
    audit = FlagAuditLog.default().read(flag)
    assert audit["to_effective_percentage"].to_list() == [1, 5, 25, 50, 100, 0]
    assert set(audit["backend"].to_list()) == {"unleash"}


def test_rollout_on_unleash_serves_the_cohort_of_the_step_traffic(server, tmp_path, home):
    """The controller rolls out on Unleash; the users the simulated traffic put on the candidate
    at each step are exactly those the SDK enables."""
    unleash = _need(server)
    from agent_release.flags import backend_for
    from agent_release.release_spec import load_release
    from agent_release.rollout import traffic as tr
    from agent_release.rollout.controller import RolloutConfig, RolloutController
    from agent_release.warehouse import Lake

    spec = load_release("support-bot-2")
    b = backend_for("unleash", url=unleash.url, admin_token=unleash.admin_token, environment=unleash.environment)
    lake = Lake.default()
    res = RolloutController(spec, b, lake, RolloutConfig(until_percentage=50, rate_per_hour=1500)).play()
    assert res.status == "ACTIVE" and b.percentage("support-bot-2") == 50
    assert res.decisions["decision"].to_list() == ["ENTER", "ENTER", "ENTER"]
    for step, pct in ((0, 5), (1, 25)):
        live = lake.read(tr.LIVE, partition=tr.step_partition(spec.release_id, step))
        users = live.group_by("user_id").agg((pl.col("agent_version") == spec.candidate.version).any().alias("cand"))
        ids = users["user_id"].to_list()[:3000]
        cand = users["cand"].to_numpy()[:3000]
        assert (bucketing.in_rollout_many("support-bot-2", ids, pct) == cand).all()
        # the SDK, with the flag at the step's percentage, enables exactly those users
        b.set_percentage("support-bot-2", pct, reason=f"replay step {pct}% for the check", actor="integration-test")
        got = _sdk_answers(unleash, tmp_path, b, "support-bot-2", str(pct), ids)
        assert (got == cand).all(), f"step {pct}%: {(got != cand).sum()} users differ"
