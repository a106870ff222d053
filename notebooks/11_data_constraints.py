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
# # 11 · When data runs out: repeated epochs, and beating power laws by pruning
#
# Chinchilla's recipe asks for about 20 tokens per parameter; at some scale there are not
# enough unique tokens. What is a *repeated* token worth? Muennighoff et al. (2023,
# arXiv:2305.16264) trained about 400 models on repeated subsets of C4 and kept the Chinchilla
# form, replacing tokens and parameters by *effective* ones:
#
# $$L(N, D, U_D) = E + \frac{A}{N'^{\alpha}} + \frac{B}{D'^{\beta}},\qquad
#   D' = U_D + U_D R_D^*\left(1 - e^{-R_D/R_D^*}\right),$$
#
# where $U_D$ is the number of unique tokens, $R_D = D/U_D - 1$ the number of *repeated*
# epochs, and $R_D^*$ a fitted constant. Why this shape: the $k$-th repetition is worth
# $e^{-(k-1)/R_D^*}$ of a fresh epoch, so the first few repeats are almost as good as new data
# and the total value saturates at $U_D (1 + R_D^*)$. Parameters beyond the size that is
# compute-optimal for $U_D$ decay the same way (with $R_N^*$).
#
# The constants are the parametric fit in the authors' repository README
# (`huggingface/datablations` at commit 0c76502), not numbers printed in the paper; this
# notebook first checks them against the README's own example losses.

# %%
import altair as alt
import numpy as np
import polars as pl

from workbench.course.data_constraints import (
    MUENNIGHOFF,
    DataConstrainedExplorer,
    allocation_chart,
    constrained_allocation_table,
    pruning_toy_chart,
    pruning_toy_tables,
    repetition_value,
)
from workbench.laws import get_law
from workbench.viz.offline import enable_offline_charts

enable_offline_charts()  # charts render without a CDN (Binder, CI, a train)
law = get_law("data_constrained")
pl.DataFrame({"constant": list(MUENNIGHOFF), "value": list(MUENNIGHOFF.values())})

# %% [markdown]
# The README gives two example losses; the law in the workbench reproduces them:

# %%
checks = [(6.34e9, 242e9, 25e9, 2.2256440889984477), (8.67e9, 178e9, 25e9, 2.2269634075087867)]
pl.DataFrame(
    [
        {
            "N": n,
            "D": d,
            "U_D": u,
            "README": ref,
            "workbench": float(
                law.predict(
                    {
                        "params": np.array([n]),
                        "tokens": np.array([d]),
                        "unique_tokens": np.array([u]),
                    },
                    MUENNIGHOFF,
                )[0]
            ),
        }
        for n, d, u, ref in checks
    ]
)

# %% [markdown]
# ## What a repeated epoch is worth
# $D'/U_D$ in "epochs of fresh data", for a run that sees the unique data $D/U_D$ times:

# %%
epochs = np.array([1, 2, 4, 8, 16, 40, 100, 1000], dtype=float)
worth = repetition_value(epochs)
pl.DataFrame(
    {"epochs": epochs, "worth (fresh epochs)": worth, "share of fresh value": worth / epochs}
)

# %% [markdown]
# Four epochs are worth about 3.7 fresh ones — which is why the paper reports that up to
# about four epochs of repetition barely change the loss. But the total can never exceed
# $1 + R_D^* \approx 16.4$ fresh epochs: 40 passes already bring 15.2 of them, so further
# passes are worth almost nothing.
#
# ## Explore
# * **unique tokens $U_D$** — how much unique data you have.
# * **epochs $D/U_D$** — how many passes you make over it (the red diamond, left: what they are
#   worth; right: the predicted loss with repetition, the grey diamond the same number of
#   *fresh* tokens).
# * **parameters $N$** — the model size (fixed along the right panel).
# * **Export figure** writes PNG, SVG, PDF, the CSV tables and the BibTeX into `exports/`.

# %%
explorer = DataConstrainedExplorer(export_dir="exports")
explorer.widget

# %% [markdown]
# ## Spending more compute on the same data
# With $U_D = 25$ B unique tokens, how should a growing compute budget $C = 6ND$ be split? The
# workbench minimises the law along each iso-FLOP line (`optimal_allocation`), with the data
# constraint and without it. The README's own example, $C = 10^{22}$, asks for
# $7.02 \times 10^9$ parameters and $2.373 \times 10^{11}$ tokens (9.49 epochs):

# %%
table = constrained_allocation_table()
table

# %%
# a widget, so it renders offline like the explorers
alt.JupyterChart(allocation_chart(table, 25e9))

# %% [markdown]
# Below about $10^{21}$ FLOPs the optimum needs at most a few epochs and the two curves agree;
# beyond, the constrained optimum repeats more and more and its loss flattens towards a floor
# set by $U_D (1 + R_D^*)$ effective tokens.
#
# ## Beyond power laws: data pruning (a theory illustration)
# Repetition asks what *extra* passes are worth. Sorscher et al. (2022, arXiv:2206.14486) ask
# the opposite: if you keep only the most useful examples, can the error fall *faster* than a
# power law in the number of examples kept? Their teacher–student perceptron theory says yes
# — exponentially, with a good enough pruning metric — and that the gain depends on the
# metric's quality. The figure below is **not** their theory and **not data**: it is a
# one-dimensional toy with closed forms that shows the same mechanism.
#
# A learner places a threshold between labelled points on $[0, 1]$. With $P$ random points the
# interval that still contains the true boundary has expected length $2/(P+2)$: error
# $\propto 1/P$, a power law, because most random points are far from the boundary and
# teach nothing new. A metric that keeps the point at the current midpoint (the hardest
# example) halves the interval every time: error $\propto 2^{-P}$. A metric of finite
# resolution $\delta$ can do that only until the interval is about $\delta$ wide; after
# that its choices are as good as random, and the power law returns.

# %%
toy = pruning_toy_tables()
alt.JupyterChart(pruning_toy_chart(toy))

# %% [markdown]
# ## Data pruning, measured: the perceptron experiment
# Now the paper's own setting, run by the workbench: a random teacher perceptron in $d = 100$
# dimensions labels Gaussian inputs, and a student (the maximum-margin perceptron, solved
# exactly) learns from $P = \alpha_{tot} d$ examples, or from the fraction $f$ of them that a
# margin metric calls easiest or hardest. Test error is the angle between teacher and student
# over $\pi$, exact. The rows are the `pruning` preset's shipped runs (45 s to make again:
# `python -m workbench sweep --preset pruning --out runs/pruning`; its pre-registered checks:
# `python -m workbench sweep --preset pruning --verify datasets/proxies/pruning.csv`).
#
# * **pruning metric**: a cheap probe (the Hebbian student $\sum_i y_i x_i$) or the teacher's own
#   margin (a perfect metric).
# * **kept fraction f** and **data before pruning $\alpha_{tot}$** pick the students circled on
#   the left: keep-easy, keep-hard and random subsets of the same size.
# * Right: the best pruning at each number of examples seen (over all kept fractions) against no
#   pruning, each with a power-law fit, and an exponential fit of the pruned frontier.
#
# *What the toy shows and cannot show:* the mechanism (which examples are worth keeping depends
# on how much data you have, and a good metric turns a power law into something steeper) in a
# model solvable exactly; not whether a cheap metric exists for a large language model's data.

# %%
from workbench.course.pruning import PruningExplorer

pruning = PruningExplorer(export_dir="exports")
pruning.widget

# %%
pruning.shown_tables["exponents"]

# %% [markdown]
# With the probe's margin the pruned frontier's power-law exponent is about twice the unpruned
# one, and an exponential describes it better than a power law (the AIC difference above); with
# the perfect metric the frontier drops off a cliff near $\alpha_{prune} \approx 2$ and is
# neither (the preset's README reports this rather than a check).

# %% [markdown]
# ## Exercises
# 1. In the explorer, set $U_D = 10^{10}$ and $N = 10^9$. How much higher is the predicted loss
#    at 4 epochs than with the same number of fresh tokens? And at 40?
# 2. From the allocation table: at $C = 10^{24}$, how many epochs does the constrained optimum
#    make, and how much worse is its loss than with unlimited data? Why does the optimum still
#    repeat so much rather than grow the model?
# 3. In the pruning toy, what limits the exponential phase, and what does that say about
#    pruning with a cheap, noisy metric?
# 4. In the perceptron explorer, keep $f = 1/4$ by the probe's margin. Find the data size at
#    which keeping the hard examples starts to beat keeping the easy ones. Does it move with
#    $f = 1/16$?
#
# <details><summary>Solutions (click to open)</summary>
#
# 1. Run `law.predict({"params": np.array([1e9]), "tokens": np.array([4e10]), "unique_tokens": np.array([1e10])}, MUENNIGHOFF)`
#    and compare with `unique_tokens = tokens`: 2.5017 vs 2.4895 at 4 epochs (0.012 nats),
#    2.3930 vs 2.3386 at 40 epochs (0.054 nats). The first few repeats are nearly free;
#    many are not.
# 2. 120 epochs, loss 2.156 vs 2.011 with unlimited data (0.145 nats worse). Parameters
#    beyond the size that is optimal for the unique data also lose value ($R_N^* \approx 5.3$,
#    smaller than $R_D^* \approx 15.4$), so excess parameters decay faster than excess epochs
#    and the optimum leans on repetition.
# 3. The metric's resolution $\delta$: once the remaining uncertainty is smaller than what the
#    metric can resolve, its "hard" examples are no better than random ones. Sorscher et al.
#    make the same point with metric quality: a poor metric, pruned aggressively, can be worse
#    than no pruning at all, and most cheap metrics they benchmarked did not scale to ImageNet.
# 4. Step the data slider up: keep-hard overtakes keep-easy between $\alpha_{tot} = 8$ and
#    $11.3$ at $f = 1/4$ (`pruning.shown_tables["curves"]` lists both errors at every size).
#    At $f = 1/16$ the crossing moves to between 64 and 90.5: the smaller the kept fraction,
#    the more data you need before the hardest examples are the useful ones, as the paper's
#    theory predicts.
# </details>
#
# ## References
# * Muennighoff, Rush, Barak, Le Scao, Piktus, Tazi, Pyysalo, Wolf, Raffel 2023, *Scaling
#   Data-Constrained Language Models*, arXiv:2305.16264 (NeurIPS 2023); constants from
#   github.com/huggingface/datablations (README, "Parametric Fit").
# * Sorscher, Geirhos, Shekhar, Ganguli, Morcos 2022, *Beyond neural scaling laws: beating power
#   law scaling via data pruning*, arXiv:2206.14486 (NeurIPS 2022): the idea of the toy, and the
#   perceptron setting the `pruning` preset runs (its numbers are the workbench's own runs, not
#   the paper's).
