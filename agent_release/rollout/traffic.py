"""Live traffic during the rollout: simulated per step (embedded default) or read from a source,
and the per-arm aggregates the guardrail watch and the model-version pin look at.

Embedded default: each step's traffic is simulated by :func:`agent_release.canary.simulate.simulate`
with the flag's percentage **read from the flag backend** (the local store), so whatever the
store says — 25%, or 0% after a rollback — is what the simulated users get. The true effects
come from a named scenario (:data:`agent_release.canary.simulate.SCENARIOS`; default
``noninferior``: the team fixed the Spanish regression the canary caught), optionally with an
injected incident at one step (``error_spike@50``, ``model:<id>@25``) for demos and tests.

Simulated conversations are already in the masked shape (hash-like user ids, placeholder texts),
so they are written to the lake as they are; real live logs go through the intake contract and
only aggregates (counts, rates, costs, model ids) leave this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

LIVE = "rollout.live_conversations"


# --------------------------------------------------------------------------- injections


@dataclass(frozen=True)
class Injection:
    """An incident injected into the simulated traffic of the step at ``percentage``:
    ``kind`` = a scenario name (its true effects replace the step's), or ``model`` (live
    traffic reports ``value`` as the candidate's model: a silent provider-side model change)."""

    kind: str
    percentage: float
    value: str = ""

    @classmethod
    def parse_many(cls, text: str) -> list[Injection]:
        """``"error_spike@50, model:acme-llm-2026-12-01@25"`` → injections."""
        out = []
        for part in (p.strip() for p in (text or "").split(",")):
            if not part:
                continue
            what, _, pct = part.rpartition("@")
            if not what or not pct:
                raise ValueError(f"injection {part!r}: expected <scenario>@<percent> or model:<id>@<percent>")
            if what.startswith("model:"):
                out.append(cls("model", float(pct), what[len("model:"):]))
            else:
                out.append(cls(what, float(pct)))
        return out


def effects_for(scenario: str, percentage: float, injections: list[Injection]):
    from agent_release.canary.simulate import SCENARIOS

    name = scenario
    for inj in injections:
        if inj.kind != "model" and inj.percentage == percentage:
            name = inj.kind
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; one of {', '.join(sorted(SCENARIOS))}")
    return name, SCENARIOS[name]


def simulate_step(spec, *, percentage: float, start: datetime, hours: float, scenario: str, rate_per_hour: float,
                  seed: int, step_index: int, injections: list[Injection] | None = None) -> tuple[pl.DataFrame, dict]:
    """Simulated live traffic of one step (conversation-log contract + ``release_id``, ``step_index``,
    ``flag_percentage``) and the simulation's truth."""
    from agent_release.canary.simulate import TrafficConfig, simulate

    injections = injections or []
    name, effects = effects_for(scenario, percentage, injections)
    overrides: dict[str, Any] = {}
    for inj in injections:
        if inj.kind == "model" and inj.percentage == percentage:
            overrides["candidate_model"] = inj.value
    cfg = TrafficConfig.from_spec(spec, traffic_percent=float(percentage), rate_per_hour=float(rate_per_hour),
                                  days=hours / 24.0, start=start, seed=int(seed) * 1000 + step_index, **overrides)
    sim = simulate(cfg, effects)
    frame = sim.frame.with_columns(
        pl.lit(spec.release_id).alias("release_id"), pl.lit(step_index, pl.Int32).alias("step_index"),
        pl.lit(float(percentage)).alias("flag_percentage"))
    truth = dict(sim.truth, scenario=name, rate_per_hour=rate_per_hour, seed=cfg.seed, **overrides)
    return frame, truth


def step_partition(release_id: str, step_index: int) -> str:
    return f"{release_id}--step{step_index}"


def write_step_traffic(lake, release_id: str, step_index: int, frame: pl.DataFrame) -> None:
    lake.write(LIVE, frame, partition=step_partition(release_id, step_index))


def latest_step_traffic(lake, release_id: str) -> tuple[int | None, pl.DataFrame | None]:
    """The live traffic of the release's latest step in the lake (``None`` if none)."""
    prefix = f"{release_id}--step"
    steps = []
    for p in lake.partitions(LIVE):
        if p.startswith(prefix) and p[len(prefix):].isdigit():
            steps.append(int(p[len(prefix):]))
    if not steps:
        return None, None
    k = max(steps)
    return k, lake.read(LIVE, partition=step_partition(release_id, k))


# --------------------------------------------------------------------------- aggregates


def facts(frame: pl.DataFrame, spec) -> pl.DataFrame:
    """One row per conversation: ``started_at``, ``arm`` (candidate / baseline / other, from the
    served agent version), ``model``, ``has_error``, ``safety``, ``cost`` (null = unknown: an
    assistant turn without ``cost_usd``), ``resolved``."""
    cand, base = spec.candidate.version, spec.baseline.version
    msgs = pl.col("messages")
    return frame.select(
        pl.col("started_at"),
        pl.when(pl.col("agent_version") == cand).then(pl.lit("candidate"))
        .when(pl.col("agent_version") == base).then(pl.lit("baseline")).otherwise(pl.lit("other")).alias("arm"),
        pl.col("agent_version"),
        pl.col("model"),
        msgs.list.eval(pl.element().struct.field("error").is_not_null()).list.any().fill_null(False).alias("has_error"),
        (pl.col("extra_json").str.json_path_match("$.safety_incident").cast(pl.Int64, strict=False).fill_null(0) > 0)
        .alias("safety"),
        # unknown cost stays unknown (null): an assistant turn without ``cost_usd`` (and without an
        # error — a failed call reports no cost) is never counted as $0
        pl.when(msgs.list.eval((pl.element().struct.field("role") == "assistant")
                               & pl.element().struct.field("cost_usd").is_null()
                               & pl.element().struct.field("error").is_null()).list.any().fill_null(False))
        .then(pl.lit(None, pl.Float64))
        .otherwise(msgs.list.eval(pl.element().struct.field("cost_usd")).list.sum().fill_null(0.0))
        .alias("cost"),
        (pl.col("outcome") == "resolved").fill_null(False).alias("resolved"),
    )


@dataclass(frozen=True)
class ArmSummary:
    conversations: int
    errors: int
    safety_incidents: int
    cost_usd: float
    resolved: int
    #: per-conversation moments for the cost ratio's interval: sum of cost², sum of cost over
    #: resolved conversations (None when only the totals are known)
    cost_sq: float | None = None
    cost_resolved: float | None = None
    #: start of the newest conversation in the arm (staleness of the feed)
    last_started_at: datetime | None = None
    #: conversations whose cost is unknown (not in ``cost_usd``; the arm's cost is then unknown)
    cost_unknown: int = 0

    @property
    def error_rate(self) -> float:
        return self.errors / self.conversations if self.conversations else 0.0

    @property
    def cost_per_resolution(self) -> float | None:
        """``None`` when nothing was resolved or any conversation's cost is unknown (never a partial sum)."""
        return self.cost_usd / self.resolved if self.resolved and not self.cost_unknown else None

    def to_dict(self) -> dict:
        return {"conversations": self.conversations, "errors": self.errors, "error_rate": self.error_rate,
                "safety_incidents": self.safety_incidents, "cost_usd": self.cost_usd, "resolved": self.resolved,
                "cost_per_resolution": self.cost_per_resolution, "cost_unknown": self.cost_unknown,
                "last_started_at": self.last_started_at.isoformat() if self.last_started_at else None}


@dataclass(frozen=True)
class WindowSummary:
    start: datetime
    end: datetime
    candidate: ArmSummary
    baseline: ArmSummary
    other_conversations: int
    models: dict[str, dict[str, int]]  # arm -> model -> conversations

    @property
    def hours(self) -> float:
        return max((self.end - self.start).total_seconds() / 3600.0, 1e-9)

    @property
    def conversations_per_hour(self) -> float:
        return (self.candidate.conversations + self.baseline.conversations + self.other_conversations) / self.hours

    def to_dict(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "hours": round(self.hours, 3),
                "conversations_per_hour": round(self.conversations_per_hour, 2),
                "candidate": self.candidate.to_dict(), "baseline": self.baseline.to_dict(),
                "other_conversations": self.other_conversations, "models": self.models}


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def summarize(f: pl.DataFrame, start: datetime, end: datetime) -> WindowSummary:
    """Aggregates of the conversations started in ``[start, end)``."""
    start, end = _utc(start), _utc(end)
    w = f.filter((pl.col("started_at") >= start) & (pl.col("started_at") < end))
    agg = w.group_by("arm").agg(
        pl.len().alias("n"), pl.col("has_error").sum().alias("err"), pl.col("safety").sum().alias("saf"),
        pl.col("cost").sum().alias("cost"), pl.col("resolved").sum().alias("res"),
        (pl.col("cost") ** 2).sum().alias("cost_sq"),
        pl.col("cost").filter(pl.col("resolved")).sum().alias("cost_res"),
        pl.col("started_at").max().alias("last"), pl.col("cost").is_null().sum().alias("cost_unknown"))
    arms = {r["arm"]: r for r in agg.iter_rows(named=True)}

    def arm(name: str) -> ArmSummary:
        r = arms.get(name)
        if r is None:
            return ArmSummary(0, 0, 0, 0.0, 0)
        return ArmSummary(int(r["n"]), int(r["err"]), int(r["saf"]), float(r["cost"]), int(r["res"]),
                          float(r["cost_sq"] or 0.0), float(r["cost_res"] or 0.0),
                          _utc(r["last"]) if r["last"] is not None else None, int(r["cost_unknown"] or 0))

    models: dict[str, dict[str, int]] = {}
    for r in w.group_by("arm", "model").len().iter_rows(named=True):
        models.setdefault(r["arm"], {})[str(r["model"])] = int(r["len"])
    other = int(arms["other"]["n"]) if "other" in arms else 0
    return WindowSummary(start, end, arm("candidate"), arm("baseline"), other, models)


def last_conversation(f: pl.DataFrame) -> datetime | None:
    """Start of the newest conversation in ``f`` (the feed's freshness)."""
    if f.height == 0:
        return None
    return _utc(f["started_at"].max())


def data_clock(f: pl.DataFrame) -> datetime | None:
    """The traffic's data time: the last conversation start, rounded up to the hour."""
    if f.height == 0:
        return None
    t = _utc(f["started_at"].max())
    floor = t.replace(minute=0, second=0, microsecond=0)
    return floor if floor == t else floor + timedelta(hours=1)


def windows(start: datetime, end: datetime, hours: float) -> list[tuple[datetime, datetime]]:
    """Consecutive watch windows of ``hours`` covering ``[start, end)`` (the last may be shorter)."""
    out, t = [], _utc(start)
    end = _utc(end)
    n = max(1, math.ceil((end - t).total_seconds() / 3600.0 / hours - 1e-9))
    for i in range(n):
        a = t + timedelta(hours=hours * i)
        b = min(end, t + timedelta(hours=hours * (i + 1)))
        if b > a:
            out.append((a, b))
    return out
