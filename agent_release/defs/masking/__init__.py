"""Masking: Presidio finds PII, Faker replaces it consistently, user ids become keyed hashes."""


import dagster as dg
import polars as pl

from agent_release.defs.intake import PII_TRUTH, RAW_TABLE, raw_conversations
from agent_release.defs.meta import md_rows, md_table
from agent_release.defs.resources import MaskingResource, WarehouseResource

MASKED = "masking.masked_conversations"
ENTITY_COUNTS = "masking.entity_counts"


def masked_preview(df: pl.DataFrame, n: int = 5, width: int = 160) -> str:
    rows = []
    for r in df.head(n).iter_rows(named=True):
        first_user = next((m["content"] for m in r["messages"] if m["role"] == "user"), "")
        rows.append((r["conversation_id"], r["locale"], r["user_id"][:14] + "…", first_user))
    return md_rows(["conversation_id", "locale", "user_id (hash)", "first user message (masked)"], rows, width)


@dg.asset(
    key=["masking", "masked_conversations"],
    deps=[raw_conversations],
    group_name="masking",
    kinds={"python", "duckdb", "parquet"},
    description=(
        "Production conversations with PII masked: Presidio (English spaCy NER + pattern "
        "recognizers for local phone, IBAN, national-id, address and date-of-birth formats, a "
        "multilingual name recognizer) finds PII in every message; Faker replaces it with "
        "locale-aware, format-valid fakes, consistently across the dataset; user_id becomes a "
        "keyed HMAC-SHA256 hash. Same contract shape as the input. Masked in parallel worker "
        "processes (MaskingResource.workers, default one per CPU), identical to one process."
    ),
)
def masked_conversations(
    context: dg.AssetExecutionContext, masking: MaskingResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    from agent_release.config import using_demo_key

    lake = warehouse.lake()
    raw = lake.read(RAW_TABLE)
    masked, stats = masking.mask_frame(raw)
    lake.write(MASKED, masked, replace_all=True)
    counts = pl.DataFrame(
        [{"run_id": context.run.run_id, "entity_type": k, "count": v} for k, v in sorted(stats.entities.items())],
        schema={"run_id": pl.String, "entity_type": pl.String, "count": pl.Int64},
    )
    lake.write(ENTITY_COUNTS, counts, replace_all=True)
    warehouse.publish()
    rate = stats.messages / stats.seconds if stats.seconds else 0.0
    context.log.info(
        f"masked {stats.conversations} conversations, {stats.messages} messages at {rate:.0f} msg/s "
        f"on {stats.workers} worker process(es)"
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": masked.height,
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
        "Residual scan: the masked output contains no structured identifier (email, phone, card, "
        "IBAN, national id, IP) outside the surrogate spans the masker wrote. High-confidence "
        "findings fail the check; only positions are reported, never the text."
    ),
)
def no_residual_identifiers(masking: MaskingResource, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    from agent_release.masking import residual_scan

    masked = warehouse.lake().read(MASKED)
    findings = residual_scan(masked, masking.masker(), min_score=masking.residual_min_score)
    return dg.AssetCheckResult(
        passed=findings.height == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
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
        "its masked conversation (content, extras, user id)."
    ),
)
def no_ground_truth_leak(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    from agent_release.leaks import ground_truth_leaks

    lake = warehouse.lake()
    if not lake.exists(PII_TRUTH):
        return dg.AssetCheckResult(passed=True, metadata={"ground_truth": "none (real logs)"})
    truth = lake.read(PII_TRUTH)
    leaks = ground_truth_leaks(lake.read(MASKED), truth, lake.read(RAW_TABLE))
    by_type = leaks.group_by("entity_type").len().sort("entity_type") if leaks.height else leaks
    return dg.AssetCheckResult(
        passed=leaks.height == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "truth_values_checked": truth.height,
            "leaks": leaks.height,
            "leaks_by_type": dg.MetadataValue.md(md_table(by_type)) if leaks.height else "_none_",
        },
    )


@dg.asset_check(
    asset=masked_conversations,
    blocking=True,
    description="Every valid intake row is masked: rows in = rows masked + rows quarantined.",
)
def masking_rows_balance(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    lake = warehouse.lake()
    raw = lake.read(RAW_TABLE).height
    masked = lake.read(MASKED)
    q = lake.read("intake.quarantine").height
    batches = lake.read("intake.batches").sort("ingested_at")
    rows_in = int(batches["rows_in"][-1])
    ids_unique = masked["conversation_id"].n_unique() == masked.height
    return dg.AssetCheckResult(
        passed=masked.height == raw and rows_in == masked.height + q and ids_unique,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"rows_in": rows_in, "rows_masked": masked.height, "rows_quarantined": q,
                  "conversation_ids_unique": ids_unique},
    )


defs = dg.Definitions(
    assets=[masked_conversations],
    asset_checks=[no_residual_identifiers, no_ground_truth_leak, masking_rows_balance],
)
