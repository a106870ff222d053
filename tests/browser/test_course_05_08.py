"""Real browser, notebooks 05-08: JupyterLab in headless Chromium runs each notebook, moves its
first slider (the explorer's first control) and the chart must change (screenshots in
artifacts/browser/)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.browser


def _moves_the_chart(notebook_in_browser, name: str, **kwargs) -> None:
    result = notebook_in_browser(ROOT / "notebooks" / name, slider_index=0, timeout=300, **kwargs)
    assert result.chart_changed
    assert result.before.rendered and result.after.rendered
    assert result.before.digest != result.after.digest


def test_precision_slider_moves_the_frontier(notebook_in_browser):
    # W4A4 -> three steps right -> BF16: the red frontier, the optimal size and the ring move
    _moves_the_chart(notebook_in_browser, "05_precision.ipynb")


def test_inverse_scaling_points_fitted_moves_the_extrapolation(notebook_in_browser):
    # 14 -> 17 points fitted: the fitted range grows and the held-out rings disappear
    _moves_the_chart(notebook_in_browser, "06_inverse_scaling.ipynb")


def test_crossovers_fitted_range_moves_the_crossing(notebook_in_browser):
    # the slider starts at "all data"; moving left shrinks the fitted range and moves the fits
    _moves_the_chart(notebook_in_browser, "07_crossovers.ipynb", key="ArrowLeft")


def test_proxies_size_range_moves_the_fit(notebook_in_browser):
    # the lower handle of the size range moves right: the fitted band (and, with shipped runs, the fit) moves
    _moves_the_chart(notebook_in_browser, "08_proxies.ipynb", key_presses=6)
