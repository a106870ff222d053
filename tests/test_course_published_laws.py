"""The course topics drawn from published laws without runnable experiments: Henighan et al.'s domains (lesson 02),
ParScale (lesson 12) and Isik et al.'s transfer laws (lesson 05).

Each explorer is checked for what it claims: the numbers it shows are the law's (from the presets for Henighan,
from the illustrative constants for the two laws without presets), its controls move them, and the two laws without
checked constants say so wherever they are shown.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from workbench.course import LESSONS
from workbench.course.multimodal import DEFAULT_DOMAINS, DOMAINS, HenighanExplorer, henighan_figure, short
from workbench.course.parallel_scaling import ILLUSTRATIVE, ParScaleExplorer, dense_equivalent, parscale_figure
from workbench.course.transfer import (
    ILLUSTRATIVE_CE,
    ILLUSTRATIVE_SCORE,
    TransferExplorer,
    score_defined_from,
    transfer_figure,
)
from workbench.laws.henighan import HENIGHAN_C, HENIGHAN_N, PF_DAY
from workbench.laws.isik import ISIK_CE, ISIK_SCORE
from workbench.laws.parscale import PARSCALE, equivalent_params


def test_the_topics_are_lessons_02_05_and_12():
    assert LESSONS[2] == ("chinchilla", "multimodal")
    assert LESSONS[5] == ("downstream", "benchmark_noise", "transfer")
    assert LESSONS[12] == ("inference_scaling", "parallel_scaling")


def test_short_numbers():
    assert [short(1e9), short(3.2e-5), short(1.0), short(1.554e9, 3)] == ["1e9", "3.2e-5", "1", "1.55e9"]


# -- Henighan et al. 2020 -----------------------------------------------------------------------------------------


def _row(table, domain):
    return table.filter(table["domain"] == DOMAINS[domain]).row(0, named=True)


def test_henighan_points_are_table1_presets_at_the_sliders():
    ex = HenighanExplorer()
    ex.n.value, ex.c.value = 1e8, 10.0
    for domain in DEFAULT_DOMAINS:
        n = HENIGHAN_N.preset(f"henighan2020_{domain}").values
        at = _row(ex.shown_tables["at_n"], domain)
        assert at["x"] == pytest.approx(1e8)
        assert at["loss"] == pytest.approx(n["L_inf"] + (n["x_0"] / 1e8) ** n["alpha"], rel=1e-12)
        assert at["L_inf"] == n["L_inf"] and at["reducible"] == pytest.approx(at["loss"] - n["L_inf"])
        c = HENIGHAN_C.preset(f"henighan2020_{domain}").values  # x_0 stored in FLOP, the slider in PF-days
        assert _row(ex.shown_tables["at_c"], domain)["loss"] == pytest.approx(
            c["L_inf"] + (c["x_0"] / (10.0 * PF_DAY)) ** c["alpha"], rel=1e-12
        )


def test_henighan_reducible_loss_is_a_straight_line_of_slope_minus_alpha():
    curves = HenighanExplorer().shown_tables["curves_n"]
    for domain in DEFAULT_DOMAINS:
        part = curves.filter((curves["domain"] == DOMAINS[domain]) & (curves["part"] == "reducible L − L∞"))
        slope = np.polyfit(np.log(part["x"].to_numpy()), np.log(part["loss"].to_numpy()), 1)[0]
        assert slope == pytest.approx(-HENIGHAN_N.preset(f"henighan2020_{domain}").values["alpha"], rel=1e-9)
    floors = curves.filter(curves["part"] == "floor L∞")
    assert DOMAINS["language"] not in set(floors["domain"])  # L_inf = 0: no floor on a log axis
    assert set(floors.filter(floors["domain"] == DOMAINS["image32"])["loss"]) == {2.20}


def test_henighan_exponents_are_every_table1_row():
    ex = HenighanExplorer()
    exps = ex.shown_tables["exponents"]
    assert exps.height == len(HENIGHAN_N.presets) + len(HENIGHAN_C.presets) == 22
    for key, label in DOMAINS.items():
        got = dict(exps.filter(exps["domain"] == label).select("law", "alpha").iter_rows())
        assert got["L(N): α_N"] == HENIGHAN_N.preset(f"henighan2020_{key}").values["alpha"]
        if key.endswith("_text"):  # the multimodal text losses have no compute fit
            assert "L(C): α_C" not in got
        else:
            assert got["L(C): α_C"] == HENIGHAN_C.preset(f"henighan2020_{key}").values["alpha"]
    assert set(exps.filter(exps["chosen"])["domain"]) == {DOMAINS[d] for d in DEFAULT_DOMAINS}


def test_henighan_controls_move_the_figure():
    ex = HenighanExplorer()
    before = ex.sentence()
    ex.n.value = 1e12
    assert ex.last_update_seconds > 0 and ex.sentence() != before and "N = 1e12" in ex.sentence()
    # more parameters, smaller reducible share: 1e12 vs 1e9
    assert _row(ex.shown_tables["at_n"], "image32")["reducible"] < (6.3e1 / 1e9) ** 0.13
    ex.domains.value = ("image8", "text_to_image_text")
    assert set(ex.shown_tables["curves_n"]["domain"]) == {"image 8x8", "text-to-image: text"}
    assert set(ex.shown_tables["curves_c"]["domain"]) == {"image 8x8"}
    assert "No L(C) fit in Table 1 for text-to-image: text" in ex.readout()
    ex.domains.value = ()
    assert ex.sentence() == "Pick at least one domain." and ex.shown_tables["curves_n"].height == 0
    json.dumps(ex.spec())  # an empty selection still makes a valid spec


def test_henighan_figure_cites_the_paper():
    f = henighan_figure()
    assert f.bibtex.lstrip().startswith("@") and "arXiv:2010.14701" in f.bibtex
    assert "Published constants" in f.caption


# -- ParScale -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("streams", [1, 2, 3, 8])
@pytest.mark.parametrize("k", [0.0, 0.4, 1.3])
def test_parscale_dense_equivalent_inverts_the_law(streams, k):
    values = {**ILLUSTRATIVE, "k": k}
    n = np.array([2e8, 3e9, 5e10])
    loss = PARSCALE.predict({"params": n, "parallel_streams": np.full(3, float(streams))}, values)
    np.testing.assert_allclose(dense_equivalent(loss, values), equivalent_params(n, streams, k), rtol=1e-9)


def test_parscale_factor_depends_on_k_alone_and_grows_by_k_ln2_per_doubling():
    ex = ParScaleExplorer()
    factor = ex.shown_tables["summary"]["factor"][0]
    assert factor == pytest.approx(ILLUSTRATIVE["k"] * np.log(4) + 1)
    loss = ex.shown_tables["summary"]["loss"][0]
    for name, value in (("E", 1.0), ("A", 1e10), ("alpha", 0.6)):
        ex.constants[name].value = value
        assert ex.shown_tables["summary"]["factor"][0] == pytest.approx(factor, rel=1e-9)
        assert ex.shown_tables["summary"]["loss"][0] != pytest.approx(loss)
    ex.params.value = 1e10
    assert ex.shown_tables["summary"]["factor"][0] == pytest.approx(factor, rel=1e-9)
    at = dict(ex.shown_tables["factor_at"].select("P", "factor").iter_rows())
    step = ILLUSTRATIVE["k"] * np.log(2)
    assert at[2.0] - at[1.0] == pytest.approx(step) and at[8.0] - at[4.0] == pytest.approx(step)
    ex.streams.value = 1
    assert ex.shown_tables["summary"]["factor"][0] == pytest.approx(1.0)
    ex.constants["k"].value = 1.0
    ex.streams.value = 8
    assert ex.shown_tables["summary"]["factor"][0] == pytest.approx(1 + np.log(8))


def test_parscale_says_its_constants_are_illustrative():
    ex = ParScaleExplorer()
    assert "ILLUSTRATIVE" in ex.heading and ex.sentence().startswith("With illustrative constants")
    assert all("illustrative" in s.description for s in ex.constants.values())
    assert "None of these constants is the paper's" in ex.readout()
    assert not PARSCALE.presets  # nothing to take constants from
    f = parscale_figure()
    assert "ILLUSTRATIVE" in f.caption and "arXiv:2505.10475" in f.bibtex
    spec = json.dumps(f.chart)
    assert "ILLUSTRATIVE" in spec


def test_parscale_export_writes_the_figure_and_its_bibtex(tmp_path):
    paths = ParScaleExplorer(export_dir=tmp_path).export()
    names = {p.name for p in paths}
    assert {"12_parscale-001.svg", "12_parscale-001.bib"} <= names
    assert (tmp_path / "12_parscale-001.bib").read_text().lstrip().startswith("@")


# -- Isik et al. 2024 ----------------------------------------------------------------------------------------------


def test_isik_curves_are_the_laws_with_the_illustrative_constants():
    ex = TransferExplorer()
    t = ex.shown_tables
    d = t["ce"]["tokens"].to_numpy()
    np.testing.assert_allclose(t["ce"]["loss"].to_numpy(), ISIK_CE.predict({"tokens": d}, ILLUSTRATIVE_CE))
    np.testing.assert_allclose(
        t["score"]["score"].to_numpy(),
        ISIK_SCORE.predict({"tokens": t["score"]["tokens"].to_numpy()}, ILLUSTRATIVE_SCORE),
    )
    assert np.all(np.diff(t["ce"]["loss"].to_numpy()) < 0)  # cross-entropy falls monotonically
    assert np.all(np.diff(t["score"]["score"].to_numpy()) > 0)  # the log-law rises where defined
    here = t["here"].row(0, named=True)
    assert here["tokens"] == pytest.approx(1e10)
    assert here["score"] == pytest.approx((0.2 * np.log(1e10)) ** 2.0)
    assert "None of these constants is the paper's" in ex.readout() and "ILLUSTRATIVE" in ex.heading


def test_isik_misaligned_data_has_no_score_curve_only_the_papers_claim_in_words():
    ex = TransferExplorer()
    ce = ex.shown_tables["ce"]
    ex.alignment.value = "misaligned"
    assert ex.shown_tables["score"].height == 0
    assert ex.shown_tables["ce"].equals(ce)  # cross-entropy still has its law
    assert "fall" in ex.shown_tables["note"]["text"][0]
    assert "no law for misaligned data" in ex.sentence()
    ex.alignment.value = "aligned"
    assert ex.shown_tables["score"].height > 0 and ex.shown_tables["note"].height == 0


def test_isik_sliders_move_the_numbers_and_the_undefined_log_law_is_said():
    ex = TransferExplorer()
    before = ex.shown_tables["here"].row(0, named=True)
    ex.tokens.value = 1e8
    after = ex.shown_tables["here"].row(0, named=True)
    assert after["loss"] > before["loss"] and after["score"] < before["score"]
    ex.ce_constants["E"].value = 0.5
    assert ex.shown_tables["here"]["loss"][0] == pytest.approx(after["loss"] - 1.0)
    ex.score_constants["beta"].value = 1.0
    assert ex.shown_tables["here"]["score"][0] == pytest.approx(0.2 * np.log(1e8))
    ex.score_constants["A"].value = 1e-3
    ex.score_constants["alpha"].value = 0.05
    assert score_defined_from(ex.score_values()) > 1e12
    assert ex.shown_tables["score"].height == 0 and "undefined" in ex.sentence()
    assert "defined only above" in ex.readout()
    json.dumps(ex.spec(), allow_nan=False)  # no NaN reaches the chart


def test_isik_figure_cites_the_paper():
    f = transfer_figure()
    assert "ILLUSTRATIVE" in f.caption and f.bibtex.lstrip().startswith("@inproceedings{arXiv:2402.04177")
