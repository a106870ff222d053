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
# # 08 · Crossovers: which method wins at scale?
#
# Comparing two methods at one scale answers the wrong question. A method can lose at small
# compute and win at large compute because it *scales better* (a steeper power law), and the
# useful answer is where the two fitted curves **cross** — with an interval, because a crossing
# is an extrapolation of two uncertain fits. Nezhurina et al. (2025, arXiv:2506.04598) make this
# argument for language-vision models: compare scaling laws, not single points. The Languini
# Kitchen (Stanić et al. 2023, arXiv:2309.11197) found the same shape for language models: a
# GPT baseline wins at every measured compute, but a quasi-LSTM's steeper law would overtake it at
# roughly 50,000 accelerator-hours, far beyond what they ran.
#
# Each method gets a power law with an irreducible part, $y = E + A\,x^{-\alpha}$. Two such
# curves can cross **twice**: the steeper one overtakes first, but if its $E$ is higher the other
# comes back at very large $x$. `workbench.analysis.crossover` finds the first crossing in a range
# and, from paired bootstrap draws of the two fits, its 95 % interval and the share of draws that
# cross at all.

# %%
import polars as pl
from IPython.display import display

from workbench import corpus
from workbench.course import crossovers as course
from workbench.course.inputs import proxy_missing_message
from workbench.errors import WorkbenchError
from workbench.viz.offline import enable_offline_charts

enable_offline_charts()  # charts render without a CDN (Binder, CI, a train)

# %% [markdown]
# ## The data: CLIP and MaMMUT on DataComp
# Nezhurina et al. trained CLIP (contrastive) and MaMMUT (contrastive plus captioning) models of
# many sizes on many sample counts. The public part of their results in the corpus is ADE20K
# semantic segmentation (mIoU); we use the error $1 - \text{mIoU}$ so that lower is better. The
# paper's main comparison (zero-shot classification and retrieval) could not be obtained, so this
# notebook's conclusions are about segmentation only.

# %%
source = corpus.get_source("laion_clip_mammut")
print(source.citation)
for caveat in source.caveats:
    print(" -", caveat)
data = course.clip_mammut_data()
data.runs.group_by("method").agg(
    pl.len().alias("runs"),
    pl.col("frontier").sum().alias("on the frontier"),
    pl.col("x").min().alias("min FLOPs"),
    pl.col("x").max().alias("max FLOPs"),
)

# %% [markdown]
# Each method has many runs at the same compute (different model sizes, sample counts and
# learning rates). A scaling law of the *method* should describe its best achievable error at a
# given compute, so we fit each method's **compute-efficient frontier**: the runs that beat every
# cheaper run of the same method (large dots in the chart; small dots are the rest).
#
# ## Explore
# * **fit up to** (the first slider) keeps only frontier runs up to that compute in the fits (grey
#   band). Move it left and watch the crossing and its interval move: would you have predicted the
#   crossing from less data?
# * **horizon** is how far the fits are drawn and how far a crossing is searched.
# * Red line: where the two point fits cross; red band: its 95 % interval from 200 paired
#   bootstrap draws; dotted: later crossings of the point fits.
#
# Every fitted range the slider offers was fitted and bootstrapped once when the explorer was built.

# %%
explorer = course.CrossoverExplorer(data, export_dir="exports")
explorer.widget

# %% [markdown]
# ## Reading it
# The crossing, its interval and the fitted constants for each fitted range:

# %%
rows = []
for cut in data.cuts:
    s = course.crossing_summary(data, cut, 1e24)
    fits = course.crossover_fits(data, cut)["fits"]
    rows.append(
        {
            "fit up to": cut,
            "crossing": s["at"],
            "95% low": s["ci"][0] if s["ci"] else None,
            "95% high": s["ci"][1] if s["ci"] else None,
            "share of draws crossing": s["share"],
            "CLIP alpha": fits["CLIP"].params["alpha"],
            "MaMMUT alpha": fits["MaMMUT"].params["alpha"],
            "CLIP E": fits["CLIP"].params["E"],
            "MaMMUT E": fits["MaMMUT"].params["E"],
            "second crossing": ", ".join(f"{c:.2g}" for c in s["later"]) or None,
        }
    )
summary = pl.DataFrame(rows)
summary

# %% [markdown]
# * **The first crossing is inside the data**, near $10^{18}$ FLOPs, for every fitted range:
#   CLIP's frontier is lower at small compute, MaMMUT's from there on. Its interval spans more than
#   an order of magnitude; fitting less data can even make it look *tighter* (fewer, more
#   homogeneous points), which is a reason to distrust narrow intervals from short ranges.
# * **MaMMUT's exponent is larger** for every fitted range (it improves faster with compute): the
#   direction the paper's abstract reports ("MaMMUT's stronger improvement with scale") on
#   classification, retrieval and segmentation.
# * **The floor $E$ is the weak part.** Fitted on ranges up to $3\times10^{19}$ FLOPs, both floors
#   go to 0 (pure power laws): a short range cannot tell a floor from a slightly smaller exponent.
#   With the full range the fits give MaMMUT the *higher* floor, so the point fits cross a second
#   time beyond $10^{22}$ FLOPs and CLIP would come back. The $E$ intervals overlap widely, so that
#   second crossing is a property of two uncertain extrapolations, not a prediction:

# %%
fits = course.crossover_fits(data, data.cuts[-1])
for name, f in fits["fits"].items():
    print(name, "E =", round(f.params["E"], 3), "95% CI", tuple(round(v, 3) for v in f.ci["E"]))

# %% [markdown]
# ## Your own proxies: MLP vs LSTM
# The proxy preset `crossover` trains fixed-window MLP language models and LSTMs of four widths
# on Python source (and GPTs, for reference). If its results are shipped, the next cell fits the
# MLP and LSTM curves with the same law and shows their crossing (in non-embedding parameters)
# with a horizon slider; `course.proxy_crossover_data(("gpt", "lstm"))` gives another pair.

# %%
proxy = course.proxy_crossover_data()
if proxy is None:
    print(proxy_missing_message("crossover"))
else:
    try:
        proxy_explorer = course.CrossoverExplorer(proxy, export_dir="exports")
        print(proxy_explorer.subtitle())
        display(proxy_explorer.widget)
    except WorkbenchError as exc:  # shipped, but not enough to fit: say so
        print("proxy crossover results:", exc)

# %% [markdown]
# ## Exercises
# 1. Move **fit up to** to its smallest value ($3\times10^{18}$ FLOPs). How far beyond the fitted
#    range is the largest run, and how well do the dashed curves predict those runs?
# 2. Why do we fit the frontier and not all runs? What would the crossing mean if we fitted every
#    run, including badly tuned ones?
# 3. The crossing is found in FLOPs. Name one reason the same comparison in *samples seen* or in
#    *parameters* could give a different answer.
#
# <details><summary>Solutions (click to open)</summary>
#
# 1. The largest run has $6.2\times10^{20}$ FLOPs, about 2.3 decades beyond $3\times10^{18}$. The
#    dashed curves run *below* the held-out frontier runs: with the short range both floors $E$ go to
#    0, so the fits keep falling too fast — on average about 2 % too low for CLIP and 7 % for MaMMUT
#    on the frontier runs beyond the band, at worst 7 % and 17 %. The crossing itself, which lies
#    inside the fitted range, hardly moves (about $8\times10^{17}$ vs $10^{18}$ with all data).
# 2. A method's scaling law should describe the best it can do at each compute; ordinary runs
#    include poor hyperparameters and off-optimal size/data splits, whose spread depends on how many
#    of them each team happened to run. Fitting all runs mixes the method with the sweep design, and a
#    crossing of those fits compares sweeps, not methods.
# 3. MaMMUT spends extra compute per sample (its captioning decoder), so at equal samples it is
#    more expensive than CLIP; at equal parameters the two architectures differ in where the
#    parameters sit (text decoder vs encoders). Each axis charges a different cost, and "which
#    method wins" is only defined for a cost you care about.
# </details>
#
# ## References
# Nezhurina, Porian, Puccetti, Kerssies, Beaumont, Cherti, Jitsev 2025, Scaling Laws for Robust
# Comparison of Open Foundation Language-Vision Models and Datasets (arXiv:2506.04598; corpus
# source `laion_clip_mammut`); Stanić et al. 2023, The Languini Kitchen (arXiv:2309.11197).
# BibTeX is written next to each exported figure.
