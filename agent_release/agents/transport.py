"""A lean HTTP/1.1 keep-alive connection pool for httpx (asyncio protocols + httptools).

Why: httpx's default transport (httpcore) spends ~1 ms of CPU per request at high concurrency
(its pool scans every connection and queued request on each assignment, and it re-sniffs the
async library on every lock), which caps a replay at a few hundred requests per second — far
below what a loopback agent server with 50 ms latency can serve at 256 concurrent requests. This
pool keeps one asyncio ``Protocol`` per connection, parses responses with httptools (C), reuses
idle connections LIFO and bounds the number of connections with a semaphore.

It is a proper ``httpx.AsyncBaseTransport`` (``httpx.AsyncClient(transport=FastTransport())``)
and also offers :meth:`FastTransport.request_raw` — pre-serialised head and body in, ``(status,
headers, body)`` out — which :class:`~agent_release.agents.http.HttpAgent` uses on its hot path.

Scope: HTTP/1.1, plain TCP or TLS, no proxies, no HTTP/2, whole responses buffered in memory
(chat completions are small). HttpAgent falls back to httpx's own transport for anything else.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from typing import Any

import httpx

try:  # httptools ships with uvicorn[standard]; without it HttpAgent uses httpx's transport
    import httptools
except ImportError:  # pragma: no cover - depends on the environment
    httptools = None

AVAILABLE = httptools is not None

Key = tuple[str, str, int]  # (scheme, host, port)
RawResponse = tuple[int, list[tuple[bytes, bytes]], bytes]


class _Conn(asyncio.Protocol):
    __slots__ = ("transport", "closed", "reused", "got_bytes", "_waiter", "_parser", "_headers", "_body",
                 "_headers_done")

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reused = False
        self.got_bytes = False
        self._waiter: asyncio.Future | None = None
        self._parser: Any = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._headers_done = False

    # ---------------------------------------------------------------- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._parser is None:  # bytes while idle: the connection is unusable
            self.close()
            return
        self.got_bytes = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:  # pragma: no cover
            self._fail(httpx.RemoteProtocolError("unexpected protocol upgrade"))
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"malformed HTTP response ({type(exc).__name__})"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        w = self._waiter
        if w is not None and not w.done():
            # a body delimited by connection close (no Content-Length, not chunked)
            if self._headers_done and not any(k.lower() in (b"content-length", b"transfer-encoding")
                                              for k, _ in self._headers):
                w.set_result((self._parser.get_status_code(), self._headers, b"".join(self._body), False))
            else:
                w.set_exception(httpx.ReadError("connection closed before the response was complete"))

    # ---------------------------------------------------------------- httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result((self._parser.get_status_code(), self._headers, b"".join(self._body),
                          self._parser.should_keep_alive()))

    # ---------------------------------------------------------------- use
    def send(self, data: bytes) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        self._waiter = loop.create_future()
        self._headers, self._body, self._headers_done = [], [], False
        self.got_bytes = False
        self._parser = httptools.HttpResponseParser(self)
        self.transport.write(data)  # type: ignore[union-attr]
        return self._waiter

    def release(self) -> None:
        self._waiter = None
        self._parser = None

    def _fail(self, exc: Exception) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_exception(exc)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class FastTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 keep-alive pool: at most ``max_connections`` connections (and requests in flight)."""

    def __init__(self, max_connections: int = 100, *, connect_timeout: float = 10.0,
                 ssl_context: ssl.SSLContext | None = None):
        if not AVAILABLE:  # pragma: no cover
            raise RuntimeError("FastTransport needs httptools")
        self.max_connections = max(1, int(max_connections))
        self.connect_timeout = connect_timeout
        self._ssl = ssl_context
        self._active = 0
        self._waiters: collections.deque[asyncio.Future] = collections.deque()
        self._idle: dict[Key, collections.deque[_Conn]] = {}
        self._all: set[_Conn] = set()
        self._closed = False

    async def _acquire(self) -> None:
        """A slot among ``max_connections`` (FIFO); cheaper than asyncio.Semaphore on the hot path."""
        if self._active < self.max_connections and not self._waiters:
            self._active += 1
            return
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut  # the releaser hands its slot over (``_active`` unchanged)
        except BaseException:
            if fut.done() and not fut.cancelled():
                self._release()  # we were handed a slot but are going away: pass it on
            else:
                try:
                    self._waiters.remove(fut)
                except ValueError:  # already dropped by a releaser
                    pass
            raise

    def _release(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        self._active -= 1

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            try:
                import certifi

                self._ssl = ssl.create_default_context(cafile=certifi.where())
            except ImportError:  # pragma: no cover
                self._ssl = ssl.create_default_context()
        return self._ssl

    async def _connect(self, key: Key) -> _Conn:
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        kw: dict[str, Any] = {}
        if scheme == "https":
            kw = {"ssl": self._ssl_context(), "server_hostname": host}
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, conn = await loop.create_connection(_Conn, host, port, **kw)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connect to {host}:{port} timed out") from None
        except ConnectionRefusedError as exc:
            raise httpx.ConnectError("connection refused") from exc
        except OSError as exc:
            raise httpx.ConnectError(f"connect failed ({type(exc).__name__})") from exc
        self._all.add(conn)
        return conn

    def _checkout(self, key: Key) -> _Conn | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn.closed:
                return conn
            self._all.discard(conn)
        return None

    def _checkin(self, key: Key, conn: _Conn, keep: bool) -> None:
        conn.release()
        if keep and not conn.closed and not self._closed:
            conn.reused = True
            self._idle.setdefault(key, collections.deque()).append(conn)
        else:
            conn.close()
            self._all.discard(conn)

    async def request_raw(self, key: Key, data: bytes) -> RawResponse:
        """Send one serialised request (head + body) and return ``(status, headers, body)``.

        A request that fails on a *reused* keep-alive connection before any response byte
        arrived (the server closed it while idle) is retried once on a fresh connection.
        """
        if self._closed:
            raise httpx.ConnectError("transport is closed")
        await self._acquire()
        try:
            for attempt in (0, 1):
                conn = self._checkout(key) or await self._connect(key)
                try:
                    status, headers, body, keep = await conn.send(data)
                except httpx.TransportError:
                    stale = conn.reused and not conn.got_bytes
                    conn.close()
                    self._all.discard(conn)
                    if stale and attempt == 0:
                        continue
                    raise
                except BaseException:  # cancelled / timed out mid-request: the connection is unusable
                    conn.close()
                    self._all.discard(conn)
                    raise
                self._checkin(key, conn, keep)
                return status, headers, body
            raise httpx.ReadError("unreachable")  # pragma: no cover
        finally:
            self._release()

    # ---------------------------------------------------------------- httpx transport API
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        port = url.port or (443 if scheme == "https" else 80)
        body = await request.aread()
        headers = list(request.headers.raw)
        names = {k.lower() for k, _ in headers}
        if b"content-length" not in names and b"transfer-encoding" not in names:
            headers.append((b"Content-Length", str(len(body)).encode()))
        head = b"%s %s HTTP/1.1\r\n" % (request.method.encode(), url.raw_path) + b"".join(
            k + b": " + v + b"\r\n" for k, v in headers) + b"\r\n"
        timeout = (request.extensions.get("timeout") or {}).get("read")
        try:
            if timeout:
                async with asyncio.timeout(timeout):
                    status, rh, content = await self.request_raw((scheme, url.host, port), head + body)
            else:
                status, rh, content = await self.request_raw((scheme, url.host, port), head + body)
        except TimeoutError:
            raise httpx.ReadTimeout("read timed out", request=request) from None
        return httpx.Response(status, headers=rh, content=content, request=request,
                              extensions={"http_version": b"HTTP/1.1"})

    async def aclose(self) -> None:
        self._closed = True
        for conn in list(self._all):
            conn.close()
        self._all.clear()
        self._idle.clear()
