"""Pre-prod through Dagster: replay + suites + gate for a release partition, and staleness."""

import os
import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml

from agent_release.config import REPO_ROOT
from agent_release.definitions import defs
from agent_release.defs.evals import DECISIONS, gate_status
from agent_release.defs.partitions import RELEASES
from agent_release.warehouse import Lake


@pytest.fixture(scope="module")
def preprod(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    inputs = home / "inputs"
    shutil.copytree(REPO_ROOT / "data", inputs, ignore=shutil.ignore_patterns("lake", "warehouse.duckdb*", "synthetic", "reports", "checkpoints"))
    # a small replay keeps the test quick
    spec_path = inputs / "releases" / "support-bot-2.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["replay"]["conversations"] = 60
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    env = {"AGENT_RELEASE_HOME": str(home), "AGENT_RELEASE_INPUTS": str(inputs),
           "AGENT_RELEASE_SYNTHETIC_CONVERSATIONS": "80", "AGENT_RELEASE_DEMO": "1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with dg.instance_for_test() as instance:
            instance.add_dynamic_partitions(RELEASES, ["support-bot-2"])
            r1 = defs.resolve_job_def("prepare_traffic").execute_in_process(instance=instance, raise_on_error=False)
            assert r1.success
            r2 = defs.resolve_job_def("preprod_release").execute_in_process(
                instance=instance, partition_key="support-bot-2", raise_on_error=False)
        yield home, inputs, spec_path, r2
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_gate_decision_recorded(preprod):
    home, _, _, result = preprod
    lake = Lake(home / "data" / "lake")
    d = lake.read(DECISIONS, partition="support-bot-2").row(0, named=True)
    assert d["decision"] in ("PROMOTE", "BLOCK")
    for crit in ("golden_accuracy", "new_high_severity", "p95_latency", "cost_per_resolution"):
        assert d[f"{crit}_pass"] in (True, False)
    assert d["reasons"] and d["spec_hash"] and d["config_hash"]
    assert (home / "data" / "reports" / "support-bot-2" / "gate.html").stat().st_size > 2000
    # the blocking check mirrors the decision
    evals = {e.event_specific_data.check_name: e.event_specific_data.passed
             for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    assert evals["gate_promoted"] == (d["decision"] == "PROMOTE")
    assert evals["replay_complete"]
    # replay went through the loopback HTTP server and kept one row per conversation and agent
    rep = lake.read("replay.replayed_conversations")
    assert rep.height == 120 and rep.select("conversation_id", "agent_version").n_unique() == 120


def test_editing_the_spec_makes_the_decision_stale(preprod):
    home, inputs, spec_path, _ = preprod
    lake = Lake(home / "data" / "lake")
    before = gate_status(lake, "support-bot-2")
    assert before[-1] in ("PROMOTE", "BLOCK")
    spec = yaml.safe_load(spec_path.read_text())
    spec["gate"]["p95_latency_budget_ms"] = spec["gate"]["p95_latency_budget_ms"] + 500
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    after = gate_status(lake, "support-bot-2")
    assert after[-1] == "STALE" and after[1] != after[2]
