"""Small text helpers shared by recognizers and surrogates (stdlib only)."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

#: Conversation locales the masker supports end to end: their cue phrases, their phone region's
#: national formats, and surrogates from their own Faker locale.
SUPPORTED_LOCALES = (
    "en-US", "en-GB", "es-ES", "es-MX", "fr-FR", "de-DE", "pt-BR", "it-IT", "nl-NL", "pl-PL", "sv-SE",
)
#: Conversation locale (BCP 47) → Faker locale. Unknown regions fall back by language.
_FAKER_LOCALES = {loc: loc.replace("-", "_") for loc in SUPPORTED_LOCALES}
_FAKER_BY_LANG = {"en": "en_US", "es": "es_ES", "fr": "fr_FR", "de": "de_DE", "pt": "pt_BR", "it": "it_IT",
                  "nl": "nl_NL", "pl": "pl_PL", "sv": "sv_SE"}
_REGION_BY_LANG = {"en": "US", "es": "ES", "fr": "FR", "de": "DE", "pt": "BR", "it": "IT", "nl": "NL", "pl": "PL",
                   "sv": "SE"}
#: the phone "region" of a locale tag with no usable region: libphonenumber's unknown region, for
#: which only international numbers (+CC / 00CC, any country) are recognised
UNKNOWN_REGION = "ZZ"


def _tag(locale: str | None) -> str:
    tag = (locale or "").strip().replace("_", "-")
    return tag[:-3] + "-GB" if tag.upper().endswith("-UK") else tag


@lru_cache(maxsize=256)
def is_supported(locale: str | None) -> bool:
    """Whether ``locale`` is one of :data:`SUPPORTED_LOCALES` (case-insensitive, ``_`` or ``-``)."""
    parts = _tag(locale).split("-")
    if len(parts) < 2:
        return False
    return f"{parts[0].lower()}-{parts[-1].upper()}" in _FAKER_LOCALES


@lru_cache(maxsize=256)
def faker_locale(locale: str | None) -> str:
    """Faker locale for the surrogates of a conversation locale: the supported locale itself; for
    any other tag the same language-region if Faker ships it ("tr-TR" → ``tr_TR``), else a
    supported locale of the same language, else ``en_US``."""
    loc = _tag(locale) or "en-US"
    if loc in _FAKER_LOCALES:
        return _FAKER_LOCALES[loc]
    parts = loc.split("-")
    lang = parts[0].lower()
    if len(parts) > 1:
        cand = f"{lang}-{parts[-1].upper()}"
        if cand in _FAKER_LOCALES:
            return _FAKER_LOCALES[cand]
        if _faker_has(cand.replace("-", "_")):
            return cand.replace("-", "_")
    return _FAKER_BY_LANG.get(lang, "en_US")


@lru_cache(maxsize=64)
def _faker_has(faker_loc: str) -> bool:
    try:
        from faker.config import AVAILABLE_LOCALES
    except ImportError:
        return False
    return faker_loc in AVAILABLE_LOCALES


@lru_cache(maxsize=256)
def phone_region(locale: str | None) -> str:
    """ISO 3166 region used to parse national-format phone numbers ("612 345 678" in es-ES).

    A tag without a region takes its language's usual region when the language is supported
    ("it" → IT); otherwise, and for a region code libphonenumber does not know ("xx-YY"),
    :data:`UNKNOWN_REGION`: international numbers of every country only. A missing locale is
    read as en-US (the contract's default)."""
    loc = _tag(locale) or "en-US"
    parts = loc.split("-")
    for p in parts[1:]:
        if len(p) == 2 and p.isalpha():
            region = "GB" if p.upper() == "UK" else p.upper()
            return region if _known_region(region) else UNKNOWN_REGION
    return _REGION_BY_LANG.get(parts[0].lower(), UNKNOWN_REGION)


@lru_cache(maxsize=256)
def _known_region(region: str) -> bool:
    try:
        import phonenumbers
    except ImportError:  # pragma: no cover - phonenumbers is a dependency
        return True
    return region in phonenumbers.SUPPORTED_REGIONS


def language(locale: str | None) -> str:
    return (locale or "en").split("-")[0].split("_")[0].lower()


@lru_cache(maxsize=4096)
def _fold_char(c: str) -> str:
    base = unicodedata.normalize("NFKD", c)[:1] or c
    low = base.lower()
    return low if len(low) == 1 else base


def fold(text: str) -> str:
    """Lower-case, accent-free copy of ``text`` with the SAME length (offsets stay valid)."""
    if text.isascii():
        return text.lower()
    return "".join(_fold_char(c) for c in text)


def fold_word(word: str) -> str:
    """Accent-free casefold of a single word, for gazetteer look-ups (length may change)."""
    if word.isascii():
        return word.lower()
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def match_case(template: str, word: str) -> str:
    """Give ``word`` the casing style of ``template`` (all-lower, ALL-UPPER or as generated)."""
    letters = [c for c in template if c.isalpha()]
    if letters and all(c.islower() for c in letters):
        return word.lower()
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return word.upper()
    return word


def substitute_alnum(template: str, chars: str) -> str | None:
    """Write ``chars`` into the alphanumeric positions of ``template``, keeping its separators
    (``"612 34 56 78"`` + ``"699112233"`` → ``"699 11 22 33"``). ``None`` if counts differ."""
    slots = sum(1 for c in template if c.isalnum())
    if slots != len(chars):
        return None
    it = iter(chars)
    out = []
    for c in template:
        if c.isalnum():
            n = next(it)
            out.append(n.lower() if c.islower() else n)
        else:
            out.append(c)
    return "".join(out)
