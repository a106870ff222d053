"""Proxies, piece by piece: exact counts, corpora with known truth, number formats, schedules, rows."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
import torch

from workbench.proxies import corpora, quantize
from workbench.proxies.config import ModelConfig, RunConfig, lr_areas, lr_schedule
from workbench.proxies.models import build, counts


# ------------------------------------------------------------------- models
@pytest.mark.parametrize("width,depth", [(32, 1), (64, 2), (96, 3)])
def test_gpt_counts_match_the_formula(width, depth):
    cfg = ModelConfig(width=width, depth=depth, ctx=128)
    c = counts(build(cfg))
    per_layer = 12 * width**2 + 2 * width  # qkv, proj, mlp in/out; two LayerNorm gains
    assert c.params_non_embedding == depth * per_layer + width  # + final LayerNorm
    assert c.params_total == c.params_non_embedding + 256 * width + 128 * width
    assert c.matmul_params == depth * 12 * width**2 + 256 * width
    assert c.flops_per_token == 6 * c.matmul_params + 6 * depth * 128 * width


def test_lstm_counts_and_shapes():
    cfg = ModelConfig(arch="lstm", width=48, depth=2)
    model = build(cfg)
    c = counts(model)
    per_layer = 8 * 48**2 + 8 * 48  # 4 gates x (input + recurrent) + two bias vectors
    assert c.params_non_embedding == 2 * per_layer + 48
    assert c.matmul_params == 2 * 8 * 48**2 + 256 * 48
    assert model(torch.randint(0, 256, (2, 16))).shape == (2, 16, 256)


def test_gpt_is_causal():
    torch.manual_seed(0)
    model = build(ModelConfig(width=32, depth=2, ctx=16)).eval()
    x = torch.randint(0, 256, (1, 16))
    y = x.clone()
    y[0, 10:] = (y[0, 10:] + 1) % 256
    with torch.no_grad():
        assert torch.equal(model(x)[0, :10], model(y)[0, :10])


# ------------------------------------------------------------------ corpora
def test_zipf_entropy_rate_is_exact_and_rows_are_permutations():
    c = corpora.ZipfMarkov()
    p = np.arange(1, 257) ** -1.2
    p /= p.sum()
    assert c.H == pytest.approx(-(p * np.log(p)).sum(), rel=1e-12)
    assert c.H == pytest.approx(3.666594, abs=1e-6)
    assert np.allclose(np.sort(c.P, axis=1)[:, ::-1], p[None, :])
    assert np.allclose(c.stationary @ c.P, c.stationary)
    w = c.eval_windows(512, 128)
    # the true chain's loss on a sample is H up to sampling noise (per-token sd ~2 nats)
    assert abs(c.oracle_loss(w) - c.H) < 4 * 2.0 / math.sqrt(w[:, 1:].size)
    assert np.array_equal(w, c.eval_windows(512, 128))  # the evaluation set is fixed


def test_stdlib_corpus_is_documented_and_hashed(tmp_path):
    root = tmp_path / "lib"
    for rel in [
        "a.py",
        "pkg/b.py",
        "test/c.py",
        "pkg/tests/d.py",
        "site-packages/e.py",
        "pkg/__pycache__/f.py",
        "g.txt",
    ]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"# {rel}\n")
    assert [p.as_posix() for p in corpora.stdlib_files(root)] == ["a.py", "pkg/b.py"]
    c1, c2 = corpora.StdlibCorpus(root), corpora.StdlibCorpus(root)
    assert c1.info.content_hash == c2.info.content_hash
    (root / "a.py").write_text("# changed\n")
    assert corpora.StdlibCorpus(root).info.content_hash != c1.info.content_hash


@pytest.mark.parametrize("order,symbols", [(1, 256), (2, 64)])
def test_trap_pattern_and_its_exceptions(order, symbols):
    c = corpora.TrapCorpus(order=order, symbols=symbols)
    w = c.eval_windows(512, 128)
    exc, reg = c.eval_mask(w, "exceptions"), c.eval_mask(w, "regular")
    assert not (exc & reg).any() and (exc | reg)[:, order - 1 :].all() and not (exc | reg)[:, : order - 1].any()
    assert abs(exc.sum() / (exc | reg).sum() - (1 - c.usual_prob)) < 0.01  # the pattern holds 90 % of the time
    q = (1 - c.usual_prob) / (symbols - 1)
    assert c.H == pytest.approx(-0.9 * math.log(0.9) - 0.1 * math.log(q), rel=1e-12)
    assert c.best_exception_loss == pytest.approx(-math.log(q))
    # exceptions are uniform over the other symbols: no symbol is much more frequent than its share
    counts = np.bincount(w[:, 1:][exc], minlength=symbols)
    assert counts.max() < 3 * exc.sum() / symbols + 10


# ------------------------------------------------------------ number formats
@pytest.mark.parametrize("name,dtype", [("fp8_e4m3", torch.float8_e4m3fn), ("fp8_e5m2", torch.float8_e5m2)])
def test_fp8_emulation_matches_torch_casts(name, dtype):
    fmt = quantize.parse_format(name)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(20000, generator=g) * torch.exp2(torch.randint(-18, 10, (20000,), generator=g).float())
    x = x.clamp(-fmt.qmax, fmt.qmax)
    assert torch.equal(quantize.round_to_grid(x, fmt), x.to(dtype).float())


def test_fp4_and_int_grids():
    fp4 = quantize.parse_format("fp4_e2m1")
    grid = sorted(set(quantize.round_to_grid(torch.linspace(0, 7, 701), fp4).tolist()))
    assert grid == [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]
    assert quantize.parse_format("e3m2").qmax == 28.0
    int4 = quantize.parse_format("int4")
    assert sorted(set(quantize.round_to_grid(torch.linspace(-9, 9, 999), int4).tolist())) == list(range(-7, 8))
    with pytest.raises(ValueError):
        quantize.parse_format("int1")
    with pytest.raises(ValueError):
        quantize.parse_format("bf17")


def test_block_scales_and_straight_through_gradient():
    fmt = quantize.parse_format("int4", block_size=4)
    x = torch.tensor([[1.0, -2.0, 3.5, 7.0, 100.0, 50.0, -25.0, 0.1]], requires_grad=True)
    q = quantize.quantize(x.detach(), fmt)
    assert q[0, 3] == 7.0 and q[0, 4] == 100.0  # each block's absmax is exact
    assert len(set((q[0, :4] / (7.0 / 7)).tolist())) == 4  # first block on its own grid (scale 1)
    y = quantize.fake_quant(x, fmt)
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))  # STE
    assert torch.equal(y.detach(), q)


def test_qat_and_ptq_touch_linear_weights_only():
    torch.manual_seed(0)
    model = build(ModelConfig(width=32, depth=1, ctx=16))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    q = quantize.ptq(model, quantize.parse_format("int3"))
    for n, p in q.named_parameters():
        changed = not torch.equal(p, before[n])
        assert changed == (n.endswith(("qkv.weight", "proj.weight", "fc.weight")))
    qat = quantize.prepare_qat(model, quantize.parse_format("int4"), quantize.parse_format("fp8_e4m3"))
    out = qat(torch.randint(0, 256, (2, 16)))
    out.sum().backward()
    assert all(p.grad is not None for p in qat.parameters())


# ---------------------------------------------------------------- schedules
def test_schedules_and_annealing_areas():
    base = dict(tokens=512 * 1000, lr=1e-3, warmup=0.1, min_lr=0.1)
    const = lr_schedule(RunConfig(schedule="constant", **base))
    cos = lr_schedule(RunConfig(schedule="cosine", **base))
    wsd = lr_schedule(RunConfig(schedule="wsd", decay=0.2, **base))
    assert const[99] == cos[99] == wsd[99] == 1e-3 and const[0] == pytest.approx(1e-5)
    assert const[-1] == 1e-3 and cos[-1] == pytest.approx(1e-4) and wsd[-1] == pytest.approx(1e-4)
    assert np.all(wsd[100:800] == 1e-3) and np.all(np.diff(wsd[800:]) < 0)
    s1, s2 = lr_areas(const, 100)
    assert s1[-1] == pytest.approx(const.sum()) and np.all(s2 == 0)
    _, s2w = lr_areas(wsd, 100)
    assert np.all(s2w[:800] == 0) and np.all(np.diff(s2w[800:]) > 0)


def test_config_key_and_run_id():
    a = RunConfig(width=64)
    assert a.key("h") == RunConfig(width=64).key("h") != RunConfig(width=64, seed=1).key("h")
    assert a.key("h") != a.key("other corpus")
    assert RunConfig.from_dict(a.to_dict()) == a
    assert a.run_id() == "gpt-w64-d2-t1M-cosine-s0"
    with pytest.raises(ValueError):
        RunConfig(schedule="linear")
    with pytest.raises(ValueError):
        RunConfig(corpus="zipf", eval_splits=("exceptions",))


# ---------------------------------------------------------------------- rows
def test_a_run_becomes_valid_corpus_rows():
    from workbench.corpus.load import validate
    from workbench.proxies import results
    from workbench.proxies.train import train

    cfg = RunConfig(
        corpus="zipf",
        width=16,
        depth=1,
        tokens=16_384,
        eval_tokens=4096,
        curve_points=3,
        curve_eval_tokens=1024,
        ptq=("int4", "fp4_e2m1"),
        label="t",
    )
    res = train(cfg, threads=1)
    df = results.to_frame(results.rows(res, "unit"))
    df = validate(df, "proxy rows")  # the corpus's own validation: types, required columns, unique keys
    final = df.filter(pl.col("final") & (pl.col("metric") == "loss"))
    assert final.height == 3 and set(final["precision_phase"].to_list()) == {None, "post_training"}
    row = final.filter(pl.col("precision_phase").is_null()).row(0, named=True)
    assert row["source_id"] == "proxy:zipf" and row["run_id"] == "unit/gpt-w16-d1-t16.4k-cosine-s0-t"
    assert row["params"] == row["params_non_embedding"] < row["params_total"]
    assert row["flops"] == pytest.approx(row["tokens"] * res["counts"]["flops_per_token"])
    assert row["source_commit"] == corpora.get_corpus("zipf").info.content_hash
    assert row["value_stderr"] > 0
    curve = df.filter(pl.col("metric") == "loss").sort("step")
    assert curve["lr_area"].is_sorted() and curve["step"].n_unique() == curve.height - 2
