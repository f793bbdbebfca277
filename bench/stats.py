"""Benchmark: clustered p95 bootstrap at canary scale and Unleash bucketing throughput.

    .venv/bin/python bench/stats.py

Prints, side by side in one run: the fast cluster bootstrap vs a naive per-resample
`np.quantile` on a resampled index (the obvious implementation), and bucket_many vs a plain
Python loop over mmh3.
"""

import time

import mmh3
import numpy as np

from agent_release import stats as S
from agent_release.bucketing import bucket_many


def main() -> None:
    rng = np.random.default_rng(0)
    n_users = 200_000
    uid = np.repeat(np.arange(n_users), rng.poisson(16, n_users) + 1)[:3_400_000]
    lat = np.exp(6.5 + rng.normal(0, 0.6, uid.size) + rng.normal(0, 0.3, n_users)[uid])
    t0 = time.perf_counter()
    r = S.bootstrap_quantile_ci(lat, 0.95, n_boot=1000, seed=1, cluster_ids=uid)
    fast = time.perf_counter() - t0
    # naive: resample users, gather their rows, take the quantile (20 resamples, extrapolated)
    order = np.argsort(uid, kind="stable")
    starts = np.searchsorted(uid[order], np.arange(n_users))
    ends = np.searchsorted(uid[order], np.arange(n_users), side="right")
    t0 = time.perf_counter()
    k = 20
    for _ in range(k):
        pick = rng.integers(0, n_users, n_users)
        idx = np.concatenate([order[starts[u]:ends[u]] for u in pick[:20000]])  # 10% of users
        np.quantile(lat[idx], 0.95)
    naive = (time.perf_counter() - t0) / k * 1000 * 10
    print(f"cluster bootstrap p95 | rows {uid.size:,} | users {n_users:,} | resamples 1000")
    print(f"  project (exact windowed cluster bootstrap): {fast:8.2f} s   CI [{r.ci_low:.1f}, {r.ci_high:.1f}]")
    print(f"  naive per-resample gather + quantile (extrapolated): {naive:8.1f} s   ratio {naive / fast:.0f}x")

    ids = [f"cust-{i:08d}" for i in range(1_000_000)]
    t0 = time.perf_counter()
    bucket_many("support-bot-2", ids)
    vec = time.perf_counter() - t0
    t0 = time.perf_counter()
    [mmh3.hash(f"support-bot-2:{u}", 0, signed=False) % 100 + 1 for u in ids]
    loop = time.perf_counter() - t0
    print(f"bucketing 1M user ids | bucket_many {1 / vec:.1f}M ids/s | python loop {1 / loop:.1f}M ids/s")


if __name__ == "__main__":
    main()
