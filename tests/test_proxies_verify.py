"""``sweep --preset NAME --verify FILE``: a preset's checks re-run on rows already made, without training.

Every shipped preset is verified through the command line (exit 0, or 1 for the
presets whose reported failure is known); the JSON is strict; a file that is
not exactly one preset's runs is refused with one line and exit 2.
"""

from __future__ import annotations

import json
import os

import polars as pl
import pytest
from test_proxies_shipped import KNOWN_FAILURES, SHIPPED

from workbench.cli import main
from workbench.proxies import results


def _strict(text: str) -> dict:
    def refuse(name):
        raise ValueError(f"non-strict JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_preset_verifies_from_the_command_line(name, capsys):
    path = results.datasets_dir() / f"{name}.csv"
    code = main(["sweep", "--preset", name, "--verify", str(path), "--json"])
    report = _strict(capsys.readouterr().out)
    assert report["preset"] == name and report["runs"] > 0
    checks = report["verification"]["checks"]
    assert checks and all({"name", "value", "target", "passed"} <= set(c) for c in checks)
    assert code == (1 if name in KNOWN_FAILURES else 0)
    assert report["verification"]["passed"] is (name not in KNOWN_FAILURES)


def test_text_report_prints_every_check_with_value_and_target(capsys):
    path = results.datasets_dir() / "quick.csv"
    assert main(["sweep", "--preset", "quick", "--verify", str(path)]) == 0
    out = capsys.readouterr().out
    assert "checking 8 runs" in out and out.count("(target ") == 3 and out.rstrip().endswith("verified")


def _error(argv, capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


def test_rows_of_another_preset_are_refused(capsys):
    path = results.datasets_dir() / "smoke.csv"
    err = _error(["sweep", "--preset", "quick", "--verify", str(path)], capsys)
    assert "not runs of preset 'quick'" in err


def test_missing_runs_are_refused_not_checked(tmp_path, capsys):
    df = results.load("quick")
    first = df["run_id"].unique().sort()[0]
    part = tmp_path / "part.csv"
    df.filter(pl.col("run_id") != first).write_csv(part)
    err = _error(["sweep", "--preset", "quick", "--verify", str(part)], capsys)
    assert "1 of the 8 runs" in err and "missing" in err


@pytest.mark.parametrize("kind", ["missing", "folder", "fifo", "garbage", "empty"])
def test_unreadable_files_are_one_line(kind, tmp_path, capsys):
    path = tmp_path / "results.csv"
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "garbage":
        path.write_bytes(b"\x00\xff\xfe not a csv \n\x01,\x02\n")
    elif kind == "empty":
        path.write_text("")
    _error(["sweep", "--preset", "smoke", "--verify", str(path)], capsys)


@pytest.mark.parametrize("argv", [[], ["--out", "x", "--verify", "y"]])
def test_exactly_one_of_out_and_verify(argv, capsys):
    err = _error(["sweep", "--preset", "smoke", *argv], capsys)
    assert "exactly one of --out" in err
