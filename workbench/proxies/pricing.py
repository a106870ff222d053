"""Price a preset before training it: runs, FLOPs, memory per run, wall time here and on K workers, GPU time.

Why.  A preset sized for a cluster (``isoflop_large``) takes a day on a 2-core
laptop; ``sweep --preset NAME --dry-run`` says so in seconds, without training.

How each figure is made (every run is a :class:`~workbench.proxies.config.RunConfig`):

* **FLOPs**: the proxies' own count, ``counts(build(cfg.model)).flops_per_token``
  (6 x matmul parameters + attention) x ``cfg.tokens``, the figure the sweep
  schedules by.  Numpy toys (:mod:`workbench.proxies.toys`) train on no tokens
  and have no FLOPs: their dry run counts runs and says so.
* **Peak memory per run** (fp32, 4 bytes a number), :func:`peak_memory_bytes`:
  ``4 x (6 x params_total + max(train, eval))``.  Six copies of every parameter:
  weights, gradients, AdamW's two moments and two temporaries of its foreach
  update and of gradient clipping.  ``train``, the activations the backward pass
  keeps for one batch: ``batch x ctx x (ACT_PER_LAYER x width x depth +
  LOGIT_COPIES x vocab)``, about 18 width-sized numbers per token and layer
  (LayerNorm outputs, q/k/v, attention output, the 4d MLP hidden before and
  after GELU, residuals) and the logits, their softmax and its gradient (3).
  ``eval``, one layer's forward at the evaluation batch (32 windows, no grad):
  ``32 x ctx x (EVAL_PER_LAYER x width + heads x ctx + 2 x vocab)``.  An
  encoder-decoder adds its encoder's ``enc_width x enc_depth``.  The process
  itself comes on top and is reported separately (``PROCESS_BASE_BYTES``,
  measured here: 300 MB RSS after importing torch and the trainer, 160-190 MB
  more once a first model trains, whatever its size), as is the corpus (2 MB
  for zipf, 31 MB for pystdlib).  Measured against ``ru_maxrss`` of short runs
  here: widths 64 and 512 on pystdlib (isoflop_large) rose 186 and 467 MB
  above the loaded corpus, for 27 and 290 MB of formula (so about 160-180 MB of
  the process's working overhead, and the formula, agree within a few MB).
* **Wall time here**, from a calibration in this process (:func:`calibrate`): a
  few real training steps (the trainer's model, AdamW, clipping, corpus
  batches, QAT if the preset uses it) of the preset's cheapest and dearest
  model per kind, one torch thread, give seconds per token ``a + b x
  flops_per_token`` (a: per-token overhead, b: 1 / achieved FLOP/s).  A run
  costs ``tokens x (a + b f)`` to train plus ``EVAL_FRACTION`` of that per
  evaluated token (forward only: loss-curve points, the final evaluation, PTQ
  formats).  K workers: the runs longest first, each to the least-loaded
  worker (as the sweep submits them), plus ``WORKER_START_SECONDS`` each
  (spawn, import torch); this assumes one core per worker.
* **GPU time**: total FLOPs / (a GPU's datasheet peak x ``ASSUMED_GPU_MFU``),
  floored at ``ASSUMED_GPU_STEP_SECONDS`` per optimiser step (tiny models are
  kernel-launch bound).  These are *assumptions*, not measurements: no GPU was
  available where this was written (``benchmarks/proxy_throughput.py`` measures
  MFU against a measured peak on CPU; its CPU figures are 25-50 %).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

ACT_PER_LAYER = 18
LOGIT_COPIES = 3
PARAM_COPIES = 6
EVAL_BATCH = 32  # windows per forward pass in train.token_losses
EVAL_PER_LAYER = 11  # live width-sized numbers per token in one layer's forward: 3 (q, k, v) + 8 (4d MLP, twice)
BYTES = 4  # fp32
EVAL_FRACTION = 1 / 3  # forward only: 2 of the 6 FLOPs per parameter and token
WORKER_START_SECONDS = 3.0  # a spawned worker importing torch, measured on the smoke preset (3 runs in 4 s)
PROCESS_BASE_BYTES = 480e6  # RSS of a worker once training runs, beyond the model's own memory (measured here)
ASSUMED_GPU_MFU = 0.10
ASSUMED_GPU_STEP_SECONDS = 2e-3
# Dense peaks from vendor datasheets, TFLOP/s: (fp32 without tensor cores, bf16 tensor cores).  Assumed, not measured.
GPU_PEAK_TFLOPS = {"L4": (30.3, 121.0), "A100 SXM": (19.5, 312.0), "H100 SXM": (67.0, 989.0)}


@dataclass(frozen=True)
class Calibration:
    """Seconds per training token ``a + b x flops_per_token`` for one kind of run, and the steps it came from."""

    kind: str
    a: float
    b: float
    points: tuple[tuple[float, float], ...]  # (flops per token, measured seconds per token)

    def seconds_per_token(self, flops_per_token: float) -> float:
        return self.a + self.b * flops_per_token

    @property
    def achieved_flops(self) -> float:
        return 1 / self.b if self.b > 0 else float("nan")


def _kind(cfg) -> str:
    """Runs that share a calibration: the architecture, and whether weights are fake-quantised."""
    return f"{cfg.arch}{'+qat' if cfg.qat_weight or cfg.qat_activation else ''}"


def model_numbers(cfg) -> dict:
    """Parameter count and FLOPs per token of ``cfg``'s model (built, not trained)."""
    from workbench.proxies.models import build, counts

    c = counts(build(cfg.model))
    return {"params_total": c.params_total, "flops_per_token": c.flops_per_token}


def peak_memory_bytes(cfg, params_total: int) -> float:
    """fp32 bytes of one run: the parameters with AdamW's state, and the larger of training's and evaluation's
    activations (module doc)."""
    m = cfg.model
    layers = m.width * m.depth + m.enc_width * m.enc_depth
    train = cfg.batch * cfg.ctx * (ACT_PER_LAYER * layers + LOGIT_COPIES * m.vocab)
    widest = max(m.width, m.enc_width)
    evaluate = EVAL_BATCH * cfg.ctx * (EVAL_PER_LAYER * widest + m.n_heads * cfg.ctx + 2 * m.vocab)
    return BYTES * (PARAM_COPIES * params_total + max(train, evaluate))


def _step_seconds(cfg, steps: int, budget: float) -> float:
    """Median seconds of one training step of ``cfg`` (after two warm-up steps), as the trainer takes it."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from workbench.proxies import corpora, quantize
    from workbench.proxies.models import build
    from workbench.proxies.train import logits_and_targets

    torch.manual_seed(cfg.seed)
    model = build(cfg.model)
    if cfg.qat_weight or cfg.qat_activation:
        quantize.prepare_qat(
            model,
            quantize.parse_format(cfg.qat_weight, cfg.qat_block),
            quantize.parse_format(cfg.qat_activation, cfg.qat_block),
        )
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.95), weight_decay=cfg.weight_decay)
    corpus = corpora.get_corpus(cfg.corpus)
    x = torch.from_numpy(corpus.train_windows(np.random.default_rng(0), cfg.batch, cfg.ctx).astype(np.int64))
    times, end = [], None
    for i in range(steps + 2):
        t0 = time.perf_counter()
        logits, targets = logits_and_targets(model, x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip or 1.0)
        opt.step()
        if i >= 2:
            times.append(time.perf_counter() - t0)
            end = end or t0 + budget
            if t0 > end and len(times) >= 3:
                break
    return statistics.median(times)


def calibrate(configs, numbers: dict, steps: int = 8, budget: float = 0.6, threads: int = 1) -> dict[str, Calibration]:
    """One :class:`Calibration` per kind of run in ``configs``, from its cheapest and dearest model per token.

    ``threads``: torch threads per run, as the sweep's ``--threads`` gives each worker or Ray task.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)  # as a sweep worker
    try:
        out = {}
        for kind in sorted({_kind(c) for c in configs}):
            group = sorted((c for c in configs if _kind(c) == kind), key=lambda c: numbers[c.model]["flops_per_token"])
            points = []
            for c in {group[0].model: group[0], group[-1].model: group[-1]}.values():
                f = numbers[c.model]["flops_per_token"]
                points.append((f, _step_seconds(c, steps, budget) / (c.batch * c.ctx)))
            out[kind] = _line(kind, points)
        return out
    finally:
        torch.set_num_threads(before)


def _line(kind: str, points: list[tuple[float, float]]) -> Calibration:
    """``a + b f`` through two points; with one point, or a negative overhead from noise, ``b f`` alone."""
    if len(points) == 2 and points[1][0] > points[0][0]:
        (f0, s0), (f1, s1) = points
        b = (s1 - s0) / (f1 - f0)
        a = s0 - b * f0
        if a >= 0 and b > 0:
            return Calibration(kind, a, b, tuple(points))
    return Calibration(kind, 0.0, statistics.mean(s / f for f, s in points), tuple(points))


def _evaluated_tokens(cfg) -> int:
    """Tokens scored forward-only during and after training: curve points, the final set, each PTQ format."""
    from workbench.proxies.config import curve_steps

    return (len(curve_steps(cfg)) - 1) * cfg.curve_eval_tokens + cfg.eval_tokens * (1 + len(cfg.ptq))


def run_seconds(cfg, flops_per_token: float, cal: Calibration) -> float:
    """Estimated seconds of one run on one core: training plus forward-only evaluation."""
    per_token = cal.seconds_per_token(flops_per_token)
    return per_token * (cfg.steps * cfg.batch * cfg.ctx + EVAL_FRACTION * _evaluated_tokens(cfg))


def makespan(costs: list[float], workers: int) -> float:
    """Seconds until the last of ``costs`` finishes on ``workers``: longest first, each to the least-loaded worker."""
    loads = [0.0] * max(1, workers)
    for c in sorted(costs, reverse=True):
        loads[loads.index(min(loads))] += c
    return max(loads)


def gpu_seconds(total_flops: float, steps: int) -> dict:
    """Assumed seconds on common GPUs, fp32 and bf16: FLOPs / (peak x ASSUMED_GPU_MFU), at least the step floor."""
    floor = steps * ASSUMED_GPU_STEP_SECONDS
    return {
        gpu: {
            "fp32_seconds": max(floor, total_flops / (fp32 * 1e12 * ASSUMED_GPU_MFU)),
            "bf16_seconds": max(floor, total_flops / (bf16 * 1e12 * ASSUMED_GPU_MFU)),
        }
        for gpu, (fp32, bf16) in GPU_PEAK_TFLOPS.items()
    }


def price(preset, workers: int, threads: int = 1) -> dict:
    """Everything ``--dry-run`` prints, as plain data; nothing is trained.

    ``threads`` per run are calibrated as such, but never more than this
    machine's cores (a figure for 8 threads cannot be measured on 2): the
    report says how many were measured.
    """
    from workbench.proxies.sweep import available_cpus
    from workbench.proxies.toys import is_toy

    configs = preset.configs()
    measured_threads = max(1, min(threads, available_cpus()))
    base = {
        "preset": preset.name,
        "runs": len(configs),
        "workers": workers,
        "threads_per_run": threads,
        "threads_measured": measured_threads,
    }
    torch_runs = [c for c in configs if not is_toy(c)]
    if not torch_runs:
        return {**base, "toy": True, "total_flops": None, "note": "numpy toys: no tokens, no FLOPs, no estimate"}
    if len(torch_runs) != len(configs):
        base["note"] = f"{len(configs) - len(torch_runs)} numpy toy run(s) are counted but not priced"
    numbers = {}
    for c in torch_runs:
        if c.model not in numbers:
            numbers[c.model] = model_numbers(c)
    t0 = time.perf_counter()
    cals = calibrate(torch_runs, numbers, threads=measured_threads)
    calibration_seconds = time.perf_counter() - t0
    per_run = []
    for c in torch_runs:
        n = numbers[c.model]
        per_run.append(
            {
                "run_id": c.run_id(),
                "tokens": c.tokens,
                "flops": n["flops_per_token"] * c.tokens,
                "peak_memory_bytes": peak_memory_bytes(c, n["params_total"]),
                "seconds": run_seconds(c, n["flops_per_token"], cals[_kind(c)]),
            }
        )
    total_flops = sum(r["flops"] for r in per_run)
    costs = [r["seconds"] for r in per_run]
    steps = sum(c.steps for c in torch_runs)
    return {
        **base,
        "toy": False,
        "total_tokens": sum(c.tokens for c in torch_runs),
        "total_flops": total_flops,
        "peak_memory_bytes_per_run": max(r["peak_memory_bytes"] for r in per_run),
        "process_base_bytes": PROCESS_BASE_BYTES,
        "wall_seconds_1_worker": WORKER_START_SECONDS + sum(costs),
        "wall_seconds_k_workers": WORKER_START_SECONDS + makespan(costs, workers),
        "calibration": {
            k: {"a_seconds_per_token": v.a, "achieved_flops": v.achieved_flops, "points": [list(p) for p in v.points]}
            for k, v in cals.items()
        },
        "calibration_seconds": calibration_seconds,
        "gpu_assumed": {
            "mfu": ASSUMED_GPU_MFU,
            "step_floor_seconds": ASSUMED_GPU_STEP_SECONDS,
            "seconds_serial": gpu_seconds(total_flops, steps),
            "steps": steps,
        },
        "per_run": per_run,
    }


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def format_price(p: dict) -> str:
    """The dry run as a few lines of text."""
    lines = [f"preset {p['preset']} (dry run, nothing trained): {p['runs']} runs"]
    if p["toy"]:
        return "\n".join(lines + [p["note"]])
    lines.append(f"training: {p['total_tokens'] / 1e6:.4g} M tokens, {p['total_flops']:.3g} FLOPs (proxies' count)")
    lines.append(
        f"peak memory per run: {p['peak_memory_bytes_per_run'] / 1e6:.0f} MB fp32 (parameters + AdamW + activations), "
        f"plus about {p['process_base_bytes'] / 1e6:.0f} MB for the Python/torch worker and the corpus"
    )
    cal = ", ".join(f"{k} {v['achieved_flops'] / 1e9:.0f} GFLOP/s" for k, v in p["calibration"].items())
    t, tm = p.get("threads_per_run", 1), p.get("threads_measured", 1)
    lines.append(f"calibration here ({tm} thread{'s' if tm > 1 else ''}, {p['calibration_seconds']:.1f} s): {cal}")
    if t > tm:
        lines.append(f"  ({t} threads a run asked for; this machine has {tm} cores, so {tm} were measured)")
    each = "one core each" if tm == 1 else f"{tm} cores each"
    lines.append(
        f"wall time here: {_duration(p['wall_seconds_1_worker'])} on 1 worker, "
        f"{_duration(p['wall_seconds_k_workers'])} on {p['workers']} worker(s) ({each}, longest first)"
    )
    g = p["gpu_assumed"]
    gpus = "; ".join(
        f"{name} {_duration(v['fp32_seconds'])} fp32, {_duration(v['bf16_seconds'])} bf16"
        for name, v in g["seconds_serial"].items()
    )
    lines.append(
        f"GPU time, ASSUMED (datasheet peak x {g['mfu']:.0%} MFU, at least {g['step_floor_seconds'] * 1e3:.0f} ms a "
        f"step, one GPU): {gpus}"
    )
    floor = g["steps"] * g["step_floor_seconds"]
    if all(v["bf16_seconds"] <= floor for v in g["seconds_serial"].values()):
        lines.append(f"  (the step floor binds: {g['steps']} optimiser steps; tiny models are launch-bound on a GPU)")
    if p.get("note"):
        lines.append(p["note"])
    return "\n".join(lines)
