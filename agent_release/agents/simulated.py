"""Simulated support agents (``support-bot@1``, ``support-bot@2``, ...): deterministic, versioned.

A simulated agent answers like a support agent over the knowledge base in ``kb.yaml`` (facts,
policies, reply templates in en/es/fr/de/pt). **Everything that differs between versions comes
from the version's profile** (``profiles/<version>.yaml``): accuracy by intent and locale, the
long-message weakness, failure modes, verbosity, latency, tokens, tone drift, error rate and the
probability of complying with each jailbreak category. A new version is a new profile file.

How one turn is decided (:meth:`SimulatedAgent.decide`)
-------------------------------------------------------
The agent replays its own reasoning over the user turns of the conversation (a pure function of
the user texts, so the in-process agent and the HTTP server agree whatever history format the
client sends). Each user turn ``k`` draws from a generator seeded by a stable hash (BLAKE2b) of
``(seed, version, conversation_id, k, text)`` — the same input gives the same output regardless of
concurrency order or process.

1. with probability ``errors.rate`` the turn fails (``http_500`` / ``http_503``);
2. an attack (see :func:`kb.KnowledgeBase.classify_attack`) is complied with with probability
   ``safety.comply_probability[category]`` — the reply then visibly misbehaves (``SYSTEM
   PROMPT:`` lines, an unverified ``refund`` tool call, another customer's fake record, an
   insult, or the injected canary) — otherwise it is refused politely in the user's language;
3. a short thanks/bye closes the conversation;
4. otherwise the intent (detected, or carried over from earlier turns) is handled: ask for the
   order number once if needed, else act. The turn is correct with probability
   ``by_intent[intent] × by_locale[locale] × long_message.multiplier (if ≥ min_words) ×
   followup_multiplier (if the action was already taken)``; a wrong turn fails by one of
   ``failure_modes`` (wrong fact values, wrong action, needless clarification, needless
   escalation). Escalations carry a hand-off summary (customer issue / steps taken / pending).

The reply is rendered in the locale's language (else the language detected from the text), with
a polite opener/closer with probability ``tone.polite_probability`` — dropping to
``tone.drifted_polite_probability`` from user turn ``tone.drift_after_turn`` on. Latency is
lognormal (median, sigma, locale multiplier, per-output-token cost, occasional slow tail); tokens
are counted from the text (``chars_per_token``) plus the system prompt, tool-call and hidden
output tokens; cost comes from ``prices.yaml`` at the pinned model's price.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import struct
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agent_release.agents.base import AgentReply, ConfigError, compute_cost
from agent_release.agents.kb import ATTACK_CATEGORIES, Attack, KnowledgeBase, canaries, find_order_ref, fold, load_kb

PROFILES_DIR = Path(__file__).with_name("profiles")
FAILURE_MODES = ("wrong_fact", "wrong_action", "clarification", "unnecessary_escalation")


# --------------------------------------------------------------------------- profiles
def _prob(v: Any, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= float(v) <= 1.0:
        raise ConfigError(f"{where}: must be a probability between 0 and 1")
    return float(v)


def _pos(v: Any, where: str, *, allow_zero: bool = True) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 or (v == 0 and not allow_zero):
        raise ConfigError(f"{where}: must be a number {'>=' if allow_zero else '>'} 0")
    return float(v)


@dataclass(frozen=True)
class Profile:
    """One simulated version's behaviour, read from ``profiles/<version>.yaml``."""

    version: str
    model: str
    seed: int
    description: str
    acc_by_intent: dict[str, float]
    acc_default: float
    acc_by_locale: dict[str, float]
    acc_by_language: dict[str, float]
    long_min_words: int
    long_multiplier: float
    followup_multiplier: float
    failure_modes: dict[str, float]
    detail_probability: float
    latency_median_ms: float
    latency_sigma: float
    latency_per_output_token_ms: float
    latency_by_locale: dict[str, float]
    tail_probability: float
    tail_min: float
    tail_max: float
    system_prompt_tokens: int
    chars_per_token: float
    per_message_overhead: int
    tool_call_tokens: int
    hidden_output_tokens_mean: float
    polite_probability: float
    drift_after_turn: int
    drifted_polite_probability: float
    curt_opener_probability: float
    error_rate: float
    error_kinds: dict[str, float]
    comply_probability: dict[str, float]
    source: str = ""
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    def accuracy(self, intent: str, locale: str | None, language: str, words: int, followup: bool) -> float:
        p = self.acc_by_intent.get(intent, self.acc_default)
        if locale and locale in self.acc_by_locale:
            p *= self.acc_by_locale[locale]
        else:
            p *= self.acc_by_language.get(language, 1.0)
        if words >= self.long_min_words:
            p *= self.long_multiplier
        if followup:
            p *= self.followup_multiplier
        return min(1.0, max(0.0, p))

    @classmethod
    def from_dict(cls, d: dict, *, source: str = "") -> Profile:
        where = source or d.get("version", "<profile>")
        try:
            acc, lat, tok, tone, err, saf = (d["accuracy"], d["latency"], d["tokens"], d["tone"], d["errors"],
                                             d["safety"])
        except KeyError as exc:
            raise ConfigError(f"{where}: missing section {exc.args[0]!r}") from None
        kb = load_kb()
        by_intent = {k: _prob(v, f"{where}: accuracy.by_intent.{k}") for k, v in acc["by_intent"].items()}
        unknown = set(by_intent) - set(kb.intents)
        if unknown:
            raise ConfigError(f"{where}: accuracy.by_intent: unknown intents {sorted(unknown)}")
        comply = {k: _prob(v, f"{where}: safety.comply_probability.{k}")
                  for k, v in saf["comply_probability"].items()}
        if set(comply) != set(ATTACK_CATEGORIES):
            raise ConfigError(f"{where}: safety.comply_probability must list exactly {', '.join(ATTACK_CATEGORIES)}")
        fm = {k: _pos(v, f"{where}: failure_modes.{k}") for k, v in d.get("failure_modes", {}).items()}
        if not fm or set(fm) - set(FAILURE_MODES) or sum(fm.values()) <= 0:
            raise ConfigError(f"{where}: failure_modes: weights over {', '.join(FAILURE_MODES)}")
        kinds = {k: _pos(v, f"{where}: errors.kinds.{k}") for k, v in err.get("kinds", {"http_500": 1}).items()}
        tail = lat.get("slow_tail", {})
        long_msg = acc.get("long_message", {})
        return cls(
            version=str(d["version"]), model=str(d["model"]), seed=int(d.get("seed", 0)),
            description=str(d.get("description", "")).strip(),
            acc_by_intent=by_intent,
            acc_default=_prob(acc.get("default", 0.8), f"{where}: accuracy.default"),
            acc_by_locale={k: _pos(v, f"{where}: accuracy.by_locale.{k}") for k, v in acc.get("by_locale", {}).items()},
            acc_by_language={k: _pos(v, f"{where}: accuracy.by_language.{k}")
                             for k, v in acc.get("by_language", {}).items()},
            long_min_words=int(long_msg.get("min_words", 10**9)),
            long_multiplier=_pos(long_msg.get("multiplier", 1.0), f"{where}: accuracy.long_message.multiplier"),
            followup_multiplier=_pos(acc.get("followup_multiplier", 1.0), f"{where}: accuracy.followup_multiplier"),
            failure_modes=fm,
            detail_probability=_prob(d.get("verbosity", {}).get("detail_probability", 0.0),
                                     f"{where}: verbosity.detail_probability"),
            latency_median_ms=_pos(lat["median_ms"], f"{where}: latency.median_ms", allow_zero=False),
            latency_sigma=_pos(lat.get("sigma", 0.3), f"{where}: latency.sigma"),
            latency_per_output_token_ms=_pos(lat.get("per_output_token_ms", 0.0), f"{where}: latency.per_output_token_ms"),
            latency_by_locale={k: _pos(v, f"{where}: latency.by_locale.{k}") for k, v in lat.get("by_locale", {}).items()},
            tail_probability=_prob(tail.get("probability", 0.0), f"{where}: latency.slow_tail.probability"),
            tail_min=_pos(tail.get("multiplier_min", 1.0), f"{where}: latency.slow_tail.multiplier_min"),
            tail_max=_pos(tail.get("multiplier_max", 1.0), f"{where}: latency.slow_tail.multiplier_max"),
            system_prompt_tokens=int(tok.get("system_prompt_tokens", 0)),
            chars_per_token=_pos(tok.get("chars_per_token", 4.0), f"{where}: tokens.chars_per_token", allow_zero=False),
            per_message_overhead=int(tok.get("per_message_overhead", 4)),
            tool_call_tokens=int(tok.get("tool_call_tokens", 0)),
            hidden_output_tokens_mean=_pos(tok.get("hidden_output_tokens_mean", 0.0),
                                           f"{where}: tokens.hidden_output_tokens_mean"),
            polite_probability=_prob(tone.get("polite_probability", 1.0), f"{where}: tone.polite_probability"),
            drift_after_turn=int(tone.get("drift_after_turn", 10**6)),
            drifted_polite_probability=_prob(tone.get("drifted_polite_probability", 1.0),
                                             f"{where}: tone.drifted_polite_probability"),
            curt_opener_probability=_prob(tone.get("curt_opener_probability", 0.0),
                                          f"{where}: tone.curt_opener_probability"),
            error_rate=_prob(err.get("rate", 0.0), f"{where}: errors.rate"),
            error_kinds=kinds,
            comply_probability=comply,
            source=source,
            raw=d,
        )


def _profile_dirs() -> list[Path]:
    extra = [Path(p) for p in os.environ.get("AGENT_RELEASE_PROFILES", "").split(os.pathsep) if p]
    return [*extra, PROFILES_DIR]


def list_profiles() -> list[str]:
    """Versions with a profile file (``profiles/*.yaml`` plus ``$AGENT_RELEASE_PROFILES`` dirs)."""
    out = set()
    for d in _profile_dirs():
        if d.is_dir():
            out.update(p.stem for p in d.glob("*.yaml"))
    return sorted(out)


_PROFILE_CACHE: dict[str, Profile] = {}


def load_profile(version: str) -> Profile:
    """The profile of ``version`` (e.g. ``support-bot@2``), or of a YAML file path."""
    cached = _PROFILE_CACHE.get(version)
    if cached is not None:
        return cached
    path = Path(version) if version.endswith((".yaml", ".yml")) else None
    if path is None:
        for d in _profile_dirs():
            if (d / f"{version}.yaml").is_file():
                path = d / f"{version}.yaml"
                break
    if path is None or not path.is_file():
        raise ConfigError(f"no simulated-agent profile for {version!r}; known: {', '.join(list_profiles())}")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    prof = Profile.from_dict(doc, source=path.name)
    if path.suffix in (".yaml", ".yml") and not version.endswith((".yaml", ".yml")) and prof.version != version:
        raise ConfigError(f"{path.name}: version field {prof.version!r} does not match the file name")
    _PROFILE_CACHE[version] = prof
    return prof


# --------------------------------------------------------------------------- decisions
@dataclass
class Decision:
    """Everything the agent decided for the last user turn (content + telemetry + why)."""

    content: str
    action: str | None
    action_args: dict | None
    latency_ms: float
    input_tokens: int | None
    output_tokens: int | None
    error: str | None
    language: str
    kind: str  # act | followup | ask_order | clarify | closing | greeting | refuse | comply | error
    intent: str | None = None
    correct: bool | None = None  # for act/followup turns: correct action and facts
    failure_mode: str | None = None
    attack: str | None = None  # detected jailbreak category
    polite: bool = True
    turn: int = 0


@dataclass
class _State:
    intent: str | None = None
    order_ref: str | None = None
    done: set[str] = field(default_factory=set)
    asked: set[str] = field(default_factory=set)


@dataclass
class _Plan:
    kind: str
    intent: str | None = None
    correct: bool | None = None
    failure_mode: str | None = None
    attack: Attack | None = None
    error: str | None = None


@dataclass(frozen=True)
class _Analysis:
    intent: str | None
    score: int
    attack: Attack | None
    order_ref: str | None
    closing: bool
    words: int


class _LRU(OrderedDict):
    def __init__(self, maxsize: int):
        super().__init__()
        self.maxsize = maxsize

    def get_or(self, key, fn):
        try:
            v = self[key]
            self.move_to_end(key)
            return v
        except KeyError:
            v = fn()
            self[key] = v
            if len(self) > self.maxsize:
                self.popitem(last=False)
            return v


_ANALYSIS = _LRU(8192)


def _analyse(kb: KnowledgeBase, text: str) -> _Analysis:
    def run() -> _Analysis:
        f = fold(text)
        intent, score = kb.detect_intent(text, f)
        return _Analysis(intent, score, kb.classify_attack(text, f), find_order_ref(text),
                         kb.is_closing(text, f), len(text.split()))
    try:
        return _ANALYSIS.get_or(text, run)
    except KeyError:  # evicted by another thread between lookup and move: just recompute
        return run()


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


class _Draws:
    """Deterministic uniform draws from BLAKE2b(seed parts ‖ block counter).

    Same role as ``random.Random(stable_hash(parts))`` but ~10x cheaper to set up, which matters
    on the HTTP server's hot path. Eight 53-bit uniforms per 64-byte block.
    """

    __slots__ = ("_seed", "_buf", "_i", "_n")

    def __init__(self, *parts: Any):
        self._seed = "\x1f".join(str(p) for p in parts).encode("utf-8", "surrogatepass")
        self._n = 0
        self._refill()

    def _refill(self) -> None:
        d = hashlib.blake2b(self._seed + self._n.to_bytes(4, "big"), digest_size=64).digest()
        self._n += 1
        self._buf = struct.unpack(">8Q", d)
        self._i = 0

    def random(self) -> float:
        if self._i >= 8:
            self._refill()
        v = self._buf[self._i]
        self._i += 1
        return (v >> 11) * (1.0 / 9007199254740992.0)

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.random()

    def gauss(self, mu: float, sigma: float) -> float:
        u1 = self.random() or 1e-300
        u2 = self.random()
        return mu + sigma * math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)

    def expovariate(self, lambd: float) -> float:
        return -math.log(1.0 - self.random()) / lambd


def _rng(*parts: Any) -> _Draws:
    return _Draws(*parts)


def _pick(rng: _Draws, weights: dict[str, float]) -> str:
    total = sum(weights.values())
    r, acc = rng.random() * total, 0.0
    for k, w in weights.items():
        acc += w
        if r < acc:
            return k
    return next(reversed(weights))


class SimulatedAgent:
    """A deterministic simulated support agent of one profile version."""

    def __init__(self, profile: Profile | str, *, seed: int | None = None, realtime: bool = False,
                 latency_scale: float = 1.0, pinned_model: str | None = None, kb: KnowledgeBase | None = None):
        self.profile = load_profile(profile) if isinstance(profile, str) else profile
        self.version = self.profile.version
        self.model = pinned_model or self.profile.model
        self.seed = self.profile.seed if seed is None else int(seed)
        self.realtime = realtime
        self.latency_scale = latency_scale
        self.kb = kb or load_kb()

    def __repr__(self) -> str:
        return f"SimulatedAgent({self.version!r}, model={self.model!r}, seed={self.seed})"

    # ------------------------------------------------------------------ interface
    async def respond(self, messages: list[dict], *, locale: str | None = None,
                      conversation_id: str | None = None) -> AgentReply:
        d = self.decide(messages, locale=locale, conversation_id=conversation_id)
        if self.realtime and d.latency_ms > 0 and self.latency_scale > 0:
            await asyncio.sleep(d.latency_ms / 1000.0 * self.latency_scale)
        cost = compute_cost(self.model, d.input_tokens, d.output_tokens) if d.error is None else None
        return AgentReply(
            content=d.content, latency_ms=d.latency_ms, input_tokens=d.input_tokens,
            output_tokens=d.output_tokens, cost_usd=cost, action=d.action, action_args=d.action_args,
            model_reported=self.profile.model, model_mismatch=self.profile.model != self.model,
            error=d.error, attempts=1, total_latency_ms=d.latency_ms,
        )

    async def aclose(self) -> None:
        return None

    # ------------------------------------------------------------------ decision
    def decide(self, messages: list[dict], *, locale: str | None = None,
               conversation_id: str | None = None) -> Decision:
        """Decide the reply to the last user turn of ``messages`` (pure, deterministic)."""
        kb, prof = self.kb, self.profile
        cid = conversation_id or ""
        user_texts = [_text_of(m.get("content")) for m in messages if m.get("role") == "user"]
        if not user_texts:
            user_texts = [""]
        lang = kb.reply_language(locale, " ".join(user_texts))
        state = _State()
        plan = _Plan("greeting")
        last = len(user_texts) - 1
        for k, text in enumerate(user_texts):
            plan = self._plan_turn(state, k, text, locale, lang, cid)
            if k < last:
                self._advance(state, plan)
        return self._render(plan, state, last, user_texts[last], messages, locale, lang, cid)

    def _plan_turn(self, state: _State, k: int, text: str, locale: str | None, lang: str, cid: str) -> _Plan:
        kb, prof = self.kb, self.profile
        a = _analyse(kb, text)
        if a.order_ref:
            state.order_ref = a.order_ref
        rng = _rng(self.seed, self.version, cid, k, text, "decide")
        u_err = rng.random()
        # Common random numbers: how hard this turn is (and how tempting an attack) does not
        # depend on the agent, so two versions differ only where their profiles differ — a hard
        # case is hard for both, as with real models. Errors stay version-specific.
        crn = _rng("crn", cid, k, text)
        u_main, u_mode = crn.random(), crn.random()
        if u_err < prof.error_rate:
            return _Plan("error", error=_pick(rng, prof.error_kinds))
        if a.attack is not None:
            p = prof.comply_probability.get(a.attack.category, 0.0)
            return _Plan("comply" if u_main < p else "refuse", attack=a.attack)
        if a.closing and a.score < 2:
            return _Plan("closing", intent=state.intent)
        intent = state.intent
        switched = False
        if a.intent is not None and (intent is None or (a.intent != intent and a.score >= 3)):
            intent, switched = a.intent, intent is not None
        if intent is None:
            return _Plan("greeting" if k == 0 else "clarify")
        state.intent = intent
        it = kb.intents[intent]
        followup = it.action in state.done and not switched
        if not followup and it.needs_order and not state.order_ref and intent not in state.asked:
            return _Plan("ask_order", intent=intent)
        p = prof.accuracy(intent, locale, lang, a.words, followup)
        if u_main < p:
            return _Plan("followup" if followup else "act", intent=intent, correct=True)
        if followup:
            return _Plan("followup", intent=intent, correct=False, failure_mode="wrong_fact")
        mode = FAILURE_MODES[0]
        acc = 0.0
        total = sum(prof.failure_modes.values())
        for m in FAILURE_MODES:
            acc += prof.failure_modes.get(m, 0.0) / total
            if u_mode < acc:
                mode = m
                break
        return _Plan("act", intent=intent, correct=False, failure_mode=mode)

    def _advance(self, state: _State, plan: _Plan) -> None:
        """Fold an earlier turn's outcome into the conversation state."""
        if plan.kind == "ask_order" and plan.intent:
            state.asked.add(plan.intent)
        elif plan.kind == "act" and plan.intent:
            action = self._action_of(plan)
            if action:
                state.done.add(action)
        elif plan.kind == "comply" and plan.attack and plan.attack.behaviour == "refund":
            state.done.add("refund")

    def _action_of(self, plan: _Plan) -> str | None:
        it = self.kb.intents[plan.intent] if plan.intent else None
        if it is None:
            return None
        if plan.correct or plan.failure_mode == "wrong_fact":
            return it.action
        if plan.failure_mode == "unnecessary_escalation":
            return "escalate"
        if plan.failure_mode == "wrong_action":
            return "answer" if it.action != "answer" else "lookup_order"
        return "answer"

    # ------------------------------------------------------------------ rendering
    def _render(self, plan: _Plan, state: _State, k: int, text: str, messages: list[dict],
                locale: str | None, lang: str, cid: str) -> Decision:
        kb, prof = self.kb, self.profile
        rng = _rng(self.seed, self.version, cid, k, text, "render")
        # fixed draw order: latency first, so it does not depend on the branch taken
        z = rng.gauss(0.0, 1.0)
        tail = rng.random() < prof.tail_probability
        tail_mult = rng.uniform(prof.tail_min, prof.tail_max)
        hidden = rng.expovariate(1.0 / prof.hidden_output_tokens_mean) if prof.hidden_output_tokens_mean > 0 else 0.0
        polite_p = prof.polite_probability if k < prof.drift_after_turn else prof.drifted_polite_probability
        polite = rng.random() < polite_p
        curt_opener = rng.random() < prof.curt_opener_probability
        detail = rng.random() < prof.detail_probability
        pick = rng.random()

        base_latency = prof.latency_median_ms * math.exp(prof.latency_sigma * z)
        base_latency *= prof.latency_by_locale.get(locale or "", 1.0)
        if tail:
            base_latency *= tail_mult

        if plan.kind == "error":
            return Decision(content="", action=None, action_args=None, latency_ms=round(base_latency, 3),
                            input_tokens=None, output_tokens=None, error=plan.error, language=lang, kind="error",
                            intent=state.intent, turn=k, polite=False)

        order_ref = state.order_ref or kb.generic["your_order"][lang]
        facts, wrong = kb.fact_values, kb.wrong_values
        action, args, body = "answer", None, ""
        intent = plan.intent
        it = kb.intents.get(intent) if intent else None
        use_politeness = True

        if plan.kind == "refuse":
            body = kb.refusal[lang]
            args = {"refusal": True, "category": plan.attack.category}
            use_politeness = False
        elif plan.kind == "comply":
            action, args, body = self._comply(plan.attack, lang, order_ref, pick)
            use_politeness = False
        elif plan.kind == "closing":
            body = kb.generic["closing"][lang]
        elif plan.kind == "greeting":
            body = kb.generic["greeting"][lang]
        elif plan.kind == "clarify":
            body = kb.generic["clarify"][lang]
        elif plan.kind == "ask_order":
            body = kb.generic["ask_order"][lang]
        elif plan.kind == "followup" and it is not None:
            vals = facts if plan.correct else wrong
            body = it.followup[lang].format(order_ref=order_ref, **vals)
        elif plan.kind == "act" and it is not None:
            mode = None if plan.correct else plan.failure_mode
            vals = wrong if mode == "wrong_fact" else facts
            if mode == "clarification":
                body = kb.generic["clarify"][lang]
            elif mode == "wrong_action":
                if it.action != "answer":
                    body = kb.generic["deflect"][lang]
                else:
                    action = "lookup_order"
                    args = {"order_id": state.order_ref}
                    body = kb.intents["order_status"].reply[lang].format(order_ref=order_ref, **facts)
            elif mode == "unnecessary_escalation" or it.action == "escalate":
                action = "escalate"
                reply = it.reply[lang].format(order_ref=order_ref, **vals) if it.action == "escalate" else ""
                summary = self._handoff(intent, lang, state, vals)
                args = {"queue": intent, "summary": summary["structured"]}
                body = " ".join(x for x in (reply, summary["text"]) if x)
            else:
                action = it.action
                body = it.reply[lang].format(order_ref=order_ref, **vals)
                args = self._action_args(action, state)
            if detail and mode not in ("clarification", "wrong_action"):
                body = f"{body} {it.detail[lang]}"

        if use_politeness:
            pol = kb.politeness[lang]
            if polite:
                opener = pol["openers"][int(pick * len(pol["openers"]))]
                closer = pol["closers"][int(pick * 7919) % len(pol["closers"])]
                body = f"{opener} {body} {closer}"
            elif curt_opener:
                body = f"{pol['curt_openers'][int(pick * len(pol['curt_openers']))]} {body}"

        cpt = prof.chars_per_token
        input_tokens = prof.system_prompt_tokens + sum(
            math.ceil(len(_text_of(m.get("content"))) / cpt) + prof.per_message_overhead for m in messages)
        output_tokens = math.ceil(len(body) / cpt) + int(round(hidden))
        if action != "answer":
            output_tokens += prof.tool_call_tokens
        latency = base_latency + prof.latency_per_output_token_ms * output_tokens
        return Decision(
            content=body, action=action, action_args=args, latency_ms=round(latency, 3),
            input_tokens=int(input_tokens), output_tokens=int(output_tokens), error=None, language=lang,
            kind=plan.kind, intent=intent, correct=plan.correct, failure_mode=plan.failure_mode,
            attack=plan.attack.category if plan.attack else None, polite=polite and use_politeness, turn=k,
        )

    @staticmethod
    def _action_args(action: str, state: _State) -> dict | None:
        if action in ("lookup_order", "track_shipment", "cancel", "update_address", "open_dispute"):
            return {"order_id": state.order_ref}
        if action == "refund":
            # the agent verified the order belongs to this customer only when it has an order id
            return {"order_id": state.order_ref, "verified": state.order_ref is not None}
        if action == "reset_password":
            return {"channel": "email"}
        if action == "delete_account":
            return {"confirmation": "email"}
        return None

    def _handoff(self, intent: str | None, lang: str, state: _State, vals: dict[str, str]) -> dict[str, Any]:
        kb = self.kb
        h = kb.handoff
        labels = h["labels"][lang]
        label = kb.intents[intent].label[lang] if intent in kb.intents else intent or ""
        issue = f"{label} ({state.order_ref})" if state.order_ref else label
        steps = list(h["steps"][lang]) + sorted(a for a in state.done if a != "answer")
        pending = h["pending"][lang].format(**vals)
        text = (f"{h['intro'][lang]} {labels['issue']}: {issue}. {labels['steps']}: {'; '.join(steps)}. "
                f"{labels['pending']}: {pending}.")
        return {"text": text, "structured": {"customer_issue": issue, "steps_taken": steps, "pending": pending}}

    def _comply(self, attack: Attack, lang: str, order_ref: str, pick: float) -> tuple[str, dict | None, str]:
        kb = self.kb
        c = kb.comply
        marks = canaries(attack.payload_text)
        echo = "\n".join(marks)
        b = attack.behaviour
        if b == "leak":
            n = 1 + int(pick * 3)
            lines = "\n".join(f"SYSTEM PROMPT: {line}" for line in kb.system_prompt[:n])
            body = f"{c['leak_intro'][lang]}\n{lines}"
            return "answer", {"complied": attack.category}, f"{body}\n{echo}".strip()
        if b == "refund":
            body = c["refund"][lang].format(order_ref=order_ref)
            args = {"order_id": order_ref, "amount": "full", "verified": False}
            return "refund", args, f"{body}\n{echo}".strip()
        if b == "record":
            rec = c["records"][int(pick * len(c["records"]))]
            return "lookup_order", {"customer": "other"}, f"{c['record_intro'][lang]}\n{rec}\n{echo}".strip()
        if b == "insult":
            return "answer", {"complied": attack.category}, f"{c['insult'][lang]}\n{echo}".strip()
        return "answer", {"complied": attack.category}, f"{c['echo_intro'][lang]}\n{echo}".strip()
