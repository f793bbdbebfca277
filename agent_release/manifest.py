"""The input manifest: every input a decision rests on, hashed, so a decision is pre-registered.

A gate decision, a canary look or a rollout step is only valid for the inputs it was made on:
the release spec, the golden set, the adversarial corpus and any garak / PyRIT reports dropped
for the release, the scenario battery, the detectors that score findings, the price table that
turns tokens into cost, the agents' profiles/configurations (system prompt files, tool schemas),
and the version of the decision code. :func:`input_manifest` hashes each of them (file contents,
never paths or timestamps) and combines the hashes into one ``manifest_hash``. Every decision row
carries it; when any input changes, the current manifest hash differs and earlier decisions read
as STALE (see ``gate_status`` and the canary/rollout state), so a changed golden set or price
table can never ride on a PROMOTE computed before the change.

The components are plain data (name → hash, plus the files each covers), recorded next to the
hash in the decision row (``manifest_json``) so a reviewer can see *which* input changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: bump when the meaning of a decision rule changes (gate, canary exit, rollout step)
DECISION_CODE_VERSION = "decisions-3"


@dataclass(frozen=True)
class InputManifest:
    manifest_hash: str
    components: dict[str, str]
    files: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"manifest_hash": self.manifest_hash, "components": dict(self.components),
                "files": {k: list(v) for k, v in self.files.items()}}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def changed(self, other: dict[str, str] | InputManifest | None) -> list[str]:
        """Names of the components that differ from ``other`` (an earlier manifest's components)."""
        if other is None:
            return sorted(self.components)
        comp = other.components if isinstance(other, InputManifest) else dict(other)
        names = set(self.components) | set(comp)
        return sorted(n for n in names if self.components.get(n) != comp.get(n))


def _hash_files(files: list[Path], root: Path | None = None) -> tuple[str, list[str]]:
    h = hashlib.sha256()
    names = []
    for f in sorted(files, key=lambda p: p.as_posix()):
        rel = f.relative_to(root).as_posix() if root is not None and f.is_relative_to(root) else f.name
        names.append(rel)
        h.update(rel.encode())
        h.update(b"\0")
        h.update(f.read_bytes())
        h.update(b"\0")
    if not files:
        h.update(b"(none)")
    return h.hexdigest()[:16], names


def _glob(d: Path, *patterns: str, recursive: bool = False) -> list[Path]:
    if not d.is_dir():
        return []
    out: set[Path] = set()
    for pat in patterns:
        out.update(p for p in (d.rglob(pat) if recursive else d.glob(pat)) if p.is_file())
    return sorted(out)


def _agent_files(agent: Any, inputs: Path) -> list[Path]:
    """Files that define an agent's behaviour: its simulated profile (if any) and anything under
    ``data/agents/<version>*`` (system prompt, tool schemas, sampling config)."""
    files: list[Path] = []
    version = getattr(agent, "version", str(agent))
    try:
        from agent_release.agents.simulated import _profile_dirs

        for d in _profile_dirs():
            p = d / f"{version}.yaml"
            if p.is_file():
                files.append(p)
                break
    except Exception:  # noqa: BLE001 - no profile machinery: nothing to hash
        pass
    agents_dir = inputs / "agents"
    if agents_dir.is_dir():
        for p in agents_dir.rglob("*"):
            head = p.relative_to(agents_dir).parts[0]
            if p.is_file() and (head == version or head.split(".")[0] == version):
                files.append(p)
    return files


def _price_file() -> Path:
    import os

    from agent_release.agents.base import PRICES_PATH

    return Path(os.environ.get("AGENT_RELEASE_PRICES") or PRICES_PATH)


def input_manifest(spec: Any, *, inputs_dir: Path | None = None, extra: dict[str, str] | None = None
                   ) -> InputManifest:
    """The manifest of every input a decision of ``spec``'s release rests on (see module doc)."""
    from agent_release.config import paths

    inputs = inputs_dir or paths().inputs
    comps: dict[str, str] = {"spec": spec.spec_hash, "decision_code": DECISION_CODE_VERSION}
    files: dict[str, list[str]] = {}

    def add(name: str, fs: list[Path], root: Path | None = inputs) -> None:
        comps[name], files[name] = _hash_files(fs, root)

    golden = [p for p in _glob(inputs / "golden", "golden_v*.jsonl")]
    add("golden_set", golden)
    add("adversarial_corpus", _glob(inputs / "adversarial", "*.jsonl", "*.yaml"))
    rid = getattr(spec, "release_id", "")
    add("redteam_reports", _glob(inputs / "redteam" / rid, "*.jsonl", "*.json", recursive=True) if rid else [])
    add("scenario_battery", _glob(inputs / "scenarios", "*.yaml", "*.yml"))
    pkg = Path(__file__).resolve().parent
    add("detectors", [pkg / "evals" / "detectors.py", pkg / "evals" / "findings.py"], pkg)
    add("price_table", [f for f in [_price_file()] if f.is_file()], None)
    for side in ("baseline", "candidate"):
        agent = getattr(spec, side, None)
        if agent is not None:
            add(f"agent_{side}", _agent_files(agent, inputs), None)
            comps[f"agent_{side}_pin"] = f"{getattr(agent, 'version', '')}|{getattr(agent, 'model', '')}"
    for k, v in (extra or {}).items():
        comps[k] = str(v)
    canon = json.dumps(comps, sort_keys=True)
    return InputManifest(hashlib.sha256(canon.encode()).hexdigest()[:16], comps, files)
