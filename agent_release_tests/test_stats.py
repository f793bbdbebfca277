"""Statistics: cross-checks against scipy/statsmodels and known-truth simulations.

All simulations are seeded and sized to run in a few seconds.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from scipy import stats as ss
from scipy.optimize import minimize_scalar
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats import proportion as smp
from statsmodels.stats.weightstats import ttest_ind

from agent_release import stats as S
from agent_release.stats import (
    _fm_restricted_mle,
    _tango_z,
    _WindowedQuantileBootstrap,
)

# =============================================================== Farrington-Manning

FM_CASES = [
    (830, 1000, 850, 1000, 0.05),
    (1200, 2000, 600, 1000, 0.03),
    (4100, 5000, 4180, 5000, 0.02),
    (45, 50, 40, 50, 0.10),
    (18, 60, 12, 40, 0.15),
]


@pytest.mark.parametrize("x1,n1,x2,n2,m", FM_CASES)
def test_fm_restricted_mle_maximises_the_constrained_likelihood(x1, n1, x2, n2, m):
    for delta in (-m, m, -0.2, 0.1):

        def nll(p2, delta=delta):
            p1 = p2 + delta
            return -(
                x1 * np.log(p1) + (n1 - x1) * np.log1p(-p1) + x2 * np.log(p2) + (n2 - x2) * np.log1p(-p2)
            )

        lo, hi = max(0.0, -delta) + 1e-12, min(1.0, 1.0 - delta) - 1e-12
        ref = minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-13}).x
        p1t, p2t = _fm_restricted_mle(x1 / n1, n1, x2 / n2, n2, delta)
        assert float(p2t) == pytest.approx(ref, abs=1e-7)
        assert float(p1t - p2t) == pytest.approx(delta, abs=1e-12)


@pytest.mark.parametrize("x1,n1,x2,n2,m", FM_CASES)
def test_fm_closed_form_equals_miettinen_nurminen_cubic_roots(x1, n1, x2, n2, m):
    # Independent formulation: the MN (1985) cubic in p2 with the *correct* linear coefficient
    # (n2 * d, see statsmodels issue #10269), solved with np.roots.
    n, c = n1 + n2, x1 + x2
    for d in (-m, m):
        coeffs = [n, (n1 + 2 * n2) * d - n - c, (n2 * d - n - 2 * x2) * d + c, x2 * d * (1 - d)]
        roots = np.roots(coeffs).real
        feasible = roots[(roots >= max(0, -d) - 1e-9) & (roots <= min(1, 1 - d) + 1e-9)]
        _, p2t = _fm_restricted_mle(x1 / n1, n1, x2 / n2, n2, d)
        assert np.min(np.abs(feasible - float(p2t))) < 1e-9


@pytest.mark.parametrize("x1,n1,x2,n2,m", FM_CASES)
def test_fm_matches_statsmodels_at_zero_margin_exactly(x1, n1, x2, n2, m):
    # delta = 0: restricted MLE is the pooled proportion -> statsmodels' pooled z-test.
    z = S.farrington_manning_z(x1, n1, x2, n2, 0.0)
    ref = smp.test_proportions_2indep(x1, n1, x2, n2, value=0, method="score", compare="diff", correction=False)
    assert z == pytest.approx(ref.statistic, rel=1e-10)
    zt, _ = smp.proportions_ztest([x1, x2], [n1, n2])
    assert z == pytest.approx(zt, rel=1e-10)


@pytest.mark.parametrize("x1,n1,x2,n2,m", FM_CASES[:3])
def test_fm_close_to_statsmodels_score_test_and_interval(x1, n1, x2, n2, m):
    """statsmodels' score test for a non-zero difference uses a slightly wrong cubic
    coefficient (statsmodels issue #10269, open as of 0.15.0), so its restricted estimate is
    not the MLE; ours is (see the two tests above). With n in the thousands the two agree
    closely; we assert closeness rather than equality."""
    alpha = 0.05
    for hib, alt, value in ((True, "larger", -m), (False, "smaller", m)):
        r = S.farrington_manning_noninferiority(x1, n1, x2, n2, m, higher_is_better=hib, alpha=alpha)
        ref = smp.test_proportions_2indep(
            x1, n1, x2, n2, value=value, method="score", compare="diff", alternative=alt, correction=False
        )
        assert r.statistic == pytest.approx(ref.statistic, abs=0.02)
        assert r.p_value == pytest.approx(ref.pvalue, rel=0.05, abs=1e-6)
        assert r.passed == (ref.pvalue < alpha)
    lo, hi = smp.confint_proportions_2indep(x1, n1, x2, n2, method="score", compare="diff", alpha=2 * alpha, correction=False)
    assert r.ci_low == pytest.approx(lo, abs=2e-4)
    assert r.ci_high == pytest.approx(hi, abs=2e-4)
    assert r.confidence == pytest.approx(0.9)


def test_fm_interval_is_inversion_of_test_and_decision_is_consistent():
    rng = np.random.default_rng(11)
    zc = ss.norm.ppf(0.95)
    for _ in range(60):
        n1, n2 = rng.integers(30, 3000, 2)
        x1, x2 = rng.integers(0, n1 + 1), rng.integers(0, n2 + 1)
        m = rng.uniform(0.01, 0.15)
        r = S.farrington_manning_noninferiority(x1, n1, x2, n2, m)
        if -1 < r.ci_low < r.estimate:
            assert S.farrington_manning_z(x1, n1, x2, n2, r.ci_low) == pytest.approx(zc, abs=1e-6)
        if r.estimate < r.ci_high < 1:
            assert S.farrington_manning_z(x1, n1, x2, n2, r.ci_high) == pytest.approx(-zc, abs=1e-6)
        assert r.ci_low <= r.estimate <= r.ci_high
        assert r.passed == (r.p_value < 0.05) == (r.bound > -m)
        # lower-is-better on failures == higher-is-better on successes
        r2 = S.farrington_manning_noninferiority(n1 - x1, n1, n2 - x2, n2, m, higher_is_better=False)
        assert r2.p_value == pytest.approx(r.p_value, rel=1e-8, abs=1e-12)
        assert r2.bound == pytest.approx(-r.bound, abs=1e-8)
        assert r2.passed == r.passed


def test_fm_miettinen_nurminen_variant_matches_statsmodels_formula_shape():
    # correction=True multiplies the variance by N/(N-1): statistic shrinks by sqrt((N-1)/N)
    z0 = S.farrington_manning_z(830, 1000, 850, 1000, -0.05)
    z1 = S.farrington_manning_z(830, 1000, 850, 1000, -0.05, correction=True)
    assert z1 == pytest.approx(z0 * math.sqrt(1999 / 2000), rel=1e-12)


def test_fm_known_truth_simulation():
    rng = np.random.default_rng(2024)
    n, m, alpha, sims = 5000, 0.03, 0.05, 4000
    zc = ss.norm.ppf(1 - alpha)

    def pass_rate(p_c, p_b):
        xc = rng.binomial(n, p_c, sims)
        xb = rng.binomial(n, p_b, sims)
        z = S.farrington_manning_z(xc, n, xb, n, -m)
        return float(np.mean(z > zc))

    assert pass_rate(0.80, 0.80) > 0.95  # truly equal -> passes (power ~0.98)
    assert pass_rate(0.70, 0.80) == 0.0  # 10 points worse -> never passes
    type1 = pass_rate(0.80 - m, 0.80)  # exactly at the margin -> alpha
    assert type1 <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / sims)
    assert type1 >= alpha - 3 * math.sqrt(alpha * (1 - alpha) / sims)
    # the dataclass path agrees with the vectorised statistic
    r = S.farrington_manning_noninferiority(4000, n, 4010, n, m)
    assert r.passed and r.n_candidate == n and r.method.startswith("farrington-manning")


def test_fm_edge_cases():
    # 100% vs 100%: the score interval is still informative (unlike Wald's zero width)
    r = S.farrington_manning_noninferiority(50, 50, 50, 50, 0.05)
    assert r.estimate == 0 and -0.06 < r.ci_low < -0.04 and r.ci_high == pytest.approx(-r.ci_low)
    assert not r.passed  # 50 per arm cannot rule out -5 points ...
    assert S.farrington_manning_noninferiority(200, 200, 200, 200, 0.05).passed  # ... 200 can
    r = S.farrington_manning_noninferiority(0, 40, 0, 40, 0.05, higher_is_better=False)
    assert r.estimate == 0 and r.bound < 0.1
    with pytest.raises(ValueError):
        S.farrington_manning_noninferiority(5, 4, 1, 4, 0.1)
    d = r.to_dict()
    assert d["details_x_candidate"] == 0 and "details" not in d


# ================================================================= paired (McNemar/Tango)


def _paired(rng, n, p_base, p_cand, rho=0.6):
    """Correlated pass/fail pairs with given marginal accuracies."""
    z = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n)
    base = z[:, 0] < ss.norm.ppf(p_base)
    cand = z[:, 1] < ss.norm.ppf(p_cand)
    return cand, base


@pytest.mark.parametrize("seed", range(6))
def test_mcnemar_exact_p_matches_statsmodels(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 800))
    cand, base = _paired(rng, n, 0.8, rng.uniform(0.7, 0.9))
    r = S.mcnemar_paired(cand, base, margin=0.03)
    table = [[np.sum(cand & base), np.sum(cand & ~base)], [np.sum(~cand & base), np.sum(~cand & ~base)]]
    ref = mcnemar(table, exact=True)
    assert r.details["mcnemar_exact_p"] == pytest.approx(ref.pvalue, rel=1e-12)
    assert r.estimate == pytest.approx(cand.mean() - base.mean())


def test_tango_restricted_mle_and_score_interval():
    b, c, n = 45, 14, 300
    for delta in (-0.05, 0.02, 0.2):
        # numeric MLE of q = P(cand fail, base pass) under p12 - p21 = delta
        def nll(q, delta=delta):
            return -(b * np.log(q + delta) + c * np.log(q) + (n - b - c) * np.log(1 - 2 * q - delta))

        lo = max(0.0, -delta) + 1e-12
        hi = (1 - delta) / 2 - 1e-12
        q_ref = minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-13}).x
        var_ref = n * (2 * q_ref + delta * (1 - delta))
        assert _tango_z(b, c, n, delta) == pytest.approx((b - c - n * delta) / math.sqrt(var_ref), rel=1e-6)
    cand = np.array([1] * 45 + [0] * 14 + [1] * 200 + [0] * 41, dtype=bool)
    base = np.array([0] * 45 + [1] * 14 + [1] * 200 + [0] * 41, dtype=bool)
    r = S.mcnemar_paired(cand, base, margin=0.05, alpha=0.05)
    zc = ss.norm.ppf(0.95)
    assert _tango_z(45, 14, 300, r.ci_low) == pytest.approx(zc, abs=1e-6)
    assert _tango_z(45, 14, 300, r.ci_high) == pytest.approx(-zc, abs=1e-6)
    assert r.passed == (r.p_value < 0.05) == (r.ci_low > -0.05)


def test_tango_interval_agrees_with_paired_bootstrap_and_wald():
    rng = np.random.default_rng(5)
    cand, base = _paired(rng, 800, 0.82, 0.80)
    r = S.mcnemar_paired(cand, base, margin=0.03, alpha=0.05)  # 90% two-sided
    bs = S.paired_bootstrap_delta(cand, base, n_boot=20_000, seed=1, confidence=0.90)
    assert r.ci_low == pytest.approx(bs.ci_low, abs=0.004)
    assert r.ci_high == pytest.approx(bs.ci_high, abs=0.004)
    # Wald for paired proportions: se = sqrt(b + c - (b - c)^2 / n) / n
    b, c, n = r.details["discordant_cand_only"], r.details["discordant_base_only"], 800
    se = math.sqrt(b + c - (b - c) ** 2 / n) / n
    assert r.ci_low == pytest.approx(r.estimate - 1.6449 * se, abs=0.003)


def test_tango_coverage_and_noninferiority_decisions():
    rng = np.random.default_rng(9)
    sims, n = 600, 400
    cover = 0
    for _ in range(sims):
        cand, base = _paired(rng, n, 0.80, 0.80)
        r = S.mcnemar_paired(cand, base, margin=0.05)
        cover += r.ci_low <= 0.0 <= r.ci_high
    # nominal 90% two-sided (true delta = 0 in the population)
    assert 0.86 <= cover / sims <= 0.94
    # n = 1000, 22% discordant: sd(delta) ~ 0.015 -> power ~0.96 at margin 0.05
    passes_equal = np.mean([S.mcnemar_paired(*_paired(rng, 1000, 0.8, 0.8), margin=0.05).passed for _ in range(200)])
    passes_worse = np.mean([S.mcnemar_paired(*_paired(rng, 1000, 0.8, 0.7), margin=0.05).passed for _ in range(200)])
    assert passes_equal > 0.9 and passes_worse < 0.02


def test_mcnemar_degenerate_inputs():
    # no discordant pairs: lower bound solves n(-d)/(1+d) = z^2 -> d ~ -2.71/n
    for n, ok in ((50, False), (200, True)):
        same = np.ones(n, dtype=bool)
        r = S.mcnemar_paired(same, same, margin=0.05)
        assert r.estimate == 0 and r.details["mcnemar_exact_p"] == 1.0 and r.passed is ok
        z2 = ss.norm.ppf(0.95) ** 2
        assert -r.ci_low / (1 + r.ci_low) == pytest.approx(z2 / n, rel=1e-6)
    with pytest.raises(ValueError):
        S.mcnemar_paired([True, False], [True])


def test_paired_bootstrap_delta_matches_wald_for_means():
    rng = np.random.default_rng(3)
    base = rng.normal(0.7, 0.2, 600)
    cand = base + rng.normal(0.01, 0.05, 600)
    r = S.paired_bootstrap_delta(cand, base, n_boot=20_000, seed=2)
    d = cand - base
    se = d.std(ddof=1) / math.sqrt(d.size)
    assert r.estimate == pytest.approx(d.mean())
    assert r.ci_low == pytest.approx(d.mean() - 1.96 * se, abs=0.15 * se)
    assert r.ci_high == pytest.approx(d.mean() + 1.96 * se, abs=0.15 * se)
    assert r.se == pytest.approx(se, rel=0.05)
    assert S.paired_bootstrap_delta(cand, base, n_boot=500, seed=2).ci_low == S.paired_bootstrap_delta(
        cand, base, n_boot=500, seed=2
    ).ci_low  # deterministic


# ============================================================ quantile (cluster) bootstrap


def test_windowed_engine_is_exact_against_brute_force_resamples():
    rng = np.random.default_rng(1)
    n_users = 60
    sizes = rng.integers(1, 9, n_users)
    codes = np.repeat(np.arange(n_users), sizes)
    x = np.round(rng.lognormal(0, 1, codes.size), 2)  # ties on purpose
    for q in (0.5, 0.95, 0.99, 1.0, 0.0):
        eng = _WindowedQuantileBootstrap(x, codes, q)
        eng._setup(1.0)  # window = everything -> every cluster's count is explicit
        tg, cw = eng._draw_chunk(200, rng)
        assert tg.shape[1] == 0 or tg.sum() == 0
        got, ok = eng._quantiles(tg, cw)
        assert ok.all()
        per_cluster = np.zeros((200, n_users), dtype=int)
        per_cluster[:, eng.win_clusters] = cw
        for i in range(200):
            resample = np.repeat(x, per_cluster[i][codes])
            assert got[i] == pytest.approx(np.quantile(resample, q), abs=1e-12)


def test_unclustered_bootstrap_matches_scipy_percentile():
    rng = np.random.default_rng(4)
    x = rng.gamma(2.0, 300.0, 3000)
    ours = S.bootstrap_quantile_ci(x, q=0.95, n_boot=10_000, seed=1, confidence=0.95)
    ref = ss.bootstrap(
        (x,),
        lambda a, axis: np.quantile(a, 0.95, axis=axis),
        n_resamples=10_000,
        method="percentile",
        confidence_level=0.95,
        vectorized=True,
        rng=np.random.default_rng(2),
    )
    assert ours.estimate == pytest.approx(np.quantile(x, 0.95))
    assert ours.se == pytest.approx(ref.standard_error, rel=0.06)
    tol = 0.35 * ref.standard_error  # Monte Carlo error of the 2.5/97.5 percentiles
    assert ours.ci_low == pytest.approx(ref.confidence_interval.low, abs=tol)
    assert ours.ci_high == pytest.approx(ref.confidence_interval.high, abs=tol)


def test_cluster_bootstrap_matches_brute_force_and_widens_interval():
    rng = np.random.default_rng(8)
    n_users = 400
    sizes = rng.integers(1, 20, n_users)
    uid = np.repeat(np.arange(n_users), sizes)
    user_effect = rng.normal(0, 0.6, n_users)[uid]  # strong within-user correlation
    v = np.exp(6 + rng.normal(0, 0.5, uid.size) + user_effect)
    ours = S.bootstrap_quantile_ci(v, 0.95, n_boot=8000, seed=3, cluster_ids=[f"user-{u}" for u in uid], keep_samples=True)
    groups = [v[uid == u] for u in range(n_users)]
    r = np.random.default_rng(4)
    brute = np.array(
        [np.quantile(np.concatenate([groups[i] for i in r.integers(0, n_users, n_users)]), 0.95) for _ in range(3000)]
    )
    assert ours.n_clusters == n_users
    assert ours.se == pytest.approx(brute.std(ddof=1), rel=0.08)
    assert ss.ks_2samp(ours.samples, brute).pvalue > 1e-3
    naive = S.bootstrap_quantile_ci(v, 0.95, n_boot=4000, seed=3)
    assert ours.se > 1.3 * naive.se  # resampling rows would understate uncertainty


def test_cluster_bootstrap_is_deterministic_and_validates_input():
    x = np.arange(1000, dtype=float)
    a = S.bootstrap_quantile_ci(x, 0.9, n_boot=200, seed=5, cluster_ids=np.arange(1000) // 7)
    b = S.bootstrap_quantile_ci(x, 0.9, n_boot=200, seed=5, cluster_ids=np.arange(1000) // 7)
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    with pytest.raises(ValueError):
        S.bootstrap_quantile_ci([1.0, float("nan")], 0.5)
    with pytest.raises(ValueError):
        S.bootstrap_quantile_ci(x, 0.5, cluster_ids=np.arange(10))


def test_quantile_ratio_known_truth():
    rng = np.random.default_rng(12)

    def arm(scale, n_users=3000):
        uid = np.repeat(np.arange(n_users), rng.integers(1, 10, n_users))
        v = scale * np.exp(rng.normal(0, 0.5, uid.size) + rng.normal(0, 0.2, n_users)[uid])
        return v, uid

    passes_same, passes_slow = 0, 0
    for i in range(12):
        cv, cu = arm(1.0)
        bv, bu = arm(1.0)
        passes_same += S.quantile_ratio_noninferiority(cv, cu, bv, bu, q=0.95, margin_ratio=1.10, n_boot=300, seed=i).passed
        sv, su = arm(1.3)
        r = S.quantile_ratio_noninferiority(sv, su, bv, bu, q=0.95, margin_ratio=1.10, n_boot=300, seed=i)
        passes_slow += r.passed
        assert r.ci_low <= r.estimate <= r.ci_high and r.bound == r.ci_high
    assert passes_same >= 10 and passes_slow == 0
    # higher-is-better mirror (e.g. throughput): margin below 1
    r = S.quantile_ratio_noninferiority(cv, cu, bv, bu, q=0.5, margin_ratio=0.9, higher_is_better=True, n_boot=300)
    assert r.passed and r.bound == r.ci_low
    with pytest.raises(ValueError):
        S.quantile_ratio_noninferiority(cv, cu, bv, bu, margin_ratio=0.9)


def test_ratio_of_sums_delta_method_matches_cluster_bootstrap():
    rng = np.random.default_rng(21)

    def arm(cost_scale, n_users=4000):
        uid = np.repeat(np.arange(n_users), rng.integers(1, 8, n_users))
        u_eff = rng.gamma(4, 0.25, n_users)[uid]
        cost = rng.gamma(2, 0.01 * cost_scale, uid.size) * u_eff
        resolved = (rng.random(uid.size) < 0.7).astype(float)
        return cost, resolved, uid

    c, cr, cu = arm(1.0)
    b, br, bu = arm(1.0)
    d = S.ratio_of_sums_noninferiority(c, cr, cu, b, br, bu, margin_ratio=1.10, method="delta")
    bs = S.ratio_of_sums_noninferiority(c, cr, cu, b, br, bu, margin_ratio=1.10, method="bootstrap", n_boot=2000, seed=1)
    assert d.estimate == pytest.approx((c.sum() / cr.sum()) / (b.sum() / br.sum()))
    assert d.ci_low == pytest.approx(bs.ci_low, rel=0.01)
    assert d.ci_high == pytest.approx(bs.ci_high, rel=0.01)
    assert d.passed and bs.passed
    c2, cr2, cu2 = arm(1.3)
    assert not S.ratio_of_sums_noninferiority(c2, cr2, cu2, b, br, bu, margin_ratio=1.10).passed
    # clustering matters: ignoring users gives a narrower (wrong) interval
    flat = S.ratio_of_sums_noninferiority(c, cr, None, b, br, None, margin_ratio=1.10)
    assert (flat.ci_high - flat.ci_low) < (d.ci_high - d.ci_low)


# ============================================================================ CSAT


@pytest.mark.parametrize("seed", range(4))
def test_welch_noninferiority_matches_statsmodels(seed):
    rng = np.random.default_rng(seed)
    cand = rng.choice([1, 2, 3, 4, 5], 700, p=[0.05, 0.07, 0.13, 0.35, 0.40])
    base = rng.choice([1, 2, 3, 4, 5], 900, p=[0.04, 0.06, 0.12, 0.38, 0.40])
    m = 0.1
    r = S.mean_noninferiority(cand, base, m, higher_is_better=True, alpha=0.05)
    t, p, df = ttest_ind(cand, base, alternative="larger", usevar="unequal", value=-m)
    assert r.statistic == pytest.approx(t, rel=1e-10)
    assert r.p_value == pytest.approx(p, rel=1e-8)
    assert r.details["df"] == pytest.approx(df, rel=1e-10)
    assert r.passed == (p < 0.05) == (r.ci_low > -m)
    r2 = S.mean_noninferiority(cand, base, m, higher_is_better=False)  # e.g. handle time
    t2, p2, _ = ttest_ind(cand, base, alternative="smaller", usevar="unequal", value=m)
    assert r2.statistic == pytest.approx(t2, rel=1e-10) and r2.p_value == pytest.approx(p2, rel=1e-8)
    # scipy's Welch t at zero margin
    assert S.mean_noninferiority(cand, base, 0.0).p_value == pytest.approx(
        ss.ttest_ind(cand, base, equal_var=False, alternative="greater").pvalue, rel=1e-8
    )


def test_probability_index_option_matches_scipy_rank_tests():
    rng = np.random.default_rng(6)
    cand = rng.integers(1, 6, 400)
    base = rng.integers(1, 6, 500)
    r = S.mean_noninferiority(cand, base, 0.0, method="mann-whitney")
    assert r.estimate == pytest.approx(ss.mannwhitneyu(cand, base).statistic / (400 * 500))
    assert r.p_value == pytest.approx(ss.brunnermunzel(cand, base, alternative="greater").pvalue, rel=1e-8)
    assert abs(r.statistic) == pytest.approx(abs(ss.brunnermunzel(cand, base).statistic), rel=1e-8)
    r2 = S.probability_index_noninferiority(cand, base, 0.05)
    assert r2.threshold == pytest.approx(0.45) and r2.p_value < r.p_value


def test_csat_known_truth_simulation():
    rng = np.random.default_rng(31)
    p = np.array([0.05, 0.07, 0.13, 0.35, 0.40])
    worse = np.array([0.10, 0.10, 0.15, 0.33, 0.32])  # mean lower by ~0.3
    same_pass = np.mean(
        [S.mean_noninferiority(rng.choice(5, 2000, p=p) + 1, rng.choice(5, 2000, p=p) + 1, 0.1).passed for _ in range(200)]
    )
    worse_pass = np.mean(
        [S.mean_noninferiority(rng.choice(5, 2000, p=worse) + 1, rng.choice(5, 2000, p=p) + 1, 0.1).passed for _ in range(200)]
    )
    assert same_pass > 0.85 and worse_pass == 0.0


# ============================================================================== SRM


@pytest.mark.parametrize("n_c,n_b,share", [(5000, 95000, 0.05), (5400, 94600, 0.05), (50_300, 49_700, 0.5), (120, 80, 0.5)])
def test_srm_matches_scipy_chisquare(n_c, n_b, share):
    r = S.srm_check(n_c, n_b, share)
    n = n_c + n_b
    ref = ss.chisquare([n_c, n_b], [n * share, n * (1 - share)])
    assert r.chi2 == pytest.approx(ref.statistic, rel=1e-12)
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert r.mismatch == (ref.pvalue < 0.001)


def test_srm_flags_real_mismatch_only():
    assert S.srm_check(5400, 94600, 0.05).mismatch  # 5.4% vs 5%
    assert not S.srm_check(5050, 94950, 0.05).mismatch
    rng = np.random.default_rng(0)
    false_alarms = sum(S.srm_check(int(x), 100_000 - int(x), 0.05).mismatch for x in rng.binomial(100_000, 0.05, 2000))
    assert false_alarms <= 8  # expected 2 at p < 0.001


# ========================================================== repeated looks / spending


def test_obrien_fleming_spending_function_values():
    a = 0.05
    assert S.obrien_fleming_spending(1.0, a) == pytest.approx(a)
    assert S.obrien_fleming_spending(0.0, a) == 0.0
    t = np.linspace(0.05, 1, 20)
    v = S.obrien_fleming_spending(t, a)
    assert np.all(np.diff(v) > 0)
    assert v[4] == pytest.approx(2 * ss.norm.sf(ss.norm.isf(a / 2) / math.sqrt(0.25)))
    assert S.pocock_spending(1.0, a) == pytest.approx(a)


def test_group_sequential_bounds_reference_values():
    # Lan-DeMets O'Brien-Fleming, 5 equally spaced looks, one-sided 0.025 (gsDesign sfLDOF /
    # ldbounds standard example): 4.877, 3.357, 2.680, 2.290, 2.031
    plan = S.group_sequential_bounds([0.2, 0.4, 0.6, 0.8, 1.0], alpha=0.025)
    np.testing.assert_allclose(plan.z_bounds, [4.8769, 3.3569, 2.6803, 2.2898, 2.0310], atol=2e-3)
    # single look = fixed design
    assert S.group_sequential_bounds([1.0], 0.05).z_bounds[0] == pytest.approx(ss.norm.isf(0.05))


@pytest.mark.parametrize(
    "fractions",
    [[0.5, 1.0], [0.25, 0.5, 0.75, 1.0], [0.1, 0.15, 0.5, 0.9, 1.0], [0.3, 0.6, 0.8]],
)
def test_group_sequential_bounds_match_multivariate_normal_cdf(fractions):
    t = np.asarray(fractions)
    plan = S.group_sequential_bounds(t, alpha=0.05)
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    zb = np.asarray(plan.z_bounds)
    for k in range(1, t.size + 1):
        crossed = 1 - ss.multivariate_normal.cdf(
            zb[:k], mean=np.zeros(k), cov=cov[:k, :k], abseps=1e-7, releps=1e-7, rng=np.random.default_rng(0)
        )
        assert crossed == pytest.approx(plan.cumulative_alpha[k - 1], abs=2e-5)
    assert np.all(np.asarray(plan.nominal_alphas) <= 0.05)


def test_repeated_looks_type_one_error_by_simulation():
    """7 daily looks. Naively testing at alpha each day inflates the false pass rate; the
    spending plan keeps it at alpha."""
    rng = np.random.default_rng(77)
    sims, alpha = 100_000, 0.05
    t = np.arange(1, 8) / 7
    incr = rng.normal(0, 1, (sims, t.size)) * np.sqrt(np.diff(np.concatenate([[0], t])))
    z = np.cumsum(incr, axis=1) / np.sqrt(t)  # Z_k under H0 at the margin
    plan = S.group_sequential_bounds(t, alpha)
    err_plan = np.mean((z >= np.asarray(plan.z_bounds)).any(axis=1))
    err_naive = np.mean((z >= ss.norm.isf(alpha)).any(axis=1))
    se = math.sqrt(alpha * (1 - alpha) / sims)
    assert err_plan <= alpha + 3 * se
    assert err_plan >= alpha - 4 * se  # and it is not needlessly conservative
    assert err_naive > 0.1


def test_repeated_looks_with_farrington_manning_on_binary_data():
    """End to end: a candidate exactly at the margin, cumulative daily data, FM p-value
    compared with the look's nominal alpha."""
    rng = np.random.default_rng(5)
    sims, m, alpha, days, per_day = 4000, 0.03, 0.05, 5, 800
    p_b = 0.80
    xc = np.cumsum(rng.binomial(per_day, p_b - m, (sims, days)), axis=1)
    xb = np.cumsum(rng.binomial(per_day, p_b, (sims, days)), axis=1)
    n = per_day * np.arange(1, days + 1)
    fractions = list(np.arange(1, days + 1) / days)
    passed = np.zeros(sims, dtype=bool)
    for k in range(days):
        nominal = S.nominal_alpha_at_look(fractions[: k + 1], alpha)
        z = S.farrington_manning_z(xc[:, k], n[k], xb[:, k], n[k], -m)
        passed |= ss.norm.sf(z) < nominal
    assert passed.mean() <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / sims)


def test_normal_mixture_confidence_sequence_is_anytime_valid():
    rng = np.random.default_rng(3)
    sims, looks, alpha = 4000, 200, 0.05
    x = rng.normal(0, 1, (sims, looks))
    n = np.arange(1, looks + 1)
    means = np.cumsum(x, axis=1) / n
    se = 1 / np.sqrt(n)
    lo, hi = S.normal_mixture_confidence_sequence(means, se, alpha, planned_information=float(looks))
    miss_cs = np.mean(((lo > 0) | (hi < 0)).any(axis=1))
    z = ss.norm.isf(alpha / 2)
    miss_fixed = np.mean(((means - z * se > 0) | (means + z * se < 0)).any(axis=1))
    assert miss_cs <= alpha
    assert miss_fixed > 3 * alpha  # a fixed-n interval watched 200 times is not valid
    # scalar use, and it is wider than the fixed interval at the same information
    l1, h1 = S.normal_mixture_confidence_sequence(0.0, 0.1, 0.05, planned_information=100.0)
    assert h1 > 1.96 * 0.1 and l1 == -h1
    with pytest.raises(ValueError):
        S.normal_mixture_confidence_sequence(0.0, 0.1, 0.05)  # rho must be fixed in advance


# ======================================================================= multiplicity


@pytest.mark.parametrize("method", ["holm", "bonferroni"])
def test_adjust_pvalues_matches_statsmodels(method):
    rng = np.random.default_rng(0)
    for _ in range(50):
        p = rng.uniform(0, 0.1, 4)
        p[rng.integers(0, 4)] = p[0]  # ties
        ours = S.adjust_pvalues(p, method, alpha=0.05)
        rej, adj, _, _ = multipletests(p, alpha=0.05, method=method)
        np.testing.assert_allclose(ours.adjusted, adj, rtol=1e-12)
        assert ours.reject == list(rej)
    assert S.holm_adjust([0.01, 0.04, 0.03, 0.005]).reject == [True, False, False, True]


# ============================================================================ helpers


def test_percentiles_and_result_serialisation():
    x = np.arange(1, 101, dtype=float)
    p = S.percentiles(np.append(x, np.nan), [50, 95, 99])
    assert p == {"p50": pytest.approx(50.5), "p95": pytest.approx(95.05), "p99": pytest.approx(99.01)}
    assert math.isnan(S.percentiles([], [50])["p50"])
    r = S.bootstrap_quantile_ci(x, 0.5, n_boot=100, keep_samples=True)
    assert "samples" not in r.to_dict() and r.samples.shape == (100,)
    assert S.srm_check(10, 10, 0.5).to_dict()["mismatch"] is False
    assert S.group_sequential_bounds([0.5, 1.0]).to_dict()["spending"].startswith("lan-demets")


def test_wilson_interval_matches_statsmodels():
    from statsmodels.stats.proportion import proportion_confint

    from agent_release.stats import wilson_interval

    for x, n, z in ((0, 50, 1.96), (7, 200, 1.96), (199, 200, 2.5758), (31, 97, 1.6449)):
        lo, hi = wilson_interval(x, n, z)
        alpha = 2 * (1 - __import__("scipy.stats").stats.norm.cdf(z))
        slo, shi = proportion_confint(x, n, alpha=alpha, method="wilson")
        assert (lo, hi) == pytest.approx((slo, shi), abs=1e-12)
    assert all(v != v for v in wilson_interval(0, 0, 1.96))  # NaN: no data is no interval
