"""Masking: Presidio finds PII, Faker replaces it consistently, user ids become keyed hashes."""


import dagster as dg
import polars as pl

from agent_release.defs.intake import PII_TRUTH, RAW_TABLE, raw_conversations
from agent_release.defs.meta import md_rows, md_table
from agent_release.defs.partitions import traffic_days
from agent_release.defs.resources import MaskingResource, WarehouseResource
from agent_release.warehouse import WHOLE

MASKED = "masking.masked_conversations"
ENTITY_COUNTS = "masking.entity_counts"


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
    key=["masking", "masked_conversations"],
    deps=[raw_conversations],
    partitions_def=traffic_days,
    group_name="masking",
    kinds={"python", "duckdb", "parquet"},
    description=(
        "Production conversations with PII masked: Presidio (English spaCy NER + pattern "
        "recognizers for local phone, IBAN, national-id, address and date-of-birth formats, a "
        "multilingual name recognizer) finds PII in every message; Faker replaces it with "
        "locale-aware, format-valid fakes, consistently across the dataset (surrogates are "
        "keyed-hash seeded, so days masked apart agree); user_id becomes a keyed HMAC-SHA256 hash. "
        "Same contract shape as the input. Partitioned by day of traffic (UTC start date): each "
        "day is its own step, parallel under the executor and backfillable; inside a step, "
        "MaskingResource.workers processes (default one per CPU), identical to one process."
    ),
)
def masked_conversations(
    context: dg.AssetExecutionContext, masking: MaskingResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    from agent_release.config import using_demo_key

    day = context.partition_key
    lake = warehouse.lake()
    raw = day_of(lake.read(RAW_TABLE), day)
    masked, stats = masking.mask_frame(raw)
    for table in (MASKED, ENTITY_COUNTS):  # a whole-table file from before day partitions would double-count
        lake.delete_partition(table, WHOLE)
    lake.write(MASKED, masked, partition=day)
    counts = pl.DataFrame(
        [{"run_id": context.run.run_id, "day": day, "entity_type": k, "count": v}
         for k, v in sorted(stats.entities.items())],
        schema={"run_id": pl.String, "day": pl.String, "entity_type": pl.String, "count": pl.Int64},
    )
    lake.write(ENTITY_COUNTS, counts, partition=day)
    warehouse.publish()
    rate = stats.messages / stats.seconds if stats.seconds else 0.0
    context.log.info(
        f"{day}: masked {stats.conversations} conversations, {stats.messages} messages at {rate:.0f} msg/s "
        f"on {stats.workers} worker process(es)"
    )
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
            "preview": dg.MetadataValue.md(masked_preview(masked)),
        }
    )


@dg.asset_check(
    asset=masked_conversations,
    blocking=True,
    description=(
        "Residual scan: the masked output (the day just masked) contains no structured identifier "
        "(email, phone, card, IBAN, national id, IP) outside the surrogate spans the masker wrote. "
        "High-confidence findings fail the check; only positions are reported, never the text."
    ),
)
def no_residual_identifiers(
    context: dg.AssetCheckExecutionContext, masking: MaskingResource, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    from agent_release.masking import residual_scan

    day = _check_partition(context)
    masked = warehouse.lake().read(MASKED, partition=day)
    findings = residual_scan(masked, masking.masker(), min_score=masking.residual_min_score)
    return dg.AssetCheckResult(
        passed=findings.height == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "day": day or "all",
            "findings": findings.height,
            "messages_scanned": int(masked["messages"].list.len().sum() or 0),
            "sample": dg.MetadataValue.md(md_table(findings.head(10))),
        },
    )


@dg.asset_check(
    asset=masked_conversations,
    blocking=True,
    description=(
        "Where the generator's ground truth exists: no injected PII value appears anywhere in "
        "its masked conversation (content, extras, user id), for the day just masked."
    ),
)
def no_ground_truth_leak(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    from agent_release.leaks import ground_truth_leaks

    lake = warehouse.lake()
    if not lake.exists(PII_TRUTH):
        return dg.AssetCheckResult(passed=True, metadata={"ground_truth": "none (real logs)"})
    day = _check_partition(context)
    masked = lake.read(MASKED, partition=day)
    raw = lake.read(RAW_TABLE)
    if day is not None:
        raw = day_of(raw, day)
    truth = lake.read(PII_TRUTH).filter(pl.col("conversation_id").is_in(raw["conversation_id"].implode()))
    leaks = ground_truth_leaks(masked, truth, raw)
    coincidences = ground_truth_leaks(masked, truth, raw, inside_fakes=True).height - leaks.height
    by_type = leaks.group_by("entity_type").len().sort("entity_type") if leaks.height else leaks
    return dg.AssetCheckResult(
        passed=leaks.height == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "day": day or "all",
            "truth_values_checked": truth.height,
            "leaks": leaks.height,
            "values_found_only_inside_fakes": coincidences,
            "leaks_by_type": dg.MetadataValue.md(md_table(by_type)) if leaks.height else "_none_",
        },
    )


@dg.asset_check(
    asset=masked_conversations,
    blocking=True,
    description=(
        "Every valid intake row of the day is masked exactly once (same conversation ids, none "
        "twice). Metadata carries the whole-table balance: rows in = masked (all days so far) + "
        "quarantined + outside the traffic days + days not masked yet."
    ),
)
def masking_rows_balance(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    lake = warehouse.lake()
    day = _check_partition(context)
    raw_all = lake.read(RAW_TABLE)
    raw = day_of(raw_all, day) if day is not None else raw_all
    masked = lake.read(MASKED, partition=day)
    ids_unique = masked["conversation_id"].n_unique() == masked.height
    same_ids = set(masked["conversation_id"].to_list()) == set(raw["conversation_id"].to_list())
    q = lake.read("intake.quarantine").height
    rows_in = int(lake.read("intake.batches").sort("ingested_at")["rows_in"][-1])
    # every day's row count from the Parquet footers: a day's check does not re-read the others
    n_masked = (pl.scan_parquet(str(lake.table_dir(MASKED) / "*.parquet")).select(pl.len()).collect().item()
                if day is not None else masked.height)
    outside = outside_traffic_days(raw_all).height
    pending = raw_all.height - outside - n_masked
    return dg.AssetCheckResult(
        passed=masked.height == raw.height and ids_unique and same_ids,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"day": day or "all", "rows_valid_that_day": raw.height, "rows_masked_that_day": masked.height,
                  "conversation_ids_unique": ids_unique, "same_conversation_ids": same_ids,
                  "rows_in": rows_in, "rows_quarantined": q, "rows_masked_all_days": n_masked,
                  "rows_outside_traffic_days": outside, "rows_in_days_not_masked_yet": pending,
                  "balance": f"{rows_in} = {n_masked} + {q} + {outside} + {pending}"},
    )


@dg.asset_check(
    asset=masked_conversations,
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


defs = dg.Definitions(
    assets=[masked_conversations],
    asset_checks=[no_residual_identifiers, no_ground_truth_leak, masking_rows_balance, traffic_days_cover_intake],
)
