"""Check-digit-correct synthetic identifiers (and their validators).

Every generator takes a ``random.Random`` so output is deterministic by seed. The validators are
public so tests — and the masking engineer's recognizers — can verify the same rules.
"""

from __future__ import annotations

import random
import string

from agent_release.masking import checksums

_DIGITS = "0123456789"
_UPPER = string.ascii_uppercase
_ALNUM = _UPPER + _DIGITS


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_DIGITS) for _ in range(n))


def _group(s: str, sizes: tuple[int, ...], sep: str) -> str:
    out, i = [], 0
    for size in sizes:
        if i >= len(s):
            break
        out.append(s[i:i + size])
        i += size
    if i < len(s):
        out.append(s[i:])
    return sep.join(out)


# --------------------------------------------------------------------------- payment cards

def luhn_ok(number: str) -> bool:
    """Luhn check over the digits of ``number`` (separators ignored); at least 12 digits."""
    digits = "".join(c for c in number if c.isdigit())
    return len(digits) >= 12 and checksums.luhn_ok(digits)


def _luhn_complete(partial: str) -> str:
    """Append the Luhn check digit to ``partial``."""
    return partial + checksums.luhn_check_digit(partial)


def card_number(rng: random.Random) -> tuple[str, str]:
    """A Luhn-valid card number formatted as customers type it → (text, subtype)."""
    r = rng.random()
    if r < 0.55:
        subtype, prefix, length = "VISA", "4", 16
    elif r < 0.88:
        subtype, length = "MASTERCARD", 16
        prefix = str(rng.randint(51, 55)) if rng.random() < 0.8 else str(rng.randint(2221, 2720))
    else:
        subtype, prefix, length = "AMEX", rng.choice(("34", "37")), 15
    raw = _luhn_complete(prefix + _digits(rng, length - len(prefix) - 1))
    style = rng.random()
    sizes = (4, 6, 5) if length == 15 else (4, 4, 4, 4)
    if style < 0.5:
        text = _group(raw, sizes, " ")
    elif style < 0.72:
        text = _group(raw, sizes, "-")
    else:
        text = raw
    return text, subtype


# --------------------------------------------------------------------------- IBAN

IBAN_LENGTHS = {"ES": 24, "DE": 22, "FR": 27, "GB": 22, "PT": 25, "BR": 29}


def _iban_check(country: str, bban: str) -> str:
    return checksums.iban_check_digits(country, bban)


def iban_ok(iban: str) -> bool:
    s = iban.replace(" ", "").upper()
    if len(s) < 15 or not s[:2].isalpha() or not s[2:4].isdigit():
        return False
    if s[:2] in IBAN_LENGTHS and len(s) != IBAN_LENGTHS[s[:2]]:
        return False
    num = "".join(str(int(c, 36)) for c in s[4:] + s[:4])
    return int(num) % 97 == 1


def _es_ccc_digit(digits: str) -> str:
    weights = (1, 2, 4, 8, 5, 10, 9, 7, 3, 6)
    w = weights[-len(digits):] if len(digits) < 10 else weights
    d = 11 - sum(int(c) * k for c, k in zip(digits, w)) % 11
    return "0" if d == 11 else "1" if d == 10 else str(d)


def _fr_rib_key(bank: str, branch: str, account: str) -> str:
    conv = {c: str(v) for c, v in zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "12345678912345678923456789")}
    acc = "".join(conv.get(c, c) for c in account)
    key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(acc)) % 97
    return f"{key:02d}"


_GB_BANKS = ("NWBK", "BARC", "LOYD", "HBUK", "MIDL", "NAIA", "SRLG", "MONZ")


def iban(rng: random.Random, country: str) -> tuple[str, str]:
    """A valid IBAN (mod-97, plus national check digits for ES/FR) → (text, subtype)."""
    if country == "ES":
        bank = rng.choice(("2100", "0049", "0182", "0081", "2080", "0128", "1465", "2038"))
        branch, account = _digits(rng, 4), _digits(rng, 10)
        dc = _es_ccc_digit("00" + bank + branch) + _es_ccc_digit(account)
        bban = bank + branch + dc + account
    elif country == "DE":
        blz = rng.choice(("10070000", "20040000", "37040044", "50010517", "70020270", "12030000",
                          "43060967", "60050101"))
        bban = blz + _digits(rng, 10)
    elif country == "FR":
        bank = rng.choice(("30004", "30003", "20041", "10278", "11306", "30002", "17515"))
        branch, account = _digits(rng, 5), _digits(rng, 11)
        bban = bank + branch + account + _fr_rib_key(bank, branch, account)
    elif country == "GB":
        bban = rng.choice(_GB_BANKS) + _digits(rng, 6) + _digits(rng, 8)
    elif country == "PT":
        bban = rng.choice(("0035", "0033", "0010", "0007", "0018")) + _digits(rng, 4) + _digits(rng, 13)
    elif country == "BR":
        bban = rng.choice(("00360305", "60701190", "00000000", "90400888")) + _digits(rng, 5) + \
            _digits(rng, 10) + rng.choice("CP") + rng.choice("123")
    else:  # pragma: no cover - defensive
        raise ValueError(f"no IBAN format for {country}")
    compact = country + _iban_check(country, bban) + bban
    text = _group(compact, (4,) * 8, " ") if rng.random() < 0.65 else compact
    return text, f"{country}_IBAN"


# --------------------------------------------------------------------------- national ids

_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def es_dni(rng: random.Random) -> str:
    n = rng.randint(10_000_000, 79_999_999)
    return f"{n:08d}{_DNI_LETTERS[n % 23]}"


def es_nie(rng: random.Random) -> str:
    prefix = rng.choice("XYZ")
    body = _digits(rng, 7)
    n = int(str("XYZ".index(prefix)) + body)
    return f"{prefix}{body}{_DNI_LETTERS[n % 23]}"


def es_dni_ok(s: str) -> bool:
    s = s.replace("-", "").replace(" ", "").upper()
    if len(s) != 9:
        return False
    head = s[:8]
    if head[0] in "XYZ":
        head = str("XYZ".index(head[0])) + head[1:]
    return head.isdigit() and _DNI_LETTERS[int(head) % 23] == s[8]


def us_ssn(rng: random.Random) -> str:
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            break
    digits = f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
    r = rng.random()
    if r < 0.8:
        return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"
    if r < 0.9:
        return f"{digits[:3]} {digits[3:5]} {digits[5:]}"
    return digits


def fr_nir(rng: random.Random, birth_year: int, birth_month: int, sex: str) -> str:
    dept = rng.choice(("75", "69", "13", "33", "31", "59", "67", "44", "06", "92", "93", "94", "78"))
    body = ("1" if sex == "M" else "2") + f"{birth_year % 100:02d}{birth_month:02d}" + dept + \
        f"{rng.randint(1, 999):03d}{rng.randint(1, 999):03d}"
    key = 97 - int(body) % 97
    if rng.random() < 0.6:
        return f"{body[0]} {body[1:3]} {body[3:5]} {body[5:7]} {body[7:10]} {body[10:13]} {key:02d}"
    return f"{body}{key:02d}"


def fr_nir_ok(s: str) -> bool:
    d = s.replace(" ", "")
    return len(d) == 15 and d.isdigit() and 97 - int(d[:13]) % 97 == int(d[13:])


def _mod11_10(digits: str) -> str:
    product = 10
    for c in digits:
        total = (int(c) + product) % 10
        if total == 0:
            total = 10
        product = (total * 2) % 11
    check = 11 - product
    return "0" if check == 10 else str(check)


def de_steuer_id(rng: random.Random) -> str:
    # 10 digits, first not 0, exactly one digit occurring twice (the classic rule), + ISO 7064 check.
    while True:
        first = rng.choice("123456789")
        pool = [d for d in _DIGITS if d != first]
        rng.shuffle(pool)
        picked = [first] + pool[:8]
        dup = rng.choice(picked)
        body = picked[1:] + [dup]
        rng.shuffle(body)
        s = first + "".join(body)
        if len(set(s)) == 9:
            break
    s += _mod11_10(s)
    return f"{s[:2]} {s[2:5]} {s[5:8]} {s[8:]}" if rng.random() < 0.5 else s


def de_steuer_id_ok(s: str) -> bool:
    d = s.replace(" ", "")
    return len(d) == 11 and d.isdigit() and d[0] != "0" and _mod11_10(d[:10]) == d[10]


def _cpf_digit(digits: str) -> str:
    w = len(digits) + 1
    total = sum(int(c) * (w - i) for i, c in enumerate(digits))
    r = total % 11
    return "0" if r < 2 else str(11 - r)


def br_cpf(rng: random.Random) -> str:
    while True:
        base = _digits(rng, 9)
        if len(set(base)) > 1:
            break
    d1 = _cpf_digit(base)
    d2 = _cpf_digit(base + d1)
    s = base + d1 + d2
    return f"{s[:3]}.{s[3:6]}.{s[6:9]}-{s[9:]}" if rng.random() < 0.75 else s


def br_cpf_ok(s: str) -> bool:
    d = "".join(c for c in s if c.isdigit())
    if len(d) != 11 or len(set(d)) == 1:
        return False
    return _cpf_digit(d[:9]) == d[9] and _cpf_digit(d[:10]) == d[10]


_NINO_BAD_FIRST = set("DFIQUV")
_NINO_BAD_SECOND = set("DFIOQUV")
_NINO_BAD_PREFIX = {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}


def uk_nino(rng: random.Random) -> str:
    while True:
        a, b = rng.choice(_UPPER), rng.choice(_UPPER)
        if a not in _NINO_BAD_FIRST and b not in _NINO_BAD_SECOND and a + b not in _NINO_BAD_PREFIX:
            break
    d = _digits(rng, 6)
    suffix = rng.choice("ABCD")
    if rng.random() < 0.55:
        return f"{a}{b} {d[:2]} {d[2:4]} {d[4:]} {suffix}"
    return f"{a}{b}{d}{suffix}"


def uk_nino_ok(s: str) -> bool:
    d = s.replace(" ", "").upper()
    return (len(d) == 9 and d[0] not in _NINO_BAD_FIRST and d[1] not in _NINO_BAD_SECOND
            and d[:2] not in _NINO_BAD_PREFIX and d[2:8].isdigit() and d[8] in "ABCD")


_CURP_CHARS = "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ"
_MX_STATES = ("DF", "JC", "NL", "PL", "MC", "GT", "VZ", "YN", "QT", "BC", "CH", "SL")


def _curp_digit(s17: str) -> str:
    total = sum(_CURP_CHARS.index(c) * (18 - i) for i, c in enumerate(s17))
    return str((10 - total % 10) % 10)


def _ascii_upper(s: str) -> str:
    table = str.maketrans("ÁÉÍÓÚÜÑáéíóúüñ", "AEIOUUXAEIOUUX")
    return "".join(c for c in s.translate(table).upper() if c.isalpha()) or "X"


def mx_curp(rng: random.Random, first: str, last1: str, last2: str, birth: tuple[int, int, int],
            sex: str) -> str:
    l1, l2, fn = _ascii_upper(last1), _ascii_upper(last2), _ascii_upper(first)
    vowel = next((c for c in l1[1:] if c in "AEIOU"), "X")
    cons = lambda w: next((c for c in w[1:] if c not in "AEIOU"), "X")  # noqa: E731
    y, m, d = birth
    head = (l1[0] + vowel + l2[0] + fn[0] + f"{y % 100:02d}{m:02d}{d:02d}" + ("H" if sex == "M" else "M")
            + rng.choice(_MX_STATES) + cons(l1) + cons(l2) + cons(fn)
            + (rng.choice(_DIGITS) if y < 2000 else rng.choice("ABCDEF")))
    return head + _curp_digit(head)


def mx_curp_ok(s: str) -> bool:
    return len(s) == 18 and all(c in _CURP_CHARS for c in s) and _curp_digit(s[:17]) == s[17]


# --------------------------------------------------------------------------- network

_V4_FIRST = (24, 31, 37, 46, 62, 68, 71, 73, 76, 77, 78, 79, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90,
             91, 92, 93, 95, 96, 97, 98, 99, 104, 107, 108, 109, 173, 174, 176, 177, 178, 179, 181,
             186, 187, 189, 190, 191, 200, 201, 212, 213, 217)
_V6_PREFIX = ("2a01:cb00", "2a02:8108", "2600:1700", "2804:14c", "2a0c:5a80", "2806:2f0", "2a00:23c7",
              "2001:818", "2a02:2f0c")


def ipv4(rng: random.Random) -> str:
    return f"{rng.choice(_V4_FIRST)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def ipv6(rng: random.Random) -> str:
    groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(6)]
    if rng.random() < 0.35:  # compressed form with a zero run
        return f"{rng.choice(_V6_PREFIX)}:{groups[0]}::{groups[1]}:{groups[2]}"
    return f"{rng.choice(_V6_PREFIX)}:" + ":".join(groups)
