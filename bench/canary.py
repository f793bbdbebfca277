"""Benchmark: canary analysis (cohort assignment + cohort statistics + exit decision).

Times the full analysis on 14 days at 10k conversations/hour (~3.4M conversations, both
cohorts, contract shape with nested messages) and on a tenth of it (1k/hour), and prints both
timings and their ratio. Generation (the simulator) is timed separately and is not part of the
analysis. Target: full size under 60 s on 2 cores, cost growing no faster than linearly.

    .venv/bin/python bench/canary.py                  # full + tenth
    .venv/bin/python bench/canary.py --rate 2000      # smaller full size
    .venv/bin/python bench/canary.py --parquet        # analyse from a Parquet file instead of memory

Writes bench/out/canary.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb  # noqa: E402
import psutil  # noqa: E402

from agent_release.canary import cohort_stats as cs  # noqa: E402
from agent_release.canary.decision import decide  # noqa: E402
from agent_release.canary.simulate import SCENARIOS, TrafficConfig, simulate  # noqa: E402
from agent_release.release_spec import load_release  # noqa: E402


def rss_gb() -> float:
    return psutil.Process().memory_info().rss / 1e9


def run(spec, rate: float, days: int, seed: int, scenario: str, parquet: bool) -> dict:
    cfg = TrafficConfig.from_spec(spec, rate_per_hour=rate, days=days, seed=seed)
    t0 = time.perf_counter()
    sim = simulate(cfg, SCENARIOS[scenario])
    gen_s = time.perf_counter() - t0
    frame = sim.frame
    n = frame.height
    turns = sim.truth["assistant_turns"]
    del sim
    gc.collect()
    source = frame
    tmp = None
    write_s = None
    if parquet:
        tmp = tempfile.TemporaryDirectory()
        path = Path(tmp.name) / "traffic.parquet"
        t0 = time.perf_counter()
        frame.write_parquet(path, compression="zstd")
        write_s = time.perf_counter() - t0
        source = str(path)
        del frame
        gc.collect()

    timings = {}
    t_all = time.perf_counter()
    con = duckdb.connect(":memory:")
    t0 = time.perf_counter()
    name = cs.register_traffic(con, source)
    data = cs.prepare_from_spec(con, name, spec)
    timings["assign_cohorts_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    stats = cs.cohort_stats(data, release_id=spec.release_id)
    timings["cohort_stats_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    dec = decide(spec, data, as_of=cfg.start + timedelta(days=days))
    timings["decision_s"] = time.perf_counter() - t0
    analysis_s = time.perf_counter() - t_all
    peak = rss_gb()
    con.close()
    if tmp is not None:
        tmp.cleanup()
    return {
        "rate_per_hour": rate,
        "days": days,
        "conversations": n,
        "assistant_turns": turns,
        "generation_s": round(gen_s, 2),
        "parquet_write_s": round(write_s, 2) if write_s is not None else None,
        "analysis_s": round(analysis_s, 2),
        **{k: round(v, 2) for k, v in timings.items()},
        "stats_rows": stats.height,
        "decision": dec.decision,
        "reason": dec.reasons[0] if dec.reasons else "",
        "rss_gb_after": round(peak, 2),
        "us_per_conversation": round(analysis_s / n * 1e6, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=10_000.0, help="conversations/hour at full size")
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--fraction", type=float, default=0.1, help="size of the small run relative to full")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scenario", default="noninferior", choices=sorted(SCENARIOS))
    ap.add_argument("--parquet", action="store_true", help="analyse from a Parquet file, not the in-memory frame")
    ap.add_argument("--release", default="support-bot-2")
    args = ap.parse_args()
    spec = load_release(args.release)
    threads = duckdb.connect().execute("SELECT current_setting('threads')").fetchone()[0]
    print(f"cores={os.cpu_count()} duckdb threads={threads}")
    # warm-up (imports, scipy, duckdb extension loading) -- not timed
    run(spec, 50, args.days, args.seed, args.scenario, False)
    results = []
    for rate in (args.rate * args.fraction, args.rate):
        r = run(spec, rate, args.days, args.seed, args.scenario, args.parquet)
        results.append(r)
        print(json.dumps(r))
        gc.collect()
    small, full = results
    ratio = full["analysis_s"] / small["analysis_s"]
    size_ratio = full["conversations"] / small["conversations"]
    summary = {
        "full_conversations": full["conversations"],
        "full_analysis_s": full["analysis_s"],
        "full_generation_s": full["generation_s"],
        "tenth_conversations": small["conversations"],
        "tenth_analysis_s": small["analysis_s"],
        "tenth_generation_s": small["generation_s"],
        "analysis_time_ratio": round(ratio, 2),
        "size_ratio": round(size_ratio, 2),
        "scaling": "sub-linear" if ratio <= size_ratio else "super-linear",
        "target_full_under_60s": full["analysis_s"] < 60,
        "source": "parquet" if args.parquet else "in-memory polars frame",
    }
    print()
    print(f"generation: full {full['generation_s']:.1f} s ({full['conversations']:,} conversations), "
          f"tenth {small['generation_s']:.1f} s ({small['conversations']:,})")
    print(f"analysis:   full {full['analysis_s']:.1f} s, tenth {small['analysis_s']:.1f} s, "
          f"ratio {ratio:.2f} for {size_ratio:.1f}x the data "
          f"({'OK' if ratio <= size_ratio else 'WORSE than linear'}; target < 60 s: "
          f"{'OK' if full['analysis_s'] < 60 else 'MISSED'})")
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    (out / "canary.json").write_text(json.dumps({"runs": results, "summary": summary}, indent=2))


if __name__ == "__main__":
    main()
