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
# # 00 · A tour of the corpus
#
# The workbench ships published scaling measurements from many papers in **one tidy
# schema**: one row per number a paper reports (a metric of one run at one checkpoint on one
# evaluation set), with the axes it was measured along — parameters, tokens, compute,
# precision, architecture — and where it came from: the paper and its figure or table, the
# repository and commit of the raw file, and the licence.
#
# This notebook lists the sources, then lets you browse any of them: pick a source, a
# metric, an axis and a colour, narrow the range with the slider, and export the figure
# with the rows behind it and their BibTeX.

# %%
import polars as pl

from workbench import corpus
from workbench.corpus.schema import COLUMNS
from workbench.viz.corpus_explorer import CorpusExplorer
from workbench.viz.offline import enable_offline_charts

enable_offline_charts()  # charts render without a CDN (Binder, CI, a train)

# %% [markdown]
# ## The sources
# Rows per source, the axes each one measures, its licence, and how the numbers were
# obtained (raw logs, a transcribed table, or a digitised figure — which limits precision).

# %%
rows = []
for src in corpus.sources().values():
    df = corpus.load(src.id)
    rows.append(
        {
            "id": src.id,
            "rows": df.height,
            "metrics": ", ".join(sorted(df["metric"].unique().to_list())),
            "licence": src.licence,
            "obtained": src.how_obtained,
            "backing": src.backing,
        }
    )
pl.Config.set_tbl_rows(30)
pl.DataFrame(rows)

# %% [markdown]
# ## The schema
# Units are stated once, here, and hold for every source.

# %%
pl.DataFrame([{"column": c.name, "unit": c.unit, "meaning": c.description} for c in COLUMNS])

# %% [markdown]
# ## Browse
# * **source / metric / eval set** pick what to plot; **x axis** any axis the source has.
# * **x range** narrows the rows shown (log10 of the axis).
# * **colour** splits the points by another column — try `run_id` for training curves or
#   `weight_bits` for the precision sources.
# * **Export figure + rows** writes PNG, SVG, PDF, the selected rows as CSV (every
#   provenance column included) and the source's BibTeX into `exports/`.

# %%
explorer = CorpusExplorer(export_dir="exports", source="chinchilla_epoch")
explorer.widget

# %% [markdown]
# ## Loading rows yourself
# `corpus.load` filters by source, metric, axes present and final checkpoints, and checks
# every cell against the schema on the way in.

# %%
precision = corpus.load(["quest_qat", "quartet2_nvfp4"], metric="loss", axes=["weight_bits"])
precision.group_by("source_id", "weight_bits", "activation_bits").len().sort(
    "source_id", "weight_bits"
)

# %% [markdown]
# ## Exercises
# 1. Which sources measure loss at intermediate checkpoints (not only final ones)? Find them
#    with `corpus.load(metric="loss")` and the `final` column.
# 2. Plot Gadre et al.'s downstream accuracies against tokens. Why do they look noisier
#    than the losses of the same runs?
#
# <details><summary>Solutions (click to open)</summary>
#
# 1. `corpus.load(metric="loss").filter(~pl.col("final")).group_by("source_id").len()` lists
#    them: the (Mis)Fitting runs carry whole training curves (and the proxies will too).
# 2. Each accuracy is one benchmark of a few hundred to a few thousand questions, near
#    chance for small models, so its sampling noise is large relative to the differences
#    between runs; the loss averages over millions of tokens. This is why Gadre et al. predict
#    downstream error *from loss* rather than from compute directly.
# </details>
