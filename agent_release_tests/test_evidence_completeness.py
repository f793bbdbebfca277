"""Evidence completeness (issue 14, item 4): the gate and the suite / replay checks refuse evidence
with rows missing or with more endpoint errors than the spec's ``gate.replay_max_error_share``,
before any criterion is judged — and say so with the counts, per suite and side.

Known truth in every test; each docstring names the plausible bug the test kills."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from agent_release.evals import gate
from agent_release.evals.findings import make_findings
from agent_release.evals.gate import decide, evidence_completeness
from agent_release.evals.report import render_gate_markdown, render_gate_report_html
from agent_release.release_spec import load_release
from agent_release_tests.test_gate_decisions import BASE, CAND, INTENTS, LOCALES, M_BASE, M_CAND


@pytest.fixture(scope="module")
def spec():
    """support-bot-2 with budgets wide enough that only the evidence decides (failed turns count at
    their timeout in p95; cost forecast well above the fixture's cost)."""
    s = load_release("support-bot-2")
    return replace(s, gate=replace(s.gate, p95_latency_budget_ms=1e6, cost_per_resolution_forecast_usd=0.05,
                                   replay_error_rate_margin_points=2.0))


# ----------------------------------------------------------------------------------- fixtures
def golden(n: int = 300, *, cand_errors: int = 0, base_errors: int = 0, cand_real_fails: int = 0) -> pl.DataFrame:
    """Both agents pass every case, except: the candidate's first ``cand_errors`` cases are
    endpoint errors (passed False, error set), the next ``cand_real_fails`` are wrong answers; the
    baseline's last ``base_errors`` cases are endpoint errors."""
    case = [f"g1-{INTENTS[i % 5]}-{LOCALES[(i // 5) % 5]}-{i:03d}" for i in range(n)]
    intent = [INTENTS[i % 5] for i in range(n)]
    locale = [LOCALES[(i // 5) % 5] for i in range(n)]
    pc = [not (i < cand_errors + cand_real_fails) for i in range(n)]
    ec = ["http_503" if i < cand_errors else None for i in range(n)]
    pb = [not (i >= n - base_errors) for i in range(n)]
    eb = ["http_503" if i >= n - base_errors else None for i in range(n)]
    return pl.DataFrame({
        "agent_version": [BASE] * n + [CAND] * n, "case_id": case * 2, "intent": intent * 2, "locale": locale * 2,
        "passed": pb + pc, "error": eb + ec, "golden_version": ["v1"] * (2 * n),
        "model": [M_BASE] * n + [M_CAND] * n})


def findings(trials: int = 3, n: int = 20, *, cand_errors: int = 0) -> pl.DataFrame:
    rows = []
    for a in (BASE, CAND):
        for i in range(n):
            for t in range(trials):
                err = a == CAND and i * trials + t < cand_errors
                rows.append({"agent_version": a, "source": "corpus", "probe": f"p{i}", "category": "policy_bypass",
                             "severity": "high", "detector": "d", "attempt": t, "score": None if err else 0.0,
                             "passed": None if err else True, "error": "http_503" if err else None,
                             "output": "o", "prompt": "p"})
    return make_findings(rows)


def replayed(agent: str, n: int, *, failed_turns: int = 0, turns_per_conv: int = 4, model: str | None = None,
             ids: range | None = None, seed: int = 3) -> pl.DataFrame:
    """Contract-shaped replayed conversations of one agent: ``n`` conversations of
    ``turns_per_conv`` assistant turns; the first ``failed_turns`` turns (in conversation order,
    one per conversation first) failed with ``http_503`` after retries."""
    rng = np.random.default_rng(seed)
    ids = ids if ids is not None else range(n)
    bad = set()
    k = 0
    for t in range(turns_per_conv):  # spread failures: one per conversation, then a second, ...
        for c in range(n):
            if k < failed_turns:
                bad.add((c, t))
                k += 1
    rows = []
    for c, cid in enumerate(ids):
        msgs = []
        for t in range(turns_per_conv):
            msgs.append({"role": "user", "content": "hi", "latency_ms": None, "cost_usd": None, "error": None})
            failed = (c, t) in bad
            msgs.append({"role": "assistant", "content": "" if failed else "ok",
                         "latency_ms": None if failed else float(rng.gamma(4, 300)),
                         "cost_usd": None if failed else 0.002, "error": "http_503" if failed else None})
        rows.append({"conversation_id": f"conv-{cid:04d}", "agent_version": agent, "locale": "en-US",
                     "model": model or (M_CAND if agent == CAND else M_BASE), "outcome": "resolved",
                     "extra_json": "{}", "messages": msgs})
    return pl.DataFrame(rows)


def replay_pair(n_base: int = 400, n_cand: int = 400, *, base_failed: int = 0, cand_failed: int = 0, **kw) -> pl.DataFrame:
    return pl.concat([replayed(BASE, n_base, failed_turns=base_failed, **kw),
                      replayed(CAND, n_cand, failed_turns=cand_failed, **kw)], how="diagonal_relaxed")


def run(spec, *, g=None, f=None, rep=None, **kw):
    g = golden() if g is None else g
    f = findings() if f is None else f
    rep = replay_pair() if rep is None else rep
    return decide(spec, g, f, rep, rep, n_boot=300, **kw)


# ----------------------------------------------------------------------------------- the gate
def test_control_with_complete_evidence_promotes_and_says_so(spec):
    """The control: complete, error-free evidence PROMOTEs and the last reason states the counts."""
    d = run(spec)
    assert d.decision == "PROMOTE", d.reasons
    assert d.evidence.complete and d.reasons[-1].startswith("evidence complete — ")
    assert "replay: candidate 400/400 conversations, 0 of 1600 turns failed (0.0%)" in d.reasons[-1]


def test_127_of_400_candidate_conversations_block_as_evidence_incomplete(spec):
    """The SRE's case: decide() accepted 127 of 400 candidate rows. Truth: the replay lost 273
    candidate conversations; whatever the criteria say, the gate BLOCKs with the completeness reason
    first, naming 127 of 400. Kills: no completeness check (PROMOTE on 127 rows — every criterion
    passes on them); the check done after / mixed into the criteria (reasons[0] not the evidence)."""
    rep = replay_pair(n_cand=127)
    d = run(spec, rep=rep)
    assert all(c.passed for c in d.criteria), d.reasons  # on 127 rows every criterion would pass
    assert d.decision == "BLOCK"
    assert d.reasons[0].startswith("evidence incomplete") and "candidate 127 of 400 conversations" in d.reasons[0]
    assert "(273 missing)" in d.reasons[0] and "baseline" not in d.reasons[0].split("—")[1]
    # the criteria are still computed and recorded, for transparency — but not judged
    assert all(c.value is not None for c in d.criteria)
    assert any(r.startswith("golden_accuracy: PASS on incomplete evidence, not judged") for r in d.reasons)
    row = d.to_row()
    assert row["decision"] == "BLOCK" and row["evidence_complete"] is False
    assert row["evidence_replay_candidate_received"] == 127 and row["evidence_replay_candidate_expected"] == 400
    assert row["evidence_replay_baseline_received"] == 400 and row["golden_accuracy_pass"] is True
    assert "127 of 400" in row["evidence_reason"] and json.loads(row["evidence_json"])
    pl.DataFrame([row])  # one Parquet/DuckDB-ready row


def test_rows_missing_on_both_sides_are_caught_against_the_expected_counts(spec):
    """Both arms lost the same conversations (127 of 400 each): the arms agree, only the sample
    size tells. Kills: ``expected=`` ignored (only the arms compared with each other)."""
    rep = replay_pair(n_base=127, n_cand=127)
    assert run(spec, rep=rep).decision == "PROMOTE"  # without the sample size nothing is visibly missing
    d = run(spec, rep=rep, expected={"replay": 400, "golden": 300, "adversarial": 60})
    assert d.decision == "BLOCK" and d.reasons[0].startswith("evidence incomplete")
    assert "candidate 127 of 400 conversations received (273 missing), baseline 127 of 400" in d.reasons[0]
    assert d.inputs["expected_rows"]["replay"] == 400


def test_incomplete_evidence_comes_first_even_when_a_criterion_fails(spec):
    """Kills: completeness appended after the failing criteria (an SRE reads the first reason)."""
    d = run(spec, g=golden(cand_real_fails=30), rep=replay_pair(n_cand=127))
    assert d.decision == "BLOCK" and d.failed == ["golden_accuracy"]
    assert d.reasons[0].startswith("evidence incomplete") and d.reasons[1].startswith("golden_accuracy: FAIL")


@pytest.mark.parametrize("failed,complete", [(49, True), (50, True), (51, False)])
def test_replay_error_share_at_the_limit_is_judged_above_it_is_not(spec, failed, complete):
    """1000 candidate turns (250 conversations × 4), the spec's limit 5 %: 49 and 50 failed turns
    are evidence (the criteria are judged), 51 (5.1 %) are an outage. The baseline fails as often,
    so the replay error-rate criterion itself passes. Kills: '≥' for '>', the share counted per
    conversation instead of per turn, a limit other than the spec's."""
    assert spec.gate.replay_max_error_share == pytest.approx(0.05)
    rep = replay_pair(250, 250, base_failed=failed, cand_failed=failed)
    d = run(spec, rep=rep)
    e = d.evidence.get("replay", "candidate")
    assert (e.errors, e.units) == (failed, 1000)
    assert d.evidence.complete is complete, d.reasons
    if complete:
        assert d.decision == "PROMOTE", d.reasons
    else:
        assert d.decision == "BLOCK" and d.reasons[0].startswith("evidence incomplete")
        assert ("replay: endpoint errors: candidate 51 of 1000 turns failed (5.1%), "
                "baseline 51 of 1000 turns failed (5.1%)") in d.reasons[0]


def test_the_limit_is_the_specs_replay_max_error_share(spec):
    """8 % failed candidate turns: incomplete under the default 5 %, evidence under a spec that
    allows 10 %. Kills: a hard-coded 5 % (a second knob)."""
    rep = replay_pair(250, 250, base_failed=80, cand_failed=80)
    assert not run(spec, rep=rep).evidence.complete
    loose = replace(spec, gate=replace(spec.gate, replay_max_error_share=0.10))
    d = run(loose, rep=rep)
    assert d.evidence.complete and d.evidence.max_error_share == pytest.approx(0.10), d.reasons


def test_a_hundred_percent_error_replay_day_blocks_the_gate(spec):
    """A day whose candidate endpoint failed every turn, among otherwise clean days: the gate BLOCKs
    'evidence incomplete' with the candidate's failed turns, not only a criterion verdict."""
    clean = replay_pair(300, 300)
    outage = replayed(CAND, 100, failed_turns=400, ids=range(300, 400))
    rep = pl.concat([clean, replayed(BASE, 100, ids=range(300, 400)), outage], how="diagonal_relaxed")
    d = run(spec, rep=rep)
    assert d.decision == "BLOCK" and d.reasons[0].startswith("evidence incomplete")
    assert "replay: endpoint errors: candidate 400 of 1600 turns failed (25.0%), baseline 0 of 1600" in d.reasons[0]


def test_a_suite_outage_blocks_before_its_criterion(spec):
    """The candidate's endpoint failed 30 % of the adversarial attempts (errored attempts are
    'unknown', so the safety criterion fails too) and 10 % of the golden cases: both suites are
    named with their per-side counts. Kills: completeness judged on the replay only."""
    d = run(spec, g=golden(cand_errors=30), f=findings(cand_errors=18))
    assert d.decision == "BLOCK" and d.reasons[0].startswith("evidence incomplete")
    r0 = d.reasons[0]
    assert "golden: endpoint errors: candidate 30 of 300 cases failed (10.0%), baseline 0 of 300 cases failed" in r0
    assert "adversarial: endpoint errors: candidate 18 of 60 attempts failed (30.0%), baseline 0 of 60" in r0


def test_golden_flips_name_how_many_were_endpoint_errors(spec):
    """The SRE's case: golden BLOCKs on flipped cases, most of which were endpoint errors, and
    nothing said so. 20 flips, 15 of them http_503 (5 % of the cases: still evidence). Kills: flips
    reported without their cause; the report's flip table without the error."""
    d = run(spec, g=golden(cand_errors=15, cand_real_fails=5))
    c = d.criterion("golden_accuracy")
    assert d.evidence.complete and d.failed == ["golden_accuracy"], d.reasons
    assert "20 case(s) flipped pass→fail (15 of them candidate endpoint errors, not answers)" in c.reason
    assert c.details["flipped_pass_to_fail_endpoint_errors"] == 15
    md = render_gate_markdown(d)
    assert "Golden cases flipped pass→fail (20; 15 of them candidate endpoint errors)" in md
    assert "| http_503 |" in md
    assert "| golden | candidate | support-bot@2 | 300 cases | 300 cases | 15 of 300 cases | 5.0% | ok |" in md


def test_reasons_and_reports_show_endpoint_errors_per_side_and_suite(spec):
    """3 % / 1 % failed replayed turns and 4 / 2 golden endpoint errors (candidate / baseline):
    the last reason, the Markdown and the HTML report, and the decision row carry each side's
    counts per suite. Kills: errors only in the replay criterion's reason; one side only."""
    rep = replay_pair(250, 250, base_failed=10, cand_failed=30)
    d = run(spec, g=golden(cand_errors=4, base_errors=2), rep=rep)
    assert d.evidence.complete
    last = d.reasons[-1]
    assert last.startswith("evidence complete — replay: candidate 250/250 conversations, 30 of 1000 turns failed "
                           "(3.0%), baseline 250/250 conversations, 10 of 1000 turns failed (1.0%)"), last
    assert "golden: candidate 300/300 cases, 4 of 300 cases failed (1.3%), baseline 300/300 cases, 2 of 300" in last
    assert "adversarial: candidate 60/60 attempts, 0 of 60 attempts failed" in last
    md = render_gate_markdown(d)
    assert "**Evidence complete**" in md
    assert "| replay | candidate | support-bot@2 | 250 conversations | 250 conversations | 30 of 1000 turns | 3.0% | ok |" in md
    assert "| replay | baseline | support-bot@1 | 250 conversations | 250 conversations | 10 of 1000 turns | 1.0% | ok |" in md
    html = render_gate_report_html(d, golden_results=golden(cand_errors=4, base_errors=2), latency_inputs=rep)
    assert "<h2>Evidence complete</h2>" in html and "<td>30 of 1000 turns</td><td>3.0%</td>" in html
    assert "<td>2 of 300 cases</td>" in html
    row = d.to_row()
    assert (row["evidence_replay_candidate_errors"], row["evidence_replay_candidate_error_units"]) == (30, 1000)
    assert (row["evidence_replay_baseline_errors"], row["evidence_golden_baseline_errors"]) == (10, 2)
    assert row["evidence_golden_candidate_error_share"] == pytest.approx(4 / 300)
    assert row["evidence_complete"] is True and row["evidence_max_error_share"] == pytest.approx(0.05)


def test_incomplete_report_names_the_problem(spec):
    d = run(spec, rep=replay_pair(n_cand=127))
    md = render_gate_markdown(d)
    assert "Evidence incomplete — the criteria are not judged" in md and "| 273 missing |" in md
    html = render_gate_report_html(d)
    assert "Evidence INCOMPLETE" in html and "candidate 127 of 400 conversations received" in html


def test_scenario_errors_are_counted_per_turn():
    """A scenario trial stops at its first error, so an errored trial is one failed turn of the
    turns it played. 90 trials of 10 turns, 6 errored: 6 of 900 turns (0.7 %) — evidence; counted per
    trial it would be 6.7 % and block the default battery's long conversations. Kills: per-trial share."""
    rows = [{"agent_version": a, "scenario_id": f"s{i // 3}", "trial": i % 3, "passed": True, "turns": 10,
             "error": ("http_503" if a == CAND and i < 6 else None)} for a in (BASE, CAND) for i in range(90)]
    ev = evidence_completeness(BASE, CAND, scenarios=pl.DataFrame(rows), expected={"scenarios": 90},
                               suites=("scenarios",))
    e = ev.get("scenarios", "candidate")
    assert ev.complete and (e.errors, e.units, e.error_unit) == (6, 900, "turns")


def test_replay_duplicates_and_unexpected_rows_are_not_evidence():
    """Kills: a conversation replayed twice (or rows of another sample) read as complete."""
    rep = replay_pair(10, 10)
    dup = pl.concat([rep, rep.filter(pl.col("agent_version") == CAND).head(2)], how="diagonal_relaxed")
    ev = evidence_completeness(BASE, CAND, replay=dup, golden=golden(10), findings=findings(1, 2),
                               expected={"replay": 10})
    assert not ev.complete and "replay: duplicated rows — candidate 2 conversations twice" in ev.problems
    ev = evidence_completeness(BASE, CAND, replay=rep, golden=golden(10), findings=findings(1, 2),
                               expected={"replay": 8})
    assert any(p.startswith("replay: unexpected rows — candidate 10 conversations received, 8 expected")
               for p in ev.problems)


def test_unsent_turns_count_as_failed_like_the_replay_error_criterion():
    """A conversation cut after two failed turns: its unsent turns are failed turns (as the
    replay_error_rate criterion counts them). Kills: an outage that stops conversations early
    looking like a small error share."""
    rows = []
    for i in range(10):
        bad = i < 2
        msgs = [{"role": "assistant", "content": "", "latency_ms": None, "cost_usd": None, "error": "http_503"}] * 2 \
            if bad else [{"role": "assistant", "content": "a", "latency_ms": 10.0, "cost_usd": 0.001, "error": None}] * 4
        rows.append({"conversation_id": f"c{i}", "agent_version": CAND, "locale": "en-US", "messages": msgs,
                     "extra_json": json.dumps({"replay_unsent_turns": 2} if bad else {})})
    c = gate.replay_error_counts(pl.DataFrame(rows), CAND)
    assert (c["errors"], c["turns"]) == (8, 40)
