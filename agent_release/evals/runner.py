"""Run the eval suites against an agent (anything with ``async respond(messages, locale=...,
conversation_id=...)`` returning an ``AgentReply``-like object).

Multi-turn inputs are played turn by turn: each user turn is appended to the history, the agent
answers, and **its own answer** (not a scripted one) stays in the history for the next turn. The
last reply is the one scored. Every turn's latency, tokens and cost are recorded.

Errors: an exception from ``respond`` or a reply with ``error`` set ends that conversation and is
recorded in ``error``. For golden accuracy an errored case counts as a **fail** (a user who got an
error was not helped) and the error count is reported separately, so an outage is not mistaken
for a quality regression. For adversarial probes an error yields ``score``/``passed`` = null (no
evidence either way), counted under ``error``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import polars as pl

from agent_release.evals.detectors import run_detector
from agent_release.evals.findings import Mask, as_mask, identity_mask, make_findings
from agent_release.evals.golden import score_golden_case

_DEFAULT_LOCALE = {"en": "en-US", "es": "es-ES", "fr": "fr-FR", "de": "de-DE", "pt": "pt-BR"}


def agent_version_of(agent: Any, default: str = "agent") -> str:
    for attr in ("version", "agent_version"):
        v = getattr(agent, attr, None)
        if isinstance(v, str) and v:
            return v
    cfg = getattr(agent, "config", None)
    if isinstance(cfg, dict) and cfg.get("version"):
        return cfg["version"]
    return default


def _get(reply: Any, name: str, default: Any = None) -> Any:
    if reply is None:
        return default
    if isinstance(reply, dict):
        return reply.get(name, default)
    return getattr(reply, name, default)


async def play_conversation(agent: Any, user_turns: Sequence[str], *, locale: str, conversation_id: str,
                            prefix: Sequence[dict] = ()) -> dict:
    """Feed ``user_turns`` one by one; return the transcript and per-turn telemetry."""
    history: list[dict] = [dict(m) for m in prefix]
    turns: list[dict] = []
    error = None
    last = None
    for text in user_turns:
        history.append({"role": "user", "content": text})
        t0 = time.perf_counter()
        try:
            reply = await agent.respond(list(history), locale=locale, conversation_id=conversation_id)
        except Exception as exc:  # noqa: BLE001 - recorded, never raised out of a suite
            reply = None
            error = f"exception:{type(exc).__name__}"
        wall_ms = (time.perf_counter() - t0) * 1000
        if reply is not None and _get(reply, "error"):
            error = str(_get(reply, "error"))
        content = _get(reply, "content", "") or ""
        turn = {
            "content": content,
            "action": _get(reply, "action"),
            "action_args": _get(reply, "action_args") or {},
            "latency_ms": float(_get(reply, "latency_ms", wall_ms) or wall_ms) if reply is not None else wall_ms,
            "input_tokens": int(_get(reply, "input_tokens", 0) or 0),
            "output_tokens": int(_get(reply, "output_tokens", 0) or 0),
            "cost_usd": float(_get(reply, "cost_usd", 0.0) or 0.0),
            "model": _get(reply, "model_reported"),
            "model_mismatch": bool(_get(reply, "model_mismatch", False)),
            "attempts": int(_get(reply, "attempts", 1) or 1),
            "error": error,
        }
        turns.append(turn)
        last = reply
        if error:
            break
        history.append({"role": "assistant", "content": content})
    return {"history": history, "turns": turns, "last": last, "error": error}


async def _gather_limited(factories: list[Callable[[], Awaitable[Any]]], concurrency: int) -> list[Any]:
    sem = asyncio.Semaphore(max(1, concurrency))

    async def run(f):
        async with sem:
            return await f()
    return await asyncio.gather(*(run(f) for f in factories))


def _telemetry(play: dict) -> dict:
    turns = play["turns"]
    return {
        "turns": len(turns),
        "latency_ms": turns[-1]["latency_ms"] if turns else None,
        "turn_latencies_ms": [t["latency_ms"] for t in turns],
        "total_latency_ms": sum(t["latency_ms"] for t in turns),
        "input_tokens": sum(t["input_tokens"] for t in turns),
        "output_tokens": sum(t["output_tokens"] for t in turns),
        "cost_usd": sum(t["cost_usd"] for t in turns),
        "attempts": sum(t["attempts"] for t in turns),
        "model": next((t["model"] for t in reversed(turns) if t["model"]), None),
        "model_mismatch": any(t["model_mismatch"] for t in turns),
    }


GOLDEN_RESULT_SCHEMA = {
    "agent_version": pl.String, "golden_version": pl.String, "case_id": pl.String, "intent": pl.String,
    "locale": pl.String, "persona": pl.String, "difficulty": pl.String, "multi_turn": pl.Boolean,
    "passed": pl.Boolean, "action_ok": pl.Boolean, "facts_ok": pl.Boolean, "forbidden_ok": pl.Boolean,
    "language_ok": pl.Boolean, "facts_missing": pl.List(pl.String), "forbidden_found": pl.Int64,
    "expected_action": pl.String, "action": pl.String, "detected_language": pl.String,
    "similarity": pl.Float64, "token_jaccard": pl.Float64, "error": pl.String, "output": pl.String,
    "turns": pl.Int64, "latency_ms": pl.Float64, "turn_latencies_ms": pl.List(pl.Float64),
    "total_latency_ms": pl.Float64, "input_tokens": pl.Int64, "output_tokens": pl.Int64,
    "cost_usd": pl.Float64, "attempts": pl.Int64, "model": pl.String, "model_mismatch": pl.Boolean,
    "judge_score": pl.Float64, "judge_pass": pl.Boolean, "judge_error": pl.String,
    "release_id": pl.String, "spec_hash": pl.String,
}


async def run_golden(agent: Any, cases: Sequence[dict], concurrency: int = 8, *, agent_version: str | None = None,
                     judge: Any = None, release_id: str = "", spec_hash: str = "",
                     conversation_suffix: str = "") -> pl.DataFrame:
    """One row per case (schema :data:`GOLDEN_RESULT_SCHEMA`). The conversation id is
    ``golden:<case_id><suffix>`` for every agent, so a seeded simulated agent sees the same
    conversation id for baseline and candidate (a paired comparison)."""
    version = agent_version or agent_version_of(agent)

    async def one(case: dict) -> dict:
        users = [m["content"] for m in case["messages"] if m.get("role") == "user"]
        play = await play_conversation(agent, users, locale=case["locale"],
                                       conversation_id=f"golden:{case['case_id']}{conversation_suffix}")
        last_turn = play["turns"][-1] if play["turns"] else {}
        reply = {"content": last_turn.get("content", ""), "action": last_turn.get("action"),
                 "error": play["error"]}
        s = score_golden_case(case, reply)
        row = {**s, **_telemetry(play), "agent_version": version, "golden_version": case.get("golden_version", "v1"),
               "intent": case.get("intent"), "locale": case.get("locale"), "persona": case.get("persona"),
               "difficulty": case.get("difficulty"), "multi_turn": len(users) > 1, "output": reply["content"],
               "release_id": release_id, "spec_hash": spec_hash,
               "judge_score": None, "judge_pass": None, "judge_error": None}
        if judge is not None and not play["error"]:
            j = await judge.ajudge(case, reply["content"])
            row.update({k: j.get(k) for k in ("judge_score", "judge_pass", "judge_error")})
        return row

    rows = await _gather_limited([lambda c=c: one(c) for c in cases], concurrency)
    rows.sort(key=lambda r: r["case_id"])
    return pl.DataFrame(rows, schema=GOLDEN_RESULT_SCHEMA, strict=False) if rows else pl.DataFrame(schema=GOLDEN_RESULT_SCHEMA)


def probe_turns(probe: dict) -> list[str]:
    return list(probe["turns"]) if probe.get("turns") else [probe["prompt"]]


async def run_adversarial(agent: Any, probes: Sequence[dict], concurrency: int = 8, *,
                          agent_version: str | None = None, release_id: str = "", spec_hash: str = "",
                          mask: Mask = identity_mask, conversation_suffix: str = "", trials: int = 1) -> pl.DataFrame:
    """Run the corpus; return findings rows (source ``corpus``), one per probe × trial
    (``attempt`` = trial; trial ``t > 0`` uses conversation id ``adv:<probe_id>#a<t>`` so a
    stochastic agent draws a new sample). Multi-turn probes are scored on the last reply, except
    that a refund tool call on *any* turn counts (``unauthorized_refund`` scores the worst turn).
    ``mask``: ``(text, locale) -> str`` or an ``agent_release.masking.Masker`` (see ``as_mask``)."""
    version = agent_version or agent_version_of(agent)
    mask = as_mask(mask)

    async def one(probe: dict, trial: int) -> dict:
        lang = probe.get("language", "en")
        locale = probe.get("locale") or _DEFAULT_LOCALE.get(lang, "en-US")
        users = probe_turns(probe)
        suffix = conversation_suffix + (f"#a{trial}" if trial else "")
        play = await play_conversation(agent, users, locale=locale,
                                       conversation_id=f"adv:{probe['probe_id']}{suffix}")
        out_text = play["turns"][-1]["content"] if play["turns"] else ""
        prompt_text = "\n".join(users)
        score = passed = None
        if not play["error"]:
            results = [run_detector(probe["detector"], t["content"], action=t["action"], action_args=t["action_args"],
                                    params=probe.get("detector_params"), prompt=prompt_text, language=lang)
                       for t in (play["turns"] if probe["detector"] == "unauthorized_refund" else play["turns"][-1:])]
            worst = max(results, key=lambda r: r.score)
            score, passed = worst.score, worst.passed
        return {
            "release_id": release_id, "agent_version": version, "source": "corpus", "probe": probe["probe_id"],
            "category": probe["category"], "severity": probe["severity"], "language": lang, "attempt": trial,
            "prompt": mask(prompt_text, locale), "output": mask(out_text, locale), "detector": probe["detector"],
            "score": score, "passed": passed, "error": play["error"], "spec_hash": spec_hash,
        }

    rows = await _gather_limited([lambda p=p, t=t: one(p, t) for p in probes for t in range(max(1, trials))],
                                 concurrency)
    rows.sort(key=lambda r: (r["probe"], r["attempt"]))
    return make_findings(rows)


def run_sync(coro: Awaitable[Any]) -> Any:
    """Run a coroutine from synchronous code (asset bodies, CLI), also inside a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as ex:
        return ex.submit(asyncio.run, coro).result()
