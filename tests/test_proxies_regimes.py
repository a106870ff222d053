"""The ``regimes`` preset: the four-regime random-feature toy is exact, deterministic and runs through the sweep.

What is checked: the closed-form kernel and feature Gram against Monte Carlo;
the teacher-averaged losses against brute force (sampled GP teachers, direct
least squares); the nested-Cholesky shortcut against fitting each size
separately; the excess-as-quadratic-form against the difference of losses;
determinism under a seed; a stored run refused when tampered with; rows that
parse back; the shipped rows passing the preset's checks; a re-run of the
cheapest runs reproducing the shipped rows.
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from workbench.proxies.presets import get_preset
from workbench.proxies.toys import config_from_dict, is_toy, is_toy_result
from workbench.proxies.toys import regimes as rg
from workbench.proxies.toys.regimes import RegimesConfig


def small(regime: str = "data", **kw) -> RegimesConfig:
    base = {"dim": 2, "ambient": 5, "draws": 2, "test_points": 200, "teacher_features": 300}
    if regime.startswith("var_"):
        base |= {"sizes": (16, 32), "fixed": 6}
    else:
        base |= {"sizes": (4, 8, 16)}
    return RegimesConfig(regime, **(base | kw))


# ------------------------------------------------------------------- maths
def test_kernel_and_feature_gram_match_monte_carlo():
    rng = np.random.default_rng(0)
    d, n = 3, 400_000
    frame, _ = np.linalg.qr(rng.standard_normal((7, d + 1)))
    x = rg.sphere(n, d, frame, rng)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0)
    # kernel: E_w relu(w.a) relu(w.b) for unit a, b
    a, b = x[:3], x[3:6]
    w = rng.standard_normal((n, 7))
    mc = np.maximum(a @ w.T, 0) @ np.maximum(b @ w.T, 0).T / n
    np.testing.assert_allclose(rg.kernel(a, b), mc, atol=4e-3)
    assert rg.kernel(a[:1], a[:1])[0, 0] == pytest.approx(0.5)  # E relu(z)^2 = 1/2
    # feature Gram: E_x relu(u.x) relu(v.x), x uniform on S^d; weights given in the sphere's coordinates
    u = rng.standard_normal((4, d + 1))
    feats = np.maximum(x @ (u @ frame.T).T, 0)
    np.testing.assert_allclose(rg.feature_gram(u, u, d), feats.T @ feats / n, rtol=2e-2, atol=1e-3)
    assert rg.arc_cosine(np.array([1.0, -1.0, 0.0])) == pytest.approx([np.pi, 0.0, 1.0])


def test_kernel_curve_is_the_gp_posterior_variance_and_nested_sizes_are_exact():
    """The nested-Cholesky losses equal separate solves, and the mean over sampled GP teachers."""
    cfg = small("data", sizes=(5, 12, 30), test_points=60)
    loss = rg.curve(cfg, 0)["loss"]
    frame, rng = rg.draw_setup(cfg, 0)
    x = rg.sphere(30, cfg.dim, frame, rng)
    xt = rg.sphere(60, cfg.dim, frame, rng)
    allx = np.vstack([x, xt])
    cov = rg.kernel(allx, allx) + 1e-10 * np.eye(90)
    teachers = np.linalg.cholesky(cov) @ np.random.default_rng(5).standard_normal((90, 4000))
    for p, got in zip(cfg.sizes, loss):
        k = rg.kernel(x[:p], x[:p]) + 1e-10 * np.eye(p)
        h = np.linalg.solve(k, rg.kernel(x[:p], xt))
        exact = 0.5 - np.mean(np.sum(rg.kernel(x[:p], xt) * h, axis=0))
        assert got == pytest.approx(exact, rel=1e-8, abs=1e-12)
        sampled = np.mean((h.T @ teachers[:p] - teachers[30:]) ** 2)  # brute force: sample teachers, regress
        assert sampled == pytest.approx(exact, rel=0.06)


def test_width_curve_is_the_residual_of_the_teacher_features_after_projection():
    cfg = small("width", sizes=(3, 9))
    loss = rg.curve(cfg, 0)["loss"]
    frame, rng = rg.draw_setup(cfg, 0)
    u = rng.standard_normal((9, cfg.ambient)) @ frame
    t = rng.standard_normal((cfg.teacher_features, cfg.ambient)) @ frame
    for n, got in zip(cfg.sizes, loss):
        g, c = rg.feature_gram(u[:n], u[:n], cfg.dim), rg.feature_gram(u[:n], t, cfg.dim)
        resid = rg.feature_gram(t, t, cfg.dim).diagonal() - np.sum(c * np.linalg.solve(g, c), axis=0)
        assert got == pytest.approx(float(np.mean(resid)), rel=1e-7)
        assert np.all(resid > -1e-12)  # a squared distance
    assert loss[1] < loss[0]  # more features, smaller residual


def test_variance_limited_excess_is_the_loss_difference_and_shrinks_like_one_over_size():
    for regime in ("var_data", "var_width"):
        cfg = small(regime, sizes=(24, 96, 384), fixed=8, draws=2)
        out = rg.curve(cfg, 0)
        assert out["limit"] > 0 and all(e > 0 for e in out["excess"])
        np.testing.assert_allclose(np.array(out["loss"]) - out["limit"], out["excess"], rtol=1e-9)
        ratio = out["excess"][0] / out["excess"][-1]  # 16x the size: about 16x less excess (1/size)
        assert 5 < ratio < 50, (regime, out["excess"])


def test_variance_limited_data_excess_equals_direct_population_loss():
    """(theta_P - theta*)^T G (theta_P - theta*) is the population loss of the P-sample fit minus the optimum's."""
    cfg = small("var_data", sizes=(20,), fixed=5, teacher_features=50)
    out = rg.curve(cfg, 0)
    frame, rng = rg.draw_setup(cfg, 0)
    u = rng.standard_normal((5, cfg.ambient)) @ frame
    t = rng.standard_normal((50, cfg.ambient)) @ frame
    x = rg.sphere(20, cfg.dim, frame, rng)
    phi, psi = np.maximum(x @ (u @ frame.T).T, 0), np.maximum(x @ (t @ frame.T).T, 0)
    theta = np.linalg.lstsq(phi, psi, rcond=None)[0]
    g, c = rg.feature_gram(u, u, cfg.dim), rg.feature_gram(u, t, cfg.dim)
    norms = rg.feature_gram(t, t, cfg.dim).diagonal()
    direct = np.mean(norms - 2 * np.sum(theta * c, axis=0) + np.sum(theta * (g @ theta), axis=0))
    assert out["loss"][0] == pytest.approx(direct, rel=1e-7)


# ---------------------------------------------------------------- configs
def test_config_identity_dispatch_and_validation():
    a = small()
    assert is_toy(a) and config_from_dict(a.to_dict()) == a
    assert json.loads(json.dumps(a.to_dict())) == a.to_dict()
    assert a.key(a.content_hash) == small().key(a.content_hash) != small(seed=1).key(a.content_hash)
    assert a.run_id() == "relu-data-d2-n2-s0" and small("var_width").run_id() == "relu-varwidth-d2-P6-n2-s0"
    assert a.corpus == "relusphere" and a.n_p(8) == (None, 8) and small("var_data").n_p(None) == (6, None)
    bad = [
        {"regime": "other"},
        {"sizes": (8, 4)},
        {"sizes": ()},
        {"ambient": 2},
        {"draws": 1},
        {"fixed": 3},
        {"toy": "x"},
    ]
    for kw in bad:
        with pytest.raises(ValueError):
            small(**kw)
    with pytest.raises(ValueError):
        small("var_data", fixed=16)  # fixed must be below the smallest size


def test_same_seed_same_losses_and_another_seed_differs():
    for regime in rg.REGIMES:
        a, b, c = small(regime).train(), small(regime).train(), small(regime, seed=1).train()
        assert a["points"] == b["points"] and a["limit"] == b["limit"]  # bit for bit
        assert a["points"] != c["points"]
        assert is_toy_result(a)


def test_a_stored_run_is_checked_before_it_is_trusted():
    cfg = small("var_data")
    key = cfg.key(cfg.content_hash)
    good = {**cfg.train(), "key": key}
    assert cfg.problem(good, key, cfg.content_hash) is None

    def broken(edit) -> str:
        data = json.loads(json.dumps(good))
        edit(data)
        return cfg.problem(data, key, cfg.content_hash)

    assert "content_hash" in broken(lambda d: d["corpus"].update(content_hash="toy:regimes:v0"))
    assert "sizes" in broken(lambda d: d["points"].pop())
    assert "one value per draw" in broken(lambda d: d["points"][0]["loss"].pop())
    assert "non-negative loss" in broken(lambda d: d["points"][1]["excess"].__setitem__(0, -1.0))
    assert "non-negative loss" in broken(lambda d: d["points"][1]["loss"].__setitem__(0, None))
    assert "limit" in broken(lambda d: d.update(limit=None))
    assert "not the config's" in broken(lambda d: d["points"][0].update(size=17))
    assert "config is not" in broken(lambda d: d["config"].update(draws=3))


def test_rows_are_valid_corpus_rows_and_parse_back():
    from workbench.corpus.load import validate
    from workbench.errors import WorkbenchError
    from workbench.proxies import results

    frames = []
    for regime in rg.REGIMES:
        res = small(regime).train()
        frames.append(validate(results.to_frame(results.rows(res, "regimes")), f"{regime} rows"))
    df = pl.concat(frames)
    pts = rg.points(df)
    # data: 3 points; width: 3; each variance regime: 2 points + its limit
    assert pts.height == 3 + 3 + 3 + 3
    var = pts.filter(pl.col("regime") == "var_data")
    assert var["P"].to_list() == [16, 32, None] and var["N"].to_list() == [6, 6, 6]
    assert var["excess"].null_count() == 1  # the limit has a loss, no excess
    kernel_rows = df.filter(pl.col("condition").str.starts_with("data:"))
    assert kernel_rows["params"].null_count() == kernel_rows.height
    assert (kernel_rows["eval_set"] == "sphere-test-200").all()
    garbled = df.with_columns(pl.col("condition").str.replace("P=inf", "P=infinite"))
    with pytest.raises(WorkbenchError, match=r"condition .*P=infinite.* is not what the regimes preset writes"):
        rg.points(garbled)


# ------------------------------------------------------------- shipped rows
@pytest.fixture(scope="module")
def shipped():
    from workbench.proxies import results

    return results.load("regimes")


def test_shipped_rows_pass_the_preset_checks(shipped):
    from workbench.corpus.load import validate

    validate(shipped, "datasets/proxies/regimes.csv")
    preset = get_preset("regimes")
    assert set(shipped["run_id"].unique()) == {f"regimes/{c.run_id()}" for c in preset.configs()}
    verdict = preset.verify(shipped)
    assert verdict["passed"], [c for c in verdict["checks"] if not c["passed"]]
    assert len(verdict["checks"]) == 7


def test_the_checks_see_what_they_claim_to(shipped):
    preset = get_preset("regimes")
    partial = preset.verify(shipped.filter(~pl.col("run_id").str.contains("relu-data-d8")))
    assert not partial["passed"] and partial["checks"][0]["value"] == 11
    # swap d = 2 and d = 8 resolution curves' labels: the monotonicity and the 3/d checks must fail
    swapped = shipped.with_columns(
        pl.col("run_id").str.replace("relu-data-d2-", "relu-data-dX-").str.replace("relu-data-d8-", "relu-data-d2-")
    ).with_columns(pl.col("run_id").str.replace("relu-data-dX-", "relu-data-d8-"))
    failed = {c["name"] for c in preset.verify(swapped)["checks"] if not c["passed"]}
    assert any("data" in n and "decreases" in n for n in failed) and any("duality" in n for n in failed)


def test_a_rerun_of_the_cheapest_runs_reproduces_the_shipped_rows(tmp_path, shipped):
    from workbench.proxies import results
    from workbench.proxies.sweep import run_sweep

    cfgs = [c for c in get_preset("regimes").configs() if c.regime in ("var_data", "var_width") and c.dim == 8]
    assert len(cfgs) == 2
    run_sweep(cfgs, tmp_path, preset="regimes", workers=0, progress=False)
    got = results.read_csv(tmp_path / "results.csv")
    want = shipped.filter(pl.col("run_id").is_in(got["run_id"].unique().to_list()))
    key = ["run_id", "condition", "metric"]
    got, want = got.sort(key), want.sort(key)
    assert got.select(key).equals(want.select(key)) and got.height == 2 * (7 * 2 + 1)
    np.testing.assert_allclose(got["value"].to_numpy(), want["value"].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(got["value_stderr"].to_numpy(), want["value_stderr"].to_numpy(), rtol=1e-5)
    assert got["samples"].equals(want["samples"]) and got["params"].equals(want["params"])
