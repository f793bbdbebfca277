"""Partitions shared across domains.

* ``releases``: every release (data/releases/<id>.yaml) is a dynamic partition.
* ``traffic_days``: days of production traffic, for replays large enough to split by day
  (AGENT_RELEASE_TRAFFIC_START / AGENT_RELEASE_TRAFFIC_END, end exclusive; the defaults cover the
  embedded default's 7 synthetic days).
* ``replay_partitions``: release × day — each day of a release's replay is its own run, so a
  large replay runs in parallel under Dagster's executor and can be backfilled.
"""

import os
import warnings

import dagster as dg

RELEASES = "releases"
releases_partitions = dg.DynamicPartitionsDefinition(name=RELEASES)

TRAFFIC_START = os.environ.get("AGENT_RELEASE_TRAFFIC_START", "2026-11-02")
TRAFFIC_END = os.environ.get("AGENT_RELEASE_TRAFFIC_END", "2026-11-09")
traffic_days = dg.DailyPartitionsDefinition(start_date=TRAFFIC_START, end_date=TRAFFIC_END)

replay_partitions = dg.MultiPartitionsDefinition({"release": releases_partitions, "day": traffic_days})
with warnings.catch_warnings():  # beta in Dagster 1.13; the mapping is exactly what we need
    warnings.simplefilter("ignore")
    by_release = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="release")
