"""Small text helpers shared by recognizers and surrogates (stdlib only)."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

#: Conversation locale (BCP 47) → Faker locale. Unknown regions fall back by language.
_FAKER_LOCALES = {
    "en-US": "en_US", "en-GB": "en_GB", "es-ES": "es_ES", "es-MX": "es_MX", "fr-FR": "fr_FR",
    "de-DE": "de_DE", "pt-BR": "pt_BR",
}
_FAKER_BY_LANG = {"en": "en_US", "es": "es_ES", "fr": "fr_FR", "de": "de_DE", "pt": "pt_BR"}
_REGION_BY_LANG = {"en": "US", "es": "ES", "fr": "FR", "de": "DE", "pt": "BR"}


@lru_cache(maxsize=256)
def faker_locale(locale: str | None) -> str:
    loc = (locale or "en-US").replace("_", "-")
    if loc in _FAKER_LOCALES:
        return _FAKER_LOCALES[loc]
    parts = loc.split("-")
    lang = parts[0].lower()
    if len(parts) > 1:
        cand = f"{lang}-{parts[-1].upper()}"
        if cand in _FAKER_LOCALES:
            return _FAKER_LOCALES[cand]
    return _FAKER_BY_LANG.get(lang, "en_US")


@lru_cache(maxsize=256)
def phone_region(locale: str | None) -> str:
    """ISO 3166 region used to parse national-format phone numbers ("612 345 678" in es-ES)."""
    loc = (locale or "en-US").replace("_", "-")
    parts = loc.split("-")
    for p in parts[1:]:
        if len(p) == 2 and p.isalpha():
            return "GB" if p.upper() == "UK" else p.upper()
    return _REGION_BY_LANG.get(parts[0].lower(), "US")


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
