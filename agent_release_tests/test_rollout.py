"""Rollout: the whole plan in simulated time, tightening thresholds, automatic rollback by the
sensor (error spike at 50% and at 100%), idempotent ticks, the model-version pin, manual rollback
at 100% (Dagster job and CLI), rollback readiness blocking a step."""

from __future__ import annotations

import json
from datetime import datetime
import shutil
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from agent_release.config import REPO_ROOT

RID = "support-bot-2"
FLAG = "support-bot-2"


# --------------------------------------------------------------------------- fixtures


def _gate_promote(lake, spec) -> None:
    """The gate's decision and the canary's last look as pre-prod and the canary would write them
    (both are tested elsewhere): the rollout starts only from a promoted release whose canary
    said EXPAND. Written through the decision history (agent_release.decision_log) when it exists,
    and as the plain tables too (whichever the readers use)."""
    from datetime import datetime

    look = {"release_id": spec.release_id, "spec_hash": spec.spec_hash, "as_of": datetime(2026, 11, 16),
            "decision": "EXPAND", "reasons": '["4 of 4 exit metrics non-inferior (need 3)"]'}
    lake.write("evals.gate_decisions", pl.DataFrame([{"release_id": spec.release_id, "decision": "PROMOTE",
                                                      "spec_hash": spec.spec_hash}]), partition=spec.release_id)
    lake.write("canary.decisions", pl.DataFrame([look]), partition=spec.release_id)
    try:
        from agent_release import decision_log
    except ImportError:
        return
    from agent_release.manifest import input_manifest

    m = input_manifest(spec)
    decision_log.append_gate_decision(lake, {"release_id": spec.release_id, "decision": "PROMOTE",
                                             "spec_hash": spec.spec_hash}, manifest=m)
    if hasattr(decision_log, "append_canary_looks"):
        decision_log.append_canary_looks(lake, spec.release_id, [look], [], [], manifest_hash=m.manifest_hash,
                                         evaluation_id=decision_log.evaluation_id_for(spec.release_id, "test"))


def _resources(home: Path) -> dict:
    from agent_release.defs.resources import WarehouseResource
    from agent_release.defs.rollout import FlagBackendResource, RolloutSimulationResource

    return {"warehouse": WarehouseResource(home=str(home)), "flag_backend": FlagBackendResource(),
            "rollout_simulation": RolloutSimulationResource()}


@pytest.fixture(scope="session")
def templates(tmp_path_factory):
    """Homes with a rollout played to a given point, made once and copied per test."""
    made: dict = {}

    def make(key):
        if key in made:
            return made[key]
        root = tmp_path_factory.mktemp(f"rollout-{key}")
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("AGENT_RELEASE_HOME", str(root))
            (root / "data").mkdir(exist_ok=True)
            from agent_release.flags import backend_for
            from agent_release.release_spec import load_release
            from agent_release.rollout.controller import RolloutConfig, RolloutController
            from agent_release.warehouse import Lake

            spec = load_release(RID)
            lake = Lake.default()
            _gate_promote(lake, spec)
            info = {}
            if key == "job":  # the whole rollout through the Dagster assets
                from agent_release.defs.rollout import rollout_decisions, rollout_plan

                inst = dg.DagsterInstance.ephemeral()
                inst.add_dynamic_partitions("releases", [RID])
                res = dg.materialize([rollout_plan, rollout_decisions], partition_key=RID, instance=inst,
                                     resources=_resources(root))
                assert res.success
                mats = [ev.event_specific_data.materialization for ev in res.all_events
                        if ev.event_type_value == "ASSET_MATERIALIZATION"]
                info["metadata"] = {str(m.asset_key.path): m.metadata for m in mats}
            else:
                ctl = RolloutController(spec, backend_for(spec), lake, RolloutConfig(until_percentage=float(key)))
                info["play"] = ctl.play()
        made[key] = (root, info)
        return made[key]

    return make


@pytest.fixture
def played(templates, home, monkeypatch):
    """``played(50)``: this test's home holds a rollout that just entered 50% (``"job"``: complete)."""
    monkeypatch.setenv("AGENT_RELEASE_INPUTS", str(home / "inputs"))
    shutil.copytree(REPO_ROOT / "data" / "releases", home / "inputs" / "releases")

    def copy(key):
        root, info = templates(key)
        shutil.copytree(root / "data", home / "data", dirs_exist_ok=True)
        return info

    return copy


def _ctx():
    from agent_release.defs.resources import WarehouseResource
    from agent_release.defs.rollout import FlagBackendResource

    inst = dg.DagsterInstance.ephemeral()
    inst.add_dynamic_partitions("releases", [RID])
    return dg.build_sensor_context(instance=inst, resources={"warehouse": WarehouseResource(),
                                                             "flag_backend": FlagBackendResource()})


def _live(kind: str | None, pct: float, hours: float = 12.0, seed: int = 99):
    """Write live traffic for the current step (the flag's percentage read from the store)."""
    from agent_release.flags import backend_for
    from agent_release.release_spec import load_release
    from agent_release.rollout import traffic as tr
    from agent_release.rollout.store import rollout_state
    from agent_release.warehouse import Lake

    spec = load_release(RID)
    lake = Lake.default()
    st = rollout_state(lake, RID, spec.spec_hash)
    served = backend_for(spec).percentage(FLAG)
    inj = [] if kind is None else tr.Injection.parse_many(f"{kind}@{pct:g}")
    frame, truth = tr.simulate_step(spec, percentage=served, start=st.entered_at, hours=hours,
                                    scenario="noninferior", rate_per_hour=1500, seed=seed, step_index=st.step_index,
                                    injections=inj)
    tr.write_step_traffic(lake, RID, st.step_index, frame)
    return truth


def _state():
    from agent_release.flags import backend_for
    from agent_release.flags.audit import FlagAuditLog
    from agent_release.release_spec import load_release
    from agent_release.rollout.store import read_decisions, rollout_state
    from agent_release.warehouse import Lake

    spec = load_release(RID)
    lake = Lake.default()
    return (rollout_state(lake, RID, spec.spec_hash), backend_for(spec).percentage(FLAG),
            FlagAuditLog.default().read(FLAG), read_decisions(lake, RID))


# --------------------------------------------------------------------------- plan and thresholds


def test_plan_starts_at_the_canary_share_and_respects_the_spacing():
    from agent_release.release_spec import load_release
    from agent_release.rollout.controller import RolloutConfig
    from agent_release.rollout.plan import plan_steps

    spec = load_release(RID)
    assert [s.percentage for s in plan_steps(spec)] == [5, 25, 50, 100]
    assert RolloutConfig().hours(spec) == 48
    with pytest.raises(ValueError, match="min_hours_between_steps"):
        RolloutConfig(step_hours=24).hours(spec)


def test_thresholds_tighten_with_the_volume_at_stake():
    from agent_release.release_spec import load_release
    from agent_release.rollout.thresholds import scaled_thresholds, volume_at_stake

    spec = load_release(RID)  # error_rate_max 5%, cost_overrun 1.25
    r, c, b = 1500.0, 0.023, 0.023
    v0 = r * 0.05 * c
    thr = {p: scaled_thresholds(spec, p, volume=volume_at_stake(r, p, c, b, v0), baseline_error_rate=b)
           for p in (5, 25, 50, 100)}
    errs = [thr[p].error_rate_max for p in (5, 25, 50, 100)]
    costs = [thr[p].cost_overrun_ratio for p in (5, 25, 50, 100)]
    assert errs == sorted(errs, reverse=True) and len(set(errs)) == 4
    assert costs == sorted(costs, reverse=True) and len(set(costs)) == 4
    assert thr[5].error_rate_max == pytest.approx(0.05) and thr[5].scale == 1.0
    # s = sqrt(V0 / V) = sqrt(5 / p) when the traffic and the rates stay put
    for p in (25, 50, 100):
        assert thr[p].scale == pytest.approx((5 / p) ** 0.5, abs=1e-6)
        assert thr[p].error_rate_max == pytest.approx(b + (0.05 - b) * (5 / p) ** 0.5, abs=1e-6)
        assert thr[p].volume.bad_per_hour == pytest.approx(r * p / 100 * c)
    # more traffic at stake (twice the rate) -> tighter still; the floor s_min holds
    busier = scaled_thresholds(spec, 50, volume=volume_at_stake(2 * r, 50, c, b, v0), baseline_error_rate=b)
    assert busier.error_rate_max < thr[50].error_rate_max
    floor = scaled_thresholds(spec, 100, volume=volume_at_stake(100 * r, 100, c, b, v0), baseline_error_rate=b)
    assert floor.scale == 0.2


# --------------------------------------------------------------------------- the whole rollout


def test_rollout_job_plays_the_whole_rollout_with_a_decision_per_step(played):
    info = played("job")
    st, pct, audit, dec = _state()
    assert st.status == "COMPLETE" and pct == 100
    assert dec["decision"].to_list() == ["ENTER", "ENTER", "ENTER", "ENTER", "COMPLETE"]
    enters = dec.filter(pl.col("decision") == "ENTER")
    assert enters["to_percentage"].to_list() == [5, 25, 50, 100]
    # >= 48 h of data time between steps
    gaps = enters["data_time"].diff().drop_nulls().dt.total_hours().to_list()
    assert gaps and min(gaps) >= 48
    # every step entered on a passing analysis, with statistics, thresholds, volume and readiness
    for r in enters.slice(1).iter_rows(named=True):
        stats = json.loads(r["statistics_json"])
        assert stats["decision"] == "EXPAND" and stats["metrics_passed"] >= 3
        assert r["volume_at_stake_bad_per_hour"] > 0 and r["readiness_ok"] is True
        assert json.loads(r["thresholds_json"])["formula"].startswith("s = clamp")
    alerts = enters["error_rate_alert"].to_list()
    assert alerts == sorted(alerts, reverse=True) and alerts[-1] < alerts[0]
    vols = enters.slice(1)["volume_at_stake_bad_per_hour"].to_list()
    assert vols == sorted(vols)
    # one audit row per flag change, by the controller
    assert audit["to_effective_percentage"].to_list() == [5, 25, 50, 100]
    assert all(a.startswith("controller:") for a in audit["actor"].to_list())
    md = info["metadata"]["['rollout', 'decisions']"]
    assert md["status"].value == "COMPLETE" and "ENTER" in md["decisions"].value
    assert "5% → 25% → 50% → 100%" in info["metadata"]["['rollout', 'plan']"]["steps"].value
    # readiness checked before each step and continuously past 50%
    from agent_release.rollout.store import read_readiness
    from agent_release.warehouse import Lake, refresh_warehouse

    rd = read_readiness(Lake.default(), RID)
    assert rd["ok"].all() and {"pre-step", "continuous"} <= set(rd["purpose"].to_list())
    # analysts see the decisions in DuckDB
    refresh_warehouse()
    import duckdb

    from agent_release.config import paths

    con = duckdb.connect(str(paths().warehouse), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM rollout.decisions").fetchone()[0] == 5
        assert con.execute("SELECT count(*) FROM rollout.flag_audit").fetchone()[0] == 4
    finally:
        con.close()


def test_replaying_a_finished_rollout_changes_nothing(played):
    played("job")
    from agent_release.flags import backend_for
    from agent_release.release_spec import load_release
    from agent_release.rollout.controller import RolloutController
    from agent_release.warehouse import Lake

    spec = load_release(RID)
    before = _state()
    res = RolloutController(spec, backend_for(spec), Lake.default()).play()
    after = _state()
    assert res.added == [] and "already COMPLETE" in res.message
    assert after[2].height == before[2].height and after[3].height == before[3].height


def test_a_step_is_entered_only_when_its_analysis_passes(home):
    from agent_release.flags import backend_for
    from agent_release.release_spec import load_release
    from agent_release.rollout.controller import RolloutConfig, RolloutController
    from agent_release.warehouse import Lake

    spec = load_release(RID)
    res = RolloutController(spec, backend_for(spec), Lake.default(), RolloutConfig(scenario="support_bot_2")).play()
    assert res.status == "HELD" and res.percentage == 5
    hold = res.decisions.filter(pl.col("decision") == "HOLD").row(0, named=True)
    assert "es-" in hold["reason"] and "locale" in hold["reason"]
    assert json.loads(hold["statistics_json"])["segments_flagged"]


# --------------------------------------------------------------------------- automatic rollback


@pytest.mark.parametrize("pct", [50, 100])
def test_error_spike_pulls_the_flag_on_the_next_sensor_tick(played, pct):
    from agent_release.defs.rollout import rollout_guardrail_sensor

    played(pct)
    st, flag_pct, audit0, dec0 = _state()
    assert st.status == "ACTIVE" and flag_pct == pct
    ctx = _ctx()

    _live(None, pct)  # normal traffic: no false alarm
    quiet = rollout_guardrail_sensor(ctx)
    assert _state()[1] == pct and not quiet.asset_events
    assert "no breach" in quiet.skip_reason.skip_message

    truth = _live("error_spike", pct)  # +6 points of errors on the candidate
    assert truth["scenario"] == "error_spike"
    res = rollout_guardrail_sensor(ctx)
    st, flag_pct, audit, dec = _state()
    assert flag_pct == 0 and st.status == "ROLLED_BACK"
    row = audit.row(-1, named=True)
    assert (row["action"], row["from_effective_percentage"], row["to_effective_percentage"]) == ("kill", pct, 0)
    assert row["actor"] == "sensor:rollout_guardrail_sensor" and "guardrail error_rate" in row["reason"]
    ev = json.loads(row["evidence_json"])
    checks = {c["name"]: c for c in ev["checks"]}
    assert checks["error_rate"]["breached"] and checks["error_rate"]["statistic"] > checks["error_rate"]["threshold"]
    last = dec.row(-1, named=True)
    assert last["decision"] == "ROLLBACK" and last["actor"] == "sensor:rollout_guardrail_sensor"
    assert json.loads(last["evidence_json"])["thresholds"]["percentage"] == pct
    assert res.asset_events and "auto_rollback" in res.asset_events[0].metadata
    # a tick that pulled the flag is a run of guardrail_action (SUCCESS), never a SKIPPED tick
    assert res.skip_reason is None and [r.job_name for r in res.run_requests] == ["guardrail_action"]
    assert res.run_requests[0].tags["agent_release/decision_id"] == last["decision_id"]

    again = rollout_guardrail_sensor(ctx)  # idempotent: nothing more
    st2, pct2, audit2, dec2 = _state()
    assert pct2 == 0 and audit2.height == audit.height and dec2.height == dec.height
    assert not again.asset_events and "is off" in again.skip_reason.skip_message


def test_a_rolled_back_rollout_is_not_resumed(played):
    from agent_release.defs.rollout import rollout_guardrail_sensor
    from agent_release.flags import backend_for
    from agent_release.release_spec import load_release
    from agent_release.rollout.controller import RolloutController
    from agent_release.warehouse import Lake

    played(50)
    _live("error_spike", 50)
    rollout_guardrail_sensor(_ctx())
    spec = load_release(RID)
    res = RolloutController(spec, backend_for(spec), Lake.default()).play()
    assert res.status == "ROLLED_BACK" and res.percentage == 0 and res.added == []


# --------------------------------------------------------------------------- model-version pin


def test_silent_model_change_freezes_the_rollout_and_opens_a_new_release(played, home):
    from agent_release.defs.evals import gate_status
    from agent_release.defs.rollout import model_version_pin_sensor
    from agent_release.release_spec import load_release
    from agent_release.warehouse import Lake

    played(25)
    ctx = _ctx()
    _live(None, 25)
    assert "models as pinned" in model_version_pin_sensor(ctx).skip_reason.skip_message

    _live("model:acme-llm-2026-12-01", 25)  # the provider swapped the model behind the same version
    res = model_version_pin_sensor(ctx)
    st, pct, audit, dec = _state()
    assert st.status == "FROZEN" and pct == 25  # frozen, not rolled back
    last = dec.row(-1, named=True)
    assert last["decision"] == "FREEZE" and "acme-llm-2026-12-01" in last["reason"]
    new_id = last["new_release_id"]
    assert new_id == "support-bot-2-model-acme-llm-2026-12-01"
    new = load_release(new_id)  # a valid spec in data/releases
    assert new.candidate.model == "acme-llm-2026-12-01" and new.baseline == load_release(RID).baseline
    assert (home / "inputs" / "releases" / f"{new_id}.yaml").exists()
    assert gate_status(Lake.default(), new_id)[-1] == "NO DECISION"  # must pass pre-prod again
    assert [r.partition_keys for r in res.dynamic_partitions_requests] == [[new_id]]

    again = model_version_pin_sensor(ctx)  # idempotent
    assert _state()[3].height == dec.height and not again.asset_events

    from agent_release.flags import backend_for
    from agent_release.rollout.controller import RolloutController

    spec = load_release(RID)
    assert RolloutController(spec, backend_for(spec), Lake.default()).play().added == []  # no further step


# --------------------------------------------------------------------------- manual rollback


def test_manual_rollback_job_at_100_percent(played, home):
    from agent_release.defs.rollout import manual_rollback_job

    played("job")
    assert _state()[1] == 100
    inst = dg.DagsterInstance.ephemeral()
    inst.add_dynamic_partitions("releases", [RID])
    res = manual_rollback_job.execute_in_process(
        instance=inst, partition_key=RID, resources=_resources(home),
        run_config={"ops": {"pull_flag": {"config": {"reason": "tone complaints from enterprise customers"}}}})
    assert res.success
    st, pct, audit, dec = _state()
    assert pct == 0 and st.status == "ROLLED_BACK"
    row = audit.row(-1, named=True)
    assert (row["from_effective_percentage"], row["to_effective_percentage"]) == (100, 0)
    assert row["reason"] == "tone complaints from enterprise customers" and row["actor"].startswith("dagster:")
    assert dec.row(-1, named=True)["decision"] == "ROLLBACK"


def test_cli_rollback_at_100_percent(played, capsys):
    from agent_release.cli import main

    played(100)
    assert _state()[1] == 100
    assert main(["rollback", RID, "--reason", "pager: p99 latency", "--actor", "alice"]) == 0
    st, pct, audit, dec = _state()
    assert pct == 0 and st.status == "ROLLED_BACK"
    row = audit.row(-1, named=True)
    assert row["actor"] == "alice" and row["reason"] == "pager: p99 latency" and row["from_effective_percentage"] == 100
    assert "pulled from 100% to 0%" in capsys.readouterr().out
    # a second rollback is recorded (a person's intent) but changes no flag
    assert main(["rollback", RID, "--reason", "again"]) == 0
    assert _state()[2].height == audit.height and _state()[3].height == dec.height + 1


# --------------------------------------------------------------------------- rollback readiness


def test_baseline_that_does_not_answer_blocks_the_next_step(home):
    from agent_release.agents.server import FaultPlan, serve_in_thread
    from agent_release.flags import backend_for
    from agent_release.release_spec import load_release
    from agent_release.rollout.controller import RolloutController
    from agent_release.rollout.store import read_readiness
    from agent_release.warehouse import Lake

    spec = load_release(RID)
    with serve_in_thread(spec.baseline.version, faults=FaultPlan(rates={"503": 1.0}), latency_scale=0.0) as url:
        res = RolloutController(spec, backend_for(spec), Lake.default(), baseline_url=url).play()
    assert res.status == "HELD" and res.percentage == 5  # the 5% step passed; 25% is blocked
    hold = res.decisions.row(-1, named=True)
    assert hold["decision"] == "HOLD" and "baseline agent does not answer" in hold["reason"]
    assert "HTTP 503" in hold["reason"] and hold["readiness_ok"] is False
    rd = read_readiness(Lake.default(), RID).row(-1, named=True)
    assert rd["ok"] is False and rd["baseline_ok"] is False and rd["flag_ok"] is True


def test_flag_that_cannot_be_written_blocks_the_next_step(home):
    from agent_release.flags.base import FlagError
    from agent_release.flags.local import LocalFlagBackend
    from agent_release.release_spec import load_release
    from agent_release.rollout.controller import RolloutController
    from agent_release.warehouse import Lake

    class ReadOnlyAfterStart(LocalFlagBackend):
        def _write(self, flag, **kw):
            if kw["reason"].startswith("readiness probe"):
                raise FlagError("store is read-only")
            return super()._write(flag, **kw)

    spec = load_release(RID)
    res = RolloutController(spec, ReadOnlyAfterStart(), Lake.default()).play()
    assert res.status == "HELD" and res.percentage == 5
    assert "flag cannot be changed (FlagError: store is read-only)" in res.decisions.row(-1, named=True)["reason"]


def test_rollout_refuses_without_canary_expand(tmp_path):
    import dagster as dg

    from agent_release.defs.rollout import _require_canary_expand
    from agent_release.warehouse import Lake

    lake = Lake(tmp_path / "lake")
    with pytest.raises(dg.Failure, match="latest look: none"):
        _require_canary_expand(lake, "support-bot-2")
    look = {"release_id": "support-bot-2", "as_of": datetime(2026, 11, 16), "decision": "HOLD",
            "reasons": '["segment significantly worse: locale es-ES"]'}
    lake.write("canary.decisions", pl.DataFrame([look]), partition="support-bot-2")
    try:
        from agent_release import decision_log

        decision_log.append_canary_looks(lake, "support-bot-2", [look], [], [], manifest_hash="m",
                                         evaluation_id="eval-test-hold")
    except ImportError:
        pass
    with pytest.raises(dg.Failure, match="latest look: HOLD"):
        _require_canary_expand(lake, "support-bot-2")
