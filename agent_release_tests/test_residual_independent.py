"""The independent residual scan (issue 15): shape rules and cue lists that share nothing with the
masker's detectors, the surrogate ledger, the declared non-PII list and the blocking check.

No model loads here: the cases are masked text as a masker that missed something would leave it
(hand-written, not from the synthetic generator the detectors were tuned on).
"""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from agent_release.contract import normalise, to_frame
from agent_release.masking import non_pii
from agent_release.masking import residual as R
from agent_release.masking.residual import INDEPENDENT_SCHEMA, independent_residual_scan, scan_text
from agent_release.masking.types import MASKED_SPAN_DTYPE, message_extra_index

# (masked text with a value the masker left, the leaked value, the kind the scan must report)
LEAKS = [
    # phones: no digit group of 7, only the whole run (separators ignored) has 7+ digits
    ("Llámame al +34 612 34 56 78 por la tarde.", "+34 612 34 56 78", R.DIGIT_RUN),
    ("Call me on (415) 555-0123 ext. 204 after five.", "(415) 555-0123", R.DIGIT_RUN),
    ("Mein Handy: 0171 / 23 45 67 8", "0171 / 23 45 67 8", R.DIGIT_RUN),
    ("Appelez-moi au 06.12.34.56.78 svp", "06.12.34.56.78", R.DIGIT_RUN),
    ("Bel me op 06-12 34 56 78, graag.", "06-12 34 56 78", R.DIGIT_RUN),
    ("Ring mig på 070-123 45 67.", "070-123 45 67", R.DIGIT_RUN),
    ("Zadzwoń: +48 601 234 567", "+48 601 234 567", R.DIGIT_RUN),
    ("Numaram 0532 123 45 67, arayın.", "0532 123 45 67", R.DIGIT_RUN),
    ("My number is +44 20 7946 0958 ext 12", "+44 20 7946 0958", R.DIGIT_RUN),
    # IBANs and cards with bad checksums: still personal data
    ("Mi IBAN es ES00 2100 0418 4502 0005 1332, gracias", "ES00 2100 0418 4502 0005 1332", R.IBAN),
    ("Überweisung an DE00123456780000000000 bitte", "DE00123456780000000000", R.IBAN),
    ("rekening nl00 abna 0417 1643 00", "nl00 abna 0417 1643 00", R.IBAN),
    ("card 4111 1111 1111 1112 exp 09/28", "4111 1111 1111 1112", R.CARD),
    ("cartão 5500-0000-0000-0004", "5500-0000-0000-0004", R.CARD),
    # e-mails
    ("napisz na jan.kowalski@wp.pl", "jan.kowalski@wp.pl", R.EMAIL),
    ("écrivez à marie @ orange.fr", "marie @ orange.fr", R.EMAIL),
    # national ids (letters: the digit rule alone would not see them)
    ("Mi NIE es X1234567L", "X1234567L", R.NATIONAL_ID),
    ("NI number AB123456C", "AB123456C", R.NATIONAL_ID),
    ("codice fiscale RSSMRA85T10A562S", "RSSMRA85T10A562S", R.NATIONAL_ID),
    ("henkilötunnus 131052-308T", "131052-308T", R.NATIONAL_ID),
    ("SSN 123-45-6789", "123-45-6789", R.NATIONAL_ID),
    ("CPF 123.456.789-09", "123.456.789-09", R.NATIONAL_ID),
    # IPs (10.0.0.1 has four digits only)
    ("I log in from 10.0.0.1 usually", "10.0.0.1", R.IP),
    ("from 2001:db8::ff00:42:8329", "2001:db8::ff00:42:8329", R.IP),
    # names after self-introduction cues, 13 languages
    ("Hi, my name is Sean O'Brien and I need help", "Sean O'Brien", R.NAME),
    ("hola, me llamo lucía pérez", "lucía pérez", R.NAME),
    ("Bonjour, je m'appelle Chloé Martin.", "Chloé Martin", R.NAME),
    ("Guten Tag, ich heiße Jürgen Weiß.", "Jürgen Weiß", R.NAME),
    ("Olá, meu nome é João da Silva", "João da Silva", R.NAME),
    ("Buongiorno, sono Giulia Bianchi, il mio ordine non è arrivato", "Giulia Bianchi", R.NAME),
    ("Mi chiamo Marco Rossi", "Marco Rossi", R.NAME),
    ("Hallo, ik ben Sanne de Vries en mijn pakket is zoek", "Sanne de Vries", R.NAME),
    ("mijn naam is Daan Jansen", "Daan Jansen", R.NAME),
    ("Dzień dobry, nazywam się Katarzyna Wójcik", "Katarzyna Wójcik", R.NAME),
    ("Jestem Piotr Nowak, klient od lat", "Piotr Nowak", R.NAME),
    ("Hej, jag heter Lars Andersson", "Lars Andersson", R.NAME),
    ("Hej, jeg hedder Mette Nielsen", "Mette Nielsen", R.NAME),
    ("Hei, jeg heter Ola Nordmann", "Ola Nordmann", R.NAME),
    ("Hei, nimeni on Aino Virtanen", "Aino Virtanen", R.NAME),
    ("Merhaba, benim adım Ayşe Yılmaz", "Ayşe Yılmaz", R.NAME),
    ("El pedido está a nombre de Carmen Ruiz", "Carmen Ruiz", R.NAME),
    ("el titular de la cuenta es rosa maría", "rosa maría", R.NAME),
    ("Kind regards,\nAlice Thompson", "Alice Thompson", R.NAME),
    ("Mit freundlichen Grüßen\nKlaus Becker", "Klaus Becker", R.NAME),
    ('{"customer_name": "Hanna Berg", "tier": "gold"}', "Hanna Berg", R.NAME),
    # the agent addressing the customer, signatures, e-mail headers
    ("Hola Pilar,\n\n¿Me indica el teléfono?", "Pilar", R.NAME),
    ("Thanks for reaching out, Brandon.", "Brandon", R.NAME),
    ("Huomenta Essi,\n\nsyntymäaikasi?", "Essi", R.NAME),
    ("Wiatm Nela,\n\nmoja data", "Nela", R.NAME),  # "Witam", mistyped
    ("Hello Jan, your parcel left", "Jan", R.NAME),
    ("Gentile Sig.ra Calbo, Mi indica il numero?", "Calbo", R.NAME),
    ("Estimado/a Sr. de la O:\n\nVeo un cargo", "O", R.NAME),
    ("card 4111 1111 1111 1111\n\nSent from my phone\nBeverley\n\nOn 16/09/2025 at 22:45", "Beverley", R.NAME),
    ("IBAN ...\n\nPozdr.\nTymon\n\nW dniu 8 listopada 2024", "Tymon", R.NAME),
    ("Saludos,\nJacobo de la O\nTel. 306", "Jacobo de la O", R.NAME),
    ("On 20 May 2025, Line Lassen <nanni.jepsen@example.org> wrote:", "Line Lassen", R.NAME),
    # addresses: after a cue, street shapes, postcode + town
    ("I live at 742 Evergreen Terrace, Springfield", "742 Evergreen Terrace", R.ADDRESS),
    ("Mi dirección es Calle Mayor 12, 28013 Madrid", "Calle Mayor 12", R.ADDRESS),
    ("Mijn adres is Keizersgracht 123, 1015 CJ Amsterdam", "Keizersgracht 123", R.ADDRESS),
    ("indirizzo: via Roma 3, 00184 Roma", "via Roma 3", R.ADDRESS),
    ("adres: ul. Długa 5, 00-950 Warszawa", "Długa 5", R.ADDRESS),
    ("Adressen är Storgatan 1, 114 55 Stockholm", "Storgatan 1", R.ADDRESS),
    ("osoite on Mannerheimintie 10, 00100 Helsinki", "Mannerheimintie 10", R.ADDRESS),
    ("adresim Atatürk Caddesi No 5, Kadıköy", "Atatürk Caddesi", R.ADDRESS),
    ("Moro na Rua das Flores, 45", "Rua das Flores, 45", R.ADDRESS),
    ("J'habite au 12 rue de la Paix, 75002 Paris", "12 rue de la Paix", R.ADDRESS),
    ("Flat 2, 10 Downing Street, London SW1A 2AA", "SW1A 2AA", R.ADDRESS),
    # quoted e-mail blocks, transcripts in lower case
    ("Nouvelle adresse :\n> 52 rue Grondin\n> 72874 Kleinbourg\n> \n> Cordialement", "52 rue Grondin", R.ADDRESS),
    ("Nouvelle adresse :\n> 52 rue Grondin\n> 72874 Kleinbourg\n> \n> Cordialement", "72874 Kleinbourg", R.ADDRESS),
    ("> tuominen.n@example.com\n> Edelfeltinbulevardi 1749\n> 78870 Kemi", "Edelfeltinbulevardi 1749", R.ADDRESS),
    ("la dirección de entrega es paseo de juan rovira 353, 03058 burgos", "paseo de juan rovira 353", R.ADDRESS),
    ("bitte den ersatz schicken an:\nschulzstraße 4-6\n64312 hersbruck", "64312 hersbruck", R.ADDRESS),
    ("so i live at 561 jill hills, new holly dt5h 3la", "dt5h 3la", R.ADDRESS),
    ("the delivery address is 939 nancy pines, patrickfort, id 83822", "id 83822", R.ADDRESS),
    # dates of birth: declared dates do not hide them
    ("I was born on 12/03/1985", "12/03/1985", R.DATE_OF_BIRTH),
    ("Geburtsdatum: 06.10.1942", "06.10.1942", R.DATE_OF_BIRTH),
    ("fecha de nacimiento 3 de mayo de 1990", "3 de mayo de 1990", R.DATE_OF_BIRTH),
    ("syntymäaikani on 24. heinäkuuta 1980", "24. heinäkuuta 1980", R.DATE_OF_BIRTH),
    ("şey 1973-02-04 doğumluyum", "1973-02-04", R.DATE_OF_BIRTH),
    # a UK sort code (six digits) after its cue; a phone number after a courier word is not a tracking number
    ("acc 06493638 sort 16-27-16.", "16-27-16", R.BANK),
    ("Der Kurier ruft vorher unter 01837419898 an.", "01837419898", R.DIGIT_RUN),
]

# look-alikes: not personal data, never findings (declared non-PII formats and cue-rule stop words)
CLEAN = [
    "Your order ORD-2026-177140 shipped with UPS, tracking 1ZC814FM9240102100.",
    "FedEx tracking number 510743144538, estimated delivery 2026-11-05.",
    "Tracking: 9400 2949 4363 8701 0523 84 (USPS)",
    "El número de seguimiento es 75538546024259.",
    "Die Sendungsnummer lautet 00340434584533375449.",
    "Factura FAC-2026-15260 por 1.234,56 €, pagada el 03/11/2026.",
    "Rechnung 2026004711 über 69,82 €",
    "invoice INV-2026-710240 for $1,992.20 issued 2026-11-02T14:03:00Z",
    "Le suivi c'est RC062159890FR. Merci !",
    "ticket CASE-66473702 opened, SKU XR1065BK, model 5147-BLU",
    "781-4966204-4721038, paid with my card on October 31.",
    "Pedido #907243, me prometieron una llamada el 4 de noviembre.",
    "I'm Sorry, I'm Looking for my order. This is Ridiculous!",
    "THIS IS RIDICULOUS, I'M FURIOUS",
    "Ich bin Kunde seit 2019 und bitte um Hilfe.",
    "Sono molto arrabbiato. Soy de Madrid.",
    "Thanks\n\nSent from my iPhone",
    "Kann ich meine Lieferadresse noch ändern? Die Bestellung ist noch nicht verschickt.",
    "Die E-Mail-Adresse des Kontos ist korrekt. Mi dirección IP cambió.",
    "Your new address has been saved. Anything else?",
    '{"order_id": "M1-423298", "status": "processing", "carrier": "FedEx", "tracking": "088813644207", '
    '"eta": "2026-11-07"}',
    '{"invoice": "FAC-2026-31441", "amount": "163,37 €", "charges": 2}',
    "Order 12345678 placed 2026-10-30 at 14:45, total R$ 1.149,51",
    "request id 3f2b8c1e-9a4d-4e2b-8f1a-0c9d8e7f6a5b",
    "Hi Team,\n\nDear Customer Service, hello there!",
    "Beste Grüße,\nIhr Kundenservice",
    "La commande 74-7408 est en cours de livraison aujourd'hui, avant 13h30.",
    "The address was updated 3 days ago.",
    "försändelsen 9643 4936 1394 2489 6933 61 har stått still",
    "minulta veloitettiin 50,09 € kahdesti tilauksesta WEB6088880 13.8.2025.",
    "Sipariş numarası:\tA67175368",
    "WEB6022888 siparişi 29.11.2024 tarihinde",
    "er staat 0x83259264 op het scherm",
    "The replacement KN09279-54 ships today.",
    "Lo consulto con la empresa de transporte, número de seguimiento 1957425941.",
]


def _cover(hits, text: str, value: str, kind: str) -> bool:
    s = text.index(value)
    return any(h.kind == kind and h.start < s + len(value) and s < h.end for h in hits)


@pytest.mark.parametrize("text,value,kind", LEAKS, ids=[f"{k}:{t[:28]}" for t, _, k in LEAKS])
def test_a_value_the_masker_left_is_flagged(text, value, kind):
    hits = scan_text(text)
    assert _cover(hits, text, value, kind), hits


@pytest.mark.parametrize("text", CLEAN, ids=[t[:30] for t in CLEAN])
def test_declared_non_pii_and_stop_words_are_not_findings(text):
    assert scan_text(text) == []


def test_every_language_has_a_self_introduction_and_an_address_cue():
    intro = {"en": "my name is", "es": "me llamo", "fr": "je m'appelle", "de": "ich heiße", "pt": "meu nome é",
             "it": "mi chiamo", "nl": "mijn naam is", "pl": "nazywam się", "sv": "jag heter", "da": "jeg hedder",
             "nb": "jeg heter", "fi": "nimeni on", "tr": "benim adım"}
    address = {"en": "address", "es": "dirección", "fr": "adresse", "de": "anschrift", "pt": "endereço",
               "it": "indirizzo", "nl": "adres", "pl": "adres", "sv": "adress", "da": "adresse", "nb": "adresse",
               "fi": "osoite", "tr": "adresim"}
    for lang, cue in intro.items():
        text = f"{cue.capitalize()} Zofia Quist."
        assert _cover(scan_text(text), text, "Zofia Quist", R.NAME), lang
    for lang, cue in address.items():
        text = f"{cue.capitalize()}: Quistweg 14"
        assert _cover(scan_text(text), text, "Quistweg", R.ADDRESS), lang


def test_separators_are_ignored_in_digit_runs(monkeypatch):
    """The plausible bug: digit runs that stop at separators. Then no phone written in groups is a
    finding; this test and the grouped phone cases above fail."""
    grouped = "+34 612 34 56 78"
    assert [h.kind for h in scan_text(f"tel {grouped}")] == [R.DIGIT_RUN]
    assert scan_text("tel 612 34 5") == []  # 7 digits needed: 6 are not enough
    assert [h.kind for h in scan_text("tel 612 34 56")] == [R.DIGIT_RUN]
    monkeypatch.setattr(R, "_DIGIT_RUN", R._re.compile(r"\d+"))  # the bug
    assert scan_text(f"tel {grouped}") == []


def test_a_fake_the_masker_recorded_is_not_a_finding_and_a_partial_replacement_leaves_the_rest():
    text = "Mi teléfono es +34 698 12 34 56 y mi nombre es Pablo Ortega Ruiz."
    fake_phone = (text.index("+34"), text.index(" y mi"))
    fake_first = (text.index("Pablo"), text.index("Pablo") + 5)
    assert {h.kind for h in scan_text(text)} == {R.DIGIT_RUN, R.NAME}
    assert [h.kind for h in scan_text(text, [fake_phone])] == [R.NAME]
    # the masker replaced the first name only: the surnames it left are a finding
    hits = scan_text(text, [fake_phone, fake_first])
    assert [(h.kind, text[h.start:h.end]) for h in hits] == [(R.NAME, "Ortega Ruiz")]
    assert scan_text(text, [fake_phone, (fake_first[0], text.index("."))]) == []
    # no cue, but a fake name followed by a particle and more name words: the surnames it left
    for left, fake in (("claudia hernández de la rosa, por favor", "claudia hernández"),
                       ("Pedro Alves van der Berg ligou", "Pedro Alves")):
        hits = scan_text(left, [(0, len(fake), "PERSON")])
        assert [(h.kind, left[h.start:h.end]) for h in hits] == [
            (R.NAME, "rosa" if "rosa" in left else "Berg")], left
        assert scan_text(left, [(0, len(fake), "PHONE_NUMBER")]) == []  # only next to a fake name
    # a fake name the masker put into a product name: the rest of the product is not a name
    product = "Gibt es das Luigi Chair Pro auch in Schwarz?"
    s = product.index("Luigi")
    assert scan_text(product, [(s, s + 5, "PERSON")]) == []
    # a street replaced, its postcode and town left
    addr = "Neue Anschrift: Lindenweg 3, 10115 Berlin."
    street = (addr.index("Lindenweg"), addr.index(","))
    assert [(h.kind, addr[h.start:h.end]) for h in scan_text(addr, [street])] == [(R.ADDRESS, "10115 Berlin")]
    assert scan_text(addr, [(street[0], addr.index("."))]) == []


def test_a_declared_format_the_masker_cut_with_a_fake_is_still_declared():
    """The masker took part of a tracking number for a phone number: the fake and the rest still
    read as the tracking number in the masked text, so the rest is no finding."""
    text = "Your parcel, tracking number 9400 2949 4363 8701 0523 84, left the depot."
    fake = (text.index("9400"), text.index("9400") + len("9400 2949"))
    assert scan_text(text, [fake]) == []


def test_the_scanner_calls_none_of_the_detectors():
    """Built differently: residual.py's independent part and non_pii.py import no recognizer,
    gazetteer, checksum, name or NER module, and the frame scan needs no masker."""
    banned = {"recognizers", "names", "gazetteer", "checksums", "presidio_setup", "engine", "surrogates",
              "phones", "phonenorm", "addresses", "recbase", "textutil"}
    for path in (Path(R.__file__), Path(non_pii.__file__)):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [f"{node.module}.{a.name}" for a in node.names] if isinstance(node, ast.ImportFrom) else [])
            for n in names:
                assert not set(n.split(".")) & banned, f"{path.name} imports {n}"
    assert "masker" not in independent_residual_scan.__code__.co_varnames


# ------------------------------------------------------------------------------------------------
# frames: fields, ledger, user ids, the report
# ------------------------------------------------------------------------------------------------

TS = datetime(2026, 11, 2, 14, 3, tzinfo=UTC).isoformat().replace("+00:00", "Z")


def _masked(recs: list[dict], spans: list[list[dict]]) -> pl.DataFrame:
    rows = []
    for i, r in enumerate(recs):
        row = normalise({"started_at": TS, "locale": "es-ES", "agent_version": "bot@1", **r})
        row["source"], row["source_row"] = "test", i
        rows.append(row)
    return to_frame(rows).with_columns(pl.Series("masked_spans", spans, dtype=pl.List(MASKED_SPAN_DTYPE)))


HASH = "u_" + "ab12" * 16


def _span(i, text, piece, et="PHONE_NUMBER"):
    s = text.index(piece)
    return {"message_index": i, "start": s, "end": s + len(piece), "entity_type": et}


def test_frame_scan_reports_conversation_field_and_kind_never_the_value():
    fake = "Hola, soy Marta Gil. Mi móvil es 699 12 34 56."
    leak = "Mi IBAN es ES00 2100 0418 4502 0005 1332."
    tool = json.dumps({"order_id": "ORD-2026-177140", "callback": "+34 611 22 33 44"})
    recs = [
        {"conversation_id": "c-fakes-only", "user_id": HASH,
         "messages": [{"role": "user", "content": fake}]},
        {"conversation_id": "c-leaky", "user_id": HASH, "extra_json": json.dumps({"note": "llamar 611223344"}),
         "messages": [{"role": "user", "content": "Hola"}, {"role": "user", "content": leak},
                      {"role": "tool", "content": tool, "name": "lookup_order"}]},
        {"conversation_id": "c-raw-user", "user_id": "cust-88121", "messages": [{"role": "user", "content": "ok"}]},
    ]
    spans = [[_span(0, fake, "Marta Gil", "PERSON"), _span(0, fake, "699 12 34 56")], [], []]
    df = _masked(recs, spans)
    # the tool message's extras hold {"name": ...}: find where the callback number sits in it
    found = independent_residual_scan(df)
    assert found.schema == pl.Schema(INDEPENDENT_SCHEMA)
    got = sorted((r["conversation_id"], r["field"], r["message_index"], r["kind"]) for r in found.iter_rows(named=True))
    assert got == [
        ("c-leaky", "content", 1, R.IBAN),
        ("c-leaky", "content", 2, R.DIGIT_RUN),
        ("c-leaky", "extra_json", None, R.DIGIT_RUN),
        ("c-raw-user", "user_id", None, R.USER_ID),
    ]
    blob = json.dumps(found.to_dicts())
    for value in ("ES00", "2100 0418", "611", "88121", "Marta"):
        assert value not in blob
    # without the ledger the fakes are findings too: the spans are what tells them apart
    bare = independent_residual_scan(df.with_columns(pl.Series("masked_spans", [[], [], []],
                                                               dtype=pl.List(MASKED_SPAN_DTYPE))))
    assert {(r["conversation_id"], r["kind"]) for r in bare.iter_rows(named=True)} >= {
        ("c-fakes-only", R.DIGIT_RUN), ("c-fakes-only", R.NAME)}


def test_message_extras_use_their_ledger_index():
    extra = json.dumps({"callback": "+34 611 22 33 44"}, ensure_ascii=False)
    recs = [{"conversation_id": "c-1", "user_id": HASH,
             "messages": [{"role": "tool", "content": "{}", "name": "lookup", "callback": "+34 611 22 33 44"}]}]
    df = _masked(recs, [[]])
    stored = df["messages"][0][0]["extra_json"]
    assert "611 22 33 44" in stored
    assert independent_residual_scan(df)["field"].to_list() == ["message_extra_json"]
    s = stored.index("+34")
    ledger = [{"message_index": message_extra_index(0), "start": s, "end": s + len("+34 611 22 33 44"),
               "entity_type": "PHONE_NUMBER"}]
    assert extra and independent_residual_scan(df.with_columns(
        pl.Series("masked_spans", [ledger], dtype=pl.List(MASKED_SPAN_DTYPE)))).height == 0


def test_a_bare_reference_answering_a_question_for_it_is_declared_but_not_after_a_question_for_a_phone():
    def conv(question):
        return {"conversation_id": "c-1", "user_id": HASH,
                "messages": [{"role": "assistant", "content": question}, {"role": "user", "content": "812858718351"}]}

    asked_order = _masked([conv("¿Cuál es tu número de pedido?")], [[]])
    assert independent_residual_scan(asked_order).height == 0
    asked_phone = _masked([conv("¿Cuál es tu número de pedido o tu teléfono?")], [[]])
    assert independent_residual_scan(asked_phone)["kind"].to_list() == [R.DIGIT_RUN]


# ------------------------------------------------------------------------------------------------
# the declared non-PII list: the user file
# ------------------------------------------------------------------------------------------------

def test_the_user_file_extends_the_declared_list(tmp_path, monkeypatch):
    text = "Loyalty card LOY-4455667788 and bin A12-3456"
    assert {h.kind for h in scan_text(text)} == {R.DIGIT_RUN}
    f = tmp_path / "non_pii.yaml"
    f.write_text(
        "patterns:\n"
        "  - name: loyalty_card\n    description: loyalty cards\n    regex: '\\bLOY-\\d{10}\\b'\n"
        "  - name: bin\n    description: shelf\n    regex: '(?i)\\bbin\\s+(?P<value>[A-Z]\\d{2}-\\d{4})'\n")
    patterns = non_pii.load(f)
    assert [p.name for p in patterns][-2:] == ["loyalty_card", "bin"]
    assert len(patterns) == len(non_pii.BUILTIN) + 2
    assert scan_text(text, (), patterns) == []
    # the default location: data/masking/non_pii_patterns.yaml under AGENT_RELEASE_HOME, or the env var
    monkeypatch.setenv("AGENT_RELEASE_HOME", str(tmp_path))
    assert non_pii.user_file() == tmp_path / "data" / "masking" / "non_pii_patterns.yaml"
    assert len(non_pii.load()) == len(non_pii.BUILTIN)  # absent: the built-in list only
    monkeypatch.setenv(non_pii.ENV_VAR, str(f))
    assert len(non_pii.load()) == len(non_pii.BUILTIN) + 2


def test_the_shipped_user_file_parses_and_declares_nothing_yet():
    shipped = Path(__file__).resolve().parent.parent / non_pii.USER_FILE
    assert non_pii.load_user_patterns(shipped) == ()


@pytest.mark.parametrize("body,problem", [
    ("patterns: [", "not valid YAML"),
    ("patterns:\n  - name: x\n    regex: '(unclosed'\n", "does not compile"),
    ("patterns:\n  - name: x\n    regex: 'a*'\n", "empty string"),
    ("patterns:\n  - regex: 'abc'\n", "needs a 'name'"),
    ("patterns:\n  - name: uuid\n    regex: 'abc'\n", "duplicate"),
])
def test_a_broken_user_file_is_an_error_naming_file_and_entry(tmp_path, body, problem):
    f = tmp_path / "p.yaml"
    f.write_text(body)
    with pytest.raises(ValueError, match=problem) as err:
        non_pii.load(f)
    assert str(f) in str(err.value)


# ------------------------------------------------------------------------------------------------
# the blocking check
# ------------------------------------------------------------------------------------------------

def test_the_check_is_blocking_and_fails_naming_conversation_and_field(tmp_path, monkeypatch):
    import dagster as dg

    from agent_release.defs import masking

    assert masking.no_residual_pii_shapes.check_keys <= set(masking.BLOCKING_CHECKS)
    spec = next(iter(masking.no_residual_pii_shapes.check_specs))
    assert spec.blocking and spec.asset_key == masking.STAGED_KEY
    monkeypatch.setenv("AGENT_RELEASE_HOME", str(tmp_path))
    leak = "Sono Giulia Bianchi, chiamatemi al 347 123 4567."
    recs = [{"conversation_id": "c-2026-11-02-000007", "user_id": HASH,
             "messages": [{"role": "assistant", "content": "Come posso aiutarla?"}, {"role": "user", "content": leak}]},
            {"conversation_id": "c-2026-11-02-000008", "user_id": HASH,
             "messages": [{"role": "user", "content": "Ordine #554433 del 2 novembre, 45,90 €"}]}]
    res = masking.pii_shapes_result(_masked(recs, [[], []]), "2026-11-02")
    assert not res.passed and res.severity == dg.AssetCheckSeverity.ERROR
    assert "c-2026-11-02-000007 content[1]" in res.description and "stays staged, NOT published" in res.description
    md = res.metadata
    assert md["findings"].value == 2 and md["conversations_with_findings"].value == 1
    assert md["findings_by_kind"].value == {R.DIGIT_RUN: 1, R.NAME: 1}
    first = md["first_findings"].value
    assert "c-2026-11-02-000007" in first and "content" in first and "c-2026-11-02-000008" not in first
    everything = res.description + json.dumps({k: str(v.value) for k, v in md.items()})
    for value in ("Giulia", "Bianchi", "347", "4567"):
        assert value not in everything
    clean = masking.pii_shapes_result(_masked(recs[1:], [[]]), "2026-11-02")
    assert clean.passed and clean.description is None and clean.metadata["findings"].value == 0
    # a broken user list fails the check (closed), naming the file
    (tmp_path / "data" / "masking").mkdir(parents=True)
    (tmp_path / "data" / "masking" / "non_pii_patterns.yaml").write_text("patterns:\n  - name: x\n    regex: '('\n")
    broken = masking.pii_shapes_result(_masked(recs[1:], [[]]), "2026-11-02")
    assert not broken.passed and "non_pii_patterns.yaml" in broken.description
