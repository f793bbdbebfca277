"""Operations under faults: writers killed with SIGKILL (``AGENT_RELEASE_FAULT_POINT``, points in
``warehouse.FAULT_POINTS``), temporary files of dead writers, step processes outliving their run,
the shipped instance config."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from agent_release import faultpoints, warehouse
from agent_release.warehouse import Lake, refresh_warehouse

ROOT = Path(__file__).resolve().parent.parent
TABLE = "demo.events"


def _tmp(d: Path, partition: str, host: str, pid: int | str, age_s: float = 0.0) -> Path:
    f = d / f".{partition}.parquet.{host}.{pid}.{'ab' * 16}.tmp"
    f.write_bytes(b"PAR1 torn")
    if age_s:
        t = time.time() - age_s
        os.utime(f, (t, t))
    return f


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_a_stale_tmp_of_a_dead_pid_is_removed_on_the_next_write_while_a_live_pids_is_kept(home):
    lake = Lake.default()
    lake.write(TABLE, pl.DataFrame({"k": [1]}), partition="2026-11-02")
    d = lake.table_dir(TABLE)
    host = warehouse._HOST
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = _tmp(d, "2026-11-02", host, _dead_pid())
        dead_old = _tmp(d, "2026-11-03", host, _dead_pid(), age_s=10 * 86400)
        live_tmp = _tmp(d, "2026-11-02", host, live.pid, age_s=10 * 86400)  # old, but its writer lives
        mine = _tmp(d, "2026-11-04", host, os.getpid())
        other_host_recent = _tmp(d, "2026-11-02", "other-host", 12345)
        other_host_old = _tmp(d, "2026-11-02", "other-host", 12346, age_s=warehouse.STALE_TMP_AGE_S + 60)
        legacy_recent = d / ".2026-11-02.parquet.0123abcd.tmp"  # the name format before pids
        legacy_recent.write_bytes(b"x")
        legacy_old = d / ".2026-11-05.parquet.4567cdef.tmp"
        legacy_old.write_bytes(b"x")
        os.utime(legacy_old, (time.time() - 2 * warehouse.STALE_TMP_AGE_S,) * 2)
        # readers never pick up temporary files
        assert lake.partitions(TABLE) == ["2026-11-02"]
        assert lake.read(TABLE)["k"].to_list() == [1]
        with lake.connect() as con:
            assert con.execute(f"select count(*) from {TABLE}").fetchone()[0] == 1
        lake.write(TABLE, pl.DataFrame({"k": [2]}), partition="2026-11-06")  # the next write sweeps
        gone = {dead, dead_old, other_host_old, legacy_old}
        kept = {live_tmp, mine, other_host_recent, legacy_recent}
        assert not any(f.exists() for f in gone)
        assert all(f.exists() for f in kept)
        assert sorted(lake.read(TABLE)["k"].to_list()) == [1, 2]
    finally:
        live.kill()
        live.wait()
    # once the writer is dead (and reaped), its file goes with the next write
    lake.write(TABLE, pl.DataFrame({"k": [3]}), partition="2026-11-06")
    assert not live_tmp.exists()


def test_a_zombie_writer_counts_as_dead():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while warehouse.pid_alive(p.pid) and time.monotonic() < deadline:  # exited, not reaped: a zombie
        time.sleep(0.02)
    assert not warehouse.pid_alive(p.pid)
    assert p.poll() == 0  # reaped only now
    assert warehouse.pid_alive(os.getpid())


WRITER = textwrap.dedent(
    """
    import sys
    import polars as pl
    from pathlib import Path
    from agent_release.warehouse import Lake
    lake = Lake(Path(sys.argv[1]))
    if sys.argv[2] == "write":
        lake.write("demo.events", pl.DataFrame({"k": [20, 21, 22]}), partition="2026-11-02")
    else:
        lake.publish_staged("demo.events", "2026-11-02")
    print("not killed", flush=True)
    """
)


def _killed_at(point: str, lake: Lake, action: str) -> subprocess.CompletedProcess:
    env = {**os.environ, faultpoints.ENV: point}
    return subprocess.run([sys.executable, "-c", WRITER, str(lake.root), action], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_a_writer_sigkilled_between_tmp_write_and_rename_leaves_readers_the_old_data_and_the_next_write_cleans_up(home):
    lake = Lake.default()
    lake.write(TABLE, pl.DataFrame({"k": [10, 11]}), partition="2026-11-02")
    refresh_warehouse()
    res = _killed_at("lake:before_rename", lake, "write")
    assert res.returncode == -9, res.stderr[-2000:]  # really SIGKILLed, at the boundary
    assert "not killed" not in res.stdout
    d = lake.table_dir(TABLE)
    torn = list(d.glob(".*.tmp"))
    assert len(torn) == 1 and f".{warehouse._HOST}." in torn[0].name
    assert pl.read_parquet(torn[0])["k"].to_list() == [20, 21, 22]  # complete, just never renamed
    # readers see the old data: the lake, the pipeline connection and the analyst file
    assert lake.partitions(TABLE) == ["2026-11-02"]
    assert lake.read(TABLE)["k"].to_list() == [10, 11]
    from agent_release.config import paths

    con = duckdb.connect(str(paths().warehouse), read_only=True)
    try:
        assert con.execute(f"select sum(k) from {TABLE}").fetchone()[0] == 21
    finally:
        con.close()
    # the next write to the table removes the dead writer's file
    lake.write(TABLE, pl.DataFrame({"k": [30]}), partition="2026-11-03")
    assert not list(d.glob(".*.tmp"))
    assert sorted(lake.read(TABLE)["k"].to_list()) == [10, 11, 30]


def test_a_publish_sigkilled_before_its_rename_leaves_the_previous_published_partition(home):
    lake = Lake.default()
    lake.write(TABLE, pl.DataFrame({"k": [1]}), partition="2026-11-02")
    lake.stage(TABLE, pl.DataFrame({"k": [2]}), partition="2026-11-02")
    with lake.connect() as con:
        assert con.execute(f"select sum(k) from {TABLE}").fetchone()[0] == 1  # staged is invisible
    res = _killed_at("lake:before_publish_rename", lake, "publish")
    assert res.returncode == -9, res.stderr[-2000:]
    assert lake.read(TABLE)["k"].to_list() == [1]
    assert lake.staged_partitions(TABLE) == ["2026-11-02"]  # still staged: the publish can be re-run
    lake.publish_staged(TABLE, "2026-11-02")
    assert lake.read(TABLE)["k"].to_list() == [2] and lake.staged_partitions(TABLE) == []
    assert TABLE in lake.tables() and not any(t.startswith(warehouse.STAGING) for t in lake.tables())


# ------------------------------------------------------------------ step processes die with their run
STEP_JOB = textwrap.dedent(
    """
    import os, time
    from pathlib import Path
    import dagster as dg
    from agent_release.defs import executors

    OUT = Path(os.environ["STEP_TEST_DIR"])

    @dg.op
    def rewrite_the_day():
        (OUT / "step.pid").write_text(f"{os.getpid()} {executors.STEP_DEATH}")
        for i in range(1200):  # a long step that keeps writing its partition
            (OUT / "beat").write_text(str(i))
            time.sleep(0.05)

    EXECUTOR = executors.multiprocess_dying_with_run if os.environ["STEP_TEST_EXECUTOR"] == "ours" \\
        else dg.multiprocess_executor

    @dg.job(executor_def=EXECUTOR)
    def long_day():
        rewrite_the_day()
    """
)

RUNNER = textwrap.dedent(
    """
    import os
    import dagster as dg
    import stepjob
    home = os.path.join(os.environ["STEP_TEST_DIR"], "dagster_home")
    os.makedirs(home, exist_ok=True)
    with dg.instance_for_test(temp_dir=home) as instance:
        dg.execute_job(dg.reconstructable(stepjob.long_day), instance=instance)
    """
)


def _wait_for(path: Path, timeout: float = 90.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"{path.name} never appeared")


def _run_then_kill_the_run_process(tmp_path: Path, executor: str) -> tuple[float, str, bool]:
    """Start a run whose one step runs in its own process; SIGKILL the run's process (the step's
    parent) once the step runs. Returns (seconds until the step was gone, how it was armed, step
    still alive 5 s later)."""
    (tmp_path / "stepjob.py").write_text(STEP_JOB)
    env = {**os.environ, "STEP_TEST_DIR": str(tmp_path), "STEP_TEST_EXECUTOR": executor,
           "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    env.pop("AGENT_RELEASE_RUN_PID", None)
    run = subprocess.Popen([sys.executable, "-c", RUNNER], env=env, cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    step_pid = None
    try:
        pid_text, how = _wait_for(tmp_path / "step.pid").split()
        step_pid = int(pid_text)
        _wait_for(tmp_path / "beat")
        t0 = time.monotonic()
        run.kill()  # SIGKILL the run's process only: no cleanup, no signal forwarded to the step
        run.wait()
        while warehouse.pid_alive(step_pid) and time.monotonic() < t0 + 5.0:
            time.sleep(0.01)
        return time.monotonic() - t0, how, warehouse.pid_alive(step_pid)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        if step_pid and warehouse.pid_alive(step_pid):
            os.kill(step_pid, 9)


def test_a_multiprocess_step_process_dies_when_its_run_process_is_sigkilled(tmp_path):
    seconds, how, alive = _run_then_kill_the_run_process(tmp_path, "ours")
    assert how == ("pdeathsig" if sys.platform.startswith("linux") else "watchdog")
    assert not alive, "the step outlived its run"
    assert seconds < (1.0 if how == "pdeathsig" else 3.0), seconds
    beat = (tmp_path / "beat").read_text()
    time.sleep(0.5)
    assert (tmp_path / "beat").read_text() == beat  # nobody rewrites the partition any more


@pytest.mark.slow
def test_without_it_dagsters_multiprocess_step_outlives_its_killed_run(tmp_path):
    """The failure the executor fixes, shown on Dagster's own multiprocess executor."""
    _, how, alive = _run_then_kill_the_run_process(tmp_path, "dagster")
    assert how == "None" and alive


def test_step_death_is_armed_only_in_the_run_processes_direct_children(monkeypatch):
    from agent_release.defs import executors

    monkeypatch.setenv(executors.RUN_PID_ENV, str(os.getppid()))
    assert executors._die_with_run_if_step_process() is None  # not a multiprocessing child: untouched
    monkeypatch.setenv(executors.RUN_PID_ENV, "not-a-pid")
    assert executors._die_with_run_if_step_process() is None


# ------------------------------------------------------------------ run monitoring (instance config)
DEPLOY = ROOT / "deploy"

NAP_JOB = textwrap.dedent(
    """
    import time
    import dagster as dg

    @dg.op
    def nap():
        time.sleep(300)

    @dg.job
    def napping():
        nap()

    napping.execute_in_process(instance=dg.DagsterInstance.get())
    """
)


def _home_with(tmp_path: Path, yaml_name: str) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_bytes((DEPLOY / yaml_name).read_bytes())  # verbatim
    return home


def test_the_shipped_instance_config_enables_run_monitoring_and_loads_as_a_valid_instance(tmp_path, monkeypatch):
    import dagster as dg

    from agent_release.defs.executors import LocalRunLauncher

    monkeypatch.setenv("DAGSTER_HOME", str(_home_with(tmp_path, "dagster.yaml")))
    with dg.DagsterInstance.get() as instance:
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_max_resume_run_attempts == 0
        assert 0 < instance.run_monitoring_poll_interval_seconds <= 60
        assert instance.run_monitoring_start_timeout_seconds > 0
        assert isinstance(instance.run_launcher, LocalRunLauncher)
        assert instance.run_launcher.supports_check_run_worker_health


def test_the_postgres_instance_config_enables_run_monitoring_and_validates(tmp_path):
    from dagster._core.instance.config import dagster_instance_config

    config, _ = dagster_instance_config(str(_home_with(tmp_path, "dagster.postgres.yaml")))
    mon = config["run_monitoring"]
    assert mon["enabled"] and mon["max_resume_run_attempts"] == 0 and mon["max_runtime_seconds"] > 0
    assert "run_launcher" not in config  # Dagster's default launcher: several hosts share this instance


def test_a_run_whose_process_is_sigkilled_ends_failure_through_run_monitoring(tmp_path):
    """A run executed in-process (as `make run` does) on the shipped instance config; its process
    is SIGKILLed; one pass of Dagster's run monitoring (what the daemon does every
    poll_interval_seconds) marks it FAILURE. A live run next to it stays STARTED."""
    import logging

    import dagster as dg
    from dagster._daemon.monitoring.run_monitoring import monitor_started_run

    home = _home_with(tmp_path, "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    procs = [subprocess.Popen([sys.executable, "-c", NAP_JOB], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                runs = instance.get_run_records(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
                if len(runs) == 2:
                    break
                time.sleep(0.2)
            assert len(runs) == 2, "the runs never started"
            pid_of = {r.dagster_run.run_id: instance.get_records_for_run(
                r.dagster_run.run_id, of_type=dg.DagsterEventType.RUN_START).records[0].event_log_entry.dagster_event.pid
                for r in runs}
            killed = next(rid for rid, pid in pid_of.items() if pid == procs[0].pid)
            procs[0].kill()
            procs[0].wait()
            for r in instance.get_run_records(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
                monitor_started_run(instance, None, r, logging.getLogger("test"))
            assert instance.get_run_by_id(killed).status == dg.DagsterRunStatus.FAILURE
            alive = next(rid for rid in pid_of if rid != killed)
            assert instance.get_run_by_id(alive).status == dg.DagsterRunStatus.STARTED
            failure = instance.get_records_for_run(killed, of_type=dg.DagsterEventType.RUN_FAILURE).records
            assert f"pid {procs[0].pid}) is gone" in failure[0].event_log_entry.dagster_event.message
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()

