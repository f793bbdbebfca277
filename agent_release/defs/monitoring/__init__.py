"""Post-deployment monitoring: nightly regression, hourly outcomes with seasonal drift, the weekly
worst-1% review, SLOs with burn-rate alerts, 90-day re-evaluation and the exit-criteria audit.

Schedules (all ``STOPPED`` by default, like the canary's: turn them on in the UI of a deployment):

* ``monitoring_nightly_schedule`` — ``$AGENT_RELEASE_NIGHTLY_CRON`` (default ``0 2 * * *``): the night
  that just ended (daily partition), full suites;
* ``monitoring_outcomes_schedule`` — hourly at :15, the hour that just ended (hourly partition);
* ``monitoring_weekly_review_schedule`` — ``$AGENT_RELEASE_REVIEW_CRON`` (default ``0 9 * * 1``, Monday
  09:00): last week (weekly partition, Monday-based);
* ``monitoring_slo_schedule`` — every 5 minutes (burn-rate alerts need short windows);
* ``monitoring_audit_schedule`` — daily 06:00; ``monitoring_reevaluation_schedule`` — the 1st of
  every month, well inside the 90-day freshness policy.

Times are in ``$AGENT_RELEASE_MONITORING_TZ`` (default UTC). Sensors: ``monitoring_run_failure_alert``
(RUNNING: a failed run of a monitoring job → webhook, see ``agent_release.monitoring.alerts``),
``monitoring_freshness_checks`` (evaluates the freshness checks: a missed night, an overdue
re-evaluation), ``review_labels_sensor`` (RUNNING: new label files in ``data/review/labels/``).
"""


import os
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl

from agent_release.defs.meta import md_rows, md_table
from agent_release.defs.resources import MaskingResource, WarehouseResource
from agent_release.monitoring import catalog as _catalog

_catalog.register()
# single-run backfills of the hourly asset (BackfillPolicy is beta in Dagster 1.13; deliberate)
warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=dg.BetaWarning)

GROUP = "monitoring"
PRODUCTION = "monitoring.production_agents"
NIGHTLY_START = "2026-11-01"
TZ = os.environ.get("AGENT_RELEASE_MONITORING_TZ", "UTC")

nightly_partitions = dg.DailyPartitionsDefinition(start_date=NIGHTLY_START, timezone=TZ)
hourly_partitions = dg.HourlyPartitionsDefinition(start_date="2026-11-02-00:00", timezone=TZ)
weekly_partitions = dg.WeeklyPartitionsDefinition(start_date="2026-11-02", day_offset=1, timezone=TZ)


# =========================================================================== resources
class MonitoringResource(dg.ConfigurableResource):
    """What post-deployment monitoring watches and where its inputs are.

    ``production_agents``: explicit agent versions ([] = ``$AGENT_RELEASE_PRODUCTION_AGENTS``, else
    derived from the releases' rollout / canary state — see ``agent_release.monitoring.production``).
    ``live_tables``: lake tables (or Parquet globs) of masked live traffic ([] =
    ``$AGENT_RELEASE_MONITORING_LIVE_TABLES``, else canary + rollout live traffic).
    ``baselines_dir``: blessed golden baselines ("" = ``$AGENT_RELEASE_BASELINES_DIR``, else
    ``data/golden/baselines``). ``review_source``: table the weekly review ranks (masked production
    log export by default; ``live`` = the live tables)."""

    production_agents: list[str] = []
    live_tables: list[str] = []
    baselines_dir: str = ""
    latency_scale: float = 0.0
    review_source: str = "masking.masked_conversations"
    review_share: float = 0.01
    review_residual_scan: bool = True
    slo_config: str = ""
    drift_weeks: int = 4
    drift_z_threshold: float = 4.0

    def agents(self, lake):
        from agent_release.monitoring.production import resolve_production_agents

        return resolve_production_agents(lake, self.production_agents or None)

    def baselines(self) -> Path:
        from agent_release.evals.golden import baselines_dir

        from agent_release.config import paths

        d = self.baselines_dir or os.environ.get("AGENT_RELEASE_BASELINES_DIR", "")
        if d:
            return Path(d)
        # A baseline the team blessed and committed (data/golden/baselines) wins; until there is
        # one, nights bless themselves into the generated area, leaving the versioned data alone.
        versioned = baselines_dir()
        return versioned if (versioned / "BLESSED.json").exists() else paths().data / "baselines"

    def tables(self) -> list[str] | None:
        return list(self.live_tables) or None


class AlertWebhookResource(dg.ConfigurableResource):
    """Webhook for alerts: ``url`` or ``$AGENT_RELEASE_ALERT_WEBHOOK``; none = log only."""

    url: str = ""
    timeout_s: float = 10.0

    def notify(self, payload: dict, logger=None) -> dict:
        from agent_release.monitoring.alerts import notify

        return notify(payload, self.url or None, timeout_s=self.timeout_s, logger=logger)


class NightlyConfig(dg.Config):
    """Suite sizes for one night (0 = the whole suite). The schedule runs full suites; ``make run``
    runs the whole golden set (so a first night can bless it) with a subset of the adversarial
    corpus and of the scenario battery."""

    golden_cases: int = 0
    adversarial_probes: int = 0
    scenarios: int = 0
    adversarial_trials: int = 3
    scenario_trials: int = 3
    resample: bool = False


#: run config of the nightly in ``make run`` (``run_post_deploy``)
MAKE_RUN_NIGHTLY = {"golden_cases": 0, "adversarial_probes": 40, "scenarios": 12, "adversarial_trials": 3,
                    "scenario_trials": 3, "resample": False}


def _write_production(lake, agents) -> None:
    lake.write(PRODUCTION, pl.DataFrame([a.to_row() for a in agents]), replace_all=True)


# =========================================================================== nightly regression
@dg.asset(
    key=["monitoring", "nightly_regression"], group_name=GROUP, partitions_def=nightly_partitions,
    kinds={"python", "parquet"},
    freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=26), warn_window=timedelta(hours=25)),
    description=(
        "NIGHTLY REGRESSION (daily partition = the night). The golden set, the adversarial corpus and the "
        "scenario battery run against every production agent through its pinned endpoint; golden accuracy "
        "is compared (paired) with the blessed baseline and the previous night, adversarial failure rate and "
        "scenario pass rate with the previous nights (else pre-prod). A regression fails the "
        "nightly_no_regression check, which fails the run and alerts through the webhook. The first full "
        "night of an agent without a blessed baseline blesses itself and says so."
    ),
)
def nightly_regression(context: dg.AssetExecutionContext, config: NightlyConfig, warehouse: WarehouseResource,
                       monitoring: MonitoringResource, masking: MaskingResource) -> dg.MaterializeResult:
    from agent_release.evals.findings import as_mask
    from agent_release.monitoring import nightly as ny

    night = context.partition_key
    lake = warehouse.lake()
    agents = monitoring.agents(lake)
    _write_production(lake, agents)
    sizes = ny.NightlySizes(config.golden_cases, config.adversarial_probes, config.scenarios,
                            config.adversarial_trials, config.scenario_trials)
    context.log.info(f"night {night}: {', '.join(a.version for a in agents)} ({sizes.describe()})")
    res = ny.run_nightly(lake, night, agents, baselines_dir=monitoring.baselines(), sizes=sizes,
                         latency_scale=monitoring.latency_scale, mask=as_mask(masking.masker()),
                         resample=config.resample, log=context.log.info)
    lake.write(ny.GOLDEN, res.golden, partition=night)
    lake.write(ny.FINDINGS, res.findings, partition=night)
    lake.write(ny.SCENARIOS, res.scenarios, partition=night)
    lake.write(ny.SUMMARY, res.summary, partition=night)
    warehouse.publish()
    for n in res.notes:
        context.log.warning(n)
    s = res.summary
    history = [(n, r["agent_version"], f"{r['value']:.1%}" if r["value"] is not None else "", r["regression"])
               for n in lake.partitions(ny.SUMMARY)[-14:]
               for r in lake.read(ny.SUMMARY, partition=n).filter(pl.col("suite") == "golden")
               .filter(pl.col("metric") == "accuracy_vs_blessed").iter_rows(named=True)]
    table = s.select("agent_version", "suite", "metric", pl.col("value").round(4), "reference",
                     pl.col("reference_value").round(4), pl.col("delta").round(4), pl.col("p_value").round(4),
                     "regression")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": res.golden.height + res.findings.height + res.scenarios.height,
        "production_agents": ", ".join(f"{a.version} ({a.reason})" for a in agents),
        "suites": sizes.describe(),
        "regressions": int(s["regression"].sum()),
        "verdicts": dg.MetadataValue.md(md_table(table, max_rows=30)),
        "reasons": dg.MetadataValue.md("\n".join(f"- **{r['agent_version']} {r['suite']}**: {r['reason']}"
                                                 for r in s.iter_rows(named=True))),
        "notes": dg.MetadataValue.md("\n".join(f"- {n}" for n in res.notes) or "_none_"),
        "golden_by_night": dg.MetadataValue.md(md_rows(["night", "agent", "golden accuracy", "regression"], history)),
        "blessed_tonight": ", ".join(Path(p).name for p in res.blessed) or "none",
    })


@dg.asset_check(
    asset=nightly_regression, blocking=True,
    description=(
        "No regression tonight for any production agent (golden vs blessed baseline and previous night, "
        "adversarial and scenarios vs previous nights). ERROR and blocking: a regression fails the run, "
        "and the run-failure sensor sends the alert."
    ),
)
def nightly_no_regression(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    from agent_release.monitoring.nightly import SUMMARY

    lake = warehouse.lake()
    night = context.run.tags.get("dagster/partition")
    if night is None or night not in lake.partitions(SUMMARY):
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR,
                                   metadata={"reason": f"no nightly summary for {night}"})
    s = lake.read(SUMMARY, partition=night)
    reg = s.filter(pl.col("regression"))
    return dg.AssetCheckResult(
        passed=reg.is_empty(), severity=dg.AssetCheckSeverity.ERROR,
        description=("; ".join(f"{r['agent_version']} {r['suite']}: {r['reason']}" for r in reg.iter_rows(named=True))[:900]
                     or f"no regression on {night}"),
        metadata={"night": night, "regressions": reg.height,
                  "failing": dg.MetadataValue.md(md_rows(["agent", "suite", "metric", "reason"],
                                                         [(r["agent_version"], r["suite"], r["metric"], r["reason"])
                                                          for r in reg.iter_rows(named=True)]) if reg.height else "_none_")},
    )


# A missed night: the FreshnessPolicy above (asset level: no materialization for 26 h) shows it in the
# UI; this partition-aware check (superseded API, still the only partition-aware one) names the night
# whose partition is missing after the deadline. Evaluated by the monitoring_freshness_checks sensor.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    nightly_freshness_checks = dg.build_time_partition_freshness_checks(
        assets=[nightly_regression], deadline_cron=os.environ.get("AGENT_RELEASE_NIGHTLY_DEADLINE_CRON", "0 6 * * *"),
        timezone=TZ, severity=dg.AssetCheckSeverity.ERROR,
    )


# =========================================================================== outcomes
def _utc_hour(key: str) -> datetime:
    """Start of an hourly partition as a naive UTC datetime (the ``hour`` column's convention)."""
    return hourly_partitions.time_window_for_partition_key(key).start.astimezone(UTC).replace(tzinfo=None)


@dg.asset(
    key=["monitoring", "hourly_outcomes"], group_name=GROUP, partitions_def=hourly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(), kinds={"duckdb", "parquet"},
    description=(
        "Live outcomes per hour (hourly partitions, stored one lake file per day; a backfill of many hours "
        "runs as one run): resolution, "
        "escalation, abandonment, CSAT, cost, error rate, latency per production agent, computed in DuckDB "
        "from the masked live traffic; each hour (and each complete day) tested against the seasonal "
        "baseline — the same hour of the same weekday over the previous weeks — for shifts."
    ),
)
def hourly_outcomes(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                    monitoring: MonitoringResource) -> dg.MaterializeResult:
    import duckdb

    from agent_release.monitoring import outcomes as oc
    from agent_release.monitoring.production import register_stream

    lake = warehouse.lake()
    tw = context.partition_time_window
    start, end = tw.start.astimezone(UTC), tw.end.astimezone(UTC)
    agents = monitoring.agents(lake)
    versions = [a.version for a in agents]
    con = duckdb.connect()
    register_stream(con, lake, versions, tables=monitoring.tables(),
                    start=start - timedelta(days=7 * monitoring.drift_weeks), end=end)
    res = oc.track(con, start, end, weeks=monitoring.drift_weeks, z_threshold=monitoring.drift_z_threshold)
    con.close()
    hourly, drift, daily = res["hourly"], res["drift"], res["drift_daily"]
    keys = context.partition_keys
    hours = [_utc_hour(k) for k in keys]
    locks = warehouse.paths().locks
    oc.write_hours(lake, oc.HOURLY, hourly, hours, time_col="hour", locks_dir=locks)
    oc.write_hours(lake, oc.DRIFT, drift, hours, time_col="period_start", locks_dir=locks)
    for d in daily["period_start"].unique().to_list():
        lake.write(oc.DRIFT_DAILY, daily.filter(pl.col("period_start") == d), partition=d.strftime("%Y-%m-%d"))
    warehouse.publish()
    shifts = pl.concat([drift, daily], how="vertical_relaxed").filter(pl.col("shifted"))
    overall = hourly.filter(pl.col("agent_version") == oc.ALL)
    summary = oc.with_rates(overall.select(*oc.SUM_COLS).sum()) if overall.height else overall
    cols = ["conversations", "resolution_rate", "escalation_rate", "abandonment_rate", "error_rate", "csat_mean",
            "cost_per_conversation"]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": hourly.height, "hours": len(keys),
        "window": f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC",
        "production_agents": ", ".join(versions),
        "conversations": int(overall["conversations"].sum()) if overall.height else 0,
        "totals": dg.MetadataValue.md(md_table(summary.select([c for c in cols if c in summary.columns]))
                                      if summary.height else "_no traffic_"),
        "tests": drift.filter(pl.col("z").is_not_null()).height + daily.filter(pl.col("z").is_not_null()).height,
        "shifts": shifts.height,
        "shifts_found": dg.MetadataValue.md(md_table(shifts.select("granularity", "period_start", "agent_version",
                                                                   "metric", "assessment", pl.col("z").round(1), "reason"),
                                                     max_rows=30) if shifts.height else "_none_"),
    })


@dg.asset_check(
    asset=hourly_outcomes,
    description=("No outcome shift against the seasonal baseline in the processed hours/days (WARN: a "
                 "shift is surfaced for a person to explain — a campaign, a season, or the agent)."),
)
def outcome_shifts(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    from agent_release.monitoring import outcomes as oc

    lake = warehouse.lake()
    tags = context.run.tags
    lo = tags.get("dagster/asset_partition_range_start") or tags.get("dagster/partition")
    hi = tags.get("dagster/asset_partition_range_end") or lo
    frames = []
    if lo:
        a, b = _utc_hour(lo), _utc_hour(hi)
        days = [p for p in lake.partitions(oc.DRIFT) if f"{a:%Y-%m-%d}" <= p <= f"{b:%Y-%m-%d}"]
        frames += [lake.read(oc.DRIFT, partition=p).filter(pl.col("period_start").is_between(a, b)) for p in days]
        frames += [lake.read(oc.DRIFT_DAILY, partition=p) for p in lake.partitions(oc.DRIFT_DAILY)
                   if f"{a:%Y-%m-%d}" <= p <= f"{b:%Y-%m-%d}"]
    d = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame(schema=oc.DRIFT_SCHEMA)
    shifts = d.filter(pl.col("shifted")) if d.height else d
    return dg.AssetCheckResult(
        passed=shifts.is_empty(), severity=dg.AssetCheckSeverity.WARN,
        metadata={"tests": d.filter(pl.col("z").is_not_null()).height if d.height else 0, "shifts": shifts.height,
                  "shifts_found": dg.MetadataValue.md(md_table(shifts.select("granularity", "period_start", "agent_version",
                                                                             "metric", "assessment", "reason"), max_rows=30)
                                                      if shifts.height else "_none_")},
    )


# =========================================================================== weekly review
@dg.asset(
    key=["monitoring", "weekly_review"], group_name=GROUP, partitions_def=weekly_partitions,
    kinds={"python", "parquet", "html"},
    description=(
        "WEEKLY WORST-1% REVIEW (weekly partition, Monday-based). Ranks the week's conversations by a "
        "documented badness score (low CSAT, thumbs down, abandonment, escalation, safety, agent errors, "
        "latency outliers, tone) and exports the worst 1% — masked data only, residual-scanned — to "
        "monitoring.review_queue and data/reports/review/<week>.html, with a CSV to fill in labels."
    ),
)
def weekly_review(context: dg.AssetExecutionContext, warehouse: WarehouseResource, monitoring: MonitoringResource,
                  masking: MaskingResource) -> dg.MaterializeResult:
    import duckdb

    from agent_release.monitoring import review as rv
    from agent_release.monitoring.production import register_stream

    week = context.partition_key
    lake = warehouse.lake()
    tw = context.partition_time_window
    start, end = tw.start.astimezone(UTC), tw.end.astimezone(UTC)
    source = monitoring.review_source
    if source == "live":
        con = duckdb.connect()
        register_stream(con, lake, None, tables=monitoring.tables(), start=start, end=end, name="week")
        df = con.sql("SELECT * EXCLUDE (ts) FROM week").pl()
        con.close()
        label = "live traffic (" + ", ".join(monitoring.tables() or ["default live tables"]) + ")"
    else:
        if source.startswith("_raw") or not lake.exists(source):
            raise dg.Failure(f"review source {source!r} is not a masked lake table that exists")
        df = lake.read(source)
        df = df.filter((pl.col("started_at") >= start) & (pl.col("started_at") < end))
        label = source
    residual = None
    if monitoring.review_residual_scan:
        def residual(top: pl.DataFrame) -> set[str]:
            if "masked_spans" not in top.columns:
                return set()
            from agent_release.masking.residual import residual_scan

            found = residual_scan(top.drop("rank"), masking.masker(), masking.residual_min_score)
            return set(found["conversation_id"].unique().to_list())
    res = rv.build_review(df, week, share=monitoring.review_share, source=label, residual=residual)
    queue = res["queue"]
    lake.write(rv.QUEUE, queue, partition=week)
    out = warehouse.paths().reports / "review"
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / f"{week}_labels.csv"
    html_path = out / f"{week}.html"
    html_path.write_text(rv.render_html(queue, week, conversations=df.height, share=monitoring.review_share,
                                        source=label, labels_csv=str(csv_path.name)), encoding="utf-8")
    if not csv_path.exists():
        csv_path.write_text(rv.labels_template(queue), encoding="utf-8")
    warehouse.publish()
    return dg.MaterializeResult(metadata={
        "dagster/row_count": queue.height, "week": week, "conversations_ranked": df.height, "source": label,
        "withheld_by_residual_scan": res["withheld"],
        "html": dg.MetadataValue.path(str(html_path)), "labels_csv": dg.MetadataValue.path(str(csv_path)),
        "worst": dg.MetadataValue.md(md_table(queue.select("rank", "conversation_id", "agent_version", "locale",
                                                           pl.col("score").round(2), "reasons"), max_rows=15)
                                     if queue.height else "_no conversations this week_"),
        "weights": dg.MetadataValue.json(rv.WEIGHTS),
    })


@dg.asset_check(
    asset=weekly_review, blocking=True,
    description=("The export is masked-only: it came from a masked table (never the raw zone), and every "
                 "conversation the residual scan flagged has its transcript withheld."),
)
def review_masked_only(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    from agent_release.monitoring.review import QUEUE

    lake = warehouse.lake()
    week = context.run.tags.get("dagster/partition")
    if not week or week not in lake.partitions(QUEUE):
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR, metadata={"week": str(week)})
    q = lake.read(QUEUE, partition=week)
    raw = q.filter(pl.col("source").str.starts_with("_raw")).height if q.height else 0
    leaked = q.filter(pl.col("withheld") & ~pl.col("transcript_json").str.contains("withheld")).height if q.height else 0
    return dg.AssetCheckResult(passed=raw == 0 and leaked == 0, severity=dg.AssetCheckSeverity.ERROR,
                               metadata={"week": week, "rows": q.height, "from_raw_zone": raw,
                                         "withheld": int(q["withheld"].sum()) if q.height else 0})


def labels_dir(warehouse: WarehouseResource) -> Path:
    return warehouse.paths().data / "review" / "labels"


@dg.asset(
    key=["monitoring", "review_labels"], group_name=GROUP, deps=[weekly_review], kinds={"python", "parquet"},
    description=(
        "Reviewers' labels recorded back: every CSV/JSONL in data/review/labels/ (columns conversation_id, "
        "label good|bad|unsure, category, reviewer, notes) is validated against the review queue into "
        "monitoring.review_labels (notes masked); conversations labelled good become proposed golden cases "
        "(monitoring.golden_proposals and data/reports/review/golden_proposals/<batch>.jsonl) for a person to "
        "complete and merge into the golden set."
    ),
)
def review_labels(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                  masking: MaskingResource) -> dg.MaterializeResult:
    from agent_release.monitoring import review as rv

    lake = warehouse.lake()
    files = sorted(p for p in labels_dir(warehouse).glob("*") if p.suffix.lower() in (".csv", ".jsonl", ".ndjson"))
    from agent_release.evals.findings import as_mask

    mask = as_mask(masking.masker()) if files else None
    rows, proposals = [], 0
    for f in files:
        r = rv.record_labels(lake, f, mask=lambda t: mask(t, "en-US"),
                             proposals_dir=warehouse.paths().reports / "review" / "golden_proposals")
        rows.append((f.name, r["labels"], r["valid"], r["good"], len(r["proposals"]), len(r["problems"])))
        proposals += len(r["proposals"])
        for p in r["problems"][:5]:
            context.log.warning(f"{f.name}: {p['conversation_id']}: {p['problem']}")
    warehouse.publish()
    return dg.MaterializeResult(metadata={
        "files": len(files), "golden_proposals": proposals,
        "batches": dg.MetadataValue.md(md_rows(["file", "labels", "valid", "good", "proposals", "problems"], rows)
                                       if rows else f"_no label files in {labels_dir(warehouse)}_"),
    })


# =========================================================================== SLO
@dg.asset(
    key=["monitoring", "slo_status"], group_name=GROUP, kinds={"duckdb", "markdown"},
    description=(
        "Published SLOs per production agent (availability, p95 latency, resolution rate; "
        "agent_release/monitoring/slo.yaml) with error budgets and multi-window burn-rate alerts (fast: "
        "1h & 5m at 14.4x, slow: 6h & 30m at 6x), computed in DuckDB from the masked live traffic; the "
        "SLO document per agent is written to data/reports/slo/<agent>.md. A newly firing alert goes to the webhook."
    ),
)
def slo_status(context: dg.AssetExecutionContext, warehouse: WarehouseResource, monitoring: MonitoringResource,
               alert_webhook: AlertWebhookResource) -> dg.MaterializeResult:
    import duckdb

    from agent_release.monitoring import slo
    from agent_release.monitoring.production import register_stream

    lake = warehouse.lake()
    cfg = slo.load_config(monitoring.slo_config or None)
    agents = monitoring.agents(lake)
    versions = [a.version for a in agents]
    con = duckdb.connect()
    register_stream(con, lake, versions, tables=monitoring.tables())
    res = slo.compute(con, versions, cfg)
    con.close()
    status, episodes = res["status"], res["alerts"]
    previous = lake.read(slo.STATUS) if lake.exists(slo.STATUS) else pl.DataFrame()
    if status.height:  # (no live data yet: keep the tables as they are)
        lake.write(slo.STATUS, status, replace_all=True)
        lake.write(slo.ALERTS, episodes, replace_all=True)
    out = warehouse.paths().reports / "slo"
    out.mkdir(parents=True, exist_ok=True)
    for v in versions:
        (out / f"{v}.md").write_text(slo.render_document(v, status, episodes, cfg), encoding="utf-8")
    warehouse.publish()
    # alert on newly firing burn alerts (idempotent: compared with the previous status)
    if status.height:
        was = {(r["agent_version"], r["slo"]): r for r in previous.iter_rows(named=True)} if previous.height else {}
        for r in status.iter_rows(named=True):
            for a in slo.burn_alerts(cfg):
                col = f"{a.name}_burn_alert"
                if r.get(col) and not (was.get((r["agent_version"], r["slo"])) or {}).get(col):
                    alert_webhook.notify({
                        "text": f"[agent_release] SLO {a.name} burn ({a.severity}): {r['agent_version']} {r['slo']} "
                                f"burning {r[f'burn_rate_{a.long_window_minutes}m']:.1f}x over {a.long_window_minutes} min",
                        "kind": "slo_burn", "agent_version": r["agent_version"], "slo": r["slo"],
                        "alert": a.name, "severity": a.severity}, logger=context.log)
    cols = ["agent_version", "slo", "target", "sli", "budget_consumed", "burn_rate_60m", "burn_rate_360m", "status"]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": status.height, "as_of": str(res["as_of"]),
        "status": dg.MetadataValue.md(md_table(status.select([c for c in cols if c in status.columns]))
                                      if status.height else "_no live data_"),
        "alert_episodes": episodes.height,
        "documents": dg.MetadataValue.path(str(out)),
    })


@dg.asset_check(
    asset=slo_status,
    description=("No SLO is burning: ERROR on a fast burn or an exhausted budget, WARN on a slow burn."),
)
def slo_not_burning(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    from agent_release.monitoring.slo import STATUS

    lake = warehouse.lake()
    st = lake.read(STATUS) if lake.exists(STATUS) else pl.DataFrame()
    bad = st.filter(pl.col("status") != "OK") if st.height else st
    severe = bad.filter(pl.col("status").str.contains("fast|EXHAUSTED")) if bad.height else bad
    return dg.AssetCheckResult(
        passed=bad.is_empty(),
        severity=dg.AssetCheckSeverity.ERROR if severe.height else dg.AssetCheckSeverity.WARN,
        metadata={"burning": dg.MetadataValue.md(md_table(bad.select("agent_version", "slo", "status")) if bad.height
                                                 else "_none_")},
    )


# =========================================================================== re-evaluation
@dg.asset(
    key=["monitoring", "full_reevaluation"], group_name=GROUP, kinds={"python", "parquet"},
    freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(days=90), warn_window=timedelta(days=76)),
    description=(
        "Full re-evaluation of every production agent — due at least every 90 days (freshness policy; "
        "overdue shows as failing): full golden set, adversarial corpus, scenario battery and a replay of "
        "production traffic, judged by the pre-prod gate's four criteria against the release's budgets and "
        "the blessed baseline (see agent_release/monitoring/reevaluation.py)."
    ),
)
def full_reevaluation(context: dg.AssetExecutionContext, warehouse: WarehouseResource, monitoring: MonitoringResource,
                      masking: MaskingResource) -> dg.MaterializeResult:
    from agent_release.evals.findings import as_mask
    from agent_release.monitoring import reevaluation as rev

    lake = warehouse.lake()
    agents = monitoring.agents(lake)
    frames = []
    for a in agents:
        frames.append(rev.reevaluate(lake, a, baselines_dir=monitoring.baselines(),
                                     latency_scale=monitoring.latency_scale, mask=as_mask(masking.masker())))
        context.log.info(f"{a.version}: re-evaluation {frames[-1]['verdict'][0]}")
    df = pl.concat(frames, how="vertical_relaxed")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    lake.write(rev.REEVALUATIONS, df, partition=stamp)
    warehouse.publish()
    return dg.MaterializeResult(metadata={
        "dagster/row_count": df.height,
        "verdicts": dg.MetadataValue.md(md_table(df.select("agent_version", "criterion", "passed", "reason"), max_rows=20)),
    })


@dg.asset_check(
    asset=full_reevaluation,
    description=("Every current production agent has a full re-evaluation younger than 90 days, and it "
                 "passed (a newly promoted agent without one is overdue)."),
)
def production_agents_reevaluated(warehouse: WarehouseResource, monitoring: MonitoringResource) -> dg.AssetCheckResult:
    from agent_release.monitoring import reevaluation as rev

    lake = warehouse.lake()
    agents = monitoring.agents(lake)
    status = rev.overdue(lake, agents)
    failed = []
    if lake.exists(rev.REEVALUATIONS):
        last = lake.read(rev.REEVALUATIONS).sort("evaluated_at").group_by("agent_version").agg(pl.col("verdict").last())
        failed = last.filter(pl.col("verdict") != "PASS")["agent_version"].to_list()
    rows = [(s["agent_version"], str(s["last_reevaluated"])[:19] if s["last_reevaluated"] else "never",
             f"{s['age_days']:.0f}" if s["age_days"] is not None else "-", "OVERDUE" if s["overdue"] else "ok",
             "FAIL" if s["agent_version"] in failed else "")
            for s in status]
    return dg.AssetCheckResult(
        passed=not any(s["overdue"] for s in status) and not (set(failed) & {a.version for a in agents}),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"agents": dg.MetadataValue.md(md_rows(["agent", "last re-evaluation", "age (days)", "due", "verdict"], rows))},
    )


with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    reevaluation_freshness_checks = dg.build_last_update_freshness_checks(
        assets=[full_reevaluation], lower_bound_delta=timedelta(days=90), severity=dg.AssetCheckSeverity.ERROR,
    )


# =========================================================================== audit
@dg.asset(
    key=["monitoring", "exit_criteria_audit"], group_name=GROUP, kinds={"python", "duckdb", "markdown"},
    description=(
        "Audit: each production agent's live data (last soak-length window) evaluated against the written "
        "canary exit-criteria document of its release — guardrails, minimum soak, non-inferiority on the "
        "exit metrics, segments — and whether it would pass today (monitoring.audit, "
        "data/reports/audit/<agent>.md; the same as `agent-release audit`)."
    ),
)
def exit_criteria_audit(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                        monitoring: MonitoringResource) -> dg.MaterializeResult:
    from agent_release.monitoring import audit as au

    lake = warehouse.lake()
    agents = monitoring.agents(lake)
    audits = au.audit_all(lake, warehouse.paths(), agents, stream_tables=monitoring.tables())
    df = au.frame(audits)
    if df.height:
        lake.write(au.AUDIT, df, replace_all=True)
    out = warehouse.paths().reports / "audit"
    out.mkdir(parents=True, exist_ok=True)
    for a in audits:
        (out / f"{a.agent_version}.md").write_text(a.to_markdown(), encoding="utf-8")
        context.log.info(a.to_text())
    warehouse.publish()
    return dg.MaterializeResult(metadata={
        "dagster/row_count": df.height,
        "verdicts": dg.MetadataValue.md("\n".join(f"- **{a.agent_version}**: {a.verdict}" for a in audits)),
        "criteria": dg.MetadataValue.md(md_table(df.select("agent_version", "section", "criterion", "value", "status"),
                                                 max_rows=40) if df.height else "_none_"),
        "reports": dg.MetadataValue.path(str(out)),
    })


@dg.asset_check(asset=exit_criteria_audit,
                description="Every production agent would still pass its canary exit criteria today (WARN otherwise).")
def production_agents_pass_exit_criteria(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    from agent_release.monitoring.audit import AUDIT

    lake = warehouse.lake()
    df = lake.read(AUDIT) if lake.exists(AUDIT) else pl.DataFrame()
    verdicts = df.select("agent_version", "verdict").unique().sort("agent_version") if df.height else df
    ok = bool(verdicts.height) and all(v.startswith("WOULD PASS") for v in verdicts["verdict"].to_list())
    return dg.AssetCheckResult(passed=ok, severity=dg.AssetCheckSeverity.WARN,
                               metadata={"verdicts": dg.MetadataValue.md(md_table(verdicts) if verdicts.height else "_none_")})


# =========================================================================== jobs, schedules, sensors
def _job(name: str, assets, checks, description: str, **kw):
    """An asset job over ``assets`` with exactly ``checks`` (the freshness checks are evaluated by the
    monitoring_freshness_checks sensor, not by the jobs)."""
    sel = dg.AssetSelection.assets(*assets).without_checks()
    if checks:
        sel = sel | dg.AssetSelection.checks(*checks)
    return dg.define_asset_job(name, selection=sel, description=description, **kw)


nightly_job = _job("monitoring_nightly", [nightly_regression], [nightly_no_regression],
                   "Nightly regression of the production agent(s) (one night = one daily partition).")
outcomes_job = _job("monitoring_outcomes", [hourly_outcomes], [outcome_shifts], "Hourly live outcomes and seasonal drift.")
review_job = _job("monitoring_weekly_review", [weekly_review], [review_masked_only], "Weekly worst-1% review export.")
labels_job = _job("monitoring_review_labels", [review_labels], [], "Record reviewers' labels; propose golden cases.")
slo_job = _job("monitoring_slo", [slo_status], [slo_not_burning], "SLO status, error budgets and burn-rate alerts.")
audit_job = _job("monitoring_audit", [exit_criteria_audit], [production_agents_pass_exit_criteria],
                 "Audit production agents against their exit criteria.")
reevaluation_job = _job("monitoring_reevaluation", [full_reevaluation], [production_agents_reevaluated],
                        "Full re-evaluation of production agents.")
JOBS = [nightly_job, outcomes_job, review_job, labels_job, slo_job, audit_job, reevaluation_job]


def last_complete(partitions_def, when: datetime) -> str | None:
    """The newest partition whose window has ended at ``when`` (the one a schedule tick processes)."""
    keys = partitions_def.get_partition_keys(current_time=when)
    return keys[-1] if keys else None


@dg.schedule(job=nightly_job, cron_schedule=os.environ.get("AGENT_RELEASE_NIGHTLY_CRON", "0 2 * * *"),
             execution_timezone=TZ, name="monitoring_nightly_schedule",
             description="Nightly regression (default 02:00, $AGENT_RELEASE_NIGHTLY_CRON) of the night that just ended, full suites.")
def nightly_schedule(context: dg.ScheduleEvaluationContext):
    key = last_complete(nightly_partitions, context.scheduled_execution_time)
    if key is None:
        return dg.SkipReason("no complete night yet")
    return dg.RunRequest(run_key=f"nightly-{key}", partition_key=key)


@dg.schedule(job=outcomes_job, cron_schedule="15 * * * *", execution_timezone=TZ, name="monitoring_outcomes_schedule",
             description="Hourly outcomes and drift of the hour that just ended.")
def outcomes_schedule(context: dg.ScheduleEvaluationContext):
    key = last_complete(hourly_partitions, context.scheduled_execution_time)
    if key is None:
        return dg.SkipReason("no complete hour yet")
    return dg.RunRequest(run_key=f"outcomes-{key}", partition_key=key)


@dg.schedule(job=review_job, cron_schedule=os.environ.get("AGENT_RELEASE_REVIEW_CRON", "0 9 * * 1"),
             execution_timezone=TZ, name="monitoring_weekly_review_schedule",
             description="Weekly worst-1% review (default Monday 09:00, $AGENT_RELEASE_REVIEW_CRON) of last week.")
def weekly_review_schedule(context: dg.ScheduleEvaluationContext):
    key = last_complete(weekly_partitions, context.scheduled_execution_time)
    if key is None:
        return dg.SkipReason("no complete week yet")
    return dg.RunRequest(run_key=f"review-{key}", partition_key=key)


slo_schedule = dg.ScheduleDefinition(name="monitoring_slo_schedule", job=slo_job, cron_schedule="*/5 * * * *",
                                     execution_timezone=TZ, description="SLO burn rates every 5 minutes.")
audit_schedule = dg.ScheduleDefinition(name="monitoring_audit_schedule", job=audit_job, cron_schedule="0 6 * * *",
                                       execution_timezone=TZ, description="Daily exit-criteria audit.")
reevaluation_schedule = dg.ScheduleDefinition(
    name="monitoring_reevaluation_schedule", job=reevaluation_job, cron_schedule="0 3 1 * *", execution_timezone=TZ,
    description="Monthly full re-evaluation (the freshness policy allows 90 days).")


@dg.run_failure_sensor(
    name="monitoring_run_failure_alert", default_status=dg.DefaultSensorStatus.RUNNING, monitored_jobs=JOBS,
    description=("A failed run of a monitoring job (a nightly regression fails its run through the blocking "
                 "nightly_no_regression check) is posted to the alert webhook ($AGENT_RELEASE_ALERT_WEBHOOK; "
                 "none = logged only), with the regressions found for a nightly run."),
)
def run_failure_alert(context: dg.RunFailureSensorContext, alert_webhook: AlertWebhookResource,
                      warehouse: WarehouseResource):
    payload = failure_payload(context.dagster_run, warehouse.lake(),
                              [e.step_key for e in context.get_step_failure_events()])
    context.log.info(payload["text"])
    alert_webhook.notify(payload, logger=context.log)


def failure_payload(run, lake, failed_steps: list[str]) -> dict:
    """Alert payload for a failed run: names and metrics only (no conversation content)."""
    from agent_release.monitoring.nightly import SUMMARY

    part = run.tags.get("dagster/partition")
    regressions = []
    if run.job_name == nightly_job.name and part and part in lake.partitions(SUMMARY):
        s = lake.read(SUMMARY, partition=part).filter(pl.col("regression"))
        regressions = [{"agent_version": r["agent_version"], "suite": r["suite"], "metric": r["metric"],
                        "value": r["value"], "reference_value": r["reference_value"], "reason": r["reason"]}
                       for r in s.iter_rows(named=True)]
    what = (f"{len(regressions)} regression(s): " + "; ".join(f"{r['agent_version']} {r['suite']}" for r in regressions)
            if regressions else f"failed steps: {', '.join(failed_steps) or 'run failure'}")
    return {"text": f"[agent_release] run failed: {run.job_name}" + (f" [{part}]" if part else "") + f" — {what}",
            "kind": "run_failure", "job": run.job_name, "run_id": run.run_id, "partition": part,
            "failed_steps": failed_steps, "regressions": regressions}


with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    freshness_sensor = dg.build_sensor_for_freshness_checks(
        freshness_checks=[*nightly_freshness_checks, *reevaluation_freshness_checks],
        name="monitoring_freshness_checks", minimum_interval_seconds=600,
    )


@dg.sensor(job=labels_job, name="review_labels_sensor", minimum_interval_seconds=120,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="New or changed label files in data/review/labels/ → record them (monitoring_review_labels).")
def review_labels_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    d = labels_dir(warehouse)
    files = sorted(p for p in d.glob("*") if p.suffix.lower() in (".csv", ".jsonl", ".ndjson")) if d.is_dir() else []
    if not files:
        return dg.SkipReason(f"no label files in {d}")
    stamp = max(p.stat().st_mtime for p in files)
    key = f"{len(files)}-{stamp:.0f}"
    if context.cursor == key:
        return dg.SkipReason("no new label files")
    context.update_cursor(key)
    return dg.RunRequest(run_key=f"labels-{key}")


# =========================================================================== make run
def post_deploy_plan(lake, *, now: datetime | None = None) -> list[dict]:
    """The runs that bring monitoring up to date for the data there is (``make run``): the last
    complete night, every hour of live traffic (one ranged run), the newest week of the review
    source, then SLO, re-evaluation and audit."""
    import duckdb

    from agent_release.monitoring.production import register_stream, resolve_production_agents, stream_range

    now = now or datetime.now(UTC)
    plan = []
    night = last_complete(nightly_partitions, now)
    if night is not None:
        plan.append({"job": nightly_job.name, "partition": night,
                     "run_config": {"ops": {"monitoring__nightly_regression": {"config": MAKE_RUN_NIGHTLY}}}})
    agents = resolve_production_agents(lake)
    con = duckdb.connect()
    register_stream(con, lake, [a.version for a in agents])
    lo, hi = stream_range(con)
    con.close()
    if lo is not None:
        keys = hourly_partitions.get_partition_keys(current_time=now)
        first = lo.strftime("%Y-%m-%d-%H:00")
        last = hi.strftime("%Y-%m-%d-%H:00")
        inside = [k for k in keys if first <= k <= last]
        if inside:
            plan.append({"job": outcomes_job.name, "range": (inside[0], inside[-1])})
    if lake.exists("masking.masked_conversations"):
        newest = lake.read("masking.masked_conversations")["started_at"].max()
        if newest is not None:
            wk = weekly_partitions.get_partition_key_for_timestamp(newest.timestamp())
            plan.append({"job": review_job.name, "partition": wk})
    plan += [{"job": slo_job.name}, {"job": reevaluation_job.name}, {"job": audit_job.name}]
    return plan


def run_post_deploy(instance: dg.DagsterInstance | None = None, *, print_fn=print, include_reevaluation: bool = True) -> bool:
    """Materialize post-deployment monitoring for the embedded default (``make run``): runs
    :func:`post_deploy_plan` in process and prints where the results are. True when every run succeeded."""
    import time

    from agent_release.definitions import defs
    from agent_release.warehouse import Lake

    instance = instance or dg.DagsterInstance.ephemeral()
    lake = Lake.default()
    ok = True
    for step in post_deploy_plan(lake):
        if step["job"] == reevaluation_job.name and not include_reevaluation:
            continue
        job = defs.resolve_job_def(step["job"])
        tags = {}
        if "range" in step:
            tags = {"dagster/asset_partition_range_start": step["range"][0],
                    "dagster/asset_partition_range_end": step["range"][1]}
        t0 = time.monotonic()
        res = job.execute_in_process(instance=instance, partition_key=step.get("partition"), tags=tags,
                                     run_config=step.get("run_config"), raise_on_error=False)
        label = step["job"] + (f" [{step['partition']}]" if step.get("partition") else "") + (
            f" [{step['range'][0]} .. {step['range'][1]}]" if "range" in step else "")
        print_fn(f"\n{label}: {'SUCCESS' if res.success else 'FAILURE'} in {time.monotonic() - t0:.0f}s (run {res.run_id[:8]})")
        for ev in res.all_events:
            if ev.event_type_value == "ASSET_CHECK_EVALUATION":
                d = ev.event_specific_data
                mark = "ok  " if d.passed else ("FAIL" if d.severity.value == "ERROR" else "warn")
                print_fn(f"  check {mark} {d.asset_key.to_user_string()}:{d.check_name}")
        ok = ok and res.success
    _print_post_deploy_summary(lake, print_fn)
    return ok


def _print_post_deploy_summary(lake, print_fn) -> None:
    from agent_release.config import paths
    from agent_release.monitoring import nightly as ny

    p = paths()
    print_fn("\nPost-deployment monitoring:")
    if lake.exists(PRODUCTION):
        print_fn("  production: " + ", ".join(f"{r['agent_version']} ({r['reason']})"
                                             for r in lake.read(PRODUCTION).iter_rows(named=True)))
    if lake.exists(ny.SUMMARY):
        night = lake.partitions(ny.SUMMARY)[-1]
        s = lake.read(ny.SUMMARY, partition=night)
        print_fn(f"  nightly regression {night}: {int(s['regression'].sum())} regression(s)")
        for r in s.iter_rows(named=True):
            print_fn(f"    {r['agent_version']} {r['suite']}: {r['reason'][:150]}")
    if lake.exists("monitoring.review_queue"):
        wk = lake.partitions("monitoring.review_queue")[-1]
        print_fn(f"  worst-1% review {wk}: {lake.read('monitoring.review_queue', partition=wk).height} conversations → "
                 f"{p.reports / 'review' / (wk + '.html')}")
    if lake.exists("monitoring.slo_status"):
        for r in lake.read("monitoring.slo_status").iter_rows(named=True):
            print_fn(f"  SLO {r['agent_version']} {r['slo']}: SLI {r['sli']:.2%} (target {r['target']:.0%}), budget "
                     f"consumed {r['budget_consumed']:.0%}, {r['status']} → {p.reports / 'slo' / (r['agent_version'] + '.md')}")
    if lake.exists("monitoring.audit"):
        a = lake.read("monitoring.audit")
        for v in a["agent_version"].unique().sort().to_list():
            rows = a.filter(pl.col("agent_version") == v)
            print_fn(f"  audit {v}: {rows['verdict'][0]} ({int((rows['status'] == 'PASS').sum())} pass, "
                     f"{int((rows['status'] == 'FAIL').sum())} fail, {int((rows['status'] == 'N/A').sum())} n/a) → "
                     f"{p.reports / 'audit' / (v + '.md')}")


defs = dg.Definitions(
    assets=[nightly_regression, hourly_outcomes, weekly_review, review_labels, slo_status, full_reevaluation,
            exit_criteria_audit],
    asset_checks=[nightly_no_regression, *nightly_freshness_checks, outcome_shifts, review_masked_only, slo_not_burning,
                  production_agents_reevaluated, *reevaluation_freshness_checks, production_agents_pass_exit_criteria],
    jobs=JOBS,
    schedules=[nightly_schedule, outcomes_schedule, weekly_review_schedule, slo_schedule, audit_schedule,
               reevaluation_schedule],
    sensors=[run_failure_alert, freshness_sensor, review_labels_sensor],
    resources={"monitoring": MonitoringResource(), "alert_webhook": AlertWebhookResource()},
)
