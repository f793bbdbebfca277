"""Replay masked production conversations against an agent, in the conversation-log contract.

For each input conversation the **user turns are sent in order**; the agent's **own answers** stay
in the history (the original assistant turns are not replayed). The result is one normalised row
per input conversation (``contract.SCHEMA``):

* ``agent_version`` = the replayed agent's version, ``model`` = the model the agent reported
  (else its pinned model); ``conversation_id``, ``user_id``, ``locale``, ``channel`` and
  ``started_at`` are kept from the original;
* ``messages``: each original user turn (content and ``ts`` kept) followed by the agent's turn
  with ``latency_ms``, ``input_tokens``, ``output_tokens``, ``cost_usd``, ``action`` and
  ``error``; the assistant ``ts`` is the user ``ts`` + latency. ``extra_json`` of an assistant
  turn keeps ``action_args`` and, when relevant, ``attempts`` and ``model_mismatch``;
* ``csat`` / ``thumb`` are null (nobody rated a replay); ``extra_json`` keeps ``persona`` and
  ``intent`` from the original extras plus ``replay_of`` (the original agent version), and
  ``replay_errors`` / ``replay_unsent_turns`` / ``replay_exception`` when something went wrong;
* ``source`` = ``replay:<agent version>``, ``source_row`` = the row's index in the input frame.

Outcome rule (:func:`derive_outcome`)
-------------------------------------
* **escalated** — some assistant turn took the ``escalate`` action without error;
* **resolved** — otherwise, the last assistant turn succeeded and the conversation's *expected
  resolving action* was taken without error on some turn. The expected action comes from the
  knowledge base for the conversation's intent (``intent`` in the original extras, else the
  intent detected from the first user turn); plain answers count as ``answer`` (``None`` too).
  When the intent is unknown, any successful final turn resolves;
* **abandoned** — everything else: the final turn failed, the agent never took the expected
  action, or the conversation was cut short by errors.

Faults never sink a run
-----------------------
An agent error (``reply.error`` after the agent's own retries) is recorded on that turn; the
user's message stays in the history and the **conversation continues with the next user turn**
— unless ``max_consecutive_errors`` turns in a row failed (default 2), in which case the
remaining user turns are not sent (counted in ``replay_unsent_turns``). Any unexpected
exception while replaying one conversation becomes an error turn ``exception:<Type>`` on that
conversation's row; it is never raised. ``stats`` counts the client's retries
(``retried_turns``: turns that needed more than one attempt, ``retries``: extra attempts) and
``unsent_turns``. Never sinking a run is not the same as succeeding: whether a replay is
evidence at all (rows complete, endpoint-error share within the spec's limit) is judged by the
``replay_complete`` check and the gate (``evals.gate.evidence_completeness``).

Resume
------
With ``checkpoint_dir``, finished conversations are appended to small Parquet shards (temp file,
fsync, atomic rename, directory fsync) under ``<checkpoint_dir>/<agent version>/``, keyed by
``(conversation_id, agent_version)``. A re-run skips conversations already done cleanly and, by
default (``retry_failed``), replays again those whose checkpointed row has errors (e.g. the agent
server was down). The final frame has exactly one row per input conversation: a clean row beats
a failed one, a newer row beats an older one. A ``kill -9`` loses at most the unflushed buffer,
which the re-run replays. At the end the shards are compacted into one.

Modes
-----
* ``closed``: ``concurrency`` workers replay conversations back to back, as fast as allowed;
* ``open``: conversations start at their recorded ``started_at`` offsets compressed by
  ``speedup`` (24 = a day in an hour); later turns follow as soon as the agent answers.
  ``stats`` reports the lateness of each conversation's first request (actual − scheduled start).

Both honour ``concurrency`` (a semaphore on conversations in flight) and ``rate_limit_per_s``
(a token bucket on agent requests).

Timing
------
``stats["wall_s"]`` is the whole call; ``stats["dispatch_s"]`` runs from the first request sent to
the last answer (reading the input frame and loading the checkpoint are before it, building the
result frame after it). ``throughput`` (conversations/s) and ``throughput_turns_per_s`` are
counted over ``dispatch_s``. During dispatch the objects alive at its start (the input rows
above all) are frozen out of the garbage collector (``gc.freeze``), so its full collections do
not rescan them; at 256 requests in flight this removed most pauses of 50–100 ms.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import logging
import math
import os
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl

from agent_release import contract

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int, int], None]


@dataclass
class ReplayConfig:
    mode: str = "closed"  # closed | open
    concurrency: int = 16
    rate_limit_per_s: float | None = None
    speedup: float = 24.0
    checkpoint_dir: str | Path | None = None
    max_consecutive_errors: int = 2
    retry_failed: bool = True
    max_turns: int | None = None
    flush_every: int = 50
    flush_interval_s: float = 2.0
    progress_interval_s: float = 1.0

    def __post_init__(self) -> None:
        if self.mode not in ("closed", "open"):
            raise ValueError("ReplayConfig.mode must be 'closed' or 'open'")
        if self.concurrency < 1:
            raise ValueError("ReplayConfig.concurrency must be >= 1")
        if self.rate_limit_per_s is not None and self.rate_limit_per_s <= 0:
            raise ValueError("ReplayConfig.rate_limit_per_s must be > 0 (or None for unlimited)")
        if self.speedup <= 0:
            raise ValueError("ReplayConfig.speedup must be > 0")


@dataclass
class ReplayResult:
    frame: pl.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers
class TokenBucket:
    """Async token bucket: ``rate`` tokens per second, bursts up to ``burst`` (FIFO waiters)."""

    def __init__(self, rate: float, burst: float | None = None):
        self.rate = float(rate)
        self.capacity = float(burst) if burst else max(1.0, self.rate * 0.05)
        self.tokens = self.capacity
        self.t = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.t) * self.rate)
                self.t = now
                if self.tokens >= 1.0:
                    self.tokens -= 1.0
                    return
                await asyncio.sleep((1.0 - self.tokens) / self.rate)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def _extras(row: dict) -> dict:
    raw = row.get("extra_json")
    if not raw:
        return {}
    try:
        v = json.loads(raw)
        return v if isinstance(v, dict) else {}
    except ValueError:
        return {}


_KB = None


def _kb():
    global _KB
    if _KB is None:
        from agent_release.agents.kb import load_kb

        _KB = load_kb()
    return _KB


def expected_action(intent: str | None) -> str | None:
    """The action that resolves ``intent`` per the knowledge base (None if unknown)."""
    kb = _kb()
    return kb.intents[intent].action if intent in kb.intents else None


@functools.lru_cache(maxsize=16384)
def _detect_intent(text: str) -> str | None:
    return _kb().detect_intent(text)[0]


def conversation_intent(row: dict, extras: dict | None = None) -> str | None:
    """``intent`` from the original extras, else the one detected in the first user turn."""
    intent = (_extras(row) if extras is None else extras).get("intent")
    if isinstance(intent, str) and intent:
        return intent
    first = next((m.get("content") or "" for m in row.get("messages") or [] if m.get("role") == "user"), "")
    return _detect_intent(first) if first else None


def derive_outcome(messages: list[dict], intent: str | None) -> str:
    """escalated / resolved / abandoned — see the module docstring for the rule."""
    turns = [m for m in messages if m.get("role") == "assistant"]
    if any(m.get("action") == "escalate" and not m.get("error") for m in turns):
        return "escalated"
    if not turns or turns[-1].get("error"):
        return "abandoned"
    expected = expected_action(intent)
    done = {(m.get("action") or "answer") for m in turns if not m.get("error")}
    if expected is None or (expected in done):
        return "resolved"
    return "abandoned"


def _msg(role: str, content: str, ts=None, **kw) -> dict:
    return {"role": role, "content": content, "ts": ts, "latency_ms": kw.get("latency_ms"),
            "input_tokens": kw.get("input_tokens"), "output_tokens": kw.get("output_tokens"),
            "cost_usd": kw.get("cost_usd"), "action": kw.get("action"), "error": kw.get("error"),
            "extra_json": kw.get("extra_json")}


# --------------------------------------------------------------------------- checkpoint
def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.@" else "_" for c in name) or "agent"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Checkpoint:
    """Append-only Parquet shards of finished conversations for one agent version."""

    STATUS = "_replay_status"
    SEQ = "_replay_seq"

    def __init__(self, root: str | Path, agent_version: str):
        self.agent_version = agent_version
        self.dir = Path(root) / _safe(agent_version)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._n = 0

    def shards(self) -> list[Path]:
        return sorted(self.dir.glob("part-*.parquet"))

    def load(self) -> dict[str, tuple[dict, str]]:
        """conversation_id → (row, status), the best row per id (ok beats failed, newer beats older)."""
        best: dict[str, tuple[tuple[int, int], dict, str]] = {}
        for shard in self.shards():
            try:
                df = pl.read_parquet(shard)
            except Exception as exc:  # noqa: BLE001 - a torn shard is skipped, its rows are replayed
                log.warning("replay checkpoint: skipping unreadable shard %s (%s)", shard.name, type(exc).__name__)
                continue
            for rec in df.iter_rows(named=True):
                if rec.get("agent_version") != self.agent_version:
                    continue
                status = rec.pop(self.STATUS, "ok")
                seq = rec.pop(self.SEQ, 0) or 0
                rank = (1 if status == "ok" else 0, seq)
                cid = rec["conversation_id"]
                if cid not in best or rank > best[cid][0]:
                    best[cid] = (rank, rec, status)
        return {cid: (rec, status) for cid, (_, rec, status) in best.items()}

    def _write(self, rows: list[tuple[dict, str]], name: str) -> Path:
        frame = contract.to_frame([r for r, _ in rows]).with_columns(
            pl.Series(self.STATUS, [s for _, s in rows], dtype=pl.String),
            pl.Series(self.SEQ, [time.time_ns() + i for i in range(len(rows))], dtype=pl.Int64),
        )
        tmp = self.dir / f".tmp-{uuid.uuid4().hex}.parquet"
        frame.write_parquet(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        final = self.dir / name
        os.replace(tmp, final)
        _fsync_dir(self.dir)
        return final

    def append(self, rows: list[tuple[dict, str]]) -> Path | None:
        if not rows:
            return None
        self._n += 1
        return self._write(rows, f"part-{time.time_ns():020d}-{os.getpid()}-{self._n:05d}.parquet")

    def compact(self) -> None:
        """Rewrite all shards as one (best row per conversation); crash-safe at every step."""
        old = self.shards()
        if len(old) <= 1:
            return
        best = self.load()
        self._write(list(best.values()), f"part-{time.time_ns():020d}-{os.getpid()}-compact.parquet")
        for p in old:
            p.unlink(missing_ok=True)
        for p in self.dir.glob(".tmp-*.parquet"):
            p.unlink(missing_ok=True)
        _fsync_dir(self.dir)


# --------------------------------------------------------------------------- the engine
class _Run:
    def __init__(self, agent: Any, config: ReplayConfig, on_progress: ProgressFn | None):
        self.agent = agent
        self.cfg = config
        self.on_progress = on_progress
        self.version = getattr(agent, "version", None) or "agent"
        self.model = getattr(agent, "model", None)
        self.sem = asyncio.Semaphore(config.concurrency)
        self.bucket = TokenBucket(config.rate_limit_per_s) if config.rate_limit_per_s else None
        self.errors: Counter[str] = Counter()
        self.turns = 0
        self.exceptions = 0
        self.retried_turns = 0  # turns that needed more than one attempt (the client retried)
        self.retries = 0  # extra attempts, over all turns
        self.unsent = 0  # user turns never sent after max_consecutive_errors failures in a row
        self.lateness_ms: list[float] = []
        self.latencies: list[float] = []
        self.done = 0
        self.total = 0
        self.results: dict[str, dict] = {}
        self.buffer: list[tuple[dict, str]] = []
        self.ckpt: Checkpoint | None = None
        self.flush_lock = asyncio.Lock()

    # ---------------------------------------------------------------- one conversation
    async def conversation(self, idx: int, row: dict, scheduled: float | None) -> None:
        try:
            out = await self._replay(idx, row, scheduled)
        except Exception as exc:  # noqa: BLE001 - one conversation never sinks the run
            self.exceptions += 1
            log.warning("replay: conversation #%d failed with %s", idx, type(exc).__name__)
            out = self._error_row(idx, row, f"exception:{type(exc).__name__}")
        status = "failed" if any(m["error"] for m in out["messages"] if m["role"] == "assistant") else "ok"
        self.results[out["conversation_id"]] = out
        self.done += 1
        if self.ckpt is not None:
            self.buffer.append((out, status))
            if len(self.buffer) >= self.cfg.flush_every:
                await self.flush()

    async def _replay(self, idx: int, row: dict, scheduled: float | None) -> dict:
        cid = row["conversation_id"]
        locale = row.get("locale")
        users = [m for m in row.get("messages") or [] if m.get("role") == "user"]
        if self.cfg.max_turns:
            users = users[: self.cfg.max_turns]
        if not users:
            return self._error_row(idx, row, "no_user_turns")
        history: list[dict] = []
        out: list[dict] = []
        model = None
        failed_in_row = 0
        n_err = 0
        unsent = 0
        respond = self.agent.respond
        for i, um in enumerate(users):
            content = um.get("content") or ""
            history.append({"role": "user", "content": content})
            ts = um.get("ts")
            out.append(_msg("user", content, ts))
            if self.bucket is not None:
                await self.bucket.acquire()
            if scheduled is not None and i == 0:
                self.lateness_ms.append((time.perf_counter() - scheduled) * 1000.0)
            try:
                reply = await respond(list(history), locale=locale, conversation_id=cid)
            except Exception as exc:  # noqa: BLE001 - an agent that raises is an error turn
                self.exceptions += 1
                err = f"exception:{type(exc).__name__}"
                self.errors[err] += 1
                self.turns += 1
                n_err += 1
                failed_in_row += 1
                out.append(_msg("assistant", "", None, error=err))
                if failed_in_row >= self.cfg.max_consecutive_errors:
                    unsent = len(users) - i - 1
                    break
                continue
            self.turns += 1
            extra: dict[str, Any] = {}
            if reply.action_args:
                extra["action_args"] = reply.action_args
            if reply.attempts and reply.attempts > 1:
                extra["attempts"] = reply.attempts
                self.retried_turns += 1
                self.retries += reply.attempts - 1
            if reply.model_mismatch:
                extra["model_mismatch"] = True
                extra["model_reported"] = reply.model_reported
            lat = reply.latency_ms
            a_ts = ts + timedelta(milliseconds=lat) if ts is not None and lat is not None else None
            out.append(_msg(
                "assistant", reply.content or "", a_ts, latency_ms=lat, input_tokens=reply.input_tokens,
                output_tokens=reply.output_tokens, cost_usd=reply.cost_usd, action=reply.action, error=reply.error,
                extra_json=json.dumps(extra, ensure_ascii=False, sort_keys=True, default=str) if extra else None,
            ))
            if reply.error:
                self.errors[reply.error] += 1
                n_err += 1
                failed_in_row += 1
                if failed_in_row >= self.cfg.max_consecutive_errors:
                    unsent = len(users) - i - 1
                    break
            else:
                failed_in_row = 0
                if lat is not None:
                    self.latencies.append(lat)
                model = reply.model_reported or model
                history.append({"role": "assistant", "content": reply.content or ""})
        return self._row(idx, row, out, model, n_err=n_err, unsent=unsent)

    def _row(self, idx: int, row: dict, messages: list[dict], model: str | None, *, n_err: int = 0,
             unsent: int = 0, exception: str | None = None) -> dict:
        self.unsent += unsent
        orig = _extras(row)
        extra: dict[str, Any] = {k: orig[k] for k in ("persona", "intent") if k in orig}
        extra["replay_of"] = row.get("agent_version")
        if n_err:
            extra["replay_errors"] = n_err
        if unsent:
            extra["replay_unsent_turns"] = unsent
        if exception:
            extra["replay_exception"] = exception
        return {
            "conversation_id": row["conversation_id"], "user_id": row["user_id"], "started_at": row["started_at"],
            "locale": row["locale"], "channel": row.get("channel"), "agent_version": self.version,
            "model": model or self.model, "messages": messages,
            "outcome": derive_outcome(messages, conversation_intent(row, orig)), "csat": None, "thumb": None,
            "extra_json": json.dumps(extra, ensure_ascii=False, sort_keys=True),
            "source": f"replay:{self.version}", "source_row": idx,
        }

    def _error_row(self, idx: int, row: dict, reason: str) -> dict:
        users = [m for m in row.get("messages") or [] if m.get("role") == "user"][:1]
        msgs = [_msg("user", u.get("content") or "", u.get("ts")) for u in users]
        msgs.append(_msg("assistant", "", None, error=reason))
        self.errors[reason] += 1
        return self._row(idx, row, msgs, None, n_err=1, exception=reason)

    # ---------------------------------------------------------------- checkpoint / progress
    async def flush(self) -> None:
        if self.ckpt is None:
            return
        async with self.flush_lock:
            batch, self.buffer = self.buffer, []
            if batch:
                await asyncio.to_thread(self.ckpt.append, batch)

    async def ticker(self) -> None:
        last_flush = time.monotonic()
        while True:
            await asyncio.sleep(min(self.cfg.progress_interval_s, self.cfg.flush_interval_s))
            self.progress()
            if self.ckpt is not None and time.monotonic() - last_flush >= self.cfg.flush_interval_s:
                last_flush = time.monotonic()
                await self.flush()

    def progress(self) -> None:
        if self.on_progress is None:
            return
        try:
            self.on_progress(self.done, self.total, sum(self.errors.values()))
        except Exception as exc:  # noqa: BLE001 - a broken callback must not stop the replay
            log.warning("replay: progress callback raised %s", type(exc).__name__)


async def replay_async(df: pl.DataFrame, agent: Any, config: ReplayConfig | None = None,
                       on_progress: ProgressFn | None = None) -> ReplayResult:
    """Async version of :func:`run_replay` (runs on the caller's event loop)."""
    cfg = config or ReplayConfig()
    run = _Run(agent, cfg, on_progress)
    t_wall = time.perf_counter()

    rows: list[tuple[int, dict]] = []
    seen: set[str] = set()
    duplicates = 0
    for idx, row in enumerate(df.iter_rows(named=True)):
        cid = row["conversation_id"]
        if cid in seen:
            duplicates += 1
            continue
        seen.add(cid)
        rows.append((idx, row))
    run.total = len(rows)

    previous: dict[str, tuple[dict, str]] = {}
    if cfg.checkpoint_dir is not None:
        run.ckpt = Checkpoint(cfg.checkpoint_dir, run.version)
        previous = await asyncio.to_thread(run.ckpt.load)
        previous = {cid: v for cid, v in previous.items() if cid in seen}
    todo = [(i, r) for i, r in rows
            if r["conversation_id"] not in previous
            or (cfg.retry_failed and previous[r["conversation_id"]][1] != "ok")]
    skipped = len(rows) - len(todo)
    run.done = skipped
    run.progress()
    # The input rows live until the end: move them (and everything else alive now) out of the
    # collector's view, so each full collection during dispatch scans only what the replay creates.
    gc.freeze()
    t_dispatch = time.perf_counter()
    ticker = asyncio.create_task(run.ticker())
    try:
        if cfg.mode == "closed":
            queue = deque(todo)

            async def worker() -> None:
                while queue:
                    i, r = queue.popleft()
                    await run.conversation(i, r, None)

            await asyncio.gather(*(worker() for _ in range(min(cfg.concurrency, len(todo)) or 1)))
        else:
            await _open_loop(run, todo, cfg)
    finally:
        ticker.cancel()
        try:
            await ticker
        except asyncio.CancelledError:
            pass
        await run.flush()
        dispatch = time.perf_counter() - t_dispatch
        gc.unfreeze()
    wall = time.perf_counter() - t_wall
    if run.ckpt is not None:
        await asyncio.to_thread(run.ckpt.compact)

    final = []
    for _, r in rows:
        cid = r["conversation_id"]
        final.append(run.results[cid] if cid in run.results else previous[cid][0])
    frame = contract.to_frame(final)
    run.progress()

    replayed = len(run.results)
    err_total = sum(run.errors.values())
    outcomes = Counter(r["outcome"] for r in final)
    with_errors = sum(1 for r in final if any(m["error"] for m in r["messages"] if m["role"] == "assistant"))
    stats: dict[str, Any] = {
        "agent_version": run.version,
        "mode": cfg.mode,
        "conversations": len(rows),
        "replayed": replayed,
        "skipped_from_checkpoint": skipped,
        "duplicates_in_input": duplicates,
        "turns": run.turns,
        "errors": dict(run.errors),
        "errors_total": err_total,
        "error_rate": err_total / run.turns if run.turns else 0.0,
        "retried_turns": run.retried_turns,
        "retries": run.retries,
        "unsent_turns": run.unsent,
        "exceptions": run.exceptions,
        "conversations_with_errors": with_errors,
        "outcomes": dict(outcomes),
        "wall_s": wall,
        "dispatch_s": dispatch,
        "throughput": replayed / dispatch if dispatch > 0 else 0.0,
        "throughput_turns_per_s": run.turns / dispatch if dispatch > 0 else 0.0,
        "latency_p50_ms": _percentile(run.latencies, 0.50),
        "latency_p95_ms": _percentile(run.latencies, 0.95),
        "latency_p99_ms": _percentile(run.latencies, 0.99),
        "lateness_p50_ms": _percentile(run.lateness_ms, 0.50) if cfg.mode == "open" else None,
        "lateness_p99_ms": _percentile(run.lateness_ms, 0.99) if cfg.mode == "open" else None,
        "lateness_max_ms": max(run.lateness_ms) if cfg.mode == "open" and run.lateness_ms else None,
        "concurrency": cfg.concurrency,
        "rate_limit_per_s": cfg.rate_limit_per_s,
        "speedup": cfg.speedup if cfg.mode == "open" else None,
    }
    return ReplayResult(frame=frame, stats=stats)


async def _open_loop(run: _Run, todo: list[tuple[int, dict]], cfg: ReplayConfig) -> None:
    """Start each conversation at its recorded offset / speedup; first-request lateness is measured."""
    if not todo:
        return
    starts = [r["started_at"] for _, r in todo]
    t_min = min(starts)
    plan = sorted(((s - t_min).total_seconds() / cfg.speedup, i, r) for (i, r), s in zip(todo, starts, strict=True))
    t0 = time.perf_counter() + 0.01
    tasks = []

    async def launch(offset: float, i: int, r: dict) -> None:
        async with run.sem:
            await run.conversation(i, r, t0 + offset)

    for offset, i, r in plan:
        delay = t0 + offset - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(launch(offset, i, r)))
    await asyncio.gather(*tasks)


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:  # pragma: no cover
        return asyncio.new_event_loop()


def run_replay(df: pl.DataFrame, agent: Any, config: ReplayConfig | None = None,
               on_progress: ProgressFn | None = None) -> ReplayResult:
    """Replay ``df`` (contract-shaped, masked) against ``agent``; see the module docstring.

    Synchronous: runs its own event loop (uvloop when installed); from inside a running loop it
    runs in a helper thread. The agent's connections opened on that loop are closed at the end
    (the agent stays usable: it reconnects lazily).
    """
    async def main() -> ReplayResult:
        try:
            return await replay_async(df, agent, config, on_progress)
        finally:
            close = getattr(agent, "aclose", None)
            if close is not None:
                try:
                    await close()
                except Exception:  # noqa: BLE001
                    pass

    def run_in_new_loop() -> ReplayResult:
        with asyncio.Runner(loop_factory=_new_loop) as runner:
            return runner.run(main())

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run_in_new_loop()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = run_in_new_loop()
        except BaseException as exc:  # noqa: BLE001
            box["error"] = exc

    th = threading.Thread(target=target, name="replay")
    th.start()
    th.join()
    if "error" in box:
        raise box["error"]
    return box["result"]
