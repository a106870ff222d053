"""Checks on the packaging / set-up layer.

* pyproject.toml and environment.yml describe the same package set with the same
  version constraints, and both pin torch to exactly 2.13.0;
* binder/ gives repo2docker Python 3.11, CPU torch 2.13.0 and an install of the
  workbench itself, checked on the Dockerfile that ``repo2docker --no-build``
  renders (no Docker daemon involved);
* the Makefile installs torch in its own pip step and uses no extra index; ``make lab``
  passes LAB_ARGS to JupyterLab and adds --allow-root only for root, and ``make test``
  prints skip reasons and the slowest tests (checked on ``make -n``: nothing is run).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
TORCH_VERSION = "2.13.0"

# conda-forge name -> PyPI name, where they differ by more than PEP 503 normalisation
CONDA_TO_PYPI = {"pytorch": "torch", "pytorch-cpu": "torch"}
# conda entries that are not Python distributions listed in pyproject
CONDA_ONLY = {"python", "pip"}


# --------------------------------------------------------------------------- helpers


def load_pyproject() -> dict:
    with open(REPO / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def load_environment() -> dict:
    with open(REPO / "environment.yml") as f:
        return yaml.safe_load(f)


def pyproject_requirements() -> dict[str, SpecifierSet]:
    """Runtime deps plus the ``test`` extra, keyed by canonical name."""
    project = load_pyproject()["project"]
    reqs = list(project["dependencies"]) + list(project["optional-dependencies"]["test"])
    out: dict[str, SpecifierSet] = {}
    for line in reqs:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name not in out, f"{name} listed twice in pyproject.toml"
        out[name] = req.specifier
    return out


_CONDA_SPEC = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*$")


def conda_spec_to_pep440(constraint: str) -> SpecifierSet:
    """Translate a conda match-spec version part into a PEP 440 specifier set.

    Handles the forms used in environment.yml: ``=1.2`` (fuzzy, i.e. ``==1.2.*``),
    ``==1.2.3`` (exact), ``>=a,<b`` ranges and an optional ``=build`` suffix.
    """
    constraint = constraint.replace(" ", "")
    if not constraint:
        return SpecifierSet()
    if constraint.startswith("=") and not constraint.startswith("=="):
        version = constraint[1:].split("=", 1)[0]  # drop a build string
        return SpecifierSet(f"=={version}.*" if not version.endswith("*") else f"=={version}")
    if constraint.startswith("==") and "=" in constraint[2:]:
        constraint = "==" + constraint[2:].split("=", 1)[0]
    return SpecifierSet(constraint)


def environment_requirements() -> tuple[dict[str, SpecifierSet], dict[str, str], list[str]]:
    """Return (PyPI-named specs, raw conda python/pip specs, pip options/local lines)."""
    deps = load_environment()["dependencies"]
    specs: dict[str, SpecifierSet] = {}
    conda_only: dict[str, str] = {}
    pip_other: list[str] = []

    def add(name: str, spec: SpecifierSet) -> None:
        name = canonicalize_name(CONDA_TO_PYPI.get(name.lower(), name))
        assert name not in specs, f"{name} listed twice in environment.yml"
        specs[name] = spec

    for dep in deps:
        if isinstance(dep, dict):
            assert set(dep) == {"pip"}, f"unexpected mapping in dependencies: {dep}"
            for line in dep["pip"]:
                if line.startswith("-"):  # --extra-index-url, -e .
                    pip_other.append(line)
                    continue
                req = Requirement(line)
                add(req.name, req.specifier)
            continue
        match = _CONDA_SPEC.match(dep)
        assert match, f"cannot parse conda spec {dep!r}"
        name, constraint = match.groups()
        if name.lower() in CONDA_ONLY:
            conda_only[name.lower()] = constraint
            continue
        add(name, conda_spec_to_pep440(constraint))
    return specs, conda_only, pip_other


# ------------------------------------------------------------------ pyproject.toml


def test_pyproject_metadata():
    data = load_pyproject()
    project = data["project"]
    assert project["name"] == "scaling-workbench"
    assert SpecifierSet(project["requires-python"]) == SpecifierSet(">=3.11")
    assert project["scripts"]["workbench"] == "workbench.cli:main"
    assert data["build-system"]["build-backend"] == "setuptools.build_meta"
    find = data["tool"]["setuptools"]["packages"]["find"]
    assert find["include"] == ["workbench*"]

    pytest_cfg = data["tool"]["pytest"]["ini_options"]
    assert pytest_cfg["testpaths"] == ["tests"]
    markers = {m.split(":", 1)[0].strip() for m in pytest_cfg["markers"]}
    assert {"browser", "slow"} <= markers


def test_pyproject_lists_expected_packages():
    expected_runtime = {
        "jupyterlab",
        "ipywidgets",
        "anywidget",
        "altair",
        "vl-convert-python",
        "polars",
        "pyarrow",
        "numpy",
        "scipy",
        "sympy",
        "huggingface-hub",
        "torch",
        "tqdm",
        "filelock",
    }
    expected_test = {
        "pytest",
        "hypothesis",
        "nbclient",
        "nbformat",
        "ipykernel",
        "jupytext",
        "playwright",
        "jupyter-repo2docker",
        "ruff",
    }
    project = load_pyproject()["project"]
    runtime = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    test = {canonicalize_name(Requirement(r).name) for r in project["optional-dependencies"]["test"]}
    assert runtime == expected_runtime
    assert test == expected_test


def test_pyproject_has_no_index_urls_or_direct_references():
    text = (REPO / "pyproject.toml").read_text()
    assert "download.pytorch.org" not in text
    assert "index-url" not in text
    for line in load_pyproject()["project"]["dependencies"]:
        assert Requirement(line).url is None, line


# --------------------------------------------------------- pyproject vs environment


def test_torch_pinned_exactly_in_both():
    py = pyproject_requirements()
    env, _, _ = environment_requirements()
    assert str(py["torch"]) == f"=={TORCH_VERSION}"
    # environment.yml may spell the pin as pip ``==2.13.0`` or conda ``=2.13.0``
    assert env["torch"] in (SpecifierSet(f"=={TORCH_VERSION}"), SpecifierSet(f"=={TORCH_VERSION}.*"))
    assert env["torch"].contains(TORCH_VERSION)
    assert env["torch"].contains(f"{TORCH_VERSION}+cpu")


def test_environment_has_same_packages_as_pyproject():
    py = pyproject_requirements()
    env, _, _ = environment_requirements()
    assert set(env) == set(py), (
        f"only in pyproject.toml: {sorted(set(py) - set(env))}; only in environment.yml: {sorted(set(env) - set(py))}"
    )


@pytest.mark.parametrize("name", sorted(pyproject_requirements()))
def test_environment_version_constraints_match_pyproject(name):
    py = pyproject_requirements()
    env, _, _ = environment_requirements()
    if name == "torch":
        # checked by test_torch_pinned_exactly_in_both (conda may use ``=`` fuzzy pin)
        return
    assert env[name] == py[name], (
        f"{name}: environment.yml has {str(env[name]) or '(any)'}, pyproject.toml has {str(py[name]) or '(any)'}"
    )


def test_environment_python_and_channels():
    env = load_environment()
    assert env["channels"][0] == "conda-forge"
    _, conda_only, pip_other = environment_requirements()
    assert "pip" in conda_only
    python = conda_spec_to_pep440(conda_only["python"])
    assert python.contains("3.11.9") and not python.contains("3.12.0")
    requires_python = SpecifierSet(load_pyproject()["project"]["requires-python"])
    assert requires_python.contains("3.11.0")
    # the package itself is installed (editable) by the pip section
    assert "-e ." in pip_other


# ------------------------------------------------------------------------- binder


def test_binder_files():
    binder = REPO / "binder"
    assert (binder / "runtime.txt").read_text().strip() == "python-3.11"

    reqs = [
        line.strip()
        for line in (binder / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    names = [Requirement(r).name for r in reqs if not r.startswith("-")]
    assert names == ["torch"], "binder/requirements.txt should hold torch only"
    torch_req = Requirement(next(r for r in reqs if not r.startswith("-")))
    assert torch_req.specifier.contains(f"{TORCH_VERSION}+cpu")
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in reqs

    post_build = binder / "postBuild"
    assert os.access(post_build, os.X_OK), "binder/postBuild must be executable"
    assert re.search(r"pip install .*-e \.", post_build.read_text())


def _render_binder_dockerfile(tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    # Prove that no container engine is contacted.
    env["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
    # A plain local directory uses repo2docker's Local content provider: no git
    # clone, so the repository needs no commits.  Run from an empty cwd so no stray
    # repo2docker_config.py is picked up.  uid 1000 as on mybinder.org (the
    # default is the caller's uid, and root is refused for real builds).
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "repo2docker",
            "--no-build",
            "--debug",
            "--user-id",
            "1000",
            "--user-name",
            "jovyan",
            str(REPO),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_repo2docker_dockerfile_installs_python311_torch_and_package(tmp_path):
    pytest.importorskip("repo2docker")
    proc = _render_binder_dockerfile(tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    dockerfile = proc.stdout
    assert dockerfile.lstrip().startswith("FROM "), dockerfile[:500]

    # Python 3.11 base environment
    assert "python=3.11" in proc.stderr
    # the base-env lock file is copied in under an escaped name:
    # .../conda/environment.py-3.11-linux-64.lock -> ...environment-2epy-2d3-2e11-2d...
    assert re.search(r"environment(\.|-2e)py(-|-2d)3(\.|-2e)11(-|-2d)", dockerfile)
    assert not re.search(r"environment(\.|-2e)py(-|-2d)3(\.|-2e)1[02-9]", dockerfile)

    # torch from binder/requirements.txt, in the cached pre-assemble layer
    torch_step = 'pip install --no-cache-dir -r "binder/requirements.txt"'
    assert torch_step in dockerfile
    copy_repo = "COPY --chown=1000:1000 src/ ${REPO_DIR}/"
    assert copy_repo in dockerfile
    assert dockerfile.index(torch_step) < dockerfile.index(copy_repo)

    # the workbench itself: binder/postBuild runs after the repo is copied in
    post_build = "RUN ./binder/postBuild"
    assert post_build in dockerfile
    assert dockerfile.index(copy_repo) < dockerfile.index(post_build)
    assert re.search(r"pip install .*-e \.", (REPO / "binder" / "postBuild").read_text())
    # only binder/ is read: the top-level pyproject is not installed a second time
    assert "pip install --no-cache-dir .\n" not in dockerfile


# ------------------------------------------------------------------------ Makefile


def test_makefile_installs_torch_in_own_step_without_extra_index():
    text = (REPO / "Makefile").read_text()
    assert "--extra-index-url" not in text and "--index-url" not in text
    assert re.search(rf"^TORCH_SPEC\s*:=\s*torch=={re.escape(TORCH_VERSION)}\s*$", text, re.M)
    torch_step = "$(VENV_PY) -m pip install '$(TORCH_SPEC)'"
    package_step = "$(VENV_PY) -m pip install -e '.[test,cluster]'"
    assert torch_step in text and package_step in text
    assert text.index(torch_step) < text.index(package_step)
    for target in ("lab", "test", "bench"):
        assert re.search(rf"^{target}:", text, re.M), f"missing target {target}"


def make_dry_run(target: str, *assignments: str, uid: int, tmp_path: Path) -> list[str]:
    """The commands ``make -n TARGET`` prints, run as if by user ``uid`` (nothing is executed).

    The uid is faked with an ``id`` on PATH that prints it, which is what the Makefile asks;
    make's own variables from an enclosing ``make test`` are dropped so they cannot leak in.
    """
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    fake = tmp_path / "bin" / "id"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text(f"#!/bin/sh\necho {uid}\n")
    fake.chmod(0o755)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "LAB_ARGS", "PYTEST_ARGS"}
    }
    env["PATH"] = f"{fake.parent}{os.pathsep}{env['PATH']}"
    proc = subprocess.run(
        ["make", "-n", target, *assignments], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def jupyter_lab_command(lines: list[str]) -> list[str]:
    (line,) = [line for line in lines if "bin/jupyter lab" in line]
    return line.split()


@pytest.mark.parametrize("uid", [0, 1000])
def test_make_lab_passes_lab_args_and_adds_allow_root_only_for_root(uid, tmp_path):
    argv = jupyter_lab_command(make_dry_run("lab", "LAB_ARGS=--no-browser --ip 0.0.0.0", uid=uid, tmp_path=tmp_path))
    assert argv[0].endswith(".venv/bin/jupyter") and argv[1] == "lab" and argv[-1] == "notebooks/"
    assert ("--allow-root" in argv) == (uid == 0)
    assert " ".join(argv).endswith("--no-browser --ip 0.0.0.0 notebooks/")


def test_make_lab_without_lab_args_starts_plain_jupyterlab(tmp_path):
    argv = jupyter_lab_command(make_dry_run("lab", uid=1000, tmp_path=tmp_path))
    assert argv[1:] == ["lab", "notebooks/"]


def test_make_test_prints_skip_reasons_and_slowest_tests(tmp_path):
    (line,) = [
        line for line in make_dry_run("test", "PYTEST_ARGS=-x", uid=1000, tmp_path=tmp_path) if " -m pytest " in line
    ]
    assert "-m pytest -q -rs --durations=15 -x " in line
