"""Fault injection on the protection itself: kill -9 at every write boundary of a flag change,
concurrent rollbacks, and spec files edited or broken under a live rollout.

Every crash test runs the real command (``agent-release rollback`` or the rollout controller) in a
child process armed with ``AGENT_RELEASE_FAULT_POINT`` (agent_release/faultpoints.py), which
SIGKILLs itself at the named boundary — no ``finally`` runs, exactly like ``kill -9``. The parent
then runs the next guardrail-sensor tick and asserts what the truth demands: the flag is where
the journal says it was meant to be, exactly one audit row per actual change, exactly one decision
row, nothing pending in the journal, protection never off.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from agent_release.config import REPO_ROOT

RID = "support-bot-2"
T0 = datetime(2026, 11, 20, tzinfo=UTC)
BOUNDARIES = ["flag_txn:after_intent", "flag_txn:after_flag_write", "flag_txn:after_audit",
              "flag_txn:after_decision"]

@pytest.fixture
def world(home, monkeypatch):
    """support-bot-2 live at ``pct`` with the thresholds in force recorded (as the controller does)."""
    monkeypatch.setenv("AGENT_RELEASE_INPUTS", str(home / "inputs"))
    shutil.copytree(REPO_ROOT / "data" / "releases", home / "inputs" / "releases")
    from agent_release.flags import backend_for
    from agent_release.release_spec import load_release
    from agent_release.rollout import specs, store
    from agent_release.rollout.thresholds import scaled_thresholds, volume_at_stake
    from agent_release.warehouse import Lake

    spec = load_release(RID)
    lake = Lake.default()

    def reference() -> tuple[float, float]:
        """The baseline as the last step with a baseline arm measured it (50%, simulated traffic)."""
        from agent_release.rollout import traffic as tr

        frame, _ = tr.simulate_step(spec, percentage=50.0, start=T0, hours=12, scenario="noninferior",
                                    rate_per_hour=1500.0, seed=3, step_index=2)
        w = tr.summarize(tr.facts(frame, spec), T0, T0 + timedelta(hours=12))
        return w.baseline.error_rate, w.baseline.cost_per_resolution

    b, cpr = reference()

    def live(pct: float = 50.0, step_index: int = 2):
        backend = backend_for(spec)
        backend.set_percentage(spec.rollout.flag_name, pct, reason="test setup", actor="test", release_id=RID)
        thr = scaled_thresholds(spec, pct, volume=volume_at_stake(1500.0, pct, b, b, 1500 * 0.05 * b),
                                baseline_error_rate=b, baseline_cost_per_resolution=cpr)
        store.append_decisions(lake, RID, [{
            "decision_id": f"enter-{step_index}", "spec_hash": spec.spec_hash, "decision": store.ENTER,
            "step_index": step_index, "from_percentage": 0.0, "to_percentage": pct, "flag": spec.rollout.flag_name,
            "flag_backend": "local", "data_time": T0, "actor": "test", "reason": f"enter {pct:g}%",
            "thresholds_json": thr.to_dict(), "error_rate_alert": thr.error_rate_max}])
        specs.remember(lake, spec)  # the sensor has seen the valid spec (it resolves it on every tick)
        return backend

    return spec, lake, live, home

def _env(home: Path, point: str | None = None) -> dict:
    env = dict(os.environ, AGENT_RELEASE_HOME=str(home), AGENT_RELEASE_INPUTS=str(home / "inputs"))
    env.pop("AGENT_RELEASE_FAULT_POINT", None)
    if point:
        env["AGENT_RELEASE_FAULT_POINT"] = point
    return env

def _cli(home: Path, *args: str, point: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent_release.cli", *args], env=_env(home, point),
                          capture_output=True, text=True, timeout=120)

def _records(spec, lake):
    from agent_release.flags import backend_for
    from agent_release.rollout import journal, store

    flag = spec.rollout.flag_name
    backend = backend_for(spec)
    audit = backend.audit.read(flag)
    return (backend.get(flag), audit.filter(pl.col("actor") != "test"), store.read_decisions(lake, RID),
            journal.pending(lake, flag))

def _tick(spec, lake):
    from agent_release.flags import backend_for
    from agent_release.rollout.watch import guardrail_tick

    return guardrail_tick(spec, backend_for(spec), lake, actor="sensor:rollout_guardrail_sensor")

# --------------------------------------------------------------------------- kill -9 at each boundary

@pytest.mark.parametrize("point", BOUNDARIES)
def test_a_rollback_killed_at_any_write_boundary_is_finished_on_the_next_tick(world, point):
    spec, lake, live, home = world
    live(100.0, 3)
    res = _cli(home, "rollback", RID, "--reason", "on-call: bad answers in fr-FR", "--actor", "cli:oncall",
               point=point)
    assert res.returncode == -signal.SIGKILL, (point, res.returncode, res.stderr[-500:])
    flag, audit, dec, pending = _records(spec, lake)
    assert len(pending) == 1  # the journal says what was meant
    if point == "flag_txn:after_intent":
        assert flag.effective_percentage == 100.0  # killed before the write: still on
    else:
        assert flag.effective_percentage == 0.0

    tick = _tick(spec, lake)  # the next sensor tick repairs
    flag, audit, dec, pending = _records(spec, lake)
    assert flag.effective_percentage == 0.0 and not flag.enabled
    assert pending == []
    assert audit.height == 1 and audit.row(0, named=True)["action"] == "kill"
    assert audit.row(0, named=True)["actor"] == "cli:oncall"  # the person's change, finished for them
    rb = dec.filter(pl.col("decision") == "ROLLBACK")
    assert rb.height == 1 and rb.row(0, named=True)["actor"] == "cli:oncall"
    assert rb.row(0, named=True)["reason"] == "on-call: bad answers in fr-FR"
    ev = json.loads(rb.row(0, named=True)["evidence_json"])
    assert ev["flag_change_id"] == audit.row(0, named=True)["change_id"]
    if point != "flag_txn:after_decision":  # the decision row was written by the repair
        assert ev["journal"]["outcome"] == ("completed" if point == "flag_txn:after_intent" else "repaired")
    assert "journal" in tick.message or tick.action in ("repaired", "skip")

    again = _tick(spec, lake)  # idempotent: nothing more
    flag2, audit2, dec2, _ = _records(spec, lake)
    assert (audit2.height, dec2.height) == (audit.height, dec.height) and again.action == "skip"

@pytest.mark.parametrize("point", ["flag_txn:after_intent", "flag_txn:after_flag_write", "flag_txn:after_audit"])
def test_a_step_entry_killed_mid_write_never_raises_traffic_without_its_decision(world, point):
    """A traffic increase is the opposite of protection: killed before the flag write it is
    abandoned (nothing changed, nothing recorded); killed after it, the decision and audit rows
    are written by the repair — never a flag at 100% with no ENTER row."""
    from agent_release.flags import backend_for
    from agent_release.rollout import journal, store

    spec, lake, live, home = world
    live(50.0, 2)
    code = ("from agent_release.flags import backend_for\n"
            "from agent_release.release_spec import load_release\n"
            "from agent_release.rollout import journal, store\n"
            "from agent_release.warehouse import Lake\n"
            "s = load_release('support-bot-2'); lake = Lake.default(); b = backend_for(s)\n"
            "row = {'decision_id': 'enter-3', 'spec_hash': s.spec_hash, 'decision': 'ENTER', 'step_index': 3,\n"
            "       'from_percentage': 50.0, 'to_percentage': 100.0, 'flag': s.rollout.flag_name,\n"
            "       'flag_backend': 'local', 'actor': 'controller:test', 'reason': 'enter 100%'}\n"
            "journal.change_flag(b, lake, flag=s.rollout.flag_name, action='set', percentage=100.0,\n"
            "                    reason='enter 100%', actor='controller:test', release_id=s.release_id,\n"
            "                    decision_for=lambda ch: row)\n")
    res = subprocess.run([sys.executable, "-c", code], env=_env(home, point), capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == -signal.SIGKILL, res.stderr[-500:]
    backend = backend_for(spec)
    journal.recover(backend, lake, spec.rollout.flag_name, actor="sensor:rollout_guardrail_sensor")
    flag, audit, dec, pending = _records(spec, lake)
    assert pending == []
    enters = dec.filter(pl.col("decision_id") == "enter-3")
    if point == "flag_txn:after_intent":
        assert flag.effective_percentage == 50.0 and audit.height == 0 and enters.height == 0
        assert journal.entries(lake, spec.rollout.flag_name)[-1]["state"] == "abandoned"
    else:
        assert flag.effective_percentage == 100.0 and audit.height == 1 and enters.height == 1
        assert store.rollout_state(lake, RID, spec.spec_hash).percentage == 100.0

def test_a_torn_journal_line_is_ignored(world):
    from agent_release.rollout import journal

    spec, lake, live, home = world
    live(50.0, 2)
    p = journal.journal_path(lake, spec.rollout.flag_name)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text('{"txn": "abc", "state": "inte')  # a crash mid-append, before the flag was touched
    assert journal.pending(lake, spec.rollout.flag_name) == []
    assert _tick(spec, lake).action in ("none", "not_evaluated", "skip")

# --------------------------------------------------------------------------- concurrent rollbacks

def test_eight_concurrent_rollbacks_change_the_flag_once_with_one_audit_row(world):
    """Eight people (eight ``agent-release rollback`` processes) pull the same flag at once."""
    spec, lake, live, home = world
    live(100.0, 3)
    procs = [subprocess.Popen([sys.executable, "-m", "agent_release.cli", "rollback", RID, "--reason",
                               f"on-call #{i}", "--actor", f"cli:person{i}"], env=_env(home),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(8)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-300:] for o in outs]
    flag, audit, dec, pending = _records(spec, lake)
    assert flag.effective_percentage == 0.0 and pending == []
    assert audit.height == 1, audit  # one actual change, one audit row
    rb = dec.filter(pl.col("decision") == "ROLLBACK")
    assert rb.height == 8  # every person's decision is recorded ...
    pulled = rb.filter(~pl.col("reason").str.contains("already off"))
    assert pulled.height == 1 and sum("pulled from 100%" in o[0] for o in outs) == 1  # ... one of them pulled
    assert pulled.row(0, named=True)["actor"] == audit.row(0, named=True)["actor"]


# --------------------------------------------------------------------------- spec edits under a live rollout

def _spec_file(home: Path) -> Path:
    return home / "inputs" / "releases" / f"{RID}.yaml"

def _bad_traffic(spec, lake, pct: float, *, error_delta: float, monkeypatch, step_index: int = 3):
    from agent_release.canary import simulate as sim
    from agent_release.rollout import traffic as tr

    name = "noninferior"
    if error_delta:
        name = f"fault_error_{error_delta:g}"
        monkeypatch.setitem(sim.SCENARIOS, name, sim.TrueEffects(error_rate_delta=error_delta))
    frame, _ = tr.simulate_step(spec, percentage=pct, start=T0, hours=12, scenario=name, rate_per_hour=1500.0,
                                seed=5, step_index=step_index)
    tr.write_step_traffic(lake, RID, step_index, frame)
    return frame

def _sensor_ctx(*rids: str, cursor: str | None = None):
    from agent_release.defs.resources import WarehouseResource
    from agent_release.defs.rollout import FlagBackendResource

    inst = dg.DagsterInstance.ephemeral()
    inst.add_dynamic_partitions("releases", list(rids or [RID]))
    return dg.build_sensor_context(instance=inst, cursor=cursor, resources={"warehouse": WarehouseResource(),
                                                                            "flag_backend": FlagBackendResource()})

def test_a_description_edit_at_100pct_changes_no_protection(world, monkeypatch):
    from agent_release.defs.rollout import rollout_guardrail_sensor
    from agent_release.release_spec import load_release

    spec, lake, live, home = world
    backend = live(100.0, 3)
    _bad_traffic(spec, lake, 100.0, error_delta=0.0, monkeypatch=monkeypatch)
    f = _spec_file(home)
    f.write_text(f.read_text().replace("Expected: better", "Expected (reworded by a PM): better", 1))
    assert load_release(RID).spec_hash == spec.spec_hash  # no criterion changed: same hash
    res = rollout_guardrail_sensor(_sensor_ctx())
    assert backend.percentage(spec.rollout.flag_name) == 100.0, res  # a healthy 100% stays
    assert not res.run_requests

def test_a_typo_in_a_live_release_spec_keeps_it_watched_and_names_file_line_and_field(world, monkeypatch):
    """The spec of a release at 100% gets a typo; the candidate's error rate then rises to ~8%:
    the flag must still be pulled (the last known good spec's thresholds), and the alert names
    the file, the line and the field."""
    from agent_release.defs.rollout import rollout_guardrail_sensor
    from agent_release.rollout.store import read_decisions

    spec, lake, live, home = world
    backend = live(100.0, 3)
    rollout_guardrail_sensor(_sensor_ctx())  # healthy so far (no traffic): nothing to do
    f = _spec_file(home)
    text = f.read_text()
    f.write_text(text.replace("min_soak_days:", "min_soak_dayz:", 1))
    line = next(i for i, ln in enumerate(f.read_text().splitlines(), 1) if "min_soak_dayz" in ln)
    _bad_traffic(spec, lake, 100.0, error_delta=0.055, monkeypatch=monkeypatch)
    res = rollout_guardrail_sensor(_sensor_ctx())
    assert backend.percentage(spec.rollout.flag_name) == 0.0  # protection was not off
    alert = next(e.metadata for e in res.asset_events if "spec_alert" in e.metadata)
    assert alert["spec_file"].value == str(f) and alert["spec_line"].value == line
    assert alert["spec_field"].value == "canary.min_soak_dayz"
    assert f"{f}:{line}:" in alert["spec_alert"].value
    d = read_decisions(lake, RID)
    assert "ROLLBACK" in d["decision"].to_list()
    assert {r.tags["agent_release/decision"] for r in res.run_requests} >= {"ROLLBACK"}

def test_a_yaml_syntax_error_names_line_and_column_and_spares_the_other_releases(world, monkeypatch):
    from agent_release.defs.releases import register_releases
    from agent_release.defs.rollout import rollout_guardrail_sensor

    spec, lake, live, home = world
    backend = live(50.0, 2)
    rollout_guardrail_sensor(_sensor_ctx())
    f = _spec_file(home)
    f.write_text(f.read_text() + "\ncanary: [unclosed\n")
    errors: list[str] = []
    ids = register_releases(dg.DagsterInstance.ephemeral(), errors)
    assert ids == ["support-bot-2-rc1"]  # the other release is unaffected
    assert len(errors) == 1 and errors[0].startswith(f"{f}:") and "not valid YAML" in errors[0]
    loc = errors[0][len(str(f)) + 1:].split(":")
    assert loc[0].isdigit() and loc[1].isdigit()  # line and column
    _bad_traffic(spec, lake, 50.0, error_delta=0.055, monkeypatch=monkeypatch, step_index=2)
    res = rollout_guardrail_sensor(_sensor_ctx(RID, "support-bot-2-rc1"))
    assert backend.percentage(spec.rollout.flag_name) == 0.0
    assert any("spec_alert" in e.metadata for e in res.asset_events)

def test_a_criteria_change_under_a_live_rollout_is_held_and_not_applied_silently(world, monkeypatch):
    """Loosening the error cap of a live release must not loosen its live protection: the live
    rollout stays watched under the spec its step was entered with, and the change is recorded."""
    from agent_release.defs.rollout import rollout_guardrail_sensor
    from agent_release.release_spec import load_release
    from agent_release.rollout.store import read_decisions

    spec, lake, live, home = world
    backend = live(50.0, 2)
    rollout_guardrail_sensor(_sensor_ctx())
    f = _spec_file(home)
    f.write_text(f.read_text().replace("  alpha: 0.05\n", "  alpha: 0.05\n  error_rate_max: 0.5\n", 1))
    assert load_release(RID).spec_hash != spec.spec_hash
    res = rollout_guardrail_sensor(_sensor_ctx())
    d = read_decisions(lake, RID)
    hold = d.filter(pl.col("decision") == "HOLD")
    assert hold.height == 1 and "criteria changed" in hold.row(0, named=True)["reason"]
    assert hold.row(0, named=True)["spec_hash"] == spec.spec_hash  # recorded on the live rollout
    assert res.run_requests
    _bad_traffic(spec, lake, 50.0, error_delta=0.055, monkeypatch=monkeypatch, step_index=2)
    rollout_guardrail_sensor(_sensor_ctx())
    assert backend.percentage(spec.rollout.flag_name) == 0.0  # the old (tighter) criteria still protect
    rollout_guardrail_sensor(_sensor_ctx())
    assert read_decisions(lake, RID).filter(pl.col("decision") == "HOLD").height == 1  # one row per episode

def test_a_spec_file_with_a_bad_field_value_reports_its_line(tmp_path):
    from agent_release.release_spec import SpecError, load

    src = (REPO_ROOT / "data" / "releases" / f"{RID}.yaml").read_text()
    f = tmp_path / f"{RID}.yaml"
    f.write_text(src.replace("min_hours_between_steps: 48", "min_hours_between_steps: 12", 1))
    assert "min_hours_between_steps: 12" in f.read_text()
    line = next(i for i, ln in enumerate(f.read_text().splitlines(), 1) if "min_hours_between_steps" in ln)
    with pytest.raises(SpecError) as exc:
        load(f)
    assert exc.value.line == line and exc.value.field == "rollout.min_hours_between_steps"
    assert str(exc.value).startswith(f"{f}:{line}:")

def test_the_live_spec_is_recoverable_after_the_file_is_deleted(world):
    from agent_release.rollout.specs import resolve

    spec, lake, live, home = world
    live(25.0, 1)
    _spec_file(home).unlink()
    w = resolve(lake, RID)
    assert w.problem == "spec_invalid" and w.spec is not None and w.spec.spec_hash == spec.spec_hash
    assert w.spec.canary == spec.canary and w.spec.rollout == spec.rollout



def test_at_100pct_with_no_recorded_reference_the_canary_baseline_is_the_reference_never_0(world, monkeypatch):
    """No rollout row recorded a baseline (e.g. the flag was set to 100% by hand): the reference is
    the canary's baseline cohort — a healthy candidate at the baseline's error rate is not pulled,
    while a candidate 2 points above it (still under the spec's 5% cap, so the absolute rule alone
    would not see it) is."""
    import agent_release.decision_log as dl
    from agent_release.flags import backend_for
    from agent_release.rollout import store
    from agent_release.rollout.watch import guardrail_tick

    spec, lake, live, home = world
    frame = _bad_traffic(spec, lake, 50.0, error_delta=0.0, monkeypatch=monkeypatch, step_index=2)
    base = frame.filter(pl.col("agent_version") == spec.baseline.version)
    from agent_release.rollout import traffic as tr

    b = tr.summarize(tr.facts(base, spec), T0, T0 + timedelta(hours=12)).baseline.error_rate
    monkeypatch.setattr(dl, "canary_look_metrics", lambda lake, rid: pl.DataFrame(
        {"name": ["error_rate"], "value_baseline": [b], "as_of": [T0]}))
    assert store.reference_baseline(lake, RID, spec.spec_hash)[0] == pytest.approx(b)
    backend = backend_for(spec)
    backend.set_percentage(spec.rollout.flag_name, 100.0, reason="set by hand", actor="test", release_id=RID)
    _bad_traffic(spec, lake, 100.0, error_delta=0.0, monkeypatch=monkeypatch)
    tick = guardrail_tick(spec, backend, lake, actor="sensor:rollout_guardrail_sensor")
    assert backend.percentage(spec.rollout.flag_name) == 100.0, tick.message
    assert "0.00%" not in tick.message
    _bad_traffic(spec, lake, 100.0, error_delta=0.02, monkeypatch=monkeypatch)
    tick = guardrail_tick(spec, backend, lake, actor="sensor:rollout_guardrail_sensor")
    assert tick.action == "rollback" and "reference" in tick.message and backend.percentage(spec.rollout.flag_name) == 0.0, tick.message


def test_the_guardrail_action_run_confirms_a_rollback_and_pulls_again_if_the_flag_is_back_on(world, monkeypatch):
    from agent_release.defs.resources import WarehouseResource
    from agent_release.defs.rollout import FlagBackendResource, guardrail_action_job, rollout_guardrail_sensor

    spec, lake, live, home = world
    backend = live(50.0, 2)
    _bad_traffic(spec, lake, 50.0, error_delta=0.055, monkeypatch=monkeypatch, step_index=2)
    res = rollout_guardrail_sensor(_sensor_ctx())
    assert backend.percentage(spec.rollout.flag_name) == 0.0
    req = res.run_requests[0]
    # someone turns the flag back on by hand before the run starts
    backend.set_percentage(spec.rollout.flag_name, 50.0, reason="oops", actor="cli:someone", release_id=RID)
    inst = dg.DagsterInstance.ephemeral()
    inst.add_dynamic_partitions("releases", [RID])
    out = guardrail_action_job.execute_in_process(
        run_config=req.run_config, partition_key=req.partition_key, instance=inst,
        resources={"warehouse": WarehouseResource(), "flag_backend": FlagBackendResource()})
    assert out.success
    assert backend.percentage(spec.rollout.flag_name) == 0.0  # the decision stands: pulled again
    obs = [e for e in out.all_events if e.event_type_value == "ASSET_OBSERVATION"]
    assert obs and "ROLLBACK" in str(obs[-1].event_specific_data.asset_observation.metadata["decision"])


def test_a_mistyped_fault_point_is_refused_not_silently_never_fired(monkeypatch):
    from agent_release import faultpoints

    monkeypatch.setenv(faultpoints.ENV, "flag_txn:after_flag_wirte")
    with pytest.raises(ValueError, match="must be one of"):
        faultpoints.reached("flag_txn:after_intent")
    with pytest.raises(ValueError, match="unknown fault point"):
        faultpoints.reached("flag_txn:nowhere")
    monkeypatch.delenv(faultpoints.ENV)
    faultpoints.reached("flag_txn:after_intent")  # unarmed: nothing happens


def test_a_broken_spec_alerts_once_per_episode_not_on_every_tick(world):
    from agent_release.defs.rollout import rollout_guardrail_sensor

    spec, lake, live, home = world
    live(100.0, 3)
    f = _spec_file(home)
    f.write_text(f.read_text().replace("min_soak_days:", "min_soak_dayz:", 1))
    first = rollout_guardrail_sensor(_sensor_ctx())
    assert any("spec_alert" in e.metadata for e in first.asset_events)
    second = rollout_guardrail_sensor(_sensor_ctx(cursor=first.cursor))
    assert not any("spec_alert" in e.metadata for e in second.asset_events)
    f.write_text(f.read_text().replace("min_soak_dayz:", "min_soak_dayx:", 1))  # a different error: alert again
    third = rollout_guardrail_sensor(_sensor_ctx(cursor=second.cursor))
    assert any("spec_alert" in e.metadata and "min_soak_dayx" in e.metadata["spec_alert"].value
               for e in third.asset_events)


def test_post_deployment_monitoring_keeps_a_live_release_with_a_broken_spec(world):
    from agent_release.monitoring.production import release_states

    spec, lake, live, home = world
    live(100.0, 3)
    f = _spec_file(home)
    f.write_text(f.read_text().replace("min_soak_days:", "min_soak_dayz:", 1))
    states = {s.release_id: s for s in release_states(lake)}
    assert RID in states and states[RID].rollout_percent == 100.0
