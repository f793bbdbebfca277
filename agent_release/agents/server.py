"""OpenAI-compatible HTTP server for the simulated agents (starlette + uvicorn).

Endpoints
---------
* ``POST /v1/chat/completions`` — body ``{"model", "messages", "metadata": {"locale",
  "conversation_id"}, "user"}``; answers ``{"id", "object": "chat.completion", "created",
  "model", "choices": [{"index": 0, "message": {"role": "assistant", "content", "tool_calls"},
  "finish_reason"}], "usage": {"prompt_tokens", "completion_tokens", "total_tokens"}}``. The
  agent's action is returned as the first tool call (``function.name`` = action,
  ``function.arguments`` = JSON). The reply is computed by :class:`SimulatedAgent` from the same
  inputs as in-process, so both paths give the same content and action. The server sleeps
  ``latency_ms × latency_scale`` (or exactly ``fixed_latency_ms``) and reports the simulated
  latency in the ``x-simulated-latency-ms`` header (HttpAgent records it as ``latency_ms``).
  A simulated agent error is returned as HTTP 500/503. With ``canned`` (``--canned``) the
  server skips the simulation and answers one pre-built completion after ``fixed_latency_ms``
  (faults still apply): a benchmark target whose CPU cost is only the HTTP path, so a client
  benchmark on the same machine measures the client.
* ``GET /v1/models`` and ``GET /healthz``.

Fault injection (tests): a :class:`FaultPlan` gives, per request, ``429`` (with ``Retry-After``),
``500``, ``503``, ``garbage`` (truncated JSON), ``empty`` (``choices: []``) or ``slow`` (sleeps
``slow_s`` extra) — from an explicit sequence first, then at random rates. ``report_model``
makes the server report another model id than the profile's (model-mismatch tests).

Running it: :func:`serve_in_thread` (a context manager yielding the base URL; tests and the
pipeline use it), :class:`ServerThread` (same, with ``stop()`` and access to the fault plan),
:func:`run_server` (blocking; ``workers > 1`` forks processes sharing one listening socket) and
:func:`main_serve` (``--version --port --host --latency-scale --seed --fixed-latency-ms
--workers --canned --fault``), which ``agent-release serve-agent`` wraps.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import logging
import random
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from agent_release.agents.simulated import SimulatedAgent, load_profile

log = logging.getLogger(__name__)

FAULT_KINDS = ("ok", "429", "500", "503", "garbage", "empty", "slow")
LATENCY_HEADER = "x-simulated-latency-ms"
_CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")


@dataclass
class FaultPlan:
    """Which fault the next request gets: ``sequence`` first (in arrival order), then ``rates``."""

    sequence: list[str] = field(default_factory=list)
    rates: dict[str, float] = field(default_factory=dict)
    retry_after_s: float = 1.0
    slow_s: float = 5.0
    seed: int = 0

    def __post_init__(self) -> None:
        bad = [k for k in [*self.sequence, *self.rates] if k not in FAULT_KINDS]
        if bad:
            raise ValueError(f"unknown fault kinds {bad}; one of {', '.join(FAULT_KINDS)}")
        self._lock = threading.Lock()
        self._i = 0
        self._rng = random.Random(self.seed)
        self.served: Counter[str] = Counter()

    def next(self) -> str | None:
        with self._lock:
            kind = None
            if self._i < len(self.sequence):
                kind = self.sequence[self._i]
                self._i += 1
            elif self.rates:
                r, acc = self._rng.random(), 0.0
                for k, p in self.rates.items():
                    acc += p
                    if r < acc:
                        kind = k
                        break
            self.served[kind or "ok"] += 1
        return None if kind in (None, "ok") else kind

    def reset(self, sequence: list[str] | None = None, rates: dict[str, float] | None = None) -> None:
        with self._lock:
            if sequence is not None:
                self.sequence = list(sequence)
            if rates is not None:
                self.rates = dict(rates)
            self._i = 0
            self.served.clear()


def _canned_body(model: str, version: str) -> bytes:
    """The one answer of ``--canned`` mode: a well-formed completion with usage and a tool call."""
    return json.dumps({
        "id": "chatcmpl-canned", "object": "chat.completion", "created": 0, "model": model,
        "system_fingerprint": version,
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "I found your order: it left our warehouse yesterday and should "
                                            "arrive within two business days.",
            "tool_calls": [{"id": "call_canned", "type": "function", "function": {
                "name": "lookup_order", "arguments": "{\"order_id\": \"00-0000\"}"}}]}}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 28, "total_tokens": 148},
    }).encode()


def _error_body(message: str, kind: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": kind}}).encode()


class AgentApp:
    """The starlette app serving one simulated version."""

    def __init__(self, version: str, *, seed: int | None = None, latency_scale: float = 0.01,
                 fixed_latency_ms: float | None = None, faults: FaultPlan | None = None,
                 report_model: str | None = None, api_key: str | None = None, agent_errors: bool = True,
                 canned: bool = False):
        from starlette.applications import Starlette
        from starlette.routing import Route

        self.agent = SimulatedAgent(load_profile(version), seed=seed)
        self.version = self.agent.version
        self.model = self.agent.profile.model
        self.latency_scale = float(latency_scale)
        self.fixed_latency_ms = fixed_latency_ms
        self.faults = faults
        self.report_model = report_model
        self.api_key = api_key
        self.agent_errors = agent_errors
        self.canned = _canned_body(self.report_model or self.model, self.version) if canned else None
        self.requests = 0
        self._chat = _ChatEndpoint(self)
        self.starlette = Starlette(routes=[
            Route("/v1/chat/completions", self._chat, methods=["POST"]),
            Route("/v1/models", self.models, methods=["GET"]),
            Route("/healthz", self.health, methods=["GET"]),
        ])

    async def app(self, scope, receive, send) -> None:
        """ASGI entry point: the chat-completions hot path skips Starlette's router and middleware
        stack; everything else (and errors) goes through Starlette."""
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in _CHAT_PATHS:
            await self._chat(scope, receive, send)
        else:
            await self.starlette(scope, receive, send)

    async def health(self, request):
        from starlette.responses import JSONResponse

        return JSONResponse({"status": "ok", "version": self.version, "model": self.model,
                             "requests": self.requests})

    async def models(self, request):
        from starlette.responses import JSONResponse

        return JSONResponse({"object": "list", "data": [
            {"id": self.report_model or self.model, "object": "model", "created": 0, "owned_by": "acme"}]})

    async def chat(self, body: bytes, authorization: str | None) -> tuple[int, dict[str, str], bytes]:
        """Handle one chat-completions request: (status, extra headers, JSON body)."""
        self.requests += 1
        if self.api_key is not None and authorization != f"Bearer {self.api_key}":
            return 401, {}, _error_body("invalid API key", "invalid_request_error")
        fault = self.faults.next() if self.faults is not None else None
        if fault == "429":
            return 429, {"retry-after": f"{self.faults.retry_after_s:g}"}, _error_body(  # type: ignore[union-attr]
                "rate limit reached", "rate_limit_error")
        if fault in ("500", "503"):
            return int(fault), {}, _error_body("upstream failure", "server_error")
        if self.canned is not None:  # benchmark target: fixed latency, one pre-built answer, no simulation
            delay = (self.fixed_latency_ms or 0.0) / 1000.0 + (self.faults.slow_s if fault == "slow" else 0.0)
            if delay > 0:
                await asyncio.sleep(delay)
            return 200, {}, self.canned
        try:
            req = json.loads(body)
        except ValueError:
            return 400, {}, _error_body("request body is not JSON", "invalid_request_error")
        messages = req.get("messages") if isinstance(req, dict) else None
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            return 400, {}, _error_body("messages must be a list of objects", "invalid_request_error")
        meta = req.get("metadata") if isinstance(req.get("metadata"), dict) else {}
        cid = meta.get("conversation_id") or req.get("user")
        d = self.agent.decide(messages, locale=meta.get("locale"), conversation_id=cid)
        delay = (self.fixed_latency_ms if self.fixed_latency_ms is not None
                 else d.latency_ms * self.latency_scale) / 1000.0
        if fault == "slow":
            delay += self.faults.slow_s  # type: ignore[union-attr]
        if delay > 0:
            await asyncio.sleep(delay)
        headers = {LATENCY_HEADER: f"{d.latency_ms:.3f}"}
        if fault == "garbage":
            return 200, headers, b'{"id": "chatcmpl-x", "choices": [{"message": {"content": "trunc'
        if d.error and self.agent_errors:
            status = int(d.error.rsplit("_", 1)[-1]) if d.error.startswith("http_") else 500
            return status, headers, _error_body("simulated model backend failure", "server_error")
        digest = hashlib.blake2b(f"{cid}|{d.turn}|{len(messages)}".encode(), digest_size=12).hexdigest()
        message: dict = {"role": "assistant", "content": d.content}
        if d.action:
            message["tool_calls"] = [{"id": f"call_{digest[:16]}", "type": "function", "function": {
                "name": d.action, "arguments": json.dumps(d.action_args or {}, ensure_ascii=False)}}]
        out = {
            "id": f"chatcmpl-{digest}", "object": "chat.completion", "created": int(time.time()),
            "model": self.report_model or self.model, "system_fingerprint": self.version,
            "choices": [] if fault == "empty" else [
                {"index": 0, "message": message, "finish_reason": "tool_calls" if d.action else "stop"}],
            "usage": {"prompt_tokens": d.input_tokens, "completion_tokens": d.output_tokens,
                      "total_tokens": (d.input_tokens or 0) + (d.output_tokens or 0)},
        }
        return 200, headers, json.dumps(out, ensure_ascii=False).encode("utf-8")


class _ChatEndpoint:
    """Raw ASGI endpoint for the hot path (no Request/Response objects: ~2x less server CPU)."""

    def __init__(self, app: AgentApp):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        chunks = []
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            chunks.append(msg.get("body", b""))
            if not msg.get("more_body"):
                break
        auth = None
        for k, v in scope.get("headers", ()):
            if k == b"authorization":
                auth = v.decode("latin-1")
        try:
            status, headers, body = await self.app.chat(b"".join(chunks), auth)
        except Exception as exc:  # noqa: BLE001 - never leak request contents in an error
            log.error("chat completion failed: %s", type(exc).__name__)
            status, headers, body = 500, {}, _error_body("internal error", "server_error")
        raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        raw += [(k.encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})


def create_app(version: str, **kw) -> AgentApp:
    return AgentApp(version, **kw)


def _uvicorn_config(app, host: str, port: int):
    import uvicorn

    try:
        import httptools  # noqa: F401

        http = "httptools"
    except ImportError:  # pragma: no cover
        http = "h11"
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:  # pragma: no cover
        loop = "asyncio"
    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off",
                          http=http, loop=loop, backlog=4096, timeout_keep_alive=60, server_header=False, interface="asgi3",
                          proxy_headers=False,
                          date_header=False)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


class ServerThread:
    """A uvicorn server for one simulated version in a background thread (its own event loop)."""

    def __init__(self, version: str, *, host: str = "127.0.0.1", port: int = 0, **app_kw):
        self.version = version
        self.host = host
        self.port = port
        self.app = AgentApp(version, **app_kw)
        self._server = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def faults(self) -> FaultPlan | None:
        return self.app.faults

    def start(self, timeout: float = 10.0) -> ServerThread:
        import uvicorn

        self._sock = _bind(self.host, self.port)
        self.port = self._sock.getsockname()[1]
        self._server = uvicorn.Server(_uvicorn_config(self.app.app, self.host, self.port))

        def run() -> None:
            try:
                self._server.run(sockets=[self._sock])
            except BaseException as exc:  # noqa: BLE001 - surfaced by start()
                self._error = exc

        self._thread = threading.Thread(target=run, name=f"agent-server-{self.version}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"agent server failed to start: {self._error!r}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError("agent server did not start in time")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(timeout)
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        self._thread = None

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@contextlib.contextmanager
def serve_in_thread(version: str, port: int = 0, **kw) -> Iterator[str]:
    """Serve ``version`` on loopback in a background thread; yields the base URL.

    ``kw``: ``host``, ``seed``, ``latency_scale`` (default 0.01), ``fixed_latency_ms``,
    ``faults`` (:class:`FaultPlan`), ``report_model``, ``api_key``.
    """
    srv = ServerThread(version, port=port, **kw).start()
    try:
        yield srv.base_url
    finally:
        srv.stop()


def _serve_socket(sock: socket.socket, version: str, app_kw: dict) -> None:
    import uvicorn

    app = AgentApp(version, **app_kw)
    host, port = sock.getsockname()[:2]
    uvicorn.Server(_uvicorn_config(app.app, host, port)).run(sockets=[sock])


def run_server(version: str, host: str = "127.0.0.1", port: int = 0, latency_scale: float = 0.01,
               seed: int | None = None, *, fixed_latency_ms: float | None = None, faults: FaultPlan | None = None,
               report_model: str | None = None, workers: int = 1, agent_errors: bool = True,
               canned: bool = False) -> None:
    """Serve ``version`` until interrupted. Prints ``serving <version> on <url>`` once listening
    (with the real port when ``port=0``). ``workers > 1`` forks processes sharing the socket."""
    load_profile(version)  # fail fast on an unknown version
    sock = _bind(host, port)
    sock.listen(4096)
    url = f"http://{host}:{sock.getsockname()[1]}"
    app_kw = {"seed": seed, "latency_scale": latency_scale, "fixed_latency_ms": fixed_latency_ms, "faults": faults,
              "report_model": report_model, "agent_errors": agent_errors, "canned": canned}
    print(f"serving {version} on {url}", flush=True)
    if workers <= 1:
        _serve_socket(sock, version, app_kw)
        return
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_serve_socket, args=(sock, version, app_kw), daemon=True) for _ in range(workers)]
    for p in procs:
        p.start()

    def stop(*_):
        for p in procs:
            if p.is_alive():
                p.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        for p in procs:
            p.join()
    except KeyboardInterrupt:
        stop()


def _opt_int(v: str) -> int | None:
    return None if v.strip().lower() in ("", "none", "null") else int(v)


def main_serve(argv: list[str] | None = None) -> int:
    """``agent-release serve-agent``: serve a simulated version over OpenAI-compatible HTTP."""
    ap = argparse.ArgumentParser(prog="agent-release serve-agent",
                                 description="Serve a simulated support agent as an OpenAI-compatible API.")
    ap.add_argument("--version", default="support-bot@2", help="simulated version (profile name)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8808, help="0 = pick a free port (printed)")
    ap.add_argument("--latency-scale", type=float, default=0.01,
                    help="fraction of the simulated latency actually slept (default 0.01)")
    ap.add_argument("--seed", type=_opt_int, default=None, help="override the profile's seed")
    ap.add_argument("--fixed-latency-ms", type=float, default=None,
                    help="sleep exactly this long per request instead (benchmarks)")
    ap.add_argument("--workers", type=int, default=1, help="server processes sharing the socket")
    ap.add_argument("--report-model", default=None, help="model id to report instead of the profile's")
    ap.add_argument("--no-agent-errors", action="store_true",
                    help="never return the profile's simulated agent errors (benchmarks)")
    ap.add_argument("--canned", action="store_true",
                    help="answer every request with one fixed completion, no simulation (client benchmarks)")
    ap.add_argument("--fault", action="append", default=[], metavar="KIND=RATE",
                    help=f"inject faults at random ({', '.join(FAULT_KINDS[1:])}), e.g. --fault 429=0.05")
    args = ap.parse_args(argv)
    rates = {}
    for spec in args.fault:
        kind, _, rate = spec.partition("=")
        rates[kind] = float(rate or 0)
    faults = FaultPlan(rates=rates) if rates else None
    logging.basicConfig(level=logging.WARNING)
    try:
        run_server(args.version, args.host, args.port, args.latency_scale, args.seed,
                   fixed_latency_ms=args.fixed_latency_ms, faults=faults, report_model=args.report_model,
                   workers=args.workers, agent_errors=not args.no_agent_errors, canned=args.canned)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main_serve())
