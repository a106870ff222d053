"""Lesson 00: a tour of the corpus: every source in one schema, browsed and exported with its provenance."""

from __future__ import annotations

from workbench import corpus
from workbench.course import Figure, explorer, figure
from workbench.course.references import bib
from workbench.viz.corpus_explorer import CorpusExplorer, scatter, selection


@figure("corpus-chinchilla-points")
def corpus_points() -> Figure:
    df = corpus.load("chinchilla_epoch")
    rows = selection(df, "loss", "all", "params", True)
    chart = scatter(rows, "params", "flops", log_x=True, log_y=False, title="chinchilla_epoch: loss vs params")
    return Figure(
        "corpus-chinchilla-points",
        "00_corpus_tour",
        "The 245 Chinchilla Figure 4 runs, coloured by compute.",
        chart,
        {"rows": rows},
        bib("chinchilla_epoch"),
    )


@explorer("00_corpus_tour")
def corpus_explorer():
    return CorpusExplorer()
