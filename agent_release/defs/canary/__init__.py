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
    rate_per_hour: float = 0.0  # 0 = $AGENT_RELEASE_CANARY_RATE or 400 conversations/hour
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
        return self.rate_per_hour or float(os.environ.get("AGENT_RELEASE_CANARY_RATE", "400"))


def _spec(context):
    from agent_release.release_spec import load_release

    return load_release(context.partition_key)


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
    from agent_release.canary.simulate import TrafficConfig, pre_canary_representativeness, simulate_population

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
    # Who would the flag pick? (population: the simulation's users, or the masked production users)
    cfg = TrafficConfig.from_spec(spec, rate_per_hour=live_traffic_source.rate, seed=live_traffic_source.seed,
                                  days=live_traffic_source.days)
    population = simulate_population(cfg)
    rep = pre_canary_representativeness(population, cfg.flag_name, spec.canary.traffic_percent,
                                        projection_factor=1.0)
    seg = pl.DataFrame(rep.segment_rows()).with_columns(pl.lit(spec.release_id).alias("release_id"),
                                                         pl.lit(rep.verdict).alias("verdict"))
    lake.write(REPRESENTATIVENESS, seg, partition=spec.release_id)
    warehouse.publish()
    return dg.MaterializeResult(metadata={
        "criteria_doc_hash": h, "spec_hash": spec.spec_hash,
        "representativeness": rep.verdict, "representativeness_reason": rep.reason or "",
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
        "The canary exit decision, looked at daily over the soak: SRM first (metrics not "
        "interpreted on a mismatch), minimum soak (7 days, a full weekly cycle, minimum "
        "conversations), one-sided non-inferiority on the spec's exit metrics with alpha spending "
        "over the looks and Holm across metrics, guardrails, and the slow-burn segment watch. "
        "EXPAND only on ≥3 of 4 metrics non-inferior, no guardrail breach, no significantly worse "
        "segment. Every look is a row in canary.decisions citing the exit-criteria hash."
    ),
)
def exit_decision(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from agent_release.canary import cohort_stats as cs
    from agent_release.canary.decision import decide

    spec = _spec(context)
    lake = warehouse.lake()
    live = lake.read(LIVE, partition=spec.release_id)
    criteria = lake.read(CRITERIA, partition=spec.release_id).row(0, named=True)
    if criteria["spec_hash"] != spec.spec_hash:
        raise dg.Failure("the exit-criteria document was written under another spec hash; re-materialize canary/exit_criteria")
    data = cs.load(live, spec)
    first, last = data.time_range()
    looks, rows, metric_rows, seg_rows = [], [], [], []
    dec = None
    if first is not None:
        day = datetime(first.year, first.month, first.day) + timedelta(days=1)
        while day <= last + timedelta(days=1):
            dec = decide(spec, data, as_of=day, looks_so_far=list(looks))
            if dec.metrics_tested:
                looks.append(day)
            rows.append(dec.to_row())
            metric_rows += dec.metric_rows()
            seg_rows += dec.segment_rows()
            day += timedelta(days=1)
    else:
        dec = decide(spec, data)
        rows.append(dec.to_row())
    if dec.criteria_doc_hash != criteria["criteria_doc_hash"]:
        raise dg.Failure("decision computed under different exit criteria than the registered document")

    lake.write(DECISIONS, pl.DataFrame([json_flat(r) for r in rows], infer_schema_length=None), partition=spec.release_id)
    if metric_rows:
        lake.write(DECISION_METRICS, pl.DataFrame([json_flat(r) for r in metric_rows], infer_schema_length=None),
                   partition=spec.release_id)
    if seg_rows:
        lake.write(DECISION_SEGMENTS, pl.DataFrame([json_flat(r) for r in seg_rows], infer_schema_length=None),
                   partition=spec.release_id)
    warehouse.publish()
    timeline = [(str(r["as_of"])[:10], r["decision"], (json.loads(json.dumps(r["reasons"])) or [""])[0][:140])
                for r in rows]
    context.log.info(f"canary {spec.release_id}: {dec.summary}")
    return dg.MaterializeResult(metadata={
        "decision": dec.decision, "criteria_doc_hash": dec.criteria_doc_hash, "spec_hash": spec.spec_hash,
        "looks": len(rows), "metrics_passed": dec.metrics_passed,
        "final": dg.MetadataValue.md(dec.to_markdown()),
        "daily_looks": dg.MetadataValue.md(md_rows(["as of", "decision", "first reason"], timeline)),
    })


@dg.asset_check(
    asset=exit_decision,
    description="The latest canary look says EXPAND (WARN otherwise: HOLD keeps soaking, ROLLBACK pulls the flag).",
)
def canary_expand(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    lake = warehouse.lake()
    rid = context.run.tags.get("dagster/partition")
    parts = [rid] if rid else lake.partitions(DECISIONS)
    latest = {}
    for p in parts:
        if p in lake.partitions(DECISIONS):
            d = lake.read(DECISIONS, partition=p).sort("as_of")
            latest[p] = d.row(-1, named=True)["decision"]
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
