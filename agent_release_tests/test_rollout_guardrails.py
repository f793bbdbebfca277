"""Known-truth tests of the rollout guardrails: in each, exactly one thing is wrong (or one thing is
right that a naive rule would get wrong) and the decision must follow.

Rules under test (agent_release/rollout/guardrails.py): error rate relative to the baseline (lower
bound of candidate − baseline above the allowance in force), with the spec's absolute maximum as a
cap no baseline can raise; at 100% the reference baseline carried from the last step that had one,
never 0, and the absolute rule when none is known; cost overrun on the lower bound of the ratio of
costs per resolution; the sensor at the thresholds in force; a stalled feed is a staleness alert and
a HOLD, a window too small is "not evaluated" — never "no breach"; every decision row carries the
input-manifest hash, and changed inputs HOLD a live rollout instead of restarting it.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta

import dagster as dg
import numpy as np
import polars as pl
import pytest

from agent_release.config import REPO_ROOT

RID = "support-bot-2"
T0 = datetime(2026, 11, 20, tzinfo=UTC)
R = 1500.0  # conversations per hour (both arms)
B = 0.023  # the simulated baseline's error rate


# --------------------------------------------------------------------------- helpers


def _spec():
    from agent_release.release_spec import load_release

    return load_release(RID)  # canary.error_rate_max 5%, cost_overrun_ratio 1.25


def _thr(pct: float, b: float | None = B, cpr: float | None = 0.02):
    """Thresholds the controller records when entering ``pct`` (same traffic and rates at every step)."""
    from agent_release.rollout.thresholds import scaled_thresholds, volume_at_stake

    spec = _spec()
    if pct == spec.canary.traffic_percent:
        from agent_release.rollout.thresholds import spec_thresholds

        return spec_thresholds(spec, pct, baseline_error_rate=b)
    v0 = R * 0.05 * B
    return scaled_thresholds(spec, pct, volume=volume_at_stake(R, pct, B, b if b is not None else B, v0),
                             baseline_error_rate=b, baseline_cost_per_resolution=cpr)


def _arm(arm: str, n: int, errors: int, *, cost: np.ndarray | None = None, resolved: np.ndarray | None = None,
         start: datetime = T0, hours: float = 6.0) -> pl.DataFrame:
    """``n`` conversations of one arm, exactly ``errors`` of them with an error, spread over ``hours``."""
    t = [start + timedelta(seconds=hours * 3600.0 * (i + 0.5) / n) for i in range(n)]
    err = np.zeros(n, bool)
    err[np.linspace(0, n - 1, errors).astype(int) if errors else []] = True
    return pl.DataFrame({
        "started_at": pl.Series(t, dtype=pl.Datetime("us", "UTC")), "arm": [arm] * n,
        "agent_version": [arm] * n, "model": ["m"] * n, "has_error": err, "safety": [False] * n,
        "cost": cost if cost is not None else np.full(n, 0.01),
        "resolved": resolved if resolved is not None else (np.arange(n) % 10 < 7),
    })


def _window(*frames: pl.DataFrame, start: datetime = T0, hours: float = 6.0):
    from agent_release.rollout import traffic as tr

    return tr.summarize(pl.concat(frames), start, start + timedelta(hours=hours))


def _err(rep):
    return next(c for c in rep.checks if c.name == "error_rate")


def _cost(rep):
    return next(c for c in rep.checks if c.name == "cost_overrun")


# --------------------------------------------------------------------------- error rate


def test_thresholds_in_force_are_tighter_than_the_spec_and_keep_the_cap():
    t50 = _thr(50)
    assert t50.error_rate_max == pytest.approx(B + (0.05 - B) * (5 / 50) ** 0.5, abs=1e-6)
    assert t50.error_rate_allowance == pytest.approx((0.05 - B) * (5 / 50) ** 0.5, abs=1e-6)
    assert t50.error_rate_cap == 0.05
    from agent_release.rollout.thresholds import spec_thresholds

    s = spec_thresholds(_spec(), 100)
    assert s.baseline_error_rate is None and s.error_rate_allowance is None  # unknown, never 0
    assert s.error_rate_max == 0.05


def test_candidate_three_points_over_the_baseline_at_50pct_breaches():
    from agent_release.rollout.guardrails import evaluate

    n = 4500
    bad = evaluate(_window(_arm("candidate", n, round(0.053 * n)), _arm("baseline", n, round(B * n))), _thr(50))
    chk = _err(bad)
    assert bad.breached and chk.breached and chk.rule == "window_baseline"
    assert chk.statistic > chk.threshold == pytest.approx(_thr(50).error_rate_allowance)
    assert chk.detail["candidate_lower"] < 0.05  # fired on the excess over the baseline, below the cap
    ok = evaluate(_window(_arm("candidate", n, round(B * n)), _arm("baseline", n, round(B * n))), _thr(50))
    assert not ok.breached and ok.status == "no breach"


def test_candidate_equal_to_a_high_error_baseline_does_not_breach():
    """Both arms at 4.2% (a shared upstream problem): the candidate is not worse than the baseline.
    An absolute rule at the alert in force (3.2%) would pull the flag."""
    from agent_release.rollout.guardrails import evaluate, wilson_lower

    n = 4500
    thr = _thr(50)
    rep = evaluate(_window(_arm("candidate", n, round(0.042 * n)), _arm("baseline", n, round(0.042 * n))), thr)
    assert not rep.breached and _err(rep).rule == "window_baseline"
    assert wilson_lower(round(0.042 * n), n) > thr.error_rate_max  # what the old rule compared


def test_a_bad_baseline_does_not_raise_the_allowance_beyond_the_spec_max():
    """Candidate 7% below a baseline at 8%: not worse than the baseline, but above the spec's 5%."""
    from agent_release.rollout.guardrails import evaluate

    n = 4500
    rep = evaluate(_window(_arm("candidate", n, round(0.07 * n)), _arm("baseline", n, round(0.08 * n))), _thr(50))
    chk = _err(rep)
    assert rep.breached and chk.rule == "cap" and chk.threshold == 0.05 and chk.statistic > 0.05
    assert chk.detail["excess_lower"] < chk.detail["allowance"]  # the relative rule alone would pass it
    assert "absolute maximum" in chk.evidence


def test_at_100pct_a_healthy_candidate_is_judged_against_the_carried_reference():
    from agent_release.rollout.guardrails import evaluate

    n = 9000
    thr = _thr(100)  # reference baseline 2.3% carried from the 50% step
    rep = evaluate(_window(_arm("candidate", n, round(B * n))), thr)
    assert not rep.breached and _err(rep).rule == "reference_baseline" and rep.status == "no breach"
    worse = evaluate(_window(_arm("candidate", n, round((B + 0.015) * n))), thr)  # +1.5 pts over the reference
    assert worse.breached and _err(worse).rule == "reference_baseline"


def test_at_100pct_without_a_reference_the_absolute_rule_applies_not_a_zero_baseline():
    from agent_release.rollout.guardrails import evaluate

    n = 9000
    thr = _thr(100, b=None)
    healthy = evaluate(_window(_arm("candidate", n, round(0.04 * n))), thr)  # 4% < 5%: no breach
    assert not healthy.breached and _err(healthy).rule == "absolute"
    assert "no reference baseline" in _err(healthy).evidence
    bad = evaluate(_window(_arm("candidate", n, round(0.06 * n))), thr)
    assert bad.breached and _err(bad).rule == "absolute" and _err(bad).threshold == 0.05


def test_a_window_too_small_is_not_evaluated_never_no_breach():
    from agent_release.rollout.guardrails import evaluate

    rep = evaluate(_window(_arm("candidate", 120, 30), _arm("baseline", 4000, 92)), _thr(50))
    assert not rep.breached and rep.status == "not evaluated"
    assert "not evaluated" in rep.reason() and "no guardrail breached" not in rep.reason()


# --------------------------------------------------------------------------- cost overrun


def _costs(n: int, mean: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cost = rng.gamma(2.0, mean / 2.0, n)
    resolved = rng.random(n) < 0.7
    return cost, resolved


@pytest.mark.parametrize("n, breach", [(300, False), (40000, True)])
def test_cost_overrun_is_judged_on_the_lower_bound_of_the_ratio(n, breach):
    """Ratio exactly 1.20 (the candidate's conversations cost 1.2x the baseline's, same outcomes)
    against the 1.08 alert at 50%: a small window's point estimate is above the alert but its lower
    bound is not (no breach); a large window's lower bound is (breach)."""
    from agent_release.rollout.guardrails import evaluate

    thr = _thr(50)
    cb, rb = _costs(n, 0.0100, 2)
    rep = evaluate(_window(_arm("candidate", n, 0, cost=cb * 1.2, resolved=rb),
                           _arm("baseline", n, 0, cost=cb, resolved=rb)), thr, min_resolutions=100)
    chk = _cost(rep)
    assert chk.evaluated and chk.value == pytest.approx(1.2)  # point estimate above the alert either way
    assert chk.breached is breach and (chk.statistic > thr.cost_overrun_ratio) is breach
    assert chk.statistic < chk.value


def test_cost_ratio_lower_bound_covers_the_truth():
    """The delta-method bound is a real 97.5% bound: over 300 replications at a true ratio of 1.0 it
    exceeds 1.0 in about 2.5% of them (binomial tolerance)."""
    from agent_release.rollout.guardrails import evaluate

    thr = _thr(50)
    above = 0
    for i in range(300):
        cc, rc = _costs(800, 0.01, 100 + 2 * i)
        cb, rb = _costs(800, 0.01, 101 + 2 * i)
        w = _window(_arm("candidate", 800, 0, cost=cc, resolved=rc), _arm("baseline", 800, 0, cost=cb, resolved=rb))
        above += _cost(evaluate(w, thr)).statistic > 1.0
    assert above <= 18  # 2.5% of 300 = 7.5; P(X > 18) < 0.001


# --------------------------------------------------------------------------- the sensor on a live rollout


def _enter(lake, spec, step_index: int, pct: float, thr, t: datetime, *, manifest_hash: str | None = None) -> None:
    """An ENTER row as the controller writes it (thresholds in force recorded) — the rollout's
    analysis is tested in test_rollout.py; here only the watch is."""
    from agent_release.rollout import store

    store.append_decisions(lake, spec.release_id, [{
        "decision_id": f"test-enter-{spec.spec_hash}-{step_index}", "spec_hash": spec.spec_hash,
        "decision": store.ENTER, "step_index": step_index, "from_percentage": 0.0, "to_percentage": pct,
        "flag": spec.rollout.flag_name, "flag_backend": "local", "data_time": t, "actor": "test",
        "reason": f"enter {pct:g}%", "thresholds_json": thr.to_dict(), "error_rate_alert": thr.error_rate_max,
        "manifest_hash": manifest_hash}])


@pytest.fixture
def live(home, monkeypatch):
    monkeypatch.setenv("AGENT_RELEASE_INPUTS", str(home / "inputs"))
    shutil.copytree(REPO_ROOT / "data" / "releases", home / "inputs" / "releases")
    from agent_release.flags import backend_for
    from agent_release.warehouse import Lake

    spec = _spec()
    lake = Lake.default()

    def at(pct: float, step_index: int, thr, t: datetime = T0):
        backend = backend_for(spec)
        backend.set_percentage(spec.rollout.flag_name, pct, reason="test", actor="test", release_id=RID)
        _enter(lake, spec, step_index, pct, thr, t)
        return backend

    return spec, lake, at


def _traffic(spec, pct: float, step_index: int, *, error_delta: float = 0.0, start: datetime = T0,
             hours: float = 12.0, monkeypatch=None, rate: float = R) -> pl.DataFrame:
    from agent_release.canary import simulate as sim
    from agent_release.rollout import traffic as tr

    name = "noninferior"
    if error_delta:
        name = f"test_error_{error_delta:g}"
        monkeypatch.setitem(sim.SCENARIOS, name, sim.TrueEffects(error_rate_delta=error_delta))
    frame, _ = tr.simulate_step(spec, percentage=pct, start=start, hours=hours, scenario=name, rate_per_hour=rate,
                                seed=5, step_index=step_index)
    return frame


def _sensor_ctx(cursor: str | None = None):
    from agent_release.defs.resources import WarehouseResource
    from agent_release.defs.rollout import FlagBackendResource

    inst = dg.DagsterInstance.ephemeral()
    inst.add_dynamic_partitions("releases", [RID])
    return dg.build_sensor_context(instance=inst, cursor=cursor, resources={"warehouse": WarehouseResource(),
                                                                            "flag_backend": FlagBackendResource()})


def test_sensor_uses_the_thresholds_in_force_not_the_spec(live, monkeypatch):
    """At 50% the allowance in force is ~0.9 pt over the baseline (spec: 2.7 pts). A candidate
    +2 pts over the baseline is between the two: the sensor must pull the flag."""
    from agent_release.defs.rollout import rollout_guardrail_sensor
    from agent_release.rollout import traffic as tr
    from agent_release.rollout.store import read_decisions

    spec, lake, at = live
    thr = _thr(50)
    backend = at(50, 2, thr)
    tr.write_step_traffic(lake, RID, 2, _traffic(spec, 50, 2, error_delta=0.02, monkeypatch=monkeypatch))
    rollout_guardrail_sensor(_sensor_ctx())
    assert backend.percentage(spec.rollout.flag_name) == 0
    last = read_decisions(lake, RID).row(-1, named=True)
    assert last["decision"] == "ROLLBACK" and "guardrail error_rate" in last["reason"]
    ev = json.loads(last["evidence_json"])
    chk = next(c for c in ev["checks"] if c["name"] == "error_rate")
    spec_allowance = spec.canary.error_rate_max - B
    # the candidate really is between the thresholds: breaches the one in force, not the spec's
    assert thr.error_rate_allowance < chk["detail"]["excess_lower"] < spec_allowance
    assert ev["thresholds"]["error_rate_max"] == pytest.approx(thr.error_rate_max)
    assert last["manifest_hash"]


def test_sensor_at_100pct_after_a_spec_edit_uses_the_carried_reference(live):
    """Issue 14: the spec of a live 100% release is edited (new spec hash: no thresholds recorded for
    it). The reference baseline recorded at the last step with a baseline arm still applies — a
    healthy candidate is not rolled back ("reference baseline 0.00%")."""
    from dataclasses import replace

    from agent_release.rollout import traffic as tr
    from agent_release.rollout.watch import guardrail_tick

    spec, lake, at = live
    f50 = tr.facts(_traffic(spec, 50, 2, start=T0 - timedelta(hours=48)), spec)  # the 50% step before
    ref = tr.summarize(f50, T0 - timedelta(hours=48), T0).baseline.cost_per_resolution
    backend = at(100, 3, _thr(100, cpr=ref))
    tr.write_step_traffic(lake, RID, 3, _traffic(spec, 100, 3))
    edited = replace(spec, spec_hash="edited-description")
    tick = guardrail_tick(edited, backend, lake, actor="test")
    assert tick.action == "none" and "no breach" in tick.message, tick.message
    chk = next(c for c in tick.details["evidence"]["checks"] if c["name"] == "error_rate")
    assert chk["rule"] == "reference_baseline" and chk["detail"]["reference_baseline"] == pytest.approx(B)
    assert backend.percentage(spec.rollout.flag_name) == 100


def _write_source(tmp, frame: pl.DataFrame) -> str:
    path = tmp / "live" / "conversations.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.drop("release_id", "step_index", "flag_percentage").write_parquet(path)
    return str(path.parent)


def test_stalled_live_feed_raises_a_staleness_alert_and_holds_the_rollout(live, home, monkeypatch):
    from agent_release.defs.rollout import rollout_guardrail_sensor
    from agent_release.flags import backend_for
    from agent_release.rollout.controller import RolloutController
    from agent_release.rollout.store import read_decisions, rollout_state

    spec, lake, at = live
    now = datetime.now(UTC).replace(microsecond=0)
    t_enter = now - timedelta(hours=16)
    backend = at(50, 2, _thr(50), t=t_enter)
    # a healthy feed that stopped 2 hours ago (max lag 30 min)
    src = _write_source(home, _traffic(spec, 50, 2, start=t_enter, hours=14))
    monkeypatch.setenv("AGENT_RELEASE_LIVE_SOURCE", src)
    res = rollout_guardrail_sensor(_sensor_ctx())
    # the tick acted: it is a run (a SUCCESS tick), not a skip
    assert res.skip_reason is None and len(res.run_requests) == 1
    assert res.run_requests[0].tags["agent_release/decision"] == "HOLD"
    assert res.asset_events and "staleness_alert" in res.asset_events[0].metadata
    alert = res.asset_events[0].metadata["staleness_alert"].value
    assert "STALE" in alert and "no breach" not in alert
    d = read_decisions(lake, RID)
    hold = d.row(-1, named=True)
    assert hold["decision"] == "HOLD" and hold["reason"].startswith("live feed stalled: last conversation at ")
    assert "> 30 min" in hold["reason"] and hold["actor"] == "sensor:rollout_guardrail_sensor"
    assert hold["manifest_hash"]
    assert backend.percentage(spec.rollout.flag_name) == 50  # held, not pulled: still watched
    # a second tick in the same stall records nothing more
    rollout_guardrail_sensor(_sensor_ctx())
    assert read_decisions(lake, RID).height == d.height
    # the controller enters no next step on a stalled feed
    st = rollout_state(lake, RID, spec.spec_hash)
    assert st.status == "HELD"
    play = RolloutController(spec, backend_for(spec), lake).play()
    assert play.added == [] and play.status == "HELD"


def test_fresh_live_feed_is_not_stale(live, home, monkeypatch):
    from agent_release.defs.rollout import rollout_guardrail_sensor
    from agent_release.rollout.store import read_decisions

    spec, lake, at = live
    now = datetime.now(UTC).replace(microsecond=0)
    at(50, 2, _thr(50), t=now - timedelta(hours=12))
    monkeypatch.setenv("AGENT_RELEASE_LIVE_SOURCE",
                       _write_source(home, _traffic(spec, 50, 2, start=now - timedelta(hours=12), hours=12)))
    res = rollout_guardrail_sensor(_sensor_ctx())
    assert "no breach" in res.skip_reason.skip_message and not res.asset_events
    assert read_decisions(lake, RID)["decision"].to_list() == ["ENTER"]


def test_staleness_on_the_data_clock(live):
    """The tick judges freshness against the clock it is given (``now``), whatever the source."""
    from agent_release.rollout import traffic as tr
    from agent_release.rollout.watch import guardrail_tick

    spec, lake, at = live
    backend = at(50, 2, _thr(50))
    frame = _traffic(spec, 50, 2)
    tr.write_step_traffic(lake, RID, 2, frame)
    last = tr.last_conversation(frame)
    assert guardrail_tick(spec, backend, lake, actor="t", now=last + timedelta(minutes=20)).action == "none"
    tick = guardrail_tick(spec, backend, lake, actor="t", now=last + timedelta(minutes=45))
    assert tick.action == "stale" and "lag 45 min > 30 min" in tick.message
    tick = guardrail_tick(spec, backend, lake, actor="t", now=last + timedelta(minutes=45), max_feed_lag_minutes=60)
    assert tick.action == "none"


def test_sensor_reports_a_small_window_as_not_evaluated(live, monkeypatch):
    from agent_release.rollout import traffic as tr
    from agent_release.rollout.watch import guardrail_tick

    spec, lake, at = live
    backend = at(5, 0, _thr(5))
    tr.write_step_traffic(lake, RID, 0, _traffic(spec, 5, 0, rate=40.0))  # ~2 candidate conversations/hour
    tick = guardrail_tick(spec, backend, lake, actor="t")
    assert tick.action == "not_evaluated" and "NOT EVALUATED" in tick.message and "no breach" not in tick.message


# --------------------------------------------------------------------------- the controller


def test_controller_holds_instead_of_entering_when_the_watch_could_not_judge(home):
    from agent_release.defs.rollout import _latest_watch_verdict
    from agent_release.flags import backend_for
    from agent_release.rollout.controller import RolloutConfig, RolloutController
    from agent_release.warehouse import Lake

    spec = _spec()
    lake = Lake.default()
    res = RolloutController(spec, backend_for(spec), lake, RolloutConfig(rate_per_hour=40.0)).play()
    assert res.status == "HELD" and res.percentage == 5
    assert res.decisions["decision"].to_list() == ["ENTER", "HOLD"]
    hold = res.decisions.row(-1, named=True)
    assert "guardrails not evaluated" in hold["reason"] and "no verdict is not 'no breach'" in hold["reason"]
    assert _latest_watch_verdict(lake, RID, 0) == "not evaluated"


def test_every_controller_row_carries_the_manifest_and_changed_inputs_hold_not_restart(home, monkeypatch):
    from agent_release.agents.base import PRICES_PATH
    from agent_release.flags import backend_for
    from agent_release.manifest import input_manifest
    from agent_release.rollout.controller import RolloutConfig, RolloutController
    from agent_release.warehouse import Lake

    spec = _spec()
    lake = Lake.default()
    backend = backend_for(spec)
    first = RolloutController(spec, backend, lake, RolloutConfig(until_percentage=5)).play()
    assert first.decisions["decision"].to_list() == ["ENTER"]
    assert first.decisions["manifest_hash"].to_list() == [input_manifest(spec).manifest_hash]
    # the price table changes while the rollout is live
    prices = home / "prices.yaml"
    prices.write_text(PRICES_PATH.read_text() + "\n# repriced\n")
    monkeypatch.setenv("AGENT_RELEASE_PRICES", str(prices))
    again = RolloutController(spec, backend, lake).play()
    assert again.status == "HELD" and backend.percentage(spec.rollout.flag_name) == 5
    assert again.decisions["decision"].to_list() == ["ENTER", "HOLD"]  # not restarted, no further step
    hold = again.decisions.row(-1, named=True)
    assert "inputs changed since the step was entered" in hold["reason"] and "price_table" in hold["reason"]
    assert hold["manifest_hash"] == input_manifest(spec).manifest_hash != first.decisions["manifest_hash"][0]


# --------------------------------------------------------------------------- fail-closed (review of issue 13)


def _raise_manifest(monkeypatch):
    import agent_release.manifest as manifest

    def broken(spec):
        raise OSError("golden set unreadable: <content that must not leak>")

    monkeypatch.setattr(manifest, "input_manifest", broken)


def test_unverifiable_inputs_never_enter_not_even_the_start(home, monkeypatch):
    """The input manifest cannot be computed: no ENTER (not even the start) — HOLD "inputs cannot be
    verified" naming the error type only."""
    from agent_release.flags import backend_for
    from agent_release.rollout.controller import RolloutController
    from agent_release.warehouse import Lake

    spec = _spec()
    lake = Lake.default()
    backend = backend_for(spec)
    flag = spec.rollout.flag_name
    with monkeypatch.context() as m:
        _raise_manifest(m)
        res = RolloutController(spec, backend, lake).play()
    assert res.decisions["decision"].to_list() == ["HOLD"] and res.status == "HELD"
    assert backend.percentage(flag) == 0  # the flag was never set
    hold = res.decisions.row(-1, named=True)
    assert "inputs cannot be verified" in hold["reason"] and "OSError" in hold["reason"]
    assert "must not leak" not in hold["reason"] + str(hold["inputs_json"])


def test_unverifiable_inputs_mid_rollout_hold_and_a_rollback_still_proceeds(home, monkeypatch):
    from agent_release.flags import backend_for
    from agent_release.rollout import actions
    from agent_release.rollout.controller import RolloutConfig, RolloutController
    from agent_release.warehouse import Lake

    spec = _spec()
    lake2 = Lake.default()
    backend = backend_for(spec)
    flag = spec.rollout.flag_name
    # entered at 5% with a manifest, then the manifest breaks
    first = RolloutController(spec, backend, lake2, RolloutConfig(until_percentage=5)).play()
    assert first.decisions["decision"].to_list() == ["ENTER"] and backend.percentage(flag) == 5
    _raise_manifest(monkeypatch)
    again = RolloutController(spec, backend, lake2).play()
    assert again.decisions["decision"].to_list() == ["ENTER", "HOLD"] and backend.percentage(flag) == 5
    assert "inputs cannot be verified" in again.decisions.row(-1, named=True)["reason"]
    # a rollback proceeds without a manifest
    rb = actions.rollback(spec, backend, lake2, reason="manual", actor="test")
    assert rb.changed and backend.percentage(flag) == 0 and rb.decision["decision"] == "ROLLBACK"


def test_a_step_entered_without_a_recorded_manifest_is_held(live):
    """An ENTER row without a manifest hash (inputs unknown when the step was entered) is never read
    as "inputs unchanged"."""
    from agent_release.rollout.controller import RolloutController

    spec, lake, at = live
    backend = at(5, 0, _thr(5))  # _enter writes manifest_hash=None
    res = RolloutController(spec, backend, lake).play()
    assert res.decisions["decision"].to_list() == ["ENTER", "HOLD"] and res.status == "HELD"
    assert "no input manifest was recorded when the step was entered" in res.decisions.row(-1, named=True)["reason"]
    assert backend.percentage(spec.rollout.flag_name) == 5


def _drop_cost(frame: pl.DataFrame, version: str, every: int) -> pl.DataFrame:
    """Every ``every``-th conversation of ``version`` loses ``cost_usd`` on all its turns."""
    idx = pl.int_range(pl.len())
    sel = (pl.col("agent_version") == version) & (idx % every == 0)
    return frame.with_columns(pl.when(sel).then(pl.col("messages").list.eval(
        pl.element().struct.with_fields(pl.lit(None, pl.Float64).alias("cost_usd"))))
        .otherwise(pl.col("messages")).alias("messages"))


def test_unknown_cost_is_not_zero_and_the_cost_check_is_not_evaluated(live, monkeypatch):
    """Known truth: the candidate costs 1.6x the baseline (alert 1.25x). With 2 in 5 candidate
    conversations logged without cost_usd, counting them as $0 reads ~0.96x ("no breach"); the cost
    is unknown — the check is not evaluated, and so is the report."""
    from agent_release.canary import simulate as sim
    from agent_release.rollout import traffic as tr
    from agent_release.rollout.guardrails import evaluate

    spec, _, _ = live
    monkeypatch.setitem(sim.SCENARIOS, "test_cost_1.6", sim.TrueEffects(cost_multiplier=1.6))
    frame, _ = tr.simulate_step(spec, percentage=50, start=T0, hours=6, scenario="test_cost_1.6",
                                rate_per_hour=R, seed=5, step_index=2)
    full = tr.summarize(tr.facts(frame, spec), T0, T0 + timedelta(hours=6))
    assert _cost(evaluate(full, _thr(50))).breached  # the truth: a cost overrun
    gappy = frame.with_row_index("_i").pipe(lambda f: f.with_columns(
        pl.when((pl.col("agent_version") == spec.candidate.version) & (pl.col("_i") % 5 < 2))
        .then(pl.col("messages").list.eval(pl.element().struct.with_fields(pl.lit(None, pl.Float64).alias("cost_usd"))))
        .otherwise(pl.col("messages")).alias("messages"))).drop("_i")
    n_unknown = gappy.filter((pl.col("agent_version") == spec.candidate.version)
                             & pl.col("messages").list.eval(pl.element().struct.field("cost_usd").is_null()
                                                            & pl.element().struct.field("error").is_null()
                                                            & (pl.element().struct.field("role") == "assistant"))
                             .list.any()).height  # a failed turn (error) reports no cost: not unknown
    w = tr.summarize(tr.facts(gappy, spec), T0, T0 + timedelta(hours=6))
    assert w.candidate.cost_unknown == n_unknown > 0 and w.candidate.cost_per_resolution is None
    assert w.baseline.cost_unknown == 0
    rep = evaluate(w, _thr(50))
    cost = _cost(rep)
    assert not cost.evaluated and not cost.breached
    assert f"cost unknown: {n_unknown} conversations" in cost.evidence
    assert _err(rep).evaluated and not _err(rep).breached
    assert rep.status == "not evaluated" and "no breach" not in rep.reason()
    # unknown baseline cost (the reference arm) is not evaluated either
    w_b = tr.summarize(tr.facts(_drop_cost(frame, spec.baseline.version, 7), spec), T0, T0 + timedelta(hours=6))
    assert w_b.baseline.cost_unknown > 0 and not _cost(evaluate(w_b, _thr(50))).evaluated


def test_report_status_not_evaluated_when_any_check_is_and_breach_still_wins():
    from agent_release.rollout.guardrails import evaluate

    n = 2000
    cost = np.full(n, 0.01)
    cost[::10] = np.nan  # 200 candidate conversations of unknown cost
    cand = _arm("candidate", n, 46).with_columns(pl.Series("cost", cost).fill_nan(None))
    rep = evaluate(_window(cand, _arm("baseline", n, 46)), _thr(50))
    assert _err(rep).evaluated and not rep.breached
    assert not _cost(rep).evaluated and "cost unknown: 200 conversations" in _cost(rep).evidence
    assert rep.status == "not evaluated"
    bad = _arm("candidate", n, 200).with_columns(pl.Series("cost", cost).fill_nan(None))  # 10% errors
    rep = evaluate(_window(bad, _arm("baseline", n, 46)), _thr(50))
    assert _err(rep).breached and not _cost(rep).evaluated and rep.status == "breach"


def test_controller_holds_when_the_cost_guardrail_could_not_be_evaluated(home, monkeypatch):
    """Live traffic whose candidate conversations partly lack cost_usd: the error rate is judged, the
    cost is not — the controller holds at 5%, it does not ENTER 25%."""
    from agent_release.flags import backend_for
    from agent_release.rollout import traffic as tr
    from agent_release.rollout.controller import RolloutController
    from agent_release.warehouse import Lake

    spec = _spec()
    real = tr.simulate_step

    def gappy(spec_, **kw):
        frame, truth = real(spec_, **kw)
        return _drop_cost(frame, spec_.candidate.version, 3), truth

    monkeypatch.setattr(tr, "simulate_step", gappy)
    lake = Lake.default()
    res = RolloutController(spec, backend_for(spec), lake).play()
    assert res.decisions["decision"].to_list() == ["ENTER", "HOLD"] and res.percentage == 5
    hold = res.decisions.row(-1, named=True)
    assert "guardrails not evaluated" in hold["reason"] and "cost unknown" in hold["reason"]


def test_staleness_is_measured_on_the_candidate_arm(live):
    """The candidate's logs stop 2 h before the end while the baseline keeps logging: stale."""
    from agent_release.rollout import traffic as tr
    from agent_release.rollout.store import read_decisions
    from agent_release.rollout.watch import guardrail_tick

    spec, lake, at = live
    backend = at(50, 2, _thr(50))
    frame = _traffic(spec, 50, 2)
    cut = T0 + timedelta(hours=10)
    frame = frame.filter((pl.col("agent_version") != spec.candidate.version) | (pl.col("started_at") < cut))
    tr.write_step_traffic(lake, RID, 2, frame)
    now = tr.last_conversation(frame) + timedelta(minutes=5)  # the feed as a whole is fresh
    tick = guardrail_tick(spec, backend, lake, actor="t", now=now)
    assert tick.action == "stale" and "(candidate arm)" in tick.message, tick.message
    assert read_decisions(lake, RID)["decision"].to_list() == ["ENTER", "HOLD"]
    assert backend.percentage(spec.rollout.flag_name) == 50


def test_sensor_records_a_hold_when_the_guardrail_watch_fails(live, monkeypatch):
    import agent_release.rollout.watch as watch
    from agent_release.defs.rollout import rollout_guardrail_sensor
    from agent_release.rollout.store import read_decisions

    spec, lake, at = live
    backend = at(50, 2, _thr(50))

    def broken(*a, **kw):
        raise KeyError("user said: <conversation content>")

    monkeypatch.setattr(watch, "guardrail_tick", broken)
    res = rollout_guardrail_sensor(_sensor_ctx())
    assert res.asset_events and res.asset_events[0].metadata["guardrail_watch_error"].value == "KeyError"
    d = read_decisions(lake, RID)
    hold = d.row(-1, named=True)
    assert d["decision"].to_list() == ["ENTER", "HOLD"] and "KeyError" in hold["reason"]
    assert "conversation content" not in hold["reason"] + str(hold["evidence_json"]) + str(res.run_requests)
    assert [r.tags["agent_release/decision_id"] for r in res.run_requests] == [hold["decision_id"]]
    assert json.loads(hold["inputs_json"])["hold_kind"] == "watch_error"
    assert backend.percentage(spec.rollout.flag_name) == 50
    rollout_guardrail_sensor(_sensor_ctx())  # the same failure again: no second row
    assert read_decisions(lake, RID).height == d.height


def test_not_evaluated_ticks_within_the_feed_lag_do_not_hold(live):
    """The first minutes of a step at low traffic are not yet judgeable: a few quick ticks without a
    verdict are reported, but they hold the rollout only once they span more than the feed lag."""
    from agent_release.defs.rollout import NOT_EVALUATED_HOLD_TICKS, rollout_guardrail_sensor
    from agent_release.rollout import traffic as tr
    from agent_release.rollout.store import read_decisions

    spec, lake, at = live
    at(5, 0, _thr(5))
    tr.write_step_traffic(lake, RID, 0, _traffic(spec, 5, 0, rate=40.0))  # too few to judge
    cursor = None
    for _ in range(NOT_EVALUATED_HOLD_TICKS + 2):
        cursor = rollout_guardrail_sensor(_sensor_ctx(cursor)).cursor
    assert read_decisions(lake, RID)["decision"].to_list() == ["ENTER"]


def test_repeated_not_evaluated_ticks_hold_the_rollout(live, monkeypatch):
    from agent_release.defs.rollout import NOT_EVALUATED_HOLD_TICKS, rollout_guardrail_sensor
    from agent_release.rollout import traffic as tr
    from agent_release.rollout.store import read_decisions

    monkeypatch.setenv("AGENT_RELEASE_FEED_MAX_LAG_MINUTES", "0")
    spec, lake, at = live
    at(5, 0, _thr(5))
    tr.write_step_traffic(lake, RID, 0, _traffic(spec, 5, 0, rate=40.0))  # too few to judge
    cursor = None
    for i in range(1, NOT_EVALUATED_HOLD_TICKS + 1):
        res = rollout_guardrail_sensor(_sensor_ctx(cursor))
        cursor = res.cursor
        decisions = read_decisions(lake, RID)["decision"].to_list()
        if i < NOT_EVALUATED_HOLD_TICKS:
            assert decisions == ["ENTER"] and not res.asset_events
    assert decisions == ["ENTER", "HOLD"]
    hold = read_decisions(lake, RID).row(-1, named=True)
    assert f"not evaluated on {NOT_EVALUATED_HOLD_TICKS} consecutive sensor ticks" in hold["reason"]
    assert res.asset_events and "not_evaluated_alert" in res.asset_events[0].metadata
