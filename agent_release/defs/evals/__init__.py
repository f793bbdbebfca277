"""Pre-prod eval suites and the promotion gate, one partition per release."""

import dagster as dg
import polars as pl

from agent_release.defs.meta import json_flat, md_rows, md_table
from agent_release.defs.partitions import by_release, releases_partitions
from agent_release.defs.replay import REPLAYED, ReplayRuntimeResource, replayed_conversations
from agent_release.defs.resources import MaskingResource, WarehouseResource

GOLDEN = "evals.golden_results"
FINDINGS = "evals.findings"
SCENARIOS = "evals.scenario_results"
LATENCY = "evals.latency_summary"
COST = "evals.cost_summary"
DECISIONS = "evals.gate_decisions"  # a view over DECISION_HISTORY (agent_release.warehouse)
DECISION_HISTORY = "evals.gate_decision_history"  # append-only (agent_release.decision_log)

_COMMON = dict(partitions_def=releases_partitions, group_name="evals")


def _spec(context):
    from agent_release.release_spec import load_release

    return load_release(context.partition_key)


def _run_both(spec, runtime: ReplayRuntimeResource, fn):
    """Run ``fn(agent, agent_spec)`` (a coroutine factory) for baseline and candidate."""
    from agent_release.agent_endpoints import open_agent
    from agent_release.evals.runner import run_sync

    frames = []
    for agent_spec in (spec.baseline, spec.candidate):
        with open_agent(agent_spec, latency_scale=runtime.latency_scale, concurrency=16) as agent:
            frames.append(run_sync(fn(agent, agent_spec)))
    return pl.concat(frames, how="vertical_relaxed")


def _stamp(df: pl.DataFrame, spec) -> tuple[pl.DataFrame, str]:
    """Stamp evidence rows with the input-manifest hash they were produced on (the gate refuses
    evidence whose ``manifest_hash`` is not the current one)."""
    from agent_release.manifest import input_manifest

    mh = input_manifest(spec).manifest_hash
    return df.with_columns(pl.lit(mh, pl.String).alias("manifest_hash")), mh


def expected_rows(spec, replay_sample: pl.DataFrame | None = None) -> dict:
    """Rows each suite must have per agent for this release: the golden set's cases, the corpus's
    probes × adversarial_trials, the battery's scenarios × scenario_trials and, given the
    release's replay sample (:func:`replay_sample`), its conversations."""
    from agent_release.evals.corpus import load_corpus
    from agent_release.evals.golden import load_golden
    from agent_release.evals.scenarios import load_battery

    out = {"golden": len(load_golden()), "adversarial": len(load_corpus()) * max(1, spec.gate.adversarial_trials),
           "scenarios": len(load_battery()) * spec.gate.scenario_trials}
    if replay_sample is not None:
        out["replay"] = replay_sample.height
    return out


def replay_sample(lake, spec) -> pl.DataFrame | None:
    """The conversations the replay of ``spec`` must cover (the sample the replay asset draws from
    the masked traffic; None before masking ran)."""
    from agent_release.agent_endpoints import sample_conversations
    from agent_release.defs.masking import MASKED

    if not lake.exists(MASKED):
        return None
    return sample_conversations(lake.read(MASKED), spec.replay.conversations, spec.replay.seed)


def _suite_evidence(spec, suite: str, df: pl.DataFrame | None, expected: dict):
    """The evidence-completeness verdict of one suite's rows for this release (the gate's rule)."""
    from agent_release.evals.gate import evidence_completeness

    kw = {"adversarial": "findings"}.get(suite, suite)
    suites = (suite,)
    if suite == "adversarial" and df is not None and "source" in df.columns and (df["source"] != "corpus").any():
        suites += ("redteam",)
    return evidence_completeness(spec.baseline.version, spec.candidate.version, **{kw: df},
                                 expected={suite: expected.get(suite)}, max_error_share=spec.gate.replay_max_error_share,
                                 suites=suites)


def _evidence_metadata(ev) -> dict:
    """Asset metadata: expected vs received and endpoint errors per side, and the verdict."""
    meta: dict = {"evidence_complete": ev.complete, "max_error_share": ev.max_error_share,
                  "evidence_problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in ev.problems) or "none"),
                  "evidence": dg.MetadataValue.md(md_rows(
                      ["suite", "side", "agent", "expected", "received", "endpoint errors", "error share"],
                      [(e.suite, e.side, e.agent_version, e.expected, e.received,
                        f"{e.errors} of {e.units} {e.error_unit}", f"{e.error_share:.1%}") for e in ev.suites]))}
    for e in ev.suites:
        if e.suite in ("golden", "adversarial", "scenarios"):
            meta.update({f"{e.side}_expected": e.expected, f"{e.side}_received": e.received,
                         f"{e.side}_errors": e.errors, f"{e.side}_error_share": float(e.error_share)})
    return meta


def _suite_check(context, warehouse, suite: str, table: str) -> dg.AssetCheckResult:
    """Blocking check of one suite: for the run's release (else every release with rows), rows
    expected vs received per side and the endpoint-error share against the spec's
    gate.replay_max_error_share — the gate's own completeness rule."""
    from agent_release.release_spec import load_release

    lake = warehouse.lake()
    rid = context.run.tags.get("dagster/partition") if context.run is not None else None
    releases = [rid] if rid else lake.partitions(table)
    problems, rows = [], []
    for r in releases:
        try:
            spec = load_release(r)
        except Exception as exc:  # noqa: BLE001 - a release that cannot be loaded is not judged complete
            problems.append(f"{r}: release spec cannot be loaded ({type(exc).__name__})")
            continue
        df = lake.read(table, partition=r) if r in lake.partitions(table) else None
        ev = _suite_evidence(spec, suite, df, expected_rows(spec))
        problems += [f"{r}: {p}" for p in ev.problems]
        rows += [(r, e.side, e.agent_version, e.expected, e.received, f"{e.errors} of {e.units} {e.error_unit}",
                  f"{e.error_share:.1%}", "ok" if ev.complete else "FAIL") for e in ev.suites]
    return dg.AssetCheckResult(
        passed=not problems, severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(problems) if problems else None,
        metadata={"release": rid or "(all)",
                  "problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems) or "none"),
                  "evidence": dg.MetadataValue.md(md_rows(
                      ["release", "side", "agent", "expected", "received", "endpoint errors", "error share", "status"],
                      rows))})


def _by_agent(df: pl.DataFrame, col: str = "passed") -> pl.DataFrame:
    return (df.group_by("agent_version").agg(pl.len().alias("n"), pl.col(col).cast(pl.Float64).mean().round(4).alias(f"{col}_rate"))
            .sort("agent_version"))


@dg.asset(
    key=["evals", "golden_results"], kinds={"python", "parquet"}, **_COMMON,
    description=(
        "The golden set (data/golden, 200–500 known-good cases with reference answers) run against "
        "baseline and candidate: action match, required facts, forbidden content, reply language, "
        "similarity to the reference; one row per case and agent."
    ),
)
def golden_results(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                   replay_runtime: ReplayRuntimeResource) -> dg.MaterializeResult:
    from agent_release.evals.golden import golden_version_hash, load_golden
    from agent_release.evals.runner import run_golden

    spec = _spec(context)
    cases = load_golden()
    df = _run_both(spec, replay_runtime, lambda agent, a: run_golden(
        agent, cases, 16, agent_version=a.version, release_id=spec.release_id, spec_hash=spec.spec_hash))
    df, mh = _stamp(df, spec)
    warehouse.lake().write(GOLDEN, df, partition=spec.release_id)
    warehouse.publish()
    ev = _suite_evidence(spec, "golden", df, {"golden": len(cases)})
    return dg.MaterializeResult(metadata={
        "dagster/row_count": df.height, "spec_hash": spec.spec_hash, "manifest_hash": mh, "cases": len(cases),
        "golden_version": golden_version_hash(cases), "accuracy": dg.MetadataValue.md(md_table(_by_agent(df))),
        **_evidence_metadata(ev)})


@dg.asset(
    key=["evals", "adversarial_findings"], kinds={"python", "parquet"}, **_COMMON,
    description=(
        "Adversarial probes: the hand-curated jailbreak corpus (data/adversarial) run against both "
        "agents, plus any garak report.jsonl / PyRIT export dropped in data/redteam/<release-id>/, "
        "in one normalized findings table (prompt and output masked) with stable failure signatures."
    ),
)
def adversarial_findings(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                         masking: MaskingResource, replay_runtime: ReplayRuntimeResource) -> dg.MaterializeResult:
    from agent_release.evals.corpus import load_corpus
    from agent_release.evals.findings import as_mask, findings_summary, ingest_garak, ingest_pyrit
    from agent_release.evals.runner import run_adversarial

    spec = _spec(context)
    probes = load_corpus()
    mask = as_mask(masking.masker())
    df = _run_both(spec, replay_runtime, lambda agent, a: run_adversarial(
        agent, probes, 16, agent_version=a.version, mask=mask, trials=spec.gate.adversarial_trials,
        release_id=spec.release_id, spec_hash=spec.spec_hash))
    extra = []
    red = warehouse.paths().inputs / "redteam" / spec.release_id
    for side, a in (("baseline", spec.baseline), ("candidate", spec.candidate)):
        for f in sorted((red / side).glob("*report.jsonl")) if red.is_dir() else []:
            extra.append(ingest_garak(f, agent_version=a.version, release_id=spec.release_id,
                                      spec_hash=spec.spec_hash, mask=mask))
        for f in sorted((red / side).glob("*pyrit*.json*")) if red.is_dir() else []:
            extra.append(ingest_pyrit(f, agent_version=a.version, release_id=spec.release_id,
                                      spec_hash=spec.spec_hash, mask=mask))
    if extra:
        df = pl.concat([df, *extra], how="vertical_relaxed")
    df, mh = _stamp(df, spec)
    warehouse.lake().write(FINDINGS, df, partition=spec.release_id)
    warehouse.publish()
    ev = _suite_evidence(spec, "adversarial", df, {"adversarial": len(probes) * max(1, spec.gate.adversarial_trials)})
    return dg.MaterializeResult(metadata={
        "dagster/row_count": df.height, "spec_hash": spec.spec_hash, "manifest_hash": mh, "probes": len(probes),
        "external_reports": len(extra), **_evidence_metadata(ev),
        "summary": dg.MetadataValue.md(md_table(findings_summary(df), max_rows=40))})


@dg.asset(
    key=["evals", "scenario_results"], kinds={"python", "parquet"}, **_COMMON,
    description=(
        "Scenario battery for the long tail (edge personas, every locale, 20+-turn conversations, "
        "escalation hand-offs, ambiguous and multi-intent requests), k repeated trials per "
        "scenario with pass^k and pass@k."
    ),
)
def scenario_results(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                     replay_runtime: ReplayRuntimeResource) -> dg.MaterializeResult:
    from agent_release.evals.scenarios import load_battery, run_scenarios, scenario_summary

    spec = _spec(context)
    battery = load_battery()
    df = _run_both(spec, replay_runtime, lambda agent, a: run_scenarios(
        agent, battery, spec.gate.scenario_trials, 16, agent_version=a.version,
        release_id=spec.release_id, spec_hash=spec.spec_hash))
    df, mh = _stamp(df, spec)
    warehouse.lake().write(SCENARIOS, df, partition=spec.release_id)
    warehouse.publish()
    summary = scenario_summary(df)
    ev = _suite_evidence(spec, "scenarios", df, {"scenarios": len(battery) * spec.gate.scenario_trials})
    return dg.MaterializeResult(metadata={
        "dagster/row_count": df.height, "spec_hash": spec.spec_hash, "manifest_hash": mh, "scenarios": len(battery),
        "trials": spec.gate.scenario_trials, **_evidence_metadata(ev),
        "pass_hat_k_by_kind": dg.MetadataValue.md(md_table(summary["by_kind"], max_rows=40))})


@dg.asset(
    key=["evals", "latency_cost"],
    deps=[dg.AssetDep(replayed_conversations, partition_mapping=by_release), ["evals", "golden_results"],
          ["evals", "scenario_results"]],
    kinds={"python", "parquet"}, **_COMMON,
    description=(
        "Latency p50/p95/p99 per agent, per locale and per suite (replayed traffic, golden, "
        "scenarios), and cost per resolution = total cost / resolved conversations."
    ),
)
def latency_cost(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from agent_release.evals.latency import latency_cost_summary

    spec = _spec(context)
    lake = warehouse.lake()
    replay = _replay_frame(lake, spec.release_id)
    lc = latency_cost_summary(replay, golden=lake.read(GOLDEN, partition=spec.release_id),
                              scenarios=lake.read(SCENARIOS, partition=spec.release_id))
    tag = [pl.lit(spec.release_id).alias("release_id"), pl.lit(spec.spec_hash).alias("spec_hash")]
    lat = lc["latency"].with_columns(tag)
    cost = lc["cost"].with_columns(tag)
    lake.write(LATENCY, lat, partition=spec.release_id)
    lake.write(COST, cost, partition=spec.release_id)
    warehouse.publish()
    return dg.MaterializeResult(metadata={
        "dagster/row_count": lat.height, "spec_hash": spec.spec_hash,
        "latency": dg.MetadataValue.md(md_table(lat, max_rows=30)),
        "cost": dg.MetadataValue.md(md_table(cost, max_rows=30))})


def _replay_days_missing(lake, spec, sample: pl.DataFrame | None) -> dict[str, list[str]]:
    """Days of the release's replay sample without a replayed partition, per side (named in the
    decision's inputs: where the missing conversations are)."""
    if sample is None:
        return {}
    days = sorted(set(sample["started_at"].dt.strftime("%Y-%m-%d").to_list())) if sample.height else []
    have = set(lake.partitions(REPLAYED))
    return {side: [d for d in days if f"{spec.release_id}__{side}__{d}" not in have] for side in ("baseline", "candidate")}


def _replay_frame(lake, release_id: str) -> pl.DataFrame:
    parts = [p for p in lake.partitions(REPLAYED) if p.startswith(release_id + "__")]
    return pl.concat([lake.read(REPLAYED, partition=p) for p in parts], how="diagonal_relaxed") if parts else pl.DataFrame()


@dg.asset(
    key=["evals", "gate_decision"],
    deps=[dg.AssetDep(replayed_conversations, partition_mapping=by_release), ["evals", "golden_results"],
          ["evals", "adversarial_findings"],
          ["evals", "scenario_results"], ["evals", "latency_cost"]],
    kinds={"python", "duckdb", "html"}, **_COMMON,
    description=(
        "THE PRE-PROD GATE. Four criteria written in the release spec before the run: golden "
        "accuracy (point estimate ≥ baseline − tolerance, template-clustered harm test), no new "
        "high-severity safety failure (per prompt; errored attempts unknown), p95 latency over all "
        "turns within budget (upper bound), cost per resolution ≤ forecast × allowance (upper bound; "
        "unknown cost blocks) — plus two evidence-validity criteria: replay error rate and model pin. "
        "PROMOTE only if all six pass. The decision is appended to evals.gate_decision_history (never overwritten) "
        "with inputs, statistics, thresholds, spec hash, config hash, reason and the input-manifest "
        "hash of every input it rests on; evals.gate_decisions is the current decision per release "
        "(a view). An HTML report is written to data/reports/."
    ),
)
def gate_decision(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from agent_release.decision_log import append_gate_decision, gate_history
    from agent_release.evals.gate import decide
    from agent_release.evals.report import evidence_lines, render_gate_markdown, render_gate_report_html
    from agent_release.evals.scenarios import scenario_summary
    from agent_release.manifest import input_manifest

    spec = _spec(context)
    lake = warehouse.lake()
    manifest = input_manifest(spec)
    golden = lake.read(GOLDEN, partition=spec.release_id)
    findings = lake.read(FINDINGS, partition=spec.release_id)
    replay = _replay_frame(lake, spec.release_id)
    scenarios = lake.read(SCENARIOS, partition=spec.release_id)
    # evidence produced on other inputs than the current ones is refused (StaleResultError,
    # naming the table): re-running only the gate never makes old evidence look current
    # what every suite must hold per agent (set sizes × trials, the replay sample): evidence with
    # rows missing, or an endpoint-error share above the spec's limit, BLOCKs before the criteria
    sample = replay_sample(lake, spec)
    expected = expected_rows(spec, sample)
    decision = decide(spec, golden, findings, replay, replay, rules=spec.gate.rules(),
                      manifest_hash=manifest.manifest_hash, scenario_results=scenarios, expected=expected,
                      extra_inputs={"manifest_hash": manifest.manifest_hash,
                                    "input_manifest": dict(manifest.components),
                                    "replay_days_missing": _replay_days_missing(lake, spec, sample)})
    before = gate_history(lake, spec.release_id).height
    row = append_gate_decision(lake, json_flat(decision.to_row()), manifest=manifest)
    history = gate_history(lake, spec.release_id)
    out = warehouse.paths().reports / spec.release_id
    out.mkdir(parents=True, exist_ok=True)
    html_path = out / "gate.html"
    html_path.write_text(render_gate_report_html(
        decision, golden_results=golden, findings=findings, latency_inputs=replay,
        scenario_summary=scenario_summary(scenarios)["by_kind"]))
    warehouse.publish()
    context.log.info(f"gate {spec.release_id}: {decision.decision} — " + "; ".join(decision.reasons))
    return dg.MaterializeResult(metadata={
        "decision": decision.decision, "spec_hash": spec.spec_hash, "config_hash": decision.config_hash,
        "manifest_hash": manifest.manifest_hash, "decision_id": row["decision_id"],
        "appended": history.height > before,  # False: a re-run of the decision in force
        "history_rows": history.height,
        "input_manifest": dg.MetadataValue.md(md_rows(
            ["input", "hash", "files"],
            [(k, v, ", ".join(manifest.files.get(k, []))[:200]) for k, v in sorted(manifest.components.items())])),
        "history": dg.MetadataValue.md(md_rows(
            ["seq", "decided at", "decision", "manifest", "decision id"],
            [(r["seq"], str(r["decided_at"])[:19], r["decision"], r["manifest_hash"], r["decision_id"])
             for r in history.tail(10).iter_rows(named=True)])),
        "reasons": dg.MetadataValue.md("\n".join(f"- {r}" for r in decision.reasons)),
        "evidence_complete": getattr(getattr(decision, "evidence", None), "complete", None),
        "evidence": dg.MetadataValue.md("\n".join(evidence_lines(decision)).strip() or "none"),
        "report": dg.MetadataValue.md(render_gate_markdown(decision)),
        "html_report": dg.MetadataValue.path(str(html_path)),
    })


@dg.asset_check(
    asset=gate_decision, blocking=True,
    description=(
        "The release may move on: its latest gate decision is PROMOTE and was computed on the "
        "inputs as they are now — the same input-manifest hash (release spec, golden set, corpora, "
        "red-team reports, scenario battery, detectors, price table, agent profiles, decision code); "
        "a decision made before any of them changed is STALE. Canary assets of a blocked release "
        "cannot materialize."
    ),
)
def gate_promoted(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    from agent_release.decision_log import gate_history

    lake = warehouse.lake()
    rid = context.run.tags.get("dagster/partition")
    hist = gate_history(lake)
    released = sorted(set(hist["release_id"].to_list())) if hist.height else []
    statuses = {r: gate_status(lake, r) for r in ([rid] if rid is not None else released)}
    rows = [(r, *st, ", ".join(st.changed) or "") for r, st in sorted(statuses.items())]
    if rid is not None:
        passed = statuses[rid].status == "PROMOTE"
    else:
        passed = bool(statuses) and all(st.status == "PROMOTE" for st in statuses.values())
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "release": rid or "(all)",
            "decisions": dg.MetadataValue.md(md_rows(
                ["release", "decision", "decision spec hash", "current spec hash", "status", "inputs changed"], rows)),
            "reasons": dg.MetadataValue.md("\n".join(f"- {r}: {'; '.join(st.reasons)}" for r, st in sorted(statuses.items()))),
        },
    )


def gate_status(lake, release_id: str):
    """``(decision, decision's spec hash, current spec hash, status)`` of the release's current
    gate decision (latest in ``evals.gate_decision_history``). Status is the decision (PROMOTE /
    BLOCK) only when it was made on the inputs as they are now (same input-manifest hash);
    STALE when any input changed since — the result's ``changed`` names the inputs and
    ``reasons`` says so — or when the spec can no longer be loaded; NO DECISION without one.
    The result is a :class:`agent_release.decision_log.GateStatus` (a 4-tuple with attributes)."""
    from agent_release.decision_log import gate_staleness
    from agent_release.manifest import input_manifest
    from agent_release.release_spec import load_release

    try:
        spec = load_release(release_id)
        current, cur_spec, err = input_manifest(spec), spec.spec_hash, None
    except Exception as exc:  # spec deleted or now invalid
        current, cur_spec, err = None, f"invalid ({type(exc).__name__})", type(exc).__name__
    return gate_staleness(lake, release_id, current, current_spec_hash=cur_spec, error=err)


_ERROR_UNITS = {"golden": "cases", "adversarial": "attempts (corpus and ingested red-team reports)",
                "scenarios": "turns"}


def _completeness_check(asset, suite: str, table: str, what: str):
    """The ``<suite>_complete`` check of one eval suite (see :func:`_suite_check`). ERROR severity but
    not blocking: the gate must still run and write its BLOCK "evidence incomplete" row — a skipped
    gate would leave an earlier decision standing."""
    @dg.asset_check(
        asset=asset, name=f"{suite}_complete", blocking=False,
        description=(f"The {suite} results are evidence: {what} once per agent, and neither agent's endpoint "
                     "failed more than the spec's gate.replay_max_error_share (default 5%) of its "
                     f"{_ERROR_UNITS[suite]} after retries — an outage is not a measurement."))
    def check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        return _suite_check(context, warehouse, suite, table)
    return check


golden_complete = _completeness_check(golden_results, "golden", GOLDEN, "every case of the golden set")
adversarial_complete = _completeness_check(adversarial_findings, "adversarial", FINDINGS,
                                           "every corpus probe × adversarial_trials")
scenarios_complete = _completeness_check(scenario_results, "scenarios", SCENARIOS,
                                         "every scenario of the battery × scenario_trials")


defs = dg.Definitions(
    assets=[golden_results, adversarial_findings, scenario_results, latency_cost, gate_decision],
    asset_checks=[gate_promoted, golden_complete, adversarial_complete, scenarios_complete],
)
