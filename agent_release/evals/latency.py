"""Latency and cost summaries across suites (replay, golden, scenarios).

Inputs come in two shapes, both accepted everywhere:

* **conversation-log contract** frames (replayed conversations, live traffic): one row per
  conversation with a ``messages`` list; latency and cost live on assistant messages, and
  ``outcome`` says whether the conversation was resolved;
* **eval result** frames from :mod:`agent_release.evals.runner` (golden / scenarios): one row per
  case or trial with ``turn_latencies_ms`` and ``cost_usd``.

:func:`turns_frame` flattens either into one row per assistant turn
(agent_version, suite, locale, conversation_id, latency_ms, cost_usd, error), and
:func:`conversations_frame` into one row per conversation (cost, resolved).

Unknown cost is **null, never $0**: a conversation's ``cost_usd`` is null when an *answered*
turn (no ``error``) has no cost (the reply had no ``usage``, or its model is not in the price
table: ``agents.base.compute_cost`` returns None); ``cost_unknown_turns`` counts those turns.
A turn that failed (``error`` set) is not billed and adds nothing (its failure is judged by the
gate's replay error-rate criterion instead).
Percentiles use numpy's linear interpolation (``stats.percentiles``).
"""

from __future__ import annotations

import polars as pl

TURN_SCHEMA = {"agent_version": pl.String, "suite": pl.String, "locale": pl.String, "conversation_id": pl.String,
               "latency_ms": pl.Float64, "cost_usd": pl.Float64, "error": pl.String}
CONV_SCHEMA = {"agent_version": pl.String, "suite": pl.String, "locale": pl.String, "conversation_id": pl.String,
               "cost_usd": pl.Float64, "resolved": pl.Boolean, "errored": pl.Boolean,
               "cost_unknown_turns": pl.UInt32}


def _suite_of(df: pl.DataFrame, suite: str | None) -> pl.Expr:
    if suite is not None:
        return pl.lit(suite)
    return pl.col("suite") if "suite" in df.columns else pl.lit("replay")


def turns_frame(df: pl.DataFrame, suite: str | None = None, *, include_failed: bool = False) -> pl.DataFrame:
    """One row per assistant turn with its latency (see module doc for accepted shapes).

    Turns without a latency are dropped, except — with ``include_failed`` — failed turns
    (``error`` set; e.g. an agent exception), which are kept with a null latency so a caller
    can count them (the gate counts them at their timeout)."""
    if df is None or df.is_empty():
        return pl.DataFrame(schema=TURN_SCHEMA)
    if "messages" in df.columns:
        conv = df.select(
            pl.col("agent_version"), _suite_of(df, suite).alias("suite"), pl.col("locale"),
            pl.col("conversation_id"), pl.col("messages"))
        t = (conv.explode("messages").unnest("messages")
             .filter(pl.col("role") == "assistant")
             .select("agent_version", "suite", "locale", "conversation_id",
                     pl.col("latency_ms").cast(pl.Float64), pl.col("cost_usd").cast(pl.Float64).fill_null(0.0),
                     pl.col("error").cast(pl.String)))
        keep = pl.col("latency_ms").is_not_null()
        return t.filter((keep | pl.col("error").is_not_null()) if include_failed else keep)
    if "turn_latencies_ms" in df.columns:
        idcol = "case_id" if "case_id" in df.columns else ("scenario_id" if "scenario_id" in df.columns else None)
        conv_id = (pl.col(idcol) + (("#" + pl.col("trial").cast(pl.String)) if "trial" in df.columns else pl.lit(""))
                   if idcol else pl.int_range(pl.len()).cast(pl.String))
        t = (df.select(pl.col("agent_version"), _suite_of(df, suite).alias("suite"), pl.col("locale"),
                       conv_id.alias("conversation_id"), pl.col("turn_latencies_ms").alias("latency_ms"),
                       pl.lit(0.0).alias("cost_usd"), pl.col("error").cast(pl.String))
             .explode("latency_ms").filter(pl.col("latency_ms").is_not_null()))
        return t.with_columns(pl.col("latency_ms").cast(pl.Float64))
    if "latency_ms" in df.columns:  # already per turn
        cols = {c: pl.col(c) for c in TURN_SCHEMA if c in df.columns}
        out = df.select([cols.get(c, pl.lit(None, TURN_SCHEMA[c])).cast(TURN_SCHEMA[c]).alias(c)
                         for c in TURN_SCHEMA if c != "suite"] + [_suite_of(df, suite).alias("suite")])
        return out.select(list(TURN_SCHEMA))
    raise ValueError("need a contract frame (messages), eval results (turn_latencies_ms) or per-turn latency_ms")


def conversations_frame(df: pl.DataFrame, suite: str | None = None) -> pl.DataFrame:
    """One row per conversation: total cost and whether it was resolved.

    Contract frames: resolved = ``outcome == "resolved"``. Eval results: resolved = ``passed``
    (a golden case / scenario trial the agent got right is the eval-suite analogue of a resolution)."""
    if df is None or df.is_empty():
        return pl.DataFrame(schema=CONV_SCHEMA)
    if "messages" in df.columns:
        msgs = (df.select("agent_version", "conversation_id", "messages").explode("messages").unnest("messages")
                .filter(pl.col("role") == "assistant"))
        answered_unpriced = (pl.col("error").is_null() & pl.col("cost_usd").is_null())
        costs = (msgs.group_by("agent_version", "conversation_id")
                 .agg(pl.col("cost_usd").cast(pl.Float64).fill_null(0.0).sum().alias("cost_usd"),
                      answered_unpriced.sum().cast(pl.UInt32).alias("cost_unknown_turns"),
                      pl.col("error").is_not_null().any().alias("errored"))
                 .with_columns(pl.when(pl.col("cost_unknown_turns") > 0).then(None)
                               .otherwise(pl.col("cost_usd")).alias("cost_usd")))
        base = df.select(pl.col("agent_version"), _suite_of(df, suite).alias("suite"), pl.col("locale"),
                         pl.col("conversation_id"),
                         (pl.col("outcome") == "resolved").fill_null(False).alias("resolved")
                         if "outcome" in df.columns else pl.lit(False).alias("resolved"))
        return base.join(costs, on=["agent_version", "conversation_id"], how="left").select(list(CONV_SCHEMA))
    idcol = "case_id" if "case_id" in df.columns else ("scenario_id" if "scenario_id" in df.columns else "conversation_id")
    conv_id = pl.col(idcol) + (("#" + pl.col("trial").cast(pl.String)) if "trial" in df.columns else pl.lit(""))
    resolved = (pl.col("resolved") if "resolved" in df.columns else pl.col("passed")).fill_null(False)
    err = pl.col("error").is_not_null() if "error" in df.columns else pl.lit(False)
    unknown = pl.col("cost_usd").is_null() & ~err
    return df.select(pl.col("agent_version"), _suite_of(df, suite).alias("suite"), pl.col("locale"),
                     conv_id.alias("conversation_id"),
                     pl.when(unknown).then(None).otherwise(pl.col("cost_usd").cast(pl.Float64).fill_null(0.0))
                     .alias("cost_usd"),
                     resolved.alias("resolved"), err.alias("errored"),
                     unknown.cast(pl.UInt32).alias("cost_unknown_turns"))


def _pct(expr_col: str, q: float) -> pl.Expr:
    return pl.col(expr_col).quantile(q, interpolation="linear")


def latency_table(turns: pl.DataFrame) -> pl.DataFrame:
    """p50/p95/p99 per agent overall, per locale and per suite (``dimension``/``group`` columns)."""
    if turns.is_empty():
        return pl.DataFrame(schema={"agent_version": pl.String, "dimension": pl.String, "group": pl.String,
                                    "turns": pl.UInt32, "p50_ms": pl.Float64, "p95_ms": pl.Float64,
                                    "p99_ms": pl.Float64, "mean_ms": pl.Float64})
    aggs = [pl.len().alias("turns"), _pct("latency_ms", 0.50).alias("p50_ms"), _pct("latency_ms", 0.95).alias("p95_ms"),
            _pct("latency_ms", 0.99).alias("p99_ms"), pl.col("latency_ms").mean().alias("mean_ms")]
    parts = [
        turns.group_by("agent_version").agg(aggs).with_columns(pl.lit("overall").alias("dimension"),
                                                                pl.lit("all").alias("group")),
        turns.group_by("agent_version", "locale").agg(aggs).with_columns(pl.lit("locale").alias("dimension"))
        .rename({"locale": "group"}),
        turns.group_by("agent_version", "suite").agg(aggs).with_columns(pl.lit("suite").alias("dimension"))
        .rename({"suite": "group"}),
    ]
    cols = ["agent_version", "dimension", "group", "turns", "p50_ms", "p95_ms", "p99_ms", "mean_ms"]
    return (pl.concat([p.select(cols) for p in parts], how="vertical_relaxed")
            .with_columns(pl.col("turns").cast(pl.UInt32))
            .sort("agent_version", "dimension", "group"))


def cost_table(convs: pl.DataFrame) -> pl.DataFrame:
    """Per agent and suite: conversations, resolved, total cost, cost per resolution
    (= total cost / resolved conversations; null when nothing was resolved or when any
    conversation's cost is unknown — ``cost_unknown_conversations`` counts those; the total is
    then over the known ones only)."""
    if convs.is_empty():
        return pl.DataFrame(schema={"agent_version": pl.String, "suite": pl.String, "conversations": pl.UInt32,
                                    "resolved": pl.UInt32, "total_cost_usd": pl.Float64,
                                    "cost_per_resolution_usd": pl.Float64, "resolution_rate": pl.Float64,
                                    "cost_unknown_conversations": pl.UInt32})
    return (convs.group_by("agent_version", "suite")
            .agg(pl.len().cast(pl.UInt32).alias("conversations"),
                 pl.col("resolved").sum().cast(pl.UInt32).alias("resolved"),
                 pl.col("cost_usd").sum().alias("total_cost_usd"),
                 pl.col("cost_usd").is_null().sum().cast(pl.UInt32).alias("cost_unknown_conversations"))
            .with_columns((pl.col("total_cost_usd") / pl.col("resolved").cast(pl.Float64)).alias("cost_per_resolution_usd"),
                          (pl.col("resolved") / pl.col("conversations")).alias("resolution_rate"))
            .with_columns(pl.when((pl.col("resolved") > 0) & (pl.col("cost_unknown_conversations") == 0))
                          .then(pl.col("cost_per_resolution_usd")).otherwise(None)
                          .alias("cost_per_resolution_usd"))
            .sort("agent_version", "suite"))


def latency_cost_summary(replayed_df: pl.DataFrame, *, golden: pl.DataFrame | None = None,
                         scenarios: pl.DataFrame | None = None) -> dict[str, pl.DataFrame]:
    """``{"latency": latency_table, "cost": cost_table, "turns": per-turn rows}`` over replayed
    traffic (suite ``replay``) plus, optionally, golden and scenario results."""
    frames_t, frames_c = [turns_frame(replayed_df, "replay")], [conversations_frame(replayed_df, "replay")]
    if golden is not None and not golden.is_empty():
        frames_t.append(turns_frame(golden, "golden"))
        frames_c.append(conversations_frame(golden, "golden"))
    if scenarios is not None and not scenarios.is_empty():
        frames_t.append(turns_frame(scenarios, "scenarios"))
        frames_c.append(conversations_frame(scenarios, "scenarios"))
    turns = pl.concat([f for f in frames_t if not f.is_empty()] or [pl.DataFrame(schema=TURN_SCHEMA)],
                      how="vertical_relaxed")
    convs = pl.concat([f for f in frames_c if not f.is_empty()] or [pl.DataFrame(schema=CONV_SCHEMA)],
                      how="vertical_relaxed")
    return {"latency": latency_table(turns), "cost": cost_table(convs), "turns": turns}
