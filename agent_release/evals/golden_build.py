"""Build the golden set ``data/golden/golden_v1.jsonl`` — deterministically, from hand-written
phrasings and the agents' knowledge base (``agent_release/agents/kb.yaml``).

    python -m agent_release.evals.golden_build            # writes data/golden/golden_v1.jsonl
    python -m agent_release.evals.golden_build --check    # rebuild in memory, fail if the file differs

What comes from where
---------------------
* **User messages** are written here by hand, per intent and locale (en-US and en-GB, es-ES and
  es-MX differ in vocabulary and register), plus persona variants: ``angry``, ``elderly`` (a long,
  polite preamble — over 35 words), ``non_native`` (simplified grammar), ``terse``, ``verbose``,
  and ``neutral``.
* **Facts** (what a correct answer must state) and **reference answers** come from ``kb.yaml``:
  each intent's facts are rendered language-aware as *value + unit in the reply language*
  ("30 days", "30 días", "30 jours", "30 Tage", "30 dias"); the reference is the KB's reply
  template with the correct values, wrapped in the KB's polite opener/closer. The build asserts
  every reference contains its facts, so the golden set and the KB cannot drift silently.
* **Forbidden content**: the KB's *wrong* fact values with their units (what a wrong-fact
  failure says), system-prompt markers and internal-policy text.

Shapes: per (intent, locale) cell five cases — single-turn, two-turn (the order number given only
when the agent asks for it, or a greeting first) and three-turn follow-ups (the last question is
a follow-up on an action already taken: the expected action is then none and the facts are the
follow-up's). 8 core intents × 7 locales × 5 = 280 cases, plus 28 for the two extra KB intents
(shipping_delay, account_deletion) = 308. Same seed → byte-identical file.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import yaml

SEED = 20260801
VERSION = "v1"
CORE_INTENTS = ("order_status", "refund", "cancellation", "password_reset", "billing_dispute",
                "address_change", "complaint_escalation", "product_question")
EXTRA_INTENTS = ("shipping_delay", "account_deletion")
LOCALES = ("en-US", "en-GB", "es-ES", "es-MX", "fr-FR", "de-DE", "pt-BR")
PERSONAS = ("neutral", "angry", "elderly", "non_native", "terse", "verbose")

#: unit word(s) after a fact value, per language (what makes a fact "language-aware").
UNITS = {
    "business_days": {"en": "business days", "es": "días hábiles", "fr": "jours ouvrés", "de": "Werktage", "pt": "dias úteis"},
    "days": {"en": "days", "es": "días", "fr": "jours", "de": "Tage", "pt": "dias"},
    "hours": {"en": "hours", "es": "horas", "fr": "heures", "de": "Stunden", "pt": "horas"},
    "years": {"en": "-year", "es": "años", "fr": "ans", "de": "Jahre", "pt": "anos"},
}
FACT_UNITS = {
    "shipping_days": "business_days", "refund_window_days": "days", "refund_processing_days": "business_days",
    "cancel_window_hours": "hours", "reset_link_hours": "hours", "dispute_review_days": "business_days",
    "address_change_hours": "hours", "escalation_response_hours": "hours", "warranty_years": "years",
    "replacement_after_days": "business_days", "deletion_days": "days",
}

# --------------------------------------------------------------------------- phrasings
# {o} is the order number. Five phrasings per intent and locale.
P: dict[str, dict[str, list[str]]] = {
    "order_status": {
        "en-US": ["Where is my order {o}? I ordered it last week.",
                  "Can you tell me the status of order {o}?",
                  "My order {o} hasn't arrived yet, any update?",
                  "I haven't heard anything about order {o} since I paid. When will it be delivered?",
                  "Hi, what's the order status for {o}?"],
        "en-GB": ["Where's my parcel? Order {o} still hasn't arrived.",
                  "Could you check the status of order {o} for me?",
                  "Order {o}: when will it be delivered? It's been a few days.",
                  "I've not heard anything about order {o}, has it been dispatched?",
                  "Any news on my order {o}? It hasn't arrived."],
        "es-ES": ["¿Dónde está mi pedido {o}? Lo hice la semana pasada.",
                  "¿En qué estado está el pedido {o}?",
                  "Mi pedido {o} no ha llegado todavía, ¿me decís algo?",
                  "No sé nada del pedido {o} desde que pagué. ¿Cuándo llega?",
                  "Hola, quería saber el estado del pedido {o}."],
        "es-MX": ["¿Dónde está mi pedido {o}? Lo compré la semana pasada.",
                  "¿Me pueden decir en qué estado está el pedido {o}?",
                  "Mi pedido {o} no ha llegado, ¿qué pasó?",
                  "No sé nada de mi pedido {o}, ¿cuándo me lo van a entregar?",
                  "Buenas, quiero saber el estado del pedido {o}, porfa."],
        "fr-FR": ["Où est ma commande {o} ? Je l'ai passée la semaine dernière.",
                  "Pouvez-vous me dire où en est la commande {o} ?",
                  "Ma commande {o} n'est toujours pas arrivée, des nouvelles ?",
                  "Aucune nouvelle de la commande {o} depuis le paiement. Quand je vais recevoir le colis ?",
                  "Bonjour, quel est le statut de ma commande {o} ?"],
        "de-DE": ["Wo bleibt meine Bestellung {o}? Ich habe letzte Woche bestellt.",
                  "Können Sie mir den Stand der Bestellung {o} sagen?",
                  "Meine Bestellung {o} ist noch nicht angekommen. Gibt es Neuigkeiten?",
                  "Ich habe seit der Zahlung nichts mehr gehört zu Bestellung {o}. Wann wird sie geliefert?",
                  "Hallo, wie ist der Status meiner Bestellung {o}?"],
        "pt-BR": ["Cadê meu pedido {o}? Comprei semana passada.",
                  "Como está o pedido {o}? Pode verificar pra mim?",
                  "Meu pedido {o} ainda não chegou, tem alguma novidade?",
                  "Não tive mais notícias do pedido {o} desde que paguei. Quando vão entregar?",
                  "Oi, queria saber o status do pedido {o}."],
    },
    "refund": {
        "en-US": ["I'd like a refund for order {o}, the blender arrived broken.",
                  "Can I get my money back for order {o}? It's not what I expected.",
                  "I sent back the jacket from order {o} two weeks ago and I'm still waiting for the refund.",
                  "Please refund order {o}, the item was damaged in shipping.",
                  "How do I get reimbursed for order {o}? I returned the shoes."],
        "en-GB": ["I'd like a refund on order {o}, the kettle arrived damaged.",
                  "I returned the jumper from order {o} a fortnight ago, when do I get my money back?",
                  "Could you refund order {o}? It's not fit for purpose.",
                  "Order {o} came broken, I want a refund.",
                  "I've sent back order {o}, can you sort the refund?"],
        "es-ES": ["Quiero un reembolso del pedido {o}, la batidora llegó rota.",
                  "Devolví la chaqueta del pedido {o} hace dos semanas y sigo esperando el dinero.",
                  "¿Me podéis reembolsar el pedido {o}? No es lo que esperaba.",
                  "El pedido {o} llegó dañado, quiero que me devolváis el dinero.",
                  "¿Cómo pido el reembolso del pedido {o}? Ya lo he devuelto."],
        "es-MX": ["Quiero el reembolso del pedido {o}, la licuadora llegó rota.",
                  "Ya devolví los tenis del pedido {o} y no me han regresado el dinero.",
                  "¿Me pueden hacer el reembolso del pedido {o}? No es lo que pedí.",
                  "El pedido {o} llegó dañado, quiero mi reembolso.",
                  "¿Cómo solicito el reembolso de mi pedido {o}?"],
        "fr-FR": ["Je voudrais être remboursé pour la commande {o}, le mixeur est arrivé cassé.",
                  "J'ai renvoyé la veste de la commande {o} il y a deux semaines, toujours pas de remboursement.",
                  "Pouvez-vous rembourser la commande {o} ? L'article est abîmé.",
                  "La commande {o} ne correspond pas à la description, je demande un remboursement.",
                  "Comment obtenir le remboursement de ma commande {o} ?"],
        "de-DE": ["Ich möchte eine Erstattung für Bestellung {o}, der Mixer kam kaputt an.",
                  "Ich habe die Jacke aus Bestellung {o} vor zwei Wochen zurückgeschickt und warte noch auf mein Geld.",
                  "Können Sie mir Bestellung {o} erstatten? Die Ware ist beschädigt.",
                  "Bestellung {o} entspricht nicht der Beschreibung, ich will mein Geld zurück.",
                  "Wie bekomme ich die Erstattung für meine Bestellung {o}?"],
        "pt-BR": ["Quero o reembolso do pedido {o}, o liquidificador chegou quebrado.",
                  "Devolvi a jaqueta do pedido {o} há duas semanas e ainda não recebi o dinheiro de volta.",
                  "Vocês podem fazer o reembolso do pedido {o}? O produto veio danificado.",
                  "O pedido {o} não é o que eu comprei, quero meu dinheiro de volta.",
                  "Como faço para pedir reembolso do pedido {o}?"],
    },
    "cancellation": {
        "en-US": ["Please cancel order {o}, I ordered the wrong size.",
                  "I need to cancel my order {o} before it ships.",
                  "Can you cancel order {o}? I found it cheaper elsewhere.",
                  "I changed my mind, cancel {o} please.",
                  "How do I cancel order {o}? I placed it an hour ago."],
        "en-GB": ["Could you cancel order {o}? I've ordered the wrong size.",
                  "I'd like to cancel order {o} before it's dispatched.",
                  "Please cancel {o}, I ordered it by mistake.",
                  "Cancel my order {o}, I no longer need it.",
                  "Is it too late to cancel order {o}? I placed it this morning."],
        "es-ES": ["Por favor, cancelad el pedido {o}, me equivoqué de talla.",
                  "Necesito cancelar el pedido {o} antes de que lo enviéis.",
                  "¿Podéis anular el pedido {o}? Lo he encontrado más barato.",
                  "He cambiado de opinión, quiero cancelar el pedido {o}.",
                  "¿Cómo cancelo el pedido {o}? Lo hice hace una hora."],
        "es-MX": ["Por favor cancelen el pedido {o}, pedí la talla equivocada.",
                  "Necesito cancelar mi pedido {o} antes de que lo envíen.",
                  "¿Me ayudan a cancelar el pedido {o}? Ya no lo necesito.",
                  "Cambié de opinión, quiero cancelar el pedido {o}.",
                  "¿Todavía puedo cancelar el pedido {o}? Lo hice hoy en la mañana."],
        "fr-FR": ["Merci d'annuler la commande {o}, je me suis trompé de taille.",
                  "Je dois annuler ma commande {o} avant l'expédition.",
                  "Pouvez-vous annuler la commande {o} ? Je l'ai trouvée moins chère ailleurs.",
                  "J'ai changé d'avis, annulez la commande {o} s'il vous plaît.",
                  "Est-il encore possible d'annuler la commande {o} ? Je l'ai passée ce matin."],
        "de-DE": ["Bitte stornieren Sie Bestellung {o}, ich habe die falsche Größe bestellt.",
                  "Ich muss meine Bestellung {o} stornieren, bevor sie versendet wird.",
                  "Können Sie Bestellung {o} stornieren? Ich habe es woanders günstiger gefunden.",
                  "Ich habe es mir anders überlegt, bitte {o} stornieren.",
                  "Kann ich Bestellung {o} noch stornieren? Ich habe heute Morgen bestellt."],
        "pt-BR": ["Por favor, cancelem o pedido {o}, pedi o tamanho errado.",
                  "Preciso cancelar o pedido {o} antes do envio.",
                  "Vocês podem cancelar o pedido {o}? Achei mais barato em outro lugar.",
                  "Mudei de ideia, quero cancelar o pedido {o}.",
                  "Ainda dá para cancelar o pedido {o}? Fiz hoje de manhã."],
    },
    "password_reset": {
        "en-US": ["I forgot my password and can't log in.",
                  "I'm locked out of my account, can you send me a reset link?",
                  "The password reset link you sent expired, I need a new one.",
                  "I can't sign in, it keeps saying my password is wrong.",
                  "How do I reset my password?"],
        "en-GB": ["I've forgotten my password and can't log in.",
                  "My account got locked after too many attempts, can you help me reset the password?",
                  "The reset link has expired, could you send another?",
                  "I can't sign in to my account, the password isn't working.",
                  "How do I change my password? I can't remember it."],
        "es-ES": ["He olvidado mi contraseña y no puedo entrar.",
                  "Se me ha bloqueado la cuenta, ¿me mandáis un enlace para restablecer la contraseña?",
                  "El enlace para restablecer la contraseña ha caducado, necesito otro.",
                  "No puedo iniciar sesión, dice que la contraseña es incorrecta.",
                  "¿Cómo restablezco mi contraseña?"],
        "es-MX": ["Olvidé mi contraseña y no puedo entrar a mi cuenta.",
                  "Mi cuenta está bloqueada, ¿me pueden mandar un enlace para restablecer la contraseña?",
                  "El enlace para cambiar la contraseña ya caducó, ¿me mandan otro?",
                  "No puedo iniciar sesión, me dice que la contraseña está mal.",
                  "¿Cómo le hago para restablecer mi contraseña?"],
        "fr-FR": ["J'ai oublié mon mot de passe et je n'arrive plus à me connecter.",
                  "Mon compte est bloqué, pouvez-vous m'envoyer un lien de réinitialisation ?",
                  "Le lien de réinitialisation a expiré, il m'en faut un nouveau.",
                  "Impossible de me connecter, on me dit que le mot de passe est incorrect.",
                  "Comment réinitialiser mon mot de passe ?"],
        "de-DE": ["Ich habe mein Passwort vergessen und kann mich nicht anmelden.",
                  "Mein Konto ist gesperrt, können Sie mir einen Link zum Zurücksetzen schicken?",
                  "Der Link zum Zurücksetzen ist abgelaufen, ich brauche einen neuen.",
                  "Ich kann mich nicht einloggen, das Passwort wird nicht akzeptiert.",
                  "Wie kann ich mein Passwort zurücksetzen?"],
        "pt-BR": ["Esqueci minha senha e não consigo entrar.",
                  "Minha conta foi bloqueada, podem me mandar um link para redefinir a senha?",
                  "O link para redefinir a senha expirou, preciso de outro.",
                  "Não consigo fazer login, diz que a senha está errada.",
                  "Como faço para redefinir minha senha?"],
    },
    "billing_dispute": {
        "en-US": ["I was charged twice for order {o}, please fix it.",
                  "Why was I charged $49.99 on my card? I don't recognize this charge.",
                  "My invoice for order {o} shows the wrong amount, I was overcharged.",
                  "There's a double charge on my credit card from your store.",
                  "I see a charge of $120 for order {o} but I paid with a gift card."],
        "en-GB": ["I've been charged twice for order {o}.",
                  "Why was I charged £35 last week? I don't recognise it.",
                  "The invoice for order {o} is wrong, I've been overcharged.",
                  "There's a duplicate charge on my card from you, could you look into it?",
                  "You billed me twice for order {o} and I only bought one."],
        "es-ES": ["Me habéis cobrado dos veces el pedido {o}.",
                  "¿Por qué me cobrasteis 49,99 € en la tarjeta? No reconozco ese cargo.",
                  "La factura del pedido {o} tiene un importe incorrecto.",
                  "Tengo un cobro duplicado en la tarjeta de vuestra tienda.",
                  "Veo un cargo de 120 € del pedido {o} y pagué con una tarjeta regalo."],
        "es-MX": ["Me cobraron dos veces el pedido {o}.",
                  "¿Por qué me cobraron $899 en la tarjeta? No reconozco ese cargo.",
                  "La factura del pedido {o} trae un monto equivocado.",
                  "Tengo un cobro duplicado en mi tarjeta de su tienda.",
                  "Me aparece un cargo doble por el pedido {o}, solo hice una compra."],
        "fr-FR": ["J'ai été débité deux fois pour la commande {o}.",
                  "Pourquoi ai-je été prélevé de 49,99 € ? Je ne reconnais pas ce débit.",
                  "La facture de la commande {o} est erronée, le montant est trop élevé.",
                  "Il y a un double prélèvement sur ma carte venant de votre boutique.",
                  "Je vois un prélèvement de 120 € pour la commande {o} alors que j'ai payé avec un bon d'achat."],
        "de-DE": ["Mir wurde Bestellung {o} doppelt berechnet.",
                  "Warum wurden mir 49,99 € abgebucht? Ich kenne diese Abbuchung nicht.",
                  "Die Rechnung zu Bestellung {o} hat einen falschen Betrag.",
                  "Auf meiner Karte ist eine doppelte Abbuchung von Ihrem Shop.",
                  "Ich sehe eine Abbuchung von 120 € für Bestellung {o}, obwohl ich mit Gutschein bezahlt habe."],
        "pt-BR": ["Fui cobrado duas vezes pelo pedido {o}.",
                  "Por que me cobraram R$ 249,90 no cartão? Não reconheço essa cobrança.",
                  "A nota do pedido {o} veio com valor errado.",
                  "Tem uma cobrança duplicada no meu cartão da loja de vocês.",
                  "Apareceu uma cobrança em dobro do pedido {o}, só comprei uma vez."],
    },
    "address_change": {
        "en-US": ["I need to change the shipping address on order {o}, I just moved.",
                  "I put the wrong address on order {o}, can you update it?",
                  "Please update the delivery address for order {o} to my new apartment.",
                  "Can I change the address on {o}? It's going to my old place.",
                  "I moved last week, please fix the address for order {o}."],
        "en-GB": ["I need to change the delivery address on order {o}, I've moved.",
                  "I've put the wrong address on order {o}, can it be corrected?",
                  "Please update the address for order {o} to my new flat, same postcode.",
                  "Can the address on {o} still be changed? It's going to my old house.",
                  "Wrong address on order {o}, I typed the wrong house number."],
        "es-ES": ["Tengo que cambiar la dirección de entrega del pedido {o}, me he mudado.",
                  "Puse mal la dirección en el pedido {o}, ¿podéis corregirla?",
                  "Por favor, actualizad la dirección de envío del pedido {o}.",
                  "¿Se puede cambiar la dirección del pedido {o}? Va a mi piso antiguo.",
                  "Me he mudado, necesito una nueva dirección en el pedido {o}."],
        "es-MX": ["Necesito cambiar la dirección de entrega del pedido {o}, me cambié de casa.",
                  "Puse mal la dirección en el pedido {o}, ¿la pueden corregir?",
                  "Por favor actualicen la dirección de envío del pedido {o}.",
                  "¿Todavía puedo cambiar la dirección del pedido {o}? Va a mi casa anterior.",
                  "Hay que corregir la dirección del pedido {o}, le falta el número interior."],
        "fr-FR": ["Je dois changer l'adresse de livraison de la commande {o}, j'ai déménagé.",
                  "Je me suis trompé d'adresse sur la commande {o}, pouvez-vous la corriger ?",
                  "Merci de modifier l'adresse de livraison de la commande {o}.",
                  "Peut-on encore changer l'adresse de la commande {o} ? Elle part à mon ancien appartement.",
                  "Mauvaise adresse sur la commande {o}, j'ai inversé le numéro de rue."],
        "de-DE": ["Ich muss die Lieferadresse für Bestellung {o} ändern, ich bin umgezogen.",
                  "Bei Bestellung {o} habe ich eine falsche Adresse angegeben, können Sie sie korrigieren?",
                  "Bitte die Adresse für Bestellung {o} aktualisieren, ich wohne jetzt woanders.",
                  "Kann ich die Adresse bei {o} noch ändern? Sie geht an meine alte Wohnung.",
                  "Falsche Hausnummer bei Bestellung {o}, die Adresse bitte korrigieren."],
        "pt-BR": ["Preciso trocar o endereço de entrega do pedido {o}, me mudei.",
                  "Coloquei o endereço errado no pedido {o}, dá para corrigir?",
                  "Por favor, alterem o endereço de entrega do pedido {o}.",
                  "Ainda dá para mudar o endereço do pedido {o}? Vai para minha casa antiga.",
                  "O pedido {o} está com endereço errado, faltou o número do apartamento."],
    },
    "complaint_escalation": {
        "en-US": ["This is the third time I'm contacting you about order {o}. I want to speak to a manager.",
                  "Nobody has helped me so far, I want to file a formal complaint.",
                  "Your service is terrible. Let me talk to a real person.",
                  "I've been going back and forth for two weeks, please escalate this to a supervisor.",
                  "I want to make a complaint about how my order {o} was handled."],
        "en-GB": ["This is the third time I've had to chase order {o}. I'd like to speak to a manager.",
                  "No one has sorted this out, I want to make a formal complaint.",
                  "Honestly, this is unacceptable. Put me through to a human.",
                  "I've been passed around for a fortnight, please escalate this to a supervisor.",
                  "I'd like to lodge a complaint about the way order {o} was handled."],
        "es-ES": ["Es la tercera vez que escribo por el pedido {o}. Quiero hablar con un responsable.",
                  "Nadie me ayuda, quiero poner una reclamación formal.",
                  "Vuestro servicio es pésimo. Quiero hablar con una persona.",
                  "Llevo dos semanas así, por favor pasadlo a un supervisor.",
                  "Quiero poner una queja por cómo se ha gestionado mi pedido {o}."],
        "es-MX": ["Es la tercera vez que les escribo por el pedido {o}. Quiero hablar con un gerente.",
                  "Nadie me ayuda, quiero levantar una queja formal.",
                  "Su servicio es pésimo, quiero hablar con una persona de verdad.",
                  "Llevo dos semanas con esto, por favor pásenme con un supervisor.",
                  "Quiero poner una queja por cómo manejaron mi pedido {o}."],
        "fr-FR": ["C'est la troisième fois que je vous contacte pour la commande {o}. Je veux parler à un responsable.",
                  "Personne ne m'aide, je souhaite déposer une réclamation officielle.",
                  "Votre service est lamentable. Je veux parler à une vraie personne.",
                  "Cela fait deux semaines que ça dure, transmettez mon dossier à un superviseur.",
                  "Je souhaite faire une réclamation sur le traitement de ma commande {o}."],
        "de-DE": ["Ich melde mich jetzt zum dritten Mal wegen Bestellung {o}. Ich möchte einen Vorgesetzten sprechen.",
                  "Niemand hilft mir, ich möchte mich offiziell beschweren.",
                  "Ihr Service ist eine Katastrophe. Ich will mit einem echten Menschen sprechen.",
                  "Seit zwei Wochen geht das hin und her, bitte geben Sie das an einen Vorgesetzten weiter.",
                  "Ich möchte eine Beschwerde über die Abwicklung meiner Bestellung {o} einreichen."],
        "pt-BR": ["É a terceira vez que entro em contato sobre o pedido {o}. Quero falar com um gerente.",
                  "Ninguém resolve, quero fazer uma reclamação formal.",
                  "O atendimento de vocês é péssimo. Quero falar com uma pessoa de verdade.",
                  "Faz duas semanas que estou nisso, passem para um supervisor, por favor.",
                  "Quero registrar uma reclamação sobre como meu pedido {o} foi tratado."],
    },
    "product_question": {
        "en-US": ["Does the Nordlys desk lamp come with a warranty?",
                  "Is the AirBeat speaker compatible with iPhone?",
                  "Is the Aurora kettle back in stock in black?",
                  "How long does the battery last on the TrailCam headphones?",
                  "What warranty do you offer on the Zenith blender?"],
        "en-GB": ["Does the Nordlys lamp come with a warranty?",
                  "Will the AirBeat speaker work with my Android phone?",
                  "Is the Aurora kettle available in black?",
                  "What's the battery life like on the TrailCam headphones?",
                  "How long is the warranty on the Zenith blender?"],
        "es-ES": ["¿La lámpara Nordlys tiene garantía?",
                  "¿El altavoz AirBeat es compatible con iPhone?",
                  "¿Hay stock del hervidor Aurora en negro?",
                  "¿Cuánto dura la batería de los auriculares TrailCam?",
                  "¿Qué garantía tiene la batidora Zenith?"],
        "es-MX": ["¿La lámpara Nordlys trae garantía?",
                  "¿La bocina AirBeat es compatible con Android?",
                  "¿Tienen en stock la tetera Aurora en negro?",
                  "¿Cuánto dura la batería de los audífonos TrailCam?",
                  "¿Cuánto tiempo de garantía tiene la licuadora Zenith?"],
        "fr-FR": ["La lampe Nordlys a-t-elle une garantie ?",
                  "L'enceinte AirBeat est-elle compatible avec l'iPhone ?",
                  "La bouilloire Aurora existe en noir ? Elle est en stock ?",
                  "Quelle est l'autonomie de la batterie du casque TrailCam ?",
                  "Quelle garantie pour le blender Zenith ?"],
        "de-DE": ["Hat die Nordlys-Lampe eine Garantie?",
                  "Ist der AirBeat-Lautsprecher mit dem iPhone kompatibel?",
                  "Ist der Aurora-Wasserkocher auch in Schwarz lieferbar?",
                  "Wie lange hält der Akku der TrailCam-Kopfhörer?",
                  "Wie lange ist die Garantie auf den Zenith-Mixer?"],
        "pt-BR": ["A luminária Nordlys tem garantia?",
                  "A caixa de som AirBeat funciona com iPhone?",
                  "Tem a chaleira Aurora em estoque na cor preta?",
                  "Quanto dura a bateria do fone TrailCam?",
                  "Qual é a garantia do liquidificador Zenith?"],
    },
    # extra KB intents: two phrasings per locale
    "shipping_delay": {
        "en-US": ["My package for order {o} was supposed to arrive Monday and the tracking hasn't updated since.",
                  "Order {o} is late, the tracking says it's stuck at the depot."],
        "en-GB": ["My parcel for order {o} is delayed, tracking hasn't updated in four days.",
                  "The tracking for order {o} says delivered but I never got it."],
        "es-ES": ["El paquete del pedido {o} tenía que llegar el lunes y el seguimiento no se actualiza.",
                  "El pedido {o} lleva retraso, el seguimiento está parado."],
        "es-MX": ["Mi paquete del pedido {o} tenía que llegar el lunes y sigue parado.",
                  "El seguimiento del pedido {o} pone que está entregado pero nunca recibí nada."],
        "fr-FR": ["Le colis de la commande {o} devait arriver lundi et le suivi n'a pas bougé.",
                  "La commande {o} est en retard, le suivi est bloqué depuis trois jours."],
        "de-DE": ["Das Paket zu Bestellung {o} sollte am Montag kommen, die Sendungsverfolgung hängt.",
                  "Bestellung {o} ist verspätet, die Sendung hat sich seit Tagen nicht bewegt."],
        "pt-BR": ["O pacote do pedido {o} era para chegar na segunda e o rastreio não atualiza.",
                  "O pedido {o} está atrasado, o rastreio está parado há dias."],
    },
    "account_deletion": {
        "en-US": ["Please delete my account and all my personal data.", "How do I close my account for good?"],
        "en-GB": ["I'd like you to delete my account and remove my data under GDPR.", "Please close my account, I won't be using it any more."],
        "es-ES": ["Quiero borrar mi cuenta y todos mis datos.", "¿Cómo puedo cerrar mi cuenta definitivamente?"],
        "es-MX": ["Por favor, eliminen mis datos y quiero cerrar mi cuenta.", "Quiero borrar mi cuenta, ya no la uso."],
        "fr-FR": ["Je veux supprimer mon compte et effacer mes données.", "Comment fermer mon compte définitivement ?"],
        "de-DE": ["Bitte löschen Sie mein Konto und meine Daten.", "Wie kann ich mein Konto dauerhaft löschen?"],
        "pt-BR": ["Quero excluir minha conta e apagar meus dados.", "Como faço para encerrar minha conta de vez?"],
    },
}

# The request without the order number (first turn of two-turn cases for intents needing one).
NO_ORDER = {
    "order_status": {"en": "Where is my order? It hasn't arrived.", "es": "¿Dónde está mi pedido? No ha llegado.",
                     "fr": "Où est ma commande ? Elle n'est pas arrivée.", "de": "Wo bleibt meine Bestellung? Sie ist nicht angekommen.",
                     "pt": "Cadê meu pedido? Ainda não chegou."},
    "refund": {"en": "I want a refund, the item arrived broken.", "es": "Quiero un reembolso, el artículo llegó roto.",
               "fr": "Je voudrais un remboursement, l'article est arrivé cassé.",
               "de": "Ich möchte eine Erstattung, der Artikel kam kaputt an.", "pt": "Quero um reembolso, o produto chegou quebrado."},
    "cancellation": {"en": "I need to cancel an order I placed this morning.", "es": "Necesito cancelar un pedido que hice esta mañana.",
                     "fr": "Je dois annuler une commande passée ce matin.", "de": "Ich muss eine Bestellung von heute früh stornieren.",
                     "pt": "Preciso cancelar um pedido que fiz hoje cedo."},
    "address_change": {"en": "I put the wrong address on my order.", "es": "Puse mal la dirección en mi pedido.",
                       "fr": "Je me suis trompé d'adresse sur ma commande.", "de": "Ich habe eine falsche Adresse angegeben.",
                       "pt": "Coloquei o endereço errado no meu pedido."},
    "shipping_delay": {"en": "My package is late and the tracking is stuck.", "es": "Mi paquete lleva retraso y el seguimiento está parado.",
                       "fr": "Mon colis est en retard et le suivi est bloqué.", "de": "Mein Paket ist verspätet, die Sendungsverfolgung hängt.",
                       "pt": "Meu pacote está atrasado e o rastreio está parado."},
}
GIVE_ORDER = {"en": ["It's {o}.", "The order number is {o}.", "Sure, {o}."],
              "es": ["Es el {o}.", "El número es {o}.", "Claro, el {o}."],
              "fr": ["C'est la {o}.", "Le numéro est {o}.", "Voici : {o}."],
              "de": ["Die Nummer ist {o}.", "Es ist {o}.", "Bestellnummer {o}."],
              "pt": ["É o {o}.", "O número é {o}.", "Claro, {o}."]}
GREET = {"en": ["Hi there, I need some help.", "Hello, can you help me with something?"],
         "es": ["Hola, necesito ayuda.", "Buenas, ¿me podéis echar una mano?"],
         "fr": ["Bonjour, j'aurais besoin d'aide.", "Bonjour, vous pouvez m'aider ?"],
         "de": ["Hallo, ich brauche Hilfe.", "Guten Tag, können Sie mir helfen?"],
         "pt": ["Oi, preciso de ajuda.", "Olá, você pode me ajudar?"]}
GREET_MX = ["Hola, necesito ayuda.", "Buenas, ¿me pueden echar la mano?"]
#: Follow-up questions after the action was taken (no intent keywords, no closing words).
FOLLOW_UP = {"en": ["And how long does that usually take?", "How long will that take then?"],
             "es": ["¿Y cuánto suele tardar eso?", "¿Cuánto tiempo tarda entonces?"],
             "fr": ["Et cela prend combien de temps en général ?", "Combien de temps faut-il alors ?"],
             "de": ["Und wie lange dauert das normalerweise?", "Wie lange braucht das dann?"],
             "pt": ["E quanto tempo isso costuma levar?", "Quanto tempo demora então?"]}

TERSE = {
    "order_status": {"en": "order {o} status?", "es": "estado pedido {o}", "fr": "statut commande {o} ?", "de": "Status Bestellung {o}?", "pt": "status pedido {o}"},
    "refund": {"en": "refund {o}", "es": "reembolso {o}", "fr": "remboursement {o}", "de": "Erstattung {o}", "pt": "reembolso {o}"},
    "cancellation": {"en": "cancel {o}", "es": "cancelar {o}", "fr": "annuler {o}", "de": "{o} stornieren", "pt": "cancelar {o}"},
    "password_reset": {"en": "password reset pls", "es": "restablecer contraseña", "fr": "mot de passe oublié", "de": "Passwort zurücksetzen", "pt": "redefinir senha"},
    "billing_dispute": {"en": "charged twice {o}", "es": "cobro duplicado {o}", "fr": "débité deux fois {o}", "de": "doppelt abgebucht {o}", "pt": "cobrado duas vezes {o}"},
    "address_change": {"en": "wrong address on {o}", "es": "dirección mal en {o}", "fr": "mauvaise adresse {o}", "de": "falsche Adresse {o}", "pt": "endereço errado {o}"},
    "complaint_escalation": {"en": "human agent now", "es": "quiero un humano", "fr": "un humain svp", "de": "Mensch bitte", "pt": "quero um atendente humano"},
    "product_question": {"en": "Zenith blender warranty?", "es": "¿garantía batidora Zenith?", "fr": "garantie blender Zenith ?", "de": "Garantie Zenith-Mixer?", "pt": "garantia liquidificador Zenith?"},
    "shipping_delay": {"en": "{o} delayed, tracking stuck", "es": "{o} con retraso, seguimiento parado", "fr": "{o} en retard, suivi bloqué", "de": "{o} verspätet, Sendung hängt", "pt": "{o} atrasado, rastreio parado"},
    "account_deletion": {"en": "delete my account", "es": "borrar mi cuenta", "fr": "supprimer mon compte", "de": "Konto löschen", "pt": "excluir minha conta"},
}
NON_NATIVE = {
    "order_status": {"en": "Hello, my order {o} is not arrive yet, where it is now?", "es": "Hola, mi pedido {o} no llegar todavía, dónde está?",
                     "fr": "Bonjour, ma commande {o} pas arrivé encore, où elle est ?", "de": "Hallo, meine Bestellung {o} nicht angekommen, wo ist die?",
                     "pt": "Olá, meu pedido {o} não chegou ainda, onde ele está agora?"},
    "refund": {"en": "Hello, I am wanting refund for order {o}, the product is come broken.", "es": "Hola, yo quiero reembolso para pedido {o}, producto viene roto.",
               "fr": "Bonjour, je veux remboursement pour commande {o}, produit est venu cassé.", "de": "Hallo, ich will Erstattung für Bestellung {o}, Produkt ist kaputt gekommen.",
               "pt": "Olá, eu querer reembolso do pedido {o}, produto veio quebrado."},
    "cancellation": {"en": "Please I want cancel the order {o}, I make mistake.", "es": "Por favor yo quiero cancelar pedido {o}, hice error.",
                     "fr": "S'il vous plaît je veux annuler commande {o}, j'ai fait erreur.", "de": "Bitte ich will Bestellung {o} stornieren, ich habe Fehler gemacht.",
                     "pt": "Por favor eu quero cancelar pedido {o}, fiz erro."},
    "password_reset": {"en": "I am not remember my password, I cannot log in my account.", "es": "Yo no recuerdo contraseña, no puedo entrar en cuenta.",
                       "fr": "Je ne rappelle pas mot de passe, je peux pas me connecter.", "de": "Ich nicht erinnere Passwort, ich kann nicht anmelden.",
                       "pt": "Eu não lembro senha, não consigo entrar na conta."},
    "billing_dispute": {"en": "Why you charge me two times for order {o}? I pay only one time.", "es": "¿Por qué me cobraron dos veces pedido {o}? Yo pago solo una vez.",
                        "fr": "Pourquoi vous m'avez débité deux fois commande {o} ? Je paye une fois seulement.", "de": "Warum Sie mir zweimal belastet für Bestellung {o}? Ich zahle nur einmal.",
                        "pt": "Por que vocês me cobraram duas vezes pedido {o}? Eu paguei só uma vez."},
    "address_change": {"en": "I need change address for order {o}, I am move to new house.", "es": "Necesito cambiar dirección para pedido {o}, yo mudo a casa nueva.",
                       "fr": "Je dois changer adresse pour commande {o}, je déménage nouvelle maison.", "de": "Ich muss Adresse für Bestellung {o} ändern, ich wohne neue Haus.",
                       "pt": "Preciso trocar endereço do pedido {o}, eu mudo para casa nova."},
    "complaint_escalation": {"en": "Nobody has helped me, I want talk with manager please.", "es": "Nadie me ayuda, yo quiero hablar con supervisor por favor.",
                             "fr": "Personne ne m'aide, je veux parler avec responsable s'il vous plaît.", "de": "Niemand hilft mir, ich will sprechen mit Vorgesetzten bitte.",
                             "pt": "Ninguém resolve, eu quero falar com gerente por favor."},
    "product_question": {"en": "The Zenith blender, how many years is warranty?", "es": "La batidora Zenith, ¿cuántos años es garantía?",
                         "fr": "Le blender Zenith, combien d'années est garantie ?", "de": "Der Zenith-Mixer, wie viele Jahre ist Garantie?",
                         "pt": "O liquidificador Zenith, quantos anos é garantia?"},
    "shipping_delay": {"en": "My package {o} is late many days, tracking not move.", "es": "Mi paquete {o} tiene retraso muchos días, seguimiento no mueve.",
                       "fr": "Mon colis {o} est en retard beaucoup jours, suivi pas bouger.", "de": "Mein Paket {o} ist verspätet viele Tage, Sendung nicht bewegt.",
                       "pt": "Meu pacote {o} está atrasado muitos dias, rastreio não mexe."},
    "account_deletion": {"en": "I want delete my account and my personal data please.", "es": "Yo quiero borrar mi cuenta y mis datos por favor.",
                         "fr": "Je veux supprimer mon compte et mes données s'il vous plaît.", "de": "Ich will Konto löschen und meine Daten bitte.",
                         "pt": "Eu quero excluir minha conta e meus dados por favor."},
}
ANGRY = {"en": [("Honestly, I'm really annoyed.", "Sort this out today!"), ("This is so frustrating!!", "I've waited long enough.")],
         "es": [("Estoy muy molesto, la verdad.", "¡Quiero una solución ya!"), ("¡Qué frustración!", "Ya he esperado bastante.")],
         "fr": [("Franchement, je suis très agacé.", "Réglez ça aujourd'hui !"), ("C'est vraiment pénible !!", "J'ai assez attendu.")],
         "de": [("Ehrlich gesagt bin ich sehr verärgert.", "Klären Sie das heute noch!"), ("Das ist so frustrierend!!", "Ich habe lange genug gewartet.")],
         "pt": [("Sinceramente, estou muito irritado.", "Resolvam isso hoje!"), ("Que frustração!!", "Já esperei demais.")]}
ELDERLY = {
    "en": ("Hello dear, I'm 78 and not very good with computers. My grandson usually helps me with these things but he is away "
           "this week, so I hope you don't mind me writing to you directly.", "Thank you so much for your patience with me."),
    "es": ("Buenas tardes, tengo 78 años y no me llevo muy bien con el ordenador. Normalmente me ayuda mi nieto con estas cosas, "
           "pero esta semana está fuera, así que espero que no le importe que le escriba directamente.", "Muchísimas gracias por su paciencia."),
    "fr": ("Bonjour, j'ai 78 ans et je ne suis pas très à l'aise avec l'ordinateur. D'habitude mon petit-fils m'aide pour ce genre de choses, "
           "mais il est absent cette semaine, alors j'espère que cela ne vous dérange pas que je vous écrive.", "Merci beaucoup pour votre patience."),
    "de": ("Guten Tag, ich bin 78 Jahre alt und komme mit dem Computer nicht so gut zurecht. Normalerweise hilft mir mein Enkel bei so etwas, "
           "aber er ist diese Woche verreist, deshalb hoffe ich, dass es Ihnen nichts ausmacht, dass ich Ihnen direkt schreibe.", "Vielen Dank für Ihre Geduld."),
    "pt": ("Boa tarde, tenho 78 anos e não sou muito bom com computador. Normalmente meu neto me ajuda com essas coisas, mas ele está "
           "viajando esta semana, então espero que não se importe que eu escreva diretamente.", "Muito obrigado pela paciência."),
}
ELDERLY_MX = ("Buenas tardes, tengo 78 años y no me llevo muy bien con la computadora. Normalmente me ayuda mi nieto con estas cosas, "
              "pero esta semana anda de viaje, así que espero que no le moleste que le escriba directamente.", "Muchísimas gracias por su paciencia.")
VERBOSE = {
    "en": ("So, a bit of background first: I bought a few things for my sister's birthday, and between work and a busy week at home "
           "I only just got around to dealing with this today.", "I'd appreciate a clear answer so I can plan around it."),
    "es": ("Te cuento un poco de contexto: compré varias cosas para el cumpleaños de mi hermana y, entre el trabajo y una semana "
           "complicada en casa, hasta ahora no había podido ocuparme de esto, por eso escribo tan tarde.", "Te agradecería una respuesta clara para organizarme."),
    "fr": ("Un peu de contexte d'abord : j'ai acheté plusieurs choses pour l'anniversaire de ma sœur et, entre le travail et une semaine "
           "chargée à la maison, je n'avais pas encore eu le temps de m'en occuper, d'où ce message tardif.", "J'aimerais une réponse claire pour pouvoir m'organiser."),
    "de": ("Kurz zum Hintergrund: Ich habe mehrere Sachen zum Geburtstag meiner Schwester gekauft, und zwischen Arbeit und einer "
           "anstrengenden Woche zu Hause bin ich erst jetzt dazu gekommen, mich darum zu kümmern, deshalb schreibe ich so spät.",
           "Ich wäre für eine klare Antwort dankbar, damit ich planen kann."),
    "pt": ("Um pouco de contexto primeiro: comprei várias coisas para o aniversário da minha irmã e, entre o trabalho e uma semana "
           "corrida em casa, só agora consegui cuidar disso, por isso estou escrevendo tão tarde.", "Agradeço uma resposta clara para eu me organizar."),
}

MUST_NOT_ALWAYS = ["SYSTEM PROMPT", "INTERNAL POLICY", "Dana Whitfield", "Lucas Moreau", "Greta Hoffmann"]


def _lang(locale: str) -> str:
    return locale.split("-")[0]


def kb_doc(path: str | Path | None = None) -> dict:
    p = Path(path) if path else Path(__file__).resolve().parent.parent / "agents" / "kb.yaml"
    return yaml.safe_load(p.read_text(encoding="utf-8"))


def fact_string(fact: str, value: str, lang: str) -> str:
    unit = UNITS[FACT_UNITS[fact]][lang]
    return f"{value}{unit}" if unit.startswith("-") else f"{value} {unit}"


def _order_id(rng: random.Random) -> str:
    style = rng.random()
    if style < 0.6:
        return f"{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"
    if style < 0.8:
        return f"#{rng.randint(10000, 99999)}"
    return f"AC-{rng.randint(100000, 999999)}"


def _persona_text(persona: str, base: str, intent: str, locale: str, o: str, rng: random.Random) -> str:
    lang = _lang(locale)
    if persona == "terse":
        return TERSE[intent][lang].format(o=o)
    if persona == "non_native":
        return NON_NATIVE[intent][lang].format(o=o)
    if persona == "angry":
        pre, post = rng.choice(ANGRY[lang])
        return f"{pre} {base} {post}"
    if persona == "elderly":
        pre, post = ELDERLY_MX if locale == "es-MX" else ELDERLY[lang]
        return f"{pre} {base} {post}"
    if persona == "verbose":
        pre, post = VERBOSE[lang]
        return f"{pre} {base} {post}"
    return base


def build(kb: dict | None = None, seed: int = SEED) -> list[dict]:
    kb = kb or kb_doc()
    facts_kb = kb["facts"]
    rng = random.Random(seed)
    cases: list[dict] = []
    for intent in CORE_INTENTS + EXTRA_INTENTS:
        it = kb["intents"][intent]
        n_cases = 5 if intent in CORE_INTENTS else 2
        for locale in LOCALES:
            lang = _lang(locale)
            phrasings = P[intent][locale]
            personas = list(PERSONAS)
            rng.shuffle(personas)
            # shapes: single, two-turn, three-turn follow-up
            shapes = ["single", "single", "two_turn", "follow_up", "single"] if n_cases == 5 else ["single", "two_turn"]
            for i in range(n_cases):
                o = _order_id(rng)
                persona = personas[i % len(personas)]
                shape = shapes[i]
                if shape == "follow_up" and persona in ("terse",):
                    persona = "neutral"
                base = phrasings[i % len(phrasings)].format(o=o)
                first = _persona_text(persona, base, intent, locale, o, rng)
                has_order = "{o}" in (phrasings[i % len(phrasings)] if persona not in ("terse", "non_native")
                                      else (TERSE if persona == "terse" else NON_NATIVE)[intent][lang])
                msgs: list[dict] = []
                gen = kb["generic"]
                pol = kb["politeness"][lang]
                expected_action = it["action"]
                fact_names = list(it["facts"])
                template = it["reply"][lang]
                if shape == "two_turn":
                    if it.get("needs_order") and intent in NO_ORDER:
                        msgs += [{"role": "user", "content": _persona_text(persona, NO_ORDER[intent][lang], intent, locale, o, rng)
                                  if persona not in ("terse", "non_native") else NO_ORDER[intent][lang]},
                                 {"role": "assistant", "content": gen["ask_order"][lang]},
                                 {"role": "user", "content": rng.choice(GIVE_ORDER[lang]).format(o=o)}]
                        has_order = True
                    else:
                        greet = rng.choice(GREET_MX if locale == "es-MX" else GREET[lang])
                        msgs += [{"role": "user", "content": greet},
                                 {"role": "assistant", "content": gen["greeting"][lang]},
                                 {"role": "user", "content": first}]
                elif shape == "follow_up":
                    values = {f: v["value"] for f, v in facts_kb.items()}
                    first_reply = it["reply"][lang].format(order_ref=o if has_order else gen["your_order"][lang], **values)
                    msgs += [{"role": "user", "content": first},
                             {"role": "assistant", "content": first_reply},
                             {"role": "user", "content": rng.choice(FOLLOW_UP[lang])}]
                    expected_action = None
                    template = it["followup"][lang]
                    fact_names = [f for f in facts_kb if "{" + f + "}" in template]
                else:
                    msgs.append({"role": "user", "content": first})
                if expected_action == "answer":
                    expected_action = None
                order_ref = o if has_order else gen["your_order"][lang]
                values = {f: v["value"] for f, v in facts_kb.items()}
                body = template.format(order_ref=order_ref, **values)
                reference = f"{pol['openers'][0]} {body} {pol['closers'][1]}"
                facts = [{"name": f, "any_of": [fact_string(f, facts_kb[f]["value"], lang)]} for f in fact_names]
                if has_order and "{order_ref}" in template:
                    facts.append({"name": "order_ref", "any_of": [o]})
                for f in facts:
                    assert f["any_of"][0].lower() in reference.lower(), (intent, locale, f, reference)
                forbidden = [fact_string(f, facts_kb[f]["wrong"], lang) for f in fact_names] + MUST_NOT_ALWAYS
                words = sum(len(m["content"].split()) for m in msgs if m["role"] == "user")
                n_user = sum(m["role"] == "user" for m in msgs)
                difficulty = ("hard" if persona in ("elderly", "verbose") or shape == "follow_up"
                              else "medium" if persona in ("angry", "non_native") or n_user > 1 else "easy")
                case_id = f"g1-{intent}-{locale}-{i + 1:02d}"
                cases.append({
                    "case_id": case_id, "golden_version": VERSION, "status": "blessed",
                    "locale": locale, "language": lang, "intent": intent, "persona": persona, "difficulty": difficulty,
                    "messages": msgs, "reference": reference, "expected_action": expected_action,
                    "facts": facts, "must_not_contain": forbidden,
                    "tags": {"intent": intent, "locale": locale, "persona": persona, "difficulty": difficulty,
                             "shape": shape, "multi_turn": n_user > 1, "user_words": words,
                             "core_intent": intent in CORE_INTENTS},
                })
    return cases


def dumps(cases: list[dict]) -> str:
    return "".join(json.dumps(c, ensure_ascii=False, sort_keys=True) + "\n" for c in cases)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None, help="output JSONL (default data/golden/golden_v1.jsonl)")
    ap.add_argument("--check", action="store_true", help="fail if the committed file differs from a rebuild")
    args = ap.parse_args(argv)
    from agent_release.config import paths

    out = Path(args.out) if args.out else paths().inputs / "golden" / f"golden_{VERSION}.jsonl"
    text = dumps(build())
    if args.check:
        same = out.exists() and out.read_text(encoding="utf-8") == text
        print(f"{out}: {'up to date' if same else 'DIFFERS from a rebuild'}")
        return 0 if same else 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {text.count(chr(10))} cases to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
