"""Masking: detection per locale, precision on look-alikes, consistent/format-valid fakes,
keyed user-id hashes, the residual scan, offline operation and the table-level contract.

Model-loading tests share one module-scoped :class:`Masker` (spaCy + Presidio load once).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import socket
import subprocess
import sys
from datetime import UTC, datetime

import polars as pl
import pytest

from agent_release import pii
from agent_release.contract import SCHEMA, normalise, to_frame
from agent_release.masking import (
    MASKED_SCHEMA,
    RESIDUAL_SCHEMA,
    Masker,
    MaskingError,
    decode_index,
    hash_user_id,
    residual_scan,
)
from agent_release.masking import checksums as cs
from agent_release.masking.surrogates import SurrogateFactory, parse_date

KEY = b"test-masking-key-0123456789"
OTHER_KEY = b"another-masking-key-987654"


@pytest.fixture(scope="module")
def masker() -> Masker:
    return Masker(KEY)


# ------------------------------------------------------------------------------------------------
# detection, per locale
# ------------------------------------------------------------------------------------------------

P, E, PH, CC, IB, NID, ADDR, DOB, IP = (
    pii.PERSON, pii.EMAIL_ADDRESS, pii.PHONE_NUMBER, pii.CREDIT_CARD, pii.IBAN_CODE,
    pii.NATIONAL_ID, pii.STREET_ADDRESS, pii.DATE_OF_BIRTH, pii.IP_ADDRESS,
)

CASES = [
    (
        "en-US",
        "Hi, I'm John Smith. My SSN is 123-45-6789, card 4111 1111 1111 1111, call me at "
        "(415) 555-0123 or email john.smith@gmail.com. I was born on March 12, 1985 and live at "
        "742 Evergreen Terrace, Springfield, IL 62704. Order 88-1123 placed on 03/01/2026 at "
        "10:30 am for $1,234.56, SKU AB-123-XL.",
        [("John Smith", P), ("123-45-6789", NID), ("4111 1111 1111 1111", CC), ("(415) 555-0123", PH),
         ("john.smith@gmail.com", E), ("March 12, 1985", DOB),
         ("742 Evergreen Terrace, Springfield, IL 62704", ADDR)],
        ["88-1123", "03/01/2026", "10:30 am", "$1,234.56", "AB-123-XL"],
    ),
    (
        "en-GB",
        "Hello, my name is Oliver Bennett. Flat 3, 221B Baker Street, London NW1 6XE. Mobile "
        "07700 900123, NI number AB 12 34 56 C, IBAN GB82 WEST 1234 5698 7654 32. DOB: 12/03/1985. "
        "Order #A-55821 arrived on 25/10/2026.",
        [("Oliver Bennett", P), ("221B Baker Street, London NW1 6XE", ADDR), ("07700 900123", PH),
         ("AB 12 34 56 C", NID), ("GB82 WEST 1234 5698 7654 32", IB), ("12/03/1985", DOB)],
        ["#A-55821", "25/10/2026"],
    ),
    (
        "es-ES",
        "Hola, soy Lucía Pérez García, mi pedido 88-1123 no llegó. Vivo en Calle Mayor 12, 3º B, "
        "28013 Madrid. Mi DNI es 12345678Z y nací el 12 de marzo de 1985. Mi móvil es 612 34 56 78 "
        "y mi IBAN ES91 2100 0418 4502 0005 1332. El pedido es del 2 de noviembre, 49,99 €.",
        [("Lucía Pérez García", P), ("Calle Mayor 12, 3º B, 28013 Madrid", ADDR), ("12345678Z", NID),
         ("12 de marzo de 1985", DOB), ("612 34 56 78", PH), ("ES91 2100 0418 4502 0005 1332", IB)],
        ["88-1123", "2 de noviembre", "49,99 €"],
    ),
    (
        "es-MX",
        "Buenas, me llamo José Hernández López. Mi celular es +52 1 55 1234 5678, CURP "
        "PEGL850312MDFRRC00, vivo en Av. Insurgentes Sur 1234 int. 5, Col. Roma Norte, 06700 "
        "Ciudad de México, CDMX. Mi esposa tiene NIE X1234567L. Pedido #123456 por $1,250.00 MXN.",
        [("José Hernández López", P), ("+52 1 55 1234 5678", PH), ("PEGL850312MDFRRC00", NID),
         ("Av. Insurgentes Sur 1234 int. 5, Col. Roma Norte, 06700 Ciudad de México", ADDR),
         ("X1234567L", NID)],
        ["#123456", "$1,250.00 MXN"],
    ),
    (
        "fr-FR",
        "Bonjour, je m'appelle Camille Dubois. J'habite au 12 rue de la Paix, 75002 Paris. "
        "Téléphone : 06 12 34 56 78. Numéro de sécurité sociale 1 85 05 78 006 084 91. Je suis née "
        "le 1er mars 1985. Facture FA2026-12345 du 30/10/2026, 45,90 €.",
        [("Camille Dubois", P), ("12 rue de la Paix, 75002 Paris", ADDR), ("06 12 34 56 78", PH),
         ("1 85 05 78 006 084 91", NID), ("1er mars 1985", DOB)],
        ["FA2026-12345", "30/10/2026", "45,90 €"],
    ),
    (
        "de-DE",
        "Guten Tag, mein Name ist Jürgen Müller. Meine Adresse ist Hauptstraße 5, 10115 Berlin. "
        "Telefon: +49 30 12345678, Steuer-ID 86 095 742 719, geboren am 12.03.1985, IBAN "
        "DE89 3704 0044 0532 0130 00. Rechnung RE-2026-12345 vom 02.11.2026 um 14:30.",
        [("Jürgen Müller", P), ("Hauptstraße 5, 10115 Berlin", ADDR), ("+49 30 12345678", PH),
         ("86 095 742 719", NID), ("12.03.1985", DOB), ("DE89 3704 0044 0532 0130 00", IB)],
        ["RE-2026-12345", "02.11.2026", "14:30"],
    ),
    (
        "pt-BR",
        "Oi, meu nome é João Silva. CPF 529.982.247-25, moro na Rua Augusta, 1500, apto 12 - "
        "Consolação, São Paulo - SP, 01305-100. Meu celular: (11) 91234-5678. Data de nascimento: "
        "12/03/1985. Meu IP é 189.45.67.89. Cartão 5555 5555 5555 4444. Pedido #654321 de 02/11/2026.",
        [("João Silva", P), ("529.982.247-25", NID), ("Rua Augusta, 1500, apto 12", ADDR),
         ("(11) 91234-5678", PH), ("12/03/1985", DOB), ("189.45.67.89", IP), ("5555 5555 5555 4444", CC)],
        ["#654321", "02/11/2026"],
    ),
    (
        "en-US",
        "Someone logged in from 2804:14c:12::ab:cd and 31.176.172.210; my Amex is 3782 822463 10005 "
        "and my other email is Maria.Lopez+shop@yahoo.com.mx.",
        [("2804:14c:12::ab:cd", IP), ("31.176.172.210", IP), ("3782 822463 10005", CC),
         ("Maria.Lopez+shop@yahoo.com.mx", E)],
        [],
    ),
]


@pytest.mark.parametrize(("locale", "text", "pii_values", "keep"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_pii_is_found_and_replaced_lookalikes_kept(masker, locale, text, pii_values, keep):
    findings = masker.find(text, locale)
    masked, spans = masker.mask_text(text, locale)
    for value, etype in pii_values:
        start = text.index(value)
        end = start + len(value)
        hits = [f for f in findings if f.start < end and start < f.end]
        assert hits, f"{etype} not found in {locale} case"
        assert any(f.entity_type == etype for f in hits), f"{etype} found as {[f.entity_type for f in hits]}"
        assert value not in masked, f"{etype} survived masking"
    for value in keep:
        assert value in masked, "a look-alike (order number, date, amount...) was masked"
    assert len(spans) == len(findings)


def test_names_in_other_languages_without_ner(masker):
    for locale, text, name in [
        ("es-ES", "me llamo lucía pérez y quiero cancelar", "lucía pérez"),
        ("es-MX", "¡Gracias, Guadalupe! Tu pedido ya salió.", "Guadalupe"),
        ("fr-FR", "Cordialement,\nAmélie Lefèvre", "Amélie Lefèvre"),
        ("de-DE", "Viele Grüße\nHeinz-Otto Schäfer", "Heinz-Otto Schäfer"),
        ("pt-BR", "O titular da conta é Maria Eduarda Costa.", "Maria Eduarda Costa"),
        ("es-ES", "Sr. Pérez, su pedido está en camino.", "Pérez"),
    ]:
        masked, spans = masker.mask_text(text, locale)
        assert name not in masked
        assert [s.entity_type for s in spans] == [pii.PERSON]


def test_lookalikes_are_not_masked(masker):
    texts = [
        ("en-US", "Your order 88-1123 (#A-55821, ORD-2026-123456) shipped on 2026-11-02 at 10:30 with "
                  "UPS, tracking 1Z999AA10123456784. Total $1,234.56, SKU B0ABC12345, invoice "
                  "INV-2026-123456, ticket CASE-12345678, card ending in 4242."),
        ("en-US", "USPS tracking number 9400 1118 9922 3344 5566 77, order 572-1333905-7962917."),
        ("es-MX", "El seguimiento 1234567890123456789012 de Estafeta, pedido 1234-56 del 02/11/2026."),
        ("de-DE", "Sendungsnummer 00340434161234567890, Bestellung 7723-31 über 263,77 € am 30. Oktober."),
        ("pt-BR", "Sua nota 123.456.789 foi emitida, protocolo 20261234567890, R$ 1.234,56."),
        ("fr-FR", "Commande M1-915126 du 31/10/2026 à 14h30, colis 6A12345678901, 138,41 €."),
    ]
    for locale, text in texts:
        assert masker.find(text, locale) == [], f"false positive in {locale}"


# ------------------------------------------------------------------------------------------------
# fakes: consistency and format validity
# ------------------------------------------------------------------------------------------------

def test_same_value_same_fake_across_calls_and_instances(masker):
    text = "Hola, soy Lucía Pérez, mi correo es lucia.perez@gmail.com"
    first, _ = masker.mask_text(text, "es-ES")
    again, _ = masker.mask_text(text, "es-ES")
    assert first == again
    # another masker with the same key, no shared state (surrogates only: no model load)
    other = SurrogateFactory(KEY)
    ours = masker.surrogates
    for etype, value, loc, sub in [
        (P, "Lucía Pérez", "es-ES", None), (E, "lucia.perez@gmail.com", "es-ES", None),
        (PH, "+34 612 34 56 78", "es-ES", None), (CC, "4111 1111 1111 1111", "es-ES", None),
        (IB, "ES91 2100 0418 4502 0005 1332", "es-ES", None), (NID, "12345678Z", "es-ES", "ES_DNI"),
        (ADDR, "Calle Mayor 12, 28013 Madrid", "es-ES", None), (DOB, "12/03/1985", "es-ES", None),
        (IP, "31.176.172.210", "es-ES", None),
    ]:
        assert ours.fake(etype, value, loc, sub) == other.fake(etype, value, loc, sub)
        assert SurrogateFactory(OTHER_KEY).fake(etype, value, loc, sub) != ours.fake(etype, value, loc, sub)


def test_consistency_holds_across_processes():
    code = (
        "from agent_release.masking.surrogates import SurrogateFactory as S;"
        f"f=S({KEY!r});print(f.fake('PERSON','Lucía Pérez','es-ES'), f.fake('PHONE_NUMBER','612 34 56 78','es-ES'))"
    )
    outs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2")
    }
    assert len(outs) == 1
    f = SurrogateFactory(KEY)
    assert outs.pop().split("\n")[0] == f"{f.fake(P, 'Lucía Pérez', 'es-ES')} {f.fake(PH, '612 34 56 78', 'es-ES')}"


def test_names_are_faked_word_by_word_and_locale_aware():
    f = SurrogateFactory(KEY)
    full = f.fake(P, "Lucía Pérez", "es-ES")
    first = f.fake(P, "Lucía", "es-ES")
    assert full.split()[0] == first  # "Lucía" alone and in "Lucía Pérez" → same fake first name
    assert f.fake(P, "Sra. Pérez", "es-ES") == "Sra. " + full.split(" ", 1)[1]
    assert "Lucía" not in full and "Pérez" not in full
    from agent_release.masking.gazetteer import gazetteer

    g = gazetteer()
    assert g.is_first(f.fake(P, "Jean", "fr-FR").split()[0])  # a French first name from Faker fr_FR
    assert f.fake(P, "lucía pérez", "es-ES") == full.lower()  # casing follows the original


def test_fakes_are_format_valid():
    f = SurrogateFactory(KEY)
    for i in range(40):
        card = f.fake(CC, f"4111 1111 1111 {1000 + i}", "en-US")
        assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", card) and card.startswith("4")
        assert cs.luhn_ok(card.replace(" ", "")) and cs.card_brand_ok(card.replace(" ", ""))
        amex = f.fake(CC, f"3782 822463 1{i:04d}", "en-US")
        assert cs.luhn_ok(amex.replace(" ", "")) and amex[:2] in ("34", "37") and len(amex) == 17
        iban = f.fake(IB, f"ES91 2100 0418 4502 0005 {1000 + i}", "es-ES")
        assert iban.startswith("ES") and cs.iban_ok(iban) and len(iban.replace(" ", "")) == 24
        assert cs.iban_ok(f.fake(IB, f"GB82WEST1234569876{1000 + i}", "en-GB"))
        assert cs.es_dni_ok(f.fake(NID, f"{10000000 + i}Z", "es-ES", "ES_DNI"))
        assert cs.es_nie_ok(f.fake(NID, f"X{1000000 + i}L", "es-ES", "ES_NIE"))
        assert cs.br_cpf_ok(f.fake(NID, f"529.982.{100 + i}-25", "pt-BR", "BR_CPF"))
        assert cs.fr_nir_ok(f.fake(NID, f"1 85 05 78 006 {100 + i} 91", "fr-FR", "FR_NIR"))
        assert cs.de_steuer_id_ok(f.fake(NID, f"86 095 742 {100 + i}", "de-DE", "DE_STEUER_ID"))
        assert cs.uk_nino_ok(f.fake(NID, f"AB 12 34 {10 + i} C", "en-GB", "UK_NINO"))
        assert cs.us_ssn_ok(f.fake(NID, f"123-45-{1000 + i}", "en-US", "US_SSN"))
        assert cs.mx_curp_ok(f.fake(NID, f"PEGL850312MDFRRC{i:02d}", "es-MX", "MX_CURP"))
        email = f.fake(E, f"someone{i}@gmail.com", "en-US")
        assert re.fullmatch(r"[a-z0-9._+-]+@example\.(com|net|org)", email)
        v4 = ipaddress.ip_address(f.fake(IP, f"31.176.172.{i}", "en-US"))
        assert any(v4 in ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))
        v6 = ipaddress.ip_address(f.fake(IP, f"2804:14c:12::ab:{i:x}", "en-US"))
        assert v6 in ipaddress.ip_network("2001:db8::/32")
        assert re.fullmatch(r"\(\d{3}\) 555-01\d\d", f.fake(PH, f"(415) 321-{1000 + i}", "en-US"))
        assert re.fullmatch(r"07700 900\d{3}", f.fake(PH, f"07911 12{1000 + i}", "en-GB"))
        assert re.fullmatch(r"\+33 6 39 98 \d\d \d\d", f.fake(PH, f"+33 6 12 34 {10 + i} 78", "fr-FR"))
        dob = f.fake(DOB, f"{1 + i % 28:02d}/03/1985", "es-ES")
        assert re.fullmatch(r"\d{2}/\d{2}/19\d\d", dob) and parse_date(dob, "es-ES") is not None


def test_fakes_keep_the_layout_of_the_original():
    f = SurrogateFactory(KEY)
    assert re.fullmatch(r"\d{4}-\d{4}-\d{4}-\d{4}", f.fake(CC, "5555-5555-5555-4444", "en-US"))
    assert re.fullmatch(r"\d{3}\.\d{3}\.\d{3}-\d{2}", f.fake(NID, "529.982.247-25", "pt-BR", "BR_CPF"))
    assert re.fullmatch(r"\d{2} de [a-zç]+ de 19\d\d", f.fake(DOB, "12 de marzo de 1985", "es-ES"))
    assert re.fullmatch(r"\d{1,2}\. [A-ZÄ][a-zä]+ 19\d\d", f.fake(DOB, "12. März 1985", "de-DE"))
    assert re.fullmatch(r"\+34 \d{3} \d{2} \d{2} \d{2}", f.fake(PH, "+34 612 34 56 78", "es-ES"))



@pytest.mark.parametrize("locale, variants", [
    ("es-ES", ["+34 612 34 56 78", "612345678", "612 34 56 78", "0034 612 345 678"]),
    ("fr-FR", ["+33 6 12 34 56 78", "06 12 34 56 78", "0612345678"]),
    ("en-US", ["(415) 555-0123", "+1 415-555-0123", "415.555.0123"]),
])
def test_one_phone_number_written_differently_gets_one_fake(locale, variants):
    """The surrogate is seeded from the number (E.164 / national significant number), not from the
    raw string: the same customer's number written with or without country code or spacing maps
    to the same fake national number, so masked conversations still join on it."""
    import phonenumbers

    f = SurrogateFactory(KEY)
    region = {"es-ES": "ES", "fr-FR": "FR", "en-US": "US"}[locale]
    nsns = set()
    for v in variants:
        fake = f.fake(PH, v, locale)
        assert re.sub(r"\D", "", fake) != re.sub(r"\D", "", v)
        nsns.add(phonenumbers.national_significant_number(phonenumbers.parse(fake, region)))
    assert len(nsns) == 1, (locale, nsns)


# ------------------------------------------------------------------------------------------------
# user ids
# ------------------------------------------------------------------------------------------------

def test_hash_user_id_is_keyed_and_stable():
    h = hash_user_id("cust-88121", KEY)
    assert re.fullmatch(r"u_[0-9a-f]{64}", h)
    assert h == hash_user_id("cust-88121", KEY)
    assert h != hash_user_id("cust-88121", OTHER_KEY)
    assert h != hash_user_id("cust-88122", KEY)
    assert "88121" not in h
    with pytest.raises(ValueError):
        hash_user_id("cust-1", b"")


# ------------------------------------------------------------------------------------------------
# frames, residual scan
# ------------------------------------------------------------------------------------------------

def _frame() -> pl.DataFrame:
    ts = datetime(2026, 11, 2, 14, 3, tzinfo=UTC).isoformat().replace("+00:00", "Z")
    recs = [
        {"conversation_id": "c-1", "user_id": "cust-1", "started_at": ts, "locale": "es-MX",
         "agent_version": "bot@1", "channel": "email", "crm_email": "lucia.perez@gmail.com",
         "messages": [
             {"role": "user", "content": "Hola, soy Lucía Pérez. Mi teléfono es 55 1234 5678.", "ts": ts},
             {"role": "assistant", "content": "Gracias, Lucía. ¿Tu pedido 88-1123?", "ts": ts,
              "latency_ms": 812.0, "error": None},
             {"role": "tool", "content": '{"order_id": "88-1123", "status": "delayed"}', "name": "lookup_order",
              "callback": "+52 55 1234 5678"},
         ]},
        {"conversation_id": "c-2", "user_id": "cust-2", "started_at": ts, "locale": "en-GB",
         "agent_version": "bot@1",
         "messages": [{"role": "user", "content": "IBAN GB82 WEST 1234 5698 7654 32, order #A-55821", "ts": ts}]},
        {"conversation_id": "c-3", "user_id": "cust-1", "started_at": ts, "locale": "es-MX",
         "agent_version": "bot@1",
         "messages": [{"role": "user", "content": "Soy Lucía Pérez otra vez, escríbanme a lucia.perez@gmail.com"}]},
    ]
    rows = []
    for i, r in enumerate(recs):
        row = normalise(r)
        row["source"], row["source_row"] = "test", i
        rows.append(row)
    return to_frame(rows)


def test_mask_frame_keeps_shape_and_records_spans(masker, caplog):
    df = _frame()
    with caplog.at_level(logging.DEBUG):
        masked, stats = masker.mask_frame(df)
    assert masked.height == df.height
    assert masked.schema == pl.Schema(MASKED_SCHEMA)
    assert list(masked.columns) == list(SCHEMA) + ["masked_spans"]
    assert stats.conversations == 3 and stats.messages == 5 and stats.entities[pii.PERSON] >= 3
    assert masked["conversation_id"].to_list() == df["conversation_id"].to_list()
    # user ids: keyed hashes, consistent per user
    uids = masked["user_id"].to_list()
    assert uids[0] == uids[2] == hash_user_id("cust-1", KEY) and uids[1] != uids[0]
    blob = json.dumps(masked.drop("masked_spans").to_dicts(), default=str, ensure_ascii=False)
    for raw in ("Lucía", "Pérez", "lucia.perez@gmail.com", "55 1234 5678", "GB82 WEST", "cust-1"):
        assert raw not in blob
        assert raw not in caplog.text  # nothing raw in log lines either
    for keep in ("88-1123", "#A-55821"):
        assert keep in blob
    # the same person gets the same fake everywhere (messages, conversations, extras)
    m0 = masked.row(0, named=True)
    m2 = masked.row(2, named=True)
    fake_name = m0["messages"][0]["content"].split("soy ")[1].split(".")[0]
    assert m2["messages"][0]["content"].startswith(f"Soy {fake_name} otra vez")
    fake_email = json.loads(m0["extra_json"])["crm_email"]
    assert fake_email.endswith(("@example.com", "@example.net", "@example.org"))
    assert m2["messages"][0]["content"].endswith(fake_email)
    # spans point at the surrogates, in masked coordinates, per field
    for row in masked.iter_rows(named=True):
        for sp in row["masked_spans"]:
            field, i = decode_index(sp["message_index"])
            target = {"content": lambda: row["messages"][i]["content"],
                      "extra_json": lambda: row["extra_json"],
                      "message_extra_json": lambda: row["messages"][i]["extra_json"]}[field]()
            piece = target[sp["start"]:sp["end"]]
            assert piece and piece == piece.strip() and sp["entity_type"] in pii.ALL
    assert {decode_index(s["message_index"])[0] for s in m0["masked_spans"]} == {
        "content", "extra_json", "message_extra_json"}
    assert json.loads(m0["messages"][2]["extra_json"])["name"] == "lookup_order"


def test_residual_scan_finds_planted_leak_and_ignores_surrogates(masker):
    masked, _ = masker.mask_frame(_frame())
    clean = residual_scan(masked, masker)
    assert clean.schema == pl.Schema(RESIDUAL_SCHEMA) and clean.height == 0  # fakes are valid IBANs etc.

    def plant(msgs):
        msgs = [dict(m) for m in msgs]
        msgs[0]["content"] += " Mi otra cuenta: ES91 2100 0418 4502 0005 1332"
        return msgs

    leaky = masked.with_columns(
        pl.Series("messages", [plant(m) if cid == "c-1" else m for cid, m in zip(masked["conversation_id"], masked["messages"])],
                  dtype=masked.schema["messages"])
    )
    found = residual_scan(leaky, masker)
    assert found.height == 1
    row = found.row(0, named=True)
    assert (row["conversation_id"], row["message_index"], row["field"], row["entity_type"]) == (
        "c-1", 0, "content", pii.IBAN_CODE)
    assert "ES91" not in json.dumps(found.to_dicts())  # positions and types only, never the text


def test_no_raw_text_in_exceptions(masker, monkeypatch):
    secret = "Lucía Pérez 612 34 56 78"

    def boom(*a, **k):
        raise ValueError(f"cannot handle {k.get('text')}")

    monkeypatch.setattr(masker.analyzer, "analyze", boom)
    with pytest.raises(MaskingError) as err:
        masker.find(secret + " (unique)", "es-ES")
    assert "Lucía" not in str(err.value) and "612" not in str(err.value)
    assert err.value.__suppress_context__


# ------------------------------------------------------------------------------------------------
# offline, import cost
# ------------------------------------------------------------------------------------------------

def test_masking_never_touches_the_network(monkeypatch):
    from agent_release.masking import build_default_presidio
    from agent_release.masking.presidio_setup import _OfflineTLDExtract

    def no_network(*a, **k):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    assert _OfflineTLDExtract().extract("someone@mail.example.co.uk").suffix == "co.uk"
    text = "Write to carla.gomez@outlook.es or carla@empresa.com.mx, I'm Carla Gómez"
    masked, spans = Masker(KEY).mask_text(text, "es-ES")  # a fresh masker: models load offline too
    assert "outlook.es" not in masked and [s.entity_type for s in spans].count(pii.EMAIL_ADDRESS) == 2
    default = build_default_presidio()
    assert any(r.entity_type == "EMAIL_ADDRESS" for r in default.analyze(text=text, language="en"))


def test_importing_masking_is_cheap():
    code = (
        "import sys, agent_release.masking;"
        "heavy=[m for m in ('spacy','presidio_analyzer','faker','phonenumbers') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# ------------------------------------------------------------------------------------------------
# against the synthetic generator's ground truth
# ------------------------------------------------------------------------------------------------

def test_recall_on_generated_conversations(masker):
    logs = pytest.importorskip("agent_release.synth.logs")
    gen = logs.generate(300, seed=20261126)
    truth = logs.pii_frame(gen)
    rows = []
    for i, rec in enumerate(gen.records):
        row = normalise(rec)
        row["source"], row["source_row"] = "gen", i
        rows.append(row)
    df = to_frame(rows)
    keys, texts, locs = [], [], []
    for cid, loc, msgs in zip(df["conversation_id"], df["locale"], df["messages"]):
        for i, m in enumerate(msgs):
            keys.append((cid, i))
            texts.append(m["content"])
            locs.append(loc)
    findings = dict(zip(keys, masker.find_many(texts, locs)))
    found: dict[str, list[int]] = {}
    for r in truth.iter_rows(named=True):
        fs = findings.get((r["conversation_id"], r["message_index"]), [])
        hit = any(f.start < r["end"] and r["start"] < f.end for f in fs)
        found.setdefault(r["entity_type"], []).append(int(hit))
    structured = [h for t in pii.STRUCTURED for h in found.get(t, [])]
    assert len(structured) > 100 and len(found[pii.PERSON]) > 50
    assert sum(structured) / len(structured) >= 0.99
    assert sum(found[pii.PERSON]) / len(found[pii.PERSON]) >= 0.95
    for t in (pii.STREET_ADDRESS, pii.DATE_OF_BIRTH):
        assert sum(found[t]) / len(found[t]) >= 0.95
    masked, _ = masker.mask_frame(df)
    assert residual_scan(masked, masker).height == 0


def test_fake_names_never_reuse_a_word_of_the_original_name():
    """Found by a 300-conversation run: "Stewart Brooks" became "Bradley Stewart" (the fake
    surname was the real first name) and the ground-truth check caught it. A fake word is never a
    word of the same name / email, nor a word that is both a first and a last name."""
    from agent_release.masking.gazetteer import fold_word
    from agent_release.masking.surrogates import SurrogateFactory

    sf = SurrogateFactory(b"agent-release-test-key-0123456789")
    g = sf.gaz
    names = ["Stewart Brooks", "Thomas James", "James Thomas", "Morgan Lewis", "Grant Allen", "Ellis Miles",
             "María José García", "Jean-Pierre Martin", "Sophie Laurent", "Lucas Gabriel Souza"]
    for loc in ("en-GB", "en-US", "es-ES", "fr-FR", "pt-BR"):
        for name in names:
            orig = {fold_word(w) for w in name.replace("-", " ").split()}
            fake = sf.person(name, loc)
            words = {fold_word(w) for w in fake.replace("-", " ").split()}
            assert not (words & orig), (loc, len(name))
            assert not any(g.is_first(w) and g.is_last(w) for w in words), (loc, len(name))
            local = sf.email(name.lower().replace(" ", ".") + "@gmail.com", loc).split("@")[0]
            assert not ({fold_word(p) for p in local.replace("-", ".").split(".")} & orig), (loc, len(name))


@pytest.mark.parametrize("text, locale, original", [
    # minutes of a clock time glued onto the phone number that follows
    ("12:20 0174 77562929 iban: DE13 1494 3303 5163 5748 52", "de-DE", "77562929"),
    # a Spanish number in 3-2-2-2 groups right after an order number
    ("1207-62 733 83 90 24 el correo de la cuenta", "es-ES", "83 90 24"),
    # "my number is", shouted, with a number libphonenumber does not know as valid
    ("MON NUMÉRO EST LE 04 04 76 84 80.", "fr-FR", "76 84 80"),
    # a bare 12-digit German mobile after an order code
    ("M6-080959 015717643115 Cichoriusweg 291, 06903 Herford", "de-DE", "7643115"),
    # a French mobile right after a date of birth ("19 août 1997 06 24 …")
    ("#559956 01/11 19 août 1997 06 24 56 08 18 vous pouvez m'écrire", "fr-FR", "56 08 18"),
    # a first name joined to the surname by particles, opening the message
    ("Inés de la Crúz Vigil dónde está mi pedido H7-540464", "es-MX", "Inés"),
    # an address written in capitals, with its city / state / ZIP tail
    ("MY ADDRESS IS 3751 SEAN CRESCENT, APT 24D, SEATTLE, WA 98110.", "en-US", "SEAN CRESCENT"),
])
def test_misses_found_by_the_6000_conversation_scale_run(masker, text, locale, original):
    masked, spans = masker.mask_text(text, locale)
    assert original not in masked and spans


def test_capitals_without_an_address_tail_stay(masker):
    text = "I'VE BEEN WAITING FOR AGES! ORDER 582-2944155-1188388, SHIPPED WITH USPS ON NOV 2 AND STILL NOTHING"
    assert masker.mask_text(text, "en-US")[0] == text


def test_a_real_word_inside_a_fake_is_a_coincidence_not_a_leak():
    from agent_release import contract
    from agent_release.leaks import ground_truth_leaks

    text = "Bonjour, ici Thibault. Envoyez-le au 88 boulevard Thibault Jacob, 56629 Barthelemy."
    start = text.index("88 boulevard")
    row = {"conversation_id": "c1", "user_id": "u-hash", "started_at": datetime(2026, 11, 2, tzinfo=UTC),
           "locale": "fr-FR", "agent_version": "support-bot@1",
           "messages": [{"role": "user", "content": text.replace("ici Thibault", "ici Hugues")}]}
    df = contract.to_frame([row]).with_columns(pl.Series("masked_spans", [[
        {"message_index": 0, "start": start - 2, "end": start - 2 + len("88 boulevard Thibault Jacob, 56629 Barthelemy"),
         "entity_type": "STREET_ADDRESS"}]]))
    truth = pl.DataFrame({"conversation_id": ["c1"], "message_index": [0], "entity_type": ["PERSON"],
                          "value": ["Thibault"]})
    assert ground_truth_leaks(df, truth).height == 0
    assert ground_truth_leaks(df, truth, inside_fakes=True).height == 1
    outside = df.with_columns(pl.Series("masked_spans", [[]], dtype=df.schema["masked_spans"]))
    assert ground_truth_leaks(outside, truth).height == 1
