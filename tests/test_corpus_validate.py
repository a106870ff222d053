"""Property tests of the validator: valid tables pass whole, every bad cell is named by column and row.

Tables are generated as text (as they are read from CSV): random valid
frames must validate without losing or altering a row; a single corrupted
cell must be reported with its column and 1-based data row; repeated
measurements name both rows; nothing is ever turned into a null silently.
"""

from __future__ import annotations

import math
import re

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.corpus import load, read_table, read_user_table, validate
from workbench.corpus.schema import BY_NAME, PARAMS_CONVENTIONS
from workbench.errors import WorkbenchError

PROVENANCE = {
    "paper": "arXiv:0000.00000",
    "backing": "Figure 1",
    "repository": "o/r",
    "source_commit": "0" * 40,
    "licence": "MIT",
}
POSITIVE_FLOATS = ["params", "tokens", "flops", "weight_bits"]

positive = st.floats(min_value=1e-3, max_value=1e24, allow_nan=False, allow_infinity=False)
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
words = st.text(
    alphabet=st.characters(whitelist_categories=("Ll", "Lu", "Nd"), whitelist_characters="-_./"),
    min_size=1,
    max_size=12,
)


@st.composite
def valid_tables(draw, max_rows=25):
    n = draw(st.integers(min_value=1, max_value=max_rows))
    rows = []
    for i in range(n):
        row = {
            "source_id": draw(words),
            "run_id": f"run-{i}",
            "eval_set": draw(words),
            "metric": draw(words),
            "value": repr(draw(finite)),
            **PROVENANCE,
        }
        for col in POSITIVE_FLOATS:
            row[col] = draw(st.one_of(st.just(""), positive.map(repr)))
        row["step"] = draw(st.one_of(st.just(""), st.integers(0, 10**9).map(str)))
        row["final"] = draw(st.sampled_from(["true", "false", "", "1", "0"]))
        row["params_convention"] = draw(st.sampled_from(["", *PARAMS_CONVENTIONS]))
        row["date"] = draw(st.one_of(st.just(""), st.dates().map(lambda d: d.isoformat())))
        rows.append(row)
    return pl.DataFrame(rows, schema={k: pl.String for k in rows[0]})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_tables())
def test_valid_tables_pass_whole_and_unchanged(df):
    out = validate(df, "t.csv")
    assert out.height == df.height
    for col in POSITIVE_FLOATS + ["value"]:
        for text, got in zip(df[col].to_list(), out[col].to_list()):
            assert (got is None) if text == "" else math.isclose(got, float(text), rel_tol=0, abs_tol=0)
    assert out["run_id"].to_list() == df["run_id"].to_list()
    assert out["final"].null_count() == sum(1 for v in df["final"].to_list() if v == "")


BAD = {
    "params": ["abc", "1e", "nan", "inf", "-5", "0", "1,5"],
    "tokens": ["12B", "NaN", "-1e9", "0.0"],
    "value": ["", "nan", "-inf", "x"],
    "step": ["1.5", "ten", "1e3"],
    "final": ["yes", "2", "maybe"],
    "date": ["2024-13-01", "24/01/2024", "yesterday"],
    "params_convention": ["kaplan", "embedding"],
    "run_id": [""],
}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_tables(), st.data())
def test_one_corrupted_cell_is_reported_with_its_column_and_row(df, data):
    column = data.draw(st.sampled_from(sorted(BAD)))
    bad = data.draw(st.sampled_from(BAD[column]))
    row = data.draw(st.integers(0, df.height - 1))
    corrupted = df.with_columns(
        pl.when(pl.int_range(pl.len()) == row).then(pl.lit(bad)).otherwise(pl.col(column)).alias(column)
    )
    with pytest.raises(WorkbenchError) as err:
        validate(corrupted, "runs.csv")
    message = str(err.value)
    assert message.startswith("runs.csv: ")
    assert f"column {column!r}" in message
    assert re.search(rf"\brow {row + 1}\b", message), message


@settings(max_examples=40, deadline=None)
@given(valid_tables(max_rows=10), st.data())
def test_a_repeated_measurement_names_both_rows(df, data):
    i = data.draw(st.integers(0, df.height - 1))
    doubled = pl.concat([df, df.slice(i, 1)])
    with pytest.raises(WorkbenchError, match=rf"rows {i + 1} and {df.height + 1} describe the same measurement"):
        validate(doubled, "t.csv")


def test_unknown_and_missing_columns_are_named():
    df = pl.DataFrame(
        {
            "source_id": ["s"],
            "run_id": ["r"],
            "eval_set": ["e"],
            "metric": ["loss"],
            "value": ["1"],
            **{k: [v] for k, v in PROVENANCE.items()},
        }
    )
    with pytest.raises(WorkbenchError, match="unknown column\\(s\\) 'lost'"):
        validate(df.with_columns(lost=pl.lit("1")), "t.csv")
    with pytest.raises(WorkbenchError, match="missing required column\\(s\\) 'metric'"):
        validate(df.drop("metric"), "t.csv")


def test_a_hand_edited_committed_table_fails_with_file_column_row(tmp_path):
    from conftest import ROOT

    lines = (ROOT / "datasets" / "quest_qat.csv").read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[5].split(",")
    cells[header.index("weight_bits")] = "four"
    lines[5] = ",".join(cells)
    path = tmp_path / "quest_qat.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        WorkbenchError, match=rf"{re.escape(str(path))}: column 'weight_bits' row 5: 'four' is not a valid number"
    ):
        read_table(path)


def test_committed_tables_load_every_line():
    """The loader keeps every data line of every committed table (nothing dropped on the way in)."""
    from conftest import ROOT

    from workbench.corpus.sources import sources

    for sid in sources():
        lines = sum(1 for _ in pl.read_csv(ROOT / "datasets" / f"{sid}.csv", infer_schema=False).iter_rows())
        assert load(sid).height == lines, sid


def test_user_table_in_billions_gets_a_unit_warning_and_nan_is_an_error(tmp_path):
    ok = tmp_path / "runs.csv"
    ok.write_text("N,D,L\n1e8,2,3.1\n4e8,8,2.9\n")
    table = read_user_table(ok, ["params", "tokens"], "loss")
    assert table.frame.height == 2
    assert any("'tokens' never exceeds 8" in n and "billions" in n for n in table.notes)
    bad = tmp_path / "nan.csv"
    bad.write_text("params,tokens,loss\n1e8,2e9,3.1\n4e8,8e9,nan\n")
    with pytest.raises(
        WorkbenchError, match=rf"{re.escape(str(bad))}: column 'loss' row 2: nan is not a finite number"
    ):
        read_user_table(bad, ["params", "tokens"], "loss")


def test_schema_documents_units_and_meaning_of_every_column():
    for name, col in BY_NAME.items():
        assert col.description, name
    for name in ("params", "tokens", "flops", "samples", "weight_bits", "block_size", "date"):
        assert BY_NAME[name].unit, name


def test_a_truncated_table_is_reported_at_its_last_row(tmp_path):
    from conftest import ROOT

    whole = (ROOT / "datasets" / "quest_qat.csv").read_bytes()
    cut = whole[: len(whole) // 2]
    last_row = cut.count(b"\n")  # data rows: the header line is row 0
    path = tmp_path / "partial.csv"
    path.write_bytes(cut)
    with pytest.raises(WorkbenchError, match=rf"{re.escape(str(path))}: column '\w+' row {last_row}: missing value"):
        read_table(path)
