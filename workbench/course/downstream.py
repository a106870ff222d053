"""Lesson 05: from loss to downstream error (Gadre et al. 2024's two-step law), per task and task set."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import altair as alt
import ipywidgets as w
import numpy as np
import polars as pl

from workbench import corpus
from workbench.course import Figure, explorer, figure
from workbench.course.overtraining import GADRE_OT, GADRE_SETS, SIZE_LABELS, gadre_loss_fit, gadre_runs
from workbench.course.references import bib
from workbench.course.style import (
    GREY,
    RED,
    SLIDER_LAYOUT,
    SLIDER_STYLE,
    named,
    slider,
    titled,
    with_data,
)
from workbench.fit import caution_of, fit
from workbench.laws import get_law
from workbench.laws.gadre import GADRE_SUBSET
from workbench.viz.explorer import Explorer

GADRE_ERR = get_law("gadre_error")
# Random-guess accuracy (%), number of questions and type of each of the 46 tasks, from the authors'
# exp_data/eval_metadata.csv (mlfoundations/scaling @ 79adc26, sha256 8cd52432...; the corpus pins the same file).
GADRE_TASKS = {
    "agi_eval_lsat_ar": (25, 230, "multiple choice"),
    "agi_eval_lsat_lr": (25, 510, "multiple choice"),
    "agi_eval_lsat_rc": (25, 268, "multiple choice"),
    "agi_eval_sat_en": (25, 206, "multiple choice"),
    "arc_challenge": (25, 2376, "multiple choice"),
    "arc_easy": (25, 2376, "multiple choice"),
    "bbq": (50, 58492, "multiple choice"),
    "bigbench_conceptual_combinations": (25, 103, "multiple choice"),
    "bigbench_conlang_translation": (0, 164, "language modeling"),
    "bigbench_cs_algorithms": (0, 1320, "language modeling"),
    "bigbench_dyck_languages": (0, 1000, "language modeling"),
    "bigbench_elementary_math_qa": (25, 38160, "multiple choice"),
    "bigbench_language_identification": (25, 10000, "multiple choice"),
    "bigbench_logical_deduction": (25, 1500, "multiple choice"),
    "bigbench_misconceptions": (50, 219, "multiple choice"),
    "bigbench_novel_concepts": (25, 32, "multiple choice"),
    "bigbench_operators": (0, 210, "language modeling"),
    "bigbench_qa_wikidata": (0, 20321, "language modeling"),
    "bigbench_repeat_copy_logic": (0, 32, "language modeling"),
    "bigbench_strange_stories": (50, 174, "multiple choice"),
    "bigbench_strategy_qa": (50, 2289, "multiple choice"),
    "bigbench_understanding_fables": (25, 189, "multiple choice"),
    "boolq": (50, 3270, "multiple choice"),
    "commonsense_qa": (25, 1221, "multiple choice"),
    "copa": (50, 100, "multiple choice"),
    "coqa": (0, 7983, "language modeling"),
    "enterprise_pii_classification": (50, 3395, "multiple choice"),
    "hellaswag": (25, 10042, "multiple choice"),
    "hellaswag_zeroshot": (25, 10042, "multiple choice"),
    "jeopardy": (0, 2117, "language modeling"),
    "lambada_openai": (0, 5153, "language modeling"),
    "logi_qa": (25, 651, "multiple choice"),
    "math_qa": (25, 2983, "multiple choice"),
    "mmlu": (25, 14042, "multiple choice"),
    "mmlu_zeroshot": (25, 14042, "multiple choice"),
    "openbook_qa": (25, 500, "multiple choice"),
    "piqa": (50, 1838, "multiple choice"),
    "pubmed_qa_labeled": (0, 1000, "language modeling"),
    "simple_arithmetic_nospaces": (0, 1000, "language modeling"),
    "simple_arithmetic_withspaces": (0, 1000, "language modeling"),
    "siqa": (50, 1954, "multiple choice"),
    "squad": (0, 10570, "language modeling"),
    "winogender_mc_female": (50, 60, "multiple choice"),
    "winogender_mc_male": (50, 60, "multiple choice"),
    "winograd": (50, 273, "schema"),
    "winogrande": (50, 1267, "schema"),
}
TASK_SETS = {46: tuple(sorted(GADRE_TASKS)), 17: GADRE_SUBSET}


def chance_error(tasks: int) -> float:
    """Average error of random guessing over the task set (Gadre et al.'s RANDOM_AVG_ERROR)."""
    return 1.0 - float(np.mean([GADRE_TASKS[t][0] for t in TASK_SETS[tasks]])) / 100.0


@lru_cache(maxsize=1)
def gadre_accuracies() -> pl.DataFrame:
    """Every (run, task) accuracy of Gadre et al.'s runs, with the run's C4-eval loss and the task's chance and size."""
    acc = corpus.load("gadre_overtraining", metric="accuracy").select(
        "run_id", pl.col("eval_set").alias("task"), pl.col("value").alias("accuracy")
    )
    info = pl.DataFrame(
        {
            "task": list(GADRE_TASKS),
            "chance": [v[0] / 100 for v in GADRE_TASKS.values()],
            "questions": [v[1] for v in GADRE_TASKS.values()],
            "type": [v[2] for v in GADRE_TASKS.values()],
        }
    )
    runs = gadre_runs().select("run_id", "train_set", "size", "token_multiplier", "loss", "in_fit")
    return acc.join(info, on="task").join(runs, on="run_id")


@lru_cache(maxsize=1)
def gadre_downstream() -> pl.DataFrame:
    """Per run: C4-eval loss, average top-1 error over 46 and 17 tasks, and the sampling s.e. of each average.

    The error law is fitted, as in the authors' ``fit_ds``, on the five loss-fit runs plus the 1.4B
    model at 20 tokens per parameter.
    """
    a = gadre_accuracies().with_columns(
        (pl.col("accuracy") * (1 - pl.col("accuracy")) / pl.col("questions")).alias("var")
    )
    out = []
    for tasks, names in TASK_SETS.items():
        out.append(
            a.filter(pl.col("task").is_in(list(names)))
            .group_by("run_id")
            .agg(
                (1 - pl.col("accuracy")).mean().alias(f"error_{tasks}"),
                (pl.col("var").sum().sqrt() / len(names)).alias(f"se_{tasks}"),
            )
        )
    runs = gadre_runs().join(out[0], on="run_id").join(out[1], on="run_id")
    err_fit = pl.col("in_fit") | ((pl.col("token_multiplier") == 20) & (pl.col("size") == "1.4B"))
    return runs.with_columns(err_fit.alias("in_error_fit")).sort("loss")


ERROR_FITS = {"paper": "the paper's 6 runs", "all": "all runs of this training set"}
LOSS_GRID = np.round(np.arange(1.6, 6.21, 0.02), 4)


@lru_cache(maxsize=24)
def gadre_error_curves(train_set: str, tasks: int, fit_on: str) -> dict:
    """The error law fitted here (summed Huber on log residuals), its 200-draw bootstrap band on LOSS_GRID,
    and the curve of the authors' code's constants."""
    runs = gadre_downstream().filter(pl.col("train_set") == train_set)
    data = runs.filter(pl.col("in_error_fit")) if fit_on == "paper" else runs
    data = {"loss": data["loss"].to_numpy(), "error": data[f"error_{tasks}"].to_numpy()}
    result = fit(GADRE_ERR, data).bootstrap(draws=200, seed=0)  # keeps the bootstrap's flags
    lo, hi = result.prediction_interval({"loss": LOSS_GRID})
    preset = GADRE_ERR.preset(f"gadre2024_{train_set}_{tasks}tasks").values
    return {
        "fit": result,
        "grid": LOSS_GRID,
        "curve": GADRE_ERR.predict({"loss": LOSS_GRID}, result.params),
        "low": lo,
        "high": hi,
        "authors": GADRE_ERR.predict({"loss": LOSS_GRID}, preset),
        "draws": len(result.draws),
        "fit_loss_range": (float(data["loss"].min()), float(data["loss"].max())),
        "n_fit": len(data["loss"]),
    }


def task_verdict(rows: pl.DataFrame) -> tuple[str, float | None]:
    """Where a task reliably leaves chance: the highest loss L such that *every* run with loss <= L is more than
    2 s.e. (of a benchmark of this size at chance) above chance.  None when even the best run is not."""
    chance, n = float(rows["chance"][0]), int(rows["questions"][0])
    se = np.sqrt(chance * (1 - chance) / n) if chance > 0 else 1.0 / n
    ordered = rows.sort("loss")
    above = (ordered["accuracy"] > chance + 2 * se).to_numpy()
    prefix = int(np.argmin(above)) if not above.all() else len(above)
    if prefix == 0:
        share = float(above.mean())
        tail = f" ({share:.0%} of runs are, but not the best one)" if share > 0 else ""
        return f"the best run is within 2 s.e. ({2 * se:.3f}) of chance ({chance:.2f}){tail}", None
    threshold = float(ordered["loss"][prefix - 1])
    return (
        f"every run with loss ≤ {threshold:.2f} is above chance + 2 s.e. ({prefix} of {len(above)} runs)",
        threshold,
    )


def downstream_tables(
    train_set: str, tasks: int, fit_on: str, loss: float, questions: int, task: str
) -> dict[str, pl.DataFrame]:
    """Frames of the downstream figure at a chosen loss: the runs' average error, the fitted law with its band,
    the authors' code's curve, a binomial band for a benchmark of ``questions`` items, and one task's accuracies."""
    cur = gadre_error_curves(train_set, tasks, fit_on)
    grid = cur["grid"]
    e = np.clip(cur["curve"], 1e-6, 1 - 1e-6)
    noise = 1.96 * np.sqrt(e * (1 - e) / questions)
    curve = pl.DataFrame(
        {
            "loss": grid,
            "error": cur["curve"],
            "low": cur["low"],
            "high": cur["high"],
            "authors": cur["authors"],
            "noise_low": cur["curve"] - noise,
            "noise_high": cur["curve"] + noise,
        }
    )
    i = int(np.argmin(np.abs(grid - loss)))
    at = curve.slice(i, 1).with_columns(pl.lit(float(loss)).alias("loss"))
    runs = (
        gadre_downstream()
        .filter(pl.col("train_set") == train_set)
        .select(
            "size",
            "token_multiplier",
            "loss",
            pl.col(f"error_{tasks}").alias("error"),
            pl.col(f"se_{tasks}").alias("se"),
            pl.when(pl.col("in_error_fit") if fit_on == "paper" else pl.lit(True))
            .then(pl.lit("fitted"))
            .otherwise(pl.lit("not fitted"))
            .alias("role"),
        )
    )
    t = (
        gadre_accuracies()
        .filter((pl.col("train_set") == train_set) & (pl.col("task") == task))
        .with_columns(
            (1.96 * (pl.col("accuracy") * (1 - pl.col("accuracy")) / pl.col("questions")).sqrt()).alias("half")
        )
    )
    t = t.select(
        "size",
        "token_multiplier",
        "loss",
        "accuracy",
        (pl.col("accuracy") - pl.col("half")).alias("low"),
        (pl.col("accuracy") + pl.col("half")).alias("high"),
        "chance",
        "questions",
    )
    verdict, threshold = task_verdict(t)
    lo_fit, hi_fit = cur["fit_loss_range"]
    summary = pl.DataFrame(
        [
            {
                "train_set": GADRE_SETS[train_set],
                "tasks": tasks,
                "fit_on": ERROR_FITS[fit_on],
                "n_fit": cur["n_fit"],
                "loss": float(loss),
                "below_fitted_range": float(max(0.0, lo_fit - loss)),
                "predicted": float(at["error"][0]),
                "band_low": float(at["low"][0]),
                "level": cur["fit"].ci_level,
                "band_high": float(at["high"][0]),
                "authors": float(at["authors"][0]),
                "questions": questions,
                "noise_low": float(at["noise_low"][0]),
                "noise_high": float(at["noise_high"][0]),
                "chance_error": chance_error(tasks),
                "median_average_se": float(runs["se"].median()),
                "task": task,
                "task_questions": int(GADRE_TASKS[task][1]),
                "task_chance": GADRE_TASKS[task][0] / 100,
                "task_verdict": verdict,
                "task_threshold": threshold,
                **{k: float(v) for k, v in cur["fit"].params.items()},
                "bootstrap_draws": cur["draws"],
            }
        ]
    )
    return {
        "runs": runs,
        "curve": curve,
        "at": at,
        "chance": pl.DataFrame({"error": [chance_error(tasks)]}),
        "task": t,
        "task_chance": pl.DataFrame({"accuracy": [GADRE_TASKS[task][0] / 100]}),
        "loss_rule": pl.DataFrame({"loss": [float(loss)]}),
        "summary": summary,
    }


def downstream_chart() -> alt.HConcatChart:
    x = alt.X("loss:Q", scale=alt.Scale(zero=False, reverse=True), title="C4-eval loss (better models to the right)")
    noise = (
        alt.Chart(named("curve")).mark_area(opacity=0.15, color=GREY).encode(x=x, y="noise_low:Q", y2="noise_high:Q")
    )
    band = alt.Chart(named("curve")).mark_area(opacity=0.3, color="#1f77b4").encode(x="loss:Q", y="low:Q", y2="high:Q")
    line = (
        alt.Chart(named("curve"))
        .mark_line(strokeWidth=2, color="#1f77b4")
        .encode(x="loss:Q", y=alt.Y("error:Q", scale=alt.Scale(zero=False), title="average top-1 error over the tasks"))
    )
    pub = (
        alt.Chart(named("curve"))
        .mark_line(strokeWidth=1.5, strokeDash=[5, 3], color="black")
        .encode(x="loss:Q", y="authors:Q")
    )
    chance = alt.Chart(named("chance")).mark_rule(color=GREY, strokeDash=[2, 2]).encode(y="error:Q")
    pts = (
        alt.Chart(named("runs"))
        .mark_point(size=40, filled=True)
        .encode(
            x="loss:Q",
            y="error:Q",
            shape=alt.Shape(
                "role:N",
                scale=alt.Scale(domain=["fitted", "not fitted"], range=["square", "circle"]),
                title=None,
                legend=alt.Legend(orient="bottom"),
            ),
            color=alt.Color(
                "size:N",
                sort=list(SIZE_LABELS.values()),
                scale=alt.Scale(scheme="viridis"),
                title="size",
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=["size:N", "token_multiplier:Q", "loss:Q", "error:Q", "se:Q", "role:N"],
        )
    )
    rule = alt.Chart(named("loss_rule")).mark_rule(color=RED).encode(x="loss:Q")
    bar = (
        alt.Chart(named("at"))
        .mark_rule(color=RED, strokeWidth=3)
        .encode(x="loss:Q", y="noise_low:Q", y2="noise_high:Q")
    )
    dot = (
        alt.Chart(named("at"))
        .mark_point(shape="diamond", size=150, filled=True, color=RED)
        .encode(
            x="loss:Q",
            y="error:Q",
            tooltip=["loss:Q", "error:Q", "low:Q", "high:Q", "noise_low:Q", "noise_high:Q", "authors:Q"],
        )
    )
    left = alt.layer(noise, band, chance, line, pub, pts, rule, bar, dot).properties(
        width=340, height=290, title="error law: fit (blue band), authors' code (dashed), benchmark noise (grey)"
    )
    tx = alt.X("loss:Q", scale=alt.Scale(zero=False, reverse=True), title="C4-eval loss")
    tband = (
        alt.Chart(named("task"))
        .mark_rule(opacity=0.5)
        .encode(
            x=tx,
            y="low:Q",
            y2="high:Q",
            color=alt.Color("size:N", sort=list(SIZE_LABELS.values()), scale=alt.Scale(scheme="viridis"), legend=None),
        )
    )
    tpts = (
        alt.Chart(named("task"))
        .mark_circle(size=35)
        .encode(
            x="loss:Q",
            y=alt.Y("accuracy:Q", title="accuracy on the chosen task (±1.96 s.e.)"),
            color=alt.Color("size:N", sort=list(SIZE_LABELS.values()), scale=alt.Scale(scheme="viridis"), legend=None),
            tooltip=["size:N", "token_multiplier:Q", "loss:Q", "accuracy:Q", "questions:Q"],
        )
    )
    tchance = alt.Chart(named("task_chance")).mark_rule(color=GREY, strokeDash=[2, 2]).encode(y="accuracy:Q")
    right = alt.layer(tchance, tband, tpts, rule).properties(
        width=300, height=290, title="one task: smooth, or stuck at chance?"
    )
    return alt.hconcat(left, right).resolve_scale(color="shared")


def downstream_sentence(tables: Mapping[str, pl.DataFrame]) -> str:
    s = tables["summary"].row(0, named=True)
    where = (
        f"{s['below_fitted_range']:.2f} below the lowest fitted loss: an extrapolation"
        if s["below_fitted_range"] > 0
        else "inside the fitted losses"
    )
    return (
        f"At C4 loss {s['loss']:.2f} ({where}): predicted {s['tasks']}-task error {s['predicted']:.3f} "
        f"({s['level']:.0%} bootstrap band "
        f"{s['band_low']:.3f}–{s['band_high']:.3f}; authors' code's constants {s['authors']:.3f}; chance "
        f"{s['chance_error']:.3f}). "
        f"One benchmark of {s['questions']} questions at that error would read "
        f"{s['noise_low']:.3f}–{s['noise_high']:.3f}. "
        f"Task {s['task']} ({s['task_questions']} questions): {s['task_verdict']}."
    )


class DownstreamExplorer(Explorer):
    """Gadre et al.'s loss-to-error law with its bootstrap band, the noise of a finite benchmark, and one task."""

    stem = "05_downstream"
    heading = "From loss to downstream error (Gadre et al. 2024 runs)"

    def __init__(
        self, train_set: str = "c4", loss: float = 2.3, questions: int = 300, task: str = "hellaswag_zeroshot", **kwargs
    ):
        self.loss = slider(
            w.FloatSlider, value=loss, min=1.8, max=5.0, step=0.02, description="C4-eval loss L", readout_format=".2f"
        )
        self.questions = slider(
            w.SelectionSlider,
            options=[30, 100, 300, 1000, 3000, 10000],
            value=questions,
            description="questions in a benchmark",
        )
        self.train_set = w.Dropdown(
            options=[(v, k) for k, v in GADRE_SETS.items()],
            value=train_set,
            description="training data",
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
        )
        self.tasks = w.Dropdown(
            options=[("46 tasks", 46), ("17-task subset", 17)],
            value=46,
            description="error averaged over",
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
        )
        self.fit_on = w.Dropdown(
            options=[(v, k) for k, v in ERROR_FITS.items()],
            value="paper",
            description="fit the law on",
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
        )
        self.task = w.Dropdown(
            options=sorted(GADRE_TASKS),
            value=task,
            description="task (right panel)",
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
        )
        super().__init__(bibtex=bib("gadre_overtraining", "2304.15004", "2310.03262"), **kwargs)

    def controls(self):
        return [self.loss, self.questions, self.train_set, self.tasks, self.fit_on, self.task]

    def tables(self):
        return downstream_tables(
            self.train_set.value,
            int(self.tasks.value),
            self.fit_on.value,
            float(self.loss.value),
            int(self.questions.value),
            self.task.value,
        )

    def chart(self):
        return downstream_chart()

    def sentence(self) -> str:
        return downstream_sentence(self._tables)

    def fits(self):
        return {"error law": gadre_error_curves(self.train_set.value, int(self.tasks.value), self.fit_on.value)["fit"]}


@figure("loss-to-downstream-error")
def downstream_figure() -> Figure:
    tables = downstream_tables("c4", 46, "paper", 2.3, 300, "hellaswag_zeroshot")
    sentence = downstream_sentence(tables)
    chart = titled(downstream_chart(), DownstreamExplorer.heading, sentence)
    return Figure(
        "loss-to-downstream-error",
        "05_downstream",
        sentence,
        with_data(chart, tables),
        tables,
        bib("gadre_overtraining"),
        caution=caution_of({"error law": gadre_error_curves("c4", 46, "paper")["fit"]}),
    )


@explorer("05_downstream")
def downstream_explorer():
    return DownstreamExplorer()


def error_law_table() -> pl.DataFrame:
    """The error law refitted here on the paper's six runs against the authors' code's constants, per data and task
    set.
    """
    rows = []
    for ts, label in GADRE_SETS.items():
        for tasks in (46, 17):
            r = gadre_error_curves(ts, tasks, "paper")["fit"]
            pub = GADRE_ERR.preset(f"gadre2024_{ts}_{tasks}tasks").values
            rows.append(
                {
                    "data": label,
                    "tasks": tasks,
                    **{f"{k} (refit)": round(float(r.params[k]), 4) for k in ("epsilon", "k", "gamma")},
                    **{f"{k} (authors' code)": round(float(pub[k]), 4) for k in ("epsilon", "k", "gamma")},
                    "chance error": round(chance_error(tasks), 4),
                }
            )
    return pl.DataFrame(rows)


def chained_prediction() -> pl.DataFrame:
    """Gadre et al.'s headline test: predict the 6.9B model's loss from the small runs (loss law), then its
    46-task error from that predicted loss (error law), both refitted here; compare with what it measured."""
    rows = []
    runs = gadre_downstream()
    for ts, label in GADRE_SETS.items():
        big = runs.filter((pl.col("train_set") == ts) & (pl.col("size") == "6.9B")).row(0, named=True)
        loss_hat = float(
            GADRE_OT.predict(
                {"flops": [big["flops"]], "token_multiplier": [big["token_multiplier"]]}, gadre_loss_fit(ts).params
            )[0]
        )
        err_fit = gadre_error_curves(ts, 46, "paper")["fit"]
        rows.append(
            {
                "data": label,
                "compute of the 6.9B run": big["flops"],
                "measured loss": round(big["loss"], 4),
                "predicted loss": round(loss_hat, 4),
                "loss error %": round(100 * (loss_hat / big["loss"] - 1), 2),
                "measured 46-task error": round(big["error_46"], 4),
                "error predicted from measured loss": round(float(err_fit.predict({"loss": [big["loss"]]})[0]), 4),
                "error predicted from predicted loss": round(float(err_fit.predict({"loss": [loss_hat]})[0]), 4),
                "sampling s.e. of the average": round(big["se_46"], 4),
            }
        )
    return pl.DataFrame(rows)


def task_table(train_set: str = "c4") -> pl.DataFrame:
    """Every task on one training set's runs: chance, size, accuracy range, and whether it ever leaves chance."""
    a = gadre_accuracies().filter(pl.col("train_set") == train_set)
    rows = []
    for task in sorted(GADRE_TASKS):
        t = a.filter(pl.col("task") == task)
        verdict, threshold = task_verdict(t)
        rows.append(
            {
                "task": task,
                "type": GADRE_TASKS[task][2],
                "questions": GADRE_TASKS[task][1],
                "chance": GADRE_TASKS[task][0] / 100,
                "lowest accuracy": round(float(t["accuracy"].min()), 3),
                "highest accuracy": round(float(t["accuracy"].max()), 3),
                "reliably above chance below loss": threshold,
                "in 17-task subset": task in GADRE_SUBSET,
                "verdict": verdict,
            }
        )
    return pl.DataFrame(rows).sort("reliably above chance below loss", descending=True, nulls_last=True)
