"""A fit the course shows never travels without its caution: widget sentence, chart subtitle, exported caption.

A constant that ended at a bound, or a poorly identified one, must be said
wherever its fit is shown: under the explorer's sentence, in the chart's
subtitle and in the caption file an export writes; and a batch-mode figure's
caption carries it into the index.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from workbench.course import Figure, crossovers
from workbench.fit import caution_of, fit
from workbench.fit.bootstrap import bootstrap
from workbench.fit.problem import make_problem
from workbench.laws import get_law
from workbench.viz.explorer import Explorer

LAW = get_law("power_offset_params")


def _fit_with_e_at_zero():
    """A pure power law fitted with an offset law: E has nothing to explain and ends at its bound 0."""
    n = np.geomspace(1e6, 1e9, 8)
    data = {"params": n, "loss": 40.0 * n**-0.2}
    return fit(LAW, data)


def test_caution_of_names_each_fit_and_each_problem():
    r = _fit_with_e_at_zero()
    assert any(f.kind == "at_bound" and f.parameter == "E" for f in r.flags)
    text = caution_of({"CLIP": r, "other": None})
    assert text.startswith("Caution: CLIP fit: E at its lower bound")
    assert (
        caution_of(
            {
                "clean": fit(
                    LAW, {"params": np.geomspace(1e6, 1e9, 8), "loss": 2.0 + 40.0 * np.geomspace(1e6, 1e9, 8) ** -0.2}
                )
            }
        )
        == ""
    )


class _OneFit(Explorer):
    stem = "one-fit"

    def __init__(self, result, **kwargs):
        import ipywidgets as w

        self.result = result
        self.dummy = w.IntSlider(value=1, min=0, max=2)
        super().__init__(**kwargs)

    def controls(self):
        return [self.dummy]

    def tables(self):
        return {"points": pl.DataFrame({"x": [1.0, 2.0], "y": [1.0, 2.0]})}

    def chart(self):
        import altair as alt

        return alt.Chart(alt.NamedData("points")).mark_point().encode(x="x:Q", y="y:Q")

    def readout(self) -> str:
        return "<b>a sentence</b>"

    def fits(self):
        return {"power law": self.result}


def test_explorer_shows_the_caution_under_its_sentence_and_in_its_export(tmp_path):
    ex = _OneFit(_fit_with_e_at_zero(), export_dir=tmp_path)
    assert "⚠ Caution: power law fit: E at its lower bound" in ex.message.value
    ex.dummy.value = 2  # an update keeps it
    assert "⚠ Caution" in ex.message.value
    paths = ex.export()
    caption = (tmp_path / "one-fit-001-caption.txt").read_text()
    assert caption.startswith("a sentence Caution: power law fit: E at its lower bound")
    assert any(p.name == "one-fit-001-caption.txt" for p in paths)


def test_bootstrap_flags_reach_the_caption():
    rng = np.random.default_rng(0)
    n = np.geomspace(1e6, 1e7, 6)  # one decade, noisy: A and alpha trade off
    data = {"params": n, "loss": (2.0 + 300.0 * n**-0.4) * np.exp(rng.normal(0, 0.02, n.size))}
    result, _ = bootstrap(make_problem(LAW, data), fit(LAW, data), draws=100, seed=0)
    assert any(f.kind == "poorly_identified" for f in result.flags)
    fig = Figure("x", "nb", "A caption.", None, caution=caution_of({"proxy": result}))
    assert fig.full_caption.startswith("A caption. Caution: proxy fit:") and "poorly identified" in fig.full_caption


def test_crossover_explorer_marks_a_constant_at_its_bound(monkeypatch):
    """The case a user met: 'E = 0.000 (0.000–0.000)' printed with no warning next to a confident crossing."""

    ex = crossovers.CrossoverExplorer()
    flagged = {name: f for name, f in ex.fits().items() if f.flags}
    for f in flagged.values():
        for flag in f.flags:
            assert flag.label in ex.message.value
    assert ("⚠ Caution" in ex.message.value) == bool(flagged)
    for cut in crossovers.clip_mammut_data().cuts:  # wherever E sits at 0, the sentence says so
        fits = crossovers.crossover_fits(crossovers.clip_mammut_data(), cut)["fits"]
        for name, f in fits.items():
            if f.params["E"] < 1e-9:
                assert any(fl.parameter == "E" and fl.kind == "at_bound" for fl in f.flags), (cut, name)
