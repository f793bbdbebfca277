"""Release specs: the versioned file that describes a release *before* anything runs.

``data/releases/<release-id>.yaml`` names the baseline and candidate agents (pinned model
versions), the eval suites, the pre-prod pass criteria, the canary exit criteria and the rollout
plan. Every result computed for a release carries the spec's content hash; a result computed
under another hash is stale and cannot be used for a decision.

Validation is strict: unknown fields, missing budgets, wrong types and a tolerance of the wrong
sign are rejected with a message naming the field (``SpecError: gate.p95_latency_budget_ms: …``).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agent_release.config import paths

RELEASE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
SUITES = ("golden", "adversarial", "scenarios", "replay")
CANARY_METRICS = ("resolution_rate", "error_rate", "p95_latency_ms", "csat", "cost_per_resolution", "thumbs_up_rate")


class SpecError(ValueError):
    """An invalid spec. ``field`` is the dotted path of the field at fault; ``file``, ``line`` and
    ``column`` (1-based) say where it is when the spec came from a file (``str()`` then reads
    ``data/releases/x.yaml:12:5: gate.p95_latency_budget_ms: must be > 0``)."""

    def __init__(self, field_path: str, message: str, *, file: str | None = None, line: int | None = None,
                 column: int | None = None):
        self.field = field_path
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        super().__init__(self._text())

    def _text(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "") + (f":{self.column}" if self.column else "")
            where += ": "
        return f"{where}{self.field}: {self.message}"

    def located(self, file: str, line: int | None, column: int | None) -> SpecError:
        return SpecError(self.field, self.message, file=file, line=line, column=column)

    def to_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "column": self.column, "field": self.field,
                "message": self.message}


@dataclass(frozen=True)
class AgentSpec:
    version: str
    model: str
    kind: str = "simulated"  # simulated | http
    seed: int = 1
    base_url: str | None = None
    api_key_env: str | None = None
    timeout_s: float = 30.0
    max_retries: int = 4
    serve_over_http: bool = True  # simulated agents: replay through the loopback HTTP server

    def agent_config(self) -> dict:
        if self.kind == "http":
            return {"kind": "http", "base_url": self.base_url, "model": self.model,
                    "api_key_env": self.api_key_env, "timeout_s": self.timeout_s,
                    "max_retries": self.max_retries, "version": self.version}
        return {"kind": "simulated", "version": self.version, "seed": self.seed, "model": self.model}


@dataclass(frozen=True)
class ReplaySpec:
    mode: str = "closed"  # closed | open
    speedup: float = 24.0
    concurrency: int = 32
    rate_limit_per_s: float | None = None
    conversations: int = 400  # sample of masked traffic replayed per agent (0 = all)
    seed: int = 11


@dataclass(frozen=True)
class GateSpec:
    p95_latency_budget_ms: float
    cost_per_resolution_forecast_usd: float
    golden_accuracy_tolerance_points: float = 1.0
    cost_allowance: float = 1.10
    block_on_new_high_severity: bool = True
    blocking_severities: tuple[str, ...] = ("high", "critical")
    confidence: float = 0.95
    scenario_trials: int = 3
    #: golden accuracy: "point_and_harm" (default, the seed's rule) = PASS iff the point estimate of
    #: candidate − baseline ≥ −tolerance, plus a harm test (paired, template-clustered, one-sided at
    #: golden_harm_alpha) that names a shown regression; "ci_lower" = non-inferiority (lower bound of
    #: the paired interval ≥ −tolerance); "point" = point estimate only, no harm test.
    golden_rule: str = "point_and_harm"
    golden_harm_alpha: float = 0.05
    #: new high-severity failure, judged per prompt (group): "per_prompt" (default) = a prompt fails
    #: when it fails in ≥ half of its adversarial_trials attempts, errored attempts are unknown;
    #: "any" = one failed attempt fails the prompt; "reproduced" = old name of "per_prompt".
    new_failure_rule: str = "per_prompt"
    adversarial_trials: int = 3
    #: p95 latency / cost: "ci_upper" = the upper bound must be within budget; "point" = estimate.
    latency_rule: str = "ci_upper"
    cost_rule: str = "ci_upper"
    #: replay error rate (share of replayed turns that failed after retries): candidate − baseline
    #: ≤ this many points. "point_and_harm" (default, the golden rule's reading) = point estimate
    #: within the margin and a one-sided harm test at replay_error_harm_alpha not showing it beyond;
    #: "ci_upper" = upper bound within the margin (burden of proof); "point" = estimate only.
    #: Either arm failing more than replay_max_error_share of its turns = invalid evidence (outage).
    replay_error_rate_margin_points: float = 1.0
    replay_error_rule: str = "point_and_harm"
    replay_error_harm_alpha: float = 0.05
    replay_max_error_share: float = 0.05

    def rules(self) -> dict:
        return {"golden_accuracy": self.golden_rule, "new_high_severity": self.new_failure_rule,
                "p95_latency": self.latency_rule, "cost_per_resolution": self.cost_rule,
                "replay_error_rate": self.replay_error_rule, "model_pin": "exact"}


@dataclass(frozen=True)
class CanaryMetric:
    name: str
    margin: float  # absolute for rates/CSAT, ratio for p95 latency / cost (e.g. 1.10)


@dataclass(frozen=True)
class CanarySpec:
    traffic_percent: float = 5.0
    min_soak_days: int = 7
    max_soak_days: int = 14
    min_conversations_per_arm: int = 1000
    alpha: float = 0.05
    required_passing: int = 3
    metrics: tuple[CanaryMetric, ...] = (
        CanaryMetric("resolution_rate", 0.02),
        CanaryMetric("error_rate", 0.01),
        CanaryMetric("p95_latency_ms", 1.10),
        CanaryMetric("csat", 0.15),
    )
    segments: tuple[str, ...] = ("locale", "persona")
    error_rate_max: float = 0.05
    cost_overrun_ratio: float = 1.25
    safety_incidents_max: int = 0
    #: canary guardrails relative to the baseline (ROLLBACK on the one-sided lower bound, see
    #: canary/decision.py): candidate - baseline error rate above this many points
    error_rate_allowance: float = 0.02
    #: candidate / baseline p95 latency above this ratio
    p95_ratio_max: float = 1.5


@dataclass(frozen=True)
class RolloutSpec:
    steps: tuple[float, ...] = (5.0, 25.0, 50.0, 100.0)
    min_hours_between_steps: float = 48.0
    flag_backend: str = "local"
    flag_name: str = ""


@dataclass(frozen=True)
class ReleaseSpec:
    release_id: str
    description: str
    baseline: AgentSpec
    candidate: AgentSpec
    gate: GateSpec
    suites: tuple[str, ...] = SUITES
    replay: ReplaySpec = field(default_factory=ReplaySpec)
    canary: CanarySpec = field(default_factory=CanarySpec)
    rollout: RolloutSpec = field(default_factory=RolloutSpec)
    spec_hash: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("spec_hash")
        return d


# --------------------------------------------------------------------------- validation
def _check_keys(obj: Any, allowed: set[str], where: str, required: set[str] = frozenset()) -> dict:
    if not isinstance(obj, dict):
        raise SpecError(where or "<root>", f"expected a mapping, got {type(obj).__name__}")
    for k in obj:
        if k not in allowed:
            raise SpecError(f"{where}.{k}".lstrip("."), "unknown field")
    for k in sorted(required):
        if obj.get(k) is None:
            raise SpecError(f"{where}.{k}".lstrip("."), "required field is missing")
    return obj


def _typed(obj: dict, key: str, typ: type | tuple, where: str, default: Any = None) -> Any:
    v = obj.get(key, default)
    if v is None:
        return default
    if typ in (float, (float,)) and isinstance(v, int) and not isinstance(v, bool):
        v = float(v)
    if isinstance(v, bool) and typ is not bool:
        raise SpecError(f"{where}.{key}".lstrip("."), f"expected {getattr(typ, '__name__', typ)}, got bool")
    if not isinstance(v, typ):
        name = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
        raise SpecError(f"{where}.{key}".lstrip("."), f"expected {name}, got {type(v).__name__}")
    return v


def _positive(v: float, path: str, *, allow_zero: bool = False) -> float:
    if v < 0 or (v == 0 and not allow_zero):
        raise SpecError(path, "must be " + (">= 0" if allow_zero else "> 0"))
    return v


def _agent(obj: Any, where: str) -> AgentSpec:
    allowed = {f for f in AgentSpec.__dataclass_fields__}
    _check_keys(obj, allowed, where, {"version", "model"})
    kind = _typed(obj, "kind", str, where, "simulated")
    if kind not in ("simulated", "http"):
        raise SpecError(f"{where}.kind", "must be 'simulated' or 'http'")
    if kind == "http" and not obj.get("base_url"):
        raise SpecError(f"{where}.base_url", "required for an http agent")
    a = AgentSpec(
        version=_typed(obj, "version", str, where),
        model=_typed(obj, "model", str, where),
        kind=kind,
        seed=_typed(obj, "seed", int, where, 1),
        base_url=_typed(obj, "base_url", str, where),
        api_key_env=_typed(obj, "api_key_env", str, where),
        timeout_s=_positive(_typed(obj, "timeout_s", float, where, 30.0), f"{where}.timeout_s"),
        max_retries=int(_positive(_typed(obj, "max_retries", int, where, 4), f"{where}.max_retries", allow_zero=True)),
        serve_over_http=_typed(obj, "serve_over_http", bool, where, True),
    )
    return a


def _gate(obj: Any) -> GateSpec:
    w = "gate"
    _check_keys(obj, set(GateSpec.__dataclass_fields__), w,
                {"p95_latency_budget_ms", "cost_per_resolution_forecast_usd"})
    tol = _typed(obj, "golden_accuracy_tolerance_points", float, w, 1.0)
    if tol < 0:
        raise SpecError(f"{w}.golden_accuracy_tolerance_points",
                        "must be >= 0 (points the candidate may fall below the baseline)")
    if tol > 20:
        raise SpecError(f"{w}.golden_accuracy_tolerance_points", "is in points (0-100); >20 is not a gate")
    allowance = _typed(obj, "cost_allowance", float, w, 1.10)
    if allowance < 1.0:
        raise SpecError(f"{w}.cost_allowance", "is a multiplier of the forecast and must be >= 1.0 (e.g. 1.10)")
    conf = _typed(obj, "confidence", float, w, 0.95)
    if not 0.5 < conf < 1:
        raise SpecError(f"{w}.confidence", "must be between 0.5 and 1")
    sev = obj.get("blocking_severities", ["high", "critical"])
    if not isinstance(sev, list) or not all(s in ("low", "medium", "high", "critical") for s in sev):
        raise SpecError(f"{w}.blocking_severities", "must be a list of low/medium/high/critical")
    def _choice(key: str, options: tuple[str, ...], default: str) -> str:
        v = _typed(obj, key, str, w, default)
        if v not in options:
            raise SpecError(f"{w}.{key}", f"must be one of {', '.join(options)}")
        return v

    err_margin = _typed(obj, "replay_error_rate_margin_points", float, w, 1.0)
    if not 0 <= err_margin <= 20:
        raise SpecError(f"{w}.replay_error_rate_margin_points", "is in points (0-20)")
    harm_alpha = _typed(obj, "golden_harm_alpha", float, w, 0.05)
    if not 0 < harm_alpha < 0.5:
        raise SpecError(f"{w}.golden_harm_alpha", "must be between 0 and 0.5 (one-sided)")
    def _unit_open(v: float, where: str) -> float:
        if not 0 < v < 1:
            raise SpecError(where, "must be between 0 and 1")
        return v

    return GateSpec(
        golden_rule=_choice("golden_rule", ("point_and_harm", "ci_lower", "point"), "point_and_harm"),
        golden_harm_alpha=harm_alpha,
        new_failure_rule=_choice("new_failure_rule", ("per_prompt", "reproduced", "any"), "per_prompt"),
        replay_error_rate_margin_points=err_margin,
        replay_error_rule=_choice("replay_error_rule", ("point_and_harm", "ci_upper", "point"), "point_and_harm"),
        replay_error_harm_alpha=_unit_open(_typed(obj, "replay_error_harm_alpha", float, w, 0.05),
                                           f"{w}.replay_error_harm_alpha"),
        replay_max_error_share=_unit_open(_typed(obj, "replay_max_error_share", float, w, 0.05),
                                          f"{w}.replay_max_error_share"),
        latency_rule=_choice("latency_rule", ("ci_upper", "point"), "ci_upper"),
        cost_rule=_choice("cost_rule", ("ci_upper", "point"), "ci_upper"),
        adversarial_trials=int(_positive(_typed(obj, "adversarial_trials", int, w, 3), f"{w}.adversarial_trials")),
        p95_latency_budget_ms=_positive(_typed(obj, "p95_latency_budget_ms", float, w), f"{w}.p95_latency_budget_ms"),
        cost_per_resolution_forecast_usd=_positive(
            _typed(obj, "cost_per_resolution_forecast_usd", float, w), f"{w}.cost_per_resolution_forecast_usd"),
        golden_accuracy_tolerance_points=tol,
        cost_allowance=allowance,
        block_on_new_high_severity=_typed(obj, "block_on_new_high_severity", bool, w, True),
        blocking_severities=tuple(sev),
        confidence=conf,
        scenario_trials=int(_positive(_typed(obj, "scenario_trials", int, w, 3), f"{w}.scenario_trials")),
    )


def _replay(obj: Any) -> ReplaySpec:
    w = "replay"
    if obj is None:
        return ReplaySpec()
    _check_keys(obj, set(ReplaySpec.__dataclass_fields__), w)
    mode = _typed(obj, "mode", str, w, "closed")
    if mode not in ("closed", "open"):
        raise SpecError(f"{w}.mode", "must be 'closed' or 'open'")
    rl = _typed(obj, "rate_limit_per_s", float, w)
    return ReplaySpec(
        mode=mode,
        speedup=_positive(_typed(obj, "speedup", float, w, 24.0), f"{w}.speedup"),
        concurrency=int(_positive(_typed(obj, "concurrency", int, w, 32), f"{w}.concurrency")),
        rate_limit_per_s=_positive(rl, f"{w}.rate_limit_per_s") if rl is not None else None,
        conversations=int(_positive(_typed(obj, "conversations", int, w, 400), f"{w}.conversations", allow_zero=True)),
        seed=_typed(obj, "seed", int, w, 11),
    )


def _canary(obj: Any) -> CanarySpec:
    w = "canary"
    if obj is None:
        return CanarySpec()
    _check_keys(obj, set(CanarySpec.__dataclass_fields__), w)
    d = CanarySpec()
    pct = _typed(obj, "traffic_percent", float, w, d.traffic_percent)
    if not 0 < pct <= 5:
        raise SpecError(f"{w}.traffic_percent", "a canary takes 0-5% of traffic (use the rollout plan beyond)")
    metrics = d.metrics
    if "metrics" in obj:
        raw = obj["metrics"]
        if not isinstance(raw, list) or len(raw) < 1:
            raise SpecError(f"{w}.metrics", "must be a non-empty list")
        ms = []
        for i, m in enumerate(raw):
            mw = f"{w}.metrics[{i}]"
            _check_keys(m, {"name", "margin"}, mw, {"name", "margin"})
            name = _typed(m, "name", str, mw)
            if name not in CANARY_METRICS:
                raise SpecError(f"{mw}.name", f"unknown metric; one of {', '.join(CANARY_METRICS)}")
            margin = _typed(m, "margin", float, mw)
            if name in ("p95_latency_ms", "cost_per_resolution"):
                if margin < 1.0:
                    raise SpecError(f"{mw}.margin", "is a ratio for this metric and must be >= 1.0 (e.g. 1.10)")
            elif margin < 0:
                raise SpecError(f"{mw}.margin", "must be >= 0 (how much worse the candidate may be)")
            ms.append(CanaryMetric(name, margin))
        metrics = tuple(ms)
    req = _typed(obj, "required_passing", int, w, min(3, len(metrics)))
    if not 1 <= req <= len(metrics):
        raise SpecError(f"{w}.required_passing", f"must be between 1 and the number of metrics ({len(metrics)})")
    min_soak = _typed(obj, "min_soak_days", int, w, d.min_soak_days)
    if min_soak < 7:
        raise SpecError(f"{w}.min_soak_days", "must be >= 7 (a full weekly cycle)")
    max_soak = _typed(obj, "max_soak_days", int, w, d.max_soak_days)
    if max_soak < min_soak:
        raise SpecError(f"{w}.max_soak_days", "must be >= min_soak_days")
    alpha = _typed(obj, "alpha", float, w, d.alpha)
    if not 0 < alpha < 0.5:
        raise SpecError(f"{w}.alpha", "must be between 0 and 0.5")
    return CanarySpec(
        traffic_percent=pct, min_soak_days=min_soak, max_soak_days=max_soak,
        min_conversations_per_arm=int(_positive(_typed(obj, "min_conversations_per_arm", int, w, d.min_conversations_per_arm), f"{w}.min_conversations_per_arm")),
        alpha=alpha, required_passing=req, metrics=metrics,
        segments=tuple(_typed(obj, "segments", list, w, list(d.segments))),
        error_rate_max=_positive(_typed(obj, "error_rate_max", float, w, d.error_rate_max), f"{w}.error_rate_max"),
        cost_overrun_ratio=_positive(_typed(obj, "cost_overrun_ratio", float, w, d.cost_overrun_ratio), f"{w}.cost_overrun_ratio"),
        safety_incidents_max=int(_positive(_typed(obj, "safety_incidents_max", int, w, 0), f"{w}.safety_incidents_max", allow_zero=True)),
        error_rate_allowance=_positive(_typed(obj, "error_rate_allowance", float, w, d.error_rate_allowance), f"{w}.error_rate_allowance"),
        p95_ratio_max=_positive(_typed(obj, "p95_ratio_max", float, w, d.p95_ratio_max), f"{w}.p95_ratio_max"),
    )


def _rollout(obj: Any, release_id: str) -> RolloutSpec:
    w = "rollout"
    if obj is None:
        return RolloutSpec(flag_name=release_id)
    _check_keys(obj, set(RolloutSpec.__dataclass_fields__), w)
    steps = _typed(obj, "steps", list, w, [5, 25, 50, 100])
    if not steps or any(not isinstance(s, (int, float)) or isinstance(s, bool) for s in steps):
        raise SpecError(f"{w}.steps", "must be a list of percentages")
    if list(steps) != sorted(set(steps)) or steps[0] <= 0 or steps[-1] != 100:
        raise SpecError(f"{w}.steps", "must be strictly increasing, > 0, and end at 100")
    hours = _typed(obj, "min_hours_between_steps", float, w, 48.0)
    if hours < 48:
        raise SpecError(f"{w}.min_hours_between_steps", "must be >= 48")
    backend = _typed(obj, "flag_backend", str, w, "local")
    if backend not in ("local", "unleash"):
        raise SpecError(f"{w}.flag_backend", "must be 'local' or 'unleash'")
    return RolloutSpec(tuple(float(s) for s in steps), hours, backend, _typed(obj, "flag_name", str, w, release_id))


TOP = {"release_id", "description", "baseline", "candidate", "gate", "suites", "replay", "canary", "rollout"}


def parse(obj: Any, *, source: str = "<spec>") -> ReleaseSpec:
    _check_keys(obj, TOP, "", {"release_id", "baseline", "candidate", "gate"})
    rid = _typed(obj, "release_id", str, "")
    if not RELEASE_ID.match(rid):
        raise SpecError("release_id", "lower-case letters, digits, '.', '_' or '-', 2-64 characters")
    suites = obj.get("suites", list(SUITES))
    if not isinstance(suites, list) or not suites or any(s not in SUITES for s in suites):
        raise SpecError("suites", f"must be a non-empty list of {', '.join(SUITES)}")
    base = _agent(obj["baseline"], "baseline")
    cand = _agent(obj["candidate"], "candidate")
    if (base.version, base.model) == (cand.version, cand.model):
        raise SpecError("candidate", "is identical to the baseline (version and model)")
    spec = ReleaseSpec(
        release_id=rid,
        description=_typed(obj, "description", str, "", ""),
        baseline=base,
        candidate=cand,
        gate=_gate(obj["gate"]),
        suites=tuple(suites),
        replay=_replay(obj.get("replay")),
        canary=_canary(obj.get("canary")),
        rollout=_rollout(obj.get("rollout"), rid),
    )
    return ReleaseSpec(**{**spec.__dict__, "spec_hash": content_hash(spec)})


#: fields that carry no criterion: editing them does not change the spec hash (nor, therefore, the
#: protection of a live rollout, the gate's evidence or the canary's looks)
NON_CRITERIA_FIELDS = ("description",)


def content_hash(spec: ReleaseSpec) -> str:
    """SHA-256 of the canonical (defaults filled in) spec without its free-text description:
    editing any criterion changes it, rewording the description does not."""
    d = {k: v for k, v in spec.to_dict().items() if k not in NON_CRITERIA_FIELDS}
    canon = json.dumps(d, sort_keys=True, separators=(",", ":"), default=list)
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def _mark_of(text: str, field_path: str) -> tuple[int | None, int | None]:
    """(line, column), 1-based, of the deepest node of ``field_path`` (``gate.p95_latency_budget_ms``,
    ``canary.metrics[2].margin``) found in the YAML ``text``; the key's position for a mapping entry."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None, None
    if node is None:
        return None, None
    mark = node.start_mark
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", field_path or ""):
        if part.startswith("[") and isinstance(node, yaml.SequenceNode):
            i = int(part[1:-1])
            if i >= len(node.value):
                break
            node = node.value[i]
            mark = node.start_mark
        elif isinstance(node, yaml.MappingNode):
            hit = next(((k, v) for k, v in node.value if getattr(k, "value", None) == part), None)
            if hit is None:
                break
            mark, node = hit[0].start_mark, hit[1]
        else:
            break
    return mark.line + 1, mark.column + 1


def load(path: str | Path) -> ReleaseSpec:
    """Parse and validate a spec file. Every error is a :class:`SpecError` naming the file, the
    line and column, and the field (YAML syntax errors: where the parser stopped)."""
    path = Path(path)
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError("<file>", f"cannot be read ({type(exc).__name__})", file=shown) from None
    try:
        obj = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise SpecError("<yaml>", f"not valid YAML: {problem}", file=shown,
                        line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None) from None
    try:
        spec = parse(obj, source=shown)
        if spec.release_id != path.stem:
            raise SpecError("release_id", f"must match the file name ({path.stem})")
    except SpecError as exc:
        line, col = _mark_of(text, exc.field)
        raise exc.located(shown, line, col) from None
    return spec


def releases_dir() -> Path:
    return paths().inputs / "releases"


def load_release(release_id: str) -> ReleaseSpec:
    p = releases_dir() / f"{release_id}.yaml"
    if not p.exists():
        raise FileNotFoundError(f"no release spec {p}")
    return load(p)


def list_releases() -> list[str]:
    d = releases_dir()
    return sorted(p.stem for p in d.glob("*.yaml")) if d.is_dir() else []
