"""The phone-number recognizer (one instance per conversation region).

Passes, each adding what the previous ones missed:

1. libphonenumber's matcher for the conversation's region at POSSIBLE leniency (dates, clock
   times, day+month phrases and letter-digit codes blanked out first, so nothing glues onto
   them), scored by validity and layout;
2. digit stretches the matcher gives up on, retried token window by token window (valid
   numbers only);
3. ``+CC`` / ``00CC`` international forms anywhere (E.164 included);
4. **after a phone cue** ("phone", "telefono", "cellulare", "telefoon", "mobiel", "komórka",
   "puhelin", "numara", "my number is"... in 14 languages): the next number, valid in the
   conversation's region or in any of :data:`~agent_release.masking.phonenorm.CANDIDATE_REGIONS`
   (a UK mobile in a US conversation), else possible there, else phone-shaped (7-15 digits): a
   customer who writes "my phone: ..." means a phone whatever the numbering plan says; one
   number after another ("0612 345678 or 030 1234567") continues the cue;
4b. without a cue, digit groups written as phones are ("(612 34 40 8)", "0412 345 678", a
   parenthesis, a trunk 0 or three groups) and possible in any candidate region: 0.5, not after
   an id cue, near a currency, in thousands grouping or inside a longer digit run;
5. an extension right after any number found (``x42503``, ``ext. 12``, ``#12``, ``poste 221``,
   ``Durchwahl 123``...) joins its span. Length guards count the main number's digits only.

An identifier cue right before a bare digit run ("order 2125550143") caps it at 0.5, and
identifier cues veto the cue pass.
"""

from __future__ import annotations

import phonenumbers
import regex as re
from phonenumbers import Leniency

from agent_release.masking import phonenorm
from agent_release.masking.phonenorm import is_fictional_phone
from agent_release.masking.gazetteer import MONTHS
from agent_release.masking.recbase import ORDER_CTX, _Base, blank, ctx_before, embedded
from agent_release.masking.textutil import fold

#: words that say "a phone number follows / precedes" (folded text: lower-case, no accents)
_PHONE_WORDS = (
    # en
    r"(?:phone|telephone|mobile|cellphone|cellular|landline|whatsapp|fax)\w*|tel|cell|call|ring|"
    r"text me|sms|reach me|contact\w*|"
    # es / pt
    r"(?:telefono|telefone|celular|movil|llam|whats)\w*|cel|marcar|fone|ligar|"
    r"liga|zap|"
    # fr
    r"(?:portable|appel|rappel|joindre|joignable)\w*|"
    # de
    r"(?:telefon|handy|mobil|rufnummer|festnetz|anruf|rufen|zuruckruf)\w*|erreichbar|"
    # it
    r"(?:cellulare|chiamam|chiamar|chiamat|contatt|recapit)\w*|cellulare|"
    # nl
    r"(?:telefoon|mobiel|bellen)\w*|bel me|bel mij|belt u|gsm|"
    # pl
    r"(?:komork|zadzwon|dzwon|telefonu)\w*|"
    # sv / da / no
    r"(?:ringa|ringer)\w*|ring mig|ring meg|ring til|"
    # fi / tr / cs / ru
    r"(?:puhelin|soita|matkapuhelin|aray|kontakt)\w*|puh|volat|телефон\w*|"
    # "reach me at", "the new one is": numero-/numara- case forms, "ni når mig på", "nowy to"
    r"numero(?:sta|on|lla|ni|mme)|tavoittaa|(?:nar|nas)[ \t]+(?:mig|meg|mej|meid)(?:[ \t]+pa)?|"
    r"(?:el|le|o)[ \t]+(?:nuevo|nouveau|novo)[ \t]+(?:es|est|e)(?:[ \t]+le)?|nowy[ \t]+to|"
    r"(?:(?<=^)|(?<=\n)|(?<=> ))(?:m|t|mob|tlf)(?=:)"
)
_MY = r"(?:my|mon|mi|meu|meine|mein|mio|il mio|mijn|moj|mój|min|mitt|minun|benim)"
_NUMBER_WORDS = r"(?:number|numero|nummer|numer|numara|nro|telnr|tlf)"
#: strong cues: the phone words, "my number (is)", bare "nummer" / "numara"
_PHONE_CUE = re.compile(
    rf"\b(?:{_PHONE_WORDS}|{_MY}[ \t]+{_NUMBER_WORDS}(?![ \t]+(?:de|do|da|of|der|des|du|di|van|d'))|"
    r"nummer|numaram\w*|numarasi\w*)\b"
)
_PHONE_CTX = _PHONE_CUE
_PHONE_CTX_AFTER = re.compile(
    r"[ \t,]{0,3}(?:an|zu)?(?:anrufen|zuruckrufen|zuruckzurufen|zuruck|erreichen|llamar|llamarme|ligar|appeler|"
    r"rappeler|call|text|whatsapp|chiamare|chiamarmi|bellen|zadzwonic|ringa|soita|"
    r"numaras\w*|numaram\w*|(?:som|jako|as|como)[ \t]+(?:mit[ \t]+|min[ \t]+|my[ \t]+|mi[ \t]+)?"
    r"(?:kontakt\w*|numer\w*|contact\w*|numero\w*|phone\w*|telef\w*))\b"
)
#: a conjunction between two numbers: the second continues the first one's cue
_NUMBER_JOIN = re.compile(
    r"[ \t]*(?:,|/|;|\bor\b|\bo\b|\bou\b|\boder\b|\bof\b|\beller\b|\blub\b|\balbo\b|\btai\b|"
    r"\bveya\b|\boppure\b|\by\b|\be\b|\bund\b|\band\b|\bet\b|\ben\b|\bi\b|\boch\b)[ \t]*"
    r"(?:(?:\p{L}+[ \t]*){0,2}[:.]?[ \t]*)?"
)

#: codes mixing letters and digits ("M1-915126", "ORD-2026-304046", "#H-13810") and day+month
#: dates ("30. Oktober") are blanked before phone matching so that no number glues onto them
_CODE_TOKEN = re.compile(r"(?<!\S)(?=\S*\p{L})(?=\S*\d)\S+")
_EXT_TOKEN = re.compile(r"^[\d().+\-/]+(?:x|ext\.?)\d+[.,;:!?]*$", re.IGNORECASE)
_LABEL_TOKEN = re.compile(r"^(\p{L}{1,12}\.?[:=.])[+(]?\d[\d().\-/]*[.,;]?$")
_DAY_MONTH = re.compile(
    r"(?i)(?<![\w])\d{1,2}(?:\.|er|º|st|nd|rd|th)?[ \t]+(?:de[ \t]+|of[ \t]+)?(?:"
    + "|".join(sorted({m for ms in MONTHS.values() for m in ms.split()} | set(
        "janvier février fevrier mars août aout décembre decembre märz marz março marco".split()), key=len, reverse=True))
    # Finnish months, also in the partitive of dates ("16. maaliskuuta 2024")
    + r"|(?:tammi|helmi|maalis|huhti|touko|kesä|kesa|heinä|heina|elo|syys|loka|marras|joulu)kuu(?:ta)?"
    + r")\b"
)
#: spaces, dots or parentheses between digit groups: how phones are written, not ids
_PHONE_LAYOUT = re.compile(r"^\+|\d \d|\(\d|\d{2}\.\d{2}\.\d{2}")
_AMOUNT_TAIL = re.compile(r"\d[.,]\d{2}$")
_DOTTED_PAIRS = re.compile(r"[.,]\d{2}[.,]\d{2}$")
#: "1 234 567", "12 345 678": thousands grouping, an amount rather than a phone
_THOUSANDS = re.compile(r"^\d{1,3}(?: \d{3})+$")
_PHONE_STRETCH = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d ().\-/]{8,40}\d(?![\w])")
#: after a cue: shorter numbers too ("555 0123", "12 34 56 78")
_CUE_STRETCH = re.compile(r"(?:\+|00)?\(?\d[\d ().\-/]{4,40}\d(?:(?![\w])|(?=(?i:x|ext)\.?[ ]?\d))")
_CUE_GAP = re.compile(r"[^\d?!\n]{0,32}?(?=(?:\+|\(?\d))")
_NANP = re.compile(
    r"(?<![\w+.\-/])(?:(?:\+1|1|001)[ .\-]?)?(?:\([2-9]\d{2}\)[ .\-]?[2-9]\d{2}[.\-]|[2-9]\d{2}([.\-])[2-9]\d{2}\1)\d{4}"
    r"(?:(?![\w]|[.\-/]\d)|(?=(?i:x|ext)\.?[ ]?\d))"
)
_IPV4_LIKE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_VERSION_LIKE = re.compile(r"^\d{1,4}(?:\.\d{1,3}){2,3}$")
_NUMERIC_DATE_IN_TEXT = re.compile(r"(?<![\d./-])\d{1,4}([./-])\d{1,2}\1\d{2,4}(?![\d]|[./-]\d)")
_DATE_LIKE = re.compile(r"^\(?\d{1,4}\)?[./-]\d{1,2}[./-]\d{1,4}$")
_INTL_00 = re.compile(r"00[1-9]\d{0,2}[ \-(]")
_INTL_FALLBACK = re.compile(
    r"(?<![\w+]|\d[ \t.\-])(?:\+|00(?=[1-9]\d{0,2}[ \-(]))[1-9]\d{0,2}(?:[ .\-]?\(?\d{1,4}\)?){2,6}(?:(?!\w)|(?=(?i:x|ext)\.?\d))"
)
_NUM_DIGITS = re.compile(r"\D")
_SMALL_GROUPS = re.compile(r"\d{2,3}(?: \d{2,3}){2,5}")
#: a clock time ("12:20", "07:45:10"): blanked like dates, or its minutes glue onto a phone
#: number that follows ("12:20 0174 77562929" read as "20 0174 77562929")
_CLOCK_TIME = re.compile(r"(?<![\d:])\d{1,2}:\d{2}(?::\d{2})?(?![\d:])")
_CURRENCY_NEAR = re.compile(r"[$€£¥₹]|\b(?:eur|usd|gbp|mxn|brl|pln|sek|chf|r\$|zl|kr|euro|euros|dollars?)\b")

def _blank_code(t) -> str:
    tok = t.group()
    if _EXT_TOKEN.match(tok):
        return tok
    label = _LABEL_TOKEN.match(tok)
    if label and _PHONE_CUE.fullmatch(fold(label.group(1).rstrip(":=."))):
        # "Tel:0612345678", "Tel.+34612345678": the label goes, the number stays
        return "x" * label.end(1) + tok[label.end(1):]
    return "x" * len(tok)


def _main_digits(raw: str) -> int:
    """Digits of the number without its extension: the length guards count these."""
    return sum(c.isdigit() for c in phonenorm.split_extension(raw)[0])


class LocalePhoneRecognizer(_Base):
    """Phone numbers for one region (national formats) plus any +CC/00CC international form.

    Scores: valid or fictional-range numbers 0.8 when laid out like a phone, 0.75 as a bare digit
    run; international-prefixed possible numbers 0.65; other possible numbers 0.45 (need a phone
    word). A phone word before or after adds 0.2. After a phone cue, a number valid in any
    candidate region scores 0.9, a possible one 0.85, a phone-shaped one 0.7. A bare digit run
    right after an order / tracking / account cue is capped at 0.5 (the cue pass skips it).
    """

    ENTITIES = ("PHONE_NUMBER",)

    def __init__(self, region: str = "US", name: str | None = None):
        # (not called "PhoneRecognizer": Presidio resolves its predefined recognizers by class
        # name among all EntityRecognizer subclasses, and would pick this one up)
        self.region = region
        super().__init__(name=name or f"PhoneRecognizer[{region}]")

    def analyze(self, text, entities, nlp_artifacts=None):
        if sum(map(str.isdigit, text)) < 7:
            return []
        folded = fold(text)
        found: dict[tuple[int, int], float] = {}
        # dates next to a number confuse libphonenumber's candidate extraction ("31/10/2026
        # 07.45.88.15.88"); blank them out, keeping offsets
        scan = _NUMERIC_DATE_IN_TEXT.sub(blank, text)
        scan = _CLOCK_TIME.sub(blank, scan)
        scan = _DAY_MONTH.sub(blank, scan) if _DAY_MONTH.search(folded) else scan
        scan = _CODE_TOKEN.sub(_blank_code, scan)
        self._matcher_pass(text, scan, folded, found)
        self._window_pass(text, scan, folded, found)
        self._international_pass(text, folded, found)
        self._nanp_pass(text, scan, folded, found)
        self._cue_pass(text, scan, folded, found)
        self._grouped_pass(text, scan, folded, found)
        self._extensions(text, found)
        return [self._res("PHONE_NUMBER", s, e, sc) for (s, e), sc in found.items()]

    # -- pass 1: libphonenumber's matcher -------------------------------------------------------
    def _matcher_pass(self, text, scan, folded, found):
        for m in phonenumbers.PhoneNumberMatcher(scan, self.region, leniency=Leniency.POSSIBLE):
            raw = m.raw_string
            main = phonenorm.split_extension(raw)[0] if m.number.extension else raw
            if _DATE_LIKE.match(main.strip()) or embedded(text, m.start, m.end):
                continue
            if _AMOUNT_TAIL.search(main) and not _DOTTED_PAIRS.search(main):
                continue  # "8337-40 15.29": an order number and an amount
            if "/" in main:  # only "030/1234567"-style area-code slashes, not "6224-17 10/27"
                head, _, tail = main.partition("/")
                if "/" in tail or not head.strip(" (").startswith(("0", "+")):
                    continue
            n = m.number
            nsn = phonenumbers.national_significant_number(n)
            if len(nsn) < 7:
                continue
            intl = main.lstrip("( ").startswith("+") or bool(_INTL_00.match(main))
            long_run = not intl and _stretch_digits(scan, m.start, m.start + len(main)) > 15
            if long_run and " " in main:  # "9400 5947" of "9400 5947 6197 4037 7887 87": a tracking slice
                score = 0.45
            elif phonenumbers.is_valid_number(n) or is_fictional_phone(n):
                # laid out like a phone ("(415) 555-0123", "06 12 34 56 78"): clear enough for the
                # residual scan's 0.8 bar; a bare valid digit run stays at 0.75
                score = 0.8 if _PHONE_LAYOUT.search(main) or "-" in main.strip("-") else 0.75
            elif intl:
                score = 0.65
            elif ((_PHONE_LAYOUT.search(main) or "-" in main.strip("-")) and not _THOUSANDS.match(main.strip())
                    and not ORDER_CTX.search(folded, max(0, m.start - 40), m.start)
                    and _stretch_digits(scan, m.start, m.start + len(main)) <= 15
                    and not _CURRENCY_NEAR.search(folded[max(0, m.start - 6):m.end + 6])):
                # possible (not valid) but grouped as phones are written ("078 123 40 03",
                # "61 1678-3903"): privacy first, just at the bar; an id cue before it keeps 0.45
                score = 0.5
            else:
                score = 0.45
            if not intl and _main_digits(main) > 14:
                continue  # "499-5518547-1405983": longer than any national number
            if main.isdigit() and len(main) >= 12:  # a long bare digit run is more often an id
                score = min(score, 0.45)
            found[(m.start, m.end)] = self._adjust(folded, m.start, m.end, score)

    # -- pass 2: windows of digit stretches -----------------------------------------------------
    def _window_pass(self, text, scan, folded, found):
        # libphonenumber gives up on a number glued to other digit groups ("(312) 531-5216 2471
        # Henderson Springs"): try token windows of such digit stretches, keeping valid numbers
        for m in _PHONE_STRETCH.finditer(scan):
            # inside a confident match, or one capped by an id cue ("Sendung 81919015371224"):
            # nothing to add; inside a weak one ("20 0174 77562929", possible but not valid): a
            # valid window may beat it
            if any(s <= m.start() and m.end() <= e and (sc >= 0.75 or sc <= 0.3) for (s, e), sc in found.items()):
                continue
            for s_, e_ in self._valid_windows(scan, m.start(), m.end()):
                if embedded(text, s_, e_):
                    continue
                if re.fullmatch(r"\d{4}(?: \d{4})+", scan[s_:e_]) and _stretch_digits(scan, s_, e_) > 15:
                    continue  # the head of "9400 5947 6197 4037 7887 87": a tracking number
                score = self._adjust(folded, s_, e_, 0.75)
                if (s_, e_) in found and score < 0.75:
                    continue  # the same span, not clearly a phone here either: its verdict stands
                _put(found, s_, e_, score)

    # -- pass 3: +CC / 00CC anywhere --------------------------------------------------------
    def _international_pass(self, text, folded, found):
        if "+" not in text and "00" not in text:
            return
        for m in _INTL_FALLBACK.finditer(text):
            digits = _NUM_DIGITS.sub("", m.group())
            if not 8 <= len(digits) <= 17:
                continue
            if _glued(text, m.start(), m.end()):
                continue
            clash = [k for k in found if k[0] < m.end() and m.start() < k[1]]
            if any(not (m.start() <= k[0] and k[1] <= m.end()) for k in clash):
                continue  # partly overlaps a number found otherwise: keep that one
            score = max([self._adjust(folded, m.start(), m.end(), 0.6)] + [found[k] for k in clash])
            for k in clash:  # "+52 1 55 1391 1414" beats its inner "55 1391 1414"
                del found[k]
            found[(m.start(), m.end())] = score

    # -- pass 3b: the North American layout, anywhere --------------------------------------
    def _nanp_pass(self, text, scan, folded, found):
        """"736-709-8418", "(043) 662-1633", "798.262.3272x879": ten digits in the NANP layout
        with an NXX area code and exchange are a phone number whether or not the area code is
        assigned (0.6); not after an id cue."""
        if "-" not in scan and "." not in scan and ")" not in scan:
            return
        for m in _NANP.finditer(scan):
            s_, e_ = m.start(), m.end()
            if _glued(text, s_, e_):
                continue
            if ORDER_CTX.search(folded, max(0, s_ - 40), s_):
                continue
            _put(found, s_, e_, self._adjust(folded, s_, e_, 0.6))

    # -- pass 4: the number after a phone cue, any numbering plan ---------------------------
    def _cue_pass(self, text, scan, folded, found):
        # only numbers nothing else found are looked at; a cue is searched for right before each
        for m in _CUE_STRETCH.finditer(scan):
            p = m.start()
            if sum(map(str.isdigit, m.group())) < 7 or (p > 0 and (scan[p - 1].isalnum() or scan[p - 1] == "+")):
                continue
            if any(k[0] < m.end() and p < k[1] and sc >= 0.5 for k, sc in found.items()):
                continue
            if not self._cued(text, scan, folded, p, found) or ORDER_CTX.search(folded, max(0, p - 40), p):
                continue
            hit = self._cue_number(text, scan, p)
            if hit is not None:
                s_, e_, score = hit
                for k in [k for k in found if k[0] < e_ and s_ < k[1]]:
                    del found[k]
                found[(s_, e_)] = score

    @staticmethod
    def _cued(text, scan, folded, p, found) -> bool:
        """A phone cue ends at most 32 characters before ``p`` with no digit, "?" or "!" in
        between — or ``p`` follows, after "or" / "o" / "," ..., a number found as a phone."""
        for c in _PHONE_CUE.finditer(folded, max(0, p - 48), p):
            gap = _CUE_GAP.match(scan, c.end())
            if gap is not None and gap.end() == p:
                return True
        for (s, e), sc in found.items():
            if e <= p and sc >= 0.7 and p - e <= 24:
                x = phonenorm.EXTENSION.match(text, e)
                j = _NUMBER_JOIN.match(folded, x.end() if x else e)
                if j is not None and j.end() == p:
                    return True
        return False

    def _cue_number(self, text, scan, p):
        m = _CUE_STRETCH.match(scan, p)
        if m is None or (p > 0 and (scan[p - 1].isalnum() or scan[p - 1] == "+")):
            return None
        toks = [(p + t.start(), p + t.end()) for t in re.finditer(r"\S+", scan[p:m.end()])][:8]
        best = None
        for j in range(len(toks) - 1, -1, -1):
            s_, e_ = toks[0][0], toks[j][1]
            while e_ > s_ and scan[e_ - 1] in ".-/(":
                e_ -= 1
            frag = scan[s_:e_]
            nd = sum(c.isdigit() for c in frag)
            if not 7 <= nd <= 15 or _DATE_LIKE.match(frag) or _IPV4_LIKE.match(frag):
                continue
            if _VERSION_LIKE.match(frag) or (_AMOUNT_TAIL.search(frag) and not _DOTTED_PAIRS.search(frag)):
                continue
            if _glued(text, s_, e_):
                continue
            num, valid, _r = phonenorm.parse(frag, self.region)
            if valid or (num is not None and is_fictional_phone(num)):
                return s_, e_, 0.9
            if best is None:
                if num is not None and phonenumbers.is_possible_number(num):
                    best = (s_, e_, 0.85)
                elif 8 <= nd and _shaped_like_phone(frag):
                    best = (s_, e_, 0.7)
        if best and _CURRENCY_NEAR.search(fold(text[max(0, best[0] - 6):best[1] + 6])):
            return None  # "call about the 1 234 567 € invoice"
        return best

    # -- pass 4b: grouped like a phone, possible in some region -------------------------------
    def _grouped_pass(self, text, scan, folded, found):
        """"(612 34 40 8)", "0412 345 678": digit groups written as phones are (a parenthesis, a
        trunk 0 or three groups and more), possible in any candidate region, are a phone at 0.5
        with no cue — not after an id cue, near a currency, in thousands grouping or as a slice
        of a longer digit run."""
        for m in _PHONE_STRETCH.finditer(scan):
            s_, e_ = m.start(), m.end()
            frag = scan[s_:e_]
            if any(k[0] < e_ and s_ < k[1] for k in found) or _glued(text, s_, e_):
                continue
            nd = sum(c.isdigit() for c in frag)
            groups = re.split(r"[ .\-/()]+", frag.strip("()"))
            if not 7 <= nd <= 15 or not (frag.startswith(("(", "0")) or len(groups) >= 3):
                continue
            if (_DATE_LIKE.match(frag) or _IPV4_LIKE.match(frag) or _VERSION_LIKE.match(frag) or "." in frag
                    or "/" in frag or _THOUSANDS.match(frag) or _AMOUNT_TAIL.search(frag)
                    or not _shaped_like_phone(frag) or _stretch_digits(scan, s_, e_) > 15):
                continue
            if ORDER_CTX.search(folded, max(0, s_ - 40), s_) or _CURRENCY_NEAR.search(folded[max(0, s_ - 6):e_ + 6]):
                continue
            if any(_possible_in(frag, r) for r in (self.region, *phonenorm.CANDIDATE_REGIONS)):
                found[(s_, e_)] = self._adjust(folded, s_, e_, 0.5)

    # -- pass 5: extensions -----------------------------------------------------------------
    @staticmethod
    def _extensions(text, found):
        for (s, e), sc in sorted(found.items()):
            if (s, e) not in found:
                continue
            m = phonenorm.EXTENSION.match(text, e)
            if m is None:
                continue
            for k in [k for k in found if k != (s, e) and k[0] < m.end() and e <= k[0]]:
                del found[k]
            del found[(s, e)]
            found[(s, m.end())] = sc

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
        near_phone_word = ctx_before(folded, start, _PHONE_CTX, 15)
        id_cue = ORDER_CTX.search(folded, max(0, start - 40), start)
        if near_phone_word and id_cue:  # "phone order 12345678": the nearer cue speaks
            near_phone_word = _PHONE_CTX.search(folded, id_cue.start(), start) is not None
        if (not near_phone_word and id_cue
                and not _PHONE_LAYOUT.search(folded[start:end])):
            # "order 2125550143", "paquete 5588420866": a number that is a valid phone of the
            # conversation's numbering plan, after an order/parcel cue, is ambiguous. Privacy first:
            # it stays just above the threshold (masked) rather than being vetoed; an order number
            # replaced by a fake number costs replay realism, a leaked phone costs GDPR compliance.
            return min(score, 0.5)
        if near_phone_word or ctx_before(folded, start, _PHONE_CTX, 40) or _PHONE_CTX_AFTER.match(folded, end):
            return min(score + 0.2, 0.95)
        return score


def _glued(text: str, s: int, e: int) -> bool:
    """Part of a longer token — unless what follows is an extension ("0864x42503")."""
    return embedded(text, s, e) and phonenorm.EXTENSION.match(text, e) is None


def _put(found: dict, s: int, e: int, score: float) -> None:
    """Add [s, e) unless an overlapping span scores as high; drop the weaker overlaps."""
    clash = [k for k in found if k[0] < e and s < k[1]]
    if all(found[k] < score for k in clash):
        for k in clash:
            del found[k]
        found[(s, e)] = score


def _shaped_like_phone(frag: str) -> bool:
    """Digit groups as phones are written: "+"/"(" or groups of 2-4 digits joined by one
    separator kind, or one block of 8-13 digits — not "12-3456-789012-3" (an id)."""
    if frag.startswith(("+", "(")):
        return True
    groups = re.split(r"[ .\-/]+", frag.replace("(", "").replace(")", ""))
    if len(groups) == 1:
        return 8 <= len(groups[0]) <= 13
    seps = set(re.findall(r"[ .\-/]+", frag))
    return len(seps) <= 2 and all(1 <= len(g) <= 5 for g in groups) and len(groups) <= 6


def _stretch_digits(text: str, s: int, e: int) -> int:
    """Digits of the space/dash-joined digit run around [s, e): a slice of a grouped tracking
    number ("9400 5354 9274 6732 2570 00") belongs to a run longer than any phone."""
    while s > 0 and (text[s - 1].isdigit() or (text[s - 1] in " -" and s > 1 and text[s - 2].isdigit())):
        s -= 1
    while e < len(text) and (text[e].isdigit() or (text[e] in " -" and e + 1 < len(text) and text[e + 1].isdigit())):
        e += 1
    return sum(c.isdigit() for c in text[s:e])


def _possible_in(frag: str, region: str) -> bool:
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(frag, region))
    except phonenumbers.NumberParseException:
        return False
