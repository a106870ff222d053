"""The ``pruning`` preset: the teacher-student perceptron toy is exact, deterministic and runs through the sweep.

What is checked: the test-error formula against a Monte Carlo estimate; the
max-margin solver against its definition (feasible, minimal norm, a function of
the support vectors only); random keep behaving as no pruning; determinism under
a seed; a stored run refused when tampered with; the sweep (inline and pool,
cache and resume) producing the shipped rows again; the shipped rows passing
the preset's own checks.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import polars as pl
import pytest
from conftest import ROOT

from workbench.proxies.presets import get_preset
from workbench.proxies.toys import config_from_dict, is_toy, is_toy_result
from workbench.proxies.toys.pruning import (
    PruningConfig,
    draw_errors,
    exact_error,
    frontier,
    max_margin,
    points,
)

FRACTIONS = (0.5, 0.25)


def small(**kw) -> PruningConfig:
    return PruningConfig(**{"examples": 120, "dim": 20, "fractions": FRACTIONS, "teachers": 3, **kw})


# ------------------------------------------------------------------- maths
def test_exact_error_is_the_misclassified_fraction_of_gaussian_inputs():
    rng = np.random.default_rng(0)
    d, n = 30, 400_000
    teacher = rng.standard_normal(d)
    teacher /= np.linalg.norm(teacher)
    for tilt in (0.05, 0.5, 2.0):  # small, medium and large angles
        w = teacher + tilt * rng.standard_normal(d)
        x = rng.standard_normal((n, d))
        mc = float(np.mean(np.sign(x @ w) != np.sign(x @ teacher)))
        exact = exact_error(w, teacher)
        assert abs(mc - exact) < 4 * np.sqrt(exact * (1 - exact) / n) + 1e-9, (tilt, mc, exact)
    assert exact_error(teacher * 3.0, teacher) == pytest.approx(0.0, abs=1e-15)
    assert exact_error(-teacher, teacher) == pytest.approx(1.0)
    ortho = rng.standard_normal(d)
    ortho -= (ortho @ teacher) * teacher
    assert exact_error(ortho, teacher) == pytest.approx(0.5)
    assert exact_error(teacher + 1e-7 * ortho / np.linalg.norm(ortho), teacher) == pytest.approx(1e-7 / np.pi)


def test_max_margin_is_feasible_minimal_and_depends_on_the_support_vectors_only():
    rng = np.random.default_rng(1)
    d, p = 15, 90
    teacher = rng.standard_normal(d)
    x = rng.standard_normal((p, d))
    z = x * np.sign(x @ teacher)[:, None]
    w = max_margin(z)
    margins = z @ w
    assert margins.min() == pytest.approx(1.0, abs=1e-8)  # feasible, and tight
    # minimal norm: every other feasible direction, rescaled to margin 1, is at least as long
    for v in [teacher, *(teacher + 0.3 * rng.standard_normal(d) for _ in range(50))]:
        if (z @ v).min() > 0:
            assert np.linalg.norm(v / (z @ v).min()) >= np.linalg.norm(w) - 1e-9
    # the solution of the support vectors alone, and of any superset of them, is the same student
    sv = np.flatnonzero(margins < 1 + 1e-7)
    assert 1 <= len(sv) <= d
    np.testing.assert_allclose(max_margin(z[sv]), w, rtol=1e-7, atol=1e-9)
    others = np.setdiff1d(np.arange(p), sv)[:20]
    np.testing.assert_allclose(max_margin(z[np.concatenate([others, sv])]), w, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(max_margin(z[rng.permutation(p)]), w, rtol=1e-7, atol=1e-9)


def test_keep_hard_under_the_full_set_max_margin_student_returns_that_student():
    """Why the probe is Hebbian: with the max-margin student as probe, keep-hard leaks the full set."""
    cfg = small(examples=400)
    from workbench.proxies.toys.pruning import draw

    teacher, x, y, _ = draw(cfg, 0)
    z = x * y[:, None]
    full = max_margin(z)
    hardest = np.argsort(np.abs(x @ full))[: cfg.examples // 4]
    assert exact_error(max_margin(z[hardest]), teacher) == pytest.approx(exact_error(full, teacher), abs=1e-9)


def test_random_keep_is_no_pruning():
    """A random f of P examples is an i.i.d. sample of f P: its error matches the unpruned student's at f P."""
    n = 48
    random_cells = [("random", "", 0.5, 100)]
    cfg_big = PruningConfig(examples=200, dim=50, fractions=(0.5,), teachers=n, seed=11)
    cfg_small = PruningConfig(examples=100, dim=50, fractions=(), teachers=n, seed=12)
    rand = np.array([draw_errors(cfg_big, i, random_cells)[0] for i in range(n)])
    none = np.array([draw_errors(cfg_small, i, [("none", "", 1.0, 100)])[0] for i in range(n)])
    se = np.sqrt(rand.var(ddof=1) / n + none.var(ddof=1) / n)
    assert abs(rand.mean() - none.mean()) < 4 * se, (rand.mean(), none.mean(), se)
    # and it is really pruning something: half the data is clearly worse than all of it
    full = np.array([draw_errors(cfg_big, i, [("none", "", 1.0, 200)])[0] for i in range(n)])
    assert full.mean() < rand.mean() - 4 * se


# ---------------------------------------------------------------- configs
def test_config_identity_dispatch_and_validation():
    a = small()
    assert is_toy(a) and config_from_dict(a.to_dict()) == a
    assert json.loads(json.dumps(a.to_dict())) == a.to_dict()  # plain JSON, as the sweep stores it
    assert a.key(a.content_hash) == small().key(a.content_hash) != small(seed=1).key(a.content_hash)
    assert a.key(a.content_hash) != a.key("toy:pruning:v0")
    assert a.run_id() == "perceptron-d20-P120-n3-s0" and a.corpus == "perceptron"
    # cells: probe, unpruned, then 2 metrics x 2 strategies + random per fraction; max_kept drops big ones
    assert [c[0] for c in a.cells()[:2]] == ["probe", "none"] and len(a.cells()) == 2 + 5 * len(FRACTIONS)
    assert len(small(max_kept=40).cells()) == 2 + 5  # f = 0.5 keeps 60 > 40
    for bad in ({"fractions": (1.0,)}, {"fractions": (0.5, 0.5)}, {"teachers": 1}, {"toy": "other"}):
        with pytest.raises(ValueError):
            small(**bad)
    with pytest.raises(ValueError, match="unknown toy"):
        config_from_dict({**a.to_dict(), "toy": "nope"})
    from workbench.proxies.config import RunConfig

    assert not is_toy(RunConfig()) and config_from_dict(RunConfig().to_dict()) == RunConfig()


def test_same_seed_same_errors_and_another_seed_differs():
    a, b, c = small().train(), small().train(), small(seed=1).train()
    cells = lambda r: [cell["errors"] for cell in r["cells"]]  # noqa: E731
    assert cells(a) == cells(b)  # bit for bit
    assert cells(a) != cells(c)
    assert is_toy_result(a) and all(0 <= e <= 1 for cell in a["cells"] for e in cell["errors"])


def test_a_stored_run_is_checked_before_it_is_trusted():
    cfg = small()
    key = cfg.key(cfg.content_hash)
    good = {**cfg.train(), "key": key}
    assert cfg.problem(good, key, cfg.content_hash) is None

    def broken(edit) -> str:
        data = json.loads(json.dumps(good))
        edit(data)
        return cfg.problem(data, key, cfg.content_hash)

    assert "not a run object" in cfg.problem([], key, cfg.content_hash)
    assert "content_hash" in broken(lambda d: d["corpus"].update(content_hash="toy:pruning:v0"))
    assert "students" in broken(lambda d: d["cells"].pop())
    assert "one per teacher" in broken(lambda d: d["cells"][3]["errors"].pop())
    assert "not a test error" in broken(lambda d: d["cells"][3]["errors"].__setitem__(0, 1.5))
    assert "not a test error" in broken(lambda d: d["cells"][3]["errors"].__setitem__(0, None))
    assert "not the config's" in broken(lambda d: d["cells"][3].update(strategy="easy", score="probe"))
    assert "config is not" in broken(lambda d: d["config"].update(teachers=4))
    assert "wall_seconds" in broken(lambda d: d["stats"].pop("wall_seconds"))
    assert cfg.problem({"key": key, "config": cfg.to_dict(), "run_id": cfg.run_id(), "diverged": "x"}, key, "") is None


def test_rows_are_valid_corpus_rows_and_parse_back():
    from workbench.corpus.load import validate
    from workbench.proxies import results

    cfg = small()
    res = cfg.train()
    df = validate(results.to_frame(results.rows(res, "unit")), "pruning rows")
    assert df.height == len(cfg.cells()) and (df["metric"] == "test_error").all()
    assert (df["source_id"] == "proxy:perceptron").all() and (df["run_id"] == "unit/perceptron-d20-P120-n3-s0").all()
    pts = points(df)
    assert pts.height == df.height
    from workbench.errors import WorkbenchError

    garbled = df.with_columns(pl.col("condition").replace("no pruning", "all"))
    with pytest.raises(WorkbenchError, match=r"row 2 .* condition 'all' is not what the pruning preset writes"):
        points(garbled)  # refused, never silently dropped
    hard = pts.filter((pl.col("strategy") == "hard") & (pl.col("score") == "probe") & (pl.col("fraction") == 0.25))
    assert hard["kept"].to_list() == [30] and hard["alpha_prune"].to_list() == [1.5] and hard["P"].to_list() == [120]
    cell = next(c for c in res["cells"] if (c["strategy"], c["score"], c["fraction"]) == ("hard", "probe", 0.25))
    assert hard["error"].item() == pytest.approx(np.mean(cell["errors"]))
    assert hard["stderr"].item() == pytest.approx(np.std(cell["errors"], ddof=1) / np.sqrt(3))


# ------------------------------------------------------------------- sweep
def test_a_toy_sweep_runs_inline_without_torch_caches_and_resumes(tmp_path):
    import subprocess

    script = (
        "import sys\n"
        "from workbench.proxies.toys.pruning import PruningConfig\n"
        "from workbench.proxies.sweep import run_sweep\n"
        "cfgs = [PruningConfig(examples=p, dim=20, fractions=(0.5,), teachers=2) for p in (40, 60)]\n"
        "r = run_sweep(cfgs, sys.argv[1], preset='t', workers=0, progress=False)\n"
        "print(r.summary['trained'], r.frame.height, 'torch' in sys.modules)\n"
    )
    out = tmp_path / "s"
    run = dict(capture_output=True, text=True, timeout=120, cwd=ROOT)
    first = subprocess.run([sys.executable, "-c", script, str(out)], **run)
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == ["2", "14", "False"]
    again = subprocess.run([sys.executable, "-c", script, str(out)], **run)
    assert again.stdout.split() == ["0", "14", "False"]  # resumed: nothing trained again


def test_a_tampered_cached_toy_run_is_trained_again(tmp_path):
    from workbench.proxies.sweep import run_sweep

    cfgs = [small(examples=60)]
    first = run_sweep(cfgs, tmp_path, preset="t", workers=0, progress=False)
    (path,) = (tmp_path / "runs").glob("*.json")
    data = json.loads(path.read_text())
    data["cells"][2]["errors"][0] = -1
    path.write_text(json.dumps(data))
    warnings = []
    again = run_sweep(cfgs, tmp_path, preset="t", workers=0, progress=False, warn=warnings.append)
    assert again.summary["trained"] == 1 and again.summary["invalid_cached"] == 1
    assert len(warnings) == 1 and "not a test error" in warnings[0]
    assert again.frame.equals(first.frame)


def test_pool_and_inline_agree_for_toys(tmp_path):
    from workbench.proxies.sweep import run_sweep

    cfgs = [small(examples=p) for p in (60, 90)]
    inline = run_sweep(cfgs, tmp_path / "a", preset="t", workers=0, progress=False)
    pooled = run_sweep(cfgs, tmp_path / "b", preset="t", workers=2, progress=False)
    assert pooled.summary["workers"] == 2 and pooled.summary["trained"] == 2
    assert inline.frame.sort("run_id", "condition").equals(pooled.frame.sort("run_id", "condition"))


# ------------------------------------------------------------- shipped rows
@pytest.fixture(scope="module")
def shipped():
    from workbench.proxies import results

    return results.load("pruning")


def test_shipped_rows_pass_the_preset_checks(shipped):
    from workbench.corpus.load import validate

    validate(shipped, "datasets/proxies/pruning.csv")
    preset = get_preset("pruning")
    assert set(shipped["run_id"].unique()) == {f"pruning/{c.run_id()}" for c in preset.configs()}
    verdict = preset.verify(shipped)
    assert verdict["passed"], [c for c in verdict["checks"] if not c["passed"]]
    assert len(verdict["checks"]) == 7


def test_the_checks_see_what_they_claim_to(shipped):
    """Verify fails on a partial sweep, and the frontier never loses to the unpruned student."""
    preset = get_preset("pruning")
    partial = preset.verify(shipped.filter(~pl.col("run_id").str.contains("-P25600-")))
    assert not partial["passed"] and partial["checks"][0]["value"] == 18
    pts = points(shipped)
    for score in ("probe", "teacher"):
        front = frontier(pts, score)
        none = pts.filter(pl.col("strategy") == "none").with_columns(
            (2 * pl.col("nominal").log(2)).round().cast(pl.Int64).alias("grid")
        )
        joined = front.join(none.select("grid", pl.col("error").alias("unpruned")), on="grid")
        assert joined.height == 9 and (joined["error"] <= joined["unpruned"]).all()


def test_a_rerun_of_the_cheapest_runs_reproduces_the_shipped_rows(tmp_path, shipped):
    from workbench.proxies import results
    from workbench.proxies.sweep import run_sweep

    cfgs = [c for c in get_preset("pruning").configs() if c.examples <= 141]  # alpha_tot 0.5-1.41, ~1 s
    assert len(cfgs) == 4
    run_sweep(cfgs, tmp_path, preset="pruning", workers=0, progress=False)
    got = results.read_csv(tmp_path / "results.csv")
    want = shipped.filter(pl.col("run_id").is_in(got["run_id"].unique().to_list()))
    key = ["run_id", "condition"]
    got, want = got.sort(key), want.sort(key)
    assert got.select(key).equals(want.select(key)) and got.height == 4 * 52
    np.testing.assert_allclose(got["value"].to_numpy(), want["value"].to_numpy(), rtol=2e-6)
    np.testing.assert_allclose(got["value_stderr"].to_numpy(), want["value_stderr"].to_numpy(), rtol=2e-6)
    assert got["samples"].equals(want["samples"]) and got["note"].equals(want["note"])
