"""Dagster resources shared by all domains. Heavy libraries are imported lazily."""


import os
from pathlib import Path

import dagster as dg

from agent_release.config import Paths, paths


class WarehouseResource(dg.ConfigurableResource):
    """The Parquet lake + analyst DuckDB file (see agent_release.warehouse)."""

    home: str = ""  # project home; empty = $AGENT_RELEASE_HOME or the repository root

    def paths(self) -> Paths:
        return Paths(Path(self.home).resolve()) if self.home else paths()

    def lake(self):
        from agent_release.warehouse import Lake

        return Lake(self.paths().lake)

    def publish(self) -> dict:
        """Refresh the analyst views (short write window; never fails the run)."""
        from agent_release.warehouse import refresh_warehouse

        return refresh_warehouse(self.paths())


class LogSourceResource(dg.ConfigurableResource):
    """Where conversation logs come from: ``synthetic`` (embedded default) or a file/folder of
    JSONL/Parquet in the conversation-log contract."""

    path: str = ""  # "" = $AGENT_RELEASE_LOG_SOURCE or "synthetic"
    conversations: int = 0  # 0 = $AGENT_RELEASE_SYNTHETIC_CONVERSATIONS or 3000
    seed: int = 0  # 0 = $AGENT_RELEASE_SEED or 7
    days: int = 0  # 0 = $AGENT_RELEASE_SYNTHETIC_DAYS or 7
    start_date: str = "2026-11-02"
    max_content_chars: int = 20_000
    #: share of synthetic records damaged the way real exports are (truncated lines, encoding
    #: damage, re-sent duplicates, schema drift) so the quarantine path runs every time
    fault_rate: float = 0.003

    @property
    def source(self) -> str:
        return self.path or os.environ.get("AGENT_RELEASE_LOG_SOURCE", "synthetic")

    @property
    def is_synthetic(self) -> bool:
        return self.source == "synthetic"

    @property
    def effective_seed(self) -> int:
        return self.seed or int(os.environ.get("AGENT_RELEASE_SEED", "7"))

    @property
    def n_days(self) -> int:
        return self.days or int(os.environ.get("AGENT_RELEASE_SYNTHETIC_DAYS", "7"))

    @property
    def n_conversations(self) -> int:
        return self.conversations or int(os.environ.get("AGENT_RELEASE_SYNTHETIC_CONVERSATIONS", "3000"))


class MaskingResource(dg.ConfigurableResource):
    """Presidio + Faker masking. The HMAC key comes from AGENT_RELEASE_HMAC_KEY (or the demo key
    when AGENT_RELEASE_DEMO=1)."""

    score_threshold: float = 0.5
    residual_min_score: float = 0.8
    #: worker processes for masking a table (0 = one per CPU; 1 = in this process). Small tables
    #: are masked in-process whatever this says (see agent_release.masking.parallel).
    workers: int = 0

    def masker(self):
        from agent_release.config import hmac_key
        from agent_release.masking import Masker

        return Masker(hmac_key(), score_threshold=self.score_threshold)

    def n_workers(self) -> int:
        """``workers`` if set, else ``AGENT_RELEASE_MASKING_WORKERS`` (set it to 1 when several
        masking steps share a machine, e.g. under the multiprocess or Celery executor), else one
        per CPU."""
        if self.workers > 0:
            return self.workers
        raw = os.environ.get("AGENT_RELEASE_MASKING_WORKERS", "").strip()
        if raw:
            try:
                n = int(raw)
            except ValueError:
                raise ValueError(f"AGENT_RELEASE_MASKING_WORKERS must be an integer (got {raw!r})") from None
            if n > 0:
                return n
        return os.cpu_count() or 1

    def mask_frame(self, df):
        """``Masker.mask_frame`` over :meth:`n_workers` processes: same output, all cores."""
        from agent_release.config import hmac_key
        from agent_release.masking import mask_frame_parallel

        return mask_frame_parallel(df, hmac_key(), self.n_workers(), score_threshold=self.score_threshold)


def default_resources() -> dict:
    return {
        # Settings left empty are read from the environment when used, not when the code
        # location loads: AGENT_RELEASE_HOME, AGENT_RELEASE_LOG_SOURCE, ... (see README).
        "warehouse": WarehouseResource(),
        "log_source": LogSourceResource(),
        "masking": MaskingResource(),
    }
