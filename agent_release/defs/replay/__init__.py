"""Replay: masked production traffic sent to the baseline and the candidate agent of a release."""

import time

import dagster as dg
import polars as pl

from agent_release.defs.masking import MASKED, masked_conversations
from agent_release.defs.meta import md_rows
from agent_release.defs.partitions import replay_partitions
from agent_release.defs.resources import WarehouseResource

REPLAYED = "replay.replayed_conversations"
REPLAY_RUNS = "replay.runs"
SIDES = ("baseline", "candidate")


class ReplayRuntimeResource(dg.ConfigurableResource):
    """How replays run on this deployment (the *what* — agents, mode, concurrency — is in the
    release spec). ``latency_scale`` scales the simulated agents' real sleeping (0 = none)."""

    latency_scale: float = 0.0
    progress_every_s: float = 5.0


@dg.asset(
    key=["replay", "replayed_conversations"],
    # the release's sample is drawn from every day of masked traffic, then split by day
    deps=[dg.AssetDep(masked_conversations, partition_mapping=dg.AllPartitionMapping())],
    partitions_def=replay_partitions,
    group_name="replay",
    kinds={"python", "parquet"},
    description=(
        "Masked production conversations replayed against the release's baseline and candidate "
        "agents (user turns in order, each agent's own answers kept in the history), in the "
        "conversation-log contract with per-turn latency, tokens, cost, action and error. Faults "
        "are retried then recorded; a re-run resumes from the checkpoint without duplicates. "
        "Partitioned by release × day of traffic: each day is its own run (parallel under the "
        "executor, backfillable); the release's sample is drawn once, then split by day."
    ),
)
def replayed_conversations(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, replay_runtime: ReplayRuntimeResource
) -> dg.MaterializeResult:
    from agent_release.agent_endpoints import open_agent, sample_conversations
    from agent_release.release_spec import load_release
    from agent_release.replay import ReplayConfig, run_replay

    keys = context.partition_key.keys_by_dimension
    rid, day = keys["release"], keys["day"]
    spec = load_release(rid)
    from agent_release.manifest import input_manifest

    # every replayed row carries the input manifest it was produced on (the gate refuses others)
    mh = input_manifest(spec).manifest_hash
    lake = warehouse.lake()
    sample = sample_conversations(lake.read(MASKED), spec.replay.conversations, spec.replay.seed)
    sample = sample.filter(pl.col("started_at").dt.strftime("%Y-%m-%d") == day)
    rows, summary = [], []
    if sample.is_empty():
        context.log.info(f"no sampled traffic on {day} for {rid}")
    for side, agent_spec in zip(SIDES, (spec.baseline, spec.candidate), strict=True):
        if sample.is_empty():
            from agent_release.contract import to_frame

            empty = to_frame([]).with_columns(pl.lit(None, pl.String).alias(c)
                                              for c in ("release_id", "spec_hash", "side", "manifest_hash"))
            lake.write(REPLAYED, empty, partition=f"{spec.release_id}__{side}__{day}")
            rows.append({"release_id": spec.release_id, "day": day, "spec_hash": spec.spec_hash, "side": side,
                         "manifest_hash": mh, "agent_version": agent_spec.version, "conversations_in": 0, "conversations_out": 0,
                         "stats_json": "{}"})
            continue
        # keyed by the manifest too: a checkpoint made on other inputs (prices, profiles, …) is not resumed
        ckpt = (warehouse.paths().data / "checkpoints" / "replay" / spec.release_id / spec.spec_hash / mh
                / side / day)
        cfg = ReplayConfig(
            mode=spec.replay.mode, speedup=spec.replay.speedup, concurrency=spec.replay.concurrency,
            rate_limit_per_s=spec.replay.rate_limit_per_s, checkpoint_dir=ckpt,
        )
        last = [0.0]

        def progress(done, total, errors, _side=side, _last=last):
            now = time.monotonic()
            if now - _last[0] >= replay_runtime.progress_every_s or done == total:
                _last[0] = now
                context.log.info(f"replay {rid} {day} {_side}: {done}/{total} conversations, {errors} turn errors")

        with open_agent(agent_spec, latency_scale=replay_runtime.latency_scale,
                        concurrency=spec.replay.concurrency) as agent:
            result = run_replay(sample, agent, cfg, on_progress=progress)
        frame = result.frame.with_columns(
            pl.lit(spec.release_id).alias("release_id"),
            pl.lit(spec.spec_hash).alias("spec_hash"),
            pl.lit(side).alias("side"),
            pl.lit(mh, pl.String).alias("manifest_hash"),
        )
        lake.write(REPLAYED, frame, partition=f"{spec.release_id}__{side}__{day}")
        st = result.stats
        summary.append((side, agent_spec.version, frame.height, st.get("turns"), st.get("errors_total", 0),
                        round(st.get("error_rate", 0.0), 4), round(st.get("throughput", 0.0), 1)))
        rows.append({"release_id": spec.release_id, "day": day, "spec_hash": spec.spec_hash, "side": side,
                     "manifest_hash": mh, "agent_version": agent_spec.version, "conversations_in": sample.height,
                     "conversations_out": frame.height, "stats_json": __import__("json").dumps(st, default=str)})
    lake.write(REPLAY_RUNS, pl.DataFrame(rows), partition=f"{spec.release_id}__{day}")
    warehouse.publish()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(r["conversations_out"] for r in rows),
            "spec_hash": spec.spec_hash,
            "manifest_hash": mh,
            "day": day,
            "conversations_sampled": sample.height,
            "mode": spec.replay.mode,
            "summary": dg.MetadataValue.md(md_rows(
                ["side", "agent", "conversations", "turns", "turn errors", "error rate", "conv/s"], summary)),
        }
    )


@dg.asset_check(
    asset=replayed_conversations,
    blocking=True,
    description=(
        "Every sampled conversation was replayed exactly once per agent (none lost, none twice), "
        "for every release replayed so far."
    ),
)
def replay_complete(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    lake = warehouse.lake()
    runs = lake.read(REPLAY_RUNS)
    rows, ok = [], True
    for r in runs.iter_rows(named=True):
        part = f"{r['release_id']}__{r['side']}__{r['day']}"
        df = lake.read(REPLAYED, partition=part)
        unique = df["conversation_id"].n_unique()
        good = df.height == r["conversations_in"] == unique
        ok &= good
        rows.append((r["release_id"], r["day"], r["side"], r["conversations_in"], df.height, unique,
                     "ok" if good else "MISMATCH"))
    return dg.AssetCheckResult(
        passed=ok,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"replays": dg.MetadataValue.md(md_rows(
            ["release", "day", "side", "expected", "rows", "unique ids", "status"], rows))},
    )


replay_job = dg.define_asset_job(
    "replay_release",
    selection=dg.AssetSelection.groups("replay"),
    description="Replay one day of masked traffic for one release (partition = release × day); backfill for all days.",
)

defs = dg.Definitions(
    jobs=[replay_job],
    assets=[replayed_conversations],
    asset_checks=[replay_complete],
    resources={"replay_runtime": ReplayRuntimeResource()},
)
