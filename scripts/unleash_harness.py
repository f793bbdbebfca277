#!/usr/bin/env python3
"""Start a REAL Unleash server on a throwaway PostgreSQL cluster, both on loopback, and tear them down.

Used by ``agent_release_tests/test_unleash_integration.py`` (import :func:`unleash_server`) and
runnable by hand::

    python scripts/unleash_harness.py up        # start, print URL + tokens, wait for Ctrl-C
    python scripts/unleash_harness.py check     # start, create a flag, stop (smoke test)

What it does
------------
1. **Unleash**: ``npm install unleash-server@7.5.1`` (the last release that runs on Node.js 20)
   into a cache folder outside git — ``$AGENT_RELEASE_UNLEASH_CACHE`` or
   ``~/.cache/agent_release/unleash/<version>`` — once; later runs reuse it (install scripts are
   not run: Unleash needs none, and its telemetry postinstall must not phone home).
2. **PostgreSQL 15** (``scripts/services.py``, shared with other tests): Debian's server binaries (``/usr/lib/postgresql/15/bin``; installed with
   ``apt-get install -y postgresql-15`` when missing and we are root). ``initdb`` / ``pg_ctl``
   refuse to run as root, so as root they run as the ``postgres`` user (``runuser``). The cluster
   lives in a temporary directory, listens on 127.0.0.1 on a free port (trust auth, fsync off:
   it is thrown away), and gets a database ``unleash``.
3. **Unleash server** (``node dist/server.js``) on 127.0.0.1 on a free port, with
   ``INIT_ADMIN_API_TOKENS`` (``*:*.<random>``) and ``INIT_CLIENT_API_TOKENS``
   (``default:<env>.<random>``), version check and telemetry off; waits for ``/health``.
4. Teardown: stops the node process (by its pid) and the cluster (``pg_ctl stop -m fast``),
   removes the temporary directory.

Every failure raises :class:`HarnessError` with a message saying what to install or fix; the
integration test turns it into a test failure (never a silent skip).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from services import (  # noqa: E402  (scripts/services.py: the throwaway PostgreSQL cluster)
    PG_BIN,
    HarnessError,
    _log,
    ensure_postgres,
    free_port,
    harness_cli,
    postgres_cluster,
    scratch_dir,
    stop_process,
    wait_for_interrupt,
)

__all__ = ["PG_BIN", "HarnessError", "UnleashServer", "ensure_postgres", "ensure_unleash", "free_port",
           "postgres_cluster", "unleash_server"]

UNLEASH_VERSION = os.environ.get("AGENT_RELEASE_UNLEASH_VERSION", "7.5.1")


@dataclass(frozen=True)
class UnleashServer:
    url: str  # http://127.0.0.1:<port>
    admin_token: str
    client_token: str
    environment: str
    project: str
    pg_port: int
    startup_seconds: float
    install_seconds: float

    @property
    def api_url(self) -> str:
        return self.url + "/api"


def cache_dir(version: str = UNLEASH_VERSION) -> Path:
    base = os.environ.get("AGENT_RELEASE_UNLEASH_CACHE")
    root = Path(base) if base else Path.home() / ".cache" / "agent_release" / "unleash"
    return root / version


def ensure_unleash(version: str = UNLEASH_VERSION, timeout_s: float = 420.0) -> tuple[Path, float]:
    """Install unleash-server into the cache (once). Returns (server.js path, seconds spent)."""
    d = cache_dir(version)
    pkg = d / "node_modules" / "unleash-server"
    server = pkg / "dist" / "server.js"
    try:
        if json.loads((pkg / "package.json").read_text()).get("version") == version and server.exists():
            return server, 0.0
    except (OSError, ValueError):
        pass
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise HarnessError("node/npm not found on PATH: install Node.js 20 (Debian: apt-get install -y nodejs npm) "
                           f"to run the Unleash integration test (unleash-server@{version})")
    major = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip().lstrip("v").split(".")[0]
    if major.isdigit() and int(major) < 20:
        raise HarnessError(f"Node.js {major} is too old for unleash-server@{version} (needs >= 20)")
    d.mkdir(parents=True, exist_ok=True)
    (d / "package.json").write_text(json.dumps({"name": "agent-release-unleash-harness", "private": True}))
    _log(f"installing unleash-server@{version} into {d} (first run only)…")
    t0 = time.monotonic()
    try:
        r = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--omit=dev", "--ignore-scripts",
                            "--loglevel=error", f"unleash-server@{version}"], cwd=d, capture_output=True, text=True,
                           timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise HarnessError(f"npm install unleash-server@{version} did not finish in {timeout_s:.0f}s") from None
    if r.returncode != 0 or not server.exists():
        raise HarnessError(f"npm install unleash-server@{version} failed (exit {r.returncode}): "
                           f"{(r.stderr or r.stdout)[-1500:]}")
    secs = time.monotonic() - t0
    _log(f"installed in {secs:.0f}s")
    return server, secs


def _wait_health(url: str, proc: subprocess.Popen, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HarnessError(f"unleash-server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200 and b"GOOD" in r.read():
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise HarnessError(f"unleash-server not healthy after {timeout_s:.0f}s: {log.read_text()[-2000:]}")


def _wait_api(url: str, admin_token: str, timeout_s: float = 30.0) -> None:
    """/health answers before the admin API accepts the init tokens: wait for both."""
    deadline = time.monotonic() + timeout_s
    req = urllib.request.Request(url + "/api/admin/projects", headers={"Authorization": admin_token})
    last = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(req, timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.3)
    raise HarnessError(f"Unleash admin API not ready after {timeout_s:.0f}s ({last})")


@contextlib.contextmanager
def unleash_server(version: str = UNLEASH_VERSION, environment: str = "production",
                   startup_timeout_s: float = 120.0) -> Iterator[UnleashServer]:
    server_js, install_s = ensure_unleash(version)
    proc = None
    with scratch_dir("agent-release-unleash-") as work, postgres_cluster(work, ("unleash",)) as pg_port:
        try:
            port = free_port()
            admin = f"*:*.{secrets.token_hex(16)}"
            client = f"default:{environment}.{secrets.token_hex(16)}"
            env = dict(os.environ, DATABASE_HOST="127.0.0.1", DATABASE_PORT=str(pg_port),
                       DATABASE_USERNAME="postgres", DATABASE_PASSWORD="unused", DATABASE_NAME="unleash",
                       DATABASE_SSL="false", HTTP_HOST="127.0.0.1", HTTP_PORT=str(port),
                       INIT_ADMIN_API_TOKENS=admin, INIT_CLIENT_API_TOKENS=client, CHECK_VERSION="false",
                       SEND_TELEMETRY="false", LOG_LEVEL="warn", NODE_ENV="production",
                       UNLEASH_URL=f"http://127.0.0.1:{port}")
            log = work / "unleash.log"
            t0 = time.monotonic()
            with open(log, "w") as fh:
                # its own session: stop_process then signals node and nothing else of ours
                proc = subprocess.Popen(["node", str(server_js)], cwd=server_js.parent.parent, env=env, stdout=fh,
                                        stderr=subprocess.STDOUT, start_new_session=True)
            url = f"http://127.0.0.1:{port}"
            _wait_health(url, proc, log, startup_timeout_s)
            _wait_api(url, admin)
            up = time.monotonic() - t0
            _log(f"unleash-server {version} up on {url} in {up:.1f}s (postgres on 127.0.0.1:{pg_port})")
            yield UnleashServer(url, admin, client, environment, "default", pg_port, up, install_s)
        finally:
            if proc is not None:
                stop_process(proc)


@harness_cli
def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["up", "check", "install"])
    args = ap.parse_args(argv)
    if args.command == "install":
        ensure_unleash()
        ensure_postgres()
        return 0
    with unleash_server() as srv:
        print(json.dumps({"url": srv.url, "admin_token": srv.admin_token, "client_token": srv.client_token,
                          "environment": srv.environment, "startup_seconds": round(srv.startup_seconds, 1)}),
              flush=True)
        if args.command == "check":
            sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
            from agent_release.flags.audit import MemoryAuditLog
            from agent_release.flags.unleash import UnleashFlagBackend

            with UnleashFlagBackend(srv.url, srv.admin_token, environment=srv.environment,
                                    audit=MemoryAuditLog()) as b:
                b.set_percentage("harness-check", 25, reason="harness check", actor="cli:harness")
                print(b.get("harness-check").describe())
            return 0
        return wait_for_interrupt()


if __name__ == "__main__":
    sys.exit(main())
