"""Published SLOs per production agent: error budgets and multi-window burn-rate alerts, in DuckDB SQL.

Objectives (``slo.yaml`` next to this module; defaults for every agent, overrides per version)
--------------------------------------------------------------------------------------------
Each SLO is a ratio SLI over a rolling ``period_days`` (default 30):

* **availability** — conversations without an assistant error / conversations (error rate ≤ 1 − target);
* **latency** — assistant turns answered within ``threshold_ms`` / assistant turns; target 0.95 means
  "p95 reply latency ≤ threshold";
* **resolution** — resolved conversations / conversations with an outcome.

Error budget = ``1 − target`` of the period's events; ``budget_consumed`` = bad events / (budget ×
events) over the period so far (1.0 = exhausted). With less data than a period (the embedded
default has 14 simulated days) the figures cover the data there is (``coverage_days``).

Burn-rate alerts (Google SRE workbook, "Alerting on SLOs", multiwindow multi-burn-rate)
--------------------------------------------------------------------------------------
``burn rate(w)`` = bad fraction over window ``w`` / (1 − target): 1.0 uses exactly the budget over
the period. An alert fires at minute ``t`` when **both** windows ending at ``t`` burn at least
``burn_rate``:

* **fast** (page): 1 h and 5 min at 14.4× — 2% of a 30-day budget gone in an hour;
* **slow** (ticket): 6 h and 30 min at 6× — 5% of the budget gone in six hours.

The long window gives significance, the short one makes the alert reset soon after the burn stops;
no alert fires before the long window is fully covered by data (start-up artefacts).
Everything is computed in DuckDB: per-minute good/bad counts per agent and SLI, window sums with
``RANGE BETWEEN INTERVAL … PRECEDING`` frames, alert minutes grouped into episodes
(gaps-and-islands). The status is read at ``as_of`` (the newest data: data time, so the embedded
simulation reads as if it were live). A burn rate above ``1 / (1 − target)`` is impossible, so an SLO
with a large budget (resolution, 35%) can only ever fire the slow alert if it burns 6× and never the
fast one at 14.4× — its budget, not its alerts, is what matters.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import yaml

from agent_release.monitoring._sql import q

STATUS = "monitoring.slo_status"
ALERTS = "monitoring.slo_alerts"
SLOS = ("availability", "latency", "resolution")


@dataclass(frozen=True)
class BurnAlert:
    name: str
    severity: str
    long_window_minutes: int
    short_window_minutes: int
    burn_rate: float


@dataclass(frozen=True)
class Objective:
    slo: str
    target: float
    description: str
    threshold_ms: float | None = None


def load_config(path: str | Path | None = None) -> dict:
    p = Path(path) if path else Path(__file__).with_name("slo.yaml")
    cfg = yaml.safe_load(p.read_text(encoding="utf-8"))
    for name in cfg["defaults"]:
        if name not in SLOS:
            raise ValueError(f"slo.yaml: defaults.{name}: unknown SLO (one of {', '.join(SLOS)})")
    return cfg


def objectives(cfg: dict, agent: str) -> list[Objective]:
    merged = copy.deepcopy(cfg["defaults"])
    for name, over in (cfg.get("agents") or {}).get(agent, {}).items():
        merged.setdefault(name, {}).update(over)
    out = []
    for name in SLOS:
        o = merged.get(name)
        if not o:
            continue
        t = float(o["target"])
        if not 0 < t < 1:
            raise ValueError(f"slo.yaml: {agent}.{name}.target must be between 0 and 1")
        out.append(Objective(name, t, o.get("description", ""), o.get("threshold_ms")))
    return out


def burn_alerts(cfg: dict) -> list[BurnAlert]:
    return [BurnAlert(**a) for a in cfg["burn_rate_alerts"]]


def _events_sql(obj: Objective, stream: str) -> str:
    if obj.slo == "availability":
        return (f"SELECT agent_version, ts, "
                f"coalesce(list_bool_or(list_transform(messages, lambda m: m.error IS NOT NULL)), FALSE)::INTEGER AS bad "
                f"FROM {stream}")
    if obj.slo == "resolution":
        return f"SELECT agent_version, ts, (outcome <> 'resolved')::INTEGER AS bad FROM {stream} WHERE outcome IS NOT NULL"
    thr = float(obj.threshold_ms or 2500)
    return (f"SELECT agent_version, ts, (l > {thr})::INTEGER AS bad FROM ("
            f"SELECT agent_version, ts, unnest(list_transform(list_filter(messages, lambda m: m.role = 'assistant' "
            f"AND m.latency_ms IS NOT NULL), lambda m: m.latency_ms)) AS l FROM {stream})")


def compute(con: duckdb.DuckDBPyConnection, agents: list[str], cfg: dict, *, as_of: datetime | None = None,
            stream: str = "production_stream") -> dict[str, Any]:
    """SLO status rows (one per agent × SLO), alert episodes, and the per-minute burn timeline."""
    alerts = burn_alerts(cfg)
    period = int(cfg.get("period_days", 30))
    if as_of is None:
        as_of = con.execute(f"SELECT max(ts) FROM {stream}").fetchall()[0][0]
    if as_of is None:
        return {"status": pl.DataFrame(schema=STATUS_SCHEMA), "alerts": pl.DataFrame(schema=ALERT_SCHEMA),
                "as_of": None}
    as_of = as_of.replace(tzinfo=None)
    start = as_of - timedelta(days=period)
    con.execute("CREATE OR REPLACE TEMP TABLE slo_minutes (agent_version VARCHAR, slo VARCHAR, target DOUBLE, "
                "minute TIMESTAMP, total BIGINT, bad BIGINT)")
    objs: dict[tuple[str, str], Objective] = {}
    for agent in agents:
        for o in objectives(cfg, agent):
            objs[(agent, o.slo)] = o
            con.execute(
                f"""INSERT INTO slo_minutes
                SELECT agent_version, ?, ?, date_trunc('minute', ts), count(*), sum(bad)
                FROM ({_events_sql(o, stream)}) WHERE agent_version = ? AND ts >= ? AND ts <= ?
                GROUP BY ALL""", [o.slo, o.target, agent, start, as_of])
    windows = sorted({m for a in alerts for m in (a.long_window_minutes, a.short_window_minutes)})
    win_cols = ",\n".join(
        f"sum(bad) OVER w{m} / nullif(sum(total) OVER w{m}, 0) / (1 - target) AS burn_{m}m" for m in windows)
    win_defs = ", ".join(
        f"w{m} AS (PARTITION BY agent_version, slo ORDER BY minute RANGE BETWEEN INTERVAL {m - 1} MINUTES PRECEDING "
        "AND CURRENT ROW)" for m in windows)
    # an alert needs its long window fully inside the data (no alerts from a half-empty window at start-up)
    fire = ",\n".join(
        f"(burn_{a.long_window_minutes}m >= {a.burn_rate} AND burn_{a.short_window_minutes}m >= {a.burn_rate} "
        f"AND minute >= first_minute + INTERVAL {a.long_window_minutes - 1} MINUTES) AS alert_{a.name}" for a in alerts)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE slo_burn AS
        SELECT *, {fire} FROM (SELECT agent_version, slo, target, minute, total, bad, {win_cols},
                                      min(minute) OVER (PARTITION BY agent_version, slo) AS first_minute
                               FROM slo_minutes WINDOW {win_defs})""")
    totals = q(con, """SELECT agent_version, slo, any_value(target) AS target, sum(total)::BIGINT AS events, sum(bad)::BIGINT AS bad_events,
                         min(minute) AS first_minute, max(minute) AS last_minute
                       FROM slo_minutes GROUP BY ALL""")
    latest = q(con, "SELECT * FROM slo_burn QUALIFY row_number() OVER (PARTITION BY agent_version, slo ORDER BY minute DESC) = 1")
    episode_frames = []
    for a in alerts:
        episode_frames.append(q(con, f"""
            WITH f AS (SELECT agent_version, slo, minute, burn_{a.long_window_minutes}m AS burn_long,
                              minute - (row_number() OVER (PARTITION BY agent_version, slo ORDER BY minute)) * INTERVAL 1 MINUTE AS grp
                       FROM slo_burn WHERE alert_{a.name})
            SELECT agent_version, slo, '{a.name}' AS alert, '{a.severity}' AS severity, min(minute) AS started,
                   max(minute) + INTERVAL 1 MINUTE AS ended, count(*) AS minutes, max(burn_long) AS max_burn_rate
            FROM f GROUP BY agent_version, slo, grp ORDER BY started"""))
    episodes = (pl.concat(episode_frames, how="vertical_relaxed") if episode_frames else pl.DataFrame(schema=ALERT_SCHEMA))
    rows = []
    for t in totals.iter_rows(named=True):
        key = (t["agent_version"], t["slo"])
        o = objs[key]
        lt = latest.filter((pl.col("agent_version") == key[0]) & (pl.col("slo") == key[1]))
        lt = lt.row(0, named=True) if lt.height else {}
        budget = 1 - o.target
        consumed = (t["bad_events"] / (budget * t["events"])) if t["events"] else None
        ep = episodes.filter((pl.col("agent_version") == key[0]) & (pl.col("slo") == key[1]))
        row = {
            "as_of": as_of, "agent_version": key[0], "slo": key[1], "objective": o.description, "target": o.target,
            "threshold_ms": o.threshold_ms, "period_days": period,
            "coverage_days": round((t["last_minute"] - t["first_minute"]).total_seconds() / 86400 + 1 / 1440, 2),
            "events": t["events"], "bad_events": t["bad_events"],
            "sli": 1 - t["bad_events"] / t["events"] if t["events"] else None,
            "error_budget": budget, "budget_consumed": consumed,
            "budget_remaining": (1 - consumed) if consumed is not None else None,
        }
        for m in windows:
            row[f"burn_rate_{m}m"] = lt.get(f"burn_{m}m")
        for a in alerts:
            row[f"{a.name}_burn_alert"] = bool(lt.get(f"alert_{a.name}") or False)
            e = ep.filter(pl.col("alert") == a.name)
            row[f"{a.name}_alert_minutes"] = int(e["minutes"].sum()) if e.height else 0
            row[f"{a.name}_alert_episodes"] = e.height
        row["status"] = _status(row, alerts)
        rows.append(row)
    status = pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame(schema=STATUS_SCHEMA)
    return {"status": status, "alerts": episodes, "as_of": as_of, "windows": windows}


def _status(row: dict, alerts: list[BurnAlert]) -> str:
    if row["budget_consumed"] is not None and row["budget_consumed"] >= 1:
        return "BUDGET EXHAUSTED"
    firing = [a for a in alerts if row.get(f"{a.name}_burn_alert")]
    if firing:
        return "BURNING: " + ", ".join(f"{a.name} ({a.severity})" for a in firing)
    return "OK"


STATUS_SCHEMA = {"as_of": pl.Datetime("us"), "agent_version": pl.String, "slo": pl.String, "status": pl.String}
ALERT_SCHEMA = {"agent_version": pl.String, "slo": pl.String, "alert": pl.String, "severity": pl.String,
                "started": pl.Datetime("us"), "ended": pl.Datetime("us"), "minutes": pl.Int64,
                "max_burn_rate": pl.Float64}


def _pct(v: float | None, digits: int = 2) -> str:
    return "n/a" if v is None else f"{v * 100:.{digits}f}%"


def render_document(agent: str, status: pl.DataFrame, episodes: pl.DataFrame, cfg: dict) -> str:
    """The published SLO document of one agent (Markdown)."""
    alerts = burn_alerts(cfg)
    st = status.filter(pl.col("agent_version") == agent)
    period = int(cfg.get("period_days", 30))
    as_of = st["as_of"][0] if st.height else None
    lines = [
        f"# Service level objectives — `{agent}`", "",
        f"Status as of {as_of:%Y-%m-%d %H:%M} UTC (newest data). Rolling period: {period} days." if as_of else
        "No data yet.", "",
        "## Objectives", "",
        "| SLO | objective | SLI (good / all events) | target | error budget |", "|---|---|---|---|---|",
    ]
    sli_text = {"availability": "conversations without an agent error / conversations",
                "latency": "agent replies within {thr} ms / agent replies",
                "resolution": "resolved conversations / conversations with an outcome"}
    for o in objectives(cfg, agent):
        lines.append(f"| {o.slo} | {o.description} | {sli_text[o.slo].format(thr=int(o.threshold_ms or 0))} | "
                     f"{_pct(o.target, 1)} | {_pct(1 - o.target, 1)} of events per {period} days |")
    lines += ["", "## Error budget and current burn", "",
              "| SLO | events | SLI | budget consumed | budget remaining | " +
              " | ".join(f"burn {w}m" for w in sorted({m for a in alerts for m in (a.short_window_minutes, a.long_window_minutes)})) +
              " | status |",
              "|---|---|---|---|---|" + "---|" * len({m for a in alerts for m in (a.short_window_minutes, a.long_window_minutes)}) + "---|"]
    wins = sorted({m for a in alerts for m in (a.short_window_minutes, a.long_window_minutes)})
    for r in st.iter_rows(named=True):
        burns = " | ".join("n/a" if r.get(f"burn_rate_{w}m") is None else f"{r[f'burn_rate_{w}m']:.2f}x" for w in wins)
        lines.append(f"| {r['slo']} | {r['events']:,} ({r['coverage_days']:g} days) | {_pct(r['sli'])} | "
                     f"{_pct(r['budget_consumed'], 1)} | {_pct(r['budget_remaining'], 1)} | {burns} | {r['status']} |")
    lines += ["", "## Burn-rate alerts", "",
              "Burn rate = bad fraction in a window / (1 − target); 1.0 spends exactly the budget over the period. "
              "An alert fires when both of its windows burn at least its rate (multiwindow, multi-burn-rate; Google "
              "SRE workbook).", "",
              "| alert | severity | long window | short window | burn rate | budget spent when it fires |",
              "|---|---|---|---|---|---|"]
    for a in alerts:
        spent = a.burn_rate * a.long_window_minutes / (period * 24 * 60)
        lines.append(f"| {a.name} | {a.severity} | {a.long_window_minutes} min | {a.short_window_minutes} min | "
                     f"{a.burn_rate:g}x | {spent:.1%} of the {period}-day budget in {a.long_window_minutes} min |")
    ep = episodes.filter(pl.col("agent_version") == agent) if episodes.height else episodes
    lines += ["", f"Alert episodes in the period: {ep.height}."]
    for r in ep.head(20).iter_rows(named=True):
        lines.append(f"- {r['alert']} ({r['severity']}) on {r['slo']}: {r['started']:%Y-%m-%d %H:%M} – "
                     f"{r['ended']:%H:%M} UTC, {r['minutes']} min, max burn {r['max_burn_rate']:.1f}x")
    lines += ["", "## Error budget policy", "",
              "- Budget remaining > 25%: releases proceed normally (pre-prod gate, canary, staged rollout).",
              "- Budget remaining ≤ 25%: new releases of this agent need an explicit sign-off; reliability work first.",
              "- Budget exhausted: freeze feature releases of this agent until the SLI is back within target over "
              "the period; only fixes and rollbacks ship.",
              "- A fast-burn page is handled immediately (consider a rollback); a slow-burn ticket within a business day.",
              "", "Computed in DuckDB from the masked live conversations (`monitoring.slo_status`, `monitoring.slo_alerts`).", ""]
    return "\n".join(lines)
