"""Figures of notebooks 00 (corpus tour) and 01 (Chinchilla)."""

from __future__ import annotations

from workbench import corpus
from workbench.course import Figure, explorer, figure
from workbench.fit import fit
from workbench.laws import CHINCHILLA
from workbench.viz.charts import chinchilla_chart, chinchilla_tables, describe_optimum, with_data
from workbench.viz.corpus_explorer import scatter, selection


@figure("corpus-chinchilla-points")
def corpus_points() -> Figure:
    df = corpus.load("chinchilla_epoch")
    rows = selection(df, "loss", "all", "params", True)
    chart = scatter(rows, "params", "flops", log_x=True, log_y=False, title="chinchilla_epoch: loss vs params")
    return Figure("corpus-chinchilla-points", "00_corpus_tour", "The 245 Chinchilla Figure 4 runs, coloured by compute.",
                  chart, {"rows": rows}, corpus.get_source("chinchilla_epoch").bibtex)


@figure("chinchilla-fit-and-frontier")
def chinchilla_frontier() -> Figure:
    points = corpus.loss_points("chinchilla_epoch", subset="besiroglu2024")
    result = fit(CHINCHILLA, points)
    tables = chinchilla_tables(points, result.params, 5.76e23)
    caption = ("Chinchilla law fitted to the 240 Figure 4 runs of Besiroglu et al.'s selection (corpus subset "
               "chinchilla_epoch:besiroglu2024). " + describe_optimum(tables, result.domain))
    return Figure("chinchilla-fit-and-frontier", "01_chinchilla", caption, with_data(chinchilla_chart(), tables), tables,
                  corpus.get_source("chinchilla_epoch").bibtex, caution=result.caution())


@explorer("01_chinchilla")
def chinchilla_explorer():
    from workbench.viz.widgets import ChinchillaExplorer

    return ChinchillaExplorer(corpus.loss_points("chinchilla_epoch"))


@explorer("00_corpus_tour")
def corpus_explorer():
    from workbench.viz.corpus_explorer import CorpusExplorer

    return CorpusExplorer()
