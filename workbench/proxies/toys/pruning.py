"""Data pruning for a teacher-student perceptron (Sorscher et al. 2022, arXiv:2206.14486), solved exactly.

The setting of the paper's theory.  A teacher is a random unit vector ``t`` in
``dim`` dimensions; inputs are standard Gaussian and labelled ``sign(t . x)``.
``P = alpha_tot * dim`` examples are drawn; a pruning metric scores each by its
margin ``|w . x|`` under a probe ``w`` ("hard" = small margin, near the
boundary; "easy" = large); a fraction ``f`` is kept (``alpha_prune = f *
alpha_tot``) and a student is trained on the kept examples only.  Keeping a
uniformly random ``f`` is the no-pruning reference: it is an i.i.d. sample of
``f P`` examples.

Why these choices.

* The student is the maximum-margin perceptron (zero training error, largest
  margin), the student of the statistical-mechanics theory the paper builds
  on.  It is unique, so a run does not depend on a learning rate, an epoch
  count or the order of the examples, and it is solved exactly: the hard-margin
  problem ``min |w|^2 s.t. y x . w >= 1`` is a least-distance programme, which
  Lawson and Hanson (1974, ch. 23) reduce to one non-negative least-squares
  problem (``scipy.optimize.nnls``, a finite active-set method).
* The test error needs no test set: for Gaussian inputs the student errs on
  exactly the fraction ``angle(t, w) / pi`` of inputs.
* Two pruning metrics: the teacher's own margin (the paper's perfect metric)
  and the margin under a probe trained on the full set.  The probe is the
  Hebbian student ``sum_i y_i x_i`` (one pass of Hebb's rule), an imperfect
  metric that improves with ``alpha_tot``, as a cheap model trained on all the
  data does.  It is deliberately *not* the max-margin student: that student
  depends only on its support vectors, and those are exactly the examples with
  the smallest margin under it, so "keep the hardest examples under the
  full-data max-margin student" returns that same student - a leak of the full
  set through the metric, not pruning.
* One run is one ``P``: the same ``teachers`` independent draws (teacher and
  data, seeded by ``seed``, ``dim``, ``P`` and the draw's index) are pruned at
  every fraction by every strategy, so comparisons within a run are paired.
  A run stores every draw's error; its rows are the mean over draws with the
  standard error of that mean.

Rows (:meth:`PruningConfig.rows`): metric ``test_error`` on eval set
``gaussian-exact``; ``samples`` = examples the student was trained on (``f P``);
``params`` = ``dim`` (the student's weights); ``P`` is in the run id
(``perceptron-d<dim>-P<P>-n<teachers>-s<seed>``) and in ``note``; ``condition``
names the strategy: ``no pruning``, ``hebbian probe`` (the probe's own error),
``random, f=<f>``, ``keep hard, teacher margin, f=<f>`` and so on.
:func:`points` turns rows back into one tidy row per student.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass

import numpy as np
import polars as pl

from workbench.proxies.toys import ToyRun

TOY_VERSION = 1  # bump when the code changes what a config produces (it is in every cache key)
SOURCE = "perceptron"  # rows are source proxy:perceptron
EVAL_SET = "gaussian-exact"
METRIC = "test_error"
STRATEGIES = ("hard", "easy")
SCORES = ("teacher", "probe")
_CONDITION = re.compile(
    r"^(?:keep (?P<strategy>hard|easy), (?P<score>teacher|probe) margin, f=(?P<f1>[0-9.e+-]+)"
    r"|(?P<random>random), f=(?P<f2>[0-9.e+-]+)|(?P<none>no pruning)|(?P<probe>hebbian probe))$"
)


@dataclass(frozen=True)
class PruningConfig(ToyRun):
    """One training-set size ``P = examples``: every strategy at every kept fraction, for ``teachers`` draws.

    ``fractions`` are the kept fractions (0 < f < 1); a fraction is pruned to
    ``round(f P)`` examples and skipped when that exceeds ``max_kept``.
    ``train_full`` adds the student trained on all ``P`` (no pruning).
    """

    TOY = "pruning"
    SOURCE = SOURCE
    VERSION = TOY_VERSION
    SEQUENCES = ("fractions",)

    examples: int
    dim: int = 100
    fractions: tuple[float, ...] = ()
    max_kept: int = 800
    train_full: bool = True
    teachers: int = 16
    seed: int = 0
    toy: str = "pruning"

    def __post_init__(self) -> None:
        object.__setattr__(self, "fractions", tuple(float(f) for f in self.fractions))
        if self.toy != "pruning":
            raise ValueError(f"PruningConfig is the 'pruning' toy, not {self.toy!r}")
        if self.dim < 2 or self.examples < 1 or self.max_kept < 1:
            raise ValueError("dim must be >= 2, examples and max_kept >= 1")
        if self.teachers < 2:
            raise ValueError("teachers must be >= 2 (the rows carry the standard error over teachers)")
        if any(not 0 < f < 1 for f in self.fractions) or len(set(self.fractions)) != len(self.fractions):
            raise ValueError("fractions must be distinct and strictly between 0 and 1")

    def run_id(self) -> str:
        return f"perceptron-d{self.dim}-P{self.examples}-n{self.teachers}-s{self.seed}"

    # ------------------------------------------------------------------ cells
    def kept(self, fraction: float) -> int:
        return max(1, math.floor(fraction * self.examples + 0.5))

    def cells(self) -> list[tuple[str, str, float, int]]:
        """``(strategy, score, fraction, kept)`` of every student of a draw, in the order they are stored."""
        out = [("probe", "", 1.0, self.examples)]
        if self.train_full:
            out.append(("none", "", 1.0, self.examples))
        for f in self.fractions:
            k = self.kept(f)
            if k > self.max_kept:
                continue
            out += [(s, score, f, k) for score in SCORES for s in STRATEGIES]
            out.append(("random", "", f, k))
        return out

    def cost(self) -> float:
        """Relative cost, to train the longest runs first: data, margins and max-margin solves."""
        solved = sum(k for s, _, _, k in self.cells() if s != "probe")
        return float(self.teachers * (self.examples + 4 * solved) * self.dim)

    # ------------------------------------------------------------------ train
    def train(self) -> dict:
        """Every draw's test error for every cell, as plain data (the sweep stores it as the run's file)."""
        t0 = time.perf_counter()
        cells = self.cells()
        errors = np.array([draw_errors(self, i, cells) for i in range(self.teachers)])  # (teachers, cells)
        if not np.all(np.isfinite(errors)):
            raise FloatingPointError(f"a test error is not finite ({self.run_id()})")

        return {
            "config": self.to_dict(),
            "run_id": self.run_id(),
            "corpus": {"name": SOURCE, "content_hash": self.content_hash},
            "cells": [
                {"strategy": s, "score": score, "fraction": f, "kept": k, "errors": errors[:, j].tolist()}
                for j, (s, score, f, k) in enumerate(cells)
            ],
            "stats": self.stats(t0, students=len(cells) * self.teachers),
        }

    # ------------------------------------------------------------ validation
    def check_record(self, data: dict, field, invalid) -> None:
        self._check_cells(field(data, "cells", "", "list"), field, invalid)

    def _check_cells(self, cells: list, field, invalid) -> None:
        expected = self.cells()
        if len(cells) != len(expected):
            raise invalid(f"cells holds {len(cells)} students, not the config's {len(expected)}")
        for i, (cell, (s, score, f, k)) in enumerate(zip(cells, expected)):
            where = f"cells[{i}]."
            if not isinstance(cell, dict):
                raise invalid(f"cells[{i}] is not an object")
            got = (field(cell, "strategy", where, "str"), field(cell, "score", where, "str"))
            got += (field(cell, "fraction", where, "finite"), field(cell, "kept", where, "int"))
            if got != (s, score, f, k):
                raise invalid(f"{where[:-1]} is {got}, not the config's {(s, score, f, k)}")
            errors = field(cell, "errors", where, "list")
            if len(errors) != self.teachers:
                raise invalid(f"{where}errors holds {len(errors)} values, not one per teacher ({self.teachers})")
            for e in errors:
                if not (isinstance(e, (int, float)) and not isinstance(e, bool) and 0 <= e <= 1):
                    raise invalid(f"{where}errors holds {json.dumps(e)[:40]}, not a test error in [0, 1]")

    # ------------------------------------------------------------------- rows
    def rows(self, result: dict, preset: str) -> list[dict]:
        """The corpus rows of this run's result: one per student, mean and standard error over the draws."""
        d = float(self.dim)
        base = self.row_base(
            result,
            preset,
            "perceptron",
            params=d,
            params_total=d,
            params_non_embedding=d,
            width=self.dim,
            eval_set=EVAL_SET,
            metric=METRIC,
        )
        out = []
        for cell in result["cells"]:
            e = np.asarray(cell["errors"], dtype=np.float64)
            k = cell["kept"]
            out.append(
                {
                    **base,
                    "condition": condition(cell["strategy"], cell["score"], cell["fraction"]),
                    "samples": float(k),
                    "value": float(e.mean()),
                    "value_stderr": float(e.std(ddof=1) / math.sqrt(len(e))),
                    "note": _note(cell["strategy"], k, self),
                }
            )
        return out


def condition(strategy: str, score: str, fraction: float) -> str:
    """A row's ``condition``: strategy, pruning metric and kept fraction (parsed back by :func:`points`)."""
    if strategy == "none":
        return "no pruning"
    if strategy == "probe":
        return "hebbian probe"
    if strategy == "random":
        return f"random, f={fraction:.6g}"
    return f"keep {strategy}, {score} margin, f={fraction:.6g}"


def _note(strategy: str, kept: int, cfg: PruningConfig) -> str:
    n = f"mean of {cfg.teachers} teachers"
    if strategy == "probe":
        return f"the pruning probe itself: the Hebbian student sum(y x) over all {cfg.examples} examples; {n}"
    ap, at = kept / cfg.dim, cfg.examples / cfg.dim
    return f"max-margin student on {kept} of {cfg.examples} examples (alpha_prune {ap:.6g}, alpha_tot {at:.6g}); {n}"


# ------------------------------------------------------------------ the maths
def max_margin(z: np.ndarray) -> np.ndarray:
    """The maximum-margin direction for the rows of ``z`` (each ``y x``): ``argmin |w|`` with ``z w >= 1``.

    A least-distance programme solved as one non-negative least-squares
    problem (Lawson and Hanson 1974, ch. 23): with ``E = [z^T; 1^T]`` and
    ``e = (0, ..., 0, 1)``, the NNLS residual ``r = E u - e`` gives
    ``w = -r[:d] / r[d]``.  Raises FloatingPointError if the rows are not
    separable through the origin (never, for labels from a teacher).
    """
    from scipy.optimize import nnls

    p, d = z.shape
    e = np.vstack([z.T, np.ones((1, p))])
    target = np.zeros(d + 1)
    target[-1] = 1.0
    u, _ = nnls(e, target, maxiter=50 * max(p, d))
    r = e @ u - target
    if not r[-1] < -1e-12:
        raise FloatingPointError("the examples are not linearly separable through the origin")
    w = -r[:d] / r[-1]
    if np.min(z @ w) < 1 - 1e-6:
        raise FloatingPointError(f"max-margin solve missed a constraint (smallest margin {np.min(z @ w):.3g})")
    return w


def exact_error(w: np.ndarray, teacher: np.ndarray) -> float:
    """Exact test error on Gaussian inputs: the angle between student and (unit) teacher over pi.

    ``atan2`` of the parallel and perpendicular parts keeps small angles accurate (``arccos`` would not).
    """
    along = float(w @ teacher)
    across = float(np.linalg.norm(w - along * teacher))
    return math.atan2(across, along) / math.pi


def draw(cfg: PruningConfig, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.random.Generator]:
    """Teacher (unit), inputs ``(P, dim)`` and labels of draw ``index``, and the generator that continues it."""
    rng = np.random.default_rng([cfg.seed, cfg.dim, cfg.examples, index])
    teacher = rng.standard_normal(cfg.dim)
    teacher /= np.linalg.norm(teacher)
    x = rng.standard_normal((cfg.examples, cfg.dim))
    y = np.where(x @ teacher > 0, 1.0, -1.0)
    return teacher, x, y, rng


def hebbian_probe(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """One pass of Hebb's rule over the full set: ``sum_i y_i x_i``."""
    return y @ x


def draw_errors(cfg: PruningConfig, index: int, cells: list[tuple[str, str, float, int]]) -> list[float]:
    """Test error of every cell's student for one draw (teacher and data)."""
    teacher, x, y, rng = draw(cfg, index)
    z = x * y[:, None]
    probe = hebbian_probe(x, y)
    order = {
        "teacher": np.argsort(np.abs(x @ teacher), kind="stable"),  # hardest (smallest margin) first
        "probe": np.argsort(np.abs(x @ probe), kind="stable"),
    }
    shuffled = rng.permutation(cfg.examples)  # random keep: the first k of one permutation (uniform subsets)
    out = []
    for strategy, score, _, k in cells:
        if strategy == "probe":
            out.append(exact_error(probe, teacher))
            continue
        if strategy == "none":
            keep = slice(None)
        elif strategy == "random":
            keep = shuffled[:k]
        elif strategy == "hard":
            keep = order[score][:k]
        else:  # easy
            keep = order[score][cfg.examples - k :]
        out.append(exact_error(max_margin(z[keep]), teacher))
    return out


# ---------------------------------------------------------------- analysis
def points(df: pl.DataFrame) -> pl.DataFrame:
    """One row per student from ``pruning`` rows: strategy, score, fraction, P, kept, alphas, error.

    ``alpha_tot = P / dim``, ``alpha_prune = kept / dim`` (the data the student
    saw), ``nominal`` = ``fraction * alpha_tot`` (the grid value, before
    rounding to whole examples); ``strategy`` is ``none``, ``probe``,
    ``random``, ``hard`` or ``easy``; ``score`` the metric of hard/easy.
    """
    from workbench.errors import WorkbenchError

    rows = df.filter((pl.col("metric") == METRIC) & (pl.col("source_id") == f"proxy:{SOURCE}"))
    parsed = []
    for i, r in enumerate(rows.iter_rows(named=True)):
        m = _CONDITION.match(r["condition"] or "")
        p = re.search(r"-P(\d+)-", r["run_id"])
        if m is None or p is None or r["samples"] is None or r["params"] is None:
            what = f"condition {r['condition']!r}" if m is None else f"run_id {r['run_id']!r}" if p is None else ""
            raise WorkbenchError(
                f"{METRIC} row {i + 1} of proxy:{SOURCE} ({r['run_id']}): {what or 'samples or params missing'} "
                "is not what the pruning preset writes"
            )
        strategy = "none" if m["none"] else "probe" if m["probe"] else "random" if m["random"] else m["strategy"]
        fraction = float(m["f1"] or m["f2"] or 1.0)
        dim, big_p = r["params"], int(p.group(1))
        parsed.append(
            {
                "run_id": r["run_id"],
                "strategy": strategy,
                "score": m["score"] or "",
                "fraction": fraction,
                "P": big_p,
                "kept": int(r["samples"]),
                "alpha_tot": big_p / dim,
                "alpha_prune": r["samples"] / dim,
                "nominal": fraction * big_p / dim,
                "error": r["value"],
                "stderr": r["value_stderr"],
            }
        )
    schema = {
        "run_id": pl.String,
        "strategy": pl.String,
        "score": pl.String,
        "fraction": pl.Float64,
        "P": pl.Int64,
        "kept": pl.Int64,
        "alpha_tot": pl.Float64,
        "alpha_prune": pl.Float64,
        "nominal": pl.Float64,
        "error": pl.Float64,
        "stderr": pl.Float64,
    }
    return pl.DataFrame(parsed, schema=schema).sort("strategy", "score", "fraction", "P")


def frontier(pts: pl.DataFrame, score: str, strategies: tuple[str, ...] = ("hard",)) -> pl.DataFrame:
    """The pruned-optimal frontier: at each grid ``alpha_prune``, the lowest error over kept fractions.

    Candidates are the unpruned student (``f = 1``) and every ``strategies``
    student pruned by ``score``; grid points are matched on the half-octave
    ``round(2 log2(nominal alpha_prune))``.  Returns one row per grid point:
    ``alpha_prune`` (of the winning student), its error, stderr, strategy, fraction and ``alpha_tot``.
    """
    cand = pts.filter(
        (pl.col("strategy") == "none") | (pl.col("strategy").is_in(list(strategies)) & (pl.col("score") == score))
    ).with_columns((2 * pl.col("nominal").log(2)).round().cast(pl.Int64).alias("grid"))
    best = cand.sort("error").group_by("grid", maintain_order=True).first().sort("grid")
    return best.select("grid", "alpha_prune", "error", "stderr", "strategy", "fraction", "alpha_tot")


def fit_power_and_exponential(x: np.ndarray, y: np.ndarray) -> dict:
    """``y = A x^-a`` and ``y = B e^-b x``, least squares on log y, by the one fitting engine; AIC of each.

    Both are the registered law ``power_tokens`` (``L = A D^-alpha``): the
    exponential is the power law in ``e^x``.  AIC = n ln(RSS/n) + 2k with
    k = 2 for both, RSS the sum of squared log residuals.
    """
    from workbench.fit import fit
    from workbench.laws import get_law

    law = get_law("power_tokens")
    y = np.asarray(y, dtype=np.float64)
    out = {}
    for name, col in (("power", np.asarray(x, dtype=np.float64)), ("exponential", np.exp(x))):
        res = fit(law, {"tokens": col, "loss": y}, loss="squared")
        rss = float(np.sum(np.log(res.predict({"tokens": col}) / y) ** 2))
        out[name] = {
            "scale": float(res.params["A"]),
            "exponent": float(res.params["alpha"]),
            "rss_log": rss,
            "aic": float(len(y) * math.log(max(rss, 1e-300) / len(y)) + 4),
            "warnings": list(res.warnings),
        }
    return out
