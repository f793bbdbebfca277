import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

# Never touch the network; never use a real key in tests.
os.environ.setdefault("AGENT_RELEASE_DEMO", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A throwaway project home: lake, warehouse and synthetic data under tmp_path."""
    monkeypatch.setenv("AGENT_RELEASE_HOME", str(tmp_path))
    (tmp_path / "data").mkdir()
    return tmp_path
