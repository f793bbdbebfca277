"""National ids of IT, PL, SE, DK, NO, FI and TR (:mod:`agent_release.masking.national_ids`):
check-digit validators, the recognizer on realistic sentences and look-alikes, surrogates.

Recognizer tests run the recognizer alone (no spaCy); one end-to-end test masks through a
:class:`~agent_release.masking.Masker`.
"""

from __future__ import annotations

import pytest

from agent_release.masking import national_ids as nid
from agent_release.masking.surrogates import SurrogateFactory

KEY = b"test-national-ids-key-0123"
REC = nid.NordicEtcIdRecognizer()
VALID = {
    "IT_CF": nid.it_cf_ok, "PL_PESEL": nid.pl_pesel_ok, "SE_PERSONNUMMER": nid.se_personnummer_ok,
    "DK_CPR": lambda v: nid.dk_cpr_date_ok(v) and nid.dk_cpr_mod11_ok(v), "NO_FNR": nid.no_fnr_ok,
    "FI_HETU": nid.fi_hetu_ok, "TR_TCKN": nid.tr_tckn_ok,
}


def found(text: str, threshold: float = 0.5) -> list[tuple[str, str]]:
    """(type, matched text) of the recognizer's results at or above the masker's threshold,
    the best per span."""
    best: dict[tuple[int, int], tuple[float, str]] = {}
    for r in REC.analyze(text, None):
        if r.score >= threshold and r.score > best.get((r.start, r.end), (0.0, ""))[0]:
            best[(r.start, r.end)] = (r.score, r.entity_type)
    return [(t, text[s:e]) for (s, e), (_, t) in sorted(best.items())]


# ------------------------------------------------------------------------------------------------
# validators: published examples pass, one changed character fails
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, good, bad", [
    ("IT_CF", "RSSMRA85T10A562S", "RSSMRA85T10A562T"),
    ("IT_CF", "MRTMTT91D08F205J", "MRTMTT91D08F205K"),
    ("PL_PESEL", "44051401359", "44051401358"),
    ("PL_PESEL", "02270803624", "02270803625"),
    ("SE_PERSONNUMMER", "811218-9876", "811218-9875"),
    ("SE_PERSONNUMMER", "19811218-9876", "19811218-9877"),
    ("DK_CPR", "070761-4285", "070761-4286"),
    ("NO_FNR", "01010750160", "01010750161"),
    ("FI_HETU", "131052-308T", "131052-308U"),
    ("FI_HETU", "010594Y9021", "010594Y9022"),
    ("TR_TCKN", "10000000146", "10000000147"),
])
def test_published_examples_validate_and_one_changed_check_character_does_not(kind, good, bad):
    assert VALID[kind](good)
    assert not VALID[kind](bad)


def test_check_digit_generators_use_the_official_weights():
    # computed by hand from the published algorithms; a wrong weight changes at least one
    assert nid.pl_pesel_check_digit("4405140135") == "9"  # weights 1 3 7 9 1 3 7 9 1 3
    assert nid.pl_pesel_check_digit("9001010001") == "6"
    assert nid.no_fnr_check_digits("010107501") == "60"  # k1 3 7 6 1 8 9 4 5 2, k2 5 4 3 2 7 6 5 4 3 2
    assert nid.tr_tckn_check_digits("100000001") == "46"
    assert nid.tr_tckn_check_digits("123456789") == "50"
    assert nid.fi_hetu_check_char("131052", "308") == "T"
    assert nid.it_cf_check_char("RSSMRA85T10A562") == "S"
    assert nid.se_luhn_digit("811218987") == "6"
    assert nid.dk_cpr_mod11_ok("0707614285")  # weights 4 3 2 7 6 5 4 3 2 1


def test_pesel_birth_date_uses_the_century_offset_of_the_month():
    assert str(nid.pl_pesel_birth_date("44051401359")) == "1944-05-14"
    assert str(nid.pl_pesel_birth_date("02270803624")) == "2002-07-08"
    assert nid.pl_pesel_birth_date("44153401359") is None  # month 15: no century


def test_codice_fiscale_omocodia_letters_in_digit_positions_still_validate():
    base = "RSSMRA85T10A562"
    omo = base[:14] + "N"  # 2 -> N in the last digit position
    assert nid.it_cf_ok(omo + nid.it_cf_check_char(omo))


# ------------------------------------------------------------------------------------------------
# positives: realistic sentences, with and without a cue, with the separators people use
# ------------------------------------------------------------------------------------------------

POSITIVES = [
    ("IT_CF", "Il mio codice fiscale è RSSMRA85T10A562S, grazie.", "RSSMRA85T10A562S"),
    ("IT_CF", "CF: MRTMTT91D08F205J", "MRTMTT91D08F205J"),
    ("IT_CF", "Ecco i dati: RSSMRA85T10A562S per la fattura intestata a me.", "RSSMRA85T10A562S"),
    ("IT_CF", "codice fiscale rssmra85t10a562s", "rssmra85t10a562s"),
    ("IT_CF", "C.F. RSS MRA 85T10 A562S", "RSS MRA 85T10 A562S"),
    ("IT_CF", "Codice fiscale: RSSMRA85T10A562X (forse ho sbagliato l'ultima lettera)", "RSSMRA85T10A562X"),
    ("PL_PESEL", "Mój PESEL to 44051401359.", "44051401359"),
    ("PL_PESEL", "Proszę o zmianę danych, numer PESEL: 02270803624", "02270803624"),
    ("PL_PESEL", "Dane do faktury: Jan Kowalski, 44051401359", "44051401359"),
    ("PL_PESEL", "pesel 02270803624 i adres bez zmian", "02270803624"),
    ("PL_PESEL", "PESEL: 44051401350 (sprawdźcie, mogłem się pomylić)", "44051401350"),
    ("SE_PERSONNUMMER", "Mitt personnummer är 811218-9876.", "811218-9876"),
    ("SE_PERSONNUMMER", "Personnummer: 19811218-9876", "19811218-9876"),
    ("SE_PERSONNUMMER", "Hej, jag heter Anna och har 198112189876 som id.", "198112189876"),
    ("SE_PERSONNUMMER", "Min pappa är 101 år, hans nummer är 121212+1212.", "121212+1212"),
    ("SE_PERSONNUMMER", "pnr 811218-9870 stämmer inte?", "811218-9870"),
    ("DK_CPR", "Mit CPR-nummer er 070761-4285.", "070761-4285"),
    ("DK_CPR", "CPR: 0707614285", "0707614285"),
    ("DK_CPR", "Mit cpr nr. er 150208-1237, født efter 2007", "150208-1237"),
    ("DK_CPR", "Du kan bruge 230489-2417 til at finde mig.", "230489-2417"),
    ("DK_CPR", "CPR 010203 4567", "010203 4567"),
    ("NO_FNR", "Fødselsnummeret mitt er 01010750160.", "01010750160"),
    ("NO_FNR", "fnr: 010107 50160", "010107 50160"),
    ("NO_FNR", "Her er 01010750160 som dere ba om.", "01010750160"),
    ("NO_FNR", "Mitt fødselsnummer: 15076500565", "15076500565"),
    ("NO_FNR", "Jeg sendte 15076500565 i forrige melding.", "15076500565"),
    ("FI_HETU", "Henkilötunnukseni on 131052-308T.", "131052-308T"),
    ("FI_HETU", "Hetu: 010594Y9021", "010594Y9021"),
    ("FI_HETU", "Lapseni tunnus 010103A9016 on väärin järjestelmässä.", None),
    ("FI_HETU", "Tässä 131052-308T, korjatkaa osoite.", "131052-308T"),
    ("FI_HETU", "henkilötunnus 131052-308A (tarkistusmerkki voi olla väärin)", "131052-308A"),
    ("TR_TCKN", "TC kimlik numaram 10000000146.", "10000000146"),
    ("TR_TCKN", "Kimlik No: 12345678950", "12345678950"),
    ("TR_TCKN", "Merhaba, 10000000146 ile kayıtlıyım.", "10000000146"),
    ("TR_TCKN", "T.C. Kimlik: 12345678950", "12345678950"),
    ("TR_TCKN", "TC kimlik no 12345678901 yanlış girilmiş olabilir", "12345678901"),
]


def _fill_hetu_2000s() -> str:
    body = "010103"
    return body + "A" + "901" + nid.fi_hetu_check_char(body, "901")


@pytest.mark.parametrize("kind, text, value", POSITIVES)
def test_national_ids_are_found_in_sentences_of_their_language(kind, text, value):
    if value is None:  # a 2000s HETU with its computed check character
        value = _fill_hetu_2000s()
        text = text.replace("010103A9016", value)
    hits = found(text)
    assert any(v == value for _, v in hits), hits
    kinds = {r.entity_type for r in REC.analyze(text, None) if r.score >= 0.5 and text[r.start:r.end] == value}
    assert kind in kinds, kinds


def test_a_check_digit_valid_id_scores_about_one_without_a_cue():
    for text in ("Dane: 44051401359", "Tässä 131052-308T", "Ecco RSSMRA85T10A562S", "Merhaba 10000000146"):
        assert max(r.score for r in REC.analyze(text, None)) >= 0.95, text


# ------------------------------------------------------------------------------------------------
# negatives: look-alikes
# ------------------------------------------------------------------------------------------------

NEGATIVES = [
    "Numer zamówienia: 44051401359",  # a valid PESEL by chance, after an order cue
    "order nr 44051401359 shipped today",
    "Il numero d'ordine è 10000000146",  # a valid TCKN by chance
    "tracking 01010750160",  # a valid fødselsnummer by chance
    "Bestellung 811218-9876 ist unterwegs",
    "Ordine 12345678901 confermato",  # not valid anyway
    "Zadzwoń pod numer telefonu 44051401359",
    "Ring mig på 0701234567",  # a Swedish mobile number
    "Arayın: 05321234567",  # a Turkish mobile number
    "Kwota do zapłaty: 12 345 678,90 zł",
    "Data zamówienia 14.05.2024, dostawa 20.05.2024",
    "Faktura 2024-05-14 nr 12345",
    "Il tuo ordine RSSMRA85T10A562T è in viaggio",  # CF-shaped, wrong check letter, no cue
    "Kod produktu ABCDEF12G34H567I",  # CF-shaped, wrong check letter
    "Ref 131052-308U",  # HETU-shaped, wrong check character
    "Sendungsnummer 12345678950",  # a valid TCKN by chance, after a tracking cue
    "Numero 99999999999 non valido",
    "Order ORD-44051401359-PL",  # embedded in a longer token
    "Versione 1.2.3.4 del firmware 811218-9875",
    "Hinta 1234567890 euroa? ei",  # 10 digits, no valid date in any reading
    "Il pacco 010107 50161 è partito",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_look_alikes_are_not_national_ids(text):
    assert found(text) == []


def test_a_format_match_with_a_wrong_check_digit_needs_a_cue():
    assert found("Numer 44051401350") == []
    assert found("PESEL 44051401350") == [("PL_PESEL", "44051401350")]
    assert found("Tunnus 131052-308A") == []
    assert found("Hetu 131052-308A") == [("FI_HETU", "131052-308A")]


# ------------------------------------------------------------------------------------------------
# surrogates
# ------------------------------------------------------------------------------------------------

SURROGATE_CASES = [
    ("IT_CF", "RSSMRA85T10A562S"), ("IT_CF", "RSS MRA 85T10 A562S"), ("PL_PESEL", "44051401359"),
    ("SE_PERSONNUMMER", "811218-9876"), ("SE_PERSONNUMMER", "19811218-9876"),
    ("SE_PERSONNUMMER", "121212+1212"), ("DK_CPR", "070761-4285"), ("DK_CPR", "0707614285"),
    ("NO_FNR", "01010750160"), ("NO_FNR", "010107 50160"), ("FI_HETU", "131052-308T"),
    ("FI_HETU", "010594Y9021"), ("TR_TCKN", "10000000146"),
]


@pytest.mark.parametrize("kind, value", SURROGATE_CASES)
def test_surrogates_are_format_valid_same_shape_and_consistent(kind, value):
    sur = SurrogateFactory(KEY)
    fake = sur.fake("NATIONAL_ID", value, "en-US", kind)
    assert fake != value
    assert len(fake) == len(value)
    assert [c.isalnum() for c in fake] == [c.isalnum() for c in value] or kind == "FI_HETU"
    assert [c for c in fake if not c.isalnum()] == [c for c in value if not c.isalnum()] or kind == "FI_HETU"
    assert VALID[kind](fake.replace(" ", "")), fake
    assert SurrogateFactory(KEY).fake("NATIONAL_ID", value, "pl-PL", kind) == fake  # keyed, not per locale
    assert SurrogateFactory(b"another-key-123456789").fake("NATIONAL_ID", value, "en-US", kind) != fake


def test_surrogates_keep_the_century_sign_and_sex():
    sur = SurrogateFactory(KEY)
    assert sur.fake("NATIONAL_ID", "010594Y9021", "fi-FI", "FI_HETU")[6] == "Y"
    assert sur.fake("NATIONAL_ID", "131052-308T", "fi-FI", "FI_HETU")[6] == "-"
    assert "+" in sur.fake("NATIONAL_ID", "121212+1212", "sv-SE", "SE_PERSONNUMMER")
    female_cf = sur.fake("NATIONAL_ID", "MRTMTT91D48F205N", "it-IT", "IT_CF")
    assert int(female_cf[9:11]) > 40
    # the fake's own ids are found again (the recognizer accepts what the factory produces)
    for kind, value in SURROGATE_CASES:
        fake = sur.fake("NATIONAL_ID", value, "en-US", kind)
        assert found(f"id {fake}"), (kind, fake)


def test_surrogates_are_varied():
    sur = SurrogateFactory(KEY)
    fakes = {sur.fake("NATIONAL_ID", f"{10000000146 + i * 1000}", "tr-TR", "TR_TCKN") for i in range(50)}
    assert len(fakes) == 50


# ------------------------------------------------------------------------------------------------
# end to end through the masker
# ------------------------------------------------------------------------------------------------

def test_the_masker_replaces_these_ids_with_valid_fakes_and_leaves_order_numbers():
    from agent_release.masking import Masker

    m = Masker(KEY)
    text = ("Mój PESEL to 44051401359, numer zamówienia 10000000146. "
            "Il mio codice fiscale è RSSMRA85T10A562S. Henkilötunnukseni on 131052-308T.")
    masked, spans = m.mask_text(text, "pl-PL")
    for v in ("44051401359", "RSSMRA85T10A562S", "131052-308T"):
        assert v not in masked
    assert "10000000146" in masked
    assert all(s.entity_type == "NATIONAL_ID" for s in spans)
    assert nid.pl_pesel_ok(masked[13:24])


def test_a_spaced_polish_nrb_without_pl_is_masked_as_a_valid_account_and_a_wrong_one_is_not():
    from agent_release.masking import Masker
    from agent_release.masking import checksums as cs

    rec = nid.PolishNrbRecognizer()
    assert [r.score for r in rec.analyze("Proszę o zwrot na konto 25 1240 4748 4425 5351 0735 0545.", None)] == [1.0]
    assert rec.analyze("Przelew na 26 1240 4748 4425 5351 0735 0545", None) == []  # mod 97 fails
    assert [r.score for r in rec.analyze("Zamówienie 25 1240 4748 4425 5351 0735 0545", None)] == [0.3]
    masked, spans = Masker(KEY).mask_text("Przelew na 25 1240 4748 4425 5351 0735 0545 dziękuję", "pl-PL")
    fake = masked[len("Przelew na "):len("Przelew na ") + 32]
    assert fake != "25 1240 4748 4425 5351 0735 0545" and [s.entity_type for s in spans] == ["IBAN_CODE"]
    assert cs.iban_ok("PL" + fake.replace(" ", "")), fake


def test_a_dutch_bsn_is_found_by_its_11_proof_with_or_without_a_cue_and_order_numbers_stay():
    from agent_release.masking import Masker

    assert nid.nl_bsn_ok("111222333") and nid.nl_bsn_ok("1112.22.333") and not nid.nl_bsn_ok("111222334")
    m = Masker(KEY)
    for text, value in [("Mijn BSN is 111222333.", "111222333"),
                        ("burgerservicenummer: 1112.22.333", "1112.22.333"),
                        ("Hier is het nummer 123456782 voor de aanvraag.", "123456782")]:
        masked, spans = m.mask_text(text, "nl-NL")
        assert value not in masked and value.replace(" ", "") not in masked.replace(" ", ""), text
        assert spans and all(s.entity_type == "NATIONAL_ID" for s in spans), (text, spans)
        fake = masked[spans[0].start:spans[0].end]
        assert nid.nl_bsn_ok(fake), (text, fake)
    # after a BSN cue the format is enough (a mistyped check digit); masked whole, whatever its label
    masked, spans = m.mask_text("BSN 111 222 334 (volgens de brief)", "nl-NL")
    assert "111 222 334" not in masked and spans
    # an order / tracking cue vetoes a bare run as a BSN (below the masker's 0.5 threshold)
    text = "Uw bestelnummer is 123456782, trackingcode 123456782."
    res = nid.NordicEtcIdRecognizer().analyze(text, ["NL_BSN"])
    assert res and all(r.score < 0.5 for r in res if r.entity_type == "NL_BSN")


def test_bsn_fakes_are_valid_and_consistent():
    import random

    fakes = {nid.fake_national_id("NL_BSN", "111222333", random.Random(i)) for i in range(20)}
    assert all(f and nid.nl_bsn_ok(f) and len(f) == 9 for f in fakes) and len(fakes) > 10
