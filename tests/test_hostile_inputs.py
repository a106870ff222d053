"""Hostile input to the CLI (issue 12): every bad option, file or cell is one line on stderr and exit 2.

Each case below was seen to crash, hang, print numpy warnings, write invalid
JSON or silently pick one of two columns.  The CLI runs in-process through
``workbench.cli.main``; a subprocess is used only where a hang or a
traceback on stderr has to be ruled out.  Two hypothesis fuzzers close the
file: random CSV contents and random ``fit`` options must end in exit 0 or 2,
never an exception, a numpy warning or a non-strict JSON document.

The other hostile probes live beside this file, one per kind of damage:
``test_hostile_files.py`` (planted links, outside paths, tampered Hub pulls),
``test_hostile_sweeps.py`` (killed parents, corrupt caches, concurrent sweeps)
and ``test_fit_scale.py`` (10^5-10^6-row tables, degenerate and tiny noisy data).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import warnings
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.cli import MAX_BOOTSTRAP, main
from workbench.corpus import read_table
from workbench.corpus.tables import cast_strict
from workbench.errors import WorkbenchError, one_line, quote, quote_list

BIG_CELL = 10_000_000  # characters: enough to show the message does not grow with the cell


def run(*argv: str) -> tuple[int, str, str, list[warnings.WarningMessage]]:
    """``main(argv)`` in-process: exit code (argparse's SystemExit included), stdout, stderr, warnings raised."""
    out, err = io.StringIO(), io.StringIO()
    with (
        warnings.catch_warnings(record=True) as caught,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        warnings.simplefilter("always")
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue(), list(caught)


def assert_refused(result, *fragments: str) -> str:
    """Exit 2, nothing on stdout, exactly one short ``error:`` line naming each fragment; returns the line."""
    code, out, err, caught = result
    assert code == 2, (out, err)
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert len(err) < 1200, len(err)
    for fragment in fragments:
        assert fragment in err, err
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    return err


def strict_json(text: str):
    """``json.loads`` that refuses NaN and Infinity, as strict parsers (JavaScript, jq) do."""

    def refuse(constant: str):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def write_csv(path: Path, columns: dict[str, list]) -> str:
    lines = [",".join(columns)] + [",".join(repr(float(v)) for v in row) for row in zip(*columns.values())]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def power_rows(n: int = 8) -> dict[str, list[float]]:
    """``loss = 2 + 400 params^-0.3`` at ``n`` sizes from 1e7 to 1e10."""
    x = np.geomspace(1e7, 1e10, n)
    return {"params": x.tolist(), "loss": (2.0 + 400.0 * x**-0.3).tolist()}


@pytest.fixture
def good_csv(tmp_path) -> str:
    return write_csv(tmp_path / "runs.csv", power_rows())


def fit(data: str, *extra: str, law: str = "power_offset_params"):
    return run("fit", "--law", law, "--data", data, *extra)


# -- option values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--bootstrap", "1000000000"], "--bootstrap: '1000000000' is outside 0..10,000"),
        (["--bootstrap", "1e18"], "--bootstrap: '1e18' is outside 0..10,000"),
        (["--bootstrap", "-1"], "--bootstrap: '-1' is outside"),
        (["--bootstrap", "2.5"], "--bootstrap: '2.5' is not a whole number"),
        (["--bootstrap", "many"], "--bootstrap: 'many' is not a whole number"),
        (["--seed", "-1"], "--seed: '-1' is outside 0..4,294,967,295"),
        (["--seed", str(2**32)], "--seed: '4294967296' is outside"),
        (["--seed", "1e30"], "--seed: '1e30' is outside"),
        (["--delta", "nan"], "--delta: 'nan' is not a finite number"),
        (["--weight", "inf"], "--weight: 'inf' is not a finite number"),
        (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    ],
)
def test_option_values_out_of_range_are_one_line(good_csv, argv, fragment):
    assert_refused(fit(good_csv, *argv), fragment)


def test_option_limits_are_inclusive_and_1e3_is_a_whole_number(good_csv):
    from workbench.cli import build_parser

    base = ["fit", "--law", "power_params", "--data", good_csv]
    args = build_parser().parse_args([*base, "--bootstrap", str(MAX_BOOTSTRAP), "--seed", str(2**32 - 1)])
    assert (args.bootstrap, args.seed) == (MAX_BOOTSTRAP, 2**32 - 1)
    assert build_parser().parse_args([*base, "--bootstrap", "1e3", "--seed", "0"]).bootstrap == 1000
    code, out, err, _ = fit(good_csv, "--bootstrap", "1e1", "--seed", str(2**32 - 1), "--json")
    assert code == 0, err
    assert set(strict_json(out)["ci"]) == {"E", "A", "alpha"}


def test_bootstrap_draws_times_rows_is_bounded_before_any_fit(tmp_path, monkeypatch):
    """10,000 draws of 245 points already take 1 GB: draws x rows is capped, with the largest allowed count."""
    import workbench.fit

    monkeypatch.setattr(workbench.fit, "fit_problem", lambda *a, **k: pytest.fail("fitted before the check"))
    path = write_csv(tmp_path / "many.csv", power_rows(2000))
    err = assert_refused(fit(path, "--bootstrap", "10000"), "10,000 draws of 2,000 rows", "use at most 5,000 draws")
    assert "20,000,000" in err


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--fix", "E=1", "--fix", "E=2"], "--fix fixes E twice (E=1 and E=2); fix it once"),
        (["--fix", "E=1", "--fix", " E =1"], "fixes E twice"),
        (["--fix", "Q=1"], "law 'power_offset_params' has no parameter 'Q'"),
        (["--fix", "=1"], "has no parameter ''"),
        (["--fix", "E=one"], "--fix 'E=one': 'one' is not a number"),
        (["--fix", "E=nan"], "--fix 'E=nan': E must be a finite number"),
        (["--fix", "alpha=-inf"], "alpha must be a finite number"),
        (["--fix", "E"], "must look like 'E=1.69'"),
    ],
)
def test_bad_fix_is_refused_not_resolved(good_csv, argv, fragment):
    assert_refused(fit(good_csv, *argv), fragment)


@pytest.mark.parametrize("value", ["", "   "])
def test_empty_holdout_and_per_group_are_refused(good_csv, value):
    assert_refused(fit(good_csv, "--holdout", value), "--holdout is empty")
    assert_refused(fit(good_csv, "--per-group", value), "--per-group is empty")


def test_a_bad_holdout_fails_before_the_fit(good_csv, monkeypatch):
    import workbench.fit

    monkeypatch.setattr(workbench.fit, "fit_problem", lambda *a, **k: pytest.fail("fitted before the holdout was read"))
    assert_refused(fit(good_csv, "--holdout", "params>"), "cannot read")


# -- columns -------------------------------------------------------------------------------------


def _rows_text(header: str, rows: dict[str, list[float]], copies: int = 2) -> str:
    """CSV text with ``header`` over rows that repeat the params column ``copies`` times, then loss."""
    body = [",".join([repr(p)] * copies + [repr(y)]) for p, y in zip(rows["params"], rows["loss"])]
    return header + "\n" + "\n".join(body) + "\n"


@pytest.mark.parametrize(
    "header, fragment",
    [
        ("params,params,loss", "column 'params' appears twice (columns 1 and 2); keep one"),
        ("Params,PARAMS,loss", "columns 'Params', 'PARAMS' all give 'params' (names match case-insensitively"),
        ("params, params ,loss", "columns 'params', ' params ' all give 'params'"),
        ("params,N,loss", "columns 'params', 'N' all give 'params'"),
        ("model size,model_size,loss", "all give 'params'"),
    ],
)
def test_duplicate_csv_columns_are_refused(tmp_path, header, fragment):
    path = tmp_path / "dup.csv"
    path.write_text(_rows_text(header, power_rows()))
    assert_refused(fit(str(path)), str(path), fragment)


def test_a_name_repeated_three_times_and_a_duplicate_loss_are_refused(tmp_path):
    path = tmp_path / "dup3.csv"
    path.write_text(_rows_text("params,params,params,loss", power_rows(), copies=3))
    assert_refused(fit(str(path)), "column 'params' appears twice (columns 1 and 2)")
    path.write_text("params,loss,LOSS\n1e9,2.5,2.6\n2e9,2.4,2.5\n3e9,2.3,2.4\n4e9,2.2,2.3\n")
    assert_refused(fit(str(path)), "columns 'loss', 'LOSS' all give 'loss'")


def test_a_column_really_named_like_a_polars_duplicate_is_fine(tmp_path):
    rows = power_rows()
    path = write_csv(tmp_path / "odd.csv", {**rows, "x_duplicated_0": rows["params"]})
    code, _, err, _ = fit(path, "--json")
    assert code == 0, err


def test_duplicate_columns_in_the_corpus_validator(tmp_path):
    path = tmp_path / "corpus.csv"
    path.write_text("source_id,source_id\na,a\n")
    with pytest.raises(WorkbenchError, match="column 'source_id' appears twice"):
        read_table(path)


def test_duplicate_parquet_columns_are_refused(tmp_path):
    rows = power_rows()
    path = tmp_path / "case.parquet"
    pl.DataFrame({"Params": rows["params"], "PARAMS": rows["params"], "loss": rows["loss"]}).write_parquet(path)
    assert_refused(fit(str(path)), "columns 'Params', 'PARAMS' all give 'params'")
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    exact = tmp_path / "exact.parquet"
    table = pa.table([rows["params"], rows["params"], rows["loss"]], names=["params", "params", "loss"])
    pq.write_table(table, exact)
    assert_refused(fit(str(exact)), str(exact), "a column is named twice", "'params'")


@pytest.mark.parametrize(
    "values, type_name",
    [
        ([True] * 8, "Boolean"),
        ([datetime(2024, 1, 1 + i) for i in range(8)], "Datetime"),
        ([date(2024, 1, 1 + i) for i in range(8)], "Date"),
        ([timedelta(seconds=1 + i) for i in range(8)], "Duration"),
        ([str(v) for v in power_rows()["params"]], None),  # text in parquet is parsed like CSV text
    ],
)
def test_parquet_types_that_are_not_numbers_are_refused(tmp_path, values, type_name):
    path = tmp_path / "typed.parquet"
    pl.DataFrame({"params": values, "loss": power_rows()["loss"]}).write_parquet(path)
    result = fit(str(path), "--json")
    if type_name is None:
        assert result[0] == 0, result[2]
    else:
        assert_refused(result, f"column 'params' has type {type_name}", "expected a number")


def test_typed_columns_are_not_rounded_or_invented():
    """Float 1.5 is not the whole number 1; 2 is not a true/false value (0/1 are); a number is not a date."""
    with pytest.raises(WorkbenchError, match="column 'k' row 2: 1.5 is not a valid whole number"):
        cast_strict(pl.DataFrame({"k": [2.0, 1.5]}), {"k": pl.Int64}, "t")
    assert cast_strict(pl.DataFrame({"k": [2.0, 3.0]}), {"k": pl.Int64}, "t")["k"].to_list() == [2, 3]
    with pytest.raises(WorkbenchError, match="column 'final' has type Int64, expected a true/false value"):
        cast_strict(pl.DataFrame({"final": [0, 2]}), {"final": pl.Boolean}, "t")
    assert cast_strict(pl.DataFrame({"final": [0, 1]}), {"final": pl.Boolean}, "t")["final"].to_list() == [False, True]
    with pytest.raises(WorkbenchError, match="column 'date' has type Int64, expected a date"):
        cast_strict(pl.DataFrame({"date": [19000]}), {"date": pl.Date}, "t")
    moment = pl.DataFrame({"date": [datetime(2024, 5, 1)]})
    assert cast_strict(moment, {"date": pl.Date}, "t")["date"].to_list() == [date(2024, 5, 1)]


# -- extreme numbers and strict JSON ---------------------------------------------------------------


@pytest.mark.parametrize(
    "column, value, shown",
    [("params", 1e308, "1e+308"), ("params", 1e-300, "1e-300"), ("loss", 1e-310, "1e-310"), ("loss", 1e200, "1e+200")],
)
def test_values_beyond_1e100_are_a_clear_error(tmp_path, column, value, shown):
    rows = power_rows()
    rows[column][3] = value
    path = write_csv(tmp_path / "extreme.csv", rows)
    assert_refused(fit(path, "--json"), f"column {column!r} row 4: {shown} is outside the range a fit can use")


def test_tokens_derived_from_extreme_flops_are_checked(tmp_path):
    path = write_csv(tmp_path / "flops.csv", {"params": [1e-90, 1e9], "flops": [1e99, 1e20], "loss": [3.0, 2.0]})
    assert_refused(fit(path, law="chinchilla"), "tokens derived as flops / (6 * params)", "outside the range")


@pytest.fixture
def steep_csv(tmp_path) -> str:
    """``loss = 1e16 params^-2``: predicting at params = 1e-200 overflows to infinity."""
    x = np.geomspace(1e7, 1e9, 8)
    return write_csv(tmp_path / "steep.csv", {"params": x, "loss": 1e16 * x**-2.0})


def test_json_never_holds_nan_or_infinity(steep_csv):
    code, out, err, caught = fit(steep_csv, "--predict", "1e-200", "--bootstrap", "20", "--json", law="power_params")
    assert code == 0, err
    assert err == "" and not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    res = strict_json(out)
    (pred,) = res["predictions"]
    assert pred["loss"] is None and pred["ci"] == [None, None]
    (note,) = [w for w in res["warnings"] if "not finite" in w]
    assert note == "3 result value(s) are not finite and are written as null: predictions[0].loss, " + (
        "predictions[0].ci[0], predictions[0].ci[1]"
    )
    (numpy,) = [w for w in res["warnings"] if w.startswith("numpy met floating-point errors (")]
    assert "overflow" in numpy
    code, out, err, _ = fit(steep_csv, "--predict", "1e-200", law="power_params")
    assert code == 0 and "loss = inf" in out and "printed as inf/nan" in out


def test_overflow_prints_no_numpy_warning_through_python_m(steep_csv):
    """As a user runs it: no RuntimeWarning text on stderr, strict JSON on stdout."""
    proc = subprocess.run(
        [sys.executable, "-m", "workbench", "fit", "--law", "power_params", "--data", steep_csv]
        + ["--predict", "1e-200", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert proc.returncode == 0 and proc.stderr == ""
    assert strict_json(proc.stdout)["predictions"][0]["loss"] is None


def test_an_exception_after_floating_point_errors_is_a_clear_error(good_csv, monkeypatch):
    """The engine failing on numbers it overflowed on is the data's fault: one line, exit 2."""
    import workbench.fit

    def overflowing_fit(problem):
        np.array([1e300]) * np.array([1e300])  # noqa: B018 - the overflow is the point
        raise ValueError("array must not contain infs or NaNs")

    monkeypatch.setattr(workbench.fit, "fit_problem", overflowing_fit)
    assert_refused(
        fit(good_csv),
        "law 'power_offset_params': the fit failed after floating-point errors (overflow)",
        "ValueError: array must not contain infs or NaNs",
    )


def test_an_exception_without_floating_point_errors_keeps_its_traceback(good_csv, monkeypatch):
    """Anything else is a bug in the workbench, and is not dressed up as the user's error."""
    import workbench.fit

    def broken_fit(problem):
        raise ValueError("a bug")

    monkeypatch.setattr(workbench.fit, "fit_problem", broken_fit)
    with pytest.raises(ValueError, match="a bug"):
        main(["fit", "--law", "power_offset_params", "--data", good_csv])


def test_a_fit_ending_at_infinite_parameters_is_refused(good_csv, monkeypatch):
    from workbench.fit import FitResult

    real = FitResult.to_dict

    def infinite(self):
        out = real(self)
        out["params"]["A"] = float("inf")
        return out

    monkeypatch.setattr(FitResult, "to_dict", infinite)
    assert_refused(fit(good_csv, "--json"), "the fit ended at values that are not finite (A = inf)")


# -- files that are not files ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["x.parquet", "x.csv"])
def test_a_named_pipe_is_refused_without_hanging(tmp_path, name):
    fifo = tmp_path / name
    os.mkfifo(fifo)
    proc = subprocess.run(
        [sys.executable, "-m", "workbench", "fit", "--law", "power_params", "--data", str(fifo)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr == f"error: {fifo}: is a named pipe, not a regular file; save the data to a file first\n"


def test_directories_devices_and_missing_paths(tmp_path):
    folder = tmp_path / "runs.csv"
    folder.mkdir()
    assert_refused(fit(str(folder)), f"{folder}: is a directory, not a data file")
    assert_refused(fit("/dev/null"), "/dev/null: is a device, not a regular file")
    plain = tmp_path / "plain.csv"
    plain.write_text("params,loss\n1e9,2.5\n")
    assert_refused(fit(str(plain / "inner.csv")), "inner.csv: no such file")  # a file used as a folder
    assert_refused(fit(str(tmp_path / ("n" * 300) / "x.csv")), "cannot read (File name too long)")
    assert_refused(fit("bad\x00name.csv"), "not a valid file name")


def test_other_subcommands_refuse_pipes_and_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    fifo = tmp_path / "runs.csv"
    os.mkfifo(fifo)
    assert_refused(run("hub", "push", str(fifo), "someone/runs"), "is a named pipe, not a regular file")
    assert_refused(run("curate", "--from", str(tmp_path / "nope"), "--out", str(tmp_path)), "no such folder")
    assert_refused(run("curate", "--from", str(fifo), "--out", str(tmp_path)), "not a folder")


# -- long values in messages -----------------------------------------------------------------------


def test_quote_keeps_about_80_characters():
    assert quote("abc") == "'abc'" and quote(2.5) == "2.5"
    long = quote("x" * BIG_CELL)
    assert long == "'" + "x" * 80 + "'... (10,000,000 characters)"
    escaped = quote("\x00" * 1000)
    assert len(escaped) < 120 and escaped.endswith("(1,000 characters)")
    assert quote_list(["a"] * 20, most=3) == "'a', 'a', 'a' and 17 more"
    assert one_line("a\nb") == "a b"
    assert len(one_line("y" * BIG_CELL)) < 1100


def test_a_huge_cell_gives_a_short_error(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text("params,loss\n1e9,2.5\n" + "z" * BIG_CELL + ",2.4\n")
    err = assert_refused(fit(str(path)), f"{path}: column 'params' row 2: 'zzzz", "(10,000,000 characters) is not")
    assert len(err) < 300


def test_a_huge_header_gives_a_short_error(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("h" * BIG_CELL + ",loss\n1e9,2.5\n")
    assert_refused(fit(str(path)), "missing column 'params'", "(10,000,000 characters)")
    path.write_text(",".join(f"c{i}" for i in range(5000)) + "\n" + ",".join(["1"] * 5000) + "\n")
    assert_refused(fit(str(path)), "'c11' and 4,988 more")


def test_huge_options_give_short_errors(good_csv, tmp_path):
    long = "9" * 100_000
    assert_refused(fit(good_csv, "--predict", "1:" + long), "(100,002 characters)")
    assert_refused(fit(good_csv, "--fix", "E=" + "x" * 100_000), "(100,000 characters)")
    assert_refused(fit(good_csv, "--holdout", "params>1e9 & " + "q" * 100_000), "message cut at 1,000")
    assert_refused(fit(good_csv, "--bootstrap", long), "(100,000 characters) is outside")
    assert_refused(fit("nowhere" * 20_000), "(140,000 characters)")
    assert_refused(run("figures", "--out", str(tmp_path), "--only", "f" * 100_000), "(100,000 characters)")


def test_a_huge_group_label_is_refused_short(tmp_path):
    """--per-group labels are repeated in every output and message: one of 200,000 characters is refused."""
    rows = power_rows(4)
    lines = [f"{p!r},{y!r},a" for p, y in zip(rows["params"], rows["loss"])] + [f"2e9,2.9,{'g' * 200_000}"]
    path = tmp_path / "groups.csv"
    path.write_text("params,loss,family\n" + "\n".join(lines) + "\n")
    assert_refused(
        fit(str(path), "--per-group", "family"),
        f"{path}: column 'family' row 5: the group label 'ggg",
        "(200,000 characters) is longer than 200 characters",
    )


def test_corpus_cells_are_quoted_short(tmp_path):
    from workbench.corpus import validate

    frame = pl.DataFrame({"lost": ["x"]}).rename({"lost": "w" * 1000})
    with pytest.raises(WorkbenchError, match=r"unknown column\(s\) 'w+'\.\.\. \(1,000 characters\)"):
        validate(frame, "t")


# -- fuzzers -------------------------------------------------------------------------------------

NAMES = ["params", "PARAMS", "Params", " params", "N", "loss", "L", "Loss", "tokens", "group", "", "x"]
CELLS = ["1e9", "2.5", "1e308", "1e-300", "-0", "0", "", "nan", "inf", "-1e9", "abc", '"', "1e9,5", "'", "\t"]
FUZZ = settings(
    max_examples=100,
    deadline=timedelta(seconds=20),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def assert_ends_cleanly(result) -> None:
    """Exit 0 with strict JSON and a silent stderr, or exit 2 with one short line; never a numpy warning."""
    code, out, err, caught = result
    assert code in (0, 2), (code, err)
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in caught]
    if code == 0:
        assert err == ""
        if out.lstrip().startswith("{"):
            strict_json(out)
    else:
        assert out == "" and err.startswith("error: ") and err.count("\n") == 1 and len(err) < 1200, err


good_cells = st.floats(1e6, 1e11).map(repr)  # plausible sizes and losses alike: power_params fits them
hostile_cells = st.one_of(
    st.sampled_from(CELLS),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(1e-320, 1e308).map(repr),
    st.text(max_size=6),
)
headers = st.one_of(
    st.sampled_from([["params", "loss"], ["N", "L"], ["loss", "params"], ["params", "loss", "x"]]),
    st.lists(st.one_of(st.sampled_from(NAMES), st.text(max_size=6)), min_size=1, max_size=4),
)


@st.composite
def csv_files(draw) -> bytes:
    """Mostly tables a fit could use with a hostile cell or header here and there; sometimes any bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=120))
    header = draw(headers)
    width, height = len(header), draw(st.integers(0, 8))
    rows = [[draw(good_cells) for _ in range(width)] for _ in range(height)]
    for _ in range(draw(st.integers(0, 2)) if height else 0):  # damage up to two cells
        rows[draw(st.integers(0, height - 1))][draw(st.integers(0, width - 1))] = draw(hostile_cells)
    text = "\n".join(",".join(row) for row in [header, *rows]) + draw(st.sampled_from(["", "\n", "\r\n"]))
    return text.encode("utf-8", "surrogatepass")


@FUZZ
@given(content=csv_files(), suffix=st.sampled_from([".csv", ".csv", ".csv", ".parquet", ""]))
def test_fuzz_random_csv_files(content, suffix):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"data{suffix}"
        path.write_bytes(content)
        before = path.read_bytes()
        assert_ends_cleanly(fit(str(path), "--json", law="power_params"))
        assert path.read_bytes() == before  # user files are never modified


def option_values(name: str):
    """Plausible and hostile values for each ``fit`` option."""
    numbers = st.one_of(
        st.sampled_from(["0", "1", "-1", "1e3", "1e18", "nan", "inf", "", "abc", "2.5", "0x10", "1_0"]),
        st.integers(-(2**40), 2**40).map(str),
        st.text(max_size=5),
    )
    special = {
        "--bootstrap": st.one_of(st.integers(0, 12).map(str), numbers),
        "--fix": st.one_of(
            st.sampled_from(["A=400", "alpha=0.3", "E=2", "A=nan", "alpha=inf", "Q=1", "=", "A=", "alpha=-1"]),
            st.text(max_size=8),
        ),
        "--tie": st.one_of(st.sampled_from(["alpha=A", "A=E", "alpha=alpha", "x=y", "", "E=A"]), st.text(max_size=6)),
        "--holdout": st.one_of(
            st.sampled_from(["params>1e8", "params>1e30", "loss<3", "", " ", "params>", "&", "params>1e8&loss<2"]),
            st.text(max_size=10),
        ),
        "--predict": st.one_of(st.sampled_from(["1e9", "-1", "0", "nan", "1e400", "1e-300", "1:2", ""]), numbers),
        "--loss": st.sampled_from(["huber", "squared", "asymmetric", "nope"]),
        "--residuals": st.sampled_from(["log", "linear", "x"]),
        "--per-group": st.sampled_from(["group", "params", "nope", "", " "]),
    }
    return special.get(name, numbers)


OPTIONS = ["--bootstrap", "--seed", "--fix", "--tie", "--holdout", "--predict", "--loss", "--delta", "--weight"]
OPTIONS += ["--residuals", "--per-group", "--json", "--nope"]


@st.composite
def fit_options(draw) -> list[str]:
    argv: list[str] = []
    for name in draw(st.lists(st.sampled_from(OPTIONS), max_size=5)):
        argv.append(name)
        if name not in ("--json", "--nope"):
            argv.append(draw(option_values(name)))
    return argv


@pytest.fixture(scope="module")
def grouped_csv(tmp_path_factory) -> str:
    rows = power_rows(8)
    path = tmp_path_factory.mktemp("fuzz") / "grouped.csv"
    lines = ["params,loss,group"] + [f"{p!r},{y!r},{'ab'[i % 2]}" for i, (p, y) in enumerate(zip(*rows.values()))]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@FUZZ
@given(argv=fit_options(), law=st.sampled_from(["power_params", "power_offset_params"]))
def test_fuzz_random_fit_options(grouped_csv, argv, law):
    assert_ends_cleanly(fit(grouped_csv, *argv, law=law))
