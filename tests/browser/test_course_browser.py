"""Real browser, every course notebook: JupyterLab in headless Chromium runs it (Run All),
moves the slider the notebook's explorer shows first, and the chart must change.  After Run
All and again after the slider moved, nothing a student sees may be broken: no output or
code cell wider than the notebook column, no raw dict/DataFrame/object repr in an output.

One JupyterLab server (on a copy of notebooks/) serves every notebook; each test opens its
own kernel and shuts it down.  Screenshots land in artifacts/browser/.

``chart_index`` counts the rendered charts (``.vega-embed``) in document order, for
notebooks where a static figure comes before the explorer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.browser

#: notebook -> how to move its first explorer's slider (and which chart must change)
SLIDERS = {
    "00_corpus_tour": {"key_presses": 6},  # the range slider narrows the shown runs
    "01_power_laws": {"chart_index": 1, "key_presses": 2},  # runs fitted: the extrapolation moves
    "02_chinchilla": {},  # the compute budget moves the optimum
    "03_chinchilla_approaches": {"chart_index": 1, "key_presses": 5},  # the budget moves the three optima
    "04_overtraining": {"key_presses": 1},  # the token multiplier changes the law
    "05_downstream": {"key_presses": 10},  # the loss moves the predicted error
    "06_precision": {},  # W4A4 -> BF16: the frontier, the optimal size and the ring move
    "07_inverse_scaling": {},  # 14 -> 17 points fitted: the fitted range grows
    "08_crossovers": {"key": "ArrowLeft"},  # from "all data" leftwards: the fitted range shrinks
    "09_proxies": {"key_presses": 6},  # the lower end of the size range moves the fit
    "10_lr_schedules": {},  # the decay fraction moves your schedule's curve
    "11_data_constraints": {},  # unique tokens move the loss curves
    "12_inference_scaling": {},  # the fit range moves the extrapolation
    "13_nmt": {"chart_index": 1},  # the encoder share moves your split (chart 0 is the static proxy fit)
    "14_checking_a_claim": {},  # the big run's params move its prediction, bands and distance (steps 1-5: no chart)
}


def test_every_course_notebook_is_driven():
    assert set(SLIDERS) == {p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}


@pytest.mark.parametrize("stem", list(SLIDERS))
def test_notebook_runs_and_its_slider_changes_the_chart(stem, notebook_in_browser, course_server):
    result = notebook_in_browser(
        ROOT / "notebooks" / f"{stem}.ipynb", slider_index=0, timeout=300, server=course_server, **SLIDERS[stem]
    )
    assert result.slider_before != result.slider_after
    assert result.before.rendered and result.after.rendered
    assert result.chart_changed
    assert not result.layout_after_run and not result.layout_after_slider
