"""PII masking: Presidio + custom recognizers find PII, Faker replaces it consistently.

Public API (importing this package is cheap: Presidio/spaCy/Faker load on first use)::

    masker = Masker(key)                      # key: agent_release.config.hmac_key()
    masker.find(text, locale)                 # -> list[Finding]
    masker.mask_text(text, locale)            # -> (masked text, list[Span])
    masker.mask_frame(df)                     # -> (masked DataFrame + masked_spans, MaskStats)
    mask_frame_parallel(df, key, workers=2)   # same result, chunks masked in 2 processes
    hash_user_id(user_id, key)                # -> "u_<hmac-sha256 hex>"
    residual_scan(masked_df, masker)          # -> structured PII left outside surrogate spans
    build_default_presidio()                  # Presidio defaults, offline (benchmark baseline)

How it works: every message runs through the English spaCy NER (PERSON only) plus pattern
recognizers for the formats Presidio's defaults miss (``recognizers.py``); findings are mapped
onto the canonical types of :mod:`agent_release.pii`, filtered (score >= 0.5) and de-overlapped;
each is replaced by a fake seeded from HMAC(key, type + normalised value) in the conversation's
locale (``surrogates.py``), so the same value gets the same fake in every run and partition
without a mapping table. ``masked_spans`` records where the fakes are (``types.py`` documents the
``message_index`` encoding for extras), which lets :func:`residual_scan` tell fakes from leaks.
"""

from agent_release.masking.engine import Masker, MaskingError, hash_user_id, resolve_overlaps
from agent_release.masking.parallel import MaskingPool, mask_frame_parallel
from agent_release.masking.presidio_setup import build_default_presidio, make_offline
from agent_release.masking.residual import residual_scan
from agent_release.masking.types import (
    DEFAULT_PRESIDIO_MAP,
    MASKED_SCHEMA,
    MASKED_SPAN_DTYPE,
    RESIDUAL_SCHEMA,
    TYPE_MAP,
    Finding,
    MaskStats,
    Span,
    decode_index,
)

__all__ = [
    "DEFAULT_PRESIDIO_MAP", "MASKED_SCHEMA", "MASKED_SPAN_DTYPE", "RESIDUAL_SCHEMA", "TYPE_MAP",
    "Finding", "MaskStats", "Masker", "MaskingError", "MaskingPool", "Span", "build_default_presidio",
    "decode_index", "hash_user_id", "make_offline", "mask_frame_parallel", "residual_scan",
    "resolve_overlaps",
]
