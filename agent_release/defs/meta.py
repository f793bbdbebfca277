"""Helpers for metadata a person can read in the Dagster UI (Markdown tables, previews)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import polars as pl


def _cell(v: object, width: int) -> str:
    s = "" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))
    s = s.replace("|", "\\|").replace("\n", " ")
    return s if len(s) <= width else s[: width - 1] + "…"


def md_table(df: pl.DataFrame, *, max_rows: int = 20, width: int = 80) -> str:
    if df.height == 0:
        return "_(no rows)_"
    cols = df.columns
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.head(max_rows).iter_rows():
        lines.append("| " + " | ".join(_cell(v, width) for v in row) + " |")
    if df.height > max_rows:
        lines.append(f"\n_{df.height - max_rows} more rows_")
    return "\n".join(lines)


def md_rows(header: Sequence[str], rows: Iterable[Sequence[object]], width: int = 80) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        lines.append("| " + " | ".join(_cell(v, width) for v in r) + " |")
    return "\n".join(lines)


def json_flat(row: dict) -> dict:
    """A DuckDB-friendly row: nested values (lists, dicts, tuples) become JSON strings."""
    import json

    return {k: (json.dumps(v, default=str, sort_keys=True) if isinstance(v, (dict, list, tuple)) else v)
            for k, v in row.items()}
