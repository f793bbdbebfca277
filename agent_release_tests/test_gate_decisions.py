"""Known-truth tests for the pre-prod gate: one control where everything is well (PROMOTE) and,
for each criterion and rule, a case where exactly that one thing is wrong (BLOCK naming it).

Each test is written to kill a plausible bug (listed in the test's docstring)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from agent_release import stats
from agent_release.evals import gate
from agent_release.evals.findings import (
    compare_prompts,
    garak_probe_category,
    ingest_garak,
    make_findings,
    new_high_severity_failures,
    UnmappedProbeWarning,
)
from agent_release.evals.gate import decide
from agent_release.release_spec import load_release

BASE, CAND = "support-bot@1", "support-bot@2"
M_BASE, M_CAND = "acme-llm-2026-08-07", "acme-llm-2026-10-01"
INTENTS = ("refund", "order_status", "cancellation", "billing_dispute", "password_reset")
LOCALES = ("en-US", "es-ES", "fr-FR", "de-DE", "pt-BR")


@pytest.fixture(scope="module")
def spec():
    s = load_release("support-bot-2")
    return replace(s, gate=replace(s.gate, p95_latency_budget_ms=4000.0, cost_per_resolution_forecast_usd=0.02))


def golden(pb: np.ndarray, pc: np.ndarray, *, model_c: str = M_CAND, clusters: list[str] | None = None) -> pl.DataFrame:
    n = len(pb)
    ids = clusters or [f"{INTENTS[i % 5]}|{LOCALES[(i // 5) % 5]}" for i in range(n)]
    intent = [c.split("|")[0] for c in ids]
    locale = [c.split("|")[1] for c in ids]
    case = [f"g1-{it}-{lo}-{i:03d}" for i, (it, lo) in enumerate(zip(intent, locale, strict=True))]
    return pl.DataFrame({
        "agent_version": [BASE] * n + [CAND] * n, "case_id": case * 2, "intent": intent * 2, "locale": locale * 2,
        "passed": np.r_[pb, pc].astype(bool).tolist(), "error": [None] * (2 * n), "golden_version": ["v1"] * (2 * n),
        "model": [M_BASE] * n + [model_c] * n})


def equal_golden(n: int = 300, acc: float = 0.85, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    pb = rng.random(n) < acc
    return golden(pb, pb.copy())


def _f(agent, probe, sev, passed, *, attempt=None, source="corpus", cat="policy_bypass"):
    return {"agent_version": agent, "source": source, "probe": probe, "category": cat, "severity": sev,
            "detector": "d", "score": None if passed is None else (0.0 if passed else 1.0), "passed": passed,
            "attempt": attempt, "error": "http_500" if passed is None else None, "output": "o", "prompt": "p"}


def clean_findings(trials: int = 3) -> pl.DataFrame:
    return make_findings([_f(a, f"p{i}", "high", True, attempt=t) for a in (BASE, CAND) for i in range(20)
                          for t in range(trials)])


def turns(*, cand_scale: float = 1.0, cand_fail: float = 0.0, base_fail: float = 0.0, m: int = 2000,
          seed: int = 3) -> pl.DataFrame:
    """Per-turn replay rows, 4 turns per conversation; ``*_fail`` share of turns failed."""
    rng = np.random.default_rng(seed)
    lat = np.r_[rng.gamma(4, 300, m), rng.gamma(4, 300 * cand_scale, m)]
    err = np.r_[rng.random(m) < base_fail, rng.random(m) < cand_fail]
    return pl.DataFrame({"agent_version": [BASE] * m + [CAND] * m, "suite": ["replay"] * (2 * m),
                         "conversation_id": [f"k{i // 4}" for i in range(m)] * 2, "locale": ["en-US"] * (2 * m),
                         "latency_ms": lat, "error": [("timeout" if e else None) for e in err]})


def costs(k: int = 400, per: float = 0.01, seed: int = 4) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame({"agent_version": [CAND] * k, "suite": ["replay"] * k, "conversation_id": [f"k{i}" for i in range(k)],
                         "cost_usd": rng.gamma(4, per * 0.8 / 4, k), "resolved": (rng.random(k) < 0.8).tolist()})


def inputs(**over):
    d = {"golden": equal_golden(), "findings": clean_findings(), "latency": turns(), "cost": costs()}
    d.update(over)
    return d["golden"], d["findings"], d["latency"], d["cost"]


def test_control_promotes_with_all_six_criteria(spec):
    d = decide(spec, *inputs())
    assert d.decision == "PROMOTE", d.reasons
    assert [c.name for c in d.criteria] == list(gate.CRITERIA)
    assert gate.CRITERIA[:4] == ("golden_accuracy", "new_high_severity", "p95_latency", "cost_per_resolution")
    row = d.to_row()
    assert row["replay_error_rate_pass"] is True and row["model_pin_pass"] is True
    pl.DataFrame([row])


# ---------------------------------------------------------------------------- golden
def test_golden_point_below_tolerance_blocks(spec):
    rng = np.random.default_rng(5)
    pb = rng.random(300) < 0.85
    pc = pb.copy()
    pc[np.where(pb)[0][:9]] = False  # -3 pts
    d = decide(spec, *inputs(golden=golden(pb, pc)))
    assert d.decision == "BLOCK" and d.failed == ["golden_accuracy"]
    assert d.criterion("golden_accuracy").value == pytest.approx(-0.03)


def test_golden_equal_candidate_passes_default_but_not_ci_lower(spec):
    """The default rule is the seed's point rule; ``ci_lower`` stays available via the spec."""
    assert spec.gate.golden_rule == "point_and_harm"
    assert decide(spec, *inputs()).decision == "PROMOTE"
    s2 = replace(spec, gate=replace(spec.gate, golden_rule="ci_lower"))
    d = decide(s2, *inputs(), rules=s2.gate.rules())
    assert d.decision == "BLOCK" and d.failed == ["golden_accuracy"] and "lower bound" in d.criterion("golden_accuracy").reason


def _clustered_harm_case():
    """-4 pts, with all the losses packed in 2 of 40 template clusters: unclustered the harm
    looks significant, clustered it is not (the losses are two templates, not 12 cases)."""
    n, g = 300, 40
    clusters = [f"{INTENTS[i % 5]}|{LOCALES[(i // 5) % 5]}" for i in range(25)]
    clusters = (clusters + [f"billing_dispute|x{j}-XX" for j in range(15)])
    ids = [clusters[i % g] for i in range(n)]
    pb = np.ones(n, bool)
    pc = np.ones(n, bool)
    hit = [i for i, c in enumerate(ids) if c in (clusters[0], clusters[1])][:12]
    pc[hit] = False
    return pb, pc, ids


def test_golden_harm_test_is_template_clustered(spec):
    """Kills: harm test ignoring clustering (clustered and unclustered give different verdicts)."""
    pb, pc, ids = _clustered_harm_case()
    g = golden(pb, pc, clusters=ids)
    c = gate.golden_accuracy_criterion(g, BASE, CAND, 1.0, 0.95, "point_and_harm")
    h = c.details["harm_test"]
    assert h["clustered"] and h["upper_unclustered"] < -0.01 <= h["upper"], h
    assert not h["shown"] and "harm not shown" in c.reason and not c.passed  # point rule still blocks
    c_iid = gate.golden_accuracy_criterion(g, BASE, CAND, 1.0, 0.95, "point_and_harm", clustered=False)
    assert c_iid.details["harm_test"]["shown"] and "harm shown" in c_iid.reason


def test_golden_harm_shown_for_a_spread_regression(spec):
    rng = np.random.default_rng(8)
    pb = rng.random(300) < 0.9
    pc = pb.copy()
    pc[np.where(pb)[0][::10][:27]] = False  # -9 pts spread over every template
    d = decide(spec, *inputs(golden=golden(pb, pc)))
    c = d.criterion("golden_accuracy")
    assert d.decision == "BLOCK" and c.details["harm_test"]["shown"] and "harm shown" in c.reason


def test_cluster_robust_se_matches_statsmodels():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(1)
    n = 300
    g = rng.integers(0, 40, n)
    pb = (rng.random(n) < 0.85).astype(float)
    pc = (rng.random(n) < 0.83).astype(float)
    r = stats.clustered_paired_difference(pc, pb, g, alpha=0.05)
    fit = sm.OLS(pc - pb, np.ones(n)).fit(cov_type="cluster", cov_kwds={"groups": g}, use_t=True)
    assert r.se == pytest.approx(float(fit.bse[0]), rel=1e-10)
    lo, hi = fit.conf_int(alpha=0.10)[0]
    assert r.upper == pytest.approx(hi, rel=1e-9) and r.lower == pytest.approx(lo, rel=1e-9)
    r0 = stats.clustered_paired_difference(pc, pb, None, alpha=0.05)
    fit0 = sm.OLS(pc - pb, np.ones(n)).fit()
    assert r0.se == pytest.approx(float(fit0.bse[0]), rel=1e-10)


def test_golden_rule_operating_characteristic():
    oc = stats.golden_rule_operating_characteristic(308, 0.10, [-0.05, -0.03, 0.0, 0.03], tolerance=0.01)
    p = dict(oc["curve"])
    assert p[-0.05] < p[-0.03] < p[0.0] < p[0.03]
    # normal approximation of P(Δ̂ ≥ -0.01 | Δ = 0): Φ(0.01 / sqrt(q/n))
    from scipy.stats import norm
    assert p[0.0] == pytest.approx(norm.cdf(0.01 / np.sqrt(0.10 / 308)), abs=0.04)
    need = oc["n_to_separate"]["n"]
    assert need and need > 308
    at = stats.golden_rule_operating_characteristic(need, 0.10, [0.0, -0.03], tolerance=0.01)
    assert dict(at["curve"])[0.0] >= 0.9 and dict(at["curve"])[-0.03] <= 0.1
    deff = stats.golden_rule_operating_characteristic(308, 0.10, [0.0], tolerance=0.01, design_effect=2.0)
    assert deff["n_effective"] == 154 and deff["n_to_separate"]["n"] > need


def test_report_prints_the_golden_oc(spec):
    from agent_release.evals.report import render_gate_markdown, render_gate_report_html

    d = decide(spec, *inputs())
    md = render_gate_markdown(d)
    assert "operating characteristic" in md and "P(PASS)" in md and "to separate" in md
    assert "Golden harm test" in md
    html = render_gate_report_html(d)
    assert "operating characteristic" in html


# ---------------------------------------------------------------------------- p95
def test_p95_counts_failed_turns_at_their_timeout(spec):
    """Kills: failed turns excluded from p95 (20% timeouts would PASS on the answered turns)."""
    # baseline fails as often (and a wide error-rate margin), so only p95 can see the timeouts
    s2 = replace(spec, gate=replace(spec.gate, replay_error_rate_margin_points=10.0, replay_max_error_share=0.5))
    d = decide(s2, *inputs(latency=turns(cand_fail=0.20, base_fail=0.20)))
    c = d.criterion("p95_latency")
    assert d.decision == "BLOCK" and d.failed == ["p95_latency"], d.reasons
    assert c.details["failed_turns_counted"] > 300 and c.details["failed_turn_value_ms"] == spec.candidate.timeout_s * 1000
    assert c.details["p95_answered_only"] < spec.gate.p95_latency_budget_ms  # what the old rule saw
    assert c.value == pytest.approx(spec.candidate.timeout_s * 1000)


def test_p95_failed_turns_without_timeout_are_above_any_budget():
    c = gate.p95_latency_criterion(turns(cand_fail=0.2), CAND, 1e9, 0.95, timeout_ms=None)
    assert not c.passed and c.value == float("inf") and "+∞" in c.reason


def test_p95_counts_exception_turns_without_latency_and_unsent_turns():
    def conv(i, msgs, extra=None):
        return {"conversation_id": f"c{i}", "agent_version": CAND, "locale": "en-US", "outcome": "resolved",
                "model": M_CAND, "extra_json": json.dumps(extra or {}), "messages": msgs}
    ok = {"role": "assistant", "content": "a", "latency_ms": 100.0, "cost_usd": 0.001, "error": None}
    bad = {"role": "assistant", "content": "", "latency_ms": None, "cost_usd": None, "error": "exception:X"}
    rows = [conv(i, [ok]) for i in range(10)] + [conv(99, [bad, bad], {"replay_unsent_turns": 3})]
    c = gate.p95_latency_criterion(pl.DataFrame(rows), CAND, 1000, 0.95, timeout_ms=30000)
    assert c.details["turns"] == 15 and c.details["failed_turns_counted"] == 5 and not c.passed


def test_p95_is_judged_on_the_upper_bound(spec):
    """Kills: p95 judged on the favourable (lower) bound or the point estimate."""
    lat = turns(cand_scale=1.0, m=200)
    c0 = gate.p95_latency_criterion(lat, CAND, 1e9, 0.95)
    assert c0.ci_low < c0.value < c0.ci_high
    budget = (c0.value + c0.ci_high) / 2
    # 200 turns per arm cannot show error-rate non-inferiority at 1 pt: widen it to isolate p95
    s2 = replace(spec, gate=replace(spec.gate, p95_latency_budget_ms=budget, replay_error_rate_margin_points=5.0))
    d = decide(s2, *inputs(latency=lat))
    assert d.decision == "BLOCK" and d.failed == ["p95_latency"], d.reasons
    assert decide(s2, *inputs(latency=lat), rules={"p95_latency": "point"}).decision == "PROMOTE"


# ---------------------------------------------------------------------------- cost
def test_cost_is_judged_on_the_upper_bound(spec):
    """Kills: cost criterion judged on the favourable bound or the point estimate."""
    cost = costs(k=120)
    c0 = gate.cost_criterion(cost, CAND, 1e9, 1.0, 0.95)
    assert c0.ci_low < c0.value < c0.ci_high
    forecast = (c0.value + c0.ci_high) / 2 / spec.gate.cost_allowance
    s2 = replace(spec, gate=replace(spec.gate, cost_per_resolution_forecast_usd=forecast))
    d = decide(s2, *inputs(cost=cost))
    assert d.decision == "BLOCK" and d.failed == ["cost_per_resolution"], d.reasons
    assert decide(s2, *inputs(cost=cost), rules={"cost_per_resolution": "point"}).decision == "PROMOTE"


def test_unknown_cost_blocks(spec):
    """Kills: unknown cost filled as $0."""
    cost = costs().with_columns(pl.when(pl.int_range(pl.len()) < 3).then(None).otherwise(pl.col("cost_usd"))
                                .alias("cost_usd"))
    d = decide(spec, *inputs(cost=cost))
    c = d.criterion("cost_per_resolution")
    assert d.decision == "BLOCK" and d.failed == ["cost_per_resolution"]
    assert c.reason.startswith("cost unknown: 3 of 400 conversations have no cost")


def test_unknown_cost_from_replay_names_the_unpriced_model():
    from agent_release.evals.latency import conversations_frame

    def conv(i, model, cost, err=None):
        return {"conversation_id": f"c{i}", "agent_version": CAND, "locale": "en-US", "outcome": "resolved",
                "model": model, "messages": [
                    {"role": "user", "content": "q", "latency_ms": None, "cost_usd": None, "error": None},
                    {"role": "assistant", "content": "a", "latency_ms": 10.0, "cost_usd": cost, "error": err}]}
    rows = [conv(i, M_CAND, 0.002) for i in range(5)] + [conv(9, "mystery-model-1", None)]
    rows.append(conv(10, M_CAND, None, err="http_500"))  # a failed turn is not billed: known $0
    frame = pl.DataFrame(rows)
    cf = conversations_frame(frame)
    assert cf.filter(pl.col("conversation_id") == "c9")["cost_usd"][0] is None
    assert cf.filter(pl.col("conversation_id") == "c10")["cost_usd"][0] == 0.0
    c = gate.cost_criterion(frame, CAND, 1.0, 1.1, 0.95)
    assert not c.passed and "1 of 7" in c.reason and "unpriced model mystery-model-1" in c.reason


# ---------------------------------------------------------------------------- replay error rate
def test_replay_error_rate_worse_than_baseline_blocks(spec):
    # candidate 3% failed turns vs 0% — failed turns counted in p95 too, so give p95 room
    s2 = replace(spec, gate=replace(spec.gate, p95_latency_budget_ms=1e6))
    d = decide(s2, *inputs(latency=turns(cand_fail=0.03)))
    c = d.criterion("replay_error_rate")
    assert d.decision == "BLOCK" and d.failed == ["replay_error_rate"], d.reasons
    assert c.value == pytest.approx(c.details["candidate"]["rate"]) and c.details["harm_shown"]
    assert "harm shown" in c.reason and not c.details["evidence_invalid"]


def test_replay_error_rate_default_is_point_and_harm(spec):
    """Point estimate within the margin and harm not shown: PASS by default (the golden rule's
    reading of 'not worse beyond a margin'); the burden-of-proof rule ci_upper blocks the same data."""
    s2 = replace(spec, gate=replace(spec.gate, p95_latency_budget_ms=1e6))
    lat = turns(cand_fail=0.012, base_fail=0.008, m=800)
    d = decide(s2, *inputs(latency=lat))
    c = d.criterion("replay_error_rate")
    assert c.rule == "point_and_harm" and c.passed and c.value < 0.01 < c.ci_high, c.reason
    up = decide(s2, *inputs(latency=lat), rules={"replay_error_rate": "ci_upper"})
    assert up.failed == ["replay_error_rate"], up.reasons


def test_replay_error_point_beyond_the_margin_blocks_without_harm_shown(spec):
    """Kills: the point rule dropped (only the harm test kept): a small replay whose point estimate
    is beyond the margin must BLOCK even though harm is not significant."""
    s2 = replace(spec, gate=replace(spec.gate, p95_latency_budget_ms=1e6))
    lat = turns(cand_fail=0.025, base_fail=0.0, m=60)
    c = decide(s2, *inputs(latency=lat)).criterion("replay_error_rate")
    assert c.value > 0.01 and not c.details["harm_shown"] and not c.passed, c.reason


def test_a_baseline_outage_is_invalid_evidence_not_a_pass(spec):
    """Kills: 'an outage reads as data': the baseline failing 30% of its turns makes the candidate
    look better on every comparison; the replay is invalid and the gate BLOCKs naming it."""
    s2 = replace(spec, gate=replace(spec.gate, p95_latency_budget_ms=1e6))
    d = decide(s2, *inputs(latency=turns(cand_fail=0.0, base_fail=0.30)))
    c = d.criterion("replay_error_rate")
    assert d.decision == "BLOCK" and "replay_error_rate" in d.failed
    assert "replay evidence invalid" in c.reason and "support-bot@1 failed" in c.reason


def test_replay_error_rate_without_baseline_fails_closed(spec):
    lat = turns().filter(pl.col("agent_version") == CAND)
    c = decide(spec, *inputs(latency=lat)).criterion("replay_error_rate")
    assert not c.passed and "no replay data for support-bot@1" in c.reason


# ---------------------------------------------------------------------------- model pin
def test_model_pin_mismatch_blocks(spec):
    g = equal_golden()
    g = g.with_columns(pl.when(pl.col("agent_version") == CAND).then(pl.lit("acme-llm-2026-11-30"))
                       .otherwise(pl.col("model")).alias("model"))
    d = decide(spec, *inputs(golden=g))
    c = d.criterion("model_pin")
    assert d.decision == "BLOCK" and d.failed == ["model_pin"]
    assert "acme-llm-2026-11-30" in c.reason and M_CAND in c.reason


def test_model_pin_unverifiable_blocks(spec):
    d = decide(spec, *inputs(golden=equal_golden().drop("model")))
    assert d.failed == ["model_pin"] and "cannot be verified" in d.criterion("model_pin").reason


# ---------------------------------------------------------------------------- safety per prompt
def _garak(agent, fails: set[int], n_prompts=256, trials=3, errored: set[int] = frozenset()):
    return [_f(agent, "dan.Dan_11_0", "high", None if s in errored else (s not in fails), attempt=s * 100 + t,
               source="garak", cat="prompt_injection") for s in range(n_prompts) for t in range(trials)]


def test_new_failures_are_per_prompt_not_per_probe_class(spec):
    """100 failed prompts of 256 vs 0 for the baseline: 100 new failures (not 'one probe class')."""
    f = make_findings(clean_findings().to_dicts() + _garak(BASE, set()) + _garak(CAND, set(range(100))))
    d = decide(spec, *inputs(findings=f))
    c = d.criterion("new_high_severity")
    assert d.decision == "BLOCK" and d.failed == ["new_high_severity"] and c.value == 100


def test_a_baseline_failure_does_not_hide_other_prompts(spec):
    """Kills: a baseline failure on one prompt hiding the candidate's failures on others."""
    f = make_findings(clean_findings().to_dicts() + _garak(BASE, {200}) + _garak(CAND, {200} | set(range(100))))
    new = new_high_severity_failures(f, BASE, CAND)
    assert new.height == 100 and "dan.Dan_11_0#200" not in new["prompt_key"].to_list()
    d = decide(spec, *inputs(findings=f))
    assert d.failed == ["new_high_severity"] and d.criterion("new_high_severity").value == 100


def test_errored_attempts_are_unknown_not_passes(spec):
    """Kills: errored attempts counted as passes. Every attempt of one critical prompt errored."""
    rows = clean_findings().to_dicts()
    rows += [_f(BASE, "crit-1", "critical", True, attempt=t) for t in range(3)]
    rows += [_f(CAND, "crit-1", "critical", None, attempt=t) for t in range(3)]
    d = decide(spec, *inputs(findings=make_findings(rows)))
    c = d.criterion("new_high_severity")
    assert d.decision == "BLOCK" and d.failed == ["new_high_severity"] and c.value == 0
    assert "unknown: 1 high/critical prompt(s) errored" in c.reason and "re-run" in c.reason


def test_unknowns_resolved_by_other_attempts_pass(spec):
    rows = clean_findings().to_dicts()
    rows += [_f(BASE, "crit-1", "critical", True, attempt=t) for t in range(3)]
    rows += [_f(CAND, "crit-1", "critical", p, attempt=t) for t, p in enumerate((None, True, True))]
    assert decide(spec, *inputs(findings=make_findings(rows))).decision == "PROMOTE"


def test_per_prompt_rule_reproduction():
    rows = []
    for t in range(3):  # x: 1 of 3 (flaky), y: 2 of 3 (reproduced)
        rows += [_f(BASE, "x", "high", True, attempt=t), _f(BASE, "y", "high", True, attempt=t),
                 _f(CAND, "x", "high", t != 0, attempt=t), _f(CAND, "y", "high", t == 0, attempt=t)]
    f = make_findings(rows)
    cmp = compare_prompts(f, BASE, CAND)
    assert dict(zip(cmp["prompt_key"], cmp["verdict"], strict=True)) == {"x": "pass", "y": "new"}
    assert new_high_severity_failures(f, BASE, CAND, min_candidate_fail_rate=0.0)["probe"].to_list() == ["x", "y"]


def test_unmapped_probe_modules_are_high_with_a_warning(tmp_path):
    for mod in ("pii", "web_injection", "tool_ipi", "creditcard"):
        assert garak_probe_category(f"{mod}.Something") == ("other", "high")
    rep = tmp_path / "report.jsonl"
    rep.write_text("\n".join(json.dumps(e) for e in [
        {"entry_type": "start_run setup", "run.eval_threshold": 0.5},
        {"entry_type": "attempt", "status": 2, "uuid": "u1", "probe_classname": "web_injection.MarkdownImageExfil",
         "seq": 0, "prompt": "p", "outputs": ["o"], "detector_results": {"web_injection.MarkdownExfil": [1.0]}}]))
    with pytest.warns(UnmappedProbeWarning, match="web_injection"):
        f = ingest_garak(rep, agent_version=CAND)
    assert f["severity"].to_list() == ["high"]


# ------------------------------------------------------------ evidence validity (review fixes)
def _stamped(mh: str | None) -> tuple:
    g, f, lat, c = inputs()
    if mh is None:
        return g, f, lat, c
    tag = pl.lit(mh).alias("manifest_hash")
    return g.with_columns(tag), f.with_columns(tag), lat.with_columns(tag), c.with_columns(tag)


def test_evidence_produced_before_an_input_changed_is_stale(spec, tmp_path, monkeypatch):
    """Kills: re-running only the gate stamps the current manifest on old evidence (only the
    spec hash was compared). The price table changes after the evidence was produced."""
    import shutil

    from agent_release.agents.base import PRICES_PATH
    from agent_release.manifest import input_manifest

    prices = tmp_path / "prices.yaml"
    shutil.copy(PRICES_PATH, prices)
    monkeypatch.setenv("AGENT_RELEASE_PRICES", str(prices))
    before = input_manifest(spec).manifest_hash
    evidence = _stamped(before)
    assert decide(spec, *evidence, manifest_hash=before).decision == "PROMOTE"  # evidence is current
    prices.write_text(prices.read_text() + "\n# price change\n")
    now = input_manifest(spec).manifest_hash
    assert now != before
    with pytest.raises(gate.StaleResultError, match=r"golden_results: .*input manifest " + before):
        decide(spec, *evidence, manifest_hash=now)
    # every evidence table is checked, each named: only the replay frame is old here
    g, f, _, _ = _stamped(now)
    with pytest.raises(gate.StaleResultError, match="latency_inputs"):
        decide(spec, g, f, evidence[2], evidence[3], manifest_hash=now)
    with pytest.raises(gate.StaleResultError, match="scenario_results"):
        decide(spec, *_stamped(now), manifest_hash=now,
               scenario_results=pl.DataFrame({"agent_version": [CAND], "manifest_hash": [before]}))
    # evidence with no manifest hash (or a null one) cannot be shown current
    with pytest.raises(gate.StaleResultError, match="golden_results: rows carry no manifest_hash"):
        decide(spec, *_stamped(None), manifest_hash=now)
    g = g.with_columns(pl.when(pl.col("case_id") == g["case_id"][0]).then(None)
                       .otherwise(pl.col("manifest_hash")).alias("manifest_hash"))
    with pytest.raises(gate.StaleResultError, match="without a manifest_hash"):
        decide(spec, g, *_stamped(now)[1:], manifest_hash=now)
    # plain-function callers (no manifest given): the spec check only
    assert decide(spec, *_stamped(None)).decision == "PROMOTE"


def test_a_prompt_the_candidate_never_ran_is_unknown(spec):
    """Kills: the prompt set built from the candidate's groups only — a high-severity prompt the
    baseline ran and the candidate never ran was never judged."""
    rows = clean_findings().to_dicts()
    rows += [_f(BASE, "crit-only-base", "critical", True, attempt=t) for t in range(3)]
    rows += [_f(BASE, "low-only-base", "low", True, attempt=t) for t in range(3)]  # not blocking: ignored
    f = make_findings(rows)
    cmp = compare_prompts(f, BASE, CAND)
    row = cmp.filter(pl.col("prompt_key") == "crit-only-base").row(0, named=True)
    assert row["verdict"] == "unresolved" and row["candidate_ran"] is False and row["attempts"] == 0
    assert "low-only-base" not in cmp["prompt_key"].to_list()
    d = decide(spec, *inputs(findings=f))
    c = d.criterion("new_high_severity")
    assert d.decision == "BLOCK" and d.failed == ["new_high_severity"] and c.value == 0
    assert "unknown: 1 high/critical prompt(s)" in c.reason and "never run for the candidate" in c.reason
    assert c.details["never_run_for_candidate"] == 1
    # the control (same prompts on both arms) still promotes
    assert decide(spec, *inputs()).criterion("new_high_severity").passed


def _with_errors(g: pl.DataFrame, agent: str, k: int) -> pl.DataFrame:
    ids = g.filter(pl.col("agent_version") == agent)["case_id"].to_list()[:k]
    hit = (pl.col("agent_version") == agent) & pl.col("case_id").is_in(ids)
    return g.with_columns(pl.when(hit).then(False).otherwise(pl.col("passed")).alias("passed"),
                          pl.when(hit).then(pl.lit("http_500")).otherwise(pl.col("error")).alias("error"))


def test_golden_arm_error_share_above_the_limit_is_invalid(spec):
    """Kills: baseline errors counted as baseline fails (favouring the candidate) — 10 % of the
    baseline's cases errored makes an equal candidate look +8.5 pts better."""
    g = equal_golden()
    assert spec.gate.replay_max_error_share == pytest.approx(0.05)
    d = decide(spec, *inputs(golden=_with_errors(g, BASE, 30)))
    c = d.criterion("golden_accuracy")
    assert d.decision == "BLOCK" and d.failed == ["golden_accuracy"] and c.value is None
    assert "golden evidence invalid" in c.reason and f"{BASE} errored on 30/300" in c.reason
    d = decide(spec, *inputs(golden=_with_errors(g, CAND, 30)))
    assert d.failed == ["golden_accuracy"] and f"{CAND} errored on 30/300" in d.criterion("golden_accuracy").reason
    # at or below the limit (15/300 = 5 %) the evidence is judged
    ok = decide(spec, *inputs(golden=_with_errors(_with_errors(g, BASE, 15), CAND, 15))).criterion("golden_accuracy")
    assert "invalid" not in ok.reason and ok.value is not None


def test_golden_unpaired_cases_are_invalid(spec):
    """Kills: cases present for one agent only silently dropped by an inner join."""
    g = equal_golden()
    dropped = g.filter(pl.col("agent_version") == CAND)["case_id"].to_list()[:3]
    d = decide(spec, *inputs(golden=g.filter(~((pl.col("agent_version") == CAND) & pl.col("case_id").is_in(dropped)))))
    c = d.criterion("golden_accuracy")
    assert d.decision == "BLOCK" and d.failed == ["golden_accuracy"]
    assert "golden evidence invalid" in c.reason and f"3 unpaired case(s) (3 only for {BASE}" in c.reason
    assert c.details["unpaired_cases"] == 3 and set(c.details["unpaired_examples"]) == set(dropped)
    extra = g.filter(pl.col("agent_version") == CAND).head(1).with_columns(pl.lit("g1-extra").alias("case_id"))
    c = decide(spec, *inputs(golden=pl.concat([g, extra]))).criterion("golden_accuracy")
    assert not c.passed and f"1 only for {CAND}" in c.reason
