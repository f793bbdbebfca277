"""DuckDB helpers shared by the monitoring modules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import polars as pl


def q(con: duckdb.DuckDBPyConnection, query: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
    """Run a query and return a polars frame (across DuckDB versions)."""
    return con.sql(query, params=list(params) if params else None).pl()
