"""Imports only point down the house (docs/architecture.md): rows -> laws -> fits -> analyses ->
experiments -> pictures -> interfaces.  Lazy imports inside functions count too."""

from __future__ import annotations

import ast

from conftest import ROOT

FLOORS = [  # longest prefix wins
    ("workbench.errors", 0),
    ("workbench.files", 0),
    ("workbench.laws", 1),
    ("workbench.corpus.schema", 1),
    ("workbench.corpus", 2),
    ("workbench.fit", 2),
    ("workbench.analysis", 4),
    ("workbench.proxies", 5),
    ("workbench.viz", 6),
    ("workbench.course", 7),
    ("workbench.cli", 7),
    ("workbench.__main__", 7),
    ("workbench", 7),
]


def floor(module: str) -> int:
    for prefix, level in sorted(FLOORS, key=lambda x: -len(x[0])):
        if module == prefix or module.startswith(prefix + "."):
            return level
    raise AssertionError(f"{module} is in no floor")


def imports(path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("workbench"):
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("workbench"))
    return out


def test_imports_point_down():
    bad = []
    for path in sorted((ROOT / "workbench").rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        for target in imports(path):
            if target != "workbench" and floor(target) > floor(module):
                bad.append(f"{module} (floor {floor(module)}) imports {target} (floor {floor(target)})")
    assert not bad, "\n".join(bad)


def test_the_check_sees_an_upward_import():
    assert floor("workbench.proxies.results") > floor("workbench.corpus.load")
    assert floor("workbench.corpus.schema") < floor("workbench.corpus.load")


def test_course_modules_are_small_and_named_by_topic():
    """Every course module is under 600 lines, none is named by a notebook number range, and every lesson
    module listed in ``LESSONS`` exists (and every module on disk is either a lesson or shared)."""
    import re

    from workbench.course import LESSONS

    course = ROOT / "workbench" / "course"
    shared = {"__init__", "style", "references", "inputs"}
    lessons = {m for modules in LESSONS for m in modules}
    on_disk = {p.stem for p in course.glob("*.py")}
    assert lessons <= on_disk, lessons - on_disk
    assert on_disk - lessons == shared, on_disk - lessons - shared
    for path in course.glob("*.py"):
        assert not re.search(r"\d", path.stem), path.name
        lines = path.read_text().count("\n")
        assert lines <= 600, f"{path.name} has {lines} lines"
