"""Batch mode: every registered course figure builds without Jupyter and lands in the index."""

from __future__ import annotations

import re

from workbench.cli import main
from workbench.course import load_all

#: A JupyterLab notebook column at a 1,400-pixel window, file browser open, is about 965
#: pixels wide (measured by tests/browser): a wider figure is cut off.  Narrower than 600
#: wastes the column and squeezes the axis labels.
FIGURE_WIDTH = (600, 950)


def test_every_course_figure_builds_and_is_indexed(tmp_path, capsys):
    names = list(load_all())
    assert names
    assert main(["figures", "--out", str(tmp_path), "--format", "svg"]) == 0
    index = (tmp_path / "index.md").read_text()
    bad = []
    for name in names:
        svg = (tmp_path / f"{name}.svg").read_text()
        assert svg.lstrip().startswith("<svg")
        assert f"| {name} |" in index
        bibs = list(tmp_path.glob(f"{name}.bib"))
        if bibs:  # a figure's references are BibTeX entries, not bare keys
            assert bibs[0].read_text().lstrip().startswith("@"), f"{name}.bib is not BibTeX"
        width = float(re.search(r'<svg[^>]* width="([\d.]+)"', svg).group(1))
        if not FIGURE_WIDTH[0] <= width <= FIGURE_WIDTH[1]:
            bad.append(f"{name}: {width:.0f} px")
    assert not bad, f"figures outside {FIGURE_WIDTH} px: " + ", ".join(bad)


def test_unknown_figure_is_a_clear_error(tmp_path, capsys):
    assert main(["figures", "--out", str(tmp_path), "--only", "nope"]) == 2
    assert "unknown figure(s) nope" in capsys.readouterr().err
