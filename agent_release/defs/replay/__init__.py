"""Replay: masked production traffic sent to the baseline and the candidate agent of a release."""

import json
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
    max_share = spec.gate.replay_max_error_share
    rows, summary, frames = [], [], {}
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
                         **_evidence_columns(empty, agent_spec.version, {}, max_share), "stats_json": "{}"})
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
        frames[side] = frame
        st = result.stats
        ev = _evidence_columns(frame, agent_spec.version, st, max_share)
        summary.append((side, agent_spec.version, sample.height, frame["conversation_id"].n_unique(), ev["turns"],
                        ev["failed_turns"], f"{ev['error_share']:.1%}", st.get("retried_turns", 0),
                        st.get("retries", 0), round(st.get("throughput", 0.0), 1)))
        rows.append({"release_id": spec.release_id, "day": day, "spec_hash": spec.spec_hash, "side": side,
                     "manifest_hash": mh, "agent_version": agent_spec.version, "conversations_in": sample.height,
                     "conversations_out": frame.height, **ev, "stats_json": json.dumps(st, default=str)})
    problems = day_problems(rows, frames, max_share) if not sample.is_empty() else []
    for r in rows:
        r["complete"], r["problem"] = not problems, "; ".join(problems) or None
    lake.write(REPLAY_RUNS, pl.DataFrame(rows), partition=f"{spec.release_id}__{day}")
    warehouse.publish()
    if problems:
        context.log.warning(f"replay {rid} {day} is not evidence: " + "; ".join(problems))
    by_side = {r["side"]: r for r in rows}
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(r["conversations_out"] for r in rows),
            "spec_hash": spec.spec_hash,
            "manifest_hash": mh,
            "day": day,
            "conversations_sampled": sample.height,
            "mode": spec.replay.mode,
            # expected vs received and endpoint errors per side (also columns of replay.runs)
            "complete": not problems,
            "problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems) or "none"),
            "max_error_share": max_share,
            **{f"{side}_{k}": by_side[side][k] for side in SIDES if side in by_side
               for k in ("conversations_in", "conversations_out", "turns", "failed_turns", "error_share")},
            "summary": dg.MetadataValue.md(md_rows(
                ["side", "agent", "expected", "received", "turns", "failed turns", "error share", "retried turns",
                 "retries", "conv/s"], summary)),
        }
    )


def _evidence_columns(frame: pl.DataFrame, agent_version: str, stats: dict, max_share: float) -> dict:
    """The replay.runs evidence columns of one side: turns asked for, failed turns (errored after
    the client's retries, or never sent after consecutive errors), their share, the retries."""
    from agent_release.evals.gate import replay_error_counts

    c = replay_error_counts(frame, agent_version)
    return {"turns": int(c["turns"]), "failed_turns": int(c["errors"]),
            "error_share": float(c["errors"] / c["turns"]) if c["turns"] else 0.0,
            "conversations_with_errors": int(c.get("conversations_with_errors", 0)),
            "unsent_turns": int(stats.get("unsent_turns", 0) or 0),
            "retried_turns": int(stats.get("retried_turns", 0) or 0), "retries": int(stats.get("retries", 0) or 0),
            "max_error_share": float(max_share)}


def day_problems(runs: list[dict], frames: dict[str, pl.DataFrame], max_share: float) -> list[str]:
    """Why one replay day (``runs``: its replay.runs rows, one per side; ``frames``: side → the
    replayed rows) is not evidence: conversations missing, duplicated or unexpected on either side,
    or an endpoint-error share above ``max_share`` on either side — the gate's own
    completeness rule (``evals.gate.evidence_completeness``), so the check and the gate agree."""
    from agent_release.evals.gate import evidence_completeness

    side = {r["side"]: r for r in runs}
    if set(side) != set(SIDES):
        return [f"replay: a side was not replayed ({', '.join(sorted(set(SIDES) - set(side)))} missing)"]
    if all(int(side[s]["conversations_in"] or 0) == 0 for s in SIDES):
        return []  # no sampled traffic that day
    both = [f for f in frames.values() if f is not None and not f.is_empty()]
    frame = pl.concat(both, how="diagonal_relaxed") if both else pl.DataFrame()
    ev = evidence_completeness(side["baseline"]["agent_version"], side["candidate"]["agent_version"], replay=frame,
                               expected={"replay": {s: int(side[s]["conversations_in"]) for s in SIDES}},
                               max_error_share=max_share, suites=("replay",))
    return ev.problems


@dg.asset_check(
    asset=replayed_conversations,
    blocking=True,
    description=(
        "A replay day is evidence: every sampled conversation was replayed exactly once per agent "
        "(none lost, none twice) and neither agent's endpoint failed more than the spec's "
        "gate.replay_max_error_share (default 5%) of its turns after retries — a day of endpoint "
        "errors is an outage, not a measurement. Judged for the run's partition (release × day), "
        "else for every release and day replayed so far."
    ),
)
def replay_complete(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    from agent_release.evals.gate import replay_error_counts

    lake = warehouse.lake()
    runs = lake.read(REPLAY_RUNS) if lake.exists(REPLAY_RUNS) else pl.DataFrame()
    tags = context.run.tags if context.run is not None else {}
    rid, day = tags.get("dagster/partition/release"), tags.get("dagster/partition/day")
    if rid and day and runs.height:
        runs = runs.filter((pl.col("release_id") == rid) & (pl.col("day") == day))
    if rid and day and runs.is_empty():
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR,
                                   description=f"{rid} {day}: no replay run recorded",
                                   metadata={"release": rid, "day": day})
    rows, problems = [], []
    for (r_id, d), grp in sorted(runs.group_by(["release_id", "day"]), key=lambda kv: kv[0]) if runs.height else []:
        recs = grp.to_dicts()
        frames = {}
        for r in recs:
            part = f"{r_id}__{r['side']}__{d}"
            frames[r["side"]] = lake.read(REPLAYED, partition=part) if part in lake.partitions(REPLAYED) else pl.DataFrame()
        share = _max_error_share(r_id, recs)
        found = day_problems(recs, frames, share)
        problems += [f"{r_id} {d}: {p}" for p in found]
        for r in sorted(recs, key=lambda x: x["side"]):
            f = frames.get(r["side"], pl.DataFrame())
            c = replay_error_counts(f, r["agent_version"])
            rows.append((r_id, d, r["side"], r["conversations_in"], f.height,
                         f["conversation_id"].n_unique() if f.height else 0, f"{c['errors']} of {c['turns']}",
                         f"{(c['errors'] / c['turns']) if c['turns'] else 0.0:.1%}", "ok" if not found else "FAIL"))
    passed = not problems
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=("; ".join(problems) if problems else None),
        metadata={
            "max_error_share": _max_error_share(rid, []) if rid else dg.MetadataValue.text("per release spec"),
            "problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems) or "none"),
            "replays": dg.MetadataValue.md(md_rows(
                ["release", "day", "side", "expected", "rows", "unique ids", "failed turns", "error share", "status"],
                rows))},
    )


def _max_error_share(release_id: str, runs: list[dict]) -> float:
    """The release spec's gate.replay_max_error_share (the gate's limit); if the spec cannot be
    loaded, the limit recorded with the replay (else the spec default, 5%)."""
    from agent_release.release_spec import GateSpec, load_release

    try:
        return float(load_release(release_id).gate.replay_max_error_share)
    except Exception:  # noqa: BLE001 - spec deleted / invalid: fall back, never pass for want of a limit
        recorded = [r.get("max_error_share") for r in runs if r.get("max_error_share") is not None]
        return float(min(recorded)) if recorded else float(GateSpec.__dataclass_fields__["replay_max_error_share"].default)


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
