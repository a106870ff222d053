"""Drive a notebook the way a student does: real JupyterLab, real (headless) Chromium.

``run_notebook_in_browser(path)``

1. copies the notebook's folder to a temporary working copy (the user's file is
   never touched) and starts JupyterLab there on a free loopback port, with a
   token, isolated ``JUPYTER_*`` dirs and every network feature switched off;
2. creates the kernel session through ``POST /api/sessions`` *before* the page
   opens, so no "Select Kernel" dialog can block "Run All";
3. opens the notebook in Debian's Chromium (Playwright, ``/usr/bin/chromium``),
   runs all cells via ``window.jupyterapp.commands.execute('notebook:run-all-cells')``
   (the server runs with ``expose_app_in_browser``) and waits, bounded, for
   execution to finish;
4. fails if any cell (or widget callback) raised, finds an ipywidgets slider,
   fingerprints the chart (``.vega-embed`` rendered by ``alt.JupyterChart``:
   serialized SVG or canvas pixels, plus an optional text readout), moves the
   slider with the keyboard (falls back to a mouse drag), and waits until the
   chart changes; screenshots go to ``artifacts/browser/<stem>-before.png`` /
   ``-after.png`` (``-failure.png`` when something times out);
5. always closes the browser and shuts the server and kernel down.

Every wait is bounded.  Failures raise :class:`BrowserHarnessError` (an
``AssertionError``) whose message says which stage failed and carries the
screenshot path, console errors, kernel errors and the tail of the server log.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ARTIFACTS_DIR = REPO_ROOT / "artifacts" / "browser"
CHROMIUM_PATH = os.environ.get("WORKBENCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",
]

#: ipywidgets 8 renders sliders with noUiSlider:
#: ``div.widget-slider > div.slider-container > div.slider.noUi-target ... div.noUi-handle[role=slider]``
DEFAULT_SLIDER_SELECTOR = ".jp-OutputArea-output .widget-slider"
SLIDER_HANDLE_SELECTOR = ".noUi-handle"
#: vega-embed adds ``class="vega-embed"`` to the anywidget element of ``alt.JupyterChart``
DEFAULT_CHART_SELECTOR = ".jp-OutputArea-output .vega-embed"

# Folders never copied into the temporary working copy.
_COPY_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "venv",
    "node_modules",
    "__pycache__",
    ".ipynb_checkpoints",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    "artifacts",
    "*.egg-info",
)

# Console messages that are noise in a healthy JupyterLab session.
DEFAULT_IGNORED_CONSOLE = (
    "favicon",
    "[Violation]",
    "DevTools",
)


class BrowserHarnessError(AssertionError):
    """A stage of the browser run failed (message says which, and why)."""


@dataclass(frozen=True)
class ChartState:
    """Fingerprint of the rendered chart (and optional readout) at one moment."""

    kind: str  # "svg", "canvas", "none" (element empty), "missing" (no element), "text" (readout only)
    digest: str  # sha256 of the serialized SVG / canvas data URL ("" when nothing rendered)
    marks: int  # SVG: number of data-mark items (g.role-mark > *); canvas: -1
    inked_pixels: int  # canvas: non-background pixels; SVG: -1
    width: int
    height: int
    readout: str | None = None  # text of readout_selector, if one was given

    @property
    def rendered(self) -> bool:
        if self.kind == "svg":
            return self.marks > 0
        if self.kind == "canvas":
            return self.inked_pixels > 0
        if self.kind == "text":
            return bool(self.readout)
        return False

    def same_as(self, other: ChartState) -> bool:
        return self.digest == other.digest and self.readout == other.readout


@dataclass
class BrowserResult:
    notebook: Path
    url: str
    before: ChartState
    after: ChartState
    slider_before: str | None
    slider_after: str | None
    slider_method: str  # "keyboard" or "drag"
    screenshot_before: Path
    screenshot_after: Path
    timings: dict[str, float] = field(default_factory=dict)
    console_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    code_cells: int = 0
    layout_after_run: list[str] = field(default_factory=list)  # layout problems a student would see (see check_layout)
    layout_after_slider: list[str] = field(default_factory=list)

    @property
    def chart_changed(self) -> bool:
        return not self.before.same_as(self.after)


# --------------------------------------------------------------------------- utils


class _Deadline:
    def __init__(self, seconds: float):
        self.start = time.monotonic()
        self.end = self.start + seconds

    def remaining(self, cap: float | None = None) -> float:
        left = max(0.5, self.end - time.monotonic())
        return min(left, cap) if cap is not None else left

    def ms(self, cap: float | None = None) -> float:
        return self.remaining(cap) * 1000.0

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.end


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, n: int = 40) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "<no server log>"
    return "\n".join(lines[-n:])


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def _error_key(text: str) -> str:
    lines = [ln.strip() for ln in _strip_ansi(text).splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def _format_errors(errors: Sequence[str], max_lines: int = 40) -> str:
    """ANSI-free, de-duplicated (same final line = same error), long tracebacks cut in the middle."""
    seen: set[str] = set()
    blocks: list[str] = []
    for err in errors:
        key = _error_key(err)
        if key in seen:
            continue
        seen.add(key)
        lines = _strip_ansi(err).rstrip().splitlines()
        if len(lines) > max_lines:
            lines = lines[:4] + [f"    ... ({len(lines) - max_lines + 4} lines cut) ..."] + lines[-(max_lines - 4) :]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


# ---------------------------------------------------------------------- the server


class JupyterLabServer:
    """JupyterLab on 127.0.0.1:<free port>, in ``root_dir``, fully isolated and offline."""

    def __init__(
        self,
        root_dir: Path,
        state_dir: Path,
        *,
        python: str | None = None,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 60.0,
    ):
        self.root_dir = Path(root_dir)
        self.state_dir = Path(state_dir)
        self.python = python or sys.executable
        self.extra_env = dict(env or {})
        self.startup_timeout = startup_timeout
        self.token = secrets.token_hex(24)
        self.port: int | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.state_dir / "jupyterlab.log"

    # -- config ---------------------------------------------------------------
    def _write_config(self) -> dict[str, str]:
        d = self.state_dir
        config_dir, runtime_dir, data_dir = d / "config", d / "runtime", d / "data"
        settings_dir, workspaces_dir, ipython_dir = d / "lab-settings", d / "workspaces", d / "ipython"
        for p in (config_dir, runtime_dir, data_dir, settings_dir, workspaces_dir, ipython_dir):
            p.mkdir(parents=True, exist_ok=True)
        # Server-side: no news feed, no update check, no PyPI extension manager.
        (config_dir / "jupyter_server_config.json").write_text(
            json.dumps(
                {
                    "LabApp": {
                        "news_url": None,
                        "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
                        "extension_manager": "readonly",
                        "expose_app_in_browser": True,
                        "user_settings_dir": str(settings_dir),
                        "workspaces_dir": str(workspaces_dir),
                    },
                    "ServerApp": {"terminals_enabled": False},
                },
                indent=1,
            )
        )
        # Front-end: drop the announcements plugin entirely.
        (config_dir / "labconfig").mkdir(exist_ok=True)
        (config_dir / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
        )
        # User settings: no news/update toasts; every cell attached to the DOM
        # (default windowing may detach off-screen cells, hiding their widgets).
        ext = settings_dir / "@jupyterlab"
        (ext / "apputils-extension").mkdir(parents=True, exist_ok=True)
        (ext / "apputils-extension" / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False})
        )
        (ext / "notebook-extension").mkdir(parents=True, exist_ok=True)
        (ext / "notebook-extension" / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
        env = dict(os.environ)
        env.pop("BROWSER", None)
        env.update(
            JUPYTER_CONFIG_DIR=str(config_dir),
            JUPYTER_RUNTIME_DIR=str(runtime_dir),
            JUPYTER_DATA_DIR=str(data_dir),
            IPYTHONDIR=str(ipython_dir),
            JUPYTER_PLATFORM_DIRS="1",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def _argv(self, port: int) -> list[str]:
        argv = [
            self.python,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.open_browser=False",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.root_dir}",
            f"--IdentityProvider.token={self.token}",
            "--LabApp.news_url=None",
            "--LabApp.expose_app_in_browser=True",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            argv.append("--allow-root")
        return argv

    # -- lifecycle ------------------------------------------------------------
    def start(self) -> None:
        env = self._write_config()
        last_error = ""
        for _attempt in range(3):  # a free port can be stolen between probe and bind
            port = _free_port()
            log = open(self.log_path, "ab")
            try:
                self.proc = subprocess.Popen(
                    self._argv(port),
                    cwd=str(self.root_dir),
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # own process group: kernels die with it
                )
            finally:
                log.close()
            self.port = port
            deadline = _Deadline(self.startup_timeout)
            while not deadline.expired:
                if self.proc.poll() is not None:
                    last_error = f"jupyter lab exited with {self.proc.returncode}"
                    break
                try:
                    self.api("GET", "/api/status", timeout=2)
                    return
                except (urllib.error.URLError, OSError, ValueError):
                    time.sleep(0.25)
            else:
                last_error = f"/api/status did not answer within {self.startup_timeout:.0f}s"
                self.stop()
                break
        raise BrowserHarnessError(
            f"[server] JupyterLab failed to start: {last_error}\n--- server log ---\n{_tail(self.log_path)}"
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, method: str, path: str, body: Any = None, timeout: float = 10) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def create_session(self, nb_rel_path: str, kernel_name: str = "python3") -> dict:
        return self.api(
            "POST",
            "/api/sessions",
            {"path": nb_rel_path, "name": Path(nb_rel_path).name, "type": "notebook", "kernel": {"name": kernel_name}},
            timeout=60,
        )

    def delete_session(self, session: Mapping[str, Any] | None = None) -> None:
        """Shut down ``session``'s kernel, and any other session the page opened (best effort)."""
        with contextlib.suppress(Exception):
            for s in self.api("GET", "/api/sessions", timeout=5) or []:
                if session is None or s["id"] == session.get("id") or s.get("path") == session.get("path"):
                    self.api("DELETE", f"/api/sessions/{s['id']}", timeout=15)

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        self.proc = None
        if proc.poll() is None:
            with contextlib.suppress(Exception):
                for s in self.api("GET", "/api/sessions", timeout=3) or []:
                    self.api("DELETE", f"/api/sessions/{s['id']}", timeout=10)
            with contextlib.suppress(Exception):
                self.api("POST", "/api/shutdown", timeout=5)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        # Whatever is left in *our* process group (server, kernels): TERM, then KILL.
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=wait)
            time.sleep(0.2)
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break


# ------------------------------------------------------------------ JS snippets

_JS_FIND_PANEL = """
(nbPath) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === nbPath && w.content && w.sessionContext) return w;
  }
  return null;
}
"""

_JS_PANEL_STATUS = (
    "(nbPath) => { const find = "
    + _JS_FIND_PANEL
    + """;
  const app = window.jupyterapp;
  if (!app) return {stage: 'no window.jupyterapp'};
  const p = find(nbPath);
  if (!p) return {stage: 'notebook panel not open'};
  if (!p.context.isReady) return {stage: 'document not loaded'};
  const sc = p.sessionContext;
  const k = sc.session && sc.session.kernel;
  if (!k) return {stage: 'no kernel attached'};
  return {stage: 'ok', kernel: k.status, connection: k.connectionStatus,
          kernelName: k.name, panelId: p.id, ready: sc.isReady};
}"""
)

_JS_START_RUN_ALL = (
    "(nbPath) => { const find = "
    + _JS_FIND_PANEL
    + """;
  const app = window.jupyterapp;
  const p = find(nbPath);
  app.shell.activateById(p.id);
  // Record every kernel error/stderr traceback, including ones raised later in
  // widget callbacks (those never reach a cell's output area).
  window.__wbKernelErrors = window.__wbKernelErrors || [];
  const k = p.sessionContext.session.kernel;
  if (!window.__wbHooked) {
    window.__wbHooked = true;
    k.iopubMessage.connect((_, msg) => {
      const t = msg.header.msg_type, c = msg.content || {};
      if (t === 'error') {
        window.__wbKernelErrors.push(`${c.ename}: ${c.evalue}\\n` + (c.traceback || []).join('\\n'));
      } else if (t === 'stream' && c.name === 'stderr' && /Traceback \\(most recent call last\\)/.test(c.text || '')) {
        window.__wbKernelErrors.push(c.text);
      }
    });
  }
  window.__wbRunAll = {done: false};
  app.commands.execute('notebook:run-all-cells').then(
    (r) => { window.__wbRunAll = {done: true, ok: r}; },
    (e) => { window.__wbRunAll = {done: true, error: String(e)}; });
  return true;
}"""
)

_JS_EXEC_STATE = (
    "(nbPath) => { const find = "
    + _JS_FIND_PANEL
    + """;
  const p = find(nbPath);
  if (!p) return {error: 'panel vanished'};
  const k = p.sessionContext.session && p.sessionContext.session.kernel;
  let busy = 0, code = 0, executed = 0;
  for (const node of p.node.querySelectorAll('.jp-CodeCell .jp-InputPrompt')) {
    if ((node.textContent || '').includes('*')) busy += 1;
  }
  const errors = [];
  for (const cell of p.content.model.cells) {
    if (cell.type !== 'code') continue;
    if (!(cell.sharedModel.getSource() || '').trim()) continue;
    code += 1;
    if (cell.executionCount !== null && cell.executionCount !== undefined) executed += 1;
    for (const out of cell.outputs.toJSON()) {
      if (out.output_type === 'error') {
        errors.push(`${out.ename}: ${out.evalue}\\n` + (out.traceback || []).join('\\n'));
      } else if (out.output_type === 'stream' && out.name === 'stderr') {
        const text = Array.isArray(out.text) ? out.text.join('') : (out.text || '');
        if (/Traceback \\(most recent call last\\)/.test(text)) errors.push(text);
      }
    }
  }
  // What a student actually sees: rendered stderr blocks holding a traceback.
  for (const el of p.node.querySelectorAll('.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]')) {
    const text = el.textContent || '';
    if (/Traceback/.test(text) && !errors.some((e) => e.includes(text.slice(0, 40)))) errors.push(text);
  }
  return {runAll: window.__wbRunAll || null, kernel: k ? k.status : 'none', busy, code, executed,
          errors, kernelErrors: window.__wbKernelErrors || []};
}"""
)

_JS_CHART_STATE = """
([sel, idx, readoutSel]) => {
  const charts = sel ? document.querySelectorAll(sel) : [];
  const readoutEl = readoutSel ? document.querySelector(readoutSel) : null;
  const readout = readoutEl ? (readoutEl.textContent || '').trim() : null;
  if (!sel) return {kind: 'text', content: readout || '', marks: -1, inked: -1, width: 0, height: 0,
                   readout, count: 0};
  const el = charts[idx];
  if (!el) return {kind: 'missing', count: charts.length, readout};
  const svg = el.querySelector(':scope > svg, :scope svg.marks');
  const canvas = el.querySelector(':scope > canvas, :scope canvas.marks');
  if (svg) {
    const marks = svg.querySelectorAll('g.role-mark > *').length;
    const r = svg.getBoundingClientRect();
    return {kind: 'svg', content: svg.outerHTML, marks, inked: -1,
            width: Math.round(r.width), height: Math.round(r.height), readout, count: charts.length};
  }
  if (canvas) {
    let inked = 0, content = '';
    try {
      content = canvas.toDataURL('image/png');
      const ctx = canvas.getContext('2d');
      const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3] > 0 && (d[i] < 245 || d[i + 1] < 245 || d[i + 2] < 245)) inked += 1;
      }
    } catch (e) { content = 'unreadable:' + e; }
    return {kind: 'canvas', content, marks: -1, inked, width: canvas.width, height: canvas.height,
            readout, count: charts.length};
  }
  return {kind: 'none', content: el.innerHTML.slice(0, 2000), marks: 0, inked: 0, width: 0, height: 0,
          readout, count: charts.length};
}
"""


#: What a student should never see after Run All or a slider move: an output or a code
#: cell wider than the notebook column (a horizontal scroll bar), or Python's raw repr of a
#: dict, a DataFrame or an object where a table or a sentence was meant.
_JS_LAYOUT_PROBLEMS = (
    "(nbPath) => { const find = "
    + _JS_FIND_PANEL
    + r""";
  const p = find(nbPath);
  if (!p) return ['panel vanished'];
  const problems = [];
  const cells = Array.from(p.node.querySelectorAll('.jp-Cell'));
  cells.forEach((cell, i) => {
    const where = `cell ${i + 1}`;
    for (const el of cell.querySelectorAll('.jp-OutputArea-output, .jp-InputArea-editor .cm-scroller')) {
      if (el.offsetParent === null) continue;  // hidden (e.g. a collapsed output)
      if (el.scrollWidth > el.clientWidth + 2) {
        const kind = el.classList.contains('cm-scroller') ? 'code' : 'output';
        problems.push(`${where}: ${kind} is ${el.scrollWidth} px wide in a ${el.clientWidth} px column`);
      }
    }
    for (const chart of cell.querySelectorAll('.jp-OutputArea-output .vega-embed')) {
      const out = chart.closest('.jp-OutputArea-output');
      const svg = chart.querySelector('svg.marks, canvas.marks') || chart;
      const c = svg.getBoundingClientRect(), o = out.getBoundingClientRect();
      if (c.width > 0 && c.right > o.right + 2) {
        const cut = Math.round(c.right - o.right);
        problems.push(`${where}: a chart is ${Math.round(c.width)} px wide; ${cut} px are cut off`);
      }
    }
    for (const el of cell.querySelectorAll('.jp-RenderedText')) {
      const text = el.textContent || '';
      const checks = [[/^\s*\{['"]/m, 'a dict repr'], [/shape: \(\d+, \d+\)/, 'a printed DataFrame'],
                      [/<[\w.]+ object at 0x[0-9a-f]+>/, 'an object repr'], [/\bDataFrame\(/, 'a DataFrame repr'],
                      [/^\s*(Figure|FitResult|ScalingTrend|Crossover)\(/m, 'a dataclass repr']];
      for (const [re, what] of checks) {
        if (re.test(text)) problems.push(`${where}: ${what} in the output: ${JSON.stringify(text.slice(0, 120))}`);
      }
    }
  });
  return problems;
}"""
)


def _to_state(raw: Mapping[str, Any]) -> ChartState:
    content = raw.get("content") or ""
    return ChartState(
        kind=raw.get("kind", "missing"),
        digest=hashlib.sha256(content.encode()).hexdigest() if content else "",
        marks=int(raw.get("marks", 0) or 0),
        inked_pixels=int(raw.get("inked", 0) or 0),
        width=int(raw.get("width", 0) or 0),
        height=int(raw.get("height", 0) or 0),
        readout=raw.get("readout"),
    )


# ----------------------------------------------------------------- the main entry


@contextlib.contextmanager
def jupyterlab_server(
    notebook_path: Path | str,
    *,
    copy_folder: bool = True,
    env: Mapping[str, str] | None = None,
    startup_timeout: float = 60.0,
    keep_tmp: bool = False,
) -> Iterator[tuple[JupyterLabServer, str]]:
    """Start JupyterLab on a temporary copy of the notebook's folder.

    Yields ``(server, notebook path relative to the server root)``; stops the
    server (and its kernels) and removes the copy on exit.
    """
    src = Path(notebook_path).resolve()
    if not src.is_file():
        raise FileNotFoundError(src)
    tmp = Path(tempfile.mkdtemp(prefix="wb-browser-"))
    try:
        work = tmp / "work" / (src.parent.name or "nb")
        if copy_folder:
            shutil.copytree(src.parent, work, ignore=_COPY_IGNORE, symlinks=True)
            if not (work / src.name).exists():  # e.g. the notebook itself matched an ignore pattern
                shutil.copy2(src, work / src.name)
        else:
            work.mkdir(parents=True)
            shutil.copy2(src, work / src.name)
        server = JupyterLabServer(work, tmp / "state", env=env, startup_timeout=startup_timeout)
        try:
            server.start()
            yield server, src.name
        finally:
            server.stop()
    finally:
        if not keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def shared_jupyterlab(
    folder: Path | str, *, env: Mapping[str, str] | None = None, startup_timeout: float = 90.0
) -> Iterator[JupyterLabServer]:
    """One JupyterLab server on a temporary copy of ``folder`` for many notebooks.

    Pass it as ``run_notebook_in_browser(..., server=...)``: each run opens its
    own kernel session and shuts it down, so starting the server (several
    seconds) is paid once per test session instead of once per notebook.
    """
    src = Path(folder).resolve()
    tmp = Path(tempfile.mkdtemp(prefix="wb-browser-shared-"))
    try:
        work = tmp / "work" / src.name
        shutil.copytree(src, work, ignore=_COPY_IGNORE, symlinks=True)
        server = JupyterLabServer(work, tmp / "state", env=env, startup_timeout=startup_timeout)
        try:
            server.start()
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_notebook_in_browser(
    notebook_path: Path | str,
    *,
    slider_index: int = 0,
    slider_selector: str = DEFAULT_SLIDER_SELECTOR,
    chart_selector: str | None = DEFAULT_CHART_SELECTOR,
    chart_index: int = 0,
    readout_selector: str | None = None,
    key: str = "ArrowRight",
    key_presses: int = 3,
    timeout: float = 240.0,
    run_timeout: float | None = None,
    change_timeout: float = 30.0,
    require_marks: bool = True,
    fail_on_console_errors: bool = True,
    ignore_console: Sequence[str] = (),
    block_external_requests: bool = True,
    fail_on_external_requests: bool = False,
    artifacts_dir: Path | str | None = None,
    copy_folder: bool = True,
    env: Mapping[str, str] | None = None,
    viewport: tuple[int, int] = (1400, 1000),
    check_layout: bool = True,
    server: JupyterLabServer | None = None,
) -> BrowserResult:
    """Open ``notebook_path`` in JupyterLab in headless Chromium, Run All, move a slider,
    and assert that the chart re-rendered differently.

    ``slider_index`` picks among elements matching ``slider_selector`` (ipywidgets
    sliders in output areas, in document order); ``chart_selector``/``chart_index``
    pick the chart whose change is awaited.  ``readout_selector`` (optional, CSS)
    names a text element whose text is part of the fingerprint — useful when a
    notebook shows a numeric readout next to the chart; with ``chart_selector=None``
    only that readout is compared.

    ``timeout`` is the overall budget in seconds; ``run_timeout`` caps Run All
    (defaults to what is left of ``timeout``); ``change_timeout`` caps the wait for
    the chart to change after the slider moved.

    ``check_layout`` fails the run when, after Run All or after the slider
    moved, an output or code cell is wider than the notebook column or an
    output shows a raw dict/DataFrame/object repr (``_JS_LAYOUT_PROBLEMS``).

    ``server`` reuses a running :func:`shared_jupyterlab` server whose root
    holds the notebook (its kernel is shut down at the end); without it a
    server is started on a copy of the notebook's folder and stopped after.

    Raises :class:`BrowserHarnessError` on any failure; returns a
    :class:`BrowserResult` otherwise.
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    if chart_selector is None and readout_selector is None:
        raise ValueError("give chart_selector and/or readout_selector: nothing to compare otherwise")
    notebook_path = Path(notebook_path)
    stem = notebook_path.stem
    out_dir = Path(artifacts_dir or os.environ.get("WORKBENCH_BROWSER_ARTIFACTS", DEFAULT_ARTIFACTS_DIR))
    out_dir.mkdir(parents=True, exist_ok=True)
    if out_dir == DEFAULT_ARTIFACTS_DIR and not (out_dir / ".gitignore").exists():
        (out_dir / ".gitignore").write_text("# screenshots from tests/browser/harness.py\n*\n")
    shot_before, shot_after = out_dir / f"{stem}-before.png", out_dir / f"{stem}-after.png"
    shot_failure = out_dir / f"{stem}-failure.png"
    for stale in (shot_before, shot_after, shot_failure):
        stale.unlink(missing_ok=True)

    deadline = _Deadline(timeout)
    timings: dict[str, float] = {}
    console_errors: list[str] = []
    external: list[str] = []
    ignored = tuple(DEFAULT_IGNORED_CONSOLE) + tuple(ignore_console)
    t0 = time.monotonic()

    def mark(name: str, since: float) -> float:
        now = time.monotonic()
        timings[name] = round(now - since, 2)
        return now

    if server is not None:
        if not (server.root_dir / notebook_path.name).is_file():
            raise BrowserHarnessError(f"{notebook_path.name} is not in the shared server's folder {server.root_dir}")
        serving = contextlib.nullcontext((server, notebook_path.name))
    else:
        serving = jupyterlab_server(
            notebook_path, copy_folder=copy_folder, env=env, startup_timeout=deadline.remaining(90)
        )
    layout_after_run: list[str] = []
    layout_after_slider: list[str] = []
    with serving as (server, nb_rel), contextlib.ExitStack() as cleanup:
        t = mark("server_start", t0)
        try:
            session = server.create_session(nb_rel)
        except Exception as exc:  # noqa: BLE001
            raise BrowserHarnessError(
                f"[session] POST /api/sessions failed: {exc}\n--- server log ---\n{_tail(server.log_path)}"
            ) from exc
        cleanup.callback(server.delete_session, session)  # a shared server keeps no idle kernel behind
        t = mark("kernel_session", t)
        # ?reset: start from an empty workspace, so no tab of an earlier test reopens (and starts a kernel)
        url = f"{server.base_url}/lab/tree/{urllib.parse.quote(nb_rel)}?reset&token={server.token}"
        profile = Path(tempfile.mkdtemp(prefix="wb-chromium-"))
        stage = "browser launch"
        page = None

        def fail(message: str, cause: BaseException | None = None) -> BrowserHarnessError:
            shot = "<no screenshot>"
            if page is not None:
                with contextlib.suppress(Exception):
                    page.screenshot(path=str(shot_failure), timeout=10_000)
                    shot = str(shot_failure)
            kernel_errors: list[str] = []
            if page is not None:
                with contextlib.suppress(Exception):
                    kernel_errors = page.evaluate("() => window.__wbKernelErrors || []")
            parts = [
                f"[{stage}] {message}",
                f"notebook: {notebook_path}",
                f"screenshot: {shot}",
                f"timings so far: {timings}",
            ]
            unseen = [e for e in kernel_errors if _error_key(e) not in message]
            if unseen:
                parts.append("kernel errors:\n" + _format_errors(unseen))
            if console_errors:
                parts.append("browser console errors:\n  " + "\n  ".join(console_errors[-20:]))
            if external:
                parts.append(
                    "blocked non-loopback requests (offline mode off? CDN import?):\n  " + "\n  ".join(external[:20])
                )
            if cause is not None:
                parts.append(f"cause: {type(cause).__name__}: {cause}")
            parts.append("--- server log (tail) ---\n" + _tail(server.log_path, 25))
            err = BrowserHarnessError("\n".join(parts))
            return err

        try:
            with sync_playwright() as pw:
                stage = "browser launch"
                context = pw.chromium.launch_persistent_context(
                    str(profile),
                    executable_path=CHROMIUM_PATH,
                    headless=True,
                    args=[a for a in CHROMIUM_ARGS if a != "--headless"],
                    viewport={"width": viewport[0], "height": viewport[1]},
                    timeout=deadline.ms(60),
                )
                try:
                    if block_external_requests:

                        def _route(route, request):  # noqa: ANN001
                            host = urllib.parse.urlsplit(request.url).hostname or ""
                            if host in ("127.0.0.1", "localhost", "::1"):
                                route.continue_()
                            else:
                                external.append(request.url)
                                route.abort()

                        context.route("**/*", _route)
                    page = context.pages[0] if context.pages else context.new_page()
                    page.set_default_timeout(30_000)

                    def _on_console(msg):  # noqa: ANN001
                        if msg.type == "error" and not any(s in msg.text for s in ignored):
                            console_errors.append(msg.text)

                    page.on("console", _on_console)
                    page.on("pageerror", lambda exc: console_errors.append(f"pageerror: {exc}"))
                    t = mark("browser_launch", t)

                    # ---- load the notebook -------------------------------------------------
                    stage = "page load"
                    page.goto(url, wait_until="domcontentloaded", timeout=deadline.ms(60))
                    try:
                        page.wait_for_function(
                            f"(() => {{ const s = ({_JS_PANEL_STATUS})({json.dumps(nb_rel)}); "
                            "return s.stage === 'ok' && s.kernel === 'idle' && s.connection === 'connected' "
                            "&& s.ready; })()",
                            timeout=deadline.ms(90),
                            polling=250,
                        )
                    except PlaywrightTimeout as exc:
                        status = None
                        with contextlib.suppress(Exception):
                            status = page.evaluate(_JS_PANEL_STATUS, nb_rel)
                        raise fail(f"notebook/kernel not ready; last status: {status}", exc) from exc
                    t = mark("page_load", t)

                    # ---- Run All -------------------------------------------------------------
                    stage = "run all"
                    page.evaluate(_JS_START_RUN_ALL, nb_rel)
                    run_budget = deadline.remaining(run_timeout)
                    try:
                        page.wait_for_function(
                            f"(() => {{ const s = ({_JS_EXEC_STATE})({json.dumps(nb_rel)}); "
                            "return s.runAll && s.runAll.done && s.busy === 0 && s.kernel === 'idle'; })()",
                            timeout=run_budget * 1000,
                            polling=250,
                        )
                    except PlaywrightTimeout as exc:
                        state = None
                        with contextlib.suppress(Exception):
                            state = page.evaluate(_JS_EXEC_STATE, nb_rel)
                        summary = state and {k: state[k] for k in ("runAll", "kernel", "busy", "code", "executed")}
                        raise fail(f"Run All did not finish within {run_budget:.0f}s; state: {summary}", exc) from exc
                    state = page.evaluate(_JS_EXEC_STATE, nb_rel)
                    code_cells = state["code"]
                    errors = state["errors"] + state["kernelErrors"]
                    if errors or (state["runAll"] or {}).get("ok") is False or state["executed"] < state["code"]:
                        detail = _format_errors(errors) or "(no traceback captured)"
                        raise fail(
                            f"cells raised during Run All ({state['executed']}/{state['code']} code cells "
                            f"executed, run-all result {state['runAll']}):\n{detail}"
                        )
                    t = mark("run_all", t)

                    # ---- widgets rendered ----------------------------------------------------
                    stage = "widget render"
                    sliders = page.locator(slider_selector)
                    try:
                        sliders.nth(slider_index).wait_for(state="attached", timeout=deadline.ms(30))
                    except PlaywrightTimeout as exc:
                        raise fail(
                            f"slider #{slider_index} matching {slider_selector!r} never appeared "
                            f"({sliders.count()} found)",
                            exc,
                        ) from exc
                    chart_args = [chart_selector, chart_index, readout_selector]

                    def chart_state() -> tuple[ChartState, dict]:
                        raw = page.evaluate(_JS_CHART_STATE, chart_args)
                        return _to_state(raw), raw

                    def wait_rendered(what: str, budget: float, not_like: ChartState | None = None) -> ChartState:
                        end = time.monotonic() + budget
                        last: ChartState | None = None
                        raw: dict = {}
                        stable_since = None
                        while time.monotonic() < end:
                            cur, raw = chart_state()
                            ok = cur.rendered or (not require_marks and cur.kind in ("svg", "canvas", "text"))
                            if ok and not_like is not None and cur.same_as(not_like):
                                ok = False
                            if ok and last is not None and cur.same_as(last):
                                stable_since = stable_since or time.monotonic()
                                if time.monotonic() - stable_since >= 0.4:
                                    return cur
                            else:
                                stable_since = None
                            last = cur
                            time.sleep(0.15)
                        info = {k: v for k, v in raw.items() if k != "content"}
                        if not_like is not None and last is not None and last.same_as(not_like):
                            msg = (
                                f"chart did not change within {budget:.0f}s after moving the slider "
                                f"(still {last.kind}, digest {last.digest[:12]}, readout {last.readout!r})"
                            )
                        else:
                            msg = (
                                f"{what}: chart {chart_selector!r}[{chart_index}] did not render a "
                                f"{'chart with marks' if require_marks else 'chart'} within {budget:.0f}s; "
                                f"last state {info}; content head: {(raw.get('content') or '')[:300]!r}"
                            )
                        raise fail(msg)

                    before = wait_rendered("before", deadline.remaining(30))
                    t = mark("widgets_render", t)
                    layout_after_run = page.evaluate(_JS_LAYOUT_PROBLEMS, nb_rel)
                    if check_layout and layout_after_run:
                        raise fail("what a student sees after Run All is broken:\n  " + "\n  ".join(layout_after_run))
                    slider = sliders.nth(slider_index)
                    handle = slider.locator(SLIDER_HANDLE_SELECTOR).first
                    with contextlib.suppress(Exception):
                        slider.scroll_into_view_if_needed(timeout=5_000)
                    scroll_target = page.locator(chart_selector).nth(chart_index) if chart_selector else slider
                    with contextlib.suppress(Exception):
                        scroll_target.scroll_into_view_if_needed(timeout=5_000)
                    page.screenshot(path=str(shot_before), timeout=15_000)

                    # ---- move the slider -----------------------------------------------------
                    stage = "slider"

                    def slider_value() -> str | None:
                        # The readout the student sees ("3"); else the handle's aria-valuenow ("3.0").
                        with contextlib.suppress(Exception):
                            readout = slider.locator(".widget-readout")
                            if readout.count():
                                text = readout.first.inner_text(timeout=2_000).strip()
                                if text:
                                    return text
                        with contextlib.suppress(Exception):
                            return handle.get_attribute("aria-valuenow", timeout=2_000)
                        return None

                    val_before = slider_value()
                    method = "keyboard"
                    handle.focus(timeout=10_000)
                    for _ in range(key_presses):
                        page.keyboard.press(key)
                        time.sleep(0.05)
                    val_after = slider_value()
                    if val_after == val_before:  # keyboard did nothing: drag like a mouse user
                        method = "drag"
                        track = slider.locator(".noUi-target").first
                        hb, tb = handle.bounding_box(), track.bounding_box()
                        if not hb or not tb:
                            raise fail("slider handle/track has no bounding box (hidden?)")
                        x0, y0 = hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2
                        direction = -1 if key in ("ArrowLeft", "ArrowDown", "PageDown", "Home") else 1
                        x1 = min(max(x0 + direction * tb["width"] * 0.3, tb["x"] + 1), tb["x"] + tb["width"] - 1)
                        page.mouse.move(x0, y0)
                        page.mouse.down()
                        page.mouse.move(x1, y0, steps=10)
                        page.mouse.up()
                        val_after = slider_value()
                        if val_after == val_before:
                            raise fail(f"slider value stayed {val_before!r} after keyboard and drag")
                    t = mark("slider_move", t)

                    stage = "chart update"
                    after = wait_rendered("after", deadline.remaining(change_timeout), not_like=before)
                    t = mark("chart_update", t)
                    with contextlib.suppress(Exception):
                        scroll_target.scroll_into_view_if_needed(timeout=5_000)
                    page.screenshot(path=str(shot_after), timeout=15_000)

                    # ---- post-interaction error checks ----------------------------------------
                    stage = "post-check"
                    time.sleep(0.3)
                    state = page.evaluate(_JS_EXEC_STATE, nb_rel)
                    errors = state["errors"] + state["kernelErrors"]
                    if errors:
                        raise fail("Python errors after moving the slider:\n" + _format_errors(errors))
                    if fail_on_console_errors and console_errors:
                        raise fail("browser console errors:\n  " + "\n  ".join(console_errors))
                    if fail_on_external_requests and external:
                        raise fail("page tried to reach the network:\n  " + "\n  ".join(external))
                    layout_after_slider = page.evaluate(_JS_LAYOUT_PROBLEMS, nb_rel)
                    if check_layout and layout_after_slider:
                        raise fail(
                            "what a student sees after moving the slider is broken:\n  "
                            + "\n  ".join(layout_after_slider)
                        )
                except BrowserHarnessError:
                    raise
                except (PlaywrightError, PlaywrightTimeout) as exc:
                    raise fail(f"browser automation error: {exc}", exc) from exc
                finally:
                    with contextlib.suppress(Exception):
                        context.close()
        except BrowserHarnessError:
            raise
        except (PlaywrightError, PlaywrightTimeout) as exc:
            raise fail(f"browser automation error: {exc}", exc) from exc
        finally:
            shutil.rmtree(profile, ignore_errors=True)
        timings["total"] = round(time.monotonic() - t0, 2)

    return BrowserResult(
        notebook=notebook_path,
        url=url.split("?")[0],
        before=before,
        after=after,
        slider_before=val_before,
        slider_after=val_after,
        slider_method=method,
        screenshot_before=shot_before,
        screenshot_after=shot_after,
        timings=timings,
        console_errors=console_errors,
        external_requests=external,
        code_cells=code_cells,
        layout_after_run=layout_after_run,
        layout_after_slider=layout_after_slider,
    )
