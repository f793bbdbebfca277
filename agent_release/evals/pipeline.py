"""Run every pre-prod suite for a release spec and decide — one call for the CLI, tests and assets.

``evaluate_release(spec)`` builds both agents from the spec (in-process by default), runs the
golden set, the adversarial corpus (plus any ingested garak / PyRIT findings) and the scenario
battery against each, summarises latency and cost, and applies the gate. Latency and cost
criteria use **replayed traffic** when ``replay_frame`` is given (the replay engine's output, both
agents); otherwise they fall back to the golden + scenario turns and the decision's inputs say so
(``latency_source``).

The Dagster assets can call the pieces separately (``runner.run_golden`` etc.) and persist each
table; this helper is the reference wiring.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from agent_release.evals.corpus import corpus_hash, load_corpus
from agent_release.evals.findings import Mask, identity_mask
from agent_release.evals.gate import GateDecision, decide
from agent_release.evals.golden import golden_version_hash, load_golden
from agent_release.evals.latency import latency_cost_summary
from agent_release.evals.runner import run_adversarial, run_golden, run_sync
from agent_release.evals.scenarios import load_battery, run_scenarios, scenario_summary


@dataclass
class EvalBundle:
    golden: pl.DataFrame
    findings: pl.DataFrame
    scenarios: pl.DataFrame
    scenario_summary: dict[str, pl.DataFrame]
    latency_cost: dict[str, pl.DataFrame]
    decision: GateDecision
    inputs: dict[str, Any] = field(default_factory=dict)


def _agent_for(agent_spec: Any) -> Any:
    from agent_release.agents import make_agent

    return make_agent(agent_spec.agent_config())


async def evaluate_release_async(spec: Any, *, agents: dict[str, Any] | None = None, cases: list[dict] | None = None,
                                 probes: list[dict] | None = None, scenarios: list[dict] | None = None,
                                 replay_frame: pl.DataFrame | None = None,
                                 extra_findings: list[pl.DataFrame] | None = None, mask: Mask = identity_mask,
                                 concurrency: int = 16, adversarial_trials: int = 1, judge: Any = None,
                                 rules: dict | None = None) -> EvalBundle:
    cases = load_golden() if cases is None else cases
    probes = load_corpus() if probes is None else probes
    scenarios = load_battery() if scenarios is None else scenarios
    agents = agents or {a.version: _agent_for(a) for a in (spec.baseline, spec.candidate)}
    golden, findings, scen = [], [], []
    common = {"release_id": spec.release_id, "spec_hash": spec.spec_hash}
    for a_spec in (spec.baseline, spec.candidate):
        agent = agents[a_spec.version]
        golden.append(await run_golden(agent, cases, concurrency, agent_version=a_spec.version, judge=judge, **common))
        findings.append(await run_adversarial(agent, probes, concurrency, agent_version=a_spec.version, mask=mask,
                                              trials=adversarial_trials, **common))
        scen.append(await run_scenarios(agent, scenarios, spec.gate.scenario_trials, concurrency,
                                        agent_version=a_spec.version, **common))
    g = pl.concat(golden, how="vertical_relaxed")
    f = pl.concat(findings + list(extra_findings or []), how="vertical_relaxed")
    s = pl.concat(scen, how="vertical_relaxed")
    summary = scenario_summary(s)
    if replay_frame is not None and not replay_frame.is_empty():
        lc = latency_cost_summary(replay_frame, golden=g, scenarios=s)
        lat_in, cost_in, source = replay_frame, replay_frame, "replay"
    else:
        lc = latency_cost_summary(pl.DataFrame(), golden=g, scenarios=s)
        lat_in = lc["turns"]
        from agent_release.evals.latency import conversations_frame

        cost_in = pl.concat([conversations_frame(g, "golden"), conversations_frame(s, "scenarios")], how="vertical_relaxed")
        source = "golden+scenarios (no replayed traffic supplied)"
    inputs = {"latency_source": source, "golden_cases": len(cases), "golden_hash": golden_version_hash(cases),
              "corpus_probes": len(probes), "corpus_hash": corpus_hash(probes), "scenarios": len(scenarios),
              "scenario_trials": spec.gate.scenario_trials, "adversarial_trials": adversarial_trials,
              "scenario_pass_hat_k": {r["agent_version"]: r["pass_hat_k"] for r in
                                      summary["by_kind"].filter(pl.col("kind") == "all").iter_rows(named=True)}}
    # what each suite should have produced per agent: the gate refuses evidence with rows missing
    expected = {"golden": len(cases), "adversarial": len(probes) * max(1, adversarial_trials),
                "scenarios": len(scenarios) * spec.gate.scenario_trials}
    decision = decide(spec, g, f, lat_in, cost_in, rules=rules, extra_inputs=inputs, scenario_results=s,
                      expected=expected)
    return EvalBundle(g, f, s, summary, lc, decision, inputs)


def evaluate_release(spec: Any, **kw: Any) -> EvalBundle:
    """Synchronous :func:`evaluate_release_async`."""
    return run_sync(evaluate_release_async(spec, **kw))
