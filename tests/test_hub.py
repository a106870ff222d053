"""Hub pull/push against a loopback stand-in hub, and offline use of a prepared cache.

The stand-in (``tests/hub_standin.py``) is a small HTTP server on 127.0.0.1
implementing only what huggingface_hub calls for these functions; client code
runs in a fresh interpreter with ``HF_ENDPOINT`` pointing at it (and, for the
offline tests, ``HF_HUB_OFFLINE=1``).  Nothing leaves the loopback interface.
"""

from __future__ import annotations

import hashlib
import re
import socket
from pathlib import Path
from urllib.parse import urlparse

import polars as pl
import pytest
from conftest import ROOT
from hub_standin import MINI_REGISTRY, StandInHub, run_client, sweep_csv

from workbench.corpus import hub, read_table
from workbench.errors import WorkbenchError


@pytest.fixture
def hub_server():
    with StandInHub() as server:
        yield server


def test_pull_corpus_at_a_pinned_commit_and_at_a_branch(hub_server, tmp_path):
    v1 = hub_server.commit("team/corpus", {"sources.toml": MINI_REGISTRY.encode(), "team_sweep.csv": sweep_csv(4)})
    v2 = hub_server.commit("team/corpus", {"team_sweep.csv": sweep_csv(6)})
    out = run_client(
        f"""
        cache = "{tmp_path / "cache"}"
        old = hub.pull_corpus("team/corpus", "{v1}", cache_dir=cache)
        new = hub.pull_corpus("team/corpus", "main", cache_dir=cache)
        print(json.dumps({{"old": [old.commit, load(corpus=old.path).height, str(old.path)],
                           "new": [new.commit, load(corpus=new.path).height]}}))
    """,
        tmp_path,
        hub_server.endpoint,
    )
    assert out["old"][:2] == [v1, 4]
    assert out["new"] == [v2, 6]
    assert Path(out["old"][2]).is_relative_to(tmp_path / "cache")
    requests = [f"{m} {urlparse(p).path}" for m, p in hub_server.log]
    assert f"GET /api/datasets/team/corpus/tree/{v1}" in requests
    assert f"GET /datasets/team/corpus/resolve/{v1}/team_sweep.csv" in requests
    assert "GET /api/datasets/team/corpus/revision/main" in requests


def test_push_then_pull_a_users_runs_table(hub_server, tmp_path):
    user_file = tmp_path / "my_runs.csv"
    user_file.write_bytes(sweep_csv(5))
    before = user_file.read_bytes()
    out = run_client(
        f"""
        oid = hub.push_runs("{user_file}", "bob/sweep")
        table = hub.pull_runs("bob/sweep", oid, cache_dir="{tmp_path / "cache"}")
        print(json.dumps({{"oid": oid, "rows": table.height, "losses": table["value"].to_list()}}))
    """,
        tmp_path,
        hub_server.endpoint,
    )
    assert hub_server.files("bob/sweep")["runs.csv"] == before  # uploaded byte for byte
    # the same commit lists its sha256 in SHA256SUMS, in the format `sha256sum -c` checks
    assert hub_server.files("bob/sweep")["SHA256SUMS"] == f"{hashlib.sha256(before).hexdigest()}  runs.csv\n".encode()
    assert user_file.read_bytes() == before  # the user's file is never modified
    assert out["oid"] == hub_server.repos["bob/sweep"]["refs"]["main"]
    assert out["rows"] == 5 and out["losses"] == read_table(user_file)["value"].to_list()
    paths = [urlparse(p).path for _, p in hub_server.log]
    assert {
        "/api/repos/create",
        "/api/datasets/bob/sweep/preupload/main",
        "/api/datasets/bob/sweep/commit/main",
    } <= set(paths)


def test_pushing_an_invalid_table_fails_before_any_request(hub_server, tmp_path):
    bad = tmp_path / "runs.csv"
    bad.write_bytes(sweep_csv(3).replace(b",2.900,", b",oops,"))
    with pytest.raises(
        WorkbenchError, match=rf"{re.escape(str(bad))}: column 'value' row 2: 'oops' is not a valid number"
    ):
        hub.push_runs(bad, "bob/sweep")
    assert hub_server.log == []
    with pytest.raises(WorkbenchError, match="not a Hub repository id"):
        hub.push_runs(pl.DataFrame(), "not a repo")


def test_missing_repository_revision_and_file_are_explained(hub_server, tmp_path):
    sha = hub_server.commit("team/corpus", {"sources.toml": MINI_REGISTRY.encode(), "team_sweep.csv": sweep_csv(2)})
    out = run_client(
        f"""
        cache = "{tmp_path / "cache"}"
        msgs = []
        for call in (lambda: hub.pull("team/nothing", "main", cache_dir=cache),
                     lambda: hub.pull("team/corpus", "v9", cache_dir=cache),
                     lambda: hub.pull_runs("team/corpus", "{sha}", "runs.csv", cache_dir=cache),
                     lambda: hub.pull_corpus("team/corpus", "", cache_dir=cache)):
            try:
                call(); msgs.append("no error")
            except WorkbenchError as e:
                msgs.append(str(e))
        print(json.dumps({{"m": msgs}}))
    """,
        tmp_path,
        hub_server.endpoint,
    )["m"]
    assert "no dataset repository 'team/nothing'" in out[0]
    assert "has no revision 'v9'" in out[1]
    assert "no such file" in out[2]
    assert "needs a revision" in out[3]


def test_offline_pull_from_a_prepared_cache(hub_server, tmp_path):
    sha = hub_server.commit(
        "team/corpus",
        {"sources.toml": MINI_REGISTRY.encode(), "team_sweep.csv": sweep_csv(3), "runs.csv": sweep_csv(3)},
    )
    cache = tmp_path / "cache"
    run_client(
        f"""
        hub.pull("team/corpus", "main", cache_dir="{cache}")
        print(json.dumps({{}}))
    """,
        tmp_path,
        hub_server.endpoint,
    )
    seen = len(hub_server.log)
    out = run_client(
        f"""
        t = time.perf_counter()
        a = hub.pull_corpus("team/corpus", "{sha}", cache_dir="{cache}")
        b = hub.pull("team/corpus", "main", cache_dir="{cache}")
        runs = hub.pull_runs("team/corpus", "{sha}", cache_dir="{cache}")
        print(json.dumps({{"a": a.commit, "b": b.commit, "rows": load(corpus=a.path).height, "runs": runs.height,
                           "seconds": time.perf_counter() - t}}))
    """,
        tmp_path,
        hub_server.endpoint,
        offline=True,
    )
    assert out == {**out, "a": sha, "b": sha, "rows": 3, "runs": 3}
    assert out["seconds"] < 3
    assert len(hub_server.log) == seen  # offline: not a single request reached the hub


def test_offline_without_a_cache_fails_fast_and_says_what_to_do(hub_server, tmp_path):
    out = run_client(
        f"""
        t = time.perf_counter()
        try:
            hub.pull("team/corpus", "{"a" * 40}", cache_dir="{tmp_path / "empty"}")
            msg = "no error"
        except WorkbenchError as e:
            msg = str(e)
        print(json.dumps({{"msg": msg, "seconds": time.perf_counter() - t}}))
    """,
        tmp_path,
        hub_server.endpoint,
        offline=True,
    )
    assert out["seconds"] < 3
    assert "not in the local Hugging Face cache" in out["msg"] and "HF_HUB_OFFLINE" in out["msg"]
    assert "run the same call once with network access" in out["msg"]
    assert hub_server.log == []


def test_unreachable_hub_fails_fast_instead_of_retrying(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = run_client(
        f"""
        t = time.perf_counter()
        msgs = []
        for call in (lambda: hub.pull("team/corpus", "main", cache_dir="{tmp_path / "c"}"),
                     lambda: hub.push_runs("{ROOT / "datasets" / "bnsl_addition.csv"}", "bob/x")):
            try:
                call(); msgs.append("no error")
            except WorkbenchError as e:
                msgs.append(str(e))
        print(json.dumps({{"msgs": msgs, "seconds": time.perf_counter() - t}}))
    """,
        tmp_path,
        f"http://127.0.0.1:{port}",
    )
    assert out["seconds"] < 5
    assert all("does not answer" in m for m in out["msgs"]), out["msgs"]


def test_pull_arguments_are_checked_before_any_request():
    with pytest.raises(WorkbenchError, match="needs a revision"):
        hub.pull("team/corpus", "")
    with pytest.raises(WorkbenchError, match="not a Hub repository id"):
        hub.pull("corpus", "main")
