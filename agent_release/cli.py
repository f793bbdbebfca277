"""`agent-release …` — run the pipeline, serve simulated agents, CI gates, rollback, audit."""

from __future__ import annotations

import argparse
import os
import sys
import time


def _instance():
    import dagster as dg

    home = os.environ.get("DAGSTER_HOME")
    if home:
        os.makedirs(home, exist_ok=True)
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def cmd_run(args: argparse.Namespace) -> int:
    """Materialize the whole pipeline on the configured sources and print a summary."""
    if os.environ.get("AGENT_RELEASE_LOG_SOURCE", "synthetic") == "synthetic":
        os.environ.setdefault("AGENT_RELEASE_DEMO", "1")
    from agent_release.config import paths
    from agent_release.definitions import defs

    job = defs.get_job_def(args.job)
    t0 = time.monotonic()
    result = job.execute_in_process(instance=_instance(), raise_on_error=False)
    elapsed = time.monotonic() - t0
    p = paths()
    print()
    print(f"run {result.run_id}: {'SUCCESS' if result.success else 'FAILURE'} in {elapsed:.0f}s")
    failed_checks = []
    for ev in result.all_events:
        if ev.event_type_value == "ASSET_CHECK_EVALUATION":
            data = ev.event_specific_data.asset_check_evaluation
            mark = "ok  " if data.passed else "FAIL"
            print(f"  check {mark} {data.asset_key.to_user_string()}:{data.check_name}")
            if not data.passed:
                failed_checks.append(data.check_name)
    print(_summary(p))
    print(f"\nAnalyst warehouse: {p.warehouse}  (open with: duckdb -readonly {p.warehouse})")
    print("Dagster UI: make ui  → http://127.0.0.1:3000")
    return 0 if result.success else 1


def _summary(p) -> str:
    from agent_release.warehouse import Lake

    lake = Lake(p.lake)
    lines = ["\nTables (schema.table: rows):"]
    with lake.connect() as con:
        for t in lake.tables():
            if t.startswith("_raw."):
                continue
            n = con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            lines.append(f"  {t}: {n}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="agent-release", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="materialize the pipeline (embedded default unless configured)")
    r.add_argument("--job", default="release_pipeline")
    r.set_defaults(func=cmd_run)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
