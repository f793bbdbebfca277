"""The unseen corpus generator (agent_release_tests/unseen_corpus) itself: reproducible, wide,
labelled right, and its scoring rules. The masker's leak goals are not asserted here."""

from __future__ import annotations

import re

import polars as pl
import pytest

from agent_release import pii
from agent_release.contract import SCHEMA
from agent_release_tests.unseen_corpus import FORMAT_TAGS, LOCALES, generate, measure
from agent_release_tests.unseen_corpus import values as V
from agent_release_tests.unseen_corpus.phrases import LANG

SEED = 20260815  # fixed: the corpus the bench and tests measure on
N = 60  # 4 conversations per locale: every kind, every format tag


@pytest.fixture(scope="module")
def corpus():
    return generate(N, SEED)


def _contents(df: pl.DataFrame) -> dict[tuple[str, int], str]:
    return {(cid, i): m["content"] for cid, msgs in zip(df["conversation_id"], df["messages"])
            for i, m in enumerate(msgs)}


def test_reproducible_for_a_seed(corpus):
    again = generate(N, SEED)
    for a, b in zip(corpus, again):
        assert a.equals(b)
    other = generate(N, SEED + 1)
    assert not corpus[1].equals(other[1])


def test_contract_shape(corpus):
    df, _, _ = corpus
    assert list(df.columns) == list(SCHEMA)
    assert df.height == N and df["conversation_id"].n_unique() == N
    assert df["messages"].list.len().min() >= 3
    assert set(df["channel"]) == {"chat", "email", "voice"}


def test_locales_and_format_tags(corpus):
    df, truth, _ = corpus
    assert len(LOCALES) >= 11 and set(LANG) == set(LOCALES)
    assert set(df["locale"]) == set(LOCALES)
    assert {"it-IT", "nl-NL", "pl-PL", "sv-SE"} <= set(truth["locale"])
    missing = set(FORMAT_TAGS) - set(truth["format_tag"])
    assert not missing, missing
    assert set(truth["format_tag"]) <= set(FORMAT_TAGS)
    assert set(truth["entity_type"]) == set(pii.ALL)
    assert set(truth["quote_depth"]) == {0, 1, 2}  # own text, quoted reply, quote of a quote
    # every locale carries every entity it can (IBAN_CODE covers CLABE and US/UK accounts)
    per = truth.group_by("locale").agg(pl.col("entity_type").n_unique())
    assert per["entity_type"].min() >= 8


def test_truth_offsets_point_at_values(corpus):
    df, truth, looks = corpus
    texts = _contents(df)
    for t in truth.iter_rows(named=True):
        assert texts[(t["conversation_id"], t["message_index"])][t["start"]:t["end"]] == t["value"]
        assert t["field"] == "content" and t["value"].strip() == t["value"]
    for r in looks.iter_rows(named=True):
        assert texts[(r["conversation_id"], r["message_index"])][r["start"]:r["end"]] == r["value"]


def test_lookalikes_are_not_truth(corpus):
    _, truth, looks = corpus
    spans = {}
    for t in truth.iter_rows(named=True):
        spans.setdefault((t["conversation_id"], t["message_index"]), []).append((t["start"], t["end"]))
    for r in looks.iter_rows(named=True):
        for s, e in spans.get((r["conversation_id"], r["message_index"]), []):
            assert not (r["start"] < e and s < r["end"]), r
    la = looks.filter(pl.col("lookalike"))
    assert set(la["kind"]) == set(V.LOOK_KINDS)
    assert "1Z999AA10123456784" in set(la["value"])  # the tracking number everybody knows
    per_conv_truth = truth.group_by("conversation_id").agg(pl.col("value").str.to_lowercase().alias("tv"))
    joined = la.join(per_conv_truth, on="conversation_id")
    for v, tv in zip(joined["value"], joined["tv"]):
        assert v.lower() not in tv


def test_rows_cover_every_word_token(corpus):
    """Truth + non-PII rows together are exactly the word tokens of each message (what
    ``measure`` rebuilds raw messages from)."""
    df, truth, looks = corpus
    texts = _contents(df)
    rows = {}
    for fr in (truth, looks):
        for r in fr.iter_rows(named=True):
            rows.setdefault((r["conversation_id"], r["message_index"]), []).append(r)
    for key, text in texts.items():
        want = [(m.start(), m.group()) for m in re.finditer(r"\w+", text)]
        got = sorted((r["start"] + m.start(), m.group()) for r in rows.get(key, [])
                     for m in re.finditer(r"\w+", r["value"]))
        assert got == want, key


def test_checksums_of_values():
    import random

    rng = random.Random(3)
    for cc in V.IBAN_LENGTH:
        assert V.iban_ok(V.iban_valid(rng, cc)) and len(V.iban_valid(rng, cc)) == V.IBAN_LENGTH[cc]
        assert not V.iban_ok(V.iban_bad_checksum(rng, cc))
        bad_len = V.iban_bad_length(rng, cc)
        assert V.iban_ok(bad_len) and len(bad_len) != V.IBAN_LENGTH[cc]
    assert V.iban_ok("GB82WEST12345698765432") and V.luhn_ok("4111111111111111")
    assert V.es_dni.__name__ and re.fullmatch(r"\d{8}-?[A-Z]", V.es_dni(rng))
    assert len(V.clabe(rng)) == 18 and len(V.aba_routing(rng)) == 9
    assert len(V.mx_curp(rng, "Pérez", "Lucía")) == 18 and len(V.it_codice_fiscale(rng, "Rossi", "Marco")) == 16
    for _ in range(20):
        n = V.valid_number(rng, "IT", None)
        assert V.valid_in(V.fmt_national(n), "IT")


def test_phone_validity_tags(corpus):
    _, truth, _ = corpus
    ph = truth.filter(pl.col("entity_type") == pii.PHONE_NUMBER)
    for t in ph.iter_rows(named=True):
        reg = t["locale"].split("-")[1]
        if t["format_tag"] == "phone_valid_cue":
            assert V.valid_in(t["value"], reg), t
        if t["format_tag"] in ("phone_invalid_cue", "phone_invalid_nocue") and t["locale"] != "en-US":
            assert not V.valid_in(t["value"], reg), t


def _perfect_mask(df, truth, looks, overmask_words: int = 0):
    """Every truth span replaced by a placeholder (and ``overmask_words`` ordinary words too)."""
    spans = {}
    for t in truth.iter_rows(named=True):
        spans.setdefault((t["conversation_id"], t["message_index"]), []).append((t["start"], t["end"]))
    extra = looks.filter(~pl.col("lookalike")).head(overmask_words)
    for r in extra.iter_rows(named=True):
        spans.setdefault((r["conversation_id"], r["message_index"]), []).append((r["start"], r["end"]))
    rows = []
    for r in df.iter_rows(named=True):
        msgs = []
        for i, m in enumerate(r["messages"]):
            c = m["content"]
            for s, e in sorted(spans.get((r["conversation_id"], i), []), reverse=True):
                c = c[:s] + "<X>" + c[e:]
            msgs.append({**m, "content": c})
        rows.append({**r, "messages": msgs})
    return pl.DataFrame(rows, schema=df.schema)


def test_measure_rules(corpus):
    df, truth, looks = corpus
    none = measure(df, truth, looks)  # nothing masked: every value leaks, nothing over-masked
    assert none["values"] == truth.height
    assert all(v["leak_rate"] == 1.0 for v in none["by_entity"].values())
    assert none["overmask"]["non_pii_tokens"]["changed"] == 0
    assert not any(g["pass"] for g in none["goals"][:-1]) and none["goals"][-1]["pass"]

    perfect = measure(_perfect_mask(df, truth, looks), truth, looks)
    assert all(v["leaked"] == 0 for v in perfect["by_entity"].values()), perfect["by_entity"]
    assert perfect["overmask"]["non_pii_tokens"]["changed"] == 0
    assert all(g["pass"] for g in perfect["goals"])

    over = measure(_perfect_mask(df, truth, looks, overmask_words=40), truth, looks)
    assert over["overmask"]["words"]["changed"] == 40
    # same with the raw frame instead of the word rows
    again = measure(_perfect_mask(df, truth, looks, overmask_words=40), truth, looks.filter(pl.col("lookalike")), raw=df)
    assert again["overmask"]["words"] == over["overmask"]["words"]


def test_digit_rule_catches_repunctuated_ids(corpus):
    df, truth, looks = corpus
    iban = truth.filter(pl.col("format_tag") == "iban_valid_spaced").row(0, named=True)
    masked = _perfect_mask(df, truth, looks)
    compact = iban["value"].replace(" ", "")
    cid = iban["conversation_id"]
    masked = masked.with_columns(
        pl.when(pl.col("conversation_id") == cid)
        .then(pl.col("messages").list.eval(pl.element().struct.with_fields(
            pl.field("content").str.replace("<X>", compact, literal=True))))
        .otherwise(pl.col("messages")).alias("messages"))
    res = measure(masked, truth, looks)
    assert res["by_tag"]["iban_valid_spaced"]["leaked"] >= 1
