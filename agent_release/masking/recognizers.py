"""Presidio recognizers added for the formats Presidio's defaults miss.

Imported only when a :class:`~agent_release.masking.engine.Masker` builds its analyzer (this module
imports Presidio and phonenumbers at top level). All recognizers are registered for language
``"en"``: every message, whatever its locale, runs through the English spaCy pipeline plus these
pattern recognizers; the phone recognizer is instantiated per region (the conversation locale's).

Entity types emitted here (mapped to the canonical types of :mod:`agent_release.pii` by
:data:`agent_release.masking.types.TYPE_MAP`):

==================  ================================  ==============================================
type                recognizer                        evidence
==================  ================================  ==============================================
CREDIT_CARD         :class:`CardRecognizer`           issuer range + Luhn, card-like grouping
PHONE_NUMBER        :class:`LocalePhoneRecognizer`    libphonenumber for the locale's region and any
                                                      +CC / 00CC form, fictional ranges (US 555-01xx,
                                                      UK 07700 900xxx...), phone words; id cues
                                                      ("order", "tracking") veto bare digit runs
US_SSN ES_DNI ...   :class:`NationalIdRecognizer`     US SSN, ES DNI/NIE, FR NIR, DE Steuer-ID, BR
                                                      CPF, UK NINO, MX CURP: format + check digits
IBAN_CODE           :class:`LenientIbanRecognizer`    country length + mod-97, tolerant of glued text
IP_ADDRESS          :class:`IpAddressRecognizer`      IPv4/IPv6 validated by :mod:`ipaddress`
EMAIL_ADDRESS       :class:`LenientEmailRecognizer`   addresses Presidio's strict pattern rejects
STREET_ADDRESS      :class:`AddressRecognizer`        street patterns per language + unit + postcode
DATE_OF_BIRTH       :class:`DateOfBirthRecognizer`    a date with a birth cue, or a full date > 14
                                                      years back; order dates never
PERSON_NAME         :class:`~agent_release.masking.names.NameRecognizer` cue phrases in 5 languages, titles, greetings,
                                                      signatures, gazetteer first name + surname
==================  ================================  ==============================================

Scores: 1.0 for a valid check digit, 0.85-0.95 for strong patterns/cues, 0.5-0.8 for weaker
evidence, below the masker's threshold (0.5) when a context word says "this is an id, not PII".
"""

from __future__ import annotations

import importlib
import ipaddress
from datetime import date

import phonenumbers
import regex as re
from phonenumbers import Leniency
from presidio_analyzer import LocalRecognizer, RecognizerResult

from agent_release.masking import checksums as cs
from agent_release.masking.gazetteer import MONTHS, gazetteer
from agent_release.masking.textutil import fold


class _Base(LocalRecognizer):
    ENTITIES: tuple[str, ...] = ()

    def __init__(self, name: str | None = None, supported_language: str = "en"):
        super().__init__(
            supported_entities=list(self.ENTITIES), supported_language=supported_language,
            name=name or type(self).__name__,
        )

    def load(self) -> None:  # nothing to load
        pass

    def _res(self, entity: str, start: int, end: int, score: float) -> RecognizerResult:
        return RecognizerResult(
            entity_type=entity, start=start, end=end, score=round(min(score, 1.0), 4),
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            },
        )


def _ctx_before(folded: str, start: int, pattern, window: int = 40) -> bool:
    return pattern.search(folded, max(0, start - window), start) is not None


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
# IBAN
# ------------------------------------------------------------------------------------------------

_IBAN_CAND = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]){11,34}")


class LenientIbanRecognizer(_Base):
    """IBANs, compact or grouped, any case: the country's length (ISO 13616) and mod-97 must
    hold. Unlike a plain regex, a word glued after the number ("IBAN: ES94 0049 ... 6169 FECHA")
    does not break it: the candidate is cut at the country's length before validating."""

    ENTITIES = ("IBAN_CODE",)

    def analyze(self, text, entities, nlp_artifacts=None):
        out = []
        for m in _IBAN_CAND.finditer(text, overlapped=True):  # "PC2152V2 FR76..." starts twice
            cand = m.group()
            n = cs.IBAN_LENGTHS.get(cand[:2].upper())
            if n is None:
                continue  # other countries: Presidio's own IBAN recognizer
            idx = [k for k, c in enumerate(cand) if c.isalnum()]
            if n > len(idx):
                continue
            end = idx[n - 1] + 1
            nxt = text[m.start() + end: m.start() + end + 1]
            if nxt.isalnum() and not (nxt.isalpha() and cand[end - 1].isdigit() and " " not in cand[:end]):
                continue  # the cut must fall at the end of a group, not inside a word
            if cs.iban_ok(cand[:end]):
                out.append(self._res("IBAN_CODE", m.start(), m.start() + end, 1.0))
        return out


# ------------------------------------------------------------------------------------------------
# phone numbers
# ------------------------------------------------------------------------------------------------

_PHONE_CTX = re.compile(
    r"\b(?:(?:phone|telephone|telefon|telefono|telefone|mobile|mobil|handy|cellphone|celular|movil|"
    r"whatsapp|portable|rufnummer|festnetz|anruf|rufen|appel|llamar|llame|llamad|llamen|contact)\w*|"
    r"tel|cell|call|ring|text me|sms|reach me|marcar|appelez|appeler|rappeler|joindre|joignable|"
    r"erreichbar|zuruckrufen|fone|ligar|liga|zap|"
    # "my number is ...": a possessive number with no other noun is a phone number
    r"(?:my|mon|mi|meu|meine)[ \t]+(?:number|numero|nummer)(?![ \t]+(?:de|do|da|of|der|des|du)\b))\b"
)
#: An identifier cue right before a number ("order 1234567890", "tracking number: ...",
#: "Sendungsnummer 3344...", "n.º de pedido 12-3456"): that number is not a phone / card.
_ID_CUE_STEMS = (
    r"order|pedido|commande|bestell|auftrag|encomenda|tracking|seguimiento|segui|rastre|suivi|"
    r"sendung|nachforschung|envio|envoi|shipment|parcel|paquete|colis|referen|invoice|factur|"
    r"rechnung|fatura|protocolo|articulo|artikel|produto|producto|produit|investig|reclam"
)
_ID_CUE_WORDS = (
    r"ref|track|paket|nota fiscal|ticket|case|caso|dossier|fall|vorgang|chamado|sku|item|serial|"
    r"serie|modelo|model|account|cuenta|compte|konto|conta|iban|dni|nie|cpf|ssn|nir|steuer|curp|"
    r"code|codigo|pin|otp|zip|postcode|cp|cep|plz|claim|nota"
)
_ORDER_CTX = re.compile(
    rf"(?:\b(?:(?:{_ID_CUE_STEMS})\w*|(?:{_ID_CUE_WORDS})\b)(?:[ \t]+(?:number|num|no|nr|nummer|numero|n|id|code|de|du|der|des|do|da|"
    rf"del|for|fur|para|pour|is|es|est|ist|e|was|era|war)){{0,2}}[\s\"'.:#º°=]*|#[ \t]*)$"
)
_PHONE_CTX_AFTER = re.compile(
    r"[ \t,]{0,3}(?:an|zu)?(?:anrufen|zuruckrufen|zuruckzurufen|zuruck|erreichen|llamar|llamarme|ligar|appeler|"
    r"rappeler|call|text|whatsapp)\b"
)
def _blank(m) -> str:
    return "x" * len(m.group())


#: codes mixing letters and digits ("M1-915126", "ORD-2026-304046", "#H-13810") and day+month
#: dates ("30. Oktober") are blanked before phone matching so that no number glues onto them
_CODE_TOKEN = re.compile(r"(?<!\S)(?=\S*\p{L})(?=\S*\d)\S+")
_EXT_TOKEN = re.compile(r"^[\d().+\-/]+(?:x|ext\.?)\d+[.,;:!?]*$", re.IGNORECASE)
_DAY_MONTH = re.compile(
    r"(?i)(?<![\w])\d{1,2}(?:\.|er|º|st|nd|rd|th)?[ \t]+(?:de[ \t]+|of[ \t]+)?(?:"
    + "|".join(sorted({m for ms in MONTHS.values() for m in ms.split()} | set(
        "janvier février fevrier mars août aout décembre decembre märz marz março marco".split()), key=len, reverse=True))
    + r")\b"
)
#: spaces, dots or parentheses between digit groups: how phones are written, not ids
_PHONE_LAYOUT = re.compile(r"^\+|\d \d|\(\d|\d{2}\.\d{2}\.\d{2}")
_AMOUNT_TAIL = re.compile(r"\d[.,]\d{2}$")
_DOTTED_PAIRS = re.compile(r"[.,]\d{2}[.,]\d{2}$")
_PHONE_STRETCH = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d ().\-/]{8,40}\d(?![\w])")
_NUMERIC_DATE_IN_TEXT = re.compile(r"(?<![\d./-])\d{1,4}([./-])\d{1,2}\1\d{2,4}(?![\d]|[./-]\d)")
_DATE_LIKE = re.compile(r"^\(?\d{1,4}\)?[./-]\d{1,2}[./-]\d{1,4}$")
_INTL_00 = re.compile(r"00[1-9]\d{0,2}[ \-(]")
_INTL_FALLBACK = re.compile(
    r"(?<![\w+]|\d[ \t.\-])(?:\+|00(?=[1-9]\d{0,2}[ \-(]))[1-9]\d{0,2}(?:[ .\-]?\(?\d{1,4}\)?){2,6}(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?!\w)"
)
_NUM_DIGITS = re.compile(r"\D")
_SMALL_GROUPS = re.compile(r"\d{2,3}(?: \d{2,3}){2,5}")
#: a clock time ("12:20", "07:45:10"): blanked like dates, or its minutes glue onto a phone
#: number that follows ("12:20 0174 77562929" read as "20 0174 77562929")
_CLOCK_TIME = re.compile(r"(?<![\d:])\d{1,2}:\d{2}(?::\d{2})?(?![\d:])")

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


class LocalePhoneRecognizer(_Base):
    """Phone numbers for one region (national formats) plus any +CC/00CC international form.

    Uses libphonenumber's matcher at POSSIBLE leniency (dates and letter-digit codes blanked out
    first, so nothing glues onto them) and scores by validity: valid or fictional-range numbers
    0.8 when laid out like a phone, 0.75 as a bare digit run; international-prefixed possible
    numbers 0.65; other possible numbers 0.45 (need a phone word). A phone word before or after
    adds 0.2. A bare digit run right after an order / tracking / account cue is capped at 0.3.
    Digit stretches libphonenumber gives up on are retried window by window (valid numbers only).
    """

    ENTITIES = ("PHONE_NUMBER",)

    def __init__(self, region: str = "US", name: str | None = None):
        # (not called "PhoneRecognizer": Presidio resolves its predefined recognizers by class
        # name among all EntityRecognizer subclasses, and would pick this one up)
        self.region = region
        super().__init__(name=name or f"PhoneRecognizer[{region}]")

    def analyze(self, text, entities, nlp_artifacts=None):
        if sum(c.isdigit() for c in text) < 7:
            return []
        folded = fold(text)
        found: dict[tuple[int, int], float] = {}
        # dates next to a number confuse libphonenumber's candidate extraction ("31/10/2026
        # 07.45.88.15.88"); blank them out, keeping offsets
        scan = _NUMERIC_DATE_IN_TEXT.sub(_blank, text)
        scan = _CLOCK_TIME.sub(_blank, scan)
        scan = _DAY_MONTH.sub(_blank, scan) if _DAY_MONTH.search(folded) else scan
        scan = _CODE_TOKEN.sub(lambda t: t.group() if _EXT_TOKEN.match(t.group()) else _blank(t), scan)
        for m in phonenumbers.PhoneNumberMatcher(scan, self.region, leniency=Leniency.POSSIBLE):
            raw = m.raw_string
            if _DATE_LIKE.match(raw.strip()) or _embedded(text, m.start, m.end):
                continue
            if _AMOUNT_TAIL.search(raw) and not _DOTTED_PAIRS.search(raw):
                continue  # "8337-40 15.29": an order number and an amount
            if "/" in raw:  # only "030/1234567"-style area-code slashes, not "6224-17 10/27"
                head, _, tail = raw.partition("/")
                if "/" in tail or not head.strip(" (").startswith(("0", "+")):
                    continue
            n = m.number
            nsn = phonenumbers.national_significant_number(n)
            if len(nsn) < 7:
                continue
            intl = raw.lstrip("( ").startswith("+") or bool(_INTL_00.match(raw))
            if phonenumbers.is_valid_number(n) or is_fictional_phone(n):
                # laid out like a phone ("(415) 555-0123", "06 12 34 56 78"): clear enough for the
                # residual scan's 0.8 bar; a bare valid digit run stays at 0.75
                score = 0.8 if _PHONE_LAYOUT.search(raw) or "-" in raw.strip("-") else 0.75
            elif intl:
                score = 0.65
            else:
                score = 0.45
            if not intl and sum(c.isdigit() for c in raw) > 14:
                continue  # "499-5518547-1405983": longer than any national number
            if raw.isdigit() and len(raw) >= 12:  # a long bare digit run is more often an id
                score = min(score, 0.45)
            found[(m.start, m.end)] = self._adjust(folded, m.start, m.end, score)
        # libphonenumber gives up on a number glued to other digit groups ("(312) 531-5216 2471
        # Henderson Springs"): try token windows of such digit stretches, keeping valid numbers
        for m in _PHONE_STRETCH.finditer(scan):
            # inside a confident match, or one capped by an id cue ("Sendung 81919015371224"):
            # nothing to add; inside a weak one ("20 0174 77562929", possible but not valid): a
            # valid window may beat it
            if any(s <= m.start() and m.end() <= e and (sc >= 0.75 or sc <= 0.3) for (s, e), sc in found.items()):
                continue
            for s_, e_ in self._valid_windows(scan, m.start(), m.end()):
                if _embedded(text, s_, e_):
                    continue
                score = self._adjust(folded, s_, e_, 0.75)
                if (s_, e_) in found and score < 0.75:
                    continue  # the same span, not clearly a phone here either: its verdict stands
                clash = [k for k in found if k[0] < e_ and s_ < k[1]]
                if all(found[k] < score for k in clash):
                    for k in clash:
                        del found[k]
                    found[(s_, e_)] = score
        for m in _INTL_FALLBACK.finditer(text):
            digits = _NUM_DIGITS.sub("", m.group())
            if not 8 <= len(digits) <= 17:
                continue
            if _embedded(text, m.start(), m.end()):
                continue
            clash = [k for k in found if k[0] < m.end() and m.start() < k[1]]
            if any(not (m.start() <= k[0] and k[1] <= m.end()) for k in clash):
                continue  # partly overlaps a number found otherwise: keep that one
            score = max([self._adjust(folded, m.start(), m.end(), 0.6)] + [found[k] for k in clash])
            for k in clash:  # "+52 1 55 1391 1414" beats its inner "55 1391 1414"
                del found[k]
            found[(m.start(), m.end())] = score
        return [self._res("PHONE_NUMBER", s, e, sc) for (s, e), sc in found.items()]

    def _valid_windows(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        toks = [(start + t.start(), start + t.end()) for t in re.finditer(r"\S+", text[start:end])][:10]
        out: list[tuple[int, int]] = []
        # longest valid window from each token; a window must end in a group of 3+ digits, so a
        # slice of a grouped tracking number ("... 9735 9132 45") or an amount never qualifies
        for i in range(len(toks)):
            if out and toks[i][0] < out[-1][1]:
                continue
            if i and re.fullmatch(r"\d{4}", text[toks[i - 1][0]:toks[i - 1][1]]) and re.fullmatch(
                r"\d{4}", text[toks[i][0]:toks[i][1]]
            ):
                continue  # inside "9400 1180 5587 4957 2749 11"
            hit = None
            for j in range(len(toks) - 1, i - 1, -1):
                s_, e_ = toks[i][0], toks[j][1]
                frag = text[s_:e_]
                nd = sum(c.isdigit() for c in frag)
                if not 7 <= nd <= 15 or _DATE_LIKE.match(frag):
                    continue
                last_group = re.split(r"\D+", frag.rstrip(")"))[-1]
                # ... unless the window is a phone layout of 2-3 digit groups ("733 83 90 24") that
                # ends the stretch and does not continue a run of small groups (a tracking number)
                prev = text[toks[i - 1][0]:toks[i - 1][1]] if i else ""
                whole = (j == len(toks) - 1 and _SMALL_GROUPS.fullmatch(frag)
                         and not (prev.isdigit() and len(prev) <= 3))  # a year before it is fine
                if (len(last_group) < 3 and not whole) or ("/" in frag and not frag.strip("(").startswith(("0", "+"))):
                    continue  # "… 15.29" (an amount), "… 02/11" (a date)
                try:
                    num = phonenumbers.parse(frag, self.region)
                except phonenumbers.NumberParseException:
                    continue
                if phonenumbers.is_valid_number(num) or is_fictional_phone(num):
                    hit = (s_, e_, j)
                    break
            if hit:
                out.append(hit[:2])
        return out

    @staticmethod
    def _adjust(folded: str, start: int, end: int, score: float) -> float:
        near_phone_word = _ctx_before(folded, start, _PHONE_CTX, 15)
        if (not near_phone_word and _ORDER_CTX.search(folded, max(0, start - 40), start)
                and not _PHONE_LAYOUT.search(folded[start:end])):
            # "order 2125550143", "paquete 5588420866": a number that is a valid phone of the
            # conversation's numbering plan, after an order/parcel cue, is ambiguous. Privacy first:
            # it stays just above the threshold (masked) rather than being vetoed; an order number
            # replaced by a fake number costs replay realism, a leaked phone costs GDPR compliance.
            return min(score, 0.5)
        if near_phone_word or _ctx_before(folded, start, _PHONE_CTX, 40) or _PHONE_CTX_AFTER.match(folded, end):
            return min(score + 0.2, 0.95)
        return score


def _embedded(text: str, start: int, end: int) -> bool:
    """True when [start, end) is part of a longer token ("ORD-2026-304046", "1Z5B4JTU3638701052")."""
    if start > 0:
        b = text[start - 1]
        if b.isalnum() or (b in "-/._" and start > 1 and text[start - 2].isalnum()):
            return True
    if end < len(text):
        a = text[end]
        if a.isalnum() or (a in "-/_.," and end + 1 < len(text) and text[end + 1].isalnum()):
            return True  # includes "263,77 €": the tail of an amount
    return False


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


# ------------------------------------------------------------------------------------------------
# postal addresses
# ------------------------------------------------------------------------------------------------

_WC = r"\p{Lu}[\p{L}\p{M}'’\-]*"  # a capitalised word
_W = rf"(?:\p{{Lu}}\p{{L}}{{0,2}}\.|{_WC})"  # ... or a short abbreviation ("St.", "Dr.")
_CONN = (
    r"(?:de|del|de\s+la|de\s+las|de\s+los|da|das|do|dos|du|des|la|le|les|y|e|von|van|der|den|"
    r"am|an\s+der|auf\s+der|im|zum|zur|of|the)"
)
_NAMESEQ = rf"{_W}(?:[ \t]+(?:{_CONN}[ \t]+)?(?:{_W}|\d{{1,3}}(?:st|nd|rd|th|º|ª)(?![\w])))" + "{0,4}"
_NAMESEQ_APOS = rf"(?:(?:d|l)['’])?{_NAMESEQ}"
_NUM = r"\d{1,5}(?:[ \t]?[A-Za-z](?![\p{L}]))?(?:[/-]\d{1,4}[A-Za-z]?)?"

_EN_SUFFIX_EXTRA = (
    "Boulevard", "Highway", "Parkway", "Alley", "Circle", "Plaza", "Trail", "Row", "Path",
    "St", "Ave", "Rd", "Ln", "Dr", "Blvd", "Ct", "Pl", "Ter", "Terr", "Cres", "Sq", "Pkwy",
    "Cir", "Hwy", "Trl", "Close", "Mews", "Gardens", "Grove", "Walk", "Hill", "Gate", "Rise",
    "Crescent", "Terrace", "Way", "Lane", "Street", "Road", "Avenue", "Drive", "Court", "Place",
    "Square", "Parade", "Embankment", "Broadway",
)


def _en_suffixes() -> str:
    words = set(_EN_SUFFIX_EXTRA)
    try:
        words |= set(importlib.import_module("faker.providers.address.en_US").Provider.street_suffixes)
    except Exception:
        pass
    return "|".join(sorted(words, key=len, reverse=True))


_ES_TYPES = (
    r"calle|c/|avenida|avda\.?|av\.|paseo|plaza|pza\.?|camino|carrera|ronda|travesia|travesía|"
    r"callejon|callejón|calzada|bulevar|boulevard|blvd\.?|privada|cerrada|andador|circuito|"
    r"prolongacion|prolongación|retorno|pasaje|carretera|ctra\.?|glorieta|cuesta|rambla|"
    r"periferico|periférico|eje vial|diagonal|corredor|viaducto|continuacion|continuación|"
    r"ampliacion|ampliación|circunvalacion|circunvalación|peatonal|urbanizacion|urbanización|"
    r"urb\.|acceso|cañada|canada|pasadizo|vial|vía|via|c\.|alameda"
)
_PT_TYPES = (
    r"rua|r\.|avenida|av\.|travessa|tv\.|alameda|al\.|praça|praca|estrada|estr\.|rodovia|rod\.|"
    r"largo|viela|ladeira|beco|passarela|condomínio|condominio|núcleo|nucleo|conjunto|setor|"
    r"quadra|residencial|sítio|sitio|chácara|chacara|trecho|loteamento|fazenda|esplanada|vereda|"
    r"recanto|viaduto|colônia|colonia|vila|favela|morro|distrito|pátio|patio|trevo|estação|"
    r"estacao|aeroporto|parque|jardim|praia|lagoa"
)
_FR_TYPES = (
    r"rue|avenue|av\.|boulevard|bd\.?|blvd|place|pl\.|chemin|allée|allee|impasse|quai|route|rte|"
    r"cours|passage|square|voie|sentier|faubourg|fg|cité|cite|résidence|residence|hameau|"
    r"lieu-dit|rond-point|parvis|promenade|esplanade|villa|mail|montée|montee|traverse"
)
_DE_SUFFIX = r"straße|strasse|str\.|weg|allee|platz|gasse|ring|damm|ufer|chaussee|steig|pfad|markt|graben|stieg|zeile|kamp|wall|promenade"
_DE_SEPARATE = r"Straße|Strasse|Str\.|Weg|Allee|Platz|Gasse|Ring|Damm|Ufer|Chaussee|Markt"

_UNIT_EN = r"(?:,?[ \t]+(?i:Apt\.?|Apartment|Suite|Ste\.?|Unit|Flat|Fl\.?|Floor|#)[ \t]*[\w-]{1,6})"
_UNIT_ES = (
    r"(?:[ \t]*,?[ \t]*(?i:\d{1,2}[º°ª]\.?(?:[ \t]*(?:[A-Z](?![\w])|izda\.?|dcha\.?|izq\.?|der\.?|\d{1,2}[º°ª]))?|"
    r"piso[ \t]+\d+|puerta[ \t]+\d+|int(?:erior|\.)?[ \t]*\d+|depto\.?[ \t]*\d+|"
    r"dpto\.?[ \t]*\d+|edif\.?[ \t]*\d+|apt\.?[ \t]*\d+|bajo|ático|atico|local[ \t]+\d+|"
    r"esc\.?[ \t]*\w))"
)
_UNIT_PT = r"(?:[ \t]*[,-][ \t]*(?i:apto?\.?|apartamento|casa|bloco|sala|conj\.?)[ \t]*\d+\w?)"
_CITY = rf"{_WC}(?:[ \t]+(?:{_CONN}[ \t]+)?{_WC}){{0,3}}"
#: between the street line and the city line: ", " or a line break (addresses in email bodies)
_SEP = r"(?:[ \t]*,[ \t]*(?:\r?\n[ \t]*)?|[ \t]*\r?\n[ \t]*)"
_POST5 = r"(?:C\.?P\.?[ \t]*)?\d{5}(?:-\d{3,4})?"
_STATE = r"(?:,[ \t]*(?:[A-Z][A-Za-z]{0,3}\.(?:[A-Z]\.)?|[A-Z]{2,4})(?![\w]))"
_TAIL_EU = rf"(?:(?:{_SEP}|[ \t]+){_POST5}[ \t]+{_CITY}{_STATE}?|{_SEP}{_CITY},?[ \t]+{_POST5})"
_TAIL_US = rf"(?:{_SEP}{_CITY},?[ \t]+[A-Z]{{2}}[ \t]+\d{{5}}(?:-\d{{4}})?)"
_TAIL_UK = rf"(?:{_SEP}(?:{_CITY},?[ \t]+)?[A-Z]{{1,2}}\d[A-Z\d]?[ \t]*\d[A-Z]{{2}}(?![\w]))"
_CEP = r"(?:CEP:?[ \t]*)?\d{5}-?\d{3}"
_TAIL_BR = (
    rf"(?:(?:[ \t]*[-,][ \t]*|{_SEP}){_CITY}(?:(?:[ \t]*[-,][ \t]*|{_SEP}){_CITY})?"
    rf"(?:[ \t]*[,/-][ \t]*[A-Z]{{2}}(?![\w]))(?:[ \t]*,?[ \t]*{_CEP})?"
    rf"|(?:[ \t]*[-,][ \t]*|{_SEP}){_CITY}[ \t]*,?[ \t]*{_CEP}|[ \t]*,?[ \t]*{_CEP})"
)
_WU = r"\p{Lu}[\p{Lu}'’\-]+"  # a word in capitals
_CITYU = rf"{_WU}(?:[ \t]+{_WU}){{0,3}}"
_COLONIA = rf"(?:,?[ \t]*(?i:col\.|colonia|fracc\.|fraccionamiento|barrio|bairro)[ \t]*{_CITY})"


def _address_patterns() -> list[tuple[str, object, float]]:
    en = _en_suffixes()
    ci = "(?i:{})"
    pats = [
        # 221B Baker Street, 742 Evergreen Terrace, 1600 Pennsylvania Ave NW, Apt 4
        ("en", rf"(?<![\w.,])(?:(?i:Flat|Apt\.?|Apartment|Unit|Suite|Studio)[ \t]+\w{{1,5}},?[ \t]+)?{_NUM}[ \t]+(?P<street>{_NAMESEQ})[ \t]+(?i:{en})\b\.?(?:[ \t]+(?:NW|NE|SW|SE|N|S|E|W)\b)?{_UNIT_EN}?(?:{_TAIL_US}|{_TAIL_UK})?", 0.9),
        # written in capitals (shouting customers): only with a US or UK city/postcode tail, which
        # running capitals never have: "3751 SEAN CRESCENT, APT 24D, SEATTLE, WA 98110"
        ("en", rf"(?<![\w.,]){_NUM}[ \t]+(?P<street>{_WU}(?:[ \t]+{_WU}){{0,3}})[ \t]+(?i:{en})\b\.?"
               rf"(?:[ \t]+(?:NW|NE|SW|SE|N|S|E|W)\b)?{_UNIT_EN}?"
               rf"(?P<tail>{_SEP}{_CITYU},?[ \t]+[A-Z]{{2}}[ \t]+\d{{5}}(?:-\d{{4}})?"
               rf"|{_SEP}(?:{_CITYU},?[ \t]+)?[A-Z]{{1,2}}\d[A-Z\d]?[ \t]*\d[A-Z]{{2}})(?![\w])", 0.85),
        # Calle Mayor 12, 3º B, 28013 Madrid / Av. Insurgentes Sur 1234 int. 5, Col. Roma Norte,
        # 06700 Ciudad de México, CDMX / Calle 60 123
        ("es", rf"(?<![\w])(?:{ci.format(_ES_TYPES)})[ \t]+(?:{_CONN}[ \t]+)?(?:{_NAMESEQ}|\d{{1,3}}[A-Z]?),?[ \t]+(?:(?i:n[º°o]\.?|núm\.?|num\.?|no\.?|#)[ \t]*)?{_NUM}(?![\d]){_UNIT_ES}{{0,3}}{_COLONIA}?{_TAIL_EU}?", 0.9),
        # 12 rue de la Paix, 75002 Paris / 81, boulevard de Nicolas / 3 bis avenue Foch
        ("fr", rf"(?<![\w.,])\d{{1,4}}(?:[ \t]?(?i:bis|ter|quater|[A-C])(?![\p{{L}}]))?,?[ \t]+(?:{ci.format(_FR_TYPES)})[ \t]+(?:{_CONN}[ \t]+|(?:d|l)['’])?{_NAMESEQ_APOS}{_TAIL_EU}?", 0.9),
        # Hauptstraße 5, Anna-Marie-Wulff-Weg 12a, 10115 Berlin
        ("de", rf"(?<![\w])(?:\p{{Lu}}\p{{L}}*-\p{{Lu}}[\p{{L}}\-]*[ \t]+)?\p{{Lu}}[\p{{L}}\-]{{2,}}(?i:{_DE_SUFFIX})[ \t]+\d{{1,4}}(?:[ \t]?[a-zA-Z](?![\p{{L}}]))?(?:[/-]\d{{1,4}}[a-z]?)?(?![\d]){_TAIL_EU}?", 0.9),
        # Berliner Straße 5 / Unter den Linden 5 / Am Markt 3
        ("de", rf"(?<![\w])(?:{_W}[ \t]+(?:{_DE_SEPARATE})|(?:Am|An der|Auf dem|Auf der|Im|In der|Unter den|Zum|Zur|Hinter der|Vor dem)[ \t]+{_W})[ \t]+\d{{1,4}}(?:[ \t]?[a-zA-Z](?![\p{{L}}]))?(?:[/-]\d{{1,4}}[a-z]?)?(?![\d]){_TAIL_EU}?", 0.88),
        # Rua Augusta 1500 / Rua Augusta, 1500, apto 12 - Jardim Paulista, São Paulo - SP, 01305-100
        ("pt", rf"(?<![\w])(?:{ci.format(_PT_TYPES)})[ \t]+(?:(?:de|da|do|das|dos)[ \t]+)?{_NAMESEQ},?[ \t]+(?:(?i:n[º°o]\.?)[ \t]*)?{_NUM}(?![\d]){_UNIT_PT}?{_TAIL_BR}?", 0.9),
        # number-less street names with an unambiguous street word: "vivo en la Calle Mayor"
        ("any", rf"(?<![\w])(?:(?i:calle|avenida|rua|rue|avenue|boulevard|travessa|alameda|paseo|praça|praca))[ \t]+(?:{_CONN}[ \t]+|(?:d|l)['’])?{_NAMESEQ_APOS}", 0.6),
    ]
    return [(lang, re.compile(p), score) for lang, p, score in pats]


class AddressRecognizer(_Base):
    """Street addresses: building number + street name + street type in the word order of each
    language (EN "221B Baker Street", ES "Calle Mayor 12", FR "12 rue de la Paix", DE
    "Hauptstraße 5", PT "Rua Augusta, 1500"), with unit (Apt/piso/apto...) and an optional
    postcode + city tail. Street names must be capitalised, so running text rarely matches."""

    ENTITIES = ("STREET_ADDRESS",)

    def __init__(self, name: str | None = None):
        super().__init__(name=name)
        self._patterns = _address_patterns()

    def analyze(self, text, entities, nlp_artifacts=None):
        out = []
        g = gazetteer()
        for _lang, pattern, score in self._patterns:
            for m in pattern.finditer(text):
                street = m.groupdict().get("street")
                if street and not m.groupdict().get("tail") and (
                    all(g.is_stop(w) and not w.istitle() for w in street.split())
                    or any(g.is_stop(w) and len(w) > 1 and (w.isupper() or w.islower()) for w in street.split())
                ):
                    continue  # "ON NOV 2 AND HAVEN'T", "4734-55 TWO WEEKS AGO AND STILL HAVEN'T"
                s, e = m.start(), _trim_end(text, m.start(), m.end())
                if e - s >= 6:
                    out.append(self._res("STREET_ADDRESS", s, e, score))
        return out


def _trim_end(text: str, s: int, e: int) -> int:
    """Drop trailing separators; keep a final '.' only when it closes an abbreviation (St., Av.)."""
    while e > s and text[e - 1] in " \t,-":
        e -= 1
    if e > s and text[e - 1] == ".":
        last = text[s:e].split()[-1] if text[s:e].split() else ""
        if not (len(last) <= 5 and last.replace(".", "").isalpha()):  # keep "St.", "Jal.", "N.L."
            e -= 1
    return e


# ------------------------------------------------------------------------------------------------
# person names
# ------------------------------------------------------------------------------------------------
