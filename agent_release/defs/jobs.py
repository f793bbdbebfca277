"""Cross-domain jobs."""

import dagster as dg


prepare_traffic_job = dg.define_asset_job(
    "prepare_traffic",
    selection=dg.AssetSelection.groups("intake", "masking"),
    description="Production logs → validated intake + quarantine → masked conversations.",
)

preprod_job = dg.define_asset_job(
    "preprod_release",
    selection=dg.AssetSelection.groups("replay", "evals"),
    description=(
        "Pre-prod for one release (partition = release id): replay masked traffic against the "
        "baseline and candidate, run the eval suites, decide the promotion gate."
    ),
)

defs = dg.Definitions(jobs=[prepare_traffic_job, preprod_job])
