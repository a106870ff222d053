"""Lesson 14: checking a scaling claim before paying for it (a researcher's data, law, backtests and big run).

Why this module exists.  A researcher arrives with runs and a claim ("my law
says the 70B run will reach 2.01").  The workbench already has every piece to
check it: the readers that validate a CSV (:func:`workbench.corpus.read_user_table`),
a law typed as a formula or a TOML law file (:func:`workbench.laws.resolve_law`,
:meth:`Law.from_formula`), the fitting engine with its bootstrap, rolling-origin
backtests with their split-conformal widening and the backtest scoreboard
(:mod:`workbench.analysis.calibrate`).  This module only strings them together
in the order a researcher needs them, with one widget per step, and writes what
was found as a short Markdown report.

The steps are pure functions over small frozen records (:class:`Dataset`,
:class:`Claim`), so tests and batch mode call them without widgets:
:func:`bundled`/:func:`from_path`/:func:`from_upload` read the data,
:func:`law_of` reads the law, :func:`fit_claim`, :func:`backtest_claim` and
:func:`compare_claim` are the heavy steps (run on buttons, each once per
press), :func:`predict_path` is the only computation a slider triggers (a few
milliseconds: the law and its bootstrap draws along one path), and
:func:`claim_report` returns the report's text.  :class:`ClaimCheck` (in
:mod:`workbench.course.claim_widgets`) is the notebook's front end; every
failure a user can cause there is a one-line message, never a traceback.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl

from workbench.analysis.calibrate import (
    Calibration,
    PredictionInterval,
    RollingOrigin,
    Scoreboard,
    calibrate,
    rolling_origin,
    scoreboard,
    size_variable,
)
from workbench.errors import WorkbenchError, quote
from workbench.fit import FitResult, fit
from workbench.laws import LAWS, Law, get_law, resolve_law

BUNDLED = "chinchilla_epoch"  # the example ladder: 245 runs, 40 model sizes (Hoffmann et al. 2022, Fig. 4)
DEFAULT_FORMULA = "E + A/params**alpha + B/tokens**beta"  # Chinchilla's form, typed as a researcher would
YOUR_LAW = "your_law"  # the name a typed formula gets (on the scoreboard and in the report)
LIBRARY = ("chinchilla", "kaplan_nd")  # the library laws compared by default, when the data allow them
BIG_RUN = {"params": 7e10, "tokens": 1.4e12}  # Chinchilla itself: the default big run when the data reach it
DRAWS = 200  # bootstrap draws: the slider evaluates the law once per draw, so this sets its latency
SEED = 0
PATH_POINTS = 48  # points of the law's path from the smallest run to the big run
SLIDER_DECADES = 3.0  # the sliders reach this many decades beyond the largest run
MAX_UPLOAD_BYTES = 50_000_000
CONFORMAL = "1604.04173"  # Lei et al. 2018: split-conformal prediction intervals

#: What the calibrated interval covers, and what it cannot (the notebook and every report say it).
COVERS = (
    "The calibrated interval covers how wrong this law was when it extrapolated the smaller models of this "
    "ladder over the same distance (sampling noise and the law's form error as seen inside the data); it "
    "cannot cover a change of regime beyond the largest run (a new bottleneck, other data, another recipe or "
    "architecture at scale), because no backtest has seen one."
)


# -- step 1: the data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """Where the runs come from: a corpus source, a file, or the bytes of an upload (kept, never written back)."""

    label: str
    columns: tuple[str, ...]
    n_rows: int
    source: str | None = None
    path: Path | None = None
    content: bytes | None = None
    frame: pl.LazyFrame | None = None

    def rows(
        self, variables: Sequence[str], target: str = "loss", domains: Mapping[str, str] | None = None
    ) -> tuple[pl.DataFrame, tuple[str, ...]]:
        """The runs with ``variables`` and ``target`` as floats, checked by the corpus readers, and their notes."""
        variables = list(dict.fromkeys(variables))
        if self.source is not None:
            return _source_rows(self.source, variables, target)
        if self.path is not None:
            table = _read_user_table(self.path, variables, target, domains)
            return table.frame, table.notes
        if self.frame is not None:  # only the columns the law needs are collected
            table = _read_user_table(self.frame, variables, target, domains, label=self.label)
            return table.frame, table.notes
        with tempfile.TemporaryDirectory(prefix="claim-upload-") as tmp:
            path = Path(tmp) / self.label
            path.write_bytes(self.content or b"")
            try:
                table = _read_user_table(path, variables, target, domains)
            except WorkbenchError as exc:  # name the uploaded file, not the scratch copy
                raise WorkbenchError(str(exc).replace(str(path), self.label)) from None
        return table.frame, tuple(n.replace(str(path), self.label) for n in table.notes)

    def describe(self) -> str:
        shown = ", ".join(self.columns[:12]) + (" ..." if len(self.columns) > 12 else "")
        return f"{self.label}: {self.n_rows:,} rows; columns {shown}"


def _read_user_table(path, variables, target, domains, label: str | None = None):
    from workbench.corpus import read_user_table

    return read_user_table(path, variables, target, domains, label=label)


def _source_rows(source: str, variables: list[str], target: str) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """A corpus source's final-loss rows with ``variables`` (rows lacking one are left out, and a note says so)."""
    from workbench import corpus

    if target != "loss":
        raise WorkbenchError(f"corpus source {source!r}: this notebook fits the loss, not {quote(target)}")
    frame = corpus.loss_points(source)
    absent = [v for v in variables if v not in frame.columns or frame[v].null_count() == frame.height]
    if absent:
        raise WorkbenchError(f"corpus source {source!r} has no {', '.join(map(repr, absent))} values")
    complete = frame.drop_nulls(variables)
    notes = ()
    if complete.height < frame.height:
        notes = (f"{frame.height - complete.height} of {frame.height} rows lack {', '.join(variables)}; not fitted",)
    return complete.select(*variables, target), notes


@lru_cache(maxsize=1)
def bundled() -> Dataset:
    """The bundled example: every final-loss run of ``chinchilla_epoch`` (all 245, as ``fit --data`` takes them)."""
    from workbench import corpus

    frame = corpus.loss_points(BUNDLED)
    numeric = tuple(c for c in frame.columns if frame[c].dtype.is_numeric() and frame[c].null_count() < frame.height)
    return Dataset(f"{BUNDLED} (bundled example)", numeric, frame.height, source=BUNDLED)


def from_path(text: str) -> Dataset:
    """A CSV or parquet file named by ``text`` (empty: the bundled example); its header is read and checked."""
    from workbench.corpus.tables import read_text_table

    if not text or not text.strip():
        return bundled()
    path = Path(text.strip()).expanduser()
    raw = read_text_table(path)
    return Dataset(str(path), tuple(raw.columns), raw.height, path=path)


def from_frame(frame: pl.DataFrame | pl.LazyFrame, label: str = "your frame") -> Dataset:
    """Runs already in polars, e.g. ``corpus.scan("my-curves").filter(pl.col("final"))``: kept lazy, and
    only the columns a law needs are ever collected (the row count is one lazy ``len``)."""
    if not isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
        raise WorkbenchError(f"{label}: a polars DataFrame or LazyFrame is needed, not {type(frame).__name__}")
    lazy = frame.lazy()
    try:
        names = tuple(lazy.collect_schema().names())
        n_rows = int(lazy.select(pl.len()).collect().item())
    except pl.exceptions.PolarsError as exc:
        raise WorkbenchError(f"{label}: cannot be read ({str(exc).splitlines()[0][:200]})") from None
    return Dataset(label, names, n_rows, frame=lazy)


def from_upload(name: str, content: bytes) -> Dataset:
    """An uploaded file (``ipywidgets.FileUpload``), read from a scratch copy; messages name the upload."""
    from workbench.corpus.tables import read_text_table

    if len(content) > MAX_UPLOAD_BYTES:
        raise WorkbenchError(f"{quote(name)}: {len(content):,} bytes is more than the {MAX_UPLOAD_BYTES:,} accepted")
    safe = re.sub(r"[^\w.\-]", "_", Path(name or "upload.csv").name).lstrip(".") or "upload.csv"
    with tempfile.TemporaryDirectory(prefix="claim-upload-") as tmp:
        path = Path(tmp) / safe
        path.write_bytes(content)
        try:
            raw = read_text_table(path)
        except WorkbenchError as exc:
            raise WorkbenchError(str(exc).replace(str(path), safe)) from None
    return Dataset(safe, tuple(raw.columns), raw.height, content=bytes(content))


# -- step 2: the law ----------------------------------------------------------------------------------


def law_of(text: str, data: Dataset) -> Law:
    """The law a researcher typed: a formula over the data's columns, or the path of a ``.toml`` law file.

    The formula is checked against the whitelist before anything else (:mod:`workbench.laws.formula`);
    its names that are columns of ``data`` (or corpus axes) are the variables, every other name a parameter.
    """
    from workbench.corpus.formula_columns import formula_variables
    from workbench.laws.formula import formula_names

    text = (text or "").strip()
    if text.lower().endswith(".toml"):
        return resolve_law(text)
    formula_names(text)  # a hostile or malformed formula is refused before the data are looked at
    variables = formula_variables(text, data.columns)
    return Law.from_formula(text, variables, name=YOUR_LAW, title=f"your law: {' '.join(text.split())}")


def library_options(data: Dataset, law: Law | None = None) -> list[str]:
    """Registered loss laws whose variables the data have (tokens may come from flops), except ``law``'s name."""
    from workbench.corpus.tables import resolve_columns

    header = pl.DataFrame(schema={c: pl.String for c in data.columns})
    out = []
    for name, candidate in LAWS.items():
        if candidate.target != "loss" or (law is not None and name == law.name):
            continue
        try:
            found = resolve_columns(header, [*candidate.variables, "flops"], data.label)
        except WorkbenchError:
            continue
        derivable = {"tokens"} if {"flops", "params"} <= set(found) else set()
        if all(v in found or v in derivable for v in candidate.variables):
            out.append(name)
    return out


# -- steps 3-5: fit, backtest, compare -------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A law fitted to a researcher's runs, and (once run) its backtests and the scoreboard."""

    data: Dataset
    law: Law
    frame: pl.DataFrame
    notes: tuple[str, ...]
    fit: FitResult
    errors: RollingOrigin | None = None
    calibration: Calibration | None = None
    board: Scoreboard | None = None

    @property
    def size(self) -> str:
        return size_variable(self.law)

    @property
    def backtested(self) -> bool:
        return self.calibration is not None


def fit_claim(data: Dataset, law: Law, draws: int = DRAWS, seed: int = SEED) -> Claim:
    """Step 3: read the law's columns from the data, fit, and bootstrap ``draws`` times."""
    frame, notes = data.rows(law.variables, law.target, law.domains)
    result = fit(law, frame)
    if draws:
        result = result.bootstrap(draws=draws, seed=seed)
    return Claim(data, law, frame, tuple(notes), result)


def backtest_claim(claim: Claim) -> Claim:
    """Step 4: rolling-origin backtests of the law on its own data, and their split-conformal calibration."""
    errors = rolling_origin(claim.law, claim.frame)
    return replace(claim, errors=errors, calibration=calibrate(errors))


def compare_claim(claim: Claim, names: Sequence[str]) -> Claim:
    """Step 5: the backtest scoreboard of the law against the library laws ``names``, on the same ladder."""
    laws = [claim.law] + [get_law(n) for n in names if n != claim.law.name]
    variables = list(dict.fromkeys(v for law in laws for v in law.variables))
    frame, _ = claim.data.rows(variables, claim.law.target)
    return replace(claim, board=scoreboard(laws, frame))


@lru_cache(maxsize=1)
def bundled_claim() -> Claim:
    """Steps 1-4 on the bundled example with the default formula (for the batch figure and the latency benchmark)."""
    data = bundled()
    return backtest_claim(fit_claim(data, law_of(DEFAULT_FORMULA, data)))


# -- step 6: the big run ------------------------------------------------------------------------------------


def slider_range(claim: Claim, variable: str) -> tuple[float, float]:
    """log10 of the smallest run's value and of :data:`SLIDER_DECADES` beyond the largest run's."""
    lo, hi = claim.fit.domain[variable]
    return math.log10(lo), math.log10(hi) + SLIDER_DECADES


def default_big_run(claim: Claim) -> dict[str, float]:
    """Chinchilla's own run (:data:`BIG_RUN`) where the sliders reach it, else ten times the largest run."""
    out = {}
    for v in claim.law.variables:
        lo, hi = slider_range(claim, v)
        wanted = BIG_RUN.get(v)
        inside = wanted is not None and lo <= math.log10(wanted) <= hi
        out[v] = wanted if inside else claim.fit.domain[v][1] * 10
    return out


def _start(claim: Claim) -> dict[str, float]:
    """The smallest run (by the size variable), where the path starts."""
    i = int(np.argmin(claim.frame[claim.size].to_numpy()))
    return {v: float(claim.frame[v][i]) for v in claim.law.variables}


def predict_path(claim: Claim, point: Mapping[str, float]) -> tuple[pl.DataFrame, PredictionInterval]:
    """The law from the smallest run to ``point`` (log-spaced), with both bands, and the interval at ``point``.

    Per path point: the prediction, the bootstrap interval (``ci_lo``/``ci_hi``), the decades beyond the
    data and the calibrated interval (``pi_lo``/``pi_hi``, the conformal widening enveloping the
    bootstrap).  The last row is ``point``; its interval is what :func:`calibrated_intervals` gives.
    """
    if claim.calibration is None:
        raise WorkbenchError("run the backtests (step 4) before predicting with a calibrated interval")
    start, t = _start(claim), np.linspace(0.0, 1.0, PATH_POINTS)
    x = {v: start[v] * (float(point[v]) / start[v]) ** t for v in claim.law.variables}
    value = claim.fit.predict(x)
    band = claim.fit.prediction_interval(x)
    ci_lo, ci_hi = band if band is not None else (value, value)
    beyond = claim.fit.extrapolation(x)
    decades = np.max(np.column_stack([beyond[v] for v in claim.law.variables]), axis=1)
    w = claim.calibration.half_width(decades)
    path = pl.DataFrame(
        {
            "size": x[claim.size],
            "value": value,
            "ci_lo": ci_lo,
            "ci_hi": ci_hi,
            "pi_lo": np.minimum(value * np.exp(-w), ci_lo),
            "pi_hi": np.maximum(value * np.exp(w), ci_hi),
            "decades": decades,
            "order": np.arange(t.size),
        }
    )
    boot = (float(ci_lo[-1]), float(ci_hi[-1])) if band is not None else None
    return path, claim.calibration.interval(float(value[-1]), float(decades[-1]), boot)


def interval_sentence(claim: Claim, point: Mapping[str, float], pi: PredictionInterval) -> str:
    """The claim in one sentence: the point, how far out, both intervals, and whether the interval is calibrated."""
    where = ", ".join(f"{v} = {point[v]:.3g}" for v in claim.law.variables)
    far = "inside the fitted range" if pi.decades == 0 else f"{pi.decades:.2f} decades beyond the data"
    boot = ""
    if pi.bootstrap:
        lo, hi = pi.bootstrap
        boot = f"bootstrap {claim.fit.ci_level:.0%} interval {lo:.4g}-{hi:.4g} (sampling noise only); "
    head = (
        f"Big run at {where} ({far}): {claim.law.target} {point_value(claim, point):.4g}; {boot}"
        f"calibrated {pi.level:.0%} interval {pi.lo:.4g}-{pi.hi:.4g} from {pi.n_errors:,} backtest errors"
    )
    flags = flag_text(pi)
    return head + (f". Flagged: {flags}" if flags else ".")


def point_value(claim: Claim, point: Mapping[str, float]) -> float:
    """The fitted law's prediction at one point."""
    return float(claim.fit.predict({v: np.array([float(point[v])]) for v in claim.law.variables})[0])


def flag_text(pi: PredictionInterval) -> str:
    """Why an interval is not a calibrated 95 % one ("" when it is)."""
    parts = []
    if not pi.calibrated:
        parts.append(f"uncalibrated, the backtests reach only {pi.level:.1%}")
    if pi.beyond_backtests:
        parts.append("farther out than any backtest, so the widening is extrapolated")
    return "; ".join(parts) + ("." if parts else "")


# -- step 7: the report and its citations ------------------------------------------------------------------


def references(claim: Claim) -> tuple[list[str], list[str]]:
    """What to cite: the data's source, the papers of every law shown, and split-conformal prediction.

    Returns the keys :func:`~workbench.course.references.bib` resolves, and the arXiv ids it has no
    BibTeX for (listed in the report, never dropped).  A paper that is a corpus source's
    (``arXiv:2203.15556`` is ``chinchilla_epoch``'s) is cited through that source, so its BibTeX appears once.
    """
    from workbench import corpus
    from workbench.course.references import entries

    laws = [claim.law] + ([e.law for e in claim.board.entries] if claim.board else [])
    keys, missing = ([claim.data.source] if claim.data.source else []), []
    for ref in [r for law in laws for r in law.references] + [CONFORMAL]:
        arxiv = ref.removeprefix("arXiv:")
        sources = [sid for sid, s in corpus.sources().items() if arxiv in s.arxiv]
        if f"arXiv:{arxiv}" in entries():
            keys.append(arxiv)
        elif sources:
            keys.append(sources[0])
        else:
            missing.append(f"arXiv:{arxiv}")
    return list(dict.fromkeys(keys)), list(dict.fromkeys(missing))


def claim_bibtex(claim: Claim) -> str:
    from workbench.course.references import bib

    return bib(*references(claim)[0])


def markdown_table(frame: pl.DataFrame, digits: int = 4) -> str:
    """A polars frame as a Markdown table (floats to ``digits`` significant digits)."""

    def cell(v) -> str:
        text = "–" if v is None else f"{v:.{digits}g}" if isinstance(v, float) else str(v)
        return text.replace("|", "\\|")  # a '|' in a cell or a header would split its column

    lines = ["| " + " | ".join(cell(c) for c in frame.columns) + " |", "|" + "---|" * frame.width]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join(lines)


def band_label(lo: float, hi: float | None) -> str:
    return f"{lo:g} and more" if hi is None else f"{lo:g}-{hi:g}"


def distance_table(errors: RollingOrigin) -> pl.DataFrame:
    """The backtest errors by distance beyond the fitted data: how many, mean and median |log error| in %."""
    rows = [
        {
            "decades beyond the data": band_label(*b["decades"]),
            "backtest predictions": b["n"],
            "mean |log error| %": 100 * b["mae_log"],
            "median |log error| %": 100 * b["median_abs_log"],
        }
        for b in errors.by_distance()
    ]
    return pl.DataFrame(rows)


def claim_report(claim: Claim, point: Mapping[str, float]) -> str:
    """The report of a checked claim, as Markdown: the claim, its interval, the evidence and the caveats."""
    if claim.calibration is None or claim.errors is None:
        raise WorkbenchError("run the backtests (step 4) before writing the report: the interval comes from them")
    _, pi = predict_path(claim, point)
    caveats = [c for c in (claim.fit.caution(), flag_text(pi)) if c] + list(claim.calibration.notes) + list(claim.notes)
    sections = [
        "# Checking a scaling claim",
        f"## The claim\n\n{interval_sentence(claim, point, pi)}",
        "## The interval\n\n" + _interval_section(claim, point, pi),
        "## The evidence\n\n" + _evidence_section(claim),
        "## Caveats\n\n" + ("\n".join(f"- {c}" for c in caveats) if caveats else "- none flagged"),
        "## References\n\n" + reference_list(claim),
    ]
    return "\n\n".join(sections) + "\n"


def _draws(result: FitResult) -> int:
    return 0 if result.draws is None else len(result.draws)


def _interval_section(claim: Claim, point: Mapping[str, float], pi: PredictionInterval) -> str:
    result, cal = claim.fit, claim.calibration
    boot = f"{pi.bootstrap[0]:.4g} to {pi.bootstrap[1]:.4g}" if pi.bootstrap else "none (no bootstrap)"
    level = f"{pi.level:.1%}" + ("" if pi.calibrated else f", not the requested {cal.requested:.0%}")
    return (
        f"- point prediction: {result.law.target} = {point_value(claim, point):.4g}\n"
        f"- bootstrap {result.ci_level:.0%} interval (refits on resampled runs, {_draws(result)} draws): {boot}\n"
        f"- calibrated interval ({level}): {pi.lo:.4g} to {pi.hi:.4g}, {pi.decades:.2f} decades beyond the data "
        f"(the farthest backtest reached {cal.reach:.2f})\n"
        f"- method: {cal.method}\n\n{COVERS}"
    )


def _evidence_section(claim: Claim) -> str:
    result, errors = claim.fit, claim.errors
    board = "Not run."
    if claim.board:
        verdict = claim.board.verdict()
        board = f"{markdown_table(claim.board.table())}\n\n{verdict[:1].upper()}{verdict[1:]}."
    return (
        f"**Data.** {claim.data.label}: {claim.frame.height} runs, {errors.levels.size} distinct {claim.size} "
        f"values from {errors.levels[0]:.3g} to {errors.levels[-1]:.3g}.\n\n"
        f"**Law.** `{result.law.title}`: ${result.law.latex}$\n\n"
        f"**Fit.** {result.loss} loss, objective {result.objective:.6g}, "
        f"{'converged' if result.converged else 'NOT converged'}; constants with {_draws(result)}-draw bootstrap "
        f"intervals:\n\n{markdown_table(result.table(), 6)}\n\n"
        f"**Backtests.** The law fitted on every run up to each of {len(errors.origins)} origins (model sizes) "
        f"and asked for every larger size: {errors.n:,} predictions, mean |log error| {100 * errors.mae_log:.2f} %."
        f"\n\n{markdown_table(distance_table(errors))}\n\n"
        f"**Scoreboard** (the same backtests for library laws):\n\n{board}"
    )


def reference_list(claim: Claim) -> str:
    """The report's references: each cited work's citation line, and any paper without BibTeX here."""
    from workbench import corpus
    from workbench.course.references import bib

    keys, missing = references(claim)
    lines = []
    for key in keys:
        title = re.search(r"title\s*=\s*\{(.+?)\},?\s*$", bib(key), flags=re.M)
        name = corpus.get_source(key).citation if key in corpus.sources() else (title.group(1) if title else key)
        lines.append(f"- {name} ({key if key in corpus.sources() else 'arXiv:' + key})")
    lines += [f"- {m} (no BibTeX entry in the workbench)" for m in missing]
    return "\n".join(lines) + "\n\nThe BibTeX of every entry is written next to this report (`.bib`)."
