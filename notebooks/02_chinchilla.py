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
# # 02 · Chinchilla: from published points to a compute-optimal model
#
# Hoffmann et al. (2022) trained over 400 language models and summarised them with one
# parametric law,
#
# $$L(N, D) = E + \frac{A}{N^{\alpha}} + \frac{B}{D^{\beta}},$$
#
# where $N$ is the number of parameters, $D$ the number of training tokens and $E$ the
# loss no model can beat. Besiroglu et al. (2024) recovered 245 of those runs from the
# vector graphics of the paper's Figure 4 and showed that the published constants do not
# fit the published points. In this notebook you will
#
# 1. load those points from the workbench's curated corpus,
# 2. fit the law with the workbench's engine (the global optimum, in milliseconds),
# 3. move a compute budget and the law's constants with sliders and watch the
#    compute-optimal model size $N_\text{opt}(C)$ and data $D_\text{opt}(C)$ move, and
# 4. export the figure (PNG, SVG, PDF) with the numbers behind it.

# %%
import polars as pl

from workbench import corpus
from workbench.analysis.compute_optimal import chinchilla_optimal
from workbench.course.chinchilla import ChinchillaExplorer
from workbench.fit import fit
from workbench.laws import CHINCHILLA
from workbench.viz.offline import enable_offline_charts

enable_offline_charts()  # charts render without a CDN (Binder, CI, a train)

# %% [markdown]
# ## The data
# Every row of the corpus says where it comes from. These are final losses of the runs in
# Hoffmann et al.'s Figure 4; tokens are not in the figure, so $D = C / (6N)$.

# %%
source = corpus.get_source("chinchilla_epoch")
points = corpus.loss_points("chinchilla_epoch")
print(source.citation)
print("licence:", source.licence, "| repository:", source.repository, "@", source.commit[:10])
for caveat in source.caveats:
    print(" -", caveat)
points.select("run_id", "params", "tokens", "flops", "loss").describe()

# %% [markdown]
# ## The fit
# The engine minimises the sum of Huber losses ($\delta = 10^{-3}$) of log residuals, as
# Hoffmann and Besiroglu did. Because $E$, $A$ and $B$ enter linearly, it solves them exactly
# for every $(\alpha, \beta)$ on a grid and only polishes the best basin, which is why it is
# thousands of times faster than 4,500 random starts and still finds the optimum.
# A bootstrap over the points gives 95 % intervals.

# %%
# the 240 points of Besiroglu et al.: the 5 highest losses dropped
besiroglu_points = corpus.loss_points("chinchilla_epoch", subset="besiroglu2024")
result = fit(CHINCHILLA, besiroglu_points).bootstrap(draws=200, seed=0)
print(
    result.caution()
    or "The bootstrap flags no constant: none at a bound, none poorly identified."
)
pl.DataFrame(
    {
        "parameter": list(result.params),
        "this fit": list(result.params.values()),
        "95% low": [result.ci[k][0] for k in result.params],
        "95% high": [result.ci[k][1] for k in result.params],
        "Besiroglu 2024 (secondhand)": [
            CHINCHILLA.preset("besiroglu2024").values[k] for k in result.params
        ],
        "Hoffmann 2022 (published, rounded)": [
            CHINCHILLA.preset("hoffmann2022").values[k] for k in result.params
        ],
    }
)

# %% [markdown]
# What do the three sets of constants say about Chinchilla's own budget,
# $C = 5.76 \times 10^{23}$ FLOPs? Hoffmann's constants ask for far more tokens per
# parameter than the 20 Chinchilla was trained with; the refit agrees with the 20.

# %%
rows = []
for name, values in [("this fit", result.params)] + [
    (p.name, p.values) for p in CHINCHILLA.presets
]:
    opt = chinchilla_optimal(values, [5.76e23])
    rows.append(
        {
            "constants": name,
            "N_opt": opt.params[0],
            "D_opt": opt.tokens[0],
            "tokens per parameter": opt.tokens_per_param[0],
            "loss": opt.loss[0],
            "a = β/(α+β)": opt.a,
        }
    )
pl.DataFrame(rows)

# %% [markdown]
# ## Explore
# * **C (FLOPs)** moves the compute budget: the red curve is the law along that iso-FLOP
#   line, the diamond its minimum $N_\text{opt}(C)$, and the sentence above the chart says
#   whether that point is inside the data or an extrapolation (and by how many decades).
# * **constants** switches between this fit and the presets, each labelled by where its digits
#   come from (*published*: printed in the paper; *secondhand*: transcribed elsewhere and not yet
#   checked against it); the five sliders let you change any of them by hand.
# * The checkbox refits with or without the five highest-loss points (ticked: the 240
#   points Besiroglu et al. fit).
# * **Export figure** writes the current figure as PNG, SVG and PDF, plus its data as CSV
#   and the BibTeX of the source, into `exports/`.

# %%
explorer = ChinchillaExplorer(points, export_dir="exports", bibtex=source.bibtex)
explorer.widget

# %% [markdown]
# The same export from code (this is what the button calls):

# %%
written = explorer.export()
[p.name for p in written]

# %% [markdown]
# ## Exercises
# 1. Set the budget to $10^{25}$ FLOPs. How many decades beyond the largest fitted model is
#    $N_\text{opt}$? Would you trust the predicted loss to two decimals?
# 2. Fit all 245 points (untick the checkbox). Which constant moves most, and why do five
#    points matter so much for the tokens-per-parameter ratio?
#
# <details><summary>Solutions (click to open)</summary>
#
# 1. With the 240-point fit, $N_\text{opt}(10^{25}) \approx 3.2 \times 10^{11}$, about 1.3
#    decades beyond the largest model in the figure ($1.6 \times 10^{10}$). Every constant
#    carries a bootstrap interval (table above); `result.prediction_interval({"params": [n],
#    "tokens": [d]})` evaluates the law at that point for every bootstrap draw and shows how wide
#    the predicted loss really is before trusting decimals.
# 2. $B$ and $\beta$: the five highest-loss runs are small-data runs, and fitting them pulls
#    the data term steeply ($\beta \approx 0.45$), which makes extra tokens look cheap to
#    skip: at Chinchilla's budget the optimum falls to about 7 tokens per parameter.
#    Dropped, $\beta \approx 0.37$ and the ratio is about 18.
# </details>
