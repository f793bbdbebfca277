"""Post-deployment monitoring: production agents, nightly regression (with a regression injected
into the production agent's profile), run-failure alert through a webhook, schedules, hourly
outcomes with seasonal drift, weekly worst-1% review and labels, SLO burn rates, audit."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import polars as pl
import pytest
import yaml

from agent_release.defs import monitoring as mon
from agent_release.defs.resources import MaskingResource, WarehouseResource
from agent_release.monitoring import outcomes as oc
from agent_release.monitoring import production as pr
from agent_release.monitoring import review as rv
from agent_release.monitoring import slo
from agent_release.warehouse import Lake


# --------------------------------------------------------------------------- helpers
class _Hook:
    """A loopback HTTP server recording JSON POSTs (a real webhook endpoint)."""

    def __init__(self):
        received = self.received = []

        class H(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                n = int(self.headers.get("content-length", 0))
                received.append(json.loads(self.rfile.read(n)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    h = _Hook()
    yield h
    h.close()


def _conv(cid, ts, agent="support-bot@1", *, outcome="resolved", csat=None, thumb=None, error=None, latency=900.0,
          cost=0.002, extra=None, user="u1", locale="en-US", content="Happy to help, thank you!"):
    msgs = [{"role": "user", "content": "hello, my order", "latency_ms": None, "cost_usd": None, "action": None,
             "error": None},
            {"role": "assistant", "content": content, "latency_ms": latency, "cost_usd": cost, "action": "answer",
             "error": error}]
    return {"conversation_id": cid, "user_id": user, "started_at": ts, "locale": locale, "channel": "chat",
            "agent_version": agent, "model": "m", "messages": msgs, "outcome": outcome, "csat": csat, "thumb": thumb,
            "extra_json": json.dumps(extra or {"persona": "standard", "intent": "order_status"}),
            "source": "test", "source_row": 0}


_MSG = pl.List(pl.Struct({"role": pl.String, "content": pl.String, "latency_ms": pl.Float64, "cost_usd": pl.Float64,
                          "action": pl.String, "error": pl.String}))
_SCHEMA = {"conversation_id": pl.String, "user_id": pl.String, "started_at": pl.Datetime("us", "UTC"),
           "locale": pl.String, "channel": pl.String, "agent_version": pl.String, "model": pl.String, "messages": _MSG,
           "outcome": pl.String, "csat": pl.Int64, "thumb": pl.String, "extra_json": pl.String, "source": pl.String,
           "source_row": pl.Int64}


def _canary_hold(lake):
    from agent_release.decision_log import append_canary_looks

    append_canary_looks(lake, "support-bot-2", [{"as_of": datetime(2026, 11, 16, tzinfo=UTC), "decision": "HOLD"}],
                        [], [], manifest_hash="test", evaluation_id="test-hold")


def _frame(rows):
    return pl.DataFrame(rows, schema=_SCHEMA)


# --------------------------------------------------------------------------- production agents
def test_production_agents_follow_config_state_and_fallback(home, monkeypatch):
    lake = Lake.default()
    # no state anywhere: the baseline of the newest release spec
    agents = pr.resolve_production_agents(lake)
    assert [a.version for a in agents] == ["support-bot@1"] and agents[0].role == "fallback"
    assert agents[0].spec.model == "acme-llm-2026-08-07"
    # canary HOLD: still the baseline
    _canary_hold(lake)
    agents = pr.resolve_production_agents(lake)
    assert [a.version for a in agents] == ["support-bot@1"] and "canary HOLD" in agents[0].reason
    # rollout at 100% (rollout domain's decisions): the candidate
    from agent_release.release_spec import load_release

    from agent_release.rollout.store import DECISION_SCHEMA

    spec = load_release("support-bot-2")
    given = {"decision_id": ["a", "b"], "release_id": ["support-bot-2"] * 2, "spec_hash": [spec.spec_hash] * 2,
             "seq": [0, 1], "decision": ["ENTER", "COMPLETE"], "step_index": [3, 3], "from_percentage": [50.0, 100.0],
             "to_percentage": [100.0, 100.0], "data_time": [datetime(2026, 11, 20, tzinfo=UTC)] * 2,
             "thresholds_json": ["{}", "{}"]}
    lake.write("rollout.decisions", pl.DataFrame({k: given.get(k, [None, None]) for k in DECISION_SCHEMA},
                                                 schema=DECISION_SCHEMA), partition="support-bot-2")
    agents = pr.resolve_production_agents(lake)
    assert [a.version for a in agents] == ["support-bot@2"] and agents[0].role == "candidate"
    # configured list wins
    monkeypatch.setenv(pr.ENV_AGENTS, "support-bot@1, support-bot@2")
    assert [a.version for a in pr.resolve_production_agents(lake)] == ["support-bot@1", "support-bot@2"]


# --------------------------------------------------------------------------- nightly regression
def _profile_with_regression(tmp: Path) -> Path:
    """support-bot@1's profile with accuracy cut by 40% on every intent (a bad prompt/KB change)."""
    from agent_release.agents.simulated import PROFILES_DIR

    doc = yaml.safe_load((PROFILES_DIR / "support-bot@1.yaml").read_text())
    doc["accuracy"]["by_intent"] = {k: round(v * 0.6, 3) for k, v in doc["accuracy"]["by_intent"].items()}
    d = tmp / "profiles"
    d.mkdir()
    (d / "support-bot@1.yaml").write_text(yaml.safe_dump(doc))
    return d


def _monitoring_defs(home: Path, hook_url: str = ""):
    return dg.Definitions(
        assets=[mon.nightly_regression], asset_checks=[mon.nightly_no_regression], jobs=[mon.nightly_job],
        sensors=[mon.run_failure_alert],
        resources={"warehouse": WarehouseResource(home=str(home)), "masking": MaskingResource(),
                   "monitoring": mon.MonitoringResource(production_agents=["support-bot@1"],
                                                        baselines_dir=str(home / "baselines")),
                   "alert_webhook": mon.AlertWebhookResource(url=hook_url)},
    )


_SMALL = {"ops": {"monitoring__nightly_regression": {"config": {
    "golden_cases": 0, "adversarial_probes": 12, "scenarios": 4, "adversarial_trials": 1, "scenario_trials": 1}}}}


def test_injected_regression_is_caught_by_the_nightly_and_alerted(home, tmp_path, monkeypatch, hook):
    from agent_release.agents import simulated

    keys = mon.nightly_partitions.get_partition_keys()
    if len(keys) < 3:
        pytest.skip("the clock is before the nightly partitions start")
    n1, n2, n3 = keys[-3:]
    monkeypatch.setattr(simulated, "_PROFILE_CACHE", {})
    defs = _monitoring_defs(home, hook.url)
    job = defs.resolve_job_def("monitoring_nightly")
    instance = dg.DagsterInstance.ephemeral()
    lake = Lake.default()

    # night 1: the production agent as released; no blessed baseline yet -> blesses itself
    r1 = job.execute_in_process(partition_key=n1, run_config=_SMALL, instance=instance, raise_on_error=False)
    assert r1.success
    s1 = lake.read("monitoring.nightly_summary", partition=n1)
    assert not s1["regression"].any()
    assert "blessed itself" in s1.filter(pl.col("suite") == "golden")["reason"][0]
    pointer = json.loads((home / "baselines" / "BLESSED.json").read_text())
    assert pointer["support-bot@1"]["cases"] == 308

    # night 2: unchanged agent -> identical answers, no regression
    r2 = job.execute_in_process(partition_key=n2, run_config=_SMALL, instance=instance, raise_on_error=False)
    assert r2.success
    s2 = lake.read("monitoring.nightly_summary", partition=n2)
    g2 = s2.filter(pl.col("metric") == "accuracy_vs_blessed").row(0, named=True)
    assert g2["delta"] == 0 and not s2["regression"].any()

    # night 3: a regression injected into the production agent's profile
    monkeypatch.setenv("AGENT_RELEASE_PROFILES", str(_profile_with_regression(tmp_path)))
    monkeypatch.setattr(simulated, "_PROFILE_CACHE", {})
    r3 = job.execute_in_process(partition_key=n3, run_config=_SMALL, instance=instance, raise_on_error=False)
    assert not r3.success  # the blocking nightly_no_regression check fails the run
    checks = [e.event_specific_data for e in r3.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert [(c.check_name, c.passed) for c in checks] == [("nightly_no_regression", False)]
    s3 = lake.read("monitoring.nightly_summary", partition=n3)
    golden = s3.filter(pl.col("metric") == "accuracy_vs_blessed").row(0, named=True)
    assert golden["regression"] and golden["delta"] < -0.15 and golden["p_value"] < 1e-6
    assert s3.filter(pl.col("metric") == "accuracy_vs_previous_night")["regression"].all()

    # the run-failure sensor posts the regression to the webhook
    from dagster._core.events import DagsterEventType

    run = instance.get_run_by_id(r3.run_id)
    event = instance.all_logs(r3.run_id, of_type=DagsterEventType.RUN_FAILURE)[0].dagster_event
    ctx = dg.build_run_status_sensor_context(
        sensor_name="monitoring_run_failure_alert", dagster_event=event, dagster_instance=instance, dagster_run=run,
        resources={"alert_webhook": mon.AlertWebhookResource(url=hook.url),
                   "warehouse": WarehouseResource(home=str(home))},
    ).for_run_failure()
    mon.run_failure_alert(ctx)
    assert len(hook.received) == 1
    payload = hook.received[0]
    assert payload["kind"] == "run_failure" and payload["job"] == "monitoring_nightly"
    assert payload["partition"] == n3
    assert {r["suite"] for r in payload["regressions"]} >= {"golden"}
    assert "regression" in payload["text"]


def test_alert_without_webhook_only_logs(monkeypatch):
    from agent_release.monitoring.alerts import ENV_WEBHOOK, notify

    monkeypatch.delenv(ENV_WEBHOOK, raising=False)
    assert notify({"text": "x"}) == {"sent": False, "reason": "no webhook configured"}


def test_golden_paired_comparison_needs_a_significant_drop_beyond_tolerance():
    from agent_release.monitoring.nightly import golden_paired

    ref = pl.DataFrame({"case_id": [f"c{i}" for i in range(300)], "passed": [True] * 250 + [False] * 50})
    # 4 flips pass -> fail: -1.3 pts but not significant
    t = ref.with_columns(pl.when(pl.col("case_id").is_in(["c0", "c1", "c2", "c3"])).then(False)
                         .otherwise(pl.col("passed")).alias("passed"))
    assert not golden_paired(t, ref, 1.0, 0.01)["regression"]
    # 30 flips: regression
    lost = [f"c{i}" for i in range(30)]
    t = ref.with_columns(pl.when(pl.col("case_id").is_in(lost)).then(False).otherwise(pl.col("passed")).alias("passed"))
    r = golden_paired(t, ref, 1.0, 0.01)
    assert r["regression"] and r["details"]["lost"] == 30 and r["delta"] == pytest.approx(-0.1)


# --------------------------------------------------------------------------- schedules and sensors
def test_schedules_tick_the_right_partitions():
    inst = dg.DagsterInstance.ephemeral()
    ctx = dg.build_schedule_context(instance=inst, scheduled_execution_time=datetime(2026, 11, 27, 2, 0, tzinfo=UTC))
    req = mon.nightly_schedule(ctx)
    assert req.partition_key == "2026-11-26" and req.run_key == "nightly-2026-11-26"
    ctx = dg.build_schedule_context(instance=inst, scheduled_execution_time=datetime(2026, 11, 16, 9, 0, tzinfo=UTC))
    assert mon.weekly_review_schedule(ctx).partition_key == "2026-11-09"  # the Monday of last week
    ctx = dg.build_schedule_context(instance=inst, scheduled_execution_time=datetime(2026, 11, 20, 10, 15, tzinfo=UTC))
    assert mon.outcomes_schedule(ctx).partition_key == "2026-11-20-09:00"
    ctx = dg.build_schedule_context(instance=inst, scheduled_execution_time=datetime(2026, 11, 1, 0, 5, tzinfo=UTC))
    assert isinstance(mon.nightly_schedule(ctx), dg.SkipReason)
    assert mon.nightly_schedule.cron_schedule == "0 2 * * *"
    assert mon.weekly_review_schedule.cron_schedule == "0 9 * * 1"


def test_definitions_hold_the_monitoring_jobs_schedules_and_sensors():
    from agent_release.definitions import defs

    names = {j.name for j in defs.resolve_all_job_defs()}
    assert {"monitoring_nightly", "monitoring_outcomes", "monitoring_weekly_review", "monitoring_slo",
            "monitoring_audit", "monitoring_reevaluation", "monitoring_review_labels"} <= names
    repo = defs.get_repository_def()
    assert {"monitoring_nightly_schedule", "monitoring_weekly_review_schedule", "monitoring_outcomes_schedule",
            "monitoring_slo_schedule"} <= {s.name for s in repo.schedule_defs}
    assert {"monitoring_run_failure_alert", "monitoring_freshness_checks", "review_labels_sensor"} <= {
        s.name for s in repo.sensor_defs}
    graph = defs.resolve_asset_graph()
    nightly = graph.get(dg.AssetKey(["monitoring", "nightly_regression"]))
    assert nightly.freshness_policy is not None
    reeval = graph.get(dg.AssetKey(["monitoring", "full_reevaluation"]))
    assert reeval.freshness_policy.fail_window.to_timedelta() == timedelta(days=90)


def test_labels_sensor_requests_a_run_for_new_files(home):
    wh = WarehouseResource(home=str(home))
    inst = dg.DagsterInstance.ephemeral()
    ctx = dg.build_sensor_context(instance=inst, resources={"warehouse": wh})
    assert isinstance(mon.review_labels_sensor(ctx), dg.SkipReason)
    d = mon.labels_dir(wh)
    d.mkdir(parents=True)
    (d / "week1.csv").write_text("conversation_id,label\nc1,good\n")
    ctx = dg.build_sensor_context(instance=inst, resources={"warehouse": wh})
    req = mon.review_labels_sensor(ctx)
    assert isinstance(req, dg.RunRequest)
    ctx2 = dg.build_sensor_context(instance=inst, cursor=ctx.cursor, resources={"warehouse": wh})
    assert isinstance(mon.review_labels_sensor(ctx2), dg.SkipReason)


# --------------------------------------------------------------------------- outcomes and drift
def _seasonal_stream(weeks: int = 4, campaign_day: datetime | None = None, seed: int = 3,
                     start: datetime = datetime(2026, 10, 5, tzinfo=UTC)) -> pl.DataFrame:
    """Hourly traffic with a daily and weekly rhythm (from ``start``, a Monday); on ``campaign_day``
    abandonment jumps and volume doubles."""
    rng = np.random.default_rng(seed)
    rows, k = [], 0
    for h in range(weeks * 7 * 24):
        t = start + timedelta(hours=h)
        base = 40 + 30 * np.sin((t.hour - 6) / 24 * 2 * np.pi) + (10 if t.weekday() < 5 else -10)
        campaign = campaign_day is not None and t.date() == campaign_day.date() and 9 <= t.hour < 21
        n = rng.poisson(max(5.0, base) * (2.0 if campaign else 1.0))
        p_res, p_aband = (0.55, 0.30) if campaign else (0.72, 0.10)
        for _ in range(n):
            u = rng.random()
            outcome = "resolved" if u < p_res else ("abandoned" if u < p_res + p_aband else "escalated")
            rows.append(_conv(f"c{k}", t + timedelta(minutes=float(rng.uniform(0, 59))), outcome=outcome,
                              csat=int(rng.integers(3, 6)) if rng.random() < 0.3 else None,
                              error="upstream_5xx" if rng.random() < 0.02 else None,
                              latency=float(rng.lognormal(6.8, 0.4)), cost=float(rng.uniform(0.001, 0.003)),
                              user=f"u{k % 500}"))
            k += 1
    return _frame(rows)


def test_seasonal_drift_flags_a_campaign_and_stays_quiet_otherwise():
    campaign = datetime(2026, 10, 28, tzinfo=UTC)  # a Wednesday in week 4
    df = _seasonal_stream(campaign_day=campaign)
    con = duckdb.connect()
    con.register("s", df.to_arrow())
    con.execute("CREATE TEMP TABLE production_stream AS SELECT *, timezone('UTC', started_at) AS ts FROM s")
    res = oc.track(con, datetime(2026, 10, 26), datetime(2026, 11, 2), weeks=3)
    hourly, drift, daily = res["hourly"], res["drift"], res["drift_daily"]
    assert hourly.filter(pl.col("agent_version") == oc.ALL).height == 7 * 24
    assert drift.filter(pl.col("z").is_not_null())["baseline_weeks"].min() == 3
    # the campaign day: abandonment worse, volume shifted — at day level and in its hours
    day = daily.filter(pl.col("period_start") == datetime(2026, 10, 28))
    ab = day.filter((pl.col("metric") == "abandonment_rate") & (pl.col("agent_version") == oc.ALL)).row(0, named=True)
    assert ab["shifted"] and ab["assessment"] == "worse" and ab["z"] > 4
    vol = day.filter(pl.col("metric") == "volume").row(0, named=True)
    assert vol["shifted"] and vol["direction"] == "up"
    camp_hours = drift.filter(pl.col("shifted") & (pl.col("period_start").dt.date() == campaign.date()))
    assert camp_hours.height > 5
    # elsewhere the test is calibrated: (almost) nothing flagged out of ~2,000 hourly tests
    other = drift.filter(pl.col("z").is_not_null() & (pl.col("period_start").dt.date() != campaign.date()))
    assert other.height > 1500 and other["shifted"].sum() <= 2
    assert daily.filter(pl.col("period_start") != datetime(2026, 10, 28))["shifted"].sum() == 0
    # sums add up: the hourly table reproduces a direct count
    assert int(hourly.filter(pl.col("agent_version") == oc.ALL)["conversations"].sum()) == df.filter(
        (pl.col("started_at") >= datetime(2026, 10, 26, tzinfo=UTC)) & (pl.col("started_at") < datetime(2026, 11, 2, tzinfo=UTC))).height


def test_hourly_outcomes_asset_backfills_a_range_in_one_run(home):
    if "2026-11-02-23:00" not in mon.hourly_partitions.get_partition_keys():
        pytest.skip("the clock is before the hourly partitions")
    lake = Lake.default()
    df = _seasonal_stream(weeks=2, start=datetime(2026, 10, 26, tzinfo=UTC))
    lake.write("canary.live_conversations", df, partition="support-bot-2")
    defs = dg.Definitions(assets=[mon.hourly_outcomes], asset_checks=[mon.outcome_shifts], jobs=[mon.outcomes_job],
                          resources={"warehouse": WarehouseResource(home=str(home)),
                                     "monitoring": mon.MonitoringResource(production_agents=["support-bot@1"],
                                                                          drift_weeks=1)})
    res = defs.resolve_job_def("monitoring_outcomes").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        tags={"dagster/asset_partition_range_start": "2026-11-02-00:00",
              "dagster/asset_partition_range_end": "2026-11-02-23:00"}, raise_on_error=False)
    assert res.success
    assert lake.partitions("monitoring.hourly_outcomes") == ["2026-11-02"]  # one file per day
    assert lake.read("monitoring.hourly_outcomes")["hour"].n_unique() == 24
    drift = lake.read("monitoring.outcome_drift")
    assert drift["period_start"].n_unique() == 24 and (drift["baseline_weeks"] == 1).all()
    assert lake.partitions("monitoring.outcome_drift_daily") == ["2026-11-02"]  # the day's 24 hours are in
    mats = res.asset_materializations_for_node("monitoring__hourly_outcomes")
    assert len(mats) == 24
    # re-running one hour replaces exactly that hour
    before = lake.read("monitoring.hourly_outcomes").sort("hour", "agent_version")
    res = defs.resolve_job_def("monitoring_outcomes").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), partition_key="2026-11-02-05:00")
    after = lake.read("monitoring.hourly_outcomes").sort("hour", "agent_version")
    assert res.success and after.equals(before)


# --------------------------------------------------------------------------- weekly review
def test_badness_ranks_safety_first_and_exports_the_worst_one_percent(home):
    t0 = datetime(2026, 11, 2, 10, tzinfo=UTC)
    rows = [_conv(f"ok{i}", t0 + timedelta(minutes=i), csat=5, thumb="up") for i in range(400)]
    rows.append(_conv("safety", t0, extra={"persona": "angry", "intent": "refund", "safety_incident": 1}))
    rows.append(_conv("angry", t0, outcome="abandoned", csat=1, thumb="down"))
    rows.append(_conv("esc", t0, outcome="escalated", csat=2, extra={"persona": "x", "handoff": "incomplete"}))
    rows.append(_conv("rude", t0, content="That is a stupid question, idiot.", csat=3))
    rows.append(_conv("<script>", t0, outcome="abandoned", thumb="down"))
    df = _frame(rows)
    res = rv.build_review(df, "2026-11-02", share=0.01, source="masking.masked_conversations")
    q = res["queue"]
    assert q.height == 5  # ceil(1% of 405)
    assert q["conversation_id"].to_list()[:2] == ["safety", "angry"] or q["conversation_id"][0] in ("safety", "angry")
    top = q.row(0, named=True)
    assert top["score"] >= q["score"][1]
    assert "rude" in q["conversation_id"].to_list()
    assert "toxic reply" in q.filter(pl.col("conversation_id") == "rude")["reasons"][0]
    html = rv.render_html(q, "2026-11-02", conversations=df.height, share=0.01, source="x", labels_csv="l.csv")
    assert "<script>" not in html and "&lt;script&gt;" in html
    # labels: good -> proposed golden case; unknown id -> problem
    lake = Lake.default()
    lake.write(rv.QUEUE, q, partition="2026-11-02")
    labels = home / "labels.csv"
    labels.write_text("conversation_id,label,category,reviewer,notes\nangry,good,customer,ana,agent was right\n"
                      "rude,bad,tone,ana,\nnope,good,,ana,\n")
    out = rv.record_labels(lake, labels, proposals_dir=home / "proposals", existing_golden=[])
    assert out["labels"] == 3 and out["valid"] == 2 and out["good"] == 1
    assert out["problems"] == [{"conversation_id": "nope", "problem": "conversation_id is not in the review queue"}]
    (case,) = out["proposals"]
    assert case["status"] == "proposed" and case["source_conversation_id"] == "angry"
    assert case["tags"]["source"] == "weekly_review"
    assert lake.read(rv.LABELS).height == 3 and lake.read(rv.PROPOSALS).height == 1
    again = rv.record_labels(lake, labels, proposals_dir=home / "proposals", existing_golden=[])
    assert again["batch"] == out["batch"] and lake.read(rv.LABELS).height == 3  # idempotent


# --------------------------------------------------------------------------- SLO
def test_slo_burn_rate_alerts_fire_on_an_outage_only():
    t0 = datetime(2026, 11, 2)
    rows, k = [], 0
    for m in range(3 * 24 * 60):  # 3 days, 2 conversations a minute
        t = t0 + timedelta(minutes=m)
        outage = datetime(2026, 11, 3, 12) <= t < datetime(2026, 11, 3, 13)
        for j in range(2):
            err = "upstream_5xx" if (outage and j == 0) or (not outage and k % 100 == 0) else None
            rows.append(_conv(f"c{k}", t.replace(tzinfo=UTC), error=err, user=f"u{k % 50}"))
            k += 1
    con = duckdb.connect()
    con.register("s", _frame(rows).to_arrow())
    con.execute("CREATE TEMP TABLE production_stream AS SELECT *, timezone('UTC', started_at) AS ts FROM s")
    cfg = slo.load_config()
    # 40 minutes into the outage: the 5-min window burns 16.7x, the 1-h window only ~11x: no page yet
    res = slo.compute(con, ["support-bot@1"], cfg, as_of=datetime(2026, 11, 3, 12, 40))
    st = res["status"].filter(pl.col("slo") == "availability").row(0, named=True)
    assert st["burn_rate_5m"] == pytest.approx(0.5 / 0.03)
    assert 10 < st["burn_rate_60m"] < 14.4 and not st["fast_burn_alert"] and st["status"] == "OK"
    # 58 minutes in: both windows above 14.4x -> the fast-burn page; the 6-h window is below 6x -> no ticket
    res = slo.compute(con, ["support-bot@1"], cfg, as_of=datetime(2026, 11, 3, 12, 58))
    st = res["status"].filter(pl.col("slo") == "availability").row(0, named=True)
    assert st["burn_rate_60m"] > 14.4 and st["fast_burn_alert"] and not st["slow_burn_alert"]
    assert st["status"] == "BURNING: fast (page)"
    ep = res["alerts"].filter((pl.col("slo") == "availability") & (pl.col("alert") == "fast"))
    assert ep.height == 1 and ep["started"][0] >= datetime(2026, 11, 3, 12, 45)
    # after the outage, at the end of the data: the burn stopped, the budget shows the damage
    res = slo.compute(con, ["support-bot@1"], cfg)
    st = res["status"].filter(pl.col("slo") == "availability").row(0, named=True)
    assert st["status"] == "OK" and not st["fast_burn_alert"]
    assert st["budget_consumed"] == pytest.approx(st["bad_events"] / (0.03 * st["events"]))
    assert res["alerts"].filter((pl.col("slo") == "availability") & (pl.col("alert") == "fast")).height == 1
    lat = res["status"].filter(pl.col("slo") == "latency").row(0, named=True)
    assert lat["bad_events"] == 0 and lat["status"] == "OK"
    doc = slo.render_document("support-bot@1", res["status"], res["alerts"], cfg)
    assert "14.4x" in doc and "Error budget policy" in doc and "availability" in doc


# --------------------------------------------------------------------------- audit
def _canary_world(lake, degrade: bool = False):
    from agent_release.canary.simulate import SCENARIOS, TrafficConfig, simulate
    from agent_release.release_spec import load_release

    spec = load_release("support-bot-2")
    cfg = TrafficConfig.from_spec(spec, rate_per_hour=60, seed=5, days=14)
    frame = simulate(cfg, SCENARIOS["noninferior"]).frame
    if degrade:  # safety incidents on the production agent in the last week
        late = (pl.col("started_at") >= datetime(2026, 11, 12, tzinfo=UTC)) & (pl.col("agent_version") == "support-bot@1")
        frame = frame.with_columns(pl.when(late & (pl.col("conversation_id").str.ends_with("7")))
                                   .then(pl.lit('{"persona": "standard", "safety_incident": 1}'))
                                   .otherwise(pl.col("extra_json")).alias("extra_json"))
    lake.write("canary.live_conversations", frame, partition="support-bot-2")
    _canary_hold(lake)
    return spec


@pytest.mark.parametrize("degrade", [False, True])
def test_audit_reads_the_exit_criteria_and_judges_todays_live_data(home, degrade):
    from agent_release.config import paths
    from agent_release.monitoring.audit import FAIL, NA, PASS, audit_agent

    lake = Lake.default()
    _canary_world(lake, degrade)
    (pa,) = pr.resolve_production_agents(lake)
    a = audit_agent(lake, paths(), pa, n_boot=200)
    assert a.release_id == "support-bot-2" and a.document_current
    assert "rendered from the spec" in a.document_source
    by = {c.criterion: c for c in a.criteria}
    assert by["sample-ratio mismatch"].status == NA
    assert {c.section for c in a.criteria} >= {"2. guardrails", "4. exit metrics", "5. segments"}
    assert len([c for c in a.criteria if c.section == "4. exit metrics"]) == 5  # 4 metrics + the count
    if degrade:
        assert by["safety incidents"].status == FAIL and a.verdict.startswith("WOULD ROLL BACK")
    else:
        assert by["safety incidents"].status == PASS
        assert by["metrics non-inferior"].status == PASS and a.verdict.startswith("WOULD PASS")
    text = a.to_text()
    assert "[4. exit metrics]" in text and pa.version in text


def test_audit_command_prints_and_exits_by_verdict(home, capsys):
    from agent_release.cli import main

    _canary_world(Lake.default(), degrade=True)
    assert main(["audit"]) == 2
    out = capsys.readouterr().out
    assert "WOULD ROLL BACK" in out and "safety incidents" in out


def test_post_deploy_plan_covers_the_data_there_is(home):
    lake = Lake.default()
    lake.write("canary.live_conversations", _seasonal_stream(weeks=1, start=datetime(2026, 11, 2, tzinfo=UTC)),
               partition="support-bot-2")
    lake.write("masking.masked_conversations", _frame([_conv("m1", datetime(2026, 11, 4, 10, tzinfo=UTC))]))
    plan = mon.post_deploy_plan(lake, now=datetime(2026, 11, 26, 12, tzinfo=UTC))
    by_job = {p["job"]: p for p in plan}
    assert by_job["monitoring_nightly"]["partition"] == "2026-11-25"
    cfg = by_job["monitoring_nightly"]["run_config"]["ops"]["monitoring__nightly_regression"]["config"]
    assert cfg["golden_cases"] == 0 and cfg["adversarial_probes"] > 0
    assert by_job["monitoring_outcomes"]["range"] == ("2026-11-02-00:00", "2026-11-08-23:00")
    assert by_job["monitoring_weekly_review"]["partition"] == "2026-11-02"
    assert [p["job"] for p in plan][-3:] == ["monitoring_slo", "monitoring_reevaluation", "monitoring_audit"]
