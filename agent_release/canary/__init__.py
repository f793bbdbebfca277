"""Canary: live traffic on a small, stable cohort of users, cohort statistics, exit decision.

Plain modules (no Dagster):

* :mod:`agent_release.canary.simulate` -- embedded default: simulated live traffic for both
  cohorts in the conversation-log contract, with configurable *true* effects
  (:class:`TrueEffects`), and the pre-canary cohort representativeness check.
* :mod:`agent_release.canary.cohort_stats` -- cohort assignment from the data (served agent
  version + the user's flag assignment, mismatches counted) and per-cohort statistics per day
  and cumulative, overall and per segment, in DuckDB SQL.
* :mod:`agent_release.canary.decision` -- the exit-criteria document (written from the release
  spec before the canary starts) and the EXPAND / HOLD / ROLLBACK decision.
* :mod:`agent_release.canary.charts` -- inline SVG charts (no JS, no CDN).

Heavy imports (scipy, statsmodels) happen inside functions.

Import the submodules directly (``from agent_release.canary import simulate, cohort_stats,
decision, charts``); this package module imports nothing, so loading it is free.
"""
