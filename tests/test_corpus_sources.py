"""The registry and the curated tables: provenance on every row, and the facts each recipe promises.

These are properties of the published numbers as curated, checked on the
committed tables: every row names its paper, figure, repository, commit and
licence as the registry does; the QuEST FP4 runs are no longer 16-bit; the
Open-Athena compilation repeats no Epoch or Llama 3 point; coverage grows
with k; the corpus fits the Binder budget.
"""

from __future__ import annotations

import re
from datetime import date

import polars as pl
import pytest
from conftest import ROOT

from workbench import corpus
from workbench.corpus.schema import AXES, PARAMS_CONVENTIONS
from workbench.corpus.sources import sources
from workbench.errors import WorkbenchError

ALL = list(sources())
EXPECTED = {
    "chinchilla_epoch",
    "chinchilla_configs",
    "gadre_overtraining",
    "porian_discrepancies",
    "misfitting",
    "llama3_isoflops",
    "open_athena_isoflops",
    "pythia_evals",
    "obs_scaling",
    "epoch_ai_models",
    "quest_qat",
    "quartet2_nvfp4",
    "laion_clip_mammut",
    "language_monkeys",
    "bnsl_addition",
}


@pytest.fixture(scope="module")
def tables():
    return {sid: corpus.load(sid) for sid in ALL}


def test_every_issue_source_is_registered():
    assert EXPECTED <= set(ALL)


@pytest.mark.parametrize("sid", ALL)
def test_registry_entry_is_complete(sid):
    src = corpus.get_source(sid)
    for field in ("title", "citation", "backing", "repository", "licence", "how_obtained", "params_convention"):
        assert getattr(src, field).strip(), field
    assert re.fullmatch(r"[0-9a-f]{40}", src.commit)
    assert re.fullmatch(r"[\w.-]+/[\w.-]+", src.repository)
    assert src.arxiv and all(re.fullmatch(r"\d{4}\.\d{4,5}", a) for a in src.arxiv)
    assert src.caveats
    assert src.files and all(re.fullmatch(r"[0-9a-f]{64}", f.sha256) for f in src.files)
    assert src.bibtex.startswith("@") and src.bibtex.count("{") == src.bibtex.count("}")
    for f in src.files:
        if f.repository:
            assert re.fullmatch(r"[0-9a-f]{40}", f.commit), f.path


@pytest.mark.parametrize("sid", ALL)
def test_every_row_carries_the_registry_provenance(sid, tables):
    src = corpus.get_source(sid)
    df = tables[sid]
    assert df.height > 0
    assert df["source_id"].unique().to_list() == [sid]
    assert df["repository"].unique().to_list() == [src.repository]
    assert df["source_commit"].unique().to_list() == [src.commit]
    assert df["licence"].unique().to_list() == [src.licence]
    for col in ("paper", "backing", "run_id", "eval_set", "metric"):
        assert df[col].null_count() == 0 and (df[col].str.len_chars() > 0).all(), col
    assert df["params_convention"].drop_nulls().is_in(PARAMS_CONVENTIONS).all()


def test_corpus_fits_the_binder_budget():
    size = sum(p.stat().st_size for p in (ROOT / "datasets").rglob("*") if p.is_file())
    assert size <= 25 * 1024 * 1024


def test_load_filters_by_source_metric_axis_and_final(tables):
    precision = corpus.load(axes=["weight_bits"])
    assert set(precision["source_id"].unique()) == {"quest_qat", "quartet2_nvfp4"}
    both = corpus.load(["quest_qat", "misfitting"], metric="loss", final_only=True)
    assert both.height == tables["quest_qat"].height + tables["misfitting"]["final"].sum()
    assert corpus.load("obs_scaling", metric="pass_at_k")["k"].unique().to_list() == [1]
    with pytest.raises(WorkbenchError, match="unknown axis 'bits'"):
        corpus.load("quest_qat", axes=["bits"])
    with pytest.raises(WorkbenchError, match="unknown corpus source 'nope'"):
        corpus.load("nope")


def test_loss_points_with_another_loss_metric():
    pts = corpus.loss_points("llama3_isoflops", metric="loss_as_plotted")
    assert pts.height == 133 and pts["loss"].is_between(0.6, 1.0).all()
    with pytest.raises(WorkbenchError, match="no final-checkpoint 'loss' rows \\(its metrics: loss_as_plotted\\)"):
        corpus.loss_points("llama3_isoflops")


def test_quest_fp4_runs_are_recorded_as_4_bit_floating_point(tables):
    q = tables["quest_qat"]
    fp4 = q.filter(pl.col("condition").str.contains("FP4"))
    assert fp4.height == 4
    assert (fp4["weight_bits"] == 4).all() and (fp4["activation_bits"] == 4).all()
    assert fp4["number_format"].unique().to_list() == ["fp"]
    assert (fp4["exponent_bits"] == 2).all() and (fp4["mantissa_bits"] == 1).all()
    assert fp4["note"].str.contains("labelled 16/16").all()
    sixteen = q.filter(pl.col("weight_bits") == 16)
    assert sixteen["condition"].str.starts_with("w=NoQuantizer ").all()


def test_quartet_passes_and_formats(tables):
    q = tables["quartet2_nvfp4"]
    group = pl.col("condition").str.split(" ").list.first()
    full = q.filter(group.is_in(["quartetv2", "nvidia", "tetrajetv2"]))
    assert (full["weight_bits"] == 4).all() and (full["gradient_bits"] == 4).all()
    assert (full["number_format"] == "nvfp4").all() and (full["block_size"] == 16).all()
    forward = q.filter(group.str.starts_with("forward"))
    assert (forward["gradient_bits"] == 16).all() and (forward["weight_bits"] == 4).all()
    backward = q.filter(group.str.starts_with("backward") | group.str.contains("albert_tseng") | (group == "bnrq"))
    assert (backward["weight_bits"] == 16).all() and (backward["gradient_bits"] == 4).all()
    base = q.filter(group == "baseline")
    assert base.height == 21 and (base["number_format"] == "bf16").all()


def test_open_athena_repeats_no_point_of_epoch_or_llama3(tables):
    oa = tables["open_athena_isoflops"]
    assert set(oa["condition"].str.split("__").list.first().unique()) == {"marin_202603", "misfitting"}
    epoch = tables["chinchilla_epoch"].select(p="params", l="value")
    near = oa.join(epoch, how="cross").filter(
        ((pl.col("params") - pl.col("p")).abs() <= 0.5) & ((pl.col("value") - pl.col("l")).abs() <= 1e-9)
    )
    assert near.height == 0
    llama = tables["llama3_isoflops"].select(t="tokens", l="value")
    assert oa.join(llama, left_on="tokens", right_on="t").height == 0
    assert oa["in_source_fit"].null_count() == 0
    flagged = oa.filter(~pl.col("in_source_fit"))
    assert flagged.height > 0 and flagged["note"].str.contains("Open-Athena QC").all()


def test_misfitting_runs_have_increasing_steps_and_at_most_one_final(tables):
    m = tables["misfitting"]
    per_run = m.group_by("run_id").agg(
        finals=pl.col("final").sum(),
        increasing=(pl.col("step").diff().drop_nulls() > 0).all(),
        tokens_up=(pl.col("tokens").diff().drop_nulls() > 0).all(),
    )
    assert (per_run["finals"] <= 1).all() and per_run["increasing"].all() and per_run["tokens_up"].all()
    assert m["final"].sum() == 260  # 261 in the raw file, one of them in the run exported twice


def test_pythia_tokens_follow_steps_and_accuracies_are_fractions(tables):
    p = tables["pythia_evals"]
    std = p.filter(pl.col("condition").is_null() & (pl.col("step") > 0))
    assert (std["tokens"] == std["step"].cast(pl.Float64) * 2_097_152).all()
    assert p.filter(pl.col("step") == 0)["tokens"].null_count() == p.filter(pl.col("step") == 0).height
    acc = p.filter(pl.col("metric").is_in(["accuracy", "accuracy_norm"]))
    assert acc["value"].is_between(0, 1).all()
    assert (p.filter(pl.col("final"))["step"].unique().sort().to_list()) == [143000, 572000, 1144000]
    mmlu = p.filter(pl.col("eval_set") == "mmlu_subject_mean")
    assert mmlu.height == 432 + 269


def test_language_monkeys_coverage_grows_with_k(tables):
    cov = tables["language_monkeys"].filter(pl.col("metric") == "coverage").sort("k")
    by = cov.group_by("condition", "run_id", "eval_set").agg(
        ok=(pl.col("value").diff().drop_nulls() >= -1e-12).all(), n=pl.len()
    )
    assert by["ok"].all()
    assert set(by["n"].unique()) == {24, 101}


def test_gadre_runs_have_all_eight_losses_and_46_accuracies(tables):
    g = tables["gadre_overtraining"]
    counts = g.group_by("run_id").agg(
        (pl.col("metric") == "loss").sum().alias("losses"), (pl.col("metric") == "accuracy").sum().alias("accs")
    )
    assert counts.height == 104 and (counts["losses"] == 8).all() and (counts["accs"] == 46).all()
    c4 = g.filter((pl.col("eval_set") == "c4_val") & (pl.col("metric") == "loss"))
    assert c4["value"].is_between(2.0, 8.0).all()
    assert (g["tokens"] / g["params"]).min() > 4  # multiplier 0.25 x 20 tokens per parameter


def test_epoch_catalogue_is_language_models_with_dates(tables):
    e = tables["epoch_ai_models"]
    assert set(e["metric"].unique()) == {"parameters", "training_compute", "dataset_size"}
    assert e["date"].null_count() == 0 and e["date"].min() >= date(1950, 1, 1)
    compute = e.filter(pl.col("metric") == "training_compute")
    assert (compute["flops"] == compute["value"]).all()
    assert e["tokens"].null_count() == e.height  # datapoints are not assumed to be tokens


def test_obs_scaling_axes_are_plain_counts(tables):
    o = tables["obs_scaling"]
    assert o["params"].min() >= 1e7 and o["tokens"].drop_nulls().min() >= 1e9 and o["flops"].drop_nulls().min() >= 1e18
    assert o["family"].null_count() == 0


def test_bnsl_marks_the_three_held_out_points(tables):
    b = tables["bnsl_addition"].sort("samples")
    assert b["in_source_fit"].to_list() == [True] * 14 + [False] * 3


def test_chinchilla_configs_conventions(tables):
    c = tables["chinchilla_configs"]
    assert c["run_id"].n_unique() == 50 and c["condition"].n_unique() == 6
    assert set(c["width"].unique()) >= {512, 5120}
    reported = c.filter(pl.col("condition") == "reported")
    assert (reported["params_convention"] == "unknown").all()


def test_sources_cli_lists_rows_axes_licence_citation(capsys):
    import json

    from workbench.cli import main

    assert main(["sources", "--json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == set(ALL)
    assert rows["quest_qat"]["rows"] == 104 and "weight_bits" in rows["quest_qat"]["axes"]
    assert rows["epoch_ai_models"]["axes"] == ["params", "flops", "date"]
    assert all(set(r["axes"]) <= set(AXES) for r in rows.values())


def test_every_metric_in_the_corpus_is_documented_with_its_unit(tables):
    from workbench.corpus.schema import METRICS

    used = set().union(*(set(t["metric"].unique()) for t in tables.values()))
    assert used <= set(METRICS), used - set(METRICS)
    fractions = [m for m, unit in METRICS.items() if "[0, 1]" in unit]
    for sid, t in tables.items():
        frac = t.filter(pl.col("metric").is_in(fractions))
        assert frac["value"].is_between(0, 1).all(), sid


def test_datasets_readme_lists_every_source_with_its_rows(tables):
    text = (ROOT / "datasets" / "README.md").read_text()
    for sid, t in tables.items():
        assert re.search(rf"^\| `{sid}` \| {t.height} \|", text, re.M), sid
    size = sum(p.stat().st_size for p in (ROOT / "datasets").glob("*.csv")) / 1e6
    assert f"Total size: {size:.1f} MB" in text
