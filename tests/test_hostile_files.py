"""Files written safely, and nothing read from outside: planted links, hostile registries, tampered pulls.

Each test plants what an attacker (or an accident) could leave behind and
checks the property that matters: a file outside the output folder keeps its
bytes, a registry naming ``../../../outside`` is refused before anything is
read, a pulled file whose sha256 differs from the repository's
``SHA256SUMS`` is an error naming it, a branch resolves to a recorded commit,
and every refusal is one line (exit code 2 from the CLI, never a traceback).
Hub tests use the loopback stand-in of ``tests/hub_standin.py``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT
from hub_standin import MINI_REGISTRY, StandInHub, run_client, sweep_csv

from workbench import corpus
from workbench.cli import main
from workbench.corpus import curate, hub
from workbench.corpus.proxy_sources import load_preset
from workbench.corpus.recipes import Curated
from workbench.corpus.sources import sources
from workbench.errors import WorkbenchError

TABLE = ROOT / "datasets" / "bnsl_addition.csv"  # a committed table, written back unchanged by curate.write
SECRET = b"not yours to overwrite\n"


@pytest.fixture
def canned_curation(monkeypatch):
    """``curate`` without the raw files: the recipe step returns the committed bnsl_addition table."""
    frame = corpus.read_table(TABLE)
    monkeypatch.setattr(curate, "build_report", lambda source_id, from_dir=None, cache_dir=None: Curated(frame, {}))
    return frame


@pytest.fixture
def hub_server():
    with StandInHub() as server:
        yield server


def _one_line_error(code: int, err: str, *needles: str) -> str:
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _curate(out: Path, capsys) -> tuple[int, str, str]:
    code = main(["curate", "--out", str(out), "--source", "bnsl_addition"])
    printed, err = capsys.readouterr()
    return code, printed, err


# --- curate: writing -------------------------------------------------------------------------------------------------


def test_planted_part_link_changes_nothing(tmp_path, canned_curation, capsys):
    """The old fixed temporary name, linked to another file: the write goes elsewhere and that file keeps its bytes."""
    victim = tmp_path / "victim.txt"
    victim.write_bytes(SECRET)
    out = tmp_path / "out"
    out.mkdir()
    (out / "bnsl_addition.csv.part").symlink_to(victim)
    code, printed, err = _curate(out, capsys)
    assert code == 0, err
    assert victim.read_bytes() == SECRET
    written = out / "bnsl_addition.csv"
    assert not written.is_symlink() and written.read_bytes() == TABLE.read_bytes()
    assert os.readlink(out / "bnsl_addition.csv.part") == str(victim)  # the planted link itself is left alone
    assert sorted(p.name for p in out.iterdir()) == ["bnsl_addition.csv", "bnsl_addition.csv.part"]  # no temp left
    assert f"-> {written}" in printed


def test_temporary_names_are_fresh_each_time(tmp_path, canned_curation):
    """Links planted at every name the writer used last time do not matter: each write picks a new name."""
    victim = tmp_path / "victim.txt"
    victim.write_bytes(SECRET)
    seen: list[str] = []
    real_mkstemp = tempfile.mkstemp

    def spy(*args, **kwargs):
        fd, name = real_mkstemp(*args, **kwargs)
        seen.append(name)
        return fd, name

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tempfile, "mkstemp", spy)
        curate.write(canned_curation, tmp_path / "t.csv")
        for name in seen:
            Path(name).symlink_to(victim)  # plant the previous temporary name
        curate.write(canned_curation, tmp_path / "t.csv")
    assert len(seen) == 2 and seen[0] != seen[1] and Path(seen[0]).parent == tmp_path
    assert victim.read_bytes() == SECRET and (tmp_path / "t.csv").read_bytes() == TABLE.read_bytes()


def test_destination_that_is_a_link_is_refused_not_followed(tmp_path, canned_curation, capsys):
    victim = tmp_path / "victim.csv"
    victim.write_bytes(SECRET)
    out = tmp_path / "out"
    out.mkdir()
    (out / "bnsl_addition.csv").symlink_to(victim)
    with pytest.raises(WorkbenchError, match=r"bnsl_addition\.csv is a symbolic link .*refusing to write through it"):
        curate.write(canned_curation, out / "bnsl_addition.csv")
    code, _, err = _curate(out, capsys)
    _one_line_error(code, err, str(out / "bnsl_addition.csv"), "symbolic link")
    assert victim.read_bytes() == SECRET
    assert (out / "bnsl_addition.csv").is_symlink() and [p.name for p in out.iterdir()] == ["bnsl_addition.csv"]


def test_out_that_is_a_file_is_one_line_exit_2(tmp_path, canned_curation, capsys):
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_bytes(SECRET)
    code, _, err = _curate(not_a_folder, capsys)
    _one_line_error(code, err, str(not_a_folder), "is a file, not a folder")
    code, _, err = _curate(not_a_folder / "sub", capsys)
    _one_line_error(code, err, str(not_a_folder / "sub"), "is a file")
    assert not_a_folder.read_bytes() == SECRET


def test_out_that_is_a_folder_named_like_the_table_is_one_line(tmp_path, canned_curation, capsys):
    (tmp_path / "bnsl_addition.csv").mkdir()
    code, _, err = _curate(tmp_path, capsys)
    _one_line_error(code, err, "bnsl_addition.csv is a folder")


NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def _as_nobody(code: str, home: Path) -> subprocess.CompletedProcess | None:
    """Run ``python -c code`` as user 'nobody' (from root); ``None`` if this machine cannot."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "PYTHONPATH": str(ROOT)}
    if shutil.which("setpriv") is None:
        return None
    probe = [*NOBODY, sys.executable, "-c", "import workbench.cli"]
    if subprocess.run(probe, cwd=ROOT, env=env, capture_output=True).returncode != 0:
        return None
    return subprocess.run(
        [*NOBODY, sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_read_only_out_folder_is_one_line_exit_2(canned_curation, capsys):
    """chmod 555 stops writes for everyone but root; as root the CLI runs in a child as user 'nobody' (setpriv)."""
    base = Path(tempfile.mkdtemp(prefix="wb-readonly-"))  # not under pytest's private tmp: 'nobody' must reach it
    try:
        base.chmod(0o755)
        out = base / "out"
        out.mkdir()
        out.chmod(0o555)
        if os.geteuid() != 0:
            code, _, err = _curate(out, capsys)
        else:
            proc = _as_nobody(
                textwrap.dedent(
                    f"""
                    import sys
                    from workbench import corpus
                    from workbench.cli import main
                    from workbench.corpus import curate
                    from workbench.corpus.recipes import Curated
                    frame = corpus.read_table({str(TABLE)!r})
                    curate.build_report = lambda source_id, from_dir=None, cache_dir=None: Curated(frame, {{}})
                    sys.exit(main(["curate", "--out", {str(out)!r}, "--source", "bnsl_addition"]))
                    """
                ),
                base,
            )
            if proc is None:
                pytest.skip("running as root (chmod does not stop root) and cannot run this interpreter as 'nobody'")
            code, err = proc.returncode, proc.stderr
        _one_line_error(code, err, str(out / "bnsl_addition.csv"), f"the output folder {out} is not writable")
        assert list(out.iterdir()) == []  # nothing half-written left behind
    finally:
        (base / "out").chmod(0o755)
        shutil.rmtree(base)


# --- registries: nothing read from outside ---------------------------------------------------------------------------


def _registry(source_id: str, files: str = "files = []") -> str:
    return MINI_REGISTRY.replace('id = "team_sweep"', f"id = {source_id}").replace("files = []", files)


def _corpus_with_outside_file(tmp_path: Path) -> tuple[Path, Path]:
    """A corpus folder three levels down, and ``outside.csv`` where ``../../../outside`` would point."""
    root = tmp_path / "a" / "b" / "c"
    root.mkdir(parents=True)
    outside = tmp_path / "outside.csv"
    outside.write_bytes(sweep_csv(3).replace(b"team_sweep,", b"../../../outside,"))
    return root, outside


@pytest.mark.parametrize(
    "bad_id",
    ['"../../../outside"', '".."', '"a/b"', '"/etc/passwd"', '"Team_Sweep"', '""', '"x..y"', '"-x"', "5"],
)
def test_source_ids_that_are_not_plain_names_are_refused(tmp_path, bad_id):
    root, outside = _corpus_with_outside_file(tmp_path)
    (root / "sources.toml").write_text(_registry(bad_id))
    before = outside.read_bytes()
    with pytest.raises(WorkbenchError, match=r"sources\.toml: source id .* is not allowed"):
        sources(root)
    with pytest.raises(WorkbenchError, match="is not allowed"):
        corpus.load(corpus=root)
    assert outside.read_bytes() == before


@pytest.mark.parametrize("field", ["path", "shared"])
@pytest.mark.parametrize("value", ["../../x.csv", "/etc/passwd", "a/../../x", "C:/x"])
def test_raw_file_paths_must_stay_inside_their_folder(tmp_path, field, value):
    entry = {"path": "data.csv", "shared": "ref/data.csv", field: value}
    files = f'files = [{{ path = "{entry["path"]}", sha256 = "{"0" * 64}", shared = "{entry["shared"]}" }}]'
    (tmp_path / "sources.toml").write_text(_registry('"team_sweep"', files))
    with pytest.raises(WorkbenchError, match="must be a relative path inside its folder"):
        sources(tmp_path)


def test_a_source_listed_twice_is_refused(tmp_path):
    (tmp_path / "sources.toml").write_text(_registry('"team_sweep"') + _registry('"team_sweep"'))
    with pytest.raises(WorkbenchError, match="'team_sweep' is listed twice"):
        sources(tmp_path)


def test_a_table_that_links_outside_the_corpus_is_not_read(tmp_path):
    root, outside = _corpus_with_outside_file(tmp_path)
    (root / "sources.toml").write_text(_registry('"team_sweep"'))
    (root / "team_sweep.csv").symlink_to(outside)
    with pytest.raises(WorkbenchError, match=r"team_sweep\.csv leads outside .* resolves to .*outside\.csv"):
        corpus.load(corpus=root)
    (root / "team_sweep.csv").unlink()
    (root / "team_sweep.csv").write_bytes(sweep_csv(3))
    assert corpus.load(corpus=root).height == 3  # the same corpus with a real file loads


@pytest.mark.parametrize("preset", ["../../../outside", "../sources", "/etc/passwd", "quick/../smoke"])
def test_proxy_presets_are_plain_names(preset):
    with pytest.raises(WorkbenchError, match="preset .* is not allowed"):
        load_preset(preset)
    assert load_preset("smoke").height > 0


# --- hub: ids, pins, manifests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("repo_id", ["..", "../..", "team/..", "../team", "a/b--c", "team/x.git", "a/.b", "a/b/c", ""])
def test_invalid_repo_ids_are_refused_before_any_request(hub_server, repo_id, capsys):
    with pytest.raises(WorkbenchError, match="is not a Hub repository id"):
        hub.pull(repo_id, "main")
    with pytest.raises(WorkbenchError, match="is not a Hub repository id"):
        hub.pull_runs(repo_id, "main")
    with pytest.raises(WorkbenchError, match="is not a Hub repository id"):
        hub.push_runs(TABLE, repo_id)
    code = main(["hub", "pull", repo_id, "--revision", "main"])
    _one_line_error(code, capsys.readouterr().err, "is not a Hub repository id")
    assert hub_server.log == []


@pytest.mark.parametrize("revision", ["../../../etc", "/main", "a//b", "main/", "..", "-x", "a b"])
def test_revisions_that_are_paths_are_refused(revision):
    with pytest.raises(WorkbenchError, match="is not a revision of team/corpus"):
        hub.pull("team/corpus", revision)


def test_file_names_outside_the_repository_are_refused():
    with pytest.raises(WorkbenchError, match="must be a relative path inside its folder"):
        hub.pull_runs("team/corpus", "main", "../../runs.csv")


@pytest.mark.parametrize(
    ("name", "message"),
    [("../runs.csv", "must be a relative path"), ("a\nb.csv", "must be a relative path"), ("SHA256SUMS", "manifest")],
)
def test_push_refuses_names_that_leave_the_repository_or_overwrite_the_manifest(hub_server, name, message):
    frame = corpus.read_table(TABLE)
    with pytest.raises(WorkbenchError, match=message):
        hub.push_runs(frame, "bob/sweep", path_in_repo=name)
    assert hub_server.log == []


def test_a_huggingface_validation_error_becomes_one_line():
    from huggingface_hub.errors import HFValidationError

    err = hub._explain(HFValidationError("Repo id must use alphanumeric chars\nmore"), "pull", "a/b", "main")
    assert isinstance(err, WorkbenchError) and str(err) == (
        "cannot pull a/b@main: huggingface_hub refuses the request: Repo id must use alphanumeric chars"
    )


def _manifest(files: dict[str, bytes]) -> bytes:
    return "".join(f"{hashlib.sha256(b).hexdigest()}  {name}\n" for name, b in sorted(files.items())).encode()


def test_a_branch_or_tag_resolves_to_the_commit_it_names_and_that_commit_is_recorded(hub_server, tmp_path):
    first = hub_server.commit("team/corpus", {"sources.toml": MINI_REGISTRY.encode(), "team_sweep.csv": sweep_csv(3)})
    tag = hub_server.commit(
        "team/corpus", {"sources.toml": MINI_REGISTRY.encode(), "team_sweep.csv": sweep_csv(4)}, branch="v1.0"
    )
    head = hub_server.commit("team/corpus", {"team_sweep.csv": sweep_csv(5)})
    out = run_client(
        f"""
        import contextlib, io
        from workbench.cli import main
        cache = "{tmp_path / "cache"}"
        got = {{r: hub.pull_corpus("team/corpus", r, cache_dir=cache) for r in ("main", "v1.0", "{first}")}}
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            code = main(["hub", "pull", "team/corpus", "--revision", "main"])
        print(json.dumps({{"pulled": {{r: [p.commit, p.revision, p.pin, load(corpus=p.path).height]
                                     for r, p in got.items()}},
                           "cli": [code, json.loads(buf.getvalue())]}}))
    """,
        tmp_path,
        hub_server.endpoint,
    )
    assert out["pulled"]["main"] == [head, "main", f"team/corpus@{head}", 5]
    assert out["pulled"]["v1.0"] == [tag, "v1.0", f"team/corpus@{tag}", 4]
    assert out["pulled"][first] == [first, first, f"team/corpus@{first}", 3]
    code, printed = out["cli"]
    assert code == 0 and printed["revision"] == "main" and printed["commit"] == head


def test_hostile_registry_in_a_pulled_corpus_reads_nothing_outside(hub_server, tmp_path):
    registry = _registry('"../../../outside"').encode()
    hub_server.commit("team/evil", {"sources.toml": registry, "SHA256SUMS": _manifest({"sources.toml": registry})})
    cache = tmp_path / "cache"
    cache.mkdir()
    # where '../../../outside.csv' points from the snapshot folder <cache>/datasets--team--evil/snapshots/<commit>
    (cache / "outside.csv").write_bytes(sweep_csv(3).replace(b"team_sweep,", b"../../../outside,"))
    out = run_client(
        f"""
        try:
            hub.pull_corpus("team/evil", "main", cache_dir="{cache}"); msg = "no error"
        except WorkbenchError as e:
            msg = str(e)
        print(json.dumps({{"msg": msg}}))
    """,
        tmp_path,
        hub_server.endpoint,
    )
    assert "source id '../../../outside' is not allowed" in out["msg"] and "sources.toml" in out["msg"]


def test_push_lists_sha256_and_a_file_changed_afterwards_is_refused(hub_server, tmp_path):
    user_file = tmp_path / "my_runs.csv"
    user_file.write_bytes(sweep_csv(5))
    out = run_client(
        f"""
        first = hub.push_runs("{user_file}", "bob/sweep")
        second = hub.push_runs("{user_file}", "bob/sweep", path_in_repo="copy.csv")
        print(json.dumps({{"rows": hub.pull_runs("bob/sweep", second, cache_dir="{tmp_path / "c1"}").height}}))
    """,
        tmp_path,
        hub_server.endpoint,
    )
    assert out["rows"] == 5
    files = hub_server.files("bob/sweep")
    assert files["SHA256SUMS"] == _manifest({"runs.csv": user_file.read_bytes(), "copy.csv": user_file.read_bytes()})
    # someone edits runs.csv on the Hub without the workbench: the manifest no longer vouches for it
    hub_server.commit("bob/sweep", {"runs.csv": sweep_csv(5, loss0=9.0)})
    hub_server.commit("bob/sweep", {"extra.csv": sweep_csv(2)})
    out = run_client(
        f"""
        msgs = []
        for name in ("runs.csv", "extra.csv", "copy.csv"):
            try:
                msgs.append(hub.pull_runs("bob/sweep", "main", name, cache_dir="{tmp_path / "c2"}").height)
            except WorkbenchError as e:
                msgs.append(str(e))
        try:
            hub.pull("bob/sweep", "main", cache_dir="{tmp_path / "c3"}"); msgs.append("no error")
        except WorkbenchError as e:
            msgs.append(str(e))
        print(json.dumps({{"m": msgs}}))
    """,
        tmp_path,
        hub_server.endpoint,
    )["m"]
    assert "runs.csv: sha256 " in out[0] and "does not match" in out[0] and "SHA256SUMS" in out[0]
    assert "extra.csv is not listed in SHA256SUMS" in out[1]
    assert out[2] == 5  # the untouched file still verifies
    assert "runs.csv: sha256 " in out[3] and "does not match" in out[3]


def test_a_corpus_tampered_in_the_local_cache_is_refused_offline(hub_server, tmp_path):
    files = {"sources.toml": MINI_REGISTRY.encode(), "team_sweep.csv": sweep_csv(4)}
    sha = hub_server.commit("team/corpus", {**files, "SHA256SUMS": _manifest(files)})
    cache = tmp_path / "cache"
    out = run_client(
        f"""
        p = hub.pull_corpus("team/corpus", "main", cache_dir="{cache}")
        print(json.dumps({{"verified": list(p.verified), "path": str(p.path)}}))
    """,
        tmp_path,
        hub_server.endpoint,
    )
    assert out["verified"] == ["sources.toml", "team_sweep.csv"]
    snapshot = Path(out["path"])
    if shutil.which("sha256sum"):  # the manifest is the plain sha256sum format
        check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=snapshot, capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
    blob = (snapshot / "team_sweep.csv").resolve()
    blob.write_bytes(sweep_csv(4, loss0=1.0))  # still a valid table, so only the hash can tell
    seen = len(hub_server.log)
    out = run_client(
        f"""
        try:
            hub.pull_corpus("team/corpus", "{sha}", cache_dir="{cache}"); msg = "no error"
        except WorkbenchError as e:
            msg = str(e)
        print(json.dumps({{"msg": msg}}))
    """,
        tmp_path,
        hub_server.endpoint,
        offline=True,
    )
    assert out["msg"].startswith(f"team/corpus@{sha[:10]}/team_sweep.csv: sha256 ")
    assert "does not match" in out["msg"] and "local cache" in out["msg"]
    assert len(hub_server.log) == seen  # offline: checked without a single request


def test_a_corpus_whose_manifest_omits_a_table_is_refused(hub_server, tmp_path):
    files = {"sources.toml": MINI_REGISTRY.encode(), "team_sweep.csv": sweep_csv(4)}
    hub_server.commit("team/corpus", {**files, "SHA256SUMS": _manifest({"sources.toml": files["sources.toml"]})})
    out = run_client(
        f"""
        try:
            hub.pull_corpus("team/corpus", "main", cache_dir="{tmp_path / "cache"}"); msg = "no error"
        except WorkbenchError as e:
            msg = str(e)
        print(json.dumps({{"msg": msg}}))
    """,
        tmp_path,
        hub_server.endpoint,
    )
    assert "team_sweep.csv is not listed in SHA256SUMS, so it cannot be verified" in out["msg"]


def test_a_partly_cached_revision_is_completed_online_and_explained_offline(hub_server, tmp_path):
    """pull_runs caches one file of a commit; a later pull of the whole commit must not pass off that part as all."""
    files = {"sources.toml": MINI_REGISTRY.encode(), "team_sweep.csv": sweep_csv(4), "runs.csv": sweep_csv(3)}
    sha = hub_server.commit("team/corpus", {**files, "SHA256SUMS": _manifest(files)})
    code = f"""
        msgs = []
        hub.pull_runs("team/corpus", "{sha}", cache_dir=CACHE)
        try:
            msgs.append(list(hub.pull("team/corpus", "{sha}", cache_dir=CACHE).verified))
        except WorkbenchError as e:
            msgs.append(str(e))
        print(json.dumps({{"m": msgs}}))
    """
    online = run_client(code.replace("CACHE", repr(str(tmp_path / "c1"))), tmp_path, hub_server.endpoint)["m"]
    assert online == [["runs.csv", "sources.toml", "team_sweep.csv"]]
    run_client(
        f"hub.pull_runs('team/corpus', '{sha}', cache_dir={str(tmp_path / 'c2')!r}); print('{{}}')",
        tmp_path,
        hub_server.endpoint,
    )
    offline = run_client(
        code.replace("CACHE", repr(str(tmp_path / "c2"))), tmp_path, hub_server.endpoint, offline=True
    )["m"]
    assert "is listed in SHA256SUMS but missing from the local snapshot" in offline[0]
    assert "pull it once with network access" in offline[0]
