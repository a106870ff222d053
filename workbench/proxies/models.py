"""Tiny models in one readable file: a GPT, an LSTM and a fixed-window MLP over bytes, and an encoder-decoder.

Why these two.  The transformer is the model every scaling paper measures; the
LSTM is the classic contrast (Kaplan et al. 2020, Fig. 7: LSTMs keep up at
small scale, then fall behind), which is what a crossover needs; the fixed-window MLP is the other classic
contrast (it cannot use context beyond a few bytes).  All read and
write bytes (vocabulary 256) and tie the output head to the input embedding,
so their parameter counts differ only where the architectures differ.

The GPT is nanoGPT's ``model.py`` cut to the bone: pre-LayerNorm blocks
(no biases anywhere), causal attention through ``scaled_dot_product_attention``,
a GELU MLP of width 4d, learned positions, a tied head.

Counting (recorded in every result row):

* ``params_total``: every trainable parameter once (the tied head is the
  embedding, so it is not counted twice);
* ``params_non_embedding``: total minus the token and position embeddings
  (Kaplan's N);
* ``matmul_params``: the weights a token passes through in matrix products,
  i.e. non-embedding weights plus the tied head (V x d); LayerNorm gains are
  left out.  Model FLOPs per training token are ``6 * matmul_params`` (forward
  2, backward 4) plus, for attention, ``6 * depth * ctx * d`` (Kaplan's
  ``2 n_layer n_ctx d_attn`` forward, times three; the causal mask's halving
  is not taken, as in Kaplan).  The LSTM's recurrent and input matrices are
  matmul parameters too.

The encoder-decoder (:class:`EncoderDecoder`, the ``nmt`` preset's model) is
built from the same blocks, with encoder and decoder sized independently; it
also reports ``encoder_params`` and ``decoder_params`` (their sum is
``params_non_embedding``) and counts FLOPs per *target* token.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from workbench.proxies.config import ModelConfig


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention; ``causal=False`` lets every position see every other (an encoder)."""

    def __init__(self, cfg: ModelConfig, causal: bool = True):
        super().__init__()
        if cfg.width % cfg.n_heads:
            raise ValueError(f"width {cfg.width} is not divisible by {cfg.n_heads} heads")
        self.heads = cfg.n_heads
        self.causal = causal
        self.qkv = nn.Linear(cfg.width, 3 * cfg.width, bias=False)
        self.proj = nn.Linear(cfg.width, cfg.width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        return self.proj(y.transpose(1, 2).reshape(b, t, d))


class CrossAttention(nn.Module):
    """Decoder-to-encoder attention: queries at the decoder's width, keys and values projected from the encoder's."""

    def __init__(self, cfg: ModelConfig, memory_width: int):
        super().__init__()
        if cfg.width % cfg.n_heads:
            raise ValueError(f"width {cfg.width} is not divisible by {cfg.n_heads} heads")
        self.heads = cfg.n_heads
        self.q = nn.Linear(cfg.width, cfg.width, bias=False)
        self.kv = nn.Linear(memory_width, 2 * cfg.width, bias=False)
        self.proj = nn.Linear(cfg.width, cfg.width, bias=False)

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        h = self.heads
        q = self.q(x).view(b, t, h, d // h).transpose(1, 2)
        k, v = (z.view(b, memory.shape[1], h, d // h).transpose(1, 2) for z in self.kv(memory).split(d, dim=2))
        y = F.scaled_dot_product_attention(q, k, v)
        return self.proj(y.transpose(1, 2).reshape(b, t, d))


class MLP(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.fc = nn.Linear(cfg.width, cfg.mlp_ratio * cfg.width, bias=False)
        self.proj = nn.Linear(cfg.mlp_ratio * cfg.width, cfg.width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(F.gelu(self.fc(x)))


class Block(nn.Module):
    """Pre-LN transformer block: self-attention (causal unless ``causal=False``), then, when
    ``memory_width`` is given, cross-attention to an encoder's output, then the MLP."""

    def __init__(self, cfg: ModelConfig, causal: bool = True, memory_width: int | None = None):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.width, bias=False)
        self.attn = CausalSelfAttention(cfg, causal=causal)
        if memory_width is not None:
            self.ln_x = nn.LayerNorm(cfg.width, bias=False)
            self.xattn = CrossAttention(cfg, memory_width)
        self.ln2 = nn.LayerNorm(cfg.width, bias=False)
        self.mlp = MLP(cfg)

    def forward(self, x: torch.Tensor, memory: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        if memory is not None:
            x = x + self.xattn(self.ln_x(x), memory)
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """Decoder-only transformer over bytes: ``forward(idx) -> logits``."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab, cfg.width)
        self.pos = nn.Embedding(cfg.ctx, cfg.width)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.depth))
        self.ln_f = nn.LayerNorm(cfg.width, bias=False)
        self.apply(self._init)
        for name, p in self.named_parameters():  # GPT-2: scale residual projections by depth
            if name.endswith("proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.depth))

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        t = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(t, device=idx.device))
        for block in self.blocks:
            x = block(x)
        return F.linear(self.ln_f(x), self.tok.weight)  # tied head

    def embedding_params(self) -> int:
        return self.tok.weight.numel() + self.pos.weight.numel()

    def attention_flops_per_token(self) -> float:
        return 6.0 * self.cfg.depth * self.cfg.ctx * self.cfg.width


class LSTMLM(nn.Module):
    """Multi-layer LSTM over bytes with a tied head: ``forward(idx) -> logits``.

    Every window starts from a zero state (truncated back-propagation over
    the same ``ctx`` the transformer sees).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab, cfg.width)
        self.lstm = nn.LSTM(cfg.width, cfg.width, num_layers=cfg.depth, batch_first=True)
        self.ln_f = nn.LayerNorm(cfg.width, bias=False)
        nn.init.normal_(self.tok.weight, mean=0.0, std=0.02)
        for name, p in self.lstm.named_parameters():
            if name.startswith("bias"):
                nn.init.zeros_(p)
                h = cfg.width
                p.data[h : 2 * h] = 1.0  # forget-gate bias 1 (Jozefowicz et al. 2015)
            else:
                nn.init.uniform_(p, -1 / math.sqrt(cfg.width), 1 / math.sqrt(cfg.width))

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        y, _ = self.lstm(self.tok(idx))
        return F.linear(self.ln_f(y), self.tok.weight)

    def embedding_params(self) -> int:
        return self.tok.weight.numel()

    def attention_flops_per_token(self) -> float:
        return 0.0


class MLPLM(nn.Module):
    """A fixed-window MLP language model (Bengio et al. 2003 style) with a tied head.

    The last ``MLP_WINDOW`` byte embeddings are concatenated and passed through
    a GELU MLP (hidden 4d) back to width d.  It sees only those few bytes,
    whatever ``ctx`` is: a model that can win at small sizes and must level
    off at large ones.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.window = MLP_WINDOW
        self.tok = nn.Embedding(cfg.vocab, cfg.width)
        self.fc = nn.Linear(self.window * cfg.width, cfg.mlp_ratio * cfg.width, bias=False)
        self.proj = nn.Linear(cfg.mlp_ratio * cfg.width, cfg.width, bias=False)
        self.ln_f = nn.LayerNorm(cfg.width, bias=False)
        nn.init.normal_(self.tok.weight, mean=0.0, std=0.02)
        nn.init.normal_(self.fc.weight, mean=0.0, std=0.02)
        nn.init.normal_(self.proj.weight, mean=0.0, std=0.02)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.tok(idx)  # (b, t, d)
        padded = F.pad(x, (0, 0, self.window - 1, 0))  # zeros before the first byte
        t = idx.shape[1]
        ctx = torch.cat([padded[:, k : k + t] for k in range(self.window)], dim=-1)  # oldest ... newest
        return F.linear(self.ln_f(self.proj(F.gelu(self.fc(ctx)))), self.tok.weight)

    def embedding_params(self) -> int:
        return self.tok.weight.numel()

    def attention_flops_per_token(self) -> float:
        return 0.0


class EncoderDecoder(nn.Module):
    """A tiny translation transformer whose encoder and decoder are sized independently.

    The encoder (width ``enc_width``, ``enc_depth`` blocks) is the GPT's block
    with bidirectional attention over the source; the decoder (width
    ``width``, ``depth`` blocks) is the GPT's block with a cross-attention
    sub-layer between self-attention and MLP (Vaswani et al. 2017, pre-LN).
    Each side has its own token and learned position embeddings; the output
    head is tied to the decoder's token embedding (without the BOS row, which
    is never a target).

    Counting (so ``N_e + N_d = params_non_embedding``): the encoder's
    parameters are its blocks and final LayerNorm; the decoder's are its
    blocks, cross-attention included (the key/value projection reads the
    encoder's width, ``2 * enc_width * width`` weights per block, but lives in
    the decoder, as in every encoder-decoder), and its final LayerNorm.
    Embeddings are in neither, as in the other proxies.

    ``forward(src, tgt_in) -> logits``; :meth:`split_window` unpacks a
    :class:`~workbench.proxies.corpora.TranslateCorpus` window.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if not (cfg.enc_width and cfg.enc_depth and cfg.src_vocab):
            raise ValueError("an encoder-decoder needs enc_width, enc_depth and src_vocab")
        self.cfg = cfg
        self.enc_cfg = enc = dataclasses.replace(cfg, width=cfg.enc_width, depth=cfg.enc_depth, heads=0)
        self.src_tok = nn.Embedding(cfg.src_vocab, enc.width)
        self.src_pos = nn.Embedding(cfg.ctx, enc.width)
        self.encoder = nn.ModuleList(Block(enc, causal=False) for _ in range(enc.depth))
        self.ln_e = nn.LayerNorm(enc.width, bias=False)
        self.tok = nn.Embedding(cfg.vocab, cfg.width)  # target words + BOS (the last id)
        self.pos = nn.Embedding(cfg.ctx, cfg.width)
        self.decoder = nn.ModuleList(Block(cfg, memory_width=enc.width) for _ in range(cfg.depth))
        self.ln_f = nn.LayerNorm(cfg.width, bias=False)
        self.apply(GPT._init)
        for name, p in self.named_parameters():  # GPT-2: residual projections scaled by the side's depth
            if name.endswith("proj.weight"):
                depth = enc.depth if name.startswith("encoder.") else cfg.depth
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt((2 if name.startswith("encoder.") else 3) * depth))

    def split_window(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``[src | BOS | tgt]`` -> ``(src, decoder input BOS + tgt[:-1], targets tgt)``."""
        s = self.cfg.ctx
        return x[:, :s], x[:, s:-1], x[:, s + 1 :]

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        h = self.src_tok(src) + self.src_pos(torch.arange(src.shape[1], device=src.device))
        for block in self.encoder:
            h = block(h)
        return self.ln_e(h)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        memory = self.encode(src)
        x = self.tok(tgt_in) + self.pos(torch.arange(tgt_in.shape[1], device=tgt_in.device))
        for block in self.decoder:
            x = block(x, memory)
        return F.linear(self.ln_f(x), self.tok.weight[: self.cfg.vocab - 1])  # tied head, BOS excluded

    def embedding_params(self) -> int:
        return sum(m.weight.numel() for m in (self.src_tok, self.src_pos, self.tok, self.pos))

    def encoder_params(self) -> int:
        return sum(p.numel() for n, p in self.named_parameters() if n.startswith(("encoder.", "ln_e.")))

    def decoder_params(self) -> int:
        return sum(p.numel() for n, p in self.named_parameters() if n.startswith(("decoder.", "ln_f.")))

    def attention_flops_per_token(self) -> float:
        # per target token (source and target have the same length): encoder self-attention,
        # decoder self-attention and cross-attention, Kaplan's 6 x layers x ctx x width each
        c = self.cfg
        return 6.0 * c.ctx * (c.enc_depth * c.enc_width + 2 * c.depth * c.width)


MLP_WINDOW = 8
ARCHS = {"gpt": GPT, "lstm": LSTMLM, "mlp": MLPLM, "encdec": EncoderDecoder}


def build(cfg: ModelConfig) -> nn.Module:
    try:
        cls = ARCHS[cfg.arch]
    except KeyError:
        raise ValueError(f"unknown architecture {cfg.arch!r}; known: {', '.join(ARCHS)}") from None
    return cls(cfg)


@dataclass(frozen=True)
class Counts:
    params_total: int
    params_non_embedding: int
    matmul_params: int
    flops_per_token: float  # training FLOPs per token: 6 * matmul_params + attention
    flops_per_token_6n: float  # 6 * matmul_params only (the MFU convention)
    encoder_params: int | None = None  # encoder-decoder only: N_e + N_d = params_non_embedding
    decoder_params: int | None = None


_EMBEDDINGS = ("tok.", "pos.", "src_tok.", "src_pos.")


def counts(model: nn.Module) -> Counts:
    """Exact parameter counts and training FLOPs per (target) token of a built model."""
    total = sum(p.numel() for p in model.parameters())
    non_emb = total - model.embedding_params()
    cfg = model.cfg
    matmul = sum(p.numel() for n, p in model.named_parameters() if p.dim() == 2 and not n.startswith(_EMBEDDINGS))
    head_rows = cfg.vocab - 1 if isinstance(model, EncoderDecoder) else cfg.vocab  # BOS is never predicted
    matmul += head_rows * cfg.width  # the tied head's product
    six_n = 6.0 * matmul
    enc = dec = None
    if isinstance(model, EncoderDecoder):
        enc, dec = model.encoder_params(), model.decoder_params()
        assert enc + dec == non_emb
    return Counts(total, non_emb, matmul, six_n + model.attention_flops_per_token(), six_n, enc, dec)
