"""Charts that render with no CDN, without loading vl-convert into every notebook kernel.

``alt.JupyterChart.enable_offline()`` asks vl-convert (a Rust library with an
embedded JavaScript engine) to bundle the chart widget's JavaScript.  Loading
vl-convert costs a kernel about 100 MB, and every course notebook needs
offline charts (Binder, CI and a train have no CDN), so the bundle is made
once, in a child process, and kept in the user's cache directory keyed by the
altair and vl-convert versions.  A kernel then only reads a text file.  The
kernel loads vl-convert only when something is actually exported to PNG, SVG
or PDF.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import altair as alt

_BUILD = """
import sys
import altair as alt
alt.JupyterChart.enable_offline()
open(sys.argv[1], "w", encoding="utf-8").write(alt.JupyterChart._esm)
"""


def cache_dir() -> Path:
    """Where the bundle is kept: ``$WORKBENCH_CACHE``, else ``$XDG_CACHE_HOME/scaling-workbench``, else ``~/.cache``."""
    if os.environ.get("WORKBENCH_CACHE"):
        return Path(os.environ["WORKBENCH_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "scaling-workbench"


def bundle_path() -> Path:
    """The cache file for this altair and vl-convert (a new version makes a new file)."""
    key = f"{alt.__version__}|{metadata.version('vl-convert-python')}|{alt.SCHEMA_VERSION}"
    return cache_dir() / f"jupyterchart-offline-{hashlib.sha256(key.encode()).hexdigest()[:16]}.js"


def offline_bundle() -> str:
    """The JupyterChart JavaScript bundled for offline use, built once per version in a child process."""
    path = bundle_path()
    if not path.is_file() or path.stat().st_size == 0:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        subprocess.run([sys.executable, "-c", _BUILD, str(tmp)], check=True, capture_output=True, timeout=300)
        tmp.replace(path)  # atomic: a kernel never reads half a bundle
    return path.read_text(encoding="utf-8")


def enable_offline_charts() -> None:
    """Make ``alt.JupyterChart`` render without a CDN; what ``alt.JupyterChart.enable_offline()`` does, lighter.

    Falls back to altair's own ``enable_offline()`` (which loads vl-convert
    here) when the cache cannot be written or the child process fails.
    """
    if getattr(alt.JupyterChart, "_is_offline", False):
        return
    try:
        esm = offline_bundle()
    except (OSError, subprocess.SubprocessError):
        alt.JupyterChart.enable_offline()
        return
    alt.JupyterChart._esm = esm
    alt.JupyterChart._is_offline = True
