"""Multi-process masking: same output as one process, chunks contiguous and in order, stats
aggregated, one worker means no subprocess, worker errors carry positions only."""

from __future__ import annotations

import pytest

from agent_release.contract import normalise, to_frame
from agent_release.masking import Masker, MaskingError, mask_frame_parallel
from agent_release.masking import parallel as par

KEY = b"test-masking-key-0123456789"


def _generated(n: int, seed: int):
    logs = pytest.importorskip("agent_release.synth.logs")
    gen = logs.generate(n, seed=seed)
    rows = []
    for i, rec in enumerate(gen.records):
        row = normalise(rec)
        row["source"], row["source_row"] = "gen", i
        rows.append(row)
    return to_frame(rows)


# ------------------------------------------------------------------------------------------------
# chunking (pure)
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("counts,workers", [
    ([7] * 400, 2), ([1, 30, 2, 2, 50, 3] * 90, 2), ([5] * 3, 2), ([0, 0, 4], 4), ([9], 8),
    ([3] * 5000, 3),
])
def test_chunks_are_contiguous_cover_everything_and_balance(counts, workers):
    bounds = par.chunk_bounds(counts, workers, min_messages=50, max_messages=2000)
    assert bounds[0][0] == 0 and bounds[-1][1] == len(counts)
    assert all(s < e for s, e in bounds)
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    sizes = [sum(counts[s:e]) for s, e in bounds]
    if sum(counts) >= 2 * workers * par.CHUNKS_PER_WORKER * 50:
        assert len(bounds) >= workers * par.CHUNKS_PER_WORKER  # enough chunks to keep every core busy
        assert max(sizes) <= 2 * (sum(counts) / len(bounds)) + max(counts)


def test_chunk_size_is_bounded_for_big_tables():
    bounds = par.chunk_bounds([10] * 100_000, 2, max_messages=20_000)
    assert len(bounds) == 50 and all(e - s == 2000 for s, e in bounds)
    assert par.chunk_bounds([], 2) == []


def test_resolve_workers_defaults_to_all_cores(monkeypatch):
    monkeypatch.setattr(par.os, "cpu_count", lambda: 6)
    assert par.resolve_workers(0) == par.resolve_workers(None) == 6
    assert par.resolve_workers(3) == 3


def test_resource_workers_default_and_override(monkeypatch):
    from agent_release.defs.resources import MaskingResource

    monkeypatch.setattr("os.cpu_count", lambda: 4)
    assert MaskingResource().n_workers() == 4
    assert MaskingResource(workers=1).n_workers() == 1


# ------------------------------------------------------------------------------------------------
# one worker / small tables: no subprocess
# ------------------------------------------------------------------------------------------------

class _NoPool:
    def __init__(self, *a, **k):
        raise AssertionError("a worker process was started")


def test_one_worker_or_a_small_table_runs_in_process(monkeypatch):
    monkeypatch.setattr(par, "MaskingPool", _NoPool)
    df = _generated(6, seed=5)
    ref, ref_stats = Masker(KEY).mask_frame(df)
    for workers in (1, 2):  # 6 conversations are far below two chunks' worth of messages
        out, stats = mask_frame_parallel(df, KEY, workers=workers)
        assert out.equals(ref) and stats.workers == 1 and stats.entities == ref_stats.entities


# ------------------------------------------------------------------------------------------------
# the real thing: 2 spawned workers vs 1 process
# ------------------------------------------------------------------------------------------------

def test_two_workers_give_identical_output_and_aggregated_stats():
    df = _generated(300, seed=20261201)
    ref, ref_stats = Masker(KEY).mask_frame(df)
    out, stats = mask_frame_parallel(df, KEY, workers=2, min_chunk_messages=100)

    assert stats.workers == 2
    assert out.schema == ref.schema
    assert out["conversation_id"].to_list() == df["conversation_id"].to_list()  # input order
    assert out.equals(ref)  # byte-for-byte the single-process result
    assert stats.conversations == ref_stats.conversations == df.height
    assert stats.messages == ref_stats.messages
    assert stats.entities == ref_stats.entities and stats.total_entities > 100
    assert stats.by_locale == ref_stats.by_locale
    assert stats.extra_fields_masked == ref_stats.extra_fields_masked
    assert stats.distinct_texts >= ref_stats.distinct_texts  # summed over chunks
    assert stats.seconds > 0


def test_a_pool_reuses_its_workers_across_tables():
    df = _generated(120, seed=11)
    ref, _ = Masker(KEY).mask_frame(df)
    with par.MaskingPool(KEY, 2, min_chunk_messages=50) as pool:
        pool.start()
        assert len(pool.pids) == 2 and pool.load_seconds > 0
        first, s1 = pool.mask_frame(df)
        again, s2 = pool.mask_frame(df.slice(40, 50))
    assert first.equals(ref) and s1.workers == 2
    assert again.equals(ref.slice(40, 50))


def test_worker_errors_name_rows_never_text():
    df = _generated(60, seed=3)
    # a broken configuration fails inside the workers, on the first finding
    with pytest.raises(MaskingError) as err:
        mask_frame_parallel(df, KEY, workers=2, min_chunk_messages=20, score_threshold=None)
    msg = str(err.value)
    assert msg.startswith("masking rows ") and "(TypeError)" in msg
    for m in df["messages"].to_list()[0]:
        if m["content"] and len(m["content"]) > 8:
            assert m["content"] not in msg


def test_find_cache_is_exact_and_bounded():
    texts = ["Hi, I'm John Smith, call (415) 555-0123", "ok", "Soy Lucía Pérez", "thanks John Smith"] * 2
    locs = ["en-US", "en-US", "es-ES", "en-US"] * 2
    plain = Masker(KEY)
    cached = Masker(KEY, find_cache_size=3)
    cached._analyzer = plain.analyzer  # one model load for both
    ref = plain.find_many(texts, locs)
    assert cached.find_many(texts, locs) == ref  # fills (then clears and refills) the cache
    assert len(cached._find_cache) <= 3
    assert cached.find_many(texts, locs) == ref  # served partly from the cache
    assert cached.find_many(texts[::-1], locs[::-1]) == ref[::-1]


def test_merged_stats_keep_the_locales_that_fell_back():
    from collections import Counter

    from agent_release.masking.engine import MaskStats
    from agent_release.masking.parallel import merge_stats

    a, b = MaskStats(), MaskStats()
    a.fallback_locales.update({"tr-TR": 2})
    b.fallback_locales.update({"tr-TR": 1, "(missing)": 4})
    assert merge_stats([a, b], 1.0, 2).fallback_locales == Counter({"tr-TR": 3, "(missing)": 4})
