"""Decisions are append-only and pre-registered on every input (issue 13, item 7).

Known-truth tests: exactly one thing changes and the recorded / current decision must follow.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta

import duckdb
import polars as pl
import pytest

from agent_release import decision_log as dl
from agent_release.config import REPO_ROOT, paths
from agent_release.manifest import input_manifest
from agent_release.release_spec import load_release
from agent_release.warehouse import Lake, refresh_warehouse

RID = "support-bot-2"
T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


@pytest.fixture
def inputs(home, tmp_path, monkeypatch):
    """Private copies of every versioned input (data/, price table, agent profiles)."""
    d = tmp_path / "inputs"
    shutil.copytree(REPO_ROOT / "data", d, ignore=shutil.ignore_patterns("lake", "warehouse*", "reports",
                                                                       "synthetic", "flags", ".locks"))
    prices = tmp_path / "prices.yaml"
    shutil.copy(REPO_ROOT / "agent_release" / "agents" / "prices.yaml", prices)
    profiles = tmp_path / "profiles"
    shutil.copytree(REPO_ROOT / "agent_release" / "agents" / "profiles", profiles)
    monkeypatch.setenv("AGENT_RELEASE_INPUTS", str(d))
    monkeypatch.setenv("AGENT_RELEASE_PRICES", str(prices))
    monkeypatch.setenv("AGENT_RELEASE_PROFILES", str(profiles))
    return {"data": d, "prices": prices, "profiles": profiles}


def _row(decision: str, at: datetime, rid: str = RID, **kw) -> dict:
    spec = load_release(rid)
    return {"release_id": rid, "spec_hash": spec.spec_hash, "decided_at": at, "decision": decision,
            "reasons": [f"{decision} because"], "config_hash": "cfg", **kw}


def _decide(lake, decision: str, at: datetime, rid: str = RID, **kw) -> dict:
    return dl.append_gate_decision(lake, _row(decision, at, rid, **kw), manifest=input_manifest(load_release(rid)))


def _status(lake, rid: str = RID):
    from agent_release.defs.evals import gate_status

    return gate_status(lake, rid)


# ------------------------------------------------------------------------------ append-only
def test_block_then_promote_keeps_both_rows(inputs):
    lake = Lake.default()
    b = _decide(lake, "BLOCK", T0)
    p = _decide(lake, "PROMOTE", T0 + timedelta(hours=1))
    hist = dl.gate_history(lake, RID)
    assert hist["decision"].to_list() == ["BLOCK", "PROMOTE"]
    assert hist["seq"].to_list() == [0, 1]
    assert p["previous_decision_id"] == b["decision_id"] != p["decision_id"]
    assert len(lake.partitions(dl.GATE_DECISION_HISTORY)) == 2  # a new file per decision
    assert dl.current_gate_decision(lake, RID)["decision"] == "PROMOTE"
    assert _status(lake)[-1] == "PROMOTE"
    # ... and the same BLOCK decided again afterwards is a new row, not swallowed by the first one
    _decide(lake, "BLOCK", T0 + timedelta(hours=2))
    assert dl.gate_history(lake, RID)["decision"].to_list() == ["BLOCK", "PROMOTE", "BLOCK"]
    assert _status(lake)[-1] == "BLOCK"


def test_reappending_a_decision_does_nothing(inputs):
    lake = Lake.default()
    m = input_manifest(load_release(RID))
    first = dl.append_gate_decision(lake, _row("BLOCK", T0), manifest=m)
    # a re-run of the same decision (later clock, same content) appends nothing
    again = dl.append_gate_decision(lake, _row("BLOCK", T0 + timedelta(minutes=5)), manifest=m)
    assert again["decision_id"] == first["decision_id"]
    # an explicit id already present is a no-op, whatever the row says
    dl.append_gate_decision(lake, _row("PROMOTE", T0 + timedelta(hours=1), decision_id=first["decision_id"]),
                            manifest=m)
    hist = dl.gate_history(lake, RID)
    assert hist.height == 1 and hist["decision"].to_list() == ["BLOCK"]
    assert len(lake.partitions(dl.GATE_DECISION_HISTORY)) == 1
    row = hist.row(0, named=True)
    assert row["manifest_hash"] == m.manifest_hash
    assert json.loads(row["manifest_json"])["components"] == m.components


def test_no_decision_is_no_decision(inputs):
    st = _status(Lake.default())
    assert st[-1] == "NO DECISION" and st.reasons


# ------------------------------------------------------------------------------ staleness
def _edit_golden(inp):
    f = next((inp["data"] / "golden").glob("golden_v*.jsonl"))
    lines = f.read_text().splitlines()
    f.write_text("\n".join(lines[:-1]) + "\n")  # one case fewer


def _edit_prices(inp):
    inp["prices"].write_text(inp["prices"].read_text() + "\n# price change\n")


def _edit_corpus(inp):
    f = next((inp["data"] / "adversarial").glob("*.jsonl"))
    f.write_text(f.read_text() + json.dumps({"id": "new-probe", "prompt": "x"}) + "\n")


def _edit_profile(inp):
    f = inp["profiles"] / "support-bot@2.yaml"
    f.write_text(f.read_text() + "\n# behaviour tweak\n")


def _edit_battery(inp):
    f = next((inp["data"] / "scenarios").glob("*.yaml"))
    f.write_text(f.read_text() + "\n# one more comment\n")


def _edit_spec(inp):
    f = inp["data"] / "releases" / f"{RID}.yaml"
    f.write_text(f.read_text().replace("cost_allowance: 1.10", "cost_allowance: 1.20"))


@pytest.mark.parametrize("edit, component", [
    (_edit_golden, "golden_set"), (_edit_prices, "price_table"), (_edit_corpus, "adversarial_corpus"),
    (_edit_profile, "agent_candidate"), (_edit_battery, "scenario_battery"), (_edit_spec, "spec"),
])
def test_changing_any_input_makes_the_decision_stale(inputs, edit, component):
    lake = Lake.default()
    _decide(lake, "PROMOTE", T0)
    assert _status(lake)[-1] == "PROMOTE"
    edit(inputs)
    decision, dec_spec, cur_spec, status = st = _status(lake)
    assert (decision, status) == ("PROMOTE", "STALE")
    assert st.changed == (component,)
    assert component in st.reasons[0]
    assert (dec_spec != cur_spec) == (component == "spec")
    # a BLOCK stays visible as what was decided, and is stale too
    _decide(lake, "BLOCK", T0 + timedelta(hours=1))
    assert _status(lake)[-1] == "BLOCK"  # decided on the edited inputs: current


def test_deleted_spec_is_stale(inputs):
    lake = Lake.default()
    _decide(lake, "PROMOTE", T0)
    (inputs["data"] / "releases" / f"{RID}.yaml").unlink()
    assert _status(lake)[-1] == "STALE"


# ------------------------------------------------------------------------------ views
def _warehouse_rows(sql: str) -> list[tuple]:
    con = duckdb.connect(str(paths().warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_views_give_the_latest_decision_per_release(inputs):
    lake = Lake.default()
    # a legacy lake table with a view's name is never exposed
    lake.write("evals.gate_decisions", pl.DataFrame({"release_id": [RID], "decision": ["PROMOTE"]}), partition=RID)
    _decide(lake, "BLOCK", T0)
    _decide(lake, "PROMOTE", T0 + timedelta(hours=1))
    _decide(lake, "BLOCK", T0, rid="support-bot-2-rc1")
    st = refresh_warehouse()
    assert st["refreshed"] and "evals.gate_decisions" in st["views"] and "evals.gate_decisions" not in st["tables"]
    rows = _warehouse_rows("SELECT release_id, decision, status, history_rows, manifest_hash = current_manifest_hash "
                           "FROM evals.gate_decisions ORDER BY release_id")
    assert rows == [(RID, "PROMOTE", "PROMOTE", 2, True), ("support-bot-2-rc1", "BLOCK", "BLOCK", 1, True)]
    assert _warehouse_rows("SELECT count(*) FROM evals.gate_decision_history")[0][0] == 3
    docs = dict(_warehouse_rows("SELECT column_name, comment FROM duckdb_columns() "
                                "WHERE schema_name = 'evals' AND table_name = 'gate_decisions'"))
    assert "STALE" in docs["status"] and docs["manifest_hash"] and docs["manifest_json"] and docs["decision_id"]
    # an input changes: the next publish recomputes the current manifests and the view says STALE
    _edit_golden(inputs)
    refresh_warehouse()
    assert _warehouse_rows(f"SELECT status FROM evals.gate_decisions WHERE release_id = '{RID}'") == [("STALE",)]
    # the pipeline's in-memory connection has the same view
    assert lake.sql("SELECT count(*) AS n FROM evals.gate_decisions")["n"][0] == 2


def _looks(n: int, decisions: list[str]) -> tuple[list[dict], list[dict], list[dict]]:
    looks, metrics, segs = [], [], []
    for i in range(n):
        as_of = datetime(2026, 11, 3 + i)
        looks.append({"release_id": RID, "as_of": as_of, "decision": decisions[i], "reasons": [f"look {i}"],
                      "metrics_tested": i % 2 == 1})
        metrics.append({"release_id": RID, "as_of": as_of, "name": "resolution_rate", "estimate": 0.01 * i})
        segs.append({"release_id": RID, "as_of": as_of, "dimension": "locale", "segment": "es-ES", "flagged": False})
    return looks, metrics, segs


def test_canary_looks_return_the_latest_evaluation_only(inputs):
    lake = Lake.default()
    assert dl.latest_canary_decision(lake, RID) is None and dl.canary_looks(lake, RID).is_empty()
    first = _looks(3, ["HOLD", "HOLD", "EXPAND"])
    r1 = dl.append_canary_looks(lake, RID, *first, manifest_hash="m1", evaluation_id="e1")
    assert r1["appended"] and r1["evaluation_seq"] == 0
    # a later evaluation (e.g. the next hourly run) with fewer, different looks
    second = _looks(2, ["HOLD", "HOLD"])
    dl.append_canary_looks(lake, RID, *second, manifest_hash="m2", evaluation_id="e2")
    looks = dl.canary_looks(lake, RID)
    assert looks["decision"].to_list() == ["HOLD", "HOLD"] and set(looks["evaluation_id"]) == {"e2"}
    assert looks["as_of"].is_sorted()
    last = dl.latest_canary_decision(lake, RID)
    assert (last["decision"], last["manifest_hash"], json.loads(last["reasons"])) == ("HOLD", "m2", ["look 1"])
    # re-appending an evaluation does nothing; both evaluations stay in history
    again = dl.append_canary_looks(lake, RID, *first, manifest_hash="m1", evaluation_id="e1")
    assert not again["appended"]
    assert dl.canary_history(lake, RID).height == 5
    assert dl.latest_canary_decision(lake, RID)["evaluation_id"] == "e2"
    assert dl.canary_look_metrics(lake, RID).height == 2
    # the views show the latest evaluation per release
    refresh_warehouse()
    assert _warehouse_rows("SELECT count(*), min(evaluation_id), max(evaluation_id) FROM canary.decisions") == [(2, "e2", "e2")]
    assert _warehouse_rows("SELECT count(*) FROM canary.decision_metrics")[0][0] == 2
    assert _warehouse_rows("SELECT count(*) FROM canary.decision_segments")[0][0] == 2
    assert _warehouse_rows("SELECT count(*) FROM canary.decision_history")[0][0] == 5
    # metric rows point at their look
    m = dl.canary_look_metrics(lake, RID).join(looks.select("decision_id", "as_of"), left_on="look_decision_id",
                                                right_on="decision_id")
    assert (m["as_of"] == m["as_of_right"]).all()


def test_a_crash_between_child_rows_and_looks_leaves_no_duplicates(inputs, monkeypatch):
    lake = Lake.default()
    looks, metrics, segs = _looks(2, ["HOLD", "EXPAND"])
    real = lake.write

    def crash_on_looks(table, *a, **kw):
        if table == dl.CANARY_DECISION_HISTORY:
            raise RuntimeError("killed")
        return real(table, *a, **kw)

    monkeypatch.setattr(lake, "write", crash_on_looks)
    with pytest.raises(RuntimeError):
        dl.append_canary_looks(lake, RID, looks, metrics, segs, manifest_hash="m", evaluation_id="e")
    monkeypatch.setattr(lake, "write", real)
    assert dl.latest_canary_decision(lake, RID) is None  # nothing committed
    dl.append_canary_looks(lake, RID, looks, metrics, segs, manifest_hash="m", evaluation_id="e")
    assert dl.canary_look_metrics(lake, RID).height == 2 and dl.canary_look_segments(lake, RID).height == 2
    assert dl.latest_canary_decision(lake, RID)["decision"] == "EXPAND"


# ------------------------------------------------------------------------------ the asset
class _FakeDecision:
    """Stands in for evals.gate.decide's result (the gate's criteria are tested in test_evals)."""

    def __init__(self, spec, extra_inputs):
        self.decision, self.reasons, self.config_hash = "PROMOTE", ["all four criteria pass"], "cfg"
        self.extra_inputs = extra_inputs
        self._row = {"release_id": spec.release_id, "spec_hash": spec.spec_hash, "decided_at": datetime.now(UTC),
                     "decision": "PROMOTE", "reasons": json.dumps(self.reasons), "config_hash": "cfg",
                     "inputs_json": json.dumps(extra_inputs, sort_keys=True)}

    def to_row(self):
        return dict(self._row)


def test_gate_asset_appends_with_the_manifest_and_the_check_follows_the_inputs(inputs, monkeypatch):
    import dagster as dg

    import agent_release.evals.gate as gate_mod
    import agent_release.evals.report as report_mod
    import agent_release.evals.scenarios as scen_mod
    from agent_release.defs.evals import FINDINGS, GOLDEN, SCENARIOS, gate_decision, gate_promoted
    from agent_release.defs.partitions import RELEASES
    from agent_release.defs.resources import WarehouseResource

    seen = []
    monkeypatch.setattr(gate_mod, "decide", lambda spec, *a, extra_inputs=None, **kw:
                        seen.append(extra_inputs) or _FakeDecision(spec, extra_inputs))
    monkeypatch.setattr(report_mod, "render_gate_markdown", lambda d: "report")
    monkeypatch.setattr(report_mod, "render_gate_report_html", lambda d, **kw: "<html></html>")
    monkeypatch.setattr(scen_mod, "scenario_summary", lambda df: {"by_kind": df})
    lake = Lake.default()
    for t in (GOLDEN, FINDINGS, SCENARIOS):
        lake.write(t, pl.DataFrame({"release_id": [RID]}), partition=RID)

    def run():
        with dg.instance_for_test() as inst:
            inst.add_dynamic_partitions(RELEASES, [RID])
            res = dg.materialize([gate_decision, gate_promoted], partition_key=RID, instance=inst,
                                 resources={"warehouse": WarehouseResource()}, raise_on_error=False)
        mat = res.asset_materializations_for_node("evals__gate_decision")[0].metadata
        checks = [e.event_specific_data for e in res.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
        return mat, checks[0].passed

    mat, passed = run()
    m = input_manifest(load_release(RID))
    assert passed and mat["manifest_hash"].value == m.manifest_hash and mat["appended"].value is True
    assert "golden_set" in mat["input_manifest"].value
    assert seen[0]["manifest_hash"] == m.manifest_hash and seen[0]["input_manifest"] == m.components
    assert dl.current_gate_decision(lake, RID)["manifest_hash"] == m.manifest_hash
    # a re-run on the same inputs appends nothing
    mat, passed = run()
    assert passed and mat["appended"].value is False and dl.gate_history(lake, RID).height == 1
    # an input changes: the blocking check fails until the gate runs again
    _edit_prices(inputs)
    from agent_release.defs.evals import gate_status

    assert gate_status(lake, RID)[-1] == "STALE"
    mat, passed = run()
    assert passed and mat["appended"].value is True and dl.gate_history(lake, RID).height == 2


def test_the_current_decision_is_the_last_recorded_not_the_latest_decided_at(inputs):
    """Kills: ordering by the caller's ``decided_at`` — a PROMOTE recorded after a BLOCK but
    stamped earlier must be the decision in force; and the dedupe compares against the last
    *recorded* row."""
    lake = Lake.default()
    _decide(lake, "BLOCK", T0 + timedelta(hours=5))
    _decide(lake, "PROMOTE", T0)
    assert dl.current_gate_decision(lake, RID)["decision"] == "PROMOTE"
    assert _status(lake)[-1] == "PROMOTE"
    assert dl.gate_history(lake, RID)["decision"].to_list() == ["BLOCK", "PROMOTE"]
    # the BLOCK decided again after the PROMOTE is new (not a re-run of the BLOCK stamped latest)
    r = _decide(lake, "BLOCK", T0 + timedelta(hours=1))
    assert dl.gate_history(lake, RID).height == 3 and r["seq"] == 2
    assert dl.current_gate_decision(lake, RID)["decision"] == "BLOCK"
    # a re-run of the last recorded decision appends nothing, whatever its decided_at
    _decide(lake, "BLOCK", T0 - timedelta(days=1))
    assert dl.gate_history(lake, RID).height == 3


def test_the_gate_asset_refuses_evidence_from_other_inputs(inputs):
    """Kills: the gate asset stamping the current manifest on evidence produced before an input
    changed (here the price table), without passing the manifest to ``decide``."""
    import dagster as dg

    from agent_release.defs.evals import FINDINGS, GOLDEN, SCENARIOS, gate_decision
    from agent_release.defs.partitions import RELEASES
    from agent_release.defs.replay import REPLAYED
    from agent_release.defs.resources import WarehouseResource

    spec = load_release(RID)
    old = input_manifest(spec).manifest_hash
    lake = Lake.default()
    ev = pl.DataFrame({"release_id": [RID], "spec_hash": [spec.spec_hash], "manifest_hash": [old],
                       "agent_version": [spec.candidate.version]})
    for t in (GOLDEN, FINDINGS, SCENARIOS):
        lake.write(t, ev, partition=RID)
    lake.write(REPLAYED, ev, partition=f"{RID}__candidate__2026-11-01")
    _edit_prices(inputs)
    with dg.instance_for_test() as inst:
        inst.add_dynamic_partitions(RELEASES, [RID])
        res = dg.materialize([gate_decision], partition_key=RID, instance=inst,
                             resources={"warehouse": WarehouseResource()}, raise_on_error=False)
    assert not res.success
    failure = next(e for e in res.all_events if e.event_type_value == "STEP_FAILURE")
    msg = str(failure.event_specific_data.error)
    assert "StaleResultError" in msg and "golden_results" in msg and old in msg
    assert dl.gate_history(lake, RID).height == 0  # nothing was decided on stale evidence
