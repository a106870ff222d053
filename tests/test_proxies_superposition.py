"""The ``superposition`` preset: the toy model of superposition is exact where it can be, deterministic, and shipped.

What is checked: the hand-written gradients against finite differences; the
sampler's frequencies and values; the weak-superposition closed form against a
model built to represent exactly the top k features; the paper's two-sided
decay (shrink, or pull row norms to 1); determinism under a seed; a stored run
refused when tampered with; rows that parse back; the shipped rows passing the
preset's own checks; a re-run of the cheapest shipped runs reproducing them.
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from workbench.proxies.presets import get_preset
from workbench.proxies.toys import config_from_dict, is_toy
from workbench.proxies.toys.superposition import (
    VALUE_SQ_MEAN,
    SuperpositionConfig,
    decay,
    evaluate,
    frequencies,
    loss_and_grads,
    points,
    sample,
    unrepresented_loss,
)


def small(**kw) -> SuperpositionConfig:
    base = {"width": 4, "alpha": 0.5, "weight_decay": 0.1, "features": 32, "steps": 40, "batch": 64}
    return SuperpositionConfig(**{**base, "warmup": 4, "eval_samples": 2048, **kw})


# ------------------------------------------------------------------- maths
def test_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    n, m, batch = 30, 5, 48
    p = np.minimum(frequencies(n, 0.3) * 4, 0.9)
    w, b = rng.standard_normal((n, m)), 0.3 * rng.standard_normal(n)
    rows, cols, vals = sample(rng, p, batch)
    vals = vals.astype(np.float64)
    x = np.zeros((batch, n))
    x[rows, cols] = vals

    def f(w, b):
        return np.mean((np.maximum(x @ w @ w.T + b, 0) - x) ** 2)

    loss, gw, gb = loss_and_grads(w, b, rows, cols, vals, batch, with_loss=True)
    assert loss == pytest.approx(f(w, b), rel=1e-12)
    eps = 1e-6
    num_w = np.zeros_like(w)
    for i in range(n):
        for j in range(m):
            d = np.zeros_like(w)
            d[i, j] = eps
            num_w[i, j] = (f(w + d, b) - f(w - d, b)) / (2 * eps)
    num_b = np.array([(f(w, b + eps * e) - f(w, b - eps * e)) / (2 * eps) for e in np.eye(n)])
    np.testing.assert_allclose(gw, num_w, atol=1e-7)
    np.testing.assert_allclose(gb, num_b, atol=1e-7)


def test_frequencies_and_sampler():
    p = frequencies(100, 0.5)
    assert p.sum() == pytest.approx(1.0) and np.all(np.diff(p) < 0)
    assert p[0] / p[3] == pytest.approx(4**1.5)  # p_i ∝ i^-(1 + alpha)
    rng = np.random.default_rng(1)
    batch = 200_000
    rows, cols, vals = sample(rng, p, batch)
    counts = np.bincount(cols, minlength=100)
    for i in (0, 1, 9, 99):
        assert abs(counts[i] - batch * p[i]) < 5 * np.sqrt(batch * p[i] * (1 - p[i])) + 1, i
    assert vals.min() >= 0 and vals.max() <= 2
    assert np.mean(vals.astype(np.float64) ** 2) == pytest.approx(VALUE_SQ_MEAN, rel=0.01)
    assert len(rows) / batch == pytest.approx(1.0, rel=0.01)  # one active feature per input on average


def test_weak_closed_form_matches_a_model_that_represents_exactly_the_top_k():
    """Top k features on orthonormal rows (ReLU cuts any interference: there is none), the rest b_i = p_i."""
    n, k = 40, 8
    p = frequencies(n, 0.5)
    w = np.zeros((n, k), dtype=np.float32)
    w[:k] = np.eye(k)
    b = np.where(np.arange(n) < k, 0.0, p).astype(np.float32)
    cfg = SuperpositionConfig(width=k, alpha=0.5, weight_decay=1, features=n, eval_samples=400_000)
    loss, stderr = evaluate(w, b, cfg)
    want = unrepresented_loss(p, k)
    assert want == pytest.approx(np.sum(p[k:] * 4 / 3 - p[k:] ** 2))
    assert abs(loss - want) < 4 * stderr, (loss, want, stderr)
    assert unrepresented_loss(p, n) == 0 and unrepresented_loss(p, k) > unrepresented_loss(p, 2 * k)


def test_decay_shrinks_or_pulls_row_norms_to_one():
    rng = np.random.default_rng(2)
    w = rng.standard_normal((6, 3)).astype(np.float32) * np.array([[0.2], [0.5], [0.9], [1.1], [2.0], [4.0]])
    shrunk = w.copy()
    decay(shrunk, 0.5, 0.1)
    np.testing.assert_allclose(shrunk, w * 0.95, rtol=1e-6)
    pulled = w.copy()
    for _ in range(2000):
        decay(pulled, -1.0, 0.01)
    np.testing.assert_allclose(np.linalg.norm(pulled, axis=1), 1.0, atol=1e-3)
    cos = np.sum(pulled * w, axis=1) / np.linalg.norm(w, axis=1) / np.linalg.norm(pulled, axis=1)
    np.testing.assert_allclose(cos, 1.0, atol=1e-6)  # only the norm moves


# ---------------------------------------------------------------- configs
def test_config_identity_dispatch_and_validation():
    a = small()
    assert is_toy(a) and config_from_dict(a.to_dict()) == a
    assert json.loads(json.dumps(a.to_dict())) == a.to_dict()
    assert a.key(a.content_hash) == small().key(a.content_hash) != small(seed=1).key(a.content_hash)
    assert a.run_id() == "tms-n32-m4-a0.5-wd0.1-s0" and a.corpus == "superposition"
    for bad in ({"width": 32}, {"width": 0}, {"alpha": -1.0}, {"toy": "other"}, {"warmup": 40}, {"lr": 0.0}):
        with pytest.raises(ValueError):
            small(**bad)


def test_same_seed_same_run_and_another_seed_differs():
    a, b, c = small().train(), small().train(), small(seed=1).train()
    assert (a["loss"], a["row_norms"]) == (b["loss"], b["row_norms"])
    assert a["loss"] != c["loss"]
    assert 0 <= a["represented"] <= 32 and a["loss_stderr"] > 0


def test_a_stored_run_is_checked_before_it_is_trusted():
    cfg = small()
    key = cfg.key(cfg.content_hash)
    good = {**cfg.train(), "key": key}
    assert cfg.problem(good, key, cfg.content_hash) is None

    def broken(edit) -> str:
        data = json.loads(json.dumps(good))
        edit(data)
        return cfg.problem(data, key, cfg.content_hash)

    assert "content_hash" in broken(lambda d: d["corpus"].update(content_hash="toy:superposition:v0"))
    assert "negative" in broken(lambda d: d.update(loss=-1.0))
    assert "loss" in broken(lambda d: d.pop("loss"))
    assert "count of features" in broken(lambda d: d.update(represented_top=5))
    assert "one per feature" in broken(lambda d: d["row_norms"].pop())
    assert "config is not" in broken(lambda d: d["config"].update(width=5))


def test_rows_are_valid_corpus_rows_and_parse_back():
    from workbench.corpus.load import validate
    from workbench.errors import WorkbenchError
    from workbench.proxies import results

    cfg = small()
    res = cfg.train()
    df = validate(results.to_frame(results.rows(res, "unit")), "superposition rows")
    assert sorted(df["metric"].to_list()) == ["loss", "represented_fraction"]
    assert (df["width"] == 4).all() and (df["params"] == 32 * 4 + 32).all()
    pts = points(df)
    assert pts.height == 1 and pts["loss"].item() == pytest.approx(res["loss"])
    assert pts["represented"].item() == pytest.approx(res["represented"] / 32)
    assert (pts["alpha"].item(), pts["weight_decay"].item()) == (0.5, 0.1)
    with pytest.raises(WorkbenchError, match=r"condition 'x' is not what the superposition preset writes"):
        points(df.with_columns(pl.lit("x").alias("condition")))


# ------------------------------------------------------------- shipped rows
@pytest.fixture(scope="module")
def shipped():
    from workbench.proxies import results

    return results.load("superposition")


def test_shipped_rows_pass_the_preset_checks(shipped):
    from workbench.corpus.load import validate

    validate(shipped, "datasets/proxies/superposition.csv")
    preset = get_preset("superposition")
    assert set(shipped["run_id"].unique()) == {f"superposition/{c.run_id()}" for c in preset.configs()}
    verdict = preset.verify(shipped)
    assert verdict["passed"], [c for c in verdict["checks"] if not c["passed"]]
    assert len(verdict["checks"]) == 6


def test_the_checks_see_what_they_claim_to(shipped):
    preset = get_preset("superposition")
    partial = preset.verify(shipped.filter(~pl.col("run_id").str.contains("-m64-a1-wd-1-")))
    assert not partial["passed"] and partial["checks"][0]["value"] == 41
    # the strong regime really is strong, the weak one weak
    pts = points(shipped)
    assert (pts.filter(pl.col("weight_decay") < 0)["represented"] == 1).all()
    weak = pts.filter(pl.col("weight_decay") > 0)
    assert (weak["represented"] * 512 <= weak["width"]).all()


def test_a_rerun_of_the_cheapest_runs_reproduces_the_shipped_rows(tmp_path, shipped):
    from workbench.proxies import results
    from workbench.proxies.sweep import run_sweep

    cfgs = [c for c in get_preset("superposition").configs() if c.width == 8 and c.alpha == 1.0]
    assert len(cfgs) == 2
    run_sweep(cfgs, tmp_path, preset="superposition", workers=0, progress=False)
    got = results.read_csv(tmp_path / "results.csv")
    want = shipped.filter(pl.col("run_id").is_in(got["run_id"].unique().to_list()))
    key = ["run_id", "metric"]
    got, want = got.sort(key), want.sort(key)
    assert got.select(key).equals(want.select(key)) and got.height == 4
    np.testing.assert_allclose(got["value"].to_numpy(), want["value"].to_numpy(), rtol=1e-6)
    assert got["note"].equals(want["note"])
