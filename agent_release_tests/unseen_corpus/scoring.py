"""Scoring a masked corpus against its ground truth: leaks per entity / format tag / locale,
partial leaks, and over-masking of non-PII tokens. Works on the unseen corpus and, with
``raw=``, on any corpus whose truth has conversation_id, message_index, start, end,
entity_type and value (the project's own corpus included).

Leak rule (a value is **leaked** when it is still present whole in its masked conversation):

- the conversation's message contents are joined, the masker's own fakes (``masked_spans``, when
  the masked frame has them) blanked out — a fake that happens to contain a real value is a
  coincidence of the fake pools, as in :mod:`agent_release.leaks`;
- **word rule** (every type): the value, case-insensitively, as a whole token
  (:func:`agent_release.leaks.word_pattern`: "Earl" does not match inside "earlier");
- **digit rule** (phone, card, IBAN/bank account, national id): also leaked when the value with
  everything but letters and digits removed (≥ 6 characters left) is a substring of the
  conversation with the same removal — "DE31 6907 3662 …" left as "DE3169073662…", or a phone
  number re-punctuated, still counts.
- **partial leak**: the whole value is gone but one of its ``parts`` is still there by the word
  rule: for an address its street line, postcode or town (``postcode_or_town`` counts only those
  two), for a full name the surname, for a phone with an extension the number without it.

Over-masking: every message's raw word tokens (``\\w+``) are aligned with the masked message's
tokens (``difflib.SequenceMatcher``, no junk heuristic); a raw token outside every truth span
that is not in a matching block was changed. Reported for look-alikes (a look-alike counts as
changed when any of its tokens is), for ordinary words, and for both together (the ≤ 1% goal).
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict

import polars as pl

from agent_release import pii
from agent_release.leaks import word_pattern

WORD = re.compile(r"\w+")
DIGIT_RULE_TYPES = (pii.PHONE_NUMBER, pii.CREDIT_CARD, pii.IBAN_CODE, pii.NATIONAL_ID)
_NORM = re.compile(r"[^0-9a-z]")

#: (goal, entity types, max leak share); structured identifiers must not leak at all
LEAK_GOALS = (
    ("0 phone numbers left", (pii.PHONE_NUMBER,), 0.0),
    ("0 email addresses left", (pii.EMAIL_ADDRESS,), 0.0),
    ("0 card numbers left", (pii.CREDIT_CARD,), 0.0),
    ("0 IBANs / bank accounts left", (pii.IBAN_CODE,), 0.0),
    ("0 SSNs / national ids left", (pii.NATIONAL_ID,), 0.0),
    ("0 IP addresses left", (pii.IP_ADDRESS,), 0.0),
    ("names <= 0.5% of values", (pii.PERSON,), 0.005),
    ("addresses <= 0.5% of values", (pii.STREET_ADDRESS,), 0.005),
)
OVERMASK_GOAL = 0.01


def _norm(s: str) -> str:
    return _NORM.sub("", s.lower())


_PAT_CACHE: dict[str, re.Pattern] = {}


def _present(value: str, blob: str) -> bool:
    p = _PAT_CACHE.get(value)
    if p is None:
        p = _PAT_CACHE[value] = re.compile(word_pattern(value))
    return p.search(blob) is not None


def _blank(contents: list[str], spans) -> list[str]:
    out = list(contents)
    for sp in sorted(spans or [], key=lambda x: -x["start"]):
        i = sp["message_index"]
        if 0 <= i < len(out):
            c = out[i]
            out[i] = c[:sp["start"]] + " " * (sp["end"] - sp["start"]) + c[sp["end"]:]
    return out


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def _raw_tokens(key, raw_texts, truth_rows, look_rows) -> list[tuple[int, str]]:
    """(position, token) of a raw message: from its text when known, else rebuilt from the
    truth and non-PII rows (which together cover every word token of an unseen-corpus message)."""
    if raw_texts is not None and key in raw_texts:
        return [(m.start(), m.group()) for m in WORD.finditer(raw_texts[key])]
    toks = []
    for r in truth_rows + look_rows:
        toks += [(r["start"] + m.start(), m.group()) for m in WORD.finditer(r["value"])]
    return sorted(set(toks))


def measure(masked_df: pl.DataFrame, truth: pl.DataFrame, lookalikes: pl.DataFrame,
            raw: pl.DataFrame | None = None) -> dict:
    """Leak and over-masking figures of ``masked_df`` (``Masker.mask_frame`` output of the corpus
    that ``truth`` / ``lookalikes`` describe); see the module docstring for the rules.

    ``lookalikes`` needs conversation_id, message_index, start, end, value and kind; a boolean
    ``lookalike`` column marks which rows are look-alikes (the rest: ordinary words), without it
    every row is a look-alike. ``raw`` (the unmasked frame) is needed only when ``lookalikes``
    does not list the ordinary words."""
    cols = ["conversation_id", "locale", "messages"] + (["masked_spans"] if "masked_spans" in masked_df.columns else [])
    masked_msgs: dict[tuple[str, int], str] = {}
    blob: dict[str, str] = {}
    nblob: dict[str, str] = {}
    conv_locale: dict[str, str] = {}
    for r in masked_df.select(cols).iter_rows(named=True):
        contents = [(m["content"] or "") for m in (r["messages"] or [])]
        for i, c in enumerate(contents):
            masked_msgs[(r["conversation_id"], i)] = c
        # not lower-cased: the pattern is case-insensitive, and str.lower() changes lengths ("İ")
        b = "\n".join(_blank(contents, r.get("masked_spans")))
        blob[r["conversation_id"]] = b
        nblob[r["conversation_id"]] = _norm(b)
        conv_locale[r["conversation_id"]] = r["locale"]

    truth_rows = truth.to_dicts()
    by_entity = defaultdict(lambda: [0, 0, 0])  # n, leaked, partial
    by_tag = defaultdict(lambda: [0, 0, 0])
    by_locale = defaultdict(lambda: [0, 0, 0])
    by_locale_entity = defaultdict(lambda: [0, 0, 0])
    by_quote = defaultdict(lambda: [0, 0, 0])
    addr = {"n": 0, "postcode_or_town_left": 0, "any_part_left": 0}
    truth_by_msg = defaultdict(list)
    leaked_rows, partial_rows = [], []
    for row_no, t in enumerate(truth_rows):
        cid, et, v = t["conversation_id"], t["entity_type"], t["value"]
        truth_by_msg[(cid, t["message_index"])].append(t)
        b = blob.get(cid, "")
        leaked = _present(v, b)
        if not leaked and et in DIGIT_RULE_TYPES:
            nv = _norm(v)
            leaked = len(nv) >= 6 and nv in nblob.get(cid, "")
        parts = t.get("parts") or []
        part_left = [bool(p) and _present(p, b) for p in parts]
        partial = not leaked and any(part_left)
        if leaked:
            leaked_rows.append(row_no)
        elif partial:
            partial_rows.append(row_no)
        loc = t.get("locale") or conv_locale.get(cid, "?")
        accs = [by_entity[et], by_tag[t.get("format_tag") or "-"], by_locale[loc], by_locale_entity[(loc, et)]]
        if t.get("quote_depth") is not None:
            accs.append(by_quote[f"{et} quote depth {t['quote_depth']}"])
        for acc in accs:
            acc[0] += 1
            acc[1] += leaked
            acc[2] += partial
        if et == pii.STREET_ADDRESS:
            addr["n"] += 1
            if leaked or any(part_left):
                addr["any_part_left"] += 1
            # parts of an address: street line, postcode, town (in that order, when present)
            if leaked or any(part_left[1:3]):
                addr["postcode_or_town_left"] += 1

    # over-masking
    raw_texts = None
    if raw is not None:
        raw_texts = {}
        for cid, msgs in zip(raw["conversation_id"].to_list(), raw["messages"].to_list()):
            for i, m in enumerate(msgs or []):
                raw_texts[(cid, i)] = m["content"] or ""
    look_rows = lookalikes.to_dicts() if lookalikes.height else []
    has_flag = "lookalike" in lookalikes.columns
    looks_by_msg = defaultdict(list)
    for r in look_rows:
        looks_by_msg[(r["conversation_id"], r["message_index"])].append(r)
    look_kind = defaultdict(lambda: [0, 0])  # kind -> [n, changed]
    tok = {"look_n": 0, "look_changed": 0, "word_n": 0, "word_changed": 0}
    keys = set(looks_by_msg) | set(truth_by_msg) | (set(raw_texts) if raw_texts is not None else set())
    for key in sorted(keys):
        if key not in masked_msgs:
            continue
        trs, lks = truth_by_msg.get(key, []), looks_by_msg.get(key, [])
        raw_toks = _raw_tokens(key, raw_texts, trs, lks)
        if not raw_toks:
            continue
        masked_toks = WORD.findall(masked_msgs[key])
        sm = difflib.SequenceMatcher(None, [t for _, t in raw_toks], masked_toks, autojunk=False)
        kept = set()
        for a, _, size in sm.get_matching_blocks():
            kept.update(range(a, a + size))
        starts = [p for p, _ in raw_toks]
        changed_at = {p for i, p in enumerate(starts) if i not in kept}
        pii_spans = [(t["start"], t["end"]) for t in trs]
        look_spans = [(r["start"], r["end"], r["kind"]) for r in lks if (r.get("lookalike", True) if has_flag else True)]
        in_look = set()
        for s, e, kind in look_spans:
            ps = [p for p in starts if s <= p < e]
            in_look.update(ps)
            if not ps:
                continue
            ch = sum(p in changed_at for p in ps)
            look_kind[kind][0] += 1
            look_kind[kind][1] += ch > 0
            tok["look_n"] += len(ps)
            tok["look_changed"] += ch
        for p in starts:
            if p in in_look or any(s <= p < e for s, e in pii_spans):
                continue
            tok["word_n"] += 1
            tok["word_changed"] += p in changed_at

    def table(d):
        return {k: {"n": n, "leaked": lk, "leak_rate": _rate(lk, n), "partial": pt, "partial_rate": _rate(pt, n)}
                for k, (n, lk, pt) in sorted(d.items(), key=lambda kv: str(kv[0]))}

    n_look = sum(v[0] for v in look_kind.values())
    ch_look = sum(v[1] for v in look_kind.values())
    non_pii_n = tok["look_n"] + tok["word_n"]
    non_pii_ch = tok["look_changed"] + tok["word_changed"]
    over = {
        "lookalikes": {"n": n_look, "changed": ch_look, "rate": _rate(ch_look, n_look),
                       "by_kind": {k: {"n": n, "changed": c, "rate": _rate(c, n)} for k, (n, c) in sorted(look_kind.items())}},
        "lookalike_tokens": {"n": tok["look_n"], "changed": tok["look_changed"],
                             "rate": _rate(tok["look_changed"], tok["look_n"])},
        "words": {"n": tok["word_n"], "changed": tok["word_changed"], "rate": _rate(tok["word_changed"], tok["word_n"])},
        "non_pii_tokens": {"n": non_pii_n, "changed": non_pii_ch, "rate": _rate(non_pii_ch, non_pii_n)},
    }
    goals = []
    for name, types, limit in LEAK_GOALS:
        n = sum(by_entity[t][0] for t in types if t in by_entity)
        lk = sum(by_entity[t][1] for t in types if t in by_entity)
        rate = _rate(lk, n)
        goals.append({"goal": name, "n": n, "leaked": lk, "measured": rate, "target": limit,
                      "pass": None if rate is None else rate <= limit})
    r = over["non_pii_tokens"]["rate"]
    goals.append({"goal": "over-masking <= 1% of non-PII tokens", "n": non_pii_n, "leaked": non_pii_ch,
                  "measured": r, "target": OVERMASK_GOAL, "pass": None if r is None else r <= OVERMASK_GOAL})
    return {
        "values": len(truth_rows),
        "by_entity": table(by_entity),
        "by_tag": table(by_tag),
        "by_locale": table(by_locale),
        "by_locale_entity": {f"{k[0]}/{k[1]}": v for k, v in table(by_locale_entity).items()},
        "by_quote_depth": table(by_quote),
        "address_partial": {**addr, "postcode_or_town_rate": _rate(addr["postcode_or_town_left"], addr["n"]),
                            "any_part_rate": _rate(addr["any_part_left"], addr["n"])},
        "overmask": over,
        "goals": goals,
        # positions in ``truth`` (row numbers, not values) of the leaked / partially leaked values
        "leaked_rows": leaked_rows,
        "partial_rows": partial_rows,
    }


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def report_lines(results: dict[str, dict], detail: str | None = None) -> list[str]:
    """Text tables: per-entity leak rates of every corpus side by side; per format tag and per
    locale for ``detail`` (a key of ``results``); over-masking; the goals with PASS / FAIL."""
    names = list(results)
    out = ["leaked = still present whole in the masked conversation (word rule; digit rule for structured ids); "
           "partial = whole value gone, a part (surname, street, postcode, town, number without extension) left"]
    head = f"{'entity':<16}" + "".join(f"{n + ' n':>14}{'leaked':>9}{'rate':>9}{'partial':>9}" for n in names)
    out.append(head)
    ents = sorted({e for r in results.values() for e in r["by_entity"]})
    for e in ents:
        row = f"{e:<16}"
        for n in names:
            c = results[n]["by_entity"].get(e)
            row += (f"{c['n']:>14}{c['leaked']:>9}{_pct(c['leak_rate']):>9}{_pct(c['partial_rate']):>9}" if c
                    else f"{'-':>14}{'':>9}{'':>9}{'':>9}")
        out.append(row)
    if detail and detail in results:
        r = results[detail]
        for title, key in (("format tag", "by_tag"), ("locale", "by_locale"),
                           ("entity and quote depth (0: own text, 1: in a quoted reply, 2: quote of a quote)",
                            "by_quote_depth")):
            if not r.get(key):
                continue
            out.append(f"\n{detail}: per {title}")
            w = max(24, *(len(k) + 2 for k in r[key]))
            out.append(f"{title.split(' (')[0]:<{w}}{'n':>6}{'leaked':>8}{'rate':>9}{'partial':>9}")
            for k, c in r[key].items():
                out.append(f"{k:<{w}}{c['n']:>6}{c['leaked']:>8}{_pct(c['leak_rate']):>9}{_pct(c['partial_rate']):>9}")
        a = r["address_partial"]
        out.append(f"{detail}: addresses with postcode or town left: {a['postcode_or_town_left']} of {a['n']} "
                   f"({_pct(a['postcode_or_town_rate'])}); any part (street, postcode, town) left: "
                   f"{a['any_part_left']} ({_pct(a['any_part_rate'])})")
    out.append("\nover-masking (non-PII tokens changed by the masker)")
    for n in names:
        o = results[n]["overmask"]
        kinds = ", ".join(f"{k} {_pct(v['rate'])}" for k, v in o["lookalikes"]["by_kind"].items())
        out.append(f"  {n}: look-alikes {o['lookalikes']['changed']}/{o['lookalikes']['n']} "
                   f"({_pct(o['lookalikes']['rate'])}; {kinds}); ordinary words {o['words']['changed']}/"
                   f"{o['words']['n']} ({_pct(o['words']['rate'])}); all non-PII tokens "
                   f"{o['non_pii_tokens']['changed']}/{o['non_pii_tokens']['n']} ({_pct(o['non_pii_tokens']['rate'])})")
    out.append("\ngoals (issue 15 item 8)")
    for n in names:
        for g in results[n]["goals"]:
            verdict = "n/a " if g["pass"] is None else ("PASS" if g["pass"] else "FAIL")
            out.append(f"  [{verdict}] {n:<8} {g['goal']:<40} measured {_pct(g['measured']):>8} "
                       f"({g['leaked']} of {g['n']}), target <= {_pct(g['target'])}")
    return out
