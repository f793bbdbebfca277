import subprocess
import sys
import textwrap
import time

import duckdb
import polars as pl
import pytest

from agent_release.config import paths
from agent_release.warehouse import Lake, refresh_warehouse


def test_partition_writes_are_idempotent(home):
    lake = Lake.default()
    lake.write("demo.t", pl.DataFrame({"k": [1, 2]}), partition="2026-11-02")
    lake.write("demo.t", pl.DataFrame({"k": [3]}), partition="2026-11-03")
    lake.write("demo.t", pl.DataFrame({"k": [4, 5]}), partition="2026-11-02")  # re-run of a slice
    assert sorted(lake.read("demo.t")["k"].to_list()) == [3, 4, 5]
    assert lake.partitions("demo.t") == ["2026-11-02", "2026-11-03"]
    assert not list(lake.table_dir("demo.t").glob("*.tmp"))
    lake.write("demo.t", pl.DataFrame({"k": [9]}), replace_all=True)
    assert lake.read("demo.t")["k"].to_list() == [9]


def test_bad_names_rejected(home):
    lake = Lake.default()
    with pytest.raises(ValueError):
        lake.write("no_schema", pl.DataFrame({"k": [1]}))
    with pytest.raises(ValueError):
        lake.write("a.b", pl.DataFrame({"k": [1]}), partition="../x")


def test_views_hide_raw_zone_and_see_new_data(home):
    lake = Lake.default()
    lake.write("_raw.secret", pl.DataFrame({"v": ["pii"]}))
    lake.write("demo.t", pl.DataFrame({"k": [1]}), partition="a")
    st = refresh_warehouse()
    assert st["refreshed"] and st["tables"] == ["demo.t"]
    assert refresh_warehouse()["up_to_date"]  # no write window needed the second time
    con = duckdb.connect(str(paths().warehouse), read_only=True)
    try:
        assert con.execute("select count(*) from demo.t").fetchone()[0] == 1
        lake.write("demo.t", pl.DataFrame({"k": [2, 3]}), partition="b")
        # The open session sees the new partition without the file changing.
        assert con.execute("select count(*) from demo.t").fetchone()[0] == 3
        names = {r[0] for r in con.execute("select schema_name from duckdb_views() where not internal").fetchall()}
        assert "_raw" not in names
    finally:
        con.close()


ANALYST = textwrap.dedent(
    """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "ro")
    print("ready", flush=True)
    deadline = time.time() + float(sys.argv[3])
    n = 0
    while time.time() < deadline:
        n = con.execute("select count(*) from demo.t").fetchone()[0]
        time.sleep(0.05)
    print(n, flush=True)
    """
)


def _analyst(mode: str, seconds: float):
    proc = subprocess.Popen(
        [sys.executable, "-c", ANALYST, str(paths().warehouse), mode, str(seconds)],
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_analyst_read_only_session_never_blocks_pipeline(home):
    lake = Lake.default()
    lake.write("demo.t", pl.DataFrame({"k": [1]}), partition="a")
    refresh_warehouse()
    proc = _analyst("ro", 3.0)
    try:
        t0 = time.monotonic()
        for i in range(5):  # the pipeline keeps landing data while the analyst queries
            lake.write("demo.t", pl.DataFrame({"k": [i]}), partition=f"p{i}")
            assert refresh_warehouse(retry_s=0.5)["up_to_date"]
        # a brand-new table needs a write window: skipped, not failed, while the analyst holds it
        lake.write("demo.u", pl.DataFrame({"k": [1]}))
        st = refresh_warehouse(retry_s=0.5)
        assert st["refreshed"] is False
        assert time.monotonic() - t0 < 5
    finally:
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert int(out.strip()) == 6  # the analyst saw every partition landed during the session
    assert refresh_warehouse()["refreshed"]  # analyst gone: the new view is created


def test_pipeline_refresh_never_blocks_analyst(home):
    """The pipeline's write window on the analyst file is short, so an analyst connecting
    during a burst of refreshes gets in (after at most a brief retry)."""
    lake = Lake.default()
    lake.write("demo.t", pl.DataFrame({"k": [1]}))
    refresh_warehouse()
    connector = textwrap.dedent(
        """
        import sys, time, duckdb
        ok = waited = 0
        for _ in range(30):
            t0 = time.time()
            while True:
                try:
                    duckdb.connect(sys.argv[1], read_only=True).execute("select count(*) from demo.t").fetchone()
                    ok += 1
                    break
                except duckdb.Error:
                    if time.time() - t0 > 2:
                        break
                    time.sleep(0.01)
            waited = max(waited, time.time() - t0)
            time.sleep(0.02)
        print(ok, round(waited, 3), flush=True)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", connector, str(paths().warehouse)], stdout=subprocess.PIPE, text=True)
    windows = []
    for i in range(10):
        lake.write(f"demo.n{i}", pl.DataFrame({"k": [i]}))  # force a write window each time
        st = refresh_warehouse(retry_s=5)
        if st.get("refreshed"):
            windows.append(st["seconds"])
    out, _ = proc.communicate(timeout=60)
    ok, waited = out.split()
    assert int(ok) == 30, out  # every analyst connection succeeded
    assert float(waited) < 2.0
    assert windows and max(windows) < 2.0


def test_duckdb_cli_reads_the_warehouse_read_only(home):
    """Analysts use the DuckDB shell (the `duckdb-cli` dependency): the file must be in a storage
    format it reads, and a read-only shell works while the pipeline lands data."""
    from pathlib import Path

    cli = Path(sys.executable).parent / "duckdb"
    assert cli.exists(), "the duckdb-cli package is a project dependency; reinstall with `make install`"
    lake = Lake.default()
    lake.write("demo.t", pl.DataFrame({"k": [1, 2]}), partition="a")
    refresh_warehouse()
    lake.write("demo.t", pl.DataFrame({"k": [3]}), partition="b")
    out = subprocess.run([str(cli), "-readonly", "-csv", str(paths().warehouse), "-c", "select count(*) from demo.t"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "3"
