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
# # 09 · Train your own proxies
#
# Published scaling data have one flaw for a student: you cannot check them against the truth.
# The irreducible loss $E$ of a language model is the entropy rate of natural language, which
# nobody knows. The workbench's **proxies** fix that: tiny GPTs trained on a synthetic source
# whose entropy rate is known *exactly* — an order-1 Markov chain over 256 symbols whose rows are
# permutations of one Zipf law. No model can beat that rate, and a big enough, well enough trained
# model approaches it. So when we fit
#
# $$L(N) = E + A\,N^{-\alpha}$$
#
# (Henighan et al. 2020, arXiv:2010.14701: a power law plus a constant, with $E$ the entropy of
# the true distribution) to the final losses of models of several sizes, the fitted $E$ can be
# compared with the truth. That is a test of the *fitting method*, not of a model.
#
# The notebook uses shipped results by default (preset `quick`: GPT widths 32–192, 1M tokens
# each), so it runs in seconds. A **train now** switch trains a tiny sweep on your machine, with a
# progress bar, and refits as each run finishes. It is off by default, so running the notebook
# headless never trains.

# %%
import math

import polars as pl
from IPython.display import display

from workbench.course import proxies as course
from workbench.course.inputs import proxy_missing_message
from workbench.proxies.corpora import get_corpus
from workbench.proxies.results import final_losses
from workbench.viz.offline import enable_offline_charts

enable_offline_charts()  # charts render without a CDN (Binder, CI, a train)

# %% [markdown]
# ## The synthetic corpus and its entropy rate

# %%
zipf = get_corpus("zipf")
print(zipf.info.description)
print(
    f"exact entropy rate H = {zipf.info.entropy_rate:.6f} nats per symbol "
    f"(uniform over 256 symbols would be {math.log(256):.4f})"
)

# %% [markdown]
# ## The shipped runs
# One row per model size: final validation loss of the seed-0 run. (The preset also repeats the
# smallest model with two more seeds, to show the seed noise.)

# %%
shipped = course.proxy_results("quick")
if shipped is None:
    print(proxy_missing_message("quick"))
    print("The explorer below starts empty; switch on 'train now' to make your own runs.")
else:
    points = course.proxy_points(shipped, "shipped")
    display(points)
    w32 = final_losses(shipped).filter(pl.col("width") == 32)
    sd = w32["loss"].std()
    print(f"seed noise at width 32: {w32.height} runs, loss standard deviation {sd:.4f} nats")

# %% [markdown]
# ## The fit, with the same engine as every published law
# `power_offset_params` is the same declaration the engine fits to Kaplan-style data; the
# bootstrap resamples the model sizes. The question is simple: does the interval of $E$ contain
# the exact $H$?

# %%
if shipped is not None:
    fit = course.proxy_fit(points)
    e_lo, e_hi = fit.ci["E"]
    h = zipf.info.entropy_rate
    print(f"E = {fit.params['E']:.4f} ({e_lo:.4f}–{e_hi:.4f}); exact H = {h:.4f}")
    print(fit.caution() or "no constant at a bound, none poorly identified")
    display(fit.table())

# %% [markdown]
# ## Explore
# * **sizes fitted** (the first slider) chooses which model sizes the law is fitted on (grey
#   band; excluded sizes turn grey). Fit only the small models and watch $E$ and its interval: the
#   fewer decades of $N$, the less the data can tell a floor from a slow power law.
# * **fit on** switches between the shipped runs and the runs you train now.
# * **train now** trains six GPTs (widths 16–96, depth 2, 524,288 tokens each) on the zipf corpus
#   through `workbench.proxies.sweep.run_sweep`: one worker process per core, a progress bar,
#   each run saved to `exports/proxy-runs/` the moment it finishes (switch it on again and the
#   finished runs are loaded, not retrained). The fit and chart update as the runs arrive. On two
#   busy cores it took about two minutes.
# * **Export figure** writes the figure, its tables and the BibTeX into `exports/`.

# %%
explorer = course.ProxyExplorer(export_dir="exports")
explorer.widget

# %% [markdown]
# ## How much of the range do you need?
# Fit every window of at least four consecutive sizes and compare $E$ with the truth:

# %%
if shipped is not None:
    rows = []
    for i in range(points.height):
        for j in range(i + 4, points.height + 1):
            part = points.slice(i, j - i)
            f = course.proxy_fit(part)
            rows.append(
                {
                    "smallest N": part["params"][0],
                    "largest N": part["params"][-1],
                    "sizes": part.height,
                    "E": f.params["E"],
                    "E low": f.ci["E"][0],
                    "E high": f.ci["E"][1],
                    "E/H - 1 (%)": 100 * (f.params["E"] / zipf.info.entropy_rate - 1),
                    "H inside CI": f.ci["E"][0] <= zipf.info.entropy_rate <= f.ci["E"][1],
                }
            )
    display(pl.DataFrame(rows))
else:
    print(proxy_missing_message("quick"))

# %% [markdown]
# ## What the runs you train now will show
# The train-now runs see half the tokens of the shipped ones and are smaller, so they are further
# from convergence; their fitted $E$ absorbs whatever the data term still contributes. When we ran
# it on this machine the six runs gave $E = 3.664$ (95 % CI 3.31–3.76) against $H = 3.667$: right
# on average, but an interval ten times wider than the difference — six small models cannot pin the
# floor tightly. Training is deterministic on a CPU, so you should see the same numbers.
#
# ## Exercises
# 1. Fit only the four smallest shipped sizes (slider, or the table above). Compare $E$ and its
#    interval with the fit on all six. What do the two largest models contribute?
# 2. Why does the fit use non-embedding parameters? What would change with total parameters for
#    these tiny models (the embedding of 256 symbols is a large share of a width-32 model)?
# 3. Switch on **train now**. While it runs, watch the fit change as runs arrive. After it
#    finishes, switch it on again: what happens, and why is that useful on a shared machine?
#
# <details><summary>Solutions (click to open)</summary>
#
# 1. With the shipped runs the point estimate hardly moves (3.670 from the four smallest sizes,
#    3.677 from all six, against $H = 3.667$), but the 95 % interval widens from 3.63–3.73 to
#    3.45–3.75: its lower end drops by about 0.2 nats. A short, still-steep stretch of the curve
#    cannot tell a floor near 3.67 from a lower floor approached by a slower power law; the largest
#    models, closest to the floor, are what pin it down. Report the interval, not the point.
# 2. Kaplan et al. (2020) found cleaner laws without embedding parameters: embeddings add
#    parameters without adding depth of computation. For a width-32 model the embedding (256 × 32
#    input, plus the output layer if untied) is a large share of all weights, so total counts would
#    bend the curve at the small end and change $\alpha$.
# 3. The sweep finds the finished runs in `exports/proxy-runs/runs/` (keyed by the hash of their
#    configuration and code version) and loads them instead of training: a killed or interrupted
#    sweep resumes where it stopped, and repeated runs cost nothing.
# </details>
#
# ## References
# Henighan et al. 2020, Scaling Laws for Autoregressive Generative Modeling (arXiv:2010.14701);
# Kaplan et al. 2020, Scaling Laws for Neural Language Models (arXiv:2001.08361). The proxies are
# the workbench's own (`workbench.proxies`; results licensed CC0-1.0).
