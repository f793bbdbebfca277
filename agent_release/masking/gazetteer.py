"""Name gazetteer and stop lists for the multilingual name recognizer.

First names and surnames come from Faker's person providers for the seven supported locales
(en-US, en-GB, es-ES, es-MX, fr-FR, de-DE, pt-BR); words that are also function words in one of
the five languages (spaCy's stop-word lists) or obvious non-names (months, greetings, street
types...) are flagged as ambiguous so that "Will", "Mayo" or "Calle" never count as name
evidence on their own. Everything is folded (accent-free, case-folded) so "Lucia" matches "Lucía".

Built once per process, lazily (Faker and spaCy's stop-word modules are imported on first use).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache

from agent_release.masking.textutil import fold_word

FAKER_PERSON_LOCALES = ("en_US", "en_GB", "es_ES", "es_MX", "fr_FR", "de_DE", "pt_BR")

PARTICLES = frozenset(
    "de del della di da das do dos du des la le las los van von der den y e ten ter zu auch".split()
)

TITLES = frozenset(
    """mr mrs ms miss mx dr dra prof sir madam sr sra srta don dona doña m mme mlle herr frau
    señor senor señora senora señorita senorita monsieur madame mademoiselle senhor senhora
    sñr""".split()
)

MONTHS = {
    "en": "january february march april may june july august september october november december",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "fr": "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre",
    "de": "januar februar marz april mai juni juli august september oktober november dezember",
    "pt": "janeiro fevereiro marco abril maio junho julho agosto setembro outubro novembro dezembro",
}

_EXTRA_STOP = """
monday tuesday wednesday thursday friday saturday sunday lunes martes miercoles jueves viernes
sabado domingo lundi mardi mercredi jeudi vendredi samedi dimanche montag dienstag mittwoch
donnerstag freitag samstag sonntag segunda terca quarta quinta sexta
hi hello hey dear thanks thank regards best cheers hola gracias saludos buenas buenos estimado
estimada querido querida bonjour bonsoir salut merci cordialement cher chere hallo danke gruss
grusse gruesse liebe lieber sehr geehrte geehrter ola oi obrigado obrigada atenciosamente prezado
prezada caro cara abracos please ok okay yes no si oui ja nao sim
street st avenue ave road rd lane drive boulevard court place terrace way close crescent square
calle avenida paseo plaza camino carrera ronda travesia rua praca estrada alameda travessa largo
rue allee impasse quai chemin strasse platz weg gasse allee ring
order pedido commande bestellung encomenda account cuenta compte konto conta card tarjeta carte
karte cartao phone telefono telephone telefon email correo courriel support soporte suporte
customer cliente client kunde team equipo equipe equipa help ayuda aide hilfe ajuda
amazon paypal visa mastercard amex google apple iphone android windows
mr mrs ms dr sr sra herr frau mme
evri ups usps fedex dpd dhl gls hermes correos seur mrw estafeta colissimo chronopost correios
jadlog loggi royal mail ebay samsung microsoft netflix spotify uber whatsapp bluetooth wifi
iban dni nie nif cpf ssn nir curp nino pin sku otp cvv
jan feb mar apr jun jul aug sep sept oct nov dec ene abr ago dic janv fevr avr juil dec okt dez fev
out set
""".split()


@dataclass(frozen=True)
class Gazetteer:
    """Folded first names / surnames. Names that are also function words or months ("Julio",
    "Marco", "Ella", "Mayo") stay in the lists but are flagged by :meth:`is_stop`; recognizers
    only accept them with extra evidence (capitalised after a cue, or next to a surname)."""

    first: frozenset[str]
    first_female: frozenset[str]
    first_male: frozenset[str]
    last: frozenset[str]
    stop: frozenset[str]

    def _in(self, word: str, *sets: frozenset[str], strict: bool = False) -> bool:
        # hyphenated names ("Heinz-Otto", "Bejarano-Blanco") count when every part does
        parts = [p for p in fold_word(word).split("-") if len(p.strip(".")) > 1]  # "Klaus-D."
        return bool(parts) and all(
            any(p in s for s in sets) and not (strict and p in self.stop) for p in parts
        )

    def is_first(self, word: str) -> bool:
        return self._in(word, self.first)

    def is_last(self, word: str) -> bool:
        return self._in(word, self.last)

    def is_name(self, word: str) -> bool:
        return self._in(word, self.first, self.last)

    def is_stop(self, word: str) -> bool:
        return fold_word(word) in self.stop

    def is_strict_first(self, word: str) -> bool:
        return self._in(word, self.first, strict=True)

    def is_strict_last(self, word: str) -> bool:
        return self._in(word, self.last, strict=True)

    def is_strict_name(self, word: str) -> bool:
        return self._in(word, self.first, self.last, strict=True)

    def gender(self, word: str) -> str | None:
        w = fold_word(word)
        f, m = w in self.first_female, w in self.first_male
        if f and not m:
            return "female"
        if m and not f:
            return "male"
        return None


def _words(values) -> set[str]:
    out: set[str] = set()
    for v in values:
        for part in str(v).replace("-", " ").split():
            w = fold_word(part.strip(".,'’"))
            if len(w) >= 2 and w.isalpha() and w not in PARTICLES:
                out.add(w)
    return out


def _stop_words() -> set[str]:
    stop: set[str] = set()
    for lang in ("en", "es", "fr", "de", "pt"):
        try:
            mod = importlib.import_module(f"spacy.lang.{lang}.stop_words")
            stop |= {fold_word(w) for w in mod.STOP_WORDS}
        except Exception:  # spaCy missing or a language without a list: the extras still apply
            pass
    for months in MONTHS.values():
        stop |= set(months.split())
    stop |= {fold_word(w) for w in _EXTRA_STOP}
    stop |= {fold_word(w) for w in TITLES}
    return stop


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    first: set[str] = set()
    female: set[str] = set()
    male: set[str] = set()
    last: set[str] = set()
    for loc in FAKER_PERSON_LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{loc}").Provider
        for attr, bucket in (
            ("first_names", first), ("first_names_female", female), ("first_names_male", male),
            ("last_names", last),
        ):
            values = getattr(provider, attr, None)
            if values:
                bucket |= _words(values)
    first |= female | male
    stop = _stop_words()
    return Gazetteer(
        first=frozenset(first), first_female=frozenset(female), first_male=frozenset(male),
        last=frozenset(last), stop=frozenset(stop),
    )
