"""Realistic defects in exported log files, injected into the synthetic default so the quarantine
path is exercised on every run: truncated writes, encoding damage, re-sent (duplicate) records,
schema drift (wrong types, unknown roles, empty conversations). Deterministic by seed.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

KINDS = ("truncated", "invalid_utf8", "duplicate", "wrong_type", "unknown_role", "empty_messages", "missing_field")


def _mutate(kind: str, line: bytes, rng: random.Random) -> list[bytes]:
    if kind == "truncated":
        return [line[: max(1, int(len(line) * rng.uniform(0.2, 0.9)))]]
    if kind == "invalid_utf8":
        cut = rng.randrange(1, max(2, len(line) - 1))
        return [line[:cut] + b"\xff\xfe" + line[cut:]]
    if kind == "duplicate":
        return [line, line]
    obj = json.loads(line)
    if kind == "wrong_type":
        obj["csat"] = "five"
    elif kind == "unknown_role":
        obj["messages"][0]["role"] = "customer"
    elif kind == "empty_messages":
        obj["messages"] = []
    elif kind == "missing_field":
        obj.pop("agent_version", None)
    return [json.dumps(obj, ensure_ascii=False).encode()]


def inject_faults(files: list[Path], rate: float, seed: int) -> Counter:
    """Damage about ``rate`` of the records in ``files`` in place; returns counts by kind.

    A duplicate adds a line (the record is re-sent); every other defect replaces the record,
    so rows in = records generated + duplicates, and each damaged record is quarantined."""
    rng = random.Random(f"faults:{seed}")
    counts: Counter = Counter()
    for f in sorted(files):
        out: list[bytes] = []
        for line in f.read_bytes().splitlines():
            if line.strip() and rng.random() < rate:
                kind = rng.choice(KINDS)
                counts[kind] += 1
                out.extend(_mutate(kind, line, rng))
            else:
                out.append(line)
        tmp = f.with_suffix(f.suffix + ".tmp")
        tmp.write_bytes(b"\n".join(out) + b"\n")
        tmp.replace(f)
    return counts
