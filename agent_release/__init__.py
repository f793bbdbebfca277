"""agent_release: staged, measured, reversible releases of AI customer-support agents."""

__version__ = "0.1.0"
