"""Fake quantisation in fp32: integer and minifloat formats with per-block scales, QAT and PTQ.

Why emulate.  On a CPU, fp8/fp16 matrix products are 30-200x slower than fp32
and FP4 cannot be cast at all, so every low-precision number here is an fp32
number rounded onto the format's grid ("fake quantisation"): the arithmetic is
fp32, the *values* are exactly those the format can represent.  The emulation
matches torch's own ``float8_e4m3fn`` / ``float8_e5m2`` casts bit for bit
inside the representable range (tested).

Scaling.  A tensor is cut along its last dimension into blocks of
``block_size`` elements (``None``: the whole row, i.e. per output channel for
weights and per token for activations); each block is divided by
``absmax / qmax`` so its largest magnitude lands on the format's largest value,
rounded to the grid (round-half-to-even), and multiplied back.  Scales are
kept in fp32.

* ``int<b>``: symmetric, levels ``-(2^(b-1)-1) .. 2^(b-1)-1`` (int2 is ternary).
* ``fp`` with ``e`` exponent and ``m`` mantissa bits: bias ``2^(e-1)-1``,
  subnormals, no infinities.  The largest value follows the usual formats:
  E5M2 and wider exponents reserve the top exponent (IEEE, max 57344 for
  E5M2), E4M3 reserves only the all-ones mantissa there (OCP "fn", max 448),
  narrower formats use every code (E2M1: max 6, grid 0, .5, 1, 1.5, 2, 3, 4, 6).

Training.  Quantisation-aware training (QAT) quantises the weights and the
inputs of every ``nn.Linear`` in the forward pass and passes gradients
straight through (STE: ``x + (q(x) - x).detach()``).  Post-training
quantisation (PTQ) rounds the trained weights once (round-to-nearest, weights
only, as in Ouyang et al. 2024).  Embeddings, the tied head and LayerNorms
stay in fp32 in both.

Devices and autocast.  Everything here runs on the tensor's own device.  Under
bf16 autocast a linear layer's input can arrive in bfloat16, whose 8-bit
significand cannot hold the grid arithmetic (``log2`` near a power of two
rounds to the wrong exponent), so :func:`quantize` computes in float32 and
returns its input's dtype; the matmul that follows then rounds the quantised
values to bfloat16, as bf16 hardware with fp32 scales would.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class Format:
    """A number format: ``kind`` is ``"int"`` or ``"fp"``."""

    kind: str
    bits: int
    exponent_bits: int | None = None
    mantissa_bits: int | None = None
    block_size: int | None = 32

    def __post_init__(self) -> None:
        if self.kind == "int":
            if not 2 <= self.bits <= 16:
                raise ValueError(f"int formats need 2..16 bits, not {self.bits}")
        elif self.kind == "fp":
            e, m = self.exponent_bits, self.mantissa_bits
            if e is None or m is None or e < 1 or m < 0 or 1 + e + m != self.bits:
                raise ValueError(
                    f"fp format needs exponent + mantissa + sign = bits (got e={e}, m={m}, bits={self.bits})"
                )
        else:
            raise ValueError(f"unknown format kind {self.kind!r} (int or fp)")
        if self.block_size is not None and self.block_size < 1:
            raise ValueError("block_size must be positive (or None for one scale per row)")

    @property
    def name(self) -> str:
        if self.kind == "int":
            return f"int{self.bits}"
        return f"fp{self.bits}_e{self.exponent_bits}m{self.mantissa_bits}"

    @property
    def qmax(self) -> float:
        """The largest representable magnitude."""
        if self.kind == "int":
            return float(2 ** (self.bits - 1) - 1)
        e, m = self.exponent_bits, self.mantissa_bits
        bias = 2 ** (e - 1) - 1
        if e >= 5:  # IEEE-like: top exponent is inf/nan
            emax = 2**e - 2 - bias
            return 2.0**emax * (2 - 2.0**-m)
        emax = 2**e - 1 - bias
        if e == 4 and m == 3:  # OCP E4M3 "fn": only S.1111.111 is nan
            return 2.0**emax * (2 - 2.0 ** -(m - 1))
        return 2.0**emax * (2 - 2.0**-m)

    @property
    def emin(self) -> int:
        """Exponent of the smallest normal number."""
        return 1 - (2 ** (self.exponent_bits - 1) - 1)


_ALIASES = {
    "fp8_e4m3": ("fp", 8, 4, 3),
    "e4m3": ("fp", 8, 4, 3),
    "fp8_e5m2": ("fp", 8, 5, 2),
    "e5m2": ("fp", 8, 5, 2),
    "fp4_e2m1": ("fp", 4, 2, 1),
    "e2m1": ("fp", 4, 2, 1),
    "fp4": ("fp", 4, 2, 1),
    "fp6_e3m2": ("fp", 6, 3, 2),
    "fp6_e2m3": ("fp", 6, 2, 3),
}


def parse_format(spec: str | None, block_size: int | None = 32) -> Format | None:
    """``"int4"``, ``"fp8_e4m3"``, ``"e5m2"``, ``"fp4"``, ``"e3m2"`` (any e/m), or ``None``/``"fp32"``."""
    if spec is None or spec in ("fp32", "none", ""):
        return None
    s = spec.lower()
    if s in _ALIASES:
        kind, bits, e, m = _ALIASES[s]
        return Format(kind, bits, e, m, block_size)
    if m := re.fullmatch(r"int(\d+)", s):
        return Format("int", int(m.group(1)), block_size=block_size)
    if m := re.fullmatch(r"(?:fp\d+_)?e(\d+)m(\d+)", s):
        e, mm = int(m.group(1)), int(m.group(2))
        return Format("fp", 1 + e + mm, e, mm, block_size)
    raise ValueError(f"unknown number format {spec!r}: use intB, fp8_e4m3, fp8_e5m2, fp4_e2m1 or eXmY")


def round_to_grid(y: torch.Tensor, fmt: Format) -> torch.Tensor:
    """Round an already-scaled tensor onto ``fmt``'s grid (no block scaling)."""
    if fmt.kind == "int":
        return torch.round(y).clamp_(-fmt.qmax, fmt.qmax)
    a = y.abs()
    e = torch.floor(torch.log2(a.clamp_min(torch.finfo(torch.float32).tiny))).clamp_min_(fmt.emin)
    step = torch.exp2(e - fmt.mantissa_bits)
    q = (torch.round(a / step) * step).clamp_max_(fmt.qmax)
    return torch.copysign(q, y)


def quantize(x: torch.Tensor, fmt: Format) -> torch.Tensor:
    """Fake-quantise ``x`` block-wise along its last dimension (no gradient trick), in float32.

    The result has ``x``'s dtype and device (a float32 input is never copied to another dtype).
    """
    dtype = x.dtype
    x = x.float()  # the same tensor when x is float32
    shape = x.shape
    n = shape[-1]
    bs = fmt.block_size or n
    pad = (-n) % bs
    xb = F.pad(x, (0, pad)) if pad else x
    xb = xb.reshape(*shape[:-1], -1, bs)
    scale = xb.abs().amax(dim=-1, keepdim=True) / fmt.qmax
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    q = round_to_grid(xb / scale, fmt) * scale
    q = q.reshape(*shape[:-1], n + pad)
    q = q[..., :n] if pad else q
    return q.to(dtype)


def fake_quant(x: torch.Tensor, fmt: Format | None) -> torch.Tensor:
    """Quantised values forward, identity gradient backward (straight-through estimator)."""
    if fmt is None:
        return x
    return x + (quantize(x.detach(), fmt) - x).detach()


class QuantLinear(nn.Module):
    """An ``nn.Linear`` whose weight and input are fake-quantised in the forward pass."""

    def __init__(self, linear: nn.Linear, weight: Format | None, activation: Format | None):
        super().__init__()
        self.weight = linear.weight
        self.bias = linear.bias
        self.wfmt, self.afmt = weight, activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(fake_quant(x, self.afmt), fake_quant(self.weight, self.wfmt), self.bias)


def prepare_qat(model: nn.Module, weight: Format | None, activation: Format | None) -> nn.Module:
    """Swap every ``nn.Linear`` of ``model`` (in place) for a :class:`QuantLinear`."""
    if isinstance(getattr(model, "lstm", None), nn.LSTM):
        raise ValueError("quantisation-aware training is implemented for the gpt architecture only")
    for name, child in list(model.named_children()):
        if isinstance(child, nn.Linear):
            setattr(model, name, QuantLinear(child, weight, activation))
        else:
            prepare_qat(child, weight, activation)
    return model


@torch.no_grad()
def ptq(model: nn.Module, weight: Format) -> nn.Module:
    """A copy of ``model`` whose linear weights are rounded to ``weight`` (RTN, weight-only)."""
    q = copy.deepcopy(model)
    for module in q.modules():
        if isinstance(module, (nn.Linear, QuantLinear)):
            module.weight.copy_(quantize(module.weight, weight))
        elif isinstance(module, nn.LSTM):
            for name, p in module.named_parameters():
                if name.startswith("weight"):
                    p.copy_(quantize(p, weight))
            module.flatten_parameters()  # cuDNN wants one weight buffer again after the copy (no-op on the CPU)
    return q
