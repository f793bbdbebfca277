"""Cohort assignment from the data, and per-cohort statistics in DuckDB SQL.

Cohort assignment
-----------------
The cohort of a live conversation is known from two things: the agent build that *served* it
(``agent_version``) and the *flag assignment* of its user (Unleash rule,
``bucketing.in_rollout_many(flag_name, user_id, traffic_percent)``, optionally restricted to
targeted locales). :func:`prepare_cohorts` computes the assignment once per distinct user,
joins it to the traffic and writes one *facts* row per conversation:

* ``served``   -- ``candidate`` / ``baseline`` from ``agent_version`` (``other`` for any other build)
* ``assigned`` -- ``candidate`` when the flag puts the user in the rollout, else ``baseline``
* ``mismatch`` -- served by one arm while the flag assigns the user to the other (a canary user
  served by the baseline, or vice versa). Counted and reported; excluded from the comparison.
* ``cohort``   -- the arm analysed: ``served`` when it agrees with ``assigned``, else NULL.

Cohort statistics
-----------------
:func:`cohort_stats` returns, per cohort, per **day** and **cumulative** (through the end of each
day), overall and per segment (locale, persona, channel), the columns documented in
:data:`COLUMN_DOCS`. Counts, rates and CSAT are exact SQL aggregates. Latency percentiles are
read from a log-binned histogram of every assistant turn (1% wide bins, value = geometric
bin centre: relative error <= 0.5%, DDSketch-style) so that daily histograms add up to
cumulative ones in linear time; the *decision* tests p95 on the raw values.

Functions take a DuckDB connection and a relation name (table, view, or a registered polars
frame / Arrow table; :func:`register_traffic` also accepts a Parquet path or glob).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

from agent_release import bucketing

FACTS = "canary_facts"
USERS = "canary_users"
DEFAULT_DIMS = ("locale", "persona", "channel")
#: histogram bin width for latency percentiles: bins are [g^k, g^(k+1)) with g = 1.01
LATENCY_BIN_GAMMA = 1.01
Z95 = 1.959963984540054

#: Columns of :func:`cohort_stats` (catalog text for ``canary.cohort_daily``).
COLUMN_DOCS: dict[str, str] = {
    "release_id": "Release the canary belongs to (set by the caller; NULL when not given).",
    "period": "'day' = conversations started that UTC day; 'cumulative' = from the start of the "
    "canary through the end of that day.",
    "day": "UTC calendar day of the row (for period 'cumulative', the last day included).",
    "cohort": "'candidate' or 'baseline': the arm that served the conversation, when it agrees with "
    "the user's flag assignment (mismatched conversations are excluded and reported separately).",
    "agent_version": "Agent build of the cohort.",
    "dimension": "'overall', or the segment dimension: 'locale', 'persona' or 'channel'.",
    "segment": "Segment value (e.g. 'es-MX', 'angry', 'voice'); 'all' for dimension 'overall'.",
    "conversations": "Conversations in the window.",
    "users": "Distinct users (hashed user ids) with at least one conversation in the window.",
    "error_conversations": "Conversations with at least one assistant turn whose error is not NULL.",
    "error_rate": "error_conversations / conversations.",
    "error_rate_ci_low": "Wilson 95% interval, lower end (conversations treated as independent).",
    "error_rate_ci_high": "Wilson 95% interval, upper end.",
    "assistant_turns": "Assistant turns in the window (the latency sample; a failed turn -- error set or no "
    "latency -- counts at the agent's timeout).",
    "mean_turns": "Mean assistant turns per conversation.",
    "latency_p50_ms": "Median latency of an assistant turn, ms (log-histogram, <=0.5% relative error).",
    "latency_p95_ms": "95th percentile latency of an assistant turn, ms (log-histogram).",
    "latency_p95_ci_low_ms": "Distribution-free 95% interval of p95 (order statistics "
    "n*0.95 -/+ 1.96*sqrt(n*0.95*0.05)), lower end; ignores clustering by user.",
    "latency_p95_ci_high_ms": "Same interval, upper end.",
    "latency_p99_ms": "99th percentile latency of an assistant turn, ms (log-histogram).",
    "outcomes": "Conversations with a non-NULL outcome (the denominator of the outcome rates).",
    "resolved": "Conversations with outcome 'resolved'.",
    "escalated": "Conversations with outcome 'escalated' (handed to a human).",
    "abandoned": "Conversations with outcome 'abandoned'.",
    "resolution_rate": "resolved / outcomes.",
    "resolution_rate_ci_low": "Wilson 95% interval of resolution_rate, lower end.",
    "resolution_rate_ci_high": "Wilson 95% interval of resolution_rate, upper end.",
    "escalation_rate": "escalated / outcomes.",
    "abandonment_rate": "abandoned / outcomes.",
    "thumbs": "Conversations with a thumb (up or down).",
    "thumbs_up": "Conversations with thumb 'up'.",
    "thumbs_up_rate": "thumbs_up / thumbs.",
    "thumbs_up_rate_ci_low": "Wilson 95% interval of thumbs_up_rate, lower end.",
    "thumbs_up_rate_ci_high": "Wilson 95% interval of thumbs_up_rate, upper end.",
    "csat_n": "Conversations with a CSAT rating (1-5).",
    "csat_mean": "Mean CSAT of rated conversations.",
    "csat_sd": "Standard deviation of CSAT (n-1 denominator).",
    "csat_ci_low": "Normal 95% interval of csat_mean, lower end (mean - 1.96 sd/sqrt(n)).",
    "csat_ci_high": "Normal 95% interval of csat_mean, upper end.",
    "cost_usd": "Total cost of the conversations with known cost (sum of cost_usd), USD (rounded to 1e-8 so that parallel "
    "summation order cannot change the value).",
    "cost_unknown_conversations": "Conversations whose cost is unknown (an answered assistant turn without "
    "cost_usd); they are left out of cost_usd.",
    "cost_per_resolution": "cost_usd / resolved (NULL when nothing was resolved or any conversation's cost is "
    "unknown: unknown cost is never $0).",
    "handoffs": "Escalated conversations with a recorded hand-off quality (extra_json.handoff).",
    "handoff_complete_rate": "Share of those hand-offs marked 'complete' (context passed to the human).",
    "safety_incidents": "Conversations flagged with a safety incident (extra_json.safety_incident = 1).",
}

#: Columns of the facts table written by :func:`prepare_cohorts`.
FACT_DOCS: dict[str, str] = {
    "user_idx": "Dense integer id of the (hashed) user within this analysis; cluster for bootstraps.",
    "ts": "started_at in UTC (TIMESTAMP without zone).",
    "day": "UTC day of ts.",
    "locale": "Locale.",
    "channel": "Channel ('unknown' when NULL).",
    "persona": "extra_json.persona ('unknown' when absent).",
    "agent_version": "Build that served the conversation.",
    "served": "'candidate' | 'baseline' | 'other' from agent_version.",
    "assigned": "'candidate' when the user's flag assignment puts them in the rollout, else 'baseline'.",
    "mismatch": "served is candidate/baseline and differs from assigned.",
    "cohort": "served when it agrees with assigned, else NULL (not analysed).",
    "has_outcome": "outcome is not NULL.",
    "resolved": "1 if outcome = 'resolved'.",
    "escalated": "1 if outcome = 'escalated'.",
    "abandoned": "1 if outcome = 'abandoned'.",
    "has_error": "Any assistant turn with a non-NULL error.",
    "turns": "Assistant turns.",
    "cost": "Sum of cost_usd over turns; NULL (unknown, never $0) when an answered assistant turn (error "
    "NULL) has no cost_usd.",
    "csat": "CSAT 1-5 or NULL.",
    "thumb_up": "1 up, 0 down, NULL none.",
    "handoff_complete": "1/0 for escalations with extra_json.handoff, else NULL.",
    "safety": "1 if extra_json.safety_incident = 1.",
    "latencies": "Latency (ms) of every assistant turn, in order; a failed turn (error set, or latency_ms "
    "NULL) at the serving agent's timeout (spec timeout_s).",
}


def _q(name: str) -> str:
    """Quote a (possibly schema-qualified) relation name."""
    return ".".join('"' + p.replace('"', '""') + '"' for p in name.split("."))


#: Top-level columns the canary analysis reads, and the message fields it reads.
TRAFFIC_COLUMNS = ("user_id", "started_at", "locale", "channel", "agent_version", "outcome", "csat", "thumb",
                   "extra_json", "messages")
MESSAGE_COLUMNS = ("role", "latency_ms", "cost_usd", "error")


def register_traffic(con: duckdb.DuckDBPyConnection, traffic: Any, name: str = "canary_traffic") -> str:
    """Make ``traffic`` queryable as ``name``; returns ``name``.

    * a Parquet file, directory or glob -> a view over ``read_parquet`` (all columns);
    * a polars DataFrame / Arrow table -> an Arrow table registered without copying, holding only
      :data:`TRAFFIC_COLUMNS`, with ``messages`` narrowed to :data:`MESSAGE_COLUMNS` (same list
      offsets, same child arrays: zero-copy). DuckDB converts every field of a nested struct it
      scans, so dropping message texts, timestamps and tokens up front roughly halves the cost of
      building the facts table.
    """
    if isinstance(traffic, (str, Path)):
        p = str(traffic)
        if Path(p).is_dir():
            p = str(Path(p) / "*.parquet")
        quoted = p.replace("'", "''")
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {_q(name)} AS SELECT * FROM read_parquet('{quoted}', union_by_name=true)"
        )
        return name
    if isinstance(traffic, pl.DataFrame):
        cols = [c for c in TRAFFIC_COLUMNS if c in traffic.columns]
        traffic = traffic.select(cols).to_arrow(compat_level=pl.CompatLevel.newest())
    if isinstance(traffic, pa.Table):
        traffic = _narrow_messages(traffic.select([c for c in TRAFFIC_COLUMNS if c in traffic.column_names]))
    try:
        con.unregister(name)
    except duckdb.Error:
        pass
    con.register(name, traffic)
    return name


def _narrow_messages(tbl: pa.Table) -> pa.Table:
    if "messages" not in tbl.column_names:
        return tbl
    col = tbl.column("messages")
    typ = col.type
    if not (pa.types.is_list(typ) or pa.types.is_large_list(typ)) or not pa.types.is_struct(typ.value_type):
        return tbl
    names = [typ.value_type.field(i).name for i in range(typ.value_type.num_fields)]
    keep = [f for f in MESSAGE_COLUMNS if f in names]
    if len(keep) == len(names):
        return tbl
    slim_type = pa.struct([typ.value_type.field(k) for k in keep])
    list_type = pa.large_list(slim_type) if pa.types.is_large_list(typ) else pa.list_(slim_type)
    chunks = []
    for ch in col.chunks:
        child = ch.values
        slim = pa.StructArray.from_arrays([child.field(k) for k in keep], names=keep)
        cls = pa.LargeListArray if pa.types.is_large_list(typ) else pa.ListArray
        offsets = ch.offsets
        if ch.null_count:
            chunks.append(cls.from_arrays(offsets, slim, mask=ch.is_null()))
        else:
            chunks.append(cls.from_arrays(offsets, slim))
    return tbl.set_column(tbl.column_names.index("messages"), "messages", pa.chunked_array(chunks, type=list_type))


def to_utc_naive(ts: datetime | date | str | None) -> datetime | None:
    """A look time as naive UTC. A ``date`` means the END of that UTC day (the next midnight)."""
    if ts is None:
        return None
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    if isinstance(ts, datetime):
        if ts.tzinfo is not None:
            ts = ts.astimezone(UTC).replace(tzinfo=None)
        return ts
    return datetime(ts.year, ts.month, ts.day) + timedelta(days=1)


@dataclass
class CohortData:
    """Facts table of one canary in a DuckDB connection, plus how the cohorts were assigned."""

    con: duckdb.DuckDBPyConnection
    table: str
    flag_name: str
    traffic_percent: float
    baseline_version: str
    candidate_version: str
    eligible_locales: tuple[str, ...] | None = None
    rows: int = 0
    info: dict[str, Any] = field(default_factory=dict)

    def sql(self, query: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        return _pl(self.con, query.replace("{facts}", _q(self.table)), params)

    def fetch(self, query: str, params: Sequence[Any] | None = None) -> list[tuple]:
        return self.con.execute(query.replace("{facts}", _q(self.table)), list(params or [])).fetchall()

    def time_range(self) -> tuple[datetime | None, datetime | None]:
        lo, hi = self.fetch("SELECT min(ts), max(ts) FROM {facts}")[0]
        return lo, hi

    def mismatches(self, as_of: datetime | date | None = None) -> dict[str, Any]:
        """Flag/serving mismatches up to ``as_of``: counts by direction and share."""
        cond, params = _as_of_filter(as_of)
        (n, n_known, m_cb, m_bc, other, c_assigned) = self.fetch(
            f"""SELECT count(*),
                   count(*) FILTER (WHERE served <> 'other'),
                   count(*) FILTER (WHERE mismatch AND assigned = 'candidate'),
                   count(*) FILTER (WHERE mismatch AND assigned = 'baseline'),
                   count(*) FILTER (WHERE served = 'other'),
                   count(*) FILTER (WHERE assigned = 'candidate' AND served <> 'other')
                FROM {{facts}} WHERE {cond}""",
            params,
        )[0]
        total = m_cb + m_bc
        canary = c_assigned + m_bc  # conversations touching the canary: assigned to it or served by it
        return {
            "conversations": int(n),
            "mismatched_conversations": int(total),
            "canary_users_served_baseline": int(m_cb),
            "non_canary_users_served_candidate": int(m_bc),
            "other_versions": int(other),
            "mismatch_share": (total / n_known) if n_known else 0.0,
            "mismatch_share_of_canary": (total / canary) if canary else 0.0,
        }


def _arrow(result: Any) -> pa.Table:
    """Arrow table of a query result across DuckDB versions (``to_arrow_table`` in 2.x)."""
    for name in ("to_arrow_table", "fetch_arrow_table", "arrow"):
        fn = getattr(result, name, None)
        if fn is not None:
            out = fn()
            return out.read_all() if hasattr(out, "read_all") else out
    raise AttributeError("DuckDB result has no Arrow export")


def _pl(con: duckdb.DuckDBPyConnection, query: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
    return con.sql(query, params=list(params) if params else None).pl()


def _as_of_filter(as_of: datetime | date | None) -> tuple[str, list[Any]]:
    t = to_utc_naive(as_of)
    if t is None:
        return "TRUE", []
    return "ts < ?", [t]


def prepare_cohorts(
    con: duckdb.DuckDBPyConnection,
    source: str,
    *,
    flag_name: str,
    traffic_percent: float,
    baseline_version: str,
    candidate_version: str,
    eligible_locales: Sequence[str] | None = None,
    table: str = FACTS,
    timeout_ms_candidate: float = 30_000.0,
    timeout_ms_baseline: float = 30_000.0,
) -> CohortData:
    """Assign cohorts from the data and write the per-conversation facts table ``table``.

    A failed assistant turn (``error`` set, or no ``latency_ms``) enters ``latencies`` at the
    serving arm's timeout (``timeout_ms_candidate`` / ``timeout_ms_baseline``; the spec's
    ``timeout_s`` in :func:`prepare_from_spec`), never dropped: a candidate that times out does not
    look fast. A conversation with an answered assistant turn (no ``error``) lacking ``cost_usd``
    has ``cost`` NULL (unknown), never $0.

    ``source``: relation in the conversation-log contract (``messages`` as a list of structs,
    ``extra_json`` optional). The flag assignment is computed once per distinct user with
    :func:`agent_release.bucketing.in_rollout_many` (Unleash-compatible) and joined back.
    """
    src = _q(source)
    cols = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()}
    ts_expr = ("timezone('UTC', s.started_at)" if "TIME ZONE" in cols.get("started_at", "")
               else "CAST(s.started_at AS TIMESTAMP)")
    extra = "s.extra_json" if "extra_json" in cols else "CAST(NULL AS VARCHAR)"

    users = _arrow(con.sql(f"SELECT DISTINCT user_id FROM {src} WHERE user_id IS NOT NULL"))
    uid = users.column(0)
    in_flag = bucketing.in_rollout_many(flag_name, uid.to_pylist(), traffic_percent)
    users_tbl = pa.table({"user_id": uid, "user_idx": pa.array(np.arange(len(uid), dtype=np.int32)),
                          "in_flag": pa.array(in_flag)})
    con.register("_canary_users_arrow", users_tbl)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_q(USERS)} AS SELECT * FROM _canary_users_arrow")
    con.unregister("_canary_users_arrow")

    eligible = "TRUE"
    params: list[Any] = [candidate_version, baseline_version, candidate_version]
    if eligible_locales is not None:
        eligible = "list_contains(?, s.locale)"
        params.insert(0, list(eligible_locales))
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {_q(table)} AS
        WITH x AS (
          SELECT
            u.user_idx,
            {ts_expr} AS ts,
            s.locale,
            coalesce(s.channel, 'unknown') AS channel,
            coalesce(json_extract_string({extra}, '$.persona'), 'unknown') AS persona,
            s.agent_version,
            CASE WHEN u.in_flag AND {eligible} THEN 'candidate' ELSE 'baseline' END AS assigned,
            CASE WHEN s.agent_version = ? THEN 'candidate'
                 WHEN s.agent_version = ? THEN 'baseline' ELSE 'other' END AS served,
            s.outcome IS NOT NULL AS has_outcome,
            (s.outcome = 'resolved')::INTEGER AS resolved,
            (s.outcome = 'escalated')::INTEGER AS escalated,
            (s.outcome = 'abandoned')::INTEGER AS abandoned,
            coalesce(list_bool_or(list_transform(s.messages, lambda m: m.error IS NOT NULL)), FALSE) AS has_error,
            CASE WHEN coalesce(list_bool_or(list_transform(s.messages, lambda m: m.role = 'assistant'
                                  AND m.error IS NULL AND m.cost_usd IS NULL)), FALSE) THEN NULL
                 ELSE coalesce(list_sum(list_transform(s.messages, lambda m: m.cost_usd)), 0.0) END AS cost,
            s.csat::INTEGER AS csat,
            CASE s.thumb WHEN 'up' THEN 1 WHEN 'down' THEN 0 END AS thumb_up,
            CASE WHEN s.outcome = 'escalated' THEN
                 CASE json_extract_string({extra}, '$.handoff') WHEN 'complete' THEN 1 WHEN 'incomplete' THEN 0 END
            END AS handoff_complete,
            coalesce(TRY_CAST(json_extract_string({extra}, '$.safety_incident') AS INTEGER), 0) AS safety,
            list_transform(list_filter(s.messages, lambda m: m.role = 'assistant'),
                           lambda m: CASE WHEN m.error IS NOT NULL OR m.latency_ms IS NULL
                                          THEN CASE WHEN s.agent_version = ? THEN {float(timeout_ms_candidate)!r}
                                                    ELSE {float(timeout_ms_baseline)!r} END
                                          ELSE CAST(m.latency_ms AS DOUBLE) END) AS lat_all
          FROM {src} s JOIN {_q(USERS)} u ON s.user_id = u.user_id
        )
        SELECT * EXCLUDE (lat_all),
               CAST(ts AS DATE) AS day,
               served <> 'other' AND served <> assigned AS mismatch,
               CASE WHEN served <> 'other' AND served = assigned THEN served END AS cohort,
               len(lat_all)::INTEGER AS turns,
               lat_all AS latencies
        FROM x
        """,
        params,
    )
    rows = con.execute(f"SELECT count(*) FROM {_q(table)}").fetchall()[0][0]
    return CohortData(
        con=con, table=table, flag_name=flag_name, traffic_percent=float(traffic_percent),
        baseline_version=baseline_version, candidate_version=candidate_version,
        eligible_locales=tuple(eligible_locales) if eligible_locales is not None else None,
        rows=int(rows), info={"users": len(uid), "users_in_flag": int(in_flag.sum())},
    )


def prepare_from_spec(
    con: duckdb.DuckDBPyConnection, source: str, spec: Any, *, eligible_locales: Sequence[str] | None = None,
    table: str = FACTS,
) -> CohortData:
    """:func:`prepare_cohorts` with flag, share and versions from a release spec."""
    return prepare_cohorts(
        con, source, flag_name=spec.rollout.flag_name or spec.release_id,
        traffic_percent=spec.canary.traffic_percent, baseline_version=spec.baseline.version,
        candidate_version=spec.candidate.version, eligible_locales=eligible_locales, table=table,
        timeout_ms_candidate=1000.0 * float(getattr(spec.candidate, "timeout_s", 30.0) or 30.0),
        timeout_ms_baseline=1000.0 * float(getattr(spec.baseline, "timeout_s", 30.0) or 30.0),
    )


def load(traffic: Any, spec: Any, *, con: duckdb.DuckDBPyConnection | None = None,
         eligible_locales: Sequence[str] | None = None) -> CohortData:
    """One call: new in-memory connection (unless given), register ``traffic`` (polars / Arrow /
    Parquet path), assign cohorts per ``spec``."""
    con = con or duckdb.connect(":memory:")
    name = register_traffic(con, traffic)
    return prepare_from_spec(con, name, spec, eligible_locales=eligible_locales)


# --------------------------------------------------------------------------- statistics

_SUMS = """
    count(*) AS conversations,
    count(DISTINCT user_idx) AS users,
    sum(has_error::INTEGER) AS error_conversations,
    sum(has_outcome::INTEGER) AS outcomes,
    sum(resolved) AS resolved,
    sum(escalated) AS escalated,
    sum(abandoned) AS abandoned,
    count(thumb_up) AS thumbs,
    sum(thumb_up) AS thumbs_up,
    count(csat) AS csat_n,
    sum(csat)::DOUBLE AS csat_sum,
    sum(csat * csat)::DOUBLE AS csat_sumsq,
    sum(cost) AS cost_usd,
    count(*) - count(cost) AS cost_unknown,
    count(handoff_complete) AS handoffs,
    sum(handoff_complete) AS handoffs_complete,
    sum(safety) AS safety_incidents,
    sum(turns) AS turns_total
"""
_SUM_COLS = ("conversations", "error_conversations", "outcomes", "resolved", "escalated", "abandoned", "thumbs",
             "thumbs_up", "csat_n", "csat_sum", "csat_sumsq", "cost_usd", "cost_unknown", "handoffs", "handoffs_complete",
             "safety_incidents", "turns_total")


def _wilson(x: str, n: str, side: int) -> str:
    z = Z95
    sign = "-" if side < 0 else "+"
    return (
        f"CASE WHEN {n} > 0 THEN (({x})::DOUBLE/{n} + {z*z}/(2*{n}) {sign} "
        f"{z}*sqrt(({x})::DOUBLE/{n}*(1-({x})::DOUBLE/{n})/{n} + {z*z}/(4*{n}*{n}))) / (1 + {z*z}/{n}) END"
    )


def _grouping(dims: Sequence[str]) -> tuple[str, str, str]:
    sets = ["(cohort, day)"] + [f"(cohort, day, {d})" for d in dims]
    dim_case = "CASE " + " ".join(f"WHEN grouping({d}) = 0 THEN '{d}'" for d in dims) + " ELSE 'overall' END"
    seg_case = "CASE " + " ".join(f"WHEN grouping({d}) = 0 THEN CAST({d} AS VARCHAR)" for d in dims) + " ELSE 'all' END"
    if not dims:
        dim_case, seg_case = "'overall'", "'all'"
    return ", ".join(sets), dim_case, seg_case


def cohort_stats(
    data: CohortData,
    *,
    dims: Sequence[str] = DEFAULT_DIMS,
    as_of: datetime | date | None = None,
    release_id: str | None = None,
    periods: Sequence[str] = ("day", "cumulative"),
    timings: dict[str, float] | None = None,
) -> pl.DataFrame:
    """Per cohort x period ('day' / 'cumulative') x day x dimension x segment statistics.

    All computed in DuckDB SQL over the facts table (see :data:`COLUMN_DOCS`). Mismatched
    conversations and other agent versions are excluded. ``as_of`` drops conversations started
    at or after it. The 'cumulative' rows cover every day from the cohort's first day to the
    last day with data, carrying forward segments without traffic on a day.
    """
    for d in dims:
        if d not in ("locale", "persona", "channel"):
            raise ValueError(f"unknown segment dimension {d!r}")
    con = data.con
    t_asof = to_utc_naive(as_of)
    cond = "TRUE" if t_asof is None else f"ts < TIMESTAMP '{t_asof.isoformat(sep=' ')}'"
    sets, dim_case, seg_case = _grouping(dims)
    facts = _q(data.table)
    ln_g = math.log(LATENCY_BIN_GAMMA)
    clock = _Clock(timings)
    con.execute(f"CREATE OR REPLACE TEMP VIEW _cs_base AS SELECT * FROM {facts} WHERE cohort IS NOT NULL AND {cond}")
    # daily sums, and first day of each user per group (for cumulative distinct users)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _cs_daily AS
            SELECT cohort, day, {dim_case} AS dimension, {seg_case} AS segment, {_SUMS}
            FROM _cs_base GROUP BY GROUPING SETS ({sets})"""
    )
    clock.tick("daily_sums")
    user_sets = ", ".join(["(cohort, user_idx)"] + [f"(cohort, user_idx, {d})" for d in dims])
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _cs_newusers AS
            SELECT cohort, dimension, segment, first_day AS day, count(*) AS new_users FROM (
              SELECT cohort, {dim_case} AS dimension, {seg_case} AS segment, user_idx, min(day) AS first_day
              FROM _cs_base GROUP BY GROUPING SETS ({user_sets})
            ) GROUP BY ALL"""
    )
    clock.tick("first_seen_users")
    # latency histogram per group and day
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _cs_hist AS
            SELECT cohort, day, {dim_case} AS dimension, {seg_case} AS segment, bin, count(*) AS n
            FROM (SELECT cohort, day, locale, persona, channel,
                         CAST(floor(ln(greatest(unnest(latencies), 0.01)) / {ln_g}) AS INTEGER) AS bin
                  FROM _cs_base)
            GROUP BY GROUPING SETS ({_hist_sets(dims)})"""
    )
    clock.tick("latency_histogram")
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _cs_grid AS
           WITH groups AS (SELECT cohort, dimension, segment, min(day) AS first_day FROM _cs_daily GROUP BY ALL),
                bounds AS (SELECT max(day) AS last_day FROM _cs_daily)
           SELECT g.cohort, g.dimension, g.segment, CAST(d.day AS DATE) AS day
           FROM groups g, bounds b,
                LATERAL (SELECT unnest(generate_series(g.first_day::TIMESTAMP, b.last_day::TIMESTAMP,
                                                       INTERVAL 1 DAY)) AS day) d"""
    )
    sum_list = ", ".join(f"coalesce(d.{c}, 0) AS {c}" for c in _SUM_COLS)
    cum_list = ", ".join(
        f"sum(coalesce(d.{c}, 0)) OVER w AS {c}" for c in _SUM_COLS
    )
    frames = []
    if "day" in periods:
        frames.append(
            f"""SELECT 'day' AS period, d.day, d.cohort, d.dimension, d.segment, d.users, {sum_list}
                FROM _cs_daily d"""
        )
    if "cumulative" in periods:
        frames.append(
            f"""SELECT 'cumulative' AS period, g.day, g.cohort, g.dimension, g.segment,
                       sum(coalesce(nu.new_users, 0)) OVER w AS users, {cum_list}
                FROM _cs_grid g
                LEFT JOIN _cs_daily d USING (cohort, dimension, segment, day)
                LEFT JOIN _cs_newusers nu USING (cohort, dimension, segment, day)
                WINDOW w AS (PARTITION BY g.cohort, g.dimension, g.segment ORDER BY g.day
                             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"""
        )
    if not frames:
        raise ValueError("periods must include 'day' and/or 'cumulative'")
    con.execute("CREATE OR REPLACE TEMP TABLE _cs_counts AS " + " UNION ALL ".join(frames))
    clock.tick("cumulative_counts")

    # histograms per window, then percentiles
    hist_frames = []
    if "day" in periods:
        hist_frames.append("SELECT 'day' AS period, cohort, dimension, segment, day, bin, n FROM _cs_hist")
    if "cumulative" in periods:
        hist_frames.append(
            """SELECT 'cumulative' AS period, g.cohort, g.dimension, g.segment, g.day, h.bin, sum(h.n) AS n
               FROM _cs_grid g JOIN _cs_hist h
                 ON h.cohort = g.cohort AND h.dimension = g.dimension AND h.segment = g.segment AND h.day <= g.day
               GROUP BY ALL"""
        )
    z = Z95
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _cs_pct AS
            WITH h AS ({" UNION ALL ".join(hist_frames)}),
            c AS (
              SELECT *, sum(n) OVER (PARTITION BY period, cohort, dimension, segment, day ORDER BY bin
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum,
                        sum(n) OVER (PARTITION BY period, cohort, dimension, segment, day) AS tot
              FROM h)
            SELECT period, cohort, dimension, segment, day, any_value(tot) AS assistant_turns,
              min(bin) FILTER (WHERE cum >= ceil(0.50 * tot)) AS b50,
              min(bin) FILTER (WHERE cum >= ceil(0.95 * tot)) AS b95,
              min(bin) FILTER (WHERE cum >= ceil(0.99 * tot)) AS b99,
              min(bin) FILTER (WHERE cum >= greatest(1, floor(0.95 * tot - {z} * sqrt(tot * 0.95 * 0.05)))) AS b95lo,
              min(bin) FILTER (WHERE cum >= least(tot, ceil(0.95 * tot + {z} * sqrt(tot * 0.95 * 0.05)))) AS b95hi
            FROM c GROUP BY ALL"""
    )
    clock.tick("percentiles")

    var = "greatest(k.csat_sumsq - k.csat_sum * k.csat_sum / k.csat_n, 0) / (k.csat_n - 1)"

    def val(b: str) -> str:
        return f"round(exp(({b} + 0.5) * {ln_g}), 1)"

    out = _pl(
        con,
        f"""
        SELECT
          CAST(? AS VARCHAR) AS release_id,
          k.period, k.day, k.cohort,
          CASE k.cohort WHEN 'candidate' THEN CAST(? AS VARCHAR) ELSE CAST(? AS VARCHAR) END AS agent_version,
          k.dimension, k.segment,
          k.conversations, k.users,
          k.error_conversations,
          k.error_conversations::DOUBLE / nullif(k.conversations, 0) AS error_rate,
          {_wilson('k.error_conversations', 'k.conversations', -1)} AS error_rate_ci_low,
          {_wilson('k.error_conversations', 'k.conversations', 1)} AS error_rate_ci_high,
          coalesce(p.assistant_turns, 0) AS assistant_turns,
          k.turns_total::DOUBLE / nullif(k.conversations, 0) AS mean_turns,
          {val('p.b50')} AS latency_p50_ms,
          {val('p.b95')} AS latency_p95_ms,
          {val('p.b95lo')} AS latency_p95_ci_low_ms,
          {val('p.b95hi')} AS latency_p95_ci_high_ms,
          {val('p.b99')} AS latency_p99_ms,
          k.outcomes, k.resolved, k.escalated, k.abandoned,
          k.resolved::DOUBLE / nullif(k.outcomes, 0) AS resolution_rate,
          {_wilson('k.resolved', 'k.outcomes', -1)} AS resolution_rate_ci_low,
          {_wilson('k.resolved', 'k.outcomes', 1)} AS resolution_rate_ci_high,
          k.escalated::DOUBLE / nullif(k.outcomes, 0) AS escalation_rate,
          k.abandoned::DOUBLE / nullif(k.outcomes, 0) AS abandonment_rate,
          k.thumbs, k.thumbs_up,
          k.thumbs_up::DOUBLE / nullif(k.thumbs, 0) AS thumbs_up_rate,
          {_wilson('k.thumbs_up', 'k.thumbs', -1)} AS thumbs_up_rate_ci_low,
          {_wilson('k.thumbs_up', 'k.thumbs', 1)} AS thumbs_up_rate_ci_high,
          k.csat_n,
          k.csat_sum / nullif(k.csat_n, 0) AS csat_mean,
          CASE WHEN k.csat_n > 1 THEN sqrt({var}) END AS csat_sd,
          CASE WHEN k.csat_n > 1 THEN k.csat_sum / k.csat_n - {z} * sqrt({var} / k.csat_n) END AS csat_ci_low,
          CASE WHEN k.csat_n > 1 THEN k.csat_sum / k.csat_n + {z} * sqrt({var} / k.csat_n) END AS csat_ci_high,
          round(k.cost_usd, 8) AS cost_usd,
          k.cost_unknown AS cost_unknown_conversations,
          CASE WHEN k.cost_unknown = 0 THEN round(k.cost_usd / nullif(k.resolved, 0), 10) END AS cost_per_resolution,
          k.handoffs,
          k.handoffs_complete::DOUBLE / nullif(k.handoffs, 0) AS handoff_complete_rate,
          k.safety_incidents
        FROM _cs_counts k
        LEFT JOIN _cs_pct p USING (period, cohort, dimension, segment, day)
        ORDER BY k.period DESC, k.dimension <> 'overall', k.dimension, k.segment, k.cohort, k.day
        """,
        [release_id, data.candidate_version, data.baseline_version],
    )
    clock.tick("output")
    con.execute("DROP VIEW IF EXISTS _cs_base")
    for t in ("_cs_daily", "_cs_newusers", "_cs_hist", "_cs_grid", "_cs_counts", "_cs_pct"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    int_cols = ["conversations", "users", "error_conversations", "assistant_turns", "outcomes", "resolved",
                "escalated", "abandoned", "thumbs", "thumbs_up", "csat_n", "handoffs", "safety_incidents",
                "cost_unknown_conversations"]
    return out.with_columns(pl.col(c).cast(pl.Int64) for c in int_cols)


class _Clock:
    def __init__(self, sink: dict[str, float] | None):
        import time

        self._time = time.perf_counter
        self.sink = sink
        self.t = self._time()

    def tick(self, label: str) -> None:
        now = self._time()
        if self.sink is not None:
            self.sink[label] = self.sink.get(label, 0.0) + now - self.t
        self.t = now


def _hist_sets(dims: Sequence[str]) -> str:
    return ", ".join(["(cohort, day, bin)"] + [f"(cohort, day, {d}, bin)" for d in dims])


def mismatch_table(data: CohortData, as_of: datetime | date | None = None) -> pl.DataFrame:
    """Conversations per day x flag assignment x served arm (the mismatch audit)."""
    cond, params = _as_of_filter(as_of)
    return data.sql(
        f"""SELECT day, assigned, served, count(*) AS conversations, count(DISTINCT user_idx) AS users,
                   bool_or(mismatch) AS mismatch
            FROM {{facts}} WHERE {cond} GROUP BY ALL ORDER BY day, assigned, served""",
        params,
    )


MISMATCH_DOCS: dict[str, str] = {
    "day": "UTC day.",
    "assigned": "Arm the user's flag assignment says ('candidate' if in the rollout).",
    "served": "Arm that served the conversation (from agent_version); 'other' for other builds.",
    "conversations": "Conversations.",
    "users": "Distinct users.",
    "mismatch": "True when served differs from assigned (excluded from the comparison).",
}
