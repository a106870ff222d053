"""Real browser, course notebooks 01-04: JupyterLab in headless Chromium runs each notebook,
moves its first slider (the one that changes a fit or an extrapolation), and the explorer's
chart must change.  Screenshots land in artifacts/browser/.

``chart_index`` counts the rendered charts (``.vega-embed``) in document order: in 01 and 02
a static figure comes before the explorer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.browser


def _moved_and_changed(result) -> None:
    assert result.slider_before != result.slider_after
    assert result.before.rendered and result.after.rendered
    assert result.chart_changed
    assert result.before.digest != result.after.digest


def test_power_laws_runs_slider_changes_the_extrapolation(notebook_in_browser):
    result = notebook_in_browser(ROOT / "notebooks" / "01_power_laws.ipynb", slider_index=0, chart_index=1,
                                 key_presses=2, timeout=300)
    _moved_and_changed(result)


def test_chinchilla_approaches_budget_slider_moves_the_optima(notebook_in_browser):
    result = notebook_in_browser(ROOT / "notebooks" / "02_chinchilla_approaches.ipynb", slider_index=0, chart_index=1,
                                 key_presses=5, timeout=360)
    _moved_and_changed(result)


def test_overtraining_multiplier_slider_changes_the_law(notebook_in_browser):
    result = notebook_in_browser(ROOT / "notebooks" / "03_overtraining.ipynb", slider_index=0, chart_index=0,
                                 key="ArrowRight", key_presses=1, timeout=300)
    _moved_and_changed(result)


def test_downstream_loss_slider_moves_the_prediction(notebook_in_browser):
    result = notebook_in_browser(ROOT / "notebooks" / "04_downstream.ipynb", slider_index=0, chart_index=0,
                                 key_presses=10, timeout=300)
    _moved_and_changed(result)
