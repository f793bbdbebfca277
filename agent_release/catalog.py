"""Documentation of every analyst-facing table: shown as DuckDB comments and in the README."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TableDoc:
    description: str
    columns: dict[str, str] = field(default_factory=dict)


_CONV_COLUMNS = {
    "conversation_id": "Unique conversation id.",
    "user_id": "Keyed HMAC-SHA256 of the customer id (hex); not reversible without the key.",
    "started_at": "Conversation start (UTC).",
    "locale": "BCP 47 locale, e.g. es-MX.",
    "channel": "chat | email | voice.",
    "agent_version": "The agent build that served (or, for replays, answered) the conversation.",
    "model": "Pinned model id the agent reported.",
    "messages": "List of turns: role, content (masked), ts, latency_ms, tokens, cost_usd, action, error.",
    "outcome": "resolved | escalated | abandoned | NULL.",
    "csat": "Customer satisfaction 1-5 or NULL.",
    "thumb": "up | down | NULL.",
    "extra_json": "Fields outside the contract, kept verbatim (masked).",
    "source": "File the record came from.",
    "source_row": "Line (JSONL, 1-based) or row (Parquet, 0-based) in the source file.",
}

TABLES: dict[str, TableDoc] = {
    "intake.quarantine": TableDoc(
        "Production-log records that broke the conversation-log contract, with the reason and "
        "source location. The raw payload is kept only in the restricted raw zone.",
        {
            "source": "File the bad record came from.",
            "source_row": "Line (JSONL, 1-based) or row (Parquet, 0-based).",
            "conversation_id": "The record's conversation id when it could be read, else NULL.",
            "reason_code": "Machine-readable class: invalid_json, invalid_utf8, missing_field, "
            "wrong_type, wrong_value, empty_messages, unknown_role, oversize, duplicate_id, ...",
            "reason": "Human-readable reason; names fields, never quotes values.",
            "quarantined_at": "When the intake run quarantined it (UTC).",
        },
    ),
    "intake.batches": TableDoc(
        "One row per intake run: rows read, valid, quarantined, by source.",
    ),
    "masking.masked_conversations": TableDoc(
        "Production conversations with PII replaced by consistent, locale-aware fakes and the "
        "user id replaced by a keyed hash. Safe for analysis, replay and evaluation.",
        {**_CONV_COLUMNS, "masked_spans": "Spans (message_index, start, end, entity_type) of "
         "surrogate values written by the masker, in masked text coordinates."},
    ),
    "masking.entity_counts": TableDoc(
        "Entities found and replaced per masking run, by entity type and locale.",
    ),
    "replay.replayed_conversations": TableDoc(
        "Masked production conversations replayed against a release's baseline and candidate "
        "(one partition per release and side). Contract shape; agent_version = the agent replayed; "
        "outcome derived from the agent's actions; per-turn latency, tokens, cost, action, error.",
        {**_CONV_COLUMNS, "release_id": "Release (spec file name).", "spec_hash": "Content hash of the spec the replay ran under.",
         "side": "baseline | candidate."},
    ),
    "replay.runs": TableDoc("One row per release and side: conversations in/out and the replay statistics (JSON)."),
    "evals.golden_results": TableDoc(
        "Golden-set results: one row per case and agent, with action match, facts, forbidden "
        "content, language, similarity, pass, latency, cost and error."),
    "evals.findings": TableDoc(
        "Normalized adversarial findings (hand-curated corpus, garak, PyRIT): source, probe, "
        "category, severity, masked prompt and output, detector, score, passed, failure_signature."),
    "evals.scenario_results": TableDoc("Scenario battery trials (edge personas, locales, long conversations, hand-offs, multi-intent)."),
    "evals.latency_summary": TableDoc("Latency p50/p95/p99 per agent, locale and suite."),
    "evals.cost_summary": TableDoc("Cost per resolution per agent and suite: total cost / resolved conversations."),
    "evals.gate_decisions": TableDoc(
        "THE PRE-PROD GATE: one row per release with the decision (PROMOTE/BLOCK), reasons, each "
        "criterion's value, threshold, interval and pass, inputs, spec hash and config hash."),
    "canary.exit_criteria": TableDoc(
        "The canary exit-criteria document per release (Markdown), written before the canary "
        "starts, with its hash; every canary decision cites it."),
    "canary.representativeness": TableDoc(
        "Pre-canary check of the cohort the flag would pick vs the population, per dimension "
        "and segment (chi-square, Cramér's V, projected users over the soak)."),
    "canary.live_conversations": TableDoc(
        "Live canary traffic (both cohorts), masked, in the conversation-log contract.", _CONV_COLUMNS),
    "canary.cohort_stats": TableDoc(
        "Per cohort, per day and cumulative ('period'), overall and per segment: conversations, "
        "users, error rate, latency p50/p95/p99, outcome rates, thumbs-up rate, CSAT, cost per "
        "resolution, with intervals."),
    "canary.mismatches": TableDoc("Conversations whose served agent disagrees with the user's flag assignment."),
    "canary.decisions": TableDoc(
        "THE CANARY EXIT DECISION, one row per daily look: EXPAND / HOLD / ROLLBACK, reasons, each "
        "exit metric's estimate, interval, margin, p-value and spent alpha, SRM, soak, segments "
        "flagged, spec hash and exit-criteria hash."),
    "canary.decision_metrics": TableDoc("Long format: one row per look and exit metric."),
    "canary.decision_segments": TableDoc("One row per look and segment test (locale, persona, long conversations, hand-offs)."),
}


def all_tables() -> dict[str, TableDoc]:
    """Every documented table, the domains' own catalogs included (imported lazily: they import
    this module)."""
    out = dict(TABLES)
    from agent_release.rollout.catalog import ROLLOUT_TABLES

    out.update(ROLLOUT_TABLES)
    from agent_release.monitoring.catalog import TABLES as MONITORING_TABLES

    out.update(MONITORING_TABLES)
    return out
