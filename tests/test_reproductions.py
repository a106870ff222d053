"""Reproductions of the authors' fits from their own runs, through the curated corpus.

Each test names the numbers reproduced, where they come from (the authors' code
or notebook output: origin "authors-code"), the tolerance and
why.  Three kinds of check appear:

* the *data and declaration* check: the curated rows, selected as the authors
  selected them and fitted with the authors' own objective, give back every
  digit of the authors' fit (this proves the corpus and the law's form are right);
* the *workbench* check: the one engine, with its own objective, on the same
  rows; where its objective differs from the authors' the tolerance says by how
  much that moves the answer, and the engine must do at least as well as the
  authors' constants on its own objective;
* the registered law with default settings reaching the same optimum (this was a strict
  ``xfail`` until the engine started zero NNLS coefficients at a small positive value).

Sources: ``gadre_overtraining`` (Gadre et al. 2024), ``quest_qat`` (Panferov et
al. 2025), ``bnsl_addition`` (Caballero et al. 2022).  A source that is not
curated yet is skipped with its name.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest
from scipy.optimize import curve_fit

from workbench import corpus
from workbench.fit import fit, objective_at
from workbench.laws.bnsl import BNSL1
from workbench.laws.efficiency import PRECISION_EFFICIENCY, QUEST_BASE, QUEST_EFFICIENCIES
from workbench.laws.gadre import GADRE_ERROR, GADRE_OVERTRAINING, GADRE_SUBSET


def _source(source_id: str, **kwargs) -> pl.DataFrame:
    if source_id not in corpus.sources():
        pytest.skip(f"corpus source {source_id!r} is not curated yet (curate it from ../shared/reference-data)")
    return corpus.load(source_id, **kwargs)


# --------------------------------------------------------------------------------------------------
# Gadre et al. 2024: over-training and downstream-error laws from the 104 released runs
# --------------------------------------------------------------------------------------------------

SUBSET_17 = GADRE_SUBSET  # the authors' scaling/constants.py SUBSET (workbench/laws/gadre.py)
SMALL_SHAPES = ("d=96_l=8_h=4", "d=512_l=8_h=4", "d=576_l=24_h=8", "d=1024_l=24_h=8")
DATASETS = {"c4": "gadre2024_c4", "redpajama": "gadre2024_redpajama", "refinedweb": "gadre2024_refinedweb"}


@pytest.fixture(scope="module")
def gadre_runs() -> pl.DataFrame:
    """One row per run: C4-eval loss, 46-task and 17-task average top-1 error, C and M as the authors compute them.

    The authors' code uses N = all parameters, the *nominal* multiplier M = 20 x
    chinchilla_multiplier and C = 6 N D; with D = M N that is C = 6 N^2 M.
    """
    df = _source("gadre_overtraining").with_columns(
        mult=pl.col("note").str.extract(r"chinchilla_multiplier=([0-9.]+)").cast(pl.Float64),
        shape=pl.col("run_id").str.split("-").list.get(1),
    )
    acc = df.filter(pl.col("metric") == "accuracy")
    assert acc["eval_set"].n_unique() == 46
    err = acc.group_by("run_id").agg(
        err46=(1 - pl.col("value")).mean(),
        err17=(1 - pl.col("value")).filter(pl.col("eval_set").is_in(SUBSET_17)).mean(),
    )
    loss = df.filter((pl.col("metric") == "loss") & (pl.col("eval_set") == "c4_val"))
    return (
        loss.select("run_id", "train_set", "params", "tokens", "mult", "shape", pl.col("value").alias("loss"))
        .join(err, on="run_id")
        .with_columns(token_multiplier=20 * pl.col("mult"))
        .with_columns(flops=6 * pl.col("params") ** 2 * pl.col("token_multiplier"))
    )


def _loss_fit_runs(runs: pl.DataFrame, train_set: str) -> pl.DataFrame:
    """The authors' fit_ds selection: the four small shapes at M = 20 plus the 11M shape at M = 320."""
    r = runs.filter(pl.col("train_set") == train_set)
    out = r.filter(
        (pl.col("shape").is_in(SMALL_SHAPES) & (pl.col("mult") == 1.0))
        | ((pl.col("shape") == SMALL_SHAPES[0]) & (pl.col("mult") == 16.0))
    )
    assert out.height == 5
    return out


def _error_fit_runs(runs: pl.DataFrame, train_set: str) -> pl.DataFrame:
    """... plus the 1.4B run at M = 20 for the error law."""
    r = runs.filter(pl.col("train_set") == train_set)
    return pl.concat(
        [_loss_fit_runs(runs, train_set), r.filter((pl.col("shape") == "open_lm_1b") & (pl.col("mult") == 1.0))]
    )


def _held_out(runs: pl.DataFrame, train_set: str) -> pl.DataFrame:
    return runs.filter((pl.col("train_set") == train_set) & pl.col("shape").is_in(["open_lm_1b", "open_lm_7b"]))


def _paper_form(x, e, a, b, eta):
    c, m = x
    return e + (a * m**eta + b * m**-eta) * c**-eta


def _error_form(loss, k, gamma, eps):
    return eps - k * np.exp(-gamma * loss)


def _xc(df):
    return {"flops": df["flops"].to_numpy(), "token_multiplier": df["token_multiplier"].to_numpy()}


@pytest.mark.parametrize("train_set", sorted(DATASETS))
def test_gadre_rows_and_form_give_back_every_digit_of_the_authors_fit(gadre_runs, train_set):
    """The authors' code's constants (fit_ds): E, eta and the error constants to 4 decimals, a and b to 1 decimal.

    Least squares on the losses themselves (the authors' ``curve_fit``) on the
    curated rows must reproduce each printed digit: this checks the corpus
    rows, the run selection, the definition of C and M and the law's form.
    """
    pub = GADRE_OVERTRAINING.preset(DATASETS[train_set]).values
    fit_rows = _loss_fit_runs(gadre_runs, train_set)
    popt, _ = curve_fit(
        _paper_form,
        (fit_rows["flops"].to_numpy(), fit_rows["token_multiplier"].to_numpy()),
        fit_rows["loss"].to_numpy(),
        p0=[pub[k] for k in ("E", "a", "b", "eta")],
        maxfev=100000,
    )
    got = dict(zip(("E", "a", "b", "eta"), popt))
    assert {k: round(got[k], 1 if k in "ab" else 4) for k in got} == pytest.approx(pub, abs=1e-12)

    rows = _error_fit_runs(gadre_runs, train_set)
    for col, suffix in (("err46", "_46tasks"), ("err17", "_17tasks")):
        pub_err = GADRE_ERROR.preset(DATASETS[train_set] + suffix).values
        popt, _ = curve_fit(_error_form, rows["loss"].to_numpy(), rows[col].to_numpy(), maxfev=10000)
        got = dict(zip(("k", "gamma", "epsilon"), popt))
        assert {k: round(v, 4) for k, v in got.items()} == pytest.approx(pub_err, abs=1e-12), col


def test_gadre_notebook_extrapolation_errors(gadre_runs):
    """The authors' notebook: RedPajama fits predict the C4-eval loss of the 1.4B M = 640 and 6.9B M = 20 runs
    within 0.71 % and 0.73 %, and (chaining the predicted loss into the error law) their 17-task error within
    3.64 % and 0.05 % (the notebook's printed output).  Tolerance 0.005 percentage points: the notebook
    prints two decimals."""
    fit_rows = _loss_fit_runs(gadre_runs, "redpajama")
    pub = GADRE_OVERTRAINING.preset("gadre2024_redpajama").values
    p_loss, _ = curve_fit(
        _paper_form,
        (fit_rows["flops"].to_numpy(), fit_rows["token_multiplier"].to_numpy()),
        fit_rows["loss"].to_numpy(),
        p0=[pub[k] for k in ("E", "a", "b", "eta")],
        maxfev=100000,
    )
    rows = _error_fit_runs(gadre_runs, "redpajama")
    p_err, _ = curve_fit(_error_form, rows["loss"].to_numpy(), rows["err17"].to_numpy(), maxfev=10000)
    held = (
        _held_out(gadre_runs, "redpajama")
        .filter(((pl.col("shape") == "open_lm_1b") & (pl.col("mult") == 32.0)) | (pl.col("shape") == "open_lm_7b"))
        .sort("shape")
    )
    loss_hat = _paper_form((held["flops"].to_numpy(), held["token_multiplier"].to_numpy()), *p_loss)
    err_hat = _error_form(loss_hat, *p_err)
    loss_pct = 100 * np.abs(loss_hat / held["loss"].to_numpy() - 1)
    err_pct = 100 * np.abs(err_hat / held["err17"].to_numpy() - 1)
    np.testing.assert_allclose(loss_pct, [0.71, 0.73], atol=0.005)
    np.testing.assert_allclose(err_pct, [3.64, 0.05], atol=0.005)


@pytest.mark.parametrize("train_set", sorted(DATASETS))
def test_gadre_authors_digits_by_the_engine_on_the_authors_objective(gadre_runs, train_set):
    """The engine with the authors' objective (least squares on the values: ``space="linear"``,
    ``loss="squared"``) and no starting guess gives back every printed digit of both laws, as
    ``curve_fit`` started *at the authors' values* does in the test above."""
    pub = GADRE_OVERTRAINING.preset(DATASETS[train_set]).values
    got = fit(GADRE_OVERTRAINING, _loss_fit_runs(gadre_runs, train_set), loss="squared", space="linear").params
    assert {k: round(got[k], 1 if k in "ab" else 4) for k in pub} == pytest.approx(pub, abs=1e-12)
    rows = _error_fit_runs(gadre_runs, train_set).rename({"loss": "x"})
    for col, suffix in (("err46", "_46tasks"), ("err17", "_17tasks")):
        pub_err = GADRE_ERROR.preset(DATASETS[train_set] + suffix).values
        data = {"loss": rows["x"].to_numpy(), "error": rows[col].to_numpy()}
        got = fit(GADRE_ERROR, data, loss="squared", space="linear").params
        assert {k: round(got[k], 4) for k in pub_err} == pytest.approx(pub_err, abs=1e-12), col


@pytest.mark.parametrize("train_set", sorted(DATASETS))
def test_gadre_overtraining_fit_by_the_workbench(gadre_runs, train_set):
    """The engine's default objective (Huber, delta 1e-3, on log residuals) on the same five runs.

    Five points and four parameters leave one degree of freedom, so changing
    the objective from least squares on losses to Huber on log losses slides
    the constants along a valley: measured, eta moves by at most 2.5 %, E by
    3.4 %, a and b by 10 %.  Tolerances: eta 3 %, E 4 %, a and b 12 %.  What the
    law is for, extrapolation, barely moves: at the held-out 1.4B and 6.9B runs
    the two fits agree within 0.6 % (measured 0.47 %).  And on its own objective
    the engine must beat the authors' constants.
    """
    pub = GADRE_OVERTRAINING.preset(DATASETS[train_set]).values
    rows = _loss_fit_runs(gadre_runs, train_set)
    result = fit(GADRE_OVERTRAINING, rows)
    tol = {"eta": 0.03, "E": 0.04, "a": 0.12, "b": 0.12}
    for k, t in tol.items():
        assert result.params[k] == pytest.approx(pub[k], rel=t), k
    assert result.objective <= objective_at(GADRE_OVERTRAINING, rows, pub)
    held = _xc(_held_out(gadre_runs, train_set))
    np.testing.assert_allclose(result.predict(held), GADRE_OVERTRAINING.predict(held, pub), rtol=0.006)
    assert result.warnings == ()


@pytest.mark.parametrize("train_set", sorted(DATASETS))
@pytest.mark.parametrize("col, suffix", [("err46", "_46tasks"), ("err17", "_17tasks")])
def test_gadre_error_fit_by_the_workbench(gadre_runs, train_set, col, suffix):
    """Six runs spanning ~1.3 nats of loss, where exp(-gamma L) is nearly linear: k and gamma are weakly
    identified (they differ from the authors' ones by up to 50 % and 25 %) but the curve is not.
    Tolerances: epsilon 3 % (measured 2.6 %); the fitted curve within 1.5 % of the authors' one at the six
    fitted runs (measured 1.3 %) and within 3 % at the held-out runs (measured 2.8 %)."""
    pub = GADRE_ERROR.preset(DATASETS[train_set] + suffix).values
    rows = _error_fit_runs(gadre_runs, train_set).with_columns(error=pl.col(col))
    result = fit(GADRE_ERROR, rows)
    assert result.params["epsilon"] == pytest.approx(pub["epsilon"], rel=0.03)
    assert result.objective <= objective_at(GADRE_ERROR, rows, pub)
    at_fit = {"loss": rows["loss"].to_numpy()}
    np.testing.assert_allclose(result.predict(at_fit), GADRE_ERROR.predict(at_fit, pub), rtol=0.015)
    at_held = {"loss": _held_out(gadre_runs, train_set)["loss"].to_numpy()}
    np.testing.assert_allclose(result.predict(at_held), GADRE_ERROR.predict(at_held, pub), rtol=0.03)


# --------------------------------------------------------------------------------------------------
# QuEST (Panferov et al. 2025): forward-pass efficiency of every precision class from the 104 runs
# --------------------------------------------------------------------------------------------------


def _quest_class(w: str, a: str, bits: float) -> str:
    """The precision classes of the QuEST notebook's ``runs_for_fit`` (by quantiser names and bits)."""
    b = f"{bits:g}"
    if "FourEight" in w:
        return "2.5"  # 2:4-sparse weights
    if "FP4" in w:
        return "fp4"
    if w == a == "NoQuantizer":
        return "16"
    if w == a:
        return b if "Hadamard" in w else b + "NOH"
    if "Hadamard" in w and a == "NoQuantizer":
        return b + "WO"
    raise AssertionError(f"run outside the notebook's classes: w={w} a={a}")


@pytest.fixture(scope="module")
def quest_runs() -> pl.DataFrame:
    df = _source("quest_qat", metric="loss").with_columns(
        loss=pl.col("value"),
        w=pl.col("condition").str.extract(r"w=(\S+)"),
        a=pl.col("condition").str.extract(r"a=(\S+)"),
    )
    classes = [_quest_class(w, a, bits) for w, a, bits in df.select("w", "a", "weight_bits").iter_rows()]
    return df.with_columns(cls=pl.Series(classes))


def test_quest_class_sizes_match_the_notebook(quest_runs):
    """The notebook asserts 48 Hadamard W=A runs (6+12+13+14+3 at 1/2/3/4/8 bits), 6 sparse, 4 FP4,
    24 without Hadamard, 16 weight-only and 6 BF16 runs: 104 in all."""
    counts = dict(quest_runs.group_by("cls").len().iter_rows())
    assert [counts[c] for c in ("1", "2", "3", "4", "8")] == [6, 12, 13, 14, 3]
    assert counts["2.5"] == 6 and counts["fp4"] == 4 and counts["16"] == 6
    assert sum(v for k, v in counts.items() if k.endswith("NOH")) == 24
    assert sum(v for k, v in counts.items() if k.endswith("WO")) == 16


@pytest.mark.parametrize("cls", sorted(QUEST_EFFICIENCIES))
def test_quest_efficiency_of_each_precision_class(quest_runs, cls):
    """Authors' code: the QuEST notebook's printed joint fit (base A, alpha, B, beta, E and one eff per class).

    With the base frozen at the notebook's values (``fixed=``), each class's
    efficiency is a one-parameter fit of the same law to that class's runs; at
    the joint optimum it must equal the printed value.  The notebook minimises
    squared log residuals (Huber with f_scale 1 on residuals scaled by 1e-3, i.e.
    never leaving the quadratic zone), so ``loss='squared'``.  Tolerance 2e-4
    relative (measured <= 9.4e-5): eff enters as (N eff)^alpha with alpha = 0.063,
    so a 6e-6 relative difference in the fitted loss level, from the printed
    8-9-digit constants, is amplified 1/alpha = 16 times.
    """
    rows = quest_runs.filter(pl.col("cls") == cls)
    result = fit(PRECISION_EFFICIENCY, rows, loss="squared", fixed={**QUEST_BASE, "eff_D": 1.0})
    assert result.params["eff_N"] == pytest.approx(QUEST_EFFICIENCIES[cls], rel=2e-4)


# --------------------------------------------------------------------------------------------------
# BNSL (Caballero et al. 2022): the break in 4-digit addition (Figure 4, left)
# --------------------------------------------------------------------------------------------------

# Reference: the recipe of the authors' released script (scipy.optimize.brute over their grid of
# (a, b, c0, c1, d1, f1), then curve_fit on log(y + 1)) re-run on the 14 training points; the repository and
# the paper print no constants.  Extrapolation RMSLE on the 3 held-out points: 0.0109.
AUTHORS_RECIPE = {"a": 0.413883, "b": 2.277274, "c0": 0.0550773, "c1": 5.662891, "d1": 612.5835, "f1": 0.0591930}
AUTHORS_RMSLE = 0.0109


@pytest.fixture(scope="module")
def addition() -> tuple[pl.DataFrame, pl.DataFrame]:
    df = _source("bnsl_addition", metric="loss").with_columns(pl.col("value").alias("loss")).sort("samples")
    train, test = df.filter(pl.col("in_source_fit")), df.filter(~pl.col("in_source_fit"))
    assert (train.height, test.height) == (14, 3)
    return train, test


def _rmsle(result, rows):
    pred = result.predict({"samples": rows["samples"].to_numpy()})
    return float(np.sqrt(np.mean((np.log(pred) - np.log(rows["loss"].to_numpy())) ** 2)))


# Work-around for the engine limitation below: bound the limit a by 1e-12 instead of 0, which makes the
# engine optimise it in natural space.  The model is unchanged.
BNSL1_A_POSITIVE = dataclasses.replace(
    BNSL1, parameters=(dataclasses.replace(BNSL1.parameters[0], lower=1e-12, upper=100.0), *BNSL1.parameters[1:])
)


def test_bnsl_break_on_4_digit_addition(addition):
    """The break sits where the authors' recipe puts it and the three held-out points are extrapolated as well.

    Tolerances: the break location d1 within 0.5 % and the sharpness f1 within
    1 % of the recipe's (the objectives differ only in log(y) vs log(y + 1);
    measured 0.05 % and 0.2 %); the limit a within 2 % (measured 1 %);
    held-out RMSLE below 0.02, against 0.0109 for the recipe (measured 0.0113).
    """
    train, test = addition
    result = fit(BNSL1_A_POSITIVE, train, starts=1)
    assert result.params["d1"] == pytest.approx(AUTHORS_RECIPE["d1"], rel=0.005)
    assert result.params["f1"] == pytest.approx(AUTHORS_RECIPE["f1"], rel=0.01)
    assert result.params["a"] == pytest.approx(AUTHORS_RECIPE["a"], rel=0.02)
    assert _rmsle(result, test) < 0.02
    assert _rmsle(result, train) < 1e-3
    # the recipe's constants on the workbench objective are no better than the workbench's own
    assert result.objective <= objective_at(BNSL1, train, AUTHORS_RECIPE) * (1 + 1e-9)


def test_registered_bnsl1_finds_the_break_with_default_settings(addition):
    train, _ = addition
    assert fit(BNSL1, train).objective <= fit(BNSL1_A_POSITIVE, train, starts=1).objective * (1 + 1e-6)
