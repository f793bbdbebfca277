"""Phone-number normalisation shared by the phone recognizer and the phone surrogate.

- :data:`EXTENSION`: an extension written after a number — ``x42503``, ``ext. 12``, ``#12``,
  ``poste 221`` (fr), ``Durchwahl 123`` / ``DW 12`` (de), ``interno 4`` (it/es), ``toestel 12``
  (nl), ``wewn. 12`` (pl), ``ankn. 12`` (sv), ``ramal 12`` (pt);
- :func:`split_extension`: ``"862.917.0864x42503"`` → ``("862.917.0864", "x", "42503")``;
- :func:`parse`: the number in the conversation's region, else — for a national-format number
  that is not valid there — the first of :data:`CANDIDATE_REGIONS` where it is valid (a UK
  mobile "07911 123456" in an en-US conversation), else the region's possible reading;
- :func:`normalise`: E.164 of the main number (the surrogate's seed), so "+34 612 34 56 78",
  "612345678" and "612 34 56 78" are one number.

Imports phonenumbers at top level: imported lazily (by the phone surrogate, the recognizers).
"""

from __future__ import annotations

import regex as re

import phonenumbers

#: an extension right after a number (the separator group, then the digits)
EXTENSION = re.compile(
    r"(?i)([ \t]*,?[ \t]*(?:x|ext\.?|extn\.?|extension|#|poste|durchwahl|dw\.?|apparat|"
    r"interno|int\.|interne|toestel|tst\.|wewn\.?|wew\.|ankn\.?|anknytning|ramal|nebenstelle)"
    r"[ \t]*[:.]?[ \t]*)(\d{1,6})(?!\d)"
)
_EXT_AT_END = re.compile(EXTENSION.pattern + r"[ \t]*$")

#: regions tried, in this order, for a national-format number not valid in the conversation's
#: region: the project's locales, their neighbours and the larger numbering plans
CANDIDATE_REGIONS = (
    "US", "GB", "ES", "MX", "FR", "DE", "BR", "IT", "NL", "PL", "SE", "PT", "BE", "CH", "AT",
    "IE", "CA", "AU", "DK", "NO", "FI", "CZ", "TR", "AR", "CO", "CL", "PE", "IN", "RO", "GR",
    "HU", "LU",
)


#: National significant number prefixes of ranges reserved for drama/fiction or documentation.
_FICTIONAL = {
    1: lambda n: len(n) == 10 and n[3:6] == "555" and n[6:8] == "01",
    44: lambda n: n.startswith(("7700900", "1632960", "2079460", "1134960", "1144960", "1154960",
                                "1164960", "1174960", "1184960", "1214960", "1314960", "1414960",
                                "1514960", "1614960", "1914960", "2896496", "2920180", "8081570",
                                "9098790", "3069990")),
    33: lambda n: n.startswith(("19900", "26191", "35301", "46571", "53649", "63998", "97740")),
    49: lambda n: n.startswith(("3023125", "6990009", "4066969", "8999998", "1713920")),
}


def is_fictional_phone(number) -> bool:
    check = _FICTIONAL.get(number.country_code)
    return bool(check and check(phonenumbers.national_significant_number(number)))


def _ok(num) -> bool:
    return num is not None and (phonenumbers.is_valid_number(num) or is_fictional_phone(num))


def split_extension(value: str) -> tuple[str, str, str]:
    """(main number, extension separator, extension digits); the last two empty when none."""
    m = _EXT_AT_END.search(value)
    if m and sum(c.isdigit() for c in value[: m.start()]) >= 6:
        return value[: m.start()], m.group(1), m.group(2)
    return value, "", ""


def _try(text: str, region: str | None):
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def international(text: str) -> bool:
    t = text.lstrip(" \t(")
    return t.startswith("+") or bool(re.match(r"00[1-9]", t))


def parse(main: str, region: str, regions: tuple[str, ...] = CANDIDATE_REGIONS):
    """``(PhoneNumber | None, valid, region)`` for the main part of a phone number (no
    extension): valid (or in a fictional range) in ``region`` (or, written internationally, anywhere); else valid in the
    first of ``regions``; else ``region``'s reading, not valid."""
    num = _try(main, region)
    if _ok(num):
        return num, True, region
    if international(main):
        t = main.lstrip(" \t(")
        if t.startswith("00"):
            alt = _try("+" + re.sub(r"^00", "", t), None)
            if _ok(alt):
                return alt, True, phonenumbers.region_code_for_number(alt)
        return num, False, region
    for r in regions:
        if r == region:
            continue
        alt = _try(main, r)
        if _ok(alt):
            return alt, True, r
    return num, False, region


def normalise(value: str, region: str) -> tuple[str, str]:
    """(E.164 of the main number — or its digits when unparseable —, extension digits)."""
    main, _, ext = split_extension(value)
    num, _valid, _r = parse(main, region)
    if num is None:
        return re.sub(r"\D", "", main), ext
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164), ext
