"""Self-check of the browser harness (tests/browser/harness.py).

Writes a tiny notebook at test time (IntSlider + offline ``alt.JupyterChart`` whose
data depends on the slider), drives it in real JupyterLab + headless Chromium, and
checks that the harness sees the chart render (with marks, no CDN) and change.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:  # `pytest` (unlike `python -m pytest`) does not add the cwd
    sys.path.insert(0, str(_ROOT))

from tests.browser.harness import (  # noqa: E402
    CHROMIUM_PATH,
    BrowserHarnessError,
    run_notebook_in_browser,
)

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("playwright")
pytest.importorskip("anywidget")
pytest.importorskip("vl_convert")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM_PATH).exists() and not shutil.which("chromium"), reason=f"no Chromium at {CHROMIUM_PATH}"
    ),
]

SETUP = """\
import altair as alt
import ipywidgets as widgets
from IPython.display import display

alt.JupyterChart.enable_offline()  # JS from vl-convert's bundle: no CDN


def make_chart(n):
    values = [{"x": i, "y": i * i} for i in range(1, n + 1)]
    return (
        alt.Chart(alt.Data(values=values))
        .mark_bar()
        .encode(x="x:O", y="y:Q")
        .properties(width=320, height=200, title=f"first {n} squares")
    )
"""

WIDGETS = """\
slider = widgets.IntSlider(value=3, min=1, max=10, description="n")
readout = widgets.Label(value="n = 3", layout={"width": "120px"})
readout.add_class("wb-readout")
jchart = alt.JupyterChart(make_chart(slider.value), embed_options={EMBED})


def on_change(change):
    jchart.chart = make_chart(change["new"])
    readout.value = f"n = {change['new']}"


slider.observe(on_change, names="value")
display(widgets.HBox([slider, readout]), jchart)
"""


def _write_notebook(folder: Path, name: str, cells: list[str]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    path = folder / name
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("renderer", ["svg", "canvas"])
def test_harness_sees_offline_jupyterchart_follow_slider(tmp_path: Path, renderer: str) -> None:
    nb = _write_notebook(
        tmp_path,
        f"selfcheck_{renderer}.ipynb",
        [SETUP, WIDGETS.replace("{EMBED}", repr({"renderer": renderer, "actions": False}))],
    )
    original = nb.read_bytes()

    result = run_notebook_in_browser(
        nb,
        readout_selector=".wb-readout",
        key_presses=2,
        fail_on_external_requests=True,  # offline means offline: nothing but 127.0.0.1
        timeout=240,
    )

    # It really rendered (not an empty anywidget div / CDN error box) ...
    assert result.before.kind == renderer
    assert result.before.rendered and result.after.rendered
    if renderer == "svg":
        assert result.before.marks == 3  # one bar per x in 1..3
        assert result.after.marks == 5  # two ArrowRight presses: n = 5
    # ... and it followed the slider.
    assert result.chart_changed
    assert result.before.digest != result.after.digest
    assert (result.slider_before, result.slider_after) == ("3", "5")
    assert (result.before.readout, result.after.readout) == ("n = 3", "n = 5")
    assert result.slider_method == "keyboard"
    assert result.external_requests == []
    assert result.console_errors == []
    assert result.screenshot_before.stat().st_size > 0
    assert result.screenshot_after.stat().st_size > 0
    assert result.code_cells == 2
    # The user's notebook was never touched (the server ran on a temporary copy).
    assert nb.read_bytes() == original
    print(f"\n[{renderer}] timings: {result.timings}")


def test_harness_reports_cell_exceptions(tmp_path: Path) -> None:
    nb = _write_notebook(
        tmp_path,
        "selfcheck_raises.ipynb",
        [SETUP, "raise ValueError('deliberate failure for the harness self-check')"],
    )
    with pytest.raises(BrowserHarnessError) as info:
        run_notebook_in_browser(nb, timeout=180)
    message = str(info.value)
    assert "[run all]" in message
    assert "ValueError: deliberate failure for the harness self-check" in message
    assert "selfcheck_raises-failure.png" in message
