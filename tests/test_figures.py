"""Batch mode: every registered course figure builds without Jupyter and lands in the index."""

from __future__ import annotations

from workbench.cli import main
from workbench.course import load_all


def test_every_course_figure_builds_and_is_indexed(tmp_path, capsys):
    names = list(load_all())
    assert names
    assert main(["figures", "--out", str(tmp_path), "--format", "svg"]) == 0
    index = (tmp_path / "index.md").read_text()
    for name in names:
        assert (tmp_path / f"{name}.svg").read_text().lstrip().startswith("<svg")
        assert f"| {name} |" in index


def test_unknown_figure_is_a_clear_error(tmp_path, capsys):
    assert main(["figures", "--out", str(tmp_path), "--only", "nope"]) == 2
    assert "unknown figure(s) nope" in capsys.readouterr().err
