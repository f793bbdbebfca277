"""Cross-domain jobs."""

import dagster as dg


prepare_traffic_job = dg.define_asset_job(
    "prepare_traffic",
    selection=dg.AssetSelection.groups("intake", "masking"),
    description="Production logs → validated intake + quarantine → masked conversations.",
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

defs = dg.Definitions(jobs=[prepare_traffic_job, preprod_job])
