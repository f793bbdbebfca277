"""What the pattern recognizers share: the Presidio base class, context look-ups and the
"this number is an identifier, not PII" cue.

Imported by :mod:`~agent_release.masking.recognizers`, :mod:`~agent_release.masking.phones`,
:mod:`~agent_release.masking.bank` and :mod:`~agent_release.masking.addresses` (all of which
import Presidio at top level, so only the analyzer build imports them).
"""

from __future__ import annotations

import regex as re
from presidio_analyzer import LocalRecognizer, RecognizerResult


class _Base(LocalRecognizer):
    ENTITIES: tuple[str, ...] = ()

    def __init__(self, name: str | None = None, supported_language: str = "en"):
        super().__init__(
            supported_entities=list(self.ENTITIES), supported_language=supported_language,
            name=name or type(self).__name__,
        )

    def load(self) -> None:  # nothing to load
        pass

    def _res(self, entity: str, start: int, end: int, score: float) -> RecognizerResult:
        return RecognizerResult(
            entity_type=entity, start=start, end=end, score=round(min(score, 1.0), 4),
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            },
        )


def ctx_before(folded: str, start: int, pattern, window: int = 40) -> bool:
    return pattern.search(folded, max(0, start - window), start) is not None


#: An identifier cue right before a number ("order 1234567890", "tracking number: ...",
#: "Sendungsnummer 3344...", "n.º de pedido 12-3456"): that number is not a phone / card.
ID_CUE_STEMS = (
    r"order|pedido|commande|bestel|auftrag|encomenda|tracking|seguimiento|segui|rastre|suivi|"
    r"sendung|nachforschung|envio|envoi|shipment|parcel|paquete|colis|referen|invoice|factur|"
    r"rechnung|fatura|protocolo|articulo|artikel|produto|producto|produit|investig|reclam|"
    r"ordine|spedizion|pacco|fattura|zending|pakket|factuur|zamowien|przesy[lł]k|paczk|"
    r"faktur|bestallning|forsandelse|paket|confirm|reserv|booking|transac|transak|voucher|coupon"
)
ID_CUE_WORDS = (
    r"ref|track|paket|nota fiscal|ticket|case|caso|dossier|fall|vorgang|chamado|sku|item|serial|"
    r"serie|modelo|model|account|cuenta|compte|konto|konta|kontot|rachunku|conta|conto|rekening|iban|dni|nie|cpf|ssn|"
    r"nir|steuer|curp|code|codigo|codice|pin|otp|zip|postcode|cp|cep|plz|cap|claim|nota|member|"
    r"membership|policy|customer|client|kunde|kundennummer|cliente|klant|klient|kund|"
    r"license|licence|registration|receipt|clabe|routing|sort code|aba"
)
ORDER_CTX = re.compile(
    rf"(?:\b(?:(?:{ID_CUE_STEMS})\w*|(?:{ID_CUE_WORDS})\b)(?:[ \t]+(?:number|num|no|nr|nummer|numero|numer|n|id|code|de|du|der|des|do|da|"
    rf"del|di|van|for|fur|para|pour|is|es|est|ist|e|was|era|war|jest|ar|er)){{0,2}}[\s\"'.:#º°=]*|#[ \t]*)$"
)


def blank(m) -> str:
    return "x" * len(m.group())


def embedded(text: str, start: int, end: int) -> bool:
    """True when [start, end) is part of a longer token ("ORD-2026-304046", "1Z5B4JTU3638701052")."""
    if start > 0:
        b = text[start - 1]
        if b.isalnum() or (b in "-/._" and start > 1 and text[start - 2].isalnum()):
            return True
    if end < len(text):
        a = text[end]
        if a.isalnum() or (a in "-/_.," and end + 1 < len(text) and text[end + 1].isalnum()):
            return True  # includes "263,77 €": the tail of an amount
    return False
