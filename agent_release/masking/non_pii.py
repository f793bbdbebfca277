"""Declared non-PII patterns: identifiers that look like PII to the independent residual scan
(:func:`agent_release.masking.residual.independent_residual_scan`) but are not personal data —
order, tracking, invoice, ticket and SKU numbers, amounts, dates and timestamps, UUIDs.

The scan blanks every match of these patterns before it looks for PII shapes, so a 12-digit
FedEx number after "tracking" or the ISO date of an order is not a finding, while the same digits
anywhere else are. Keep them tight: a pattern that matches a phone number hides a leaked phone
number. The built-in list is :data:`BUILTIN` (below, each with its reason); deployments add their
own formats in a YAML file, by default ``data/masking/non_pii_patterns.yaml`` under
``AGENT_RELEASE_HOME`` (the environment variable ``AGENT_RELEASE_NON_PII_PATTERNS`` names another
file). The file is optional; when present it must parse, and every entry must compile — a
broken file fails the residual check (fail closed) instead of silently declaring nothing::

    patterns:
      - name: loyalty_card                      # unique; shown in nothing but error messages
        description: ACME loyalty card numbers, printed on receipts, not tied to a person
        regex: '\\bLOY-\\d{10}\\b'                 # Python ``regex`` syntax (\\p{Lu} works)
      - name: warehouse_bin
        description: shelf location after "bin"
        regex: '(?i)\\bbin\\s+(?P<value>[A-Z]\\d{2}-\\d{4})'

A match declares the whole matched text non-PII, or only its ``value`` group when the regex has
one (so a context word such as "bin" or "tracking" can be required without being blanked).
User patterns are added to the built-in ones; they cannot remove them. Flags go inline
(``(?i)``). Patterns are applied to message contents, error strings and the JSON text of extras.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import regex as re

ENV_VAR = "AGENT_RELEASE_NON_PII_PATTERNS"
#: the user file, relative to AGENT_RELEASE_HOME
USER_FILE = Path("data") / "masking" / "non_pii_patterns.yaml"


@dataclass(frozen=True)
class NonPiiPattern:
    name: str
    description: str
    regex: re.Pattern
    needs_digit: bool = False  # matches only text with a digit (the built-in ones): skipped elsewhere

    def spans(self, text: str) -> list[tuple[int, int]]:
        out = []
        for m in self.regex.finditer(text):
            if "value" in self.regex.groupindex:
                if m.start("value") >= 0:
                    out.append((m.start("value"), m.end("value")))
            elif m.end() > m.start():
                out.append((m.start(), m.end()))
        return out


def typo_variants(word: str, *, deletions: bool = False, min_len: int = 6) -> set[str]:
    """``word`` and, for words of ``min_len``+ letters, its one-adjacent-swap typos ("seguimietno";
    "pdeido" is too short) — with ``deletions``, from 5 letters on, also a dropped or a doubled
    letter ("Hllo", "wiieczór"): customers mistype the cue words too."""
    out = {word}
    n = 5 if deletions else min_len
    for part in word.split(" "):
        if len(part) < n or not part.isalpha():
            continue
        slips = {part[:i] + part[i + 1] + part[i] + part[i + 2:] for i in range(len(part) - 1) if part[i] != part[i + 1]}
        if deletions:
            slips |= {part[:i] + part[i + 1:] for i in range(1, len(part))}
            slips |= {part[:i] + part[i] + part[i:] for i in range(len(part))}
        out |= {word.replace(part, v, 1) for v in slips}
    return out


_variants = typo_variants


# words that may stand between a cue ("tracking", "invoice") and its number: "tracking number is",
# "número de seguimiento:", "Rechnungsnummer", "n° de commande"
_FILLER_WORDS = (
    "number numbers no nr nº n° no. num número numero numéro nummer numer numara code código id ref is es est ist é "
    "è er är on de do da du des del van der di il le la el o of the your my su sua seu votre ihre mi mon ma meu "
    "minha mio mia mijn mój moje min mitt was era war te na nie numarası numaram numarasi numaralı nro tunnus "
    "tunnukseni kodu nummeret numret numeret numerem numeru lautet").split()
_FILLER = (r"(?:[\s:#.\"'=,()\-_]{0,4}(?:"
           + "|".join(re.escape(v) for w in sorted(_FILLER_WORDS, key=len, reverse=True)
                      for v in sorted(typo_variants(w, deletions=True, min_len=5), key=len, reverse=True))
           + r")(?!\w)){0,4}[\s:#.\"'=\-_]{0,4}")
_CODE = r"(?P<value>#?(?=[A-Z0-9/-]*\d)[A-Z0-9]+(?:[-/][A-Z0-9]+)*)"
#: words that make the number after them a phone number: never a tracking number then
_CALL = (r"(?<!\p{L})(?:call|ring|ruf|anruf|erreich|llam|appel|ligar|liga|chiam|bel|zadzw|dzwo|soit|ara|tel|"
         r"phone|fono|móvil|movil|cel|handy|mobil|whatsapp|sms|unter|au|al|no|på|numero|número|numer)")
#: a tracking number: one token of 10-34 letters/digits with a digit, or USPS-style groups of 4
_TRACKING_CODE = r"(?P<value>(?=[A-Z0-9]*\d)[A-Z0-9]{10,34}|9\d{3}(?: \d{4}){4} \d{2})"




def _alt(words: str, typos: bool = True) -> str:
    items = set()
    for w in words.split("|"):
        items |= _variants(w) if typos else {w}
    return "|".join(re.escape(w).replace("\\ ", r"\s+") for w in sorted(items, key=len, reverse=True))


def _cue(words: str, value: str = _CODE) -> str:
    # the cue may take a suffix: "tilauksesta", "bestillingen", "siparişim", "zamówienia"
    return rf"(?i)(?<![\p{{L}}\d])(?:{_alt(words)})\p{{L}}{{0,5}}{_FILLER}{value}(?![\w@])"


_ORDER_CUES = ("order|orders|order-id|orderid|pedido|pedidos|commande|commandes|bestellung|bestellungen|"
               "bestellnummer|auftrag|auftragsnummer|encomenda|encomendas|ordine|ordinazione|bestelling|"
               "bestelnummer|zamówienie|zamówienia|zamowienie|ordre|ordrenummer|ordernummer|beställning|"
               "bestilling|tilaus|tilauksen|tilauksesta|tilauksessa|tilaukseen|tilausnumero|sipariş|siparis|siparişim|compra|purchase|po")
_TRACKING_CUES = ("tracking|track|trace|parcel|parcels|package|packages|shipment|shipments|envío|envíos|envio|"
                  "paquete|paquetes|colis|paket|pakete|sendung|sendungsnummer|sendungsverfolgung|paketnummer|"
                  "objeto|encomenda|pacco|pacchi|pakket|zending|paczka|paczki|paczkę|przesyłka|przesyłki|"
                  "przesyłkę|försändelse|forsendelse|sending|pakke|lähetys|lähetystunnus|paketti|gönderi|seguimiento|rastreo|suivi|"
                  "rastreio|rastreamento|tracciamento|spedizione|spårning|kolli|kolli-id|sporing|"
                  "sporingsnummer|seuranta|seurantakoodi|takip|kargo|ups|fedex|dhl|usps|hermes|gls|dpd|correos|"
                  "seur|mrw|colissimo|chronopost|postnl|royal mail|evri|parcelforce|poste italiane|brt|sda|"
                  "inpost|postnord|bring|posti|yurtiçi|aras|ctt|sedex|jadlog|estafeta|amazon logistics|carrier|"
                  "transportista|transporteur|spediteur|transportadora|corriere|vervoerder|kurier|"
                  "fraktbolag|fragtfirma|kuljetusliike")
_INVOICE_CUES = ("invoice|invoices|inv|nota fiscal|nota|nf|nfe|nf-e|factura|facturas|facture|factures|rechnung|"
                 "rechnungsnummer|fatura|fattura|factuur|faktura|faktury|fakturan|fakturanummer|lasku|laskun|"
                 "receipt|recibo|reçu|quittung|ricevuta|reference|referencia|référence|referenz|referência|"
                 "riferimento|referentie|referens|viite|viitenumero|ref|réf")
_TICKET_CUES = ("ticket|tickets|case|caso|dossier|fall|vorgang|chamado|protocolo|pratica|zaak|sprawa|"
                "zgłoszenie|zgłoszenia|ärende|sag|sak|tiketti|tapaus|talep|kayıt|request|incident|"
                "reclamación|réclamation|reklamation|reclamação|reclamacao|reclamo|klacht|reklamacja|"
                "reklamasjon|reklamaatio|şikayet|complaint|claim|dispute|disputa|litige|streitfall|"
                "contestazione|geschil|spór")
_SKU_CUES = ("sku|art|artikel|art-nr|artikelnr|artikelnummer|item|model|modelo|modèle|modell|modello|"
             "product code|código de producto|référence produit|produktnummer|ean|gtin|upc|isbn|part number")
#: what a question for a reference asks for (the reply rule below); a question that also asks for a
#: phone number or contact does not count
REFERENCE_QUESTION = re.compile(rf"(?i)(?<!\p{{L}})(?:{_alt('|'.join((_ORDER_CUES, _TRACKING_CUES, _INVOICE_CUES, _TICKET_CUES)), typos=False)})(?!\p{{L}})")
CONTACT_QUESTION = re.compile(
    r"(?i)(?<!\p{L})(?:phone|tel[eé]f|telf|m[óo]vil|celular|portable|handy|mobil|cell|whatsapp|call|llam|appel|"
    r"anruf|ligar|chiam|bellen|zadzwo|ring|soita|soitt|arayın|e-?mail|correo|courriel|adres|address|direcci|"
    r"endere|indirizzo|osoite|name|nombre|nom|prénom|vorname|nachname|nome|naam|imię|nazwisk|namn|navn|nimi|"
    r"ad[ıi]n[ıi]z)")
#: a reply that is nothing but a code: its first token
REPLY_CODE = re.compile(r"^(?:[\s\W]|(?<!\w)(?:pues|bueno|eh|um|uh|so|ok|okay|sure|yes|sí|si|ja|oui|bon|euh|"
                        r"então|tipo|allora|dus|nou|więc|tak|joo|öö|şey|yani|it's|es|c'est|é)(?!\w)){0,6}(?P<value>#?(?=[A-Z0-9/-]*\d)[A-Z0-9]+(?:[-/][A-Z0-9]+)*)(?![\w@])", re.I)


def reply_reference(previous: str | None, text: str) -> tuple[int, int] | None:
    """The code a message opens with when the message before it asked for an order, tracking,
    invoice or ticket number (and not for a phone number, e-mail, address or name): "¿Cuál es tu
    número de pedido?" → "812858718351". (start, end) or None."""
    if not previous or not text or not REFERENCE_QUESTION.search(previous) or CONTACT_QUESTION.search(previous):
        return None
    m = REPLY_CODE.match(text)
    return (m.start("value"), m.end("value")) if m else None


#: month names and abbreviations, en es fr de pt it nl pl sv da nb fi tr (genitive forms where dates use them)
_MONTH_WORDS = """
january february march april may june july august september october november december
jan feb mar apr jun jul aug sep sept oct nov dec
enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre noviembre diciembre
ene abr ago dic
janvier février fevrier mars avril mai juin juillet août aout septembre octobre novembre décembre decembre
janv févr fevr avr juil sept déc
januar jänner februar märz maerz april mai juni juli august september oktober november dezember
jän okt dez
janeiro fevereiro março marco abril maio junho julho agosto setembro outubro novembro dezembro
fev mai out set
gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre
gen mag giu lug ott
januari februari maart april mei juni juli augustus september oktober november december mrt
stycznia lutego marca kwietnia maja czerwca lipca sierpnia września października listopada grudnia
styczeń luty marzec kwiecień maj czerwiec lipiec sierpień wrzesień październik listopad grudzień
januari februari mars april maj juni juli augusti september oktober november december
januar februar marts april maj juni juli august september oktober november december
januar februar mars april mai juni juli august september oktober november desember des
tammikuuta helmikuuta maaliskuuta huhtikuuta toukokuuta kesäkuuta heinäkuuta elokuuta syyskuuta
lokakuuta marraskuuta joulukuuta tammikuu helmikuu maaliskuu huhtikuu toukokuu kesäkuu heinäkuu elokuu
syyskuu lokakuu marraskuu joulukuu
ocak şubat mart nisan mayıs haziran temmuz ağustos eylül ekim kasım aralık
""".split()
_MONTHS = "|".join(sorted(set(_MONTH_WORDS), key=len, reverse=True))
_CURRENCY = (r"(?:€|\$|£|¥|₹|₺|zł|R\$|US\$|MX\$|EUR|USD|GBP|MXN|BRL|SEK|NOK|DKK|PLN|TRY|CHF|JPY|INR|TL|Fr\.|kr\.?|"
             r"(?i:euros?|dollars?|pounds?|pesos?|reais|real|kronor|kroner|złotych|zlotych|lira|francs?))")
_NUMBER = r"\d{1,3}(?:[.,\u00a0\u202f ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"

#: (name, description, regex) — the built-in declared non-PII formats.
BUILTIN: tuple[tuple[str, str, str], ...] = (
    ("order_id_prefixed", "order ids with a letter prefix: ORD-2026-177140, PO-99887766, SO1234567",
     r"(?i)\b(?:ORD|ORDER|PO|SO|OR|ORDR|BST|CMD|PED)[-#]?(?:\d{2,4}-)?\d{4,12}\b"),
    ("order_after_cue", "any code with a digit right after an order cue (order/pedido/commande/Bestellung/"
     "encomenda/ordine/bestelling/zamówienie/ordre/beställning/tilaus/sipariş …): 'order 98-0116', "
     "'pedido #907243', '\"order_id\": \"1760-26\"'",
     _cue(_ORDER_CUES)),
    ("marketplace_order", "marketplace order numbers 3-7-7 digits (781-4966204-4721038)",
     r"\b\d{3}-\d{7}-\d{7}\b"),
    ("amazon_asin", "Amazon product ids (ASIN): B0 + 8 letters/digits (B067571070, B0RR21SECL)",
     r"\bB0[0-9A-Z]{8}\b"),
    ("ups_tracking", "UPS tracking numbers: 1Z + 16 letters/digits", r"(?i)\b1Z[0-9A-Z]{16}\b"),
    ("tracking_near_cue", "a tracking number (one token of 10-34 letters/digits, or USPS groups of 4) "
     "within 40 characters after a tracking/parcel cue or a carrier name in the same sentence, no digit "
     "between (FedEx 12/15 digits, USPS 22, DHL 10, DPD/SEUR/Hermes 14 …): 'FedEx shows parcel 580010548136', "
     "'\"tracking\": \"510743144538\"'. A 10+-digit unspaced phone number in such a sentence is hidden too",
     rf"(?i)(?<!\p{{L}})(?:{_alt(_TRACKING_CUES)})\p{{L}}*(?:(?!{_CALL})[^\n.!?\d]){{0,40}}?(?<![\w+])"
     rf"{_TRACKING_CODE}(?![\w@])"),
    ("upu_s10", "international postal items (UPU S10): 2 letters, 9 digits, 2 letters (NF874816145FR)",
     r"\b[A-Z]{2}\d{9}[A-Z]{2}\b"),
    ("dhl_tracking", "DHL piece numbers: JJD/JVGL + digits", r"\b(?:JJD|JVGL)\d{10,22}\b"),
    ("prefixed_code", "upper-case letter prefix, dash or slash, 4-8 digits: M9-625582, #B-04304, F2026/95191",
     r"(?<![\w-])#?[A-Z]{1,4}\d{0,4}[-/]\d{4,8}(?:-[A-Z0-9]{1,3})?(?![\w-])"),
    ("code_with_suffix", "letters, digits, dash, digits: product and variant codes (KN09279-54, WE50812-18)",
     r"(?<![\w-])[A-Z]{2,4}\d{3,6}-\d{1,4}(?![\w-])"),
    ("hex_literal", "hexadecimal error and status codes (0x83259264)", r"(?<![\w])0x[0-9A-Fa-f]{4,16}(?![\w])"),
    ("code_before_cue", "a code right before an order/tracking cue word, in languages that put it there "
     "(tr 'WEB6022888 siparişi', fi 'WH-0808XM4 tilauksesta')",
     r"(?i)(?<![\w-])(?P<value>#?(?=[A-Z0-9/-]*\d)[A-Z0-9]+(?:[-/][A-Z0-9]+)*)[ \t]+"
     r"(?:sipariş|siparis|tilau|numaralı|nolu|no'lu|nro|lähety|kargo|gönderi|takip)\p{L}*"),
    ("sku_shape", "product codes: DL-545-M, 6704-GRN, ZT0563EU-2",
     r"(?<![\w-])(?:[A-Z]{2,4}-\d{2,4}-[A-Z0-9]{1,3}|\d{3,6}-[A-Z]{2,4})(?![\w-])"),
    ("usps_tracking", "USPS tracking numbers, grouped: 9400 1234 5678 9012 3456 78",
     r"\b9[2-5]\d{2}(?: ?\d{4}){4} ?\d{2}\b"),
    ("invoice_prefixed", "invoice numbers with a prefix and year: INV-2026-710240, FAC-2026-15260, RE-2026-96442",
     r"(?i)\b(?:INV|FAC|FA|FT|RE|RG|RN|FAT|FV|FAK|FACT|REC|BILL)-?\d{2,4}-\d{3,10}\b"),
    ("invoice_after_cue", "any code with a digit right after an invoice/receipt/reference cue "
     "(invoice/factura/facture/Rechnung/fatura/fattura/factuur/faktura/lasku/ref …)",
     _cue(_INVOICE_CUES)),
    ("ticket_prefixed", "support tickets and cases: TKT-61565, CASE-66473702, INC0012345",
     r"(?i)\b(?:TKT|TICKET|CASE|INC|REQ|SR|CS|RMA|RET)-?\d{4,12}\b"),
    ("ticket_after_cue", "any code with a digit right after a ticket/case cue", _cue(_TICKET_CUES)),
    ("sku_after_cue", "any code with a digit right after a SKU/article/model/EAN cue", _cue(_SKU_CUES)),
    ("amount_prefix_currency", "amounts with the currency first: $1,234.56, R$ 149,51, € 12.345,00",
     rf"(?<![\w$]){_CURRENCY}\s?(?:{_NUMBER})(?!\d)"),
    ("amount_suffix_currency", "amounts with the currency after: 69,82 €, 1.234.567,89 EUR, 313 pesos",
     rf"(?<![\d.,])(?:{_NUMBER})\s?{_CURRENCY}(?!\w)"),
    ("iso_date_time", "ISO dates and timestamps: 2026-11-05, 2026-11-02T14:03:00Z, 2026-11-02 14:03",
     r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?!\d)"),
    ("numeric_date", "numeric dates d/m/y, m/d/y, y/m/d (03/01/2026, 06.10.1942, 2026/11/02): a date of "
     "birth among them is flagged by the scan's own date-of-birth-after-cue rule, which ignores this list",
     r"(?<![\d.,/-])(?:\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})|\d{4}[./]\d{1,2}[./]\d{1,2})(?:,?\s\d{1,2}[:h]\d{2})?"
     r"(?![\d]|[./-]\d)"),
    ("short_date", "day and month without a year (11/1, 24.12), not followed by more digits",
     r"(?<![\d.,/-])[0-3]?\d[./][0-3]?\d(?![\d]|[./-]\d|\s?\d)"),
    ("month_name_date", "a day with a month name (4 de noviembre, 21. Oktober, 3 Nov, March 12): the day "
     "number no longer joins a neighbouring number into a digit run",
     rf"(?i)(?<![\d.,/-])(?:\d{{1,2}}(?:st|nd|rd|th|er|º|°)?\.?\s(?:de\s|of\s)?(?:{_MONTHS})"
     rf"|(?:{_MONTHS})\s\d{{1,2}}(?:st|nd|rd|th)?)(?!\p{{L}}|\d)"),
    ("hash_reference", "a number written with a leading '#' (#247412, #702209): order and ticket references",
     r"(?<![\w#])#\d{4,10}(?![\w])"),
    ("uuid", "UUIDs (request, session, message ids)",
     r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"),
    ("hex_digest", "hex digests of 32+ characters (content hashes, keyed ids)", r"(?i)\b(?=\d*[a-f])[0-9a-f]{32,}\b"),
)


def user_file() -> Path:
    """Where the user's extension list is read from (it need not exist)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    from agent_release.config import paths

    return paths().home / USER_FILE


def _compile(name: str, description: str, pattern: str, where: str, needs_digit: bool = False) -> NonPiiPattern:
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{where}: pattern {name!r} does not compile: {exc}") from None
    if rx.search(""):
        raise ValueError(f"{where}: pattern {name!r} matches the empty string")
    return NonPiiPattern(name, description, rx, needs_digit)


_BUILTIN_COMPILED: tuple[NonPiiPattern, ...] = ()


def builtin_patterns() -> tuple[NonPiiPattern, ...]:
    """:data:`BUILTIN`, compiled (once per process); every one needs a digit to match."""
    global _BUILTIN_COMPILED
    if not _BUILTIN_COMPILED:
        _BUILTIN_COMPILED = tuple(_compile(n, d, p, "built-in non-PII list", True) for n, d, p in BUILTIN)
    return _BUILTIN_COMPILED


def load_user_patterns(path: Path | None = None) -> tuple[NonPiiPattern, ...]:
    """The patterns of the user file (none when it does not exist). Raises ``ValueError`` naming
    the file and the entry when it is malformed."""
    path = Path(path) if path is not None else user_file()
    if not path.exists():
        return ()
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("patterns", []) or [], list):
        raise ValueError(f"{path}: expected a mapping with a 'patterns' list")
    out, seen = [], {n for n, _, _ in BUILTIN}
    for i, entry in enumerate(doc.get("patterns") or []):
        where = f"{path} (patterns[{i}])"
        if not isinstance(entry, dict) or not isinstance(entry.get("regex"), str) or not entry.get("name"):
            raise ValueError(f"{where}: each entry needs a 'name' and a 'regex' string")
        name = str(entry["name"])
        if name in seen:
            raise ValueError(f"{where}: duplicate pattern name {name!r}")
        seen.add(name)
        out.append(_compile(name, str(entry.get("description", "")), entry["regex"], where))
    return tuple(out)


def load(path: Path | None = None) -> tuple[NonPiiPattern, ...]:
    """The built-in patterns plus the user file's."""
    return builtin_patterns() + load_user_patterns(path)


def declared_spans(text: str, patterns: tuple[NonPiiPattern, ...]) -> list[tuple[int, int]]:
    """Every (start, end) of ``text`` a declared pattern covers (may overlap)."""
    out: list[tuple[int, int]] = []
    digit = any(c.isdigit() for c in text)
    for p in patterns:
        if digit or not p.needs_digit:
            out.extend(p.spans(text))
    return out
