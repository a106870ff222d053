"""Hub pull/push against a loopback stand-in hub, and offline use of a prepared cache.

The stand-in is a small HTTP server on 127.0.0.1 (a thread of this test
process) implementing only what huggingface_hub calls for these functions,
found by reading the library and logging its requests: the repo tree listing,
revision info, HEAD/GET of ``resolve`` URLs, repository creation, the
``preupload`` query and the NDJSON ``commit``.  Client code runs in a fresh
interpreter with ``HF_ENDPOINT`` pointing at the stand-in (and, for the
offline tests, ``HF_HUB_OFFLINE=1``), because huggingface_hub reads both at
import time.  Nothing leaves the loopback interface.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

import polars as pl
import pytest
from conftest import ROOT

from workbench.corpus import hub, read_table
from workbench.errors import WorkbenchError


class StandInHub:
    """Dataset repositories in memory: refs -> commit -> {path: bytes}; every request is logged."""

    def __init__(self):
        self.repos: dict[str, dict] = {}
        self.log: list[tuple[str, str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def commit(self, repo_id: str, files: dict[str, bytes], branch: str = "main") -> str:
        repo = self.repos.setdefault(repo_id, {"refs": {}, "commits": {}})
        parent = repo["refs"].get(branch)
        tree = {**repo["commits"].get(parent, {}), **files}
        digest = json.dumps([parent, sorted((p, hashlib.sha1(b).hexdigest()) for p, b in tree.items())])
        sha = hashlib.sha1(digest.encode()).hexdigest()
        repo["commits"][sha], repo["refs"][branch] = tree, sha
        return sha

    def files(self, repo_id: str, rev: str = "main") -> dict[str, bytes]:
        repo = self.repos[repo_id]
        return repo["commits"][repo["refs"].get(rev, rev)]

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()


def _handler(hub_: StandInHub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send(self, code, body=b"", headers=None):
            if isinstance(body, (dict, list)):
                body, headers = json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})}
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def body(self) -> bytes:
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def resolve(self, repo_id, rev):
            repo = hub_.repos.get(repo_id)
            if repo is None:
                return None, None, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"}
            sha = repo["refs"].get(rev, rev if rev in repo["commits"] else None)
            if sha is None:
                return repo, None, {"error": "Invalid rev id"}, {"X-Error-Code": "RevisionNotFound"}
            return repo, sha, None, None

        def route(self):
            path, method = unquote(urlparse(self.path).path), self.command
            hub_.log.append((method, self.path))
            base = f"http://{self.headers['Host']}"
            if path == "/":
                return self.send(200, b"stand-in hub")
            if method == "GET" and (m := re.fullmatch(r"/api/datasets/([^/]+/[^/]+)/tree/([^/]+)", path)):
                repo, sha, err, hdr = self.resolve(*m.groups())
                if err:
                    return self.send(404, err, hdr)
                return self.send(
                    200,
                    [
                        {"type": "file", "oid": hashlib.sha1(b).hexdigest(), "size": len(b), "path": p}
                        for p, b in sorted(repo["commits"][sha].items())
                    ],
                )
            if method == "GET" and (m := re.fullmatch(r"/api/datasets/([^/]+/[^/]+)(?:/revision/([^/]+))?", path)):
                repo, sha, err, hdr = self.resolve(m.group(1), m.group(2) or "main")
                if err:
                    return self.send(404, err, hdr)
                return self.send(
                    200,
                    {
                        "id": m.group(1),
                        "sha": sha,
                        "siblings": [{"rfilename": p} for p in sorted(repo["commits"][sha])],
                    },
                )
            if method in ("GET", "HEAD") and (m := re.fullmatch(r"/datasets/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)):
                repo, sha, err, hdr = self.resolve(m.group(1), m.group(2))
                if err:
                    return self.send(404, err, hdr)
                data = repo["commits"][sha].get(m.group(3))
                if data is None:
                    return self.send(
                        404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": sha}
                    )
                return self.send(200, data, {"X-Repo-Commit": sha, "ETag": f'"{hashlib.sha1(data).hexdigest()}"'})
            if method == "POST" and path == "/api/repos/create":
                req = json.loads(self.body())
                repo_id = f"{req['organization'] or 'user'}/{req['name']}"
                if repo_id in hub_.repos:
                    return self.send(
                        409, {"error": "You already created this dataset repo", "url": f"{base}/datasets/{repo_id}"}
                    )
                hub_.commit(repo_id, {".gitattributes": b""})
                return self.send(200, {"url": f"{base}/datasets/{repo_id}"})
            if method == "POST" and (m := re.fullmatch(r"/api/datasets/([^/]+/[^/]+)/preupload/([^/]+)", path)):
                files = json.loads(self.body())["files"]
                return self.send(
                    200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]}
                )
            if method == "POST" and (m := re.fullmatch(r"/api/datasets/([^/]+/[^/]+)/commit/([^/]+)", path)):
                items = [json.loads(line) for line in self.body().splitlines() if line.strip()]
                files = {
                    i["value"]["path"]: base64.b64decode(i["value"]["content"]) for i in items if i["key"] == "file"
                }
                sha = hub_.commit(m.group(1), files, m.group(2))
                return self.send(200, {"commitUrl": f"{base}/datasets/{m.group(1)}/commit/{sha}", "commitOid": sha})
            return self.send(404, {"error": f"stand-in hub: no route for {method} {path}"})

        do_GET = do_HEAD = do_POST = route

    return Handler


def run_client(code: str, tmp_path: Path, endpoint: str, offline: bool = False) -> dict:
    """Run ``code`` in a fresh interpreter against ``endpoint``; it prints one JSON object last."""
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY") and not k.startswith("HF_")}
    env.update(
        {
            "HF_ENDPOINT": endpoint,
            "HF_HOME": str(tmp_path / "hf_home"),
            "HF_TOKEN": "hf_loopback_only",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "NO_PROXY": "127.0.0.1",
            "PYTHONPATH": str(ROOT),
        }
    )
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    prelude = "import json, time\nfrom workbench.corpus import hub, load\nfrom workbench.errors import WorkbenchError\n"
    proc = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


MINI_REGISTRY = """
[[source]]
id = "team_sweep"
title = "A team's shared sweep"
citation = "Our lab, internal sweep 2026"
arxiv = []
backing = "runs"
repository = "team/sweep"
commit = "0000000000000000000000000000000000000000"
licence = "CC-BY-4.0"
how_obtained = "raw logs"
caveats = []
files = []
"""


def sweep_csv(n: int, loss0: float = 3.0) -> bytes:
    rows = ["source_id,run_id,params,tokens,final,eval_set,metric,value,paper,backing,repository,source_commit,licence"]
    for i in range(n):
        rows.append(
            f"team_sweep,r{i},{1e7 * 2**i:.1f},{2e8 * 2**i:.1f},true,val,loss,{loss0 - 0.1 * i:.3f},"
            f"internal,runs,team/sweep,{'0' * 40},CC-BY-4.0"
        )
    return ("\n".join(rows) + "\n").encode()


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
