"""Every preset says where its digits come from, and only printed constants are called "published".

A preset's ``origin`` is one of ``printed``, ``authors-code``, ``digitised`` or
``secondhand``; its ``locator`` says exactly where (an arXiv id with a table,
equation, figure, section or appendix; or ``owner/repo@commit:path``).  The CLI,
the README and the course label constants by origin, so "published" can only
ever mean printed in the paper.
"""

from __future__ import annotations

import json
import re

import pytest

from workbench.cli import main
from workbench.laws import LAWS
from workbench.laws.base import ORIGINS, Preset

ALL_PRESETS = [(law.name, p) for law in LAWS.values() for p in law.presets]
PAPER_PLACE = re.compile(r"arXiv:\d{4}\.\d{4,5}(v\d+)?\b.*\b(Table|Eq\.|Fig\.|§|App\.|TeX source)")
CODE_PLACE = re.compile(r"^[\w.-]+/[\w.-]+(@[0-9a-f]{40})?:\S+")


def test_there_are_presets_to_check():
    assert len(ALL_PRESETS) >= 30


@pytest.mark.parametrize("law_name, preset", ALL_PRESETS, ids=[f"{n}:{p.name}" for n, p in ALL_PRESETS])
def test_every_preset_has_an_origin_and_an_exact_locator(law_name, preset):
    assert preset.origin in ORIGINS, (law_name, preset.name)
    assert preset.locator.strip(), (law_name, preset.name)
    if preset.origin == "printed":
        assert PAPER_PLACE.search(preset.locator), (law_name, preset.name, preset.locator)
    if preset.origin == "authors-code":
        assert CODE_PLACE.match(preset.locator), (law_name, preset.name, preset.locator)
        assert "@" in preset.locator, "an authors-code locator pins the commit"
    assert (preset.label == "published") == (preset.origin == "printed")


def test_a_preset_without_origin_or_locator_cannot_be_declared():
    with pytest.raises(TypeError):
        Preset("x", {"E": 1.0}, "someone 2024, arXiv:0000.00000")  # the missing arguments are the point
    with pytest.raises(ValueError, match="origin"):
        Preset("x", {"E": 1.0}, "c", origin="published", locator="arXiv:2203.15556 Table 1")
    with pytest.raises(ValueError, match="locator"):
        Preset("x", {"E": 1.0}, "c", origin="printed", locator="  ")


def test_cli_lists_presets_with_their_origin_and_locator(capsys):
    assert main(["fit", "--list-laws", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    chin = {p["name"]: p for p in rows["chinchilla"]["presets"]}
    assert chin["hoffmann2022"]["origin"] == "printed" and chin["hoffmann2022"]["label"] == "published"
    assert chin["besiroglu2024"]["label"] == "secondhand"
    gadre = {p["name"]: p for p in rows["gadre_overtraining"]["presets"]}
    assert gadre["gadre2024_c4"]["label"] == "authors' code"
    assert main(["fit", "--list-laws"]) == 0
    text = capsys.readouterr().out
    assert "hoffmann2022 (published: arXiv:2203.15556 App. D.2" in text
    assert "gadre2024_c4 (authors' code: mlfoundations/scaling@" in text


def test_published_is_said_only_of_printed_constants():
    """No README, notebook or course text calls authors'-code or secondhand constants 'published'."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    paths = [
        root / "README.md",
        *sorted((root / "notebooks").glob("*.py")),
        *sorted((root / "workbench" / "course").glob("*.py")),
        *sorted((root / "workbench" / "viz").glob("*.py")),
    ]
    not_printed = [p for _, p in ALL_PRESETS if p.origin != "printed"]
    # the papers whose constants in the workbench are not printed ones
    not_printed_authors = ("Gadre", "Besiroglu", "QuEST", "StepLaw", "datablations", "Muennighoff")
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            for preset in not_printed:
                assert not re.search(rf"{preset.name}\W*\(?(published|printed)", line), (path.name, line.strip())
            low = line.lower()
            if path.name != "README.md" and "published" in low and re.search(r"constant|preset|value", low):
                assert not any(a in line for a in not_printed_authors), (path.name, line.strip())
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "every printed digit of Gadre" not in readme


def test_the_provenance_document_covers_every_preset():
    """docs/provenance.md names every preset with its label, so the prose cannot drift from the code."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "provenance.md").read_text(encoding="utf-8")
    for law_name, preset in ALL_PRESETS:
        assert f"`{preset.name}`" in text, (law_name, preset.name)
        section = text.split(f"`{preset.name}`", 1)[1][:400]
        assert f"**{preset.label}**" in section, (law_name, preset.name, preset.label)
