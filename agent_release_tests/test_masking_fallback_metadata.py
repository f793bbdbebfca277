"""A locale the masker has no support of its own for is masked with the broadest recognizers and
the masking asset says so in its metadata (issue 15: masking never silently skips a language)."""

from __future__ import annotations

import dagster as dg
import polars as pl

from agent_release.defs import intake, masking
from agent_release.defs.resources import LogSourceResource, MaskingResource, WarehouseResource
from agent_release.warehouse import Lake

DAY = "2026-11-02"


def test_a_day_with_an_unsupported_locale_reports_it_as_fallback_in_the_asset_metadata(home):
    lake = Lake(home / "data" / "lake")
    wh = WarehouseResource(home=str(home))
    with dg.instance_for_test() as instance:
        base = {"warehouse": wh, "log_source": LogSourceResource(conversations=12, seed=3, days=1, fault_rate=0.0)}
        assert dg.materialize([intake.raw_conversations], resources={**base, "masking": MaskingResource()},
                              instance=instance).success
        raw = lake.read("_raw.conversations")
        first = raw["conversation_id"][0]
        raw = raw.with_columns(locale=pl.when(pl.col("conversation_id") == first).then(pl.lit("xx-YY"))
                               .otherwise(pl.col("locale")))
        lake.write("_raw.conversations", raw, partition=lake.partitions("_raw.conversations")[0])
        res = dg.materialize([masking.staged_masked_conversations], partition_key=DAY, instance=instance,
                             resources={**base, "masking": MaskingResource(workers=1)}, raise_on_error=False)
        mat = res.asset_materializations_for_node("masking__staged_masked_conversations")[0]
        assert mat.metadata["fallback_locales"].value == {"xx-YY": 1}
        assert mat.metadata["fallback_conversations"].value == 1
