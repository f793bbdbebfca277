"""Locale data and formatters: people, addresses, phones, dates, amounts and the non-PII
look-alikes (order/tracking/invoice numbers, SKUs, ...), each in the locale's own conventions.

Name and street pools come from seeded Faker instances (built once per process, ~0.3 s); every
per-value draw uses the caller's ``random.Random`` so the generator stays fast and deterministic.
"""

from __future__ import annotations

import random
import re
from datetime import date
from functools import cache


#: Default traffic mix; it-IT, nl-NL, pl-PL and sv-SE are generated with ``generate(locales=...)``.
LOCALE_SHARES = {"en-US": 0.38, "en-GB": 0.12, "es-ES": 0.10, "es-MX": 0.12, "fr-FR": 0.10, "de-DE": 0.10,
                 "pt-BR": 0.08}
COUNTRY = {"en-US": "US", "en-GB": "UK", "es-ES": "ES", "es-MX": "MX", "fr-FR": "FR", "de-DE": "DE", "pt-BR": "BR",
           "it-IT": "IT", "nl-NL": "NL", "pl-PL": "PL", "sv-SE": "SE"}
_FAKER_LOCALE = {"en-US": "en_US", "en-GB": "en_GB", "es-ES": "es_ES", "es-MX": "es_MX", "fr-FR": "fr_FR",
                 "de-DE": "de_DE", "pt-BR": "pt_BR", "it-IT": "it_IT", "nl-NL": "nl_NL", "pl-PL": "pl_PL",
                 "sv-SE": "sv_SE"}
#: UTC offsets (hours, November = standard time) with population weights, for local-time arrivals.
TZ_OFFSETS = {"en-US": ((-5, 0.47), (-6, 0.29), (-7, 0.07), (-8, 0.17)), "en-GB": ((0, 1.0),),
              "es-ES": ((1, 1.0),), "es-MX": ((-6, 1.0),), "fr-FR": ((1, 1.0),), "de-DE": ((1, 1.0),),
              "pt-BR": ((-3, 1.0),), "it-IT": ((1, 1.0),), "nl-NL": ((1, 1.0),), "pl-PL": ((1, 1.0),),
              "sv-SE": ((1, 1.0),)}

_POOL_SEED = 20261102
#: Faker artefacts such as "Rodovia de da Conceição" (a street type + "de" + a surname with a particle).
_ODD_STREET = re.compile(r"\bde (?:da|das|do|dos)\b")

# Faker's pools for the four later locales miss the most common real names (pl_PL has no -ski/-ska
# surname at all; it_IT none with a particle) and build Dutch/Italian streets from first names
# ("Kimbaan", "Incrocio Romina"). These curated lists are mixed in (weighted ×4 for surnames, ×3 for
# streets) so the data looks like the country; they are public for the masking gazetteer.
COMMON_LAST_NAMES = {
    "it-IT": ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco",
              "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Giordano", "Rizzo", "Lombardi", "Moretti",
              "Barbieri", "Fontana", "Santoro", "Mariani", "Rinaldi", "Caruso", "Ferrara", "Galli", "Martini",
              "Leone", "Longo", "Gentile", "Martinelli", "Vitale", "Lombardo", "Serra", "Coppola", "De Santis",
              "D'Angelo", "Marchetti", "Parisi", "Villa", "Conte", "Ferraro", "Ferri", "Fabbri", "Bianco", "Marini",
              "Grasso", "Valentini", "Messina", "Sala", "De Angelis", "Gatti", "Pellegrini", "Palumbo", "Sanna",
              "Farina", "Rizzi", "Monti", "Cattaneo", "Morelli", "Amato", "Silvestri", "Mazza", "Testa", "Grassi",
              "Pellegrino", "Carbone", "Giuliani", "Benedetti", "Barone", "Caputo", "Montanari", "Guerra",
              "Palmieri", "Bernardi", "Fiore", "De Rosa", "Ferretti", "Bellini", "Basile", "Riva", "Donati",
              "Piras", "Di Stefano", "Lo Bianco", "La Rosa", "D'Amico", "Orlando", "Sorrentino", "Di Marco"),
    "nl-NL": ("de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser", "Smit",
              "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker",
              "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer", "van der Linden", "Kok",
              "Jacobs", "de Haan", "Vermeulen", "van den Heuvel", "van der Veen", "van den Broek", "de Bruijn",
              "van der Heijden", "Schouten", "van Beek", "Willems", "van Vliet", "van de Ven", "Hoekstra", "Maas",
              "Verhoeven", "Koster", "van Dam", "van der Wal", "Prins", "Blom", "Huisman", "de Jonge", "Kuipers",
              "van Wijk", "Post", "Kuiper", "Veenstra", "Kramer", "van den Brink", "Scholten", "Martens", "Vink",
              "de Ruiter", "van 't Hof", "ter Horst", "Timmermans"),
    # Polish: male forms; the female form of an -ski/-cki/-dzki name ends in -ska/-cka/-dzka.
    "pl-PL": ("Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski", "Zieliński",
              "Szymański", "Woźniak", "Dąbrowski", "Kozłowski", "Jankowski", "Mazur", "Wojciechowski",
              "Kwiatkowski", "Krawczyk", "Kaczmarek", "Piotrowski", "Grabowski", "Zając", "Pawłowski", "Michalski",
              "Król", "Wieczorek", "Jabłoński", "Wróbel", "Nowakowski", "Majewski", "Olszewski", "Stępień",
              "Malinowski", "Jaworski", "Adamczyk", "Dudek", "Nowicki", "Pawlak", "Górski", "Witkowski", "Walczak",
              "Sikora", "Baran", "Rutkowski", "Michalak", "Szewczyk", "Ostrowski", "Tomaszewski", "Pietrzak",
              "Zalewski", "Wróblewski", "Marciniak", "Jasiński", "Zawadzki", "Bąk", "Jakubowski", "Sadowski", "Duda",
              "Włodarczyk", "Wilk", "Chmielewski", "Borkowski", "Sokołowski", "Szczepański", "Sawicki", "Lis",
              "Kucharski", "Mazurek", "Kalinowski", "Wysocki", "Adamski", "Kaźmierczak", "Wasilewski", "Sobczak",
              "Czerwiński", "Andrzejewski", "Cieślak", "Głowacki", "Zakrzewski", "Kołodziej", "Sikorski",
              "Krajewski", "Gajewski", "Szymczak", "Szulc", "Baranowski", "Laskowski", "Brzeziński", "Makowski",
              "Ziółkowski", "Przybylski"),
}
COMMON_STREETS = {
    "it-IT": ("Via Roma", "Via Giuseppe Garibaldi", "Via Giuseppe Mazzini", "Corso Vittorio Emanuele II",
              "Via Dante Alighieri", "Piazza della Repubblica", "Via Cavour", "Via XX Settembre", "Via Giuseppe Verdi",
              "Via Guglielmo Marconi", "Via Nazionale", "Corso Italia", "Via Vittorio Veneto", "Viale della Libertà",
              "Via Alessandro Manzoni", "Via San Francesco", "Via IV Novembre", "Via Nino Bixio",
              "Via Giacomo Matteotti", "Via Antonio Gramsci", "Corso Garibaldi", "Via dei Mille", "Via Torino",
              "Via Milano", "Via Napoli", "Piazza Duomo", "Via della Stazione", "Viale Europa",
              "Via Leonardo da Vinci", "Via Papa Giovanni XXIII"),
    "nl-NL": ("Kerkstraat", "Dorpsstraat", "Stationsweg", "Molenweg", "Schoolstraat", "Julianastraat", "Beatrixlaan",
              "Prinsengracht", "Keizersgracht", "Herengracht", "Oranjestraat", "Nieuwstraat", "Wilhelminastraat",
              "Hoofdstraat", "Marktstraat", "Kastanjelaan", "Eikenlaan", "Lindenlaan", "Parallelweg", "Industrieweg",
              "Emmastraat", "Prins Hendrikstraat", "Van Goghstraat", "Rembrandtlaan", "Vondelstraat", "Spoorstraat",
              "Havenstraat", "Burgemeester de Withstraat", "Zuiderstraat", "Molenstraat"),
    "pl-PL": ("ul. Marszałkowska", "al. Jerozolimskie", "ul. Piotrkowska", "al. Niepodległości", "ul. Długa",
              "ul. Mickiewicza", "ul. Kościuszki", "ul. Słowackiego", "ul. Sienkiewicza", "ul. Polna", "ul. Leśna",
              "ul. Ogrodowa", "ul. Lipowa", "ul. Szkolna", "ul. Kwiatowa", "ul. Łąkowa", "ul. Brzozowa",
              "ul. Kolejowa", "ul. Krakowska", "ul. Warszawska", "ul. Jana Pawła II", "al. Solidarności",
              "pl. Grunwaldzki", "os. Tysiąclecia", "ul. Wrocławska", "ul. Zamkowa"),
    "sv-SE": ("Storgatan", "Drottninggatan", "Kungsgatan", "Sveavägen", "Götgatan", "Vasagatan", "Hornsgatan",
              "Linnégatan", "Nygatan", "Järnvägsgatan", "Skolgatan", "Kyrkogatan", "Södra Förstadsgatan",
              "Björkvägen", "Parkvägen"),
}
_NL_PARTICLES = {"van", "de", "den", "der", "het", "'t", "ten", "ter", "te", "in", "op"}
_IT_STREET_TYPES = ("Via", "Viale", "Piazza", "Vicolo", "Corso", "Largo", "Strada")
_PL_FEMALE = re.compile(r"(sk|ck|dzk)i$")


def _nl_surname_ok(s: str) -> bool:
    """Keep "Bakker", "van der Ploeg", "van 't Riet"; drop Faker's noble/medieval artefacts
    ("Goyaerts van Waderle", "van Bourgondië, ...")."""
    words = s.split(" ")
    return ("," not in s and words[-1][:1].isupper() and words[-1].replace("-", "").isalpha()
            and all(w in _NL_PARTICLES for w in words[:-1]))


def polish_female(last: str) -> str:
    """Kowalski → Kowalska (adjectival surnames agree with the bearer); others are unchanged."""
    return _PL_FEMALE.sub(r"\1a", last)


@cache
def name_pools(locale: str) -> dict[str, tuple[str, ...]]:
    """Locale-appropriate first names (by sex), last names and street names from a seeded Faker."""
    from faker import Faker

    f = Faker(_FAKER_LOCALE[locale])
    f.seed_instance(_POOL_SEED)

    def uniq(fn, n):
        seen: dict[str, None] = {}
        for _ in range(n):
            seen.setdefault(fn(), None)
        return tuple(seen)

    streets = tuple(s for s in uniq(f.street_name, 1500 if locale == "pt-BR" else 500) if not _ODD_STREET.search(s))
    if locale == "pt-BR":  # keep street types that read well after "na" / "Rua ..."
        streets = tuple(s for s in streets if s.split(" ")[0] in
                        ("Rua", "Avenida", "Travessa", "Alameda", "Praça", "Estrada", "Rodovia", "Ladeira", "Vila"))
    elif locale == "de-DE":  # Faker glues particles oddly ("Dussen vanstraße"): keep capitalised tokens
        streets = tuple(s for s in streets if all(w[:1].isupper() for w in s.split(" ")))
    elif locale == "it-IT":  # drop "Incrocio Romina", "Canale Dossi": keep the usual street types
        streets = tuple(s for s in streets if s.split(" ")[0] in _IT_STREET_TYPES)
    elif locale == "nl-NL":  # mostly first-name streets ("Kimbaan"): a smaller share next to real ones
        streets = streets[:150]
    elif locale == "pl-PL":  # Faker gives bare names ("Zielona", "Rejtana"): written "ul. Zielona"
        streets = tuple(s if s.startswith(("ul.", "al.", "pl.", "plac", "os.")) else f"ul. {s}" for s in streets)
    if locale == "en-US":
        streets += ("Main Street", "Oak Avenue", "Maple Street", "Elm Street", "Cedar Lane", "Park Avenue",
                    "Washington Street", "Lincoln Avenue", "Sunset Boulevard", "Lakeview Drive")
    streets += COMMON_STREETS.get(locale, ()) * 3
    first_m, first_f = uniq(f.first_name_male, 700), uniq(f.first_name_female, 700)
    if locale == "it-IT":  # Faker it_IT mixes in "Alphons", "Sergius", "Atenulf": Italian names end in a vowel
        first_m, first_f = ((n for n in names if n[-1] in "aeiouàèéìòù") for names in (first_m, first_f))
        first_m, first_f = tuple(first_m), tuple(first_f)
    common = COMMON_LAST_NAMES.get(locale, ()) * 4
    if locale == "pl-PL":  # gendered surnames: Kowalski / Kowalska
        last_m = uniq(f.last_name_male, 900) + common
        last_f = uniq(f.last_name_female, 900) + tuple(polish_female(n) for n in common)
        return {"M": first_m, "F": first_f, "last": last_m + last_f, "last_M": last_m, "last_F": last_f,
                "street": streets}
    last = uniq(f.last_name, 900)
    if locale == "nl-NL":
        last = tuple(n for n in last if _nl_surname_ok(n))
    return {
        "M": first_m,
        "F": first_f,
        "last": last + common,
        "street": streets,
    }


# --------------------------------------------------------------------------- people

_ASCII = str.maketrans({"á": "a", "à": "a", "â": "a", "ä": "a", "ã": "a", "å": "a", "é": "e", "è": "e", "ê": "e",
                        "ë": "e", "í": "i", "ì": "i", "î": "i", "ï": "i", "ó": "o", "ò": "o", "ô": "o", "ö": "o",
                        "õ": "o", "ú": "u", "ù": "u", "û": "u", "ü": "u", "ñ": "n", "ç": "c", "ß": "ss", "ÿ": "y",
                        "œ": "oe", "æ": "ae", "'": "", " ": "", "-": "", "ą": "a", "ć": "c", "ę": "e", "ł": "l",
                        "ń": "n", "ś": "s", "ź": "z", "ż": "z", "ø": "o"})


def ascii_fold(s: str) -> str:
    return s.lower().translate(_ASCII)


def person(rng: random.Random, locale: str) -> dict:
    pools = name_pools(locale)
    sex = "F" if rng.random() < 0.52 else "M"
    first = rng.choice(pools[sex])
    last1 = rng.choice(pools.get(f"last_{sex}") or pools["last"])
    last2 = ""
    if locale in ("es-ES", "es-MX") and rng.random() < 0.7 or locale == "pt-BR" and rng.random() < 0.45:
        last2 = rng.choice(pools["last"])
        if last2 == last1:
            last2 = ""
    last = f"{last1} {last2}" if last2 else last1
    return {"sex": sex, "first": first, "last1": last1, "last2": last2 or last1, "full": f"{first} {last}"}


_EMAIL_DOMAINS = {
    "en-US": ("gmail.com", "gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com",
              "comcast.net"),
    "en-GB": ("gmail.com", "gmail.com", "hotmail.co.uk", "yahoo.co.uk", "btinternet.com", "outlook.com", "sky.com"),
    "es-ES": ("gmail.com", "gmail.com", "hotmail.com", "yahoo.es", "outlook.es", "telefonica.net"),
    "es-MX": ("gmail.com", "gmail.com", "hotmail.com", "yahoo.com.mx", "outlook.com", "prodigy.net.mx"),
    "fr-FR": ("gmail.com", "orange.fr", "free.fr", "laposte.net", "hotmail.fr", "sfr.fr", "wanadoo.fr"),
    "de-DE": ("gmail.com", "web.de", "gmx.de", "gmx.net", "t-online.de", "outlook.de", "posteo.de"),
    "pt-BR": ("gmail.com", "gmail.com", "hotmail.com", "yahoo.com.br", "uol.com.br", "bol.com.br", "outlook.com"),
    "it-IT": ("gmail.com", "gmail.com", "libero.it", "hotmail.it", "yahoo.it", "virgilio.it", "alice.it", "outlook.it",
              "tiscali.it"),
    "nl-NL": ("gmail.com", "gmail.com", "hotmail.com", "outlook.com", "ziggo.nl", "kpnmail.nl", "live.nl", "planet.nl",
              "xs4all.nl", "hetnet.nl"),
    "pl-PL": ("gmail.com", "gmail.com", "wp.pl", "o2.pl", "onet.pl", "interia.pl", "op.pl", "poczta.fm", "outlook.com"),
    "sv-SE": ("gmail.com", "gmail.com", "hotmail.com", "outlook.com", "telia.com", "live.se", "yahoo.se", "icloud.com",
              "spray.se"),
}


def email(rng: random.Random, locale: str, p: dict, birth_year: int) -> str:
    f, l1 = ascii_fold(p["first"]), ascii_fold(p["last1"])
    r = rng.random()
    if r < 0.3:
        local = f"{f}.{l1}"
    elif r < 0.5:
        local = f"{f}{l1}{rng.randint(1, 99)}"
    elif r < 0.62:
        local = f"{f[0]}.{l1}"
    elif r < 0.72:
        local = f"{l1}.{f}"
    elif r < 0.82:
        local = f"{f}_{l1[:1]}{birth_year}"
    elif r < 0.9:
        local = f"{f}{birth_year % 100:02d}"
    else:
        local = f"{f[:3]}{l1[:4]}{rng.randint(100, 999)}"
    if rng.random() < 0.03:
        local += "+shop"
    addr = f"{local}@{rng.choice(_EMAIL_DOMAINS[locale])}"
    if rng.random() < 0.04:
        addr = addr[0].upper() + addr[1:]
    return addr


# --------------------------------------------------------------------------- phones

_US_AREAS = ("212", "718", "917", "415", "650", "312", "773", "617", "305", "713", "214", "512", "206", "404",
             "602", "303", "503", "614", "615", "612", "213", "310", "619", "702")
_DE_MOBILE = ("0151", "0152", "0157", "0160", "0162", "0170", "0171", "0172", "0173", "0174", "0175", "0176",
              "0177", "0178", "0179")
_DE_LAND = (("030", 8), ("089", 7), ("040", 7), ("0221", 7), ("069", 8), ("0711", 7), ("0211", 7), ("0341", 7))
_BR_DDD = ("11", "11", "21", "31", "41", "51", "61", "71", "81", "85", "19", "27", "48", "62")
_MX_AREAS2 = ("55", "55", "33", "81")
_MX_AREAS3 = ("222", "442", "999", "477", "664", "614")
_IT_MOBILE = ("320", "324", "327", "328", "329", "330", "331", "333", "334", "335", "336", "337", "338", "339", "340",
              "342", "345", "346", "347", "348", "349", "350", "351", "366", "370", "371", "377", "380", "388", "389",
              "391", "392", "393")
_IT_LAND = (("02", 8), ("02", 8), ("06", 8), ("06", 8), ("011", 7), ("081", 7), ("055", 7), ("051", 7), ("010", 7),
            ("041", 7), ("091", 7), ("080", 7), ("045", 7), ("049", 7))
_NL_LAND = ("20", "10", "70", "30", "40", "50", "24", "13", "43", "26", "38", "53", "76", "58")
_PL_MOBILE = ("50", "51", "53", "57", "60", "66", "69", "72", "73", "78", "79", "88", "45")
_PL_LAND = ("22", "22", "12", "61", "71", "58", "42", "32", "91", "81", "52", "85")
_SE_MOBILE = ("70", "72", "73", "76", "79")
_SE_LAND = (("8", 7), ("8", 8), ("31", 7), ("40", 6), ("18", 6), ("13", 6), ("21", 6), ("90", 6), ("60", 6))


def _se_groups(s: str) -> str:
    """Swedish grouping of the subscriber number: 123 45 67, 12 34 56, 123 456 78."""
    if len(s) == 8:
        return f"{s[:3]} {s[3:6]} {s[6:]}"
    if len(s) == 7:
        return f"{s[:3]} {s[3:5]} {s[5:]}"
    return f"{s[:2]} {s[2:4]} {s[4:]}"


def _d(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def phone(rng: random.Random, locale: str) -> tuple[str, str]:
    r = rng.random()
    if locale == "en-US":
        a = rng.choice(_US_AREAS)
        e = str(rng.randint(201, 998))
        if e[1:] == "11" or e == "555":
            e = "428"
        x = _d(rng, 4)
        fmts = (f"({a}) {e}-{x}", f"{a}-{e}-{x}", f"{a}.{e}.{x}", f"+1 {a} {e} {x}", f"+1 ({a}) {e}-{x}",
                f"{a}{e}{x}", f"+1-{a}-{e}-{x}")
        w = (0.3, 0.25, 0.08, 0.1, 0.07, 0.12, 0.08)
        return rng.choices(fmts, w)[0], "US_PHONE"
    if locale == "en-GB":
        if r < 0.75:
            m = "7" + rng.choice("45789") + _d(rng, 2)
            s = _d(rng, 6)
            fmts = (f"0{m} {s}", f"0{m}{s}", f"+44 {m} {s}", f"+44 (0){m} {s}", f"+44{m}{s}", f"0{m} {s[:3]} {s[3:]}")
            return rng.choices(fmts, (0.4, 0.15, 0.2, 0.08, 0.07, 0.1))[0], "UK_PHONE"
        code, n, firsts = rng.choice((("20", 8, "378"), ("161", 7, "2348"), ("113", 7, "234"), ("121", 7, "234567"),
                                      ("141", 7, "2345"), ("117", 7, "9")))
        s = rng.choice(firsts) + _d(rng, n - 1)
        cut = 4 if n == 8 else 3
        prefix = f"0{code}" if rng.random() < 0.7 else f"+44 {code}"
        return f"{prefix} {s[:cut]} {s[cut:]}", "UK_PHONE"
    if locale == "es-ES":
        if r < 0.8:
            n = rng.choice("67") + _d(rng, 8)
            if n[0] == "7":
                n = "7" + rng.choice("1234") + n[2:]
        else:
            n = "9" + rng.choice("1135346") + _d(rng, 7)
        g3 = f"{n[:3]} {n[3:6]} {n[6:]}"
        g2 = f"{n[:3]} {n[3:5]} {n[5:7]} {n[7:]}" if n[0] != "9" else f"{n[:2]} {n[2:5]} {n[5:7]} {n[7:]}"
        fmts = (g2, g3, n, f"+34 {g2}", f"+34 {n}", f"+34{n}", f"0034 {g3}")
        return rng.choices(fmts, (0.3, 0.15, 0.2, 0.15, 0.08, 0.07, 0.05))[0], "ES_PHONE"
    if locale == "es-MX":
        if r < 0.75:
            a = rng.choice(_MX_AREAS2)
            s = _d(rng, 8)
            fmts = (f"+52 {a} {s[:4]} {s[4:]}", f"{a} {s[:4]} {s[4:]}", f"+52 1 {a} {s[:4]} {s[4:]}",
                    f"({a}) {s[:4]} {s[4:]}", f"{a}{s}", f"+52 ({a}) {s[:4]}-{s[4:]}", f"{a}-{s[:4]}-{s[4:]}")
            return rng.choices(fmts, (0.27, 0.22, 0.03, 0.13, 0.15, 0.1, 0.1))[0], "MX_PHONE"
        a = rng.choice(_MX_AREAS3)
        s = _d(rng, 7)
        fmts = (f"+52 {a} {s[:3]} {s[3:]}", f"{a} {s[:3]} {s[3:]}", f"({a}) {s[:3]} {s[3:]}", f"{a}{s}")
        return rng.choice(fmts), "MX_PHONE"
    if locale == "fr-FR":
        if r < 0.8:  # mobiles: 06 (not 069x/0639) and 073-079
            if rng.random() < 0.6:
                n = "6" + rng.choice("012345678") + _d(rng, 7)
            else:
                n = "7" + rng.choice("3456789") + _d(rng, 7)
            if n[:2] == "63" and n[2] == "9":
                n = "638" + n[3:]
        else:
            n = rng.choice("12345") + _d(rng, 8)
        pairs = " ".join(n[i:i + 2] for i in (1, 3, 5, 7))
        fmts = (f"0{n[0]} {pairs}", f"0{n}", f"+33 {n[0]} {pairs}", f"0{n[0]}.{pairs.replace(' ', '.')}",
                f"+33 (0){n[0]} {pairs}", f"+33{n}", f"0{n[0]}-{pairs.replace(' ', '-')}")
        return rng.choices(fmts, (0.45, 0.15, 0.15, 0.08, 0.05, 0.05, 0.07))[0], "FR_PHONE"
    if locale == "de-DE":
        if r < 0.7:
            p = rng.choice(_DE_MOBILE)
            s = _d(rng, 8 if p.startswith("015") or rng.random() < 0.5 else 7)
            fmts = (f"{p} {s}", f"{p}{s}", f"+49 {p[1:]} {s}", f"+49 (0){p[1:]} {s}", f"{p}/{s}", f"{p}-{s}",
                    f"+49{p[1:]}{s}")
            return rng.choices(fmts, (0.35, 0.12, 0.2, 0.08, 0.12, 0.08, 0.05))[0], "DE_PHONE"
        p, n = rng.choice(_DE_LAND)
        s = rng.choice("23456789") + _d(rng, n - 1)
        fmts = (f"{p} {s}", f"{p}/{s}", f"+49 {p[1:]} {s}", f"({p}) {s}")
        return rng.choice(fmts), "DE_PHONE"
    if locale == "it-IT":
        if r < 0.8:
            p, s = rng.choice(_IT_MOBILE), _d(rng, 7)
            fmts = (f"{p} {s[:3]} {s[3:]}", f"{p}{s}", f"+39 {p} {s[:3]} {s[3:]}", f"+39 {p}{s}", f"{p} {s}",
                    f"{p}-{s}", f"+39{p}{s}", f"0039 {p} {s}")
            return rng.choices(fmts, (0.3, 0.2, 0.15, 0.1, 0.1, 0.05, 0.05, 0.05))[0], "IT_PHONE"
        p, n = rng.choice(_IT_LAND)
        s = rng.choice("23456789") + _d(rng, n - 1)
        fmts = (f"{p} {s[:4]} {s[4:]}" if n == 8 else f"{p} {s[:3]} {s[3:]}", f"{p}{s}", f"+39 {p} {s}", f"{p}/{s}",
                f"{p}-{s}")
        return rng.choices(fmts, (0.35, 0.2, 0.2, 0.1, 0.15))[0], "IT_PHONE"
    if locale == "nl-NL":
        if r < 0.75:
            s = rng.choice("12345") + _d(rng, 7)
            fmts = (f"06-{s}", f"06 {s}", f"06{s}", f"+31 6 {s}", f"+31 (0)6 {s}", f"+316{s}",
                    f"06 {s[:2]} {s[2:4]} {s[4:6]} {s[6:]}", f"06-{s[:4]} {s[4:]}")
            return rng.choices(fmts, (0.3, 0.15, 0.15, 0.12, 0.06, 0.07, 0.1, 0.05))[0], "NL_PHONE"
        a = rng.choice(_NL_LAND)
        s = rng.choice("23456789") + _d(rng, 6)
        fmts = (f"0{a}-{s}", f"0{a} {s[:3]} {s[3:]}", f"+31 {a} {s[:3]} {s[3:]}", f"(0{a}) {s[:3]} {s[3:5]} {s[5:]}",
                f"0{a}{s}")
        return rng.choices(fmts, (0.35, 0.25, 0.2, 0.1, 0.1))[0], "NL_PHONE"
    if locale == "pl-PL":
        if r < 0.8:
            s = rng.choice(_PL_MOBILE) + _d(rng, 7)
            g = f"{s[:3]} {s[3:6]} {s[6:]}"
            fmts = (g, s, f"+48 {g}", f"+48{s}", f"{s[:3]}-{s[3:6]}-{s[6:]}", f"+48 {s[:3]}-{s[3:6]}-{s[6:]}",
                    f"0048 {g}")
            return rng.choices(fmts, (0.35, 0.2, 0.2, 0.08, 0.08, 0.04, 0.05))[0], "PL_PHONE"
        a = rng.choice(_PL_LAND)
        s = rng.choice("2345678") + _d(rng, 6)
        fmts = (f"{a} {s[:3]} {s[3:5]} {s[5:]}", f"+48 {a} {s[:3]} {s[3:5]} {s[5:]}", f"({a}) {s[:3]} {s[3:5]} {s[5:]}",
                f"{a} {s}")
        return rng.choices(fmts, (0.4, 0.25, 0.2, 0.15))[0], "PL_PHONE"
    if locale == "sv-SE":
        if r < 0.75:
            p, s = rng.choice(_SE_MOBILE), _d(rng, 7)
            fmts = (f"0{p}-{_se_groups(s)}", f"0{p} {_se_groups(s)}", f"0{p}{s}", f"0{p}-{s}", f"+46 {p} {_se_groups(s)}",
                    f"+46{p}{s}", f"+46 (0){p} {_se_groups(s)}")
            return rng.choices(fmts, (0.35, 0.15, 0.15, 0.1, 0.15, 0.06, 0.04))[0], "SE_PHONE"
        a, n = rng.choice(_SE_LAND)
        s = rng.choice("2345678") + _d(rng, n - 1)
        fmts = (f"0{a}-{_se_groups(s)}", f"0{a} {_se_groups(s)}", f"+46 {a} {_se_groups(s)}", f"0{a}-{s}")
        return rng.choices(fmts, (0.45, 0.2, 0.2, 0.15))[0], "SE_PHONE"
    # pt-BR
    ddd = rng.choice(_BR_DDD)
    if r < 0.8:
        s = "9" + rng.choice("6789") + _d(rng, 7)
        fmts = (f"({ddd}) {s[:5]}-{s[5:]}", f"+55 {ddd} {s[:5]}-{s[5:]}", f"{ddd} {s[:5]}-{s[5:]}", f"{ddd}{s}",
                f"+55 ({ddd}) {s[:5]}-{s[5:]}", f"({ddd}) {s[:1]} {s[1:5]}-{s[5:]}", f"+55{ddd}{s}")
        return rng.choices(fmts, (0.4, 0.15, 0.15, 0.1, 0.08, 0.07, 0.05))[0], "BR_PHONE"
    s = rng.choice("2345") + _d(rng, 7)
    return rng.choice((f"({ddd}) {s[:4]}-{s[4:]}", f"+55 {ddd} {s[:4]}-{s[4:]}", f"{ddd} {s[:4]}-{s[4:]}")), "BR_PHONE"


# --------------------------------------------------------------------------- addresses

_US_CITIES = (("New York", "NY", "100"), ("Brooklyn", "NY", "112"), ("Los Angeles", "CA", "900"),
              ("San Francisco", "CA", "941"), ("Chicago", "IL", "606"), ("Houston", "TX", "770"),
              ("Austin", "TX", "787"), ("Dallas", "TX", "752"), ("Phoenix", "AZ", "850"),
              ("Philadelphia", "PA", "191"), ("San Diego", "CA", "921"), ("Seattle", "WA", "981"),
              ("Denver", "CO", "802"), ("Boston", "MA", "021"), ("Atlanta", "GA", "303"), ("Miami", "FL", "331"),
              ("Portland", "OR", "972"), ("Columbus", "OH", "432"), ("Nashville", "TN", "372"),
              ("Minneapolis", "MN", "554"), ("Springfield", "IL", "627"))
_UK_CITIES = (("London", ("NW1", "SE15", "E2", "N7", "SW11", "W12", "EC1V", "WC2H", "E17", "SW4")),
              ("Manchester", ("M1", "M4", "M14", "M20")), ("Birmingham", ("B1", "B15", "B29")),
              ("Leeds", ("LS1", "LS6", "LS11")), ("Glasgow", ("G1", "G12", "G41")), ("Bristol", ("BS1", "BS6", "BS8")),
              ("Edinburgh", ("EH1", "EH3", "EH9")), ("Liverpool", ("L1", "L8", "L17")), ("Cardiff", ("CF10", "CF24")),
              ("Sheffield", ("S1", "S10", "S11")), ("Nottingham", ("NG1", "NG7")))
_UK_INWARD = "ABDEFGHJLNPQRSTUWXYZ"
_ES_CITIES = (("Madrid", "28", 55), ("Madrid", "28", 55), ("Barcelona", "08", 42), ("Valencia", "46", 26),
              ("Sevilla", "41", 20), ("Zaragoza", "50", 20), ("Málaga", "29", 18), ("Bilbao", "48", 15),
              ("Murcia", "30", 12), ("Palma", "07", 15), ("Valladolid", "47", 16), ("Alicante", "03", 16),
              ("Granada", "18", 14))
_ES_FLOORS = ("1º A", "2º B", "3º izda.", "4º dcha.", "bajo", "5º C", "1º dcha.", "2º 1ª", "6º D", "ático")
_MX_CITIES = (("Ciudad de México", "CDMX", 1000, 16999), ("Ciudad de México", "CDMX", 1000, 16999),
              ("Guadalajara", "Jal.", 44100, 44990), ("Monterrey", "N.L.", 64000, 64990),
              ("Puebla", "Pue.", 72000, 72590), ("Querétaro", "Qro.", 76000, 76250), ("Mérida", "Yuc.", 97000, 97390),
              ("Tijuana", "B.C.", 22000, 22750), ("León", "Gto.", 37000, 37690))
_MX_COLONIAS = ("Roma Norte", "Condesa", "Del Valle", "Narvarte", "Polanco", "Centro", "Juárez", "Providencia",
                "Chapultepec", "Coyoacán", "Lomas de Chapultepec", "Americana", "Santa Fe", "San Pedro")
_MX_STREETS = ("Av. Insurgentes Sur", "Calle Durango", "Av. Revolución", "Calle Tonalá", "Av. Chapultepec",
               "Calle Madero", "Av. Vallarta", "Calle Hidalgo", "Av. Juárez", "Calle Morelos", "Av. Constitución",
               "Calle Zaragoza", "Calle 60", "Av. Universidad")
_FR_CITIES = (("Paris", tuple(f"750{i:02d}" for i in range(1, 21))), ("Lyon", tuple(f"6900{i}" for i in range(1, 10))),
              ("Marseille", tuple(f"130{i:02d}" for i in range(1, 17))),
              ("Toulouse", ("31000", "31100", "31200", "31300", "31400", "31500")),
              ("Nice", ("06000", "06100", "06200", "06300")), ("Nantes", ("44000", "44100", "44200", "44300")),
              ("Strasbourg", ("67000", "67100", "67200")), ("Bordeaux", ("33000", "33100", "33200", "33300", "33800")),
              ("Lille", ("59000", "59160", "59260", "59800")), ("Rennes", ("35000", "35200", "35700")),
              ("Montpellier", ("34000", "34070", "34080", "34090")))
_DE_CITIES = (("Berlin", 10115, 14199), ("Berlin", 10115, 14199), ("Hamburg", 20095, 22769), ("München", 80331, 81929),
              ("Köln", 50667, 51149), ("Frankfurt am Main", 60306, 60599), ("Stuttgart", 70173, 70629),
              ("Düsseldorf", 40210, 40629), ("Leipzig", 4103, 4357), ("Dresden", 1067, 1328),
              ("Hannover", 30159, 30669), ("Nürnberg", 90402, 90491), ("Bremen", 28195, 28779))
_BR_CITIES = (("São Paulo", "SP", 1000, 5999), ("São Paulo", "SP", 1000, 5999), ("Rio de Janeiro", "RJ", 20000, 23799),
              ("Belo Horizonte", "MG", 30000, 31999), ("Porto Alegre", "RS", 90000, 91999),
              ("Curitiba", "PR", 80000, 82999), ("Salvador", "BA", 40000, 42599), ("Recife", "PE", 50000, 52999),
              ("Brasília", "DF", 70000, 72799), ("Fortaleza", "CE", 60000, 61599), ("Campinas", "SP", 13000, 13139))
_BR_BAIRROS = ("Centro", "Jardim Paulista", "Pinheiros", "Copacabana", "Savassi", "Boa Viagem", "Moinhos de Vento",
               "Batel", "Barra", "Meireles", "Vila Mariana", "Tijuca", "Asa Sul", "Cambuí")
#: (city, province, first CAP, last CAP)
_IT_CITIES = (("Milano", "MI", 20121, 20162), ("Milano", "MI", 20121, 20162), ("Roma", "RM", 118, 199),
              ("Roma", "RM", 118, 199), ("Torino", "TO", 10121, 10156), ("Napoli", "NA", 80121, 80147),
              ("Firenze", "FI", 50121, 50145), ("Bologna", "BO", 40121, 40141), ("Genova", "GE", 16121, 16167),
              ("Palermo", "PA", 90121, 90151), ("Venezia", "VE", 30121, 30176), ("Bari", "BA", 70121, 70132),
              ("Verona", "VR", 37121, 37142), ("Padova", "PD", 35121, 35143), ("Catania", "CT", 95121, 95131))
_NL_CITIES = (("Amsterdam", 1011, 1109), ("Amsterdam", 1011, 1109), ("Rotterdam", 3011, 3089),
              ("Den Haag", 2491, 2599), ("Utrecht", 3511, 3585), ("Eindhoven", 5611, 5658), ("Groningen", 9711, 9747),
              ("Tilburg", 5011, 5049), ("Almere", 1311, 1364), ("Breda", 4811, 4839), ("Nijmegen", 6511, 6546),
              ("Haarlem", 2011, 2037), ("Leiden", 2311, 2334), ("Arnhem", 6811, 6846), ("Zwolle", 8011, 8046))
#: Dutch postcode letters: never F, I, O, Q, U or Y; never the pairs SA, SD, SS.
_NL_PC_LETTERS = "ABCDEGHJKLMNPRSTVWXZ"
_NL_SUFFIX = (("", 0.62), ("A", 0.08), ("B", 0.04), ("-II", 0.06), ("-1", 0.06), (" hs", 0.04), ("-3", 0.04),
              (" bis", 0.02), ("-H", 0.04))
_PL_CITIES = (("Warszawa", 1, 4999), ("Warszawa", 1, 4999), ("Kraków", 30001, 31999), ("Łódź", 90001, 94999),
              ("Wrocław", 50001, 54999), ("Poznań", 60001, 61999), ("Gdańsk", 80001, 80999),
              ("Szczecin", 70001, 71999), ("Lublin", 20001, 20999), ("Katowice", 40001, 40999),
              ("Bydgoszcz", 85001, 85999), ("Białystok", 15001, 15999), ("Gdynia", 81001, 81999))
_SE_CITIES = (("Stockholm", 11120, 12999), ("Stockholm", 11120, 12999), ("Göteborg", 41101, 41879),
              ("Malmö", 21115, 21777), ("Uppsala", 75220, 75757), ("Västerås", 72210, 72591), ("Örebro", 70210, 70385),
              ("Linköping", 58220, 58597), ("Helsingborg", 25220, 25669), ("Jönköping", 55302, 55626),
              ("Umeå", 90325, 90740), ("Lund", 22100, 22740))


def address(rng: random.Random, locale: str, multiline: bool = False) -> tuple[str, str]:
    """A postal address in the locale's format → (text, subtype). ``multiline`` uses line breaks
    (email bodies) instead of commas between the street line and the city line."""
    streets = name_pools(locale)["street"]
    nl = "\n" if multiline else ", "
    if locale == "en-US":
        city, st, z = rng.choice(_US_CITIES)
        apt = rng.choice((f", Apt {rng.randint(1, 30)}{rng.choice('ABCD')}", f" #{rng.randint(100, 2400)}",
                          f", Unit {rng.randint(1, 12)}")) if rng.random() < 0.3 else ""
        street = f"{rng.randint(1, 9899)} {rng.choice(streets)}{apt}"
        return f"{street}{nl}{city}, {st} {z}{rng.randint(1, 99):02d}", "US_ADDRESS"
    if locale == "en-GB":
        city, districts = rng.choice(_UK_CITIES)
        pc = f"{rng.choice(districts)} {rng.randint(1, 9)}{rng.choice(_UK_INWARD)}{rng.choice(_UK_INWARD)}"
        flat = f"Flat {rng.randint(1, 24)}, " if rng.random() < 0.2 else ""
        return f"{flat}{rng.randint(1, 240)} {rng.choice(streets)}{nl}{city} {pc}", "UK_ADDRESS"
    if locale == "es-ES":
        city, pfx, top = rng.choice(_ES_CITIES)
        floor = f", {rng.choice(_ES_FLOORS)}" if rng.random() < 0.7 else ""
        street = f"{rng.choice(streets)}, {rng.randint(1, 160)}{floor}"
        return f"{street}{nl}{pfx}{rng.randint(1, top):03d} {city}", "ES_ADDRESS"
    if locale == "es-MX":
        city, state, lo, hi = rng.choice(_MX_CITIES)
        inner = f" int. {rng.randint(1, 40)}" if rng.random() < 0.3 else ""
        return (f"{rng.choice(_MX_STREETS)} {rng.randint(1, 3200)}{inner}, Col. {rng.choice(_MX_COLONIAS)}{nl}"
                f"{rng.randint(lo, hi):05d} {city}, {state}"), "MX_ADDRESS"
    if locale == "fr-FR":
        city, cps = rng.choice(_FR_CITIES)
        bis = " bis" if rng.random() < 0.08 else ""
        return f"{rng.randint(1, 180)}{bis} {rng.choice(streets)}{nl}{rng.choice(cps)} {city}", "FR_ADDRESS"
    if locale == "de-DE":
        city, lo, hi = rng.choice(_DE_CITIES)
        letter = rng.choice("abc") if rng.random() < 0.1 else ""
        return f"{rng.choice(streets)} {rng.randint(1, 140)}{letter}{nl}{rng.randint(lo, hi):05d} {city}", "DE_ADDRESS"
    if locale == "it-IT":
        city, prov, lo, hi = rng.choice(_IT_CITIES)
        civic = f"{rng.randint(1, 180)}{rng.choice(('', '', '', '', '/A', '/B', ' bis'))}"
        street = f"{rng.choice(streets)}{', ' if rng.random() < 0.5 else ' '}{civic}"
        if rng.random() < 0.2:
            street += rng.choice((f", int. {rng.randint(1, 24)}", f", scala {rng.choice('ABCD')}",
                                  f", scala {rng.choice('AB')}, int. {rng.randint(1, 16)}"))
        prov_txt = f" ({prov})" if rng.random() < 0.6 else f" {prov}"
        return f"{street}{nl}{rng.randint(lo, hi):05d} {city}{prov_txt}", "IT_ADDRESS"
    if locale == "nl-NL":
        city, lo, hi = rng.choice(_NL_CITIES)
        while True:
            letters = rng.choice(_NL_PC_LETTERS) + rng.choice(_NL_PC_LETTERS)
            if letters not in ("SA", "SD", "SS"):
                break
        pc = f"{rng.randint(lo, hi)}{' ' if rng.random() < 0.85 else ''}{letters}"
        suffix = rng.choices([x for x, _ in _NL_SUFFIX], [w for _, w in _NL_SUFFIX])[0]
        return f"{rng.choice(streets)} {rng.randint(1, 260)}{suffix}{nl}{pc} {city}", "NL_ADDRESS"
    if locale == "pl-PL":
        city, lo, hi = rng.choice(_PL_CITIES)
        n = rng.randint(lo, hi)
        r = rng.random()
        flat = f"/{rng.randint(1, 120)}" if r < 0.55 else f" m. {rng.randint(1, 120)}" if r < 0.65 else ""
        number = f"{rng.randint(1, 220)}{rng.choice(('', '', '', '', '', 'A', 'B'))}{flat}"
        return f"{rng.choice(streets)} {number}{nl}{n // 1000:02d}-{n % 1000:03d} {city}", "PL_ADDRESS"
    if locale == "sv-SE":
        city, lo, hi = rng.choice(_SE_CITIES)
        n = rng.randint(lo, hi)
        letter = rng.choice("ABC") if rng.random() < 0.12 else ""
        lgh = f", lgh {rng.randint(10, 16)}{rng.randint(1, 9):02d}" if rng.random() < 0.15 else ""
        pc = f"{n // 100} {n % 100:02d}" if rng.random() < 0.85 else str(n)
        return f"{rng.choice(streets)} {rng.randint(1, 140)}{letter}{lgh}{nl}{pc} {city}", "SE_ADDRESS"
    city, uf, lo, hi = rng.choice(_BR_CITIES)
    compl = f", apto {rng.randint(11, 184)}" if rng.random() < 0.4 else ""
    return (f"{rng.choice(streets)}, {rng.randint(1, 3999)}{compl} - {rng.choice(_BR_BAIRROS)}{nl}"
            f"{city} - {uf}, {rng.randint(lo, hi):05d}-{_d(rng, 3)}"), "BR_ADDRESS"


# --------------------------------------------------------------------------- dates, times, money

MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
           "noviembre", "diciembre"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
           "November", "Dezember"),
    "pt": ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro",
           "novembro", "dezembro"),
    "it": ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre",
           "novembre", "dicembre"),
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
           "november", "december"),
    # Polish dates use the genitive ("3 listopada 2026")
    "pl": ("stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia", "września",
           "października", "listopada", "grudnia"),
    "sv": ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
           "november", "december"),
}
_IT_WEEKDAYS = ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica")
#: Date styles of the later locales: (format, cumulative probability). Fields: d day, m month, y year,
#: mon month name, wd weekday (Italian running-text dates carry it, "martedì 3 novembre", so no
#: article has to elide: "l'8").
_DOB_STYLES = {
    "it-IT": (("{d:02d}/{m:02d}/{y}", 0.55), ("{d} {mon} {y}", 0.85), ("{d:02d}-{m:02d}-{y}", 1.0)),
    "nl-NL": (("{d:02d}-{m:02d}-{y}", 0.5), ("{d} {mon} {y}", 0.8), ("{d}-{m}-{y}", 1.0)),
    "pl-PL": (("{d:02d}.{m:02d}.{y}", 0.55), ("{d} {mon} {y}", 0.85), ("{d:02d}-{m:02d}-{y}", 1.0)),
    "sv-SE": (("{y}-{m:02d}-{d:02d}", 0.55), ("{d} {mon} {y}", 0.85), ("{d}/{m} {y}", 1.0)),
}
_DATE_STYLES = {
    "it-IT": (("{wd} {d} {mon}", 0.6), ("{d:02d}/{m:02d}/{y}", 0.85), ("{d:02d}/{m:02d}", 1.0)),
    "nl-NL": (("{d} {mon}", 0.55), ("{d:02d}-{m:02d}-{y}", 0.85), ("{d}-{m}", 1.0)),
    "pl-PL": (("{d} {mon}", 0.55), ("{d:02d}.{m:02d}.{y}", 0.85), ("{d:02d}.{m:02d}", 1.0)),
    "sv-SE": (("{d} {mon}", 0.55), ("{y}-{m:02d}-{d:02d}", 0.8), ("{d}/{m}", 1.0)),
}


def _styled(styles: tuple[tuple[str, float], ...], r: float, locale: str, d: date) -> str:
    fmt = next(f for f, p in styles if r < p)
    return fmt.format(d=d.day, m=d.month, y=d.year, mon=MONTHS[locale[:2]][d.month - 1], wd=_IT_WEEKDAYS[d.weekday()])


def _ord(d: int) -> str:
    return "th" if 10 <= d % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")


def dob(rng: random.Random, locale: str, d: date) -> str:
    """A date of birth as the customer would type it (the context word comes from the template)."""
    y, m, dd = d.year, d.month, d.day
    r = rng.random()
    if locale == "en-US":
        mon = MONTHS["en"][m - 1]
        return (f"{m:02d}/{dd:02d}/{y}" if r < 0.4 else f"{m}/{dd}/{y}" if r < 0.55 else
                f"{mon} {dd}, {y}" if r < 0.85 else f"{mon[:3]} {dd}, {y}")
    if locale == "en-GB":
        mon = MONTHS["en"][m - 1]
        return (f"{dd:02d}/{m:02d}/{y}" if r < 0.45 else f"{dd} {mon} {y}" if r < 0.8 else f"{dd}{_ord(dd)} {mon} {y}")
    if locale in ("es-ES", "es-MX"):
        return (f"{dd:02d}/{m:02d}/{y}" if r < 0.5 else f"{dd} de {MONTHS['es'][m - 1]} de {y}" if r < 0.85 else
                f"{dd:02d}-{m:02d}-{y}")
    if locale == "fr-FR":
        day = "1er" if dd == 1 else str(dd)
        return f"{dd:02d}/{m:02d}/{y}" if r < 0.55 else f"{day} {MONTHS['fr'][m - 1]} {y}"
    if locale == "de-DE":
        return (f"{dd:02d}.{m:02d}.{y}" if r < 0.55 else f"{dd}. {MONTHS['de'][m - 1]} {y}" if r < 0.8 else
                f"{dd}.{m}.{y}")
    if locale in _DOB_STYLES:
        return _styled(_DOB_STYLES[locale], r, locale, d)
    return f"{dd:02d}/{m:02d}/{y}" if r < 0.6 else f"{dd} de {MONTHS['pt'][m - 1]} de {y}"


def date_phrase(rng: random.Random, locale: str, d: date) -> str:
    """An order/delivery date as written in running text (a look-alike, not PII)."""
    m, dd = d.month, d.day
    r = rng.random()
    if locale == "en-US":
        mon = MONTHS["en"][m - 1]
        return (f"{mon[:3]} {dd}" if r < 0.4 else f"{mon} {dd}" if r < 0.65 else f"{m}/{dd}" if r < 0.8 else
                f"{mon[:3]} {dd}{_ord(dd)}" if r < 0.92 else f"{m:02d}/{dd:02d}/{d.year}")
    if locale == "en-GB":
        mon = MONTHS["en"][m - 1]
        return (f"{dd} {mon[:3]}" if r < 0.35 else f"{dd} {mon}" if r < 0.6 else f"{dd}{_ord(dd)} {mon}" if r < 0.8
                else f"{dd:02d}/{m:02d}" if r < 0.9 else f"{dd:02d}/{m:02d}/{d.year}")
    if locale in ("es-ES", "es-MX"):
        return (f"{dd} de {MONTHS['es'][m - 1]}" if r < 0.6 else f"{dd:02d}/{m:02d}/{d.year}" if r < 0.85 else
                f"{dd:02d}/{m:02d}")
    if locale == "fr-FR":
        day = "1er" if dd == 1 else str(dd)
        return (f"{day} {MONTHS['fr'][m - 1]}" if r < 0.6 else f"{dd:02d}/{m:02d}/{d.year}" if r < 0.85 else
                f"{dd:02d}/{m:02d}")
    if locale == "de-DE":
        return (f"{dd}. {MONTHS['de'][m - 1]}" if r < 0.5 else f"{dd:02d}.{m:02d}.{d.year}" if r < 0.8 else
                f"{dd}.{m}.")
    if locale in _DATE_STYLES:
        return _styled(_DATE_STYLES[locale], r, locale, d)
    return (f"{dd} de {MONTHS['pt'][m - 1]}" if r < 0.55 else f"{dd:02d}/{m:02d}/{d.year}" if r < 0.85 else
            f"{dd:02d}/{m:02d}")


def time_phrase(rng: random.Random, locale: str) -> str:
    h = rng.choice((8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20))
    mi = rng.choice((0, 0, 15, 30, 45, 10, 20, 50))
    if locale == "en-US" or locale == "en-GB" and rng.random() < 0.5:
        h12 = h - 12 if h > 12 else h
        ap = "pm" if h >= 12 else "am"
        sep = "" if locale == "en-GB" else " "
        return f"{h12}{sep}{ap}" if mi == 0 and rng.random() < 0.5 else f"{h12}:{mi:02d}{sep}{ap}"
    if locale in ("fr-FR", "pt-BR") and rng.random() < 0.5:
        return f"{h}h{mi:02d}" if mi else f"{h}h"
    if locale in ("it-IT", "nl-NL", "pl-PL", "sv-SE") and rng.random() < 0.4:  # "14.30"
        return f"{h}.{mi:02d}"
    return f"{h:02d}:{mi:02d}" if rng.random() < 0.7 else f"{h}:{mi:02d}"


def _thousands(n: int, sep: str) -> str:
    return f"{n:,}".replace(",", sep)


def amount(rng: random.Random, locale: str, value: float) -> str:
    """A money amount in local notation (value in the locale's currency)."""
    cents = round(value * 100)
    units, c = divmod(cents, 100)
    r = rng.random()
    if locale == "en-US":
        return f"${_thousands(units, ',')}.{c:02d}" if r < 0.85 else f"{units}.{c:02d} dollars"
    if locale == "en-GB":
        return f"£{_thousands(units, ',')}.{c:02d}"
    if locale == "es-MX":
        return (f"${_thousands(units, ',')}.{c:02d}" if r < 0.6 else f"${units} pesos" if r < 0.8 else
                f"{_thousands(units, ',')}.{c:02d} MXN")
    if locale == "pt-BR":
        return f"R$ {_thousands(units, '.')},{c:02d}" if r < 0.8 else f"R${_thousands(units, '.')},{c:02d}"
    if locale == "pl-PL":
        body = f"{_thousands(units, ' ')},{c:02d}"
        return f"{body} zł" if r < 0.65 else f"{body} PLN" if r < 0.85 else f"{body}zł"
    if locale == "sv-SE":
        u = _thousands(units, " ")
        return (f"{u} kr" if r < 0.35 else f"{u},{c:02d} kr" if r < 0.7 else f"{u},{c:02d} SEK" if r < 0.88 else
                f"{u}:-")
    if locale == "it-IT":
        body = f"{_thousands(units, '.')},{c:02d}"
        return f"{body} €" if r < 0.5 else f"€ {body}" if r < 0.75 else f"{body} euro" if r < 0.9 else f"€{body}"
    if locale == "nl-NL":
        body = f"{_thousands(units, '.')},{c:02d}"
        return f"€ {body}" if r < 0.5 else f"€{body}" if r < 0.75 else f"{body} euro" if r < 0.9 else f"EUR {body}"
    tsep = " " if locale == "fr-FR" else "."
    body = f"{_thousands(units, tsep)},{c:02d}"
    if locale == "de-DE" and r < 0.2:
        return f"{body} EUR"
    if locale == "es-ES" and r < 0.15:
        return f"{body} euros"
    return f"{body} €" if r < 0.8 else f"{body}€"


CURRENCY_FACTOR = {"en-US": 1.0, "en-GB": 0.8, "es-ES": 0.92, "fr-FR": 0.92, "de-DE": 0.92, "es-MX": 18.0,
                   "pt-BR": 5.2, "it-IT": 0.92, "nl-NL": 0.92, "pl-PL": 3.9, "sv-SE": 10.4}


# --------------------------------------------------------------------------- look-alikes (not PII)

_CARRIERS = {
    "en-US": ("UPS", "USPS", "FedEx"), "en-GB": ("Royal Mail", "DPD", "Evri"), "es-ES": ("Correos", "SEUR", "MRW"),
    "es-MX": ("Estafeta", "DHL", "FedEx"), "fr-FR": ("Colissimo", "Chronopost", "DPD"),
    "de-DE": ("DHL", "Hermes", "DPD"), "pt-BR": ("Correios", "Jadlog", "Loggi"),
    "it-IT": ("BRT", "Poste Italiane", "GLS"), "nl-NL": ("PostNL", "DHL", "DPD"),
    "pl-PL": ("InPost", "DPD", "Poczta Polska"), "sv-SE": ("PostNord", "DHL", "Budbee"),
}
#: Carriers whose numbers are UPU S10 ("RR123456789IT"): two letters, nine digits, the country.
_S10 = {"Royal Mail": "GB", "Chronopost": "FR", "Correios": "BR", "Poste Italiane": "IT"}
_ALNUM = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def _a(rng: random.Random, n: int, chars: str = _ALNUM) -> str:
    return "".join(rng.choice(chars) for _ in range(n))


def tracking(rng: random.Random, locale: str) -> tuple[str, str]:
    """(tracking number, carrier) in the carrier's format."""
    carrier = rng.choice(_CARRIERS[locale])
    if carrier == "UPS":
        t = f"1Z{_a(rng, 6)}{_d(rng, 10)}"
    elif carrier == "USPS":
        t = "9400" + _d(rng, 18)
        if rng.random() < 0.5:
            t = " ".join(t[i:i + 4] for i in range(0, 22, 4))
    elif carrier == "FedEx":
        t = _d(rng, 12)
    elif carrier in _S10:
        t = f"{_a(rng, 2, _LETTERS)}{_d(rng, 9)}{_S10[carrier]}"
    elif carrier in ("DPD", "SEUR", "Hermes", "Jadlog"):
        t = _d(rng, 14)
    elif carrier == "Evri":
        t = f"H{_a(rng, 2)}{_d(rng, 13)}"
    elif carrier == "Correos":
        t = f"PQ{_d(rng, 1)}{_a(rng, 1, _LETTERS)}{_d(rng, 1)}{_a(rng, 1, _LETTERS)}{_d(rng, 16)}{_a(rng, 1, _LETTERS)}"
    elif carrier == "MRW":
        t = f"{_d(rng, 5)}{_d(rng, 7)}"
    elif carrier == "Estafeta":
        t = _d(rng, 22)
    elif carrier == "DHL":
        if locale == "es-MX":
            t = _d(rng, 10)
        else:
            t = rng.choice((_d(rng, 12), "00340434" + _d(rng, 12), "JJD" + _d(rng, 18)))
    elif carrier == "Colissimo":
        t = f"6A{_d(rng, 11)}"
    elif carrier == "BRT":
        t = _d(rng, 15)
    elif carrier == "GLS":
        t = _d(rng, 11)
    elif carrier == "PostNL":
        t = f"3S{_a(rng, 4, _LETTERS)}{_d(rng, 7)}"
    elif carrier == "InPost":
        t = f"6{_d(rng, 23)}"
    elif carrier == "Poczta Polska":
        t = f"00{_d(rng, 18)}" if rng.random() < 0.7 else f"{_a(rng, 2, _LETTERS)}{_d(rng, 9)}PL"
    elif carrier == "PostNord":
        t = f"{_a(rng, 2, _LETTERS)}{_d(rng, 9)}SE" if rng.random() < 0.5 else f"00373{_d(rng, 15)}"
    elif carrier == "Budbee":
        t = _a(rng, 12)
    else:  # Loggi
        t = _a(rng, 10)
    return t, carrier


def order_number(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.25:
        return f"{rng.randint(10, 99)}-{_d(rng, 4)}"
    if r < 0.4:
        return f"#{rng.choice('ABCDEFGHKMR')}-{_d(rng, 5)}"
    if r < 0.55:
        return f"{rng.randint(1000, 9999)}-{_d(rng, 2)}"
    if r < 0.67:
        return f"ORD-2026-{_d(rng, 6)}"
    if r < 0.8:
        return f"#{rng.randint(100000, 999999)}"
    if r < 0.9:
        return f"{rng.randint(100, 999)}-{_d(rng, 7)}-{_d(rng, 7)}"
    return f"{rng.choice('ABCDEFGHKMR')}{rng.randint(1, 9)}-{_d(rng, 6)}"


def sku(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.3:
        return f"{_d(rng, 4)}-{rng.choice(('BLK', 'WHT', 'RED', 'BLU', 'GRY', 'GRN'))}"
    if r < 0.55:
        return f"{_a(rng, 2, _LETTERS)}-{rng.randint(100, 999)}-{rng.choice(('XS', 'S', 'M', 'L', 'XL', 'W', 'B'))}"
    if r < 0.75:
        return f"B0{_a(rng, 8)}"
    return f"{_a(rng, 2, _LETTERS)}{_d(rng, 4)}{rng.choice(('XL', 'BK', 'PR', 'V2', 'EU'))}"


MODELS = ("SoundMax Pro 3", "AeroBrew 300", "Nimbus X2", "Vela S5", "CrispAir 5L", "Orbit Mini", "TrailRunner GTX",
          "Lumio Desk 2", "PulseFit 4", "Kora Blend 900", "Zephyr V12", "Atlas Chair Pro", "Aria Buds", "Milo Tab 10")


def invoice(rng: random.Random, locale: str) -> str:
    lang = locale[:2]
    if lang == "en":
        return f"INV-2026-{_d(rng, 6)}"
    if lang == "es":
        return f"FAC-2026-{_d(rng, 5)}" if rng.random() < 0.6 else f"F2026/{_d(rng, 5)}"
    if lang == "fr":
        return f"FA2026-{_d(rng, 5)}"
    if lang == "de":
        return f"RE-2026-{_d(rng, 5)}"
    if lang == "it":
        return f"FT-2026-{_d(rng, 5)}" if rng.random() < 0.6 else f"{rng.randint(1, 9999)}/2026"
    if lang == "nl":
        return f"2026{_d(rng, 6)}" if rng.random() < 0.5 else f"F-2026-{_d(rng, 5)}"
    if lang == "pl":
        return f"FV/{_d(rng, 4)}/2026" if rng.random() < 0.6 else f"FV {rng.randint(1, 999)}/{rng.randint(1, 12):02d}/2026"
    if lang == "sv":
        return f"{_d(rng, 7)}" if rng.random() < 0.5 else f"F2026-{_d(rng, 5)}"
    return f"{_d(rng, 3)}.{_d(rng, 3)}.{_d(rng, 3)}"  # NF-e number, looks like a CPF without check digits


def ticket(rng: random.Random, locale: str) -> str:
    if locale == "pt-BR":
        return f"2026{_d(rng, 10)}"
    r = rng.random()
    return f"CASE-{_d(rng, 8)}" if r < 0.45 else f"#{rng.randint(100000, 999999)}" if r < 0.75 else f"TKT-{_d(rng, 5)}"
