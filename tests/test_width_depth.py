"""Width and depth: the Gemstones law, and the test of whether a grouping of runs matters at all.

The law's presets are the authors' released fits, so its predictions are checked against their
own parameterisation (log-sum-exp of log amplitudes); the pooled-versus-separate test is checked
for power (it rejects pooling when groups differ) and for its level (on groups drawn from one law
it rejects at about its nominal rate over seeds).
"""

from __future__ import annotations

import json
import re

import numpy as np
import polars as pl
import pytest
from conftest import ROOT

from workbench.analysis.groups import pooled_vs_separate, shared_vs_separate
from workbench.errors import WorkbenchError
from workbench.fit import fit
from workbench.laws import CHINCHILLA, LAWS, get_law
from workbench.laws.gemstones import GEMSTONES, depth_for, params_of_shape

# The authors' all-data width-depth fit as their JSON stores it (mcleish7/gemstone-scaling-laws@1fb97a2,
# parameters_delta-4/approach_3_width_depth_parameters_grid_search_0_hot_100b+.json).
AUTHORS_EXPONENTS = np.array([0.2195783536, 0.4758917337, 0.3636454068, 0.4935127042])
AUTHORS_LOG_AMPLITUDES = np.array([1.082043835, -0.2186969889, 6.0902355695, 10.4720427681])
AUTHORS_LOG_E = 0.4282048563


def _authors_prediction(x: np.ndarray) -> float:
    """Their predictor: exp(e) + sum_i exp(a_i - alpha_i log x_i), x = (width, depth, params, tokens)."""
    return float(np.exp(AUTHORS_LOG_E) + np.sum(np.exp(AUTHORS_LOG_AMPLITUDES - AUTHORS_EXPONENTS * np.log(x))))


def _gemstone_runs(values, n: int = 80, seed: int = 0) -> pl.DataFrame:
    """Runs of Gemstones-style shapes (widths 256-4096, depths 4-60) at 1B-300B tokens, loss from the law."""
    rng = np.random.default_rng(seed)
    width = 2 ** rng.uniform(8, 12, n)
    depth = rng.integers(4, 61, n).astype(float)
    cols = {
        "width": width,
        "depth": depth,
        "params": params_of_shape(width, depth),
        "tokens": 10 ** rng.uniform(9, 11.5, n),
    }
    return pl.DataFrame({**cols, "loss": GEMSTONES.predict(cols, values)})


# -- the law -------------------------------------------------------------------------------------


def test_registered_with_authors_code_presets_only():
    assert LAWS["gemstones"] is GEMSTONES
    assert GEMSTONES.variables == ("width", "depth", "params", "tokens") and GEMSTONES.basis is not None
    assert [p.name for p in GEMSTONES.presets] == [
        "mcleish2025_all",
        "mcleish2025_100b",
        "mcleish2025_120b",
        "mcleish2025_cooldown",
        "mcleish2025_lr_half",
    ]
    for preset in GEMSTONES.presets:
        assert preset.origin == "authors-code" and preset.label == "authors' code"  # never "published"
        assert preset.locator.startswith("mcleish7/gemstone-scaling-laws@1fb97a26b3a4ee647475ee3b46d67413b1844405:")


@pytest.mark.parametrize(
    "point",
    [(1024, 16, 1e9, 1e11), (256, 23, 5e7, 3.5e11), (3072, 12, 1.6e9, 1e10), (4096, 48, 1e10, 1e13)],
)
def test_predictions_match_the_authors_parameterisation(point):
    x = dict(zip(GEMSTONES.variables, (np.array([float(v)]) for v in point)))
    got = GEMSTONES.predict(x, GEMSTONES.preset("mcleish2025_all").values)[0]
    assert got == pytest.approx(_authors_prediction(np.array(point, dtype=float)), rel=1e-12)


def test_prediction_at_a_known_point():
    """Worked by hand from the stored constants: 1.5345 + 0.6427 + 0.2150 + 0.2397 + 0.1287 (w 1024, d 16, 1B, 100B)."""
    x = {"width": 1024.0, "depth": 16.0, "params": 1e9, "tokens": 1e11}
    assert GEMSTONES.predict(x, GEMSTONES.preset("mcleish2025_all").values)[0] == pytest.approx(2.7605439, abs=1e-6)


def test_same_size_different_shape_different_loss_with_a_best_shape():
    """At fixed N and D the width term falls and the depth term rises with width: an interior optimum."""
    v = GEMSTONES.preset("mcleish2025_all").values
    width = np.geomspace(256, 8192, 200)
    depth = depth_for(1e9, width)
    assert np.allclose(params_of_shape(width[~np.isnan(depth)], depth[~np.isnan(depth)]), 1e9)
    loss = GEMSTONES.predict({"width": width, "depth": depth, "params": 1e9, "tokens": 1e11}, v)
    best = int(np.nanargmin(loss))
    assert 0 < best < np.count_nonzero(~np.isnan(loss)) - 1
    assert 900 < width[best] < 1500 and np.nanmax(loss[: best + 1]) - loss[best] > 0.03
    # the shape barely matters once the law has no width or depth term: Chinchilla's form
    flat = {**v, "A_w": 0.0, "A_d": 0.0}
    chin = {"E": v["E"], "A": v["A_N"], "B": v["A_D"], "alpha": v["alpha_N"], "beta": v["alpha_D"]}
    cols = {"width": width, "depth": depth, "params": np.full_like(width, 1e9), "tokens": np.full_like(width, 1e11)}
    np.testing.assert_allclose(GEMSTONES.predict(cols, flat), CHINCHILLA.predict(cols, chin), rtol=1e-12)


def test_parameter_count_of_a_shape():
    # d (15 w^2 + 2 w) + w (2 * 50304 + 1), by hand for the Gemstone-256x23 shape
    assert params_of_shape(256, 23) == 23 * (15 * 256**2 + 2 * 256) + 256 * 100609 == 48_377_600
    assert depth_for(params_of_shape(2048, 18), 2048) == pytest.approx(18.0)
    assert np.isnan(depth_for(1e6, 2048))  # the embeddings alone are larger


@pytest.mark.parametrize("preset", ["mcleish2025_all", "mcleish2025_cooldown"])
def test_noiseless_runs_give_back_the_constants(preset):
    truth = GEMSTONES.preset(preset).values
    res = fit(GEMSTONES, _gemstone_runs(truth))
    assert res.warnings == ()
    for name, value in truth.items():
        assert res.params[name] == pytest.approx(value, rel=1e-6), name


# -- pooled against separate ---------------------------------------------------------------------


def _one_law(seed: int, shift: float = 0.0, n: int = 25) -> pl.DataFrame:
    """Two groups of a power law with offset; ``shift`` raises the second group's irreducible loss."""
    rng = np.random.default_rng(seed)
    frames = []
    for g, s in (("a", 0.0), ("b", shift)):
        params = 10 ** rng.uniform(6, 10, n)
        loss = (1.7 + s + 300.0 / params**0.3) * np.exp(rng.normal(0.0, 0.01, n))
        frames.append(pl.DataFrame({"params": params, "loss": loss, "arch": g}))
    return pl.concat(frames)


def _arch_runs(seed: int = 0, e_shift: float = 0.03, n: int = 30) -> pl.DataFrame:
    """Chinchilla runs of two architectures that differ only in E (by ``e_shift``)."""
    rng = np.random.default_rng(seed)
    frames = []
    for arch, shift in (("deep", 0.0), ("wide", e_shift)):
        params = 10 ** rng.uniform(7, 10, n)
        tokens = 10 ** rng.uniform(9, 12, n)
        loss = (1.8 + shift + 400.0 / params**0.34 + 2000.0 / tokens**0.28) * np.exp(rng.normal(0.0, 0.003, n))
        frames.append(pl.DataFrame({"params": params, "tokens": tokens, "loss": loss, "arch": arch}))
    return pl.concat(frames)


def test_pooling_is_kept_at_about_its_level_when_one_law_made_every_group():
    """Over 100 seeds of groups drawn from one law, the F-test's p is about uniform: ~5 % below 0.05."""
    law = get_law("power_offset_params")
    tests = [pooled_vs_separate(law, _one_law(seed), "arch") for seed in range(100)]
    p = np.array([t.f_test[1] for t in tests])
    assert np.mean(p < 0.05) <= 0.10, np.sort(p)[:10]  # 3 of 100 when written
    assert 0.4 < p.mean() < 0.6 and 0.1 < np.mean(p < 0.25) < 0.4, p
    assert np.mean([t.delta_aic > 0 for t in tests]) >= 0.7  # AIC keeps the nested model ~ P(chi2_3 < 6) = 89 %


def test_pooling_is_rejected_when_the_groups_differ():
    law = get_law("power_offset_params")
    for seed in range(3):
        t = pooled_vs_separate(law, _one_law(seed, shift=0.05), "arch")
        assert t.f_test[1] < 1e-3 and t.delta_aic < -10, t.to_dict()
        assert "strongly prefers a separate law per group" in t.verdict
        e = t.params.filter(pl.col("parameter") == "E").row(0, named=True)
        assert e["b"] - e["a"] == pytest.approx(0.05, abs=0.03) and e["a"] < e["pooled"] < e["b"]
    assert t.table["model"].to_list() == ["pooled", "separate"] and t.table["free_parameters"].to_list() == [3, 6]


def test_groups_that_differ_only_in_e_reject_pooling_but_share_exponents():
    """The two group tests answer different questions: do the groups differ, and do they differ in exponents?"""
    runs = _arch_runs()
    pooling = pooled_vs_separate(CHINCHILLA, runs, "arch")
    sharing = shared_vs_separate(CHINCHILLA, runs, "arch", separate=pooling.separate)
    assert pooling.f_test[1] < 1e-3 and pooling.delta_aic < -10
    assert sharing.f_test[1] > 0.05 and sharing.delta_aic > 0
    assert sharing.separate is not pooling.separate and dict(sharing.separate) == dict(pooling.separate)  # reused
    assert sharing.law is CHINCHILLA


def test_any_law_can_be_pooled_even_one_without_coefficients():
    law = get_law("kaplan_nd")
    t = pooled_vs_separate(law, _arch_runs(e_shift=0.0), "arch")
    assert set(t.params["parameter"]) == set(law.names) and np.isfinite(t.f_test[1])


def test_pooling_comparison_refuses_what_it_cannot_compare():
    law = get_law("power_offset_params")
    runs = _one_law(0)
    with pytest.raises(WorkbenchError, match="one group"):
        pooled_vs_separate(law, runs.filter(pl.col("arch") == "a"), "arch")
    with pytest.raises(WorkbenchError, match="no column 'nope'"):
        pooled_vs_separate(law, runs, "nope")
    tiny = pl.concat([runs.filter(pl.col("arch") == "a"), runs.filter(pl.col("arch") == "b").head(3)])
    with pytest.raises(WorkbenchError, match="group 'b' of column 'arch' has 3 rows"):
        pooled_vs_separate(law, tiny, "arch")
    with pytest.raises(WorkbenchError, match="no group at row 2"):
        hole = pl.when(pl.int_range(pl.len()) == 1).then(None).otherwise(pl.col("arch")).alias("arch")
        pooled_vs_separate(law, runs.with_columns(hole), "arch")
    huber = {g: fit(law, runs.filter(pl.col("arch") == g)) for g in ("a", "b")}
    with pytest.raises(WorkbenchError, match="not a squared fit"):
        pooled_vs_separate(law, runs, "arch", separate=huber)
    with pytest.raises(WorkbenchError, match="separate fits given are of groups"):
        pooled_vs_separate(law, runs, "arch", separate={"a": huber["a"]})


def test_to_dict_is_json_ready():
    d = pooled_vs_separate(get_law("power_offset_params"), _one_law(1, shift=0.05), "arch").to_dict()
    assert set(d) == {"by", "groups", "loss", "delta_aic", "f_statistic", "p_value", "verdict", "models", "params"}
    assert d["loss"] == "squared" and d["groups"] == ["a", "b"]
    assert d["params"][0] == {
        "parameter": "E",
        "pooled": d["params"][0]["pooled"],
        "a": pytest.approx(1.7, abs=0.05),
        "b": pytest.approx(1.75, abs=0.05),
    }
    json.dumps(d, allow_nan=False)


# -- the command line ----------------------------------------------------------------------------


def test_cli_per_group_reports_both_tests(tmp_path, capsys):
    from workbench.cli import main

    path = tmp_path / "runs.csv"
    _arch_runs().write_csv(path)
    before = path.read_bytes()
    assert main(["fit", "--law", "chinchilla", "--data", str(path), "--per-group", "arch", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    grouping, sharing = out["grouping"], out["sharing"]
    assert set(grouping) == {
        "by",
        "groups",
        "loss",
        "delta_aic",
        "f_statistic",
        "p_value",
        "verdict",
        "models",
        "params",
    }
    assert grouping["by"] == "arch" and grouping["groups"] == ["deep", "wide"] and grouping["loss"] == "squared"
    assert grouping["p_value"] < 1e-3 and sharing["p_value"] > 0.05
    assert [m["model"] for m in grouping["models"]] == ["pooled", "separate"]
    assert {r["parameter"] for r in grouping["params"]} == {"E", "A", "B", "alpha", "beta"}
    assert path.read_bytes() == before

    assert main(["fit", "--law", "chinchilla", "--data", str(path), "--per-group", "arch"]) == 0
    text = capsys.readouterr().out
    assert "one law for all vs one per group of arch (squared fits): strongly prefers a separate law per group" in text
    assert "shared vs separate exponents across arch (squared fits): prefers shared exponents" in text
    assert text.index("one law for all") < text.index("shared vs separate")

    assert (
        main(
            ["fit", "--law", "chinchilla", "--data", str(path), "--per-group", "arch", "--fix", "E[deep]=1.8", "--json"]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert "skipped" in out["grouping"] and "skipped" in out["sharing"]


def test_cli_fits_and_predicts_with_the_gemstones_law(tmp_path, capsys):
    from workbench.cli import main

    truth = GEMSTONES.preset("mcleish2025_all").values
    path = tmp_path / "gemstones.csv"
    _gemstone_runs(truth, n=60, seed=3).write_csv(path)
    assert main(["fit", "--law", "gemstones", "--data", str(path), "--predict", "1024:16:1e9:1e11", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["params"]) == set(GEMSTONES.names)
    assert out["params"]["alpha_w"] == pytest.approx(truth["alpha_w"], rel=1e-6)
    (pred,) = out["predictions"]
    assert pred["width"] == 1024 and pred["depth"] == 16 and pred["loss"] == pytest.approx(2.7605439, abs=1e-5)
    assert main(["fit", "--list-laws", "--json"]) == 0
    row = {r["name"]: r for r in json.loads(capsys.readouterr().out)}["gemstones"]
    assert {p["label"] for p in row["presets"]} == {"authors' code"}


# -- the README ----------------------------------------------------------------------------------


def test_readme_width_depth_example_prints_what_it_says(capsys):
    text = (ROOT / "README.md").read_text()
    (code,) = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "depth_for" in b]
    exec(compile(code, "README.md", "exec"), {})
    expected = re.findall(r"^# (.+)$", code, flags=re.M)
    assert capsys.readouterr().out.splitlines() == expected


def test_readme_group_test_lines_are_what_the_cli_prints(tmp_path, capsys):
    from workbench.cli import main

    path = tmp_path / "runs.csv"
    _arch_runs().write_csv(path)
    assert main(["fit", "--law", "chinchilla", "--data", str(path), "--per-group", "arch"]) == 0
    printed = capsys.readouterr().out.splitlines()
    section = (ROOT / "README.md").read_text().split("### Width and depth", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```text\n(.*?)```", section, flags=re.S)
    for line in block.strip().splitlines():
        assert line in printed, line


# -- the course section --------------------------------------------------------------------------


def test_course_lesson_three_has_the_width_depth_topic():
    from workbench.course import LESSONS

    assert LESSONS[3] == ("chinchilla_approaches", "width_depth")


@pytest.mark.parametrize("ratio", [1.0, 8.0, 28.0, 500.0])
def test_shapes_are_solved_to_the_parameter_budget(ratio):
    from workbench.course.width_depth import shape_for

    width, depth = shape_for(1e9, ratio)
    assert float(width / depth) == pytest.approx(ratio) and float(params_of_shape(width, depth)) == pytest.approx(1e9)


def test_tokens_move_the_loss_but_not_the_best_shape():
    from workbench.course.width_depth import FITS, best_shape

    for preset in FITS:
        few, many = best_shape(preset, 1e9, 1e10), best_shape(preset, 1e9, 1e13)
        assert few["ratio"] == many["ratio"] and few["loss"] > many["loss"]
    # the best shape gets wider relative to its depth as N grows, under every fit
    for preset in FITS:
        assert best_shape(preset, 1e8, 1e10)["ratio"] < best_shape(preset, 1e10, 1e12)["ratio"]


def test_explorer_says_what_a_shape_costs_and_labels_the_constants(tmp_path):
    from workbench.course.width_depth import WidthDepthExplorer, width_depth_figure

    ex = WidthDepthExplorer(export_dir=tmp_path)
    s = ex._tables["summary"].row(0, named=True)
    assert s["loss"] > s["best_loss"] and 20 < s["best_ratio"] < 35  # an 8:1 model at 1e9 is off the optimum
    assert "puts the best shape at width 1178, depth 42 (w/d 28)" in ex.sentence()
    ex.params.value, ex.ratio.value = 1e8, 1000.0
    assert "no such model" in ex.sentence()  # under one layer
    assert "not constants printed in the paper" in ex.readout()
    assert "Gemstones" in ex.bibtex and ex.bibtex.lstrip().startswith("@")
    names = {p.name for p in ex.export()}
    assert {"03_width_depth-001.svg", "03_width_depth-001.bib", "03_width_depth-001-summary.csv"} <= names
    f = width_depth_figure()
    assert f.notebook == "03_chinchilla_approaches" and "not constants printed in the paper" in f.caption


def test_a_law_in_n_and_d_cannot_pool_shallow_and_deep_models_the_width_depth_law_can():
    from workbench.course.width_depth import grouping_table

    rows = {r["law"].split(":")[0]: r for r in grouping_table().iter_rows(named=True)}
    assert rows["chinchilla"]["p_value"] < 1e-6 and rows["chinchilla"]["delta_aic"] < -10
    assert rows["gemstones"]["p_value"] > 0.5 and rows["gemstones"]["delta_aic"] > 0
