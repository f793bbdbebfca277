"""Residual PII checks on masked output: two scans, built differently.

:func:`residual_scan` re-runs the masker's analyzer over masked text and reports findings of the
STRUCTURED types (:data:`agent_release.pii.STRUCTURED`: emails, phones, cards, IBANs, national
ids, IPs) that are NOT inside a surrogate span recorded in ``masked_spans`` — i.e. identifiers
that survived masking. Surrogates themselves are format-valid (a fake IBAN is still an IBAN),
which is why the spans are needed to tell them apart from leaks. It shares the detectors' blind
spots: what they miss while masking, they miss again here.

:func:`independent_residual_scan` (issue 15) shares nothing with the detectors: no recognizer,
gazetteer, checksum or NER; plain shape rules and cue lists written here. The masker's
surrogate ledger (``masked_spans``: field, start, end, type of every fake it wrote, in masked
coordinates, never the original) says what was replaced; the fakes are blanked, then the
declared non-PII formats (:mod:`agent_release.masking.non_pii`: order, tracking, invoice, ticket,
SKU numbers, amounts, dates, extendable in ``data/masking/non_pii_patterns.yaml``), and what
still has a PII shape is a finding (:data:`KINDS`):

- ``digit_run``: 7+ digits with up to three separators (space . - / ( ) +) between digits
  ("+34 612 34 56 78", "(415) 555-0123"); ``card`` when 13-19 digits;
- ``email``, ``iban`` (country letters, 2 digits, 11+ groups of letters/digits, no checksum:
  a mistyped IBAN is still personal data), ``national_id`` (DNI/NIE, NINO, CURP, codice fiscale,
  HETU, SSN, CPF, personnummer/CPR, NIR, Belgian number), ``bank_code`` (UK sort code after
  "sort"), ``ip_address`` (IPv4, IPv6);
- ``name_after_cue``: the word sequence after a self-introduction ("my name is", "me llamo",
  "je m'appelle", "ich heiße", "meu nome é", "mi chiamo", "mijn naam is", "nazywam się",
  "jag heter", "jeg hedder/heter", "nimeni on", "benim adım", "el titular de la cuenta es": any
  word; "I'm", "soy", "sono", "ik ben", "jestem", "jag är", "olen" …: Titlecase words only),
  after a person-name JSON key, after a greeting ("Hola Pilar,", "Gentile Sig.ra Calbo,",
  "Huomenta Essi," — mistyped ones too) or a thanks ("Thanks for reaching out, Brandon."), a
  name ending its line after a sign-off or a "sent from my phone" line ("Kind regards,\nAlice
  Thompson"), a name before an e-mail address in a header ("Line Lassen <…@…> wrote:"), and
  surnames the masker left after a fake name ("[fake] de la rosa");
- ``address``: capitalised words and numbers after an address cue ("address", "dirección",
  "adresse", "Anschrift", "endereço", "indirizzo", "adres", "adress", "osoite", inside compounds
  too: "Lieferadresse", "toimitusosoite"; "i live at", "vivo en", "ship it to" …) — the lines
  below the cue when it ends its line, lower-case words with a house number in transcripts —,
  after a street-type word ("Calle", "rue", "via", "ul.", "Caddesi" …), street shapes
  ("742 Evergreen Terrace", "Hauptstraße 5"), postcode + town ("28013 Madrid", "1015 CJ
  Amsterdam", "00-950 Warszawa", "SW1A 2AA", "…, sd 57025") and the street line above one;
- ``date_of_birth_after_cue``: a date after a birth cue ("born", "Geburtsdatum",
  "syntymäaikani", "nacido" …) or before "doğumluyum", declared dates notwithstanding;
- ``unhashed_user_id``: a user id that is not ``u_`` + 64 hex.

E-mail quote markers ("> ", "> > ") are read as spaces, so quoted copies are scanned like the
original. A message that is nothing but a code, answering a question for an order, tracking,
invoice or ticket number, has that code declared (:func:`non_pii.reply_reference`).

Fields: message contents, ``error`` and ``action`` strings, conversation and message
``extra_json``. ``error`` strings are masked but the ledger has no spans for them, so a fake the
masker wrote into one is a finding (fail closed; none in practice: errors are codes).

Both reports never contain the matched text: only where it is and which rule or type.
"""

from __future__ import annotations

import dataclasses as _dc
import ipaddress

import polars as pl
import regex as _re

from agent_release import pii
from agent_release.masking import non_pii as _non_pii
from agent_release.masking.types import RESIDUAL_SCHEMA, TOP_EXTRA_INDEX, decode_index, message_extra_index


def residual_scan(masked_df: pl.DataFrame, masker, min_score: float = 0.8) -> pl.DataFrame:
    """Structured-type findings with ``score >= min_score`` outside ``masked_spans``.

    Columns: conversation_id, message_index, field ("content" | "extra_json" |
    "message_extra_json"), entity_type, score, recognizer. ``message_index`` is null for the
    conversation-level ``extra_json``.
    """
    if "masked_spans" not in masked_df.columns:
        raise ValueError("residual_scan needs a masked frame (no masked_spans column)")
    texts: list[str] = []
    locs: list[str] = []
    where: list[tuple[int, int]] = []  # (row, encoded index)
    spans_by_row: list[dict[int, list[tuple[int, int]]]] = []
    conv_ids = masked_df["conversation_id"].to_list()
    for row, (loc, msgs, extra, spans) in enumerate(
        zip(
            masked_df["locale"].to_list(), masked_df["messages"].to_list(),
            masked_df["extra_json"].to_list(), masked_df["masked_spans"].to_list(),
        )
    ):
        loc = loc or "en-US"
        by_index: dict[int, list[tuple[int, int]]] = {}
        for sp in spans or []:
            by_index.setdefault(sp["message_index"], []).append((sp["start"], sp["end"]))
        spans_by_row.append(by_index)
        if extra:
            texts.append(extra)
            locs.append(loc)
            where.append((row, TOP_EXTRA_INDEX))
        for i, m in enumerate(msgs or []):
            if m.get("content"):
                texts.append(m["content"])
                locs.append(loc)
                where.append((row, i))
            if m.get("extra_json"):
                texts.append(m["extra_json"])
                locs.append(loc)
                where.append((row, message_extra_index(i)))
    found = masker.find_many(texts, locs) if texts else []
    out = []
    for (row, index), findings in zip(where, found):
        covered = spans_by_row[row].get(index, [])
        for f in findings:
            if f.entity_type not in pii.STRUCTURED or f.score < min_score:
                continue
            if any(s <= f.start and f.end <= e for s, e in covered):
                continue
            field, msg_index = decode_index(index)
            out.append({
                "conversation_id": conv_ids[row], "message_index": msg_index, "field": field,
                "entity_type": f.entity_type, "score": float(f.score), "recognizer": f.recognizer,
            })
    return pl.DataFrame(out, schema=RESIDUAL_SCHEMA)


# ================================================================================================
# Independent residual scan (issue 15): nothing below imports or calls the masker's detectors
# ================================================================================================

#: the residual findings table: where, and which rule; never the text
INDEPENDENT_SCHEMA: dict[str, pl.DataType] = {
    "conversation_id": pl.String,
    "message_index": pl.Int64,  # null for conversation-level fields (extra_json, user_id)
    "field": pl.String,  # content | error | action | extra_json | message_extra_json | user_id
    "kind": pl.String,
    "start": pl.Int64,  # character offsets in that field of the masked row
    "end": pl.Int64,
}

EMAIL, IBAN, CARD, NATIONAL_ID, IP, DIGIT_RUN = (
    "email", "iban", "card", "national_id", "ip_address", "digit_run")
NAME, ADDRESS, DATE_OF_BIRTH, USER_ID = "name_after_cue", "address", "date_of_birth_after_cue", "unhashed_user_id"
BANK = "bank_code"
KINDS = (EMAIL, IBAN, CARD, NATIONAL_ID, BANK, IP, DIGIT_RUN, NAME, ADDRESS, DATE_OF_BIRTH, USER_ID)

#: a digit run is a finding from this many digits on (separators between the digits ignored)
MIN_DIGITS = 7
_BLANK = "\x00"  # what a surrogate or a declared non-PII match is replaced with before scanning


@_dc.dataclass(frozen=True, order=True)
class Hit:
    start: int
    end: int
    kind: str


# -- structured shapes ---------------------------------------------------------------------------
_EMAIL = _re.compile(r"(?<![\w.+%'’-])[\w.+%'’-]*\w\s?@\s?[\w-]+(?:\.[\w-]+)*\.\p{L}{2,}(?!\w)")
_IBAN = _re.compile(r"(?i)(?<![\p{L}\d])[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]{4}){2,7}(?:[ -]?[A-Z0-9]{1,3})?(?![\p{L}\d])")
_NATIONAL_IDS = _re.compile(
    r"(?i)(?<![\p{L}\d])(?:"
    r"\d{8}[ -]?[A-Z]"  # ES DNI
    r"|[XYZ][ -]?\d{7}[ -]?[A-Z]"  # ES NIE
    r"|[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]"  # UK NINO (6 digits only)
    r"|[A-Z]{4}\d{6}[HMX][A-Z]{5}[A-Z0-9]\d"  # MX CURP
    r"|[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z]"  # IT codice fiscale
    r"|\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]"  # FI henkilötunnus
    r"|\d{3}-\d{2}-\d{4}"  # US SSN
    r"|\d{3}\.\d{3}\.\d{3}-\d{2}"  # BR CPF
    r"|\d{6}(?:\d{2})?[-+]\d{4}"  # SE personnummer, DK CPR
    r"|[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3}(?: ?\d{2})?"  # FR NIR
    r"|\d{2}\.\d{2}\.\d{2}-\d{3}\.\d{2}"  # BE national number
    r")(?![\p{L}\d])"
)
#: UK sort codes (six digits: the digit rule alone misses them) after their cue
_SORT_CODE = _re.compile(r"(?i)(?<![\p{L}])sort(?:[ \t]*code)?[ \t:.#-]*\K\d{2}[- ]?\d{2}[- ]?\d{2}(?!\d)")
_IPV4 = _re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d]|\.\d)")
_IPV6 = _re.compile(r"(?i)(?<![\w:])[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?![\w:])")
#: digits with up to three separator characters between them: "+34 612 34 56 78",
#: "(415) 555-0123", "0171.234.5678", "12 / 34 56"
_DIGIT_RUN = _re.compile(r"\d(?:[ \u00a0\u202f\t.\-‐‑‒–—/()+]{0,3}\d)*")


def _digits(s: str) -> int:
    return sum(c.isdigit() for c in s)


def _is_ipv6(s: str) -> bool:
    try:
        ipaddress.IPv6Address(s)
    except ValueError:
        return False
    return True


# -- cue lists (own lists, not the detectors'); matched case-insensitively -------------------------
#: self-introductions after which any word (lower-case too) is taken as a name
_STRONG_NAME_CUES = (
    # en
    "my name is", "my name's", "my full name is", "my first name is", "my last name is", "my surname is",
    "the name is", "name's", "full name", "first name", "last name", "surname", "account holder is",
    "the account holder is", "the name on the account is", "the card holder is", "cardholder name",
    # es
    "me llamo", "mi nombre es", "mi nombre completo es", "mi apellido es", "mis apellidos son", "nombre completo",
    "titular de la cuenta es", "el titular de la cuenta es", "titular de la tarjeta es", "nombre del titular",
    "la cuenta está a nombre de", "está a nombre de", "a nombre de",
    "titular da conta é", "o titular da conta é", "titular do cartão é", "nome do titular",
    "le titulaire du compte est", "titulaire du compte", "der kontoinhaber ist", "kontoinhaber",
    "l'intestatario è", "intestatario", "de rekeninghouder is", "rekeninghouder",
    # fr
    "je m'appelle", "je m’appelle", "mon nom est", "mon nom c'est", "mon prénom est", "nom complet",
    # de
    "ich heiße", "ich heisse", "mein name ist", "mein vorname ist", "mein nachname ist", "vollständiger name",
    # pt
    "meu nome é", "meu nome e", "me chamo", "chamo-me", "o meu nome é", "nome completo",
    # it
    "mi chiamo", "il mio nome è", "il mio nome e", "nome e cognome", "il mio cognome è",
    # nl
    "mijn naam is", "ik heet", "mijn voornaam is", "mijn achternaam is", "volledige naam",
    # pl
    "nazywam się", "nazywam sie", "mam na imię", "mam na imie", "moje imię to", "moje nazwisko to",
    "imię i nazwisko",
    # sv
    "jag heter", "mitt namn är", "mitt namn ar", "fullständigt namn",
    # da
    "jeg hedder", "mit navn er", "mit fulde navn er",
    # nb
    "jeg heter", "mitt navn er", "fullt navn",
    # fi
    "nimeni on", "minun nimeni on", "minun nimi on", "koko nimi",
    # tr
    "benim adım", "benim adim", "adım", "ismim", "benim ismim", "adı soyadı", "ad soyad",
)
#: cues after which only a capitalised word sequence is taken as a name
_WEAK_NAME_CUES = (
    # en
    "i am", "i'm", "i’m", "call me", "speaking with", "in the name of",
    "under the name", "under the name of", "is under", "registered to", "account holder", "cardholder",
    "card holder", "ask for",
    # es
    "soy", "al nombre de", "titular", "pregunte por",
    # fr
    "je suis", "moi c'est", "moi c’est", "au nom de", "titulaire",
    # de
    "ich bin", "hier ist", "hier spricht", "auf den namen", "auf den namen von", "inhaber", "inhaberin",
    # pt
    "eu sou", "sou", "aqui é", "aqui fala", "no nome de", "em nome de", "titular",
    # it
    "sono", "io sono", "a nome di", "intestato a", "intestata a", "titolare",
    # nl
    "ik ben", "u spreekt met", "op naam van", "op de naam van",
    # pl
    "jestem", "z tej strony", "na nazwisko", "na imię", "właściciel", "właścicielka",
    # sv
    "jag är", "i namnet", "på namnet", "kontoinnehavare",
    # da / nb
    "jeg er", "i navnet", "på navnet", "kontohaver", "kontoinnehaver",
    # fi
    "olen", "minä olen", "täällä", "nimellä", "tilinhaltija",
    # tr
    "adına", "adina", "hesap sahibi",
)
#: sign-offs: a capitalised name right after (on the same line after a comma, or on the next
#: line), ending its line
_SIGN_OFFS = (
    "regards", "best regards", "kind regards", "warm regards", "best", "best wishes", "thanks", "thank you",
    "many thanks", "cheers", "sincerely", "yours sincerely", "yours faithfully", "yours truly", "cordially",
    "saludos", "un saludo", "saludos cordiales", "atentamente", "muchas gracias", "gracias", "cordialement",
    "bien à vous", "bien cordialement", "merci", "salutations", "grüße", "viele grüße", "beste grüße",
    "liebe grüße", "freundliche grüße", "mit freundlichen grüßen", "mfg", "lg", "danke", "atenciosamente",
    "abraços", "abraço", "obrigado", "obrigada", "cumprimentos", "cordiali saluti", "distinti saluti",
    "saluti", "grazie", "met vriendelijke groet", "vriendelijke groeten", "groeten", "groet", "bedankt",
    "z poważaniem", "pozdrawiam", "dziękuję", "med vänliga hälsningar", "vänliga hälsningar", "hälsningar",
    "mvh", "tack", "med venlig hilsen", "venlig hilsen", "hilsen", "mvh", "tak", "med vennlig hilsen",
    "vennlig hilsen", "takk", "ystävällisin terveisin", "terveisin", "kiitos", "saygılarımla", "saygilarimla",
    "teşekkürler", "iyi günler",
    # abbreviations and closings of agents' signatures
    "pozdr.", "pozdr", "t.", "terv.", "abs", "abs.", "att", "att.", "atte", "atte.", "cdlt", "cordialmente", "bjs",
    "beijos", "un abrazo", "abrazos", "hilsner", "kram", "a presto", "groetjes", "gr.", "mvg", "selamlar",
    "sevgiler", "gruß", "grüsse", "lg,", "vg", "have a nice day", "have a great day", "have a good day",
    "que tenga un buen día", "que tengas un buen día", "bonne journée", "schönen tag noch", "einen schönen tag",
    "tenha um bom dia", "tenha um ótimo dia", "buona giornata", "fijne dag", "nog een fijne dag", "miłego dnia",
    "ha en fin dag", "ha en bra dag", "hav en god dag", "hav en fin dag", "ha en fin dag videre",
    "mukavaa päivänjatkoa", "hyvää päivänjatkoa", "iyi günler dilerim", "iyi çalışmalar",
)
#: greetings that address someone by name ("Hola Pilar,", "Dear Mr de la O:", "Huomenta Essi,")
_GREETINGS = (
    "hi", "hello", "hey", "dear", "good morning", "good afternoon", "good evening", "greetings",
    "hola", "buenos días", "buenos dias", "buenas tardes", "buenas noches", "buen día", "buen dia", "estimado",
    "estimada", "estimado/a", "estimada/o", "querido", "querida", "bonjour", "bonsoir", "salut", "cher", "chère",
    "coucou", "hallo", "guten tag", "guten morgen", "guten abend", "liebe", "lieber", "sehr geehrte",
    "sehr geehrter", "moin", "servus", "olá", "oi", "bom dia", "boa tarde", "boa noite", "prezado", "prezada",
    "prezado/a", "caro", "cara", "caro/a", "ciao", "buongiorno", "buonasera", "salve", "gentile", "egregio",
    "gentilissimo", "gentilissima", "hoi", "beste", "goedemorgen", "goedemiddag", "goedenavond", "geachte",
    "dzień dobry", "dzien dobry", "dobry wieczór", "witam", "cześć", "szanowny", "szanowna", "szanowni",
    "hej", "hejsa", "god morgon", "god dag", "god eftermiddag", "kära", "bästa", "kære", "kjære", "hei",
    "heisann", "god morgen", "moi", "terve", "huomenta", "hyvää päivää", "hyvää huomenta", "hyvää iltaa",
    "tjena", "tjenare", "hallå", "merhaba", "merhabalar", "selam", "sayın", "günaydın", "iyi günler", "iyi akşamlar", "qué tal", "que tal",
)
_THANKS = ("thanks", "thank you", "gracias", "merci", "danke", "vielen dank", "obrigado", "obrigada", "grazie",
           "bedankt", "dank", "dziękujemy", "dziękuję", "tack", "tak", "takk", "kiitos", "teşekkürler",
           "teşekkür ederiz")
#: "Line Lassen <nanni@example.org> wrote:", "From: Essi Takala <…>"
_NAME_BEFORE_EMAIL = _re.compile(
    r"(?<![\p{L}\p{M}])(\p{Lu}[\p{L}\p{M}'’-]+(?:[ \t]+(?:[\p{Ll}]{1,3}[ \t]+){0,2}\p{Lu}[\p{L}\p{M}'’-]*){0,3})"
    r"[ \t]*[<(\[][^\s<>@]+@[^\s<>]+[>)\]]")
#: a "sent from my phone" line: the name on the next line signs the message
_SENT_FROM_RE = _re.compile(
    r"(?im)^[^\n]{0,40}(?:iphone|ipad|android|outlook|samsung|galaxy|blackberry|huawei|xiaomi|smartphone|mobile|phone|"
    r"móvil|movil|celular|handy|telefon\p{L}*|puhelim\p{L}*)[^\n]{0,30}\n[ \t]*")
#: JSON keys that hold a person's name (in extras): "customer_name": "…"
_NAME_KEYS = _re.compile(
    r"(?i)\"(?:customer|client|contact|account_?holder|card_?holder|holder|recipient|sender|full|first|last|"
    r"given|family|sur|middle|user|display|billing|shipping)_?name\"\s*:\s*\"")
_ADDRESS_CUES = (
    # en
    "address", "home address", "street address", "mailing address", "billing address", "shipping address",
    "i live at", "i live in", "i live on", "living at", "lives at", "ship to", "ship it to", "send it to",
    "should go to", "it should go to", "replacement to", "send to", "deliver it to", "send the replacement to",
    "send them to", "deliver to", "deliver it to", "delivered to", "mail it to", "postcode", "post code",
    "zip code", "zip",
    # es
    "dirección", "direccion", "domicilio", "vivo en", "resido en", "envíenlo a", "envienlo a", "enviar a",
    "mándenlo a", "entregar en", "código postal", "codigo postal",
    # fr
    "adresse", "domicile", "j'habite", "j’habite", "j'habite au", "livrer à", "livrez à", "envoyer à",
    "expédier à", "code postal",
    # de
    "anschrift", "wohnort", "wohnhaft in", "ich wohne in", "ich wohne", "wohne in", "liefern an",
    "schicken an", "senden an", "postleitzahl", "plz",
    # pt
    "endereço", "endereco", "morada", "moro na", "moro no", "moro em", "resido na", "resido em",
    "enviar para", "entregar em", "entregar no", "entregar na", "cep", "código postal",
    # it
    "indirizzo", "recapito", "abito in", "abito a", "vivo a", "vivo in", "spedire a", "consegnare a",
    "residente in",
    # nl
    "adres", "woonadres", "ik woon in", "ik woon op", "woon in", "woon op", "verzenden naar", "sturen naar",
    "bezorgen op",
    # pl
    "adres", "mieszkam w", "mieszkam na", "mieszkam przy", "wysłać na", "kod pocztowy",
    # sv
    "adress", "jag bor på", "jag bor i", "bor på", "skicka till", "leveransadress", "postnummer",
    # da / nb
    "adresse", "jeg bor på", "jeg bor i", "bor på", "sende til", "send til", "postnummer",
    # fi
    "osoite", "osoitteeni", "osoitteeseen", "asun", "postinumero",
    # tr
    "adres", "adresim", "adresi", "adresine", "oturuyorum", "posta kodu",
)
#: street-type words that open an address: "Calle Mayor 12", "rue de la Paix", "via Roma 3"
_STREET_PREFIX = (
    "calle", "c/", "avenida", "avda.", "av.", "paseo", "pso.", "plaza", "pza.", "carrera", "camino",
    "ronda", "travesía", "urbanización", "glorieta", "rua", "r.", "travessa", "largo", "praça", "alameda",
    "estrada", "rodovia", "quadra", "rue", "avenue", "boulevard", "bd", "chemin", "allée", "impasse",
    "quai", "cours", "via", "viale", "piazza", "piazzale", "corso", "vicolo", "strada", "contrada",
    "ul.", "ulica", "al.", "aleja", "os.", "osiedle", "pl.", "plac", "sokak", "sokağı", "sk.", "caddesi",
    "cad.", "mahallesi", "mah.", "bulvarı",
)
#: birth-cue stems that take suffixes ("syntymäaikani", "fødselsdatoen", "urodziłam", "Geburtsdatum")
_BIRTH_STEMS = ("birth", "nacimiento", "naissance", "geburt", "nascimento", "nascita", "geboorte", "urodzi",
                "urodzen", "födelse", "fødsel", "syntymä", "syntyn", "doğum", "dogum")
_BIRTH_CUES = (
    "born", "birth", "birthday", "date of birth", "birthdate", "dob", "d.o.b.", "d.o.b", "nacido", "nacida",
    "nací", "naci", "nacimiento", "fecha de nacimiento", "né", "née", "naissance", "date de naissance",
    "geboren", "geburtsdatum", "geburtstag", "geb.", "nascido", "nascida", "nasci", "nascimento",
    "data de nascimento", "nato", "nata", "nascita", "data di nascita", "geboortedatum", "urodzony",
    "urodzona", "urodziłem", "urodziłam", "urodzenia", "data urodzenia", "född", "födelsedatum", "født",
    "fødselsdato", "fødselsdag", "syntynyt", "syntymäaika", "syntymäpäivä", "doğdum", "doğum tarihi",
    "doğum", "dogum tarihi", "synt.", "geb.", "f. nacimiento", "f. de nacimiento", "d. o. b.",
    "sono nata il", "sono nato il", "nata il", "nato il",
)


def _alternation(words, typos: bool = False) -> str:
    """A regex alternation of ``words``; with ``typos``, also one-letter slips of the words of 5+
    letters (a swap, a dropped or a doubled letter: "Witam" as "Wiatm", "Hello" as "Hllo")."""
    items = set(words)
    if typos:
        items |= {v for w in words for v in _non_pii.typo_variants(w, deletions=True)}
    return "|".join(_re.escape(w) for w in sorted(items, key=len, reverse=True))


_L = r"[\p{L}\p{M}]"
_STRONG_RE = _re.compile(rf"(?i)(?<!{_L})(?:{_alternation(_STRONG_NAME_CUES)})(?!{_L})[\s:,\-–]*")
_WEAK_RE = _re.compile(rf"(?i)(?<!{_L}|['’])(?:{_alternation(_WEAK_NAME_CUES)})(?!{_L})[ \t:,\-–]*")
_SIGN_OFF_RE = _re.compile(
    rf"(?im)(?:^|(?<=[.!?]\s))[ \t]*(?:{_alternation(_SIGN_OFFS, typos=True)})[ \t]*(?:[,!.:\-–][ \t]*\n?|\n)[ \t\n]*")
_GREETING_RE = _re.compile(
    rf"(?im)(?:^|(?<=[.!?]\s))[ \t]*(?:{_alternation(_GREETINGS, typos=True)})(?!{_L})[ \t,]+(?=[\p{{Lu}}\x00]|\p{{L}}+\.?[ \t])")
#: "Thanks for reaching out, Brandon." — a name between the comma after a thanks and the sentence end
_THANKS_RE = _re.compile(rf"(?i)(?<!{_L})(?:{_alternation(_THANKS)})(?!{_L})(?:[ \t][^,\n.!?]{{0,40}}?)?,[ \t]*")
_ADDRESS_RE = _re.compile(
    rf"(?i)(?<!{_L})(?:\p{{L}}*(?:adress|adres|address|osoit|indirizz|direcci[oó]n|endereç|endereco|domicili|"
    rf"anschrift)\p{{L}}*|(?:{_alternation(_ADDRESS_CUES)})(?!{_L}))"
    rf"(?:[ \t]*(?:[:\-–=]|is|es|est|ist|é|è|er|är|on|to|a|à|an|en|na|no|in|at|op|w|på|i|de|do|da|nova|"
    rf"new|nueva|nouvelle|neue|nuova|nieuwe|nowy|ny|nya|uusi|yeni|atual|actual|actuelle|aktuelle|attuale|"
    rf"huidige|obecny|nuvarande|nåværende|nuværende|nykyinen|mevcut)(?!{_L}))*[\s\"':,]*")
_STREET_RE = _re.compile(rf"(?i)(?<!{_L})(?:{_alternation(_STREET_PREFIX)})(?=[ \t]+[\p{{L}}\d])[ \t]*")
_POSTFIX_STREET = _re.compile(
    r"(?<![\p{L}\d])\d{1,5}[A-Za-z]?,?[ \t]+(?:\p{Lu}[\p{L}\p{M}'’.-]*[ \t]+){1,3}"
    r"(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Place|Pl|Terrace|Way|Close|"
    r"Crescent|Square|Sq|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Trail|Row|Grove|Gardens|Mews|Hill|Walk)\b\.?"
    r"|(?<!\p{L})\p{Lu}[\p{L}\p{M}-]*(?:straße|strasse|str\.|weg|gasse|allee|platz|ring|damm|ufer|straat|laan|"
    r"gracht|kade|singel|plein|dijk|gatan|vägen|gränd|gade|vej|allé|gata|gaten|veien|vei|katu|tie|kuja)"
    r"[ \t]+\d{1,4}[a-zA-Z]?(?![\p{L}\d])")
_POSTCODE_TOWN = _re.compile(
    r"(?:(?<=,[ \t]?)|(?<=^)|(?<=\n))[ \t]*(?:\d{5}|\d{4}[ \t]?[A-Z]{2}|\d{4}-\d{3}|\d{2}-\d{3}|\d{3}[ \t]\d{2}"
    r"|\d{4}|[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2})[ \t]+\p{Lu}[\p{L}\p{M}'’-]+"
    r"|(?<![\p{L}\d])[A-Z]{1,2}\d[A-Z\d]?[ \t]\d[A-Z]{2}(?![\p{L}\d])"  # UK postcode, anywhere
    r"|(?<=\p{L}{3}[ \t])(?i:[a-z]{1,2}\d[a-z\d]?[ \t]\d[a-z]{2})(?![\p{L}\d])"  # "new holly dt5h 3la"
    r"|(?<=,[ \t]?)(?i:[a-z]{2})[ \t]\d{5}(?:-\d{4})?(?!\d)"  # "Springfield, IL 62704", "…, sd 57025"
    , _re.M)
_POSTCODE_TOWN_LOWER = _re.compile(
    r"(?:(?<=,[ \t]?)|(?<=^[ \t]*)|(?<=\n[ \t]*))(?:\d{5}|\d{4}-\d{3}|\d{2}-\d{3}|\d{3}[ \t]\d{2}|\d{4})[ \t]+\p{Ll}[\p{L}\p{M}'’-]{2,}")
#: a line with words and a house number: "Edelfeltinbulevardi 1749", "52 rue Grondin", "Sítio Costela, 287"
_STREET_LINE = _re.compile(
    r"[ \t]*((?=[^\n]*\p{L}{3})(?:\d{1,5}[a-zA-Z]?,?[ \t]+[^\n\d]{3,40}|[^\n\d]{3,40}?,?[ \t]+\d{1,5}[a-zA-Z]?"
    r"(?:[ \t]*[-/,][ \t]*[^\n]{0,20})?))[ \t]*")
_DATE_SHAPE = (r"(?:\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}[./-]\d{1,2}[./-]\d{1,2}"
               r"|\d{1,2}\.?(?:[ \t]+(?:de|of))?[ \t]+\p{L}{3,}\.?(?:[ \t]+(?:de|del))?[ \t]+\d{4}"
               r"|\p{L}{3,}\.?[ \t]+\d{1,2}(?:st|nd|rd|th)?,?[ \t]+\d{4})")
_DOB_RE = _re.compile(
    rf"(?i)(?<!{_L})(?:(?:{_alternation(_BIRTH_CUES)})(?!{_L})|(?:{_alternation(_BIRTH_STEMS)}){_L}*)"
    rf"[^\n.!?\d]{{0,30}}?(?P<date>{_DATE_SHAPE})(?!\d)"
    rf"|(?<![\d.])(?P<date_before>{_DATE_SHAPE})[ \t]+(?:tarihinde[ \t]+)?(?:doğumlu|doğdum|dogumlu|dogdum){_L}*")

_WORD = _re.compile(r"[\p{L}\p{M}][\p{L}\p{M}'’\-]*")
_PARTICLES = frozenset(
    "de del de la la le les los las da das do dos di du van von der den ter ten te zu y e i af al el bin ben "
    "ibn mac st st. d' d’ dal della degli vom zur op het".split())
_TITLES = frozenset(
    "mr mr. mrs mrs. ms ms. miss dr dr. prof prof. sr sr. sra sra. srta srta. don doña dona m. mme mme. mlle "
    "monsieur madame herr frau hr. fr. sig. sig.ra signor signora dhr. mevr. meneer mevrouw pan pani "
    "bay bayan hanım herra rouva fru".split())
#: capitalised words that are not names (sentence openers, greetings, pronouns, nouns that follow
#: "I'm"/"ich bin"/"sono" …, weekdays, months, channel/product words), lower-cased
#: weekdays and months (en es fr de pt it nl): not names after "I'm", but "Hello Jan," is Jan
_CALENDAR = frozenset("""
monday tuesday wednesday thursday friday saturday sunday january february march april may june july august
september october november december mon tue wed thu fri sat sun jan feb mar apr jun jul aug sep sept oct
nov dec lunes martes miércoles miercoles jueves viernes sábado sabado domingo enero febrero marzo abril mayo
junio julio agosto septiembre setiembre octubre noviembre diciembre lundi mardi mercredi jeudi vendredi
samedi dimanche janvier février fevrier mars avril mai juin juillet août aout septembre octobre novembre
décembre montag dienstag mittwoch donnerstag freitag samstag sonntag januar februar märz juni juli oktober
dezember segunda terça terca quarta quinta sexta janeiro fevereiro março marco maio junho julho setembro
outubro novembro dezembro lunedì martedì mercoledì giovedì venerdì sabato domenica gennaio febbraio aprile
maggio giugno luglio settembre ottobre dicembre maandag dinsdag woensdag donderdag vrijdag zaterdag zondag
""".split())
_NOT_NAMES = _CALENDAR | frozenset("""
i i'm i’m im me my mine you your yours we our us he she it its they them their this that these those
here there now then today tomorrow yesterday so also just still very really not no yes ok okay sure sorry
hi hello hey dear thanks thank please welcome good great fine glad happy back calling writing looking
trying going having waiting interested unable able available new old a an the and or but if of on in at
to for from by with without about as is are was were be been am do does did have has had will would can
could should may might must order orders account customer customers client service support team help desk
agent assistant bot chat manager sales billing shipping delivery sent iphone ipad android mobile phone
email mail via premium gold silver basic pro plus member members vip guest user admin apartment apt flat
floor suite unit box po office home work
hola buenos buenas días dias tardes noches gracias por favor sí si yo tú tu usted ustedes él ella
nosotros mi mis su sus el la los las un una unos unas es soy estoy está esta muy cliente clienta pedido
cuenta servicio atención atencion lunes martes miércoles miercoles jueves viernes sábado sabado domingo
enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre noviembre diciembre
bonjour bonsoir salut merci oui non je vous nous il elle ils elles le les une mon ma mes ton ta votre vos
très tres client cliente commande compte service lundi mardi mercredi jeudi vendredi samedi dimanche
janvier février fevrier mars avril mai juin juillet août aout septembre octobre novembre décembre
hallo guten tag morgen abend danke bitte ja nein der die das ein eine einen mein meine ich sie wir er es
sehr ihr ihre ihrem ihren ihrer ihres konto kontos kunde kundin stammkunde stammkundin neukunde neukundin mitglied bestellung konto kundenservice
kundendienst montag dienstag mittwoch donnerstag freitag samstag sonntag januar februar märz juni juli
oktober dezember
olá ola oi obrigado obrigada sim não nao eu você voce o os as um uma meu minha seu sua cliente pedido conta
atendimento segunda terça terca quarta quinta sexta sábado domingo janeiro fevereiro março marco maio
junho julho setembro outubro novembro dezembro
ciao buongiorno buonasera grazie io lei lui noi il lo gli mio mia cliente ordine conto servizio lunedì
martedì mercoledì giovedì venerdì sabato domenica gennaio febbraio aprile maggio giugno luglio agosto
settembre ottobre novembre dicembre molto
goedemorgen goedemiddag goedenavond dag dank bedankt nee het een mijn ik jij u wij klant bestelling
maandag dinsdag woensdag donderdag vrijdag zaterdag zondag
dzień dzien dobry dziękuję dziekuje tak nie ja moje mój moj klient klientka zamówienie
hej tack nej jag min mitt kund beställning god
hei takk nei jeg mit kunde bestilling
moi kiitos kyllä ei minä asiakas tilaus
merhaba teşekkürler teşekkür evet hayır ben benim müşteri sipariş
""".split())
# the words of greetings, thanks and sign-offs are no names either ("Beste Grüße,")
_NOT_NAMES = _NOT_NAMES | frozenset(
    w for phrase in _SIGN_OFFS + _GREETINGS + _THANKS for w in _WORD.findall(phrase.lower()))
#: grammatical words: after "my name is" any other word is taken as a name ("April", "Marco")
_FUNCTION_WORDS = _PARTICLES | frozenset("""
a an the and or but not no nor is are was were be been am do does did have has had will would can could
shall should may might must on in at to for from by with without about as of off so also still just very
here there this that these those it its i me my mine you your he his she her we our they their them
spelled spelt written wrong incorrect different missing correct misspelled changed same listed shown
please thanks thank hi hello hey ok okay yes sorry because since while if then than
y o pero también tambien es está esta son era mal escrito mi mis tu su sus el la los las un una yo usted
et ou mais aussi est sont était faux mon ma mes ton ta votre le les un une je vous il elle
und oder aber auch ist sind war nicht falsch mein meine dein ihr ihre der die das ein eine ich sie er es
e ou mas também é são era errado não meu minha seu sua o os as um uma eu você
ma anche è sono era sbagliato non mio mia il lo gli un una io lei
en of maar ook is zijn was niet fout mijn het een ik u
i lub ale też jest są był nie moje mój ja pan pani
och eller men också är var inte fel min mitt jag ni
og eller men også er var ikke feil forkert min mitt mit jeg du
ja tai mutta myös on oli ei väärin minun minä
ve veya ama da de değil yanlış benim ben
pues vale bueno este o sea ehm eh ehh em uh um uhm hmm mm öö ää äh öh øh dus nou tja nå siis joo
cioè allora dunque tipo então né yani şey işte quoi genre ben bah alltså liksom altså typ więc no
yyy eee mmm aaa hmm euh bon ııı iii yeah yep yup nope like well right
""".split())
_CONTRACTION = _re.compile(r"\p{L}{1,3}['’]\p{Ll}")
_NOT_POSTAL = _re.compile(r"(?i)mail|\bip\b|\bip-|correo|courriel|electr|élect|\bweb|\burl\b|\blink|\blien")
_SENTENCE_END = _re.compile(r"[!?;\n]|\.(?=\s|$)")


def _capitalised(w: str) -> bool:
    return w[:1].isupper()


def _titlecase(w: str) -> bool:
    return w[:1].isupper() and (len(w) == 1 or any(c.islower() for c in w[1:]))


def _name_after(text: str, pos: int, strong: bool, *, end_of_line: bool = False,
                closed: bool = False) -> tuple[int, int] | None:
    """The name-like word sequence starting at ``pos`` (blanked surrogates may sit inside it):
    (start, end) of its non-blank name words, or None. ``end_of_line``: only when the name ends
    its line; ``closed``: only when punctuation, a line end or the text end follows it ("Hola
    Pilar," but not "Hola Team Leaders")."""
    n = len(text)
    i = pos
    first = last = None
    words = 0
    seen_blank = False
    pending_particle = False
    titled = False
    while i < n and words < 6:
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == _BLANK:
            while i < n and text[i] in _BLANK + " \t'’\"":
                i += 1
            seen_blank = True
            pending_particle = False
            continue
        m = _WORD.match(text, i)
        if not m or (m.end() < n and (text[m.end()].isdigit() or text[m.end()] == "_")):
            break  # "B0D95U13LS", "SC-345-L": a code, not a word
        w = m.group()
        low = w.lower().rstrip("'’-")
        if _CONTRACTION.match(w):
            break  # "J'y", "L'adresse", "C'est": not a name
        if (low in _TITLES or low + "." in _TITLES) and first is None and not seen_blank:
            i, titled = m.end(), True
            if i < n and text[i] == ".":  # "Sig.", "Sig.ra", "M."
                i += 1
                t = _re.match(r"(?:ra|na|a|ª|º)(?![\p{L}])", text[i:i + 3])
                i += t.end() if t else 0
            continue
        if (first is not None or seen_blank or titled) and low in _PARTICLES and not _capitalised(w):
            pending_particle = True
            i = m.end()
            continue
        if strong:  # any word but a function word; lower case only for the first three
            ok = len(low) > 1 and low not in _FUNCTION_WORDS and (_capitalised(w) or not pending_particle and words < 3)
        else:  # Titlecase only: "I'm Sorry" and "THIS IS RIDICULOUS" are not names
            stop = _NOT_NAMES - _CALENDAR if closed else _NOT_NAMES  # "Hello Jan," / "I'm Jan" is not a month
            ok = _titlecase(w) and (low not in stop or pending_particle and len(w) == 1)  # "de la O"
        if not ok:
            break
        first = m.start() if first is None else first
        last = m.end()
        words += 1
        pending_particle = False
        i = m.end()
        if i < n and text[i] == "-" and i + 1 < n and text[i + 1].isalpha():
            i += 1
    if first is None:
        return None
    if end_of_line and not _re.match(r"[ \t,.!\x00]*(?:\n|$)", text[last:last + 40]):
        return None
    if closed and not _re.match(r"[ \t\x00]*(?:[,.!?:;)\n]|$)", text[last:last + 40]):
        return None
    return first, last


def _name_around(text: str, s: int, e: int, fake: str) -> list[tuple[int, int]]:
    """Surname words the masker left after the fake name at ``text[s:e]`` (blanked in ``text``):
    a name particle, then up to three words of the fake's case style ("[fake] de la rosa",
    "[fake] van der Berg"). A bare capitalised word after a fake is not enough: where the masker
    put a fake name into a product or carrier name ("[fake] Chair Pro"), it is the product's."""
    words = _WORD.findall(fake)
    if not words:
        return []
    lower = all(w.islower() for w in words)
    if not lower and not all(_titlecase(w) or w.lower() in _PARTICLES for w in words):
        return []  # shouting or mixed: case says nothing
    i, first, last, particle, n = e, None, None, False, 0
    while n < 3 and i < len(text) and text[i] == " ":
        m = _WORD.match(text, i + 1)
        if not m or (m.end() < len(text) and (text[m.end()].isdigit() or text[m.end()] == _BLANK)):
            break
        w = m.group()
        if w.islower() and w in _PARTICLES:
            particle, i = True, m.end()
            continue
        if not particle or _CONTRACTION.match(w) or len(w) < 2 or (
                (w in _FUNCTION_WORDS or w in _NOT_NAMES or not w.islower()) if lower
                else (not _titlecase(w) or w.lower() in _NOT_NAMES)):
            break
        first = m.start() if first is None else first
        last, i, n = m.end(), m.end(), n + 1
    return [(first, last)] if first is not None else []


def _nth_line_end(text: str, pos: int, n: int) -> int:
    for _ in range(n):
        k = text.find("\n", pos)
        if k < 0:
            return len(text)
        pos = k + 1
    return pos - 1


def _segment_end(text: str, pos: int, limit: int = 90) -> int:
    """Where the address clause starting at ``pos`` ends (sentence end, line end or ``limit``)."""
    stop = min(len(text), pos + limit)
    for m in _SENTENCE_END.finditer(text, pos, stop):
        if m.group() == ".":
            word = _re.search(r"(\p{L}+)$", text[max(pos, m.start() - 8):m.start()])
            if word and (len(word.group(1)) <= 3 or word.group(1).lower() in {"str", "avda", "pza", "pso"}):
                continue  # "Av.", "St.", "ul.", "Nr."
        return m.start()
    return stop


#: a lower-case address has a house number right after a word, then a comma or the end:
#: "paseo de juan osvaldo rovira 353, 03058 burgos" (not "updated 3 days ago")
_LOWER_ADDRESS = _re.compile(r"\p{Ll}{3,}[ \t]+\d{1,5}[a-z]?(?:[ \t]*,|[ \t]*$)"
                            r"|(?<![\d.,])\d{1,5}[a-z]?[ \t]+\p{Ll}{3,}(?:[ \t]+\p{Ll}{2,}){0,4}[ \t]*(?:,|\n)", _re.M)


def _address_tokens(text: str, start: int, end: int, *, need_number: bool,
                    lower_ok: bool = False) -> tuple[int, int] | None:
    """(start, end) of the address-like tokens of ``text[start:end]``: capitalised words that are
    not stop words and digit groups; None when there is no such capitalised word (or, with
    ``need_number``, no number)."""
    first = last = None
    caps = shouted = nums = 0
    lower: list[tuple[int, int]] = []  # lower-case words: an address in a transcript ("paseo de gracia 35")
    for m in _re.finditer(r"[\p{L}\p{M}][\p{L}\p{M}'’\-]*|\d+(?:[-/:.h]\d+)*[A-Za-z]?", text[start:end]):
        w = m.group()
        s, e = start + m.start(), start + m.end()
        if w[0].isdigit():
            if not w[:-1].isdigit() and not w.isdigit():
                continue  # "30-2618", "13h30", "19:00": a code or a time, not a house number
            nums += 1
        elif _capitalised(w) and w.lower().strip("-'’") not in _NOT_NAMES:
            if _titlecase(w):
                caps += 1
            else:
                shouted += 1  # an all-caps word counts only next to a number ("742 EVERGREEN TERRACE")
        else:
            if w.islower() and len(w) > 2 and w not in _FUNCTION_WORDS and w not in _NOT_NAMES:
                lower.append((s, e))
            continue
        first = s if first is None else first
        last = e
    if need_number and not nums:
        return None
    if caps or shouted and nums:
        return first, last
    if lower_ok and nums and lower and _LOWER_ADDRESS.search(text, start, end):
        return min(first, lower[0][0]), max(last, lower[-1][1])  # nothing capitalised: a transcript
    return None


_QUOTE = _re.compile(r"(?m)^[ \t]*>(?:[ \t]*>)*[ \t]?")


def _unquote(text: str) -> str:
    """``text`` with e-mail quote markers ("> ", "> > ") at line starts turned into spaces: a
    quoted address block or signature reads like the original."""
    return _QUOTE.sub(lambda m: " " * len(m.group()), text) if ">" in text else text


def _blank(text: str, spans) -> str:
    if not spans:
        return text
    chars = list(text)
    n = len(chars)
    for sp in spans:
        for k in range(max(0, sp[0]), min(n, sp[1])):
            chars[k] = _BLANK
    return "".join(chars)


def scan_text(text: str, surrogates=(), non_pii=None, declared=()) -> list[Hit]:
    """PII-shaped pieces of the masked ``text`` outside the ``surrogates`` ((start, end) or
    (start, end, entity type) in ``text``) and outside declared non-PII matches (``non_pii``:
    patterns, default the built-in list plus the user file; ``declared``: more (start, end) known
    not to be PII)."""
    if not text:
        return []
    patterns = _non_pii.load() if non_pii is None else non_pii
    s_text = _unquote(_blank(text, surrogates))
    if not any(c.isdigit() or c.isalpha() for c in s_text):
        return []
    people = [(sp[0], sp[1]) for sp in surrogates if len(sp) > 2 and sp[2] == pii.PERSON]
    # declared non-PII only ever removes findings: a text with none without it is done (most are)
    if not _scan(s_text, s_text, text, people):
        return []
    # declared formats are looked for with the fakes blanked and, where there are fakes, in the masked
    # text as it stands: a tracking number the masker cut with a fake is still a tracking number
    spans = _non_pii.declared_spans(s_text, patterns) + list(declared)
    if surrogates:
        spans += _non_pii.declared_spans(_unquote(text), patterns)
    return _scan(_blank(s_text, spans), s_text, text, people)


def _scan(n_text: str, s_text: str, text: str = "", people=()) -> list[Hit]:
    """The rules on ``n_text`` (surrogates and declared non-PII blanked); dates of birth on
    ``s_text`` (surrogates blanked only); name words around the fake names ``people`` (spans in
    ``text``, the masked text)."""
    hits: list[Hit] = []
    work = n_text

    def take(rx, kind, ok=lambda s: True):
        nonlocal work
        found = [(m.start(), m.end()) for m in rx.finditer(work) if ok(m.group())]
        hits.extend(Hit(s, e, kind) for s, e in found)
        work = _blank(work, found)

    take(_EMAIL, EMAIL)
    take(_IBAN, IBAN, lambda s: _digits(s) >= 8)
    take(_NATIONAL_IDS, NATIONAL_ID)
    take(_IPV4, IP, lambda s: all(int(p) <= 255 for p in s.split(".")))
    take(_IPV6, IP, _is_ipv6)
    for m in _DIGIT_RUN.finditer(work):
        d = _digits(m.group())
        if d >= MIN_DIGITS:
            hits.append(Hit(m.start(), m.end(), CARD if 13 <= d <= 19 else DIGIT_RUN))

    # names after self-introduction cues, name keys and sign-offs
    for rx, strong, eol, closed in ((_STRONG_RE, True, False, False), (_NAME_KEYS, True, False, False),
                                    (_WEAK_RE, False, False, False), (_SIGN_OFF_RE, False, True, False),
                                    (_SENT_FROM_RE, False, True, False), (_GREETING_RE, False, False, True),
                                    (_THANKS_RE, False, False, True)):
        for m in rx.finditer(n_text):
            span = _name_after(n_text, m.end(), strong, end_of_line=eol, closed=closed)
            if span:
                hits.append(Hit(span[0], span[1], NAME))
    for m in _NAME_BEFORE_EMAIL.finditer(n_text):
        words = [w for w in _WORD.findall(m.group(1)) if _titlecase(w)]
        if words and not any(w.lower() in _NOT_NAMES for w in words):
            hits.append(Hit(m.start(1), m.end(1), NAME))
    # a fake name with words of the same case style around it: what the masker left of the name
    # ("emma" + "esteve ros", "Leonardo Armendáriz" + "Niño")
    for s, e in people:
        for span in _name_around(n_text, s, e, text[s:e]):
            hits.append(Hit(span[0], span[1], NAME))
    # addresses: after an address cue, after a street-type word, street and postcode shapes
    for rx, need_number in ((_ADDRESS_RE, False), (_STREET_RE, True)):
        for m in rx.finditer(n_text):
            if rx is _ADDRESS_RE and (_NOT_POSTAL.search(n_text[max(0, m.start() - 8):m.end() + 16])
                                      or _re.search(r"@\S+\s*$", n_text[max(0, m.start() - 60):m.start()])):
                continue  # "E-Mail-Adresse", "dirección IP", "adresse e-mail"
            if "\n" in m.group():  # "Nouvelle adresse :\n52 rue Grondin\n72874 Kleinbourg": the lines below
                para = n_text.find("\n\n", m.end())
                end = len(n_text) if para < 0 else para
                end = min(end, _nth_line_end(n_text, m.end(), 3))
            else:
                end = _segment_end(n_text, m.end())
            fake = n_text.find(_BLANK, m.end(), end)
            if fake >= 0:
                # the masker replaced (part of) the address: the clause ends with its fake (what it
                # left after the fake, a postcode and town, is for the shapes below)
                end = fake + len(n_text[fake:end]) - len(n_text[fake:end].lstrip(_BLANK))
            span = _address_tokens(n_text, m.start() if need_number else m.end(), end, need_number=need_number,
                                   lower_ok=not need_number)
            if span:
                hits.append(Hit(span[0], span[1], ADDRESS))
    for rx in (_POSTFIX_STREET, _POSTCODE_TOWN, _POSTCODE_TOWN_LOWER):
        for m in rx.finditer(n_text):
            s = m.start() + len(m.group()) - len(m.group().lstrip())
            last = m.group().split()[-1] if m.group().strip() else ""
            if not last or last.lower() in _NOT_NAMES or rx is _POSTCODE_TOWN_LOWER and last in _FUNCTION_WORDS:
                continue
            hits.append(Hit(s, m.end(), ADDRESS))
            line = n_text.rfind("\n", 0, s)
            if line > 0 and not n_text[line:s].strip():  # a postcode line: the street line above it
                above = n_text.rfind("\n", 0, line) + 1
                st = _STREET_LINE.fullmatch(n_text, above, line)
                if st:
                    hits.append(Hit(st.start(1), st.end(1), ADDRESS))
    # sort codes look like dates ("16-27-16"): found before the declared dates are blanked
    hits.extend(Hit(m.start(), m.end(), BANK) for m in _SORT_CODE.finditer(s_text))
    # dates of birth: the declared-date exemption does not apply after a birth cue
    for m in _DOB_RE.finditer(s_text):
        g = "date" if m.start("date") >= 0 else "date_before"
        hits.append(Hit(m.start(g), m.end(g), DATE_OF_BIRTH))
    return _merge(hits)


def _merge(hits: list[Hit]) -> list[Hit]:
    """Overlapping hits of one kind as one (an address found by its cue and by its postcode)."""
    out: list[Hit] = []
    for h in sorted(set(hits), key=lambda h: (h.kind, h.start, h.end)):
        if out and out[-1].kind == h.kind and h.start < out[-1].end:
            out[-1] = Hit(out[-1].start, max(out[-1].end, h.end), h.kind)
        else:
            out.append(h)
    return sorted(out)


_HASHED_USER_ID = _re.compile(r"u_[0-9a-f]{64}")


def independent_residual_scan(masked_df: pl.DataFrame, non_pii=None) -> pl.DataFrame:
    """Findings of :func:`scan_text` in every text field of a masked frame (message contents,
    ``error`` and ``action`` strings, conversation and message ``extra_json``), with the
    masker's surrogate ledger (``masked_spans``) as the only knowledge of what was replaced; plus
    any ``user_id`` that is not a keyed hash (``u_`` + 64 hex). Columns: :data:`INDEPENDENT_SCHEMA`.
    Never the text. ``error`` and ``action`` strings have no ledger: a fake written there would
    be a finding (fail closed)."""
    if "masked_spans" not in masked_df.columns:
        raise ValueError("independent_residual_scan needs a masked frame (no masked_spans column)")
    patterns = _non_pii.load() if non_pii is None else tuple(non_pii)
    cache: dict[str, list[Hit]] = {}  # texts without surrogates (assistant templates, tool JSON)

    def scan(text, spans, declared=None):  # spans: (start, end, entity type) of the fakes
        if not text:
            return []
        if spans or declared:
            return scan_text(text, spans or (), patterns, [declared] if declared else ())
        hit = cache.get(text)
        if hit is None:
            hit = cache[text] = scan_text(text, (), patterns)
        return hit

    out: list[dict] = []

    def add(cid, index, field, hits):
        out.extend({"conversation_id": cid, "message_index": index, "field": field, "kind": h.kind,
                    "start": h.start, "end": h.end} for h in hits)

    for cid, uid, msgs, extra, spans in zip(
        masked_df["conversation_id"].to_list(), masked_df["user_id"].to_list(), masked_df["messages"].to_list(),
        masked_df["extra_json"].to_list(), masked_df["masked_spans"].to_list(),
    ):
        by_index: dict[int, list[tuple[int, int]]] = {}
        for sp in spans or []:
            by_index.setdefault(sp["message_index"], []).append((sp["start"], sp["end"], sp["entity_type"]))
        if uid is not None and not _HASHED_USER_ID.fullmatch(uid):
            add(cid, None, "user_id", [Hit(0, len(uid), USER_ID)])
        add(cid, None, "extra_json", scan(extra, by_index.get(TOP_EXTRA_INDEX)))
        previous = None
        for i, m in enumerate(msgs or []):
            content = m.get("content")
            add(cid, i, "content", scan(content, by_index.get(i), _non_pii.reply_reference(previous, content)))
            previous = content
            add(cid, i, "error", scan(m.get("error"), None))
            add(cid, i, "action", scan(m.get("action"), None))
            add(cid, i, "message_extra_json", scan(m.get("extra_json"), by_index.get(message_extra_index(i))))
    return pl.DataFrame(out, schema=INDEPENDENT_SCHEMA)


def summarize_findings(findings: pl.DataFrame, first: int = 20) -> dict:
    """For check metadata: counts per kind, conversations affected, and the first ``first``
    (conversation_id, field, message_index, kind) — positions, never values."""
    by_kind = {k: int(n) for k, n in findings.group_by("kind").len().sort("kind").iter_rows()} if findings.height else {}
    where = (findings.select("conversation_id", "field", "message_index", "kind").unique(maintain_order=True)
             .head(first))
    return {"by_kind": by_kind, "conversations": findings["conversation_id"].n_unique() if findings.height else 0,
            "first": where}
