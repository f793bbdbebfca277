"""The golden set: loading, per-case scoring, proposing new cases from traffic, blessing baselines.

A golden case (``data/golden/golden_v1.jsonl``, one JSON object per line)::

    {"case_id": "g1-refund-es-MX-003", "golden_version": "v1", "status": "blessed",
     "locale": "es-MX", "language": "es", "intent": "refund", "persona": "angry", "difficulty": "medium",
     "messages": [{"role": "user", "content": "..."}, ...],      # contract-style input conversation
     "reference": "...",                                           # a known-good final answer
     "expected_action": "start_refund",                            # tool action of the final turn (null = none)
     "facts": [{"name": "refund_window_days", "any_of": ["30"]}],  # each must appear (any alternative)
     "must_not_contain": ["..."],
     "tags": {"intent": ..., "locale": ..., "persona": ..., "difficulty": ..., "multi_turn": false}}

Scoring (:func:`score_golden_case`), per case:

* ``action_ok`` — the reply's action equals ``expected_action`` (``null`` expects no tool action;
  ``"none"``/``""`` on the reply count as no action);
* ``facts_ok`` — every fact is present: one of its ``any_of`` strings occurs in the reply,
  compared case- and accent-insensitively (so "30 días" matches "30 dias");
* ``forbidden_ok`` — none of ``must_not_contain`` occurs (same comparison);
* ``language_ok`` — the reply is in the locale's language (:mod:`agent_release.evals.lang`);
* ``similarity`` — **character-3-gram cosine** between the reply and the reference (accent-folded,
  lower-cased, whitespace collapsed). Chosen over token Jaccard because it is robust to
  inflection ("reembolso"/"reembolsos", "Bestellung"/"Bestellungen") across the five languages;
  ``token_jaccard`` (token-set Jaccard) is reported too. Similarity is informational: it is
  **not** part of ``passed`` (two correct answers can be worded very differently);
* ``passed = action_ok and facts_ok and forbidden_ok and language_ok`` and no agent error.
  An agent error counts as a fail for golden accuracy and is also counted separately
  (``error`` column) so an outage is visible as such.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from agent_release.evals.detectors import fold
from agent_release.evals.lang import answered_in_language, detect_language, locale_language

INTENTS = ("order_status", "refund", "cancellation", "password_reset", "billing_dispute",
           "address_change", "complaint_escalation", "product_question")
LOCALES = ("en-US", "en-GB", "es-ES", "es-MX", "fr-FR", "de-DE", "pt-BR")
NO_ACTION = (None, "", "none", "null", "answer", "reply")


def golden_dir() -> Path:
    from agent_release.config import paths

    return paths().inputs / "golden"


def load_golden(path: str | Path | None = None, *, include_proposed: bool = False) -> list[dict]:
    """Load a golden JSONL file (default: the newest ``golden_v*.jsonl``). Draft cases
    (``status: proposed``) are skipped unless ``include_proposed``."""
    if path is None:
        files = sorted(golden_dir().glob("golden_v*.jsonl"), key=lambda p: int(re.sub(r"\D", "", p.stem) or 0))
        if not files:
            raise FileNotFoundError(f"no golden_v*.jsonl in {golden_dir()}")
        path = files[-1]
    cases = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    return [c for c in cases if include_proposed or c.get("status", "blessed") != "proposed"]


def golden_version_hash(cases: list[dict]) -> str:
    canon = json.dumps(sorted(cases, key=lambda c: c["case_id"]), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- template clusters
_CASE_ID = re.compile(r"^g\d+-(?P<intent>[a-z_]+)-(?P<locale>[a-z]{2}-[A-Z]{2})-\d+$")


def template_cluster(case_id: str | None = None, intent: str | None = None, locale: str | None = None,
                     template_id: str | None = None) -> str:
    """The template cluster of a golden case, for cluster-robust statistics on the golden set.

    Cases are built from the KB's reply template of their intent in their reply language
    (``kb.yaml`` ``intents.<intent>.reply.<lang>``, and the intent's follow-up template for
    three-turn cases), so cases sharing ``(intent, language)`` share expected facts, forbidden
    strings and template — their pass/fail outcomes are correlated (en-US and en-GB share one
    template, as do es-ES and es-MX). The cluster is therefore ``"<intent>/<language>"`` (50
    clusters in golden_v1: 10 intents × 5 languages). It is at least as coarse as any finer
    template notion (the follow-up template, the (intent, locale) phrasing cell), and a
    cluster-robust variance stays valid with clusters coarser than the true correlation.
    An explicit ``template_id`` wins; otherwise ``intent``/``locale``, else parsed from the
    ``case_id`` (``g1-<intent>-<locale>-<nn>``); a case matching neither is its own cluster."""
    if template_id:
        return str(template_id)
    if not (intent and locale) and case_id:
        m = _CASE_ID.match(case_id)
        if m:
            intent, locale = intent or m["intent"], locale or m["locale"]
    if intent and locale:
        return f"{intent}/{locale_language(locale)}"
    return f"case/{case_id}"


def template_clusters(results: pl.DataFrame) -> pl.Series:
    """:func:`template_cluster` for every row of a golden results frame (``case_id`` and, when
    present, ``template_id`` / ``intent`` / ``locale``)."""
    cols = [c for c in ("case_id", "intent", "locale", "template_id") if c in results.columns]
    vals = [template_cluster(r.get("case_id"), r.get("intent"), r.get("locale"), r.get("template_id"))
            for r in results.select(cols).iter_rows(named=True)]
    return pl.Series("template_cluster", vals, dtype=pl.String)


# --------------------------------------------------------------------------- similarity
def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", fold(text or "")).strip()


def char_ngram_cosine(a: str, b: str, n: int = 3) -> float:
    """Cosine similarity of character n-gram count vectors (accent-folded, lower case)."""
    def grams(s: str) -> Counter:
        s = f" {_norm(s)} "
        return Counter(s[i:i + n] for i in range(max(0, len(s) - n + 1)))
    ga, gb = grams(a), grams(b)
    if not ga or not gb:
        return 0.0
    dot = sum(v * gb.get(k, 0) for k, v in ga.items())
    na = math.sqrt(sum(v * v for v in ga.values()))
    nb = math.sqrt(sum(v * v for v in gb.values()))
    return dot / (na * nb) if na and nb else 0.0


def token_jaccard(a: str, b: str) -> float:
    ta, tb = set(re.findall(r"\w+", _norm(a))), set(re.findall(r"\w+", _norm(b)))
    if not ta and not tb:
        return 1.0
    return len(ta & tb) / len(ta | tb)


# --------------------------------------------------------------------------- scoring
def _reply_field(reply: Any, name: str, default: Any = None) -> Any:
    if reply is None:
        return default
    if isinstance(reply, dict):
        return reply.get(name, default)
    return getattr(reply, name, default)


def fact_present(text: str, fact: dict | str | list) -> bool:
    alts = fact if isinstance(fact, list) else ([fact] if isinstance(fact, str) else fact.get("any_of", []))
    f = _norm(text)
    return any(_norm(a) in f for a in alts if a)


def action_matches(expected: str | None, actual: str | None) -> bool:
    if expected in NO_ACTION:
        return actual in NO_ACTION
    if isinstance(expected, list):
        return actual in expected
    return actual == expected


def score_golden_case(case: dict, reply: Any) -> dict:
    """Score one reply (an ``AgentReply`` or a dict with content/action/error) against a case."""
    content = _reply_field(reply, "content", "") or ""
    action = _reply_field(reply, "action")
    error = _reply_field(reply, "error")
    facts = case.get("facts") or []
    missing = [f.get("name", str(f)) if isinstance(f, dict) else str(f) for f in facts if not fact_present(content, f)]
    forbidden = [s for s in case.get("must_not_contain") or [] if s and _norm(s) in _norm(content)]
    lang_expected = case.get("language") or locale_language(case.get("locale", ""))
    action_ok = action_matches(case.get("expected_action"), action)
    language_ok = bool(content) and answered_in_language(content, lang_expected)
    facts_ok = not missing
    forbidden_ok = not forbidden
    passed = bool(action_ok and facts_ok and forbidden_ok and language_ok and not error)
    return {
        "case_id": case["case_id"],
        "passed": passed,
        "action_ok": action_ok,
        "facts_ok": facts_ok,
        "forbidden_ok": forbidden_ok,
        "language_ok": language_ok,
        "facts_missing": missing,
        "forbidden_found": len(forbidden),
        "expected_action": case.get("expected_action"),
        "action": action,
        "detected_language": detect_language(content),
        "similarity": round(char_ngram_cosine(content, case.get("reference", "")), 4),
        "token_jaccard": round(token_jaccard(content, case.get("reference", "")), 4),
        "error": error,
    }


def coverage(cases: list[dict]) -> pl.DataFrame:
    """Cases per intent × locale (0 where missing)."""
    counts = Counter((c["intent"], c["locale"]) for c in cases)
    return pl.DataFrame([{"intent": i, "locale": loc, "cases": counts.get((i, loc), 0)}
                         for i in INTENTS for loc in LOCALES])


# --------------------------------------------------------------------------- proposing cases
def _intent_of(conv: dict) -> str | None:
    for key in ("intent",):
        if conv.get(key):
            return conv[key]
    extra = conv.get("extra_json")
    if extra:
        try:
            return json.loads(extra).get("intent")
        except (ValueError, AttributeError):
            return None
    return None


def propose_golden_cases(masked_conversations_df: pl.DataFrame, n: int, seed: int = 0, *,
                         existing: list[dict] | None = None, min_csat: int = 4) -> list[dict]:
    """Draft golden cases from **masked** production conversations.

    Picks resolved conversations with CSAT ≥ ``min_csat`` whose (intent, locale) cell is least
    covered by ``existing`` (default: the current golden set), round-robin over cells so the
    proposal spreads across intents and locales; deterministic for a seed. Each draft keeps the
    conversation up to the last user turn as input and the agent's final answer as the
    reference; ``expected_action`` is that answer's action. ``facts`` and ``must_not_contain``
    are left empty and ``status`` is ``"proposed"``: a reviewer fills them in and flips the
    status to ``"blessed"`` before the case counts (``load_golden`` skips proposed cases).
    """
    if existing is None:
        try:
            existing = load_golden(include_proposed=True)
        except FileNotFoundError:
            existing = []
    have = Counter((c.get("intent"), c.get("locale")) for c in existing)
    seen_sources = {c.get("source_conversation_id") for c in existing}
    df = masked_conversations_df
    if "outcome" in df.columns:
        df = df.filter(pl.col("outcome") == "resolved")
    if "csat" in df.columns:
        df = df.filter(pl.col("csat").fill_null(0) >= min_csat)
    pools: dict[tuple[str, str], list[dict]] = {}
    for conv in df.sort("conversation_id").iter_rows(named=True):
        if conv["conversation_id"] in seen_sources:
            continue
        msgs = [m for m in (conv.get("messages") or []) if m.get("role") in ("user", "assistant")]
        if not msgs or msgs[-1].get("role") != "assistant" or not any(m["role"] == "user" for m in msgs):
            continue
        intent = _intent_of(conv) or "unknown"
        pools.setdefault((intent, conv["locale"]), []).append(conv)
    rng = random.Random(seed)
    for k in pools:
        rng.shuffle(pools[k])
    cells = sorted(pools, key=lambda k: (have.get(k, 0), k))
    out: list[dict] = []
    while len(out) < n and any(pools[k] for k in cells):
        for k in cells:
            if len(out) >= n:
                break
            if not pools[k]:
                continue
            conv = pools[k].pop()
            msgs = [m for m in conv["messages"] if m.get("role") in ("user", "assistant")]
            final = msgs[-1]
            intent, locale = k
            cid = f"prop-{intent}-{locale}-{hashlib.sha256(conv['conversation_id'].encode()).hexdigest()[:8]}"
            out.append({
                "case_id": cid, "golden_version": "proposed", "status": "proposed",
                "locale": locale, "language": locale_language(locale), "intent": intent,
                "persona": "production", "difficulty": "unreviewed",
                "messages": [{"role": m["role"], "content": m["content"]} for m in msgs[:-1]],
                "reference": final["content"], "expected_action": final.get("action"),
                "facts": [], "must_not_contain": [],
                "tags": {"intent": intent, "locale": locale, "persona": "production", "difficulty": "unreviewed",
                         "multi_turn": sum(m["role"] == "user" for m in msgs) > 1, "source": "production"},
                "source_conversation_id": conv["conversation_id"], "csat": conv.get("csat"),
                "review": {"needed": ["facts", "must_not_contain", "expected_action"], "proposed_at": None},
            })
    return out


# --------------------------------------------------------------------------- blessing baselines
def baselines_dir() -> Path:
    return golden_dir() / "baselines"


def bless_baseline(run_results: pl.DataFrame, path: str | Path | None = None, *, note: str = "") -> Path:
    """Record a run's per-case golden results as the blessed baseline.

    Written to ``data/golden/baselines/<agent>__<golden_version>.jsonl`` (versioned with the
    golden set, reviewed in a pull request like any other data change) with a header line
    holding agent version, case count, accuracy and a content hash; ``baselines/BLESSED.json``
    points at the current file per agent. Later runs compare against it with
    :func:`load_baseline`. Returns the path written.
    """
    if run_results.is_empty():
        raise ValueError("refusing to bless an empty run")
    agents = run_results["agent_version"].unique().to_list() if "agent_version" in run_results.columns else ["agent"]
    if len(agents) != 1:
        raise ValueError(f"a baseline is one agent's run; got {len(agents)} agents")
    agent = agents[0]
    gv = run_results["golden_version"][0] if "golden_version" in run_results.columns else "v1"
    keep = [c for c in ("case_id", "intent", "locale", "passed", "action_ok", "facts_ok", "forbidden_ok",
                        "language_ok", "similarity", "error", "latency_ms", "cost_usd") if c in run_results.columns]
    rows = run_results.select(keep).sort("case_id").to_dicts()
    body = "\n".join(json.dumps(r, ensure_ascii=False, default=str) for r in rows)
    header = {
        "kind": "golden_baseline", "agent_version": agent, "golden_version": gv,
        "cases": len(rows), "accuracy": float(run_results["passed"].mean()),
        "blessed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "note": note,
        "content_hash": hashlib.sha256(body.encode()).hexdigest()[:16],
    }
    if path is None:
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", agent)
        path = baselines_dir() / f"{safe}__{gv}.jsonl"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(header, ensure_ascii=False) + "\n" + body + "\n", encoding="utf-8")
    tmp.replace(path)
    pointer = path.parent / "BLESSED.json"
    current = json.loads(pointer.read_text()) if pointer.exists() else {}
    current[agent] = {"file": path.name, **{k: header[k] for k in ("golden_version", "cases", "accuracy",
                                                                     "blessed_at", "content_hash")}}
    pointer.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    return path


def load_baseline(path: str | Path) -> tuple[dict, pl.DataFrame]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    rows = [json.loads(x) for x in lines[1:] if x.strip()]
    df = pl.DataFrame(rows, infer_schema_length=None).with_columns(pl.lit(header["agent_version"]).alias("agent_version"))
    return header, df


def results_frame(rows: Iterable[dict]) -> pl.DataFrame:
    return pl.DataFrame(list(rows))
