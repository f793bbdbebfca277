"""Multi-process masking: a conversation table split into contiguous chunks, masked by N workers.

    masked, stats = mask_frame_parallel(df, key, workers=2)      # one-off
    with MaskingPool(key, workers=2) as pool:                    # reuse the loaded workers
        pool.start()                                             # spawn + load models (optional)
        masked, stats = pool.mask_frame(df)

The output is identical to ``Masker(key, **masker_kw).mask_frame(df)``: detection is a pure
function of (text, locale) and every fake a pure function of (key, type, value, locale) (see
:mod:`agent_release.masking.surrogates`), so it does not matter which process masks which
conversation. Chunks are contiguous runs of rows (conversations) of about equal message counts,
several per worker so that both cores stay busy until the end; results are reassembled in input
order. Workers are started with ``spawn`` (or ``forkserver``), never ``fork``: spaCy and the
process's threads do not survive a fork safely. Each worker builds one :class:`Masker` and loads
its models once (then freezes its heap for the garbage collector, see :func:`_load`), then masks
chunk after chunk; a worker remembers the findings of the texts it has analysed (bounded), so a
text repeated across its chunks is analysed once per worker.

Errors raised in a worker come back as :class:`MaskingError` naming the rows, never the text.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import polars as pl

from agent_release.contract import SCHEMA
from agent_release.masking.engine import Masker, MaskingError
from agent_release.masking.types import MaskStats

logger = logging.getLogger(__name__)

#: chunks per worker: enough that the last chunk to finish does not leave a core idle for long,
#: few enough that each worker still sees most repeats of a text within one chunk
CHUNKS_PER_WORKER = 4
#: no chunk smaller than this (a worker costs a process and a model load: ~250 MB, a few seconds)
MIN_CHUNK_MESSAGES = 200
#: no chunk larger than this (bounds the memory of one task and of its result in flight)
MAX_CHUNK_MESSAGES = 20_000
#: findings remembered per worker across chunks ((text, locale) entries)
WORKER_FIND_CACHE = 100_000


def resolve_workers(workers: int | None) -> int:
    """``workers`` if positive, else the number of CPUs (``0`` / ``None`` = all cores)."""
    if workers and workers > 0:
        return int(workers)
    return os.cpu_count() or 1


def chunk_bounds(
    message_counts: Sequence[int], workers: int, *, chunks_per_worker: int = CHUNKS_PER_WORKER,
    min_messages: int = MIN_CHUNK_MESSAGES, max_messages: int = MAX_CHUNK_MESSAGES,
) -> list[tuple[int, int]]:
    """Contiguous ``(start, end)`` row ranges covering all rows, of about equal message counts:
    ``workers * chunks_per_worker`` chunks, each of ``min_messages``..``max_messages`` messages
    where the table allows (a conversation is never split)."""
    n = len(message_counts)
    if n == 0:
        return []
    counts = [max(1, int(c or 0)) for c in message_counts]  # an empty conversation still costs a row
    total = sum(counts)
    target = total / max(1, workers * chunks_per_worker)
    target = min(max(target, min_messages), max_messages)
    n_chunks = max(1, min(n, round(total / target)))
    per = total / n_chunks
    bounds: list[tuple[int, int]] = []
    start, acc = 0, 0
    for i, c in enumerate(counts):
        acc += c
        if acc >= per * (len(bounds) + 1) and len(bounds) < n_chunks - 1 and i + 1 < n:
            bounds.append((start, i + 1))
            start = i + 1
    bounds.append((start, n))
    return bounds


def merge_stats(parts: Sequence[MaskStats], seconds: float, workers: int) -> MaskStats:
    """One :class:`MaskStats` for the whole table. ``distinct_texts`` is summed over chunks
    (texts analysed: a text repeated across chunks counts once per chunk)."""
    out = MaskStats(seconds=seconds, workers=workers)
    for s in parts:
        out.messages += s.messages
        out.conversations += s.conversations
        out.entities.update(s.entities)
        out.by_locale.update(s.by_locale)
        out.fallback_locales.update(s.fallback_locales)
        out.distinct_texts += s.distinct_texts
        out.extra_fields_masked += s.extra_fields_masked
    return out


# ------------------------------------------------------------------------------------------------
# worker side (module-level functions: they are pickled by reference into spawned processes)
# ------------------------------------------------------------------------------------------------

_MASKER: Masker | None = None
_BARRIER = None
_LOADED = False


def _init_worker(key: bytes, masker_kw: dict, barrier) -> None:
    global _MASKER, _BARRIER
    _MASKER = Masker(key, **masker_kw)
    _BARRIER = barrier


def _load() -> float:
    """Load the models once, then move everything alive into the garbage collector's permanent
    generation (``gc.freeze``): the ~130k objects of spaCy/Presidio are never garbage, and
    without this every full collection walks them again (~4% of masking time). The worker is
    this Masker's process alone, so freezing its heap affects nothing else."""
    global _LOADED
    t0 = time.perf_counter()
    if not _LOADED:
        try:
            _MASKER.analyzer  # noqa: B018 — load spaCy + Presidio (what Masker loads before its first text)
        except Exception as exc:
            raise MaskingError(f"masking worker could not load its models ({type(exc).__name__})") from None
        gc.collect()
        gc.freeze()
        _LOADED = True
    return time.perf_counter() - t0


def _warm(timeout: float) -> tuple[int, float]:
    """Load the models; then wait until every worker has (so each worker runs exactly one)."""
    seconds = _load()
    if _BARRIER is not None:
        _BARRIER.wait(timeout)
    return os.getpid(), seconds


def _mask_chunk(first_row: int, df: pl.DataFrame) -> tuple[pl.DataFrame, MaskStats, int]:
    where = f"rows {first_row}..{first_row + df.height - 1}"
    _load()
    try:
        out, stats = _MASKER.mask_frame(df)
    except MaskingError as exc:
        raise MaskingError(f"{where}: {exc}") from None
    except Exception as exc:  # never let a text-bearing message escape the worker
        raise MaskingError(f"masking {where} failed ({type(exc).__name__})") from None
    return out, stats, os.getpid()


# ------------------------------------------------------------------------------------------------
# parent side
# ------------------------------------------------------------------------------------------------


class MaskingPool:
    """``workers`` processes, each holding one :class:`Masker` built from ``key`` and
    ``masker_kw``. Use as a context manager (or call :meth:`close`)."""

    def __init__(
        self, key: bytes, workers: int = 0, *, mp_context: str = "spawn",
        chunks_per_worker: int = CHUNKS_PER_WORKER, min_chunk_messages: int = MIN_CHUNK_MESSAGES,
        max_chunk_messages: int = MAX_CHUNK_MESSAGES, **masker_kw,
    ):
        import multiprocessing as mp

        if isinstance(key, str):
            key = key.encode()
        if not key:
            raise ValueError("masking key must not be empty")
        if mp_context not in ("spawn", "forkserver"):
            raise ValueError("mp_context must be 'spawn' or 'forkserver' (spaCy is not fork-safe)")
        self.workers = resolve_workers(workers)
        self.chunks_per_worker = chunks_per_worker
        self.min_chunk_messages = min_chunk_messages
        self.max_chunk_messages = max_chunk_messages
        masker_kw.setdefault("find_cache_size", WORKER_FIND_CACHE)
        self._ctx = mp.get_context(mp_context)
        self._barrier = self._ctx.Barrier(self.workers)
        self._executor = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=self._ctx, initializer=_init_worker,
            initargs=(key, dict(masker_kw), self._barrier),
        )
        self.load_seconds: float | None = None
        self.pids: list[int] = []

    def start(self, timeout: float = 600.0) -> float:
        """Start every worker and load its models; returns the wall time it took. Optional:
        :meth:`mask_frame` starts workers on demand (their first chunk then pays the load)."""
        t0 = time.perf_counter()
        futures = [self._executor.submit(_warm, timeout) for _ in range(self.workers)]
        self.pids = sorted(pid for pid, _ in (f.result() for f in futures))
        self.load_seconds = time.perf_counter() - t0
        return self.load_seconds

    def mask_frame(self, df: pl.DataFrame) -> tuple[pl.DataFrame, MaskStats]:
        """Same result as ``Masker.mask_frame(df)``; chunks masked in the workers."""
        t0 = time.perf_counter()
        missing = [c for c in SCHEMA if c not in df.columns]
        if missing:
            raise ValueError(f"mask_frame: input lacks contract columns: {', '.join(missing)}")
        bounds = chunk_bounds(
            df["messages"].list.len().fill_null(0).to_list(), self.workers,
            chunks_per_worker=self.chunks_per_worker, min_messages=self.min_chunk_messages,
            max_messages=self.max_chunk_messages,
        ) or [(0, 0)]
        futures = [self._executor.submit(_mask_chunk, s, df.slice(s, e - s)) for s, e in bounds]
        try:
            results = [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            raise
        masked = pl.concat([r[0] for r in results], how="vertical", rechunk=True)
        used = len({r[2] for r in results})
        stats = merge_stats([r[1] for r in results], time.perf_counter() - t0, used)
        logger.info(
            "masked %d conversations, %d messages in %d chunks on %d worker processes, "
            "%d entities in %.1fs",
            stats.conversations, stats.messages, len(bounds), used, stats.total_entities, stats.seconds,
        )
        return masked, stats

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> MaskingPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def mask_frame_parallel(
    df: pl.DataFrame, key: bytes, workers: int = 0, *, mp_context: str = "spawn",
    min_chunk_messages: int = MIN_CHUNK_MESSAGES, **masker_kw,
) -> tuple[pl.DataFrame, MaskStats]:
    """Mask ``df`` in ``workers`` processes (0 = all cores); same output as
    ``Masker(key, **masker_kw).mask_frame(df)``. With one worker — asked for, or because the
    table is smaller than two chunks of ``min_chunk_messages`` messages — it masks in this
    process (no subprocess). ``stats.seconds`` includes starting the workers and loading models."""
    workers = resolve_workers(workers)
    if workers > 1 and df.height > 1 and "messages" in df.columns:
        n_messages = int(df["messages"].list.len().fill_null(0).sum() or 0)
        workers = max(1, min(workers, n_messages // max(1, min_chunk_messages), df.height))
    if workers <= 1:
        masked, stats = Masker(key, **masker_kw).mask_frame(df)
        stats.workers = 1
        return masked, stats
    t0 = time.perf_counter()
    with MaskingPool(key, workers, mp_context=mp_context, min_chunk_messages=min_chunk_messages,
                     **masker_kw) as pool:
        masked, stats = pool.mask_frame(df)
    stats.seconds = time.perf_counter() - t0
    return masked, stats
