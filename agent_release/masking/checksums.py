"""Check-digit algorithms for the structured identifiers the masker finds and fakes.

Used both ways: recognizers validate a candidate (a valid check digit raises the score to 1.0),
and the surrogate generator computes check digits so every fake is format-valid. Pure Python,
no dependencies; every function takes the identifier's characters without separators.
"""

from __future__ import annotations

import re
from collections import Counter

_NON_ALNUM = re.compile(r"[^0-9A-Za-z]")


def compact(value: str) -> str:
    """Characters of an identifier without separators (spaces, dashes, dots, slashes)."""
    return _NON_ALNUM.sub("", value)


# --- payment cards -----------------------------------------------------------------------------

def luhn_ok(digits: str) -> bool:
    if not digits.isdigit() or len(digits) < 2:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_check_digit(partial: str) -> str:
    """The digit to append to ``partial`` so that the whole number passes Luhn."""
    for c in "0123456789":
        if luhn_ok(partial + c):
            return c
    raise AssertionError("unreachable")


def card_brand_ok(digits: str) -> bool:
    """Issuer ranges of the major networks (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay,
    Maestro, Elo/Hipercard prefixes) with their lengths."""
    n = len(digits)
    if not 12 <= n <= 19:
        return False
    p2, p4 = int(digits[:2]), int(digits[:4])
    if digits[0] == "4":
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16
    if p2 in (34, 37):
        return n == 15
    if p2 in (36, 38, 39) or 300 <= int(digits[:3]) <= 305:
        return n in (14, 16, 19)
    if digits.startswith(("6011", "65")) or 644 <= int(digits[:3]) <= 649 or p2 == 62:
        return n in (16, 17, 18, 19)
    if p2 == 35:
        return n in (16, 17, 18, 19)
    if p2 in (50, 56, 57, 58, 60, 63, 67, 68, 69):  # Maestro and national schemes
        return 16 <= n <= 19
    return False


# --- IBAN ---------------------------------------------------------------------------------------

#: ISO 13616 lengths: the IBAN registry (SWIFT), every country that issues IBANs.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}


def _iban_numeric(s: str) -> int:
    return int("".join(str(int(c, 36)) for c in s))


def iban_ok(value: str) -> bool:
    s = compact(value).upper()
    if len(s) < 15 or len(s) > 34 or not s[:2].isalpha() or not s[2:4].isdigit():
        return False
    expected = IBAN_LENGTHS.get(s[:2])
    if expected is not None and len(s) != expected:
        return False
    return _iban_numeric(s[4:] + s[:4]) % 97 == 1


def iban_check_digits(country: str, bban: str) -> str:
    rem = _iban_numeric(bban.upper() + country.upper() + "00") % 97
    return f"{98 - rem:02d}"


# --- CLABE (MX), ABA routing numbers (US) ---------------------------------------------------

def clabe_check_digit(first17: str) -> str:
    """CLABE control digit: weights 3, 7, 1 repeated, each product mod 10."""
    total = sum(int(c) * (3, 7, 1)[i % 3] % 10 for i, c in enumerate(first17))
    return str((10 - total % 10) % 10)


def clabe_ok(value: str) -> bool:
    s = compact(value)
    return len(s) == 18 and s.isdigit() and clabe_check_digit(s[:17]) == s[17]


def aba_ok(value: str) -> bool:
    """ABA routing number: 9 digits, 3-7-1 weighted sum divisible by 10, a Federal Reserve
    prefix (00-12, 21-32, 61-72, 80)."""
    s = compact(value)
    if len(s) != 9 or not s.isdigit():
        return False
    p = int(s[:2])
    if not (p <= 12 or 21 <= p <= 32 or 61 <= p <= 72 or p == 80):
        return False
    return sum(int(c) * (3, 7, 1)[i % 3] for i, c in enumerate(s)) % 10 == 0


def aba_check_digit(first8: str) -> str:
    total = sum(int(c) * (3, 7, 1)[i % 3] for i, c in enumerate(first8))
    return str((10 - total % 10) % 10)


# --- national identifiers ----------------------------------------------------------------------

DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def dni_letter(number: int) -> str:
    return DNI_LETTERS[number % 23]


def es_dni_ok(value: str) -> bool:
    s = compact(value).upper()
    return len(s) == 9 and s[:8].isdigit() and s[8] == dni_letter(int(s[:8]))


def es_nie_ok(value: str) -> bool:
    s = compact(value).upper()
    if len(s) != 9 or s[0] not in "XYZ" or not s[1:8].isdigit():
        return False
    return s[8] == dni_letter(int(str("XYZ".index(s[0])) + s[1:8]))


def fr_nir_key(first13: str) -> str:
    s = first13.upper().replace("2A", "19").replace("2B", "18")
    return f"{97 - int(s) % 97:02d}"


def fr_nir_ok(value: str) -> bool:
    s = compact(value).upper()
    if len(s) != 15 or s[0] not in "12378" or not s[13:].isdigit():
        return False
    body = s[:13]
    if not re.fullmatch(r"\d{5}(\d{2}|2A|2B)\d{6}", body):
        return False
    return fr_nir_key(body) == s[13:]


def de_steuer_id_check_digit(first10: str) -> str:
    product = 10
    for ch in first10:
        total = (int(ch) + product) % 10
        if total == 0:
            total = 10
        product = (total * 2) % 11
    check = 11 - product
    return "0" if check == 10 else str(check)


def de_steuer_id_structure_ok(first10: str) -> bool:
    """First digit not 0; exactly one digit repeated (twice, or three times but never three in
    a row), so one or two digits are missing."""
    if first10[0] == "0":
        return False
    counts = Counter(first10)
    repeated = [d for d, c in counts.items() if c > 1]
    if len(repeated) != 1 or counts[repeated[0]] > 3:
        return False
    if counts[repeated[0]] == 3 and repeated[0] * 3 in first10:
        return False
    return True


def de_steuer_id_ok(value: str) -> bool:
    s = compact(value)
    if len(s) != 11 or not s.isdigit():
        return False
    return de_steuer_id_structure_ok(s[:10]) and de_steuer_id_check_digit(s[:10]) == s[10]


def br_cpf_check_digits(first9: str) -> str:
    d = [int(c) for c in first9]
    d1 = (sum(v * (10 - i) for i, v in enumerate(d)) * 10) % 11 % 10
    d.append(d1)
    d2 = (sum(v * (11 - i) for i, v in enumerate(d)) * 10) % 11 % 10
    return f"{d1}{d2}"


def br_cpf_ok(value: str) -> bool:
    s = compact(value)
    if len(s) != 11 or not s.isdigit() or len(set(s)) == 1:
        return False
    return br_cpf_check_digits(s[:9]) == s[9:]


def us_ssn_ok(value: str) -> bool:
    s = compact(value)
    if len(s) != 9 or not s.isdigit():
        return False
    area, group, serial = int(s[:3]), int(s[3:5]), int(s[5:])
    return area not in (0, 666) and area < 900 and group != 0 and serial != 0


_NINO_BAD_FIRST = set("DFIQUV")
_NINO_BAD_SECOND = set("DFIOQUV")
_NINO_BAD_PREFIX = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def uk_nino_ok(value: str) -> bool:
    s = compact(value).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{6}[A-D]", s):
        return False
    return (
        s[0] not in _NINO_BAD_FIRST and s[1] not in _NINO_BAD_SECOND
        and s[:2] not in _NINO_BAD_PREFIX
    )


_CURP_CHARS = "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ"


def mx_curp_check_digit(first17: str) -> str:
    total = sum(_CURP_CHARS.index(c) * (18 - i) for i, c in enumerate(first17.upper()))
    return str((10 - total % 10) % 10)


def mx_curp_ok(value: str) -> bool:
    s = value.strip().upper()
    if len(s) != 18 or any(c not in _CURP_CHARS for c in s):
        return False
    return mx_curp_check_digit(s[:17]) == s[17]
