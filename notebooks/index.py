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
# # Scaling laws: a course in notebooks
#
# The 15 notebooks below (00 to 14, in teaching order) show how the loss of a neural network
# depends on its size, its data, its compute, its numbers' precision, its learning-rate schedule
# and the compute spent at inference — each built on published measurements that ship with this
# repository, fitted with one engine, and explored with sliders. New to scaling laws? Start with
# **02 · Chinchilla**: it goes from published points to a fitted law to a compute-optimal model in
# one sitting, and every other notebook follows its pattern. A plan for a 6–8 session course is
# in `docs/teaching.md`. Bringing your own runs? **14** checks a scaling claim on them end to end.
#
# | # | notebook | what you learn |
# |---|---|---|
# | 00 | [A tour of the corpus](00_corpus_tour.ipynb) | what the shipped data are, where each number comes from, how to browse and export them |
# | 01 | [Power laws](01_power_laws.ipynb) | power laws on log–log axes, Kaplan et al.'s laws, how far an extrapolation can be trusted, and where power laws come from (scaling regimes, superposition) |
# | 02 | [Chinchilla, end to end (quick start)](02_chinchilla.ipynb) | fit $L = E + A/N^\alpha + B/D^\beta$ to Hoffmann et al.'s runs and find the compute-optimal model; the same floor-plus-power-law shape across images, video and math (Henighan et al.) |
# | 03 | [Chinchilla's three approaches](03_chinchilla_approaches.ipynb) | envelope, IsoFLOP and parametric fits side by side, and the replication that changed the constants |
# | 04 | [Compute-optimal vs over-trained models](04_overtraining.ipynb) | over-training (Gadre et al.) and why smaller models trained longer can win once inference is paid for |
# | 05 | [From loss to downstream error](05_downstream.ipynb) | predicting benchmark error from the loss; three views of emergence; how pre-training data and its alignment shape translation quality (Isik et al., illustrative constants) |
# | 06 | [Precision: what a bit buys](06_precision.ipynb) | the loss cost of training and serving in fewer bits; where Kumar et al. and Sun et al. disagree |
# | 07 | [Breaks, inverse scaling, U-shapes and inverted-Us](07_inverse_scaling.ipynb) | broken power laws; when bigger is worse, worse-then-better (U) or better-then-worse (inverted-U) |
# | 08 | [Crossovers: which method wins at scale?](08_crossovers.ipynb) | when one method's scaling curve overtakes another's, with an interval; a learning rate tuned small that loses big (the `recipe_crossover` experiment) |
# | 09 | [Train your own proxies](09_proxies.ipynb) | small models you can train on a CPU that reproduce each phenomenon; sparse and dense training on one curve (the `sparse` experiment) |
# | 10 | [Learning-rate schedules](10_lr_schedules.ipynb) | the annealing law: fit one loss curve, predict any schedule |
# | 11 | [Data constraints](11_data_constraints.ipynb) | what repeated epochs are worth (the `repetition` experiment on two sources), and how data pruning can beat a power law (a perceptron experiment) |
# | 12 | [Inference-time scaling](12_inference_scaling.ipynb) | coverage from repeated sampling, its extrapolation, an imperfect verifier's ceiling, and when to stop sampling; what parallel streams are worth in parameters (ParScale, illustrative constants) |
# | 13 | [Translation models](13_nmt.ipynb) | splitting parameters between encoder and decoder, fitted on encoder–decoder runs you can train |
# | 14 | [Checking a scaling claim before paying for it](14_checking_a_claim.ipynb) | for researchers: your CSV and your law typed as a formula, fitted, backtested, compared with the library's laws, and a big run predicted with an interval calibrated on the backtests; a Markdown report of the evidence |
#
# ## How to use the notebooks
# * **Run all** (Run ▸ Run All Cells). Every notebook runs in well under a minute from shipped
#   results: nothing is trained and nothing is downloaded.
# * **Sliders and menus** change the figure live: the fit or the extrapolation is recomputed
#   in milliseconds when you release the slider, and the sentence above the chart says what
#   the figure now shows (including when it is extrapolating).
# * **Export figure** writes the current figure as PNG, SVG and PDF, the data behind it as CSV
#   and the BibTeX of every source into `exports/` next to the notebook. The same figures
#   come out of the command line without Jupyter:
#   `python -m workbench figures --out DIR`.
# * **Exercises** end each notebook; the solutions are folded away until you click
#   *Solutions*.
# * **Honesty marks**: where a law's constants were not verified against the paper, or a
#   figure uses synthetic or illustrative values, the notebook and the figure's title say so.
#
# ## The data ship with the repository
# Published measurements live in `datasets/` (one CSV per source, described with its paper,
# figure or table, repository commit and licence in `datasets/sources.toml` and
# `datasets/README.md`); the workbench's own small proxy runs live in `datasets/proxies/`.
# The cell below lists the sources and checks that every notebook of the table is here.

# %%
import json
import re
import textwrap
from pathlib import Path

from workbench import corpus

sources = corpus.sources()
print(f"{len(sources)} corpus sources ship with the repository:")
for sid, s in sources.items():
    print(f"  {sid:<24} {textwrap.shorten(s.citation, 100, placeholder=' …')}")

here = Path.cwd()
course = sorted(p.name for p in here.glob("[0-9][0-9]_*.ipynb"))
print(
    f"\n{len(course)} course notebooks in {here.name}/:",
    ", ".join(course) or "none (run this notebook from notebooks/)",
)
index = here / "index.ipynb"
if index.exists():  # check the table above against the folder
    cells = json.loads(index.read_text(encoding="utf-8"))["cells"]
    text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    linked = re.findall(r"\]\(([0-9]{2}_[a-z0-9_]+\.ipynb)\)", text)
    print(
        "linked in the table:",
        len(linked),
        "| linked but not in this folder:",
        [n for n in linked if not (here / n).exists()] or "none",
        "| in this folder but not linked:",
        [n for n in course if n not in linked] or "none",
    )
