"""The README's examples run, so the docs cannot rot."""

from __future__ import annotations

import re
import shlex

import pytest
from conftest import ROOT

from workbench.cli import main


def blocks(lang: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def test_python_examples_run_and_print_what_they_say(capsys):
    (code,) = [b for b in blocks("python") if "CHINCHILLA" in b]
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    expected = re.search(r"# (\{'E'.*\})", code).group(1)
    assert out[0] == expected
    assert out[1] == "True"
    assert out[2] == "no caution"


@pytest.mark.parametrize("topic", ["proxies", "shared_vs_separate"])
def test_other_examples_print_what_their_comments_say(capsys, topic):
    """Each printed line is the start of the ``# ...`` comment line that follows its print."""
    (code,) = [b for b in blocks("python") if topic in b and "CHINCHILLA" not in b]
    exec(compile(code, "README.md", "exec"), {})
    expected = re.findall(r"^# (.+)$", code, flags=re.M)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(expected) and all(e.startswith(o) for o, e in zip(out, expected)), (out, expected)


def test_readme_lists_every_proxy_preset():
    from workbench.proxies.presets import PRESETS

    text = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| `(\w+)` \| .* \| [\d.]+ (?:s|min) \|$", text, flags=re.M)
    assert rows == [name for name, p in PRESETS.items() if p.shipped]  # the table gives measured wall times


def test_cli_examples_on_corpus_sources_run(capsys):
    (sh,) = [b for b in blocks("sh") if "python -m workbench fit" in b]
    ran = 0
    for line in sh.splitlines():
        argv = shlex.split(line)[3:]
        if argv[0] == "fit" and "my_runs.csv" not in line or argv[0] == "sources":
            assert main(argv) == 0, line
            ran += 1
    assert ran >= 3


def test_readme_lists_every_law_and_source():
    from workbench import corpus
    from workbench.laws import LAWS

    text = (ROOT / "README.md").read_text()
    for name in LAWS:
        assert f"`{name}`" in text, f"law {name} missing from README"
    for sid in corpus.sources():
        assert f"`{sid}`" in text, f"source {sid} missing from README"


def test_binder_links_open_an_existing_notebook():
    text = (ROOT / "README.md").read_text()
    targets = re.findall(r"mybinder\.org/v2/gh/[^)\s]+urlpath=lab/tree/([^)\s&]+)", text)
    assert targets and all(t == "notebooks/index.ipynb" for t in targets)
    assert (ROOT / targets[0]).is_file()


def test_readme_counts_and_labels_match_the_registry():
    """The law count is the registry's, and every preset in the law table carries its origin's label."""
    from workbench import corpus
    from workbench.laws import LAWS

    text = (ROOT / "README.md").read_text()
    counts = {int(n) for n in re.findall(r"(\d+) laws", text)}
    assert counts == {len(LAWS)}, counts
    assert f"measurements from {len(corpus.sources())} sources" in text
    for law in LAWS.values():
        (row,) = [line for line in text.splitlines() if line.startswith(f"| `{law.name}` |") and "→" in line]
        for preset in law.presets:
            assert f"{preset.name} ({preset.label})" in row, (law.name, preset.name)


def test_every_reproduction_is_a_test_in_the_suite():
    """Each row of the README's reproductions table names a test that exists (file and function)."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Reproductions", 1)[1].split("\n## ", 1)[0]
    refs = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", section)
    assert len(refs) >= 12
    for path, name in refs:
        source = (ROOT / path).read_text()
        assert re.search(rf"^def {name}\(", source, flags=re.M), f"{path}::{name} is not a test"


def test_corpus_table_row_counts_are_the_curated_tables():
    """Every number in the README's corpus table is the row count of the shipped table."""
    from workbench import corpus

    text = (ROOT / "README.md").read_text()
    rows = dict(re.findall(r"^\| `(\w+)` \| (\d+) \|", text, flags=re.M))
    assert set(rows) == set(corpus.sources())
    for sid, n in rows.items():
        assert corpus.load(sid).height == int(n), sid
