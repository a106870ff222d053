"""The ``nmt`` preset: the encoder-decoder's counts and shapes, the translation corpus's known truth,
the shipped rows."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
import torch

from workbench.proxies import corpora, results
from workbench.proxies.config import ModelConfig, RunConfig
from workbench.proxies.models import EncoderDecoder, build, counts
from workbench.proxies.presets import NMT_LINF_TOLERANCE, get_preset, nmt_fit, nmt_grid, nmt_points


def encdec(enc_width: int, width: int, enc_depth: int = 2, depth: int = 2) -> EncoderDecoder:
    return build(
        RunConfig(
            corpus="translate",
            arch="encdec",
            enc_width=enc_width,
            enc_depth=enc_depth,
            width=width,
            depth=depth,
            ctx=6,
            batch=8,
            tokens=48,
        ).model
    )


# -------------------------------------------------------------------- model
@pytest.mark.parametrize("e,d,le,ld", [(16, 32, 2, 2), (64, 32, 1, 3), (32, 96, 3, 1)])
def test_encoder_and_decoder_counts_match_the_formula(e, d, le, ld):
    c = counts(encdec(e, d, le, ld))
    n_e = le * (12 * e**2 + 2 * e) + e  # qkv, proj, mlp; two LayerNorm gains per block; final LayerNorm
    n_d = ld * (14 * d**2 + 2 * e * d + 3 * d) + d  # + cross-attention: q, proj (d x d) and kv (2 d x e); 3 gains
    assert (c.encoder_params, c.decoder_params) == (n_e, n_d)
    assert c.params_non_embedding == n_e + n_d
    assert c.params_total == n_e + n_d + 64 * e + 6 * e + 257 * d + 6 * d  # source / target token and position tables
    assert c.matmul_params == le * 12 * e**2 + ld * (14 * d**2 + 2 * e * d) + 256 * d  # tied head without BOS
    assert c.flops_per_token == 6 * c.matmul_params + 6 * 6 * (le * e + 2 * ld * d)


def test_scaling_one_half_leaves_the_other_half_alone():
    base, wider_enc, wider_dec = (counts(encdec(e, d)) for e, d in ((32, 64), (128, 64), (32, 128)))
    assert wider_enc.encoder_params > 10 * base.encoder_params
    # the decoder grows only by its cross-attention's key/value projection, which reads the encoder's width
    assert wider_enc.decoder_params - base.decoder_params == 2 * 2 * (128 - 32) * 64
    assert wider_dec.encoder_params == base.encoder_params


def test_forward_shapes_and_window_split():
    torch.manual_seed(0)
    model = encdec(16, 32).eval()
    corpus = corpora.get_corpus("translate")
    x = torch.from_numpy(corpus.eval_windows(5, 6).astype(np.int64))
    src, tgt_in, tgt_out = model.split_window(x)
    assert src.shape == tgt_in.shape == tgt_out.shape == (5, 6)
    assert (tgt_in[:, 0] == corpus.bos).all() and torch.equal(tgt_in[:, 1:], tgt_out[:, :-1])
    assert model(src, tgt_in).shape == (5, 6, corpus.tgt_vocab)  # BOS is never predicted


def test_decoder_is_causal_and_encoder_sees_the_whole_source():
    torch.manual_seed(0)
    model = encdec(16, 32).eval()
    src, tgt = torch.randint(0, 64, (1, 6)), torch.randint(0, 256, (1, 6))
    with torch.no_grad():
        ref = model(src, tgt)
        later_tgt = tgt.clone()
        later_tgt[0, 3:] = (later_tgt[0, 3:] + 1) % 256
        assert torch.equal(model(src, later_tgt)[0, :3], ref[0, :3])
        last_src = src.clone()
        last_src[0, 5] = (last_src[0, 5] + 1) % 64
        assert not torch.allclose(model(last_src, tgt)[0, 0], ref[0, 0])  # the first word sees the last source word


def test_config_rules_and_unchanged_decoder_only_keys():
    with pytest.raises(ValueError, match="encdec"):
        RunConfig(corpus="translate", width=32)  # a GPT cannot train on translation pairs
    with pytest.raises(ValueError, match="enc_width"):
        RunConfig(corpus="translate", arch="encdec", width=32, ctx=6)
    with pytest.raises(ValueError, match="encdec"):
        RunConfig(corpus="zipf", arch="encdec", enc_width=16, enc_depth=2)
    assert "enc_width" not in RunConfig().to_dict()  # decoder-only runs keep their cache keys
    cfg = RunConfig(
        corpus="translate", arch="encdec", enc_width=16, enc_depth=2, width=32, ctx=6, batch=85, tokens=1_500_000
    )
    assert RunConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.run_id() == "encdec-enc16x2-dec32x2-t1.5M-cosine-s0"
    assert cfg.model == ModelConfig(
        arch="encdec", width=32, depth=2, ctx=6, vocab=257, enc_width=16, enc_depth=2, src_vocab=64
    )


# ------------------------------------------------------------------- corpus
def test_translation_corpus_is_deterministic_and_its_best_loss_is_exact():
    c = corpora.TranslateCorpus()
    v, e = 256, 0.1
    assert c.H == pytest.approx(
        -(1 - e + e / v) * math.log(1 - e + e / v) - (v - 1) * (e / v) * math.log(e / v), rel=1e-12
    )
    assert c.H == pytest.approx(0.876186, abs=1e-6)
    w = c.eval_windows(20_000, 6)
    assert w.shape == (20_000, 13) and (w[:, 6] == c.bos).all()
    assert np.array_equal(w, corpora.TranslateCorpus().eval_windows(20_000, 6))  # fixed evaluation set
    rng = lambda: np.random.default_rng(3)  # noqa: E731
    assert np.array_equal(c.train_windows(rng(), 64, 6), c.train_windows(rng(), 64, 6))
    assert not np.array_equal(c.train_windows(rng(), 64, 6), c.train_windows(np.random.default_rng(4), 64, 6))
    # the true law's loss on a sample is H up to sampling noise (per-token sd < 2 nats)
    assert abs(c.oracle_loss(w) - c.H) < 4 * 2.0 / math.sqrt(w[:, 7:].size)
    assert c.info.content_hash != corpora.TranslateCorpus(noise=0.2).info.content_hash
    with pytest.raises(ValueError, match="target length"):
        c.eval_windows(4, 128)


def test_translation_corpus_rules():
    c = corpora.TranslateCorpus()
    w = c.eval_windows(20_000, 6)
    src, tgt = w[:, :6], w[:, 7:]
    assert list(c.order) == [2, 1, 0, 5, 4, 3]  # blocks of 3, reversed
    clean = c.clean_targets(w)
    noisy = clean != tgt
    assert abs(noisy.mean() - 0.1 * 255 / 256) < 0.01  # 10 % replaced, 1/256 of them by the clean word itself
    # lemmas: the literal or the idiomatic one, chosen by the word pair
    lemma = clean // c.forms
    word = src[:, c.order]
    assert np.all((lemma == c.literal[word]) | (lemma == c.idiomatic[word]))
    assert abs(c.idiom.mean() - 0.25) < 0.03 and abs(c.exception.mean() - 0.25) < 0.03
    # agreement: the form of the previous emitted word (0 after BOS), shifted by one on an exception
    prev = np.concatenate([np.full((len(w), 1), c.bos), tgt[:, :-1]], axis=1)
    prev_form = np.where(prev == c.bos, 0, prev % c.forms)
    prev_lemma = np.where(prev == c.bos, c.lemmas, prev // c.forms)
    assert np.array_equal(clean % c.forms, (prev_form + c.exception[prev_lemma, lemma]) % c.forms)


# --------------------------------------------------------------- a few steps
def test_a_few_training_steps_give_valid_rows_with_encoder_and_decoder_params():
    from workbench.corpus.load import validate
    from workbench.proxies.train import train

    cfg = RunConfig(
        corpus="translate",
        arch="encdec",
        enc_width=16,
        enc_depth=1,
        width=32,
        depth=1,
        ctx=6,
        batch=85,
        tokens=5100,
        eval_tokens=1200,
        curve_points=2,
        curve_eval_tokens=600,
        lr=1e-3,
    )
    threads = torch.get_num_threads()
    try:
        res = train(cfg, threads=1)
    finally:
        torch.set_num_threads(threads)
    df = validate(results.to_frame(results.rows(res, "unit")), "nmt rows")
    final = df.filter(pl.col("final") & (pl.col("metric") == "loss")).row(0, named=True)
    assert final["source_id"] == "proxy:translate" and final["eval_set"] == "translate-val"
    assert final["encoder_params"] + final["decoder_params"] == final["params"] == final["params_non_embedding"]
    assert final["tokens"] == 5100 and final["flops"] == pytest.approx(5100 * res["counts"]["flops_per_token"])
    assert final["value"] < math.log(256) and res["corpus"]["oracle_eval_loss"] < 1.0


# ------------------------------------------------------------------ shipped
@pytest.fixture(scope="module")
def shipped():
    df = results.load("nmt")
    return df, get_preset("nmt").verify(df)


def test_shipped_nmt_rows_cover_the_grid():
    df = results.load("nmt")
    pts = nmt_points(df)
    assert pts.height == len(nmt_grid()) == 14
    assert set(zip(pts["encoder_width"], pts["decoder_width"])) == set(nmt_grid())
    assert (df["encoder_params"] + df["decoder_params"] == df["params"]).all()
    assert (df["params_convention"] == "non_embedding").all() and (df["source_id"] == "proxy:translate").all()
    assert sorted(set(pts["series"])) == ["all", "decoder", "encoder", "proportional", "skewed"]


def test_shipped_nmt_passes_its_preregistered_checks_but_one(shipped):
    """Every pre-registered check passes except the L_inf tolerance (reported in datasets/proxies/README.md)."""
    _, verdict = shipped
    failing = [c for c in verdict["checks"] if not c["passed"]]
    assert [c["name"] for c in failing] == ["(d) fitted L_inf vs the task's exact best loss H"]
    assert abs(failing[0]["value"]["rel"]) > NMT_LINF_TOLERANCE
    assert len(verdict["checks"]) == 11


def test_shipped_nmt_fit_matches_the_recorded_constants(shipped):
    df, verdict = shipped
    p = verdict["fitted"]["params"]
    recorded = {"L_inf": 0.7348, "alpha": 0.02402, "p_e": 0.1337, "p_d": 0.2639}  # datasets/proxies/README.md
    for k, v in recorded.items():
        assert p[k] == pytest.approx(v, rel=2e-3), k
    res, boot = nmt_fit(nmt_points(df), draws=200)  # the notebook's path; fewer draws, same optimum
    assert res.params["p_e"] == pytest.approx(p["p_e"], rel=1e-6) and res.ci["p_e"][0] > 0
    d = verdict["details"]
    assert d["max_rel_error"] < 0.02 and d["power_offset_params"]["max_rel_error"] > 0.05
    assert d["fit_with_L_inf_fixed_to_H"]["max_rel_error"] < 0.035
