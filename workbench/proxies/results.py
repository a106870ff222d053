"""Proxy runs as corpus rows, and the shipped precomputed results.

A run becomes rows of the corpus schema (``workbench.corpus.schema``), so the
proxies' losses flow into the same fits and charts as published data:

* one ``loss`` row per logged step on ``<corpus>-val`` (the last one has
  ``final = true`` and a ``value_stderr``), and one ``train_loss`` row on
  ``<corpus>-train`` (mean training loss since the previous logged step);
* for the ``trap`` corpus, final ``loss`` rows on ``trap-exceptions`` and
  ``trap-regular``;
* one final ``loss`` row per post-training format (``precision_phase =
  post_training``, condition ``... ptq <format>``; ``note`` gives the
  degradation over the unquantised model on the same tokens).

``source_id`` is ``proxy:<corpus>``; ``run_id`` is ``<preset>/<run>``;
``params`` counts non-embedding parameters (``params_total`` and
``params_non_embedding`` are both filled; for the encoder-decoder also
``encoder_params`` and ``decoder_params``, which sum to ``params``, and
``width``/``depth``/``heads`` are the decoder's, the encoder's being in
``note`` and the run id); ``flops`` is training compute up to
the row's step (6 x matmul parameters plus attention, per token);
``source_commit`` is the corpus content hash; ``backing`` names the preset.

Runs off the default set-up (a GPU, or bf16 autocast) also fill ``device``
(``"cuda (<GPU name>)"`` or ``"cpu"``), ``compute_dtype`` (``"bfloat16
autocast"`` or ``"float32"``) and ``software`` (torch, CUDA, cuDNN and Python
versions), from the run's ``stats``; their condition defaults to ``bf16``
rather than ``fp32`` under autocast.  CPU float32 rows leave the three columns
out, so the shipped CSVs are unchanged (null there means the CPU in float32).

A sweep's cache holds one JSON file per run, and a file can be anything by
the time it is read again (hand-edited, truncated, another version's): so
:func:`run_problem` checks a stored run against what :func:`rows` and the sweep
read, and a run is never turned into rows unless it passes.  Losses must be
finite, as in every corpus table (NaN is an error, not data): a run whose loss
went non-finite is kept as a divergence record, never as rows.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from workbench.corpus import schema
from workbench.corpus.paths import proxies_dir
from workbench.corpus.proxy_sources import (  # noqa: F401  (re-exported: proxies' rows are corpus sources)
    ProxySource,
    load_preset,
    proxy_sources,
    read_results_csv,
)
from workbench.proxies.config import RunConfig

PAPER = "workbench proxy"
REPOSITORY = "local"
LICENCE = "CC0-1.0"  # the numbers are generated here; the pystdlib text itself is PSF-licensed (see sources.toml)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old file or the new one, never a torn one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class _Invalid(Exception):
    """One reason a stored run cannot be used (internal to :func:`run_problem`)."""


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _field(obj: dict, name: str, where: str, kind: str):
    """``obj[name]`` if it is of ``kind``: dict, list, str, int (a count >= 0), number, finite, or finite-or-null."""
    if name not in obj:
        raise _Invalid(f"{where}{name} is missing")
    v = obj[name]
    ok = {
        "dict": isinstance(v, dict),
        "list": isinstance(v, list),
        "str": isinstance(v, str),
        "int": isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "number": _is_number(v),
        "finite": _is_number(v) and math.isfinite(v),
        "finite?": v is None or (_is_number(v) and math.isfinite(v)),
    }[kind]
    if not ok:
        wanted = {"int": "a whole number >= 0", "finite": "a finite number", "finite?": "a finite number or null"}
        raise _Invalid(f"{where}{name} is {_short(v)}, not {wanted.get(kind, 'a ' + kind)}")
    return v


def _short(v) -> str:
    """A short, one-line JSON rendering of a stored value for a message."""
    text = json.dumps(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_identity(data, cfg: RunConfig, key: str) -> None:
    if not isinstance(data, dict):
        raise _Invalid(f"holds {_short(data)}, not a run object")
    if _field(data, "key", "", "str") != key:
        raise _Invalid(f"key {_short(data['key'])} is not the file's key {key!r}")
    if _field(data, "config", "", "dict") != cfg.to_dict():
        raise _Invalid("config is not the config this cache key was computed from")
    if _field(data, "run_id", "", "str") != cfg.run_id():
        raise _Invalid(f"run_id {_short(data['run_id'])} is not {cfg.run_id()!r}")


def _check_curve(curve: list, cfg: RunConfig) -> None:
    if not curve:
        raise _Invalid("curve is empty")
    last = 0
    for i, point in enumerate(curve):
        where = f"curve[{i}]."
        if not isinstance(point, dict):
            raise _Invalid(f"curve[{i}] is not an object")
        step = _field(point, "step", where, "int")
        if step <= last:
            raise _Invalid(f"{where}step {step} does not follow step {last}")
        last = step
        for name in ("tokens", "lr", "lr_area", "lr_anneal_area", "eval_loss", "eval_stderr", "train_loss"):
            _field(point, name, where, "finite")
        _field(point, "eval_tokens", where, "int")
        if cfg.sparsity:
            for name in ("sparsity", "params_nonzero", "params_average"):
                _field(point, name, where, "finite")
    if last != cfg.steps:
        raise _Invalid(f"curve ends at step {last}, not at the run's last step {cfg.steps}")


def _check_measurements(data: dict, cfg: RunConfig, corpus_hash: str) -> None:
    counts = _field(data, "counts", "", "dict")
    for name in ("params_total", "params_non_embedding", "flops_per_token"):
        _field(counts, name, "counts.", "finite")
    for name in ("encoder_params", "decoder_params"):
        if name in counts:
            _field(counts, name, "counts.", "finite?")
    corpus = _field(data, "corpus", "", "dict")
    _field(corpus, "name", "corpus.", "str")
    if _field(corpus, "content_hash", "corpus.", "str") != corpus_hash:
        raise _Invalid("corpus.content_hash is not the hash of the corpus this key was computed with")
    _check_curve(_field(data, "curve", "", "list"), cfg)
    splits = _field(data, "splits", "", "dict")
    if set(splits) != set(cfg.eval_splits):
        raise _Invalid(f"splits {sorted(splits)} are not the config's eval_splits {sorted(cfg.eval_splits)}")
    for name, s in splits.items():
        if not isinstance(s, dict):
            raise _Invalid(f"splits.{name} is not an object")
        if _field(s, "tokens", f"splits.{name}.", "int"):  # a split with no scored tokens has no loss
            _field(s, "loss", f"splits.{name}.", "finite")
    ptq = _field(data, "ptq", "", "list")
    if [p.get("format") if isinstance(p, dict) else None for p in ptq] != list(cfg.ptq):
        raise _Invalid(f"ptq formats are not the config's {list(cfg.ptq)}")
    for i, p in enumerate(ptq):
        for name in ("loss", "stderr", "delta"):
            _field(p, name, f"ptq[{i}].", "finite")
    stats = _field(data, "stats", "", "dict")
    for name in ("wall_seconds", "train_tokens", "model_flops_6n"):
        _field(stats, name, "stats.", "finite")
    for name in ("tokens_per_second", "peak_flops", "mfu_6n"):
        if name in stats and stats[name] is not None:
            _field(stats, name, "stats.", "number")
    if _off_default(cfg.to_dict()):  # rows read these; CPU float32 records (every older one) need none of them
        for name in ("device", "device_name", "compute_dtype", "torch", "python"):
            _field(stats, name, "stats.", "str")
        if stats["device"] != cfg.device:
            raise _Invalid(f"stats.device {_short(stats['device'])} is not the config's device {cfg.device!r}")
        for name in ("cuda", "cudnn"):
            if stats.get(name) is not None and not isinstance(stats[name], (str, int)):
                raise _Invalid(f"stats.{name} is {_short(stats[name])}, not a version or null")


def run_problem(data, cfg: RunConfig, key: str, corpus_hash: str) -> str | None:
    """Why ``data`` (a parsed ``runs/<key>.json``) is not a usable record of ``cfg``, or None if it is.

    A usable record is either a finished run (every field :func:`rows` and the
    sweep summary read, of the right type, every loss finite, the curve ending
    at the last step) or a divergence record (``diverged``: why), and in both
    cases its key, config and run id are the ones the key was computed from.
    A toy's config checks its own record (:mod:`workbench.proxies.toys`).
    """
    from workbench.proxies.toys import is_toy

    if is_toy(cfg):
        return cfg.problem(data, key, corpus_hash)
    try:
        _check_identity(data, cfg, key)
        if "diverged" in data:
            if not (isinstance(data["diverged"], str) and data["diverged"]):
                raise _Invalid("diverged is not a reason")
        else:
            _check_measurements(data, cfg, corpus_hash)
    except _Invalid as exc:
        return str(exc)
    return None


def nonfinite_loss(result: dict) -> str | None:
    """The first loss of a freshly trained run that is NaN or infinite, named; None if all are finite."""
    for point in result.get("curve", []):
        for name in ("eval_loss", "train_loss"):
            v = point.get(name)
            if _is_number(v) and not math.isfinite(v):
                return f"{name.replace('_', ' ')} became {v} at step {point.get('step')}"
    for name, s in result.get("splits", {}).items():
        if s.get("tokens") and _is_number(s.get("loss")) and not math.isfinite(s["loss"]):
            return f"loss on split {name} is {s['loss']}"
    for p in result.get("ptq", []):
        for name in ("loss", "stderr", "delta"):
            if _is_number(p.get(name)) and not math.isfinite(p[name]):
                return f"post-training {p.get('format')} {name} is {p[name]}"
    return None


def datasets_dir() -> Path:
    """``datasets/proxies`` beside the package (the repository checkout)."""
    return proxies_dir()


def _precision(cfg: dict, phase: str | None, fmt_spec: str | None, act_spec: str | None, block) -> dict:
    from workbench.proxies.quantize import parse_format

    def bits(spec):
        f = parse_format(spec)
        return 32.0 if f is None else float(f.bits)

    wf = parse_format(fmt_spec, block)
    out = {
        "precision_phase": phase,
        "weight_bits": bits(fmt_spec),
        "activation_bits": bits(act_spec),
        "number_format": "fp32" if wf is None else wf.kind,
        "exponent_bits": 8 if wf is None else wf.exponent_bits,
        "mantissa_bits": 23 if wf is None else wf.mantissa_bits,
        "block_size": None if wf is None else wf.block_size,  # None: one scale per row (output channel / token)
        "scale_format": None if wf is None else "fp32",
    }
    return out


def _off_default(cfg: dict) -> bool:
    """True for a run that did not train on the CPU in float32 (its rows name device, dtype and software)."""
    return cfg.get("device", "cpu") != "cpu" or cfg.get("autocast") is not None


def _device_columns(stats: dict) -> dict:
    """``device``, ``compute_dtype`` and ``software`` of a GPU or autocast run, from its ``stats``."""
    name = stats.get("device_name")
    device = stats["device"] if not name or name == stats["device"] else f"{stats['device']} ({name})"
    software = [f"torch {stats['torch']}"]
    if stats.get("cuda"):
        software.append(f"CUDA {stats['cuda']}")
    if stats.get("cudnn"):
        software.append(f"cuDNN {stats['cudnn']}")
    software.append(f"Python {stats['python']}")
    return {"device": device, "compute_dtype": stats["compute_dtype"], "software": "; ".join(software)}


def rows(result: dict, preset: str) -> list[dict]:
    """The corpus rows of one run result (as returned by :func:`workbench.proxies.train.train`, or by a toy)."""
    from workbench.proxies.toys import is_toy_result, toy_rows

    if is_toy_result(result):
        return toy_rows(result, preset)
    cfg, cnt, corpus = result["config"], result["counts"], result["corpus"]
    name = corpus["name"]
    fpt = cnt["flops_per_token"]
    qat = bool(cfg.get("qat_weight") or cfg.get("qat_activation"))
    label = cfg.get("label") or ("qat" if qat else "bf16" if cfg.get("autocast") == "bf16" else "fp32")
    base = {
        "source_id": f"proxy:{name}",
        "run_id": f"{preset}/{RunConfig.from_dict(cfg).run_id()}",
        "train_set": name,
        "params": float(cnt["params_non_embedding"]),
        "params_convention": "non_embedding",
        "params_total": float(cnt["params_total"]),
        "params_non_embedding": float(cnt["params_non_embedding"]),
        "width": cfg["width"],
        "depth": cfg["depth"],
        "heads": (cfg["heads"] or max(1, cfg["width"] // 32)) if cfg["arch"] in ("gpt", "encdec") else None,
        "encoder_params": None if cnt.get("encoder_params") is None else float(cnt["encoder_params"]),
        "decoder_params": None if cnt.get("decoder_params") is None else float(cnt["decoder_params"]),
        "unique_tokens": float(cfg["unique_tokens"]) if cfg.get("unique_tokens") else None,
        "paper": PAPER,
        "backing": f"preset {preset}",
        "repository": REPOSITORY,
        "source_commit": corpus["content_hash"],
        "licence": LICENCE,
        "seed": cfg["seed"],
        "architecture": cfg["arch"],
        "context": cfg["ctx"],
        "lr_schedule": cfg["schedule"],
        **_precision(
            cfg, "qat" if qat else None, cfg.get("qat_weight"), cfg.get("qat_activation"), cfg.get("qat_block")
        ),
        **(_device_columns(result["stats"]) if _off_default(cfg) else {}),
    }
    if cfg["arch"] == "encdec":
        base["note"] = (
            f"encoder width {cfg['enc_width']} x {cfg['enc_depth']} layers, decoder width {cfg['width']} x "
            f"{cfg['depth']} layers (width, depth, heads: the decoder's)"
        )
    out = []
    last = result["curve"][-1]["step"]
    for point in result["curve"]:
        at = {
            "step": point["step"],
            "tokens": float(point["tokens"]),
            "flops": float(point["tokens"]) * fpt,
            "learning_rate": point["lr"],
            "lr_area": point["lr_area"],
            "lr_anneal_area": point["lr_anneal_area"],
            **{k: point[k] for k in ("sparsity", "params_nonzero", "params_average") if k in point},
        }
        final = point["step"] == last
        out.append(
            {
                **base,
                **at,
                "condition": label,
                "eval_set": f"{name}-val",
                "metric": "loss",
                "value": point["eval_loss"],
                "value_stderr": point["eval_stderr"] or None,
                "final": final,
            }
        )
        out.append(
            {
                **base,
                **at,
                "condition": label,
                "eval_set": f"{name}-train",
                "metric": "train_loss",
                "value": point["train_loss"],
                "final": final,
            }
        )
    final_at = {
        k: v
        for k, v in out[-1].items()
        if k
        in (
            "step",
            "tokens",
            "flops",
            "learning_rate",
            "lr_area",
            "lr_anneal_area",
            "sparsity",
            "params_nonzero",
            "params_average",
        )
    }
    for split, s in result.get("splits", {}).items():
        if s["tokens"] and math.isfinite(s["loss"]):
            out.append(
                {
                    **base,
                    **final_at,
                    "condition": label,
                    "eval_set": f"{name}-{split}",
                    "metric": "loss",
                    "value": s["loss"],
                    "final": True,
                    "note": f"{s['tokens']} scored tokens",
                }
            )
    for p in result.get("ptq", []):
        out.append(
            {
                **base,
                **final_at,
                **_precision(cfg, "post_training", p["format"], None, cfg.get("ptq_block")),
                "condition": f"{label} ptq {p['format']}",
                "eval_set": f"{name}-val",
                "metric": "loss",
                "value": p["loss"],
                "value_stderr": p["stderr"] or None,
                "final": True,
                "note": f"degradation {p['delta']:+.4g} nats over the same model before quantisation",
            }
        )
    return out


def to_frame(records: Iterable[dict]) -> pl.DataFrame:
    """Rows -> a typed DataFrame with every schema column, in schema order."""
    records = list(records)
    if not records:
        return schema.conform(pl.DataFrame())
    cols = [c for c in schema.NAMES if any(c in r for r in records)]
    df = pl.DataFrame({c: [r.get(c) for r in records] for c in cols}, schema={c: schema.SCHEMA[c] for c in cols})
    return schema.conform(df)


def write_csv(df: pl.DataFrame, path: Path) -> Path:
    """Write only the columns that hold values (atomically), in schema order."""
    keep = [c for c in df.columns if df[c].null_count() < df.height]
    df = df.select(keep)
    # 7 significant digits: far below seed noise, and keeps the shipped CSVs small
    floats = [c for c in df.columns if df[c].dtype == pl.Float64]
    df = df.with_columns(pl.col(c).map_elements(lambda v: float(f"{v:.7g}"), return_dtype=pl.Float64) for c in floats)
    atomic_write_text(Path(path), df.write_csv())
    return Path(path)


def read_csv(path: Path) -> pl.DataFrame:
    """Read a proxy results CSV back, typed to the schema."""
    return read_results_csv(path)


def load(preset: str) -> pl.DataFrame:
    """The shipped results of a preset (``datasets/proxies/<preset>.csv``) as schema rows."""
    return load_preset(preset)


def final_losses(df: pl.DataFrame, eval_set: str | None = None) -> pl.DataFrame:
    """Final-checkpoint ``loss`` rows (full precision and QAT; no PTQ) with a ``loss`` column for fits."""
    out = df.filter(
        pl.col("final")
        & (pl.col("metric") == "loss")
        & (pl.col("precision_phase").is_null() | (pl.col("precision_phase") != "post_training"))
    )
    if eval_set is not None:
        out = out.filter(pl.col("eval_set") == eval_set)
    else:
        out = out.filter(pl.col("eval_set").str.ends_with("-val"))
    return out.with_columns(pl.col("value").alias("loss"))
