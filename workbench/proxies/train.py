"""Train one proxy model and return everything it measured, as plain data.

A :class:`RunConfig` says everything that determines a run: corpus, model,
tokens, batch, optimiser, LR schedule, seed, quantisation.  Its hash is the
cache key of a sweep, so a field that changes results must live here (and
``PROXY_VERSION`` is bumped when the training code changes what a config
produces).

Choices, from measurements on a 2-core CPU (see ``datasets/proxies/README.md``):
AdamW (betas 0.9/0.95, weight decay 0.1 on matrices, gradient clipping 1.0),
batch 4 x 128 (runs at fixed tokens are step-limited: bigger batches learn
less per token here), peak LR 3e-3 with linear warmup.  Schedules:

* ``constant``: warmup, then the peak;
* ``cosine``: warmup, then a half cosine down to ``min_lr * peak``;
* ``wsd`` (warmup-stable-decay): warmup, the peak, and a linear decay to
  ``min_lr * peak`` over the last ``decay`` fraction of the steps.

The loss curve is logged at ``curve_points`` steps (log- or evenly spaced) on
an evenly strided ``curve_eval_tokens`` subset of the fixed evaluation set, together with the
mean training loss since the previous point, the learning rate, the area under
the LR curve ``S1 = sum(lr)`` and the annealing area ``S2`` of Tissue et al.
(2024) with decay factor 0.999 (``m_i = 0.999 m_{i-1} + (lr_{i-1} - lr_i)``,
``S2 = sum(m)``; warmup steps add to S1 but not to S2).  The final point is
evaluated on all ``eval_tokens``.

An encoder-decoder (``arch = "encdec"``, translation corpora) is scored on the
target words only (:func:`logits_and_targets`), and ``tokens`` counts target words.

Determinism: the same config, seed and thread count give the same losses, bit
for bit, on the same machine (data order and initialisation are seeded; CPU
kernels are deterministic at a fixed thread count).

Devices and precision (``RunConfig.device``, ``RunConfig.autocast``).  The
model is built and initialised on the CPU (so a GPU run starts from the same
weights as the CPU run of its seed), then moved to the config's device; batches
and evaluation windows are moved there as they are used, and per-token losses
come back to the CPU as numpy.  With ``autocast = "bf16"`` every forward pass
(training, evaluation, post-training quantisation) runs under
``torch.autocast(device, bfloat16)`` and the logits are cast to float32 before
the cross-entropy; weights, gradients and AdamW's state stay float32.  The
default path (CPU, float32) runs exactly the operations it always did, so its
losses are bit-identical to those of runs made before devices existed.  GPU
runs are not bit-reproducible (cuBLAS and the attention kernels choose their
own reduction orders); their ``stats`` record the device, the compute dtype
and the torch / CUDA / cuDNN versions, which :func:`~workbench.proxies.results.rows`
copies into the rows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import platform
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from workbench.proxies import corpora, quantize
from workbench.proxies.config import (  # noqa: F401  (re-exported for convenience)
    ANNEAL_DECAY,
    PROXY_VERSION,
    SCHEDULES,
    RunConfig,
    curve_steps,
    lr_areas,
    lr_schedule,
)
from workbench.proxies.device import resolve_device
from workbench.proxies.models import build, counts
from workbench.proxies.sparsity import GradualPruner

PEAK_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def synchronize(device: torch.device | str) -> None:
    """Wait for the device's queued kernels (CUDA runs asynchronously), so a clock read after it is honest."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def measure_peak(seconds: float = 0.5, size: int | None = None, device: str = "cpu", dtype: str = "float32") -> float:
    """Matmul FLOP/s of square ``size`` products on ``device`` (best of a few timed bursts).

    On the CPU: float32 at the current thread count, ``size`` 512 by default.  On
    CUDA: ``size`` 4096 by default, timed between ``torch.cuda.synchronize`` calls;
    ``dtype="bfloat16"`` measures the peak a bf16-autocast run is held to.
    """
    dev = torch.device(device)
    size = size or (4096 if dev.type == "cuda" else 512)
    a = torch.randn(size, size, dtype=PEAK_DTYPES[dtype], device=dev)
    b = torch.randn(size, size, dtype=PEAK_DTYPES[dtype], device=dev)
    for _ in range(3):
        a @ b
    synchronize(dev)
    best = 0.0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        for _ in range(4):
            a @ b
        synchronize(dev)
        best = max(best, 4 * 2 * size**3 / (time.perf_counter() - t0))
    return best


def measure_peak_for(cfg: RunConfig, seconds: float = 0.3) -> float:
    """The matmul peak a run of ``cfg`` is measured against: its device, bf16 under bf16 autocast."""
    dtype = "bfloat16" if cfg.autocast == "bf16" else "float32"
    return measure_peak(seconds, device=resolve_device(cfg.device), dtype=dtype)


def forward_context(device: torch.device, autocast: str | None):
    """``torch.autocast(device, bfloat16)`` for ``autocast="bf16"``; a no-op context for float32."""
    if autocast == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _device_stats(device: torch.device, autocast: str | None) -> dict:
    """Where and in what precision a run computed, and the library versions (copied into GPU and bf16 rows)."""
    cuda = device.type == "cuda"
    compute = "bfloat16 autocast" if autocast == "bf16" else "float32"
    if cuda and autocast is None and torch.get_float32_matmul_precision() != "highest":
        compute = f"float32 (matmul precision {torch.get_float32_matmul_precision()}: TF32 allowed)"
    return {
        "device": device.type,
        "device_name": torch.cuda.get_device_name(device) if cuda else (platform.processor() or "cpu"),
        "compute_dtype": compute,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if cuda else None,
    }


def logits_and_targets(model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Next-token logits and their targets for a batch of windows.

    A language model predicts ``x[:, 1:]`` from ``x[:, :-1]``; an encoder-decoder
    (:class:`~workbench.proxies.models.EncoderDecoder`) unpacks ``[src | BOS | tgt]``
    and predicts the target words only.
    """
    if hasattr(model, "split_window"):
        src, tgt_in, tgt_out = model.split_window(x)
        return model(src, tgt_in), tgt_out
    return model(x[:, :-1]), x[:, 1:]


@torch.no_grad()
def token_losses(
    model: torch.nn.Module, windows: np.ndarray, batch: int = 32, autocast: str | None = None
) -> np.ndarray:
    """Per-token loss (nats) on ``windows`` (n, ctx+1; translation: n, 2 ctx + 1): shape (n, ctx), on the CPU.

    Windows are moved to the model's device batch by batch; ``autocast="bf16"``
    runs the forward pass under bf16 autocast and the loss in float32.
    """
    device = next(model.parameters()).device
    model.eval()
    out = []
    for i in range(0, len(windows), batch):
        x = torch.from_numpy(np.ascontiguousarray(windows[i : i + batch], dtype=np.int64)).to(device)
        with forward_context(device, autocast):
            logits, targets = logits_and_targets(model, x)
        loss = F.cross_entropy(logits.float().transpose(1, 2), targets, reduction="none")
        out.append(loss.cpu().numpy())
    model.train()
    return np.concatenate(out).astype(np.float64)


def _mean_and_stderr(losses: np.ndarray) -> tuple[float, float]:
    """Mean over tokens; the standard error treats each window as one sample (tokens in a window correlate)."""
    per_window = losses.mean(axis=1)
    return float(losses.mean()), float(per_window.std(ddof=1) / math.sqrt(len(per_window))) if len(
        per_window
    ) > 1 else 0.0


def _batches(cfg: RunConfig, corpus: corpora.Corpus, rng: np.random.Generator):
    """Training batches, forever: fresh windows, or epochs over a fixed pool of ``unique_tokens``.

    The pool (``unique_tokens // ctx`` windows) is drawn once from its own seed, so runs that differ only
    in epochs share their first windows' generator; each epoch visits it in a new random order.
    """
    if not cfg.unique_tokens:
        while True:
            block = torch.from_numpy(corpus.train_windows(rng, 64 * cfg.batch, cfg.ctx).astype(np.int64))
            for i in range(0, len(block) - cfg.batch + 1, cfg.batch):
                yield block[i : i + cfg.batch]
    pool = corpus.train_windows(np.random.default_rng([cfg.seed, 11]), cfg.unique_tokens // cfg.ctx, cfg.ctx)
    pool = torch.from_numpy(pool.astype(np.int64))
    carry = torch.empty((0, pool.shape[1]), dtype=torch.int64)
    while True:
        order = torch.from_numpy(rng.permutation(len(pool)))
        epoch = torch.cat([carry, pool[order]])
        n = len(epoch) - len(epoch) % cfg.batch
        for i in range(0, n, cfg.batch):
            yield epoch[i : i + cfg.batch]
        carry = epoch[n:]


@dataclass
class _Timer:
    train: float = 0.0
    eval: float = 0.0
    extra: dict = field(default_factory=dict)


def train(cfg: RunConfig, *, threads: int | None = None, peak_flops: float | None = None) -> dict:
    """Train one model; return config, counts, loss curve, final and PTQ losses, and timing."""
    t_start = time.perf_counter()
    if threads:
        torch.set_num_threads(threads)
    device = torch.device(resolve_device(cfg.device))  # a WorkbenchError if the config asks for absent CUDA
    corpus = corpora.get_corpus(cfg.corpus)
    torch.manual_seed(cfg.seed)
    model = build(cfg.model)  # initialised on the CPU, whatever the device: same weights for the same seed
    cnt = counts(model)
    model.to(device)  # in place; a no-op on the CPU
    if cfg.qat_weight or cfg.qat_activation:
        quantize.prepare_qat(
            model,
            quantize.parse_format(cfg.qat_weight, cfg.qat_block),
            quantize.parse_format(cfg.qat_activation, cfg.qat_block),
        )
    decay, no_decay = [], []
    for p in model.parameters():
        (decay if p.dim() >= 2 else no_decay).append(p)
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(0.9, 0.95),
        eps=1e-8,
    )
    lrs = lr_schedule(cfg)
    warm = int(round(cfg.warmup * cfg.steps))
    s1, s2 = lr_areas(lrs, warm)
    eval_windows = corpus.eval_windows(max(1, cfg.eval_tokens // cfg.ctx), cfg.ctx)
    # the curve is scored on an evenly strided subset, so it estimates the same quantity as the full set
    stride = max(1, len(eval_windows) // max(1, cfg.curve_eval_tokens // cfg.ctx))
    curve_windows = eval_windows[::stride]
    log_at = set(curve_steps(cfg))
    rng = np.random.default_rng([cfg.seed, 7])
    batches = _batches(cfg, corpus, rng)
    pruner = None
    if cfg.sparsity:
        pruner = GradualPruner(
            model, cfg.sparsity, cfg.steps, cfg.prune_start, cfg.prune_end, interval=max(1, cfg.steps // 100)
        )
        pruner.other_params = cnt.params_non_embedding - pruner.dense_params
    timer = _Timer()
    curve, running, running_n = [], 0.0, 0
    synchronize(device)
    t0 = time.perf_counter()
    for step in range(1, cfg.steps + 1):
        x = next(batches).to(device)  # the same tensor on the CPU
        for g in opt.param_groups:
            g["lr"] = float(lrs[step - 1])
        with forward_context(device, cfg.autocast):
            logits, targets = logits_and_targets(model, x)
        logits = logits.float()  # the loss in float32 under autocast (the same tensor in float32)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        if pruner is not None:
            pruner.after_step(step)
        lv = float(loss.detach())
        if not math.isfinite(lv):
            raise FloatingPointError(f"loss became {lv} at step {step} ({cfg.run_id()})")
        running += lv
        running_n += 1
        if step in log_at:
            synchronize(device)
            t1 = time.perf_counter()
            timer.train += t1 - t0
            windows = eval_windows if step == cfg.steps else curve_windows
            losses = token_losses(model, windows, autocast=cfg.autocast)
            value, stderr = _mean_and_stderr(losses)
            sparse = {}
            if pruner is not None:
                sparse = {
                    "sparsity": pruner.sparsity,
                    "params_nonzero": pruner.nonzero,
                    "params_average": pruner.average,
                }
            curve.append(
                {
                    **sparse,
                    "step": step,
                    "tokens": step * cfg.batch * cfg.ctx,
                    "lr": float(lrs[step - 1]),
                    "lr_area": float(s1[step - 1]),
                    "lr_anneal_area": float(s2[step - 1]),
                    "eval_loss": value,
                    "eval_stderr": stderr,
                    "eval_tokens": int(losses.size),
                    "train_loss": running / running_n,
                }
            )
            running, running_n = 0.0, 0
            t0 = time.perf_counter()
            timer.eval += t0 - t1
    final_losses = losses  # the last curve point is the full evaluation
    t_ptq = time.perf_counter()
    splits = {}
    if cfg.eval_splits:
        for split in cfg.eval_splits:
            mask = corpus.eval_mask(eval_windows, split)
            splits[split] = {
                "loss": float(final_losses[mask].mean()) if mask.any() else float("nan"),
                "tokens": int(mask.sum()),
            }
    ptq_rows = []
    for spec in cfg.ptq:
        fmt = quantize.parse_format(spec, cfg.ptq_block)
        qlosses = token_losses(quantize.ptq(model, fmt), eval_windows, autocast=cfg.autocast)
        value, stderr = _mean_and_stderr(qlosses)
        ptq_rows.append(
            {"format": spec, "loss": value, "stderr": stderr, "delta": float((qlosses - final_losses).mean())}
        )
    timer.eval += time.perf_counter() - t_ptq
    oracle = corpus.oracle_loss(eval_windows) if hasattr(corpus, "oracle_loss") else None
    train_tokens = cfg.steps * cfg.batch * cfg.ctx
    tps = train_tokens / timer.train if timer.train > 0 else float("nan")
    return {
        "config": cfg.to_dict(),
        "run_id": cfg.run_id(),
        "counts": dataclasses.asdict(cnt),
        "corpus": {
            "name": corpus.info.name,
            "content_hash": corpus.info.content_hash,
            "entropy_rate": corpus.info.entropy_rate,
            "oracle_eval_loss": oracle,
        },
        "curve": curve,
        "splits": splits,
        "ptq": ptq_rows,
        "stats": {
            "wall_seconds": time.perf_counter() - t_start,
            "train_seconds": timer.train,
            "eval_seconds": timer.eval,
            "train_tokens": train_tokens,
            "tokens_per_second": tps,
            "model_flops_6n": cnt.flops_per_token_6n * train_tokens,
            "mfu_6n": (tps * cnt.flops_per_token_6n / peak_flops) if peak_flops else None,
            "peak_flops": peak_flops,
            "threads": torch.get_num_threads(),
            **_device_stats(device, cfg.autocast),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        },
    }
