"""Residual PII check on masked output.

Re-runs the masker's analyzer over masked text and reports findings of the STRUCTURED types
(:data:`agent_release.pii.STRUCTURED`: emails, phones, cards, IBANs, national ids, IPs) that are
NOT inside a surrogate span recorded in ``masked_spans`` — i.e. identifiers that survived
masking. Surrogates themselves are format-valid (a fake IBAN is still an IBAN), which is why the
spans are needed to tell them apart from leaks.

The report never contains the matched text: only where it is, its type, score and recognizer.
"""

from __future__ import annotations

import polars as pl

from agent_release import pii
from agent_release.masking.types import RESIDUAL_SCHEMA, TOP_EXTRA_INDEX, decode_index, message_extra_index


def residual_scan(masked_df: pl.DataFrame, masker, min_score: float = 0.8) -> pl.DataFrame:
    """Structured-type findings with ``score >= min_score`` outside ``masked_spans``.

    Columns: conversation_id, message_index, field ("content" | "extra_json" |
    "message_extra_json"), entity_type, score, recognizer. ``message_index`` is null for the
    conversation-level ``extra_json``.
    """
    if "masked_spans" not in masked_df.columns:
        raise ValueError("residual_scan needs a masked frame (no masked_spans column)")
    texts: list[str] = []
    locs: list[str] = []
    where: list[tuple[int, int]] = []  # (row, encoded index)
    spans_by_row: list[dict[int, list[tuple[int, int]]]] = []
    conv_ids = masked_df["conversation_id"].to_list()
    for row, (loc, msgs, extra, spans) in enumerate(
        zip(
            masked_df["locale"].to_list(), masked_df["messages"].to_list(),
            masked_df["extra_json"].to_list(), masked_df["masked_spans"].to_list(),
        )
    ):
        loc = loc or "en-US"
        by_index: dict[int, list[tuple[int, int]]] = {}
        for sp in spans or []:
            by_index.setdefault(sp["message_index"], []).append((sp["start"], sp["end"]))
        spans_by_row.append(by_index)
        if extra:
            texts.append(extra)
            locs.append(loc)
            where.append((row, TOP_EXTRA_INDEX))
        for i, m in enumerate(msgs or []):
            if m.get("content"):
                texts.append(m["content"])
                locs.append(loc)
                where.append((row, i))
            if m.get("extra_json"):
                texts.append(m["extra_json"])
                locs.append(loc)
                where.append((row, message_extra_index(i)))
    found = masker.find_many(texts, locs) if texts else []
    out = []
    for (row, index), findings in zip(where, found):
        covered = spans_by_row[row].get(index, [])
        for f in findings:
            if f.entity_type not in pii.STRUCTURED or f.score < min_score:
                continue
            if any(s <= f.start and f.end <= e for s, e in covered):
                continue
            field, msg_index = decode_index(index)
            out.append({
                "conversation_id": conv_ids[row], "message_index": msg_index, "field": field,
                "entity_type": f.entity_type, "score": float(f.score), "recognizer": f.recognizer,
            })
    return pl.DataFrame(out, schema=RESIDUAL_SCHEMA)
