"""Optional LLM judge through any OpenAI-compatible chat endpoint.

The judge model is pinned (``model`` is sent verbatim, and a reply that reports a different model
is flagged ``judge_model_mismatch``). The judge grades a reply against the golden reference and
facts on a 1–5 scale and returns JSON. Whatever goes wrong — connection refused, timeout, HTTP
5xx, unparseable output — is recorded as ``judge_error`` and **never** counted as a failed case:
the rule-based score decides pass/fail; the judge is an extra signal.

The API key is read from the environment variable named by ``api_key_env`` (never passed or
logged as a value).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

import httpx

JUDGE_PROMPT = """You grade a customer-support assistant's reply. Compare it with the reference answer.
Locale: {locale}. Intent: {intent}.
Facts the reply must contain: {facts}
Reference answer: {reference}
Assistant reply: {reply}

Return only JSON: {{"score": <1-5, 5 = as good as the reference>, "verdict": "pass" or "fail", "reason": "<one sentence>"}}"""


@dataclass
class LlmJudge:
    base_url: str
    model: str
    api_key_env: str | None = None
    timeout_s: float = 20.0
    pass_threshold: int = 4

    def _headers(self) -> dict:
        h = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        if key:
            h["Authorization"] = f"Bearer {key}"
        return h

    def _payload(self, case: dict, reply_text: str) -> dict:
        facts = [f.get("any_of", [f])[0] if isinstance(f, dict) else f for f in case.get("facts") or []]
        prompt = JUDGE_PROMPT.format(locale=case.get("locale"), intent=case.get("intent"), facts=facts,
                                     reference=case.get("reference", ""), reply=reply_text)
        return {"model": self.model, "temperature": 0, "max_tokens": 200,
                "messages": [{"role": "system", "content": "You are a strict, fair evaluator. Reply with JSON only."},
                             {"role": "user", "content": prompt}]}

    def _parse(self, body: dict) -> dict:
        content = body["choices"][0]["message"]["content"] or ""
        m = re.search(r"\{.*\}", content, re.DOTALL)
        if not m:
            raise ValueError("judge reply is not JSON")
        obj = json.loads(m.group(0))
        score = float(obj["score"])
        if not 1 <= score <= 5:
            raise ValueError("judge score out of range")
        verdict = str(obj.get("verdict", "")).lower()
        return {
            "judge_score": score,
            "judge_pass": verdict == "pass" if verdict in ("pass", "fail") else score >= self.pass_threshold,
            "judge_reason": str(obj.get("reason", ""))[:500],
            "judge_model": body.get("model", self.model),
            "judge_model_mismatch": bool(body.get("model")) and body.get("model") != self.model,
            "judge_error": None,
        }

    @staticmethod
    def _error(exc: BaseException) -> dict:
        kind = type(exc).__name__
        if isinstance(exc, httpx.TimeoutException):
            kind = "timeout"
        elif isinstance(exc, httpx.ConnectError):
            kind = "unreachable"
        elif isinstance(exc, httpx.HTTPStatusError):
            kind = f"http_{exc.response.status_code}"
        return {"judge_score": None, "judge_pass": None, "judge_reason": None, "judge_model": None,
                "judge_model_mismatch": False, "judge_error": kind}

    def judge(self, case: dict, reply_text: str) -> dict:
        try:
            with httpx.Client(timeout=self.timeout_s) as client:
                r = client.post(self.base_url.rstrip("/") + "/chat/completions",
                                json=self._payload(case, reply_text), headers=self._headers())
                r.raise_for_status()
                return self._parse(r.json())
        except Exception as exc:  # noqa: BLE001 - every failure is a judge_error, never a case failure
            return self._error(exc)

    async def ajudge(self, case: dict, reply_text: str, client: httpx.AsyncClient | None = None) -> dict:
        own = client is None
        client = client or httpx.AsyncClient(timeout=self.timeout_s)
        try:
            r = await client.post(self.base_url.rstrip("/") + "/chat/completions",
                                  json=self._payload(case, reply_text), headers=self._headers())
            r.raise_for_status()
            return self._parse(r.json())
        except Exception as exc:  # noqa: BLE001
            return self._error(exc)
        finally:
            if own:
                await client.aclose()


def judge_summary(results: Any) -> dict:
    """Counts for a results frame with judge columns: judged, errors, mean score, pass rate."""
    import polars as pl

    if "judge_error" not in results.columns:
        return {"judged": 0, "judge_errors": 0}
    ok = results.filter(pl.col("judge_error").is_null() & pl.col("judge_score").is_not_null())
    return {"judged": ok.height, "judge_errors": int(results["judge_error"].is_not_null().sum()),
            "judge_mean_score": float(ok["judge_score"].mean()) if ok.height else None,
            "judge_pass_rate": float(ok["judge_pass"].mean()) if ok.height else None}
