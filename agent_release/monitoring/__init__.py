"""Post-deployment operations: the plain logic behind ``agent_release/defs/monitoring``.

* :mod:`.production` — which agents are in production, and their live conversation stream;
* :mod:`.nightly` — the nightly regression (golden / adversarial / scenarios against the production
  agents, compared with the blessed baseline and with previous nights);
* :mod:`.outcomes` — hourly live outcomes and drift against a seasonal (same hour, same weekday)
  baseline;
* :mod:`.review` — the weekly worst-1% review (badness score, masked export, HTML, labels → golden);
* :mod:`.slo` — published SLOs per agent, error budgets, multi-window burn-rate alerts (DuckDB SQL);
* :mod:`.reevaluation` — the full re-evaluation each production agent needs at least every 90 days;
* :mod:`.audit` — does each production agent's live data still pass its canary exit criteria?
* :mod:`.alerts` — webhook notifications.

Everything here is importable and testable without Dagster.
"""
