"""Gradual magnitude pruning during training, and the parameter counts it changes.

Sparse pre-training as Jin et al. 2025 (arXiv:2501.12486) study it: a model
starts dense and is pruned by weight magnitude while it trains, along the cubic
schedule of Zhu & Gupta 2017 (arXiv:1710.01878),

    s(t) = S (1 - (1 - (t - t_0) / (t_1 - t_0))^3)   for t_0 <= t <= t_1,

from sparsity 0 at ``t_0`` to the final sparsity ``S`` at ``t_1`` (fractions of
the steps; Jin et al. find 25 % to 75 % near-optimal), then trains on at ``S``.
Every matrix of the transformer blocks is pruned to the same sparsity
(embeddings and the tied head stay dense, as in the paper).  Masks are
recomputed every ``interval`` steps and applied after each optimiser step, so a
pruned weight stays zero.

The run records the non-zero non-embedding parameters after every step; their
mean is the *average parameter count* that, Jin et al. claim, puts sparse and
dense runs on one Chinchilla curve.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where a model is pruned, so the schedule can be read without it
    import torch
    from torch import nn

_EMBEDDINGS = ("tok.", "pos.", "src_tok.", "src_pos.")


def prunable(model: nn.Module) -> list[torch.Tensor]:
    """The block matrices (2-d, not embeddings): what sparse training prunes."""
    return [p for n, p in model.named_parameters() if p.dim() == 2 and not n.startswith(_EMBEDDINGS)]


def cubic_sparsity(step: int, steps: int, final: float, start: float, end: float) -> float:
    """Target sparsity after ``step`` of ``steps`` (Zhu & Gupta's cubic ramp from ``start`` to ``end``)."""
    t0, t1 = start * steps, end * steps
    if step <= t0:
        return 0.0
    if step >= t1:
        return final
    return final * (1.0 - (1.0 - (step - t0) / (t1 - t0)) ** 3)


class GradualPruner:
    """Masks for the prunable matrices, tightened on a schedule; counts non-zero parameters as it goes."""

    def __init__(self, model: nn.Module, final: float, steps: int, start: float, end: float, interval: int):
        import torch

        self.weights = prunable(model)
        self.masks = [torch.ones_like(p, dtype=torch.bool) for p in self.weights]
        self.final, self.steps, self.start, self.end = final, steps, start, end
        self.interval = max(1, interval)
        self.dense_params = sum(p.numel() for p in self.weights)
        self.other_params = 0  # set by the caller: the non-embedding parameters that are not pruned
        self.sparsity = 0.0
        self._sum_nonzero, self._n = 0.0, 0

    def _tighten(self, target: float) -> None:
        import torch

        with torch.no_grad():
            self._tighten_masks(target, torch)

    def _tighten_masks(self, target: float, torch) -> None:
        for p, m in zip(self.weights, self.masks):
            k = int(round(target * p.numel()))  # entries to zero in this matrix
            if k <= int((~m).sum()):
                continue
            order = torch.argsort(p.abs().flatten(), stable=True)
            new = torch.ones(p.numel(), dtype=torch.bool, device=p.device)
            new[order[:k]] = False
            m.copy_(new.view_as(m) & m)
        zeros = sum(int((~m).sum()) for m in self.masks)
        self.sparsity = zeros / self.dense_params

    def after_step(self, step: int) -> None:
        """Call after ``optimizer.step()`` of ``step`` (1-based): tighten on schedule, zero the pruned weights."""
        import torch

        with torch.no_grad():
            self._after_step(step)

    def _after_step(self, step: int) -> None:
        in_ramp = self.start * self.steps < step <= self.end * self.steps + self.interval
        if in_ramp and (step % self.interval == 0 or step >= self.end * self.steps):
            target = cubic_sparsity(step, self.steps, self.final, self.start, self.end)
            if target > self.sparsity:
                self._tighten(target)
        for p, m in zip(self.weights, self.masks):
            p.mul_(m)
        self._sum_nonzero += self.nonzero
        self._n += 1

    @property
    def nonzero(self) -> float:
        """Non-zero non-embedding parameters now."""
        return self.other_params + self.dense_params * (1.0 - self.sparsity)

    @property
    def average(self) -> float:
        """Mean over the steps so far of the non-zero non-embedding parameters."""
        return self._sum_nonzero / self._n if self._n else self.nonzero
