"""``python -m workbench sweep --preset NAME --out DIR [--json]``: train a preset, resumably.

Prints runs (trained now / found cached), wall time, aggregate tokens/s,
model-FLOPs utilisation against the fp32 matmul peak measured in each worker,
the fitted law and the preset's checks.  Re-running on the same ``--out``
trains only what is missing.  ``--json`` prints the same as one JSON object
(keys ``preset``, ``out``, ``summary``, ``verification``).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from workbench.errors import WorkbenchError


def register(subparsers) -> None:
    """Add the ``sweep`` subcommand to the workbench CLI."""
    from workbench.proxies.presets import PRESETS

    p = subparsers.add_parser("sweep", help="train a preset grid of tiny torch proxies (resumable)")
    p.add_argument("--preset", required=True, help=f"one of: {', '.join(PRESETS)}")
    p.add_argument("--out", required=True, help="output folder (re-run on the same folder to resume)")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (default: one per available core; 0 = train in this process)",
    )
    p.add_argument("--threads", type=int, default=1, help="torch threads per worker (default 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_sweep)


def _clean(obj):
    """JSON-safe: NaN/inf become null, tuple keys become strings."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def cmd_sweep(args) -> int:
    from workbench.proxies.presets import get_preset
    from workbench.proxies.sweep import run_sweep

    preset = get_preset(args.preset)
    if args.workers is not None and args.workers < 0:
        raise WorkbenchError("--workers must be 0 or more")
    if args.threads < 1:
        raise WorkbenchError("--threads must be at least 1")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise WorkbenchError(f"--out {out}: exists and is not a folder")
    res = run_sweep(
        preset.configs(),
        out,
        preset=preset.name,
        workers=args.workers,
        threads=args.threads,
        progress=not args.no_progress and not args.json,
    )
    if res.failures:
        first = res.failures[0]
        raise WorkbenchError(
            f"{len(res.failures)} run(s) failed (first: {first[0]}: {first[1]}); "
            f"finished runs are kept in {out}, re-run to retry"
        )
    verification = preset.verify(res.frame)
    report = _clean({"preset": preset.name, "out": str(out), "summary": res.summary, "verification": verification})
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_report(report))
    return 0


def _flat(params: dict) -> str:
    """``k=v`` pairs; a nested group (one fit per architecture or set) becomes ``group: k=v ...``."""
    parts = []
    for k, val in params.items():
        if isinstance(val, dict):
            parts.append(f"[{k}: {_flat(val)}]")
        elif isinstance(val, (int, float)) and not isinstance(val, bool):
            parts.append(f"{k}={val:.4g}")
        elif isinstance(val, list):
            if val:  # e.g. a fit's warnings (a parameter at its bound)
                parts.append(f"{k}: {'; '.join(map(str, val))}")
        else:
            parts.append(f"{k}={val}")
    return ", ".join(parts)


def format_report(report: dict) -> str:
    s, v = report["summary"], report["verification"]
    lines = [
        f"preset {report['preset']}: {s['runs']} runs ({s['trained']} trained now, {s['cached']} cached) -> "
        f"{report['out']}"
    ]
    if s["trained"]:
        lines.append(
            f"wall time {s['wall_seconds']:.1f} s with {s['workers']} worker(s) x {s['threads_per_worker']} thread(s); "
            f"{s['tokens_per_second']:.0f} tokens/s; model-FLOPs utilisation {100 * (s['mfu_6n'] or 0):.1f} % "
            f"(6N, vs fp32 matmul peak {(s['peak_flops_per_worker'] or 0) / 1e9:.0f} GFLOP/s per worker)"
        )
    fitted = v.get("fitted") or {}
    if fitted.get("law"):
        lines.append(f"fitted {fitted['law']}: {_flat(fitted.get('params', {}))}")
    for c in v["checks"]:
        lines.append(f"  [{'pass' if c['passed'] else 'FAIL'}] {c['name']}: {c['value']} (target {c['target']})")
    lines.append("verified" if v["passed"] else "NOT verified (see the failing checks)")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: python -m workbench sweep ...")
