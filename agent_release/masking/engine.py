"""The masking engine: find PII with Presidio, replace it with consistent fakes, hash user ids.

Heavy imports (Presidio, spaCy, Faker) happen on first use inside :class:`Masker`, never at
import time. Nothing here logs or raises with text content: log lines carry counts, exceptions
carry row/message positions.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import polars as pl
import regex as re

from agent_release import pii
from agent_release.contract import MESSAGE_DTYPE, SCHEMA
from agent_release.masking.presidio_setup import LANGUAGE, SPACY_MODEL
from agent_release.masking.textutil import fold_word, is_supported, language, phone_region
from agent_release.masking.types import (
    MASKED_SPAN_DTYPE,
    TOP_EXTRA_INDEX,
    TYPE_MAP,
    Finding,
    MaskStats,
    Span,
    message_extra_index,
)

logger = logging.getLogger(__name__)

_WORD = re.compile(r"\p{L}[\p{L}\p{M}'’\-]*")
#: what follows a product name: a model number, a code word or an alphanumeric code
#: ("Milo Tab 10", "Orbit Mini, code ZU6765PR", "Atlas Chair Pro 5147-BLU")
_MODEL_NUMBER = re.compile(
    r"(?:[ \t]+\p{Lu}\w*){0,2}(?:[ \t]+\d{1,4}[A-Za-z]?(?![\d\w]|[ \t]*[-./]?[ \t]*\d)"
    r"|[ \t]+\d{1,4}[ \t]+(?=[\w-]*\d)(?=[\w-]*\p{L})[\w-]+"
    r"|[ \t]*[,(]?[ \t]*(?i:code|sku|ref|model|modelo|référence|reference|artikelnr|item)\b"
    r"|[ \t]+(?=[\w-]*\d)(?=[\w-]*\p{L})[\w-]*[\w](?![\w@]))"
)
_SENTENCE_START = re.compile(r"(?:^|[.!?¡¿\n])[\s\"'“«(-]*$")
_CAMEL = re.compile(r"(?<!^(?:Mc|Mac|O'|O’|D'|D’|Di|De|La|Le))(?<=\p{Ll})\p{Lu}")
_OPEN, _CLOSE, _TYPE_BASE = "\ue000", "\ue001", 0xE100
_SENTINELS = re.compile("[\ue000-\ue1ff]")
_SENTINEL_SPAN = re.compile("\ue000([\ue100-\ue1ff])(.*?)\ue001", re.DOTALL)


class MaskingError(RuntimeError):
    """Masking failed; the message says where (row / message), never what the text was."""


def hash_user_id(user_id: str, key: bytes) -> str:
    """Keyed HMAC-SHA256 of a customer id: ``"u_" + 64 hex``. Stable for a key, not reversible
    without it (unlike a plain hash, which anyone can brute-force over the id space)."""
    if isinstance(key, str):
        key = key.encode()
    if not key:
        raise ValueError("hash key must not be empty")
    digest = hmac.new(key, b"user_id\x1f" + str(user_id).encode(), hashlib.sha256).hexdigest()
    return "u_" + digest


def resolve_overlaps(findings: Iterable[Finding], text: str | None = None) -> list[Finding]:
    """Merge overlapping findings of the same type into their union, then, across types, keep
    the higher score (ties: the longer span) and drop whatever overlaps it — except that a name
    or address partly covered by a stronger finding keeps its uncovered part (needs ``text``)."""
    by_type: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        by_type[f.entity_type].append(f)
    merged: list[Finding] = []
    for items in by_type.values():
        items.sort(key=lambda f: (f.start, -f.end))
        cur = items[0]
        for f in items[1:]:
            if f.start < cur.end:
                best = cur if cur.score >= f.score else f
                cur = Finding(
                    cur.start, max(cur.end, f.end), cur.entity_type, best.score, best.recognizer,
                    best.subtype,
                )
            else:
                merged.append(cur)
                cur = f
        merged.append(cur)
    merged.sort(key=lambda f: (-f.score, -(f.end - f.start), f.start))
    chosen: list[Finding] = []
    for f in merged:
        clash = [c for c in chosen if f.overlaps(c.start, c.end)]
        if not clash:
            chosen.append(f)
        elif f.entity_type in _TRIMMABLE:
            # a name or address partly covered by a stronger finding keeps its free part
            rest = _free_part(f, clash, text)
            if rest is not None and not any(rest.overlaps(c.start, c.end) for c in chosen):
                chosen.append(rest)
    chosen.sort()
    return chosen


_TRIMMABLE = (pii.PERSON, pii.STREET_ADDRESS)


def _free_part(f: Finding, clash: list[Finding], text: str | None) -> Finding | None:
    covered = set()
    for c in clash:
        covered.update(range(max(f.start, c.start), min(f.end, c.end)))
    best: tuple[int, int] | None = None
    start = None
    for i in range(f.start, f.end + 1):
        free = i < f.end and i not in covered
        if free and start is None:
            start = i
        elif not free and start is not None:
            if best is None or i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    if best is None or text is None:
        return None
    s, e = best
    while s < e and not text[s].isalnum():
        s += 1
    while e > s and not text[e - 1].isalnum():
        e -= 1
    if e - s < 2:
        return None
    part = text[s:e]
    if f.entity_type == pii.PERSON:
        from agent_release.masking.gazetteer import gazetteer

        if not any(gazetteer().is_strict_name(w) for w in _WORD.findall(part)):
            return None  # "Enviadlo a" left over from "Enviadlo a Urbanización ..."
    elif not any(c.isdigit() for c in part):
        return None
    return Finding(s, e, f.entity_type, f.score, f.recognizer, f.subtype)


class Masker:
    """Finds PII in conversation text and replaces it with consistent, locale-aware fakes.

    ``key`` seeds the fakes and the user-id hash (see :mod:`agent_release.masking.surrogates`):
    maskers with the same key produce identical output everywhere. Presidio and spaCy load on
    first use; a Masker can be created at Dagster definition time for free.
    """

    def __init__(
        self,
        key: bytes,
        *,
        score_threshold: float = 0.5,
        spacy_model: str = SPACY_MODEL,
        batch_size: int = 64,
        chunk_size: int = 2000,
        find_cache_size: int = 0,
    ):
        if isinstance(key, str):
            key = key.encode()
        if not key:
            raise ValueError("masking key must not be empty")
        self._key = key
        self.score_threshold = score_threshold
        self.spacy_model = spacy_model
        self.batch_size = batch_size
        self.chunk_size = chunk_size
        #: findings remembered across :meth:`find_many` calls, per (text, locale); 0 = off.
        #: Exact: findings are a pure function of (text, locale) for a given configuration.
        self.find_cache_size = find_cache_size
        self._find_cache: dict[tuple[str, str], list[Finding]] = {}
        self._analyzer = None
        self._phone: dict[str, object] = {}
        self._names: dict[str, object] = {}
        self._surrogates = None
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, **kwargs) -> Masker:
        from agent_release.config import hmac_key

        return cls(hmac_key(), **kwargs)

    # -- lazy components ----------------------------------------------------------------------
    @property
    def analyzer(self):
        if self._analyzer is None:
            with self._lock:
                if self._analyzer is None:
                    from agent_release.masking.presidio_setup import build_masking_analyzer

                    t0 = time.perf_counter()
                    self._analyzer = build_masking_analyzer(self.spacy_model)
                    logger.info("masking analyzer ready in %.1fs", time.perf_counter() - t0)
        return self._analyzer

    @property
    def surrogates(self):
        if self._surrogates is None:
            from agent_release.masking.surrogates import SurrogateFactory

            self._surrogates = SurrogateFactory(self._key)
        return self._surrogates

    def _name_recognizer(self, locale: str):
        """A name recognizer judging ambiguity by the conversation language's own stop lists
        ("Hans", "Otto", "Ella" are names in German); ``None`` for a language without them (the
        registered, language-blind recognizer covers every text anyway)."""
        from agent_release.masking.gazetteer import gazetteer

        lang = language(locale)
        if lang not in gazetteer().stop_by_language:
            return None
        rec = self._names.get(lang)
        if rec is None:
            from agent_release.masking.names import NameRecognizer

            rec = self._names[lang] = NameRecognizer(language=lang)
        return rec

    def _phone_recognizer(self, locale: str):
        region = phone_region(locale)
        rec = self._phone.get(region)
        if rec is None:
            from agent_release.masking.recognizers import LocalePhoneRecognizer

            rec = self._phone[region] = LocalePhoneRecognizer(region)
        return rec

    # -- finding ------------------------------------------------------------------------------
    def find(self, text: str, locale: str) -> list[Finding]:
        """PII in ``text`` (canonical types, overlaps resolved, score >= threshold)."""
        return self.find_many([text], [locale])[0]

    def find_many(self, texts: Sequence[str], locales: Sequence[str]) -> list[list[Finding]]:
        """:meth:`find` for many texts: each distinct (text, locale) is analysed once, and the
        spaCy pipeline runs in batches (``nlp.pipe``) over distinct texts."""
        if len(texts) != len(locales):
            raise ValueError("texts and locales must have the same length")
        keys = [(t or "", loc or "en-US") for t, loc in zip(texts, locales)]
        cache = self._find_cache if self.find_cache_size > 0 else None
        results: dict[tuple[str, str], list[Finding]] = {}
        locales_by_text: dict[str, list[str]] = defaultdict(list)
        for k in dict.fromkeys(keys):
            if cache is not None:
                hit = cache.get(k)
                if hit is not None:
                    results[k] = hit
                    continue
            if k[0].strip():
                locales_by_text[k[0]].append(k[1])
        new: list[tuple[str, str]] = []
        if locales_by_text:
            analyzer = self.analyzer
            distinct = list(locales_by_text)
            for i in range(0, len(distinct), self.chunk_size):
                chunk = distinct[i: i + self.chunk_size]
                batch = analyzer.nlp_engine.process_batch(chunk, language=LANGUAGE, batch_size=self.batch_size)
                for text, artifacts in batch:
                    for loc in locales_by_text[text]:
                        ad_hoc = [self._phone_recognizer(loc), self._name_recognizer(loc)]
                        try:
                            raw = analyzer.analyze(
                                text=text, language=LANGUAGE, nlp_artifacts=artifacts,
                                ad_hoc_recognizers=[r for r in ad_hoc if r is not None], score_threshold=0.0,
                            )
                        except Exception as exc:  # never let a text-bearing message escape
                            raise MaskingError(
                                f"PII analysis failed ({type(exc).__name__}) on a text of {len(text)} characters"
                            ) from None
                        results[(text, loc)] = self._postprocess(text, loc, raw)
                        new.append((text, loc))
        if cache is not None and new:
            if len(cache) + len(new) > self.find_cache_size:
                cache.clear()
            for k in new[: self.find_cache_size]:
                cache[k] = results[k]
        return [results.get(k, []) for k in keys]

    def _postprocess(self, text: str, locale: str, raw) -> list[Finding]:
        out = []
        for r in raw:
            canon = TYPE_MAP.get(r.entity_type)
            if canon is None or r.score < self.score_threshold:
                continue
            name = (r.recognition_metadata or {}).get("recognizer_name", "")
            start, end = r.start, r.end
            if canon == pii.PERSON and name == "SpacyRecognizer":
                refined = _refine_ner_person(text, start, end, locale)
                if refined is None:
                    continue
                start, end = refined
            elif canon == pii.PERSON:
                if name.startswith("NameRecognizer[") and _MODEL_NUMBER.match(text, end):
                    continue  # the language's own looser judgement, before a model number: "Milo Tab 10"
                start = _extend_back_over_first_name(text, start)
            if canon == pii.PERSON:
                from agent_release.masking.names import trim_leading_cue

                start = trim_leading_cue(text, start, end, _cue_languages(locale))
            subtype = r.entity_type if canon == pii.NATIONAL_ID else None
            out.append(Finding(start, end, canon, float(r.score), name, subtype))
        return resolve_overlaps(out, text)

    # -- masking ------------------------------------------------------------------------------
    def mask_text(self, text: str, locale: str) -> tuple[str, list[Span]]:
        """``text`` with every finding replaced by its fake, and where the fakes are."""
        return self._apply(text, self.find(text, locale), locale)

    def _apply(self, text: str, findings: list[Finding], locale: str) -> tuple[str, list[Span]]:
        if not findings:
            return text, []
        sur = self.surrogates
        pieces: list[str] = []
        spans: list[Span] = []
        pos = 0
        out_len = 0
        for f in findings:
            pieces.append(text[pos:f.start])
            out_len += f.start - pos
            try:
                fake = sur.fake(f.entity_type, text[f.start:f.end], locale, f.subtype)
            except Exception as exc:  # never let a text-bearing message escape
                raise MaskingError(
                    f"could not fake a {f.entity_type} ({type(exc).__name__}) for locale {locale!r}"
                ) from None
            spans.append(Span(out_len, out_len + len(fake), f.entity_type))
            pieces.append(fake)
            out_len += len(fake)
            pos = f.end
        pieces.append(text[pos:])
        return "".join(pieces), spans

    def mask_frame(self, df: pl.DataFrame) -> tuple[pl.DataFrame, MaskStats]:
        """Mask a conversation table in the contract schema.

        Returns the same columns with message contents, ``error`` strings and every string in
        ``extra_json`` (conversation and message level) masked, ``user_id`` hashed, plus
        ``masked_spans`` (see :data:`agent_release.masking.types.MASKED_SPAN_DTYPE`) for the
        contents and extras (``error`` strings are masked but carry no spans). Identical texts are
        analysed once per call. JSON numbers in extras are left as they are.
        """
        t0 = time.perf_counter()
        missing = [c for c in SCHEMA if c not in df.columns]
        if missing:
            raise ValueError(f"mask_frame: input lacks contract columns: {', '.join(missing)}")
        raw_locales = df["locale"].to_list()
        locales = [loc or "en-US" for loc in raw_locales]
        messages = df["messages"].to_list()
        extras = df["extra_json"].to_list()

        # phase 1: every text to analyse
        texts: list[str] = []
        text_locales: list[str] = []
        parsed_extra: list[object] = []
        parsed_msg_extra: list[list[object]] = []

        def want(s: str | None, loc: str) -> None:
            if s:
                texts.append(s)
                text_locales.append(loc)

        for loc, msgs, extra in zip(locales, messages, extras):
            obj = _parse_json(extra)
            parsed_extra.append(obj)
            for leaf in _json_strings(obj):
                want(leaf, loc)
            row_msg_extra = []
            for m in msgs or []:
                want(m.get("content"), loc)
                want(m.get("error"), loc)
                mobj = _parse_json(m.get("extra_json"))
                row_msg_extra.append(mobj)
                for leaf in _json_strings(mobj):
                    want(leaf, loc)
            parsed_msg_extra.append(row_msg_extra)
        found = self.find_many(texts, text_locales)
        findings = dict(zip(zip(texts, text_locales), found))

        # phase 2: replace
        stats = MaskStats(conversations=df.height, distinct_texts=len(findings))
        stats.fallback_locales = fallback_counts(raw_locales)
        if stats.fallback_locales:
            logger.warning(
                "masking: %d conversation(s) in locales without support of their own (%s): broadest "
                "recognizers used", sum(stats.fallback_locales.values()),
                ", ".join(f"{k}={v}" for k, v in sorted(stats.fallback_locales.items())),
            )
        applied: dict[tuple[str, str], tuple[str, list[Span]]] = {}

        def mask(s: str | None, loc: str) -> tuple[str | None, list[Span]]:
            if not s:
                return s, []
            k = (s, loc)
            hit = applied.get(k)
            if hit is None:
                hit = applied[k] = self._apply(s, findings.get(k, []), loc)
            for sp in hit[1]:
                stats.entities[sp.entity_type] += 1
                stats.by_locale[(loc, sp.entity_type)] += 1
            return hit

        new_messages, new_extras, all_spans = [], [], []
        for row, (loc, msgs, extra) in enumerate(zip(locales, messages, extras)):
            row_spans: list[dict] = []
            if extra is not None:
                masked_extra, spans = self._mask_json(extra, parsed_extra[row], loc, mask)
                row_spans += [_span_dict(TOP_EXTRA_INDEX, sp) for sp in spans]
                stats.extra_fields_masked += bool(spans)
            else:
                masked_extra = None
            new_extras.append(masked_extra)
            out_msgs = []
            for i, m in enumerate(msgs or []):
                m = dict(m)
                content, spans = mask(m.get("content"), loc)
                m["content"] = content
                row_spans += [_span_dict(i, sp) for sp in spans]
                m["error"], _ = mask(m.get("error"), loc)
                if m.get("extra_json") is not None:
                    m["extra_json"], spans = self._mask_json(m["extra_json"], parsed_msg_extra[row][i], loc, mask)
                    row_spans += [_span_dict(message_extra_index(i), sp) for sp in spans]
                    stats.extra_fields_masked += bool(spans)
                out_msgs.append(m)
                stats.messages += 1
            new_messages.append(out_msgs)
            all_spans.append(row_spans)

        user_ids = [None if u is None else hash_user_id(u, self._key) for u in df["user_id"].to_list()]
        out = df.with_columns(
            pl.Series("user_id", user_ids, dtype=pl.String),
            pl.Series("messages", new_messages, dtype=pl.List(MESSAGE_DTYPE)),
            pl.Series("extra_json", new_extras, dtype=pl.String),
            pl.Series("masked_spans", all_spans, dtype=pl.List(MASKED_SPAN_DTYPE)),
        )
        stats.seconds = time.perf_counter() - t0
        logger.info(
            "masked %d conversations, %d messages (%d distinct texts), %d entities in %.1fs",
            stats.conversations, stats.messages, stats.distinct_texts, stats.total_entities,
            stats.seconds,
        )
        return out, stats

    def _mask_json(self, raw: str, obj: object, loc: str, mask) -> tuple[str, list[Span]]:
        """Mask every string leaf of a JSON document; spans are offsets in the re-serialised
        JSON (same serialisation as the contract: sorted keys, UTF-8)."""
        if obj is _NOT_JSON:
            return mask(raw, loc)
        use_sentinels = not _SENTINELS.search(raw)

        def leaf(s: str) -> str:
            masked, spans = mask(s, loc)
            if not spans or not use_sentinels:
                return masked
            parts, pos = [], 0
            for sp in spans:
                parts.append(masked[pos:sp.start])
                parts.append(_OPEN + chr(_TYPE_BASE + pii.ALL.index(sp.entity_type)) + masked[sp.start:sp.end] + _CLOSE)
                pos = sp.end
            parts.append(masked[pos:])
            return "".join(parts)

        dumped = json.dumps(_json_map(obj, leaf), ensure_ascii=False, sort_keys=True, default=str)
        if not use_sentinels:
            return dumped, []
        spans: list[Span] = []
        out: list[str] = []
        pos = 0
        out_len = 0
        for m in _SENTINEL_SPAN.finditer(dumped):
            out.append(dumped[pos:m.start()])
            out_len += m.start() - pos
            value = m.group(2)
            spans.append(Span(out_len, out_len + len(value), pii.ALL[ord(m.group(1)) - _TYPE_BASE]))
            out.append(value)
            out_len += len(value)
            pos = m.end()
        out.append(dumped[pos:])
        return "".join(out), spans


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------

_NOT_JSON = object()


def _parse_json(raw: str | None) -> object:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except (ValueError, TypeError):
        return _NOT_JSON


def _json_strings(obj: object) -> list[str]:
    out: list[str] = []
    if obj is _NOT_JSON or obj is None:
        return out

    def walk(o):
        if isinstance(o, str):
            out.append(o)
        elif isinstance(o, dict):
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    walk(obj)
    return out


def _json_map(o: object, fn) -> object:
    if isinstance(o, str):
        return fn(o)
    if isinstance(o, dict):
        return {k: _json_map(v, fn) for k, v in o.items()}
    if isinstance(o, list):
        return [_json_map(v, fn) for v in o]
    return o


def _span_dict(index: int, sp: Span) -> dict:
    return {"message_index": index, "start": sp.start, "end": sp.end, "entity_type": sp.entity_type}


def _cue_languages(locale: str) -> tuple[str, ...]:
    """The cue languages whose self-introduction words are trimmed off a name span: the
    conversation's language, or every cue language for a language without cues of its own."""
    from agent_release.masking.gazetteer import CUES

    lang = language(locale)
    return (lang,) if lang in CUES else tuple(CUES)


def fallback_label(locale: str | None) -> str:
    """How an unsupported locale is reported in :attr:`MaskStats.fallback_locales`."""
    return (locale or "").strip() or "(missing)"


def fallback_counts(locales: Iterable[str | None]) -> Counter:
    """Conversations per locale tag that is not one of ``textutil.SUPPORTED_LOCALES`` (one entry
    per conversation locale; "(missing)" for none): what :attr:`MaskStats.fallback_locales`
    reports. Such conversations are masked, not skipped: every language's cues (always on), the
    phone region of the tag where libphonenumber knows it (else international numbers of every
    country), the gazetteer of every Faker locale, surrogates from the nearest Faker locale."""
    return Counter(fallback_label(loc) for loc in locales if not is_supported(loc))


_WORD_BEFORE = re.compile(r"(\w[\w'’\-]*) $")


def _extend_back_over_first_name(text: str, s: int) -> int:
    """``s`` moved back over "<First name> [particles] " directly before a person span, when the
    word is a capitalised gazetteer first name ("Inés de la Crúz Vigil" found as "Crúz Vigil")."""
    from agent_release.masking.gazetteer import PARTICLES, gazetteer

    g, particles = gazetteer(), PARTICLES
    k, hops = s, 0
    while hops < 4:
        m = _WORD_BEFORE.search(text, 0, k)
        if not m:
            break
        w = m.group(1)
        if fold_word(w) in particles and w[:1].islower():
            k, hops = m.start(1), hops + 1
            continue
        if w[:1].isupper() and g.is_strict_first(w):
            return m.start(1)
        break
    return s


def _refine_ner_person(text: str, start: int, end: int, locale: str) -> tuple[int, int] | None:
    """Clean a spaCy PERSON span: drop greetings/titles/function words at its edges, reject
    spans without a plausible name word (for non-English locales: a gazetteer name), and extend
    it over directly following gazetteer surnames ("Lucía" + " Pérez García")."""
    from agent_release.masking.gazetteer import PARTICLES, gazetteer

    g = gazetteer()
    span = text[start:end]
    if any(c.isdigit() for c in span) or "@" in span or "\n" in span.strip():
        return None
    words = [(start + m.start(), start + m.end(), m.group()) for m in _WORD.finditer(span)]

    all_lower = all(w.islower() for _, _, w in words)

    def ok_edge(w: str) -> bool:
        if w[:1].isupper():
            return fold_word(w) not in g.stop or g.is_name(w)
        return all_lower and g.is_strict_name(w)

    while words and not ok_edge(words[0][2]):
        words.pop(0)
    while words and not ok_edge(words[-1][2]):
        words.pop()
    if not words or len(words) > 5:
        return None
    if any(_CAMEL.search(w) for _, _, w in words) or (
        len(words) > 1 and any(w.isupper() and len(w) <= 4 for _, _, w in words)
        and not all(w.isupper() for _, _, w in words)
    ):
        return None  # product names: "TrailRunner GTX", "SoundMax Pro"
    s, e = words[0][0], words[-1][1]
    if _MODEL_NUMBER.match(text, e) and not all(g.is_strict_name(w) for _, _, w in words):
        return None  # "Milo Tab 10": a product and its model number
    if len(words) == 1 and not g.is_name(words[0][2]) and _SENTENCE_START.search(text[:s]):
        return None  # one unknown word opening a sentence: "Glad I could help", "Hlelo,"
    last = words[-1][2]
    for suf in ("'s", "’s"):
        if last.endswith(suf):
            e -= len(suf)
    if all(w.islower() for _, _, w in words) and (len(words) < 2 or not all(g.is_strict_name(w) for _, _, w in words)):
        return None  # lower-case: only a pair of unambiguous gazetteer names ("patricia sweeney")
    shouting = all(w.isupper() for _, _, w in words)
    # English NER outside English (or on SHOUTING) needs a name of a conversation locale's name
    # lists ("Link", "Atlas Chair Pro" are in some other Faker list: names from other lists are
    # the name recognizer's gazetteer runs') that is no stop word in the conversation's language:
    # "Il tecnico Marco" ("marco" is a month only in Portuguese)
    lang = language(locale)
    if (lang != "en" or shouting) and not any(
        g.supported.is_name(w) and not g.is_ambiguous_in(w, lang) for _, _, w in words
    ):
        return None
    # extend back over a first name joined by particles: "Inés de la" + "Crúz Vigil"
    s = _extend_back_over_first_name(text, s)
    # extend over following surnames
    while True:
        m = _WORD.match(text, e + 1) if e < len(text) and text[e:e + 1] == " " else None
        if not m:
            break
        w = m.group()
        if fold_word(w) in PARTICLES:
            m2 = _WORD.match(text, m.end() + 1) if text[m.end():m.end() + 1] == " " else None
            if m2 and m2.group()[:1].isupper() and g.is_last(m2.group()):
                e = m2.end()
                continue
            break
        if w[:1].isupper() and g.is_strict_last(w):
            e = m.end()
            continue
        break
    return s, e
