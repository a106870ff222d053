"""What a course figure needs from the checkout, and a clear message when it is not there.

Figures over the workbench's own proxy runs need the preset's shipped rows
(``datasets/proxies/<preset>.csv``); figures over published measurements need
the corpus table.  A figure *declares* them (``@figure(name,
requires=("proxies/inverse",))``), so batch mode can skip and report a figure
whose inputs are missing, and nothing reads a CSV at import time to decide
whether a figure exists.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from workbench.errors import WorkbenchError


def input_path(spec: str) -> Path:
    """The file behind an input: ``proxies/<preset>`` or ``corpus/<source id>``."""
    kind, _, name = spec.partition("/")
    if kind == "proxies":
        from workbench.proxies import results

        return results.datasets_dir() / f"{name}.csv"
    if kind == "corpus":
        from workbench.corpus.paths import datasets_dir

        return datasets_dir() / f"{name}.csv"
    raise WorkbenchError(f"unknown figure input {spec!r}: use 'proxies/<preset>' or 'corpus/<source id>'")


def missing_inputs(requires) -> list[str]:
    """The declared inputs that are not in this checkout."""
    return [spec for spec in requires if not input_path(spec).exists()]


def proxy_results(preset: str) -> pl.DataFrame | None:
    """The shipped rows of a proxy preset, or None when ``datasets/proxies/<preset>.csv`` is missing."""
    from workbench.proxies import results

    path = input_path(f"proxies/{preset}")
    return results.read_csv(path) if path.exists() else None


def proxy_missing_message(preset: str) -> str:
    from workbench.proxies import results

    have = sorted(p.stem for p in results.datasets_dir().glob("*.csv"))
    return (
        f"The shipped results of the proxy preset {preset!r} are not in this checkout "
        f"(datasets/proxies/{preset}.csv; shipped: {', '.join(have) or 'none'}). "
        f"Make them with `python -m workbench sweep --preset {preset} --out runs/{preset}` "
        "and copy runs/{0}/results.csv to datasets/proxies/{0}.csv.".format(preset)
    )


def require_proxy(preset: str) -> pl.DataFrame:
    """The shipped rows of a proxy preset, or a clear error saying how to make them."""
    df = proxy_results(preset)
    if df is None:
        raise WorkbenchError(proxy_missing_message(preset))
    return df
