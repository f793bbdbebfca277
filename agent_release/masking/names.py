"""The multilingual person-name recognizer: cue phrases (self-introduction, addressing,
titles, greetings, signatures) and the name gazetteer (:mod:`agent_release.masking.gazetteer`).

Split out of :mod:`agent_release.masking.recognizers` (same base class and scoring conventions).
"""

from __future__ import annotations

import regex as re
from presidio_analyzer import RecognizerResult

from agent_release.masking.gazetteer import CUES, LONE_NOT_NAMES, PARTICLES, TITLES, gazetteer
from agent_release.masking.recognizers import _Base
from agent_release.masking.textutil import fold, fold_word


#: a word of a name; abbreviated compound first names ("Klaus-D.", "H.-Dieter") included
_WORD = re.compile(r"\p{Lu}\.-\p{Lu}[\p{L}\p{M}]+|\p{Lu}[\p{L}\p{M}]+-\p{Lu}\.|\p{L}[\p{L}\p{M}'’\-]*")


def _cues(kind: str, langs=None) -> list[str]:
    return [c for lang, kinds in CUES.items() if langs is None or lang in langs for c in kinds.get(kind, ())]


#: "my name is" / "il mio nome è" / "mitt namn är" ...: an optional copula after a strong cue
_COPULA = r"(?:[ \t]+(?:is|es|est|ist|e|é|è|era|was|sera|será|är|ar|er))?"


def _cue_regex(cues, *, trailing: str) -> object:
    alts = "|".join(re.escape(fold(c)) for c in sorted(set(cues), key=len, reverse=True))
    return re.compile(rf"(?<![\w])(?:{alts}){trailing}")


_STRONG_TRAIL = _COPULA + r"(?![\w])[ \t]*[:,\-]?[ \t]*"
_WEAK_TRAIL = r"(?![\w])[ \t]*[,:]?[ \t]*"
_STRONG_RE = _cue_regex(_cues("strong"), trailing=_STRONG_TRAIL)
# closings are weak cues too: "Cordiali saluti, Marco Rossi" on one line
_WEAK_RE = _cue_regex(_cues("weak") + _cues("signature"), trailing=_WEAK_TRAIL)
_SIGN_RE = _cue_regex(_cues("signature"), trailing=r"[ \t]*[,.!]?[ \t]*\r?\n[ \t]*")
#: formal closings with the name after a comma on the same line ("mvg, Kees de Boer"): a
#: signature too, so an unknown name counts when it ends the line; not the thanks that also
#: open sentences ("Thanks, Great Service!")
_THANKS = {fold(c) for c in (
    "thanks", "thank you", "cheers", "best", "yours", "gracias", "muchas gracias", "merci", "danke",
    "obrigado", "obrigada", "grazie", "grazie mille", "bedankt", "alvast bedankt", "tack", "takk",
    "tak", "kiitos", "dziękuję", "dziekuje", "dzięki", "dzieki", "teşekkürler", "tesekkurler",
)}
_SIGN_INLINE_RE = _cue_regex([c for c in _cues("signature") if fold(c) not in _THANKS],
                             trailing=r"[ \t]*,[ \t]*")
_DASH_SIGN_RE = re.compile(r"(?:^|\n)[ \t]*(?:--|—|–|-|~)[ \t]*")

#: openings of greeting / thanks sentences, folded prefixes of their first word ("buongirono"
#: and "zusamen" typos included: a prefix is enough): "Tak for din besked, Per.", "Hallo
#: zusammen Türkan,", "Dziękujemy za wiadomość, Grzegorz."
_GREET_STEMS = tuple(sorted({fold(w) for w in """
thank thx hi hello hey hiya dear good morning greetings gracias hola buen buenas estimad querid
merci bonjour bonsoir salut cher chere danke dank hallo liebe lieber sehr guten moin servus obrigad
ola oi bom boa prezad grazie ciao salve buon gentil egregi bedankt hoi goede beste geachte dzięk
dziek witam cześć czesc dzień dzien dobry dobri szanown tack hej hallå halla tak kære kaere takk hei kjære
kiitos moi terve hyvää hyvaa huomenta merhaba selam teşekkür tesekkur iyi sayın sayin değerli
degerli sevgili günaydın gunaydin
""".split()} | {"que tal", "qual e", "qual é"}, key=len, reverse=True))
_GREET_START = re.compile(
    r"(?:^|(?<=[.!?]))[ \t>]*(?:" + "|".join(re.escape(s) for s in _GREET_STEMS) + r")[\p{L}\p{M}'’]*(?![\w])",
    re.MULTILINE,
)
#: a capitalised word ending a greeting sentence: after a comma before the sentence's end, or
#: ending a short greeting line before a comma ("Hallo zusammen Türkan,")
_GREET_NAME = re.compile(
    r"(?P<lead>,[ \t]*|[ \t]+)(?P<name>\p{Lu}[\p{Ll}\p{M}]+(?:-\p{Lu}[\p{Ll}\p{M}]+)?)"
    r"(?:[ \t]+(?P<hon>Hanım|Hanim|Bey|Beyefendi|Hanımefendi))?"
    r"(?P<end>[ \t]*(?:[.!?]+|,[ \t]*(?=\n|$)|,|(?=\n|$)))"
)
#: Turkish honorifics written after the name ("Ayşe Hanım", "Mehmet Bey")
_TR_HONORIFICS = frozenset({"hanim", "bey", "beyefendi", "hanimefendi"})
#: a line that is one name, maybe after a dash or slash ("/Anna", "-- Jan", "Maria")
_NAME_LINE = re.compile(
    r"^(?P<pre>[ \t]*(?:(?:--|—|–|-|~|/)[ \t]*)?)(?P<name>\p{Lu}[\p{Ll}\p{M}]+(?:-\p{Lu}[\p{Ll}\p{M}]+)?)"
    r"[ \t]*[.,!]?[ \t]*$",
    re.MULTILINE,
)
#: closings that _SIGN_RE lacks: abbreviations, "sent from my phone" lines in many languages
_CLOSING_LINE = re.compile(
    r"^[ \t]*(?:mfg|lg|vg|mvh|mvg|pozdr|pozdrawiam|saludos|best|cheers|regards|br|thx|thanks|"
    r"groetjes|groet|gr|hilsen|hilsner|terveisin|saygılar|saygilar|cordialmente|cordialement|"
    r"atenciosamente|abraços|saluti|ciao)\b.*$"
    r"|^.*\b(?:iphone|ipad|android|phone|telefon|mobil|mobile|móvil|movil|celular|smartphone|"
    r"galaxy|gönderildi|gonderildi|lähetetty)\S*[ \t]*$",
    re.MULTILINE | re.IGNORECASE,
)

#: honorifics: every language's, plus the bare words of :data:`TITLES`; "m." (French) is special
#: (not after a word, a dot or a slash: "5 m." is a length)
_TITLE_WORDS = sorted(
    ({fold(t) for t in _cues("title")} | {fold(t) for t in TITLES if t != "m"}) - {"m."},
    key=len, reverse=True,
)
_TITLE_RE = re.compile(
    r"(?<![\w])(?:"
    # an abbreviation may take a dot ("Sr. Pérez", "Dhr Jansen"), a word may not ("Monsieur. Excusez-moi")
    + "|".join(re.escape(t) if t.endswith(".") else re.escape(t) + (r"(?![\w])\.?" if len(t) <= 4 else r"(?![\w])")
               for t in _TITLE_WORDS)
    + r")[ \t]+"
    + r"|(?<![\w\-./])m\.[ \t]+"
)
#: titles also written in lower case before a capitalised name, mid-sentence ("il signor Rossi",
#: "de heer Jansen", "rozmawiałem z pan Nowak"); other titles only count capitalised ("Sr." but
#: not "sr", "Dr." but not "dr")
_LOWER_TITLES = frozenset(fold(t) for t in (
    "de heer", "heer", "meneer", "mevrouw", "pan", "pani", "panie", "pana", "panu", "signor", "signora",
    "signorina", "sig.", "sig.ra", "sig.na", "señor", "señora", "senhor", "senhora", "monsieur", "madame",
    "herr", "frau", "fru", "herra", "rouva",
))

_PARTICLE_ALT = "|".join(sorted(PARTICLES, key=len, reverse=True))
_CAPW = (
    r"(?:\p{Lu}\.-\p{Lu}[\p{Ll}\p{M}]+|\p{Lu}[\p{Ll}\p{M}]+-\p{Lu}\.|\p{Lu}['’]\p{Lu}[\p{Ll}\p{M}]+|"
    r"\p{Lu}[\p{Ll}\p{M}'’]+(?:-\p{Lu}?[\p{Ll}\p{M}'’]+)*)(?![\w@]|\.\w)"
)
#: runs of capitalised words, up to three lower-case particles between them ("Pieter van der Berg")
_CAP_RUN = re.compile(
    rf"(?<![\w])(?:{_CAPW})(?:(?:[ \t]+(?:{_PARTICLE_ALT})){{0,3}}[ \t]+(?:{_CAPW}))+"
    + r"|(?<![\w])\p{Lu}{2,}(?:[ \t]+\p{Lu}{2,})+(?![\w])"
)
_LOWW = r"\p{Ll}[\p{Ll}\p{M}'’\-]+(?![\w@]|\.\w)"  # a whole word, not the start of "gloria_s1980@..."
_LOWER_RUN = re.compile(
    rf"(?<![\w.@])(?:{_LOWW})(?:(?:[ \t]+(?:{_PARTICLE_ALT})){{0,3}}[ \t]+(?:{_LOWW}))+"
)

#: per language: its self-introduction / addressing cues (strong and weak), for trimming a cue
#: word that a name span swallowed ("Ben Ayşe Demir" in Turkish, "Sono Marco Rossi" in Italian)
_LEAD_CUE_RE = {
    lang: _cue_regex(_cues("strong", (lang,)), trailing=_STRONG_TRAIL).pattern
    + "|" + _cue_regex(_cues("weak", (lang,)), trailing=_WEAK_TRAIL).pattern
    for lang in CUES
}
_LEAD_CUE_COMPILED: dict[tuple[str, ...], object] = {}


def trim_leading_cue(text: str, start: int, end: int, languages: tuple[str, ...]) -> int:
    """``start`` moved past cue phrases of ``languages`` that open the name span
    ``text[start:end]``, as long as a word remains: in a Turkish or Dutch conversation "Ben Ayşe
    Demir" is "I (am) Ayşe Demir", in Italian "Sono Marco Rossi" is "I am Marco Rossi". Only the
    conversation's languages are used: in English "Ben Smith" is a name."""
    rx = _LEAD_CUE_COMPILED.get(languages)
    if rx is None:
        pats = [_LEAD_CUE_RE[lang] for lang in languages if lang in _LEAD_CUE_RE]
        if not pats:
            return start
        rx = _LEAD_CUE_COMPILED[languages] = re.compile("|".join(f"(?:{p})" for p in pats))
    folded = fold(text[:end])
    for _ in range(3):
        m = rx.match(folded, start)
        if not m or m.end() >= end or m.end() == start or not _WORD.match(text, m.end()):
            break
        start = m.end()
    return start


def _strip_possessive(word: str) -> str:
    for suf in ("'s", "’s"):
        if word.endswith(suf):
            return word[: -len(suf)]
    return word.rstrip("'’-")


class NameRecognizer(_Base):
    """Person names in any language with cues (:data:`~agent_release.masking.gazetteer.CUES`:
    en, es, fr, de, pt, it, nl, pl, sv, da, nb, fi, tr — all of them on every text, whatever the
    conversation's locale), where English NER misses them.

    - after a strong cue ("my name is", "me llamo", "mi chiamo", "mijn naam is", "nazywam się",
      "jag heter", "benim adım", "a nombre de", "titular de la cuenta es"...): up to 4
      capitalised words, or gazetteer words in any case (``"mi chiamo giulia bianchi"``) — 0.9;
    - after a title (Mr, Sra., Mme, Herr, Sig.ra, dhr., pan, fru...): capitalised words — 0.9;
    - after a weak cue (greeting, thanks, closing, "soy", "sono", "ik ben", "jestem", "jag är",
      "ben"...): words whose first is in the first-name gazetteer — 0.85; lower-case too
      ("sono marco rossi", "ik ben jan de vries"), where an ambiguous first name ("marco" is
      Portuguese for March, "jan" a month abbreviation) needs an unambiguous surname after it;
    - a signature line after a closing ("Saludos,\\nLucía Pérez", "Pozdrawiam,\\nJan Nowak",
      "— Jean Dupont") — 0.85;
    - anywhere: a first name from the gazetteer followed by more gazetteer names, particles
      allowed between them ("Lucía Pérez García", "Pieter van der Berg", "PEDRO GARCÍA") — 0.8;
      all lower-case ("lucía pérez") — 0.7, only with unambiguous names of the supported
      locales' own name lists (:attr:`Gazetteer.supported`).

    - a first name alone ending a greeting / thanks sentence ("Tak for din besked, Per.",
      "Hallo zusammen Türkan,", "Merhaba Ayşe Hanım,": a Turkish honorific after it joins the
      span) or alone on a line under a closing ("MfG\\nGert", "Sent from my phone\\nHeather"),
      after a dash or slash ("/Anna", "-- Jan"), or ending a message — 0.85; never a place,
      brand or product (:data:`~agent_release.masking.gazetteer.LONE_NOT_NAMES`), and on a
      message's last line only a first name of a supported locale or of the conversation's
      own language (:meth:`Gazetteer.is_own_first`: Danish "Per" is no English "per").

    Verbs and pronouns of self-introductions ("ben", "sono", "jestem") are stop words: never a
    name on their own, never part of a lower-case name. A capitalised one that opens a span in a
    conversation of that language is trimmed by the masker (:func:`trim_leading_cue`).
    """

    #: A type of its own so Presidio's de-duplication never drops these in favour of a spaCy
    #: PERSON span that the masker later rejects; mapped to PERSON by the masker.
    ENTITIES = ("PERSON_NAME",)

    def __init__(self, name: str | None = None, language: str | None = None):
        """``language``: judge ambiguity by that cue language's stop lists only
        (:meth:`Gazetteer.for_language`); the masker runs one such instance per conversation
        language beside the registered, language-blind one (whose findings it only adds to)."""
        super().__init__(name=name or (f"NameRecognizer[{language}]" if language else None))
        self.gaz = gazetteer() if language is None else gazetteer().for_language(language)
        self.language = language

    def _accept(self, w: str, *, first_word: bool, mode: str) -> bool:
        """Whether ``w`` continues (or, ``first_word``, starts) a name after a cue of ``mode``.

        Capitalisation is evidence: a capitalised word after a strong cue or a title is a name
        unless it is a stop word that no name list has. Without it (lower case, SHOUTING) only
        names of narrower lists count: the cue languages' own lists after a strong cue, the
        supported locales' lists after a weak cue ("it's valid", "oi, cadê": "Valid" and "Cade"
        are in some Faker list, not in a list of a conversation locale).
        """
        g = self.gaz
        shouting = len(w) > 1 and w.isupper()
        title = w[0].isupper() and not shouting
        stop = fold_word(w) in g.stop
        if first_word and mode == "weak":
            if title:  # "Hi Ben" (Dutch "ben" is a stop word), not "with Royal Mail"
                return g.is_first(w) and (not stop or g.supported.is_first(w))
            return g.supported.is_strict_first(w)
        if title:
            return not stop or g.is_first(w) or g.is_last(w)
        if shouting:  # SHOUTING is no evidence by itself: only a conversation locale's names,
            # a stop word only as a first name of one ("CALL ME BACK", but "MY NAME IS BEN")
            sup = g.supported
            return sup.is_first(w) or (sup.is_last(w) and not stop)
        narrow = g.core if mode in ("strong", "title", "signature") else g.supported
        return (narrow.is_first(w) or narrow.is_last(w)) and not stop

    def _surname_follows(self, text: str, pos: int) -> bool:
        """Whether an unambiguous surname follows ``pos`` (after a space and any particles), in
        the same case style as the word before: "marco| rossi", "jan| de vries"."""
        i, n = pos, len(text)
        for _ in range(4):
            if i >= n or text[i] not in " \t":
                return False
            m = _WORD.match(text, i + 1)
            if not m:
                return False
            w = m.group()
            if fold_word(w) in PARTICLES and w.islower():
                i = m.end()
                continue
            return w.islower() and self.gaz.core.is_strict_last(_strip_possessive(w))
        return False

    def _words_from(self, text: str, pos: int, *, mode: str) -> tuple[int, int] | None:
        """Collect up to 4 name words starting at ``pos``."""
        words: list[tuple[int, int]] = []
        lead: int | None = None  # where leading particles after a title start ("Mevr. de Groot")
        i, n = pos, len(text)
        while len(words) < 4:
            m = _WORD.match(text, i)
            if not m:
                break
            w = _strip_possessive(m.group())
            if not w:
                break
            ws, we = m.start(), m.start() + len(w)
            if (mode == "title" and not words and w.islower() and fold_word(w) in PARTICLES
                    and we == m.end() and text[we:we + 1] == " " and (lead is None or ws - lead < 12)):
                lead = ws if lead is None else lead
                i = we + 1
                continue
            if fold_word(w) in PARTICLES and words:
                i = m.end()
                if i < n and text[i] in " \t":
                    i += 1
                    continue
                break
            if (mode == "strong" and words and w.islower() and len(words) == 1 and w.isalpha()
                    and fold_word(w) not in self.gaz.stop):
                # "mi chiamo chiara colombo": after a strong cue and a first name, a lower-case
                # word that no stop list knows is the surname, gazetteer or not
                words.append((ws, we))
                break
            if not self._accept(w, first_word=not words, mode=mode):
                # an ambiguous lower-case first name right before a surname ("sono marco rossi":
                # "marco" is Portuguese for March), never a function word ("for the carrier")
                g = self.gaz.core
                # "mit navn er per andersen": Danish "per" is a function word in English only
                own = bool(self.language) and self.gaz.is_own_first(w, self.language)
                if not (not words and mode in ("weak", "strong") and w.islower() and g.is_first(w)
                        and (not g.is_function(w) or own) and we == m.end() and self._surname_follows(text, we)):
                    break
            words.append((ws, we))
            i = we
            if we != m.end():  # possessive stripped: the name ends here
                break
            if i + 1 < n and text[i] in " \t" and text[i + 1] not in " \t":
                i += 1
                continue
            break
        if not words:
            return None
        return (words[0][0] if lead is None else lead), words[-1][1]

    def analyze(self, text, entities, nlp_artifacts=None):
        if not any(c.isalpha() for c in text):
            return []
        folded = fold(text)
        results: list[RecognizerResult] = []
        for regex_, mode, score in (
            (_STRONG_RE, "strong", 0.9), (_TITLE_RE, "title", 0.9), (_WEAK_RE, "weak", 0.85),
            (_SIGN_RE, "signature", 0.85), (_SIGN_INLINE_RE, "signature", 0.85),
            (_DASH_SIGN_RE, "signature", 0.85),
        ):
            for m in regex_.finditer(folded):
                if mode == "title" and not text[m.start()].isupper():
                    # titles are written capitalised ("Sr. Pérez"; "sr" alone is not one), except
                    # those also written in lower case before a capitalised name ("il signor Rossi")
                    if folded[m.start():m.end()].strip(" \t") not in _LOWER_TITLES or not text[m.end():m.end() + 1].isupper():
                        continue
                span = self._words_from(text, m.end(), mode=mode)
                if not span:
                    continue
                if mode in ("signature", "weak") and fold_word(text[span[0]:span[1]]) in LONE_NOT_NAMES:
                    continue  # "Grüße\nDell", "Thanks Orange": a brand or place alone
                if mode == "signature" and not self.gaz.is_name(text[span[0]:span[1]].split()[0]):
                    # an unknown word after a closing is a name only if it is the whole line
                    rest = text[span[1]:].split("\n", 1)[0]
                    if rest.strip(" \t.,!"):
                        continue
                results.append(self._res("PERSON_NAME", span[0], span[1], score))
        results.extend(self._greeting_names(text))
        results.extend(self._signature_lines(text))
        for m in _CAP_RUN.finditer(text):
            results.extend(self._gazetteer_run(m.start(), m.group(), lower=False))
        for m in _LOWER_RUN.finditer(text):
            results.extend(self._gazetteer_run(m.start(), m.group(), lower=True))
        return results

    def _gazetteer_run(self, base: int, run: str, *, lower: bool) -> list[RecognizerResult]:
        """First name + further gazetteer names inside a run of same-case words.

        Accepted when the first word is a first name, at least one more word is a name, some
        later word is an unambiguous name, and an ambiguous first word ("Julio", "Ella") is
        followed directly by an unambiguous surname. Lower-case runs (no cue and no capital says
        this is a name) accept only names of the supported locales' lists
        (:attr:`Gazetteer.supported`), no ambiguous first name and no common word ("for the
        carrier", "link para").
        """
        g = self.gaz.supported if lower else self.gaz
        toks = [(base + t.start(), base + t.end(), t.group()) for t in _WORD.finditer(run)]
        out = []
        i = 0
        while i < len(toks):
            w = toks[i][2]
            if not g.is_first(w) or (lower and not g.is_strict_first(w) and not (
                    # a common word that is also a first name, right before a clear surname
                    g.is_common(w) and i + 1 < len(toks) and g.is_strict_last(toks[i + 1][2]))) or (
                    g.is_function(w) and not self.gaz.supported.is_first(w)):
                # a function word opens a name only if a conversation locale's list has it:
                # "Ben Carter", not "The Vela" ("The" is a Vietnamese name)
                i += 1
                continue
            names = [i]
            j = i + 1
            while j < len(toks):
                wj = toks[j][2]
                if fold_word(wj) in PARTICLES and j + 1 < len(toks):
                    j += 1
                    continue
                if g.is_strict_name(wj) if lower else g.is_name(wj):
                    names.append(j)
                    j += 1
                    continue
                if (lower and g.is_name(wj) and not g.is_function(wj) and j + 1 < len(toks)
                        and g.is_strict_name(toks[j + 1][2])):
                    names.append(j)  # "luiz otávio dias melo": an ambiguous word between names
                    j += 1
                    continue
                break
            later = [toks[k][2] for k in names[1:]]
            ok = bool(later) and any(g.is_strict_name(x) for x in later)
            if not ok and g.is_strict_first(w):
                nxt = names[1] if len(names) > 1 else (j if lower and j < len(toks) else None)
                if nxt is not None and g.is_last(toks[nxt][2]) and not (lower and g.is_function(toks[nxt][2])):
                    # "lewis ali", "Lindsay Ho": an ambiguous surname right after a clear first name
                    names = names[:1] + [nxt]
                    later = [toks[nxt][2]]
                    ok = True
            if ok and not g.is_strict_first(w):
                # an ambiguous first name needs an unambiguous surname right after it, or two
                # more names, if it is a first name of a conversation locale ("Hans Jürgen
                # Fischer": "hans" is Swedish for "his")
                ok = g.is_strict_last(later[0]) or (
                    not lower and len(later) >= 2 and self.gaz.supported.is_first(w))
            if ok:
                out.append(self._res("PERSON_NAME", toks[i][0], toks[names[-1]][1], 0.7 if lower else 0.8))
                i = names[-1] + 1
            else:
                i += 1
        return out

    def _lone_first(self, w: str) -> bool:
        """A single capitalised word that is a first name here: a gazetteer first name no stop
        list of the conversation's language has, or one of that language's own first names
        that no word of the language itself is (Danish "Per", not English "per")."""
        g = self.gaz
        if w.isupper() or any(p in LONE_NOT_NAMES for p in fold_word(w).split("-")):
            return False
        if fold_word(w) in g.function and not (self.language and g.is_own_first(w, self.language)):
            return False
        if g.is_first(w) and not g.is_stop(w):
            return True
        return bool(self.language) and g.is_own_first(w, self.language)

    def _greeting_names(self, text: str) -> list[RecognizerResult]:
        """A first name alone ending a greeting / thanks sentence ("Tak for din besked, Per.",
        "Grazie, Luca!", "Hallo zusammen Türkan,", "Merhaba Ayşe Hanım,"), quoted lines too."""
        out = []
        folded = fold(text)
        for m in _GREET_START.finditer(folded):
            end = m.end()
            stop = len(text)
            for ch in ".!?\n":
                k = text.find(ch, end)
                if k != -1:
                    stop = min(stop, k + 1)
            seg_end = min(stop + 1, len(text))
            for n in _GREET_NAME.finditer(text, end, seg_end):
                name = n.group("name")
                if n.start() > stop:
                    break
                if not text[:n.start("name")].rstrip(" \t").endswith(","):
                    # no comma before it: a short greeting line ending with a comma or the line
                    words = text[m.start():n.start("name")].split()
                    tail = n.group("end")
                    if len(words) > 4 or not (tail.strip(" \t").startswith(",") or n.end() >= len(text)
                                              or text[n.end():n.end() + 1] == "\n"):
                        continue
                if not self._lone_first(name):
                    continue
                e = n.end("hon") if n.group("hon") else n.end("name")
                out.append(self._res("PERSON_NAME", n.start("name"), e, 0.85))
                break
        return out

    def _signature_lines(self, text: str) -> list[RecognizerResult]:
        """A first name alone on its line under a closing ("MfG\\nGert", "Sent from my
        phone\\nHeather", "Saaludos,\\nMaximiliano"), or ending its block ("/Anna", "-- Jan",
        the last line of a message): a first name of the conversation's own language there."""
        out = []
        for m in _NAME_LINE.finditer(text):
            name = m.group("name")
            ls = m.start()
            prev_end = ls - 1
            prev = text[:max(prev_end, 0)].rsplit("\n", 1)[-1] if ls > 0 else ""
            nxt = text[m.end() + 1:].split("\n", 1)[0] if m.end() < len(text) else ""
            block_end = m.end() >= len(text.rstrip()) or not nxt.strip() or nxt.lstrip().startswith(">")
            closing = bool(prev.strip()) and (
                bool(_CLOSING_LINE.match(prev)) or prev.rstrip().endswith(",")
                or bool(_SIGN_RE.search(fold(prev) + "\n")))
            if closing and self._lone_first(name):
                pass
            elif block_end and m.group("pre").strip() and self._lone_first(name):
                pass
            elif block_end and self._lone_first(name) and (
                    self.gaz.supported.is_first(name) or self.language and self.gaz.is_own_first(name, self.language)):
                pass
            else:
                continue
            out.append(self._res("PERSON_NAME", m.start("name"), m.end("name"), 0.85))
        return out
