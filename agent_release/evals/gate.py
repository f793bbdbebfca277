"""The pre-prod promotion gate: four criteria written in the release spec before the run.

``decide(spec, golden_results, findings, latency_inputs, cost_inputs)`` → :class:`GateDecision`.
PROMOTE only if all four pass; otherwise BLOCK, naming every failing criterion with its numbers.

Burden of proof is on the candidate: **every criterion is decided on the unfavourable end of its
interval** (two-sided ``spec.gate.confidence`` interval, i.e. a one-sided test at
``(1 - confidence) / 2``), so PROMOTE means the data show the candidate within bounds, not merely
that a point estimate is. The rule used is written into each criterion (``rule``) and into the
decision reasons; ``rules={"p95_latency": "point", ...}`` switches a criterion to its point
estimate (and changes the config hash).

1. ``golden_accuracy`` — paired over the same golden cases: candidate − baseline accuracy,
   Tango score interval for paired proportions (``stats.mcnemar_paired``; the exact McNemar
   p-value and a paired-bootstrap interval are reported alongside). PASS if the lower bound
   ≥ −tolerance_points/100. Cases that flipped pass→fail are listed. Agent errors count as fails.
2. ``new_high_severity`` — failure signatures with a blocking severity that fail for the
   candidate and not for the baseline (``findings.new_high_severity_failures``). PASS if none
   (or if ``block_on_new_high_severity`` is false — then the list is informational). Rule
   ``any`` (default, zero tolerance): one failing attempt makes a signature new. Rule
   ``reproduced``: the candidate must fail the signature in ≥ 50% of its attempts (run the corpus
   with several trials) — with stochastic agents a single sampled failure is common even for an
   unchanged agent (support-bot@1 vs itself with another seed: 3 "new" signatures out of 114
   probes at one trial), so ``any`` blocks on noise; ``reproduced`` + trials ≥ 3 does not.
3. ``p95_latency`` — p95 of the candidate's per-assistant-turn latency on replayed traffic
   (suite ``replay``; all supplied turns when no suite column), over answered turns: a turn that
   failed after its retries is an error (error rate, outcomes), and its time is mostly the
   client's backoff, not the agent's answer time; their number is in the details. With a cluster bootstrap
   interval (conversations resampled, ``stats.bootstrap_quantile_ci``). PASS if the upper bound
   ≤ ``p95_latency_budget_ms``.
4. ``cost_per_resolution`` — candidate total cost / resolved conversations on replayed traffic,
   bootstrap interval over conversations. PASS if the upper bound ≤ forecast × cost_allowance.

Missing inputs fail closed (a criterion without data is FAIL "no data"). Inputs whose
``spec_hash`` differs from the spec's are stale and rejected (:class:`StaleResultError`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl

from agent_release.evals.findings import new_high_severity_failures
from agent_release.evals.latency import conversations_frame, turns_frame

EVAL_CODE_VERSION = "evals-gate-1"
CRITERIA = ("golden_accuracy", "new_high_severity", "p95_latency", "cost_per_resolution")
DEFAULT_RULES = {"golden_accuracy": "ci_lower", "new_high_severity": "any", "p95_latency": "ci_upper",
                 "cost_per_resolution": "ci_upper"}
#: ``new_high_severity`` rule → minimum share of the candidate's attempts that must fail.
NEW_FAILURE_RULES = {"any": 0.0, "reproduced": 0.5}


class StaleResultError(ValueError):
    """An input was computed under another release-spec hash."""


@dataclass
class Criterion:
    name: str
    passed: bool
    value: float | None
    threshold: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    rule: str = ""
    unit: str = ""
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return "PASS" if self.passed else "FAIL"


@dataclass
class GateDecision:
    release_id: str
    spec_hash: str
    decided_at: datetime
    decision: str  # PROMOTE | BLOCK
    reasons: list[str]
    criteria: list[Criterion]
    inputs: dict[str, Any]
    config_hash: str
    baseline_version: str
    candidate_version: str

    def criterion(self, name: str) -> Criterion:
        return next(c for c in self.criteria if c.name == name)

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.criteria if not c.passed]

    def to_row(self) -> dict[str, Any]:
        """A flat, DuckDB-ready dict (scalars and JSON strings only)."""
        row: dict[str, Any] = {
            "release_id": self.release_id, "spec_hash": self.spec_hash, "decided_at": self.decided_at,
            "decision": self.decision, "reasons": json.dumps(self.reasons, ensure_ascii=False),
            "baseline_version": self.baseline_version, "candidate_version": self.candidate_version,
        }
        for c in self.criteria:
            row[f"{c.name}_value"] = c.value
            row[f"{c.name}_threshold"] = c.threshold
            row[f"{c.name}_ci_low"] = c.ci_low
            row[f"{c.name}_ci_high"] = c.ci_high
            row[f"{c.name}_rule"] = c.rule
            row[f"{c.name}_pass"] = c.passed
        row["criteria_json"] = json.dumps([asdict(c) for c in self.criteria], ensure_ascii=False, default=_json_default)
        row["inputs_json"] = json.dumps(self.inputs, ensure_ascii=False, sort_keys=True, default=_json_default)
        row["config_hash"] = self.config_hash
        return row


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, datetime):
        return o.isoformat()
    return str(o)


def _check_fresh(name: str, df: pl.DataFrame | None, spec_hash: str) -> None:
    if df is None or df.is_empty() or "spec_hash" not in df.columns:
        return
    hashes = {h for h in df["spec_hash"].unique().to_list() if h}
    stale = hashes - {spec_hash}
    if stale:
        raise StaleResultError(f"{name}: computed under spec hash {sorted(stale)[0]}, not {spec_hash}; re-run it")


def _finite(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


# --------------------------------------------------------------------------- criteria
def golden_accuracy_criterion(golden: pl.DataFrame | None, base: str, cand: str, tolerance_points: float,
                              confidence: float, rule: str = "ci_lower", n_boot: int = 2000,
                              seed: int = 0) -> Criterion:
    from agent_release import stats

    thr = -tolerance_points / 100.0
    name = "golden_accuracy"
    if golden is None or golden.is_empty():
        return Criterion(name, False, None, thr, rule=rule, unit="fraction", reason="no golden results: fail closed")
    b = golden.filter(pl.col("agent_version") == base).select("case_id", pl.col("passed").alias("pb"),
                                                                *[c for c in ("intent", "locale") if c in golden.columns])
    c = golden.filter(pl.col("agent_version") == cand).select("case_id", pl.col("passed").alias("pc"),
                                                                *([pl.col("error").alias("err_c")] if "error" in golden.columns else []))
    if b.is_empty() or c.is_empty():
        missing = base if b.is_empty() else cand
        return Criterion(name, False, None, thr, rule=rule, unit="fraction",
                         reason=f"no golden results for {missing}: fail closed")
    paired = b.join(c, on="case_id", how="inner").sort("case_id")
    if paired.is_empty():
        return Criterion(name, False, None, thr, rule=rule, unit="fraction", reason="no common golden cases")
    pc = paired["pc"].fill_null(False).to_numpy()
    pb = paired["pb"].fill_null(False).to_numpy()
    alpha = (1 - confidence) / 2
    res = stats.mcnemar_paired(pc, pb, margin=tolerance_points / 100.0, alpha=alpha)
    boot = stats.paired_bootstrap_delta(pc.astype(float), pb.astype(float), n_boot=n_boot, seed=seed,
                                        confidence=confidence)
    flipped = paired.filter(pl.col("pb") & ~pl.col("pc").fill_null(False))
    fixed = paired.filter(~pl.col("pb").fill_null(False) & pl.col("pc"))
    flip_cols = [x for x in ("case_id", "intent", "locale") if x in flipped.columns]
    value = float(res.estimate)
    decisive = res.ci_low if rule == "ci_lower" else value
    passed = bool(decisive >= thr - 1e-12)
    errors_c = int(paired["err_c"].is_not_null().sum()) if "err_c" in paired.columns else 0
    reason = (f"accuracy {res.details['accuracy_candidate']:.1%} vs {res.details['accuracy_baseline']:.1%} "
              f"(Δ {value * 100:+.2f} pts, {confidence:.0%} CI [{res.ci_low * 100:+.2f}, {res.ci_high * 100:+.2f}]); "
              f"{'lower bound' if rule == 'ci_lower' else 'point estimate'} "
              f"{decisive * 100:+.2f} {'≥' if passed else '<'} {thr * 100:+.2f} pts; "
              f"{flipped.height} case(s) flipped pass→fail, {fixed.height} fail→pass")
    return Criterion(name, passed, value, thr, _finite(res.ci_low), _finite(res.ci_high), rule, "fraction", reason, {
        "n_pairs": paired.height, "accuracy_baseline": res.details["accuracy_baseline"],
        "accuracy_candidate": res.details["accuracy_candidate"], "mcnemar_exact_p": res.details["mcnemar_exact_p"],
        "noninferiority_p": res.p_value, "method": res.method, "alpha_one_sided": alpha,
        "bootstrap_ci": [boot.ci_low, boot.ci_high], "flipped_pass_to_fail": flipped.select(flip_cols).to_dicts(),
        "flipped_fail_to_pass": fixed.height, "candidate_errors": errors_c,
        "unpaired_cases": int(golden.filter(pl.col("agent_version").is_in([base, cand]))["case_id"].n_unique() - paired.height),
    })


def new_high_severity_criterion(findings: pl.DataFrame | None, base: str, cand: str, severities: tuple[str, ...],
                                block: bool, rule: str = "any") -> Criterion:
    name = "new_high_severity"
    if rule not in NEW_FAILURE_RULES:
        raise ValueError(f"new_high_severity rule must be one of {', '.join(NEW_FAILURE_RULES)}")
    if findings is None or findings.is_empty() or findings.filter(pl.col("agent_version") == cand).is_empty():
        return Criterion(name, False, None, 0, rule=rule, unit="signatures",
                         reason="no adversarial findings for the candidate: fail closed")
    new = new_high_severity_failures(findings, base, cand, severities, NEW_FAILURE_RULES[rule])
    n = new.height
    passed = n == 0 or not block
    listing = new.select("failure_signature", "source", "probe", "category", "severity", "detector",
                         "candidate_fails", "candidate_attempts", "baseline_ran").to_dicts()
    names = ", ".join(f"{r['probe']} ({r['severity']}, {r['category']})" for r in listing[:8])
    more = f" and {n - 8} more" if n > 8 else ""
    if n == 0:
        reason = f"no new {'/'.join(severities)} failures vs {base}"
    else:
        reason = f"{n} new {'/'.join(severities)} failure(s) vs {base}: {names}{more}"
        if not block:
            reason += " (informational: block_on_new_high_severity is false)"
    cand_rows = findings.filter(pl.col("agent_version") == cand)
    if rule == "reproduced":
        reason += " (counting signatures the candidate fails in ≥ 50% of its attempts)"
    return Criterion(name, passed, float(n), 0.0, None, None, rule, "signatures", reason, {
        "new_failures": listing, "blocking_severities": list(severities), "block": block,
        "candidate_rows": cand_rows.height,
        "candidate_failed": int((cand_rows["passed"] == False).sum()),  # noqa: E712
        "candidate_errors": int(cand_rows["error"].is_not_null().sum()),
    })


def _latency_turns(latency_inputs: pl.DataFrame | None) -> pl.DataFrame:
    if latency_inputs is None or latency_inputs.is_empty():
        return pl.DataFrame()
    t = turns_frame(latency_inputs)
    if "suite" in t.columns and (t["suite"] == "replay").any():
        t = t.filter(pl.col("suite") == "replay")
    return t


def p95_latency_criterion(latency_inputs: pl.DataFrame | None, cand: str, budget_ms: float, confidence: float,
                          rule: str = "ci_upper", n_boot: int = 1000, seed: int = 0) -> Criterion:
    from agent_release import stats

    name = "p95_latency"
    t = _latency_turns(latency_inputs)
    t = t.filter(pl.col("agent_version") == cand) if not t.is_empty() else t
    failed = int(t["error"].is_not_null().sum()) if "error" in t.columns and not t.is_empty() else 0
    if failed:
        t = t.filter(pl.col("error").is_null())
    if t.is_empty():
        return Criterion(name, False, None, budget_ms, rule=rule, unit="ms", reason="no latency data for the candidate: fail closed")
    vals = t["latency_ms"].to_numpy()
    ci = stats.bootstrap_quantile_ci(vals, q=0.95, n_boot=n_boot, seed=seed,
                                     cluster_ids=t["conversation_id"].to_list(), confidence=confidence)
    decisive = ci.ci_high if rule == "ci_upper" else ci.estimate
    passed = bool(decisive <= budget_ms)
    reason = (f"p95 {ci.estimate:.0f} ms ({confidence:.0%} CI [{ci.ci_low:.0f}, {ci.ci_high:.0f}]) over "
              f"{len(vals)} turns; {'upper bound' if rule == 'ci_upper' else 'point estimate'} {decisive:.0f} "
              f"{'≤' if passed else '>'} budget {budget_ms:.0f} ms")
    p = stats.percentiles(vals)
    return Criterion(name, passed, float(ci.estimate), float(budget_ms), float(ci.ci_low), float(ci.ci_high), rule,
                     "ms", reason, {"turns": len(vals), "failed_turns_excluded": failed, "conversations": ci.n_clusters, "p50": p["p50"], "p99": p["p99"],
                                    "method": ci.method, "suite": t["suite"].unique().to_list()})


def _ratio_bootstrap(cost: np.ndarray, resolved: np.ndarray, n_boot: int, seed: int, confidence: float):
    rng = np.random.default_rng(seed)
    n = cost.size
    draws = np.empty(n_boot)
    for s in range(0, n_boot, 256):
        e = min(n_boot, s + 256)
        idx = rng.integers(0, n, size=(e - s, n))
        num = cost[idx].sum(axis=1)
        den = resolved[idx].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            draws[s:e] = np.where(den > 0, num / np.maximum(den, 1), np.inf)
    lo, hi = np.percentile(draws, [50 * (1 - confidence), 50 * (1 + confidence)])
    return float(lo), float(hi)


def cost_criterion(cost_inputs: pl.DataFrame | None, cand: str, forecast: float, allowance: float, confidence: float,
                   rule: str = "ci_upper", n_boot: int = 2000, seed: int = 0) -> Criterion:
    name = "cost_per_resolution"
    thr = forecast * allowance
    if cost_inputs is None or cost_inputs.is_empty():
        return Criterion(name, False, None, thr, rule=rule, unit="usd", reason="no cost data: fail closed")
    convs = cost_inputs if {"resolved", "cost_usd"} <= set(cost_inputs.columns) and "messages" not in cost_inputs.columns \
        else conversations_frame(cost_inputs)
    if "suite" in convs.columns and (convs["suite"] == "replay").any():
        convs = convs.filter(pl.col("suite") == "replay")
    convs = convs.filter(pl.col("agent_version") == cand)
    if convs.is_empty():
        return Criterion(name, False, None, thr, rule=rule, unit="usd", reason="no cost data for the candidate: fail closed")
    cost = convs["cost_usd"].fill_null(0.0).to_numpy().astype(float)
    res = convs["resolved"].fill_null(False).to_numpy().astype(float)
    n_res = int(res.sum())
    if n_res == 0:
        return Criterion(name, False, None, thr, rule=rule, unit="usd",
                         reason=f"0 of {convs.height} conversations resolved: cost per resolution undefined, fail closed")
    value = float(cost.sum() / n_res)
    lo, hi = _ratio_bootstrap(cost, res, n_boot, seed, confidence)
    decisive = hi if rule == "ci_upper" else value
    passed = bool(decisive <= thr)
    reason = (f"${value:.4f} per resolution ({confidence:.0%} CI [${lo:.4f}, ${hi:.4f}]; {n_res}/{convs.height} resolved); "
              f"{'upper bound' if rule == 'ci_upper' else 'point estimate'} ${decisive:.4f} {'≤' if passed else '>'} "
              f"forecast ${forecast:.4f} × {allowance:.2f} = ${thr:.4f}")
    return Criterion(name, passed, value, thr, _finite(lo), _finite(hi), rule, "usd", reason, {
        "conversations": convs.height, "resolved": n_res, "total_cost_usd": float(cost.sum()),
        "forecast_usd": forecast, "allowance": allowance, "resolution_rate": n_res / convs.height})


# --------------------------------------------------------------------------- decision
def config_hash(spec: Any, rules: dict, n_boot: int, seed: int, extra: dict | None = None) -> str:
    canon = json.dumps({"gate": asdict(spec.gate), "rules": rules, "n_boot": n_boot, "seed": seed,
                        "code": EVAL_CODE_VERSION, **(extra or {})}, sort_keys=True, default=list)
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def decide(spec: Any, golden_results: pl.DataFrame | None, findings: pl.DataFrame | None,
           latency_inputs: pl.DataFrame | None, cost_inputs: pl.DataFrame | None, *,
           rules: dict | None = None, decided_at: datetime | None = None, n_boot: int = 2000, seed: int = 0,
           extra_inputs: dict | None = None) -> GateDecision:
    """Apply the spec's four criteria; see the module docstring for each rule."""
    g = spec.gate
    rules = {**DEFAULT_RULES, **(rules or {})}
    base, cand = spec.baseline.version, spec.candidate.version
    for nm, df in (("golden_results", golden_results), ("findings", findings), ("latency_inputs", latency_inputs),
                   ("cost_inputs", cost_inputs)):
        _check_fresh(nm, df, spec.spec_hash)
    crit = [
        golden_accuracy_criterion(golden_results, base, cand, g.golden_accuracy_tolerance_points, g.confidence,
                                  rules["golden_accuracy"], n_boot, seed),
        new_high_severity_criterion(findings, base, cand, tuple(g.blocking_severities), g.block_on_new_high_severity,
                                    rules["new_high_severity"]),
        p95_latency_criterion(latency_inputs, cand, g.p95_latency_budget_ms, g.confidence, rules["p95_latency"],
                              min(n_boot, 1000), seed),
        cost_criterion(cost_inputs, cand, g.cost_per_resolution_forecast_usd, g.cost_allowance, g.confidence,
                       rules["cost_per_resolution"], n_boot, seed),
    ]
    decision = "PROMOTE" if all(c.passed for c in crit) else "BLOCK"
    reasons = ([f"{c.name}: FAIL — {c.reason}" for c in crit if not c.passed] if decision == "BLOCK"
               else [f"{c.name}: PASS — {c.reason}" for c in crit])

    def count(df: pl.DataFrame | None, agent: str) -> int:
        return 0 if df is None or df.is_empty() or "agent_version" not in df.columns else \
            int((df["agent_version"] == agent).sum())
    inputs = {
        "baseline": {"version": base, "model": spec.baseline.model},
        "candidate": {"version": cand, "model": spec.candidate.model},
        "golden_rows": {base: count(golden_results, base), cand: count(golden_results, cand)},
        "findings_rows": {base: count(findings, base), cand: count(findings, cand)},
        "latency_rows": {base: count(latency_inputs, base), cand: count(latency_inputs, cand)},
        "cost_rows": {base: count(cost_inputs, base), cand: count(cost_inputs, cand)},
        "findings_sources": sorted(findings["source"].unique().to_list()) if findings is not None and not findings.is_empty() else [],
        "golden_versions": sorted(golden_results["golden_version"].unique().drop_nulls().to_list())
        if golden_results is not None and "golden_version" in (golden_results.columns if golden_results is not None else []) else [],
        "models_reported": _models(golden_results),
        "rules": rules, "confidence": g.confidence, "n_boot": n_boot, "seed": seed,
        **(extra_inputs or {}),
    }
    return GateDecision(
        release_id=spec.release_id, spec_hash=spec.spec_hash,
        decided_at=decided_at or datetime.now(UTC).replace(microsecond=0), decision=decision, reasons=reasons,
        criteria=crit, inputs=inputs, config_hash=config_hash(spec, rules, n_boot, seed,
                                                              {"golden_versions": inputs["golden_versions"]}),
        baseline_version=base, candidate_version=cand,
    )


def _models(golden: pl.DataFrame | None) -> dict:
    if golden is None or golden.is_empty() or "model" not in golden.columns:
        return {}
    out = {}
    for r in golden.group_by("agent_version").agg(pl.col("model").drop_nulls().unique()).iter_rows(named=True):
        out[r["agent_version"]] = sorted(r["model"])
    return out
