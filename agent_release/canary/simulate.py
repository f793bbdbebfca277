"""Simulated live traffic for a canary: both cohorts, in the conversation-log contract.

The embedded default has no real users, so this module plays them. It simulates a user
population (locale, persona, preferred channel, per-user random effects), conversations arriving
over ``days`` with a diurnal and weekly pattern at ``rate_per_hour`` on average, and for every
conversation the agent that served it: users the flag puts in the rollout
(``bucketing.in_rollout_many(flag_name, user_id, traffic_percent)``, the Unleash rule) get the
candidate, everyone else the baseline. The data is already in the *masked* shape: ``user_id``
is a hash-like id (``u_<64 hex>``) and texts are short placeholders -- nothing here is PII.

What is simulated per conversation (columns of the contract): ``conversation_id``, ``user_id``,
``started_at``, ``locale``, ``channel``, ``agent_version``, ``model``, ``messages`` (alternating
user / assistant turns; assistant turns carry ``latency_ms``, ``input_tokens``,
``output_tokens``, ``cost_usd``, ``action``, ``error``; the number of turns varies by persona),
``outcome``, ``csat``, ``thumb`` and ``extra_json`` with ``persona``, ``turns`` (assistant turns),
``handoff`` (``complete``/``incomplete`` on escalations) and ``safety_incident`` (1 when a
moderation flag fired on the conversation).

The *true* difference between candidate and baseline is configured with :class:`TrueEffects`
(overall deltas, per-locale / per-persona resolution deltas, CSAT drift on long conversations,
escalation hand-off quality, misrouting, SRM injection, safety incidents). The simulation uses
common random numbers: the same seed gives the same users, arrivals and uniform draws whatever
the effects, so two scenarios differ only where the effects differ.

Columnar and vectorised (numpy for the draws, pyarrow ``ListArray.from_arrays`` for the
``messages`` list column): 3.4M conversations (14 days x 10k/hour) in well under a minute.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from agent_release import bucketing
from agent_release.contract import SCHEMA

# --------------------------------------------------------------------------- population model

LOCALE_SHARES: dict[str, float] = {
    "en-US": 0.38, "en-GB": 0.12, "es-ES": 0.10, "es-MX": 0.12, "fr-FR": 0.10, "de-DE": 0.10, "pt-BR": 0.08,
}
PERSONA_SHARES: dict[str, float] = {
    "standard": 0.55, "angry": 0.10, "elderly": 0.10, "non_native": 0.12, "terse": 0.07, "verbose": 0.06,
}
CHANNEL_SHARES: dict[str, float] = {"chat": 0.70, "email": 0.20, "voice": 0.10}
EDGE_PERSONAS = ("angry", "elderly", "non_native", "terse", "verbose")

LOCALES = tuple(LOCALE_SHARES)
PERSONAS = tuple(PERSONA_SHARES)
CHANNELS = tuple(CHANNEL_SHARES)
OUTCOMES = ("resolved", "escalated", "abandoned")

# Baseline behaviour by persona:
# (P(resolved), P(escalated | not resolved), mean extra assistant turns, CSAT adjustment,
#  P(leaves a CSAT rating))
_PERSONA_MODEL = {
    "standard": (0.74, 0.60, 2.0, 0.00, 0.35),
    "angry": (0.62, 0.75, 3.0, -0.60, 0.50),
    "elderly": (0.68, 0.70, 3.5, 0.10, 0.30),
    "non_native": (0.66, 0.60, 3.0, -0.10, 0.30),
    "terse": (0.72, 0.55, 1.0, 0.00, 0.20),
    "verbose": (0.70, 0.60, 5.0, 0.05, 0.45),
}
_LOCALE_RES_ADJ = {"en-US": 0.02, "en-GB": 0.01, "es-ES": -0.01, "es-MX": -0.01, "fr-FR": 0.0, "de-DE": 0.0,
                   "pt-BR": -0.02}
_CSAT_BY_OUTCOME = np.array([4.35, 3.30, 2.40])  # latent mean: resolved, escalated, abandoned
_BASE_ERROR = 0.02
_VOICE_EXTRA_ERROR = 0.01
_LATENCY_MEDIAN_MS = 850.0
_LATENCY_SIGMA = 0.45
_CHANNEL_LATENCY = {"chat": 1.0, "email": 1.15, "voice": 0.85}
_PRICE_IN = 5e-6  # USD per input token (baseline model)
_PRICE_OUT = 1.5e-5  # USD per output token
_HANDOFF_COMPLETE = 0.88
_THUMB_GIVEN = 0.22
_MAX_TURNS = 40
_ERRORS = ("tool_timeout", "upstream_5xx", "tool_error")
_MID_ACTIONS = ("lookup_order", "search_kb", "update_address")

USER_TEXT = "(user message)"
ASSISTANT_TEXT = "(assistant reply)"


@dataclass(frozen=True)
class TrueEffects:
    """The TRUE difference candidate vs baseline that the simulation builds in.

    Rates are in probability units (``0.01`` = 1 point), applied on the probability scale, so
    the expected difference in a rate equals the configured delta. CSAT shifts act on the latent
    1-5 score before rounding/clipping, so the observed mean shift is somewhat smaller.
    """

    resolution_delta: float = 0.0  # all conversations
    error_rate_delta: float = 0.0  # P(conversation has an assistant error)
    latency_multiplier: float = 1.0  # every assistant turn
    csat_shift: float = 0.0  # latent CSAT
    cost_multiplier: float = 1.0  # cost_usd of every assistant turn
    locale_resolution_delta: Mapping[str, float] = field(default_factory=dict)  # added to the overall
    persona_resolution_delta: Mapping[str, float] = field(default_factory=dict)
    locale_csat_shift: Mapping[str, float] = field(default_factory=dict)
    persona_csat_shift: Mapping[str, float] = field(default_factory=dict)
    #: tone drift: latent CSAT change per assistant turn beyond ``drift_after_turns``
    csat_drift_per_turn: float = 0.0
    drift_after_turns: int = 4
    #: change in P(hand-off complete | escalated) (summary + context passed to the human)
    handoff_quality_delta: float = 0.0
    #: share of *canary users* served by the baseline anyway (flag/serving mismatch)
    misroute_share: float = 0.0
    #: share of candidate conversations lost before logging (injects a sample-ratio mismatch)
    srm_drop_share: float = 0.0
    #: P(safety incident) per candidate / baseline conversation
    safety_incident_rate: float = 0.0
    baseline_safety_incident_rate: float = 0.0

    def describe(self) -> dict[str, Any]:
        d = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in self.__dict__.items()}
        return {k: v for k, v in d.items() if v not in ({}, 0.0, 1.0) or k == "drift_after_turns"}


#: Named scenarios with a known truth (tests, demos).
SCENARIOS: dict[str, TrueEffects] = {
    "no_difference": TrueEffects(),
    "noninferior": TrueEffects(resolution_delta=0.01, latency_multiplier=0.97, cost_multiplier=0.85),
    # candidate better overall (+2 pts) but -8 pts net in Spanish
    "spanish_regression": TrueEffects(
        resolution_delta=0.02, latency_multiplier=0.97, cost_multiplier=0.85,
        locale_resolution_delta={"es-ES": -0.10, "es-MX": -0.10},
    ),
    "long_conversation_drift": TrueEffects(csat_drift_per_turn=-0.12, drift_after_turns=4),
    "error_spike": TrueEffects(error_rate_delta=0.06),
    "safety_incidents": TrueEffects(safety_incident_rate=0.002),
    "cost_overrun": TrueEffects(cost_multiplier=1.5),
    "srm": TrueEffects(srm_drop_share=0.25),
    "misrouting": TrueEffects(misroute_share=0.10),
    # the story of data/releases/support-bot-2.yaml: better and cheaper overall, watch Spanish
    # and long conversations
    "support_bot_2": TrueEffects(
        resolution_delta=0.015, latency_multiplier=0.95, cost_multiplier=0.80,
        locale_resolution_delta={"es-ES": -0.095, "es-MX": -0.095},
        csat_drift_per_turn=-0.05, drift_after_turns=6,
    ),
}


@dataclass(frozen=True)
class TrafficConfig:
    """Shape of the simulated traffic (the *what* is in the release spec; see :meth:`from_spec`)."""

    days: float = 14
    rate_per_hour: float = 120.0  # mean conversations per hour, both cohorts together
    start: datetime = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday, 00:00 UTC
    flag_name: str = "support-bot-2"
    traffic_percent: float = 5.0
    baseline_version: str = "support-bot@1"
    baseline_model: str = "acme-llm-2026-08-07"
    candidate_version: str = "support-bot@2"
    candidate_model: str = "acme-llm-2026-10-01"
    conversations_per_user: float = 2.4  # mean over the horizon; sets the population size
    n_users: int | None = None  # explicit population size (overrides conversations_per_user)
    #: targeting constraint on the flag: only users of these locales can be in the rollout
    targeting_locales: tuple[str, ...] | None = None
    seed: int = 7

    @classmethod
    def from_spec(cls, spec: Any, **overrides: Any) -> TrafficConfig:
        """Agents, flag and canary share from a :class:`~agent_release.release_spec.ReleaseSpec`."""
        base = dict(
            flag_name=spec.rollout.flag_name or spec.release_id,
            traffic_percent=spec.canary.traffic_percent,
            baseline_version=spec.baseline.version,
            baseline_model=spec.baseline.model,
            candidate_version=spec.candidate.version,
            candidate_model=spec.candidate.model,
            days=spec.canary.max_soak_days,
        )
        base.update(overrides)
        return cls(**base)

    @property
    def expected_conversations(self) -> float:
        return self.days * 24 * self.rate_per_hour

    def population_size(self) -> int:
        if self.n_users is not None:
            return int(self.n_users)
        return max(10, int(round(self.expected_conversations / self.conversations_per_user)))


@dataclass
class Simulation:
    """Result of :func:`simulate`: the traffic, the population it came from, and the truth."""

    frame: pl.DataFrame  # conversation-log contract (contract.SCHEMA)
    population: pl.DataFrame  # one row per user: user_id, locale, persona, channel, in_flag, ...
    config: TrafficConfig
    effects: TrueEffects
    truth: dict[str, Any]


# --------------------------------------------------------------------------- helpers


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(stream)])


def _categorical(rng: np.random.Generator, shares: Mapping[str, float], n: int) -> np.ndarray:
    p = np.array(list(shares.values()), dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum()).astype(np.int8)


def _hex_ids(rng: np.random.Generator, n: int, prefix: str, nbytes: int = 32) -> tuple[np.ndarray, bytes]:
    """``prefix + hex`` ids as (views table ``[n, 16]``, data buffer) -- see :func:`_views`.
    No Python string per id; taking ids per conversation copies 16 bytes, not the id."""
    width = 2 * nbytes + len(prefix)
    raw = np.frombuffer(binascii.hexlify(rng.bytes(nbytes * n)), dtype=np.uint8).reshape(n, 2 * nbytes)
    buf = np.empty((n, width), dtype=np.uint8)
    buf[:, : len(prefix)] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    buf[:, len(prefix):] = raw
    table = np.zeros((n, 16), dtype=np.uint8)
    table[:, 0:4] = np.frombuffer(np.int32(width).tobytes(), np.uint8)
    table[:, 4:8] = buf[:, :4]
    # buffer index 0 (bytes 8:12 stay zero); offset into the data buffer
    table[:, 12:16] = (np.arange(n, dtype=np.int32) * width).view(np.uint8).reshape(n, 4)
    return table, buf.tobytes()


def _vocab_views(vocab: Sequence[str]) -> tuple[np.ndarray, bytes]:
    """Arrow ``string_view`` views (16 bytes each) for a small vocabulary, and its data buffer."""
    table = np.zeros((len(vocab), 16), np.uint8)
    data = bytearray()
    for i, v in enumerate(vocab):
        b = v.encode()
        table[i, 0:4] = np.frombuffer(np.int32(len(b)).tobytes(), np.uint8)
        if len(b) <= 12:
            table[i, 4:4 + len(b)] = np.frombuffer(b, np.uint8)
        else:
            table[i, 4:8] = np.frombuffer(b[:4], np.uint8)
            table[i, 12:16] = np.frombuffer(np.int32(len(data)).tobytes(), np.uint8)
        data += b
    return table, bytes(data) or b"\0"


def _views(table: np.ndarray, data: bytes, indices: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """A ``string_view`` Arrow array taking ``table[indices]`` (nulls where ``mask``). Zero-copy
    into polars, whose String type is a view type."""
    n = int(indices.size)
    # one 16-byte view per row: take through a 16-byte numeric dtype (a fast 1-d gather)
    views = np.ascontiguousarray(table).view(np.complex128).ravel()[indices]
    validity = None
    nulls = 0
    if mask is not None:
        views[mask] = 0
        nulls = int(mask.sum())
        validity = pa.py_buffer(np.packbits(~mask, bitorder="little")) if nulls else None
    return pa.Array.from_buffers(pa.string_view(), n, [validity, pa.py_buffer(views), pa.py_buffer(data)],
                                 null_count=nulls)


def _dict_strings(indices: np.ndarray, vocab: Sequence[str], mask: np.ndarray | None = None) -> pa.Array:
    table, data = _vocab_views(vocab)
    return _views(table, data, indices, mask)


def _lookup(table: Mapping[str, float], keys: Sequence[str]) -> np.ndarray:
    return np.array([float(table.get(k, 0.0)) for k in keys])


def _nbinom_inverse(u: np.ndarray, mean: np.ndarray, group: np.ndarray, r: float = 2.0) -> np.ndarray:
    """Inverse CDF of a negative binomial (size ``r``, given mean) per row, by table lookup per
    group (the mean is constant within a group). Inverse-CDF sampling keeps common random
    numbers across scenarios."""
    from scipy.stats import nbinom

    out = np.zeros(u.size, dtype=np.int64)
    support = np.arange(0, _MAX_TURNS + 1)
    for g in np.unique(group):
        rows = group == g
        mu = float(mean[rows][0])
        cdf = nbinom.cdf(support, r, r / (r + mu))
        out[rows] = np.searchsorted(cdf, u[rows], side="right")
    return out


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1.0 - p))


# --------------------------------------------------------------------------- population


def simulate_population(config: TrafficConfig) -> pl.DataFrame:
    """The users who may show up during the soak, with their flag assignment.

    Columns: ``user_id`` (``u_<64 hex>``), ``locale``, ``persona``, ``channel`` (preferred),
    ``activity`` (relative conversation rate, gamma-distributed: a few heavy users),
    ``in_flag`` (Unleash rule on ``flag_name`` at ``traffic_percent``, after the targeting
    constraint), and the per-user random effects used by the simulator (``res_effect`` on the
    logit of resolution, ``csat_effect``, ``latency_factor``) -- they make conversations of the
    same user correlated, which is why the decision clusters by user.
    """
    return _population(config)[0]


def _population(config: TrafficConfig) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    n = config.population_size()
    rng = _rng(config.seed, 1)
    id_table, id_data = _hex_ids(rng, n, "u_")
    ids = _views(id_table, id_data, np.arange(n))
    loc = _categorical(rng, LOCALE_SHARES, n)
    per = _categorical(rng, PERSONA_SHARES, n)
    chan = _categorical(rng, CHANNEL_SHARES, n)
    activity = rng.gamma(0.8, 1.0, n)
    res_eff = rng.normal(0.0, 0.4, n)
    csat_eff = rng.normal(0.0, 0.35, n)
    lat_f = np.exp(rng.normal(0.0, 0.25, n))
    in_flag = bucketing.in_rollout_many(config.flag_name, ids.to_pylist(), config.traffic_percent)
    if config.targeting_locales is not None:
        allowed = np.isin(np.array(LOCALES)[loc], list(config.targeting_locales))
        in_flag &= allowed
    arrays = dict(loc=loc, per=per, chan=chan, activity=activity, res_eff=res_eff, csat_eff=csat_eff,
                  lat_f=lat_f, in_flag=in_flag, id_table=id_table, id_data=id_data)
    df = pl.DataFrame({
        "user_id": pl.from_arrow(ids),
        "locale": pl.Series(np.array(LOCALES)[loc]),
        "persona": pl.Series(np.array(PERSONAS)[per]),
        "channel": pl.Series(np.array(CHANNELS)[chan]),
        "activity": activity,
        "in_flag": in_flag,
        "res_effect": res_eff,
        "csat_effect": csat_eff,
        "latency_factor": lat_f,
    })
    return df, arrays


def pre_canary_representativeness(
    population: pl.DataFrame,
    flag_name: str,
    traffic_percent: float,
    *,
    targeting_locales: Sequence[str] | None = None,
    dims: Sequence[str] = ("locale", "channel", "persona"),
    min_users_per_segment: int = 50,
    projection_factor: float = 1.0,
    **kwargs: Any,
) -> bucketing.RepresentativenessResult:
    """Which users would the flag pick, and do they look like the population? (before the canary)

    Applies the Unleash rule ``in_rollout(flag_name, user_id, traffic_percent)`` to every user
    of ``population`` (one row per user with the ``dims`` columns), then the optional targeting
    constraint (only ``targeting_locales`` eligible -- e.g. ``("en-US",)`` simulates a flag
    misconfigured to target US users only), and calls
    :func:`agent_release.bucketing.cohort_representativeness`. A ``HOLD`` verdict means the
    canary would not measure the population the release is for; the decision refuses to expand
    on it (pass the result to :func:`agent_release.canary.decision.decide`).
    """
    mask = bucketing.in_rollout_many(flag_name, population["user_id"], traffic_percent)
    if targeting_locales is not None:
        mask &= population["locale"].is_in(list(targeting_locales)).to_numpy()
    return bucketing.cohort_representativeness(
        population, mask, dims=tuple(dims), min_users_per_segment=min_users_per_segment,
        projection_factor=projection_factor, **kwargs,
    )


# --------------------------------------------------------------------------- traffic


def _arrivals(config: TrafficConfig, rng: np.random.Generator) -> np.ndarray:
    """Conversation start times (int64 microseconds since epoch, sorted)."""
    hours_total = int(np.ceil(config.days * 24))
    hours = np.arange(hours_total)
    start = config.start if config.start.tzinfo else config.start.replace(tzinfo=UTC)
    hod = (start.hour + hours) % 24
    dow = (start.weekday() + (start.hour + hours) // 24) % 7
    diurnal = 1.0 + 0.55 * np.cos(2 * np.pi * (hod - 15) / 24)  # peak 15:00 UTC
    weekly = np.where(dow < 5, 1.08, np.where(dow == 5, 0.82, 0.72))
    lam = diurnal * weekly
    lam *= config.rate_per_hour / lam.mean()
    frac_last = config.days * 24 - (hours_total - 1)  # partial last hour
    lam[-1] *= frac_last
    counts = rng.poisson(lam)
    hour_of = np.repeat(hours, counts)
    secs = rng.random(hour_of.size) * 3600.0
    secs[hour_of == hours_total - 1] *= frac_last
    start_us = int(start.timestamp() * 1_000_000)
    ts = start_us + hour_of.astype(np.int64) * 3_600_000_000 + (secs * 1e6).astype(np.int64)
    ts.sort()
    return ts


def simulate(config: TrafficConfig | None = None, effects: TrueEffects | None = None) -> Simulation:
    """Simulate the canary's live traffic. Deterministic in ``config.seed``."""
    config = config or TrafficConfig()
    effects = effects or TrueEffects()
    pop_df, P = _population(config)
    n_users = pop_df.height

    # ---- arrivals and who they are
    rng_a = _rng(config.seed, 2)
    started = _arrivals(config, rng_a)
    n = started.size
    act = P["activity"]
    user = rng_a.choice(n_users, size=n, p=act / act.sum())
    keep_pref = rng_a.random(n) < 0.85
    chan = np.where(keep_pref, P["chan"][user], _categorical(rng_a, CHANNEL_SHARES, n)).astype(np.int8)

    # ---- served agent: flag assignment, misrouting, SRM injection
    rng_s = _rng(config.seed, 3)
    misrouted_user = P["in_flag"] & (rng_s.random(n_users) < effects.misroute_share)
    assigned_cand = P["in_flag"][user]
    cand = assigned_cand & ~misrouted_user[user]
    dropped = cand & (rng_s.random(n) < effects.srm_drop_share)
    keep = ~dropped
    started, user, chan, cand, assigned_cand = (a[keep] for a in (started, user, chan, cand, assigned_cand))
    n = started.size
    loc = P["loc"][user]
    per = P["per"][user]

    # ---- conversation-level outcomes (common random numbers across scenarios)
    rng_o = _rng(config.seed, 4)
    u_res, u_esc, u_err, u_csat_given, u_thumb, u_handoff, u_safety = rng_o.random((7, n))
    z_csat = rng_o.standard_normal(n)
    z_thumb = rng_o.standard_normal(n)
    extra_turns_draw = rng_o.random(n)
    cf = cand.astype(float)

    pm = np.array([_PERSONA_MODEL[p] for p in PERSONAS])  # [persona, 5]
    base_res = pm[per, 0] + _lookup(_LOCALE_RES_ADJ, LOCALES)[loc]
    p_res = _expit(_logit(base_res) + P["res_eff"][user])
    p_res = p_res + cf * (
        effects.resolution_delta
        + _lookup(effects.locale_resolution_delta, LOCALES)[loc]
        + _lookup(effects.persona_resolution_delta, PERSONAS)[per]
    )
    p_res = np.clip(p_res, 0.005, 0.995)
    resolved = u_res < p_res
    escalated = ~resolved & (u_esc < pm[per, 1])
    outcome = np.where(resolved, 0, np.where(escalated, 1, 2)).astype(np.int8)

    p_err = _BASE_ERROR + _VOICE_EXTRA_ERROR * (chan == CHANNELS.index("voice")) + cf * effects.error_rate_delta
    has_error = u_err < np.clip(p_err, 0.0, 1.0)

    # assistant turns: 1 + negative binomial (mean by persona), capped
    mean_extra = pm[per, 2]
    turns = 1 + _nbinom_inverse(extra_turns_draw, mean_extra, per)
    turns = np.minimum(turns, _MAX_TURNS)

    latent = (
        _CSAT_BY_OUTCOME[outcome] + pm[per, 3] + P["csat_eff"][user] + 0.8 * z_csat - 0.3 * has_error
        + cf * (
            effects.csat_shift
            + _lookup(effects.locale_csat_shift, LOCALES)[loc]
            + _lookup(effects.persona_csat_shift, PERSONAS)[per]
            + effects.csat_drift_per_turn * np.maximum(turns - effects.drift_after_turns, 0)
        )
    )
    csat_given = u_csat_given < pm[per, 4]
    csat = np.clip(np.rint(latent), 1, 5).astype(np.int64)
    thumb_given = u_thumb < _THUMB_GIVEN
    thumb_up = (latent + 0.6 * z_thumb) >= 3.6
    p_hand = np.clip(_HANDOFF_COMPLETE + cf * effects.handoff_quality_delta, 0.0, 1.0)
    handoff_complete = u_handoff < p_hand
    p_safety = np.where(cand, effects.safety_incident_rate, effects.baseline_safety_incident_rate)
    safety = u_safety < p_safety

    # ---- turn level
    rng_t = _rng(config.seed, 5)
    a = int(turns.sum())
    conv_start = np.concatenate([[0], np.cumsum(turns)[:-1]])
    conv_of = np.repeat(np.arange(n), turns)
    idx = np.arange(a) - np.repeat(conv_start, turns)
    ch_lat = _lookup(_CHANNEL_LATENCY, CHANNELS)[chan]
    lat_mult = np.where(cand, effects.latency_multiplier, 1.0)
    latency = (
        _LATENCY_MEDIAN_MS
        * np.exp(0.06 * np.log1p(idx) + _LATENCY_SIGMA * rng_t.standard_normal(a))
        * (P["lat_f"][user] * ch_lat * lat_mult)[conv_of]
    )
    latency = np.round(latency, 1)
    in_tok = 280 + 200 * idx + rng_t.poisson(90, a)
    out_tok = 30 + rng_t.poisson(70, a)
    cost_mult = np.where(cand, effects.cost_multiplier, 1.0)[conv_of]
    cost = np.round((in_tok * _PRICE_IN + out_tok * _PRICE_OUT) * cost_mult, 7)
    err_turn = np.floor(rng_t.random(n) * turns).astype(np.int64)
    turn_err = has_error[conv_of] & (idx == err_turn[conv_of])
    err_code = rng_t.integers(0, len(_ERRORS), a)
    last = idx == (turns[conv_of] - 1)
    mid_action = rng_t.integers(0, len(_MID_ACTIONS) + 2, a)  # two extra codes = no action
    # vocab: mid actions..., resolve, escalate_to_human
    vocab = list(_MID_ACTIONS) + ["resolve", "escalate_to_human"]
    out_last = outcome[conv_of]
    action = np.where(last & (out_last == 0), len(_MID_ACTIONS),
                      np.where(last & (out_last == 1), len(_MID_ACTIONS) + 1, mid_action))
    action_null = (last & (out_last == 2)) | (~last & (mid_action >= len(_MID_ACTIONS)))
    think_s = 8.0 + rng_t.exponential(25.0, a)
    dur_us = ((think_s + latency / 1000.0) * 1e6).astype(np.int64)
    csum = np.cumsum(dur_us)
    excl = csum - dur_us - np.repeat(csum[conv_start] - dur_us[conv_start], turns)  # exclusive, per conv
    user_ts = started[conv_of] + excl
    asst_ts = user_ts + (latency * 1000).astype(np.int64)

    # ---- messages: interleave user / assistant turns
    m = 2 * a
    is_user = np.zeros(m, dtype=bool)
    is_user[0::2] = True
    role_idx = (~is_user).astype(np.int32)
    ts = np.empty(m, dtype=np.int64)
    ts[0::2] = user_ts
    ts[1::2] = asst_ts

    def asst(values: np.ndarray, dtype: Any) -> np.ndarray:
        out = np.zeros(m, dtype=dtype)
        out[1::2] = values
        return out

    err_idx = np.zeros(m, dtype=np.int32)
    err_idx[1::2] = err_code
    err_mask = np.ones(m, dtype=bool)
    err_mask[1::2] = ~turn_err
    act_idx = np.zeros(m, dtype=np.int32)
    act_idx[1::2] = action
    act_mask = np.ones(m, dtype=bool)
    act_mask[1::2] = action_null
    msg_struct = pa.StructArray.from_arrays(
        [
            _dict_strings(role_idx, ["user", "assistant"]),
            _dict_strings(role_idx, [USER_TEXT, ASSISTANT_TEXT]),
            pa.array(ts, type=pa.timestamp("us", tz="UTC")),
            pa.array(asst(latency, np.float64), mask=is_user),
            pa.array(asst(in_tok, np.int64), mask=is_user),
            pa.array(asst(out_tok, np.int64), mask=is_user),
            pa.array(asst(cost, np.float64), mask=is_user),
            _dict_strings(act_idx, vocab, act_mask),
            _dict_strings(err_idx, list(_ERRORS), err_mask),
            pa.nulls(m, pa.string()),
        ],
        names=["role", "content", "ts", "latency_ms", "input_tokens", "output_tokens", "cost_usd", "action",
               "error", "extra_json"],
    )
    offsets = np.concatenate([[0], np.cumsum(2 * turns)]).astype(np.int32)
    messages = pa.ListArray.from_arrays(pa.array(offsets), msg_struct)

    # ---- conversation table
    versions = [config.baseline_version, config.candidate_version]
    models = [config.baseline_model, config.candidate_model]
    ci = cand.astype(np.int32)
    day0 = config.start.strftime("%Y%m%d")
    tbl = pa.table({
        "idx": pa.array(np.arange(n, dtype=np.int64)),
        "user_id": _views(P["id_table"], P["id_data"], user),
        "started_at": pa.array(started, type=pa.timestamp("us", tz="UTC")),
        "locale": _dict_strings(loc, LOCALES),
        "channel": _dict_strings(chan, CHANNELS),
        "agent_version": _dict_strings(ci, versions),
        "model": _dict_strings(ci, models),
        "messages": messages,
        "outcome": _dict_strings(outcome, OUTCOMES),
        "csat": pa.array(csat, mask=~csat_given),
        "thumb": _dict_strings((~thumb_up).astype(np.int32), ["up", "down"], ~thumb_given),
        "persona": _dict_strings(per, PERSONAS),
        "turns": pa.array(turns),
        "handoff": _dict_strings((~handoff_complete).astype(np.int32), ["complete", "incomplete"], outcome != 1),
        "safety": pa.array(safety),
    })
    df = pl.from_arrow(tbl)
    handoff_part = pl.when(pl.col("handoff").is_not_null()).then(
        pl.concat_str([pl.lit(',"handoff":"'), pl.col("handoff"), pl.lit('"')])).otherwise(pl.lit(""))
    safety_part = pl.when(pl.col("safety")).then(pl.lit(',"safety_incident":1')).otherwise(pl.lit(""))
    df = df.select(
        pl.concat_str([pl.lit(f"c-{day0}-s{config.seed}-"), pl.col("idx").cast(pl.String).str.zfill(8)])
        .alias("conversation_id"),
        "user_id", "started_at", "locale", "channel", "agent_version", "model", "messages", "outcome", "csat",
        "thumb",
        pl.concat_str([pl.lit('{"persona":"'), pl.col("persona"), pl.lit('","turns":'),
                       pl.col("turns").cast(pl.String), handoff_part, safety_part, pl.lit("}")]).alias("extra_json"),
        pl.lit("simulated:canary").alias("source"),
        pl.col("idx").alias("source_row"),
    )
    df = df.cast({k: v for k, v in SCHEMA.items() if k in df.columns}, strict=False)

    truth = {
        "conversations": int(n),
        "conversations_candidate": int(cand.sum()),
        "conversations_baseline": int(n - cand.sum()),
        "users_in_population": int(n_users),
        "users_in_flag": int(P["in_flag"].sum()),
        "misrouted_users": int(misrouted_user.sum()),
        "misrouted_conversations": int((assigned_cand & ~cand).sum()),
        "dropped_candidate_conversations": int(dropped.sum()),
        "safety_incidents_candidate": int((safety & cand).sum()),
        "safety_incidents_baseline": int((safety & ~cand).sum()),
        "assistant_turns": a,
        "effects": effects.describe(),
    }
    return Simulation(frame=df, population=pop_df.drop("activity"), config=config, effects=effects, truth=truth)


def simulate_traffic(
    config: TrafficConfig | None = None,
    effects: TrueEffects | None = None,
    **overrides: Any,
) -> pl.DataFrame:
    """Only the traffic frame (conversation-log contract). ``overrides`` replace config fields,
    e.g. ``simulate_traffic(rate_per_hour=10_000)``."""
    config = replace(config or TrafficConfig(), **overrides) if overrides else (config or TrafficConfig())
    return simulate(config, effects).frame


def days_after(config: TrafficConfig, days: float) -> datetime:
    """``config.start + days`` (the as-of time of a look ``days`` into the soak)."""
    return config.start + timedelta(days=days)
