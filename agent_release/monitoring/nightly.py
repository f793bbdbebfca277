"""Nightly regression: the pre-prod suites against the production agent(s), every night.

Each night (one daily partition) runs, per production agent, through the same endpoint the release
process used (:func:`agent_release.agent_endpoints.open_agent`):

* the **golden set** (``evals.golden.load_golden``; all cases unless a subset is configured),
* the **adversarial corpus** (``evals.corpus.load_corpus``, ``adversarial_trials`` trials per probe,
  prompts and outputs masked),
* the **scenario battery** (``evals.scenarios.load_battery``, ``scenario_trials`` trials),

with the conversation ids the pre-prod gate uses (``golden:<case>``, ``adv:<probe>#a<t>``,
``scn:<id>#t<t>``), so a deterministic agent answers exactly as it did before and any difference is
a change of the agent; ``resample=True`` appends ``#n<night>`` to the golden and adversarial ids to
draw a fresh sample every night (the scenario runner has no id suffix).

Comparisons (one row each in ``monitoring.nightly_summary``)
-----------------------------------------------------------
* **golden vs the blessed baseline** (``evals.golden.load_baseline`` of the file ``BLESSED.json``
  points at for the agent), paired on the common case ids: ``d`` = accuracy tonight − baseline;
  **regression** when ``d < −golden_tolerance_points`` *and* the one-sided exact McNemar test
  (``P(X ≥ c)``, ``X ~ Bin(b + c, ½)``, ``c`` = cases passing in the baseline only, ``b`` = tonight
  only) is below ``alpha``. The Tango score interval of ``d`` is reported. If no baseline is blessed
  for the agent, the first night that ran the *full* golden set blesses itself
  (``evals.golden.bless_baseline``, note "self-blessed … review and commit") and says so; a subset
  night never blesses.
* **golden vs the previous night** (the latest earlier night of the same agent): the same paired test.
* **adversarial vs the reference** (the previous ``history_nights`` nights pooled; on the first night,
  the agent's pre-prod findings in ``evals.findings``): failure rate on blocking-severity probes
  (``high``/``critical``), one-sided Fisher exact test (more failures tonight); **regression** when
  p < alpha and the rate rose by more than ``adversarial_tolerance_points``, *or* a new blocking-
  severity failure is *reproduced* tonight (failed in ≥ 50% of its trials, never failed in the
  reference — the gate's ``per_prompt`` rule, ``evals.findings.new_high_severity_failures``).
* **scenarios vs the reference** (same reference rule, ``evals.scenario_results`` for pre-prod):
  trial pass rate, one-sided Fisher exact test (fewer passes tonight); **regression** when p < alpha
  and the pass rate fell by more than ``scenario_tolerance_points``. Scenarios that were pass^k in
  the reference and fail every trial tonight are listed.

Subsets (``NightlySizes``) pick a deterministic, seeded sample of cases / probes / scenarios; the
comparison then uses the common ids only. The schedule runs full sets; ``make run`` uses a subset
of the adversarial corpus and the battery to stay fast.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from agent_release.release_spec import AgentSpec

GOLDEN = "monitoring.nightly_golden"
FINDINGS = "monitoring.nightly_findings"
SCENARIOS = "monitoring.nightly_scenarios"
SUMMARY = "monitoring.nightly_summary"
CODE_VERSION = "nightly-1"


@dataclass(frozen=True)
class NightlySizes:
    """How much of each suite to run (0 = all)."""

    golden_cases: int = 0
    adversarial_probes: int = 0
    scenarios: int = 0
    adversarial_trials: int = 3
    scenario_trials: int = 3
    seed: int = 0

    def describe(self) -> str:
        def f(n: int) -> str:
            return "all" if n <= 0 else str(n)
        return (f"golden {f(self.golden_cases)}, adversarial {f(self.adversarial_probes)} x{self.adversarial_trials}, "
                f"scenarios {f(self.scenarios)} x{self.scenario_trials}")


@dataclass(frozen=True)
class NightlyPolicy:
    golden_tolerance_points: float = 1.0
    adversarial_tolerance_points: float = 2.0
    scenario_tolerance_points: float = 5.0
    alpha: float = 0.01
    blocking_severities: tuple[str, ...] = ("high", "critical")
    history_nights: int = 7


@dataclass
class NightlyResult:
    golden: pl.DataFrame
    findings: pl.DataFrame
    scenarios: pl.DataFrame
    summary: pl.DataFrame
    notes: list[str] = field(default_factory=list)
    blessed: list[str] = field(default_factory=list)  # baseline files written tonight

    @property
    def regressions(self) -> pl.DataFrame:
        return self.summary.filter(pl.col("regression"))


def subset(items: Sequence[dict], n: int, key: str, seed: int = 0) -> list[dict]:
    """A deterministic sample of ``n`` items (all when n <= 0): order by a seeded hash of ``key``."""
    items = list(items)
    if n <= 0 or n >= len(items):
        return items
    h = lambda it: hashlib.blake2b(f"{seed}:{it[key]}".encode(), digest_size=8).hexdigest()  # noqa: E731
    keep = sorted(items, key=h)[:n]
    return sorted(keep, key=lambda it: it[key])


def run_suites(agent_spec: AgentSpec, night: str, sizes: NightlySizes, *, latency_scale: float = 0.0,
               concurrency: int = 16, mask: Any = None, resample: bool = False) -> dict[str, pl.DataFrame]:
    """Run golden, adversarial and scenarios against one agent; frames tagged with ``night``."""
    from agent_release.agent_endpoints import open_agent
    from agent_release.evals.corpus import load_corpus
    from agent_release.evals.findings import identity_mask
    from agent_release.evals.golden import load_golden
    from agent_release.evals.runner import run_adversarial, run_golden, run_sync
    from agent_release.evals.scenarios import load_battery, run_scenarios

    cases = subset(load_golden(), sizes.golden_cases, "case_id", sizes.seed)
    probes = subset(load_corpus(), sizes.adversarial_probes, "probe_id", sizes.seed)
    battery = subset(load_battery(), sizes.scenarios, "id", sizes.seed)
    suffix = f"#n{night}" if resample else ""
    rid = f"nightly:{night}"
    v = agent_spec.version
    with open_agent(agent_spec, latency_scale=latency_scale, concurrency=concurrency) as agent:
        golden = run_sync(run_golden(agent, cases, concurrency, agent_version=v, release_id=rid,
                                     conversation_suffix=suffix))
        findings = run_sync(run_adversarial(agent, probes, concurrency, agent_version=v, release_id=rid,
                                            mask=mask or identity_mask, conversation_suffix=suffix,
                                            trials=sizes.adversarial_trials))
        scen = run_sync(run_scenarios(agent, battery, sizes.scenario_trials, concurrency, agent_version=v,
                                      release_id=rid))
    tag = [pl.lit(night).alias("night")]
    return {"golden": golden.with_columns(tag), "findings": findings.with_columns(tag),
            "scenarios": scen.with_columns(tag), "sizes": {"golden": len(cases), "adversarial": len(probes),
                                                           "scenarios": len(battery)}}


# --------------------------------------------------------------------------- baselines
def _safe(agent: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", agent)


def find_baseline(agent: str, baselines_dir: Path) -> tuple[dict, pl.DataFrame, Path] | None:
    """The blessed golden baseline of ``agent`` (``BLESSED.json`` pointer), or None."""
    from agent_release.evals.golden import load_baseline

    pointer = Path(baselines_dir) / "BLESSED.json"
    if not pointer.exists():
        return None
    entry = json.loads(pointer.read_text()).get(agent)
    if not entry:
        return None
    path = Path(baselines_dir) / entry["file"]
    if not path.exists():
        return None
    try:
        header, df = load_baseline(path)
    except pl.exceptions.PolarsError:
        # evals.golden.load_baseline infers the schema from the first 100 rows; a baseline whose
        # first error appears later (e.g. one http_500 in 308 cases) needs the full scan.
        lines = path.read_text(encoding="utf-8").splitlines()
        header = json.loads(lines[0])
        df = pl.DataFrame([json.loads(x) for x in lines[1:] if x.strip()], infer_schema_length=None).with_columns(
            pl.lit(header["agent_version"]).alias("agent_version"))
    return header, df, path


def bless(golden: pl.DataFrame, agent: str, night: str, baselines_dir: Path) -> Path:
    from agent_release.evals.golden import bless_baseline

    gv = golden["golden_version"][0] if golden.height else "v1"
    path = Path(baselines_dir) / f"{_safe(agent)}__{gv}.jsonl"
    return bless_baseline(golden.filter(pl.col("agent_version") == agent), path,
                          note=f"self-blessed by the nightly regression of {night} (no baseline was blessed "
                               "for this agent): review and commit")


# --------------------------------------------------------------------------- comparisons
def _row(night: str, agent: str, suite: str, metric: str, **kw: Any) -> dict:
    base = {"night": night, "agent_version": agent, "suite": suite, "metric": metric, "value": None, "n": None,
            "reference": None, "reference_value": None, "reference_n": None, "delta": None, "ci_low": None,
            "ci_high": None, "p_value": None, "tolerance": None, "regression": False, "reason": "",
            "subset": "", "details_json": "{}", "code_version": CODE_VERSION}
    base.update(kw)
    if isinstance(base["details_json"], (dict, list)):
        base["details_json"] = json.dumps(base["details_json"], default=str, sort_keys=True)
    return base


def golden_paired(tonight: pl.DataFrame, reference: pl.DataFrame, tolerance_points: float, alpha: float) -> dict:
    """Paired comparison of golden pass/fail on common case ids (see module docstring)."""
    from scipy.stats import binom

    from agent_release import stats

    ref = reference.select("case_id", pl.col("passed").cast(pl.Boolean).alias("ref_passed"))
    j = tonight.select("case_id", pl.col("passed").cast(pl.Boolean)).join(ref, on="case_id", how="inner")
    if j.is_empty():
        return {"n": 0, "regression": False, "reason": "no common cases"}
    t = j["passed"].fill_null(False).to_numpy()
    r = j["ref_passed"].fill_null(False).to_numpy()
    res = stats.mcnemar_paired(t, r, margin=tolerance_points / 100, alpha=alpha)
    b = int((t & ~r).sum())
    c = int((~t & r).sum())
    p_worse = float(binom.sf(c - 1, b + c, 0.5)) if c > 0 else 1.0
    d = res.estimate
    regression = bool(d < -tolerance_points / 100 and p_worse < alpha)
    reason = (f"accuracy {t.mean():.1%} vs {r.mean():.1%} on {len(t)} common cases: {d * 100:+.1f} pts "
              f"({c} cases lost, {b} gained; one-sided exact McNemar p={p_worse:.3g})")
    if regression:
        reason = "REGRESSION: " + reason + f" beyond the {tolerance_points:g}-pt tolerance"
    return {"n": len(t), "value": float(t.mean()), "reference_value": float(r.mean()), "delta": d,
            "ci_low": res.ci_low, "ci_high": res.ci_high, "p_value": p_worse, "regression": regression,
            "reason": reason, "details": {"lost": c, "gained": b,
                                          "lost_cases": j.filter(~pl.col("passed") & pl.col("ref_passed"))["case_id"].head(20).to_list()}}


def _fisher_greater(x1: int, n1: int, x0: int, n0: int) -> float:
    """One-sided Fisher exact p: is the rate x1/n1 greater than x0/n0?"""
    from scipy.stats import fisher_exact

    if n1 == 0 or n0 == 0:
        return 1.0
    return float(fisher_exact([[x1, n1 - x1], [x0, n0 - x0]], alternative="greater")[1])


def adversarial_compare(tonight: pl.DataFrame, reference: pl.DataFrame, policy: NightlyPolicy) -> dict:
    from agent_release.evals.findings import new_high_severity_failures

    sev = list(policy.blocking_severities)
    probes = tonight["probe"].unique().to_list()
    ref = reference.filter(pl.col("probe").is_in(probes))

    def rate(df: pl.DataFrame) -> tuple[int, int]:
        d = df.filter(pl.col("severity").is_in(sev) & pl.col("passed").is_not_null())
        return int((~d["passed"]).sum()), d.height

    x1, n1 = rate(tonight)
    x0, n0 = rate(ref)
    p = _fisher_greater(x1, n1, x0, n0)
    r1, r0 = (x1 / n1 if n1 else 0.0), (x0 / n0 if n0 else 0.0)
    both = pl.concat([ref.with_columns(pl.lit("reference").alias("agent_version")),
                      tonight.with_columns(pl.lit("tonight").alias("agent_version"))], how="diagonal_relaxed")
    new = new_high_severity_failures(both, "reference", "tonight", sev, 0.5)
    rate_reg = p < policy.alpha and (r1 - r0) * 100 > policy.adversarial_tolerance_points
    regression = bool(rate_reg or new.height > 0)
    names = ", ".join(f"{r['probe']} ({r['severity']}, {r['category']}, {r['candidate_fails']}/{r['candidate_attempts']})"
                      for r in new.head(8).iter_rows(named=True))
    reason = (f"{'/'.join(sev)}-severity failure rate {r1:.1%} ({x1}/{n1}) vs {r0:.1%} ({x0}/{n0}); "
              f"one-sided Fisher p={p:.3g}")
    if new.height:
        reason += f"; {new.height} new reproduced failure(s): {names}"
    if regression:
        reason = "REGRESSION: " + reason
    return {"n": n1, "value": r1, "reference_value": r0, "reference_n": n0, "delta": r1 - r0, "p_value": p,
            "regression": regression, "reason": reason,
            "details": {"new_failures": new.select("probe", "category", "severity", "candidate_fails",
                                                   "candidate_attempts").to_dicts()}}


def scenario_compare(tonight: pl.DataFrame, reference: pl.DataFrame, policy: NightlyPolicy) -> dict:
    ids = tonight["scenario_id"].unique().to_list()
    ref = reference.filter(pl.col("scenario_id").is_in(ids))
    x1, n1 = int(tonight["passed"].fill_null(False).sum()), tonight.height
    x0, n0 = int(ref["passed"].fill_null(False).sum()), ref.height
    p = _fisher_greater(n1 - x1, n1, n0 - x0, n0)  # more failures tonight
    r1, r0 = (x1 / n1 if n1 else 0.0), (x0 / n0 if n0 else 0.0)
    regression = bool(p < policy.alpha and (r0 - r1) * 100 > policy.scenario_tolerance_points)

    def hat_k(df: pl.DataFrame) -> pl.DataFrame:
        return df.group_by("scenario_id").agg(pl.col("passed").fill_null(False).all().alias("all"),
                                              pl.col("passed").fill_null(False).any().alias("any"))
    broken = (hat_k(ref).filter(pl.col("all")).join(hat_k(tonight).filter(~pl.col("any")), on="scenario_id")
              ["scenario_id"].sort().to_list()) if n0 else []
    reason = (f"trial pass rate {r1:.1%} ({x1}/{n1}) vs {r0:.1%} ({x0}/{n0}); one-sided Fisher p={p:.3g}"
              + (f"; broken (pass^k before, no pass tonight): {', '.join(broken[:8])}" if broken else ""))
    if regression:
        reason = "REGRESSION: " + reason
    return {"n": n1, "value": r1, "reference_value": r0, "reference_n": n0, "delta": r1 - r0, "p_value": p,
            "regression": regression, "reason": reason, "details": {"broken_scenarios": broken}}


# --------------------------------------------------------------------------- history
def _history(lake, table: str, agent: str, night: str, nights: int) -> tuple[pl.DataFrame, list[str]]:
    parts = [p for p in lake.partitions(table) if p < night] if lake.exists(table) else []
    frames, used = [], []
    for p in sorted(parts, reverse=True):
        df = lake.read(table, partition=p).filter(pl.col("agent_version") == agent)
        if df.height:
            frames.append(df)
            used.append(p)
        if len(used) >= nights:
            break
    return (pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()), used


def _preprod(lake, table: str, agent: str, source_filter: bool = False) -> tuple[pl.DataFrame, list[str]]:
    if not lake.exists(table):
        return pl.DataFrame(), []
    frames, rids = [], []
    for p in lake.partitions(table):
        df = lake.read(table, partition=p).filter(pl.col("agent_version") == agent)
        if source_filter and "source" in df.columns:
            df = df.filter(pl.col("source") == "corpus")
        if df.height:
            frames.append(df)
            rids.append(p)
            break  # one release's pre-prod run is the reference (the same ids and trials)
    return (pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()), rids


def evaluate_night(lake, night: str, agents: Sequence[Any], runs: dict[str, dict], *, baselines_dir: Path,
                   policy: NightlyPolicy, sizes: NightlySizes, full_golden: bool) -> NightlyResult:
    """Compare tonight's runs (``runs[agent] = run_suites(...)``) with baselines and history."""
    rows: list[dict] = []
    notes: list[str] = []
    blessed: list[str] = []
    for pa in agents:
        v = pa.version
        r = runs[v]
        g, f, s = r["golden"], r["findings"], r["scenarios"]
        sub = sizes.describe()
        # golden vs blessed baseline
        found = find_baseline(v, baselines_dir)
        if found is None:
            if full_golden:
                path = bless(g, v, night, baselines_dir)
                blessed.append(str(path))
                msg = (f"{v}: no blessed golden baseline — this night ({night}) blessed itself "
                       f"({path.name}, accuracy {g['passed'].mean():.1%}); review and commit it")
                notes.append(msg)
                rows.append(_row(night, v, "golden", "accuracy_vs_blessed", value=float(g["passed"].mean()),
                                 n=g.height, reference=f"self-blessed tonight ({path.name})",
                                 reference_value=float(g["passed"].mean()), reference_n=g.height, delta=0.0,
                                 tolerance=policy.golden_tolerance_points, reason=msg, subset=sub))
            else:
                msg = f"{v}: no blessed golden baseline, and a subset night does not bless one"
                notes.append(msg)
                rows.append(_row(night, v, "golden", "accuracy_vs_blessed", value=float(g["passed"].mean()),
                                 n=g.height, reference="none", reason=msg, subset=sub))
        else:
            header, base_df, path = found
            cmp = golden_paired(g, base_df, policy.golden_tolerance_points, policy.alpha)
            rows.append(_row(night, v, "golden", "accuracy_vs_blessed", value=cmp.get("value"), n=cmp["n"],
                             reference=f"blessed baseline {path.name} ({header.get('blessed_at', '')})",
                             reference_value=cmp.get("reference_value"), reference_n=header.get("cases"),
                             delta=cmp.get("delta"), ci_low=cmp.get("ci_low"), ci_high=cmp.get("ci_high"),
                             p_value=cmp.get("p_value"), tolerance=policy.golden_tolerance_points,
                             regression=cmp["regression"], reason=cmp["reason"], subset=sub,
                             details_json=cmp.get("details", {})))
        # golden vs previous night
        prev, used = _history(lake, GOLDEN, v, night, 1)
        if used:
            cmp = golden_paired(g, prev, policy.golden_tolerance_points, policy.alpha)
            rows.append(_row(night, v, "golden", "accuracy_vs_previous_night", value=cmp.get("value"), n=cmp["n"],
                             reference=f"night {used[0]}", reference_value=cmp.get("reference_value"),
                             reference_n=prev.height, delta=cmp.get("delta"), ci_low=cmp.get("ci_low"),
                             ci_high=cmp.get("ci_high"), p_value=cmp.get("p_value"),
                             tolerance=policy.golden_tolerance_points, regression=cmp["regression"],
                             reason=cmp["reason"], subset=sub, details_json=cmp.get("details", {})))
        # adversarial and scenarios vs previous nights (else pre-prod)
        for suite, table, preprod_table, fn, frame, tol in (
                ("adversarial", FINDINGS, "evals.findings", adversarial_compare, f, policy.adversarial_tolerance_points),
                ("scenarios", SCENARIOS, "evals.scenario_results", scenario_compare, s, policy.scenario_tolerance_points)):
            hist, used = _history(lake, table, v, night, policy.history_nights)
            label = f"previous {len(used)} night(s) ({used[-1]}..{used[0]})" if used else ""
            if not used:
                hist, rids = _preprod(lake, preprod_table, v, source_filter=(suite == "adversarial"))
                label = f"pre-prod results of release {rids[0]}" if rids else ""
            metric = "blocking_failure_rate" if suite == "adversarial" else "trial_pass_rate"
            if hist.is_empty():
                msg = f"{v}: first {suite} night and no pre-prod results: tonight becomes the reference"
                notes.append(msg)
                rows.append(_row(night, v, suite, metric, n=frame.height, reference="none", reason=msg, subset=sub,
                                 tolerance=tol))
                continue
            cmp = fn(frame, hist, policy)
            rows.append(_row(night, v, suite, metric, value=cmp["value"], n=cmp["n"], reference=label,
                             reference_value=cmp["reference_value"], reference_n=cmp["reference_n"],
                             delta=cmp["delta"], p_value=cmp["p_value"], tolerance=tol,
                             regression=cmp["regression"], reason=cmp["reason"], subset=sub,
                             details_json=cmp["details"]))
    summary = pl.DataFrame(rows, schema=SUMMARY_SCHEMA, strict=False)
    golden = pl.concat([runs[a.version]["golden"] for a in agents], how="diagonal_relaxed")
    findings = pl.concat([runs[a.version]["findings"] for a in agents], how="diagonal_relaxed")
    scen = pl.concat([runs[a.version]["scenarios"] for a in agents], how="diagonal_relaxed")
    return NightlyResult(golden, findings, scen, summary, notes, blessed)


SUMMARY_SCHEMA = {
    "night": pl.String, "agent_version": pl.String, "suite": pl.String, "metric": pl.String, "value": pl.Float64,
    "n": pl.Int64, "reference": pl.String, "reference_value": pl.Float64, "reference_n": pl.Int64,
    "delta": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "p_value": pl.Float64,
    "tolerance": pl.Float64, "regression": pl.Boolean, "reason": pl.String, "subset": pl.String,
    "details_json": pl.String, "code_version": pl.String,
}


def run_nightly(lake, night: str, agents: Sequence[Any], *, baselines_dir: Path, sizes: NightlySizes | None = None,
                policy: NightlyPolicy | None = None, latency_scale: float = 0.0, mask: Any = None,
                resample: bool = False, log: Callable[[str], None] | None = None) -> NightlyResult:
    """Run the suites for every production agent and compare (plain entry point; no writes to the lake)."""
    sizes = sizes or NightlySizes()
    policy = policy or NightlyPolicy()
    runs = {}
    for pa in agents:
        runs[pa.version] = run_suites(pa.spec, night, sizes, latency_scale=latency_scale, mask=mask, resample=resample)
        if log:
            log(f"{pa.version}: ran {runs[pa.version]['sizes']}")
    return evaluate_night(lake, night, agents, runs, baselines_dir=baselines_dir, policy=policy, sizes=sizes,
                          full_golden=sizes.golden_cases <= 0)


def policy_dict(policy: NightlyPolicy) -> dict:
    return asdict(policy)
