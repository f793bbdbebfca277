"""Cross-domain jobs."""

from __future__ import annotations

import dagster as dg

release_pipeline = dg.define_asset_job(
    "release_pipeline",
    selection=dg.AssetSelection.all(),
    description="Everything, end to end, on the configured sources (make run).",
)

defs = dg.Definitions(jobs=[release_pipeline])
