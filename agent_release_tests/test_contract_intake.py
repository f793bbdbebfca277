import json
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from agent_release import contract
from agent_release.intake import read_source

from .conftest import FIXTURES

GOOD = {
    "conversation_id": "c-1",
    "user_id": "cust-1",
    "started_at": "2026-11-02T14:03:11Z",
    "locale": "es-MX",
    "channel": "chat",
    "agent_version": "support-bot@1",
    "model": "m",
    "messages": [
        {"role": "user", "content": "Hola", "ts": "2026-11-02T14:03:11Z"},
        {"role": "assistant", "content": "¡Hola!", "latency_ms": 812.0, "input_tokens": 512,
         "output_tokens": 88, "cost_usd": 0.0011, "action": "lookup_order", "error": None, "tone": "warm"},
    ],
    "outcome": "resolved",
    "csat": 5,
    "thumb": "up",
    "persona": "angry",
}


def test_handwritten_file_with_malformed_lines():
    res = read_source(FIXTURES / "handwritten_logs.jsonl")
    assert res.rows_in == 15
    assert res.rows_out == 4
    assert res.rows_quarantined == 11
    assert res.rows_in == res.rows_out + res.rows_quarantined
    reasons = Counter(res.quarantine["reason_code"].to_list())
    assert reasons == {
        "invalid_json": 1, "invalid_utf8": 1, "empty_messages": 1, "wrong_type": 1,
        "missing_field": 1, "unknown_role": 1, "duplicate_id": 1, "invalid_timestamp": 1,
        "oversize": 1, "not_an_object": 1, "wrong_value": 1,
    }
    # Source locations are exact (1-based line numbers) and every row says where it came from.
    by_code = {r["reason_code"]: r for r in res.quarantine.iter_rows(named=True)}
    assert by_code["invalid_json"]["source_row"] == 3
    assert by_code["invalid_utf8"]["source_row"] == 5
    assert by_code["duplicate_id"]["conversation_id"] == "hw-0001"
    assert all(r["source"] == "handwritten_logs.jsonl" for r in res.quarantine.iter_rows(named=True))
    # The raw payload is kept (restricted zone) for every quarantined row.
    assert len(res.quarantine_payloads) == 11


def test_reasons_never_quote_values():
    res = read_source(FIXTURES / "handwritten_logs.jsonl")
    text = " ".join(res.quarantine["reason"].to_list())
    for secret in ("cust-10006", "12345", "customer", "yesterday", "xxxx", "café", "9"):
        assert secret not in text.split() and secret not in text.replace(":", " ").split()
    assert "12345" not in text and "yesterday" not in text


def test_extras_kept_and_roundtrip():
    rec = contract.normalise(GOOD)
    df = contract.to_frame([{**rec, "source": "s", "source_row": 1}])
    back = contract.to_records(df)[0]
    assert back["persona"] == "angry"
    assert back["messages"][1]["tone"] == "warm"
    assert back["messages"][1]["latency_ms"] == 812.0
    assert back["started_at"] == "2026-11-02T14:03:11Z"
    assert contract.normalise(back)["messages"] == rec["messages"]


@pytest.mark.parametrize(
    "mutate, code",
    [
        (lambda r: r.pop("locale"), "missing_field"),
        (lambda r: r.update(locale="not a locale!"), "invalid_locale"),
        (lambda r: r.update(channel="fax"), "wrong_value"),
        (lambda r: r.update(outcome="happy"), "wrong_value"),
        (lambda r: r.update(thumb="sideways"), "wrong_value"),
        (lambda r: r.update(csat=True), "wrong_type"),
        (lambda r: r.update(messages="hi"), "wrong_type"),
        (lambda r: r["messages"][0].update(content=None), "missing_field"),
        (lambda r: r["messages"][0].update(content=7), "wrong_type"),
        (lambda r: r["messages"][1].update(latency_ms=-1), "wrong_value"),
        (lambda r: r["messages"][1].update(input_tokens=1.5), "wrong_type"),
        (lambda r: r["messages"][1].update(cost_usd="cheap"), "wrong_type"),
        (lambda r: r["messages"][0].update(ts="noon"), "invalid_timestamp"),
        (lambda r: r.update(started_at="2026-13-45T99:00:00Z"), "invalid_timestamp"),
        (lambda r: r.update(conversation_id=""), "wrong_value"),
    ],
)
def test_violations(mutate, code):
    r = json.loads(json.dumps(GOOD))
    mutate(r)
    with pytest.raises(contract.ContractError) as exc:
        contract.normalise(r)
    assert exc.value.violation.code == code


def test_parquet_and_folder_sources(tmp_path):
    good = json.loads(json.dumps(GOOD))
    bad = json.loads(json.dumps(GOOD))
    bad["conversation_id"] = "c-2"
    bad["messages"] = []
    sub = tmp_path / "logs" / "2026" / "11"
    sub.mkdir(parents=True)
    table = pa.Table.from_pylist([{"conversation_id": "c-p", **{k: v for k, v in good.items() if k != "conversation_id"}}])
    pq.write_table(table, sub / "day.parquet")
    (tmp_path / "logs" / "a.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    (tmp_path / "logs" / "ignored.txt").write_text("not a log")
    res = read_source(tmp_path / "logs")
    assert res.rows_in == 3 and res.rows_out == 2 and res.rows_quarantined == 1
    assert sorted(res.valid["conversation_id"].to_list()) == ["c-1", "c-p"]
    assert set(res.files) == {"a.jsonl", "2026/11/day.parquet"}


def test_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="log source not found"):
        read_source(tmp_path / "nope")
