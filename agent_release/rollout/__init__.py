"""Scaled rollout: plan, step analysis, tightening alerts, automatic and manual rollback,
rollback readiness and model-version pinning. Plain modules (no Dagster); the wiring is in
``agent_release/defs/rollout``.

* :mod:`~agent_release.rollout.plan` — steps from the release spec (5 → 25 → 50 → 100, ≥ 48 h apart
  in data time) and the plan document.
* :mod:`~agent_release.rollout.analysis` — the canary analysis on each step's traffic.
* :mod:`~agent_release.rollout.thresholds` — volume at stake and the alert thresholds scaled to it.
* :mod:`~agent_release.rollout.guardrails` — error-rate / cost / safety guardrails on recent traffic.
* :mod:`~agent_release.rollout.readiness` — can we still roll back (baseline answers, flag writable)?
* :mod:`~agent_release.rollout.actions` — rollback and freeze (+ the new release for a new model).
* :mod:`~agent_release.rollout.controller` — walks the plan, records every decision.
* :mod:`~agent_release.rollout.watch` — one tick of the live watches (the sensors call these).
* :mod:`~agent_release.rollout.store` — ``rollout.decisions`` / ``rollout.readiness`` and the state.
* :mod:`~agent_release.rollout.traffic` — live traffic per step (simulated or read) and aggregates.

Import submodules directly; this package imports nothing.
"""
