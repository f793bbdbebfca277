"""Bank-account recognizers: IBANs (valid, and IBAN-shaped after an account cue), Mexican
CLABE, UK sort code + account number, US routing (ABA) + account number, and account numbers
after an explicit bank-account cue in the project's languages.

All report ``IBAN_CODE`` (the canonical type for bank-account identifiers; the surrogate tells
the forms apart by their shape, see :meth:`~agent_release.masking.surrogates.SurrogateFactory.iban`).
"""

from __future__ import annotations

import regex as re

from agent_release.masking import checksums as cs
from agent_release.masking.recbase import ORDER_CTX, _Base, ctx_before
from agent_release.masking.textutil import fold

#: an account / payment cue before a number (folded text)
_ACCOUNT_CTX = re.compile(
    r"\b(?:iban|account|acct|a/c|bank\w*|konto\w*|kontonr|cuenta|compte|rib|conta|conto|"
    r"rekening\w*|rachun\w*|tili\w*|hesap\w*|transfer\w*|wire|virement|bonifico|uberweis\w*|"
    r"przelew\w*|overschrijving|overboeking|clabe|swift|bic|refund|reembols\w*|rembours\w*|"
    r"erstatt\w*|rimbors\w*|terugbetal\w*|zwrot\w*|aterbetal\w*|sepa|lastschrift|domiciliation|"
    r"domiciliacion|addebito|incasso)\b"
)
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?=[ \-]?[A-Za-z0-9])")
_IBAN_CAND = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]){11,34}")
_GROUP = re.compile(r"[ \-]?([A-Za-z0-9]+)")


class LenientIbanRecognizer(_Base):
    """IBANs, compact or grouped, any case.

    - country length (ISO 13616) and mod-97 hold: 1.0. A word glued after the number ("IBAN:
      ES94 0049 ... 6169 FECHA") does not break it: the candidate is cut at the country's length;
    - IBAN-shaped (two letters, two digits, 10-30 more characters, grouped by four or compact)
      right after an account cue ("IBAN", "account", "Konto", "cuenta", "rekening"...): 0.85
      whatever its length or check digits — a mistyped IBAN is still the customer's;
    - without a cue, a known country's IBAN within three characters of its length, with at least
      ten digits after the check digits (compact or grouped), whatever the check digits: 0.6.
    """

    ENTITIES = ("IBAN_CODE",)

    def analyze(self, text, entities, nlp_artifacts=None):
        out = []
        covered: list[tuple[int, int]] = []
        for m in _IBAN_CAND.finditer(text, overlapped=True):  # "PC2152V2 FR76..." starts twice
            cand = m.group()
            n = cs.IBAN_LENGTHS.get(cand[:2].upper())
            if n is None:
                continue
            idx = [k for k, c in enumerate(cand) if c.isalnum()]
            if n > len(idx):
                continue
            end = idx[n - 1] + 1
            nxt = text[m.start() + end: m.start() + end + 1]
            if nxt.isalnum() and not (nxt.isalpha() and cand[end - 1].isdigit() and " " not in cand[:end]):
                continue  # the cut must fall at the end of a group, not inside a word
            if cs.iban_ok(cand[:end]):
                out.append(self._res("IBAN_CODE", m.start(), m.start() + end, 1.0))
                covered.append((m.start(), m.start() + end))
        folded = None
        for m in _IBAN_START.finditer(text):
            s = m.start()
            if any(a <= s < b for a, b in covered):
                continue
            e, compact, grouped = _iban_shape(text, s)
            if not 12 <= len(compact) <= 34 or sum(c.isdigit() for c in compact[4:]) < 8:
                continue
            folded = folded if folded is not None else fold(text)
            country_len = cs.IBAN_LENGTHS.get(compact[:2].upper())
            if ctx_before(folded, s, _ACCOUNT_CTX, 40):
                out.append(self._res("IBAN_CODE", s, e, 0.85))
            elif (country_len and abs(country_len - len(compact)) <= 3 and compact[:2].isupper()
                    and len(compact) >= 15 and sum(c.isdigit() for c in compact[4:]) >= 10):
                # a known country's IBAN, a few characters off or with wrong check digits
                # ("GB20OEJW9501333098575": 21 of 22)
                out.append(self._res("IBAN_CODE", s, e, 0.6))
        return out


def _iban_shape(text: str, s: int) -> tuple[int, str, bool]:
    """The IBAN-shaped run starting at ``s``: (end, compact characters, grouped by four).

    Groups follow each other with one space or dash; a group after a short one, a word (letters
    only, but for the bank code right after "CCdd": "GB82 WEST ..."), or a group that would pass
    34 characters ends it."""
    first = re.match(r"[A-Za-z0-9]+", text[s:])
    compact = first.group()
    e = s + len(compact)
    if len(compact) > 34:
        return e, compact, False
    groups = [compact]
    pos = e
    while True:
        g = _GROUP.match(text, pos)
        if g is None or g.start(1) - pos > 1:
            break
        tok = g.group(1)
        prev = groups[-1]
        if len(prev) != 4 and len(groups) > 1:
            break  # only the last group is short
        if len(prev) != 4 and len(groups) == 1 and len(prev) > 4:
            break  # a compact number, then something else
        if len(tok) > 4 or len(compact) + len(tok) > 34:
            break
        if tok.isalpha() and not (len(groups) == 1 and tok.isupper()):
            break  # "... 6169 FECHA", "... 00 y"
        groups.append(tok)
        compact += tok
        e = g.end()
        pos = e
    grouped = len(groups) > 1 and all(len(g) == 4 for g in groups[:-1])
    return e, compact, grouped


# ------------------------------------------------------------------------------------------------
# CLABE (MX), sort code + account (GB), routing + account (US), account numbers after a cue
# ------------------------------------------------------------------------------------------------

_DIGIT_RUN = re.compile(r"(?<![\w.,/+-])\d+(?:[ -]\d+)*(?![\w]|[.,/-]\d)")
_DIGIT_TOKEN = re.compile(r"(?<![\w.,/+-])\d{4,17}(?![\w]|[.,/-]\d)")
_CLABE_CTX = re.compile(r"\bclabe\b")
_SORT_CODE = re.compile(r"(?<![\w.,/+-]|\d[ -])\d{2}([- ])\d{2}\1\d{2}(?![\w]|[.,/-]\d)")
_SORT_CTX = re.compile(r"\b(?:sort[ -]?code|sortcode|s/c|bank code)\b")
_ROUTING_CTX = re.compile(r"\b(?:routing|aba|rtn|transit)\b")
_ACCT_NUM_CTX = re.compile(
    r"\b(?:account|acct|acc|a/c|checking|savings)(?:[ \t]+(?:number|num|no|nr|#))?\.?[ \t]*(?:is|:|#|=)?[ \t]*$"
)
#: an explicit bank-account cue: the number after it is an account number, whatever its shape
_BANK_ACCOUNT_CUE = re.compile(
    r"\b(?:bank[ \t]+account(?:[ \t]+(?:number|no|nr|#))?|account[ \t]+number|kontonummer|kontonr|"
    r"konto[ \t]*nr|bankkonto(?:nummer)?|numero[ \t]+de[ \t]+cuenta|n[ºo°]?[ \t]+de[ \t]+cuenta|"
    r"cuenta[ \t]+bancaria|numero[ \t]+de[ \t]+conta|conta[ \t]+bancaria|numero[ \t]+de[ \t]+compte|"
    r"compte[ \t]+bancaire|numero[ \t]+di[ \t]+conto|conto[ \t]+corrente|c/c|rekeningnummer|"
    r"bankrekening(?:nummer)?|numer[ \t]+(?:konta|rachunku)|nr[ \t]+(?:konta|rachunku)|"
    r"rachunek(?:[ \t]+bankowy)?|clearingnummer|bankgiro|plusgiro|tilinumero|hesap[ \t]+numarasi|"
    r"clabe|routing(?:[ \t]+(?:number|no|#))?|sort[ -]?code)"
    r"(?:[ \t]+(?:is|es|est|ist|e|era|was|jest|ar|er|:))?[\s:#.=-]*$"
)
#: 3-digit bank codes of the larger Mexican banks (first digits of a CLABE)
_MX_BANKS = frozenset(
    "002 006 009 012 014 019 021 030 032 036 037 042 044 058 059 060 062 072 102 103 106 108 "
    "110 112 113 116 124 126 127 128 129 130 131 132 133 134 135 136 137 138 140 141 143 145 "
    "147 148 150 151 152 154 155 156 166 168 600 601 602 605 606 607 608 610 614 615 616 617 "
    "618 619 620 621 622 623 626 627 628 629 630 631 632 633 634 636 637 638 640 642 646 647 "
    "648 649 651 652 653 655 656 659 670 901 902".split()
)


class BankAccountRecognizer(_Base):
    """Bank account numbers that are not IBANs (reported as ``IBAN_CODE``):

    - **CLABE** (MX, 18 digits, 3-7-1 check digit): 0.95 after "CLABE" (0.85 with a wrong check
      digit), 0.75 for a valid one of a known bank without a cue;
    - **sort code** (GB, ``NN-NN-NN``): 0.9 after "sort code"; without one, 0.8 when an 8-digit
      account number follows within 30 characters (both reported);
    - **routing number** (US, 9 digits, ABA check): 0.95 after "routing"/"ABA" (0.85 with a bad
      check digit); an ABA-valid one with an account number near, 0.8;
    - **account number** (4-17 digits) after "account number"/"acct" with a sort code or routing
      number within 80 characters: 0.85; any 6-34 digit number right after an explicit bank-account
      cue ("bank account", "Kontonummer", "número de cuenta", "rekeningnummer", "numer konta"...):
      0.95 (above any phone reading of the same digits).

    A number right after an order / tracking cue is skipped.
    """

    ENTITIES = ("IBAN_CODE",)

    def analyze(self, text, entities, nlp_artifacts=None):
        if sum(c.isdigit() for c in text) < 6:
            return []
        runs = [(m.start(), m.end(), re.sub(r"\D", "", m.group())) for m in _DIGIT_RUN.finditer(text)]
        if not any(len(d) >= 6 for _s, _e, d in runs):
            return []  # no account number, sort code or routing number is shorter
        folded = fold(text)
        cue_any = _ANY_CUE.search(folded) is not None
        if not cue_any and not any(len(d) == 18 for _s, _e, d in runs) and "-" not in text:
            return []  # no cue, no CLABE-long run, no NN-NN-NN sort code
        found: dict[tuple[int, int], float] = {}
        sort_codes = [(m.start(), m.end()) for m in _SORT_CODE.finditer(text)]
        routings = []
        for s, e, digits in runs:
            n = len(digits)
            if n < 6 or n > 34 or (not cue_any and n != 18):
                continue
            before = folded[max(0, s - 45):s]
            bank_cue = cue_any and _BANK_ACCOUNT_CUE.search(before) is not None
            if not (cue_any and _ANY_CUE.search(before)) and ORDER_CTX.search(before):
                continue  # "pedido 032180000118359719": an order number
            if n == 18 and _groups_ok(text[s:e]):
                valid = cs.clabe_ok(digits)
                if cue_any and _CLABE_CTX.search(before):
                    found[(s, e)] = 0.95 if valid else 0.85
                    continue
                if valid and digits[:3] in _MX_BANKS:
                    found[(s, e)] = 0.75
                    continue
            if not cue_any:
                continue
            if n == 9 and text[s:e].isdigit():
                if _ROUTING_CTX.search(before):
                    found[(s, e)] = 0.95 if cs.aba_ok(digits) else 0.85
                    routings.append((s, e))
                    continue
                if cs.aba_ok(digits) and _near(folded, s, e, _ACCOUNT_WORD, 40):
                    routings.append((s, e))
                    found[(s, e)] = 0.8
                    continue
            if bank_cue and _groups_ok(text[s:e], loose=True):
                found[(s, e)] = 0.95  # an explicit "account number:" beats a phone reading
        for s, e in list(sort_codes):
            before = folded[max(0, s - 30):s]
            if cue_any and _SORT_CTX.search(before):
                found[(s, e)] = max(found.get((s, e), 0), 0.9)
            elif "-" in text[s:e] and _account_after(text, e):
                found[(s, e)] = max(found.get((s, e), 0), 0.8)
            else:
                sort_codes.remove((s, e))
        anchors = sort_codes + routings
        if anchors:
            tokens = [(m.start(), m.end(), m.group()) for m in _DIGIT_TOKEN.finditer(text)]
            for s, e, digits in runs + tokens:
                if any(a <= s < b or a < e <= b for a, b in anchors):
                    continue
                if (s, e) in found or not 4 <= len(digits) <= 17 or not text[s:e].replace(" ", "").isdigit():
                    continue
                before = folded[max(0, s - 25):s]
                near_anchor = any(abs(s - ae) <= 80 or abs(as_ - e) <= 80 for as_, ae in anchors)
                if near_anchor and (_ACCT_NUM_CTX.search(before) or any(0 <= s - ae <= 30 for _as, ae in sort_codes)):
                    if len(digits) >= 6 or _ACCT_NUM_CTX.search(before):
                        found[(s, e)] = 0.85
        return [self._res("IBAN_CODE", s, e, sc) for (s, e), sc in found.items()]


#: any word of the cues above, for a quick "is there a cue at all" check
_ANY_CUE = re.compile(
    r"\b(?:bank|account|acct|konto|kontonr|cuenta|conta|compte|conto|rekening|bankrekening|rachun|"
    r"numer|clearingnummer|bankgiro|plusgiro|tilinumero|hesap|clabe|routing|aba|rtn|transit|sort|"
    r"s/c|c/c|checking|savings|a/c)"
)


_ACCOUNT_WORD = re.compile(r"\b(?:account|acct|checking|savings)\b")
_ACCOUNT_AFTER = re.compile(r"[ \t,;]*(?:(?:account|acct|acc|a/c)(?:[ \t]+(?:number|no|nr))?\.?[ \t:#]*)?\d{8}(?![\w])", re.I)


def _account_after(text: str, e: int) -> bool:
    return _ACCOUNT_AFTER.match(text, e) is not None and _ACCOUNT_AFTER.match(text, e).end() - e <= 30


def _near(folded: str, s: int, e: int, pattern, window: int) -> bool:
    return pattern.search(folded, max(0, s - window), min(len(folded), e + window)) is not None


def _groups_ok(value: str, loose: bool = False) -> bool:
    """Digit groups as account numbers are written: one block or groups of 2-6 (looser after an
    explicit cue: up to 12, "0049 1500 05 1234567890")."""
    groups = re.split(r"[ -]", value)
    if len(groups) == 1:
        return True
    top = 12 if loose else 6
    return all(1 <= len(g) <= top for g in groups) and len(groups) <= 8
