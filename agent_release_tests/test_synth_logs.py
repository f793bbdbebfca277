"""Synthetic conversation-log generator: contract, determinism, ground truth, realism."""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from datetime import date

import pytest

from agent_release import pii as P
from agent_release.contract import normalise
from agent_release.synth import ids
from agent_release.synth import logs as S
from agent_release.synth.lang import BASE, LANG_OF, text_for
from agent_release.synth.locales import LOCALE_SHARES

DEFAULT_INTENTS = {"order_status", "refund", "cancellation", "password_reset", "billing_dispute", "address_change",
                   "complaint_escalation", "product_question"}
PERSONAS = {"standard", "angry", "elderly", "non_native", "terse", "verbose"}


@pytest.fixture(scope="module")
def gen() -> S.Generated:
    return S.generate()  # default scale: 3000 conversations, seed 7


@pytest.fixture(scope="module")
def by_id(gen):
    return {r["conversation_id"]: r for r in gen.records}


def test_default_shape_and_parameters(gen):
    assert len(gen.records) == 3000
    r = gen.records[0]
    assert r["agent_version"] == "support-bot@1" and r["model"] == "acme-llm-2026-08-07"
    small = S.generate(20, seed=3, agent_version="support-bot@2.0.0", model="acme-llm-2027-01-15", days=1,
                       start=date(2026, 12, 1))
    assert {x["agent_version"] for x in small.records} == {"support-bot@2.0.0"}
    assert {x["model"] for x in small.records} == {"acme-llm-2027-01-15"}
    assert all(x["started_at"].startswith("2026-12-01") for x in small.records)
    assert S.generate(0).records == []


def test_every_record_passes_the_contract(gen):
    for rec in gen.records:
        row = normalise(rec)
        extra = json.loads(row["extra_json"])
        assert extra["intent"] == rec["intent"] and extra["persona"] == rec["persona"]


def test_same_seed_is_byte_identical_and_other_seed_differs(tmp_path):
    a, b = S.generate(400, seed=11), S.generate(400, seed=11)
    assert json.dumps(a.records, ensure_ascii=False) == json.dumps(b.records, ensure_ascii=False)
    assert a.pii == b.pii and a.decoys == b.decoys
    pa, pb = S.write_jsonl(a, tmp_path / "a"), S.write_jsonl(b, tmp_path / "b")
    assert [p.name for p in pa] == [p.name for p in pb]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(pa, pb))
    c = S.generate(400, seed=12)
    assert json.dumps(c.records) != json.dumps(a.records)
    assert [r["value"] for r in c.pii] != [r["value"] for r in a.pii]


def test_output_does_not_depend_on_hash_randomisation():
    import hashlib
    import os
    import subprocess
    import sys

    code = ("import hashlib, json; from agent_release.synth import generate; g = generate(300, seed=5); "
            "print(hashlib.sha256(json.dumps([g.records, g.pii], ensure_ascii=False).encode()).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": "12345"},
                         capture_output=True, text=True, check=True).stdout.strip()
    g = S.generate(300, seed=5)
    assert out == hashlib.sha256(json.dumps([g.records, g.pii], ensure_ascii=False).encode()).hexdigest()


def _check_rows(rows, by_id):
    for row in rows:
        rec = by_id[row["conversation_id"]]
        content = rec["messages"][row["message_index"]]["content"]
        assert content[row["start"]:row["end"]] == row["value"], row
        assert row["value"] and row["value"] == row["value"].strip()
        assert row["locale"] == rec["locale"]


def test_ground_truth_offsets_point_at_the_values(gen, by_id):
    assert gen.pii and gen.decoys
    _check_rows(gen.pii, by_id)
    _check_rows(gen.decoys, by_id)
    assert {r["entity_type"] for r in gen.pii} <= set(P.ALL)
    assert all(r["subtype"] for r in gen.pii)


def test_lookalikes_present_and_never_overlap_pii(gen):
    kinds = Counter(r["entity_type"] for r in gen.decoys)
    for k in ("ORDER_NUMBER", "TRACKING_NUMBER", "SKU", "AMOUNT", "DATE", "TIME", "INVOICE_NUMBER",
              "TICKET_NUMBER", "CARD_LAST4", "PRODUCT"):
        assert kinds[k] > 20, k
    values = [r["value"] for r in gen.decoys if r["entity_type"] == "ORDER_NUMBER"]
    assert any(re.fullmatch(r"\d\d-\d{4}", v) for v in values)  # "88-1123"
    assert any(re.fullmatch(r"#[A-Z]-\d{5}", v) for v in values)  # "#A-55821"
    spans: dict[tuple, list[tuple[int, int]]] = {}
    for r in gen.pii:
        spans.setdefault((r["conversation_id"], r["message_index"]), []).append((r["start"], r["end"]))
    for d in gen.decoys:
        for s, e in spans.get((d["conversation_id"], d["message_index"]), []):
            assert d["end"] <= s or d["start"] >= e, d
    # look-alikes that resemble identifiers sit in the same texts as real PII
    assert any(re.fullmatch(r"\d{3}\.\d{3}\.\d{3}", d["value"]) for d in gen.decoys)  # NF-e vs CPF
    assert any(re.fullmatch(r"\d{2}/\d{2}/2026", d["value"]) for d in gen.decoys)  # order date vs DOB


def test_coverage_at_default_scale(gen):
    recs = gen.records
    assert DEFAULT_INTENTS <= {r["intent"] for r in recs}
    assert len({r["intent"] for r in recs}) >= 10
    assert {r["persona"] for r in recs} == PERSONAS
    assert {r["channel"] for r in recs} == {"chat", "email", "voice"}
    assert {r["outcome"] for r in recs} == {"resolved", "escalated", "abandoned"}
    assert {r["entity_type"] for r in gen.pii} == set(P.ALL)
    subtypes = {r["subtype"] for r in gen.pii}
    assert {"US_SSN", "UK_NINO", "ES_DNI", "ES_NIE", "FR_NIR", "DE_STEUER_ID", "BR_CPF", "MX_CURP"} <= subtypes
    assert {"ES_IBAN", "DE_IBAN", "FR_IBAN", "GB_IBAN", "BR_IBAN"} <= subtypes
    assert {"VISA", "MASTERCARD", "AMEX", "IPV4", "IPV6", "FULL_NAME", "FIRST_NAME"} <= subtypes
    assert {f"{c}_PHONE" for c in ("US", "UK", "ES", "MX", "FR", "DE", "BR")} <= subtypes
    roles = Counter(m["role"] for r in recs for m in r["messages"])
    assert roles["tool"] > 100 and roles["user"] > 3000 and roles["assistant"] > 3000
    assert all(r["messages"][0]["role"] == "user" for r in recs)


def test_locale_shares(gen):
    n = len(gen.records)
    counts = Counter(r["locale"] for r in gen.records)
    assert set(counts) == set(LOCALE_SHARES)
    for loc, share in LOCALE_SHARES.items():
        assert abs(counts[loc] / n - share) < 0.035, (loc, counts[loc] / n)


def test_pii_rate_and_multiplicity(gen):
    with_pii = Counter(r["conversation_id"] for r in gen.pii)
    share = len(with_pii) / len(gen.records)
    assert 0.52 < share < 0.68
    assert sum(1 for c in with_pii.values() if c >= 3) > 100  # some conversations carry several values
    assert S.generate(100, pii_rate=0.0).pii == []


def test_identifiers_have_valid_check_digits(gen):
    checks = {
        "ES_DNI": ids.es_dni_ok, "ES_NIE": ids.es_dni_ok, "BR_CPF": ids.br_cpf_ok, "FR_NIR": ids.fr_nir_ok,
        "DE_STEUER_ID": ids.de_steuer_id_ok, "UK_NINO": ids.uk_nino_ok, "MX_CURP": ids.mx_curp_ok,
        "IT_FISCAL_CODE": ids.it_fiscal_code_ok, "NL_BSN": ids.nl_bsn_ok, "PL_PESEL": ids.pl_pesel_ok,
        "SE_PERSONNUMMER": ids.se_personnummer_ok,
        "US_SSN": lambda v: re.fullmatch(r"(?!000|666|9)\d{3}[- ]?(?!00)\d{2}[- ]?(?!0000)\d{4}", v) is not None,
    }
    for r in gen.pii:
        t, v = r["entity_type"], r["value"]
        if t == P.CREDIT_CARD:
            assert ids.luhn_ok(v), v
        elif t == P.IBAN_CODE:  # Polish customers also write the domestic NRB (no "PL")
            assert (ids.pl_nrb_ok(v) if r["subtype"] == "PL_IBAN" and v[0].isdigit() else ids.iban_ok(v)), v
            assert ids.iban_national_ok(v), v
        elif t == P.NATIONAL_ID:
            assert checks[r["subtype"]](v), r
        elif t == P.EMAIL_ADDRESS:
            assert re.fullmatch(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", v), v
        elif t == P.IP_ADDRESS:
            import ipaddress

            ipaddress.ip_address(v)
    assert ids.es_dni_ok("12345678Z") and ids.iban_ok("GB82 WEST 1234 5698 7654 32")
    assert ids.br_cpf_ok("529.982.247-25") and ids.de_steuer_id_ok("86095742719")


def test_phone_numbers_are_valid_in_their_country(gen):
    phonenumbers = pytest.importorskip("phonenumbers")
    region = {"en-US": "US", "en-GB": "GB", "es-ES": "ES", "es-MX": "MX", "fr-FR": "FR", "de-DE": "DE", "pt-BR": "BR",
              "it-IT": "IT", "nl-NL": "NL", "pl-PL": "PL", "sv-SE": "SE"}
    rows = [r for r in gen.pii if r["entity_type"] == P.PHONE_NUMBER]
    ok = 0
    for r in rows:
        try:
            ok += phonenumbers.is_valid_number(phonenumbers.parse(r["value"], region[r["locale"]]))
        except phonenumbers.NumberParseException:
            pass
    assert ok / len(rows) > 0.95


def test_names_match_the_locale(gen):
    from agent_release.synth.locales import name_pools

    for r in gen.pii:
        if r["subtype"] == "FIRST_NAME":
            pools = name_pools(r["locale"])
            assert r["value"] in pools["M"] or r["value"] in pools["F"], r


def test_users_recur_with_a_heavy_tail(gen):
    per_user = Counter(r["user_id"] for r in gen.records)
    assert all(re.fullmatch(r"cust-\d{5,6}", u) for u in per_user)
    dist = Counter(per_user.values())
    assert dist[1] / len(per_user) > 0.5  # most customers write once
    assert max(per_user.values()) >= 6  # a few write a lot
    locales = {}
    for r in gen.records:  # a customer keeps one locale
        assert locales.setdefault(r["user_id"], r["locale"]) == r["locale"]


def test_ids_times_and_order(gen):
    recs = gen.records
    cids = [r["conversation_id"] for r in recs]
    assert len(set(cids)) == len(cids)
    assert all(re.fullmatch(r"c-\d{4}-\d{2}-\d{2}-\d{6}", c) for c in cids)
    assert all(r["conversation_id"][2:12] == r["started_at"][:10] for r in recs)
    assert [r["started_at"] for r in recs] == sorted(r["started_at"] for r in recs)
    assert recs[0]["started_at"] >= "2026-11-02T00:00:00Z" and recs[-1]["started_at"] < "2026-11-09T00:00:00Z"
    for r in recs:
        ts = [m["ts"] for m in r["messages"]]
        assert ts[0] == r["started_at"] and ts == sorted(ts)


def test_diurnal_and_weekly_pattern(gen):
    hours = Counter(int(r["started_at"][11:13]) for r in gen.records)
    afternoon = sum(hours[h] for h in (14, 15, 16))
    night = sum(hours[h] for h in (2, 3, 4))
    assert afternoon > 2 * night
    days = Counter(date.fromisoformat(r["started_at"][:10]).weekday() for r in gen.records)
    weekday = statistics.mean(days[d] for d in range(5))
    weekend = statistics.mean(days[d] for d in (5, 6))
    assert weekend < 0.85 * weekday


def test_assistant_turn_metrics(gen):
    turns = [m for r in gen.records for m in r["messages"] if m["role"] == "assistant"]
    price_in, price_out = S.MODEL_PRICES["acme-llm-2026-08-07"]
    for m in turns:
        assert m["latency_ms"] > 0 and isinstance(m["input_tokens"], int) and isinstance(m["output_tokens"], int)
        assert m["cost_usd"] == pytest.approx(m["input_tokens"] * price_in + m["output_tokens"] * price_out, abs=1e-6)
        assert m["action"]
    lat = sorted(m["latency_ms"] for m in turns)
    p50, p95 = lat[len(lat) // 2], lat[int(len(lat) * 0.95)]
    assert 500 < p50 < 1500 and p95 > 2 * p50  # heavy tail
    errors = Counter(m["error"] for m in turns)
    assert errors["timeout"] > 0 and sum(v for k, v in errors.items() if k) / len(turns) < 0.03
    actions = {m["action"] for m in turns}
    assert {"lookup_order", "refund", "cancel", "reset_password", "escalate", "update_address", "answer"} <= actions


def test_feedback_correlates_with_outcome_and_persona(gen):
    recs = gen.records

    def mean_csat(pred):
        xs = [r["csat"] for r in recs if r["csat"] is not None and pred(r)]
        return statistics.mean(xs)

    assert sum(r["csat"] is None for r in recs) / len(recs) > 0.5
    assert mean_csat(lambda r: r["outcome"] == "resolved") > mean_csat(lambda r: r["outcome"] == "escalated") \
        > mean_csat(lambda r: r["outcome"] == "abandoned")
    assert mean_csat(lambda r: r["persona"] == "angry") < mean_csat(lambda r: r["persona"] == "standard")
    ups = Counter(r["thumb"] for r in recs if r["outcome"] == "resolved")
    downs = Counter(r["thumb"] for r in recs if r["outcome"] != "resolved")
    assert ups["up"] > ups["down"] and downs["down"] > downs["up"]
    esc = Counter(r["outcome"] for r in recs if r["intent"] == "complaint_escalation")
    assert esc["escalated"] > esc["resolved"]


def test_personas_change_the_wording(gen):
    def first_len(p):
        return statistics.mean(len(r["messages"][0]["content"]) for r in gen.records
                               if r["persona"] == p and r["channel"] != "email")

    assert first_len("terse") < 0.6 * first_len("standard") < first_len("verbose")
    angry = [r["messages"][0]["content"] for r in gen.records if r["persona"] == "angry"]
    assert sum("!" in c or c.isupper() for c in angry) / len(angry) > 0.6
    turns = {p: statistics.mean(len(r["messages"]) for r in gen.records if r["persona"] == p) for p in PERSONAS}
    assert turns["terse"] < turns["verbose"]


def template_strings(x):
    """Every string of a template tree (dicts, lists, tuples)."""
    if isinstance(x, str):
        yield x
    elif isinstance(x, dict):
        for v in x.values():
            yield from template_strings(v)
    elif isinstance(x, (list, tuple)):
        for v in x:
            yield from template_strings(v)


def test_templates_use_known_placeholders_and_pair_questions():
    known = {"order", "tracking", "carrier", "sku", "model", "product", "amount", "odate", "eta", "time", "invoice",
             "ticket", "last4", "days", "natid_label", "name", "first", "email", "phone", "card", "iban", "natid",
             "address", "dob", "ip"}

    for loc in LANG_OF:
        text = text_for(loc)
        for s in template_strings(text):
            assert set(re.findall(r"\{(\w+)\}", s)) <= known, (loc, s)
        assert set(text["intents"]) == set(S.INTENTS)
        for intent, t in text["intents"].items():
            assert len(t["more"]) == len(t["reply"]), (loc, intent)
        for sub in S.NATID_SUBTYPES[loc]:
            assert text["natid_labels"][sub]
    assert set(BASE) == set(LANG_OF.values())


def test_write_jsonl_one_file_per_day(gen, tmp_path):
    paths = S.write_jsonl(gen, tmp_path)
    assert [p.name for p in paths] == [f"2026-11-{d:02d}.jsonl" for d in range(2, 9)]
    back = []
    for p in paths:
        lines = [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines()]
        assert all(r["started_at"].startswith(p.stem) for r in lines)
        assert [r["started_at"] for r in lines] == sorted(r["started_at"] for r in lines)
        back.extend(lines)
    assert back == gen.records
    assert not list(tmp_path.glob(".*.tmp"))


def test_pii_frame(gen):
    df = S.pii_frame(gen)
    assert df.height == len(gen.pii)
    assert list(df.columns) == list(S.PII_SCHEMA)
    assert set(df["entity_type"].unique()) == set(P.ALL)
    assert S.pii_frame(S.Generated(records=[], pii=[])).height == 0
    assert S.decoy_frame(gen).height == len(gen.decoys)


@pytest.mark.slow
def test_100k_conversations():
    import time

    t = time.perf_counter()
    big = S.generate(100_000, seed=1)
    elapsed = time.perf_counter() - t
    assert len(big.records) == 100_000
    assert len({r["conversation_id"] for r in big.records}) == 100_000
    assert elapsed < 60, elapsed
    for rec in big.records[::97]:
        normalise(rec)
