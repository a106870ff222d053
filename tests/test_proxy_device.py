"""Proxies on a device and in bf16: default keys and losses unchanged, bf16 runs close, GPU runs recorded.

This machine's tests cover the CPU paths (float32 and bf16 autocast) and the
``--device`` resolution; the CUDA tests at the bottom are skipped without a GPU.
"""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys

import numpy as np
import polars as pl
import pytest
import torch
from conftest import ROOT

from workbench.errors import WorkbenchError
from workbench.proxies import results
from workbench.proxies.config import RunConfig
from workbench.proxies.device import AUTOCASTS, DEVICES, check_autocast, on_device, resolve_device

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="needs a CUDA device (torch.cuda.is_available() is False)")

# RunConfig().key("x") computed with the code before devices existed: CPU float32 keys must never move.
DEFAULT_KEY_X = "05746f4372c33357d45f"

# A run that learns in under a second: 300 steps of 4 x 32 tokens, loss well below ln 256 by the end.
LEARNS = dict(
    corpus="zipf",
    width=16,
    depth=1,
    ctx=32,
    tokens=300 * 4 * 32,
    lr=1e-2,
    schedule="constant",
    eval_tokens=2048,
    curve_points=3,
    curve_eval_tokens=512,
)
# Eight steps: enough to exercise every code path.
TINY = dict(LEARNS, tokens=8 * 4 * 32)


def _train(cfg: RunConfig) -> dict:
    from workbench.proxies.train import train

    return train(cfg, threads=1)


def _losses(result: dict) -> list[float]:
    """Every loss a run reports, in order (curve, splits, PTQ)."""
    out = [v for p in result["curve"] for v in (p["eval_loss"], p["eval_stderr"], p["train_loss"])]
    return out + [v for p in result["ptq"] for v in (p["loss"], p["stderr"], p["delta"])]


def _frame(result: dict) -> pl.DataFrame:
    from workbench.corpus.load import validate

    return validate(results.to_frame(results.rows(result, "unit")), "proxy rows")


# ---------------------------------------------------------------------- configs
def test_default_config_keeps_its_key_dict_and_run_id():
    default = RunConfig()
    explicit = RunConfig(device="cpu", autocast=None)
    assert default.key("x") == explicit.key("x") == DEFAULT_KEY_X
    assert default.to_dict() == explicit.to_dict()
    assert "device" not in default.to_dict() and "autocast" not in default.to_dict()
    assert default.run_id() == explicit.run_id() == "gpt-w64-d2-t1M-cosine-s0"


def test_device_and_autocast_change_the_key_and_tag_the_run_id():
    base = RunConfig(width=16, label="x y")
    cuda, bf16 = dataclasses.replace(base, device="cuda"), dataclasses.replace(base, autocast="bf16")
    both = dataclasses.replace(base, device="cuda", autocast="bf16")
    assert len({c.key("h") for c in (base, cuda, bf16, both)}) == 4
    assert base.run_id() == "gpt-w16-d2-t1M-cosine-s0-x_y"
    assert cuda.run_id() == "gpt-w16-d2-t1M-cosine-cuda-s0-x_y"
    assert bf16.run_id() == "gpt-w16-d2-t1M-cosine-bf16-s0-x_y"
    assert both.run_id() == "gpt-w16-d2-t1M-cosine-cuda-bf16-s0-x_y"
    for cfg in (cuda, bf16, both):
        assert RunConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"device": "auto"}, "resolve 'auto'"),
        ({"device": "tpu"}, "unknown device 'tpu'; known: cpu, cuda"),
        ({"autocast": "fp16"}, "unknown autocast 'fp16'; known: bf16"),
    ],
)
def test_a_config_rejects_unknown_devices_and_precisions(kw, match):
    with pytest.raises(ValueError, match=match):
        RunConfig(**kw)


# ---------------------------------------------------------------------- device.py
def test_resolve_device():
    assert DEVICES == ("auto", "cpu", "cuda") and AUTOCASTS == ("bf16",)
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if CUDA else "cpu")
    with pytest.raises(WorkbenchError, match=r"^--device 'gpu': unknown device; choose one of auto, cpu, cuda$"):
        resolve_device("gpu")
    assert check_autocast(None) is None and check_autocast("bf16") == "bf16"
    with pytest.raises(WorkbenchError, match=r"^--autocast 'fp16': unknown precision; choose bf16"):
        check_autocast("fp16")


@pytest.mark.skipif(CUDA, reason="checks the message on a machine without CUDA")
def test_cuda_without_a_gpu_is_a_one_line_error():
    message = (
        "--device cuda: no CUDA device is visible to torch (torch.cuda.is_available() is False); "
        "use --device cpu or auto"
    )
    with pytest.raises(WorkbenchError) as exc:
        resolve_device("cuda")
    assert str(exc.value) == message
    with pytest.raises(WorkbenchError, match=r"^--device cuda: no CUDA device"):
        on_device([RunConfig()], "cuda")
    with pytest.raises(WorkbenchError, match=r"^--device cuda: no CUDA device"):  # a stored cuda config, here
        _train(RunConfig(**TINY, device="cuda"))


def test_on_device_sets_torch_configs_and_leaves_toys_alone():
    from workbench.proxies.toys.pruning import PruningConfig

    toy = PruningConfig(examples=40, dim=20, fractions=(0.5,), teachers=2)
    cfgs = [RunConfig(width=16), toy, RunConfig(width=32, autocast="bf16")]
    assert on_device(cfgs, "cpu") == [RunConfig(width=16), toy, RunConfig(width=32)]
    moved = on_device(cfgs, "auto", "bf16")
    assert moved[1] is toy
    want = "cuda" if CUDA else "cpu"
    assert [(c.device, c.autocast) for c in (moved[0], moved[2])] == [(want, "bf16")] * 2
    with pytest.raises(WorkbenchError, match="--autocast 'int8'"):
        on_device(cfgs, "cpu", "int8")


def test_a_sweep_of_toys_never_imports_torch():
    code = (
        "import sys\n"
        "from workbench.proxies.device import on_device, resolve_device\n"
        "from workbench.proxies.toys.pruning import PruningConfig\n"
        "on_device([PruningConfig(examples=40, dim=20, fractions=(0.5,), teachers=2)], 'cpu')\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------- CPU float32: unchanged
def test_cpu_float32_runs_are_bit_identical_and_have_no_device_columns():
    cfg = RunConfig(**TINY, ptq=("int4",), qat_weight="int4")
    a, b = _train(cfg), _train(cfg)
    explicit = _train(RunConfig(**TINY, ptq=("int4",), qat_weight="int4", device="cpu", autocast=None))
    assert _losses(a) == _losses(b) == _losses(explicit)  # bit for bit
    assert a["config"] == explicit["config"] and "device" not in a["config"]
    stats = a["stats"]
    assert (stats["device"], stats["compute_dtype"], stats["cuda"], stats["cudnn"]) == ("cpu", "float32", None, None)
    df = _frame(a)
    assert not {"device", "compute_dtype", "software"} & {c for c in df.columns if df[c].null_count() < df.height}
    assert set(df["condition"].to_list()) == {"qat", "qat ptq int4"}


# ---------------------------------------------------------------------- bf16 autocast on the CPU
def test_forward_context_runs_matmuls_in_bf16_and_quantize_keeps_the_dtype():
    from workbench.proxies import quantize
    from workbench.proxies.train import forward_context

    dev = torch.device("cpu")
    a = torch.randn(8, 8)
    with forward_context(dev, "bf16"):
        assert (a @ a).dtype == torch.bfloat16
    with forward_context(dev, None):
        assert (a @ a).dtype == torch.float32
    fmt = quantize.parse_format("fp8_e4m3")
    x = torch.randn(4, 64).to(torch.bfloat16)
    q = quantize.quantize(x, fmt)
    assert q.dtype == torch.bfloat16
    # computed on the float32 grid, then rounded to bf16: the same as quantising the upcast values
    assert torch.equal(q, quantize.quantize(x.float(), fmt).to(torch.bfloat16))
    w = torch.randn(4, 64)
    assert quantize.quantize(w, fmt).dtype == torch.float32


def test_bf16_autocast_on_the_cpu_learns_like_float32_and_its_rows_say_so():
    fp32_cfg = RunConfig(**LEARNS, ptq=("int4", "int2"))
    bf16_cfg = dataclasses.replace(fp32_cfg, autocast="bf16")
    fp32, bf16 = _train(fp32_cfg), _train(bf16_cfg)
    assert all(math.isfinite(v) for v in _losses(bf16))
    assert _losses(bf16) != _losses(fp32)  # autocast really changed the arithmetic
    lo, hi = fp32["curve"][-1]["eval_loss"], bf16["curve"][-1]["eval_loss"]
    assert lo < math.log(256) - 0.4  # the run learned something, so "close" means something
    assert hi == pytest.approx(lo, rel=0.02)
    assert bf16["ptq"][1]["delta"] > 0  # int2 still hurts under bf16
    assert bf16_cfg.key("h") != fp32_cfg.key("h") and bf16["run_id"].endswith("-bf16-s0")
    assert bf16["stats"]["compute_dtype"] == "bfloat16 autocast" and bf16["stats"]["device"] == "cpu"
    df = _frame(bf16)
    assert df["device"].unique().to_list() == ["cpu"]
    assert df["compute_dtype"].unique().to_list() == ["bfloat16 autocast"]
    software = df["software"].unique().to_list()
    assert software == [f"torch {torch.__version__}; Python {bf16['stats']['python']}"]
    assert set(df["condition"].to_list()) == {"bf16", "bf16 ptq int4", "bf16 ptq int2"}


def test_qat_under_bf16_autocast_on_the_cpu():
    cfg = RunConfig(**LEARNS, qat_weight="int4", qat_activation="fp8_e4m3")
    fp32, bf16 = _train(cfg), _train(dataclasses.replace(cfg, autocast="bf16"))
    assert all(math.isfinite(v) for v in _losses(bf16))
    assert bf16["curve"][-1]["eval_loss"] == pytest.approx(fp32["curve"][-1]["eval_loss"], rel=0.02)
    assert bf16["run_id"] == "gpt-w16-d1-t38.4k-constant-qat-wint4-afp8_e4m3-bf16-s0"
    assert set(_frame(bf16)["condition"].to_list()) == {"qat"}


@pytest.mark.parametrize("arch", ["lstm", "mlp"])
def test_other_architectures_run_under_bf16_with_ptq(arch):
    res = _train(RunConfig(**TINY, arch=arch, ptq=("int4",), autocast="bf16"))
    assert all(math.isfinite(v) for v in _losses(res))


def test_sparse_training_under_bf16():
    res = _train(RunConfig(**dict(TINY, tokens=32 * 4 * 32), sparsity=0.5, autocast="bf16"))
    assert res["curve"][-1]["sparsity"] == pytest.approx(0.5, abs=0.01)


def test_a_stored_bf16_run_must_carry_its_device_fields():
    cfg = RunConfig(**TINY, autocast="bf16")
    res = _train(cfg)
    key, corpus_hash = cfg.key("h"), res["corpus"]["content_hash"]
    record = {**res, "key": key}
    assert results.run_problem(record, cfg, key, corpus_hash) is None
    missing = {**record, "stats": {k: v for k, v in res["stats"].items() if k != "compute_dtype"}}
    assert results.run_problem(missing, cfg, key, corpus_hash) == "stats.compute_dtype is missing"
    moved = {**record, "stats": {**res["stats"], "device": "cuda"}}
    assert results.run_problem(moved, cfg, key, corpus_hash) == "stats.device \"cuda\" is not the config's device 'cpu'"
    old = RunConfig(**TINY)  # a CPU float32 record from before devices existed: no device fields needed
    old_res = _train(old)
    for name in ("device", "device_name", "compute_dtype", "cuda", "cudnn"):
        del old_res["stats"][name]
    assert results.run_problem({**old_res, "key": old.key("h")}, old, old.key("h"), corpus_hash) is None


def test_measure_peak_on_the_cpu():
    from workbench.proxies.train import measure_peak, measure_peak_for

    assert measure_peak(0.05, 128) > 0
    assert measure_peak(0.05, 128, dtype="bfloat16") > 0
    assert measure_peak_for(RunConfig(autocast="bf16"), 0.05) > 0


@pytest.mark.slow
def test_throughput_benchmark_reports_no_gpu_as_null():
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "proxy_throughput.py"),
            *("--widths", "32", "--seconds", "0.1", "--sweep", "none", "--json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout)
    if CUDA:
        gpu = report["gpu"]
        assert gpu["peak"]["bfloat16"]["flops"] > 0 and len(gpu["per_width"]) == 2
    else:
        assert report["gpu"] is None


# ---------------------------------------------------------------------- CUDA (skipped without a GPU)
@needs_cuda
@pytest.mark.parametrize("autocast", [None, "bf16"])
def test_a_tiny_run_on_cuda_is_close_to_the_cpu_and_recorded(autocast):
    cpu = _train(RunConfig(**LEARNS, ptq=("int4",)))
    cfg = RunConfig(**LEARNS, ptq=("int4",), device="cuda", autocast=autocast)
    gpu = _train(cfg)
    assert all(math.isfinite(v) for v in _losses(gpu))
    assert gpu["curve"][-1]["eval_loss"] == pytest.approx(cpu["curve"][-1]["eval_loss"], rel=0.02)
    assert gpu["stats"]["device"] == "cuda" and gpu["stats"]["cuda"] and gpu["stats"]["cudnn"]
    df = _frame(gpu)
    name = torch.cuda.get_device_name()
    assert df["device"].unique().to_list() == [f"cuda ({name})"]
    assert df["compute_dtype"].unique().to_list() == ["bfloat16 autocast" if autocast else "float32"]
    assert "; CUDA " in df["software"][0] and "; cuDNN " in df["software"][0]


@needs_cuda
def test_qat_sparsity_and_lstm_ptq_on_cuda():
    for cfg in (
        RunConfig(**LEARNS, qat_weight="int4", qat_activation="fp8_e4m3", device="cuda", autocast="bf16"),
        RunConfig(**LEARNS, qat_weight="int4", device="cuda"),
        RunConfig(**TINY, sparsity=0.5, device="cuda"),
        RunConfig(**TINY, arch="lstm", ptq=("int4",), device="cuda", autocast="bf16"),
    ):
        res = _train(cfg)
        assert all(math.isfinite(v) for v in _losses(res)), cfg.run_id()


@needs_cuda
def test_token_losses_come_back_to_the_cpu():
    from workbench.proxies.config import ModelConfig
    from workbench.proxies.models import build
    from workbench.proxies.train import token_losses

    model = build(ModelConfig(width=16, depth=1, ctx=32)).to("cuda")
    windows = np.random.default_rng(0).integers(0, 256, size=(5, 33))
    for autocast in (None, "bf16"):
        losses = token_losses(model, windows, autocast=autocast)
        assert isinstance(losses, np.ndarray) and losses.dtype == np.float64 and losses.shape == (5, 32)


@needs_cuda
def test_measure_peak_on_cuda():
    from workbench.proxies.train import measure_peak, measure_peak_for

    fp32 = measure_peak(0.2, 2048, device="cuda")
    bf16 = measure_peak(0.2, 2048, device="cuda", dtype="bfloat16")
    assert fp32 > 1e11 and bf16 > 1e11  # any CUDA GPU of the last decade beats 100 GFLOP/s
    assert measure_peak_for(RunConfig(device="cuda", autocast="bf16"), 0.2) > 0


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workbench", "sweep", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def test_the_sweep_cli_trains_under_bf16_and_verifies_with_the_same_flag(tmp_path, capsys):
    out = tmp_path / "bf16"
    run = _cli("--preset", "smoke", "--out", str(out), "--autocast", "bf16", "--json")
    assert run.returncode == 0, run.stderr
    rows = pl.read_csv(out / "results.csv")
    assert rows["run_id"].str.contains("-bf16-").all()
    assert set(rows["compute_dtype"]) == {"bfloat16 autocast"} and set(rows["device"]) == {"cpu"}
    from workbench.cli import main  # in this process: the checks need no workers

    verify = ["sweep", "--preset", "smoke", "--verify", str(out / "results.csv")]
    assert main([*verify, "--autocast", "bf16"]) == 0
    assert main(verify) == 2
    err = capsys.readouterr().err
    assert "verify with the same" in err and "--autocast bf16" in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_the_sweep_cli_refuses_cuda_without_a_gpu_before_writing(tmp_path):
    run = _cli("--preset", "smoke", "--out", str(tmp_path / "gpu"), "--device", "cuda", timeout=60)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "no CUDA device is visible to torch" in run.stderr
    assert not (tmp_path / "gpu").exists()


def test_device_cpu_on_the_cli_is_the_default_and_keeps_the_shipped_keys(tmp_path):
    from workbench.proxies.presets import get_preset
    from workbench.proxies.sweep import run_sweep

    cfgs = get_preset("smoke").configs()[:1]
    a = run_sweep(cfgs, tmp_path / "a", progress=False, workers=0)
    b = run_sweep(cfgs, tmp_path / "b", progress=False, workers=0, device="cpu")
    assert [p.name for p in (tmp_path / "a" / "runs").glob("*.json")] == [
        p.name for p in (tmp_path / "b" / "runs").glob("*.json")
    ]
    assert a.frame.equals(b.frame)
