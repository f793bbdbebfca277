"""``agent-release rollback | rollout | rollout-status`` (registered by :func:`add_commands`).

``rollback`` talks to the flag backend directly (no Dagster run needed: in an emergency the
fewest moving parts win) and leaves the same records as the UI job: an audit row and a
ROLLBACK decision row.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys


def add_commands(sub) -> None:
    rb = sub.add_parser("rollback", help="pull a release's flag now (any step, 100%% included) and record why")
    rb.add_argument("release_id")
    rb.add_argument("--reason", required=True, help="why (recorded in the audit and decision rows)")
    rb.add_argument("--actor", default="", help="who (default: cli:<login>)")
    rb.set_defaults(func=cmd_rollback)
    ro = sub.add_parser("rollout", help="play the rollout of every promoted release (simulated time) and print "
                                        "each step's decision")
    ro.add_argument("--release", action="append", help="only this release (repeatable)")
    ro.set_defaults(func=cmd_rollout)
    st = sub.add_parser("rollout-status", help="a release's rollout: state, flag, decisions, flag audit")
    st.add_argument("release_id")
    st.set_defaults(func=cmd_rollout_status)


def _actor(args) -> str:
    if args.actor:
        return args.actor
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name (container): still say it was the CLI
        return "cli:unknown"


def cmd_rollback(args: argparse.Namespace) -> int:
    from agent_release.flags import FlagError, backend_for
    from agent_release.release_spec import SpecError, load_release
    from agent_release.rollout.actions import rollback
    from agent_release.warehouse import Lake, refresh_warehouse

    try:
        spec = load_release(args.release_id)
        backend = backend_for(spec)
        res = rollback(spec, backend, Lake.default(), reason=args.reason, actor=_actor(args))
    except (SpecError, FileNotFoundError, FlagError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    refresh_warehouse()
    print(res.message)
    state = backend.get(res.flag)
    print(f"flag now: {state.describe()}")
    return 0 if state.effective_percentage == 0 else 1


def cmd_rollout(args: argparse.Namespace) -> int:
    if os.environ.get("AGENT_RELEASE_LOG_SOURCE", "synthetic") == "synthetic":
        os.environ.setdefault("AGENT_RELEASE_DEMO", "1")
    from agent_release.cli import _execute, _instance
    from agent_release.defs.evals import gate_status
    from agent_release.defs.releases import register_releases
    from agent_release.warehouse import Lake

    instance = _instance()
    errors: list[str] = []
    releases = args.release or register_releases(instance, errors)
    lake = Lake.default()
    ok = not errors
    lines = [f"invalid spec, skipped (a live rollout of it stays watched under its last valid spec): {e}"
             for e in errors]
    for rid in releases:
        st = gate_status(lake, rid)
        status = st[-1]
        if status != "PROMOTE":
            why = f" (inputs changed: {', '.join(st.changed) or 'unknown'})" if status == "STALE" else ""
            lines.append(f"{rid}: gate {status}{why} → no rollout")
            continue
        try:
            res = _execute("rollout_release", instance, partition_key=rid)
            ok = ok and res.success
            lines.append(_status_text(rid))
        except Exception as exc:  # noqa: BLE001 - one release's failure never stops the others
            ok = False
            lines.append(f"{rid}: rollout failed: {type(exc).__name__}: {str(exc)[:300]}")
    print("\nRollouts:")
    for line in lines:
        print("  " + line.replace("\n", "\n  "))
    return 0 if ok else 1


def _status_text(rid: str) -> str:
    import polars as pl

    from agent_release.flags import backend_for, flag_name
    from agent_release.rollout.controller import PlayResult
    from agent_release.rollout.store import read_decisions, rollout_state
    from agent_release.warehouse import Lake

    from agent_release.rollout.specs import resolve

    lake = Lake.default()
    w = resolve(lake, rid)
    if w.spec is None:
        return w.message
    spec = w.spec
    st = rollout_state(lake, rid, spec.spec_hash)
    flag = backend_for(spec).get(flag_name(spec))
    d = read_decisions(lake, rid).filter(pl.col("spec_hash") == spec.spec_hash)
    pr = PlayResult(rid, st.status, flag.effective_percentage, d)
    head = f"{rid}: rollout {st.status}; flag {flag.describe()}" + (f"\n  SPEC: {w.message}" if w.problem else "")
    if d.height:
        inputs = json.loads(d.row(0, named=True)["inputs_json"] or "{}")
        if inputs.get("canary_decision"):
            head += (f"\n  canary exit decision: {inputs['canary_decision']} ({inputs.get('canary_reason', '')[:110]}…)"
                     f"\n  rollout traffic: {inputs.get('rollout_traffic', '')}")
    return head + "\n" + pr.render()


def cmd_rollout_status(args: argparse.Namespace) -> int:
    from agent_release.flags import backend_for, flag_name
    from agent_release.release_spec import SpecError, load_release

    try:
        print(_status_text(args.release_id))
        spec = load_release(args.release_id)
    except (SpecError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    audit = backend_for(spec).audit.read(flag_name(spec))
    print("\nFlag audit (rollout.flag_audit):")
    for r in audit.iter_rows(named=True):
        print(f"  {r['changed_at']:%Y-%m-%d %H:%M:%S}  {r['action']:<4} {r['from_effective_percentage']:g}% → "
              f"{r['to_effective_percentage']:g}%  by {r['actor']}: {r['reason'][:160]}")
    return 0
