"""Masking: Presidio finds PII, Faker replaces it consistently, user ids become keyed hashes.

Stage, check, publish. A day of masked traffic is first *staged* (``masking/staged_masked_conversations``
writes it to the lake's staging area, which no analyst view, replay or other reader sees); the
blocking PII checks read the staged file (the residual scan with the masker's own detectors, an
independent scan built without them — ``no_residual_pii_shapes`` —, the ground truth where there is
one, the row balance); only when all of them pass does
``masking/masked_conversations`` *publish* it (one atomic rename into
``data/lake/masking/masked_conversations/``, which the analyst views and replay read). Dagster's
blocking checks skip the publish step in the run whose check failed; the publish step also
verifies, from the instance's event log, that every blocking check passed on exactly the staged
materialization it is about to publish (and that the file is the one checked), so a publish run
on its own (re-execution, a hand-picked selection) cannot publish an unchecked or failed day.
A failed day stays staged and unpublished; the views keep the previously published version.
"""


import dagster as dg
import polars as pl

from agent_release.defs.intake import PII_TRUTH, RAW_TABLE, raw_conversations
from agent_release.defs.meta import md_rows, md_table
from agent_release.defs.partitions import traffic_days
from agent_release.defs.resources import MaskingResource, WarehouseResource
from agent_release.warehouse import WHOLE, file_digest

MASKED = "masking.masked_conversations"
ENTITY_COUNTS = "masking.entity_counts"
STAGED_KEY = dg.AssetKey(["masking", "staged_masked_conversations"])


def day_of(df: pl.DataFrame, day: str) -> pl.DataFrame:
    """The rows of ``df`` whose conversation started on ``day`` (UTC date, YYYY-MM-DD)."""
    return df.filter(pl.col("started_at").dt.strftime("%Y-%m-%d") == day)


def outside_traffic_days(df: pl.DataFrame) -> pl.DataFrame:
    """Rows whose start day is not a partition of ``traffic_days`` (they would never be masked)."""
    days = traffic_days.get_partition_keys()
    return df.filter(~pl.col("started_at").dt.strftime("%Y-%m-%d").is_in(days))


def _check_partition(context) -> str | None:
    """The day partition a check runs for (None when run outside a partitioned run)."""
    ctx = context.op_execution_context
    return ctx.partition_key if ctx.has_partition_key else None


def masked_preview(df: pl.DataFrame, n: int = 5, width: int = 160) -> str:
    rows = []
    for r in df.head(n).iter_rows(named=True):
        first_user = next((m["content"] for m in r["messages"] if m["role"] == "user"), "")
        rows.append((r["conversation_id"], r["locale"], r["user_id"][:14] + "…", first_user))
    return md_rows(["conversation_id", "locale", "user_id (hash)", "first user message (masked)"], rows, width)


@dg.asset(
    key=STAGED_KEY.path,
    deps=[raw_conversations],
    partitions_def=traffic_days,
    group_name="masking",
    kinds={"python", "parquet"},
    description=(
        "Production conversations with PII masked, STAGED: not visible to analysts or replay until "
        "the blocking PII checks pass and `masking/masked_conversations` publishes the day. "
        "Presidio (English spaCy NER + pattern "
        "recognizers for local phone, IBAN, national-id, address and date-of-birth formats, a "
        "multilingual name recognizer) finds PII in every message; Faker replaces it with "
        "locale-aware, format-valid fakes, consistently across the dataset (surrogates are "
        "keyed-hash seeded, so days masked apart agree); user_id becomes a keyed HMAC-SHA256 hash. "
        "Same contract shape as the input. Partitioned by day of traffic (UTC start date): each "
        "day is its own step, parallel under the executor and backfillable; inside a step, "
        "MaskingResource.workers processes (default one per CPU), identical to one process. "
        "Written to data/lake/_staging/ (restricted like the raw zone: a day whose checks fail stays there)."
    ),
)
def staged_masked_conversations(
    context: dg.AssetExecutionContext, masking: MaskingResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    from agent_release.config import using_demo_key

    day = context.partition_key
    lake = warehouse.lake()
    raw = day_of(lake.read(RAW_TABLE), day)
    masked, stats = masking.mask_frame(raw)
    staged = lake.stage(MASKED, masked, partition=day)
    counts = pl.DataFrame(
        [{"run_id": context.run.run_id, "day": day, "entity_type": k, "count": v}
         for k, v in sorted(stats.entities.items())],
        schema={"run_id": pl.String, "day": pl.String, "entity_type": pl.String, "count": pl.Int64},
    )
    lake.stage(ENTITY_COUNTS, counts, partition=day)
    rate = stats.messages / stats.seconds if stats.seconds else 0.0
    context.log.info(
        f"{day}: masked {stats.conversations} conversations, {stats.messages} messages at {rate:.0f} msg/s "
        f"on {stats.workers} worker process(es); staged, published only once the blocking checks pass"
    )
    fallback = dict(sorted(stats.fallback_locales.items()))
    if fallback:
        context.log.warning(
            f"{day}: {sum(fallback.values())} conversation(s) in locales without their own support were masked "
            f"with the broadest recognizers (every language's cues, international phone numbers): {fallback}")
    # No text preview here: the staged day is unchecked (the publish step shows one).
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": masked.height,
            "day": day,
            "conversations": stats.conversations,
            "messages": stats.messages,
            "entities_replaced": sum(stats.entities.values()),
            "entities_by_type": dg.MetadataValue.md(md_table(counts.select("entity_type", "count"))),
            "messages_per_second": round(rate, 1),
            "workers": stats.workers,
            "seconds": round(stats.seconds, 2),
            "hmac_key": "DEMO key (documented, not secret)" if using_demo_key() else "from AGENT_RELEASE_HMAC_KEY",
            "staged_sha256": file_digest(staged),
            # locale tags without their own support: masked with the broadest recognizers, said here
            "fallback_locales": dg.MetadataValue.json(fallback),
            "fallback_conversations": sum(fallback.values()),
        }
    )


def _held(passed: bool, day: str | None, what: str) -> str | None:
    """The check result's description when it fails: what failed and that the day stays staged."""
    if passed:
        return None
    return (f"{what}: day {day or 'all'} stays staged, NOT published (the analyst views and replay keep "
            "the previously published version, if any)")


@dg.asset_check(
    asset=staged_masked_conversations,
    blocking=True,
    description=(
        "Residual scan: the staged masked day contains no structured identifier "
        "(email, phone, card, IBAN, national id, IP) outside the surrogate spans the masker wrote. "
        "High-confidence findings fail the check (and the day is not published); only positions "
        "are reported, never the text."
    ),
)
def no_residual_identifiers(
    context: dg.AssetCheckExecutionContext, masking: MaskingResource, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    from agent_release.masking import residual_scan

    day = _check_partition(context)
    masked = _checked(warehouse.lake(), day)
    findings = residual_scan(masked, masking.masker(), min_score=masking.residual_min_score)
    passed = findings.height == 0
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=_held(passed, day, f"{findings.height} residual identifier(s)"),
        metadata={
            "day": day or "all",
            "findings": findings.height,
            "messages_scanned": int(masked["messages"].list.len().sum() or 0),
            "sample": dg.MetadataValue.md(md_table(findings.head(10))),
        },
    )


@dg.asset_check(
    asset=staged_masked_conversations,
    blocking=True,
    description=(
        "Independent residual scan, built without the masker's detectors: in every masked field "
        "(contents, errors, actions, extras) of the staged day, no digit run of 7+ digits "
        "(separators ignored), e-mail-, IBAN-, card-, national-id- or IP-shaped token, no name "
        "after a self-introduction cue and no address after an address cue (13 languages), no date "
        "after a birth cue, no unhashed user id — outside the surrogates the masker recorded "
        "(masked_spans) and outside the declared non-PII formats (order, tracking, invoice, ticket "
        "numbers, SKUs, amounts, dates: agent_release/masking/non_pii.py, extended by "
        "data/masking/non_pii_patterns.yaml). Findings name conversation, field and rule, never the value."
    ),
)
def no_residual_pii_shapes(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    day = _check_partition(context)
    return pii_shapes_result(_checked(warehouse.lake(), day), day)


def pii_shapes_result(masked: pl.DataFrame, day: str | None, *, first: int = 20) -> dg.AssetCheckResult:
    """The result of :func:`no_residual_pii_shapes` for a masked frame: fails on any finding, and
    when the declared non-PII list (the user file) does not load."""
    from agent_release.masking import non_pii
    from agent_release.masking.residual import independent_residual_scan, summarize_findings

    user_file = non_pii.user_file()
    try:
        patterns = non_pii.load()
    except ValueError as exc:  # a broken user list fails closed: nothing is declared by a file nobody can read
        return dg.AssetCheckResult(
            passed=False, severity=dg.AssetCheckSeverity.ERROR,
            description=_held(False, day, f"declared non-PII list unusable ({exc})"),
            metadata={"day": day or "all", "non_pii_user_file": str(user_file)},
        )
    findings = independent_residual_scan(masked, patterns)
    summary = summarize_findings(findings, first)
    where = summary["first"]
    passed = findings.height == 0
    named = ", ".join(
        f"{r['conversation_id']} {r['field']}" + (f"[{r['message_index']}]" if r["message_index"] is not None else "")
        + f" ({r['kind']})" for r in where.head(3).iter_rows(named=True))
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=_held(passed, day, f"{findings.height} PII-shaped value(s) outside the recorded surrogates in "
                                       f"{summary['conversations']} conversation(s), e.g. {named}"),
        metadata={
            "day": day or "all",
            "findings": findings.height,
            "conversations_with_findings": summary["conversations"],
            "findings_by_kind": dg.MetadataValue.json(summary["by_kind"]),
            "first_findings": dg.MetadataValue.md(md_table(where, max_rows=first)) if findings.height else "_none_",
            "messages_scanned": int(masked["messages"].list.len().sum() or 0),
            "non_pii_patterns": len(patterns),
            "non_pii_user_file": f"{user_file} ({'present' if user_file.exists() else 'absent'})",
        },
    )


def _checked(lake, day: str | None) -> pl.DataFrame:
    """What a blocking check reads. In a day's run: the staged day (or, when the checks are re-run
    after the day was published and nothing is staged, the published day: the same file). Run on
    their own without a partition (e.g. from the UI, with a stricter scanner): the published table,
    everything analysts can see."""
    if day is None:
        return lake.read(MASKED)
    try:
        return lake.read_staged(MASKED, day)
    except FileNotFoundError:
        return lake.read(MASKED, partition=day)


@dg.asset_check(
    asset=staged_masked_conversations,
    blocking=True,
    description=(
        "Where the generator's ground truth exists: no injected PII value appears anywhere in "
        "its masked conversation (content, extras, user id), for the staged day."
    ),
)
def no_ground_truth_leak(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    from agent_release.leaks import ground_truth_leaks

    lake = warehouse.lake()
    if not lake.exists(PII_TRUTH):
        return dg.AssetCheckResult(passed=True, metadata={"ground_truth": "none (real logs)"})
    day = _check_partition(context)
    masked = _checked(lake, day)
    raw = lake.read(RAW_TABLE)
    if day is not None:
        raw = day_of(raw, day)
    truth = lake.read(PII_TRUTH).filter(pl.col("conversation_id").is_in(raw["conversation_id"].implode()))
    leaks = ground_truth_leaks(masked, truth, raw)
    coincidences = ground_truth_leaks(masked, truth, raw, inside_fakes=True).height - leaks.height
    by_type = leaks.group_by("entity_type").len().sort("entity_type") if leaks.height else leaks
    passed = leaks.height == 0
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=_held(passed, day, f"{leaks.height} ground-truth PII value(s) leaked"),
        metadata={
            "day": day or "all",
            "truth_values_checked": truth.height,
            "leaks": leaks.height,
            "values_found_only_inside_fakes": coincidences,
            "leaks_by_type": dg.MetadataValue.md(md_table(by_type)) if leaks.height else "_none_",
        },
    )


@dg.asset_check(
    asset=staged_masked_conversations,
    blocking=True,
    description=(
        "Every valid intake row of the day is masked exactly once in the staged day (same "
        "conversation ids, none twice). Metadata carries the whole-table balance: rows in = masked "
        "(published days + this staged day) + quarantined + outside the traffic days + days not "
        "masked yet."
    ),
)
def masking_rows_balance(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    lake = warehouse.lake()
    day = _check_partition(context)
    raw_all = lake.read(RAW_TABLE)
    raw = day_of(raw_all, day) if day is not None else raw_all
    masked = _checked(lake, day)
    ids_unique = masked["conversation_id"].n_unique() == masked.height
    same_ids = set(masked["conversation_id"].to_list()) == set(raw["conversation_id"].to_list())
    q = lake.read("intake.quarantine").height
    rows_in = int(lake.read("intake.batches").sort("ingested_at")["rows_in"][-1])
    # the other days' row counts from the published files' footers: a day's check does not re-read them
    others = [str(f) for f in sorted(lake.table_dir(MASKED).glob("*.parquet"))
              if day is not None and f.stem not in (day, WHOLE)]
    n_masked = masked.height + (pl.scan_parquet(others).select(pl.len()).collect().item() if others else 0)
    outside = outside_traffic_days(raw_all).height
    pending = raw_all.height - outside - n_masked
    passed = masked.height == raw.height and ids_unique and same_ids
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=_held(passed, day, f"{masked.height} rows masked for {raw.height} valid intake rows"),
        metadata={"day": day or "all", "rows_valid_that_day": raw.height, "rows_masked_that_day": masked.height,
                  "conversation_ids_unique": ids_unique, "same_conversation_ids": same_ids,
                  "rows_in": rows_in, "rows_quarantined": q, "rows_masked_all_days": n_masked,
                  "rows_outside_traffic_days": outside, "rows_in_days_not_masked_yet": pending,
                  "balance": f"{rows_in} = {n_masked} + {q} + {outside} + {pending}"},
    )


@dg.asset_check(
    asset=staged_masked_conversations,
    description=(
        "Intake rows whose start day lies outside the traffic days (AGENT_RELEASE_TRAFFIC_START / "
        "AGENT_RELEASE_TRAFFIC_END) belong to no masking partition: widen the window to mask them."
    ),
)
def traffic_days_cover_intake(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    from agent_release.defs.partitions import TRAFFIC_END, TRAFFIC_START

    raw = warehouse.lake().read(RAW_TABLE)
    out = outside_traffic_days(raw)
    by_day = (out.group_by(pl.col("started_at").dt.strftime("%Y-%m-%d").alias("day")).len().sort("day")
              if out.height else out)
    return dg.AssetCheckResult(
        passed=out.height == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"rows_outside": out.height, "traffic_days": f"{TRAFFIC_START} .. {TRAFFIC_END} (end exclusive)",
                  "outside_by_day": dg.MetadataValue.md(md_table(by_day.head(20))) if out.height else "_none_"},
    )


#: The checks a staged day must pass before it is published.
BLOCKING_CHECKS = tuple(
    key for c in (no_residual_identifiers, no_residual_pii_shapes, no_ground_truth_leak, masking_rows_balance)
    for key in c.check_keys
)


def _evaluation_of(instance: dg.DagsterInstance, key: dg.AssetCheckKey, storage_id: int, *, pages: int = 20):
    """(evaluation, run id) of check ``key`` on the materialization ``storage_id``, newest first;
    None when there is none among the check's last ``pages`` × 100 executions (fails closed)."""
    cursor = None
    for _ in range(pages):
        recs = instance.event_log_storage.get_asset_check_execution_history(key, limit=100, cursor=cursor)
        for rec in recs:
            ev = rec.event.dagster_event.event_specific_data if rec.event and rec.event.dagster_event else None
            target = getattr(ev, "target_materialization_data", None)
            if target is not None and target.storage_id == storage_id:
                return ev, rec.run_id
        if len(recs) < 100:
            return None
        cursor = recs[-1].id
    return None


def checked_stage(instance: dg.DagsterInstance, day: str) -> tuple[str, list[tuple[str, str]]]:
    """The staged file digest that may be published for ``day``, and the blocking checks that
    vouch for it as (check name, run id). Raises ``dg.Failure`` — naming each check that failed or
    did not run on the latest staged materialization — when any did not pass."""
    recs = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=STAGED_KEY, asset_partitions=[day]), limit=1).records
    if not recs:
        raise dg.Failure(f"{day}: nothing staged: materialize {STAGED_KEY.to_user_string()} (and its checks) first")
    mat = recs[0]
    digest_meta = mat.asset_materialization.metadata.get("staged_sha256") if mat.asset_materialization else None
    if digest_meta is None:
        raise dg.Failure(f"{day}: the latest staged materialization carries no staged_sha256")
    vouched, problems = [], []
    for key in BLOCKING_CHECKS:
        found = _evaluation_of(instance, key, mat.storage_id)
        if found is None:
            problems.append(f"{key.name}: not evaluated on the staged materialization (run {mat.run_id[:8]})")
        elif not found[0].passed:
            problems.append(f"{key.name}: FAILED" + (f" ({found[0].description})" if found[0].description else ""))
        else:
            vouched.append((key.name, found[1]))
    if problems:
        raise dg.Failure(
            f"{day} not published: the blocking checks did not all pass on the staged day",
            metadata={"day": day, "problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems))},
        )
    return str(digest_meta.value), vouched


@dg.asset(
    key=["masking", "masked_conversations"],
    deps=[staged_masked_conversations],
    partitions_def=traffic_days,
    group_name="masking",
    kinds={"python", "duckdb", "parquet"},
    description=(
        "Published masked production conversations: the staged day "
        "(`masking/staged_masked_conversations`), moved into the analyst-visible table in one atomic "
        "rename once every blocking PII check passed on exactly that staged file, then the analyst "
        "views refreshed. Replay, the canary's representativeness and the analysts read only this. "
        "A day whose checks failed is never published; the previous published version stays."
    ),
)
def masked_conversations(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    day = context.partition_key
    lake = warehouse.lake()
    digest, vouched = checked_stage(context.instance, day)
    staged = lake.staged_path(MASKED, day)
    published = lake.table_dir(MASKED) / f"{day}.parquet"
    if staged.exists():
        if file_digest(staged) != digest:
            raise dg.Failure(f"{day}: the staged file changed after it was checked (a concurrent re-stage?): "
                             "not published; re-run the day")
        for table in (MASKED, ENTITY_COUNTS):  # a whole-table file from before day partitions would double-count
            lake.delete_partition(table, WHOLE)
        lake.publish_staged(MASKED, day)
    elif not (published.exists() and file_digest(published) == digest):
        raise dg.Failure(f"{day}: the checked staged file is gone and is not the published one: re-run the day")
    else:
        context.log.info(f"{day}: already published (this staged file), refreshing views only")
    if lake.staged_path(ENTITY_COUNTS, day).exists():
        lake.publish_staged(ENTITY_COUNTS, day)
    status = warehouse.publish()
    masked = lake.read(MASKED, partition=day)
    context.log.info(f"{day}: published {masked.height} masked conversations after "
                     f"{', '.join(n for n, _ in vouched)} passed")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": masked.height,
            "day": day,
            "published_sha256": digest,
            "checks_passed": dg.MetadataValue.md(md_rows(["blocking check", "run"],
                                                         [(n, r[:8]) for n, r in vouched], 80)),
            "views": "refreshed" if status.get("refreshed") else status.get("reason", "up to date"),
            "preview": dg.MetadataValue.md(masked_preview(masked)),
        }
    )


defs = dg.Definitions(
    assets=[staged_masked_conversations, masked_conversations],
    asset_checks=[no_residual_identifiers, no_residual_pii_shapes, no_ground_truth_leak, masking_rows_balance,
                  traffic_days_cover_intake],
)
