"""Per-locale template text: nine base languages plus regional substitutions (en-GB, es-MX)."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from agent_release.synth.lang import de, en, es, fr, it, nl, pl, pt, sv

BASE = {"en": en.TEXT, "es": es.TEXT, "fr": fr.TEXT, "de": de.TEXT, "pt": pt.TEXT, "it": it.TEXT, "nl": nl.TEXT,
        "pl": pl.TEXT, "sv": sv.TEXT}
LANG_OF = {"en-US": "en", "en-GB": "en", "es-ES": "es", "es-MX": "es", "fr-FR": "fr", "de-DE": "de",
           "pt-BR": "pt", "it-IT": "it", "nl-NL": "nl", "pl-PL": "pl", "sv-SE": "sv"}

#: Regional wording applied to the base language (whole words, placeholders untouched).
SUBSTITUTIONS: dict[str, list[tuple[str, str]]] = {
    "en-GB": [
        ("cell", "mobile"), ("canceled", "cancelled"), ("canceling", "cancelling"), ("neighbor", "neighbour"),
        ("recognize", "recognise"), ("Call me at", "Call me on"), ("package", "parcel"),
        ("Under privacy law", "Under GDPR"), ("Hey", "Hiya"), ("in store", "in-store"),
        ("smart watch", "smartwatch"), ("vacuum cleaner", "hoover"),
    ],
    "es-MX": [
        ("móvil", "celular"), ("Vale, gracias", "Ok, gracias"), ("vale", "va"), ("ordenador", "computadora"),
        ("no me apaño mucho", "no le sé mucho"), ("podéis", "pueden"), ("Podéis", "Pueden"),
        ("devolvéis", "devuelven"), ("reembolséis", "reembolsen"), ("enviéis", "envíen"),
        ("dad de baja", "den de baja"), ("ayudáis", "ayudan"), ("habéis", "han"), ("cobrasteis", "cobraron"),
        ("os escribo", "les escribo"), ("os escribe", "les escribe"), ("Vuestro", "Su"), ("vuestra", "su"),
        ("Usadla", "Úsenla"), ("guardéis", "guarden"), ("borrad", "borren"), ("Guardaréis", "Guardarán"),
        ("debéis", "deben"), ("Mandad", "Manden"), ("Llamadme", "Llámenme"), ("Enviadlo", "Envíenlo"),
        ("Cambiadla", "Cámbienla"), ("Hacedme", "Háganme"), ("Arregladlo", "Arréglenlo"), ("estáis", "están"),
        ("estéis", "estén"), ("os hagáis", "se hagan"), ("Perdonad", "Perdonen"), ("Tenéis", "Tienen"),
        ("Esto es una vergüenza", "Qué poca madre"), ("Estoy harto", "Ya me cansé"), ("zapatillas", "tenis"),
        ("enfado", "enojo"), ("Buenas, ", "Qué tal, "), ("Un saludo", "Saludos"), ("Vaya empresa", "Qué mala onda"),
        ("gastos de envío", "costo de envío"), ("Perdona", "Disculpa"), ("Lo que sea", "Como sea"),
    ],
}


def _sub_all(obj: Any, subs: list[tuple[re.Pattern, str]]) -> Any:
    if isinstance(obj, str):
        for pat, rep in subs:
            obj = pat.sub(rep, obj)
        return obj
    if isinstance(obj, list):
        return [_sub_all(x, subs) for x in obj]
    if isinstance(obj, tuple):
        return tuple(_sub_all(x, subs) for x in obj)
    if isinstance(obj, dict):
        return {k: _sub_all(v, subs) for k, v in obj.items()}
    return obj


@cache
def text_for(locale: str) -> dict:
    """The template dict for ``locale`` (base language with regional substitutions applied)."""
    base = BASE[LANG_OF[locale]]
    subs = SUBSTITUTIONS.get(locale)
    if not subs:
        return base
    compiled = [(re.compile(r"(?<!\w)" + re.escape(a) + r"(?!\w)"), b) for a, b in subs]
    return _sub_all(base, compiled)
