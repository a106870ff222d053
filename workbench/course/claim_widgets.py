"""Lesson 14, the widgets: seven steps from a researcher's CSV to a big run's calibrated interval and a report.

:class:`ClaimCheck` shows one small panel per step (:mod:`workbench.course.claim_check`
does the work): each button runs its step once, keeps the result, and clears
what depended on the old one (new data clear the fit, a new fit clears the
backtests).  A step that fails leaves everything as it was and says why in one
line under its button, so a malformed CSV or a hostile formula never shows a
traceback and never half-changes the state.

Only step 6 reacts to sliders: :class:`ClaimExplorer` moves the big run, and
each move evaluates the fitted law and its bootstrap draws along one path (a
few milliseconds); the fit, the backtests and the scoreboard are not touched.
Its chart is the course's batch figure ``claim-check-prediction`` on the
bundled example.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import altair as alt
import ipywidgets as w
import numpy as np
import polars as pl

from workbench.course import Figure, explorer, explorer_figure, figure
from workbench.course.claim_check import (
    DEFAULT_FORMULA,
    LIBRARY,
    Claim,
    backtest_claim,
    bundled,
    bundled_claim,
    claim_bibtex,
    claim_report,
    compare_claim,
    default_big_run,
    distance_table,
    fit_claim,
    from_path,
    from_upload,
    interval_sentence,
    law_of,
    library_options,
    predict_path,
    slider_range,
)
from workbench.course.style import BLUE, GREY, LOG, PANEL, RED, SCI, named, slider
from workbench.errors import WorkbenchError, one_line
from workbench.viz.explorer import Explorer, next_stem

BANDS = ("calibrated 95% interval", "bootstrap 95% interval")
PARTS = ("within the backtests", "beyond them (extrapolated)")  # the calibrated half-width: solid, then dashed
DASHES = alt.Scale(domain=list(PARTS), range=[[1, 0], [5, 3]])
WIDE = w.Layout(width="600px")
LABEL = {"description_width": "120px"}


def error_html(message: str) -> str:
    """A failure as the one red line a step shows under its button."""
    return f'<span style="color:#b3261e"><b>✖ {html.escape(one_line(message, 400))}</b></span>'


def html_table(frame: pl.DataFrame, digits: int = 4) -> str:
    """A small frame as an HTML table (floats to ``digits`` significant digits), for a step's message."""

    def cell(v) -> str:
        return "–" if v is None else html.escape(f"{v:.{digits}g}" if isinstance(v, float) else str(v))

    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in frame.iter_rows())
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# -- step 6: the big run's explorer -------------------------------------------------------------------------


def claim_chart(size: str, target: str) -> alt.HConcatChart:
    x = alt.X("size:Q", scale=LOG, axis=SCI, title=f"{size} (the law's path from the smallest run to the big run)")
    colour = alt.Color(
        "band:N", scale=alt.Scale(domain=list(BANDS), range=[RED, BLUE]), title=None, legend=alt.Legend(orient="bottom")
    )
    bands = alt.Chart(named("bands")).mark_area(opacity=0.22).encode(x=x, y="lo:Q", y2="hi:Q", color=colour)
    y = alt.Y("value:Q", scale=alt.Scale(zero=False), title=target)
    line = alt.Chart(named("path")).mark_line(color=BLUE, strokeWidth=2).encode(x=x, y=y, order="order:Q")
    runs = (
        alt.Chart(named("runs"))
        .mark_circle(size=16, color=GREY, opacity=0.7)
        .encode(x="size:Q", y="value:Q", tooltip=["size:Q", "value:Q"])
    )
    claim = alt.Chart(named("claim"))
    calibrated = claim.mark_rule(color=RED, strokeWidth=1.5).encode(x="size:Q", y="pi_lo:Q", y2="pi_hi:Q")
    boot = claim.mark_rule(color=BLUE, strokeWidth=5).encode(x="size:Q", y="ci_lo:Q", y2="ci_hi:Q")
    you = (
        alt.Chart(named("claim"))
        .mark_point(shape="diamond", size=140, filled=True, color=RED)
        .encode(x="size:Q", y="value:Q", tooltip=["value:Q", "ci_lo:Q", "ci_hi:Q", "pi_lo:Q", "pi_hi:Q", "decades:Q"])
    )
    left = alt.layer(bands, line, runs, calibrated, boot, you).properties(
        width=PANEL + 40, height=300, title="the runs, the law and your big run"
    )
    d = alt.X("decades:Q", title="decades beyond the fitted data")
    errors = (
        alt.Chart(named("errors"))
        .mark_circle(size=12, color=GREY, opacity=0.35)
        .encode(x=d, y=alt.Y("error:Q", title="|log error| × 100 (≈ % of the measured value)"))
    )
    envelope = (
        alt.Chart(named("envelope"))
        .mark_line(color=RED, strokeWidth=2)
        .encode(x="decades:Q", y="error:Q", strokeDash=alt.StrokeDash("part:N", scale=DASHES, legend=None))
    )
    rule = alt.Chart(named("claim")).mark_rule(color=RED, strokeDash=[4, 3]).encode(x="decades:Q")
    mark = (
        alt.Chart(named("claim"))
        .mark_point(shape="diamond", size=140, filled=True, color=RED)
        .encode(x="decades:Q", y="half_width:Q")
    )
    right = alt.layer(errors, envelope, rule, mark).properties(
        width=PANEL, height=300, title="backtests: how wrong the law was, by distance"
    )
    return alt.hconcat(left, right)


class ClaimExplorer(Explorer):
    """The big run's size (one slider per variable of the law) -> its prediction with both intervals."""

    stem = "claim-check"
    heading = "Your big run, with a bootstrap and a calibrated interval"

    def __init__(self, claim: Claim, big_run: dict[str, float] | None = None, **kwargs):
        if not claim.backtested:
            raise WorkbenchError("run the backtests (step 4) before predicting with a calibrated interval")
        self.claim = claim
        start = big_run or default_big_run(claim)
        self.sliders = {v: self._slider(v, start[v]) for v in claim.law.variables}
        self._static = self._static_tables()
        self._pi = None
        super().__init__(bibtex=claim_bibtex(claim), **kwargs)

    def _slider(self, variable: str, value: float) -> w.FloatLogSlider:
        lo, hi = slider_range(self.claim, variable)
        return slider(
            w.FloatLogSlider,
            value=value,
            base=10,
            min=lo,
            max=hi,
            step=0.01,
            readout_format=".3g",
            description=f"big run's {variable}",
        )

    def _static_tables(self) -> dict[str, pl.DataFrame]:
        """The runs and the backtest errors: computed once, they do not move with the sliders."""
        claim, errors = self.claim, self.claim.errors
        runs = claim.frame.select(pl.col(claim.size).alias("size"), pl.col(claim.law.target).alias("value"))
        points = pl.DataFrame({"decades": errors.decades, "error": 100 * np.abs(errors.log_residuals)})
        return {"runs": runs, "errors": points.filter(pl.col("error").is_finite())}

    def point(self) -> dict[str, float]:
        return {v: float(s.value) for v, s in self.sliders.items()}

    def controls(self):
        return list(self.sliders.values())

    def tables(self):
        path, pi = predict_path(self.claim, self.point())
        self._pi = pi
        last = path.row(-1, named=True)
        half = max(math.log(pi.hi / last["value"]), math.log(last["value"] / pi.lo))
        cal = self.claim.calibration
        reach, far = cal.reach, max(cal.reach, pi.decades)
        d = np.concatenate([np.linspace(0, reach, 24), np.linspace(reach, far, 12)])
        part = [PARTS[0]] * 24 + [PARTS[1]] * 12
        bands = pl.concat(
            [
                path.select("size", lo=pl.col(f"{k}_lo"), hi=pl.col(f"{k}_hi"), band=pl.lit(b))
                for k, b in zip(("pi", "ci"), BANDS)
            ]
        )
        return {
            **self._static,
            "path": path.select("size", "value", "order"),
            "bands": bands,
            "claim": pl.DataFrame([{**last, "half_width": 100 * half}]).drop("order"),
            "envelope": pl.DataFrame({"decades": d, "error": 100 * cal.half_width(d), "part": part}),
        }

    def chart(self):
        return claim_chart(self.claim.size, self.claim.law.target)

    def sentence(self) -> str:
        return interval_sentence(self.claim, self.point(), self._pi)

    def fits(self):
        return {"your law": self.claim.fit}


@figure("claim-check-prediction", requires=("corpus/chinchilla_epoch",))
def claim_figure() -> Figure:
    ex = ClaimExplorer(bundled_claim())
    return explorer_figure(
        ex,
        "claim-check-prediction",
        "14_checking_a_claim",
        f"The Chinchilla formula typed by hand ({DEFAULT_FORMULA}), fitted to the 245 runs of Hoffmann et al.'s "
        "Figure 4 (Epoch AI's digitisation) with a 200-draw bootstrap, predicts Chinchilla's own run (70B "
        "parameters, 1.4T tokens). Left: the runs, the law along a path from the smallest run to the big run, "
        "its bootstrap band (sampling noise) and its calibrated band (widened by split-conformal prediction on "
        "rolling-origin backtest errors). Right: every backtest error against its distance beyond the data it "
        "was fitted on, and the calibrated half-width (dashed beyond the farthest backtest).",
    )


@explorer("14_checking_a_claim")
def claim_explorer():
    return ClaimExplorer(bundled_claim())


# -- the seven steps ---------------------------------------------------------------------------------------


class ClaimCheck:
    """The notebook's seven steps as widgets; each step's method is what its button calls (True on success)."""

    def __init__(self, export_dir: str | Path = "exports"):
        self.export_dir = Path(export_dir)
        self.data = bundled()
        self.law = law_of(DEFAULT_FORMULA, self.data)
        self.claim: Claim | None = None
        self.explorer: ClaimExplorer | None = None
        self.path = w.Text(placeholder="a CSV or parquet file; empty: the bundled example", description="data file",
                           layout=WIDE, style=LABEL)  # fmt: skip
        self.upload = w.FileUpload(accept=".csv,.parquet,.pq", multiple=False, description="Upload a file")
        self.formula = w.Text(value=DEFAULT_FORMULA, description="law", layout=WIDE, style=LABEL)
        self.library = w.SelectMultiple(description="library laws", rows=6, layout=w.Layout(width="400px"), style=LABEL)
        self.messages = {k: (w.HTMLMath if k == "law" else w.HTML)() for k in ("data", "law", "fit", "backtest",
                                                                              "compare", "export")}  # fmt: skip
        self.prediction = w.VBox()
        self.buttons = {
            "data": w.Button(description="Load", icon="folder-open"),
            "law": w.Button(description="Use this law", icon="check"),
            "fit": w.Button(description="Fit (with bootstrap)", icon="play"),
            "backtest": w.Button(description="Run backtests", icon="play"),
            "compare": w.Button(description="Compare", icon="play"),
            "figure": w.Button(description="Export figure", icon="download"),
            "report": w.Button(description="Write report", icon="file"),
        }
        actions = {"data": self.load, "law": self.use_law, "fit": self.fit, "backtest": self.backtest,
                   "compare": self.compare, "figure": self.export_figure, "report": self.write_report}  # fmt: skip
        for key, action in actions.items():
            self.buttons[key].on_click(lambda _, act=action: act())
        self.upload.observe(lambda _: self.load_upload(), names="value")
        self.messages["data"].value = html.escape(self.data.describe())
        self._show_law()
        self._reset()

    # -- steps ----------------------------------------------------------------------------------------------
    def _attempt(self, key: str, step) -> bool:
        """Run ``step``; on failure say why under step ``key`` and change nothing."""
        try:
            step()
        except WorkbenchError as exc:
            self.messages[key].value = error_html(str(exc))
            return False
        except Exception as exc:  # noqa: BLE001  (a bug, but the notebook shows one line, not a traceback)
            self.messages[key].value = error_html(f"unexpected {type(exc).__name__}: {exc} (please report this)")
            return False
        return True

    def load(self, text: str | None = None) -> bool:
        """Step 1: the file in the path box (or ``text``); empty: the bundled example."""
        return self._attempt("data", lambda: self._set_data(from_path(self.path.value if text is None else text)))

    def load_upload(self) -> bool:
        """Step 1, from the upload button."""
        if not self.upload.value:
            return False
        item = self.upload.value[0]
        return self._attempt("data", lambda: self._set_data(from_upload(item["name"], bytes(item["content"]))))

    def _set_data(self, data) -> None:
        self.data = data
        self.messages["data"].value = html.escape(data.describe())
        self._reset()
        self.use_law()

    def use_law(self, text: str | None = None) -> bool:
        """Step 2: the formula (or ``.toml`` law file) in the law box, or ``text``."""
        if text is not None:
            self.formula.value = text

        def step():
            self.law = law_of(self.formula.value, self.data)
            self._reset()
            self._show_law()

        return self._attempt("law", step)

    def _show_law(self) -> None:
        law = self.law
        linear = {p.name for p in law.linear}
        params = ", ".join(f"{p.name}{' (solved exactly)' if p.name in linear else ''}" for p in law.parameters)
        self.messages["law"].value = (
            f"{html.escape(law.title)}: $${html.escape(law.latex)}$$<br>"
            f"variables (data columns): {html.escape(', '.join(law.variables))}; parameters: {html.escape(params)}"
        )
        options = library_options(self.data, law)
        self.library.options = options
        self.library.value = tuple(n for n in LIBRARY if n in options)

    def _reset(self) -> None:
        """Forget the fit and everything after it (the data or the law changed)."""
        self.claim, self.explorer = None, None
        for key in ("fit", "backtest", "compare", "export"):
            self.messages[key].value = ""
        self.prediction.children = (w.HTML("<i>Fit the law (step 3) and run its backtests (step 4) first.</i>"),)

    def fit(self) -> bool:
        """Step 3: fit the law to the data, with a bootstrap."""

        def step():
            claim = fit_claim(self.data, self.law)
            self._reset()
            self.claim = claim
            result = claim.fit
            notes = "".join(f"<br>{html.escape(n)}" for n in claim.notes)
            caution = html.escape(result.caution()) or "The fit flags no constant (at a bound, poorly identified)."
            self.messages["fit"].value = (
                f"{html.escape(result.law.name)} fitted to {result.n_points} runs in {1e3 * result.fit_seconds:.0f} ms "
                f"({result.loss} loss, {'converged' if result.converged else 'NOT converged'}):"
                f"{html_table(result.table(), 6)}<b>{caution}</b>{notes}"
            )

        return self._needs(self.law, "law", "use a law first (step 2)") and self._attempt("fit", step)

    def _needs(self, thing, key: str, message: str) -> bool:
        if thing is None:
            self.messages[key].value = error_html(message)
        return thing is not None

    def backtest(self) -> bool:
        """Step 4: rolling-origin backtests and their calibration; then the big run's explorer (step 6)."""

        def step():
            claim = backtest_claim(self.claim)
            ex = ClaimExplorer(claim, export_dir=self.export_dir)
            self.claim, self.explorer = claim, ex
            errors, cal = claim.errors, claim.calibration
            fitted = sum(o.error is None for o in errors.origins)
            self.messages["backtest"].value = (
                f"{fitted} origins (the law fitted on every run up to each of {fitted} sizes of {claim.size}), "
                f"{errors.n:,} predictions of larger sizes, up to {cal.reach:.2f} decades out; "
                f"mean |log error| {100 * errors.mae_log:.2f} %.{html_table(distance_table(errors))}"
                + "".join(f"<br><b>{html.escape(n)}</b>" for n in cal.notes)
            )
            self.prediction.children = (w.VBox(ex.controls()), ex.message, ex.live.widget)

        return self._needs(self.claim, "backtest", "fit the law first (step 3)") and self._attempt("backtest", step)

    def compare(self, names=None) -> bool:
        """Step 5: the scoreboard of your law against the library laws chosen (or ``names``)."""

        def step():
            claim = compare_claim(self.claim, list(self.library.value if names is None else names))
            self.claim = claim
            if self.explorer is not None:
                self.explorer.claim, self.explorer.bibtex = claim, claim_bibtex(claim)
            board = claim.board
            self.messages["compare"].value = f"{html_table(board.table())}<b>{html.escape(board.verdict())}.</b>"

        return self._needs(self.claim, "compare", "fit the law first (step 3)") and self._attempt("compare", step)

    def export_figure(self) -> list[Path]:
        """Step 7: the big run's figure as PNG, SVG and PDF, with its tables, caption and BibTeX."""
        out: list[Path] = []
        if self._needs(self.explorer, "export", "run the backtests first (step 4)"):
            self._attempt("export", lambda: out.extend(self.explorer.export(self.export_dir)))
            if out:
                self.messages["export"].value = self._wrote(out)
        return out

    def write_report(self) -> list[Path]:
        """Step 7: the Markdown report of the claim (and its BibTeX), under the next free number."""
        out: list[Path] = []

        def step():
            text = claim_report(self.claim, self.explorer.point())
            self.export_dir.mkdir(parents=True, exist_ok=True)
            stem = next_stem(self.export_dir, "claim-report")
            report, bib = self.export_dir / f"{stem}.md", self.export_dir / f"{stem}.bib"
            report.write_text(text, encoding="utf-8")
            bib.write_text(claim_bibtex(self.claim), encoding="utf-8")
            out.extend([report, bib])
            self.messages["export"].value = self._wrote(out)

        if self._needs(self.explorer, "export", "run the backtests first (step 4)"):
            self._attempt("export", step)
        return out

    def _wrote(self, paths: list[Path]) -> str:
        names = ", ".join(f"<code>{html.escape(p.name)}</code>" for p in paths)
        return f"Wrote {len(paths)} files to <code>{html.escape(str(self.export_dir))}</code>: {names}"

    # -- the panels the notebook shows ----------------------------------------------------------------------
    def _panel(self, key: str, *widgets) -> w.VBox:
        return w.VBox([*widgets, self.buttons[key], self.messages[key]])

    @property
    def data_step(self) -> w.VBox:
        return w.VBox([self.path, w.HBox([self.buttons["data"], self.upload]), self.messages["data"]])

    @property
    def law_step(self) -> w.VBox:
        return self._panel("law", self.formula)

    @property
    def fit_step(self) -> w.VBox:
        return self._panel("fit")

    @property
    def backtest_step(self) -> w.VBox:
        return self._panel("backtest")

    @property
    def compare_step(self) -> w.VBox:
        return self._panel("compare", self.library)

    @property
    def predict_step(self) -> w.VBox:
        return self.prediction

    @property
    def export_step(self) -> w.VBox:
        return w.VBox([w.HBox([self.buttons["figure"], self.buttons["report"]]), self.messages["export"]])
