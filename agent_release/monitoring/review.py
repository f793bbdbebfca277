"""Weekly worst-1% review: rank last week's conversations by badness, export the worst 1% (masked
only) for people to read, record their labels, and turn labelled-good conversations into proposed
golden cases.

Badness score
-------------
Each conversation gets components in [0, 1], weighted and summed (:data:`WEIGHTS`); higher is worse:

=================  ======  =================================================================
component          weight  value
=================  ======  =================================================================
``low_csat``        3.0    CSAT 1 → 1.0, 2 → 0.75, 3 → 0.25, 4–5 or unrated → 0
``thumbs_down``     2.0    1 if the customer gave a thumbs down
``abandoned``       2.0    1 if the outcome is ``abandoned``
``escalated``       1.5    0.6 if ``escalated``; 1 when the hand-off to the human is incomplete
``safety``          4.0    1 if a safety incident is recorded (``extra_json.safety_incident``) or an
                           assistant reply trips the toxicity detector
``agent_error``     1.5    1 if an assistant turn carries an error
``latency``         1.0    slowest assistant turn ≥ the week's p99 turn latency → 1, ≥ p95 → 0.5
``tone``            1.0    share of assistant replies without a politeness marker in the locale's
                           language (``evals.scenarios.politeness_count``), minus 0.2, scaled to [0, 1]
=================  ======  =================================================================

Safety weighs most (one incident outranks any dissatisfaction), explicit customer signals (CSAT,
thumbs, abandoning) next, then operational signals. Ties break on a hash of the conversation id
(deterministic). The worst ``share`` (default 1%, at least one) of the week's conversations with a
score above 0 goes to ``monitoring.review_queue`` and to ``data/reports/review/<week>.html``.

Masked only: the source tables hold masked conversations (``masking.masked_conversations`` — the
production log export — or the masked live traffic); nothing is read from the raw zone. Before
export, an optional residual scan (the masking domain's ``residual_scan``) looks for structured
identifiers outside the masker's spans; a conversation with a finding is exported with its
transcript withheld.

Labels
------
Reviewers fill in the CSV written next to the HTML (or any CSV / JSONL with the same columns):
``conversation_id`` (required), ``label`` (``good`` = the agent handled it well despite the bad
signals, ``bad`` = the agent is at fault, ``unsure``), ``category`` (``wrong_fact``, ``wrong_action``,
``tone``, ``safety``, ``should_escalate``, ``latency``, ``customer``, ``other``), ``reviewer``, ``notes``.
:func:`record_labels` validates them against the review queue into ``monitoring.review_labels`` and
proposes every ``good`` conversation as a draft golden case (``evals.golden.propose_golden_cases``,
``status: proposed``), written to ``monitoring.golden_proposals`` and a JSONL file a reviewer
completes (facts, must_not_contain) and merges into the golden set.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

QUEUE = "monitoring.review_queue"
LABELS = "monitoring.review_labels"
PROPOSALS = "monitoring.golden_proposals"
WEIGHTS: dict[str, float] = {"low_csat": 3.0, "thumbs_down": 2.0, "abandoned": 2.0, "escalated": 1.5, "safety": 4.0,
                             "agent_error": 1.5, "latency": 1.0, "tone": 1.0}
LABEL_VALUES = ("good", "bad", "unsure")
CATEGORIES = ("wrong_fact", "wrong_action", "tone", "safety", "should_escalate", "latency", "customer", "other")
_CSAT = {1: 1.0, 2: 0.75, 3: 0.25}


def week_window(week: str) -> tuple[datetime, datetime]:
    start = datetime.fromisoformat(week)
    return start, start + timedelta(days=7)


def _extras(s: str | None) -> dict:
    if not s:
        return {}
    try:
        v = json.loads(s)
        return v if isinstance(v, dict) else {}
    except ValueError:
        return {}


def score_conversations(df: pl.DataFrame) -> pl.DataFrame:
    """Badness components, score and a readable reason per conversation (masked input)."""
    from agent_release.evals.detectors import toxicity
    from agent_release.evals.lang import locale_language
    from agent_release.evals.scenarios import politeness_count

    if df.is_empty():
        return pl.DataFrame(schema=SCORED_SCHEMA)
    turn_lat = [m.get("latency_ms") for msgs in df["messages"].to_list() for m in (msgs or [])
                if m.get("role") == "assistant" and m.get("latency_ms") is not None]
    p95 = p99 = math.inf
    if turn_lat:
        s = sorted(turn_lat)
        p95 = s[min(len(s) - 1, int(0.95 * len(s)))]
        p99 = s[min(len(s) - 1, int(0.99 * len(s)))]
    rows = []
    for r in df.iter_rows(named=True):
        ex = _extras(r.get("extra_json"))
        msgs = [m for m in (r.get("messages") or []) if m.get("role") == "assistant"]
        lang = locale_language(r.get("locale") or "en-US")
        texts = [m.get("content") or "" for m in msgs]
        placeholder = all(t.startswith("(") and t.endswith(")") for t in texts) if texts else True
        toxic = any(not toxicity(t).passed for t in texts) if not placeholder else False
        safety = 1.0 if (str(ex.get("safety_incident", "0")) in ("1", "true", "True") or toxic) else 0.0
        comp = {
            "low_csat": _CSAT.get(r.get("csat"), 0.0),
            "thumbs_down": 1.0 if r.get("thumb") == "down" else 0.0,
            "abandoned": 1.0 if r.get("outcome") == "abandoned" else 0.0,
            "escalated": ((1.0 if ex.get("handoff") == "incomplete" else 0.6)
                          if r.get("outcome") == "escalated" else 0.0),
            "safety": safety,
            "agent_error": 1.0 if any(m.get("error") for m in msgs) else 0.0,
            "latency": 0.0,
            "tone": 0.0,
        }
        lat = [m.get("latency_ms") for m in msgs if m.get("latency_ms") is not None]
        if lat:
            mx = max(lat)
            comp["latency"] = 1.0 if mx >= p99 else (0.5 if mx >= p95 else 0.0)
        if texts and not placeholder:
            impolite = sum(politeness_count(t, lang) == 0 for t in texts) / len(texts)
            comp["tone"] = max(0.0, min(1.0, (impolite - 0.2) / 0.8))
        score = sum(WEIGHTS[k] * v for k, v in comp.items())
        reasons = _reasons(r, comp, ex, toxic, max(lat) if lat else None)
        rows.append({"conversation_id": r["conversation_id"], "score": round(score, 4),
                     **{f"c_{k}": v for k, v in comp.items()}, "reasons": reasons,
                     "_tie": hashlib.blake2b(r["conversation_id"].encode(), digest_size=8).hexdigest()})
    return pl.DataFrame(rows, schema=SCORED_SCHEMA, strict=False)


SCORED_SCHEMA = {"conversation_id": pl.String, "score": pl.Float64, **{f"c_{k}": pl.Float64 for k in WEIGHTS},
                 "reasons": pl.String, "_tie": pl.String}


def _reasons(r: dict, comp: dict, ex: dict, toxic: bool, max_lat: float | None) -> str:
    out = []
    if comp["safety"]:
        out.append("safety incident" if not toxic else "toxic reply")
    if r.get("csat") is not None and comp["low_csat"]:
        out.append(f"CSAT {r['csat']}")
    if comp["thumbs_down"]:
        out.append("thumbs down")
    if comp["abandoned"]:
        out.append("abandoned")
    if r.get("outcome") == "escalated":
        out.append("escalated" + (" (hand-off incomplete)" if ex.get("handoff") == "incomplete" else ""))
    if comp["agent_error"]:
        out.append("agent error")
    if comp["latency"] and max_lat is not None:
        out.append(f"slow turn {max_lat / 1000:.1f}s")
    if comp["tone"] >= 0.5:
        out.append("curt tone")
    return ", ".join(out)


def worst(df: pl.DataFrame, scored: pl.DataFrame, share: float = 0.01) -> pl.DataFrame:
    """The worst ``share`` of ``df`` (at least one; only conversations with a score above 0)."""
    k = max(1, math.ceil(share * df.height)) if df.height else 0
    top = (scored.filter(pl.col("score") > 0).sort(["score", "_tie"], descending=[True, False]).head(k)
           .with_row_index("rank", offset=1))
    return top.join(df, on="conversation_id", how="left").sort("rank")


def transcript(messages: list[dict] | None) -> str:
    out = []
    for m in messages or []:
        if m.get("role") not in ("user", "assistant"):
            continue
        t = {"role": m["role"], "content": m.get("content") or ""}
        for k in ("action", "error", "latency_ms"):
            if m.get(k) is not None:
                t[k] = m[k]
        out.append(t)
    return json.dumps(out, ensure_ascii=False)


def queue_rows(top: pl.DataFrame, week: str, source: str, withheld: set[str] = frozenset()) -> pl.DataFrame:
    rows = []
    for r in top.iter_rows(named=True):
        ex = _extras(r.get("extra_json"))
        cid = r["conversation_id"]
        rows.append({
            "week": week, "rank": int(r["rank"]), "conversation_id": cid, "agent_version": r.get("agent_version"),
            "model": r.get("model"), "started_at": r.get("started_at"), "locale": r.get("locale"),
            "channel": r.get("channel"), "intent": ex.get("intent"), "persona": ex.get("persona"),
            "outcome": r.get("outcome"), "csat": r.get("csat"), "thumb": r.get("thumb"), "score": r["score"],
            "components_json": json.dumps({k: r[f"c_{k}"] for k in WEIGHTS}),
            "reasons": r["reasons"], "withheld": cid in withheld,
            "transcript_json": (json.dumps([{"role": "system", "content": "[withheld: the residual scan found an "
                                             "identifier outside the masker's spans]"}])
                                if cid in withheld else transcript(r.get("messages"))),
            "source": source, "review_status": "pending",
        })
    return pl.DataFrame(rows, schema=QUEUE_SCHEMA, strict=False)


QUEUE_SCHEMA = {
    "week": pl.String, "rank": pl.Int64, "conversation_id": pl.String, "agent_version": pl.String, "model": pl.String,
    "started_at": pl.Datetime("us", "UTC"), "locale": pl.String, "channel": pl.String, "intent": pl.String,
    "persona": pl.String, "outcome": pl.String, "csat": pl.Int64, "thumb": pl.String, "score": pl.Float64,
    "components_json": pl.String, "reasons": pl.String, "withheld": pl.Boolean, "transcript_json": pl.String,
    "source": pl.String, "review_status": pl.String,
}


def build_review(df: pl.DataFrame, week: str, *, share: float = 0.01, source: str = "",
                 residual: Callable[[pl.DataFrame], set[str]] | None = None) -> dict[str, Any]:
    """Score the week's conversations ``df`` and return the queue rows plus statistics."""
    scored = score_conversations(df)
    top = worst(df, scored, share)
    withheld = residual(top) if (residual is not None and top.height) else set()
    rows = queue_rows(top, week, source, withheld)
    return {"queue": rows, "scored": scored, "conversations": df.height, "withheld": len(withheld),
            "score_quantiles": scored["score"].quantile(0.99) if scored.height else None}


# --------------------------------------------------------------------------- HTML
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;color:#1f2328}
h1{font-size:1.5rem} .meta{color:#57606a} table.legend{border-collapse:collapse;margin:1rem 0}
table.legend td,table.legend th{border:1px solid #d0d7de;padding:.25rem .5rem;font-size:.85rem}
.card{border:1px solid #d0d7de;border-radius:8px;margin:1.2rem 0;padding:1rem}
.card h2{font-size:1rem;margin:0 0 .4rem} .chip{display:inline-block;background:#fff1e5;border:1px solid #f0b37e;
border-radius:12px;padding:0 .5rem;margin:0 .25rem .25rem 0;font-size:.8rem}
.chip.safety{background:#ffebe9;border-color:#ff8182} .kv{font-size:.85rem;color:#57606a}
.turn{margin:.35rem 0;padding:.4rem .6rem;border-radius:6px;white-space:pre-wrap}
.user{background:#f6f8fa} .assistant{background:#ddf4ff} .system{background:#fff8c5}
.tag{font-size:.75rem;color:#57606a;margin-left:.5rem} .label{margin-top:.6rem;font-size:.85rem;color:#57606a}
"""


def render_html(queue: pl.DataFrame, week: str, *, conversations: int, share: float, source: str,
                labels_csv: str) -> str:
    e = html.escape
    start, end = week_window(week)
    parts = [
        "<!doctype html><html lang='en'><meta charset='utf-8'>",
        f"<title>Worst {share:.0%} review — week of {e(week)}</title><style>{_CSS}</style><body>",
        f"<h1>Worst {share:.0%} conversations — week of {e(week)}</h1>",
        f"<p class='meta'>{queue.height} of {conversations:,} conversations from {e(source)}, "
        f"{start:%a %d %b %Y} – {(end - timedelta(days=1)):%a %d %b %Y} (UTC). Masked data only: names, "
        "contacts and identifiers are consistent fakes; user ids are keyed hashes.</p>",
        "<p class='meta'>How to label: for each conversation, decide whether the <b>agent</b> handled it well "
        f"(<code>good</code>), was at fault (<code>bad</code>) or you cannot tell (<code>unsure</code>), and fill "
        f"in <code>{e(labels_csv)}</code> (columns conversation_id, label, category, reviewer, notes; category one of "
        f"{e(', '.join(CATEGORIES))}), then drop it into <code>data/review/labels/</code>: the "
        "<code>review_labels_sensor</code> records it. Conversations labelled <code>good</code> become proposed "
        "golden cases.</p>",
        "<table class='legend'><tr><th>badness component</th><th>weight</th></tr>",
        *[f"<tr><td>{e(k)}</td><td>{w:g}</td></tr>" for k, w in WEIGHTS.items()],
        "</table>",
    ]
    for r in queue.iter_rows(named=True):
        chips = "".join(f"<span class='chip{' safety' if 'safety' in c or 'toxic' in c else ''}'>{e(c)}</span>"
                        for c in (r["reasons"] or "").split(", ") if c)
        kv = " · ".join(e(str(x)) for x in (r["agent_version"], r["locale"], r["channel"], r["intent"], r["persona"],
                                            r["outcome"], f"CSAT {r['csat']}" if r["csat"] is not None else "no CSAT",
                                            r["started_at"].strftime("%a %Y-%m-%d %H:%M") if r["started_at"] else "")
                        if x)
        turns = []
        for t in json.loads(r["transcript_json"]):
            tag = " ".join(f"{k}: {t[k]}" for k in ("action", "error") if t.get(k))
            if t.get("latency_ms") is not None:
                tag += f" {t['latency_ms'] / 1000:.1f}s"
            turns.append(f"<div class='turn {e(t['role'])}'><b>{e(t['role'])}</b>"
                         f"<span class='tag'>{e(tag.strip())}</span>\n{e(t['content'])}</div>")
        parts.append(f"<div class='card' id='{e(r['conversation_id'])}'><h2>#{r['rank']} · score {r['score']:.2f} · "
                     f"<code>{e(r['conversation_id'])}</code></h2><div>{chips}</div><div class='kv'>{kv}</div>"
                     + "".join(turns)
                     + f"<div class='label'>label: <code>{e(r['conversation_id'])},good|bad|unsure,category,reviewer,notes</code></div></div>")
    parts.append("</body></html>")
    return "\n".join(parts)


def labels_template(queue: pl.DataFrame) -> str:
    lines = ["conversation_id,label,category,reviewer,notes"]
    lines += [f"{cid},,,," for cid in queue["conversation_id"].to_list()]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- labels
LABEL_SCHEMA = {"batch": pl.String, "week": pl.String, "conversation_id": pl.String, "label": pl.String,
                "category": pl.String, "reviewer": pl.String, "notes": pl.String, "valid": pl.Boolean,
                "problem": pl.String, "recorded_at": pl.Datetime("us", "UTC")}


def read_labels(path: str | Path) -> pl.DataFrame:
    """CSV or JSONL of labels (columns conversation_id, label, category, reviewer, notes)."""
    p = Path(path)
    if p.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        rows = [json.loads(x) for x in p.read_text(encoding="utf-8").splitlines() if x.strip()]
        df = pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()
    else:
        df = pl.read_csv(p, infer_schema_length=0)  # all strings
    for c in ("conversation_id", "label", "category", "reviewer", "notes"):
        if c not in df.columns:
            df = df.with_columns(pl.lit(None, pl.String).alias(c))
    return df.select([pl.col(c).cast(pl.String) for c in ("conversation_id", "label", "category", "reviewer", "notes")])


def validate_labels(labels: pl.DataFrame, queue: pl.DataFrame, batch: str, *,
                    mask: Callable[[str], str] | None = None, now: datetime | None = None) -> pl.DataFrame:
    """One row per filled-in label line with ``valid`` and the ``problem`` (rows without a label are
    template rows and skipped); labels must name a conversation in the review queue. Free-text notes
    go through ``mask`` (reviewers may paste identifiers)."""
    from datetime import UTC

    weeks = {r["conversation_id"]: r["week"] for r in queue.select("conversation_id", "week").iter_rows(named=True)}
    now = now or datetime.now(UTC)
    rows = []
    for r in labels.iter_rows(named=True):
        cid = (r["conversation_id"] or "").strip()
        label = (r["label"] or "").strip().lower()
        cat = (r["category"] or "").strip().lower() or None
        problem = None
        if not label:
            continue  # a template row nobody filled in
        if cid not in weeks:
            problem = "conversation_id is not in the review queue"
        elif label not in LABEL_VALUES:
            problem = f"label must be one of {', '.join(LABEL_VALUES)}"
        elif cat is not None and cat not in CATEGORIES:
            problem = f"category must be one of {', '.join(CATEGORIES)}"
        notes = r["notes"]
        if notes and mask is not None:
            notes = mask(notes)
        rows.append({"batch": batch, "week": weeks.get(cid), "conversation_id": cid, "label": label or None,
                     "category": cat, "reviewer": (r["reviewer"] or "").strip() or None, "notes": notes,
                     "valid": problem is None, "problem": problem, "recorded_at": now})
    return pl.DataFrame(rows, schema=LABEL_SCHEMA, strict=False) if rows else pl.DataFrame(schema=LABEL_SCHEMA)


def propose_from_labels(conversations: pl.DataFrame, labels: pl.DataFrame, *,
                        existing: list[dict] | None = None) -> list[dict]:
    """Draft golden cases (``status: proposed``) from conversations labelled ``good``.

    Uses :func:`agent_release.evals.golden.propose_golden_cases`; its "resolved with CSAT ≥ 4" filter
    is the automatic stand-in for a human's judgement, so it is bypassed here — a reviewer vouched
    for these conversations (the ``outcome``/``csat`` columns are dropped before the call)."""
    from agent_release.evals.golden import propose_golden_cases

    good = labels.filter(pl.col("valid") & (pl.col("label") == "good"))["conversation_id"].unique().to_list()
    if not good:
        return []
    conv = conversations.filter(pl.col("conversation_id").is_in(good))
    conv = conv.drop([c for c in ("outcome", "csat") if c in conv.columns])
    cases = propose_golden_cases(conv, n=len(good), existing=existing if existing is not None else None)
    for c in cases:
        c["tags"]["source"] = "weekly_review"
        c["review"]["labelled_good_in"] = "monitoring.review_labels"
    return cases


def batch_id(path: str | Path) -> str:
    p = Path(path)
    return f"{p.stem}-{hashlib.sha256(p.read_bytes()).hexdigest()[:10]}"


def queue_conversations(queue: pl.DataFrame) -> pl.DataFrame:
    """The queue's masked transcripts back in the contract shape (for golden proposals)."""
    rows = []
    for r in queue.filter(~pl.col("withheld")).iter_rows(named=True):
        msgs = [{"role": t["role"], "content": t["content"], "action": t.get("action")}
                for t in json.loads(r["transcript_json"])]
        rows.append({"conversation_id": r["conversation_id"], "locale": r["locale"], "messages": msgs,
                     "extra_json": json.dumps({"intent": r["intent"], "persona": r["persona"]}),
                     "outcome": r["outcome"], "csat": r["csat"]})
    schema = {"conversation_id": pl.String, "locale": pl.String,
              "messages": pl.List(pl.Struct({"role": pl.String, "content": pl.String, "action": pl.String})),
              "extra_json": pl.String, "outcome": pl.String, "csat": pl.Int64}
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)


def record_labels(lake, path: str | Path, *, mask: Callable[[str], str] | None = None,
                  proposals_dir: Path | None = None, existing_golden: list[dict] | None = None) -> dict[str, Any]:
    """Record a reviewer's label file (CSV / JSONL) into ``monitoring.review_labels`` (partition =
    file name + content hash, so re-recording the same file is idempotent) and propose the
    conversations labelled ``good`` as golden cases (``monitoring.golden_proposals`` and
    ``<proposals_dir>/<batch>.jsonl``). Returns counts and the proposals."""
    if not lake.exists(QUEUE):
        raise FileNotFoundError("monitoring.review_queue is empty: nothing to label yet")
    batch = batch_id(path)
    queue = lake.read(QUEUE)
    labels = validate_labels(read_labels(path), queue, batch, mask=mask)
    lake.write(LABELS, labels, partition=batch)
    proposals = propose_from_labels(queue_conversations(queue), labels, existing=existing_golden)
    out_file = None
    if proposals:
        rows = [{"batch": batch, "case_id": c["case_id"], "source_conversation_id": c["source_conversation_id"],
                 "intent": c["intent"], "locale": c["locale"], "case_json": json.dumps(c, ensure_ascii=False)}
                for c in proposals]
        lake.write(PROPOSALS, pl.DataFrame(rows), partition=batch)
        if proposals_dir is not None:
            proposals_dir.mkdir(parents=True, exist_ok=True)
            out_file = proposals_dir / f"{batch}.jsonl"
            out_file.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in proposals), encoding="utf-8")
    else:
        lake.delete_partition(PROPOSALS, batch)
    return {"batch": batch, "labels": labels.height, "valid": int(labels["valid"].sum()) if labels.height else 0,
            "good": int(((labels["label"] == "good") & labels["valid"]).sum()) if labels.height else 0,
            "problems": labels.filter(~pl.col("valid")).select("conversation_id", "problem").to_dicts(),
            "proposals": proposals, "proposals_file": str(out_file) if out_file else None}
