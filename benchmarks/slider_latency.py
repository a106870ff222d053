"""Kernel-side latency of every course explorer's slider callbacks (target <= 50 ms).

For each registered explorer, every slider (and range slider) is moved to
several positions across its range; each move runs the same ``update`` the
browser triggers, and its wall time is recorded.  Prints the median and the
95th percentile per explorer.

Run: .venv/bin/python benchmarks/slider_latency.py
"""

from __future__ import annotations

import os

import ipywidgets as w
import numpy as np

from workbench.course import EXPLORERS, load_all

SLIDERS = (w.FloatSlider, w.FloatLogSlider, w.IntSlider, w.FloatRangeSlider, w.IntRangeSlider, w.SelectionSlider)


def sliders_of(widget):
    stack, out = [widget], []
    while stack:
        x = stack.pop()
        if isinstance(x, SLIDERS):
            out.append(x)
        stack.extend(getattr(x, "children", ()))
    return out


def positions(s, n=6):
    if isinstance(s, w.SelectionSlider):
        values = [o[1] if isinstance(o, tuple) else o for o in s.options]  # options may be (label, value)
        return values[:: max(1, len(values) // n)]
    if isinstance(s, (w.FloatRangeSlider, w.IntRangeSlider)):
        lo, hi = s.min, s.max
        return [(lo + (hi - lo) * f, hi) for f in np.linspace(0.05, 0.5, n)]
    if isinstance(s, w.FloatLogSlider):
        return [s.base**v for v in np.linspace(s.min, s.max, n)]
    vals = np.linspace(s.min, s.max, n)
    return [int(v) for v in vals] if isinstance(s, w.IntSlider) else list(vals)


def main() -> None:
    load_all()
    print(f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'explorer':<28}{'moves':>7}{'median ms':>11}{'p95 ms':>9}{'max ms':>9}")
    worst = 0.0
    for name, factory in EXPLORERS.items():
        ex = factory()
        times = []
        for s in sliders_of(ex.widget):
            original = s.value
            for v in positions(s):
                s.value = v
                times.append(ex.last_update_seconds)
            s.value = original
        if not times:
            print(f"{name:<28}  no sliders")
            continue
        t = np.array(times) * 1e3
        worst = max(worst, float(np.median(t)))
        print(f"{name:<28}{t.size:>7}{np.median(t):>11.1f}{np.percentile(t, 95):>9.1f}{t.max():>9.1f}")
    print(f"\ntarget (median <= 50 ms for every explorer): {'met' if worst <= 50 else 'NOT met'}")


if __name__ == "__main__":
    main()
