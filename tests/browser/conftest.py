"""Fixtures for browser tests living under tests/browser/.

Tests elsewhere can import the harness directly::

    from tests.browser.harness import run_notebook_in_browser
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

# Always import by the absolute name, so every test sees the same module object
# (and the same BrowserHarnessError class), whatever pytest's rootdir/import mode.
from tests.browser.harness import (  # noqa: E402
    CHROMIUM_PATH,
    BrowserResult,
    run_notebook_in_browser,
    shared_jupyterlab,
)


def browser_unavailable_reason() -> str | None:
    """Why browser tests cannot run here (None when they can)."""
    if not Path(CHROMIUM_PATH).exists() and not shutil.which("chromium"):
        return f"no Chromium at {CHROMIUM_PATH} (apt-get install chromium)"
    for mod in ("playwright", "jupyterlab", "ipywidgets", "anywidget"):
        try:
            __import__(mod)
        except ImportError:
            return f"python package {mod!r} missing"
    return None


def _require_browser() -> None:
    reason = browser_unavailable_reason()
    if reason:
        if os.environ.get("CI"):  # CI installs Chromium (make test): a missing browser is a failure there
            pytest.fail(f"browser test cannot run in CI: {reason}")
        pytest.skip(reason)


@pytest.fixture
def notebook_in_browser() -> Callable[..., BrowserResult]:
    """``notebook_in_browser(path, **kwargs)`` -> :class:`BrowserResult` (skips without Chromium)."""
    _require_browser()
    return run_notebook_in_browser


@pytest.fixture(scope="session")
def course_server():
    """One JupyterLab server on a copy of notebooks/, shared by every course notebook's browser test."""
    _require_browser()
    with shared_jupyterlab(_ROOT / "notebooks") as server:
        yield server
