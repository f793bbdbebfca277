"""English templates (base: en-US; en-GB via substitutions in ``lang/__init__.py``).

Placeholders: decoys {order} {tracking} {sku} {amount} {odate} {eta} {time} {invoice} {ticket}
{last4} {model}; plain {product} {carrier} {days} {natid_label}; PII (only in the "pii" phrases,
signatures and the assistant's {first}) {name} {first} {email} {phone} {card} {iban} {natid}
{address} {dob} {ip}.
"""

TEXT = {
    "intents": {
        "order_status": {
            "open": [
                "Hi, where is my order {order}? I ordered it on {odate} and it still hasn't arrived.",
                "Hello, can you tell me the status of order {order}?",
                "I placed an order for a new {product} on {odate} and haven't heard anything since. Can you check it?",
                "Hey, my package hasn't shown up yet. Order {order}.",
                "Hi there, I'd like to know when my {product} will be delivered.",
            ],
            "terse": ["where is my order {order}", "order {order} status?", "status of {order}"],
            "ask": [
                "I can help with that. Could you confirm your order number?",
                "Sure, let me look into it. What's the order number on your confirmation email?",
                "Happy to check. Can you confirm the order number and roughly when you ordered?",
            ],
            "give": [
                "Sure, it's {order}.",
                "The order number is {order}, I ordered on {odate}.",
                "{order}, it was the {product}.",
            ],
            "result": [
                "Your order {order} shipped on {odate} with {carrier}, tracking number {tracking}. It should arrive by {eta}.",
                "I found it. Order {order} is in transit, tracking {tracking}, estimated delivery {eta}.",
                "Order {order} is out for delivery today and should reach you before {time}.",
            ],
            "more": [
                "Can you send me the tracking link?",
                "Will I need to sign for it?",
                "What happens if I'm not home?",
            ],
            "reply": [
                "The tracking number is {tracking}; you can follow it on the {carrier} website.",
                "No signature is needed, the courier will leave it at your door or with a neighbor.",
                "If you're not home, {carrier} will try again the next business day.",
            ],
        },
        "refund": {
            "open": [
                "Hi, I returned the {product} from order {order} two weeks ago and still haven't got my refund of {amount}.",
                "I'd like a refund for order {order}, the item arrived damaged.",
                "Hello, I was charged {amount} for something I sent back. When will I get my money back?",
                "I want to return my {product} and get a refund please.",
            ],
            "terse": ["refund for {order}", "where is my refund", "need refund {amount}"],
            "ask": [
                "I'm sorry about that. Could you confirm the order number and how you paid?",
                "I can look into the refund. What's the order number?",
            ],
            "give": [
                "It's order {order}, I paid {amount} by card ending in {last4}.",
                "Order {order}. The refund should be {amount}.",
                "{order}, paid with my card on {odate}.",
            ],
            "result": [
                "I've issued a refund of {amount} for order {order}. It will show on your statement in 5 to 10 business days.",
                "The return was received and your refund of {amount} has been processed to the card ending in {last4}.",
            ],
            "more": ["Why does it take so long?", "Can you send me a confirmation by email?"],
            "reply": [
                "Banks usually need a few business days to post refunds; it's out of our hands once we send it.",
                "Yes, you'll receive a confirmation email shortly with reference {invoice}.",
            ],
        },
        "cancellation": {
            "open": [
                "Hi, I need to cancel order {order}, I ordered the wrong size.",
                "Please cancel my subscription, I don't use it anymore.",
                "Can I still cancel the order I placed on {odate}?",
                "I want to cancel my order {order} before it ships.",
            ],
            "terse": ["cancel {order}", "cancel my order", "cancel subscription"],
            "ask": [
                "I can help with that. Can you confirm the order number?",
                "Sure. Before I cancel, can you confirm which order or plan this is about?",
            ],
            "give": [
                "Order {order}, placed on {odate}.",
                "It's the {product}, order {order}.",
                "The monthly plan, {amount} a month.",
            ],
            "result": [
                "Done, order {order} has been canceled and you won't be charged.",
                "Your cancellation is confirmed. You'll keep access until {eta} and won't be billed again.",
            ],
            "more": ["Will I get a confirmation?", "Is there a cancellation fee?"],
            "reply": [
                "Yes, a confirmation with reference {invoice} is on its way to your inbox.",
                "There's no fee for canceling before the item ships.",
            ],
        },
        "password_reset": {
            "open": [
                "Hi, I can't log into my account, the password reset email never arrives.",
                "I forgot my password and the reset link says it expired.",
                "My account got locked after too many attempts, can you help?",
                "I keep getting 'invalid password' even after resetting it.",
            ],
            "terse": ["cant log in", "reset password pls", "locked out"],
            "ask": [
                "I can help you get back in. Which email address is on the account?",
                "For security I need to verify your identity. Can you confirm the email on the account?",
            ],
            "give": [
                "I tried three times this morning around {time}.",
                "I already checked the spam folder.",
                "I last logged in on {odate}.",
            ],
            "result": [
                "I've sent a new reset link. It's valid for 30 minutes, please check your inbox.",
                "Your account is unlocked and a reset link is on its way. Please use it before {time}.",
            ],
            "more": ["The link still doesn't work.", "Can I change the email on the account too?"],
            "reply": [
                "Please try in a private browser window; old links stop working once a new one is sent.",
                "Yes, once you're logged in you can change it under Settings > Account.",
            ],
        },
        "billing_dispute": {
            "open": [
                "I was charged twice for order {order}, {amount} each time.",
                "There's a charge of {amount} on my card I don't recognize.",
                "My invoice {invoice} is wrong, I was billed {amount} instead of the promotional price.",
                "Why was I charged {amount} on {odate}? I canceled before that.",
            ],
            "terse": ["double charged {amount}", "wrong charge on invoice {invoice}", "charged twice"],
            "ask": [
                "I'm sorry about that. Can you tell me which card was charged and the date of the charge?",
                "Let me look into it. Do you have the invoice number or the order number?",
            ],
            "give": [
                "Invoice {invoice}, charged on {odate}.",
                "It was {amount}, card ending in {last4}.",
                "Order {order}, I see two charges of {amount}.",
            ],
            "result": [
                "I've opened a billing dispute for {amount}, reference {ticket}. You'll hear back within 3 business days.",
                "You're right, it was a duplicate charge. I've reversed {amount} to the card ending in {last4}.",
            ],
            "more": ["Do I need to contact my bank as well?", "How will I know it's fixed?"],
            "reply": [
                "No need, we've handled it on our side.",
                "You'll get an email with reference {ticket} as soon as it's resolved.",
            ],
        },
        "address_change": {
            "open": [
                "Hi, I moved and need to change the delivery address for order {order}.",
                "Can I update my shipping address? The order hasn't shipped yet.",
                "I entered the wrong address on order {order}, can you fix it?",
                "I need to change my billing address.",
            ],
            "terse": ["change address {order}", "update my address", "wrong address on {order}"],
            "ask": [
                "Sure. What's the new address, and which order is it for?",
                "I can update that. Please send me the full new address.",
            ],
            "give": [
                "It's for order {order}.",
                "The order is {order}, placed on {odate}.",
                "Please use it for all future orders too.",
            ],
            "result": [
                "Done, order {order} will now ship to the new address.",
                "I've updated the address on your account and on order {order}.",
            ],
            "more": ["Will that delay the delivery?", "Can you confirm the address back to me?"],
            "reply": [
                "It may add a day; the new estimate is {eta}.",
                "For security we don't repeat full addresses in chat, but it's updated on order {order}.",
            ],
        },
        "complaint_escalation": {
            "open": [
                "This is the third time I'm contacting you about order {order} and nobody has helped.",
                "I want to file a formal complaint. Your courier left my {product} in the rain.",
                "I want to speak to a manager.",
                "Your service has been terrible. I've been waiting since {odate}.",
            ],
            "terse": ["manager now", "complaint about {order}", "human please"],
            "ask": [
                "I'm really sorry about your experience. Can you tell me what happened and the order number?",
                "I understand your frustration. Let me get the details so the right team can help.",
            ],
            "give": [
                "Order {order}. I was promised a callback on {odate} and nobody called.",
                "The {product} arrived broken and your colleague hung up on me.",
                "I've spent over an hour on this since {time}.",
            ],
            "result": [
                "I've escalated this to a senior agent, case number {ticket}. They'll contact you within 24 hours.",
                "I've opened complaint {ticket} and flagged it as urgent.",
            ],
            "more": ["I want compensation for this.", "Can I have that in writing?"],
            "reply": [
                "I've noted your request for compensation on case {ticket}; the senior team decides on it.",
                "Yes, you'll get a confirmation email for case {ticket}.",
            ],
        },
        "product_question": {
            "open": [
                "Does the {model} (SKU {sku}) work with iPhone?",
                "Is the {model} available in black?",
                "What's the warranty on the {model}?",
                "Hi, how long does the battery of the {model} last?",
                "Is item {sku} back in stock?",
            ],
            "terse": ["{sku} in stock?", "warranty on {model}?", "price of {sku}"],
            "ask": [
                "Good question! Which model are you looking at?",
                "Happy to help. Do you have the product code?",
            ],
            "give": ["The {model}, code {sku}.", "It's {sku}, listed at {amount}.", "The one that costs {amount}."],
            "result": [
                "The {model} ({sku}) is in stock at {amount} and ships within {days} days.",
                "Yes, {sku} is compatible and comes with a 2-year warranty.",
            ],
            "more": ["Does it come with a charger?", "Can I pick it up in store?"],
            "reply": [
                "Yes, a charger is included in the box.",
                "Yes, in-store pickup is available, usually from {time} the next day.",
            ],
        },
        "shipping_delay": {
            "open": [
                "My package was supposed to arrive on {eta} and it's still not here.",
                "Tracking for {tracking} hasn't updated in 4 days.",
                "Order {order} is late, what's going on?",
                "The courier says delivered but I never got my {product}.",
            ],
            "terse": ["package late {order}", "tracking {tracking} stuck", "where is my package"],
            "ask": [
                "Sorry for the delay. Can you give me the order or tracking number?",
                "Let me check with the carrier. What's your order number?",
            ],
            "give": [
                "Tracking is {tracking}.",
                "Order {order}, shipped with {carrier}.",
                "It's {order}, it was supposed to come on {eta}.",
            ],
            "result": [
                "{carrier} shows parcel {tracking} delayed at the depot; the new estimated delivery is {eta}.",
                "I've opened an investigation with {carrier} for {tracking}. If it doesn't arrive by {eta} we'll send a replacement.",
            ],
            "more": ["Can you send a replacement now?", "Do I get the shipping fee back?"],
            "reply": [
                "If it hasn't moved by {eta}, I'll send a replacement right away.",
                "Yes, I've refunded the shipping fee of {amount}.",
            ],
        },
        "account_deletion": {
            "open": [
                "Please delete my account and all my data.",
                "I want to close my account permanently.",
                "How do I delete my account? I don't want you to keep my information.",
                "Under privacy law I'm requesting deletion of my personal data.",
            ],
            "terse": ["delete my account", "close account", "remove my data"],
            "ask": [
                "I can help with that. To verify it's you, please confirm the email on the account.",
                "Before I delete the account I need to verify your identity. Can you confirm a few details?",
            ],
            "give": [
                "Yes, I'm sure. I have no open orders.",
                "My last order was {order}, on {odate}.",
                "I understand it can't be undone.",
            ],
            "result": [
                "Your account is scheduled for deletion on {eta}. You'll receive a confirmation email.",
                "Done. Your account and personal data will be erased within 30 days, reference {ticket}.",
            ],
            "more": ["Will you keep my order history?", "Can I cancel the deletion if I change my mind?"],
            "reply": [
                "We keep invoices only as long as tax law requires; everything else is erased.",
                "Yes, you can cancel until {eta} by replying to the confirmation email.",
            ],
        },
    },
    "thanks": ["Thanks, that's all.", "Great, thank you!", "Perfect, thanks for your help.", "Ok thanks.",
               "Thank you, have a nice day."],
    "thanks_terse": ["thx", "ok", "k thanks", "ty"],
    "thanks_angry": ["Fine. But this shouldn't have happened in the first place.", "About time.",
                     "Whatever. Just make sure it's fixed."],
    "bye_bot": ["You're welcome! Is there anything else I can help with?", "Glad I could help. Have a great day!",
                "Happy to help. Take care!"],
    "cannot": ["I'm sorry, I'm not able to sort that out from here.",
               "Unfortunately I can't complete that request on my side."],
    "escalate_user": ["This isn't helping. I want to talk to a real person.", "Can I speak to a human agent?",
                      "I need someone who can actually fix this."],
    "escalate": ["I'm transferring you to a human agent now. Your case number is {ticket}.",
                 "I've escalated this to our support team, case {ticket}. Someone will contact you within 24 hours."],
    "abandon_bot": ["Are you still there?", "I haven't heard back from you. Is there anything else I can help with?"],
    "wait": ["One moment while I check that for you.", "Let me look that up.", "Checking now, this will take a few seconds."],
    "error_bot": ["Sorry, something went wrong on my side. Let me try again.",
                  "Apologies, I'm having trouble reaching our systems right now."],
    "clarify": ["Sorry, I don't understand. What I must do?", "Can you explain again please?",
                "I'm not sure what you mean."],
    "rephrase": ["No problem, let me explain it more simply.",
                 "Sorry for the confusion. You don't need to do anything else, I'll take care of it."],
    "first_prefix": ["Thanks, {first}. ", "Thank you, {first}! ", "Hi {first}! "],
    "email_greet": ["Hello,\n\n", "Dear Customer Service,\n\n", "Hi team,\n\n", "To whom it may concern,\n\n"],
    "email_sign": ["\n\nBest regards,\n{name}", "\n\nThanks,\n{name}", "\n\nKind regards,\n{name}",
                   "\n\nSincerely,\n{name}"],
    "email_sign_anon": ["\n\nThanks", "\n\nRegards", "\n\nSent from my iPhone"],
    "voice_fillers": ["um, ", "uh, ", "yeah, ", "so ", "okay so "],
    "angry": ["This is ridiculous!", "I'm so fed up with this!", "Unacceptable!!", "Are you kidding me?",
              "I've had enough of this!"],
    "angry_more": ["I've been waiting for ages!", "Why is this so complicated?!", "Your company is a joke.",
                   "I've never had such bad service!"],
    "verbose": [
        "I hope you're doing well today.",
        "I have to say I've been a loyal customer for many years and I've never had a problem like this before.",
        "Just to give you some context, I was planning to use this for a family trip next week, so it's quite important to me.",
        "I tried to find the answer on your website first, and I also read the FAQ, but I couldn't find anything that matched my situation.",
        "Sorry for the long message, I just want to make sure I explain everything properly.",
        "I also tried calling earlier but the line was busy the whole time.",
    ],
    "elderly_open": ["Good afternoon. I hope you can help me, I'm not very good with computers.",
                     "Hello dear, my grandson usually helps me with these things but he's away.",
                     "Good morning. I'm sorry to bother you."],
    "elderly_close": ["Thank you very much for your patience, you've been very kind.", "Bless you, thank you so much.",
                      "Thank you kindly, dear."],
    "non_native_note": ["Sorry for my english.", "Sorry my english is not good."],
    "articles": ["the", "a", "an", "The", "A", "An"],
    "non_native_subs": [("doesn't", "not"), ("hasn't", "not"), ("haven't", "not"), ("I'm", "I am"),
                        ("can't", "can not"), ("I'd like", "I want"), ("I want", "I am want"), ("still", "yet")],
    "pii": {
        "name_intro": ["Hi, my name is {name}.", "Hello, this is {name}.", "Hi, I'm {name}."],
        "name": ["My name is {name}.", "The order is under the name {name}.", "It's under {name}.",
                 "Account holder is {name}."],
        "email": ["My email is {email}.", "You can reach me at {email}.", "The account email is {email}.",
                  "Please send the confirmation to {email}."],
        "phone": ["My phone number is {phone}.", "You can call me at {phone}.", "My cell is {phone}.",
                  "Call me back on {phone} please."],
        "card": ["The card I used was {card}.", "Card number: {card}.", "I paid with my card {card}."],
        "iban": ["Please send the refund to my IBAN {iban}.", "My bank account is {iban}.", "IBAN: {iban}"],
        "natid": ["My {natid_label} is {natid}.", "For verification, my {natid_label}: {natid}.",
                  "{natid_label} {natid}"],
        "address": ["My address is {address}.", "Please send it to {address}.", "I live at {address}."],
        "address_new": ["The new address is {address}.", "Please change it to {address}.",
                        "I now live at {address}."],
        "dob": ["I was born on {dob}.", "My date of birth is {dob}.", "DOB: {dob}", "born {dob}"],
        "ip": ["My IP address is {ip}.", "The security alert says someone logged in from {ip}, that wasn't me.",
               "I'm connecting from {ip} if that helps."],
    },
    "natid_labels": {
        "US_SSN": ["SSN", "social security number", "Social Security number"],
        "UK_NINO": ["National Insurance number", "NI number", "NINO"],
    },
    "products": ["wireless headphones", "coffee maker", "running shoes", "phone case", "smart watch", "air fryer",
                 "backpack", "desk lamp", "bluetooth speaker", "winter jacket", "blender", "vacuum cleaner",
                 "office chair", "tablet"],
}
