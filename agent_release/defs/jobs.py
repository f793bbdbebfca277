"""Cross-domain jobs."""

import dagster as dg


ingest_logs_job = dg.define_asset_job(
    "ingest_logs",
    selection=dg.AssetSelection.groups("intake"),
    description="Production logs → validated intake + quarantine (raw zone, never exposed to analysts).",
)

mask_traffic_job = dg.define_asset_job(
    "mask_traffic",
    selection=dg.AssetSelection.groups("masking"),
    description=(
        "Mask one day of validated intake (partition = day of traffic). Backfill every day after "
        "`ingest_logs`; days run in parallel under the multiprocess or Celery executor."
    ),
)

preprod_job = dg.define_asset_job(
    "preprod_release",
    selection=dg.AssetSelection.groups("evals"),
    description=(
        "Pre-prod for one release (partition = release id): run the eval suites against the "
        "baseline and candidate, summarise latency/cost from the replay, decide the promotion gate. "
        "Run after `replay_release` for every day of traffic."
    ),
)

defs = dg.Definitions(jobs=[ingest_logs_job, mask_traffic_job, preprod_job])
