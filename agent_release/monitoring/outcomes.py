"""Continuous outcome tracking: hourly live outcomes and drift against a seasonal baseline.

Hourly outcomes (:func:`hourly_outcomes`, DuckDB SQL over the production stream)
-------------------------------------------------------------------------------
Per UTC hour and production agent (plus ``agent_version = '*'`` for all production agents
together): conversations, resolution / escalation / abandonment rates (of conversations with an
outcome), error rate (conversations with an assistant error), CSAT (mean of rated conversations),
cost per conversation and per resolution, thumbs-down rate, safety incidents, latency p50/p95 of
assistant turns. The additive sums (counts, sums and sums of squares) are kept so hours add up to
days and weeks.

Drift against a seasonal baseline (:func:`seasonal_drift`)
---------------------------------------------------------
Support traffic has a strong daily and weekly rhythm (Monday mornings are not Sunday nights), so an
hour is compared with **the same hour of the same weekday over the previous ``weeks`` weeks**
(default 4; as few as 1 is used when that is all the history there is), pooled:

* rates (resolution, escalation, abandonment, error): two-proportion z,
  ``z = (p − p0) / sqrt(p̄(1 − p̄)(1/n + 1/N) + v_b)`` with ``p0 = X/N`` the pooled baseline rate and
  ``p̄`` the rate of both together;
* means (CSAT, cost per conversation): ``z = (m − M) / sqrt(s²/n + S²/N + v_b)`` (standard deviations
  from the stored sums of squares);
* volume (conversations per hour, all agents together only — a rollout moves volume between agents):
  Poisson, ``z = (x − λ) / sqrt((λ + v_b)(1 + 1/K))`` with ``λ`` the mean of the K baseline weeks.

``v_b`` is the **between-week variance** beyond sampling noise (method of moments, floored at 0),
estimated once at least 3 baseline weeks exist — so ordinary week-to-week wobble does not alert.
A **shift** is ``|z| ≥ z_threshold`` (default 4.0: two-sided p ≈ 6e-5, about a family-wise 7%
over a week of hourly tests of 7 metrics) with at least ``min_n`` observations on both sides.
The same test runs per **day** (the 24 hours of a day vs the same weekday of previous weeks), which
sees sustained shifts (a campaign, a season, a slow regression) that single hours are too small for.
Every test is a row of ``monitoring.outcome_drift`` (hours) / ``monitoring.outcome_drift_daily``
(days) with the values, the baseline, z, p and the verdict; shifts are surfaced in the asset check.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import duckdb
import polars as pl

from agent_release.monitoring._sql import q

HOURLY = "monitoring.hourly_outcomes"
DRIFT = "monitoring.outcome_drift"
DRIFT_DAILY = "monitoring.outcome_drift_daily"
ALL = "*"

#: metric -> (kind, numerator, denominator, sum of squares, worse direction)
METRICS: dict[str, tuple[str, str, str | None, str | None, int]] = {
    "resolution_rate": ("rate", "resolved", "outcomes", None, -1),
    "escalation_rate": ("rate", "escalated", "outcomes", None, +1),
    "abandonment_rate": ("rate", "abandoned", "outcomes", None, +1),
    "error_rate": ("rate", "error_conversations", "conversations", None, +1),
    "csat": ("mean", "csat_sum", "csat_n", "csat_sumsq", -1),
    "cost_per_conversation": ("mean", "cost_usd", "conversations", "cost_sumsq", +1),
    "volume": ("count", "conversations", None, None, 0),
}
SUM_COLS = ("conversations", "outcomes", "resolved", "escalated", "abandoned", "error_conversations", "csat_n",
            "csat_sum", "csat_sumsq", "cost_usd", "cost_sumsq", "thumbs", "thumbs_down", "safety_incidents",
            "assistant_turns")


def hourly_outcomes(con: duckdb.DuckDBPyConnection, stream: str = "production_stream", *,
                    start: datetime | None = None, end: datetime | None = None) -> pl.DataFrame:
    """One row per (hour, agent) and per hour for all agents (``'*'``), from the stream view."""
    where, params = ["TRUE"], []
    if start is not None:
        where.append("ts >= ?")
        params.append(start.replace(tzinfo=None))
    if end is not None:
        where.append("ts < ?")
        params.append(end.replace(tzinfo=None))
    w = " AND ".join(where)
    conv = q(
        con,
        f"""
        WITH c AS (
          SELECT date_trunc('hour', ts) AS hour, agent_version,
                 outcome IS NOT NULL AS has_outcome,
                 (outcome = 'resolved')::INTEGER AS resolved,
                 (outcome = 'escalated')::INTEGER AS escalated,
                 (outcome = 'abandoned')::INTEGER AS abandoned,
                 coalesce(list_bool_or(list_transform(messages, lambda m: m.error IS NOT NULL)), FALSE)::INTEGER AS err,
                 coalesce(list_sum(list_transform(messages, lambda m: m.cost_usd)), 0.0) AS cost,
                 csat::DOUBLE AS csat,
                 CASE thumb WHEN 'down' THEN 1 WHEN 'up' THEN 0 END AS down,
                 coalesce(TRY_CAST(json_extract_string(extra_json, '$.safety_incident') AS INTEGER), 0) AS safety,
                 len(list_filter(messages, lambda m: m.role = 'assistant')) AS turns
          FROM {stream} WHERE {w}
        )
        SELECT hour, coalesce(agent_version, '{ALL}') AS agent_version,
               count(*) AS conversations, sum(has_outcome::INTEGER) AS outcomes,
               sum(resolved) AS resolved, sum(escalated) AS escalated, sum(abandoned) AS abandoned,
               sum(err) AS error_conversations, count(csat) AS csat_n,
               coalesce(sum(csat), 0) AS csat_sum, coalesce(sum(csat * csat), 0) AS csat_sumsq,
               round(sum(cost), 8) AS cost_usd, round(sum(cost * cost), 12) AS cost_sumsq,
               count(down) AS thumbs, coalesce(sum(down), 0) AS thumbs_down,
               sum(safety) AS safety_incidents, sum(turns) AS assistant_turns
        FROM c GROUP BY GROUPING SETS ((hour, agent_version), (hour))
        """, params)
    lat = q(
        con,
        f"""
        WITH t AS (
          SELECT date_trunc('hour', ts) AS hour, agent_version,
                 unnest(list_transform(list_filter(messages, lambda m: m.role = 'assistant' AND m.latency_ms IS NOT NULL),
                                       lambda m: m.latency_ms)) AS latency_ms
          FROM {stream} WHERE {w}
        )
        SELECT hour, coalesce(agent_version, '{ALL}') AS agent_version,
               quantile_cont(latency_ms, 0.5) AS latency_p50_ms, quantile_cont(latency_ms, 0.95) AS latency_p95_ms
        FROM t GROUP BY GROUPING SETS ((hour, agent_version), (hour))
        """, params)
    if conv.is_empty():
        return pl.DataFrame(schema=HOURLY_SCHEMA)
    out = conv.join(lat, on=["hour", "agent_version"], how="left")
    return with_rates(out).select(list(HOURLY_SCHEMA)).cast(HOURLY_SCHEMA).sort("hour", "agent_version")


def with_rates(df: pl.DataFrame) -> pl.DataFrame:
    def ratio(a: str, b: str) -> pl.Expr:
        return pl.when(pl.col(b) > 0).then(pl.col(a) / pl.col(b)).otherwise(None)
    return df.with_columns(
        ratio("resolved", "outcomes").alias("resolution_rate"),
        ratio("escalated", "outcomes").alias("escalation_rate"),
        ratio("abandoned", "outcomes").alias("abandonment_rate"),
        ratio("error_conversations", "conversations").alias("error_rate"),
        ratio("csat_sum", "csat_n").alias("csat_mean"),
        ratio("cost_usd", "conversations").alias("cost_per_conversation"),
        ratio("cost_usd", "resolved").alias("cost_per_resolution"),
        ratio("thumbs_down", "thumbs").alias("thumbs_down_rate"),
    )


HOURLY_SCHEMA: dict[str, pl.DataType] = {
    "hour": pl.Datetime("us"), "agent_version": pl.String,
    **{c: (pl.Float64 if c in ("csat_sum", "csat_sumsq", "cost_usd", "cost_sumsq") else pl.Int64) for c in SUM_COLS},
    "resolution_rate": pl.Float64, "escalation_rate": pl.Float64, "abandonment_rate": pl.Float64,
    "error_rate": pl.Float64, "csat_mean": pl.Float64, "cost_per_conversation": pl.Float64,
    "cost_per_resolution": pl.Float64, "thumbs_down_rate": pl.Float64,
    "latency_p50_ms": pl.Float64, "latency_p95_ms": pl.Float64,
}

DRIFT_SCHEMA: dict[str, pl.DataType] = {
    "granularity": pl.String, "period_start": pl.Datetime("us"), "weekday": pl.String, "agent_version": pl.String,
    "metric": pl.String, "value": pl.Float64, "n": pl.Int64, "baseline_value": pl.Float64, "baseline_n": pl.Int64,
    "baseline_weeks": pl.Int64, "between_week_sd": pl.Float64, "z": pl.Float64, "p_value": pl.Float64,
    "shifted": pl.Boolean, "direction": pl.String, "assessment": pl.String, "reason": pl.String,
}


def daily_from_hourly(hourly: pl.DataFrame) -> pl.DataFrame:
    """Add the hours of each (day, agent); ``hours`` counts the hours present."""
    if hourly.is_empty():
        return hourly.rename({"hour": "day"}).with_columns(pl.lit(0).alias("hours"))
    return (hourly.with_columns(pl.col("hour").dt.truncate("1d").alias("day"))
            .group_by("day", "agent_version").agg(*[pl.col(c).sum() for c in SUM_COLS], pl.len().alias("hours"))
            .sort("day", "agent_version"))


def _between_var(values: list[float], sampling_vars: list[float]) -> float:
    if len(values) < 3:
        return 0.0
    m = sum(values) / len(values)
    s2 = sum((v - m) ** 2 for v in values) / (len(values) - 1)
    return max(0.0, s2 - sum(sampling_vars) / len(sampling_vars))


def _test(metric: str, cur: dict, weeks: list[dict]) -> dict | None:
    kind, num, den, ss, _ = METRICS[metric]
    if kind == "count":
        x = float(cur["conversations"])
        counts = [float(w["conversations"]) for w in weeks]
        k = len(counts)
        lam = sum(counts) / k
        vb = _between_var(counts, [lam] * k)
        var = (lam + vb) * (1 + 1 / k)
        z = (x - lam) / math.sqrt(var) if var > 0 else 0.0
        return {"value": x, "n": int(x), "baseline_value": lam, "baseline_n": int(sum(counts)), "z": z,
                "between_week_sd": math.sqrt(vb)}
    n = float(cur[den] or 0)
    N = float(sum(w[den] or 0 for w in weeks))
    if n <= 0 or N <= 0:
        return None
    if kind == "rate":
        x, X = float(cur[num] or 0), float(sum(w[num] or 0 for w in weeks))
        p, p0 = x / n, X / N
        pbar = (x + X) / (n + N)
        rates = [w[num] / w[den] for w in weeks if w[den]]
        vb = _between_var(rates, [r * (1 - r) / w[den] for r, w in zip(rates, [w for w in weeks if w[den]], strict=True)])
        var = pbar * (1 - pbar) * (1 / n + 1 / N) + vb
        z = (p - p0) / math.sqrt(var) if var > 0 else 0.0
        return {"value": p, "n": int(n), "baseline_value": p0, "baseline_n": int(N), "z": z,
                "between_week_sd": math.sqrt(vb)}
    s, S = float(cur[num] or 0), float(sum(w[num] or 0 for w in weeks))
    q, Q = float(cur[ss] or 0), float(sum(w[ss] or 0 for w in weeks))
    m, M = s / n, S / N
    v1 = max(0.0, (q - s * s / n) / (n - 1)) if n > 1 else 0.0
    v0 = max(0.0, (Q - S * S / N) / (N - 1)) if N > 1 else 0.0
    means = [w[num] / w[den] for w in weeks if w[den]]
    svars = [v0 / w[den] for w in weeks if w[den]]
    vb = _between_var(means, svars)
    var = v1 / n + v0 / N + vb
    z = (m - M) / math.sqrt(var) if var > 0 else 0.0
    return {"value": m, "n": int(n), "baseline_value": M, "baseline_n": int(N), "z": z, "between_week_sd": math.sqrt(vb)}


def seasonal_drift(table: pl.DataFrame, targets: pl.DataFrame, *, time_col: str = "hour", granularity: str = "hour",
                   weeks: int = 4, z_threshold: float = 4.0, min_n: int = 30) -> pl.DataFrame:
    """Test every metric of every row of ``targets`` against the same period of the previous
    ``weeks`` weeks found in ``table`` (same agent). Rows without any baseline week are reported
    with ``baseline_weeks = 0`` and no test."""
    idx = {(r[time_col], r["agent_version"]): r for r in table.iter_rows(named=True)}
    rows = []
    for cur in targets.iter_rows(named=True):
        t, agent = cur[time_col], cur["agent_version"]
        base = [idx[(t - timedelta(days=7 * k), agent)] for k in range(1, weeks + 1)
                if (t - timedelta(days=7 * k), agent) in idx]
        for metric, (kind, num, den, _, worse) in METRICS.items():
            if metric == "volume" and agent != ALL:
                continue
            row = {"granularity": granularity, "period_start": t, "weekday": t.strftime("%a"), "agent_version": agent,
                   "metric": metric, "baseline_weeks": len(base), "shifted": False, "direction": None,
                   "assessment": None, "value": None, "n": None, "baseline_value": None, "baseline_n": None,
                   "between_week_sd": None, "z": None, "p_value": None}
            if not base:
                row["reason"] = "no baseline yet (no earlier week with this hour)"
                rows.append(row)
                continue
            res = _test(metric, cur, base)
            if res is None:
                row["reason"] = "no observations"
                rows.append(row)
                continue
            row.update(res)
            z = res["z"]
            row["p_value"] = math.erfc(abs(z) / math.sqrt(2))
            enough = kind == "count" or (res["n"] >= min_n and res["baseline_n"] >= min_n)
            row["shifted"] = bool(enough and abs(z) >= z_threshold)
            row["direction"] = "up" if z > 0 else ("down" if z < 0 else "flat")
            if row["shifted"]:
                row["assessment"] = ("shift" if worse == 0 else ("worse" if (z > 0) == (worse > 0) else "better"))
            when = t.strftime("%a %Y-%m-%d %H:00") if granularity == "hour" else t.strftime("%a %Y-%m-%d")
            row["reason"] = (f"{metric} {_fmt(metric, res['value'])} vs {_fmt(metric, res['baseline_value'])} on "
                             f"{len(base)} previous {when.split()[0]}(s) at this {'hour' if granularity == 'hour' else 'day'}; "
                             f"z={z:+.1f}" + ("" if enough else f" (fewer than {min_n} observations: not tested)"))
            if row["shifted"]:
                row["reason"] = f"SHIFT ({row['assessment']}) {when}: " + row["reason"]
            rows.append(row)
    return pl.DataFrame(rows, schema=DRIFT_SCHEMA, strict=False) if rows else pl.DataFrame(schema=DRIFT_SCHEMA)


def _fmt(metric: str, v: float | None) -> str:
    if v is None:
        return "n/a"
    if metric.endswith("_rate"):
        return f"{v:.1%}"
    if metric == "cost_per_conversation":
        return f"${v:.4f}"
    if metric == "volume":
        return f"{v:.0f}/h"
    return f"{v:.2f}"


def track(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime, *, weeks: int = 4,
          z_threshold: float = 4.0, min_n: int = 30, stream: str = "production_stream") -> dict[str, pl.DataFrame]:
    """Hourly outcomes for [start, end) and their drift (hourly, and daily for the days whose last
    hour falls in the window), the baseline recomputed from the stream's previous ``weeks`` weeks."""
    start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
    hist_start = start - timedelta(days=7 * weeks)
    allh = hourly_outcomes(con, stream, start=hist_start, end=end)
    cur = allh.filter((pl.col("hour") >= start) & (pl.col("hour") < end))
    drift = seasonal_drift(allh, cur, weeks=weeks, z_threshold=z_threshold, min_n=min_n)
    days = daily_from_hourly(allh)
    last_hours = {h.replace(hour=0) for h in cur["hour"].to_list() if h.hour == 23}
    target_days = days.filter(pl.col("day").is_in(sorted(last_hours)) & (pl.col("hours") == 24)) if last_hours else days.head(0)
    drift_daily = seasonal_drift(days, target_days, time_col="day", granularity="day", weeks=weeks,
                                 z_threshold=z_threshold, min_n=min_n)
    return {"hourly": cur, "drift": drift, "drift_daily": drift_daily}


# --------------------------------------------------------------------------- storage
def write_hours(lake, table: str, frame: pl.DataFrame, hours: list[datetime], *, time_col: str, locks_dir) -> list[str]:
    """Write the rows of ``hours`` into one lake file per UTC day (``YYYY-MM-DD``): the day's file is
    read, those hours' rows replaced, and written back atomically under a file lock — re-running an
    hour replaces exactly that hour, and a 14-day backfill writes 14 files, not 336."""
    import contextlib
    import fcntl

    by_day: dict[str, list[datetime]] = {}
    for h in hours:
        by_day.setdefault(h.strftime("%Y-%m-%d"), []).append(h)
    locks_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with open(locks_dir / f"{table}.lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            for day, hs in sorted(by_day.items()):
                new = frame.filter(pl.col(time_col).is_in(hs))
                if day in lake.partitions(table):
                    old = lake.read(table, partition=day).filter(~pl.col(time_col).is_in(hs))
                    with contextlib.suppress(Exception):
                        old = old.select(new.columns).cast(new.schema)
                    new = pl.concat([old, new], how="diagonal_relaxed").sort(time_col)
                lake.write(table, new, partition=day)
                written.append(day)
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return written
