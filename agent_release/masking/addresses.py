"""The postal-address recognizer: street patterns per language, then the whole rest of the
address — unit, postcode, town, province — so that nothing of it stays in clear.

Street forms (word order of each language; street names must be capitalised, so running text
rarely matches):

- en: "221B Baker Street", "1600 Pennsylvania Ave NW, Apt 4", "Flat 12, Smith Mews",
  "Studio 3 Jones Wharf"; US military "PSC 1234, Box 5678, APO AE 09876", "Unit 2050 Box 4190",
  "USNS Vega, FPO AP 12345";
- es "Calle Mayor 12, 3º B"; fr "12 rue de la Paix"; de "Hauptstraße 5", "Am Markt 3";
  pt "Rua Augusta, 1500, apto 12"; it "Via Roma 12", "Piazza di Spagna, 3"; nl "Kerkstraat 12",
  "Prinsengracht 263-1"; pl "ul. Długa 5/3", "al. Jerozolimskie 123 m. 4"; sv "Storgatan 1,
  lgh 1102" (compound street names in de/nl/sv/da/no/fi: one pattern, a suffix list per language).

After the street, :func:`_extend` takes in, as long as they follow: a unit (Apt, piso, apto,
interno, lgh, m./lok., Whg...), a postcode + town or town + postcode in any of these formats —
5 digits (us es fr de it mx fi tr), ZIP+4, "1234 AB" (nl), "00-238" (pl), "111 22" (se),
"1000-001" (pt), "01305-100" (br), 4 digits (be ch at dk no), UK postcodes — and a province
("(MI)"). Every message runs through every pattern: an unknown locale gets them all.

Issue 15 (addresses masked whole): every line break inside one address may carry the quote
prefix of a quoted e-mail reply ("\n> ", "\n> > ", "\n>> "); a street of any capitalised name
and number counts when a postcode + town follows it ("Holmtoppen 5B\n5225 Linestrand"); an
address typed in lower case counts with a required ", postcode town" tail
(:meth:`AddressRecognizer._lower_case`); the values of pasted form fields — address / street,
postcode and town labels in the supported languages — are masked
(:meth:`AddressRecognizer._form_fields`).
"""

from __future__ import annotations

import importlib

import regex as re

from agent_release.masking.gazetteer import gazetteer
from agent_release.masking.recbase import _Base

_WC = r"\p{Lu}[\p{L}\p{M}'’\-]*"  # a capitalised word
_W = rf"(?:\p{{Lu}}\p{{L}}{{0,2}}\.|{_WC})"  # ... or a short abbreviation ("St.", "Dr.")
_CONN = (
    r"(?:de|del|de\s+la|de\s+las|de\s+los|da|das|do|dos|du|des|la|le|les|y|e|von|van|der|den|"
    r"am|an\s+der|auf\s+der|im|zum|zur|of|the|di|dei|degli|della|delle|dello|al|alla|"
    r"het|ter|ten|op|aan|aan\s+de|aan\s+den|i)"
)
_NAMESEQ = rf"{_W}(?:[ \t]+(?:{_CONN}[ \t]+)?(?:{_W}|\d{{1,3}}(?:st|nd|rd|th|º|ª)(?![\w])))" + "{0,4}"
_NAMESEQ_APOS = rf"(?:(?:d|l|dell|dall|sull|nell)['’])?{_NAMESEQ}"
_NUM = r"\d{1,5}(?:[ \t]?[A-Za-z](?![\p{L}]))?(?:[/-]\d{1,4}[A-Za-z]?)?"

_EN_SUFFIX_EXTRA = (
    "Boulevard", "Highway", "Parkway", "Alley", "Circle", "Plaza", "Trail", "Row", "Path",
    "St", "Ave", "Rd", "Ln", "Dr", "Blvd", "Ct", "Pl", "Ter", "Terr", "Cres", "Sq", "Pkwy",
    "Cir", "Hwy", "Trl", "Close", "Mews", "Gardens", "Grove", "Walk", "Hill", "Gate", "Rise",
    "Crescent", "Terrace", "Way", "Lane", "Street", "Road", "Avenue", "Drive", "Court", "Place",
    "Square", "Parade", "Embankment", "Broadway",
    # British forms the US list lacks
    "Wharf", "Yard", "Quay", "Croft", "Chase", "Drove", "Fold", "Garth", "Wynd", "Approach",
    "Circus", "Cottages", "Villas", "Vale", "End", "Side", "Lawn", "Lawns", "Copse", "Dene",
    "Esplanade", "Promenade", "Leys", "Pastures", "Paddock", "Glade", "Nook", "Brow",
)


def _en_suffixes() -> str:
    words = set(_EN_SUFFIX_EXTRA)
    try:
        words |= set(importlib.import_module("faker.providers.address.en_US").Provider.street_suffixes)
    except Exception:
        pass
    return "|".join(sorted(words, key=len, reverse=True))


_ES_TYPES = (
    r"calle|c/|avenida|avda\.?|av\.|paseo|plaza|pza\.?|camino|carrera|ronda|travesia|travesía|"
    r"callejon|callejón|calzada|bulevar|boulevard|blvd\.?|privada|cerrada|andador|circuito|"
    r"prolongacion|prolongación|retorno|pasaje|carretera|ctra\.?|glorieta|cuesta|rambla|"
    r"periferico|periférico|eje vial|diagonal|corredor|viaducto|continuacion|continuación|"
    r"ampliacion|ampliación|circunvalacion|circunvalación|peatonal|urbanizacion|urbanización|"
    r"urb\.|acceso|cañada|canada|pasadizo|c\.|alameda"
)
#: "via" / "vía" is also a preposition ("shipped via UPS 2 days ago"): capitalised only
_ES_VIA = r"(?:Vía|Via|VÍA|VIA|Vial|VIAL)"
_IT_TYPES = (
    r"via|viale|v\.le|piazza|p\.zza|p\.za|piazzale|p\.le|piazzetta|corso|c\.so|largo|vicolo|"
    r"vico|strada|borgo|contrada|c\.da|lungomare|lungotevere|lungarno|salita|traversa|galleria|"
    r"rotonda|località|localita|loc\.|frazione|fraz\.|circonvallazione|passeggiata|stradone|"
    r"vialetto|calle|campo|fondamenta|riva|incrocio|stretto|canale"
)
#: capitalised, any Italian street type; lower-case, only those that are no common word
_IT_TYPES_CAP = "(?:" + "|".join(t[0].upper() + t[1:] for t in _IT_TYPES.split("|")) + ")"
_IT_TYPES_LOWER = (
    r"via|viale|v\.le|piazza|p\.zza|p\.za|piazzale|p\.le|piazzetta|c\.so|vicolo|contrada|"
    r"c\.da|lungomare|lungotevere|lungarno|traversa|località|loc\.|frazione|fraz\.|circonvallazione"
)
_PT_TYPES = (
    r"rua|r\.|avenida|av\.|travessa|tv\.|alameda|al\.|praça|praca|estrada|estr\.|rodovia|rod\.|"
    r"largo|viela|ladeira|beco|passarela|condomínio|condominio|núcleo|nucleo|conjunto|setor|"
    r"quadra|residencial|sítio|sitio|chácara|chacara|trecho|loteamento|fazenda|esplanada|vereda|"
    r"recanto|viaduto|colônia|colonia|vila|favela|morro|distrito|pátio|patio|trevo|estação|"
    r"estacao|aeroporto|parque|jardim|praia|lagoa"
)
#: street types that are also common words elsewhere ("area", "campo"): capitalised only
_PT_TYPES_CAP = r"(?:Vale|Feira|Lago|Área|Campo)"
_FR_TYPES = (
    r"rue|avenue|av\.|boulevard|bd\.?|blvd|place|pl\.|chemin|allée|allee|impasse|quai|route|rte|"
    r"cours|passage|square|voie|sentier|faubourg|fg|cité|cite|résidence|residence|hameau|"
    r"lieu-dit|rond-point|parvis|promenade|esplanade|villa|mail|montée|montee|traverse"
)
_PL_TYPES = r"ul\.|ulica|al\.|aleja|pl\.|plac|os\.|osiedle|rondo|skwer|bulwar|wybrzeże|wyb\."
_DE_SUFFIX = r"straße|strasse|str\.|weg|allee|platz|gasse|ring|damm|ufer|chaussee|steig|pfad|markt|graben|stieg|zeile|kamp|wall|promenade"
_DE_SEPARATE = r"Straße|Strasse|Str\.|Weg|Allee|Platz|Gasse|Ring|Damm|Ufer|Chaussee|Markt"
#: compound street names in nl / sv / da / no / fi (plus the German list above) ...
_COMPOUND_SAFE = (
    _DE_SUFFIX + r"|straat|straatweg|laan|gracht|singel|dijk|steeg|dreef|plantsoen|plein|"
    r"boulevard|gatan|vägen|gränd|torget|allén|stigen|gade|vej|vænget|stræde|veien|"
    r"gaten|katu|kuja|polku"
)
#: ... of which these are distinctive enough after a one-letter stem ("Nytorget", "Ekvägen");
#: the others need two ("Spring 2" is no street)
_COMPOUND_SHORT_STEM = (
    r"straße|strasse|straat|gatan|vägen|gränd|torget|stigen|gade|vej|veien|gaten|laan|gracht|"
    r"singel|dijk|steeg|dreef|plein|allee|allén|platz|gasse|katu|kuja|polku"
)
_COMPOUND_RISKY = (
    r"tie|kade|gata|hof|berg|burg|dal|dam|park|meer|wijk|veld|haven|baan|wal|pad|erf|weide|zijde|donk|beek|"
    r"brink|horst|akker|oord|poort|hout|hoven|torg|plan|stig|backe|backen|leden|plass|plassen|"
    r"torv|tori|rinne|kaari|väg"
)
_NL_PREFIX = (
    r"(?:(?:Van|De|Den|Het|Sint|St\.|Oude|Nieuwe|Korte|Lange|Grote|Kleine|Hoge|Lage|Eerste|Tweede|"
    r"Derde|Burgemeester|Burg\.|Dokter|Dr\.|Prins|Koning|Koningin|Gamla|Norra|Södra|Östra|Västra|"
    r"Lilla|Stora|Nya|Nørre|Søndre|Vester|Øster|Gammel|Ny)[ \t]+)*"
)

_UNIT_EN = r"(?:,?[ \t]+(?i:Apt\.?|Apartment|Suite|Ste\.?|Unit|Flat|Fl\.?|Floor|#)[ \t]*[\w-]{1,6})"
_UNIT_ES = (
    r"(?:[ \t]*,?[ \t]*(?i:\d{1,2}[º°ª]\.?(?:[ \t]*(?:[A-Z](?![\w])|izda\.?|dcha\.?|izq\.?|der\.?|\d{1,2}[º°ª]))?|"
    r"piso[ \t]+\d+|puerta[ \t]+\d+|int(?:erior|\.)?[ \t]*\d+|depto\.?[ \t]*\d+|"
    r"dpto\.?[ \t]*\d+|edif\.?[ \t]*\d+|apt\.?[ \t]*\d+|bajo|ático|atico|local[ \t]+\d+|"
    r"esc\.?[ \t]*\w))"
)
_UNIT_PT = r"(?:[ \t]*[,-][ \t]*(?i:apto?\.?|apartamento|casa|bloco|sala|conj\.?)[ \t]*\d+\w?)"
#: a unit after any street: en, es, pt, it, fr, de, nl, pl, sv
_UNIT_ANY = re.compile(
    r"(?:[ \t]*,[ \t]*|[ \t]+)(?i:(?:apt\.?|apartment|suite|ste\.?|unit|flat|floor|fl\.?|"
    r"piso|puerta|depto\.?|dpto\.?|edif\.?|edificio|interior|apto?\.?|apartamento|bloco|sala|casa|"
    r"interno|int\.|scala|piano|appartamento|app\.?|appartement|bât\.?|bat\.?|bâtiment|batiment|"
    r"escalier|esc\.|whg\.?|wohnung|lgh\.?|lägenhet|m\.|lok\.|lokal|mieszk\.?)[ \t]*"
    r"(?:nr\.?[ \t]*|n[º°o]\.?[ \t]*)?(?=[\w-]{0,5}\d|[A-Za-z](?![\w]))[\w-]{1,6}(?![\w])"
    r"|#[ \t]*\d{1,5}(?![\w])|\d{1,2}[ \t]*(?:tr|trappor|vån)\.?(?![\w])|(?i:bis|ter|quater)(?![\w]))"
)

_CITY_CONN = (
    rf"(?:{_CONN}|upon|on|under|sur|sous|lès|lez|en|nad|pod|bei|ob|in|im|al|sul|sulla|las|los|el|il|lo|"
    r"aan\s+den|bij|ad|an)"
)
_WC_CITY = rf"{_WC}(?:\.-?\p{{Lu}}[\p{{L}}\p{{M}}'’\-]*)?"  # ... "St.-Jacobiparochie"
_CITY = (
    rf"(?:['’]s-)?{_WC_CITY}(?:(?:[ \t]+(?:{_CITY_CONN}[ \t]+){{0,2}}|(?:(?<=(?<![\p{{L}}])\p{{Lu}}\p{{Ll}}{{0,2}})\.)?[ \t]+|[ \t]+(?:nell|dell|sull|d|l)['’])"
    rf"{_WC_CITY}){{0,4}}"
)
#: a line break inside one address, with the quote prefix of a quoted e-mail reply at the next
#: line's start ("\n> ", "\n> > ", "\n>> ")
_NL = r"\r?\n(?:[ \t]*>)*[ \t]*"
#: between the street line and the city line: ", " or a line break (addresses in email bodies)
_SEP = rf"(?:[ \t]*[,;][ \t]*(?:{_NL})?|[ \t]*{_NL})"
_POST5 = r"(?:C\.?P\.?[ \t]*)?\d{5}(?:-\d{3,4})?"
_STATE = r"(?:,[ \t]*(?:[A-Z][A-Za-z]{0,3}\.(?:[A-Z]\.)?|[A-Z]{2,4})(?![\w]))"
_TAIL_EU = rf"(?:(?:{_SEP}|[ \t]+){_POST5}[ \t]+{_CITY}{_STATE}?|{_SEP}{_CITY},?[ \t]+{_POST5})"
_TAIL_US = rf"(?:{_SEP}{_CITY},?[ \t]+[A-Z]{{2}}[ \t]+\d{{5}}(?:-\d{{4}})?)"
_UK_POST = r"[A-Z]{1,2}\d[A-Z\d]?[ \t]*\d[A-Z]{2}(?![\w])"
_TAIL_UK = rf"(?:{_SEP}(?:{_CITY},?[ \t]+)?{_UK_POST})"
_CEP = r"(?:CEP:?[ \t]*)?\d{5}-?\d{3}"
_TAIL_BR = (
    rf"(?:(?:[ \t]*[-,][ \t]*|{_SEP}){_CITY}(?:(?:[ \t]*[-,][ \t]*|{_SEP}){_CITY})?"
    rf"(?:[ \t]*[,/-][ \t]*[A-Z]{{2}}(?![\w]))(?:[ \t]*,?[ \t]*{_CEP})?"
    rf"|(?:[ \t]*[-,][ \t]*|{_SEP}){_CITY}[ \t]*,?[ \t]*{_CEP}|[ \t]*,?[ \t]*{_CEP})"
)
_WU = r"\p{Lu}[\p{Lu}'’\-]+"  # a word in capitals
_CITYU = rf"{_WU}(?:[ \t]+{_WU}){{0,3}}"
_COLONIA = rf"(?:,?[ \t]*(?i:col\.|colonia|fracc\.|fraccionamiento|barrio|bairro)[ \t]*{_CITY})"

#: postcodes of the supported countries, longest forms first
_POSTCODE = (
    r"(?:CEP:?[ \t]*\d{5}-?\d{3}|\d{5}-?\d{3}(?!\d)|(?:C\.?P\.?[ \t]*|[A-Z]{1,2}-)?\d{5}(?:-\d{4})?"
    r"|\d{4}[ \t]?(?!SA|SD|SS)[A-Z]{2}|\d{2}-\d{3}|(?:SE-|S-)?\d{3}[ \t]\d{2}|\d{4}-\d{3})(?![\w])"
)
_POSTCODE4 = r"(?:[A-Z]{1,2}-)?\d{4}(?![\w])"
_PROVINCE = (
    r"(?:[ \t]*\((?:\p{Lu}{2}|\p{Lu}\p{Ll}+(?:[ \t]+\p{Lu}\p{Ll}+)?)\)|[ \t]*[/-][ \t]*[A-Z]{2}(?![\w])"
    r"|,?[ \t]+\p{Lu}{2}(?=[ \t]*(?:$|[,.;:!?\n)]))|,[ \t]*\p{Lu}{3,4}(?=[ \t]*(?:$|[,.;:!?\n)])))"
)
#: a US / MX state before the ZIP: "CA", "JAL", "Q. ROO", "N.L."
_STATE_ABBR = r"(?:[A-Z]{2,4}|[A-Z]\.[ \t]?[A-Z]{1,4}\.?)"
#: a town right after its postcode may open with a particle ("das Neves", "la Spezia")
#: ... and may end in lower-case words after a particle ("San Jorge los altos, MOR") or name
#: its province after a slash ("Odunpazarı/Eskişehir", "Konak/İzmir")
_TOWN = (
    rf"(?:(?:da|das|de|do|dos|la|le|les|el|los|las|di|del)[ \t]+)?{_CITY}"
    rf"(?:[ \t]+(?:los|las|de|del|la|el)[ \t]+\p{{Ll}}{{3,}}(?=[ \t]*(?:,|\(|\r?\n|$)))?"
    rf"(?:[ \t]*/[ \t]*(?!\p{{Lu}}{{2}}(?![\p{{L}}])){_CITY})?"
)
_TSEP = rf"(?:[ \t]*[,;][ \t]*(?:{_NL})?|[ \t]*{_NL}|[ \t]+[-–|][ \t]+)"
_TAIL_ANY = re.compile(
    # a district line first, sometimes: "Rua X, 13\nMangabeiras\n15736-819 Curitiba / PR"
    rf"(?:{_TSEP}(?=\p{{Lu}})[^\n,;:!?]{{2,40}}?(?=[ \t]*(?:,|\r?\n)))?"
    rf"(?:"
    # postcode, then town: "00184 Roma", "1234 AB Amsterdam", "00-238 Warszawa", "111 22
    # Stockholm", "28014, Madrid", "20121 Milano (MI)", "1016 GV\nAmsterdam"; a 4-digit postcode
    # only after a comma or line break ("1000 Bruxelles", not "5 1234 Euro")
    rf"(?:(?:{_TSEP}|[ \t]+){_POSTCODE}|{_TSEP}{_POSTCODE4})(?:[ \t]*,[ \t]*|{_SEP}|[ \t]+){_TOWN}{_PROVINCE}?"
    # town, then postcode: "Madrid, 28014", "Springfield, IL 62704", "Nueva Togo, HGO 40562-2415",
    # "London\nNW1 6XE"
    # "Castro Grande - RS, 93877-237"
    rf"|{_TSEP}{_CITY}(?:(?:,?[ \t]+|[ \t]*[-/][ \t]*){_STATE_ABBR}(?:[ \t]*,)?[ \t]+|,?[ \t]+|{_SEP})"
    rf"(?:{_POSTCODE}|{_UK_POST})"
    # a postcode line of its own (UK): "\nNW1 6XE"
    rf"|{_TSEP}{_UK_POST})"
)
#: a town after a street pattern that ended on its postcode ("..., 22003-322 Dias do Oeste / PI")
_ENDS_IN_POSTCODE = re.compile(rf"(?:{_POSTCODE}|{_POSTCODE4})$")
_TOWN_AFTER_POSTCODE = re.compile(rf"(?:[ \t]*,[ \t]*|[ \t]+){_TOWN}{_PROVINCE}?")
#: a second bare number (Mexican "exterior interior": "Fuentes 224 538"), kept only with a tail
_BARE_NUMBER = re.compile(r"[ \t]+\d{1,5}(?![\w])")
_PROVINCE_AFTER = re.compile(_PROVINCE)
#: a house number not followed by a Turkish door ("No: 49 D: 25": "49 D" is no "49D")
_NUM_DOOR = _NUM.replace(r"(?![\p{L}])", r"(?![\p{L}:])")
#: a street of any name: capitalised words, a house number (Turkish "No: 49 D: 25"), a district
_GENERIC_STREET = (
    rf"(?:{_NUM}[ \t]+{_W}(?:[ \t]+{_W}){{1,3}}(?=[ \t]*(?:,|\r?\n))|(?P<street>{_W}(?:[ \t]+(?:{_CONN}[ \t]+)?{_W}){{0,3}}),?[ \t]+(?:(?i:no|nr|n[º°o])\.?:?[ \t]*)?{_NUM_DOOR}(?![\d])"
    rf"(?:[ \t]+(?:D|Daire|Kat)\.?:?[ \t]*\d{{1,4}}(?![\w]))?(?:[ \t]+{_WC}(?=[ \t]*(?:,|\r?\n)))?)"
)
#: addresses typed in lower case ("vivo en avenida de curro salvà 6 puerta 3, 32782 castellón"):
#: a street, then — required — ", postcode town" or ", town[, state] postcode"
_LW = r"\p{L}[\p{L}\p{M}'’\-]*"
_LC_TYPES = "|".join(sorted(set(
    "|".join((_ES_TYPES, _IT_TYPES, _PT_TYPES, _PL_TYPES, "vale|feira|lago|área|campo|vial")).split("|")), key=len, reverse=True))
#: street words after the street's name: Turkish, and separate Nordic / German / Dutch ones
_TR_TYPES = (
    r"bulvarı|bulvari|caddesi|cad\.|sokak|sokağı|sk\.|mahallesi|mah\.|allé|alle|allee|tie|vej|gade|"
    r"veien|gata|gatan|vägen|väg|weg|straße|strasse|straat|laan|steeg"
)
_LC_NO = r"(?:(?i:no|nr|n[º°o]|núm)\.?:?[ \t]*)?"
_LC_POST = (
    r"(?i:\d{5}-\d{3,4}|\d{5}|\d{4}[ \t]?(?!sa|sd|ss)[a-z]{2}|\d{4}|\d{2}-\d{3}|\d{3}[ \t]\d{2}"
    r"|[a-z]{1,2}\d[a-z\d]?[ \t]*\d[a-z]{2})(?![\w])"
)
_LC_TOWN = rf"{_LW}(?:(?:[ \t]+|[ \t]*/[ \t]*){_LW}){{0,3}}"
_LC_STREET = re.compile(
    rf"(?<![\w.,'’])(?:"
    rf"{_NUM},?[ \t]+(?i:{_FR_TYPES})[ \t]+{_LW}(?:[ \t]+{_LW}){{0,3}}"
    rf"|{_NUM}[ \t]+{_LW}(?:[ \t]+{_LW}){{0,2}}[ \t]+(?i:{_en_suffixes()})(?![\w])\.?"
    rf"|(?i:{_LC_TYPES})[ \t]+{_LW}(?:[ \t]+{_LW}){{0,3}},?[ \t]+{_LC_NO}{_NUM_DOOR}"
    rf"|(?:{_WC}[ \t]+)?{_LW}[ \t]+(?i:{_TR_TYPES})[ \t]+{_LC_NO}{_NUM_DOOR}(?:[ \t]+(?i:d|daire|kat)\.?:?[ \t]*\d{{1,4}}(?![\w]))?"
    rf"|(?i:flat|apt\.?|apartment|unit|suite|studio)[ \t]+\w{{1,5}},?[ \t]+(?:{_NUM}[ \t]+)?{_LW}(?:[ \t]+{_LW}){{0,2}}[ \t]+(?i:{_en_suffixes()})(?![\w])\.?"
    rf"|(?P<single>\p{{L}}[\p{{L}}\p{{M}}'’\-]{{4,}})[ \t]+{_NUM_DOOR})(?![\d])"
)
_LC_TAIL = re.compile(
    rf"(?:[ \t]+\d{{1,5}}(?![\w]))?(?:[ \t]+{_LW}(?=[ \t]*,[ \t]*\d))?(?:[ \t]*-[ \t]*{_LW}(?:[ \t]+{_LW}){{0,2}})?(?:[ \t]*,[ \t]*|[ \t]*{_NL})(?:"
    rf"{_LC_POST}[ \t]+{_LC_TOWN}(?:[ \t]*\({_LW}\)|[ \t]*,[ \t]*(?i:[a-z]\.[ \t]?[a-z]{{2,4}}|[a-z]{{2,4}})(?![\w]))?"
    rf"|{_LC_TOWN}(?:[ \t]*[-,][ \t]*(?i:[a-z]{{2}}))?[ \t]*,?[ \t]+{_LC_POST})"
)
#: pasted form fields: "Address: …", "Postcode: …", "City: …" in the supported languages; the
#: value after the label is masked (an address or street value needs a digit, a postcode value
#: is one, a town value is a few words without digits)
_LABEL_START = r"(?:^|(?<=\n)|(?<=[.!?][ \t]))(?:[ \t]*>)*[ \t]*"
_LABEL_END = r"[ \t]*(?::|[ \t]-(?=[ \t]|$)|\t)[ \t]*"
_ADDRESS_LABEL = re.compile(
    _LABEL_START + r"(?i:(?!e-?mail|ip|mac|web|correo|courriel|url)(?:\p{L}+[ \t]+){0,2}\p{L}*"
    r"(?:address|adresse|adress|adres|anschrift|osoite|indirizzo|endereço|endereco|dirección|direccion|"
    r"domicilio|street|straße|strasse|calle|rue|rua|straat|ulica|gata|gatuadress)"
    r"(?:[ \t]+(?:de|du|di|da|do|des|der|for|of)?[ \t]*\p{L}+){0,2})" + _LABEL_END,
    re.M,
)
_POSTCODE_LABEL = re.compile(
    _LABEL_START + r"(?i:post[ \t]?code|postal[ \t]+code|zip(?:[ \t]?code)?|c[óo]digo[ \t]+postal|code[ \t]+postal|"
    r"plz|postleitzahl|cep|cap|kod[ \t]+pocztowy|postnummer|postinumero|posta[ \t]+kodu|c\.p\.)" + _LABEL_END
    + r"(?=[\w -]{0,4}\d)(?P<value>[\w]{1,5}(?:[ \t-][\w]{1,5})?)(?![\w])",
    re.M,
)
_TOWN_LABEL = re.compile(
    _LABEL_START + r"(?i:city|town|ciudad|localidad|población|poblacion|ville|localité|localite|ort|wohnort|stadt|"
    r"cidade|município|municipio|città|citta|comune|località|plaats|woonplaats|miejscowość|miasto|postort|"
    r"kaupunki|postitoimipaikka|şehir|sehir)" + _LABEL_END
    + rf"(?P<value>(?!\d){_CITY}(?:[ \t]*[/(,-][ \t]*{_CITY}\)?)?)[ \t]*(?=\r?\n|$)",
    re.M,
)
#: one line of a form value; a line of its own that looks like the next label ends the value
_VALUE_LINE = re.compile(r"[^\n]*")
_SENTENCE_END = re.compile(r"(?<=\p{Ll}{3})[.!?][ \t]+(?=\p{Lu})")
_NL_RE = re.compile(_NL)
_NEXT_LABEL = re.compile(r"[^:\n]{1,30}(?::|[ \t]-(?:[ \t]|$)|\t)|[^\n]*:|\p{Ll}")
_MILITARY_LINE = r"(?:APO|FPO|DPO)[ \t]+(?:AA|AE|AP)[ \t]+\d{5}(?:-\d{4})?(?![\w])"


def _address_patterns() -> list[tuple[str, object, float, tuple[str, ...] | None]]:
    en = _en_suffixes()
    ci = "(?i:{})"
    pats = [
        # 221B Baker Street, 742 Evergreen Terrace, 1600 Pennsylvania Ave NW, Apt 4
        ("en", rf"(?<![\w.,])(?:(?i:Flat|Apt\.?|Apartment|Unit|Suite|Studio)[ \t]+\w{{1,5}},?[ \t]+)?{_NUM}[ \t]+(?P<street>{_NAMESEQ})[ \t]+(?i:{en})\b\.?(?:[ \t]+(?:NW|NE|SW|SE|N|S|E|W)\b)?{_UNIT_EN}?(?:{_TAIL_US}|{_TAIL_UK})?", 0.9),
        # Flat 12, Smith Mews / Studio 3\nJones Wharf: a unit, then a street without a number
        ("en", rf"(?<![\w])(?i:Flat|Studio|Apartment|Apt\.?|Suite|Maisonette|Penthouse)[ \t]+\d{{1,4}}[A-Za-z]?(?:[ \t]*,[ \t]*|[ \t]*{_NL}|[ \t]+)(?:{_NUM}[ \t]+)?(?P<street>{_NAMESEQ})[ \t]+(?i:{en})\b\.?", 0.9),
        # US military: PSC 1234, Box 5678 / Unit 2050 Box 4190 / USNS Vega, then APO|FPO|DPO AA|AE|AP 12345
        ("en", rf"(?<![\w])(?:(?:(?:Unit|PSC|CMR)[ \t]+\d{{1,5}}(?:[ \t]*,)?[ \t]+Box[ \t]+\d{{1,5}}|(?:USS|USNS|USNV|USCGC|USAV)[ \t]+{_NAMESEQ})(?:{_SEP}|[ \t]+){_MILITARY_LINE}|(?:Unit|PSC|CMR)[ \t]+\d{{1,5}}(?:[ \t]*,)?[ \t]+Box[ \t]+\d{{1,5}}(?![\w])(?:[ \t]*,?[ \t]+{_MILITARY_LINE})?)", 0.9),
        ("en", rf"(?<![\w]){_MILITARY_LINE}", 0.85),
        # written in capitals (shouting customers): only with a US or UK city/postcode tail, which
        # running capitals never have: "3751 SEAN CRESCENT, APT 24D, SEATTLE, WA 98110"
        ("en", rf"(?<![\w.,]){_NUM}[ \t]+(?P<street>{_WU}(?:[ \t]+{_WU}){{0,3}})[ \t]+(?i:{en})\b\.?"
               rf"(?:[ \t]+(?:NW|NE|SW|SE|N|S|E|W)\b)?{_UNIT_EN}?"
               rf"(?P<tail>{_SEP}{_CITYU},?[ \t]+[A-Z]{{2}}[ \t]+\d{{5}}(?:-\d{{4}})?"
               rf"|{_SEP}(?:{_CITYU},?[ \t]+)?[A-Z]{{1,2}}\d[A-Z\d]?[ \t]*\d[A-Z]{{2}})(?![\w])", 0.85),
        # Calle Mayor 12, 3º B, 28013 Madrid / Av. Insurgentes Sur 1234 int. 5, Col. Roma Norte,
        # 06700 Ciudad de México, CDMX / Calle 60 123
        ("es", rf"(?<![\w])(?:{ci.format(_ES_TYPES)}|{_ES_VIA})[ \t]+(?:{_CONN}[ \t]+)?(?:{_NAMESEQ}|\d{{1,3}}[A-Z]?),?[ \t]+(?:(?i:n[º°o]\.?|núm\.?|num\.?|no\.?|#)[ \t]*)?{_NUM}(?![\d]){_UNIT_ES}{{0,3}}{_COLONIA}?{_TAIL_EU}?", 0.9),
        # Via Roma 12 / Piazza di Spagna, 3 / viale dei Mille n. 5 / Corso Italia 12/A
        ("it", rf"(?<![\w])(?:{_IT_TYPES_CAP}|(?:{_IT_TYPES_LOWER}))[ \t]+(?:{_CONN}[ \t]+)?(?=(?:d|l|dell|dall|sull|nell)['’]|\p{{Lu}}\p{{Ll}}|\p{{Lu}}\.){_NAMESEQ_APOS},?[ \t]+(?:(?i:n\.?|n[º°]|nr\.?|civico)[ \t]*)?{_NUM}(?![\d])", 0.9),
        # 12 rue de la Paix, 75002 Paris / 81, boulevard de Nicolas / 3 bis avenue Foch
        ("fr", rf"(?<![\w.,])\d{{1,4}}(?:[ \t]?(?i:bis|ter|quater|[A-C])(?![\p{{L}}]))?,?[ \t]+(?:{ci.format(_FR_TYPES)})[ \t]+(?:{_CONN}[ \t]+|(?:d|l)['’])?{_NAMESEQ_APOS}{_TAIL_EU}?", 0.9),
        # Hauptstraße 5, Anna-Marie-Wulff-Weg 12a, Kerkstraat 12, Storgatan 1, Nørregade 3
        ("de", rf"(?<![\w]){_NL_PREFIX}(?:\p{{Lu}}\.-)?(?:\p{{Lu}}\p{{L}}*-\p{{Lu}}[\p{{L}}\-]*[ \t]+)?(?:\p{{Lu}}[\p{{L}}\-]?(?i:{_COMPOUND_SHORT_STEM})|\p{{Lu}}[\p{{L}}\-]{{2,}}(?:(?i:{_COMPOUND_SAFE})|(?P<risky>(?i:{_COMPOUND_RISKY}))))[ \t]+\d{{1,4}}(?:[ \t]?[a-zA-Z](?![\p{{L}}]))?(?:[/-]\d{{1,4}}[a-z]?)?(?:-?(?:I{{1,3}}|IV|hs|bis)(?![\w]))?(?![\d]){_TAIL_EU}?", 0.9),
        # Laan van Meerdervoort 52 / Plein 1992 3 / Oude Gracht 12: a Dutch street word first
        ("nl", rf"(?<![\w])(?:(?:Oude|Nieuwe|Korte|Lange|Hoge|Lage)[ \t]+)?(?:Laan|Plein|Kade|Singel|Gracht|Dreef|Straatweg|Dijk)[ \t]+(?:(?:van|der|de|den|het|op|ter|ten|aan|in|over|'t)[ \t]+)*{_NAMESEQ}[ \t]+\d{{1,4}}(?:[ \t]?[a-zA-Z](?![\p{{L}}]))?(?:-\d{{1,4}})?(?![\d])", 0.88),
        # Berliner Straße 5 / Unter den Linden 5 / Am Markt 3
        ("de", rf"(?<![\w])(?:{_W}[ \t]+(?:{_DE_SEPARATE})|(?:Am|An der|Auf dem|Auf der|Im|In der|Unter den|Zum|Zur|Hinter der|Vor dem)[ \t]+{_W})[ \t]+\d{{1,4}}(?:[ \t]?[a-zA-Z](?![\p{{L}}]))?(?:[/-]\d{{1,4}}[a-z]?)?(?![\d]){_TAIL_EU}?", 0.88),
        # ul. Długa 5/3 / al. Jerozolimskie 123 m. 4 / ul. 3 Maja 5 / ul. św. Marcina 12
        ("pl", rf"(?<![\w])(?:{ci.format(_PL_TYPES)})[ \t]*(?:(?i:św\.|sw\.|gen\.|ks\.|prof\.|dr\.|bp\.|marsz\.|kard\.|im\.)[ \t]*)*(?:\d{{1,2}}[ \t]+)?{_NAMESEQ},?[ \t]+\d{{1,4}}[A-Za-z]?(?:[ \t]*/[ \t]*\d{{1,4}}[A-Za-z]?)?(?:[ \t]+(?:m\.?|lok\.?|lokal|mieszk\.)[ \t]*\d{{1,4}})?(?![\d])", 0.9),
        # Rua Augusta 1500 / Rua Augusta, 1500, apto 12 - Jardim Paulista, São Paulo - SP, 01305-100
        ("pt", rf"(?<![\w])(?:{ci.format(_PT_TYPES)}|{_PT_TYPES_CAP})[ \t]+(?:(?:de|da|do|das|dos)[ \t]+)?{_NAMESEQ},?[ \t]+(?:(?i:n[º°o]\.?)[ \t]*)?{_NUM}(?![\d]){_UNIT_PT}?{_TAIL_BR}?", 0.9),
        # number-less, but with a postcode + town after it: "chemin Carpentier\n26783 Saint-Aurore"
        ("tail", rf"(?<![\w])(?:{ci.format(_FR_TYPES)}|{ci.format(_ES_TYPES)}|{_ES_VIA}|{_IT_TYPES_CAP}|{ci.format(_IT_TYPES_LOWER)}|{ci.format(_PT_TYPES)}|{_PT_TYPES_CAP}|{ci.format(_PL_TYPES)})[ \t]+(?:{_CONN}[ \t]+|(?:d|l)['’])?(?=\p{{Lu}}|(?:d|l|dell|dall|sull|nell)['’]){_NAMESEQ_APOS}", 0.85),
        # any capitalised street name and number, counted only with a postcode + town after it
        # (streets without a known street word: "Holmtoppen 5B\n5225 Linestrand", "Siam Allé 1",
        # "Akar Sokak No: 49 D: 25 Odunpazarı\n26025 Odunpazarı/Eskişehir")
        ("tail", rf"(?<![\w.,]){_GENERIC_STREET}", 0.85),
        # number-less street names with an unambiguous street word: "vivo en la Calle Mayor"
        ("any", rf"(?<![\w])(?:(?i:calle|avenida|rua|rue|avenue|boulevard|travessa|alameda|paseo|praça|praca|piazza))[ \t]+(?:{_CONN}[ \t]+|(?:d|l)['’])?{_NAMESEQ_APOS}", 0.6),
    ]
    gates = [
        None, ("flat", "studio", "apartment", "apt", "suite", "maisonette", "penthouse"),
        ("unit", "psc", "cmr", "uss", "usns", "usnv", "uscgc", "usav"), ("apo", "fpo", "dpo"), None,
        _literals(_ES_TYPES + "|via|vía|vial"), _literals(_IT_TYPES), _literals(_FR_TYPES),
        _literals(_COMPOUND_SAFE + "|" + _COMPOUND_RISKY),
        ("laan", "plein", "kade", "singel", "gracht", "dreef", "straatweg", "dijk"),
        _literals(_DE_SEPARATE) + ("am ", "an der", "auf d", "im ", "in der", "unter den", "zum ", "zur ",
                                   "hinter der", "vor dem"),
        _literals(_PL_TYPES), _literals(_PT_TYPES + "|vale|feira|lago|área|campo"),
        _literals("|".join((_FR_TYPES, _ES_TYPES, "via|vía|vial", _IT_TYPES, _PT_TYPES, "vale|feira|lago|área|campo",
                            _PL_TYPES))),
        None,
        ("calle", "avenida", "rua", "rue", "avenue", "boulevard", "travessa", "alameda", "paseo", "praça", "praca",
         "piazza"),
    ]
    assert len(gates) == len(pats)
    return [(lang, re.compile(p), score, gate) for (lang, p, score), gate in zip(pats, gates)]


def _literals(alternation: str) -> tuple[str, ...]:
    """The lower-case words of a regex alternation of plain words ("avda\\.?" → "avda"), for
    a quick "could this pattern match here at all" test before running it."""
    out = set()
    for alt in alternation.split("|"):
        word = alt.replace("\\.?", "").replace("\\.", ".").replace("\\s+", " ").replace("\\", "").replace("?", "")
        if word:
            out.add(word.lower())
    return tuple(sorted(out))


class AddressRecognizer(_Base):
    """Street addresses (see the module docstring), each extended over what follows it: unit,
    postcode and town, province. A street that only looks like one (a town name ending like a
    street, "Amsterdam 2") counts only with a postcode after it."""

    ENTITIES = ("STREET_ADDRESS",)

    def __init__(self, name: str | None = None):
        super().__init__(name=name)
        self._patterns = _address_patterns()

    def analyze(self, text, entities, nlp_artifacts=None):
        out = []
        g = gazetteer()
        digits = any(c.isdigit() for c in text)
        low = text.lower()
        for _lang, pattern, score, gate in self._patterns:
            if (_lang != "any" and not digits) or (gate is not None and not any(w in low for w in gate)):
                continue  # nothing this pattern needs is in the text: skip the regex
            for m in pattern.finditer(text):
                gd = m.groupdict()
                e, extended = _extend(text, m.end())
                has_tail = bool(gd.get("tail")) or extended
                street = gd.get("street")
                if street and not has_tail and (
                    all(g.is_stop(w) and not w.istitle() for w in street.split())
                    or any(g.is_stop(w) and len(w) > 1 and (w.isupper() or w.islower()) for w in street.split())
                ):
                    continue  # "ON NOV 2 AND HAVEN'T", "4734-55 TWO WEEKS AGO AND STILL HAVEN'T"
                if gd.get("risky") and not extended and not re.search(r"\d{4,5}|\n", m.group()):
                    continue  # "Amsterdam 2", "Heidelberg 12": a town and a number
                if _lang == "tail" and not extended:
                    continue
                if not has_tail and _COUNTED.match(text, m.end()):
                    continue  # "via Zoom 2 volte", "Paseo Marítimo 3 horas": a count, not a number
                s = _trim_start(text, m.start(), g) if _lang == "tail" else m.start()
                e = _trim_end(text, s, e)
                if e - s >= 6:
                    out.append(self._res("STREET_ADDRESS", s, e, max(score, 0.85) if extended else score))
        if digits:
            out.extend(self._lower_case(text, g))
        out.extend(self._form_fields(text, low))
        return out

    def _form_fields(self, text, low):
        """The values of pasted form fields: "Address: Holmsvingen 863, 0870 Hanssen", a value on
        the lines after an empty "Adresse -", "PLZ: 10115", "City: Sainte-Aurore"."""
        out = []
        for pattern in (_POSTCODE_LABEL, _TOWN_LABEL):
            for m in pattern.finditer(text):
                out.append(self._res("STREET_ADDRESS", m.start("value"), m.end("value"), 0.85))
        if not any(w in low for w in ("ad", "dir", "str", "rue", "rua", "ul", "gat", "osoite", "indirizzo", "endere", "anschrift", "calle")):
            return out
        for m in _ADDRESS_LABEL.finditer(text):
            s = e = m.end()
            line = _VALUE_LINE.match(text, s).group()
            if line.strip():
                e = s + len(line)
                stop = _SENTENCE_END.search(line)  # "Adresse: Hauptstr. 5, 10115 Berlin. Danke"
                if stop is not None:
                    e = s + stop.start()
            else:  # the value on the next lines, up to a blank line or the next label
                pos = s + len(line)
                for _ in range(4):
                    nl = _NL_RE.match(text, pos)
                    if nl is None:
                        break
                    nxt = _VALUE_LINE.match(text, nl.end()).group()
                    if not nxt.strip() or _NEXT_LABEL.match(nxt) or len(nxt) > 70:
                        break
                    if s == m.end():
                        s = nl.end()
                    pos = e = nl.end() + len(nxt)
            value = text[s:e]
            if e > s and re.search(r"\d", value) and re.search(r"\p{L}{2}", value) and "@" not in value and len(value) <= 160:
                out.append(self._res("STREET_ADDRESS", s, _trim_end(text, s, e), 0.85))
        return out

    def _lower_case(self, text, g):
        """Addresses typed without capitals: a street, its units, and a ", postcode town" tail
        (required); a street of one word only when that word is no common word."""
        out = []
        for m in _LC_STREET.finditer(text, overlapped=True):  # "aller 134 boulevard …": both tried
            single = m.group("single")
            if single is not None and (g.is_stop(single) or _COUNTED.match(text, m.end())):
                continue
            t = _LC_TAIL.match(text, _units(text, m.end()))
            if t is None:
                continue
            e = t.end()
            capitalised = any(w[:1].isupper() for w in text[m.start():e].split())
            while True:  # a town's words run on into the sentence: "13427 calw gehen"
                last = re.search(r"[ \t]+(\p{L}+)$", text[m.start():e])
                if last is None or re.search(r"\d\S*$", text[m.start():e - len(last.group())]) or not (
                    g.is_stop(last.group(1)) or capitalised and last.group(1).islower()
                ):  # ... but a town right after its postcode stays ("57-113 warszawa")
                    break
                e -= len(last.group())
            s = _trim_start(text, m.start(), g)
            out.append(self._res("STREET_ADDRESS", s, _trim_end(text, s, e), 0.85))
        return out


#: what follows a count, not a house number
_COUNTED = re.compile(
    r"[ \t]+(?i:times|days|hours|years|months|weeks|minutes|mins?|volte|giorni|ore|anni|mesi|settimane|"
    r"minuti|veces|días|dias|horas|años|anos|meses|semanas|minutos|fois|jours|heures|ans|mois|semaines|"
    r"minutes|mal|tage|tagen|stunden|jahre|jahren|monate|monaten|wochen|minuten|vezes|keer|dagen|uur|"
    r"jaar|maanden|weken|razy|dni|godzin|lat|miesięcy|tygodni|gånger|dagar|timmar|år|månader|veckor|"
    r"%|€|eur|euros?|usd|dollars?|pounds?|kg|km|cm|mm|m²|gb|mb)(?![\w])"
)


def _units(text: str, e: int) -> int:
    """``e`` moved over up to two units after a street ("Apt 4", "piso 3", "lgh 1102")."""
    for _ in range(2):
        u = _UNIT_ANY.match(text, e)
        if u is None:
            break
        e = u.end()
    return e


def _extend(text: str, e: int) -> tuple[int, bool]:
    """``e`` moved over the units, postcode + town and province that follow a street; whether
    a postcode/town tail was taken in."""
    tail = False
    e = _units(text, e)
    t = _TAIL_ANY.match(text, e)
    if t is None:
        b = _BARE_NUMBER.match(text, e)
        if b is not None:
            u = _UNIT_ANY.match(text, b.end())
            t = _TAIL_ANY.match(text, u.end() if u else b.end())
    if t is not None:
        e, tail = t.end(), True
    elif _ENDS_IN_POSTCODE.search(text, max(0, e - 14), e):
        town = _TOWN_AFTER_POSTCODE.match(text, e)
        if town is not None:
            e, tail = town.end(), True
    p = _PROVINCE_AFTER.match(text, e) if tail or text[e - 1:e].isalpha() else None
    if p is not None and ("(" in p.group() or tail):
        e = p.end()
    return e, tail


#: street words, never dropped from an address's start
_STREET_WORDS = frozenset(_literals("|".join((
    _ES_TYPES, _IT_TYPES, _PT_TYPES, _FR_TYPES, _PL_TYPES, _TR_TYPES, "vale|feira|lago|área|campo|via|vía")))) | frozenset(
    w.lower() for w in _EN_SUFFIX_EXTRA)
_FIRST_WORD = re.compile(r"(\p{L}[\p{L}\p{M}\-]*)[ \t]+(?=\S)")


def _trim_start(text: str, s: int, g) -> int:
    """``s`` moved past the common words a street of any name took in before it ("Paket Mansız
    Caddesi No:238", "på himmerlands allé 814"), never past a street word."""
    for _ in range(3):
        w = _FIRST_WORD.match(text, s)
        if w is None or w.group(1).lower() in _STREET_WORDS or not g.is_stop(w.group(1)):
            break
        after = _FIRST_WORD.match(text, w.end())
        if after is not None and after.group(1).lower() in _STREET_WORDS:
            break  # the name before a street word: "Gül Caddesi", "Siam Allé"
        s = w.end()
    return s


def _trim_end(text: str, s: int, e: int) -> int:
    """Drop trailing separators; keep a final '.' only when it closes an abbreviation (St., Av.)."""
    while e > s and text[e - 1] in " \t,-\n\r>":
        e -= 1
    if e > s and text[e - 1] == ".":
        last = text[s:e].split()[-1] if text[s:e].split() else ""
        if not (len(last) <= 5 and last.replace(".", "").isalpha()):  # keep "St.", "Jal.", "N.L."
            e -= 1
    return e
