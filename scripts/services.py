#!/usr/bin/env python3
"""Throwaway services for tests and benchmarks, started on loopback and torn down afterwards.

* :func:`postgres_cluster` — a PostgreSQL 15 cluster (Debian's server binaries in
  ``/usr/lib/postgresql/15/bin``, or ``$AGENT_RELEASE_PG_BIN``; ``apt-get install -y postgresql-15``
  when missing and we are root). ``initdb`` / ``pg_ctl`` refuse to run as root, so as root they
  run as the ``postgres`` user (``runuser``). The cluster lives in the given work directory,
  listens on 127.0.0.1 on a free port (trust auth, user ``postgres``, fsync off: it is thrown
  away) and gets the requested databases.
* :func:`redis_server` — Debian's ``redis-server`` (``apt-get install -y redis-server`` when
  missing and we are root) on 127.0.0.1 on a free port, no persistence, stopped at exit.

By hand::

    python scripts/services.py postgres [--db dagster]   # prints {"port": ..., "url": ...}, Ctrl-C stops
    python scripts/services.py redis

Every failure raises :class:`HarnessError` with a message saying what to install or fix; tests
turn it into a test failure (never a silent skip).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

PG_BIN = Path(os.environ.get("AGENT_RELEASE_PG_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_FALLBACK = Path("/usr/bin/redis-server")


class HarnessError(RuntimeError):
    pass


def _log(msg: str) -> None:
    print(f"[services] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A temporary directory the ``postgres`` user can reach (mode 755), removed at exit."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(work, 0o755)
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _apt_install(package: str) -> subprocess.CompletedProcess:
    """``apt-get install -y <package>`` (root only), once more after ``apt-get update`` on failure.
    Waits up to 5 minutes for a dpkg lock held by another apt run."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    lock = ["-o", "DPkg::Lock::Timeout=300"]
    cmd = ["apt-get", *lock, "install", "-y", "-q", package]
    _log(f"installing {package} (apt-get)…")
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        if r.returncode != 0:
            subprocess.run(["apt-get", *lock, "update", "-q"], capture_output=True, text=True, env=env, timeout=900)
            r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HarnessError(f"apt-get install -y {package} failed: {exc}") from None
    return r


def ensure_postgres() -> Path:
    """Debian's PostgreSQL 15 server binaries; apt-get installs them when missing (root only)."""
    if (PG_BIN / "initdb").exists() and (PG_BIN / "pg_ctl").exists():
        return PG_BIN
    if os.geteuid() != 0:
        raise HarnessError(f"PostgreSQL 15 server binaries not found in {PG_BIN}: install them "
                           "(sudo apt-get install -y postgresql-15) or set AGENT_RELEASE_PG_BIN")
    r = _apt_install("postgresql-15")
    if r.returncode != 0:
        raise HarnessError(f"apt-get install -y postgresql-15 failed: {(r.stderr or r.stdout)[-1500:]}")
    if not (PG_BIN / "initdb").exists():
        raise HarnessError(f"postgresql-15 is installed but {PG_BIN}/initdb does not exist: "
                           "set AGENT_RELEASE_PG_BIN to the folder holding initdb and pg_ctl")
    return PG_BIN


def ensure_redis() -> Path:
    """Debian's ``redis-server``; apt-get installs it when missing (root only)."""
    found = shutil.which("redis-server") or (str(REDIS_FALLBACK) if REDIS_FALLBACK.exists() else None)
    if found:
        return Path(found)
    if os.geteuid() != 0:
        raise HarnessError("redis-server not found on PATH nor in /usr/bin: install it "
                           "(sudo apt-get install -y redis-server) to run the Celery/Redis tests")
    r = _apt_install("redis-server")
    found = shutil.which("redis-server") or (str(REDIS_FALLBACK) if REDIS_FALLBACK.exists() else None)
    if r.returncode != 0:
        raise HarnessError(f"apt-get install -y redis-server failed: {(r.stderr or r.stdout)[-1500:]}")
    if not found:
        raise HarnessError("redis-server is installed but neither on PATH nor in /usr/bin")
    return Path(found)


def _as_pg_user(cmd: list[str]) -> list[str]:
    """initdb / pg_ctl refuse to run as root: run them as the postgres user then."""
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--", *cmd]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(subprocess.list2cmdline([c]) for c in cmd)]


def _run(cmd: list[str], what: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HarnessError(f"{what} failed: {exc}") from None
    if r.returncode != 0:
        raise HarnessError(f"{what} failed (exit {r.returncode}): {(r.stderr or r.stdout)[-1500:]}")
    return r


@contextlib.contextmanager
def postgres_cluster(workdir: Path, databases: Sequence[str] = ("unleash",)) -> Iterator[int]:
    """A throwaway cluster in ``workdir`` with ``databases`` created; yields its port
    (host 127.0.0.1, user ``postgres``, trust auth: any password is accepted).

    As root, ``workdir`` and its parents must be reachable by the ``postgres`` user (see
    :func:`scratch_dir`)."""
    pg = ensure_postgres()
    data = workdir / "pgdata"
    sock = workdir / "pgsock"
    sock.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres")
        shutil.chown(sock, "postgres")
    _run(_as_pg_user([str(pg / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                      "--no-sync", "--no-instructions"]), "initdb")
    port = free_port()
    opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    _run(_as_pg_user([str(pg / "pg_ctl"), "-D", str(data), "-l", str(workdir / "postgres.log"), "-o", opts, "-w",
                      "-t", "60", "start"]), f"pg_ctl start (log: {workdir / 'postgres.log'})")
    try:
        psql = pg / "psql" if (pg / "psql").exists() else Path(shutil.which("psql") or "psql")
        for db in databases:
            ident = '"' + db.replace('"', '""') + '"'
            _run([str(psql), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "postgres", "-q", "-c",
                  f"CREATE DATABASE {ident}"], f"CREATE DATABASE {ident}")
        yield port
    finally:
        subprocess.run(_as_pg_user([str(pg / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                       capture_output=True, text=True, timeout=60)


def stop_process(proc: subprocess.Popen, timeout_s: float = 15.0) -> None:
    """SIGTERM the process group of ``proc`` (started with ``start_new_session=True``: only it and
    its children), SIGKILL when it does not stop within ``timeout_s``."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server(workdir: Path, startup_timeout_s: float = 20.0) -> Iterator[int]:
    """``redis-server`` on 127.0.0.1 on a free port, no persistence; yields the port once it
    answers PING, terminates it at exit."""
    binary = ensure_redis()
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = workdir / "redis.log"
    cmd = [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
           "--dir", str(workdir), "--daemonize", "no"]
    with open(log, "w") as fh:
        try:
            proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            raise HarnessError(f"cannot start {binary}: {exc}") from None
    try:
        deadline = time.monotonic() + startup_timeout_s
        while not _redis_ping(port):
            if proc.poll() is not None:
                raise HarnessError(f"redis-server exited with {proc.returncode}: {log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise HarnessError(f"redis-server did not answer PING on 127.0.0.1:{port} after "
                                   f"{startup_timeout_s:.0f}s: {log.read_text()[-2000:]}")
            time.sleep(0.05)
        _log(f"redis-server up on 127.0.0.1:{port}")
        yield port
    finally:
        stop_process(proc, timeout_s=10)


def _raise_interrupt(*_) -> None:
    raise KeyboardInterrupt


def interrupt_on_signals() -> None:
    """SIGTERM and SIGINT raise KeyboardInterrupt, so the services' context managers stop them
    (SIGINT too: a background job of a non-interactive shell starts with SIGINT ignored)."""
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, _raise_interrupt)


def wait_for_interrupt() -> int:
    """Block until Ctrl-C or SIGTERM (for the command lines); returns exit status 0."""
    interrupt_on_signals()
    print("Ctrl-C to stop", file=sys.stderr)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0


def harness_cli(main: Callable[..., int]) -> Callable[..., int]:
    """A command line's ``main``: a :class:`HarnessError` is printed as ``error: ...``, exit status 1."""

    @functools.wraps(main)
    def wrapped(*args, **kwargs) -> int:
        try:
            return main(*args, **kwargs)
        except HarnessError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1

    return wrapped


@harness_cli
def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("service", choices=["postgres", "redis"])
    ap.add_argument("--db", action="append", help="database(s) to create (postgres; default: dagster)")
    args = ap.parse_args(argv)
    interrupt_on_signals()  # a stop during start-up cleans up too
    with contextlib.ExitStack() as stack:
        work = stack.enter_context(scratch_dir(f"agent-release-{args.service}-"))
        if args.service == "postgres":
            dbs = args.db or ["dagster"]
            port = stack.enter_context(postgres_cluster(work, dbs))
            info = {"service": "postgres", "host": "127.0.0.1", "port": port, "user": "postgres",
                    "databases": dbs, "url": f"postgresql://postgres@127.0.0.1:{port}/{dbs[0]}"}
        else:
            port = stack.enter_context(redis_server(work))
            info = {"service": "redis", "host": "127.0.0.1", "port": port, "url": f"redis://127.0.0.1:{port}/0"}
        print(json.dumps(info), flush=True)
        return wait_for_interrupt()


if __name__ == "__main__":
    sys.exit(main())
