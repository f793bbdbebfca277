"""How the independent residual scan does behind the real masker, on corpora the detectors were
not tuned on:

- a small hand-written corpus (below): raw conversations in 13 languages with their PII values
  and look-alikes, masked by :class:`Masker`; the values the masker leaves are what the scan must
  flag, anything else it flags is a false alarm;
- the independent corpus of ``agent_release_tests/unseen_corpus`` (``generate(n, seed)``), when
  it is there;
- the project's own clean synthetic traffic, masked: the false alarms that would block a day.

``python -m agent_release_tests.test_residual_independent_corpus [n [seed ...]]`` prints the
measurements (n conversations of the unseen and the synthetic corpus, default 300; synthetic
seeds, default 20261215).
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from datetime import UTC, datetime

import polars as pl
import pytest

from agent_release.contract import normalise, to_frame
from agent_release.masking.residual import independent_residual_scan

KEY = b"test-masking-key-0123456789"
TS = datetime(2026, 11, 2, 14, 3, tzinfo=UTC).isoformat().replace("+00:00", "Z")

# (locale, user messages, PII values in them, look-alikes in them). Written for this test, in
# formats and languages the synthetic generator does not produce.
CORPUS = [
    ("en-US", ["Hi, this is about order 98-0116. You can reach me at (212) 555-0147 ext. 31 after 5pm."],
     ["(212) 555-0147"], ["98-0116"]),
    ("en-GB", ["My name is Siobhan Fitzgerald-Hart, account under my maiden name.",
               "Flat 4, 22 Kingsley Road, Leeds LS6 2AB is where it should go."],
     ["Siobhan Fitzgerald-Hart", "22 Kingsley Road", "LS6 2AB"], []),
    ("en-US", ["Routing is fine but wire to GB00 WEST 1234 5698 7654 32 please", "invoice INV-2026-881100"],
     ["GB00 WEST 1234 5698 7654 32"], ["INV-2026-881100"]),
    ("es-ES", ["Buenas, me llamo Maite Etxeberria y vivo en Calle Iparraguirre 14, 48009 Bilbao.",
               "El pedido es el 4471-22, pagado con 39,90 €."],
     ["Maite Etxeberria", "Calle Iparraguirre 14", "48009 Bilbao"], ["4471-22", "39,90 €"]),
    ("es-MX", ["Mi cel es 55 1234 5678 ext 9 y mi CURP GOMC850312HDFRRR09"],
     ["55 1234 5678", "GOMC850312HDFRRR09"], []),
    ("fr-FR", ["Je m'appelle Anne-Sophie Lefèvre, mon numéro : 06 12 34 56 78.",
               "Facture FA-2026-00931 du 03/11/2026."],
     ["Anne-Sophie Lefèvre", "06 12 34 56 78"], ["FA-2026-00931", "03/11/2026"]),
    ("de-DE", ["Ich heiße Björn Käßmann. Neue Anschrift: Am Sonnenhang 7, 79100 Freiburg.",
               "Telefon 0761 / 12 34 56 7, Sendungsnummer 00340434161234567890"],
     ["Björn Käßmann", "Am Sonnenhang 7", "79100 Freiburg", "0761 / 12 34 56 7"], ["00340434161234567890"]),
    ("pt-BR", ["Meu nome é Thiago Albuquerque, CPF 529.982.247-25, moro na Rua Augusta, 1500 - São Paulo",
               "Pedido 883412, valor R$ 1.249,00"],
     ["Thiago Albuquerque", "529.982.247-25", "Rua Augusta, 1500"], ["883412", "R$ 1.249,00"]),
    ("it-IT", ["Buongiorno, sono Giuseppe Esposito, ordine 77120 del 2 novembre.",
               "Il mio indirizzo è via Toledo 156, 80134 Napoli. Cellulare 347 123 4567."],
     ["Giuseppe Esposito", "via Toledo 156", "80134 Napoli", "347 123 4567"], ["77120", "2 novembre"]),
    ("it-IT", ["Mi chiamo Chiara Ferraro, codice fiscale FRRCHR90A41H501W"],
     ["Chiara Ferraro", "FRRCHR90A41H501W"], []),
    ("nl-NL", ["Hallo, ik ben Sanne Bakker. Mijn adres is Prinsengracht 263, 1016 GV Amsterdam.",
               "Bestelling 2026-55411, bel me op 06-12345678"],
     ["Sanne Bakker", "Prinsengracht 263", "1016 GV Amsterdam", "06-12345678"], ["2026-55411"]),
    ("nl-NL", ["mijn naam is Joost van den Berg, IBAN NL00 RABO 0123 4567 89"],
     ["Joost van den Berg", "NL00 RABO 0123 4567 89"], []),
    ("pl-PL", ["Dzień dobry, nazywam się Agnieszka Lewandowska, PESEL 90010112345.",
               "Mój adres: ul. Marszałkowska 84, 00-514 Warszawa"],
     ["Agnieszka Lewandowska", "90010112345", "Marszałkowska 84", "00-514 Warszawa"], []),
    ("pl-PL", ["Jestem Tomasz Zieliński, zamówienie 55120, telefon +48 601 234 567"],
     ["Tomasz Zieliński", "+48 601 234 567"], ["55120"]),
    ("sv-SE", ["Hej, jag heter Ingrid Lindqvist. Personnummer 850312-1234.",
               "Adressen är Drottninggatan 53, 111 21 Stockholm"],
     ["Ingrid Lindqvist", "850312-1234", "Drottninggatan 53", "111 21 Stockholm"], []),
    ("da-DK", ["Hej, jeg hedder Rasmus Kjærgaard, min adresse er Vesterbrogade 12, 1620 København V"],
     ["Rasmus Kjærgaard", "Vesterbrogade 12", "1620 København"], []),
    ("nb-NO", ["Hei, jeg heter Kari Haugland, ring meg på 912 34 567", "Ordre 400123 kom aldri"],
     ["Kari Haugland", "912 34 567"], ["400123"]),
    ("fi-FI", ["Hei, nimeni on Mikko Heikkinen, henkilötunnus 131052-308T",
               "Osoite: Hämeenkatu 15, 33100 Tampere"],
     ["Mikko Heikkinen", "131052-308T", "Hämeenkatu 15", "33100 Tampere"], []),
    ("tr-TR", ["Merhaba, benim adım Elif Şahin, telefonum 0532 123 45 67",
               "Adresim: Bağdat Caddesi No 120, Kadıköy"],
     ["Elif Şahin", "0532 123 45 67", "Bağdat Caddesi"], []),
    ("en-US", ["Order 112-4455667-8899001 arrived broken. I'm Dwayne Okafor, born 07/04/1979."],
     ["Dwayne Okafor", "07/04/1979"], ["112-4455667-8899001"]),
    ("en-US", ["UPS says 1Z999AA10123456784 was delivered, my email is d.okafor@outlook.com"],
     ["d.okafor@outlook.com"], ["1Z999AA10123456784"]),
    ("de-DE", ["Mit freundlichen Grüßen\nWaltraud Obermeier"], ["Waltraud Obermeier"], []),
]


def _frame(records: list[dict], source: str) -> pl.DataFrame:
    return to_frame([{**normalise(rec), "source": source, "source_row": i} for i, rec in enumerate(records)])


def corpus_frame(corpus=CORPUS) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The raw frame and its truth (conversation_id, message_index, value, kind: pii | lookalike)."""
    recs, truth = [], []
    for n, (loc, msgs, values, looks) in enumerate(corpus):
        cid = f"c-hand-{n:03d}"
        recs.append({"conversation_id": cid, "user_id": f"cust-{n}", "started_at": TS, "locale": loc,
                     "agent_version": "bot@1", "messages": [{"role": "user", "content": m, "ts": TS} for m in msgs]})
        for kind, items in (("pii", values), ("lookalike", looks)):
            for v in items:
                i = next(i for i, m in enumerate(msgs) if v in m)
                truth.append({"conversation_id": cid, "message_index": i, "value": v, "kind": kind})
    return _frame(recs, "hand"), pl.DataFrame(truth)


def measure(masked: pl.DataFrame, truth: pl.DataFrame) -> dict:
    """Truth values (kind "pii") left in their masked message outside every surrogate, whole or
    one of their ``parts`` (a surname, a postcode) where the truth has them = leaked;
    caught = leaked values a finding overlaps; false alarms = findings overlapping no leaked value
    (look-alikes flagged are counted apart, as ``lookalikes_flagged``)."""
    findings = independent_residual_scan(masked)
    by_msg: dict[tuple[str, int], list[tuple[int, int]]] = {}
    for r in findings.filter(pl.col("field") == "content").iter_rows(named=True):
        by_msg.setdefault((r["conversation_id"], r["message_index"]), []).append((r["start"], r["end"]))
    rows = {r["conversation_id"]: r for r in masked.iter_rows(named=True)}
    leaked = caught = look_n = look_hit = 0
    used: set[tuple[str, int, int, int]] = set()
    missed = []
    for t in truth.iter_rows(named=True):
        row = rows.get(t["conversation_id"])
        if row is None:
            continue
        i = t["message_index"]
        text = row["messages"][i]["content"] or ""
        spans = [(s["start"], s["end"]) for s in row["masked_spans"] if s["message_index"] == i]
        pieces = [t["value"], *(t.get("parts") or [])]  # parts: sub-values whose survival alone leaks
        occ = [m.span() for p in pieces for m in re.finditer(r"(?<!\w)" + re.escape(p) + r"(?!\w)", text, re.I)
               if not any(s <= m.start() and m.end() <= e for s, e in spans)]
        if not occ:
            continue
        hits = [h for h in by_msg.get((t["conversation_id"], i), []) if any(h[0] < e and s < h[1] for s, e in occ)]
        if t["kind"] == "pii":
            leaked += 1
            caught += bool(hits)
            if not hits:
                missed.append((t["conversation_id"], i, len(t["value"])))
            used.update((t["conversation_id"], i, *h) for h in hits)
        else:
            look_n += 1
            look_hit += bool(hits)
    content = findings.filter(pl.col("field") == "content")
    false_alarms = sum((r["conversation_id"], r["message_index"], r["start"], r["end"]) not in used
                       for r in content.iter_rows(named=True)) + (findings.height - content.height)
    return {"truth_values": int((truth["kind"] == "pii").sum()), "leaked": leaked, "caught": caught,
            "catch_rate": caught / leaked if leaked else None, "findings": findings.height,
            "false_alarms": false_alarms, "lookalikes_left": look_n, "lookalikes_flagged": look_hit,
            "by_kind": dict(Counter(findings["kind"].to_list())), "missed": missed}


@pytest.fixture(scope="module")
def masker():
    from agent_release.masking import Masker

    return Masker(KEY)


def test_hand_written_corpus_what_the_masker_leaves_is_flagged_and_nothing_else(masker):
    raw, truth = corpus_frame()
    masked, _ = masker.mask_frame(raw)
    m = measure(masked, truth)
    # a masker that did nothing: every value is left, and the scan must see nearly all of them
    unmasked = measure(raw.with_columns(pl.Series("masked_spans", [[]] * raw.height,
                                                  dtype=masked.schema["masked_spans"])), truth)
    assert unmasked["leaked"] == unmasked["truth_values"] and unmasked["catch_rate"] == 1.0, unmasked["missed"]
    assert unmasked["lookalikes_flagged"] == 0
    if m["leaked"]:
        assert m["catch_rate"] == 1.0, m["missed"]
    assert m["false_alarms"] == 0, m
    assert m["lookalikes_flagged"] == 0


def _synthetic_masked(masker, n: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    logs = pytest.importorskip("agent_release.synth.logs")
    gen = logs.generate(n, seed=seed)
    masked, _ = masker.mask_frame(_frame(gen.records, "gen"))
    return masked, logs.pii_frame(gen)


def synthetic_measure(masked: pl.DataFrame, truth: pl.DataFrame) -> dict:
    """Findings on masked synthetic traffic, split into leaks (every word of the flagged text is a
    word of a PII value injected into that message: the masker left part of it, e.g. a surname,
    which the whole-value ground-truth check does not see) and false alarms (the rest)."""
    findings = independent_residual_scan(masked)
    words: dict[tuple[str, int], set[str]] = {}
    for t in truth.iter_rows(named=True):
        words.setdefault((t["conversation_id"], t["message_index"]), set()).update(
            re.findall(r"\w+", t["value"].lower()))
    rows = {r["conversation_id"]: r for r in masked.iter_rows(named=True)}
    leaks = 0
    for f in findings.iter_rows(named=True):
        if f["field"] != "content":
            continue
        piece = rows[f["conversation_id"]]["messages"][f["message_index"]]["content"][f["start"]:f["end"]]
        leaks += set(re.findall(r"\w+", piece.lower())) <= words.get((f["conversation_id"], f["message_index"]), set())
    return {"conversations": masked.height, "findings": findings.height, "partial_leaks": leaks,
            "false_alarms": findings.height - leaks, "by_kind": dict(Counter(findings["kind"].to_list()))}


def test_clean_synthetic_traffic_raises_no_false_alarm(masker):
    """Masked output where the masker did its job must not block a day: seed and size not used
    while the declared non-PII list was written. (Findings that are what the masker left of an
    injected value are leaks, not false alarms.)"""
    m = synthetic_measure(*_synthetic_masked(masker, 300, seed=20261215))
    assert m["false_alarms"] == 0, m


def _unseen():
    try:
        from agent_release_tests import unseen_corpus
    except ImportError:
        return None
    return unseen_corpus if hasattr(unseen_corpus, "generate") else None


@pytest.mark.skipif(_unseen() is None, reason="agent_release_tests/unseen_corpus not there (yet)")
def test_unseen_corpus_most_leaked_values_are_flagged(masker):
    raw, truth = unseen_frames(_unseen(), 120, seed=5)
    masked, _ = masker.mask_frame(raw)
    m = measure(masked, truth)
    if m["leaked"]:
        # the masker now leaves few values (27 at this size), so the rate is judged with sampling
        # slack: at least 85% caught (measured 95-97% on 300-conversation corpora, seed 23 held out)
        assert m["caught"] >= 0.85 * m["leaked"], m
    assert m["false_alarms"] <= max(1, m["findings"] // 10), m


def unseen_frames(mod, n: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(raw frame, truth in the shape :func:`measure` reads: PII values with their parts, and the
    corpus's look-alikes) from the unseen corpus."""
    convs, truth, looks = mod.generate(n, seed)
    t = pl.concat([
        truth.select("conversation_id", "message_index", "value", "parts", kind=pl.lit("pii")),
        looks.filter(pl.col("lookalike")).select("conversation_id", "message_index", "value",
                                                 parts=pl.lit([], pl.List(pl.String)), kind=pl.lit("lookalike")),
    ])
    return convs, t


def main(argv: list[str]) -> int:
    from agent_release.masking import Masker

    n = int(argv[0]) if argv else 300
    seeds = [int(x) for x in argv[1:]] or [20261215]
    masker = Masker(KEY)
    raw, truth = corpus_frame()
    masked, _ = masker.mask_frame(raw)
    print("hand-written corpus:", {k: v for k, v in measure(masked, truth).items() if k != "missed"})
    mod = _unseen()
    if mod is not None:
        raw, truth = unseen_frames(mod, n, seed=5)
        masked, _ = masker.mask_frame(raw)
        print(f"unseen corpus (n={n}, seed=5):", {k: v for k, v in measure(masked, truth).items() if k != "missed"})
    for seed in seeds:
        print(f"synthetic (n={n}, seed={seed}):", synthetic_measure(*_synthetic_masked(masker, n, seed=seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
