"""HttpAgent: any OpenAI-compatible ``/v1/chat/completions`` endpoint as an :class:`Agent`.

* **Pinned model**: every request names ``model``; the ``model`` the server reports is recorded
  and ``model_mismatch`` is set when it differs (silent model swaps are a release risk).
* **Retries**: 429 (honouring ``Retry-After``), 5xx/408, timeouts, connection errors, malformed
  JSON and empty ``choices`` are retried with exponential backoff and full jitter
  (``uniform(0, min(backoff_max_s, backoff_base_s * 2**attempt))``); after ``max_retries`` the
  reply carries ``error`` (``timeout``, ``rate_limited``, ``connection_refused``,
  ``connection_error``, ``malformed_json``, ``empty_choices`` or ``http_<status>``) — it never
  raises for those. Other 4xx are not retried.
* **Telemetry**: latency of the successful attempt (``latency_ms``) and of the whole call with
  retries and sleeps (``total_latency_ms``); ``usage.prompt_tokens/completion_tokens``; cost from
  ``prices.yaml`` at the pinned model's price. When the response carries the
  ``latency_header`` (default ``x-simulated-latency-ms``, sent only by the simulated-agent
  server, which sleeps just ``latency_scale`` of it) that value is recorded as ``latency_ms``
  instead of the measured time, so a fast loopback replay still reports the simulated latency
  distribution; pass ``latency_header=None`` to always record the measured time.
* **Request**: ``metadata: {"locale", "conversation_id"}`` and ``user`` (the conversation id) are
  sent in the body; the API key is read from the environment variable named by ``api_key_env``.
* **Privacy**: message contents are never logged — log lines carry the version, reason code,
  HTTP status and attempt number only.
* **Connections**: one shared ``httpx.AsyncClient`` per event loop, with connection limits sized
  to ``concurrency``. For plain-HTTP endpoints the client runs on
  :class:`~agent_release.agents.transport.FastTransport` and the hot path sends pre-serialised
  requests through it (see ``bench/replay.py`` for why); ``transport="httpx"`` forces httpx's own
  transport (HTTPS endpoints use it by default: proxies, TLS settings, HTTP/2 as httpx provides).
"""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import json
import logging
import os
import random
import time
import zlib
from typing import Any
from urllib.parse import urlsplit

import httpx

from agent_release.agents import transport as fast
from agent_release.agents.base import AgentReply, ConfigError, price_for

log = logging.getLogger(__name__)

_USER_AGENT = b"agent-release/0.1"


def _message(m: dict) -> dict:
    """An OpenAI chat message from a contract/OpenAI message (extra fields dropped)."""
    out = {"role": m.get("role", "user"), "content": m.get("content") if m.get("content") is not None else ""}
    if m.get("tool_calls"):
        out["tool_calls"] = m["tool_calls"]
    if m.get("tool_call_id"):
        out["tool_call_id"] = m["tool_call_id"]
    if m.get("name"):
        out["name"] = m["name"]
    return out


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        dt = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, dt.timestamp() - time.time())


class _Failure(Exception):
    def __init__(self, reason: str, retryable: bool = True, retry_after: float | None = None):
        super().__init__(reason)
        self.reason, self.retryable, self.retry_after = reason, retryable, retry_after


class HttpAgent:
    """An agent behind an OpenAI-compatible chat-completions endpoint."""

    def __init__(self, base_url: str, model: str, *, version: str | None = None, api_key_env: str | None = None,
                 timeout_s: float = 30.0, max_retries: int = 3, concurrency: int = 16,
                 backoff_base_s: float = 0.25, backoff_max_s: float = 8.0, retry_after_max_s: float = 60.0,
                 transport: str = "auto", latency_header: str | None = "x-simulated-latency-ms", extra_body: dict | None = None,
                 headers: dict[str, str] | None = None):
        if not base_url or not model:
            raise ConfigError("HttpAgent needs base_url and model")
        parts = urlsplit(base_url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError("base_url must be an http(s) URL, e.g. http://127.0.0.1:8808")
        path = parts.path.rstrip("/")
        path = path + ("/chat/completions" if path.endswith("/v1") else "/v1/chat/completions")
        self.base_url = base_url.rstrip("/")
        self.url = f"{parts.scheme}://{parts.netloc}{path}"
        self.model = model
        self.version = version or model
        self.timeout_s = float(timeout_s)
        self.max_retries = max(0, int(max_retries))
        self.concurrency = max(1, int(concurrency))
        self.backoff_base_s = float(backoff_base_s)
        self.backoff_max_s = float(backoff_max_s)
        self.retry_after_max_s = float(retry_after_max_s)
        self.latency_header = latency_header.lower() if latency_header else None
        self.extra_body = dict(extra_body or {})
        self._rng = random.Random()
        self._price = price_for(model)  # the pinned model's price, resolved once
        self._wanted_headers = {b"retry-after", b"content-encoding"} | (
            {self.latency_header.encode("latin-1")} if self.latency_header else set())
        self._mismatches_logged: set[str] = set()
        api_key = None
        if api_key_env:
            api_key = os.environ.get(api_key_env)
            if not api_key:
                raise ConfigError(f"environment variable {api_key_env} (the agent's API key) is not set")
        hdrs = {"Content-Type": "application/json", "Accept": "application/json",
                "User-Agent": _USER_AGENT.decode()}
        if api_key:
            hdrs["Authorization"] = f"Bearer {api_key}"
        hdrs.update(headers or {})
        self._headers = hdrs
        if transport not in ("auto", "fast", "httpx"):
            raise ConfigError("transport must be auto, fast or httpx")
        if transport == "auto":
            transport = "fast" if (parts.scheme == "http" and fast.AVAILABLE) else "httpx"
        if transport == "fast" and not fast.AVAILABLE:
            transport = "httpx"
        self.transport_kind = transport
        port = parts.port or (443 if parts.scheme == "https" else 80)
        self._key = (parts.scheme, parts.hostname, port)
        host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        head = [f"POST {path} HTTP/1.1", f"Host: {host}", "Accept-Encoding: identity", "Connection: keep-alive"]
        head += [f"{k}: {v}" for k, v in hdrs.items()]
        self._head = ("\r\n".join(head) + "\r\n").encode("latin-1")
        self._client: httpx.AsyncClient | None = None
        self._fast: fast.FastTransport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"HttpAgent({self.version!r}, model={self.model!r}, url={self.url!r})"

    # ------------------------------------------------------------------ connections
    def client(self) -> httpx.AsyncClient:
        """The shared AsyncClient of the running event loop (re-created if the loop changed)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
            timeout = httpx.Timeout(self.timeout_s, pool=None)
            if self.transport_kind == "fast":
                self._fast = fast.FastTransport(self.concurrency, connect_timeout=min(self.timeout_s, 10.0))
                self._client = httpx.AsyncClient(transport=self._fast, timeout=timeout, headers=self._headers)
            else:
                self._fast = None
                self._client = httpx.AsyncClient(limits=limits, timeout=timeout, headers=self._headers)
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                await client.aclose()
            except RuntimeError:  # closed from another loop: nothing left to do
                pass
        self._fast = None
        self._loop = None

    async def _post(self, payload: bytes) -> tuple[int, dict[str, str], bytes]:
        client = self.client()
        if self._fast is not None:
            data = self._head + b"Content-Length: %d\r\n\r\n" % len(payload) + payload
            status, raw_headers, body = await self._fast.request_raw(self._key, data)
            headers = {}
            wanted = self._wanted_headers
            for k, v in raw_headers:
                name = k.lower()
                if name in wanted:
                    headers[name.decode("latin-1")] = v.decode("latin-1")
            enc = headers.get("content-encoding", "")
            if enc == "gzip":
                body = gzip.decompress(body)
            elif enc == "deflate":
                body = zlib.decompress(body)
            return status, headers, body
        r = await client.post(self.url, content=payload)
        return r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content

    async def list_models(self) -> list[str]:
        """Model ids served by the endpoint (``GET /v1/models``)."""
        url = self.url.rsplit("/chat/completions", 1)[0] + "/models"
        r = await self.client().get(url)
        r.raise_for_status()
        return [m.get("id") for m in r.json().get("data", [])]

    # ------------------------------------------------------------------ the call
    def request_body(self, messages: list[dict], *, locale: str | None = None,
                     conversation_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": [_message(m) for m in messages]}
        meta = {k: str(v) for k, v in (("locale", locale), ("conversation_id", conversation_id)) if v}
        if meta:
            body["metadata"] = meta
        if conversation_id:
            body["user"] = str(conversation_id)
        body.update(self.extra_body)
        return body

    def _backoff(self, attempt: int, retry_after: float | None, key: str | None = None) -> float:
        """Full-jitter backoff. With ``key`` (conversation and turn) the jitter is a function of the
        key and attempt: still spread across conversations, but the same on a re-run, so a replay's
        recorded latencies for failed turns do not change from run to run."""
        rng = random.Random(f"{key}|{attempt}") if key is not None else self._rng
        if retry_after is not None:
            return min(retry_after, self.retry_after_max_s) + rng.uniform(0, self.backoff_base_s / 4)
        return rng.uniform(0, min(self.backoff_max_s, self.backoff_base_s * (2 ** attempt)))

    async def respond(self, messages: list[dict], *, locale: str | None = None,
                      conversation_id: str | None = None) -> AgentReply:
        payload = json.dumps(self.request_body(messages, locale=locale, conversation_id=conversation_id),
                             ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        t_start = time.perf_counter()
        jitter_key = f"{conversation_id}|{len(messages)}" if conversation_id else None
        reason = "connection_error"
        attempts = 0
        for attempt in range(self.max_retries + 1):
            attempts += 1
            t0 = time.perf_counter()
            try:
                try:
                    async with asyncio.timeout(self.timeout_s):
                        status, headers, content = await self._post(payload)
                except TimeoutError:
                    raise _Failure("timeout") from None
                except httpx.TimeoutException:
                    raise _Failure("timeout") from None
                except httpx.ConnectError as exc:
                    refused = isinstance(exc.__cause__, ConnectionRefusedError) or "refused" in str(exc).lower()
                    raise _Failure("connection_refused" if refused else "connection_error") from None
                except (httpx.TransportError, OSError):
                    raise _Failure("connection_error") from None
                latency_ms = (time.perf_counter() - t0) * 1000.0
                if status != 200:
                    if status == 429:
                        raise _Failure("rate_limited", retry_after=_retry_after(headers.get("retry-after")))
                    if status >= 500 or status == 408:
                        raise _Failure(f"http_{status}", retry_after=_retry_after(headers.get("retry-after")))
                    raise _Failure(f"http_{status}", retryable=False)
                reply = self._parse(content, latency_ms, attempts, t_start, headers)
                if attempts > 1:
                    log.info("agent %s: call succeeded after %d attempts", self.version, attempts)
                return reply
            except _Failure as f:
                reason = f.reason
                log.info("agent %s: attempt %d failed: %s", self.version, attempts, reason)
                if not f.retryable or attempt >= self.max_retries:
                    break
                await asyncio.sleep(self._backoff(attempt, f.retry_after, jitter_key))
        total_ms = (time.perf_counter() - t_start) * 1000.0
        log.info("agent %s: giving up after %d attempts: %s", self.version, attempts, reason)
        return AgentReply(content="", latency_ms=total_ms, input_tokens=None, output_tokens=None, cost_usd=None,
                          action=None, action_args=None, model_reported=None, model_mismatch=False, error=reason,
                          attempts=attempts, total_latency_ms=total_ms)

    def _cost(self, in_tok: int | None, out_tok: int | None) -> float | None:
        p = self._price
        if p is None or in_tok is None or out_tok is None:
            return None
        return round(in_tok / 1000.0 * p.input_per_1k + out_tok / 1000.0 * p.output_per_1k, 8)

    def _parse(self, content: bytes, latency_ms: float, attempts: int, t_start: float,
               headers: dict[str, str]) -> AgentReply:
        try:
            data = json.loads(content)
        except (ValueError, UnicodeDecodeError):
            raise _Failure("malformed_json") from None
        if not isinstance(data, dict):
            raise _Failure("malformed_json")
        choices = data.get("choices")
        if not choices or not isinstance(choices, list):
            raise _Failure("empty_choices")
        msg = choices[0].get("message") if isinstance(choices[0], dict) else None
        if not isinstance(msg, dict):
            raise _Failure("malformed_json")
        text = msg.get("content")
        if isinstance(text, list):
            text = "".join(p.get("text", "") for p in text if isinstance(p, dict))
        action, args = None, None
        call = None
        if msg.get("tool_calls"):
            tc = msg["tool_calls"][0] if isinstance(msg["tool_calls"], list) else None
            call = (tc or {}).get("function") if isinstance(tc, dict) else None
        elif isinstance(msg.get("function_call"), dict):
            call = msg["function_call"]
        if isinstance(call, dict):
            action = call.get("name")
            raw = call.get("arguments")
            if isinstance(raw, dict):
                args = raw
            elif isinstance(raw, str) and raw.strip():
                try:
                    parsed = json.loads(raw)
                    args = parsed if isinstance(parsed, dict) else {"value": parsed}
                except ValueError:
                    args = {"unparsed_arguments": True}
            args = args or None
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        in_tok = usage.get("prompt_tokens")
        out_tok = usage.get("completion_tokens")
        in_tok = int(in_tok) if isinstance(in_tok, (int, float)) and not isinstance(in_tok, bool) else None
        out_tok = int(out_tok) if isinstance(out_tok, (int, float)) and not isinstance(out_tok, bool) else None
        reported = data.get("model") if isinstance(data.get("model"), str) else None
        mismatch = reported is not None and reported != self.model
        if mismatch and reported not in self._mismatches_logged:
            self._mismatches_logged.add(reported)
            log.warning("agent %s: endpoint reported model %r, pinned %r", self.version, reported, self.model)
        if self.latency_header and headers.get(self.latency_header):
            try:
                latency_ms = float(headers[self.latency_header])
            except ValueError:
                pass
        return AgentReply(
            content=text or "", latency_ms=latency_ms, input_tokens=in_tok, output_tokens=out_tok,
            cost_usd=self._cost(in_tok, out_tok), action=action, action_args=args,
            model_reported=reported, model_mismatch=mismatch, error=None, attempts=attempts,
            total_latency_ms=(time.perf_counter() - t_start) * 1000.0,
        )
