"""Operating characteristics of the release decisions, by Monte Carlo through the project's own code.

Every replication simulates a fresh 14-day canary (``canary.simulate``, a new seed: new users,
arrivals and outcomes) at the designed traffic of the example spec (``--rate`` conversations/hour
through the flag's population, 5% to the candidate) with a known TRUE effect, and runs the
canary's real decision path — ``canary.decision.run_looks``: complete-day looks, alpha spending
over the information fraction, Holm across metrics, harm tests, segments judged with power,
persistence and the stopping rule — exactly as the ``canary/exit_decision`` asset does. Rates are
printed with their replications and binomial standard errors; each goal is printed beside them.

Scenarios (goal in brackets):

* ``type1_margins`` — resolution exactly −2 pts and error rate exactly +1 pt (both AT their
  registered margins, the other two metrics equal): the least favourable null for the
  "3 of 4 non-inferior" rule (one false claim suffices) → P(EXPAND on any look) [≤ α = 0.05];
* ``power_equal`` — no difference at all → P(EXPAND by day 14) [≥ 90%];
* ``locale_minus_10`` — es-ES 10 pts worse on resolution, all else equal → P(never EXPAND) [≥ 95%];
* ``error_plus_2_1`` — error rate +2.1 pts (margin +1): one metric significantly worse while the
  other three are fine → P(never EXPAND) [≥ 95%];
* ``p95_1_5x`` — every assistant turn 1.5× slower (margin 1.10×) → P(never EXPAND) [≥ 95%].

The pre-prod golden rule's operating characteristic is printed too: P(PASS) against the true
difference at the golden set's size (308) and a discordance of 10%, from the gate's own function
(``stats.golden_rule_operating_characteristic``) and by Monte Carlo through the gate's
``golden_accuracy_criterion`` on simulated paired cases (templates of 6 cases whose
discordant pairs lean the same way), with the set size that would separate 0 from −3 points at 90%/90%.

    .venv/bin/python bench/decisions.py [--reps 20] [--workers 2] [--rate 400] [--only power_equal,...]
                                        [--json out.json]

Replications run in ``--workers`` processes (one simulation + 14 looks costs ~5-9 s CPU).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

START = datetime(2026, 11, 2, tzinfo=UTC)
RELEASE = "support-bot-2"


def _scenarios():
    from agent_release.canary.simulate import TrueEffects

    return {
        "type1_margins": (TrueEffects(resolution_delta=-0.02, error_rate_delta=0.01), "EXPAND", 0.05, "le"),
        "power_equal": (TrueEffects(), "EXPAND", 0.90, "ge"),
        "locale_minus_10": (TrueEffects(locale_resolution_delta={"es-ES": -0.10}), "never", 0.95, "ge"),
        "error_plus_2_1": (TrueEffects(error_rate_delta=0.021), "never", 0.95, "ge"),
        "p95_1_5x": (TrueEffects(latency_multiplier=1.5), "never", 0.95, "ge"),
    }


def _one(args: tuple[str, int, float]) -> dict:
    name, rep, rate = args
    from agent_release.canary.decision import EXPAND, run_looks
    from agent_release.canary.simulate import TrafficConfig, simulate
    from agent_release.release_spec import load_release

    spec = load_release(RELEASE)
    effects = _scenarios()[name][0]
    t0 = time.process_time()
    cfg = TrafficConfig.from_spec(spec, rate_per_hour=rate, seed=100_003 * (rep + 1) + 17, days=14, start=START)
    sim = simulate(cfg, effects)
    looks = run_looks(spec, sim.frame, data_end=START + timedelta(days=14))
    decisions = [d.decision for d in looks]
    first_expand = next((i for i, d in enumerate(looks) if d.decision == EXPAND), None)
    last = looks[-1] if looks else None
    return {"scenario": name, "rep": rep, "looks": len(looks), "decisions": "".join(d[0] for d in decisions),
            "expanded": first_expand is not None,
            "expand_day": None if first_expand is None else round(looks[first_expand].soak.get("days", 0), 1),
            "final": last.decision if last else "NONE",
            "final_reason": (last.reasons[0][:160] if last and last.reasons else ""),
            "cpu_s": round(time.process_time() - t0, 2)}


def _rate(k: int, n: int) -> tuple[float, float]:
    p = k / n if n else float("nan")
    return p, math.sqrt(p * (1 - p) / n) if n else float("nan")


def golden_oc(reps: int, seed: int = 11) -> dict:
    """The golden rule's OC: the gate's own analytic function and a Monte Carlo through the gate's
    golden criterion on template-clustered paired cases."""
    import numpy as np
    import polars as pl

    from agent_release import stats
    from agent_release.evals.gate import golden_accuracy_criterion

    n, templates, disc = 308, 6, 0.10
    deltas = [0.02, 0.0, -0.01, -0.02, -0.03, -0.05]
    analytic = stats.golden_rule_operating_characteristic(n, disc, deltas, tolerance=0.01)
    rng = np.random.default_rng(seed)
    mc = {}
    for dl in deltas:
        passes, harms = 0, 0
        for _ in range(reps):
            # discordant pairs at rate `disc`; a discordant pair favours the candidate with probability
            # (1 + dl/disc)/2, shifted per template (templates share difficulty), so E[Δ] = dl
            k = n // templates + 1
            shift = np.repeat(rng.normal(0, 0.15, k), templates)[:n]
            disc_i = rng.random(n) < disc
            cand_better = rng.random(n) < np.clip(0.5 * (1 + dl / disc) + shift, 0, 1)
            both = rng.random(n) < 0.8
            pb = np.where(disc_i, ~cand_better, both)
            pc = np.where(disc_i, cand_better, both)
            cases = [f"t{i // templates:03d}-{i % templates}" for i in range(n)]
            frame = pl.DataFrame({
                "case_id": cases * 2, "agent_version": ["base"] * n + ["cand"] * n,
                "passed": np.r_[pb, pc].tolist(), "intent": ["order_status"] * (2 * n),
                "locale": [f"l{i // templates:03d}" for i in range(n)] * 2,
            })
            c = golden_accuracy_criterion(frame, "base", "cand", 1.0, 0.95, n_boot=200, seed=0)
            passes += bool(c.passed)
            harms += bool(c.details.get("harm_test", {}).get("shown"))
        mc[dl] = (passes / reps, harms / reps)
    return {"analytic": analytic, "monte_carlo": mc, "reps": reps, "n": n, "templates": templates}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rate", type=float, default=400.0, help="conversations/hour through the flag's population")
    ap.add_argument("--only", default="", help="comma-separated scenarios (default: all)")
    ap.add_argument("--golden-reps", type=int, default=200)
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    names = [s for s in (args.only.split(",") if args.only else _scenarios()) if s]
    print(f"bench/decisions.py — {args.reps} replications per scenario, {args.rate:g} conversations/hour "
          f"(5% to the candidate), 14 days, release {RELEASE}; cpus={os.cpu_count()} "
          f"load={os.getloadavg()[0]:.2f}")
    t0, c0 = time.time(), time.process_time()
    jobs = [(nm, r, args.rate) for nm in names for r in range(args.reps)]
    with ProcessPoolExecutor(max_workers=args.workers) as ex:
        results = list(ex.map(_one, jobs))
    out: dict = {"reps": args.reps, "rate": args.rate, "scenarios": {}}
    print(f"\n{'scenario':<18} {'measure':<26} {'rate':>7} {'± SE':>7}  {'goal':<8} verdict   reps  mean EXPAND day")
    for nm in names:
        rs = [r for r in results if r["scenario"] == nm]
        _, what, goal, sense = _scenarios()[nm]
        k = sum(r["expanded"] for r in rs)
        if what == "EXPAND":
            p, se = _rate(k, len(rs))
            measure = "P(EXPAND on any look)" if sense == "le" else "P(EXPAND by day 14)"
        else:
            p, se = _rate(len(rs) - k, len(rs))
            measure = "P(never EXPAND)"
        ok = p <= goal if sense == "le" else p >= goal
        days = [r["expand_day"] for r in rs if r["expand_day"] is not None]
        mean_day = f"{sum(days) / len(days):.1f}" if days else "—"
        print(f"{nm:<18} {measure:<26} {p:>7.1%} {se:>7.1%}  {('≤' if sense == 'le' else '≥') + f'{goal:.0%}':<8} "
              f"{'MET' if ok else 'NOT MET':<9} {len(rs):>4}  {mean_day}")
        finals: dict[str, int] = {}
        for r in rs:
            key = r["final"] + ": " + r["final_reason"][:90]
            finals[key] = finals.get(key, 0) + 1
        out["scenarios"][nm] = {"measure": measure, "rate": p, "se": se, "goal": goal, "met": ok, "reps": len(rs),
                                "expanded": k, "mean_expand_day": mean_day, "runs": rs}
        for key, cnt in sorted(finals.items(), key=lambda kv: -kv[1])[:3]:
            print(f"{'':<18}   {cnt:>3}× {key}")
    wall, cpu = time.time() - t0, sum(r["cpu_s"] for r in results)
    print(f"\ncanary Monte Carlo: {len(results)} replications in {wall:.0f} s wall, {cpu:.0f} s CPU in workers "
          f"({cpu / max(len(results), 1):.1f} s per 14-day canary)")

    g = golden_oc(args.golden_reps)
    a = g["analytic"]
    print(f"\ngolden rule (PASS iff point estimate ≥ −1 pt; harm test template-clustered) at n={g['n']}, "
          f"discordance {a['discordance']:.0%}:")
    print(f"  {'true Δ':>8} {'P(PASS) analytic':>18} {'P(PASS) Monte Carlo':>21} {'P(harm shown)':>14}")
    for (dl, pa) in a["curve"]:
        pm, ph = g["monte_carlo"][dl]
        se = math.sqrt(pm * (1 - pm) / g["reps"])
        print(f"  {dl * 100:>+7.0f}p {pa:>18.1%} {pm:>14.1%} ± {se:.1%} {ph:>14.1%}")
    need = a["n_to_separate"]["n"]
    print(f"  golden-set size separating 0 from −3 pts at 90%/90%: {need} cases (analytic; "
          f"Monte Carlo reps per point: {g['reps']}, templates of {g['templates']} cases leaning together)")
    out["golden"] = {"analytic": a, "monte_carlo": {str(k): v for k, v in g["monte_carlo"].items()}}
    out["seconds"] = {"wall": round(time.time() - t0, 1), "cpu_main": round(time.process_time() - c0, 1)}
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
