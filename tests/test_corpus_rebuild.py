"""Every committed table is a pure function of its pinned raw files.

Rebuilding from the shared reference copies must reproduce each table in
``datasets/`` byte for byte, with exactly the left-out counts the registry
declares; a tampered raw file, a registry that under-declares what a recipe
leaves out, or a derived file requested from the network all fail loudly.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from conftest import ROOT

from workbench.cli import main
from workbench.corpus import curate
from workbench.corpus.sources import get_source, sources
from workbench.errors import WorkbenchError

REFERENCE = Path(__file__).parents[1].parent / "shared" / "reference-data"
needs_reference = pytest.mark.skipif(
    not REFERENCE.is_dir(), reason="the shared reference data (../shared/reference-data) is not next to this checkout"
)
SOURCE_IDS = list(sources())


@needs_reference
@pytest.mark.parametrize("source_id", SOURCE_IDS)
def test_rebuild_reproduces_committed_table_byte_for_byte(source_id, tmp_path):
    report = curate.build_report(source_id, from_dir=REFERENCE, cache_dir=tmp_path / "cache")
    out = curate.write(report.frame, tmp_path / f"{source_id}.csv")
    committed = ROOT / "datasets" / f"{source_id}.csv"
    assert out.read_bytes() == committed.read_bytes()
    assert report.dropped == dict(get_source(source_id).dropped)


def _raw(source_id: str, repo_path: str) -> Path:
    raw = next(f for f in get_source(source_id).files if f.path == repo_path)
    return REFERENCE / raw.shared


def _csv_rows(path: Path) -> int:
    return pl.read_csv(path, infer_schema=False).height


@needs_reference
def test_row_accounting_rows_plus_left_out_equals_raw_records():
    """For sources with one row per raw record, rows + declared left-out = raw records."""

    def rows(sid):
        return pl.read_csv(ROOT / "datasets" / f"{sid}.csv", infer_schema=False).height

    def left_out(sid):
        return sum(n for _, n in get_source(sid).dropped)

    raw_counts = {
        "chinchilla_epoch": _csv_rows(_raw("chinchilla_epoch", "data/svg_extracted_data.csv")),
        "llama3_isoflops": _csv_rows(_raw("llama3_isoflops", "isoflops_points.csv")),
        "misfitting": _csv_rows(_raw("misfitting", "data/scaling_results.csv")),
        "open_athena_isoflops": _csv_rows(_raw("open_athena_isoflops", "data/isoflops/transform/isoflops.csv")),
        "bnsl_addition": _csv_rows(_raw("bnsl_addition", "four_digit_addition_test_loss.csv")),
        "porian_discrepancies": _csv_rows(_raw("porian_discrepancies", "isoflop_points.csv"))
        + _csv_rows(_raw("porian_discrepancies", "isoflop_optima.csv")),
        "quest_qat": len(json.loads(_raw("quest_qat", "for_plots/runs_for_scaling.json").read_text())),
        "quartet2_nvfp4": sum(
            len(v) for v in json.loads(_raw("quartet2_nvfp4", "for_plots/runs.json").read_text()).values()
        ),
    }
    for sid, n in raw_counts.items():
        assert rows(sid) + left_out(sid) == n, sid
    # gadre: 8 losses + 46 accuracies per run record, nothing left out
    n_models = sum(1 for f in get_source("gadre_overtraining").files if f.path.startswith("exp_data/models/"))
    assert rows("gadre_overtraining") == n_models * (8 + 46)


def _copy_reference(source_id: str, dest: Path) -> Path:
    for raw in get_source(source_id).files:
        target = dest / raw.shared
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REFERENCE / raw.shared, target)
    return dest


@needs_reference
def test_tampered_raw_file_fails_naming_the_file_and_hash(tmp_path):
    ref = _copy_reference("quest_qat", tmp_path / "ref")
    target = ref / get_source("quest_qat").files[0].shared
    data = bytearray(target.read_bytes())
    data[100] ^= 1
    target.write_bytes(bytes(data))
    with pytest.raises(WorkbenchError) as err:
        curate.build("quest_qat", from_dir=ref)
    assert str(target) in str(err.value) and "sha256" in str(err.value)


def test_missing_local_copy_names_the_file(tmp_path):
    with pytest.raises(WorkbenchError, match="no copy of for_plots/runs_for_scaling.json"):
        curate.build("quest_qat", from_dir=tmp_path)


def test_derived_file_is_never_fetched_from_the_network(tmp_path):
    """Files the reference collection converted are not in the repository: say so instead of downloading."""
    for sid in ("pythia_evals", "porian_discrepancies", "bnsl_addition"):
        with pytest.raises(WorkbenchError, match="--from DIR"):
            curate.fetch(get_source(sid), from_dir=None, cache_dir=tmp_path)


@needs_reference
def test_undeclared_left_out_rows_fail_the_rebuild(tmp_path, monkeypatch):
    copy = tmp_path / "datasets"
    shutil.copytree(ROOT / "datasets", copy)
    registry = copy / "sources.toml"
    text = registry.read_text()
    assert '"checkpoint rows of a run exported twice (identical block of rows)" = 2' in text
    registry.write_text(
        text.replace(
            '"checkpoint rows of a run exported twice (identical block of rows)" = 2',
            '"checkpoint rows of a run exported twice (identical block of rows)" = 1',
        )
    )
    monkeypatch.setenv("WORKBENCH_DATASETS", str(copy))
    with pytest.raises(WorkbenchError, match="registry declares"):
        curate.build("misfitting", from_dir=REFERENCE)


@needs_reference
def test_cli_curate_writes_the_same_table(tmp_path, capsys):
    code = main(["curate", "--from", str(REFERENCE), "--out", str(tmp_path), "--source", "quartet2_nvfp4"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "quartet2_nvfp4: 571 rows" in out
    assert (tmp_path / "quartet2_nvfp4.csv").read_bytes() == (ROOT / "datasets" / "quartet2_nvfp4.csv").read_bytes()
