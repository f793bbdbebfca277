"""Consistent, locale-aware, format-valid fake values — without a mapping table.

Every fake is a pure function of ``(key, entity type, normalised original value, locale)``:
the generator (Faker for the conversation's locale, or a ``random.Random``) is seeded from
``HMAC-SHA256(key, entity_type + "\\x1f" + normalised value)``. The same value therefore gets the
same fake in every call, process and partition, and nobody without the key can link a fake back
to its original by re-deriving it.

Locale: names, addresses and month names come from the conversation's locale (a Spanish
conversation gets Spanish names). Names are faked word by word — first names and surnames
separately — so "Lucía Pérez", "Lucía" and "Sra. Pérez" stay coherent, and an email like
``lucia.perez84@gmail.com`` becomes ``<fake first>.<fake last>NN@example.com`` with the same fake
words. Identifiers whose format is fixed by the value itself (cards, IBANs, national ids, IPs) do
not depend on the locale.

Recognisable by design: emails use example.com/.net/.org, IPs the documentation ranges
(192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32), phones fictional ranges where a
country has them (US 555-01xx, UK 07700 900xxx / 020 7946 0xxx, FR 01 99 00 / 06 39 98).
Cards pass Luhn within the original's network, IBANs have valid mod-97 check digits, DNI/NIE the
right letter, CPF/NIR/Steuer-ID their check digits.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import random
import re
from datetime import date

from agent_release import pii
from agent_release.masking import checksums as cs
from agent_release.masking.gazetteer import MONTHS, PARTICLES, TITLES, gazetteer
from agent_release.masking.textutil import (
    faker_locale,
    fold,
    fold_word,
    language,
    match_case,
    phone_region,
    substitute_alnum,
)

_MONTH_NAMES = {
    "en": "January February March April May June July August September October November December",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "pt": "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
    "pl": "stycznia lutego marca kwietnia maja czerwca lipca sierpnia września października listopada grudnia",
    "sv": "januari februari mars april maj juni juli augusti september oktober november december",
}
_EN_ABBR = "jan feb mar apr may jun jul aug sep oct nov dec".split()
_MONTH_LOOKUP: dict[str, list[tuple[str, int]]] = {}
for _lang, _names in MONTHS.items():
    for _i, _m in enumerate(_names.split()):
        _MONTH_LOOKUP.setdefault(_m, []).append((_lang, _i))
for _i, _m in enumerate(_EN_ABBR):
    _MONTH_LOOKUP.setdefault(_m, []).append(("en-abbr", _i))
_MONTH_LOOKUP.setdefault("sept", []).append(("en-abbr", 8))

_US_AREA_CODES = ("202", "212", "213", "305", "312", "415", "503", "512", "617", "646", "702", "718", "917")
_BR_DDD = ("11", "21", "31", "41", "51", "61", "71", "81", "85", "92")
_DOC_NETS_V4 = ("192.0.2", "198.51.100", "203.0.113")
_EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org")
_NINO_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
_NINO_SECOND = "ABCEGHJKLMNPRSTWXYZ"
_MORE_NATIONAL_IDS = ("IT_CF", "PL_PESEL", "SE_PERSONNUMMER", "DK_CPR", "NO_FNR", "FI_HETU", "TR_TCKN", "NL_BSN")

_NAME_TOKEN = re.compile(r"[^\W\d_][\w'’]*|\d+|\W+?", re.UNICODE)
_EMAIL_PART = re.compile(r"[^\W\d_]+|\d+|[^\w]|_", re.UNICODE)


class SurrogateFactory:
    """Produces the fake for one found value. Thread-compatible (one per thread if shared)."""

    def __init__(self, key: bytes, *, cache_size: int = 200_000):
        if not key:
            raise ValueError("masking key must not be empty")
        self._key = key
        self._fakers: dict = {}
        self._cache: dict[tuple, str] = {}
        self._cache_size = cache_size
        self._gaz = None

    # -- seeding ------------------------------------------------------------------------------
    def seed(self, kind: str, normalised: str) -> int:
        digest = hmac.new(self._key, f"{kind}\x1f{normalised}".encode(), hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big")

    def rng(self, kind: str, normalised: str) -> random.Random:
        return random.Random(self.seed(kind, normalised))

    def faker(self, locale: str, seed: int):
        floc = faker_locale(locale)
        fk = self._fakers.get(floc)
        if fk is None:
            from faker import Faker

            fk = self._fakers[floc] = Faker(floc)
        fk.seed_instance(seed)
        return fk

    @property
    def gaz(self):
        if self._gaz is None:
            self._gaz = gazetteer()
        return self._gaz

    # -- entry point --------------------------------------------------------------------------
    def fake(self, entity_type: str, value: str, locale: str, subtype: str | None = None) -> str:
        ck = (entity_type, subtype, value, faker_locale(locale))
        hit = self._cache.get(ck)
        if hit is not None:
            return hit
        fn = {
            pii.PERSON: self.person, pii.EMAIL_ADDRESS: self.email, pii.PHONE_NUMBER: self.phone,
            pii.CREDIT_CARD: self.card, pii.IBAN_CODE: self.iban, pii.IP_ADDRESS: self.ip,
            pii.STREET_ADDRESS: self.address, pii.DATE_OF_BIRTH: self.date_of_birth,
        }.get(entity_type)
        if entity_type == pii.NATIONAL_ID:
            out = self.national_id(value, subtype)
        elif fn is None:
            out = self.generic(entity_type, value)
        else:
            out = fn(value, locale)
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[ck] = out
        return out

    # -- names --------------------------------------------------------------------------------
    def name_word(self, word: str, role: str, locale: str, gender: str | None = None,
                  avoid: frozenset[str] = frozenset()) -> str:
        """Fake for one name word; ``role`` is "first" or "last".

        A fake never contains the original word ("João" must not become "João Lucas"), nor a word
        of ``avoid`` (the other words of the same name or address), and is never a word that is
        both a first and a last name: "Stewart Brooks" must not become "Bradley Stewart", which
        would put the real first name back as a fake surname. The choice stays a function of the
        word alone unless it collides with ``avoid``."""
        norm = fold_word(word)
        kind = "PERSON_FIRST" if role == "first" else "PERSON_LAST"
        seed = self.seed(kind, norm)
        g = self.gaz
        for attempt in range(12):
            fk = self.faker(locale, seed + attempt)
            if role == "first":
                sex = gender or g.gender(word) or ("female" if seed % 2 else "male")
                fake = fk.first_name_female() if sex == "female" else fk.first_name_male()
            else:
                fake = fk.last_name()
            ff = fold_word(fake)
            parts = set(ff.replace("-", " ").split())
            if (norm not in parts and norm not in ff and not (parts & avoid)
                    and not any(g.is_first(p) and g.is_last(p) for p in parts)):
                break
        return match_case(word, fake)

    def person(self, value: str, locale: str) -> str:
        tokens = _NAME_TOKEN.findall(value)
        words = [i for i, t in enumerate(tokens) if t[:1].isalpha()]
        g = self.gaz
        out = list(tokens)
        # honorifics before the name stay ("Sig.ra", "dott.ssa", "pan", "Mevr."); a title word
        # inside the name is a name word ("Wei Pan")
        titles: set[int] = set()
        for i in words:
            if fold_word(tokens[i]) not in TITLES:
                break
            titles.add(i)
        for i in list(titles):  # the feminine endings of Italian abbreviations: "Sig.ra", "Dott.ssa"
            if i + 2 < len(tokens) and tokens[i + 1] == "." and fold_word(tokens[i + 2]) in ("ra", "na", "ssa"):
                titles.add(i + 2)
        name_words = [i for i in words if i not in titles and fold_word(tokens[i]) not in PARTICLES]
        avoid = frozenset(fold_word(tokens[i]) for i in name_words)
        after_title = bool(titles)
        prev_word = {b: a for a, b in zip(words, words[1:])}
        for n, i in enumerate(name_words):
            w = tokens[i]
            if n == 0:
                # "Sr. Pérez": a lone word after a title is a surname; "Mr. John Smith" is not
                if (after_title and (len(name_words) == 1 or not g.is_first(w))) or (
                        len(name_words) == 1 and g.is_last(w) and not g.is_first(w)):
                    role = "last"
                else:
                    role = "first"
            elif n == 1 and len(name_words) >= 3 and g.is_first(w) and not g.is_last(w):
                role = "first"  # compound first name: "Julio Ignacio Santana", "Maria Eduarda Lima"
            else:
                role = "last"
            fake = self.name_word(w, role, locale, avoid=avoid)
            if i in prev_word and fold_word(tokens[prev_word[i]]) in PARTICLES:
                # "Jan de Vries": the original's particle stays, so the fake brings none of its own
                # (Faker nl_NL's "van Ghoerle" would make "de van Ghoerle")
                parts = fake.split(" ")
                while len(parts) > 1 and fold_word(parts[0].strip("'’")) in PARTICLES | {"s", "t"}:
                    parts.pop(0)
                fake = " ".join(parts)
            out[i] = fake
        return "".join(out)

    # -- email --------------------------------------------------------------------------------
    def email(self, value: str, locale: str) -> str:
        local, _, domain = value.rpartition("@")
        if not local:
            local, domain = value, ""
        parts = _EMAIL_PART.findall(local)
        out = []
        alpha_seen = 0
        g = self.gaz
        avoid = frozenset(fold_word(p) for p in parts if p.isalpha())
        for p in parts:
            if p.isalpha():
                fw = fold_word(p)
                if len(fw) >= 2 and (g.is_first(p) and (alpha_seen == 0 or not g.is_last(p))):
                    fake = self.name_word(p, "first", locale, avoid=avoid)
                elif len(fw) >= 2 and g.is_last(p):
                    fake = self.name_word(p, "last", locale, avoid=avoid)
                else:
                    fake = self.faker(locale, self.seed("EMAIL_WORD", fw)).last_name()
                    if len(fw) <= 2:
                        fake = fake[: max(1, len(fw))]
                out.append(_ascii_slug(fake))
                alpha_seen += 1
            elif p.isdigit():
                r = self.rng("EMAIL_DIGITS", local.lower())
                out.append("".join(str(r.randrange(10)) for _ in p))
            else:
                out.append(p if p in "._-+" else "")
        new_local = "".join(out).strip("._-+") or "user"
        dom = _EXAMPLE_DOMAINS[self.seed("EMAIL_DOMAIN", domain.lower()) % 3]
        return f"{new_local}@{dom}"

    # -- phone --------------------------------------------------------------------------------
    def phone(self, value: str, locale: str) -> str:
        """A fake of the same number type, rendered in the original's layout. Seeded from the
        number's E.164 form (:func:`agent_release.masking.phonenorm.normalise`: the region of the
        conversation, else the first region where the number is valid), so "+34 612 34 56 78",
        "612345678" and "612 34 56 78" get one fake number; an extension ("x42503", "poste 12")
        gets its own fake digits, seeded from number + extension, after the fake number."""
        import phonenumbers

        from agent_release.masking import phonenorm

        main, ext_sep, ext_digits = phonenorm.split_extension(value)
        digits = re.sub(r"\D", "", main)
        num, _valid, _region = phonenorm.parse(main, phone_region(locale))
        if num is not None:
            norm = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
            nsn = phonenumbers.national_significant_number(num)
            cc = num.country_code
        else:
            norm, nsn, cc = digits, "", 0
        r = self.rng("PHONE_NUMBER", norm)
        ext = ""
        if ext_digits:
            rx = self.rng("PHONE_EXTENSION", f"{norm}x{ext_digits}")
            ext = ext_sep + "".join(str(rx.randrange(10)) for _ in ext_digits)
        if num is not None and nsn and digits.endswith(nsn):
            prefix = digits[: len(digits) - len(nsn)]
            fake_nsn = _fake_nsn(cc, nsn, r)
            for _ in range(5):
                if fake_nsn != nsn:
                    break
                fake_nsn = _fake_nsn(cc, nsn, r)
            out = _substitute_digits(main, prefix + fake_nsn)
            if out is not None:
                return out + ext
        # unparseable or odd layout: keep the first two digits (country/trunk), randomise the rest
        keep = 2 if len(digits) > 6 else 0
        fake_digits = digits[:keep] + "".join(str(r.randrange(10)) for _ in digits[keep:])
        return (_substitute_digits(main, fake_digits) or fake_digits) + ext

    # -- cards / IBAN / ids -------------------------------------------------------------------
    def card(self, value: str, locale: str = "") -> str:
        digits = re.sub(r"\D", "", value)
        r = self.rng("CREDIT_CARD", digits)
        n = len(digits) if 12 <= len(digits) <= 19 else 16
        d0 = digits[:1]
        if d0 == "4":
            prefix = "4"
        elif d0 == "5":
            prefix = "5" + str(r.randint(1, 5))
        elif d0 == "2":
            prefix = str(r.randint(2221, 2720))
        elif digits[:2] in ("34", "37"):
            prefix = digits[:2]
        elif digits[:2] == "35":
            prefix = "35" + str(r.randint(28, 89))
        elif d0 == "3":
            prefix = "36"
        elif d0 == "6":
            prefix = "6011"
        else:
            prefix = "4"
        for _ in range(10):
            body = prefix + "".join(str(r.randrange(10)) for _ in range(n - 1 - len(prefix)))
            fake = body + cs.luhn_check_digit(body)
            if cs.card_brand_ok(fake) and fake != digits:
                break
        return _substitute_digits(value, fake) or fake

    def iban(self, value: str, locale: str = "") -> str:
        """Bank-account identifiers, told apart by shape: an IBAN keeps its country and length
        and gets valid mod-97 check digits (a mistyped original too); 18 digits → a CLABE of the
        same bank with a valid control digit; 9 ABA-valid digits → an ABA-valid routing number;
        6 digits → a sort code of the same bank (first two digits); 26 digits → a Polish NRB
        with valid check digits; other digit runs → random digits of the same length. Separators
        and case follow the original."""
        compact = cs.compact(value).upper()
        r = self.rng("IBAN_CODE", compact)
        for _ in range(5):
            if len(compact) >= 5 and compact[:2].isalpha() and compact[2:4].isdigit():
                country = compact[:2]
                bban = "".join(
                    chr(65 + r.randrange(26)) if c.isalpha() else str(r.randrange(10)) for c in compact[4:]
                )
                fake = country + cs.iban_check_digits(country, bban) + bban
            elif compact.isdigit():
                fake = _fake_account_digits(compact, r)
            else:
                return self.generic(pii.IBAN_CODE, value)
            if fake != compact:
                break
        return substitute_alnum(value, fake) or fake

    def national_id(self, value: str, subtype: str | None) -> str:
        compact = cs.compact(value).upper()
        r = self.rng(f"NATIONAL_ID:{subtype}", compact)
        if subtype == "US_SSN":
            area = r.choice([a for a in range(1, 900) if a != 666])
            fake = f"{area:03d}{r.randint(1, 99):02d}{r.randint(1, 9999):04d}"
        elif subtype == "ES_DNI":
            n = r.randint(10_000_000, 99_999_999)
            fake = f"{n:08d}{cs.dni_letter(n)}"  # a dotted "12.345.678-Z" keeps its dots
        elif subtype == "ES_NIE":
            p = r.randrange(3)
            n = r.randint(0, 9_999_999)
            fake = f"{'XYZ'[p]}{n:07d}{cs.dni_letter(int(f'{p}{n:07d}'))}"
        elif subtype == "FR_NIR":
            body = (
                f"{r.choice('12')}{r.randint(40, 99):02d}{r.randint(1, 12):02d}"
                f"{r.choice([d for d in range(1, 96) if d != 20]):02d}{r.randint(1, 990):03d}"
                f"{r.randint(1, 999):03d}"
            )
            fake = body + cs.fr_nir_key(body) if len(compact) != 13 else body
        elif subtype == "DE_STEUER_ID":
            while True:
                first10 = str(r.randint(1, 9)) + "".join(str(r.randrange(10)) for _ in range(9))
                if cs.de_steuer_id_structure_ok(first10):
                    break
            fake = first10 + cs.de_steuer_id_check_digit(first10)
        elif subtype == "BR_CPF":
            while True:
                first9 = "".join(str(r.randrange(10)) for _ in range(9))
                if len(set(first9)) > 1:
                    break
            fake = first9 + cs.br_cpf_check_digits(first9)
        elif subtype == "UK_NINO":
            while True:
                prefix = r.choice(_NINO_FIRST) + r.choice(_NINO_SECOND)
                if prefix not in ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ"):
                    break
            fake = prefix + "".join(str(r.randrange(10)) for _ in range(6)) + r.choice("ABCD")
        elif subtype == "MX_CURP":
            cons = "BCDFGHJKLMNPQRSTVWXYZ"
            body = (
                r.choice(cons) + r.choice("AEIOU") + r.choice(cons) + r.choice(cons)
                + f"{r.randint(40, 99):02d}{r.randint(1, 12):02d}{r.randint(1, 28):02d}"
                + r.choice("HM") + r.choice(("DF", "JC", "NL", "PL", "MC", "GT", "VZ", "YN"))
                + "".join(r.choice(cons) for _ in range(3)) + str(r.randrange(10))
            )
            fake = body + cs.mx_curp_check_digit(body)
        elif subtype in _MORE_NATIONAL_IDS:  # IT, PL, Nordic, TR: masking/national_ids.py
            from agent_release.masking.national_ids import fake_national_id

            for _ in range(5):
                fake = fake_national_id(subtype, value, r)
                if fake is None or cs.compact(fake).upper() != compact:
                    break
            if fake is None:
                return self.generic(pii.NATIONAL_ID, value)
            if subtype == "FI_HETU":
                return fake
        else:
            return self.generic(pii.NATIONAL_ID, value)
        return substitute_alnum(value, fake) or fake

    def generic(self, entity_type: str, value: str) -> str:
        """Class-preserving random characters (digits → digits, letters → letters)."""
        r = self.rng(entity_type, cs.compact(value).upper())
        return "".join(
            str(r.randrange(10)) if c.isdigit()
            else (chr(97 + r.randrange(26)) if c.islower() else chr(65 + r.randrange(26))) if c.isalpha()
            else c
            for c in value
        )

    # -- IP -----------------------------------------------------------------------------------
    def ip(self, value: str, locale: str = "") -> str:
        addr, slash, suffix = value.partition("/")
        try:
            parsed = ipaddress.ip_address(addr.strip("[]"))
            norm = parsed.compressed
            v6 = parsed.version == 6
        except ValueError:
            norm, v6 = addr.lower(), ":" in addr
        r = self.rng("IP_ADDRESS", norm)
        if v6:
            groups = [r.randrange(1, 0xFFFF) for _ in range(3)]
            fake = str(ipaddress.IPv6Address(f"2001:db8:{groups[0]:x}:{groups[1]:x}::{groups[2]:x}"))
        else:
            fake = f"{r.choice(_DOC_NETS_V4)}.{r.randint(1, 254)}"
        return fake + (slash + suffix if slash else "")

    # -- addresses ----------------------------------------------------------------------------
    def address(self, value: str, locale: str) -> str:
        norm = " ".join(re.sub(r"[^\w]+", " ", fold(value)).split())
        fk = self.faker(locale, self.seed("STREET_ADDRESS", norm))
        floc = faker_locale(locale)
        number = str(fk.random_int(1, 299 if floc in ("en_GB", "fr_FR", "es_ES", "pt_BR", "de_DE", "it_IT", "nl_NL", "pl_PL",
                                                     "sv_SE") else 9999))
        street = " ".join(fk.street_name().split())
        if floc in ("en_US", "en_GB", "fr_FR"):
            line = f"{number} {street}"
        elif floc == "pt_BR":
            line = f"{street}, {number}"
        else:
            line = f"{street} {number}"
        after_street = re.split(r"[,\n]", value, maxsplit=1)[1] if re.search(r"[,\n]", value) else ""
        # postcode + city: 5 digits, UK, NL "1234 AB", PL "00-950", SE "123 45"
        if re.search(r"\d{5}|[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b|\b\d{4}\s?[A-Z]{2}\b|\b\d{2}-\d{3}\b|\b\d{3}\s\d{2}\b",
                     after_street):
            city = fk.city()
            post = fk.postcode()
            if floc == "en_US":
                line += f", {city}, {fk.state_abbr()} {post}"
            elif floc == "en_GB":
                line += f", {city} {post}"
            elif floc == "pt_BR":
                line += f" - {city}, {post}"
            else:
                line += f", {post} {city}"
        return line.upper() if value.isupper() else line

    # -- dates of birth -----------------------------------------------------------------------
    def date_of_birth(self, value: str, locale: str) -> str:
        parsed = parse_date(value, locale)
        norm = parsed.isoformat() if parsed else fold(value)
        r = self.rng("DATE_OF_BIRTH", norm)
        year0 = parsed.year if parsed else 1980
        for _ in range(10):
            fake = date(min(max(year0 + r.randint(-3, 3), 1920), date.today().year - 1),
                        r.randint(1, 12), r.randint(1, 28))
            if fake != parsed:
                break
        return format_like(value, fake, locale)


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------

def _ascii_slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold_word(s))


def _substitute_digits(template: str, digits: str) -> str | None:
    slots = sum(c.isdigit() for c in template)
    if slots != len(digits):
        return None
    it = iter(digits)
    return "".join(next(it) if c.isdigit() else c for c in template)


def _rand_digits(r: random.Random, n: int) -> str:
    return "".join(str(r.randrange(10)) for _ in range(n))


def _fake_account_digits(digits: str, r: random.Random) -> str:
    """A format-valid fake for an all-digit bank identifier (see :meth:`SurrogateFactory.iban`)."""
    n = len(digits)
    if n == 18:  # CLABE: bank code kept, control digit computed
        body = digits[:3] + _rand_digits(r, 14)
        return body + cs.clabe_check_digit(body)
    if n == 9 and cs.aba_ok(digits):  # routing number: Federal Reserve district kept
        body = digits[:2] + _rand_digits(r, 6)
        return body + cs.aba_check_digit(body)
    if n == 6:  # sort code: the bank's first two digits kept
        return digits[:2] + _rand_digits(r, 4)
    if n == 26:  # Polish NRB: the IBAN check digits without "PL"
        bban = _rand_digits(r, 24)
        return cs.iban_check_digits("PL", bban) + bban
    return digits[:1] + _rand_digits(r, n - 1)


def _fake_nsn(cc: int, nsn: str, r: random.Random) -> str:
    """A fake national significant number with the same length and number type."""
    n = len(nsn)
    if cc == 1 and n == 10:
        return r.choice(_US_AREA_CODES) + "55501" + _rand_digits(r, 2)
    if cc == 44 and n == 10:
        if nsn.startswith("7"):
            return "7700900" + _rand_digits(r, 3)
        return r.choice(("2079460", "1134960", "1614960", "1214960")) + _rand_digits(r, 3)
    if cc == 33 and n == 9:
        return ("63998" if nsn[0] in "67" else "19900") + _rand_digits(r, 4)
    if cc == 55 and n in (10, 11):
        return r.choice(_BR_DDD) + ("9" if n == 11 else str(r.randint(2, 5))) + _rand_digits(r, 8 if n == 11 else 7)
    if cc == 52 and n == 10:
        return r.choice(("55", "33", "81")) + _rand_digits(r, 8)
    if cc == 49 and n >= 6:
        if nsn.startswith("1"):  # mobile: keep the 3-digit network prefix (015x/016x/017x)
            return nsn[:3] + _rand_digits(r, n - 3)
        return "30" + str(r.randint(2, 9)) + _rand_digits(r, n - 3)
    if n >= 2:
        return nsn[0] + str(r.randint(1, 9)) + _rand_digits(r, n - 2)
    return _rand_digits(r, n)


_NUMERIC_DATE = re.compile(r"^(\d{1,4})([./-])(\d{1,2})\2(\d{1,4})$")


def parse_date(value: str, locale: str) -> date | None:
    v = fold(value.strip())
    m = _NUMERIC_DATE.match(v)
    try:
        if m:
            a, _, b, c = m.groups()
            if len(a) == 4:
                return date(int(a), int(b), int(c))
            year = int(c) if len(c) == 4 else (1900 + int(c) if int(c) > date.today().year % 100 else 2000 + int(c))
            if phone_region(locale) == "US" and int(a) <= 12:
                return date(year, int(a), int(b))
            if int(b) <= 12:
                return date(year, int(b), int(a))
            return date(year, int(a), int(b))
        year_m = re.search(r"(?:19|20)\d{2}", v)
        if not year_m:
            return None
        month = None
        for word in re.findall(r"[a-z]+", v):
            if word in _MONTH_LOOKUP:
                month = _MONTH_LOOKUP[word][0][1] + 1
                break
        day_m = re.search(r"\b(\d{1,2})(?:st|nd|rd|th|er|o)?\b", v.replace(year_m.group(), " "))
        day = int(day_m.group(1)) if day_m else (1 if "1er" in v else None)
        if month is None or day is None:
            return None
        return date(int(year_m.group()), month, day)
    except ValueError:
        return None


def format_like(template: str, d: date, locale: str) -> str:
    """Write date ``d`` in the layout of ``template`` (separators, order, padding, month names)."""
    t = template
    m = _NUMERIC_DATE.match(t.strip())
    if m:
        a, sep, b, c = m.groups()
        if len(a) == 4:
            pad = b.startswith("0") or c.startswith("0") or (len(b) == 2 and len(c) == 2)
            parts = [f"{d.year:04d}", _pad(d.month, pad), _pad(d.day, pad)]
        else:
            us = phone_region(locale) == "US" and int(a) <= 12
            first, second = (d.month, d.day) if us else (d.day, d.month)
            year = f"{d.year:04d}" if len(c) == 4 else f"{d.year % 100:02d}"
            pad = a.startswith("0") or b.startswith("0") or (len(a) == 2 and len(b) == 2)
            parts = [_pad(first, pad), _pad(second, pad), year]
        return sep.join(parts)
    folded = fold(t)
    out = list(t)
    # year
    ym = re.search(r"(?:19|20)\d{2}", folded)
    repl: list[tuple[int, int, str]] = []
    if ym:
        repl.append((ym.start(), ym.end(), f"{d.year:04d}"))
    # month word
    lang = language(locale)
    for wm in re.finditer(r"[a-z]+", folded):
        w = wm.group()
        if w in _MONTH_LOOKUP:
            cands = _MONTH_LOOKUP[w]
            src_lang = next((lg for lg, _ in cands if lg == lang), cands[0][0])
            if src_lang == "en-abbr":
                name = _MONTH_NAMES["en"].split()[d.month - 1][:3]
            else:
                name = _MONTH_NAMES[src_lang].split()[d.month - 1]
            orig = t[wm.start():wm.end()]
            if orig.isupper() and len(orig) > 1:
                name = name.upper()
            elif orig[0].islower():
                name = name.lower()
            else:
                name = name[0].upper() + name[1:]
            repl.append((wm.start(), wm.end(), name))
            break
    # day: first 1-2 digit number that is not the year
    for dm in re.finditer(r"\d+", folded):
        if ym and dm.start() == ym.start():
            continue
        if len(dm.group()) <= 2:
            end = dm.end()
            suffix = re.match(r"(?:st|nd|rd|th|er)(?![a-z])", folded[end:])
            day = _pad(d.day, dm.group().startswith("0"))
            if suffix:  # "12th" → "3rd", "1er" → "14" (French: only the 1st takes "er")
                end += suffix.end()
                if suffix.group() == "er":
                    day += "er" if d.day == 1 else ""
                else:
                    day += _ordinal(d.day)
            repl.append((dm.start(), end, day))
            break
    for s, e, new in sorted(repl, reverse=True):
        out[s:e] = list(new)
    return "".join(out)


def _ordinal(d: int) -> str:
    return "th" if 10 <= d % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")


def _pad(n: int, pad: bool) -> str:
    return f"{n:02d}" if pad else str(n)
