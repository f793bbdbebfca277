import subprocess
import sys
import time


def test_definitions_load_fast_without_heavy_imports():
    code = (
        "import sys, time; t=time.time(); import agent_release.definitions as d; "
        "d.defs.resolve_all_asset_keys(); "
        "heavy=[m for m in ('spacy','presidio_analyzer','scipy','statsmodels','faker') if m in sys.modules]; "
        "print(round(time.time()-t,2), heavy)"
    )
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    seconds, heavy = out.split(" ", 1)
    assert heavy.strip() == "[]", heavy
    assert float(seconds) < 5.0
    assert time.monotonic() - t0 < 15


def test_every_asset_has_group_description_and_kinds():
    from agent_release.definitions import defs

    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name and node.group_name != "default", key
        assert node.description, key
        assert node.kinds, key
