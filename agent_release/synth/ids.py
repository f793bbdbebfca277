"""Check-digit-correct synthetic identifiers (and their validators).

Every generator takes a ``random.Random`` so output is deterministic by seed. The validators are
public so tests — and the masking engineer's recognizers — can verify the same rules.
"""

from __future__ import annotations

import random
import re
import string
import unicodedata

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

IBAN_LENGTHS = {"ES": 24, "DE": 22, "FR": 27, "GB": 22, "PT": 25, "BR": 29, "IT": 27, "NL": 18, "PL": 28, "SE": 24}


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

#: Italian check character tables (codice fiscale and the CIN of an Italian BBAN): characters in odd
#: positions (1st, 3rd, ...) by ``_IT_ODD``, in even positions by ``_IT_EVEN``; the sum mod 26 is the letter.
_IT_ODD = dict(zip(_DIGITS + _UPPER, (1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18,
                                      20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23)))
_IT_EVEN = {c: (int(c) if c.isdigit() else ord(c) - 65) for c in _DIGITS + _UPPER}


def _it_check_char(s: str) -> str:
    return chr(65 + sum((_IT_ODD if i % 2 == 0 else _IT_EVEN)[c] for i, c in enumerate(s)) % 26)


def _nl_elfproef(account: str) -> bool:
    """The Dutch bank-account 11-test (weights 10..1); ING's former Postbank accounts do not use it."""
    return sum(int(c) * w for c, w in zip(account, range(10, 0, -1))) % 11 == 0


def _pl_sort_code_digit(first7: str) -> str:
    return str((10 - sum(int(c) * w for c, w in zip(first7, (3, 9, 7, 1, 3, 9, 7))) % 10) % 10)


_IT_ABI = ("03069", "02008", "05034", "01030", "05387", "03015", "07601", "03062", "06230", "03032")
_NL_BANKS = (("INGB", 35), ("ABNA", 20), ("RABO", 25), ("SNSB", 8), ("ASNB", 4), ("TRIO", 3), ("KNAB", 2), ("BUNQ", 3))
_PL_BANKS = ("1020", "1240", "1140", "1050", "1090", "1160", "2490", "1940")
_SE_BANKS = ("500", "600", "800", "300", "950", "120")


def iban(rng: random.Random, country: str) -> tuple[str, str]:
    """A valid IBAN (mod-97, plus national check digits for ES/FR/IT/NL/PL) → (text, subtype).

    Polish customers often give the domestic NRB (the IBAN without "PL", "61 1090 1014 ...");
    30% of PL values are written that way (same subtype; ``pl_nrb_ok`` validates them)."""
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
    elif country == "IT":
        abi, cab = rng.choice(_IT_ABI), _digits(rng, 5)
        conto = _digits(rng, 12) if rng.random() < 0.5 else "0000" + _digits(rng, 8)
        bban = _it_check_char(abi + cab + conto) + abi + cab + conto
    elif country == "NL":
        bank = rng.choices([b for b, _ in _NL_BANKS], [w for _, w in _NL_BANKS])[0]
        if bank == "INGB":
            account = "000" + _digits(rng, 7)
        else:
            while True:
                account = _digits(rng, 10)
                if _nl_elfproef(account) and account[0] != "0":
                    break
        bban = bank + account
    elif country == "PL":
        sort7 = rng.choice(_PL_BANKS) + _digits(rng, 3)
        bban = sort7 + _pl_sort_code_digit(sort7) + _digits(rng, 16)
    elif country == "SE":
        pad = rng.choice((3, 4, 6))
        bban = rng.choice(_SE_BANKS) + "0" * pad + _digits(rng, 17 - pad)
    else:  # pragma: no cover - defensive
        raise ValueError(f"no IBAN format for {country}")
    compact = country + _iban_check(country, bban) + bban
    if country == "PL" and rng.random() < 0.3:  # the domestic NRB: "61 1090 1014 0000 0712 1981 2874"
        nrb = compact[2:]
        text = f"{nrb[:2]} {_group(nrb[2:], (4,) * 6, ' ')}" if rng.random() < 0.7 else nrb
        return text, "PL_IBAN"
    text = _group(compact, (4,) * 8, " ") if rng.random() < 0.65 else compact
    return text, f"{country}_IBAN"


def pl_nrb_ok(s: str) -> bool:
    """A Polish domestic account number (NRB: 26 digits, the IBAN without "PL")."""
    d = s.replace(" ", "")
    return len(d) == 26 and d.isdigit() and iban_ok("PL" + d)


def iban_national_ok(iban_text: str) -> bool:
    """The national check inside the BBAN, where the country has one we generate: ES (CCC digits),
    FR (RIB key), IT (CIN), NL (11-test, except ING), PL (sort-code digit). True for other countries."""
    s = iban_text.replace(" ", "").upper()
    if s[:1].isdigit():
        s = "PL" + s
    c, b = s[:2], s[4:]
    if c == "ES":
        return b[8:10] == _es_ccc_digit("00" + b[:8]) + _es_ccc_digit(b[10:])
    if c == "FR":
        return b[21:] == _fr_rib_key(b[:5], b[5:10], b[10:21])
    if c == "IT":
        return b[0] == _it_check_char(b[1:])
    if c == "NL":
        return b[:4] == "INGB" or _nl_elfproef(b[4:])
    if c == "PL":
        return b[7] == _pl_sort_code_digit(b[:7])
    return True


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


def _fold_upper(s: str) -> str:
    """Letters only, accents removed, upper case ("D'Angelo" → "DANGELO", "Nicolò" → "NICOLO")."""
    return "".join(c for c in unicodedata.normalize("NFKD", s).upper() if "A" <= c <= "Z")


_CF_MONTHS = "ABCDEHLMPRST"
#: Belfiore codes of common birthplaces (Roma, Milano, Napoli, Torino, Palermo, Genova, Bologna,
#: Firenze, Bari, Catania, Venezia, Verona, Padova, Brescia) and two foreign ones (Germania, Svizzera).
_BELFIORE = ("H501", "H501", "F205", "F205", "F839", "L219", "G273", "D969", "A944", "D612", "A662", "C351", "L736",
             "L781", "G224", "B157", "Z112", "Z133")
_CF_RE = re.compile(r"[A-Z]{6}\d{2}[ABCDEHLMPRST]\d{2}[A-Z]\d{3}[A-Z]")


def _cf_part(word: str, is_first: bool) -> str:
    w = _fold_upper(word)
    cons = [c for c in w if c not in "AEIOU"]
    vows = [c for c in w if c in "AEIOU"]
    if is_first and len(cons) >= 4:
        return cons[0] + cons[2] + cons[3]
    return "".join((cons + vows + ["X"] * 3)[:3])


def it_fiscal_code(rng: random.Random, first: str, last: str, birth: tuple[int, int, int], sex: str) -> str:
    """Italian codice fiscale consistent with the person (surname, name, birth date, sex) + check letter."""
    y, m, d = birth
    head = (_cf_part(last, False) + _cf_part(first, True) + f"{y % 100:02d}" + _CF_MONTHS[m - 1]
            + f"{d + (40 if sex == 'F' else 0):02d}" + rng.choice(_BELFIORE))
    return head + _it_check_char(head)


def it_fiscal_code_ok(s: str) -> bool:
    s = s.replace(" ", "").upper()
    return (_CF_RE.fullmatch(s) is not None and (1 <= int(s[9:11]) <= 31 or 41 <= int(s[9:11]) <= 71)
            and _it_check_char(s[:15]) == s[15])


def nl_bsn(rng: random.Random) -> str:
    """Dutch burgerservicenummer: 9 digits passing the 11-test (9·d1 + … + 2·d8 − d9 ≡ 0 mod 11)."""
    while True:
        body = str(rng.randint(1, 6)) + _digits(rng, 7)
        check = sum(int(c) * w for c, w in zip(body, range(9, 1, -1))) % 11
        if check < 10:
            break
    n = body + str(check)
    r = rng.random()
    return n if r < 0.6 else f"{n[:4]}.{n[4:6]}.{n[6:]}" if r < 0.85 else f"{n[:3]} {n[3:6]} {n[6:]}"


def nl_bsn_ok(s: str) -> bool:
    d = s.replace(".", "").replace(" ", "")
    if len(d) != 9 or not d.isdigit() or d == "000000000":
        return False
    return (sum(int(c) * w for c, w in zip(d[:8], range(9, 1, -1))) - int(d[8])) % 11 == 0


_PESEL_W = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
_PESEL_CENTURY = {18: 80, 19: 0, 20: 20, 21: 40, 22: 60}


def pl_pesel(rng: random.Random, birth: tuple[int, int, int], sex: str) -> str:
    """Polish PESEL: YYMMDD (month + 20 for 2000s) + serial + sex digit (odd = male) + check digit."""
    y, m, d = birth
    body = (f"{y % 100:02d}{m + _PESEL_CENTURY[y // 100]:02d}{d:02d}{_digits(rng, 3)}"
            + rng.choice("13579" if sex == "M" else "02468"))
    return body + str((10 - sum(int(c) * w for c, w in zip(body, _PESEL_W)) % 10) % 10)


def pl_pesel_ok(s: str) -> bool:
    d = s.replace(" ", "")
    if len(d) != 11 or not d.isdigit():
        return False
    mm, dd = int(d[2:4]), int(d[4:6])
    return (mm % 20 in range(1, 13) and 1 <= dd <= 31
            and (10 - sum(int(c) * w for c, w in zip(d, _PESEL_W)) % 10) % 10 == int(d[10]))


def se_personnummer(rng: random.Random, birth: tuple[int, int, int], sex: str) -> str:
    """Swedish personnummer YYMMDD-NNNC: third serial digit odd for men, Luhn check over the 9 digits."""
    y, m, d = birth
    serial = _digits(rng, 2) + rng.choice("13579" if sex == "M" else "02468")
    body = f"{y % 100:02d}{m:02d}{d:02d}{serial}"
    tail = serial + checksums.luhn_check_digit(body)
    r = rng.random()
    if r < 0.55:
        return f"{body[:6]}-{tail}"
    if r < 0.8:
        return f"{y}{m:02d}{d:02d}-{tail}"
    return f"{y}{m:02d}{d:02d}{tail}" if r < 0.9 else f"{body[:6]}{tail}"


def se_personnummer_ok(s: str) -> bool:
    d = s.replace("-", "").replace("+", "").replace(" ", "")
    if len(d) == 12:
        d = d[2:]
    if len(d) != 10 or not d.isdigit():
        return False
    return 1 <= int(d[2:4]) <= 12 and (1 <= int(d[4:6]) <= 31 or 61 <= int(d[4:6]) <= 91) and checksums.luhn_ok(d)


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
