"""Intake of conversation logs from files: JSONL, Parquet, or a folder of them.

Every record read is either a valid, normalised row or a quarantine row with the reason and
source location — never dropped, never fatal for the batch. ``rows_in == rows_out + quarantined``
holds by construction and is checked again by an asset check.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from agent_release import contract
from agent_release.contract import ContractError, Violation

SUFFIXES = (".jsonl", ".json", ".ndjson", ".jsonl.gz", ".parquet")


@dataclass
class RawItem:
    source: str
    row: int
    payload: bytes | dict | None  # bytes for JSONL lines, dict for Parquet rows
    error: Violation | None = None


@dataclass
class IntakeResult:
    valid: pl.DataFrame
    quarantine: pl.DataFrame
    #: raw payloads of quarantined records (restricted raw zone only: may contain PII)
    quarantine_payloads: list[dict] = field(default_factory=list)
    rows_in: int = 0
    files: list[str] = field(default_factory=list)

    @property
    def rows_out(self) -> int:
        return self.valid.height

    @property
    def rows_quarantined(self) -> int:
        return self.quarantine.height


def discover(source: str | Path) -> list[Path]:
    """Files to read for a source: one file, or every supported file under a folder (sorted)."""
    p = Path(source)
    if p.is_file():
        return [p]
    if p.is_dir():
        return sorted(
            f for f in p.rglob("*")
            if f.is_file() and not f.name.startswith(".") and f.name.endswith(SUFFIXES)
        )
    raise FileNotFoundError(f"log source not found: {p}")


def _rel(path: Path, base: Path | None) -> str:
    try:
        return str(path.relative_to(base)) if base else str(path)
    except ValueError:
        return str(path)


def iter_items(path: Path, *, label: str | None = None) -> Iterator[RawItem]:
    label = label or str(path)
    if path.name.endswith(".parquet"):
        try:
            pf = pq.ParquetFile(path)
        except Exception as exc:  # unreadable file: one quarantine row for the file
            yield RawItem(label, 0, None, Violation("unreadable_file", f"Parquet file unreadable: {type(exc).__name__}"))
            return
        row = 0
        for batch in pf.iter_batches(batch_size=4096):
            for rec in batch.to_pylist():
                yield RawItem(label, row, rec)
                row += 1
        return
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue  # blank lines are not records
            yield RawItem(label, lineno, line.rstrip(b"\r\n"))


def _decode(item: RawItem) -> object:
    if isinstance(item.payload, dict):
        return item.payload
    try:
        text = item.payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContractError(Violation("invalid_utf8", f"line is not valid UTF-8 (byte offset {exc.start})")) from None
    if len(item.payload) > contract.MAX_RECORD_BYTES:
        raise ContractError(Violation("oversize", f"record larger than {contract.MAX_RECORD_BYTES} bytes"))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContractError(Violation("invalid_json", f"invalid JSON at column {exc.colno}: {exc.msg}")) from None
    except RecursionError:
        raise ContractError(Violation("invalid_json", "JSON nested too deeply")) from None


def _peek_id(obj: object) -> str | None:
    if isinstance(obj, dict):
        cid = obj.get("conversation_id")
        if isinstance(cid, str) and len(cid) <= contract.MAX_ID_CHARS:
            return cid
    return None


def _payload_for_raw_zone(item: RawItem) -> str:
    if isinstance(item.payload, dict):
        return json.dumps(item.payload, ensure_ascii=False, default=str)
    if item.payload is None:
        return ""
    return item.payload.decode("utf-8", errors="backslashreplace")


def read_source(
    source: str | Path,
    *,
    max_content_chars: int = contract.MAX_CONTENT_CHARS,
    seen_ids: set[str] | None = None,
) -> IntakeResult:
    """Read and validate every record under ``source``.

    Duplicate ``conversation_id``s: the first occurrence (in file order, files sorted) is kept,
    later ones are quarantined as ``duplicate_id``. ``seen_ids`` lets callers extend the
    uniqueness check across batches.
    """
    base = Path(source) if Path(source).is_dir() else Path(source).parent
    files = discover(source)
    seen: set[str] = set() if seen_ids is None else seen_ids
    good: list[dict] = []
    bad: list[dict] = []
    payloads: list[dict] = []
    now = datetime.now(UTC)
    rows_in = 0
    for f in files:
        label = _rel(f, base)
        for item in iter_items(f, label=label):
            rows_in += 1
            obj = None
            try:
                if item.error:
                    raise ContractError(item.error)
                obj = _decode(item)
                rec = contract.normalise(obj, max_content_chars=max_content_chars)
                if rec["conversation_id"] in seen:
                    raise ContractError(Violation("duplicate_id", "conversation_id already seen earlier in the batch"))
                seen.add(rec["conversation_id"])
                rec["source"] = item.source
                rec["source_row"] = item.row
                good.append(rec)
            except ContractError as exc:
                v = exc.violation
                bad.append(
                    {
                        "source": item.source,
                        "source_row": item.row,
                        "conversation_id": _peek_id(obj),
                        "reason_code": v.code,
                        "reason": v.reason,
                        "quarantined_at": now,
                    }
                )
                payloads.append(
                    {"source": item.source, "source_row": item.row, "payload": _payload_for_raw_zone(item)}
                )
    quarantine = (
        pl.DataFrame(bad, schema=contract.QUARANTINE_SCHEMA) if bad else contract.empty_quarantine()
    )
    return IntakeResult(
        valid=contract.to_frame(good),
        quarantine=quarantine,
        quarantine_payloads=payloads,
        rows_in=rows_in,
        files=[_rel(f, base) for f in files],
    )
