"""The one Definitions object of the code location: merges each domain's definitions.

Loads in well under a second: no spaCy/Presidio/scipy import happens here.
"""

from __future__ import annotations

import dagster as dg

from agent_release.defs import canary, evals, intake, masking, monitoring, releases, replay, rollout
from agent_release.defs import jobs
from agent_release.defs.executors import executor_from_env
from agent_release.defs.resources import default_resources

defs = dg.Definitions.merge(
    intake.defs,
    masking.defs,
    releases.defs,
    replay.defs,
    evals.defs,
    canary.defs,
    monitoring.defs,
    rollout.defs,
    jobs.defs,
    dg.Definitions(resources=default_resources(), executor=executor_from_env()),
)
