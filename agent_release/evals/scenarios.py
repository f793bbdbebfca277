"""Scenario battery for the long tail: edge personas, every locale, long conversations, escalation
hand-offs, ambiguous and multi-intent requests (``data/scenarios/battery_v1.yaml``).

A scenario is a scripted list of user turns plus checks on the agent's replies::

    - id: long-de-DE-order-saga
      kind: long_conversation        # persona | locale | long_conversation | handoff | ambiguous | multi_intent
      locale: de-DE
      persona: verbose
      intent: order_status
      turns: ["...", "...", ...]     # user turns, fed one by one; the agent's own answers stay in history
      checks:
        - {type: language}                                   # every reply in the locale's language
        - {type: final_action, any_of: [lookup_order]}        # action of the last reply (null = no action)
        - {type: actions_include, any_of: [escalate]}         # some reply took one of these actions
        - {type: facts, facts: [{name: x, any_of: ["30"]}], where: any|last}
        - {type: no_forbidden, strings: ["..."]}
        - {type: no_toxicity}
        - {type: tone_stable, window: 3, min_ratio: 0.5}      # politeness in the last replies vs the first
        - {type: handoff_summary, requires: [issue, steps, pending], mentions: ["88-1123"]}
        - {type: politeness_rate, min: 0.6}                  # share of replies with a politeness marker
        - {type: clarifies}                                   # the first reply asks a question / clarifies
        - {type: max_turn_latency_ms, value: 8000}

Every scenario runs ``k`` trials (``spec.gate.scenario_trials``); trials differ by the conversation
id suffix ``#t<i>`` so a seeded stochastic agent draws a different sample per trial. Reported per
scenario: ``pass_rate``, **pass@k** (at least one of the k trials passed — "can it do it") and
**pass^k** (all k passed — "does it do it reliably"; the number that matters for production).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from agent_release.evals.detectors import fold, toxicity
from agent_release.evals.golden import fact_present
from agent_release.evals.lang import answered_in_language, locale_language
from agent_release.evals.runner import _gather_limited, _telemetry, agent_version_of, play_conversation

KINDS = ("persona", "locale", "long_conversation", "handoff", "ambiguous", "multi_intent")
PERSONAS = ("angry", "elderly", "non_native", "terse", "verbose")
HANDOFF_ACTIONS = ("escalate", "escalate_to_human", "handoff", "hand_off", "transfer_to_human", "create_ticket")

POLITENESS: dict[str, tuple[str, ...]] = {
    "en": ("please", "thank", "sorry", "apolog", "happy to help", "glad", "appreciate", "i understand",
           "of course", "certainly", "you're welcome"),
    "es": ("por favor", "gracias", "lo siento", "disculp", "con gusto", "encantad", "entiendo", "lamento",
           "claro", "perdon"),
    "fr": ("s'il vous plait", "merci", "desole", "excus", "avec plaisir", "je comprends", "bien sur",
           "navre", "volontiers"),
    "de": ("bitte", "danke", "entschuldig", "tut mir leid", "gerne", "gern", "verstehe", "selbstverstandlich",
           "naturlich"),
    "pt": ("por favor", "obrigad", "desculp", "sinto muito", "com prazer", "entendo", "lamento", "claro",
           "fico feliz"),
}
SECTION_LABELS = {
    "issue": ("issue", "problem", "reason", "problema", "motivo", "probleme", "anliegen", "grund", "sujet", "assunto"),
    "steps": ("steps", "tried", "done so far", "actions taken", "pasos", "realizado", "etapes", "deja fait",
              "schritte", "bisher", "passos", "feito"),
    "pending": ("pending", "next", "open", "outstanding", "pendiente", "siguiente", "en attente", "a faire",
                "offen", "ausstehend", "nachste", "pendente", "proximo"),
}


def battery_path(version: str = "v1") -> Path:
    from agent_release.config import paths

    return paths().inputs / "scenarios" / f"battery_{version}.yaml"


def load_battery(path: str | Path | None = None) -> list[dict]:
    doc = yaml.safe_load(Path(path or battery_path()).read_text(encoding="utf-8"))
    scenarios = doc["scenarios"] if isinstance(doc, dict) else doc
    ids = [s["id"] for s in scenarios]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate scenario ids in the battery")
    for s in scenarios:
        if s.get("kind") not in KINDS:
            raise ValueError(f"scenario {s['id']}: kind must be one of {', '.join(KINDS)}")
        if not s.get("turns"):
            raise ValueError(f"scenario {s['id']}: needs at least one user turn")
    return scenarios


# --------------------------------------------------------------------------- checks
def politeness_count(text: str, language: str) -> int:
    """Distinct politeness markers of ``language`` in ``text`` (matched at word starts)."""
    f = fold(text)
    return sum(1 for m in POLITENESS.get(locale_language(language), POLITENESS["en"])
               if re.search(r"(?<![a-z0-9])" + re.escape(m), f))


def tone_drift(replies: Sequence[str], language: str, window: int = 3) -> dict:
    """Share of replies carrying at least one politeness marker, first ``window`` vs last."""
    w = max(1, min(window, len(replies) // 2 or 1))
    first = [politeness_count(r, language) > 0 for r in replies[:w]]
    last = [politeness_count(r, language) > 0 for r in replies[-w:]]
    fr = sum(first) / len(first) if first else 0.0
    lr = sum(last) / len(last) if last else 0.0
    return {"politeness_first": fr, "politeness_last": lr}


def _summary_text(turn: dict) -> tuple[Any, str]:
    args = turn.get("action_args") or {}
    summ = args.get("summary") or args.get("handoff_summary") or args.get("notes")
    if summ is None:
        summ = turn.get("content", "")
    text = json.dumps(summ, ensure_ascii=False) if isinstance(summ, (dict, list)) else str(summ)
    return summ, text


def handoff_complete(turn: dict, requires: Sequence[str] = ("issue", "steps", "pending"),
                     mentions: Sequence[str] = ()) -> dict:
    """Is the hand-off summary complete? Structured summaries (dict) need non-empty keys for each
    required section (``issue``/``problem``, ``steps``/``steps_taken``/``actions_taken``,
    ``pending``/``next_steps``/``open_items``); free-text summaries need a section label for each
    (in any of the five languages). ``mentions`` (e.g. the order id) must appear somewhere."""
    summ, text = _summary_text(turn)
    missing = []
    if isinstance(summ, dict):
        keys = {fold(k): v for k, v in summ.items()}
        for sec in requires:
            ok = any(v not in (None, "", [], {}) and any(lbl in k for lbl in SECTION_LABELS.get(sec, (sec,)) + (sec,))
                     for k, v in keys.items())
            if not ok:
                missing.append(sec)
    else:
        f = fold(text)
        for sec in requires:
            if not any(lbl in f for lbl in SECTION_LABELS.get(sec, (sec,))):
                missing.append(sec)
    absent = [m for m in mentions if fold(m) not in fold(text)]
    return {"complete": not missing and not absent, "missing_sections": missing, "missing_mentions": len(absent)}


def evaluate_checks(scenario: dict, play: dict) -> dict:
    """Run every check of a scenario on one played trial. Returns {passed, failed_checks, metrics}."""
    turns = play["turns"]
    replies = [t["content"] for t in turns]
    lang = scenario.get("language") or locale_language(scenario["locale"])
    failed: list[str] = []
    metrics: dict[str, Any] = {}
    if play["error"]:
        failed.append("agent_error")
    for chk in scenario.get("checks") or []:
        typ = chk["type"]
        ok = True
        if typ == "language":
            bad = [i for i, r in enumerate(replies) if not answered_in_language(r, lang)]
            ok = not bad and bool(replies)
            metrics["wrong_language_replies"] = len(bad)
        elif typ == "final_action":
            last = turns[-1]["action"] if turns else None
            allowed = chk.get("any_of", [None])
            ok = last in allowed or (last in (None, "", "none") and any(a in (None, "none") for a in allowed))
        elif typ == "actions_include":
            acts = {t["action"] for t in turns}
            ok = bool(acts & set(chk["any_of"]))
        elif typ == "actions_exclude":
            acts = {t["action"] for t in turns}
            ok = not (acts & set(chk["any_of"]))
        elif typ == "facts":
            where = chk.get("where", "any")
            texts = replies[-1:] if where == "last" else replies
            blob = "\n".join(texts)
            missing = [f.get("name", str(f)) for f in chk["facts"] if not fact_present(blob, f)]
            ok = not missing
            metrics[f"facts_missing_{chk.get('label', 'facts')}"] = missing
        elif typ == "no_forbidden":
            blob = fold("\n".join(replies))
            ok = not any(fold(s) in blob for s in chk["strings"])
        elif typ == "no_toxicity":
            ok = all(toxicity(r).passed for r in replies)
        elif typ == "tone_stable":
            d = tone_drift(replies, lang, chk.get("window", 3))
            metrics.update(d)
            ratio = chk.get("min_ratio", 0.5)
            ok = d["politeness_last"] >= ratio * d["politeness_first"] and all(toxicity(r).passed for r in replies)
        elif typ == "politeness_rate":
            rate = sum(politeness_count(r, lang) > 0 for r in replies) / len(replies) if replies else 0.0
            metrics["politeness_rate"] = rate
            ok = rate >= chk.get("min", 0.6)
        elif typ == "handoff_summary":
            acts = set(chk.get("actions", HANDOFF_ACTIONS))
            ho = [t for t in turns if t["action"] in acts]
            if not ho:
                ok = False
                metrics["handoff"] = "none"
            else:
                r = handoff_complete(ho[-1], chk.get("requires", ("issue", "steps", "pending")), chk.get("mentions", ()))
                ok = r["complete"]
                metrics["handoff_missing_sections"] = r["missing_sections"]
                metrics["handoff_missing_mentions"] = r["missing_mentions"]
        elif typ == "clarifies":
            first = turns[0] if turns else {}
            ok = "?" in (first.get("content") or "") or first.get("action") in ("clarify", "ask_clarification")
        elif typ == "max_turn_latency_ms":
            ok = all(t["latency_ms"] <= chk["value"] for t in turns)
        else:
            raise ValueError(f"scenario {scenario['id']}: unknown check type {typ!r}")
        if not ok:
            failed.append(chk.get("label") or typ)
    return {"passed": not failed, "failed_checks": failed, "metrics": metrics}


SCENARIO_RESULT_SCHEMA = {
    "agent_version": pl.String, "scenario_id": pl.String, "kind": pl.String, "locale": pl.String,
    "persona": pl.String, "intent": pl.String, "trial": pl.Int64, "passed": pl.Boolean,
    "failed_checks": pl.List(pl.String), "metrics_json": pl.String, "error": pl.String, "turns": pl.Int64,
    "latency_ms": pl.Float64, "turn_latencies_ms": pl.List(pl.Float64), "total_latency_ms": pl.Float64,
    "input_tokens": pl.Int64, "output_tokens": pl.Int64, "cost_usd": pl.Float64, "attempts": pl.Int64,
    "model": pl.String, "model_mismatch": pl.Boolean, "release_id": pl.String, "spec_hash": pl.String,
}


async def run_scenarios(agent: Any, scenarios: Sequence[dict], trials: int = 3, concurrency: int = 8, *,
                        agent_version: str | None = None, release_id: str = "", spec_hash: str = "") -> pl.DataFrame:
    """One row per (scenario, trial)."""
    version = agent_version or agent_version_of(agent)

    async def one(sc: dict, trial: int) -> dict:
        play = await play_conversation(agent, sc["turns"], locale=sc["locale"],
                                       conversation_id=f"scn:{sc['id']}#t{trial}")
        ev = evaluate_checks(sc, play)
        return {"agent_version": version, "scenario_id": sc["id"], "kind": sc["kind"], "locale": sc["locale"],
                "persona": sc.get("persona"), "intent": sc.get("intent"), "trial": trial, "passed": ev["passed"],
                "failed_checks": ev["failed_checks"], "metrics_json": json.dumps(ev["metrics"], ensure_ascii=False, default=str),
                "error": play["error"], **_telemetry(play), "release_id": release_id, "spec_hash": spec_hash}

    jobs = [lambda s=s, t=t: one(s, t) for s in scenarios for t in range(trials)]
    rows = await _gather_limited(jobs, concurrency)
    rows.sort(key=lambda r: (r["scenario_id"], r["trial"]))
    keep = {k: [r.get(k) for r in rows] for k in SCENARIO_RESULT_SCHEMA}
    return pl.DataFrame(keep, schema=SCENARIO_RESULT_SCHEMA, strict=False)


def scenario_summary(results: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """``per_scenario`` (k, passes, pass_rate, pass@k, pass^k) and ``by_kind`` (means per agent × kind,
    plus an ``all`` row)."""
    per = (results.group_by("agent_version", "scenario_id", "kind", "locale", "persona")
           .agg(pl.len().alias("k"), pl.col("passed").sum().alias("passes"),
                pl.col("failed_checks").list.explode(keep_nulls=False, empty_as_null=False).drop_nulls().unique().sort().alias("failed_checks"))
           .with_columns((pl.col("passes") / pl.col("k")).alias("pass_rate"),
                         (pl.col("passes") > 0).alias("pass_at_k"), (pl.col("passes") == pl.col("k")).alias("pass_hat_k"))
           .sort("agent_version", "scenario_id"))
    aggs = [pl.len().alias("scenarios"), pl.col("pass_rate").mean().alias("pass_rate"),
            pl.col("pass_at_k").cast(pl.Float64).mean().alias("pass_at_k"),
            pl.col("pass_hat_k").cast(pl.Float64).mean().alias("pass_hat_k")]
    by_kind = pl.concat([
        per.group_by("agent_version", "kind").agg(aggs),
        per.group_by("agent_version").agg(aggs).with_columns(pl.lit("all").alias("kind")).select(
            "agent_version", "kind", "scenarios", "pass_rate", "pass_at_k", "pass_hat_k"),
    ], how="vertical_relaxed").sort("agent_version", "kind")
    return {"per_scenario": per, "by_kind": by_kind}


def tokens_in(text: str) -> int:
    return len(re.findall(r"\w+", text or ""))
