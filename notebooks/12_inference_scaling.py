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
# # 12 · Inference-time scaling: repeated sampling and the verifier's ceiling
#
# Scaling laws are usually about training compute. Brown et al. (2024, *Large Language
# Monkeys*, arXiv:2407.21787) scale *inference* compute instead: draw $k$ answers per problem
# and count a problem as solved if any of them is correct. This **coverage** grows smoothly
# over four orders of magnitude of $k$, and they model it as an exponentiated power law,
#
# $$c(k) = \exp\left(-a\,k^{-b}\right), \qquad\text{i.e.}\qquad -\log c(k) = a\,k^{-b}.$$
#
# Why a power law at all? Schaeffer et al. (2025) show it follows from the *distribution* of
# per-problem success rates: each problem alone is solved with probability $1-(1-p_i)^k$, which
# saturates exponentially fast, but a heavy tail of very hard problems (tiny $p_i$) keeps the
# average creeping up like a power law.
#
# Coverage assumes a **perfect verifier**: someone who recognises the correct answer among
# the $k$. Real verifiers (tests, reward models, judges) make mistakes, and then more samples
# stop helping. Stroebl, Kapoor and Narayanan (2024, *Inference Scaling fLaws: The Limits of
# LLM Resampling with Imperfect Verifiers*, arXiv:2411.17501) model exactly this: a verifier
# that accepts a wrong answer with some false-positive rate puts a ceiling on resampling that
# no compute budget can pass. This notebook
#
# 1. fits the law to Pythia models on MATH and checks how far it extrapolates in $k$,
# 2. computes what a verifier with a given recall and false-positive rate actually picks,
# 3. teaches Stroebl et al.'s two findings: weaker models make *more* false positives, and when
#    a false positive costs something the best number of samples is small.

# %%
import polars as pl
from IPython.display import display

from workbench import corpus
from workbench.analysis.repeated_sampling import (
    coverage_from_pass1,
    verifier_ceiling,
    verifier_success,
)
from workbench.course.inference_scaling import (
    MonkeysExplorer,
    coverage_fits_table,
    monkeys_data,
)
from workbench.laws import get_law
from workbench.viz.offline import enable_offline_charts

enable_offline_charts()  # charts render without a CDN (Binder, CI, a train)
law = get_law("monkeys_coverage")
law.latex

# %% [markdown]
# ## The data
# The `language_monkeys` source holds Brown et al.'s Pythia samples on 128 MATH problems with
# 10,000 samples per problem, processed per problem by Schaeffer et al. (2025): the mean
# coverage per model and $k$ (the curves Brown et al. plot), and every problem's pass@1.

# %%
source = corpus.get_source("language_monkeys")
print(source.citation)
for caveat in source.caveats:
    print(" -", caveat)
coverage, pass1 = monkeys_data()
coverage.group_by("model", maintain_order=True).agg(
    pl.col("params").first(),
    pl.len().alias("k values"),
    pl.col("k").max().alias("max k"),
    pl.col("coverage").first().alias("coverage at k=1"),
    pl.col("coverage").last().alias("coverage at k=10,000"),
)

# %% [markdown]
# ## Fit on small $k$, predict large $k$
# The engine fits $(a, b)$ on the measured coverage for $k \le 100$ only; how well does that
# predict the coverage at $k = 10{,}000$, a hundred times further?

# %%
coverage_fits_table(100)

# %% [markdown]
# Within about 0.03 for every model. Now fit on $k \le 1000$: more data, yet the prediction at
# 10,000 gets *worse* for several models (160M: off by 0.07). The log-log curvature of
# $-\log c$ is not exactly constant, so which range you fit decides the extrapolation; more
# points do not guarantee a better one.

# %%
coverage_fits_table(1000)

# %% [markdown]
# ## Explore
# * **fit on $k \le$** — the fitting range (red dashed line, left). Points beyond it are faded:
#   the law never saw them. Curves continue to $k = 10^6$, where nothing was measured.
# * **verifier recall** — the chance the verifier accepts a correct sample.
# * **false-positive rate** — the chance it accepts a wrong one.
# * **model (right panel)** — whose per-problem pass@1 the verifier curves use.
# * **Export figure** writes PNG, SVG, PDF, the CSV tables and the BibTeX into `exports/`.
#
# The right panel uses the closed forms in `workbench.analysis.repeated_sampling`: with
# per-problem success rate $p$, a sample is accepted with probability
# $q = r\,p + f\,(1-p)$ and an accepted sample is correct with probability $r p / q$ (the
# verifier's precision on that problem); picking one accepted sample at random succeeds with
# $(1-(1-q)^k)\,r p/q + (1-q)^k (1-r) p/(1-q)$, which tends to the precision as $k$ grows.

# %%
explorer = MonkeysExplorer(export_dir="exports")
explorer.widget

# %% [markdown]
# ## The verifier's ceiling, per model
# With a perfect verifier, coverage at $k = 10{,}000$; with recall 0.9 and a 1 % false-positive
# rate, the share of problems for which the verifier's pick is correct at the same $k$, and
# its limit as $k \to \infty$:

# %%
rows = []
for model in coverage["model"].unique(maintain_order=True):
    p = pass1.filter(pl.col("model") == model)["pass1"].to_numpy()
    rows.append(
        {
            "model": model,
            "mean pass@1": p.mean(),
            "solved at least once": (p > 0).mean(),
            "coverage k=10,000 (independent samples)": coverage_from_pass1(p, [1e4])[0],
            "verifier pick k=10,000": verifier_success(p, [1e4], 0.9, 0.01)[0],
            "ceiling (k → ∞)": verifier_ceiling(p, 0.9, 0.01),
        }
    )
pl.DataFrame(rows)

# %% [markdown]
# A 1 % false-positive rate sounds good, but these models solve a typical problem in far
# fewer than 1 % of samples (mean pass@1 of 0.02 or less), so among the accepted samples the
# wrong ones outnumber the right ones: pythia-2.8b reaches a ceiling of 0.34 against a
# coverage of 0.81. The rule: the false-positive rate has to be small compared to the
# per-problem success rate for repeated sampling to pay off.
#
# Two smaller points. The "independent samples" coverage $1-(1-p)^k$ is a little below the
# stored coverage at $k = 10{,}000$ (0.796 vs 0.8125 for pythia-2.8b): with exactly 10,000
# samples the unbiased estimator counts a problem solved once as solved, while the
# independent-sample model gives it only a $1-(1-10^{-4})^{10^4} \approx 63\%$ chance. And the
# law's value at $k = 10^6$ (last column of the fit tables) assumes that the problems no sample
# solved (12.5 % for pythia-12b) have small but non-zero success rates; the data cannot tell.
#
# ## Stroebl et al.: weaker models, more false positives
# The ceiling above is the verifier's *precision*, and it depends on how often wrong answers
# slip through. Stroebl et al. measured this on HumanEval and MBPP, whose unit tests have
# limited coverage, and found a very strong correlation between a model's single-sample
# accuracy and its false-positive rate: weaker models produce wrong solutions that pass the
# tests more often (their Fig. 1a). So no amount of resampling lets a weak model match a
# strong model's *single* sample. On our MATH data (no false-positive rates are measured here),
# the question can be turned around: how low would each model's false-positive rate have to be
# for endless resampling to reach pythia-12b's single-sample accuracy?

# %%
from workbench.course.inference_scaling import (
    fpr_needed_table,
    optimal_samples_table,
    verifier_cost_figure,
)
from workbench.course.style import show

fpr_needed_table()

# %% [markdown]
# The smallest model would need a verifier that lets through fewer than 1.6 % of its wrong
# answers — and Stroebl et al.'s finding says a weaker model's false-positive rate is *higher*,
# not lower. (With a perfect verifier it could get there: it solves 27 % of the problems at
# least once in 10,000 samples.)
#
# ## When a false positive costs something, sample less
# Stroebl et al. also give a false positive a *negative* value: shipping a wrong answer is worse
# than admitting you have none. Their policy resamples until the verifier accepts (at most $k$
# times) and abstains otherwise; a right answer is worth $+1$, a wrong one $-c$ (the cost-benefit
# ratio), abstaining 0. For a problem with success rate $p$, verifier recall $r$ and
# false-positive rate $f$, one attempt is worth $r p - c f (1-p)$, and $k$ attempts
# $$U(k) = \big(r p - c\,f\,(1-p)\big)\,\frac{1-(1-q)^k}{q},\qquad q = r p + f(1-p)$$
# (`workbench.analysis.repeated_sampling.resampling_utility`). Averaged over problems, easy ones
# gain quickly while hard ones keep accumulating false positives, so the utility rises, peaks
# and falls — an inverted-U in $k$. The paper finds the best number of samples is often
# **fewer than 10** under realistic assumptions (HumanEval, their Fig. 1b). Our Pythia models on
# MATH, recall 1:

# %%
display(optimal_samples_table())
cost_figure = verifier_cost_figure()
print(cost_figure.caption)
show(cost_figure)

# %% [markdown]
# With no cost ($c = 0$) more attempts never hurt. As soon as a false positive costs as much
# as a right answer gains ($c = 1$), the best budget for the strongest Pythia model is about
# 16 attempts at a 1 % false-positive rate, 2 at $c = 2$, and from $c = 4$ abstaining beats
# sampling at all; the weaker models should abstain already at $c = 1$. These models solve a
# typical MATH problem in about 2 % of samples, below a 1 % false-positive rate times the
# cost, which is why even their best budgets are tiny next to the 10,000 samples of the
# coverage curves.

# %% [markdown]
# ## Parallel streams: inference compute inside one answer (ParScale)
# Repeated sampling spends inference compute on more answers. Chen et al. (2025, *Parallel
# Scaling Law for Language Models*, arXiv:2505.10475) spend it inside one answer: the same
# weights run $P$ parallel streams, each with its own learned transformation of the input, and
# a learned aggregation combines the $P$ outputs. They pre-train models of 0.5B to 4.4B
# parameters with $P$ = 1 to 8 and fit a Chinchilla-style law in which the streams multiply
# the parameter count:
#
# $$L(N, P) = \left(\frac{A}{N\,(k \ln P + 1)}\right)^{\alpha} + E.$$
#
# A model run as $P$ streams therefore has the loss of a single-stream model $k \ln P + 1$
# times larger: the paper's headline, "$P$ streams are like scaling the parameters by
# $O(\log P)$". The explorer computes that equivalent size by inverting the law at $P = 1$. The
# paper also reports that this costs much less memory and latency than the equivalent
# parameter scaling; the law says nothing about those costs.
#
# **Honesty mark.** The paper's fitted $E$, $A$, $k$ and $\alpha$ could not be checked here: the
# form was checked in the authors' fitting code, the constants were not reachable
# (`docs/provenance.md`), so the `parscale` law has no presets. The sliders start from
# **illustrative** constants ($E = 1.8$, $A = 10^8$, $k = 0.4$, $\alpha = 0.3$), the figure's
# title and caption say so, and every number below is the law's arithmetic, not a result of
# the paper.
#
# * **parallel streams P** and **parameters N**: your model (red square, left) and the
#   single-stream model with the same loss (red circle, on the black $P = 1$ curve).
# * **E, A, k, α**: the law's constants. Right: the factor $k \ln P + 1$, a straight line on a
#   log axis in $P$.
# * **Export figure** writes PNG, SVG, PDF, the CSV tables and the BibTeX into `exports/`.
#
# *What the picture shows and cannot show:* what the law's form implies for any constants,
# that $P$ streams are worth a fixed factor $k \ln P + 1$ in parameters at every size; it
# cannot show the real value of $k$, nor whether the factor holds beyond the 4.4B-parameter,
# 8-stream models the law was fitted on.

# %%
from workbench.course.parallel_scaling import ParScaleExplorer

parscale = ParScaleExplorer(export_dir="exports")
parscale.widget

# %% [markdown]
# The equivalent size comes from the law itself: the loss at $(N, P)$, inverted at $P = 1$.
# It matches the closed form $N (k \ln P + 1)$ (`workbench.laws.parscale.equivalent_params`)
# for the constants now on the sliders, and does not depend on $N$, $A$, $\alpha$ or $E$:

# %%
import numpy as np

from workbench.course.parallel_scaling import dense_equivalent, parscale_loss
from workbench.laws.parscale import equivalent_params

values = parscale.values()
streams = np.arange(1, 9)
same_loss = dense_equivalent(parscale_loss(1e9, streams, values), values)
pl.DataFrame(
    {
        "P": streams,
        "law inverted: N_eq / N": same_loss / 1e9,
        "k ln P + 1": equivalent_params(1.0, streams, values["k"]),
    }
)

# %% [markdown]
# ## Exercises
# 1. Set the verifier to recall 1.0. How small must the false-positive rate be for
#    pythia-12b's ceiling to exceed 0.8?
# 2. Move **fit on $k \le$** from 10 to 10,000. For pythia-160m, does the prediction at 10,000
#    improve steadily as the fitting range grows?
# 3. Why does the verifier's curve equal the coverage at $k = 1$ whatever the recall and
#    false-positive rate?
# 4. In `optimal_samples_table()`, pythia-12b's best budget at false-positive rate 0.01 falls
#    from 16 attempts (cost 1) to 2 (cost 2) and to 0 (cost 4). Using the formula for $U(k)$,
#    explain why it reaches 0 rather than staying at 1.
# 5. In the ParScale explorer, keep $k = 0.4$. How many streams make a model worth one twice
#    its size? Four times its size? What does that say about scaling $P$ alone?
#
# <details><summary>Solutions (click to open)</summary>
#
# 1. Evaluate `verifier_ceiling(p, 1.0, f)` for pythia-12b's pass@1 over a few values of `f`:
#    0.001 gives 0.657, 0.0003 gives 0.749, and it takes about $f = 10^{-4}$ (0.810) to pass
#    0.8 — a verifier must be nearly perfect at rejecting wrong answers when correct ones are
#    this rare.
# 2. No. `coverage_fits_table(cutoff)` gives its error at $k = 10{,}000$: $-0.151$ fitted on
#    $k \le 10$, $+0.008$ on $k \le 100$, $+0.070$ on $k \le 1000$ and still $+0.055$ when the fit
#    includes $k = 10{,}000$ itself. The law does not describe this model's whole curve, so the
#    range you fit on chooses which part it matches. (For pythia-70m the error does shrink
#    steadily, from $-0.084$ to $-0.007$: one model's behaviour is not a rule.)
# 3. With one sample there is nothing to choose between: the verifier either accepts it or
#    falls back to it, so the answer is correct with probability $p$ — the formula gives
#    $r p + (1-r) p = p$.
# 4. $U(1) = \overline{r p - c f (1-p)}$, the mean value of one attempt. With $r = 1$,
#    $f = 0.01$ and mean $p = 0.023$, one attempt is worth $0.023 - 4 \times 0.01 \times 0.977
#    \approx -0.016$ at cost 4: below abstaining, and every further attempt adds more hard
#    problems' false positives than easy problems' right answers. Abstaining ($k^* = 0$) is
#    the best policy; the verifier is not good enough for this model at that price.
# 5. Solve $k \ln P + 1 = 2$: $P = e^{1/k} = e^{2.5} \approx 12$ streams. For four times,
#    $P = e^{3/k} = e^{7.5} \approx 1{,}800$ streams. Each stream is a forward pass, so inference
#    compute grows in proportion to $P$ while the equivalent size grows with $\ln P$: a few
#    streams are cheap size, many are not. Both answers lie beyond the $P \le 8$ the law was
#    fitted on, and with an illustrative $k$ they are arithmetic, not predictions.
# </details>
#
# ## References
# * Stroebl, Kapoor, Narayanan 2024, *Inference Scaling fLaws: The Limits of LLM Resampling with
#   Imperfect Verifiers*, arXiv:2411.17501 (the verifier model, its ceiling and the cost of
#   false positives; v3 is titled *The Limits of Inference Scaling Through Resampling*).
# * Brown, Juravsky, Ehrlich, Clark, Le, Ré, Mirhoseini 2024, *Large Language Monkeys: Scaling
#   Inference Compute with Repeated Sampling*, arXiv:2407.21787.
# * Schaeffer, Kazdan, Hughes, Juravsky, Price, Lynch, Jones, Kirk, Mirhoseini, Koyejo 2025,
#   *How Do Large Language Monkeys Get Their Power (Laws)?*, ICML 2025 (the per-problem tables).
# * Chen et al. 2021, *Evaluating Large Language Models Trained on Code*, arXiv:2107.03374 (the
#   unbiased pass@k estimator).
# * Chen, Hui, Cui, Yang, Liu, Sun, Lin, Liu 2025, *Parallel Scaling Law for Language Models*,
#   arXiv:2505.10475 (the ParScale law; its fitted constants are not in the workbench).
