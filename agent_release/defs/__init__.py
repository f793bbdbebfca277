"""Dagster wiring only. Each domain package exposes ``defs``; ``agent_release.definitions`` merges them."""
