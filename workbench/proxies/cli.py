"""``python -m workbench sweep --preset NAME --out DIR [--json]``: train a preset, resumably.

``--backend ray [--address HOST:PORT]`` trains each run as a Ray task on a
cluster (or on a local Ray instance) and stores it exactly as the local pool
does, so either backend resumes the other's folder
(:mod:`workbench.proxies.ray_backend`).

``python -m workbench sweep --preset NAME --dry-run [--workers K] [--json]`` prices
the preset without training (runs, FLOPs, memory per run, wall time here on 1
and K workers, assumed GPU time; :mod:`workbench.proxies.pricing`), exit 0.

``python -m workbench sweep --preset NAME --verify FILE [--json]`` re-runs the
preset's pre-registered checks on rows already made (a sweep's ``results.csv``
or ``datasets/proxies/NAME.csv``) without training: every check with its value
and target, exit 0 when all pass and 1 when any fails.  The file must hold
every run of the preset and nothing else (exit 2 otherwise), so a check never
speaks for runs that are not there.

Prints runs (trained now / found cached), wall time, aggregate tokens/s,
model-FLOPs utilisation against the fp32 matmul peak measured in each worker,
the fitted law and the preset's checks.  Re-running on the same ``--out``
trains only what is missing.  ``--json`` prints the same as one JSON object
(keys ``preset``, ``out``, ``summary``, ``verification``).

Exit codes: 0 when every run gave rows; 2 (one line on stderr, after the
report, with ``verification`` null) when a run failed or diverged, or for a
bad ``--out``; 128 + the signal number (143) when SIGTERM stopped the sweep,
with the finished runs kept for a resume.  A cached file that is not a usable
run is named on stderr, counted in ``summary.invalid_cached`` and trained again.
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
    p.add_argument("--out", help="output folder (re-run on the same folder to resume)")
    p.add_argument(
        "--verify",
        metavar="FILE",
        help="check existing rows (a results.csv) against the preset's checks, without training",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (default: one per available core; 0 = train in this process)",
    )
    p.add_argument("--threads", type=int, default=1, help="torch threads per worker (default 1)")
    p.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="local: a process pool on this machine (default); ray: one Ray task per run (needs the [cluster] extra)",
    )
    p.add_argument(
        "--address",
        help="--backend ray: the cluster to join, HOST:PORT of its head (default: RAY_ADDRESS, else a local "
        "Ray instance on 127.0.0.1 with --workers CPUs)",
    )
    p.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="cpu",
        help="where torch runs train (default cpu, the shipped rows' device; auto: CUDA when torch sees it)",
    )
    p.add_argument(
        "--autocast",
        choices=("bf16",),
        default=None,
        help="mixed precision for the torch runs: bf16 autocast (default: float32)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="price the preset, training nothing: runs, FLOPs, memory a run, time here and on --workers, GPU time",
    )
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
    from workbench.proxies.sweep import SweepInterrupted, run_sweep

    preset = get_preset(args.preset)
    if args.dry_run:
        return cmd_dry_run(preset, args)
    if (args.out is None) == (args.verify is None):
        raise WorkbenchError("sweep needs exactly one of --out DIR (train) and --verify FILE (check existing rows)")
    if args.verify is not None:
        return cmd_verify(preset, Path(args.verify), as_json=args.json, configs=_configs_for_verify(preset, args))
    if args.workers is not None and args.workers < 0:
        raise WorkbenchError("--workers must be 0 or more")
    if args.threads < 1:
        raise WorkbenchError("--threads must be at least 1")
    if args.address is not None and args.backend != "ray":
        raise WorkbenchError("--address is for the Ray backend: add --backend ray")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise WorkbenchError(f"--out {out}: exists and is not a folder")
    try:
        res = run_sweep(
            preset.configs(),
            out,
            preset=preset.name,
            workers=args.workers,
            threads=args.threads,
            progress=not args.no_progress and not args.json,
            backend=args.backend,
            address=args.address,
            device=args.device,
            autocast=args.autocast,
        )
    except SweepInterrupted as exc:  # SIGTERM: workers stopped, finished runs kept
        print(str(exc), file=sys.stderr)
        return 128 + exc.signum
    verification = None if res.failures else preset.verify(res.frame)  # a check on missing runs says nothing
    report = _clean({"preset": preset.name, "out": str(out), "summary": res.summary, "verification": verification})
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    if res.failures:
        raise WorkbenchError(failure_line(res.failures, res.diverged, out))
    return 0


def cmd_dry_run(preset, args) -> int:
    """Print the preset's price (:mod:`workbench.proxies.pricing`) without training anything; exit 0."""
    from workbench.proxies.pricing import format_price, price
    from workbench.proxies.sweep import available_cpus

    if args.verify is not None:
        raise WorkbenchError("--dry-run prices a sweep; it does not go with --verify")
    if args.workers is not None and args.workers < 0:
        raise WorkbenchError("--workers must be 0 or more")
    workers = available_cpus() if args.workers is None else max(1, args.workers)  # 0: in this process, one worker
    if args.threads < 1:
        raise WorkbenchError("--threads must be at least 1")
    report = price(preset, workers, threads=args.threads)
    if not args.json:
        print(format_price(report))
        return 0
    print(json.dumps(_clean(report), indent=2))
    return 0


def preset_rows(preset, path: Path, configs=None):
    """The rows of ``path``, refused unless they are exactly the runs of ``preset`` (or ``configs``) in the schema."""
    import polars as pl

    from workbench.corpus.load import validate
    from workbench.corpus.proxy_sources import read_results_csv
    from workbench.corpus.tables import check_regular_file
    from workbench.errors import quote_list

    check_regular_file(path)
    try:
        df = read_results_csv(path)
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        raise WorkbenchError(f"{path}: not a results CSV ({str(exc).splitlines()[0][:200]})") from None
    validate(df, str(path))
    if "run_id" not in df.columns or df.height == 0:
        raise WorkbenchError(f"{path}: no rows with a run_id: not the results of a sweep")
    # a run is a source and a run id: one preset can train the same model on two sources (repetition)
    configs = preset.configs() if configs is None else configs
    expected = {_run_name(f"proxy:{c.corpus}", f"{preset.name}/{c.run_id()}") for c in configs}
    pairs = df.select("source_id", "run_id").drop_nulls().unique().iter_rows()
    present = {_run_name(source, run) for source, run in pairs}
    if present - expected:
        raise WorkbenchError(
            f"{path}: {len(present - expected)} run(s) are not runs of preset {preset.name!r} "
            f"(e.g. {quote_list(sorted(present - expected), most=3)}); verify one preset's results at a time"
            + _device_hint(present - expected)
        )
    if expected - present:
        raise WorkbenchError(
            f"{path}: {len(expected - present)} of the {len(expected)} runs of preset {preset.name!r} are missing "
            f"(e.g. {quote_list(sorted(expected - present), most=3)}); finish the sweep first (re-run it with --out)"
        )
    return df


def _device_hint(names) -> str:
    """Runs made with ``--device cuda``/``--autocast bf16`` carry a tag; say which flags verify them."""
    flags = [
        flag
        for tag, flag in (("-cuda-", "--device cuda"), ("-bf16-", "--autocast bf16"))
        if any(tag in n for n in names)
    ]
    return f" (they were trained with {' and '.join(flags)}: verify with the same)" if flags else ""


def _run_name(source_id: str, run_id: str) -> str:
    return f"{run_id} ({source_id})"


def _configs_for_verify(preset, args) -> list:
    """The runs ``--verify`` expects: the preset's, on ``--device``/``--autocast`` when given (no GPU needed)."""
    import dataclasses

    from workbench.proxies.toys import is_toy

    device = None if args.device == "auto" else args.device
    if device in (None, "cpu") and args.autocast is None:
        return preset.configs()
    return [
        c if is_toy(c) else dataclasses.replace(c, device=device or c.device, autocast=args.autocast)
        for c in preset.configs()
    ]


def cmd_verify(preset, path: Path, *, as_json: bool, configs=None) -> int:
    """Re-run ``preset``'s checks on the rows in ``path``; 0 when every check passes, 1 when one fails."""
    df = preset_rows(preset, path, configs)
    verification = preset.verify(df)
    report = _clean(
        {
            "preset": preset.name,
            "file": str(path),
            "rows": df.height,
            "runs": df.select("source_id", "run_id").n_unique(),
            "verification": verification,
        }
    )
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        print(f"preset {preset.name}: checking {report['runs']} runs ({report['rows']} rows) from {path}")
        print("\n".join(_verification_lines(report["verification"])))
    return 0 if verification["passed"] else 1


def _verification_lines(v: dict) -> list[str]:
    """The fitted law, one line per check (value and target) and the verdict."""
    lines = []
    fitted = v.get("fitted") or {}
    if fitted.get("law"):
        lines.append(f"fitted {fitted['law']}: {_flat(fitted.get('params', {}))}")
    for c in v["checks"]:
        lines.append(f"  [{'pass' if c['passed'] else 'FAIL'}] {c['name']}: {c['value']} (target {c['target']})")
    lines.append("verified" if v["passed"] else "NOT verified (see the failing checks)")
    return lines


def failure_line(failures: list[tuple[str, str]], diverged: list[tuple[str, str]], out: Path) -> str:
    """One line for the runs that gave no rows: errors (re-run to retry) and divergences (recorded, not retried)."""
    errors = [f for f in failures if f not in diverged]
    parts = []
    if errors:
        run, why = errors[0]
        parts.append(f"{len(errors)} run(s) failed (first: {run}: {why}), re-run to retry")
    if diverged:
        run, why = diverged[0]
        parts.append(
            f"{len(diverged)} run(s) diverged (first: {run}: {why}) and are left out of results.csv "
            f"(NaN is not data; the record stays in {out / 'runs'}, delete it to train the run again)"
        )
    return "; ".join(parts) + f"; finished runs are kept in {out}"


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
    if s.get("invalid_cached"):
        lines.append(f"{s['invalid_cached']} cached run file(s) were not usable and were trained again (see warnings)")
    if s.get("trained_elsewhere"):
        lines.append(f"{s['trained_elsewhere']} run(s) were trained meanwhile by another sweep on the same folder")
    ray = s.get("backend") or {}
    if ray.get("backend") == "ray" and "cpus" in ray:
        lines.append(
            f"on Ray at {ray['address']}: {ray['nodes']} node(s), {ray['cpus']:g} CPU(s), {ray['gpus']:g} GPU(s); "
            f"connected in {ray['connect_seconds']:.1f} s"
        )
    if s["trained"] and not s.get("tokens_per_second"):  # numpy toys train on no tokens; or every run diverged
        lines.append(f"wall time {s['wall_seconds']:.1f} s with {s['workers']} worker(s)")
    elif s["trained"]:
        lines.append(
            f"wall time {s['wall_seconds']:.1f} s with {s['workers']} worker(s) x {s['threads_per_worker']} thread(s); "
            f"{s['tokens_per_second']:.0f} tokens/s; model-FLOPs utilisation {100 * (s['mfu_6n'] or 0):.1f} % "
            f"(6N, vs the matmul peak of the runs' device and dtype, {(s['peak_flops_per_worker'] or 0) / 1e9:.0f} "
            "GFLOP/s per worker)"
        )
    if v is None:
        missing = len(s.get("diverged") or []) + len(s.get("failures") or [])
        lines.append(f"NOT verified: {missing} run(s) have no rows (see the error)")
        return "\n".join(lines)
    return "\n".join(lines + _verification_lines(v))


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: python -m workbench sweep ...")
