"""Storage: a Parquet lake that pipelines write, and the analyst-facing DuckDB file of views.

DuckDB allows one writer process per database file, and an analyst's session on that file
would block a pipeline that writes into it (and vice versa). So tables are never written into
``data/warehouse.duckdb``. Instead:

* each table is a folder of Parquet files under ``data/lake/<schema>/<table>/``; a partition is
  one file, written to a temporary name and moved into place with an atomic ``os.replace`` —
  so re-running a partition replaces its slice (idempotent, no duplicates) and a reader sees
  either the old or the new file, never half of one;
* ``data/warehouse.duckdb`` holds only *views* over those folders (``read_parquet`` globs), so
  an analyst session sees new data without the file itself changing. The views are refreshed in
  a short write window under a file lock, retried while another process holds the file; if an
  analyst keeps the file open read-write for longer than the retry budget, the refresh is skipped
  with a warning (the data is still written; existing views already pick it up).
* a few views are *derived*: SQL over lake tables rather than one table each
  (:func:`_derived_views`; e.g. the "current" decision tables ``evals.gate_decisions`` and
  ``canary.decisions`` over the append-only decision histories, see ``agent_release.decision_log``).
  A lake table with a derived view's name (a legacy table) is never exposed;
* pipelines query with an in-memory DuckDB connection that has the same schema.table names as
  views, so SQL written by analysts and by the pipeline is interchangeable.

The restricted raw zone (``data/lake/_raw``: raw intake with PII, generator ground truth) is
never exposed as a view in the analyst file. Neither is the staging area (``data/lake/_staging``):
a partition that must pass checks before anyone may read it is *staged* there
(:meth:`Lake.stage`), checked, and only then *published* (:meth:`Lake.publish_staged`: one atomic
rename into the table's folder, which the views' globs pick up at once). A staged partition whose
checks failed stays in staging, unpublished: treat the staging area as restricted like ``_raw``.

Crash safety. Every file is written under a temporary name ``.<partition>.parquet.<host>.<pid>.
<random>.tmp`` and renamed into place, so a writer killed at any point leaves the previous file
intact and readers (``*.parquet`` globs) never see the temporary one. The next write to the same
folder removes temporary files left by dead writers (:func:`sweep_stale_tmp`): those of this host
whose pid is gone, and any other (another host's, or an unparseable name) older than
:data:`STALE_TMP_AGE_S`; a live writer's temporary file is never touched.

Fault injection (tests, drills): ``AGENT_RELEASE_FAULT_POINT=<name>`` makes the process SIGKILL
itself when it reaches the named boundary (agent_release/faultpoints.py; names in :data:`FAULT_POINTS`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from agent_release import faultpoints
from agent_release.config import Paths, paths

log = logging.getLogger(__name__)

RAW_SCHEMA = "_raw"
STAGING = "_staging"  # lake folder of staged (checked-before-published) partitions; never exposed
STORAGE_COMPAT = "v1.0.0"
WHOLE = "all"  # partition name for unpartitioned tables

#: A temporary file older than this, whose writer cannot be checked from here (another host, or a
#: name without a pid), is taken as abandoned. Writing one partition file takes seconds.
STALE_TMP_AGE_S = 3600.0

#: Crash points (``AGENT_RELEASE_FAULT_POINT=<name>``, see agent_release/faultpoints.py: the process
#: SIGKILLs itself there, no cleanup, like ``kill -9``):
#:   lake:before_rename           a partition's tmp file written and fsynced, not yet renamed into place
#:   lake:before_publish_rename   a staged partition about to be renamed into the published table
FAULT_POINTS = ("lake:before_rename", "lake:before_publish_rename")


# ------------------------------------------------------------------------------ temporary files
_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:63] or "host"
_TMP = re.compile(r"^\.(?P<target>.+\.parquet)\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\.[0-9a-f]+\.tmp$")


def _tmp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.{_HOST}.{os.getpid()}.{uuid.uuid4().hex}.tmp")


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host and is not a zombie (killed, not yet reaped)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, another user's
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no procfs (not Linux): existence is all we know
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def sweep_stale_tmp(folder: Path, *, now: float | None = None) -> list[Path]:
    """Remove temporary files in ``folder`` left by dead writers; return what was removed.

    A temporary file of this host is removed when its writer's pid is gone; any other (another
    host's writer, or a name this module did not make) when it is older than
    :data:`STALE_TMP_AGE_S`. A live writer's file is never removed."""
    removed: list[Path] = []
    now = time.time() if now is None else now
    for f in folder.glob(".*.tmp"):
        m = _TMP.match(f.name)
        try:
            if m and m["host"] == _HOST:
                stale = not pid_alive(int(m["pid"]))
            else:
                stale = now - f.stat().st_mtime > STALE_TMP_AGE_S
            if stale:
                f.unlink()
                removed.append(f)
        except FileNotFoundError:
            continue  # renamed or removed meanwhile
    if removed:
        log.info("removed %d temporary file(s) of dead writers in %s", len(removed), folder)
    return removed


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes (identifies one written partition file)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _split(table: str) -> tuple[str, str]:
    schema, _, name = table.partition(".")
    if not schema or not name or "/" in table or ".." in table:
        raise ValueError(f"table must be 'schema.name', got {table!r}")
    return schema, name


def _safe_partition(partition: str) -> str:
    bad = set('/\\:*?"<>|') | {"\0"}
    if not partition or any(c in bad for c in partition) or partition.startswith("."):
        raise ValueError(f"invalid partition key {partition!r}")
    return partition


@dataclass(frozen=True)
class DerivedView:
    """A view defined by SQL over lake tables (e.g. a "current" table over a decision history).

    ``sql`` is a template: ``{src:<schema.table>}`` is replaced by a ``read_parquet`` of that lake
    table (``sources`` must all exist for the view to be created; ``optional`` tables that do not
    exist are replaced by an empty relation with the columns given)."""

    name: str
    sources: tuple[str, ...]
    sql: str
    optional: dict[str, str] = field(default_factory=dict)  # table -> "SELECT ... WHERE false"

    def available(self, have: set[str]) -> bool:
        return all(s in have for s in self.sources)

    def render(self, lake: Lake, have: set[str]) -> str:
        out = self.sql
        for t in (*self.sources, *self.optional):
            if t in have:
                rel = f"read_parquet('{lake.glob(t)}', union_by_name=true)"
            else:
                rel = f"({self.optional[t]})"
            out = out.replace("{src:" + t + "}", rel)
        return out

    @property
    def fingerprint(self) -> str:
        import hashlib

        return hashlib.sha256(self.sql.encode()).hexdigest()[:8]


def _derived_views() -> tuple[DerivedView, ...]:
    from agent_release import catalog as c

    gate_h, canary_h = c.GATE_DECISION_HISTORY, c.CANARY_DECISION_HISTORY
    latest_eval = (f"(SELECT release_id, max(evaluation_seq) AS evaluation_seq FROM {{src:{canary_h}}} "
                   "GROUP BY release_id)")
    return (
        DerivedView(
            c.GATE_DECISIONS, (gate_h,),
            f"""
            WITH h AS (SELECT * FROM {{src:{gate_h}}}),
            latest AS (
                SELECT *, count(*) OVER (PARTITION BY release_id) AS history_rows FROM h
                QUALIFY row_number() OVER (PARTITION BY release_id ORDER BY seq DESC, recorded_at DESC) = 1),
            cur AS (SELECT release_id, manifest_hash AS current_manifest_hash, checked_at AS manifest_checked_at
                    FROM {{src:{c.INPUT_MANIFESTS}}})
            SELECT l.release_id,
                   CASE WHEN c.current_manifest_hash IS NOT NULL AND c.current_manifest_hash = l.manifest_hash
                        THEN l.decision ELSE 'STALE' END AS status,
                   l.* EXCLUDE (release_id), c.current_manifest_hash, c.manifest_checked_at
            FROM latest l LEFT JOIN cur c ON c.release_id = l.release_id
            """,
            optional={c.INPUT_MANIFESTS: "SELECT NULL::VARCHAR AS release_id, NULL::VARCHAR AS manifest_hash, "
                                         "NULL::TIMESTAMPTZ AS checked_at WHERE false"},
        ),
        DerivedView(
            c.CANARY_DECISIONS, (canary_h,),
            f"""
            SELECT h.* FROM {{src:{canary_h}}} h
            JOIN {latest_eval} e ON e.release_id = h.release_id AND e.evaluation_seq = h.evaluation_seq
            """,
        ),
        *(DerivedView(
            view, (canary_h, hist),
            f"""
            SELECT h.* FROM {{src:{hist}}} h
            JOIN {latest_eval} e ON e.release_id = h.release_id AND e.evaluation_seq = h.evaluation_seq
            """,
        ) for view, hist in ((c.CANARY_DECISION_METRICS, c.CANARY_METRIC_HISTORY),
                             (c.CANARY_DECISION_SEGMENTS, c.CANARY_SEGMENT_HISTORY))),
    )


def derived_view_names() -> set[str]:
    """Names taken by derived views: a lake table of the same name (a legacy table) is never exposed."""
    return {v.name for v in _derived_views()}


def exposed_names(lake: Lake) -> tuple[list[str], list[str]]:
    """(lake tables exposed as views, derived views that exist) — what analysts can query."""
    tables, views = _exposed(lake)
    return tables, [v.name for v in views]


def _exposed(lake: Lake, *, include_raw: bool = False) -> tuple[list[str], list[DerivedView]]:
    """Lake tables to expose as plain views, and the derived views that can be created."""
    have = set(lake.tables())
    views = [v for v in _derived_views() if v.available(have)]
    taken = {v.name for v in _derived_views()}
    tables = [t for t in sorted(have) if t not in taken and (include_raw or not t.startswith(RAW_SCHEMA + "."))]
    return tables, views


@dataclass
class Lake:
    """Read/write access to the Parquet lake. Cheap to construct; holds no connection."""

    root: Path

    @classmethod
    def default(cls) -> Lake:
        return cls(paths().lake)

    # ---------------------------------------------------------------- write
    def table_dir(self, table: str) -> Path:
        schema, name = _split(table)
        return self.root / schema / name

    def staged_dir(self, table: str) -> Path:
        """Where staged (not yet published) partitions of ``table`` wait: never read by views."""
        schema, name = _split(table)
        return self.root / STAGING / schema / name

    def write(
        self,
        table: str,
        data: pl.DataFrame | pa.Table,
        partition: str = WHOLE,
        *,
        replace_all: bool = False,
    ) -> Path:
        """Write one partition of ``table`` atomically; replaces that partition's previous file.

        ``replace_all`` removes every other partition file too (for whole-table rewrites).
        """
        d = self.table_dir(table)
        target = self._write_file(d, data, partition)
        if replace_all:
            for other in d.glob("*.parquet"):
                if other != target:
                    other.unlink(missing_ok=True)
        return target

    def stage(self, table: str, data: pl.DataFrame | pa.Table, partition: str) -> Path:
        """Write one partition of ``table`` to the staging area (atomically, like :meth:`write`).

        Nothing that reads ``table`` — the analyst views, :meth:`read`, :meth:`connect` — sees it
        until :meth:`publish_staged` moves it into place."""
        return self._write_file(self.staged_dir(table), data, partition)

    def _write_file(self, d: Path, data: pl.DataFrame | pa.Table, partition: str) -> Path:
        d.mkdir(parents=True, exist_ok=True)
        target = d / f"{_safe_partition(partition)}.parquet"
        sweep_stale_tmp(d)
        tmp = _tmp_name(target)
        arrow = data.to_arrow() if isinstance(data, pl.DataFrame) else data
        try:
            pq.write_table(arrow, tmp, compression="zstd")
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            faultpoints.reached("lake:before_rename")
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(d)
        return target

    def staged_path(self, table: str, partition: str) -> Path:
        return self.staged_dir(table) / f"{_safe_partition(partition)}.parquet"

    def read_staged(self, table: str, partition: str) -> pl.DataFrame:
        path = self.staged_path(table, partition)
        if not path.exists():
            raise FileNotFoundError(f"{table} has no staged partition {partition!r}")
        return pl.read_parquet(path)

    def staged_partitions(self, table: str) -> list[str]:
        d = self.staged_dir(table)
        return sorted(p.stem for p in d.glob("*.parquet")) if d.is_dir() else []

    def publish_staged(self, table: str, partition: str) -> Path:
        """Publish a staged partition: one atomic rename into the table's folder (the views and
        readers then see the new file, never half of it); replaces the published partition."""
        src = self.staged_path(table, partition)
        if not src.exists():
            raise FileNotFoundError(f"{table} has no staged partition {partition!r}")
        d = self.table_dir(table)
        d.mkdir(parents=True, exist_ok=True)
        target = d / src.name
        faultpoints.reached("lake:before_publish_rename")
        os.replace(src, target)  # same file system (both under the lake root): atomic
        _fsync_dir(d)
        return target

    @contextlib.contextmanager
    def locked(self, name: str) -> Iterator[None]:
        """An exclusive inter-process lock (``<data>/.locks/<name>.lock``) for read-check-append
        writers (decision histories, the rollout's decisions): every writer of one table takes it."""
        lock_dir = self.root.parent / ".locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        with open(lock_dir / f"{name}.lock", "a+") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def delete_partition(self, table: str, partition: str) -> None:
        (self.table_dir(table) / f"{_safe_partition(partition)}.parquet").unlink(missing_ok=True)

    # ---------------------------------------------------------------- read
    def exists(self, table: str) -> bool:
        d = self.table_dir(table)
        return d.is_dir() and any(d.glob("*.parquet"))

    def partitions(self, table: str) -> list[str]:
        d = self.table_dir(table)
        return sorted(p.stem for p in d.glob("*.parquet")) if d.is_dir() else []

    def glob(self, table: str) -> str:
        return str(self.table_dir(table) / "*.parquet")

    def read(self, table: str, partition: str | None = None) -> pl.DataFrame:
        if partition is not None:
            path = self.table_dir(table) / f"{_safe_partition(partition)}.parquet"
            if not path.exists():
                raise FileNotFoundError(f"{table} has no partition {partition!r}")
            return pl.read_parquet(path)
        if not self.exists(table):
            raise FileNotFoundError(f"{table} has not been materialized yet")
        files = sorted(self.table_dir(table).glob("*.parquet"))
        return pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")

    def tables(self) -> list[str]:
        out = []
        if not self.root.is_dir():
            return out
        for schema_dir in sorted(p for p in self.root.iterdir() if p.is_dir() and p.name != STAGING):
            for tdir in sorted(p for p in schema_dir.iterdir() if p.is_dir()):
                if any(tdir.glob("*.parquet")):
                    out.append(f"{schema_dir.name}.{tdir.name}")
        return out

    @contextlib.contextmanager
    def connect(self, *, include_raw: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """An in-memory DuckDB connection with a view per lake table (same names as analysts)."""
        con = duckdb.connect(":memory:")
        try:
            tables, derived = _exposed(self, include_raw=include_raw)
            for table in tables:
                schema, name = _split(table)
                con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                con.execute(
                    f'CREATE OR REPLACE VIEW "{schema}"."{name}" AS SELECT * FROM '
                    f"read_parquet('{self.glob(table)}', union_by_name=true)"
                )
            have = set(self.tables())
            for v in derived:
                schema, name = _split(v.name)
                con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                con.execute(f'CREATE OR REPLACE VIEW "{schema}"."{name}" AS {v.render(self, have)}')
            yield con
        finally:
            con.close()

    def sql(self, query: str, params: list | None = None) -> pl.DataFrame:
        with self.connect() as con:
            return con.sql(query, params=params or None).pl()


# -------------------------------------------------------------------- analyst warehouse file
@contextlib.contextmanager
def _file_lock(lock_path: Path, timeout_s: float) -> Iterator[bool]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as fh:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    yield False
                    return
                time.sleep(0.05)
        try:
            yield True
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _view_sql(schema: str, name: str, glob: str) -> str:
    return (
        f'CREATE OR REPLACE VIEW "{schema}"."{name}" AS '
        f"SELECT * FROM read_parquet('{glob}', union_by_name=true)"
    )


def refresh_warehouse(p: Paths | None = None, *, retry_s: float = 20.0) -> dict:
    """(Re)create the analyst views in ``data/warehouse.duckdb``.

    Holds the file for well under a second. Retries while another process (an analyst's
    read-write session, another pipeline step) holds DuckDB's lock; returns a status dict
    instead of raising when the budget runs out, so an analyst never fails a pipeline run.
    """
    p = p or paths()
    lake = Lake(p.lake)
    _record_manifests(lake)
    tables, derived = _exposed(lake)
    views = [v.name for v in derived]
    started = time.monotonic()
    if _views_up_to_date(p, lake, tables, derived):
        # Nothing to change: don't take the write lock (an analyst may hold the file).
        return {"refreshed": False, "up_to_date": True, "tables": tables, "views": views}
    attempts = 0
    with _file_lock(p.locks / "warehouse.lock", retry_s) as got:
        if not got:
            return {"refreshed": False, "reason": "lock busy", "tables": tables, "views": views}
        while True:
            attempts += 1
            try:
                # Written in a storage format the DuckDB CLI of the previous major (1.x, the
                # `duckdb-cli` package analysts install) can read.
                con = duckdb.connect(str(p.warehouse), config={"storage_compatibility_version": STORAGE_COMPAT})
            except duckdb.IOException as exc:  # another process holds the file
                if time.monotonic() - started > retry_s:
                    log.warning("warehouse view refresh skipped: %s", type(exc).__name__)
                    return {
                        "refreshed": False,
                        "reason": "warehouse file held by another process",
                        "attempts": attempts,
                        "tables": tables,
                        "views": views,
                    }
                time.sleep(min(0.05 * attempts, 1.0))
                continue
            break
        try:
            con.execute("BEGIN")
            existing = con.execute(
                "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal"
            ).fetchall()
            wanted = set()
            from agent_release.catalog import all_tables

            docs = all_tables()
            for table in tables:
                schema, name = _split(table)
                wanted.add((schema, name))
                con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                con.execute(_view_sql(schema, name, lake.glob(table)))
                _comment(con, schema, name, docs.get(table))
            have = set(lake.tables())
            for v in derived:
                schema, name = _split(v.name)
                wanted.add((schema, name))
                con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                con.execute(f'CREATE OR REPLACE VIEW "{schema}"."{name}" AS {v.render(lake, have)}')
                _comment(con, schema, name, docs.get(v.name), suffix=_derived_note(v))
            for schema, name in existing:
                if (schema, name) not in wanted:
                    con.execute(f'DROP VIEW IF EXISTS "{schema}"."{name}"')
            con.execute("COMMIT")
        finally:
            con.close()
    return {
        "refreshed": True,
        "attempts": attempts,
        "seconds": round(time.monotonic() - started, 3),
        "tables": tables,
        "views": views,
    }


def _comment(con, schema: str, name: str, doc, suffix: str = "") -> None:
    if not doc and not suffix:
        return
    con.execute(f'COMMENT ON VIEW "{schema}"."{name}" IS ' + _quote(((doc.description if doc else "") + suffix).strip()))
    if not doc:
        return
    present = {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?",
        [schema, name]).fetchall()}
    for col, text in doc.columns.items():
        if col in present:  # a failed statement would abort the transaction
            con.execute(f'COMMENT ON COLUMN "{schema}"."{name}"."{col}" IS ' + _quote(text))


def _derived_note(v: DerivedView) -> str:
    return f" [derived view over {', '.join(v.sources)}; definition {v.fingerprint}]"


def _record_manifests(lake: Lake) -> None:
    """Recompute the current input manifest of every release with gate decisions, so the
    ``evals.gate_decisions`` view's status says STALE once an input changes. Never fails a
    publish."""
    from agent_release.catalog import GATE_DECISION_HISTORY

    if not lake.exists(GATE_DECISION_HISTORY):
        return
    try:
        from agent_release.decision_log import record_input_manifests

        record_input_manifests(lake)
    except Exception as exc:  # noqa: BLE001 - the view then reads STALE (fails closed)
        log.warning("current input manifests not recorded: %s", type(exc).__name__)


def _views_up_to_date(p: Paths, lake: Lake, tables: list[str], derived: list[DerivedView] = ()) -> bool:
    """True when the analyst file already has exactly the wanted views (read-only check, which
    DuckDB allows next to other read-only sessions)."""
    if not p.warehouse.exists():
        return False
    try:
        con = duckdb.connect(str(p.warehouse), read_only=True)
    except duckdb.Error:
        return False
    try:
        rows = con.execute(
            "SELECT schema_name, view_name, sql, comment FROM duckdb_views() WHERE NOT internal"
        ).fetchall()
    finally:
        con.close()
    have = {f"{s}.{v}": (sql, comment or "") for s, v, sql, comment in rows}
    if set(have) != set(tables) | {v.name for v in derived}:
        return False
    return (all(lake.glob(t) in have[t][0] for t in tables)
            and all(_derived_note(v) in have[v.name][1] and all(lake.glob(s) in have[v.name][0] for s in v.sources)
                    and all(lake.glob(o) in have[v.name][0] for o in v.optional if lake.exists(o))
                    for v in derived))


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
