"""Masking benchmark: the project's masker vs Presidio's default configuration, same messages.

    python bench/masking.py --conversations 400 --seed 7

Builds a corpus with the synthetic generator (ground truth: every injected PII value with its
character offsets; look-alikes such as order numbers, SKUs, amounts and dates listed separately),
then, in one process:

1. **project masking** — ``Masker.mask_frame`` on the whole table: detection, fakes, user-id
   hashes, extras (timed after the model load: messages/s; peak RSS), then
   ``Masker.find_many`` on every message to score detection, ``residual_scan`` on the output and
   the ground-truth leak check (``agent_release.leaks``: truth values still present anywhere in
   their masked conversation, case-insensitive substring);
2. **Presidio default** — ``build_default_presidio()``: ``AnalyzerEngine`` defaults (all predefined
   recognizers, default score threshold 0, context enhancer) with the same spaCy pipeline,
   language ``"en"``, one ``analyze`` call per message (timed; peak RSS). Also reported at a 0.5
   score threshold, as a deployment would use it.

Matching rule (per message, character offsets in the raw text):

- a truth span is **found** if at least one finding, of any type, overlaps it
  (``finding.start < truth.end and truth.start < finding.end``) — for masking the label does not
  matter, only that the value gets replaced. ``recall = found / truth spans`` per truth type;
  ``covered`` additionally requires every character of the truth span to be inside findings
  (a partially masked value can still leak).
- a finding is a **true positive** if it overlaps some truth span (any type) in the same
  message; ``precision = true positives / findings`` per finding type (Presidio's types mapped to
  canonical: LOCATION → STREET_ADDRESS, DATE_TIME → DATE_OF_BIRTH, US_SSN/UK_NHS/... →
  NATIONAL_ID; everything else it reports, e.g. URL, ORGANIZATION, NRP, counts as OTHER).
- **look-alikes hit**: share of the generator's non-PII look-alikes (order/tracking/invoice/
  ticket numbers, SKUs, amounts, order dates, times) overlapped by a finding (lower is better).

Peak memory is the process RSS high-water mark sampled every 20 ms during each phase (psutil),
reported with the increase over the RSS at the start of the phase (models load inside the phase;
the project phase runs first, so it also pays for importing spaCy/Presidio). Both use the same
spaCy package; the project's masker runs only its NER component (see
``presidio_setup.nlp_engine``), the baseline the full pipeline as Presidio configures it.

The leak check matches values as substrings, so a short name inside an unrelated word ("Earl" in
"earlier", "Irma" in "firmar") counts as a leak although nothing leaked.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("AGENT_RELEASE_DEMO", "1")

import polars as pl  # noqa: E402

from agent_release import pii  # noqa: E402
from agent_release.contract import normalise, to_frame  # noqa: E402


class PeakRSS:
    """Samples this process's RSS in a background thread; ``peak_mb`` / ``delta_mb`` after exit."""

    def __init__(self, interval: float = 0.02):
        import psutil

        self._proc = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self.start_mb = self.peak_mb = 0.0

    def _rss(self) -> float:
        return self._proc.memory_info().rss / 2**20

    def _run(self):
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self._rss())
            time.sleep(self._interval)

    def __enter__(self):
        self.start_mb = self.peak_mb = self._rss()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak_mb = max(self.peak_mb, self._rss())

    @property
    def delta_mb(self) -> float:
        return self.peak_mb - self.start_mb


def build_corpus(n: int, seed: int):
    from agent_release.synth.logs import generate, pii_frame

    gen = generate(n, seed=seed)
    rows = []
    for i, rec in enumerate(gen.records):
        row = normalise(rec)
        row["source"], row["source_row"] = "bench", i
        rows.append(row)
    df = to_frame(rows)
    truth = pii_frame(gen)
    try:
        from agent_release.synth.logs import decoy_frame

        decoys = decoy_frame(gen)
    except ImportError:  # older generator without look-alikes
        decoys = truth.clear()
    return df, truth, decoys


def messages_of(df: pl.DataFrame) -> list[tuple[str, int, str, str]]:
    """(conversation_id, message_index, locale, content) for every message."""
    out = []
    for cid, loc, msgs in zip(df["conversation_id"], df["locale"], df["messages"]):
        for i, m in enumerate(msgs):
            out.append((cid, i, loc, m["content"] or ""))
    return out


def spans_by_message(frame: pl.DataFrame) -> dict[tuple[str, int], list[tuple[int, int, str]]]:
    out: dict[tuple[str, int], list[tuple[int, int, str]]] = defaultdict(list)
    for r in frame.iter_rows(named=True):
        out[(r["conversation_id"], r["message_index"])].append((r["start"], r["end"], r["entity_type"]))
    return out


def score(findings: dict[tuple[str, int], list[tuple[int, int, str]]], truth, decoys) -> dict:
    """Recall / coverage per truth type, precision per finding type, look-alike hit rate."""
    t_by = spans_by_message(truth)
    rec = defaultdict(lambda: [0, 0, 0])  # type -> [n, found, covered]
    for key, spans in t_by.items():
        fs = findings.get(key, [])
        for s, e, et in spans:
            hit = [f for f in fs if f[0] < e and s < f[1]]
            rec[et][0] += 1
            if hit:
                rec[et][1] += 1
                covered = set()
                for f in hit:
                    covered.update(range(max(s, f[0]), min(e, f[1])))
                if len(covered) == e - s:
                    rec[et][2] += 1
    prec = defaultdict(lambda: [0, 0])  # type -> [findings, tp]
    for key, fs in findings.items():
        ts = t_by.get(key, [])
        for s, e, et in fs:
            prec[et][0] += 1
            if any(s < te and ts_ < e for ts_, te, _ in ts):
                prec[et][1] += 1
    d_by = spans_by_message(decoys) if decoys.height else {}
    dec = defaultdict(lambda: [0, 0])
    for key, spans in d_by.items():
        fs = findings.get(key, [])
        for s, e, et in spans:
            dec[et][0] += 1
            if any(f[0] < e and s < f[1] for f in fs):
                dec[et][1] += 1
    return {"recall": dict(rec), "precision": dict(prec), "decoys": dict(dec)}


def run_project(df, msgs):
    from agent_release.masking import Masker

    masker = Masker(b"bench-key-0123456789abcdef")
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        masker.analyzer  # noqa: B018 — load spaCy + Presidio (timed separately)
        load = time.perf_counter() - t0
        t1 = time.perf_counter()
        masked, stats = masker.mask_frame(df)
        seconds = time.perf_counter() - t1
    found = masker.find_many([m[3] for m in msgs], [m[2] for m in msgs])
    findings = {(m[0], m[1]): [(f.start, f.end, f.entity_type) for f in fs] for m, fs in zip(msgs, found)}
    return findings, {"seconds": seconds, "load_seconds": load, "messages": stats.messages,
                      "peak_mb": mem.peak_mb, "delta_mb": mem.delta_mb, "masked": masked, "masker": masker}


def run_presidio_default(msgs):
    from agent_release.masking import DEFAULT_PRESIDIO_MAP, build_default_presidio
    from agent_release.masking.types import OTHER

    with PeakRSS() as mem:
        t0 = time.perf_counter()
        analyzer = build_default_presidio()
        load = time.perf_counter() - t0
        t1 = time.perf_counter()
        raw = [analyzer.analyze(text=m[3], language="en") if m[3].strip() else [] for m in msgs]
        seconds = time.perf_counter() - t1
    out_all, out_05 = {}, {}
    for m, rs in zip(msgs, raw):
        conv = [(r.start, r.end, DEFAULT_PRESIDIO_MAP.get(r.entity_type, OTHER), r.score) for r in rs]
        out_all[(m[0], m[1])] = [c[:3] for c in conv]
        out_05[(m[0], m[1])] = [c[:3] for c in conv if c[3] >= 0.5]
    return out_all, out_05, {"seconds": seconds, "load_seconds": load, "messages": len(msgs),
                             "peak_mb": mem.peak_mb, "delta_mb": mem.delta_mb}


def fmt_pct(num: int, den: int) -> str:
    return f"{100 * num / den:6.1f}%" if den else "     - "


def report(name: str, sc: dict, perf: dict | None) -> None:
    print(f"\n=== {name} ===")
    if perf:
        rate = perf["messages"] / perf["seconds"] if perf["seconds"] else float("nan")
        extra = f" (+{perf['load_seconds']:.1f}s model load)"
        print(f"throughput: {perf['messages']} messages in {perf['seconds']:.1f}s{extra} = {rate:.0f} messages/s")
        print(f"peak RSS: {perf['peak_mb']:.0f} MB (+{perf['delta_mb']:.0f} MB during the phase)")
    types = list(pii.ALL) + sorted(set(sc["precision"]) - set(pii.ALL))
    print(f"{'type':<16}{'truth':>7}{'recall':>9}{'covered':>9}{'findings':>10}{'precision':>11}")
    tn = tf = tc = fn = ftp = 0
    for t in types:
        n, f, c = sc["recall"].get(t, [0, 0, 0])
        k, tp = sc["precision"].get(t, [0, 0])
        if not (n or k):
            continue
        tn, tf, tc, fn, ftp = tn + n, tf + f, tc + c, fn + k, ftp + tp
        print(f"{t:<16}{n:>7}{fmt_pct(f, n):>9}{fmt_pct(c, n):>9}{k:>10}{fmt_pct(tp, k):>11}")
    print(f"{'ALL':<16}{tn:>7}{fmt_pct(tf, tn):>9}{fmt_pct(tc, tn):>9}{fn:>10}{fmt_pct(ftp, fn):>11}")
    if sc["decoys"]:
        parts = [f"{t} {fmt_pct(h, n).strip()}" for t, (n, h) in sorted(sc["decoys"].items())]
        n_all = sum(v[0] for v in sc["decoys"].values())
        h_all = sum(v[1] for v in sc["decoys"].values())
        print(f"look-alikes hit (lower is better): {fmt_pct(h_all, n_all).strip()} of {n_all} — " + ", ".join(parts))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--conversations", type=int, default=400)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--skip-default", action="store_true", help="only the project's masker")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    df, truth, decoys = build_corpus(args.conversations, args.seed)
    msgs = messages_of(df)
    print(f"corpus: {df.height} conversations, {len(msgs)} messages, {truth.height} PII spans, "
          f"{decoys.height} look-alikes (seed {args.seed}, built in {time.perf_counter() - t0:.1f}s)")

    findings, perf = run_project(df, msgs)
    report("project masking (Masker.mask_frame; detection via Masker.find_many)", score(findings, truth, decoys), perf)
    from agent_release.masking import residual_scan

    residual = residual_scan(perf["masked"], perf["masker"])
    print(f"residual scan of the masked output: {residual.height} structured findings outside surrogate spans")
    try:
        from agent_release.leaks import ground_truth_leaks

        leaks = ground_truth_leaks(perf["masked"], truth, df)
        by_type = dict(leaks.group_by("entity_type").len().iter_rows()) if leaks.height else {}
        print(f"ground-truth values still present in their masked conversation (substring, any case): "
              f"{leaks.height} of {truth.height + df.height} {by_type or ''}")
    except ImportError:
        pass

    if not args.skip_default:
        f_all, f_05, perf_d = run_presidio_default(msgs)
        report("Presidio default configuration (threshold 0, as shipped)", score(f_all, truth, decoys), perf_d)
        report("Presidio default configuration, findings with score >= 0.5", score(f_05, truth, decoys), None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
