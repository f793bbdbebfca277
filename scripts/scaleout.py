"""Run the project's jobs as real Dagster runs on a scratch "site", on the multiprocess, in-process
or Celery executor — the way an operator would from the command line.

Used by ``agent_release_tests/test_scale_executors.py`` and ``bench/scale.py``.

* :func:`make_site` — a scratch project home (``AGENT_RELEASE_HOME``) and a persistent Dagster
  instance (``DAGSTER_HOME`` with ``deploy/dagster.yaml``, initialised once before any worker
  starts: concurrent first use of a fresh SQLite instance races on its schema migration), plus
  the environment every process of the site gets (executor selection included).
* :func:`execute` — one run: ``dagster job execute -m agent_release.definitions -a defs -j <job>``
  with the partition given as run tags, in a subprocess, its output in a log file.
* :func:`execute_many` — the runs of a backfill, at most ``parallel`` at a time (what a run queue
  with ``max_concurrent_runs`` does).
* :func:`celery_workers` — ``dagster-celery worker start`` processes on the site's broker, waited
  for until ready, stopped at exit.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


class ScaleoutError(RuntimeError):
    pass


@dataclass
class Site:
    root: Path
    dagster_home: Path
    home: Path
    env: dict[str, str]
    executor: str
    logs: Path
    celery_yaml: Path | None = None
    runs: list[RunOutcome] = field(default_factory=list)

    def instance(self):
        import dagster as dg

        return dg.DagsterInstance.from_config(str(self.dagster_home))


@dataclass(frozen=True)
class RunOutcome:
    job: str
    partition: str | None
    ok: bool
    seconds: float
    run_id: str | None
    log: Path


def make_site(root: Path, *, executor: str, inputs: Path | None = None, env: dict[str, str] | None = None,
              broker: str | None = None) -> Site:
    """A fresh site under ``root``. ``executor``: multiprocess | in_process | celery (needs ``broker``)."""
    root.mkdir(parents=True, exist_ok=True)
    dh, home, logs = root / "dagster_home", root / "home", root / "logs"
    for d in (dh, home / "data", logs):
        d.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "deploy" / "dagster.yaml", dh / "dagster.yaml")
    full = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_RELEASE_", "DAGSTER_"))}
    full.update({
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # `celery` for dagster-celery
        "PYTHONPATH": str(ROOT),
        "DAGSTER_HOME": str(dh),
        "AGENT_RELEASE_HOME": str(home),
        "AGENT_RELEASE_EXECUTOR": executor,
        "HF_HUB_OFFLINE": "1",
        "TLDEXTRACT_CACHE": str(dh / "tldextract"),
    })
    if inputs is not None:
        full["AGENT_RELEASE_INPUTS"] = str(inputs)
    celery_yaml = None
    if executor == "celery":
        if not broker:
            raise ScaleoutError("the celery executor needs a broker URL")
        backend = broker.rsplit("/", 1)[0] + "/1"
        full["AGENT_RELEASE_CELERY_BROKER"] = broker
        full["AGENT_RELEASE_CELERY_BACKEND"] = backend
        celery_yaml = ROOT / "deploy" / "celery.yaml"  # the executor's config block, URLs from the env
    full.update(env or {})
    r = subprocess.run([sys.executable, "-c", "import dagster as dg; dg.DagsterInstance.get().get_runs(limit=1)"],
                       env=full, cwd=ROOT, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise ScaleoutError(f"could not initialise the Dagster instance: {r.stderr[-1500:]}")
    return Site(root, dh, home, full, executor, logs, celery_yaml)


def partition_tags(partition: str | dict[str, str] | None) -> dict[str, str]:
    """Run tags selecting a partition; a dict is a multi-partition key (dimension → key)."""
    if partition is None:
        return {}
    if isinstance(partition, dict):
        tags = {f"dagster/partition/{k}": v for k, v in partition.items()}
        tags["dagster/partition"] = "|".join(partition[k] for k in sorted(partition))
        return tags
    return {"dagster/partition": partition}


def execute(site: Site, job: str, partition: str | dict[str, str] | None = None,
            timeout_s: float = 900.0, executor: str | None = None) -> RunOutcome:
    """One run; ``executor`` overrides the site's for this run (e.g. ``in_process`` for a light
    job on a Celery site with no worker up yet)."""
    tags = partition_tags(partition)
    env = dict(site.env, AGENT_RELEASE_EXECUTOR=executor) if executor else site.env
    label = tags.get("dagster/partition", "all").replace("|", "_")
    log = site.logs / f"{job}__{label}.log"
    cmd = [str(VENV_BIN / "dagster"), "job", "execute", "-m", "agent_release.definitions", "-a", "defs", "-j", job]
    if tags:
        cmd += ["--tags", json.dumps(tags)]
    t0 = time.monotonic()
    with open(log, "w") as fh:
        try:
            r = subprocess.run(cmd, env=env, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout_s)
            rc = r.returncode
        except subprocess.TimeoutExpired:
            rc = -1
    secs = time.monotonic() - t0
    text = log.read_text(errors="replace")
    run_id = None
    for line in text.splitlines():
        if f" - {job} - " in line:
            run_id = line.split(f" - {job} - ", 1)[1].split(" ", 1)[0]
            break
    ok = rc == 0 and "RUN_SUCCESS" in text
    out = RunOutcome(job, tags.get("dagster/partition"), ok, secs, run_id, log)
    site.runs.append(out)
    return out


def execute_many(site: Site, job: str, partitions: Sequence[str | dict[str, str]], parallel: int) -> list[RunOutcome]:
    """One run per partition, at most ``parallel`` at a time; results in partition order."""
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        return list(pool.map(lambda p: execute(site, job, p), partitions))


@contextlib.contextmanager
def celery_workers(site: Site, n: int, concurrency: int = 1, startup_timeout_s: float = 90.0) -> Iterator[list[str]]:
    """``n`` Celery workers (``w1``..``wn``, ``concurrency`` pool processes each) for the site."""
    if site.celery_yaml is None:
        raise ScaleoutError("not a celery site")
    procs, logs, names = [], [], []
    try:
        for i in range(1, n + 1):
            name = f"w{i}"
            log = site.logs / f"celery_{name}.log"
            fh = open(log, "w")  # noqa: SIM115 - closed below
            cmd = [str(VENV_BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
                   "-y", str(site.celery_yaml), "-n", name, "--", f"--concurrency={concurrency}"]
            procs.append((subprocess.Popen(cmd, env=site.env, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT,
                                           start_new_session=True), fh))
            logs.append(log)
            names.append(name)
        deadline = time.monotonic() + startup_timeout_s
        pending = set(range(n))
        while pending and time.monotonic() < deadline:
            for i in list(pending):
                if procs[i][0].poll() is not None:
                    raise ScaleoutError(f"celery worker {names[i]} exited: {logs[i].read_text()[-1500:]}")
                if " ready." in logs[i].read_text(errors="replace"):
                    pending.discard(i)
            time.sleep(0.3)
        if pending:
            raise ScaleoutError(f"celery workers not ready after {startup_timeout_s:.0f}s: "
                                f"{[names[i] for i in sorted(pending)]}")
        yield names
    finally:
        for p, _ in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p, fh in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)
            fh.close()


def celery_workers_used(site: Site, run_ids: Sequence[str]) -> set[str]:
    """Names of the Celery workers that executed steps of these runs (from the run's events)."""
    inst = site.instance()
    used = set()
    try:
        for rid in run_ids:
            for rec in inst.all_logs(rid):
                ev = rec.dagster_event
                if ev is None or ev.event_type_value != "ENGINE_EVENT":
                    continue
                md = getattr(ev.event_specific_data, "metadata", None) or {}
                w = md.get("Celery worker")
                if w is not None:
                    used.add(str(getattr(w, "value", w)).split("@", 1)[0])
    finally:
        inst.dispose()
    return used
