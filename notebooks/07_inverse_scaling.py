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
# # 07 · Breaks, inverse scaling, U-shapes and inverted-Us
#
# A power law is a straight line on log-log axes, and a straight line cannot turn. Real curves
# do: a task is flat until the model suddenly "gets it", or a benchmark gets *worse* as models
# grow, and sometimes better again. The literature has exact words for these shapes, always
# about **performance** (better or worse), whatever the metric's direction:
#
# | verdict | shape | named by |
# |---|---|---|
# | normal scaling | better at the largest scale | |
# | inverse scaling | worse at the largest scale | McKenzie et al. 2023 (arXiv:2306.09479) |
# | **U-shaped** | **worse, then better** | Wei et al. 2022 (arXiv:2211.02011): performance "decreases up to a certain model size, and then increases again" |
# | **inverted-U** | **better, then worse** | McKenzie et al. 2023: "U-shaped and inverted-U scaling trends, where an initial trend reverses" |
#
# So a *loss* that rises and then falls is U-shaped (worse, then better), and an *accuracy* that
# rises and then falls is inverted-U. Read the verdict, not the picture: the picture of a loss is
# upside down.
#
# Caballero et al. (2022, arXiv:2210.14891) proposed one family for all of these shapes, the
# **broken neural scaling law** (BNSL):
#
# $$y = a + b\,x^{-c_0}\prod_{i=1}^{n}\Big(1 + \big(x/d_i\big)^{1/f_i}\Big)^{-c_i f_i}.$$
#
# Between breaks it is a power law; at break $i$ (location $d_i$, sharpness $f_i$, smaller is
# sharper) the log-log slope of $y - a$ changes by $-c_i$. With $c_0$ and $c_0 + c_1$ of opposite
# signs a one-break BNSL turns once, either way.
#
# Two questions for this notebook:
#
# 1. **How much of a curve must you see before you can extrapolate a break?** The BNSL paper's
#    4-digit-addition example, fitted on more or fewer points with a slider.
# 2. **When is "it gets worse with scale" a finding, and which shape is it?** The workbench's
#    `analysis.inverse.scaling_trend` fits a one-break BNSL and names the trend with one of five
#    verdicts, each change *with an interval*. We apply it to TruthfulQA, the best-known
#    inverse-scaling benchmark, to published per-checkpoint numbers where both turning shapes
#    appear, and to the workbench's own proxies.

# %%
import polars as pl
from IPython.display import display

from workbench import corpus
from workbench.course import inverse_scaling as course
from workbench.course.inputs import proxy_missing_message
from workbench.course.style import show
from workbench.errors import WorkbenchError
from workbench.laws import get_law
from workbench.viz.offline import enable_offline_charts

enable_offline_charts()  # charts render without a CDN (Binder, CI, a train)
get_law("bnsl1").latex

# %% [markdown]
# ## The data: a curve with a break
# Test cross-entropy of a transformer learning 4-digit addition against the number of training
# examples: flat, then a sharp drop. The numbers sit in the authors' fitting script; they fit the
# first 14 points and score the extrapolation on the last 3 (`authors_fit`).

# %%
source = corpus.get_source("bnsl_addition")
print(source.citation)
for caveat in source.caveats:
    print(" -", caveat)
course.addition_points()

# %% [markdown]
# ## Explore: fit more or fewer points
# * **points fitted** (the first slider) fits the BNSL on the first $k$ points (black; grey band)
#   and extrapolates to the rest (red rings, dashed curve). The subtitle scores the extrapolation.
# * **BNSL** switches between one and two breaks (two breaks need at least 10 points; their fits
#   are made the first time you ask, about a second each).
# * The sentence under the controls lists the fitted limit $a$ and the slope of every segment.
#
# Every one-break fit the slider can show was made once when the explorer was built, so moving
# the slider only swaps data (the engine polishes only the best basin of its starting grid here:
# eight times faster, and the same fits as its default of three basins for every $k$ but 12). The engine searches the break location from a grid over
# 100–3000 examples (then polishes freely), because a break far outside the data is not something
# 17 points can tell you about.

# %%
explorer = course.BNSLExplorer(export_dir="exports")
explorer.widget

# %% [markdown]
# What the slider shows, in one table: the prediction at the largest training set
# ($n = 928$) from fits on the first $k$ points.

# %%
pts = course.addition_points()
rows = []
for k in range(7, 17):
    fit = course.addition_fit("bnsl1", k)
    rows.append(
        {
            "points fitted": k,
            "largest n fitted": pts["samples"][k - 1],
            "break d1": fit.params["d1"],
            "predicted loss at n=928": float(fit.predict({"samples": [928.0]})[0]),
            "measured": pts["loss"][-1],
            "at a bound": any("bound" in m for m in fit.warnings),
        }
    )
pl.DataFrame(rows)

# %% [markdown]
# Until the drop is in the data (up to about 11 points, $n \le 608$), the fit has nothing to
# go on: the break parameters run to their bounds and the extrapolation stays flat near 1.3–1.9
# while the truth falls to 0.56. With 12 points the drop has started and the fit overshoots; with
# 13 points it is 10 % low, and from 14 points on it is within a few per cent. **A BNSL can extrapolate a break it
# has seen begin; it cannot predict one it has not.** This is the honest reading of "emergence"
# forecasts: the functional form helps only once the curve has started to bend.
#
# ## Is it really getting worse? TruthfulQA across model families
# TruthfulQA (Lin et al. 2022, arXiv:2109.07958) asks questions that people often answer wrongly
# from misconceptions; larger models imitate the misconceptions better. Ruan et al.'s observational
# table (corpus source `obs_scaling`) has it for many families. `scaling_trend` first asks whether
# there is any trend at all (an F-test of a quadratic in log size against a constant), then fits a
# one-break BNSL to accuracy against parameters and tests its changes: from the smallest to the
# largest size, and, for a turning shape, each leg on either side of the turn. Each change's 95 %
# interval is the wider of two: 100 bootstrap refits of the resampled models, and the classical
# (delta-method) interval with the fit's $n - k$ degrees of freedom. The second matters here:
# a 6-parameter curve through 8 models refits every resample almost exactly, so a bootstrap alone
# would call nearly anything significant.

# %%
trends = {fam: course.truthfulqa_trend(fam) for fam in course.TRUTHFULQA_FAMILIES}
display(show(course.truthfulqa_figure()))
course.trend_table(trends, "family")

# %% [markdown]
# Both families get *less* truthful as they grow, and the verdicts say so with intervals that
# exclude zero. Check the size of the effect against the noise of one score: TruthfulQA has 817
# questions, so a plain accuracy near 35 % has a standard error of about 0.017. OPT's last two
# models (30B and 66B) score 0.01 above its 13B model — smaller than that noise, so the data do
# not show a turn back up, and the verdict does not claim one. Wei et al. found their U-shapes
# only by adding much larger models (PaLM 540B).

# %%
print(f"binomial standard error at p = 0.35, 817 questions: {(0.35 * 0.65 / 817) ** 0.5:.4f}")
trends["OPT"][1].select("params", "accuracy")

# %% [markdown]
# ## Both turning shapes, in published numbers
# No model family in the corpus has enough sizes to show a significant turn along model size
# (8 sizes at most). Scale also means training, though, and the Pythia suite (corpus source
# `pythia_evals`) publishes every benchmark at up to 26 checkpoints of each model. The same
# verdicts along training steps (each step is 2,097,152 tokens):

# %%
training = {
    f"{run} on {eval_set}": course.pythia_training_trend(run, eval_set)
    for run, eval_set in course.TRAINING_TRENDS.values()
}
for name, (_trend, df) in training.items():
    print(f"{name}: median standard error of one score {df['stderr'].median():.3f}")
display(show(course.training_trends_figure()))
course.trend_table(training, "model and benchmark")

# %% [markdown]
# * **U-shaped (worse, then better): Pythia-2.8B on ARC-Challenge.** Early in training the
#   accuracy falls about 0.06 *below* where it started — more than four standard errors of one
#   score — and only then climbs. ARC's Challenge set is, by construction, the questions that a
#   retrieval baseline and a word co-occurrence baseline both get wrong (Clark et al. 2018,
#   arXiv:1803.05457). A model that so far knows only which words go together is pulled towards
#   exactly those wrong answers: Wei et al.'s explanation of U-shapes, an easy *distractor task*
#   learned before the true one. (That is our reading of the curve, not a result of either paper.)
# * **Inverted-U (better, then worse): Pythia-70M on ARC-Easy.** The smallest model improves
#   for about 20,000 steps and then loses a few points by the end of training. Godey et al.
#   (2024, arXiv:2404.07647) report this "saturation" of small Pythia models late in training and
#   trace it to the softmax bottleneck of a small hidden size.
#
# ## Your own proxies: a pattern that misleads
# The proxy preset `inverse` trains tiny GPTs on a synthetic corpus with a frequent, misleading
# pattern (the `trap` corpus) and scores each model on the pattern's *exceptions* as well as on
# the whole validation set. If its results are shipped, the next cell runs the same verdicts on
# them — and says plainly whether the proxies show an inverse trend or not.

# %%
proxy = course.proxy_results("inverse")
if proxy is None:
    print(proxy_missing_message("inverse"))
else:
    try:
        verdicts = course.proxy_inverse_trends()
        exc = verdicts.get("exceptions")
        if exc is not None:
            shows = exc[0].verdict in (
                "inverse scaling",
                "inverted-U",
                "U-shaped",
            )  # worse over some range of sizes
            print(
                f"Do the proxies show the effect on the exceptions? {'YES' if shows else 'NO'} "
                f"({exc[1].height} sizes for a 6-parameter law: read the interval as optimistic)"
            )
        display(show(course.proxy_inverse_figure()))
        display(course.trend_table(verdicts, "split"))
    except WorkbenchError as exc:  # shipped, but not enough to fit: say so
        print("proxy inverse results:", exc)

# %% [markdown]
# What this does and does not show. In the `trap` language every context has one usual successor
# (probability 0.9) and the exceptions are drawn uniformly from the other 63 symbols, so nothing about
# an exception can be learned. A model that knows the language exactly scores $-\ln(0.1/63)$ on the
# exceptions (printed below); a small model that has not yet learned the pattern *hedges* and scores
# better than that on this slice, while the large models learn the pattern, bet on it, and get worse
# here — and better on everything else. A benchmark made of exceptions to a frequent pattern rewards
# hedging, and that alone can make it scale inversely: a toy version of the "strong prior" failures
# McKenzie et al. describe.

# %%
from workbench.proxies.corpora import get_corpus

trap = get_corpus("trap")
print(
    f"loss of the true language on the exceptions: {trap.best_exception_loss:.3f} nats; "
    f"on the regular successors: {trap.best_regular_loss:.3f} nats"
)

# %% [markdown]
# ## Exercises
# 1. Set the slider to 12 points. Why does the fit overshoot (predict too low a loss) when it
#    has seen only the start of the drop?
# 2. Switch to two breaks at 14 points. Is the extrapolation better or worse than with one break?
#    What does a second break buy you with 14 points?
# 3. Run `course.truthfulqa_trend("Qwen1.5")`. What is the verdict, and what in the data explains
#    it?
# 4. A loss that falls with model size and then rises again: which of the five verdicts is it?
#    Check your answer with `course.pythia_training_trend("pythia-70m", "arc_easy")`, whose
#    accuracy has the mirror-image shape.
#
# <details><summary>Solutions (click to open)</summary>
#
# 1. With the drop just begun, nothing constrains where it ends: the fitted limit $a$ goes to its
#    bound 0 (see the warning) and the steep segment is extrapolated all the way down. The points
#    that would show the curve flattening again (the approach to $a \approx 0.4$) are not there yet.
# 2. Worse: with 14 points the two-break law predicts 0.531 at $n = 928$ against 0.557 measured
#    (−4.7 %), the one-break law 0.564 (+1.3 %). Three extra parameters fit the 14 points about as
#    well and spend the freedom on a shape the held-out points do not follow. A second break is
#    only worth it when the data show a second bend.
# 3. "no significant trend". TruthfulQA accuracy in Qwen1.5 rises from 0.38 (0.5B) to 0.60 (72B),
#    and then the 110B model scores 0.50. A one-break BNSL has 6 parameters; through 8 models it
#    keeps 2 degrees of freedom, so neither the rise nor the final drop is pinned down (the
#    change's interval crosses zero). A bootstrap alone would have called it inverted-U with a
#    zero-width interval: every resample refits the same few points exactly. Same benchmark as
#    OPT and Pythia, different trend: a family's data and recipe matter, and an observational
#    table cannot say *why*.
# 4. Inverted-U: the loss gets better (falls), then worse (rises). The words are about
#    performance, so a loss curve shaped like a U is an *inverted*-U verdict, exactly like
#    Pythia-70M's accuracy on ARC-Easy, which rises and then falls.
# </details>
#
# ## References
# Caballero, Gupta, Rish, Krueger 2022, Broken Neural Scaling Laws (arXiv:2210.14891; corpus
# source `bnsl_addition`); McKenzie et al. 2023, Inverse Scaling (arXiv:2306.09479); Wei, Kim,
# Tay, Le 2022, Inverse scaling can become U-shaped (arXiv:2211.02011); Lin, Hilton, Evans 2022,
# TruthfulQA (arXiv:2109.07958); Ruan, Maddison, Hashimoto 2024, Observational Scaling Laws
# (arXiv:2405.10938; corpus source `obs_scaling`); Biderman et al. 2023, Pythia (arXiv:2304.01373;
# corpus source `pythia_evals`); Clark et al. 2018, ARC (arXiv:1803.05457); Godey, de la Clergerie,
# Sagot 2024 (arXiv:2404.07647). BibTeX is written next to each exported figure.
