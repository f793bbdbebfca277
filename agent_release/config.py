"""Project paths and environment-driven settings.

Everything is relative to ``AGENT_RELEASE_HOME`` (default: the repository root), so tests can
point a whole pipeline at a temporary directory by setting one variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

#: The documented demo key used by the embedded default when AGENT_RELEASE_HMAC_KEY is unset
#: and AGENT_RELEASE_DEMO=1. Never use it outside the demo: hashes made with a public key can be
#: reversed by anyone holding a list of candidate ids.
DEMO_HMAC_KEY = "agent-release-demo-key-NOT-SECRET"


@dataclass(frozen=True)
class Paths:
    home: Path

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def lake(self) -> Path:
        """Parquet tables (one folder per schema/table); the source of truth for the warehouse."""
        return self.data / "lake"

    @property
    def raw_zone(self) -> Path:
        """Restricted zone: raw intake with PII and the generator's PII ground truth."""
        return self.lake / "_raw"

    @property
    def inputs(self) -> Path:
        """Versioned inputs (release specs, golden set, adversarial corpus, scenarios): the
        repository's ``data/`` unless AGENT_RELEASE_INPUTS points elsewhere."""
        return Path(os.environ.get("AGENT_RELEASE_INPUTS", REPO_ROOT / "data")).resolve()

    @property
    def warehouse(self) -> Path:
        return self.data / "warehouse.duckdb"

    @property
    def synthetic(self) -> Path:
        return self.data / "synthetic"

    @property
    def reports(self) -> Path:
        return self.data / "reports"

    @property
    def locks(self) -> Path:
        return self.data / ".locks"


def paths() -> Paths:
    return Paths(Path(os.environ.get("AGENT_RELEASE_HOME", REPO_ROOT)).resolve())


class ConfigError(ValueError):
    """A configuration problem a user must fix; the message says which setting."""


def hmac_key(allow_demo: bool | None = None) -> bytes:
    """The key for keyed hashing of identifiers.

    Read from ``AGENT_RELEASE_HMAC_KEY``. The embedded default runs with ``AGENT_RELEASE_DEMO=1``
    and falls back to :data:`DEMO_HMAC_KEY` (and says so in its metadata). Outside the demo an
    unset key is an error.
    """
    key = os.environ.get("AGENT_RELEASE_HMAC_KEY")
    if key:
        if len(key) < 16:
            raise ConfigError("AGENT_RELEASE_HMAC_KEY must be at least 16 characters long")
        return key.encode()
    if allow_demo is None:
        allow_demo = os.environ.get("AGENT_RELEASE_DEMO", "") == "1"
    if allow_demo:
        return DEMO_HMAC_KEY.encode()
    raise ConfigError(
        "AGENT_RELEASE_HMAC_KEY is not set. Set it to a secret of at least 16 characters "
        "(or AGENT_RELEASE_DEMO=1 to use the documented, non-secret demo key)."
    )


def using_demo_key() -> bool:
    return not os.environ.get("AGENT_RELEASE_HMAC_KEY")
