"""Lesson 10: learning-rate schedules and the LR-annealing law (Tissue et al. 2024)."""

from __future__ import annotations

from functools import lru_cache

import altair as alt
import ipywidgets as w
import numpy as np
import polars as pl

from workbench.course import Figure, explorer, figure
from workbench.course.references import bib
from workbench.course.style import (
    SLIDER_LAYOUT,
    SLIDER_STYLE,
    YOURS,
    named,
    with_data,
)
from workbench.fit import caution_of, fit
from workbench.laws import get_law
from workbench.laws.annealing import annealing_areas
from workbench.viz.explorer import Explorer

ANNEALING = get_law("lr_annealing")

#: The proxy ``schedule`` preset's training setup (workbench.proxies.presets): 2M tokens of
#: batch 4 x context 128 = 3906 steps, peak LR 3e-3, 5 % linear warm-up, final LR 10 % of peak.
PROXY_STEPS, PROXY_PEAK, PROXY_WARMUP, PROXY_MIN = 3906, 3e-3, 0.05, 0.1

#: Illustrative constants for the synthetic fallback.  Tissue et al.'s fitted constants were
#: not retrieved (docs/provenance.md), so these are NOT the paper's: they are chosen so
#: that the curves have the look of a small language-model run.  Never quote them as results.
ILLUSTRATIVE_TISSUE = {"L0": 2.0, "A": 1.2, "C": 0.06, "alpha": 0.55}
ZOOM = 0.3  # the loss panel starts at 30 % of the measured steps, where the schedules differ
SYNTHETIC_NOISE = 0.004  # nats, seeded Gaussian noise added to the synthetic curves

MEASURED_SCHEDULES = (
    ("constant", "constant", 0.2),
    ("cosine", "cosine", 0.2),
    ("wsd20", "wsd", 0.2),
    ("wsd10", "wsd", 0.1),
)  # as the proxy preset


def make_schedule(
    steps: int,
    *,
    kind: str = "wsd",
    decay: float = 0.2,
    final: float = PROXY_MIN,
    shape: str = "linear",
    peak: float = PROXY_PEAK,
    warmup: float = PROXY_WARMUP,
) -> np.ndarray:
    """Learning rate of every step ``1..steps``: linear warm-up, then ``constant``, ``cosine``
    (half cosine to ``final * peak``) or ``wsd`` (peak, then decay over the last ``decay``
    fraction of steps to ``final * peak`` with a ``linear``, ``cosine`` or ``1-sqrt`` shape).

    With the defaults this reproduces ``workbench.proxies.config.lr_schedule`` for the
    proxy's constant, cosine and (linear) WSD runs, so S1 and S2 match the shipped rows.
    """
    s = np.arange(1, steps + 1, dtype=float)
    warm = int(round(warmup * steps))
    lo = final * peak
    if kind == "constant":
        lr = np.full(steps, peak)
    elif kind == "cosine":
        prog = np.clip((s - warm) / max(1, steps - warm), 0, 1)
        lr = lo + (peak - lo) * 0.5 * (1 + np.cos(np.pi * prog))
    elif kind == "wsd":
        d = max(1, int(round(decay * steps)))
        prog = np.clip((s - (steps - d)) / d, 0, 1)
        if shape == "linear":
            frac = prog
        elif shape == "cosine":
            frac = 0.5 * (1 - np.cos(np.pi * prog))
        elif shape == "1-sqrt":
            frac = 1 - np.sqrt(1 - prog)
        else:
            raise ValueError(f"unknown decay shape {shape!r}")
        lr = peak - (peak - lo) * frac
    else:
        raise ValueError(f"unknown schedule {kind!r}")
    if warm:
        lr = np.where(s <= warm, peak * s / warm, lr)
    return lr


def schedule_areas(lr: np.ndarray, warmup_steps: int, decay: float = 0.999) -> tuple[np.ndarray, np.ndarray]:
    """S1 and S2 after every step, as the proxies record them (S2 from the end of warm-up on)."""
    return annealing_areas(np.asarray(lr, float), decay, warmup_steps)


def _synthetic_curves(seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    steps_logged = np.unique(np.round(np.linspace(PROXY_STEPS / 40, PROXY_STEPS, 40)).astype(int))
    frames = []
    for name, kind, decay in MEASURED_SCHEDULES:
        lr = make_schedule(PROXY_STEPS, kind=kind, decay=decay)
        s1, s2 = schedule_areas(lr, int(round(PROXY_WARMUP * PROXY_STEPS)))
        i = steps_logged - 1
        loss = ANNEALING.predict({"S1": s1[i], "S2": s2[i]}, ILLUSTRATIVE_TISSUE)
        loss = loss + rng.normal(0.0, SYNTHETIC_NOISE, loss.size)
        frames.append(
            pl.DataFrame({"schedule": name, "step": steps_logged, "lr": lr[i], "S1": s1[i], "S2": s2[i], "loss": loss})
        )
    return pl.concat(frames)


@lru_cache(maxsize=1)
def schedule_curves() -> tuple[pl.DataFrame, str]:
    """Loss curves under the four schedules: ``(frame, provenance)``.

    The proxy ``schedule`` preset's shipped validation curves when
    ``datasets/proxies/schedule.csv`` exists; otherwise synthetic curves drawn
    from the law itself with :data:`ILLUSTRATIVE_TISSUE` plus seeded noise.
    ``provenance`` is ``"proxy"`` or ``"synthetic"``.  Columns: schedule, step,
    lr, S1, S2, loss.  Points inside warm-up (first 10 % of steps) are dropped,
    as the preset's own check does.
    """
    try:
        from workbench.corpus.proxy_sources import scan_preset

        df = scan_preset("schedule")  # lazy: only the columns and rows below are read
    except Exception:  # no shipped file (or unreadable): fall back, and say so
        df = None
    if df is not None:
        curves = df.filter(
            (pl.col("metric") == "loss")
            & pl.col("eval_set").str.ends_with("-val")
            & pl.col("precision_phase").is_null()
            & (pl.col("width") == 64)
            & (pl.col("seed") == 0)
        )  # the preset's "explore" set
        out = curves.select(
            pl.col("condition").alias("schedule"),
            "step",
            pl.col("learning_rate").alias("lr"),
            pl.col("lr_area").alias("S1"),
            pl.col("lr_anneal_area").alias("S2"),
            pl.col("value").alias("loss"),
        ).collect()
        provenance = "proxy"
    else:
        out, provenance = _synthetic_curves(), "synthetic"
    out = out.filter(pl.col("step") >= 0.1 * pl.col("step").max().over("schedule")).sort("schedule", "step")
    return out, provenance


def schedule_provenance_text() -> str:
    _, prov = schedule_curves()
    if prov == "proxy":
        return (
            "Measured: validation loss of the workbench's proxy runs (preset 'schedule', a 2-layer, width-64 "
            "GPT on the Python standard library, 3,906 steps), shipped in datasets/proxies/schedule.csv."
        )
    return (
        "SYNTHETIC: datasets/proxies/schedule.csv is not shipped in this checkout, so the 'measured' curves are "
        "drawn from the law itself with illustrative constants (L0=2.0, A=1.2, C=0.06, alpha=0.55; NOT Tissue "
        "et al.'s values, which could not be retrieved) plus seeded noise of 0.004 nats. "
        "Fitting them shows the mechanics, not evidence that the law works."
    )


@lru_cache(maxsize=8)
def schedule_fit(fit_on: str):
    """The annealing law fitted on one schedule's curve (cached)."""
    curves, _ = schedule_curves()
    return fit(ANNEALING, curves.filter(pl.col("schedule") == fit_on))


def schedule_errors(fit_on: str = "cosine") -> pl.DataFrame:
    """Fit on ``fit_on``, predict every schedule: mean absolute error and final-loss error per curve."""
    curves, _ = schedule_curves()
    res = schedule_fit(fit_on)
    rows = []
    for name in curves["schedule"].unique(maintain_order=True):
        c = curves.filter(pl.col("schedule") == name)
        pred = res.predict({"S1": c["S1"].to_numpy(), "S2": c["S2"].to_numpy()})
        err = pred - c["loss"].to_numpy()
        rows.append(
            {
                "schedule": name,
                "role": "fitted" if name == fit_on else "predicted",
                "final loss": float(c["loss"][-1]),
                "predicted final": float(pred[-1]),
                "MAE (nats)": float(np.abs(err).mean()),
                "max |error|": float(np.abs(err).max()),
                "mean |error| %": float(100 * np.abs(err / c["loss"].to_numpy()).mean()),
            }
        )
    return pl.DataFrame(rows)


def preset_check() -> pl.DataFrame | None:
    """The ``schedule`` preset's own, pre-registered check on the shipped curves, one row per curve.

    Both sets (``explore``: width 64 seed 0, where the protocol was chosen; ``confirm``: width 96
    seed 1, trained after the protocol was committed) under the pre-registered protocol and the
    paper-default baseline.  ``None`` when the preset's results are not shipped.
    """
    from workbench.proxies.presets import get_preset
    from workbench.proxies.results import load

    try:
        verdict = get_preset("schedule").verify(load("schedule"))
    except Exception:  # not shipped (or unreadable): the caller says so
        return None
    rows = []
    for key, per_curve in verdict["details"]["errors"].items():
        set_name, protocol = key.split(" / ", 1)
        for name, e in per_curve.items():
            rows.append(
                {
                    "set": set_name,
                    "protocol": protocol,
                    "schedule": name,
                    "role": e["role"],
                    "MAE (nats)": round(e["mae"], 4),
                    "final-loss error": round(e["final_error"], 4),
                    "mean |error| %": round(e["mape_percent"], 2),
                }
            )
    return pl.DataFrame(rows)


def decay_sweep(
    fractions=(0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6), fit_on: str = "cosine", final: float = 0.1, shape: str = "linear"
) -> pl.DataFrame:
    """Predicted final loss of WSD schedules of the measured length, for several decay fractions."""
    rows = []
    for d in fractions:
        s = schedule_tables(fit_on, d, final, shape, 1.0)["summary"].row(0, named=True)
        rows.append(
            {"decay fraction": d, "S1": s["your S1"], "S2": s["your S2"], "predicted final loss": s["your final loss"]}
        )
    return pl.DataFrame(rows)


def schedule_tables(
    fit_on: str, decay: float, final: float, shape: str, length: float, lam: float = 0.999
) -> dict[str, pl.DataFrame]:
    """Frames behind the schedule figure: measured curves, the law fitted on ``fit_on`` predicting
    each of them, and the law's prediction for *your* WSD schedule (``decay`` fraction, ``final``
    LR fraction, decay ``shape``, ``length`` x the measured number of steps)."""
    curves, _ = schedule_curves()
    res = schedule_fit(fit_on)
    v = res.params
    warm_steps = int(round(PROXY_WARMUP * PROXY_STEPS))
    measured = curves.with_columns(
        pl.when(pl.col("schedule") == fit_on).then(pl.lit("fitted on")).otherwise(pl.lit("held out")).alias("role")
    ).filter(pl.col("step") >= ZOOM * PROXY_STEPS)
    # the law along every measured schedule (dense, from the exact schedule)
    pred, lrs = [], []
    grid = np.unique(np.round(np.linspace(ZOOM * PROXY_STEPS, PROXY_STEPS, 120)).astype(int)) - 1
    for name, kind, d in MEASURED_SCHEDULES:
        lr = make_schedule(PROXY_STEPS, kind=kind, decay=d)
        s1, s2 = schedule_areas(lr, warm_steps, lam)
        pred.append(
            pl.DataFrame(
                {"schedule": name, "step": grid + 1, "loss": ANNEALING.predict({"S1": s1[grid], "S2": s2[grid]}, v)}
            )
        )
        thin = np.linspace(0, PROXY_STEPS - 1, 200).astype(int)
        lrs.append(pl.DataFrame({"schedule": name, "step": thin + 1, "lr": lr[thin]}))
    n = int(round(length * PROXY_STEPS))
    lr = make_schedule(n, kind="wsd", decay=decay, final=final, shape=shape)
    s1, s2 = schedule_areas(lr, int(round(PROXY_WARMUP * n)), lam)
    idx = np.unique(np.concatenate([np.round(np.linspace(ZOOM * PROXY_STEPS, n - 1, 160)).astype(int), [n - 1]]))
    yours_loss = ANNEALING.predict({"S1": s1[idx], "S2": s2[idx]}, v)
    yours = pl.DataFrame({"step": idx + 1, "lr": lr[idx], "S1": s1[idx], "S2": s2[idx], "loss": yours_loss})
    thin = np.unique(np.linspace(0, n - 1, 300).astype(int))
    yours_lr = pl.DataFrame({"step": thin + 1, "lr": lr[thin]})
    finals = pl.concat(pred).group_by("schedule").agg(pl.col("loss").last().alias("final"))
    s1_fit = curves.filter(pl.col("schedule") == fit_on)["S1"]
    summary = pl.DataFrame(
        {
            "your final loss": [float(yours_loss[-1])],
            "your S1": [float(s1[-1])],
            "your S2": [float(s2[-1])],
            "steps": [n],
            "max fitted S1": [float(s1_fit.max())],
            **{f"{k}": [float(val)] for k, val in v.items()},
        }
    )
    return {
        "measured": measured,
        "predicted": pl.concat(pred),
        "lr": pl.concat(lrs),
        "yours": yours,
        "yours_lr": yours_lr,
        "finals": finals,
        "summary": summary,
    }


def schedule_chart(title: str = "") -> alt.VConcatChart:
    colour = alt.Color(
        "schedule:N",
        scale=alt.Scale(domain=[m[0] for m in MEASURED_SCHEDULES], range=["#4c78a8", "#f58518", "#54a24b", "#b279a2"]),
        title="schedule",
    )
    x = alt.X("step:Q", title="step")
    lr_measured = (
        alt.Chart(named("lr"))
        .mark_line(strokeWidth=1.2, opacity=0.7)
        .encode(x=x, y=alt.Y("lr:Q", title="learning rate", axis=alt.Axis(format=".1e")), color=colour)
    )
    lr_yours = alt.Chart(named("yours_lr")).mark_line(strokeWidth=2.5, color=YOURS).encode(x="step:Q", y="lr:Q")
    top = alt.layer(lr_measured, lr_yours).properties(width=560, height=120, title="schedules (red: yours)")
    y = alt.Y("loss:Q", scale=alt.Scale(zero=False), title="validation loss (nats/token)")
    xz = alt.X("step:Q", title="step", scale=alt.Scale(zero=False))
    pts = (
        alt.Chart(named("measured"))
        .mark_point(size=28, filled=True, opacity=0.8)
        .encode(
            x=xz,
            y=y,
            color=colour,
            shape=alt.Shape(
                "role:N",
                title="measured curve",
                scale=alt.Scale(domain=["fitted on", "held out"], range=["circle", "triangle"]),
            ),
            tooltip=["schedule:N", "step:Q", "loss:Q", "S1:Q", "S2:Q", "role:N"],
        )
    )
    lines = alt.Chart(named("predicted")).mark_line(strokeWidth=1.5).encode(x=x, y="loss:Q", color=colour)
    yours = (
        alt.Chart(named("yours"))
        .mark_line(strokeWidth=3, color=YOURS)
        .encode(x="step:Q", y="loss:Q", tooltip=["step:Q", "lr:Q", "S1:Q", "S2:Q", "loss:Q"])
    )
    bottom = alt.layer(pts, lines, yours).properties(
        width=560,
        height=300,
        title="loss from 30 % of training on: points measured, lines = law fitted on one curve, red = yours",
    )
    return alt.vconcat(top, bottom, title=title).resolve_scale(color="shared")


class ScheduleExplorer(Explorer):
    """Fit the LR-annealing law on one schedule's curve; design a WSD schedule and see its predicted curve."""

    stem = "10_lr_schedules"

    def __init__(self, **kwargs):
        self.decay = w.FloatSlider(
            value=0.3,
            min=0.02,
            max=0.6,
            step=0.02,
            description="decay fraction",
            readout_format=".2f",
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
            continuous_update=False,
        )
        self.final = w.FloatSlider(
            value=0.1,
            min=0.0,
            max=1.0,
            step=0.05,
            description="final LR / peak",
            readout_format=".2f",
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
            continuous_update=False,
        )
        self.length = w.FloatSlider(
            value=1.0,
            min=0.5,
            max=4.0,
            step=0.25,
            description="length × measured",
            readout_format=".2f",
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
            continuous_update=False,
        )
        self.shape = w.Dropdown(
            options=["linear", "cosine", "1-sqrt"],
            value="linear",
            description="decay shape",
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
        )
        curves, _ = schedule_curves()
        names = list(curves["schedule"].unique(maintain_order=True))
        self.fit_on = w.Dropdown(
            options=names,
            value="cosine" if "cosine" in names else names[0],
            description="fit the law on",
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
        )
        super().__init__(bibtex=bib("2408.11029", "workbench-proxies"), **kwargs)

    def controls(self):
        return [self.decay, self.final, self.length, self.shape, self.fit_on]

    def tables(self):
        return schedule_tables(
            self.fit_on.value, self.decay.value, self.final.value, self.shape.value, self.length.value
        )

    def chart(self):
        return schedule_chart(_schedule_title("LR-annealing law: fit on one schedule, predict the rest and yours"))

    def fits(self):
        return {"annealing law": schedule_fit(self.fit_on.value)}

    def readout(self) -> str:
        t = self._tables
        s = t["summary"].row(0, named=True)
        finals = dict(t["finals"].iter_rows())
        curves, _ = schedule_curves()
        s2_max = float(curves.filter(pl.col("schedule") == self.fit_on.value)["S2"].abs().max())
        unidentified = (
            "<br>⚠ the curve fitted on never anneals (S2 = 0), so C is not identified: its value is "
            "arbitrary and every prediction with annealing is meaningless."
            if s2_max < 1e-9
            else ""
        )
        beyond = s["your S1"] / s["max fitted S1"]
        extra = (
            f" Your S1 is {beyond:.2f}× the largest S1 the law was fitted on: an extrapolation."
            if beyond > 1.001
            else ""
        )
        warn = ""  # the fit's caution is added under this sentence by the Explorer base class
        return (
            f"<b>Fitted on {self.fit_on.value}</b>: L0 = {s['L0']:.3f}, A = {s['A']:.3f}, C = {s['C']:.4f}, "
            f"α = {s['alpha']:.3f}. <b>Your WSD schedule</b> ({self.shape.value} decay over the last "
            f"{self.decay.value:.0%} of {s['steps']} steps to {self.final.value:.0%} of peak): predicted final "
            f"loss <b>{s['your final loss']:.4f}</b> (law's finals: "
            + ", ".join(f"{k} {v:.4f}" for k, v in sorted(finals.items()))
            + ")."
            + extra
            + warn
            + unidentified
        )


def _schedule_title(text: str) -> str:
    _, prov = schedule_curves()
    return text + (" — SYNTHETIC curves (illustrative constants)" if prov == "synthetic" else "")


@figure("lr-schedule-annealing-law")
def lr_schedule_figure() -> Figure:
    tables = schedule_tables("cosine", 0.3, 0.1, "linear", 1.0)
    caption = (
        "Tissue et al. (2024) LR-annealing law fitted on the cosine curve predicts the others. "
        + schedule_provenance_text()
    )
    title = _schedule_title("LR-annealing law, fitted on cosine")
    return Figure(
        "lr-schedule-annealing-law",
        "10_lr_schedules",
        caption,
        with_data(schedule_chart(title), tables),
        tables,
        bib("2408.11029", "workbench-proxies"),
        caution=caution_of({"annealing law": schedule_fit("cosine")}),
    )


@explorer("10_lr_schedules")
def schedule_explorer():
    return ScheduleExplorer()
