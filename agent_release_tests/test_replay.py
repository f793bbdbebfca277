"""Replay engine: contract output, own-answers history, fault rules, resume after a server outage
and after kill -9, open-loop lateness, rate limiting."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from agent_release import contract
from agent_release.agents import AgentReply, make_agent, samples
from agent_release.agents.server import ServerThread
from agent_release.replay import Checkpoint, ReplayConfig, derive_outcome, run_replay

ROOT = Path(__file__).resolve().parent.parent
V2 = "support-bot@2"
V2_MODEL = "acme-llm-2026-10-01"


def frame(n: int, *, seed: int = 0, turns=(1, 3), span_s: float = 3600.0) -> pl.DataFrame:
    return contract.to_frame(samples.conversations(n, seed=seed, turns=turns, span_s=span_s))


def records(df: pl.DataFrame) -> list[dict]:
    return contract.to_records(df)


def sim(version: str = V2, **kw):
    return make_agent({"kind": "simulated", "version": version, **kw})


def clean(rec: dict) -> bool:
    return not any(m.get("error") for m in rec["messages"] if m["role"] == "assistant")


# --------------------------------------------------------------------------- output shape
def test_replay_output_follows_the_contract():
    df = frame(40, seed=1)
    calls = []
    res = run_replay(df, sim(), ReplayConfig(concurrency=4, progress_interval_s=0.01),
                     on_progress=lambda d, t, e: calls.append((d, t, e)))
    out = res.frame
    assert out.schema == pl.Schema(contract.SCHEMA)
    assert out.height == 40 and out["conversation_id"].to_list() == df["conversation_id"].to_list()
    assert calls and calls[-1][0] == calls[-1][1] == 40
    originals = {r["conversation_id"]: r for r in records(df)}
    for rec in records(out):
        contract.normalise(rec)  # valid per the contract
        orig = originals[rec["conversation_id"]]
        assert rec["agent_version"] == V2 and rec["model"] == V2_MODEL
        for k in ("user_id", "locale", "channel", "started_at"):
            assert rec[k] == orig[k]
        assert rec["csat"] is None and rec["thumb"] is None
        assert rec["outcome"] in ("resolved", "escalated", "abandoned")
        extra = {k: rec[k] for k in ("persona", "intent", "replay_of")}
        assert extra == {"persona": orig["persona"], "intent": orig["intent"], "replay_of": "support-bot@1"}
        users = [m["content"] for m in orig["messages"] if m["role"] == "user"]
        assert [m["content"] for m in rec["messages"] if m["role"] == "user"] == users
        roles = [m["role"] for m in rec["messages"]]
        assert roles == ["user", "assistant"] * len(users)
        for m in rec["messages"]:
            if m["role"] == "assistant" and not m.get("error"):
                assert m["latency_ms"] > 0 and m["input_tokens"] > 0 and m["cost_usd"] > 0 and m["action"]
                assert m["content"] != "(original reply)"
    st = res.stats
    assert st["conversations"] == 40 and st["replayed"] == 40 and st["turns"] == sum(
        len([m for m in r["messages"] if m["role"] == "user"]) for r in records(df))
    assert 0 <= st["error_rate"] < 0.2 and st["throughput"] > 0 and st["lateness_p50_ms"] is None


def test_agent_sees_its_own_answers():
    class Spy:
        version, model = V2, V2_MODEL

        def __init__(self):
            self.inner, self.seen, self.replies = sim(), [], {}

        async def respond(self, messages, *, locale=None, conversation_id=None):
            self.seen.append((conversation_id, [dict(m) for m in messages]))
            r = await self.inner.respond(messages, locale=locale, conversation_id=conversation_id)
            self.replies.setdefault(conversation_id, []).append(r.content)
            return r

        async def aclose(self):
            pass

    spy = Spy()
    run_replay(frame(12, seed=2, turns=(3, 3)), spy, ReplayConfig(concurrency=3))
    for cid, msgs in spy.seen:
        assistant = [m["content"] for m in msgs if m["role"] == "assistant"]
        assert "(original reply)" not in assistant
        assert assistant == spy.replies[cid][: len(assistant)]
        assert msgs[-1]["role"] == "user"


def test_outcome_rule():
    u = {"role": "user", "content": "x"}

    def a(action=None, error=None):
        return {"role": "assistant", "content": "y", "action": action, "error": error}

    assert derive_outcome([u, a("lookup_order"), u, a("escalate")], "order_status") == "escalated"
    assert derive_outcome([u, a("refund"), u, a("answer")], "refund") == "resolved"
    assert derive_outcome([u, a("answer"), u, a("answer")], "refund") == "abandoned"
    assert derive_outcome([u, a("refund"), u, a(error="timeout")], "refund") == "abandoned"
    assert derive_outcome([u, a(None)], "product_question") == "resolved"  # plain answer == answer
    assert derive_outcome([u, a("answer")], None) == "resolved"


# --------------------------------------------------------------------------- faults
class Flaky:
    """Errors on chosen (conversation, turn) pairs; raises or returns garbage for others."""

    version, model = "flaky@1", "m-1"

    def __init__(self, errors=(), raises=(), garbage=()):
        self.inner = sim()
        self.errors, self.raises, self.garbage = set(errors), set(raises), set(garbage)

    async def respond(self, messages, *, locale=None, conversation_id=None):
        turn = sum(m["role"] == "user" for m in messages) - 1
        if (conversation_id, turn) in self.raises:
            raise RuntimeError("boom with customer text that must not leak")
        if conversation_id in self.garbage:
            return None  # not an AgentReply: an unexpected failure inside the engine
        if (conversation_id, turn) in self.errors:
            return AgentReply("", 5.0, None, None, None, None, None, None, False, "http_503", 3)
        return await self.inner.respond(messages, locale=locale, conversation_id=conversation_id)

    async def aclose(self):
        pass


def test_faults_are_recorded_not_raised():
    df = frame(6, seed=4, turns=(4, 4))
    ids = df["conversation_id"].to_list()
    agent = Flaky(errors={(ids[0], 1), (ids[1], 1), (ids[1], 2)}, raises={(ids[2], 0)}, garbage={ids[3]})
    res = run_replay(df, agent, ReplayConfig(concurrency=2, max_consecutive_errors=2))
    recs = {r["conversation_id"]: r for r in records(res.frame)}
    assert res.frame.height == 6
    # one error: recorded on that turn, the conversation continues
    r0 = [m for m in recs[ids[0]]["messages"] if m["role"] == "assistant"]
    assert len(r0) == 4 and r0[1]["error"] == "http_503" and r0[1]["attempts"] == 3 and not r0[2].get("error")
    # two errors in a row: the rest of the conversation is not sent
    r1 = recs[ids[1]]
    assert len([m for m in r1["messages"] if m["role"] == "assistant"]) == 3
    assert r1["replay_unsent_turns"] == 1 and r1["replay_errors"] == 2 and r1["outcome"] == "abandoned"
    # an exception from the agent is an error turn; nothing from its message is recorded
    r2 = recs[ids[2]]
    assert r2["messages"][1]["error"] == "exception:RuntimeError" and "boom" not in json.dumps(r2)
    # an unexpected failure inside the engine becomes an error row for that conversation only
    r3 = recs[ids[3]]
    assert r3["replay_exception"].startswith("exception:") and r3["outcome"] == "abandoned"
    contract.normalise(r3)
    assert all(clean(recs[i]) for i in ids[4:])
    st = res.stats
    assert st["errors"]["http_503"] == 3 and st["exceptions"] == 2 and st["errors_total"] >= 5


def test_duplicate_input_ids_give_one_row():
    df = frame(10, seed=6)
    dup = pl.concat([df, df.head(3)])
    res = run_replay(dup, sim(), ReplayConfig(concurrency=4))
    assert res.frame.height == 10 and res.frame["conversation_id"].n_unique() == 10
    assert res.stats["duplicates_in_input"] == 3


def test_server_killed_mid_replay_then_rerun_fills_the_gap(tmp_path):
    df = frame(90, seed=7, turns=(2, 3))
    ckpt = tmp_path / "ckpt"
    reference = {r["conversation_id"]: r for r in records(run_replay(df, sim(), ReplayConfig(concurrency=8)).frame)}

    def http(url):
        return make_agent({"kind": "http", "base_url": url, "model": V2_MODEL, "version": V2, "timeout_s": 2,
                           "max_retries": 1, "backoff_base_s": 0.01, "concurrency": 4})

    srv = ServerThread(V2, latency_scale=0.01).start()
    killed = threading.Event()

    def progress(done, total, errors):
        if done >= 25 and not killed.is_set():
            killed.set()
            threading.Thread(target=srv.stop, daemon=True).start()

    cfg = ReplayConfig(concurrency=4, checkpoint_dir=ckpt, flush_every=5, flush_interval_s=0.05,
                       progress_interval_s=0.01)
    first = run_replay(df, http(srv.base_url), cfg, on_progress=progress)
    srv.stop()
    assert killed.is_set()
    assert first.frame.height == 90 and first.frame["conversation_id"].n_unique() == 90
    assert first.stats["errors"].get("connection_refused", 0) > 0
    failed = [r for r in records(first.frame) if not clean(r)]
    assert len(failed) >= 20
    assert any(m.get("error") == "connection_refused" for r in failed for m in r["messages"])

    with ServerThread(V2, latency_scale=0.0) as srv2:  # back up (on another port)
        second = run_replay(df, http(srv2.base_url), cfg)
    out = records(second.frame)
    assert second.frame.height == 90 and second.frame["conversation_id"].n_unique() == 90
    assert second.stats["skipped_from_checkpoint"] == 90 - len(failed)
    assert second.stats["replayed"] == len(failed)
    assert not any(m.get("error") in ("connection_refused", "connection_error") for r in out for m in r["messages"])
    # clean rows are exactly what an uninterrupted in-process replay gives
    same = [r for r in out if clean(r)]
    assert len(same) >= 80
    for r in same:
        ref = reference[r["conversation_id"]]
        assert [(m["content"], m.get("action"), m.get("cost_usd")) for m in r["messages"]] == \
               [(m["content"], m.get("action"), m.get("cost_usd")) for m in ref["messages"]]
    assert len(Checkpoint(ckpt, V2).shards()) == 1  # compacted


KILL_SCRIPT = textwrap.dedent("""
    import sys, polars as pl
    from agent_release.agents import make_agent
    from agent_release.replay import ReplayConfig, run_replay
    df = pl.read_parquet(sys.argv[1])
    agent = make_agent({"kind": "simulated", "version": "support-bot@2", "realtime": True, "latency_scale": 0.03})
    run_replay(df, agent, ReplayConfig(concurrency=3, checkpoint_dir=sys.argv[2], flush_every=4,
                                       flush_interval_s=0.05))
    print("finished")
""")


def test_kill_9_mid_run_then_rerun_gives_one_row_per_conversation(tmp_path):
    df = frame(120, seed=8, turns=(1, 3))
    src = tmp_path / "in.parquet"
    df.write_parquet(src)
    script = tmp_path / "replay_child.py"
    script.write_text(KILL_SCRIPT)
    ckpt = tmp_path / "ckpt"
    proc = subprocess.Popen([sys.executable, str(script), str(src), str(ckpt)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    shard_dir = ckpt / V2
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and len(list(shard_dir.glob("part-*.parquet"))) < 3:
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert "finished" not in proc.stdout.read()
    partial = Checkpoint(ckpt, V2).load()
    assert 0 < len(partial) < 120

    res = run_replay(df, sim(), ReplayConfig(concurrency=8, checkpoint_dir=ckpt))
    assert res.frame.height == 120 and res.frame["conversation_id"].n_unique() == 120
    assert res.stats["skipped_from_checkpoint"] >= len([1 for _, s in partial.values() if s == "ok"])
    reference = run_replay(df, sim(), ReplayConfig(concurrency=8))
    assert records(res.frame) == records(reference.frame)  # deterministic agent: identical to a clean run
    again = run_replay(df, sim(), ReplayConfig(concurrency=8, checkpoint_dir=ckpt))
    assert again.stats["replayed"] == sum(not clean(r) for r in records(res.frame))
    assert again.frame.height == 120


# --------------------------------------------------------------------------- open loop & rate limit
def test_open_loop_reproduces_arrivals_and_reports_lateness():
    rows = samples.conversations(60, seed=9, turns=(1, 2), span_s=60.0)
    df = contract.to_frame(rows)
    agent = sim(realtime=True, latency_scale=0.002)
    res = run_replay(df, agent, ReplayConfig(mode="open", speedup=40.0, concurrency=16))
    st = res.stats
    span = (max(r["started_at"] for r in rows) - min(r["started_at"] for r in rows)).total_seconds() / 40.0
    assert st["wall_s"] >= span * 0.95
    assert st["lateness_p50_ms"] is not None and st["lateness_p99_ms"] is not None
    assert 0 <= st["lateness_p50_ms"] <= st["lateness_p99_ms"] <= st["lateness_max_ms"]
    assert st["lateness_p99_ms"] < 250  # generous: shared CI machines
    assert res.frame.height == 60


def test_rate_limit_is_enforced():
    t0 = datetime(2026, 11, 2, tzinfo=UTC)
    rows = [samples.conversation(i, "en-US", "order_status", start=t0 + timedelta(seconds=i)) for i in range(60)]
    res = run_replay(contract.to_frame(rows), sim(), ReplayConfig(concurrency=16, rate_limit_per_s=100.0))
    assert res.stats["turns"] == 60
    assert res.stats["wall_s"] >= (60 - 5) / 100.0 * 0.95


def test_run_replay_inside_a_running_loop():
    async def main():
        return run_replay(frame(5, seed=10), sim(), ReplayConfig(concurrency=2))

    assert asyncio.run(main()).frame.height == 5


def test_config_validation():
    with pytest.raises(ValueError):
        ReplayConfig(mode="burst")
    with pytest.raises(ValueError):
        ReplayConfig(concurrency=0)
    with pytest.raises(ValueError):
        ReplayConfig(rate_limit_per_s=0)


def test_canned_server_answers_parse_and_dispatch_time_is_reported():
    """The benchmark target (``serve-agent --canned``) answers a well-formed completion through the
    real HTTP path, and stats separate the dispatch phase (throughput basis) from the whole call."""
    df = frame(30, seed=12, turns=(1, 2))
    with ServerThread(V2, fixed_latency_ms=5, canned=True) as srv:
        agent = make_agent({"kind": "http", "base_url": srv.base_url, "model": V2_MODEL, "version": V2,
                            "timeout_s": 5, "max_retries": 1})
        res = run_replay(df, agent, ReplayConfig(concurrency=8))
    st = res.stats
    assert st["errors_total"] == 0 and res.frame.height == 30
    recs = records(res.frame)
    replies = [m for r in recs for m in r["messages"] if m["role"] == "assistant"]
    assert replies and all(m["action"] == "lookup_order" and m["input_tokens"] == 120 for m in replies)
    assert all(m["latency_ms"] >= 4 for m in replies)  # 5 ms sleeps, timers of 1 ms resolution
    assert 0 < st["dispatch_s"] <= st["wall_s"]
    assert st["throughput_turns_per_s"] == pytest.approx(st["turns"] / st["dispatch_s"])
