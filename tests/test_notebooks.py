"""Every course notebook: paired with its jupytext source, committed without outputs, and
executed headless (nbclient) in a scratch copy, so the user's files are never touched."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found under notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"{path.name}: a code cell has committed outputs"
            assert cell.get("execution_count") is None, f"{path.name}: a code cell has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_paired_with_its_percent_script(path):
    script = path.with_suffix(".py")
    assert script.exists(), f"{path.name} has no jupytext pair {script.name}"
    a = jupytext.read(path)
    b = jupytext.read(script)
    cells = lambda nb: [(c.cell_type, c.source.strip()) for c in nb.cells]  # noqa: E731
    assert cells(a) == cells(b), f"{path.name} and {script.name} differ: run `jupytext --sync {script}`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_executes_headless(path, tmp_path):
    work = tmp_path / "notebooks"
    shutil.copytree(path.parent, work, ignore=shutil.ignore_patterns("exports", ".ipynb_checkpoints"))
    nb = nbformat.read(work / path.name, as_version=4)
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    seconds = time.perf_counter() - t0
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert seconds < 60, f"{path.name} took {seconds:.1f} s headless (budget 60 s)"
    if path.stem == "01_chinchilla":
        exported = {p.name for p in (work / "exports").iterdir()}
        assert {"chinchilla.png", "chinchilla.svg", "chinchilla.pdf", "chinchilla-points.csv", "chinchilla.bib"} <= exported
        assert (work / "exports" / "chinchilla.pdf").read_bytes()[:4] == b"%PDF"
        assert (work / "exports" / "chinchilla.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
