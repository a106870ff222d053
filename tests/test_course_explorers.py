"""Every registered course explorer survives every slider at its extremes (no exception,
a chart spec with data after each move) and records its update time."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from slider_latency import positions, sliders_of  # noqa: E402

from workbench.course import EXPLORERS, load_all  # noqa: E402

load_all()


@pytest.mark.parametrize("name", sorted(EXPLORERS))
def test_sliders_at_their_extremes(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # explorers export into ./exports
    ex = EXPLORERS[name]()
    sliders = sliders_of(ex.widget)
    assert sliders, f"{name} has no slider"
    for s in sliders:
        values = positions(s, n=3)
        for v in values:
            s.value = v
            assert ex.last_update_seconds > 0
            spec = ex.chart.spec if hasattr(ex, "chart") and hasattr(ex.chart, "spec") else ex.live.widget.spec
            assert spec and (spec.get("datasets") or spec.get("data"))
