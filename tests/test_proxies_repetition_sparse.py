"""Repeated data and sparse training in the proxies: the pool, the pruning schedule, the counts, the laws.

The ``repetition``, ``sparse`` and ``recipe_crossover`` presets rest on two training features
(``RunConfig.unique_tokens`` and ``RunConfig.sparsity``) and one law (``data_constrained_one_size``);
these tests pin them down on tiny runs.  The shipped results and their checks are in
tests/test_proxies_shipped.py.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.fit import fit
from workbench.laws import get_law
from workbench.proxies import corpora
from workbench.proxies.config import ModelConfig, RunConfig
from workbench.proxies.models import build, counts
from workbench.proxies.results import rows, to_frame
from workbench.proxies.sparsity import GradualPruner, cubic_sparsity, prunable
from workbench.proxies.train import _batches, train

TINY = {"corpus": "zipf", "width": 16, "depth": 1, "ctx": 32, "batch": 4, "eval_tokens": 4096, "curve_points": 3}


# ----------------------------------------------------------------- configs
def test_defaults_keep_the_cache_keys_of_every_earlier_run():
    """Fresh, dense runs serialise without the new fields, so their cache keys (and shipped results) stand."""
    d = RunConfig().to_dict()
    assert not {"unique_tokens", "sparsity", "prune_start", "prune_end"} & set(d)
    assert RunConfig(unique_tokens=4096).key() != RunConfig().key()
    assert RunConfig(sparsity=0.5).key() != RunConfig().key()
    assert RunConfig.from_dict(RunConfig(sparsity=0.5, unique_tokens=8192).to_dict()) == RunConfig(
        sparsity=0.5, unique_tokens=8192
    )
    assert RunConfig(tokens=40_000, unique_tokens=10_000, batch=2, ctx=32).epochs == 4.0
    assert "u10k" in RunConfig(tokens=40_000, unique_tokens=10_000, batch=2, ctx=32).run_id()
    assert "sp0.8" in RunConfig(sparsity=0.8).run_id()


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"unique_tokens": 100}, "unique_tokens must hold at least one batch"),
        ({"sparsity": 1.0}, "sparsity must be in"),
        ({"sparsity": -0.1}, "sparsity must be in"),
        ({"sparsity": 0.5, "prune_start": 0.8, "prune_end": 0.5}, "prune_start < prune_end"),
    ],
)
def test_bad_settings_are_refused_with_a_message(bad, match):
    with pytest.raises(ValueError, match=match):
        RunConfig(**bad)


# ------------------------------------------------------------ repeated data
def test_each_epoch_visits_every_pooled_window_exactly_once():
    cfg = RunConfig(**{**TINY, "tokens": 64 * 32, "unique_tokens": 6 * 32, "batch": 4})
    corpus = corpora.get_corpus("zipf")
    pool = corpus.train_windows(np.random.default_rng([cfg.seed, 11]), 6, cfg.ctx)
    gen = _batches(cfg, corpus, np.random.default_rng(0))
    seen = torch.cat([next(gen) for _ in range(9)]).numpy()  # 36 windows = 6 epochs of 6
    for epoch in range(6):
        got = seen[6 * epoch : 6 * (epoch + 1)]
        assert sorted(map(bytes, got.astype(np.uint8))) == sorted(map(bytes, pool.astype(np.uint8)))


def test_fresh_batches_are_the_stream_earlier_versions_drew():
    """Fresh runs draw 64 batches per block from the run's generator, as before the pool existed."""
    cfg = RunConfig(**{**TINY, "tokens": 200 * 4 * 32})
    corpus = corpora.get_corpus("zipf")
    gen = _batches(cfg, corpus, np.random.default_rng(5))
    got = torch.cat([next(gen) for _ in range(65)]).numpy()
    rng = np.random.default_rng(5)
    want = np.concatenate([corpus.train_windows(rng, 64 * 4, 32), corpus.train_windows(rng, 64 * 4, 32)[:4]])
    np.testing.assert_array_equal(got, want)


def test_a_repeated_run_records_its_unique_tokens_and_overfits_its_pool():
    cfg = RunConfig(**{**TINY, "tokens": 120 * 4 * 32, "unique_tokens": 8 * 32, "lr": 1e-2})
    out = train(cfg, threads=1)
    df = to_frame(rows(out, "test"))
    assert (df["unique_tokens"] == 256.0).all()
    last = out["curve"][-1]
    assert last["train_loss"] < last["eval_loss"] - 0.1  # 60 epochs over 8 windows: memorised


# ---------------------------------------------------------------- sparsity
def test_cubic_schedule_rises_from_zero_to_the_final_sparsity():
    s = [cubic_sparsity(t, 100, 0.8, 0.25, 0.75) for t in range(101)]
    assert s[25] == 0.0 and s[75] == pytest.approx(0.8) and s[100] == pytest.approx(0.8)
    assert all(b >= a for a, b in zip(s, s[1:]))
    assert cubic_sparsity(50, 100, 0.8, 0.25, 0.75) == pytest.approx(0.8 * (1 - 0.5**3))


def test_pruner_masks_the_block_matrices_and_averages_the_count():
    torch.manual_seed(0)
    model = build(ModelConfig(width=32, depth=1, ctx=16))
    cnt = counts(model)
    pruner = GradualPruner(model, 0.75, steps=40, start=0.25, end=0.75, interval=2)
    pruner.other_params = cnt.params_non_embedding - pruner.dense_params
    for step in range(1, 41):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.01)  # an "update" that would revive pruned weights
        pruner.after_step(step)
    for p in prunable(model):
        assert (p == 0).float().mean().item() == pytest.approx(0.75, abs=1e-2)
    assert pruner.sparsity == pytest.approx(0.75, abs=1e-3)
    assert model.tok.weight.ne(0).all()  # embeddings stay dense
    assert pruner.nonzero == pytest.approx(cnt.params_non_embedding - 0.75 * pruner.dense_params, rel=1e-3)
    assert pruner.nonzero < pruner.average < cnt.params_non_embedding


def test_a_sparse_run_emits_its_counts_in_every_row():
    cfg = RunConfig(**{**TINY, "tokens": 60 * 4 * 32, "sparsity": 0.5})
    df = to_frame(rows(train(cfg, threads=1), "test"))
    final = df.filter(pl.col("final"))
    assert final["sparsity"].to_list() == pytest.approx([0.5] * final.height, abs=1e-3)
    assert (final["params_nonzero"] < final["params"]).all()
    assert (final["params_nonzero"] < final["params_average"]).all()
    assert (final["params_average"] < final["params"]).all()


# ---------------------------------------------------------------------- law
@settings(max_examples=25, deadline=None)
@given(
    e=st.floats(0.5, 4.0),
    b=st.floats(5.0, 500.0),
    beta=st.floats(0.15, 0.8),
    rd=st.floats(1.0, 60.0),
)
def test_one_size_law_recovers_its_constants_from_noiseless_runs(e, b, beta, rd):
    law = get_law("data_constrained_one_size")
    d = np.array([2.5e5, 5e5, 1e6, 2e6, 2e6, 2e6, 2e6, 2e6, 5e5, 5e5])
    u = np.array([2.5e5, 5e5, 1e6, 2e6, 1e6, 5e5, 2.5e5, 1.25e5, 1.25e5, 3.1e4])
    true = {"E": e, "B": b, "beta": beta, "rd_star": rd}
    y = law.predict({"tokens": d, "unique_tokens": u}, true)
    got = fit(law, {"tokens": d, "unique_tokens": u, "loss": y}).params
    pred = law.predict({"tokens": d, "unique_tokens": u}, got)
    np.testing.assert_allclose(pred, y, rtol=1e-6)
    assert got["rd_star"] == pytest.approx(rd, rel=1e-3)


def test_one_size_law_basis_gradient_matches_finite_differences():
    law = get_law("data_constrained_one_size")
    x = {"tokens": np.array([5e5, 2e6, 2e6]), "unique_tokens": np.array([5e5, 2.5e5, 5e4])}
    theta = np.array([0.35, 7.0])
    g = law.basis_grad(x, theta)
    for j in range(2):
        h = np.zeros(2)
        h[j] = 1e-6 * theta[j]
        num = (law.basis(x, theta + h) - law.basis(x, theta - h)) / (2 * h[j])
        np.testing.assert_allclose(g[..., j], num, rtol=1e-5, atol=1e-12)
