"""Which executor runs the steps of every job, chosen by configuration when the code location loads.

``AGENT_RELEASE_EXECUTOR``:

* ``multiprocess`` (default): each step in its own process on this machine, at most
  ``AGENT_RELEASE_MAX_CONCURRENT`` at a time (0 or unset = one per CPU). Day partitions of masking
  and release × day partitions of replay launched together (a backfill) run side by side.
* ``in_process``: every step in the run's own process, one after the other (debugging).
* ``celery``: steps are sent to Celery workers through a broker (dagster-celery, ``scale``
  extra). ``AGENT_RELEASE_CELERY_BROKER`` (default ``redis://127.0.0.1:6379/0``) and
  ``AGENT_RELEASE_CELERY_BACKEND`` (default: the broker's Redis, database 1). Workers are started
  with ``dagster-celery worker start -A dagster_celery.app -y <config.yaml>`` on any machine that
  can import this package, reach the broker and the Dagster instance (Postgres for more than one
  machine: deploy/dagster.postgres.yaml), and write the lake.

``execute_in_process`` (``make run``, tests) ignores the executor: it always runs in-process.

Step processes die with their run. Under ``multiprocess`` each step is a child process of the
run's process; if that process is killed (``kill -9``, OOM killer), a step left running would go
on writing its partition (re-masking a day, re-writing a replay) with nobody watching. So the run
process marks its step children (:data:`RUN_PID_ENV`, set by :class:`StepsDieWithRun` for the
duration of ``execute``), and a step child, when it loads this code location (the first thing a
Dagster step process does), asks the kernel to SIGKILL it the moment its parent dies
(:func:`die_with_parent`: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` on Linux; elsewhere a watchdog
thread polling ``os.getppid()``). In-process execution has no child and does nothing; Celery
steps run in their worker, not under the run process, and are not affected.

Runs whose process was killed end as FAILURE. Dagster's run monitoring (the daemon, which
``dagster dev`` / ``make ui`` starts) can only tell a dead run worker from a live one through the
run launcher, and the ``DefaultRunLauncher`` cannot (a kill -9'd run stays STARTED forever).
:class:`LocalRunLauncher` (deploy/dagster.yaml) is the default launcher plus that health check
for one machine: the process that started a run (the pid of its RUN_START event) is looked up on
this host; gone, a zombie, or a newer process under a reused pid means the run worker died, and
the monitoring daemon marks the run FAILURE within ``poll_interval_seconds``. That covers
``make run`` (execute_in_process) as well as runs launched from the UI.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time

import dagster as dg

log = logging.getLogger(__name__)

#: Set in the run process while its executor runs: the pid its step children must die with.
RUN_PID_ENV = "AGENT_RELEASE_RUN_PID"
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> str:
    """Make this process die (SIGKILL) as soon as its parent ``parent_pid`` does; return how.

    Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (the kernel delivers it when the parent — strictly,
    the parent thread that started us — exits). If the parent is already gone (we were re-parented
    before asking), die now. Elsewhere: a daemon thread that polls ``os.getppid()`` every second."""
    how = "watchdog"
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            how = "pdeathsig"
        else:  # pragma: no cover - prctl is always there on Linux
            log.warning("prctl(PR_SET_PDEATHSIG) failed (errno %d): falling back to a watchdog", ctypes.get_errno())
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), signal.SIGKILL)
    if how == "watchdog":
        def watch() -> None:
            while True:
                time.sleep(1.0)
                if os.getppid() != parent_pid:
                    os.kill(os.getpid(), signal.SIGKILL)

        threading.Thread(target=watch, name="die-with-parent", daemon=True).start()
    return how


def _die_with_run_if_step_process() -> str | None:
    """In a step process of a run executed by :class:`StepsDieWithRun`: die with that run."""
    run_pid = os.environ.get(RUN_PID_ENV, "")
    if not run_pid.isdigit():
        return None
    import multiprocessing

    parent = multiprocessing.parent_process()
    # only the run's direct children (its steps); not the run process itself, not grandchildren
    if parent is None or parent.pid != int(run_pid):
        return None
    return die_with_parent(parent.pid)


STEP_DEATH = _die_with_run_if_step_process()  # runs when a step process loads the code location


class StepsDieWithRun(dg.Executor):
    """An executor (the multiprocess one) whose step processes die with the run's process."""

    def __init__(self, inner: dg.Executor):
        self._inner = inner

    @property
    def retries(self):
        return self._inner.retries

    @property
    def step_dependency_config(self):
        return self._inner.step_dependency_config

    def execute(self, plan_context, execution_plan):
        before = os.environ.get(RUN_PID_ENV)
        os.environ[RUN_PID_ENV] = str(os.getpid())  # inherited by the step processes spawned below
        try:
            yield from self._inner.execute(plan_context, execution_plan)
        finally:
            if before is None:
                os.environ.pop(RUN_PID_ENV, None)
            else:
                os.environ[RUN_PID_ENV] = before


class LocalRunLauncher(dg.DefaultRunLauncher):
    """``DefaultRunLauncher`` + run-worker health for run monitoring, on one machine (the
    embedded default: a SQLite instance, the daemon and every run process on this host).

    Not for an instance shared by several machines (deploy/dagster.postgres.yaml): a pid is only
    meaningful on the host that recorded it."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run):
        from dagster._core.launcher import CheckRunHealthResult, WorkerStatus

        records = self._instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.RUN_START, limit=1).records
        event = records[0].event_log_entry if records else None
        pid = event.dagster_event.pid if event is not None and event.dagster_event is not None else None
        if pid is None:  # not started yet, or no pid recorded: nothing to judge
            return CheckRunHealthResult(WorkerStatus.RUNNING, "run process not known")
        if process_alive_since(pid, event.timestamp):
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"run process {pid} alive")
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"the run's process (pid {pid}) is gone: it was killed (kill -9, OOM, shutdown) before "
            "it could record the run's end")


def process_alive_since(pid: int, started_by: float) -> bool:
    """Whether process ``pid`` is alive (not a zombie) on this host and is the process that
    existed at ``started_by`` (epoch seconds), not a newer one that reuses the pid."""
    from agent_release.warehouse import pid_alive

    if not pid_alive(pid):
        return False
    try:
        stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        btime = next(float(line.split()[1]) for line in open("/proc/stat") if line.startswith("btime"))
    except (OSError, StopIteration, IndexError, ValueError):
        return True  # no procfs (not Linux): existence is all we know
    started_at = btime + int(stat[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime, ticks since boot
    return started_at <= started_by + 2.0  # btime has one-second resolution


multiprocess_dying_with_run = dg.ExecutorDefinition(
    name="multiprocess",
    config_schema=dg.multiprocess_executor.config_schema,
    requirements=dg.multiprocess_executor.get_requirements,
    executor_creation_fn=lambda init_context: StepsDieWithRun(
        dg.multiprocess_executor.executor_creation_fn(init_context)),
    description="Dagster's multiprocess executor; each step process dies with the run's process.",
)

EXECUTORS = ("multiprocess", "in_process", "celery")


def celery_urls() -> tuple[str, str]:
    broker = os.environ.get("AGENT_RELEASE_CELERY_BROKER", "redis://127.0.0.1:6379/0")
    backend = os.environ.get("AGENT_RELEASE_CELERY_BACKEND", "")
    if not backend:
        backend = broker.rsplit("/", 1)[0] + "/1" if broker.startswith("redis") else "rpc://"
    return broker, backend


def executor_from_env() -> dg.ExecutorDefinition:
    kind = os.environ.get("AGENT_RELEASE_EXECUTOR", "multiprocess").strip().lower() or "multiprocess"
    if kind not in EXECUTORS:
        raise ValueError(f"AGENT_RELEASE_EXECUTOR must be one of {', '.join(EXECUTORS)} (got {kind!r})")
    if kind == "in_process":
        return dg.in_process_executor
    if kind == "multiprocess":
        raw = os.environ.get("AGENT_RELEASE_MAX_CONCURRENT", "0").strip() or "0"
        try:
            n = int(raw)
        except ValueError:
            raise ValueError(f"AGENT_RELEASE_MAX_CONCURRENT must be an integer (got {raw!r})") from None
        return multiprocess_dying_with_run.configured({"max_concurrent": max(0, n)}, name="multiprocess")
    try:
        from dagster_celery import celery_executor
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("AGENT_RELEASE_EXECUTOR=celery needs the scale extra: pip install -e '.[scale]'") from exc
    broker, backend = celery_urls()
    return celery_executor.configured({"broker": broker, "backend": backend}, name="celery")
