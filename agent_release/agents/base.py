"""The agent interface shared by the HTTP client and the simulated agents, and the price table."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import yaml

PRICES_PATH = Path(__file__).with_name("prices.yaml")

#: Short reason codes an :class:`AgentReply` may carry in ``error`` (after retries).
ERROR_CODES = ("timeout", "rate_limited", "connection_refused", "connection_error", "malformed_json",
               "empty_choices")  # plus "http_<status>" for HTTP errors (e.g. http_500, http_401)


@dataclass
class AgentReply:
    content: str
    latency_ms: float  # the successful attempt (or, on error, the total time spent)
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    action: str | None  # name of the first tool call, or None
    action_args: dict | None
    model_reported: str | None
    model_mismatch: bool
    error: str | None  # None on success; a short reason code after retries are exhausted
    attempts: int
    total_latency_ms: float | None = None  # all attempts and backoff sleeps included

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@runtime_checkable
class Agent(Protocol):
    version: str  # e.g. "support-bot@2"
    model: str  # pinned model id

    async def respond(self, messages: list[dict], *, locale: str | None = None,
                      conversation_id: str | None = None) -> AgentReply: ...

    async def aclose(self) -> None: ...


class ConfigError(ValueError):
    """An agent configuration problem; the message names the setting, never a secret."""


# --------------------------------------------------------------------------- prices
@dataclass(frozen=True)
class Price:
    input_per_1k: float
    output_per_1k: float


@cache
def _load_prices(path: str) -> dict[str, Price]:
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    models = doc.get("models", doc)
    out = {}
    for model, p in models.items():
        if not isinstance(p, dict):
            continue
        out[str(model)] = Price(float(p["input_per_1k"]), float(p["output_per_1k"]))
    return out


def prices(path: str | Path | None = None) -> dict[str, Price]:
    """The price table (``prices.yaml``, or ``$AGENT_RELEASE_PRICES``), keyed by pinned model id."""
    p = path or os.environ.get("AGENT_RELEASE_PRICES") or PRICES_PATH
    return _load_prices(str(p))


def price_for(model: str | None) -> Price | None:
    return prices().get(model) if model else None


def compute_cost(model: str | None, input_tokens: int | None, output_tokens: int | None) -> float | None:
    """USD cost of one call at the pinned model's price; None when tokens or price are unknown."""
    price = price_for(model)
    if price is None or input_tokens is None or output_tokens is None:
        return None
    cost = input_tokens / 1000.0 * price.input_per_1k + output_tokens / 1000.0 * price.output_per_1k
    return round(cost, 8) if math.isfinite(cost) else None
