"""Name gazetteer, cue phrases and stop lists for the multilingual name recognizer.

First names and surnames come from the person providers of **every locale Faker ships**
(``faker.config.AVAILABLE_LOCALES``: each ``faker.providers.person.<locale>`` module's
``first_names*``, ``middle_names*``, ``last_names*`` ... lists, tuples or weighted
``OrderedDict`` s), so a Polish surname in a German conversation or a Turkish first name in an
English one is still name evidence. Words that are also function words or common words in one of
the cue languages (spaCy's stop-word lists, Faker's lorem word lists, months, weekdays,
greetings, the words of the cue phrases themselves, support vocabulary...) are flagged as
*ambiguous* so that "Will", "Mayo", "Ben" (Dutch "am") or "Sono" (Italian "am") never count as
name evidence on their own. Everything is folded (accent-free, case-folded) so "Lucia" matches
"Lucía".

Two narrower views exist beside the full gazetteer: :attr:`Gazetteer.core` (names of the locales
of the cue languages, :data:`CUE_LANGUAGES`) backs the riskiest path — lower-case names with no
cue at all — and :attr:`Gazetteer.supported` (names of the Faker locales of the supported
conversation locales) backs the surrogate factory's "is this fake also a first name?" checks.

Built once per process, lazily (Faker and spaCy's stop-word modules are imported on first use).
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from agent_release.masking.textutil import SUPPORTED_LOCALES, faker_locale, fold_word

#: Languages with cue phrases (self-introduction, addressing, titles, signatures) and stop lists.
CUE_LANGUAGES = ("en", "es", "fr", "de", "pt", "it", "nl", "pl", "sv", "da", "nb", "fi", "tr")

PARTICLES = frozenset(
    """de del della delle dei degli di da dal dalla das do dos du des la le las los lo van von der
    den ten ter te het zu y e af auch""".split()
)

TITLES = frozenset(
    """mr mrs ms miss mx dr dra prof sir madam sr sra srta don dona doña m mme mlle herr frau
    señor senor señora senora señorita senorita monsieur madame mademoiselle senhor senhora
    sñr sig sigra signor signora signorina dott dottssa dottor dottoressa avv ing dhr mevr mw
    meneer mevrouw heer juffrouw pan pani panie pana panu fru froken fröken herra rouva neiti
    sayin sayın""".split()
)

MONTHS = {
    "en": "january february march april may june july august september october november december",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "fr": "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre",
    "de": "januar februar marz april mai juni juli august september oktober november dezember",
    "pt": "janeiro fevereiro marco abril maio junho julho agosto setembro outubro novembro dezembro",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
    # Polish dates use the genitive ("5 maja 1990"); the nominative is in _EXTRA_STOP
    "pl": "stycznia lutego marca kwietnia maja czerwca lipca sierpnia wrzesnia pazdziernika listopada grudnia",
    "sv": "januari februari mars april maj juni juli augusti september oktober november december",
}

#: Cue phrases per language (folded when compiled by :mod:`agent_release.masking.names`):
#: ``strong`` — what follows is a name (capitalised words of any kind, or gazetteer names in
#: any case); ``weak`` — what follows is a name when its first word is a gazetteer first name
#: (greetings, "I am", thanks...); ``title`` — honorifics written before a name; ``signature``
#: — closings after which a name stands on the next line.
CUES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "strong": (
            "my name is", "my name's", "name is", "the name is", "call me", "i am called",
            "full name", "name:", "name -", "customer name", "account holder",
            "account holder's name", "cardholder", "card holder", "in the name of",
            "under the name", "under the name of", "it's under", "it is under", "signed",
        ),
        "weak": (
            "i'm", "i’m", "i am", "it's", "this is", "with", "hi", "hello", "hey", "hiya", "dear",
            "thanks", "thank you", "cheers", "bye", "attended by", "from", "for", "customer",
            "client", "perfect", "great", "super", "ok", "okay", "sure",
        ),
        "title": ("mr.", "mrs.", "ms.", "dr.", "prof.", "mr", "mrs", "ms", "mx", "dr", "prof",
                  "miss", "sir", "madam"),
        "signature": (
            "regards", "best regards", "kind regards", "warm regards", "best", "cheers", "thanks",
            "thank you", "sincerely", "yours sincerely", "yours",
        ),
    },
    "es": {
        "strong": (
            "me llamo", "mi nombre es", "mi nombre:", "nombre:", "nombre completo", "a nombre de",
            "titular:", "titular de la cuenta", "titular de la tarjeta", "se llama", "firmado",
            "os escribe", "les escribe", "le escribe", "te escribe",
        ),
        "weak": (
            "soy", "habla", "quien habla", "con", "hola", "buenos dias", "buenos días",
            "buenas tardes", "buenas noches", "buenas", "estimado", "estimada", "querido",
            "querida", "gracias", "muchas gracias", "adios", "adiós", "atendido por", "de parte de",
            "para", "cliente", "perfecto", "genial", "claro", "bien",
        ),
        "title": ("sr.", "sra.", "srta.", "dra.", "sr", "sra", "srta", "sñr", "dra", "don", "doña",
                  "señor", "señora", "señorita"),
        "signature": (
            "saludos", "un saludo", "saludos cordiales", "atentamente", "cordialmente", "gracias",
            "muchas gracias", "un abrazo",
        ),
    },
    "fr": {
        "strong": (
            "je m'appelle", "je m’appelle", "mon nom est", "mon nom:", "nom:", "nom complet",
            "au nom de", "appelez-moi", "titulaire:", "titulaire du compte", "titulaire de la carte",
        ),
        "weak": (
            "je suis", "c'est", "c’est", "ici", "avec", "bonjour", "bonsoir", "salut", "cher",
            "chère", "chere", "merci", "au revoir", "de la part de", "pour", "parfait",
        ),
        "title": ("m.", "mme", "mlle", "monsieur", "madame", "mademoiselle"),
        "signature": ("cordialement", "bien cordialement", "bien à vous", "bien a vous", "merci",
                      "bisous", "amitiés"),
    },
    "de": {
        "strong": (
            "ich heisse", "ich heiße", "mein name ist", "mein name:", "auf den namen",
            "auf den namen von", "lauft auf", "läuft auf", "lautet auf", "kontoinhaber",
            "kontoinhaberin", "karteninhaber", "vollständiger name", "vollstandiger name",
        ),
        "weak": (
            "ich bin", "hier ist", "hier spricht", "mit", "hallo", "guten tag", "guten morgen",
            "liebe", "lieber", "sehr geehrte", "sehr geehrter", "danke", "vielen dank", "tschüss",
            "von", "für", "kunde", "kundin", "gut",
        ),
        "title": ("herr", "frau"),
        "signature": (
            "mit freundlichen grüßen", "mit freundlichen grussen", "viele grüße", "viele grusse",
            "grüße", "grusse", "gruß", "gruss", "lg", "beste grüße", "beste grusse",
            "danke und gruß", "danke und gruss", "danke",
        ),
    },
    "pt": {
        "strong": (
            "meu nome e", "meu nome é", "me chamo", "nome:", "nome completo", "em nome de",
            "no nome de", "titular da conta", "titular do cartao", "titular do cartão",
        ),
        "weak": (
            "sou", "aqui e", "aqui é", "aqui fala", "com", "ola", "olá", "oi", "bom dia",
            "boa tarde", "boa noite", "prezado", "prezada", "caro", "cara", "obrigado", "obrigada",
            "valeu", "tchau", "da parte de", "perfeito", "certo",
        ),
        "title": ("senhor", "senhora", "dona", "sr.", "sra.", "dr.", "dra."),
        "signature": ("atenciosamente", "abraços", "abracos", "obrigado", "obrigada", "att",
                      "att.", "at.te"),
    },
    "it": {
        "strong": (
            "mi chiamo", "il mio nome è", "il mio nome e", "il mio nome:", "mio nome è",
            "nome e cognome", "nome e cognome:", "nome:", "cognome:", "nome completo", "a nome di",
            "intestato a", "intestata a", "titolare del conto", "titolare della carta",
            "titolare dell'account", "titolare dell’account", "titolare:", "intestatario",
            "intestataria", "intestatario del conto", "intestataria del conto", "nominativo",
            "mi presento", "firmato",
        ),
        "weak": (
            "sono", "io sono", "qui è", "qui e", "parla", "ciao", "salve", "buongiorno",
            "buonasera", "buon pomeriggio", "gentile", "gentilissimo", "gentilissima", "egregio",
            "egregia", "caro", "cara", "grazie", "grazie mille", "da parte di", "per", "cliente",
            "perfetto", "benissimo",
        ),
        "title": ("sig.", "sig.ra", "sig.na", "sigg.", "signor", "signora", "signorina", "dott.",
                  "dott.ssa", "dottor", "dottoressa", "avv.", "ing.", "prof.ssa"),
        "signature": (
            "cordiali saluti", "distinti saluti", "saluti", "un saluto", "grazie", "grazie mille",
            "a presto", "cordialmente", "buona giornata",
        ),
    },
    "nl": {
        "strong": (
            "mijn naam is", "mijn naam:", "ik heet", "naam:", "volledige naam", "op naam van",
            "ten name van", "t.n.v.", "tnv", "rekeninghouder", "kaarthouder",
            "mijn achternaam is", "mijn voornaam is",
        ),
        "weak": (
            "ik ben", "hier is", "u spreekt met", "je spreekt met", "spreek ik met", "met",
            "hallo", "hoi", "goedemorgen", "goedemiddag", "goedenavond", "beste", "geachte",
            "bedankt", "dank je", "dank u", "dank je wel", "dank u wel", "namens", "klant",
            "prima", "top", "oké",
        ),
        "title": ("dhr.", "dhr", "mevr.", "mevr", "mw.", "meneer", "mevrouw", "de heer",
                  "juffrouw"),
        "signature": (
            "met vriendelijke groet", "met vriendelijke groeten", "vriendelijke groet",
            "vriendelijke groeten", "hartelijke groet", "hartelijke groeten", "groeten", "groet",
            "mvg", "bedankt", "alvast bedankt",
        ),
    },
    "pl": {
        "strong": (
            "nazywam się", "nazywam sie", "mam na imię", "mam na imie", "moje imię to",
            "moje imie to", "moje nazwisko to", "imię i nazwisko", "imie i nazwisko", "imię:",
            "imie:", "nazwisko:", "na nazwisko", "właściciel konta", "wlasciciel konta",
            "posiadacz karty", "w imieniu",
        ),
        "weak": (
            "jestem", "mówi", "mowi", "z tej strony", "dzień dobry", "dzien dobry", "witam",
            "cześć", "czesc", "hej", "szanowny", "szanowna", "szanowni", "drogi", "droga",
            "dziękuję", "dziekuje", "dzięki", "dzieki", "klient", "klientka",
        ),
        "title": ("pan", "pani", "panie", "pana", "panu", "mgr", "inż.", "inz."),
        "signature": (
            "pozdrawiam", "z poważaniem", "z powazaniem", "serdecznie pozdrawiam",
            "pozdrawiam serdecznie", "z wyrazami szacunku", "dziękuję", "dziekuje", "dzięki",
        ),
    },
    "sv": {
        "strong": (
            "jag heter", "mitt namn är", "mitt namn ar", "mitt namn:", "namn:",
            "fullständigt namn", "i namnet", "på namnet", "kontoinnehavare", "kortinnehavare",
        ),
        "weak": (
            "jag är", "jag ar", "det är", "här är", "hej", "hejsan", "hallå", "god morgon",
            "goddag", "kära", "käre", "tack", "tack så mycket", "med", "kund",
        ),
        "title": ("herr", "fru", "fröken"),
        "signature": (
            "med vänliga hälsningar", "med vanliga halsningar", "vänliga hälsningar",
            "bästa hälsningar", "hälsningar", "halsningar", "mvh", "tack",
        ),
    },
    "da": {
        "strong": ("jeg hedder", "mit navn er", "navn:", "kontohaver", "kortholder"),
        "weak": ("jeg er", "det er", "hej", "kære", "tak", "mange tak", "goddag", "godmorgen"),
        "title": ("hr.", "fru"),
        "signature": ("med venlig hilsen", "venlig hilsen", "de bedste hilsner", "hilsen", "mvh",
                      "tak"),
    },
    "nb": {
        "strong": ("jeg heter", "mitt navn er", "navn:", "kontoinnehaver", "kortinnehaver"),
        "weak": ("jeg er", "det er", "hei", "hallo", "kjære", "takk", "tusen takk", "god morgen",
                 "god dag"),
        "title": ("herr", "fru"),
        "signature": ("med vennlig hilsen", "vennlig hilsen", "hilsen", "mvh", "takk"),
    },
    "fi": {
        "strong": ("nimeni on", "minun nimeni on", "nimi:", "nimellä", "tilinomistaja",
                   "kortinhaltija"),
        "weak": ("olen", "minä olen", "tässä on", "moi", "hei", "terve", "moikka", "hyvä",
                 "huomenta", "päivää", "kiitos"),
        "title": ("herra", "rouva", "neiti"),
        "signature": ("ystävällisin terveisin", "ystavallisin terveisin", "parhain terveisin",
                      "terveisin", "kiitos"),
    },
    "tr": {
        "strong": ("benim adım", "benim adim", "adım", "benim ismim", "ismim", "ad soyad",
                   "ad soyad:", "adı soyadı", "adi soyadi", "isim:", "hesap sahibi", "kart sahibi"),
        # "ben X" ("I am X") only when a first name follows (a weak cue): Dutch "ben" is a verb
        "weak": ("ben", "merhaba", "selam", "sayın", "sayin", "değerli", "degerli", "sevgili",
                 "iyi günler", "günaydın", "teşekkürler", "tesekkurler", "teşekkür ederim"),
        "title": (),
        "signature": ("saygılarımla", "saygilarimla", "saygılar", "iyi çalışmalar", "sevgilerimle",
                      "teşekkürler", "tesekkurler"),
    },
}

#: Common words per cue language that collide with some locale's name list (support vocabulary,
#: weekdays, greetings...): ambiguous, like the stop words.
_EXTRA_STOP = """
monday tuesday wednesday thursday friday saturday sunday lunes martes miercoles jueves viernes
sabado domingo lundi mardi mercredi jeudi vendredi samedi dimanche montag dienstag mittwoch
donnerstag freitag samstag sonntag segunda terca quarta quinta sexta
lunedi martedi mercoledi giovedi venerdi sabato domenica maandag dinsdag woensdag donderdag
vrijdag zaterdag zondag poniedzialek wtorek sroda czwartek piatek sobota niedziela mandag
tisdag onsdag torsdag fredag lordag sondag tirsdag lordag sondag maanantai tiistai keskiviikko
torstai perjantai lauantai sunnuntai pazartesi sali carsamba persembe cuma cumartesi pazar
styczen luty marzec kwiecien maj czerwiec lipiec sierpien wrzesien pazdziernik listopad grudzien
hi hello hey dear thanks thank regards best cheers hola gracias saludos buenas buenos estimado
estimada querido querida bonjour bonsoir salut merci cordialement cher chere hallo danke gruss
grusse gruesse liebe lieber sehr geehrte geehrter ola oi obrigado obrigada atenciosamente prezado
prezada caro cara abracos please ok okay yes no si oui ja nao sim
ciao salve buongiorno buonasera grazie prego gentile gentilissimo egregio saluti cordiali
distinti hoi goedemorgen goedemiddag goedenavond beste geachte bedankt dank groet groeten
vriendelijke hartelijke witam czesc dzien dobry szanowny szanowna dziekuje dzieki pozdrawiam
powazaniem hej hejsan halla tack kara hälsningar halsningar vanliga mvh mvg moi terve moikka
kiitos terveisin ystavallisin merhaba selam sayin degerli sevgili tesekkurler saygilarimla
gunaydin takk kjaere hilsen venlig vennlig
bella bello ottimo perfetto certo prego scusi scusa benvenuto graag natuurlijk sorry super oke
dobrze jasne swietnie bra toppen perfekt absolut ursakta valkommen
street st avenue ave road rd lane drive boulevard court place terrace way close crescent square
calle avenida paseo plaza camino carrera ronda travesia rua praca estrada alameda travessa largo
rue allee impasse quai chemin strasse platz weg gasse allee ring via viale piazza corso vicolo
straat laan plein gracht kade ulica ul aleja plac gatan vagen torget gata vej gade katu tie
sokak cadde mahalle
jan feb mar apr jun jul aug sep sept oct nov dec ene abr ago dic janv fevr avr juil dec okt dez fev
out set gen giu lug ott dic mei okt maj
""".split()


#: Brands, carriers, identifiers and support vocabulary: never a name, whatever a name list says
#: (Faker's lists hold "Hermes", "Royal", "Visa"...): removed from the gazetteer, and stop words.
_NOT_NAMES = """
order pedido commande bestellung encomenda account cuenta compte konto conta card tarjeta carte
karte cartao phone telefono telephone telefon email correo courriel support soporte suporte
customer cliente client team equipo equipe equipa help ayuda aide hilfe ajuda
ordine pacco spedizione conto carta assistenza bestelling pakket zending rekening kaart klant
zamowienie paczka przesylka konto karta klient bestallning paket leverans kund kort kundtjanst
tilaus paketti tili kortti asiakas siparis kargo hesap kart musteri destek
amazon paypal visa mastercard amex google apple iphone android windows
mr mrs ms dr sr sra herr frau mme
evri ups usps fedex dpd dhl gls hermes correos seur mrw estafeta colissimo chronopost correios
jadlog loggi royal mail ebay samsung microsoft netflix spotify uber whatsapp bluetooth wifi
postnl bpost inpost postnord posti brt sda poste bartolini allegro zalando klarna
iban dni nie nif cpf ssn nir curp nino pin sku otp cvv bsn pesel nip personnummer
""".split()


#: Places, brands, products and common words that some locale's name list has ("London",
#: "China", "Alexa", "Mercedes", "Orange", "Dell"): no name when they stand alone — ending a
#: greeting sentence or on a signature line — whatever the list says (a full name still counts)
LONE_NOT_NAMES = frozenset(fold_word(w) for w in """
paris london china japan germany france spain italy england ireland scotland wales poland
sweden norway denmark finland turkey portugal brazil mexico holland america europe asia africa
berlin madrid roma rome milano milan napoli torino firenze venezia melbourne
dublin york boston houston denver phoenix orlando chicago seattle atlanta vegas
lima quito bogota caracas havana lisboa lisbon porto oslo bergen stockholm malmo
goteborg kobenhavn aarhus helsinki espoo tampere istanbul ankara izmir antalya bursa warszawa
krakow gdansk wroclaw poznan amsterdam rotterdam utrecht haag brussel brussels antwerpen wien
zurich geneva geneve munchen hamburg koln frankfurt stuttgart dusseldorf leipzig dresden lyon
marseille toulouse bordeaux lille nantes strasbourg sevilla valencia bilbao malaga
barcelona florida indiana nevada
alexa siri cortana echo kindle safari chrome firefox opera edge outlook gmail hotmail
porsche tesla jaguar ferrari lamborghini fiat renault peugeot citroen skoda opel
volvo audi bmw toyota honda mazda nissan lexus kia hyundai seat dacia
zara mango lidl aldi ikea primark asos shein temu bol coolblue allegro trendyol hepsiburada
orange vodafone telia telenor telekom movistar vivo claro oi turkcell nokia
dell bose marshall sony canon nikon lenovo asus acer huawei xiaomi oppo philips bosch
miele siemens dyson garmin fitbit polar suunto jabra pixel galaxy surface xbox playstation
nintendo switch roku sonos logitech razer corsair intel nvidia
mille apple pepper winter spring april may june august
""".split())


@dataclass(frozen=True)
class Gazetteer:
    """Folded first names / surnames. Names that are also function words or months ("Julio",
    "Marco", "Ella", "Mayo") stay in the lists but are flagged by :meth:`is_stop`; recognizers
    only accept them with extra evidence (capitalised after a cue, or next to a surname)."""

    first: frozenset[str]
    first_female: frozenset[str]
    first_male: frozenset[str]
    last: frozenset[str]
    stop: frozenset[str]
    #: the function words among :attr:`stop` (spaCy's stop words, the words of cue phrases,
    #: titles, brands) — not common nouns, months, weekdays or abbreviations: a lower-case word
    #: of this set never starts or ends a name ("the", "para", "ben", "will"), where "marco"
    #: (a month in Portuguese, a noun in Spanish) may, before a surname ("sono marco rossi")
    function: frozenset[str] = frozenset()
    #: the words among :attr:`stop` that are there only as common words of a language (Faker's
    #: lorem vocabularies: "victoria" is Spanish for victory, "aria" Italian for air): before
    #: an unambiguous surname they still start a lower-case name ("victoria adler")
    common: frozenset[str] = frozenset()
    #: names of the cue languages' locales only (see the module docstring); ``None`` on the views
    core: Gazetteer | None = field(default=None, repr=False, compare=False)
    #: names of the supported conversation locales' Faker locales only
    supported: Gazetteer | None = field(default=None, repr=False, compare=False)
    #: Faker locale → (first names, surnames) it contributed, folded words
    sizes: dict = field(default_factory=dict, repr=False, compare=False)
    #: cue language → the words ambiguous *in that language* (its spaCy stop words, lorem words,
    #: months and cue words, English function and lorem words, the shared extras): "Marco" is a
    #: month in Portuguese, not in Italian
    stop_by_language: dict = field(default_factory=dict, repr=False, compare=False)
    #: cue language → first names of its own Faker locales ("per", "bøje" for Danish)
    first_by_language: dict = field(default_factory=dict, repr=False, compare=False)
    #: cue language → its own ambiguous words only (its spaCy stop words, lorem words, months,
    #: cue words and the shared extras, not English ones): Danish "Per" is no English "per"
    own_stop_by_language: dict = field(default_factory=dict, repr=False, compare=False)

    def is_own_first(self, word: str, lang: str) -> bool:
        """Whether ``word`` (every part of a hyphenated word) is a first name of ``lang``'s own
        Faker locales and no word of that language itself (:attr:`own_stop_by_language`)."""
        names = self.first_by_language.get(lang)
        stop = self.own_stop_by_language.get(lang, self.stop)
        parts = [p for p in fold_word(word).split("-") if len(p) > 1]
        return bool(names) and bool(parts) and all(p in names and p not in stop for p in parts)

    def _in(self, word: str, *sets: frozenset[str], strict: bool = False) -> bool:
        # hyphenated names ("Heinz-Otto", "Bejarano-Blanco") count when every part does
        parts = [p for p in fold_word(word).replace("’", "'").split("-") if len(p.strip(".")) > 1]  # "Klaus-D."
        return bool(parts) and all(
            any(p in s for s in sets) and not (strict and p in self.stop) for p in parts
        )

    def is_first(self, word: str) -> bool:
        return self._in(word, self.first)

    def is_last(self, word: str) -> bool:
        return self._in(word, self.last)

    def is_name(self, word: str) -> bool:
        return self._in(word, self.first, self.last)

    def is_stop(self, word: str) -> bool:
        return fold_word(word) in self.stop

    def is_function(self, word: str) -> bool:
        return fold_word(word) in self.function

    def is_common(self, word: str) -> bool:
        """Whether ``word`` is ambiguous only as a common word: every part of it is either no
        stop word or one only because a lorem list has it ("victoria", "heinz-otto")."""
        parts = [p for p in fold_word(word).split("-") if p]
        return bool(parts) and any(p in self.common for p in parts) and all(
            p in self.common or p not in self.stop for p in parts
        )

    def for_language(self, lang: str) -> Gazetteer:
        """This gazetteer with the ambiguity of language ``lang`` only
        (:attr:`stop_by_language`): in a German conversation "Hans" is a name, not Swedish for
        "his". Itself for a language without its own list."""
        return _language_view(self, lang) if lang in self.stop_by_language else self

    def is_ambiguous_in(self, word: str, lang: str) -> bool:
        """Whether ``word`` (every part of a hyphenated word) is a stop word in language ``lang``;
        for a language without its own list, in any language (:attr:`stop`)."""
        stop = self.stop_by_language.get(lang, self.stop)
        parts = [p for p in fold_word(word).split("-") if p]
        return any(p in stop for p in parts)

    def is_strict_first(self, word: str) -> bool:
        return self._in(word, self.first, strict=True)

    def is_strict_last(self, word: str) -> bool:
        return self._in(word, self.last, strict=True)

    def is_strict_name(self, word: str) -> bool:
        return self._in(word, self.first, self.last, strict=True)

    def gender(self, word: str) -> str | None:
        w = fold_word(word)
        f, m = w in self.first_female, w in self.first_male
        if f and not m:
            return "female"
        if m and not f:
            return "male"
        return None


_VIEWS: dict[tuple[int, str], Gazetteer] = {}


def _language_view(g: Gazetteer, lang: str) -> Gazetteer:
    key = (id(g), lang)
    view = _VIEWS.get(key)
    if view is None:
        stop = g.stop_by_language[lang]
        function, common = g.function & stop, g.common & stop

        def narrow(x: Gazetteer | None) -> Gazetteer | None:
            return None if x is None else replace(x, stop=stop, function=function, common=common)

        view = _VIEWS[key] = replace(g, stop=stop, function=function, common=common, core=narrow(g.core),
                                     supported=narrow(g.supported))
    return view


def _words(values) -> set[str]:
    out: set[str] = set()
    parts = {part for v in values for part in str(v).replace("-", " ").split()}
    for part in parts:
        w = fold_word(part.strip(".,'’()")).replace("’", "'")
        if len(w) >= 2 and w.replace("'", "").isalpha() and w not in PARTICLES:
            out.add(w)
            if "'" in w:  # "D'Angelo", "O'Brien": also the name after the elision
                tail = w.rsplit("'", 1)[1]
                if len(tail) >= 3:
                    out.add(tail)
    return out


@lru_cache(maxsize=1)
def person_locales() -> tuple[str, ...]:
    """Every Faker locale that ships a person provider (``faker.providers.person.<locale>``)."""
    from faker.config import AVAILABLE_LOCALES

    out = []
    for loc in AVAILABLE_LOCALES:
        try:
            importlib.import_module(f"faker.providers.person.{loc}")
        except ImportError:
            continue
        out.append(loc)
    return tuple(out)


def _values(provider, attr: str) -> list[str]:
    """A name list of a provider class: a tuple/list of names or a weighted dict (its keys);
    properties and methods are skipped, and so are lists inherited unchanged from Faker's base
    person provider (its placeholder "John", "Jane", "Doe")."""
    from faker.providers.person import Provider as BasePerson

    try:
        raw = inspect.getattr_static(provider, attr)
    except AttributeError:
        return []
    if raw is getattr(BasePerson, attr, object()) and provider is not BasePerson:
        return []
    if isinstance(raw, dict):
        raw = list(raw)
    if not isinstance(raw, (list, tuple)):
        return []
    return [v for v in raw if isinstance(v, str)]


def _role(attr: str) -> str | None:
    """"first" / "female" / "male" / "last" for a name-list attribute, None for other lists."""
    a = attr.lower()
    if a.startswith("_") or "names" not in a or "language" in a or "fix" in a:
        return None
    if "last" in a:
        return "last"
    if "first" in a or "middle" in a:
        if "female" in a:
            return "female"
        if "male" in a:
            return "male"
        return "first"
    return None


def _polish_female_surnames(last: set[str]) -> set[str]:
    # Faker pl_PL draws unisex surnames only; real texts have "Kowalska" beside "Kowalski"
    out = set()
    for w in last:
        for m, f in (("ski", "ska"), ("cki", "cka"), ("dzki", "dzka")):
            if w.endswith(m) and len(w) > len(m) + 2:
                out.add(w[: -len(m)] + f)
    return out


def _provider_names(loc: str) -> dict[str, set[str]]:
    provider = importlib.import_module(f"faker.providers.person.{loc}").Provider
    buckets: dict[str, set[str]] = {"first": set(), "female": set(), "male": set(), "last": set()}
    for attr in dir(provider):
        role = _role(attr)
        if role:
            buckets[role] |= _words(_values(provider, attr))
    if loc.startswith("pl_"):
        buckets["last"] |= _polish_female_surnames(buckets["last"])
    return buckets


def _spacy_stop_words(lang: str) -> frozenset[str]:
    """``spacy.lang.<lang>.stop_words.STOP_WORDS``, read from its file without importing the
    language package (``spacy.lang.fr`` compiles its tokenizer exceptions on import: ~4 s)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("spacy")
        if spec is None or not spec.submodule_search_locations:
            return frozenset()
        path = Path(list(spec.submodule_search_locations)[0]) / "lang" / lang / "stop_words.py"
        namespace: dict = {}
        exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
        return frozenset(namespace.get("STOP_WORDS", ()))
    except Exception:  # spaCy missing or a language without a list: the extras still apply
        return frozenset()


_LOREM_LOCALES = {"en": "en_US", "es": "es_ES", "fr": "fr_FR", "de": "de_DE", "it": "it_IT", "nl": "nl_NL",
                  "pl": "pl_PL", "da": "da_DK"}


def _cue_words(lang: str) -> set[str]:
    """Every word of a cue phrase of ``lang`` ("chiamo", "heet", "nazywam")."""
    out: set[str] = set()
    for phrases in CUES.get(lang, {}).values():
        for p in phrases:
            out |= {fold_word(w.strip(".:,-’'")) for w in p.replace("’", " ").replace("'", " ").split()}
    out.discard("")
    return out


def _stop_words(first_by_language: dict[str, set[str]]) -> tuple[set[str], set[str], set[str], dict[str, frozenset[str]],
                                                                 dict[str, frozenset[str]]]:
    """(stop words, function words, common words, stop words per cue language): see
    :attr:`Gazetteer.stop`, :attr:`Gazetteer.function`, :attr:`Gazetteer.common` and
    :attr:`Gazetteer.stop_by_language`. ``first_by_language``: first names of each language's
    Faker locales — a lorem word that is one is not a common word (Faker's Spanish lorem list is
    drawn from text and holds "josé", "carlos", "miguel")."""
    spacy_by = {lang: {fold_word(w) for w in _spacy_stop_words(lang)} for lang in CUE_LANGUAGES}
    lorem_by: dict[str, set[str]] = {}
    for lang, loc in _LOREM_LOCALES.items():  # Faker's lorem vocabularies: common words
        try:
            words = importlib.import_module(f"faker.providers.lorem.{loc}").Provider.word_list
            lorem_by[lang] = {fold_word(w) for w in words} - first_by_language.get(lang, set())
        except Exception:
            lorem_by[lang] = set()
    shared = {fold_word(w) for w in TITLES} | {fold_word(w) for w in _NOT_NAMES}
    function = set().union(*spacy_by.values(), *(_cue_words(lang) for lang in CUES)) | shared
    stop = set(function)
    for months in MONTHS.values():
        stop |= set(months.split())
    extra = {fold_word(w) for w in _EXTRA_STOP}
    stop |= extra
    common = set().union(*lorem_by.values()) - stop
    by_language = {
        lang: frozenset(
            spacy_by[lang] | spacy_by["en"] | lorem_by.get(lang, set()) | lorem_by["en"] | _cue_words(lang)
            | set(MONTHS.get(lang, "").split()) | shared | extra
        )
        for lang in CUE_LANGUAGES
    }
    own = {
        lang: frozenset(
            spacy_by[lang] | lorem_by.get(lang, set()) | _cue_words(lang) | set(MONTHS.get(lang, "").split())
            | shared | extra
        )
        for lang in CUE_LANGUAGES
    }
    return stop | common, function, common, by_language, own


def _build(buckets: list[dict[str, set[str]]], stop: frozenset[str], function: frozenset[str],
           common: frozenset[str], **extra) -> Gazetteer:
    first: set[str] = set()
    female: set[str] = set()
    male: set[str] = set()
    last: set[str] = set()
    for b in buckets:
        first |= b["first"] | b["female"] | b["male"]
        female |= b["female"]
        male |= b["male"]
        last |= b["last"]
    not_names = {fold_word(w) for w in _NOT_NAMES}
    first -= not_names
    last -= not_names
    return Gazetteer(
        first=frozenset(first), first_female=frozenset(female - not_names),
        first_male=frozenset(male - not_names), last=frozenset(last), stop=stop, function=function, common=common, **extra,
    )


def _lang_of(faker_loc: str) -> str:
    lang = faker_loc.split("_")[0].lower()
    return "nb" if lang in ("no", "nn") else lang


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    per_locale = {loc: _provider_names(loc) for loc in person_locales()}
    supported_faker = {faker_locale(loc) for loc in SUPPORTED_LOCALES}
    first_by_language: dict[str, set[str]] = {}
    for loc, b in per_locale.items():
        first_by_language.setdefault(_lang_of(loc), set()).update(b["first"] | b["female"] | b["male"])
    stop_, function_, common_, by_language, own = _stop_words(first_by_language)
    stop, function, common = frozenset(stop_), frozenset(function_), frozenset(common_)
    core = _build([b for loc, b in per_locale.items() if _lang_of(loc) in CUE_LANGUAGES], stop, function, common)
    supported = _build([b for loc, b in per_locale.items() if loc in supported_faker], stop, function, common)
    sizes = {
        loc: (len(b["first"] | b["female"] | b["male"]), len(b["last"])) for loc, b in per_locale.items()
    }
    return _build(list(per_locale.values()), stop, function, common, core=core, supported=supported, sizes=sizes,
                  stop_by_language=by_language, own_stop_by_language=own,
                  first_by_language={lang: frozenset(v - {fold_word(w) for w in _NOT_NAMES})
                                     for lang, v in first_by_language.items()})
