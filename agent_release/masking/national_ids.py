"""National identifiers of Italy, Poland, the Nordic countries and Turkey: check-digit
validators, check-digit generators (for the surrogates) and :class:`NordicEtcIdRecognizer`.

==================  ===============================  ==============================================
type                identifier                       validation
==================  ===============================  ==============================================
IT_CF               codice fiscale (16 characters)   layout (omocodia letters allowed), birth day,
                                                     odd/even-table check letter
PL_PESEL            PESEL (11 digits)                birth date (month + century offset), weights
                                                     1-3-7-9
SE_PERSONNUMMER     personnummer / samordningsnr     YYMMDD(-|+)XXXX, YYYYMMDD[-]XXXX; date (day+60
                                                     for samordningsnummer), Luhn on 10 digits
DK_CPR              CPR-nummer                       DDMMYY-XXXX; date; modulus 11 optional (not
                                                     issued after 2007)
NO_FNR              fødselsnummer / D-nummer         DDMMYY IIIKK; date (D: day+40, H: month+40),
                                                     two modulus-11 check digits
FI_HETU             henkilötunnus                    DDMMYY C ZZZ Q, century sign + - A-F U-Y,
                                                     mod-31 check character
TR_TCKN             T.C. Kimlik No (11 digits)       first digit non-zero, two check digits
==================  ===============================  ==============================================

Scores follow :class:`~agent_release.masking.recognizers.NationalIdRecognizer`: a valid check
digit scores 0.97 (1.0 after the identifier's cue word); a format match whose check digit fails
scores 0.6 only after a cue ("codice fiscale", "PESEL", "personnummer", "CPR", "fødselsnummer",
"henkilötunnus", "TC kimlik"...), otherwise nothing. A bare digit run right after an order /
tracking / phone cue is capped at 0.3 (below the masker's 0.5) unless its own cue is nearer.
"""

from __future__ import annotations

from datetime import date

import regex as re

from agent_release.masking.recbase import ORDER_CTX, _Base, embedded
from agent_release.masking.textutil import fold

# ------------------------------------------------------------------------------------------------
# validators / check-digit generators (take the identifier without separators)
# ------------------------------------------------------------------------------------------------

_CF_ODD = dict(zip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", (
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21,
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23)))
_CF_MONTHS = "ABCDEHLMPRST"
_CF_OMOCODIA = "LMNPQRSTUV"  # letters standing for 0-9 in the digit positions
_CF_DIGIT_POS = (6, 7, 9, 10, 12, 13, 14)


def _plain_date(y: int, m: int, d: int) -> bool:
    try:
        date(y, m, d)
    except ValueError:
        return False
    return True


def it_cf_check_char(first15: str) -> str:
    s = first15.upper()
    total = 0
    for i, c in enumerate(s):
        if i % 2 == 0:  # 1st, 3rd, ... character (odd positions, 1-based)
            total += _CF_ODD[c]
        else:
            total += int(c) if c.isdigit() else ord(c) - 65
    return chr(65 + total % 26)


def it_cf_decode(value: str) -> str:
    """The codice fiscale with omocodia letters in its digit positions turned back to digits."""
    s = list(value.upper())
    for i in _CF_DIGIT_POS:
        if s[i] in _CF_OMOCODIA:
            s[i] = str(_CF_OMOCODIA.index(s[i]))
    return "".join(s)


def it_cf_format_ok(value: str) -> bool:
    s = value.upper()
    if len(s) != 16 or not s.isalnum():
        return False
    d = it_cf_decode(s)
    if not (d[:6].isalpha() and d[6:8].isdigit() and d[8] in _CF_MONTHS and d[9:11].isdigit()
            and d[11].isalpha() and d[12:15].isdigit() and d[15].isalpha()):
        return False
    day = int(d[9:11])
    day = day - 40 if day > 40 else day
    return 1 <= day <= 31


def it_cf_ok(value: str) -> bool:
    s = value.upper()
    return it_cf_format_ok(s) and it_cf_check_char(s[:15]) == s[15]


_PESEL_W = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
_PESEL_CENTURY = {0: 1900, 20: 2000, 40: 2100, 60: 2200, 80: 1800}


def pl_pesel_check_digit(first10: str) -> str:
    return str((10 - sum(int(c) * w for c, w in zip(first10, _PESEL_W)) % 10) % 10)


def pl_pesel_birth_date(value: str) -> date | None:
    if len(value) != 11 or not value.isdigit():
        return None
    yy, mm, dd = int(value[:2]), int(value[2:4]), int(value[4:6])
    off = (mm - 1) // 20 * 20 if mm > 0 else -1
    if off not in _PESEL_CENTURY:
        return None
    y, m = _PESEL_CENTURY[off] + yy, mm - off
    return date(y, m, dd) if _plain_date(y, m, dd) else None


def pl_pesel_ok(value: str) -> bool:
    return pl_pesel_birth_date(value) is not None and pl_pesel_check_digit(value[:10]) == value[10]


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def se_luhn_digit(first9: str) -> str:
    return next(c for c in "0123456789" if _luhn_ok(first9 + c))


def se_date_ok(yymmdd: str, century: int | None = None) -> bool:
    """YYMMDD (day + 60 in a samordningsnummer) is a date in some century."""
    yy, mm, dd = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    if dd > 60:
        dd -= 60
    years = [century + yy] if century else [1900 + yy, 2000 + yy]
    return any(_plain_date(y, mm, dd) for y in years)


def se_personnummer_ok(value: str) -> bool:
    """10 digits (YYMMDDXXXX) or 12 (YYYYMMDDXXXX): a date and Luhn over the last 10."""
    d = re.sub(r"\D", "", value)
    century = None
    if len(d) == 12:
        if d[:2] not in ("18", "19", "20"):
            return False
        century, d = int(d[:2]) * 100, d[2:]
    return len(d) == 10 and se_date_ok(d[:6], century) and _luhn_ok(d)


_CPR_W = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)


def dk_cpr_date_ok(value: str) -> bool:
    d = re.sub(r"\D", "", value)
    return len(d) == 10 and any(_plain_date(c + int(d[4:6]), int(d[2:4]), int(d[:2])) for c in (1900, 2000))


def dk_cpr_mod11_ok(value: str) -> bool:
    d = re.sub(r"\D", "", value)
    return len(d) == 10 and sum(int(c) * w for c, w in zip(d, _CPR_W)) % 11 == 0


_NO_W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_NO_W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _mod11_digit(digits: str, weights) -> str | None:
    k = 11 - sum(int(c) * w for c, w in zip(digits, weights)) % 11
    return None if k == 10 else str(k % 11)


def no_fnr_check_digits(first9: str) -> str | None:
    k1 = _mod11_digit(first9, _NO_W1)
    if k1 is None:
        return None
    k2 = _mod11_digit(first9 + k1, _NO_W2)
    return None if k2 is None else k1 + k2


def no_fnr_date_ok(d: str) -> bool:
    dd, mm, yy = int(d[:2]), int(d[2:4]), int(d[4:6])
    if dd > 40:
        dd -= 40  # D-nummer
    if mm > 40:
        mm -= 40  # H-nummer
    return any(_plain_date(c + yy, mm, dd) for c in (1900, 2000))


def no_fnr_ok(value: str) -> bool:
    d = re.sub(r"\D", "", value)
    return len(d) == 11 and no_fnr_date_ok(d) and no_fnr_check_digits(d[:9]) == d[9:]


_HETU_CHARS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
_HETU_CENTURY = {"+": 1800, "-": 1900, "U": 1900, "V": 1900, "W": 1900, "X": 1900, "Y": 1900,
                 "A": 2000, "B": 2000, "C": 2000, "D": 2000, "E": 2000, "F": 2000}


def fi_hetu_check_char(ddmmyy: str, zzz: str) -> str:
    return _HETU_CHARS[int(ddmmyy + zzz) % 31]


def fi_hetu_date_ok(value: str) -> bool:
    s = value.upper()
    c = _HETU_CENTURY.get(s[6:7])
    return c is not None and s[:6].isdigit() and _plain_date(c + int(s[4:6]), int(s[2:4]), int(s[:2]))


def fi_hetu_ok(value: str) -> bool:
    s = value.upper()
    return (len(s) == 11 and fi_hetu_date_ok(s) and s[7:10].isdigit()
            and fi_hetu_check_char(s[:6], s[7:10]) == s[10])


def tr_tckn_check_digits(first9: str) -> str:
    d = [int(c) for c in first9]
    d10 = (sum(d[0:9:2]) * 7 - sum(d[1:8:2])) % 10
    d11 = (sum(d) + d10) % 10
    return f"{d10}{d11}"


def tr_tckn_ok(value: str) -> bool:
    return (len(value) == 11 and value.isdigit() and value[0] != "0"
            and tr_tckn_check_digits(value[:9]) == value[9:])


_BSN_W = (9, 8, 7, 6, 5, 4, 3, 2, -1)


def nl_bsn_ok(value: str) -> bool:
    """Dutch burgerservicenummer: 9 digits (8 with a leading 0 dropped), the "11-proef"."""
    d = re.sub(r"\D", "", value)
    if len(d) == 8:
        d = "0" + d
    if len(d) != 9 or d == "000000000":
        return False
    return sum(int(c) * w for c, w in zip(d, _BSN_W)) % 11 == 0


# ------------------------------------------------------------------------------------------------
# recognizer
# ------------------------------------------------------------------------------------------------

_B = r"(?<![\w.\-/+])"
_E = r"(?![\w\-+]|[./]\d)"
_D = r"[0-9LMNPQRSTUVlmnpqrstuv]"
_PATTERNS = [
    ("IT_CF", re.compile(
        _B + r"[A-Za-z]{3} ?[A-Za-z]{3} ?" + _D + r"{2}[ABCDEHLMPRSTabcdehlmprst]" + _D + r"{2} ?[A-Za-z]"
        + _D + r"{3} ?[A-Za-z]" + _E)),
    ("DIGITS11", re.compile(_B + r"\d{11}" + _E)),
    ("NO_FNR", re.compile(_B + r"\d{6} \d{5}" + _E)),
    ("SE_PERSONNUMMER", re.compile(r"(?<![\w.\-/])(?:18|19|20)\d{6}[-+]\d{4}" + _E)),
    ("DASH10", re.compile(r"(?<![\w.\-/])\d{6}[-+]\d{4}" + _E)),
    ("SE_PERSONNUMMER", re.compile(_B + r"(?:19|20)\d{10}" + _E)),
    ("DIGITS10", re.compile(_B + r"\d{10}" + _E)),
    ("DK_CPR", re.compile(_B + r"\d{6} \d{4}" + _E)),
    ("FI_HETU", re.compile(_B + r"\d{6}[-+ABCDEFUVWXYabcdefuvwxy]\d{3}[0-9A-Ya-y]" + _E)),
    ("NL_BSN", re.compile(_B + r"(?:\d{9}|\d{4}\.\d{2}\.\d{3}|\d{3}[ .]\d{3}[ .]\d{3})" + _E)),
]
_CTX = {
    "IT_CF": re.compile(r"\b(?:codice fiscale|cod\. ?fiscale|cod fiscale|c\.f\.?|cf|tessera sanitaria|codice fisc)\W{0,3}"),
    "PL_PESEL": re.compile(r"\bpesel\b"),
    "SE_PERSONNUMMER": re.compile(r"\b(?:personnummer|personnr|person-nr|pnr|samordningsnummer|personnumret)\b"),
    "DK_CPR": re.compile(r"\b(?:cpr|cpr-nr|cpr-nummer|cpr-nummeret|personnummer|personnummeret)\b"),
    "NO_FNR": re.compile(r"(?:\bf[øo]dselsnummer|\bfnr\b|\bpersonnummer|\bd-nummer|\bfodselsnr|\bf[øo]dselsnr)"),
    "FI_HETU": re.compile(r"\b(?:henkilotunnus|henkilotunnukseni|henkilotunnukseni|hetu|sotu|personbeteckning|henkilotunnuksen)\b"),
    "NL_BSN": re.compile(r"\b(?:bsn|bsn-nummer|burgerservicenummer|sofinummer|sofi-nummer|persoonsnummer)\b"),
    "TR_TCKN": re.compile(r"\b(?:t\.?c\.? ?kimlik|kimlik no|kimlik numaras|kimlik numaram|tckn|tc no|t\.c\. no|kimlik)\w*"),
}
#: a phone cue right before a bare digit run: that run is a phone number, not an id
_PHONE_CTX = re.compile(
    r"\b(?:tel|tlf|telefon|telefono|telephone|phone|mobil|mobile|cell|cep|gsm|puhelin|numer telefonu|"
    r"ring|call|whatsapp|sms|fax|arayin)\w*\W{0,4}(?:\w+\W{1,3}){0,2}$")
_CUE_WINDOW = 45
_DIGIT_KINDS = {
    "DIGITS11": ("PL_PESEL", "TR_TCKN", "NO_FNR"),
    "DIGITS10": ("SE_PERSONNUMMER", "DK_CPR"),
    "DASH10": ("SE_PERSONNUMMER", "DK_CPR"),
}


class NordicEtcIdRecognizer(_Base):
    """Italian codice fiscale, Polish PESEL, Swedish personnummer, Danish CPR, Norwegian
    fødselsnummer, Finnish henkilötunnus, Turkish TC Kimlik No (see the module docstring)."""

    ENTITIES = ("IT_CF", "PL_PESEL", "SE_PERSONNUMMER", "DK_CPR", "NO_FNR", "FI_HETU", "TR_TCKN", "NL_BSN")

    def analyze(self, text, entities, nlp_artifacts=None):
        if not any(c.isdigit() for c in text):
            return []
        folded = fold(text)
        out = []
        for kind, pattern in _PATTERNS:
            for m in pattern.finditer(text):
                s, e = m.start(), m.end()
                if embedded(text, s, e):
                    continue
                vetoed = None
                for subtype in _DIGIT_KINDS.get(kind, (kind,)):
                    score = self._score(subtype, kind, m.group(), folded, s)
                    if 0.3 < score < 1.0 or (score == 1.0 and kind in _DIGIT_KINDS):
                        # an order / tracking / phone cue right before the number beats a cue
                        # word further back ("PESEL ..., numer zamówienia 10000000146")
                        vetoed = _vetoed(folded, s) if vetoed is None else vetoed
                        if vetoed and (kind in _DIGIT_KINDS or score < 0.9):
                            score = 0.3
                    if score > 0:
                        out.append(self._res(subtype, s, e, score))
        return out

    @staticmethod
    def _score(subtype: str, kind: str, value: str, folded: str, start: int) -> float:
        lo = max(0, start - _CUE_WINDOW)
        ctx = _CTX[subtype].search(folded, lo, start) is not None
        compact = re.sub(r"[\s]", "", value)
        if subtype == "IT_CF":
            if not it_cf_format_ok(compact):
                return 0.0
            if it_cf_ok(compact):
                return 1.0 if (ctx or compact.isupper()) else 0.9
            return 0.6 if ctx else 0.0
        if subtype == "NL_BSN":
            # a 9-digit run passes the 11-proof 1 time in 11 by chance: without a BSN cue it is
            # masked (privacy first) below the check-digit-valid ids' score, vetoed by id cues
            if not nl_bsn_ok(value):
                return 0.6 if ctx else 0.0
            if ctx:
                return 1.0
            return 0.3 if _vetoed(folded, start) else 0.7
        if subtype == "FI_HETU":
            if not fi_hetu_date_ok(value):
                return 0.6 if ctx else 0.0
            return (1.0 if ctx else 0.97) if fi_hetu_ok(value) else (0.6 if ctx else 0.0)
        if subtype == "PL_PESEL":
            valid, shaped = pl_pesel_ok(compact), pl_pesel_birth_date(compact) is not None
        elif subtype == "TR_TCKN":
            valid, shaped = tr_tckn_ok(compact), compact[0] != "0"
        elif subtype == "NO_FNR":
            d = compact
            valid, shaped = no_fnr_ok(d), no_fnr_date_ok(d)
        elif subtype == "SE_PERSONNUMMER":
            d = re.sub(r"\D", "", value)
            century = int(d[:2]) * 100 if len(d) == 12 else None
            shaped = se_date_ok(d[-10:-4], century)
            valid = se_personnummer_ok(value)
            if "+" in value and not ctx and not valid:
                return 0.0
        else:  # DK_CPR
            if "+" in value:
                return 0.0
            shaped = dk_cpr_date_ok(value)
            # modulus 11 is not required since 2007: DDMMYY-XXXX with a real date is telling
            valid = shaped and (dk_cpr_mod11_ok(value) or "-" in value)
            if valid and not dk_cpr_mod11_ok(value) and not ctx:
                return 0.0 if _vetoed(folded, start) else 0.85
        if not shaped:
            return 0.6 if ctx and subtype != "NO_FNR" else 0.0
        if valid:
            if ctx:
                return 1.0
            bare = kind.startswith("DIGITS") or kind == "DASH10"
            if bare and _vetoed(folded, start):
                return 0.3  # an order / tracking / phone number that passes by chance
            return 0.97 if not bare or subtype == "TR_TCKN" or subtype == "PL_PESEL" else 0.9
        return 0.6 if ctx else 0.0


#: a Polish domestic account number (NRB) in its usual 2 + 6 x 4 grouping, without "PL"
_NRB = re.compile(r"(?<![\w.\-/+])\d{2}(?: \d{4}){6}" + _E)


_ACCOUNT_CUE = re.compile(r"\b(?:kont|rachun|account|iban|przelew|nrb)")


class PolishNrbRecognizer(_Base):
    """A Polish NRB written with spaces ("25 1240 4748 4425 5351 0735 0545"): mod-97 valid as
    an IBAN with PL prepended → 1.0 (0.3 after an order / tracking cue); the compact 26-digit
    form is the bank recognizer's."""

    ENTITIES = ("PL_NRB",)

    def analyze(self, text, entities, nlp_artifacts=None):
        if " " not in text or not any(c.isdigit() for c in text):
            return []
        out = []
        folded = None
        for m in _NRB.finditer(text):
            digits = m.group().replace(" ", "")
            if embedded(text, m.start(), m.end()) or not _iban_ok("PL" + digits):
                continue
            folded = folded if folded is not None else fold(text)
            vetoed = _vetoed(folded, m.start()) and not _ACCOUNT_CUE.search(folded, max(0, m.start() - 40), m.start())
            out.append(self._res("PL_NRB", m.start(), m.end(), 0.3 if vetoed else 1.0))
        return out


def _iban_ok(value: str) -> bool:
    from agent_release.masking.checksums import iban_ok

    return iban_ok(value)


def _vetoed(folded: str, start: int) -> bool:
    lo = max(0, start - 40)
    return bool(ORDER_CTX.search(folded, lo, start) or _PHONE_CTX.search(folded, lo, start))


# ------------------------------------------------------------------------------------------------
# surrogates (called by SurrogateFactory.national_id with its keyed random.Random)
# ------------------------------------------------------------------------------------------------

_CF_TOWNS = ("H501", "F205", "L219", "F839", "G273", "D612", "A944", "L736", "C351", "A662", "D969", "L424")
_CONSONANTS = "BCDFGHLMNPRSTVZ"


def _rand_date(r, lo: int = 1950, hi: int = 2004) -> date:
    return date(r.randint(lo, hi), r.randint(1, 12), r.randint(1, 28))


def _digits(r, n: int) -> str:
    return "".join(str(r.randrange(10)) for _ in range(n))


def fake_national_id(subtype: str, value: str, r) -> str | None:
    """A format-valid fake of ``subtype`` shaped like ``value``: valid check digits, a plausible
    birth date; alphanumeric characters only (the caller writes them into ``value``'s
    separators), except FI_HETU, returned whole with the original's century sign.
    ``None`` for a subtype this module does not know."""
    compact = re.sub(r"[^0-9A-Za-z]", "", value).upper()
    if subtype == "IT_CF":
        female = it_cf_format_ok(compact) and int(it_cf_decode(compact)[9:11]) > 40
        d = _rand_date(r)
        body = ("".join(r.choice(_CONSONANTS) for _ in range(6)) + f"{d.year % 100:02d}"
                + _CF_MONTHS[d.month - 1] + f"{d.day + (40 if female else 0):02d}" + r.choice(_CF_TOWNS))
        return body + it_cf_check_char(body)
    if subtype == "PL_PESEL":
        d = _rand_date(r, 1950, 2010)
        off = {1800: 80, 1900: 0, 2000: 20}[d.year // 100 * 100]
        sex = int(compact[9]) % 2 if len(compact) == 11 and compact.isdigit() else r.randrange(2)
        body = f"{d.year % 100:02d}{d.month + off:02d}{d.day:02d}{_digits(r, 3)}{r.randrange(5) * 2 + sex}"
        return body + pl_pesel_check_digit(body)
    if subtype == "SE_PERSONNUMMER":
        old = "+" in value
        d = _rand_date(r, 1900, 1924) if old else _rand_date(r)
        body = f"{d.year % 100:02d}{d.month:02d}{d.day:02d}{_digits(r, 3)}"
        ten = body + se_luhn_digit(body)
        return (str(d.year // 100) + ten) if len(compact) == 12 else ten
    if subtype == "DK_CPR":
        for _ in range(50):
            d = _rand_date(r, 1950, 1999)
            first9 = f"{d.day:02d}{d.month:02d}{d.year % 100:02d}{r.choice('0123')}{_digits(r, 2)}"
            for c in "0123456789":
                if dk_cpr_mod11_ok(first9 + c):
                    return first9 + c
        return None
    if subtype == "NO_FNR":
        for _ in range(50):
            d = _rand_date(r, 1950, 1999)
            first9 = f"{d.day:02d}{d.month:02d}{d.year % 100:02d}{r.randint(0, 499):03d}"
            k = no_fnr_check_digits(first9)
            if k is not None:
                return first9 + k
        return None
    if subtype == "FI_HETU":
        sign = value[6:7].upper() if len(value) == 11 and value[6:7].upper() in _HETU_CENTURY else "-"
        c = _HETU_CENTURY[sign]
        d = _rand_date(r, c + (50 if c == 1900 else 0), c + (4 if c == 2000 else 99))
        ddmmyy, zzz = f"{d.day:02d}{d.month:02d}{d.year % 100:02d}", f"{r.randint(2, 899):03d}"
        sign_out = value[6] if len(value) == 11 else sign
        return ddmmyy + sign_out + zzz + fi_hetu_check_char(ddmmyy, zzz)
    if subtype == "TR_TCKN":
        first9 = str(r.randint(1, 9)) + _digits(r, 8)
        return first9 + tr_tckn_check_digits(first9)
    if subtype == "NL_BSN":
        for _ in range(100):
            first8 = str(r.randint(1, 9)) + _digits(r, 7)
            last = (sum(int(c) * w for c, w in zip(first8, _BSN_W[:8]))) % 11
            if last < 10 and nl_bsn_ok(first8 + str(last)):
                return first8 + str(last)
        return None
    return None
