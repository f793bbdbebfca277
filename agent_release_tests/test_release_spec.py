import copy

import pytest
import yaml

from agent_release import release_spec as rs


def _base():
    return yaml.safe_load((rs.releases_dir() / "support-bot-2.yaml").read_text())


def test_example_specs_load():
    ids = rs.list_releases()
    assert "support-bot-2" in ids
    for rid in ids:
        spec = rs.load_release(rid)
        assert spec.release_id == rid and len(spec.spec_hash) == 16


def test_hash_changes_with_any_criterion_and_not_with_comments():
    a = rs.parse(_base())
    b = _base()
    b["gate"]["p95_latency_budget_ms"] += 1
    assert rs.parse(b).spec_hash != a.spec_hash
    c = _base()
    c["canary"]["metrics"][0]["margin"] = 0.03
    assert rs.parse(c).spec_hash != a.spec_hash
    # Defaults spelled out explicitly hash the same as defaults left implicit.
    d = _base()
    d["gate"]["confidence"] = 0.95
    assert rs.parse(d).spec_hash == a.spec_hash


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda s: s.update(colour="blue"), "colour"),
        (lambda s: s["gate"].pop("p95_latency_budget_ms"), "gate.p95_latency_budget_ms"),
        (lambda s: s["gate"].pop("cost_per_resolution_forecast_usd"), "gate.cost_per_resolution_forecast_usd"),
        (lambda s: s["gate"].update(golden_accuracy_tolerance_points=-1), "gate.golden_accuracy_tolerance_points"),
        (lambda s: s["gate"].update(cost_allowance=0.9), "gate.cost_allowance"),
        (lambda s: s["gate"].update(p95_latency_budget_ms="fast"), "gate.p95_latency_budget_ms"),
        (lambda s: s["gate"].update(p95_latency_budget_ms=0), "gate.p95_latency_budget_ms"),
        (lambda s: s["candidate"].update(temperature=0.2), "candidate.temperature"),
        (lambda s: s["candidate"].pop("model"), "candidate.model"),
        (lambda s: s["candidate"].update(kind="http"), "candidate.base_url"),
        (lambda s: s.update(suites=["golden", "vibes"]), "suites"),
        (lambda s: s["canary"].update(traffic_percent=20), "canary.traffic_percent"),
        (lambda s: s["canary"].update(min_soak_days=3), "canary.min_soak_days"),
        (lambda s: s["canary"]["metrics"][2].update(margin=0.9), "canary.metrics[2].margin"),
        (lambda s: s["canary"]["metrics"][0].update(margin=-0.02), "canary.metrics[0].margin"),
        (lambda s: s["canary"]["metrics"][0].update(name="vibes"), "canary.metrics[0].name"),
        (lambda s: s["canary"].update(required_passing=9), "canary.required_passing"),
        (lambda s: s["rollout"].update(steps=[5, 50, 25, 100]), "rollout.steps"),
        (lambda s: s["rollout"].update(min_hours_between_steps=12), "rollout.min_hours_between_steps"),
        (lambda s: s.update(release_id="Bad Id!"), "release_id"),
        (lambda s: s.update(candidate=copy.deepcopy(s["baseline"])), "candidate"),
    ],
)
def test_invalid_specs_name_the_field(mutate, field):
    s = _base()
    mutate(s)
    with pytest.raises(rs.SpecError) as exc:
        rs.parse(s)
    assert exc.value.field == field, str(exc.value)
    assert str(exc.value).startswith(field + ":")
