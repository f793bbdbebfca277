"""Intake of conversation logs from files: JSONL, JSON, Parquet (gzip for the text formats), or a
folder of them.

Every record read is either a valid, normalised row or a quarantine row with the reason and
source location — never dropped, never fatal for the batch. ``rows_in == rows_out + quarantined``
holds by construction and is checked again by an asset check.

What one *input row* is:

* a non-blank line of a JSONL file (``.jsonl``, ``.ndjson``, optionally ``.gz``);
* a multi-line JSON value — a line that is just ``{`` or ``[`` up to the line that balances it.
  In a JSONL file it is quarantined as one row (``pretty_printed_json`` / ``json_array``); in a
  ``.json`` file an object is a record and an array is read element by element;
* an element of a JSON array in a ``.json`` file;
* a row of a Parquet file;
* a whole file that cannot be read (``unreadable_file``, ``wrong_format``), holds no record
  (``empty_file``), or stops early (``truncated_file``, ``invalid_encoding``): ONE quarantine row
  for the file, or for the rest of it after the records read before the problem.

Text may carry a UTF-8 byte-order mark (stripped) or be UTF-16/UTF-32 (decoded, with or without a
byte-order mark for UTF-16). Files of other types in a folder are skipped and listed with the
reason in :attr:`IntakeResult.skipped`. Every reason of a file-level row starts with the file's
path relative to the source root; no reason quotes a value from the data.
"""

from __future__ import annotations

import codecs
import gzip
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from agent_release import contract
from agent_release.contract import ContractError, Violation

SUFFIXES = (".jsonl", ".ndjson", ".json", ".jsonl.gz", ".ndjson.gz", ".json.gz", ".parquet")
#: Quarantine reason codes that stand for a whole file or the rest of one (not a single record).
FILE_CODES = frozenset(
    {"unreadable_file", "wrong_format", "empty_file", "truncated_file", "invalid_encoding", "json_array",
     "invalid_json_array"}
)
#: Largest JSON array read as records from a ``.json`` file (it is held in memory whole).
MAX_ARRAY_BYTES = 128 * 1024 * 1024
CHUNK = 1 << 16

_UNSET = object()
_MAGIC = (
    (b"\x1f\x8b", "gzip-compressed data"), (b"PAR1", "a Parquet file"), (b"PK\x03\x04", "a zip archive"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"), (b"BZh", "bzip2-compressed data"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
)
_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"?|[\[\]{}]')  # strings (skipped) and brackets
_WS = re.compile(r"[ \t\r\n]*")


@dataclass
class RawItem:
    source: str
    row: int | None  # line (text, 1-based) or row (Parquet, 0-based); None = the whole file
    payload: bytes | dict | None  # bytes for JSONL lines, dict for Parquet rows
    error: Violation | None = None
    value: object = _UNSET  # already-decoded JSON value (array elements, multi-line values)
    where: str = ""  # prefix for the reason, e.g. "array element 3"


@dataclass
class IntakeResult:
    valid: pl.DataFrame
    quarantine: pl.DataFrame
    #: raw payloads of quarantined records (restricted raw zone only: may contain PII)
    quarantine_payloads: list[dict] = field(default_factory=list)
    rows_in: int = 0
    files: list[str] = field(default_factory=list)
    #: files under the source that were not read, each ``{"source": path, "reason": why}``
    skipped: list[dict] = field(default_factory=list)

    @property
    def rows_out(self) -> int:
        return self.valid.height

    @property
    def rows_quarantined(self) -> int:
        return self.quarantine.height

    @property
    def file_problems(self) -> pl.DataFrame:
        """Quarantine rows that stand for a whole file (or the rest of one)."""
        return self.quarantine.filter(pl.col("reason_code").is_in(sorted(FILE_CODES)))


def file_format(name: str) -> tuple[str, bool] | None:
    """``(format, gzip)`` from a file name — format is ``jsonl``, ``json`` or ``parquet`` — or
    None when the name is not one of :data:`SUFFIXES` (case-insensitive)."""
    n = name.lower()
    gz = n.endswith(".gz")
    base = n[:-3] if gz else n
    if base.endswith(".parquet"):
        return None if gz else ("parquet", False)
    if base.endswith((".jsonl", ".ndjson")):
        return "jsonl", gz
    if base.endswith(".json"):
        return "json", gz
    return None


def _skip_reason(f: Path) -> str | None:
    if f.is_dir():  # folders are walked, not listed; a hidden one is neither
        return "hidden folder, not searched" if f.name.startswith(".") else None
    if f.name.startswith("."):
        return "hidden file"
    if f.is_symlink() and not f.exists():
        return "broken symbolic link"
    if not f.is_file():
        return "not a regular file"
    if file_format(f.name) is None:
        return f"unsupported file type (read: {', '.join(SUFFIXES)})"
    return None


def discover_all(source: str | Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Files to read for a source, and the files skipped with the reason.

    One file is read whatever its name (JSONL unless the name says otherwise); a folder is
    searched recursively for :data:`SUFFIXES`, everything else in it is listed as skipped."""
    p = Path(source)
    if p.is_file():
        return [p], []
    if not p.is_dir():
        raise FileNotFoundError(f"log source not found: {p}")
    files, skipped = [], []
    for f in sorted(p.rglob("*")):
        if any(part.startswith(".") for part in f.relative_to(p).parts[:-1]):
            continue  # inside a hidden folder (.git, .cache), which is listed once
        why = _skip_reason(f)
        if why:
            skipped.append((f, why))
        elif f.is_file():
            files.append(f)
    return files, skipped


def discover(source: str | Path) -> list[Path]:
    """Files to read for a source: one file, or every supported file under a folder (sorted)."""
    return discover_all(source)[0]


def _rel(path: Path, base: Path | None) -> str:
    try:
        return str(path.relative_to(base)) if base else str(path)
    except ValueError:
        return str(path)


def _looks_like(head: bytes) -> str:
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    text = head.lstrip(codecs.BOM_UTF8).lstrip()
    if text[:1] in (b"{", b"["):
        return "uncompressed JSON text"
    return "data of another kind"


class _Stop(Exception):
    """Reading a text file cannot go on; becomes one quarantine row for the rest of the file."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code, self.reason = code, reason
        self.lineno, self.partial, self.offset = 1, b"", 0


def _gzip_problem(exc: Exception) -> str:
    # Never the exception text itself: BadGzipFile quotes the bytes it found.
    msg = str(exc)
    if "CRC check failed" in msg:
        return "CRC check failed: the data is damaged"
    if "Incorrect length" in msg:
        return "length check failed: the data is damaged"
    if "Not a gzipped file" in msg:
        return "data after the end of the gzip stream is not gzip"
    return f"invalid compressed data ({type(exc).__name__})"


def _byte_chunks(path: Path, gz: bool) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        if not gz:
            while chunk := fh.read(CHUNK):
                yield chunk
            return
        head = fh.read(8)
        if not head:
            return  # 0 bytes: an empty file, reported as such
        if not head.startswith(b"\x1f\x8b"):
            raise _Stop("wrong_format", f"named .gz but not gzip-compressed (the content looks like {_looks_like(head)})")
        fh.seek(0)
        size = path.stat().st_size
        g = gzip.GzipFile(fileobj=fh, mode="rb")
        try:
            while chunk := g.read1(CHUNK):
                yield chunk
        except EOFError:
            raise _Stop(
                "truncated_file",
                f"truncated gzip: the compressed data ends at byte {size} before the end-of-stream marker",
            ) from None
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise _Stop("unreadable_file", f"corrupt gzip near compressed byte {fh.tell()}: {_gzip_problem(exc)}") from None


def _utf8_chunks(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """UTF-8 bytes: a UTF-8 byte-order mark is dropped, UTF-16/UTF-32 text is decoded."""
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= 4:
            break
    bom, enc = next(((bom, e) for bom, e in _BOMS if head.startswith(bom)), (b"", None))
    if enc is None and head[:2] in (b"{\x00", b"[\x00"):
        enc = "utf-16-le"  # no byte-order mark: RFC 8259 8.1 detection from the first character
    elif enc is None and head[:2] in (b"\x00{", b"\x00["):
        enc = "utf-16-be"
    if enc is None or enc == "utf-8":
        yield head[len(bom):]
        yield from chunks
        return
    name = enc[:6].upper()
    decoder = codecs.getincrementaldecoder(enc)()
    done = len(bom)  # bytes of the file given to the decoder so far
    for chunk in (c for src in ([head[len(bom):]], chunks) for c in src):
        buffered = decoder.getstate()[0]
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError as exc:  # keep the text before the bad bytes, then stop
            yield codecs.decode((buffered + chunk)[: exc.start], enc).encode("utf-8")
            raise _Stop("invalid_encoding", f"{name} text does not decode at byte {done - len(buffered) + exc.start}") from None
        done += len(chunk)
        if text:
            yield text.encode("utf-8")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise _Stop("invalid_encoding", f"{name} text ends in the middle of a character") from None


def _lines(chunks: Iterator[bytes]) -> Iterator[tuple[int, bytes]]:
    """``(line number, line)`` without the line ending; a :class:`_Stop` from below gets the line
    where reading stopped and the incomplete line read so far."""
    lineno, offset, pending = 0, 0, []
    try:
        for chunk in chunks:
            parts = chunk.split(b"\n")
            if len(parts) == 1:
                pending.append(chunk)
                continue
            parts[0] = b"".join(pending) + parts[0]
            for line in parts[:-1]:
                lineno += 1
                offset += len(line) + 1
                yield lineno, line.rstrip(b"\r")
            pending = [parts[-1]]
    except _Stop as stop:
        stop.lineno, stop.partial, stop.offset = lineno + 1, b"".join(pending), offset
        raise
    last = b"".join(pending)
    if last:
        yield lineno + 1, last.rstrip(b"\r")


def _depth(line: bytes) -> int:
    d = 0
    for m in _TOKENS.finditer(line):
        t = m.group()
        if t[:1] != b'"':
            d += 1 if t in (b"{", b"[") else -1
    return d


def _json_error(exc: json.JSONDecodeError, first_line: int) -> str:
    return f"line {first_line + exc.lineno - 1} column {exc.colno}: {exc.msg}"


def _array_elements(text: str) -> list[tuple[int, object, int]]:
    """``(line offset, value, characters)`` of each element of a JSON array; JSONDecodeError if
    malformed."""
    dec = json.JSONDecoder()
    pos = _WS.match(text).end()
    if text[pos:pos + 1] != "[":
        raise json.JSONDecodeError("Expecting '['", text, pos)
    pos = _WS.match(text, pos + 1).end()
    out: list[tuple[int, object, int]] = []
    line, seen = 0, 0
    if text[pos:pos + 1] == "]":
        end = pos + 1
    else:
        while True:
            value, end = dec.raw_decode(text, pos)
            line += text.count("\n", seen, pos)
            seen = pos
            out.append((line, value, end - pos))
            pos = _WS.match(text, end).end()
            ch = text[pos:pos + 1]
            if ch == ",":
                pos = _WS.match(text, pos + 1).end()
                continue
            if ch == "]":
                end = pos + 1
                break
            raise json.JSONDecodeError("Expecting ',' delimiter" if ch else "Expecting ']'", text, pos)
    if _WS.match(text, end).end() != len(text):
        raise json.JSONDecodeError("Extra data", text, _WS.match(text, end).end())
    return out


def _element_items(label: str, first_line: int, elements: list) -> Iterator[RawItem]:
    for i, (line, value, size) in enumerate(elements):
        err = None
        if size > contract.MAX_RECORD_BYTES:
            err = Violation("oversize", f"record larger than {contract.MAX_RECORD_BYTES} bytes")
        yield RawItem(label, first_line + line, None, err, value=value, where=f"array element {i}")


@dataclass
class _Group:
    """A multi-line JSON value: from a line that is just ``{`` or ``[`` to the one balancing it."""

    start: int
    opener: bytes
    cap: int
    end: int = 0
    size: int = 0
    depth: int = 0
    over: bool = False
    parts: list[bytes] = field(default_factory=list)

    def add(self, lineno: int, line: bytes) -> None:
        self.end = lineno
        self.depth += _depth(line)
        self.size += len(line) + 1
        if self.size > self.cap:
            self.over, self.parts = True, []
        if not self.over:
            self.parts.append(line)

    @property
    def text(self) -> bytes:
        return b"\n".join(self.parts)


def _group_items(g: _Group, label: str, fmt: str, *, closed: bool) -> Iterator[RawItem]:
    lines = f"lines {g.start}-{g.end}"
    array = g.opener == b"["
    unclosed = "" if closed else " and never closes"
    if fmt == "jsonl":
        code, what = (
            ("json_array", f"{label}: JSON array, expected JSONL (one object per line): {lines} hold one array")
            if array else
            ("pretty_printed_json", f"pretty-printed JSON: expected one record per line ({lines} hold one value)")
        )
        if array:
            what += "; a .json file may hold an array of records"
    else:
        code, what = ("invalid_json_array", f"{label}: JSON array at {lines}") if array else (
            "invalid_json", f"multi-line JSON value at {lines}")
    payload = g.text[: contract.MAX_RECORD_BYTES] if not g.over else None
    if g.over:
        size_code = code if fmt == "jsonl" else "oversize"
        hint = "; convert it to JSONL" if array and fmt == "json" else ""
        yield RawItem(label, g.start, None, Violation(size_code, f"{what}{unclosed}; larger than {g.cap} bytes{hint}"))
        return
    try:
        text = g.text.decode("utf-8")
    except UnicodeDecodeError as exc:
        yield RawItem(label, g.start, payload, Violation("invalid_utf8", f"{what}: not valid UTF-8 (byte offset {exc.start})"))
        return
    try:
        parsed = _array_elements(text) if array and fmt == "json" else json.loads(text)
    except json.JSONDecodeError as exc:
        does_not = f"does not parse ({_json_error(exc, g.start)}){unclosed}"
        if fmt == "jsonl":
            yield RawItem(label, g.start, payload, Violation(code, f"{what}; it also {does_not}"))
        elif array:
            yield RawItem(label, g.start, payload, Violation(code, f"{what} {does_not}; the whole array is this one row"))
        else:
            yield RawItem(label, g.start, payload, Violation(code, f"{what} {does_not}"))
        return
    except RecursionError:
        yield RawItem(label, g.start, payload, Violation("invalid_json" if fmt == "json" else code, f"{what}: JSON nested too deeply"))
        return
    if fmt == "jsonl":
        yield RawItem(label, g.start, payload, Violation(code, what), value=parsed)
    elif array:
        yield from _element_items(label, g.start, parsed)
    else:
        yield RawItem(label, g.start, payload, value=parsed)


def _starts_group(line: bytes, fmt: str, first: bool) -> bool:
    s = line.strip().lstrip(codecs.BOM_UTF8)
    if s in (b"{", b"["):
        return True
    # a .json file that opens with an array whose first element sits on the same line
    return fmt == "json" and first and s[:1] == b"[" and _depth(s) > 0 and not _parses(s)


def _parses(line: bytes) -> bool:
    try:
        json.loads(line)
        return True
    except (ValueError, RecursionError):
        return False


def _text_items(path: Path, label: str, fmt: str, gz: bool) -> Iterator[RawItem]:
    group: _Group | None = None
    first = True
    try:
        for lineno, line in _lines(_utf8_chunks(_byte_chunks(path, gz))):
            if group is not None:
                if group.opener == b"{" and line[:1] == b"{" and (line.strip() == b"{" or _parses(line)):
                    # the object never closed and a new record starts at column 0: end it here
                    yield from _group_items(group, label, fmt, closed=False)
                    group = None
                else:
                    group.add(lineno, line)
                    if group.depth <= 0:
                        yield from _group_items(group, label, fmt, closed=True)
                        group = None
                    continue
            if not line.strip():
                continue  # blank lines are not records
            if _starts_group(line, fmt, first):
                opener = line.strip().lstrip(codecs.BOM_UTF8)[:1]
                cap = MAX_ARRAY_BYTES if fmt == "json" and opener == b"[" else contract.MAX_RECORD_BYTES
                group = _Group(lineno, opener, cap)
                group.add(lineno, line)
            elif fmt == "json" and line.lstrip()[:1] == b"[":
                yield from _line_array_items(label, lineno, line)
            else:
                yield RawItem(label, lineno, line)
            first = False
    except _Stop as stop:
        if group is None and stop.offset == 0 and not stop.partial:
            yield RawItem(label, None, None, Violation(stop.code, f"{label}: {stop.reason}; no record could be read"))
            return
        where = f"reading stopped in line {stop.lineno} (uncompressed byte {stop.offset})"
        if group is not None:
            where += f", inside the multi-line value that starts at line {group.start}"
            payload = group.text + b"\n" + stop.partial
            row = group.start
        else:
            payload, row = stop.partial, stop.lineno
            if stop.partial.strip():
                where += ", which is incomplete"
        yield RawItem(label, row, payload[: contract.MAX_RECORD_BYTES] or None,
                      Violation(stop.code, f"{label}: {stop.reason}; {where}; the lines before it were read"))
        return
    if group is not None:
        yield from _group_items(group, label, fmt, closed=False)


def _line_array_items(label: str, lineno: int, line: bytes) -> Iterator[RawItem]:
    """A one-line JSON array in a .json file: its elements are the records."""
    try:
        elements = _array_elements(line.decode("utf-8"))
    except (ValueError, RecursionError):  # not UTF-8 or not JSON: reported line by line as usual
        yield RawItem(label, lineno, line)
        return
    yield from _element_items(label, lineno, elements)


def _parquet_items(path: Path, label: str) -> Iterator[RawItem]:
    size = path.stat().st_size
    if size == 0:
        return
    with open(path, "rb") as fh:
        head = fh.read(4)
        fh.seek(max(size - 4, 0))
        tail = fh.read(4)
    if head != b"PAR1":
        yield RawItem(label, None, None, Violation(
            "wrong_format", f"{label}: not a Parquet file (the content looks like {_looks_like(head)})"))
        return
    if size < 12 or tail != b"PAR1":
        yield RawItem(label, None, None, Violation(
            "truncated_file", f"{label}: truncated Parquet: the file ends at byte {size} without its footer; no row can be read"))
        return
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # corrupt footer: no row can be located
        yield RawItem(label, None, None, Violation(
            "unreadable_file", f"{label}: Parquet footer unreadable ({type(exc).__name__}); no row can be read"))
        return
    try:
        row = 0
        for rg in range(pf.num_row_groups):
            start, n = row, pf.metadata.row_group(rg).num_rows
            try:
                for batch in pf.iter_batches(batch_size=4096, row_groups=[rg]):
                    for rec in _batch_records(batch):
                        bad = isinstance(rec, Violation)
                        yield RawItem(label, row, None if bad else rec, rec if bad else None)
                        row += 1
            except Exception as exc:  # a damaged row group: one row for what is left of it
                yield RawItem(label, row, None, Violation(
                    "unreadable_file",
                    f"{label}: Parquet row group {rg} unreadable from row {row} ({type(exc).__name__}); "
                    f"rows {row}-{start + n - 1} are this one row, the other row groups are read",
                ))
                row = start + n
    finally:
        pf.close()


def _batch_records(batch) -> list:
    try:
        return batch.to_pylist()
    except Exception:  # a value Python cannot hold (e.g. a timestamp out of range): row by row
        out: list = []
        for i in range(batch.num_rows):
            try:
                out.extend(batch.slice(i, 1).to_pylist())
            except Exception as exc:
                out.append(Violation("wrong_type", f"Parquet row: a value cannot be converted ({type(exc).__name__})"))
        return out


def iter_items(path: Path, *, label: str | None = None, fmt: str | None = None, gz: bool | None = None) -> Iterator[RawItem]:
    """The input rows of one file (see the module docstring)."""
    label = label or str(path)
    known = file_format(path.name) or ("jsonl", path.name.lower().endswith(".gz"))
    fmt = fmt or known[0]
    gz = known[1] if gz is None else gz
    if fmt == "parquet":
        yield from _parquet_items(path, label)
        return
    with open(path, "rb") as fh:
        head = fh.read(8)
    if not gz:
        what = _looks_like(head)
        if any(head.startswith(m) for m, _ in _MAGIC):
            yield RawItem(label, None, None, Violation(
                "wrong_format", f"{label}: the content is {what}, not JSON text (check the file name's extension)"))
            return
    yield from _text_items(path, label, fmt, gz)


def _decode(item: RawItem) -> object:
    if item.value is not _UNSET:
        return item.value
    if isinstance(item.payload, dict):
        return item.payload
    try:
        text = item.payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContractError(Violation("invalid_utf8", f"line is not valid UTF-8 (byte offset {exc.start})")) from None
    if len(item.payload) > contract.MAX_RECORD_BYTES:
        raise ContractError(Violation("oversize", f"record larger than {contract.MAX_RECORD_BYTES} bytes"))
    try:
        return json.loads(text.removeprefix("\ufeff"))  # a BOM of a file concatenated onto another
    except json.JSONDecodeError as exc:
        raise ContractError(Violation("invalid_json", f"invalid JSON at column {exc.colno}: {exc.msg}")) from None
    except RecursionError:
        raise ContractError(Violation("invalid_json", "JSON nested too deeply")) from None


def _peek_id(obj: object) -> str | None:
    if isinstance(obj, dict):
        cid = obj.get("conversation_id")
        if isinstance(cid, str) and len(cid) <= contract.MAX_ID_CHARS:
            return cid
    return None


def _payload_for_raw_zone(item: RawItem) -> str:
    if item.value is not _UNSET and not isinstance(item.payload, bytes):
        return json.dumps(item.value, ensure_ascii=False, default=str)
    if isinstance(item.payload, dict):
        return json.dumps(item.payload, ensure_ascii=False, default=str)
    if item.payload is None:
        return ""
    return item.payload.decode("utf-8", errors="backslashreplace")


def _file_items(f: Path, label: str) -> Iterator[RawItem]:
    """:func:`iter_items` that never raises: an unexpected failure is one more quarantine row, and
    a file without a single record is one ``empty_file`` row."""
    n = 0
    it = iter_items(f, label=label)
    while True:
        try:
            item = next(it)
        except StopIteration:
            break
        except Exception as exc:
            yield RawItem(label, None, None, Violation(
                "unreadable_file", f"{label}: the file cannot be read ({type(exc).__name__}); "
                f"{n} records were read before the error"))
            return
        n += 1
        yield item
    if n == 0:
        try:
            size = f"{f.stat().st_size} bytes"
        except OSError:
            size = "size unknown"
        yield RawItem(label, None, None, Violation("empty_file", f"{label}: the file holds no records ({size})"))


def read_source(
    source: str | Path,
    *,
    max_content_chars: int = contract.MAX_CONTENT_CHARS,
    seen_ids: set[str] | None = None,
) -> IntakeResult:
    """Read and validate every record under ``source``.

    Duplicate ``conversation_id``s: the first occurrence (in file order, files sorted) is kept,
    later ones are quarantined as ``duplicate_id``. ``seen_ids`` lets callers extend the
    uniqueness check across batches.
    """
    base = Path(source) if Path(source).is_dir() else Path(source).parent
    files, skipped = discover_all(source)
    seen: set[str] = set() if seen_ids is None else seen_ids
    good: list[dict] = []
    bad: list[dict] = []
    payloads: list[dict] = []
    now = datetime.now(UTC)
    rows_in = 0
    for f in files:
        label = _rel(f, base)
        for item in _file_items(f, label):
            rows_in += 1
            obj = None if item.value is _UNSET else item.value
            try:
                if item.error:
                    raise ContractError(item.error)
                obj = _decode(item)
                rec = contract.normalise(obj, max_content_chars=max_content_chars)
                if rec["conversation_id"] in seen:
                    raise ContractError(Violation("duplicate_id", "conversation_id already seen earlier in the batch"))
                seen.add(rec["conversation_id"])
                rec["source"] = item.source
                rec["source_row"] = item.row
                good.append(rec)
            except Exception as exc:
                v = exc.violation if isinstance(exc, ContractError) else Violation(
                    "unexpected_error", f"record could not be validated ({type(exc).__name__}): an intake bug")
                bad.append(
                    {
                        "source": item.source,
                        "source_row": item.row,
                        "conversation_id": _peek_id(obj),
                        "reason_code": v.code,
                        "reason": f"{item.where}: {v.reason}" if item.where else v.reason,
                        "quarantined_at": now,
                    }
                )
                payloads.append(
                    {"source": item.source, "source_row": item.row, "payload": _payload_for_raw_zone(item)}
                )
    quarantine = (
        pl.DataFrame(bad, schema=contract.QUARANTINE_SCHEMA) if bad else contract.empty_quarantine()
    )
    valid = contract.to_frame(good)
    if rows_in != valid.height + quarantine.height:  # by construction; a bug here must not pass unseen
        raise AssertionError(f"intake row balance broken: {rows_in} in, {valid.height} out, {quarantine.height} quarantined")
    return IntakeResult(
        valid=valid,
        quarantine=quarantine,
        quarantine_payloads=payloads,
        rows_in=rows_in,
        files=[_rel(f, base) for f in files],
        skipped=[{"source": _rel(f, base), "reason": why} for f, why in skipped],
    )
