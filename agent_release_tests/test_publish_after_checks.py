"""Stage, check, publish: a masked day reaches the analyst views (and replay) only after its
blocking PII checks passed on exactly the staged file.

One scenario on a temporary home, two days of synthetic traffic:
  1. day 1 masked cleanly                      -> published
  2. day 2 masked by a buggy masker (a raw PII value of the day survives) -> checks fail, held
  3. the publish step of day 2 run on its own   -> refused, naming the failed checks
  4. day 1 re-masked by the buggy masker        -> held; the views keep day 1's published version
  5. day 2 re-masked cleanly                    -> published
  6. day 2 staged by a run without its checks   -> refused
"""

from __future__ import annotations

import os

import dagster as dg
import duckdb
import polars as pl
import pytest

from agent_release.defs import intake, masking
from agent_release.defs.resources import LogSourceResource, MaskingResource, WarehouseResource
from agent_release.warehouse import Lake, file_digest

MASKED = masking.MASKED
DAY1, DAY2 = "2026-11-02", "2026-11-03"
ASSETS = [masking.staged_masked_conversations, masking.masked_conversations, masking.no_residual_identifiers,
          masking.no_residual_pii_shapes, masking.no_ground_truth_leak, masking.masking_rows_balance,
          masking.traffic_days_cover_intake,
          intake.raw_conversations]
SELECTION = [masking.staged_masked_conversations.key, masking.masked_conversations.key]


class LeakyMasking(MaskingResource):
    """A masker with a bug: one raw e-mail address of the day survives in a masked message."""

    leak: str = ""
    conversation_id: str = ""

    def mask_frame(self, df):
        masked, stats = super().mask_frame(df)
        rows = masked.to_dicts()
        for r in rows:
            if r["conversation_id"] == self.conversation_id:
                first = r["messages"][0]
                first["content"] = first["content"] + f" (write to {self.leak})"  # appended: spans stay valid
        return pl.DataFrame(rows, schema=masked.schema), stats


def _checks(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.event_specific_data.check_name: e.event_specific_data for e in result.all_events
            if e.event_type_value == "ASSET_CHECK_EVALUATION"}


def _published_mats(instance, day: str) -> int:
    return len(instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=masking.masked_conversations.key, asset_partitions=[day]), limit=100).records)


def _views(home) -> dict:
    """What an analyst sees through data/warehouse.duckdb (read-only)."""
    con = duckdb.connect(str(home / "data" / "warehouse.duckdb"), read_only=True)
    try:
        days = dict(con.execute(
            "select strftime(started_at, '%Y-%m-%d') d, count(*) from masking.masked_conversations group by d").fetchall())
        blob = con.execute("select string_agg(messages::varchar, ' ') from masking.masked_conversations").fetchone()[0]
        counts = {r[0] for r in con.execute("select distinct day from masking.entity_counts").fetchall()}
        return {"rows_by_day": days, "blob": (blob or "").lower(), "entity_count_days": counts}
    finally:
        con.close()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    (home / "data").mkdir()
    old = os.environ.get("AGENT_RELEASE_HOME")
    os.environ["AGENT_RELEASE_HOME"] = str(home)
    lake = Lake(home / "data" / "lake")
    wh = WarehouseResource(home=str(home))
    out: dict = {"home": home, "lake": lake}
    try:
        with dg.instance_for_test() as instance:
            base = {"warehouse": wh, "log_source": LogSourceResource(conversations=30, seed=11, days=2, fault_rate=0.0)}
            assert dg.materialize([intake.raw_conversations], resources={**base, "masking": MaskingResource()},
                                  instance=instance).success
            raw = lake.read("_raw.conversations")
            truth = lake.read("_raw.pii_ground_truth").join(
                raw.select("conversation_id", day=pl.col("started_at").dt.strftime("%Y-%m-%d")), on="conversation_id")
            emails = truth.filter(pl.col("entity_type") == "EMAIL_ADDRESS")
            leak1 = emails.filter(pl.col("day") == DAY1).row(0, named=True)
            leak2 = emails.filter(pl.col("day") == DAY2).row(0, named=True)
            out["leaks"] = [leak1["value"].lower(), leak2["value"].lower()]
            out["day_rows"] = {d: raw.filter(pl.col("started_at").dt.strftime("%Y-%m-%d") == d).height
                               for d in (DAY1, DAY2)}

            def run(day, masker, assets=ASSETS, selection=SELECTION):
                return dg.materialize(assets, selection=selection, partition_key=day, instance=instance,
                                      resources={**base, "masking": masker}, raise_on_error=False)

            def leaky(leak):
                return LeakyMasking(leak=leak["value"], conversation_id=leak["conversation_id"])

            # 1. a clean day is published
            out["clean"] = run(DAY1, MaskingResource())
            out["after_clean"] = _views(home)
            day1_file = lake.table_dir(MASKED) / f"{DAY1}.parquet"
            out["day1_digest"] = file_digest(day1_file)
            # 2. a day whose masked output still holds a raw e-mail: the checks fail, nothing is published
            out["leaky"] = run(DAY2, leaky(leak2))
            out["after_leaky"] = _views(home)
            out["after_leaky_partitions"] = lake.partitions(MASKED)
            out["after_leaky_staged"] = lake.staged_partitions(MASKED)
            out["after_leaky_replay_view"] = lake.read(MASKED)  # what replay reads
            out["day2_published_mats"] = _published_mats(instance, DAY2)
            # 3. the publish step on its own refuses the failed staged day
            out["publish_alone"] = run(DAY2, MaskingResource(), selection=[masking.masked_conversations.key])
            out["after_publish_alone"] = _views(home)
            # 4. a failed re-mask of a published day: the previous published version stays
            out["leaky_again"] = run(DAY1, leaky(leak1))
            out["after_leaky_again"] = _views(home)
            out["day1_digest_after"] = file_digest(day1_file)
            # 5. a clean re-run publishes the held day
            out["fixed"] = run(DAY2, MaskingResource())
            out["after_fixed"] = _views(home)
            out["after_fixed_staged"] = lake.staged_partitions(MASKED)
            out["day2_published_mats_after"] = _published_mats(instance, DAY2)
            # 5b. the checks run on their own, without a partition: they check what analysts see
            recheck = dg.define_asset_job("recheck", dg.AssetSelection.checks_for_assets(
                masking.staged_masked_conversations))
            defs = dg.Definitions(assets=[a for a in ASSETS if not isinstance(a, dg.AssetChecksDefinition)],
                                  asset_checks=[c for c in ASSETS if isinstance(c, dg.AssetChecksDefinition)],
                                  jobs=[recheck], resources={**base, "masking": MaskingResource()})
            out["recheck"] = defs.resolve_job_def("recheck").execute_in_process(instance=instance, raise_on_error=False)
            # 6. staged, but the checks were not part of the run: the publish refuses
            out["unchecked"] = run(DAY2, MaskingResource(),
                                   assets=[masking.staged_masked_conversations, masking.masked_conversations,
                                           intake.raw_conversations])
            out["after_unchecked_staged"] = lake.staged_partitions(MASKED)
        yield out
    finally:
        if old is None:
            os.environ.pop("AGENT_RELEASE_HOME", None)
        else:
            os.environ["AGENT_RELEASE_HOME"] = old


def _step_failure_messages(result) -> str:
    return "\n".join(str(e.event_specific_data.error.message) + str(e.event_specific_data.user_failure_data)
                     for e in result.all_events if e.event_type_value == "STEP_FAILURE")


def test_a_clean_day_is_published_to_the_warehouse_views_after_its_blocking_checks_pass(scenario):
    res = scenario["clean"]
    assert res.success
    checks = _checks(res)
    assert {c.check_name for c in checks.values() if c.blocking} == {k.name for k in masking.BLOCKING_CHECKS}
    assert all(c.passed for c in checks.values())
    views = scenario["after_clean"]
    assert views["rows_by_day"] == {DAY1: scenario["day_rows"][DAY1]}
    assert views["entity_count_days"] == {DAY1}
    # the publish step ran after every blocking check of the day
    order = [e.step_key for e in res.all_events if e.event_type_value == "STEP_START"]
    publish = order.index("masking__masked_conversations")
    assert all(order.index(s) < publish for s in order if "no_residual" in s or "ground_truth" in s or "balance" in s)
    mat = res.asset_materializations_for_node("masking__masked_conversations")[0]
    assert mat.metadata["published_sha256"].value == scenario["day1_digest"]


def test_a_day_with_raw_pii_caught_by_a_blocking_check_is_never_visible_in_the_warehouse_views(scenario):
    res = scenario["leaky"]
    assert not res.success
    checks = _checks(res)
    assert checks["no_ground_truth_leak"].passed is False
    assert checks["no_residual_identifiers"].passed is False  # the e-mail is a structured identifier too
    assert checks["no_residual_pii_shapes"].passed is False  # and e-mail-shaped, outside the surrogates
    assert "stays staged, NOT published" in checks["no_ground_truth_leak"].description  # the reason, visible
    assert scenario["day2_published_mats"] == 0  # the publish step never ran
    views = scenario["after_leaky"]
    assert views["rows_by_day"] == {DAY1: scenario["day_rows"][DAY1]}  # the analyst sees day 1 only
    assert scenario["leaks"][1] not in views["blob"]
    assert DAY2 not in views["entity_count_days"]
    # replay reads the published table: day 2 is not there either
    assert scenario["after_leaky_partitions"] == [DAY1]
    replay_input = scenario["after_leaky_replay_view"]
    assert set(replay_input["started_at"].dt.strftime("%Y-%m-%d")) == {DAY1}
    # the held day waits in staging (restricted, never exposed), unpublished
    assert DAY2 in scenario["after_leaky_staged"]


def test_the_publish_step_alone_refuses_a_staged_day_whose_checks_failed_and_names_them(scenario):
    res = scenario["publish_alone"]
    assert not res.success
    msg = _step_failure_messages(res)
    assert "not published" in msg and "no_ground_truth_leak: FAILED" in msg and "no_residual_identifiers: FAILED" in msg
    assert scenario["leaks"][1] not in msg.lower()  # the reason names checks and counts, never the value
    assert scenario["after_publish_alone"]["rows_by_day"] == {DAY1: scenario["day_rows"][DAY1]}


def test_a_failed_re_mask_of_a_published_day_leaves_the_previous_published_version_in_the_views(scenario):
    assert not scenario["leaky_again"].success
    assert scenario["day1_digest_after"] == scenario["day1_digest"]  # same bytes as before
    views = scenario["after_leaky_again"]
    assert views["rows_by_day"] == {DAY1: scenario["day_rows"][DAY1]}
    assert scenario["leaks"][0] not in views["blob"]


def test_a_clean_re_run_publishes_the_held_day_and_empties_its_staging(scenario):
    assert scenario["fixed"].success
    assert scenario["after_fixed"]["rows_by_day"] == scenario["day_rows"]
    assert scenario["after_fixed"]["entity_count_days"] == {DAY1, DAY2}
    assert not any(leak in scenario["after_fixed"]["blob"] for leak in scenario["leaks"])
    assert DAY2 not in scenario["after_fixed_staged"]
    assert scenario["day2_published_mats_after"] == 1


def test_a_staged_day_whose_checks_were_not_in_the_run_is_not_published(scenario):
    res = scenario["unchecked"]
    assert not res.success
    assert "not evaluated on the staged materialization" in _step_failure_messages(res)
    assert DAY2 in scenario["after_unchecked_staged"]  # staged again, but not published


def test_the_checks_run_on_their_own_check_the_published_table_not_the_held_staged_day(scenario):
    """Day 1's failed re-mask (step 4) is still staged; a check run without a partition checks what
    the analysts can see: the published days, which are clean."""
    res = scenario["recheck"]
    assert res.success
    checks = _checks(res)
    assert {k.name for k in masking.BLOCKING_CHECKS} <= set(checks) and all(c.passed for c in checks.values())
    assert checks["masking_rows_balance"].metadata["rows_masked_that_day"].value == sum(scenario["day_rows"].values())
    assert not [e for e in res.all_events if e.event_type_value == "ASSET_MATERIALIZATION"]  # nothing re-published
