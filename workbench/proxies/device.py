"""Where a proxy runs (``--device auto|cpu|cuda``) and in what precision (``--autocast bf16``).

Why a separate module.  The sweep, the CLI and Python callers all turn a user's
``--device`` into one of the two concrete devices a :class:`RunConfig` records
(``"cpu"`` or ``"cuda"``), and they must agree on what ``auto`` means and on
the message when CUDA is asked for but absent.  ``auto`` is resolved here,
before any run starts, so a run's config (and therefore its cache key and run
id) names the device it actually trained on, never ``auto``.

Numpy toys (:mod:`workbench.proxies.toys`) have no device: :func:`on_device`
leaves them as they are.  torch is imported inside the functions, so a sweep
of toys never imports it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from workbench.errors import WorkbenchError, quote
from workbench.proxies.config import AUTOCASTS

__all__ = ["AUTOCASTS", "DEVICES", "check_autocast", "on_device", "resolve_device"]

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> str:
    """``"cpu"`` or ``"cuda"`` for a ``--device`` value; ``auto`` is CUDA when torch sees a CUDA device."""
    if name not in DEVICES:
        raise WorkbenchError(f"--device {quote(name)}: unknown device; choose one of {', '.join(DEVICES)}")
    if name == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if name == "auto":
        return "cpu"
    raise WorkbenchError(
        "--device cuda: no CUDA device is visible to torch (torch.cuda.is_available() is False); "
        "use --device cpu or auto"
    )


def check_autocast(name: str | None) -> str | None:
    """``None`` (full float32) or ``"bf16"``; anything else is a :class:`WorkbenchError` listing the choices."""
    if name is None or name in AUTOCASTS:
        return name
    choices = ", ".join(AUTOCASTS)
    raise WorkbenchError(f"--autocast {quote(name)}: unknown precision; choose {choices} (or leave it out for float32)")


def on_device(configs: Iterable, device: str, autocast: str | None = None) -> list:
    """``configs`` set to run on ``device`` (resolved: ``auto`` becomes cpu or cuda) with ``autocast``.

    torch :class:`~workbench.proxies.config.RunConfig` objects get the resolved
    device and the autocast; toys are returned unchanged.  ``on_device(cfgs, "cpu")``
    returns configs equal to the originals (same keys, same run ids).
    """
    from workbench.proxies.toys import is_toy

    resolved = resolve_device(device)
    autocast = check_autocast(autocast)
    return [cfg if is_toy(cfg) else dataclasses.replace(cfg, device=resolved, autocast=autocast) for cfg in configs]
