"""The multilingual person-name recognizer: cue phrases (self-introduction, addressing,
titles, greetings, signatures) and the name gazetteer (:mod:`agent_release.masking.gazetteer`).

Split out of :mod:`agent_release.masking.recognizers` (same base class and scoring conventions).
"""

from __future__ import annotations

import regex as re
from presidio_analyzer import RecognizerResult

from agent_release.masking.gazetteer import PARTICLES, TITLES, gazetteer
from agent_release.masking.recognizers import _Base
from agent_release.masking.textutil import fold, fold_word


#: a word of a name; abbreviated compound first names ("Klaus-D.", "H.-Dieter") included
_WORD = re.compile(r"\p{Lu}\.-\p{Lu}[\p{L}\p{M}]+|\p{Lu}[\p{L}\p{M}]+-\p{Lu}\.|\p{L}[\p{L}\p{M}'’\-]*")
_STRONG_CUES = [
    # en
    "my name is", "my name's", "name is", "the name is", "call me", "i am called", "full name",
    "name:", "name -", "customer name", "account holder", "account holder's name", "cardholder",
    "card holder", "in the name of", "under the name", "under the name of", "it's under",
    "it is under", "signed",
    # es
    "me llamo", "mi nombre es", "mi nombre:", "nombre:", "nombre completo", "a nombre de",
    "titular:", "titular de la cuenta", "titular de la tarjeta", "se llama", "firmado",
    "os escribe", "les escribe", "le escribe", "te escribe",
    # fr
    "je m'appelle", "je m’appelle", "mon nom est", "mon nom:", "nom:", "nom complet",
    "au nom de", "appelez-moi", "titulaire:", "titulaire du compte", "titulaire de la carte",
    # de
    "ich heisse", "ich heiße", "mein name ist", "mein name:", "auf den namen", "auf den namen von",
    "lauft auf", "läuft auf", "lautet auf", "kontoinhaber", "kontoinhaberin", "karteninhaber",
    "vollständiger name", "vollstandiger name",
    # pt
    "meu nome e", "meu nome é", "me chamo", "nome:", "nome completo", "em nome de", "no nome de",
    "titular da conta", "titular do cartao", "titular do cartão",
]
_COPULA = r"(?:[ \t]+(?:is|es|est|ist|e|é|era|was|sera|será))?"
_WEAK_CUES = [
    "i'm", "i’m", "i am", "it's", "this is", "soy", "sou", "je suis", "c'est", "c’est", "ich bin",
    "ici", "hier ist", "hier spricht", "aqui e", "aqui é", "aqui fala", "habla",
    "quien habla", "con", "with", "avec", "mit", "com",
    "hi", "hello", "hey", "hiya", "dear", "hola", "buenos dias", "buenos días", "buenas tardes",
    "buenas noches", "buenas", "estimado", "estimada", "querido", "querida", "bonjour",
    "bonsoir", "salut", "cher", "chère", "chere", "hallo", "guten tag", "guten morgen", "liebe",
    "lieber", "sehr geehrte", "sehr geehrter", "ola", "olá", "oi", "bom dia", "boa tarde",
    "boa noite", "prezado", "prezada", "caro", "cara", "thanks", "thank you", "gracias",
    "muchas gracias", "merci", "danke", "vielen dank", "obrigado", "obrigada", "valeu", "cheers",
    "bye", "adios", "adiós", "au revoir", "tschüss", "tchau", "ciao", "atendido por", "attended by",
    "de parte de", "from", "de la part de", "von", "da parte de", "para", "for", "pour", "für",
    "cliente", "customer", "client", "kunde", "kundin", "perfecto", "perfect", "parfait", "perfeito",
    "genial", "great", "super", "ok", "okay", "claro", "sure", "bien", "certo", "gut",
]
_TITLE_CUES = sorted(
    (TITLES - {"m"}) | {"mr.", "mrs.", "ms.", "dr.", "sr.", "sra.", "srta.", "dra.", "m.", "prof."},
    key=len, reverse=True,
)
_SIGNATURE_CUES = [
    "regards", "best regards", "kind regards", "warm regards", "best", "cheers", "thanks",
    "thank you", "sincerely", "yours sincerely", "yours", "saludos", "un saludo", "saludos cordiales",
    "atentamente", "cordialmente", "gracias", "muchas gracias", "un abrazo", "cordialement",
    "bien cordialement", "bien à vous", "bien a vous", "merci", "bisous", "amitiés",
    "mit freundlichen grüßen", "mit freundlichen grussen", "viele grüße", "viele grusse", "grüße",
    "grusse", "gruß", "gruss", "lg", "beste grüße", "beste grusse", "danke und gruß",
    "danke und gruss", "danke", "atenciosamente", "abraços", "abracos", "obrigado", "obrigada",
    "att", "att.", "at.te",
]


def _cue_regex(cues, *, trailing: str) -> object:
    alts = "|".join(re.escape(fold(c)) for c in sorted(set(cues), key=len, reverse=True))
    return re.compile(rf"(?<![\w])(?:{alts}){trailing}")


_STRONG_RE = _cue_regex(_STRONG_CUES, trailing=_COPULA + r"(?![\w])[ \t]*[:,\-]?[ \t]*")
_WEAK_RE = _cue_regex(_WEAK_CUES, trailing=r"(?![\w])[ \t]*[,:]?[ \t]*")
_TITLE_ABBR = {"mr", "mrs", "ms", "mx", "dr", "dra", "prof", "sr", "sra", "srta", "sñr", "mme", "mlle"}
_TITLE_RE = re.compile(
    r"(?<![\w])(?:"
    + "|".join(re.escape(fold(t)) for t in sorted(_TITLE_ABBR, key=len, reverse=True)) + r")(?![\w])\.?[ \t]+"
    + r"|(?<![\w\-./])m\.[ \t]+"
    + r"|(?<![\w])(?:"
    + "|".join(re.escape(fold(t)) for t in _TITLE_CUES if t.rstrip(".") not in _TITLE_ABBR and t != "m.")
    + r")(?![\w])[ \t]+"
)
_SIGN_RE = _cue_regex(_SIGNATURE_CUES, trailing=r"[ \t]*[,.!]?[ \t]*\r?\n[ \t]*")
_DASH_SIGN_RE = re.compile(r"(?:^|\n)[ \t]*(?:--|—|–|-|~)[ \t]*")
_CAPW = (
    r"(?:\p{Lu}\.-\p{Lu}[\p{Ll}\p{M}]+|\p{Lu}[\p{Ll}\p{M}]+-\p{Lu}\.|"
    r"\p{Lu}[\p{Ll}\p{M}'’]+(?:-\p{Lu}?[\p{Ll}\p{M}'’]+)*)(?![\w@]|\.\w)"
)
_CAP_RUN = re.compile(
    rf"(?<![\w])(?:{_CAPW})(?:[ \t]+(?:(?:de|del|da|do|dos|das|van|von|der|du|la|le|y|e)[ \t]+)?(?:{_CAPW}))+"
    + r"|(?<![\w])\p{Lu}{2,}(?:[ \t]+\p{Lu}{2,})+(?![\w])"
)
_LOWW = r"\p{Ll}[\p{Ll}\p{M}'’\-]+(?![\w@]|\.\w)"  # a whole word, not the start of "gloria_s1980@..."
_LOWER_RUN = re.compile(
    rf"(?<![\w.@])(?:{_LOWW})(?:[ \t]+(?:(?:de|del|da|do|dos|das|van|von|der|du|la|le)[ \t]+)?(?:{_LOWW}))+"
)


def _strip_possessive(word: str) -> str:
    for suf in ("'s", "’s"):
        if word.endswith(suf):
            return word[: -len(suf)]
    return word.rstrip("'’-")


class NameRecognizer(_Base):
    """Names in any of the five languages, where English NER misses them.

    - after a strong cue ("my name is", "me llamo", "je m'appelle", "ich heiße", "meu nome é",
      "a nombre de", "titular de la cuenta es", "hier ist"...): up to 4 capitalised words, or
      gazetteer words in any case (``"me llamo lucía pérez"``) — 0.9;
    - after a title (Mr, Sra., Mme, Herr, Dona...): capitalised words — 0.9;
    - after a weak cue (greeting, thanks, "soy", "I'm", "je suis"...): words whose first is in
      the first-name gazetteer — 0.85;
    - a signature line after a closing ("Saludos,\\nLucía Pérez", "— Jean Dupont") — 0.85;
    - anywhere: a first name from the gazetteer followed by more gazetteer names
      ("Lucía Pérez García", "PEDRO GARCÍA") — 0.8; all lower-case ("lucía pérez") — 0.7,
      and only when neither word is ambiguous (a function word or a month).
    """

    #: A type of its own so Presidio's de-duplication never drops these in favour of a spaCy
    #: PERSON span that the masker later rejects; mapped to PERSON by the masker.
    ENTITIES = ("PERSON_NAME",)

    def __init__(self, name: str | None = None):
        super().__init__(name=name)
        self.gaz = gazetteer()

    def _accept(self, w: str, *, first_word: bool, mode: str) -> bool:
        g = self.gaz
        shouting = len(w) > 1 and w.isupper()
        title = w[0].isupper() and not shouting
        stop = fold_word(w) in g.stop
        is_first, is_last = g.is_first(w), g.is_last(w)
        if first_word and mode == "weak":
            return is_first and (title or shouting or not stop)
        if title:
            return not stop or is_first or is_last
        if shouting:  # SHOUTING is no evidence by itself: only gazetteer names
            return is_first or is_last
        return (is_first or is_last) and not stop

    def _words_from(self, text: str, pos: int, *, mode: str) -> tuple[int, int] | None:
        """Collect up to 4 name words starting at ``pos``."""
        words: list[tuple[int, int]] = []
        i, n = pos, len(text)
        while len(words) < 4:
            m = _WORD.match(text, i)
            if not m:
                break
            w = _strip_possessive(m.group())
            if not w:
                break
            ws, we = m.start(), m.start() + len(w)
            if fold_word(w) in PARTICLES and words:
                i = m.end()
                if i < n and text[i] in " \t":
                    i += 1
                    continue
                break
            if not self._accept(w, first_word=not words, mode=mode):
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
        return words[0][0], words[-1][1]

    def analyze(self, text, entities, nlp_artifacts=None):
        if not any(c.isalpha() for c in text):
            return []
        folded = fold(text)
        results: list[RecognizerResult] = []
        for regex_, mode, score in (
            (_STRONG_RE, "strong", 0.9), (_TITLE_RE, "title", 0.9), (_WEAK_RE, "weak", 0.85),
            (_SIGN_RE, "signature", 0.85), (_DASH_SIGN_RE, "signature", 0.85),
        ):
            for m in regex_.finditer(folded):
                if mode == "title" and not text[m.start()].isupper():
                    continue  # titles are written capitalised ("Sr. Pérez"), "sr" alone is not one
                span = self._words_from(text, m.end(), mode=mode)
                if not span:
                    continue
                if mode == "signature" and not self.gaz.is_name(text[span[0]:span[1]].split()[0]):
                    # an unknown word after a closing is a name only if it is the whole line
                    rest = text[span[1]:].split("\n", 1)[0]
                    if rest.strip(" \t.,!"):
                        continue
                results.append(self._res("PERSON_NAME", span[0], span[1], score))
        for m in _CAP_RUN.finditer(text):
            results.extend(self._gazetteer_run(m.start(), m.group(), lower=False))
        for m in _LOWER_RUN.finditer(text):
            results.extend(self._gazetteer_run(m.start(), m.group(), lower=True))
        return results

    def _gazetteer_run(self, base: int, run: str, *, lower: bool) -> list[RecognizerResult]:
        """First name + further gazetteer names inside a run of same-case words.

        Accepted when the first word is a first name, at least one more word is a name, some
        later word is an unambiguous name, and an ambiguous first word ("Julio", "Ella") is
        followed directly by an unambiguous surname. Lower-case runs accept no ambiguous words.
        """
        g = self.gaz
        toks = [(base + t.start(), base + t.end(), t.group()) for t in _WORD.finditer(run)]
        out = []
        i = 0
        while i < len(toks):
            w = toks[i][2]
            if not g.is_first(w) or (lower and not g.is_strict_first(w)):
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
                if lower and g.is_name(wj) and j + 1 < len(toks) and g.is_strict_name(toks[j + 1][2]):
                    names.append(j)  # "luiz otávio dias melo": an ambiguous word between names
                    j += 1
                    continue
                break
            later = [toks[k][2] for k in names[1:]]
            ok = bool(later) and any(g.is_strict_name(x) for x in later)
            if not ok and g.is_strict_first(w):
                nxt = names[1] if len(names) > 1 else (j if lower and j < len(toks) else None)
                if nxt is not None and g.is_last(toks[nxt][2]):
                    # "lewis ali", "Lindsay Ho": an ambiguous surname right after a clear first name
                    names = names[:1] + [nxt]
                    later = [toks[nxt][2]]
                    ok = True
            if ok and not g.is_strict_first(w):
                ok = g.is_strict_last(later[0])
            if ok:
                out.append(self._res("PERSON_NAME", toks[i][0], toks[names[-1]][1], 0.7 if lower else 0.8))
                i = names[-1] + 1
            else:
                i += 1
        return out
