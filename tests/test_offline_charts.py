"""Charts render offline without vl-convert in the kernel; an explorer's export renders in a child.

Both keep a notebook kernel small (benchmarks/kernel_memory.py measures it): vl-convert
costs a process about 100 MB once loaded.  Checked in fresh interpreters, so nothing this
test process imported earlier can hide a load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import ROOT

PROBE = """
import json, sys
import altair as alt
from workbench.viz.offline import enable_offline_charts
enable_offline_charts()
esm = alt.JupyterChart._esm
print(json.dumps({"offline": alt.JupyterChart._is_offline, "esm": len(esm), "vl_convert": "vl_convert" in sys.modules}))
"""

REFERENCE = """
import altair as alt
alt.JupyterChart.enable_offline()
print(len(alt.JupyterChart._esm))
"""

EXPORT = """
import json, sys
import altair as alt, polars as pl
from workbench.viz.export import export_figure
chart = alt.Chart(pl.DataFrame({"x": [1, 2, 3], "y": [3, 1, 2]})).mark_line().encode(x="x:Q", y="y:Q")
paths = export_figure(chart.to_dict(), sys.argv[1], "fig", isolate=True, caption="a caption")
print(json.dumps({"files": sorted(p.name for p in paths), "vl_convert": "vl_convert" in sys.modules}))
"""


def _run(code: str, *args: str, cache=None) -> str:
    env = dict(os.environ)
    if cache is not None:
        env["WORKBENCH_CACHE"] = str(cache)
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_offline_charts_use_altairs_bundle_without_loading_vl_convert(tmp_path):
    first = json.loads(_run(PROBE, cache=tmp_path))  # builds the bundle (in a child of the child)
    assert first == {"offline": True, "esm": first["esm"], "vl_convert": False}
    assert first["esm"] == int(_run(REFERENCE))  # the same JavaScript altair's enable_offline() makes
    (bundle,) = tmp_path.glob("jupyterchart-offline-*.js")
    built = bundle.stat().st_mtime_ns
    assert json.loads(_run(PROBE, cache=tmp_path)) == first  # the second kernel reads the cached bundle...
    assert bundle.stat().st_mtime_ns == built  # ...without rebuilding it
    assert len(list(tmp_path.iterdir())) == 1  # and no temporary file is left behind


def test_isolated_export_writes_every_format_and_leaves_vl_convert_out(tmp_path):
    out = json.loads(_run(EXPORT, str(tmp_path)))
    assert out["vl_convert"] is False
    assert out["files"] == ["fig-caption.txt", "fig.pdf", "fig.png", "fig.svg"]
    assert (tmp_path / "fig.pdf").read_bytes()[:4] == b"%PDF"
    assert (tmp_path / "fig.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "fig.svg").read_text().lstrip().startswith("<svg")
