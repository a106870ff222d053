"""Lesson 06, second half: number formats and post-training quantisation.

Sun et al.'s floating-point law (exponent, mantissa, block size), quantisation degradation laws, the
Quartet II efficiencies, and the precision proxies a student can run.
"""

from __future__ import annotations

import functools

import altair as alt
import numpy as np
import polars as pl

from workbench import corpus
from workbench.course import Figure, figure
from workbench.course.inputs import proxy_missing_message, proxy_results
from workbench.course.references import bib
from workbench.course.style import (
    LOG,
    SCI,
    WIDTH,
)
from workbench.errors import WorkbenchError
from workbench.fit import caution_of, fit

# Sun et al. 2025: formats shown (label, exponent bits, mantissa bits)
SUN_FORMATS = (
    ("E2M1 (FP4)", 2, 1),
    ("E3M2 (FP6)", 3, 2),
    ("E2M3 (FP6)", 2, 3),
    ("E5M2 (FP8)", 5, 2),
    ("E4M3 (FP8)", 4, 3),
    ("E8M7 (BF16 layout)", 8, 7),
)


def sun_tables(params: float = 1e9, block: float = 128) -> dict[str, pl.DataFrame]:
    """Loss vs tokens of Sun et al.'s law (Table 2 constants) per format, and each format's critical data size."""
    from workbench.laws.floating_point import SUN_FP, TABLE2, critical_data_size

    d = np.geomspace(1e10, 1e15, 121)
    curves, crit = [], []
    for label, e, m in SUN_FORMATS:
        cols = {
            "params": np.full(d.size, params),
            "tokens": d,
            "exponent_bits": np.full(d.size, float(e)),
            "mantissa_bits": np.full(d.size, float(m)),
            "block_size": np.full(d.size, float(block)),
        }
        loss = SUN_FP.predict(cols, TABLE2)
        curves.append(pl.DataFrame({"format": label, "tokens": d, "loss": loss}))
        dc = float(critical_data_size(params, e, m, block))
        lc = float(
            SUN_FP.predict(
                {"params": [params], "tokens": [dc], "exponent_bits": [e], "mantissa_bits": [m], "block_size": [block]},
                TABLE2,
            )[0]
        )
        crit.append({"format": label, "tokens": dc, "loss": lc, "shown": bool(dc <= d.max())})
    return {"curves": pl.concat(curves), "critical": pl.DataFrame(crit)}


def optimal_precision_table(flops=(1e21, 1e23, 1e25, 1e27, 1e29, 1e31)) -> pl.DataFrame:
    """Compute-optimal training precision by budget under the two papers' laws, each with its printed constants.

    Kumar et al.: the P maximising N_eff / (N P), the same at every budget (App. K Table 2 with offsets).
    Sun et al.: Eq. (20) minimised under C = (6/16) P N D with block size 128 (their Eq. 25, solved numerically).
    """
    from workbench.laws.floating_point import compute_optimal_precision as sun_optimal
    from workbench.laws.precision import compute_optimal_precision as kumar_optimal

    c = np.asarray(flops, float)
    p_sun, n_sun, d_sun, _ = sun_optimal(c)
    return pl.DataFrame(
        {
            "budget C (FLOPs)": c,
            "Kumar 2024: P* (bits)": np.full(c.size, kumar_optimal()),
            "Sun 2025: P_opt (bits)": p_sun,
            "Sun 2025: N_opt": n_sun,
            "Sun 2025: tokens per parameter": d_sun / n_sun,
        }
    )


def sun_critical_sizes(params: float = 1e9, block: float = 128) -> pl.DataFrame:
    """Sun et al.'s Eq. (21) for the three formats §4.3 quotes (1730T, 27T, 0.4T tokens at N = 1e9)."""
    from workbench.laws.floating_point import critical_data_size

    rows = [("BF16 (E8M7)", 8, 7, "1730T"), ("FP8-E4M3", 4, 3, "27T"), ("FP4-E2M1", 2, 1, "0.4T")]
    return pl.DataFrame(
        [
            {
                "format": f,
                "D_crit (T tokens)": float(critical_data_size(params, e, m, block)) / 1e12,
                "paper (§4.3)": quoted,
            }
            for f, e, m, quoted in rows
        ]
    )


def sun_splits(bits=(4, 6, 8, 12, 16)) -> pl.DataFrame:
    """Sun et al.'s optimal exponent/mantissa split per total bit-width (integer and continuous)."""
    from workbench.laws.floating_point import optimal_exponent_bits, optimal_exponent_mantissa

    rows = []
    for p in bits:
        e, m = optimal_exponent_mantissa(p)
        rows.append(
            {"total bits": p, "best split": f"E{e}M{m}", "continuous optimum E": float(optimal_exponent_bits(p))}
        )
    return pl.DataFrame(rows)


@figure("sun-fp-formats")
def sun_figure() -> Figure:
    tables = sun_tables()
    x = alt.X("tokens:Q", scale=LOG, axis=SCI, title="training tokens D")
    colour = alt.Color("format:N", sort=[f[0] for f in SUN_FORMATS], scale=alt.Scale(scheme="dark2"), title="format")
    y = alt.Y(
        "loss:Q",
        scale=alt.Scale(domain=[2.38, 2.9], clamp=False),
        title="predicted loss (zoomed; FP4 leaves the frame)",
    )
    lines = alt.Chart(tables["curves"]).mark_line(clip=True).encode(x=x, y=y, color=colour)
    crit = (
        alt.Chart(tables["critical"].filter(pl.col("shown")))
        .mark_point(size=90, filled=True, shape="triangle-down", clip=True)
        .encode(x="tokens:Q", y="loss:Q", color=colour, tooltip=["format:N", "tokens:Q", "loss:Q"])
    )
    chart = alt.layer(lines, crit).properties(
        width=WIDTH - 80,
        height=300,
        title=alt.TitleParams(
            "Sun et al. 2025: low-precision training stops improving past a critical data size",
            subtitle=[
                "N = 1e9, block size 128, Table 2 constants (fitted on 41M-679M models: N = 1e9 extrapolates); "
                "triangles: loss minimum D_crit"
            ],
        ),
    )
    return Figure(
        "sun-fp-formats",
        "06_precision",
        "Sun et al.'s floating-point training law: loss against tokens for six formats at N = 1e9; "
        "past the critical data size (triangles) more data makes a low-precision model worse.",
        chart,
        tables,
        bib("2501.02423"),
    )


def degradation_tables(params: float = 1e9, bits: float = 4, group: float = 128) -> pl.DataFrame:
    """Loss increase from quantisation vs training tokens under three laws, each with its printed constants."""
    from workbench.laws.precision import KUMAR_PTQ
    from workbench.laws.quantization import CHEN_QAT, OUYANG_QID

    d = np.geomspace(1e9, 1e13, 81)
    n = np.full(d.size, params)
    laws = [
        (KUMAR_PTQ, "kumar2024_table2", "Kumar 2024 PTQ (GPTQ)", {"weight_bits": bits}),
        (OUYANG_QID, "ouyang2024_eq8", "Ouyang 2024 QiD (GPTQ)", {"weight_bits": bits}),
        (CHEN_QAT, "chen2025_w4a4", f"Chen 2025 W4A4 QAT, G = {group:g}", {"block_size": group}),
    ]
    frames = []
    for law, preset_name, name, extra in laws:
        preset = law.preset(preset_name)
        x = {"params": n, "tokens": d, **{k: np.full(d.size, float(v)) for k, v in extra.items()}}
        frames.append(
            pl.DataFrame(
                {
                    "law": f"{name}, {preset.label}: {preset.locator.split(' (')[0]}",
                    "tokens": d,
                    "degradation": law.predict(x, preset.values),
                }
            )
        )
    return pl.concat(frames)


@figure("quantisation-degradation")
def degradation_figure() -> Figure:
    table = degradation_tables()
    chart = (
        alt.Chart(table)
        .mark_line()
        .encode(
            x=alt.X("tokens:Q", scale=LOG, axis=SCI, title="training tokens D"),
            y=alt.Y("degradation:Q", scale=LOG, title="loss increase over 16-bit (nats)"),
            color=alt.Color(
                "law:N", title=None, legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=500)
            ),
        )
        .properties(
            width=WIDTH,
            height=280,
            title=alt.TitleParams(
                "Quantisation hurts more-trained models more",
                subtitle=["N = 1e9, 4-bit weights; each law in its own paper's setting"],
            ),
        )
    )
    return Figure(
        "quantisation-degradation",
        "06_precision",
        "Loss increase from 4-bit quantisation of a 1e9-parameter model against its training tokens, each law with "
        "its paper's printed constants (Kumar et al. 2024 App. K Table 2 with its offset b; Ouyang et al. 2024 "
        "Eq. 8; Chen et al. 2025 Table 1): post-training quantisation grows about as D^0.5, quantisation-aware "
        "training as D^0.07. Each law is fitted in its own setting (model family, data, quantiser).",
        chart,
        {"curves": table},
        bib("2411.04330", "2411.17691", "2505.14302"),
    )


def _quartet2_groups(df: pl.DataFrame) -> list[tuple[str, pl.DataFrame, tuple[str, ...]]]:
    groups = []
    for cond in df["condition"].unique().sort().to_list():
        if cond == "baseline":
            continue
        g = df.filter(pl.col("condition") == cond)
        fwd, bwd = g["weight_bits"][0] < 16, g["gradient_bits"][0] < 16
        free = tuple(k for k, on in (("eff_N", fwd), ("eff_D", bwd)) if on)
        groups.append((cond, g, free))
    return groups


@functools.lru_cache(maxsize=1)
def quartet2_fits() -> tuple[dict, pl.DataFrame]:
    """Quartet II (NVFP4): base law fitted on the BF16 runs, then eff_N / eff_D per scheme with the base frozen."""
    from workbench.analysis.precision_budget import fit_efficiencies
    from workbench.laws.efficiency import BASE_PARAMETERS, PRECISION_EFFICIENCY

    df = corpus.load("quartet2_nvfp4", metric="loss").with_columns(pl.col("value").alias("loss"))
    base = fit(PRECISION_EFFICIENCY, df.filter(pl.col("condition") == "baseline"), fixed={"eff_N": 1.0, "eff_D": 1.0})
    values = {k: base.params[k] for k in BASE_PARAMETERS}
    eff = fit_efficiencies(_quartet2_groups(df), values)
    passes = {"eff_N": "forward only", "eff_D": "backward only", "eff_N+eff_D": "forward and backward"}
    eff = eff.with_columns(pl.col("free").replace_strict(passes).alias("quantised"))
    return {"base": values, "base_fit": base}, eff


@functools.lru_cache(maxsize=4)
def quartet2_tradeoff(scheme: str = "tetrajetv2", draws: int = 100) -> pl.DataFrame:
    """Bootstrap eff_N and eff_D of one fully quantised Quartet II scheme (their intervals and correlation)."""
    from workbench.analysis.precision_budget import fit_efficiencies

    fits, _ = quartet2_fits()
    df = corpus.load("quartet2_nvfp4", metric="loss").with_columns(pl.col("value").alias("loss"))
    return fit_efficiencies(
        [(scheme, df.filter(pl.col("condition") == scheme), ("eff_N", "eff_D"))], fits["base"], draws=draws, seed=0
    )


@figure("quartet2-efficiencies")
def quartet2_figure() -> Figure:
    _, eff = quartet2_fits()
    t = quartet2_tradeoff().row(0, named=True)
    long = pl.concat(
        [
            eff.filter(pl.col("free").str.contains("eff_N")).select(
                "label",
                "quantised",
                "runs",
                pl.lit("eff_N (forward)").alias("efficiency"),
                pl.col("eff_N").alias("value"),
            ),
            eff.filter(pl.col("free").str.contains("eff_D")).select(
                "label",
                "quantised",
                "runs",
                pl.lit("eff_D (backward)").alias("efficiency"),
                pl.col("eff_D").alias("value"),
            ),
        ]
    )
    chart = (
        alt.Chart(long)
        .mark_point(filled=True, size=70)
        .encode(
            x=alt.X("value:Q", scale=alt.Scale(zero=False), title="efficiency (1 = as good as BF16)"),
            y=alt.Y(
                "label:N",
                sort=alt.EncodingSortField("value", order="ascending"),
                title=None,
                axis=alt.Axis(labelLimit=520, labelFontSize=9),
            ),
            color=alt.Color("efficiency:N", title=None),
            shape=alt.Shape("quantised:N", title="quantised pass"),
            tooltip=["label:N", "quantised:N", "efficiency:N", "value:Q", "runs:Q"],
        )
        .properties(width=300, height=560)
    )
    one = alt.Chart(pl.DataFrame({"value": [1.0]})).mark_rule(color="black", strokeDash=[4, 3]).encode(x="value:Q")
    chart = alt.layer(chart, one).properties(
        title=alt.TitleParams(
            "Quartet II NVFP4 schemes as parameter and data efficiencies",
            subtitle=[
                "base law fitted on the 21 BF16 runs; one or two efficiencies per scheme, base frozen",
                f"both free (squares): they trade off, e.g. {t['label']}: bootstrap correlation of eff_N and eff_D "
                f"{t['corr']:+.2f}, eff_D 95% CI {t['eff_D_lo']:.2f}-{t['eff_D_hi']:.2f}",
            ],
        )
    )
    return Figure(
        "quartet2-efficiencies",
        "06_precision",
        "Each Quartet II training scheme as the fraction of parameters (forward pass) and data (backward pass) of a "
        "BF16 run it is worth, fitted with the base law frozen (Castro et al. 2025's procedure).",
        chart,
        {"efficiencies": eff},
        bib("quartet2_nvfp4", "2505.14669"),
        caution=" ".join(
            c.replace("Caution: ", f"Caution ({label}): ")
            for label, c in eff.select("label", "caution").iter_rows()
            if c
        ),
    )


def proxy_precision_tables(df: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """QAT penalty (QAT loss minus the full-precision loss of the same width and tokens) and PTQ degradation
    (loss after post-training quantisation minus the same run's loss), from proxy rows."""
    f = df.filter(pl.col("final") & (pl.col("metric") == "loss") & pl.col("eval_set").str.ends_with("-val"))
    base = f.filter(pl.col("precision_phase").is_null()).select(
        "run_id", "width", "tokens", "params", pl.col("value").alias("full")
    )
    qat = f.filter(pl.col("precision_phase") == "qat").select(
        "width", "tokens", "params", pl.col("condition").str.replace("^qat ", "").alias("format"), "value"
    )
    ref = base.group_by("width", "tokens").agg(pl.col("full").mean())
    qat = qat.join(ref, on=["width", "tokens"], how="inner").with_columns(
        (pl.col("value") - pl.col("full")).alias("penalty")
    )
    ptq = f.filter(pl.col("precision_phase") == "post_training").select(
        "run_id", pl.col("condition").str.split(" ptq ").list.get(1).alias("format"), "weight_bits", "value"
    )
    ptq = ptq.join(base, on="run_id", how="inner").with_columns((pl.col("value") - pl.col("full")).alias("degradation"))
    return {"qat": qat.sort("format", "params"), "ptq": ptq.sort("format", "width", "tokens")}


def proxy_qid_fit(ptq: pl.DataFrame):
    """Ouyang et al.'s QiD law fitted to the proxies' integer PTQ degradations (int3, int4; positive ones)."""
    from workbench.laws.quantization import OUYANG_QID

    rows = ptq.filter(pl.col("format").is_in(["int3", "int4"]) & (pl.col("degradation") > 0))
    return fit(OUYANG_QID, rows), rows


@figure("proxy-precision", requires=("proxies/precision",))
def _proxy_precision_figure() -> Figure:
    df = proxy_results("precision")
    if df is None:
        raise WorkbenchError(proxy_missing_message("precision"))
    tables = proxy_precision_tables(df)
    qid, rows = proxy_qid_fit(tables["ptq"])
    colour = alt.Color("format:N", scale=alt.Scale(scheme="dark2"), title="format")
    panels = []
    left = (
        alt.Chart(tables["qat"].filter(pl.col("penalty") > 1e-4))
        .mark_line(point=True)
        .encode(
            x=alt.X("params:Q", scale=LOG, axis=SCI, title="non-embedding parameters N"),
            y=alt.Y("penalty:Q", scale=LOG, title="QAT loss minus full precision (nats; above 1e-4 shown)"),
            color=colour,
            tooltip=["format:N", "width:Q", "params:Q", "penalty:Q"],
        )
        .properties(width=300, height=260, title="quantisation-aware training: the penalty per format")
    )
    if tables["qat"].height:
        panels.append(left)
    shown = tables["ptq"].filter(pl.col("degradation") > 1e-4)
    right = (
        alt.Chart(shown)
        .mark_line(point=True)
        .encode(
            x=alt.X("tokens:Q", scale=LOG, axis=SCI, title="training tokens D"),
            y=alt.Y("degradation:Q", scale=LOG, title="PTQ loss increase (nats; above 1e-4 shown)"),
            color=colour,
            detail="width:N",
            shape=alt.Shape("width:N", title="width"),
            tooltip=["format:N", "width:Q", "tokens:Q", "degradation:Q"],
        )
        .properties(width=300, height=260, title="post-training quantisation: degradation vs tokens")
    )
    beta = qid.params["beta"]
    panels.append(right)
    chart = alt.hconcat(
        *panels,
        title=alt.TitleParams(
            "Proxies (tiny GPTs on the zipf corpus): the precision effects at small scale",
            subtitle=[
                f"QiD law fitted to {rows.height} int3/int4 PTQ points: data exponent beta = {beta:.2f} "
                f"(Ouyang et al. 2024: 0.53), size exponent alpha = {qid.params['alpha']:.2f}"
            ],
        ),
    ).resolve_scale(color="shared")
    return Figure(
        "proxy-precision",
        "06_precision",
        "Shipped proxy preset 'precision': QAT penalty per format against model size, and PTQ degradation "
        "against training tokens, with Ouyang et al.'s QiD law fitted to the integer formats.",
        chart,
        {**tables, "qid_points": rows},
        bib("2411.17691", "2411.04330"),
        caution=caution_of({"QiD law": qid}),
    )


def proxy_precision_figure() -> Figure:
    """The proxy precision figure (raises a clear error when the preset's results are not shipped)."""
    return _proxy_precision_figure()
