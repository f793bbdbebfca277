"""The rollout plan, from the release spec: steps, spacing, what each step must pass.

Steps are the spec's ``rollout.steps`` (default 5 → 25 → 50 → 100) from the canary share on:
the first step *is* the canary's share (the canary ran there), so the plan starts at
``canary.traffic_percent`` and keeps the later steps above it. Steps are at least
``rollout.min_hours_between_steps`` (≥ 48 h) apart in **data time** — the clock of the traffic,
not the wall clock — so the embedded simulation plays a 10-day rollout in seconds while a real
rollout waits for real traffic.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from agent_release.rollout.thresholds import FORMULA


@dataclass(frozen=True)
class Step:
    index: int
    percentage: float


def plan_steps(spec) -> list[Step]:
    start = float(spec.canary.traffic_percent)
    pcts = [start] + [float(p) for p in spec.rollout.steps if float(p) > start]
    if pcts[-1] != 100.0:
        pcts.append(100.0)
    return [Step(i, p) for i, p in enumerate(pcts)]


def render_plan(spec, *, step_hours: float, watch_hours: float, s_min: float) -> str:
    """The rollout plan (Markdown), written before the rollout starts; decisions cite its hash."""
    from agent_release.flags import flag_name

    steps = plan_steps(spec)
    c = spec.canary
    arrow = " → ".join(f"{s.percentage:g}%" for s in steps)
    lines = [
        f"# Rollout plan: {spec.release_id}",
        "",
        f"- Release spec hash: `{spec.spec_hash}`",
        f"- Flag `{flag_name(spec)}` on the `{spec.rollout.flag_backend}` backend (gradual rollout, stickiness "
        "userId, groupId = flag name: the cohort `agent_release.bucketing` computes)",
        f"- Steps: {arrow}; at least {spec.rollout.min_hours_between_steps:g} h of data time between steps "
        f"(this run: {step_hours:g} h per step; 100% is watched {step_hours:g} h before COMPLETE)",
        "",
        "## Entering the next step",
        "Each step is entered only when all of these hold at the end of the previous step:",
        "1. **The step's analysis passes** — the canary analysis on the step's own traffic: guardrails, SRM "
        f"(expected split = the step's share), flag/serving mismatches, non-inferiority of the exit metrics "
        f"({', '.join(f'{m.name} margin {m.margin:g}' for m in c.metrics)}; ≥ {c.required_passing} must pass, "
        f"Holm at alpha {c.alpha:g}, one look per step), no significantly worse segment "
        f"({', '.join(c.segments)}), at least {c.min_conversations_per_arm:,} conversations per arm. The "
        "canary's full-weekly-cycle rule is waived (the canary soak covered it).",
        "2. **No guardrail breached** during the step (watched every "
        f"{watch_hours:g} h of data time by the auto-rollback watch).",
        "3. **Rollback readiness** — the baseline agent answers and the flag can be written (no-op round trip).",
        "4. **Model versions as pinned** — live traffic reports the pinned models, else the rollout freezes and a "
        "new release is opened.",
        "",
        "## Alert thresholds tighten with the volume at stake",
        f"Spec (canary share): error rate ≤ {c.error_rate_max:.1%}, cost per resolution ≤ "
        f"{c.cost_overrun_ratio:g}× baseline, safety incidents ≤ {c.safety_incidents_max}.",
        "",
        f"`{FORMULA}` (s_min = {s_min:g}). V0 is measured at the canary share. See "
        "`agent_release/rollout/thresholds.py` for the derivation (square root: constant false-alarm rate per "
        "watch window, tolerated excess harm growing only as the square root of exposure).",
        "",
        "## Getting out",
        "- Automatic: the `rollout_guardrail_sensor` pulls the flag on an error-rate breach (lower bound of "
        "candidate − baseline above the allowance in force; candidate lower bound above the spec's maximum), "
        "cost overrun (lower bound of the cost ratio above the alert) or safety incident, records the evidence; a second tick does nothing.",
        "- Manual: the `manual_rollback` job (Dagster UI: pick the release partition, Launch) or "
        "`agent-release rollback <release-id> --reason \"…\"`; works at every step, 100% included.",
        "- A rolled-back or frozen rollout is final for this spec: ship a new release.",
        "",
    ]
    return "\n".join(lines)


def plan_hash(doc: str) -> str:
    return hashlib.sha256(doc.encode()).hexdigest()[:16]
