"""Materialize intake + masking on a temporary home and check what landed, PII included."""

import os
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from agent_release.defs import intake, masking
from agent_release.defs.resources import LogSourceResource, MaskingResource, WarehouseResource
from agent_release.warehouse import Lake

from .conftest import FIXTURES


class _Runs:
    """Intake (one run) then masking (one run per day of traffic: stage, check, publish), seen as one result."""

    def __init__(self, results):
        self.results = results
        self.success = all(r.success for r in results)
        self.all_events = [e for r in results for e in r.all_events]


def _materialize(home: Path, log_source: LogSourceResource, instance: dg.DagsterInstance):
    from agent_release.defs.partitions import traffic_days

    resources = {
        "warehouse": WarehouseResource(home=str(home)),
        "log_source": log_source,
        "masking": MaskingResource(),
    }
    results = [dg.materialize([intake.raw_conversations, intake.intake_rows_balance, intake.intake_quarantine_rate],
                              resources=resources, instance=instance, raise_on_error=False)]
    days = sorted(set(Lake(home / "data" / "lake").read("_raw.conversations")["started_at"].dt.strftime("%Y-%m-%d"))
                  & set(traffic_days.get_partition_keys()))
    for day in days:
        results.append(dg.materialize(
            [masking.staged_masked_conversations, masking.masked_conversations, masking.no_residual_identifiers,
             masking.no_residual_pii_shapes, masking.no_ground_truth_leak, masking.masking_rows_balance,
             masking.traffic_days_cover_intake,
             intake.raw_conversations],
            selection=[masking.staged_masked_conversations.key, masking.masked_conversations.key], partition_key=day,
            resources=resources, instance=instance, raise_on_error=False))
    return _Runs(results)


def _checks(result) -> dict[str, bool]:
    """Check name → passed in every run that evaluated it."""
    out: dict[str, bool] = {}
    for e in result.all_events:
        if e.event_type_value == "ASSET_CHECK_EVALUATION":
            d = e.event_specific_data
            out[d.check_name] = out.get(d.check_name, True) and d.passed
    return out


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    dagster_home = tmp_path_factory.mktemp("dagster_home")
    old = os.environ.get("AGENT_RELEASE_HOME")
    os.environ["AGENT_RELEASE_HOME"] = str(home)
    try:
        with dg.instance_for_test(temp_dir=str(dagster_home)) as instance:
            result = _materialize(home, LogSourceResource(conversations=150, seed=3, days=2, fault_rate=0.03), instance)
        yield home, dagster_home, result
    finally:
        if old is None:
            os.environ.pop("AGENT_RELEASE_HOME", None)
        else:
            os.environ["AGENT_RELEASE_HOME"] = old


def test_synthetic_pipeline_green(synthetic_run):
    home, _, result = synthetic_run
    assert result.success
    checks = _checks(result)
    assert checks and all(checks.values()), checks
    lake = Lake(home / "data" / "lake")
    masked = lake.read("masking.masked_conversations")
    quarantine = lake.read("intake.quarantine")
    dups = (quarantine["reason_code"] == "duplicate_id").sum()
    # export defects were injected: every damaged record is quarantined, the rest masked
    assert quarantine.height > 0 and quarantine["reason_code"].n_unique() >= 3
    assert masked.height == 150 - (quarantine.height - dups)
    batch = lake.read("intake.batches").row(0, named=True)
    assert batch["rows_in"] == masked.height + quarantine.height == 150 + dups
    assert masked["user_id"].str.len_chars().min() >= 32
    # Analysts see the masked table through the DuckDB file, read-only.
    con = duckdb.connect(str(home / "data" / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from masking.masked_conversations").fetchone()[0] == masked.height
        schemas = {r[0] for r in con.execute("select distinct schema_name from duckdb_views() where not internal").fetchall()}
        assert "_raw" not in schemas
    finally:
        con.close()


def _surrogates(masked: pl.DataFrame) -> set[str]:
    out = set()
    for row in masked.select("messages", "masked_spans").iter_rows():
        msgs, spans = row
        for s in spans or []:
            out.add(msgs[s["message_index"]]["content"][s["start"]:s["end"]].lower())
    return out


def _texts_of(path: Path) -> str:
    if path.suffix == ".parquet":
        con = duckdb.connect()
        try:
            rel = con.execute(f"select * from read_parquet('{path}')")
            return "\n".join(str(r) for r in rel.fetchall())
        finally:
            con.close()
    if path.suffix == ".duckdb":
        return ""  # views only; their data is the parquet files checked above
    return path.read_bytes().decode("utf-8", errors="ignore")


def test_no_raw_pii_anywhere_outside_raw_intake(synthetic_run):
    """Grep everything the run wrote — lake (except the raw zone), warehouse, reports, the
    Dagster instance (run/event storage, logs) — for every injected PII value and raw user id."""
    home, dagster_home, _ = synthetic_run
    lake = Lake(home / "data" / "lake")
    truth = lake.read("_raw.pii_ground_truth")
    raw = lake.read("_raw.conversations")
    masked = lake.read("masking.masked_conversations")
    surrogates = _surrogates(masked)
    needles = {v.lower() for v in truth["value"].to_list() if len(v) >= 5} | {u.lower() for u in raw["user_id"].to_list()}
    # A truth value identical to a surrogate written elsewhere is a coincidence of fake pools, not a leak.
    # Faker draws fakes from the same name pools the generator used: a truth value that is a
    # surrogate, or part of one (a first name inside a fake full name), is a coincidence of
    # pools, not a leak. Same-conversation leaks are covered by the no_ground_truth_leak check.
    sur_blob = "\n".join(surrogates)
    needles = {n for n in needles if n not in sur_blob}
    assert len(needles) > 100
    restricted = {home / "data" / "lake" / "_raw", home / "data" / "synthetic"}
    files = [
        f for root in (home, dagster_home) for f in Path(root).rglob("*")
        if f.is_file() and not any(r in f.parents for r in restricted)
    ]
    assert any(f.suffix == ".parquet" for f in files)
    assert any("dagster_home" in str(f) for f in files)
    import re

    # whole-token matches: a short name inside another word ("Earl" in "earlier") is not a leak
    patterns = [re.compile((r"\b" if n[:1].isalnum() else "") + re.escape(n) + (r"\b" if n[-1:].isalnum() else ""))
                for n in needles]
    hits = []
    for f in files:
        text = _texts_of(f).lower()
        for n, pat in zip(needles, patterns, strict=True):
            if n in text and pat.search(text):
                hits.append((f.name, len(n)))  # never print the value itself
    assert not hits, hits[:20]


def test_handwritten_log_file_goes_through(tmp_path):
    home = tmp_path / "home"
    (home / "data").mkdir(parents=True)
    src = tmp_path / "logs"
    src.mkdir()
    shutil.copy(FIXTURES / "handwritten_logs.jsonl", src / "export.jsonl")
    with dg.instance_for_test() as instance:
        result = _materialize(home, LogSourceResource(path=str(src)), instance)
    assert result.success
    checks = _checks(result)
    assert checks["intake_rows_balance"] and checks["masking_rows_balance"]
    assert checks["no_residual_identifiers"] and checks["no_ground_truth_leak"]
    assert checks["intake_quarantine_rate"] is False  # 11 of 15 bad: the warning fires
    lake = Lake(home / "data" / "lake")
    masked = lake.read("masking.masked_conversations")
    assert masked.height == 4 and lake.read("intake.quarantine").height == 11
    blob = " ".join(m["content"] for msgs in masked["messages"] for m in msgs)
    for original in ("Margaret Thompson", "margaret.thompson@gmail.com", "555-2671", "48291573K",
                     "ES91 2100 0418 4502 0005 1332", "Lucía", "Jean-Pierre", "06 12 34 56 78",
                     "529.982.247-25", "4532 0151 1283 0366", "Pereira", "12 rue de la Paix"):
        assert original.lower() not in blob.lower(), f"a {len(original)}-char original survived"
    # Non-PII order numbers survive (replay realism).
    assert "88-1123" in blob and "4471-22" in blob


def test_rows_outside_the_traffic_days_are_reported_not_dropped(tmp_path):
    """Day 2026-11-09 lies outside the traffic days (end exclusive): its rows belong to no masking
    partition, so the warning check names them and the balance metadata counts them."""
    home = tmp_path / "home"
    (home / "data").mkdir(parents=True)
    with dg.instance_for_test() as instance:
        result = _materialize(home, LogSourceResource(conversations=60, seed=5, days=2, start_date="2026-11-08",
                                                      fault_rate=0.0), instance)
        assert result.success
        checks = _checks(result)
        assert checks["masking_rows_balance"] and checks["no_residual_identifiers"]
        assert checks["traffic_days_cover_intake"] is False
        lake = Lake(home / "data" / "lake")
        raw = lake.read("_raw.conversations")
        outside = (raw["started_at"].dt.strftime("%Y-%m-%d") == "2026-11-09").sum()
        assert 0 < outside < raw.height
        assert lake.partitions("masking.masked_conversations") == ["2026-11-08"]
        assert lake.read("masking.masked_conversations").height == raw.height - outside
        ev = instance.get_latest_materialization_event(masking.masked_conversations.key)
        assert ev is not None
        evals = [e for r in result.results for e in r.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
                 and e.event_specific_data.check_name == "masking_rows_balance"]
        md = evals[-1].event_specific_data.metadata
        assert md["rows_outside_traffic_days"].value == outside
        assert md["rows_in"].value == raw.height + lake.read("intake.quarantine").height
