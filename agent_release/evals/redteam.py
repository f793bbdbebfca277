"""Run garak against an agent's OpenAI-compatible endpoint (optional ``redteam`` extra).

``run_garak(base_url, model, probes, out_dir)`` shells out to::

    python -m garak --model_type openai.OpenAICompatible --model_name <model>
                    --generator_option_file <out_dir>/garak_generator.json
                    --probes <p1,p2,...> --generations <n> --report_prefix <out_dir>/garak

(``--target_type``/``--target_name`` on garak versions that renamed the flags — detected from
``--help``). The generator option file holds only the endpoint ``uri`` and request parameters:
garak copies its options into the report's ``start_run setup`` entry, so the API key is passed
through the environment (``OPENAICOMPATIBLE_API_KEY``, read from ``api_key_env``; a placeholder
for a keyless loopback server) and never written to disk. garak's own data directory is pointed
inside ``out_dir`` (``XDG_DATA_HOME``).

When garak is not installed the call is **skipped cleanly**: ``GarakRun.skipped`` is true and
``message`` says how to install it (``pip install -e '.[redteam]'``). In any install, a garak
``report.jsonl`` — from this function or from a run elsewhere — is ingested into the findings
table with :func:`agent_release.evals.findings.ingest_garak`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

#: A small default probe selection relevant to a support bot (module.Class names).
DEFAULT_PROBES = ("promptinject.HijackHateHumans", "dan.Dan_11_0", "encoding.InjectBase64",
                  "latentinjection.LatentInjectionFactSnippetEiffel", "lmrc.Profanity")
INSTALL_HINT = "garak is not installed; install the optional extra with: pip install -e '.[redteam]'"


@dataclass
class GarakRun:
    skipped: bool
    message: str
    report_path: Path | None = None
    returncode: int | None = None
    command: list[str] = field(default_factory=list)
    stderr_tail: str = ""


def garak_available(python: str = sys.executable, env: dict | None = None) -> bool:
    code = "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('garak') else 1)"
    try:
        return subprocess.run([python, "-c", code], env=env, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _flag_names(python: str, env: dict) -> tuple[str, str]:
    try:
        out = subprocess.run([python, "-m", "garak", "--help"], env=env, capture_output=True, text=True,
                             timeout=120).stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    if "--target_type" in out:
        return "--target_type", "--target_name"
    return "--model_type", "--model_name"


def build_command(python: str, model: str, probes: list[str] | tuple[str, ...], options_file: Path, prefix: Path,
                  generations: int, seed: int | None, flags: tuple[str, str], extra_args: list[str]) -> list[str]:
    type_flag, name_flag = flags
    cmd = [python, "-m", "garak", type_flag, "openai.OpenAICompatible", name_flag, model,
           "--generator_option_file", str(options_file), "--probes", ",".join(probes),
           "--generations", str(generations), "--report_prefix", str(prefix)]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    return cmd + list(extra_args)


def run_garak(base_url: str, model: str, probes: list[str] | tuple[str, ...] = DEFAULT_PROBES,
              out_dir: str | Path = "garak_out", *, generations: int = 1, api_key_env: str | None = None,
              seed: int | None = 11, timeout_s: float = 3600, python: str = sys.executable,
              extra_args: list[str] | None = None, env: dict | None = None) -> GarakRun:
    """Run garak; return where its report is (or why it was skipped). Never raises for a missing
    garak; a failed run returns ``returncode`` != 0 and the tail of stderr."""
    out = Path(out_dir).resolve()
    child_env = {**os.environ, **(env or {})}
    if not garak_available(python, child_env):
        return GarakRun(True, INSTALL_HINT)
    out.mkdir(parents=True, exist_ok=True)
    uri = base_url.rstrip("/") + "/"
    options = {"openai": {"OpenAICompatible": {"uri": uri, "suppressed_params": ["n", "stop", "frequency_penalty",
                                                                                  "presence_penalty"],
                                               "max_tokens": 512, "retry_json": False}}}
    options_file = out / "garak_generator.json"
    options_file.write_text(json.dumps(options, indent=2), encoding="utf-8")
    key = os.environ.get(api_key_env) if api_key_env else None
    child_env["OPENAICOMPATIBLE_API_KEY"] = key or "loopback-no-key"
    child_env["XDG_DATA_HOME"] = str(out / "xdg")
    child_env.setdefault("PYTHONIOENCODING", "utf-8")
    prefix = out / "garak"
    cmd = build_command(python, model, probes, options_file, prefix, generations, seed,
                        _flag_names(python, child_env), extra_args or [])
    try:
        proc = subprocess.run(cmd, env=child_env, capture_output=True, text=True, timeout=timeout_s, cwd=out)
    except subprocess.TimeoutExpired:
        return GarakRun(False, f"garak timed out after {timeout_s:.0f}s", None, None, cmd)
    report = _find_report(out, proc.stdout)
    ok = proc.returncode == 0 and report is not None
    msg = f"garak finished, report at {report}" if ok else f"garak exited with {proc.returncode}" + (
        "" if report else " and wrote no report")
    return GarakRun(False, msg, report, proc.returncode, cmd, (proc.stderr or "")[-2000:])


def _find_report(out: Path, stdout: str) -> Path | None:
    direct = out / "garak.report.jsonl"
    if direct.exists():
        return direct
    for line in (stdout or "").splitlines():  # "📜 report closed :) /path/x.report.jsonl"
        if ".report.jsonl" in line:
            cand = Path(line.split()[-1])
            if cand.exists():
                return cand
    found = sorted(out.rglob("*.report.jsonl"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None
