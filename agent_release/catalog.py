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

# Decision history (append-only lake tables) and the "current" views derived from them.
GATE_DECISION_HISTORY = "evals.gate_decision_history"
GATE_DECISIONS = "evals.gate_decisions"  # view
INPUT_MANIFESTS = "evals.input_manifests"
CANARY_DECISION_HISTORY = "canary.decision_history"
CANARY_METRIC_HISTORY = "canary.decision_metric_history"
CANARY_SEGMENT_HISTORY = "canary.decision_segment_history"
CANARY_DECISIONS = "canary.decisions"  # view
CANARY_DECISION_METRICS = "canary.decision_metrics"  # view
CANARY_DECISION_SEGMENTS = "canary.decision_segments"  # view

_DECISION_COLUMNS = {
    "decision_id": "Deterministic id of the decision (hash of its content and of the release's "
                   "previous decision): re-running the same decision appends nothing.",
    "release_id": "Release (spec file name).",
    "seq": "Order of the decision within the release (0, 1, ...).",
    "decided_at": "When the decision was made (UTC).",
    "recorded_at": "When the row was appended to the history (UTC).",
    "spec_hash": "Content hash of the release spec the decision was made under.",
    "manifest_hash": "Input-manifest hash: one hash over every input the decision rests on (spec, "
                     "golden set, adversarial corpus, red-team reports, scenario battery, detectors, "
                     "price table, agent profiles/configs and pins, decision-code version).",
    "manifest_json": "The input manifest: {manifest_hash, components: name → hash, files: name → "
                     "files covered}; compare components to see which input changed.",
    "content_hash": "Hash of the decision's content (without timestamps and ids).",
    "previous_decision_id": "decision_id of the release's decision before this one (NULL for the first).",
    "reasons": "All reasons (JSON list).",
    "config_hash": "Hash of the gate configuration (rules, bootstrap, seed, code version).",
}
_DECISION_COLUMNS.update({
    "evidence_complete": "Every suite's evidence was complete: rows expected = received per side and no side's "
                         "endpoint-error share above evidence_max_error_share. False → the decision is BLOCK "
                         "'evidence incomplete' whatever the criteria say.",
    "evidence_reason": "Why the evidence is incomplete (or the per-suite counts when complete).",
    "evidence_max_error_share": "The spec's gate.replay_max_error_share the error shares were judged against.",
    "evidence_json": "Per suite and side: expected, received, endpoint errors, units, share, problems (JSON).",
})
for _suite, _unit in (("replay", "turns"), ("golden", "cases"), ("adversarial", "attempts"), ("scenarios", "turns")):
    for _side in ("candidate", "baseline"):
        _p = f"evidence_{_suite}_{_side}_"
        _DECISION_COLUMNS.update({
            _p + "expected": f"{_suite}, {_side}: rows expected.",
            _p + "received": f"{_suite}, {_side}: rows received.",
            _p + "errors": f"{_suite}, {_side}: endpoint errors after retries (in {_unit}).",
            _p + "error_units": f"{_suite}, {_side}: the units errors are counted in ({_unit}: their total).",
            _p + "error_share": f"{_suite}, {_side}: endpoint-error share (errors / error_units).",
        })

_CANARY_COLUMNS = {
    "decision_id": "Deterministic id of the look (evaluation id, look order and as_of).",
    "evaluation_id": "Id of the canary evaluation (one run of the exit decision over the soak) the look belongs to.",
    "evaluation_seq": "Order of the evaluation within the release (0, 1, ...); the views show the largest.",
    "release_id": "Release (spec file name).",
    "as_of": "Data time of the look.",
    "decision": "EXPAND | HOLD | ROLLBACK.",
    "reasons": "All reasons (JSON list).",
    "manifest_hash": _DECISION_COLUMNS["manifest_hash"],
    "recorded_at": "When the evaluation was appended to the history (UTC).",
    "spec_hash": "Content hash of the release spec.",
    "criteria_doc_hash": "Hash of the exit-criteria document the look applied.",
}

_CANARY_CHILD_COLUMNS = {
    "evaluation_id": _CANARY_COLUMNS["evaluation_id"],
    "evaluation_seq": _CANARY_COLUMNS["evaluation_seq"],
    "look_decision_id": "decision_id of the look (canary.decision_history) the row belongs to.",
    "release_id": "Release.", "as_of": "Data time of the look.",
    "manifest_hash": _DECISION_COLUMNS["manifest_hash"],
}

TABLES: dict[str, TableDoc] = {
    "intake.quarantine": TableDoc(
        "Production-log records that broke the conversation-log contract, with the reason and "
        "source location. The raw payload is kept only in the restricted raw zone.",
        {
            "source": "File the bad record came from.",
            "source_row": "Line (text, 1-based) or row (Parquet, 0-based); NULL when the row stands for a whole "
                          "file (unreadable, empty, truncated: one row per such file).",
            "conversation_id": "The record's conversation id when it could be read, else NULL.",
            "reason_code": "Machine-readable class: invalid_json, invalid_utf8, missing_field, "
            "wrong_type, wrong_value, empty_messages, unknown_role, oversize, duplicate_id; whole-file or "
            "rest-of-file: unreadable_file, wrong_format, empty_file, truncated_file, invalid_encoding, "
            "json_array, invalid_json_array, pretty_printed_json, unexpected_error.",
            "reason": "Human-readable reason; names fields, never quotes values.",
            "quarantined_at": "When the intake run quarantined it (UTC).",
        },
    ),
    "intake.batches": TableDoc(
        "One row per intake run: rows read, valid, quarantined, by source.",
    ),
    "masking.masked_conversations": TableDoc(
        "Production conversations with PII replaced by consistent, locale-aware fakes and the "
        "user id replaced by a keyed hash. Safe for analysis, replay and evaluation. A day appears here "
        "only after its blocking PII checks passed on the staged copy (stage → check → publish); a day "
        "that failed them stays in the restricted staging area and this table keeps its previous version.",
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
    "replay.runs": TableDoc(
        "One row per release, day and side: conversations expected (conversations_in, the day's sample) and "
        "received (conversations_out), turns, failed turns, error share and retries, and the day's verdict "
        "(complete / problem): a day over the spec's error limit or with rows missing is not evidence.",
        {"conversations_in": "Conversations expected (the day's replay sample).",
         "conversations_out": "Conversations received (replayed and written).",
         "turns": "Assistant turns asked for.",
         "failed_turns": "Turns that failed after the client's retries, or were never sent after consecutive errors.",
         "error_share": "failed_turns / turns.",
         "conversations_with_errors": "Conversations with at least one failed turn.",
         "unsent_turns": "Turns never sent (the conversation was abandoned after consecutive errors).",
         "retried_turns": "Turns that needed at least one retry.", "retries": "Retries made in total.",
         "max_error_share": "The spec's gate.replay_max_error_share (the limit this day is judged against).",
         "complete": "The day is evidence (same value on both sides' rows).",
         "problem": "Why the day is not evidence (endpoint errors / rows missing), empty when complete."}),
    "evals.golden_results": TableDoc(
        "Golden-set results: one row per case and agent, with action match, facts, forbidden "
        "content, language, similarity, pass, latency, cost and error."),
    "evals.findings": TableDoc(
        "Normalized adversarial findings (hand-curated corpus, garak, PyRIT): source, probe, "
        "category, severity, masked prompt and output, detector, score, passed, failure_signature."),
    "evals.scenario_results": TableDoc("Scenario battery trials (edge personas, locales, long conversations, hand-offs, multi-intent)."),
    "evals.latency_summary": TableDoc("Latency p50/p95/p99 per agent, locale and suite."),
    "evals.cost_summary": TableDoc("Cost per resolution per agent and suite: total cost / resolved conversations."),
    GATE_DECISION_HISTORY: TableDoc(
        "THE PRE-PROD GATE, append-only: every gate decision ever made (PROMOTE/BLOCK), never "
        "overwritten — a BLOCK followed by a PROMOTE keeps both rows. Each row has the reasons, each "
        "criterion's value, threshold, interval and pass, inputs, spec hash, config hash and the "
        "input-manifest hash of every input the decision rests on. One Parquet file per append.",
        {**_DECISION_COLUMNS, "decision": "PROMOTE | BLOCK, as decided (see evals.gate_decisions.status "
         "for whether it still holds)."},
    ),
    GATE_DECISIONS: TableDoc(
        "VIEW over evals.gate_decision_history: the current gate decision per release (latest by "
        "decided_at, then seq) with its status against the inputs as they are now.",
        {**_DECISION_COLUMNS,
         "status": "PROMOTE | BLOCK when the decision's input manifest equals the release's current "
                   "one; STALE when any input changed since (spec, golden set, corpora, red-team "
                   "reports, scenario battery, detectors, price table, agent profiles, decision code) "
                   "or the current manifest is unknown. Only PROMOTE lets a release move on.",
         "decision": "PROMOTE | BLOCK, as decided.",
         "current_manifest_hash": "The release's input-manifest hash as of manifest_checked_at.",
         "manifest_checked_at": "When the current manifest was last computed (at each warehouse publish).",
         "history_rows": "Gate decisions recorded for the release so far (all kept in the history)."},
    ),
    INPUT_MANIFESTS: TableDoc(
        "The current input manifest of every release that has a gate decision, recomputed at each "
        "warehouse publish; evals.gate_decisions compares it with the decision's manifest.",
        {"release_id": "Release.", "manifest_hash": "Current input-manifest hash (NULL: the spec cannot be loaded).",
         "manifest_json": _DECISION_COLUMNS["manifest_json"], "checked_at": "When it was computed (UTC).",
         "error": "Why the manifest could not be computed, if so."},
    ),
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
    CANARY_DECISION_HISTORY: TableDoc(
        "THE CANARY EXIT DECISION, append-only: every look of every canary evaluation ever run, one "
        "row per look (EXPAND / HOLD / ROLLBACK), with reasons, each exit metric's estimate, interval, "
        "margin, p-value and spent alpha, SRM, soak, segments flagged, spec hash, exit-criteria hash "
        "and input-manifest hash. An evaluation (one run of the exit decision) is appended whole; "
        "re-appending an evaluation id does nothing.",
        {**_CANARY_COLUMNS, "look_seq": "Order of the look within its evaluation."},
    ),
    CANARY_METRIC_HISTORY: TableDoc(
        "Append-only, long format: one row per look and exit metric, for every canary evaluation.",
        _CANARY_CHILD_COLUMNS),
    CANARY_SEGMENT_HISTORY: TableDoc(
        "Append-only: one row per look and segment test (locale, persona, long conversations, "
        "hand-offs), for every canary evaluation.", _CANARY_CHILD_COLUMNS),
    CANARY_DECISIONS: TableDoc(
        "VIEW over canary.decision_history: the looks of the latest canary evaluation per release "
        "(latest evaluation_seq), one row per daily look; the last look is the current exit decision.",
        {**_CANARY_COLUMNS, "look_seq": "Order of the look within its evaluation."}),
    CANARY_DECISION_METRICS: TableDoc(
        "VIEW over canary.decision_metric_history: one row per look and exit metric of the latest "
        "canary evaluation per release.", _CANARY_CHILD_COLUMNS),
    CANARY_DECISION_SEGMENTS: TableDoc(
        "VIEW over canary.decision_segment_history: one row per look and segment test of the latest "
        "canary evaluation per release.", _CANARY_CHILD_COLUMNS),
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
