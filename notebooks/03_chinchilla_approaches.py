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
# # 03 · Chinchilla's three approaches, and why published fits disagree
#
# Hoffmann et al. (2022) asked: for a training budget $C \approx 6ND$ FLOPs, how large should
# the model be? They answered three ways.
#
# 1. **Envelope of training curves.** Train each model size to several horizons; at every
#    compute, keep the lowest loss any run reached. The size that wins at $C$ is
#    $N_\text{opt}(C)$.
# 2. **IsoFLOP profiles.** At fixed $C$, train several sizes; fit a parabola in $\log N$ through
#    their losses; its vertex is $N_\text{opt}(C)$.
# 3. **Parametric fit.** Fit $L(N, D) = E + A/N^{\alpha} + B/D^{\beta}$ to every run, then
#    minimise it along $C = 6ND$:
#
# $$N_\text{opt}(C) = G \left(\frac{C}{6}\right)^{a},\qquad a = \frac{\beta}{\alpha+\beta},\qquad
#   G = \left(\frac{\alpha A}{\beta B}\right)^{1/(\alpha+\beta)}.$$
#
# Each approach ends with $N_\text{opt} \propto C^{a}$. Hoffmann et al. reported $a = 0.50$, $0.49$
# and $0.46$ (their Table 2) and read them as agreement. This notebook shows why that agreement
# is fragile:
#
# * **Part 1** refits Approach 3 on the very points of Hoffmann's Figure 4 (Besiroglu et al.
#   2024) and shows how rounding, the scaling of the objective and early stopping change the
#   answer;
# * **Part 2** runs all three approaches on the *same* runs with a compute-budget slider;
# * **Width and depth** asks what a law in $N$ and $D$ cannot: which *shape* a model of $N$
#   parameters should have, and whether a grouping of runs matters at all.

# %%
import polars as pl

from workbench.course import chinchilla_approaches as course
from workbench.course.references import cite
from workbench.course.style import show
from workbench.viz.offline import enable_offline_charts

enable_offline_charts()  # charts render without a CDN (Binder, CI, a train)
_ = pl.Config.set_tbl_width_chars(200)
_ = pl.Config.set_tbl_cols(16)
_ = pl.Config.set_fmt_str_lengths(70)

# %% [markdown]
# ## Part 1 · Same points, different constants
# Besiroglu et al. (2024) recovered 245 runs from the vector graphics of Hoffmann et al.'s
# Figure 4 and, like them, fit the 240 with the lowest losses. Below, every set of constants is
# scored on those 240 points with the same objective (the sum of Huber losses, $\delta = 10^{-3}$,
# of log residuals; lower is better) and asked the same question: how large a model, and how many
# tokens per parameter, at Gopher's budget $C = 5.76 \times 10^{23}$ FLOPs?
#
# The last three rows rerun Hoffmann's procedure: L-BFGS-B with scipy's default tolerances from
# the 4 best of Hoffmann's 4,500 starting points (ranked by their objective; only 4 to keep this
# notebook fast, Exercise 3 uses more), once on the summed objective and once on the *averaged*
# one, and once from Hoffmann's own unrounded values (the digits of the paper's TeX source).

# %%
print(cite("chinchilla_epoch"))
table = course.replication_table(starts=4)
table

# %% [markdown]
# Three lessons, each visible in a row of the table:
#
# * **Rounding.** The paper's body rounds $\beta = 0.2849$ to $0.28$. That moves $a$ from 0.457 to
#   0.452, the advice at Gopher's budget from 59 to 93 tokens per parameter, and multiplies the
#   objective by 3.3. An exponent sits in an exponent: two significant figures are not enough.
# * **Objective scaling.** Averaging the Huber terms instead of summing them divides every gradient
#   by 240. L-BFGS-B's default stopping rules are absolute, so on the averaged objective it stops
#   early, wherever it happens to be: from the same starts it ends eight times worse than the
#   summed run, which reaches the refit (Epoch's diagnosis of the published fit).
# * **Early stopping.** Even on the summed objective, L-BFGS-B started at Hoffmann's unrounded
#   values barely moves: the valley is flat along the ridge where $E$, $A$ and $B$ trade off, so
#   "the optimiser converged" is no proof of an optimum. The workbench's engine solves $E$, $A$,
#   $B$ exactly for every $(\alpha, \beta)$ and polishes to tight tolerances, so it lands on the
#   optimum and agrees with Besiroglu et al.

# %%
rows = {r["constants"]: r for r in table.iter_rows(named=True)}
fit_row = rows["workbench fit (summed Huber, global)"]
for name, r in rows.items():
    ratio = r["objective (240 pts)"] / fit_row["objective (240 pts)"]
    print(f"{name:60s} objective × {ratio:.2f} of the optimum")

# %% [markdown]
# The figure puts the four sets of constants side by side (Hoffmann's printed and unrounded
# values, Besiroglu et al.'s refit, the workbench's refit): their
# compute-optimal frontiers (left; the square is Chinchilla itself, 70B parameters on 1.4T
# tokens) and their errors on the 240 runs (right). The rounded constants over-predict almost
# every run.

# %%
replication = course.chinchilla_replication_figure()
show(replication.chart)

# %% [markdown]
# ## Part 2 · Three approaches, same runs
# Now run all three approaches on one set of runs at a time:
#
# * the **(Mis)Fitting** runs of Li et al. (2025): eleven model sizes on C4, each trained to
#   several horizons with several peak learning rates (we keep the best per size and horizon).
#   Approach 2 uses Open-Athena's isoFLOP interpolation of the same runs;
# * **Porian et al. (2024)**, RefinedWeb, once with tuned hyper-parameters and once with a
#   Kaplan-style set-up (long warm-up, untuned): isoFLOP grids of final losses.

# %%
for source in ("misfitting", "open_athena_isoflops", "porian_discrepancies"):
    print(cite(source))
summary = course.approaches_summary(budget=1e21)
summary

# %% [markdown]
# Approach 1 can only pick sizes that were trained. Where the envelope sits at the smallest or
# the largest size, it is pinned to the edge of the grid, not to an optimum (the flat run of green
# points at the left of the chart below):

# %%
pl.DataFrame([course.approach1_edges("misfitting")])

# %% [markdown]
# Approach 1 also depends on *which* checkpoints you take. Intermediate checkpoints of a long run
# were taken before its learning rate had decayed, so they sit above the loss a run of that
# length would reach (which is why Hoffmann et al. decayed each run over its own horizon). An
# envelope built from every checkpoint gives a different exponent than one built from final
# checkpoints:

# %%
variants = course.misfitting_approach1_variants()
pl.DataFrame({"envelope built from": list(variants), "exponent a": list(variants.values())})

# %% [markdown]
# ## Explore
# * **compute budget C** moves the red line: the diamonds are each approach's $N_\text{opt}(C)$,
#   the right panel the tokens per parameter $D/N = C/(6N^2)$ each one recommends. The grey band
#   is the compute range of the runs; everything outside it is an extrapolation.
# * The blue band is Approach 3's 95 % bootstrap interval (200 refits on resampled runs).
#   Approaches 1 and 2 have intervals too; the table above gives their points.
# * **runs** switches data sets. **Export figure** writes PNG, SVG, PDF, the tables and BibTeX.

# %%
explorer = course.ApproachesExplorer(export_dir="exports")
explorer.widget

# %% [markdown]
# ## Exercises
# 1. Switch **runs** to Porian et al.'s tuned RefinedWeb runs. Do the three approaches agree? Now
#    take the Kaplan-style set-up. Which approaches move, and towards what?
# 2. On the (Mis)Fitting runs, Approach 3's 95 % interval for $a$ excludes Approach 2's value. How
#    can a fit be so confident and so different? Look at the fitted $\alpha$ and $\beta$ (in the
#    explorer's exported `summary` table) and at the range of $N$ in the runs. Then refit with
#    non-embedding parameter counts: `course.misfitting_finals()` has a `params_non_embedding`
#    column.
# 3. Rerun the objective-scaling experiment with more starts: `course.lbfgs_replication(30)`. Does
#    the averaged objective now reach the optimum?
#
# <details><summary>Solutions (click to open)</summary>
#
# 1. Tuned: $a = 0.50$, $0.51$ and $0.53$, and at $10^{21}$ FLOPs the three $N_\text{opt}$ agree
#    within a factor of 1.1 (16 to 20 tokens per parameter). Kaplan-style: $a = 0.68$, $0.78$ and
#    $0.56$. Approaches 1 and 2 read the optimum off each budget directly, so a set-up that hurts
#    short runs moves the small-budget optima and tilts their exponents towards Kaplan's 0.73;
#    Approach 3 pools the whole grid through one law and lands elsewhere. When the runs are
#    well tuned, the method matters little; when they are not, no method rescues them.
# 2. The fit has $\alpha \approx 0.14$ and $\beta \approx 0.67$: over these runs the loss depends
#    far more on tokens than on parameters, and the sizes span only 1.3 decades (57M to 1.2B, of
#    which 21 % to 85 % are non-embedding). The bootstrap measures how much the fit moves when
#    runs are resampled, not whether the law's form is right, so it can be narrow and wrong.
#    Counting non-embedding parameters makes it worse: $E$ collapses to about 0, $\alpha \approx
#    0.05$ and $a \approx 0.93$. The (Mis)Fitting survey is about exactly such choices.
# 3. No: with 30 starts the averaged run ends at $E \approx 1.63$, $A \approx 549$, $B \approx 160$,
#    $\alpha \approx 0.356$, $\beta \approx 0.238$, objective 0.00135 (32 % above the optimum). Where
#    an early-stopped optimiser ends depends on where it starts.
# </details>
#
# **Sources.** Hoffmann et al. 2022 (arXiv:2203.15556); Besiroglu, Erdil, Barnett, You 2024
# (arXiv:2404.10102); Li, Kudugunta, Zettlemoyer 2025, *(Mis)Fitting: A Survey of Scaling Laws*
# (arXiv:2502.18969); Open-Athena, *scaling-law-analysis* (isoFLOP compilation, GitHub);
# Porian et al. 2024 (arXiv:2406.19146); Kaplan et al. 2020 (arXiv:2001.08361). BibTeX is
# written next to every export.

# %% [markdown]
# ## Width and depth
# Every law so far sees a model only through its parameter count $N$. McLeish et al. (2025,
# *Gemstones: A Model Suite for Multi-Faceted Scaling Laws*, arXiv:2502.06857) trained
# Gemma-style models of many widths $w$ (the model dimension) and depths $d$ (layers), up to
# about 2B parameters on Dolma, and fitted a law with a term for each:
#
# $$L(w, d, N, D) = E + \frac{A_w}{w^{\alpha_w}} + \frac{A_d}{d^{\alpha_d}}
#   + \frac{A_N}{N^{\alpha_N}} + \frac{A_D}{D^{\alpha_D}}.$$
#
# At a fixed $N$ a wider model is shallower: the width term falls and the depth term rises, so
# every size has a best aspect ratio $w/d$. The workbench's `gemstones` law carries five sets
# of constants, the fits the authors' code ships for five selections of checkpoints (all of
# them, up to 100B tokens, beyond 120B, after learning-rate cool-downs, at half the learning
# rate). They are **authors' code**, not constants printed in the paper, which could not be
# checked here (`docs/provenance.md`).
#
# * **parameters N** and **tokens D**: the model size and data. Left: every fit's loss above
#   its own best shape, against $w/d$ (dots: each fit's best; the ring: yours).
# * **your width / depth**: your shape; its width and depth are solved so that it has $N$
#   parameters (`workbench.laws.gemstones.params_of_shape` counts a Gemstones-style model).
# * **authors' fit to**: which selection of checkpoints; right, each fit's best $w/d$ against
#   $N$ (grey: about the suite's sizes).
# * **Export figure** writes PNG, SVG, PDF, the CSV tables and the BibTeX into `exports/`.
#
# *What the law shows and cannot show:* that at one size and data the shape moves the loss by
# a few hundredths of a nat, and that the best shape depends on which checkpoints were fitted;
# it cannot say why a shape wins, whether the fit holds beyond the suite's models and recipe,
# or what a shape costs in speed (a deeper model of the same $N$ is slower per token).

# %%
from workbench.course import width_depth

shapes = width_depth.WidthDepthExplorer(export_dir="exports")
shapes.widget

# %% [markdown]
# **Does the grouping matter at all?** Before asking whether groups of runs share their
# exponents (notebook 04 does, for training sets), ask whether they differ at all:
# `pooled_vs_separate` fits one law to every run, groups ignored, and one law per group, and
# compares the nested models by AIC and an F-test (least squares on log losses, so both are
# valid). Below, 80 synthetic runs drawn from the all-checkpoints fit with 0.5 % noise:
# *shallow* models (4 to 12 layers) and *deep* ones (24 to 64), all widths. A law in $N$ and $D$
# alone cannot put both families on one curve; the width-depth law can. (`fit --per-group
# family` on the command line reports this test as `grouping`, beside the exponent test.)

# %%
width_depth.grouping_table()

# %% [markdown]
# ### Exercises (width and depth)
# 1. At $N = 10^9$ and $D = 10^{11}$, with the all-checkpoints fit: what does a model only 4
#    times wider than deep ($w/d = 4$) lose against the best shape, and one 128 times wider?
#    Now move **tokens D** over its whole range. Does the best shape move? Why?
# 2. On the right panel, how far does each fit's best $w/d$ move between $10^8$ and
#    $10^{10}$ parameters? What does the spread at $10^{10}$ say about a prescription
#    extrapolated from this suite?
# 3. Rerun the grouping test with noisier runs: `width_depth.grouping_table(noise=0.02)`, then
#    0.03 and 0.05. When does the law in $N$ and $D$ stop being rejected, and what does that
#    tell you about "the groups do not differ" as a finding?
#
# <details><summary>Solutions (click to open)</summary>
#
# 1. The best shape is $w/d \approx 28$ (width about 1,180, depth about 42). $w/d = 4$ costs
#    0.029 nats and $w/d = 128$ costs 0.025. The best shape does not move with $D$: tokens enter
#    the law only through their own term $A_D/D^{\alpha_D}$, which no shape changes, so at a
#    fixed $N$ the best shape is the same for every $D$ (the right panel does not move either).
# 2. The all-checkpoints fit's best $w/d$ rises from about 10 at $10^8$ to 53 at $10^{10}$;
#    the beyond-120B fit reaches 61, the cool-down fit only 32.
#    Inside the suite's sizes the five fits' best ratios differ by at most 1.4×; at $10^{10}$,
#    five times the largest model, by 1.9× (32 to 61). The prescription depends on which
#    checkpoints were fitted, the paper's warning about scaling-law prescriptions.
# 3. With seed 0: at 2 % noise the Chinchilla law is still rejected ($p = 0.002$), at 3 % it is
#    not ($p = 0.07$), at 5 % AIC prefers pooling ($p = 0.48$); the width-depth law is never
#    rejected ($p \ge 0.91$). Not rejecting pooling means the data cannot tell the groups
#    apart at that noise, not that they are the same.
# </details>
#
# **Sources.** McLeish, Kirchenbauer, Miller, Singh, Bhatele, Goldblum, Panda, Goldstein 2025
# (arXiv:2502.06857); the constants are from the authors' repository
# `mcleish7/gemstone-scaling-laws` at a pinned commit (`docs/provenance.md`). BibTeX is
# written next to every export.
