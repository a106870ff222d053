"""A loopback stand-in for the Hugging Face Hub, shared by the hub tests.

The stand-in is a small HTTP server on 127.0.0.1 (a thread of the test
process) implementing only what huggingface_hub calls for the workbench's
pull and push, found by reading the library and logging its requests: the
repo tree listing, revision info, HEAD/GET of ``resolve`` URLs, repository
creation, the ``preupload`` query and the NDJSON ``commit``.  Client code runs
in a fresh interpreter (:func:`run_client`) with ``HF_ENDPOINT`` pointing at
the stand-in (and, for offline tests, ``HF_HUB_OFFLINE=1``), because
huggingface_hub reads both at import time.  Nothing leaves the loopback
interface.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

from conftest import ROOT


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
