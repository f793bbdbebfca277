"""Release specs → dynamic partitions. A sensor registers every valid spec file as a partition."""

import dagster as dg

from agent_release.defs.partitions import RELEASES


@dg.sensor(
    name="release_specs_sensor",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Watches data/releases/*.yaml. Each valid release spec becomes a partition of the "
        "`releases` dynamic partitions (its own gate, canary and rollout records). An invalid "
        "spec is reported with the field at fault and not registered."
    ),
)
def release_specs_sensor(context: dg.SensorEvaluationContext):
    from agent_release import release_spec as rs

    known = set(context.instance.get_dynamic_partitions(RELEASES))
    new, errors = [], []
    for rid in rs.list_releases():
        try:
            rs.load_release(rid)
        except (rs.SpecError, FileNotFoundError) as exc:
            errors.append(f"{rid}: {exc}")
            continue
        if rid not in known:
            new.append(rid)
    if errors:
        context.log.warning("invalid release specs: " + "; ".join(errors))
    if not new:
        return dg.SkipReason("no new release specs" + (f" ({len(errors)} invalid: {'; '.join(errors)})" if errors else ""))
    return dg.SensorResult(dynamic_partitions_requests=[dg.AddDynamicPartitionsRequest(RELEASES, new)])


def register_releases(instance: dg.DagsterInstance, errors: list[str] | None = None) -> list[str]:
    """Register every valid release spec as a partition (used by `agent-release run`/tests) and
    return their ids. An invalid spec is left out — it never stops the others — and its error
    (file:line:column: field: message) is appended to ``errors``."""
    from agent_release import release_spec as rs

    ids = []
    for rid in rs.list_releases():
        try:
            rs.load_release(rid)
        except (rs.SpecError, FileNotFoundError) as exc:
            if errors is not None:
                errors.append(str(exc))
            continue
        ids.append(rid)
    known = set(instance.get_dynamic_partitions(RELEASES))
    missing = [r for r in ids if r not in known]
    if missing:
        instance.add_dynamic_partitions(RELEASES, missing)
    return ids


defs = dg.Definitions(sensors=[release_specs_sensor])
