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
# # 06 · Precision: what a bit buys
#
# Training in fewer bits makes every multiply cheaper, and every weight and activation less
# exact. Scaling laws for precision turn that trade into numbers. Two views meet here:
#
# * **Precision as lost parameters.** Kumar et al. (2024, arXiv:2411.04330) fit training at
#   $P$ bits as a Chinchilla law with *effective* parameters (their Eqs. 3–4, with the offsets
#   $n_x$ of App. K),
#   $$L = A\,N_\text{eff}^{-\alpha} + B\,D^{-\beta} + E,\qquad
#     N_\text{eff} = N\prod_{x\in\{w,a,kv\}}\big(1 - e^{-P_x/\gamma_x + n_x}\big).$$
#   QuEST and Quartet (Panferov et al. 2025, arXiv:2502.05003; Castro et al. 2025,
#   arXiv:2505.14669) measure the same idea directly, one number per training scheme:
#   $$L(N, D) = \Big(\frac{A}{(N\,\mathrm{eff}_N)^{\alpha}} + \frac{B}{(D\,\mathrm{eff}_D)^{\beta}}\Big)^{\gamma} + E,$$
#   where $\mathrm{eff}_N$ is the share of the parameters a low-precision forward pass is worth
#   and $\mathrm{eff}_D$ the share of the data a low-precision backward pass is worth.
# * **Precision as cost.** Kumar et al. charge a run at $P$ bits $C = \tfrac{6}{16} N D P$
#   (their Eq. 5): 16 bits is the usual $6ND$; 4 bits costs a quarter.
#
# Put together, the law only sees $N\,\mathrm{eff}_N$ and $D\,\mathrm{eff}_D$, whose product is
# $C\,\mathrm{eff}_N\mathrm{eff}_D\,16/(6P)$. So **a $P$-bit run with budget $C$ reaches exactly
# the loss of a BF16 run with budget $m(P)\cdot C$**, where
# $$m(P) = \mathrm{eff}_N\,\mathrm{eff}_D\,\frac{16}{P}.$$
# The precision with the largest $m$ wins at *every* budget (Kumar et al. find the optimal
# precision does not depend on compute; Sun et al. 2025 disagree, see below), and its optimal
# model has $1/\mathrm{eff}_N$ times the parameters of the BF16 optimum at $m C$: **lower
# precision wants bigger models**.
#
# Constants are labelled by where their digits come from: *published* (printed in the paper),
# *authors' code* (the authors' released code or notebook), or *secondhand*.
#
# In this notebook you will fit $\mathrm{eff}_N$ to the QuEST runs, move a precision slider and
# watch the frontier move, then look at three other laws: how to split bits between exponent
# and mantissa (Sun et al. 2025), why quantising a model *after* training hurts more the longer
# it was trained (Kumar et al. 2024; Ouyang et al. 2024; Chen et al. 2025), and what the newest
# FP4 recipes are worth (Quartet II).

# %%
import numpy as np
import polars as pl
from IPython.display import display

from workbench import corpus
from workbench.analysis.precision_budget import bf16_optimal
from workbench.course import precision as course
from workbench.course import quantisation
from workbench.course.inputs import proxy_missing_message, proxy_results
from workbench.course.style import show
from workbench.errors import WorkbenchError
from workbench.laws.efficiency import QUARTET_BASE
from workbench.laws.quantization import OUYANG_QID, tokens_to_reach
from workbench.viz.offline import enable_offline_charts

enable_offline_charts()  # charts render without a CDN (Binder, CI, a train)

# %% [markdown]
# ## The data: QuEST's quantisation-aware training runs
# Panferov et al. trained decoder-only models of 30M–800M parameters on C4, in BF16 and with
# weights *and* activations quantised during training (QuEST: a Hadamard rotation and a
# "trust" gradient estimator) at 2, 3, 4 and 8 bits, plus an FP4 (E2M1) variant. The BF16 runs
# use about 100 tokens per parameter; the quantised runs go up to 200M parameters, some of them
# with fewer tokens (down to about 25 per parameter).

# %%
source = corpus.get_source("quest_qat")
print(source.citation)
for caveat in source.caveats:
    print(" -", caveat)
runs = course.quest_runs()
runs.group_by("scheme", maintain_order=True).agg(
    pl.len().alias("runs"),
    pl.col("params").min().alias("smallest N"),
    pl.col("params").max().alias("largest N"),
    (pl.col("tokens") / pl.col("params")).median().alias("median tokens per parameter"),
)

# %% [markdown]
# ## Fit: one efficiency per precision
# An efficiency is only defined relative to a base law ($A\,\mathrm{eff}_N^{-\alpha}$ is one
# number), so both papers fit the base on BF16 runs and then *freeze* it. The QuEST BF16 runs all
# lie on one line $D \approx 100N$, which cannot separate the $N$ and $D$ terms, so we freeze the
# base at Castro et al.'s BF16 fit (Quartet, the same group's models on C4; authors' code: the
# unrounded output of their notebook, which the paper prints rounded, and about 15 % different
# in $A$ and $B$, in its App. A.3 Table 6), whose compute-optimal split is plausible (the cell
# below prints it), and fit only
# $\mathrm{eff}_N$ per precision (forward *and* backward passes are quantised in QuEST,
# but its law puts all of the loss into $\mathrm{eff}_N$). Intervals: 100 bootstrap resamples of
# the runs. Two checks: the base fitted to QuEST's own BF16 runs should give
# $\mathrm{eff}_N \approx 1$, and our values should be near the QuEST authors' (`eff_N_authors`:
# the authors' code, their notebook's joint fit, relative to its own base; the paper's Table 2
# prints the same efficiencies to two decimals).

# %%
print("base law (Castro et al. 2025, authors' code: their notebook):", QUARTET_BASE)
print(f"check: eff_N of QuEST's BF16 runs under this base = {course.quest_bf16_check():.3f}")
opt = bf16_optimal(QUARTET_BASE, [1e18, 1e21, 1e24])
print(
    "its BF16 optimum, tokens per parameter at 1e18, 1e21, 1e24 FLOPs:",
    (opt.tokens / opt.params).round(1),
)
eff = course.quest_efficiencies()
eff.select("label", "runs", "eff_N", "eff_N_lo", "eff_N_hi", "eff_N_authors", "m")

# %% [markdown]
# The efficiencies rise steeply from 2 to 4 bits and saturate by 8. The multiplier $m$ divides
# them by the cost: 8-bit training keeps all its parameters but costs half of BF16 ($m \approx 2$);
# 4-bit training keeps about 70 % of its parameters at a quarter of the cost; 2 bits are cheap
# but nearly useless. The largest $m$ is at 4 bits — the paper's claim that W4A4 QuEST training
# is Pareto-optimal, read off in one line.

# %%
best = eff.sort("m", descending=True).row(0, named=True)
ci = f"95% CI {best['m_lo']:.2f}-{best['m_hi']:.2f}"
print(f"largest multiplier: {best['label']} with m = {best['m']:.2f} ({ci})")

# %% [markdown]
# ## Explore
# * **training precision** (the first slider) picks a QuEST precision. Left: the compute-optimal
#   loss against training cost for every precision (thin), the chosen one in red and BF16
#   dashed; the dots are the runs at their own cost. Middle: the optimal model size — the red
#   line sits above BF16 by $1/\mathrm{eff}_N$; the grey band is the range of sizes actually run,
#   so everything above it is extrapolation. Right: the multiplier of each precision with its
#   interval, and Kumar et al.'s functional form for comparison (grey; see below).
# * **budget C** places the diamonds: the optimal runs at that budget, with the numbers in the
#   subtitle.
# * **Export figure** writes the figure (PNG, SVG, PDF), its tables (CSV) and the BibTeX into
#   `exports/`.

# %%
explorer = course.PrecisionExplorer(export_dir="exports")
explorer.widget

# %% [markdown]
# ## Kumar et al.'s law as the paper states it: about 7 bits
# Kumar et al. print their fitted constants in App. K, Table 2 (published): $\gamma_w = 2.6745$,
# $\gamma_a = 2.2102$, $\gamma_{kv} = 0.9578$ and three offsets $n_w = 0.3037$, $n_a = 1.4072$,
# $n_{kv} = 2.4185$ (the table calls the activation constants $\gamma_i, n_i$). The main text
# writes each factor as $1 - e^{-P/\gamma}$; App. K explains that every such exponential "is really
# computed with offset", as $e^{x/\gamma_x + n}$. The workbench's `kumar_precision` law puts the
# offset exactly there. Two checks say this is right:
#
# * each factor now vanishes at $P = n_x\gamma_x$: 0.81 bits for weights, **3.1 bits for
#   activations** and 2.3 bits for the KV cache — and App. L reports that runs with activations
#   or KV cache at 3 bits or fewer diverge, while 3-bit weights train fine;
# * under the cost $C \propto NDP$ (their Eq. 5) the best loss at fixed compute depends on $P$
#   only through $N_\text{eff}/(NP)$, so the compute-optimal precision maximises
#   $\prod_x(1 - e^{-P/\gamma_x + n_x})/P$ — at any budget. The paper reports "around 7–8 bits"
#   (§4.3.2, Finding 3). With the offsets:

# %%
from workbench.laws.precision import TABLE2, compute_optimal_precision

p_star = compute_optimal_precision()
no_offsets = {k: (0.0 if k.startswith("n_") else v) for k, v in TABLE2.items()}
p_plain = compute_optimal_precision(no_offsets)
print(
    f"Kumar et al. (Table 2, offsets included): compute-optimal precision P* = {p_star:.2f} bits"
)
print(f"the same constants without the offsets (the main text's form): {p_plain:.2f} bits")
kumar = course.kumar_multiplier(np.linspace(1, 16, 1501))
eff_4, eff_8 = (kumar.filter(pl.col("bits").round(2) == b)["eff_N"][0] for b in (4.0, 8.0))
print(f"grey curve of the explorer: eff_N at 4 bits = {eff_4:.3f}, at 8 bits = {eff_8:.3f}")

# %% [markdown]
# The printed constants reproduce the paper's headline number (7.0 bits); without the offsets
# they would say 3.5 bits. Our QuEST fits measure the efficiencies of a different recipe
# directly and put the best multiplier at 4 bits: the optimum is a property of the training
# recipe (QuEST's Hadamard rotation and trust estimator make 4 bits cheap), not a law of nature.
#
# ## Floating point: how to split the bits (Sun et al. 2025)
# For a floating-point format the question is not only how many bits but how many for the
# exponent ($E$) and the mantissa ($M$), and how many values share one scale (block size $B$).
# Sun et al. (arXiv:2501.02423v3) fit 358 of their 366 runs (41M–679M parameters) with their
# Eq. (26),
# $$L = \frac{n}{N^{\alpha}} + \frac{d}{D^{\beta}} + \epsilon
#   + \frac{D^{\beta}}{N^{\alpha}}\,\frac{\log_2 B}{\gamma\,(E+\tfrac12)^{\delta}(M+\tfrac12)^{\nu}},$$
# with the constants of their App. B.1 Table 2 (published). The last term grows with the
# "knowledge intensity" $D^\beta/N^\alpha$. Three results follow, each one of the paper's equations:
#
# * **The best split** of $P = E + M + 1$ bits (Eq. 19): $M_\text{opt} = \nu P/(\delta+\nu) - \tfrac12$.
#   Because $\delta \approx 3.19 > \nu \approx 2.95$, exponent bits are worth slightly more:

# %%
quantisation.sun_splits()

# %% [markdown]
# The integer optima are the formats hardware ships: E2M1 for FP4, E4M3 for FP8 and the BF16
# layout (E8M7) for 16 bits, as the paper states.
#
# * **A critical data size** (Eq. 21): past
#   $D_\text{crit} = \big[d\gamma N^\alpha(E+\tfrac12)^\delta(M+\tfrac12)^\nu/\log_2 B\big]^{1/(2\beta)}$
#   more tokens make a low-precision model *worse*. The paper quotes three values for a 1B model
#   (§4.3); the law gives them back with $B = 128$:

# %%
display(quantisation.sun_critical_sizes())
sun = quantisation.sun_figure()
print(sun.caption)
show(sun)

# %% [markdown]
# FP4 (E2M1) stops improving at about $4 \times 10^{11}$ tokens for a $10^9$-parameter model —
# fewer than many real training runs use — while FP8-E4M3 lasts 70 times longer. These are
# extrapolations: $N = 10^9$ is beyond the largest model fitted.
#
# * **The optimal precision rises with compute.** Under their cost model $C = kPND$ with
#   $k = 6/16$ (16 bits cost the usual $6ND$) and $B = 128$, minimising the law with the best
#   split (their Eq. 20) over $N$, $D$ and $P$ at fixed $C$ (their Eq. 25) gives:

# %%
quantisation.optimal_precision_table()

# %% [markdown]
# **Where the two papers disagree.** Kumar et al. find the compute-optimal training precision
# independent of compute (7.0 bits with their constants, above); Sun et al. find it rising with
# compute, from 4.2 bits at $10^{21}$ FLOPs to 7.6 at $10^{31}$ — their "between 4 and 8 bits"
# (§4.4, Fig. 7). Neither is a slip: the laws differ. In Kumar's law precision only rescales the
# parameter count, $N \to N_\text{eff}$, so at the optimum only $N_\text{eff}/(NP)$ matters and the
# budget drops out. In Sun's law the precision penalty grows with $D^\beta/N^\alpha$, so a bigger
# budget, spent partly on more data, makes low precision costlier and pays for more bits. The
# papers also measure different things (integer quantisation of a forward pass with three
# tensor types vs floating-point formats with a block size). Both optima are extrapolations:
# Sun's law puts its optimum at 10 tokens per parameter at $10^{21}$ and far fewer beyond — a
# region none of their 41M–679M runs touches. Kumar et al. (§4.3.3) add that when $N$ is held
# fixed their optimal precision *does* grow with compute, as $\log C$.
#
# ## Post-training quantisation hurts well-trained models more
# Quantising a finished model (PTQ) adds a loss increase $\delta$. Kumar et al. (Eq. 2) and
# Ouyang et al. (2024, arXiv:2411.17691, Eq. 8; >1500 GPTQ-quantised Pythia checkpoints) both
# find it *grows* with the training tokens, roughly as $D^{0.5}$, and shrinks with model size:
# $$\delta_\text{PTQ} = C_T\,\frac{D^{\gamma_D}}{N^{\gamma_N}}\,e^{-P/\gamma_\text{post}},\qquad
#   \Delta_q L = k\,\frac{D^{\beta}}{N^{\alpha}P^{\gamma}}.$$
# A heavily over-trained model packs more information into each weight, so rounding the weights
# destroys more. Quantisation-*aware* training (QAT) lets the model adapt: Chen et al. (2025,
# arXiv:2505.14302) fit W4A4 QAT error with a data exponent of 0.0745 (their Eq. 5, Table 1,
# published). Every curve below uses its paper's printed constants; Kumar et al.'s includes the
# offset $b$ of their Table 2 ($C_T e^{-P/\gamma_\text{post} + b}$, placed as App. K places every
# offset).

# %%
deg = quantisation.degradation_figure()
print(deg.caption)
show(deg)

# %% [markdown]
# Ouyang et al. turn their law around: how many tokens until a 4-bit model loses 0.2 nats? Their
# Table 1 says 4.51 trillion tokens for a 7B model (published). The law with the nominal $N = 7\times10^9$
# gives:

# %%
d = float(tokens_to_reach(0.2, 7e9, 4))
print(f"QiD law, N = 7e9, 4 bits, 0.2 nats: {d / 1e12:.2f} T tokens (paper's Table 1: 4.51 T)")
print("Ouyang preset:", OUYANG_QID.presets[0].values)

# %% [markdown]
# The formula does not reproduce the table exactly (the table probably used non-embedding counts
# or per-bit fits); use the formula for trends and the table as published values.
#
# ## FP4 recipes as efficiencies (Quartet II)
# Panferov et al. (2026, arXiv:2601.22813) compare NVFP4 training schemes: the forward pass only,
# the backward pass only, or both quantised. We fit the base law on their 21 BF16 runs (which vary
# tokens per parameter from about 25 to 800, so here the base *is* identified) and then one
# efficiency per quantised pass, base frozen — Castro et al.'s procedure on the newer data.

# %%
fits, q2 = quantisation.quartet2_fits()
print("base law on the BF16 runs:", {k: round(v, 4) for k, v in fits["base"].items()})
q2.select("label", "quantised", "runs", "eff_N", "eff_D").sort("quantised", "eff_N", "eff_D")

# %%
show(quantisation.quartet2_figure())

# %%
q2.group_by("quantised").agg(
    pl.len().alias("schemes"),
    pl.col("eff_N").min().alias("min eff_N"),
    pl.col("eff_N").max().alias("max eff_N"),
    pl.col("eff_D").min().alias("min eff_D"),
    pl.col("eff_D").max().alias("max eff_D"),
).sort("quantised")

# %% [markdown]
# Forward-only schemes are worth 59–76 % of the parameters; backward-only schemes 89–99 % of
# the data. When both passes are quantised (squares), $\mathrm{eff}_D$ comes out *above* 1. That
# is not a backward pass better than BF16: with both efficiencies free, a slightly smaller
# $\mathrm{eff}_N$ and a larger $\mathrm{eff}_D$ describe these runs almost equally well, and the
# bootstrap shows it:

# %%
quantisation.quartet2_tradeoff().select(
    "label", "runs", "eff_N", "eff_N_lo", "eff_N_hi", "eff_D", "eff_D_lo", "eff_D_hi", "corr"
)

# %% [markdown]
# A correlation near −1 means the data pin down a combination of the two, not each one. To
# separate them you need runs that vary $N$ and $D$ independently at the same precision — the
# same lesson as the QuEST base above.
#
# ## Your own proxies
# The workbench's proxy preset `precision` trains tiny GPTs on a synthetic corpus with fake
# quantisation during training (QAT) and after it (PTQ). When its results are shipped, the next
# cell plots the QAT penalty per format and the PTQ degradation against tokens, and fits Ouyang et
# al.'s law to the integer PTQ points. Read its exponents against the paper's: if the data exponent
# $\beta$ is clearly positive, the proxies reproduce "more training, more PTQ damage" at a scale a
# laptop can train.

# %%
proxy = proxy_results("precision")
if proxy is None:
    print(proxy_missing_message("precision"))
else:
    try:
        fig = quantisation.proxy_precision_figure()
        print(fig.caption)
        qat = (
            fig.tables["qat"]
            .group_by("format")
            .agg(pl.col("penalty").mean().alias("mean QAT penalty (nats)"))
        )
        display(qat.sort("mean QAT penalty (nats)"))
        qid, pts = quantisation.proxy_qid_fit(fig.tables["ptq"])
        print(
            f"QiD law on {pts.height} proxy PTQ points: beta (data) = {qid.params['beta']:.2f}, "
            f"gamma (bits) = {qid.params['gamma']:.2f}, alpha (size) = {qid.params['alpha']:.2f}; "
            f"Ouyang et al.: 0.53, 5.50, 0.23"
        )
        display(show(fig))
    except WorkbenchError as exc:  # shipped, but not enough to fit: say so
        print("proxy precision results:", exc)

# %% [markdown]
# ## Exercises
# 1. With the explorer, find the budget at which the W4A4 optimal model is 10× larger than the
#    largest QuEST run. Would you bet on its predicted loss?
# 2. Why is the ranking of precisions the same at every budget? Which assumption of the cost model
#    would you change first for real hardware, and how would that change the ranking?
# 3. In Sun et al.'s law, what happens to the critical data size when the block size $B$ is
#    halved from 128 to 64? Check with `quantisation.sun_tables(block=64)["critical"]`.
# 4. Ouyang et al. say low-bit quantisation "favours undertrained LLMs". Using the degradation
#    figure, by how much does the QiD degradation of a $10^9$-parameter 4-bit model grow when its
#    training data grows 10×?
#
# <details><summary>Solutions (click to open)</summary>
#
# 1. The largest run has $8.2\times10^8$ parameters, so look for $N_\text{opt} \approx 8\times10^9$:
#    for W4A4 that happens at $C \approx 3.6\times10^{21}$ FLOPs (between the slider's
#    $10^{21.5}$ and $10^{21.6}$; the subtitle prints $N_\text{opt}$ as you move the budget). The loss there rests on a base law fitted by
#    others and on $\mathrm{eff}_N$ measured below $10^9$ parameters; it also assumes the
#    efficiency does not change with size, which nothing here tests. Treat it as a trend.
# 2. Because every precision's frontier is the BF16 frontier shifted by a constant factor $m$ in
#    compute; a constant shift cannot reorder curves that all fall with compute. The first thing
#    to change is the cost: real accelerators speed up only FP8/FP4 (and INT8) matrix units, and
#    not linearly, and memory traffic does not shrink in the same proportion. Replace $16/P$ by
#    the measured speed-up $s(P)$: a precision without hardware support has $s = 1$ and loses to
#    BF16 whenever $\mathrm{eff}_N < 1$.
# 3. The penalty scales with $\log_2 B$ (7 at $B = 128$, 6 at $B = 64$), and
#    $D_\text{crit} \propto (\log_2 B)^{-1/(2\beta)}$ with $\beta = 0.5162$, so it grows by
#    $(7/6)^{0.969} \approx 1.16$: smaller blocks help, but only logarithmically.
# 4. $\Delta_q L \propto D^{0.5251}$, so 10× more data multiplies it by $10^{0.5251} \approx 3.35$.
# </details>
#
# ## References
# Kumar et al. 2024 (arXiv:2411.04330); Panferov et al. 2025, QuEST (arXiv:2502.05003; data:
# corpus source `quest_qat`); Castro et al. 2025, Quartet (arXiv:2505.14669); Sun et al. 2025
# (arXiv:2501.02423); Ouyang et al. 2024 (arXiv:2411.17691); Chen et al. 2025 (arXiv:2505.14302);
# Panferov et al. 2026, Quartet II (arXiv:2601.22813; corpus source `quartet2_nvfp4`). BibTeX of
# each figure is written next to it by its export.
