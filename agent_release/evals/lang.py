"""A small, dependency-free language identifier for en / es / fr / de / pt.

Good enough to answer "did the agent answer in the user's language?" for support replies (one to a
few sentences). Method: count tokens that are frequent function words ("stopwords") of each
language, plus a few orthographic cues (ñ ¿ ¡ → es, ã õ → pt, ß → de, œ and elided ``l'``/``d'``
→ fr). Words shared by two languages (``de``, ``que``, ``a``…) count for both and so cancel out;
the distinctive ones decide. Returns ``"und"`` when there is not enough evidence.

``detect_language("¿Dónde está mi pedido?") == "es"``
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

LANGS = ("en", "es", "fr", "de", "pt")

_STOP: dict[str, frozenset[str]] = {
    "en": frozenset("""
        the and to of a an is are was were be been i you your yours we our it its this that these those
        for with on in at by from have has had do does did not no can could will would should shall may
        might my me he she they them their there here what when where which who why how if or but so
        please thanks thank hello hi sorry order refund help am just about into than then also very
        any some all more only out up get got let us yes ok okay it's i'm that's don't can't won't
        i've you're we're there's let's again good noted
    """.split()),
    "es": frozenset("""
        el la los las y un una unos unas es son está están estoy fue ser de del al en con por para que qué
        mi mis tu tus su sus usted ustedes yo nosotros no sí si pero como cómo cuando cuándo donde dónde
        muy más gracias hola favor por lo le les se me te nos este esta estos estas ese esa eso hay
        pedido reembolso ayuda puedo puede quiero necesito tengo tiene hace hasta desde sin sobre también
        ya todo todos nada algo días usted otra otro vez aquí ahora entonces bien eso cosa alguna
        algún hemos has queda
    """.split()),
    "fr": frozenset("""
        le la les un une des et est sont être été de du au aux en dans avec pour par sur que qui quoi
        je tu il elle nous vous ils elles mon ma mes ton ta tes son sa ses votre vos notre nos ne pas
        plus oui non mais ou où comment quand merci bonjour bonsoir ce cette ces cet avez avons ai a
        suis êtes peux pouvez veux voulez commande remboursement aide très aussi tout tous rien jours
        c'est j'ai d'un d'une qu'il s'il y leur leurs ça cela ici encore déjà
    """.split()),
    "de": frozenset("""
        der die das den dem des ein eine einen einem einer und ist sind war waren sein bin bist sind
        zu von mit für auf aus bei nach über unter ich du er sie es wir ihr mein meine meinen dein
        ihre ihren ihr unser nicht kein keine ja nein aber oder wie wo wann warum was wer bitte danke
        hallo guten tag können kann könnte möchte habe haben hat wird werden bestellung rückerstattung
        hilfe sehr auch noch schon nur mir mich dich uns euch im am zum zur tage wie gesagt noch einmal
        notiert erledigt
    """.split()),
    "pt": frozenset("""
        o a os as um uma uns umas e é são está estão estou foi ser de do da dos das no na nos nas em com
        por para que eu você vocês meu minha meus minhas seu sua seus suas não sim mas como quando onde
        muito mais obrigado obrigada olá oi favor pelo pela isso isto esse essa este esta há
        pedido reembolso ajuda posso pode quero preciso tenho tem faz até desde sem sobre também
        já tudo todos nada algo dias ao aos por vou vai ele ela nós então aqui agora alguma algum
        coisa pra pro perfeito resolvido anotado
    """.split()),
}

#: Orthographic cues: each occurrence adds this weight to the language.
_CHAR_CUES: dict[str, tuple[tuple[str, float], ...]] = {
    "es": (("ñ", 1.5), ("¿", 2.0), ("¡", 2.0)),
    "pt": (("ã", 1.5), ("õ", 1.5), ("ç", 0.5), ("ê", 0.3)),
    "fr": (("œ", 2.0), ("è", 0.7), ("ç", 0.5), ("ê", 0.5), ("à", 0.5), ("ù", 1.0), ("û", 0.7), ("î", 0.7)),
    "de": (("ß", 2.0), ("ä", 1.0), ("ö", 1.0), ("ü", 1.0)),
}
_ELISION = re.compile(r"\b(?:l|d|j|qu|n|s|c|m|t)['’][a-zà-ÿ]", re.IGNORECASE)
_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)


@dataclass(frozen=True)
class LangGuess:
    lang: str  # en / es / fr / de / pt / und
    confidence: float  # share of the evidence that went to the winner (0..1)
    scores: dict[str, float]
    tokens: int


def tokens(text: str) -> list[str]:
    return [t.replace("’", "'") for t in _TOKEN.findall(unicodedata.normalize("NFC", text.lower()))]


def identify(text: str, *, min_evidence: float = 2.0) -> LangGuess:
    """Score every language; the winner needs at least ``min_evidence`` points and a margin."""
    toks = tokens(text or "")
    scores = {lang: 0.0 for lang in LANGS}
    for t in toks:
        for lang in LANGS:
            if t in _STOP[lang]:
                scores[lang] += 1.0
    low = (text or "").lower()
    for lang, cues in _CHAR_CUES.items():
        for ch, w in cues:
            n = low.count(ch)
            if n:
                scores[lang] += w * min(n, 5)
    scores["fr"] += 1.0 * min(len(_ELISION.findall(low)), 5)
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], LANGS.index(kv[0])))
    (best, s1), (_, s2) = ranked[0], ranked[1]
    total = sum(scores.values())
    if s1 < min_evidence or s1 == s2:
        return LangGuess("und", 0.0, scores, len(toks))
    return LangGuess(best, s1 / total if total else 0.0, scores, len(toks))


def detect_language(text: str) -> str:
    """``en`` / ``es`` / ``fr`` / ``de`` / ``pt`` or ``und`` (undetermined)."""
    return identify(text).lang


def locale_language(locale: str) -> str:
    """``es-MX`` → ``es``."""
    return (locale or "").split("-")[0].split("_")[0].lower()


def answered_in_language(text: str, expected: str, *, short_ok_tokens: int = 8) -> bool:
    """True if ``text`` is in ``expected`` (a language or a locale). A very short reply without
    enough evidence either way ("OK.", an order number) is not held against the agent."""
    exp = locale_language(expected)
    g = identify(text)
    if g.lang == exp:
        return True
    if g.lang == "und" and g.tokens < short_ok_tokens:
        return True
    return False
