"""Canary: simulator, cohort assignment, cohort statistics (DuckDB), exit decision, charts.

Known-truth scenarios are simulated with a fixed seed; each decision is checked against the
truth that was built in. Numbers computed here (SQL aggregates, Wilson intervals, histogram
percentiles, segment p-values) are cross-checked against polars / numpy / statsmodels / scipy.
Sizes: 14 days at 240-720 conversations/hour (80k-240k conversations) -- seconds each.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date

import duckdb
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from scipy import stats as ss
from statsmodels.stats import proportion as smp
from statsmodels.stats.weightstats import ttest_ind

from agent_release import bucketing
from agent_release import stats as S
from agent_release.canary import cohort_stats as cs
from agent_release.canary import decision as D
from agent_release.canary.charts import render_metric_chart_svg, render_segment_chart_svg
from agent_release.canary.simulate import (
    SCENARIOS,
    TrafficConfig,
    TrueEffects,
    days_after,
    pre_canary_representativeness,
    simulate,
    simulate_population,
)
from agent_release.contract import SCHEMA, normalise, to_records
from agent_release.release_spec import CANARY_METRICS, parse

SPEC_DICT = {
    "release_id": "canary-test",
    "baseline": {"version": "support-bot@1", "model": "acme-llm-2026-08-07"},
    "candidate": {"version": "support-bot@2", "model": "acme-llm-2026-10-01"},
    "gate": {"p95_latency_budget_ms": 4000, "cost_per_resolution_forecast_usd": 0.02},
    "canary": {
        "traffic_percent": 5,
        "min_soak_days": 7,
        "max_soak_days": 14,
        "min_conversations_per_arm": 1000,
        "alpha": 0.05,
        "required_passing": 3,
        "metrics": [
            {"name": "resolution_rate", "margin": 0.02},
            {"name": "error_rate", "margin": 0.01},
            {"name": "p95_latency_ms", "margin": 1.10},
            {"name": "csat", "margin": 0.15},
        ],
        "segments": ["locale", "persona"],
    },
}
BIG = 720.0  # conversations/hour -> ~240k conversations over 14 days (segment-level power)
SMALL = 240.0  # ~80k conversations


@pytest.fixture(scope="module")
def spec():
    return parse(SPEC_DICT)


_SIMS: dict = {}


def sim_of(spec, scenario: str, rate: float = SMALL, **cfg):
    key = (scenario, rate, tuple(sorted(cfg.items())))
    if key not in _SIMS:
        config = TrafficConfig.from_spec(spec, rate_per_hour=rate, **cfg)
        effects = SCENARIOS[scenario] if isinstance(scenario, str) else scenario
        _SIMS[key] = simulate(config, effects)
    return _SIMS[key]


def end_of(sim):
    return days_after(sim.config, sim.config.days)


@pytest.fixture(scope="module")
def base(spec):
    """Non-inferior candidate, ~240k conversations: prepared once, reused by many tests."""
    sim = sim_of(spec, "noninferior", BIG)
    data = cs.load(sim.frame, spec)
    return sim, data


# ============================================================================ simulator


def test_simulator_is_deterministic_and_seed_dependent(spec):
    cfg = TrafficConfig.from_spec(spec, rate_per_hour=20, days=2, seed=3)
    a = simulate(cfg, SCENARIOS["no_difference"]).frame
    b = simulate(cfg, SCENARIOS["no_difference"]).frame
    c = simulate(replace(cfg, seed=4), SCENARIOS["no_difference"]).frame
    assert a.equals(b)
    assert not a.equals(c)


def test_simulator_uses_common_random_numbers_across_effects(spec):
    cfg = TrafficConfig.from_spec(spec, rate_per_hour=60, days=3, seed=5)
    a = simulate(cfg, SCENARIOS["no_difference"]).frame
    b = simulate(cfg, SCENARIOS["spanish_regression"]).frame
    # same users, times, baseline conversations; only the candidate's Spanish outcomes differ
    assert a["user_id"].equals(b["user_id"]) and a["started_at"].equals(b["started_at"])
    base_a = a.filter(pl.col("agent_version") == "support-bot@1")
    base_b = b.filter(pl.col("agent_version") == "support-bot@1")
    assert base_a["outcome"].equals(base_b["outcome"])


def test_simulated_traffic_follows_the_contract(spec):
    sim = simulate(TrafficConfig.from_spec(spec, rate_per_hour=30, days=2, seed=9), SCENARIOS["support_bot_2"])
    df = sim.frame
    assert dict(df.schema) == SCHEMA
    recs = to_records(df.head(300))
    for r in recs:
        normalise(r)  # raises on any contract violation
        assert r["user_id"].startswith("u_") and len(r["user_id"]) == 66  # masked-shape hashed id
        asst = [m for m in r["messages"] if m["role"] == "assistant"]
        assert asst and all("latency_ms" in m and "cost_usd" in m for m in asst)
        assert r["persona"] in ("standard", "angry", "elderly", "non_native", "terse", "verbose")
        assert r["turns"] == len(asst)
        assert r["channel"] in ("chat", "email", "voice")
    turns = df["messages"].list.len()
    assert turns.min() >= 2 and turns.max() > 10  # the number of turns varies
    assert df["conversation_id"].n_unique() == df.height


def test_population_mix_and_diurnal_weekly_arrivals(spec):
    sim = sim_of(spec, "noninferior", BIG)
    df = sim.frame
    shares = df.group_by("locale").len().with_columns(share=pl.col("len") / df.height)
    share = dict(zip(shares["locale"], shares["share"], strict=True))
    for loc, expected in {"en-US": 0.38, "en-GB": 0.12, "es-ES": 0.10, "es-MX": 0.12, "fr-FR": 0.10,
                          "de-DE": 0.10, "pt-BR": 0.08}.items():
        assert share[loc] == pytest.approx(expected, abs=0.02)
    assert df.height == pytest.approx(BIG * 24 * 14, rel=0.02)
    hours = df.group_by(pl.col("started_at").dt.hour().alias("h")).len()
    by_hour = dict(zip(hours["h"], hours["len"], strict=True))
    assert by_hour[15] > 2.5 * by_hour[3]  # diurnal
    dows = df.group_by(pl.col("started_at").dt.weekday().alias("d")).len()
    by_dow = dict(zip(dows["d"], dows["len"], strict=True))
    assert by_dow[3] > 1.2 * by_dow[7]  # weekday vs Sunday


def test_cohort_comes_from_the_unleash_flag(spec):
    sim = sim_of(spec, "noninferior", SMALL)
    df = sim.frame
    users = df.select("user_id", (pl.col("agent_version") == "support-bot@2").alias("cand")).unique()
    assert users["user_id"].n_unique() == users.height  # stable per user: one arm each
    sample = users.head(4000)
    expected = [bucketing.in_rollout("canary-test", u, 5) for u in sample["user_id"]]
    assert sample["cand"].to_list() == expected
    assert users["cand"].mean() == pytest.approx(0.05, abs=0.01)


def test_true_effect_is_what_the_simulation_builds_in(spec):
    """Spanish candidate conversations resolve 8 points less than the same conversations would
    under the baseline (common random numbers make this exact up to clipping)."""
    a = sim_of(spec, "spanish_regression", BIG).frame
    b = sim_of(spec, "no_difference", BIG).frame
    es = pl.col("locale").is_in(["es-ES", "es-MX"]) & (pl.col("agent_version") == "support-bot@2")
    ra = (a.filter(es)["outcome"] == "resolved").mean()
    rb = (b.filter(es)["outcome"] == "resolved").mean()
    assert ra - rb == pytest.approx(-0.08, abs=0.01)


# ============================================================================ cohort stats


def test_cohort_stats_match_polars_on_the_raw_frame(base):
    sim, data = base
    st = cs.cohort_stats(data, release_id="canary-test")
    assert set(st.columns) == set(cs.COLUMN_DOCS)  # every output column is documented
    facts = {r[0] for r in data.con.execute(f"DESCRIBE {data.table}").fetchall()}
    assert facts == set(cs.FACT_DOCS)
    df = sim.frame.with_columns(
        cohort=pl.when(pl.col("agent_version") == "support-bot@2").then(pl.lit("candidate"))
        .otherwise(pl.lit("baseline")),
        has_error=pl.col("messages").list.eval(pl.element().struct.field("error").is_not_null()).list.any(),
        cost=pl.col("messages").list.eval(pl.element().struct.field("cost_usd")).list.sum(),
    )
    last = st["day"].max()
    cum = st.filter((pl.col("period") == "cumulative") & (pl.col("dimension") == "overall") & (pl.col("day") == last))
    for cohort in ("candidate", "baseline"):
        g = df.filter(pl.col("cohort") == cohort)
        row = cum.filter(pl.col("cohort") == cohort).row(0, named=True)
        assert row["conversations"] == g.height
        assert row["users"] == g["user_id"].n_unique()
        assert row["error_conversations"] == int(g["has_error"].sum())
        assert row["resolved"] == int((g["outcome"] == "resolved").sum())
        assert row["resolution_rate"] == pytest.approx((g["outcome"] == "resolved").mean(), rel=1e-12)
        assert row["csat_n"] == g["csat"].drop_nulls().len()
        assert row["csat_mean"] == pytest.approx(g["csat"].drop_nulls().mean(), rel=1e-12)
        assert row["csat_sd"] == pytest.approx(g["csat"].drop_nulls().std(), rel=1e-9)
        assert row["cost_per_resolution"] == pytest.approx(g["cost"].sum() / (g["outcome"] == "resolved").sum(),
                                                           rel=1e-7)
        # Wilson interval (own SQL) vs statsmodels
        lo, hi = smp.proportion_confint(row["resolved"], row["outcomes"], alpha=0.05, method="wilson")
        assert row["resolution_rate_ci_low"] == pytest.approx(lo, rel=1e-9)
        assert row["resolution_rate_ci_high"] == pytest.approx(hi, rel=1e-9)
        # histogram percentiles vs exact quantiles of every assistant turn
        # failed turns (error set or no latency) at the agent's timeout (30 s)
        el = pl.element().struct
        lat = (g["messages"].list.eval(el.field("latency_ms").filter(el.field("role") == "assistant")
                                       .alias("l"))).explode().to_numpy()
        err = (g["messages"].list.eval(el.field("error").filter(el.field("role") == "assistant")
                                       .is_not_null())).explode().to_numpy()
        lat = np.where(err | np.isnan(lat.astype(float)), 30_000.0, lat.astype(float))
        assert err.any()
        assert row["assistant_turns"] == lat.size
        for q, col in ((0.5, "latency_p50_ms"), (0.95, "latency_p95_ms"), (0.99, "latency_p99_ms")):
            exact = np.quantile(lat, q, method="inverted_cdf")
            assert row[col] == pytest.approx(exact, rel=0.0051)
        assert row["latency_p95_ci_low_ms"] <= row["latency_p95_ms"] <= row["latency_p95_ci_high_ms"]


def test_cohort_stats_per_day_cumulative_and_segments_are_consistent(base):
    sim, data = base
    st = cs.cohort_stats(data)
    day = st.filter(pl.col("period") == "day")
    cum = st.filter(pl.col("period") == "cumulative")
    # cumulative = running sum of the daily counts, per cohort and segment
    for (cohort, dim, seg), g in day.group_by(["cohort", "dimension", "segment"]):
        c = cum.filter((pl.col("cohort") == cohort) & (pl.col("dimension") == dim) & (pl.col("segment") == seg))
        assert c["conversations"].to_list()[-1] == g["conversations"].sum()
        assert c["conversations"].is_sorted()
    # segments partition the overall counts
    last = cum.filter(pl.col("day") == cum["day"].max())
    for dim in ("locale", "persona", "channel"):
        for cohort in ("candidate", "baseline"):
            seg = last.filter((pl.col("dimension") == dim) & (pl.col("cohort") == cohort))["conversations"].sum()
            tot = last.filter((pl.col("dimension") == "overall") & (pl.col("cohort") == cohort))["conversations"][0]
            assert seg == tot
    assert set(last.filter(pl.col("dimension") == "locale")["segment"]) == {
        "en-US", "en-GB", "es-ES", "es-MX", "fr-FR", "de-DE", "pt-BR"}
    assert day["day"].n_unique() == 14
    # as_of drops later conversations
    early = cs.cohort_stats(data, as_of=days_after(sim.config, 3), periods=("cumulative",))
    assert early["day"].n_unique() == 3
    # the stats land in DuckDB as a table
    con = duckdb.connect()
    con.register("s", st)
    assert con.execute("SELECT count(*) FROM s WHERE period = 'cumulative'").fetchone()[0] == cum.height


def test_stats_from_a_parquet_glob_equal_stats_from_the_frame(spec, tmp_path):
    sim = simulate(TrafficConfig.from_spec(spec, rate_per_hour=40, days=3, seed=2), SCENARIOS["noninferior"])
    sim.frame.head(2000).write_parquet(tmp_path / "a.parquet")
    sim.frame.slice(2000).write_parquet(tmp_path / "b.parquet")
    a = cs.cohort_stats(cs.load(sim.frame, spec))
    b = cs.cohort_stats(cs.load(str(tmp_path / "*.parquet"), spec))
    assert_frame_equal(a, b, check_exact=False, rel_tol=1e-12)


def test_mismatches_are_counted_and_reported(spec):
    sim = sim_of(spec, "misrouting", SMALL)
    truth = sim.truth
    assert truth["misrouted_conversations"] > 0
    data = cs.load(sim.frame, spec)
    mm = data.mismatches()
    assert mm["mismatched_conversations"] == truth["misrouted_conversations"]
    assert mm["canary_users_served_baseline"] == truth["misrouted_conversations"]
    assert mm["non_canary_users_served_candidate"] == 0
    table = cs.mismatch_table(data)
    assert table.filter(pl.col("mismatch"))["conversations"].sum() == truth["misrouted_conversations"]
    # mismatched conversations are not in either cohort's statistics
    st = cs.cohort_stats(data, periods=("cumulative",))
    last = st.filter((pl.col("dimension") == "overall") & (pl.col("day") == st["day"].max()))
    assert last["conversations"].sum() == sim.frame.height - truth["misrouted_conversations"]
    dec = D.decide(spec, data, as_of=end_of(sim))
    assert dec.decision == D.HOLD
    assert dec.to_row()["mismatched_conversations"] == truth["misrouted_conversations"]
    assert any("flag/serving mismatch" in r for r in dec.reasons)


# ============================================================================ decisions


def test_true_noninferiority_expands(spec, base):
    sim, data = base
    dec = D.decide(spec, data, as_of=end_of(sim))
    assert dec.decision == D.EXPAND, dec.reasons
    assert dec.metrics_passed >= 3
    assert not dec.segments_flagged
    row = dec.to_row()
    assert row["criteria_doc_hash"] == D.exit_criteria_hash(spec)
    assert row["spec_hash"] == spec.spec_hash
    for m in ("resolution_rate", "error_rate", "p95_latency_ms", "csat"):
        assert row[f"{m}_passed"] is True
        assert row[f"{m}_p_value"] <= row[f"{m}_alpha_adjusted"]
        assert row[f"{m}_ci_low"] <= row[f"{m}_estimate"] <= row[f"{m}_ci_high"]
    assert row["cost_per_resolution_estimate"] is None  # not in the spec's metric list
    assert row["srm_p_value"] > 0.001


def test_candidate_worse_only_in_spanish_does_not_expand_and_names_the_locale(spec):
    sim = sim_of(spec, "spanish_regression", BIG)
    dec = D.decide(spec, sim.frame, as_of=end_of(sim))
    assert dec.decision == D.HOLD
    assert dec.metrics_passed >= 3  # the totals look fine ...
    assert "locale es-ES" in dec.segments_flagged  # ... but a segment blocks expansion
    first = dec.reasons[0]
    assert "locale es-" in first and "resolution" in first and "90% CI" in first and "p=" in first
    flagged = {s.segment for s in dec.segments if s.flagged}
    assert flagged <= {"es-ES", "es-MX"}
    es = next(s for s in dec.segments if s.segment == "es-ES")
    assert es.estimate < -0.04 and es.ci_high < -0.02


def test_segment_p_values_cross_check_statsmodels(spec):
    sim = sim_of(spec, "spanish_regression", BIG)
    dec = D.decide(spec, sim.frame, as_of=end_of(sim))
    tested = [s for s in dec.segments if s.tested]
    es = next(s for s in tested if s.segment == "es-ES")
    assert 1.05 < es.deff_candidate < 2 and 1.05 < es.deff_baseline < 2  # users cluster conversations
    xc, nc = round(es.value_candidate * es.n_candidate), es.n_candidate
    xb, nb = round(es.value_baseline * es.n_baseline), es.n_baseline
    dc, db = es.deff_candidate, es.deff_baseline
    z = S.farrington_manning_z(xc / dc, nc / dc, xb / db, nb / db, -es.margin)
    assert es.p_value == pytest.approx(ss.norm.cdf(z), rel=1e-12)
    ref = smp.test_proportions_2indep(xc / dc, nc / dc, xb / db, nb / db, value=-es.margin, method="score",
                                      compare="diff", alternative="smaller", correction=False)
    assert es.p_value == pytest.approx(ref.pvalue, rel=0.05)
    # per-segment level (no Holm, see the exit criteria): flagged exactly when judged and p <= 0.05
    assert [s.p_adjusted for s in tested] == [s.p_value for s in tested]
    assert all(s.flagged == (s.p_value <= 0.05) for s in tested)
    # CSAT-by-length: SQL aggregates + Welch on effective n, recomputed from the raw frame
    df = sim.frame.filter(pl.col("csat").is_not_null()).with_columns(
        turns=pl.col("messages").list.len() // 2,
        cand=pl.col("agent_version") == "support-bot@2",
    )
    long = next(s for s in tested if s.check == "csat_by_length" and s.segment == "10+")
    c = df.filter(pl.col("cand") & (pl.col("turns") >= 10))["csat"].to_numpy().astype(float)
    b = df.filter(~pl.col("cand") & (pl.col("turns") >= 10))["csat"].to_numpy().astype(float)
    r = D.welch_noninferiority_summary(c.mean(), c.var(ddof=1), c.size, b.mean(), b.var(ddof=1), b.size,
                                       long.margin, 0.025, long.deff_candidate, long.deff_baseline)
    assert long.p_value == pytest.approx(ss.t.cdf(r.statistic, r.details["df"]), rel=1e-9)
    assert long.estimate == pytest.approx(c.mean() - b.mean(), rel=1e-12)


def test_welch_on_summaries_equals_statsmodels_without_clustering():
    rng = np.random.default_rng(4)
    c = np.clip(np.rint(rng.normal(3.9, 1.1, 700)), 1, 5)
    b = np.clip(np.rint(rng.normal(4.0, 1.0, 5000)), 1, 5)
    r = D.welch_noninferiority_summary(c.mean(), c.var(ddof=1), c.size, b.mean(), b.var(ddof=1), b.size, 0.15, 0.05)
    ref = S.mean_noninferiority(c, b, 0.15, True, 0.05)
    _, p_sm, _ = ttest_ind(c, b, alternative="larger", usevar="unequal", value=-0.15)
    assert r.p_value == pytest.approx(ref.p_value, rel=1e-10) == pytest.approx(p_sm, rel=1e-8)
    assert (r.ci_low, r.ci_high) == pytest.approx((ref.ci_low, ref.ci_high), rel=1e-10)
    # a design effect of 2 halves the effective n: the interval widens by about sqrt(2)
    r2 = D.welch_noninferiority_summary(c.mean(), c.var(ddof=1), c.size, b.mean(), b.var(ddof=1), b.size, 0.15,
                                        0.05, 2.0, 2.0)
    assert (r2.ci_high - r2.ci_low) / (r.ci_high - r.ci_low) == pytest.approx(2 ** 0.5, rel=0.01)


def test_design_effect_matches_cluster_robust_ols():
    import statsmodels.api as sm

    rng = np.random.default_rng(8)
    users = np.repeat(np.arange(800), rng.integers(1, 8, 800))
    p_user = 1 / (1 + np.exp(-(0.8 + rng.normal(0, 0.8, 800))))
    y = (rng.random(users.size) < p_user[users]).astype(float)
    fit = sm.OLS(y, np.ones_like(y)).fit(cov_type="cluster", cov_kwds={"groups": users, "use_correction": False})
    k = 800
    v_cl = fit.bse[0] ** 2 * k / (k - 1)
    p = y.mean()
    x_k = np.bincount(users, weights=y)
    n_k = np.bincount(users).astype(float)
    assert D.design_effect_rate(x_k, n_k) == pytest.approx(v_cl / (p * (1 - p) / (y.size - 1)), rel=1e-9)
    assert D.design_effect_rate(x_k, n_k) > 1.2
    # means: same identity with per-user sums
    z = rng.normal(0, 1, users.size) + rng.normal(0, 1, 800)[users]
    fit = sm.OLS(z, np.ones_like(z)).fit(cov_type="cluster", cov_kwds={"groups": users, "use_correction": False})
    s_k, ss_k = np.bincount(users, weights=z), np.bincount(users, weights=z * z)
    expected = fit.bse[0] ** 2 * k / (k - 1) / (z.var(ddof=1) / z.size)
    assert D.design_effect_mean(s_k, ss_k, n_k) == pytest.approx(expected, rel=1e-9)
    # independent observations: no inflation (floored at 1)
    assert D.design_effect_rate(np.array([1.0, 0, 1, 0, 1]), np.ones(5)) == pytest.approx(1.0, rel=1e-12)


def test_long_conversation_tone_drift_blocks_expansion(spec):
    sim = sim_of(spec, "long_conversation_drift", BIG)
    dec = D.decide(spec, sim.frame, as_of=end_of(sim))
    assert dec.decision == D.HOLD
    assert "turns 10+" in dec.segments_flagged and "turns 1-2" not in dec.segments_flagged
    assert any("turns 10+" in r and "CSAT" in r for r in dec.reasons)
    # drift only beyond 4 turns: the totals alone would have expanded
    assert dec.metrics_passed >= 3 and not dec.metrics_harmed


def test_sample_ratio_mismatch_means_metrics_are_not_interpreted(spec):
    sim = sim_of(spec, "srm", SMALL)
    dec = D.decide(spec, sim.frame, as_of=end_of(sim))
    assert dec.decision == D.HOLD
    assert dec.reasons[0].startswith("sample ratio mismatch")
    row = dec.to_row()
    assert row["metrics_tested"] is False
    assert all(row[f"{m}_p_value"] is None for m in CANARY_METRICS)
    assert row["srm_p_value"] < 0.001
    # SRM p-value is the chi-square goodness of fit on users per arm (scipy)
    n_c, n_b = row["users_candidate"], row["users_baseline"]
    ref = ss.chisquare([n_c, n_b], [0.05 * (n_c + n_b), 0.95 * (n_c + n_b)])
    assert row["srm_p_value"] == pytest.approx(ref.pvalue, rel=1e-9)


def test_day_3_of_14_holds_too_early(spec, base):
    sim, data = base
    dec = D.decide(spec, data, as_of=days_after(sim.config, 3))
    assert dec.decision == D.HOLD
    assert dec.reasons[0].startswith("too early")
    assert "soak 3.0 days < minimum 7" in dec.reasons[0]
    assert not dec.metrics_tested
    # a date means the end of that day
    dec2 = D.decide(spec, data, as_of=date(2026, 11, 4))
    assert dec2.soak["days"] == pytest.approx(3.0, abs=0.01)


def test_no_data_holds_never_passes(spec, base):
    empty = pl.DataFrame(schema=SCHEMA)
    dec = D.decide(spec, empty, as_of="2026-11-20T00:00:00Z")
    assert dec.decision == D.HOLD and dec.reasons[0].startswith("no data")
    assert D.decide(spec, empty).decision == D.HOLD
    sim, data = base
    before = D.decide(spec, data, as_of=sim.config.start)
    assert before.decision == D.HOLD and before.reasons[0].startswith("no data")
    only_base = sim.frame.filter(pl.col("agent_version") == "support-bot@1")
    dec = D.decide(spec, only_base, as_of=end_of(sim))
    assert dec.decision == D.HOLD and "no data" in dec.reasons[0]


@pytest.mark.parametrize("scenario,guardrail", [
    ("safety_incidents", "safety_incidents"),
    ("error_spike", "error_rate"),
    ("cost_overrun", "cost_overrun"),
])
def test_guardrail_breach_rolls_back_with_evidence(spec, scenario, guardrail):
    sim = sim_of(spec, scenario, SMALL)
    dec = D.decide(spec, sim.frame, as_of=end_of(sim))
    assert dec.decision == D.ROLLBACK
    assert guardrail in dec.to_row()["guardrails_breached"]
    assert dec.reasons[0].startswith(f"guardrail {guardrail}")
    if scenario == "safety_incidents":
        assert dec.to_row()["safety_incidents"] == sim.truth["safety_incidents_candidate"] > 0


def test_guardrails_fire_before_the_minimum_soak(spec):
    sim = sim_of(spec, "error_spike", SMALL)
    dec = D.decide(spec, sim.frame, as_of=days_after(sim.config, 2))
    assert dec.decision == D.ROLLBACK


def test_unrepresentative_cohort_holds(spec, base):
    pop = simulate_population(TrafficConfig.from_spec(spec, n_users=20_000, seed=11))
    ok = pre_canary_representativeness(pop, "canary-test", 5)
    assert ok.verdict == "OK", ok.reason
    us_only = pre_canary_representativeness(pop, "canary-test", 5, targeting_locales=("en-US",))
    assert us_only.verdict == "HOLD"
    assert "locale" in us_only.reason and "en-US" in us_only.reason
    sim, data = base
    dec = D.decide(spec, data, as_of=end_of(sim), representativeness=us_only)
    assert dec.decision == D.HOLD
    assert dec.reasons[0].startswith("cohort not representative")
    assert dec.to_row()["representativeness_verdict"] == "HOLD"


def test_targeting_constraint_in_the_simulator_and_the_assignment(spec):
    sim = sim_of(spec, "no_difference", SMALL, targeting_locales=("en-US",))
    cand = sim.frame.filter(pl.col("agent_version") == "support-bot@2")
    assert set(cand["locale"].unique()) == {"en-US"}
    # analysed with the same targeting: no mismatches; without it, no mismatch either (subset)
    data = cs.load(sim.frame, spec, eligible_locales=("en-US",))
    assert data.mismatches()["mismatched_conversations"] == 0
    # the expected share changes with targeting: without telling the decision, SRM fires
    dec = D.decide(spec, data, as_of=end_of(sim))
    assert dec.decision == D.HOLD and dec.reasons[0].startswith("sample ratio mismatch")


# ============================================================================ sequential + multiplicity


def test_alpha_spending_and_holm_levels(spec, base):
    sim, data = base
    dec = D.decide(spec, data, as_of=end_of(sim))
    # planned daily looks from day 7 when looks_so_far is None
    assert dec.look_fractions == pytest.approx([d / 14 for d in range(7, 15)])
    by_step = sorted(dec.metrics, key=lambda m: m.holm_step)
    m = len(by_step)
    for j, met in enumerate(by_step):
        assert met.alpha_adjusted == pytest.approx(
            S.nominal_alpha_at_look(dec.look_fractions, 0.05 / (m - j)), rel=1e-6)
    assert [x.alpha_adjusted for x in by_step] == sorted(x.alpha_adjusted for x in by_step)
    # a single final look spends all of alpha/m at once; more looks make each look stricter
    single = D.decide(spec, data, as_of=end_of(sim), looks_so_far=[])
    first = min(single.metrics, key=lambda x: x.holm_step)
    assert first.alpha_adjusted == pytest.approx(0.05 / 4, rel=1e-3)
    assert by_step[0].alpha_adjusted < first.alpha_adjusted
    # looks given as times; looks before the minimum soak spend nothing and are ignored
    times = [days_after(sim.config, d) for d in (2, 5, 7, 10)]
    dec3 = D.decide(spec, data, as_of=end_of(sim), looks_so_far=times)
    assert dec3.look_fractions == pytest.approx([7 / 14, 10 / 14, 1.0], abs=1e-3)


def test_early_look_uses_obrien_fleming_level(spec, base):
    sim, data = base
    dec = D.decide(spec, data, as_of=days_after(sim.config, 7), canary_start=sim.config.start)
    assert dec.metrics_tested
    assert dec.information_fraction == pytest.approx(0.5)
    first = min(dec.metrics, key=lambda x: x.holm_step)
    assert first.alpha_adjusted == pytest.approx(float(S.obrien_fleming_spending(0.5, 0.05 / 4)), rel=1e-9)
    assert first.alpha_adjusted < 0.001


def test_p95_interval_agrees_with_percentile_bootstrap(spec, base):
    sim, data = base
    dec = D.decide(spec, data, as_of=end_of(sim), looks_so_far=[])
    p95 = next(m for m in dec.metrics if m.name == "p95_latency_ms")
    lat = {}
    for arm, version in (("c", "support-bot@2"), ("b", "support-bot@1")):
        el = pl.element().struct  # assistant turns; a failed one at the 30 s timeout
        g = sim.frame.filter(pl.col("agent_version") == version).select(
            "user_id", pl.col("messages").list.eval(
                pl.when(el.field("error").is_not_null() | el.field("latency_ms").is_null()).then(30_000.0)
                .otherwise(el.field("latency_ms")).filter(el.field("role") == "assistant")))
        g = g.explode("messages")
        lat[arm] = (g["messages"].to_numpy(), g["user_id"])
    ref = S.quantile_ratio_noninferiority(lat["c"][0], lat["c"][1], lat["b"][0], lat["b"][1], 0.95, 1.10,
                                          alpha=p95.alpha_adjusted, n_boot=2000, seed=1)
    assert p95.estimate == pytest.approx(ref.estimate, rel=1e-12)
    assert p95.ci_high == pytest.approx(ref.ci_high, rel=0.01)
    assert p95.ci_low == pytest.approx(ref.ci_low, rel=0.01)


# ============================================================================ documents, rows, charts


def test_exit_criteria_document_and_hash(spec):
    doc = D.render_exit_criteria(spec)
    for text in ("resolution_rate", "candidate >= baseline - 2 pts", "p95_latency_ms", "1.1 x baseline",
                 "O'Brien-Fleming", "Holm", "7 days", "sample ratio", "Safety incidents", "es", "segment"):
        assert text in doc
    assert D.exit_criteria_hash(spec) == D.exit_criteria_hash(spec)
    looser = parse({**SPEC_DICT, "canary": {**SPEC_DICT["canary"], "metrics": [
        {"name": "resolution_rate", "margin": 0.03}, *SPEC_DICT["canary"]["metrics"][1:]]}})
    assert D.exit_criteria_hash(looser) != D.exit_criteria_hash(spec)
    assert D.exit_criteria_hash(spec, D.DecisionPolicy(handoff_margin=0.1)) != D.exit_criteria_hash(spec)


def test_decision_row_is_flat_documented_and_loads_into_duckdb(spec, base):
    sim, data = base
    dec = D.decide(spec, data, as_of=end_of(sim))
    row = dec.to_row()
    assert set(row) == set(D.DECISION_COLUMN_DOCS)
    assert isinstance(row["reasons"], list) and isinstance(row["segments_flagged"], list)
    json.loads(row["details_json"])
    frame = pl.DataFrame([row, D.decide(spec, data, as_of=days_after(sim.config, 3)).to_row()])
    con = duckdb.connect()
    con.register("r", frame)
    assert con.execute("SELECT list_sort(list_distinct(list(decision))) FROM r").fetchone()[0] == ["EXPAND", "HOLD"]
    assert dec.metric_rows()[0]["description"]
    assert len(dec.segment_rows()) == len(dec.segments)


def test_all_six_metrics_can_be_exit_metrics(base):
    sim, data = base
    metrics = [{"name": "resolution_rate", "margin": 0.02}, {"name": "error_rate", "margin": 0.01},
               {"name": "p95_latency_ms", "margin": 1.10}, {"name": "csat", "margin": 0.15},
               {"name": "cost_per_resolution", "margin": 1.10}, {"name": "thumbs_up_rate", "margin": 0.03}]
    spec6 = parse({**SPEC_DICT, "canary": {**SPEC_DICT["canary"], "metrics": metrics, "required_passing": 5,
                                           "segments": ["locale", "persona", "channel"]}})
    dec = D.decide(spec6, data, as_of=end_of(sim))
    assert len(dec.metrics) == 6 and all(m.p_value is not None for m in dec.metrics)
    cost = next(m for m in dec.metrics if m.name == "cost_per_resolution")
    assert cost.estimate == pytest.approx(0.85, abs=0.03)  # the scenario's cost multiplier
    assert cost.passed
    assert any(s.dimension == "channel" for s in dec.segments)
    assert dec.decision == D.EXPAND, dec.reasons
    md = dec.to_markdown()
    assert "| cost_per_resolution |" in md and "EXPAND" in md


def test_clearly_inferior_candidate_does_not_expand(spec):
    cfg = TrafficConfig.from_spec(spec, rate_per_hour=SMALL)
    sim = simulate(cfg, TrueEffects(resolution_delta=-0.05, latency_multiplier=1.3, csat_shift=-0.4))
    dec = D.decide(spec, sim.frame, as_of=end_of(sim))
    assert dec.decision == D.HOLD
    assert dec.reasons[0].startswith("exit metric worse than its margin")
    assert {"resolution_rate", "p95_latency_ms"} <= set(dec.metrics_harmed)
    worse = [m for m in dec.metrics if "significantly WORSE" in m.describe()]
    assert {m.name for m in worse} >= {"resolution_rate", "p95_latency_ms"}


def test_charts_are_inline_svg_with_both_cohorts_and_bands(base):
    sim, data = base
    st = cs.cohort_stats(data)
    for metric in ("resolution_rate", "error_rate", "p95_latency_ms", "csat"):
        svg = render_metric_chart_svg(st, metric)
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg")
        assert svg.count("<polyline") == 2 and svg.count("<polygon") == 2
        assert "<script" not in svg and "http" not in svg.replace("http://www.w3.org/2000/svg", "")
    svg = render_segment_chart_svg(st, "resolution_rate", "locale")
    ET.fromstring(svg)
    assert "es-ES" in svg and svg.count("<polyline") == 14
    empty = render_metric_chart_svg(st.head(0), "csat")
    assert "no data" in empty


def test_simulated_effects_object():
    e = TrueEffects(resolution_delta=-0.01, locale_resolution_delta={"es-ES": -0.05})
    assert e.describe()["locale_resolution_delta"] == {"es-ES": -0.05}
    assert set(SCENARIOS) >= {"noninferior", "spanish_regression", "srm", "misrouting", "error_spike",
                              "safety_incidents"}
