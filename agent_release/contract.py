"""The conversation-log contract (v1): validation, normalisation and the columnar schema.

One shape for raw production logs, masked logs, replayed conversations and live traffic
(see ``shared/contracts/conversation-log.md``). ``validate_record`` returns either a normalised
record or a :class:`Violation` whose message never quotes field *values* (they may be PII) —
only field names, types and positions.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

CONTRACT_VERSION = "v1"
ROLES = ("user", "assistant", "tool", "system")
CHANNELS = ("chat", "email", "voice")
OUTCOMES = ("resolved", "escalated", "abandoned")
THUMBS = ("up", "down")
TOP_LEVEL = (
    "conversation_id", "user_id", "started_at", "locale", "channel", "agent_version", "model",
    "messages", "outcome", "csat", "thumb",
)
REQUIRED = ("conversation_id", "user_id", "started_at", "locale", "agent_version", "messages")
MESSAGE_FIELDS = (
    "role", "content", "ts", "latency_ms", "input_tokens", "output_tokens", "cost_usd", "action",
    "error",
)

#: Limits beyond which a record is quarantined as oversize (configurable per call).
MAX_CONTENT_CHARS = 20_000
MAX_MESSAGES = 500
MAX_RECORD_BYTES = 1_000_000
MAX_ID_CHARS = 200

_BCP47 = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?(-[A-Za-z0-9]{5,8})*$")
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)

MESSAGE_DTYPE = pl.Struct(
    {
        "role": pl.String,
        "content": pl.String,
        "ts": pl.Datetime("us", "UTC"),
        "latency_ms": pl.Float64,
        "input_tokens": pl.Int64,
        "output_tokens": pl.Int64,
        "cost_usd": pl.Float64,
        "action": pl.String,
        "error": pl.String,
        "extra_json": pl.String,
    }
)

#: Columnar schema of a conversation table (Parquet / DuckDB). ``extra_json`` keeps unknown
#: fields; ``source`` / ``source_row`` say where the record came from.
SCHEMA: dict[str, pl.DataType] = {
    "conversation_id": pl.String,
    "user_id": pl.String,
    "started_at": pl.Datetime("us", "UTC"),
    "locale": pl.String,
    "channel": pl.String,
    "agent_version": pl.String,
    "model": pl.String,
    "messages": pl.List(MESSAGE_DTYPE),
    "outcome": pl.String,
    "csat": pl.Int64,
    "thumb": pl.String,
    "extra_json": pl.String,
    "source": pl.String,
    "source_row": pl.Int64,
}

QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String,
    "source_row": pl.Int64,
    "conversation_id": pl.String,
    "reason_code": pl.String,
    "reason": pl.String,
    "quarantined_at": pl.Datetime("us", "UTC"),
}


@dataclass(frozen=True)
class Violation:
    code: str  # machine-readable: invalid_json, missing_field, wrong_type, ...
    reason: str  # human-readable, never contains field values


class ContractError(ValueError):
    def __init__(self, violation: Violation):
        super().__init__(violation.reason)
        self.violation = violation


def parse_ts(value: Any, field: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        raise ContractError(Violation("wrong_type", f"{field}: expected RFC 3339 string, got {_tn(value)}"))
    if not _RFC3339.match(value):
        raise ContractError(Violation("invalid_timestamp", f"{field}: not an RFC 3339 timestamp"))
    s = value.replace("z", "Z").replace("Z", "+00:00")
    if " " in s[:11]:
        s = s.replace(" ", "T", 1)
    # Python <3.11 can't parse >6 fractional digits; trim nanoseconds.
    s = re.sub(r"(\.\d{6})\d+", r"\1", s)
    try:
        return datetime.fromisoformat(s).astimezone(UTC)
    except ValueError:
        raise ContractError(Violation("invalid_timestamp", f"{field}: not a valid date/time")) from None


def _tn(v: Any) -> str:
    return "null" if v is None else type(v).__name__


def _num(m: dict, key: str, where: str, *, integer: bool) -> float | int | None:
    v = m.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ContractError(Violation("wrong_type", f"{where}.{key}: expected number, got {_tn(v)}"))
    if isinstance(v, float) and not math.isfinite(v):
        raise ContractError(Violation("wrong_value", f"{where}.{key}: not a finite number"))
    if v < 0:
        raise ContractError(Violation("wrong_value", f"{where}.{key}: must be >= 0"))
    if integer:
        if isinstance(v, float) and not v.is_integer():
            raise ContractError(Violation("wrong_type", f"{where}.{key}: expected integer"))
        return int(v)
    return float(v)


def _opt_str(d: dict, key: str, where: str) -> str | None:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise ContractError(Violation("wrong_type", f"{where}{key}: expected string, got {_tn(v)}"))
    return v


def _extra(d: dict, known: tuple[str, ...]) -> str | None:
    extra = {k: v for k, v in d.items() if k not in known}
    if not extra:
        return None
    return json.dumps(extra, ensure_ascii=False, sort_keys=True, default=str)


def normalise(obj: Any, *, max_content_chars: int = MAX_CONTENT_CHARS) -> dict:
    """Validate one decoded record; return the normalised row or raise :class:`ContractError`."""
    if not isinstance(obj, dict):
        raise ContractError(Violation("not_an_object", f"record is a JSON {_tn(obj)}, not an object"))
    for f in REQUIRED:
        if f not in obj or obj[f] is None:
            raise ContractError(Violation("missing_field", f"required field '{f}' is missing"))
    for f in ("conversation_id", "user_id", "locale", "agent_version"):
        if not isinstance(obj[f], str):
            raise ContractError(Violation("wrong_type", f"{f}: expected string, got {_tn(obj[f])}"))
        if not obj[f].strip():
            raise ContractError(Violation("wrong_value", f"{f}: must not be empty"))
        if len(obj[f]) > MAX_ID_CHARS:
            raise ContractError(Violation("oversize", f"{f}: longer than {MAX_ID_CHARS} characters"))
    if not _BCP47.match(obj["locale"]):
        raise ContractError(Violation("invalid_locale", "locale: not a BCP 47 language tag"))
    started = parse_ts(obj["started_at"], "started_at")
    channel = _opt_str(obj, "channel", "")
    if channel is not None and channel not in CHANNELS:
        raise ContractError(Violation("wrong_value", f"channel: must be one of {', '.join(CHANNELS)}"))
    model = _opt_str(obj, "model", "")
    outcome = _opt_str(obj, "outcome", "")
    if outcome is not None and outcome not in OUTCOMES:
        raise ContractError(Violation("wrong_value", f"outcome: must be one of {', '.join(OUTCOMES)} or null"))
    csat = obj.get("csat")
    if csat is not None:
        if isinstance(csat, bool) or not isinstance(csat, int):
            if isinstance(csat, float) and csat.is_integer():
                csat = int(csat)
            else:
                raise ContractError(Violation("wrong_type", f"csat: expected integer 1-5, got {_tn(csat)}"))
        if not 1 <= csat <= 5:
            raise ContractError(Violation("wrong_value", "csat: must be between 1 and 5"))
    thumb = _opt_str(obj, "thumb", "")
    if thumb is not None and thumb not in THUMBS:
        raise ContractError(Violation("wrong_value", "thumb: must be 'up', 'down' or null"))

    msgs = obj["messages"]
    if not isinstance(msgs, list):
        raise ContractError(Violation("wrong_type", f"messages: expected list, got {_tn(msgs)}"))
    if not msgs:
        raise ContractError(Violation("empty_messages", "messages: must contain at least one message"))
    if len(msgs) > MAX_MESSAGES:
        raise ContractError(Violation("oversize", f"messages: more than {MAX_MESSAGES} messages"))
    out_msgs = []
    for i, m in enumerate(msgs):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise ContractError(Violation("wrong_type", f"{where}: expected object, got {_tn(m)}"))
        role = m.get("role")
        if role is None:
            raise ContractError(Violation("missing_field", f"{where}.role is missing"))
        if role not in ROLES:
            raise ContractError(Violation("unknown_role", f"{where}.role: must be one of {', '.join(ROLES)}"))
        content = m.get("content")
        if content is None:
            raise ContractError(Violation("missing_field", f"{where}.content is missing"))
        if not isinstance(content, str):
            raise ContractError(Violation("wrong_type", f"{where}.content: expected string, got {_tn(content)}"))
        if len(content) > max_content_chars:
            raise ContractError(
                Violation("oversize", f"{where}.content: longer than {max_content_chars} characters")
            )
        if "\x00" in content:
            raise ContractError(Violation("invalid_text", f"{where}.content: contains NUL characters"))
        ts = parse_ts(m["ts"], f"{where}.ts") if m.get("ts") is not None else None
        out_msgs.append(
            {
                "role": role,
                "content": content,
                "ts": ts,
                "latency_ms": _num(m, "latency_ms", where, integer=False),
                "input_tokens": _num(m, "input_tokens", where, integer=True),
                "output_tokens": _num(m, "output_tokens", where, integer=True),
                "cost_usd": _num(m, "cost_usd", where, integer=False),
                "action": _opt_str(m, "action", where + "."),
                "error": _opt_str(m, "error", where + "."),
                "extra_json": _extra(m, MESSAGE_FIELDS),
            }
        )
    return {
        "conversation_id": obj["conversation_id"],
        "user_id": obj["user_id"],
        "started_at": started,
        "locale": obj["locale"],
        "channel": channel,
        "agent_version": obj["agent_version"],
        "model": model,
        "messages": out_msgs,
        "outcome": outcome,
        "csat": csat,
        "thumb": thumb,
        "extra_json": _extra(obj, TOP_LEVEL),
    }


def to_frame(rows: list[dict]) -> pl.DataFrame:
    """Rows (normalised records, with source/source_row) → a DataFrame in the contract schema."""
    return pl.DataFrame(rows, schema=SCHEMA, strict=False) if rows else pl.DataFrame(schema=SCHEMA)


def empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


def to_records(df: pl.DataFrame) -> list[dict]:
    """DataFrame in the contract schema → JSON-ready contract records (extras re-inflated)."""
    out = []
    for row in df.iter_rows(named=True):
        rec = {k: row.get(k) for k in TOP_LEVEL}
        rec["started_at"] = _iso(row["started_at"])
        msgs = []
        for m in row["messages"]:
            mm = {k: m.get(k) for k in MESSAGE_FIELDS}
            mm["ts"] = _iso(mm["ts"]) if mm["ts"] else None
            mm = {k: v for k, v in mm.items() if v is not None or k in ("role", "content")}
            if m.get("extra_json"):
                mm.update(json.loads(m["extra_json"]))
            msgs.append(mm)
        rec["messages"] = msgs
        if row.get("extra_json"):
            rec.update(json.loads(row["extra_json"]))
        out.append(rec)
    return out


def _iso(ts: datetime | None) -> str | None:
    if ts is None:
        return None
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{ts.microsecond:06d}Z" if ts.microsecond else "Z"
    )
