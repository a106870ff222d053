"""Proxy throughput: tokens/s and model-FLOPs utilisation per width, and the pool against one process.

The measurements, all in this process tree, on whatever machine runs them:

1. The fp32 matmul peak (GFLOP/s) at 1 and 2 threads, measured here (best of
   timed bursts over square sizes 256-1024).
2. Training throughput of the proxy GPT (depth 2, ctx 128, batch 4x128, AdamW)
   per width at 1 and 2 threads: tokens/s and MFU = tokens/s x 6N / peak, with
   N the matmul parameters (non-embedding + tied head); attention FLOPs are
   *not* in the numerator (they add 6 x depth x ctx x width per token).
   Targets: MFU >= 50 % at width >= 128 on one thread.
3. The whole ``quick`` sweep twice: a pool of one-thread workers (one per
   available core) and one two-thread process; their aggregate tokens/s and
   ratio (target >= 1.5x), and, from the pool's results, the fitted E of
   ``power_offset_params`` against the zipf source's exact entropy rate
   (target within 0.5 %).
4. The ceiling of that ratio implied by measurement 2: the sweep's runs timed
   at the measured 1- and 2-thread speeds of their widths (log-log
   interpolation), the pool's makespan by longest-first scheduling with no
   contention between workers and no start-up cost.  No pool of one-thread
   workers can beat this figure on the machine measured: it is what the
   second thread of one process fails to deliver, and nothing more.

5. When torch sees a CUDA device (``--device cuda`` runs): its matmul peak,
   measured in this process (float32 with torch's default "highest" matmul
   precision, i.e. no TF32, and bfloat16; square sizes 1024-8192, timed between
   ``torch.cuda.synchronize`` calls), and the proxy GPT's training throughput
   per width on the GPU in float32 and under bf16 autocast, each with MFU
   against the peak of its own dtype.  The batch is the sweep's (4 x 128) unless
   ``--gpu-batch`` says otherwise: at these widths a GPU is launch-bound, and the
   MFU says so.  Without a GPU one line says it was not measured (``"gpu": null``
   in ``--json``).

The machine's load average is printed before and after: on a shared machine
every number here is a lower bound.

Run: .venv/bin/python benchmarks/proxy_throughput.py [--widths 32 64 128 256 384] [--seconds 3]
     [--sweep quick|smoke|none] [--gpu-batch 4] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import torch
import torch.nn.functional as F


def matmul_peak(threads: int, seconds: float = 1.0) -> float:
    torch.set_num_threads(threads)
    best = 0.0
    for size in (256, 512, 768, 1024):
        a, b = torch.randn(size, size), torch.randn(size, size)
        for _ in range(3):
            a @ b
        end = time.perf_counter() + seconds / 4
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            for _ in range(4):
                a @ b
            best = max(best, 4 * 2 * size**3 / (time.perf_counter() - t0))
    return best


def train_throughput(
    width: int, threads: int, seconds: float, device: str = "cpu", autocast: str | None = None, batch: int = 4
) -> dict:
    """Best tokens/s of the proxy GPT's training step over 1-second windows (GPU windows end in a synchronize)."""
    from workbench.proxies.config import ModelConfig
    from workbench.proxies.models import build, counts
    from workbench.proxies.train import forward_context, synchronize

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    dev = torch.device(device)
    model = build(ModelConfig(width=width, depth=2, ctx=128))
    c = counts(model)
    model.to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.95), weight_decay=0.1)
    x = torch.randint(0, 256, (batch, 129), device=dev)

    def step():
        with forward_context(dev, autocast):
            logits = model(x[:, :-1])
        loss = F.cross_entropy(logits.float().reshape(-1, 256), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    for _ in range(5):
        step()
    synchronize(dev)
    best = 0.0  # best of 1-second windows: robust to other processes' bursts
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0, n = time.perf_counter(), 0
        while time.perf_counter() - t0 < min(1.0, seconds):
            step()
            n += 1
        synchronize(dev)
        best = max(best, n * batch * 128 / (time.perf_counter() - t0))
    return {
        "width": width,
        "threads": threads,
        "matmul_params": c.matmul_params,
        "flops_per_token_6n": c.flops_per_token_6n,
        "tokens_per_second": best,
    }


def gpu_peak(dtype: str, seconds: float = 1.0) -> dict:
    """The CUDA matmul peak in ``dtype`` (FLOP/s), best over square sizes 1024-8192, and the size that reached it."""
    from workbench.proxies.train import measure_peak

    per_size = {size: measure_peak(seconds / 4, size, device="cuda", dtype=dtype) for size in (1024, 2048, 4096, 8192)}
    size = max(per_size, key=per_size.get)
    return {"flops": per_size[size], "size": size, "per_size": per_size}


def gpu_measurements(widths: list[int], seconds: float, batch: int) -> dict:
    """GPU peak (float32, bfloat16) and per-width training throughput with MFU against the peak of its dtype."""
    peaks = {"float32": gpu_peak("float32"), "bfloat16": gpu_peak("bfloat16")}
    rows = []
    for w in widths:
        for autocast, dtype in ((None, "float32"), ("bf16", "bfloat16")):
            r = train_throughput(w, torch.get_num_threads(), seconds, device="cuda", autocast=autocast, batch=batch)
            r["compute_dtype"] = "bfloat16 autocast" if autocast else "float32"
            r["mfu_6n"] = r["tokens_per_second"] * r["flops_per_token_6n"] / peaks[dtype]["flops"]
            rows.append(r)
    return {
        "device_name": torch.cuda.get_device_name(0),
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "batch": batch,
        "peak": peaks,
        "per_width": rows,
    }


def print_gpu(gpu: dict | None) -> None:
    if gpu is None:
        print("no CUDA device: GPU peak and MFU not measured")
        return
    p = gpu["peak"]
    print(
        f"GPU {gpu['device_name']} (CUDA {gpu['cuda']}, cuDNN {gpu['cudnn']}): matmul peak "
        f"{p['float32']['flops'] / 1e12:.1f} TFLOP/s float32 (n = {p['float32']['size']}), "
        f"{p['bfloat16']['flops'] / 1e12:.1f} TFLOP/s bfloat16 (n = {p['bfloat16']['size']})"
    )
    for r in gpu["per_width"]:
        print(
            f"GPU width {r['width']:4d}  {r['compute_dtype']:17s}  batch {gpu['batch']}x128  "
            f"{r['tokens_per_second']:10.0f} tokens/s  MFU(6N) {100 * r['mfu_6n']:5.1f} %"
        )


def _interp_tps(rows: list[dict], width: int, threads: int) -> float:
    import numpy as np

    pts = sorted((r["width"], r["tokens_per_second"]) for r in rows if r["threads"] == threads)
    w = np.log([p[0] for p in pts])
    t = np.log([p[1] for p in pts])
    return float(np.exp(np.interp(np.log(width), w, t)))


def pool_ceiling(preset: str, rows: list[dict], workers: int) -> dict:
    """Best possible pool / one-process ratio for ``preset`` from the per-width speeds in ``rows``."""
    from workbench.proxies.presets import get_preset

    cfgs = [c for c in get_preset(preset).configs() if c.arch == "gpt"]
    t1 = sorted((c.tokens / _interp_tps(rows, c.width, 1) for c in cfgs), reverse=True)
    t2 = sum(c.tokens / _interp_tps(rows, c.width, 2) for c in cfgs)
    loads = [0.0] * max(1, workers)
    for t in t1:  # longest first, each to the least-loaded worker, as the sweep submits them
        loads[loads.index(min(loads))] += t
    makespan = max(loads)
    return {
        "one_process_seconds": t2,
        "pool_makespan_seconds": makespan,
        "ceiling": t2 / makespan,
        "serial_one_thread_seconds": sum(t1),
        "runs": len(cfgs),
    }


def sweep_compare(preset: str) -> dict:
    from workbench.fit import fit
    from workbench.laws import get_law
    from workbench.proxies.corpora import ZipfMarkov
    from workbench.proxies.presets import get_preset
    from workbench.proxies.results import final_losses
    from workbench.proxies.sweep import available_cpus, run_sweep

    cfgs = get_preset(preset).configs()
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, workers, threads in (("pool", available_cpus(), 1), ("one_process", 1, 2)):
            t0 = time.perf_counter()
            res = run_sweep(
                cfgs, os.path.join(tmp, name), preset=preset, workers=workers, threads=threads, progress=False
            )
            out[name] = {
                "workers": workers,
                "threads": threads,
                "wall_seconds": time.perf_counter() - t0,
                "tokens_per_second": res.summary["tokens_per_second"],
                "mfu_6n": res.summary["mfu_6n"],
                "loadavg_after": list(os.getloadavg()),
            }
            if name == "pool" and preset == "quick":  # the preset built to pin E down (six sizes on zipf)
                f = final_losses(res.frame)
                f = f.filter(f["seed"] == 0)
                r = fit(get_law("power_offset_params"), f)
                h = ZipfMarkov().H
                out["fitted_E"] = {
                    "E": r.params["E"],
                    "true_entropy_rate": h,
                    "relative_error_percent": 100 * (r.params["E"] / h - 1),
                    "alpha": r.params["alpha"],
                    "runs": f.height,
                }
    out["pool_over_one_process"] = out["pool"]["tokens_per_second"] / out["one_process"]["tokens_per_second"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--widths", type=int, nargs="+", default=[32, 48, 64, 96, 128, 192, 256, 384])
    ap.add_argument("--seconds", type=float, default=3.0, help="timing window per width and thread count")
    ap.add_argument("--sweep", default="quick", help="preset for the pool comparison (quick, smoke, none)")
    ap.add_argument("--gpu-batch", type=int, default=4, help="windows of 128 tokens per step in the GPU measurements")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    report = {"loadavg_before": list(os.getloadavg()), "cpus": os.cpu_count(), "torch": torch.__version__}
    report["peak_gflops"] = {t: matmul_peak(t) / 1e9 for t in (1, 2)}
    rows = []
    for w in args.widths:
        for t in (1, 2):
            r = train_throughput(w, t, args.seconds)
            r["mfu_6n"] = r["tokens_per_second"] * r["flops_per_token_6n"] / (report["peak_gflops"][t] * 1e9)
            rows.append(r)
            if not args.json:
                print(
                    f"width {w:4d}  threads {t}  {r['tokens_per_second']:9.0f} tokens/s  MFU(6N) "
                    f"{100 * r['mfu_6n']:5.1f} %",
                    flush=True,
                )
    report["per_width"] = rows
    report["gpu"] = gpu_measurements(args.widths, args.seconds, args.gpu_batch) if torch.cuda.is_available() else None
    if not args.json:
        print_gpu(report["gpu"])
    if args.sweep != "none":
        from workbench.proxies.sweep import available_cpus

        report["pool_ceiling"] = pool_ceiling(args.sweep, rows, available_cpus())
        report["sweep"] = {"preset": args.sweep, **sweep_compare(args.sweep)}
    report["loadavg_after"] = list(os.getloadavg())
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(
        f"fp32 matmul peak: {report['peak_gflops'][1]:.0f} GFLOP/s (1 thread), {report['peak_gflops'][2]:.0f} (2 "
        "threads)"
    )
    if "sweep" in report:
        s = report["sweep"]
        print(
            f"{args.sweep} sweep: pool {s['pool']['tokens_per_second']:.0f} tokens/s "
            f"({s['pool']['workers']} x 1 thread, {s['pool']['wall_seconds']:.0f} s) vs one 2-thread process "
            f"{s['one_process']['tokens_per_second']:.0f} tokens/s ({s['one_process']['wall_seconds']:.0f} s): "
            f"{s['pool_over_one_process']:.2f}x"
        )
        c = report["pool_ceiling"]
        print(
            f"ceiling from the per-width speeds: one 2-thread process {c['one_process_seconds']:.0f} s, "
            f"ideal pool {c['pool_makespan_seconds']:.0f} s: at most {c['ceiling']:.2f}x "
            f"(the pool reached {s['pool_over_one_process'] / c['ceiling']:.0%} of it)"
        )
        e = s.get("fitted_E")
        if e:
            print(
                f"fitted E = {e['E']:.4f} vs entropy rate {e['true_entropy_rate']:.4f} "
                f"({e['relative_error_percent']:+.2f} %)"
            )
        else:
            print("fitted E: checked on the quick sweep only")
    print(f"load average before {report['loadavg_before']}, after {report['loadavg_after']}")


if __name__ == "__main__":
    main()
