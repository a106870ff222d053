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
# # 01 · Power laws and log-log thinking
#
# Almost every scaling law is built from one object, the power law
#
# $$L(x) = A\,x^{-\alpha},$$
#
# where $x$ is parameters $N$, training tokens $D$ or compute $C$. Take logarithms and it
# becomes a straight line, $\log L = \log A - \alpha \log x$, with slope $-\alpha$. The reason
# this matters is *scale invariance*: multiplying $x$ by a factor $k$ multiplies $L$ by
# $k^{-\alpha}$ wherever you start. On log-log axes equal ratios are equal distances, so a
# power law is a line, and "how much better does 10× buy?" has one answer everywhere.
#
# In this notebook you will
#
# 1. evaluate Kaplan et al.'s (2020) published power laws and see the straight lines,
# 2. see how an irreducible offset $E$ bends the line (Henighan et al. 2020),
# 3. fit both forms to the *smallest* runs of a real sweep and extrapolate to the largest,
#    with a slider that chooses how many runs you fit on, and watch the error grow, and
# 4. export the figure (PNG, SVG, PDF) with the numbers and citations behind it.

# %%
import polars as pl

from workbench.course import power_laws as course
from workbench.course.references import cite
from workbench.course.style import show
from workbench.laws import get_law
from workbench.viz.offline import enable_offline_charts

enable_offline_charts()  # charts render without a CDN (Binder, CI, a train)
_ = pl.Config.set_tbl_width_chars(160)
_ = pl.Config.set_tbl_cols(16)

# %% [markdown]
# ## Kaplan's laws are straight lines
# Kaplan et al. (2020, arXiv:2001.08361, Eqs. 1.1–1.2, Table 5) fitted
# $L(N) = (N_c/N)^{\alpha_N}$ for models trained to convergence and
# $L(D) = (D_c/D)^{\alpha_D}$ for large models stopped early. The constants are the paper's
# (published: printed in its Eqs. 1.1–1.2 and Table 5); $N$ counts *non-embedding* parameters
# and the numbers only mean something for their data (WebText2) and tokenizer (GPT-2 BPE).

# %%
kaplan_n, kaplan_d = get_law("kaplan_n"), get_law("kaplan_d")
pn, pd_ = kaplan_n.preset("kaplan2020_table5"), kaplan_d.preset("kaplan2020_table5")
print(pn.citation, "|", pn.note)
print(pd_.citation, "|", pd_.note)
pl.DataFrame(
    {
        "x": [1e8, 1e9, 1e10, 1e11],
        "L(N = x)": kaplan_n.predict({"params": [1e8, 1e9, 1e10, 1e11]}, pn.values),
        "L(D = x)": kaplan_d.predict({"tokens": [1e8, 1e9, 1e10, 1e11]}, pd_.values),
    }
)

# %% [markdown]
# Every tenfold step in $N$ multiplies the loss by the same factor, $10^{-\alpha_N}$; doubling
# multiplies it by $2^{-\alpha_N}$. And the exponent is small, so halving the loss takes an
# enormous factor in $N$:

# %%
alpha_n = pn.values["alpha_N"]
print(f"×10 in N multiplies L by {10**-alpha_n:.4f};  ×2 multiplies it by {2**-alpha_n:.4f}")
print(f"halving L under this law needs N × {2 ** (1 / alpha_n):,.0f}")

# %% [markdown]
# ## An offset bends the line
# Real losses cannot fall below the entropy of the text, so Henighan et al. (2020,
# arXiv:2010.14701) write $L(x) = E + A\,x^{-\alpha}$: an irreducible part $E$ plus a reducible
# power law. Now $\log L$ is *not* linear in $\log x$; the local slope is
#
# $$\frac{d \log L}{d \log x} = -\alpha\,\frac{L - E}{L},$$
#
# which tends to zero as $L \to E$: the curve flattens towards its floor. Only the reducible
# part $L - E$ is a straight line. The figure shows Kaplan's $L(N)$ (left, both laws) and the
# same reducible part on top of three floors (right).

# %%
fig = course.power_laws_figure()
show(fig.chart)

# %%
offset = fig.tables["offset"]
offset.filter(pl.col("x").is_in([offset["x"][0], offset["x"][-1]])).select(
    "floor", "x", "loss", "slope"
)

# %% [markdown]
# With $E = 1.5$ the slope at $N = 10^{13}$ is a fraction of $-\alpha_N$: a straight line
# drawn through small models would predict far too low a loss for large ones. That is the
# whole difficulty of extrapolation: the *curvature* you need is hardest to see where you
# have data.
#
# ## Real sweeps: fit small, predict large
# The slices below are one-variable cuts of the workbench's corpus. Porian et al. (2024)
# trained about ten model sizes at each of twelve compute budgets; the best loss at each
# budget traces the compute frontier $L^*(C)$, the curve Kaplan's $L(C_\text{min})$ describes.
# Gadre et al.'s (2024) slice is loss against $N$ at 20 tokens per parameter.

# %%
for s in course.power_law_slices().values():
    lo, hi = s.frame[s.variable].min(), s.frame[s.variable].max()
    print(f"{s.label}: {s.frame.height} runs, {s.variable} from {lo:.3g} to {hi:.3g} — {s.how}")
print()
print(cite("porian_discrepancies"))
print(cite("gadre_overtraining"))
print("Proxy runs:", course.proxy_quick_losses()[1])

# %% [markdown]
# ## Explore
# * **runs fitted** is how many of the smallest runs both laws are fitted on (the rest are
#   held out, as triangles). Both laws are fitted by the workbench's engine (Huber loss on log
#   residuals, the global optimum).
# * The right panel is the error of each law on every held-out run, against how many decades
#   beyond the largest fitted run it lies. The sentence above the chart gives the error at the
#   largest run.
# * **subtract Ê** plots $L - \hat E$ with the offset law's fitted $\hat E$: the offset law
#   becomes a straight line, the pure power law bends.
# * **data** switches slices; **Export figure** writes PNG, SVG, PDF, the tables as CSV and
#   the BibTeX into `exports/`.

# %%
explorer = course.PowerLawExplorer(export_dir="exports")
explorer.widget

# %% [markdown]
# What the slider shows, for every position at once (Porian et al.'s tuned RefinedWeb runs):

# %%
history = course.extrapolation_history("porian-rw-tuned")
history

# %% [markdown]
# Read the table the way you would read a forecast:
#
# * The further you extrapolate, the larger the error: both columns shrink (not quite
#   monotonically) towards zero as the fitted range grows and the distance to the largest run
#   shrinks.
# * The pure power law has no floor, so on this slice it predicts a loss *below* the measured one
#   at every $k$ (negative errors): a straight line through curving data is over-optimistic.
# * With three runs, the offset law has as many constants as points and passes through all of
#   them; its $\hat E$ is whatever three points imply, and its extrapolation is the worst in the
#   table. $\hat E$ is the least determined constant: watch it move as you add runs.

# %%
worst = history.row(0, named=True)
best = history.row(-1, named=True)
for row in (worst, best):
    errors = f"{row['power law error (%)']}% / {row['power law + offset error (%)']}%"
    print(f"k = {row['runs fitted']}: Ê = {row['Ê']}, errors {errors}")

# %% [markdown]
# ## Where power laws come from: four regimes
# Bahri, Dyer, Kaplan, Lee and Sharma (2021, arXiv:2102.06701) explain *why* loss falls as a
# power law, and what sets the exponent. Take a model with $N$ features trained on $P$ examples.
# If one resource is effectively unlimited, the loss is **resolution-limited**: the model
# resolves the data manifold more finely as the other grows, and the exponent depends on the
# manifold's intrinsic dimension $d$ (here, through the kernel's spectrum: $3/d$). If one
# resource is held small, the excess loss over its limit is **variance-limited**: it falls as
# $1/\text{size}$, whatever $d$.
#
# The workbench measures all four with the `regimes` preset: ReLU random-feature students of a
# Gaussian-process teacher on spheres of dimension $d = 2, 4, 8$ (25 s to re-run:
# `python -m workbench sweep --preset regimes --out runs/regimes`; its pre-registered checks:
# `python -m workbench sweep --preset regimes --verify datasets/proxies/regimes.csv`).
#
# * **regime** picks which resource grows and which is fixed or unlimited.
# * **intrinsic dimension d** highlights one data manifold and its exponent (red ring).
#
# *What the toy shows and cannot show:* the two mechanisms and their exponents, exactly, in a
# model with a known spectrum; not the intrinsic dimension of natural language, which is what
# would set a language model's exponent in this picture.

# %%
from workbench.course.regimes import RegimesExplorer

regimes = RegimesExplorer(export_dir="exports")
regimes.widget

# %% [markdown]
# At $d = 8$ the resolution-limited exponents (about 0.51) sit above the theory's 0.375: the
# slope is still falling at the largest sizes, so the sweep has not reached the asymptote (the
# preset's README reports this; its check allows ±0.2).

# %% [markdown]
# ## Why exponents can be robust: superposition
# Liu, Liu and Gore (2025, arXiv:2505.10465) give a second mechanism. A model must represent $n$
# features, used with power-law frequencies $p_i \propto i^{-(1+\alpha)}$, in only $m$
# dimensions. With **weak superposition** (weight decay) it keeps the $\approx m$ most frequent
# features and drops the rest, so the loss is the frequency tail it drops, $\propto m^{-\alpha}$:
# the exponent depends on the data. With **strong superposition** every feature is kept,
# overlapping with the others, and the loss falls as about $1/m$ *whatever* $\alpha$: an
# exponent that does not depend on the data. The `superposition` preset trains their toy model
# (4.5 min: `python -m workbench sweep --preset superposition --out runs/superposition`).
#
# * **regime**: weight decay (weak) or the paper's weight growth (strong).
# * **frequency exponent α** highlights one feature-frequency law (red ring on the right).
#
# *What the toy shows and cannot show:* that strong superposition makes the exponent about 1
# for any frequency law, in a model small enough to train in seconds; not whether a language
# model is in that regime (the paper argues it is).

# %%
from workbench.course.superposition import SuperpositionExplorer

superposition = SuperpositionExplorer(export_dir="exports")
superposition.widget

# %% [markdown]
# The strong regime reproduces (exponents 0.85–1.08 for the three α). The weak one only loosely:
# its exponents (0.45, 0.46, 0.70 for α = 0.25, 0.5, 1) grow with α but do not equal it, with
# the workbench's short training (2,000 steps, the paper trains ten times longer); the preset's
# README reports this, with the loss tables.

# %% [markdown]
# ## Exercises
# 1. Under Kaplan's $L(N)$, by what factor must $N$ grow to cut the loss by 10 %? Check with the
#    preset.
# 2. Switch **data** to the Kaplan-style set-up (long warm-up, untuned) and fit on 5 runs. Compare
#    the errors at the largest run with the tuned slice. Why would the *small* runs be the ones a
#    bad set-up hurts most, and what does that do to an extrapolation?
# 3. On the tuned RefinedWeb slice, how does $\hat E$ change between 3 and 11 fitted runs? What does
#    that tell you about quoting an "irreducible loss" from a small sweep?
# 4. In the regimes explorer, compare the two resolution-limited regimes at each $d$. What does it
#    mean that the data exponent and the width exponent agree?
#
# <details><summary>Solutions (click to open)</summary>
#
# 1. $L \to 0.9L$ needs $N \to N \cdot 0.9^{-1/\alpha_N} = N \cdot 0.9^{-1/0.076} \approx 4.0\times$
#    (`0.9 ** (-1 / alpha_n)` gives 3.99).
# 2. Fitted on 5 runs, the Kaplan-style slice misses the largest run by −29.7 % (power law) and
#    −18.4 % (with offset), against −4.0 % and +4.1 % on the tuned slice. A long warm-up and an
#    untuned learning rate cost short runs proportionally more, so the small runs sit too high and
#    the fitted slope is too steep: the law then promises large runs far lower losses than they
#    reach. This is one of the discrepancies Porian et al. (2024) resolve.
# 3. $\hat E$ falls from 3.37 (3 runs) to 1.66 (11 runs), while $\alpha$ falls from 0.255 to 0.091.
#    $E$ and $\alpha$ trade off: a higher floor with a steeper approach fits small runs almost as
#    well as a lower floor with a shallower one. An "irreducible loss" fitted on a small sweep is
#    mostly a statement about the sweep.
# 4. They agree within 0.02 at every $d$ (1.49/1.50, 0.80/0.81, 0.51/0.52): the duality Bahri et
#    al. describe, where data and features play symmetric roles because both resolve the same
#    kernel spectrum. If one resource is far cheaper than the other, this says how much of the
#    cheap one buys the same loss.
# </details>
#
# **Sources.** Kaplan et al. 2020, *Scaling Laws for Neural Language Models* (arXiv:2001.08361);
# Henighan et al. 2020, *Scaling Laws for Autoregressive Generative Modeling* (arXiv:2010.14701);
# Bahri et al. 2021, *Explaining Neural Scaling Laws* (arXiv:2102.06701); Liu, Liu and Gore 2025,
# *Superposition Yields Robust Neural Scaling* (arXiv:2505.10465);
# Porian et al. 2024, *Resolving Discrepancies in Compute-Optimal Scaling of Language Models*
# (arXiv:2406.19146); Gadre et al. 2024, *Language models scale reliably with over-training and on
# downstream tasks* (arXiv:2403.08540). BibTeX is written next to every export.
