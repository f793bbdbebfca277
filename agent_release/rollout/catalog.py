"""Analyst documentation of the rollout tables (merged into ``agent_release.catalog.TABLES``)."""

from __future__ import annotations

from agent_release.catalog import TableDoc
from agent_release.flags.audit import AUDIT_COLUMN_DOCS
from agent_release.rollout.specs import SNAPSHOT_COLUMN_DOCS
from agent_release.rollout.store import DECISION_COLUMN_DOCS, READINESS_COLUMN_DOCS

ROLLOUT_TABLES: dict[str, TableDoc] = {
    "rollout.plans": TableDoc(
        "The rollout plan per release, written from the spec before the rollout starts (steps, spacing, "
        "what each step must pass, how alerts tighten).",
        {"release_id": "Release.", "spec_hash": "Spec content hash.", "plan_hash": "Hash of the plan document.",
         "steps": "Steps in percent (JSON list).", "min_hours_between_steps": "Minimum data-time hours between steps.",
         "flag_backend": "local | unleash.", "written_at": "When the plan was written.",
         "document_md": "The plan (Markdown)."}),
    "rollout.decisions": TableDoc(
        "Every rollout decision — ENTER a step, HOLD, ROLLBACK (sensor, person or controller), FREEZE "
        "(model version changed), COMPLETE — with inputs, statistics, thresholds, volume at stake and reason.",
        DECISION_COLUMN_DOCS),
    "rollout.flag_audit": TableDoc(
        "One row per flag change on any backend: when, from → to, why, who or which sensor, evidence.",
        AUDIT_COLUMN_DOCS),
    "rollout.readiness": TableDoc(
        "Rollback-readiness checks: before each step and continuously past 50% (baseline answers, flag writable).",
        READINESS_COLUMN_DOCS),
    "rollout.watch": TableDoc(
        "The guardrail watch of the simulated rollout: one row per watch window (candidate and baseline "
        "error rates, the bounds and the allowance in force, cost ratio and its lower bound, safety "
        "incidents, readiness, verdict: breach / no breach / not evaluated).",
        {"release_id": "Release.", "step_index": "Step.", "flag_percentage": "Flag percentage served.",
         "window_start": "Window start (data time).", "window_end": "Window end.",
         "candidate_conversations": "Candidate conversations in the window.",
         "baseline_conversations": "Baseline conversations in the window.",
         "candidate_error_rate": "Share of candidate conversations with an assistant error.",
         "baseline_error_rate": "Same for the baseline.",
         "error_rate_lower_bound": "One-sided 97.5% Wilson lower bound of the candidate error rate.",
         "error_rate_alert": "Alert threshold in force.", "cost_ratio": "Cost per resolution candidate / baseline.",
         "cost_overrun_alert": "Alert ratio in force.", "safety_incidents": "Candidate safety incidents.",
         "safety_incidents_alert": "Incidents tolerated per window.", "breached": "A guardrail fired.",
         "readiness_ok": "Continuous readiness check result (past 50%).",
         "error_rule": "Which error-rate rule decided: window baseline (Newcombe bound of the difference), "
                       "reference baseline (carried from the last step with a baseline arm) or absolute.",
         "reference_baseline_error_rate": "Baseline error rate the thresholds were built around (null = unknown, never 0).",
         "error_excess_lower_bound": "One-sided 97.5% lower bound of candidate − baseline error rate.",
         "error_allowance": "Excess error rate over the baseline tolerated at this step.",
         "error_rate_cap": "The spec's absolute error_rate_max (a candidate lower bound above it always breaches).",
         "cost_ratio_lower_bound": "One-sided 97.5% lower bound of the cost-per-resolution ratio (delta method).",
         "verdict": "breach | no breach | not evaluated (too few conversations: never read as no breach)."}),
    "rollout.spec_snapshots": TableDoc(
        "Every valid release spec seen, by hash (the last known good spec): a live rollout keeps being watched "
        "under the spec its step was entered with when its file becomes invalid or its criteria change.",
        SNAPSHOT_COLUMN_DOCS),
    "rollout.live_conversations": TableDoc(
        "Live traffic of each rollout step (embedded simulation: already in the masked shape), "
        "conversation-log contract plus release_id, step_index, flag_percentage.",
        {"release_id": "Release.", "step_index": "Step of the plan.",
         "flag_percentage": "Flag percentage read from the flag store for the step."}),
}
