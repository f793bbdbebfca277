"""Plain data types of the masking engine (no heavy imports)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import polars as pl

from agent_release import pii
from agent_release.contract import SCHEMA

#: Recognizer entity types (ours and Presidio's) → canonical types of :mod:`agent_release.pii`.
#: Types not listed here (URL, DATE_TIME, NRP, LOCATION, ORGANIZATION, ...) are dropped.
TYPE_MAP: dict[str, str] = {
    "PERSON": pii.PERSON,
    "PERSON_NAME": pii.PERSON,
    "EMAIL_ADDRESS": pii.EMAIL_ADDRESS,
    "PHONE_NUMBER": pii.PHONE_NUMBER,
    "CREDIT_CARD": pii.CREDIT_CARD,
    "IBAN_CODE": pii.IBAN_CODE,
    "IP_ADDRESS": pii.IP_ADDRESS,
    "STREET_ADDRESS": pii.STREET_ADDRESS,
    "DATE_OF_BIRTH": pii.DATE_OF_BIRTH,
    # national identifiers (our recognizer's subtypes and Presidio's names)
    "US_SSN": pii.NATIONAL_ID, "ES_DNI": pii.NATIONAL_ID, "ES_NIE": pii.NATIONAL_ID,
    "ES_NIF": pii.NATIONAL_ID, "FR_NIR": pii.NATIONAL_ID, "DE_STEUER_ID": pii.NATIONAL_ID,
    "BR_CPF": pii.NATIONAL_ID, "UK_NINO": pii.NATIONAL_ID, "MX_CURP": pii.NATIONAL_ID,
    "IT_CF": pii.NATIONAL_ID, "PL_PESEL": pii.NATIONAL_ID, "SE_PERSONNUMMER": pii.NATIONAL_ID,
    "DK_CPR": pii.NATIONAL_ID, "NO_FNR": pii.NATIONAL_ID, "FI_HETU": pii.NATIONAL_ID, "TR_TCKN": pii.NATIONAL_ID,
    "NL_BSN": pii.NATIONAL_ID,
    "PL_NRB": pii.IBAN_CODE,  # a Polish domestic account number (masking/national_ids.py)
}

#: How Presidio's *default* configuration's types are credited in the benchmark: the nearest
#: canonical type (LOCATION for addresses, DATE_TIME for dates of birth); the rest → OTHER.
DEFAULT_PRESIDIO_MAP: dict[str, str] = {
    **TYPE_MAP,
    "US_ITIN": pii.NATIONAL_ID, "US_PASSPORT": pii.NATIONAL_ID, "UK_NHS": pii.NATIONAL_ID,
    "US_DRIVER_LICENSE": pii.NATIONAL_ID,
    "LOCATION": pii.STREET_ADDRESS,
    "DATE_TIME": pii.DATE_OF_BIRTH,
}
OTHER = "OTHER"


@dataclass(frozen=True, order=True)
class Finding:
    """One piece of PII found in a text: ``text[start:end]`` is of canonical ``entity_type``.
    ``subtype`` is the recognizer's own type where it matters for faking (``ES_DNI``...)."""

    start: int
    end: int
    entity_type: str
    score: float
    recognizer: str
    subtype: str | None = None

    def overlaps(self, start: int, end: int) -> bool:
        return self.start < end and start < self.end


@dataclass(frozen=True)
class Span:
    """Where a surrogate value sits in the MASKED text."""

    start: int
    end: int
    entity_type: str


@dataclass
class MaskStats:
    messages: int = 0
    conversations: int = 0
    entities: Counter = field(default_factory=Counter)  # canonical type -> count
    by_locale: Counter = field(default_factory=Counter)  # (locale, type) -> count
    seconds: float = 0.0
    distinct_texts: int = 0
    extra_fields_masked: int = 0
    workers: int = 1  # processes that masked (see agent_release.masking.parallel)
    #: conversations whose locale is not one of ``textutil.SUPPORTED_LOCALES`` (tag as given,
    #: "(missing)" for none) -> count: masked with the broadest recognizers (every language's
    #: cues, international phone numbers of every country, surrogates from the nearest Faker
    #: locale) rather than skipped
    fallback_locales: Counter = field(default_factory=Counter)

    @property
    def total_entities(self) -> int:
        return sum(self.entities.values())

    def as_dict(self) -> dict:
        return {
            "messages": self.messages, "conversations": self.conversations,
            "entities": dict(sorted(self.entities.items())), "total_entities": self.total_entities,
            "seconds": round(self.seconds, 3), "distinct_texts": self.distinct_texts,
            "messages_per_second": round(self.messages / self.seconds, 1) if self.seconds else None,
            "extra_fields_masked": self.extra_fields_masked, "workers": self.workers,
            "fallback_locales": dict(sorted(self.fallback_locales.items())),
        }

    def entity_rows(self) -> list[dict]:
        """One row per (locale, entity type): for the ``masking.entity_counts`` table."""
        return [
            {"locale": loc, "entity_type": et, "count": n}
            for (loc, et), n in sorted(self.by_locale.items())
        ]


MASKED_SPAN_DTYPE = pl.Struct(
    {"message_index": pl.Int64, "start": pl.Int64, "end": pl.Int64, "entity_type": pl.String}
)
#: ``masked_spans.message_index``: ``i >= 0`` → ``messages[i].content``; ``-1`` → the
#: conversation's ``extra_json`` string; ``-(i + 2)`` → ``messages[i].extra_json``.
#: Offsets are in the masked string of that field.
TOP_EXTRA_INDEX = -1


def message_extra_index(i: int) -> int:
    return -(i + 2)


def decode_index(index: int) -> tuple[str, int | None]:
    """``masked_spans.message_index`` → (field, message index)."""
    if index >= 0:
        return "content", index
    if index == TOP_EXTRA_INDEX:
        return "extra_json", None
    return "message_extra_json", -index - 2


MASKED_SCHEMA: dict[str, pl.DataType] = {**SCHEMA, "masked_spans": pl.List(MASKED_SPAN_DTYPE)}

RESIDUAL_SCHEMA: dict[str, pl.DataType] = {
    "conversation_id": pl.String,
    "message_index": pl.Int64,
    "field": pl.String,
    "entity_type": pl.String,
    "score": pl.Float64,
    "recognizer": pl.String,
}
