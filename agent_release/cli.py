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


def _print_checks(result) -> list[str]:
    failed = []
    for ev in result.all_events:
        if ev.event_type_value == "ASSET_CHECK_EVALUATION":
            data = ev.event_specific_data
            mark = "ok  " if data.passed else ("FAIL" if data.severity.value == "ERROR" else "warn")
            print(f"  check {mark} {data.asset_key.to_user_string()}:{data.check_name}")
            if not data.passed and data.severity.value == "ERROR":
                failed.append(data.check_name)
    return failed


def _execute(job_name: str, instance, partition_key: str | None = None):
    from agent_release.definitions import defs

    job = defs.resolve_job_def(job_name)
    t0 = time.monotonic()
    result = job.execute_in_process(instance=instance, partition_key=partition_key, raise_on_error=False)
    label = job_name + (f" [{partition_key}]" if partition_key else "")
    print(f"\n{label}: {'SUCCESS' if result.success else 'FAILURE'} in {time.monotonic() - t0:.0f}s (run {result.run_id[:8]})")
    _print_checks(result)
    return result


def _prepare_traffic(instance) -> bool:
    """Intake (one run), then masking one run per day of traffic (partition = day)."""
    from agent_release.definitions import defs
    from agent_release.defs.partitions import traffic_days

    if not _execute("ingest_logs", instance).success:
        return False
    ok, t0 = True, time.monotonic()
    job = defs.resolve_job_def("mask_traffic")
    days = traffic_days.get_partition_keys()
    failed = []
    for day in days:
        res = job.execute_in_process(instance=instance, partition_key=day, raise_on_error=False)
        if not res.success:
            failed.append(day)
            _print_checks(res)
        ok = ok and res.success
    print(f"\nmask_traffic [{len(days)} days]: {'SUCCESS' if ok else 'FAILURE ' + ', '.join(failed)} "
          f"in {time.monotonic() - t0:.0f}s")
    return ok


def _replay_all_days(instance, release_id: str) -> bool:
    """One replay run per day of traffic (partition release × day), then the pre-prod suites."""
    import dagster as dg

    from agent_release.defs.partitions import traffic_days

    ok = True
    t0 = time.monotonic()
    from agent_release.definitions import defs

    job = defs.resolve_job_def("replay_release")
    days = traffic_days.get_partition_keys()
    for day in days:
        key = dg.MultiPartitionKey({"release": release_id, "day": day})
        res = job.execute_in_process(instance=instance, partition_key=key, raise_on_error=False)
        ok = ok and res.success
    print(f"\nreplay_release [{release_id}, {len(days)} days]: {'SUCCESS' if ok else 'FAILURE'} "
          f"in {time.monotonic() - t0:.0f}s")
    return ok


def cmd_run(args: argparse.Namespace) -> int:
    """Materialize the whole pipeline on the configured sources and print a summary."""
    if os.environ.get("AGENT_RELEASE_LOG_SOURCE", "synthetic") == "synthetic":
        os.environ.setdefault("AGENT_RELEASE_DEMO", "1")
    from agent_release.config import paths
    from agent_release.defs.releases import register_releases

    instance = _instance()
    t0 = time.monotonic()
    ok = _prepare_traffic(instance)
    spec_errors: list[str] = []
    releases = args.release or register_releases(instance, spec_errors)
    from agent_release.defs.evals import gate_status
    from agent_release.warehouse import Lake

    lake = Lake.default()
    outcomes = [f"invalid spec, skipped (the other releases run; a live rollout of it stays watched under its last "
                f"valid spec): {e}" for e in spec_errors]
    for rid in releases:
        if not ok:
            break
        if _replay_all_days(instance, rid):
            _execute("preprod_release", instance, partition_key=rid)
        st = gate_status(lake, rid)
        status = st[-1]
        line = f"{rid}: gate {status}" + (f" (inputs changed: {', '.join(st.changed) or 'unknown'})"
                                          if status == "STALE" else "")
        if status == "NO DECISION":
            ok = False
        elif status == "PROMOTE":
            res = _execute("canary_release", instance, partition_key=rid)
            ok = ok and res.success
            from agent_release.decision_log import latest_canary_decision

            last = latest_canary_decision(lake, rid)
            if last is not None:
                import json as _json

                line += f" → canary {last['decision']} ({(_json.loads(last['reasons']) or [''])[0][:120]})"
                if last["decision"] == "EXPAND":
                    from agent_release.rollout.cli import _status_text

                    res = _execute("rollout_release", instance, partition_key=rid)
                    ok = ok and res.success
                    line += "\n    " + _status_text(rid).replace("\n", "\n    ")
        outcomes.append(line)
    if ok and not args.skip_post_deploy:
        from agent_release.defs.monitoring import run_post_deploy

        ok = run_post_deploy(instance) and ok
        outcomes.append("post-deployment: nightly regression, outcome drift, worst-1% review, SLO, "
                        "re-evaluation, audit (data/reports/{review,slo,audit})")
    p = paths()
    print("\nDecisions:")
    for line in outcomes:
        print("  " + line)
    print(_summary(p))
    print(f"\nFinished in {time.monotonic() - t0:.0f}s.")
    print(f"Analyst warehouse: {p.warehouse}  (open with: .venv/bin/duckdb -readonly {p.warehouse})")
    print(f"Reports: {p.reports}")
    print("Dagster UI on the same instance: make ui  → http://127.0.0.1:3000")
    return 0 if ok and not spec_errors else 1


def cmd_gate(args: argparse.Namespace) -> int:
    """Run pre-prod for one release; exit 0 on PROMOTE, 2 on BLOCK (or stale), 1 on error."""
    if os.environ.get("AGENT_RELEASE_LOG_SOURCE", "synthetic") == "synthetic":
        os.environ.setdefault("AGENT_RELEASE_DEMO", "1")
    from agent_release.defs.evals import gate_status
    from agent_release.defs.masking import MASKED
    from agent_release.defs.partitions import RELEASES
    from agent_release.release_spec import SpecError, load_release
    from agent_release.warehouse import Lake

    try:
        spec = load_release(args.release_id)
    except (SpecError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    instance = _instance()
    if args.release_id not in instance.get_dynamic_partitions(RELEASES):
        instance.add_dynamic_partitions(RELEASES, [args.release_id])
    lake = Lake.default()
    if args.refresh_traffic or not lake.exists(MASKED):
        if not _prepare_traffic(instance):
            return 1
    if not _replay_all_days(instance, args.release_id):
        return 1
    res = _execute("preprod_release", instance, partition_key=args.release_id)
    st = gate_status(lake, args.release_id)
    decision, dec_hash, cur_hash, status = st
    if not res.success and status == "NO DECISION":
        return 1
    print(f"\nGATE {args.release_id}: {status} (spec {spec.spec_hash}, inputs {st.current_manifest_hash or '?'})")
    from agent_release.decision_log import current_gate_decision

    d = current_gate_decision(lake, args.release_id)
    import json as _json

    for r in _json.loads(d["reasons"]) if d and d.get("reasons") else []:
        print(f"  - {r}")
    if status == "STALE":
        for r in st.reasons:
            print(f"  ! {r}")
    return 0 if status == "PROMOTE" else 2


def cmd_serve_agent(args: argparse.Namespace) -> int:
    from agent_release.agents.server import main_serve

    argv = ["--version", args.version, "--port", str(args.port), "--host", args.host,
            "--latency-scale", str(args.latency_scale), "--seed", str(args.seed)]
    return main_serve(argv) or 0


def _summary(p) -> str:
    from agent_release.warehouse import Lake

    from agent_release.warehouse import exposed_names

    lake = Lake(p.lake)
    lines = ["\nTables (schema.table: rows; * = view derived from a history):"]
    tables, views = exposed_names(lake)
    with lake.connect() as con:
        for t in sorted([*tables, *views]):
            n = con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            lines.append(f"  {t}{' *' if t in views else ''}: {n}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="agent-release", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="materialize the pipeline (embedded default unless configured)")
    r.add_argument("--release", action="append", help="only this release (repeatable); default: all specs")
    r.add_argument("--skip-post-deploy", action="store_true", help="stop after the canary")
    r.set_defaults(func=cmd_run)
    g = sub.add_parser("gate", help="run pre-prod for a release; non-zero exit on BLOCK (for CI)")
    g.add_argument("release_id")
    g.add_argument("--refresh-traffic", action="store_true", help="re-run intake + masking first")
    g.set_defaults(func=cmd_gate)
    sa = sub.add_parser("serve-agent", help="serve a simulated agent as an OpenAI-compatible HTTP server")
    sa.add_argument("--version", required=True, help="profile, e.g. support-bot@2")
    sa.add_argument("--port", type=int, default=8000)
    sa.add_argument("--host", default="127.0.0.1")
    sa.add_argument("--latency-scale", type=float, default=0.01)
    sa.add_argument("--seed", type=int, default=1)
    sa.set_defaults(func=cmd_serve_agent)
    from agent_release.rollout.cli import add_commands as add_rollout_commands  # rollback, rollout, rollout-status

    add_rollout_commands(sub)
    from agent_release.evals.cli import add_commands as add_eval_commands  # golden propose/bless, redteam-garak

    add_eval_commands(sub)
    from agent_release.monitoring.cli import add_audit_command  # audit (body in agent_release/monitoring/cli.py)

    add_audit_command(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
