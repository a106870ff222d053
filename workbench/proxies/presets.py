"""Named sweeps that make one scaling phenomenon each, and the check that says whether they did.

A :class:`Preset` is a list of :class:`~workbench.proxies.config.RunConfig`
(or of numpy toy configs, :mod:`workbench.proxies.toys`) plus ``verify(rows)``:
it fits what the phenomenon predicts with the one fitting engine and returns
numbers and pass/fail checks, so the CLI, the tests and
``datasets/proxies/README.md`` report the same thing.  Presets are defined
here, their results are shipped in ``datasets/proxies/<name>.csv``, except for
presets marked ``shipped=False``: sized for a cluster, they are priced by
``sweep --dry-run`` and only their first runs are tested.

====================  ==============  ==================================================================================
preset                corpus          what it shows
====================  ==============  ==================================================================================
``smoke``             zipf            seconds: the machinery works (3 tiny runs)
``quick``             zipf            a clean power law in N; fitted E vs the exact entropy rate
``isoflop``           pystdlib        isoFLOP curves with interior minima, Approach 2
``isoflop_large``     pystdlib        the same at 100x the budgets, for a small cluster; not shipped (``shipped=False``)
``precision``         zipf            QAT low-bit penalty; PTQ degradation growing with tokens
``schedule``          pystdlib        loss curves, 4 LR schedules x 2 sizes; the LR-annealing law fitted on one predicts
                                      the rest
``crossover``         pystdlib        fixed-window MLP vs LSTM: fitted loss-vs-N curves cross (GPT as reference)
``inverse``           trap            a frequent pattern with unpredictable exceptions: loss on them rises with N
``nmt``               translate       encoder-decoder: loss vs encoder and decoder size separately (Ghorbani et al.
                                      2021)
``pruning``           perceptron      numpy teacher-student perceptron: keep easy vs hard examples, pruning beats the
                                      power law (Sorscher et al. 2022); a toy (workbench/proxies/toys), not a torch run
``regimes``           relusphere      numpy ReLU random features on S^d: the four regimes of Bahri et al. 2021 (a toy)
``superposition``     superposition   numpy toy model of superposition: weak L ~ m^-alpha vs strong L ~ 1/m (Liu et al.
                                      2025)
``repetition``        zipf, pystdlib  one size, 1-40 epochs over limited unique tokens: the worth of a repeated token
                                      and R_D* of Muennighoff et al. 2023 (workbench/proxies/repetition.py)
``recipe_crossover``  zipf            two learning-rate recipes whose loss-vs-N curves cross (Xiao 2024's scaling law
                                      crossover), with a bootstrap interval (workbench/proxies/recipes.py)
``sparse``            pystdlib        dense and gradually pruned GPTs on one curve in the average parameter count (Jin
                                      et al. 2025; workbench/proxies/sparse_dense.py)
====================  ==============  ==================================================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from workbench.errors import WorkbenchError
from workbench.proxies import recipes as _recipes
from workbench.proxies import repetition as _repetition
from workbench.proxies import sparse_dense as _sparse
from workbench.proxies.config import RunConfig
from workbench.proxies.toys import regimes as _regimes
from workbench.proxies.toys import superposition as _superposition


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    target_minutes: float  # wall-time target on 2 cores
    build: Callable[[], list]  # RunConfig (torch proxies) or toy configs (workbench.proxies.toys)
    verify: Callable[[pl.DataFrame], dict]
    # False: sized for a cluster, no results in datasets/proxies/ (its dry run and first runs are tested instead)
    shipped: bool = True

    def configs(self) -> list[RunConfig]:
        return self.build()


def _check(name: str, value, target: str, passed: bool) -> dict:
    return {"name": name, "value": value, "target": target, "passed": bool(passed)}


def _verdict(fitted: dict, checks: list[dict], **details) -> dict:
    return {"fitted": fitted, "checks": checks, "passed": all(c["passed"] for c in checks), "details": details}


def _final(df: pl.DataFrame, eval_set: str | None = None) -> pl.DataFrame:
    from workbench.proxies.results import final_losses

    return final_losses(df, eval_set)


def _fit(law_name: str, data) -> tuple[dict, object]:
    from workbench.fit import fit
    from workbench.laws import get_law

    res = fit(get_law(law_name), data)
    return {"law": law_name, "params": dict(res.params), "warnings": list(res.warnings)}, res


def _spearman(x, y) -> float:
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    if len(x) < 2 or np.std(rx) == 0 or np.std(ry) == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


# --------------------------------------------------------------------- smoke
def _smoke_configs() -> list[RunConfig]:
    return [
        RunConfig(
            corpus="zipf", width=w, depth=1, tokens=65_536, eval_tokens=16_384, curve_points=4, curve_eval_tokens=4096
        )
        for w in (16, 32, 64)
    ]


def _smoke_verify(df: pl.DataFrame) -> dict:
    f = _final(df).sort("params")
    losses = f["loss"].to_list()
    checks = [
        _check(
            "every run learned something (final loss below ln 256 = 5.545)",
            max(losses),
            "< 5.545",
            max(losses) < math.log(256),
        )
    ]
    return _verdict({"law": None, "params": {}}, checks, losses=losses)


# --------------------------------------------------------------------- quick
QUICK_WIDTHS = (32, 48, 64, 96, 128, 192)


def _quick_configs() -> list[RunConfig]:
    runs = [RunConfig(corpus="zipf", width=w, depth=2, tokens=1_000_000) for w in QUICK_WIDTHS]
    runs += [RunConfig(corpus="zipf", width=32, depth=2, tokens=1_000_000, seed=s) for s in (1, 2)]  # seed noise
    return runs


def _quick_verify(df: pl.DataFrame) -> dict:
    from workbench.proxies.corpora import ZipfMarkov

    f = _final(df)
    main = f.filter(pl.col("seed") == 0).sort("params")
    fitted, res = _fit("power_offset_params", main)
    true_h = ZipfMarkov().H
    e = fitted["params"]["E"]
    rel = (e - true_h) / true_h
    resid = np.log(res.predict({"params": main["params"].to_numpy()}) / main["loss"].to_numpy())
    seeds = f.filter(pl.col("width") == 32)["loss"].to_numpy()
    losses = main["loss"].to_numpy()
    checks = [
        _check(
            "fitted E within 0.5 % of the exact entropy rate",
            round(100 * rel, 3),
            "|E/H - 1| <= 0.5 %",
            abs(rel) <= 0.005,
        ),
        _check(
            "loss falls with every size step",
            bool(np.all(np.diff(losses) < 0)),
            "strictly decreasing",
            np.all(np.diff(losses) < 0),
        ),
        _check(
            "clean power law: largest log residual",
            float(np.abs(resid).max()),
            "<= 0.005",
            np.abs(resid).max() <= 0.005,
        ),
    ]
    return _verdict(
        fitted,
        checks,
        entropy_rate=true_h,
        E=e,
        E_minus_H=e - true_h,
        seed_std_width32=float(np.std(seeds, ddof=1)) if len(seeds) > 1 else None,
        losses=dict(zip(main["params"].to_list(), losses.tolist())),
    )


# ------------------------------------------------------------------- isoflop
# Five widths per budget, centred (roughly) on where that budget's optimum turned out to lie.
ISOFLOP_GRID = {
    5e11: (16, 24, 32, 48, 64),
    1.5e12: (24, 32, 48, 64, 96),
    4.5e12: (32, 48, 64, 96, 128),
}


def _isoflop_configs(grid: dict[float, tuple[int, ...]] = ISOFLOP_GRID) -> list[RunConfig]:
    from workbench.proxies.models import build, counts

    runs = []
    unit = 4 * 128
    for c, widths in grid.items():
        for w in widths:
            cfg = RunConfig(corpus="pystdlib", width=w, depth=2)
            fpt = counts(build(cfg.model)).flops_per_token
            tokens = max(unit * 100, int(round(c / fpt / unit)) * unit)
            runs.append(RunConfig(corpus="pystdlib", width=w, depth=2, tokens=tokens, label=f"C={c:.1e}"))
    return runs


# isoflop_large: budgets 100x isoflop's.  isoflop's N_opt grew as C^0.74, so 100x the budget moves the optimum
# about 30x in N, 5.5x in width at depth 2: five widths a budget, centred near the expected optimum.
ISOFLOP_LARGE_GRID = {
    5e13: (64, 96, 128, 192, 256),
    1.5e14: (96, 128, 192, 256, 384),
    4.5e14: (128, 192, 256, 384, 512),
}


def _isoflop_large_configs() -> list[RunConfig]:
    return _isoflop_configs(ISOFLOP_LARGE_GRID)


def _isoflop_verify(df: pl.DataFrame) -> dict:
    from workbench.analysis.compute_optimal import approach2_isoflop

    f = _final(df).with_columns(pl.col("condition").str.split("=").list.get(1).cast(pl.Float64).alias("budget"))
    try:
        a2 = approach2_isoflop(f)
        a, b, refused, n_opt = a2.a, a2.b, list(a2.refused), dict(zip(a2.flops.tolist(), a2.params.tolist()))
    except WorkbenchError as exc:
        a = b = float("nan")
        refused, n_opt = [str(exc)], {}
    budgets = sorted(set(f["budget"].to_list()))
    best = {}
    for c in budgets:
        g = f.filter(pl.col("budget") == c).sort("params")
        i = int(np.argmin(g["loss"].to_numpy()))
        best[c] = {"observed_best_params": g["params"][i], "interior": 0 < i < g.height - 1}
    fitted, _ = _fit("chinchilla", f)
    checks = [
        _check(
            f"interior minimum at C = {c:.1e}",
            best[c]["interior"] and c in n_opt,
            "lowest loss not at an end, and the parabola's vertex inside the swept N",
            best[c]["interior"] and c in n_opt,
        )
        for c in budgets
    ]
    checks.append(_check("Approach 2: optimal N grows with the budget", a, "a > 0", a > 0))
    return _verdict({**fitted, "approach2": {"a": a, "b": b, "n_opt": n_opt}}, checks, refused=refused, minima=best)


# ----------------------------------------------------------------- precision
QAT_WIDTHS = (32, 64, 128)
QAT_FORMATS = ("int8", "fp8_e4m3", "int4", "fp4_e2m1", "int2")
PTQ_WIDTHS = (32, 64)
PTQ_TOKENS = (250_000, 500_000, 1_000_000, 2_000_000, 4_000_000, 8_000_000)
PTQ_FORMATS = ("int8", "fp8_e4m3", "int4", "fp4_e2m1", "int3")  # RTN, weights only, one scale per output channel


def _precision_configs() -> list[RunConfig]:
    runs = []
    for w in QAT_WIDTHS:
        for fmt in QAT_FORMATS:
            runs.append(
                RunConfig(
                    corpus="zipf",
                    width=w,
                    depth=2,
                    tokens=1_000_000,
                    qat_weight=fmt,
                    qat_activation=fmt,
                    label=f"qat {fmt}",
                )
            )
        if w not in PTQ_WIDTHS:
            runs.append(RunConfig(corpus="zipf", width=w, depth=2, tokens=1_000_000, ptq=PTQ_FORMATS, ptq_block=None))
    for w in PTQ_WIDTHS:
        for t in PTQ_TOKENS:
            runs.append(RunConfig(corpus="zipf", width=w, depth=2, tokens=t, ptq=PTQ_FORMATS, ptq_block=None))
    return runs


def _precision_verify(df: pl.DataFrame) -> dict:
    f = df.filter(pl.col("final") & (pl.col("metric") == "loss"))
    base = f.filter(pl.col("precision_phase").is_null())
    qat = f.filter(pl.col("precision_phase") == "qat")
    ptq = f.filter(pl.col("precision_phase") == "post_training")
    checks, penalties = [], {}
    one_m = base.filter((pl.col("tokens") - 1_000_000).abs() < 10_000)
    ref = {r["width"]: r["value"] for r in one_m.iter_rows(named=True)}
    for r in qat.iter_rows(named=True):
        penalties.setdefault(r["condition"].removeprefix("qat "), {})[r["width"]] = r["value"] - ref[r["width"]]
    mean_pen = {k: float(np.mean(list(v.values()))) for k, v in penalties.items()}
    if {"int8", "int4", "int2"} <= set(mean_pen):
        checks.append(
            _check(
                "QAT penalty grows as bits fall (int8 < int4 < int2, mean over widths)",
                [round(mean_pen[k], 4) for k in ("int8", "int4", "int2")],
                "increasing",
                mean_pen["int8"] < mean_pen["int4"] < mean_pen["int2"],
            )
        )
        checks.append(
            _check(
                "4-bit QAT costs loss (int4 and fp4 penalties > 0)",
                [round(mean_pen.get(k, float("nan")), 4) for k in ("int4", "fp4_e2m1")],
                "> 0",
                mean_pen["int4"] > 0 and mean_pen.get("fp4_e2m1", 1) > 0,
            )
        )
    deg = {}
    fp = {(r["width"], r["tokens"]): r["value"] for r in base.iter_rows(named=True)}
    for r in ptq.iter_rows(named=True):
        fmt = r["condition"].split(" ptq ")[1]
        deg.setdefault(fmt, {}).setdefault(r["width"], []).append(
            (r["tokens"], r["value"] - fp[(r["width"], r["tokens"])])
        )
    slopes = {}
    for fmt, by_w in deg.items():
        for w, pts in by_w.items():
            pts.sort()
            t = np.array([p[0] for p in pts])
            d = np.array([p[1] for p in pts])
            if len(pts) >= 4:
                slopes[(fmt, w)] = {
                    "spearman": _spearman(t, d),
                    "first": float(d[0]),
                    "last": float(d[-1]),
                }
    for fmt in ("int3", "int4"):
        for w in PTQ_WIDTHS:
            s = slopes.get((fmt, w))
            if s:
                checks.append(
                    _check(
                        f"PTQ {fmt} degradation grows with tokens (width {w})",
                        {
                            "rank_corr": round(s["spearman"], 3),
                            "at_min_tokens": round(s["first"], 4),
                            "at_max_tokens": round(s["last"], 4),
                        },
                        "rank correlation >= 0.8 and last > 2 x first",
                        s["spearman"] >= 0.8 and s["last"] > 2 * max(s["first"], 1e-4),
                    )
                )
    # Ouyang et al.'s QiD law on the integer formats: dL = k D^beta / (N^alpha P^gamma)
    qid_rows = [
        {
            "params": r["params"],
            "tokens": r["tokens"],
            "weight_bits": r["weight_bits"],
            "degradation": r["value"] - fp[(r["width"], r["tokens"])],
        }
        for r in ptq.iter_rows(named=True)
        if r["number_format"] == "int"
    ]
    qid_rows = [q for q in qid_rows if q["degradation"] > 0]
    fitted = {"law": "ouyang_qid", "params": {}, "on": f"{len(qid_rows)} int PTQ points with positive degradation"}
    if len(qid_rows) >= 5:
        qid, _ = _fit("ouyang_qid", {k: np.array([q[k] for q in qid_rows]) for k in qid_rows[0]})
        fitted.update(qid)
        checks.append(
            _check(
                "QiD law: degradation grows with training tokens (fitted beta > 0)",
                round(qid["params"]["beta"], 3),
                "> 0",
                qid["params"]["beta"] > 0,
            )
        )
    return _verdict(
        fitted,
        checks,
        qat_penalty=penalties,
        ptq_degradation={f"{k}": v for k, v in deg.items()},
        ptq_trend={f"{k[0]} w{k[1]}": v for k, v in slopes.items()},
    )


# ------------------------------------------------------------------ schedule
SCHEDULES = (
    ("constant", {"schedule": "constant"}),
    ("cosine", {"schedule": "cosine"}),
    ("wsd20", {"schedule": "wsd", "decay": 0.2}),
    ("wsd10", {"schedule": "wsd", "decay": 0.1}),
)
# Two sets of the four curves.  "explore" (width 64, seed 0) is the set the protocol below was chosen on
# (see datasets/proxies/README.md); "confirm" (width 96, seed 1) was trained only after the protocol and
# the targets were committed, so it is the held-out test of the law.
SCHEDULE_SETS = {"explore": {"width": 64, "seed": 0}, "confirm": {"width": 96, "seed": 1}}
# The pre-registered protocol (committed before the "confirm" runs existed):
SCHEDULE_FIT_ON = "wsd20"  # one curve with a stable phase *and* an anneal identifies both A/alpha and C
SCHEDULE_LAMBDA = 0.995  # momentum of S2; the paper explores 0.99-0.999
SCHEDULE_SKIP = 0.1  # points before 10 % of the steps (warm-up and the first drop) are not fitted or scored
SCHEDULE_MAE_TARGET = 0.038  # nats per predicted curve; an independent reproduction's cosine -> WSD error
SCHEDULE_FINAL_TARGET = 0.05  # nats: |predicted - measured| final loss of each predicted curve
# The paper's default lambda, fitted on cosine: reported for comparison, not a pass/fail target.
SCHEDULE_BASELINE = {"fit_on": "cosine", "lambda": 0.999}


def _schedule_run(set_name: str, name: str, kw: dict) -> RunConfig:
    v = SCHEDULE_SETS[set_name]
    return RunConfig(
        corpus="pystdlib",
        width=v["width"],
        depth=2,
        tokens=2_000_000,
        curve_points=40,
        curve_spacing="linear",
        curve_eval_tokens=16_384,
        seed=v["seed"],
        label=name if set_name == "explore" else f"{name} {set_name}",
        **kw,
    )


def _schedule_configs() -> list[RunConfig]:
    return [_schedule_run(set_name, name, kw) for set_name in SCHEDULE_SETS for name, kw in SCHEDULES]


def schedule_curves(df: pl.DataFrame, lam: float) -> pl.DataFrame:
    """Validation-loss curves of the ``schedule`` preset with S1 and S2 recomputed for momentum ``lam``.

    Columns: set, schedule, step, loss, S1, S2.  The areas come from each run's exact
    per-step schedule (:func:`~workbench.proxies.config.lr_schedule`), not from the stored
    columns, so any lambda can be tried on the same runs.
    """
    from workbench.proxies.config import lr_areas, lr_schedule

    curves = df.filter(
        (pl.col("metric") == "loss") & pl.col("eval_set").str.ends_with("-val") & pl.col("precision_phase").is_null()
    )
    frames = []
    for set_name in SCHEDULE_SETS:
        for name, kw in SCHEDULES:
            cfg = _schedule_run(set_name, name, kw)
            c = curves.filter(pl.col("run_id").str.ends_with(f"/{cfg.run_id()}")).sort("step")
            if c.height == 0:
                continue
            s1, s2 = lr_areas(lr_schedule(cfg), int(round(cfg.warmup * cfg.steps)), lam)
            c = c.filter(pl.col("step") >= SCHEDULE_SKIP * cfg.steps)
            i = c["step"].to_numpy() - 1
            frames.append(
                pl.DataFrame(
                    {"set": set_name, "schedule": name, "step": c["step"], "loss": c["value"], "S1": s1[i], "S2": s2[i]}
                )
            )
    if not frames:
        raise WorkbenchError("no schedule-preset loss curves in these rows")
    return pl.concat(frames)


def schedule_errors(curves: pl.DataFrame, fit_on: str) -> tuple[object, dict]:
    """Fit the annealing law on one schedule's curve, predict every curve of the same set."""
    from workbench.fit import fit
    from workbench.laws import get_law

    law = get_law("lr_annealing")  # Tissue et al. 2024: L = L0 + A S1^-alpha - C S2
    res = fit(law, curves.filter(pl.col("schedule") == fit_on))
    errs = {}
    for name, _ in SCHEDULES:
        c = curves.filter(pl.col("schedule") == name).sort("step")
        if c.height == 0:
            continue
        e = res.predict({v: c[v].to_numpy() for v in law.variables}) - c["loss"].to_numpy()
        errs[name] = {
            "role": "fitted" if name == fit_on else "predicted",
            "mae": float(np.abs(e).mean()),
            "max_abs": float(np.abs(e).max()),
            "mape_percent": float(100 * np.abs(e / c["loss"].to_numpy()).mean()),
            "final_error": float(e[-1]),
            "final_loss": float(c["loss"][-1]),
            "points": c.height,
        }
    return res, errs


def _schedule_verify(df: pl.DataFrame) -> dict:
    checks, per_set, fitted = [], {}, {}
    protocols = (
        ("preregistered", SCHEDULE_FIT_ON, SCHEDULE_LAMBDA),
        ("baseline", SCHEDULE_BASELINE["fit_on"], SCHEDULE_BASELINE["lambda"]),
    )
    try:
        by_lambda = {lam: schedule_curves(df, lam) for _, _, lam in protocols}
    except WorkbenchError:
        by_lambda = {}
    for set_name in SCHEDULE_SETS:
        for proto, fit_on, lam in protocols:
            curves = by_lambda[lam].filter(pl.col("set") == set_name) if by_lambda else None
            have = 0 if curves is None else curves["schedule"].n_unique()
            if have < len(SCHEDULES):  # a partial sweep: nothing to fit on, or nothing to predict
                if proto == "preregistered":
                    checks.append(
                        _check(
                            f"{set_name}: all {len(SCHEDULES)} curves were trained",
                            have,
                            f"{len(SCHEDULES)} curves",
                            False,
                        )
                    )
                continue
            res, errs = schedule_errors(curves, fit_on)
            per_set[f"{set_name} / {proto} (fit on {fit_on}, lambda {lam})"] = errs
            if proto != "preregistered":
                continue
            fitted[set_name] = {**res.params, "warnings": list(res.warnings)}
            for name, err in errs.items():
                if err["role"] != "predicted":
                    continue
                checks.append(
                    _check(
                        f"{set_name}: {name} predicted from the {fit_on} fit (mean |error|, final-loss error)",
                        {
                            "mae": round(err["mae"], 4),
                            "final_error": round(err["final_error"], 4),
                            "mape_percent": round(err["mape_percent"], 2),
                        },
                        f"mae <= {SCHEDULE_MAE_TARGET} and |final error| <= {SCHEDULE_FINAL_TARGET}",
                        err["mae"] <= SCHEDULE_MAE_TARGET and abs(err["final_error"]) <= SCHEDULE_FINAL_TARGET,
                    )
                )
    return _verdict(
        {
            "law": "lr_annealing (Tissue et al. 2024)",
            "params": fitted,
            "fitted_on": SCHEDULE_FIT_ON,
            "decay_lambda": SCHEDULE_LAMBDA,
        },
        checks,
        errors=per_set,
        held_out_set="confirm",
        protocol={
            "fit_on": SCHEDULE_FIT_ON,
            "lambda": SCHEDULE_LAMBDA,
            "skip_fraction": SCHEDULE_SKIP,
            "mae_target": SCHEDULE_MAE_TARGET,
            "final_target": SCHEDULE_FINAL_TARGET,
        },
    )


# ----------------------------------------------------------------- crossover
# The pair that crosses: a fixed-window MLP (sees 8 bytes) against an LSTM (sees the whole window).
# The GPT is trained alongside as a reference curve (at lr 3e-3 it is unstable beyond width 128 here).
CROSSOVER_GRID = {"mlp": (16, 32, 64, 128), "lstm": (32, 64, 128, 256), "gpt": (32, 64, 128)}
CROSSOVER_TOKENS = 2_000_000


def _crossover_configs() -> list[RunConfig]:
    return [
        RunConfig(corpus="pystdlib", arch=a, width=w, depth=2, tokens=CROSSOVER_TOKENS)
        for a, widths in CROSSOVER_GRID.items()
        for w in widths
    ]


def _crossover_verify(df: pl.DataFrame) -> dict:
    from workbench.analysis.crossover import crossover

    f = _final(df)
    fits, res = {}, {}
    for arch in CROSSOVER_GRID:
        fits[arch], res[arch] = _fit("power_offset_params", f.filter(pl.col("architecture") == arch))
    lo, hi = float(f["params"].min()), float(f["params"].max())
    pairs = {}
    for a, b in (("mlp", "lstm"), ("gpt", "mlp"), ("gpt", "lstm")):
        x = crossover(res[a], res[b], "params", lo, 10 * hi, names=(a, b))
        pairs[f"{a} vs {b}"] = {
            "at": x.at,
            "inside_swept_range": x.at is not None and x.at <= hi,
            "lower_below": x.lower_before,
            "summary": x.summary,
        }
    main = pairs["mlp vs lstm"]
    checks = [
        _check(
            "mlp and lstm fitted curves cross inside, or within one decade beyond, the swept N",
            main["at"],
            f"in [{lo:.3g}, {10 * hi:.3g}]",
            main["at"] is not None,
        )
    ]
    return _verdict(
        {"law": "power_offset_params", "params": {k: v["params"] for k, v in fits.items()}}, checks, pairs=pairs
    )


# ------------------------------------------------------------------- inverse
INVERSE_WIDTHS = (16, 24, 32, 48, 64, 96, 128, 192)
INVERSE_MEANINGFUL_FALL = 0.05  # nats; smaller changes are within evaluation noise


def _inverse_configs() -> list[RunConfig]:
    return [
        RunConfig(corpus="trap", width=w, depth=2, tokens=1_000_000, eval_splits=("exceptions", "regular"))
        for w in INVERSE_WIDTHS
    ]


def _inverse_verify(df: pl.DataFrame) -> dict:
    from workbench.proxies.corpora import get_corpus

    trap = get_corpus("trap")
    f = df.filter(pl.col("final") & (pl.col("metric") == "loss")).sort("params")
    by = {s: f.filter(pl.col("eval_set") == f"trap-{s}") for s in ("val", "exceptions", "regular")}
    n = by["exceptions"]["params"].to_numpy()
    exc, val = by["exceptions"]["value"].to_numpy(), by["val"]["value"].to_numpy()
    peak = int(np.argmax(exc))
    overall = _spearman(np.log(n), -val)
    rise = float(exc[peak] - exc[0])
    checks = [
        _check(
            "overall loss improves with N", round(overall, 3), "rank correlation of -loss with N >= 0.8", overall >= 0.8
        ),
        _check(
            "loss on the exceptions rises with N (inverse scaling)",
            {"rise": round(rise, 3), "over_sizes": peak + 1},
            "rises by > 0.5 nats from the smallest model to the peak, over >= 3 sizes",
            peak >= 2 and rise > 0.5,
        ),
    ]
    fall = float(exc[peak] - exc[-1])
    if peak < 2:
        shape = "normal (no sustained rise)"
    elif fall > INVERSE_MEANINGFUL_FALL:
        shape = f"U-shaped (worse, then better): the loss rises, then falls back by {fall:.3f} nats"
    else:
        shape = f"inverse: rises, then levels off (last step changes it by {-fall:+.3f} nats)"
    return _verdict(
        {"law": None, "params": {}},
        checks,
        shape=shape,
        best_possible={
            "exceptions": trap.best_exception_loss,
            "regular": trap.best_regular_loss,
            "overall_entropy_rate": trap.H,
        },
        exceptions=dict(zip(n.tolist(), exc.tolist())),
        regular=dict(zip(by["regular"]["params"].to_list(), by["regular"]["value"].to_list())),
        overall=dict(zip(by["val"]["params"].to_list(), val.tolist())),
    )


# ----------------------------------------------------------------------- nmt
# Ghorbani et al. 2021 (arXiv:2109.07740): L(N_e, N_d) = alpha (Nbar_e/N_e)^p_e (Nbar_d/N_d)^p_d + L_inf.
# An encoder-decoder (workbench.proxies.models.EncoderDecoder) on the synthetic ``translate`` pair
# (workbench.proxies.corpora.TranslateCorpus, exact best loss H).  Widths vary, depths are 2 + 2.
NMT_FIXED_DECODER = 64  # encoder-only scaling: encoder widths at this decoder width
NMT_ENCODER_WIDTHS = (16, 32, 64, 128)
NMT_FIXED_ENCODER = 32  # decoder-only scaling: decoder widths at this encoder width
NMT_DECODER_WIDTHS = (32, 48, 64, 96, 128)
NMT_PROPORTIONAL = ((16, 32), (24, 48), (32, 64), (48, 96), (64, 128))  # (encoder, decoder): both grow together
NMT_SKEWED = ((128, 32), (16, 128))  # lopsided splits of about the same total as the largest runs
NMT_TOKENS = 1_500_000  # target tokens per run
NMT_LR = 1e-3  # 3e-3 (the other presets') stalls the wider encoder-decoders here; see datasets/proxies/README.md
NMT_BATCH = 85  # sentences of 6 target words: 510 target tokens per step (the other presets: 512)
NMT_DEPTH = 2  # layers in the encoder and in the decoder
NMT_SEED = 0  # the shipped sweep; the targets below were set on a pilot of the same grid with seed 1
# Pre-registered targets, written here and in datasets/proxies/README.md before the seed-0 sweep was run
# (the seed-1 pilot's values in brackets):
NMT_MAX_REL_ERROR = 0.04  # (a) largest |fitted / measured - 1| of the 14 final losses [0.022]
NMT_MIN_R2 = 0.95  # (a) R^2 of log(L - L_inf), fitted vs measured [0.982]
NMT_MIN_DELTA_AIC = 10.0  # (b) AIC(power_offset_params in N_e + N_d) - AIC(nmt_encdec), same rows [32.8]
# (b) also: leave one run out, nmt_encdec's mean |relative error| below power_offset_params' [1.07 % vs 3.28 %]
# (c) p_e and p_d: 95 % bootstrap intervals above 0 [0.080-0.229, 0.210-0.499]; p_d - p_e's excludes 0 [0.10-0.32]
NMT_LINF_TOLERANCE = 0.15  # (d) |L_inf / H - 1| [-0.040], and H inside L_inf's 95 % interval [0.615-0.935]
# (e) loss strictly decreasing along the encoder-only and the decoder-only series
NMT_BOOTSTRAP = {"draws": 1000, "seed": 0}  # percentile intervals, runs resampled


def nmt_grid() -> list[tuple[int, int]]:
    """(encoder width, decoder width) of every run, encoder-only, decoder-only and proportional, without repeats."""
    pairs = [(e, NMT_FIXED_DECODER) for e in NMT_ENCODER_WIDTHS]
    pairs += [(NMT_FIXED_ENCODER, d) for d in NMT_DECODER_WIDTHS]
    pairs += list(NMT_PROPORTIONAL) + list(NMT_SKEWED)
    return list(dict.fromkeys(pairs))


def _nmt_configs(seed: int = NMT_SEED) -> list[RunConfig]:
    from workbench.proxies.corpora import get_corpus

    length = get_corpus("translate").length
    return [
        RunConfig(
            corpus="translate",
            arch="encdec",
            enc_width=e,
            enc_depth=NMT_DEPTH,
            width=d,
            depth=NMT_DEPTH,
            ctx=length,
            batch=NMT_BATCH,
            tokens=NMT_TOKENS,
            lr=NMT_LR,
            seed=seed,
        )
        for e, d in nmt_grid()
    ]


def nmt_points(df: pl.DataFrame) -> pl.DataFrame:
    """One row per run of the ``nmt`` preset: encoder and decoder width and parameters, total, final loss.

    ``series`` says which scaling series a run belongs to (``encoder``, ``decoder``, ``proportional``,
    ``skewed``; the shared run ``32 + 64`` belongs to the first three and is listed as ``all``).
    """
    f = _final(df).filter(pl.col("architecture") == "encdec")
    enc = f["run_id"].str.extract(r"-enc(\d+)x", 1).cast(pl.Int64)
    f = f.with_columns(enc.alias("encoder_width"), pl.col("width").alias("decoder_width"))

    def series(e: int, d: int) -> str:
        member = [
            name
            for name, ok in (
                ("encoder", d == NMT_FIXED_DECODER and e in NMT_ENCODER_WIDTHS),
                ("decoder", e == NMT_FIXED_ENCODER and d in NMT_DECODER_WIDTHS),
                ("proportional", (e, d) in NMT_PROPORTIONAL),
                ("skewed", (e, d) in NMT_SKEWED),
            )
            if ok
        ]
        return "all" if len(member) == 3 else "+".join(member) or "other"

    f = f.with_columns(
        pl.struct("encoder_width", "decoder_width")
        .map_elements(lambda r: series(r["encoder_width"], r["decoder_width"]), return_dtype=pl.String)
        .alias("series")
    )
    return f.select(
        "run_id",
        "seed",
        "series",
        "encoder_width",
        "decoder_width",
        "encoder_params",
        "decoder_params",
        "params",
        "loss",
        "value_stderr",
    ).sort("encoder_width", "decoder_width")


def _aic(res, cols: dict, y: np.ndarray, k: int) -> float:
    r = np.log(res.predict(cols) / y)
    return float(len(y) * np.log(max(float(np.sum(r**2)), 1e-300) / len(y)) + 2 * k)


def nmt_fit(points: pl.DataFrame, *, draws: int = NMT_BOOTSTRAP["draws"], seed: int = NMT_BOOTSTRAP["seed"]):
    """``nmt_encdec`` fitted to :func:`nmt_points` rows, with percentile bootstrap intervals (runs resampled).

    Returns ``(result, bootstrap)``: ``result.params``, ``result.ci`` (95 %), ``bootstrap.draws``.
    """
    from workbench.fit import bootstrap, fit
    from workbench.laws import get_law

    res = fit(get_law("nmt_encdec"), points)
    return bootstrap(res.problem, res, draws=draws, seed=seed)


def _nmt_verify(df: pl.DataFrame) -> dict:
    from workbench.fit import fit, percentile_interval
    from workbench.laws import get_law
    from workbench.laws.nmt import optimal_encoder_decoder_split
    from workbench.proxies.corpora import get_corpus

    pts = nmt_points(df)
    have = {(r["encoder_width"], r["decoder_width"]) for r in pts.iter_rows(named=True)}
    missing = [p for p in nmt_grid() if p not in have]
    if missing:
        return _verdict(
            {"law": "nmt_encdec", "params": {}},
            [_check(f"all {len(nmt_grid())} runs were trained", len(have), f"{len(nmt_grid())} runs", False)],
            missing=missing,
        )
    h = get_corpus("translate").H
    y = pts["loss"].to_numpy()
    cols = {c: pts[c].to_numpy().astype(float) for c in ("encoder_params", "decoder_params", "params")}
    res, boot = nmt_fit(pts)
    p = dict(res.params)
    pred = res.predict(cols)
    rel = pred / y - 1
    reducible = y - p["L_inf"]
    if np.all(reducible > 0):
        lr, lp = np.log(reducible), np.log(pred - p["L_inf"])
        r2 = float(1 - np.sum((lr - lp) ** 2) / np.sum((lr - lr.mean()) ** 2))
    else:
        r2 = float("nan")  # a measured loss at or below the fitted floor
    uni = fit(get_law("power_offset_params"), pts)
    aic_nmt, aic_uni = _aic(res, cols, y, 4), _aic(uni, cols, y, 3)
    uni_rel = uni.predict(cols) / y - 1
    # leave one run out: each law, fitted on the other runs, predicts the run left out
    loo = {"nmt_encdec": [], "power_offset_params": []}
    for i in range(pts.height):
        keep = pts.filter(pl.Series(np.arange(pts.height) != i))
        one = {c: v[i : i + 1] for c, v in cols.items()}
        loo["nmt_encdec"].append(float(fit(get_law("nmt_encdec"), keep).predict(one)[0] / y[i] - 1))
        loo["power_offset_params"].append(float(fit(get_law("power_offset_params"), keep).predict(one)[0] / y[i] - 1))
    loo_mean = {k: float(np.mean(np.abs(v))) for k, v in loo.items()}
    ci = res.ci or {}
    linf_ci = ci.get("L_inf", (float("nan"), float("nan")))
    diff_ci = list(percentile_interval(boot.column("p_d") - boot.column("p_e"), res.ci_level))
    rel_linf = p["L_inf"] / h - 1

    def falls(series: list[tuple[int, int]]) -> tuple[list[float], bool]:
        by = {(r["encoder_width"], r["decoder_width"]): r["loss"] for r in pts.iter_rows(named=True)}
        losses = [round(by[s], 4) for s in series]
        return losses, bool(np.all(np.diff(losses) < 0))

    enc_losses, enc_ok = falls([(e, NMT_FIXED_DECODER) for e in NMT_ENCODER_WIDTHS])
    dec_losses, dec_ok = falls([(NMT_FIXED_ENCODER, d_) for d_ in NMT_DECODER_WIDTHS])
    checks = [
        _check(
            "(a) nmt_encdec explains the runs: largest |relative error|",
            round(float(np.abs(rel).max()), 4),
            f"<= {NMT_MAX_REL_ERROR}",
            np.abs(rel).max() <= NMT_MAX_REL_ERROR,
        ),
        _check(
            "(a) nmt_encdec explains the runs: R^2 of log reducible loss",
            round(r2, 4),
            f">= {NMT_MIN_R2}",
            r2 >= NMT_MIN_R2,
        ),
        _check(
            "(b) beats a law in total parameters (AIC of power_offset_params minus AIC of nmt_encdec)",
            round(aic_uni - aic_nmt, 2),
            f">= {NMT_MIN_DELTA_AIC}",
            aic_uni - aic_nmt >= NMT_MIN_DELTA_AIC,
        ),
        _check(
            "(b) beats it on held-out runs (leave one out: mean |relative error|)",
            {k: round(v, 4) for k, v in loo_mean.items()},
            "nmt_encdec < power_offset_params",
            loo_mean["nmt_encdec"] < loo_mean["power_offset_params"],
        ),
        _check(
            "(c) encoder exponent p_e > 0 (95 % bootstrap interval)",
            {"p_e": round(p["p_e"], 4), "ci": [round(v, 4) for v in ci.get("p_e", (float("nan"),) * 2)]},
            "lower end > 0",
            ci.get("p_e", (0, 0))[0] > 0,
        ),
        _check(
            "(c) decoder exponent p_d > 0 (95 % bootstrap interval)",
            {"p_d": round(p["p_d"], 4), "ci": [round(v, 4) for v in ci.get("p_d", (float("nan"),) * 2)]},
            "lower end > 0",
            ci.get("p_d", (0, 0))[0] > 0,
        ),
        _check(
            "(c) the exponents differ: 95 % bootstrap interval of p_d - p_e",
            [round(v, 4) for v in diff_ci],
            "excludes 0",
            diff_ci[0] > 0 or diff_ci[1] < 0,
        ),
        _check(
            "(d) fitted L_inf vs the task's exact best loss H",
            {"L_inf": round(p["L_inf"], 4), "H": round(h, 4), "rel": round(rel_linf, 4)},
            f"|L_inf / H - 1| <= {NMT_LINF_TOLERANCE}",
            abs(rel_linf) <= NMT_LINF_TOLERANCE,
        ),
        _check(
            "(d) H inside the 95 % bootstrap interval of L_inf",
            {"H": round(h, 4), "ci": [round(v, 4) for v in linf_ci]},
            "lower <= H <= upper",
            linf_ci[0] <= h <= linf_ci[1],
        ),
        _check("(e) scaling the encoder alone helps (decoder width 64)", enc_losses, "strictly decreasing", enc_ok),
        _check("(e) scaling the decoder alone helps (encoder width 32)", dec_losses, "strictly decreasing", dec_ok),
    ]
    known = fit(get_law("nmt_encdec"), pts, fixed={"L_inf": h})  # the floor fixed to the known H (reported)
    known_rel = known.predict(cols) / y - 1
    share = float(optimal_encoder_decoder_split(1.0, p["p_e"], p["p_d"])[0]) if p["p_e"] > 0 and p["p_d"] > 0 else None
    fitted = {
        "law": "nmt_encdec",
        "params": p,
        "ci": {k: list(v) for k, v in ci.items()},
        "warnings": list(res.warnings),
    }
    return _verdict(
        fitted,
        checks,
        best_possible_loss=h,
        runs=pts.height,
        max_rel_error=float(np.abs(rel).max()),
        r2_log_reducible=r2,
        aic={"nmt_encdec": aic_nmt, "power_offset_params": aic_uni},
        power_offset_params={"params": dict(uni.params), "max_rel_error": float(np.abs(uni_rel).max())},
        leave_one_out_mean_abs_rel_error=loo_mean,
        leave_one_out_max_abs_rel_error={k: float(np.max(np.abs(v))) for k, v in loo.items()},
        p_d_minus_p_e_ci=diff_ci,
        optimal_encoder_share=share,
        fit_with_L_inf_fixed_to_H={"params": dict(known.params), "max_rel_error": float(np.abs(known_rel).max())},
        losses={f"{r['encoder_width']}+{r['decoder_width']}": r["loss"] for r in pts.iter_rows(named=True)},
    )


# ------------------------------------------------------------------- pruning
# Sorscher et al. 2022 (arXiv:2206.14486), their teacher-student perceptron: a max-margin student trained on the
# hardest / easiest / a random fraction f of P = alpha_tot * d Gaussian examples, pruned by the teacher's margin (a
# perfect metric) or by a Hebbian probe trained on all P (an imperfect one).  Numpy, exact test error
# (workbench/proxies/toys/pruning.py).  alpha_tot and f lie on half-octave grids, so alpha_prune = f alpha_tot does.
PRUNING_DIM = 100
PRUNING_GRID = tuple(range(-2, 17))  # alpha_tot = 2^(k/2): 0.5 ... 256, i.e. P = 50 ... 25,600 examples
PRUNING_FRACTIONS = tuple(2 ** (-j / 2) for j in range(1, 11))  # kept fractions 0.707 ... 1/32
PRUNING_MAX_ALPHA_PRUNE = 8  # no student is trained on more than 8 d examples; the unpruned one up to alpha_tot 8
PRUNING_TEACHERS = ((2, 64), (8, 32), (math.inf, 16))  # (alpha_tot up to, draws): more where a draw is cheap
PRUNING_SEED = 0  # the shipped sweep; the grid and the targets below were set on a pilot with seed 1
# Pre-registered checks (written here and in datasets/proxies/README.md before the seed-0 sweep was run):
PRUNING_EASY_HARD_FRACTIONS = (0.25, 0.125, 0.0625, 0.03125)  # (1) tested at these kept fractions, both metrics
PRUNING_FIT_RANGE = (0.5, 8.0)  # (2) alpha_prune range of the frontier and of the unpruned curve
PRUNING_MIN_EXPONENT_RATIO = 1.5  # (2a) frontier exponent / unpruned exponent, power laws over the same range
PRUNING_MIN_DELTA_AIC = 10.0  # (2b) AIC(power) - AIC(exponential) on the probe-pruned frontier
# Reported, not checked: the same comparison on the unpruned curve and on the teacher-pruned frontier (see README).


def _pruning_teachers(alpha_tot: float) -> int:
    return next(n for top, n in PRUNING_TEACHERS if alpha_tot <= top)


def _pruning_configs(seed: int = PRUNING_SEED) -> list:
    from workbench.proxies.toys.pruning import PruningConfig

    return [
        PruningConfig(
            examples=round(PRUNING_DIM * 2 ** (k / 2)),
            dim=PRUNING_DIM,
            fractions=PRUNING_FRACTIONS,
            max_kept=PRUNING_MAX_ALPHA_PRUNE * PRUNING_DIM,
            train_full=2 ** (k / 2) <= PRUNING_MAX_ALPHA_PRUNE,
            teachers=_pruning_teachers(2 ** (k / 2)),
            seed=seed,
        )
        for k in PRUNING_GRID
    ]


def _easy_vs_hard(pts: pl.DataFrame, score: str) -> dict:
    """hard/easy error ratio at the smallest alpha_tot, and at the largest alpha_tot run, for each tested fraction."""
    out = {"small": {}, "large": {}}
    for f in PRUNING_EASY_HARD_FRACTIONS:
        cells = pts.filter((pl.col("score") == score) & ((pl.col("fraction") - f).abs() < 1e-9))
        for where, p in (("small", cells["P"].min()), ("large", cells["P"].max())):
            if p is None:
                continue
            at = cells.filter(pl.col("P") == p)
            by = dict(zip(at["strategy"].to_list(), at["error"].to_list()))
            if {"hard", "easy"} <= set(by):
                out[where][f] = {"alpha_tot": p / PRUNING_DIM, "hard_over_easy": by["hard"] / by["easy"]}
    return out


def _pruning_fits(pts: pl.DataFrame, score: str) -> dict:
    """Frontier of ``score``-pruned keep-hard students and the unpruned curve over PRUNING_FIT_RANGE, both fitted."""
    from workbench.proxies.toys.pruning import fit_power_and_exponential, frontier

    lo, hi = PRUNING_FIT_RANGE
    front = frontier(pts, score).filter(pl.col("alpha_prune").is_between(lo * 0.99, hi * 1.01))
    full = pts.filter((pl.col("strategy") == "none") & pl.col("alpha_prune").is_between(lo * 0.99, hi * 1.01))
    full = full.sort("alpha_prune")
    out = {"frontier_points": front.to_dicts(), "unpruned_points": full.select("alpha_prune", "error").to_dicts()}
    for name, f in (("frontier", front), ("unpruned", full)):
        if f.height >= 4:
            out[name] = fit_power_and_exponential(f["alpha_prune"].to_numpy(), f["error"].to_numpy())
    return out


def _pruning_verify(df: pl.DataFrame) -> dict:
    from workbench.proxies.toys.pruning import points

    pts = points(df)
    want = len(PRUNING_GRID)
    have = pts["run_id"].n_unique()
    if have < want:
        return _verdict(
            {"law": "power_tokens", "params": {}},
            [_check(f"all {want} runs (alpha_tot values) were trained", have, f"{want} runs", False)],
        )
    checks, easy_hard = [], {}
    for score in ("teacher", "probe"):
        eh = easy_hard[score] = _easy_vs_hard(pts, score)
        small = {f: round(v["hard_over_easy"], 3) for f, v in eh["small"].items()}
        large = {f: round(v["hard_over_easy"], 3) for f, v in eh["large"].items()}
        n = len(PRUNING_EASY_HARD_FRACTIONS)
        checks.append(
            _check(
                f"(1) small data (alpha_tot 0.5), {score} margin: keeping easy beats keeping hard "
                "(hard/easy error at f = 1/4 ... 1/32)",
                small,
                "every ratio > 1",
                len(small) == n and all(v > 1 for v in small.values()),
            )
        )
        checks.append(
            _check(
                f"(1) large data (largest alpha_tot of each f), {score} margin: keeping hard beats keeping easy",
                {f: {"alpha_tot": round(v["alpha_tot"], 3), "ratio": large[f]} for f, v in eh["large"].items()},
                "every ratio < 1",
                len(large) == n and all(v < 1 for v in large.values()),
            )
        )
    fits = {score: _pruning_fits(pts, score) for score in ("probe", "teacher")}
    lo, hi = PRUNING_FIT_RANGE
    for score in ("probe", "teacher"):
        ratio = _exponent_ratio(fits[score])
        checks.append(
            _check(
                f"(2a) {score}-pruned frontier falls faster than the unpruned power law "
                f"(power-law exponents over alpha {lo:g}-{hi:g})",
                {k: round(v, 3) for k, v in ratio.items()},
                f"ratio >= {PRUNING_MIN_EXPONENT_RATIO}",
                ratio["ratio"] >= PRUNING_MIN_EXPONENT_RATIO,
            )
        )
    d_front = _delta_aic(fits["probe"].get("frontier"), "power", "exponential")
    checks.append(
        _check(
            "(2b) ... towards exponential: AIC(power law) - AIC(exponential) on the probe-pruned frontier",
            round(d_front, 2),
            f">= {PRUNING_MIN_DELTA_AIC}",
            d_front >= PRUNING_MIN_DELTA_AIC,
        )
    )
    power = {
        f"{score} {name}": {"A": fits[score][name]["power"]["scale"], "alpha": fits[score][name]["power"]["exponent"]}
        for score in ("probe", "teacher")
        for name in ("frontier", "unpruned")
        if name in fits[score] and not (score == "teacher" and name == "unpruned")
    }
    fitted = {"law": "power_tokens", "params": power, "on": "alpha_prune (as tokens) -> test error (as loss)"}
    return _verdict(
        fitted,
        checks,
        fits=fits,
        delta_aic_power_minus_exponential={
            "probe frontier": d_front,
            "teacher frontier": _delta_aic(fits["teacher"].get("frontier"), "power", "exponential"),
            "unpruned": _delta_aic(fits["probe"].get("unpruned"), "power", "exponential"),
        },
        easy_vs_hard=easy_hard,
        random_keep_vs_unpruned=_random_matches_unpruned(pts),
    )


def _exponent_ratio(fits: dict) -> dict:
    if "frontier" not in fits or "unpruned" not in fits:
        return {"frontier": float("nan"), "unpruned": float("nan"), "ratio": float("nan")}
    a, b = fits["frontier"]["power"]["exponent"], fits["unpruned"]["power"]["exponent"]
    return {"frontier": a, "unpruned": b, "ratio": a / b}


def _delta_aic(fit: dict | None, worse: str, better: str) -> float:
    """AIC(worse) - AIC(better): how strongly the data prefer ``better`` (nan without a fit)."""
    return float("nan") if fit is None else fit[worse]["aic"] - fit[better]["aic"]


def _random_matches_unpruned(pts: pl.DataFrame) -> dict:
    """Random keep vs the unpruned student at the same alpha_prune (grid points both have): z-scores of the gaps."""
    grid = (2 * pl.col("nominal").log(2)).round().cast(pl.Int64).alias("grid")
    none = pts.filter(pl.col("strategy") == "none").with_columns(grid).select("grid", "error", "stderr")
    rand = pts.filter(pl.col("strategy") == "random").with_columns(grid)
    j = rand.join(none, on="grid", suffix="_none")
    z = ((j["error"] - j["error_none"]) / (j["stderr"] ** 2 + j["stderr_none"] ** 2).sqrt()).to_numpy()
    if not len(z):
        return {"pairs": 0}
    return {"pairs": len(z), "mean_z": float(np.mean(z)), "rms_z": float(np.sqrt(np.mean(z**2)))}


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("smoke", "three tiny runs: the machinery works", 0.5, _smoke_configs, _smoke_verify),
        Preset(
            "quick",
            "GPT widths 32-192 x 1M tokens on the zipf source: power law in N, E vs entropy",
            5,
            _quick_configs,
            _quick_verify,
        ),
        Preset(
            "isoflop",
            "3 compute budgets x 5 widths on Python source: isoFLOP minima, Approach 2",
            15,
            _isoflop_configs,
            _isoflop_verify,
        ),
        Preset(
            "isoflop_large",
            "isoflop at 100x the budgets (5e13-4.5e14 FLOPs), widths 64-512 on Python source: for a small cluster",
            60,  # on a small Ray cluster (about 32 cores); about a day on 2 cores (sweep --dry-run)
            _isoflop_large_configs,
            _isoflop_verify,
            shipped=False,
        ),
        Preset(
            "precision",
            "QAT formats x widths, and PTQ degradation vs tokens (zipf)",
            30,
            _precision_configs,
            _precision_verify,
        ),
        Preset(
            "schedule",
            "constant / cosine / WSD loss curves, two sizes; LR-annealing law fitted on WSD",
            10,
            _schedule_configs,
            _schedule_verify,
        ),
        Preset(
            "crossover",
            "fixed-window MLP vs LSTM (and GPT for reference): loss vs size on Python source",
            15,
            _crossover_configs,
            _crossover_verify,
        ),
        Preset(
            "inverse",
            "a frequent pattern with unpredictable exceptions: loss on the exceptions vs size",
            5,
            _inverse_configs,
            _inverse_verify,
        ),
        Preset(
            "nmt",
            "encoder-decoder on a synthetic translation task: loss vs encoder and decoder size",
            10,
            _nmt_configs,
            _nmt_verify,
        ),
        Preset(
            "pruning",
            "data pruning for a teacher-student perceptron: keep easy vs hard, beating the power law (numpy)",
            2,
            _pruning_configs,
            _pruning_verify,
        ),
        Preset(
            "regimes",
            "four scaling regimes in ReLU random features on S^d: variance-limited 1/P, 1/N; resolution-limited 3/d",
            2,
            _regimes.configs,
            _regimes.verify,
        ),
        Preset(
            "superposition",
            "toy model of superposition: loss vs width m, weak (L ~ m^-alpha) vs strong (L ~ 1/m) superposition",
            4,
            _superposition.configs,
            _superposition.verify,
        ),
        Preset(
            "repetition",
            "one GPT size, 1-40 epochs over limited unique tokens (zipf, Python): what a repeated token is worth",
            8,
            _repetition.configs,
            _repetition.verify,
        ),
        Preset(
            "recipe_crossover",
            "two learning-rate recipes, GPT widths 32-192 (zipf): the recipe tuned small loses at large N",
            8,
            _recipes.configs,
            _recipes.verify,
        ),
        Preset(
            "sparse",
            "dense GPTs and GPTs pruned to 50 % / 80 % while training (Python): one curve in average parameters",
            8,
            _sparse.configs,
            _sparse.verify,
        ),
    )
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise WorkbenchError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}") from None
