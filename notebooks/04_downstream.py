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
# # 04 · From loss to downstream error
#
# Loss falls smoothly and predictably with scale (notebooks 01–03). What people care about is
# whether the model answers questions: accuracy on benchmarks. Those curves look different:
# flat at chance, then rising, sometimes abruptly ("emergence", Wei et al. 2022). This notebook
# takes three views of the gap.
#
# 1. **Average error is a smooth function of loss.** Gadre et al. (2024) fit
#
#    $$\mathrm{Err}(L) = \epsilon - k\,e^{-\gamma L}$$
#
#    to the average top-1 error over 46 tasks (or a 17-task subset) against the C4 validation
#    loss: as $L$ grows, error approaches $\epsilon$ (about chance); as $L$ falls, error falls
#    ever faster. Chain it with the loss law of notebook 03 and small runs predict a large
#    model's downstream error.
# 2. **Emergence can be a threshold effect of a smooth loss.** If each answer token is right
#    with probability $e^{-\ell}$, a $k$-token exact match succeeds with $e^{-k\ell}$: smooth,
#    but flat and then steep on a linear axis (Schaeffer et al. 2023).
# 3. **Small benchmarks are noisy.** A benchmark of $n$ questions measures accuracy $p$ with
#    standard error $\sqrt{p(1-p)/n}$, and cannot see accuracies below about $1/n$; PassUntil (Hu
#    et al. 2024) samples until the first success to measure them anyway.

# %%
import altair as alt
import polars as pl

from workbench.course import nb01_04 as course

alt.JupyterChart.enable_offline()  # charts render without a CDN
_ = pl.Config.set_tbl_width_chars(200)
_ = pl.Config.set_tbl_cols(16)
_ = pl.Config.set_fmt_str_lengths(90)
_ = pl.Config.set_tbl_rows(50)

# %% [markdown]
# ## The runs and the error law
# The same 104 runs as notebook 03, each evaluated on 46 downstream tasks. Average error is one
# minus the mean accuracy, over all 46 tasks or the authors' 17-task subset. As in the authors'
# code, the law is fitted on six runs per training set: the five loss-law runs plus the 1.4B
# model at $M = 20$. Refitted here (summed Huber on log residuals) and published ([V-repro]):

# %%
print(course.cite("gadre_overtraining"))
course.error_law_table()

# %% [markdown]
# Six points and three constants, on a curve that is nearly flat over most of the fitted runs:
# the constants move with the objective ($k$ and $\gamma$ especially), but the curves stay close
# where there are data. Chance error (the last column) is where every curve starts.
#
# ## Predicting a 6.9B model from small ones
# Gadre et al.'s headline test, redone with the workbench's fits: predict the 6.9B model's loss
# from the five small runs (loss law), then its error from that predicted loss (error law):

# %%
chain = course.chained_prediction()
chain

# %% [markdown]
# Two things to notice. The error law alone, given the *measured* loss, over-predicts the error
# on every training set by 0.008 to 0.014, two to three times the sampling standard error of
# the 46-task average (last column, computed from each task's size). And on C4 the loss law
# under-predicts the loss by 4.7 %, which lowers the predicted error and happens to land
# closer: two errors cancelling is not a validation. Report both links of a chain separately.
#
# ## Explore
# * **C4-eval loss L** moves the red line: the diamond is the predicted average error, the blue
#   band its 95 % bootstrap interval (200 refits), the dashed line the published constants.
# * **questions in a benchmark**: the red bar and grey band show where a *single* benchmark of
#   that many questions, with the predicted error rate, would land 95 % of the time.
# * **task** (right panel): one task's accuracy against loss with its own binomial interval.
#   Try `hellaswag_zeroshot` (smooth), `mmlu` (chance until the best model), `copa` (100
#   questions: noisy), `bigbench_novel_concepts` (32 questions).
# * **training data**, **error averaged over** and **fit the law on** change what is fitted.

# %%
explorer = course.DownstreamExplorer(export_dir="exports")
explorer.widget

# %% [markdown]
# ## Emergence as a threshold
# For every task, the loss below which *every* run is more than two standard errors above
# chance (for a benchmark of that size), on the C4 runs. Tasks near the top leave chance early;
# tasks at the bottom never do on these models (up to 6.9B parameters):

# %%
tasks = course.task_table("c4")
tasks.select("task", "type", "questions", "chance", "lowest accuracy", "highest accuracy",
             "reliably above chance below loss", "verdict")

# %% [markdown]
# The average error is smooth because it averages tasks that each leave chance at a different
# loss. A single task, seen through a discontinuous metric, can look like a jump. Schaeffer et
# al.'s (2023) argument in one figure: per-token loss improves smoothly, exact match over $k$
# tokens is $e^{-k\ell}$, and on a linear axis the 20-token task "emerges" suddenly; on a log
# axis all three are straight lines, but a 100-question benchmark cannot see below 1 %.

# %%
course.show(course.exact_match_figure().chart)

# %% [markdown]
# ## Why downstream is hard to predict: noise
# Pythia (Biderman et al. 2023) evaluated every model at many checkpoints. WSC has 104
# questions, LAMBADA 5,153. The shaded bands are 95 % binomial intervals as reported by the
# evaluation harness: on WSC they are about ±0.1 wide, wider than most differences between
# checkpoints *and* between models from 70M to 12B parameters.

# %%
print(course.cite("pythia_evals"))
noise = course.pythia_noise_figure()
course.show(noise.chart)

# %%
checkpoints = noise.tables["checkpoints"]
checkpoints.group_by("task").agg(((pl.col("high") - pl.col("low")) / 2).median().alias("median half-width of the 95% interval"),
                                 pl.len().alias("checkpoints"))

# %% [markdown]
# A second source of unpredictability is that compute is not the only input. Across public
# models (Ruan et al. 2024's table), accuracy at the same training compute differs widely
# between families (data, architecture, post-training), which is why Ruan et al. predict from
# a few capability measurements rather than from compute:

# %%
print(course.cite("obs_scaling"))
course.show(course.observational_figure().chart)

# %% [markdown]
# PassUntil (Hu et al. 2024) attacks the resolution problem directly: instead of scoring one
# answer per question, sample until the first correct answer. If a question is solved with
# probability $p$ per sample, the number of samples until success has mean $1/p$, so pass rates
# far below $1/n$ become measurable, and small models show the smooth improvement that a
# fixed-size benchmark rounds to zero.
#
# The explorer's export from code:

# %%
[p.name for p in explorer.export()]

# %% [markdown]
# ## Exercises
# 1. A benchmark shows model A at 52 % and model B at 48 % on 104 questions. Is A better?
# 2. Set the loss slider to 2.0 (C4 data, paper's six runs). How wide is the bootstrap band, and
#    why is it so much wider than at 3.0?
# 3. How many samples per question would PassUntil need, on average, to observe one success on a
#    question solved with probability $10^{-4}$? How does that compare with growing the benchmark?
#
# <details><summary>Solutions (click to open)</summary>
#
# 1. Not on this evidence: each accuracy has standard error $\sqrt{0.5 \cdot 0.5 / 104} \approx
#    0.049$, so the difference of 0.04 has standard error about 0.069 (if the two were
#    independent; paired questions help a little). This is the size of WSC in Pythia's
#    evaluations, whose checkpoints wander over a wider range than that.
# 2. At $L = 2.0$ the band spans 0.452–0.627 against 0.685–0.692 at $L = 3.0$: the six fitted runs
#    have losses from 2.66 to 5.22 (C4), and 2.0 is 0.66 below the lowest, where the exponential
#    is steepest and its rate $\gamma$ is least constrained. Extrapolating an exponential is
#    extrapolating its rate.
# 3. $1/p = 10{,}000$ samples on average. A conventional benchmark needs about $1/p$ *questions*
#    just to expect one correct answer, and many times that for a usable estimate; PassUntil
#    spends the samples on the questions you have.
# </details>
#
# **Sources.** Gadre et al. 2024 (arXiv:2403.08540); Schaeffer, Miranda, Koyejo 2023, *Are Emergent
# Abilities of Large Language Models a Mirage?* (arXiv:2304.15004); Hu et al. 2024, *Predicting
# Emergent Abilities with Infinite Resolution Evaluation* (arXiv:2310.03262); Wei et al. 2022,
# *Emergent Abilities of Large Language Models* (arXiv:2206.07682); Biderman et al. 2023, *Pythia*
# (arXiv:2304.01373); Ruan, Maddison, Hashimoto 2024, *Observational Scaling Laws* (arXiv:2405.10938).
# BibTeX is written next to every export.
