"""Canonical PII entity types shared by the synthetic generator, the masker and the benchmarks.

The generator labels every PII value it injects with one of these; the masker maps whatever its
recognizers report (Presidio's US_SSN, ES_NIF, ...) onto them, so recall and precision are
measured per canonical type.
"""

from __future__ import annotations

PERSON = "PERSON"
EMAIL_ADDRESS = "EMAIL_ADDRESS"
PHONE_NUMBER = "PHONE_NUMBER"
CREDIT_CARD = "CREDIT_CARD"
IBAN_CODE = "IBAN_CODE"
NATIONAL_ID = "NATIONAL_ID"  # US SSN, ES DNI/NIE, FR NIR, DE Steuer-ID, BR CPF, UK NINO
STREET_ADDRESS = "STREET_ADDRESS"
DATE_OF_BIRTH = "DATE_OF_BIRTH"
IP_ADDRESS = "IP_ADDRESS"

ALL = (
    PERSON, EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD, IBAN_CODE, NATIONAL_ID, STREET_ADDRESS,
    DATE_OF_BIRTH, IP_ADDRESS,
)

#: Identifiers with a rigid format: the residual scan of masked output must find none of these
#: outside surrogate spans, and masking recall on them must be >= 99%.
STRUCTURED = (EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD, IBAN_CODE, NATIONAL_ID, IP_ADDRESS)

LOCALES = ("en-US", "en-GB", "es-ES", "es-MX", "fr-FR", "de-DE", "pt-BR")
