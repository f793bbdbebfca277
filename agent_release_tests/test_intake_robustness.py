"""Intake of damaged or unusual log files: byte-order marks, UTF-16, gzip that is not gzip or is
cut short, empty files, JSON arrays, pretty-printed JSON, corrupt Parquet, other file types.

The rule under test: every input row is loaded or quarantined with a reason (a file that cannot be
read is one row), the other files of the folder still load, every file-level reason names the file,
and no reason quotes a value from the data.
"""

import gzip
import json
import logging
import os
from collections import Counter

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from agent_release import intake
from agent_release.intake import FILE_CODES, read_source

SECRET = "Zyxwvut Qponmlk"  # stands in for PII: must never appear in a reason


def rec(cid: str, **kw) -> dict:
    r = {
        "conversation_id": cid, "user_id": f"cust-{cid}", "started_at": "2026-11-02T14:03:11Z",
        "locale": "en-US", "agent_version": "support-bot@1",
        "messages": [{"role": "user", "content": f"hello, I am {SECRET}"}],
    }
    r.update(kw)
    return r


def jsonl(*records) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def summary(res) -> tuple[int, int, int]:
    assert res.rows_in == res.rows_out + res.rows_quarantined
    return res.rows_in, res.rows_out, res.rows_quarantined


def rows(res) -> list[tuple]:
    return res.quarantine.select("source", "source_row", "reason_code").rows()


def no_secret_in_reasons(res) -> None:
    text = " ".join(res.quarantine["reason"].to_list())
    assert "Zyxwvut" not in text and "Qponmlk" not in text and "cust-" not in text


def test_a_utf8_byte_order_mark_is_stripped_and_the_first_record_loads(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(b"\xef\xbb\xbf" + jsonl(rec("c1"), rec("c2")))
    res = read_source(tmp_path)
    assert summary(res) == (2, 2, 0)
    assert res.valid["source_row"].to_list() == [1, 2]


def test_a_byte_order_mark_inside_a_concatenated_file_is_ignored(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(b"\xef\xbb\xbf" + jsonl(rec("c1")) + b"\xef\xbb\xbf" + jsonl(rec("c2")))
    assert summary(read_source(tmp_path)) == (2, 2, 0)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_text_is_decoded(tmp_path, encoding):
    """utf-16 and utf-32 write a byte-order mark; utf-16-le/-be have none (detected from the '{')."""
    text = jsonl(rec("c1"), rec("c2", locale="es-MX")).decode().replace("hello", "¡hola, señor!")
    (tmp_path / "a.jsonl").write_bytes(text.encode(encoding))
    res = read_source(tmp_path)
    assert summary(res) == (2, 2, 0)
    assert "¡hola, señor!" in res.valid["messages"][0][0]["content"]


def test_utf16_text_that_does_not_decode_stops_with_one_row_after_the_lines_read(tmp_path):
    good = jsonl(rec("c1"), rec("c2")).decode().encode("utf-16")
    (tmp_path / "a.jsonl").write_bytes(good + b"\x00\xd8" + b"{\x00")  # a lone high surrogate
    res = read_source(tmp_path)
    assert summary(res) == (3, 2, 1)
    assert rows(res) == [("a.jsonl", 3, "invalid_encoding")]
    assert res.quarantine["reason"][0].startswith("a.jsonl: UTF-16 text does not decode at byte")


def test_a_gz_file_that_is_not_gzip_is_one_row_and_the_files_beside_it_load(tmp_path):
    (tmp_path / "a.jsonl.gz").write_bytes(jsonl(rec("c1"), rec("c2"), rec("c3")))  # forgot to compress
    (tmp_path / "b.jsonl").write_bytes(jsonl(rec("c4")))
    (tmp_path / "c.jsonl.gz").write_bytes(gzip.compress(jsonl(rec("c5"))))
    res = read_source(tmp_path)
    assert summary(res) == (3, 2, 1)
    assert rows(res) == [("a.jsonl.gz", None, "wrong_format")]
    assert res.quarantine["reason"][0] == (
        "a.jsonl.gz: named .gz but not gzip-compressed (the content looks like uncompressed JSON text); "
        "no record could be read"
    )
    assert sorted(res.valid["conversation_id"]) == ["c4", "c5"]
    no_secret_in_reasons(res)


def _truncated_gzip(n_complete: int) -> bytes:
    """Two gzip members: ``n_complete`` records, then one large record cut in the middle."""
    big = rec("big", messages=[{"role": "user", "content": os.urandom(20_000).hex()}])
    tail = gzip.compress(jsonl(big))
    return gzip.compress(jsonl(*(rec(f"c{i}") for i in range(n_complete)))) + tail[: len(tail) // 2]


def test_a_truncated_gzip_loads_the_records_before_the_cut_and_quarantines_one_row_naming_the_line(tmp_path):
    (tmp_path / "day1.jsonl.gz").write_bytes(_truncated_gzip(5))
    (tmp_path / "day2.jsonl.gz").write_bytes(gzip.compress(jsonl(rec("d1"), rec("d2"))))
    res = read_source(tmp_path)
    assert summary(res) == (8, 7, 1)
    assert rows(res) == [("day1.jsonl.gz", 6, "truncated_file")]
    size = (tmp_path / "day1.jsonl.gz").stat().st_size
    reason = res.quarantine["reason"][0]
    assert reason.startswith(f"day1.jsonl.gz: truncated gzip: the compressed data ends at byte {size} "
                             "before the end-of-stream marker; reading stopped in line 6 (uncompressed byte ")
    assert reason.endswith("), which is incomplete; the lines before it were read")
    # The incomplete record is kept for inspection in the restricted raw zone.
    assert res.quarantine_payloads[0]["payload"].startswith('{"conversation_id": "big"')
    no_secret_in_reasons(res)


def test_a_gzip_cut_inside_its_header_is_one_row_for_the_whole_file(tmp_path):
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(jsonl(rec("c1")))[:6])
    res = read_source(tmp_path)
    assert summary(res) == (1, 0, 1)
    assert rows(res) == [("a.jsonl.gz", None, "truncated_file")]


def test_a_gzip_with_a_damaged_checksum_keeps_its_records_and_adds_one_row(tmp_path):
    data = bytearray(gzip.compress(jsonl(rec("c1"), rec("c2"))))
    data[-8] ^= 0xFF  # CRC32 of the member
    (tmp_path / "a.jsonl.gz").write_bytes(bytes(data))
    res = read_source(tmp_path)
    assert summary(res) == (3, 2, 1)
    assert rows(res) == [("a.jsonl.gz", 3, "unreadable_file")]
    assert "CRC check failed" in res.quarantine["reason"][0]


def test_each_kind_of_empty_file_is_one_empty_file_row(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(b"")
    (tmp_path / "b.jsonl").write_bytes(b"\n  \n\r\n")
    (tmp_path / "c.json").write_bytes(b"[]\n")
    (tmp_path / "d.jsonl.gz").write_bytes(b"")
    (tmp_path / "e.jsonl.gz").write_bytes(gzip.compress(b""))
    (tmp_path / "f.jsonl").write_bytes(b"\xef\xbb\xbf")
    pq.write_table(pa.Table.from_pylist([rec("x")]).slice(0, 0), tmp_path / "g.parquet")
    (tmp_path / "h.jsonl").write_bytes(jsonl(rec("c1")))
    res = read_source(tmp_path)
    assert summary(res) == (8, 1, 7)
    assert Counter(res.quarantine["reason_code"]) == {"empty_file": 7}
    assert res.quarantine["source_row"].null_count() == 7
    assert res.quarantine["reason"][0] == "a.jsonl: the file holds no records (0 bytes)"
    assert res.quarantine["reason"][1] == "b.jsonl: the file holds no records (6 bytes)"


def test_a_pretty_printed_json_array_in_a_json_file_is_read_as_records_each_validated(tmp_path):
    records = [rec("c1"), rec("c2", messages=[]), rec("c3")]
    (tmp_path / "export.json").write_text(json.dumps(records, indent=2))
    res = read_source(tmp_path)
    assert summary(res) == (3, 2, 1)
    assert res.valid["conversation_id"].to_list() == ["c1", "c3"]
    # source_row is the line where the element starts
    text = (tmp_path / "export.json").read_text().splitlines()
    starts = [i + 1 for i, line in enumerate(text) if line == "  {"]
    assert res.valid["source_row"].to_list() == [starts[0], starts[2]]
    assert rows(res) == [("export.json", starts[1], "empty_messages")]
    assert res.quarantine["reason"][0] == "array element 1: messages: must contain at least one message"
    assert res.quarantine["conversation_id"][0] == "c2"


def test_a_one_line_json_array_and_an_array_opening_on_its_first_element_are_read_as_records(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps([rec("c1"), rec("c2")]))
    (tmp_path / "b.json").write_text("[" + json.dumps(rec("c3")) + ",\n" + json.dumps(rec("c4")) + "\n]\n")
    res = read_source(tmp_path)
    assert summary(res) == (4, 4, 0)
    assert res.valid.select("source", "source_row").rows() == [("a.json", 1), ("a.json", 1), ("b.json", 1),
                                                               ("b.json", 2)]


def test_a_malformed_json_array_is_quarantined_whole_naming_the_file_and_the_position(tmp_path):
    text = json.dumps([rec("c1"), rec("c2")], indent=2)
    (tmp_path / "broken.json").write_text(text.replace('"c2",', '"c2"', 1))  # a comma missing
    (tmp_path / "ok.jsonl").write_bytes(jsonl(rec("c3")))
    res = read_source(tmp_path)
    assert summary(res) == (2, 1, 1)
    assert rows(res) == [("broken.json", 1, "invalid_json_array")]
    n = text.count("\n") + 1
    line = next(i + 1 for i, x in enumerate(text.splitlines()) if '"c2"' in x) + 1
    assert res.quarantine["reason"][0] == (
        f"broken.json: JSON array at lines 1-{n} does not parse (line {line} column 5: Expecting ',' "
        "delimiter); the whole array is this one row"
    )
    no_secret_in_reasons(res)


def test_a_json_array_in_a_jsonl_file_is_one_row_json_array_expected_jsonl(tmp_path):
    text = json.dumps([rec("c1"), rec("c2")], indent=2)
    (tmp_path / "export.jsonl").write_text(text + "\n")
    res = read_source(tmp_path)
    assert summary(res) == (1, 0, 1)
    assert rows(res) == [("export.jsonl", 1, "json_array")]
    assert res.quarantine["reason"][0] == (
        f"export.jsonl: JSON array, expected JSONL (one object per line): lines 1-{text.count(chr(10)) + 1} "
        "hold one array; a .json file may hold an array of records"
    )


def test_pretty_printed_objects_in_a_jsonl_file_are_one_row_each_with_the_hint(tmp_path):
    pretty = json.dumps(rec("p1"), indent=2)
    n = pretty.count("\n") + 1
    body = pretty + "\n" + json.dumps(rec("c1")) + "\n" + json.dumps(rec("p2"), indent=4) + "\n"
    (tmp_path / "a.jsonl").write_text(body)
    res = read_source(tmp_path)
    assert summary(res) == (3, 1, 2)
    assert rows(res) == [("a.jsonl", 1, "pretty_printed_json"), ("a.jsonl", n + 2, "pretty_printed_json")]
    assert res.quarantine["reason"][0] == f"pretty-printed JSON: expected one record per line (lines 1-{n} hold one value)"
    assert res.quarantine["conversation_id"].to_list() == ["p1", "p2"]
    assert res.valid.select("conversation_id", "source_row").rows() == [("c1", n + 1)]


def test_a_pretty_printed_object_that_never_closes_ends_where_the_next_record_starts(tmp_path):
    (tmp_path / "a.jsonl").write_text('{\n  "conversation_id": "p1",\n  "messages": [\n'
                                      + json.dumps(rec("c1")) + "\n{\n  \"a\": 1\n}\n")
    res = read_source(tmp_path)
    assert summary(res) == (3, 1, 2)
    assert rows(res) == [("a.jsonl", 1, "pretty_printed_json"), ("a.jsonl", 5, "pretty_printed_json")]
    assert res.quarantine["reason"][0] == (
        "pretty-printed JSON: expected one record per line (lines 1-3 hold one value); it also does not "
        "parse (line 3 column 16: Expecting value) and never closes"
    )


def test_pretty_printed_objects_in_a_json_file_are_records(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(rec("p1"), indent=2) + "\n" + json.dumps(rec("p2"), indent=2))
    res = read_source(tmp_path)
    assert summary(res) == (2, 2, 0)


def test_lines_that_are_not_json_are_still_one_row_each(tmp_path):
    """The multi-line rules do not swallow ordinary broken lines (e.g. records cut by a crash)."""
    line = json.dumps(rec("c1"))
    (tmp_path / "a.jsonl").write_text(line[:30] + "\n" + line[:40] + "\n[1, 2\n" + json.dumps(rec("c2")) + "\n")
    res = read_source(tmp_path)
    assert summary(res) == (4, 1, 3)
    assert rows(res) == [("a.jsonl", 1, "invalid_json"), ("a.jsonl", 2, "invalid_json"), ("a.jsonl", 3, "invalid_json")]


def _parquet(path, records, row_group_size=None):
    pq.write_table(pa.Table.from_pylist(records), path, row_group_size=row_group_size)


def test_corrupt_and_truncated_parquet_files_are_one_row_each_and_the_other_files_load(tmp_path):
    _parquet(tmp_path / "good.parquet", [rec("g1"), rec("g2")])
    full = (tmp_path / "good.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(full[: len(full) // 2])
    (tmp_path / "json.parquet").write_bytes(jsonl(rec("j1")))
    (tmp_path / "footer.parquet").write_bytes(full[:4] + full[4:-8] + b"\xff\xff\xff\x7fPAR1")
    res = read_source(tmp_path)
    assert summary(res) == (5, 2, 3)
    assert sorted(rows(res)) == [("cut.parquet", None, "truncated_file"), ("footer.parquet", None, "unreadable_file"),
                                 ("json.parquet", None, "wrong_format")]
    reasons = dict(zip(res.quarantine["source"], res.quarantine["reason"], strict=True))
    assert reasons["cut.parquet"] == (f"cut.parquet: truncated Parquet: the file ends at byte {len(full) // 2} "
                                      "without its footer; no row can be read")
    assert reasons["json.parquet"] == "json.parquet: not a Parquet file (the content looks like uncompressed JSON text)"
    assert reasons["footer.parquet"].startswith("footer.parquet: Parquet footer unreadable (")


def test_a_damaged_parquet_row_group_is_one_row_and_the_other_row_groups_load(tmp_path):
    path = tmp_path / "a.parquet"
    _parquet(path, [rec(f"c{i}", user_id=os.urandom(40).hex()) for i in range(20)], row_group_size=10)
    group0 = pq.ParquetFile(path).metadata.row_group(0)
    col = next(c for c in map(group0.column, range(group0.num_columns)) if c.path_in_schema == "user_id")
    start = col.dictionary_page_offset if col.has_dictionary_page else col.data_page_offset
    data = bytearray(path.read_bytes())
    data[start + 5: start + col.total_compressed_size - 2] = b"\xff" * (col.total_compressed_size - 7)
    path.write_bytes(bytes(data))
    res = read_source(tmp_path)
    assert summary(res) == (11, 10, 1)
    assert rows(res) == [("a.parquet", 0, "unreadable_file")]
    assert res.quarantine["reason"][0].startswith("a.parquet: Parquet row group 0 unreadable from row 0 (")
    assert res.quarantine["reason"][0].endswith("); rows 0-9 are this one row, the other row groups are read")
    assert res.valid["source_row"].to_list() == list(range(10, 20))


def test_a_text_file_holding_another_format_is_one_wrong_format_row(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(gzip.compress(jsonl(rec("c1"))))
    _parquet(tmp_path / "p.parquet", [rec("c2")])
    os.replace(tmp_path / "p.parquet", tmp_path / "b.json")
    res = read_source(tmp_path)
    assert summary(res) == (2, 0, 2)
    assert res.quarantine["reason"].to_list() == [
        "a.jsonl: the content is gzip-compressed data, not JSON text (check the file name's extension)",
        "b.json: the content is a Parquet file, not JSON text (check the file name's extension)",
    ]


def test_other_files_in_a_folder_are_skipped_with_the_reason_and_upper_case_names_are_read(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "export.csv").write_text("a,b\n")
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.jsonl").write_bytes(jsonl(rec("hidden")))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "DAY.JSONL").write_bytes(jsonl(rec("c1")))
    (tmp_path / "gone.jsonl").symlink_to(tmp_path / "missing.jsonl")
    res = read_source(tmp_path)
    assert summary(res) == (1, 1, 0)
    assert res.files == ["sub/DAY.JSONL"]
    assert [(s["source"], s["reason"].split(" (")[0]) for s in res.skipped] == [
        (".DS_Store", "hidden file"), (".git", "hidden folder, not searched"), ("export.csv", "unsupported file type"),
        ("gone.jsonl", "broken symbolic link"), ("notes.txt", "unsupported file type"),
    ]


def test_a_json_array_too_large_to_hold_in_memory_is_one_oversize_row(tmp_path, monkeypatch):
    monkeypatch.setattr(intake, "MAX_ARRAY_BYTES", 2_000)
    text = json.dumps([rec(f"c{i}") for i in range(10)], indent=2)
    (tmp_path / "big.json").write_text(text)
    (tmp_path / "small.json").write_text(json.dumps([rec("s1")], indent=2))
    res = read_source(tmp_path)
    assert summary(res) == (2, 1, 1)
    assert rows(res) == [("big.json", 1, "oversize")]
    assert res.quarantine["reason"][0] == (
        f"big.json: JSON array at lines 1-{text.count(chr(10)) + 1}; larger than 2000 bytes; convert it to JSONL")


def test_a_read_error_and_a_validator_crash_are_rows_not_a_failed_run(tmp_path, monkeypatch):
    (tmp_path / "a.jsonl").write_bytes(jsonl(rec("c1"), rec("c2")))
    (tmp_path / "b.jsonl").write_bytes(jsonl(rec("c3"), rec("boom"), rec("c4")))
    real_chunks, real_normalise = intake._byte_chunks, intake.contract.normalise

    def chunks(path, gz):
        if path.name == "a.jsonl":
            raise PermissionError(13, "Permission denied", str(path))
        return real_chunks(path, gz)

    def normalise(obj, **kw):
        if obj.get("conversation_id") == "boom":
            raise TypeError(f"bad {SECRET}")
        return real_normalise(obj, **kw)

    monkeypatch.setattr(intake, "_byte_chunks", chunks)
    monkeypatch.setattr(intake.contract, "normalise", normalise)
    res = read_source(tmp_path)
    assert summary(res) == (4, 2, 2)
    assert rows(res) == [("a.jsonl", None, "unreadable_file"), ("b.jsonl", 2, "unexpected_error")]
    assert res.quarantine["reason"].to_list() == [
        "a.jsonl: the file cannot be read (PermissionError); 0 records were read before the error",
        "record could not be validated (TypeError): an intake bug",
    ]


def _mixed_folder(root):
    (root / "2026" / "11").mkdir(parents=True)
    (root / "a.jsonl").write_bytes(b"\xef\xbb\xbf" + jsonl(rec("a1"), rec("a2")))
    (root / "b.jsonl.gz").write_bytes(jsonl(rec("b1")))  # not gzip
    (root / "2026" / "11" / "c.jsonl.gz").write_bytes(_truncated_gzip(3))
    (root / "d.json").write_text(json.dumps([rec("d1"), rec("d2", csat=9)], indent=2))
    (root / "e.parquet").write_bytes(b"PAR1 not really")
    (root / "f.jsonl").write_bytes(b"")
    (root / "g.txt").write_text(SECRET)


def test_a_folder_of_valid_and_broken_files_balances_exactly_and_names_every_file(tmp_path):
    _mixed_folder(tmp_path)
    res = read_source(tmp_path)
    # in: 2 (a) + 1 (b, whole file) + 3 + 1 (c, truncation) + 2 (d) + 1 (e) + 1 (f) = 11
    assert summary(res) == (11, 6, 5)
    assert sorted(res.valid["conversation_id"]) == ["a1", "a2", "c0", "c1", "c2", "d1"]
    assert rows(res) == [
        ("2026/11/c.jsonl.gz", 4, "truncated_file"), ("b.jsonl.gz", None, "wrong_format"),
        ("d.json", 15, "wrong_value"), ("e.parquet", None, "truncated_file"), ("f.jsonl", None, "empty_file"),
    ]
    assert res.skipped == [{"source": "g.txt", "reason": "unsupported file type (read: .jsonl, .ndjson, .json, "
                            ".jsonl.gz, .ndjson.gz, .json.gz, .parquet)"}]
    for src, code, reason in res.quarantine.select("source", "reason_code", "reason").rows():
        assert (tmp_path / src).is_file()
        if code in FILE_CODES:
            assert reason.startswith(f"{src}: ")
    assert res.file_problems.height == 4
    no_secret_in_reasons(res)


def test_the_intake_asset_loads_a_broken_folder_and_its_balance_check_fails_on_a_dropped_row(tmp_path):
    from agent_release.defs import intake as intake_defs
    from agent_release.defs.resources import LogSourceResource, WarehouseResource
    from agent_release.warehouse import Lake

    home, src = tmp_path / "home", tmp_path / "logs"
    (home / "data").mkdir(parents=True)
    src.mkdir()
    _mixed_folder(src)
    warehouse = WarehouseResource(home=str(home))
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [intake_defs.raw_conversations, intake_defs.intake_rows_balance, intake_defs.intake_quarantine_rate],
            resources={"warehouse": warehouse, "log_source": LogSourceResource(path=str(src))},
            instance=instance, raise_on_error=False,
        )
        warnings = [e.user_message for e in instance.all_logs(result.run_id) if e.level == logging.WARNING]
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"intake_rows_balance": True, "intake_quarantine_rate": False}
    meta = result.asset_materializations_for_node("intake__raw_conversations")[0].metadata
    assert (meta["rows_in"].value, meta["rows_out"].value, meta["rows_quarantined"].value) == (11, 6, 5)
    assert meta["files"].value == 6 and meta["files_skipped"].value == 1
    problems = meta["file_problems"].value
    for name in ("2026/11/c.jsonl.gz", "b.jsonl.gz", "e.parquet", "f.jsonl"):
        assert f"| {name} |" in problems
    assert "g.txt" in meta["skipped_files"].value
    assert any("intake: b.jsonl.gz: named .gz but not gzip" in w for w in warnings)
    assert any("intake: skipped g.txt: unsupported file type" in w for w in warnings)
    assert not any("Zyxwvut" in w for w in warnings)
    lake = Lake(home / "data" / "lake")
    assert lake.read("_raw.conversations").height == 6
    assert lake.read("intake.quarantine").height == 5
    assert lake.read("_raw.quarantine_payloads").height == 5
    # A row lost between intake and storage is caught by the blocking balance check.
    quarantine = lake.read("intake.quarantine")
    lake.write("intake.quarantine", quarantine.filter(quarantine["source"] != "2026/11/c.jsonl.gz"), replace_all=True)
    check = intake_defs.intake_rows_balance(warehouse=warehouse)
    assert check.passed is False
    assert (check.metadata["rows_in"].value, check.metadata["rows_quarantined"].value) == (11, 4)


def test_bytes_after_the_gzip_stream_are_one_row_that_does_not_quote_them(tmp_path):
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(jsonl(rec("c1"), rec("c2"))) + SECRET.encode())
    res = read_source(tmp_path)
    assert summary(res) == (3, 2, 1)
    assert rows(res) == [("a.jsonl.gz", 3, "unreadable_file")]
    assert "data after the end of the gzip stream is not gzip" in res.quarantine["reason"][0]
    no_secret_in_reasons(res)
