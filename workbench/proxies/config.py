"""What determines a proxy run, as plain frozen data (no torch import).

:class:`RunConfig` holds every field that changes a run's results; its hash
(with ``PROXY_VERSION`` and the corpus content hash) is the sweep's cache key,
so ``PROXY_VERSION`` is bumped whenever the training code changes what a config
produces.  The learning-rate schedule and the Tissue et al. (2024) areas are
pure numpy functions of the config, so rows can be checked without training.
``device`` and ``autocast`` say where and in what precision a run trains; at
their defaults (the CPU, float32) they are left out of :meth:`RunConfig.to_dict`
and of the run id, so every run made before GPU runs existed keeps its key.
See :mod:`workbench.proxies.train` for the choices behind the defaults.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass

import numpy as np

from workbench.proxies import corpora

VOCAB = 256  # bytes


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of one proxy model.

    ``arch`` is ``"gpt"``, ``"lstm"``, ``"mlp"`` or ``"encdec"``; ``heads`` defaults to ``width // 32``
    (at least one), i.e. 32-dimensional heads.  For ``"encdec"`` (the translation
    transformer), ``width``/``depth`` are the decoder's, ``enc_width``/``enc_depth``
    the encoder's, ``ctx`` is both the source and the target length, ``vocab`` the
    target vocabulary (with BOS) and ``src_vocab`` the source vocabulary.
    """

    arch: str = "gpt"
    width: int = 64
    depth: int = 2
    ctx: int = 128
    heads: int = 0
    vocab: int = VOCAB
    mlp_ratio: int = 4
    enc_width: int = 0
    enc_depth: int = 0
    src_vocab: int = 0

    @property
    def n_heads(self) -> int:
        return self.heads or max(1, self.width // 32)


PROXY_VERSION = 2  # 2: loss curves scored on a strided (representative) subset
ANNEAL_DECAY = 0.999
SCHEDULES = ("constant", "cosine", "wsd")
RUN_DEVICES = ("cpu", "cuda")  # what a config records; "auto" is resolved before a config is built
AUTOCASTS = ("bf16",)


@dataclass(frozen=True)
class RunConfig:
    corpus: str = "zipf"
    arch: str = "gpt"
    width: int = 64
    depth: int = 2
    ctx: int = 128
    heads: int = 0
    tokens: int = 1_000_000
    batch: int = 4
    lr: float = 3e-3
    schedule: str = "cosine"
    warmup: float = 0.05  # fraction of steps
    decay: float = 0.2  # wsd: fraction of steps in the final decay
    min_lr: float = 0.1  # final LR as a fraction of the peak (cosine, wsd)
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    seed: int = 0
    qat_weight: str | None = None  # e.g. "int4", "fp8_e4m3"
    qat_activation: str | None = None
    qat_block: int | None = 32
    ptq: tuple[str, ...] = ()  # formats evaluated after training (weights only, RTN)
    ptq_block: int | None = 32
    eval_tokens: int = 131_072
    curve_points: int = 12
    curve_spacing: str = "log"  # log | linear
    curve_eval_tokens: int = 16_384
    eval_splits: tuple[str, ...] = ()  # corpus-specific subsets scored at the end (trap: exceptions, regular)
    label: str = ""  # human-readable condition, becomes the rows' ``condition``
    enc_width: int = 0  # arch "encdec" only: the encoder's width and depth (width/depth are the decoder's)
    enc_depth: int = 0
    unique_tokens: int = 0  # > 0: repeat a fixed pool of this many training tokens (epochs = tokens / unique_tokens)
    sparsity: float = 0.0  # > 0: gradual magnitude pruning of the block matrices to this final sparsity
    prune_start: float = 0.25  # fraction of steps where pruning starts and ends (Jin et al. 2025: 25 % to 75 %)
    prune_end: float = 0.75
    device: str = "cpu"  # where it trains: "cpu" or "cuda" (resolve "auto" with workbench.proxies.device first)
    autocast: str | None = None  # "bf16": forward passes under torch.autocast(bfloat16); None: float32 throughout

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; known: {', '.join(SCHEDULES)}")
        if self.corpus not in corpora.CORPORA:
            raise ValueError(f"unknown corpus {self.corpus!r}; known: {', '.join(corpora.CORPORA)}")
        if self.tokens < self.batch * self.ctx:
            raise ValueError("tokens must cover at least one batch")
        if self.eval_splits and not self.corpus.startswith("trap"):
            raise ValueError("eval_splits are defined for the trap corpus only")
        if (self.arch == "encdec") != (self.corpus in corpora.ENCDEC_CORPORA):
            raise ValueError(
                f"arch 'encdec' trains on (and only on) the translation corpora "
                f"{', '.join(corpora.ENCDEC_CORPORA)}; got arch {self.arch!r} on {self.corpus!r}"
            )
        if self.arch == "encdec" and not (self.enc_width > 0 and self.enc_depth > 0):
            raise ValueError("arch 'encdec' needs enc_width and enc_depth")
        if self.arch != "encdec" and (self.enc_width or self.enc_depth):
            raise ValueError("enc_width and enc_depth are for arch 'encdec' only")
        if self.unique_tokens and self.unique_tokens < (self.batch * self.ctx):
            raise ValueError("unique_tokens must hold at least one batch of windows")
        if not 0.0 <= self.sparsity < 1.0:
            raise ValueError(f"sparsity must be in [0, 1); got {self.sparsity}")
        if not 0.0 <= self.prune_start < self.prune_end <= 1.0:
            raise ValueError("pruning needs 0 <= prune_start < prune_end <= 1")
        if self.device not in RUN_DEVICES:
            hint = " (resolve 'auto' with workbench.proxies.device.resolve_device)" if self.device == "auto" else ""
            raise ValueError(f"unknown device {self.device!r}; known: {', '.join(RUN_DEVICES)}{hint}")
        if self.autocast is not None and self.autocast not in AUTOCASTS:
            raise ValueError(f"unknown autocast {self.autocast!r}; known: {', '.join(AUTOCASTS)} (or None for float32)")
        object.__setattr__(self, "ptq", tuple(self.ptq))
        object.__setattr__(self, "eval_splits", tuple(self.eval_splits))

    @property
    def steps(self) -> int:
        return max(1, round(self.tokens / (self.batch * self.ctx)))

    @property
    def model(self) -> ModelConfig:
        if self.arch == "encdec":
            c = corpora.get_corpus(self.corpus)
            return ModelConfig(
                arch=self.arch,
                width=self.width,
                depth=self.depth,
                ctx=self.ctx,
                heads=self.heads,
                vocab=c.tgt_vocab + 1,
                enc_width=self.enc_width,
                enc_depth=self.enc_depth,
                src_vocab=c.src_vocab,
            )
        return ModelConfig(arch=self.arch, width=self.width, depth=self.depth, ctx=self.ctx, heads=self.heads)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["ptq"], d["eval_splits"] = list(self.ptq), list(self.eval_splits)
        if self.arch != "encdec":  # keeps the keys (cache) and dicts of the decoder-only runs as they were
            del d["enc_width"], d["enc_depth"]
        if not self.unique_tokens:  # fresh data: the key of every run before data-constrained runs existed
            del d["unique_tokens"]
        if not self.sparsity:  # dense: likewise
            del d["sparsity"], d["prune_start"], d["prune_end"]
        if self.device == "cpu":  # likewise: every run before GPU runs existed trained on the CPU
            del d["device"]
        if self.autocast is None:  # ... in float32
            del d["autocast"]
        return d

    @property
    def epochs(self) -> float:
        """Passes over the unique training tokens (1 for fresh data)."""
        return self.tokens / self.unique_tokens if self.unique_tokens else 1.0

    @classmethod
    def from_dict(cls, d: dict) -> RunConfig:
        return cls(**{**d, "ptq": tuple(d.get("ptq", ())), "eval_splits": tuple(d.get("eval_splits", ()))})

    def key(self, corpus_hash: str = "") -> str:
        """Cache key: hash of every field, the code version and the corpus content."""
        blob = json.dumps({"v": PROXY_VERSION, "corpus_hash": corpus_hash, **self.to_dict()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    def run_id(self) -> str:
        t = self.tokens
        tok = f"{t / 1e6:.3g}M" if t >= 1e6 else f"{t / 1e3:.3g}k"
        if self.arch == "encdec":
            parts = [
                self.arch,
                f"enc{self.enc_width}x{self.enc_depth}",
                f"dec{self.width}x{self.depth}",
                f"t{tok}",
                self.schedule,
            ]
        else:
            parts = [self.arch, f"w{self.width}", f"d{self.depth}", f"t{tok}", self.schedule]
        if self.unique_tokens:
            u = self.unique_tokens
            parts.append(f"u{u / 1e6:.3g}M" if u >= 1e6 else f"u{u / 1e3:.3g}k")
        if self.sparsity:
            parts.append(f"sp{self.sparsity:g}")
        if self.qat_weight or self.qat_activation:
            parts.append(f"qat-w{self.qat_weight or 'fp32'}-a{self.qat_activation or 'fp32'}")
        if self.device != "cpu":  # CPU float32 runs keep the ids they always had
            parts.append(self.device)
        if self.autocast:
            parts.append(self.autocast)
        parts.append(f"s{self.seed}")
        if self.label:
            parts.append(self.label.replace(" ", "_"))
        return "-".join(parts)


def lr_schedule(cfg: RunConfig) -> np.ndarray:
    """Learning rate of every update ``1..steps`` (index 0 is step 1)."""
    n = cfg.steps
    s = np.arange(1, n + 1, dtype=np.float64)
    warm = int(round(cfg.warmup * n))
    lo = cfg.min_lr * cfg.lr
    if cfg.schedule == "constant":
        lr = np.full(n, cfg.lr)
    elif cfg.schedule == "cosine":
        prog = np.clip((s - warm) / max(1, n - warm), 0, 1)
        lr = lo + (cfg.lr - lo) * 0.5 * (1 + np.cos(math.pi * prog))
    else:  # wsd
        d = max(1, int(round(cfg.decay * n)))
        start = n - d
        prog = np.clip((s - start) / d, 0, 1)
        lr = cfg.lr - (cfg.lr - lo) * prog
    if warm:
        lr = np.where(s <= warm, cfg.lr * s / warm, lr)
    return lr


def lr_areas(lr: np.ndarray, warmup_steps: int, decay: float = ANNEAL_DECAY) -> tuple[np.ndarray, np.ndarray]:
    """``S1`` and ``S2`` after every step, by :func:`workbench.laws.annealing.annealing_areas`.

    Only difference: S2 is floored at 0, because rounding can leave -1e-17
    where a decay starts and a recorded column should not change sign on noise.
    """
    from workbench.laws.annealing import annealing_areas

    s1, s2 = annealing_areas(lr, decay, warmup_steps)
    return s1, np.maximum(s2, 0.0)


def curve_steps(cfg: RunConfig) -> list[int]:
    n = cfg.steps
    if cfg.curve_spacing == "linear":
        pts = np.linspace(n / cfg.curve_points, n, cfg.curve_points)
    else:
        pts = np.geomspace(min(10, n), n, cfg.curve_points)
    return sorted({int(round(p)) for p in pts} | {n})
