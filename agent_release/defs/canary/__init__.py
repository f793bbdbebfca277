"""Canary: exit criteria written first, live traffic (masked), cohort statistics, daily looks,
and the exit decision (EXPAND / HOLD / ROLLBACK), one partition per release."""

import json
import os
from datetime import UTC, datetime, timedelta

import dagster as dg
import polars as pl

from agent_release.defs.evals import gate_decision, gate_status
from agent_release.defs.meta import json_flat, md_rows, md_table
from agent_release.defs.partitions import releases_partitions
from agent_release.defs.resources import MaskingResource, WarehouseResource

CRITERIA = "canary.exit_criteria"
REPRESENTATIVENESS = "canary.representativeness"
LIVE = "canary.live_conversations"
POPULATION = "_raw.canary_population"
STATS = "canary.cohort_stats"
MISMATCHES = "canary.mismatches"
DECISIONS = "canary.decisions"
DECISION_METRICS = "canary.decision_metrics"
DECISION_SEGMENTS = "canary.decision_segments"

_COMMON = dict(partitions_def=releases_partitions, group_name="canary")


class LiveTrafficResource(dg.ConfigurableResource):
    """Where live canary traffic comes from: ``synthetic`` (the embedded simulation, with the
    true effects of a named scenario) or a JSONL/Parquet file or folder in the
    conversation-log contract (the same intake and masking as production logs)."""

    path: str = ""  # "" = $AGENT_RELEASE_LIVE_SOURCE or "synthetic"
    scenario: str = ""  # "" = $AGENT_RELEASE_CANARY_SCENARIO or "noninferior"
    rate_per_hour: float = 0.0  # 0 = $AGENT_RELEASE_CANARY_RATE or 800 conversations/hour (see README: sized for the segment watch)
    days: float = 14.0
    start: str = "2026-11-02T00:00:00+00:00"
    seed: int = 7

    @property
    def source(self) -> str:
        return self.path or os.environ.get("AGENT_RELEASE_LIVE_SOURCE", "synthetic")

    @property
    def scenario_name(self) -> str:
        return self.scenario or os.environ.get("AGENT_RELEASE_CANARY_SCENARIO", "noninferior")

    @property
    def rate(self) -> float:
        return self.rate_per_hour or float(os.environ.get("AGENT_RELEASE_CANARY_RATE", "800"))


def _spec(context):
    from agent_release.release_spec import load_release

    return load_release(context.partition_key)


MASKED_PRODUCTION = "masking.masked_conversations"


def production_population(lake) -> pl.DataFrame:
    """One row per user of the masked production logs (user_id, locale, channel, persona): the
    population the canary's flag samples from. Raises ``dg.Failure`` when there is none (a
    representativeness verdict from a simulated population would not describe real users)."""
    if not lake.exists(MASKED_PRODUCTION):
        raise dg.Failure(f"{MASKED_PRODUCTION} has not been materialized: the cohort representativeness is "
                         "computed from the real population (the masked production logs' users)")
    files = sorted(str(f) for f in lake.table_dir(MASKED_PRODUCTION).glob("*.parquet"))
    frame = pl.scan_parquet(files).select("user_id", "locale", "channel", "extra_json")
    frame = frame.with_columns(
        pl.col("extra_json").str.json_path_match("$.persona").fill_null("unknown").alias("persona"),
        pl.col("channel").fill_null("unknown"), pl.col("locale").fill_null("unknown"))
    # a user's segment: their most frequent value (ties: the smallest)
    out = None
    for dim in ("locale", "channel", "persona"):
        d = (frame.group_by("user_id", dim).len().sort(["user_id", "len", dim], descending=[False, True, False])
             .group_by("user_id", maintain_order=True).first().select("user_id", dim))
        out = d if out is None else out.join(d, on="user_id")
    return out.collect().sort("user_id")


def _population_dims(population: pl.DataFrame) -> tuple[str, ...]:
    return tuple(d for d in ("locale", "channel", "persona") if population[d].n_unique() > 1)


def _require_promoted(lake, spec) -> None:
    decision, dec_hash, cur_hash, status = gate_status(lake, spec.release_id)
    if status != "PROMOTE":
        raise dg.Failure(
            description=(f"release {spec.release_id} is not promoted by the pre-prod gate "
                         f"(status {status}); the canary cannot start"),
            metadata={"gate_status": status, "gate_decision": decision},
        )


@dg.asset(
    key=["canary", "exit_criteria"], deps=[gate_decision], kinds={"python", "markdown"}, **_COMMON,
    description=(
        "The canary exit-criteria document, generated from the release spec BEFORE the canary "
        "starts (metrics, margins, tests, alpha-spending plan, minimum soak, guardrails, segment "
        "rule) and stored with its hash; every exit decision cites it. Also the pre-canary "
        "representativeness check of the cohort the flag would pick. Refuses to materialize "
        "for a release the gate did not promote."
    ),
)
def exit_criteria(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                  live_traffic_source: LiveTrafficResource) -> dg.MaterializeResult:
    from agent_release.canary.decision import exit_criteria_hash, render_exit_criteria
    from agent_release.canary.simulate import pre_canary_representativeness

    spec = _spec(context)
    lake = warehouse.lake()
    _require_promoted(lake, spec)
    doc = render_exit_criteria(spec)
    h = exit_criteria_hash(spec, doc=doc)
    out = warehouse.paths().reports / spec.release_id
    out.mkdir(parents=True, exist_ok=True)
    (out / "canary_exit_criteria.md").write_text(doc)
    lake.write(CRITERIA, pl.DataFrame([{
        "release_id": spec.release_id, "spec_hash": spec.spec_hash, "criteria_doc_hash": h,
        "written_at": datetime.now(UTC), "document_md": doc}]), partition=spec.release_id)
    # Who would the flag pick? The real population: the users of the masked production logs. The
    # check here is the skew of the cohort the flag picks (locale, channel, persona); whether each
    # segment gets enough data is judged at every look on the canary's own traffic (segments are
    # judged only with power, unjudged traffic is limited), so no per-segment user minimum is
    # projected from a log sample whose window is not the soak's.
    population = production_population(lake)
    rep = pre_canary_representativeness(population, spec.rollout.flag_name or spec.release_id,
                                        spec.canary.traffic_percent, dims=_population_dims(population),
                                        min_users_per_segment=0, projection_factor=1.0)
    seg = pl.DataFrame(rep.segment_rows()).with_columns(pl.lit(spec.release_id).alias("release_id"),
                                                         pl.lit(rep.verdict).alias("verdict"),
                                                         pl.lit(rep.reason or "").alias("reason"),
                                                         pl.lit(population.height).alias("population_users"))
    lake.write(REPRESENTATIVENESS, seg, partition=spec.release_id)
    warehouse.publish()
    return dg.MaterializeResult(metadata={
        "criteria_doc_hash": h, "spec_hash": spec.spec_hash,
        "representativeness": rep.verdict, "representativeness_reason": rep.reason or "",
        "population_users": population.height, "population_source": MASKED_PRODUCTION,
        "document": dg.MetadataValue.md(doc),
        "path": dg.MetadataValue.path(str(out / "canary_exit_criteria.md")),
    })


@dg.asset(
    key=["canary", "live_conversations"], deps=[["canary", "exit_criteria"]], kinds={"python", "parquet"},
    **_COMMON,
    description=(
        "Live canary traffic for both cohorts in the conversation-log contract, masked by the same "
        "masker as production logs. Embedded default: 14 simulated days with configurable true "
        "effects (overall, per locale, per persona, drift over conversation length, hand-off "
        "quality); otherwise read from AGENT_RELEASE_LIVE_SOURCE (files or a folder of JSONL/Parquet)."
    ),
)
def live_conversations(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                       live_traffic_source: LiveTrafficResource, masking: MaskingResource) -> dg.MaterializeResult:
    from agent_release.canary.simulate import SCENARIOS, TrafficConfig, simulate

    spec = _spec(context)
    lake = warehouse.lake()
    _require_promoted(lake, spec)
    src = live_traffic_source.source
    quarantined = 0
    if src == "synthetic":
        name = live_traffic_source.scenario_name
        if name not in SCENARIOS:
            raise dg.Failure(f"unknown canary scenario {name!r}; one of {', '.join(sorted(SCENARIOS))}")
        cfg = TrafficConfig.from_spec(
            spec, rate_per_hour=live_traffic_source.rate, seed=live_traffic_source.seed,
            days=live_traffic_source.days, start=datetime.fromisoformat(live_traffic_source.start))
        sim = simulate(cfg, SCENARIOS[name])
        frame = sim.frame
        source_label = f"simulation (scenario {name}, {live_traffic_source.rate:g}/h, seed {cfg.seed})"
        truth = sim.truth
    else:
        from agent_release.intake import read_source

        res = read_source(src)
        frame = res.valid
        quarantined = res.rows_quarantined
        lake.write("canary.live_quarantine", res.quarantine, partition=spec.release_id)
        source_label, truth = src, {}
    masked, stats = masking.masker().mask_frame(frame)
    if src == "synthetic":
        # Simulated users already carry the flag-context id (the keyed hash the application
        # sends to the flag service as userId), so the cohort recomputed from the data is the
        # cohort the flag served. Real logs: the masker's HMAC of the raw id *is* that id, as
        # long as the application uses the same key (see README, "Flag context").
        masked = masked.with_columns(frame["user_id"].alias("user_id"))
    masked = masked.with_columns(pl.lit(spec.release_id).alias("release_id"))
    lake.write(LIVE, masked, partition=spec.release_id)
    warehouse.publish()
    by_version = masked.group_by("agent_version").len().sort("agent_version")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": masked.height, "source": source_label, "rows_quarantined": quarantined,
        "masking_seconds": round(stats.seconds, 1),
        "by_agent_version": dg.MetadataValue.md(md_table(by_version)),
        "true_effects": dg.MetadataValue.json(json.loads(json.dumps(truth, default=str))) if truth else "n/a (real traffic)",
    })


@dg.asset(
    key=["canary", "cohort_stats"], deps=[["canary", "live_conversations"]], kinds={"duckdb", "parquet"},
    **_COMMON,
    description=(
        "Per cohort, per day and cumulative, overall and per segment (locale, persona, channel): "
        "conversations, users, error rate, latency p50/p95/p99, resolved/escalated/abandoned "
        "rates, thumbs-up rate, CSAT, cost per resolution — computed in DuckDB SQL. Cohort = "
        "served agent version + the user's flag assignment; mismatches are counted."
    ),
)
def cohort_stats(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from agent_release.canary import cohort_stats as cs
    from agent_release.canary.charts import render_metric_chart_svg, render_segment_chart_svg

    spec = _spec(context)
    lake = warehouse.lake()
    live = lake.read(LIVE, partition=spec.release_id)
    data = cs.load(live, spec)
    stats = cs.cohort_stats(data, release_id=spec.release_id)
    mism = cs.mismatch_table(data).with_columns(pl.lit(spec.release_id).alias("release_id"))
    lake.write(STATS, stats.with_columns(pl.lit(spec.release_id).alias("release_id")) if "release_id" not in stats.columns else stats,
               partition=spec.release_id)
    lake.write(MISMATCHES, mism, partition=spec.release_id)
    charts = []
    for metric in ("resolution_rate", "error_rate", "p95_latency_ms", "csat_mean", "cost_per_resolution"):
        try:
            charts.append(render_metric_chart_svg(stats, metric))
        except (KeyError, ValueError) as exc:
            context.log.warning(f"chart {metric}: {type(exc).__name__}: {exc}")
    try:
        charts.append(render_segment_chart_svg(stats, "resolution_rate", "locale"))
    except (KeyError, ValueError) as exc:
        context.log.warning(f"locale chart: {type(exc).__name__}: {exc}")
    out = warehouse.paths().reports / spec.release_id
    out.mkdir(parents=True, exist_ok=True)
    html = ("<!doctype html><meta charset='utf-8'><title>Canary cohorts — " + spec.release_id +
            "</title><body style='font-family:sans-serif'><h1>Canary cohorts — " + spec.release_id +
            "</h1>" + "".join(f"<div>{c}</div>" for c in charts) + "</body>")
    (out / "canary_cohorts.html").write_text(html)
    warehouse.publish()
    overall = stats.filter((pl.col("period") == "cumulative") & (pl.col("dimension") == "overall"))
    last_day = overall["day"].max() if overall.height else None
    latest = overall.filter(pl.col("day") == last_day) if last_day is not None else overall
    cols = [c for c in ("cohort", "conversations", "users", "error_rate", "resolution_rate", "p95_latency_ms",
                        "csat_mean", "thumbs_up_rate", "cost_per_resolution") if c in latest.columns]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": stats.height,
        "mismatched_conversations": int(mism["conversations"].sum()) if "conversations" in mism.columns and mism.height else 0,
        "cumulative_latest": dg.MetadataValue.md(md_table(latest.select(cols))),
        "charts": dg.MetadataValue.path(str(out / "canary_cohorts.html")),
    })


@dg.asset(
    key=["canary", "exit_decision"], deps=[["canary", "cohort_stats"]], kinds={"python", "duckdb"}, **_COMMON,
    description=(
        "The canary exit decision, looked at daily on complete days only (run_looks): guardrails on "
        "lower confidence bounds, SRM and representativeness (real population) first, minimum soak, "
        "one-sided non-inferiority of the spec's exit metrics with alpha spending over the data's "
        "information fraction and Holm across metrics, a harm test per metric, and the segment "
        "watch (judged only with power; flagged segments persist). EXPAND only on ≥3 of 4 metrics "
        "non-inferior, none worse than its margin, no blocking segment; EXPAND and ROLLBACK are "
        "terminal. Every evaluation is appended to the canary decision history with the manifest hash."
    ),
)
def exit_decision(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                  live_traffic_source: LiveTrafficResource) -> dg.MaterializeResult:
    from types import SimpleNamespace

    from agent_release import decision_log
    from agent_release.canary import cohort_stats as cs
    from agent_release.canary.decision import decide, run_looks
    from agent_release.manifest import input_manifest

    spec = _spec(context)
    lake = warehouse.lake()
    live = lake.read(LIVE, partition=spec.release_id)
    criteria = lake.read(CRITERIA, partition=spec.release_id).row(0, named=True)
    if criteria["spec_hash"] != spec.spec_hash:
        raise dg.Failure("the exit-criteria document was written under another spec hash; re-materialize canary/exit_criteria")
    rep_rows = lake.read(REPRESENTATIVENESS, partition=spec.release_id)
    rep = SimpleNamespace(verdict=rep_rows["verdict"][0],
                          reason=rep_rows["reason"][0] if "reason" in rep_rows.columns else "",
                          ok=rep_rows["verdict"][0] == "OK")
    data = cs.load(live, spec)
    # the feed's end: the simulation's horizon, else the last logged conversation
    data_end = None
    if live_traffic_source.source == "synthetic":
        data_end = datetime.fromisoformat(live_traffic_source.start) + timedelta(days=live_traffic_source.days)
    looks = run_looks(spec, data, representativeness=rep, data_end=data_end)
    if not looks:  # no complete day yet (or no data): one look at the data so far, never a pass
        looks = [decide(spec, data, representativeness=rep)]
    dec = looks[-1]
    if dec.criteria_doc_hash != criteria["criteria_doc_hash"]:
        raise dg.Failure("decision computed under different exit criteria than the registered document")
    manifest_hash = input_manifest(spec).manifest_hash
    rows = [dict(d.to_row(), manifest_hash=manifest_hash) for d in looks]
    metric_rows = [r for d in looks for r in d.metric_rows()]
    seg_rows = [r for d in looks for r in d.segment_rows()]
    first, last = data.time_range()
    evaluation_id = decision_log.evaluation_id_for(spec.release_id, manifest_hash, dec.criteria_doc_hash,
                                                   str(first), str(last), live.height, rep.verdict)
    appended = decision_log.append_canary_looks(
        lake, spec.release_id, [json_flat(r) for r in rows], [json_flat(r) for r in metric_rows],
        [json_flat(r) for r in seg_rows], manifest_hash=manifest_hash, evaluation_id=evaluation_id)
    warehouse.publish()
    timeline = [(str(r["as_of"])[:10], r["decision"], (json.loads(json.dumps(r["reasons"])) or [""])[0][:140])
                for r in rows]
    context.log.info(f"canary {spec.release_id}: {dec.summary}")
    return dg.MaterializeResult(metadata={
        "decision": dec.decision, "criteria_doc_hash": dec.criteria_doc_hash, "spec_hash": spec.spec_hash,
        "manifest_hash": manifest_hash, "evaluation_id": evaluation_id,
        "appended": bool(appended.get("appended")), "representativeness": rep.verdict,
        "looks": len(rows), "metrics_passed": dec.metrics_passed,
        "final": dg.MetadataValue.md(dec.to_markdown()),
        "daily_looks": dg.MetadataValue.md(md_rows(["as of", "decision", "first reason"], timeline)),
    })


@dg.asset_check(
    asset=exit_decision,
    description="The latest canary look says EXPAND (WARN otherwise: HOLD keeps soaking, ROLLBACK pulls the flag).",
)
def canary_expand(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    from agent_release import decision_log

    lake = warehouse.lake()
    rid = context.run.tags.get("dagster/partition")
    parts = [rid] if rid else context.instance.get_dynamic_partitions(releases_partitions.name)
    latest = {}
    for p in parts:
        row = decision_log.latest_canary_decision(lake, p)
        if row is not None:
            latest[p] = row["decision"]
    return dg.AssetCheckResult(
        passed=bool(latest) and all(v == "EXPAND" for v in latest.values()),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"latest": dg.MetadataValue.md(md_rows(["release", "decision"], sorted(latest.items())))},
    )


canary_job = dg.define_asset_job(
    "canary_release", selection=dg.AssetSelection.groups("canary"),
    description="Canary for one promoted release: criteria, live traffic, cohort stats, exit decision.",
)


@dg.schedule(
    job=canary_job, cron_schedule="5 * * * *", default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Hourly refresh of every promoted release's canary as traffic lands.",
)
def canary_hourly(context: dg.ScheduleEvaluationContext):
    from agent_release.warehouse import Lake

    lake = Lake.default()
    for rid in context.instance.get_dynamic_partitions(releases_partitions.name):
        if gate_status(lake, rid)[-1] == "PROMOTE":
            yield dg.RunRequest(run_key=f"{rid}-{context.scheduled_execution_time:%Y%m%d%H}", partition_key=rid)


defs = dg.Definitions(
    assets=[exit_criteria, live_conversations, cohort_stats, exit_decision],
    asset_checks=[canary_expand],
    jobs=[canary_job],
    schedules=[canary_hourly],
    resources={"live_traffic_source": LiveTrafficResource()},
)
