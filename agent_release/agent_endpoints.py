"""Turn an agent entry of a release spec into a live :class:`Agent`.

Simulated agents are served through the OpenAI-compatible loopback server by default, so the
HTTP path (retries, usage, pinned-model check) is exercised end to end even in the embedded
default; ``serve_over_http: false`` in the spec runs them in-process instead.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

import polars as pl

from agent_release.release_spec import AgentSpec


@contextlib.contextmanager
def open_agent(spec: AgentSpec, *, latency_scale: float = 0.0, concurrency: int = 32) -> Iterator[object]:
    from agent_release.agents import make_agent

    if spec.kind == "simulated" and spec.serve_over_http:
        from agent_release.agents.server import serve_in_thread

        with serve_in_thread(spec.version, seed=spec.seed, latency_scale=latency_scale) as base_url:
            agent = make_agent({
                "kind": "http", "base_url": base_url, "model": spec.model, "version": spec.version,
                "api_key_env": None, "timeout_s": spec.timeout_s, "max_retries": spec.max_retries,
                "concurrency": concurrency,
            })
            yield agent
    else:
        cfg = spec.agent_config()
        cfg["concurrency"] = concurrency
        yield make_agent(cfg)


def sample_conversations(df: pl.DataFrame, n: int, seed: int) -> pl.DataFrame:
    """A deterministic uniform sample: order by a seeded hash of the conversation id."""
    if n <= 0 or n >= df.height:
        return df.sort("conversation_id")
    key = [
        hashlib.blake2b(f"{seed}:{cid}".encode(), digest_size=8).hexdigest()
        for cid in df["conversation_id"].to_list()
    ]
    return df.with_columns(pl.Series("_k", key)).sort("_k").head(n).drop("_k").sort("conversation_id")
