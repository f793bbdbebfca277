"""Known-truth tests of the canary exit decision: in each, exactly one thing is wrong with the
candidate (or the data) and the decision must change from EXPAND to HOLD / ROLLBACK.

Traffic comes from the project's simulator (common random numbers: a scenario differs from the
non-inferior one only where its effects differ); a few tests edit the prepared facts table in
DuckDB to inject a defect the simulator has no knob for (a bad baseline). Every test runs on the
same spec as test_canary.py.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from agent_release import stats as S
from agent_release.canary import cohort_stats as cs
from agent_release.canary import decision as D
from agent_release.canary.simulate import SCENARIOS, TrafficConfig, TrueEffects, days_after, simulate
from agent_release.release_spec import parse

from .test_canary import SPEC_DICT

BIG = 720.0
SMALL = 240.0
GOOD = dict(resolution_delta=0.01, latency_multiplier=0.97, cost_multiplier=0.85)  # = SCENARIOS["noninferior"]


@pytest.fixture(scope="module")
def spec():
    return parse(SPEC_DICT)


_CACHE: dict = {}


def sim_data(spec, effects: TrueEffects, rate: float = SMALL, **cfg):
    key = (repr(effects), rate, tuple(sorted(cfg.items())), spec.spec_hash)
    if key not in _CACHE:
        config = TrafficConfig.from_spec(spec, rate_per_hour=rate, **cfg)
        sim = simulate(config, effects)
        _CACHE[key] = (sim, cs.load(sim.frame, spec))
    return _CACHE[key]


def end_of(sim):
    return days_after(sim.config, sim.config.days)


@pytest.fixture(scope="module")
def good(spec):
    return sim_data(spec, TrueEffects(**GOOD), BIG)


def test_the_control_expands(spec, good):
    """The non-inferior candidate every other test changes in one respect."""
    sim, data = good
    dec = D.decide(spec, data, as_of=end_of(sim))
    assert dec.decision == D.EXPAND, dec.reasons
    assert not dec.metrics_harmed and not dec.segments_flagged


# ============================================================================ 1. harm blocks


def test_metric_significantly_worse_blocks_although_3_of_4_pass(spec):
    """Error rate +2.1 pts (margin +1): resolution, p95 and CSAT pass (3 of 4 = required), but the
    error rate is shown worse than its margin -> HOLD, named; without the harm test it would EXPAND."""
    sim, data = sim_data(spec, TrueEffects(**GOOD, error_rate_delta=0.021), BIG)
    dec = D.decide(spec, data, as_of=end_of(sim))
    err = next(m for m in dec.metrics if m.name == "error_rate")
    assert dec.metrics_passed == 3 and not err.passed
    assert err.ci_low > 0.01 and 0.015 < err.estimate < 0.03  # the whole interval beyond the margin
    assert err.harmed and err.harm_p_value <= err.harm_level == pytest.approx(0.05)
    assert dec.decision == D.HOLD
    assert dec.metrics_harmed == ["error_rate"]
    assert dec.reasons[0].startswith("exit metric worse than its margin: error_rate")
    assert not [g.name for g in dec.guardrails if g.breached]  # not a guardrail matter
    # the same evidence without the harm test (level 0): the seed's 3-of-4 rule expands
    blind = D.decide(spec, data, as_of=end_of(sim), policy=D.DecisionPolicy(harm_alpha=0.0))
    assert blind.decision == D.EXPAND


def test_p95_1_25x_against_margin_1_10_holds(spec):
    sim, data = sim_data(spec, TrueEffects(**{**GOOD, "latency_multiplier": 1.25}), BIG)
    dec = D.decide(spec, data, as_of=end_of(sim))
    p95 = next(m for m in dec.metrics if m.name == "p95_latency_ms")
    assert p95.harmed and p95.ci_low > 1.10
    assert dec.decision == D.HOLD
    assert "p95_latency_ms" in dec.metrics_harmed
    assert dec.reasons[0].startswith("exit metric worse than its margin: p95_latency_ms")
    # 1.25x is below the p95 guardrail (1.5x): HOLD, not ROLLBACK; the segments see it too
    assert not next(g for g in dec.guardrails if g.name == "p95_latency").breached
    assert any(s.check == "p95_latency" and s.flagged for s in dec.segments)


def test_p95_guardrail_rolls_back_on_its_lower_bound(spec):
    sim, data = sim_data(spec, TrueEffects(latency_multiplier=1.8), SMALL)
    dec = D.decide(spec, data, as_of=days_after(sim.config, 3))  # guardrails fire before the minimum soak
    assert dec.decision == D.ROLLBACK
    g = next(g for g in dec.guardrails if g.name == "p95_latency")
    assert g.breached and g.value > spec.canary.p95_ratio_max
    assert dec.reasons[0].startswith("guardrail p95_latency")


def test_harm_persists_until_noninferiority_is_shown(spec, good):
    sim, data = good
    dec = D.decide(spec, data, as_of=end_of(sim), harmed_before=["csat"])
    csat = next(m for m in dec.metrics if m.name == "csat")
    assert csat.passed and not csat.blocking  # shown non-inferior now: released
    assert dec.decision == D.EXPAND
    # at an early look where CSAT is not (yet) shown non-inferior, the earlier harm still blocks
    early = D.decide(spec, data, as_of=days_after(sim.config, 7), canary_start=sim.config.start)
    not_yet = [m.name for m in early.metrics if not m.passed]
    if not_yet:
        held = D.decide(spec, data, as_of=days_after(sim.config, 7), canary_start=sim.config.start,
                        harmed_before=not_yet[:1])
        assert held.decision == D.HOLD and held.metrics_harmed == not_yet[:1]


# ============================================================================ 2. sound looks


def test_partial_day_takes_no_look(spec):
    sim, data = sim_data(spec, TrueEffects(**GOOD), SMALL, days=7)
    cut = days_after(sim.config, 6.04)
    partial = cs.load(sim.frame.filter(pl.col("started_at") < cut), spec)
    days = D.complete_days(partial, spec)
    assert len(days) == 6 and days[-1] == cs.to_utc_naive(days_after(sim.config, 6))
    looks = D.run_looks(spec, partial)
    assert len(looks) == 6 and not any(d.metrics_tested for d in looks)  # no day-7 look, no alpha spent
    assert all(d.reasons[0].startswith("too early") for d in looks)
    full = D.complete_days(data, spec)
    assert len(full) == 7  # the complete seventh day does give the day-7 look
    # an explicit feed end short of the day's end also withholds the look
    assert len(D.complete_days(data, spec, data_end=days_after(sim.config, 6.9))) == 6


def test_run_looks_stopping_rule_expand_is_terminal_and_fractions_come_from_data(spec, good):
    sim, data = good
    looks = D.run_looks(spec, data, canary_start=sim.config.start, data_end=end_of(sim))
    decisions = [d.decision for d in looks]
    assert decisions[-1] == D.EXPAND and decisions.count(D.EXPAND) == 1
    assert set(decisions[:-1]) == {D.HOLD}
    tested = [d for d in looks if d.metrics_tested]
    assert tested and all(d.information_fraction <= 1 for d in tested)


def test_spanish_regression_never_expands_on_any_look(spec):
    sim, data = sim_data(spec, SCENARIOS["spanish_regression"], BIG)
    looks = D.run_looks(spec, data, canary_start=sim.config.start, data_end=end_of(sim))
    assert D.EXPAND not in [d.decision for d in looks]
    assert any("locale es-" in s for s in looks[-1].segments_flagged)
    assert len(looks) == 14 and looks[-1].information_fraction == 1.0  # the maximum-soak look is the last
    tested = [d for d in looks if d.metrics_tested]
    # information fraction = candidate conversations / plan fixed at the first tested look
    plan = tested[0].planned_conversations
    for d in tested:
        assert d.planned_conversations == pytest.approx(plan)
        assert d.information_fraction == pytest.approx(min(1.0, d.counts["conversations_candidate"] / plan), abs=1e-6)
        assert d.look_fractions[:-1] == pytest.approx([t.information_fraction for t in tested[:tested.index(d)]])
    # the weekly pattern makes the data fraction differ from the calendar fraction
    cal = [(d.as_of - sim.config.start.replace(tzinfo=None)).days / 14 for d in tested]
    assert any(abs(d.information_fraction - c) > 1e-3 for d, c in zip(tested[:-1], cal, strict=False))


def test_no_flip_flop_after_expand_even_when_later_data_turn_bad(spec, good):
    """A candidate that expands on day 8 and breaks afterwards: the canary's decision stays EXPAND
    (terminal; from then on the rollout's own step analysis watches it)."""
    sim, data = good
    first = D.run_looks(spec, data, canary_start=sim.config.start, data_end=end_of(sim))
    day = first[-1].as_of
    con = data.con
    con.execute(f"CREATE TEMP TABLE _bak AS SELECT * FROM {cs._q(data.table)}")
    try:
        con.execute(f"UPDATE {cs._q(data.table)} SET resolved = 0 WHERE cohort = 'candidate' AND ts >= ?", [day])
        again = D.run_looks(spec, data, canary_start=sim.config.start, data_end=end_of(sim))
        assert [d.decision for d in again] == [d.decision for d in first]
        # a single late look on the broken data would not expand: the stopping rule is what holds it
        late = D.decide(spec, data, as_of=end_of(sim))
        assert late.decision != D.EXPAND
    finally:
        con.execute(f"DELETE FROM {cs._q(data.table)}")
        con.execute(f"INSERT INTO {cs._q(data.table)} SELECT * FROM _bak")
        con.execute("DROP TABLE _bak")


# ============================================================================ 3. segments


def test_flagged_segment_keeps_blocking_until_its_noninferiority_is_shown(spec, good):
    sim, data = good
    dec = D.decide(spec, data, as_of=end_of(sim))
    assert dec.decision == D.EXPAND
    open_ = [s for s in dec.segments if s.tested and not s.noninferior and not s.flagged]
    shown = [s for s in dec.segments if s.noninferior]
    assert open_ and shown
    held = D.decide(spec, data, as_of=end_of(sim), flagged_before=[open_[0].key])
    assert held.decision == D.HOLD
    assert held.segments_flagged == [D._seg_label(open_[0])]
    assert any(r.startswith("segment still blocking") for r in held.reasons)
    released = D.decide(spec, data, as_of=end_of(sim), flagged_before=[shown[0].key])
    assert released.decision == D.EXPAND


def test_small_segments_are_not_judged_and_too_much_unjudged_traffic_holds(spec):
    """A truly non-inferior candidate at a third of the traffic: the totals pass, but segments
    covering more than 10% of the candidate's conversations lack the data to detect a 10-pt harm."""
    sim, data = sim_data(spec, TrueEffects(**GOOD), SMALL)
    dec = D.decide(spec, data, as_of=end_of(sim))
    assert dec.metrics_passed >= 3 and not dec.metrics_harmed
    small = [s for s in dec.segments if not s.tested and s.check == "resolution"]
    assert small and all(s.n_required is None or s.n_required > s.n_candidate for s in small)
    assert all("not judged - too small" in s.reason for s in small)
    assert not any(s.flagged for s in small)  # never flagged, never passed
    assert dec.decision == D.HOLD
    assert any(r.startswith("not judged - too small: resolution by") for r in dec.reasons)
    assert dec.to_row()["segments_not_judged"]


def test_harm_shown_in_a_segment_too_small_to_judge_still_blocks(spec):
    """Kills: harm acted on only in judged segments. At a third of the traffic the verbose persona
    is too small to be judged, but a 35-pt resolution drop there is shown significantly worse
    than the margin: shown harm blocks whether or not the segment had the power to clear itself."""
    sim, data = sim_data(spec, TrueEffects(**GOOD, persona_resolution_delta={"verbose": -0.35}), SMALL)
    dec = D.decide(spec, data, as_of=end_of(sim))
    v = next(s for s in dec.segments if s.check == "resolution" and s.segment == "verbose")
    assert not v.tested and v.p_value <= D.DecisionPolicy().segment_alpha
    assert v.flagged and dec.decision == D.HOLD
    assert "persona verbose" in " ".join(dec.segments_flagged + dec.reasons)


def test_segment_power_requirement_matches_the_closed_form(spec, good):
    sim, data = good
    dec = D.decide(spec, data, as_of=end_of(sim))
    pol = D.DecisionPolicy()
    from scipy.stats import norm

    se_max = (pol.resolution_segment_detect - 0.02) / (norm.isf(pol.segment_alpha) + norm.isf(1 - pol.segment_power))
    for s in (s for s in dec.segments if s.check == "resolution"):
        assert s.se_max == pytest.approx(se_max, rel=1e-12)
        assert s.tested == (s.se <= s.se_max)
        pb = s.value_baseline
        var_b = pb * (1 - pb)  # the baseline's variance ...
        var_c = (pb - pol.resolution_segment_detect) * (1 - pb + pol.resolution_segment_detect)  # ... H1's
        assert s.se == pytest.approx(np.sqrt(var_c * s.deff_candidate / s.n_candidate
                                             + var_b * s.deff_baseline / s.n_baseline), rel=1e-9)
        # at the required n the standard error is exactly the largest allowed one
        se_at_req = np.sqrt(var_c * s.deff_candidate / s.n_required + var_b * s.deff_baseline / s.n_baseline)
        assert se_at_req == pytest.approx(se_max, rel=0.01)


@contextlib.contextmanager
def _edited_facts(data, *statements: str):
    """Run UPDATE statements (``{q}`` = the facts table) on the prepared facts, restore afterwards."""
    q = cs._q(data.table)
    data.con.execute(f"CREATE TEMP TABLE _bak_facts AS SELECT * FROM {q}")
    try:
        for st in statements:
            data.con.execute(st.format(q=q))
        yield data
    finally:
        data.con.execute(f"DELETE FROM {q}")
        data.con.execute(f"INSERT INTO {q} SELECT * FROM _bak_facts")
        data.con.execute("DROP TABLE _bak_facts")


def test_a_perfect_baseline_segment_is_not_judged_at_30_conversations(spec, good):
    """Kills: the power of a rate segment from the baseline's variance with a 1e-4 floor. A new
    locale with 40 conversations per arm, all resolved by the baseline: var_b = 0, but a 10-pt
    harm gives the candidate (1 - 0.1) x 0.1 = 0.09 per conversation -> ~120 needed, not 40."""
    sim, data = good
    pick = ("UPDATE {q} SET locale = 'zz-ZZ', resolved = 1, has_outcome = true WHERE rowid IN "
            "(SELECT rowid FROM {q} WHERE cohort = '%s' AND has_outcome ORDER BY ts LIMIT 40)")
    with _edited_facts(data, pick % "candidate", pick % "baseline"):
        dec = D.decide(spec, data, as_of=end_of(sim))
    z = next(s for s in dec.segments if s.check == "resolution" and s.segment == "zz-ZZ")
    assert z.n_candidate == 40 and z.n_baseline == 40 and z.value_baseline == 1.0
    assert not z.tested and "not judged - too small" in z.reason
    var_c = 0.9 * 0.1
    assert z.se == pytest.approx(np.sqrt(var_c * z.deff_candidate / 40), rel=1e-9)
    assert z.n_required >= 100


def test_csat_segment_power_uses_the_pooled_variance_with_a_floor():
    """Kills: CSAT power from the baseline's variance floored at 1e-4 (all-5 baseline ratings make
    a bucket 'judged' at a handful of ratings)."""
    pol = D.DecisionPolicy()
    se_max = D._segment_se_max(pol.csat_segment_detect, 0.15, pol)
    # baseline all 5s (variance 0), candidate variance 0.2: the floor 0.25 governs
    need = D._required_n(max((29 * 0.2 + 29 * 0.0) / 58, D.CSAT_POWER_VAR_FLOOR), 1.0, 1.0, 30, se_max)
    assert D.CSAT_POWER_VAR_FLOOR == 0.25 and need > 30


# ============================================================================ fail closed: unknown data


def _null_costs(frame: pl.DataFrame, version: str, every: int) -> pl.DataFrame:
    """Drop cost_usd from the answered assistant turns of 1 in ``every`` conversations of ``version``."""
    hit = (pl.col("agent_version") == version) & (pl.col("conversation_id").hash(7) % every == 0)
    el = pl.element()
    no_cost = pl.col("messages").list.eval(el.struct.with_fields(
        pl.when(el.struct.field("role") == "assistant").then(None).otherwise(el.struct.field("cost_usd"))
        .alias("cost_usd")))
    return frame.with_columns(messages=pl.when(hit).then(no_cost).otherwise(pl.col("messages")))


def test_unknown_cost_is_not_zero_and_holds(spec, good):
    """Kills: a conversation without cost counted as $0. 1 in 10 candidate conversations have no
    cost: the cost guardrail is not evaluated (cost unknown) and the candidate, which passes the
    four exit metrics, is held instead of expanded."""
    sim, _ = good
    data = cs.load(_null_costs(sim.frame, spec.candidate.version, 10), spec)
    st = cs.cohort_stats(data, release_id="x", periods=("cumulative",))
    cand = st.filter((pl.col("dimension") == "overall") & (pl.col("cohort") == "candidate")
                     & (pl.col("day") == st["day"].max())).row(0, named=True)
    assert cand["cost_unknown_conversations"] > 0 and cand["cost_per_resolution"] is None
    n_unknown = data.fetch("SELECT count(*) FROM {facts} WHERE cohort = 'candidate' AND cost IS NULL")[0][0]
    assert n_unknown == cand["cost_unknown_conversations"]
    dec = D.decide(spec, data, as_of=end_of(sim))
    g = next(g for g in dec.guardrails if g.name == "cost_overrun")
    assert not g.evaluated and not g.breached and g.value is None
    assert f"cost unknown: {n_unknown:,} of " in g.evidence
    assert dec.metrics_passed >= 3 and not dec.metrics_harmed  # everything else would expand
    assert dec.decision == D.HOLD
    assert dec.reasons[0].startswith("guardrail cost_overrun not evaluated (cost unknown:")
    # a failed turn without cost is no unknown cost: only answered turns must carry one
    assert data.fetch("SELECT count(*) FROM {facts} WHERE cohort = 'baseline' AND cost IS NULL")[0][0] == 0


def test_cost_metric_with_unknown_cost_is_not_tested(spec, good):
    sim, _ = good
    with_cost = parse({**SPEC_DICT, "canary": {**SPEC_DICT["canary"], "metrics": SPEC_DICT["canary"]["metrics"]
                                               + [{"name": "cost_per_resolution", "margin": 1.2}]}})
    data = cs.load(_null_costs(sim.frame, spec.baseline.version, 20), with_cost)
    dec = D.decide(with_cost, data, as_of=end_of(sim))
    m = next(m for m in dec.metrics if m.name == "cost_per_resolution")
    assert m.estimate is None and not m.passed and m.note.startswith("cost unknown:")
    assert dec.decision == D.HOLD


def test_baseline_cost_zero_holds_past_the_minimum_soak(spec, good):
    """Kills: cost guardrail not evaluated (baseline $0) treated as a pass: EXPAND on the rest."""
    sim, data = good
    with _edited_facts(data, "UPDATE {q} SET cost = 0 WHERE cohort = 'baseline'"):
        dec = D.decide(spec, data, as_of=end_of(sim))
    g = next(g for g in dec.guardrails if g.name == "cost_overrun")
    assert not g.evaluated and "baseline's cost is $0" in g.evidence
    assert dec.metrics_passed >= 3 and dec.decision == D.HOLD
    assert any(r.startswith("guardrail cost_overrun not evaluated") for r in dec.reasons)


def test_too_few_cost_resolutions_holds_but_only_past_the_minimum_soak(spec, good):
    sim, data = good
    strict = D.DecisionPolicy(cost_guardrail_min_resolutions=10**9)
    dec = D.decide(spec, data, as_of=end_of(sim), policy=strict)
    assert dec.decision == D.HOLD and any("guardrail cost_overrun not evaluated" in r for r in dec.reasons)
    early = D.decide(spec, data, as_of=days_after(sim.config, 3), policy=strict)
    assert early.decision == D.HOLD and early.reasons[0].startswith("too early")


def test_p95_guardrail_without_data_holds(spec, good):
    """Kills: no p95 guardrail appended (and the p95 metric 'insufficient data') when an arm has
    fewer than 20 latencies: resolution, errors and CSAT pass 3 of 4 and it expanded."""
    sim, data = good
    with _edited_facts(data, "UPDATE {q} SET latencies = []::DOUBLE[] WHERE cohort = 'baseline'"):
        dec = D.decide(spec, data, as_of=end_of(sim))
    g = next(g for g in dec.guardrails if g.name == "p95_latency")
    assert not g.evaluated and not g.breached
    assert dec.metrics_passed == 3
    assert dec.decision == D.HOLD
    assert any(r.startswith("guardrail p95_latency not evaluated") for r in dec.reasons)


def _time_out_turns(frame: pl.DataFrame, version: str, every: int) -> pl.DataFrame:
    """Every assistant turn of 1 in ``every`` conversations of ``version`` times out: no latency."""
    hit = (pl.col("agent_version") == version) & (pl.col("conversation_id").hash(3) % every == 0)
    el = pl.element()
    timed_out = pl.col("messages").list.eval(el.struct.with_fields(
        pl.when(el.struct.field("role") == "assistant").then(None).otherwise(el.struct.field("latency_ms"))
        .alias("latency_ms")))
    return frame.with_columns(messages=pl.when(hit).then(timed_out).otherwise(pl.col("messages")))


def test_timed_out_turns_count_at_the_timeout_in_p95(spec, good):
    """Kills: p95 over answered turns only. 1 in 10 candidate conversations time out on every turn
    (latency NULL): with the turns dropped the candidate looks as fast as ever and expands; at the
    spec's timeout (30 s) its p95 is the timeout, the guardrail rolls back."""
    sim, _ = good
    data = cs.load(_time_out_turns(sim.frame, spec.candidate.version, 10), spec)
    n_turns = data.fetch("SELECT sum(turns) FROM {facts} WHERE cohort = 'candidate'")[0][0]
    n_lat = data.fetch("SELECT sum(len(latencies)) FROM {facts} WHERE cohort = 'candidate'")[0][0]
    assert n_lat == n_turns  # no turn dropped
    st = cs.cohort_stats(data, release_id="x", periods=("cumulative",))
    cand = st.filter((pl.col("dimension") == "overall") & (pl.col("cohort") == "candidate")
                     & (pl.col("day") == st["day"].max())).row(0, named=True)
    assert cand["latency_p95_ms"] == pytest.approx(30_000, rel=0.01)
    dec = D.decide(spec, data, as_of=end_of(sim))
    g = next(g for g in dec.guardrails if g.name == "p95_latency")
    assert g.evaluated and g.breached
    assert dec.decision == D.ROLLBACK and dec.reasons[0].startswith("guardrail p95_latency")
    # the timeout is the spec's: a 12 s candidate timeout puts the p95 at 12 s
    short = parse({**SPEC_DICT, "candidate": {**SPEC_DICT["candidate"], "timeout_s": 12.0}})
    d12 = cs.load(_time_out_turns(sim.frame, spec.candidate.version, 10), short)
    st12 = cs.cohort_stats(d12, release_id="x", periods=("cumulative",))
    c12 = st12.filter((pl.col("dimension") == "overall") & (pl.col("cohort") == "candidate")
                      & (pl.col("day") == st12["day"].max())).row(0, named=True)
    assert c12["latency_p95_ms"] == pytest.approx(12_000, rel=0.01)


def test_errored_turns_count_at_the_timeout_in_segments(spec, good):
    """A failed turn (error set) enters the latency sample at the timeout, also per segment."""
    sim, data = good
    n_err = data.fetch("""SELECT count(*) FROM (SELECT unnest(latencies) AS l FROM {facts}
                          WHERE cohort = 'candidate') WHERE l = 30000""")[0][0]
    n_err_turns = int(sim.frame.filter(pl.col("agent_version") == spec.candidate.version)["messages"]
                      .list.eval(pl.element().struct.field("error").is_not_null()
                                 | (pl.element().struct.field("role") == "assistant")
                                 & pl.element().struct.field("latency_ms").is_null()).list.sum().sum())
    assert n_err_turns > 0 and n_err > 0.5 * n_err_turns


def test_unrepresentative_cohort_blocks_every_look(spec, good):
    from agent_release.canary.simulate import pre_canary_representativeness, simulate_population

    sim, data = good
    pop = simulate_population(TrafficConfig.from_spec(spec, n_users=20_000, seed=11))
    us_only = pre_canary_representativeness(pop, "canary-test", 5, targeting_locales=("en-US",))
    assert us_only.verdict == "HOLD"
    looks = D.run_looks(spec, data, representativeness=us_only, canary_start=sim.config.start,
                        data_end=end_of(sim))
    assert D.EXPAND not in [d.decision for d in looks]
    assert looks[-1].reasons[0].startswith("cohort not representative")


def test_production_population_reads_the_masked_logs_users(tmp_path):
    from agent_release.defs.canary import MASKED_PRODUCTION, production_population
    from agent_release.warehouse import Lake

    lake = Lake(tmp_path / "lake")
    df = pl.DataFrame({
        "user_id": ["u_a", "u_a", "u_a", "u_b", "u_c"],
        "locale": ["es-ES", "es-ES", "en-US", "fr-FR", None],
        "channel": ["chat", "chat", "email", "voice", "chat"],
        "extra_json": ['{"persona":"angry"}', '{"persona":"angry"}', None, "{}", '{"persona":"terse"}'],
    })
    lake.write(MASKED_PRODUCTION, df, partition="2026-10-01")
    pop = production_population(lake)
    assert pop.to_dicts() == [
        {"user_id": "u_a", "locale": "es-ES", "channel": "chat", "persona": "angry"},
        {"user_id": "u_b", "locale": "fr-FR", "channel": "voice", "persona": "unknown"},
        {"user_id": "u_c", "locale": "unknown", "channel": "chat", "persona": "terse"},
    ]


# ============================================================================ 4. guardrails


def _with_baseline_errors(data, share: float):
    """Mark ``share`` of the baseline's conversations as errored (a bad baseline)."""
    q = cs._q(data.table)
    data.con.execute(f"CREATE TEMP TABLE _bak_err AS SELECT * FROM {q}")
    data.con.execute(f"UPDATE {q} SET has_error = true WHERE served = 'baseline' AND "
                     f"hash(user_idx, ts) % 1000 < {int(share * 1000)}")


def _restore(data):
    q = cs._q(data.table)
    data.con.execute(f"DELETE FROM {q}")
    data.con.execute(f"INSERT INTO {q} SELECT * FROM _bak_err")
    data.con.execute("DROP TABLE _bak_err")


def test_error_guardrail_is_not_raised_by_a_bad_baseline(spec):
    """Candidate error rate ~6.6% (max 5%): ROLLBACK whether the baseline errs 2% or 9%."""
    sim, data = sim_data(spec, TrueEffects(**GOOD, error_rate_delta=0.045), SMALL)
    dec = D.decide(spec, data, as_of=end_of(sim))
    assert dec.decision == D.ROLLBACK and "error_rate" in dec.to_row()["guardrails_breached"]
    _with_baseline_errors(data, 0.08)
    try:
        bad = D.decide(spec, data, as_of=end_of(sim))
        base = bad.counts["errors_baseline"] / bad.counts["conversations_baseline"]
        assert base > 0.08  # the baseline is now worse than the candidate
        g = next(g for g in bad.guardrails if g.name == "error_rate")
        assert g.threshold == spec.canary.error_rate_max and g.breached
        assert bad.decision == D.ROLLBACK
    finally:
        _restore(data)


def test_error_guardrail_uses_the_lower_bound_not_the_point_estimate(spec):
    sim, data = sim_data(spec, TrueEffects(**GOOD, error_rate_delta=0.035), SMALL)
    early = D.decide(spec, data, as_of=days_after(sim.config, 1.5))
    g = next(g for g in early.guardrails if g.name == "error_rate")
    point = early.counts["errors_candidate"] / early.counts["conversations_candidate"]
    assert point > spec.canary.error_rate_max  # the point estimate is above the maximum ...
    assert g.evaluated and g.value < spec.canary.error_rate_max and not g.breached  # ... its bound is not
    # the bound is a Wilson bound at the guardrail level on Rao-Scott effective counts
    deff = D.design_effect_rate(*(lambda u: (u["candidate"]["err"], u["candidate"]["conv"]))(
        D._per_user(data, cs.to_utc_naive(days_after(sim.config, 1.5)))))
    lo, _ = D._wilson(early.counts["served_candidate_errors"] / deff, early.counts["served_candidate"] / deff,
                      2.3263478740408408)  # z of the one-sided 1% guardrail level
    assert g.value == pytest.approx(lo, rel=1e-9)


def test_error_guardrail_relative_to_the_baseline(spec):
    """A loose absolute maximum: only the comparison with the baseline catches +4 pts."""
    loose = parse({**SPEC_DICT, "canary": {**SPEC_DICT["canary"], "error_rate_max": 0.5}})
    sim, data = sim_data(loose, TrueEffects(**GOOD, error_rate_delta=0.04), SMALL)
    dec = D.decide(loose, data, as_of=end_of(sim))
    assert dec.decision == D.ROLLBACK
    g = next(g for g in dec.guardrails if g.name == "error_rate_vs_baseline")
    assert g.breached and g.value > loose.canary.error_rate_allowance
    assert dec.reasons[0].startswith("guardrail error_rate_vs_baseline")
    # the same candidate +1.5 pts: above the error metric's margin but within the allowance -> no rollback
    sim2, data2 = sim_data(loose, TrueEffects(**GOOD, error_rate_delta=0.015), SMALL)
    dec2 = D.decide(loose, data2, as_of=end_of(sim2))
    assert dec2.decision != D.ROLLBACK


def test_cost_guardrail_uses_the_lower_bound(spec):
    sim, data = sim_data(spec, SCENARIOS["cost_overrun"], SMALL)
    early = D.decide(spec, data, as_of=days_after(sim.config, 2))
    g = next(g for g in early.guardrails if g.name == "cost_overrun")
    assert g.evaluated and not g.breached and g.value < spec.canary.cost_overrun_ratio
    pt = float(g.evidence.split(" = ")[1].split("x")[0])
    assert pt > spec.canary.cost_overrun_ratio  # a point-estimate rule would have rolled back
    late = D.decide(spec, data, as_of=end_of(sim))
    assert late.decision == D.ROLLBACK and late.reasons[0].startswith("guardrail cost_overrun")


# ============================================================================ clustering


def test_exit_metrics_use_the_rao_scott_design_effect(spec, good):
    sim, data = good
    dec = D.decide(spec, data, as_of=end_of(sim))
    res = next(m for m in dec.metrics if m.name == "resolution_rate")
    df = sim.frame.with_columns(cand=pl.col("agent_version") == "support-bot@2",
                                r=(pl.col("outcome") == "resolved").cast(pl.Float64))
    per = df.group_by("user_id", "cand").agg(x=pl.col("r").sum(), n=pl.len().cast(pl.Float64))
    deffs = {}
    for arm, flag in (("c", True), ("b", False)):
        g = per.filter(pl.col("cand") == flag)
        deffs[arm] = D.design_effect_rate(g["x"].to_numpy(), g["n"].to_numpy())
    assert deffs["c"] > 1.05 and deffs["b"] > 1.05
    assert res.details["deff_candidate"] == pytest.approx(deffs["c"], rel=1e-9)
    assert res.details["deff_baseline"] == pytest.approx(deffs["b"], rel=1e-9)
    xc, nc = res.details["x_candidate"], res.details["n_candidate"]
    xb, nb = res.details["x_baseline"], res.details["n_baseline"]
    ref = S.farrington_manning_noninferiority(xc / deffs["c"], nc / deffs["c"], xb / deffs["b"], nb / deffs["b"],
                                              0.02, True, 0.05)
    assert res.p_value == pytest.approx(ref.p_value, rel=1e-6)


def test_rollout_step_uses_the_same_fail_closed_rule(spec):
    from agent_release.rollout.analysis import analyze_step

    sim, data = sim_data(spec, TrueEffects(**GOOD, error_rate_delta=0.021), BIG)
    step = analyze_step(spec, sim.frame.filter(pl.col("started_at") < days_after(sim.config, 3)),
                        percentage=5, step_start=sim.config.start, as_of=days_after(sim.config, 3), min_hours=48)
    assert step.decision != D.EXPAND
    assert step.weekly_cycle_waived


def test_exit_criteria_state_the_rules(spec):
    doc = D.render_exit_criteria(spec)
    for text in ("Harm (inferiority established)", "not judged - too small", "keeps blocking",
                 "EXPAND and ROLLBACK are terminal", "complete days", "Information fraction = candidate conversations",
                 "lower bound of candidate - baseline", "never raises this allowance", "p95 latency | locale, persona",
                 "masked production logs"):
        assert text in doc, text
    assert D.exit_criteria_hash(spec, D.DecisionPolicy(segment_power=0.8)) != D.exit_criteria_hash(spec)
    assert replace(spec.canary, p95_ratio_max=2.0) != spec.canary
