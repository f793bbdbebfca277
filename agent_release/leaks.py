"""Leak detection against the generator's PII ground truth (used by checks, tests, benchmarks).

Results name conversation, message and entity type — never the leaked value itself.
"""

from __future__ import annotations

import polars as pl

_META = set("\\.+*?()|[]{}^$#&-~")


def word_pattern(value: str) -> str:
    """A regex (Rust syntax, for polars) that matches ``value`` literally, case-insensitively,
    as a whole token: "Earl" does not match inside "earlier"."""
    body = "".join("\\" + c if c in _META else c for c in value)
    lead = r"\b" if value[:1].isalnum() else ""
    trail = r"\b" if value[-1:].isalnum() else ""
    return f"(?i){lead}{body}{trail}"


def conversation_text(df: pl.DataFrame) -> pl.DataFrame:
    """One row per conversation: conversation_id and a lower-cased blob of everything stored
    about it (message contents, message and record extras, user id)."""
    msgs = (
        df.select("conversation_id", "messages")
        .explode("messages")
        .unnest("messages")
        .group_by("conversation_id")
        .agg(
            pl.concat_str([pl.col("content"), pl.col("extra_json").fill_null("")], separator="\n")
            .str.join("\n")
            .alias("msg_blob")
        )
    )
    top = df.select(
        "conversation_id",
        pl.concat_str(
            [pl.col("user_id").fill_null(""), pl.col("extra_json").fill_null("")], separator="\n"
        ).alias("top_blob"),
    )
    return top.join(msgs, on="conversation_id", how="left").select(
        "conversation_id",
        pl.concat_str([pl.col("top_blob"), pl.col("msg_blob").fill_null("")], separator="\n")
        .str.to_lowercase()
        .alias("blob"),
    )


def _blank_surrogates(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` with the text of every surrogate span (``masked_spans``) blanked out."""
    rows = []
    for r in df.iter_rows(named=True):
        msgs = [dict(m) for m in r["messages"] or []]
        for sp in sorted(r.get("masked_spans") or [], key=lambda x: -x["start"]):
            i = sp["message_index"]
            if 0 <= i < len(msgs) and msgs[i].get("content"):
                c = msgs[i]["content"]
                msgs[i]["content"] = c[:sp["start"]] + " " * (sp["end"] - sp["start"]) + c[sp["end"]:]
        rows.append({**r, "messages": msgs})
    return pl.DataFrame(rows, schema=df.schema)


def ground_truth_leaks(masked: pl.DataFrame, truth: pl.DataFrame, raw: pl.DataFrame | None = None, *,
                       inside_fakes: bool = False) -> pl.DataFrame:
    """Truth values (and raw user ids) that still appear, case-insensitively and as whole tokens,
    in their masked conversation. Returns conversation_id, message_index, entity_type — no values.

    A value found only inside a fake the masker wrote (``masked_spans``) is a coincidence of the
    fake pools, not a leak — a real first name "Thibault" inside the fake street "boulevard
    Thibault Jacob" says nothing about the customer — and is left out unless ``inside_fakes``."""
    found = _matches(masked, truth, raw)
    if inside_fakes or found.is_empty() or "masked_spans" not in masked.columns:
        return found
    flagged = masked.filter(pl.col("conversation_id").is_in(found["conversation_id"].unique().implode()))
    ids = found.select("conversation_id").unique()
    return _matches(_blank_surrogates(flagged), truth.join(ids, on="conversation_id"),
                    raw.join(ids, on="conversation_id") if raw is not None else None)


def _matches(masked: pl.DataFrame, truth: pl.DataFrame, raw: pl.DataFrame | None) -> pl.DataFrame:
    blobs = conversation_text(masked)
    checks = truth.select(
        "conversation_id",
        pl.col("message_index").cast(pl.Int64),
        "entity_type",
        pl.col("value").map_elements(word_pattern, return_dtype=pl.String).alias("needle"),
    )
    if raw is not None:
        ids = raw.select(
            "conversation_id",
            pl.lit(None, pl.Int64).alias("message_index"),
            pl.lit("USER_ID").alias("entity_type"),
            pl.col("user_id").map_elements(word_pattern, return_dtype=pl.String).alias("needle"),
        )
        checks = pl.concat([checks, ids])
    joined = checks.join(blobs, on="conversation_id", how="left")
    found = joined.filter(pl.col("blob").fill_null("").str.contains(pl.col("needle")))
    return found.select("conversation_id", "message_index", "entity_type")
