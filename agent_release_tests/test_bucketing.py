"""Cohort assignment: Unleash compatibility, stability, speed, representativeness."""

from __future__ import annotations

import time

import numpy as np
import polars as pl
import pytest
from scipy.stats import chi2_contingency, chisquare
from scipy.stats.contingency import association

from agent_release.bucketing import (
    FINE_MODULUS,
    VARIANT_SEED,
    bucket_many,
    cohort_representativeness,
    in_rollout,
    in_rollout_fine,
    in_rollout_many,
    normalized_hash,
)

# ------------------------------------------------------------------ Unleash reference vectors

# Source: Unleash client SDKs' cross-client test, "normalized values are the same across node,
# java, and go clients" -- unleash-client-node test/strategy/util-test.ts and
# unleash-client-java src/test/java/io/getunleash/strategy/StrategyUtilsTest.java:
#   getNormalizedNumber("123", "gr1") == 73, getNormalizedNumber("999", "groupX") == 25
# and, with the variant seed 86028157 (StrategyUtilsTest
# normalized_values_with_variant_seed_are_the_same_across_node_java): 96 and 60.
STRATEGY_VECTORS = [("gr1", "123", 73), ("groupX", "999", 25)]
VARIANT_VECTORS = [("gr1", "123", 96), ("groupX", "999", 60)]

# Source: github.com/Unleash/client-specification
#   specifications/03-gradual-rollout-user-id-strategy.json (groupId "AB12A")
#   specifications/10-flexible-rollout-strategy.json (groupId = toggle name)
# (group_id, percentage, user_id, expected_enabled)
SPEC_CASES = [
    ("AB12A", 100, "123", True),  # Feature.A3
    ("AB12A", 50, "122", True),  # Feature.B3
    ("AB12A", 50, "155", False),  # Feature.B3
    ("AB12A", 0, "122", False),  # Feature.C3
    ("Feature.flexibleRollout.10", 10, "174", True),
    ("Feature.flexibleRollout.10", 10, "499", False),
    ("Feature.flexibleRollout.userId.55", 55, "25", True),
]


@pytest.mark.parametrize("group_id,user_id,expected", STRATEGY_VECTORS)
def test_normalized_hash_matches_unleash_reference(group_id, user_id, expected):
    assert normalized_hash(group_id, user_id) == expected


@pytest.mark.parametrize("group_id,user_id,expected", VARIANT_VECTORS)
def test_variant_seed_reference_values_differ_from_rollout(group_id, user_id, expected):
    # The seed parameter reproduces Unleash's variant hashing; rollout does NOT use it.
    assert normalized_hash(group_id, user_id, seed=VARIANT_SEED) == expected
    assert normalized_hash(group_id, user_id) != expected


@pytest.mark.parametrize("group_id,pct,user_id,expected", SPEC_CASES)
def test_client_specification_gradual_rollout_cases(group_id, pct, user_id, expected):
    assert in_rollout(group_id, user_id, pct) is expected
    assert bool(in_rollout_many(group_id, [user_id], pct)[0]) is expected


def test_zero_and_hundred_percent_and_missing_id():
    ids = [f"cust-{i}" for i in range(5000)]
    assert not any(in_rollout("flag", u, 0) for u in ids)
    assert all(in_rollout("flag", u, 100) for u in ids)
    assert not in_rollout_many("flag", ids, 0).any()
    assert in_rollout_many("flag", ids, 100).all()
    assert not in_rollout_fine("flag", ids[0], 0)
    assert all(in_rollout_fine("flag", u, FINE_MODULUS) for u in ids[:500])
    # Unleash: no stickiness id -> not enabled, even at 100%
    assert not in_rollout("flag", "", 100)
    assert not in_rollout_many("flag", ["", None], 100).any()


def test_monotone_expansion_never_drops_a_user():
    ids = [f"user-{i}" for i in range(20_000)]
    buckets = bucket_many("support-bot@2.0", ids)
    steps = [1, 5, 25, 50, 100]
    masks = [buckets <= p for p in steps]
    for lower, upper in zip(masks, masks[1:]):
        assert not (lower & ~upper).any()
    # same for the scalar API and the fine resolution
    rng = np.random.default_rng(0)
    for u in rng.choice(ids, 300, replace=False):
        p, q = sorted(rng.integers(0, 101, 2))
        assert (not in_rollout("f", u, p)) or in_rollout("f", u, q)
        bp, bq = sorted(rng.integers(0, FINE_MODULUS + 1, 2))
        assert (not in_rollout_fine("f", u, bp)) or in_rollout_fine("f", u, bq)


def test_bucket_many_matches_scalar_for_list_numpy_and_polars():
    ids = [f"cust-{i:06d}" for i in range(2000)] + ["ünïcode-ü", "x"]
    expected = np.array([normalized_hash("g", u) for u in ids])
    for container in (ids, np.array(ids, dtype=object), pl.Series(ids)):
        np.testing.assert_array_equal(bucket_many("g", container), expected)
    fine = np.array([normalized_hash("g", u, modulus=FINE_MODULUS) for u in ids])
    np.testing.assert_array_equal(bucket_many("g", ids, modulus=FINE_MODULUS), fine)
    assert bucket_many("g", ids).min() >= 1 and bucket_many("g", ids).max() <= 100


def test_buckets_are_uniform_and_flags_are_independent():
    ids = [f"cust-{i}" for i in range(200_000)]
    b = bucket_many("flag-a", ids)
    counts = np.bincount(b, minlength=101)[1:]
    assert chisquare(counts).pvalue > 1e-4
    a10 = b <= 10
    assert abs(a10.mean() - 0.10) < 0.005
    b10 = bucket_many("flag-b", ids) <= 10
    # a different groupId reshuffles users: overlap ~ 10% x 10%
    assert abs((a10 & b10).mean() - 0.01) < 0.002
    fine = bucket_many("flag-a", ids, modulus=FINE_MODULUS) <= 5  # 0.05%
    assert 40 <= fine.sum() <= 170


def _population(n: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(n)],
            "locale": rng.choice(["en-US", "es-MX", "fr-FR", "de-DE"], n, p=[0.5, 0.2, 0.2, 0.1]),
            "channel": rng.choice(["chat", "email", "voice"], n, p=[0.6, 0.3, 0.1]),
            "persona": rng.choice(["consumer", "smb", "enterprise"], n, p=[0.7, 0.25, 0.05]),
        }
    )


def test_hash_cohort_is_representative():
    pop = _population(200_000)
    mask = in_rollout_many("support-bot@1.5.0", pop["user_id"], 5)
    res = cohort_representativeness(pop, mask, min_users_per_segment=100)
    assert res.verdict == "OK", res.reason
    assert 0.045 < res.cohort_fraction < 0.055
    for dim in res.dimensions.values():
        assert dim.cramers_v_balanced < 0.05
        assert abs(sum(s.cohort_share for s in dim.segments) - 1) < 1e-9
    rows = res.segment_rows()
    assert {r["dimension"] for r in rows} == {"locale", "channel", "persona"}


def test_skewed_cohort_holds_and_names_dimension_and_segment():
    pop = _population(200_000)
    mask = in_rollout_many("support-bot@1.5.0", pop["user_id"], 5) & (pop["locale"] == "en-US").to_numpy()
    res = cohort_representativeness(pop, mask, min_users_per_segment=0)
    assert res.verdict == "HOLD"
    assert res.reasons[0].startswith("locale:")
    assert "'en-US'" in res.reasons[0] and "Cramér's V" in res.reasons[0]
    loc = res.dimensions["locale"]
    assert loc.skewed and loc.cramers_v_balanced > 0.5
    assert not res.dimensions["channel"].skewed


def test_chi2_and_raw_cramers_v_match_scipy():
    pop = _population(50_000, seed=3)
    rng = np.random.default_rng(1)
    # cohort slightly enriched for chat users
    p = np.where((pop["channel"] == "chat").to_numpy(), 0.12, 0.08)
    mask = rng.random(pop.height) < p
    res = cohort_representativeness(pop, mask, min_users_per_segment=0)
    for dim in ("locale", "channel", "persona"):
        seg = pop[dim].to_numpy()
        levels = np.unique(seg)
        table = np.array([[np.sum(mask & (seg == s)) for s in levels], [np.sum(~mask & (seg == s)) for s in levels]])
        ref = chi2_contingency(table, correction=False)
        got = res.dimensions[dim]
        assert got.chi2 == pytest.approx(ref.statistic, rel=1e-9)
        assert got.p_value == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-300)
        assert got.cramers_v == pytest.approx(association(table, method="cramer", correction=False), rel=1e-9)


def test_balanced_effect_size_is_invariant_to_cohort_size():
    # The same distributional skew (cohort 80% en-US vs 50% in the population) at 2% and at
    # 50% cohort size: raw V changes a lot, the balanced V used for the decision does not.
    rng = np.random.default_rng(7)
    vs = {}
    for frac in (0.02, 0.5):
        n = 100_000
        n_c = int(n * frac)
        coh = rng.choice(["en-US", "other"], n_c, p=[0.8, 0.2])
        rest = rng.choice(["en-US", "other"], n - n_c, p=[0.5, 0.5])
        pop = pl.DataFrame({"locale": np.concatenate([coh, rest])})
        mask = np.arange(n) < n_c
        d = cohort_representativeness(pop, mask, dims=["locale"], min_users_per_segment=0).dimensions["locale"]
        vs[frac] = (d.cramers_v, d.cramers_v_balanced)
    assert vs[0.02][0] < 0.5 * vs[0.5][0]
    assert vs[0.02][1] == pytest.approx(vs[0.5][1], abs=0.02)
    assert vs[0.02][1] > 0.1


def test_large_population_tiny_difference_is_significant_but_ok():
    # 1M users, cohort 50.6% vs rest 50.0% en-US: p << 0.001 but a negligible effect.
    n_half = 500_000
    coh = np.where(np.arange(n_half) < int(n_half * 0.506), "en-US", "other")
    rest = np.where(np.arange(n_half) < n_half // 2, "en-US", "other")
    pop = pl.DataFrame({"locale": np.concatenate([coh, rest])})
    mask = np.arange(2 * n_half) < n_half
    res = cohort_representativeness(pop, mask, dims=["locale"], min_users_per_segment=0)
    d = res.dimensions["locale"]
    assert d.p_value < 1e-6
    assert d.cramers_v_balanced < 0.1
    assert res.verdict == "OK"


def test_segment_coverage_projection():
    pop = _population(40_000, seed=5)
    mask = in_rollout_many("flag", pop["user_id"], 5)  # ~2000 cohort users, ~100 enterprise
    res = cohort_representativeness(pop, mask, min_users_per_segment=150)
    assert res.verdict == "HOLD"
    assert any("persona: segment 'enterprise'" in r for r in res.reasons)
    ent = next(s for s in res.dimensions["persona"].segments if s.segment == "enterprise")
    assert not ent.meets_minimum and ent.projected_cohort_users == ent.cohort_users
    # the soak will see 3x as many users -> enough
    res3 = cohort_representativeness(pop, mask, min_users_per_segment=150, projection_factor=3.0)
    assert res3.verdict == "OK", res3.reason
    # forecast per segment: expected users over the soak x cohort fraction
    forecast = {"persona": {"consumer": 100_000, "smb": 40_000, "enterprise": 2_000, "partner": 500}}
    resf = cohort_representativeness(pop, mask, dims=["persona"], min_users_per_segment=150, expected_users_per_segment=forecast)
    assert resf.verdict == "HOLD"
    flagged = " ".join(resf.reasons)
    assert "'enterprise'" in flagged and "'partner'" in flagged and "'consumer'" not in flagged
    # negligible segments can be excluded from holding
    resi = cohort_representativeness(pop, mask, min_users_per_segment=150, ignore_segments_below_share=0.06)
    assert resi.verdict == "OK"


def test_mask_as_column_name_and_nulls():
    pop = _population(10_000).with_columns(
        pl.when(pl.int_range(pl.len()) % 50 == 0).then(None).otherwise(pl.col("channel")).alias("channel")
    )
    pop = pop.with_columns(pl.Series("canary", in_rollout_many("f", pop["user_id"], 30)))
    res = cohort_representativeness(pop, "canary", min_users_per_segment=10)
    assert "(null)" in {s.segment for s in res.dimensions["channel"].segments}
    assert res.verdict == "OK", res.reason
    with pytest.raises(ValueError):
        cohort_representativeness(pop, np.ones(3, dtype=bool))
