"""Person names after greetings / thanks and in signatures (issue 15: names <= 0.5% leaked):
a first name alone ending a greeting or thanks sentence ("Tak for din besked, Per."), a short
greeting line ("Hallo zusammen Türkan,"), Turkish honorifics after the name ("Ayşe Hanım"), a
name line under a closing ("MfG\\nGert", "Sent from my phone\\nHeather") or ending a message
("/Anna", "-- Jan") — and words that stay ("Thanks, Will do", "Hej, kan ni", "Grazie mille").
"""

from __future__ import annotations

import pytest

from agent_release import pii
from agent_release.masking import Masker
from agent_release.masking.gazetteer import gazetteer

KEY = b"test-names-greetings-key-0123456789"


@pytest.fixture(scope="module")
def masker() -> Masker:
    return Masker(KEY)


def _persons(masker: Masker, locale: str, text: str) -> list[str]:
    return [text[f.start:f.end] for f in masker.find(text, locale) if f.entity_type == pii.PERSON]


# (locale, text, the exact person spans)
POSITIVE = [
    # a first name ending a greeting / thanks sentence
    ("da-DK", "Tak for din besked, Per. Jeg har oprettet en sag.", ["Per"]),
    ("da-DK", "Tak for din besked, Bøje. Erstatningen sendes i dag.", ["Bøje"]),
    ("nb-NO", "Takk for meldingen, Jørgen.\n\nJeg har opprettet sak.", ["Jørgen"]),
    ("sv-SE", "Tack för ditt meddelande, Tage. Jag behöver mer information.", ["Tage"]),
    ("sv-SE", "Hej Anna,\nvi har skickat paketet.", ["Anna"]),
    ("fi-FI", "Kiitos viestistäsi, Inkeri. Näen veloituksen tililläsi.", ["Inkeri"]),
    ("fi-FI", "Kiitos viestistäsi, Marja-Leena. Tilaus lähti varastosta.", ["Marja-Leena"]),
    ("fi-FI", "Kiitos, Mikko", ["Mikko"]),
    ("tr-TR", "Merhaba Ayşe Hanım,\nsiparişiniz yola çıktı.", ["Ayşe Hanım"]),
    ("tr-TR", "Teşekkürler, Emre Bey.", ["Emre Bey"]),
    ("tr-TR", "iyi akşamlar Tekecan,\n\nsiparişim nerede?", ["Tekecan"]),
    ("it-IT", "Grazie, Luca!", ["Luca"]),
    ("it-IT", "Grazie per averci scritto, Adamo. Ho aperto la pratica.", ["Adamo"]),
    ("it-IT", "buongiorno a tutti Massimiliano,\n\nil pacco non è arrivato.", ["Massimiliano"]),
    ("nl-NL", "Dank je, Sanne.", ["Sanne"]),
    ("pl-PL", "Dziękujemy za wiadomość, Grzegorz.\n\nWymiana wyjdzie jutro.", ["Grzegorz"]),
    ("de-DE", "Danke für Ihre Nachricht, Ekkehard. Der Ersatz geht heute raus.", ["Ekkehard"]),
    ("de-DE", "Hallo zusammen Türkan,\n\nmeine Bestellung fehlt.", ["Türkan"]),
    ("en-US", "Thanks for reaching out, Shannon. I can see a charge on your card.", ["Shannon"]),
    ("es-MX", "Qué tal Vanesa,\n\nmi fecha de nacimiento es 1990-01-01", ["Vanesa"]),
    ("es-ES", "Hola equipo Candela,\n\nmi pedido no ha llegado.", ["Candela"]),
    ("fr-FR", "Merci pour votre message, Laure. Merci de mettre à jour l'application.", ["Laure"]),
    ("pt-BR", "Obrigado pelo contato, Julia. Vejo uma cobrança no seu cartão.", ["Julia"]),
    ("nb-NO", "> Takk for meldingen, Jørgen.\n> \n> Jeg har opprettet sak.", ["Jørgen"]),
    # a name line under a closing, or ending the message
    ("de-DE", "Das Paket fehlt noch.\n\nMfG\nGert\n\nAm 16.11.2025 um 12:18 schrieb Support:", ["Gert"]),
    ("pl-PL", "Proszę o zwrot.\n\nWysłane z iPhone'a\nPaweł\n\nW dniu 25.08.2025 o 00:30", ["Paweł"]),
    ("da-DK", "Min IP hvis det hjælper\n\nSendt fra min iPhone\nMaria\n\nDen 20. september 2024", ["Maria"]),
    ("en-US", "my IP if that helps\n\nSent from my phone\nHeather\n\nOn November 3, 2024 at 6:05", ["Heather"]),
    ("es-MX", "me conecto desde casa\n\nSaaludos,\nMaximiliano\n\nEl 2024-11-05 a las 21:15", ["Maximiliano"]),
    ("pt-BR", "entraram na minha conta\n\nObrgiado,\nJulia", ["Julia"]),
    ("fr-FR", "mon colis est perdu\n\nCorrdialement,\nAimé", ["Aimé"]),
    ("tr-TR", "banka bilgilerim ektedir\n\nİyi günler,\nTalibe\n\n05.08.2024 10:30 tarihinde", ["Talibe"]),
    ("tr-TR", "giriş yapılmış\n\niPhone'umdan gönderildi\nAköz", ["Aköz"]),
    ("sv-SE", "Paketet har inte kommit.\n/Anna", ["Anna"]),
    ("pl-PL", "Proszę o kontakt.\n-- Jan", ["Jan"]),
    ("nb-NO", "Hvor er pakken min?\n\nMvh\nKari", ["Kari"]),
    ("fi-FI", "Paketti ei ole tullut.\n\nTerveisin\nMikko", ["Mikko"]),
    ("nl-NL", "Mijn pakket is niet aangekomen.\n\nGroetjes,\nSanne", ["Sanne"]),
    ("it-IT", "Ho annullato l'ordine\n\nInviato da iPhone\nMelania", ["Melania"]),
    ("da-DK", "Hvor er min pakke?\n\nPer", ["Per"]),
    ("da-DK", "Kære Åge, Jeg har oprettet sag #CS-252.", ["Åge"]),
    ("pl-PL", "Dobry wieczór Tomasz,\n\nur. 17.04.1984", ["Tomasz"]),
    # a lower-case own-language first name that is an English function word, before a surname
    ("da-DK", "øh godmorgen mit navn er per andersen altså min ordre", ["per andersen"]),
]


@pytest.mark.parametrize(("locale", "text", "names"), POSITIVE)
def test_names_after_greetings_and_in_signatures_are_masked(masker, locale, text, names):
    assert _persons(masker, locale, text) == names


NEGATIVE = [
    ("en-US", "Thanks, Will do."),
    ("en-US", "Thanks, will do!"),
    ("sv-SE", "Hej, kan ni hjälpa mig med min beställning?"),
    ("it-IT", "Grazie mille"),
    ("it-IT", "Grazie mille, a presto!"),
    ("en-GB", "Thanks for the update, Monday works."),
    ("en-US", "Hi team,\nmy Kindle stopped charging."),
    ("de-DE", "Danke für Ihre Nachricht, Montag passt."),
    ("da-DK", "Tak for hjælpen, Perfekt."),
    ("fr-FR", "Merci pour votre aide, Cordialement."),
    ("en-US", "Thanks, Amazon."),
    ("es-ES", "Gracias, Saludos."),
    ("nl-NL", "Bedankt, Groetjes"),
    ("en-US", "The package arrived.\n\nThanks\n\nOk"),
    ("en-US", "Order status:\nShipped"),
    ("pl-PL", "Dzień dobry,\nzamówienie nie dotarło.\nPozdrawiam"),
    ("fi-FI", "Kiitos, Hyvää päivää!"),
    ("tr-TR", "Merhaba, Sipariş nerede?"),
    ("pt-BR", "Obrigado, Abraços"),
    ("en-US", "Dear customer,\nyour Apple iPhone is ready.\nSupport"),
    ("de-DE", "Hallo,\nmein Paket fehlt.\n\nDanke"),
    ("en-GB", "Hello,\nthe order was placed in May.\nJune"),
    # places, brands and products that some locale's name list has, alone on a line
    ("en-US", "My order is late.\n\nLondon"),
    ("en-GB", "Thanks for the tracking link, China."),
    ("de-DE", "Hallo,\nder Laptop ist kaputt.\nGrüße\nDell"),
    ("fi-FI", "Liittymä ei toimi.\n\nTelia"),
    ("fr-FR", "Mon forfait ne marche pas.\n\nOrange"),
    ("da-DK", "det koster 5 kr per styk, prisen er per stk"),
    ("en-US", "Thanks, will check tomorrow."),
    ("en-US", "Thanks, Amazon, for nothing."),
    ("es-ES", "Que tal, Correos no ha llegado."),
]


@pytest.mark.parametrize(("locale", "text"), NEGATIVE)
def test_greeting_and_closing_words_stay(masker, locale, text):
    assert _persons(masker, locale, text) == []


def test_own_language_first_names_ignore_other_languages_stop_words():
    g = gazetteer()
    assert g.is_own_first("Per", "da") and g.is_own_first("Bøje", "da")
    assert not g.is_own_first("Per", "en")  # English "per"
    assert g.is_own_first("Marja-Leena", "fi")
    assert not g.is_own_first("Hej", "sv") and not g.is_own_first("Tak", "da")
