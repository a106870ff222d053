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
# # 10 · Learning-rate schedules and the annealing law
#
# Chinchilla-style laws describe the loss at the *end* of training. Tissue, Wang and Wang
# (2024, arXiv:2408.11029) describe the whole loss curve, for any learning-rate schedule,
# with two functionals of the schedule:
#
# $$L(s) = L_0 + A\,S_1^{-\alpha} - C\,S_2 .$$
#
# * $S_1(s) = \sum_{i \le s} \eta_i$, the **forward area** under the learning-rate curve: how
#   far the optimiser has travelled. More area, lower loss, with diminishing returns
#   ($\alpha$).
# * $S_2(s)$, the **annealing area**: the extra drop that *decreasing* the rate buys (the
#   noise of SGD shrinks). With $m_i = \lambda m_{i-1} + (\eta_{i-1} - \eta_i)$ and
#   $S_2 = \sum_{i \le s} m_i$, a drop in the rate keeps paying off for a while
#   ($\lambda \approx 0.999$).
#
# Why it matters: the two terms pull in opposite directions. Decaying early buys annealing
# area but gives up forward area, so the law predicts an *optimal* schedule, and it can be
# fitted on one or two curves and asked about any other schedule, instead of training every
# candidate.
#
# Honesty notes. The form is in the paper's abstract; the momentum definition of $S_2$ above
# could not be checked against Sec. 3 of the paper (it agrees with how the paper's reviewers
# describe it), and the paper's fitted constants were not retrieved, so the workbench has no published preset for this law.
# Everything below is fitted here.

# %%
import polars as pl
from IPython.display import display

from workbench.course.schedules import (
    ILLUSTRATIVE_TISSUE,
    PROXY_STEPS,
    PROXY_WARMUP,
    ScheduleExplorer,
    decay_sweep,
    make_schedule,
    preset_check,
    schedule_areas,
    schedule_curves,
    schedule_errors,
    schedule_fit,
    schedule_provenance_text,
)
from workbench.laws import get_law
from workbench.viz.offline import enable_offline_charts

enable_offline_charts()  # charts render without a CDN (Binder, CI, a train)
law = get_law("lr_annealing")
law.latex

# %% [markdown]
# ## The curves
# The workbench's proxy preset `schedule` trains the same small GPT four times, changing only
# the schedule: constant, cosine (to 10 % of the peak), and warmup–stable–decay (WSD) with a
# linear decay over the last 20 % or 10 % of the steps. If its results are shipped
# (`datasets/proxies/schedule.csv`) they are used; if not, the next cell says so loudly and the
# curves are **synthetic**, drawn from the law itself. Read the line it prints before you read
# anything into the numbers.

# %%
curves, provenance = schedule_curves()
print(schedule_provenance_text())
curves.group_by("schedule", maintain_order=True).agg(
    pl.len().alias("points"),
    pl.col("step").min().alias("first step"),
    pl.col("step").max().alias("last step"),
    pl.col("loss").last().alias("final loss"),
    pl.col("S1").last().alias("final S1"),
    pl.col("S2").last().alias("final S2"),
)

# %% [markdown]
# ## $S_1$ and $S_2$ of any schedule
# The areas are computed from the schedule alone (`workbench.laws.annealing.annealing_areas`).
# Warm-up raises the rate; only drops after warm-up count as annealing. Note how cosine trades
# forward area for annealing area, and WSD keeps most of the forward area and anneals at the end.

# %%
warm = int(round(PROXY_WARMUP * PROXY_STEPS))
rows = []
for name, kind, decay in [
    ("constant", "constant", 0.2),
    ("cosine", "cosine", 0.2),
    ("WSD, last 20 %", "wsd", 0.2),
]:
    lr = make_schedule(PROXY_STEPS, kind=kind, decay=decay)
    s1, s2 = schedule_areas(lr, warm)
    rows.append(
        {"schedule": name, "final LR": lr[-1], "S1 at the end": s1[-1], "S2 at the end": s2[-1]}
    )
pl.DataFrame(rows)

# %% [markdown]
# ## Fit on one curve, predict the others
# The fitting engine solves $L_0$, $A$ and $C$ exactly (they enter linearly) for every
# $\alpha$ and polishes the best. Fitted on the cosine curve only, how well does it predict the
# three curves it never saw?

# %%
fitted = schedule_fit("cosine")
display(fitted.table())
if provenance == "synthetic":
    drawn = ", ".join(f"{k} = {v}" for k, v in ILLUSTRATIVE_TISSUE.items())
    print(f"the synthetic curves were drawn with {drawn} (so this is a recovery test)")
schedule_errors("cosine")

# %% [markdown]
# Which curve you fit on matters. A cosine curve moves $S_1$ and $S_2$ together, so it cannot
# tell the forward term from the annealing term; a WSD curve has a stable phase *and* an anneal.
# The preset's own check was chosen on the width-64 curves above and then **pre-registered**
# (protocol and targets committed before the runs existed) and tested on held-out curves of a
# width-96 model with another seed: fit on WSD 20 %, $\lambda = 0.995$; every predicted curve
# within 0.038 nats on average and 0.05 nats at the end. The paper-default set-up (fit on
# cosine, $\lambda = 0.999$) is shown beside it.

# %%
check = preset_check()
check if check is not None else print(
    "the schedule preset's results are not shipped in this checkout"
)

# %% [markdown]
# ## Explore: design a schedule
# * **decay fraction** — the share of the steps over which your WSD schedule decays (red).
# * **final LR / peak** — where the decay ends; 1.0 means no decay at all.
# * **length × measured** — train longer than the measured runs: the law extrapolates in
#   $S_1$, and the sentence under the sliders says by how much.
# * **decay shape** — linear, cosine or $1-\sqrt{\cdot}$ decay.
# * **fit the law on** — refit on another measured curve. Try `constant`.
# * **Export figure** writes PNG, SVG, PDF, the CSV tables and the BibTeX into `exports/`.

# %%
explorer = ScheduleExplorer(export_dir="exports")
explorer.widget

# %% [markdown]
# ## What the law says about the decay fraction
# The law fitted on cosine, asked for the final loss of WSD schedules of the measured length
# that decay linearly to 10 % of the peak over different fractions of training:

# %%
sweep = decay_sweep()
sweep

# %%
best = sweep.sort("predicted final loss").row(0, named=True)
loss = best["predicted final loss"]
print(f"lowest predicted final loss at decay fraction {best['decay fraction']}: {loss:.4f}")

# %% [markdown]
# Decaying too little gives little annealing area; decaying too much gives up forward area.
# The optimum in between is a *prediction of the law* for this setup, not a universal
# constant, and with synthetic curves it only reflects the illustrative constants.
#
# ## Exercises
# 1. Set **fit the law on** to `constant`. What happens to the predictions, and why? What does
#    this tell you about which curves to fit such a law on?
# 2. Using the sweep above, where is the predicted optimum of the decay fraction? Move the
#    **decay fraction** slider around it: how flat is the optimum?
# 3. Set **length × measured** to 4. Why should you distrust the predicted loss more than at
#    1×, even though the curve looks smooth?
#
# <details><summary>Solutions (click to open)</summary>
#
# 1. A constant schedule never anneals: $S_2 = 0$ at every point, so the column multiplying $C$
#    is all zeros and $C$ is not identified — any value fits equally well, and the engine
#    returns an arbitrary one. Every prediction for a schedule that anneals is then
#    meaningless (the explorer warns in its sentence; `schedule_errors("constant")` shows
#    absurd errors). Fit on a curve that anneals (cosine or WSD), or on two curves together.
# 2. The cell above prints the minimum of the sweep. Around it the predicted final loss changes
#    by only a few thousandths of a nat over a wide range of fractions (with the synthetic
#    curves, from 0.2 to 0.6 it stays within 0.01 nats): the trade-off between
#    forward and annealing area is shallow, so the exact fraction matters less than decaying
#    at all (compare the constant schedule's final loss in the readout).
# 3. At 4× the forward area $S_1$ is far beyond anything fitted (the readout gives the
#    factor). The law's power-law term is then an extrapolation, and with a single fitted
#    curve there is no check on $\alpha$; a smooth curve says nothing about its own error.
# </details>
#
# ## References
# * Tissue, Wang, Wang 2024, *Scaling Law with Learning Rate Annealing*, arXiv:2408.11029.
# * The curves: this repository's proxy preset `schedule` (`python -m workbench sweep --preset schedule`),
#   or, when not shipped, synthetic curves from the law as labelled above.
