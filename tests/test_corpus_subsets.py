"""Named subsets: the rows a paper fitted, declared beside the source and selected by one rule.

Besiroglu et al. 2024 fitted 240 of the 245 digitised Chinchilla runs.  The
subset ``chinchilla_epoch:besiroglu2024`` must be exactly those rows (the
README's former ``.sort("loss").head(240)``, and Epoch's
``loss < sorted(loss)[-5]``), and a registry that declares a subset wrongly
must fail on load, naming the file, the source and the subset.
"""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench import corpus
from workbench.corpus.sources import Subset, sources
from workbench.errors import WorkbenchError


def test_besiroglu_subset_is_the_240_lowest_losses():
    sub = corpus.loss_points("chinchilla_epoch", subset="besiroglu2024")
    every = corpus.loss_points("chinchilla_epoch")
    assert (sub.height, every.height) == (240, 245)
    head = every.sort("loss").head(240)
    assert sub.sort("run_id").equals(head.sort("run_id"))
    assert sub["loss"].max() < every.sort("loss", descending=True)["loss"][4]  # Epoch: loss < sorted(loss)[-5]
    assert sub["run_id"].to_list() == [r for r in every["run_id"].to_list() if r in set(sub["run_id"])]  # order kept


def test_subset_is_declared_with_its_paper():
    (sub,) = corpus.get_source("chinchilla_epoch").subsets
    assert (sub.name, sub.used_by, sub.column, sub.drop_highest) == (
        "besiroglu2024",
        "Besiroglu et al. 2024",
        "loss",
        5,
    )
    assert sub.reference.startswith("arXiv:2404.10102")
    assert sub.rule == "the 5 highest-loss points dropped"
    assert "2404.10102" in corpus.get_source("chinchilla_epoch").arxiv


def test_an_unknown_subset_names_the_known_ones():
    with pytest.raises(WorkbenchError, match=r"has no subset 'x' \(known: besiroglu2024\)$"):
        corpus.loss_points("chinchilla_epoch", subset="x")
    with pytest.raises(WorkbenchError, match="'gadre_overtraining' has no subsets"):
        corpus.loss_points("gadre_overtraining", subset="besiroglu2024")


@given(values=st.lists(st.integers(0, 6), min_size=2, max_size=30), n=st.integers(1, 5))
def test_drop_highest_keeps_what_is_below_the_nth_highest_value(values, n):
    """Epoch's rule: ties at the n-th highest value go too, so at least n rows go and no kept row reaches a dropped
    one.
    """
    frame = pl.DataFrame({"row": range(len(values)), "loss": [float(v) for v in values]})
    rule = Subset("s", "someone", "arXiv:0000.00000", "test", "loss", n)
    if len(values) <= n:
        with pytest.raises(WorkbenchError, match="drops the"):
            corpus.select_subset(frame, rule, "t")
        return
    kept = corpus.select_subset(frame, rule, "t")
    threshold = sorted(values)[-n]
    assert kept["loss"].to_list() == [float(v) for v in values if v < threshold]
    assert kept["row"].to_list() == sorted(kept["row"].to_list())
    assert len(values) - kept.height >= n


def test_the_rule_needs_its_column():
    rule = Subset("s", "someone", "arXiv:0000.00000", "test", "loss", 1)
    with pytest.raises(WorkbenchError, match="t: subset 's' selects by column 'loss', which these rows lack"):
        corpus.select_subset(pl.DataFrame({"value": [1.0, 2.0]}), rule, "t")


REGISTRY = """
[[source]]
id = "mini"
title = "t"
citation = "c"
backing = "b"
repository = "o/r"
commit = "0000000000000000000000000000000000000000"
licence = "MIT"
how_obtained = "h"
"""


@pytest.mark.parametrize(
    "table, message",
    [
        ('used_by = "u"\nreference = "r"\ndescription = "d"\n', "needs exactly one rule (drop_highest)"),
        (
            'used_by = "u"\nreference = "r"\ndescription = "d"\ndrop_highest = { column = "loss", n = 0 }\n',
            "drop_highest must look like",
        ),
        (
            'used_by = "u"\nreference = "r"\ndescription = "d"\ndrop_highest = { column = "loss", n = 5 }\nkeep = 3\n',
            "unknown: keep",
        ),
        ('reference = "r"\ndescription = "d"\ndrop_highest = { column = "loss", n = 5 }\n', "missing field 'used_by'"),
    ],
)
def test_a_badly_declared_subset_fails_naming_file_source_and_subset(tmp_path, table, message):
    (tmp_path / "sources.toml").write_text(REGISTRY + "\n[source.subsets.paper]\n" + table)
    with pytest.raises(WorkbenchError) as err:
        sources(tmp_path)
    text = str(err.value)
    assert text.startswith(f"{tmp_path / 'sources.toml'}: source 'mini' subset 'paper': ") and message in text
    assert "\n" not in text


def test_a_well_declared_subset_loads(tmp_path):
    table = 'used_by = "u"\nreference = "r"\ndescription = "d"\ndrop_highest = { column = "loss", n = 2 }\n'
    (tmp_path / "sources.toml").write_text(REGISTRY + "\n[source.subsets.paper]\n" + table)
    (sub,) = sources(tmp_path)["mini"].subsets
    assert sub == Subset("paper", "u", "r", "d", "loss", 2)
