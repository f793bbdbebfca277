"""Full re-evaluation of each production agent, due at least every 90 days.

The nightly regression watches for *change*; the full re-evaluation asks again the question the
pre-prod gate asked when the agent was promoted — is it still within what its release promised? —
because the world moves (traffic mix, prices, policies) even when the agent does not. Per production
agent, with the release spec that names it (its budgets and rules):

* the full golden set, the adversarial corpus at the spec's ``adversarial_trials`` and the scenario
  battery at ``scenario_trials`` (:func:`agent_release.monitoring.nightly.run_suites`);
* a replay of recent masked production conversations (``masking.masked_conversations``; the spec's
  replay sample size and seed, so an unchanged agent reproduces its pre-prod replay) for latency
  and cost;
* the gate's four criteria (``agent_release.evals.gate``), re-applied: **golden accuracy** against
  the blessed baseline (else the agent's own pre-prod golden results) within the spec's tolerance;
  **no new high-severity failure** against the agent's pre-prod findings with the spec's
  ``new_failure_rule``; **p95 latency** within ``p95_latency_budget_ms`` (the spec's rule); **cost
  per resolution** within allowance × the forecast (an agent promoted as the candidate: the
  forecast it was promoted on) or × its own pre-prod replay cost per resolution (an incumbent that
  was the baseline: the forecast was the candidate's, not its) — plus the scenario pass^k rate
  (reported).

The gate's burden-of-proof rules (decide on the unfavourable end of an interval) answer "may a *new*
agent replace the old one?"; a re-evaluation asks "has the *running* agent deteriorated?", so golden
accuracy and cost are judged on their point estimates (``point`` rule; intervals reported) —
re-evaluating an unchanged agent must pass. p95 latency keeps the spec's rule: its budget is an
absolute service requirement.

One row per agent and criterion in ``monitoring.reevaluations``; ``PASS`` only if all four pass.
Overdue (older than 90 days, or never done for a production agent) is what the freshness policy,
the freshness check and the ``production_agents_reevaluated`` check show in the UI.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

REEVALUATIONS = "monitoring.reevaluations"
MAX_AGE_DAYS = 90


def _spec_for(pa: Any):
    from agent_release.release_spec import list_releases, load_release

    if pa.release_id:
        return load_release(pa.release_id)
    for rid in reversed(list_releases()):
        s = load_release(rid)
        if pa.version in (s.candidate.version, s.baseline.version):
            return s
    return None


def reevaluate(lake, pa: Any, *, baselines_dir: Path, replay_conversations: int | None = None, latency_scale: float = 0.0,
               mask: Any = None, now: datetime | None = None) -> pl.DataFrame:
    """Re-evaluate one production agent; returns its ``monitoring.reevaluations`` rows."""
    from agent_release.agent_endpoints import open_agent, sample_conversations
    from agent_release.evals import gate
    from agent_release.evals.scenarios import scenario_summary
    from agent_release.monitoring.nightly import NightlySizes, find_baseline, run_suites
    from agent_release.replay import ReplayConfig, run_replay

    now = now or datetime.now(UTC)
    spec = _spec_for(pa)
    if spec is None:
        raise ValueError(f"{pa.version}: no release spec names this agent; its budgets are unknown")
    g = spec.gate
    label = f"reeval-{now:%Y%m%d}"
    sizes = NightlySizes(adversarial_trials=g.adversarial_trials, scenario_trials=g.scenario_trials)
    runs = run_suites(pa.spec, label, sizes, latency_scale=latency_scale, mask=mask)
    v = pa.version
    replayed = pl.DataFrame()
    n_replay = spec.replay.conversations if replay_conversations is None else replay_conversations
    if lake.exists("masking.masked_conversations") and n_replay > 0:
        sample = sample_conversations(lake.read("masking.masked_conversations"), n_replay, spec.replay.seed)
        with open_agent(pa.spec, latency_scale=latency_scale, concurrency=spec.replay.concurrency) as agent:
            replayed = run_replay(sample, agent, ReplayConfig(concurrency=spec.replay.concurrency)).frame
    # golden vs blessed baseline (else own pre-prod results)
    found = find_baseline(v, baselines_dir)
    ref_label = "blessed baseline"
    if found is not None:
        ref = found[1]
        ref_label = f"blessed baseline {found[2].name}"
    else:
        ref = _preprod(lake, "evals.golden_results", v)
        ref_label = "pre-prod golden results"
    golden = pl.concat([ref.select("case_id", "passed").with_columns(pl.lit("reference").alias("agent_version")),
                        runs["golden"].select("case_id", "passed", "agent_version")], how="diagonal_relaxed")
    crit = [gate.golden_accuracy_criterion(golden if ref.height else None, "reference", v,
                                           g.golden_accuracy_tolerance_points, g.confidence, "point")]
    crit[0].reason += f" (reference: {ref_label})"
    fref = _preprod(lake, "evals.findings", v)
    findings = pl.concat([fref.with_columns(pl.lit("reference").alias("agent_version")), runs["findings"]],
                         how="diagonal_relaxed") if fref.height else runs["findings"]
    if fref.height:
        crit.append(gate.new_high_severity_criterion(findings, "reference", v, g.blocking_severities,
                                                     g.block_on_new_high_severity, g.new_failure_rule))
    else:
        crit.append(gate.Criterion("new_high_severity", True, None, 0.0, rule=g.new_failure_rule, unit="signatures",
                                   reason="no pre-prod findings for this agent: nothing to compare (first evaluation)"))
    crit.append(gate.p95_latency_criterion(replayed if replayed.height else None, v, g.p95_latency_budget_ms,
                                           g.confidence, g.latency_rule))
    forecast, basis = g.cost_per_resolution_forecast_usd, "the release's forecast"
    if v != spec.candidate.version:
        own = _preprod(lake, "evals.cost_summary", v)
        own = own.filter(pl.col("suite") == "replay") if own.height else own
        if own.height:
            forecast, basis = float(own["cost_per_resolution_usd"][0]), "its own pre-prod replay cost per resolution"
    cost = gate.cost_criterion(replayed if replayed.height else None, v, forecast, g.cost_allowance, g.confidence,
                               "point")
    cost.reason += f" (reference: {basis})"
    crit.append(cost)
    by_kind = scenario_summary(runs["scenarios"])["by_kind"].filter(pl.col("kind") == "all")
    hat_k = float(by_kind["pass_hat_k"][0]) if by_kind.height else None
    verdict = "PASS" if all(c.passed for c in crit) else "FAIL"
    rows = [{"evaluated_at": now, "agent_version": v, "model": pa.spec.model, "release_id": spec.release_id,
             "spec_hash": spec.spec_hash, "criterion": c.name, "passed": c.passed, "value": c.value,
             "threshold": c.threshold, "ci_low": c.ci_low, "ci_high": c.ci_high, "rule": c.rule, "reason": c.reason,
             "verdict": verdict} for c in crit]
    rows.append({"evaluated_at": now, "agent_version": v, "model": pa.spec.model, "release_id": spec.release_id,
                 "spec_hash": spec.spec_hash, "criterion": "scenario_pass_hat_k", "passed": None, "value": hat_k,
                 "threshold": None, "ci_low": None, "ci_high": None, "rule": "reported",
                 "reason": json.dumps({"scenarios": runs["sizes"]["scenarios"], "trials": g.scenario_trials}),
                 "verdict": verdict})
    return pl.DataFrame(rows, schema=SCHEMA, strict=False)


SCHEMA = {"evaluated_at": pl.Datetime("us", "UTC"), "agent_version": pl.String, "model": pl.String,
          "release_id": pl.String, "spec_hash": pl.String, "criterion": pl.String, "passed": pl.Boolean,
          "value": pl.Float64, "threshold": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
          "rule": pl.String, "reason": pl.String, "verdict": pl.String}


def _preprod(lake, table: str, agent: str) -> pl.DataFrame:
    if not lake.exists(table):
        return pl.DataFrame()
    for p in lake.partitions(table):
        df = lake.read(table, partition=p).filter(pl.col("agent_version") == agent)
        if "source" in df.columns:
            df = df.filter(pl.col("source") == "corpus")
        if df.height:
            return df
    return pl.DataFrame()


def overdue(lake, agents: list[Any], *, now: datetime | None = None, max_age_days: int = MAX_AGE_DAYS) -> list[dict]:
    """Per production agent: last full re-evaluation, its age in days, and whether it is overdue."""
    now = now or datetime.now(UTC)
    last: dict[str, datetime] = {}
    if lake.exists(REEVALUATIONS):
        df = lake.read(REEVALUATIONS).group_by("agent_version").agg(pl.col("evaluated_at").max())
        last = dict(zip(df["agent_version"].to_list(), df["evaluated_at"].to_list(), strict=True))
    out = []
    for pa in agents:
        t = last.get(pa.version)
        age = (now - t).total_seconds() / 86400 if t else None
        out.append({"agent_version": pa.version, "last_reevaluated": t, "age_days": age,
                    "overdue": t is None or age > max_age_days})
    return out
