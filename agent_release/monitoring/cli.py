"""``agent-release audit``: would each production agent pass its canary exit criteria today?

Reads the lake only (no Dagster run, nothing written): resolves the production agents, reads the
written exit-criteria document of each agent's release and evaluates every criterion on the agent's
live data (see :mod:`agent_release.monitoring.audit`). Exit code 0 when every agent would pass,
2 when one would not, 1 on an error (no live data, no release spec).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime


def add_audit_command(sub) -> None:
    """Register the ``audit`` subcommand on ``agent-release``'s subparsers."""
    a = sub.add_parser("audit", help="check each production agent's live data against its canary exit criteria")
    a.add_argument("--agent", action="append",
                   help="audit this agent version (repeatable); default: the production agents")
    a.add_argument("--window-days", type=int, default=None,
                   help="days of live data to judge (default: the spec's min_soak_days)")
    a.add_argument("--as-of", default=None, help="ISO timestamp (UTC) of 'today' (default: the newest live data)")
    a.set_defaults(func=cmd_audit)


def cmd_audit(args: argparse.Namespace) -> int:
    if os.environ.get("AGENT_RELEASE_LOG_SOURCE", "synthetic") == "synthetic":
        os.environ.setdefault("AGENT_RELEASE_DEMO", "1")
    from agent_release.config import paths
    from agent_release.monitoring.audit import audit_agent
    from agent_release.monitoring.production import resolve_production_agents
    from agent_release.warehouse import Lake

    lake = Lake.default()
    try:
        agents = resolve_production_agents(lake, args.agent or None)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    as_of = datetime.fromisoformat(args.as_of).replace(tzinfo=None) if args.as_of else None
    worst = 0
    print("Audit: production agents against their canary exit criteria")
    for pa in agents:
        print(f"\n{pa.version} in production: {pa.reason}")
        try:
            a = audit_agent(lake, paths(), pa, as_of=as_of, window_days=args.window_days)
        except (ValueError, FileNotFoundError) as exc:
            print(f"  error: {exc}", file=sys.stderr)
            worst = max(worst, 1)
            continue
        print(a.to_text())
        if a.verdict.startswith(("NO LIVE DATA", "NO EXIT CRITERIA")):
            worst = max(worst, 1)
        elif not a.verdict.startswith("WOULD PASS"):
            worst = 2
    return worst
