"""Presidio recognizers added for the formats Presidio's defaults miss.

Imported only when a :class:`~agent_release.masking.engine.Masker` builds its analyzer (these
modules import Presidio and phonenumbers at top level). All recognizers are registered for
language ``"en"``: every message, whatever its locale, runs through the English spaCy pipeline
plus these pattern recognizers; the phone recognizer is instantiated per region (the
conversation locale's). This module holds cards, IPs, e-mails, national ids and dates of birth,
and re-exports the recognizers that live in their own modules.

Entity types emitted (mapped to the canonical types of :mod:`agent_release.pii` by
:data:`agent_release.masking.types.TYPE_MAP`):

==================  ==========================================  ====================================
type                recognizer                                  evidence
==================  ==========================================  ====================================
CREDIT_CARD         :class:`CardRecognizer`                     issuer range + Luhn, card-like
                                                                grouping
PHONE_NUMBER        :class:`~.phones.LocalePhoneRecognizer`     libphonenumber for the locale's
                                                                region, +CC / 00CC anywhere, any
                                                                region after a phone cue (14
                                                                languages), extensions; id cues
                                                                ("order", "tracking") veto bare runs
US_SSN ES_DNI ...   :class:`NationalIdRecognizer`               US SSN, ES DNI/NIE, FR NIR, DE
                                                                Steuer-ID, BR CPF, UK NINO, MX CURP
IBAN_CODE           :class:`~.bank.LenientIbanRecognizer`       country length + mod-97; IBAN-shaped
                                                                after an account cue
IBAN_CODE           :class:`~.bank.BankAccountRecognizer`       CLABE, sort code + account, routing
                                                                + account, bank-account cues
IP_ADDRESS          :class:`IpAddressRecognizer`                IPv4/IPv6 validated by ipaddress
EMAIL_ADDRESS       :class:`LenientEmailRecognizer`             addresses Presidio's pattern rejects
STREET_ADDRESS      :class:`~.addresses.AddressRecognizer`      street patterns in 11 languages,
                                                                then unit + postcode + town
DATE_OF_BIRTH       :class:`DateOfBirthRecognizer`              a date with a birth cue, or a full
                                                                date > 14 years back
PERSON_NAME         :class:`~.names.NameRecognizer`             cue phrases, titles, greetings,
                                                                signatures, gazetteer names
==================  ==========================================  ====================================

Scores: 1.0 for a valid check digit, 0.85-0.95 for strong patterns/cues, 0.5-0.8 for weaker
evidence, below the masker's threshold (0.5) when a context word says "this is an id, not PII".
"""

from __future__ import annotations

import ipaddress
from datetime import date

import regex as re

from agent_release.masking import checksums as cs
from agent_release.masking.addresses import AddressRecognizer
from agent_release.masking.bank import BankAccountRecognizer, LenientIbanRecognizer
from agent_release.masking.gazetteer import MONTHS
from agent_release.masking.phones import LocalePhoneRecognizer, is_fictional_phone
from agent_release.masking.recbase import ORDER_CTX as _ORDER_CTX
from agent_release.masking.recbase import _Base
from agent_release.masking.recbase import ctx_before as _ctx_before
from agent_release.masking.textutil import fold

__all__ = [
    "AddressRecognizer", "BankAccountRecognizer", "CardRecognizer", "DateOfBirthRecognizer",
    "IpAddressRecognizer", "LenientEmailRecognizer", "LenientIbanRecognizer",
    "LocalePhoneRecognizer", "NationalIdRecognizer", "_Base", "is_fictional_phone",
]


# ------------------------------------------------------------------------------------------------
# payment cards
# ------------------------------------------------------------------------------------------------

_DIGIT_RUN = re.compile(r"(?<![\w.,/+-])\d+(?:[ -]\d+)*(?![\w]|[.,/-]\d)")
_DIGITS = re.compile(r"\d+")


class CardRecognizer(_Base):
    """Card numbers of 13-19 digits written as cards are (one block, groups of four, 4-6-5):
    issuer range and Luhn must both hold. An ungrouped number right after an order/tracking cue
    is capped at 0.3 unless a card word is near."""

    ENTITIES = ("CREDIT_CARD",)

    def analyze(self, text, entities, nlp_artifacts=None):
        out = []
        folded = None
        for run in _DIGIT_RUN.finditer(text):
            base = run.start()
            groups = [(m.start() + base, m.end() + base, m.group()) for m in _DIGITS.finditer(run.group())]
            i = 0
            while i < len(groups):
                best = None
                digits = ""
                for j in range(i, len(groups)):
                    digits += groups[j][2]
                    if len(digits) > 19:
                        break
                    if (len(digits) >= 13 and _card_layout([g[2] for g in groups[i:j + 1]])
                            and not (j > i and _inside_grouped_run(text, groups, i, j))
                            and cs.card_brand_ok(digits) and cs.luhn_ok(digits)):
                        best = j
                if best is None:
                    i += 1
                    continue
                folded = folded if folded is not None else fold(text)
                score = 1.0
                s = groups[i][0]
                card_ctx = _ctx_before(folded, s, _CARD_CTX, 40)
                if best == i and not card_ctx and _ORDER_CTX.search(folded, max(0, s - 40), s):
                    score = 0.3  # an ungrouped number right after "order"/"tracking": an id
                elif best == i and not card_ctx and len(groups[i][2]) == 14:
                    score = 0.4  # 14-digit Diners numbers are rare; 14-digit parcel ids are not
                out.append(self._res("CREDIT_CARD", s, groups[best][1], score))
                i = best + 1
        return out


def _inside_grouped_run(text: str, groups, i: int, j: int) -> bool:
    """A grouped window with 4-digit groups right before AND after it, joined by the same
    separator, is a slice of a longer grouped number (USPS "9400 6266 5682 5308 1840 05"), not a
    card; "8999 4553-3587-6823-1958" or "4964 4900 1967 2615 6697" (a last-4, then the card) is
    fine."""
    sep = text[groups[i][1]:groups[i + 1][0]]
    before = i > 0 and len(groups[i - 1][2]) == 4 and text[groups[i - 1][1]:groups[i][0]] == sep
    after = j + 1 < len(groups) and text[groups[j][1]:groups[j + 1][0]] == sep
    short_tail = len(groups[j][2]) < 4
    return before and (after or short_tail)


def _card_layout(sizes_of: list[str]) -> bool:
    """How card numbers are written: one block, groups of four (the last may be shorter), or
    the Amex/Diners 4-6-5 / 4-6-4 layout — not "572-1333905-7962917" (an order number)."""
    sizes = [len(g) for g in sizes_of]
    if len(sizes) == 1:
        return True
    if all(x == 4 for x in sizes[:-1]) and 1 <= sizes[-1] <= 4:
        return True
    return sizes in ([4, 6, 5], [4, 6, 4])


_CARD_CTX = re.compile(
    r"\b(?:card|credit|debit|visa|mastercard|amex|tarjeta|credito|debito|carte|bancaire|karte|"
    r"kreditkarte|cartao|paid|pague|pagado|payé|paye|bezahlt|paguei)\b"
)


# ------------------------------------------------------------------------------------------------
# IP addresses
# ------------------------------------------------------------------------------------------------

_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?(?![\w]|\.\d)")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?:/\d{1,3})?(?![\w:]|\.\d)"
)
_IP_CTX = re.compile(r"\b(?:ip|ipv4|ipv6|address|adresse|direccion|endereco|login|logged|conexion|connexion|verbunden)\b")
_VERSION_CTX = re.compile(r"\b(?:version|versao|versión|v|build|release|firmware)\W{0,3}$")


class IpAddressRecognizer(_Base):
    """IPv4 / IPv6 addresses validated with :mod:`ipaddress`: 0.85 (0.95 after an IP word), so
    a leaked address stays above the residual scan's bar without needing lemma context.
    Version numbers ("version 1.2.3.4") are skipped."""

    ENTITIES = ("IP_ADDRESS",)

    def analyze(self, text, entities, nlp_artifacts=None):
        out = []
        folded = None
        for pattern, v6 in ((_IPV4, False), (_IPV6, True)):
            if (":" if v6 else ".") not in text:
                continue
            for m in pattern.finditer(text):
                cand = m.group()
                if v6 and cand.count(":") < 2:
                    continue
                try:
                    ipaddress.ip_interface(cand)
                except ValueError:
                    continue
                folded = folded if folded is not None else fold(text)
                if _VERSION_CTX.search(folded, max(0, m.start() - 20), m.start()):
                    continue
                score = 0.95 if _ctx_before(folded, m.start(), _IP_CTX, 30) else (0.9 if v6 else 0.85)
                out.append(self._res("IP_ADDRESS", m.start(), m.end(), score))
        return out


# ------------------------------------------------------------------------------------------------
# e-mail (lenient)
# ------------------------------------------------------------------------------------------------

_EMAIL_LENIENT = re.compile(
    r"(?<![\w.+\-])[\w.+\-']{1,64}@[\p{L}\d](?:[\p{L}\d\-]{0,62}[\p{L}\d])?(?:\.[\p{L}\d](?:[\p{L}\d\-]{0,62}[\p{L}\d])?)*\.\p{L}{2,24}(?![\w\-])"
)


class LenientEmailRecognizer(_Base):
    """E-mail addresses as people type them, including RFC-invalid local parts that Presidio's
    pattern rejects ("holt.hansh.@gmail.com", "..name@x.com"): 0.9."""

    ENTITIES = ("EMAIL_ADDRESS",)

    def analyze(self, text, entities, nlp_artifacts=None):
        if "@" not in text:
            return []
        return [self._res("EMAIL_ADDRESS", m.start(), m.end(), 0.9) for m in _EMAIL_LENIENT.finditer(text)]


# ------------------------------------------------------------------------------------------------
# national identifiers
# ------------------------------------------------------------------------------------------------

_B = r"(?<![\w.\-/])"
_E = r"(?![\w\-]|[./]\d)"
_ID_PATTERNS = [
    ("US_SSN", re.compile(_B + r"\d{3}([- ])\d{2}\1\d{4}" + _E)),
    ("US_SSN_PLAIN", re.compile(_B + r"\d{9}" + _E)),
    ("ES_DNI", re.compile(_B + r"(?:\d{8}|\d{2}\.\d{3}\.\d{3})[ -]?[A-Za-z]" + _E)),
    ("ES_NIE", re.compile(_B + r"[XYZxyz][ -]?\d{7}[ -]?[A-Za-z]" + _E)),
    ("FR_NIR", re.compile(_B + r"[12378] ?\d{2} ?\d{2} ?(?:\d{2}|2[ABab]) ?\d{3} ?\d{3}(?: ?\d{2})?" + _E)),
    ("DE_STEUER_ID", re.compile(_B + r"[1-9]\d(?: ?\d{3}){3}" + _E)),
    ("DE_STEUER_ID", re.compile(_B + r"[1-9]\d{2}(?: \d{3}){2} \d{2}" + _E)),
    ("BR_CPF", re.compile(_B + r"\d{3}\.?\d{3}\.?\d{3}[-/ ]?\d{2}" + _E)),
    ("UK_NINO", re.compile(r"(?<![\w])[A-Za-z]{2} ?(?:\d{2} ?\d{2} ?\d{2}|\d{3} ?\d{3}) ?[A-Za-z](?![\w])")),
    ("MX_CURP", re.compile(r"(?<![\w])[A-ZÑ][AEIOUX][A-ZÑ]{2}\d{6}[HMX][A-ZÑ]{5}[0-9A-Z]\d(?![\w])", re.IGNORECASE)),
]
_ID_CTX = {
    "US_SSN": re.compile(r"\b(?:ssn|social security|social sec|seguro social|tax id|taxpayer|itin)\b"),
    "ES_DNI": re.compile(r"\b(?:dni|nif|documento|identidad|d\.n\.i)\b"),
    "ES_NIE": re.compile(r"\b(?:nie|nif|extranjero|documento|identidad)\b"),
    "FR_NIR": re.compile(r"\b(?:nir|securite sociale|secu|insee|carte vitale|numero de securite)\b"),
    "DE_STEUER_ID": re.compile(r"\b(?:steuer|steuer-id|steuerid|steuernummer|identifikationsnummer|idnr|tin|tax id|tax)\b"),
    "BR_CPF": re.compile(r"\b(?:cpf|cadastro|contribuinte)\b"),
    "UK_NINO": re.compile(r"\b(?:national insurance|nino|ni number|ni no)\b"),
    "MX_CURP": re.compile(r"\b(?:curp|clave unica|registro de poblacion)\b"),
}
_VALIDATORS = {
    "US_SSN": cs.us_ssn_ok, "ES_DNI": cs.es_dni_ok, "ES_NIE": cs.es_nie_ok, "FR_NIR": cs.fr_nir_ok,
    "DE_STEUER_ID": cs.de_steuer_id_ok, "BR_CPF": cs.br_cpf_ok, "UK_NINO": cs.uk_nino_ok,
    "MX_CURP": cs.mx_curp_ok,
}


class NationalIdRecognizer(_Base):
    """US SSN, ES DNI/NIE, FR NIR (n° de sécurité sociale), DE Steuer-ID, BR CPF, UK NINO, MX CURP.

    A valid check digit (DNI/NIE letter, NIR key, Steuer-ID ISO 7064, CPF digits; SSN/NINO
    allocation rules) scores 1.0 (NINO 0.95 — no check digit). A distinctive format with a wrong
    check digit still scores 0.6 when a context word (``DNI``, ``CPF``, ``SSN``...) precedes it,
    or when the format is unmistakable (``###-##-####``, ``AB 12 34 56 C``); bare digit runs that
    fail validation are ignored.
    """

    ENTITIES = ("US_SSN", "ES_DNI", "ES_NIE", "FR_NIR", "DE_STEUER_ID", "BR_CPF", "UK_NINO", "MX_CURP")

    def analyze(self, text, entities, nlp_artifacts=None):
        if not any(c.isdigit() for c in text):
            return []
        folded = fold(text)
        out = []
        for kind, pattern in _ID_PATTERNS:
            for m in pattern.finditer(text):
                score, subtype = self._score(kind, m.group(), folded, m.start())
                if score > 0:
                    out.append(self._res(subtype, m.start(), m.end(), score))
        return out

    @staticmethod
    def _score(kind: str, value: str, folded: str, start: int) -> tuple[float, str]:
        subtype = "US_SSN" if kind == "US_SSN_PLAIN" else kind
        ctx = _ctx_before(folded, start, _ID_CTX[subtype], 45)
        valid = _VALIDATORS[subtype](value)
        compact = cs.compact(value)
        if subtype == "US_SSN":
            if kind == "US_SSN_PLAIN":  # a bare 9-digit run: an SSN with a cue; else barely
                return (0.9 if ctx else (0.5 if valid else 0.0)), subtype
            return (0.95 if ctx else (0.85 if valid else 0.6)), subtype
        if subtype == "UK_NINO":
            if not value[:2].isupper() and not ctx:
                return 0.0, subtype
            return (0.95 if (valid or ctx) else 0.7), subtype
        if subtype == "FR_NIR":
            if len(compact) == 13:  # without the key: needs a cue
                return (0.85 if ctx else 0.0), subtype
            return (1.0 if valid else (0.6 if ctx else 0.0)), subtype
        if subtype == "MX_CURP":  # 18 characters in a rigid layout: the format alone is telling
            return (1.0 if valid else (0.9 if ctx else 0.75)), subtype
        if subtype == "BR_CPF":
            formatted = "." in value and "-" in value
            if valid:
                return 1.0, subtype
            return (0.6 if ctx else (0.55 if formatted else 0.0)), subtype
        if valid:
            return 1.0, subtype
        return (0.6 if ctx else 0.0), subtype


# ------------------------------------------------------------------------------------------------
# dates of birth
# ------------------------------------------------------------------------------------------------

_MONTH_ALT = "|".join(
    sorted({m for ms in MONTHS.values() for m in ms.split()}
           | {"jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"},
           key=len, reverse=True)
)
_YEAR = r"(?:19|20)\d{2}"
DATE_PATTERN = re.compile(
    r"(?<![\w/.\-])(?:"
    r"\d{1,2}[./-]\d{1,2}[./-](?:" + _YEAR + r"|\d{2})"
    r"|" + _YEAR + r"[./-]\d{1,2}[./-]\d{1,2}"
    r"|(?:1er|\d{1,2})(?:st|nd|rd|th|o)?\.?\s+(?:de\s+|of\s+)?(?:" + _MONTH_ALT + r")\.?,?\s+(?:de\s+|del\s+)?" + _YEAR
    + r"|(?:" + _MONTH_ALT + r")\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+" + _YEAR
    + r")(?![\w/\-]|\.\d)"
)
_DOB_CUE = re.compile(
    r"\b(?:born|birth|birthday|birthdate|dob|d\.o\.b|date of birth|"
    r"nacimiento|naci|nacio|nacido|nacida|cumpleanos|fecha de nac|f\. nac|"
    r"naissance|anniversaire|suis ne|suis nee|ne le(?=\s+\d)|nee le(?=\s+\d)|"
    r"geboren|geburtsdatum|geburtstag|geb|"
    r"nascimento|nasci|nasceu|nascido|nascida|aniversario|data de nasc)\b"
)
# "né"/"née" fold to "ne"/"nee" (French negation!): matched on the lower-cased original instead
_MIN_AGE = 14
_NE_CUE = re.compile(r"(?<!\w)(?:né|née|nee)(?!\w)")
_DOB_BLOCK = re.compile(
    r"[\n!?]|\b(?:order|pedid|command|bestell|encomend|compr|purchas|deliver|entreg|livr|liefer|"
    r"envi|ship|expedi|versand|pago|pagad|payment|paiement|zahl|charg|cobr|factur|invoice|rechnung|"
    r"fatur|refund|reembols|rembours|erstatt|cancel|annul|storn)\w*"
)
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)")


def _year_of(value: str) -> int | None:
    m = re.search(r"(?:19|20)\d{2}", value)
    if m:
        return int(m.group())
    m = re.search(r"\d{2}$", value)
    return None if not m else (1900 + int(m.group()) if int(m.group()) > date.today().year % 100 else 2000 + int(m.group()))


_NUMERIC_PARTS = re.compile(r"^(\d{1,4})[./-](\d{1,2})[./-](\d{2,4})$")


def _calendar_ok(value: str) -> bool:
    """A numeric date must have a day (1-31) and a month (1-12), in either order; dates with
    a month name always pass."""
    m = _NUMERIC_PARTS.match(value)
    if not m:
        return True
    a, b, c = m.groups()
    if len(a) == 4:
        return 1 <= int(b) <= 12 and 1 <= int(c) <= 31
    x, y = int(a), int(b)
    return (1 <= x <= 31 and 1 <= y <= 12) or (1 <= x <= 12 and 1 <= y <= 31)


class DateOfBirthRecognizer(_Base):
    """A date (numeric or with a month name in en/es/fr/de/pt) with a birth cue ("born", "DOB",
    "fecha de nacimiento", "né le", "geboren am", "data de nascimento"...) up to 50 characters
    before it, or up to 25 after ("... is my birthday"), within the same sentence and with no
    order/delivery/payment word in between (0.9). A full date without a cue is reported only if
    it lies more than 14 years back (0.6) — order and delivery dates are recent."""

    ENTITIES = ("DATE_OF_BIRTH",)

    def analyze(self, text, entities, nlp_artifacts=None):
        if not any(c.isdigit() for c in text):
            return []
        folded = fold(text)
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
        cues = [(m.start(), m.end()) for m in _DOB_CUE.finditer(folded)]
        cues += [(m.start(), m.end()) for m in _NE_CUE.finditer(lowered)]
        dates = [(m.start(), m.end()) for m in DATE_PATTERN.finditer(folded)]
        out = []
        this_year = date.today().year
        for ds, de in dates:
            year = _year_of(folded[ds:de])
            if year is None or not 1900 <= year < this_year:
                continue  # a date of this year is an order / delivery date
            if not _calendar_ok(folded[ds:de]):
                continue  # "20-45-77" (a sort code), "20-00-00": no day and month in any order
            ok = False
            for cs_, ce in cues:
                if ce <= ds and ds - ce <= 50:
                    between = folded[ce:ds]
                    if not _DOB_BLOCK.search(between) and not any(ce <= s2 < ds for s2, _ in dates):
                        ok = True
                elif (cs_ >= de and cs_ - de <= 25 and not _DOB_BLOCK.search(folded[de:cs_])
                      and not _SENTENCE_END.search(folded[de:cs_]) and not re.search(r"\d", folded[de:cs_])
                      and not _DOB_BLOCK.search(folded, max(0, ds - 20), ds)):
                    ok = True
                if ok:
                    break
            if ok:
                out.append(self._res("DATE_OF_BIRTH", ds, de, 0.9))
            elif year <= this_year - _MIN_AGE:
                # a full date more than 14 years back is far more often a birth date than an
                # order/delivery date; masked at a lower score
                out.append(self._res("DATE_OF_BIRTH", ds, de, 0.6))
        return out
