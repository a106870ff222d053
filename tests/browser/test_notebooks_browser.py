"""Real browser: JupyterLab in headless Chromium runs each course notebook, moves a
slider, and the chart must change (screenshots in artifacts/browser/)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.browser


def test_chinchilla_budget_slider_changes_the_chart(notebook_in_browser):
    result = notebook_in_browser(ROOT / "notebooks" / "01_chinchilla.ipynb", slider_index=0, timeout=300)
    assert result.chart_changed
    assert result.before.rendered and result.after.rendered
    assert result.before.digest != result.after.digest


def test_corpus_tour_range_slider_changes_the_chart(notebook_in_browser):
    result = notebook_in_browser(ROOT / "notebooks" / "00_corpus_tour.ipynb", slider_index=0, key_presses=6, timeout=300)
    assert result.chart_changed
    assert result.before.rendered and result.after.rendered
    assert result.before.digest != result.after.digest
