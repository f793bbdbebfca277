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
"""

from __future__ import annotations

import os

import dagster as dg

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
        return dg.multiprocess_executor.configured({"max_concurrent": max(0, n)}, name="multiprocess")
    try:
        from dagster_celery import celery_executor
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("AGENT_RELEASE_EXECUTOR=celery needs the scale extra: pip install -e '.[scale]'") from exc
    broker, backend = celery_urls()
    return celery_executor.configured({"broker": broker, "backend": backend}, name="celery")
