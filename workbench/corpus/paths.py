"""Where the curated corpus lives.

The corpus ships with the repository in ``datasets/`` (beside the package), so
a clone or a Binder image needs no download.  ``WORKBENCH_DATASETS`` points the
workbench at another copy (e.g. a pinned corpus pulled from the Hub).
"""

from __future__ import annotations

import os
from pathlib import Path


def datasets_dir() -> Path:
    override = os.environ.get("WORKBENCH_DATASETS")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "datasets"


def proxies_dir() -> Path:
    """``datasets/proxies`` of the checkout: the workbench's own shipped proxy results and their registry."""
    return Path(__file__).resolve().parents[2] / "datasets" / "proxies"
