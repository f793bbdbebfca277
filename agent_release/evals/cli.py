"""CLI verbs for the eval suites: propose golden cases, bless a baseline, run garak."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def cmd_golden_propose(args: argparse.Namespace) -> int:
    """Draft golden cases from masked production logs into data/golden/proposed_<date>.jsonl."""
    from datetime import UTC, datetime

    from agent_release.defs.masking import MASKED
    from agent_release.evals.golden import golden_dir, propose_golden_cases
    from agent_release.warehouse import Lake

    lake = Lake.default()
    if not lake.exists(MASKED):
        print("no masked conversations yet: run `make run` (or the ingest_logs + mask_traffic jobs) first")
        return 1
    cases = propose_golden_cases(lake.read(MASKED), args.n, seed=args.seed)
    out = Path(args.out) if args.out else golden_dir() / f"proposed_{datetime.now(UTC):%Y%m%d}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for c in cases:
            fh.write(json.dumps(c, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"{len(cases)} proposed cases (status 'proposed', masked) → {out}")
    print("review them: fill in facts / must_not_contain, set status to 'blessed', append to the golden set")
    return 0


def cmd_golden_bless(args: argparse.Namespace) -> int:
    """Bless a release's golden run of one agent as the new baseline for nightly regressions."""
    import polars as pl

    from agent_release.defs.evals import GOLDEN
    from agent_release.evals.golden import bless_baseline
    from agent_release.warehouse import Lake

    lake = Lake.default()
    if args.release_id not in lake.partitions(GOLDEN):
        print(f"no golden results for release {args.release_id}: run `agent-release gate {args.release_id}` first")
        return 1
    df = lake.read(GOLDEN, partition=args.release_id)
    versions = sorted(df["agent_version"].unique().to_list())
    agent = args.agent
    if agent not in versions:
        print(f"agent {agent!r} not in that run; one of {', '.join(versions)}")
        return 1
    path = bless_baseline(df.filter(pl.col("agent_version") == agent), args.path, note=args.note)
    print(f"blessed {agent} from release {args.release_id} → {path}")
    return 0


def cmd_redteam_garak(args: argparse.Namespace) -> int:
    """Run real garak (optional `redteam` extra) against an OpenAI-compatible endpoint; the report
    lands where the adversarial_findings asset ingests it."""
    from agent_release.config import paths
    from agent_release.evals.redteam import DEFAULT_PROBES, run_garak

    out = paths().inputs / "redteam" / args.release_id / args.side
    probes = args.probes.split(",") if args.probes else list(DEFAULT_PROBES)
    res = run_garak(args.base_url, args.model, probes, out, api_key_env=args.api_key_env)
    print(res.message)
    if res.skipped:
        return 2
    return 0 if res.returncode == 0 else 1


def add_commands(sub) -> None:
    g = sub.add_parser("golden", help="golden set: propose cases from masked logs, bless a baseline")
    gs = g.add_subparsers(dest="golden_cmd", required=True)
    p = gs.add_parser("propose", help="draft new golden cases from masked production logs")
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="")
    p.set_defaults(func=cmd_golden_propose)
    b = gs.add_parser("bless", help="bless a release's golden run as the new baseline")
    b.add_argument("release_id")
    b.add_argument("--agent", required=True, help="agent version, e.g. support-bot@2")
    b.add_argument("--path", default=None)
    b.add_argument("--note", default="")
    b.set_defaults(func=cmd_golden_bless)
    r = sub.add_parser("redteam-garak", help="run garak against an agent endpoint (needs the redteam extra)")
    r.add_argument("release_id")
    r.add_argument("--side", choices=("baseline", "candidate"), required=True)
    r.add_argument("--base-url", required=True)
    r.add_argument("--model", required=True)
    r.add_argument("--api-key-env", default=None)
    r.add_argument("--probes", default="")
    r.set_defaults(func=cmd_redteam_garak)
