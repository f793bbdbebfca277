"""Small, deterministic sample conversations for tests, benchmarks and demos of the agents.

Not production-shaped (that is :mod:`agent_release.synth.logs`): a compact template set per
language and intent that makes the agent *act* on the first turn (every message carries an
order number), optionally with an elderly-style long preamble and follow-up turns.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

LOCALES = ("en-US", "en-GB", "es-ES", "es-MX", "fr-FR", "de-DE", "pt-BR")

FIRST: dict[str, dict[str, str]] = {
    "en": {
        "order_status": "Hi, where is my order {o}? It still hasn't arrived.",
        "refund": "I'd like a refund for order {o}, the item arrived damaged.",
        "cancellation": "I need to cancel order {o}, I ordered the wrong size.",
        "password_reset": "I forgot my password and the reset link says it expired.",
        "product_question": "What's the warranty on the Milo Tab 10? Is it compatible with iPhone?",
        "address_change": "I moved and need to change the delivery address for order {o}.",
    },
    "es": {
        "order_status": "Hola, ¿dónde está mi pedido {o}? Todavía no ha llegado.",
        "refund": "Quiero un reembolso del pedido {o}, el artículo llegó roto.",
        "cancellation": "Necesito cancelar el pedido {o}, me equivoqué de talla.",
        "password_reset": "Se me olvidó la contraseña y el enlace dice que ha caducado.",
        "product_question": "¿Qué garantía tiene el Milo Tab 10? ¿Es compatible con iPhone?",
        "address_change": "Me he mudado y necesito cambiar la dirección de entrega del pedido {o}.",
    },
    "fr": {
        "order_status": "Bonjour, où est ma commande {o} ? Je n'ai toujours rien reçu.",
        "refund": "Je voudrais un remboursement pour la commande {o}, l'article est arrivé abîmé.",
        "cancellation": "Je dois annuler la commande {o}, je me suis trompé de taille.",
        "password_reset": "J'ai oublié mon mot de passe et le lien dit qu'il a expiré.",
        "product_question": "Quelle est la garantie du Milo Tab 10 ? Est-il compatible avec l'iPhone ?",
        "address_change": "J'ai déménagé et je dois changer l'adresse de livraison de la commande {o}.",
    },
    "de": {
        "order_status": "Hallo, wo bleibt meine Bestellung {o}? Es ist immer noch nichts da.",
        "refund": "Ich möchte eine Erstattung für Bestellung {o}, der Artikel kam beschädigt an.",
        "cancellation": "Ich muss die Bestellung {o} stornieren, ich habe die falsche Größe bestellt.",
        "password_reset": "Ich habe mein Passwort vergessen und der Link ist angeblich abgelaufen.",
        "product_question": "Wie lange ist die Garantie auf das Milo Tab 10? Ist es kompatibel mit dem iPhone?",
        "address_change": "Ich bin umgezogen und muss die Lieferadresse für Bestellung {o} ändern.",
    },
    "pt": {
        "order_status": "Oi, cadê meu pedido {o}? Até agora não chegou.",
        "refund": "Quero reembolso do pedido {o}, o produto chegou danificado.",
        "cancellation": "Preciso cancelar o pedido {o}, pedi o tamanho errado.",
        "password_reset": "Esqueci minha senha e o link diz que expirou.",
        "product_question": "Qual é a garantia do Milo Tab 10? Ele funciona com iPhone?",
        "address_change": "Me mudei e preciso trocar o endereço de entrega do pedido {o}.",
    },
}

#: Elderly-style long, polite, rambling preambles (≥ 35 words with the request).
PREAMBLE: dict[str, str] = {
    "en": ("Good afternoon, I hope you are well and I am sorry to bother you. My grandson usually helps me with "
           "the computer but he is away this week, so I am writing myself and I hope I do it properly."),
    "es": ("Buenas tardes, espero que esté usted bien y perdone la molestia. Normalmente me ayuda mi nieto con el "
           "ordenador pero esta semana no está, así que le escribo yo misma y espero hacerlo bien."),
    "fr": ("Bonjour, j'espère que vous allez bien et excusez-moi de vous déranger. D'habitude mon petit-fils "
           "m'aide avec l'ordinateur mais il n'est pas là cette semaine, alors je vous écris moi-même."),
    "de": ("Guten Tag, ich hoffe, es geht Ihnen gut, und entschuldigen Sie bitte die Störung. Normalerweise hilft "
           "mir mein Enkel mit dem Computer, aber er ist diese Woche nicht da, also schreibe ich selbst."),
    "pt": ("Boa tarde, espero que esteja bem e desculpe o incômodo. Normalmente o meu neto me ajuda com o "
           "computador, mas esta semana ele não está, então estou escrevendo eu mesma e espero fazer direito."),
}

FOLLOWUP: dict[str, list[str]] = {
    "en": ["Can you explain that again?", "And how long will that take?", "Is there anything else I need to do?",
           "Ok, and then?", "Thanks, that's all."],
    "es": ["¿Me lo explicas otra vez?", "¿Y cuánto tiempo va a tardar?", "¿Tengo que hacer algo más?",
           "Vale, ¿y luego?", "Gracias, eso es todo."],
    "fr": ["Vous pouvez réexpliquer ?", "Et combien de temps cela va prendre ?", "Je dois faire autre chose ?",
           "D'accord, et ensuite ?", "Merci, c'est tout."],
    "de": ["Können Sie das nochmal erklären?", "Und wie lange dauert das?", "Muss ich sonst noch etwas tun?",
           "Ok, und dann?", "Danke, das war's."],
    "pt": ["Pode explicar de novo?", "E quanto tempo vai levar?", "Preciso fazer mais alguma coisa?",
           "Ok, e depois?", "Obrigado, era só isso."],
}

INTENTS = tuple(FIRST["en"])


def language_of(locale: str) -> str:
    return locale.split("-")[0]


def first_message(locale: str, intent: str, order: str, *, long: bool = False) -> str:
    lang = language_of(locale)
    text = FIRST[lang][intent].format(o=order)
    return f"{PREAMBLE[lang]} {text}" if long else text


def conversation(i: int, locale: str, intent: str, *, turns: int = 1, long: bool = False,
                 start: datetime | None = None, persona: str | None = None, agent_version: str = "support-bot@1",
                 rng: random.Random | None = None) -> dict:
    """One contract-shaped row (normalised: datetimes, all message fields) with ``turns`` user
    turns (the first acts on ``intent``; later ones are follow-ups, the last a thanks)."""
    rng = rng or random.Random(i)
    lang = language_of(locale)
    t0 = start or datetime(2026, 11, 2, 9, 0, tzinfo=UTC) + timedelta(seconds=37 * i)
    order = f"{10 + i % 89}-{1000 + (i * 7919) % 9000}"
    texts = [first_message(locale, intent, order, long=long)]
    follow = FOLLOWUP[lang]
    for k in range(1, turns):
        texts.append(follow[-1] if k == turns - 1 else follow[(i + k) % (len(follow) - 1)])
    msgs = []
    t = t0
    for k, text in enumerate(texts):
        msgs.append(_m("user", text, t))
        t += timedelta(seconds=2)
        msgs.append(_m("assistant", "(original reply)", t, latency_ms=900.0, action="answer"))
        t += timedelta(seconds=rng.randint(5, 40))
    extra = {"intent": intent, "persona": persona or ("elderly" if long else "standard")}
    import json

    return {
        "conversation_id": f"conv-{i:06d}", "user_id": f"user-{i % 503:04d}", "started_at": t0, "locale": locale,
        "channel": "chat", "agent_version": agent_version, "model": "acme-llm-2026-08-07", "messages": msgs,
        "outcome": "resolved", "csat": 4, "thumb": None, "extra_json": json.dumps(extra, sort_keys=True),
        "source": "samples", "source_row": i,
    }


def _m(role: str, content: str, ts: datetime, **kw) -> dict:
    return {"role": role, "content": content, "ts": ts, "latency_ms": kw.get("latency_ms"),
            "input_tokens": None, "output_tokens": None, "cost_usd": None, "action": kw.get("action"),
            "error": None, "extra_json": None}


def conversations(n: int, *, seed: int = 0, turns: tuple[int, int] = (1, 3), long_share: float = 0.15,
                  locales: tuple[str, ...] = LOCALES, intents: tuple[str, ...] = INTENTS,
                  span_s: float = 3600.0) -> list[dict]:
    """``n`` rows cycling over locales × intents, ``started_at`` spread over ``span_s``."""
    rng = random.Random(seed)
    t0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    out = []
    for i in range(n):
        locale = locales[i % len(locales)]
        intent = intents[(i // len(locales)) % len(intents)]
        start = t0 + timedelta(seconds=rng.uniform(0, span_s))
        out.append(conversation(i, locale, intent, turns=rng.randint(*turns), long=rng.random() < long_share,
                                start=start, rng=rng))
    return out
