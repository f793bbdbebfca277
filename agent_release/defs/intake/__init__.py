"""Intake of production conversation logs: source → validated raw table + quarantine."""


from collections import Counter
from datetime import UTC, date, datetime

import dagster as dg
import polars as pl

from agent_release.defs.meta import md_rows
from agent_release.defs.resources import LogSourceResource, WarehouseResource

RAW_TABLE = "_raw.conversations"
RAW_QUARANTINE_PAYLOADS = "_raw.quarantine_payloads"
PII_TRUTH = "_raw.pii_ground_truth"
QUARANTINE = "intake.quarantine"
BATCHES = "intake.batches"


@dg.asset(
    key=["intake", "raw_conversations"],
    group_name="intake",
    kinds={"python", "parquet"},
    description=(
        "Production conversation logs read from the configured source (embedded default: the "
        "synthetic generator; otherwise a JSONL/Parquet file or folder in the conversation-log "
        "contract), validated record by record. Valid records land in the restricted raw zone "
        "(they still hold PII); bad ones go to `intake.quarantine` with reason and location. "
        "A file that cannot be read, is empty, or stops early (corrupt or truncated gzip/Parquet) is "
        "one quarantine row naming the file, and the other files still load; files of other types "
        "are listed as skipped. rows in = rows out + rows quarantined."
    ),
)
def raw_conversations(
    context: dg.AssetExecutionContext, log_source: LogSourceResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    from agent_release.intake import read_source

    lake = warehouse.lake()
    p = warehouse.paths()
    source = log_source.source
    if log_source.is_synthetic:
        from agent_release.synth.faults import inject_faults
        from agent_release.synth.logs import generate, pii_frame, write_jsonl

        gen = generate(
            log_source.n_conversations,
            seed=log_source.effective_seed,
            start=date.fromisoformat(log_source.start_date),
            days=log_source.n_days,
        )
        out_dir = p.synthetic / "production_logs"
        if out_dir.exists():
            for old in out_dir.glob("*.jsonl"):
                old.unlink()
        files = write_jsonl(gen, out_dir)
        faults = inject_faults(files, log_source.fault_rate, log_source.effective_seed)
        lake.write(PII_TRUTH, pii_frame(gen), replace_all=True)
        context.log.info(f"injected export defects: {dict(faults)}")
        source = str(out_dir)
        context.log.info(f"synthetic logs: {len(gen.records)} conversations (seed {log_source.effective_seed})")
    else:
        lake.delete_partition(PII_TRUTH, "all")

    result = read_source(source, max_content_chars=log_source.max_content_chars)
    problems = result.file_problems
    for row in problems.head(20).iter_rows(named=True):
        context.log.warning(f"intake: {row['reason']}")  # names the file, never quotes data
    for s in result.skipped[:20]:
        context.log.warning(f"intake: skipped {s['source']}: {s['reason']}")
    lake.write(RAW_TABLE, result.valid, replace_all=True)
    lake.write(RAW_QUARANTINE_PAYLOADS, pl.DataFrame(
        result.quarantine_payloads, schema={"source": pl.String, "source_row": pl.Int64, "payload": pl.String}
    ), replace_all=True)
    lake.write(QUARANTINE, result.quarantine, replace_all=True)
    batch = pl.DataFrame(
        [{
            "run_id": context.run.run_id,
            "ingested_at": datetime.now(UTC),
            "source": "synthetic" if log_source.is_synthetic else source,
            "files": len(result.files),
            "rows_in": result.rows_in,
            "rows_out": result.rows_out,
            "rows_quarantined": result.rows_quarantined,
        }]
    )
    lake.write(BATCHES, batch, partition=context.run.run_id)
    warehouse.publish()

    reasons = Counter(result.quarantine["reason_code"].to_list())
    locales = Counter(result.valid["locale"].to_list())
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": result.rows_out,
            "rows_in": result.rows_in,
            "rows_out": result.rows_out,
            "rows_quarantined": result.rows_quarantined,
            "files": len(result.files),
            "files_skipped": len(result.skipped),
            "file_problems": dg.MetadataValue.md(
                md_rows(["file", "row", "reason_code", "reason"], problems.head(50).select(
                    "source", "source_row", "reason_code", "reason").rows()) if problems.height else "_none_"
            ),
            "skipped_files": dg.MetadataValue.md(
                md_rows(["file", "reason"], [(s["source"], s["reason"]) for s in result.skipped[:50]])
                if result.skipped else "_none_"
            ),
            "source": "synthetic generator" if log_source.is_synthetic else source,
            "quarantine_reasons": dg.MetadataValue.md(
                md_rows(["reason_code", "rows"], sorted(reasons.items())) if reasons else "_none_"
            ),
            "locales": dg.MetadataValue.md(md_rows(["locale", "conversations"], sorted(locales.items()))),
        }
    )


@dg.asset_check(
    asset=raw_conversations,
    blocking=True,
    description="Rows in = rows out + rows quarantined for the latest intake batch, re-counted from storage.",
)
def intake_rows_balance(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    lake = warehouse.lake()
    out = lake.read(RAW_TABLE).height
    quarantined = lake.read(QUARANTINE).height
    batches = lake.read(BATCHES).sort("ingested_at")
    rows_in = int(batches["rows_in"][-1])
    return dg.AssetCheckResult(
        passed=rows_in == out + quarantined,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"rows_in": rows_in, "rows_out": out, "rows_quarantined": quarantined},
    )


@dg.asset_check(
    asset=raw_conversations,
    description="Warn when more than 5% of the batch was quarantined (a format change upstream?).",
)
def intake_quarantine_rate(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    lake = warehouse.lake()
    out = lake.read(RAW_TABLE).height
    q = lake.read(QUARANTINE).height
    rate = q / max(out + q, 1)
    return dg.AssetCheckResult(
        passed=rate <= 0.05,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"quarantine_rate": round(rate, 4)},
    )


defs = dg.Definitions(assets=[raw_conversations], asset_checks=[intake_rows_balance, intake_quarantine_rate])
