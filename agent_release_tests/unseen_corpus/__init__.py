"""A second, independent test corpus for the masker: support tickets the masker was not tuned on.

    from agent_release_tests.unseen_corpus import generate, measure
    conversations, truth, lookalikes = generate(150, seed=20260815)
    masked, _ = Masker(key).mask_frame(conversations)
    result = measure(masked, truth, lookalikes)      # leaks per entity / tag / locale, over-masking, goals

Why it is independent of the corpus the masker is tuned on (``agent_release/synth``):

- it was written without reading ``agent_release/synth`` or the masker's detectors
  (``agent_release/masking``): only the conversation-log contract, the canonical entity names
  (``agent_release/pii.py``), the leak rule (``agent_release/leaks.py``) and the public
  ``Masker.mask_frame`` signature were looked at;
- its phrasing (:mod:`.phrases`) is its own, per language, in a support-ticket style: customer
  messages with typos, self-introductions in every language ("sono …", "ik ben …", "jestem …",
  "jag heter …", "adım …"), agent replies greeting the customer by first name or title + surname,
  e-mail threads with signatures and quoted replies ("> " and "> > " lines under "On … wrote:"
  headers in the locale's wording), pasted form fields, lower-case voice transcripts;
- its values come from Faker's locale providers (names, streets, towns, postcodes, phone numbers,
  cards) and from its own checksum code (:mod:`.values`) where Faker has no provider for the
  locale or produces another country's format (national ids of 15 countries, IBANs with a
  correct, wrong checksum or wrong length, CLABE, ABA routing numbers, UK sort codes); phone
  numbers are classified with ``phonenumbers`` as valid or not in the conversation locale's plan;
- it covers classes of misses an outside tester found (see ``FORMAT_TAGS``), each value labelled
  with its format tag, so a leak table per tag shows which class still leaks.

Locales: en-US, en-GB, es-ES, es-MX, fr-FR, de-DE, pt-BR, it-IT, nl-NL, pl-PL, sv-SE, da-DK, nb-NO,
fi-FI, tr-TR (conversation ``i`` gets ``LOCALES[i % 15]``; the conversation kind rotates so every
locale sees every kind within 4 rounds: chat, e-mail thread, pasted form, voice transcript).

Returns three frames:

- conversations in the contract schema (``agent_release.contract.SCHEMA``, via ``normalise`` /
  ``to_frame``), ready for ``Masker.mask_frame``; PII only in message contents;
- truth: one row per injected PII occurrence (a value repeated in a quoted reply is a row per
  copy): conversation_id, message_index, field ("content"), start, end (character offsets in the
  content), entity_type (``agent_release.pii``), value, locale, format_tag, parts (sub-values
  whose survival alone is a partial leak: surname; street, postcode, town; number without its
  extension), quote_depth (0 in the message's own text, 1 inside a quoted reply, 2 in a quote
  of a quote; a multi-line value in a quote carries the "> " prefixes inside it);
- lookalikes: every non-PII word token of every message, with kind (an order id, tracking
  number, SKU, amount, order date, version, time, error code, ticket or invoice number —
  ``lookalike`` true — or "word" for ordinary text), value and offsets. No row overlaps a truth
  span.

Deterministic for a seed: values come from ``random.Random(f"{seed}:{i}")`` and a Faker reseeded
per conversation; format-tag cycles run in conversation order. (Faker's data can change between
Faker versions; the seed fixes the corpus for one installed Faker.)
"""

from __future__ import annotations

import datetime as dt
import random
import re

import polars as pl

from agent_release import pii
from agent_release.contract import normalise, to_frame
from agent_release_tests.unseen_corpus import values as V
from agent_release_tests.unseen_corpus.phrases import LANG, NID_LABELS, VOICE_FILLERS
from agent_release_tests.unseen_corpus.scoring import measure, report_lines

__all__ = ["generate", "measure", "report_lines", "LOCALES", "FORMAT_TAGS", "LOOKALIKE_KINDS"]

LOCALES = V.LOCALES
NAME_TAGS = ("name_intro", "name_lowercase", "name_greeting", "name_greeting_title", "name_signature",
             "name_agent_signature", "name_quoted_header", "name_form")
EMAIL_TAGS = ("email", "email_signature", "email_quoted_header", "email_form")
IP_TAGS = ("ipv4", "ipv6")
NID_TAGS = tuple("nid_" + k for ks in V.NATIONAL_IDS.values() for k in ks)
FORMAT_TAGS = (V.PHONE_TAGS + V.IBAN_TAGS + V.BANK_TAGS + V.CARD_TAGS + NID_TAGS + EMAIL_TAGS + IP_TAGS
               + NAME_TAGS + V.ADDRESS_TAGS + V.DOB_TAGS)
LOOKALIKE_KINDS = V.LOOK_KINDS
KINDS = ("chat", "email", "form", "voice")

_SLOT = re.compile(r"\{(\w+)\}")
_WORD = re.compile(r"\w+")
_NOCUE = {"phone_valid_nocue", "phone_invalid_nocue"}


# --------------------------------------------------------------------------- message builder

class Msg:
    """Text built piece by piece, remembering where every PII value and every non-PII token is."""

    def __init__(self, typo_rng: random.Random | None = None, typo_p: float = 0.0, lower: bool = False):
        self.buf: list[str] = []
        self.pos = 0
        self.truth: list[tuple[int, int, V.Val]] = []
        self.looks: list[tuple[int, int, str]] = []  # start, end, kind ("word" for ordinary text)
        self.typo_rng, self.typo_p, self.lower = typo_rng, typo_p, lower

    @property
    def text(self) -> str:
        return "".join(self.buf)

    def _add(self, s: str) -> int:
        start = self.pos
        self.buf.append(s)
        self.pos += len(s)
        return start

    def lit(self, s: str) -> None:
        if self.lower:
            s = s.lower()
        if self.typo_rng is not None and self.typo_p:
            s = _typos(s, self.typo_rng, self.typo_p)
        st = self._add(s)
        self.looks += [(st + m.start(), st + m.end(), "word") for m in _WORD.finditer(s)]

    def val(self, v: V.Val) -> None:
        if self.lower:
            v = V.Val(v.text.lower(), v.entity_type, v.tag, [p.lower() for p in v.parts], v.quote)
        st = self._add(v.text)
        self.truth.append((st, st + len(v.text), v))

    def look(self, lk: V.Look) -> None:
        st = self._add(lk.text)
        self.looks.append((st, st + len(lk.text), lk.kind))

    def put(self, piece) -> None:
        if isinstance(piece, V.Val):
            self.val(piece)
        elif isinstance(piece, V.Look):
            self.look(piece)
        else:
            self.lit(piece)

    def tpl(self, template: str, resolve) -> None:
        pos = 0
        for m in _SLOT.finditer(template):
            if m.start() > pos:
                self.lit(template[pos:m.start()])
            self.put(resolve(m.group(1)))
            pos = m.end()
        if pos < len(template):
            self.lit(template[pos:])

    def extend(self, other: "Msg") -> None:
        off = self.pos
        self.buf.append(other.text)
        self.pos += len(other.text)
        self.truth += [(s + off, e + off, v) for s, e, v in other.truth]
        self.looks += [(s + off, e + off, k) for s, e, k in other.looks]


def quoted(msg: Msg, prefix: str = "> ") -> Msg:
    """``msg`` with every line prefixed (an e-mail quote); spans move with their text, and a value
    spanning lines (a multi-line address) gets the prefix inside it, as it would in a real quote."""
    text = msg.text
    out = Msg()
    new = prefix + text.replace("\n", "\n" + prefix)
    nl = [i for i, c in enumerate(text) if c == "\n"]

    def at(p: int) -> int:
        import bisect

        return p + len(prefix) * (1 + bisect.bisect_left(nl, p))

    out.buf, out.pos = [new], len(new)
    for s, e, v in msg.truth:
        ns, ne = at(s), at(e - 1) + 1
        out.truth.append((ns, ne, V.Val(new[ns:ne], v.entity_type, v.tag, v.parts, v.quote + 1)))
    out.looks = [(at(s), at(e - 1) + 1, k) for s, e, k in msg.looks]
    return out


def _typos(s: str, rng: random.Random, p: float) -> str:
    def one(m: re.Match) -> str:
        w = m.group()
        if len(w) < 5 or not w.isalpha() or rng.random() >= p:
            return w
        i = rng.randrange(1, len(w) - 2)
        op = rng.randrange(3)
        if op == 0:
            return w[:i] + w[i + 1] + w[i] + w[i + 2:]
        if op == 1:
            return w[:i] + w[i + 1:]
        return w[:i] + w[i] + w[i:]

    return _WORD.sub(one, s)


# --------------------------------------------------------------------------- one conversation

class Cycles:
    """Format-tag cycles in conversation order: every tag comes round, whatever the size."""

    def __init__(self):
        self.i: dict[str, int] = {}

    def next(self, name: str, items):
        k = self.i.get(name, 0)
        self.i[name] = k + 1
        return items[k % len(items)]


class Conv:
    def __init__(self, i: int, seed: int, locale: str, cycles: Cycles):
        self.rng = random.Random(f"{seed}:{i}")
        self.locale, self.L, self.cy = locale, LANG[locale], cycles
        self.fake = V.faker_for(locale, self.rng.randrange(1 << 31))
        female = self.rng.random() < 0.5
        self.first = self.fake.first_name_female() if female else self.fake.first_name_male()
        self.last = self.fake.last_name()
        self.title = self.L["titles"][1 if female else 0]
        self.afirst = self.fake.first_name()
        self.alast = self.fake.last_name()
        self.email_v = V.email(self.rng, locale, self.first, self.last)
        self.agent_email = f"{V.ascii_fold(self.afirst).lower().replace(' ', '')}." \
                           f"{V.ascii_fold(self.alast).lower().replace(' ', '').replace(chr(39), '')}@help.acme-shop.example"
        self.tech = self.rng.random() < 0.5

    # ---- values
    def name(self, tag: str, first_only: bool = False, agent: bool = False) -> V.Val:
        f, ln = (self.afirst, self.alast) if agent else (self.first, self.last)
        if first_only:
            return V.Val(f, pii.PERSON, tag)
        return V.Val(f"{f} {ln}", pii.PERSON, tag, [ln])

    def phone(self, tag: str | None = None) -> V.Val:
        tag = tag or self.cy.next("phone", V.PHONE_TAGS)
        return V.phone(self.rng, self.locale, self.fake, tag, self.L["ext"])

    def address(self, tag: str | None = None) -> V.Val:
        if tag is None:
            cyc = {"en-US": ("address_military", "address_inline", "address_multiline"),
                   "en-GB": ("address_flat", "address_inline", "address_multiline")}
            tag = self.cy.next("addr:" + self.locale, cyc.get(self.locale, ("address_inline", "address_multiline")))
        if tag == "address_form":
            v = V.address(self.rng, self.locale, self.fake, self.rng.choice(["address_inline", "address_multiline"]))
            v.tag = tag
            return v
        return V.address(self.rng, self.locale, self.fake, tag)

    def dob(self) -> V.Val:
        return V.dob(self.rng, self.locale, self.cy.next("dob", V.DOB_TAGS), self.L["months"], self.L["date_text"])

    def nid(self) -> tuple[V.Val, str]:
        kind = self.cy.next("nid:" + self.locale, V.NATIONAL_IDS[self.locale])
        return V.national_id(self.rng, kind, self.first, self.last), self.rng.choice(NID_LABELS[kind])

    def look(self, kind: str) -> V.Look:
        return V.look(self.rng, self.locale, kind, self.L["months"], self.L["date_text"])

    def resolver(self, **vals):
        def resolve(slot: str):
            if slot in vals:
                return vals[slot]
            if slot in V.LOOK_KINDS:
                return self.look(slot)
            if slot == "TITLE":
                return self.title
            raise KeyError(f"slot {slot} has no value here")
        return resolve

    def say(self, m: Msg, key: str, **vals) -> None:
        t = self.L[key] if isinstance(self.L[key], str) else self.rng.choice(self.L[key])
        if not self.title:
            t = t.replace("{TITLE} {LAST}", "{FIRST} {LAST}")
        if "{FIRST} {LAST}" in t:
            t = t.replace("{FIRST} {LAST}", "{NAME}")
            vals.setdefault("NAME", vals.get("FULL") or self.name("name_greeting_title"))
        m.tpl(t, self.resolver(**vals))

    def phone_statement(self, m: Msg, v: V.Val | None = None) -> V.Val:
        v = v or self.phone()
        nocue = v.tag in _NOCUE or (v.tag == "phone_e164" and self.rng.random() < 0.5)
        self.say(m, "phone_nocue" if nocue else "phone_cue", PHONE=v)
        return v

    def address_statement(self, m: Msg, v: V.Val | None = None) -> V.Val:
        v = v or self.address()
        if "\n" in v.text:
            m.lit(self.rng.choice(self.L["addr_ml"]) + "\n")
            m.val(v)
        else:
            self.say(m, "addr", ADDR=v)
        return v

    def payment_statement(self, m: Msg, bare: bool = False) -> None:
        """Bank or card details in a sentence of the locale (``bare``: the value(s) alone, as in
        a form field)."""
        loc, rng = self.locale, self.rng
        cyc = {"en-US": ("us_bank", "card"), "en-GB": ("uk_bank", "iban"), "es-MX": ("clabe", "card")}
        what = self.cy.next("pay:" + loc, cyc.get(loc, ("iban", "card", "iban")))
        if what == "card":
            v = V.card(rng, self.fake, self.cy.next("card", V.CARD_TAGS))
            if bare:
                m.val(v)
            else:
                self.say(m, "card", CARD=v)
        elif what == "iban":
            tag = self.cy.next("iban", V.IBAN_TAGS)
            v = V.iban(rng, loc, self.fake, tag)
            if bare and tag != "iban_bad_after_word":
                m.val(v)
            else:
                self.say(m, "iban_word" if tag == "iban_bad_after_word" or rng.random() < 0.3 else "iban", IBAN=v)
        elif what == "clabe":
            t = "{X}" if bare else rng.choice(["la CLABE es {X}", "cuenta CLABE: {X}", "depositen a la cuenta {X}",
                                               "CLABE interbancaria {X}"])
            m.tpl(t, self.resolver(X=V.Val(V.clabe(rng), pii.IBAN_CODE, "clabe")))
        elif what == "uk_bank":
            sc = "-".join(V.digits(rng, 2) for _ in range(3))
            t = rng.choice(["{S} {A}", "{S} / {A}"]) if bare else rng.choice(
                ["sort code {S}, account number {A}", "Sort code: {S}\nAccount no: {A}", "please refund to {S} {A}",
                 "acc {A} sort {S}"])
            m.tpl(t, self.resolver(S=V.Val(sc, pii.IBAN_CODE, "uk_sort_code"),
                                   A=V.Val(V.digits(rng, 8), pii.IBAN_CODE, "uk_account")))
        elif what == "us_bank":
            t = "{R} {A}" if bare else rng.choice(["routing number {R}, account {A}", "ABA {R} / acct {A}",
                                                   "direct deposit to routing {R} account number {A}",
                                                   "bank: {R} {A} (checking)"])
            m.tpl(t, self.resolver(R=V.Val(V.aba_routing(rng), pii.IBAN_CODE, "us_routing"),
                                   A=V.Val(V.digits(rng, rng.randint(8, 12)), pii.IBAN_CODE, "us_account")))

    def join(self, m: Msg) -> None:
        m.lit(self.rng.choice([". ", ". ", ", ", "\n", " - ", "! "]))

    def agent_sig(self, m: Msg, ext_phone: bool = False) -> None:
        m.lit("\n\n" + self.rng.choice(self.L["a_close"]) + "\n")
        m.val(self.name("name_agent_signature", agent=True))
        m.lit("\n" + self.L["team"])
        if ext_phone:
            m.lit("\n" + self.L["form"]["phone"] + ": ")
            m.val(self.phone("phone_ext_word" if self.rng.random() < 0.6 else "phone_ext_hash"))

    def agent_hello(self, m: Msg) -> None:
        if self.rng.random() < 0.35:
            self.say(m, "a_hello_title", LAST=V.Val(self.last, pii.PERSON, "name_greeting_title"),
                     FULL=self.name("name_greeting_title"))
        else:
            self.say(m, "a_hello", FIRST=V.Val(self.first, pii.PERSON, "name_greeting"))

    def agent_reply(self, sep: str) -> Msg:
        """Greeting, a look-alike sentence and a verification question."""
        a = Msg()
        self.agent_hello(a)
        a.lit(sep)
        self.say(a, "a_info")
        a.lit(" ")
        a.lit(self.rng.choice(self.L["a_ask"]))
        return a

    # ---- conversation kinds
    def user_msg(self, lower: bool = False) -> Msg:
        return Msg(None if lower else self.rng, 0.0 if lower else 0.07, lower=lower)

    def chat(self) -> list[tuple[str, Msg]]:
        rng, L = self.rng, self.L
        u0 = self.user_msg()
        u0.lit(rng.choice(L["hello"]) + rng.choice([", ", "! ", " ", "\n"]))
        self.say(u0, "intro", NAME=self.name("name_intro"))
        self.join(u0)
        self.say(u0, "tech" if self.tech else "problem")
        a1 = self.agent_reply(" ")
        u2 = self.user_msg()
        ph = self.phone_statement(u2)
        self.join(u2)
        addr = self.address_statement(u2)
        self.join(u2)
        self.say(u2, "dob", DOB=self.dob())
        self.join(u2)
        v, label = self.nid()
        self.say(u2, "nid", NID=v, NIDLABEL=label)
        a3 = Msg()
        self.say(a3, "a_phone", PHONE=ph)
        a3.lit(" ")
        self.say(a3, "a_addr", ADDR=addr)
        a3.lit(" ")
        self.say(a3, "a_info")
        u4 = self.user_msg()
        self.payment_statement(u4)
        self.join(u4)
        if self.tech:
            self.say(u4, "ip", IP=V.ip(rng, self.fake, self.cy.next("ip", IP_TAGS)))
            self.join(u4)
        self.say(u4, "email", EMAIL=self.email_v)
        self.join(u4)
        u4.lit(rng.choice(L["thanks"]))
        a5 = Msg()
        self.say(a5, "a_info")
        self.agent_sig(a5)
        return [("user", u0), ("assistant", a1), ("user", u2), ("assistant", a3), ("user", u4), ("assistant", a5)]

    def user_signature(self, m: Msg, full: bool = True) -> None:
        rng, L = self.rng, self.L
        m.lit("\n\n" + rng.choice(L["sig_close"]) + "\n")
        m.val(self.name("name_signature") if full else self.name("name_signature", first_only=True))
        if full:
            v = self.phone()
            m.lit("\n" + ("" if v.tag in _NOCUE else rng.choice([L["form"]["phone"] + ": ", "M: ", "Tel. "])))
            m.val(v)
            if rng.random() < 0.5:
                m.lit("\n")
                m.val(V.Val(self.email_v.text, pii.EMAIL_ADDRESS, "email_signature"))
            if rng.random() < 0.5:
                m.lit("\n")
                m.val(self.address(rng.choice(["address_multiline", "address_inline"])
                                   if self.locale not in ("en-US", "en-GB") else None))

    def email(self) -> list[tuple[str, Msg]]:
        rng, L = self.rng, self.L
        u0 = self.user_msg()
        u0.lit(rng.choice(L["hello"]) + ",\n\n")
        if rng.random() < 0.5:
            self.say(u0, "intro", NAME=self.name("name_intro"))
            self.join(u0)
        self.say(u0, "tech" if self.tech else "problem")
        self.join(u0)
        self.phone_statement(u0)
        self.join(u0)
        self.address_statement(u0)
        self.user_signature(u0)
        a1 = self.agent_reply("\n\n")
        self.agent_sig(a1, ext_phone=True)
        a1.lit("\n\n")
        self.say(a1, "wrote", NAME=self.name("name_quoted_header"),
                 EMAIL=V.Val(self.email_v.text, pii.EMAIL_ADDRESS, "email_quoted_header"))
        a1.lit("\n")
        a1.extend(quoted(u0))
        u2 = self.user_msg()
        u2.lit(rng.choice([h for h in L["hello"] if not h.endswith(",")]) + " ")
        u2.val(self.name("name_greeting", first_only=True, agent=True))
        u2.lit(",\n\n")
        self.say(u2, "dob", DOB=self.dob())
        self.join(u2)
        v, label = self.nid()
        self.say(u2, "nid", NID=v, NIDLABEL=label)
        self.join(u2)
        self.payment_statement(u2)
        if self.tech:
            self.join(u2)
            self.say(u2, "ip", IP=V.ip(rng, self.fake, self.cy.next("ip", IP_TAGS)))
        self.user_signature(u2, full=False)
        u2.lit("\n\n")
        self.say(u2, "wrote", NAME=self.name("name_quoted_header", agent=True),
                 EMAIL=V.Val(self.agent_email, pii.EMAIL_ADDRESS, "email_quoted_header"))
        u2.lit("\n")
        u2.extend(quoted(a1))
        a3 = Msg()
        self.agent_hello(a3)
        a3.lit(" ")
        self.say(a3, "a_info")
        self.agent_sig(a3)
        return [("user", u0), ("assistant", a1), ("user", u2), ("assistant", a3)]

    def form(self) -> list[tuple[str, Msg]]:
        rng, L, f = self.rng, self.L, self.L["form"]
        u0 = self.user_msg()
        u0.lit(rng.choice(L["hello"]) + ", ")
        self.say(u0, "problem")
        u0.lit("\n\n")
        sep = rng.choice([": ", ":\t", " - "])
        fields = [("name", self.name("name_form")), ("phone", self.phone()),
                  ("email", V.Val(self.email_v.text, pii.EMAIL_ADDRESS, "email_form")),
                  ("addr", self.address("address_form")), ("dob", self.dob()), ("order", self.look("order"))]
        for key, v in fields:
            u0.lit(f[key] + sep + ("\n" if isinstance(v, V.Val) and "\n" in v.text else ""))
            u0.put(v)
            u0.lit("\n")
        u0.lit(f["iban"] + sep)
        self.payment_statement(u0, bare=True)
        u0.lit("\n")
        v, label = self.nid()
        u0.lit(label + sep)
        u0.val(v)
        a1 = Msg()
        self.agent_hello(a1)
        a1.lit(" ")
        self.say(a1, "a_info")
        self.agent_sig(a1)
        u2 = self.user_msg()
        u2.lit(rng.choice(L["thanks"]))
        return [("user", u0), ("assistant", a1), ("user", u2)]

    def voice(self) -> list[tuple[str, Msg]]:
        rng, L = self.rng, self.L
        fill = VOICE_FILLERS[self.locale.split("-")[0]]
        u0 = self.user_msg(lower=True)
        u0.lit(rng.choice(fill) + " " + rng.choice(L["hello"]) + " ")
        self.say(u0, "intro", NAME=self.name("name_lowercase"))
        u0.lit(" " + rng.choice(fill) + " ")
        self.say(u0, "problem")
        a1 = Msg()
        self.agent_hello(a1)
        a1.lit(" ")
        a1.lit(rng.choice(L["a_ask"]))
        u2 = self.user_msg(lower=True)
        u2.lit(rng.choice(fill) + " ")
        self.phone_statement(u2)
        u2.lit(" " + rng.choice(fill) + " ")
        self.say(u2, "dob", DOB=self.dob())
        u2.lit(" ")
        self.address_statement(u2, self.address(self.rng.choice(["address_inline", "address_inline", None])))
        a3 = Msg()
        self.say(a3, "a_info")
        self.agent_sig(a3)
        return [("user", u0), ("assistant", a1), ("user", u2), ("assistant", a3)]


_BASE_TIME = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def _record(i: int, seed: int, locale: str, kind: str, msgs: list[tuple[str, Msg]], rng: random.Random) -> dict:
    t = _BASE_TIME + dt.timedelta(seconds=rng.randrange(86400 * 120))
    out_msgs = []
    for role, m in msgs:
        msg = {"role": role, "content": m.text, "ts": t.isoformat().replace("+00:00", "Z")}
        if role == "assistant":
            msg.update(latency_ms=float(rng.randint(300, 4000)), input_tokens=rng.randint(200, 3000),
                       output_tokens=rng.randint(20, 400), cost_usd=round(rng.random() / 500, 6),
                       action=rng.choice(["lookup_order", "update_contact", "refund", "escalate", None]))
        out_msgs.append(msg)
        t += dt.timedelta(seconds=rng.randint(20, 3600 if kind == "email" else 240))
    return {
        "conversation_id": f"uc{seed}-{i:05d}",
        "user_id": f"acct-{rng.randrange(10**9):09d}",
        "started_at": out_msgs[0]["ts"],
        "locale": locale,
        "channel": {"form": "chat"}.get(kind, kind),
        "agent_version": rng.choice(["support-bot@2.3.1", "support-bot@2.4.0"]),
        "model": "acme-llm-2026-08-07",
        "messages": out_msgs,
        "outcome": rng.choice(["resolved", "resolved", "escalated", "abandoned", None]),
        "csat": rng.choice([None, 1, 2, 3, 4, 5, 5]),
        "thumb": rng.choice([None, "up", "down"]),
    }


def generate(n_conversations: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``n_conversations`` support conversations (contract schema), their PII truth and their
    non-PII tokens; see the module docstring."""
    cycles = Cycles()
    rows, truth, looks = [], [], []
    nl = len(LOCALES)
    for i in range(n_conversations):
        locale = LOCALES[i % nl]
        kind = KINDS[(i + 2 * (i // nl)) % len(KINDS)]
        c = Conv(i, seed, locale, cycles)
        msgs = getattr(c, kind)()
        rec = _record(i, seed, locale, kind, msgs, c.rng)
        row = normalise(rec)
        row["source"], row["source_row"] = "unseen", i
        rows.append(row)
        cid = rec["conversation_id"]
        for mi, (_, m) in enumerate(msgs):
            text = m.text
            for s, e, v in m.truth:
                truth.append({"conversation_id": cid, "message_index": mi, "field": "content", "start": s, "end": e,
                              "entity_type": v.entity_type, "value": text[s:e], "locale": locale,
                              "format_tag": v.tag, "parts": list(v.parts), "quote_depth": v.quote})
            for s, e, k in m.looks:
                looks.append({"conversation_id": cid, "message_index": mi, "field": "content", "start": s, "end": e,
                              "kind": k, "value": text[s:e], "lookalike": k != "word"})
    tschema = {"conversation_id": pl.String, "message_index": pl.Int64, "field": pl.String, "start": pl.Int64,
               "end": pl.Int64, "entity_type": pl.String, "value": pl.String, "locale": pl.String,
               "format_tag": pl.String, "parts": pl.List(pl.String), "quote_depth": pl.Int64}
    lschema = {"conversation_id": pl.String, "message_index": pl.Int64, "field": pl.String, "start": pl.Int64,
               "end": pl.Int64, "kind": pl.String, "value": pl.String, "lookalike": pl.Boolean}
    return to_frame(rows), pl.DataFrame(truth, schema=tschema), pl.DataFrame(looks, schema=lschema)
