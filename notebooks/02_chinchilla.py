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
# 4. export the figure (PNG, SVG, PDF) with the numbers behind it, and
# 5. see the same law shape, a floor plus a power law, in images, video and math (Henighan et
#    al. 2020).

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
# ## One law shape, many kinds of data (Henighan et al. 2020)
# Chinchilla's law is about language. Henighan et al. (2020, arXiv:2010.14701) trained
# autoregressive transformers on images at three resolutions, VQ-encoded images and video,
# image–text pairs and math problems, and found one shape in every domain:
#
# $$L(x) = L_\infty + \left(\frac{x_0}{x}\right)^{\alpha_x},\qquad x = N \text{ or } C.$$
#
# $L_\infty$ is the **irreducible** loss, which the paper reads as the entropy of the data (the
# role $E$ plays above), and $(x_0/x)^{\alpha_x}$ the **reducible** loss, read as the distance
# between model and data. On log–log axes the reducible part is a straight line of slope
# $-\alpha_x$, and the total bends towards the floor. No runs of theirs ship with the
# workbench, so the explorer draws the published fits themselves: every curve and number is
# a row of the paper's Table 1 (the `henighan_n` and `henighan_c` presets; compute in the
# paper's PF-days). Losses are in nats per token of each domain's own tokenisation, so compare
# exponents across domains, not losses.
#
# * **domains**: pick several rows of Table 1 (ctrl-click or shift-click).
# * **parameters N** and **compute C**: the red line in each panel; the sentence says what
#   share of each domain's loss is still reducible there.
# * The panel below shows every domain's exponents $\alpha_N$ and $\alpha_C$ (the chosen ones in
#   black); **Export figure** writes the figure, its tables and the BibTeX into `exports/`.
#
# *What the picture shows and cannot show:* the shape of the published fits, including far
# beyond the models the paper trained; it cannot show whether a much larger model keeps to
# the straight reducible line, nor whether a fitted $L_\infty$ is really the data's entropy.

# %%
from workbench.course.multimodal import HenighanExplorer

domains = HenighanExplorer(export_dir="exports")
domains.widget

# %%
domains.shown_tables["exponents"].pivot(on="law", index="domain", values="alpha")

# %% [markdown]
# Language (whose row the paper takes from the GPT-3 runs) is a pure power law in Table 1,
# with the smallest exponents; the image domains have steeper exponents but most of their
# loss is the floor. A steep exponent says how fast the reducible part shrinks, not how much
# of the loss is left to win.

# %% [markdown]
# ## Exercises
# 1. Set the budget to $10^{25}$ FLOPs. How many decades beyond the largest fitted model is
#    $N_\text{opt}$? Would you trust the predicted loss to two decimals?
# 2. Fit all 245 points (untick the checkbox). Which constant moves most, and why do five
#    points matter so much for the tokens-per-parameter ratio?
# 3. In the Henighan explorer, pick language and image 8x8 and set $N = 10^9$. What share of
#    each loss is reducible? How many times more parameters halve each reducible loss? Which
#    domain's loss does a 1,000 times larger model ($N = 10^{12}$) improve more, in nats?
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
# 3. Read the numbers with `domains.shown_tables["at_n"]`; the halving factor is
#    $2^{1/\alpha_N}$. At $N = 10^9$ image 8x8 has $L = 3.140$, of which 0.020 (0.6 %) is
#    reducible; language has $L = 2.300$, all reducible (Table 1 gives it no floor). Halving
#    the reducible loss takes $2^{1/0.24} \approx 18$ times more parameters for image 8x8, but
#    $2^{1/0.070} \approx 20{,}000$ times for language. Yet at $10^{12}$ image 8x8 gains only
#    0.016 nats (to 3.124) while language gains 0.88 (to 1.418): a steep exponent on a small
#    reducible part buys little. And $10^{12}$ is beyond the largest GPT-3 model, so the
#    language number is an extrapolation of the fit.
# </details>
#
# **Sources.** Hoffmann et al. 2022, *Training Compute-Optimal Large Language Models*
# (arXiv:2203.15556); Besiroglu et al. 2024, *Chinchilla Scaling: A replication attempt*
# (arXiv:2404.10102); Henighan et al. 2020, *Scaling Laws for Autoregressive Generative
# Modeling* (arXiv:2010.14701). BibTeX is written next to every export.
