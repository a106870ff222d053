"""Real browser, notebooks 09-12: JupyterLab in headless Chromium runs each notebook, moves
its first slider (the one the notebook's explorer shows first) and the chart must change
(screenshots in artifacts/browser/)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.browser


def _moves_the_chart(notebook_in_browser, name: str, chart_index: int = 0) -> None:
    result = notebook_in_browser(ROOT / "notebooks" / name, slider_index=0, chart_index=chart_index, timeout=300)
    assert result.chart_changed
    assert result.before.rendered and result.after.rendered
    assert result.before.digest != result.after.digest


def test_lr_schedules_decay_fraction_moves_your_curve(notebook_in_browser):
    _moves_the_chart(notebook_in_browser, "09_lr_schedules.ipynb")


def test_data_constraints_unique_tokens_move_the_loss_curves(notebook_in_browser):
    _moves_the_chart(notebook_in_browser, "10_data_constraints.ipynb")


def test_inference_scaling_fit_range_moves_the_extrapolation(notebook_in_browser):
    _moves_the_chart(notebook_in_browser, "11_inference_scaling.ipynb")


def test_nmt_encoder_share_moves_your_split(notebook_in_browser):
    _moves_the_chart(notebook_in_browser, "12_nmt.ipynb", chart_index=1)  # chart 0 is the static proxy-fit figure
