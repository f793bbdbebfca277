"""Which agents are in production, and the live conversations they served.

Production agents (:func:`resolve_production_agents`), in order of precedence:

1. **Configured**: an explicit list of agent versions (``production_agents`` on the Dagster
   ``monitoring`` resource, or ``AGENT_RELEASE_PRODUCTION_AGENTS=support-bot@1,support-bot@2``).
2. **Release state**: the newest release that has a recorded state decides. A release's state is
   its rollout percentage (read from the rollout domain's tables, see :data:`ROLLOUT_TABLES`) or,
   failing that, its latest canary decision (the last look of the latest evaluation in
   ``canary.decision_history``, :func:`agent_release.decision_log.latest_canary_decision`):

   * rollout at 100% -> the candidate alone;
   * rollout between 0 and 100% -> baseline and candidate (both serve production traffic);
   * rollout at 0% / killed / rolled back, or a canary that has not been rolled out (HOLD,
     EXPAND not yet acted on, ROLLBACK) -> the baseline alone (the canary's few percent are
     watched by the canary itself).

   "Newest" = the latest state timestamp (data time of the last rollout decision, else the canary
   look's ``as_of``). The rollout state comes from ``agent_release.rollout.store.rollout_state``
   (decisions under the spec's current hash; ``ROLLED_BACK`` = 0%).
3. **No state anywhere**: the baseline of the newest release spec (by file modification time).
   In the embedded default this is ``support-bot@1`` (the canary of ``support-bot-2`` HOLDs).

Each production agent is returned with the :class:`~agent_release.release_spec.AgentSpec` from the
release that names it (pinned model, endpoint), so the nightly suites call the same endpoint the
release process did. A configured version that no release names falls back to its simulated
profile (embedded default) — an HTTP agent must be named by a release spec.

The live stream (:func:`register_stream`) is every conversation in the live tables
(:data:`DEFAULT_LIVE_TABLES`: the canary's live traffic and, when the rollout domain writes one, its
live traffic) served by a production agent, de-duplicated on (``conversation_id``, ``started_at``,
``agent_version``) — separately simulated periods may reuse ids. It is masked data (the canary and
rollout write masked traffic only).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import polars as pl

from agent_release.release_spec import AgentSpec

log = logging.getLogger(__name__)

ENV_AGENTS = "AGENT_RELEASE_PRODUCTION_AGENTS"
ENV_LIVE = "AGENT_RELEASE_MONITORING_LIVE_TABLES"
DEFAULT_LIVE_TABLES = ("canary.live_conversations", "rollout.live_conversations")
#: tables of the rollout domain read for a release's current percentage (first that exists wins)
ROLLOUT_TABLES = ("rollout.decisions", "rollout.flag_audit")
_PERCENT_COLS = ("to_percentage", "percentage", "to_effective_percentage", "percent")
_TIME_COLS = ("seq", "data_time", "changed_at", "decided_at")


@dataclass(frozen=True)
class ProductionAgent:
    version: str
    spec: AgentSpec
    release_id: str | None  # the release whose state put it there (None: configured / fallback)
    role: str  # candidate | baseline | configured | fallback
    reason: str

    def to_row(self) -> dict:
        return {"agent_version": self.version, "model": self.spec.model, "kind": self.spec.kind,
                "release_id": self.release_id, "role": self.role, "reason": self.reason}


@dataclass(frozen=True)
class ReleaseState:
    release_id: str
    baseline: str
    candidate: str
    rollout_percent: float | None
    canary_decision: str | None
    at: datetime | None


def _specs() -> list[Any]:
    from agent_release import release_spec as rs

    out = []
    for rid in rs.list_releases():
        try:
            out.append(rs.load_release(rid))
        except (rs.SpecError, FileNotFoundError) as exc:
            # a broken file must not stop monitoring of a live release: its last known good spec
            # (agent_release/rollout/specs.py) stands in, as for the rollout's own watches
            try:
                from agent_release.rollout.specs import resolve
                from agent_release.warehouse import Lake

                w = resolve(Lake.default(), rid)
            except Exception:  # noqa: BLE001 - no lake / no snapshot: nothing known to monitor under
                continue
            if w.spec is not None:
                log.warning("%s: %s — monitored under its last known good spec %s", rid, exc, w.spec.spec_hash)
                out.append(w.spec)
    return out


def agent_spec_for(version: str, specs: list[Any] | None = None) -> AgentSpec:
    """The AgentSpec of ``version`` as a release names it (candidate entries first, newest file
    first), else a simulated agent from its profile."""
    from agent_release import release_spec as rs

    specs = _specs() if specs is None else specs
    by_mtime = sorted(specs, key=lambda s: _mtime(rs.releases_dir() / f"{s.release_id}.yaml"), reverse=True)
    for side in ("candidate", "baseline"):
        for s in by_mtime:
            a = getattr(s, side)
            if a.version == version:
                return a
    from agent_release.agents import ConfigError, load_profile

    try:
        prof = load_profile(version)
    except ConfigError as exc:
        raise ValueError(f"production agent {version!r}: no release spec names it and no simulated profile "
                         f"exists ({exc})") from None
    return AgentSpec(version=version, model=prof.model, kind="simulated", seed=prof.seed)


def _mtime(path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _to_dt(v: Any) -> datetime | None:
    if v is None:
        return None
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=UTC)
    try:
        d = datetime.fromisoformat(str(v))
    except ValueError:
        return None
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def rollout_state(lake, release_id: str, spec_hash: str | None = None) -> tuple[float | None, datetime | None]:
    """(current rollout percentage, when it was set — data time) from the rollout domain, or (None, None)
    when the release's rollout has not started. Uses ``agent_release.rollout.store.rollout_state``
    (decisions under the spec's current hash; ROLLED_BACK = 0%); without that module, the first of
    :data:`ROLLOUT_TABLES` with a release id and a percentage column."""
    try:
        from agent_release.rollout.store import rollout_state as _rollout_state
    except ImportError:
        _rollout_state = None
    if _rollout_state is not None and spec_hash is not None:
        st = _rollout_state(lake, release_id, spec_hash)
        if st.status == "NOT_STARTED":
            return None, None
        last = st.last or {}
        at = _to_dt(last.get("data_time")) or _to_dt(last.get("decided_at"))
        return (0.0 if st.status == "ROLLED_BACK" else float(st.percentage)), at
    for table in ROLLOUT_TABLES:
        if not lake.exists(table):
            continue
        try:
            df = lake.read(table)
        except Exception:  # noqa: BLE001 - another domain's table in an unexpected shape: ignore it
            continue
        if "release_id" not in df.columns:
            continue
        pcol = next((c for c in _PERCENT_COLS if c in df.columns), None)
        if pcol is None:
            continue
        df = df.filter(pl.col("release_id") == release_id)
        if df.is_empty():
            continue
        tcol = next((c for c in _TIME_COLS if c in df.columns), None)
        if tcol is not None:
            df = df.sort(tcol)
        row = df.row(-1, named=True)
        pct = row[pcol]
        killed = str(row.get("action", "")).lower() == "kill" or str(row.get("decision", "")).upper() == "ROLLBACK"
        at = next((_to_dt(row[c]) for c in ("data_time", "changed_at", "decided_at") if row.get(c) is not None), None)
        return (0.0 if killed else (float(pct) if pct is not None else None)), at
    return None, None


def release_states(lake) -> list[ReleaseState]:
    """State of every valid release spec (rollout percentage, latest canary decision), newest first;
    releases without any state are left out."""
    from agent_release.decision_log import latest_canary_decision

    out = []
    for spec in _specs():
        pct, at = rollout_state(lake, spec.release_id, spec.spec_hash)
        decision = None
        last = latest_canary_decision(lake, spec.release_id)
        if last is not None:
            decision = last["decision"]
            at = at or _to_dt(last["as_of"])
        if pct is None and decision is None:
            continue
        out.append(ReleaseState(spec.release_id, spec.baseline.version, spec.candidate.version, pct, decision, at))
    out.sort(key=lambda s: (s.at or datetime.min.replace(tzinfo=UTC), s.release_id), reverse=True)
    return out


def configured_agents(configured: list[str] | tuple[str, ...] | None = None) -> list[str]:
    if configured:
        return [v.strip() for v in configured if v and v.strip()]
    env = os.environ.get(ENV_AGENTS, "")
    return [v.strip() for v in env.split(",") if v.strip()]


def resolve_production_agents(lake, configured: list[str] | tuple[str, ...] | None = None) -> list[ProductionAgent]:
    """The production agents (see the module docstring for the rule)."""
    specs = _specs()
    explicit = configured_agents(configured)
    if explicit:
        return [ProductionAgent(v, agent_spec_for(v, specs), None, "configured",
                                f"configured ({'resource' if configured else ENV_AGENTS})") for v in explicit]
    by_id = {s.release_id: s for s in specs}
    for st in release_states(lake):
        spec = by_id[st.release_id]
        if st.rollout_percent is not None:
            p = st.rollout_percent
            if p >= 100:
                return [ProductionAgent(spec.candidate.version, spec.candidate, st.release_id, "candidate",
                                        f"{st.release_id}: rollout at 100%")]
            if p > 0:
                why = f"{st.release_id}: rollout at {p:g}% (both agents serve traffic)"
                return [ProductionAgent(spec.baseline.version, spec.baseline, st.release_id, "baseline", why),
                        ProductionAgent(spec.candidate.version, spec.candidate, st.release_id, "candidate", why)]
            return [ProductionAgent(spec.baseline.version, spec.baseline, st.release_id, "baseline",
                                    f"{st.release_id}: rollout at 0% (flag off / rolled back)")]
        return [ProductionAgent(spec.baseline.version, spec.baseline, st.release_id, "baseline",
                                f"{st.release_id}: canary {st.canary_decision}, not rolled out")]
    if not specs:
        raise ValueError("no release specs and no configured production agents "
                         f"(set {ENV_AGENTS} or the monitoring resource's production_agents)")
    from agent_release import release_spec as rs

    newest = max(specs, key=lambda s: (_mtime(rs.releases_dir() / f"{s.release_id}.yaml"), s.release_id))
    return [ProductionAgent(newest.baseline.version, newest.baseline, newest.release_id, "fallback",
                            f"no release state yet: baseline of the newest release spec {newest.release_id}")]


# --------------------------------------------------------------------------- live stream
def live_tables(tables: list[str] | tuple[str, ...] | None = None) -> list[str]:
    if tables:
        return list(tables)
    env = os.environ.get(ENV_LIVE, "")
    return [t.strip() for t in env.split(",") if t.strip()] or list(DEFAULT_LIVE_TABLES)


STREAM_COLUMNS = ("conversation_id", "user_id", "started_at", "locale", "channel", "agent_version", "model",
                  "messages", "outcome", "csat", "thumb", "extra_json")


def register_stream(con: duckdb.DuckDBPyConnection, lake, versions: list[str] | None, *,
                    tables: list[str] | tuple[str, ...] | None = None, start: datetime | None = None,
                    end: datetime | None = None, name: str = "production_stream") -> int:
    """Create the temp view ``name`` over the live tables: production agents' conversations
    (``versions``; None = every agent), started in [start, end), one row per conversation id, with
    ``ts`` = ``started_at`` as a naive UTC timestamp. Returns the row count."""
    globs = []
    for t in live_tables(tables):
        if "/" in t or t.endswith(".parquet"):
            globs.append(t)  # a Parquet file / glob in the contract shape (masked)
        elif lake.exists(t):
            globs.append(lake.glob(t))
    cols = ", ".join(STREAM_COLUMNS)
    if not globs:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT NULL::VARCHAR AS conversation_id, "
                    "NULL::VARCHAR AS user_id, NULL::TIMESTAMPTZ AS started_at, NULL::VARCHAR AS locale, "
                    "NULL::VARCHAR AS channel, NULL::VARCHAR AS agent_version, NULL::VARCHAR AS model, "
                    "NULL::STRUCT(role VARCHAR, content VARCHAR, latency_ms DOUBLE, cost_usd DOUBLE, "
                    "action VARCHAR, error VARCHAR)[] AS messages, NULL::VARCHAR AS outcome, NULL::BIGINT AS csat, "
                    "NULL::VARCHAR AS thumb, NULL::VARCHAR AS extra_json, NULL::TIMESTAMP AS ts WHERE FALSE")
        return 0
    files = ", ".join(f"'{g}'" for g in globs)
    where, params = ["TRUE"], []
    if versions is not None:
        where.append("list_contains(?, agent_version)")
        params.append(list(versions))
    src = f"SELECT {cols}, filename AS _file FROM read_parquet([{files}], union_by_name=true, filename=true)"
    ts = "timezone('UTC', started_at)"
    if start is not None:
        where.append(f"{ts} >= ?")
        params.append(_naive(start))
    if end is not None:
        where.append(f"{ts} < ?")
        params.append(_naive(end))
    # views cannot take prepared parameters: materialize the (filtered) stream as a temp table
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {name} AS
        SELECT * EXCLUDE (_file, _rn) FROM (
          SELECT *, {ts} AS ts,
                 row_number() OVER (PARTITION BY conversation_id, started_at, agent_version ORDER BY _file DESC) AS _rn
          FROM ({src}) WHERE {' AND '.join(where)}
        ) WHERE _rn = 1""",
        params,
    )
    return con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]


def _naive(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


def stream_range(con: duckdb.DuckDBPyConnection, name: str = "production_stream") -> tuple[datetime | None, datetime | None]:
    lo, hi = con.execute(f"SELECT min(ts), max(ts) FROM {name}").fetchall()[0]
    return lo, hi
