"""The heavy partitioned assets on a distributed executor: masking (by day) and replay (release × day)
run as real Dagster runs (`dagster job execute`) whose steps go to two dagster-celery workers over a
Redis broker (Debian's redis-server, started here on loopback), then the release's eval suites
(golden, adversarial, scenarios, latency/cost in parallel, then the gate), and give the same
outputs as the same runs on the in-process executor.
"""

from __future__ import annotations

import json
import shutil
import sys
import threading
import time
from pathlib import Path

import polars as pl
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parent.parent
RELEASE = "support-bot-2"
DAYS = ["2026-11-02", "2026-11-03"]


sys.path.insert(0, str(ROOT / "scripts"))  # test and bench harnesses (not a package)
import scaleout  # noqa: E402
import services  # noqa: E402

SITE_ENV = {
    "AGENT_RELEASE_DEMO": "1",
    "AGENT_RELEASE_SYNTHETIC_CONVERSATIONS": "240",
    "AGENT_RELEASE_TRAFFIC_START": DAYS[0],
    "AGENT_RELEASE_TRAFFIC_END": "2026-11-04",
    "AGENT_RELEASE_MASKING_WORKERS": "1",
}


def _pipeline(site, parallel: int) -> dict[str, list]:
    out = {"ingest": [scaleout.execute(site, "ingest_logs")]}
    out["mask"] = scaleout.execute_many(site, "mask_traffic", DAYS, parallel)
    inst = site.instance()
    try:
        inst.add_dynamic_partitions("releases", [RELEASE])
    finally:
        inst.dispose()
    out["replay"] = scaleout.execute_many(site, "replay_release", [{"release": RELEASE, "day": d} for d in DAYS],
                                          parallel)
    out["suites"] = [scaleout.execute(site, "preprod_release", RELEASE)]
    return out


@pytest.fixture(scope="module")
def sites():
    with services.scratch_dir("agent-release-scale-") as work:
        inputs = work / "inputs"
        shutil.copytree(ROOT / "data", inputs, ignore=shutil.ignore_patterns(
            "lake", "warehouse.duckdb*", "synthetic", "reports", "checkpoints", "flags", "baselines"))
        ref = scaleout.make_site(work / "in_process", executor="in_process", inputs=inputs, env=SITE_ENV)
        ref_runs = _pipeline(ref, parallel=1)
        with services.redis_server(work / "redis") as port:
            cel = scaleout.make_site(work / "celery", executor="celery", inputs=inputs, env=SITE_ENV,
                                     broker=f"redis://127.0.0.1:{port}/0")
            with scaleout.celery_workers(cel, 2) as names, _AnalystReader(cel) as reader:
                cel_runs = _pipeline(cel, parallel=2)
            yield {"ref": (ref, ref_runs), "celery": (cel, cel_runs, names), "reader": reader}


class _AnalystReader:
    """An analyst querying the warehouse file while the workers write: a short read-only session
    every 0.2 s, counting masked rows through the published views. DuckDB lets no reader in while
    a writer holds the file, so a publish's write window can make an open wait (bounded, counted)."""

    def __init__(self, site):
        self.path = site.home / "data" / "warehouse.duckdb"
        self.reads, self.errors, self.waits, self.max_wait_s = 0, [], 0, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        import duckdb

        while not self._stop.is_set():
            if self.path.exists():
                try:
                    con = self._open(duckdb)
                    try:
                        views = {r[0] for r in con.execute(
                            "select schema_name || '.' || view_name from duckdb_views() where not internal").fetchall()}
                        if "masking.masked_conversations" in views:
                            con.execute("select count(*) from masking.masked_conversations").fetchone()
                            self.reads += 1
                    finally:
                        con.close()
                except Exception as exc:  # noqa: BLE001 - recorded: the test asserts there are none
                    self.errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
            self._stop.wait(0.2)

    def _open(self, duckdb):
        """Open read-only; while a publish holds its short write window, retry (as the analyst
        CLI would) for up to 5 s, recording the longest wait."""
        t0 = time.monotonic()
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=True)
                self.max_wait_s = max(self.max_wait_s, time.monotonic() - t0)
                return con
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() - t0 > 5.0:
                    raise
                self.waits += 1
                time.sleep(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)
        return False


def _failed(runs: dict[str, list]) -> list[str]:
    """Failed runs; the suites run "fails" on purpose when its gate blocks (a blocking check)."""
    return [f"{r.job} [{r.partition}]: see {r.log}\n{r.log.read_text(errors='replace')[-2500:]}"
            for k, rs in runs.items() for r in rs if not r.ok and k != "suites"]


def test_every_run_succeeds_on_both_executors(sites):
    _, ref_runs = sites["ref"]
    _, cel_runs, _ = sites["celery"]
    assert not _failed(ref_runs), _failed(ref_runs)[0]
    assert not _failed(cel_runs), _failed(cel_runs)[0]


def test_steps_ran_on_both_celery_workers(sites):
    cel, cel_runs, names = sites["celery"]
    run_ids = [r.run_id for rs in cel_runs.values() for r in rs if r.run_id]
    assert len(run_ids) == 2 + 2 * len(DAYS)
    used = scaleout.celery_workers_used(cel, run_ids)
    assert used == set(names) == {"w1", "w2"}, used


def _lake(site):
    from agent_release.warehouse import Lake

    return Lake(site.home / "data" / "lake")


def test_masked_traffic_is_identical(sites):
    ref, cel = _lake(sites["ref"][0]), _lake(sites["celery"][0])
    assert ref.partitions("masking.masked_conversations") == cel.partitions("masking.masked_conversations") == DAYS
    for day in DAYS:
        a = ref.read("masking.masked_conversations", partition=day).sort("conversation_id")
        b = cel.read("masking.masked_conversations", partition=day).sort("conversation_id")
        assert a.height > 0
        assert a.equals(b), day
    # the per-day entity counts only differ by run id
    a = ref.read("masking.entity_counts").drop("run_id").sort("day", "entity_type")
    b = cel.read("masking.entity_counts").drop("run_id").sort("day", "entity_type")
    assert a.equals(b)


# measured per call: differs between any two runs, whatever the executor
_TIMING = {"latency_ms", "ts"}


def _replayed(lake) -> pl.DataFrame:
    df = lake.read("replay.replayed_conversations").sort("side", "conversation_id")
    return df.with_columns(pl.col("messages").list.eval(pl.element().struct.with_fields(
        [pl.lit(None).alias(c) for c in _TIMING])))


def test_replayed_conversations_are_identical(sites):
    ref, cel = _lake(sites["ref"][0]), _lake(sites["celery"][0])
    a, b = _replayed(ref), _replayed(cel)
    assert a.height > 0 and set(a["side"]) == {"baseline", "candidate"}
    assert a.drop("messages").equals(b.drop("messages"))
    assert a["messages"].to_list() == b["messages"].to_list()
    runs_a = ref.read("replay.runs").select("release_id", "day", "side", "conversations_in", "conversations_out")
    runs_b = cel.read("replay.runs").select("release_id", "day", "side", "conversations_in", "conversations_out")
    assert runs_a.sort("day", "side").equals(runs_b.sort("day", "side"))


def _same(a: pl.DataFrame, b: pl.DataFrame, drop: set[str]) -> list[str]:
    """Columns (other than ``drop``) whose values differ."""
    assert a.columns == b.columns and a.height == b.height and a.height > 0
    return [c for c in a.columns if c not in drop and a[c].to_list() != b[c].to_list()]


def test_suite_scores_and_gate_are_identical(sites):
    """Scores, findings and the gate agree; only wall-clock measurements of in-process calls and
    run bookkeeping differ."""
    (ref_site, ref_runs), (cel_site, cel_runs, _) = sites["ref"], sites["celery"]
    ref, cel = _lake(ref_site), _lake(cel_site)
    wall = {"latency_ms", "turn_latencies_ms", "total_latency_ms", "run_id", "decided_at", "created_at",
            "evaluated_at"}
    for table in ("evals.golden_results", "evals.findings", "evals.scenario_results"):
        a, b = ref.read(table, partition=RELEASE), cel.read(table, partition=RELEASE)
        key = [c for c in a.columns if c not in wall and not a[c].dtype.is_nested()]
        assert not _same(a.sort(key), b.sort(key), wall), table
    da = ref.read("evals.gate_decision_history", partition=ref.partitions("evals.gate_decision_history")[-1])
    db = cel.read("evals.gate_decision_history", partition=cel.partitions("evals.gate_decision_history")[-1])
    wall = wall | {"recorded_at", "decision_id", "content_hash", "previous_decision_id", "manifest_json",
                   "manifest_hash"}
    # A turn that failed after retries records the time it really took (backoff with jitter), so
    # the p95 latency criterion carries wall-clock noise; its verdict and every other number agree.
    p95 = {"p95_latency_value", "p95_latency_ci_low", "p95_latency_ci_high", "criteria_json", "reasons"}
    assert not _same(da, db, wall | p95)
    ca, cb = (json.loads(d["criteria_json"][0]) for d in (da, db))
    assert [(c["name"], c["passed"]) for c in ca] == [(c["name"], c["passed"]) for c in cb]
    for x, y in zip(ca, cb, strict=True):
        if x["name"].startswith("p95") or "latency" in x["name"]:
            assert x["value"] > 0 and y["value"] > 0  # wall-clock: same verdict, not the same value
        else:
            assert (x["value"], x["ci_low"], x["ci_high"]) == (y["value"], y["ci_low"], y["ci_high"]), x["name"]
    assert ref_runs["suites"][0].ok == cel_runs["suites"][0].ok  # a blocked gate fails both runs alike


def test_analyst_warehouse_keeps_answering_while_workers_write(sites):
    """DESIGN.md storage rules: the analyst file (views over Parquet) answers read-only queries
    throughout, and ends up showing what the workers wrote."""
    import duckdb

    reader = sites["reader"]
    assert reader.reads >= 20 and not reader.errors, (reader.reads, reader.errors[:3])
    assert reader.max_wait_s < 5.0  # the write windows are short: nobody waits long
    cel = sites["celery"][0]
    lake = _lake(cel)
    con = duckdb.connect(str(cel.home / "data" / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from masking.masked_conversations").fetchone()[0] == \
            lake.read("masking.masked_conversations").height
        assert con.execute("select count(*) from replay.replayed_conversations").fetchone()[0] == \
            lake.read("replay.replayed_conversations").height
    finally:
        con.close()
