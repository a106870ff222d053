# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 14 · Checking a scaling claim before paying for it
#
# You have a ladder of small runs and a law that fits them, and you are about to pay for a big
# run. Two questions decide whether the law's prediction is worth anything:
#
# * **Does my law fit my runs?** Type the law as a formula, fit it, look at its constants and
#   what the fit says not to trust.
# * **What will the big run's loss be, and how far off could it be?** The usual answer, a
#   bootstrap interval, is the spread of curves that fit resampled runs equally well. It covers
#   sampling noise, not a law whose *form* is slightly wrong: fitted to Hoffmann et al.'s runs
#   without their largest models, the 95 % bootstrap interval covers only 17 of the 57 held-out
#   runs (exercise 1 below). The only evidence of how wrong a law is beyond the data is how
#   wrong it *was* beyond the data, so this notebook measures that on your own runs
#   (rolling-origin backtests) and widens the interval accordingly (split-conformal
#   prediction, Lei et al. 2018).
#
# The seven steps below each have a panel; a button reruns its step, and only the big run's
# sliders (step 6) react instantly. **Run All** first goes through every step on the bundled
# example: the 245 final losses of Hoffmann et al.'s (2022) Figure 4 as digitised by
# Besiroglu et al. (2024) (corpus source `chinchilla_epoch`, all 245 runs, 40 model sizes;
# tokens are $C / 6N$), with the Chinchilla law typed by hand. Then give it your own CSV.

# %%
from IPython.display import Markdown, display

from workbench.course import claim_check as cc
from workbench.course.claim_widgets import ClaimCheck
from workbench.viz.offline import enable_offline_charts

enable_offline_charts()  # charts render without a CDN (Binder, CI, a train)
check = ClaimCheck(export_dir="exports")

# %% [markdown]
# ## 1. Your runs
# A CSV (or parquet) file with one row per run: the columns your law uses and the loss. Names
# are matched like the command line's `--data` (case-insensitive, with aliases: `N` for
# `params`, `D` for `tokens`, `L` for `loss`; tokens may be given as `flops`, then
# $D = C / 6N$). Type a path relative to this notebook (or upload a file); an empty box loads
# the bundled example. A file that cannot be used (empty, no data rows, not a table, a
# directory) is one line under the panel, and nothing already loaded is lost; values are checked
# when the law asks for its columns (step 3), and a bad cell is named by column and row. Your
# file is never modified.

# %%
check.data_step

# %% [markdown]
# ## 2. Your law
# Type it with `+ - * / **`, numbers, parentheses and `exp`, `log`, `sqrt`, `tanh`, `minimum`,
# `maximum`. Names that are columns of your data (or corpus axes such as `params`, `tokens`,
# `flops`) are the law's variables; every other name is a constant to fit. Constants that enter
# linearly ($E$, $A$, $B$ below) are solved exactly for each value of the others, as for the
# library's own laws. The formula is parsed into a checked syntax tree and never run, so
# `__import__('os').system('id')`, attribute access, lambdas or unknown functions get a
# one-line refusal and leave the law as it was: try one.
#
# A law can also live in a small TOML file (formula, bounds, LaTeX, constants a paper printed):
# type its path instead, e.g. `../datasets/laws/chinchilla_by_hand.toml`.

# %%
check.law_step

# %% [markdown]
# ## 3. Fit it
# The fitting engine (Huber loss of log residuals, as Hoffmann et al. and Besiroglu et al.)
# with a bootstrap of 200 resampled sets of runs for the constants' 95 % intervals. The
# panel flags constants at a bound or poorly identified; everything downstream carries the
# caution.

# %%
check.fit()
check.fit_step

# %% [markdown]
# On the bundled example, the hand-typed formula reaches the registered `chinchilla` law's
# optimum ($\alpha \approx 0.35$, $\beta \approx 0.45$, $E \approx 1.89$). $B$ is poorly
# identified: the runs do not pin down the data term's scale and exponent separately.
#
# ## 4. Backtest it
# **Rolling-origin backtests:** order the distinct model sizes, fit the law on every run up to
# a size (from the third size on, at most 12 such *origins*), and predict every run of every
# larger size. Each prediction's log error is recorded with its distance in decades beyond the
# runs it was fitted on. The table shows how the error grows with the distance.

# %%
check.backtest()
check.backtest_step

# %% [markdown]
# ## 5. Compare it with library laws
# The same backtests (same ladder, same origins) for laws of the library that your data can
# feed. The scoreboard ranks them by mean |log error| on the predictions they all made, with
# the coverage their calibrated intervals reached in the backtests themselves and AIC/BIC of
# the full fit. The backtests favour the law that extrapolated best *on this ladder*.

# %%
check.compare()
check.compare_step

# %% [markdown]
# ## 6. Predict your big run
# * **big run's params / tokens** set the run you are about to pay for (the sliders reach
#   three decades beyond your largest run). The default is Chinchilla itself, 70B parameters
#   on 1.4T tokens.
#
# The sentence gives the point prediction, how many decades beyond the data it lies, the
# bootstrap interval (blue, sampling noise only) and the **calibrated interval** (red): the
# prediction widened by $q \cdot (0.1 + d)$ in log space at $d$ decades out, where $q$ is the
# conformal quantile of the backtest errors scaled by their own distances (the red line on the
# right, with 95 % of the scaled backtest errors below it), and never narrower than the
# bootstrap interval. It is **flagged** when the backtests are too few to reach 95 %, or when
# the big run is farther out than any backtest went (the dashed part of the line).
#
# **What it covers, and what it cannot:** the calibrated interval covers how wrong this law
# was when it extrapolated the smaller models of your ladder over the same distance; it cannot
# cover a change of regime beyond your largest run (a new bottleneck, other data, another
# recipe or architecture at scale), because no backtest has seen one.

# %%
check.predict_step

# %% [markdown]
# ## 7. Export the figure and the report
# **Export figure** writes the chart above as PNG, SVG and PDF with the tables behind it (CSV),
# its caption and its BibTeX; **Write report** writes a short Markdown report of the claim, the
# interval and the evidence (data, law, fit, backtest errors, scoreboard, caveats) with its
# BibTeX. Both go to `exports/` next to this notebook, numbered, never overwriting an earlier
# one. The report for the big run the sliders show now reads:

# %%
check.export_step

# %%
display(Markdown(cc.claim_report(check.claim, check.explorer.point())))

# %% [markdown]
# ## The same from Python and the command line
# Each panel calls one function of `workbench.course.claim_check`, so the check can be
# scripted:
#
# ```python
# data = cc.from_path("my_runs.csv")   # or runs already in polars, kept lazy:
# # data = cc.from_frame(corpus.scan("my-curves").filter(pl.col("final")), "my curves")
# law = cc.law_of("E + A/params**alpha + B/tokens**beta", data)
# claim = cc.backtest_claim(cc.fit_claim(data, law))
# claim = cc.compare_claim(claim, ["chinchilla", "kaplan_nd"])
# print(cc.claim_report(claim, {"params": 7e10, "tokens": 1.4e12}))
# ```
#
# and from the command line (`--law` is repeatable for the scoreboard, and takes a `.toml` law
# file too):
#
# ```text
# python -m workbench fit --formula "E + A/params**alpha + B/tokens**beta" --data my_runs.csv \
#     --bootstrap 200 --calibrate --predict 7e10:1.4e12
# python -m workbench fit --law chinchilla --law kaplan_nd --data my_runs.csv --predict 7e10:1.4e12
# ```
#
# ## Exercises
# 1. **Would the check have caught it?** Write the bundled runs of models below 2B parameters
#    to a file (`corpus.loss_points("chinchilla_epoch").filter(pl.col("params") < 2e9)
#    .select("params", "tokens", "loss").write_csv("small.csv")`, with `from workbench import
#    corpus` and `import polars as pl`), load it in step 1 and rerun steps 3 and 4. Move the
#    sliders to the largest held-out run (16.2B parameters, 30.2B tokens, measured loss 2.286).
#    Does the bootstrap interval cover it? The calibrated one? Then count over all 57 held-out
#    runs.
# 2. **A law that forgets the data.** Type `E + A/params**alpha` and rerun steps 3 to 5. Where
#    does it land on the scoreboard, and what happens to the calibrated interval at 70B?
# 3. **The honest limits.** Set the big run to $10^{13}$ parameters. Why is the interval
#    flagged? Name one way a real 10T-parameter run could miss even an unflagged calibrated
#    interval.
#
# <details><summary>Solutions (click to open)</summary>
#
# 1. The 188 runs below 2B (30 model sizes) predict the largest
#    held-out run at 0.96 decades out as 2.237, with a bootstrap interval of 2.214–2.257,
#    which **misses** the measured 2.286; the calibrated interval, 2.072–2.417 from 1,269
#    backtest errors, covers it. Over all 57 held-out runs the bootstrap interval covers 17
#    (30 %), the calibrated one 52 (91 %):
#    `sum(cc.predict_path(claim, r)[1].covers(r["loss"]) for r in held.iter_rows(named=True))`
#    with `held` the runs of 2B parameters or more.
# 2. Last: mean |log error| 0.093 against 0.032 for Chinchilla's form and 0.041 for
#    `kaplan_nd`, because the runs differ in tokens at each size and this law cannot see it. At
#    70B it predicts 2.127, and the calibrated interval widens to 1.497–3.022 (the bootstrap
#    interval is only 2.011–2.227): the backtests have seen this law be wrong, so the interval
#    says so. A wrong law gets an honest but useless interval, not a confident wrong one.
# 3. $10^{13}$ parameters is 2.79 decades beyond the data, farther than any backtest (2.26
#    decades), so the widening is extrapolated along its straight line rather than measured.
#    Even within the backtests' reach, the interval only knows the errors this ladder showed:
#    a loss that flattens or breaks beyond your largest model (a data bottleneck, repeated
#    data, a precision or optimisation limit, a different recipe at scale) has never appeared
#    in a backtest, so no interval calibrated on these runs can include it.
# </details>
#
# ## References
# * Hoffmann et al. 2022, *Training Compute-Optimal Large Language Models*, arXiv:2203.15556.
# * Besiroglu, Erdil, Barnett, You 2024, *Chinchilla Scaling: A replication attempt*,
#   arXiv:2404.10102 (the digitised runs of the bundled example).
# * Kaplan et al. 2020, *Scaling Laws for Neural Language Models*, arXiv:2001.08361 (`kaplan_nd`).
# * Lei, G'Sell, Rinaldo, Tibshirani, Wasserman 2018, *Distribution-Free Predictive Inference
#   for Regression*, JASA 113(523), arXiv:1604.04173 (split-conformal prediction).
