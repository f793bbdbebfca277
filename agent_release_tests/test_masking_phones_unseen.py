"""Phone numbers the numbering plan calls invalid, foreign national formats and grouped numbers
without a cue are masked; order ids, amounts, dates, times, versions, postcodes and tracking
numbers next to them are not (issue 15)."""

from __future__ import annotations

import pytest

from agent_release.masking import Masker


@pytest.fixture(scope="module")
def masker() -> Masker:
    return Masker(b"k" * 32)


#: (locale, text, the phone number in it)
POSITIVES = [
    # invalid in the conversation's plan, after a phone cue
    ("es-ES", "pues cambié de número, el nuevo es 612 30 93 373 pues mi fecha", "612 30 93 373"),
    ("sv-SE", "alltså ni når mig på 0009-06 68 55 eh mitt födelsedatum", "0009-06 68 55"),
    ("nb-NO", "altså dere når meg på 010 123 4019 eh født 21.02.", "010 123 4019"),
    ("pl-PL", "zmieniłam numer, nowy to 12 345 68 012. mój adres to", "12 345 68 012"),
    ("da-DK", "Tak,\nMaria Schultz\nM: 1177 1058\n", "1177 1058"),
    ("it-IT", "Grazie,\nMelania Forza\nM: 312 345 663\nforza.m@example.com", "312 345 663"),
    ("fi-FI", "minut tavoittaa numerosta 078 123 40 03 - paketti pitää", "078 123 40 03"),
    ("tr-TR", "yani bana 07764437829 numarasından ulaşabilirsiniz", "07764437829"),
    ("pl-PL", "Dziękuję, zapisałem 12 345 68 012 jako numer kontaktowy", "12 345 68 012"),
    ("da-DK", "Tak, jeg har gemt 1907 5014 som kontaktnummer", "1907 5014"),
    ("en-US", "call me on 0412 345 67 after six", "0412 345 67"),
    ("it-IT", "mi numero è 0612 3456 78, grazie", "0612 3456 78"),
    # foreign national formats
    ("pl-PL", "zmieniłam numer, nowy to 078 123 42 81\npaczka ma iść", "078 123 42 81"),
    ("fr-FR", "j'ai changé de numéro, le nouveau est le 030 120698 euh ma date", "030 120698"),
    ("de-DE", "Sie erreichen mich unter 0412 345 678 (Australien)", "0412 345 678"),
    ("en-GB", "my number is (06) 1234 5678 while I'm in Amsterdam", "(06) 1234 5678"),
    ("sv-SE", "ring mig på 0412 345 678 i kväll", "0412 345 678"),
    ("es-MX", "mi celular en España es 612 34 56 78", "612 34 56 78"),
    # no cue, phone-style grouping, possible somewhere
    ("pt-BR", "Versão 3.1.19 (build 5466).. 61 1678-3903 depois das 00:00", "61 1678-3903"),
    ("fi-FI", "tässä vielä 078 123 40 03 jos tarvitsette", "078 123 40 03"),
    ("en-US", "here it is: 0412 345 678 thanks", "0412 345 678"),
    ("de-DE", "und hier noch 070-123 45 67 falls nötig", "070-123 45 67"),
    ("es-ES", "y no es lo que encargué. - (612 34 40 8) es el de mi móvil", "612 34 40 8"),
    ("nl-NL", "voor de zekerheid: (06) 1234 5678", "(06) 1234 5678"),
]

NEGATIVES = [
    ("en-US", "call me about the invoice INV-2026-123456 for 1 234 567"),
    ("es-ES", "el pedido 1234567890 costó 1.234,56 €"),
    ("de-DE", "Die Lieferung kam am 12.03.2024 um 14:30 an."),
    ("en-US", "Please update the app to v2.10.3 first."),
    ("es-ES", "Actualice la app a la 7.5.10 (build 0632); el error continúa"),
    ("en-US", "use on 2025-01-06; the parcel number is 9400 5354 9274 6732 2570 00. To verify"),
    ("fi-FI", "lähetystunnus on 9400 5947 6197 4037 7887 87. Tilin vahvistus"),
    ("fi-FI", "Hei, palautin tilauksen 94-1905 16. maaliskuuta 2024, mutta EUR 9,00"),
    ("de-DE", "Bestellung 7723-31 über 263,77 € am 30. Oktober, PLZ 80331 München."),
    ("pl-PL", "Zamówienie 12345678, kwota 1 234,45 zł, kod 00-950 Warszawa"),
    ("en-US", "order 1234 5678 shipped, total $1,250.00"),
    ("fr-FR", "la commande 88-1123 est du 02/11/2026 à 14h30"),
]


@pytest.mark.parametrize(("locale", "text", "phone"), POSITIVES, ids=[f"{p[0]}-{i}" for i, p in enumerate(POSITIVES)])
def test_unseen_phone_forms_are_masked(masker, locale, text, phone):
    findings = [f for f in masker.find(text, locale) if f.entity_type == "PHONE_NUMBER"]
    s = text.index(phone)
    assert any(f.start <= s and s + len(phone) <= f.end for f in findings), [
        (text[f.start:f.end], f.score) for f in masker.find(text, locale)]


@pytest.mark.parametrize(("locale", "text"), NEGATIVES, ids=[f"{n[0]}-{i}" for i, n in enumerate(NEGATIVES)])
def test_phone_lookalikes_stay_unmasked(masker, locale, text):
    findings = [f for f in masker.find(text, locale) if f.entity_type == "PHONE_NUMBER"]
    assert findings == [], [(text[f.start:f.end], f.score) for f in findings]
