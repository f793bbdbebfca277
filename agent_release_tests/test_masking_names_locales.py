"""Person names beyond the first five languages (issue 15 items 2 and 6): a gazetteer from every
Faker locale, self-introduction / addressing / signature cues in 13 languages, lower-case names
after a cue, no verbs taken as names, it-IT / nl-NL / pl-PL / sv-SE surrogates, and the fallback
for locales without support of their own (reported in ``MaskStats.fallback_locales``).

Model-loading tests share one module-scoped :class:`Masker` (spaCy + Presidio load once).
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from agent_release import pii
from agent_release.contract import normalise, to_frame
from agent_release.masking import Masker
from agent_release.masking.gazetteer import gazetteer, person_locales
from agent_release.masking.surrogates import SurrogateFactory
from agent_release.masking.textutil import (
    SUPPORTED_LOCALES,
    UNKNOWN_REGION,
    faker_locale,
    fold_word,
    is_supported,
    phone_region,
)

KEY = b"test-names-locales-key-0123456789"


@pytest.fixture(scope="module")
def masker() -> Masker:
    return Masker(KEY)


# ------------------------------------------------------------------------------------------------
# sentences with names: (locale, text, the names that must be masked — and nothing else)
# ------------------------------------------------------------------------------------------------

NAMED = [
    # Italian
    ("it-IT", "Ciao, sono Marco Rossi e ho un problema con il mio ordine.", ["Marco Rossi"]),
    ("it-IT", "sono marco rossi, il pacco non è arrivato", ["marco rossi"]),
    ("it-IT", "Mi chiamo Giulia Bianchi.", ["Giulia Bianchi"]),
    ("it-IT", "Buongiorno, il mio nome è Alessandro Esposito.", ["Alessandro Esposito"]),
    ("it-IT", "Gentile Sig.ra Ferrari, la sua richiesta è stata registrata.", ["Ferrari"]),
    ("it-IT", "Cordiali saluti,\nFrancesca Romano", ["Francesca Romano"]),
    ("it-IT", "L'ordine è intestato a Luca De Luca.", ["Luca De Luca"]),
    ("it-IT", "Salve, parlo con il signor Giuseppe Conti?", ["Giuseppe Conti"]),
    ("it-IT", "mi chiamo chiara colombo e vorrei un rimborso", ["chiara colombo"]),
    ("it-IT", "Grazie mille Paolo, a presto!", ["Paolo"]),
    ("it-IT", "Distinti saluti, Roberto Marino", ["Roberto Marino"]),
    ("it-IT", "Sono Elena Ricci, cliente dal 2019.", ["Elena Ricci"]),
    ("it-IT", "Il tecnico Marco è passato stamattina.", ["Marco"]),  # a month only in Portuguese
    # Dutch
    ("nl-NL", "Hallo, ik ben Jan de Vries en ik heb een vraag over mijn bestelling.", ["Jan de Vries"]),
    ("nl-NL", "ik ben jan de vries", ["jan de vries"]),
    ("nl-NL", "Mijn naam is Sanne Bakker.", ["Sanne Bakker"]),
    ("nl-NL", "Ik heet Daan Visser en mijn pakket is niet aangekomen.", ["Daan Visser"]),
    ("nl-NL", "Geachte heer Jansen, bedankt voor uw bericht.", ["Jansen"]),
    ("nl-NL", "Beste Lotte, uw retour is verwerkt.", ["Lotte"]),
    ("nl-NL", "Met vriendelijke groet,\nPieter van den Berg", ["Pieter van den Berg"]),
    ("nl-NL", "De bestelling staat op naam van Emma Smit.", ["Emma Smit"]),
    ("nl-NL", "Dank je wel, Thijs!", ["Thijs"]),
    ("nl-NL", "Goedemiddag, u spreekt met Fleur Mulder van de klantenservice.", ["Fleur Mulder"]),
    ("nl-NL", "Ben je er nog, Sanne de Jong?", ["Sanne de Jong"]),
    ("nl-NL", "mvg, Kees de Boer", ["Kees de Boer"]),
    ("nl-NL", "Mevr. de Groot heeft het pakket ontvangen.", ["de Groot"]),
    ("nl-NL", "Hoi, met Femke. Waar blijft mijn pakket?", ["Femke"]),
    # Polish
    ("pl-PL", "Dzień dobry, nazywam się Katarzyna Nowak.", ["Katarzyna Nowak"]),
    ("pl-PL", "Jestem Piotr Wiśniewski i mam problem z zamówieniem.", ["Piotr Wiśniewski"]),
    ("pl-PL", "nazywam się anna kowalska", ["anna kowalska"]),
    ("pl-PL", "Mam na imię Tomasz, a na nazwisko Zieliński.", ["Tomasz", "Zieliński"]),
    ("pl-PL", "Szanowna Pani Agnieszka Wójcik, dziękujemy za kontakt.", ["Agnieszka Wójcik"]),
    ("pl-PL", "Pozdrawiam,\nMarek Lewandowski", ["Marek Lewandowski"]),
    ("pl-PL", "Dziękuję, pan Krzysztof Dąbrowski potwierdził zwrot.", ["Krzysztof Dąbrowski"]),
    ("pl-PL", "Cześć Ewa, paczka już jest w drodze.", ["Ewa"]),
    ("pl-PL", "Z poważaniem, Michał Kowalczyk", ["Michał Kowalczyk"]),
    # Swedish
    ("sv-SE", "Hej, jag heter Erik Andersson.", ["Erik Andersson"]),
    ("sv-SE", "Jag är Anna Lindqvist och jag har ett problem med min beställning.", ["Anna Lindqvist"]),
    ("sv-SE", "jag heter lars johansson", ["lars johansson"]),
    ("sv-SE", "Mitt namn är Karin Nilsson.", ["Karin Nilsson"]),
    ("sv-SE", "Med vänliga hälsningar,\nSofia Karlsson", ["Sofia Karlsson"]),
    ("sv-SE", "Tack så mycket, Johan!", ["Johan"]),
    ("sv-SE", "Kära Maria, vi har skickat ditt paket.", ["Maria"]),
    ("sv-SE", "Beställningen är registrerad på namnet Oskar Eriksson.", ["Oskar Eriksson"]),
    # Turkish (a fallback locale: no surrogates or phone formats of its own, cues all the same)
    ("tr-TR", "Merhaba, benim adım Mehmet Yılmaz.", ["Mehmet Yılmaz"]),
    ("tr-TR", "Ben Ayşe Demir, siparişim gelmedi.", ["Ayşe Demir"]),
    ("tr-TR", "Sayın Ahmet Kaya, talebiniz alınmıştır.", ["Ahmet Kaya"]),
    ("tr-TR", "Saygılarımla,\nFatma Şahin", ["Fatma Şahin"]),
    ("tr-TR", "benim adım emre çelik", ["emre çelik"]),
    ("tr-TR", "Merhaba Zeynep, kargonuz yola çıktı.", ["Zeynep"]),
    # Danish, Norwegian, Finnish (fallback locales)
    ("da-DK", "Hej, jeg hedder Mette Hansen.", ["Mette Hansen"]),
    ("da-DK", "Med venlig hilsen,\nSøren Jensen", ["Søren Jensen"]),
    ("nb-NO", "Hei, jeg heter Ole Nordmann.", ["Ole Nordmann"]),
    ("fi-FI", "Hei, nimeni on Mikko Virtanen.", ["Mikko Virtanen"]),
    ("fi-FI", "Ystävällisin terveisin,\nLaura Korhonen", ["Laura Korhonen"]),
    # German: "hans" is Swedish for "his", a name in German
    ("de-DE", "ich heiße hans meier und warte auf mein paket", ["hans meier"]),
    # English: "Ben" stays a name where it is one
    ("en-US", "Hi, I'm Ben Carter and my parcel is late.", ["Ben Carter"]),
    ("en-US", "Thanks Ben, that fixed it.", ["Ben"]),
]

#: capitalised non-names, verbs of self-introduction and common words: nothing is a person
UNNAMED = [
    ("it-IT", "Sono arrivato a casa ma il pacco non c'era."),
    ("it-IT", "Buongiorno, vorrei sapere quando arriva il mio ordine."),
    ("it-IT", "Grazie mille per l'aiuto, buona giornata!"),
    ("it-IT", "Sono molto contento del servizio."),
    ("it-IT", "Il Servizio Clienti è chiuso la Domenica."),
    ("it-IT", "Ciao, il codice sconto non funziona."),
    ("nl-NL", "Ik ben blij met de snelle levering."),
    ("nl-NL", "Ben je er nog? Ik wacht al een uur."),
    ("nl-NL", "Ik ben het niet eens met de kosten."),
    ("nl-NL", "Met vriendelijke groet, de klantenservice"),
    ("nl-NL", "Hallo, mijn pakket is nog niet bezorgd door PostNL."),
    ("nl-NL", "Dank je wel voor de hulp!"),
    ("nl-NL", "ik ben van plan de bestelling te annuleren"),
    ("pl-PL", "Jestem bardzo zadowolony z obsługi."),
    ("pl-PL", "Dzień dobry, paczka nie dotarła na czas."),
    ("pl-PL", "Pozdrawiam serdecznie i dziękuję za pomoc."),
    ("pl-PL", "Czy mogę zmienić adres dostawy?"),
    ("sv-SE", "Jag är inte nöjd med leveransen."),
    ("sv-SE", "Hej, min beställning har inte kommit fram än."),
    ("sv-SE", "Tack för hjälpen, ha en bra dag!"),
    ("sv-SE", "Jag heter inte så, det är fel i systemet."),
    ("tr-TR", "Ben de aynı sorunu yaşıyorum."),
    ("tr-TR", "Merhaba, siparişim hâlâ gelmedi."),
    ("tr-TR", "Ben çok memnun kaldım, teşekkürler."),
    ("tr-TR", "Teşekkürler, iyi günler dilerim."),
    ("fi-FI", "Olen tilannut paketin viime viikolla."),
    ("pt-BR", "Oi, cadê meu pedido?"),  # "Cade" is in Faker's "en" list
    ("en-US", "We sent a new reset link. It's valid for 30 minutes."),  # "Valid": az_AZ
    ("en-US", "Let me check with the carrier."),
    ("en-GB", "Shipped with Royal Mail, tracking number to follow."),
    ("fr-FR", "Bonjour Madame, Monsieur. Excusez-moi de vous déranger."),
]


def _covered(findings, start: int, end: int) -> bool:
    chars = set()
    for f in findings:
        chars.update(range(max(start, f.start), min(end, f.end)))
    return len(chars) == end - start


@pytest.mark.parametrize("locale,text,names", NAMED, ids=[f"{c[0]}-{i}" for i, c in enumerate(NAMED)])
def test_names_in_more_languages_are_found_and_nothing_else(masker, locale, text, names):
    persons = [f for f in masker.find(text, locale) if f.entity_type == pii.PERSON]
    allowed = set()
    for name in names:
        s = text.index(name)
        assert _covered(persons, s, s + len(name)), (locale, text, name, [text[f.start:f.end] for f in persons])
        allowed.update(range(s, s + len(name)))
    extra = [text[f.start:f.end] for f in persons if not set(range(f.start, f.end)) <= allowed]
    assert not extra, (locale, text, extra)


@pytest.mark.parametrize("locale,text", UNNAMED, ids=[f"{c[0]}-{i}" for i, c in enumerate(UNNAMED)])
def test_verbs_and_common_words_are_not_names(masker, locale, text):
    persons = [text[f.start:f.end] for f in masker.find(text, locale) if f.entity_type == pii.PERSON]
    assert not persons, (locale, text, persons)


def test_tables_are_large_enough():
    assert len(NAMED) >= 40 and len(UNNAMED) >= 20


def test_names_are_replaced_in_the_masked_text(masker):
    for locale, text, names in NAMED:
        masked, _ = masker.mask_text(text, locale)
        for name in names:
            for word in name.split():
                if fold_word(word) not in ("de", "van", "den"):
                    assert word not in masked.split(), (locale, text, word)


# ------------------------------------------------------------------------------------------------
# the gazetteer
# ------------------------------------------------------------------------------------------------

def test_gazetteer_comes_from_every_faker_person_locale():
    from faker.config import AVAILABLE_LOCALES

    locs = person_locales()
    assert set(locs) <= set(AVAILABLE_LOCALES)
    for loc in ("it_IT", "nl_NL", "pl_PL", "sv_SE", "da_DK", "no_NO", "fi_FI", "tr_TR", "hu_HU", "cs_CZ"):
        assert loc in locs
    g = gazetteer()
    assert set(g.sizes) == set(locs)
    for loc in ("it_IT", "nl_NL", "pl_PL", "sv_SE"):
        n_first, n_last = g.sizes[loc]
        assert n_first > 100 and n_last > 400, (loc, g.sizes[loc])
    # tuples, weighted OrderedDicts (sv_SE, fi_FI), extra lists (pl_PL unisex_last_names)
    for first, last in (("Giulia", "Esposito"), ("Sanne", "Bakker"), ("Katarzyna", "Wiśniewski"),
                        ("Linnea", "Andersson"), ("Aino", "Virtanen"), ("Ayşe", "Yılmaz")):
        assert g.is_first(first) and g.is_last(last), (first, last)
    assert g.is_last("Kowalska")  # the feminine of a -ski surname
    # Faker's placeholder names of the base provider are not taken as a locale's names
    assert "doe" not in g.sizes and all(isinstance(v, tuple) for v in g.sizes.values())
    # the narrower views
    assert g.core is not None and g.supported is not None
    assert g.supported.first <= g.core.first <= g.first


def test_ambiguity_is_judged_per_conversation_language():
    g = gazetteer()
    assert not g.is_strict_first("Hans") and g.is_stop("hans")  # Swedish "his"
    assert g.for_language("de").is_strict_first("Hans")
    assert not g.for_language("sv").is_strict_first("Hans")
    assert not g.for_language("nl").is_strict_first("ben") and g.for_language("en").is_strict_first("Ben")
    assert g.is_ambiguous_in("Marco", "pt") and not g.is_ambiguous_in("Marco", "it")
    assert g.for_language("xx") is g  # a language without lists of its own: every language's


def test_self_introduction_verbs_are_never_unambiguous_names():
    g = gazetteer()
    for w in ("ben", "sono", "jestem", "heter", "heet", "hedder", "olen", "benim", "chiamo", "nazywam"):
        assert g.is_stop(w), w
        assert not g.is_strict_name(w), w
    # a real name that is also a verb stays a name, only an ambiguous one
    assert g.is_first("Ben") and not g.is_strict_first("Ben")


# ------------------------------------------------------------------------------------------------
# locales: support, surrogates, fallback
# ------------------------------------------------------------------------------------------------

def test_supported_locales_and_their_fallbacks():
    for loc in ("it-IT", "nl-NL", "pl-PL", "sv-SE"):
        assert loc in SUPPORTED_LOCALES and is_supported(loc)
        assert faker_locale(loc) == loc.replace("-", "_")
        assert phone_region(loc) == loc.split("-")[1]
    assert is_supported("nl_NL") and is_supported("it-it") and is_supported("en-UK")
    for loc in ("tr-TR", "xx-YY", None, "", "it", "de-AT"):
        assert not is_supported(loc)
    assert faker_locale("tr-TR") == "tr_TR"  # Faker ships it
    assert faker_locale("xx-YY") == "en_US" and faker_locale("it") == "it_IT"
    assert phone_region("xx-YY") == UNKNOWN_REGION and phone_region("tr-TR") == "TR"
    assert phone_region(None) == "US"  # the contract's default locale


@pytest.mark.parametrize("locale", ["it-IT", "nl-NL", "pl-PL", "sv-SE"])
def test_names_are_faked_from_the_conversations_own_locale(locale):
    from agent_release.masking.gazetteer import _provider_names

    own = _provider_names(locale.replace("-", "_"))
    own_first = own["first"] | own["female"] | own["male"]
    sf, sf2 = SurrogateFactory(KEY), SurrogateFactory(KEY)
    fakes = []
    for name in ("Marco Rossi", "Jan de Vries", "Katarzyna Nowak", "Erik Andersson", "Laura Bianchi"):
        fake = sf.person(name, locale)
        assert fake == sf2.person(name, locale) == sf.fake(pii.PERSON, name, locale)  # consistent
        assert fake != name
        fakes.append(fake)
    assert all(fold_word(f.split()[0]) in own_first for f in fakes), (locale, fakes)
    assert all(fold_word(f.split()[-1]) in own["last"] for f in fakes), (locale, fakes)
    # one word keeps its fake inside a longer name
    assert sf.person("Marco", locale) == sf.person("Marco Rossi", locale).split()[0]


def test_titles_before_a_fake_name_stay_and_every_name_word_is_faked():
    sf = SurrogateFactory(KEY)
    out = sf.person("Sig.ra Gemma Ferrari", "it-IT")
    assert out.startswith("Sig.ra ") and "Gemma" not in out and "Ferrari" not in out
    out = sf.person("pan Marek Nowak", "pl-PL")
    assert out.startswith("pan ") and "Marek" not in out and "Nowak" not in out
    out = sf.person("Wei Pan", "en-US")  # a title word inside a name is a name word
    assert "Pan" not in out.split() and "Wei" not in out.split()


def _row(cid: str, locale: str | None, text: str) -> dict:
    return normalise({
        "conversation_id": cid, "user_id": "u-" + cid, "agent_version": "a1", "locale": locale,
        "started_at": datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        "messages": [{"role": "user", "content": text, "ts": datetime(2026, 11, 2, 9, 0, tzinfo=UTC)}],
    })


def test_unsupported_locales_fall_back_to_the_broadest_recognizers_and_say_so(masker):
    rows = [
        _row("c1", "tr-TR", "Merhaba, benim adım Mehmet Yılmaz. Telefonum +90 532 123 45 67."),
        _row("c2", "xx-YY", "Hello, my name is Jan Kowalski, call me on +48 512 345 678."),
        _row("c3", "fi", "Hei, nimeni on Mikko Virtanen, puhelin +358 40 123 4567."),
        _row("c4", "it-IT", "Ciao, sono Marco Rossi."),
        _row("c5", "xx-YY", "Ik ben Sanne Bakker, mijn nummer is +31 6 12345678."),
    ]
    frame = to_frame(rows)
    # the contract requires a locale; a frame built some other way may still lack one
    frame = frame.with_columns(pl.when(pl.col("conversation_id") == "c3").then(None)
                               .otherwise(pl.col("locale")).alias("locale"))
    masked, stats = masker.mask_frame(frame)
    assert dict(stats.fallback_locales) == {"tr-TR": 1, "xx-YY": 2, "(missing)": 1}
    assert stats.as_dict()["fallback_locales"] == {"(missing)": 1, "tr-TR": 1, "xx-YY": 2}
    texts = [r["messages"][0]["content"] for r in masked.iter_rows(named=True)]
    for text, secrets in zip(texts, [("Mehmet", "Yılmaz", "532 123 45 67"), ("Kowalski", "512 345 678"),
                                     ("Mikko", "Virtanen", "40 123 4567"), ("Rossi",),
                                     ("Sanne", "Bakker", "12345678")]):
        for s in secrets:
            assert s not in text, (s, text)


def test_no_fallback_reported_for_supported_locales(masker):
    rows = [_row(f"s{i}", loc, "Hello, my name is Anna Berg.") for i, loc in enumerate(SUPPORTED_LOCALES)]
    _, stats = masker.mask_frame(to_frame(rows))
    assert not stats.fallback_locales and stats.as_dict()["fallback_locales"] == {}
