"""Tiny byte-level language models in one readable file: a GPT, an LSTM and a fixed-window MLP.

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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from workbench.proxies.config import ModelConfig


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.width % cfg.n_heads:
            raise ValueError(f"width {cfg.width} is not divisible by {cfg.n_heads} heads")
        self.heads = cfg.n_heads
        self.qkv = nn.Linear(cfg.width, 3 * cfg.width, bias=False)
        self.proj = nn.Linear(cfg.width, cfg.width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(b, t, d))


class MLP(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.fc = nn.Linear(cfg.width, cfg.mlp_ratio * cfg.width, bias=False)
        self.proj = nn.Linear(cfg.mlp_ratio * cfg.width, cfg.width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(F.gelu(self.fc(x)))


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.width, bias=False)
        self.attn = CausalSelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.width, bias=False)
        self.mlp = MLP(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
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


MLP_WINDOW = 8
ARCHS = {"gpt": GPT, "lstm": LSTMLM, "mlp": MLPLM}


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


def counts(model: nn.Module) -> Counts:
    """Exact parameter counts and training FLOPs per token of a built model."""
    total = sum(p.numel() for p in model.parameters())
    non_emb = total - model.embedding_params()
    cfg = model.cfg
    matmul = sum(p.numel() for n, p in model.named_parameters() if p.dim() == 2 and not n.startswith(("tok.", "pos.")))
    matmul += cfg.vocab * cfg.width  # the tied head's product
    six_n = 6.0 * matmul
    return Counts(total, non_emb, matmul, six_n + model.attention_flops_per_token(), six_n)
