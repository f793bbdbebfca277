"""Values of the unseen corpus: PII in per-locale formats (Faker's locale providers for names,
streets, towns, postcodes, phone numbers, cards; own checksum code where Faker has no provider for
the locale or generates another country's format: national ids, IBANs, CLABE, routing numbers) and
non-PII look-alikes (order ids, tracking numbers, SKUs, amounts, order dates, versions, times,
error codes, tickets, invoices).

Every maker takes a ``random.Random`` (and the conversation's seeded Faker) and returns a
:class:`Val` (PII: text, canonical entity type, format tag, parts whose survival alone is a
partial leak) or a :class:`Look` (non-PII: text and kind).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import random
import string
import unicodedata
from dataclasses import dataclass, field

import phonenumbers
from faker import Faker

from agent_release import pii

FAKER_LOCALE = {
    "en-US": "en_US", "en-GB": "en_GB", "es-ES": "es_ES", "es-MX": "es_MX", "fr-FR": "fr_FR",
    "de-DE": "de_DE", "pt-BR": "pt_BR", "it-IT": "it_IT", "nl-NL": "nl_NL", "pl-PL": "pl_PL",
    "sv-SE": "sv_SE", "da-DK": "da_DK", "nb-NO": "no_NO", "fi-FI": "fi_FI", "tr-TR": "tr_TR",
}
LOCALES = tuple(FAKER_LOCALE)


def region(locale: str) -> str:
    return locale.split("-")[1]


@dataclass
class Val:
    text: str
    entity_type: str
    tag: str
    parts: list[str] = field(default_factory=list)
    quote: int = 0  # how deep inside quoted e-mail replies ("> ", "> > ") the value stands


@dataclass
class Look:
    text: str
    kind: str


_FAKERS: dict[str, Faker] = {}


def faker_for(locale: str, seed: int) -> Faker:
    """The locale's Faker, reseeded (one instance per locale per process)."""
    f = _FAKERS.get(locale)
    if f is None:
        f = _FAKERS[locale] = Faker(FAKER_LOCALE[locale])
    f.seed_instance(seed)
    return f


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def ascii_fold(s: str) -> str:
    s = s.replace("ł", "l").replace("Ł", "L").replace("ø", "o").replace("Ø", "O").replace("æ", "ae") \
        .replace("ß", "ss").replace("ı", "i").replace("İ", "I")
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


# --------------------------------------------------------------------------- checksums

def luhn_ok(number: str) -> bool:
    ds = [int(c) for c in number if c.isdigit()][::-1]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(ds))
    return total % 10 == 0


def luhn_digit(body: str) -> str:
    for c in string.digits:
        if luhn_ok(body + c):
            return c
    raise AssertionError


def iban_mod97(iban: str) -> int:
    s = iban.replace(" ", "")
    s = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in s)) % 97


def iban_ok(iban: str) -> bool:
    return iban_mod97(iban) == 1


def iban_with_check(cc: str, bban: str) -> str:
    check = 98 - iban_mod97(cc + "00" + bban)
    return f"{cc}{check:02d}{bban}"


# --------------------------------------------------------------------------- IBANs and accounts

IBAN_LENGTH = {"GB": 22, "DE": 22, "ES": 24, "FR": 27, "IT": 27, "NL": 18, "PL": 28, "SE": 24, "DK": 18,
               "NO": 15, "FI": 18, "TR": 26, "BR": 29}


def bban(rng: random.Random, cc: str, length: int | None = None) -> str:
    n = (length or IBAN_LENGTH[cc]) - 4
    up = string.ascii_uppercase
    if cc == "GB":
        return "".join(rng.choice(up) for _ in range(4)) + digits(rng, n - 4)
    if cc == "NL":
        return rng.choice(["ABNA", "INGB", "RABO", "SNSB", "TRIO", "KNAB"]) + digits(rng, n - 4)
    if cc == "IT":
        return rng.choice(up) + digits(rng, n - 1)
    if cc == "BR":
        return digits(rng, n - 2) + rng.choice("CP") + rng.choice("12")
    if cc == "TR":
        return digits(rng, 5) + "0" + digits(rng, n - 6)
    if cc == "ES" and n == 20:  # bank, branch, two control digits, account
        def dc(ds: str) -> str:
            d = 11 - sum(int(c) * w for c, w in zip(ds, [1, 2, 4, 8, 5, 10, 9, 7, 3, 6])) % 11
            return str({11: 0, 10: 1}.get(d, d))
        bank, acc = digits(rng, 8), digits(rng, 10)
        return bank + dc("00" + bank) + dc(acc) + acc
    if cc == "NO" and n == 11:  # mod-11 check digit of the account number
        while True:
            body = digits(rng, 10)
            d = 11 - sum(int(c) * w for c, w in zip(body, [5, 4, 3, 2, 7, 6, 5, 4, 3, 2])) % 11
            if d != 10:
                return body + str(d % 11)
    return digits(rng, n)


def iban_valid(rng: random.Random, cc: str, fake: Faker | None = None) -> str:
    if fake is not None:
        v = fake.iban()
        if v[:2] == cc and len(v) == IBAN_LENGTH[cc] and iban_ok(v):
            return v
    return iban_with_check(cc, bban(rng, cc))


def iban_bad_checksum(rng: random.Random, cc: str) -> str:
    good = iban_with_check(cc, bban(rng, cc))
    while True:
        check = rng.randint(2, 98)
        bad = f"{cc}{check:02d}{good[4:]}"
        if bad != good and not iban_ok(bad):
            return bad


def iban_bad_length(rng: random.Random, cc: str) -> str:
    """Correct mod-97 check digits over a BBAN one or two characters too short or too long for
    the country."""
    n = IBAN_LENGTH[cc] + rng.choice([-2, -1, 1, 2])
    return iban_with_check(cc, bban(rng, cc, n))


def spaced4(s: str) -> str:
    return " ".join(s[i:i + 4] for i in range(0, len(s), 4))


def clabe(rng: random.Random) -> str:
    body = rng.choice(["002", "012", "014", "021", "072", "127"]) + digits(rng, 14)
    w = [3, 7, 1] * 6
    check = (10 - sum(int(d) * w[i] % 10 for i, d in enumerate(body)) % 10) % 10
    return body + str(check)


def aba_routing(rng: random.Random) -> str:
    while True:
        r = digits(rng, 8)
        if r[0] in "0123":
            for c in string.digits:
                d = [int(x) for x in r + c]
                if (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + d[2] + d[5] + d[8]) % 10 == 0:
                    return r + c


# --------------------------------------------------------------------------- national ids

def _birth(rng: random.Random) -> dt.date:
    return dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(365 * 64))


def us_ssn(rng: random.Random) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    sep = rng.choice(["-", "-", " ", ""])
    return f"{area:03d}{sep}{rng.randint(1, 99):02d}{sep}{rng.randint(1, 9999):04d}"


def uk_nino(rng: random.Random) -> str:
    first = [c for c in string.ascii_uppercase if c not in "DFIQUV"]
    second = [c for c in string.ascii_uppercase if c not in "DFIOQUV"]
    while True:
        p = rng.choice(first) + rng.choice(second)
        if p not in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ"):
            break
    d = digits(rng, 6)
    suf = rng.choice("ABCD")
    return rng.choice([f"{p}{d}{suf}", f"{p} {d[:2]} {d[2:4]} {d[4:]} {suf}"])


_DNI = "TRWAGMYFPDXBNJZSQVHLCKE"


def es_dni(rng: random.Random) -> str:
    n = rng.randint(1_000_000, 99_999_999)
    return rng.choice(["{:08d}{}", "{:08d}-{}"]).format(n, _DNI[n % 23])


def es_nie(rng: random.Random) -> str:
    p = rng.choice("XYZ")
    n = rng.randint(0, 9_999_999)
    return f"{p}{n:07d}{_DNI[int('XYZ'.index(p) * 10_000_000 + n) % 23]}"


def fr_nir(rng: random.Random) -> str:
    b = _birth(rng)
    body = f"{rng.choice('12')}{b.year % 100:02d}{b.month:02d}{rng.randint(1, 95):02d}{rng.randint(1, 999):03d}" \
           f"{rng.randint(1, 999):03d}"
    key = 97 - int(body) % 97
    if rng.random() < 0.5:
        return f"{body}{key:02d}"
    return f"{body[0]} {body[1:3]} {body[3:5]} {body[5:7]} {body[7:10]} {body[10:13]} {key:02d}"


def de_steuer_id(rng: random.Random) -> str:
    while True:
        ds = rng.sample(range(10), 9)
        ds.insert(rng.randrange(10), rng.choice(ds))
        if ds[0] != 0:
            break
    product = 10
    for d in ds:
        s = (d + product) % 10 or 10
        product = (s * 2) % 11
    check = (11 - product) % 10
    s = "".join(map(str, ds)) + str(check)
    return rng.choice([s, f"{s[:2]} {s[2:5]} {s[5:8]} {s[8:]}"])


def br_cpf(rng: random.Random) -> str:
    d = [rng.randint(0, 9) for _ in range(9)]
    for n in (10, 11):
        r = sum(x * (n - i) for i, x in enumerate(d)) * 10 % 11
        d.append(0 if r == 10 else r)
    s = "".join(map(str, d))
    return rng.choice([f"{s[:3]}.{s[3:6]}.{s[6:9]}-{s[9:]}", s])


_CURP_CHARS = "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ"
_MX_STATES = ["AS", "BC", "CC", "CL", "CS", "DF", "GR", "GT", "JC", "MC", "MN", "NL", "OC", "PL", "QT", "SP",
              "VZ", "YN"]


def mx_curp(rng: random.Random, last: str, first: str) -> str:
    la = ascii_fold(last).upper()
    fa = ascii_fold(first).upper()
    vowel = next((c for c in la[1:] if c in "AEIOU"), "X")
    b = _birth(rng)
    cons = "BCDFGHJKLMNPQRSTVWXYZ"
    head = (la[:1] or "X") + vowel + (rng.choice(string.ascii_uppercase)) + (fa[:1] or "X")
    body = (head + f"{b.year % 100:02d}{b.month:02d}{b.day:02d}" + rng.choice("HM") + rng.choice(_MX_STATES)
            + "".join(rng.choice(cons) for _ in range(3)) + ("0" if b.year < 2000 else "A"))
    total = sum(_CURP_CHARS.index(c) * (18 - i) for i, c in enumerate(body))
    return body + str((10 - total % 10) % 10)


_CF_ODD = {**dict(zip("0123456789", [1, 0, 5, 7, 9, 13, 15, 17, 19, 21])),
           **dict(zip(string.ascii_uppercase, [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12,
                                               14, 16, 10, 22, 25, 24, 23]))}


def it_codice_fiscale(rng: random.Random, last: str, first: str) -> str:
    def code(name: str, is_first: bool) -> str:
        s = [c for c in ascii_fold(name).upper() if c.isalpha()]
        cons = [c for c in s if c not in "AEIOU"]
        vows = [c for c in s if c in "AEIOU"]
        if is_first and len(cons) >= 4:
            cons = [cons[0], cons[2], cons[3]]
        return ("".join(cons + vows) + "XXX")[:3]

    b = _birth(rng)
    female = rng.random() < 0.5
    day = b.day + (40 if female else 0)
    body = (code(last, False) + code(first, True) + f"{b.year % 100:02d}" + "ABCDEHLMPRST"[b.month - 1]
            + f"{day:02d}" + rng.choice("ABCDEFGHLM") + f"{rng.randint(1, 999):03d}")
    total = sum(_CF_ODD[c] if i % 2 == 0 else (int(c) if c.isdigit() else ord(c) - 65) for i, c in enumerate(body))
    return body + chr(65 + total % 26)


def nl_bsn(rng: random.Random) -> str:
    while True:
        d = [rng.randint(0, 9) for _ in range(8)]
        r = sum(x * (9 - i) for i, x in enumerate(d)) % 11
        if r < 10 and (d[0] or d[1]):
            s = "".join(map(str, d)) + str(r)
            return rng.choice([s, f"{s[:4]}.{s[4:6]}.{s[6:]}"])


def pl_pesel(rng: random.Random) -> str:
    b = _birth(rng)
    month = b.month + (20 if b.year >= 2000 else 0)
    body = f"{b.year % 100:02d}{month:02d}{b.day:02d}{digits(rng, 4)}"
    w = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3]
    return body + str((10 - sum(int(c) * w[i] for i, c in enumerate(body)) % 10) % 10)


def se_personnummer(rng: random.Random) -> str:
    b = _birth(rng)
    body = f"{b.year % 100:02d}{b.month:02d}{b.day:02d}{digits(rng, 3)}"
    s = body + luhn_digit(body)
    return rng.choice([f"{s[:6]}-{s[6:]}", f"{b.year // 100}{s[:6]}-{s[6:]}", s])


def dk_cpr(rng: random.Random) -> str:
    b = _birth(rng)
    # the 7th digit tells the century: 0-3 always 1900-1999, 4/9 1937-2036
    seventh = rng.choice("0123") if b.year < 2000 else rng.choice("49")
    return f"{b.day:02d}{b.month:02d}{b.year % 100:02d}-{seventh}{digits(rng, 3)}"


def no_fodselsnummer(rng: random.Random) -> str:
    w1, w2 = [3, 7, 6, 1, 8, 9, 4, 5, 2], [5, 4, 3, 2, 7, 6, 5, 4, 3, 2]
    while True:
        b = _birth(rng)
        # individual number by century: 000-499 for 1900-1999, 500-999 for 2000-2039
        ind = rng.randint(0, 499) if b.year < 2000 else rng.randint(500, 999)
        d = [int(c) for c in f"{b.day:02d}{b.month:02d}{b.year % 100:02d}{ind:03d}"]
        k1 = 11 - sum(x * w for x, w in zip(d, w1)) % 11
        k1 = 0 if k1 == 11 else k1
        if k1 == 10:
            continue
        d.append(k1)
        k2 = 11 - sum(x * w for x, w in zip(d, w2)) % 11
        k2 = 0 if k2 == 11 else k2
        if k2 == 10:
            continue
        s = "".join(map(str, d + [k2]))
        return rng.choice([s, f"{s[:6]} {s[6:]}"])


def fi_hetu(rng: random.Random) -> str:
    b = _birth(rng)
    ind = f"{rng.randint(2, 899):03d}"
    n = int(f"{b.day:02d}{b.month:02d}{b.year % 100:02d}{ind}")
    sign = "-" if b.year < 2000 else "A"
    return f"{b.day:02d}{b.month:02d}{b.year % 100:02d}{sign}{ind}{'0123456789ABCDEFHJKLMNPRSTUVWXY'[n % 31]}"


def tr_tckn(rng: random.Random) -> str:
    d = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(8)]
    d.append(((d[0] + d[2] + d[4] + d[6] + d[8]) * 7 - (d[1] + d[3] + d[5] + d[7])) % 10)
    d.append(sum(d) % 10)
    return "".join(map(str, d))


#: national-id format tags per locale (the customer's own country)
NATIONAL_IDS = {
    "en-US": ["us_ssn"], "en-GB": ["uk_nino"], "es-ES": ["es_dni", "es_nie"], "es-MX": ["mx_curp"],
    "fr-FR": ["fr_nir"], "de-DE": ["de_steuer_id"], "pt-BR": ["br_cpf"], "it-IT": ["it_codice_fiscale"],
    "nl-NL": ["nl_bsn"], "pl-PL": ["pl_pesel"], "sv-SE": ["se_personnummer"], "da-DK": ["dk_cpr"],
    "nb-NO": ["no_fodselsnummer"], "fi-FI": ["fi_hetu"], "tr-TR": ["tr_tckn"],
}


def national_id(rng: random.Random, kind: str, first: str, last: str) -> Val:
    if kind == "mx_curp":
        v = mx_curp(rng, last, first)
    elif kind == "it_codice_fiscale":
        v = it_codice_fiscale(rng, last, first)
    else:
        v = globals()[kind](rng)
    return Val(v, pii.NATIONAL_ID, "nid_" + kind)


# --------------------------------------------------------------------------- phones

def _parse(text: str, reg: str):
    try:
        return phonenumbers.parse(text, reg)
    except phonenumbers.NumberParseException:
        return None


def valid_in(text: str, reg: str) -> bool:
    n = _parse(text, reg)
    return n is not None and phonenumbers.is_valid_number(n) and \
        phonenumbers.region_code_for_number(n) == reg


def valid_number(rng: random.Random, reg: str, fake: Faker | None):
    """A phonenumbers object valid in ``reg``: a Faker number when one of a few tries is valid,
    else an example number of the region with its last digits randomised."""
    if fake is not None:
        for _ in range(8):
            n = _parse(fake.phone_number(), reg)
            if n is not None and phonenumbers.is_valid_number(n) and phonenumbers.region_code_for_number(n) == reg:
                n.extension = None
                return n
    types = [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]
    for _ in range(200):
        ex = phonenumbers.example_number_for_type(reg, rng.choice(types))
        s = str(ex.national_number)
        k = min(len(s) - 2, rng.randint(3, 6))
        n = phonenumbers.PhoneNumber(country_code=ex.country_code, national_number=int(s[:-k] + digits(rng, k)))
        if phonenumbers.is_valid_number(n):
            return n
    return phonenumbers.example_number(reg)


def fmt_national(n) -> str:
    return phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.NATIONAL)


def fmt_international(n) -> str:
    return phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def fmt_e164(n) -> str:
    return phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)


def invalid_number(rng: random.Random, reg: str, fake: Faker) -> str:
    """Phone-shaped text that is not a valid number of ``reg`` (Faker's numbers often are not;
    otherwise a valid national number with a wrong leading digit or length)."""
    for _ in range(10):
        s = fake.phone_number()
        if "x" not in s and not valid_in(s, reg) and sum(c.isdigit() for c in s) >= 7:
            return s
    n = valid_number(rng, reg, None)
    s = fmt_national(n)
    for _ in range(50):
        cand = s + str(rng.randint(0, 9)) if rng.random() < 0.5 else s[:-1]
        if not valid_in(cand, reg):
            return cand
    return s + "00"


PHONE_TAGS = ("phone_valid_cue", "phone_valid_nocue", "phone_invalid_cue", "phone_invalid_nocue", "phone_e164",
              "phone_international", "phone_foreign", "phone_ext_x", "phone_ext_word", "phone_ext_hash")

_OTHER_REGIONS = ["US", "GB", "DE", "FR", "ES", "IT", "NL", "BR", "MX", "PL", "SE", "CH", "BE", "AT", "IE", "PT"]


def phone(rng: random.Random, locale: str, fake: Faker, tag: str, ext_words: list[str]) -> Val:
    reg = region(locale)
    if tag in ("phone_valid_cue", "phone_valid_nocue"):
        return Val(fmt_national(valid_number(rng, reg, fake)), pii.PHONE_NUMBER, tag)
    if tag in ("phone_invalid_cue", "phone_invalid_nocue"):
        return Val(invalid_number(rng, reg, fake), pii.PHONE_NUMBER, tag)
    if tag == "phone_e164":
        other = rng.choice([reg, reg, rng.choice(_OTHER_REGIONS)])
        return Val(fmt_e164(valid_number(rng, other, None)), pii.PHONE_NUMBER, tag)
    if tag == "phone_international":
        return Val(fmt_international(valid_number(rng, reg, fake)), pii.PHONE_NUMBER, tag)
    if tag == "phone_foreign":
        other = rng.choice([r for r in _OTHER_REGIONS if r != reg])
        return Val(fmt_national(valid_number(rng, other, None)), pii.PHONE_NUMBER, tag)
    base = fmt_national(valid_number(rng, reg, fake))
    if tag == "phone_ext_x":
        if locale in ("en-US", "es-MX"):
            for _ in range(20):
                s = fake.phone_number()
                if "x" in s:
                    return Val(s, pii.PHONE_NUMBER, tag, [s.split("x")[0]])
        sep = rng.choice(["x", " x", " x "])
        return Val(f"{base}{sep}{rng.randint(2, 99999)}", pii.PHONE_NUMBER, tag, [base])
    if tag == "phone_ext_word":
        return Val(f"{base} {rng.choice(ext_words)} {rng.randint(1, 9999)}", pii.PHONE_NUMBER, tag, [base])
    if tag == "phone_ext_hash":
        return Val(f"{base} #{rng.randint(1, 999)}", pii.PHONE_NUMBER, tag, [base])
    raise ValueError(tag)


# --------------------------------------------------------------------------- cards, email, ip

CARD_TAGS = ("card_compact", "card_spaced", "card_dashed", "card_amex")


def card(rng: random.Random, fake: Faker, tag: str) -> Val:
    if tag == "card_amex":
        n = fake.credit_card_number("amex")
        return Val(rng.choice([f"{n[:4]} {n[4:10]} {n[10:]}", n]), pii.CREDIT_CARD, tag)
    n = fake.credit_card_number(rng.choice(["visa16", "mastercard", "discover", "visa16"]))
    if tag == "card_spaced":
        n = " ".join(n[i:i + 4] for i in range(0, 16, 4))
    elif tag == "card_dashed":
        n = "-".join(n[i:i + 4] for i in range(0, 16, 4))
    return Val(n, pii.CREDIT_CARD, tag)


EMAIL_DOMAINS = {
    "en-US": ["gmail.com", "yahoo.com", "outlook.com", "comcast.net", "icloud.com"],
    "en-GB": ["gmail.com", "btinternet.com", "hotmail.co.uk", "yahoo.co.uk", "sky.com"],
    "es-ES": ["gmail.com", "hotmail.es", "yahoo.es", "telefonica.net"],
    "es-MX": ["gmail.com", "hotmail.com", "prodigy.net.mx", "outlook.com"],
    "fr-FR": ["gmail.com", "orange.fr", "free.fr", "laposte.net", "hotmail.fr"],
    "de-DE": ["gmail.com", "web.de", "gmx.de", "t-online.de", "posteo.de"],
    "pt-BR": ["gmail.com", "uol.com.br", "hotmail.com", "bol.com.br", "terra.com.br"],
    "it-IT": ["gmail.com", "libero.it", "virgilio.it", "tiscali.it", "alice.it"],
    "nl-NL": ["gmail.com", "ziggo.nl", "kpnmail.nl", "hotmail.nl", "xs4all.nl"],
    "pl-PL": ["gmail.com", "wp.pl", "o2.pl", "onet.pl", "interia.pl"],
    "sv-SE": ["gmail.com", "telia.com", "hotmail.se", "live.se", "bredband.net"],
    "da-DK": ["gmail.com", "mail.dk", "hotmail.dk", "live.dk"],
    "nb-NO": ["gmail.com", "online.no", "hotmail.no", "live.no"],
    "fi-FI": ["gmail.com", "luukku.com", "suomi24.fi", "hotmail.fi"],
    "tr-TR": ["gmail.com", "hotmail.com.tr", "yandex.com.tr", "outlook.com"],
}


def email(rng: random.Random, locale: str, first: str, last: str, tag: str = "email") -> Val:
    f = ascii_fold(first).lower().replace(" ", "")
    ln = ascii_fold(last).lower().replace(" ", "").replace("'", "")
    local = rng.choice([f"{f}.{ln}", f"{f[:1]}{ln}", f"{f}_{ln}{rng.randint(1, 99)}", f"{f}{rng.randint(60, 2005)}",
                        f"{ln}.{f[:1]}", f"{f}.{ln}{rng.randint(1, 9)}"])
    return Val(f"{local}@{rng.choice(EMAIL_DOMAINS[locale])}", pii.EMAIL_ADDRESS, tag)


def ip(rng: random.Random, fake: Faker, tag: str) -> Val:
    if tag == "ipv4":
        return Val(fake.ipv4_public(), pii.IP_ADDRESS, tag)
    prefix = rng.choice(["2001:db8", "2a02:8109", "2600:1700", "2804:14c", "2a01:cb00", "2003:e6"])
    groups = prefix.split(":") + [f"{rng.randint(0, 0xffff):x}" for _ in range(6)]
    if rng.random() < 0.6:
        groups[4] = groups[5] = "0"
    a = ipaddress.IPv6Address(":".join(groups))
    return Val(rng.choice([str(a), a.exploded]), pii.IP_ADDRESS, tag)


# --------------------------------------------------------------------------- dates of birth

DOB_TAGS = ("dob_numeric", "dob_text", "dob_iso")
_NUMERIC = {"en-US": "{m:02d}/{d:02d}/{y}", "en-GB": "{d:02d}/{m:02d}/{y}", "es-ES": "{d:02d}/{m:02d}/{y}",
            "es-MX": "{d:02d}/{m:02d}/{y}", "fr-FR": "{d:02d}/{m:02d}/{y}", "de-DE": "{d:02d}.{m:02d}.{y}",
            "pt-BR": "{d:02d}/{m:02d}/{y}", "it-IT": "{d:02d}/{m:02d}/{y}", "nl-NL": "{d:02d}-{m:02d}-{y}",
            "pl-PL": "{d:02d}.{m:02d}.{y}", "sv-SE": "{y}-{m:02d}-{d:02d}", "da-DK": "{d:02d}.{m:02d}.{y}",
            "nb-NO": "{d:02d}.{m:02d}.{y}", "fi-FI": "{d}.{m}.{y}", "tr-TR": "{d:02d}.{m:02d}.{y}"}


def fmt_date(day: dt.date, locale: str, style: str, months: list[str], text_fmt: str) -> str:
    if style == "numeric":
        return _NUMERIC[locale].format(d=day.day, m=day.month, y=day.year)
    if style == "iso":
        return day.isoformat()
    return text_fmt.format(d=day.day, m=months[day.month - 1], y=day.year)


def dob(rng: random.Random, locale: str, tag: str, months: list[str], text_fmt: str) -> Val:
    day = dt.date(1938, 1, 1) + dt.timedelta(days=rng.randrange(365 * 68))
    return Val(fmt_date(day, locale, tag.split("_")[1], months, text_fmt), pii.DATE_OF_BIRTH, tag)


# --------------------------------------------------------------------------- addresses

ADDRESS_TAGS = ("address_inline", "address_multiline", "address_form", "address_military", "address_flat")
_TR_TOWNS = [("Kadıköy", "İstanbul", "347"), ("Çankaya", "Ankara", "066"), ("Konak", "İzmir", "352"),
             ("Nilüfer", "Bursa", "161"), ("Muratpaşa", "Antalya", "070"), ("Seyhan", "Adana", "010"),
             ("Tepebaşı", "Eskişehir", "261"), ("Odunpazarı", "Eskişehir", "260")]
_RARE_SUFFIXES = ["Mews", "Wynd", "Garth", "Loke", "Twitten", "Drove", "Chase", "Rise", "Row", "Parade", "Close",
                  "Crescent", "Brow", "Vennel", "Ginnel", "Wharf", "Yard", "Leys", "Holt", "Croft"]
_IT_PROV = ["MI", "RM", "TO", "NA", "BO", "FI", "PA", "GE", "VE", "BA", "TR", "PG"]
_BR_UF = ["SP", "RJ", "MG", "RS", "PR", "BA", "SC", "PE", "CE", "GO"]


def _street_town(rng: random.Random, locale: str, fake: Faker) -> tuple[str, str, str, str]:
    """(street line, postcode, town, postcode+town line in the locale's order)."""
    if locale == "tr-TR":
        district, city, pc3 = rng.choice(_TR_TOWNS)
        street = rng.choice([f"{fake.last_name()} Sokak No: {rng.randint(1, 120)} D: {rng.randint(1, 30)}",
                             f"{fake.last_name()} Caddesi No:{rng.randint(1, 250)}/{rng.randint(1, 20)}",
                             f"Atatürk Bulvarı No: {rng.randint(1, 300)}"])
        pc = pc3 + digits(rng, 2)
        town = f"{district}/{city}"
        return f"{street} {district}" if rng.random() < 0.3 else street, pc, town, f"{pc} {town}"
    street = fake.street_address().replace("\n", ", ").strip()
    city = fake.city()
    pc = fake.postcode()
    if locale == "en-US":
        st = fake.state_abbr(include_territories=False)
        pc = fake.zipcode_in_state(st)
        return street, pc, city, f"{city}, {st} {pc}"
    if locale == "en-GB":
        return street, pc, city, f"{city} {pc}"
    if locale == "es-MX":
        st = fake.state_abbr()
        return street, pc, city, f"{pc} {city}, {st}"
    if locale == "pt-BR":
        ds = "".join(c for c in pc if c.isdigit())
        pc = f"{ds[:5]}-{ds[5:]}"
        return f"{street} - {fake.bairro()}", pc, city, f"{city} - {rng.choice(_BR_UF)}, {pc}"
    if locale == "it-IT":
        return street, pc, city, f"{pc} {city} ({rng.choice(_IT_PROV)})"
    if locale == "nl-NL":
        pc = pc.replace(" ", "")
        pc = f"{pc[:4]} {pc[4:]}" if rng.random() < 0.6 else pc
        return street, pc, city, f"{pc} {city}"
    if locale == "sv-SE":
        pc = pc.replace(" ", "")
        pc = f"{pc[:3]} {pc[3:]}"
        return street, pc, city, f"{pc} {city}"
    if locale == "fr-FR" and not street[:1].isdigit():
        street = f"{rng.randint(1, 180)} {street}"
    return street, pc, city, f"{pc} {city}"


def address(rng: random.Random, locale: str, fake: Faker, tag: str) -> Val:
    if tag == "address_military":
        line1 = rng.choice([fake.military_apo(), fake.military_dpo(), f"{fake.military_ship()} {fake.last_name()}"])
        kind = "FPO" if line1.startswith("US") else rng.choice(["APO", "DPO"]) if line1.startswith("Unit") else "APO"
        st = fake.military_state()
        zip_ = {"AA": "340", "AE": "09", "AP": "96"}[st] + digits(rng, 2 if st != "AE" else 3)
        sep = rng.choice(["\n", ", "])
        return Val(f"{line1}{sep}{kind} {st} {zip_}", pii.STREET_ADDRESS, tag, [line1, zip_])
    if tag == "address_flat":
        f_gb = faker_for("en-GB", rng.randrange(1 << 30))
        unit = rng.choice(["Flat", "Studio", "Apartment", "Flat"]) + f" {rng.randint(1, 40)}{rng.choice(['', '', 'A', 'B'])}"
        street = f"{rng.randint(1, 220)} {f_gb.last_name()} {rng.choice(_RARE_SUFFIXES)}"
        city, pc = f_gb.city(), f_gb.postcode()
        text = rng.choice([f"{unit}, {street}, {city} {pc}", f"{unit}\n{street}\n{city}\n{pc}",
                           f"{unit} {street}, {city}, {pc}"])
        return Val(text, pii.STREET_ADDRESS, tag, [street, pc, city])
    street, pc, town, pctown = _street_town(rng, locale, fake)
    if tag == "address_inline":
        return Val(f"{street}, {pctown}", pii.STREET_ADDRESS, tag, [street, pc, town])
    lines = [street]
    if locale in ("en-US",) and rng.random() < 0.4:
        lines.append(fake.secondary_address())
    lines.append(pctown)
    return Val("\n".join(lines), pii.STREET_ADDRESS, tag, [street, pc, town])


# --------------------------------------------------------------------------- bank details per locale

def iban_country(locale: str) -> str | None:
    return {"en-GB": "GB", "es-ES": "ES", "fr-FR": "FR", "de-DE": "DE", "pt-BR": "BR", "it-IT": "IT",
            "nl-NL": "NL", "pl-PL": "PL", "sv-SE": "SE", "da-DK": "DK", "nb-NO": "NO", "fi-FI": "FI",
            "tr-TR": "TR"}.get(locale)


IBAN_TAGS = ("iban_valid", "iban_valid_spaced", "iban_bad_checksum", "iban_bad_length", "iban_bad_after_word",
             "iban_foreign")
BANK_TAGS = ("clabe", "uk_sort_code", "uk_account", "us_routing", "us_account")


def iban(rng: random.Random, locale: str, fake: Faker, tag: str) -> Val:
    cc = iban_country(locale) or rng.choice(["DE", "ES", "FR", "GB", "NL"])
    if tag == "iban_valid":
        v = iban_valid(rng, cc, fake)
    elif tag == "iban_valid_spaced":
        v = spaced4(iban_valid(rng, cc, fake))
    elif tag == "iban_bad_checksum":
        v = iban_bad_checksum(rng, cc)
    elif tag == "iban_bad_length":
        v = iban_bad_length(rng, cc)
    elif tag == "iban_bad_after_word":
        v = rng.choice([iban_bad_checksum, iban_bad_length])(rng, cc)
        v = spaced4(v) if rng.random() < 0.5 else v
    elif tag == "iban_foreign":
        v = iban_valid(rng, rng.choice([c for c in IBAN_LENGTH if c != cc]))
        v = spaced4(v) if rng.random() < 0.5 else v
    else:
        raise ValueError(tag)
    return Val(v, pii.IBAN_CODE, tag)


# --------------------------------------------------------------------------- look-alikes (non-PII)

LOOK_KINDS = ("order", "tracking", "sku", "amount", "odate", "version", "time", "err", "ticket", "invoice")

_CURRENCY = {"en-US": ("${v}", "."), "en-GB": ("£{v}", "."), "es-MX": ("${v} MXN", "."), "pt-BR": ("R$ {v}", ","),
             "pl-PL": ("{v} zł", ","), "sv-SE": ("{v} kr", ","), "da-DK": ("{v} kr.", ","), "nb-NO": ("kr {v}", ","),
             "tr-TR": ("{v} TL", ",")}


def _ups(rng: random.Random) -> str:
    return "1Z" + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(6)) + digits(rng, 10)


def look(rng: random.Random, locale: str, kind: str, months: list[str], text_fmt: str) -> Look:
    up = string.ascii_uppercase
    if kind == "order":
        v = rng.choice([f"#{digits(rng, 6)}", f"ORD-{rng.randint(2023, 2026)}-{digits(rng, 5)}",
                        f"{digits(rng, 3)}-{digits(rng, 7)}-{digits(rng, 7)}", f"A{digits(rng, 8)}",
                        f"{digits(rng, 2)}-{digits(rng, 4)}", f"WEB{digits(rng, 7)}"])
    elif kind == "tracking":
        v = rng.choice(["1Z999AA10123456784", _ups(rng), _ups(rng), f"JJD{digits(rng, 16)}",
                        f"{rng.choice(up)}{rng.choice(up)}{digits(rng, 9)}{rng.choice(['GB', 'DE', 'NL', 'SE', 'PL'])}",
                        f"9400 {digits(rng, 4)} {digits(rng, 4)} {digits(rng, 4)} {digits(rng, 4)} {digits(rng, 2)}",
                        f"3S{''.join(rng.choice(up) for _ in range(4))}{digits(rng, 9)}"])
    elif kind == "sku":
        v = rng.choice([f"SKU-{digits(rng, 4)}-{rng.choice(['BLK', 'WHT', 'RED', 'NVY'])}-{rng.choice('SMLX')}",
                        f"WH-{digits(rng, 4)}XM{rng.randint(2, 5)}",
                        "B0" + "".join(rng.choice(up + string.digits) for _ in range(8)),
                        f"{rng.choice(up)}{rng.choice(up)}{digits(rng, 5)}-{digits(rng, 2)}"])
    elif kind == "amount":
        whole = rng.choice([rng.randint(5, 99), rng.randint(100, 2500)])
        cents = rng.choice(["00", "99", "50", "95", digits(rng, 2)])
        fmt, dec = _CURRENCY.get(locale, ("{v} €", ","))
        if dec == ",":
            w = f"{whole:,}".replace(",", ".") if locale not in ("sv-SE", "pl-PL", "nb-NO", "fi-FI") else \
                f"{whole:,}".replace(",", " ")
            num = f"{w},{cents}"
        else:
            num = f"{whole:,}.{cents}"
        if locale in ("de-DE", "fr-FR", "es-ES", "it-IT", "nl-NL", "fi-FI") and rng.random() < 0.4:
            v = f"€{num}" if locale in ("nl-NL",) else f"EUR {num}"
        else:
            v = fmt.format(v=num)
    elif kind == "odate":
        day = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(700))
        v = fmt_date(day, locale, rng.choice(["numeric", "numeric", "text", "iso"]), months, text_fmt)
    elif kind == "version":
        v = rng.choice([f"v{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}",
                        f"{rng.randint(3, 12)}.{rng.randint(0, 9)}.{rng.randint(0, 20)} (build {digits(rng, 4)})",
                        f"iOS {rng.randint(15, 18)}.{rng.randint(0, 6)}.{rng.randint(1, 3)}",
                        f"Android {rng.randint(11, 15)}", f"{rng.randint(1, 5)}.{rng.randint(0, 99)}"])
    elif kind == "time":
        h, m = rng.randint(0, 23), rng.choice([0, 5, 15, 30, 45, rng.randint(0, 59)])
        v = f"{(h % 12) or 12}:{m:02d} {'am' if h < 12 else 'pm'}" if locale == "en-US" else f"{h:02d}:{m:02d}"
    elif kind == "err":
        v = rng.choice([f"ERR_{rng.choice(['PAYMENT', 'CONN', 'AUTH', 'TIMEOUT'])}_{digits(rng, 4)}",
                        f"0x{rng.randint(0x80000000, 0x8FFFFFFF):08X}", f"E-{digits(rng, 4)}",
                        f"HTTP {rng.choice([401, 403, 500, 502, 503])}", f"code {digits(rng, 3)}"])
    elif kind == "ticket":
        v = rng.choice([f"TCK-{digits(rng, 6)}", f"#CS-{digits(rng, 5)}", f"INC{digits(rng, 7)}"])
    elif kind == "invoice":
        v = rng.choice([f"INV-{rng.randint(2023, 2026)}-{digits(rng, 6)}", f"FAC/{rng.randint(2023, 2026)}/{digits(rng, 5)}",
                        f"CN-{digits(rng, 8)}"])
    else:
        raise ValueError(kind)
    return Look(v, kind)
