"""Partitions shared across domains: every release (data/releases/<id>.yaml) is a dynamic partition."""

import dagster as dg

RELEASES = "releases"
releases_partitions = dg.DynamicPartitionsDefinition(name=RELEASES)
