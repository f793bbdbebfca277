"""The Dagster instance on a REAL PostgreSQL server: ``deploy/dagster.postgres.yaml``.

``scripts/services.py`` starts a throwaway PostgreSQL 15 cluster on loopback (database ``dagster``),
the instance is loaded from a ``$DAGSTER_HOME`` holding the deploy file verbatim (values from the
``DAGSTER_PG_*`` environment), and the rows are then read back with psycopg2, not through Dagster:
a run of the project's ``ingest_logs`` job and a tick of its ``monitoring_slo_schedule`` (evaluated
by Dagster's scheduler code over the real code location) land in Postgres. If the cluster cannot
start, the tests FAIL with the harness's message — they never skip.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import shutil
import sys
from datetime import timedelta
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
import yaml

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parent.parent
PG_YAML = ROOT / "deploy" / "dagster.postgres.yaml"
SCHEDULE = "monitoring_slo_schedule"  # every 5 minutes, no partitions, no evaluation function


def _services():
    spec = importlib.util.spec_from_file_location("services", ROOT / "scripts" / "services.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["services"] = mod
    spec.loader.exec_module(mod)
    return mod


def _dagster_home(path: Path, run_coordinator: dict | None = None) -> Path:
    """``path/dagster.yaml`` = the deploy file (optionally with another run coordinator)."""
    path.mkdir(parents=True, exist_ok=True)
    if run_coordinator is None:
        shutil.copy(PG_YAML, path / "dagster.yaml")
    else:
        cfg = yaml.safe_load(PG_YAML.read_text())
        cfg["run_coordinator"] = run_coordinator
        (path / "dagster.yaml").write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def pg(tmp_path_factory):
    """(info, None) or (None, why the cluster could not start) — each test then FAILS with the reason."""
    svc = _services()
    with contextlib.ExitStack() as stack:
        try:
            work = stack.enter_context(svc.scratch_dir("agent-release-dagster-pg-"))
            port = stack.enter_context(svc.postgres_cluster(work, ("dagster",)))
        except svc.HarnessError as exc:
            yield None, str(exc)
            return
        env = dict(DAGSTER_PG_HOST="127.0.0.1", DAGSTER_PG_PORT=str(port), DAGSTER_PG_DB="dagster",
                   DAGSTER_PG_USERNAME="postgres", DAGSTER_PG_PASSWORD="",  # trust auth
                   AGENT_RELEASE_HOME=str(tmp_path_factory.mktemp("agent_release_home")),
                   AGENT_RELEASE_SYNTHETIC_CONVERSATIONS="40")
        saved = {k: os.environ.get(k) for k in env}
        stack.callback(lambda: [os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
                                for k, v in saved.items()])
        os.environ.update(env)
        instance = stack.enter_context(dg.DagsterInstance.from_config(
            str(_dagster_home(tmp_path_factory.mktemp("dagster_home")))))
        queued_home = _dagster_home(tmp_path_factory.mktemp("dagster_home_queued"),
                                    {"module": "dagster._core.run_coordinator", "class": "QueuedRunCoordinator"})
        yield {"port": port, "instance": instance, "queued_home": queued_home}, None


def _need(pg):
    info, error = pg
    if info is None:
        pytest.fail(f"could not start a throwaway PostgreSQL server: {error}", pytrace=False)
    return info


def _query(info, sql: str, *args):
    with contextlib.closing(psycopg2.connect(host="127.0.0.1", port=info["port"], user="postgres",
                                             dbname="dagster")) as conn:
        with conn, conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall()


def test_deploy_file_puts_runs_events_and_schedules_on_postgres(pg):
    from dagster._core.run_coordinator import DefaultRunCoordinator
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    instance = _need(pg)["instance"]
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
    assert isinstance(instance.run_coordinator, DefaultRunCoordinator)  # as deploy/dagster.yaml
    # the embedded default stays on local storage
    default = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    assert "storage" not in default and "run_storage" not in default


def test_a_project_run_and_its_events_land_in_postgres(pg):
    from dagster._core.events import DagsterEventType

    from agent_release.definitions import defs

    info = _need(pg)
    result = defs.resolve_job_def("ingest_logs").execute_in_process(instance=info["instance"], raise_on_error=False)
    assert result.success
    (status,), = _query(info, "SELECT status FROM runs WHERE run_id = %s", result.run_id)
    assert status == "SUCCESS"
    rows = _query(info, "SELECT dagster_event_type, count(*) FROM event_logs WHERE run_id = %s "
                        "GROUP BY dagster_event_type", result.run_id)
    counts = {k: n for k, n in rows}
    assert sum(counts.values()) == len(info["instance"].all_logs(result.run_id)) >= len(result.all_events)
    assert counts[DagsterEventType.RUN_SUCCESS.value] == 1  # stored as "PIPELINE_SUCCESS"
    assert counts[DagsterEventType.ASSET_MATERIALIZATION.value] >= 1
    assert counts[DagsterEventType.ASSET_CHECK_EVALUATION.value] >= 1  # the intake checks ran and were recorded


def test_a_schedule_tick_of_the_project_lands_in_postgres(pg):
    """The scheduler daemon's own code path (``launch_scheduled_runs``) over the real code location
    (a gRPC code server loading ``agent_release.definitions``). The instance queues the run
    (QueuedRunCoordinator, same database) so nothing executes."""
    from dagster._core.scheduler.instigation import TickData, TickStatus
    from dagster._core.test_utils import create_test_daemon_workspace_context, load_remote_repo
    from dagster._core.workspace.load_target import ModuleTarget
    from dagster._scheduler.scheduler import launch_scheduled_runs
    from dagster._serdes import deserialize_value
    from dagster._time import get_current_datetime

    info = _need(pg)
    target = ModuleTarget("agent_release.definitions", "defs", str(ROOT), "agent_release")
    with dg.DagsterInstance.from_config(str(info["queued_home"])) as instance, \
            create_test_daemon_workspace_context(target, instance) as ctx:
        schedule = load_remote_repo(ctx, "__repository__").get_schedule(SCHEDULE)
        instance.start_schedule(schedule)
        # the first tick due after the schedule was started (*/5 → within 5 minutes of now)
        end = get_current_datetime() + timedelta(minutes=5, seconds=30)
        list(launch_scheduled_runs(ctx, logging.getLogger("test_instance_postgres"), end, iteration_times={}))
        ticks = instance.get_ticks(schedule.get_remote_origin_id(), schedule.selector_id)
        instance.stop_schedule(schedule.get_remote_origin_id(), schedule.selector_id, schedule)

    assert len(ticks) == 1 and ticks[0].status == TickStatus.SUCCESS, [t.tick_data for t in ticks]
    rows = _query(info, "SELECT status, tick_body FROM job_ticks WHERE selector_id = %s", schedule.selector_id)
    assert [r[0] for r in rows] == ["SUCCESS"]
    body = deserialize_value(rows[0][1], TickData)  # the row's serialized tick
    assert body.instigator_name == SCHEDULE and body.status == TickStatus.SUCCESS and len(body.run_ids) == 1
    (run_id,) = body.run_ids
    (job_name, status), = _query(info, "SELECT pipeline_name, status FROM runs WHERE run_id = %s", run_id)
    assert (job_name, status) == ("monitoring_slo", "QUEUED")  # queued, not executed
    (state,), = _query(info, "SELECT status FROM instigators WHERE selector_id = %s", schedule.selector_id)
    assert state == "STOPPED"
