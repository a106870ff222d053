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
# # 04 · Compute-optimal vs over-trained models
#
# Chinchilla's answer (notebooks 02 and 03) minimises *training* compute: about 20 tokens per parameter.
# Yet most models people deploy are trained far longer than that: a smaller model trained on
# more tokens reaches the same loss for more training compute, but is cheaper every time it
# answers. This notebook asks two questions.
#
# 1. **Is over-training predictable?** Gadre et al. (2024) trained 104 models at token
#    multipliers $M = D/N$ from 5 to 640 and found
#
#    $$L(C, M) = E + \left(a M^{\eta} + b M^{-\eta}\right) C^{-\eta}:$$
#
#    at a fixed multiplier the reducible loss is a power law in compute $C = 6ND$ with the
#    *same* exponent $\eta$ for every $M$; over-training only shifts the line. So at equal loss,
#    training at $M$ instead of 20 costs a constant factor
#    $\left(g(M)/g(20)\right)^{1/\eta}$ in compute, with $g(M) = aM^{\eta} + bM^{-\eta}$.
# 2. **When does it pay?** Serving $T$ tokens costs about $2N$ FLOPs each. The cheapest model
#    *over its lifetime* that reaches a target loss minimises $6ND + 2NT$ (Sardana et al. 2024):
#    as $T$ grows, it shrinks below the compute-optimal size.

# %%
import polars as pl

from workbench.course import lifetime_cost
from workbench.course import overtraining as course
from workbench.course.references import cite
from workbench.viz.offline import enable_offline_charts

enable_offline_charts()  # charts render without a CDN (Binder, CI, a train)
_ = pl.Config.set_tbl_width_chars(200)
_ = pl.Config.set_tbl_cols(16)

# %% [markdown]
# ## The runs
# Three training sets (C4, RedPajama, RefinedWeb), four small shapes at every multiplier, plus a
# 1.4B and a 6.9B model; loss is the C4 validation loss. As in the authors' code, the law is
# fitted on just **five** runs per training set: the four small shapes at $M = 20$ and the
# smallest at $M = 320$. Everything else is a prediction.

# %%
print(cite("gadre_overtraining"))
runs = course.gadre_runs()
runs.group_by("train_set").agg(
    pl.len().alias("runs"),
    pl.col("in_fit").sum().alias("fitted"),
    pl.col("token_multiplier").min().alias("M min"),
    pl.col("token_multiplier").max().alias("M max"),
    pl.col("flops").max().alias("largest C"),
).sort("train_set")

# %% [markdown]
# The law refitted here (summed Huber on log residuals) next to the constants of the authors'
# code (`fit_ds` in their repository: `curve_fit` on linear residuals, same five runs; the
# paper's Table 6 prints the same fit rounded, in the code's parameterisation), with what each
# implies:

# %%
table = course.overtraining_table()
table

# %% [markdown]
# Why do the refit and the authors' constants differ? Not because of the optimiser: fit the same
# five runs with the authors' objective — least squares on the losses themselves, which is what
# `curve_fit` minimises (`fit(..., loss="squared", space="linear")`) — and the engine gives back
# every digit of the authors' code, with no starting guess. The difference is the objective: five points,
# four constants, and a valley along which the two objectives settle in different places.

# %%
course.objective_table()

# %% [markdown]
# ### The same exponent for every training set?
# The paper fits each training set on its own. Fit all 104 runs jointly instead — $E$, $a$, $b$
# per training set, the exponent $\eta$ shared — and each set separately, and ask AIC whether the
# two extra exponents earn their keep (both fits by least squares on log residuals, which is
# what AIC's likelihood assumes; `fit --per-group train_set` does the same from the command line):

# %%
sharing = course.exponent_sharing()
print(sharing.verdict)
sharing.exponents

# %% [markdown]
# * Five runs, four constants: the two objectives give visibly different $E$, $a$, $b$, yet the
#   predictions on the held-out over-trained runs ($M \ge 20$) agree to a fraction of a percent,
#   and miss by about 1 % on average.
# * The law is *not* a guide below $M = 20$. Its own compute-optimal multiplier
#   $(b/a)^{1/(2\eta)}$ is 3.3 to 7.4, far from Chinchilla's 20, and on the $M = 5$ runs it misses by
#   6.5–7.3 %. Its $M$-dependence is pinned by a single run at $M = 320$; use it for what it was
#   built for, over-training.
#
# ## Explore over-training
# * **token multiplier M** selects the runs at that multiplier (coloured by size) and draws the
#   law at $M$ (solid) and at 20 (dashed). Red rings are the five fitted runs.
# * The right panel is the law's error on every run; the sentence gives the error at $M$ and the
#   compute penalty of training at $M$ rather than 20.
# * **training data** and **constants** switch the data set and between the refit and the
#   authors' code's constants.

# %%
overtraining = course.OvertrainingExplorer(export_dir="exports")
overtraining.widget

# %% [markdown]
# ## The cost of serving
# Fix a target loss: the loss the compute-optimal model reaches at a reference budget (Gopher's
# $5.76 \times 10^{23}$ FLOPs by default). Every model size $N$ above a minimum can reach it,
# with $D(N)$ tokens from the iso-loss curve of the law. Its lifetime cost is
#
# $$\text{FLOPs}(N) = \underbrace{6\,N\,D(N)}_{\text{training}} + \underbrace{2\,N\,T}_{\text{inference}}.$$
#
# With $T = 0$ the minimum is the compute-optimal model; as $T$ grows the minimum moves to
# smaller $N$, trained on more tokens per parameter. The FLOP model ignores attention, the KV
# cache and the different hardware efficiency of training and serving (Sardana et al. also model
# those); the workbench's `lifetime_optimal` takes other per-token costs as arguments.
#
# With the Chinchilla law at Besiroglu et al.'s constants:

# %%
lifetime_cost.lifetime_table("besiroglu", 5.76e23)

# %% [markdown]
# ## Explore the trade-off
# * **tokens served** moves the inference demand: the left panel draws training (dashed),
#   inference (dotted) and total (solid) FLOPs of every model that reaches the target loss; the
#   right panel how the lifetime-optimal size falls with demand.
# * **your tokens per parameter** places your own plan (red diamond) on the total-cost curve.
# * **target** sets the loss through a reference budget; **loss law** switches between the
#   Chinchilla law (Besiroglu's or Hoffmann's constants) and Gadre's law in $(N, D)$ form.

# %%
lifetime = lifetime_cost.InferenceExplorer(export_dir="exports")
lifetime.widget

# %% [markdown]
# ## Exercises
# 1. With the Chinchilla law (Besiroglu constants) and the target at $5.76 \times 10^{23}$ FLOPs,
#    roughly how many served tokens make the lifetime-optimal model half the compute-optimal size?
#    How many tokens per parameter is it trained on then?
# 2. Switch the **loss law** to Gadre's. Why is its compute-optimal model (at $T = 0$) trained on
#    only about 3 tokens per parameter, and why should you not believe it?
# 3. A model trained at $M \approx 1{,}900$ (e.g. 15T tokens into 8B parameters): what compute
#    penalty against $M = 20$ does Gadre's C4 law imply, and how far outside the data is that?
#
# <details><summary>Solutions (click to open)</summary>
#
# 1. About $7.9 \times 10^{12}$ served tokens: the optimum is then $3.6 \times 10^{10}$
#    parameters trained on about 93 tokens per parameter. At $10^{13}$ tokens it is 2.1× smaller
#    (109 tokens per parameter) and 29 % cheaper over its lifetime than the compute-optimal model.
# 2. Written in $(N, D)$, Gadre's law is a Chinchilla law with $\alpha = \beta = 2\eta$, so its
#    compute-optimal ratio is the constant $(b/a)^{1/(2\eta)} \approx 3.4$ for C4 (the authors'
#    code's constants). The law was fitted on $M = 20$ and one run at $M = 320$, its $N$ counts every
#    parameter of small models, and its error at $M = 5$ is about 7 %: it describes over-training,
#    not the location of the compute optimum.
# 3. `course.overtraining_penalty(course.gadre_constants("c4", "refit"), 1875)` gives 7.3× (7.6×
#    with the authors' code's constants, `gadre_constants("c4", "authors")`). The largest multiplier in the data is 640, so this
#    extrapolates the $M$-dependence by a factor of about 3 in $M$, beyond anything the law was
#    checked on.
# </details>
#
# **Sources.** Gadre et al. 2024, *Language models scale reliably with over-training and on
# downstream tasks* (arXiv:2403.08540); Sardana, Portes, Doubov, Frankle 2024, *Beyond
# Chinchilla-Optimal: Accounting for Inference in Language Model Scaling Laws* (arXiv:2401.00448);
# Hoffmann et al. 2022 (arXiv:2203.15556); Besiroglu et al. 2024 (arXiv:2404.10102). BibTeX is
# written next to every export.
