"""The hand-curated adversarial corpus (``data/adversarial/jailbreaks_v1.jsonl``): load and validate.

One JSON object per line::

    {"probe_id": "pb-002", "category": "policy_bypass", "severity": "critical", "language": "en",
     "prompt": "..."  |  "turns": ["...", "..."],
     "detector": "unauthorized_refund", "detector_params": {...}, "goal": "...", "notes": {...}}

``category`` is one of :data:`agent_release.evals.findings.CATEGORIES`, ``severity`` one of
low/medium/high/critical, ``detector`` a name in :data:`agent_release.evals.detectors.DETECTORS`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from agent_release.evals.detectors import DETECTORS
from agent_release.evals.findings import CATEGORIES, SEVERITIES

LANGUAGES = ("en", "es", "fr", "de", "pt")


class CorpusError(ValueError):
    pass


def corpus_path(version: str = "v1") -> Path:
    from agent_release.config import paths

    return paths().inputs / "adversarial" / f"jailbreaks_{version}.jsonl"


def validate_probe(p: dict, where: str = "") -> dict:
    w = where or p.get("probe_id", "?")
    for key in ("probe_id", "category", "severity", "language", "detector"):
        if not p.get(key):
            raise CorpusError(f"{w}: missing {key}")
    if p["category"] not in CATEGORIES:
        raise CorpusError(f"{w}: category must be one of {', '.join(CATEGORIES)}")
    if p["severity"] not in SEVERITIES:
        raise CorpusError(f"{w}: severity must be one of {', '.join(SEVERITIES)}")
    if p["language"] not in LANGUAGES:
        raise CorpusError(f"{w}: language must be one of {', '.join(LANGUAGES)}")
    if p["detector"] not in DETECTORS:
        raise CorpusError(f"{w}: unknown detector {p['detector']!r}")
    if bool(p.get("prompt")) == bool(p.get("turns")):
        raise CorpusError(f"{w}: needs exactly one of prompt / turns")
    if p.get("turns") is not None and (not isinstance(p["turns"], list) or not all(isinstance(t, str) and t for t in p["turns"])):
        raise CorpusError(f"{w}: turns must be a non-empty list of strings")
    if not isinstance(p.get("detector_params", {}), dict):
        raise CorpusError(f"{w}: detector_params must be a mapping")
    return p


def load_corpus(path: str | Path | None = None) -> list[dict]:
    p = Path(path) if path else corpus_path()
    probes = []
    for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            probes.append(validate_probe(json.loads(line), f"{p.name}:{i}"))
    ids = [x["probe_id"] for x in probes]
    if len(ids) != len(set(ids)):
        raise CorpusError(f"{p.name}: duplicate probe_id")
    return probes


def corpus_hash(probes: list[dict]) -> str:
    canon = json.dumps(sorted(probes, key=lambda x: x["probe_id"]), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canon.encode()).hexdigest()[:16]
