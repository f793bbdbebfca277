"""Analyst documentation of the ``monitoring.*`` tables (DuckDB comments via ``agent_release.catalog``).

:func:`register` adds these entries to ``agent_release.catalog.TABLES`` (the Dagster wiring calls it
at import, so the warehouse refresh comments the views); merging them into ``catalog.py`` itself
would make that call unnecessary.
"""

from __future__ import annotations

from agent_release.catalog import TableDoc

TABLES: dict[str, TableDoc] = {
    "monitoring.production_agents": TableDoc(
        "Which agents are in production and why (configured list, rollout state, canary state or "
        "fallback), as of the last monitoring run.",
        {"agent_version": "Agent build in production.", "model": "Pinned model.", "kind": "simulated | http.",
         "release_id": "Release whose state decided it (NULL when configured).",
         "role": "candidate | baseline | configured | fallback.", "reason": "Why this agent is in production."}),
    "monitoring.nightly_golden": TableDoc(
        "Nightly regression: golden-set results per night (partition), production agent and case "
        "(same columns as evals.golden_results, plus night)."),
    "monitoring.nightly_findings": TableDoc(
        "Nightly regression: adversarial findings per night and production agent (masked prompt and output)."),
    "monitoring.nightly_scenarios": TableDoc("Nightly regression: scenario battery trials per night and production agent."),
    "monitoring.nightly_summary": TableDoc(
        "Nightly regression verdicts: one row per night, agent, suite and comparison (blessed baseline, "
        "previous night(s), pre-prod), with value, reference, delta, interval, p-value and regression flag.",
        {"night": "Night (daily partition, YYYY-MM-DD).", "suite": "golden | adversarial | scenarios.",
         "metric": "accuracy_vs_blessed | accuracy_vs_previous_night | blocking_failure_rate | trial_pass_rate.",
         "value": "Tonight's value.", "reference": "What tonight was compared with.",
         "reference_value": "The reference's value.", "delta": "value - reference_value.",
         "ci_low": "Lower end of the paired interval of delta (golden).", "ci_high": "Upper end.",
         "p_value": "One-sided p-value of 'worse tonight' (exact McNemar / Fisher).",
         "tolerance": "Points the value may drop before a significant drop counts as a regression.",
         "regression": "TRUE = a regression (fails the nightly_no_regression check and alerts).",
         "reason": "Readable verdict.", "subset": "Suite sizes run tonight."}),
    "monitoring.hourly_outcomes": TableDoc(
        "Live outcomes per UTC hour and production agent ('*' = all production agents): conversations, "
        "resolution / escalation / abandonment / error rates, CSAT, cost, thumbs-down rate, safety "
        "incidents, latency p50/p95, with the additive sums behind them."),
    "monitoring.outcome_drift": TableDoc(
        "Hourly drift tests against the seasonal baseline (same hour, same weekday, previous weeks): "
        "value, baseline, z, p, shifted, direction and whether it is worse or better.",
        {"granularity": "hour | day.", "period_start": "Hour (or day) tested (UTC).",
         "baseline_weeks": "Previous weeks found for this hour-of-week.",
         "between_week_sd": "Week-to-week standard deviation beyond sampling noise (>= 3 weeks).",
         "z": "Test statistic (see agent_release/monitoring/outcomes.py).", "p_value": "Two-sided normal p.",
         "shifted": "|z| >= threshold with enough observations.", "assessment": "worse | better | shift (volume)."}),
    "monitoring.outcome_drift_daily": TableDoc("Daily drift tests: a day's 24 hours vs the same weekday of previous weeks."),
    "monitoring.review_queue": TableDoc(
        "Weekly worst-1% review: the week's worst conversations by badness score (masked transcripts), "
        "with the score's components and reasons.",
        {"week": "Monday of the week (weekly partition).", "rank": "1 = worst.", "score": "Badness score.",
         "components_json": "Badness components in [0, 1] (weights in agent_release/monitoring/review.py).",
         "withheld": "Transcript withheld because the residual PII scan found an identifier.",
         "transcript_json": "Masked turns: role, content, action, error, latency_ms."}),
    "monitoring.review_labels": TableDoc(
        "Reviewers' labels of review-queue conversations (good | bad | unsure, category, notes masked), "
        "with validation problems."),
    "monitoring.golden_proposals": TableDoc(
        "Draft golden cases (status proposed) from conversations reviewers labelled good."),
    "monitoring.slo_status": TableDoc(
        "SLO status per production agent and SLO (availability, latency, resolution): SLI, error budget, "
        "budget consumed, burn rates over 5m/30m/1h/6h, fast/slow burn alerts.",
        {"budget_consumed": "Bad events / (error budget x events) over the period so far (1 = exhausted).",
         "fast_burn_alert": "1h and 5m burn rates >= 14.4x.", "slow_burn_alert": "6h and 30m burn rates >= 6x."}),
    "monitoring.slo_alerts": TableDoc("Burn-rate alert episodes (fast / slow) per agent and SLO in the period."),
    "monitoring.reevaluations": TableDoc(
        "Full re-evaluations of production agents (every 90 days at least): the gate's criteria re-applied, "
        "one row per agent, criterion and evaluation."),
    "monitoring.audit": TableDoc(
        "Audit of each production agent's live data against its release's written canary exit criteria: "
        "one row per criterion with value, threshold and PASS / FAIL / N/A."),
}


def register() -> None:
    from agent_release import catalog

    for k, v in TABLES.items():
        catalog.TABLES.setdefault(k, v)
