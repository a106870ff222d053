"""Binder gives a user about 2 GB, so the image repo2docker builds must keep kernels few.

What is checked is what the image gets: repo2docker renders the Dockerfile (no Docker
involved, as in test_packaging.py), and the ``binder/postBuild`` that it runs is run for
real into a scratch prefix standing for the image's ``NB_PYTHON_PREFIX`` (its pip install
is recorded, not run).  The settings it installs are then read back with Jupyter's own
loaders, and in one browser test a real JupyterLab is started on them alone:

* idle kernels are culled (after 15 min, even with their notebook open in a tab);
* loading JupyterLab does not reopen a saved workspace's notebooks and start a kernel
  for each, and closing a notebook's tab shuts its kernel down;
* JupyterLab's news pop-up is off.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT
from test_packaging import _render_binder_dockerfile

if str(ROOT) not in sys.path:  # for tests.browser.harness; `pytest` (unlike `python -m pytest`) does not add the cwd
    sys.path.insert(0, str(ROOT))

NEWS_QUESTION = "official Jupyter news"  # from JupyterLab's "Would you like to get notified about ..." toast


@pytest.fixture(scope="module")
def dockerfile(tmp_path_factory) -> str:
    pytest.importorskip("repo2docker")
    proc = _render_binder_dockerfile(tmp_path_factory.mktemp("r2d"))
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> tuple[Path, str]:
    """(prefix, pip calls) after running binder/postBuild with a stand-in ``python`` on PATH."""
    tmp = tmp_path_factory.mktemp("image")
    prefix, shims, calls = tmp / "notebook-env", tmp / "bin", tmp / "python-calls.txt"
    shims.mkdir()
    shim = shims / "python"
    shim.write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\n')
    shim.chmod(0o755)
    calls.touch()
    env = dict(os.environ, NB_PYTHON_PREFIX=str(prefix), PATH=f"{shims}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(
        ["bash", str(ROOT / "binder" / "postBuild")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return prefix, calls.read_text()


@pytest.fixture(scope="module")
def server_config(image, tmp_path_factory):
    """The configuration a Jupyter server started in the image loads (its own loader, its own search path)."""
    from jupyter_server.serverapp import ServerApp

    prefix, _ = image
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_CONFIG_PATH", str(prefix / "etc" / "jupyter"))
        mp.setenv("JUPYTER_CONFIG_DIR", str(tmp_path_factory.mktemp("empty-user-config")))
        app = ServerApp()
        app.load_config_file(suppress_errors=False)
    return app.config


def test_postbuild_configures_the_environment_the_server_runs_from(dockerfile, image, monkeypatch):
    # repo2docker runs postBuild after copying the repository in, with the notebook
    # environment first on PATH: its `python` and `jupyter` both live in NB_PYTHON_PREFIX.
    assert "ENV NB_PYTHON_PREFIX=" in dockerfile
    assert "ENV PATH=${NB_PYTHON_PREFIX}/bin:" in dockerfile
    assert dockerfile.index("COPY --chown=1000:1000 src/ ${REPO_DIR}/") < dockerfile.index("RUN ./binder/postBuild")
    prefix, pip_calls = image
    assert "-m pip install --no-cache-dir -e ." in pip_calls
    assert "offline_bundle()" in pip_calls  # the chart bundle is built into the image, not in each kernel
    # Jupyter reads server settings and JupyterLab's setting defaults at these places of a prefix.
    from jupyter_core.paths import ENV_CONFIG_PATH
    from jupyterlab.labapp import LabApp

    assert "JUPYTERLAB_DIR" not in dockerfile  # so JupyterLab's folder is the one in the prefix, as here:
    monkeypatch.delenv("JUPYTERLAB_DIR", raising=False)
    assert Path(ENV_CONFIG_PATH[0]) == Path(sys.prefix) / "etc" / "jupyter"
    assert (prefix / "etc" / "jupyter" / "jupyter_server_config.json").is_file()
    assert Path(LabApp().app_settings_dir) == Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings"
    assert (prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.json").is_file()


def test_idle_kernels_are_culled(server_config):
    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager  # the server's default

    km = AsyncMappingKernelManager(config=server_config)
    assert 10 * 60 <= km.cull_idle_timeout <= 15 * 60
    assert 0 < km.cull_interval <= 60
    assert km.cull_connected, "a kernel whose notebook is still open in a tab must be culled too"
    assert not km.cull_busy, "a kernel running a long cell must not be culled"


def test_no_workspace_is_saved_or_restored(server_config):
    from jupyterlab.labapp import LabApp

    # Without a workspaces folder JupyterLab serves no workspace, so it restores none.
    assert LabApp(config=server_config).workspaces_dir == ""


def test_lab_opens_on_the_notebooks_when_no_urlpath_is_given(server_config):
    assert server_config.ServerApp.default_url == "/lab/tree/notebooks"
    assert (ROOT / "notebooks").is_dir()


def test_news_popup_is_off_and_closing_a_notebook_stops_its_kernel(image, tmp_path):
    from jupyterlab.labapp import LabApp
    from jupyterlab_server.settings_utils import get_settings

    prefix, _ = image
    app_settings = prefix / "share" / "jupyter" / "lab" / "settings"

    def default(plugin: str, key: str):
        """The default the browser receives: the installed schema with the overrides applied."""
        settings, _ = get_settings(str(app_settings), LabApp().schemas_dir, str(tmp_path), schema_name=plugin)
        return settings["schema"]["properties"][key]["default"]

    assert default("@jupyterlab/apputils-extension:notification", "fetchNews") == "false"
    assert default("@jupyterlab/apputils-extension:notification", "checkForUpdates") is False
    assert default("@jupyterlab/notebook-extension:tracker", "kernelShutdown") is True


# ------------------------------------------------------------------ in a real JupyterLab


def _notebook(path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.mark.browser
@pytest.mark.slow
def test_in_jupyterlab_no_notebook_is_reopened_no_news_and_closing_stops_the_kernel(image, tmp_path):
    """JupyterLab started on the installed settings alone, driven in headless Chromium.

    Open a.ipynb, then load b.ipynb's URL (a reload, a link opened in a new browser tab):
    JupyterLab's default reopens a.ipynb from the saved workspace and starts a kernel for it
    again if it had been culled; here only b.ipynb opens.  No news question is asked, and
    closing b.ipynb's tab shuts its kernel down.
    """
    browser = pytest.importorskip("tests.browser.harness", reason="browser harness not importable")
    if not Path(browser.CHROMIUM_PATH).exists():
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run in CI: no Chromium at {browser.CHROMIUM_PATH}")
        pytest.skip(f"no Chromium at {browser.CHROMIUM_PATH}")
    from playwright.sync_api import sync_playwright

    prefix, _ = image

    class ImageLikeLab(browser.JupyterLabServer):
        """The harness's server, configured by the image's settings only (not the harness's own)."""

        def _write_config(self) -> dict[str, str]:
            dirs = {name: self.state_dir / name for name in ("config", "runtime", "data", "ipython", "user-settings")}
            for d in dirs.values():
                d.mkdir(parents=True, exist_ok=True)
            env = {k: v for k, v in os.environ.items() if k != "BROWSER"}
            env.update(
                JUPYTER_CONFIG_PATH=str(prefix / "etc" / "jupyter"),
                JUPYTER_CONFIG_DIR=str(dirs["config"]),
                JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
                JUPYTER_DATA_DIR=str(dirs["data"]),
                IPYTHONDIR=str(dirs["ipython"]),
                JUPYTER_PLATFORM_DIRS="1",
            )
            return env

        def _argv(self, port: int) -> list[str]:
            argv = [
                self.python,
                "-m",
                "jupyterlab",
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                f"--ServerApp.root_dir={self.root_dir}",
                f"--IdentityProvider.token={self.token}",
                "--LabApp.expose_app_in_browser=True",
                # the image's JupyterLab reads these from its own prefix; this one is .venv's
                f"--LabApp.app_settings_dir={prefix / 'share' / 'jupyter' / 'lab' / 'settings'}",
                f"--LabApp.user_settings_dir={self.state_dir / 'user-settings'}",
            ]
            return argv + (["--allow-root"] if os.geteuid() == 0 else [])

    root = tmp_path / "root"
    root.mkdir()
    for name in ("a", "b"):
        _notebook(root / f"{name}.ipynb")
    server = ImageLikeLab(root, tmp_path / "state")
    server.start()
    try:
        sessions = lambda: sorted(s["path"] for s in server.api("GET", "/api/sessions"))  # noqa: E731
        open_tabs = "[...window.jupyterapp.shell.widgets('main')].map(w => w.title.label)"
        with sync_playwright() as pw:
            chromium = pw.chromium.launch(
                executable_path=browser.CHROMIUM_PATH,
                headless=True,
                args=[a for a in browser.CHROMIUM_ARGS if a != "--headless"],
            )
            try:
                page = chromium.new_page()
                page.set_default_timeout(60_000)
                for name in ("a", "b"):
                    page.goto(f"{server.base_url}/lab/tree/{name}.ipynb?token={server.token}")
                    page.wait_for_function(f"window.jupyterapp && ({open_tabs}).includes('{name}.ipynb')")
                    deadline = time.monotonic() + 60
                    while f"{name}.ipynb" not in sessions() and time.monotonic() < deadline:
                        time.sleep(0.25)
                    time.sleep(3)  # JupyterLab saves the layout shortly after a change: let it
                assert page.evaluate(open_tabs) == ["b.ipynb"], "a.ipynb was reopened from a saved workspace"
                assert NEWS_QUESTION not in page.inner_text("body"), "JupyterLab asked about news"

                # saved first: the kernel's language_info marks it changed, and a dialog would ask
                page.evaluate(
                    "(async app => { await app.commands.execute('docmanager:save');"
                    " await app.commands.execute('application:close-all'); })(window.jupyterapp)"
                )
                deadline = time.monotonic() + 30
                while "b.ipynb" in sessions() and time.monotonic() < deadline:
                    time.sleep(0.25)
                assert "b.ipynb" not in sessions(), "closing the notebook left its kernel running"
            finally:
                chromium.close()
    finally:
        server.stop()
