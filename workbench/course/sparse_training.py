"""Lesson 09, second part: sparse and dense training on one curve (Jin et al. 2025), on the `sparse` preset.

The figure reads the preset's shipped rows (``datasets/proxies/sparse.csv``,
made by ``python -m workbench sweep --preset sparse``): dense GPTs of several
widths on Python source, and the larger widths pruned during training to 50 % and
80 % sparsity along Zhu & Gupta's cubic schedule.  Jin et al. claim that the
*average* non-zero parameter count over training puts the sparse runs on the
dense runs' curve.  The student picks the count on the x axis and a sparse run;
the left panel shows where the runs fall against the dense fit, the right one
how the highlighted run's non-zero count fell while it trained.

Every number comes from :mod:`workbench.proxies.sparse_dense` (``analyse`` and
``verify``), the functions ``sweep --verify`` checks, so the notebook teaches the
numbers the pre-registered checks test.  The analysis runs once per kernel; a
control only slices its cached result.  The pruning schedule is drawn from the
same formula as :func:`workbench.proxies.sparsity.cubic_sparsity`, restated here
because that module imports torch (about 180 MB of kernel memory);
``tests/test_course_sparse_training.py`` checks that the two agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import altair as alt
import ipywidgets as w
import numpy as np
import polars as pl

from workbench.course import Figure, explorer, explorer_figure, figure
from workbench.course.inputs import require_proxy
from workbench.course.references import bib
from workbench.course.style import BLUE, GREY, ORANGE, PANEL, RED, named, slider, toggle
from workbench.viz.explorer import Explorer

COUNTS = {"average": "average non-zero", "final": "final non-zero", "dense": "dense architecture"}
COLUMNS = {"average": "params_average", "final": "params_final", "dense": "params_dense"}
KINDS = ["dense", "50 % sparse", "80 % sparse"]
KIND_COLOURS = alt.Scale(domain=KINDS, range=[BLUE, ORANGE, "#9467bd"])
SERIES = ["dense run of this width", "non-zero, schedule", "non-zero, logged by the run", "average over training"]
SERIES_COLOURS = alt.Scale(domain=SERIES, range=[BLUE, RED, "black", ORANGE])


@lru_cache(maxsize=1)
def sparse_rows() -> pl.DataFrame:
    """The shipped rows of the ``sparse`` preset (read once per kernel)."""
    return require_proxy("sparse")


@lru_cache(maxsize=1)
def sparse_analysis() -> dict:
    """The preset's analysis of its shipped rows (:func:`workbench.proxies.sparse_dense.analyse`)."""
    from workbench.proxies.sparse_dense import analyse

    return analyse(sparse_rows())


@lru_cache(maxsize=1)
def sparse_checks() -> pl.DataFrame:
    """The pre-registered checks exactly as ``sweep --preset sparse --verify`` reports them."""
    from workbench.proxies.sparse_dense import verify

    checks = verify(sparse_rows())["checks"]
    return pl.DataFrame(
        [{"check": c["name"], "value": str(c["value"]), "target": c["target"], "passed": c["passed"]} for c in checks]
    )


def clear_caches() -> None:
    """Forget the shipped rows and everything computed from them (after the file changed)."""
    for cached in (sparse_rows, sparse_analysis, sparse_checks, logged_counts):
        cached.cache_clear()


def kind(sparsity: float) -> str:
    """``dense`` or ``80 % sparse`` (the target sparsity, to the percent)."""
    return "dense" if sparsity == 0 else f"{round(100 * sparsity)} % sparse"


def run_label(width: int, sparsity: float) -> str:
    return f"width {width}, {kind(sparsity)}"


def run_keys() -> list[tuple[int, float]]:
    """(width, target sparsity) of every sparse run, by sparsity then width."""
    return sorted(((r["width"], target_of(r["sparsity"])) for r in sparse_analysis()["runs"]), key=lambda k: k[::-1])


def target_of(sparsity: float) -> float:
    """The preset's target sparsity nearest a run's measured one (0.8000031 -> 0.8; 0 stays 0, dense)."""
    from workbench.proxies.sparse_dense import SPARSITIES

    return min((0.0, *SPARSITIES), key=lambda s: abs(s - sparsity))


def sparse_run(width: int, sparsity: float) -> dict:
    """The analysis of one sparse run (:func:`~workbench.proxies.sparse_dense.analyse`'s ``runs`` entry)."""
    for r in sparse_analysis()["runs"]:
        if r["width"] == width and target_of(r["sparsity"]) == sparsity:
            return r
    raise KeyError(f"no sparse run of width {width} at sparsity {sparsity}")


def cubic(progress: np.ndarray, final: float, start: float, end: float) -> np.ndarray:
    """Zhu & Gupta's target sparsity at a fraction ``progress`` of the steps (as ``sparsity.cubic_sparsity``)."""
    u = np.clip((np.asarray(progress, dtype=float) - start) / (end - start), 0.0, 1.0)
    return final * (1.0 - (1.0 - u) ** 3)


def schedule(width: int, sparsity: float, points: int = 201) -> pl.DataFrame:
    """Non-zero non-embedding parameters over training for one sparse run, from the preset's schedule.

    The prunable share of the dense count is read off the run's final row: ``dense - nonzero`` parameters
    were pruned, which is the measured final sparsity of the prunable matrices; the curve ramps to that
    measured sparsity (within 0.0002 of the target), so it ends at the run's final count.
    """
    from workbench.proxies.sparse_dense import configs

    r = sparse_run(width, sparsity)
    cfg = next(c for c in configs() if c.width == width and c.sparsity == sparsity)
    prunable = (r["params_dense"] - r["params_final"]) / r["sparsity"]
    t = np.linspace(0.0, 1.0, points)
    nonzero = r["params_dense"] - prunable * cubic(t, r["sparsity"], cfg.prune_start, cfg.prune_end)
    return pl.DataFrame({"progress": t, "params": nonzero})


@lru_cache(maxsize=1)
def logged_counts() -> pl.DataFrame:
    """The non-zero counts the sparse runs logged (validation rows): width, target sparsity, progress, params."""
    df = sparse_rows()
    if "params_nonzero" not in df.columns:
        schema = {"width": pl.Int64, "sparsity": pl.Float64, "progress": pl.Float64, "params": pl.Float64}
        return pl.DataFrame(schema=schema)
    rows = df.filter((pl.col("metric") == "loss") & pl.col("eval_set").str.ends_with("-val")).with_columns(
        pl.col("sparsity").cast(pl.Float64, strict=False).fill_null(0.0)
    )
    rows = rows.filter(pl.col("sparsity").max().over("run_id") > 0)  # every row of a sparse run, dense ones too
    steps = pl.col("step").max().over("run_id")
    return rows.select(
        pl.col("width").cast(pl.Int64),
        pl.col("sparsity").max().over("run_id").map_elements(target_of, return_dtype=pl.Float64),
        (pl.col("step") / steps).alias("progress"),
        pl.col("params_nonzero").cast(pl.Float64).alias("params"),
    ).sort("width", "sparsity", "progress")


def run_rows(count: str, width: int, sparsity: float) -> pl.DataFrame:
    """Every run at the chosen count, with the dense fit's loss there and whether it is the highlighted one."""
    a = sparse_analysis()
    fit = a["dense_fit"]
    pts = a["points"].with_columns(pl.col("sparsity").map_elements(target_of, return_dtype=pl.Float64))
    pts = pts.rename({"params": "params_dense", "params_nonzero": "params_final"})
    x = pts[COLUMNS[count]].to_numpy()
    fitted = fit.predict({"params": x})
    return pts.select(
        pl.struct("width", "sparsity").map_elements(lambda s: run_label(**s), return_dtype=pl.String).alias("run"),
        "width",
        pl.col("sparsity").map_elements(kind, return_dtype=pl.String).alias("kind"),
        "params_dense",
        "params_final",
        "params_average",
        "loss",
        pl.Series("params", x),
        pl.Series("fitted", fitted),
        ((pl.col("width") == width) & (pl.col("sparsity") == sparsity)).alias("chosen"),
    )


def fit_curve() -> pl.DataFrame:
    """The dense fit over every count of every run (the axis stays put when the count changes)."""
    a = sparse_analysis()
    pts = a["points"]
    lo = float(pts.select(pl.min_horizontal("params", "params_nonzero", "params_average")).min().item())
    hi = float(pts["params"].max())
    x = np.geomspace(0.8 * lo, 1.2 * hi, 80)
    return pl.DataFrame({"params": x, "loss": a["dense_fit"].predict({"params": x})})


def equivalent_rows(count: str, width: int, sparsity: float) -> pl.DataFrame:
    """The highlighted run at the chosen count and the dense size reaching its loss (none past the fit's floor)."""
    r = sparse_run(width, sparsity)
    x = r[COLUMNS[count]]
    ends = [x] if not np.isfinite(r["dense_equivalent"]) else [x, r["dense_equivalent"]]
    return pl.DataFrame(
        {"params": ends, "loss": [r["loss"]] * len(ends), "end": ["run", "dense equivalent"][: len(ends)]}
    )


def schedule_rows(width: int, sparsity: float) -> dict[str, pl.DataFrame]:
    """The right panel: the schedule, the logged counts, the run's average and the dense run's flat count."""
    r = sparse_run(width, sparsity)
    sched = schedule(width, sparsity).with_columns(pl.lit(SERIES[1]).alias("series"))
    flat = pl.DataFrame({"progress": [0.0, 1.0], "params": [r["params_dense"]] * 2, "series": SERIES[0]})
    mean = pl.DataFrame({"progress": [0.0, 1.0], "params": [r["params_average"]] * 2, "series": SERIES[3]})
    logged = logged_counts().filter((pl.col("width") == width) & (pl.col("sparsity") == sparsity))
    return {
        "schedule": pl.concat([flat, sched, mean]),
        "logged": logged.select("progress", "params", pl.lit(SERIES[2]).alias("series")),
    }


def error_rows(width: int, sparsity: float) -> pl.DataFrame:
    """Per sparse run: the dense fit's error at each count (%, predicted / measured - 1) and its worth."""
    rows = []
    for r in sparse_analysis()["runs"]:
        key = (r["width"], target_of(r["sparsity"]))
        rows.append(
            {
                "run": run_label(*key),
                **{f"error at {COUNTS[k]} count (%)": 100 * r["errors"][k] for k in COUNTS},
                "dense equivalent": r["dense_equivalent"],
                "dense params per final param": r["worth_per_final_param"],
                "chosen": key == (width, sparsity),
            }
        )
    return pl.DataFrame(rows)


def joint_rows() -> pl.DataFrame:
    """One law for all 14 runs, fitted in each count: its largest and rms |error| (%)."""
    joint = sparse_analysis()["joint"]
    return pl.DataFrame(
        {
            "count": [COUNTS[k] for k in COUNTS],
            "largest |error| (%)": [100 * joint[k]["max_rel_error"] for k in COUNTS],
            "rms error (%)": [100 * joint[k]["rms_rel_error"] for k in COUNTS],
        }
    )


def sparse_tables(count: str, width: int, sparsity: float) -> dict[str, pl.DataFrame]:
    """Frames of the figure for a count on the x axis and a highlighted sparse run."""
    return {
        "runs": run_rows(count, width, sparsity),
        "fit": fit_curve(),
        "equivalent": equivalent_rows(count, width, sparsity),
        "note": pl.DataFrame({"text": [f"sparse runs at their {COUNTS[count]} count"]}),
        **schedule_rows(width, sparsity),
        "errors": error_rows(width, sparsity),
        "joint": joint_rows(),
    }


def _loss_panel() -> alt.LayerChart:
    x = alt.X(
        "params:Q",
        scale=alt.Scale(type="log"),
        axis=alt.Axis(format="~s", labelOverlap="greedy"),
        title="parameters N (non-embedding; log scale)",
    )
    y = alt.Y("loss:Q", scale=alt.Scale(zero=False), title="validation loss (nats per token)")
    line = alt.Chart(named("fit")).mark_line(color=BLUE, strokeWidth=1.5, clip=True).encode(x=x, y=y)
    dots = (
        alt.Chart(named("runs"))
        .mark_point(filled=True, size=70)
        .encode(
            x="params:Q",
            y="loss:Q",
            color=alt.Color("kind:N", scale=KIND_COLOURS, title=None, legend=alt.Legend(orient="bottom")),
            shape=alt.Shape("kind:N", scale=alt.Scale(domain=KINDS, range=["circle", "square", "triangle-up"])),
            tooltip=["run:N", "params:Q", "loss:Q", "fitted:Q"],
        )
    )
    ring = (
        alt.Chart(named("runs"))
        .transform_filter("datum.chosen")
        .mark_point(size=260, strokeWidth=2.5, color=RED)
        .encode(x="params:Q", y="loss:Q")
    )
    arrow = (
        alt.Chart(named("equivalent"))
        .mark_line(color=RED, strokeDash=[4, 3], strokeWidth=1.5)
        .encode(x="params:Q", y="loss:Q")
    )
    diamond = (
        alt.Chart(named("equivalent"))
        .transform_filter("datum.end == 'dense equivalent'")
        .mark_point(shape="diamond", size=150, filled=True, color=RED)
        .encode(x="params:Q", y="loss:Q", tooltip=[alt.Tooltip("params:Q", title="dense equivalent", format=",.0f")])
    )
    note = (
        alt.Chart(named("note"))
        .mark_text(align="left", baseline="top", fontSize=12, color=GREY)
        .encode(text="text:N", x=alt.value(6), y=alt.value(6))
    )
    return alt.layer(line, dots, arrow, ring, diamond, note).properties(
        width=PANEL + 40, height=300, title="loss against the chosen count; the dense runs' fit (line)"
    )


def _schedule_panel() -> alt.LayerChart:
    colour = alt.Color(
        "series:N", scale=SERIES_COLOURS, title=None, legend=alt.Legend(orient="bottom", columns=2, labelLimit=200)
    )
    x = alt.X("progress:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"), title="training steps")
    y = alt.Y("params:Q", scale=alt.Scale(zero=True), axis=alt.Axis(format="~s"), title="non-zero parameters")
    lines = alt.Chart(named("schedule")).mark_line(strokeWidth=2).encode(x=x, y=y, color=colour, detail="series:N")
    logged = (
        alt.Chart(named("logged"))
        .mark_point(filled=True, size=40)
        .encode(x="progress:Q", y="params:Q", color=colour, tooltip=["progress:Q", "params:Q"])
    )
    title = "the highlighted run while it trained"
    return alt.layer(lines, logged).properties(width=PANEL - 60, height=300, title=title)


def sparse_chart() -> alt.HConcatChart:
    return alt.hconcat(_loss_panel(), _schedule_panel()).resolve_scale(color="independent", shape="independent")


def worse_or_better(error: float) -> str:
    """``1.0 % more`` for a prediction above the measured loss, ``4.7 % less`` below it."""
    return f"{abs(100 * error):.1f} % {'more' if error > 0 else 'less'}"


def sparse_sentence(count: str, width: int, sparsity: float) -> str:
    r = sparse_run(width, sparsity)
    n_eq = r["dense_equivalent"]
    others = "; ".join(f"{COUNTS[k]} count: {worse_or_better(r['errors'][k])}" for k in COUNTS if k != count)
    reach = (
        f"it reaches the loss of a dense model of {n_eq:,.0f}, so each remaining parameter is worth "
        f"{r['worth_per_final_param']:.2f} dense ones"
        if np.isfinite(n_eq)
        else "its loss is below the dense fit's floor, so no dense size reaches it"
    )
    return (
        f"Pruned to {100 * sparsity:.0f} %, width {width} ends with {r['params_final']:,.0f} non-zero parameters, "
        f"averaged {r['params_average']:,.0f} over training; {reach}; the dense fit at its {COUNTS[count]} count "
        f"predicts {worse_or_better(r['errors'][count])} loss than measured ({others})."
    )


class SparseTrainingExplorer(Explorer):
    """Count on the x axis and a sparse run -> where sparse runs fall against the dense fit, and the schedule."""

    stem = "09_sparse_training"
    heading = "Sparse and dense training on one curve (the sparse preset, after Jin et al. 2025)"

    def __init__(self, **kwargs):
        keys = run_keys()
        self.count = toggle([(f"{v} count", k) for k, v in COUNTS.items()], "average", "x axis", "200px")
        self.run = slider(
            w.SelectionSlider,
            options=[(f"w{wd} · {100 * s:.0f} %", (wd, s)) for wd, s in keys],
            value=max(keys, key=lambda k: (k[1], k[0])),
            description="sparse run (width · sparsity)",
        )
        super().__init__(bibtex=bib("2501.12486", "1710.01878"), **kwargs)

    def controls(self):
        return [self.count, self.run]

    def tables(self):
        return sparse_tables(self.count.value, *self.run.value)

    def chart(self):
        return sparse_chart()

    def sentence(self) -> str:
        return sparse_sentence(self.count.value, *self.run.value)

    def fits(self) -> Mapping[str, object]:
        return {"dense": sparse_analysis()["dense_fit"]}


def figure_caption() -> str:
    """The batch figure's caption, with the preset's grid read from its module (not restated here)."""
    from workbench.proxies import sparse_dense as sd

    dense = f"{sd.DENSE_WIDTHS[0]}-{sd.DENSE_WIDTHS[-1]}"
    sparse = ", ".join(str(wd) for wd in sd.SPARSE_WIDTHS)
    levels = " and ".join(f"{100 * s:.0f} %" for s in sd.SPARSITIES)
    return (
        f"Dense GPTs (widths {dense}) and widths {sparse} pruned to {levels} during training, on Python source "
        f"(the sparse preset's shipped runs, seed {sd.SEED}): validation loss against each run's average non-zero "
        "parameter count, with the power law fitted to the dense runs by the fitting engine (left), and the "
        "non-zero count of the highlighted run over training under the cubic pruning schedule (right)."
    )


@figure("sparse-dense-average-count", requires=("proxies/sparse",))
def sparse_training_figure() -> Figure:
    return explorer_figure(SparseTrainingExplorer(), "sparse-dense-average-count", "09_proxies", figure_caption())


@explorer("09_sparse_training")
def sparse_training_explorer():
    return SparseTrainingExplorer()
