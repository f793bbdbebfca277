"""Evidence completeness through Dagster against a real fault-injecting endpoint on loopback: the
candidate is an OpenAI-compatible HTTP agent (``kind: http``) served by the simulated agent server
with a :class:`FaultPlan` (503s, requests slower than the client's timeout). The replay retries,
records the errors it could not retry away, and the blocking checks and the gate react with the
counts — or, below the spec's limit, let the evidence through."""

from __future__ import annotations

import json
import re
import shutil

import dagster as dg
import polars as pl
import pytest
import yaml

from agent_release import contract
from agent_release.agents import samples
from agent_release.agents.server import FaultPlan, ServerThread
from agent_release.config import REPO_ROOT, Paths
from agent_release.defs.masking import MASKED
from agent_release.defs.partitions import RELEASES
from agent_release.defs.replay import REPLAY_RUNS, REPLAYED, ReplayRuntimeResource, replay_complete, replayed_conversations
from agent_release.defs.resources import WarehouseResource
from agent_release.evals.gate import decide
from agent_release.release_spec import load_release
from agent_release.warehouse import Lake
from agent_release_tests.test_evidence_completeness import findings, golden

DAY = "2026-11-02"  # samples.conversations start on it; a traffic day of the default partitions
V2, V2_MODEL = "support-bot@2", "acme-llm-2026-10-01"
N_CONV = 40


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A temporary home whose masked traffic is 40 conversations of one day (masking skipped)."""
    home, inputs = tmp_path / "home", tmp_path / "home" / "inputs"
    shutil.copytree(REPO_ROOT / "data", inputs,
                    ignore=shutil.ignore_patterns("lake", "warehouse.duckdb*", "synthetic", "reports", "checkpoints"))
    monkeypatch.setenv("AGENT_RELEASE_HOME", str(home))
    monkeypatch.setenv("AGENT_RELEASE_INPUTS", str(inputs))
    lake = Lake(Paths(home).lake)
    traffic = contract.to_frame(samples.conversations(N_CONV, seed=2, turns=(1, 3)))
    assert set(traffic["started_at"].dt.strftime("%Y-%m-%d").to_list()) == {DAY}
    lake.write(MASKED, traffic, partition=DAY)
    return home, inputs, lake, traffic


def _release(inputs, rid: str, base_url: str, *, timeout_s: float, max_retries: int) -> str:
    """support-bot-2 with its candidate behind ``base_url`` (a real HTTP endpoint) and a replay of
    every masked conversation."""
    spec = yaml.safe_load((inputs / "releases" / "support-bot-2.yaml").read_text())
    spec["release_id"] = rid
    spec["candidate"] = {"version": V2, "model": V2_MODEL, "kind": "http", "base_url": base_url,
                         "timeout_s": timeout_s, "max_retries": max_retries}
    spec["replay"] = {"mode": "closed", "concurrency": 16, "conversations": 0}
    (inputs / "releases" / f"{rid}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return rid


def _replay_day(home, rid: str):
    """Materialize one replay partition (release × day) with its blocking check."""
    with dg.instance_for_test() as inst:
        inst.add_dynamic_partitions(RELEASES, [rid])
        res = dg.materialize([replayed_conversations, replay_complete],
                             partition_key=dg.MultiPartitionKey({"release": rid, "day": DAY}), instance=inst,
                             resources={"warehouse": WarehouseResource(home=str(home)),
                                        "replay_runtime": ReplayRuntimeResource()}, raise_on_error=False)
    mats = res.asset_materializations_for_node("replay__replayed_conversations")
    (check,) = res.get_asset_check_evaluations()
    return mats, check


def _replay_against(world, rid: str, plan: FaultPlan, *, timeout_s: float, max_retries: int):
    """Serve the candidate with ``plan`` on loopback, replay the day against it; returns the
    materializations, the check evaluation and what the server served (fault kind → requests)."""
    home, inputs, _, _ = world
    with ServerThread(V2, latency_scale=0.0, faults=plan) as srv:
        _release(inputs, rid, srv.base_url, timeout_s=timeout_s, max_retries=max_retries)
        mats, check = _replay_day(home, rid)
        return mats, check, dict(srv.faults.served)


def _runs(lake, rid: str) -> dict[str, dict]:
    return {r["side"]: r for r in lake.read(REPLAY_RUNS, partition=f"{rid}__{DAY}").iter_rows(named=True)}


def _gate(lake, rid: str):
    """The gate on this replay (clean golden and adversarial fixtures: only the replay can block)."""
    spec = load_release(rid)
    rep = pl.concat([lake.read(REPLAYED, partition=f"{rid}__{s}__{DAY}") for s in ("baseline", "candidate")],
                    how="diagonal_relaxed")
    return decide(spec, golden(), findings(), rep, rep, n_boot=200,
                  expected={"replay": N_CONV, "golden": 300, "adversarial": 60})


def test_a_day_of_candidate_endpoint_errors_fails_replay_complete_and_blocks_the_gate(world):
    """Known truth: the candidate's endpoint answers 503 to every request. The replay retries each
    request once (max_retries 1), sends two user turns per conversation, then stops (two failures in
    a row); every asked turn of the candidate is failed. The materialization records the outage
    (it is data), but ``replay_complete`` FAILs naming it and the gate BLOCKs 'evidence incomplete'
    with the same counts. Kills the SRE's bug: 100% endpoint errors read as a SUCCESSful day."""
    _, _, lake, traffic = world
    rid = "evidence-outage"
    mats, check, served = _replay_against(world, rid, FaultPlan(rates={"503": 1.0}), timeout_s=2.0, max_retries=1)
    users = [sum(m["role"] == "user" for m in msgs) for msgs in traffic["messages"].to_list()]
    asked, sent = sum(users), sum(min(u, 2) for u in users)
    assert mats, "the outage is recorded (the day's rows are data)"
    assert served == {"503": 2 * sent}  # every sent turn was tried twice: the client retried
    runs = _runs(lake, rid)
    cand, base = runs["candidate"], runs["baseline"]
    assert (cand["turns"], cand["failed_turns"], cand["error_share"]) == (asked, asked, 1.0)
    assert cand["retried_turns"] == sent and cand["retries"] == sent and cand["unsent_turns"] == asked - sent
    assert cand["complete"] is False and "endpoint errors" in cand["problem"]
    assert base["complete"] is False and base["error_share"] <= 0.05  # the day is judged as a whole
    meta = mats[0].metadata
    assert meta["complete"].value is False and meta["candidate_error_share"].value == 1.0
    assert not check.passed and check.blocking
    want = f"endpoint errors: candidate {asked} of {asked} turns failed (100.0%), baseline {base['failed_turns']} of"
    assert f"{rid} {DAY}: replay: {want}" in check.description, check.description
    d = _gate(lake, rid)
    assert d.decision == "BLOCK" and d.reasons[0].startswith("evidence incomplete") and want in d.reasons[0]


def test_a_share_of_503s_and_timeouts_is_retried_recorded_and_judged_against_the_limit(world):
    """Known truth, two endpoints. (a) 50 % of requests 503 and 10 % slower than the client's
    0.3 s timeout, one retry: a turn fails with probability ≈ 0.6² = 36 % — far above the spec's
    5 %: the check FAILs and the gate BLOCKs, both with the candidate's counts, the errors being
    ``http_503`` and ``timeout``. (b) 20 % 503s, three retries: ≈ 0.2⁴ = 0.16 % of turns fail —
    the retries absorb the faults, the check passes and the gate judges the criteria. Kills: errors
    not retried; retried-away faults counted as errors; a check that reacts to any error at all."""
    lake, bad = world[2], "evidence-flaky"
    _, check, served_bad = _replay_against(world, bad, FaultPlan(rates={"503": 0.5, "slow": 0.1}, slow_s=1.0, seed=5),
                                           timeout_s=0.3, max_retries=1)
    cand = _runs(lake, bad)["candidate"]
    # every request the server saw is a first attempt or a retry the replay recorded
    assert sum(served_bad.values()) == cand["turns"] - cand["unsent_turns"] + cand["retries"]
    assert served_bad["503"] > 0 and served_bad["slow"] > 0 and cand["retried_turns"] > 0
    errors = json.loads(cand["stats_json"])["errors"]  # (http_500: the simulated agent's own rare errors)
    assert {"http_503", "timeout"} <= set(errors) <= {"http_503", "timeout", "http_500"}, errors
    assert cand["error_share"] > 0.15 and cand["complete"] is False
    m = re.search(r"endpoint errors: candidate (\d+) of (\d+) turns failed \(([\d.]+)%\)", check.description or "")
    assert not check.passed and m, check.description
    assert (int(m[1]), int(m[2])) == (cand["failed_turns"], cand["turns"])
    d = _gate(lake, bad)
    assert d.decision == "BLOCK" and m[0] in d.reasons[0]
    e = d.evidence.get("replay", "candidate")
    assert (e.errors, e.units) == (cand["failed_turns"], cand["turns"])

    ok = "evidence-retried"
    _, check, served_ok = _replay_against(world, ok, FaultPlan(rates={"503": 0.2}, seed=6), timeout_s=2.0, max_retries=3)
    cand = _runs(lake, ok)["candidate"]
    assert sum(served_ok.values()) == cand["turns"] - cand["unsent_turns"] + cand["retries"]
    assert served_ok["503"] > 0 and cand["retried_turns"] > 0.1 * cand["turns"]  # ≈ 20 % of turns retried
    assert cand["error_share"] <= 0.05 and cand["complete"] is True
    assert check.passed, check.description
    d = _gate(lake, ok)
    assert d.evidence.complete, d.reasons
    assert d.reasons[-1].startswith("evidence complete — replay: candidate 40/40 conversations")


def test_a_golden_run_against_a_failing_endpoint_fails_its_completeness_check(world):
    """Known truth: the candidate's endpoint answers 503 to everything; every golden case of the
    candidate is an endpoint error, none of the baseline's. ``golden_complete`` (blocking) FAILs
    with both sides' counts, and the asset's metadata carries them. Kills: a suite with no check
    (an outage scored as 308 wrong answers and judged by the golden criterion)."""
    from agent_release.defs.evals import golden_complete, golden_results
    from agent_release.evals.golden import load_golden

    home, inputs, lake, _ = world
    n = len(load_golden())
    with ServerThread(V2, latency_scale=0.0, faults=FaultPlan(rates={"503": 1.0})) as srv:
        rid = _release(inputs, "evidence-golden-outage", srv.base_url, timeout_s=2.0, max_retries=0)
        with dg.instance_for_test() as inst:
            inst.add_dynamic_partitions(RELEASES, [rid])
            res = dg.materialize([golden_results, golden_complete], partition_key=rid, instance=inst,
                                 resources={"warehouse": WarehouseResource(home=str(home)),
                                            "replay_runtime": ReplayRuntimeResource()}, raise_on_error=False)
    meta = res.asset_materializations_for_node("evals__golden_results")[0].metadata
    assert meta["candidate_errors"].value == n and meta["candidate_error_share"].value == 1.0
    assert meta["candidate_expected"].value == meta["candidate_received"].value == n
    assert meta["evidence_complete"].value is False
    (check,) = res.get_asset_check_evaluations()
    assert not check.passed and not check.blocking  # ERROR, not blocking: the gate still runs and BLOCKs
    assert f"golden: endpoint errors: candidate {n} of {n} cases failed (100.0%), baseline " in check.description
